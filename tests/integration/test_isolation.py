"""Isolation and `berth run` contract, observed from inside the container.

Each test loads a busybox image carrying the static probe (/probe, built from
tests/probe/probe.c) into its fresh state root and runs it.  Every run gets a
unique argv marker; after it returns, no process on the host may still carry
the marker and no mount may remain below the scratch dir or the state root.

Run: python3 tests/integration/test_isolation.py   (BERTH_TEST=name for one;
BERTH_TEST_VERBOSE=1 shows the outcome of the hostile-image runs)
"""
import atexit
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, PROBE, REPO, eq, ok, one_line_error, run_all, skip, test  # noqa: E402
from ociimg import Image, Layer, busybox_layer, sha256, write_oci_layout  # noqa: E402

DOCKER_CAPS = "00000000a80425fb"
NO_CAPS = "0000000000000000"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MARK = "@MARK@"  # replaced by a unique marker in run()

_cache_dir = None
_layouts = {}
_base_layer = None


def _cleanup_cache():
    if _cache_dir:
        shutil.rmtree(_cache_dir, ignore_errors=True)


atexit.register(_cleanup_cache)


def base_layer():
    global _base_layer
    if _base_layer is None:
        if not os.path.exists(PROBE):
            raise AssertionError("%s missing: run `make build/probe`" % PROBE)
        _base_layer = busybox_layer(probe=True)
    return _base_layer


def image_layout(key="default", config=None, extra_layers=()):
    """Build (once per process) an OCI layout of busybox+probe with config."""
    global _cache_dir
    if key in _layouts:
        return _layouts[key]
    if _cache_dir is None:
        _cache_dir = tempfile.mkdtemp(prefix="berth-it-cache-")
    cfg = {"Cmd": ["/bin/sh"], "Env": [PATH_ENV]}
    cfg.update(config or {})
    name = "probe-%s:latest" % key
    img = Image([base_layer()] + list(extra_layers), config=cfg, name=name)
    path = os.path.join(_cache_dir, key)
    write_oci_layout(path, [img])
    _layouts[key] = (path, name)
    return path, name


def load(ctx, key="default", config=None, extra_layers=()):
    path, name = image_layout(key, config, extra_layers)
    ctx.berth("image", "load", path, check=True)
    return name


def procs_with(marker):
    """pids (other than ours) whose argv holds marker."""
    out = []
    mb = marker.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if mb in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


def after_run_checks(ctx, marker):
    left = []
    for _ in range(20):  # the kernel may take a moment to reap
        left = procs_with(marker)
        if not left:
            break
        time.sleep(0.1)
    ok(not left, "container processes left after the run: %s" % [
        (p, _cmdline(p)) for p in left])
    m = ctx.mounts_under(ctx.dir)
    ok(not m, "mounts left on the host below %s after the run: %s" % (ctx.dir, m))


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def run(ctx, image, *cmd, opts=(), rm=True, timeout=60, expect=None):
    """berth run [--rm] opts... image cmd...; MARK in cmd becomes a unique
    marker.  expect: the exit code to assert (None: don't)."""
    marker = "berth-mark-" + secrets.token_hex(6)
    args = ["run"] + (["--rm"] if rm else []) + list(opts) + [image] + \
        [marker if c == MARK else c for c in cmd]
    p = ctx.berth(*args, timeout=timeout)
    after_run_checks(ctx, marker)
    if expect is not None and p.returncode != expect:
        raise AssertionError("berth %s: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
            " ".join(args), p.returncode, expect, p.stdout[-3000:], p.stderr[-3000:]))
    return p


def probe(ctx, image, sub, *args, opts=(), expect=0):
    p = run(ctx, image, "/probe", sub, *args, MARK, opts=opts, expect=expect)
    return kv(p.stdout)


def kv(out):
    d = {}
    for line in out.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            d.setdefault(k, []).append(v)
    return d


def one(d, k):
    ok(k in d, "probe output lacks %s: %r" % (k, d))
    return d[k][0]


def lines_kv(d, key):
    """Parse multi-field lines 'key=<first> f=v f=v' into dicts."""
    out = []
    for v in d.get(key, []):
        parts = v.split(" ")
        rec = {key: parts[0]}
        for p in parts[1:]:
            if "=" in p:
                a, b = p.split("=", 1)
                rec[a] = b
        out.append(rec)
    return out


# ---------------------------------------------------------------------------
# seccomp, capabilities, no_new_privs
# ---------------------------------------------------------------------------

