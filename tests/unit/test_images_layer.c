/* Unit tests for images/layer.h: the verifying decompressor and the safe
 * unpacker.  Each test builds a tar in memory with libarchive, compresses it,
 * writes it to an anonymous temp file and unpacks it into a fresh directory
 * "root" below /tmp/berth-layer-XXXXXX.  Next to root sits "canary": every
 * hostile case checks that it, and the directory holding it, are unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"
#include "images/layer.h"

#define CANARY "canary data\n"

/* ---- building archives ------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static la_ssize_t tar_write_cb(struct archive *a, void *cd, const void *p, size_t n)
{
	(void)a;
	buf_add(cd, p, n);
	return (la_ssize_t)n;
}

struct ent {
	const char *name;
	unsigned type;        /* AE_IF*; 0 = regular file */
	unsigned mode;        /* permission bits; 0 = 0644 / 0755 by type */
	bool mode0;           /* really mode 0 */
	int64_t uid, gid;
	int64_t mtime;        /* 0 = 1000000000 */
	const char *data;
	size_t len;           /* 0 = strlen(data) */
	const char *link;     /* symlink target */
	const char *hardlink; /* hardlink target */
	dev_t rdev;
	const char *xname[3];
	const char *xval[3];
	int64_t sparse_size;  /* > 0: sparse file of this size with data at offset 4096 */
};

struct tarb {
	struct archive *a;
	struct buf out;
};

static void tb_init(struct tarb *t)
{
	memset(t, 0, sizeof(*t));
	t->a = archive_write_new();
	assert_non_null(t->a);
	assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
	assert_int_equal(archive_write_open2(t->a, &t->out, NULL, tar_write_cb, NULL, NULL),
			 ARCHIVE_OK);
}

