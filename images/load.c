/* berth images/ — import an OCI image layout directory or a `docker save`
 * tarball into the store.
 *
 * Three phases: plan (read and verify index, manifests and configs, decide
 * names), unpack (every layer not yet in the store, into a private work
 * directory below images/tmp), commit (under LOCK_EX: rename layers into
 * place, write blobs and refs; undo all of it on failure).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/cleanup.h"
#include "images/layer.h"
#include "images/manifest.h"
#include "images/load.h"
#include "images/store.h"

#define Q(s) berth_quote((s), (char[128]){0}, 128)

/* ---- names ---- */

struct name_ref {
	const char *name;
	size_t img;
	size_t k;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->img > y->img) - (x->img < y->img);
}

/* The same name for two different images is an error; for the same image
 * (listed twice) it is dropped. */
static int check_names(struct load *L, struct berth_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < L->nimgs; i++)
		n += berth_strv_len(L->imgs[i].names);
	_cleanup_free_ struct name_ref *v = calloc(n + 1, sizeof(*v));
	if (!v)
		return berth_err_set(err, ENOMEM, "out of memory");
	size_t m = 0;
	for (size_t i = 0; i < L->nimgs; i++)
		for (size_t k = 0; L->imgs[i].names[k]; k++)
			v[m++] = (struct name_ref){L->imgs[i].names[k], i, k};
	qsort(v, m, sizeof(*v), name_ref_cmp);
	for (size_t j = 1; j < m; j++) {
		if (strcmp(v[j - 1].name, v[j].name))
			continue;
		struct plan_image *a = &L->imgs[v[j - 1].img], *b = &L->imgs[v[j].img];
		if (strcmp(a->manifest_digest, b->manifest_digest))
			return berth_err_set(err, 0, "the archive holds two different images named %s: "
				"load it with --name, or fix the names", v[j].name);
		v[j].name = v[j - 1].name;
		b->names[v[j].k][0] = '\0'; /* dropped below */
	}
	for (size_t i = 0; i < L->nimgs; i++) {
		char **names = L->imgs[i].names;
		size_t o = 0;
		for (size_t k = 0; names[k]; k++) {
			if (names[k][0])
				names[o++] = names[k];
			else
				free(names[k]);
		}
		names[o] = NULL;
	}
	return 0;
}

/* ---- unpacking ---- */

