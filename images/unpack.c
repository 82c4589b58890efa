/* berth images/ — the per-entry unpacker.
 *
 * libarchive only parses; every entry is created here, relative to the layer
 * root fd:
 *   - the entry name is cleaned lexically (no absolute names, no "..");
 *   - its parent is resolved with openat2(RESOLVE_IN_ROOT), so symlinks met on
 *     the way (absolute or "../../..") are clamped to the layer root; missing
 *     parents are created (0755, root-owned);
 *   - the last component is never followed: whatever is there is removed and
 *     the entry recreated (a directory over a directory keeps the old one);
 *   - metadata is applied on the new object's fd (fchown before fchmod),
 *     symlinks with the AT_SYMLINK_NOFOLLOW calls, directory times at the end;
 *   - OCI whiteouts become overlayfs whiteouts (char 0/0, trusted.overlay.opaque).
 * The layer root starts empty, so anything found on disk was created by this
 * layer.
 */
#include "images/unpack.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

struct dir_time {
	char *path; /* cleaned; "" is the root */
	struct timespec ts[2];
};

struct berth_unpacker {
	int rootfd;   /* borrowed: the resolution root */
	int rootdir;  /* owned: O_RDONLY handle on the root, for metadata */
	uint64_t max_bytes, file_bytes;
	struct berth_unpack_stats stats;

	char *name;   /* cleaned entry name, then split in place */
	size_t name_cap;
	char *target; /* cleaned hardlink target */
	size_t target_cap;
	char last[BERTH_QUOTE_MAX]; /* quoted raw name of the current entry */

	/* Last resolved parent directory.  Stale (not valid) once anything but a
	 * regular file was created or removed; the fd stays open until replaced
	 * because the entry in progress may still be using it. */
	char *cache_path;
	size_t cache_cap;
	int cache_fd;
	bool cache_valid;

	struct dir_time *times;
	size_t ntimes, times_cap;
	char **skipped; /* device entries not created (hardlinks to them are skipped too) */
	size_t nskipped, skipped_cap;
};

static int grow(char **buf, size_t *cap, size_t need, struct berth_err *err)
{
	if (need <= *cap)
		return 0;
	size_t ncap = need < 256 ? 256 : need * 2;
	char *nb = realloc(*buf, ncap);
	if (!nb)
		return berth_err_set(err, ENOMEM, "out of memory");
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Split a cleaned non-root name in place: returns the base, *dir is "" or the parent. */
static char *split_name(char *name, const char **dir)
{
	char *slash = strrchr(name, '/');
	if (!slash) {
		*dir = "";
		return name;
	}
	*slash = '\0';
	*dir = name;
	return slash + 1;
}

/* ---- resolution -------------------------------------------------------- */

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	for (int i = 0; i < 32; i++) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			return (int)fd;
	}
	return -1;
}

static int resolve_error(const char *what, const char *path, int e, struct berth_err *err)
{
	char q[BERTH_QUOTE_MAX];
	berth_unpack_quote(path, q, sizeof(q));
	switch (e) {
	case ENOTDIR:
		return berth_err_set(err, 0, "%s %s is not a directory", what, q);
	case ELOOP:
		return berth_err_set(err, 0, "%s %s: too many levels of symbolic links", what, q);
	case EXDEV:
		return berth_err_set(err, 0, "%s %s crosses a mount point", what, q);
	case ENOSYS:
		return berth_err_set(err, e, "openat2 (needs Linux 5.6 or later)");
	default:
		return berth_err_set(err, e, "resolve %s %s", what, q);
	}
}

static int new_parent_dir(int at, const char *name, struct berth_err *err)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, errno, "open new parent directory");
	/* 0755 root:root whatever the umask or a setgid parent says. */
	if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0) {
		int e = errno;
		close(fd);
		return berth_err_set(err, e, "set up new parent directory");
	}
	return fd;
}

/* Open dir below the root, creating missing components; returns an owned fd.
 * A component that is a symlink to a missing directory gets its target
 * created (resolved in the root, as the kernel would), like mkdir -p through
 * a symlink.  dir may hold "." and ".." (from symlink targets): every prefix
 * is resolved by openat2 in the root, never by string processing. */
