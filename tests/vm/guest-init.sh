#!/run/vm/bin/sh
# PID 1 of the test VM, run by the initramfs's static busybox (copied to
# /run/vm/bin, alone on PATH during setup) after switch_root into an overlay
# of the host's / (read-only 9p lower, tmpfs upper; /proc, /sys, /dev and
# /run already mounted there by tests/vm/init).  Sets the guest up the way a
# cgroup-v2 production host looks, runs the job the host left in the results
# share, records its exit status there and powers off.
#
# Results share (virtfs mount_tag "results", mounted at /run/vm/results):
#   job.sh   written by the host: the command to run (bash), cd's to the repo
#   mode     "batch" (default) or "shell" (interactive bash on ttyS0)
#   started  written here: guest uptime (s) when the job starts
#   stdout, stderr, status   written here (stdout/stderr in batch mode only)
set -u
BB=/run/vm/bin
export PATH=$BB
export HOME=/root LANG=C.UTF-8
R=/run/vm/results

say() { echo "berth-vm: $*" >/dev/console; }
halt_now() {
	sync
	echo o >/proc/sysrq-trigger 2>/dev/null
	sleep 2
	poweroff -f 2>/dev/null || reboot -f
	sleep 30
}
die() {
	say "$*"
	echo "BERTH-VM-FAILED guest-init" >/dev/console
	halt_now
}
mnt() { # mnt TYPE SOURCE TARGET OPTIONS
	mkdir -p "$3"
	mount -t "$1" -o "$4" "$2" "$3" || die "mount -t $1 $3 failed"
}

mnt devpts devpts /dev/pts nosuid,noexec,gid=5,mode=0620,ptmxmode=0666
mnt tmpfs shm /dev/shm nosuid,nodev,mode=1777
mnt mqueue mqueue /dev/mqueue nosuid,nodev,noexec
# The repository (with the kernel tree in build/vm) may itself live under the
# host's /tmp (a CI clone, say): keep it visible below the guest's fresh /tmp.
repo=
for arg in $(cat /proc/cmdline); do
	case "$arg" in berthvm_init=*) repo=${arg#berthvm_init=}; repo=${repo%/tests/vm/guest-init.sh} ;; esac
done
keep=
case "$repo" in
/tmp/*)
	keep=/.berth-repo
	mkdir -p $keep && mount -o bind "$repo" $keep || die "cannot keep $repo visible"
	;;
esac
mnt tmpfs tmp /tmp nosuid,nodev,mode=1777
if [ -n "$keep" ]; then
	mkdir -p "$repo" && mount -o bind $keep "$repo" || die "cannot bind $repo back under /tmp"
fi
# cgroup v2, unified, mounted the way systemd mounts it on a production host.
mnt cgroup2 cgroup2 /sys/fs/cgroup nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot
# berth's state needs a filesystem with overlayfs upper dirs and trusted.*
# xattrs: tmpfs, not the overlay root.
mnt tmpfs berth /var/lib/berth mode=0700
mount -t securityfs -o nosuid,nodev,noexec securityfs /sys/kernel/security 2>/dev/null
mount -t bpf -o nosuid,nodev,noexec,mode=700 bpf /sys/fs/bpf 2>/dev/null

# Every available controller enabled for the root's children (cpu, memory and
# pids are what berth needs; their absence is a harness failure).
read -r ctrls </sys/fs/cgroup/cgroup.controllers
for c in $ctrls; do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || say "cannot enable $c"; done
read -r enabled </sys/fs/cgroup/cgroup.subtree_control
for c in cpu memory pids; do
	case " $enabled " in *" $c "*) ;; *) die "cgroup v2 controller $c not available (controllers: $ctrls; enabled: $enabled)" ;; esac
done

moddir=
for arg in $(cat /proc/cmdline); do
	case "$arg" in berthvm_modules=*) moddir=${arg#berthvm_modules=} ;; esac
done
# The unpacked kernel's whole module tree from the host share, so the kernel
# can autoload anything else through /sbin/modprobe (request_module).
if [ -n "$moddir" ] && [ -d "$moddir" ]; then
	kmods=$(readlink -f /lib/modules)/$(uname -r)
	mkdir -p "$kmods"
	mount -o bind "$moddir" "$kmods" && mount -o remount,bind,ro "$kmods" ||
		say "cannot bind the module tree"
fi

hostname berth-vm
echo berth-vm >/etc/hostname
ip link set lo up || die "cannot bring up lo"
# RLIMIT_NOFILE as systemd sets it on production hosts.
ulimit -Hn 524288 && ulimit -Sn 1024
umask 022

mnt 9p results $R trans=virtio,version=9p2000.L,msize=512000,cache=none
[ -f $R/job.sh ] || die "no job.sh in the results share"
mode=batch
[ -f $R/mode ] && read -r mode <$R/mode

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
read -r up _ </proc/uptime
echo "$up" >$R/started
if [ "$mode" = shell ]; then
	# An interactive shell with ttyS0 as its controlling terminal.
	$BB/setsid -c /bin/bash --rcfile $R/job.sh -i </dev/ttyS0 >/dev/ttyS0 2>&1
	echo $? >$R/status
else
	/bin/bash $R/job.sh </dev/null >$R/stdout 2>$R/stderr
	echo $? >$R/status
fi
halt_now
