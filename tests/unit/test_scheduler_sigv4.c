/* Unit tests: AWS SigV4 verification (the official aws-sig-v4-test-suite,
 * requests captured from the real `aws ecs` CLI and signed by botocore,
 * every refusal AWS documents, hostile input) and the credentials file. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "scheduler/credentials.h"
#include "scheduler/sigv4.h"

/* ------------------------------------------------------------------------
 * Keys: the test suite's, and the one the botocore vectors were made with. */

#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW ((time_t)1440938160) /* 20150830T123600Z */
#define BOTO_AKID "AKIDBERTHEXAMPLE"
#define BOTO_SECRET "berth/secret+KEY/example0123456789abcdef"

static int lookups;

static int test_secret(void *ctx, const char *akid, char *secret, size_t len)
{
	(void)ctx;
	lookups++;
	const char *s = NULL;
	if (strcmp(akid, SUITE_AKID) == 0)
		s = SUITE_SECRET;
	else if (strcmp(akid, BOTO_AKID) == 0)
		s = BOTO_SECRET;
	if (!s || strlen(s) >= len)
		return -1;
	strcpy(secret, s);
	return 0;
}

/* ------------------------------------------------------------------------
 * A mutable request. */

#define TMAX 64

struct treq {
	char *method, *path, *query;
	char *name[TMAX], *value[TMAX];
	struct berth_http_header h[TMAX];
	size_t n;
	char *body;
	size_t body_len;
	struct berth_sigv4_request req;
};

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	assert_non_null(p);
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	assert_non_null(p);
	return p;
}

static void treq_free(struct treq *t)
{
	free(t->method);
	free(t->path);
	free(t->query);
	for (size_t i = 0; i < t->n; i++) {
		free(t->name[i]);
		free(t->value[i]);
	}
	free(t->body);
	memset(t, 0, sizeof(*t));
}

static void treq_add(struct treq *t, const char *name, const char *value)
{
	assert_true(t->n < TMAX);
	t->name[t->n] = xstrdup(name);
	t->value[t->n] = xstrdup(value);
	t->n++;
}

static int treq_find(const struct treq *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcasecmp(t->name[i], name) == 0)
			return (int)i;
	return -1;
}

static const char *treq_get(const struct treq *t, const char *name)
{
	int i = treq_find(t, name);
	return i < 0 ? NULL : t->value[i];
}

static void treq_set(struct treq *t, const char *name, const char *value)
{
	int i = treq_find(t, name);
	if (i < 0) {
		treq_add(t, name, value);
		return;
	}
	free(t->value[i]);
	t->value[i] = xstrdup(value);
}

static void treq_del(struct treq *t, const char *name)
{
	int i;
	while ((i = treq_find(t, name)) >= 0) {
		free(t->name[i]);
		free(t->value[i]);
		memmove(&t->name[i], &t->name[i + 1], (t->n - (size_t)i - 1) * sizeof(char *));
		memmove(&t->value[i], &t->value[i + 1], (t->n - (size_t)i - 1) * sizeof(char *));
		t->n--;
	}
}

static void treq_set_body(struct treq *t, const void *body, size_t len)
{
	free(t->body);
	t->body = malloc(len + 1);
	assert_non_null(t->body);
	memcpy(t->body, body, len);
	t->body[len] = '\0';
	t->body_len = len;
}

static const struct berth_sigv4_request *treq_req(struct treq *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->h[i] = (struct berth_http_header){t->name[i], t->value[i]};
	t->req = (struct berth_sigv4_request){
		.method = t->method,
		.path = t->path,
		.query = t->query,
		.headers = t->h,
		.nheaders = t->n,
		.body = t->body,
		.body_len = t->body_len,
	};
	return &t->req;
}

static void treq_copy(struct treq *dst, const struct treq *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->method = xstrdup(src->method);
	dst->path = xstrdup(src->path);
	dst->query = xstrdup(src->query);
	for (size_t i = 0; i < src->n; i++)
		treq_add(dst, src->name[i], src->value[i]);
	treq_set_body(dst, src->body ? src->body : "", src->body_len);
}

/* Parse a test-suite .sreq: "METHOD target HTTP/1.1\nName:value\n...\n\nbody".
 * A line starting with whitespace continues the previous header; the suite
 * canonicalises such folded values like repeated headers (value1,value2). */
static void treq_parse(struct treq *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	const char *nl = strchr(text, '\n');
	size_t linelen = nl ? (size_t)(nl - text) : strlen(text);
	const char *sp = memchr(text, ' ', linelen);
	assert_non_null(sp);
	t->method = xstrndup(text, (size_t)(sp - text));
	const char *proto = text + linelen - strlen(" HTTP/1.1");
	assert_memory_equal(proto, " HTTP/1.1", 9);
	const char *target = sp + 1;
	const char *q = memchr(target, '?', (size_t)(proto - target));
	t->path = xstrndup(target, (size_t)((q ? q : proto) - target));
	t->query = q ? xstrndup(q + 1, (size_t)(proto - q - 1)) : xstrdup("");
	const char *p = nl ? nl + 1 : text + linelen;
	const char *last_name = NULL;
	while (*p && *p != '\n') {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *line = xstrndup(p, len);
		if (line[0] == ' ' || line[0] == '\t') {
			assert_non_null(last_name);
			treq_add(t, last_name, line + strspn(line, " \t"));
		} else {
			char *colon = strchr(line, ':');
			assert_non_null(colon);
			*colon = '\0';
			const char *v = colon + 1;
			v += strspn(v, " \t"); /* as an HTTP parser strips OWS */
			treq_add(t, line, v);
			last_name = t->name[t->n - 1];
		}
		free(line);
		p = e ? e + 1 : p + len;
	}
	if (*p == '\n')
		p++;
	treq_set_body(t, p, strlen(p));
}

static void ecs_request(struct treq *t);

/* ------------------------------------------------------------------------
 * Verification helpers. */

static const char *const codes[] = {BERTH_SIGV4_MISSING_TOKEN, BERTH_SIGV4_INCOMPLETE,
				    BERTH_SIGV4_INVALID, BERTH_SIGV4_UNRECOGNIZED};

static int verify_with(struct treq *t, const char *region, const char *service, time_t now,
		       struct berth_sigv4_result *res)
{
	struct berth_err err = {0};
	memset(res, 0x5a, sizeof(*res)); /* verify must fill everything */
	int r = berth_sigv4_verify(treq_req(t), region, service, now, test_secret, NULL, res, &err);
	assert_true(r == 0 || r == 1);
	assert_non_null(memchr(res->message, '\0', sizeof(res->message)));
	assert_non_null(memchr(res->error_code, '\0', sizeof(res->error_code)));
	assert_non_null(memchr(res->access_key_id, '\0', sizeof(res->access_key_id)));
	assert_non_null(memchr(res->region, '\0', sizeof(res->region)));
	for (const char *c = res->message; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
	for (const char *c = res->access_key_id; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
	if (r == 0) {
		assert_int_equal(res->http_status, 0);
		assert_string_equal(res->error_code, "");
		assert_string_equal(res->message, "");
	} else {
		assert_int_equal(res->http_status, 400);
		bool known = false;
		for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			known |= strcmp(res->error_code, codes[i]) == 0;
		assert_true(known);
		assert_true(res->message[0] != '\0');
	}
	return r;
}

static int verify_suite(struct treq *t, struct berth_sigv4_result *res)
{
	return verify_with(t, "us-east-1", "service", SUITE_NOW, res);
}

/* Expect a refusal with this code and a message containing want. */
static void expect_refused(struct treq *t, const char *region, const char *service, time_t now,
			   const char *code, const char *want)
{
	struct berth_sigv4_result res;
	int r = verify_with(t, region, service, now, &res);
	if (r != 1 || strcmp(res.error_code, code) != 0 || !strstr(res.message, want))
		fail_msg("expected %s containing \"%s\", got rc %d %s: %s", code, want, r,
			 res.error_code, res.message);
}

static void expect_suite_refused(struct treq *t, const char *code, const char *want)
{
	expect_refused(t, "us-east-1", "service", SUITE_NOW, code, want);
}

static void expect_suite_ok(struct treq *t)
{
	struct berth_sigv4_result res;
	int r = verify_suite(t, &res);
	if (r != 0)
		fail_msg("expected valid, got %s: %s", res.error_code, res.message);
	assert_string_equal(res.access_key_id, SUITE_AKID);
	assert_string_equal(res.region, "us-east-1");
}

/* Replace one parameter's value in the Authorization header. */
static void set_auth_param(struct treq *t, const char *param, const char *value)
{
	const char *auth = treq_get(t, "Authorization");
	assert_non_null(auth);
	char key[64];
	snprintf(key, sizeof(key), "%s=", param);
	const char *s = strstr(auth, key);
	assert_non_null(s);
	const char *v = s + strlen(key);
	const char *e = v + strcspn(v, ", ");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(v - auth), auth, value, e);
	treq_set(t, "Authorization", buf);
}

static const char *auth_param(const struct treq *t, const char *param, char *out, size_t outlen)
{
	const char *auth = treq_get(t, "Authorization");
	char key[64];
	snprintf(key, sizeof(key), "%s=", param);
	const char *s = strstr(auth, key);
	assert_non_null(s);
	s += strlen(key);
	snprintf(out, outlen, "%.*s", (int)strcspn(s, ", "), s);
	return out;
}

/* Drop the headers the Authorization header does not sign (botocore adds
 * Content-Length, amz-sdk-* and the like after signing). */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ";");
		if (l == n && strncasecmp(p, name, n) == 0)
			return true;
		p += l + (p[l] == ';');
	}
	return false;
}