static void tb_add(struct tarb *t, const struct ent *en)
{
	struct archive_entry *e = archive_entry_new();
	unsigned type = en->type ? en->type : AE_IFREG;
	archive_entry_set_pathname(e, en->name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, en->mode || en->mode0 ? en->mode : (type == AE_IFDIR ? 0755 : 0644));
	archive_entry_set_uid(e, en->uid);
	archive_entry_set_gid(e, en->gid);
	archive_entry_set_mtime(e, en->mtime ? en->mtime : 1000000000, 0);
	size_t len = en->data ? (en->len ? en->len : strlen(en->data)) : 0;
	if (en->link)
		archive_entry_set_symlink(e, en->link);
	if (en->hardlink)
		archive_entry_set_hardlink(e, en->hardlink);
	if (type == AE_IFCHR || type == AE_IFBLK)
		archive_entry_set_rdev(e, en->rdev);
	for (int i = 0; i < 3 && en->xname[i]; i++)
		archive_entry_xattr_add_entry(e, en->xname[i], en->xval[i], strlen(en->xval[i]));
	if (en->sparse_size) {
		archive_entry_set_size(e, en->sparse_size);
		archive_entry_sparse_add_entry(e, 4096, (la_int64_t)len);
	} else {
		archive_entry_set_size(e, type == AE_IFREG && !en->hardlink ? (la_int64_t)len : 0);
	}
	assert_true(archive_write_header(t->a, e) >= ARCHIVE_WARN);
	if (en->sparse_size) { /* the writer takes the logical content and drops the holes */
		static const char hole[4096];
		assert_int_equal(archive_write_data(t->a, hole, sizeof(hole)), (la_ssize_t)sizeof(hole));
	}
	if (len)
		assert_int_equal(archive_write_data(t->a, en->data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

#define ADD(t, ...) tb_add((t), &(struct ent){__VA_ARGS__})

/* Finish: returns the tar bytes (caller frees .p). */
static struct buf tb_done(struct tarb *t)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	return t->out;
}

static struct buf gzip_buf(const void *in, size_t n)
{
	struct buf b = {0};
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	b.cap = deflateBound(&z, (uLong)n) + 64;
	b.p = malloc(b.cap);
	assert_non_null(b.p);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	z.next_out = b.p;
	z.avail_out = (uInt)b.cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	b.len = b.cap - z.avail_out;
	deflateEnd(&z);
	return b;
}

static struct buf zstd_buf(const void *in, size_t n)
{
	struct buf b = {0};
	b.cap = ZSTD_compressBound(n);
	b.p = malloc(b.cap);
	assert_non_null(b.p);
	size_t r = ZSTD_compress(b.p, b.cap, in, n, 3);
	assert_false(ZSTD_isError(r));
	b.len = r;
	return b;
}

static struct buf compress_as(enum berth_compression c, const struct buf *tar)
{
	if (c == BERTH_COMP_GZIP)
		return gzip_buf(tar->p, tar->len);
	if (c == BERTH_COMP_ZSTD)
		return zstd_buf(tar->p, tar->len);
	struct buf b = {0};
	buf_add(&b, tar->p, tar->len);
	return b;
}

static void digest_of(const void *p, size_t n, char out[BERTH_DIGEST_MAX])
{
	char hex[BERTH_SHA256_HEX_LEN + 1];
	struct berth_err err;
	assert_int_equal(berth_sha256_buf_hex(p, n, hex, &err), 0);
	snprintf(out, BERTH_DIGEST_MAX, "sha256:%s", hex);
}

/* ---- the environment --------------------------------------------------- */

struct env {
	char base[64];
	int basefd, rootfd;
	struct stat canary;
	struct berth_unpack_stats stats;
	struct berth_err err;
};

static int env_setup(void **state)
{
	struct env *v = calloc(1, sizeof(*v));
	assert_non_null(v);
	strcpy(v->base, "/tmp/berth-layer-XXXXXX");
	assert_non_null(mkdtemp(v->base));
	v->basefd = open(v->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(v->basefd >= 0);
	assert_int_equal(mkdirat(v->basefd, "root", 0755), 0);
	v->rootfd = openat(v->basefd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(v->rootfd >= 0);
	int fd = openat(v->basefd, "canary", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, CANARY, strlen(CANARY)), (ssize_t)strlen(CANARY));
	close(fd);
	assert_int_equal(fstatat(v->basefd, "canary", &v->canary, AT_SYMLINK_NOFOLLOW), 0);
	*state = v;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *v = *state;
	struct berth_err err;
	close(v->rootfd);
	close(v->basefd);
	assert_int_equal(berth_rm_rf_at(AT_FDCWD, v->base, &err), 0);
	free(v);
	return 0;
}

/* The canary and the directory around the root are exactly as set up. */
static void check_canary(struct env *v)
{
	struct stat st;
	assert_int_equal(fstatat(v->basefd, "canary", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_ino, v->canary.st_ino);
	assert_int_equal(st.st_mode, v->canary.st_mode);
	assert_int_equal(st.st_uid, v->canary.st_uid);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_size, (off_t)strlen(CANARY));
	assert_int_equal(st.st_mtim.tv_sec, v->canary.st_mtim.tv_sec);
	assert_int_equal(st.st_mtim.tv_nsec, v->canary.st_mtim.tv_nsec);
	char *data = NULL;
	struct berth_err err;
	assert_int_equal(berth_read_file_at(v->basefd, "canary", 4096, &data, NULL, &err), 0);
	assert_string_equal(data, CANARY);
	free(data);
	_cleanup_closedir_ DIR *d = opendir(v->base);
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		assert_true(!strcmp(de->d_name, "root") || !strcmp(de->d_name, "canary"));
		n++;
	}
	assert_int_equal(n, 2);
	assert_int_equal(fstatat(v->basefd, "root", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* Start over with an empty root (for tests that loop over cases). */
static void clear_root(struct env *v)
{
	struct berth_err err;
	close(v->rootfd);
	if (berth_rm_rf_at(v->basefd, "root", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(mkdirat(v->basefd, "root", 0755), 0);
	v->rootfd = openat(v->basefd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(v->rootfd >= 0);
}

struct opts {
	enum berth_compression comp;
	const char *blob_digest; /* NULL: the right one; "" = don't check */
	int64_t blob_size;       /* 0: the right one; -1 = don't check; else that */
	const char *diff_id;     /* NULL: the right one; "" = don't check */
	uint64_t max_bytes;      /* 0: 64 MiB */
};

/* Unpack blob as-is; expected digests are computed from tar/blob unless overridden. */
static int unpack_blob(struct env *v, const struct buf *blob, const struct buf *tar,
		       const struct opts *o)
{
	char bd[BERTH_DIGEST_MAX], di[BERTH_DIGEST_MAX];
	digest_of(blob->p, blob->len, bd);
	if (tar)
		digest_of(tar->p, tar->len, di);
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	size_t off = 0;
	while (off < blob->len) {
		ssize_t w = write(fd, blob->p + off, blob->len - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	struct berth_layer_src src = {
		.fd = fd,
		.comp = o->comp,
		.blob_digest = o->blob_digest ? (*o->blob_digest ? o->blob_digest : NULL) : bd,
		.blob_size = o->blob_size < 0 ? UINT64_MAX
			     : o->blob_size ? (uint64_t)o->blob_size : blob->len,
		.diff_id = o->diff_id ? (*o->diff_id ? o->diff_id : NULL) : (tar ? di : NULL),
		.max_bytes = o->max_bytes ? o->max_bytes : 64u << 20,
	};
	berth_err_clear(&v->err);
	int r = berth_layer_unpack(&src, v->rootfd, &v->stats, &v->err);
	close(fd);
	if (r < 0)
		assert_true(v->err.msg[0] != '\0');
	return r;
}

/* Compress tar with o->comp, then unpack it. */
static int unpack_tar(struct env *v, struct buf *tar, const struct opts *o)
{
	struct buf blob = compress_as(o->comp, tar);
	int r = unpack_blob(v, &blob, tar, o);
	free(blob.p);
	free(tar->p);
	tar->p = NULL;
	return r;
}

static const struct opts gz = {.comp = BERTH_COMP_GZIP};

/* A hostile case: unpacking fails with a message containing want, and
 * nothing outside the root changed. */
static void expect_fail(struct env *v, struct buf *tar, const struct opts *o, const char *want)
{
	int r = unpack_tar(v, tar, o);
	if (r == 0 || !strstr(v->err.msg, want))
		fail_msg("expected failure containing \"%s\", got rc=%d \"%s\"", want, r, v->err.msg);
	check_canary(v);
}

static void expect_ok(struct env *v, struct buf *tar, const struct opts *o)
{
	if (unpack_tar(v, tar, o) < 0)
		fail_msg("unpack failed: %s", v->err.msg);
}

static struct stat lst(struct env *v, const char *path)
{
	struct stat st;
	if (fstatat(v->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		fail_msg("stat root/%s: %s", path, strerror(errno));
	return st;
}

static bool exists(struct env *v, const char *path)
{
	struct stat st;
	return fstatat(v->rootfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void assert_content(struct env *v, const char *path, const char *want)
{
	char *data = NULL;
	struct berth_err err;
	if (berth_read_file_at(v->rootfd, path, 1 << 20, &data, NULL, &err) < 0)
		fail_msg("read root/%s: %s", path, err.msg);
	assert_string_equal(data, want);
	free(data);
}

static void assert_link(struct env *v, const char *path, const char *want)
{
	char buf[4096];
	ssize_t n = readlinkat(v->rootfd, path, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

/* ---- pure functions ---------------------------------------------------- */

static void test_clean_path(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool root;
		const char *out; /* NULL = refused */
	} cases[] = {
		{"a", false, "a"},
		{"./a/b", false, "a/b"},
		{"a//b///c/", false, "a/b/c"},
		{"a/./b/.", false, "a/b"},
		{"././a", false, "a"},
		{"a/b/", false, "a/b"},
		{".", true, ""},
		{"./", true, ""},
		{".//./", true, ""},
		{".", false, NULL},
		{"./", false, NULL},
		{"", true, NULL},
		{"/", true, NULL},
		{"/etc/passwd", false, NULL},
		{"..", false, NULL},
		{"../x", false, NULL},
		{"a/../b", false, NULL},
		{"a/b/..", false, NULL},
		{"./..", true, NULL},
		{"...", false, "..."},
		{"..a/b..", false, "..a/b.."},
		{".wh..wh..opq", false, ".wh..wh..opq"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		struct berth_err err = {0};
		int r = berth_layer_clean_path(cases[i].in, cases[i].root, out, &err);
		if (!cases[i].out) {
			if (r == 0)
				fail_msg("\"%s\" accepted as \"%s\"", cases[i].in, out);
			assert_true(err.msg[0] != '\0');
		} else {
			if (r < 0)
				fail_msg("\"%s\" refused: %s", cases[i].in, err.msg);
			assert_string_equal(out, cases[i].out);
		}
	}
	char out[32];
	struct berth_err err = {0};
	assert_int_equal(berth_layer_clean_path("a/b/../c", false, out, &err), -1);
	assert_string_equal(err.msg, "path escapes the layer root (\"..\" component)");
	assert_int_equal(berth_layer_clean_path("/etc", true, out, &err), -1);
	assert_string_equal(err.msg, "absolute name (entries must be relative to the layer root)");
}

static void test_media_compression(void **state)
{
	(void)state;
	assert_int_equal(berth_layer_media_compression("application/vnd.oci.image.layer.v1.tar"),
			 BERTH_COMP_NONE);
	assert_int_equal(berth_layer_media_compression("application/vnd.oci.image.layer.v1.tar+gzip"),
			 BERTH_COMP_GZIP);
	assert_int_equal(berth_layer_media_compression("application/vnd.oci.image.layer.v1.tar+zstd"),
			 BERTH_COMP_ZSTD);
	assert_int_equal(berth_layer_media_compression(
				 "application/vnd.oci.image.layer.nondistributable.v1.tar"),
			 BERTH_COMP_NONE);
	assert_int_equal(berth_layer_media_compression(
				 "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
			 BERTH_COMP_GZIP);
	assert_int_equal(berth_layer_media_compression(
				 "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"),
			 BERTH_COMP_ZSTD);
	assert_int_equal(berth_layer_media_compression("application/vnd.docker.image.rootfs.diff.tar"),
			 BERTH_COMP_NONE);
	assert_int_equal(berth_layer_media_compression(
				 "application/vnd.docker.image.rootfs.diff.tar.gzip"),
			 BERTH_COMP_GZIP);
	assert_int_equal(berth_layer_media_compression(NULL), -1);
	assert_int_equal(berth_layer_media_compression(""), -1);
	assert_int_equal(berth_layer_media_compression("application/vnd.oci.image.layer.v1.tar+bzip2"),
			 -1);
	assert_int_equal(berth_layer_media_compression("application/vnd.oci.image.config.v1+json"), -1);
	assert_int_equal(berth_layer_media_compression("APPLICATION/VND.OCI.IMAGE.LAYER.V1.TAR"), -1);
	assert_int_equal(berth_layer_media_compression("application/vnd.oci.image.layer.v1.tar+gzip "),
			 -1);
}


/* ---- what gets created ------------------------------------------------- */

static void test_files_modes_owners(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "etc/", .type = AE_IFDIR);
	ADD(&t, .name = "etc/hello", .data = "hi\n", .mode = 0640, .uid = 1000, .gid = 2000,
	    .mtime = 1234567890);
	ADD(&t, .name = "./bin/su", .data = "#!su", .mode = 04755);
	ADD(&t, .name = "bin/sg", .data = "x", .mode = 02711, .uid = 5, .gid = 6);
	ADD(&t, .name = "tmp/", .type = AE_IFDIR, .mode = 01777);
	ADD(&t, .name = "empty", .mode0 = true);
	ADD(&t, .name = "fifo", .type = AE_IFIFO, .mode = 0620, .uid = 7, .gid = 8);
	ADD(&t, .name = "big/nobody", .data = "n", .uid = 65534, .gid = 4294967294);
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);

	struct stat st = lst(v, "etc/hello");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 2000);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_content(v, "etc/hello", "hi\n");
	assert_int_equal(lst(v, "bin/su").st_mode & 07777, 04755);
	st = lst(v, "bin/sg");
	assert_int_equal(st.st_mode & 07777, 02711);
	assert_int_equal(st.st_uid, 5);
	assert_int_equal(st.st_gid, 6);
	assert_int_equal(lst(v, "tmp").st_mode & 07777, 01777);
	st = lst(v, "empty");
	assert_int_equal(st.st_mode & 07777, 0);
	assert_int_equal(st.st_size, 0);
	st = lst(v, "fifo");
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0620);
	assert_int_equal(st.st_uid, 7);
	/* implicit parents: 0755 root:root */
	st = lst(v, "bin");
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(lst(v, "big/nobody").st_gid, 4294967294u);
	assert_int_equal(v->stats.entries, 8);
	assert_true(v->stats.bytes >= 8 * 512);
	assert_int_equal(v->stats.bytes % 512, 0);
	check_canary(v);
}

static void test_dirs_deferred_mtimes(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "./", .type = AE_IFDIR, .mode = 0711, .uid = 3, .mtime = 111111);
	ADD(&t, .name = "d/", .type = AE_IFDIR, .mode = 0750, .uid = 10, .gid = 11, .mtime = 222222);
	ADD(&t, .name = "d/sub/", .type = AE_IFDIR, .mtime = 333333);
	ADD(&t, .name = "d/sub/f", .data = "data");
	ADD(&t, .name = "d/g", .data = "more");
	ADD(&t, .name = "d/ro/", .type = AE_IFDIR, .mode = 0500, .mtime = 444444);
	ADD(&t, .name = "d/ro/inside", .data = "x");
	ADD(&t, .name = "d/", .type = AE_IFDIR, .mode = 0755, .mtime = 555555); /* dir over dir */
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);

	struct stat st = lst(v, "d");
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mtim.tv_sec, 555555);
	assert_int_equal(lst(v, "d/sub").st_mtim.tv_sec, 333333);
	assert_int_equal(lst(v, "d/ro").st_mtim.tv_sec, 444444);
	assert_int_equal(lst(v, "d/ro").st_mode & 07777, 0500);
	assert_content(v, "d/ro/inside", "x");
	assert_content(v, "d/sub/f", "data");
	fstat(v->rootfd, &st);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(st.st_uid, 3);
	assert_int_equal(st.st_mtim.tv_sec, 111111);
	check_canary(v);
}

static void test_symlinks_not_followed(void **state)
{
	struct env *v = *state;
	char abs_canary[128];
	snprintf(abs_canary, sizeof(abs_canary), "%s/canary", v->base);
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "abs", .type = AE_IFLNK, .link = abs_canary, .uid = 4, .gid = 5, .mtime = 777);
	ADD(&t, .name = "rel", .type = AE_IFLNK, .link = "../../canary");
	ADD(&t, .name = "dangling", .type = AE_IFLNK, .link = "/no/such/file");
	/* a later regular file replaces the symlink rather than writing through it */
	ADD(&t, .name = "abs", .data = "replaced");
	ADD(&t, .name = "rel2", .type = AE_IFLNK, .link = "../canary");
	ADD(&t, .name = "rel2", .type = AE_IFDIR);
	ADD(&t, .name = "rel2/x", .data = "in a dir");
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);

	assert_true(S_ISREG(lst(v, "abs").st_mode));
	assert_content(v, "abs", "replaced");
	assert_link(v, "rel", "../../canary");
	struct stat st = lst(v, "rel");
	assert_true(S_ISLNK(st.st_mode));
	assert_link(v, "dangling", "/no/such/file");
	assert_true(S_ISDIR(lst(v, "rel2").st_mode));
	assert_content(v, "rel2/x", "in a dir");
	check_canary(v);

	/* symlink owner and time are the entry's, set without following */
	memset(&t, 0, sizeof(t));
	tb_init(&t);
	ADD(&t, .name = "l2", .type = AE_IFLNK, .link = abs_canary, .uid = 4, .gid = 5, .mtime = 777);
	tar = tb_done(&t);
	expect_ok(v, &tar, &gz);
	st = lst(v, "l2");
	assert_int_equal(st.st_uid, 4);
	assert_int_equal(st.st_gid, 5);
	assert_int_equal(st.st_mtim.tv_sec, 777);
	assert_link(v, "l2", abs_canary);
	check_canary(v);
}

static void test_symlink_parent_stays_inside(void **state)
{
	struct env *v = *state;
	char abs_base[128];
	snprintf(abs_base, sizeof(abs_base), "%s", v->base);
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "link", .type = AE_IFLNK, .link = "/");
	ADD(&t, .name = "link/etc/x", .data = "via root link");
	ADD(&t, .name = "up", .type = AE_IFLNK, .link = "../../../../..");
	ADD(&t, .name = "up/canary", .data = "via dotdot link");
	ADD(&t, .name = "host", .type = AE_IFLNK, .link = abs_base);
	ADD(&t, .name = "host/canary", .data = "via absolute link");
	ADD(&t, .name = "d/", .type = AE_IFDIR);
	ADD(&t, .name = "d/l", .type = AE_IFLNK, .link = "../../");
	ADD(&t, .name = "d/l/y", .data = "via relative link");
	ADD(&t, .name = "link/etc/sub/", .type = AE_IFDIR, .mtime = 98765);
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);

	assert_content(v, "etc/x", "via root link");
	assert_content(v, "canary", "via dotdot link");
	assert_int_equal(lst(v, "etc/sub").st_mtim.tv_sec, 98765);
	assert_true(S_ISDIR(lst(v, "etc/sub").st_mode));
	assert_content(v, "y", "via relative link");
	/* "host" -> /tmp/berth-layer-X resolves to root/tmp/berth-layer-X */
	char inroot[160];
	snprintf(inroot, sizeof(inroot), "%s/canary", abs_base + 1);
	assert_content(v, inroot, "via absolute link");
	check_canary(v);
}

static void test_parents(void **state)
{
	struct env *v = *state;
	/* an O_PATH root fd works as well as an O_RDONLY one */
	int opath = openat(v->basefd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(opath >= 0);
	close(v->rootfd);
	v->rootfd = opath;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "c/b/", .type = AE_IFDIR);
	ADD(&t, .name = "a/b/f1", .data = "1");         /* parent a/b now cached */
	ADD(&t, .name = "a", .type = AE_IFLNK, .link = "c"); /* a/ and a/b/ go away */
	ADD(&t, .name = "a/b/f2", .data = "2");         /* must land in c/b */
	ADD(&t, .name = "dang", .type = AE_IFLNK, .link = "../../made/../made/here");
	ADD(&t, .name = "dang/f", .data = "3");         /* target created in the root */
	ADD(&t, .name = "chain1", .type = AE_IFLNK, .link = "chain2/sub");
	ADD(&t, .name = "chain2", .type = AE_IFLNK, .link = "/x/y");
	ADD(&t, .name = "chain1/g", .data = "4");
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);
	assert_false(exists(v, "c/b/f1"));
	assert_content(v, "c/b/f2", "2");
	assert_content(v, "made/here/f", "3");
	assert_int_equal(lst(v, "made").st_mode & 07777, 0755);
	assert_content(v, "x/y/sub/g", "4");
	check_canary(v);

	static const struct {
		const char *link, *want;
	} bad[] = {
		{"loop2", "too many levels of symbolic links"},
		{"file", "parent \"p\" is not a directory"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_root(v);
		tb_init(&t);
		ADD(&t, .name = "file", .data = "f");
		ADD(&t, .name = "loop1", .type = AE_IFLNK, .link = "loop2");
		ADD(&t, .name = "loop2", .type = AE_IFLNK, .link = "loop1");
		ADD(&t, .name = "p", .type = AE_IFLNK, .link = bad[i].link);
		ADD(&t, .name = "p/x", .data = "x");
		tar = tb_done(&t);
		expect_fail(v, &tar, &gz, "entry \"p/x\": ");
		if (!strstr(v->err.msg, bad[i].want))
			fail_msg("%s", v->err.msg);
	}
	/* a regular file replacing a cached parent's ancestor */
	clear_root(v);
	tb_init(&t);
	ADD(&t, .name = "a/b/f1", .data = "1");
	ADD(&t, .name = "a", .data = "now a file");
	ADD(&t, .name = "a/b/f2", .data = "2");
	tar = tb_done(&t);
	expect_fail(v, &tar, &gz, "entry \"a/b/f2\": parent \"a/b\" is not a directory");
}

static void test_hardlinks(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "bin/busybox", .data = "BB", .mode = 0755);
	ADD(&t, .name = "bin/sh", .hardlink = "bin/busybox");
	ADD(&t, .name = "usr/bin/ls", .hardlink = "./bin//busybox");
	ADD(&t, .name = "sym", .type = AE_IFLNK, .link = "/etc/shadow");
	ADD(&t, .name = "sym2", .hardlink = "sym"); /* links the symlink itself */
	ADD(&t, .name = "bin/sh", .hardlink = "bin/busybox"); /* again: no-op */
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);

	struct stat a = lst(v, "bin/busybox"), b = lst(v, "bin/sh"), c = lst(v, "usr/bin/ls");
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_ino, c.st_ino);
	assert_int_equal(a.st_nlink, 3);
	assert_int_equal(a.st_mode & 07777, 0755);
	assert_true(S_ISLNK(lst(v, "sym2").st_mode));
	assert_int_equal(lst(v, "sym2").st_ino, lst(v, "sym").st_ino);
	check_canary(v);
}

/* ---- hostile names and links ------------------------------------------- */

static void test_dotdot_and_absolute_refused(void **state)
{
	struct env *v = *state;
	static const char *names[] = {"../canary", "a/../../canary", "/etc/passwd", "a/b/..",
				      "..", "/"};
	static const char *want[] = {"path escapes the layer root", "path escapes the layer root",
				     "absolute name", "path escapes the layer root",
				     "path escapes the layer root", "absolute name"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct tarb t;
		tb_init(&t);
		ADD(&t, .name = "ok", .data = "fine");
		ADD(&t, .name = names[i], .data = "evil");
		struct buf tar = tb_done(&t);
		char w[128];
		snprintf(w, sizeof(w), "entry \"%s\": %s", names[i], want[i]);
		expect_fail(v, &tar, &gz, w);
		clear_root(v);
	}
}

static void test_hardlink_escape_refused(void **state)
{
	struct env *v = *state;
	char abs_canary[128];
	snprintf(abs_canary, sizeof(abs_canary), "%s/canary", v->base);
	static const struct {
		const char *target, *want;
	} cases[] = {
		{"../canary", "path escapes the layer root"},
		{"/etc/passwd", "absolute name"},
		{"up/canary", "does not exist in this layer"}, /* up -> ../.. stays in root */
		{"abs", NULL},                                 /* links the symlink itself */
		{"abs/x", "does not exist in this layer"},     /* abs -> host canary: clamped */
		{"dir", "is a directory"},
		{"missing", "does not exist in this layer"},
		{"later", "does not exist in this layer"},
		{".", "names the layer root"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tarb t;
		tb_init(&t);
		ADD(&t, .name = "up", .type = AE_IFLNK, .link = "../..");
		ADD(&t, .name = "abs", .type = AE_IFLNK, .link = abs_canary);
		ADD(&t, .name = "dir/", .type = AE_IFDIR);
		ADD(&t, .name = "h", .hardlink = cases[i].target);
		ADD(&t, .name = "later", .data = "x");
		struct buf tar = tb_done(&t);
		if (!cases[i].want) {
			expect_ok(v, &tar, &gz);
			assert_true(S_ISLNK(lst(v, "h").st_mode));
			assert_int_equal(lst(v, "h").st_ino, lst(v, "abs").st_ino);
		} else {
			char w[160];
			snprintf(w, sizeof(w), "entry \"h\": hardlink target \"%s\"", cases[i].target);
			expect_fail(v, &tar, &gz, w);
			assert_non_null(strstr(v->err.msg, cases[i].want));
		}
		check_canary(v);
		clear_root(v);
	}
}

static void test_root_entry(void **state)
{
	struct env *v = *state;
	static const struct ent bad[] = {
		{.name = ".", .type = AE_IFLNK, .link = "/"},
		{.name = "./", .type = AE_IFLNK, .link = "../.."},
		{.name = ".", .data = "file"},
		{.name = ".", .hardlink = "x"},
		{.name = ".", .type = AE_IFIFO},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tarb t;
		tb_init(&t);
		ADD(&t, .name = "x", .data = "x");
		tb_add(&t, &bad[i]);
		ADD(&t, .name = "etc/evil", .data = "evil");
		struct buf tar = tb_done(&t);
		char w[96];
		snprintf(w, sizeof(w), "entry \"%s\": the layer root may only be a directory", bad[i].name);
		expect_fail(v, &tar, &gz, w);
		struct stat st;
		assert_int_equal(fstatat(v->basefd, "root", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISDIR(st.st_mode));
		clear_root(v);
	}
}

/* ---- whiteouts and xattrs ---------------------------------------------- */

static void test_whiteouts(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "etc/", .type = AE_IFDIR, .mode = 0700);
	ADD(&t, .name = "etc/.wh.passwd");
	ADD(&t, .name = "usr/share/.wh.doc");            /* parents created */
	ADD(&t, .name = ".wh..hidden");                  /* NAME ".hidden" is fine */
	ADD(&t, .name = "keep", .data = "same layer");
	ADD(&t, .name = ".wh.keep");                     /* same-layer entry: not hidden */
	ADD(&t, .name = ".wh.later");                    /* later same-layer entry replaces */
	ADD(&t, .name = "later", .data = "wins");
	ADD(&t, .name = "opq/.wh..wh..opq");
	ADD(&t, .name = "opq/", .type = AE_IFDIR, .mode = 0751);
	ADD(&t, .name = "opq/new", .data = "sibling");
	ADD(&t, .name = ".wh..wh..opq");                 /* on the root itself */
	ADD(&t, .name = "etc/.wh..wh.plnk");             /* AUFS metadata: ignored */
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);

	struct stat st = lst(v, "etc/passwd");
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	assert_false(exists(v, "etc/.wh.passwd"));
	assert_int_equal(lst(v, "etc").st_mode & 07777, 0700);
	assert_true(S_ISCHR(lst(v, "usr/share/doc").st_mode));
	assert_true(S_ISCHR(lst(v, ".hidden").st_mode));
	assert_content(v, "keep", "same layer");
	assert_content(v, "later", "wins");
	char val[8] = {0};
	assert_int_equal(getxattr(v->base, "trusted.overlay.opaque", val, sizeof(val)), -1);
	int fd = openat(v->rootfd, "opq", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fgetxattr(fd, "trusted.overlay.opaque", val, sizeof(val)), 1);
	assert_int_equal(val[0], 'y');
	close(fd);
	assert_int_equal(lst(v, "opq").st_mode & 07777, 0751);
	assert_content(v, "opq/new", "sibling");
	assert_false(exists(v, "opq/.wh..wh..opq"));
	assert_int_equal(fgetxattr(v->rootfd, "trusted.overlay.opaque", val, sizeof(val)), 1);
	assert_false(exists(v, "etc/.wh..wh.plnk"));
	assert_false(exists(v, "etc/.wh.plnk"));
	check_canary(v);
}

static void test_bad_whiteouts_refused(void **state)
{
	struct env *v = *state;
	static const char *names[] = {".wh.", ".wh..", ".wh...", "etc/.wh.", "etc/.wh..",
				      "etc/.wh..."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct tarb t;
		tb_init(&t);
		ADD(&t, .name = "etc/", .type = AE_IFDIR);
		ADD(&t, .name = "etc/f", .data = "f");
		ADD(&t, .name = names[i]);
		struct buf tar = tb_done(&t);
		char w[96];
		snprintf(w, sizeof(w), "entry \"%s\": invalid whiteout", names[i]);
		expect_fail(v, &tar, &gz, w);
		/* the parent directory was not deleted or replaced */
		assert_true(S_ISDIR(lst(v, "etc").st_mode));
		assert_content(v, "etc/f", "f");
		clear_root(v);
	}
}

static void test_xattrs(void **state)
{
	struct env *v = *state;
	/* v2 file capability: cap_net_bind_service in permitted */
	static const char cap[] = "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
				  "\x00\x00\x00\x00";
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "f", .data = "x", .xname = {"user.mime", "trusted.overlay.opaque",
						    "trusted.overlay.redirect"},
	    .xval = {"text/plain", "y", "/etc"});
	ADD(&t, .name = "d/", .type = AE_IFDIR, .xname = {"trusted.overlay.opaque", "user.d",
							   "security.selinux"},
	    .xval = {"y", "dir", "system_u:object_r:etc_t:s0"});
	ADD(&t, .name = "t", .data = "x", .xname = {"trusted.foo"}, .xval = {"bar"});
	struct buf tar = tb_done(&t);
	/* security.capability carries NUL bytes: add it by hand */
	{
		struct tarb t2;
		tb_init(&t2);
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, "ping");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_size(e, 1);
		archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap) - 1);
		assert_int_equal(archive_write_header(t2.a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(t2.a, "p", 1), 1);
		archive_entry_free(e);
		struct buf tar2 = tb_done(&t2);
		expect_ok(v, &tar2, &gz);
	}
	expect_ok(v, &tar, &gz);

	char val[64];
	int fd = openat(v->rootfd, "f", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fgetxattr(fd, "user.mime", val, sizeof(val)), 10);
	assert_memory_equal(val, "text/plain", 10);
	assert_int_equal(fgetxattr(fd, "trusted.overlay.opaque", val, sizeof(val)), -1);
	assert_int_equal(errno, ENODATA);
	assert_int_equal(fgetxattr(fd, "trusted.overlay.redirect", val, sizeof(val)), -1);
	close(fd);
	fd = openat(v->rootfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fgetxattr(fd, "trusted.overlay.opaque", val, sizeof(val)), -1);
	assert_int_equal(fgetxattr(fd, "user.d", val, sizeof(val)), 3);
	close(fd);
	fd = openat(v->rootfd, "t", O_RDONLY | O_CLOEXEC);
	assert_int_equal(fgetxattr(fd, "trusted.foo", val, sizeof(val)), -1);
	close(fd);
	fd = openat(v->rootfd, "ping", O_RDONLY | O_CLOEXEC);
	ssize_t n = fgetxattr(fd, "security.capability", val, sizeof(val));
	assert_int_equal(n, (ssize_t)sizeof(cap) - 1);
	assert_memory_equal(val, cap, sizeof(cap) - 1);
	close(fd);
	check_canary(v);
}

