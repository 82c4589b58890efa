#!/usr/bin/env python3
"""berthd: Amazon ECS's JSON 1.1 API on a unix socket and on loopback TCP.

The real AWS CLI (Debian's /usr/bin/aws) drives the TCP listener with SigV4;
raw http.client requests check the protocol edges: signatures, the unix
socket's trust, error types and statuses, limits, concurrency, and the
daemon's life cycle (signals, pid file, stale socket).  Nothing here needs
cgroups: `BERTH_TEST_HOST=1 python3 tests/integration/test_berthd.py` runs it
on the host.  All traffic stays on loopback.
"""
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, eq, ok, one_line_error, run_all, skip, test  # noqa: E402

BERTHD = os.environ.get("BERTHD_BIN", os.path.join(REPO, "bin", "berthd"))
AWS = "/usr/bin/aws"  # Debian's AWS CLI; `aws` on PATH may be a pyenv shim
PREFIX = "AmazonEC2ContainerServiceV20141113."
CT = "application/x-amz-json-1.1"
AKID, SECRET = "AKIDBERTHTEST01", "berth/Test+Secret0123456789abcdefEXAMPLE"
REGION, ACCOUNT = "us-east-1", "000000000000"
CLUSTER_ARN = "arn:aws:ecs:%s:%s:cluster/default" % (REGION, ACCOUNT)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MAX_BODY = 1 << 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_creds(path, pairs):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for i, (k, s) in enumerate(pairs):
            f.write("[p%d]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (i, k, s))
    os.chmod(path, 0o600)


class Daemon:
    """bin/berthd with a per-test root, socket, port and credentials."""

    def __init__(self, t, listen=True, creds=True):
        self.t = t
        self.sock = t.path("run", "berth.sock")
        self.pidfile = t.path("run", "berthd.pid")
        self.port = free_port()
        self.creds = t.path("credentials")
        self.conf = t.path("berth.json")
        self.logpath = t.path("berthd.log")
        self.proc = None
        if creds:
            write_creds(self.creds, [(AKID, SECRET)])
        api = {"socket": self.sock, "credentialsFile": self.creds, "region": REGION, "account": ACCOUNT}
        if listen:
            api["listen"] = "127.0.0.1:%d" % self.port
        with open(self.conf, "w") as f:
            json.dump({"api": api}, f)

    def spawn(self, root=None):
        log = open(self.logpath, "a")
        try:
            return subprocess.Popen([BERTHD, "--root", root or self.t.root, "--config", self.conf],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()

    def start(self):
        self.proc = self.spawn()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("berthd exited %d: %s" % (self.proc.returncode, self.log()))
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                s.close()
                if "ready" in self.log():
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError("berthd did not come up: %s" % self.log())

    def log(self):
        try:
            with open(self.logpath) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, needle, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.log():
                return
            time.sleep(0.02)
        raise AssertionError("%r not in berthd's log: %s" % (needle, self.log()))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        ok("AddressSanitizer" not in self.log() and "runtime error" not in self.log(),
           "sanitizer report: %s" % self.log())


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def sigv4(method, host, path, body, headers, akid=AKID, secret=SECRET, region=REGION):
    """The test's own SigV4 signer (botocore's algorithm for a non-S3 service)."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    day = amz_date[:8]
    h = {k.lower(): v for k, v in headers.items()}
    h["host"] = host
    h["x-amz-date"] = amz_date
    names = sorted(h)
    canon = "".join("%s:%s\n" % (k, " ".join(str(h[k]).split())) for k in names)
    creq = "\n".join([method, path, "", canon, ";".join(names), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/ecs/aws4_request" % (day, region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "ecs", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    out = dict(headers)
    out["X-Amz-Date"] = amz_date
    out["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, ";".join(names), sig)
    return out


def call(d, action, body=b"{}", tcp=False, sign=True, method="POST", path="/", headers=None,
         akid=AKID, secret=SECRET, timeout=30):
    """One request; returns (status, headers (lower-case names), parsed JSON or raw bytes)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    h = {"Content-Type": CT}
    if action is not None:
        h["X-Amz-Target"] = PREFIX + action if "." not in action else action
    if headers is not None:
        h.update(headers)
        h = {k: v for k, v in h.items() if v is not None}
    if tcp:
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout)
        if sign:
            h = sigv4(method, "127.0.0.1:%d" % d.port, path, body, h, akid, secret)
    else:
        conn = UnixHTTPConnection(d.sock, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        rh = {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()
    try:
        data = json.loads(data)
    except ValueError:
        pass
    return r.status, rh, data


def expect_error(res, status, etype, *needles):
    st, h, body = res
    ok(isinstance(body, dict), "JSON error body expected, got %r" % (body,))
    eq(st, status, "status for %s (%r)" % (etype, body))
    eq(body.get("__type"), etype, "__type")
    eq(h.get("content-type"), CT, "Content-Type")
    ok(UUID.match(h.get("x-amzn-requestid", "")), "x-amzn-RequestId: %r" % h.get("x-amzn-requestid"))
    for n in needles:
        ok(n in body.get("message", ""), "message %r does not mention %r" % (body.get("message"), n))
    return body


def aws_env(t, key, secret):
    if not os.access(AWS, os.X_OK):
        skip("Debian's AWS CLI (%s) is not installed: run make deps" % AWS)
    home = t.path("home")
    os.makedirs(home, exist_ok=True)
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home, "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.path.join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "none"),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"}


def aws_many(t, d, *calls):
    """Run `aws ecs ARGS...` for each call (a list of args, optionally ending with a dict of
    key=/secret=/check= overrides) in parallel: the CLI takes seconds to start under TCG.
    Returns the parsed JSON outputs (check=True, the default) or CompletedProcess-like
    tuples (returncode, stdout, stderr) with check=False."""
    procs = []
    for c in calls:
        opts = c[-1] if c and isinstance(c[-1], dict) else {}
        args = [a for a in c if not isinstance(a, dict)]
        env = aws_env(t, opts.get("key", AKID), opts.get("secret", SECRET))
        cmd = [AWS, "--endpoint-url", "http://127.0.0.1:%d" % d.port, "--output", "json", "--no-cli-pager",
               "ecs"] + args
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             stdin=subprocess.DEVNULL)
        procs.append((args, opts.get("check", True), p))
    out = []
    for args, check, p in procs:
        stdout, stderr = p.communicate(timeout=600)
        if check:
            ok(p.returncode == 0, "%s failed (%d): %s%s\nberthd: %s" % (" ".join(args), p.returncode, stdout,
                                                                        stderr, d.log()))
            out.append(json.loads(stdout) if stdout.strip() else {})
        else:
            out.append((p.returncode, stdout, stderr))
    return out


def aws(t, d, *args, **opts):
    return aws_many(t, d, list(args) + [opts])[0]


TASKDEF = {
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "busybox:latest", "essential": True,
                              "command": ["sleep", "60"]}],
}


