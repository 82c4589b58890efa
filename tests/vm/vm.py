#!/usr/bin/python3
"""berth's test VM: boots Debian's kernel under qemu with cgroup v2 unified and
the host's / as a read-only overlay root, runs a job inside, reports back.

    vm.py check                  exit 0 if qemu and the kernel are there, else one line
    vm.py initramfs              build (or reuse) the initramfs, print its path
    vm.py run CMD...             run CMD (bash) in the repo dir in the guest; its
                                 output streams back, its exit status is ours
    vm.py shell                  interactive bash in the guest on this terminal
    vm.py test [--out DIR] [--quiet] [SPEC...]
                                 run integration test files in one boot; SPEC is
                                 test_x.py or test_x.py:test_name (default: all)

Environment: BERTH_VM_TIMEOUT (seconds for the whole boot; default 3600 for
`test`, 900 for `run`), BERTH_VM_FILE_TIMEOUT (per test file, default 1800),
BERTH_VM_MEM (8G), BERTH_VM_SMP (2), BERTH_VM_VERBOSE=1 (echo the guest
console), BERTH_VM_KEEP=1 (keep the run directory), BERTH_VM_KVM=0 (no KVM),
BERTH_VM_APPEND (extra kernel parameters), BERTH_VM_QEMU_ARGS (extra qemu
arguments), BERTH_VM_MACHINE (q35), BERTH_VM_DIR (build/vm).  Every other
BERTH_* variable (BERTH_TEST, BERTH_TEST_VERBOSE, ...) is passed to the guest.
Exit status 125 means the guest crashed, hung or never reported.
See tests/vm/README.md.
"""
import gzip
import hashlib
import lzma
import os
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VMDIR = os.environ.get("BERTH_VM_DIR") or os.path.join(REPO, "build", "vm")
KDIR = os.path.join(VMDIR, "kernel")
GUEST_RESULTS = "/run/vm/results"
HARNESS_FAIL = 125

# Loaded by the initramfs, dependencies first (resolved from modules.dep).
BOOT_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]
# For networking tests; anything else autoloads from the full module tree,
# which the guest bind-mounts at /lib/modules/<kver>.
NET_MODULES = ["veth", "bridge", "br_netfilter", "tun",
               "nf_conntrack", "nf_nat", "nf_tables", "nft_ct", "nft_nat",
               "nft_masq", "nft_redir", "nft_chain_nat", "nft_fib_inet",
               "nft_reject_inet", "nft_limit"]
INITRAMFS_FORMAT = "2"  # bump when the layout below changes
BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "mount", "umount", "mkdir", "insmod", "switch_root", "cat",
           "echo", "sleep", "grep", "tr", "ls", "poweroff", "reboot"]


def die(msg, code=HARNESS_FAIL):
    print("berth-vm: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(code)


def env_int(name, default):
    v = os.environ.get(name, "")
    try:
        return int(v) if v else default
    except ValueError:
        die("%s=%r is not a number of seconds" % (name, v), 2)


# ---------------------------------------------------------------- prerequisites

def kernel():
    """(vmlinuz path, kernel release) of the unpacked guest kernel, or None."""
    boot = os.path.join(KDIR, "boot")
    mods = os.path.join(KDIR, "lib", "modules")
    try:
        vml = sorted(f for f in os.listdir(boot) if f.startswith("vmlinuz-"))
        kver = sorted(os.listdir(mods))
    except OSError:
        return None
    if not vml or not kver or not os.path.exists(os.path.join(mods, kver[-1], "modules.dep")):
        return None
    return os.path.join(boot, vml[-1]), kver[-1]


def boot_image(vmlinuz, kver):
    """The kernel image qemu boots: the ELF vmlinux unpacked from the
    (xz-compressed) bzImage when it carries a PVH entry note, cached in
    build/vm/ -- qemu then enters it directly, skipping the firmware's real-mode
    path and the in-guest decompression (about 3 s under TCG).  Falls back to
    the bzImage."""
    out = os.path.join(VMDIR, "vmlinux-%s" % kver)
    st = os.stat(vmlinuz)
    stamp = "%d %d" % (st.st_size, st.st_mtime)
    try:
        with open(out + ".stamp") as f:
            if f.read() == stamp:
                return out if os.path.getsize(out) else vmlinuz
    except OSError:
        pass
    with open(vmlinuz, "rb") as f:
        data = f.read()
    elf = b""
    i = data.find(b"\xfd7zXZ\x00")
    if i >= 0:
        try:
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[i:])
        except lzma.LZMAError:
            elf = b""
    # PVH entry: an ELF note of type XEN_ELFNOTE_PHYS32_ENTRY (18) named "Xen".
    if not (elf.startswith(b"\x7fELF") and _has_pvh_note(elf)):
        elf = b""
    tmp = "%s.tmp.%d" % (out, os.getpid())
    with open(tmp, "wb") as f:
        f.write(elf)
    os.rename(tmp, out)
    with open(out + ".stamp", "w") as f:
        f.write(stamp)
    return out if elf else vmlinuz


