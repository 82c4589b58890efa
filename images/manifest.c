/* berth images/ — parse and validate OCI index, manifest and config JSON. */
#include "images/manifest.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/cleanup.h"

#define MAX_DESCRIPTORS 4096
#define MAX_LAYERS 500 /* overlayfs stacks at most 500 lower layers */
#define MAX_STRV 65536

static void cjson_deletep(cJSON **j)
{
	if (*j)
		cJSON_Delete(*j);
}
#define _cleanup_json_ __attribute__((cleanup(cjson_deletep)))

const char *berth_quote(const char *s, char *out, size_t outsz)
{
	if (outsz < 8)
		return "";
	if (!s) {
		snprintf(out, outsz, "(none)");
		return out;
	}
	/* Long names keep their head and their tail (the file name). */
	size_t len = strlen(s), room = outsz - 3, head = len, tail = 0, o = 0;
	if (len > room) {
		head = (room - 3) / 3;
		tail = room - 3 - head;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (i == head) {
			memcpy(out + o, "...", 3);
			o += 3;
			i = len - tail;
		}
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
#define Q(s) berth_quote((s), (char[128]){0}, 128)

/* Parse a whole buffer as one JSON value; trailing non-space is an error. */
cJSON *berth_json_parse(const char *json, size_t len, const char *what, struct berth_err *err)
{
	if (len > BERTH_JSON_MAX) {
		berth_err_set(err, 0, "%s is too large (%zu bytes, limit %u)", what, len, BERTH_JSON_MAX);
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!j) {
		size_t off = end && end >= json ? (size_t)(end - json) : 0;
		berth_err_set(err, 0, "%s is not valid JSON (error near byte %zu)", what, off);
		return NULL;
	}
	for (const char *p = end; p && p < json + len; p++) {
		if (!isspace((unsigned char)*p)) {
			cJSON_Delete(j);
			berth_err_set(err, 0, "%s is not valid JSON (trailing data at byte %zu)", what,
				      (size_t)(p - json));
			return NULL;
		}
	}
	return j;
}

/* Duplicate keys let two parsers see two different documents: refuse them. */
static int no_dup_keys(const cJSON *o, const char *what, struct berth_err *err)
{
	size_t n = 0;
	for (const cJSON *a = o->child; a; a = a->next, n++) {
		if (n > 1024)
			return 0; /* large maps (labels): not security relevant */
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && !strcmp(a->string, b->string))
				return berth_err_set(err, 0, "%s: key %s appears twice", what, Q(a->string));
	}
	return 0;
}

static const cJSON *field(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Optional string field: NULL/absent is fine; other types are an error. */
static int opt_string(const cJSON *o, const char *k, const char *what, char **out,
		      struct berth_err *err)
{
	const cJSON *v = field(o, k);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return berth_err_set(err, 0, "%s: %s must be a string", what, k);
	*out = strdup(v->valuestring);
	if (!*out)
		return berth_err_set(err, ENOMEM, "%s", what);
	return 0;
}

static int opt_strv(const cJSON *o, const char *k, const char *what, char ***out,
		    struct berth_err *err)
{
	const cJSON *v = field(o, k);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return berth_err_set(err, 0, "%s: %s must be an array of strings", what, k);
	int n = cJSON_GetArraySize(v);
	if (n < 0 || n > MAX_STRV)
		return berth_err_set(err, 0, "%s: %s has too many entries", what, k);
	char **r = calloc((size_t)n + 1, sizeof(*r));
	if (!r)
		return berth_err_set(err, ENOMEM, "%s", what);
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e) || !(r[i] = strdup(e->valuestring))) {
			berth_strv_free(r);
			return berth_err_set(err, cJSON_IsString(e) ? ENOMEM : 0,
					     "%s: %s must be an array of strings", what, k);
		}
		i++;
	}
	*out = r;
	return 0;
}

static int schema_version_2(const cJSON *root, const char *what, struct berth_err *err)
{
	const cJSON *sv = field(root, "schemaVersion");
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2)
		return berth_err_set(err, 0, "%s: schemaVersion must be 2", what);
	return 0;
}

