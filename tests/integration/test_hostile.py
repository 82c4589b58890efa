"""Hostile-layer corpus for `berth image load`.

Every case builds an image with one malicious layer (or a malicious
manifest, index or docker-save archive), loads it, and checks from the
outside that:

  (a) the load fails with exactly one clean `berth: ...` line on stderr that
      names the offending entry or blob (refusal cases), or succeeds with the
      attack confined to the layer directory (confinement cases);
  (b) nothing outside the state root changed: a canary in the scratch dir,
      an absolute canary /tmp/berth-canary-<test>-<tok>, and a host directory
      /tmp/berth-pwned-<tok>/ that attacks try to write through keep their
      content, mode, mtime, inode, link count and xattrs; no file whose name
      carries the test's random token appeared in the scratch dir, /tmp, /etc
      or /;
  (c) after a refusal, <root>/images holds the same refs, layers and blobs as
      before the load and nothing in tmp/.

A few `control_*` cases load legitimate but unusual layers (a "./" root
entry, hardlinks, whiteouts, absolute symlinks) and must succeed, so that an
unpacker refusing everything cannot pass the corpus.

Run: python3 tests/integration/test_hostile.py   (BERTH_TEST=name for one;
BERTH_TEST_VERBOSE=1 prints each refusal line as a TAP comment)
"""
import functools
import gzip
import io
import json
import os
import re
import secrets
import shutil
import stat
import sys
import tarfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import eq, ok, one_line_error, run_all, test  # noqa: E402
from ociimg import (MT_INDEX, MT_LAYER, Image, Layer, sha256,  # noqa: E402
                    write_docker_save, write_oci_layout)

DEEP = "../" * 40  # more than any state root's depth: clamps to "/" on a naive join
# Deep enough to reach / from any extraction dir below a scratch state root,
# short enough that an error message quoting the name keeps the token.
MID = "../" * 12
CANARY_MTIME = 1500000000
OVERLAY_XATTRS = ("trusted.overlay.opaque", "trusted.overlay.redirect",
                  "trusted.overlay.metacopy", "trusted.overlay.origin")


def _xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ()
    out = []
    for n in sorted(names):
        try:
            out.append((n, os.getxattr(path, n, follow_symlinks=False)))
        except OSError:
            out.append((n, None))
    return tuple(out)


