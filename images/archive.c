/* berth images/ — extract a `docker save` tarball (or an OCI layout packed in
 * a tar) into a private work directory, so it can be imported like a
 * directory.  Only regular files and directories are created; names are
 * cleaned; sizes are capped. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "images/layer.h"
#include "images/manifest.h"
#include "images/store.h"

#define Q(s) berth_quote((s), (char[128]){0}, 128)
#define MAX_ENTRIES 100000
#define MAX_LINKS 10000

struct link {
	char *name;   /* cleaned */
	char *target; /* cleaned, relative to the archive root */
};

struct extract {
	struct berth_store *s;
	const char *path;
	int dfd;
	uint64_t total, max_file, max_total;
	struct link *links;
	size_t nlinks;
};

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

/* Lexically join dir and a relative symlink target, resolving "." and "..";
 * NULL when it leaves the archive. */
static char *join_target(const char *name, const char *target)
{
	if (!target || target[0] == '/' || !target[0])
		return NULL;
	size_t cap = strlen(name) + strlen(target) + 2;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	const char *slash = strrchr(name, '/');
	size_t o = slash ? (size_t)(slash - name) : 0;
	memcpy(out, name, o);
	out[o] = '\0';
	for (const char *p = target; *p;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (o == 0) {
				free(out);
				return NULL;
			}
			char *up = strrchr(out, '/');
			o = up ? (size_t)(up - out) : 0;
			out[o] = '\0';
		} else if (l && !(l == 1 && p[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, l);
			o += l;
			out[o] = '\0';
		}
		p += l + (e ? 1 : 0);
	}
	if (o == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Open (creating) the parent directory of a cleaned name; *base points at the
 * last component. */
static int open_parent(struct extract *x, char *clean, const char **base, struct berth_err *err)
{
	char *slash = strrchr(clean, '/');
	if (!slash) {
		*base = clean;
		return fcntl(x->dfd, F_DUPFD_CLOEXEC, 3);
	}
	*slash = '\0';
	int fd = -1;
	if (berth_mkdir_p_at(x->dfd, clean, 0700, err) == 0) {
		fd = berth_openat_beneath(x->dfd, clean, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0) {
			int e_ = errno;
			berth_err_set(err, e_, "open %s", Q(clean));
		}
	}
	*slash = '/';
	*base = slash + 1;
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int extract_file(struct extract *x, struct archive *a, struct archive_entry *e, char *clean,
			struct berth_err *err)
{
	int64_t size = archive_entry_size(e);
	if (size < 0 || (uint64_t)size > x->max_file)
		return berth_err_set(err, 0, "entry %s is too large (%lld bytes, limit %llu; see "
				     "--max-layer-size)", Q(clean), (long long)size,
				     (unsigned long long)x->max_file);
	const char *base;
	_cleanup_close_ int parent = open_parent(x, clean, &base, err);
	if (parent < 0)
		return -1;
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	_cleanup_close_ int fd = openat(parent, base, flags, 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(parent, base, 0) == 0)
		fd = openat(parent, base, flags, 0600); /* as tar does: the last copy wins */
	if (fd < 0) {
		int e_ = errno;
		return berth_err_set(err, e_, "entry %s", Q(clean));
	}
	char buf[65536];
	uint64_t got = 0;
	for (;;) {
		la_ssize_t r = archive_read_data(a, buf, sizeof(buf));
		if (r == 0)
			break;
		if (r < 0)
			return berth_err_set(err, 0, "entry %s: %s", Q(clean), archive_error_string(a));
		got += (uint64_t)r;
		x->total += (uint64_t)r;
		if (got > x->max_file || x->total > x->max_total)
			return berth_err_set(err, 0, "the archive unpacks to more than %llu bytes (see "
					     "--max-layer-size)", (unsigned long long)x->max_total);
		if (write_all(fd, buf, (size_t)r) < 0) {
			int e_ = errno;
			return berth_err_set(err, e_, "write %s/tmp (entry %s)", x->s->path, Q(clean));
		}
	}
	return 0;
}

static int add_link(struct extract *x, char *clean, char *target, struct berth_err *err)
{
	if (!target) {
		free(clean);
		return 0; /* pointing outside the archive: never needed */
	}
	if (x->nlinks >= MAX_LINKS) {
		free(clean);
		free(target);
		return berth_err_set(err, 0, "too many links (limit %d)", MAX_LINKS);
	}
	if (x->nlinks % 64 == 0) {
		struct link *nv = realloc(x->links, (x->nlinks + 64) * sizeof(*nv));
		if (!nv) {
			free(clean);
			free(target);
			return berth_err_set(err, ENOMEM, "out of memory");
		}
		x->links = nv;
	}
	x->links[x->nlinks++] = (struct link){clean, target};
	return 0;
}

/* Turn links whose target is an extracted regular file into hardlinks; links
 * to links resolve over several passes.  Others are dropped. */
static int resolve_links(struct extract *x, struct berth_err *err)
{
	bool progress = true;
	for (int pass = 0; pass < 16 && progress; pass++) {
		progress = false;
		for (size_t i = 0; i < x->nlinks; i++) {
			struct link *l = &x->links[i];
			struct stat st;
			if (!l->name || fstatat(x->dfd, l->target, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			const char *base;
			_cleanup_close_ int parent = open_parent(x, l->name, &base, err);
			if (parent < 0)
				return -1;
			if (linkat(x->dfd, l->target, parent, base, 0) < 0) {
				int e = errno;
				return berth_err_set(err, e == EEXIST ? 0 : e, "entry %s%s", Q(l->name),
						     e == EEXIST ? " appears twice" : "");
			}
			free(l->name);
			l->name = NULL;
			progress = true;
		}
	}
	return 0;
}

static int extract_entries(struct extract *x, struct archive *a, struct berth_err *err)
{
	struct archive_entry *e;
	for (size_t n = 0;; n++) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return berth_err_set(err, 0, "not a readable tar archive: %s",
					     archive_error_string(a));
		if (n >= MAX_ENTRIES)
			return berth_err_set(err, 0, "more than %d entries: not an image archive",
					     MAX_ENTRIES);
		const char *name = archive_entry_pathname(e);
		if (!name)
			return berth_err_set(err, 0, "entry %zu has no name", n);
		_cleanup_free_ char *clean = malloc(strlen(name) + 1);
		if (!clean)
			return berth_err_set(err, ENOMEM, "out of memory");
		if (berth_layer_clean_path(name, true, clean, err) < 0)
			return berth_err_wrap(err, "entry %s", Q(name));
		if (!clean[0])
			continue;
		const char *hl = archive_entry_hardlink(e);
		if (hl) {
			_cleanup_free_ char *t = malloc(strlen(hl) + 1);
			if (!t)
				return berth_err_set(err, ENOMEM, "out of memory");
			if (berth_layer_clean_path(hl, false, t, err) < 0)
				return berth_err_wrap(err, "entry %s: link target", Q(name));
			if (add_link(x, TAKE_PTR(clean), TAKE_PTR(t), err) < 0)
				return -1;
			continue;
		}
		switch (archive_entry_filetype(e)) {
		case AE_IFDIR:
			if (berth_mkdir_p_at(x->dfd, clean, 0700, err) < 0)
				return berth_err_wrap(err, "entry %s", Q(name));
			break;
		case AE_IFREG:
			if (extract_file(x, a, e, clean, err) < 0)
				return -1;
			break;
		case AE_IFLNK: {
			char *t = join_target(clean, archive_entry_symlink(e));
			if (add_link(x, TAKE_PTR(clean), t, err) < 0)
				return -1;
			break;
		}
		default:
			break; /* devices, fifos: not part of an image archive */
		}
	}
	return resolve_links(x, err);
}

int berth_archive_extract(struct berth_store *s, int tarfd, const char *path, int workfd,
			  struct berth_err *err)
{
	struct extract x = {.s = s, .path = path, .dfd = -1, .max_file = s->max_layer_bytes};
	x.max_total = s->max_layer_bytes > UINT64_MAX / 4 ? UINT64_MAX : s->max_layer_bytes * 4;
	if (mkdirat(workfd, "archive", 0700) < 0)
		return berth_err_set(err, errno, "create a work directory in %s/tmp", s->path);
	x.dfd = openat(workfd, "archive", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (x.dfd < 0)
		return berth_err_set(err, errno, "open a work directory in %s/tmp", s->path);
	__attribute__((cleanup(archive_freep))) struct archive *a = archive_read_new();
	int rv = -1;
	if (!a) {
		berth_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK) {
		berth_err_set(err, 0, "libarchive: %s", archive_error_string(a));
		goto out;
	}
	if (archive_read_open_fd(a, tarfd, 65536) != ARCHIVE_OK) {
		berth_err_set(err, 0, "not a tar archive (%s)", archive_error_string(a));
		goto out;
	}
	rv = extract_entries(&x, a, err);
out:
	for (size_t i = 0; i < x.nlinks; i++) {
		free(x.links[i].name);
		free(x.links[i].target);
	}
	free(x.links);
	if (rv < 0) {
		close(x.dfd);
		return -1;
	}
	return x.dfd;
}