static int create_parents(struct berth_unpacker *u, const char *dir, int depth,
			  struct berth_err *err)
{
	if (depth > 40)
		return berth_err_set(err, ELOOP, "create parent directories");
	_cleanup_free_ char *p = strdup(dir);
	if (!p)
		return berth_err_set(err, ENOMEM, "out of memory");
	_cleanup_close_ int cur = -1;
	char *s = p;
	for (;;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		/* p is now the prefix ending in component s; cur (or the root) is
		 * where the part before s resolved to. */
		int at = cur >= 0 ? cur : u->rootdir;
		int fd = open_in_root(u->rootfd, p, O_PATH | O_DIRECTORY);
		if (fd < 0 && (errno != ENOENT || !strcmp(s, ".") || !strcmp(s, "..")))
			return resolve_error("parent", p, errno, err);
		if (fd < 0 && mkdirat(at, s, 0755) == 0) {
			fd = new_parent_dir(at, s, err);
			if (fd < 0)
				return -1;
		} else if (fd < 0) {
			char q[BERTH_QUOTE_MAX];
			berth_unpack_quote(p, q, sizeof(q));
			if (errno != EEXIST)
				return berth_err_set(err, errno, "create parent directory %s", q);
			/* s exists but did not resolve: a symlink to a missing directory. */
			char target[4096];
			ssize_t n = readlinkat(at, s, target, sizeof(target) - 1);
			if (n <= 0)
				return berth_err_set(err, n < 0 ? errno : 0, "parent %s", q);
			target[n] = '\0';
			size_t plen = (size_t)(s - p);
			_cleanup_free_ char *next = malloc(plen + (size_t)n + 1);
			if (!next)
				return berth_err_set(err, ENOMEM, "out of memory");
			if (target[0] == '/')
				plen = 0; /* absolute: from the layer root */
			memcpy(next, p, plen);
			memcpy(next + plen, target, (size_t)n + 1);
			int tfd = create_parents(u, next, depth + 1, err);
			if (tfd < 0)
				return berth_err_wrap(err, "parent %s is a symlink", q);
			close(tfd);
			fd = open_in_root(u->rootfd, p, O_PATH | O_DIRECTORY);
			if (fd < 0)
				return resolve_error("parent", p, errno, err);
		}
		if (cur >= 0)
			close(cur);
		cur = fd;
		if (!slash)
			break;
		*slash = '/';
		s = slash + 1;
	}
	if (cur < 0) /* only "/", "." or ".." components: the root */
		cur = open_in_root(u->rootfd, ".", O_PATH | O_DIRECTORY);
	if (cur < 0)
		return berth_err_set(err, errno, "open the layer root");
	return TAKE_FD(cur);
}

int berth_unpacker_parent(struct berth_unpacker *u, const char *dir, struct berth_err *err)
{
	if (!*dir)
		return u->rootdir;
	if (u->cache_valid && !strcmp(u->cache_path, dir))
		return u->cache_fd;
	int fd = open_in_root(u->rootfd, dir, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		if (errno != ENOENT)
			return resolve_error("parent", dir, errno, err);
		fd = create_parents(u, dir, 0, err);
		if (fd < 0)
			return -1;
	}
	if (grow(&u->cache_path, &u->cache_cap, strlen(dir) + 1, err) < 0) {
		close(fd);
		return -1;
	}
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	strcpy(u->cache_path, dir);
	u->cache_fd = fd;
	u->cache_valid = true;
	return fd;
}

void berth_unpacker_invalidate(struct berth_unpacker *u)
{
	u->cache_valid = false;
}

/* Remove whatever is at parent/base before recreating it.  With keep_dir a
 * directory stays (*kept set); otherwise the whole tree goes. */
static int remove_existing(struct berth_unpacker *u, int parent, const char *base, bool keep_dir,
			   bool *kept, struct berth_err *err)
{
	struct stat st;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return berth_err_set(err, errno, "stat existing entry");
	}
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir) {
			*kept = true;
			return 0;
		}
		u->cache_valid = false;
		if (berth_rm_rf_at(parent, base, err) < 0)
			return berth_err_wrap(err, "replace existing directory");
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		u->cache_valid = false;
	if (unlinkat(parent, base, 0) < 0)
		return berth_err_set(err, errno, "remove existing entry");
	return 0;
}

/* ---- metadata ---------------------------------------------------------- */

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = ts[0];
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	}
	if (archive_entry_mtime_is_set(e)) {
		ts[1].tv_sec = archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	}
}

