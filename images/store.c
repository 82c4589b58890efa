/* berth images/ — the content store: layout, locking, refs, lookup, removal, GC. */
#include "images/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/cleanup.h"
#include "images/manifest.h"

#define REF_MAX (1u << 20)
#define Q(s) berth_quote((s), (char[128]){0}, 128)

int berth_store_lock(struct berth_store *s, int op, struct berth_err *err)
{
	while (flock(s->lock_fd, op) < 0) {
		if (errno == EINTR)
			continue;
		return berth_err_set(err, errno, "lock %s/lock", s->path);
	}
	s->lock_state = op;
	return 0;
}

void berth_store_unlock(struct berth_store *s)
{
	flock(s->lock_fd, LOCK_UN);
	s->lock_state = 0;
}

int berth_store_hold(struct berth_store *s, struct berth_err *err)
{
	if (s->hold_fd >= 0)
		return 0;
	int fd = openat(s->dir_fd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berth_err_set(err, errno, "open %s/lock", s->path);
	while (flock(fd, LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return berth_err_set(err, e, "lock %s/lock", s->path);
	}
	s->hold_fd = fd;
	return 0;
}

void berth_store_release(struct berth_store *s)
{
	if (s && s->hold_fd >= 0) {
		close(s->hold_fd);
		s->hold_fd = -1;
	}
}

int berth_openat_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* mkdir -p for the state root itself (an administrator's path: symlinks in it
 * are followed, as for any configured directory). */
static int mkdir_parents(const char *path, struct berth_err *err)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return berth_err_set(err, ENOMEM, "%s", path);
	for (char *c = p + 1;; c++) {
		if (*c != '/' && *c)
			continue;
		char saved = *c;
		*c = '\0';
		if (mkdir(p, saved ? 0755 : 0700) < 0 && errno != EEXIST)
			return berth_err_set(err, errno, "create state directory %s", p);
		if (!saved)
			break;
		*c = saved;
	}
	return 0;
}

int berth_store_open(const char *state_root, const struct berth_store_opts *opts,
		     struct berth_store **out, struct berth_err *err)
{
	if (!state_root || state_root[0] != '/')
		return berth_err_set(err, EINVAL, "state root %s must be an absolute path",
				     state_root ? state_root : "(null)");
	_cleanup_close_ int root = open(state_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 && errno == ENOENT) {
		if (mkdir_parents(state_root, err) < 0)
			return -1;
		root = open(state_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (root < 0)
		return berth_err_set(err, errno, "open state directory %s", state_root);
	struct berth_store *s = calloc(1, sizeof(*s));
	if (!s)
		return berth_err_set(err, ENOMEM, "open image store");
	s->dir_fd = s->lock_fd = s->blobs_fd = s->layers_fd = s->refs_fd = s->tmp_fd = -1;
	s->hold_fd = -1;
	if (opts) {
		s->layers_in_use = opts->layers_in_use;
		s->layers_in_use_ctx = opts->layers_in_use_ctx;
	}
	s->max_layer_bytes = opts && opts->max_layer_bytes ? opts->max_layer_bytes
							   : BERTH_DEFAULT_MAX_LAYER_BYTES;
	if (asprintf(&s->path, "%s%simages", state_root,
		     state_root[strlen(state_root) - 1] == '/' ? "" : "/") < 0) {
		s->path = NULL;
		berth_store_close(s);
		return berth_err_set(err, ENOMEM, "open image store");
	}
	if ((s->dir_fd = berth_open_dir_at(root, "images", true, err)) < 0)
		goto fail;
	if (fchmod(s->dir_fd, 0700) < 0) {
		berth_err_set(err, errno, "chmod %s", s->path);
		goto fail;
	}
	if ((s->blobs_fd = berth_open_dir_at(s->dir_fd, "blobs/sha256", true, err)) < 0 ||
	    (s->layers_fd = berth_open_dir_at(s->dir_fd, "layers", true, err)) < 0 ||
	    (s->refs_fd = berth_open_dir_at(s->dir_fd, "refs", true, err)) < 0 ||
	    (s->tmp_fd = berth_open_dir_at(s->dir_fd, "tmp", true, err)) < 0)
		goto fail;
	s->lock_fd = openat(s->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0) {
		berth_err_set(err, errno, "open %s/lock", s->path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	berth_err_wrap(err, "open image store %s", s->path);
	berth_store_close(s);
	return -1;
}

void berth_store_close(struct berth_store *s)
{
	if (!s)
		return;
	int *fds[] = {&s->dir_fd, &s->lock_fd, &s->blobs_fd, &s->layers_fd, &s->refs_fd, &s->tmp_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(s->path);
	free(s);
}

/* ---- ref records ---- */

void berth_ref_clear(struct berth_ref *r)
{
	free(r->name);
	free(r->layers);
	memset(r, 0, sizeof(*r));
}

void berth_refs_free(struct berth_ref *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		berth_ref_clear(&r[i]);
	free(r);
}

char *berth_ref_json(const struct berth_ref *r, struct berth_err *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *ls = cJSON_CreateArray();
	char *out = NULL;
	if (!o || !ls)
		goto oom;
	cJSON_AddItemToObject(o, "layers", ls);
	if (!cJSON_AddStringToObject(o, "name", r->name) ||
	    !cJSON_AddStringToObject(o, "manifest", r->manifest) ||
	    !cJSON_AddStringToObject(o, "config", r->config) ||
	    !cJSON_AddNumberToObject(o, "size", (double)r->size))
		goto oom;
	for (size_t i = 0; i < r->nlayers; i++) {
		cJSON *e = cJSON_CreateString(r->layers[i]);
		if (!e)
			goto oom;
		cJSON_AddItemToArray(ls, e);
	}
	out = cJSON_PrintUnformatted(o);
	if (!out)
		goto oom;
	cJSON_Delete(o);
	return out;
oom:
	if (o)
		cJSON_Delete(o);
	else if (ls)
		cJSON_Delete(ls);
	berth_err_set(err, ENOMEM, "serialise image record %s", r->name);
	return NULL;
}

static int ref_parse(const char *json, size_t len, const char *file, struct berth_ref *r,
		     struct berth_err *err)
{
	memset(r, 0, sizeof(*r));
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name"),
		    *man = cJSON_GetObjectItemCaseSensitive(o, "manifest"),
		    *cfg = cJSON_GetObjectItemCaseSensitive(o, "config"),
		    *size = cJSON_GetObjectItemCaseSensitive(o, "size"),
		    *ls = cJSON_GetObjectItemCaseSensitive(o, "layers");
	if (!cJSON_IsString(name) || !cJSON_IsString(man) || !berth_digest_valid(man->valuestring) ||
	    !cJSON_IsString(cfg) || !berth_digest_valid(cfg->valuestring) || !cJSON_IsNumber(size) ||
	    size->valuedouble < 0 || !cJSON_IsArray(ls))
		goto corrupt;
	int n = cJSON_GetArraySize(ls);
	r->name = strdup(name->valuestring);
	r->layers = calloc((size_t)n + 1, sizeof(*r->layers));
	if (!r->name || !r->layers) {
		cJSON_Delete(o);
		berth_ref_clear(r);
		return berth_err_set(err, ENOMEM, "read image record %s", file);
	}
	snprintf(r->manifest, sizeof(r->manifest), "%s", man->valuestring);
	snprintf(r->config, sizeof(r->config), "%s", cfg->valuestring);
	r->size = (uint64_t)size->valuedouble;
	const cJSON *e;
	cJSON_ArrayForEach(e, ls) {
		char d[BERTH_DIGEST_MAX];
		if (!cJSON_IsString(e) || strlen(e->valuestring) != BERTH_SHA256_HEX_LEN)
			goto corrupt;
		snprintf(d, sizeof(d), "sha256:%s", e->valuestring);
		if (!berth_digest_valid(d))
			goto corrupt;
		memcpy(r->layers[r->nlayers++], e->valuestring, BERTH_SHA256_HEX_LEN + 1);
	}
	char enc[NAME_MAX + 1];
	if (berth_name_encode(r->name, enc, sizeof(enc), err) < 0 || strcmp(enc, file))
		goto corrupt;
	cJSON_Delete(o);
	return 0;
corrupt:
	cJSON_Delete(o);
	berth_ref_clear(r);
	return berth_err_set(err, 0, "image record refs/%s is corrupt: remove it and load the image again",
			     file);
}

static int ref_read_file(struct berth_store *s, const char *file, struct berth_ref *out,
			 struct berth_err *err)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	if (berth_read_file_at(s->refs_fd, file, REF_MAX, &json, &len, err) < 0)
		return berth_err_wrap(err, "image store %s", s->path);
	return ref_parse(json, len, file, out, err);
}

int berth_ref_read(struct berth_store *s, const char *name, struct berth_ref *out,
		   struct berth_err *err)
{
	char file[NAME_MAX + 1];
	struct stat st;
	if (berth_name_encode(name, file, sizeof(file), err) < 0)
		return -1;
	if (fstatat(s->refs_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return berth_err_set(err, errno, "image record %s", file);
	}
	return ref_read_file(s, file, out, err) < 0 ? -1 : 1;
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct berth_ref *)a)->name, ((const struct berth_ref *)b)->name);
}

int berth_refs_all(struct berth_store *s, struct berth_ref **out, size_t *n, struct berth_err *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_closedir_ DIR *d = berth_opendir_at(s->refs_fd, "image refs", err);
	if (!d)
		return -1;
	struct berth_ref *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json"))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			struct berth_ref *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				berth_refs_free(v, cnt);
				return berth_err_set(err, ENOMEM, "read %s/refs", s->path);
			}
			v = nv;
		}
		if (ref_read_file(s, de->d_name, &v[cnt], err) < 0) {
			berth_refs_free(v, cnt);
			return -1;
		}
		cnt++;
	}
	if (errno) {
		berth_refs_free(v, cnt);
		return berth_err_set(err, errno, "read %s/refs", s->path);
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), ref_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- work directories and garbage collection ---- */

int berth_store_workdir(struct berth_store *s, const char *prefix, char *name, size_t namesz,
			struct berth_err *err)
{
	char rnd[33];
	bool locked = false;
	if (s->lock_state == 0) { /* keep the GC (LOCK_EX) away until we hold the dir lock */
		if (berth_store_lock(s, LOCK_SH, err) < 0)
			return -1;
		locked = true;
	}
	int fd = -1;
	if (berth_random_hex(rnd, 12, err) < 0)
		goto out;
	snprintf(name, namesz, "%s-%s", prefix, rnd);
	if (mkdirat(s->tmp_fd, name, 0700) < 0) {
		berth_err_set(err, errno, "create %s/tmp/%s", s->path, name);
		goto out;
	}
	fd = openat(s->tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		berth_err_set(err, errno, "open %s/tmp/%s", s->path, name);
		if (fd >= 0)
			close(fd);
		fd = -1;
		unlinkat(s->tmp_fd, name, AT_REMOVEDIR);
	}
out:
	if (locked)
		berth_store_unlock(s);
	return fd;
}

int berth_store_discard(struct berth_store *s, int dirfd, const char *name, struct berth_err *err)
{
	char rnd[17], gone[32];
	if (berth_random_hex(rnd, 8, err) < 0)
		return -1;
	snprintf(gone, sizeof(gone), "gc-%s", rnd);
	if (renameat(dirfd, name, s->tmp_fd, gone) == 0)
		return berth_rm_rf_at(s->tmp_fd, gone, err);
	if (errno == ENOENT)
		return 0;
	return berth_rm_rf_at(dirfd, name, err);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool in_set(char **set, size_t n, const char *s)
{
	return n && bsearch(&s, set, n, sizeof(*set), str_cmp);
}

/* Remove unlocked leftovers in images/tmp and stale temp files in refs/ and blobs/. */
static int gc_stale(struct berth_store *s, int dirfd, bool tmpdir, struct berth_err *err)
{
	_cleanup_closedir_ DIR *d = berth_opendir_at(dirfd, s->path, err);
	if (!d)
		return -1;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!tmpdir) {
			if (!strncmp(de->d_name, ".tmp-", 5) && unlinkat(dirfd, de->d_name, 0) < 0 &&
			    errno != ENOENT)
				return berth_err_set(err, errno, "remove %s/%s", s->path, de->d_name);
			continue;
		}
		_cleanup_close_ int fd = openat(dirfd, de->d_name,
						O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a load in progress */
		if (berth_rm_rf_at(dirfd, de->d_name, err) < 0)
			return berth_err_wrap(err, "clean %s/tmp", s->path);
	}
	return 0;
}

static int gc_dir(struct berth_store *s, int dirfd, bool layers, char **keep, size_t nkeep,
		  struct berth_err *err)
{
	_cleanup_closedir_ DIR *d = berth_opendir_at(dirfd, s->path, err);
	if (!d)
		return -1;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    in_set(keep, nkeep, de->d_name))
			continue;
		if (layers ? berth_store_discard(s, dirfd, de->d_name, err) < 0
			   : (unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT &&
			      berth_err_set(err, errno, "remove blob %s", de->d_name) < 0))
			return -1;
	}
	return 0;
}

