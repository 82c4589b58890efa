"""Tiny TAP test harness for berth's root integration tests.

Each tests/integration/test_*.py declares tests with @test and ends with
`run_all()`.  Every test gets a fresh state root (`--root`) and scratch
directory, which are checked for leaked mounts and removed afterwards.
Output is TAP ("ok N - name", "not ok N - name", "ok N - name # SKIP why"),
which tests/run aggregates.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BERTH = os.environ.get("BERTH_BIN", os.path.join(REPO, "bin", "berth"))
PROBE = os.path.join(REPO, "build", "probe")

_tests = []


class Skip(Exception):
    pass


def test(fn):
    _tests.append(fn)
    return fn


def skip(why):
    raise Skip(why)


class Ctx:
    """Per-test context: scratch dir, state root, and a berth runner."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="berth-it-%s-" % name)
        self.root = os.path.join(self.dir, "state")

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def berth(self, *args, input=None, timeout=120, env=None, check=None):
        """Run bin/berth --root <root> args...; returns CompletedProcess with
        text stdout/stderr.  check=True asserts exit 0, check=False asserts
        non-zero, None asserts nothing."""
        e = dict(os.environ)
        e.pop("BERTH_ROOT", None)
        if env:
            e.update(env)
        cmd = [BERTH, "--root", self.root] + [str(a) for a in args]
        p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                           timeout=timeout, env=e,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check is True and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr))
        if check is False and p.returncode == 0:
            raise AssertionError("%s unexpectedly succeeded: %s%s" % (
                " ".join(cmd), p.stdout, p.stderr))
        return p

    def mounts_under(self, prefix=None):
        prefix = prefix or self.dir
        out = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp.startswith(prefix):
                    out.append(mp)
        return out

    def cleanup(self):
        leaked = self.mounts_under()
        for mp in sorted(leaked, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        return leaked


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (msg or "mismatch", b, a))


def ok(cond, msg):
    if not cond:
        raise AssertionError(msg)


def one_line_error(p, *needles):
    """A failed command prints exactly one line on stderr naming the input."""
    ok(p.returncode != 0, "expected failure, got exit 0: %s" % p.stdout)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    ok(len(lines) == 1, "expected one error line, got %r" % p.stderr)
    ok("Traceback" not in p.stderr and "AddressSanitizer" not in p.stderr,
       "crash output: %r" % p.stderr)
    for n in needles:
        ok(n in lines[0], "error %r does not mention %r" % (lines[0], n))
    return lines[0]


def run_all():
    if os.geteuid() != 0:
        print("1..1")
        print("ok 1 - %s # SKIP needs root" % os.path.basename(sys.argv[0]))
        return
    only = os.environ.get("BERTH_TEST")
    tests = [t for t in _tests if not only or t.__name__ == only]
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for i, fn in enumerate(tests, 1):
        ctx = Ctx(fn.__name__)
        status = "ok"
        note = ""
        try:
            fn(ctx)
        except Skip as s:
            note = " # SKIP %s" % s
        except Exception:
            status = "not ok"
            note = ""
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        leaked = ctx.cleanup()
        if leaked and status == "ok":
            status = "not ok"
            print("# leaked mounts: %s" % leaked)
        if status != "ok":
            failed += 1
        print("%s %d - %s%s" % (status, i, fn.__name__, note), flush=True)
    sys.exit(1 if failed else 0)