void berth_desc_free(struct berth_desc *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->platform.os);
	free(d->platform.arch);
	free(d->platform.variant);
	free(d->ref_name);
	free(d->containerd_name);
	memset(d, 0, sizeof(*d));
}

static int desc_parse(const cJSON *o, const char *what, const char *role, struct berth_desc *d,
		      struct berth_err *err)
{
	memset(d, 0, sizeof(*d));
	if (!cJSON_IsObject(o))
		return berth_err_set(err, 0, "%s: %s is not a descriptor object", what, role);
	if (no_dup_keys(o, what, err) < 0)
		return -1;
	const cJSON *mt = field(o, "mediaType");
	if (!cJSON_IsString(mt) || !mt->valuestring[0])
		return berth_err_set(err, 0, "%s: %s has no mediaType (required by the OCI image spec)",
				     what, role);
	const cJSON *dg = field(o, "digest");
	if (!cJSON_IsString(dg) || !berth_digest_valid(dg->valuestring))
		return berth_err_set(err, 0,
				     "%s: %s digest %s is not a valid sha256 digest "
				     "(expected \"sha256:\" and 64 lowercase hex digits)",
				     what, role, cJSON_IsString(dg) ? Q(dg->valuestring) : "(missing)");
	const cJSON *sz = field(o, "size");
	if (!cJSON_IsNumber(sz) || !isfinite(sz->valuedouble) || sz->valuedouble < 0 ||
	    sz->valuedouble > 9007199254740992.0 || floor(sz->valuedouble) != sz->valuedouble)
		return berth_err_set(err, 0, "%s: %s %s has no valid size", what, role, dg->valuestring);
	snprintf(d->digest, sizeof(d->digest), "%s", dg->valuestring);
	d->size = (uint64_t)sz->valuedouble;
	if (!(d->media_type = strdup(mt->valuestring)))
		goto oom;
	const cJSON *pf = field(o, "platform");
	if (pf && !cJSON_IsNull(pf)) {
		if (!cJSON_IsObject(pf))
			goto badpf;
		const cJSON *os = field(pf, "os"), *arch = field(pf, "architecture"),
			    *var = field(pf, "variant");
		if (!cJSON_IsString(os) || !cJSON_IsString(arch) ||
		    (var && !cJSON_IsNull(var) && !cJSON_IsString(var)))
			goto badpf;
		d->has_platform = true;
		if (!(d->platform.os = strdup(os->valuestring)) ||
		    !(d->platform.arch = strdup(arch->valuestring)) ||
		    (cJSON_IsString(var) && !(d->platform.variant = strdup(var->valuestring))))
			goto oom;
	}
	const cJSON *an = field(o, "annotations");
	if (an && !cJSON_IsNull(an)) {
		if (!cJSON_IsObject(an)) {
			berth_desc_free(d);
			return berth_err_set(err, 0, "%s: %s %s: annotations must be an object", what,
					     role, dg->valuestring);
		}
		if (opt_string(an, "org.opencontainers.image.ref.name", what, &d->ref_name, err) < 0 ||
		    opt_string(an, "io.containerd.image.name", what, &d->containerd_name, err) < 0) {
			berth_desc_free(d);
			return -1;
		}
	}
	return 0;
badpf:
	berth_desc_free(d);
	return berth_err_set(err, 0, "%s: %s %s: platform needs string os and architecture", what,
			     role, dg->valuestring);
oom:
	berth_desc_free(d);
	return berth_err_set(err, ENOMEM, "%s", what);
}

/* Parse the descriptor array `key` of root into a new array *out (count in
 * *n; partially filled entries are counted so the caller's free releases
 * them).  At most max entries; empty allowed only when allow_empty. */