static void test_devices_skipped(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "dev/", .type = AE_IFDIR);
	ADD(&t, .name = "dev/sda", .type = AE_IFBLK, .rdev = makedev(8, 0));
	ADD(&t, .name = "dev/mem", .type = AE_IFCHR, .rdev = makedev(1, 1), .mode = 0666);
	ADD(&t, .name = "dev/kmem", .hardlink = "dev/mem");
	ADD(&t, .name = "dev/null", .type = AE_IFCHR, .rdev = makedev(1, 3));
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);
	assert_false(exists(v, "dev/sda"));
	assert_false(exists(v, "dev/mem"));
	assert_false(exists(v, "dev/kmem"));
	assert_false(exists(v, "dev/null"));
	assert_int_equal(v->stats.skipped_devices, 4);
	assert_int_equal(v->stats.entries, 1);
	check_canary(v);
}

static void test_replace_existing(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "a/", .type = AE_IFDIR);
	ADD(&t, .name = "a/x", .data = "old");
	ADD(&t, .name = "a", .data = "file over dir");
	ADD(&t, .name = "b", .data = "file");
	ADD(&t, .name = "b/", .type = AE_IFDIR);
	ADD(&t, .name = "b/y", .data = "dir over file");
	ADD(&t, .name = "c/", .type = AE_IFDIR);
	ADD(&t, .name = "c/z", .data = "z");
	ADD(&t, .name = "c", .type = AE_IFLNK, .link = "/");
	ADD(&t, .name = "c/w", .data = "through new symlink");
	ADD(&t, .name = "e", .data = "one");
	ADD(&t, .name = "e", .data = "two");
	struct buf tar = tb_done(&t);
	expect_ok(v, &tar, &gz);
	assert_content(v, "a", "file over dir");
	assert_content(v, "b/y", "dir over file");
	assert_true(S_ISLNK(lst(v, "c").st_mode));
	assert_content(v, "w", "through new symlink");
	assert_false(exists(v, "z"));
	assert_content(v, "e", "two");
	assert_int_equal(lst(v, "e").st_nlink, 1);
	check_canary(v);
}