static bool layer_present(struct berth_store *s, const char *hex)
{
	struct stat st;
	return fstatat(s->layers_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int open_layer_source(struct load *L, const struct plan_layer *pl, struct berth_err *err)
{
	if (!pl->path)
		return berth_load_open_blob(L, pl->blob_digest, pl->blob_size, err);
	int fd = berth_openat_beneath(L->layout_fd, pl->path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e_ = errno;
		return berth_err_set(err, e_, "open layer %s in %s", Q(pl->path), L->path);
	}
	return fd;
}

static int unpack_one(struct load *L, struct uniq_layer *u, struct berth_err *err)
{
	const struct plan_layer *pl = u->src;
	const char *what = pl->path ? pl->path : pl->blob_digest;
	char dname[80];
	snprintf(dname, sizeof(dname), "L-%s", u->hex);
	_cleanup_close_ int bfd = open_layer_source(L, pl, err);
	if (bfd < 0)
		return berth_err_wrap(err, "layer");
	if (mkdirat(L->work_fd, dname, 0755) < 0)
		return berth_err_set(err, errno, "create %s/tmp/%s/%s", L->s->path, L->work, dname);
	_cleanup_close_ int root =
		openat(L->work_fd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return berth_err_set(err, errno, "open %s/tmp/%s/%s", L->s->path, L->work, dname);
	struct berth_layer_src src = {
		.fd = bfd,
		.comp = (enum berth_compression)pl->comp,
		.blob_digest = pl->blob_digest[0] ? pl->blob_digest : NULL,
		.blob_size = pl->blob_size,
		.diff_id = pl->diff_id,
		.max_bytes = L->s->max_layer_bytes,
	};
	struct berth_unpack_stats st = {0};
	if (berth_layer_unpack(&src, root, &st, err) < 0) {
		struct berth_err e2;
		berth_rm_rf_at(L->work_fd, dname, &e2);
		if (!strstr(err->msg, what))
			berth_err_wrap(err, "layer %s", Q(what));
		return -1;
	}
	u->unpacked = true;
	return 0;
}

static int plan_uniq(struct load *L, struct berth_err *err)
{
	size_t total = 0;
	for (size_t i = 0; i < L->nimgs; i++)
		total += L->imgs[i].nlayers;
	if (!(L->uniq = calloc(total + 1, sizeof(*L->uniq))))
		return berth_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < L->nimgs; i++) {
		for (size_t j = 0; j < L->imgs[i].nlayers; j++) {
			const struct plan_layer *pl = &L->imgs[i].layers[j];
			bool seen = false;
			for (size_t k = 0; k < L->nuniq && !seen; k++)
				seen = !strcmp(L->uniq[k].hex, pl->diff_id + 7);
			if (seen)
				continue;
			struct uniq_layer *u = &L->uniq[L->nuniq++];
			u->src = pl;
			memcpy(u->hex, pl->diff_id + 7, sizeof(u->hex));
		}
	}
	return 0;
}

static int unpack_all(struct load *L, struct berth_err *err)
{
	bool any = false;
	for (size_t k = 0; k < L->nuniq; k++) {
		struct uniq_layer *u = &L->uniq[k];
		if (layer_present(L->s, u->hex)) {
			/* Already unpacked: the blob must still be there and the right size. */
			int fd = open_layer_source(L, u->src, err);
			if (fd < 0)
				return berth_err_wrap(err, "layer");
			close(fd);
			continue;
		}
		if (unpack_one(L, u, err) < 0)
			return -1;
		any = true;
	}
	if (any && syncfs(L->work_fd) < 0)
		return berth_err_set(err, errno, "sync %s", L->s->path);
	return 0;
}

/* ---- commit ---- */

struct undo_ref {
	char file[NAME_MAX + 1];
	char *old; /* previous record, NULL when the name was new */
	size_t oldlen;
};

struct commit {
	const char **added_layers;
	size_t nal;
	const char **added_blobs;
	size_t nab;
	struct undo_ref *refs;
	size_t nrefs;
	char **cand_blobs;
	size_t ncb;
	char **cand_layers;
	size_t ncl, capcl;
};

static int add_candidates(struct commit *c, const struct berth_ref *old, struct berth_err *err)
{
	if (c->ncl + old->nlayers + 1 > c->capcl) {
		size_t cap = c->ncl + old->nlayers + 16;
		char **nv = realloc(c->cand_layers, cap * sizeof(char *));
		if (!nv)
			return berth_err_set(err, ENOMEM, "out of memory");
		c->cand_layers = nv;
		c->capcl = cap;
	}
	for (size_t i = 0; i < old->nlayers; i++)
		if (!(c->cand_layers[c->ncl++] = strdup(old->layers[i])))
			return berth_err_set(err, ENOMEM, "out of memory");
	c->cand_layers[c->ncl] = NULL;
	if (!(c->cand_blobs[c->ncb++] = strdup(old->manifest)) ||
	    !(c->cand_blobs[c->ncb++] = strdup(old->config)))
		return berth_err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int write_ref(struct load *L, struct commit *c, const struct plan_image *p,
		     const char *name, struct berth_err *err)
{
	struct berth_store *s = L->s;
	struct berth_ref r = {.name = (char *)name, .size = p->size, .nlayers = p->nlayers};
	memcpy(r.manifest, p->manifest_digest, BERTH_DIGEST_MAX);
	memcpy(r.config, p->config_digest, BERTH_DIGEST_MAX);
	r.layers = calloc(p->nlayers + 1, sizeof(*r.layers));
	if (!r.layers)
		return berth_err_set(err, ENOMEM, "out of memory");
	for (size_t j = 0; j < p->nlayers; j++)
		memcpy(r.layers[j], p->layers[j].diff_id + 7, BERTH_SHA256_HEX_LEN + 1);
	_cleanup_free_ char *json = berth_ref_json(&r, err);
	free(r.layers);
	if (!json)
		return -1;
	struct undo_ref *u = &c->refs[c->nrefs];
	if (berth_name_encode(name, u->file, sizeof(u->file), err) < 0)
		return -1;
	struct berth_ref old;
	int found = berth_ref_read(s, name, &old, err);
	if (found < 0)
		return -1;
	if (found) {
		int rv = berth_read_file_at(s->refs_fd, u->file, 1u << 20, &u->old, &u->oldlen, err) < 0 ||
				 add_candidates(c, &old, err) < 0
			 ? -1 : 0;
		berth_ref_clear(&old);
		if (rv < 0) {
			free(u->old);
			u->old = NULL;
			return -1;
		}
	}
	if (berth_write_file_atomic(s->refs_fd, u->file, json, strlen(json), 0600, err) < 0) {
		free(u->old);
		u->old = NULL;
		return berth_err_wrap(err, "write image record in %s/refs", s->path);
	}
	c->nrefs++;
	return 0;
}

static int write_blob(struct load *L, struct commit *c, const char *digest, const char *data,
		      size_t len, struct berth_err *err)
{
	const char *hex = digest + 7;
	struct stat st;
	if (fstatat(L->s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return berth_err_set(err, errno, "blob %s in %s", digest, L->s->path);
	if (berth_write_file_atomic(L->s->blobs_fd, hex, data, len, 0600, err) < 0)
		return berth_err_wrap(err, "store blob %s in %s", digest, L->s->path);
	c->added_blobs[c->nab++] = hex;
	return 0;
}

static void rollback(struct load *L, struct commit *c)
{
	struct berth_err e2;
	struct berth_store *s = L->s;
	while (c->nrefs > 0) {
		struct undo_ref *u = &c->refs[--c->nrefs];
		if (u->old)
			berth_write_file_atomic(s->refs_fd, u->file, u->old, u->oldlen, 0600, &e2);
		else
			unlinkat(s->refs_fd, u->file, 0);
	}
	for (size_t i = 0; i < c->nab; i++)
		unlinkat(s->blobs_fd, c->added_blobs[i], 0);
	for (size_t i = 0; i < c->nal; i++)
		berth_store_discard(s, s->layers_fd, c->added_layers[i], &e2);
	fsync(s->refs_fd);
	fsync(s->blobs_fd);
	fsync(s->layers_fd);
}

static int commit_locked(struct load *L, struct commit *c, struct berth_err *err)
{
	struct berth_store *s = L->s;
	for (size_t k = 0; k < L->nuniq; k++) {
		struct uniq_layer *u = &L->uniq[k];
		/* Collected since we looked?  Unpack it again, now under the lock. */
		if (!u->unpacked && !layer_present(s, u->hex) && unpack_one(L, u, err) < 0)
			return -1;
		if (!u->unpacked)
			continue;
		char dname[80];
		snprintf(dname, sizeof(dname), "L-%s", u->hex);
		if (renameat2(L->work_fd, dname, s->layers_fd, u->hex, RENAME_NOREPLACE) == 0)
			c->added_layers[c->nal++] = u->hex;
		else if (errno != EEXIST) /* EEXIST: another load won; ours goes with the work dir */
			return berth_err_set(err, errno, "move layer %s into %s/layers", u->hex, s->path);
		u->unpacked = false;
	}
	if (c->nal && fsync(s->layers_fd) < 0)
		return berth_err_set(err, errno, "sync %s/layers", s->path);
	for (size_t i = 0; i < L->nimgs; i++) {
		const struct plan_image *p = &L->imgs[i];
		if (write_blob(L, c, p->manifest_digest, p->manifest_json, p->manifest_len, err) < 0 ||
		    write_blob(L, c, p->config_digest, p->config_json, p->config_len, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < L->nimgs; i++)
		for (size_t k = 0; L->imgs[i].names[k]; k++)
			if (write_ref(L, c, &L->imgs[i], L->imgs[i].names[k], err) < 0)
				return -1;
	return 0;
}

static int commit(struct load *L, struct berth_err *err)
{
	size_t nnames = 0;
	for (size_t i = 0; i < L->nimgs; i++)
		nnames += berth_strv_len(L->imgs[i].names);
	struct commit c = {
		.added_layers = calloc(L->nuniq + 1, sizeof(char *)),
		.added_blobs = calloc(2 * L->nimgs + 1, sizeof(char *)),
		.refs = calloc(nnames + 1, sizeof(struct undo_ref)),
		.cand_blobs = calloc(2 * nnames + 1, sizeof(char *)),
	};
	int rv = -1;
	if (!c.added_layers || !c.added_blobs || !c.refs || !c.cand_blobs) {
		berth_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (berth_store_lock(L->s, LOCK_EX, err) < 0)
		goto out;
	if (commit_locked(L, &c, err) < 0) {
		rollback(L, &c);
	} else {
		/* The images these names pointed to before may now be unused
		 * (layers of existing containers are kept: opts->layers_in_use). */
		struct berth_err e2;
		if (berth_store_gc(L->s, c.cand_blobs, c.cand_layers, &e2) < 0)
			fprintf(stderr, "berth: warning: %s\n", e2.msg);
		rv = 0;
	}
	berth_store_unlock(L->s);
out:
	for (size_t i = 0; c.refs && i < c.nrefs; i++)
		free(c.refs[i].old);
	free(c.refs);
	free(c.added_layers);
	free(c.added_blobs);
	berth_strv_free(c.cand_blobs);
	berth_strv_free(c.cand_layers);
	return rv;
}

/* ---- entry point ---- */

static int collect_names(struct load *L, char ***out, struct berth_err *err)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < L->nimgs; i++)
		n += berth_strv_len(L->imgs[i].names);
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return berth_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < L->nimgs; i++)
		for (size_t j = 0; L->imgs[i].names[j]; j++)
			if (!(v[k++] = strdup(L->imgs[i].names[j]))) {
				berth_strv_free(v);
				return berth_err_set(err, ENOMEM, "out of memory");
			}
	*out = v;
	return 0;
}

static bool has_file(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int berth_image_load(struct berth_store *s, const char *path, const char *name,
		     char ***names_out, struct berth_err *err)
{
	char norm[BERTH_NAME_MAX + 1];
	struct load L = {.s = s, .path = path, .layout_fd = -1, .work_fd = -1};
	int rv = -1;
	if (names_out)
		*names_out = NULL;
	if (name && berth_name_normalize(name, norm, err) < 0)
		return berth_err_wrap(err, "--name");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return berth_err_set(err, errno, "load image %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_err_set(err, errno, "load image %s", path);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return berth_err_set(err, 0, "load image %s: expected an OCI image layout directory "
				     "or a docker save tarball", path);
	if ((L.work_fd = berth_store_workdir(s, "load", L.work, sizeof(L.work), err)) < 0)
		return berth_err_wrap(err, "load image %s", path);
	if (S_ISDIR(st.st_mode))
		L.layout_fd = TAKE_FD(fd);
	else if ((L.layout_fd = berth_archive_extract(s, fd, path, L.work_fd, err)) < 0)
		goto out;
	if (has_file(L.layout_fd, "index.json")) {
		if (berth_load_plan_oci(&L, name ? norm : NULL, err) < 0)
			goto out;
	} else if (has_file(L.layout_fd, "manifest.json")) {
		if (berth_load_plan_legacy(&L, name ? norm : NULL, err) < 0)
			goto out;
	} else {
		berth_err_set(err, 0, "neither an OCI image layout (no index.json) nor a docker save "
			      "archive (no manifest.json)");
		goto out;
	}
	if (check_names(&L, err) < 0 || plan_uniq(&L, err) < 0 || unpack_all(&L, err) < 0 ||
	    commit(&L, err) < 0)
		goto out;
	if (names_out && collect_names(&L, names_out, err) < 0)
		goto out; /* the images are stored; only the report failed */
	rv = 0;
out:
	if (L.work_fd >= 0) {
		struct berth_err e2;
		berth_rm_rf_at(s->tmp_fd, L.work, &e2);
		close(L.work_fd);
	}
	if (L.layout_fd >= 0)
		close(L.layout_fd);
	berth_load_plan_free(&L);
	if (rv < 0)
		berth_err_wrap(err, "load image %s", path);
	return rv;
}