@test
def seccomp_blocks_dangerous_syscalls(ctx):
    img = load(ctx)
    d = probe(ctx, img, "syscalls")
    bad = []
    for n in ("unshare", "mount", "keyctl", "bpf", "open_by_handle_at", "init_module",
              "clone_newuser"):
        if d.get(n, ["?"])[0] != "EPERM":
            bad.append("%s=%s (want EPERM)" % (n, d.get(n, ["missing"])[0]))
    if d.get("clone3", ["?"])[0] != "ENOSYS":
        bad.append("clone3=%s (want ENOSYS)" % d.get("clone3", ["missing"])[0])
    for n in ("fork", "getpid"):  # positive controls: the filter is not kill-all
        if d.get(n, ["?"])[0] != "OK":
            bad.append("%s=%s (want OK)" % (n, d.get(n, ["missing"])[0]))
    ok(not bad, "syscalls: %s" % ", ".join(bad))


@test
def seccomp_docker_profile_more(ctx):
    """Further calls Docker's default profile denies (security.md 1.1), and
    ordinary ones it must allow."""
    img = load(ctx)
    d = probe(ctx, img, "syscalls")
    bad = []
    for n in ("setns", "umount2", "pivot_root", "add_key", "request_key", "userfaultfd",
              "io_uring_setup", "perf_event_open", "kexec_load", "finit_module",
              "delete_module", "acct", "swapoff", "socket_vsock", "socket_alg",
              "personality_bad", "clone_newnet"):
        if d.get(n, ["?"])[0] != "EPERM":
            bad.append("%s=%s (want EPERM)" % (n, d.get(n, ["missing"])[0]))
    for n in ("socket_inet", "socket_unix", "personality_query", "chroot"):
        if d.get(n, ["?"])[0] != "OK":
            bad.append("%s=%s (want OK)" % (n, d.get(n, ["missing"])[0]))
    ok(not bad, "syscalls: %s" % ", ".join(bad))


@test
def caps_root_are_dockers_14(ctx):
    img = load(ctx)
    d = probe(ctx, img, "caps")
    got = {k: one(d, k) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                                  "NoNewPrivs", "Seccomp")}
    want = {"CapInh": NO_CAPS, "CapPrm": DOCKER_CAPS, "CapEff": DOCKER_CAPS,
            "CapBnd": DOCKER_CAPS, "CapAmb": NO_CAPS, "NoNewPrivs": "1", "Seccomp": "2"}
    eq(got, want, "capabilities of root in the container")


@test
def caps_nonroot_no_inheritable_or_ambient(ctx):
    img = load(ctx)
    d = probe(ctx, img, "caps", opts=("--user", "app"))
    for k, v in (("CapInh", NO_CAPS), ("CapAmb", NO_CAPS), ("CapBnd", DOCKER_CAPS),
                 ("NoNewPrivs", "1"), ("Seccomp", "2")):
        eq(one(d, k), v, "%s for --user app" % k)


# ---------------------------------------------------------------------------
# /proc, /sys, /dev, mounts
# ---------------------------------------------------------------------------

@test
def proc_kcore_masked(ctx):
    img = load(ctx)
    d = probe(ctx, img, "kcore")
    if os.path.exists("/proc/kcore"):
        eq(one(d, "kcore_bytes"), "0", "bytes readable from /proc/kcore")
    else:  # this kernel has none; the mask must not invent one with content
        ok(d.get("kcore_bytes", ["0"])[0] == "0", "kcore: %r" % d)


@test
def proc_and_sys_masked_paths(ctx):
    """The paths every runtime masks, those that exist on this host: files
    read empty, directories list empty."""
    files = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/latency_stats",
                         "/proc/timer_stats", "/proc/sched_debug", "/proc/kcore",
                         "/proc/interrupts")
             if os.path.isfile(p)]
    dirs = [p for p in ("/proc/acpi", "/proc/scsi", "/sys/firmware") if os.path.isdir(p)
            and os.listdir(p)]
    if not files and not dirs:
        skip("none of the masked paths exists on this host")
    script = "".join("echo %s=$(cat %s 2>/dev/null | wc -c);" % (p, p) for p in files) + \
        "".join("echo %s=$(ls -A %s 2>/dev/null | wc -l);" % (p, p) for p in dirs)
    img = load(ctx)
    p = run(ctx, img, "sh", "-c", script, MARK, expect=0)
    d = kv(p.stdout)
    bad = ["%s=%s" % (k, d.get(k, ["missing"])[0]) for k in files + dirs
           if d.get(k, ["missing"])[0].strip() != "0"]
    ok(not bad, "masked paths show content: %s" % bad)


@test
def pid1_is_the_command(ctx):
    img = load(ctx)
    d = probe(ctx, img, "pid")
    eq(one(d, "pid"), "1", "pid of the container command")
    eq(one(d, "ppid"), "0", "ppid of the container command")


