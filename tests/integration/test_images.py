#!/usr/bin/env python3
"""`berth image load|ls|rm`: import formats, names, platforms, sharing, GC,
and every refusal leaving the store exactly as it was."""
import gzip
import hashlib
import io
import json
import os
import re
import stat
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import eq, ok, one_line_error, run_all, test  # noqa: E402
from ociimg import (MT_INDEX, MT_MANIFEST, Image, Layer, busybox_image,  # noqa: E402
                    sha256, write_docker_save, write_oci_layout)


# ---- helpers ----------------------------------------------------------------

def images_dir(t):
    return os.path.join(t.root, "images")


def store_listing(t):
    """Every entry the store holds, not descending into layer dirs."""
    top = images_dir(t)
    out = []
    if not os.path.isdir(top):
        return out
    for sub in ("refs", "layers", "tmp", "blobs/sha256"):
        d = os.path.join(top, sub)
        if os.path.isdir(d):
            out += [sub + "/" + n for n in os.listdir(d)]
    out += ["./" + n for n in os.listdir(top)]
    return sorted(out)


def layer_dirs(t):
    d = os.path.join(images_dir(t), "layers")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def layer_dir(t, lay):
    return os.path.join(images_dir(t), "layers", sha256(lay.tar()))


def cfg_digest(img):
    return "sha256:" + sha256(img.config_json())


def simple_layer(tag, compression="gzip", extra=None):
    lay = Layer(compression)
    lay.dir("etc").file("etc/" + tag, (tag + "\n").encode())
    for k, v in (extra or {}).items():
        lay.file(k, v)
    return lay


def simple_image(name, tag=None, compression="gzip", arch="amd64"):
    return Image([simple_layer(tag or name.replace(":", "-").replace("/", "-"), compression)],
                 config={"Cmd": ["/bin/true"]}, name=name, arch=arch)


def load(t, path, *extra, check=True):
    return t.berth("image", "load", *extra, path, check=check)


def human(n):
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    v, u = float(n), 0
    while v >= 999.5 and u + 1 < len(units):
        v /= 1000.0
        u += 1
    return ("%.3g" % v) + units[u]


def ls_rows(t):
    p = t.berth("image", "ls", check=True)
    lines = p.stdout.splitlines()
    ok(lines and re.match(r"^NAME\s+IMAGE ID\s+SIZE$", lines[0]), "header: %r" % p.stdout)
    return [re.split(r"\s{2,}", l.strip()) for l in lines[1:]]


def refused(t, p, *needles):
    """One line naming the input; nothing new in the store."""
    line = one_line_error(p, *needles)
    ok(line.startswith("berth: "), line)
    return line


class Unchanged:
    """with Unchanged(t): ... asserts the store listing is identical after."""

    def __init__(self, t):
        self.t = t

    def __enter__(self):
        self.before = store_listing(self.t)
        self.refs = {}
        rdir = os.path.join(images_dir(self.t), "refs")
        for n in os.listdir(rdir) if os.path.isdir(rdir) else []:
            with open(os.path.join(rdir, n), "rb") as f:
                self.refs[n] = f.read()
        return self

    def __exit__(self, typ, val, tb):
        if typ:
            return False
        after = store_listing(self.t)
        eq(after, self.before, "store listing after a failed load")
        for n, data in self.refs.items():
            with open(os.path.join(images_dir(self.t), "refs", n), "rb") as f:
                eq(f.read(), data, "ref %s after a failed load" % n)
        return False


def preload(t):
    """A benign image so failures have something to leave alone."""
    img = simple_image("benign:1")
    write_oci_layout(t.path("benign"), [img])
    load(t, t.path("benign"))
    return img


