/* berth runtime/ — the container's mount tree, built by fd with the new mount
 * API (fsopen/fsconfig/fsmount/move_mount/open_tree/mount_setattr).
 *
 * Every mount target is resolved by fd: the top-level directories relative to
 * the attached rootfs (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS), and the
 * masked/read-only paths relative to the mount that was just made
 * (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV), so a symlink planted
 * in the image can never redirect a mount (CVE-2019-19921, CVE-2025-31133,
 * CVE-2026-41579).  Everything except berth_rootfs_from_dir() runs in the
 * cloned child: no allocation, errors through berth_child_err().
 *
 * Kernel 6.1 note: move_mount() onto a *detached* tree is only possible from
 * 6.15 on, so /dev is populated (nodes, directories, links) through the
 * detached fsmount fd, attached, and only then gets its pts/shm/mqueue
 * submounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"
#include "runtime/sync.h"

/* Raw syscalls: independent of the libc's mount-API wrappers. */
static int sys_fsopen(const char *fs, unsigned flags)
{
	return (int)syscall(SYS_fsopen, fs, flags);
}
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *val, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attr)
{
	return (int)syscall(SYS_fsmount, fd, flags, attr);
}
static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned fl)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, fl);
}
static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}
static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *a)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, a, sizeof(*a));
}
static int sys_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void berth_mnt_close(struct berth_mnt *m)
{
	close_fd(&m->root);
	close_fd(&m->proc);
	close_fd(&m->sys);
	close_fd(&m->dev);
}

/* ---- helpers -------------------------------------------------------------- */

/* Append the filesystem context's log (the kernel's reason) to err. */
static int fs_fail(int fsfd, struct berth_err *err, int e, const char *what, const char *fs)
{
	char log[256];
	ssize_t n = -1;
	if (fsfd >= 0)
		n = read(fsfd, log, sizeof(log) - 1);
	if (n > 2) {
		log[n] = '\0';
		if (log[n - 1] == '\n')
			log[n - 1] = '\0';
		/* Messages look like "e tmpfs: Bad value for 'mode'". */
		return berth_child_err(err, e, "%s %s (%s)", what, fs, log + 2);
	}
	return berth_child_err(err, e, "%s %s", what, fs);
}

struct fs_opt {
	const char *key;
	const char *val; /* NULL: a flag */
};

/* fsconfig + create + fsmount on an fsopen()ed context; returns the
 * detached mount fd. */
static int make_fs_from(int fsfd, const char *fs, const struct fs_opt *opts, size_t nopts,
			unsigned attr, struct berth_err *err)
{
	/* The source shows up in mountinfo; name it after the filesystem. */
	if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING, "source", fs, 0) < 0)
		return fs_fail(fsfd, err, errno, "set the source of", fs);
	for (size_t i = 0; i < nopts; i++) {
		int r = opts[i].val ? sys_fsconfig(fsfd, FSCONFIG_SET_STRING, opts[i].key,
						   opts[i].val, 0)
				    : sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, opts[i].key, NULL, 0);
		if (r < 0) {
			int e = errno;
			fs_fail(fsfd, err, e, "configure", fs);
			return berth_err_wrap(err, "option %s", opts[i].key);
		}
	}
	if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_fail(fsfd, err, errno, "create", fs);
	int mfd = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, attr);
	if (mfd < 0)
		return fs_fail(fsfd, err, errno, "fsmount", fs);
	return mfd;
}

