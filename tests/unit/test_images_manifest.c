/* Unit tests for images/manifest.h (index / manifest / config parsing,
 * platform selection, names, image-ID lookup) and the store's lookup and
 * rootfs assembly (the latter as root only). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"
#include "images/images.h"
#include "images/manifest.h"
#include "images/store.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DIG_A "sha256:" HEX_A
#define DIG_B "sha256:" HEX_B

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("%s\n  does not contain: %s", hay, needle);
}

/* ---- an in-memory blob store for berth_index_resolve -------------------- */

struct mem_blob {
	char digest[BERTH_DIGEST_MAX];
	char *data;
	size_t len;
};
static struct mem_blob blobs[64];
static size_t nblobs;
static unsigned reads;

static void blobs_reset(void)
{
	for (size_t i = 0; i < nblobs; i++)
		free(blobs[i].data);
	nblobs = 0;
	reads = 0;
}

/* Store json; returns its digest (static storage inside the table). */
static const char *put(const char *json)
{
	char hex[65];
	struct berth_err err = {0};
	assert_int_equal(berth_sha256_buf_hex(json, strlen(json), hex, &err), 0);
	assert_true(nblobs < 64);
	struct mem_blob *b = &blobs[nblobs++];
	snprintf(b->digest, sizeof(b->digest), "sha256:%s", hex);
	b->data = strdup(json);
	b->len = strlen(json);
	return b->digest;
}

static size_t size_of(const char *digest)
{
	for (size_t i = 0; i < nblobs; i++)
		if (!strcmp(blobs[i].digest, digest))
			return blobs[i].len;
	return 12345;
}

static int mem_read(void *ctx, const struct berth_desc *d, size_t max, char **out, size_t *len,
		    struct berth_err *err)
{
	(void)ctx;
	reads++;
	for (size_t i = 0; i < nblobs; i++) {
		if (strcmp(blobs[i].digest, d->digest))
			continue;
		if (blobs[i].len != d->size)
			return berth_err_set(err, 0, "blob %s size mismatch", d->digest);
		if (blobs[i].len > max)
			return berth_err_set(err, 0, "blob %s too large", d->digest);
		*out = strdup(blobs[i].data);
		*len = blobs[i].len;
		return 0;
	}
	return berth_err_set(err, 0, "blob %s is missing", d->digest);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	assert_true(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

static const char *config_json(const char *arch, int nlayers)
{
	char ids[1024] = "";
	for (int i = 0; i < nlayers; i++)
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s\"%s\"", i ? "," : "",
			 i % 2 ? DIG_B : DIG_A);
	_cleanup_free_ char *j = fmt("{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{"
				     "\"Cmd\":[\"/bin/sh\"],\"Env\":[\"A=1\"]},"
				     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
				     arch, ids);
	return put(j);
}

/* A manifest with nlayers gzip layers, for a config of arch. */
static const char *manifest_json(const char *arch, int nlayers)
{
	const char *cfg = config_json(arch, nlayers);
	char layers[2048] = "";
	for (int i = 0; i < nlayers; i++)
		snprintf(layers + strlen(layers), sizeof(layers) - strlen(layers),
			 "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
			 "\"digest\":\"%s\",\"size\":10}",
			 i ? "," : "", i % 2 ? DIG_A : DIG_B);
	_cleanup_free_ char *j = fmt("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
				     "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
				     "\"layers\":[%s]}",
				     BERTH_MT_OCI_MANIFEST, BERTH_MT_OCI_CONFIG, cfg, size_of(cfg), layers);
	return put(j);
}

/* A descriptor; arch NULL = no platform, name NULL = no annotation. */
static char *desc(const char *mt, const char *digest, const char *arch, const char *name)
{
	_cleanup_free_ char *pf = arch ? fmt(",\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}", arch)
				       : strdup("");
	_cleanup_free_ char *an = name ? fmt(",\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}",
					     name)
				       : strdup("");
	return fmt("{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu%s%s}", mt, digest,
		   size_of(digest), pf, an);
}

static char *index_of(const char *descs)
{
	return fmt("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[%s]}", BERTH_MT_OCI_INDEX,
		   descs);
}

static int resolve(const char *index, struct berth_resolved **r, size_t *n, struct berth_err *err)
{
	return berth_index_resolve(index, strlen(index), "index.json", mem_read, NULL, r, n, err);
}

/* ---- index ---------------------------------------------------------------- */

static int parse_index(const char *json, struct berth_err *err)
{
	struct berth_index ix;
	int rv = berth_index_parse(json, strlen(json), "index.json", &ix, err);
	if (rv == 0)
		berth_index_free(&ix);
	return rv;
}

static void test_index_valid(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_index ix;
	const char *j = "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_INDEX "\",\"manifests\":["
			"{\"mediaType\":\"" BERTH_MT_OCI_MANIFEST "\",\"digest\":\"" DIG_A "\",\"size\":7,"
			"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"},"
			"\"annotations\":{\"org.opencontainers.image.ref.name\":\"x:1\","
			"\"io.containerd.image.name\":\"docker.io/library/x:1\"}}]}";
	assert_int_equal(berth_index_parse(j, strlen(j), "index.json", &ix, &err), 0);
	assert_int_equal(ix.n, 1);
	assert_string_equal(ix.manifests[0].digest, DIG_A);
	assert_int_equal(ix.manifests[0].size, 7);
	assert_true(ix.manifests[0].has_platform);
	assert_string_equal(ix.manifests[0].platform.arch, "arm64");
	assert_string_equal(ix.manifests[0].platform.variant, "v8");
	assert_string_equal(ix.manifests[0].ref_name, "x:1");
	assert_string_equal(ix.manifests[0].containerd_name, "docker.io/library/x:1");
	berth_index_free(&ix);
	/* mediaType at the top is optional (the spec says SHOULD) */
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" BERTH_MT_OCI_MANIFEST
				     "\",\"digest\":\"" DIG_A "\",\"size\":1}]}", &err), 0);
}

