#!/usr/bin/env python3
"""cgroup v2 enforcement and admission, end to end through `berth run`.
Needs cgroup v2 with cpu, memory and pids: runs in the VM (tests/vm)."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, eq, ok, one_line_error, run_all, skip, test  # noqa: E402
import ociimg  # noqa: E402

CG = "/sys/fs/cgroup"
BERTH_CG = os.path.join(CG, "berth", "tasks")


def need_v2():
    try:
        with open(os.path.join(CG, "cgroup.controllers")) as f:
            ctl = f.read().split()
    except OSError:
        ctl = []
    if not {"cpu", "memory", "pids"} <= set(ctl):
        skip("cgroup v2 with cpu, memory and pids is not available here (run in the VM)")


def load(t):
    need_v2()
    path = t.path("img")
    ociimg.write_oci_layout(path, [ociimg.busybox_image()])
    t.berth("image", "load", path, check=True)


def start_bg(t, *args):
    return subprocess.Popen([BERTH, "--root", t.root, "run"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_running(t, name, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        p = t.berth("ps", check=True)
        for line in p.stdout.splitlines()[1:]:
            if line.rstrip().endswith(" " + name):
                ids = t.berth("ps", "-q", check=True).stdout.split()
                for i in ids:
                    if line.startswith(i[:12]):
                        return i
        time.sleep(0.2)
    raise AssertionError("container %s never showed up running" % name)


def read(path):
    with open(path) as f:
        return f.read().strip()


def task_dirs():
    if not os.path.isdir(BERTH_CG):
        return []
    return [d for d in os.listdir(BERTH_CG) if re.fullmatch(r"[0-9a-f]{32}", d)]


@test
def info_reports_capacity_and_cgroup(t):
    need_v2()
    p = t.berth("info", check=True)
    ok(re.search(r"Task CPU units:\s+%d" % (os.cpu_count() * 1024), p.stdout), p.stdout)
    ok("cgroup v2:         ok" in p.stdout, p.stdout)
    p = t.berth("--memory-reserve", "1GB", "info", check=True)
    ok("host reserve 1024 MiB" in p.stdout, p.stdout)


@test
def limits_written_before_start(t):
    load(t)
    proc = start_bg(t, "--name", "lim", "--cpu", "512", "--memory", "64", "--pids-limit", "100",
                    "busybox", "sleep", "60")
    try:
        cid = wait_running(t, "lim")
        d = os.path.join(BERTH_CG, cid)
        eq(read(os.path.join(d, "cpu.max")), "50000 100000", "cpu.max")
        eq(read(os.path.join(d, "cpu.weight")), "50", "cpu.weight")
        eq(read(os.path.join(d, "memory.max")), str(64 << 20), "memory.max")
        eq(read(os.path.join(d, "memory.swap.max")), "0", "memory.swap.max")
        eq(read(os.path.join(d, "pids.max")), "100", "pids.max")
        procs = read(os.path.join(d, "main", "cgroup.procs")).split()
        eq(len(procs), 1, "one process in the container cgroup")
        eq(read("/proc/%s/cgroup" % procs[0]), "0::/berth/tasks/%s/main" % cid, "process cgroup")
        t.berth("rm", "-f", "lim", check=True)
        eq(proc.wait(timeout=30), 137, "killed")
        ok(not os.path.exists(d), "task cgroup removed")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@test
def container_sees_its_own_cgroup_readonly(t):
    load(t)
    p = t.berth("run", "--rm", "--memory", "64", "busybox", "sh", "-c",
                "cat /proc/self/cgroup; touch /sys/fs/cgroup/x 2>&1; echo rc=$?")
    eq(p.returncode, 0, p.stderr)
    lines = p.stdout.splitlines()
    eq(lines[0], "0::/", "cgroup namespace root")
    ok("rc=1" in p.stdout, "cgroupfs read-only: %r" % p.stdout)


@test
def default_pids_limit(t):
    load(t)
    proc = start_bg(t, "--name", "pids", "busybox", "sleep", "60")
    try:
        cid = wait_running(t, "pids")
        eq(read(os.path.join(BERTH_CG, cid, "pids.max")), "4096", "default pids.max")
        eq(read(os.path.join(BERTH_CG, cid, "cpu.max")), "max 100000", "no cpu cap by default")
        eq(read(os.path.join(BERTH_CG, cid, "memory.max")), "max", "no memory limit by default")
    finally:
        t.berth("rm", "-f", "pids")
        proc.wait(timeout=30)


@test
def oom_kill_is_reported(t):
    load(t)
    p = t.berth("run", "--rm", "--memory", "32", "busybox", "sh", "-c",
                "a=$(head -c 200000000 /dev/zero | tr '\\000' a); echo survived")
    eq(p.returncode, 137, "exit code: %s" % p.stderr)
    ok("survived" not in p.stdout, p.stdout)
    ok("OutOfMemoryError: Container killed due to memory usage" in p.stderr, p.stderr)


@test
def oom_of_a_child_is_not_the_containers(t):
    load(t)
    p = t.berth("run", "--rm", "--memory", "32", "busybox", "sh", "-c",
                "sh -c \"a=\\$(head -c 200000000 /dev/zero | tr '\\\\000' a)\"; echo child=$?")
    eq(p.returncode, 0, "exit code: %s" % p.stderr)
    ok("child=137" in p.stdout, p.stdout)
    ok("OutOfMemoryError" not in p.stderr, p.stderr)


@test
def pids_limit_stops_fork_bomb(t):
    load(t)
    p = t.berth("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
                "(i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; "
                "set -- /proc/[0-9]*; echo $#",  # no fork: the task is at its limit
                timeout=120)
    eq(p.returncode, 0, p.stderr)
    n = int(p.stdout.split()[0])
    ok(0 < n <= 20, "processes in the task: %d" % n)


@test
def cpu_cap_enforced(t):
    load(t)
    p = t.berth("run", "--rm", "--cpu", "256", "busybox", "sh", "-c",
                "timeout 3 sh -c 'while :; do :; done'; cat /sys/fs/cgroup/cpu.stat",
                timeout=120)
    eq(p.returncode, 0, p.stderr)
    m = re.search(r"usage_usec (\d+)", p.stdout)
    ok(m, p.stdout)
    used = int(m.group(1))
    # 0.25 CPU for 3 s is 750 ms; leave room for period boundaries.
    ok(0 < used < 1200000, "CPU used under a 256-unit cap: %d us" % used)


@test
def admission_refuses_what_does_not_fit(t):
    load(t)
    p = t.berth("run", "--rm", "--memory", "4000 GB", "busybox", "true")
    one_line_error(p, "RESOURCE:MEMORY")
    eq(p.returncode, 125, "exit code")
    all_units = os.cpu_count() * 1024
    proc = start_bg(t, "--name", "big", "--cpu", str(all_units), "busybox", "sleep", "60")
    try:
        wait_running(t, "big")
        p = t.berth("run", "--rm", "--cpu", "128", "busybox", "true")
        line = one_line_error(p, "RESOURCE:CPU")
        ok(str(all_units) in line, line)
        p = t.berth("run", "--rm", "busybox", "true")
        eq(p.returncode, 0, "a task without a reservation still fits: %s" % p.stderr)
        t.berth("rm", "-f", "big", check=True)
        proc.wait(timeout=30)
        p = t.berth("run", "--rm", "--cpu", "128", "busybox", "true")
        eq(p.returncode, 0, "fits once the first task is gone: %s" % p.stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    eq(t.berth("ps", "-a", "-q", check=True).stdout.strip(), "", "nothing left")


@test
def bad_sizes_are_refused(t):
    load(t)
    for args, needle in ((["--cpu", "lots"], "--cpu"), (["--memory", "1 TB"], "--memory"),
                         (["--pids-limit", "0"], "--pids-limit")):
        p = t.berth("run", "--rm", *args, "busybox", "true")
        one_line_error(p, needle)
        eq(p.returncode, 125, "exit code for %s" % args)


@test
def fargate_pairs_enforced_on_request(t):
    load(t)
    p = t.berth("run", "--rm", "--fargate", "--cpu", "256", "--memory", "1536", "busybox", "true")
    one_line_error(p, "Invalid 'cpu' setting for task.")
    p = t.berth("run", "--rm", "--fargate", "--memory", "512", "busybox", "true")
    one_line_error(p, "Invalid 'cpu' setting for task.")
    p = t.berth("run", "--rm", "--fargate", "--cpu", "0.25 vCPU", "--memory", "0.5 GB",
                "busybox", "true")
    eq(p.returncode, 0, p.stderr)
    p = t.berth("run", "--rm", "--cpu", "256", "--memory", "1536", "busybox", "true")
    eq(p.returncode, 0, "without --fargate any size that fits runs: %s" % p.stderr)


@test
def nothing_leaks(t):
    load(t)
    before = set(task_dirs())
    for _ in range(5):
        t.berth("run", "--rm", "--memory", "64", "busybox", "true", check=True)
    t.berth("run", "busybox", "sh", "-c", "sleep 60 & exit 3")
    eq(set(task_dirs()) - before, set(), "no task cgroup left after exit")
    # a killed `berth run`: the container dies with it, `rm` removes its cgroup
    proc = start_bg(t, "--name", "orphan", "busybox", "sleep", "60")
    cid = wait_running(t, "orphan")
    proc.kill()
    proc.wait()
    t.berth("rm", "orphan", check=True)
    ok(not os.path.exists(os.path.join(BERTH_CG, cid)), "orphan's cgroup removed")


if __name__ == "__main__":
    run_all()
