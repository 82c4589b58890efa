#!/usr/bin/env python3
"""CLI behaviour: options, bad input, state records, exit codes."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BERTH, eq, ok, one_line_error, run_all, skip, test  # noqa: E402
import ociimg  # noqa: E402


def load_busybox(t, name="busybox:latest", **kw):
    path = t.path("img")
    ociimg.write_oci_layout(path, [ociimg.busybox_image(name=name, **kw)])
    t.berth("image", "load", path, check=True)


def listing(root):
    out = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(out)


@test
def help_and_version(t):
    p = t.berth("--help", check=True)
    ok("run [OPTIONS] IMAGE" in p.stdout, p.stdout)
    p = t.berth("run", "--help", check=True)
    ok("--entrypoint" in p.stdout, p.stdout)
    p = t.berth("--version", check=True)
    ok(p.stdout.startswith("berth "), p.stdout)


@test
def unknown_command_and_options(t):
    p = t.berth("frobnicate")
    one_line_error(p, "frobnicate")
    eq(p.returncode, 2, "exit code")
    p = t.berth("--bogus", "ps")
    one_line_error(p, "--bogus")
    p = t.berth("run", "--bogus", "busybox")
    one_line_error(p, "--bogus")
    eq(p.returncode, 125, "run's own failure")
    p = t.berth("ps", "--bogus")
    one_line_error(p, "--bogus")
    p = t.berth("run")
    one_line_error(p, "IMAGE")


@test
def root_option_and_env(t):
    p = subprocess.run([BERTH, "--root", "relative/dir", "ps"], capture_output=True, text=True)
    one_line_error(p, "relative/dir")
    env = dict(os.environ, BERTH_ROOT=t.path("envroot"))
    load = t.path("img")
    ociimg.write_oci_layout(load, [ociimg.busybox_image()])
    p = subprocess.run([BERTH, "image", "load", load], capture_output=True, text=True, env=env)
    eq(p.returncode, 0, p.stderr)
    ok(os.path.isdir(t.path("envroot", "images", "layers")), "BERTH_ROOT honoured")
    ok(not os.path.exists(t.root), "--root not created when BERTH_ROOT is used")
    # --root wins over BERTH_ROOT
    p = subprocess.run([BERTH, "--root", t.root, "image", "ls", "-q"], capture_output=True,
                       text=True, env=env)
    eq(p.stdout.strip(), "", "other root is empty")


@test
def bad_max_layer_size(t):
    p = t.berth("--max-layer-size", "lots", "image", "ls")
    one_line_error(p, "lots")


@test
def unknown_image(t):
    p = t.berth("run", "--rm", "nosuchimage:1", "true")
    line = one_line_error(p, "nosuchimage")
    ok("berth image load" in line, "says what to do: %s" % line)
    eq(p.returncode, 125, "exit code")
    eq(listing(os.path.join(t.root, "containers")), [], "no container left")


@test
def run_exit_code_and_output(t):
    load_busybox(t)
    p = t.berth("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    eq(p.returncode, 3, "exit code")
    eq(p.stdout, "out\n", "stdout")
    eq(p.stderr, "err\n", "stderr")


@test
def record_kept_without_rm(t):
    load_busybox(t)
    p = t.berth("run", "--name", "keepme", "busybox", "sh", "-c", "echo data > /kept; exit 4")
    eq(p.returncode, 4, "exit code")
    p = t.berth("ps", "-a", check=True)
    lines = [l for l in p.stdout.splitlines() if "keepme" in l]
    eq(len(lines), 1, "ps -a lists it: %s" % p.stdout)
    ok("exited (4)" in lines[0], lines[0])
    p = t.berth("ps", check=True)
    ok("keepme" not in p.stdout, "ps without -a hides exited")
    ids = t.berth("ps", "-a", "-q", check=True).stdout.split()
    eq(len(ids), 1, "one container")
    cdir = os.path.join(t.root, "containers", ids[0])
    with open(os.path.join(cdir, "upper", "kept")) as f:
        eq(f.read(), "data\n", "upper layer kept")
    # the name is taken until removed
    p = t.berth("run", "--name", "keepme", "busybox", "true")
    one_line_error(p, "keepme")
    t.berth("rm", "keepme", check=True)
    ok(not os.path.exists(cdir), "rm removes the directory")
    p = t.berth("rm", "keepme")
    one_line_error(p, "keepme")


@test
def rm_running_needs_force(t):
    load_busybox(t)
    proc = subprocess.Popen([BERTH, "--root", t.root, "run", "--name", "sleeper", "busybox",
                             "sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            p = t.berth("ps", check=True)
            if "sleeper" in p.stdout:
                break
            time.sleep(0.1)
        ok("running" in p.stdout, p.stdout)
        p = t.berth("rm", "sleeper")
        one_line_error(p, "running")
        t.berth("rm", "-f", "sleeper", check=True)
        rc = proc.wait(timeout=20)
        eq(rc, 137, "killed container's exit code")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    eq(t.berth("ps", "-a", "-q", check=True).stdout.strip(), "", "nothing left")


@test
def image_rm_keeps_layers_of_existing_containers(t):
    load_busybox(t)
    t.berth("run", "busybox", "true", check=True)
    t.berth("image", "rm", "busybox", check=True)
    layers = os.listdir(os.path.join(t.root, "images", "layers"))
    eq(len(layers), 1, "layer still used by the exited container")
    cid = t.berth("ps", "-a", "-q", check=True).stdout.split()[0]
    t.berth("rm", cid, check=True)
    # now nothing uses it: a later image rm/gc collects it
    load_busybox(t, name="other:1")
    t.berth("image", "rm", "other:1", check=True)
    eq(os.listdir(os.path.join(t.root, "images", "layers")), [], "layer collected")


@test
def failed_start_leaves_nothing(t):
    load_busybox(t)
    p = t.berth("run", "--rm", "-u", "nosuchuser", "busybox", "true")
    one_line_error(p, "nosuchuser")
    eq(p.returncode, 125, "exit code")
    p = t.berth("run", "-u", "nosuchuser", "busybox", "true")
    one_line_error(p, "nosuchuser")
    eq(listing(os.path.join(t.root, "containers")), [], "no record, no upper dir")
    p = t.berth("run", "busybox", "/no/such/cmd")
    eq(p.returncode, 127, "not found")
    one_line_error(p, "/no/such/cmd")
    eq(listing(os.path.join(t.root, "containers")), [], "no record after exec failure")


@test
def corrupt_record_is_skipped(t):
    load_busybox(t)
    t.berth("run", "--name", "good", "busybox", "true", check=True)
    bad = os.path.join(t.root, "containers", "0" * 32)
    os.makedirs(bad)
    with open(os.path.join(bad, "state.json"), "w") as f:
        f.write("{half a record")
    p = t.berth("ps", "-a")
    eq(p.returncode, 0, p.stderr)
    ok("good" in p.stdout, p.stdout)
    ok("0" * 32 in p.stderr and "corrupt" in p.stderr, "reported: %r" % p.stderr)


@test
def stdin_only_with_interactive(t):
    load_busybox(t)
    p = t.berth("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo end", input="from stdin\n")
    eq(p.returncode, 0, p.stderr)
    eq(p.stdout, "from stdin\nend\n", "stdin passed with -i")
    p = t.berth("run", "--rm", "busybox", "sh", "-c", "cat; echo end", input="ignored\n")
    eq(p.stdout, "end\n", "without -i the container's stdin is empty")


@test
def terminal_is_relayed_not_shared(t):
    """With berth's stdout on a terminal, the container gets a pipe that
    berth relays: it must never hold the host's tty (TIOCSTI and friends)."""
    if not os.path.exists("/usr/bin/script"):
        skip("util-linux script(1) not installed")
    load_busybox(t)
    probe = ("for fd in 0 1 2; do [ -t $fd ] && echo fd$fd=tty || echo fd$fd=notty; done; "
             "echo to-stderr >&2; exit 5")
    cmd = "%s --root %s run --rm busybox sh -c '%s'" % (BERTH, t.root, probe)
    p = subprocess.run(["/usr/bin/script", "-qec", cmd, "/dev/null"], capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    eq(p.returncode, 5, "exit code through script(1): %r %r" % (p.stdout, p.stderr))
    for fd in (0, 1, 2):
        ok("fd%d=notty" % fd in p.stdout, "container fd %d is no terminal: %r" % (fd, p.stdout))
    ok("to-stderr" in p.stdout, "stderr relayed to the terminal: %r" % p.stdout)


if __name__ == "__main__":
    run_all()