static void keep_only_signed(struct treq *t)
{
	char list[1024];
	auth_param(t, "SignedHeaders", list, sizeof(list));
	for (size_t i = 0; i < t->n;) {
		if (in_list(list, t->name[i]) || strcasecmp(t->name[i], "Authorization") == 0) {
			i++;
		} else {
			char *name = xstrdup(t->name[i]);
			treq_del(t, name);
			free(name);
		}
	}
}

/* Re-sign t (all headers) with the given key and compare or install. */
static void sign_into(struct treq *t, const char *region, const char *service, const char *akid,
		      const char *secret)
{
	char auth[8192];
	struct berth_err err = {0};
	treq_del(t, "Authorization");
	assert_int_equal(berth_sigv4_sign(treq_req(t), region, service, akid, secret, auth,
					  sizeof(auth), &err),
			 0);
	treq_add(t, "Authorization", auth);
}

/* ------------------------------------------------------------------------
 * The official aws-sig-v4-test-suite (AWS documentation; region us-east-1,
 * service "service", 20150830T123600Z).  The .sreq of each case, and the
 * .creq/.sts where the suite gives them. */

#define AUTH_PREFIX "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define HOST "Host:example.amazonaws.com\n"
#define DATE "X-Amz-Date:20150830T123600Z\n"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define STS_PREFIX "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"

struct suite_case {
	const char *name;
	const char *sreq;
	const char *creq; /* NULL when not checked */
	const char *sts;
	int expect_rc;
	const char *expect_code;
	bool signer_matches; /* berth_sigv4_sign reproduces the Authorization */
};