def _fingerprint(path):
    """Everything an attack could change about a host path."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    content = None
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            content = f.read()
    elif stat.S_ISDIR(st.st_mode):
        content = tuple(sorted(os.listdir(path)))
    elif stat.S_ISLNK(st.st_mode):
        content = os.readlink(path)
    return {"type": stat.S_IFMT(st.st_mode), "mode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime_ns, "ino": st.st_ino,
            "nlink": st.st_nlink, "content": content, "xattrs": _xattrs(path)}


def _rm(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)


def _walk_all(top):
    """Every path below top (not following symlinks)."""
    for dp, dns, fns in os.walk(top, followlinks=False):
        for n in dns + fns:
            yield os.path.join(dp, n)


def store_state(root):
    imgs = os.path.join(root, "images")

    def ls(sub):
        p = os.path.join(imgs, sub)
        return set(os.listdir(p)) if os.path.isdir(p) else set()

    blobs = set()
    bdir = os.path.join(imgs, "blobs")
    if os.path.isdir(bdir):
        blobs = {os.path.relpath(p, bdir) for p in _walk_all(bdir) if not os.path.isdir(p)}
    return {"refs": ls("refs"), "layers": ls("layers"), "blobs": blobs, "tmp": ls("tmp"),
            "top": ls("")}


class Host:
    """Canaries and attack targets for one test, and the checks (b) and (c)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.tok = secrets.token_hex(5)
        self.pwned = "berth-pwned-" + self.tok
        self.name = "hostile:" + self.tok
        self.indir = ctx.path("in")
        os.makedirs(self.indir)
        self.canary = ctx.path("canary")
        self.abs_canary = "/tmp/berth-canary-%s-%s" % (ctx.name, self.tok)
        self.host_dir = "/tmp/" + self.pwned  # an existing host dir attacks write through
        self.host_keep = os.path.join(self.host_dir, "keep")
        for p, mode in ((self.canary, 0o640), (self.abs_canary, 0o400)):
            with open(p, "wb") as f:
                f.write(b"canary " + self.tok.encode() + b"\n")
            os.chmod(p, mode)
            os.utime(p, (CANARY_MTIME, CANARY_MTIME))
        os.mkdir(self.host_dir, 0o700)
        with open(self.host_keep, "wb") as f:
            f.write(b"keep\n")
        os.utime(self.host_keep, (CANARY_MTIME, CANARY_MTIME))
        os.utime(self.host_dir, (CANARY_MTIME, CANARY_MTIME))
        self.watched = [self.canary, self.abs_canary, self.host_dir, self.host_keep]
        self.mine = {self.abs_canary, self.host_dir}  # token-named paths we created
        self.allowed_layers = set()  # layer dirs a confined attack may write into
        self.benign = None
        self.before = None

    # -- inputs -----------------------------------------------------------
    def image(self, layers, config=None):
        return Image(layers, config=config or {"Cmd": ["/x"]}, name=self.name)

    def oci(self, img, **kw):
        path = os.path.join(self.indir, "layout")
        info = write_oci_layout(path, [img], **kw)
        return path, info

    def docker(self, img, mutate=None):
        path = os.path.join(self.indir, "image.tar")
        write_docker_save(path, [img], mutate=mutate)
        return path

    def host_file(self, suffix, data):
        """A token-named file on the host an attack may try to read."""
        p = "/tmp/%s%s" % (self.pwned, suffix)
        with open(p, "wb") as f:
            f.write(data)
        self.mine.add(p)
        return p

    def preload_benign(self):
        """Load an unrelated image first so the store has content to protect."""
        lay = Layer()
        lay.dir("a").file("a/keep", b"benign\n").file("b", b"benign b\n")
        img = Image([lay], config={"Cmd": ["/x"]}, name="benign:" + self.tok)
        path = os.path.join(self.indir, "benign")
        write_oci_layout(path, [img])
        p = self.ctx.berth("image", "load", path)
        eq(p.returncode, 0, "loading the benign image failed: %s" % p.stderr)
        ldir = os.path.join(self.ctx.root, "images", "layers", sha256(lay.tar()))
        ok(os.path.isdir(ldir), "benign layer not unpacked at %s" % ldir)
        self.benign = (ldir, sorted(os.path.relpath(p, ldir) for p in _walk_all(ldir)))
        return lay

    # -- the load ----------------------------------------------------------
    def load(self, path, *global_args, name=None):
        self.before = {"store": store_state(self.ctx.root),
                       "scratch": set(os.listdir(self.ctx.dir)),
                       "watched": {p: _fingerprint(p) for p in self.watched}}
        args = list(global_args) + ["image", "load"]
        if name:
            args += ["--name", name]
        t0 = time.monotonic()
        p = self.ctx.berth(*args, path, timeout=120)
        self.elapsed = time.monotonic() - t0
        return p

    # -- checks ------------------------------------------------------------
    def check_host(self):
        for path, fp in self.before["watched"].items():
            now = _fingerprint(path)
            if now != fp:
                diff = {k: (fp.get(k) if fp else None, now.get(k) if now else None)
                        for k in set(fp or {}) | set(now or {})
                        if (fp or {}).get(k) != (now or {}).get(k)}
                raise AssertionError("host path %s changed: %r" % (path, diff))
        new = set(os.listdir(self.ctx.dir)) - self.before["scratch"] - {"state"}
        ok(not new, "new files next to the canary in %s: %s" % (self.ctx.dir, sorted(new)))
        for d in ("/tmp", "/etc", "/", os.path.dirname(self.ctx.dir)):
            for n in os.listdir(d):
                p = os.path.join(d, n)
                if self.tok in n and p not in self.mine:
                    raise AssertionError("attack created host path %s" % p)
        refs = os.path.join(self.ctx.root, "images", "refs") + os.sep  # refs carry the image name
        for p in _walk_all(self.ctx.dir):
            if self.tok not in os.path.basename(p) or p.startswith(self.indir + os.sep) \
                    or p.startswith(refs):
                continue
            if any(p.startswith(l + os.sep) for l in self.allowed_layers):
                continue
            raise AssertionError("token-named path %s appeared outside the layer dirs" % p)
        if self.benign:
            ldir, files = self.benign
            now = sorted(os.path.relpath(p, ldir) for p in _walk_all(ldir)) \
                if os.path.isdir(ldir) else None
            eq(now, files, "the previously loaded benign layer %s changed" % ldir)

    def check_store_unchanged(self):
        after = store_state(self.ctx.root)
        b = self.before["store"]
        for k in ("refs", "layers", "blobs"):
            ok(after[k] == b[k], "images/%s changed by a failed load: added %s, removed %s"
               % (k, sorted(after[k] - b[k]), sorted(b[k] - after[k])))
        ok(not after["tmp"], "images/tmp not cleaned after a failed load: %s" % sorted(after["tmp"]))
        extra = after["top"] - {"blobs", "layers", "refs", "tmp", "lock"}
        ok(not extra, "unexpected entries in images/: %s" % sorted(extra))

    def refused(self, p, *needles):
        """(a) one clean error line naming one of needles, (b), (c)."""
        line = one_line_error(p)
        ok(p.returncode != 0, "load succeeded")
        if needles:
            # the input's own path (which holds the test's name) does not count
            bare = line.replace(self.ctx.dir, "<scratch>")
            ok(any(n in bare for n in needles),
               "error %r names none of %r" % (line, needles))
        ok(line.startswith("berth: "), "error line %r does not start with 'berth: '" % line)
        if os.environ.get("BERTH_TEST_VERBOSE"):
            print("# refused: " + line)
        self.check_host()
        self.check_store_unchanged()
        return line

    def loaded(self, p, img):
        """The load succeeded: the contract's message, a ref, a layer dir per
        layer, nothing left in tmp/, host untouched."""
        ok(p.returncode == 0, "load failed (%d): %s" % (p.returncode, p.stderr))
        cfg = "sha256:" + sha256(img.config_json())
        want = "Loaded image %s (%s)" % (img.name, cfg)
        ok(want in p.stdout, "stdout %r lacks %r" % (p.stdout, want))
        for lay in img.layers:
            d = self.layer_dir(lay)
            ok(os.path.isdir(d), "layer dir %s missing after a successful load" % d)
        after = store_state(self.ctx.root)
        ok(after["refs"], "no ref written by a successful load")
        ok(not after["tmp"], "images/tmp not empty after a load: %s" % sorted(after["tmp"]))
        self.check_host()

    def layer_dir(self, lay):
        d = os.path.join(self.ctx.root, "images", "layers", sha256(lay.tar()))
        self.allowed_layers.add(d)
        return d

    def refused_or_confined(self, p, img, needles=(), confined=None):
        """Either outcome is safe; whichever it is must be clean.  On success
        confined(layer_dir) checks where the attack landed."""
        for lay in img.layers:
            self.layer_dir(lay)
        if p.returncode != 0:
            return self.refused(p, *needles)
        if os.environ.get("BERTH_TEST_VERBOSE"):
            print("# confined (load succeeded)")
        self.loaded(p, img)
        if confined:
            confined(self.layer_dir(img.layers[-1]))
        return None

    def find_in_layer(self, ldir, basename, content=None):
        hits = [q for q in _walk_all(ldir) if os.path.basename(q) == basename]
        ok(hits, "%s not found anywhere inside the layer dir %s" % (basename, ldir))
        for q in hits:
            st = os.lstat(q)
            if content is not None and stat.S_ISREG(st.st_mode):
                with open(q, "rb") as f:
                    eq(f.read(), content, "content of %s" % q)
        return hits

    def cleanup(self):
        for p in list(self.mine):
            _rm(p)
        for d in ("/tmp", "/etc", "/"):
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for n in names:
                if self.tok in n:
                    _rm(os.path.join(d, n))


def hostile(fn):
    @functools.wraps(fn)
    def wrapper(ctx):
        h = Host(ctx)
        try:
            fn(ctx, h)
        finally:
            h.cleanup()
    return test(wrapper)


def hex12(digest_or_bytes):
    if isinstance(digest_or_bytes, bytes):
        return sha256(digest_or_bytes)[:12]
    return digest_or_bytes.split(":", 1)[-1][:12]


def blob_needles(lay):
    """An error about a layer's bytes may name its blob digest or diff_id."""
    return (hex12(lay.blob()), hex12(lay.tar()))


# ---------------------------------------------------------------------------
# Controls: legitimate layers that must load.
# ---------------------------------------------------------------------------

