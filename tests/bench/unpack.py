#!/usr/bin/python3
"""Layer unpack: `berth image load` vs `tar -xzf` and `bsdtar -xzf`, on the host.

Needs no container start, so it runs on the host, on a tmpfs mounted for the
purpose under /tmp (unmounted again at the end, whatever happens).  The layer
is made at bench time from real files in /usr (Python's library, then
/usr/share subdirectories in name order until BERTH_BENCH_LAYER_MB of file
data, default 400, at least 100), as one .tar.gz (gzip -6) in an OCI layout.

Each of BERTH_BENCH_UNPACK_REPS rounds (default 3) extracts the same blob
into a fresh directory with each method (interleaved); berth loads the
layout into a fresh state root, then loads it a second time (its layer is
already there: nothing to unpack).  Result: one line "BENCH-RESULT {json}"."""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BERTH, env_int, machine, median  # noqa: E402


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def tree_bytes(path):
    n = 0
    for root, dirs, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(root, f))
            except OSError:
                continue
            n += st.st_size
    return n


def choose_paths(target):
    """Relative paths under / adding up to about target bytes of file data."""
    picks, total = [], 0
    cands = sorted(glob.glob("/usr/lib/python3*")) + sorted(
        p for p in glob.glob("/usr/share/*") if os.path.isdir(p) and not os.path.islink(p))
    for p in cands:
        if total >= target:
            break
        b = tree_bytes(p)
        if b == 0:
            continue
        picks.append(p.lstrip("/"))
        total += b
    return picks, total


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def write_blob(layout, data=None, path=None):
    d = os.path.join(layout, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    if path:
        hexd = sha256_file(path)
        size = os.path.getsize(path)
        os.rename(path, os.path.join(d, hexd))
    else:
        hexd = hashlib.sha256(data).hexdigest()
        size = len(data)
        with open(os.path.join(d, hexd), "wb") as f:
            f.write(data)
    return "sha256:" + hexd, size


def build_layout(work, target):
    paths, data_bytes = choose_paths(target)
    tar_path = os.path.join(work, "layer.tar")
    log("unpack: making the layer from %d directories (%.0f MB of files): %s%s" % (
        len(paths), data_bytes / 1e6, " ".join("/" + p for p in paths[:6]),
        " ..." if len(paths) > 6 else ""))
    subprocess.run(["tar", "-C", "/", "--warning=no-file-changed", "-cf", tar_path] + paths,
                   check=True)
    stats = {"entries": 0, "files": 0, "dirs": 0, "symlinks": 0, "hardlinks": 0, "file_bytes": 0}
    with tarfile.open(tar_path, "r:") as tf:
        for ti in tf:
            stats["entries"] += 1
            if ti.isreg():
                stats["files"] += 1
                stats["file_bytes"] += ti.size
            elif ti.isdir():
                stats["dirs"] += 1
            elif ti.issym():
                stats["symlinks"] += 1
            elif ti.islnk():
                stats["hardlinks"] += 1
    stats["tar_bytes"] = os.path.getsize(tar_path)
    diff_id = "sha256:" + sha256_file(tar_path)
    gz = tar_path + ".gz"
    with open(gz, "wb") as out:
        subprocess.run(["gzip", "-6", "-n", "-c", tar_path], stdout=out, check=True)
    os.unlink(tar_path)
    layout = os.path.join(work, "layout")
    layer_digest, layer_size = write_blob(layout, path=gz)
    stats["gz_bytes"] = layer_size
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cfg_digest, cfg_size = write_blob(layout, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cfg_digest, "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}]}).encode()
    man_digest, man_size = write_blob(layout, manifest)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest,
            "size": man_size, "annotations": {"org.opencontainers.image.ref.name": "big:latest"}}]},
            f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    blob = os.path.join(layout, "blobs", "sha256", layer_digest[7:])
    return layout, blob, paths, stats


def timed_run(argv):
    t0 = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit("bench: %s failed (%d): %s" % (" ".join(argv), r.returncode,
                                                        r.stderr.strip()[-500:]))
    return dt


def count_tree(path):
    n = 0
    for root, dirs, files in os.walk(path):
        n += len(dirs) + len(files)
    return n


def main():
    target = max(100, env_int("BERTH_BENCH_LAYER_MB", 400)) * 1000 * 1000
    reps = max(1, env_int("BERTH_BENCH_UNPACK_REPS", 3))
    bsdtar = shutil.which("bsdtar")
    out = {"machine": machine("host")}
    work = tempfile.mkdtemp(prefix="berth-bench-", dir="/tmp")
    size_mb = max(2048, 4 * target // (1000 * 1000) + 512)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dM,mode=0700" % size_mb,
                    "berth-bench", work], check=True)
    try:
        layout, blob, paths, stats = build_layout(work, target)
        out["layer"] = dict(stats, paths=["/" + p for p in paths])
        times = {"tar -xzf": [], "bsdtar -xzf": [], "berth image load": [],
                 "berth image load (again)": []}
        if not bsdtar:
            del times["bsdtar -xzf"]
        extracted = {}
        for rep in range(reps):
            for method in list(times):
                if method == "berth image load (again)":
                    continue
                dest = os.path.join(work, "x")
                if method == "berth image load":
                    root = os.path.join(work, "root")
                    dt = timed_run([BERTH, "--root", root, "image", "load", layout])
                    times[method].append(dt)
                    times["berth image load (again)"].append(
                        timed_run([BERTH, "--root", root, "image", "load", layout]))
                    lay = glob.glob(os.path.join(root, "images", "layers", "*"))
                    if len(lay) != 1:
                        raise SystemExit("bench: berth stored %d layers, expected 1" % len(lay))
                    if rep == 0:
                        extracted[method] = count_tree(lay[0])
                    shutil.rmtree(root)
                else:
                    os.mkdir(dest)
                    tool = "tar" if method.startswith("tar") else bsdtar
                    times[method].append(timed_run([tool, "-xzf", blob, "-C", dest]))
                    if rep == 0:
                        extracted[method] = count_tree(dest)
                    shutil.rmtree(dest)
                log("unpack: round %d %s: %.2fs" % (rep + 1, method, times[method][-1]))
        out["reps"] = reps
        out["extracted_entries"] = extracted
        res = {}
        for method, ts in times.items():
            med = median(ts)
            r = {"s": med, "all_s": ts}
            if method != "berth image load (again)":
                r["mb_s"] = stats["tar_bytes"] / 1e6 / med
                r["entries_s"] = stats["entries"] / med
            res[method] = r
        out["methods"] = res
    finally:
        subprocess.run(["umount", work])
        os.rmdir(work)
    print("BENCH-RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