# ---- the AWS CLI over signed TCP --------------------------------------------------

@test
def cli_clusters_and_credentials(t):
    with Daemon(t) as d:
        lst, r, full, (rc1, _, err1), (rc2, _, err2) = aws_many(
            t, d, ["list-clusters"], ["describe-clusters"],
            ["describe-clusters", "--clusters", "default", "nosuch", CLUSTER_ARN,
             "arn:aws:ecs:eu-west-1:111111111111:cluster/default", "--include", "STATISTICS", "SETTINGS"],
            ["list-clusters", {"secret": "wrong" + SECRET, "check": False}],
            ["list-clusters", {"key": "AKIDUNKNOWN", "check": False}])
        eq(lst, {"clusterArns": [CLUSTER_ARN]}, "list-clusters")
        eq(len(r["clusters"]), 1, "default cluster when none is named")
        c = r["clusters"][0]
        eq((c["clusterArn"], c["clusterName"], c["status"]), (CLUSTER_ARN, "default", "ACTIVE"), "cluster")
        eq((c["registeredContainerInstancesCount"], c["runningTasksCount"], c["pendingTasksCount"],
            c["activeServicesCount"]), (1, 0, 0, 0), "counts")
        eq(r["failures"], [], "failures")
        eq([c["clusterArn"] for c in full["clusters"]], [CLUSTER_ARN], "found once, by name or ARN")
        eq(full["failures"], [{"arn": "arn:aws:ecs:%s:%s:cluster/nosuch" % (REGION, ACCOUNT), "reason": "MISSING"},
                              {"arn": "arn:aws:ecs:eu-west-1:111111111111:cluster/default", "reason": "MISSING"}],
           "failures")
        c = full["clusters"][0]
        stats = {s["name"]: s["value"] for s in c["statistics"]}
        eq(stats.get("runningFargateTasksCount"), "0", "statistics")
        eq(c["settings"], [{"name": "containerInsights", "value": "disabled"}], "settings")
        ok(rc1 != 0 and "InvalidSignatureException" in err1, "wrong secret: %s" % err1)
        ok(rc2 != 0 and "UnrecognizedClientException" in err2, "unknown key: %s" % err2)
        ok(re.search(r"POST ListClusters 200 [0-9.]+ms tcp key=%s" % AKID, d.log()), "request log: %s" % d.log())
        ok("InvalidSignatureException" in d.log() and "UnrecognizedClientException" in d.log(),
           "refusals logged: %s" % d.log())


