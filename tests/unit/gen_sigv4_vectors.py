#!/usr/bin/env python3
"""Generate the botocore / `aws ecs` SigV4 vectors embedded in test_scheduler_sigv4.c.

Kept for reference; `make test` never runs it (the C test must not depend on
Python).  It

  1. runs the real `aws ecs ...` CLI (Debian's awscli, and any other `aws` on
     PATH) against a throwaway local HTTP server and records each request
     exactly as it arrived: method, request-target, headers in order, body;
  2. signs a few more requests with botocore's SigV4Auth directly (query
     strings, odd paths, a Date header instead of X-Amz-Date, a session token);

and prints them as a C initialiser.  Every vector records the signing time so
the C test can pass it as `now`.  Paste the output between the
"BEGIN/END GENERATED" markers of the test.

    python3 tests/unit/gen_sigv4_vectors.py > /tmp/vectors.inc
"""
import calendar
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

try:
    import botocore
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # Debian's awscli vendors botocore
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    from awscli import botocore  # type: ignore
    from awscli.botocore.auth import SigV4Auth  # type: ignore
    from awscli.botocore.awsrequest import AWSRequest  # type: ignore
    from awscli.botocore.credentials import Credentials  # type: ignore

AKID = "AKIDBERTHEXAMPLE"
SECRET = "berth/secret+KEY/example0123456789abcdef"

captured = []