static void test_odd_names_and_big_file(void **state)
{
	struct env *v = *state;
	size_t big = 3 * 1024 * 1024 + 123;
	char *data = malloc(big + 1);
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + (i * 7 + i / 4096) % 26);
	data[big] = '\0';
	locale_t u8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old = u8 ? uselocale(u8) : (locale_t)0;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", .data = "utf8");
	ADD(&t, .name = "sp ace\tand\nnewline", .data = "ws");
	ADD(&t, .name = "deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/file", .data = "deep");
	ADD(&t, .name = "big", .data = data, .len = big);
	ADD(&t, .name = "sparse", .data = "hole", .sparse_size = 1 << 20);
	struct buf tar = tb_done(&t);
	if (u8) {
		uselocale(old);
		freelocale(u8);
	}
	expect_ok(v, &tar, &(struct opts){.comp = BERTH_COMP_ZSTD});
	assert_content(v, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "utf8");
	assert_content(v, "sp ace\tand\nnewline", "ws");
	assert_content(v, "deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/file", "deep");
	char *got = NULL;
	size_t len = 0;
	struct berth_err err;
	assert_int_equal(berth_read_file_at(v->rootfd, "big", big + 1, &got, &len, &err), 0);
	assert_int_equal(len, big);
	assert_memory_equal(got, data, big);
	free(got);
	free(data);
	struct stat st = lst(v, "sparse");
	assert_int_equal(st.st_size, 1 << 20);
	assert_true(st.st_blocks * 512 < 64 * 1024);
	int fd = openat(v->rootfd, "sparse", O_RDONLY | O_CLOEXEC);
	char b4[5] = {0};
	assert_int_equal(pread(fd, b4, 4, 4096), 4);
	assert_string_equal(b4, "hole");
	assert_int_equal(pread(fd, b4, 4, 0), 4);
	assert_memory_equal(b4, "\0\0\0\0", 4);
	close(fd);
	check_canary(v);
}