@hostile
def control_root_dir_entry_and_hardlink(ctx, h):
    """A "./" root directory entry (GNU tar writes one), a hardlink, an
    absolute symlink and a fifo are all legitimate."""
    lay = Layer()
    lay.dir("./", mode=0o755).dir("etc").file("etc/a-" + h.tok, b"A\n", mode=0o640)
    lay.hardlink("etc/b-" + h.tok, "etc/a-" + h.tok)
    lay.symlink("abs-" + h.tok, h.host_dir)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.loaded(p, img)
    d = h.layer_dir(lay)
    a = os.lstat(os.path.join(d, "etc", "a-" + h.tok))
    b = os.lstat(os.path.join(d, "etc", "b-" + h.tok))
    eq(a.st_ino, b.st_ino, "hardlink b -> a is not the same inode")
    eq(stat.S_IMODE(a.st_mode), 0o640, "mode of etc/a")
    eq(os.readlink(os.path.join(d, "abs-" + h.tok)), h.host_dir, "absolute symlink target")
    ok(stat.S_ISDIR(os.lstat(d).st_mode), "layer root is not a directory")


@hostile
def control_metadata_preserved(ctx, h):
    """setuid bits, numeric owners (uname ignored) and directory mtimes
    (set after the directory's children were written) survive unpacking."""
    lay = Layer()
    lay.dir("d", mode=0o750, uid=1000, gid=1001, mtime=1234567890)
    lay.file("d/suid", b"#!x", mode=0o4755, uid=1000, gid=1001, mtime=1234567000)
    lay.entries[-1][0].uname = "root"  # must be ignored in favour of uid 1000
    lay.file("d/sgid", b"x", mode=0o2711, uid=0, gid=50)
    lay.dir("t", mode=0o1777)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.loaded(p, img)
    d = h.layer_dir(lay)
    st = os.lstat(os.path.join(d, "d"))
    eq((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)),
       (0o750, 1000, 1001, 1234567890), "dir d mode/uid/gid/mtime")
    st = os.lstat(os.path.join(d, "d", "suid"))
    eq((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)),
       (0o4755, 1000, 1001, 1234567000), "setuid file mode/uid/gid/mtime")
    st = os.lstat(os.path.join(d, "d", "sgid"))
    eq((stat.S_IMODE(st.st_mode), st.st_gid), (0o2711, 50), "setgid file")
    eq(stat.S_IMODE(os.lstat(os.path.join(d, "t")).st_mode), 0o1777, "sticky dir mode")


@hostile
def control_symlinked_dir_inside_layer(ctx, h):
    """lib -> usr/lib, then lib/x: a legitimate in-layer symlink is followed
    (the file lands in usr/lib) and the symlink is kept."""
    lay = Layer()
    lay.dir("usr").dir("usr/lib").symlink("lib", "usr/lib").file("lib/x-" + h.tok, b"x")
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.loaded(p, img)
    d = h.layer_dir(lay)
    ok(os.path.islink(os.path.join(d, "lib")), "lib is no longer a symlink")
    ok(os.path.isfile(os.path.join(d, "usr", "lib", "x-" + h.tok)), "lib/x did not land in usr/lib")


@hostile
def hardlink_to_lower_layer_refused(ctx, h):
    """A hardlink whose target lies only in a lower layer is refused cleanly,
    naming the entry and its target.  image-spec layer.md allows this
    ("Extracting a layer with hardlink references to files outside of the
    layer may fail"), and berth must: layers are stored once by diff_id and
    shared between images with different lower layers, so a layer's content
    cannot depend on what lies beneath it.  Nothing of the image is kept."""
    base = Layer().dir("bin").file("bin/tool-" + h.tok, b"tool\n", mode=0o755)
    top = Layer().hardlink("bin/alias-" + h.tok, "bin/tool-" + h.tok)
    img = h.image([base, top])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, "bin/alias-" + h.tok, "bin/tool-" + h.tok)


@hostile
def control_zstd_plain_nested_index(ctx, h):
    """zstd and uncompressed layers behind a nested index load."""
    a = Layer(compression="zstd").file("a-" + h.tok, b"a")
    b = Layer(compression="none").file("b-" + h.tok, b"b")
    img = h.image([a, b])
    path, _ = h.oci(img, nested_index=True)
    p = h.load(path, name=img.name)  # the ref.name annotation sits in the inner index
    h.loaded(p, img)
    ok(os.path.isfile(os.path.join(h.layer_dir(a), "a-" + h.tok)), "zstd layer content")
    ok(os.path.isfile(os.path.join(h.layer_dir(b), "b-" + h.tok)), "plain layer content")


@hostile
def control_whiteouts_two_layers(ctx, h):
    """Legitimate .wh.NAME and opaque markers in an upper layer load, and are
    stored in the overlay form: NAME as a char 0:0 device, opaque dirs with
    trusted.overlay.opaque=y (written by berth itself)."""
    base = Layer()
    base.dir("d").file("d/old", b"x").file("gone-" + h.tok, b"x").dir("o").file("o/hidden", b"x")
    top = Layer()
    top.whiteout("gone-" + h.tok).dir("o").opaque("o").file("o/new", b"n")
    img = h.image([base, top])
    path, _ = h.oci(img)
    p = h.load(path)
    h.loaded(p, img)
    d = h.layer_dir(top)
    st = os.lstat(os.path.join(d, "gone-" + h.tok))
    ok(stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, "whiteout is not a char 0:0 device")
    ok(not os.path.lexists(os.path.join(d, ".wh.gone-" + h.tok)), "whiteout marker kept as a file")
    eq(os.getxattr(os.path.join(d, "o"), "trusted.overlay.opaque"), b"y", "opaque xattr")
    ok(not os.path.lexists(os.path.join(d, "o", ".wh..wh..opq")), "opaque marker kept as a file")
    ok(os.path.exists(os.path.join(h.layer_dir(base), "gone-" + h.tok)),
       "a whiteout deleted the file from the lower layer's own directory")


# ---------------------------------------------------------------------------
# Path traversal in entry names.
# ---------------------------------------------------------------------------

def _refuse_entry(h, name, data=b"PWNED\n", needles=None, kind="file", target=None):
    lay = Layer()
    lay.dir("etc")
    if kind == "file":
        lay.file(name, data)
    elif kind == "dir":
        lay.dir(name)
    elif kind == "symlink":
        lay.symlink(name, target)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    return h.refused(p, *(needles or (name,)))