static bool times_present(const struct timespec ts[2])
{
	return ts[0].tv_nsec != UTIME_OMIT || ts[1].tv_nsec != UTIME_OMIT;
}

static int set_times_fd(int fd, struct archive_entry *e, struct berth_err *err)
{
	struct timespec ts[2];
	entry_times(e, ts);
	if (times_present(ts) && futimens(fd, ts) < 0)
		return berth_err_set(err, errno, "set times");
	return 0;
}

/* Owner first (chown clears suid/sgid), then the full mode incl. suid/sgid/sticky. */
static int set_owner_mode(int fd, struct archive_entry *e, struct berth_err *err)
{
	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return berth_err_set(err, errno, "chown %" PRId64 ":%" PRId64,
				     (int64_t)archive_entry_uid(e), (int64_t)archive_entry_gid(e));
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return berth_err_set(err, errno, "chmod %04o", (unsigned)(archive_entry_perm(e) & 07777));
	return 0;
}

/* Image xattrs: only user.* and security.capability pass.  trusted.* (above
 * all trusted.overlay.*, which would forge whiteouts and redirects), other
 * security.* and system.* are dropped. */
static bool xattr_allowed(const char *name)
{
	return !strncmp(name, "user.", 5) || !strcmp(name, "security.capability");
}

static int set_xattrs(int fd, struct archive_entry *e, struct berth_err *err)
{
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	const char *name;
	const void *val;
	size_t size;
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (!name || !xattr_allowed(name))
			continue;
		if (fsetxattr(fd, name, val, size, 0) < 0) {
			char q[BERTH_QUOTE_MAX];
			return berth_err_set(err, errno, "set xattr %s",
					     berth_unpack_quote(name, q, sizeof(q)));
		}
	}
	return 0;
}

static int defer_dir_times(struct berth_unpacker *u, const char *path, struct archive_entry *e,
			   struct berth_err *err)
{
	struct timespec ts[2];
	entry_times(e, ts);
	if (!times_present(ts))
		return 0;
	if (u->ntimes == u->times_cap) {
		size_t ncap = u->times_cap ? u->times_cap * 2 : 64;
		struct dir_time *nt = realloc(u->times, ncap * sizeof(*nt));
		if (!nt)
			return berth_err_set(err, ENOMEM, "out of memory");
		u->times = nt;
		u->times_cap = ncap;
	}
	char *copy = strdup(path);
	if (!copy)
		return berth_err_set(err, ENOMEM, "out of memory");
	u->times[u->ntimes].path = copy;
	memcpy(u->times[u->ntimes].ts, ts, sizeof(ts));
	u->ntimes++;
	return 0;
}

/* ---- entry types ------------------------------------------------------- */

static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, buf, len, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

static int write_data(struct archive *a, int fd, uint64_t size, struct berth_err *err)
{
	uint64_t end = 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			const char *m = archive_error_string(a);
			return berth_err_set(err, 0, "corrupt or truncated tar archive: %s",
					     m ? m : "unknown error");
		}
		if (off < 0 || (uint64_t)off > size || len > size - (uint64_t)off)
			return berth_err_set(err, 0,
					     "data at offset %lld+%zu lies beyond the declared size %" PRIu64,
					     (long long)off, len, size);
		if (len && pwrite_all(fd, buf, len, (off_t)off) < 0)
			return berth_err_set(err, errno, "write");
		if ((uint64_t)off + len > end)
			end = (uint64_t)off + len;
	}
	if (end < size && ftruncate(fd, (off_t)size) < 0) /* trailing sparse hole */
		return berth_err_set(err, errno, "extend sparse file");
	return 0;
}