int berth_store_gc(struct berth_store *s, char *const *cand_blobs, char *const *cand_layers,
		   struct berth_err *err)
{
	_cleanup_strv_ char **in_use = NULL;
	if (s->layers_in_use && s->layers_in_use(s->layers_in_use_ctx, &in_use, err) < 0)
		return berth_err_wrap(err, "collect unused blobs and layers");
	struct berth_ref *refs = NULL;
	size_t nrefs = 0, nb = 0, nl = 0;
	if (berth_refs_all(s, &refs, &nrefs, err) < 0)
		return berth_err_wrap(err, "collect unused blobs and layers");
	size_t maxb = 2 * nrefs, maxl = berth_strv_len(in_use);
	for (size_t i = 0; i < nrefs; i++)
		maxl += refs[i].nlayers;
	char **blobs = calloc(maxb + 1, sizeof(char *)), **layers = calloc(maxl + 1, sizeof(char *));
	int rv = -1;
	if (!blobs || !layers) {
		berth_err_set(err, ENOMEM, "collect unused blobs and layers");
		goto out;
	}
	for (size_t i = 0; i < nrefs; i++) {
		blobs[nb++] = refs[i].manifest + 7;
		blobs[nb++] = refs[i].config + 7;
		for (size_t j = 0; j < refs[i].nlayers; j++)
			layers[nl++] = refs[i].layers[j];
	}
	for (size_t i = 0; in_use && in_use[i]; i++)
		layers[nl++] = in_use[i];
	qsort(blobs, nb, sizeof(*blobs), str_cmp);
	qsort(layers, nl, sizeof(*layers), str_cmp);
	if (cand_blobs || cand_layers) {
		for (size_t i = 0; cand_blobs && cand_blobs[i]; i++) {
			const char *h = berth_digest_hex(cand_blobs[i]);
			if (h && !in_set(blobs, nb, h) && unlinkat(s->blobs_fd, h, 0) < 0 &&
			    errno != ENOENT) {
				berth_err_set(err, errno, "remove blob %s", cand_blobs[i]);
				goto out;
			}
		}
		for (size_t i = 0; cand_layers && cand_layers[i]; i++) {
			const char *h = cand_layers[i];
			if (strlen(h) == BERTH_SHA256_HEX_LEN && strspn(h, "0123456789abcdef") == 64 &&
			    !in_set(layers, nl, h) && berth_store_discard(s, s->layers_fd, h, err) < 0)
				goto out;
		}
	} else if (gc_dir(s, s->blobs_fd, false, blobs, nb, err) < 0 ||
		   gc_dir(s, s->layers_fd, true, layers, nl, err) < 0 ||
		   gc_stale(s, s->refs_fd, false, err) < 0 || gc_stale(s, s->tmp_fd, true, err) < 0) {
		goto out;
	}
	rv = 0;
out:
	free(blobs);
	free(layers);
	berth_refs_free(refs, nrefs);
	return rv;
}