@test
def cli_task_definitions(t):
    with Daemon(t) as d:
        with open(t.path("td.json"), "w") as f:
            json.dump(TASKDEF, f)
        r = aws(t, d, "register-task-definition", "--cli-input-json", "file://" + t.path("td.json"))
        td = r["taskDefinition"]
        arn = "arn:aws:ecs:%s:%s:task-definition/web:1" % (REGION, ACCOUNT)
        eq((td["family"], td["revision"], td["status"], td["taskDefinitionArn"]), ("web", 1, "ACTIVE", arn),
           "registered")
        r, lst, fams = aws_many(t, d, ["describe-task-definition", "--task-definition", "web"],
                                ["list-task-definitions"], ["list-task-definition-families"])
        eq(r["taskDefinition"]["taskDefinitionArn"], arn, "describe by family")
        eq(r["taskDefinition"]["containerDefinitions"][0]["image"], "busybox:latest", "image")
        eq(lst["taskDefinitionArns"], [arn], "list-task-definitions")
        eq(fams["families"], ["web"], "families")
        r, (rc, _, err) = aws_many(t, d, ["deregister-task-definition", "--task-definition", "web:1"],
                                   ["describe-task-definition", "--task-definition", "nosuch:3", {"check": False}])
        eq(r["taskDefinition"]["status"], "INACTIVE", "deregistered")
        ok(rc != 0 and "ClientException" in err, "unknown revision: %s" % err)


# ---- the protocol, raw ---------------------------------------------------------------

@test
def tcp_requires_signature(t):
    with Daemon(t) as d:
        expect_error(call(d, "ListClusters", tcp=True, sign=False), 400, "MissingAuthenticationTokenException")
        # Even for requests that would be refused anyway: nothing is looked at before the signature.
        expect_error(call(d, "Frob", tcp=True, sign=False, method="GET", path="/x"), 400,
                     "MissingAuthenticationTokenException")
        st, h, body = call(d, "ListClusters", tcp=True)
        eq((st, body), (200, {"clusterArns": [CLUSTER_ARN]}), "signed by the test's own signer")
        # The signature covers the body: the same signature with another body is refused.
        hs = sigv4("POST", "127.0.0.1:%d" % d.port, "/", b"{}", {"Content-Type": CT, "X-Amz-Target":
                                                                  PREFIX + "ListClusters"})
        expect_error(call(d, None, b'{"maxResults": 5}', tcp=True, sign=False, headers=hs), 400,
                     "InvalidSignatureException")