static const struct suite_case suite[] = {
	{"get-vanilla (get-vanilla-query)",
	 "GET / HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	 NULL, NULL, 0, "", true},
	{"get-header-key-duplicate",
	 "GET / HTTP/1.1\n" HOST "My-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\n" DATE AUTH_PREFIX
	 "SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
	 NULL, NULL, 0, "", true},
	{"get-header-value-multiline",
	 "GET / HTTP/1.1\n" HOST "My-Header1:value1\n  value2\n     value3\n" DATE AUTH_PREFIX
	 "SignedHeaders=host;my-header1;x-amz-date, Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790",
	 "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1,value2,value3\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_SHA,
	 STS_PREFIX "b7b6cbfd8a0430b78891e986784da2630c8a135a8595cec25b26ea94f926ee55", 0, "", true},
	{"get-header-value-order",
	 "GET / HTTP/1.1\n" HOST "My-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2\n" DATE AUTH_PREFIX
	 "SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
	 NULL, NULL, 0, "", true},
	{"get-header-value-trim",
	 "GET / HTTP/1.1\n" HOST "My-Header1: value1\nMy-Header2: \"a   b   c\"\n" DATE AUTH_PREFIX
	 "SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
	 NULL, NULL, 0, "", true},
	{"get-unreserved",
	 "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
	 NULL, NULL, 0, "", true},
	{"get-utf8",
	 "GET /\341\210\264 HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
	 NULL, NULL, 0, "", true},
	{"get-vanilla-empty-query-key",
	 "GET /?Param1=value1 HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
	 NULL, NULL, 0, "", true},
	{"get-vanilla-query-order-key-case",
	 "GET /?Param2=value2&Param1=value1 HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
	 NULL, NULL, 0, "", true},
	{"get-vanilla-query-order-key",
	 "GET /?Param1=value2&Param1=Value1 HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
	 "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
	 STS_PREFIX "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89", 0, "", true},
	{"get-vanilla-query-order-value",
	 "GET /?Param1=value2&Param1=value1 HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
	 "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
	 STS_PREFIX "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606", 0, "", true},
	{"get-vanilla-query-unreserved",
	 "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
	 NULL, NULL, 0, "", true},
	{"get-vanilla-utf8-query",
	 "GET /?\341\210\264=bar HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
	 NULL, NULL, 0, "", true},
	{"normalize-path/get-relative-relative",
	 "GET /example1/example2/../.. HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	 NULL, NULL, 0, "", true},
	{"normalize-path/get-relative",
	 "GET /example/.. HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	 NULL, NULL, 0, "", true},
	{"normalize-path/get-slash-dot-slash",
	 "GET /./ HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	 NULL, NULL, 0, "", true},
	{"normalize-path/get-slash-pointless-dot",
	 "GET /./example HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
	 NULL, NULL, 0, "", true},
	{"normalize-path/get-slash",
	 "GET // HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	 NULL, NULL, 0, "", true},
	{"normalize-path/get-slashes",
	 "GET //example// HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
	 NULL, NULL, 0, "", true},
	{"normalize-path/get-space",
	 "GET /example space/ HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
	 NULL, NULL, 0, "", true},
	{"post-header-key-sort",
	 "POST / HTTP/1.1\n" HOST "My-Header1:value1\n" DATE AUTH_PREFIX
	 "SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
	 NULL, NULL, 0, "", true},
	{"post-header-value-case",
	 "POST / HTTP/1.1\n" HOST "My-Header1:VALUE1\n" DATE AUTH_PREFIX
	 "SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
	 NULL, NULL, 0, "", true},
	{"post-vanilla",
	 "POST / HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	 NULL, NULL, 0, "", true},
	{"post-vanilla-empty-query-value",
	 "POST /?Param1=value1 HTTP/1.1\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
	 NULL, NULL, 0, "", true},
	{"post-x-www-form-urlencoded",
	 "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a\n\nParam1=value1",
	 "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	 STS_PREFIX "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281", 0, "", true},
	{"post-x-www-form-urlencoded-parameters",
	 "POST / HTTP/1.1\nContent-Type:application/x-www-form-urlencoded; charset=utf8\n" HOST DATE AUTH_PREFIX
	 "SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe\n\nParam1=value1",
	 "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
	 STS_PREFIX "2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c", 0, "", true},
	/* Session tokens: the signatures are right (the signer reproduces the
	 * signed one), but berth has no STS, so both are refused. */
	{"post-sts-token/post-sts-header-before",
	 "POST / HTTP/1.1\n" HOST DATE
	 "X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n" AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
	 NULL, NULL, 1, BERTH_SIGV4_UNRECOGNIZED, true},
	{"post-sts-token/post-sts-header-after",
	 "POST / HTTP/1.1\n" HOST DATE
	 "X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n" AUTH_PREFIX
	 "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
	 NULL, NULL, 1, BERTH_SIGV4_UNRECOGNIZED, false},
};

/* Flip one hex digit of the signature. */
static void flip_signature(struct treq *t)
{
	char sig[128];
	auth_param(t, "Signature", sig, sizeof(sig));
	sig[10] = sig[10] == '0' ? '1' : '0';
	set_auth_param(t, "Signature", sig);
}

/* Every way of tampering with a valid request must be refused. */
static void check_tampering(const struct treq *good, const char *region, const char *service,
			    time_t now)
{
	struct treq t;
	const char *const sigmsg = "The request signature we calculated does not match";

	treq_copy(&t, good);
	flip_signature(&t);
	expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
	treq_free(&t);

	treq_copy(&t, good);
	if (t.body_len) {
		t.body[t.body_len / 2] ^= 1;
	} else {
		treq_set_body(&t, "x", 1);
	}
	expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
	treq_free(&t);

	treq_copy(&t, good);
	char host[512];
	snprintf(host, sizeof(host), "%sx", treq_get(&t, "Host"));
	treq_set(&t, "Host", host);
	expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
	treq_free(&t);

	/* Another second of the same day: the date is in the string to sign. */
	treq_copy(&t, good);
	const char *d = treq_get(&t, "X-Amz-Date");
	if (d) {
		char nd[32];
		snprintf(nd, sizeof(nd), "%s", d);
		nd[14] = nd[14] == '0' ? '1' : '0';
		treq_set(&t, "X-Amz-Date", nd);
		expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
	}
	treq_free(&t);

	treq_copy(&t, good);
	free(t.method);
	t.method = xstrdup(strcmp(good->method, "GET") == 0 ? "POST" : "GET");
	expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
	treq_free(&t);

	treq_copy(&t, good);
	char path[1024];
	snprintf(path, sizeof(path), "%s%s", t.path, "x");
	free(t.path);
	t.path = xstrdup(path);
	expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
	treq_free(&t);

	treq_copy(&t, good);
	char query[1024];
	snprintf(query, sizeof(query), "%s%sextra=1", t.query, *t.query ? "&" : "");
	free(t.query);
	t.query = xstrdup(query);
	expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
	treq_free(&t);

	/* An unsigned header may be added freely (AWS ignores it too). */
	treq_copy(&t, good);
	treq_add(&t, "X-Not-Signed", "anything");
	struct berth_sigv4_result res;
	assert_int_equal(verify_with(&t, region, service, now, &res), 0);
	treq_free(&t);

	/* Every signed header, removed, breaks the signature. */
	char list[512];
	treq_copy(&t, good);
	auth_param(&t, "SignedHeaders", list, sizeof(list));
	treq_free(&t);
	for (char *save = NULL, *name = strtok_r(list, ";", &save); name;
	     name = strtok_r(NULL, ";", &save)) {
		if (strcmp(name, "x-amz-date") == 0 || strcmp(name, "date") == 0)
			continue; /* that is "requires existence of either ..." */
		treq_copy(&t, good);
		treq_del(&t, name);
		expect_refused(&t, region, service, now, BERTH_SIGV4_INVALID, sigmsg);
		treq_free(&t);
	}
}

static void suite_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		const struct suite_case *c = &suite[i];
		struct treq t;
		struct berth_sigv4_result res;
		struct berth_err err = {0};
		treq_parse(&t, c->sreq);
		int r = verify_suite(&t, &res);
		if (r != c->expect_rc || strcmp(res.error_code, c->expect_code) != 0)
			fail_msg("%s: rc %d %s: %s", c->name, r, res.error_code, res.message);

		char signed_headers[256];
		auth_param(&t, "SignedHeaders", signed_headers, sizeof(signed_headers));
		char *creq = NULL, *sts = NULL;
		assert_int_equal(berth_sigv4_canonical_request(treq_req(&t), signed_headers, &creq, &err), 0);
		if (c->creq && strcmp(creq, c->creq) != 0)
			fail_msg("%s: canonical request\n%s\nexpected\n%s", c->name, creq, c->creq);
		assert_int_equal(berth_sigv4_string_to_sign("20150830T123600Z", "us-east-1", "service", creq,
							     &sts, &err),
				 0);
		if (c->sts)
			assert_string_equal(sts, c->sts);
		free(creq);
		free(sts);

		/* The signer gives the very same Authorization header. */
		if (c->signer_matches) {
			struct treq s;
			treq_copy(&s, &t);
			sign_into(&s, "us-east-1", "service", SUITE_AKID, SUITE_SECRET);
			if (strcmp(treq_get(&s, "Authorization"), treq_get(&t, "Authorization")) != 0)
				fail_msg("%s: signer gave\n%s\nexpected\n%s", c->name,
					 treq_get(&s, "Authorization"), treq_get(&t, "Authorization"));
			treq_free(&s);
		}
		if (c->expect_rc == 0)
			check_tampering(&t, "us-east-1", "service", SUITE_NOW);
		treq_free(&t);
	}
}

/* ------------------------------------------------------------------------
 * Requests as the real `aws ecs` CLI sends them (captured off the wire) and
 * as botocore signs them, made by tests/unit/gen_sigv4_vectors.py with
 * BOTO_AKID / BOTO_SECRET; now is each request's own signing time. */

struct boto_case {
	const char *name, *method, *path, *query, *region;
	time_t now;
	int expect_rc;
	const char *expect_code;
	size_t nheaders;
	struct berth_http_header headers[16];
	const char *body;
	size_t body_len;
};

static const struct boto_case boto[] = {
/* BEGIN GENERATED by tests/unit/gen_sigv4_vectors.py (key AKIDBERTHEXAMPLE / berth/secret+KEY/example0123456789abcdef) */
	{
		.name = "aws-cli/2.9.19 ecs list-clusters",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457957,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 8,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v769 source/x86_64.debian.12 prompt/off command/ecs.list-clusters"},
			{"X-Amz-Date", "20261123T181917Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=1b4a0e54a02cfbc7a494ae42cbc5f0b213eaa85d267e0cce39f82a5e6860606c"},
			{"Content-Length", "2"},
		},
		.body = "{}",
		.body_len = 2,
	},
	{
		.name = "aws-cli/2.9.19 ecs describe-clusters",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "eu-west-1",
		.now = 1795457959,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 8,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v769 source/x86_64.debian.12 prompt/off command/ecs.describe-clusters"},
			{"X-Amz-Date", "20261123T181919Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/eu-west-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=27e4e92e56f652388c96b758e235399c2244b3ed37dba848929de7b2fcbbb8da"},
			{"Content-Length", "25"},
		},
		.body = "{\"clusters\": [\"default\"]}",
		.body_len = 25,
	},
	{
		.name = "aws-cli/2.9.19 ecs run-task",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457962,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 8,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RunTask"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v769 source/x86_64.debian.12 prompt/off command/ecs.run-task"},
			{"X-Amz-Date", "20261123T181922Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=9ea78c52c61b680a2d3be9da35560b8ceb88d7e5e55c07778fc8930849ff643b"},
			{"Content-Length", "95"},
		},
		.body = "{\"cluster\": \"default\", \"count\": 2, \"startedBy\": \"b\\u00e9rth \\u2603\", \"taskDefinition\": \"web:3\"}",
		.body_len = 95,
	},
	{
		.name = "aws-cli/2.9.19 ecs register-task-definition",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457964,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 8,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v769 source/x86_64.debian.12 prompt/off command/ecs.register-task-definition"},
			{"X-Amz-Date", "20261123T181924Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=8c7669b6ebe40d5f0d952392f859264720b026d637b79a18b5938a923ddb5b80"},
			{"Content-Length", "143"},
		},
		.body = "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"image\": \"busybox\", \"memory\": 64, \"command\": [\"sh\", \"-c\", \"echo   hi  &&  sleep 1\"]}]}",
		.body_len = 143,
	},
	{
		.name = "aws-cli/2.9.19 ecs list-clusters with a session token",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457966,
		.expect_rc = 1,
		.expect_code = "UnrecognizedClientException",
		.nheaders = 9,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v769 source/x86_64.debian.12 prompt/off command/ecs.list-clusters"},
			{"X-Amz-Date", "20261123T181926Z"},
			{"X-Amz-Security-Token", "FQoGZXIvYXdzEBAaDberthsessiontokenexample=="},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=8d7bb21ee2cfa5981e068c8af4d9d2528b673b604958898702b7fa3333f1061c"},
			{"Content-Length", "2"},
		},
		.body = "{}",
		.body_len = 2,
	},
	{
		.name = "aws-cli/1.45.11 ecs list-clusters",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457969,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 10,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/Z,g,E,C,N,b cfg/retry-mode#standard botocore/1.43.11"},
			{"X-Amz-Date", "20261123T181929Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=043ed982186906a809f266be93566d6a306fd19acf6852bfee789fa99859a8c5"},
			{"amz-sdk-invocation-id", "d831bc0b-7e6e-4468-8a34-b1ceb6e59581"},
			{"amz-sdk-request", "attempt=1"},
			{"Content-Length", "2"},
		},
		.body = "{}",
		.body_len = 2,
	},
	{
		.name = "aws-cli/1.45.11 ecs describe-clusters",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "eu-west-1",
		.now = 1795457970,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 10,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/g,Z,E,N,b cfg/retry-mode#standard botocore/1.43.11"},
			{"X-Amz-Date", "20261123T181930Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/eu-west-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=205fddd1ba90bb53dc9786df81d6e5fb224b4d2027132dec40cdb80069417f47"},
			{"amz-sdk-invocation-id", "de2c56f7-419c-4790-b638-b7e7bd298432"},
			{"amz-sdk-request", "attempt=1"},
			{"Content-Length", "25"},
		},
		.body = "{\"clusters\": [\"default\"]}",
		.body_len = 25,
	},
	{
		.name = "aws-cli/1.45.11 ecs run-task",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457971,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 10,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RunTask"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/g,b,Z,N,E cfg/retry-mode#standard botocore/1.43.11"},
			{"X-Amz-Date", "20261123T181931Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=bfc6f10846292ec6cf2f6a32e8aae24a8ed3f9b5d595281d83348f7265f6a8b7"},
			{"amz-sdk-invocation-id", "5e5dafa0-ab61-47ef-b53e-023ae71fdabe"},
			{"amz-sdk-request", "attempt=1"},
			{"Content-Length", "150"},
		},
		.body = "{\"cluster\": \"default\", \"count\": 2, \"startedBy\": \"b\\u00e9rth \\u2603\", \"taskDefinition\": \"web:3\", \"clientToken\": \"5abd5640-72f2-4542-be84-f78ec5f87114\"}",
		.body_len = 150,
	},
	{
		.name = "aws-cli/1.45.11 ecs register-task-definition",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457973,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 10,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/b,E,g,N,Z cfg/retry-mode#standard botocore/1.43.11"},
			{"X-Amz-Date", "20261123T181933Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=773cf8499c70c3a0fa3733c74ded0452ded4525a2af0a91675e1e2d3d86fd958"},
			{"amz-sdk-invocation-id", "e26cb410-86a9-4a06-96cc-8b692f44503e"},
			{"amz-sdk-request", "attempt=1"},
			{"Content-Length", "143"},
		},
		.body = "{\"family\": \"web\", \"containerDefinitions\": [{\"name\": \"a\", \"image\": \"busybox\", \"memory\": 64, \"command\": [\"sh\", \"-c\", \"echo   hi  &&  sleep 1\"]}]}",
		.body_len = 143,
	},
	{
		.name = "aws-cli/1.45.11 ecs list-clusters with a session token",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457974,
		.expect_rc = 1,
		.expect_code = "UnrecognizedClientException",
		.nheaders = 11,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Accept-Encoding", "identity"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"User-Agent", "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,E,b,C,g,Z cfg/retry-mode#standard botocore/1.43.11"},
			{"X-Amz-Date", "20261123T181934Z"},
			{"X-Amz-Security-Token", "FQoGZXIvYXdzEBAaDberthsessiontokenexample=="},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=52e8b897a6cdc6b68feebe9071655d53fe43a0839d3ea1bfd8f2a36ee871daa1"},
			{"amz-sdk-invocation-id", "79456c7f-8629-4e97-8fee-b0490cdcb881"},
			{"amz-sdk-request", "attempt=1"},
			{"Content-Length", "2"},
		},
		.body = "{}",
		.body_len = 2,
	},
	{
		.name = "botocore 1.43.11 GET with query params (spaces, '+', UTF-8, repeated keys)",
		.method = "GET",
		.path = "/",
		.query = "b=2&a=x+y&a=1%2B1&empty=&%C3%BC=~v%2Fw",
		.region = "us-east-1",
		.now = 1795457975,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 3,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"X-Amz-Date", "20261123T181935Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=61354ba9caa21e4cc4424856ed5ed5d3549013db4ab0bb32b6733021838cae51"},
		},
		.body = "",
		.body_len = 0,
	},
	{
		.name = "botocore 1.43.11 POST with a query in the URL and an un-normalised path",
		.method = "POST",
		.path = "/a%20b/./c//d/../e/",
		.query = "Z=1&A=2&A=1&k",
		.region = "us-east-1",
		.now = 1795457975,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 6,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"X-Amz-Date", "20261123T181935Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=7716945eaf7a93cd6f9653ec13cad5436223654a544aeabb177c225d73740a58"},
			{"Content-Length", "17"},
		},
		.body = "{\"maxResults\": 5}",
		.body_len = 17,
	},
	{
		.name = "botocore 1.43.11 POST with a Date header instead of X-Amz-Date",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457975,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 6,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"Date", "Mon, 23 Nov 2026 18:19:35 -0000"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;date;host;x-amz-target, Signature=694a8653f2520b96af5c077c2ad323dbfc007e3cc2a48790bc1069f678eaca2a"},
			{"Content-Length", "2"},
		},
		.body = "{}",
		.body_len = 2,
	},
	{
		.name = "botocore 1.43.11 POST with multi-space and empty signed headers",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457975,
		.expect_rc = 0,
		.expect_code = "",
		.nheaders = 8,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"X-Berth-Note", "  a   b\011c  "},
			{"X-Berth-Empty", ""},
			{"X-Amz-Date", "20261123T181935Z"},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-berth-empty;x-berth-note, Signature=c2426e80b7d609ef66143a1da635be8afa6de56b28bc8d8429441eed7407dbb4"},
			{"Content-Length", "2"},
		},
		.body = "{}",
		.body_len = 2,
	},
	{
		.name = "botocore 1.43.11 POST signed with a session token",
		.method = "POST",
		.path = "/",
		.query = "",
		.region = "us-east-1",
		.now = 1795457975,
		.expect_rc = 1,
		.expect_code = "UnrecognizedClientException",
		.nheaders = 7,
		.headers = {
			{"Host", "127.0.0.1:40439"},
			{"Content-Type", "application/x-amz-json-1.1"},
			{"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
			{"X-Amz-Date", "20261123T181935Z"},
			{"X-Amz-Security-Token", "FQoGZXIvYXdzEBAaDberthsessiontokenexample=="},
			{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDBERTHEXAMPLE/20261123/us-east-1/ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=bf96bee1fb5bf1fb0cc06c4ad9b15808e2f9a276628539f08c70c72907ca7ca6"},
			{"Content-Length", "2"},
		},
		.body = "{}",
		.body_len = 2,
	},
/* END GENERATED */
};

static void treq_from_boto(struct treq *t, const struct boto_case *c)
{
	memset(t, 0, sizeof(*t));
	t->method = xstrdup(c->method);
	t->path = xstrdup(c->path);
	t->query = xstrdup(c->query);
	for (size_t i = 0; i < c->nheaders; i++)
		treq_add(t, c->headers[i].name, c->headers[i].value);
	treq_set_body(t, c->body, c->body_len);
}

static void botocore_vectors(void **state)
{
	(void)state;
	size_t cli = 0;
	for (size_t i = 0; i < sizeof(boto) / sizeof(boto[0]); i++) {
		const struct boto_case *c = &boto[i];
		struct treq t;
		struct berth_sigv4_result res;
		treq_from_boto(&t, c);
		int r = verify_with(&t, c->region, "ecs", c->now, &res);
		if (r != c->expect_rc || strcmp(res.error_code, c->expect_code) != 0)
			fail_msg("%s: rc %d %s: %s", c->name, r, res.error_code, res.message);
		cli += strncmp(c->name, "aws-cli/", 8) == 0;
		if (r == 0) {
			assert_string_equal(res.access_key_id, BOTO_AKID);
			assert_string_equal(res.region, c->region);
			/* Any region is fine when none is configured. */
			assert_int_equal(verify_with(&t, NULL, "ecs", c->now, &res), 0);
			assert_string_equal(res.region, c->region);
			check_tampering(&t, c->region, "ecs", c->now);
			/* Another region or service. */
			expect_refused(&t, strcmp(c->region, "us-west-2") ? "us-west-2" : "us-east-1", "ecs",
				       c->now, BERTH_SIGV4_INVALID,
				       "Credential should be scoped to a valid region, not '");
			expect_refused(&t, c->region, "ecr", c->now, BERTH_SIGV4_INVALID,
				       "Credential should be scoped to correct service: 'ecr'.");
			/* The target operation is signed. */
			if (treq_get(&t, "X-Amz-Target")) {
				struct treq u;
				treq_copy(&u, &t);
				treq_set(&u, "X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteCluster");
				expect_refused(&u, c->region, "ecs", c->now, BERTH_SIGV4_INVALID,
					       "does not match");
				treq_free(&u);
			}
			/* ±15 minutes. */
			assert_int_equal(verify_with(&t, c->region, "ecs", c->now + 900, &res), 0);
			assert_int_equal(verify_with(&t, c->region, "ecs", c->now - 900, &res), 0);
			expect_refused(&t, c->region, "ecs", c->now + 901, BERTH_SIGV4_INVALID,
				       "Signature expired: ");
			expect_refused(&t, c->region, "ecs", c->now - 901, BERTH_SIGV4_INVALID,
				       "Signature not yet current: ");
		}
		/* berth's signer agrees with botocore wherever botocore signed every
		 * header it sent (true of the direct botocore cases). */
		if (strncmp(c->name, "botocore ", 9) == 0 && !treq_get(&t, "X-Amz-Security-Token")) {
			struct treq s;
			treq_copy(&s, &t);
			keep_only_signed(&s);
			sign_into(&s, c->region, "ecs", BOTO_AKID, BOTO_SECRET);
			assert_string_equal(treq_get(&s, "Authorization"), treq_get(&t, "Authorization"));
			treq_free(&s);
		}
		treq_free(&t);
	}
	assert_true(cli >= 4);
}

/* ------------------------------------------------------------------------
 * Refusals, one by one (AWS's codes and messages). */

static void suite_request(struct treq *t)
{
	treq_parse(t, suite[0].sreq); /* get-vanilla */
}

static void missing_authorization(void **state)
{
	(void)state;
	struct treq t;
	suite_request(&t);
	treq_del(&t, "Authorization");
	struct berth_sigv4_result res;
	assert_int_equal(verify_suite(&t, &res), 1);
	assert_int_equal(res.http_status, 400);
	assert_string_equal(res.error_code, "MissingAuthenticationTokenException");
	assert_string_equal(res.message, "Missing Authentication Token");
	assert_string_equal(res.access_key_id, "");

	/* Presigned (query-string) requests are not supported. */
	free(t.query);
	t.query = xstrdup("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request");
	expect_suite_refused(&t, BERTH_SIGV4_INCOMPLETE, "presigned");
	treq_free(&t);

	/* Both ways at once. */
	suite_request(&t);
	free(t.query);
	t.query = xstrdup("X-Amz-Algorithm=AWS4-HMAC-SHA256");
	expect_suite_refused(&t, BERTH_SIGV4_INVALID,
			     "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
	treq_free(&t);

	/* Two Authorization headers. */
	suite_request(&t);
	treq_add(&t, "authorization", treq_get(&t, "Authorization"));
	expect_suite_refused(&t, BERTH_SIGV4_INCOMPLETE, "more than one 'Authorization' header");
	treq_free(&t);
}

#define CRED "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
#define SH "SignedHeaders=host;x-amz-date"
#define SIG "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

struct auth_case {
	const char *auth;
	const char *code; /* NULL: valid */
	const char *msg;
};

static const struct auth_case auth_cases[] = {
	/* Robust parsing: spacing and order do not matter. */
	{"AWS4-HMAC-SHA256 " CRED "," SH "," SIG, NULL, NULL},
	{"AWS4-HMAC-SHA256   " CRED " ,\t" SH ",   " SIG "  ", NULL, NULL},
	{"  AWS4-HMAC-SHA256 " SIG ", " CRED ", " SH, NULL, NULL},
	{"AWS4-HMAC-SHA256 " CRED "/, " SH ", " SIG, NULL, NULL}, /* trailing '/' ignored */
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=X-Amz-Date;Host, " SIG, NULL, NULL},
	{"AWS4-HMAC-SHA256 " CRED ", " SH ", " SIG ", Unknown=ignored", NULL, NULL},
	/* Missing parts. */
	{"AWS4-HMAC-SHA256", BERTH_SIGV4_INCOMPLETE,
	 "Authorization header requires 'Credential' parameter. Authorization header requires "
	 "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
	 "Authorization=AWS4-HMAC-SHA256"},
	{"AWS4-HMAC-SHA256 " CRED, BERTH_SIGV4_INCOMPLETE,
	 "Authorization header requires 'Signature' parameter. Authorization header requires "
	 "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"},
	{"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=", BERTH_SIGV4_INCOMPLETE,
	 "Authorization header requires 'Signature' parameter."},
	{"AWS4-HMAC-SHA256 Credential=, " SH ", " SIG, BERTH_SIGV4_INCOMPLETE,
	 "Authorization header requires 'Credential' parameter."},
	{"", BERTH_SIGV4_INCOMPLETE, "Authorization header requires 'Credential' parameter."},
	{"Basic dXNlcjpwYXNzd29yZA==", BERTH_SIGV4_INCOMPLETE,
	 "Authorization header requires 'Credential' parameter."},
	{"Bearer abcdef", BERTH_SIGV4_INCOMPLETE,
	 "'abcdef' not a valid key=value pair (missing equal-sign) in Authorization header: "
	 "'Bearer abcdef'."},
	{"AWS4-HMAC-SHA256 Credential= AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " SH ", " SIG,
	 BERTH_SIGV4_INCOMPLETE,
	 "'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request' not a valid key=value pair (missing equal-sign)"},
	/* Duplicates. */
	{"AWS4-HMAC-SHA256 " CRED ", " CRED ", " SH ", " SIG, BERTH_SIGV4_INCOMPLETE,
	 "more than one 'Credential' parameter"},
	{"AWS4-HMAC-SHA256 " CRED ", " SH ", " SH ", " SIG, BERTH_SIGV4_INCOMPLETE,
	 "more than one 'SignedHeaders' parameter"},
	{"AWS4-HMAC-SHA256 " CRED ", " SH ", " SIG ", " SIG, BERTH_SIGV4_INCOMPLETE,
	 "more than one 'Signature' parameter"},
	/* SignedHeaders. */
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=, " SIG, BERTH_SIGV4_INVALID,
	 "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-date, " SIG, BERTH_SIGV4_INVALID,
	 "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;;x-amz-date, " SIG, BERTH_SIGV4_INCOMPLETE,
	 "'SignedHeaders' must be a ';'-separated list"},
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;host;x-amz-date, " SIG, BERTH_SIGV4_INCOMPLETE,
	 "'SignedHeaders' must be a ';'-separated list"},
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date;, " SIG, BERTH_SIGV4_INCOMPLETE,
	 "'SignedHeaders' must be a ';'-separated list"},
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x:y, " SIG, BERTH_SIGV4_INCOMPLETE,
	 "'SignedHeaders' must be a ';'-separated list"},
	/* Algorithm. */
	{"AWS4-HMAC-SHA512 " CRED ", " SH ", " SIG, BERTH_SIGV4_INCOMPLETE,
	 "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now)."},
	{"aws4-hmac-sha256 " CRED ", " SH ", " SIG, BERTH_SIGV4_INCOMPLETE,
	 "Unsupported AWS 'algorithm': 'aws4-hmac-sha256'"},
	{"AWS4-HMAC-SHA256," CRED ", " SH ", " SIG, BERTH_SIGV4_INCOMPLETE,
	 "Authorization header requires 'Credential' parameter."},
	/* Credential. */
	{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, " SH ", " SIG,
	 BERTH_SIGV4_INCOMPLETE,
	 "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
	 "got 'AKIDEXAMPLE/20150830/us-east-1/service'"},
	{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/x, " SH ", " SIG,
	 BERTH_SIGV4_INCOMPLETE, "got 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/x'"},
	{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_reqest, " SH ", " SIG,
	 BERTH_SIGV4_INVALID,
	 "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reqest'."},
	{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, " SH ", " SIG,
	 BERTH_SIGV4_INVALID,
	 "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
	 "'20150831' != '20150830', from '20150830T123600Z'."},
	{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/ecs/aws4_req, " SH ", " SIG,
	 BERTH_SIGV4_INVALID,
	 "Credential should be scoped to a valid region, not 'eu-west-1'. Credential should be scoped "
	 "to correct service: 'service'. Credential should be scoped with a valid terminator: "
	 "'aws4_request', not 'aws4_req'."},
	{"AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20150830/us-east-1/service/aws4_request, " SH ", " SIG,
	 BERTH_SIGV4_UNRECOGNIZED, "The security token included in the request is invalid."},
	{"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, " SH ", " SIG,
	 BERTH_SIGV4_UNRECOGNIZED, "The security token included in the request is invalid."},
	/* Signature. */
	{"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31",
	 BERTH_SIGV4_INVALID,
	 "The request signature we calculated does not match the signature you provided. Check your "
	 "AWS Secret Access Key and signing method. Consult the service documentation for details."},
	{"AWS4-HMAC-SHA256 " CRED ", " SH ", " SIG "0", BERTH_SIGV4_INVALID, "does not match"},
	{"AWS4-HMAC-SHA256 " CRED ", " SH ", Signature=5fa00fa3", BERTH_SIGV4_INVALID, "does not match"},
	{"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;my-header;x-amz-date, " SIG, BERTH_SIGV4_INVALID,
	 "does not match"},
	/* Client bytes are echoed as printable ASCII only. */
	{"AWS4-HMAC-SHA256 \x01\x7f\xc3\xa9\xff", BERTH_SIGV4_INCOMPLETE,
	 "'\?\?\?\?\?' not a valid key=value pair (missing equal-sign) in Authorization header: "
	 "'AWS4-HMAC-SHA256 \?\?\?\?\?'."},
};