static int desc_array_parse(const cJSON *root, const char *key, const char *what, int max,
			    bool allow_empty, struct berth_desc **out, size_t *n,
			    struct berth_err *err)
{
	const cJSON *arr = field(root, key);
	if (!cJSON_IsArray(arr))
		return berth_err_set(err, 0, "%s: %s must be an array", what, key);
	int cnt = cJSON_GetArraySize(arr);
	if (cnt > max)
		return berth_err_set(err, 0, "%s: too many %s (%d, limit %d)", what, key, cnt, max);
	if (cnt == 0)
		return allow_empty ? 0 : berth_err_set(err, 0, "%s lists no images", what);
	if (!(*out = calloc((size_t)cnt, sizeof(**out))))
		return berth_err_set(err, ENOMEM, "%s", what);
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		char role[48];
		snprintf(role, sizeof(role), "%s[%zu]", key, *n);
		if (desc_parse(e, what, role, &(*out)[*n], err) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}


static bool is_index_mt(const char *mt)
{
	return mt && (!strcmp(mt, BERTH_MT_OCI_INDEX) || !strcmp(mt, BERTH_MT_DOCKER_LIST));
}
static bool is_manifest_mt(const char *mt)
{
	return mt && (!strcmp(mt, BERTH_MT_OCI_MANIFEST) || !strcmp(mt, BERTH_MT_DOCKER_MANIFEST));
}
static bool is_config_mt(const char *mt)
{
	return mt && (!strcmp(mt, BERTH_MT_OCI_CONFIG) || !strcmp(mt, BERTH_MT_DOCKER_CONFIG));
}

void berth_index_free(struct berth_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n; i++)
		berth_desc_free(&ix->manifests[i]);
	free(ix->manifests);
	memset(ix, 0, sizeof(*ix));
}

int berth_index_parse(const char *json, size_t len, const char *what, struct berth_index *out,
		      struct berth_err *err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_json_ cJSON *root = berth_json_parse(json, len, what, err);
	if (!root)
		return -1;
	if (!cJSON_IsObject(root))
		return berth_err_set(err, 0, "%s: not a JSON object", what);
	if (no_dup_keys(root, what, err) < 0 || schema_version_2(root, what, err) < 0)
		return -1;
	const cJSON *mt = field(root, "mediaType");
	if (mt && !(cJSON_IsString(mt) && is_index_mt(mt->valuestring)))
		return berth_err_set(err, 0, "%s: mediaType %s is not an image index", what,
				     cJSON_IsString(mt) ? Q(mt->valuestring) : "(not a string)");
	/* An index must not look like a manifest (CVE-2021-41190). */
	if (field(root, "config") || field(root, "layers"))
		return berth_err_set(err, 0, "%s: an image index must not have config or layers "
				     "(is it a manifest?)", what);
	if (desc_array_parse(root, "manifests", what, MAX_DESCRIPTORS, false, &out->manifests,
			     &out->n, err) < 0) {
		berth_index_free(out);
		return -1;
	}
	return 0;
}

