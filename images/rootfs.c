/* berth images/ — assemble a container's root filesystem: an overlayfs of the
 * image's layers plus a per-container upper/work pair, returned as a detached
 * mount fd.
 *
 * Kernel ≥ 6.8: fsopen + one "lowerdir+" per layer.  Older kernels refuse
 * "lowerdir+" (6.5–6.7 at fsconfig; before 6.5 overlayfs has the legacy fs
 * context, detected by a probe), so we fall back to one "lowerdir" string,
 * which fsconfig caps at 256 bytes; past that, classic mount(2) (options up
 * to a page) in a short-lived child with a private mount namespace, which
 * clones the mount with open_tree and hands the fd back: the host's mount
 * table never sees it.
 *
 * BERTH_TEST_OVERLAY_MODE=string|classic forces a fallback (for tests).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common/cleanup.h"
#include "images/store.h"

#define FSCONFIG_STRING_MAX 256 /* strndup_user limit in fsconfig(2) */
#define MOUNT_DATA_MAX 4096     /* one page for mount(2) options */

enum ovl_mode { MODE_PLUS, MODE_STRING, MODE_CLASSIC };

struct ovl {
	int *lower; /* top first */
	size_t nlower;
	int upper, work;
	int container_dirfd;
	const char *image;
};

/* Append the kernel's fs-context messages ("e overlayfs: ...") to err. */
static void append_log(int fs, struct berth_err *err)
{
	char buf[512];
	size_t len = strlen(err->msg);
	const char *sep = " (kernel: ";
	bool any = false;
	for (int i = 0; i < 8; i++) {
		ssize_t r = read(fs, buf, sizeof(buf) - 1);
		if (r <= 0)
			break;
		buf[r] = '\0';
		while (r > 0 && buf[r - 1] == '\n')
			buf[--r] = '\0';
		const char *m = (r > 2 && buf[1] == ' ') ? buf + 2 : buf;
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = ' ';
		len += (size_t)snprintf(err->msg + len, len < sizeof(err->msg) ? sizeof(err->msg) - len : 0,
					"%s%s", sep, m);
		if (len >= sizeof(err->msg))
			return;
		sep = "; ";
		any = true;
	}
	if (any && len + 2 < sizeof(err->msg))
		snprintf(err->msg + len, sizeof(err->msg) - len, ")");
	else if (!any && len < sizeof(err->msg))
		snprintf(err->msg + len, sizeof(err->msg) - len, " (dmesg may say why)");
}

/* Kernels before 6.5 give overlayfs the legacy fs context, which accepts any
 * key at fsconfig time (so "lowerdir+" would only fail at create). */
static bool legacy_fs_context(void)
{
	int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return false;
	bool legacy = fsconfig(fs, FSCONFIG_SET_FLAG, "berth-probe-no-such-option", NULL, 0) == 0;
	close(fs);
	return legacy;
}

static int fail_with_log(int fs, int errnum, struct berth_err *err, const char *fmt,
			 const char *arg)
{
	berth_err_set(err, errnum, fmt, arg);
	append_log(fs, err);
	return -1;
}

/* 1 = mounted (*out), 0 = this mode is unsupported here, -1 = error. */
static int mount_new_api(const struct ovl *o, enum ovl_mode mode, int *out, struct berth_err *err)
{
	char p[64];
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return berth_err_set(err, errno, "fsopen overlay%s",
				     errno == ENODEV ? " (is the overlay module loaded?)" : "");
	if (mode == MODE_PLUS) {
		if (legacy_fs_context())
			return 0;
		for (size_t i = 0; i < o->nlower; i++) {
			snprintf(p, sizeof(p), "/proc/self/fd/%d", o->lower[i]);
			if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", p, 0) < 0) {
				if (errno == EINVAL && i == 0)
					return 0; /* kernel < 6.8 */
				return fail_with_log(fs, errno, err, "overlay lower layer %s", p);
			}
		}
	} else {
		char lower[FSCONFIG_STRING_MAX];
		size_t len = 0;
		for (size_t i = 0; i < o->nlower; i++) {
			int n = snprintf(lower + len, sizeof(lower) - len, "%s/proc/self/fd/%d",
					 i ? ":" : "", o->lower[i]);
			if (n < 0 || (size_t)n >= sizeof(lower) - len)
				return 0; /* too long for fsconfig */
			len += (size_t)n;
		}
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
			return fail_with_log(fs, errno, err, "overlay lowerdir %s", lower);
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", o->upper);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", p, 0) < 0)
		return fail_with_log(fs, errno, err, "overlay upperdir %s", p);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", o->work);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", p, 0) < 0)
		return fail_with_log(fs, errno, err, "overlay workdir %s", p);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_with_log(fs, errno, err, "create the overlay%s", "");
	int mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return fail_with_log(fs, errno, err, "fsmount the overlay%s", "");
	*out = mfd;
	return 1;
}