/* ---- images ---- */

void berth_image_free(struct berth_image *img)
{
	if (!img)
		return;
	free(img->name);
	free(img->manifest_digest);
	free(img->config_digest);
	berth_strv_free(img->layers);
	berth_image_config_clear(&img->config);
	free(img);
}

static int image_from_ref(struct berth_store *s, const struct berth_ref *r, bool with_config,
			  struct berth_image **out, struct berth_err *err)
{
	struct berth_image *img = calloc(1, sizeof(*img));
	if (!img)
		return berth_err_set(err, ENOMEM, "image %s", r->name);
	img->layers = calloc(r->nlayers + 1, sizeof(char *));
	if (!img->layers || !(img->name = strdup(r->name)) ||
	    !(img->manifest_digest = strdup(r->manifest)) || !(img->config_digest = strdup(r->config)))
		goto oom;
	for (size_t i = 0; i < r->nlayers; i++)
		if (!(img->layers[i] = strdup(r->layers[i])))
			goto oom;
	img->nlayers = r->nlayers;
	img->size = r->size;
	if (with_config) {
		_cleanup_free_ char *json = NULL;
		size_t len = 0;
		char hex[BERTH_SHA256_HEX_LEN + 1], what[96];
		struct berth_config cfg;
		if (berth_read_file_at(s->blobs_fd, r->config + 7, BERTH_JSON_MAX, &json, &len, err) < 0 ||
		    berth_sha256_buf_hex(json, len, hex, err) < 0)
			goto broken;
		if (strcmp(hex, r->config + 7)) {
			berth_err_set(err, 0, "its sha256 is sha256:%s", hex);
			goto broken;
		}
		snprintf(what, sizeof(what), "config %s", r->config);
		if (berth_config_parse(json, len, what, &cfg, err) < 0)
			goto broken;
		img->config = cfg.cfg;
		memset(&cfg.cfg, 0, sizeof(cfg.cfg));
		berth_config_free(&cfg);
	}
	*out = img;
	return 0;
broken:
	berth_err_wrap(err, "image %s: config blob %s in %s is damaged (remove the image with "
			    "'berth image rm' and load it again)",
		       r->name, r->config, s->path);
	berth_image_free(img);
	return -1;
oom:
	berth_image_free(img);
	return berth_err_set(err, ENOMEM, "image %s", r->name);
}

