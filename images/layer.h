/* berth images/ — verifying decompressor and safe tar unpacker for one layer. */
#ifndef BERTH_IMAGES_LAYER_H
#define BERTH_IMAGES_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

enum berth_compression {
	BERTH_COMP_NONE,
	BERTH_COMP_GZIP,
	BERTH_COMP_ZSTD,
};

/* Map a layer media type to its compression; -1 for unknown types (the
 * caller refuses them).  Accepts the OCI tar/+gzip/+zstd types, their
 * nondistributable variants and Docker's rootfs.diff.tar(.gzip) types. */
int berth_layer_media_compression(const char *media_type);

struct berth_unpack_stats {
	uint64_t entries;          /* entries written */
	uint64_t bytes;            /* uncompressed tar bytes read */
	uint64_t skipped_devices;  /* char/block device entries skipped */
};

struct berth_layer_src {
	int fd;                         /* blob, positioned at 0 */
	enum berth_compression comp;
	const char *blob_digest;        /* "sha256:.." of the blob as stored, NULL = don't check */
	uint64_t blob_size;             /* expected blob size, UINT64_MAX = don't check */
	const char *diff_id;            /* "sha256:.." of the uncompressed tar, NULL = don't check */
	uint64_t max_bytes;             /* cap on uncompressed bytes (and on file sizes) */
};

/* Stream the blob through decompression into the unpacker, writing every
 * entry below rootfd (an empty directory that becomes the layer's root).
 * Checks size and sha256 of the blob and the diff_id of the uncompressed
 * stream; any mismatch, cap overflow, hostile or corrupt entry is an error
 * naming the blob or the entry.  On error the caller deletes rootfd's tree. */
int berth_layer_unpack(const struct berth_layer_src *src, int rootfd,
		       struct berth_unpack_stats *stats, struct berth_err *err);

/* Normalise a tar entry name: strip leading "./" and "/"-free duplicate
 * separators and "." components.  Refuses absolute names, ".." components
 * and empty results (unless allow_root, where "" means the layer root).
 * out must hold strlen(name)+1 bytes.  Returns 0 or -1 (err filled). */
int berth_layer_clean_path(const char *name, bool allow_root, char *out, struct berth_err *err);

#endif