void berth_manifest_free(struct berth_manifest *m)
{
	if (!m)
		return;
	berth_desc_free(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		berth_desc_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

int berth_manifest_parse(const char *json, size_t len, const char *what, const char *expected_mt,
			 struct berth_manifest *out, struct berth_err *err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_json_ cJSON *root = berth_json_parse(json, len, what, err);
	if (!root)
		return -1;
	if (!cJSON_IsObject(root))
		return berth_err_set(err, 0, "%s: not a JSON object", what);
	if (no_dup_keys(root, what, err) < 0 || schema_version_2(root, what, err) < 0)
		return -1;
	const cJSON *mt = field(root, "mediaType");
	if (mt && !(cJSON_IsString(mt) && is_manifest_mt(mt->valuestring)))
		return berth_err_set(err, 0, "%s: mediaType %s is not an image manifest", what,
				     cJSON_IsString(mt) ? Q(mt->valuestring) : "(not a string)");
	if (mt && expected_mt && strcmp(mt->valuestring, expected_mt))
		return berth_err_set(err, 0, "%s: mediaType %s differs from its descriptor's %s",
				     what, Q(mt->valuestring), Q(expected_mt));
	if (field(root, "manifests"))
		return berth_err_set(err, 0, "%s: an image manifest must not have manifests "
				     "(is it an index?)", what);
	if (desc_parse(field(root, "config"), what, "config", &out->config, err) < 0)
		return -1;
	if (!is_config_mt(out->config.media_type)) {
		berth_err_set(err, 0,
			      "%s: config %s has media type %s, not an image config "
			      "(this is not a container image)",
			      what, out->config.digest, Q(out->config.media_type));
		berth_manifest_free(out);
		return -1;
	}
	if (desc_array_parse(root, "layers", what, MAX_LAYERS, true, &out->layers, &out->nlayers,
			     err) < 0) {
		berth_manifest_free(out);
		return -1;
	}
	return 0;
}

void berth_image_config_clear(struct berth_image_config *c)
{
	berth_strv_free(c->entrypoint);
	berth_strv_free(c->cmd);
	berth_strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	free(c->stop_signal);
	memset(c, 0, sizeof(*c));
}

void berth_config_free(struct berth_config *c)
{
	if (!c)
		return;
	free(c->os);
	free(c->arch);
	free(c->variant);
	free(c->diff_ids);
	berth_image_config_clear(&c->cfg);
	memset(c, 0, sizeof(*c));
}

static int config_parse_inner(const cJSON *root, const char *what, struct berth_config *out,
			      struct berth_err *err)
{
	if (!cJSON_IsObject(root))
		return berth_err_set(err, 0, "%s: not a JSON object", what);
	if (no_dup_keys(root, what, err) < 0)
		return -1;
	if (opt_string(root, "os", what, &out->os, err) < 0 ||
	    opt_string(root, "architecture", what, &out->arch, err) < 0 ||
	    opt_string(root, "variant", what, &out->variant, err) < 0)
		return -1;
	const cJSON *rootfs = field(root, "rootfs");
	if (!cJSON_IsObject(rootfs))
		return berth_err_set(err, 0, "%s: rootfs is missing", what);
	const cJSON *type = field(rootfs, "type");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "layers"))
		return berth_err_set(err, 0, "%s: rootfs.type is %s, expected \"layers\"", what,
				     cJSON_IsString(type) ? Q(type->valuestring) : "missing");
	const cJSON *ids = field(rootfs, "diff_ids");
	if (!cJSON_IsArray(ids))
		return berth_err_set(err, 0, "%s: rootfs.diff_ids must be an array", what);
	int n = cJSON_GetArraySize(ids);
	if (n > MAX_LAYERS)
		return berth_err_set(err, 0, "%s: too many diff_ids (%d, limit %d)", what, n, MAX_LAYERS);
	if (n > 0 && !(out->diff_ids = calloc((size_t)n, sizeof(*out->diff_ids))))
		return berth_err_set(err, ENOMEM, "%s", what);
	const cJSON *e;
	cJSON_ArrayForEach(e, ids) {
		if (!cJSON_IsString(e) || !berth_digest_valid(e->valuestring))
			return berth_err_set(err, 0,
					     "%s: rootfs.diff_ids[%zu] %s is not a valid sha256 digest",
					     what, out->ndiff_ids,
					     cJSON_IsString(e) ? Q(e->valuestring) : "(not a string)");
		snprintf(out->diff_ids[out->ndiff_ids++], BERTH_DIGEST_MAX, "%s", e->valuestring);
	}
	const cJSON *cfg = field(root, "config");
	if (!cfg || cJSON_IsNull(cfg))
		return 0;
	if (!cJSON_IsObject(cfg))
		return berth_err_set(err, 0, "%s: config must be an object", what);
	struct berth_image_config *c = &out->cfg;
	if (opt_strv(cfg, "Entrypoint", what, &c->entrypoint, err) < 0 ||
	    opt_strv(cfg, "Cmd", what, &c->cmd, err) < 0 || opt_strv(cfg, "Env", what, &c->env, err) < 0 ||
	    opt_string(cfg, "WorkingDir", what, &c->working_dir, err) < 0 ||
	    opt_string(cfg, "User", what, &c->user, err) < 0 ||
	    opt_string(cfg, "StopSignal", what, &c->stop_signal, err) < 0)
		return -1;
	return 0;
}

int berth_config_parse(const char *json, size_t len, const char *what, struct berth_config *out,
		       struct berth_err *err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_json_ cJSON *root = berth_json_parse(json, len, what, err);
	if (!root)
		return -1;
	if (config_parse_inner(root, what, out, err) < 0) {
		berth_config_free(out);
		return -1;
	}
	return 0;
}