@test
def unix_socket_is_trusted(t):
    with Daemon(t) as d:
        st = os.lstat(d.sock)
        ok(stat.S_ISSOCK(st.st_mode), "socket")
        eq(stat.S_IMODE(st.st_mode), 0o600, "socket mode")
        eq(st.st_uid, 0, "socket owner")
        with open(d.pidfile) as f:
            eq(f.read().strip(), str(d.proc.pid), "pid file")
        s, h, body = call(d, "ListClusters")
        eq((s, body), (200, {"clusterArns": [CLUSTER_ARN]}), "unsigned over the unix socket")
        eq(h.get("content-type"), CT, "Content-Type")
        ok(UUID.match(h.get("x-amzn-requestid", "")), "x-amzn-RequestId %r" % h.get("x-amzn-requestid"))
        s, _, body = call(d, "ListClusters", b"")
        eq(s, 200, "an empty body is {}")
        s, _, body = call(d, "ListClusters", headers={"Content-Type": CT + "; charset=utf-8"})
        eq(s, 200, "Content-Type parameters are allowed")
        s, _, body = call(d, "RegisterTaskDefinition", TASKDEF)
        eq((s, body["taskDefinition"]["revision"]), (200, 1), "register over the unix socket")
        eq(body["taskDefinition"].get("registeredBy"), "arn:aws:iam::%s:root" % ACCOUNT, "registeredBy")
        ok(re.search(r"POST RegisterTaskDefinition 200 [0-9.]+ms unix uid=0", d.log()), d.log())


@test
def bad_requests(t):
    with Daemon(t) as d:
        expect_error(call(d, "ListClusters", b"{not json"), 400, "SerializationException", "invalid JSON")
        expect_error(call(d, "ListClusters", b"{} {}"), 400, "SerializationException")
        expect_error(call(d, "ListClusters", b"[1, 2]"), 400, "SerializationException", "JSON object")
        expect_error(call(d, "ListClusters", b'"x"'), 400, "SerializationException")
        expect_error(call(d, "ListClusters", b'{"a": "\xff\xfe"}'), 400, "SerializationException", "UTF-8")
        expect_error(call(d, "ListClusters", b'{"a": 1}\x00'), 400, "SerializationException")
        expect_error(call(d, "ListClusters", b"[" * 5000 + b"]" * 5000), 400, "SerializationException")
        expect_error(call(d, "Frobnicate"), 400, "UnknownOperationException", "Frobnicate", "ListClusters")
        expect_error(call(d, "DynamoDB_20120810.ListTables"), 400, "UnknownOperationException")
        expect_error(call(d, PREFIX.rstrip(".")), 400, "UnknownOperationException")
        expect_error(call(d, "listclusters"), 400, "UnknownOperationException")
        expect_error(call(d, None), 400, "UnknownOperationException", "X-Amz-Target")
        conn = UnixHTTPConnection(d.sock)  # a repeated X-Amz-Target never matches an action
        conn.putrequest("POST", "/")
        conn.putheader("Content-Type", CT)
        conn.putheader("X-Amz-Target", PREFIX + "ListClusters")
        conn.putheader("X-Amz-Target", PREFIX + "RegisterTaskDefinition")
        conn.putheader("Content-Length", "2")
        conn.endheaders(b"{}")
        r = conn.getresponse()
        expect_error((r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(r.read())), 400,
                     "UnknownOperationException")
        conn.close()
        expect_error(call(d, "ListClusters", headers={"Content-Type": "application/json"}), 415,
                     "UnsupportedMediaTypeException", "application/x-amz-json-1.1")
        expect_error(call(d, "ListClusters", headers={"Content-Type": None}), 415, "UnsupportedMediaTypeException")
        expect_error(call(d, "ListClusters", method="GET", body=b""), 405, "UnknownOperationException")
        res = call(d, "ListClusters", method="PUT")
        expect_error(res, 405, "UnknownOperationException")
        eq(res[1].get("allow"), "POST", "Allow header")
        expect_error(call(d, "ListClusters", path="/foo"), 404, "UnknownOperationException", "/foo")
        expect_error(call(d, "ListClusters", path="//"), 404, "UnknownOperationException")
        many = {"X-Pad-%d" % i: "x" for i in range(100)}
        expect_error(call(d, "ListClusters", headers=many), 431, "ClientException", "header")
        # The actions' own parameter checks.
        expect_error(call(d, "ListClusters", {"maxResults": 0}), 400, "InvalidParameterException", "maxResults")
        expect_error(call(d, "ListClusters", {"nextToken": "abc"}), 400, "InvalidParameterException", "nextToken")
        expect_error(call(d, "ListClusters", {"bogus": 1}), 400, "InvalidParameterException", "bogus")
        expect_error(call(d, "DescribeClusters", {"clusters": "default"}), 400, "InvalidParameterException")
        expect_error(call(d, "DescribeClusters", {"clusters": [1]}), 400, "InvalidParameterException")
        expect_error(call(d, "DescribeClusters", {"clusters": ["x"] * 101}), 400, "InvalidParameterException",
                     "100")
        expect_error(call(d, "DescribeClusters", {"include": ["EVERYTHING"]}), 400, "InvalidParameterException",
                     "EVERYTHING")
        st, _, body = call(d, "DescribeClusters", {"clusters": ["a\u00e9\u4e2d"]})
        eq((st, body["failures"][0]["arn"]), (200, "arn:aws:ecs:%s:%s:cluster/a\u00e9\u4e2d" % (REGION, ACCOUNT)),
           "UTF-8 names round-trip")
        # Still fine after all that.
        eq(call(d, "ListClusters")[0], 200, "daemon still answers")