@hostile
def traversal_depth_1(ctx, h):
    _refuse_entry(h, "../" + h.pwned, needles=(h.pwned,))


@hostile
def traversal_depth_3(ctx, h):
    _refuse_entry(h, "../../../" + h.pwned, needles=(h.pwned,))


@hostile
def traversal_deep_to_scratch_canary(ctx, h):
    """Deep enough to reach / from anywhere, then down to the canary."""
    _refuse_entry(h, DEEP + ctx.dir.lstrip("/") + "/canary", needles=("canary",))


@hostile
def traversal_deep_new_file_in_tmp(ctx, h):
    _refuse_entry(h, DEEP + "tmp/" + h.pwned + "-file", needles=(h.pwned,))


@hostile
def traversal_inner_dotdot(ctx, h):
    """a/../../x: legal-looking prefix, escapes by one."""
    _refuse_entry(h, "etc/../../" + h.pwned, needles=(h.pwned,))


@hostile
def traversal_inner_deep_to_canary(ctx, h):
    _refuse_entry(h, "etc/x/" + DEEP + ctx.dir.lstrip("/") + "/canary", needles=("canary",))


@hostile
def traversal_dir_entry(ctx, h):
    _refuse_entry(h, DEEP + "tmp/" + h.pwned + "-dir", kind="dir", needles=(h.pwned,))


@hostile
def traversal_symlink_entry_name(ctx, h):
    """The symlink itself is placed outside: ../../<x> -> /etc."""
    _refuse_entry(h, DEEP + "tmp/" + h.pwned + "-link", kind="symlink", target="/etc",
                  needles=(h.pwned,))


@hostile
def traversal_name_with_newline(ctx, h):
    """The error must stay one line even when the entry name holds a newline."""
    _refuse_entry(h, "../" + h.pwned + "\nsecond-line", needles=(h.pwned,))


@hostile
def absolute_name_overwrites_canary(ctx, h):
    _refuse_entry(h, h.abs_canary, needles=(os.path.basename(h.abs_canary),))


@hostile
def absolute_name_new_file_in_etc(ctx, h):
    _refuse_entry(h, "/etc/" + h.pwned, needles=(h.pwned,))


@hostile
def name_component_too_long(ctx, h):
    """A 300-byte component cannot be created: a clean error, not a crash."""
    _refuse_entry(h, "etc/" + h.tok + "x" * 300, needles=(h.tok,))


# ---------------------------------------------------------------------------
# Symlink escapes: confinement (the write lands inside the layer).
# ---------------------------------------------------------------------------

def _write_through(h, links, final):
    lay = Layer()
    for name, target in links:
        lay.symlink(name, target)
    data = b"through " + h.tok.encode() + b"\n"
    lay.file(final + "/file-" + h.tok, data)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    ok(p.returncode == 0, "writing through an in-layer symlink must be confined, not refused "
       "(containerd/runc semantics): exit %d, %r" % (p.returncode, p.stderr))
    h.loaded(p, img)
    d = h.layer_dir(lay)
    h.find_in_layer(d, "file-" + h.tok, data)
    eq(os.listdir(h.host_dir), ["keep"], "host dir %s gained files" % h.host_dir)
    for name, target in links:
        ok(os.path.islink(os.path.join(d, name)), "symlink %s was not kept as a symlink" % name)


@hostile
def symlink_escape_relative_write_through(ctx, h):
    _write_through(h, [("evil", DEEP + h.host_dir.lstrip("/"))], "evil")


@hostile
def symlink_escape_absolute_write_through(ctx, h):
    _write_through(h, [("evil", h.host_dir)], "evil")


@hostile
def symlink_chain_write_through(ctx, h):
    _write_through(h, [("c", "../../../../../../../../../../../" + h.host_dir.lstrip("/")),
                       ("b", "c"), ("a", "./b")], "a")


@hostile
def symlink_in_subdir_dotdot_write_through(ctx, h):
    """sub/up -> ../../.. (parent of the root), then sub/up/<host path>/x."""
    lay = Layer()
    lay.dir("sub").symlink("sub/up", "../../../../..")
    data = b"up " + h.tok.encode()
    lay.file("sub/up/" + h.host_dir.lstrip("/") + "/file-" + h.tok, data)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused_or_confined(p, img, needles=("file-" + h.tok, "sub/up"),
                          confined=lambda d: h.find_in_layer(d, "file-" + h.tok, data))


@hostile
def symlink_in_lower_layer_write_through(ctx, h):
    """Layer 1: evil -> host dir.  Layer 2: evil/file.  Layer 2 is unpacked
    on its own; the file must not reach the host through layer 1's link."""
    base = Layer().symlink("evil", h.host_dir)
    top = Layer()
    data = b"lower " + h.tok.encode()
    top.file("evil/file-" + h.tok, data)
    img = h.image([base, top])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused_or_confined(p, img, needles=("evil/file-" + h.tok,),
                          confined=lambda d: h.find_in_layer(d, "file-" + h.tok, data))


@hostile
def symlink_loop_write_through(ctx, h):
    lay = Layer().symlink("a-" + h.tok, "b-" + h.tok).symlink("b-" + h.tok, "a-" + h.tok)
    lay.file("a-%s/file" % h.tok, b"x")
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, "a-" + h.tok)


@hostile
def pax_path_override_traversal(ctx, h):
    """The ustar name is harmless; the pax 'path' record escapes."""
    lay = Layer()
    lay.file("benign", b"PWNED\n", pax={"path": DEEP + "tmp/" + h.pwned + "-pax"})
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, h.pwned)


@hostile
def pax_linkpath_override_hardlink(ctx, h):
    lay = Layer().file("a", b"a")
    lay.hardlink("h-" + h.tok, "a")
    lay.entries[-1][0].pax_headers = {"linkpath": h.abs_canary}
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, "h-" + h.tok, os.path.basename(h.abs_canary))
    eq(os.lstat(h.abs_canary).st_nlink, 1, "absolute canary link count")


@hostile
def gnu_longname_traversal(ctx, h):
    """GNU ././@LongLink name records carry the traversal."""
    lay = Layer(fmt=tarfile.GNU_FORMAT)
    lay.file(DEEP + "tmp/" + h.pwned + "-gnu-" + "y" * 60, b"PWNED\n")
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, h.pwned)