@test
def no_host_mounts_visible(ctx):
    img = load(ctx)
    d = probe(ctx, img, "mounts")
    mounts = lines_kv(d, "mount")
    ok(mounts, "no mounts reported: %r" % d)
    host_paths = [REPO, "/work", ctx.root, ctx.dir, "/tmp/berth-it", os.getcwd(), "/var/lib/berth"]
    bad = []
    for m in mounts:
        for f in ("mount", "root"):
            v = m.get(f, "")
            if any(v == h or v.startswith(h.rstrip("/") + "/") for h in host_paths if h != "/"):
                bad.append("%s=%s (%s)" % (f, v, m))
        mp = m["mount"]
        if not (mp == "/" or any(mp == q or mp.startswith(q + "/") for q in ("/proc", "/dev", "/sys"))
                or mp in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")):
            bad.append("unexpected mount point %s (%s)" % (mp, m))
    ok(not bad, "host paths visible in the container's mountinfo: %s" % bad)
    roots = [m for m in mounts if m["mount"] == "/"]
    ok(roots, "no / mount")
    eq(roots[-1].get("fstype"), "overlay", "fstype of /")


@test
def mount_flags(ctx):
    """The pseudo filesystems carry Docker's flags (security.md 2)."""
    img = load(ctx)
    m = {x["mount"]: set(x.get("opts", "").split(",")) for x in
         lines_kv(probe(ctx, img, "mounts"), "mount")}
    want = {"/proc": {"nosuid", "nodev", "noexec"}, "/dev": {"nosuid"},
            "/dev/pts": {"nosuid", "noexec"}, "/dev/shm": {"nosuid", "nodev", "noexec"},
            "/dev/mqueue": {"nosuid", "nodev", "noexec"},
            "/sys": {"ro", "nosuid", "nodev", "noexec"}}
    bad = []
    for mp, flags in want.items():
        if mp not in m:
            bad.append("%s not mounted" % mp)
        elif not flags <= m[mp]:
            bad.append("%s lacks %s (has %s)" % (mp, sorted(flags - m[mp]), sorted(m[mp])))
    ok(not bad, "; ".join(bad))


@test
def dev_is_minimal(ctx):
    img = load(ctx)
    d = probe(ctx, img, "dev")
    ents = {r["dev"]: r for r in lines_kv(d, "dev")}
    required = {"null": ("c", "1:3"), "zero": ("c", "1:5"), "full": ("c", "1:7"),
                "random": ("c", "1:8"), "urandom": ("c", "1:9"), "tty": ("c", "5:0"),
                "pts": ("d", None), "shm": ("d", None), "mqueue": ("d", None)}
    links = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
    bad = []
    for n, (t, rdev) in required.items():
        e = ents.get(n)
        if not e:
            bad.append("missing /dev/%s" % n)
        elif e.get("type") != t or (rdev and e.get("rdev") != rdev):
            bad.append("/dev/%s is %s %s, want %s %s" % (n, e.get("type"), e.get("rdev"), t, rdev))
    e = ents.get("ptmx")
    if not e:
        bad.append("missing /dev/ptmx")
    elif not ((e.get("type") == "l" and e.get("target") in ("pts/ptmx", "/dev/pts/ptmx"))
              or (e.get("type") == "c" and e.get("rdev") == "5:2")):
        bad.append("/dev/ptmx is %r" % e)
    for n, target in links.items():
        e = ents.get(n)
        if not e or e.get("type") != "l" or e.get("target") != target:
            bad.append("/dev/%s should be a symlink to %s: %r" % (n, target, e))
    allowed = set(required) | set(links) | {"ptmx", "core"}
    extra = sorted(set(ents) - allowed)
    if extra:
        bad.append("unexpected /dev entries: %s" % ["%s(%s %s)" % (
            x, ents[x].get("type"), ents[x].get("rdev")) for x in extra])
    if "core" in ents and (ents["core"].get("type") != "l"
                           or ents["core"].get("target") != "/proc/kcore"):
        bad.append("/dev/core is %r" % ents["core"])
    ok(not bad, "; ".join(bad))


@test
def proc_sys_and_sysrq_readonly(ctx):
    img = load(ctx)
    d = probe(ctx, img, "ro")
    eq(one(d, "proc_sys"), "EROFS", "opening /proc/sys/kernel/hostname for writing")
    eq(one(d, "proc_sys_rdonly"), "1", "/proc/sys mounted read-only")
    if os.path.exists("/proc/sysrq-trigger"):
        eq(one(d, "sysrq"), "EROFS", "opening /proc/sysrq-trigger for writing")
        eq(one(d, "sysrq_rdonly"), "1", "/proc/sysrq-trigger mounted read-only")
    else:
        ok(one(d, "sysrq") in ("ENOENT", "EROFS"), "sysrq: %r" % d)
    eq(one(d, "proc_rdonly"), "0", "/proc itself stays read-write (control)")


@test
def sys_readonly(ctx):
    img = load(ctx)
    d = probe(ctx, img, "ro")
    eq(one(d, "sys_rdonly"), "1", "/sys mounted read-only")
    if one(d, "sys") != "ENOENT":
        ok(one(d, "sys") in ("EROFS", "EACCES"), "opening %s for writing: %s" % (
            d.get("sys_file"), one(d, "sys")))
    m = lines_kv(probe(ctx, img, "mounts"), "mount")
    bad = [x for x in m if (x["mount"] == "/sys" or x["mount"].startswith("/sys/"))
           and "ro" not in x.get("opts", "").split(",")]
    ok(not bad, "writable mounts below /sys: %s" % bad)
    ok(any(x["mount"] == "/sys" for x in m), "/sys is not mounted")


@test
def no_leaked_fds(ctx):
    """Only 0, 1, 2 reach the container, even when berth itself inherits more
    (CVE-2024-21626)."""
    img = load(ctx)
    leak = os.open(ctx.dir, os.O_RDONLY | os.O_DIRECTORY)  # not O_CLOEXEC: inherited
    leak2 = os.open("/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd",
                    os.O_RDONLY)
    marker = "berth-mark-" + secrets.token_hex(6)
    try:
        os.set_inheritable(leak, True)
        os.set_inheritable(leak2, True)
        p = subprocess.run([BERTH, "--root", ctx.root, "run", "--rm", img, "/probe", "fds",
                            marker], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL, pass_fds=(leak, leak2))
    finally:
        os.close(leak)
        os.close(leak2)
    after_run_checks(ctx, marker)
    eq(p.returncode, 0, "probe fds: %s" % p.stderr)
    fds = {r["fd"]: r.get("target", "") for r in lines_kv(kv(p.stdout), "fd")}
    eq(sorted(fds, key=int), ["0", "1", "2"], "open fds in the container (%r)" % fds)
    bad = [t for t in fds.values() if ctx.dir in t or REPO in t]
    ok(not bad, "container fds point at host paths: %s" % bad)


def _have_cap(bit):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    return False


@test
def rlimit_nofile_65535(ctx):
    """NOFILE is 65535/65535 whatever berth inherits (here a soft limit of
    512).  Without CAP_SYS_RESOURCE (some sandboxes) the hard limit cannot be
    raised, and runtime.h documents min(65535, hard) instead."""
    import resource
    img = load(ctx)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65535 if _have_cap(24) or hard >= 65535 else hard
    marker = "berth-mark-" + secrets.token_hex(6)
    p = subprocess.run([BERTH, "--root", ctx.root, "run", "--rm", img, "/probe", "rlimit", marker],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard)))
    after_run_checks(ctx, marker)
    eq(p.returncode, 0, "probe rlimit: %s" % p.stderr)
    d = kv(p.stdout)
    eq((one(d, "nofile_soft"), one(d, "nofile_hard")), (str(want), str(want)),
       "RLIMIT_NOFILE (berth started with 512/%d%s)" % (
           hard, "" if want == 65535 else ", no CAP_SYS_RESOURCE"))