def _has_pvh_note(elf):
    """True if the ELF image has a Xen PHYS32_ENTRY note (PT_NOTE segments)."""
    try:
        phoff, = struct.unpack_from("<Q", elf, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
        for k in range(phnum):
            ptype, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + k * phentsize)
            if ptype != 4:  # PT_NOTE
                continue
            pos, end = off, off + filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
                name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
                if name == b"Xen" and ntype == 18:
                    return True
                pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    except struct.error:
        pass
    return False


def check():
    """None if the VM can run, else the one line saying why not."""
    missing = []
    if not shutil.which("qemu-system-x86_64"):
        missing.append("qemu-system-x86_64")
    if kernel() is None:
        rel = os.path.relpath(KDIR, REPO)
        missing.append("the guest kernel (%s)" % (KDIR if rel.startswith("..") else rel))
    if not os.access(BUSYBOX, os.X_OK):
        missing.append("busybox-static")
    if missing:
        return "VM test harness: %s missing: run `make deps` (as root) first" % " and ".join(missing)
    return None


# ---------------------------------------------------------------- initramfs

class Cpio:
    """A newc cpio archive, built in memory, every entry owned by root."""

    def __init__(self):
        self.buf = bytearray()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.buf += hdr.encode() + name_b
        self.buf += b"\0" * (-len(self.buf) % 4)
        self.buf += data
        self.buf += b"\0" * (-len(self.buf) % 4)

    def dir(self, name, mode=0o755):
        self._entry(name, stat.S_IFDIR | mode)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, mode=0o600):
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        self.buf += b"\0" * (-len(self.buf) % 512)
        return bytes(self.buf)


def module_index(moddir):
    """name -> (relative path, [dependency paths]) from modules.dep, and the
    softdep 'pre:' lists and aliases needed to honour them."""
    mods = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path, _, deps = line.partition(":")
            name = os.path.basename(path).split(".ko")[0].replace("-", "_")
            mods[name] = (path, deps.split())
    soft = {}
    try:
        with open(os.path.join(moddir, "modules.softdep")) as f:
            for line in f:
                w = line.split()
                if len(w) >= 4 and w[0] == "softdep" and w[2] == "pre:":
                    soft[w[1].replace("-", "_")] = w[3:]
    except OSError:
        pass
    aliases = {}
    with open(os.path.join(moddir, "modules.alias")) as f:
        for line in f:
            w = line.split()
            if len(w) == 3 and w[0] == "alias":
                aliases.setdefault(w[1], []).append(w[2].replace("-", "_"))
    return mods, soft, aliases


def module_order(moddir, wanted):
    """Relative paths of wanted modules and everything they need, in load order."""
    mods, soft, aliases = module_index(moddir)
    by_path = {p: n for n, (p, _) in mods.items()}
    order, seen = [], set()

    def resolve(name):
        name = name.replace("-", "_")
        if name in mods:
            return name
        cands = aliases.get(name, [])
        generic = [c for c in cands if c.endswith("_generic")]
        return (generic or cands or [None])[0]

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        for s in soft.get(name, []):
            r = resolve(s)
            if r:
                visit(r)
        path, deps = mods[name]
        for d in reversed(deps):  # modules.dep lists the deepest last
            visit(by_path[d])
        order.append(path)

    for w in wanted:
        r = resolve(w)
        if r is None:
            die("kernel module %s not found in %s" % (w, moddir))
        visit(r)
    return order


