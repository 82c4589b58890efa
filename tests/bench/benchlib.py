"""Shared helpers for tests/bench: statistics, process spawning, machine info.

Used on the host (run, unpack.py, report.py) and in the guest (vmbench.py);
standard library only, Python 3.11 (Debian 12's /usr/bin/python3)."""
import os
import platform
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BERTH = os.path.join(REPO, "bin", "berth")

DEVNULL_ACTIONS = [
    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
    (os.POSIX_SPAWN_DUP2, 1, 2),
]


def env_int(name, default):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise SystemExit("bench: %s=%r: expected a whole number" % (name, v))


def percentile(xs, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def summary(xs):
    """p50/p90/p99/min/max/mean of a list of numbers (same unit out)."""
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "p50": percentile(xs, 50), "p90": percentile(xs, 90),
            "p99": percentile(xs, 99), "min": min(xs), "max": max(xs),
            "mean": sum(xs) / len(xs)}


def spawn(argv, env=None, quiet=True):
    """posix_spawn (vfork underneath) argv with stdio on /dev/null; returns the pid."""
    return os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                          file_actions=DEVNULL_ACTIONS if quiet else [])


def wait_status(pid):
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


def timed(argv, env=None):
    """Run argv to completion; (elapsed ns, exit code, t0 monotonic ns)."""
    t0 = time.monotonic_ns()
    pid = spawn(argv, env)
    rc = wait_status(pid)
    return time.monotonic_ns() - t0, rc, t0


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def machine(where):
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"where": where, "kernel": platform.release(), "cpus": os.cpu_count(),
            "model": model, "mem_mib": mem_kb // 1024,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "loadavg": open("/proc/loadavg").read().split()[:3]}


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])  # kB
    return out


def pss_kb(pid):
    """Pss (kB) of one process from smaps_rollup, or None if it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rollup_kb(pid):
    """Rss, Pss, Pss_Anon (kB) of one process, or None."""
    want = {"Rss:": "rss", "Pss:": "pss", "Pss_Anon:": "pss_anon"}
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k = line.split(None, 1)[0]
                if k in want:
                    out[want[k]] = int(line.split()[1])
    except OSError:
        return None
    return out


def pids_named(comm):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() == comm:
                    out.append(int(d))
        except OSError:
            pass
    return out


def other_qemus():
    """qemu processes on this host that are not ours (a busy machine)."""
    me = os.getpid()
    out = []
    for pid in pids_named("qemu-system-x86"):
        try:
            ppid = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            ppid = 0
        if ppid != me:
            out.append(pid)
    return out
