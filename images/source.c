/* berth images/ — read an OCI image layout or a docker-save directory into a
 * load plan: every index, manifest and config verified (size, sha256, grammar),
 * names decided, layer sources located.  Nothing is written here. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/cleanup.h"
#include "images/layer.h"
#include "images/load.h"
#include "images/manifest.h"

#define Q(s) berth_quote((s), (char[128]){0}, 128)
#define LAYOUT_FILE_MAX (64u << 10)

void berth_load_plan_free(struct load *L)
{
	for (size_t i = 0; i < L->nimgs; i++) {
		struct plan_image *p = &L->imgs[i];
		berth_strv_free(p->names);
		free(p->manifest_json);
		free(p->config_json);
		for (size_t j = 0; j < p->nlayers; j++)
			free(p->layers[j].path);
		free(p->layers);
	}
	free(L->imgs);
	free(L->uniq);
}

/* ---- reading the layout ---- */

int berth_load_open_blob(struct load *L, const char *digest, uint64_t size, struct berth_err *err)
{
	const char *hex = berth_digest_hex(digest);
	if (!hex)
		return berth_err_set(err, 0, "invalid blob digest %s", Q(digest));
	char rel[96];
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
	_cleanup_close_ int fd = berth_openat_beneath(L->layout_fd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return berth_err_set(err, 0,
					     "blob %s is missing from %s: the image is incomplete; "
					     "export it again",
					     digest, L->path);
		return berth_err_set(err, errno, "open blob %s in %s", digest, L->path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_err_set(err, errno, "stat blob %s in %s", digest, L->path);
	if (!S_ISREG(st.st_mode))
		return berth_err_set(err, 0, "blob %s in %s is not a regular file", digest, L->path);
	if (size != UINT64_MAX && (uint64_t)st.st_size != size)
		return berth_err_set(err, 0,
				     "blob %s in %s is %lld bytes, but its descriptor says %llu "
				     "(truncated or corrupt): export the image again",
				     digest, L->path, (long long)st.st_size, (unsigned long long)size);
	return TAKE_FD(fd);
}

/* Read an open regular file whole (at most max bytes); *hex gets its sha256. */
static int read_fd_all(int fd, size_t max, const char *what, char **out, size_t *len,
		       char hex[BERTH_SHA256_HEX_LEN + 1], struct berth_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_err_set(err, errno, "stat %s", what);
	if ((uint64_t)st.st_size > max)
		return berth_err_set(err, 0, "%s is too large (%lld bytes, limit %zu)", what,
				     (long long)st.st_size, max);
	size_t want = (size_t)st.st_size, got = 0;
	_cleanup_free_ char *buf = malloc(want + 1);
	if (!buf)
		return berth_err_set(err, ENOMEM, "read %s", what);
	while (got < want) {
		ssize_t r = read(fd, buf + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return berth_err_set(err, errno, "read %s", what);
		if (r == 0)
			return berth_err_set(err, 0, "%s shrank while it was read", what);
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (berth_sha256_buf_hex(buf, got, hex, err) < 0)
		return -1;
	*out = TAKE_PTR(buf);
	*len = got;
	return 0;
}

static int read_blob_cb(void *ctx, const struct berth_desc *d, size_t max, char **out, size_t *len,
			struct berth_err *err)
{
	struct load *L = ctx;
	if (d->size > max)
		return berth_err_set(err, 0, "blob %s is too large (%llu bytes, limit %zu)", d->digest,
				     (unsigned long long)d->size, max);
	_cleanup_close_ int fd = berth_load_open_blob(L, d->digest, d->size, err);
	if (fd < 0)
		return -1;
	char hex[BERTH_SHA256_HEX_LEN + 1], what[128];
	snprintf(what, sizeof(what), "blob %s", d->digest);
	_cleanup_free_ char *buf = NULL;
	if (read_fd_all(fd, max, what, &buf, len, hex, err) < 0)
		return -1;
	if (strcmp(hex, d->digest + 7))
		return berth_err_set(err, 0,
				     "blob %s in %s has sha256:%s: it is corrupt or was altered; "
				     "export the image again",
				     d->digest, L->path, hex);
	*out = TAKE_PTR(buf);
	return 0;
}

static int set_default_name(struct plan_image *p, struct berth_err *err)
{
	p->names = calloc(2, sizeof(char *));
	if (!p->names || !(p->names[0] = strdup(p->config_digest)))
		return berth_err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int set_one_name(struct plan_image *p, const char *name, struct berth_err *err)
{
	p->names = calloc(2, sizeof(char *));
	if (!p->names || !(p->names[0] = strdup(name)))
		return berth_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int berth_load_plan_oci(struct load *L, const char *name, struct berth_err *err)
{
	_cleanup_free_ char *ol = NULL, *ix = NULL;
	size_t len = 0;
	if (berth_read_file_at(L->layout_fd, "oci-layout", LAYOUT_FILE_MAX, &ol, &len, err) < 0)
		return berth_err_wrap(err, "not an OCI image layout");
	cJSON *olj = berth_json_parse(ol, len, "oci-layout", err);
	if (!olj)
		return -1;
	bool ok = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(olj, "imageLayoutVersion"));
	cJSON_Delete(olj);
	if (!ok)
		return berth_err_set(err, 0, "oci-layout has no imageLayoutVersion");
	if (berth_read_file_at(L->layout_fd, "index.json", BERTH_JSON_MAX, &ix, &len, err) < 0)
		return -1;
	struct berth_resolved *res = NULL;
	size_t n = 0;
	if (berth_index_resolve(ix, len, "index.json", read_blob_cb, L, &res, &n, err) < 0)
		return -1;
	int rv = -1;
	if (name && n != 1) {
		berth_err_set(err, 0, "--name needs exactly one image, but the archive holds %zu: "
			      "load it without --name", n);
		goto out;
	}
	if (!(L->imgs = calloc(n, sizeof(*L->imgs)))) {
		berth_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct berth_resolved *r = &res[i];
		struct plan_image *p = &L->imgs[L->nimgs++];
		memcpy(p->manifest_digest, r->manifest_desc.digest, BERTH_DIGEST_MAX);
		memcpy(p->config_digest, r->manifest.config.digest, BERTH_DIGEST_MAX);
		p->manifest_json = TAKE_PTR(r->manifest_json);
		p->manifest_len = r->manifest_len;
		p->config_json = TAKE_PTR(r->config_json);
		p->config_len = r->config_len;
		p->size = p->manifest_len + p->config_len;
		char *ann = NULL;
		if (name) {
			if (set_one_name(p, name, err) < 0)
				goto out;
		} else if (berth_name_from_annotations(r->ref_name, r->containerd_name, &ann, err) < 0) {
			berth_err_wrap(err, "image %s", p->manifest_digest);
			goto out;
		} else if (ann ? set_one_name(p, ann, err) : set_default_name(p, err)) {
			free(ann);
			goto out;
		}
		free(ann);
		p->layers = calloc(r->manifest.nlayers + 1, sizeof(*p->layers));
		if (!p->layers) {
			berth_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		for (size_t j = 0; j < r->manifest.nlayers; j++) {
			const struct berth_desc *d = &r->manifest.layers[j];
			struct plan_layer *pl = &p->layers[p->nlayers++];
			pl->comp = berth_layer_media_compression(d->media_type);
			if (pl->comp < 0) {
				berth_err_set(err, 0,
					      "image %s: layer %s has unsupported media type %s "
					      "(berth reads OCI and Docker tar, tar+gzip and tar+zstd layers)",
					      p->names[0], d->digest, Q(d->media_type));
				goto out;
			}
			memcpy(pl->diff_id, r->config.diff_ids[j], BERTH_DIGEST_MAX);
			memcpy(pl->blob_digest, d->digest, BERTH_DIGEST_MAX);
			pl->blob_size = d->size;
			p->size += d->size;
		}
	}
	rv = 0;
out:
	berth_resolved_free(res, n);
	return rv;
}

/* The 64-hex digest a docker-save file name promises ("<hex>.json" or
 * "blobs/sha256/<hex>"), or NULL. */
static const char *name_digest(const char *path, char *buf)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t l = strlen(b);
	if (l == 69 && !strcmp(b + 64, ".json"))
		l = 64;
	if (l != 64 || strspn(b, "0123456789abcdef") < 64)
		return NULL;
	snprintf(buf, BERTH_DIGEST_MAX, "sha256:%.64s", b);
	return buf;
}

static int detect_comp(int fd, const char *what, struct berth_err *err)
{
	unsigned char m[4] = {0};
	ssize_t r = pread(fd, m, sizeof(m), 0);
	if (r < 0)
		return berth_err_set(err, errno, "read %s", what);
	if (r >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return BERTH_COMP_GZIP;
	if (r >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return BERTH_COMP_ZSTD;
	return BERTH_COMP_NONE;
}

static int hash_fd(int fd, char hex[BERTH_SHA256_HEX_LEN + 1], const char *what,
		   struct berth_err *err)
{
	struct berth_sha256 h = {0};
	char buf[65536];
	if (berth_sha256_init(&h, err) < 0)
		return -1;
	for (off_t off = 0;;) {
		ssize_t r = pread(fd, buf, sizeof(buf), off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			berth_sha256_free(&h);
			return berth_err_set(err, errno, "read %s", what);
		}
		if (r == 0)
			break;
		berth_sha256_update(&h, buf, (size_t)r);
		off += r;
	}
	berth_sha256_final_hex(&h, hex);
	return 0;
}

/* An OCI manifest for a legacy docker-save image, so every image in the store
 * has one. */
static int synth_manifest(struct plan_image *p, const char *config_mt, struct berth_err *err)
{
	static const char *mts[] = {"application/vnd.oci.image.layer.v1.tar",
				    "application/vnd.oci.image.layer.v1.tar+gzip",
				    "application/vnd.oci.image.layer.v1.tar+zstd"};
	cJSON *m = cJSON_CreateObject(), *c = cJSON_CreateObject(), *ls = cJSON_CreateArray();
	bool ok = m && c && ls;
	if (ok) {
		cJSON_AddItemToObject(m, "config", c);
		cJSON_AddItemToObject(m, "layers", ls);
		c = ls = NULL;
		cJSON *cj = cJSON_GetObjectItem(m, "config"), *lj = cJSON_GetObjectItem(m, "layers");
		ok = cJSON_AddNumberToObject(m, "schemaVersion", 2) &&
		     cJSON_AddStringToObject(m, "mediaType", BERTH_MT_OCI_MANIFEST) &&
		     cJSON_AddStringToObject(cj, "mediaType", config_mt) &&
		     cJSON_AddStringToObject(cj, "digest", p->config_digest) &&
		     cJSON_AddNumberToObject(cj, "size", (double)p->config_len);
		for (size_t i = 0; ok && i < p->nlayers; i++) {
			cJSON *d = cJSON_CreateObject();
			ok = d && cJSON_AddItemToArray(lj, d) &&
			     cJSON_AddStringToObject(d, "mediaType", mts[p->layers[i].comp]) &&
			     cJSON_AddStringToObject(d, "digest", p->layers[i].blob_digest) &&
			     cJSON_AddNumberToObject(d, "size", (double)p->layers[i].blob_size);
		}
	}
	char *json = ok ? cJSON_PrintUnformatted(m) : NULL;
	cJSON_Delete(m);
	cJSON_Delete(c);
	cJSON_Delete(ls);
	char hex[BERTH_SHA256_HEX_LEN + 1];
	if (!json)
		return berth_err_set(err, ENOMEM, "out of memory");
	p->manifest_json = json;
	p->manifest_len = strlen(json);
	if (berth_sha256_buf_hex(json, p->manifest_len, hex, err) < 0)
		return -1;
	snprintf(p->manifest_digest, sizeof(p->manifest_digest), "sha256:%s", hex);
	return 0;
}

static int open_member(struct load *L, const char *raw, char **clean_out, const char *role,
		       struct berth_err *err)
{
	size_t l = strlen(raw);
	_cleanup_free_ char *clean = malloc(l + 1);
	if (!clean)
		return berth_err_set(err, ENOMEM, "out of memory");
	if (berth_layer_clean_path(raw, false, clean, err) < 0)
		return berth_err_wrap(err, "manifest.json: %s %s", role, Q(raw));
	int fd = berth_openat_beneath(L->layout_fd, clean, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return berth_err_set(err, 0, "%s %s is missing from %s", role, Q(raw), L->path);
		return berth_err_set(err, e, "%s %s in %s", role, Q(raw), L->path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return berth_err_set(err, 0, "%s %s in %s is not a regular file", role, Q(raw), L->path);
	}
	if (clean_out)
		*clean_out = TAKE_PTR(clean);
	return fd;
}

/* One docker-save layer.tar: locate it, detect its compression, and find its
 * blob digest (the diff_id when uncompressed; hashed otherwise). */
static int plan_legacy_layer(struct load *L, const cJSON *le, struct plan_layer *pl,
			     struct berth_err *err)
{
	if (!cJSON_IsString(le))
		return berth_err_set(err, 0, "manifest.json: a Layers entry is not a string");
	_cleanup_close_ int fd = open_member(L, le->valuestring, &pl->path, "layer", err);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e_ = errno;
		return berth_err_set(err, e_, "stat layer %s", Q(pl->path));
	}
	pl->blob_size = (uint64_t)st.st_size;
	if ((pl->comp = detect_comp(fd, pl->path, err)) < 0)
		return -1;
	if (pl->comp == BERTH_COMP_NONE) {
		memcpy(pl->blob_digest, pl->diff_id, BERTH_DIGEST_MAX);
		return 0;
	}
	char hex[BERTH_SHA256_HEX_LEN + 1];
	if (hash_fd(fd, hex, pl->path, err) < 0)
		return -1;
	snprintf(pl->blob_digest, sizeof(pl->blob_digest), "sha256:%s", hex);
	return 0;
}

static int plan_legacy_one(struct load *L, const cJSON *e, const char *name, struct plan_image *p,
			   struct berth_err *err)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(e, "Config"),
		    *tags = cJSON_GetObjectItemCaseSensitive(e, "RepoTags"),
		    *ls = cJSON_GetObjectItemCaseSensitive(e, "Layers");
	if (!cJSON_IsString(cfg) || !cJSON_IsArray(ls) ||
	    (tags && !cJSON_IsNull(tags) && !cJSON_IsArray(tags)))
		return berth_err_set(err, 0, "manifest.json: an entry lacks Config or Layers");
	_cleanup_close_ int cfd = open_member(L, cfg->valuestring, NULL, "config", err);
	if (cfd < 0)
		return -1;
	char hex[BERTH_SHA256_HEX_LEN + 1], want[BERTH_DIGEST_MAX], what[128];
	snprintf(what, sizeof(what), "config %s", Q(cfg->valuestring));
	if (read_fd_all(cfd, BERTH_JSON_MAX, what, &p->config_json, &p->config_len, hex, err) < 0)
		return -1;
	L->meta_bytes += p->config_len;
	if (L->meta_bytes > BERTH_JSON_TOTAL_MAX)
		return berth_err_set(err, 0, "manifest.json: the image configs exceed %u bytes in total",
				     BERTH_JSON_TOTAL_MAX);
	snprintf(p->config_digest, sizeof(p->config_digest), "sha256:%s", hex);
	if (name_digest(cfg->valuestring, want) && strcmp(want, p->config_digest))
		return berth_err_set(err, 0,
				     "config %s in %s has %s: it is corrupt or was altered; "
				     "export the image again",
				     Q(cfg->valuestring), L->path, p->config_digest);
	struct berth_config c;
	if (berth_config_parse(p->config_json, p->config_len, what, &c, err) < 0)
		return -1;
	int n = cJSON_GetArraySize(ls);
	int rv = berth_image_check(NULL, &c, what, err);
	if (rv == 0 && (size_t)n != c.ndiff_ids)
		rv = berth_err_set(err, 0, "%s: manifest.json lists %d layers but rootfs.diff_ids has %zu",
				   what, n, c.ndiff_ids);
	if (rv == 0 && !(p->layers = calloc((size_t)n + 1, sizeof(*p->layers))))
		rv = berth_err_set(err, ENOMEM, "out of memory");
	const cJSON *le;
	cJSON_ArrayForEach(le, ls) {
		if (rv < 0)
			break;
		struct plan_layer *pl = &p->layers[p->nlayers];
		memcpy(pl->diff_id, c.diff_ids[p->nlayers], BERTH_DIGEST_MAX);
		p->nlayers++;
		rv = plan_legacy_layer(L, le, pl, err);
		p->size += pl->blob_size;
	}
	berth_config_free(&c);
	if (rv < 0)
		return -1;
	if (synth_manifest(p, BERTH_MT_DOCKER_CONFIG, err) < 0)
		return -1;
	p->size += p->manifest_len + p->config_len;
	/* docker save gives no blob digests: layers are checked by diff_id alone. */
	for (size_t j = 0; j < p->nlayers; j++) {
		p->layers[j].blob_size = UINT64_MAX;
		p->layers[j].blob_digest[0] = '\0';
	}
	if (name)
		return set_one_name(p, name, err);
	int nt = tags && cJSON_IsArray(tags) ? cJSON_GetArraySize(tags) : 0;
	if (nt == 0)
		return set_default_name(p, err);
	if (!(p->names = calloc((size_t)nt + 1, sizeof(char *))))
		return berth_err_set(err, ENOMEM, "out of memory");
	const cJSON *t;
	size_t k = 0;
	cJSON_ArrayForEach(t, tags) {
		char norm[BERTH_NAME_MAX + 1];
		if (!cJSON_IsString(t) || berth_name_normalize(t->valuestring, norm, err) < 0)
			return cJSON_IsString(t) ? berth_err_wrap(err, "manifest.json RepoTags")
						 : berth_err_set(err, 0, "manifest.json: bad RepoTags");
		if (!(p->names[k++] = strdup(norm)))
			return berth_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int berth_load_plan_legacy(struct load *L, const char *name, struct berth_err *err)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	if (berth_read_file_at(L->layout_fd, "manifest.json", BERTH_JSON_MAX, &json, &len, err) < 0)
		return -1;
	cJSON *m = berth_json_parse(json, len, "manifest.json", err);
	if (!m)
		return -1;
	int n = cJSON_IsArray(m) ? cJSON_GetArraySize(m) : -1, rv = -1;
	if (n <= 0)
		berth_err_set(err, 0, "manifest.json %s", n < 0 ? "is not an array" : "lists no images");
	else if (name && n != 1)
		berth_err_set(err, 0, "--name needs exactly one image, but the archive holds %d: "
			      "load it without --name", n);
	else if (!(L->imgs = calloc((size_t)n, sizeof(*L->imgs))))
		berth_err_set(err, ENOMEM, "out of memory");
	else
		rv = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, m) {
		if (rv < 0)
			break;
		rv = plan_legacy_one(L, e, name, &L->imgs[L->nimgs++], err);
	}
	cJSON_Delete(m);
	return rv;
}