@hostile
def symlink_then_file_same_name(ctx, h):
    """x -> host canary, then a regular file x: unlink and recreate, never
    write through (the canary keeps its content)."""
    lay = Layer()
    x = "x-" + h.tok
    lay.symlink(x, h.abs_canary).file(x, b"PWNED\n")
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)

    def confined(d):
        st = os.lstat(os.path.join(d, x))
        ok(stat.S_ISREG(st.st_mode), "x is not a regular file in the layer")
        with open(os.path.join(d, x), "rb") as f:
            eq(f.read(), b"PWNED\n", "content of x")
    h.refused_or_confined(p, img, needles=(x,), confined=confined)


@hostile
def symlink_dir_then_dir_entry_chmod(ctx, h):
    """d -> host dir (0700), then a directory entry d with mode 0777: the
    'directory over directory: metadata only' rule must lstat, not stat."""
    lay = Layer()
    dn = "d-" + h.tok
    lay.symlink(dn, h.host_dir).dir(dn, mode=0o777, mtime=1234567890)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)

    def confined(d):
        ok(stat.S_ISDIR(os.lstat(os.path.join(d, dn)).st_mode), "d is not a real dir in the layer")
    h.refused_or_confined(p, img, needles=(dn,), confined=confined)


@hostile
def dir_replaced_by_symlink_then_write(ctx, h):
    """Duplicate entries: dir d, then symlink d -> host dir, then d/file."""
    lay = Layer()
    dn = "d-" + h.tok
    lay.dir(dn).file(dn + "/x", b"x").symlink(dn, h.host_dir)
    data = b"dup " + h.tok.encode()
    lay.file(dn + "/file-" + h.tok, data)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused_or_confined(p, img, needles=(dn,),
                          confined=lambda d: h.find_in_layer(d, "file-" + h.tok, data))


# ---------------------------------------------------------------------------
# Hardlinks.
# ---------------------------------------------------------------------------

def _hardlink_refused(h, lay, entry, target=None):
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, *[n for n in (entry, target) if n])
    eq(os.lstat(h.canary).st_nlink, 1, "scratch canary link count")
    eq(os.lstat(h.abs_canary).st_nlink, 1, "absolute canary link count")


@hostile
def hardlink_to_host_absolute_path(ctx, h):
    lay = Layer().file("a", b"a")
    lay.hardlink("stolen-" + h.tok, h.abs_canary)
    _hardlink_refused(h, lay, "stolen-" + h.tok, h.abs_canary)


@hostile
def hardlink_dotdot(ctx, h):
    lay = Layer().file("a", b"a")
    t = DEEP + ctx.dir.lstrip("/") + "/canary"
    lay.hardlink("stolen-" + h.tok, t)
    _hardlink_refused(h, lay, "stolen-" + h.tok, "canary")


@hostile
def hardlink_through_parent_symlink(ctx, h):
    """p -> (deep ..)/<scratch dir>, then a hardlink to p/canary."""
    lay = Layer()
    lay.symlink("p-" + h.tok, DEEP + ctx.dir.lstrip("/"))
    lay.hardlink("stolen-" + h.tok, "p-%s/canary" % h.tok)
    _hardlink_refused(h, lay, "stolen-" + h.tok, "p-%s/canary" % h.tok)


@hostile
def hardlink_to_directory(ctx, h):
    lay = Layer().dir("d-" + h.tok)
    lay.hardlink("h-" + h.tok, "d-" + h.tok)
    _hardlink_refused(h, lay, "h-" + h.tok)


@hostile
def hardlink_to_missing_target(ctx, h):
    lay = Layer().file("a", b"a")
    lay.hardlink("h-" + h.tok, "nonexistent-" + h.tok)
    _hardlink_refused(h, lay, "h-" + h.tok, "nonexistent-" + h.tok)


@hostile
def hardlink_symlink_chmod_cve_2021_32760(ctx, h):
    """s -> host canary (mode 0400); hardlink h -> s with mode 07777; then
    h2 -> h and a directory-like re-entry of h.  Nothing may chmod/chown
    through the symlink: the canary keeps mode 0400 and owner."""
    lay = Layer()
    lay.symlink("s-" + h.tok, h.abs_canary)
    ti_mode = 0o7777
    lay.hardlink("h-" + h.tok, "s-" + h.tok)
    lay.entries[-1][0].mode = ti_mode
    lay.entries[-1][0].uid = 4242
    lay.hardlink("h2-" + h.tok, "h-" + h.tok)
    lay.entries[-1][0].mode = ti_mode
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)

    def confined(d):
        ok(os.path.islink(os.path.join(d, "h-" + h.tok)),
           "h (a hardlink to a symlink) is not a symlink in the layer")
    h.refused_or_confined(p, img, needles=("h-" + h.tok, "s-" + h.tok), confined=confined)
    st = os.lstat(h.abs_canary)
    eq(stat.S_IMODE(st.st_mode), 0o400, "host canary mode")
    eq(st.st_uid, 0, "host canary owner")


# ---------------------------------------------------------------------------
# The layer root.
# ---------------------------------------------------------------------------

ROOT_NEEDLES = ('"."', "'.'", '"./"', "'./'", "entry . ", "entry ./ ", "layer root", "root entry",
                "root of the layer", "root directory")


@hostile
def root_entry_dot_symlink_cve_2021_29136(ctx, h):
    """'.' as a symlink to a host dir, then a file: never let the root change
    type."""
    lay = Layer()
    lay.symlink(".", h.host_dir)
    lay.file("file-" + h.tok, b"PWNED\n")
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, *ROOT_NEEDLES)


@hostile
def root_entry_dot_file(ctx, h):
    lay = Layer()
    lay.file(".", b"PWNED\n")
    lay.file("file-" + h.tok, b"x")
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, *ROOT_NEEDLES)


@hostile
def root_entry_dot_slash_file(ctx, h):
    lay = Layer()
    lay.file("./", b"PWNED\n")
    lay.file("file-" + h.tok, b"x")
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, *ROOT_NEEDLES)


# ---------------------------------------------------------------------------
# Whiteouts and opaque markers.
# ---------------------------------------------------------------------------

def _whiteout_refused(h, name, needles):
    base = h.preload_benign()
    top = Layer()
    top.dir("a").file(name)
    img = h.image([base, top])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, *needles)


@hostile
def whiteout_dotdot(ctx, h):
    _whiteout_refused(h, "a/.wh..", (".wh..",))


@hostile
def whiteout_dotdotdot(ctx, h):
    _whiteout_refused(h, "a/.wh...", (".wh...",))


@hostile
def whiteout_empty_name(ctx, h):
    _whiteout_refused(h, "a/.wh.", (".wh.",))