@test
def oversized_body(t):
    with Daemon(t) as d:
        for tcp in (False, True):
            st, h, body = call(d, "ListClusters", b"{" + b" " * (MAX_BODY + 10) + b"}", tcp=tcp, sign=tcp)
            eq(st, 413, "oversized body (%s)" % ("tcp" if tcp else "unix"))
            eq(call(d, "ListClusters", tcp=tcp)[0], 200, "next request")
        # Exactly at the limit is accepted (and parsed).
        body = b'{"maxResults": 1' + b" " * (MAX_BODY - 17) + b"}"
        eq(len(body), MAX_BODY, "test body size")
        eq(call(d, "ListClusters", body)[0], 200, "a body of exactly the limit")
        # Headers above 16 KiB are refused by the HTTP layer.
        st, _, _ = call(d, "ListClusters", headers={"X-Big": "a" * 20000})
        eq(st, 400, "oversized header block")
        eq(call(d, "ListClusters")[0], 200, "still answering")


@test
def hostile_connections(t):
    with Daemon(t) as d:
        stalled = []
        for i in range(50):  # half-sent requests must not hold up anyone else
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.sock)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            stalled.append(s)
        for junk in (b"GARBAGE\r\n\r\n", b"\x00\x01\x02\xff" * 100 + b"\r\n\r\n", b"POST / HTTP/9.9\r\n\r\n",
                     b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(d.sock)
            s.sendall(junk)
            try:
                s.recv(4096)
            except OSError:
                pass
            s.close()
        t0 = time.time()
        eq(call(d, "ListClusters")[0], 200, "answers while 50 requests are half-sent")
        ok(time.time() - t0 < 5, "answered promptly")
        for s in stalled:
            s.close()
        eq(call(d, "ListClusters", tcp=True)[0], 200, "tcp still answers")


@test
def concurrent_requests(t):
    with Daemon(t) as d:
        n = 200
        barrier = threading.Barrier(n)

        def one(i):
            barrier.wait(timeout=60)
            if i % 4 == 0:
                return call(d, "ListClusters", tcp=True, timeout=60)[0]
            if i % 4 == 1:
                return call(d, "DescribeTaskDefinition", {"taskDefinition": "nosuch"}, timeout=60)[0]
            return call(d, "DescribeClusters", timeout=60)[0]

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
            results = list(ex.map(one, range(n)))
        eq(sorted(set(results)), [200, 400], "statuses: %r" % results)
        eq(results.count(400), n // 4, "the DescribeTaskDefinition refusals")
        eq(call(d, "ListClusters")[0], 200, "still answering")
        eq(len(re.findall(r"^berthd: POST ", d.log(), re.M)), n + 1, "one log line per request")


# ---- life cycle -------------------------------------------------------------------

@test
def sigterm_exits_cleanly(t):
    d = Daemon(t)
    with d:
        eq(call(d, "ListClusters")[0], 200, "up")
        t0 = time.time()
        eq(d.stop(signal.SIGTERM), 0, "exit status after SIGTERM")
        ok(time.time() - t0 < 10, "prompt exit")
        ok(not os.path.exists(d.sock), "socket removed")
        ok(not os.path.exists(d.pidfile), "pid file removed")
        ok("SIGTERM: shutting down" in d.log(), d.log())
    with d:  # and it starts again
        eq(d.stop(signal.SIGINT), 0, "exit status after SIGINT")


def read_responses(sock, timeout=20):
    """Every complete HTTP response on sock until EOF: [(status, headers, body)]."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = data[:end].decode("latin-1").split("\r\n")
        h = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        n = int(h.get("content-length", "0"))
        if len(data) < end + 4 + n:
            break  # cut off
        out.append((int(lines[0].split()[1]), h, json.loads(data[end + 4:end + 4 + n])))
        data = data[end + 4 + n:]
    return out, len(data)


@test
def sigterm_finishes_inflight(t):
    """Replies being written at SIGTERM are finished; a request read after it is answered
    (mutating ones refused) with Connection: close; nothing is cut off halfway."""
    d = Daemon(t)
    env = [{"name": "V%d" % i, "value": "x" * 400} for i in range(100)]
    big = dict(TASKDEF, containerDefinitions=[dict(TASKDEF["containerDefinitions"][0], environment=env)])
    body = json.dumps(big).encode()
    one = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nX-Amz-Target: %sRegisterTaskDefinition\r\n"
           b"Content-Length: %d\r\n\r\n" % (CT.encode(), PREFIX.encode(), len(body))) + body
    with d:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock)

        def send():  # pipelined, never reading: the replies pile up in the socket
            try:
                for _ in range(60):
                    s.sendall(one)
            except OSError:
                pass
        th = threading.Thread(target=send, daemon=True)
        th.start()
        last, stable = -1, 0
        while stable < 10:  # until berthd is blocked writing
            n = d.log().count("POST RegisterTaskDefinition 200")
            stable = stable + 1 if n == last else 0
            last = n
            time.sleep(0.05)
        ok(0 < last < 60, "berthd blocked on the unread replies (%d answered)" % last)
        idle = []  # keep-alive connections, idle at SIGTERM
        for _ in range(2):
            c = UnixHTTPConnection(d.sock)
            c.request("POST", "/", b"{}", {"Content-Type": CT, "X-Amz-Target": PREFIX + "ListClusters"})
            r = c.getresponse()
            r.read()
            eq(r.status, 200, "keep-alive connection")
            idle.append(c)
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log("shutting down")
        ok("(1 replies in flight)" in d.log(), d.log())
        # While the reply above is in flight, open connections are still served, but
        # mutating actions are refused, and each connection closes after its answer.
        for c, action, body, want in ((idle[0], "RegisterTaskDefinition", TASKDEF, 500),
                                      (idle[1], "DescribeClusters", {}, 200)):
            c.request("POST", "/", json.dumps(body).encode(), {"Content-Type": CT, "X-Amz-Target": PREFIX + action})
            r = c.getresponse()
            b = json.loads(r.read())
            eq((r.status, r.getheader("Connection")), (want, "close"), "%s while shutting down" % action)
            if want == 500:
                eq(b["__type"], "ServerException", "type")
                ok("shutting down" in b["message"], b["message"])
            c.close()
        responses, leftover = read_responses(s)
        s.close()
        eq(d.proc.wait(timeout=20), 0, "exit status")
        eq(leftover, 0, "bytes of a reply cut off")
        logged = d.log().count("POST RegisterTaskDefinition 200")
        eq([r[0] for r in responses[:logged]], [200] * logged, "every logged reply arrived whole")
        after = responses[logged:]
        ok(len(after) <= 1, "at most one request answered after SIGTERM: %r" % after)
        for st, h, b in after:
            eq((st, b["__type"], h.get("connection")), (500, "ServerException", "close"), "after SIGTERM")
            ok("shutting down" in b["message"], b["message"])
    with d:  # what was answered 200 was registered, nothing more
        st, _, r = call(d, "ListTaskDefinitions", {"familyPrefix": "web"})
        eq(len(r["taskDefinitionArns"]), logged, "revisions registered")


@test
def second_instance_refused(t):
    with Daemon(t) as d:
        p = subprocess.run([BERTHD, "--root", t.path("other-root"), "--config", d.conf], capture_output=True,
                           text=True, timeout=30)
        one_line_error(p, "already running", "pid %d" % d.proc.pid, d.sock)
        eq(call(d, "ListClusters")[0], 200, "the first one is untouched")
        ok(os.path.exists(d.sock), "its socket is still there")


@test
def kill9_then_restart(t):
    d = Daemon(t)
    with d:
        eq(call(d, "RegisterTaskDefinition", TASKDEF)[0], 200, "register")
        d.proc.kill()
        d.proc.wait()
        ok(os.path.exists(d.sock), "a stale socket is left behind")
    with d:
        ok("removed stale socket" in d.log(), d.log())
        st, _, body = call(d, "DescribeTaskDefinition", {"taskDefinition": "web:1"})
        eq((st, body["taskDefinition"]["revision"]), (200, 1), "state survived")
        eq(call(d, "ListClusters", tcp=True)[0], 200, "tcp")


@test
def refuses_foreign_listener(t):
    d = Daemon(t)
    os.makedirs(os.path.dirname(d.sock))
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(d.sock)
    other.listen(1)
    try:
        p = subprocess.run([BERTHD, "--root", t.root, "--config", d.conf], capture_output=True, text=True,
                           timeout=30)
        one_line_error(p, "another process is listening", d.sock)
        ok(os.path.exists(d.sock), "the other process's socket is left alone")
    finally:
        other.close()
    os.unlink(d.sock)
    with open(d.sock, "w") as f:
        f.write("not a socket")
    p = subprocess.run([BERTHD, "--root", t.root, "--config", d.conf], capture_output=True, text=True, timeout=30)
    one_line_error(p, "not a socket", d.sock)


@test
def sighup_reloads_credentials(t):
    with Daemon(t) as d:
        write_creds(d.creds, [("AKIDNEW0001", "newsecret/0123456789")])
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log("SIGHUP: reloaded")
        eq(call(d, "ListClusters", tcp=True, akid="AKIDNEW0001", secret="newsecret/0123456789")[0], 200, "new key")
        expect_error(call(d, "ListClusters", tcp=True), 400, "UnrecognizedClientException")
        os.chmod(d.creds, 0o644)  # refused: the loaded keys stay
        d.proc.send_signal(signal.SIGHUP)
        d.wait_log("still using")
        eq(call(d, "ListClusters", tcp=True, akid="AKIDNEW0001", secret="newsecret/0123456789")[0], 200,
           "kept after a bad reload")


@test
def startup_errors(t):
    p = subprocess.run([BERTHD, "--help"], capture_output=True, text=True)
    eq(p.returncode, 0, "--help")
    ok("usage: berthd" in p.stdout, p.stdout)
    p = subprocess.run([BERTHD, "--bogus"], capture_output=True, text=True)
    one_line_error(p, "--bogus")
    eq(p.returncode, 2, "usage error")
    p = subprocess.run([BERTHD, "--root", "relative"], capture_output=True, text=True)
    one_line_error(p, "relative")
    d = Daemon(t, creds=False)
    p = subprocess.run([BERTHD, "--root", t.root, "--config", d.conf], capture_output=True, text=True, timeout=30)
    one_line_error(p, d.creds, "credentialsFile")
    ok(not os.path.exists(d.sock), "no socket left behind")
    ok(not os.path.exists(d.pidfile), "no pid file left behind")
    # Without api.listen, no credentials are needed and only the unix socket serves.
    d = Daemon(t, listen=False, creds=False)
    with d:
        eq(call(d, "ListClusters")[0], 200, "unix only")
        ok("tcp" not in d.log().splitlines()[-1], d.log())


run_all()