static void malformed_authorization(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(auth_cases) / sizeof(auth_cases[0]); i++) {
		const struct auth_case *c = &auth_cases[i];
		struct treq t;
		suite_request(&t);
		treq_set(&t, "Authorization", c->auth);
		struct berth_sigv4_result res;
		int r = verify_suite(&t, &res);
		if (!c->code) {
			if (r != 0)
				fail_msg("case %zu \"%s\": %s: %s", i, c->auth, res.error_code, res.message);
		} else if (r != 1 || strcmp(res.error_code, c->code) != 0 || !strstr(res.message, c->msg)) {
			fail_msg("case %zu \"%s\": expected %s \"%s\", got %d %s: %s", i, c->auth, c->code,
				 c->msg, r, res.error_code, res.message);
		}
		treq_free(&t);
	}
}

static void region_and_service(void **state)
{
	(void)state;
	struct treq t;
	suite_request(&t);
	expect_refused(&t, "us-west-2", "service", SUITE_NOW, BERTH_SIGV4_INVALID,
		       "Credential should be scoped to a valid region, not 'us-east-1'.");
	expect_refused(&t, "us-east-1", "ecs", SUITE_NOW, BERTH_SIGV4_INVALID,
		       "Credential should be scoped to correct service: 'ecs'.");
	struct berth_sigv4_result res;
	assert_int_equal(verify_with(&t, NULL, "service", SUITE_NOW, &res), 0);
	assert_string_equal(res.region, "us-east-1");
	/* Region names are compared exactly. */
	expect_refused(&t, "US-EAST-1", "service", SUITE_NOW, BERTH_SIGV4_INVALID, "valid region");
	treq_free(&t);

	/* Any region, but one that looks like a region (it ends up in ARNs). */
	static const char *const odd[] = {"US-EAST-1", "us_east_1", "..", "a:b", "a%2F",
					  "a-very-long-region-name-that-no-one-would-ever-use-0123456789-0123456789"};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct treq s;
		ecs_request(&s);
		sign_into(&s, odd[i], "ecs", SUITE_AKID, SUITE_SECRET);
		expect_refused(&s, NULL, "ecs", SUITE_NOW, BERTH_SIGV4_INVALID,
			       "Credential should be scoped to a valid region, not '");
		treq_free(&s);
	}
	ecs_request(&t);
	sign_into(&t, "eu-central-2", "ecs", SUITE_AKID, SUITE_SECRET);
	struct berth_sigv4_result r2;
	assert_int_equal(verify_with(&t, NULL, "ecs", SUITE_NOW, &r2), 0);
	assert_string_equal(r2.region, "eu-central-2");
	treq_free(&t);
}