@hostile
def whiteout_root_dotdot(ctx, h):
    """.wh.. at the top: its target is the parent of the layer root."""
    _whiteout_refused(h, ".wh..", (".wh..",))


@hostile
def whiteout_with_traversal(ctx, h):
    _whiteout_refused(h, "a/../../.wh." + h.pwned, (h.pwned,))


@hostile
def whiteout_through_symlink(ctx, h):
    """d -> host dir, then d/.wh.keep: must not delete or shadow the host's
    keep file."""
    lay = Layer()
    lay.symlink("d-" + h.tok, h.host_dir).whiteout("d-%s/keep" % h.tok)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused_or_confined(p, img, needles=("d-" + h.tok,))
    ok(os.path.isfile(h.host_keep), "the host file %s was whited out" % h.host_keep)


@hostile
def opaque_in_symlinked_dir(ctx, h):
    """d -> host dir, then d/.wh..wh..opq: no trusted.overlay.opaque on the
    host dir, no deleted host children."""
    lay = Layer()
    lay.symlink("d-" + h.tok, h.host_dir).opaque("d-" + h.tok)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused_or_confined(p, img, needles=("d-" + h.tok,))
    eq(_xattrs(h.host_dir), (), "xattrs on the host dir")


# ---------------------------------------------------------------------------
# Image-supplied overlay xattrs and device nodes.
# ---------------------------------------------------------------------------

@hostile
def xattr_trusted_overlay_stripped(ctx, h):
    """pax SCHILY.xattr.trusted.overlay.* would make overlayfs hide lower
    dirs or redirect lookups: they must not reach the unpacked files."""
    lay = Layer()
    d_, f_, e_ = "d-" + h.tok, "f-" + h.tok, "e-" + h.tok
    lay.dir(d_, pax={"SCHILY.xattr.trusted.overlay.opaque": "y",
                      "SCHILY.xattr.trusted.overlay.redirect": "/etc"})
    lay.file(f_, b"f", pax={"SCHILY.xattr.trusted.overlay.opaque": "y",
                             "SCHILY.xattr.trusted.overlay.metacopy": "",
                             "SCHILY.xattr.trusted.overlay.origin": "x"})
    lay.dir(e_, pax={"SCHILY.xattr.trusted.overlay.redirect": "../../" + h.pwned})
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)

    def confined(d):
        for n in (d_, f_, e_):
            names = os.listxattr(os.path.join(d, n), follow_symlinks=False)
            bad = [x for x in names if x in OVERLAY_XATTRS]
            ok(not bad, "image-supplied %s kept on %s" % (bad, n))
    h.refused_or_confined(p, img, needles=("trusted.overlay", d_, f_, e_), confined=confined)


def _device_case(h, kind, major, minor):
    lay = Layer()
    lay.dir("dev").file("dev/ok", b"x")
    lay.device("dev/dev-" + h.tok, kind=kind, major=major, minor=minor)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)

    def confined(d):
        for q in _walk_all(d):
            st = os.lstat(q)
            ok(not stat.S_ISBLK(st.st_mode), "block device %s created" % q)
            ok(not (stat.S_ISCHR(st.st_mode) and st.st_rdev != 0),
               "char device %s (%d:%d) created" % (q, os.major(st.st_rdev), os.minor(st.st_rdev)))
        ok(os.path.isfile(os.path.join(d, "dev", "ok")), "the rest of the layer was not unpacked")
    h.refused_or_confined(p, img, needles=("dev-" + h.tok,), confined=confined)


@hostile
def device_char_mem(ctx, h):
    _device_case(h, "chr", 1, 1)


@hostile
def device_char_kmsg(ctx, h):
    _device_case(h, "chr", 1, 11)


@hostile
def device_block(ctx, h):
    _device_case(h, "blk", 8, 0)


# ---------------------------------------------------------------------------
# Size caps: decompression bombs and lying headers.
# ---------------------------------------------------------------------------

def _bomb(h, lay, entry):
    img = h.image([lay])
    path, _ = h.oci(img)
    ok(len(lay.blob()) < 1 << 20, "test bug: the bomb's blob should be small")
    p = h.load(path, "--max-layer-size", "1M")
    h.refused(p, entry, *blob_needles(lay))
    ok(h.elapsed < 60, "took %.1fs to refuse a bomb" % h.elapsed)


@hostile
def bomb_single_file(ctx, h):
    lay = Layer().file("zeros-" + h.tok, b"\0" * (4 << 20))
    _bomb(h, lay, "zeros-" + h.tok)


@hostile
def bomb_many_small_files(ctx, h):
    """Each file is below the cap, their sum is not."""
    lay = Layer()
    for i in range(12):
        lay.file("z%02d-%s" % (i, h.tok), b"\0" * (256 << 10))
    _bomb(h, lay, h.tok)


def tar_header(name, size, typeflag=b"0", mode=0o644, gnu=False, extra=None, mtime=1600000000):
    """A raw 512-byte tar header (ustar, or old GNU with gnu=True)."""
    hd = bytearray(512)

    def put(off, val):
        hd[off:off + len(val)] = val
    put(0, name.encode()[:100])
    put(100, b"%07o\0" % mode)
    put(108, b"0000000\0")
    put(116, b"0000000\0")
    if isinstance(size, bytes):
        put(124, size)
    else:
        put(124, b"%011o\0" % size)
    put(136, b"%011o\0" % mtime)
    put(156, typeflag)
    put(257, b"ustar  \0" if gnu else b"ustar\x0000")
    for off, val in (extra or {}).items():
        put(off, val)
    put(148, b" " * 8)
    put(148, b"%06o\0 " % sum(hd))
    return bytes(hd)


@hostile
def sparse_header_huge_file(ctx, h):
    """An old-GNU sparse entry ('S') whose real size is 8 GiB with 512 stored
    bytes: the per-file cap must apply to the real size."""
    real = 0o77777777777
    extra = {386: b"%011o\0" % (real - 512), 398: b"%011o\0" % 512,  # sparse[0]
             482: b"\0",  # isextended
             483: b"%011o\0" % real}  # realsize
    name = "sparse-" + h.tok
    raw = tar_header(name, 512, typeflag=b"S", gnu=True, extra=extra) + b"S" * 512 + b"\0" * 1024
    lay = Layer()
    lay.raw = raw
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path, "--max-layer-size", "1M")
    h.refused(p, name, *blob_needles(lay))


