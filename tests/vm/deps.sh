#!/usr/bin/env bash
# make deps-vm: everything the VM harness needs, idempotent and quick when done.
#   - qemu-system-x86 (+ kmod for depmod, busybox-static for the initramfs)
#   - Debian's generic kernel, downloaded (never installed on the host) and
#     unpacked under build/vm/kernel/, with modules.dep from `depmod -b`.
# Usage: tests/vm/deps.sh [BUILD_VM_DIR]      (default build/vm)
set -euo pipefail
cd "$(dirname "$0")/../.."
VM=${1:-build/vm}
APT_PKGS="qemu-system-x86 kmod busybox-static"

need=""
for p in $APT_PKGS; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	echo "deps-vm: installing$need"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
fi

# The kernel: the package linux-image-amd64 points at (e.g. linux-image-6.1.0-56-amd64).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
	apt-get update -qq
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$pkg" ] || { echo "deps-vm: cannot resolve the kernel package behind linux-image-amd64" >&2; exit 1; }
ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
want="$pkg $ver"

if [ -f "$VM/kernel/.pkg" ] && [ "$(cat "$VM/kernel/.pkg")" = "$want" ] &&
   ls "$VM"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
	echo "deps-vm: kernel $want already unpacked in $VM/kernel"
	exit 0
fi

echo "deps-vm: fetching $want (not installed on the host)"
mkdir -p "$VM/dl"
rm -f "$VM"/dl/*.deb
# apt's sandbox user cannot write into build/: download as root, quietly.
(cd "$VM/dl" && apt-get download -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null)
deb=$(ls "$VM"/dl/"${pkg}"_*.deb)
rm -rf "$VM/kernel.new" "$VM/kernel.old"
dpkg-deb -x "$deb" "$VM/kernel.new"
kver=$(ls "$VM/kernel.new/lib/modules")
PATH=$PATH:/usr/sbin:/sbin depmod -b "$VM/kernel.new" "$kver"
echo "$want" >"$VM/kernel.new/.pkg"
[ -d "$VM/kernel" ] && mv "$VM/kernel" "$VM/kernel.old"
mv "$VM/kernel.new" "$VM/kernel"
rm -rf "$VM/kernel.old" "$VM/dl"
echo "deps-vm: kernel $kver unpacked in $VM/kernel"