class Capture(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        captured.append((self.command, self.path, list(self.headers.items()), body))
        out = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST

    def log_message(self, *args):
        pass


def c_str(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    out = []
    for c in b:
        if c == 0x22:
            out.append('\\"')
        elif c == 0x5C:
            out.append("\\\\")
        elif 0x20 <= c < 0x7F and c != 0x3F:  # '?' escaped: no trigraphs
            out.append(chr(c))
        else:
            out.append("\\%03o" % c)
    return '"' + "".join(out) + '"'


def amz_epoch(headers):
    for k, v in headers:
        if k.lower() == "x-amz-date":
            return calendar.timegm(time.strptime(v, "%Y%m%dT%H%M%SZ"))
    for k, v in headers:
        if k.lower() == "date":
            import email.utils
            return int(email.utils.parsedate_to_datetime(v).timestamp())
    raise SystemExit("no date header")


def emit(name, method, target, headers, body, region, expect_rc, expect_code):
    path, _, query = target.partition("?")
    print("\t{")
    print("\t\t.name = %s," % c_str(name))
    print("\t\t.method = %s," % c_str(method))
    print("\t\t.path = %s," % c_str(path))
    print("\t\t.query = %s," % c_str(query))
    print("\t\t.region = %s," % c_str(region))
    print("\t\t.now = %d," % amz_epoch(headers))
    print("\t\t.expect_rc = %d," % expect_rc)
    print("\t\t.expect_code = %s," % c_str(expect_code))
    print("\t\t.nheaders = %d," % len(headers))
    print("\t\t.headers = {")
    for k, v in headers:
        print("\t\t\t{%s, %s}," % (c_str(k), c_str(v)))
    print("\t\t},")
    print("\t\t.body = %s," % c_str(body))
    print("\t\t.body_len = %d," % len(body))
    print("\t},")


def run_cli(port):
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=AKID,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        AWS_PAGER="",
    )
    env.pop("AWS_SESSION_TOKEN", None)
    ep = "http://127.0.0.1:%d" % port
    clis = []
    for cand in ("/usr/bin/aws", shutil.which("aws")):
        if cand and os.path.exists(cand) and cand not in clis:
            clis.append(cand)
    cmds = [
        (["ecs", "list-clusters"], "us-east-1", 0, ""),
        (["ecs", "describe-clusters", "--clusters", "default", "--region", "eu-west-1"], "eu-west-1", 0, ""),
        (["ecs", "run-task", "--cluster", "default", "--task-definition", "web:3", "--count", "2",
          "--started-by", "b\u00e9rth \u2603"], "us-east-1", 0, ""),
        (["ecs", "register-task-definition", "--family", "web", "--container-definitions",
          '[{"name":"a","image":"busybox","memory":64,"command":["sh","-c","echo   hi  &&  sleep 1"]}]'],
         "us-east-1", 0, ""),
    ]
    out = []
    for cli in clis:
        ver = subprocess.run([cli, "--version"], env=env, capture_output=True, text=True).stdout.split()[0]
        for args, region, rc, code in cmds:
            n = len(captured)
            subprocess.run([cli] + args + ["--endpoint-url", ep], env=env, capture_output=True)
            if len(captured) == n + 1:
                out.append(("%s %s" % (ver, " ".join(args[:2])), captured[-1], region, rc, code))
        # With a session token: berth has no STS, so it is refused.
        env2 = dict(env, AWS_SESSION_TOKEN="FQoGZXIvYXdzEBAaDberthsessiontokenexample==")
        n = len(captured)
        subprocess.run([cli, "ecs", "list-clusters", "--endpoint-url", ep], env=env2, capture_output=True)
        if len(captured) == n + 1:
            out.append(("%s ecs list-clusters with a session token" % ver, captured[-1], "us-east-1", 1,
                        "UnrecognizedClientException"))
    return out


def sign_direct(method, url, headers, body, region="us-east-1", params=None, token=None):
    req = AWSRequest(method=method, url=url, headers=headers, data=body, params=params or {})
    SigV4Auth(Credentials(AKID, SECRET, token), "ecs", region).add_auth(req)
    prepared = req.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    hdrs = [(k, v) for k, v in prepared.headers.items()]
    if not any(k.lower() == "host" for k, _ in hdrs):
        hdrs.insert(0, ("Host", parts.netloc))
    b = prepared.body or b""
    if isinstance(b, str):
        b = b.encode()
    return method, target, hdrs, b


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    vectors = run_cli(port)
    srv.shutdown()

    ep = "http://127.0.0.1:%d" % port
    direct = [
        ("botocore %s GET with query params (spaces, '+', UTF-8, repeated keys)" % botocore.__version__,
         sign_direct("GET", ep + "/", {}, b"",
                     params=[("b", "2"), ("a", "x y"), ("a", "1+1"), ("empty", ""), ("\u00fc", "~v/w")]),
         "us-east-1", 0, ""),
        ("botocore %s POST with a query in the URL and an un-normalised path" % botocore.__version__,
         sign_direct("POST", ep + "/a%20b/./c//d/../e/?Z=1&A=2&A=1&k", {"Content-Type": "application/x-amz-json-1.1",
                                                                     "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"},
                     b'{"maxResults": 5}'),
         "us-east-1", 0, ""),
        ("botocore %s POST with a Date header instead of X-Amz-Date" % botocore.__version__,
         sign_direct("POST", ep + "/", {"Date": "Thu, 01 Jan 1970 00:00:00 GMT",
                                        "Content-Type": "application/x-amz-json-1.1",
                                        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"}, b"{}"),
         "us-east-1", 0, ""),
        ("botocore %s POST with multi-space and empty signed headers" % botocore.__version__,
         sign_direct("POST", ep + "/", {"Content-Type": "application/x-amz-json-1.1",
                                        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
                                        "X-Berth-Note": "  a   b\tc  ", "X-Berth-Empty": ""}, b"{}"),
         "us-east-1", 0, ""),
        ("botocore %s POST signed with a session token" % botocore.__version__,
         sign_direct("POST", ep + "/", {"Content-Type": "application/x-amz-json-1.1",
                                        "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"}, b"{}",
                     token="FQoGZXIvYXdzEBAaDberthsessiontokenexample=="),
         "us-east-1", 1, "UnrecognizedClientException"),
    ]
    print("/* BEGIN GENERATED by tests/unit/gen_sigv4_vectors.py (key %s / %s) */" % (AKID, SECRET))
    for name, (method, target, headers, body), region, rc, code in vectors:
        emit(name, method, target, headers, body, region, rc, code)
    for name, (method, target, headers, body), region, rc, code in direct:
        emit(name, method, target, headers, body, region, rc, code)
    print("/* END GENERATED */")


if __name__ == "__main__":
    main()
