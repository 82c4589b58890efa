/* berth images/ — store internals shared by store.c, load.c and rootfs.c. */
#ifndef BERTH_IMAGES_STORE_H
#define BERTH_IMAGES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/util.h"
#include "images/images.h"

struct berth_store {
	int dir_fd;    /* <root>/images */
	int lock_fd;   /* images/lock */
	int blobs_fd;  /* images/blobs/sha256 */
	int layers_fd; /* images/layers */
	int refs_fd;   /* images/refs */
	int tmp_fd;    /* images/tmp */
	int lock_state; /* LOCK_SH/LOCK_EX currently held through lock_fd, 0 = none */
	int hold_fd;   /* second open of images/lock, LOCK_SH while held (berth_store_hold) */
	int (*layers_in_use)(void *ctx, char ***out, struct berth_err *err);
	void *layers_in_use_ctx;
	uint64_t max_layer_bytes;
	char *path;    /* "<root>/images", for messages only */
};

/* flock(2) on images/lock: LOCK_SH or LOCK_EX (waits). */
int berth_store_lock(struct berth_store *s, int op, struct berth_err *err);
void berth_store_unlock(struct berth_store *s);

/* One record below images/refs/. */
struct berth_ref {
	char *name;
	char manifest[BERTH_DIGEST_MAX];
	char config[BERTH_DIGEST_MAX];
	uint64_t size;
	size_t nlayers;
	char (*layers)[BERTH_SHA256_HEX_LEN + 1]; /* diff_id hex, base first */
};
void berth_ref_clear(struct berth_ref *r);
void berth_refs_free(struct berth_ref *r, size_t n);

/* Read the record of a normalised name; returns 1 when found, 0 when there is
 * none, -1 on error. */
int berth_ref_read(struct berth_store *s, const char *name, struct berth_ref *out,
		   struct berth_err *err);
/* Serialise r into a heap JSON string. */
char *berth_ref_json(const struct berth_ref *r, struct berth_err *err);
/* Every record, sorted by name (caller holds a lock). */
int berth_refs_all(struct berth_store *s, struct berth_ref **out, size_t *n, struct berth_err *err);

/* A private work directory below images/tmp/, flock'ed for as long as the fd
 * is open so the garbage collector leaves it alone.  name receives its entry
 * name below images/tmp (at least 48 bytes). */
int berth_store_workdir(struct berth_store *s, const char *prefix, char *name, size_t namesz,
			struct berth_err *err);

/* Delete blobs and layers that no record references and in_use does not
 * list.  With candidates (blob digests or layer hexes), only those are
 * considered; otherwise everything, plus stale entries in images/tmp.
 * Caller holds LOCK_EX. */
int berth_store_gc(struct berth_store *s, char *const *cand_blobs,
		   char *const *cand_layers, struct berth_err *err);

/* Move dirfd/name out of sight into images/tmp, then delete it. */
int berth_store_discard(struct berth_store *s, int dirfd, const char *name, struct berth_err *err);

/* openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) with O_CLOEXEC added:
 * path may not leave dirfd, by ".." or by symlink.  Returns the fd or -1
 * (errno set). */
int berth_openat_beneath(int dirfd, const char *path, int flags);

/* Stream the regular files and directories of the tarball tarfd (plain, gzip
 * or zstd) into a new directory "archive" below workfd; in-archive symlinks
 * and hardlinks to regular files become hardlinks.  Names are cleaned
 * (absolute and ".." refused), sizes capped by the store's max_layer_bytes.
 * path names the tarball in messages.  Returns the directory's fd. */
int berth_archive_extract(struct berth_store *s, int tarfd, const char *path, int workfd,
			  struct berth_err *err);

#endif
