"""Build OCI image layouts and `docker save` tarballs at test time.

    lay = Layer()
    lay.file("etc/hello", b"hi\n", mode=0o644)
    lay.dir("var/empty"); lay.symlink("bin/sh", "busybox"); lay.hardlink("a", "b")
    lay.whiteout("usr/old"); lay.opaque("etc")
    img = Image([busybox_layer(), lay], config={"Cmd": ["/bin/sh"]}, name="t:1")
    write_oci_layout("/tmp/x", [img])          # directory
    write_docker_save("/tmp/x.tar", [img])     # tarball

Layers are built from raw tarfile entries so tests can produce any hostile
archive; `Layer.raw` lets a test supply the tar bytes itself.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time

BUSYBOX = "/bin/busybox"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROBE = os.path.join(REPO, "build", "probe")

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def sha256(b):
    return hashlib.sha256(b).hexdigest()


class Layer:
    def __init__(self, compression="gzip", fmt=tarfile.PAX_FORMAT):
        self.entries = []  # (TarInfo, bytes|None)
        self.compression = compression
        self.fmt = fmt
        self.raw = None  # bytes: the uncompressed tar, overriding entries
        self.media_type = None  # override the descriptor's media type
        self.blob_override = None  # bytes: the blob as stored, overriding compression
        self.desc_extra = {}  # merged into the layer's descriptor (e.g. a wrong size)

    def _info(self, name, type_, mode, uid=0, gid=0, mtime=None):
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.mtime = int(time.time()) if mtime is None else mtime
        return ti

    def file(self, name, data=b"", mode=0o644, uid=0, gid=0, mtime=None, pax=None):
        ti = self._info(name, tarfile.REGTYPE, mode, uid, gid, mtime)
        ti.size = len(data)
        if pax:
            ti.pax_headers = dict(pax)
        self.entries.append((ti, data))
        return self

    def dir(self, name, mode=0o755, uid=0, gid=0, mtime=None, pax=None):
        ti = self._info(name, tarfile.DIRTYPE, mode, uid, gid, mtime)
        if pax:
            ti.pax_headers = dict(pax)
        self.entries.append((ti, None))
        return self

    def symlink(self, name, target, uid=0, gid=0):
        ti = self._info(name, tarfile.SYMTYPE, 0o777, uid, gid)
        ti.linkname = target
        self.entries.append((ti, None))
        return self

    def hardlink(self, name, target):
        ti = self._info(name, tarfile.LNKTYPE, 0o644)
        ti.linkname = target
        self.entries.append((ti, None))
        return self

    def device(self, name, kind="chr", major=1, minor=3, mode=0o666):
        ti = self._info(name, tarfile.CHRTYPE if kind == "chr" else tarfile.BLKTYPE, mode)
        ti.devmajor, ti.devminor = major, minor
        self.entries.append((ti, None))
        return self

    def fifo(self, name, mode=0o644):
        self.entries.append((self._info(name, tarfile.FIFOTYPE, mode), None))
        return self

    def whiteout(self, path):
        d, b = os.path.split(path)
        return self.file(os.path.join(d, ".wh." + b) if d else ".wh." + b)

    def opaque(self, dirpath):
        return self.file(os.path.join(dirpath, ".wh..wh..opq"))

    def tar(self):
        if self.raw is not None:
            return self.raw
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=self.fmt) as tf:
            for ti, data in self.entries:
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()

    def blob(self):
        if self.blob_override is not None:
            return self.blob_override
        raw = self.tar()
        if self.compression == "gzip":
            return gzip.compress(raw, compresslevel=1, mtime=0)
        if self.compression == "zstd":
            return subprocess.run(["zstd", "-q", "-c", "-3"], input=raw,
                                  capture_output=True, check=True).stdout
        return raw

    def mediatype(self):
        return self.media_type or MT_LAYER[self.compression]


def busybox_layer(compression="gzip", probe=False, extra_files=None):
    """A minimal userland: static busybox with its applet links, passwd and
    group files with a few users, and optionally the static probe at /probe."""
    lay = Layer(compression)
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "tmp", "root", "home",
              "home/app", "var", "proc", "sys", "dev", "run"):
        lay.dir(d, mode=0o1777 if d == "tmp" else 0o755,
                uid=1000 if d == "home/app" else 0, gid=1000 if d == "home/app" else 0)
    with open(BUSYBOX, "rb") as f:
        lay.file("bin/busybox", f.read(), mode=0o755)
    applets = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a == "bin/busybox":
            continue
        depth = a.count("/")  # bin/x -> busybox, usr/sbin/x -> ../../bin/busybox
        lay.symlink(a, "busybox" if a.startswith("bin/") else "../" * depth + "bin/busybox")
    lay.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
             b"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
             b"app:x:1000:1000:app user:/home/app:/bin/sh\n"
             b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    lay.file("etc/group", b"root:x:0:\ndaemon:x:1:\nwheel:x:10:app\n"
             b"audio:x:29:app,root\napp:x:1000:\nnogroup:x:65534:\n")
    if probe:
        with open(PROBE, "rb") as f:
            lay.file("probe", f.read(), mode=0o755)
    for name, data in (extra_files or {}).items():
        lay.file(name, data)
    return lay


class Image:
    def __init__(self, layers, config=None, name="test:latest", arch="amd64", os_="linux"):
        self.layers = layers
        self.config = dict(config or {})
        self.name = name
        self.arch = arch
        self.os = os_
        self.diff_ids = None  # override rootfs.diff_ids
        self.config_extra = {}  # merged into the top-level config JSON
        self.config_desc_extra = {}  # merged into the manifest's config descriptor
        self.manifest_extra = {}  # merged into the manifest JSON
        self.manifest_desc_extra = {}  # merged into the index's manifest descriptor

    def config_json(self):
        diff_ids = self.diff_ids or ["sha256:" + sha256(l.tar()) for l in self.layers]
        cfg = {"architecture": self.arch, "os": self.os,
               "config": self.config,
               "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        cfg.update(self.config_extra)
        return json.dumps(cfg).encode()


def _put_blob(blobdir, data):
    h = sha256(data)
    with open(os.path.join(blobdir, h), "wb") as f:
        f.write(data)
    return "sha256:" + h


def write_oci_layout(path, images, index_extra=None, nested_index=False):
    """Write an OCI image layout directory holding images.  Returns a dict
    with the digests written (for tests that tamper with them)."""
    if os.path.exists(path):
        shutil.rmtree(path)
    blobdir = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobdir)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    info = {"manifests": [], "layers": [], "configs": []}
    descs = []
    for img in images:
        layer_descs = []
        for lay in img.layers:
            b = lay.blob()
            d = _put_blob(blobdir, b)
            info["layers"].append(d)
            ld = {"mediaType": lay.mediatype(), "digest": d, "size": len(b)}
            ld.update(getattr(lay, "desc_extra", None) or {})
            layer_descs.append(ld)
        cj = img.config_json()
        cd = _put_blob(blobdir, cj)
        info["configs"].append(cd)
        cdesc = {"mediaType": MT_CONFIG, "digest": cd, "size": len(cj)}
        cdesc.update(getattr(img, "config_desc_extra", None) or {})
        mj = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc,
              "layers": layer_descs}
        mj.update(getattr(img, "manifest_extra", None) or {})
        man = json.dumps(mj).encode()
        md = _put_blob(blobdir, man)
        info["manifests"].append(md)
        desc = {"mediaType": MT_MANIFEST, "digest": md, "size": len(man),
                "platform": {"architecture": img.arch, "os": img.os}}
        desc.update(getattr(img, "manifest_desc_extra", None) or {})
        if img.name:
            desc["annotations"] = {"org.opencontainers.image.ref.name": img.name}
        descs.append(desc)
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": descs}
    if nested_index:
        inner = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX,
                            "manifests": descs}).encode()
        idig = _put_blob(blobdir, inner)
        index["manifests"] = [{"mediaType": MT_INDEX, "digest": idig, "size": len(inner)}]
    if index_extra:
        index.update(index_extra)
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(index, f)
    return info


def write_docker_save(path, images, mutate=None):
    """Write a legacy `docker save` tarball (manifest.json, <id>.json,
    <n>/layer.tar uncompressed).  mutate(members, manifest), when given, may
    edit the list of [name, bytes] members and the manifest.json list before
    the tarball is written (for hostile archives)."""
    buf = io.BytesIO()
    manifest = []
    members = []
    for img in images:
        layer_names = []
        for lay in img.layers:
            raw = lay.tar()
            n = sha256(raw) + "/layer.tar"
            members.append([n, raw])
            layer_names.append(n)
        cj = img.config_json()
        cname = sha256(cj) + ".json"
        members.append([cname, cj])
        manifest.append({"Config": cname, "RepoTags": [img.name] if img.name else None,
                         "Layers": layer_names})
    if mutate:
        mutate(members, manifest)
    members.append(["manifest.json", json.dumps(manifest).encode()])
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = int(time.time())
            tf.addfile(ti, io.BytesIO(data))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def busybox_image(name="busybox:latest", config=None, probe=False, compression="gzip"):
    cfg = {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    cfg.update(config or {})
    return Image([busybox_layer(compression, probe=probe)], config=cfg, name=name)