@hostile
def size_header_lies_huge(ctx, h):
    """A regular file header claiming 8 GiB followed by 1 KiB and EOF."""
    name = "huge-" + h.tok
    raw = tar_header(name, 0o77777777777) + b"H" * 1024 + b"\0" * 1024
    lay = Layer()
    lay.raw = raw
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path, "--max-layer-size", "1M")
    h.refused(p, name, *blob_needles(lay))


# ---------------------------------------------------------------------------
# Corrupt and mislabelled blobs.
# ---------------------------------------------------------------------------

def _rand_layer(h, size=200000, compression="gzip"):
    lay = Layer(compression=compression, fmt=tarfile.USTAR_FORMAT)
    lay.file("a-" + h.tok, os.urandom(1000))
    lay.file("big-" + h.tok, os.urandom(size))
    return lay


@hostile
def truncated_gzip(ctx, h):
    lay = _rand_layer(h)
    full = lay.blob()
    lay.blob_override = full[:len(full) // 2]  # descriptor digest/size match the cut blob
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, hex12(lay.blob_override), hex12(lay.tar()), "big-" + h.tok)


@hostile
def truncated_tar_mid_entry(ctx, h):
    """The tar ends in the middle of a file's data; digests all match."""
    lay = _rand_layer(h)
    t = lay.tar()
    lay.raw = t[:512 + 1024 + 512 + 50000]
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, "big-" + h.tok, *blob_needles(lay))


@hostile
def truncated_tar_no_eof_uncompressed(ctx, h):
    lay = _rand_layer(h, compression="none")
    t = lay.tar()
    lay.raw = t[:512 + 1024 + 512 + 7]
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, "big-" + h.tok, *blob_needles(lay))


@hostile
def corrupt_header_checksum(ctx, h):
    """The second header's name is altered without fixing its checksum."""
    lay = Layer(fmt=tarfile.USTAR_FORMAT)
    lay.file("a-" + h.tok, b"A" * 100).file("b-" + h.tok, b"B" * 100)
    t = bytearray(lay.tar())
    off = 512 + 512  # header a, its data padded to 512, then header b
    eq(bytes(t[off:off + 2]), b"b-", "test bug: second header offset")
    t[off] = ord("c")
    lay.raw = bytes(t)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, "b-" + h.tok, "c-" + h.tok, *blob_needles(lay))
    ok(not os.path.isdir(os.path.join(ctx.root, "images", "layers", sha256(lay.raw))),
       "layer kept")


@hostile
def garbage_with_gzip_media_type(ctx, h):
    lay = Layer()
    lay.blob_override = b"\x00garbage" + os.urandom(4000)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, hex12(lay.blob_override))


@hostile
def gzip_magic_garbage_body(ctx, h):
    """Starts with the gzip magic, then garbage."""
    lay = Layer()
    lay.blob_override = b"\x1f\x8b\x08\x00" + os.urandom(4000)
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, hex12(lay.blob_override))


@hostile
def zstd_media_type_on_gzip_data(ctx, h):
    lay = Layer(compression="gzip")
    lay.file("f-" + h.tok, b"x")
    lay.media_type = MT_LAYER["zstd"]
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, *blob_needles(lay))


@hostile
def gzip_media_type_on_plain_tar(ctx, h):
    lay = Layer(compression="none")
    lay.file("f-" + h.tok, b"x")
    lay.media_type = MT_LAYER["gzip"]
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, *blob_needles(lay))


@hostile
def unknown_layer_media_type(ctx, h):
    lay = Layer(compression="gzip")
    lay.file("f-" + h.tok, b"x")
    lay.media_type = "application/vnd.example.evil+gzip"
    img = h.image([lay])
    path, _ = h.oci(img)
    p = h.load(path)
    h.refused(p, "application/vnd.example.evil+gzip", *blob_needles(lay))


# ---------------------------------------------------------------------------
# Digest and size verification.
# ---------------------------------------------------------------------------