static void test_ids_out_of_range(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "f", .data = "x", .uid = 4294967295);
	struct buf tar = tb_done(&t);
	expect_fail(v, &tar, &gz, "entry \"f\": uid 4294967295 is out of range");
}

/* ---- the stream: compression, digests, caps, corruption ---------------- */

static struct buf small_tar(void)
{
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "etc/os-release", .data = "ID=berth\n");
	ADD(&t, .name = "bin/sh", .data = "#!", .mode = 0755);
	return tb_done(&t);
}

static void test_compressions(void **state)
{
	struct env *v = *state;
	static const enum berth_compression comps[] = {BERTH_COMP_GZIP, BERTH_COMP_ZSTD,
						       BERTH_COMP_NONE};
	for (size_t i = 0; i < 3; i++) {
		struct buf tar = small_tar();
		size_t tarlen = tar.len;
		expect_ok(v, &tar, &(struct opts){.comp = comps[i]});
		assert_content(v, "etc/os-release", "ID=berth\n");
		assert_int_equal(v->stats.entries, 2);
		assert_int_equal(v->stats.bytes, tarlen);
		clear_root(v);
	}
	/* concatenated gzip members and zstd frames are one stream */
	struct buf tar = small_tar();
	size_t half = tar.len / 2;
	for (int z = 0; z < 2; z++) {
		struct buf a = z ? zstd_buf(tar.p, half) : gzip_buf(tar.p, half);
		struct buf b = z ? zstd_buf(tar.p + half, tar.len - half)
				 : gzip_buf(tar.p + half, tar.len - half);
		buf_add(&a, b.p, b.len);
		free(b.p);
		assert_int_equal(unpack_blob(v, &a, &tar,
					     &(struct opts){.comp = z ? BERTH_COMP_ZSTD : BERTH_COMP_GZIP}),
				 0);
		free(a.p);
		assert_content(v, "bin/sh", "#!");
		clear_root(v);
	}
	free(tar.p);
	/* an empty layer (just the end-of-archive blocks) */
	static unsigned char zeros[1024];
	struct buf empty = {0};
	buf_add(&empty, zeros, sizeof(zeros));
	expect_ok(v, &empty, &gz);
	assert_int_equal(v->stats.entries, 0);
	assert_int_equal(v->stats.bytes, 1024);
}

