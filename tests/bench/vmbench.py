#!/usr/bin/python3
"""berth benchmarks that start containers: run inside the test VM (cgroup v2).

    tests/bench/run            (boots the VM and runs this there)
    make vm-run CMD='/usr/bin/python3 tests/bench/vmbench.py'   (by hand)

Blocks (BERTH_BENCH_BLOCKS, comma-separated; default all):
  latency     `berth run --rm IMAGE /bin/true` vs `crun run` / `runc run` of an
              OCI bundle made from the same rootfs, interleaved, N runs each;
              berth's in-process start from its trace timestamps
  throughput  TASKS tasks started at once (at most PAR in flight), wall time
              until all have exited, per runtime
  overhead    IDLE idle tasks (`sleep 600`) under `berth run`: summed PSS of
              the berth processes / IDLE, and the host memory they cost
  strace      syscall counts of `berth run --rm` (strace -c -f)
Progress goes to stderr; the result is one line "BENCH-RESULT {json}" on stdout.

Knobs: BERTH_BENCH_N (200), BERTH_BENCH_WARMUP (10), BERTH_BENCH_TASKS (100),
BERTH_BENCH_PAR (100), BERTH_BENCH_TPUT_REPS (3), BERTH_BENCH_IDLE (200),
BERTH_BENCH_PEER_SECCOMP (1: also run crun with berth's seccomp allowlist),
BERTH_BENCH_STRACE_RUNS (5)."""
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BERTH, REPO, env_int, machine, meminfo, median, pids_named,  # noqa: E402
                      rollup_kb, spawn, summary, timed)

IMAGE_DIR = os.path.join(REPO, "build", "bench", "busybox")
IMAGE = "busybox:latest"
WORK = "/tmp/bench"
ROOTFS = os.path.join(WORK, "rootfs")
CRUN, RUNC = shutil.which("crun"), shutil.which("runc")

# Docker's 14 default capabilities: what berth gives a container.
CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

TRACE_EVENTS = ["start", "run_accepted", "image_ready", "cgroup_ready", "rootfs_mounted",
                "seccomp_ready", "clone3_returned", "exec_confirmed", "exited", "finished"]


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def ms(ns):
    return ns / 1e6