static int do_file(struct berth_unpacker *u, struct archive *a, struct archive_entry *e,
		   int parent, const char *base, struct berth_err *err)
{
	int64_t sz = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	uint64_t size = sz > 0 ? (uint64_t)sz : 0;
	if (size > u->max_bytes - u->file_bytes)
		return berth_err_set(err, 0,
				     "file sizes in the layer add up to more than the cap of %" PRIu64
				     " bytes (%" PRIu64 " MiB); if the layer is genuine, raise the cap "
				     "with --max-layer-size",
				     u->max_bytes, u->max_bytes >> 20);
	u->file_bytes += size;

	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	_cleanup_close_ int fd = openat(parent, base, flags, 0600);
	if (fd < 0 && errno == EEXIST) {
		bool kept = false;
		if (remove_existing(u, parent, base, false, &kept, err) < 0)
			return -1;
		fd = openat(parent, base, flags, 0600);
	}
	if (fd < 0)
		return berth_err_set(err, errno, "create file");
	if (write_data(a, fd, size, err) < 0 || set_owner_mode(fd, e, err) < 0 ||
	    set_xattrs(fd, e, err) < 0 || set_times_fd(fd, e, err) < 0)
		return -1;
	if (close(TAKE_FD(fd)) < 0)
		return berth_err_set(err, errno, "close file");
	return 0;
}

static int do_dir(struct berth_unpacker *u, struct archive_entry *e, int parent,
		  const char *base, const char *path, struct berth_err *err)
{
	u->cache_valid = false;
	if (mkdirat(parent, base, 0700) < 0) {
		if (errno != EEXIST)
			return berth_err_set(err, errno, "create directory");
		bool kept = false; /* directory over directory: metadata only */
		if (remove_existing(u, parent, base, true, &kept, err) < 0)
			return -1;
		if (!kept && mkdirat(parent, base, 0700) < 0)
			return berth_err_set(err, errno, "create directory");
	}
	_cleanup_close_ int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, errno, "open new directory");
	if (set_owner_mode(fd, e, err) < 0 || set_xattrs(fd, e, err) < 0)
		return -1;
	return defer_dir_times(u, path, e, err);
}