static void test_wrong_magic(void **state)
{
	struct env *v = *state;
	static const struct {
		enum berth_compression declared, actual;
		const char *want;
	} cases[] = {
		{BERTH_COMP_GZIP, BERTH_COMP_ZSTD, "declared gzip but its data is zstd-compressed"},
		{BERTH_COMP_ZSTD, BERTH_COMP_GZIP, "declared zstd but its data is gzip-compressed"},
		{BERTH_COMP_NONE, BERTH_COMP_GZIP, "declared uncompressed but its data is gzip"},
		{BERTH_COMP_GZIP, BERTH_COMP_NONE, "lacks the gzip magic 1f 8b"},
		{BERTH_COMP_ZSTD, BERTH_COMP_NONE, "lacks the zstd magic 28 b5 2f fd"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf tar = small_tar();
		struct buf blob = compress_as(cases[i].actual, &tar);
		assert_int_equal(unpack_blob(v, &blob, &tar, &(struct opts){.comp = cases[i].declared}),
				 -1);
		if (!strstr(v->err.msg, cases[i].want))
			fail_msg("case %zu: %s", i, v->err.msg);
		assert_false(exists(v, "etc"));
		check_canary(v);
		free(blob.p);
		free(tar.p);
	}
	struct buf empty = {0};
	assert_int_equal(unpack_blob(v, &empty, NULL, &(struct opts){.comp = BERTH_COMP_GZIP}), -1);
	assert_non_null(strstr(v->err.msg, "is empty"));
}

static void test_digest_mismatches(void **state)
{
	struct env *v = *state;
	static const char other[] =
		"sha256:0000000000000000000000000000000000000000000000000000000000000000";
	struct buf tar = small_tar();
	struct buf blob = gzip_buf(tar.p, tar.len);
	char bd[BERTH_DIGEST_MAX], di[BERTH_DIGEST_MAX];
	digest_of(blob.p, blob.len, bd);
	digest_of(tar.p, tar.len, di);

	/* blob digest */
	assert_int_equal(unpack_blob(v, &blob, &tar, &(struct opts){.comp = BERTH_COMP_GZIP,
								     .blob_digest = other}), -1);
	char want[256];
	snprintf(want, sizeof(want), "layer blob %s has digest %s, expected %s", other, bd, other);
	if (!strstr(v->err.msg, want))
		fail_msg("%s", v->err.msg);
	clear_root(v);
	/* blob size, both directions */
	assert_int_equal(unpack_blob(v, &blob, &tar, &(struct opts){.comp = BERTH_COMP_GZIP,
								     .blob_size = (int64_t)blob.len + 1}),
			 -1);
	snprintf(want, sizeof(want), "layer blob %s has %zu bytes but its descriptor says %zu", bd,
		 blob.len, blob.len + 1);
	if (!strstr(v->err.msg, want))
		fail_msg("%s", v->err.msg);
	assert_false(exists(v, "etc"));
	assert_int_equal(unpack_blob(v, &blob, &tar, &(struct opts){.comp = BERTH_COMP_GZIP,
								     .blob_size = (int64_t)blob.len - 1}),
			 -1);
	assert_non_null(strstr(v->err.msg, "but its descriptor says"));
	/* diff_id */
	assert_int_equal(unpack_blob(v, &blob, &tar, &(struct opts){.comp = BERTH_COMP_GZIP,
								     .diff_id = other}), -1);
	snprintf(want, sizeof(want), "layer blob %s: its uncompressed content has diff_id %s, "
		 "but the image config says %s", bd, di, other);
	if (!strstr(v->err.msg, want))
		fail_msg("%s", v->err.msg);
	clear_root(v);
	/* a flipped byte inside the gzip data is reported as the digest mismatch it is */
	struct buf bad = {0};
	buf_add(&bad, blob.p, blob.len);
	bad.p[bad.len / 2] ^= 0x55;
	assert_int_equal(unpack_blob(v, &bad, &tar, &(struct opts){.comp = BERTH_COMP_GZIP,
								    .blob_digest = bd}), -1);
	snprintf(want, sizeof(want), "layer blob %s has digest sha256:", bd);
	if (!strstr(v->err.msg, want))
		fail_msg("%s", v->err.msg);
	/* no checks requested: fine */
	clear_root(v);
	assert_int_equal(unpack_blob(v, &blob, &tar, &(struct opts){.comp = BERTH_COMP_GZIP,
								     .blob_digest = "", .blob_size = -1,
								     .diff_id = ""}), 0);
	assert_content(v, "etc/os-release", "ID=berth\n");
	/* malformed expected digests are refused up front */
	assert_int_equal(unpack_blob(v, &blob, &tar, &(struct opts){.comp = BERTH_COMP_GZIP,
								     .diff_id = "sha256:ABC"}), -1);
	assert_non_null(strstr(v->err.msg, "is not \"sha256:\" + 64 lowercase hex"));
	free(bad.p);
	free(blob.p);
	free(tar.p);
	check_canary(v);
}

static void test_size_cap(void **state)
{
	struct env *v = *state;
	const uint64_t cap = 1 << 20;
	char *zeros = calloc(1, 8 << 20);
	assert_non_null(zeros);

	/* one big file: refused from its header */
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "bomb", .data = zeros, .len = 8 << 20);
	struct buf tar = tb_done(&t);
	expect_fail(v, &tar, &(struct opts){.comp = BERTH_COMP_GZIP, .max_bytes = cap},
		    "entry \"bomb\": file sizes in the layer add up to more than the cap of 1048576");
	assert_non_null(strstr(v->err.msg, "--max-layer-size"));
	clear_root(v);

	/* many files under the cap each, over it together */
	tb_init(&t);
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		ADD(&t, .name = name, .data = zeros, .len = 200 << 10);
	}
	tar = tb_done(&t);
	expect_fail(v, &tar, &(struct opts){.comp = BERTH_COMP_ZSTD, .max_bytes = cap},
		    "entry \"f5\": file sizes in the layer add up to more");
	clear_root(v);

	/* a sparse file's logical size counts */
	tb_init(&t);
	ADD(&t, .name = "sparse", .data = "x", .sparse_size = 1ll << 40);
	tar = tb_done(&t);
	expect_fail(v, &tar, &(struct opts){.comp = BERTH_COMP_GZIP, .max_bytes = cap},
		    "entry \"sparse\": file sizes in the layer add up to more");
	clear_root(v);

	/* the uncompressed stream itself: a small tar followed by megabytes of zeros */
	tar = small_tar();
	buf_add(&tar, zeros, 8 << 20);
	expect_fail(v, &tar, &(struct opts){.comp = BERTH_COMP_GZIP, .max_bytes = cap},
		    "expands to more than the cap of 1048576 uncompressed bytes");
	assert_non_null(strstr(v->err.msg, "raise the cap with --max-layer-size"));
	free(zeros);
}

