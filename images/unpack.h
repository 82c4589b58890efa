/* berth images/ — internal interface between the layer stream (layer.c) and
 * the per-entry unpacker (unpack.c).  Nothing outside images/ includes this. */
#ifndef BERTH_IMAGES_UNPACK_H
#define BERTH_IMAGES_UNPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/err.h"
#include "images/layer.h"

struct berth_unpacker;

/* rootfd is borrowed (any directory fd, O_PATH is fine) and must outlive the
 * unpacker.  max_bytes caps the sum of regular-file sizes (sparse: logical). */
int berth_unpacker_new(int rootfd, uint64_t max_bytes, struct berth_unpacker **out,
		       struct berth_err *err);

/* Create one entry (and read its data from a).  Errors name the entry. */
int berth_unpacker_entry(struct berth_unpacker *u, struct archive *a, struct archive_entry *e,
			 struct berth_err *err);

/* Apply the deferred directory times.  Call once, after the last entry. */
int berth_unpacker_finish(struct berth_unpacker *u, struct berth_err *err);

/* Quoted name of the last entry seen ("" before the first), for errors. */
const char *berth_unpacker_last(const struct berth_unpacker *u);

void berth_unpacker_stats(const struct berth_unpacker *u, struct berth_unpack_stats *out);
void berth_unpacker_free(struct berth_unpacker *u);

/* The parent directory dir ("" = root) of an entry, resolved in the root and
 * created if missing.  The fd is borrowed: valid until the next call. */
int berth_unpacker_parent(struct berth_unpacker *u, const char *dir, struct berth_err *err);

/* Forget the cached parent: call after creating or removing anything that is
 * not a regular file (it may change what a cached path resolves to). */
void berth_unpacker_invalidate(struct berth_unpacker *u);

/* whiteout.c: is base an OCI whiteout name, and apply one (dir is its
 * directory, "" = root).  1 = created, 0 = nothing to do, -1 = error. */
bool berth_is_whiteout(const char *base);
int berth_whiteout_entry(struct berth_unpacker *u, const char *dir, const char *base,
			 struct berth_err *err);

/* berth_layer_clean_path without the message: NULL when name is fine (the
 * cleaned name is then in out), else why it is refused. */
const char *berth_layer_clean_reason(const char *name, bool allow_root, char *out);

/* Copy s into buf (n bytes) for an error message: '"' and '\' escaped,
 * non-printable bytes as \xHH, long names shortened with "...".  Returns buf. */
const char *berth_unpack_quote(const char *s, char *buf, size_t n);

#define BERTH_QUOTE_MAX 320

#endif
