/* berth images/ — the verifying layer stream.
 *
 * One layer blob flows   fd -> sha256+count (blob) -> gunzip/unzstd/none
 *                           -> sha256+count (diff_id) -> libarchive (tar only)
 *                           -> unpack.c, which creates each entry by fd.
 *
 * Reading, hashing the blob and decompressing run on a helper thread (the
 * producer) that fills a small ring of big buffers; the calling thread hashes
 * the uncompressed bytes, parses them and does the file-system work, so the two
 * halves overlap the way `tar -xzf` overlaps gzip and tar.  If the thread
 * cannot be created, the calling thread does both (same results, slower).
 */
#include "images/layer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "images/images.h"
#include "images/unpack.h"

#define IN_BUF_SIZE (256u * 1024)   /* compressed reads */
#define SLOT_SIZE (256u * 1024)     /* one buffer of uncompressed tar */
#define NSLOTS 4

/* ---- media types ------------------------------------------------------- */

static const struct {
	const char *type;
	enum berth_compression comp;
} media_types[] = {
	{"application/vnd.oci.image.layer.v1.tar", BERTH_COMP_NONE},
	{"application/vnd.oci.image.layer.v1.tar+gzip", BERTH_COMP_GZIP},
	{"application/vnd.oci.image.layer.v1.tar+zstd", BERTH_COMP_ZSTD},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar", BERTH_COMP_NONE},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", BERTH_COMP_GZIP},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", BERTH_COMP_ZSTD},
	{"application/vnd.docker.image.rootfs.diff.tar", BERTH_COMP_NONE},
	{"application/vnd.docker.image.rootfs.diff.tar.gzip", BERTH_COMP_GZIP},
	{"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", BERTH_COMP_GZIP},
};

int berth_layer_media_compression(const char *media_type)
{
	if (!media_type)
		return -1;
	for (size_t i = 0; i < sizeof(media_types) / sizeof(media_types[0]); i++)
		if (!strcmp(media_type, media_types[i].type))
			return (int)media_types[i].comp;
	return -1;
}

static const char *comp_name(enum berth_compression c)
{
	switch (c) {
	case BERTH_COMP_NONE: return "uncompressed";
	case BERTH_COMP_GZIP: return "gzip";
	case BERTH_COMP_ZSTD: return "zstd";
	}
	return "unknown";
}

/* ---- the stream -------------------------------------------------------- */

struct slot {
	unsigned char *buf;
	size_t len;
};

struct layer_stream {
	/* Fixed for the whole run. */
	int fd;
	enum berth_compression comp;
	const char *blob;          /* blob digest or "(no digest)", for messages */
	uint64_t blob_size;        /* UINT64_MAX = unchecked */
	uint64_t max_bytes;

	/* Producer side (helper thread, or the caller in synchronous mode). */
	unsigned char *inbuf;
	size_t in_pos, in_len;
	bool in_eof;
	struct berth_sha256 blob_hash;
	uint64_t blob_bytes;
	uint64_t produced;         /* uncompressed bytes produced */
	z_stream z;
	bool z_live, member_done;
	ZSTD_DStream *zs;
	size_t zs_last;
	struct berth_err perr;     /* producer error */
	bool blob_err;             /* perr is already about the blob's size/digest */

	/* Ring of uncompressed buffers, guarded by mu in threaded mode. */
	pthread_mutex_t mu;
	pthread_cond_t can_fill, can_take;
	struct slot slots[NSLOTS];
	unsigned tail, filled;
	bool lent, prod_end, prod_failed, cancel;
	bool threaded;             /* the producer runs on its own thread */
	bool sync_ready;           /* mu and the conds are initialised */
	pthread_t thread;

	/* Consumer side (the caller). */
	struct berth_sha256 tar_hash;
	bool hash_tar;             /* false when uncompressed: diff_id == blob digest */
	bool saw_fail;             /* next_chunk reported the producer's failure */
	uint64_t consumed;
};