static int send_fd(int sock, int fd)
{
	char data = 'f';
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock, int *status)
{
	int val = 0;
	struct iovec iov = {.iov_base = &val, .iov_len = sizeof(val)};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	ssize_t r;
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		int fd;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		return fd;
	}
	*status = val; /* the child's errno and failing step */
	return -1;
}

/* What the child reopens in its own mount namespace: overlayfs only takes
 * layers that are mounted in the mounter's namespace, so each inherited fd is
 * replaced (same number) by a fresh open of the same directory there. */
struct reopen {
	int fd;            /* number to (re)use */
	const char *path;  /* absolute (layers) or relative to the container dir */
	dev_t dev;
	ino_t ino;
};

/* The child: private mount namespace, mount(2) on the staging dir, clone it
 * detached, send the clone.  Only async-signal-safe calls. */
static _Noreturn void classic_child(int sock, const struct ovl *o, const struct reopen *ro,
				    size_t nro, const char *data)
{
	int step = 1, fd = -1;
	if (fchdir(o->container_dirfd) < 0 || unshare(CLONE_NEWNS) < 0)
		goto fail; /* the cwd moves into the new namespace with us */
	step = 2;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	step = 3;
	for (size_t i = 0; i < nro; i++) {
		struct stat st;
		int nfd = open(ro[i].path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0)
			goto fail;
		if (fstat(nfd, &st) < 0 || st.st_dev != ro[i].dev || st.st_ino != ro[i].ino) {
			errno = ESTALE;
			goto fail;
		}
		if (dup3(nfd, ro[i].fd, O_CLOEXEC) < 0)
			goto fail;
		close(nfd);
	}
	step = 4;
	if (mount("overlay", ".berth-stage", "overlay", 0, data) < 0)
		goto fail;
	step = 5;
	fd = (int)open_tree(AT_FDCWD, ".berth-stage", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		goto fail;
	step = 6;
	if (send_fd(sock, fd) < 0)
		goto fail;
	_exit(0);
fail:;
	int st = step << 16 | (errno & 0xffff);
	ssize_t w = write(sock, &st, sizeof(st));
	(void)w;
	_exit(1);
}

static int too_many(const struct ovl *o, struct berth_err *err)
{
	return berth_err_set(err, E2BIG, "%zu layers are too many for this kernel's overlayfs "
			     "(kernel >= 6.8 has no such limit)", o->nlower);
}

static int fill_reopen(struct reopen *r, int fd, char *pathbuf, const char *relpath,
		       struct berth_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_err_set(err, errno, "stat an overlay directory");
	r->fd = fd;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	if (relpath) {
		r->path = relpath;
		return 0;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, pathbuf, PATH_MAX - 1);
	if (n < 0 || n >= PATH_MAX - 1)
		return berth_err_set(err, n < 0 ? errno : ENAMETOOLONG, "locate a layer directory");
	pathbuf[n] = '\0';
	r->path = pathbuf;
	return 0;
}

static int mount_classic(const struct ovl *o, int *out, struct berth_err *err)
{
	char data[MOUNT_DATA_MAX];
	size_t len = 0;
	int n = snprintf(data, sizeof(data), "lowerdir=");
	len = (size_t)n;
	for (size_t i = 0; i < o->nlower; i++) {
		n = snprintf(data + len, sizeof(data) - len, "%s/proc/self/fd/%d", i ? ":" : "",
			     o->lower[i]);
		if (n < 0 || (size_t)n >= sizeof(data) - len)
			return too_many(o, err);
		len += (size_t)n;
	}
	n = snprintf(data + len, sizeof(data) - len, ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d",
		     o->upper, o->work);
	if (n < 0 || (size_t)n >= sizeof(data) - len)
		return too_many(o, err);
	size_t nro = o->nlower + 2;
	_cleanup_free_ struct reopen *ro = calloc(nro, sizeof(*ro));
	_cleanup_free_ char *paths = calloc(o->nlower, PATH_MAX);
	if (!ro || !paths)
		return berth_err_set(err, ENOMEM, "mount the overlay");
	for (size_t i = 0; i < o->nlower; i++)
		if (fill_reopen(&ro[i], o->lower[i], paths + i * PATH_MAX, NULL, err) < 0)
			return -1;
	if (fill_reopen(&ro[o->nlower], o->upper, NULL, "upper", err) < 0 ||
	    fill_reopen(&ro[o->nlower + 1], o->work, NULL, "work", err) < 0)
		return -1;
	if (mkdirat(o->container_dirfd, ".berth-stage", 0700) < 0 && errno != EEXIST)
		return berth_err_set(err, errno, "create a staging directory for the overlay");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_err_set(err, errno, "socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		unlinkat(o->container_dirfd, ".berth-stage", AT_REMOVEDIR);
		return berth_err_set(err, errno, "fork");
	}
	if (pid == 0) {
		close(sv[0]);
		classic_child(sv[1], o, ro, nro, data);
	}
	close(sv[1]);
	int status = 0, ws = 0;
	int fd = recv_fd(sv[0], &status);
	close(sv[0]);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	unlinkat(o->container_dirfd, ".berth-stage", AT_REMOVEDIR);
	if (fd < 0) {
		static const char *steps[] = {"?", "unshare the mount namespace",
					      "make mounts private", "reopen the layers",
					      "mount the overlay", "clone the overlay mount",
					      "pass the mount fd"};
		int step = status >> 16, e = status & 0xffff;
		return berth_err_set(err, e ? e : EIO, "%s (with mount(2); see dmesg for overlayfs' reason)",
				     steps[step >= 1 && step <= 6 ? step : 0]);
	}
	*out = fd;
	return 1;
}

static int open_dir_path(int dirfd, const char *name, bool create, struct berth_err *err)
{
	if (create && mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return berth_err_set(err, errno, "create container directory %s", name);
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, errno, "open container directory %s", name);
	return fd;
}

int berth_rootfs_mount(struct berth_store *s, const struct berth_image *img, int container_dirfd,
		       struct berth_err *err)
{
	if (img->nlayers == 0)
		return berth_err_set(err, 0, "image %s has no layers: there is no root filesystem to mount",
				     img->name);
	struct ovl o = {.container_dirfd = container_dirfd, .image = img->name};
	_cleanup_close_ int upper = open_dir_path(container_dirfd, "upper", true, err);
	_cleanup_close_ int work = upper < 0 ? -1 : open_dir_path(container_dirfd, "work", true, err);
	if (upper < 0 || work < 0)
		return berth_err_wrap(err, "mount the root filesystem of image %s", img->name);
	o.upper = upper;
	o.work = work;
	o.lower = calloc(img->nlayers, sizeof(int));
	if (!o.lower)
		return berth_err_set(err, ENOMEM, "mount the root filesystem of image %s", img->name);
	int rv = -1, mfd = -1;
	if (berth_store_lock(s, LOCK_SH, err) < 0)
		goto out;
	/* Top first; a layer listed twice stays only at its topmost place (the
	 * kernel refuses a lowerdir twice, and the lower copy changes nothing). */
	for (size_t i = img->nlayers; i-- > 0;) {
		bool dup = false;
		for (size_t j = i + 1; j < img->nlayers && !dup; j++)
			dup = !strcmp(img->layers[i], img->layers[j]);
		if (dup)
			continue;
		int fd = -1;
		if (strlen(img->layers[i]) == BERTH_SHA256_HEX_LEN &&
		    strspn(img->layers[i], "0123456789abcdef") == BERTH_SHA256_HEX_LEN)
			fd = openat(s->layers_fd, img->layers[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			berth_err_set(err, errno == ENOENT ? 0 : errno,
				      "image %s: layer %.12s is missing from %s/layers: remove the image "
				      "and load it again",
				      img->name, img->layers[i], s->path);
			berth_store_unlock(s);
			goto out;
		}
		o.lower[o.nlower++] = fd;
	}
	berth_store_unlock(s);
	const char *force = getenv("BERTH_TEST_OVERLAY_MODE");
	int r = 0;
	if (!force || !*force)
		r = mount_new_api(&o, MODE_PLUS, &mfd, err);
	if (r == 0 && (!force || strcmp(force, "classic")))
		r = mount_new_api(&o, MODE_STRING, &mfd, err);
	if (r == 0)
		r = mount_classic(&o, &mfd, err);
	if (r < 0) {
		berth_err_wrap(err, "mount the root filesystem of image %s", img->name);
		goto out;
	}
	struct statfs sfs;
	int sr = fstatfs(mfd, &sfs);
	if (sr < 0 || sfs.f_type != OVERLAYFS_SUPER_MAGIC) {
		berth_err_set(err, sr < 0 ? errno : 0,
			      "image %s: the root filesystem mount is not an overlayfs", img->name);
		close(mfd);
		goto out;
	}
	rv = mfd;
out:
	for (size_t i = 0; i < o.nlower; i++)
		close(o.lower[i]);
	free(o.lower);
	return rv;
}
