#!/usr/bin/env python3
"""Build an example OCI image layout from the host's busybox-static.

    python3 tests/integration/mkimage.py busybox DIR [--probe] [--name NAME]

Used by `make example-image` (README) and by the benchmarks."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ociimg  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["busybox"])
    ap.add_argument("dir")
    ap.add_argument("--name", default="busybox:latest")
    ap.add_argument("--probe", action="store_true", help="add the static test probe as /probe")
    a = ap.parse_args()
    if not os.path.exists(ociimg.BUSYBOX):
        sys.exit("mkimage: %s not found: install busybox-static (make deps)" % ociimg.BUSYBOX)
    img = ociimg.busybox_image(name=a.name, probe=a.probe)
    ociimg.write_oci_layout(a.dir, [img])
    print("wrote %s (%s)" % (a.dir, a.name))


if __name__ == "__main__":
    main()