def berth(*args, check=True):
    r = subprocess.run([BERTH] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit("bench: berth %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                              r.stderr.strip()))
    return r.stdout


# ---------------------------------------------------------------- set-up

def seccomp_profile():
    """berth's allowlist (runtime/seccomp.c) as an OCI seccomp section, names
    libseccomp does not know dropped, as berth drops them."""
    src = open(os.path.join(REPO, "runtime", "seccomp.c")).read()
    body = src.split("allowed[] = {", 1)[1].split("};", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = re.findall(r'"([a-z0-9_]+)"', body)
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    known = [n for n in names if lib.seccomp_syscall_resolve_name(n.encode()) >= 0]

    def arg(op, value, value2=0):
        return [{"index": 0, "value": value, "valueTwo": value2, "op": op}]
    rules = [{"names": known, "action": "SCMP_ACT_ALLOW"},
             {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
             {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
              "args": arg("SCMP_CMP_MASKED_EQ", 0x7E020000, 0)},
             {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": arg("SCMP_CMP_LT", 38)},
             {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": arg("SCMP_CMP_EQ", 39)},
             {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": arg("SCMP_CMP_GT", 40)}]
    for p in (0x0, 0x8, 0x20000, 0x20008, 0xffffffff):
        rules.append({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": arg("SCMP_CMP_EQ", p)})
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": rules}, len(known)


def make_bundle(name, seccomp=None):
    """An OCI bundle from `crun spec`, adjusted to do berth's work: no
    terminal, /bin/true, berth's namespaces (mount pid uts ipc net cgroup;
    the runtimes bring lo up in the new netns as berth does), Docker's 14
    capabilities, no_new_privs, RLIMIT_NOFILE 65535, a writable root,
    pids.max 4096 (berth's default), the spec's default masked and
    read-only paths and device rules."""
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    subprocess.run([CRUN, "spec", "-b", d], check=True)
    with open(os.path.join(d, "config.json")) as f:
        spec = json.load(f)
    p = spec["process"]
    p["terminal"] = False
    p["args"] = ["/bin/true"]
    p["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=/root"]
    p["capabilities"] = {k: list(CAPS) for k in ("bounding", "effective", "permitted")}
    p["capabilities"].update({"inheritable": [], "ambient": []})
    p["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 65535, "soft": 65535}]
    p["noNewPrivileges"] = True
    spec["root"] = {"path": ROOTFS, "readonly": False}
    spec["hostname"] = "bench"
    lx = spec["linux"]
    types = {n["type"] for n in lx["namespaces"]}
    for t in ("pid", "network", "ipc", "uts", "mount", "cgroup"):
        if t not in types:
            lx["namespaces"].append({"type": t})
    lx.setdefault("resources", {})["pids"] = {"limit": 4096}
    if seccomp:
        lx["seccomp"] = seccomp
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    return d


def setup():
    os.makedirs(WORK, exist_ok=True)
    if not os.path.exists(os.path.join(IMAGE_DIR, "index.json")):
        raise SystemExit("bench: %s missing: tests/bench/run builds it" % IMAGE_DIR)
    berth("image", "load", IMAGE_DIR)
    # The peers get the very files berth's overlay shows: a copy of the
    # unpacked layer on the same tmpfs kind (berth's store is a tmpfs here).
    layers = "/var/lib/berth/images/layers"
    lay = [x for x in os.listdir(layers)]
    if len(lay) != 1:
        raise SystemExit("bench: expected one unpacked layer in %s, found %d" % (layers, len(lay)))
    if os.path.exists(ROOTFS):
        shutil.rmtree(ROOTFS)
    subprocess.run(["cp", "-a", os.path.join(layers, lay[0]), ROOTFS], check=True)
    bundles = {}
    if CRUN:
        bundles["crun"] = make_bundle("bundle")
    prof, nknown = seccomp_profile()
    if CRUN and os.environ.get("BERTH_BENCH_PEER_SECCOMP", "1") == "1":
        bundles["crun+seccomp"] = make_bundle("bundle-seccomp", prof)
    return bundles, nknown


# ---------------------------------------------------------------- runners

class Runner:
    """One way of starting the /bin/true container; argv(i) gives a fresh id."""

    def __init__(self, name, make_argv, env=None, cleanup=None):
        self.name, self.make_argv, self.env, self.cleanup = name, make_argv, env, cleanup
        self.n = 0

    def argv(self, cmd="/bin/true"):
        self.n += 1
        return self.make_argv(self.n, cmd)


def runners(bundles, trace_file):
    base = dict(os.environ)
    base.pop("BERTH_TRACE", None)
    traced = dict(base, BERTH_TRACE=trace_file)
    # crun's bundle gets a new network namespace with nothing in it: berth's
    # like-for-like is --network none; "berth+net" adds berth's awsvpc network
    # (namespace, veth, address, route, resolv.conf/hosts) to every run.
    none = ["--network", "none"]
    out = [Runner("berth", lambda i, c: [BERTH, "run", "--rm"] + none + [IMAGE, c], base),
           Runner("berth+trace", lambda i, c: [BERTH, "run", "--rm"] + none + [IMAGE, c], traced),
           Runner("berth+net", lambda i, c: [BERTH, "run", "--rm", IMAGE, c], base)]
    if "crun" in bundles:
        b = bundles["crun"]
        out.append(Runner("crun", lambda i, c, b=b: [CRUN, "run", "-b", b, "bc%d" % i], base,
                          lambda i: leftover("/run/crun", "bc%d" % i, CRUN)))
    if RUNC and "crun" in bundles:
        b = bundles["crun"]
        out.append(Runner("runc", lambda i, c, b=b: [RUNC, "run", "-b", b, "br%d" % i], base,
                          lambda i: leftover("/run/runc", "br%d" % i, RUNC)))
    if "crun+seccomp" in bundles:
        b = bundles["crun+seccomp"]
        out.append(Runner("crun+seccomp",
                          lambda i, c, b=b: [CRUN, "run", "-b", b, "bs%d" % i], base,
                          lambda i: leftover("/run/crun", "bs%d" % i, CRUN)))
    return out


def leftover(state_dir, cid, rt):
    """`run` deletes its container on exit; delete any that survived."""
    if os.path.exists(os.path.join(state_dir, cid)):
        subprocess.run([rt, "delete", "-f", cid], capture_output=True)
        return 1
    return 0


def parse_trace(path):
    """Split a sequential trace file into runs (each begins with 'start')."""
    runs, cur = [], None
    try:
        f = open(path)
    except OSError:
        return runs
    with f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            if parts[0] == "start":
                cur = {}
                runs.append(cur)
            if cur is not None:
                cur[parts[0]] = int(parts[1])
    return runs


# ---------------------------------------------------------------- blocks

def latency(rs):
    n = env_int("BERTH_BENCH_N", 200)
    warm = env_int("BERTH_BENCH_WARMUP", 10)
    log("latency: %d warm-up + %d interleaved runs each of %s" % (
        warm, n, ", ".join(r.name for r in rs)))
    trace_file = rs[1].env["BERTH_TRACE"]
    samples = {r.name: [] for r in rs}
    fails = {r.name: 0 for r in rs}
    leftovers = {r.name: 0 for r in rs}
    spans = []  # (t0, t1) of each traced run, for the pre-/post-process figures
    t_start = time.monotonic()
    for i in range(warm + n):
        if i == warm:
            try:
                os.unlink(trace_file)
            except FileNotFoundError:
                pass
        for r in rs:
            dt, rc, t0 = timed(r.argv(), r.env)
            if r.cleanup:
                leftovers[r.name] += r.cleanup(r.n)
            if i < warm:
                continue
            if rc != 0:
                fails[r.name] += 1
                continue
            samples[r.name].append(dt)
            if r.name == "berth+trace":
                spans.append((t0, t0 + dt))
        if i >= warm and (i - warm + 1) % 50 == 0:
            log("latency: %d/%d (%.0fs)" % (i - warm + 1, n, time.monotonic() - t_start))
    out = {"n": n, "warmup": warm, "series": {}, "fails": fails, "leftovers": leftovers}
    for r in rs:
        out["series"][r.name] = summary([ms(x) for x in samples[r.name]])
    runs = parse_trace(trace_file)
    ok = [t for t in runs if all(e in t for e in TRACE_EVENTS)]
    phases = {}
    for a, b in zip(TRACE_EVENTS, TRACE_EVENTS[1:]):
        phases["%s>%s" % (a, b)] = summary([ms(t[b] - t[a]) for t in ok])
    inproc = [ms(t["exec_confirmed"] - t["run_accepted"]) for t in ok]
    out["inprocess"] = summary(inproc)
    out["phases"] = phases
    out["trace_runs"] = len(ok)
    if len(ok) == len(spans):
        out["pre_start"] = summary([ms(t["start"] - s[0]) for t, s in zip(ok, spans)])
        out["post_finish"] = summary([ms(s[1] - t["finished"]) for t, s in zip(ok, spans)])
    return out


def throughput(rs):
    tasks = env_int("BERTH_BENCH_TASKS", 100)
    par = env_int("BERTH_BENCH_PAR", 100)
    reps = env_int("BERTH_BENCH_TPUT_REPS", 3)
    rs = [r for r in rs if r.name in ("berth", "crun", "runc")]
    log("throughput: %d tasks, %d in flight, %d reps of %s" % (
        tasks, par, reps, ", ".join(r.name for r in rs)))
    walls = {r.name: [] for r in rs}
    fails = {r.name: 0 for r in rs}
    for rep in range(reps):
        for r in rs:
            ids = []
            live = {}
            t0 = time.monotonic_ns()
            started = 0
            while started < tasks or live:
                while started < tasks and len(live) < par:
                    live[spawn(r.argv(), r.env)] = r.n
                    ids.append(r.n)
                    started += 1
                pid, st = os.wait()
                if pid in live:
                    del live[pid]
                    if os.waitstatus_to_exitcode(st) != 0:
                        fails[r.name] += 1
            wall = time.monotonic_ns() - t0
            walls[r.name].append(ms(wall))
            if r.cleanup:
                for i in ids:
                    r.cleanup(i)
            log("throughput: rep %d %s: %.0f ms" % (rep + 1, r.name, ms(wall)))
    out = {"tasks": tasks, "par": par, "reps": reps, "fails": fails, "series": {}}
    for r in rs:
        w = median(walls[r.name])
        out["series"][r.name] = {"wall_ms": w, "all_ms": walls[r.name],
                                 "tasks_per_s": tasks / (w / 1000.0)}
    return out


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
    time.sleep(1)


def overhead():
    idle = env_int("BERTH_BENCH_IDLE", 200)
    log("overhead: %d idle tasks (berth run --rm %s sleep 600)" % (idle, IMAGE))
    trace_file = os.path.join(WORK, "trace-idle.txt")
    env = dict(os.environ, BERTH_TRACE=trace_file)
    if os.path.exists(trace_file):
        os.unlink(trace_file)
    drop_caches()
    before = meminfo()
    pids = []
    t0 = time.monotonic()
    try:
        for i in range(idle):
            pids.append(spawn([BERTH, "run", "--rm", IMAGE, "sleep", "600"], env))
            # a few starts in flight at a time: enough to keep the CPUs busy
            while True:
                n = count_events(trace_file, "exec_confirmed")
                if len(pids) - n < 8:
                    break
                time.sleep(0.05)
        deadline = time.monotonic() + 300
        while count_events(trace_file, "exec_confirmed") < idle and time.monotonic() < deadline:
            dead = [p for p in pids if os.waitpid(p, os.WNOHANG)[0] == p]
            if dead:
                raise SystemExit("bench: overhead: %d berth run processes ended early" % len(dead))
            time.sleep(0.2)
        running = count_events(trace_file, "exec_confirmed")
        start_s = time.monotonic() - t0
        log("overhead: %d tasks running after %.0fs" % (running, start_s))
        time.sleep(2)
        drop_caches()
        after = meminfo()
        mons = pids_named("berth")
        roll = [x for x in (rollup_kb(p) for p in mons) if x]
        sleeps = [x for x in (rollup_kb(p) for p in pids_named("sleep")) if x]
        pss_total = sum(x["pss"] for x in roll)
        mon_maps = smaps_by_mapping(mons[0]) if mons else []
        out = {"tasks": idle, "running": running, "start_s": start_s,
               "berth_processes": len(roll),
               "berth_pss_total_kb": pss_total,
               "berth_pss_per_task_kb": pss_total / idle,
               "monitor_rss_kb": median([x["rss"] for x in roll]) if roll else None,
               "monitor_pss_anon_kb": median([x.get("pss_anon", 0) for x in roll]) if roll else None,
               "container_pss_per_task_kb": sum(x["pss"] for x in sleeps) / idle,
               "monitor_mappings": mon_maps,
               "loaded_starts": loaded_starts(),
               "meminfo_delta_per_task_kb": {}}
        for k in ("MemAvailable", "MemFree", "Slab", "SUnreclaim", "SReclaimable",
                  "KernelStack", "PageTables", "Percpu", "Shmem", "AnonPages"):
            if k in before and k in after:
                d = before[k] - after[k] if k in ("MemAvailable", "MemFree") else after[k] - before[k]
                out["meminfo_delta_per_task_kb"][k] = d / idle
        return out
    finally:
        cleanup_idle(pids)


def smaps_by_mapping(pid):
    """One process's Pss and Anonymous (kB) per mapping name, largest Pss first."""
    by = {}
    cur = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                p = line.split()
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    cur = by.setdefault(p[5] if len(p) > 5 else "[anon]", [0, 0])
                elif cur is not None and p[0] == "Pss:":
                    cur[0] += int(p[1])
                elif cur is not None and p[0] == "Anonymous:":
                    cur[1] += int(p[1])
    except OSError:
        return []
    return sorted(([k, v[0], v[1]] for k, v in by.items()), key=lambda x: -x[1])[:8]


def loaded_starts(n=20):
    """Sequential `berth run --rm /bin/true` while the idle tasks run: the
    in-process start and its admission phase (image_ready -> cgroup_ready:
    containers lock, every container record read) with many tasks present."""
    trace = os.path.join(WORK, "trace-loaded.txt")
    if os.path.exists(trace):
        os.unlink(trace)
    env = dict(os.environ, BERTH_TRACE=trace)
    walls = []
    for _ in range(n):
        dt, rc, _t0 = timed([BERTH, "run", "--rm", IMAGE, "/bin/true"], env)
        if rc == 0:
            walls.append(ms(dt))
    ok = [t for t in parse_trace(trace) if all(e in t for e in TRACE_EVENTS)]
    if not ok:
        return None
    return {"n": len(ok), "wall": summary(walls),
            "inprocess": summary([ms(t["exec_confirmed"] - t["run_accepted"]) for t in ok]),
            "admission": summary([ms(t["cgroup_ready"] - t["image_ready"]) for t in ok])}


def count_events(path, name):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.startswith(name + " "))
    except FileNotFoundError:
        return 0


def cleanup_idle(pids):
    ids = berth("ps", "-q", check=False).split()
    if ids:
        subprocess.run([BERTH, "rm", "-f"] + ids, capture_output=True)
    deadline = time.monotonic() + 120
    live = set(pids)
    while live and time.monotonic() < deadline:
        for p in list(live):
            if os.waitpid(p, os.WNOHANG)[0] == p:
                live.discard(p)
        time.sleep(0.1)
    for p in live:  # only the berth processes this script started
        try:
            os.kill(p, signal.SIGKILL)
            os.waitpid(p, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    left = berth("ps", "-a", "-q", check=False).split()
    if left:
        subprocess.run([BERTH, "rm", "-f"] + left, capture_output=True)
    log("overhead: cleaned up (%d monitors needed SIGKILL, %d records left)" % (len(live), len(left)))


def strace_counts():
    runs = env_int("BERTH_BENCH_STRACE_RUNS", 5)
    st = shutil.which("strace")
    if not st or runs <= 0:
        return None
    total = {}
    calls = 0
    for i in range(runs):
        f = os.path.join(WORK, "strace-%d.txt" % i)
        r = subprocess.run([st, "-f", "-c", "-o", f, BERTH, "run", "--rm", IMAGE, "/bin/true"],
                           capture_output=True)
        if r.returncode != 0:
            return {"error": "strace run failed: %s" % r.stderr.decode()[-200:]}
        for line in open(f):
            p = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(p) >= 5 and re.match(r"^\d", p[0]) and p[-1] != "total":
                name, ncalls, sec = p[-1], int(p[3]), float(p[1])
                t = total.setdefault(name, [0, 0.0])
                t[0] += ncalls
                t[1] += sec
                calls += ncalls
    top = sorted(total.items(), key=lambda kv: -kv[1][0])[:10]
    top_t = sorted(total.items(), key=lambda kv: -kv[1][1])[:10]
    return {"runs": runs, "calls_per_run": calls / runs,
            "top_by_count": [(k, v[0] / runs) for k, v in top],
            "top_by_time_ms": [(k, v[1] * 1000 / runs) for k, v in top_t]}


def main():
    blocks = os.environ.get("BERTH_BENCH_BLOCKS", "latency,throughput,overhead,strace").split(",")
    m = machine("VM")
    m["accel"] = "TCG" if "TCG" in m["model"] else "KVM"
    m["cgroup_controllers"] = open("/sys/fs/cgroup/cgroup.controllers").read().split()
    m["crun"] = subprocess.run([CRUN, "--version"], capture_output=True, text=True).stdout.split("\n")[0] if CRUN else None
    m["runc"] = subprocess.run([RUNC, "--version"], capture_output=True, text=True).stdout.split("\n")[0] if RUNC else None
    out = {"machine": m, "blocks": blocks}
    bundles, nknown = setup()
    out["peer_seccomp_rules"] = nknown if "crun+seccomp" in bundles else None
    rs = runners(bundles, os.path.join(WORK, "trace-latency.txt"))
    t0 = time.monotonic()
    if "latency" in blocks:
        out["latency"] = latency(rs)
    if "throughput" in blocks:
        out["throughput"] = throughput(rs)
    if "overhead" in blocks:
        out["overhead"] = overhead()
    if "strace" in blocks:
        out["strace"] = strace_counts()
    out["vm_seconds"] = time.monotonic() - t0
    left = berth("ps", "-a", "-q", check=False).split()
    out["berth_leftover_records"] = len(left)
    print("BENCH-RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