def _blob_path(layout, digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def _same_size_edit(data):
    """Valid JSON, same length, different digest."""
    i = data.index(b", ")
    return data[:i] + b",\n" + data[i + 2:]


@hostile
def blob_sha256_mismatch(ctx, h):
    lay = Layer().file("f-" + h.tok, os.urandom(3000))
    img = h.image([lay])
    path, info = h.oci(img)
    bp = _blob_path(path, info["layers"][0])
    with open(bp, "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xff]))
    p = h.load(path)
    h.refused(p, hex12(info["layers"][0]))


@hostile
def blob_size_mismatch(ctx, h):
    lay = Layer().file("f-" + h.tok, os.urandom(3000))
    lay.desc_extra = {"size": len(lay.blob()) - 1}
    img = h.image([lay])
    path, info = h.oci(img)
    p = h.load(path)
    h.refused(p, hex12(info["layers"][0]))


@hostile
def blob_size_larger_than_declared_huge(ctx, h):
    """A descriptor claiming a 1 TiB layer must be refused before reading."""
    lay = Layer().file("f-" + h.tok, b"x")
    lay.desc_extra = {"size": 1 << 40}
    img = h.image([lay])
    path, info = h.oci(img)
    p = h.load(path)
    h.refused(p, hex12(info["layers"][0]))


@hostile
def diff_id_mismatch(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    wrong = "sha256:" + sha256(b"not the layer " + h.tok.encode())
    img.diff_ids = [wrong]
    path, info = h.oci(img)
    p = h.load(path)
    h.refused(p, hex12(wrong), *blob_needles(lay))


@hostile
def diff_ids_count_mismatch(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    img.diff_ids = ["sha256:" + sha256(lay.tar()), "sha256:" + sha256(b"extra")]
    path, info = h.oci(img)
    p = h.load(path)
    h.refused(p, "diff_id", "diff ID", "diffID", hex12(info["configs"][0]),
              hex12(info["manifests"][0]))


@hostile
def manifest_digest_mismatch(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    path, info = h.oci(img)
    bp = _blob_path(path, info["manifests"][0])
    with open(bp, "rb") as f:
        data = f.read()
    with open(bp, "wb") as f:
        f.write(_same_size_edit(data))
    p = h.load(path)
    h.refused(p, hex12(info["manifests"][0]))


@hostile
def config_digest_mismatch(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    path, info = h.oci(img)
    bp = _blob_path(path, info["configs"][0])
    with open(bp, "rb") as f:
        data = f.read()
    with open(bp, "wb") as f:
        f.write(_same_size_edit(data))
    p = h.load(path)
    h.refused(p, hex12(info["configs"][0]))


@hostile
def digest_traversal_in_index(ctx, h):
    """The index names its manifest sha256:../../../evil-<tok>, and a valid
    manifest sits exactly there: a path-concatenating loader would import it."""
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    path, info = h.oci(img)
    evil = os.path.join(h.indir, "evil-" + h.tok)
    shutil.copy(_blob_path(path, info["manifests"][0]), evil)
    with open(os.path.join(path, "index.json")) as f:
        idx = json.load(f)
    idx["manifests"][0]["digest"] = "sha256:../../../evil-" + h.tok
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(idx, f)
    p = h.load(path)
    h.refused(p, "evil-" + h.tok, "../")


@hostile
def digest_traversal_layer_etc_passwd(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    lay.desc_extra = {"digest": "sha256:../../../../../../../../etc/passwd"}
    img = h.image([lay])
    path, info = h.oci(img)
    p = h.load(path)
    h.refused(p, "etc/passwd", "../")


@hostile
def digest_traversal_config(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    path, info = h.oci(img)
    evil = os.path.join(h.indir, "evil-" + h.tok)
    shutil.copy(_blob_path(path, info["configs"][0]), evil)
    # rewrite the manifest to point its config at the traversal, and the
    # index at the rewritten manifest (so only the config digest is wrong)
    mp = _blob_path(path, info["manifests"][0])
    with open(mp) as f:
        man = json.load(f)
    man["config"]["digest"] = "sha256:../../../evil-" + h.tok
    mb = json.dumps(man).encode()
    md = "sha256:" + sha256(mb)
    with open(_blob_path(path, md), "wb") as f:
        f.write(mb)
    with open(os.path.join(path, "index.json")) as f:
        idx = json.load(f)
    idx["manifests"][0].update({"digest": md, "size": len(mb)})
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(idx, f)
    p = h.load(path)
    h.refused(p, "evil-" + h.tok, "../")


@hostile
def manifest_media_type_confusion(ctx, h):
    """The index says 'this is an index' of what is a manifest (CVE-2021-41190)."""
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    img.manifest_desc_extra = {"mediaType": MT_INDEX}
    path, info = h.oci(img)
    p = h.load(path)
    h.refused(p, hex12(info["manifests"][0]), "mediaType", "media type")


# ---------------------------------------------------------------------------
# docker save tarballs.
# ---------------------------------------------------------------------------

@hostile
def docker_save_dotdot_member(ctx, h):
    """The layer member is named ../<x>/layer.tar, and a stray member writes
    (deep ..)/tmp/<x>: extracting the archive naively escapes."""
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])

    def mutate(members, manifest):
        old = manifest[0]["Layers"][0]
        new = "../" + h.pwned + "/layer.tar"
        for m in members:
            if m[0] == old:
                m[0] = new
        manifest[0]["Layers"][0] = new
        members.insert(0, [MID + "tmp/" + h.pwned + "-stray", b"PWNED\n"])
    path = h.docker(img, mutate)
    p = h.load(path)
    h.refused(p, h.pwned)


@hostile
def docker_save_manifest_layer_etc_shadow(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])

    def mutate(members, manifest):
        manifest[0]["Layers"][0] = "../../etc/shadow"
    path = h.docker(img, mutate)
    p = h.load(path)
    h.refused(p, "etc/shadow")


@hostile
def docker_save_manifest_layer_deep_host_file(ctx, h):
    """manifest.json points at (12 x ..)/tmp/<x>.tar, where a valid layer with
    the right diff_id waits on the host: it must not be imported."""
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    h.host_file(".tar", lay.tar())

    def mutate(members, manifest):
        manifest[0]["Layers"][0] = MID + "tmp/" + h.pwned + ".tar"
    path = h.docker(img, mutate)
    p = h.load(path)
    h.refused(p, h.pwned)


@hostile
def docker_save_manifest_layer_absolute_host_file(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    hp = h.host_file(".tar", lay.tar())

    def mutate(members, manifest):
        manifest[0]["Layers"][0] = hp
    path = h.docker(img, mutate)
    p = h.load(path)
    h.refused(p, h.pwned)


@hostile
def docker_save_config_traversal(ctx, h):
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    h.host_file(".json", img.config_json())

    def mutate(members, manifest):
        manifest[0]["Config"] = MID + "tmp/" + h.pwned + ".json"
    path = h.docker(img, mutate)
    p = h.load(path)
    h.refused(p, h.pwned)


@hostile
def docker_save_symlink_member(ctx, h):
    """<id>/layer.tar is a symlink member to a valid layer on the host."""
    lay = Layer().file("f-" + h.tok, b"content\n")
    img = h.image([lay])
    hp = h.host_file(".tar", lay.tar())
    buf = io.BytesIO()
    cj = img.config_json()
    lname = sha256(lay.tar()) + "/layer.tar"
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo(lname)
        ti.type = tarfile.SYMTYPE
        ti.linkname = hp
        tf.addfile(ti)
        for name, data in ((sha256(cj) + ".json", cj),
                           ("manifest.json", json.dumps([{
                               "Config": sha256(cj) + ".json", "RepoTags": [img.name],
                               "Layers": [lname]}]).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    path = os.path.join(h.indir, "image.tar")
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    p = h.load(path)
    h.refused(p, lname, "layer.tar")


@hostile
def docker_save_hostile_layer_content(ctx, h):
    """The docker-save path runs the same unpacker: a traversal entry inside
    an uncompressed docker layer is refused too."""
    lay = Layer(compression="none")
    lay.file("ok", b"x").file(DEEP + "tmp/" + h.pwned + "-ds", b"PWNED\n")
    img = h.image([lay])
    path = h.docker(img)
    p = h.load(path)
    h.refused(p, h.pwned)


@hostile
def control_docker_save_gzip_prefix_dir(ctx, h):
    """Control: a plain docker-save tarball loads (so the docker_save_* cases
    test refusal of the attack, not of the format)."""
    lay = Layer(compression="none")
    lay.dir("etc").file("etc/f-" + h.tok, b"content\n")
    img = h.image([lay])
    path = h.docker(img)
    p = h.load(path)
    h.loaded(p, img)
    with open(os.path.join(h.layer_dir(lay), "etc", "f-" + h.tok), "rb") as f:
        eq(f.read(), b"content\n", "unpacked content")


if __name__ == "__main__":
    run_all()