static void test_index_media_type(void **state)
{
	(void)state;
	struct berth_err err = {0};
	/* a descriptor without mediaType */
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" DIG_A
				     "\",\"size\":1}]}", &err), -1);
	assert_contains(err.msg, "manifests[0] has no mediaType");
	assert_contains(err.msg, "index.json");
	/* the wrong document type */
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_MANIFEST
				     "\",\"manifests\":[]}", &err), -1);
	assert_contains(err.msg, "is not an image index");
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"mediaType\":7,\"manifests\":[]}", &err), -1);
	/* an index that is also a manifest (CVE-2021-41190) */
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"config\":{},\"manifests\":[{\"mediaType\":\""
				     BERTH_MT_OCI_MANIFEST "\",\"digest\":\"" DIG_A "\",\"size\":1}]}",
				     &err), -1);
	assert_contains(err.msg, "must not have config or layers");
	/* schemaVersion */
	assert_int_equal(parse_index("{\"manifests\":[]}", &err), -1);
	assert_contains(err.msg, "schemaVersion");
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"manifests\":[]}", &err), -1);
	assert_contains(err.msg, "lists no images");
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"manifests\":{}}", &err), -1);
}

static void test_bad_digests(void **state)
{
	(void)state;
	static const char *bad[] = {
		"sha256:../../x",
		"sha256:" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"sha256:" HEX_A "a",
		"sha256:abc",
		"sha512:" HEX_A,
		"../blobs/sha256/" HEX_A,
		"sha256:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct berth_err err = {0};
		_cleanup_free_ char *j = fmt("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","
					     "\"digest\":\"%s\",\"size\":1}]}",
					     BERTH_MT_OCI_MANIFEST, bad[i]);
		assert_int_equal(parse_index(j, &err), -1);
		assert_contains(err.msg, "is not a valid sha256 digest");
		assert_null(strchr(err.msg, '\n'));
	}
	struct berth_err err = {0};
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" BERTH_MT_OCI_MANIFEST
				     "\",\"digest\":\"sha256:\\n\\u0001evil\",\"size\":1}]}", &err), -1);
	assert_null(strchr(err.msg, '\n'));
	/* sizes */
	static const char *sizes[] = {"-1", "1.5", "1e300", "\"12\"", "null"};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		_cleanup_free_ char *j = fmt("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","
					     "\"digest\":\"%s\",\"size\":%s}]}",
					     BERTH_MT_OCI_MANIFEST, DIG_A, sizes[i]);
		assert_int_equal(parse_index(j, &err), -1);
		assert_contains(err.msg, "no valid size");
	}
}

static void test_json_garbage(void **state)
{
	(void)state;
	struct berth_err err = {0};
	static const char *garbage[] = {"", "{", "nul", "{\"schemaVersion\":2,}", "[1,2",
					"{\"schemaVersion\":2,\"manifests\":[]} trailing", "\xff\xfe"};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		assert_int_equal(parse_index(garbage[i], &err), -1);
		assert_contains(err.msg, "index.json");
	}
	assert_int_equal(parse_index("[]", &err), -1);
	assert_contains(err.msg, "not a JSON object");
	/* duplicate keys could make two parsers see two documents */
	assert_int_equal(parse_index("{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", &err), -1);
	assert_contains(err.msg, "appears twice");
	/* deep nesting is refused by cJSON, not a stack overflow */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 1);
	assert_non_null(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	assert_int_equal(parse_index(deep, &err), -1);
	free(deep);
}

static void test_json_huge(void **state)
{
	(void)state;
	struct berth_err err = {0};
	size_t n = BERTH_JSON_MAX + 16;
	char *huge = malloc(n + 1);
	assert_non_null(huge);
	memset(huge, ' ', n);
	huge[0] = '{';
	huge[n - 1] = '}';
	huge[n] = '\0';
	assert_int_equal(parse_index(huge, &err), -1);
	assert_contains(err.msg, "too large");
	struct berth_manifest m;
	assert_int_equal(berth_manifest_parse(huge, n, "manifest x", NULL, &m, &err), -1);
	assert_contains(err.msg, "too large");
	struct berth_config c;
	assert_int_equal(berth_config_parse(huge, n, "config x", &c, &err), -1);
	assert_contains(err.msg, "too large");
	free(huge);
	/* many descriptors */
	size_t cnt = 5000, cap = cnt * 220 + 100, o = 0;
	char *many = malloc(cap);
	assert_non_null(many);
	o += (size_t)snprintf(many, cap, "{\"schemaVersion\":2,\"manifests\":[");
	for (size_t i = 0; i < cnt; i++)
		o += (size_t)snprintf(many + o, cap - o, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1}",
				      i ? "," : "", BERTH_MT_OCI_MANIFEST, DIG_A);
	snprintf(many + o, cap - o, "]}");
	assert_int_equal(parse_index(many, &err), -1);
	assert_contains(err.msg, "too many manifests");
	free(many);
}

/* ---- manifest ------------------------------------------------------------- */

static int parse_manifest(const char *json, const char *expect_mt, struct berth_err *err)
{
	struct berth_manifest m;
	int rv = berth_manifest_parse(json, strlen(json), "manifest " DIG_A, expect_mt, &m, err);
	if (rv == 0)
		berth_manifest_free(&m);
	return rv;
}

#define CFG_DESC "{\"mediaType\":\"" BERTH_MT_OCI_CONFIG "\",\"digest\":\"" DIG_B "\",\"size\":3}"
#define LAYER_DESC(mt) "{\"mediaType\":\"" mt "\",\"digest\":\"" DIG_A "\",\"size\":5}"