static void test_truncated(void **state)
{
	struct env *v = *state;
	char *data = malloc(300000);
	assert_non_null(data);
	for (int i = 0; i < 300000; i++)
		data[i] = (char)(i * 2654435761u >> 24);
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "a", .data = "aaa");
	ADD(&t, .name = "b", .data = data, .len = 300000);
	struct buf tar = tb_done(&t);
	free(data);

	/* uncompressed tar cut inside b's data */
	struct buf cut = {0};
	buf_add(&cut, tar.p, 2048 + 100000);
	assert_int_equal(unpack_blob(v, &cut, NULL, &(struct opts){.comp = BERTH_COMP_NONE,
								    .diff_id = ""}), -1);
	if (!strstr(v->err.msg, "entry \"b\": corrupt or truncated tar archive: Truncated tar archive"))
		fail_msg("%s", v->err.msg);
	check_canary(v);
	free(cut.p);
	clear_root(v);

	/* gzip stream cut short */
	for (int z = 0; z < 2; z++) {
		struct buf blob = z ? zstd_buf(tar.p, tar.len) : gzip_buf(tar.p, tar.len);
		blob.len = blob.len * 2 / 3;
		assert_int_equal(unpack_blob(v, &blob, NULL,
					     &(struct opts){.comp = z ? BERTH_COMP_ZSTD : BERTH_COMP_GZIP,
							    .diff_id = ""}),
				 -1);
		if (!strstr(v->err.msg, z ? "zstd stream is truncated" : "gzip stream is truncated"))
			fail_msg("%s", v->err.msg);
		check_canary(v);
		free(blob.p);
		clear_root(v);
	}
	/* gzip followed by garbage */
	struct buf blob = gzip_buf(tar.p, tar.len);
	buf_add(&blob, "GARBAGE!", 8);
	assert_int_equal(unpack_blob(v, &blob, NULL, &(struct opts){.comp = BERTH_COMP_GZIP,
								     .diff_id = ""}), -1);
	assert_non_null(strstr(v->err.msg, "corrupt gzip data"));
	free(blob.p);
	free(tar.p);
	check_canary(v);
}