@test
def hostname_honoured(ctx):
    img = load(ctx)
    before = socket.gethostname()
    hn = "box-" + secrets.token_hex(3)
    d = probe(ctx, img, "hostname", opts=("--hostname", hn))
    eq(one(d, "hostname"), hn, "hostname in the container")
    eq(socket.gethostname(), before, "host's hostname after the run")


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------

def _groups(d):
    g = one(d, "groups")
    return {int(x) for x in g.split(",") if x}


@test
def user_named_from_image(ctx):
    img = load(ctx)
    d = probe(ctx, img, "id", opts=("--user", "app"))
    eq((one(d, "uid"), one(d, "gid"), one(d, "euid"), one(d, "egid")),
       ("1000", "1000", "1000", "1000"), "ids for --user app")
    g = _groups(d)
    ok({10, 29} <= g, "groups %s lack wheel(10) and audio(29) from the image's /etc/group" % g)
    ok(g <= {10, 29, 1000}, "groups %s hold groups app is not a member of" % g)


@test
def user_numeric_uid_gid(ctx):
    img = load(ctx)
    d = probe(ctx, img, "id", opts=("--user", "1234:5678"))
    eq((one(d, "uid"), one(d, "gid")), ("1234", "5678"), "ids for --user 1234:5678")
    g = _groups(d)
    ok(g <= {5678}, "supplementary groups %s leak into a numeric user" % g)


@test
def user_numeric_uid_uses_image_passwd(ctx):
    """--user 1000 is app: primary gid 1000 and app's groups."""
    img = load(ctx)
    d = probe(ctx, img, "id", opts=("--user", "1000"))
    eq((one(d, "uid"), one(d, "gid")), ("1000", "1000"), "ids for --user 1000")
    ok({10, 29} <= _groups(d), "groups for --user 1000: %s" % _groups(d))


@test
def user_root_default_groups_from_image(ctx):
    img = load(ctx)
    d = probe(ctx, img, "id")
    eq((one(d, "uid"), one(d, "gid")), ("0", "0"), "default user")
    g = _groups(d)
    ok(29 in g, "root is in audio(29) in the image's /etc/group, groups are %s" % g)
    ok(g <= {0, 29}, "root's groups %s hold groups the image does not give it" % g)