static void unknown_key_is_not_looked_up_before_the_checks(void **state)
{
	(void)state;
	struct treq t;
	suite_request(&t);
	set_auth_param(&t, "Credential", "AKIDNOPE/20150830/us-east-1/service/aws4_request");
	lookups = 0;
	expect_suite_refused(&t, BERTH_SIGV4_UNRECOGNIZED,
			     "The security token included in the request is invalid.");
	assert_int_equal(lookups, 1);
	struct berth_sigv4_result res;
	verify_suite(&t, &res);
	assert_string_equal(res.access_key_id, "AKIDNOPE"); /* for the daemon's log */
	/* A refusal before the key is known never asks for a secret. */
	lookups = 0;
	expect_refused(&t, "us-east-1", "service", SUITE_NOW + 3600, BERTH_SIGV4_INVALID, "expired");
	assert_int_equal(lookups, 0);
	treq_free(&t);
}

static void dates(void **state)
{
	(void)state;
	struct treq t;
	struct berth_sigv4_result res;

	suite_request(&t);
	/* The boundaries are inclusive: 15 minutes either way is fine. */
	assert_int_equal(verify_with(&t, "us-east-1", "service", SUITE_NOW + 900, &res), 0);
	assert_int_equal(verify_with(&t, "us-east-1", "service", SUITE_NOW - 900, &res), 0);
	assert_int_equal(verify_with(&t, "us-east-1", "service", SUITE_NOW + 901, &res), 1);
	assert_string_equal(res.error_code, "InvalidSignatureException");
	assert_string_equal(res.message, "Signature expired: 20150830T123600Z is now earlier than "
					 "20150830T123601Z (20150830T125101Z - 15 min.)");
	assert_int_equal(verify_with(&t, "us-east-1", "service", SUITE_NOW - 901, &res), 1);
	assert_string_equal(res.error_code, "InvalidSignatureException");
	assert_string_equal(res.message, "Signature not yet current: 20150830T123600Z is still later "
					 "than 20150830T123559Z (20150830T122059Z + 15 min.)");
	assert_int_equal(verify_with(&t, "us-east-1", "service", 0, &res), 1);
	assert_int_equal(verify_with(&t, "us-east-1", "service", (time_t)4102444800, &res), 1);

	/* No date at all. */
	treq_del(&t, "X-Amz-Date");
	expect_suite_refused(&t, BERTH_SIGV4_INCOMPLETE,
			     "Authorization header requires existence of either a 'X-Amz-Date' or a "
			     "'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=");
	treq_free(&t);

	static const char *const bad[] = {
		"2015-08-30T12:36:00Z", "20150830T123600", "20150830T123600z", "20150830 123600Z",
		"20150830T123600ZZ", "20150230T123600Z", "20151330T123600Z", "20150830T243600Z",
		"20150830T126000Z", "20150830T123660Z", "2015083OT123600Z", "",
		"20150830T123600Z,20150830T123600Z", "+0150830T123600Z", "19691231T235959Z",
		"Sun, 30 Aug 2015 12:36:00 GMT", /* X-Amz-Date must be ISO 8601 basic */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		suite_request(&t);
		treq_set(&t, "X-Amz-Date", bad[i]);
		expect_suite_refused(&t, BERTH_SIGV4_INCOMPLETE, "Date must be in ISO-8601 'basic format'. Got '");
		treq_free(&t);
	}
	/* Repeated: ambiguous, refused. */
	suite_request(&t);
	treq_add(&t, "x-amz-date", "20150830T123600Z");
	expect_suite_refused(&t, BERTH_SIGV4_INCOMPLETE,
			     "Got '20150830T123600Z,20150830T123600Z'");
	treq_free(&t);

	/* Leading/trailing spaces are trimmed like any header value. */
	suite_request(&t);
	treq_set(&t, "X-Amz-Date", "  20150830T123600Z ");
	expect_suite_ok(&t);
	treq_free(&t);

	/* Without X-Amz-Date, a Date header: ISO 8601 basic, or an HTTP date
	 * (botocore sends "..., 12:36:00 -0000" when a request has a Date header;
	 * see the botocore vectors).  X-Amz-Date wins when both are present. */
	static const char *const dates_ok[] = {
		"20150830T123600Z", "Sun, 30 Aug 2015 12:36:00 GMT", "Sun, 30 Aug 2015 12:36:00 -0000",
		"Sun, 30 Aug 2015 12:36:00 +0000", "Sun, 30 Aug 2015 14:36:00 +0200",
		"Sun, 30 Aug 2015 11:06:00 -0130", "Sun, 30 Aug 2015 12:36:00 UTC",
		"Sun, 6 Sep 2015 12:36:00 GMT",
	};
	for (size_t i = 0; i < sizeof(dates_ok) / sizeof(dates_ok[0]); i++) {
		struct treq s;
		memset(&s, 0, sizeof(s));
		s.method = xstrdup("POST");
		s.path = xstrdup("/");
		s.query = xstrdup("");
		treq_add(&s, "Host", "example.amazonaws.com");
		treq_add(&s, "Date", dates_ok[i]);
		treq_set_body(&s, "{}", 2);
		sign_into(&s, "us-east-1", "service", SUITE_AKID, SUITE_SECRET);
		struct berth_sigv4_result r2;
		time_t now = i == 7 ? SUITE_NOW + 7 * 86400 : SUITE_NOW;
		if (verify_with(&s, "us-east-1", "service", now, &r2) != 0)
			fail_msg("Date: %s: %s: %s", dates_ok[i], r2.error_code, r2.message);
		char cred[128];
		auth_param(&s, "Credential", cred, sizeof(cred));
		assert_string_equal(cred, i == 7 ? "AKIDEXAMPLE/20150906/us-east-1/service/aws4_request"
						 : "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request");
		/* X-Amz-Date takes precedence over Date. */
		treq_add(&s, "X-Amz-Date", i == 7 ? "20150906T124000Z" : "20150830T124000Z");
		expect_refused(&s, "us-east-1", "service", now, BERTH_SIGV4_INVALID, "does not match");
		treq_free(&s);
	}

	/* Bad Date headers. */
	static const char *const bad_http[] = {
		"Sun, 30 Aug 2015 12:36:00", "Sun, 30 Foo 2015 12:36:00 GMT", "Sun 30 Aug 2015 12:36:00 GMT",
		"Sun, 31 Feb 2015 12:36:00 GMT", "Sun, 30 Aug 2015 12:36:00 +2400", "yesterday",
		"Sun, 30 Aug 2015 12:36:00 GMT trailing", "Sun, 30 Aug 15 12:36:00 GMT",
	};
	for (size_t i = 0; i < sizeof(bad_http) / sizeof(bad_http[0]); i++) {
		suite_request(&t);
		treq_del(&t, "X-Amz-Date");
		treq_add(&t, "Date", bad_http[i]);
		expect_suite_refused(&t, BERTH_SIGV4_INCOMPLETE, "Date must be in ISO-8601 'basic format'.");
		treq_free(&t);
	}
}

