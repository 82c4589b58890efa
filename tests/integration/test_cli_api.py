#!/usr/bin/env python3
"""berth's ECS API commands (taskdef, clusters) against bin/berthd, and the
client's handling of everything a server can answer (a fake server on the
socket), berthd not running, and berthd's autostart.

Each test gets its own socket: a configuration file in the test directory
with "api": {"socket": "<testdir>/berth.sock"}, so berthd's pid file and
the autostart log land there too (never in /run/berth).
"""
import functools
import glob
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, REPO, eq, ok, one_line_error, run_all, test  # noqa: E402

BERTHD = os.environ.get("BERTHD_BIN", os.path.join(REPO, "bin", "berthd"))
DATA = os.path.join(REPO, "tests", "data", "taskdefs")
ARN_RE = re.compile(r"^arn:aws:ecs:us-east-1:000000000000:task-definition/([A-Za-z0-9_-]+):([0-9]+)$")
NO_AUTOSTART = {"BERTH_NO_AUTOSTART": "1"}


def write_config(t):
    cfg = t.path("berth.json")
    with open(cfg, "w") as f:
        json.dump({"api": {"socket": t.path("berth.sock")}}, f)
    return cfg


def answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Berthd:
    """bin/berthd on the test's own socket and state root."""

    def __init__(self, t):
        self.t = t
        self.cfg = write_config(t)
        self.sock = t.path("berth.sock")
        self.out = t.path("berthd.out")
        self.proc = None

    def start(self):
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen([BERTHD, "--root", self.t.root, "--config", self.cfg],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.time() + 15
        while not answers(self.sock):
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("berthd did not start: %s" % self.log())
            time.sleep(0.02)

    def log(self):
        try:
            with open(self.out) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("berthd ignored SIGTERM")


def with_berthd(fn):
    @functools.wraps(fn)
    def wrapper(t):
        d = Berthd(t)
        d.start()
        try:
            fn(t, d)
        finally:
            d.stop()
    return wrapper


def api(t, d_or_cfg, *args, check=None, env=None, input=None):
    """bin/berth --root <root> --config <cfg> args... without autostart."""
    cfg = d_or_cfg if isinstance(d_or_cfg, str) else d_or_cfg.cfg
    e = dict(NO_AUTOSTART)
    if env:
        e.update(env)
    return t.berth("--config", cfg, *args, check=check, env=e, input=input)


def corpus():
    return sorted(glob.glob(os.path.join(DATA, "*.json")))


def family_of(path):
    with open(path) as f:
        j = json.load(f)
    return j.get("taskDefinition", j)["family"]


def register(t, d, path, *extra):
    p = api(t, d, "taskdef", "register", path, *extra, check=True)
    lines = p.stdout.splitlines()
    eq(len(lines), 2, "register prints two lines: %r" % p.stdout)
    m = re.match(r"^registered ([A-Za-z0-9_-]+):([0-9]+)$", lines[0])
    ok(m, "first line: %r" % lines[0])
    a = ARN_RE.match(lines[1])
    ok(a, "second line is the ARN: %r" % lines[1])
    eq((a.group(1), a.group(2)), (m.group(1), m.group(2)), "ARN and family:revision agree")
    return m.group(1), int(m.group(2)), lines[1]


def table(stdout):
    """Rows of a whitespace-separated table under its header."""
    lines = stdout.splitlines()
    ok(lines, "no header: %r" % stdout)
    return lines[0].split(), [l.split() for l in lines[1:]]


def ls_rows(t, d, *args):
    p = api(t, d, "taskdef", "ls", *args, check=True)
    header, rows = table(p.stdout)
    eq(header, ["FAMILY", "REVISION", "STATUS", "ARN"], "ls header")
    return rows


def as_json(p):
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise AssertionError("not JSON (%s): %r" % (e, p.stdout[:500]))


def bad_definition(t, name, mutate):
    with open(os.path.join(DATA, "fargate-minimal.json")) as f:
        j = json.load(f)
    mutate(j)
    path = t.path(name)
    with open(path, "w") as f:
        json.dump(j, f)
    return path


# ---- against berthd -------------------------------------------------------

@test
@with_berthd
def register_every_valid_file_and_list(t, d):
    registered = {}
    for path in corpus():
        fam, rev, arn = register(t, d, path)
        eq(fam, family_of(path), "family of %s" % os.path.basename(path))
        eq(rev, 1, "first revision of %s" % fam)
        registered[fam] = arn
    ok(len(registered) == len(corpus()), "every file is its own family: %r" % registered)
    rows = ls_rows(t, d)
    eq(sorted(r[0] for r in rows), sorted(registered), "ls families")
    for fam, rev, status, arn in rows:
        eq((rev, status, arn), ("1", "ACTIVE", registered[fam]), "row of %s" % fam)
    j = as_json(api(t, d, "taskdef", "ls", "--output", "json", check=True))
    eq(sorted(j["taskDefinitionArns"]), sorted(registered.values()), "ls --output json")
    p = api(t, d, "taskdef", "families", check=True)
    eq(p.stdout.splitlines(), sorted(registered), "families")


@test
@with_berthd
def describe_by_family_revision_and_arn(t, d):
    hello = os.path.join(DATA, "fargate-minimal.json")
    _, _, arn1 = register(t, d, hello)
    fam, rev, arn2 = register(t, d, hello, "--tag", "team=platform", "--tag", "env=prod")
    eq((fam, rev), ("hello", 2), "second registration")
    latest = as_json(api(t, d, "taskdef", "describe", "hello", check=True))
    eq((latest["family"], latest["revision"], latest["taskDefinitionArn"]), ("hello", 2, arn2), "by family")
    eq(latest["containerDefinitions"][0]["name"], "web", "container")
    one = as_json(api(t, d, "taskdef", "describe", "hello:1", check=True))
    eq((one["revision"], one["status"]), (1, "ACTIVE"), "by family:revision")
    by_arn = as_json(api(t, d, "taskdef", "describe", arn1, check=True))
    eq(by_arn, one, "by ARN")
    full = as_json(api(t, d, "taskdef", "describe", "hello:2", "--output", "json", check=True))
    eq(full["taskDefinition"], latest, "--output json wraps the same definition")
    eq(sorted((x["key"], x["value"]) for x in full.get("tags", [])),
       [("env", "prod"), ("team", "platform")], "--tag recorded")
    # The file's own tags stay; --tag replaces a key it also has.
    path = t.path("tagged.json")
    with open(hello) as f:
        j = json.load(f)
    j["tags"] = [{"key": "team", "value": "old"}, {"key": "keep", "value": "me"}]
    with open(path, "w") as f:
        json.dump(j, f)
    register(t, d, path, "--tag", "team=new")
    full = as_json(api(t, d, "taskdef", "describe", "hello:3", "--output", "json", check=True))
    eq(sorted((x["key"], x["value"]) for x in full["tags"]), [("keep", "me"), ("team", "new")], "merged tags")
    # register --output json is the API's answer.
    j = as_json(api(t, d, "taskdef", "register", hello, "--output", "json", check=True))
    eq((j["taskDefinition"]["family"], j["taskDefinition"]["revision"]), ("hello", 4), "register --output json")


@test
@with_berthd
def deregister_and_statuses(t, d):
    hello = os.path.join(DATA, "fargate-minimal.json")
    register(t, d, hello)
    register(t, d, hello)
    p = api(t, d, "taskdef", "deregister", "hello:1", check=True)
    eq(p.stdout.strip(), "deregistered hello:1 (INACTIVE)", "deregister output")
    eq([(r[0], r[1], r[2]) for r in ls_rows(t, d)], [("hello", "2", "ACTIVE")], "ls (ACTIVE)")
    eq([(r[0], r[1], r[2]) for r in ls_rows(t, d, "--status", "INACTIVE")], [("hello", "1", "INACTIVE")],
       "ls --status INACTIVE")
    eq(as_json(api(t, d, "taskdef", "describe", "hello:1", check=True))["status"], "INACTIVE",
       "an inactive revision stays describable")
    # Deregistering twice is not an error (ECS answers with the revision).
    api(t, d, "taskdef", "deregister", "hello:1", check=True)
    j = as_json(api(t, d, "taskdef", "deregister", "hello:2", "--output", "json", check=True))
    eq(j["taskDefinition"]["status"], "INACTIVE", "deregister --output json")
    eq(api(t, d, "taskdef", "families", "--status", "ACTIVE", check=True).stdout, "", "no active family")
    eq(api(t, d, "taskdef", "families", "--status", "inactive", check=True).stdout, "hello\n", "inactive family")
    # Without a revision: ECS's ClientException.
    p = api(t, d, "taskdef", "deregister", "hello")
    line = one_line_error(p, "ClientException")
    ok(line.startswith("berth: ClientException: "), line)
    eq(p.returncode, 1, "API error exit code")


@test
@with_berthd
def lists_follow_every_page(t, d):
    for path in corpus():
        register(t, d, path)
    hello = os.path.join(DATA, "fargate-minimal.json")
    for _ in range(4):
        register(t, d, hello)
    all_rows = ls_rows(t, d)
    eq(len(all_rows), len(corpus()) + 4, "every revision")
    eq(ls_rows(t, d, "--page-size", "2"), all_rows, "pages of 2 gathered")
    eq(ls_rows(t, d, "--page-size", "1", "--sort", "DESC"), list(reversed(all_rows)), "DESC, pages of 1")
    eq([r[1] for r in ls_rows(t, d, "--family-prefix", "hello")], ["1", "2", "3", "4", "5"], "one family")
    j = as_json(api(t, d, "taskdef", "ls", "--page-size", "3", "--output", "json", check=True))
    eq(j["taskDefinitionArns"], [r[3] for r in all_rows], "--output json gathers the pages")
    fams = api(t, d, "taskdef", "families", check=True).stdout
    eq(api(t, d, "taskdef", "families", "--page-size", "1", check=True).stdout, fams, "families, pages of 1")
    eq(as_json(api(t, d, "taskdef", "families", "--page-size", "2", "--output", "json", check=True)),
       {"families": fams.split()}, "families --output json")
    c = api(t, d, "taskdef", "families", "--family-prefix", "c", check=True).stdout.split()
    eq(c, [f for f in fams.split() if f.startswith("c")], "--family-prefix")
    ok(c, "some family starts with c: %r" % fams)


@test
@with_berthd
def bad_files_are_one_line(t, d):
    port = bad_definition(t, "bad-port.json",
                          lambda j: j["containerDefinitions"][0]["portMappings"][0].update(containerPort=70000))
    p = api(t, d, "taskdef", "register", port)
    line = one_line_error(p, "ClientException", "bad-port.json",
                          "containerDefinitions[0].portMappings[0].containerPort")
    eq(p.returncode, 1, "exit code: %s" % line)
    typo = bad_definition(t, "typo.json", lambda j: j.update(netwrokMode="awsvpc"))
    p = api(t, d, "taskdef", "register", typo)
    one_line_error(p, "netwrokMode", "typo.json")
    eq(p.returncode, 1, "unknown key")
    syntax = t.path("syntax.json")
    with open(syntax, "w") as f:
        f.write('{"family": "x",\n "containerDefinitions": [}\n')
    p = api(t, d, "taskdef", "register", syntax)
    one_line_error(p, "syntax.json", "line 2")
    eq(p.returncode, 1, "malformed JSON")
    arr = t.path("array.json")
    with open(arr, "w") as f:
        f.write("[1, 2]")
    p = api(t, d, "taskdef", "register", arr)
    one_line_error(p, "array.json", "object")
    eq(p.returncode, 1, "not an object")
    p = api(t, d, "taskdef", "register", t.path("missing.json"))
    one_line_error(p, "missing.json", "No such file")
    eq(p.returncode, 1, "missing file")
    # From stdin.
    with open(os.path.join(DATA, "fargate-minimal.json")) as f:
        p = api(t, d, "taskdef", "register", "-", input=f.read(), check=True)
    ok(p.stdout.startswith("registered hello:1\n"), p.stdout)
    p = api(t, d, "taskdef", "register", "-", input="{")
    one_line_error(p, "stdin")
    eq(p.returncode, 1, "bad stdin")
    eq([r[0] for r in ls_rows(t, d)], ["hello"], "nothing but the good one registered")


@test
@with_berthd
def unknown_refs(t, d):
    register(t, d, os.path.join(DATA, "fargate-minimal.json"))
    for args in (["describe", "nosuch"], ["describe", "hello:9"], ["deregister", "nosuch:1"],
                 ["describe", "arn:aws:ecs:us-east-1:000000000000:task-definition/nosuch:1"]):
        p = api(t, d, "taskdef", *args)
        line = one_line_error(p)
        ok(re.match(r"^berth: (ClientException|InvalidParameterException): \S", line), line)
        eq(p.returncode, 1, "%s: %s" % (args, line))
        eq(p.stdout, "", "nothing on stdout")
    p = api(t, d, "taskdef", "describe", "hello:0")
    one_line_error(p, "InvalidParameterException")
    eq(p.returncode, 1, "malformed ref")


@test
@with_berthd
def clusters_table_and_json(t, d):
    p = api(t, d, "clusters", check=True)
    header, rows = table(p.stdout)
    eq(header, ["NAME", "STATUS", "RUNNING", "PENDING", "SERVICES", "ARN"], "header")
    eq([r[0] for r in rows], ["default"], "the default cluster")
    eq(rows[0][1], "ACTIVE", "status")
    ok(rows[0][5].endswith(":cluster/default"), rows[0][5])
    j = as_json(api(t, d, "clusters", "--output", "json", check=True))
    eq([c["clusterName"] for c in j["clusters"]], ["default"], "--output json")
    eq(j["failures"], [], "no failures")


@test
def usage_errors(t):
    cfg = write_config(t)  # nothing listens: usage is checked first
    cases = [
        (["taskdef"], None),
        (["taskdef", "frobnicate"], "frobnicate"),
        (["taskdef", "register"], "FILE"),
        (["taskdef", "register", "a.json", "b.json"], "FILE"),
        (["taskdef", "register", "a.json", "--tag", "novalue"], "novalue"),
        (["taskdef", "register", "a.json", "--tag", "=v"], "=v"),
        (["taskdef", "ls", "--output", "yaml"], "yaml"),
        (["taskdef", "ls", "--status", "DELETED"], "DELETED"),
        (["taskdef", "ls", "--page-size", "0"], "--page-size"),
        (["taskdef", "ls", "extra"], "extra"),
        (["taskdef", "describe"], "REF"),
        (["taskdef", "describe", "a", "b"], "REF"),
        (["taskdef", "deregister"], "FAMILY:REVISION"),
        (["taskdef", "families", "--status", "GONE"], "GONE"),
        (["taskdef", "ls", "--bogus"], "--bogus"),
        (["clusters", "extra"], "extra"),
        (["clusters", "--output"], "--output"),
    ]
    for args, needle in cases:
        p = api(t, cfg, *args)
        eq(p.returncode, 2, "%s: exit code (%s)" % (args, p.stderr))
        if args != ["taskdef"]:
            one_line_error(p, *([needle] if needle else []))
    for args in (["taskdef", "--help"], ["taskdef", "register", "--help"], ["taskdef", "ls", "-h"],
                 ["clusters", "--help"]):
        p = api(t, cfg, *args, check=True)
        ok("usage: berth" in p.stdout, p.stdout)
    p = t.berth("--help", check=True)
    ok("taskdef register FILE" in p.stdout and "125" in p.stdout, p.stdout)


@test
def berthd_not_running(t):
    cfg = write_config(t)
    sock = t.path("berth.sock")
    for args in (["taskdef", "ls"], ["clusters"], ["taskdef", "describe", "x"]):
        p = api(t, cfg, *args)
        line = one_line_error(p, "berthd is not running", sock, "BERTH_NO_AUTOSTART", "berthd --root " + t.root)
        eq(p.returncode, 125, "exit code: %s" % line)
    # A socket file nobody listens on (a berthd that died).
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock)
    s.close()
    p = api(t, cfg, "taskdef", "ls")
    one_line_error(p, "berthd is not running", "nothing listens on " + sock)
    eq(p.returncode, 125, "stale socket")