static void test_manifest(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_manifest m;
	const char *j = "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_MANIFEST "\",\"config\":" CFG_DESC
			",\"layers\":[" LAYER_DESC("application/vnd.oci.image.layer.v1.tar+gzip") ","
			LAYER_DESC("application/x-unknown") "]}";
	assert_int_equal(berth_manifest_parse(j, strlen(j), "m", BERTH_MT_OCI_MANIFEST, &m, &err), 0);
	assert_string_equal(m.config.digest, DIG_B);
	assert_int_equal(m.nlayers, 2);
	/* unknown layer types parse; the loader refuses them naming the blob */
	assert_string_equal(m.layers[1].media_type, "application/x-unknown");
	berth_manifest_free(&m);
	/* docker's media types */
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_DOCKER_MANIFEST
					"\",\"config\":{\"mediaType\":\"" BERTH_MT_DOCKER_CONFIG "\",\"digest\":\""
					DIG_B "\",\"size\":3},\"layers\":[]}", BERTH_MT_DOCKER_MANIFEST, &err), 0);
}

static void test_manifest_invalid(void **state)
{
	(void)state;
	struct berth_err err = {0};
	/* the document's type differs from its descriptor's */
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_DOCKER_MANIFEST
					"\",\"config\":" CFG_DESC ",\"layers\":[]}", BERTH_MT_OCI_MANIFEST, &err), -1);
	assert_contains(err.msg, "differs from its descriptor");
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_INDEX
					"\",\"config\":" CFG_DESC ",\"layers\":[]}", NULL, &err), -1);
	assert_contains(err.msg, "is not an image manifest");
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"config\":" CFG_DESC
					",\"layers\":[],\"manifests\":[]}", NULL, &err), -1);
	assert_contains(err.msg, "must not have manifests");
	/* an artifact, not an image */
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"config\":{\"mediaType\":"
					"\"application/vnd.cncf.helm.config.v1+json\",\"digest\":\"" DIG_B
					"\",\"size\":3},\"layers\":[]}", NULL, &err), -1);
	assert_contains(err.msg, "not an image config");
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"config\":" CFG_DESC "}", NULL, &err), -1);
	assert_contains(err.msg, "layers must be an array");
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[{\"digest\":\""
					DIG_A "\",\"size\":1}]}", NULL, &err), -1);
	assert_contains(err.msg, "layers[0] has no mediaType");
	assert_int_equal(parse_manifest("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" BERTH_MT_OCI_CONFIG
					"\",\"digest\":\"sha256:../../etc/passwd\",\"size\":3},\"layers\":[]}",
					NULL, &err), -1);
	assert_contains(err.msg, "config digest");
	assert_int_equal(parse_manifest("{\"schemaVersion\":1,\"config\":" CFG_DESC ",\"layers\":[]}", NULL, &err), -1);
}

/* ---- config --------------------------------------------------------------- */

static int parse_config(const char *json, struct berth_config *c, struct berth_err *err)
{
	return berth_config_parse(json, strlen(json), "config " DIG_B, c, err);
}

static void test_config(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_config c;
	assert_int_equal(parse_config("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
				      "\"Entrypoint\":[\"/e\",\"x\"],\"Cmd\":null,\"Env\":[\"PATH=/bin\",\"A=b=c\"],"
				      "\"WorkingDir\":\"/w\",\"User\":\"app:1\",\"StopSignal\":\"SIGINT\","
				      "\"Labels\":{\"a\":\"b\"}},\"history\":[{}],"
				      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIG_A "\",\"" DIG_B "\"]}}",
				      &c, &err), 0);
	assert_string_equal(c.arch, "amd64");
	assert_int_equal(c.ndiff_ids, 2);
	assert_string_equal(c.diff_ids[1], DIG_B);
	assert_string_equal(c.cfg.entrypoint[1], "x");
	assert_null(c.cfg.entrypoint[2]);
	assert_null(c.cfg.cmd);
	assert_string_equal(c.cfg.env[1], "A=b=c");
	assert_string_equal(c.cfg.working_dir, "/w");
	assert_string_equal(c.cfg.user, "app:1");
	assert_string_equal(c.cfg.stop_signal, "SIGINT");
	assert_int_equal(berth_image_check(NULL, &c, "image x", &err), 0);
	berth_config_free(&c);
	/* no config object at all is fine (FROM scratch) */
	assert_int_equal(parse_config("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", &c, &err), 0);
	assert_null(c.cfg.cmd);
	berth_config_free(&c);
}

static void test_config_invalid(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_config c;
	assert_int_equal(parse_config("{\"rootfs\":{\"type\":\"tarballs\",\"diff_ids\":[]}}", &c, &err), -1);
	assert_contains(err.msg, "rootfs.type is \"tarballs\", expected \"layers\"");
	assert_int_equal(parse_config("{\"rootfs\":{\"diff_ids\":[]}}", &c, &err), -1);
	assert_contains(err.msg, "rootfs.type");
	assert_int_equal(parse_config("{}", &c, &err), -1);
	assert_contains(err.msg, "rootfs is missing");
	assert_int_equal(parse_config("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:../x\"]}}",
				      &c, &err), -1);
	assert_contains(err.msg, "diff_ids[0]");
	assert_int_equal(parse_config("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIG_A "\",3]}}",
				      &c, &err), -1);
	assert_contains(err.msg, "diff_ids[1]");
	assert_int_equal(parse_config("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":\"x\"}}", &c, &err), -1);
	assert_int_equal(parse_config("{\"config\":{\"Cmd\":\"/bin/sh\"},\"rootfs\":{\"type\":\"layers\","
				      "\"diff_ids\":[]}}", &c, &err), -1);
	assert_contains(err.msg, "Cmd must be an array of strings");
	assert_int_equal(parse_config("{\"config\":{\"Env\":[1]},\"rootfs\":{\"type\":\"layers\","
				      "\"diff_ids\":[]}}", &c, &err), -1);
	assert_int_equal(parse_config("{\"config\":{\"User\":0},\"rootfs\":{\"type\":\"layers\","
				      "\"diff_ids\":[]}}", &c, &err), -1);
	assert_contains(err.msg, "User must be a string");
}