@test
def user_unknown_fails_125(ctx):
    img = load(ctx)
    name = "nosuch" + secrets.token_hex(3)
    p = run(ctx, img, "/probe", "id", MARK, opts=("--user", name), expect=125)
    one_line_error(p, name)
    eq(_containers(ctx), [], "entries under <root>/containers after a failed run --rm")


@test
def user_from_image_passwd_not_host(ctx):
    """The image maps app to 4242:4343; the host has no such uid.  And a
    user only the host knows is unknown in the container."""
    try:
        pwd.getpwuid(4242)
        skip("the host has a uid 4242")
    except KeyError:
        pass
    over = Layer()
    over.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
              b"app:x:4242:4343:app:/home/app:/bin/sh\n")
    over.file("etc/group", b"root:x:0:\nappgrp:x:4343:\nextra:x:4444:app\n")
    img = load(ctx, "passwd4242", extra_layers=[over])
    d = probe(ctx, img, "id", opts=("--user", "app"))
    eq((one(d, "uid"), one(d, "gid")), ("4242", "4343"), "ids of the image's app user")
    ok(4444 in _groups(d), "groups %s lack the image's extra(4444)" % _groups(d))
    image_users = {"root", "app"}
    host_only = [u.pw_name for u in pwd.getpwall() if u.pw_name not in image_users
                 and u.pw_name not in ("daemon", "nobody")]
    if host_only:
        p = run(ctx, img, "/probe", "id", MARK, opts=("--user", host_only[0]), expect=125)
        one_line_error(p, host_only[0])


# ---------------------------------------------------------------------------
# Working directory, environment, entrypoint
# ---------------------------------------------------------------------------

@test
def workdir_created_and_used(ctx):
    img = load(ctx)
    d = probe(ctx, img, "cwd")
    eq(one(d, "cwd"), "/", "default cwd")
    d = probe(ctx, img, "cwd", opts=("-w", "/newdir/sub"))
    eq(one(d, "cwd"), "/newdir/sub", "cwd with -w /newdir/sub")
    d = probe(ctx, img, "cwd", opts=("--workdir", "/home/app"))
    eq(one(d, "cwd"), "/home/app", "cwd with --workdir /home/app")


@test
def workdir_from_image_config(ctx):
    img = load(ctx, "wd", config={"WorkingDir": "/srv/wd"})
    d = probe(ctx, img, "cwd")
    eq(one(d, "cwd"), "/srv/wd", "cwd from the image's WorkingDir")
    d = probe(ctx, img, "cwd", opts=("-w", "/tmp"))
    eq(one(d, "cwd"), "/tmp", "-w overrides WorkingDir")


@test
def env_from_image_and_cli(ctx):
    img = load(ctx, "env", config={"Env": [PATH_ENV, "FOO=img", "BAR=img-bar"]})
    p = run(ctx, img, "env", opts=("-e", "FOO=cli", "--env", "NEW=1 2"), expect=0)
    env = dict(l.split("=", 1) for l in p.stdout.splitlines() if "=" in l)
    eq(env.get("FOO"), "cli", "FOO (-e overrides the image)")
    eq(env.get("BAR"), "img-bar", "BAR (from the image)")
    eq(env.get("NEW"), "1 2", "NEW (from -e)")
    eq(env.get("PATH"), PATH_ENV.split("=", 1)[1], "PATH (from the image)")
    ok(not any(k.startswith("BERTH") for k in env), "berth's own env leaked: %s" % env)


@test
def env_host_not_leaked(ctx):
    img = load(ctx)
    e = dict(os.environ)
    e["BERTH_IT_SECRET"] = "host-secret"
    p = subprocess.run([BERTH, "--root", ctx.root, "run", "--rm", img, "env"],
                       capture_output=True, text=True, timeout=60, env=e,
                       stdin=subprocess.DEVNULL)
    eq(p.returncode, 0, "env: %s" % p.stderr)
    ok("host-secret" not in p.stdout, "the host's environment leaked: %s" % p.stdout)


@test
def entrypoint_and_cmd(ctx):
    img = load(ctx, "ep", config={"Entrypoint": ["/bin/echo", "ep"], "Cmd": ["default-cmd"]})
    eq(run(ctx, img, expect=0).stdout, "ep default-cmd\n", "Entrypoint + image Cmd")
    eq(run(ctx, img, "a", "b c", expect=0).stdout, "ep a b c\n",
       "Entrypoint + CLI args (replace Cmd)")
    eq(run(ctx, img, "x", opts=("--entrypoint", "/bin/echo"), expect=0).stdout, "x\n",
       "--entrypoint replaces Entrypoint and drops the image Cmd")