/* fsopen + make_fs_from. */
static int make_fs(const char *fs, const struct fs_opt *opts, size_t nopts, unsigned attr,
		   struct berth_err *err)
{
	_cleanup_close_ int fsfd = sys_fsopen(fs, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return berth_child_err(err, errno, "fsopen %s", fs);
	return make_fs_from(fsfd, fs, opts, nopts, attr, err);
}

/* Attach the detached mount mfd on the directory/file fd target. */
static int attach(int mfd, int target, const char *where, struct berth_err *err)
{
	if (sys_move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return berth_child_err(err, errno, "attach mount on %s", where);
	return 0;
}

/* Resolve a top-level directory (name has no slash) of the container's root
 * to an O_PATH fd, creating it when missing.  A symlink or a non-directory is
 * refused: mounting over it would follow it. */
static int open_root_dir(int root, const char *name, struct berth_err *err)
{
	const uint64_t res = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	const int fl = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = berth_openat2(root, name, fl, res);
		if (fd >= 0)
			return fd;
		int e = errno;
		struct stat st;
		if (e == ENOENT && attempt == 0) {
			if (mkdirat(root, name, 0755) < 0 && errno != EEXIST)
				return berth_child_err(err, errno, "create /%s in the image", name);
			continue;
		}
		if (fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISLNK(st.st_mode))
				return berth_child_err(err, 0,
						       "the image's /%s is a symlink; refusing to mount "
						       "over it (make it a plain directory in the image)",
						       name);
			if (!S_ISDIR(st.st_mode))
				return berth_child_err(err, 0,
						       "the image's /%s is not a directory; refusing to "
						       "mount over it (make it a plain directory in the image)",
						       name);
		}
		return berth_child_err(err, e, "open /%s in the image", name);
	}
	return berth_child_err(err, ENOENT, "open /%s in the image", name);
}

/* Resolve path strictly below base (a mount root) without symlinks or mount
 * crossings.  Returns the fd, -2 when it does not exist, -1 on error. */
static int open_beneath(int base, const char *path, int flags, const char *shown,
			struct berth_err *err)
{
	int fd = berth_openat2(base, path, flags | O_CLOEXEC | O_NOFOLLOW,
			       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
				       RESOLVE_NO_XDEV);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return -2;
	return berth_child_err(err, errno, "open %s", shown);
}

/* ---- ROOTFS --------------------------------------------------------------- */