static bool platform_ok(const char *os, const char *arch)
{
	return os && arch && !strcmp(os, BERTH_PLATFORM_OS) && !strcmp(arch, BERTH_PLATFORM_ARCH);
}

int berth_image_check(const struct berth_manifest *m, const struct berth_config *c,
		      const char *what, struct berth_err *err)
{
	if ((c->os || c->arch) && !platform_ok(c->os, c->arch))
		return berth_err_set(err, 0, "%s is a %s/%s image; berth runs %s/%s images", what,
				     c->os ? c->os : "?", c->arch ? c->arch : "?", BERTH_PLATFORM_OS,
				     BERTH_PLATFORM_ARCH);
	if (m && m->nlayers != c->ndiff_ids)
		return berth_err_set(err, 0,
				     "%s: the manifest lists %zu layers but the config's "
				     "rootfs.diff_ids has %zu",
				     what, m->nlayers, c->ndiff_ids);
	return 0;
}

static void resolved_clear(struct berth_resolved *r)
{
	free(r->ref_name);
	free(r->containerd_name);
	berth_desc_free(&r->manifest_desc);
	free(r->manifest_json);
	berth_manifest_free(&r->manifest);
	free(r->config_json);
	berth_config_free(&r->config);
	memset(r, 0, sizeof(*r));
}

void berth_resolved_free(struct berth_resolved *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		resolved_clear(&r[i]);
	free(r);
}

struct resolve_ctx {
	berth_blob_read_fn rd;
	void *ctx;
	const char *what;
	size_t total;    /* bytes of documents read so far */
	char found[256]; /* other platforms seen, for the error message */
};

/* Read through the caller's reader, keeping the sum under BERTH_JSON_TOTAL_MAX
 * (an index may point at the same large blob thousands of times). */
static int rc_read(struct resolve_ctx *rc, const struct berth_desc *d, char **out, size_t *len,
		   struct berth_err *err)
{
	if (d->size > BERTH_JSON_TOTAL_MAX - rc->total)
		return berth_err_set(err, 0, "%s: the image metadata exceeds %u bytes in total",
				     rc->what, BERTH_JSON_TOTAL_MAX);
	if (rc->rd(rc->ctx, d, BERTH_JSON_MAX, out, len, err) < 0)
		return -1;
	rc->total += *len;
	return 0;
}

static void note_platform(struct resolve_ctx *rc, const char *os, const char *arch,
			  const char *variant)
{
	char p[96];
	snprintf(p, sizeof(p), "%s/%s%s%s", os ? os : "?", arch ? arch : "?", variant ? "/" : "",
		 variant ? variant : "");
	for (char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f || *c == ',')
			*c = '?';
	if (strstr(rc->found, p))
		return;
	size_t l = strlen(rc->found);
	snprintf(rc->found + l, sizeof(rc->found) - l, "%s%s", l ? ", " : "", p);
}

static int copy_desc(struct berth_desc *dst, const struct berth_desc *src, struct berth_err *err)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->digest, src->digest, sizeof(dst->digest));
	dst->size = src->size;
	if (!(dst->media_type = strdup(src->media_type)))
		return berth_err_set(err, ENOMEM, "out of memory");
	return 0;
}

