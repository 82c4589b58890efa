/* berth images/ — internals of berth_image_load shared by load.c (names,
 * unpacking, commit) and source.c (reading a layout into a plan). */
#ifndef BERTH_IMAGES_LOAD_H
#define BERTH_IMAGES_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/util.h"
#include "images/store.h"

struct plan_layer {
	char diff_id[BERTH_DIGEST_MAX];
	char blob_digest[BERTH_DIGEST_MAX]; /* "" when unknown (docker save) */
	uint64_t blob_size;                 /* UINT64_MAX when unknown */
	int comp;                           /* enum berth_compression, -1 = from magic */
	char *path;                         /* below the layout directory */
};

struct plan_image {
	char **names;
	char manifest_digest[BERTH_DIGEST_MAX];
	char *manifest_json;
	size_t manifest_len;
	char config_digest[BERTH_DIGEST_MAX];
	char *config_json;
	size_t config_len;
	uint64_t size;
	size_t nlayers;
	struct plan_layer *layers;
};

struct uniq_layer {
	const struct plan_layer *src;
	char hex[BERTH_SHA256_HEX_LEN + 1];
	bool unpacked; /* waiting in the work directory */
};

struct load {
	struct berth_store *s;
	const char *path; /* as the user gave it */
	int layout_fd;
	int work_fd;
	char work[64];
	struct plan_image *imgs;
	size_t nimgs;
	struct uniq_layer *uniq;
	size_t nuniq;
	size_t meta_bytes; /* configs read from a docker-save manifest.json */
};

void berth_load_plan_free(struct load *L);

/* Open a blob of the layout by digest (grammar checked first), check it is a
 * regular file of the given size (UINT64_MAX: any).  Returns the fd. */
int berth_load_open_blob(struct load *L, const char *digest, uint64_t size, struct berth_err *err);

/* Fill L->imgs from an OCI image layout (index.json) or a legacy docker-save
 * directory (manifest.json).  name: normalised --name, or NULL. */
int berth_load_plan_oci(struct load *L, const char *name, struct berth_err *err);
int berth_load_plan_legacy(struct load *L, const char *name, struct berth_err *err);

#endif