/* Find the records ref names: a name, "sha256:<hex>" or an ID prefix.
 * Returns the index into refs of the first match and the number of records
 * sharing that config digest in *count. */
static int find_ref(const char *ref, struct berth_ref *refs, size_t n, size_t *count,
		    struct berth_err *err)
{
	char norm[BERTH_NAME_MAX + 1];
	struct berth_err nerr = {0};
	bool name_ok = berth_name_normalize(ref, norm, &nerr) == 0;
	*count = 0;
	for (size_t i = 0; name_ok && i < n; i++)
		if (!strcmp(refs[i].name, norm)) {
			*count = 1;
			return (int)i;
		}
	const char **digests = calloc(n + 1, sizeof(char *));
	if (!digests)
		return berth_err_set(err, ENOMEM, "look up image %s", ref);
	for (size_t i = 0; i < n; i++)
		digests[i] = refs[i].config;
	int idx = berth_digest_lookup(ref, digests, n, err);
	free(digests);
	if (idx == -2) {
		if (!name_ok) {
			*err = nerr;
			return -1;
		}
		return berth_err_set(err, 0, "image %s not found: load it with 'berth image load PATH'",
				     Q(ref));
	}
	if (idx < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		*count += !strcmp(refs[i].config, refs[idx].config);
	return idx;
}

int berth_image_get(struct berth_store *s, const char *ref, struct berth_image **out,
		    struct berth_err *err)
{
	char norm[BERTH_NAME_MAX + 1];
	struct berth_err nerr = {0};
	struct berth_ref r;
	int rv = -1;
	*out = NULL;
	if (berth_store_lock(s, LOCK_SH, err) < 0)
		return -1;
	/* Fast path: a name. */
	if (berth_name_normalize(ref, norm, &nerr) == 0) {
		int found = berth_ref_read(s, norm, &r, err);
		if (found < 0)
			goto out;
		if (found) {
			rv = image_from_ref(s, &r, true, out, err);
			berth_ref_clear(&r);
			goto out;
		}
	}
	struct berth_ref *refs = NULL;
	size_t n = 0, count = 0;
	if (berth_refs_all(s, &refs, &n, err) < 0)
		goto out;
	int idx = find_ref(ref, refs, n, &count, err);
	if (idx >= 0)
		rv = image_from_ref(s, &refs[idx], true, out, err);
	berth_refs_free(refs, n);
out:
	berth_store_unlock(s);
	return rv;
}

int berth_image_list(struct berth_store *s, struct berth_image ***out, size_t *n,
		     struct berth_err *err)
{
	struct berth_ref *refs = NULL;
	size_t nrefs = 0;
	*out = NULL;
	*n = 0;
	if (berth_store_lock(s, LOCK_SH, err) < 0)
		return -1;
	int rv = berth_refs_all(s, &refs, &nrefs, err);
	berth_store_unlock(s);
	if (rv < 0)
		return -1;
	struct berth_image **v = calloc(nrefs + 1, sizeof(*v));
	if (!v) {
		berth_refs_free(refs, nrefs);
		return berth_err_set(err, ENOMEM, "list images");
	}
	for (size_t i = 0; i < nrefs; i++) {
		if (image_from_ref(s, &refs[i], false, &v[i], err) < 0) {
			for (size_t j = 0; j < i; j++)
				berth_image_free(v[j]);
			free(v);
			berth_refs_free(refs, nrefs);
			return -1;
		}
	}
	berth_refs_free(refs, nrefs);
	*out = v;
	*n = nrefs;
	return 0;
}

int berth_image_remove(struct berth_store *s, const char *ref, struct berth_err *err)
{
	struct berth_ref *refs = NULL;
	size_t n = 0, count = 0;
	int rv = -1;
	if (berth_store_lock(s, LOCK_EX, err) < 0)
		return -1;
	if (berth_refs_all(s, &refs, &n, err) < 0)
		goto out;
	int idx = find_ref(ref, refs, n, &count, err);
	if (idx < 0)
		goto out;
	if (count > 1) {
		char names[512] = "";
		for (size_t i = 0, l = 0; i < n && l < sizeof(names) - 1; i++) {
			if (strcmp(refs[i].config, refs[idx].config))
				continue;
			l += (size_t)snprintf(names + l, sizeof(names) - l, "%s%s", l ? ", " : "",
					      refs[i].name);
		}
		berth_err_set(err, 0, "image %s has %zu names (%s): remove them by name", Q(ref), count,
			      names);
		goto out;
	}
	char file[NAME_MAX + 1];
	if (berth_name_encode(refs[idx].name, file, sizeof(file), err) < 0)
		goto out;
	if (unlinkat(s->refs_fd, file, 0) < 0) {
		berth_err_set(err, errno, "remove image %s: %s/refs/%s", refs[idx].name, s->path, file);
		goto out;
	}
	fsync(s->refs_fd);
	if (berth_store_gc(s, NULL, NULL, err) < 0) {
		berth_err_wrap(err, "image %s was removed, but", refs[idx].name);
		goto out;
	}
	rv = 0;
out:
	berth_refs_free(refs, n);
	berth_store_unlock(s);
	return rv;
}