/* 1 = found (r filled), 0 = no linux/amd64 manifest here, -1 = error. */
static int resolve_desc(struct resolve_ctx *rc, const struct berth_desc *d, int depth,
			struct berth_resolved *r, struct berth_err *err)
{
	if (d->has_platform && !platform_ok(d->platform.os, d->platform.arch)) {
		note_platform(rc, d->platform.os, d->platform.arch, d->platform.variant);
		return 0;
	}
	if (is_index_mt(d->media_type)) {
		if (depth >= BERTH_INDEX_MAX_DEPTH)
			return berth_err_set(err, 0, "%s: indexes nested more than %d deep at %s",
					     rc->what, BERTH_INDEX_MAX_DEPTH, d->digest);
		char what[128];
		snprintf(what, sizeof(what), "index %s", d->digest);
		_cleanup_free_ char *json = NULL;
		size_t len = 0;
		if (rc_read(rc, d, &json, &len, err) < 0)
			return berth_err_wrap(err, "index");
		struct berth_index ix;
		if (berth_index_parse(json, len, what, &ix, err) < 0)
			return -1;
		int rv = 0;
		for (size_t i = 0; i < ix.n && rv == 0; i++) {
			if (!is_index_mt(ix.manifests[i].media_type) &&
			    !is_manifest_mt(ix.manifests[i].media_type))
				continue; /* attestations, artifacts: not images */
			rv = resolve_desc(rc, &ix.manifests[i], depth + 1, r, err);
		}
		berth_index_free(&ix);
		return rv;
	}
	if (!is_manifest_mt(d->media_type))
		return berth_err_set(err, 0, "%s: %s has media type %s, not an image manifest or index",
				     rc->what, d->digest, Q(d->media_type));
	char what[128];
	snprintf(what, sizeof(what), "manifest %s", d->digest);
	struct berth_resolved t = {0};
	if (copy_desc(&t.manifest_desc, d, err) < 0)
		return -1;
	if (rc_read(rc, d, &t.manifest_json, &t.manifest_len, err) < 0) {
		berth_err_wrap(err, "manifest");
		goto fail;
	}
	if (berth_manifest_parse(t.manifest_json, t.manifest_len, what, d->media_type, &t.manifest,
				 err) < 0)
		goto fail;
	char cwhat[128];
	snprintf(cwhat, sizeof(cwhat), "config %s", t.manifest.config.digest);
	if (rc_read(rc, &t.manifest.config, &t.config_json, &t.config_len, err) < 0) {
		berth_err_wrap(err, "config");
		goto fail;
	}
	if (berth_config_parse(t.config_json, t.config_len, cwhat, &t.config, err) < 0)
		goto fail;
	if (!d->has_platform && !platform_ok(t.config.os, t.config.arch)) {
		note_platform(rc, t.config.os, t.config.arch, t.config.variant);
		resolved_clear(&t);
		return 0;
	}
	if (berth_image_check(&t.manifest, &t.config, what, err) < 0)
		goto fail;
	*r = t;
	return 1;
fail:
	resolved_clear(&t);
	return -1;
}

int berth_index_resolve(const char *index_json, size_t len, const char *what,
			berth_blob_read_fn rd, void *ctx, struct berth_resolved **out, size_t *n,
			struct berth_err *err)
{
	*out = NULL;
	*n = 0;
	struct berth_index ix;
	if (berth_index_parse(index_json, len, what, &ix, err) < 0)
		return -1;
	struct resolve_ctx rc = {.rd = rd, .ctx = ctx, .what = what};
	struct berth_resolved *res = calloc(ix.n, sizeof(*res));
	size_t nres = 0;
	if (!res) {
		berth_index_free(&ix);
		return berth_err_set(err, ENOMEM, "%s", what);
	}
	for (size_t i = 0; i < ix.n; i++) {
		const struct berth_desc *d = &ix.manifests[i];
		int rv = resolve_desc(&rc, d, 0, &res[nres], err);
		if (rv < 0)
			goto fail;
		if (rv == 0)
			continue;
		struct berth_resolved *r = &res[nres++];
		if ((d->ref_name && !(r->ref_name = strdup(d->ref_name))) ||
		    (d->containerd_name && !(r->containerd_name = strdup(d->containerd_name)))) {
			berth_err_set(err, ENOMEM, "%s", what);
			goto fail;
		}
	}
	if (nres == 0) {
		berth_err_set(err, 0, "%s has no %s/%s image (found: %s); berth runs only %s/%s images",
			      what, BERTH_PLATFORM_OS, BERTH_PLATFORM_ARCH,
			      rc.found[0] ? rc.found : "nothing", BERTH_PLATFORM_OS, BERTH_PLATFORM_ARCH);
		goto fail;
	}
	berth_index_free(&ix);
	*out = res;
	*n = nres;
	return 0;
fail:
	berth_resolved_free(res, nres);
	berth_index_free(&ix);
	return -1;
}