def tar_dir(src, dst, compress=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(os.listdir(src)):
            tf.add(os.path.join(src, name), arcname=name)
    data = buf.getvalue()
    with open(dst, "wb") as f:
        f.write(gzip.compress(data) if compress else data)


# ---- successful loads -------------------------------------------------------

@test
def load_oci_layout_all_compressions(t):
    layers = [simple_layer("g", "gzip"), simple_layer("z", "zstd"), simple_layer("n", "none")]
    img = Image(layers, config={"Cmd": ["/bin/true"], "Env": ["A=1"]}, name="comp:1")
    write_oci_layout(t.path("lay"), [img])
    p = load(t, t.path("lay"))
    eq(p.stdout.strip(), "Loaded image comp:1 (%s)" % cfg_digest(img), "stdout")
    eq(p.stderr, "", "stderr")
    for lay, tag in zip(layers, "gzn"):
        with open(os.path.join(layer_dir(t, lay), "etc", tag)) as f:
            eq(f.read(), tag + "\n", "content of layer %s" % tag)
    eq(len(layer_dirs(t)), 3, "layer dirs")
    ok(os.path.isfile(os.path.join(images_dir(t), "refs", "comp%3A1.json")), "ref file")
    blobs = os.listdir(os.path.join(images_dir(t), "blobs", "sha256"))
    eq(len(blobs), 2, "manifest and config blobs only: %s" % blobs)
    ok(sha256(img.config_json()) in blobs, "config blob stored")
    for d in ("", "blobs", "layers", "refs", "tmp"):
        mode = stat.S_IMODE(os.stat(os.path.join(images_dir(t), d)).st_mode)
        eq(mode, 0o700, "mode of images/%s" % d)
    eq(os.listdir(os.path.join(images_dir(t), "tmp")), [], "tmp empty")


@test
def load_docker_save_legacy(t):
    a = simple_image("dsave:1", "a")
    b = Image([simple_layer("base"), simple_layer("top", "none")], config={"Cmd": ["x"]},
              name="docker.io/library/dsave:2")
    write_docker_save(t.path("ds.tar"), [a, b])
    p = load(t, t.path("ds.tar"))
    eq(sorted(p.stdout.splitlines()),
       sorted(["Loaded image dsave:1 (%s)" % cfg_digest(a),
               "Loaded image dsave:2 (%s)" % cfg_digest(b)]), "stdout")
    for lay in a.layers + b.layers:
        ok(os.path.isdir(layer_dir(t, lay)), "layer %s" % layer_dir(t, lay))
    with open(os.path.join(layer_dir(t, b.layers[1]), "etc", "top")) as f:
        eq(f.read(), "top\n", "content")
    eq([r[0] for r in ls_rows(t)], ["dsave:1", "dsave:2"], "names")
    eq(os.listdir(os.path.join(images_dir(t), "tmp")), [], "tmp empty")


@test
def load_docker_save_oci_in_tar_gzip(t):
    """Docker >= 25: an OCI layout inside the tar, named by annotations; also
    `docker save | gzip`."""
    img = simple_image("ignored:1", "new")
    img.name = None
    img.manifest_desc_extra = {"annotations": {
        "io.containerd.image.name": "docker.io/library/newdocker:latest",
        "org.opencontainers.image.ref.name": "latest"}}
    write_oci_layout(t.path("lay"), [img])
    tar_dir(t.path("lay"), t.path("new.tar.gz"), compress=True)
    p = load(t, t.path("new.tar.gz"))
    eq(p.stdout.strip(), "Loaded image newdocker:latest (%s)" % cfg_digest(img), "stdout")
    ok(os.path.isdir(layer_dir(t, img.layers[0])), "layer")
    # only the tag, and no containerd name: refused, asking for --name
    img.manifest_desc_extra = {"annotations": {"org.opencontainers.image.ref.name": "v1"}}
    write_oci_layout(t.path("lay2"), [img])
    with Unchanged(t):
        refused(t, load(t, t.path("lay2"), check=False), "--name", "v1")
    p = load(t, t.path("lay2"), "--name", "named:v1")
    eq(p.stdout.strip(), "Loaded image named:v1 (%s)" % cfg_digest(img), "stdout")


@test
def multi_image_index_with_names(t):
    a, b = simple_image("multi/a:1", "a"), simple_image("localhost:5000/multi/b:2", "b")
    c = simple_image("unused", "c")
    c.name = None  # no name at all: stored under its config digest
    write_oci_layout(t.path("lay"), [a, b, c])
    p = load(t, t.path("lay"))
    eq(p.stdout.splitlines(), ["Loaded image multi/a:1 (%s)" % cfg_digest(a),
                               "Loaded image localhost:5000/multi/b:2 (%s)" % cfg_digest(b),
                               "Loaded image %s (%s)" % (cfg_digest(c), cfg_digest(c))], "stdout")
    q = t.berth("image", "ls", "-q", check=True)
    eq(q.stdout.splitlines(), sorted(["multi/a:1", "localhost:5000/multi/b:2", cfg_digest(c)]),
       "ls -q")
    # --name with several images
    with Unchanged(t):
        refused(t, load(t, t.path("lay"), "--name", "x:1", check=False), "--name", "3")
    # --name with one image; name normalisation
    write_oci_layout(t.path("one"), [a])
    p = load(t, t.path("one"), "--name", "docker.io/library/renamed")
    eq(p.stdout.strip(), "Loaded image renamed:latest (%s)" % cfg_digest(a), "stdout")
    with Unchanged(t):
        refused(t, load(t, t.path("one"), "--name", "Bad/Name", check=False), "Bad/Name")


@test
def platform_selection(t):
    arm = simple_image("plat:1", "arm", arch="arm64")
    amd = simple_image("plat:1", "amd")
    write_oci_layout(t.path("both"), [arm, amd])
    p = load(t, t.path("both"))
    eq(p.stdout.strip(), "Loaded image plat:1 (%s)" % cfg_digest(amd), "picked amd64")
    ok(not os.path.exists(layer_dir(t, arm.layers[0])), "arm64 layer not unpacked")
    # nested index (multi-platform image under one name)
    arm2, amd2 = simple_image("nest:1", "arm2", arch="arm64"), simple_image("nest:1", "amd2")
    write_oci_layout(t.path("nested"), [arm2, amd2], nested_index=True)
    with open(t.path("nested", "index.json")) as f:
        ix = json.load(f)
    ix["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "nest:1"}
    with open(t.path("nested", "index.json"), "w") as f:
        json.dump(ix, f)
    p = load(t, t.path("nested"))
    eq(p.stdout.strip(), "Loaded image nest:1 (%s)" % cfg_digest(amd2), "nested amd64")
    # only other platforms: refused, naming what was found
    only = [simple_image("arm:1", "a1", arch="arm64"), simple_image("s390:1", "s1", arch="s390x")]
    write_oci_layout(t.path("arm"), only)
    with Unchanged(t):
        refused(t, load(t, t.path("arm"), check=False), t.path("arm"), "linux/arm64",
                "linux/s390x", "linux/amd64")
    # no platform on the descriptor: the config decides
    nop = simple_image("noplat:1", "np", arch="arm64")
    write_oci_layout(t.path("noplat"), [nop])
    with open(t.path("noplat", "index.json")) as f:
        ix = json.load(f)
    del ix["manifests"][0]["platform"]
    with open(t.path("noplat", "index.json"), "w") as f:
        json.dump(ix, f)
    with Unchanged(t):
        refused(t, load(t, t.path("noplat"), check=False), "linux/arm64")


@test
def image_ls_output_and_sizes(t):
    big = Layer("none")
    big.file("blob.bin", os.urandom(1500000))
    a = Image([big], config={"Cmd": ["x"]}, name="sized:1")
    b = simple_image("another/img:2", "b")
    write_oci_layout(t.path("a"), [a])
    write_oci_layout(t.path("b"), [b])
    load(t, t.path("a"))
    load(t, t.path("b"))

    def layout_size(d):
        bd = os.path.join(d, "blobs", "sha256")
        return sum(os.path.getsize(os.path.join(bd, n)) for n in os.listdir(bd))
    rows = ls_rows(t)
    eq(rows, [["another/img:2", sha256(b.config_json())[:12], human(layout_size(t.path("b")))],
              ["sized:1", sha256(a.config_json())[:12], human(layout_size(t.path("a")))]], "rows")
    ok(rows[1][2].endswith("MB") and rows[1][2].startswith("1.5"), "human size %s" % rows[1][2])
    p = t.berth("images", check=True)
    eq(p.stdout, t.berth("image", "ls", check=True).stdout, "berth images == berth image ls")
    p = t.berth("image", "ls", "--quiet", check=True)
    eq(p.stdout, "another/img:2\nsized:1\n", "quiet")
    p = t.berth("image", "ls", "--bogus")
    one_line_error(p, "--bogus")
    eq(p.returncode, 2, "usage error")


@test
def image_rm_and_gc(t):
    base = simple_layer("base")
    a = Image([base, simple_layer("a")], config={"Cmd": ["x"]}, name="gc:a")
    b = Image([base, simple_layer("b")], config={"Cmd": ["y"]}, name="gc:b")
    write_oci_layout(t.path("lay"), [a, b])
    load(t, t.path("lay"))
    eq(len(layer_dirs(t)), 3, "three layers")
    p = t.berth("image", "rm", "gc:a", check=True)
    ok("gc:a" in p.stdout, p.stdout)
    eq(sorted(layer_dirs(t)), sorted([sha256(base.tar()), sha256(b.layers[1].tar())]),
       "a's own layer collected, the shared base kept")
    eq(len(os.listdir(os.path.join(images_dir(t), "blobs", "sha256"))), 2, "b's blobs remain")
    # by ID prefix
    t.berth("image", "rm", sha256(b.config_json())[:12], check=True)
    eq(layer_dirs(t), [], "layers dir empty")
    eq(os.listdir(os.path.join(images_dir(t), "blobs", "sha256")), [], "blobs empty")
    eq(os.listdir(os.path.join(images_dir(t), "refs")), [], "refs empty")
    eq(os.listdir(os.path.join(images_dir(t), "tmp")), [], "tmp empty")
    eq(t.berth("image", "ls", "-q", check=True).stdout, "", "nothing listed")
    with Unchanged(t):
        line = refused(t, t.berth("image", "rm", "nosuch:1"), "nosuch:1", "berth image load")
        ok("not found" in line, line)
    p = t.berth("image", "rm")
    one_line_error(p)
    eq(p.returncode, 2, "usage error")
    # a leftover of a crashed load in tmp/ is collected by the next rm
    load(t, t.path("lay"))
    os.makedirs(os.path.join(images_dir(t), "tmp", "load-crashed", "L-x"))
    t.berth("image", "rm", "gc:a", check=True)
    eq(os.listdir(os.path.join(images_dir(t), "tmp")), [], "stale tmp entry collected")


@test
def shared_layer_unpacked_once(t):
    base = simple_layer("shared")
    a = Image([base, simple_layer("one")], config={"Cmd": ["x"]}, name="share:a")
    b = Image([base, simple_layer("two")], config={"Cmd": ["y"]}, name="share:b")
    write_oci_layout(t.path("both"), [a, b])
    load(t, t.path("both"))
    eq(len(layer_dirs(t)), 3, "base unpacked once")
    # a separate load of an image reusing the base does not unpack it again
    c = Image([base, simple_layer("three")], config={"Cmd": ["z"]}, name="share:c")
    write_oci_layout(t.path("c"), [c])
    st = os.stat(layer_dir(t, base))
    load(t, t.path("c"))
    eq(len(layer_dirs(t)), 4, "one new layer")
    st2 = os.stat(layer_dir(t, base))
    eq((st2.st_ino, st2.st_mtime_ns), (st.st_ino, st.st_mtime_ns), "base layer untouched")


@test
def reload_is_noop_for_layers(t):
    img = busybox_image("reload:1")
    write_oci_layout(t.path("lay"), [img])
    load(t, t.path("lay"))
    ldir = layer_dir(t, img.layers[0])
    before = {n: os.lstat(os.path.join(ldir, n)).st_ino for n in os.listdir(ldir)}
    listing = store_listing(t)
    p = load(t, t.path("lay"))
    eq(p.stdout.strip(), "Loaded image reload:1 (%s)" % cfg_digest(img), "stdout")
    eq(store_listing(t), listing, "same store entries")
    after = {n: os.lstat(os.path.join(ldir, n)).st_ino for n in os.listdir(ldir)}
    eq(after, before, "layer contents untouched")
    # the same name for a different image replaces it; the old layer goes
    new = simple_image("reload:1", "replacement")
    write_oci_layout(t.path("new"), [new])
    p = load(t, t.path("new"))
    eq(p.stdout.strip(), "Loaded image reload:1 (%s)" % cfg_digest(new), "stdout")
    eq(layer_dirs(t), [sha256(new.layers[0].tar())], "old image's layer collected")
    eq(sorted(os.listdir(os.path.join(images_dir(t), "blobs", "sha256"))),
       sorted([sha256(new.config_json()), os.path.basename(
           [m for m in os.listdir(t.path("new", "blobs", "sha256"))
            if m not in (sha256(new.config_json()), sha256(new.layers[0].blob()))][0])]),
       "old image's blobs collected")


@test
def big_layer_and_whiteouts(t):
    data = os.urandom(6 << 20)
    lower = Layer("gzip")
    lower.dir("etc").file("etc/old", b"old\n").dir("var").dir("var/cache")
    lower.file("var/cache/stale", b"stale\n").file("big.bin", data)
    upper = Layer("zstd")
    upper.dir("etc").whiteout("etc/old").file("etc/new", b"new\n")
    upper.dir("var").dir("var/cache").opaque("var/cache").file("var/cache/fresh", b"f\n")
    img = Image([lower, upper], config={"Cmd": ["x"]}, name="wh:1")
    write_oci_layout(t.path("lay"), [img])
    load(t, t.path("lay"))
    ld, ud = layer_dir(t, lower), layer_dir(t, upper)
    with open(os.path.join(ld, "big.bin"), "rb") as f:
        ok(hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest(), "big file intact")
    wh = os.lstat(os.path.join(ud, "etc", "old"))
    ok(stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0, "whiteout is a 0/0 char device")
    ok(not os.path.exists(os.path.join(ud, "etc", ".wh.old")), "marker hidden")
    eq(os.getxattr(os.path.join(ud, "var", "cache"), "trusted.overlay.opaque"), b"y", "opaque")
    ok(not os.path.exists(os.path.join(ud, "var", "cache", ".wh..wh..opq")), "opq marker hidden")
    with open(os.path.join(ld, "etc", "old")) as f:
        eq(f.read(), "old\n", "lower layer keeps its file")


# ---- refusals ---------------------------------------------------------------

def bad_layout(t, name, mutate_img=None, mutate_dir=None):
    lay = simple_layer("bad-" + name)
    img = Image([lay], config={"Cmd": ["x"]}, name="bad:" + name)
    if mutate_img:
        mutate_img(img, lay)
    path = t.path(name)
    info = write_oci_layout(path, [img])
    if mutate_dir:
        mutate_dir(path, info, img, lay)
    return path, img, lay


def blob_path(path, digest):
    return os.path.join(path, "blobs", "sha256", digest.split(":", 1)[1])


@test
def refusals_leave_store_unchanged(t):
    preload(t)

    def media(img, lay):
        lay.media_type = "application/vnd.example.layer.v1.tar+lz4"

    def size(img, lay):
        lay.desc_extra = {"size": len(lay.blob()) + 7}

    def diff_id(img, lay):
        img.diff_ids = ["sha256:" + "0" * 64]

    def truncated(img, lay):
        lay.blob_override = lay.blob()[:-20]

    def sha_mismatch(path, info, img, lay):
        p = blob_path(path, info["layers"][0])
        with open(p, "rb") as f:
            b = bytearray(f.read())
        b[-9] ^= 0xff  # the gzip trailer: same size, other sha256
        with open(p, "wb") as f:
            f.write(bytes(b))

    def missing(path, info, img, lay):
        os.unlink(blob_path(path, info["layers"][0]))

    def config_tampered(path, info, img, lay):
        p = blob_path(path, info["configs"][0])
        with open(p, "rb") as f:
            b = f.read()
        with open(p, "wb") as f:
            f.write(b.replace(b"linux", b"LINUX"))

    def bad_index(path, info, img, lay):
        with open(os.path.join(path, "index.json"), "w") as f:
            f.write('{"schemaVersion": 2, "manifests": [')

    def index_digest(path, info, img, lay):
        with open(os.path.join(path, "index.json")) as f:
            ix = json.load(f)
        ix["manifests"][0]["digest"] = "sha256:../../../../etc/passwd"
        with open(os.path.join(path, "index.json"), "w") as f:
            json.dump(ix, f)

    def no_media_type(path, info, img, lay):
        with open(os.path.join(path, "index.json")) as f:
            ix = json.load(f)
        del ix["manifests"][0]["mediaType"]
        with open(os.path.join(path, "index.json"), "w") as f:
            json.dump(ix, f)

    def layer_count(img, lay):
        img.diff_ids = ["sha256:" + sha256(lay.tar()), "sha256:" + "1" * 64]

    cases = [
        ("media", media, None, ["application/vnd.example.layer.v1.tar+lz4"]),
        ("size", size, None, ["size", "bytes"]),
        ("diffid", diff_id, None, ["sha256:" + "0" * 12]),
        ("truncated", truncated, None, []),
        ("sha", None, sha_mismatch, []),
        ("missing", None, missing, ["missing"]),
        ("config", None, config_tampered, ["config"]),
        ("index", None, bad_index, ["index.json"]),
        ("digest", None, index_digest, ["sha256:../"]),
        ("mediatype", None, no_media_type, ["mediaType"]),
        ("count", layer_count, None, ["diff_ids"]),
    ]
    for name, mi, md, needles in cases:
        path, img, lay = bad_layout(t, name, mi, md)
        with Unchanged(t):
            p = load(t, path, check=False)
            line = refused(t, p, path, *needles)
            if name in ("truncated", "sha", "missing", "size"):
                ok(sha256(lay.blob())[:12] in line, "%s: blob not named in %r" % (name, line))
    # nonexistent path
    with Unchanged(t):
        refused(t, load(t, t.path("nope"), check=False), t.path("nope"))
    # neither layout nor archive
    os.makedirs(t.path("empty"))
    with Unchanged(t):
        refused(t, load(t, t.path("empty"), check=False), t.path("empty"), "index.json")
    with open(t.path("garbage.tar"), "wb") as f:
        f.write(os.urandom(3000))
    with Unchanged(t):
        refused(t, load(t, t.path("garbage.tar"), check=False), t.path("garbage.tar"))
    with Unchanged(t):
        refused(t, load(t, "/dev/null", check=False), "/dev/null")


@test
def docker_save_refusals(t):
    preload(t)
    img = simple_image("ds:bad", "x")

    def bad_config(members, manifest):
        for m in members:
            if m[0].endswith(".json"):
                m[1] = m[1].replace(b"/bin/true", b"/bin/evil")

    def bad_layer(members, manifest):
        for m in members:
            if m[0].endswith("layer.tar"):
                m[1] = m[1][:-1024] + b"\0" * 512 + b"x" * 512

    def escape(members, manifest):
        manifest[0]["Layers"] = ["../../etc/passwd"]

    def dotdot_member(members, manifest):
        members.append(["../escape", b"x"])

    for name, fn, needles in (("config", bad_config, ["config"]),
                              ("layer", bad_layer, ["layer.tar"]),
                              ("escape", escape, ["../../etc/passwd"]),
                              ("member", dotdot_member, ["../escape"])):
        path = t.path(name + ".tar")
        write_docker_save(path, [img], mutate=fn)
        with Unchanged(t):
            refused(t, load(t, path, check=False), path, *needles)
    # a layer.tar linked from another image's directory (older docker save)
    base = simple_layer("linked")
    a = Image([base], config={"Cmd": ["a"]}, name="link:a")
    b = Image([base, simple_layer("lb")], config={"Cmd": ["b"]}, name="link:b")

    def symlinked(members, manifest):
        shared = manifest[0]["Layers"][0]
        manifest[1]["Layers"][0] = "other/layer.tar"
        seen = set()
        members[:] = [m for m in members if not (m[0] in seen or seen.add(m[0]))]

    members, manifest = [], []
    write_docker_save(t.path("unused.tar"), [a, b],
                      mutate=lambda m, man: (symlinked(m, man), members.extend(m),
                                             manifest.extend(man)))
    members.append(["other/layer.tar", ("symlink", "../" + manifest[0]["Layers"][0])])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for n, data in members + [["manifest.json", json.dumps(manifest).encode()]]:
            ti = tarfile.TarInfo(n)
            if isinstance(data, tuple):
                ti.type = tarfile.SYMTYPE
                ti.linkname = data[1]
                tf.addfile(ti)
                continue
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    path = t.path("linked.tar")
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    p = load(t, path)
    eq(sorted(p.stdout.splitlines()),
       sorted(["Loaded image link:a (%s)" % cfg_digest(a), "Loaded image link:b (%s)" % cfg_digest(b)]),
       "stdout")
    ok(os.path.isdir(layer_dir(t, base)), "linked layer unpacked")
    # two images sharing a layer, written twice into the tar (last copy wins)
    c = Image([base, simple_layer("lc")], config={"Cmd": ["c"]}, name="dup:c")
    write_docker_save(t.path("dup.tar"), [a, c])
    p = load(t, t.path("dup.tar"))
    eq(len(p.stdout.splitlines()), 2, p.stdout)


@test
def failed_replace_keeps_old_image(t):
    good = simple_image("keep:1", "good")
    write_oci_layout(t.path("good"), [good])
    load(t, t.path("good"))
    bad = simple_image("keep:1", "bad")
    bad.diff_ids = ["sha256:" + "2" * 64]
    write_oci_layout(t.path("bad"), [bad])
    with Unchanged(t):
        refused(t, load(t, t.path("bad"), check=False), t.path("bad"))
    eq(ls_rows(t)[0][:2], ["keep:1", sha256(good.config_json())[:12]], "old image kept")
    # one good and one bad image in one layout: neither is stored
    other = simple_image("other:1", "other")
    write_oci_layout(t.path("mixed"), [other, bad])
    with Unchanged(t):
        refused(t, load(t, t.path("mixed"), check=False), t.path("mixed"))
    ok(not os.path.exists(layer_dir(t, other.layers[0])), "good half not kept")


@test
def max_layer_size(t):
    lay = Layer("gzip")
    lay.file("zeros", b"\0" * (3 << 20))
    img = Image([lay], config={"Cmd": ["x"]}, name="bomb:1")
    write_oci_layout(t.path("lay"), [img])
    preload(t)
    with Unchanged(t):
        refused(t, t.berth("--max-layer-size", "1M", "image", "load", t.path("lay")),
                t.path("lay"))
    load(t, t.path("lay"))


@test
def image_help_and_usage(t):
    p = t.berth("image", "--help", check=True)
    for w in ("load", "--name", "ls", "rm"):
        ok(w in p.stdout, p.stdout)
    p = t.berth("image", "frob")
    one_line_error(p, "frob")
    eq(p.returncode, 2, "usage")
    p = t.berth("image", "load")
    one_line_error(p, "PATH")
    eq(p.returncode, 2, "usage")
    p = t.berth("image", "load", "--bogus", "x")
    one_line_error(p, "--bogus")
    p = t.berth("image")
    eq(p.returncode, 2, "no subcommand")


if __name__ == "__main__":
    run_all()