/* A fresh POST signed by berth's signer (checked against botocore above). */
static void ecs_request(struct treq *t)
{
	memset(t, 0, sizeof(*t));
	t->method = xstrdup("POST");
	t->path = xstrdup("/");
	t->query = xstrdup("");
	treq_add(t, "Host", "berth.example:8080");
	treq_add(t, "X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters");
	treq_add(t, "Content-Type", "application/x-amz-json-1.1");
	treq_add(t, "X-Amz-Date", "20150830T123600Z");
	treq_set_body(t, "{}", 2);
}

static void payload_hash_header(void **state)
{
	(void)state;
	struct treq t;
	char hex[BERTH_SHA256_HEX_LEN + 1];
	struct berth_err err = {0};

	ecs_request(&t);
	assert_int_equal(berth_sha256_buf_hex("{}", 2, hex, &err), 0);
	treq_add(&t, "X-Amz-Content-Sha256", hex);
	sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	struct berth_sigv4_result res;
	assert_int_equal(verify_with(&t, "us-east-1", "ecs", SUITE_NOW, &res), 0);
	treq_free(&t);

	/* Signed, but not the body's hash (S3's UNSIGNED-PAYLOAD included). */
	static const char *const wrong[] = {
		"UNSIGNED-PAYLOAD", EMPTY_SHA, "",
		"44136FA355B3678A1146AD16F7E8649E94FB4FC21FE77E8310C060F61CAAFF8A", /* upper case */
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		ecs_request(&t);
		treq_add(&t, "X-Amz-Content-Sha256", wrong[i]);
		sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
		expect_refused(&t, "us-east-1", "ecs", SUITE_NOW, BERTH_SIGV4_INVALID,
			       "The provided 'x-amz-content-sha256' header does not match what was computed.");
		treq_free(&t);
	}
}

static void session_tokens(void **state)
{
	(void)state;
	struct treq t;

	/* Signed token header (botocore's way), unsigned one, query parameter. */
	ecs_request(&t);
	treq_add(&t, "X-Amz-Security-Token", "FQoGZXIvYXdzEBAaDtoken");
	sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	expect_refused(&t, "us-east-1", "ecs", SUITE_NOW, BERTH_SIGV4_UNRECOGNIZED,
		       "The security token included in the request is invalid.");
	treq_free(&t);

	ecs_request(&t);
	sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	treq_add(&t, "x-amz-security-token", "added-after-signing");
	expect_refused(&t, "us-east-1", "ecs", SUITE_NOW, BERTH_SIGV4_UNRECOGNIZED, "security token");
	treq_free(&t);

	ecs_request(&t);
	free(t.query);
	t.query = xstrdup("X-Amz-Security-Token=abc");
	sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	expect_refused(&t, "us-east-1", "ecs", SUITE_NOW, BERTH_SIGV4_UNRECOGNIZED, "security token");
	treq_free(&t);

	/* A bad signature is reported as such even with a token (AWS's order). */
	ecs_request(&t);
	treq_add(&t, "X-Amz-Security-Token", "FQoGZXIvYXdzEBAaDtoken");
	sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	flip_signature(&t);
	expect_refused(&t, "us-east-1", "ecs", SUITE_NOW, BERTH_SIGV4_INVALID, "does not match");
	treq_free(&t);
}

static void canonical_forms(void **state)
{
	(void)state;
	static const struct {
		const char *path, *query, *creq_start;
	} cases[] = {
		{"", "", "GET\n/\n\n"},
		{"/", NULL, "GET\n/\n\n"},
		{"/a%20b/./c//d/../e/", "Z=1&A=2&A=1&k", "GET\n/a%2520b/c/e/\nA=1&A=2&Z=1&k=\n"},
		{"/../../a", "b=%7e%41&a=%zz&c=%4", "GET\n/a\na=%25zz&b=~A&c=%254\n"},
		{"/a/b/..", "&&x=1&&", "GET\n/a\nx=1\n"},
		{"/a/b/../", "x=a+b%2Bc&x==", "GET\n/a/\nx=%3D&x=a%20b%2Bc\n"},
		{"/%2F/\303\251", "a-b=1&a=2&a.b=3", "GET\n/%252F/%C3%A9\na=2&a-b=1&a.b=3\n"},
		{"/~user/@:!$&'()*+,;=", "", "GET\n/~user/%40%3A%21%24%26%27%28%29%2A%2B%2C%3B%3D\n\n"},
		{"/", "%00=%ff", "GET\n/\n%00=%FF\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct berth_http_header h[] = {{"Host", "h"}, {"X-A", "  a \t b  "}, {"x-a", "c"},
						{"X-Empty", "   "}};
		struct berth_sigv4_request req = {
			.method = "GET", .path = cases[i].path, .query = cases[i].query,
			.headers = h, .nheaders = 4,
		};
		char *creq = NULL;
		struct berth_err err = {0};
		assert_int_equal(berth_sigv4_canonical_request(&req, "X-Empty;host;x-a", &creq, &err), 0);
		char want[512];
		snprintf(want, sizeof(want), "%shost:h\nx-a:a b,c\nx-empty:\n\nhost;x-a;x-empty\n" EMPTY_SHA,
			 cases[i].creq_start);
		if (strcmp(creq, want) != 0)
			fail_msg("case %zu:\n%s\nexpected\n%s", i, creq, want);
		free(creq);
	}
	struct berth_sigv4_request req = {.method = "GET", .path = "/"};
	char *creq = NULL;
	struct berth_err err = {0};
	assert_int_equal(berth_sigv4_canonical_request(&req, "host;;x", &creq, &err), -1);
	assert_int_equal(berth_sigv4_canonical_request(&req, "", &creq, &err), 0);
	assert_string_equal(creq, "GET\n/\n\n\n\n" EMPTY_SHA);
	free(creq);
	req.body_len = 3; /* no body pointer */
	assert_int_equal(berth_sigv4_canonical_request(&req, "", &creq, &err), -1);
}