static int do_symlink(struct berth_unpacker *u, struct archive_entry *e, int parent,
		      const char *base, struct berth_err *err)
{
	const char *target = archive_entry_symlink(e);
	if (!target || !*target)
		return berth_err_set(err, 0, "symlink with an empty target");
	u->cache_valid = false;
	if (symlinkat(target, parent, base) < 0) {
		if (errno != EEXIST)
			return berth_err_set(err, errno, "create symlink");
		bool kept = false;
		if (remove_existing(u, parent, base, false, &kept, err) < 0)
			return -1;
		if (symlinkat(target, parent, base) < 0)
			return berth_err_set(err, errno, "create symlink");
	}
	if (fchownat(parent, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return berth_err_set(err, errno, "chown symlink");
	struct timespec ts[2];
	entry_times(e, ts);
	if (times_present(ts) && utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_err_set(err, errno, "set symlink times");
	return 0;
}

static bool was_skipped(const struct berth_unpacker *u, const char *path)
{
	for (size_t i = 0; i < u->nskipped; i++)
		if (!strcmp(u->skipped[i], path))
			return true;
	return false;
}

/* 1 = linked, 0 = skipped (the target was a device), -1 = error. */
static int do_hardlink(struct berth_unpacker *u, struct archive_entry *e, int parent,
		       const char *dir, const char *base, struct berth_err *err)
{
	const char *raw = archive_entry_hardlink(e);
	char q[BERTH_QUOTE_MAX];
	berth_unpack_quote(raw, q, sizeof(q));
	if (grow(&u->target, &u->target_cap, strlen(raw) + 1, err) < 0)
		return -1;
	const char *why = berth_layer_clean_reason(raw, false, u->target);
	if (why)
		return berth_err_set(err, 0, "hardlink target %s: %s", q, why);
	bool skipped = was_skipped(u, u->target);
	const char *tdir;
	char *tbase = split_name(u->target, &tdir);

	_cleanup_close_ int tfd = -1;
	int tparent = parent;
	if (strcmp(tdir, dir) != 0) {
		if (!*tdir) {
			tparent = u->rootdir;
		} else {
			tfd = open_in_root(u->rootfd, tdir, O_PATH | O_DIRECTORY);
			if (tfd < 0 && errno != ENOENT && errno != ENOTDIR)
				return resolve_error("hardlink target directory", tdir, errno, err);
			tparent = tfd;
		}
	}
	struct stat tst;
	if (tparent < 0 || fstatat(tparent, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		if (tparent >= 0 && errno != ENOENT)
			return berth_err_set(err, errno, "hardlink target %s", q);
		if (skipped) {
			u->stats.skipped_devices++;
			return 0; /* a link to a device we did not create */
		}
		return berth_err_set(err, 0,
				     "hardlink target %s does not exist in this layer (targets must "
				     "come earlier in the same layer)", q);
	}
	if (S_ISDIR(tst.st_mode))
		return berth_err_set(err, 0, "hardlink target %s is a directory", q);
	if (!S_ISREG(tst.st_mode))
		u->cache_valid = false;
	if (linkat(tparent, tbase, parent, base, 0) < 0) {
		if (errno != EEXIST)
			return berth_err_set(err, errno, "link to %s", q);
		struct stat cur;
		if (fstatat(parent, base, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
		    cur.st_dev == tst.st_dev && cur.st_ino == tst.st_ino)
			return 1; /* already this very file */
		bool kept = false;
		if (remove_existing(u, parent, base, false, &kept, err) < 0)
			return -1;
		if (linkat(tparent, tbase, parent, base, 0) < 0)
			return berth_err_set(err, errno, "link to %s", q);
	}
	return 1;
}

static int do_fifo(struct berth_unpacker *u, struct archive_entry *e, int parent,
		   const char *base, struct berth_err *err)
{
	u->cache_valid = false;
	if (mknodat(parent, base, S_IFIFO | 0600, 0) < 0) {
		if (errno != EEXIST)
			return berth_err_set(err, errno, "create fifo");
		bool kept = false;
		if (remove_existing(u, parent, base, false, &kept, err) < 0)
			return -1;
		if (mknodat(parent, base, S_IFIFO | 0600, 0) < 0)
			return berth_err_set(err, errno, "create fifo");
	}
	/* O_RDWR never blocks on a FIFO and gives an fd that fchmod accepts. */
	_cleanup_close_ int fd = openat(parent, base, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, errno, "open new fifo");
	if (set_owner_mode(fd, e, err) < 0 || set_times_fd(fd, e, err) < 0)
		return -1;
	return 0;
}

static int note_skipped(struct berth_unpacker *u, const char *path, struct berth_err *err)
{
	u->stats.skipped_devices++;
	if (u->nskipped == u->skipped_cap) {
		size_t ncap = u->skipped_cap ? u->skipped_cap * 2 : 16;
		char **ns = realloc(u->skipped, ncap * sizeof(*ns));
		if (!ns)
			return berth_err_set(err, ENOMEM, "out of memory");
		u->skipped = ns;
		u->skipped_cap = ncap;
	}
	if (!(u->skipped[u->nskipped] = strdup(path)))
		return berth_err_set(err, ENOMEM, "out of memory");
	u->nskipped++;
	return 0;
}

/* ---- entries ----------------------------------------------------------- */

static int check_ids(struct archive_entry *e, struct berth_err *err)
{
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	if (uid < 0 || uid > 0xfffffffe)
		return berth_err_set(err, 0, "uid %lld is out of range", (long long)uid);
	if (gid < 0 || gid > 0xfffffffe)
		return berth_err_set(err, 0, "gid %lld is out of range", (long long)gid);
	return 0;
}

static int do_root(struct berth_unpacker *u, struct archive_entry *e, struct berth_err *err)
{
	if (archive_entry_hardlink(e) || archive_entry_filetype(e) != AE_IFDIR)
		return berth_err_set(err, 0, "the layer root may only be a directory; refusing "
					     "to replace it with a %s",
				     archive_entry_hardlink(e) ? "hardlink"
				     : archive_entry_filetype(e) == AE_IFLNK ? "symlink"
									     : "non-directory");
	if (set_owner_mode(u->rootdir, e, err) < 0 || set_xattrs(u->rootdir, e, err) < 0)
		return -1;
	return defer_dir_times(u, "", e, err);
}

/* 1 = created, 0 = skipped, -1 = error (not yet naming the entry). */
static int do_entry(struct berth_unpacker *u, struct archive *a, struct archive_entry *e,
		    struct berth_err *err)
{
	if (check_ids(e, err) < 0)
		return -1;
	if (!*u->name)
		return do_root(u, e, err) < 0 ? -1 : 1;

	const char *dir;
	char *base = split_name(u->name, &dir);
	if (berth_is_whiteout(base))
		return berth_whiteout_entry(u, dir, base, err);

	mode_t type = archive_entry_filetype(e);
	if (!archive_entry_hardlink(e) && (type == AE_IFCHR || type == AE_IFBLK)) {
		/* Devices are the runtime's business (a minimal /dev), never the image's. */
		if (*dir)
			base[-1] = '/'; /* rejoin the name for the record */
		return note_skipped(u, u->name, err) < 0 ? -1 : 0;
	}
	if (type == AE_IFSOCK && !archive_entry_hardlink(e))
		return 0; /* a socket is only meaningful to the process that bound it */

	int parent = berth_unpacker_parent(u, dir, err);
	if (parent < 0)
		return -1;
	if (archive_entry_hardlink(e))
		return do_hardlink(u, e, parent, dir, base, err);
	int r;
	switch (type) {
	case AE_IFREG:
		r = do_file(u, a, e, parent, base, err);
		break;
	case AE_IFDIR:
		if (*dir)
			base[-1] = '/'; /* the full cleaned name, for the deferred times */
		r = do_dir(u, e, parent, base, u->name, err);
		break;
	case AE_IFLNK:
		r = do_symlink(u, e, parent, base, err);
		break;
	case AE_IFIFO:
		r = do_fifo(u, e, parent, base, err);
		break;
	default:
		return berth_err_set(err, 0, "unsupported entry type %o", (unsigned)type);
	}
	return r < 0 ? -1 : 1;
}

int berth_unpacker_entry(struct berth_unpacker *u, struct archive *a, struct archive_entry *e,
			 struct berth_err *err)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		return berth_err_set(err, 0, "entry without a readable name after entry %s",
				     *u->last ? u->last : "(none)");
	berth_unpack_quote(raw, u->last, sizeof(u->last));
	if (grow(&u->name, &u->name_cap, strlen(raw) + 1, err) < 0)
		return -1;
	if (berth_layer_clean_path(raw, true, u->name, err) < 0)
		return berth_err_wrap(err, "entry %s", u->last);
	int r = do_entry(u, a, e, err);
	if (r < 0)
		return berth_err_wrap(err, "entry %s", u->last);
	if (r > 0)
		u->stats.entries++;
	return 0;
}

int berth_unpacker_finish(struct berth_unpacker *u, struct berth_err *err)
{
	for (size_t i = 0; i < u->ntimes; i++) {
		const struct dir_time *t = &u->times[i];
		if (!*t->path) {
			if (futimens(u->rootdir, t->ts) < 0)
				return berth_err_set(err, errno, "set times of the layer root");
			continue;
		}
		/* Re-resolve: the directory may since have been replaced or removed. */
		_cleanup_close_ int fd = open_in_root(u->rootfd, t->path,
						      O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				continue;
			return resolve_error("directory", t->path, errno, err);
		}
		if (futimens(fd, t->ts) < 0) {
			char q[BERTH_QUOTE_MAX];
			return berth_err_set(err, errno, "set times of directory %s",
					     berth_unpack_quote(t->path, q, sizeof(q)));
		}
	}
	return 0;
}

int berth_unpacker_new(int rootfd, uint64_t max_bytes, struct berth_unpacker **out,
		       struct berth_err *err)
{
	struct berth_unpacker *u = calloc(1, sizeof(*u));
	if (!u)
		return berth_err_set(err, ENOMEM, "out of memory");
	u->rootfd = rootfd;
	u->cache_fd = -1;
	u->max_bytes = max_bytes;
	/* Works for an O_PATH rootfd too; metadata calls need a real open file. */
	u->rootdir = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->rootdir < 0) {
		int e = errno;
		free(u);
		return berth_err_set(err, e, "open the layer root");
	}
	*out = u;
	return 0;
}

const char *berth_unpacker_last(const struct berth_unpacker *u)
{
	return u->last;
}

void berth_unpacker_stats(const struct berth_unpacker *u, struct berth_unpack_stats *out)
{
	*out = u->stats;
}

void berth_unpacker_free(struct berth_unpacker *u)
{
	if (!u)
		return;
	if (u->cache_fd >= 0)
		close(u->cache_fd);
	close(u->rootdir);
	for (size_t i = 0; i < u->ntimes; i++)
		free(u->times[i].path);
	free(u->times);
	for (size_t i = 0; i < u->nskipped; i++)
		free(u->skipped[i]);
	free(u->skipped);
	free(u->name);
	free(u->target);
	free(u->cache_path);
	free(u);
}