static void test_corrupt_header(void **state)
{
	struct env *v = *state;
	struct tarb t;
	tb_init(&t);
	ADD(&t, .name = "first", .data = "1");
	ADD(&t, .name = "second", .data = "2");
	struct buf tar = tb_done(&t);
	/* pax_restricted writes plain ustar here: header, one data block, header... */
	assert_memory_equal(tar.p + 1024, "second", 6);
	tar.p[1024 + 100] ^= 0x3f; /* the mode field: checksum no longer matches */
	expect_fail(v, &tar, &gz, "corrupt or truncated tar archive after entry \"first\"");
	assert_content(v, "first", "1");

	/* not a tar at all */
	clear_root(v);
	struct buf junk = {0};
	buf_add(&junk, "this is not a tar archive, not even close ...........", 52);
	for (int i = 0; i < 5; i++)
		buf_add(&junk, junk.p, 52);
	expect_fail(v, &junk, &gz, "corrupt or truncated tar archive");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_path),
		cmocka_unit_test(test_media_compression),
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
		T(test_files_modes_owners),
		T(test_dirs_deferred_mtimes),
		T(test_symlinks_not_followed),
		T(test_symlink_parent_stays_inside),
		T(test_parents),
		T(test_hardlinks),
		T(test_dotdot_and_absolute_refused),
		T(test_hardlink_escape_refused),
		T(test_root_entry),
		T(test_whiteouts),
		T(test_bad_whiteouts_refused),
		T(test_xattrs),
		T(test_devices_skipped),
		T(test_replace_existing),
		T(test_odd_names_and_big_file),
		T(test_ids_out_of_range),
		T(test_compressions),
		T(test_wrong_magic),
		T(test_digest_mismatches),
		T(test_size_cap),
		T(test_truncated),
		T(test_corrupt_header),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