static void test_layer_count_and_platform(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_config c;
	struct berth_manifest m;
	const char *mj = "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":["
			 LAYER_DESC("application/vnd.oci.image.layer.v1.tar") "]}";
	assert_int_equal(berth_manifest_parse(mj, strlen(mj), "m", NULL, &m, &err), 0);
	assert_int_equal(parse_config("{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":"
				      "\"layers\",\"diff_ids\":[\"" DIG_A "\",\"" DIG_B "\"]}}", &c, &err), 0);
	assert_int_equal(berth_image_check(&m, &c, "manifest " DIG_A, &err), -1);
	assert_contains(err.msg, "lists 1 layers but the config's rootfs.diff_ids has 2");
	berth_config_free(&c);
	assert_int_equal(parse_config("{\"os\":\"linux\",\"architecture\":\"arm64\",\"rootfs\":{\"type\":"
				      "\"layers\",\"diff_ids\":[\"" DIG_A "\"]}}", &c, &err), 0);
	assert_int_equal(berth_image_check(&m, &c, "image x", &err), -1);
	assert_contains(err.msg, "linux/arm64");
	berth_config_free(&c);
	berth_manifest_free(&m);
}

/* ---- resolution and platform selection ------------------------------------ */

static void test_resolve_simple(void **state)
{
	(void)state;
	blobs_reset();
	struct berth_err err = {0};
	const char *m = manifest_json("amd64", 2);
	_cleanup_free_ char *d = desc(BERTH_MT_OCI_MANIFEST, m, "amd64", "app:1");
	_cleanup_free_ char *ix = index_of(d);
	struct berth_resolved *r = NULL;
	size_t n = 0;
	assert_int_equal(resolve(ix, &r, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].ref_name, "app:1");
	assert_string_equal(r[0].manifest_desc.digest, m);
	assert_int_equal(r[0].manifest.nlayers, 2);
	assert_int_equal(r[0].config.ndiff_ids, 2);
	assert_string_equal(r[0].config.cfg.cmd[0], "/bin/sh");
	berth_resolved_free(r, n);
	blobs_reset();
}

static void test_resolve_platforms(void **state)
{
	(void)state;
	blobs_reset();
	struct berth_err err = {0};
	const char *arm = manifest_json("arm64", 1), *amd = manifest_json("amd64", 1);
	_cleanup_free_ char *da = desc(BERTH_MT_OCI_MANIFEST, arm, "arm64", "app:1");
	_cleanup_free_ char *db = desc(BERTH_MT_OCI_MANIFEST, amd, "amd64", "app:1");
	_cleanup_free_ char *both = fmt("%s,%s", da, db);
	_cleanup_free_ char *ix = index_of(both);
	struct berth_resolved *r = NULL;
	size_t n = 0;
	reads = 0;
	assert_int_equal(resolve(ix, &r, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].manifest_desc.digest, amd);
	assert_int_equal(reads, 2); /* the arm64 manifest is never read */
	berth_resolved_free(r, n);
	/* only arm64: the error names what was found */
	_cleanup_free_ char *ix2 = index_of(da);
	assert_int_equal(resolve(ix2, &r, &n, &err), -1);
	assert_contains(err.msg, "no linux/amd64 image");
	assert_contains(err.msg, "found: linux/arm64");
	/* no platform on the descriptor: the config decides */
	_cleanup_free_ char *dn = desc(BERTH_MT_OCI_MANIFEST, arm, NULL, NULL);
	_cleanup_free_ char *ix3 = index_of(dn);
	assert_int_equal(resolve(ix3, &r, &n, &err), -1);
	assert_contains(err.msg, "found: linux/arm64");
	_cleanup_free_ char *dn2 = desc(BERTH_MT_OCI_MANIFEST, amd, NULL, NULL);
	_cleanup_free_ char *ix4 = index_of(dn2);
	assert_int_equal(resolve(ix4, &r, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_null(r[0].ref_name);
	berth_resolved_free(r, n);
	blobs_reset();
}

static void test_resolve_nested(void **state)
{
	(void)state;
	blobs_reset();
	struct berth_err err = {0};
	const char *arm = manifest_json("arm64", 1), *amd = manifest_json("amd64", 3);
	_cleanup_free_ char *da = desc(BERTH_MT_OCI_MANIFEST, arm, "arm64", NULL);
	_cleanup_free_ char *db = desc(BERTH_MT_OCI_MANIFEST, amd, "amd64", NULL);
	/* an attestation-like entry inside a nested index is skipped */
	_cleanup_free_ char *dx = fmt("{\"mediaType\":\"application/vnd.example+json\",\"digest\":\"%s\","
				      "\"size\":1}", DIG_A);
	_cleanup_free_ char *inner_list = fmt("%s,%s,%s", dx, da, db);
	_cleanup_free_ char *inner = index_of(inner_list);
	const char *inner_d = put(inner);
	_cleanup_free_ char *top = desc(BERTH_MT_OCI_INDEX, inner_d, NULL, "multi:2");
	_cleanup_free_ char *ix = index_of(top);
	struct berth_resolved *r = NULL;
	size_t n = 0;
	assert_int_equal(resolve(ix, &r, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].ref_name, "multi:2");
	assert_string_equal(r[0].manifest_desc.digest, amd);
	assert_int_equal(r[0].manifest.nlayers, 3);
	berth_resolved_free(r, n);
	/* nested without amd64 */
	_cleanup_free_ char *inner2 = index_of(da);
	const char *inner2_d = put(inner2);
	_cleanup_free_ char *top2 = desc(BERTH_MT_OCI_INDEX, inner2_d, NULL, NULL);
	_cleanup_free_ char *ix2 = index_of(top2);
	assert_int_equal(resolve(ix2, &r, &n, &err), -1);
	assert_contains(err.msg, "found: linux/arm64");
	/* too deep: index -> index -> ... */
	const char *cur = amd;
	const char *mt = BERTH_MT_OCI_MANIFEST;
	for (int i = 0; i < BERTH_INDEX_MAX_DEPTH + 1; i++) {
		_cleanup_free_ char *dd = desc(mt, cur, NULL, NULL);
		_cleanup_free_ char *ii = index_of(dd);
		cur = put(ii);
		mt = BERTH_MT_OCI_INDEX;
	}
	_cleanup_free_ char *dd = desc(BERTH_MT_OCI_INDEX, cur, NULL, NULL);
	_cleanup_free_ char *deep = index_of(dd);
	assert_int_equal(resolve(deep, &r, &n, &err), -1);
	assert_contains(err.msg, "nested more than");
	blobs_reset();
}

static void test_resolve_errors(void **state)
{
	(void)state;
	blobs_reset();
	struct berth_err err = {0};
	struct berth_resolved *r = NULL;
	size_t n = 0;
	/* a missing manifest blob */
	_cleanup_free_ char *d1 = desc(BERTH_MT_OCI_MANIFEST, DIG_A, "amd64", NULL);
	_cleanup_free_ char *ix1 = index_of(d1);
	assert_int_equal(resolve(ix1, &r, &n, &err), -1);
	assert_contains(err.msg, DIG_A);
	/* an unknown type at the top */
	_cleanup_free_ char *ix2 = index_of("{\"mediaType\":\"text/plain\",\"digest\":\"" DIG_A "\",\"size\":1}");
	assert_int_equal(resolve(ix2, &r, &n, &err), -1);
	assert_contains(err.msg, "\"text/plain\", not an image manifest or index");
	/* a manifest whose config has fewer diff_ids than layers */
	const char *cfg = config_json("amd64", 1);
	_cleanup_free_ char *mj = fmt("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
				      "\"size\":%zu},\"layers\":[" LAYER_DESC("application/vnd.oci.image.layer.v1.tar")
				      "," LAYER_DESC("application/vnd.oci.image.layer.v1.tar") "]}",
				      BERTH_MT_OCI_CONFIG, cfg, size_of(cfg));
	const char *m = put(mj);
	_cleanup_free_ char *d3 = desc(BERTH_MT_OCI_MANIFEST, m, "amd64", NULL);
	_cleanup_free_ char *ix3 = index_of(d3);
	assert_int_equal(resolve(ix3, &r, &n, &err), -1);
	assert_contains(err.msg, "lists 2 layers but the config's rootfs.diff_ids has 1");
	/* index pointing at a manifest through an index media type */
	_cleanup_free_ char *d4 = desc(BERTH_MT_OCI_INDEX, m, NULL, NULL);
	_cleanup_free_ char *ix4 = index_of(d4);
	assert_int_equal(resolve(ix4, &r, &n, &err), -1);
	blobs_reset();
}

static void test_resolve_multi(void **state)
{
	(void)state;
	blobs_reset();
	struct berth_err err = {0};
	const char *a = manifest_json("amd64", 1), *b = manifest_json("amd64", 2);
	_cleanup_free_ char *da = desc(BERTH_MT_OCI_MANIFEST, a, "amd64", "one:1");
	_cleanup_free_ char *db = desc(BERTH_MT_OCI_MANIFEST, b, "amd64", "two:2");
	_cleanup_free_ char *list = fmt("%s,%s", da, db);
	_cleanup_free_ char *ix = index_of(list);
	struct berth_resolved *r = NULL;
	size_t n = 0;
	assert_int_equal(resolve(ix, &r, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].ref_name, "one:1");
	assert_string_equal(r[1].ref_name, "two:2");
	berth_resolved_free(r, n);
	blobs_reset();
}

static void test_resolve_total_cap(void **state)
{
	(void)state;
	blobs_reset();
	struct berth_err err = {0};
	/* one 3.5 MB manifest listed 20 times: each copy is held, so the sum is capped */
	const char *cfg = config_json("amd64", 0);
	size_t pad = 3500000;
	char *big = malloc(pad + 1);
	assert_non_null(big);
	memset(big, 'x', pad);
	big[pad] = '\0';
	_cleanup_free_ char *mj = fmt("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
				      "\"size\":%zu},\"layers\":[],\"annotations\":{\"pad\":\"%s\"}}",
				      BERTH_MT_OCI_CONFIG, cfg, size_of(cfg), big);
	free(big);
	const char *m = put(mj);
	_cleanup_free_ char *d = desc(BERTH_MT_OCI_MANIFEST, m, "amd64", NULL);
	size_t cap = 20 * (strlen(d) + 1) + 1, o = 0;
	char *list = malloc(cap);
	assert_non_null(list);
	for (int i = 0; i < 20; i++)
		o += (size_t)snprintf(list + o, cap - o, "%s%s", i ? "," : "", d);
	_cleanup_free_ char *ix = index_of(list);
	free(list);
	struct berth_resolved *r = NULL;
	size_t n = 0;
	assert_int_equal(resolve(ix, &r, &n, &err), -1);
	assert_contains(err.msg, "exceeds");
	blobs_reset();
}

/* ---- names ---------------------------------------------------------------- */

static void norm_ok(const char *in, const char *want)
{
	char out[BERTH_NAME_MAX + 1];
	struct berth_err err = {0};
	if (berth_name_normalize(in, out, &err) < 0)
		fail_msg("%s: %s", in, err.msg);
	assert_string_equal(out, want);
}

static void norm_bad(const char *in, const char *msg)
{
	char out[BERTH_NAME_MAX + 1];
	struct berth_err err = {0};
	if (berth_name_normalize(in, out, &err) == 0)
		fail_msg("%s was accepted as %s", in, out);
	assert_contains(err.msg, msg);
	assert_null(strchr(err.msg, '\n'));
}

static void test_names(void **state)
{
	(void)state;
	norm_ok("busybox", "busybox:latest");
	norm_ok("busybox:1.36", "busybox:1.36");
	norm_ok("docker.io/library/busybox", "busybox:latest");
	norm_ok("docker.io/team/app:v1", "team/app:v1");
	norm_ok("index.docker.io/library/a/b:x", "library/a/b:x");
	norm_ok("localhost/app", "localhost/app:latest");
	norm_ok("localhost:5000/team/app:Tag_1.0-rc", "localhost:5000/team/app:Tag_1.0-rc");
	norm_ok("registry.example.com/a.b/c_d/e__f/g-h/i--j:1", "registry.example.com/a.b/c_d/e__f/g-h/i--j:1");
	norm_ok("app@" DIG_A, "app@" DIG_A);
	norm_ok("app:1@" DIG_A, "app:1@" DIG_A);
	norm_ok("sha256:" HEX_A, "sha256:" HEX_A);
	norm_bad("", "empty image name");
	norm_bad("Busybox", "lowercase");
	norm_bad("a//b", "empty repository component");
	norm_bad("/a", "empty repository component");
	norm_bad("a/", "empty repository component");
	norm_bad("a:", "tag");
	norm_bad(":tag", "empty repository component");
	norm_bad("a:-x", "tag");
	norm_bad("a:.x", "tag");
	norm_bad("a_", "bad repository component");
	norm_bad("a..b", "bad repository component");
	norm_bad("a b", "bad repository component");
	norm_bad("../etc/passwd", "invalid image name");
	norm_bad("a/../b", "bad repository component");
	norm_bad("a%2fb", "bad repository component");
	norm_bad("app@sha256:abc", "not a sha256 digest");
	norm_bad("-bad.host/a", "bad registry host");
	norm_bad("host:port/a", "bad registry host");
	norm_bad(HEX_A, "64 hex digits");
	char tag[200];
	memset(tag, 'x', sizeof(tag));
	memcpy(tag, "a:", 2);
	tag[131] = '\0';
	norm_bad(tag, "tag");
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	longname[299] = '\0';
	norm_bad(longname, "too long");
}

static void test_name_encode(void **state)
{
	(void)state;
	char out[256];
	struct berth_err err = {0};
	assert_int_equal(berth_name_encode("reg:5000/a/b:c@" DIG_A, out, sizeof(out), &err), 0);
	assert_string_equal(out, "reg%3A5000%2Fa%2Fb%3Ac%40sha256%3A" HEX_A ".json");
	assert_null(strchr(out, '/'));
	assert_int_equal(berth_name_encode("busybox:latest", out, sizeof(out), &err), 0);
	assert_string_equal(out, "busybox%3Alatest.json");
	/* worst case: everything escaped, longer than a file name may be */
	char many[200];
	for (size_t i = 0; i < sizeof(many) - 1; i++)
		many[i] = i % 2 ? '/' : 'a';
	many[sizeof(many) - 1] = '\0';
	assert_int_equal(berth_name_encode(many, out, sizeof(out), &err), -1);
	assert_contains(err.msg, "too long");
}

static void test_names_from_annotations(void **state)
{
	(void)state;
	struct berth_err err = {0};
	char *n = NULL;
	assert_int_equal(berth_name_from_annotations(NULL, NULL, &n, &err), 0);
	assert_null(n);
	assert_int_equal(berth_name_from_annotations("app:1", NULL, &n, &err), 0);
	assert_string_equal(n, "app:1");
	free(n);
	assert_int_equal(berth_name_from_annotations("docker.io/library/busybox:1", "x", &n, &err), 0);
	assert_string_equal(n, "busybox:1");
	free(n);
	/* only a tag: combined with containerd's full name */
	assert_int_equal(berth_name_from_annotations("latest", "docker.io/library/busybox:latest", &n, &err), 0);
	assert_string_equal(n, "busybox:latest");
	free(n);
	assert_int_equal(berth_name_from_annotations("v2", "reg:5000/team/app:v1", &n, &err), 0);
	assert_string_equal(n, "reg:5000/team/app:v2");
	free(n);
	assert_int_equal(berth_name_from_annotations(NULL, "team/app", &n, &err), 0);
	assert_string_equal(n, "team/app:latest");
	free(n);
	/* only a tag, nothing to combine with */
	assert_int_equal(berth_name_from_annotations("latest", NULL, &n, &err), -1);
	assert_contains(err.msg, "--name");
	assert_contains(err.msg, "\"latest\"");
	assert_null(n);
	assert_int_equal(berth_name_from_annotations("Bad/Name", NULL, &n, &err), -1);
	assert_contains(err.msg, "org.opencontainers.image.ref.name");
}

static void test_digest_lookup(void **state)
{
	(void)state;
	struct berth_err err = {0};
	const char *ds[] = {"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sha256:0123456789abffff0123456789abcdef0123456789abcdef0123456789abcdef",
			    "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
			    "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"};
	assert_int_equal(berth_digest_lookup(ds[0], ds, 4, &err), 0);
	assert_int_equal(berth_digest_lookup(ds[0] + 7, ds, 4, &err), 0);
	assert_int_equal(berth_digest_lookup("0123456789abc", ds, 4, &err), 0);
	assert_int_equal(berth_digest_lookup("sha256:fedcba987654", ds, 4, &err), 2);
	assert_int_equal(berth_digest_lookup("fedcba987654", ds, 4, &err), 2); /* two names, one image */
	assert_int_equal(berth_digest_lookup("0123456789ab", ds, 4, &err), -1);
	assert_contains(err.msg, "ambiguous");
	assert_int_equal(berth_digest_lookup("aaaaaaaaaaaa", ds, 4, &err), -1);
	assert_string_equal(err.msg, "image \"aaaaaaaaaaaa\" not found: load it with 'berth image load PATH'");
	assert_int_equal(berth_digest_lookup("sha256:0123", ds, 4, &err), -1);
	assert_contains(err.msg, "at least 12");
	/* not ID-shaped: names */
	assert_int_equal(berth_digest_lookup("0123456789a", ds, 4, &err), -2);
	assert_int_equal(berth_digest_lookup("busybox", ds, 4, &err), -2);
	assert_int_equal(berth_digest_lookup("0123456789ABC", ds, 4, &err), -2);
	assert_int_equal(berth_digest_lookup("0123456789abc:1", ds, 4, &err), -2);
}

/* ---- the store ------------------------------------------------------------ */

struct tmpstore {
	char dir[64];
	struct berth_store *s;
};

static int store_setup(void **state)
{
	struct tmpstore *t = calloc(1, sizeof(*t));
	struct berth_err err = {0};
	snprintf(t->dir, sizeof(t->dir), "/tmp/berth-ut-images-XXXXXX");
	if (!t || !mkdtemp(t->dir))
		return -1;
	char root[128];
	snprintf(root, sizeof(root), "%s/state", t->dir);
	if (berth_store_open(root, NULL, &t->s, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = t;
	return 0;
}

static int store_teardown(void **state)
{
	struct tmpstore *t = *state;
	struct berth_err err = {0};
	berth_store_close(t->s);
	berth_rm_rf_at(AT_FDCWD, t->dir, &err);
	free(t);
	return 0;
}

/* A layer directory holding one file, and a record naming the layers. */
static void make_layer(struct tmpstore *t, const char *hex, const char *file, const char *data)
{
	struct berth_err err = {0};
	assert_int_equal(mkdirat(t->s->layers_fd, hex, 0755), 0);
	_cleanup_close_ int fd = openat(t->s->layers_fd, hex, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(berth_write_file_atomic(fd, file, data, strlen(data), 0644, &err), 0);
}

static void make_image(struct tmpstore *t, const char *name, char (*layers)[65], size_t n)
{
	struct berth_err err = {0};
	const char *cfg = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Cmd\":[\"x\"]}}";
	char hex[65], file[256];
	assert_int_equal(berth_sha256_buf_hex(cfg, strlen(cfg), hex, &err), 0);
	assert_int_equal(berth_write_file_atomic(t->s->blobs_fd, hex, cfg, strlen(cfg), 0600, &err), 0);
	struct berth_ref r = {.name = (char *)name, .size = 1, .nlayers = n, .layers = layers};
	snprintf(r.config, sizeof(r.config), "sha256:%s", hex);
	snprintf(r.manifest, sizeof(r.manifest), "%s", DIG_A);
	_cleanup_free_ char *json = berth_ref_json(&r, &err);
	assert_non_null(json);
	assert_int_equal(berth_name_encode(name, file, sizeof(file), &err), 0);
	assert_int_equal(berth_write_file_atomic(t->s->refs_fd, file, json, strlen(json), 0600, &err), 0);
}

/* A layers_in_use callback reporting HEX_B as used by a container. */
static int in_use_b(void *ctx, char ***out, struct berth_err *err)
{
	(void)ctx;
	char *v[] = {HEX_B, NULL};
	*out = berth_strv_dup(v, err);
	return *out ? 0 : -1;
}

static void test_store_layout_and_get(void **state)
{
	struct tmpstore *t = *state;
	struct berth_err err = {0};
	struct stat st;
	assert_int_equal(fstat(t->s->dir_fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(fstat(t->s->layers_fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	struct berth_image *img = NULL;
	assert_int_equal(berth_image_get(t->s, "foo", &img, &err), -1);
	assert_string_equal(err.msg, "image \"foo\" not found: load it with 'berth image load PATH'");
	assert_int_equal(berth_image_get(t->s, "Foo!", &img, &err), -1);
	assert_contains(err.msg, "Foo!");
	char layers[2][65] = {HEX_A, HEX_B};
	make_image(t, "app:1", layers, 2);
	make_image(t, "app:2", layers, 1);
	assert_int_equal(berth_image_get(t->s, "app:1", &img, &err), 0);
	assert_string_equal(img->name, "app:1");
	assert_int_equal(img->nlayers, 2);
	assert_string_equal(img->layers[1], HEX_B);
	assert_string_equal(img->config.cmd[0], "x");
	/* by ID: the same config under two names */
	char id[20];
	snprintf(id, sizeof(id), "%.12s", img->config_digest + 7);
	berth_image_free(img);
	assert_int_equal(berth_image_get(t->s, id, &img, &err), 0);
	berth_image_free(img);
	assert_int_equal(berth_image_remove(t->s, id, &err), -1);
	assert_contains(err.msg, "has 2 names (app:1, app:2)");
	struct berth_image **all = NULL;
	size_t n = 0;
	assert_int_equal(berth_image_list(t->s, &all, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(all[0]->name, "app:1");
	for (size_t i = 0; i < n; i++)
		berth_image_free(all[i]);
	free(all);
	/* rm app:2 keeps both layers (app:1 uses them); rm app:1 with one in use */
	make_layer(t, HEX_A, "a", "a");
	make_layer(t, HEX_B, "b", "b");
	assert_int_equal(berth_image_remove(t->s, "app:2", &err), 0);
	assert_int_equal(fstatat(t->s->layers_fd, HEX_A, &st, 0), 0);
	t->s->layers_in_use = in_use_b;
	assert_int_equal(berth_image_remove(t->s, "app:1", &err), 0);
	t->s->layers_in_use = NULL;
	assert_int_equal(fstatat(t->s->layers_fd, HEX_A, &st, 0), -1);
	assert_int_equal(fstatat(t->s->layers_fd, HEX_B, &st, 0), 0);
	assert_int_equal(berth_image_remove(t->s, "app:1", &err), -1);
	assert_contains(err.msg, "not found");
}

static void test_store_corrupt_ref(void **state)
{
	struct tmpstore *t = *state;
	struct berth_err err = {0};
	assert_int_equal(berth_write_file_atomic(t->s->refs_fd, "x%3A1.json", "{", 1, 0600, &err), 0);
	struct berth_image *img = NULL;
	assert_int_equal(berth_image_get(t->s, "x:1", &img, &err), -1);
	assert_contains(err.msg, "refs/x%3A1.json is corrupt");
}

static void mount_check(struct tmpstore *t, const char *mode, size_t nlayers)
{
	struct berth_err err = {0};
	char (*layers)[65] = calloc(nlayers, 65);
	assert_non_null(layers);
	for (size_t i = 0; i < nlayers; i++) {
		snprintf(layers[i], 65, "%064zx", i + 1);
		char file[32], data[32];
		snprintf(file, sizeof(file), "f%zu", i);
		snprintf(data, sizeof(data), "layer %zu", i);
		struct stat st;
		if (fstatat(t->s->layers_fd, layers[i], &st, 0) < 0)
			make_layer(t, layers[i], file, data);
		_cleanup_close_ int lfd = openat(t->s->layers_fd, layers[i], O_RDONLY | O_DIRECTORY);
		assert_int_equal(berth_write_file_atomic(lfd, "top", data, strlen(data), 0644, &err), 0);
	}
	make_image(t, "mnt:1", layers, nlayers);
	struct berth_image *img = NULL;
	assert_int_equal(berth_image_get(t->s, "mnt:1", &img, &err), 0);
	char cdir[32];
	snprintf(cdir, sizeof(cdir), "c-%s-%zu", mode, nlayers);
	assert_int_equal(mkdirat(t->s->tmp_fd, cdir, 0700), 0);
	_cleanup_close_ int cfd = openat(t->s->tmp_fd, cdir, O_RDONLY | O_DIRECTORY);
	setenv("BERTH_TEST_OVERLAY_MODE", mode, 1);
	int mfd = berth_rootfs_mount(t->s, img, cfd, &err);
	unsetenv("BERTH_TEST_OVERLAY_MODE");
	if (mfd < 0)
		fail_msg("mode %s, %zu layers: %s", mode, nlayers, err.msg);
	/* the top layer wins; every layer is visible; writes go to upper */
	_cleanup_free_ char *top = NULL, *f0 = NULL;
	char want[32];
	snprintf(want, sizeof(want), "layer %zu", nlayers - 1);
	assert_int_equal(berth_read_file_at(mfd, "top", 64, &top, NULL, &err), 0);
	assert_string_equal(top, want);
	assert_int_equal(berth_read_file_at(mfd, "f0", 64, &f0, NULL, &err), 0);
	assert_string_equal(f0, "layer 0");
	assert_int_equal(berth_write_file_atomic(mfd, "new", "n", 1, 0644, &err), 0);
	close(mfd);
	struct stat st;
	_cleanup_close_ int ufd = openat(cfd, "upper", O_RDONLY | O_DIRECTORY);
	assert_int_equal(fstatat(ufd, "new", &st, 0), 0);
	assert_int_equal(fstatat(cfd, ".berth-stage", &st, 0), -1);
	berth_image_free(img);
	free(layers);
	assert_int_equal(berth_rm_rf_at(t->s->tmp_fd, cdir, &err), 0);
}

static void test_rootfs_mount(void **state)
{
	struct tmpstore *t = *state;
	if (geteuid() != 0)
		skip();
	mount_check(t, "", 1);
	mount_check(t, "", 40);
	mount_check(t, "string", 3);
	mount_check(t, "string", 40); /* > 256 bytes: classic mount(2) */
	mount_check(t, "classic", 2);
}

static void test_rootfs_errors(void **state)
{
	struct tmpstore *t = *state;
	struct berth_err err = {0};
	char none[1][65];
	make_image(t, "empty:1", none, 0);
	struct berth_image *img = NULL;
	assert_int_equal(berth_image_get(t->s, "empty:1", &img, &err), 0);
	assert_int_equal(berth_rootfs_mount(t->s, img, t->s->tmp_fd, &err), -1);
	assert_contains(err.msg, "image empty:1 has no layers");
	berth_image_free(img);
	char one[1][65] = {HEX_A};
	make_image(t, "gone:1", one, 1);
	assert_int_equal(berth_image_get(t->s, "gone:1", &img, &err), 0);
	assert_int_equal(berth_rootfs_mount(t->s, img, t->s->tmp_fd, &err), -1);
	assert_contains(err.msg, "layer aaaaaaaaaaaa is missing");
	berth_image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_valid),
		cmocka_unit_test(test_index_media_type),
		cmocka_unit_test(test_bad_digests),
		cmocka_unit_test(test_json_garbage),
		cmocka_unit_test(test_json_huge),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_manifest_invalid),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_invalid),
		cmocka_unit_test(test_layer_count_and_platform),
		cmocka_unit_test(test_resolve_simple),
		cmocka_unit_test(test_resolve_platforms),
		cmocka_unit_test(test_resolve_nested),
		cmocka_unit_test(test_resolve_errors),
		cmocka_unit_test(test_resolve_multi),
		cmocka_unit_test(test_resolve_total_cap),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_encode),
		cmocka_unit_test(test_names_from_annotations),
		cmocka_unit_test(test_digest_lookup),
		cmocka_unit_test_setup_teardown(test_store_layout_and_get, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_store_corrupt_ref, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_mount, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_errors, store_setup, store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
