/* berth images/ — the OCI content store.
 *
 * Store layout below the state root (default /var/lib/berth):
 *   images/lock                     flock(2) taken for every mutation
 *   images/blobs/sha256/<hex>       verified manifest and config blobs
 *   images/layers/<diffid-hex>/     one unpacked layer (content-addressed by its
 *                                   diff_id), shared by every image that uses it;
 *                                   created under images/tmp/ and renamed in
 *                                   place only once fully unpacked and verified
 *   images/refs/<encoded-name>.json one record per image name
 *   images/tmp/                     work area; anything in it is garbage
 *
 * images/ knows nothing about containers, tasks or the runtime.
 */
#ifndef BERTH_IMAGES_H
#define BERTH_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define BERTH_DEFAULT_MAX_LAYER_BYTES (16ull << 30) /* decompression-bomb cap per layer */

struct berth_store;

struct berth_store_opts {
	uint64_t max_layer_bytes; /* 0 = BERTH_DEFAULT_MAX_LAYER_BYTES */
	/* Layers used outside the store (by containers).  Called with the
	 * store's exclusive lock held before anything is collected; fills *out
	 * with a NULL-terminated list of diff_id hex strings.  May be NULL. */
	int (*layers_in_use)(void *ctx, char ***out, struct berth_err *err);
	void *layers_in_use_ctx;
};

/* Open (creating if needed) the store below state_root. */
int berth_store_open(const char *state_root, const struct berth_store_opts *opts,
		     struct berth_store **out, struct berth_err *err);
void berth_store_close(struct berth_store *s);

/* The image configuration berth uses (OCI image config "config" object). */
struct berth_image_config {
	char **entrypoint;  /* NULL-terminated, may be NULL */
	char **cmd;         /* NULL-terminated, may be NULL */
	char **env;         /* NULL-terminated "K=V", may be NULL */
	char *working_dir;  /* may be NULL */
	char *user;         /* may be NULL */
	char *stop_signal;  /* may be NULL */
};

struct berth_image {
	char *name;             /* "busybox:latest" */
	char *manifest_digest;  /* "sha256:..." */
	char *config_digest;    /* "sha256:..." (the image ID) */
	uint64_t size;          /* sum of compressed layer sizes + config + manifest */
	size_t nlayers;
	char **layers;          /* diff_id hex of each layer, base first; NULL-terminated */
	struct berth_image_config config;
};
void berth_image_free(struct berth_image *img);

/* Import an OCI image layout directory or a `docker save` tarball at path.
 * When name is non-NULL it names the imported image (the archive must then hold
 * exactly one image); otherwise names come from the archive
 * (org.opencontainers.image.ref.name / RepoTags), and an image without one is
 * named by its config digest.  On success *names_out (optional) receives the
 * NULL-terminated list of names imported. On failure nothing is kept. */
int berth_image_load(struct berth_store *s, const char *path, const char *name,
		     char ***names_out, struct berth_err *err);

/* Look an image up by name ("busybox", "busybox:latest"), by full config
 * digest "sha256:<hex>", or by a unique hex prefix (>= 12 digits) of it. */
int berth_image_get(struct berth_store *s, const char *ref, struct berth_image **out,
		    struct berth_err *err);

/* All images, sorted by name.  Free each with berth_image_free, then free(). */
int berth_image_list(struct berth_store *s, struct berth_image ***out, size_t *n,
		     struct berth_err *err);

/* Remove an image name; blobs and layers no longer used by any image, nor
 * by anything opts->layers_in_use reports, are deleted. */
int berth_image_remove(struct berth_store *s, const char *ref, struct berth_err *err);

/* Hold the store's shared lock (on a lock file description of its own), so
 * nothing is collected until berth_store_release or berth_store_close.  The
 * run path holds it from image lookup until the container's record, which
 * lists the layers it uses, is written. */
int berth_store_hold(struct berth_store *s, struct berth_err *err);
void berth_store_release(struct berth_store *s);

/* Assemble a container root filesystem: an overlayfs whose lowerdirs are the
 * image's layers (top first) and whose upperdir/workdir are the directories
 * "upper" and "work" below container_dirfd (created if missing).  Returns a
 * detached mount fd (fsmount/open_tree): it is attached nowhere, so nothing
 * leaks into the host's mount table; the runtime attaches it inside the
 * container's mount namespace.  Returns the fd (>= 0) or -1. */
int berth_rootfs_mount(struct berth_store *s, const struct berth_image *img, int container_dirfd,
		       struct berth_err *err);

#endif