__attribute__((format(printf, 3, 4)))
static int prod_fail(struct layer_stream *st, int errnum, const char *fmt, ...)
{
	char msg[BERTH_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berth_err_set(&st->perr, errnum, "%s", msg);
}

static int account_raw(struct layer_stream *st, const void *buf, size_t n)
{
	berth_sha256_update(&st->blob_hash, buf, n);
	st->blob_bytes += n;
	if (st->blob_size != UINT64_MAX && st->blob_bytes > st->blob_size) {
		st->blob_err = true;
		return prod_fail(st, 0,
				 "layer blob %s is larger than its declared size of %" PRIu64
				 " bytes; the blob is corrupt: pull or load the image again",
				 st->blob, st->blob_size);
	}
	return 0;
}

/* One read of the blob into buf, hashed and counted: bytes read, 0 at end
 * of file (in_eof set), -1 on error. */
static ssize_t read_raw(struct layer_stream *st, unsigned char *buf, size_t cap)
{
	for (;;) {
		ssize_t r = read(st->fd, buf, cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return prod_fail(st, errno, "read layer blob %s", st->blob);
		}
		if (r == 0) {
			st->in_eof = true;
			return 0;
		}
		return account_raw(st, buf, (size_t)r) < 0 ? -1 : r;
	}
}

/* Make sure unread input is buffered: 1 = some, 0 = end of file, -1 = error. */
static int fill_input(struct layer_stream *st)
{
	if (st->in_pos < st->in_len)
		return 1;
	if (st->in_eof)
		return 0;
	ssize_t r = read_raw(st, st->inbuf, IN_BUF_SIZE);
	if (r <= 0)
		return (int)r;
	st->in_pos = 0;
	st->in_len = (size_t)r;
	return 1;
}

static const char *magic_kind(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return "gzip";
	if (n >= 4 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd && p[0] == 0x28)
		return "zstd";
	if (n >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18)
		return "zstd"; /* skippable frame */
	return NULL;
}

/* Read the first bytes and check they match the declared compression. */
static int check_magic(struct layer_stream *st)
{
	while (st->in_len < 4 && !st->in_eof) {
		ssize_t r = read_raw(st, st->inbuf + st->in_len, IN_BUF_SIZE - st->in_len);
		if (r < 0)
			return -1;
		st->in_len += (size_t)r;
	}
	const unsigned char *p = st->inbuf;
	size_t n = st->in_len;
	const char *kind = magic_kind(p, n);
	const char *want = st->comp == BERTH_COMP_NONE ? NULL : comp_name(st->comp);
	if (st->comp == BERTH_COMP_NONE ? kind == NULL : (kind && !strcmp(kind, want)))
		return 0;
	if (n == 0)
		return prod_fail(st, 0, "layer blob %s is empty", st->blob);
	char hex[16] = "";
	for (size_t i = 0; i < (n < 4 ? n : 4); i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%s%02x", i ? " " : "", p[i]);
	return prod_fail(st, 0,
			 "layer blob %s is declared %s but its data %s (first bytes %s); "
			 "the layer's media type does not match its content",
			 st->blob, comp_name(st->comp),
			 kind ? (!strcmp(kind, "gzip") ? "is gzip-compressed" : "is zstd-compressed")
			      : (st->comp == BERTH_COMP_GZIP ? "lacks the gzip magic 1f 8b"
							     : "lacks the zstd magic 28 b5 2f fd"),
			 hex);
}

static ssize_t produce_none(struct layer_stream *st, unsigned char *out, size_t cap)
{
	size_t n = 0;
	if (st->in_pos < st->in_len) {
		n = st->in_len - st->in_pos < cap ? st->in_len - st->in_pos : cap;
		memcpy(out, st->inbuf + st->in_pos, n);
		st->in_pos += n;
	}
	while (n < cap && !st->in_eof) {
		ssize_t r = read_raw(st, out + n, cap - n);
		if (r < 0)
			return -1;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static ssize_t produce_gzip(struct layer_stream *st, unsigned char *out, size_t cap)
{
	z_stream *z = &st->z;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	while (z->avail_out > 0) {
		if (z->avail_in == 0) {
			int f = fill_input(st);
			if (f < 0)
				return -1;
			if (f > 0) {
				z->next_in = st->inbuf + st->in_pos;
				z->avail_in = (uInt)(st->in_len - st->in_pos);
				st->in_pos = st->in_len;
			}
		}
		bool at_eof = z->avail_in == 0;
		if (st->member_done) {
			if (at_eof)
				break; /* clean end after the last member */
			if (inflateReset(z) != Z_OK)
				return prod_fail(st, 0, "layer blob %s: gzip reset failed", st->blob);
			st->member_done = false;
		}
		int r = inflate(z, Z_NO_FLUSH);
		if (r == Z_STREAM_END) {
			st->member_done = true;
			continue;
		}
		if (r == Z_OK)
			continue;
		if (r == Z_BUF_ERROR && !at_eof)
			continue;
		if (r == Z_BUF_ERROR)
			return prod_fail(st, 0, "layer blob %s: gzip stream is truncated", st->blob);
		if (r == Z_MEM_ERROR)
			return prod_fail(st, ENOMEM, "layer blob %s: gunzip", st->blob);
		return prod_fail(st, 0, "layer blob %s: corrupt gzip data: %s", st->blob,
				 z->msg ? z->msg : zError(r));
	}
	return (ssize_t)(cap - z->avail_out);
}

static ssize_t produce_zstd(struct layer_stream *st, unsigned char *out, size_t cap)
{
	ZSTD_outBuffer ob = {out, cap, 0};
	ZSTD_inBuffer ib = {st->inbuf + st->in_pos, st->in_len - st->in_pos, 0};
	while (ob.pos < ob.size) {
		if (ib.pos == ib.size) {
			st->in_pos = st->in_len;
			int f = fill_input(st);
			if (f < 0)
				return -1;
			ib = (ZSTD_inBuffer){st->inbuf + st->in_pos, st->in_len - st->in_pos, 0};
		}
		bool at_eof = ib.pos == ib.size;
		if (at_eof && st->zs_last == 0)
			break; /* every frame complete and flushed */
		size_t before = ob.pos;
		size_t r = ZSTD_decompressStream(st->zs, &ob, &ib);
		if (ZSTD_isError(r)) {
			st->in_pos += ib.pos;
			return prod_fail(st, 0, "layer blob %s: corrupt zstd data: %s", st->blob,
					 ZSTD_getErrorName(r));
		}
		st->zs_last = r;
		if (at_eof && ob.pos == before && r != 0)
			return prod_fail(st, 0, "layer blob %s: zstd stream is truncated", st->blob);
	}
	st->in_pos += ib.pos;
	return (ssize_t)ob.pos;
}

/* Fill out with up to cap uncompressed bytes: > 0, 0 at the end, -1 on error. */
static ssize_t produce(struct layer_stream *st, unsigned char *out, size_t cap)
{
	ssize_t n;
	switch (st->comp) {
	case BERTH_COMP_GZIP: n = produce_gzip(st, out, cap); break;
	case BERTH_COMP_ZSTD: n = produce_zstd(st, out, cap); break;
	default: n = produce_none(st, out, cap); break;
	}
	if (n <= 0)
		return n;
	st->produced += (uint64_t)n;
	if (st->produced > st->max_bytes)
		return prod_fail(st, 0,
				 "layer blob %s expands to more than the cap of %" PRIu64
				 " uncompressed bytes (%" PRIu64 " MiB); if the layer is genuine, "
				 "raise the cap with --max-layer-size",
				 st->blob, st->max_bytes, st->max_bytes >> 20);
	return n;
}

static void *producer_main(void *arg)
{
	struct layer_stream *st = arg;
	for (;;) {
		pthread_mutex_lock(&st->mu);
		while (!st->cancel && st->filled + (st->lent ? 1u : 0u) >= NSLOTS)
			pthread_cond_wait(&st->can_fill, &st->mu);
		if (st->cancel) {
			pthread_mutex_unlock(&st->mu);
			return NULL;
		}
		unsigned idx = (st->tail + st->filled) % NSLOTS;
		pthread_mutex_unlock(&st->mu);

		ssize_t n = produce(st, st->slots[idx].buf, SLOT_SIZE);

		pthread_mutex_lock(&st->mu);
		if (n < 0)
			st->prod_failed = true;
		else if (n == 0)
			st->prod_end = true;
		else {
			st->slots[idx].len = (size_t)n;
			st->filled++;
		}
		pthread_cond_signal(&st->can_take);
		pthread_mutex_unlock(&st->mu);
		if (n <= 0)
			return NULL;
	}
}

/* Next buffer of uncompressed tar for the consumer: > 0, 0 at end, -1 on
 * error (st->perr).  The buffer stays valid until the next call. */
static ssize_t next_chunk(struct layer_stream *st, const void **buf)
{
	ssize_t n;
	if (!st->threaded) {
		if (st->prod_end)
			return 0;
		if (st->prod_failed)
			return -1;
		n = produce(st, st->slots[0].buf, SLOT_SIZE);
		if (n < 0)
			st->prod_failed = true;
		else if (n == 0)
			st->prod_end = true;
		*buf = st->slots[0].buf;
	} else {
		pthread_mutex_lock(&st->mu);
		if (st->lent) {
			st->lent = false;
			pthread_cond_signal(&st->can_fill);
		}
		while (!st->filled && !st->prod_end && !st->prod_failed)
			pthread_cond_wait(&st->can_take, &st->mu);
		if (!st->filled) {
			n = st->prod_failed ? -1 : 0;
		} else {
			unsigned idx = st->tail;
			st->tail = (st->tail + 1) % NSLOTS;
			st->filled--;
			st->lent = true;
			*buf = st->slots[idx].buf;
			n = (ssize_t)st->slots[idx].len;
		}
		pthread_mutex_unlock(&st->mu);
	}
	if (n < 0)
		st->saw_fail = true;
	if (n > 0) {
		if (st->hash_tar)
			berth_sha256_update(&st->tar_hash, *buf, (size_t)n);
		st->consumed += (uint64_t)n;
	}
	return n;
}

static la_ssize_t archive_read_cb(struct archive *a, void *cd, const void **buf)
{
	ssize_t n = next_chunk(cd, buf);
	if (n < 0) {
		archive_set_error(a, EIO, "layer stream failed");
		return -1;
	}
	return n;
}

/* Start the producer; without a thread everything runs on the caller. */
static void stream_start_thread(struct layer_stream *st)
{
	if (pthread_mutex_init(&st->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&st->can_fill, NULL) != 0) {
		pthread_mutex_destroy(&st->mu);
		return;
	}
	if (pthread_cond_init(&st->can_take, NULL) != 0) {
		pthread_cond_destroy(&st->can_fill);
		pthread_mutex_destroy(&st->mu);
		return;
	}
	/* The helper never handles signals: block them all while it is created. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&st->thread, NULL, producer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	st->sync_ready = true;
	/* No thread: run synchronously.  Same results, just no overlap. */
	st->threaded = r == 0;
}

static void stream_stop_thread(struct layer_stream *st)
{
	if (!st->sync_ready)
		return;
	if (st->threaded) {
		pthread_mutex_lock(&st->mu);
		st->cancel = true;
		pthread_cond_broadcast(&st->can_fill);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->thread, NULL);
		st->threaded = false;
	}
	pthread_cond_destroy(&st->can_take);
	pthread_cond_destroy(&st->can_fill);
	pthread_mutex_destroy(&st->mu);
	st->sync_ready = false;
}

static int stream_init(struct layer_stream *st, const struct berth_layer_src *src,
		       struct berth_err *err)
{
	st->fd = src->fd;
	st->comp = src->comp;
	st->blob = src->blob_digest ? src->blob_digest : "(no digest)";
	st->blob_size = src->blob_size;
	st->max_bytes = src->max_bytes ? src->max_bytes : BERTH_DEFAULT_MAX_LAYER_BYTES;
	st->hash_tar = src->comp != BERTH_COMP_NONE;
	st->zs_last = 1;
	st->inbuf = malloc(IN_BUF_SIZE);
	if (!st->inbuf)
		return berth_err_set(err, ENOMEM, "layer blob %s: buffers", st->blob);
	for (int i = 0; i < NSLOTS; i++) {
		st->slots[i].buf = malloc(SLOT_SIZE);
		if (!st->slots[i].buf)
			return berth_err_set(err, ENOMEM, "layer blob %s: buffers", st->blob);
	}
	if (berth_sha256_init(&st->blob_hash, err) < 0)
		return -1;
	if (st->hash_tar && berth_sha256_init(&st->tar_hash, err) < 0)
		return -1;
	if (st->comp == BERTH_COMP_GZIP) {
		if (inflateInit2(&st->z, 15 + 32) != Z_OK)
			return berth_err_set(err, ENOMEM, "layer blob %s: gunzip init", st->blob);
		st->z_live = true;
	} else if (st->comp == BERTH_COMP_ZSTD) {
		st->zs = ZSTD_createDStream();
		if (!st->zs)
			return berth_err_set(err, ENOMEM, "layer blob %s: zstd init", st->blob);
		size_t r = ZSTD_initDStream(st->zs);
		if (ZSTD_isError(r))
			return berth_err_set(err, 0, "layer blob %s: zstd init: %s", st->blob,
					     ZSTD_getErrorName(r));
	}
	return 0;
}

static void stream_free(struct layer_stream *st)
{
	stream_stop_thread(st);
	if (st->z_live)
		inflateEnd(&st->z);
	if (st->zs)
		ZSTD_freeDStream(st->zs);
	berth_sha256_free(&st->blob_hash);
	berth_sha256_free(&st->tar_hash);
	for (int i = 0; i < NSLOTS; i++)
		free(st->slots[i].buf);
	free(st->inbuf);
}

/* ---- verification ------------------------------------------------------ */

static int verify_blob(struct layer_stream *st, const struct berth_layer_src *src,
		       struct berth_err *err)
{
	if (src->blob_size != UINT64_MAX && st->blob_bytes != src->blob_size) {
		return berth_err_set(err, 0,
				     "layer blob %s has %" PRIu64 " bytes but its descriptor says %" PRIu64
				     "; the blob is truncated or corrupt: pull or load the image again",
				     st->blob, st->blob_bytes, src->blob_size);
	}
	if (src->blob_digest) {
		char hex[BERTH_SHA256_HEX_LEN + 1];
		berth_sha256_final_hex(&st->blob_hash, hex);
		if (strcmp(hex, berth_digest_hex(src->blob_digest)) != 0)
			return berth_err_set(err, 0,
					     "layer blob %s has digest sha256:%s, expected %s; the blob "
					     "is corrupt: pull or load the image again",
					     st->blob, hex, src->blob_digest);
	}
	return 0;
}

/* After a failure: finish hashing the blob so a corrupt download is reported
 * as what it is rather than as whatever broke first. */
static void recheck_blob(struct layer_stream *st, const struct berth_layer_src *src,
			 struct berth_err *err)
{
	if (st->blob_err || (!src->blob_digest && src->blob_size == UINT64_MAX))
		return;
	while (!st->in_eof) {
		ssize_t r = read(st->fd, st->inbuf, IN_BUF_SIZE);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (account_raw(st, st->inbuf, (size_t)r) < 0)
			break;
	}
	struct berth_err verr = {0};
	if (st->blob_err)
		verr = st->perr;
	else if (verify_blob(st, src, &verr) == 0)
		return;
	char orig[BERTH_ERR_MSG_MAX];
	memcpy(orig, err->msg, sizeof(orig));
	berth_err_set(err, 0, "%s (unpacking had failed with: %s)", verr.msg, orig);
}

/* ---- the driver -------------------------------------------------------- */

static int check_src(const struct berth_layer_src *src, struct berth_err *err)
{
	if (src->fd < 0)
		return berth_err_set(err, EBADF, "layer blob: no file descriptor");
	if (src->comp != BERTH_COMP_NONE && src->comp != BERTH_COMP_GZIP &&
	    src->comp != BERTH_COMP_ZSTD)
		return berth_err_set(err, EINVAL, "layer blob: unknown compression %d", (int)src->comp);
	if (src->blob_digest && !berth_digest_valid(src->blob_digest))
		return berth_err_set(err, EINVAL,
				     "layer blob digest \"%.80s\" is not \"sha256:\" + 64 lowercase hex",
				     src->blob_digest);
	if (src->diff_id && !berth_digest_valid(src->diff_id))
		return berth_err_set(err, EINVAL,
				     "layer diff_id \"%.80s\" is not \"sha256:\" + 64 lowercase hex",
				     src->diff_id);
	if (src->blob_size != UINT64_MAX) {
		struct stat sb;
		if (fstat(src->fd, &sb) < 0)
			return berth_err_set(err, errno, "stat layer blob %s",
					     src->blob_digest ? src->blob_digest : "");
		if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size != src->blob_size)
			return berth_err_set(err, 0,
					     "layer blob %s has %" PRIu64 " bytes but its descriptor "
					     "says %" PRIu64 "; the blob is truncated or corrupt: "
					     "pull or load the image again",
					     src->blob_digest ? src->blob_digest : "(no digest)",
					     (uint64_t)sb.st_size, src->blob_size);
	}
	return 0;
}

/* Error from libarchive.  When the stream itself failed underneath, the
 * caller replaces this with the stream's error once the producer has stopped. */
static int archive_failure(struct layer_stream *st, struct archive *a,
			   const struct berth_unpacker *u, struct berth_err *err)
{
	const char *last = u ? berth_unpacker_last(u) : "";
	const char *msg = archive_error_string(a);
	if (*last)
		return berth_err_set(err, 0, "corrupt or truncated tar archive after entry %s: %s",
				     last, msg ? msg : "unknown error");
	return berth_err_set(err, 0, "corrupt or truncated tar archive (layer blob %s): %s",
			     st->blob, msg ? msg : "unknown error");
}

static int unpack_all(struct layer_stream *st, struct berth_unpacker *u, struct berth_err *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return berth_err_set(err, ENOMEM, "libarchive");
	int rc = -1;
	if (archive_read_support_format_tar(a) != ARCHIVE_OK) {
		berth_err_set(err, 0, "libarchive: %s", archive_error_string(a));
		goto out;
	}
	if (archive_read_open(a, st, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
		archive_failure(st, a, NULL, err);
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			archive_failure(st, a, u, err);
			goto out;
		}
		if (berth_unpacker_entry(u, a, e, err) < 0)
			goto out;
	}
	/* Drain tar padding and trailing blocks so the digests cover everything. */
	for (;;) {
		const void *buf;
		ssize_t n = next_chunk(st, &buf);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
	}
	rc = 0;
out:
	archive_read_free(a);
	return rc;
}

int berth_layer_unpack(const struct berth_layer_src *src, int rootfd,
		       struct berth_unpack_stats *stats, struct berth_err *err)
{
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (!src)
		return berth_err_set(err, EINVAL, "layer unpack: no source");
	if (check_src(src, err) < 0)
		return -1;

	struct layer_stream st = {0};
	struct berth_unpacker *u = NULL;
	int rc = -1;
	if (stream_init(&st, src, err) < 0)
		goto out;
	if (check_magic(&st) < 0) {
		*err = st.perr;
		recheck_blob(&st, src, err);
		goto out;
	}
	if (berth_unpacker_new(rootfd, st.max_bytes, &u, err) < 0)
		goto out;
	stream_start_thread(&st);
	if (unpack_all(&st, u, err) < 0) {
		stream_stop_thread(&st);
		if (st.saw_fail)
			*err = st.perr; /* the real cause, under libarchive's or the entry's */
		recheck_blob(&st, src, err);
		goto out;
	}
	stream_stop_thread(&st);

	if (verify_blob(&st, src, err) < 0)
		goto out;
	if (src->diff_id) {
		char hex[BERTH_SHA256_HEX_LEN + 1];
		if (st.hash_tar)
			berth_sha256_final_hex(&st.tar_hash, hex);
		else if (src->blob_digest)
			memcpy(hex, berth_digest_hex(src->blob_digest), sizeof(hex)); /* verified */
		else
			berth_sha256_final_hex(&st.blob_hash, hex);
		if (strcmp(hex, berth_digest_hex(src->diff_id)) != 0) {
			berth_err_set(err, 0,
				      "layer blob %s: its uncompressed content has diff_id sha256:%s, "
				      "but the image config says %s; the image is inconsistent",
				      st.blob, hex, src->diff_id);
			goto out;
		}
	}
	if (berth_unpacker_finish(u, err) < 0)
		goto out;
	if (stats) {
		berth_unpacker_stats(u, stats);
		stats->bytes = st.consumed;
	}
	rc = 0;
out:
	if (rc < 0 && stats && u) {
		berth_unpacker_stats(u, stats);
		stats->bytes = st.consumed;
	}
	berth_unpacker_free(u);
	stream_free(&st);
	return rc;
}
