/* berth runtime/ — private interfaces between the runtime's own files.
 * Nothing outside runtime/ (except runtime unit tests) includes this.
 *
 * Functions marked (child) run in the freshly cloned container process: they
 * never allocate, never call strerror() and fill errors with
 * berth_child_err() (see sync.h).
 */
#ifndef BERTH_RUNTIME_INTERNAL_H
#define BERTH_RUNTIME_INTERNAL_H

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "runtime/runtime.h"

/* glibc 2.36 has no openat2() wrapper. */
static inline int berth_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {.flags = (uint64_t)(unsigned)flags, .resolve = resolve};
	if (flags & O_CREAT)
		how.mode = 0644;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* ---- mounts.c (child) --------------------------------------------------- */

/* Mount fds the child holds while it builds the container's tree.  Every
 * field is an fd or -1. */
struct berth_mnt {
	int root; /* O_PATH fd of the attached root filesystem */
	int proc; /* root of the new proc mount */
	int sys;  /* root of the new sysfs mount */
	int dev;  /* root of the new /dev tmpfs */
};
#define BERTH_MNT_INIT {.root = -1, .proc = -1, .sys = -1, .dev = -1}
void berth_mnt_close(struct berth_mnt *m);

/* ROOTFS: "/" rprivate, move the detached rootfs_fd onto mountpoint, open it. */
int berth_mnt_attach_rootfs(int rootfs_fd, const char *mountpoint, struct berth_mnt *m,
			    struct berth_err *err);
/* MOUNTS: proc (nosuid,noexec,nodev) and sysfs (ro,nosuid,nodev,noexec). */
int berth_mnt_proc_sys(struct berth_mnt *m, struct berth_err *err);
/* DEV: the minimal /dev. */
int berth_mnt_dev(struct berth_mnt *m, struct berth_err *err);
/* MASK: masked paths (/dev/null or an empty read-only tmpfs) and read-only
 * paths below /proc and /sys. */
int berth_mnt_mask(struct berth_mnt *m, struct berth_err *err);
/* BINDS: attach each bind's detached mount on its target below m->root. */
int berth_mnt_binds(struct berth_mnt *m, const struct berth_bind *b, size_t n, struct berth_err *err);
/* PIVOT: pivot_root into m->root and detach the old root; cwd becomes "/". */
int berth_mnt_pivot(struct berth_mnt *m, struct berth_err *err);
/* READONLY: remount the (already pivoted) root mount read-only. */
int berth_mnt_readonly_root(struct berth_err *err);

/* ---- caps.c ------------------------------------------------------------- */

/* Prepared in the parent so the child only issues syscalls. */
struct berth_caps_plan {
	uint64_t keep;   /* bounding = permitted = effective after the switch */
	int last_cap;    /* highest capability the kernel knows */
	void *interim;   /* cap_t: keep | CAP_SYS_ADMIN, or NULL (see spawn.c) */
	void *final;     /* cap_t: permitted = effective = keep, inheritable = 0 */
};
/* (parent) with_sys_admin: also build the interim set that keeps
 * CAP_SYS_ADMIN until the seccomp filter is loaded. */
int berth_caps_plan_init(struct berth_caps_plan *p, uint64_t caps, bool with_sys_admin,
			 struct berth_err *err);
void berth_caps_plan_free(struct berth_caps_plan *p);

/* (child) */
int berth_rlimits_apply(const struct berth_rlimit *rl, size_t n, struct berth_err *err);
int berth_caps_drop_bounding(const struct berth_caps_plan *p, struct berth_err *err);
int berth_identity_switch(const struct berth_user *u, struct berth_err *err);
int berth_caps_set(void *cap, struct berth_err *err);
int berth_caps_clear_ambient(struct berth_err *err);

/* ---- seccomp.c ---------------------------------------------------------- */

const struct sock_fprog *berth_seccomp_fprog(const struct berth_seccomp *sc);
/* (child) seccomp(SECCOMP_SET_MODE_FILTER, 0, prog). */
int berth_seccomp_load(const struct berth_seccomp *sc, struct berth_err *err);

/* Where the last berth_seccomp_default() call got its program from. */
enum berth_seccomp_source {
	BERTH_SECCOMP_NONE = 0,
	BERTH_SECCOMP_FROM_MEMORY,
	BERTH_SECCOMP_FROM_DISK,
	BERTH_SECCOMP_COMPILED,
};
enum berth_seccomp_source berth_seccomp_last_source(void);
/* Forget the in-process cache (tests, benchmarks).  Pointers handed out
 * earlier stay valid: the old program is leaked on purpose. */
void berth_seccomp_cache_forget(void);
/* Path of the disk cache file for the default profile below cache_dir. */
int berth_seccomp_cache_path(const char *cache_dir, char *buf, size_t len,
			     struct berth_err *err);

/* ---- cgroup.c ------------------------------------------------------------ */

/* Write value to cgfd/file with one write() (O_WRONLY|O_CLOEXEC|O_NOFOLLOW;
 * a symlink is refused with ELOOP).  err->errnum is the kernel's errno. */
int berth_cgroup_write_file(int cgfd, const char *file, const char *value,
			    struct berth_err *err);
/* Kill everything in cgfd and below and wait (bounded) for populated 0.
 * use_freezer forces the pre-5.14 path (freeze, SIGKILL each pid, thaw);
 * otherwise it is only used when cgroup.kill is missing. */
int berth_cgroup_kill(int cgfd, bool use_freezer, struct berth_err *err);

/* ---- mounts.c: cgroup2 (child) ------------------------------------------ */

/* MOUNTS: a read-only cgroup2 (nosuid,nodev,noexec) on /sys/fs/cgroup of the
 * container, rooted at the container's cgroup namespace.  Call only after
 * unshare(CLONE_NEWCGROUP): a cgroup2 mount made from the initial cgroup
 * namespace resets the host's mount options (nsdelegate, ...).  Returns 0
 * without mounting when the kernel has no cgroup2 (ENODEV) or refuses it
 * (EPERM). */
int berth_mnt_cgroup(struct berth_mnt *m, struct berth_err *err);

/* ---- netlo.c (child) ---------------------------------------------------- */

/* RTM_NEWLINK ifindex 1 IFF_UP over NETLINK_ROUTE, with NLM_F_ACK; the
 * kernel's extended-ack text ends up in err. */
int berth_netlo_up(struct berth_err *err);

#endif