# ---- autostart ---------------------------------------------------------------

def berthds_for(cfg):
    """Pids of the berthd processes started with this test's configuration."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"berthd" and cfg.encode() in argv:
            pids.append(int(d))
    return pids


def stop_pid(pid, timeout=20):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while os.path.exists("/proc/%d" % pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return  # gone, waiting for its (new) parent to reap it
        except OSError:
            return
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("autostarted berthd %d ignored SIGTERM" % pid)
        time.sleep(0.05)


def autostarted(fn):
    """Stop whatever berthd the test's berth commands started."""
    @functools.wraps(fn)
    def wrapper(t):
        cfg = write_config(t)
        try:
            fn(t, cfg)
        finally:
            for pid in berthds_for(cfg):
                stop_pid(pid)
    return wrapper


def auto(t, cfg, *args, check=None):
    """bin/berth with autostart allowed."""
    e = {k: v for k, v in os.environ.items() if k != "BERTH_NO_AUTOSTART"}
    cmd = [BERTH, "--root", t.root, "--config", cfg] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=60, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


@test
@autostarted
def autostart_starts_berthd(t, cfg):
    sock = t.path("berth.sock")
    ok(not os.path.exists(sock), "no socket yet")
    start = time.time()
    p = auto(t, cfg, "taskdef", "register", os.path.join(DATA, "fargate-minimal.json"), check=True)
    ok(p.stdout.startswith("registered hello:1\n"), p.stdout)
    eq(p.stderr, "", "autostart is silent")
    ok(time.time() - start < 10, "started within the autostart wait")
    ok(answers(sock), "berthd answers on the configured socket")
    with open(t.path("berthd.pid")) as f:
        pid = int(f.read())
    eq(berthds_for(cfg), [pid], "one berthd, the pid file's")
    with open(t.path("berthd.log")) as f:
        log = f.read()
    ok("ready" in log and t.root in log, "its log beside the socket: %r" % log)
    # It was started with the same --root: the registration is there.
    p = auto(t, cfg, "taskdef", "ls", check=True)
    eq([r[0] for r in table(p.stdout)[1]], ["hello"], "same state root")
    ok(os.path.isdir(os.path.join(t.root, "taskdefs", "hello")), "state under --root")
    eq(berthds_for(cfg), [pid], "no second berthd")
    # A session of its own, detached from berth's stdio.
    eq(os.getsid(pid), pid, "session leader")
    for fd in ("0", "1", "2"):
        target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        ok(target in ("/dev/null", t.path("berthd.log")), "fd %s: %s" % (fd, target))
    stop_pid(pid)
    eq(berthds_for(cfg), [], "stopped")