@test
def cmd_only_image(ctx):
    img = load(ctx, "cmd", config={"Cmd": ["/bin/echo", "from-cmd"]})
    eq(run(ctx, img, expect=0).stdout, "from-cmd\n", "image Cmd")
    eq(run(ctx, img, "echo", "over", expect=0).stdout, "over\n", "CLI command replaces Cmd")


# ---------------------------------------------------------------------------
# Exit codes, signals, streams
# ---------------------------------------------------------------------------

@test
def exit_code_passthrough(ctx):
    img = load(ctx)
    run(ctx, img, "sh", "-c", "exit 7", MARK, expect=7)
    run(ctx, img, "sh", "-c", "exit 0", MARK, expect=0)


@test
def exit_missing_command_127(ctx):
    img = load(ctx)
    name = "/nonexistent-" + secrets.token_hex(3)
    p = run(ctx, img, name, expect=127)
    ok(name in p.stderr, "stderr does not name the missing command: %r" % p.stderr)
    p = run(ctx, img, "no-such-cmd-in-path", expect=127)
    ok("no-such-cmd-in-path" in p.stderr, "stderr: %r" % p.stderr)
    eq(_containers(ctx), [], "entries under <root>/containers after a failed run --rm")


@test
def exit_not_executable_126(ctx):
    img = load(ctx)
    p = run(ctx, img, "/etc/passwd", expect=126)
    ok("/etc/passwd" in p.stderr, "stderr does not name the command: %r" % p.stderr)
    run(ctx, img, "/etc", expect=126)


def _start_and_find(ctx, img, script, extra=()):
    """Popen `berth run --rm img sh -c script MARKER`; wait until the
    container's sh runs; return (proc, marker, container sh pid)."""
    marker = "berth-mark-" + secrets.token_hex(6)
    proc = subprocess.Popen([BERTH, "--root", ctx.root, "run", "--rm"] + list(extra) +
                            [img, "sh", "-c", script, marker],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        for pid in procs_with(marker):
            if pid != proc.pid and _cmdline(pid).split(" ")[0] in ("sh", "/bin/sh"):
                return proc, marker, pid
        time.sleep(0.05)
    err = proc.stderr.read() if proc.poll() is not None else b""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    raise AssertionError("the container never started (berth exit %r, stderr %r)" % (
        proc.poll(), err))


def _finish(proc, timeout=20):
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("berth run did not exit within %ds" % timeout)
    finally:
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    return rc, out.decode(errors="replace"), err.decode(errors="replace")


@test
def exit_signal_137(ctx):
    """The container's init killed by SIGKILL (from the host: inside its own
    PID namespace init cannot be sent SIGKILL) -> berth exits 128+9."""
    img = load(ctx)
    proc, marker, pid = _start_and_find(ctx, img, "while :; do sleep 0.1; done")
    os.kill(pid, signal.SIGKILL)
    rc, out, err = _finish(proc)
    eq(rc, 137, "exit code of a container killed by SIGKILL (stderr %r)" % err)
    after_run_checks(ctx, marker)


@test
def exit_code_of_killed_child(ctx):
    """A shell reports a child killed by SIGKILL as 137; berth passes it on."""
    img = load(ctx)
    run(ctx, img, "sh", "-c", "sh -c 'kill -9 $$'; exit $?", MARK, expect=137)


@test
def sigterm_forwarded(ctx):
    img = load(ctx)
    proc, marker, pid = _start_and_find(ctx, img, 'trap "exit 42" TERM; while :; do sleep 0.1; done')
    time.sleep(0.3)  # let the shell install its trap
    proc.send_signal(signal.SIGTERM)
    rc, out, err = _finish(proc)
    eq(rc, 42, "exit code after SIGTERM to berth run (stderr %r)" % err)
    after_run_checks(ctx, marker)


@test
def sigint_forwarded(ctx):
    img = load(ctx)
    proc, marker, pid = _start_and_find(ctx, img, 'trap "exit 43" INT; while :; do sleep 0.1; done')
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rc, out, err = _finish(proc)
    eq(rc, 43, "exit code after SIGINT to berth run (stderr %r)" % err)
    after_run_checks(ctx, marker)


@test
def berth_killed_container_dies(ctx):
    """SIGKILL to `berth run` itself: the container must not outlive it."""
    img = load(ctx)
    proc, marker, pid = _start_and_find(ctx, img, "while :; do sleep 0.1; done")
    proc.kill()
    _finish(proc)
    after_run_checks(ctx, marker)


@test
def stdout_stderr_separated(ctx):
    img = load(ctx)
    t = secrets.token_hex(4)
    p = run(ctx, img, "sh", "-c", "echo out-%s; echo err-%s >&2; echo out2-%s" % (t, t, t),
            MARK, expect=0)
    eq(p.stdout, "out-%s\nout2-%s\n" % (t, t), "stdout")
    eq(p.stderr.strip(), "err-%s" % t, "stderr")


@test
def stdout_large_stream(ctx):
    img = load(ctx)
    p = run(ctx, img, "sh", "-c", "yes berth-line | head -n 200000; echo done >&2", MARK,
            expect=0)
    lines = p.stdout.split("\n")
    eq(lines[-1], "", "output ends with a newline")
    eq(len(lines) - 1, 200000, "line count")
    ok(all(l == "berth-line" for l in lines[:-1]), "corrupted lines in the stream")
    eq(p.stderr.strip(), "done", "stderr")


@test
def orphan_processes_killed(ctx):
    """A background process outlives the command inside: it must die with the
    container (PID namespace) rather than linger on the host."""
    img = load(ctx)
    marker = "berth-mark-" + secrets.token_hex(6)
    p = ctx.berth("run", "--rm", img, "sh", "-c",
                  "sh -c 'while :; do sleep 1; done' %s-child & sleep 0.2; exit 3" % marker,
                  marker, timeout=60)
    eq(p.returncode, 3, "exit code (stderr %r)" % p.stderr)
    after_run_checks(ctx, marker)


# ---------------------------------------------------------------------------
# Container lifecycle, rootfs
# ---------------------------------------------------------------------------

def _containers(ctx):
    """Entries under <root>/containers, less a regular file named lock (the
    store's flock(2) file, like images/lock)."""
    d = os.path.join(ctx.root, "containers")
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d)
                  if not (n == "lock" and os.path.isfile(os.path.join(d, n))))