static void signing_key_and_hmac(void **state)
{
	(void)state;
	unsigned char key[32];
	char hex[65];
	struct berth_err err = {0};
	/* AWS's documented example (IAM, 2012-02-15). */
	assert_int_equal(berth_sigv4_signing_key(SUITE_SECRET, "20120215", "us-east-1", "iam", key, &err), 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
	/* A secret longer than an HMAC block (the key is hashed first);
	 * expected value from Python's hmac module. */
	char secret[256];
	for (int i = 0; i < 255; i++)
		secret[i] = (char)(0x21 + (i * 7) % 94);
	secret[255] = '\0';
	assert_int_equal(berth_sigv4_signing_key(secret, "20150830", "us-east-1", "ecs", key, &err), 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	assert_string_equal(hex, "65eaebc7e6682cac3f7c6f1ff45c3489d7643b21efc0a8f10ea3290acbafba64");
	char toolong[300];
	memset(toolong, 'a', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = '\0';
	assert_int_equal(berth_sigv4_signing_key(toolong, "20150830", "us-east-1", "ecs", key, &err), -1);
}

static void signer_errors(void **state)
{
	(void)state;
	struct treq t;
	char auth[64];
	struct berth_err err = {0};

	ecs_request(&t);
	treq_del(&t, "Host");
	assert_int_equal(berth_sigv4_sign(treq_req(&t), "us-east-1", "ecs", "AKID", "s", auth, sizeof(auth), &err), -1);
	assert_non_null(strstr(err.msg, "Host"));
	treq_free(&t);

	ecs_request(&t);
	treq_del(&t, "X-Amz-Date");
	assert_int_equal(berth_sigv4_sign(treq_req(&t), "us-east-1", "ecs", "AKID", "s", auth, sizeof(auth), &err), -1);
	assert_non_null(strstr(err.msg, "X-Amz-Date"));
	treq_free(&t);

	ecs_request(&t);
	assert_int_equal(berth_sigv4_sign(treq_req(&t), "us-east-1", "ecs", "AKID", "s", auth, sizeof(auth), &err), -1);
	assert_int_equal(err.errnum, ENOSPC);
	treq_free(&t);
}

/* ------------------------------------------------------------------------
 * Hostile input: sizes, counts, bytes. */

static void hostile_sizes(void **state)
{
	(void)state;
	struct treq t;
	struct berth_sigv4_result res;

	/* Thousands of unsigned headers around a valid request. */
	ecs_request(&t);
	sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	size_t n = 5000 + t.n;
	struct berth_http_header *h = calloc(n, sizeof(*h));
	char (*names)[24] = calloc(5000, sizeof(*names));
	assert_non_null(h);
	assert_non_null(names);
	for (size_t i = 0; i < 5000; i++) {
		snprintf(names[i], sizeof(names[i]), "X-Junk-%zu", i % 97);
		h[i] = (struct berth_http_header){names[i], "\xff\x01 junk \x7f"};
	}
	treq_req(&t);
	for (size_t i = 0; i < t.n; i++)
		h[5000 + i] = t.h[i];
	struct berth_sigv4_request req = t.req;
	req.headers = h;
	req.nheaders = n;
	struct berth_err err = {0};
	assert_int_equal(berth_sigv4_verify(&req, "us-east-1", "ecs", SUITE_NOW, test_secret, NULL, &res, &err), 0);
	/* ... and signed: they take part, in order. */
	h[0].name = "X-Amz-Target"; /* a second X-Amz-Target value now */
	assert_int_equal(berth_sigv4_verify(&req, "us-east-1", "ecs", SUITE_NOW, test_secret, NULL, &res, &err), 1);
	assert_string_equal(res.error_code, BERTH_SIGV4_INVALID);
	free(h);
	free(names);
	treq_free(&t);

	/* A 1 MiB signed header value and body, with non-ASCII bytes. */
	ecs_request(&t);
	size_t big = 1 << 20;
	char *v = malloc(big + 1);
	assert_non_null(v);
	for (size_t i = 0; i < big; i++)
		v[i] = (char)(i % 7 == 0 ? ' ' : 0x80 + i % 120);
	v[big] = '\0';
	treq_add(&t, "X-Big", v);
	treq_set_body(&t, v, big);
	free(v);
	sign_into(&t, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	assert_int_equal(verify_with(&t, "us-east-1", "ecs", SUITE_NOW, &res), 0);
	t.body[big - 1] ^= 0x40;
	expect_refused(&t, "us-east-1", "ecs", SUITE_NOW, BERTH_SIGV4_INVALID, "does not match");
	treq_free(&t);

	/* A huge SignedHeaders list, a huge Authorization header, a huge path
	 * and query. */
	suite_request(&t);
	size_t cap = 400000;
	char *list = malloc(cap);
	assert_non_null(list);
	size_t len = (size_t)snprintf(list, cap, "AWS4-HMAC-SHA256 " CRED ", " SIG ", SignedHeaders=host");
	for (int i = 0; len + 16 < cap; i++)
		len += (size_t)snprintf(list + len, cap - len, ";z%06d", i);
	treq_set(&t, "Authorization", list);
	expect_suite_refused(&t, BERTH_SIGV4_INVALID, "does not match");
	for (size_t i = 0; i + 4 < cap - 1; i += 4)
		memcpy(list + i, "a=b ", 4);
	list[cap - 1] = '\0';
	treq_set(&t, "Authorization", list);
	expect_suite_refused(&t, BERTH_SIGV4_INCOMPLETE, "Authorization header requires 'Credential'");
	free(list);
	treq_free(&t);

	suite_request(&t);
	char *path = malloc(300001), *query = malloc(300001);
	assert_non_null(path);
	assert_non_null(query);
	for (size_t i = 0; i < 300000; i += 3) {
		memcpy(path + i, i % 2 ? "/.." : "//x", 3);
		memcpy(query + i, i % 2 ? "&&=" : "a%2", 3);
	}
	path[300000] = query[300000] = '\0';
	free(t.path);
	free(t.query);
	t.path = path;
	t.query = query;
	expect_suite_refused(&t, BERTH_SIGV4_INVALID, "does not match");
	treq_free(&t);
}

static uint32_t rnd_state = 0x9e3779b9;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void fuzz_mutations(void **state)
{
	(void)state;
	static const char alphabet[] = " ,=/;%+&?.\t\x01\x7f\x80\xc3\xa9\xff" "AZaz09-_~";
	struct treq good;
	ecs_request(&good);
	sign_into(&good, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	free(good.query);
	good.query = xstrdup("a=1&b=%20x");
	sign_into(&good, "us-east-1", "ecs", SUITE_AKID, SUITE_SECRET);
	int ok = 0, refused = 0;
	for (int iter = 0; iter < 3000; iter++) {
		struct treq t;
		treq_copy(&t, &good);
		int which = (int)(rnd() % 5);
		char *s = which == 0 ? t.path : which == 1 ? t.query : which == 2 ? t.body
				: t.value[treq_find(&t, which == 3 ? "Authorization" : "X-Amz-Date")];
		size_t len = which == 2 ? t.body_len : strlen(s);
		for (int k = 0, m = 1 + (int)(rnd() % 3); k < m && len; k++)
			s[rnd() % len] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		struct berth_sigv4_result res;
		int r = verify_with(&t, "us-east-1", "ecs", SUITE_NOW, &res);
		ok += r == 0;
		refused += r == 1;
		treq_free(&t);
	}
	assert_int_equal(ok + refused, 3000);
	assert_true(refused > 2500);
	treq_free(&good);
}

/* ------------------------------------------------------------------------
 * The credentials file. */

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-sigv4-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	struct berth_err err = {0};
	return berth_rm_rf_at(AT_FDCWD, tmpdir, &err) < 0 ? -1 : 0;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static const char good_file[] =
	"# berth's key pairs\r\n"
	"; another comment\n"
	"\n"
	"[default]\n"
	"aws_access_key_id = AKIDEXAMPLE\n"
	"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\r\n"
	"region = us-east-1\n"
	"\n"
	"[ ci ]\n"
	"  AWS_ACCESS_KEY_ID=AKID-ci_2.x\n"
	"\tAWS_Secret_Access_Key:\tci+secret/==\t\n"
	"[empty-profile]\n"
	"output = json\n"
	"[last]\n"
	"aws_secret_access_key=s3cr3t\n"
	"aws_access_key_id=LAST";

static void credentials_good(void **state)
{
	(void)state;
	struct berth_credentials *c = NULL;
	struct berth_err err = {0};
	const char *path = write_file("good", good_file, 0600);
	if (berth_credentials_load(path, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(c->n, 3);
	assert_string_equal(c->keys[0].profile, "default");
	assert_string_equal(c->keys[0].access_key_id, "AKIDEXAMPLE");
	assert_string_equal(c->keys[0].secret, SUITE_SECRET);
	assert_string_equal(c->keys[1].profile, "ci");
	assert_string_equal(c->keys[1].access_key_id, "AKID-ci_2.x");
	assert_string_equal(c->keys[1].secret, "ci+secret/==");
	assert_string_equal(c->keys[2].profile, "last");
	assert_string_equal(berth_credentials_find(c, "LAST")->secret, "s3cr3t");
	assert_null(berth_credentials_find(c, "last"));
	assert_null(berth_credentials_find(c, "AKIDEXAMPL"));

	char secret[BERTH_SIGV4_SECRET_MAX + 1];
	assert_int_equal(berth_credentials_secret(c, "AKID-ci_2.x", secret, sizeof(secret)), 0);
	assert_string_equal(secret, "ci+secret/==");
	assert_int_equal(berth_credentials_secret(c, "nope", secret, sizeof(secret)), -1);
	assert_int_equal(berth_credentials_secret(c, "LAST", secret, 6), -1); /* no room for NUL */
	assert_int_equal(berth_credentials_secret(c, "LAST", secret, 7), 0);

	/* End to end: a request signed with a pair from the file verifies. */
	struct treq t;
	ecs_request(&t);
	sign_into(&t, "us-east-1", "ecs", "AKID-ci_2.x", "ci+secret/==");
	struct berth_sigv4_result res;
	assert_int_equal(berth_sigv4_verify(treq_req(&t), "us-east-1", "ecs", SUITE_NOW,
					    berth_credentials_secret, c, &res, &err),
			 0);
	assert_string_equal(res.access_key_id, "AKID-ci_2.x");
	sign_into(&t, "us-east-1", "ecs", "AKID-ci_2.x", "wrong");
	assert_int_equal(berth_sigv4_verify(treq_req(&t), "us-east-1", "ecs", SUITE_NOW,
					    berth_credentials_secret, c, &res, &err),
			 1);
	assert_string_equal(res.error_code, BERTH_SIGV4_INVALID);
	treq_free(&t);
	berth_credentials_free(c);
	berth_credentials_free(NULL);
}

static void expect_load_error(const char *path, const char *want)
{
	struct berth_credentials *c = NULL;
	struct berth_err err = {0};
	assert_int_equal(berth_credentials_load(path, &c, &err), -1);
	assert_null(c);
	if (!strstr(err.msg, want))
		fail_msg("expected \"%s\" in \"%s\"", want, err.msg);
	/* Secrets are never part of a message. */
	assert_null(strstr(err.msg, "SECRETVALUE"));
}

static void expect_parse_error(const char *text, const char *want)
{
	expect_load_error(write_file("bad", text, 0600), want);
}

static void credentials_file_checks(void **state)
{
	(void)state;
	char path[160];

	expect_load_error(write_file("mode", good_file, 0640),
			  "is accessible to group or others (mode 0640); it holds secret keys: chmod 600 it");
	expect_load_error(write_file("mode", good_file, 0604), "mode 0604");
	expect_load_error(write_file("mode", good_file, 0601), "mode 0601");
	/* Read-only for the owner is fine. */
	{
		struct berth_credentials *c = NULL;
		struct berth_err err = {0};
		assert_int_equal(berth_credentials_load(write_file("mode", good_file, 0400), &c, &err), 0);
		berth_credentials_free(c);
	}

	write_file("target", good_file, 0600);
	snprintf(path, sizeof(path), "%s/link", tmpdir);
	assert_int_equal(symlink("target", path), 0);
	expect_load_error(path, "is a symbolic link");

	expect_load_error(tmpdir, "is not a regular file");
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	expect_load_error(path, "No such file or directory");

	if (geteuid() == 0) { /* only root can give a file away */
		const char *owned = write_file("owned", good_file, 0600);
		assert_int_equal(chown(owned, 12345, 12345), 0);
		expect_load_error(owned, "is owned by uid 12345");
	}

	/* Too large. */
	size_t big = BERTH_CREDENTIALS_FILE_MAX + 10;
	char *text = malloc(big + 1);
	assert_non_null(text);
	memset(text, '#', big);
	text[big] = '\0';
	expect_load_error(write_file("big", text, 0600), "is larger than");
	free(text);
}

static void credentials_parse_errors(void **state)
{
	(void)state;
	expect_parse_error("", "no profile with aws_access_key_id and aws_secret_access_key");
	expect_parse_error("# only\n; comments\n[p]\nregion=x\n", "no profile with");
	expect_parse_error("[a]\naws_access_key_id=AKID1\n", "profile [a] (line 1) has aws_access_key_id but no aws_secret_access_key");
	expect_parse_error("[a]\naws_secret_access_key=SECRETVALUE\n[b]\n", "has aws_secret_access_key but no aws_access_key_id");
	expect_parse_error("[a]\naws_access_key_id=AKID1\naws_secret_access_key=SECRETVALUE\n"
			   "[b]\naws_access_key_id=AKID1\naws_secret_access_key=SECRETVALUE2\n",
			   "access key id AKID1 appears in profiles [a] and [b]");
	expect_parse_error("[a]\naws_access_key_id=AKID1\naws_access_key_id=AKID2\n", "line 3: aws_access_key_id given twice in profile [a]");
	expect_parse_error("[a]\naws_secret_access_key=SECRETVALUE\naws_secret_access_key=SECRETVALUE\n", "line 3: aws_secret_access_key given twice");
	expect_parse_error("[a]\n[b]\n[a]\n", "line 3: profile [a] appears twice");
	expect_parse_error("aws_access_key_id=AKID1\n", "line 1: key outside a [profile] section");
	expect_parse_error("[a]\njust some words\n", "line 2: expected 'key = value'");
	expect_parse_error("[a\n", "line 1: unterminated section header");
	expect_parse_error("[]\n", "line 1: invalid section name");
	expect_parse_error("[a]b]\n", "line 1: invalid section name");
	expect_parse_error("[a]\naws_access_key_id=AK ID\n", "line 2: aws_access_key_id must be 1-127 letters");
	expect_parse_error("[a]\naws_access_key_id=AKID/1\n", "aws_access_key_id must be");
	expect_parse_error("[a]\naws_access_key_id=\n", "aws_access_key_id must be");
	expect_parse_error("[a]\naws_access_key_id=\303\251\n", "aws_access_key_id must be");
	expect_parse_error("[a]\naws_secret_access_key=SECRETVALUE with space\n", "line 2: aws_secret_access_key must be 1-255 printable");
	expect_parse_error("[a]\naws_secret_access_key=SECRETVALUE\303\251\n", "aws_secret_access_key must be");
	expect_parse_error("[a]\naws_secret_access_key=\n", "aws_secret_access_key must be");

	char akid[200] = "[a]\naws_access_key_id=";
	memset(akid + strlen(akid), 'A', 128);
	expect_parse_error(akid, "aws_access_key_id must be");

	/* NUL bytes: parse takes a length. */
	struct berth_credentials *c = NULL;
	struct berth_err err = {0};
	static const char nul[] = "[a]\naws_access_key_id=A\0B\naws_secret_access_key=s\n";
	assert_int_equal(berth_credentials_parse(nul, sizeof(nul) - 1, "mem", &c, &err), -1);
	assert_non_null(strstr(err.msg, "credentials file mem: contains a NUL byte"));

	/* The longest accepted id and secret. */
	char ok[600];
	int n = snprintf(ok, sizeof(ok), "[a]\naws_access_key_id=");
	memset(ok + n, 'A', 127);
	n += 127;
	n += snprintf(ok + n, sizeof(ok) - (size_t)n, "\naws_secret_access_key=");
	memset(ok + n, 's', 255);
	ok[n + 255] = '\0';
	assert_int_equal(berth_credentials_parse(ok, strlen(ok), "mem", &c, &err), 0);
	assert_int_equal(strlen(c->keys[0].access_key_id), 127);
	assert_int_equal(strlen(c->keys[0].secret), 255);
	char secret[BERTH_SIGV4_SECRET_MAX + 1];
	assert_int_equal(berth_credentials_secret(c, c->keys[0].access_key_id, secret, sizeof(secret)), 0);
	berth_credentials_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(suite_vectors),
		cmocka_unit_test(botocore_vectors),
		cmocka_unit_test(missing_authorization),
		cmocka_unit_test(malformed_authorization),
		cmocka_unit_test(region_and_service),
		cmocka_unit_test(unknown_key_is_not_looked_up_before_the_checks),
		cmocka_unit_test(dates),
		cmocka_unit_test(payload_hash_header),
		cmocka_unit_test(session_tokens),
		cmocka_unit_test(canonical_forms),
		cmocka_unit_test(signing_key_and_hmac),
		cmocka_unit_test(signer_errors),
		cmocka_unit_test(hostile_sizes),
		cmocka_unit_test(fuzz_mutations),
		cmocka_unit_test_setup_teardown(credentials_good, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(credentials_file_checks, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(credentials_parse_errors, setup_tmp, teardown_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