@test
@autostarted
def autostart_concurrent_starts_one(t, cfg):
    cmd = [BERTH, "--root", t.root, "--config", cfg, "taskdef", "families"]
    e = {k: v for k, v in os.environ.items() if k != "BERTH_NO_AUTOSTART"}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                              stdin=subprocess.DEVNULL, text=True) for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        eq(p.returncode, 0, "concurrent berth: %s" % err)
    eq(len(berthds_for(cfg)), 1, "one berthd for four berths")


@test
@autostarted
def autostart_failure_is_one_line(t, cfg):
    # A state root berthd cannot use: a regular file.
    with open(t.path("notadir"), "w") as f:
        f.write("x")
    cmd = [BERTH, "--root", t.path("notadir"), "--config", cfg, "taskdef", "ls"]
    e = {k: v for k, v in os.environ.items() if k != "BERTH_NO_AUTOSTART"}
    p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=60, stdin=subprocess.DEVNULL)
    line = one_line_error(p, "berthd", "exited with status", t.path("berthd.log"), "berthd --root")
    eq(p.returncode, 125, "exit code: %s" % line)
    eq(berthds_for(cfg), [], "nothing left running")


# ---- a fake server: what the client makes of every kind of answer -------------

class FakeBerthd:
    """An HTTP server on the test's socket; answer(handler, body) decides."""

    def __init__(self, t, answer):
        self.cfg = write_config(t)
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                fake.requests.append((self.command, self.path, dict(self.headers), body))
                answer(self, body)

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

            def get_request(self):
                conn, _ = super().get_request()
                return conn, ("unix", 0)

        self.server = Server(t.path("berth.sock"), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def reply(h, status, body, ctype="application/x-amz-json-1.1"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


def with_fake(answer):
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(t):
            f = FakeBerthd(t, answer)
            try:
                fn(t, f)
            finally:
                f.close()
        return wrapper
    return deco


@test
@with_fake(lambda h, body: reply(h, 200, {"families": ["a", "b"]}))
def fake_request_shape(t, f):
    p = api(t, f.cfg, "taskdef", "families", "--family-prefix", "x", "--status", "active", check=True)
    eq(p.stdout, "a\nb\n", "families printed")
    eq(len(f.requests), 1, "one request")
    method, path, headers, body = f.requests[0]
    eq((method, path), ("POST", "/"), "request line")
    eq(headers.get("Content-Type"), "application/x-amz-json-1.1", "Content-Type")
    eq(headers.get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.ListTaskDefinitionFamilies", "target")
    eq(json.loads(body), {"familyPrefix": "x", "status": "ACTIVE"}, "body")
    ok("Authorization" not in headers, "no signature on the unix socket")


@test
@with_fake(lambda h, body: reply(h, 400, {"__type": "com.amazonaws.ecs#ClientException",
                                          "message": "boom\nsecond line"}))
def fake_ecs_error_namespace_stripped(t, f):
    p = api(t, f.cfg, "taskdef", "describe", "x")
    eq(one_line_error(p), "berth: ClientException: boom?second line", "one line, namespace stripped")
    eq(p.returncode, 1, "exit code")


@test
@with_fake(lambda h, body: reply(h, 500, {"__type": "ServerException", "message": "disk full"}))
def fake_server_exception_is_125(t, f):
    p = api(t, f.cfg, "taskdef", "ls")
    eq(one_line_error(p), "berth: ServerException: disk full", "message")
    eq(p.returncode, 125, "exit code")


def garbage(h, body):
    what = json.loads(body).get("taskDefinition")
    if what == "notjson":
        reply(h, 200, b"this is not json")
    elif what == "array":
        reply(h, 200, b"[1,2]")
    elif what == "html":
        reply(h, 404, b"<html>\n<h1>Not Found</h1></html>", "text/html")
    elif what == "huge":
        n = 17 << 20
        h.send_response(200)
        h.send_header("Content-Length", str(n))
        h.end_headers()
        chunk = b" " * (1 << 20)
        try:
            for _ in range(17):
                h.wfile.write(chunk)
        except OSError:
            pass
    elif what == "hangup":
        h.close_connection = True  # no answer at all


@test
@with_fake(garbage)
def fake_malformed_answers_are_125(t, f):
    for ref, needle in (("notjson", "not a JSON object"), ("array", "not a JSON object"),
                        ("html", "HTTP 404"), ("huge", "larger than"), ("hangup", "without answering")):
        p = api(t, f.cfg, "taskdef", "describe", ref)
        line = one_line_error(p, needle)
        eq(p.returncode, 125, "%s: %s" % (ref, line))


@test
def fake_hangup_before_reading(t):
    """A server that closes every connection after a first read (berthd
    dying mid-request): berth's write fails, and must not kill it."""
    cfg = write_config(t)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(t.path("berth.sock"))
    srv.listen(16)
    stop = threading.Event()

    def slam():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                c.settimeout(1)
                try:
                    c.recv(4096)
                finally:
                    c.close()
            except OSError:
                pass
    th = threading.Thread(target=slam, daemon=True)
    th.start()
    try:
        big = t.path("big.json")
        with open(os.path.join(DATA, "fargate-minimal.json")) as f:
            j = json.load(f)
        j["containerDefinitions"][0]["environment"] = [{"name": "V%d" % i, "value": "x" * 900}
                                                       for i in range(900)]
        with open(big, "w") as f:
            json.dump(j, f)
        for args in (["taskdef", "ls"], ["taskdef", "register", big]):
            p = api(t, cfg, *args)
            one_line_error(p, "berthd")
            eq(p.returncode, 125, "%s: not killed by SIGPIPE" % args)
    finally:
        stop.set()
        th.join()
        srv.close()


@test
@with_fake(lambda h, body: reply(h, 200, {"taskDefinitionArns": [], "nextToken": "same"}))
def fake_endless_paging_is_caught(t, f):
    p = api(t, f.cfg, "taskdef", "ls")
    one_line_error(p, "nextToken")
    eq(p.returncode, 125, "exit code")
    eq(len(f.requests), 2, "stopped at the repeated token")


if __name__ == "__main__":
    run_all()