def read_module(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return data


def initramfs():
    """Path of the initramfs for the current inputs, built if not cached."""
    _, kver = kernel()
    moddir = os.path.join(KDIR, "lib", "modules", kver)
    h = hashlib.sha256()
    h.update(INITRAMFS_FORMAT.encode())
    h.update(" ".join(BOOT_MODULES + ["|"] + NET_MODULES + ["|"] + APPLETS).encode())
    for p in (os.path.join(HERE, "init"), BUSYBOX, os.path.join(moddir, "modules.dep"),
              os.path.join(KDIR, ".pkg")):
        with open(p, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    out = os.path.join(VMDIR, "initramfs-%s.cpio.gz" % h.hexdigest()[:16])
    if os.path.exists(out):
        return out

    order = module_order(moddir, BOOT_MODULES + NET_MODULES)
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    with open(BUSYBOX, "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    for a in APPLETS:
        c.symlink("bin/" + a, "busybox")
    with open(os.path.join(HERE, "init"), "rb") as f:
        c.file("init", f.read(), 0o755)
    dirs, load = set(), []
    for rel in order:
        name = rel.split(".ko")[0] + ".ko"  # stored decompressed
        parts = name.split("/")
        for i in range(1, len(parts)):
            d = "lib/modules/" + "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                c.dir(d)
        c.file("lib/modules/" + name, read_module(os.path.join(moddir, rel)))
        load.append(name)
    c.file("modules.load", ("\n".join(load) + "\n").encode())
    data = gzip.compress(c.finish(), compresslevel=6, mtime=0)
    os.makedirs(VMDIR, exist_ok=True)
    tmp = "%s.tmp.%d" % (out, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, out)
    # Older images are stale now (but may be about to boot elsewhere: keep
    # the recent ones).
    for f in os.listdir(VMDIR):
        p = os.path.join(VMDIR, f)
        if f.startswith("initramfs-") and f.endswith(".cpio.gz") and p != out:
            try:
                if time.time() - os.path.getmtime(p) > 600:
                    os.unlink(p)
            except OSError:
                pass
    return out


# ---------------------------------------------------------------- one boot

class Run:
    """One guest boot with its results directory (shared writable with the guest)."""

    def __init__(self, job, mode="batch", timeout=900):
        err = check()
        if err:
            die(err, 2)
        self.initrd = initramfs()
        self.vmlinuz, self.kver = kernel()
        self.image = boot_image(self.vmlinuz, self.kver)
        runs = os.path.join(VMDIR, "runs")
        os.makedirs(runs, exist_ok=True)
        self._prune(runs)
        self.dir = os.path.join(runs, "%s-%d" % (time.strftime("%Y%m%d-%H%M%S"), os.getpid()))
        os.makedirs(self.dir)
        self.mode, self.timeout = mode, timeout
        self.console = os.path.join(self.dir, "console.log")
        self.qemu_log = os.path.join(self.dir, "qemu.log")
        with open(os.path.join(self.dir, "job.sh"), "w") as f:
            f.write(job)
        with open(os.path.join(self.dir, "mode"), "w") as f:
            f.write(mode + "\n")
        self.proc = None
        self.boot_s = None

    @staticmethod
    def _prune(runs):
        """Drop run directories left by earlier runs whose owner is gone."""
        now = time.time()
        for d in os.listdir(runs):
            p = os.path.join(runs, d)
            try:
                pid = int(d.rsplit("-", 1)[1])
                alive = os.path.exists("/proc/%d" % pid)
            except (IndexError, ValueError):
                alive = False
            if not alive and now - os.path.getmtime(p) > 24 * 3600:
                shutil.rmtree(p, ignore_errors=True)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def qemu_argv(self):
        kvm = os.access("/dev/kvm", os.R_OK | os.W_OK) and os.environ.get("BERTH_VM_KVM") != "0"
        guest_init = os.path.join(HERE, "guest-init.sh")
        append = " ".join([
            "console=ttyS0", "quiet", "loglevel=4", "panic=-1", "oops=panic",
            "systemd.unified_cgroup_hierarchy=1", "cgroup_no_v1=all",
            "8250.nr_uarts=1", "i8042.noaux", "i8042.nokbd", "i8042.nopnp",
            "tsc=reliable", "no_timer_check", "random.trust_cpu=on",
            "mitigations=off", "nokaslr",
            "rdinit=/init", "berthvm_init=" + guest_init,
            "berthvm_modules=" + os.path.join(KDIR, "lib", "modules", self.kver),
        ] + os.environ.get("BERTH_VM_APPEND", "").split())
        argv = ["qemu-system-x86_64",
                "-machine", "%s,accel=%s" % (os.environ.get("BERTH_VM_MACHINE", "q35"), "kvm" if kvm else "tcg"),
                "-cpu", "host" if kvm else "max",
                "-smp", os.environ.get("BERTH_VM_SMP", "2"),
                "-m", os.environ.get("BERTH_VM_MEM", "8G"),
                "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                "-kernel", self.image, "-initrd", self.initrd, "-append", append,
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
                "-virtfs", "local,path=%s,mount_tag=results,security_model=none" % self.dir,
                ] + os.environ.get("BERTH_VM_QEMU_ARGS", "").split()
        if self.mode == "shell":
            argv += ["-chardev", "stdio,id=con,mux=on,signal=off",
                     "-serial", "chardev:con", "-mon", "chardev=con,mode=readline"]
        else:
            argv += ["-chardev", "file,id=con,path=%s" % self.console, "-serial", "chardev:con",
                     "-monitor", "none"]
        return argv

    def console_tail(self, n=40):
        try:
            with open(self.console, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            lines = []
        try:
            with open(self.qemu_log, "rb") as f:
                q = [l for l in f.read().decode("utf-8", "replace").splitlines()
                     if "TCG doesn't support requested feature" not in l]
        except OSError:
            q = []
        out = ["--- guest console (last %d lines) ---" % n] + lines[-n:]
        if q:
            out += ["--- qemu ---"] + q[-10:]
        return "\n".join(out + ["---"])

    def kill(self):
        """Stop our qemu (by PID): SIGTERM, then SIGKILL."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def boot(self, poll=None):
        """Run the guest to the end.  poll(run) is called every 0.2 s while it
        runs.  Returns the job's exit status, or None if the guest crashed,
        hung or never reported (message and console tail already printed)."""
        t0 = time.monotonic()
        started = self.path("started")
        interactive = self.mode == "shell"
        qlog = open(self.qemu_log, "wb")
        old = {}

        def on_signal(sig, frame):
            self.kill()
            raise KeyboardInterrupt
        if not interactive:
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                old[s] = signal.signal(s, on_signal)
        try:
            self.proc = subprocess.Popen(
                self.qemu_argv(), stdin=None if interactive else subprocess.DEVNULL,
                stdout=None if interactive else qlog, stderr=qlog)
            verbose = os.environ.get("BERTH_VM_VERBOSE") == "1" and not interactive
            con_pos = 0
            deadline = t0 + self.timeout if self.timeout else None
            while True:
                try:
                    self.proc.wait(0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if self.boot_s is None and os.path.exists(started):
                    self.boot_s = time.monotonic() - t0
                    if not interactive:
                        print("berth-vm: guest up in %.1fs (kernel %s, %s)" % (
                            self.boot_s, self.kver, "KVM" if "accel=kvm" in " ".join(self.proc.args) else "TCG"),
                            file=sys.stderr, flush=True)
                if verbose:
                    con_pos = _copy_from(self.console, con_pos, sys.stderr)
                if poll:
                    poll(self)
                if deadline and time.monotonic() > deadline:
                    self.kill()
                    print("berth-vm: guest timed out after %ds (BERTH_VM_TIMEOUT); killed qemu pid %d"
                          % (self.timeout, self.proc.pid), file=sys.stderr)
                    print(self.console_tail(), file=sys.stderr, flush=True)
                    return None
            if poll:
                poll(self)
        except KeyboardInterrupt:
            self.kill()
            print("berth-vm: interrupted; killed qemu", file=sys.stderr)
            raise
        except BaseException:
            self.kill()  # never leave our qemu behind
            raise
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            qlog.close()
            if interactive:
                subprocess.run(["stty", "sane"], stderr=subprocess.DEVNULL)
        try:
            with open(self.path("status")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            how = " (qemu exit %d)" % self.proc.returncode if self.proc.returncode else ""
            print("berth-vm: the guest stopped without reporting a result%s: kernel panic, crash "
                  "or boot failure" % how, file=sys.stderr)
            print(self.console_tail(), file=sys.stderr, flush=True)
            return None

    def cleanup(self, ok):
        if ok and os.environ.get("BERTH_VM_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("berth-vm: run directory kept: %s" % os.path.relpath(self.dir), file=sys.stderr)


def _copy_from(path, pos, out):
    """Copy what was appended to path since pos to out; return the new pos."""
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            data = f.read()
    except OSError:
        return pos
    if data:
        out.buffer.write(data) if hasattr(out, "buffer") else out.write(data.decode())
        out.flush()
    return pos + len(data)


def job_script(body):
    """job.sh: the environment the host wants forwarded, cd to the repo, body."""
    lines = ["# written by tests/vm/vm.py"]
    for k, v in sorted(os.environ.items()):
        if k.startswith("BERTH_") and not k.startswith("BERTH_VM_") and k != "BERTH_TEST_HOST":
            lines.append("export %s=%s" % (k, shlex.quote(v)))
    lines.append("cd %s || exit 125" % shlex.quote(REPO))
    lines.append(body)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- commands

def cmd_run(args):
    if not args:
        die("usage: vm.py run CMD...", 2)
    body = " ".join(args) if len(args) > 1 else args[0]
    r = Run(job_script(body), timeout=env_int("BERTH_VM_TIMEOUT", 900))
    pos = {"stdout": 0, "stderr": 0}

    def poll(run):
        pos["stdout"] = _copy_from(run.path("stdout"), pos["stdout"], sys.stdout)
        pos["stderr"] = _copy_from(run.path("stderr"), pos["stderr"], sys.stderr)
    rc = r.boot(poll)
    r.cleanup(rc is not None)
    return HARNESS_FAIL if rc is None else rc


def cmd_shell(args):
    rows, cols = shutil.get_terminal_size((80, 24)).lines, shutil.get_terminal_size((80, 24)).columns
    body = "\n".join([
        "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc",
        "stty rows %d cols %d 2>/dev/null" % (rows, cols),
        "export TERM=%s" % shlex.quote(os.environ.get("TERM", "linux")),
        "PS1='berth-vm:\\w\\$ '",
        "echo 'berth-vm: cgroup v2 controllers: '$(cat /sys/fs/cgroup/cgroup.controllers)",
        "echo 'berth-vm: exit the shell to power off (Ctrl-A x kills qemu)'",
    ])
    print("berth-vm: booting (Ctrl-A x kills qemu) ...", file=sys.stderr, flush=True)
    r = Run(job_script(body), mode="shell", timeout=0)
    rc = r.boot()
    r.cleanup(rc is not None)
    return HARNESS_FAIL if rc is None else rc


def tap_counts(text):
    p = f = s = 0
    for line in text.splitlines():
        if line.startswith("not ok "):
            f += 1
        elif line.startswith("ok "):
            if "# SKIP" in line or "#SKIP" in line:
                s += 1
            else:
                p += 1
    return p, f, s


def cmd_test(args):
    out, quiet, specs = None, False, []
    it = iter(args)
    for a in it:
        if a == "--out":
            out = next(it, None)
        elif a == "--quiet":
            quiet = True
        elif a:
            specs.extend(a.split())
    itdir = os.path.join(REPO, "tests", "integration")
    if not specs:
        specs = sorted(f for f in os.listdir(itdir) if f.startswith("test_") and f.endswith(".py"))
    files = []  # (spec as the guest takes it, result name)
    for s in specs:
        f, _, name = s.partition(":")
        f = os.path.basename(f)
        if not f.endswith(".py"):
            f += ".py"
        if not os.path.isfile(os.path.join(itdir, f)):
            die("no such integration test file: tests/integration/%s" % f, 2)
        files.append((f + (":" + name if name else ""), f[:-3] + ("." + name if name else "")))
    per_file = env_int("BERTH_VM_FILE_TIMEOUT", 1800)
    body = "exec bash tests/vm/guest-suite.sh %s/tap %d %s" % (
        GUEST_RESULTS, per_file, " ".join(shlex.quote(s) for s, _ in files))
    r = Run(job_script(body), timeout=env_int("BERTH_VM_TIMEOUT", 3600))
    tapdir = r.path("tap")
    reported = set()
    totals = [0, 0, 0]

    def poll(run):
        for spec, n in files:
            if n in reported or not os.path.exists(os.path.join(tapdir, n + ".rc")):
                continue
            with open(os.path.join(tapdir, n + ".rc")) as f:
                words = f.read().split()
            if not words:
                continue  # not written yet
            rc, secs = (words + ["?"])[:2]
            reported.add(n)
            with open(os.path.join(tapdir, n + ".tap"), errors="replace") as f:
                tap = f.read()
            p, fl, s = tap_counts(tap)
            if int(rc) != 0 and fl == 0:
                fl = 1
            if ":" in spec and p + fl + s == 0:  # BERTH_TEST named no test
                line = "not ok 1 - %s # no such test in %s\n" % tuple(spec.split(":", 1)[::-1])
                tap += line
                with open(os.path.join(tapdir, n + ".tap"), "a") as f:
                    f.write(line)
                fl = 1
            for i, v in enumerate((p, fl, s)):
                totals[i] += v
            if not quiet:
                print("== %s (in the VM, %ss, exit %s)" % (spec, secs, rc))
                sys.stdout.write(tap if tap.endswith("\n") or not tap else tap + "\n")
            else:
                print("berth-vm: %s: exit %s, %d ok, %d not ok, %d skipped (%ss)" % (
                    spec, rc, p, fl, s, secs), file=sys.stderr)
            sys.stdout.flush()
            if out:
                os.makedirs(out, exist_ok=True)
                shutil.copy(os.path.join(tapdir, n + ".tap"), os.path.join(out, n + ".tap"))
                with open(os.path.join(out, n + ".rc"), "w") as f:
                    f.write(rc + "\n")
    t0 = time.monotonic()
    rc = r.boot(poll)
    wall = time.monotonic() - t0
    complete = rc == 0 and os.path.exists(os.path.join(tapdir, "done"))
    missing = [n for _, n in files if n not in reported]
    for n in missing:
        part = os.path.join(tapdir, n + ".tap.part")
        print("berth-vm: %s never reported%s" % (
            n, " (it was running: partial TAP follows)" if os.path.exists(part) else ""), file=sys.stderr)
        if os.path.exists(part):
            with open(part, errors="replace") as f:
                sys.stderr.write(f.read()[-4000:])
    if rc not in (None, 0):
        print("berth-vm: the guest suite exited %d" % rc, file=sys.stderr)
        print(r.console_tail(), file=sys.stderr)
        try:
            with open(r.path("stderr"), errors="replace") as f:
                sys.stderr.write(f.read()[-2000:])
        except OSError:
            pass
    if not quiet:
        print("%d passed, %d failed, %d skipped" % tuple(totals))
    print("berth-vm: suite wall time %.1fs (boot %.1fs)" % (
        wall, r.boot_s or 0), file=sys.stderr, flush=True)
    r.cleanup(complete)
    if not complete or missing:
        return HARNESS_FAIL
    return 1 if totals[1] else 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) >= 2 else 2
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check":
        err = check()
        if err:
            print(err, file=sys.stderr)
            return 2
        return 0
    if cmd == "initramfs":
        err = check()
        if err:
            die(err, 2)
        print(os.path.relpath(initramfs()))
        return 0
    if cmd == "run":
        return cmd_run(args)
    if cmd == "shell":
        return cmd_shell(args)
    if cmd == "test":
        return cmd_test(args)
    die("unknown command %r (see vm.py --help)" % cmd, 2)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