@test
def rm_flag_leaves_nothing(ctx):
    img = load(ctx)
    run(ctx, img, "sh", "-c", "echo hi > /written; exit 0", MARK, expect=0)
    eq(_containers(ctx), [], "entries under <root>/containers after run --rm")
    p = ctx.berth("ps", "-a", check=True)
    ok("/written" not in p.stdout and len([l for l in p.stdout.splitlines() if l.strip()]) <= 1,
       "ps -a lists something after run --rm: %r" % p.stdout)


@test
def ps_lists_exited_and_rm_removes(ctx):
    img = load(ctx)
    name = "c-" + secrets.token_hex(4)
    run(ctx, img, "sh", "-c", "exit 37", MARK, opts=("--name", name), rm=False, expect=37)
    ids = _containers(ctx)
    eq(len(ids), 1, "container dirs after a run without --rm: %s" % ids)
    cid = ids[0]
    p = ctx.berth("ps", "-a", check=True)
    lines = [l for l in p.stdout.splitlines() if name in l]
    eq(len(lines), 1, "ps -a lines naming %s in %r" % (name, p.stdout))
    ok("xited" in lines[0] and "37" in lines[0],
       "ps -a line does not say exited with code 37: %r" % lines[0])
    p = ctx.berth("ps", check=True)
    ok(name not in p.stdout, "plain ps lists an exited container: %r" % p.stdout)
    ctx.berth("rm", cid, check=True)
    eq(_containers(ctx), [], "container dirs after rm")
    p = ctx.berth("ps", "-a", check=True)
    ok(name not in p.stdout, "ps -a still lists the removed container: %r" % p.stdout)
    p = ctx.berth("rm", cid)
    one_line_error(p, cid[:12])


@test
def read_only_rootfs(ctx):
    img = load(ctx)
    d = probe(ctx, img, "write", "/x", opts=("--read-only",))
    eq(one(d, "write"), "EROFS", "writing /x with --read-only")
    d = probe(ctx, img, "write", "/dev/shm/x", opts=("--read-only",))
    eq(one(d, "write"), "OK", "writing /dev/shm with --read-only")
    d = probe(ctx, img, "write", "/x")
    eq(one(d, "write"), "OK", "writing /x without --read-only (control)")


@test
def container_writes_stay_in_container(ctx):
    img = load(ctx)
    t = secrets.token_hex(4)
    run(ctx, img, "/probe", "write", "/etc/new-" + t, MARK, rm=False, expect=0)
    layers = os.path.join(ctx.root, "images", "layers")
    for dp, dns, fns in os.walk(layers):
        ok("new-" + t not in fns, "a container write landed in the shared layer %s" % dp)
    run(ctx, img, "sh", "-c", "test ! -e /etc/new-" + t, MARK, expect=0)


@test
def run_unknown_image_125(ctx):
    name = "nosuchimage-" + secrets.token_hex(3)
    p = ctx.berth("run", "--rm", name, "true")
    eq(p.returncode, 125, "exit code for an unknown image")
    one_line_error(p, name)


# ---------------------------------------------------------------------------
# Hostile images at run time (CVE-2026-41579, 2025-31133 patterns): the image
# points /dev, /proc, /etc/passwd or the workdir at host paths.
# ---------------------------------------------------------------------------

