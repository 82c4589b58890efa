/* berth images/ — OCI index / manifest / config documents and image names.
 *
 * Pure parsing and validation (cJSON), no I/O: blobs are fetched through a
 * caller-supplied reader that has already checked their size and sha256.
 * Everything here is internal to images/.
 */
#ifndef BERTH_IMAGES_MANIFEST_H
#define BERTH_IMAGES_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/util.h"
#include "images/images.h"

#define BERTH_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BERTH_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BERTH_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BERTH_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BERTH_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BERTH_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

struct cJSON;
/* Parse a whole buffer (at most BERTH_JSON_MAX bytes) as one JSON value;
 * trailing data is an error.  what names the document in messages. */
struct cJSON *berth_json_parse(const char *json, size_t len, const char *what, struct berth_err *err);

/* Cap on any index, manifest or config document. */
#define BERTH_JSON_MAX (4u << 20)
/* Cap on all index, manifest and config documents of one import together. */
#define BERTH_JSON_TOTAL_MAX (64u << 20)
/* Cap on nested indexes below index.json. */
#define BERTH_INDEX_MAX_DEPTH 4
/* Longest normalised image name ("host/repo:tag@sha256:..."). */
#define BERTH_NAME_MAX 255

struct berth_platform {
	char *os;
	char *arch;
	char *variant; /* may be NULL */
};

struct berth_desc {
	char *media_type;
	char digest[BERTH_DIGEST_MAX]; /* validated with berth_digest_valid */
	uint64_t size;
	bool has_platform;
	struct berth_platform platform;
	char *ref_name;        /* annotation org.opencontainers.image.ref.name, may be NULL */
	char *containerd_name; /* annotation io.containerd.image.name, may be NULL */
};
void berth_desc_free(struct berth_desc *d);

struct berth_index {
	size_t n;
	struct berth_desc *manifests;
};
/* what names the document in error messages (a path or "index sha256:.."). */
int berth_index_parse(const char *json, size_t len, const char *what, struct berth_index *out,
		      struct berth_err *err);
void berth_index_free(struct berth_index *ix);

struct berth_manifest {
	struct berth_desc config;
	size_t nlayers;
	struct berth_desc *layers;
};
/* expected_mt: the media type of the descriptor that pointed here (the
 * document's own mediaType, when present, must equal it). */
int berth_manifest_parse(const char *json, size_t len, const char *what, const char *expected_mt,
			 struct berth_manifest *out, struct berth_err *err);
void berth_manifest_free(struct berth_manifest *m);

struct berth_config {
	char *os;           /* may be NULL */
	char *arch;         /* may be NULL */
	char *variant;      /* may be NULL */
	size_t ndiff_ids;
	char (*diff_ids)[BERTH_DIGEST_MAX];
	struct berth_image_config cfg;
};
int berth_config_parse(const char *json, size_t len, const char *what, struct berth_config *out,
		       struct berth_err *err);
void berth_config_free(struct berth_config *c);
/* Free the members of an image config (not the struct itself). */
void berth_image_config_clear(struct berth_image_config *c);

/* The platform berth runs. */
#define BERTH_PLATFORM_OS "linux"
#define BERTH_PLATFORM_ARCH "amd64"

/* Reads the blob d names (size checked first, then sha256) into a
 * NUL-terminated heap buffer of at most max bytes. */
typedef int (*berth_blob_read_fn)(void *ctx, const struct berth_desc *d, size_t max, char **out,
				  size_t *len, struct berth_err *err);

/* One linux/amd64 image found below an index. */
struct berth_resolved {
	char *ref_name;        /* annotations of the top-level descriptor, may be NULL */
	char *containerd_name;
	struct berth_desc manifest_desc;
	char *manifest_json;
	size_t manifest_len;
	struct berth_manifest manifest;
	char *config_json;
	size_t config_len;
	struct berth_config config;
};
void berth_resolved_free(struct berth_resolved *r, size_t n);

/* Walk index.json (and nested indexes up to BERTH_INDEX_MAX_DEPTH) and return
 * one resolved image per top-level descriptor that has a linux/amd64
 * manifest; descriptors for other platforms are skipped.  No image at all is
 * an error naming the platforms that were found. */
int berth_index_resolve(const char *index_json, size_t len, const char *what,
			berth_blob_read_fn rd, void *ctx, struct berth_resolved **out, size_t *n,
			struct berth_err *err);

/* Check that the config's diff_ids match the manifest's layers and the
 * config's platform (when stated) is linux/amd64. */
int berth_image_check(const struct berth_manifest *m, const struct berth_config *c,
		      const char *what, struct berth_err *err);

/* Validate and normalise an image reference:
 *   [host[:port]/]path[:tag][@sha256:hex]
 * path components [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*, tag
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.  "docker.io/library/x" becomes "x",
 * ":latest" is added when there is neither tag nor digest.  out holds
 * BERTH_NAME_MAX + 1 bytes. */
int berth_name_normalize(const char *in, char out[BERTH_NAME_MAX + 1], struct berth_err *err);
/* True when s matches the tag grammar. */
bool berth_tag_valid(const char *s);
/* Encode a normalised name as a file name ("<percent-encoded>.json"). */
int berth_name_encode(const char *name, char *out, size_t outsz, struct berth_err *err);

/* Name an imported image from its descriptor annotations.  *out is NULL when
 * the image carries no name.  A ref.name that is only a tag is combined with
 * io.containerd.image.name, or refused. */
int berth_name_from_annotations(const char *ref_name, const char *containerd_name, char **out,
				struct berth_err *err);

/* Resolve ref as a config-digest reference against digests[0..n): "sha256:<hex>"
 * or a hex prefix of >= 12 digits.  Returns the matching index, -1 with err set
 * when ref looks like an ID but matches nothing or several different digests,
 * and -2 (err untouched) when ref is not ID-shaped at all. */
int berth_digest_lookup(const char *ref, const char *const *digests, size_t n, struct berth_err *err);

/* Copy s into out (outsz bytes) for an error message: quoted, printable
 * ASCII only ('?' for the rest), long strings cut in the middle ("..."). */
const char *berth_quote(const char *s, char *out, size_t outsz);

#endif