int berth_mnt_attach_rootfs(int rootfs_fd, const char *mountpoint, struct berth_mnt *m,
			    struct berth_err *err)
{
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return berth_child_err(err, errno, "make / private in the container's mount namespace");
	if (sys_move_mount(rootfs_fd, "", AT_FDCWD, mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return berth_child_err(err, errno, "attach the root filesystem on %s", mountpoint);
	int fd = open(mountpoint, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berth_child_err(err, errno, "open %s", mountpoint);
	m->root = fd;
	/* The directory we opened must be the root of the mount we attached. */
	struct stat a, b;
	if (fstat(fd, &a) < 0 || fstat(rootfs_fd, &b) < 0)
		return berth_child_err(err, errno, "stat %s", mountpoint);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return berth_child_err(err, 0, "%s does not show the attached root filesystem",
				       mountpoint);
	return 0;
}

/* ---- MOUNTS: /proc and /sys ------------------------------------------------ */

int berth_mnt_proc_sys(struct berth_mnt *m, struct berth_err *err)
{
	_cleanup_close_ int pdir = open_root_dir(m->root, "proc", err);
	if (pdir < 0)
		return -1;
	int pm = make_fs("proc", NULL, 0, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV,
			 err);
	if (pm < 0)
		return berth_err_wrap(err, "/proc");
	m->proc = pm;
	if (attach(pm, pdir, "/proc", err) < 0)
		return -1;

	_cleanup_close_ int sdir = open_root_dir(m->root, "sys", err);
	if (sdir < 0)
		return -1;
	int sm = make_fs("sysfs", NULL, 0,
			 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
			 err);
	if (sm < 0)
		return berth_err_wrap(err, "/sys");
	m->sys = sm;
	return attach(sm, sdir, "/sys", err);
}

/* ---- MOUNTS: /sys/fs/cgroup ------------------------------------------------- */

int berth_mnt_cgroup(struct berth_mnt *m, struct berth_err *err)
{
	/* The superblock options of cgroup2 are global, and a mount made from
	 * the initial cgroup namespace re-applies them (apply_cgroup_root_flags):
	 * refuse to mount unless we are in a cgroup namespace of our own. */
	struct stat self, init;
	if (stat("/proc/self/ns/cgroup", &self) == 0 && stat("/proc/1/ns/cgroup", &init) == 0 &&
	    self.st_ino == init.st_ino && self.st_dev == init.st_dev)
		return berth_child_err(err, 0, "not in a cgroup namespace of its own: refusing to "
				       "mount cgroup2 (it would reset the host's cgroup2 options)");
	_cleanup_close_ int fsfd = sys_fsopen("cgroup2", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		if (errno == ENODEV || errno == EPERM)
			return 0; /* no cgroup2 in this kernel, or not ours to mount */
		return berth_child_err(err, errno, "fsopen cgroup2");
	}
	_cleanup_close_ int dir = open_beneath(m->sys, "fs/cgroup", O_PATH | O_DIRECTORY,
					       "/sys/fs/cgroup", err);
	if (dir == -2)
		return 0; /* a sysfs without the mount point: nothing to mount on */
	if (dir < 0)
		return -1;
	_cleanup_close_ int mfd = make_fs_from(fsfd, "cgroup2", NULL, 0,
					       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
					       err);
	if (mfd < 0)
		return berth_err_wrap(err, "/sys/fs/cgroup");
	return attach(mfd, dir, "/sys/fs/cgroup", err);
}

/* ---- DEV ------------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const struct {
	const char *name, *target;
} dev_links[] = {
	{"ptmx", "pts/ptmx"},
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	{"core", "/proc/kcore"},
};

static int dev_submount(int devmnt, const char *name, const char *fs, const struct fs_opt *opts,
			size_t nopts, unsigned attr, struct berth_err *err)
{
	char shown[32];
	snprintf(shown, sizeof(shown), "/dev/%s", name);
	_cleanup_close_ int dir = open_beneath(devmnt, name, O_PATH | O_DIRECTORY, shown, err);
	if (dir == -2)
		return berth_child_err(err, ENOENT, "open %s", shown);
	if (dir < 0)
		return -1;
	_cleanup_close_ int mfd = make_fs(fs, opts, nopts, attr, err);
	if (mfd < 0)
		return berth_err_wrap(err, "%s", shown);
	return attach(mfd, dir, shown, err);
}

int berth_mnt_dev(struct berth_mnt *m, struct berth_err *err)
{
	static const struct fs_opt dev_opts[] = {{"mode", "755"}, {"size", "65536k"}};
	int dm = make_fs("tmpfs", dev_opts, 2,
			 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_STRICTATIME, err);
	if (dm < 0)
		return berth_err_wrap(err, "/dev");
	m->dev = dm;

	/* Populate while detached: nothing in the container can see it yet. */
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		if (mknodat(dm, dev_nodes[i].name, S_IFCHR | 0666,
			    makedev(dev_nodes[i].major, dev_nodes[i].minor)) < 0)
			return berth_child_err(err, errno, "mknod /dev/%s", dev_nodes[i].name);
		/* umask is 0 in the child, but never trust it for device modes. */
		if (fchmodat(dm, dev_nodes[i].name, 0666, 0) < 0)
			return berth_child_err(err, errno, "chmod /dev/%s", dev_nodes[i].name);
	}
	if (mkdirat(dm, "pts", 0755) < 0)
		return berth_child_err(err, errno, "mkdir /dev/pts");
	if (mkdirat(dm, "shm", 01777) < 0)
		return berth_child_err(err, errno, "mkdir /dev/shm");
	if (mkdirat(dm, "mqueue", 0755) < 0)
		return berth_child_err(err, errno, "mkdir /dev/mqueue");
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		if (symlinkat(dev_links[i].target, dm, dev_links[i].name) < 0)
			return berth_child_err(err, errno, "symlink /dev/%s", dev_links[i].name);

	_cleanup_close_ int ddir = open_root_dir(m->root, "dev", err);
	if (ddir < 0)
		return -1;
	if (attach(dm, ddir, "/dev", err) < 0)
		return -1;

	static const struct fs_opt pts_opts[] = {
		{"newinstance", NULL}, {"ptmxmode", "0666"}, {"mode", "0620"}, {"gid", "5"}};
	if (dev_submount(dm, "pts", "devpts", pts_opts, 4, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
			 err) < 0)
		return -1;
	static const struct fs_opt shm_opts[] = {{"mode", "1777"}, {"size", "65536k"}};
	if (dev_submount(dm, "shm", "tmpfs", shm_opts, 2,
			 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err) < 0)
		return -1;
	return dev_submount(dm, "mqueue", "mqueue", NULL, 0,
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, err);
}

/* ---- MASK ------------------------------------------------------------------ */

enum base { BASE_PROC, BASE_SYS };
static const struct {
	enum base base;
	const char *path;
} masked_paths[] = {
	{BASE_PROC, "acpi"},          {BASE_PROC, "kcore"},       {BASE_PROC, "keys"},
	{BASE_PROC, "latency_stats"}, {BASE_PROC, "timer_list"},  {BASE_PROC, "timer_stats"},
	{BASE_PROC, "sched_debug"},   {BASE_PROC, "scsi"},        {BASE_PROC, "interrupts"},
	{BASE_PROC, "asound"},        {BASE_SYS, "firmware"},     {BASE_SYS, "devices/virtual/powercap"},
};
static const char *const readonly_proc_paths[] = {"bus", "fs", "irq", "sys", "sysrq-trigger"};

struct masker {
	int devnull; /* O_PATH fd of the container's /dev/null, verified 1:3 */
	int empty;   /* root of the read-only empty tmpfs once attached, else -1 */
};

static int mask_one(struct masker *mk, int base, const char *rel, const char *shown,
		    struct berth_err *err)
{
	_cleanup_close_ int target = open_beneath(base, rel, O_PATH, shown, err);
	if (target == -2)
		return 0; /* nothing to hide on this kernel */
	if (target < 0)
		return -1;
	struct stat st;
	if (fstat(target, &st) < 0)
		return berth_child_err(err, errno, "stat %s", shown);
	if (!S_ISDIR(st.st_mode)) {
		_cleanup_close_ int c = sys_open_tree(mk->devnull, "",
						      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (c < 0)
			return berth_child_err(err, errno, "clone /dev/null to mask %s", shown);
		if (attach(c, target, shown, err) < 0)
			return berth_err_wrap(err, "mask %s", shown);
		return 0;
	}
	if (mk->empty < 0) {
		int t = make_fs("tmpfs", NULL, 0,
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					MOUNT_ATTR_NOEXEC,
				err);
		if (t < 0)
			return berth_err_wrap(err, "mask %s", shown);
		if (attach(t, target, shown, err) < 0) {
			close(t);
			return berth_err_wrap(err, "mask %s", shown);
		}
		mk->empty = t; /* attached now: later masks clone it */
		return 0;
	}
	_cleanup_close_ int c =
		sys_open_tree(mk->empty, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (c < 0)
		return berth_child_err(err, errno, "clone the empty tmpfs to mask %s", shown);
	if (attach(c, target, shown, err) < 0)
		return berth_err_wrap(err, "mask %s", shown);
	return 0;
}

static int readonly_one(int base, const char *rel, const char *shown, struct berth_err *err)
{
	_cleanup_close_ int target = open_beneath(base, rel, O_PATH, shown, err);
	if (target == -2)
		return 0;
	if (target < 0)
		return -1;
	_cleanup_close_ int c =
		sys_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (c < 0)
		return berth_child_err(err, errno, "bind %s", shown);
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					   MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	if (sys_mount_setattr(c, "", AT_EMPTY_PATH, &a) < 0)
		return berth_child_err(err, errno, "make %s read-only", shown);
	if (attach(c, target, shown, err) < 0)
		return berth_err_wrap(err, "make %s read-only", shown);
	return 0;
}

int berth_mnt_mask(struct berth_mnt *m, struct berth_err *err)
{
	struct masker mk = {.devnull = -1, .empty = -1};
	int ret = -1;
	/* CVE-2025-31133: mask with *our* /dev/null, checked to be char 1:3. */
	mk.devnull = open_beneath(m->dev, "null", O_PATH, "/dev/null", err);
	if (mk.devnull == -2) {
		berth_child_err(err, ENOENT, "open /dev/null");
		mk.devnull = -1;
		goto out;
	}
	if (mk.devnull < 0)
		goto out;
	struct stat st;
	if (fstat(mk.devnull, &st) < 0) {
		berth_child_err(err, errno, "stat /dev/null");
		goto out;
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
		berth_child_err(err, 0, "/dev/null is not the null device (char 1:3)");
		goto out;
	}

	char shown[96];
	for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++) {
		int base = masked_paths[i].base == BASE_PROC ? m->proc : m->sys;
		snprintf(shown, sizeof(shown), "%s/%s",
			 masked_paths[i].base == BASE_PROC ? "/proc" : "/sys", masked_paths[i].path);
		if (mask_one(&mk, base, masked_paths[i].path, shown, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < sizeof(readonly_proc_paths) / sizeof(readonly_proc_paths[0]); i++) {
		snprintf(shown, sizeof(shown), "/proc/%s", readonly_proc_paths[i]);
		if (readonly_one(m->proc, readonly_proc_paths[i], shown, err) < 0)
			goto out;
	}
	ret = 0;
out:
	close_fd(&mk.devnull);
	close_fd(&mk.empty);
	return ret;
}

/* ---- PIVOT / READONLY ------------------------------------------------------ */

/* ---- BINDS ------------------------------------------------------------------ */

/* Create the missing parents of path below root (no symlinks followed while
 * creating: each component is resolved inside the root). */
static int make_parents(int root, const char *path, struct berth_err *err)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		int fd = berth_openat2(root, buf, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (fd >= 0) {
			close(fd);
		} else if (errno != ENOENT) {
			return berth_child_err(err, errno, "open %s in the container", buf);
		} else {
			char *slash = strrchr(buf, '/');
			*slash = '\0';
			_cleanup_close_ int dfd = berth_openat2(root, buf[0] ? buf : "/", O_PATH | O_DIRECTORY | O_CLOEXEC,
								RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
			*slash = '/';
			if (dfd < 0 || (mkdirat(dfd, slash + 1, 0755) < 0 && errno != EEXIST))
				return berth_child_err(err, errno, "create %s in the container", buf);
		}
		*p = '/';
	}
	return 0;
}

/* The mount point for one bind: the target resolved inside the root (a
 * symlink is followed, but only within the root), created when missing.  A
 * dangling symlink whose target cannot be created is replaced by an empty
 * file (in the container's own upper layer). */
static int bind_target(int root, const char *target, bool dir, struct berth_err *err)
{
	const uint64_t res = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	int fd = berth_openat2(root, target, O_PATH | O_CLOEXEC, res);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return berth_child_err(err, errno, "open %s in the container", target);
	if (make_parents(root, target, err) < 0)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (dir) {
			_cleanup_close_ int pfd = -1;
			char buf[PATH_MAX];
			snprintf(buf, sizeof(buf), "%s", target);
			char *slash = strrchr(buf, '/');
			*slash = '\0';
			pfd = berth_openat2(root, buf[0] ? buf : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, res);
			if (pfd < 0 || (mkdirat(pfd, slash + 1, 0755) < 0 && errno != EEXIST))
				return berth_child_err(err, errno, "create %s in the container", target);
		} else {
			int cfd = berth_openat2(root, target, O_CREAT | O_WRONLY | O_CLOEXEC, res);
			if (cfd >= 0) {
				close(cfd);
			} else if (errno == ENOENT && attempt == 0) {
				/* A dangling symlink into a missing directory: replace it. */
				char buf[PATH_MAX];
				snprintf(buf, sizeof(buf), "%s", target);
				char *slash = strrchr(buf, '/');
				*slash = '\0';
				_cleanup_close_ int pfd = berth_openat2(root, buf[0] ? buf : "/",
									O_PATH | O_DIRECTORY | O_CLOEXEC, res);
				struct stat st;
				if (pfd < 0 || fstatat(pfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
				    !S_ISLNK(st.st_mode) || unlinkat(pfd, slash + 1, 0) < 0)
					return berth_child_err(err, ENOENT, "create %s in the container", target);
				continue;
			} else {
				return berth_child_err(err, errno, "create %s in the container", target);
			}
		}
		fd = berth_openat2(root, target, O_PATH | O_CLOEXEC, res);
		if (fd >= 0)
			return fd;
		break;
	}
	return berth_child_err(err, errno, "open %s in the container", target);
}

int berth_mnt_binds(struct berth_mnt *m, const struct berth_bind *b, size_t n, struct berth_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct stat src, dst;
		if (fstat(b[i].fd, &src) < 0)
			return berth_child_err(err, errno, "bind for %s", b[i].target);
		_cleanup_close_ int t = bind_target(m->root, b[i].target, S_ISDIR(src.st_mode), err);
		if (t < 0)
			return -1;
		if (fstat(t, &dst) < 0)
			return berth_child_err(err, errno, "stat %s in the container", b[i].target);
		if (S_ISDIR(src.st_mode) != S_ISDIR(dst.st_mode))
			return berth_child_err(err, 0, "%s in the container is %s a directory; cannot mount a %s on it",
					       b[i].target, S_ISDIR(dst.st_mode) ? "" : "not",
					       S_ISDIR(src.st_mode) ? "directory" : "file");
		struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						   (b[i].readonly ? MOUNT_ATTR_RDONLY : 0)};
		if (sys_mount_setattr(b[i].fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a) < 0)
			return berth_child_err(err, errno, "set the flags of the mount for %s", b[i].target);
		if (attach(b[i].fd, t, b[i].target, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- PIVOT ------------------------------------------------------------------ */

int berth_mnt_pivot(struct berth_mnt *m, struct berth_err *err)
{
	if (fchdir(m->root) < 0)
		return berth_child_err(err, errno, "enter the root filesystem");
	/* Stack the old root under the new one, then detach it. */
	if (sys_pivot_root(".", ".") < 0)
		return berth_child_err(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return berth_child_err(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return berth_child_err(err, errno, "chdir /");
	return 0;
}

int berth_mnt_readonly_root(struct berth_err *err)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berth_child_err(err, errno, "open /");
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
	if (sys_mount_setattr(root, "", AT_EMPTY_PATH, &a) < 0)
		return berth_child_err(err, errno, "make the root filesystem read-only");
	return 0;
}

/* ---- parent side ----------------------------------------------------------- */

int berth_bind_source(const char *path, struct berth_err *err)
{
	int fd = sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, errno, "bind mount source %s", path);
	return fd;
}

int berth_rootfs_from_dir(const char *path, struct berth_err *err)
{
	if (!path || !*path)
		return berth_err_set(err, EINVAL, "root filesystem: empty path");
	int fd = sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return berth_err_set(err, e, "root filesystem %s", path);
		return berth_err_set(err, e, "clone the mount tree of root filesystem %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		return berth_err_set(err, ENOTDIR, "root filesystem %s", path);
	}
	return fd;
}