class HostDir:
    """/tmp/berth-pwned-<tok>/ with one file; fingerprinted to detect writes."""

    def __init__(self):
        self.tok = secrets.token_hex(5)
        self.path = "/tmp/berth-pwned-" + self.tok
        os.mkdir(self.path, 0o755)
        with open(os.path.join(self.path, "passwd"), "w") as f:
            f.write("app:x:777:777:host:/:/bin/sh\nroot:x:0:0::/:/bin/sh\n")
        os.utime(self.path, (1500000000, 1500000000))
        self.before = self.fingerprint()

    def fingerprint(self):
        st = os.lstat(self.path)
        return (st.st_mode, st.st_mtime_ns, sorted(os.listdir(self.path)))

    def check(self):
        eq(self.fingerprint(), self.before, "host dir %s after the run" % self.path)
        leaked = [l for l in open("/proc/self/mountinfo") if self.path in l]
        ok(not leaked, "mounts on the host target: %s" % leaked)

    def cleanup(self):
        for mp in [l.split()[4] for l in open("/proc/self/mountinfo") if self.path in l]:
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)


def _hostile_image(ctx, key, layer):
    path = os.path.join(ctx.dir, "img-" + key)
    name = "hostile-%s:latest" % key
    img = Image([base_layer(), layer], config={"Cmd": ["/bin/sh"], "Env": [PATH_ENV]},
                name=name)
    write_oci_layout(path, [img])
    ctx.berth("image", "load", path, check=True)
    return name


def _clean_failure_or_ok(p):
    if os.environ.get("BERTH_TEST_VERBOSE"):
        print("# exit %d, stdout %r, stderr %r" % (p.returncode, p.stdout[:300], p.stderr[:300]))
    if p.returncode == 125:
        one_line_error(p)


@test
def image_dev_symlink_to_host(ctx):
    """/dev in the image is a symlink to a host dir: /dev setup must not
    populate or mount over the host dir."""
    hd = HostDir()
    try:
        img = _hostile_image(ctx, "devlink", Layer().symlink("dev", hd.path))
        p = run(ctx, img, "/probe", "dev", MARK)
        _clean_failure_or_ok(p)
        hd.check()
    finally:
        hd.cleanup()


@test
def image_dev_null_symlink_to_host(ctx):
    """/dev/null in the image is a symlink to a host file (CVE-2025-31133):
    masking must still hide /proc/kcore-like paths and leave the host alone."""
    hd = HostDir()
    try:
        lay = Layer().dir("dev").symlink("dev/null", os.path.join(hd.path, "passwd"))
        img = _hostile_image(ctx, "devnull", lay)
        p = run(ctx, img, "sh", "-c", "cat /proc/keys | wc -c; echo x > /dev/null", MARK)
        _clean_failure_or_ok(p)
        if p.returncode == 0:
            eq(p.stdout.split()[0], "0", "/proc/keys content with a hostile /dev/null")
        hd.check()
        with open(os.path.join(hd.path, "passwd")) as f:
            ok(f.read().startswith("app:x:777"), "host file written through /dev/null")
    finally:
        hd.cleanup()


@test
def image_proc_symlink_to_host(ctx):
    """/proc in the image is a symlink to a host dir: refuse or mount inside,
    never on the host path."""
    hd = HostDir()
    try:
        img = _hostile_image(ctx, "proclink", Layer().symlink("proc", hd.path))
        p = run(ctx, img, "/probe", "pid", MARK)
        _clean_failure_or_ok(p)
        hd.check()
    finally:
        hd.cleanup()


@test
def image_etc_passwd_symlink_to_host(ctx):
    """The image's /etc/passwd is a symlink to a host file mapping app to 777:
    user resolution is confined to the rootfs, so app is not 777."""
    hd = HostDir()
    try:
        lay = Layer().dir("etc").symlink("etc/passwd", os.path.join(hd.path, "passwd"))
        img = _hostile_image(ctx, "pwlink", lay)
        p = run(ctx, img, "/probe", "id", MARK, opts=("--user", "app"))
        if p.returncode == 0:
            ok("uid=777" not in p.stdout, "user resolved through a host file: %s" % p.stdout)
        else:
            eq(p.returncode, 125, "exit code for an unresolvable user")
            one_line_error(p, "app")
        hd.check()
    finally:
        hd.cleanup()


@test
def workdir_symlink_to_host(ctx):
    """-w through an image symlink to a host dir creates the dir inside."""
    hd = HostDir()
    try:
        img = _hostile_image(ctx, "wdlink", Layer().symlink("wd", hd.path))
        p = run(ctx, img, "/probe", "cwd", MARK, opts=("-w", "/wd/new-" + hd.tok))
        _clean_failure_or_ok(p)
        hd.check()
        p = run(ctx, img, "/probe", "cwd", MARK,
                opts=("-w", "/../../../../../.." + hd.path + "/dotdot-" + hd.tok))
        _clean_failure_or_ok(p)
        hd.check()
    finally:
        hd.cleanup()


if __name__ == "__main__":
    run_all()
