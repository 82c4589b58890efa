/* Unit tests: the task-definition registry (scheduler/registry.c) — its ECS
 * handlers called directly, its files under a temporary root, reopening,
 * damaged state, the lock, and the corpus of tests/data/taskdefs/ (read
 * relative to the repository root, where the test runs). */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "common/util.h"
#include "scheduler/api.h"
#include "scheduler/registry.h"
#include "scheduler/taskdef.h"

#define CORPUS "tests/data/taskdefs/"
#define ARN "arn:aws:ecs:us-east-1:123456789012:task-definition/"
#define TD(fam) "{\"family\":\"" fam "\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}]}"

/* scheduler/api.c defines the real one; this stands in when it is absent. */
__attribute__((weak)) int berth_api_fail(struct berth_api_error *e, int http_status, const char *type,
					 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	e->http_status = http_status;
	snprintf(e->type, sizeof(e->type), "%s", type);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

static char root[PATH_MAX];
static struct berth_registry *reg;
static struct berth_api_ctx ctx = {
	.region = "us-east-1",
	.account = "123456789012",
	.cluster = "default",
	.principal = "arn:aws:iam::123456789012:root",
};

static void reg_open(void)
{
	struct berth_err err = {0};
	if (berth_registry_open(root, &reg, &err) < 0)
		fail_msg("open: %s", err.msg);
	ctx.registry = reg;
}

static void reg_reopen(void)
{
	berth_registry_close(reg);
	reg_open();
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/berth-registry-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	reg_open();
	return 0;
}

static int teardown(void **state)
{
	struct berth_err err = {0};
	berth_registry_close(reg);
	reg = NULL;
	return berth_rm_rf_at(AT_FDCWD, root, &err);
}

static berth_api_handler handler(const char *action)
{
	for (const struct berth_api_action *a = berth_registry_actions; a->name; a++)
		if (!strcmp(a->name, action))
			return a->fn;
	fail_msg("no action %s", action);
	return NULL;
}

static int call(const char *action, const char *json, cJSON **resp, struct berth_api_error *e)
{
	cJSON *req = cJSON_Parse(json);
	if (!req)
		fail_msg("bad test JSON: %s", json);
	*resp = NULL;
	memset(e, 0, sizeof(*e));
	int rc = handler(action)(&ctx, req, resp, e);
	cJSON_Delete(req);
	if (rc == 0)
		assert_non_null(*resp);
	else
		assert_null(*resp);
	return rc;
}

static cJSON *ok(const char *action, const char *json)
{
	cJSON *resp;
	struct berth_api_error e;
	if (call(action, json, &resp, &e) < 0)
		fail_msg("%s %s: %s: %s", action, json, e.type, e.message);
	return resp;
}

static void refused(const char *action, const char *json, const char *type, const char *want)
{
	cJSON *resp;
	struct berth_api_error e;
	if (call(action, json, &resp, &e) == 0) {
		char *s = cJSON_PrintUnformatted(resp);
		fail_msg("%s %s: accepted: %s", action, json, s);
	}
	if (strcmp(e.type, type) || !strstr(e.message, want) || e.http_status != 400)
		fail_msg("%s %s: got %d %s \"%s\", want %s \"%s\"", action, json, e.http_status, e.type, e.message,
			 type, want);
}

static const cJSON *td_of(const cJSON *resp)
{
	const cJSON *td = cJSON_GetObjectItemCaseSensitive(resp, "taskDefinition");
	assert_true(cJSON_IsObject(td));
	return td;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsString(j))
		fail_msg("%s is not a string", key);
	return j->valuestring;
}

static int rev_of(const cJSON *resp)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(td_of(resp), "revision");
	assert_true(cJSON_IsNumber(j));
	return j->valueint;
}

/* Register json; its revision. */
static int reg_td(const char *json)
{
	cJSON *r = ok("RegisterTaskDefinition", json);
	int rev = rev_of(r);
	cJSON_Delete(r);
	return rev;
}

/* Describe ref: "<revision> <status>". */
static void expect_describe(const char *ref, int rev, const char *status)
{
	char req[512];
	snprintf(req, sizeof(req), "{\"taskDefinition\":\"%s\"}", ref);
	cJSON *r = ok("DescribeTaskDefinition", req);
	assert_int_equal(rev_of(r), rev);
	assert_string_equal(str_of(td_of(r), "status"), status);
	cJSON_Delete(r);
}

/* The strings of resp[key], joined with spaces. */
static void joined(const cJSON *resp, const char *key, char *out, size_t n)
{
	const cJSON *it, *a = cJSON_GetObjectItemCaseSensitive(resp, key);
	assert_true(cJSON_IsArray(a));
	out[0] = '\0';
	cJSON_ArrayForEach(it, a)
		snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? " " : "",
			 !strncmp(it->valuestring, ARN, strlen(ARN)) ? it->valuestring + strlen(ARN) : it->valuestring);
}

static void expect_list(const char *action, const char *req, const char *key, const char *want)
{
	char got[4096];
	cJSON *r = ok(action, req);
	joined(r, key, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("%s %s: got \"%s\", want \"%s\"", action, req, got, want);
	assert_null(cJSON_GetObjectItemCaseSensitive(r, "nextToken"));
	cJSON_Delete(r);
}

/* Walk every page of size 1 ("extra" goes into each request); the items
 * joined as expect_list shows them. */
static void walk_pages(const char *action, const char *extra, const char *key, const char *want)
{
	char got[4096] = "", req[1024], item[512];
	char *tok = NULL;
	for (int pages = 0;; pages++) {
		assert_true(pages < 50);
		snprintf(req, sizeof(req), "{\"maxResults\":1%s%s%s%s}", extra, tok ? ",\"nextToken\":\"" : "",
			 tok ? tok : "", tok ? "\"" : "");
		free(tok);
		tok = NULL;
		cJSON *r = ok(action, req);
		joined(r, key, item, sizeof(item));
		if (item[0])
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", got[0] ? " " : "", item);
		const cJSON *nt = cJSON_GetObjectItemCaseSensitive(r, "nextToken");
		if (nt)
			tok = strdup(nt->valuestring);
		else
			assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, key)) <= 1, 1);
		cJSON_Delete(r);
		if (!tok)
			break;
	}
	if (strcmp(got, want))
		fail_msg("pages of %s%s: got \"%s\", want \"%s\"", action, extra, got, want);
}

static char *read_at(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/taskdefs/%s", root, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 17);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 17) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_at(const char *rel, const char *text, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/taskdefs/%s", root, rel);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void remove_at(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/taskdefs/%s", root, rel);
	assert_int_equal(unlink(path), 0);
}

/* ---- tests -------------------------------------------------------------- */

static void test_register(void **state)
{
	assert_int_equal(reg_td(TD("web")), 1);
	assert_int_equal(reg_td(TD("web")), 2);
	cJSON *r = ok("RegisterTaskDefinition",
		      "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}],"
		      "\"tags\":[{\"key\":\"team\",\"value\":\"core\"}]}");
	const cJSON *td = td_of(r);
	assert_int_equal(rev_of(r), 3);
	assert_string_equal(str_of(td, "taskDefinitionArn"), ARN "web:3");
	assert_string_equal(str_of(td, "status"), "ACTIVE");
	assert_string_equal(str_of(td, "registeredBy"), ctx.principal);
	assert_string_equal(str_of(td, "family"), "web");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(td, "registeredAt");
	assert_true(cJSON_IsNumber(at) && at->valuedouble > 1.6e9);
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(td, "requiresAttributes");
	assert_true(cJSON_IsArray(ra) && cJSON_GetArraySize(ra) == 0);
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(td, "compatibilities")));
	assert_null(cJSON_GetObjectItemCaseSensitive(td, "deregisteredAt"));
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(r, "tags");
	assert_int_equal(cJSON_GetArraySize(tags), 1);
	assert_string_equal(str_of(cJSON_GetArrayItem(tags, 0), "key"), "team");
	assert_null(cJSON_GetObjectItemCaseSensitive(td, "tags"));

	/* The file is the response, written before it. */
	char *file = read_at("web/3.json"), *next = read_at("web/next");
	assert_non_null(file);
	cJSON *stored = cJSON_Parse(file);
	assert_true(cJSON_Compare(stored, r, true));
	assert_string_equal(next, "4\n");
	cJSON_Delete(stored);
	free(file);
	free(next);
	cJSON_Delete(r);
	assert_int_equal(reg_td(TD("other")), 1);
}

static void test_describe(void **state)
{
	reg_td(TD("web"));
	reg_td("{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}],"
	       "\"tags\":[{\"key\":\"k\",\"value\":\"\"}]}");
	reg_td(TD("web"));
	expect_describe("web", 3, "ACTIVE");
	expect_describe("web:2", 2, "ACTIVE");
	expect_describe("web:0002", 2, "ACTIVE");
	expect_describe(ARN "web:1", 1, "ACTIVE");

	cJSON *r = ok("DescribeTaskDefinition", "{\"taskDefinition\":\"web:2\"}");
	assert_null(cJSON_GetObjectItemCaseSensitive(r, "tags"));
	cJSON_Delete(r);
	r = ok("DescribeTaskDefinition", "{\"taskDefinition\":\"web:2\",\"include\":[\"TAGS\"]}");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(r, "tags");
	assert_int_equal(cJSON_GetArraySize(tags), 1);
	assert_string_equal(str_of(cJSON_GetArrayItem(tags, 0), "value"), "");
	cJSON_Delete(r);
	r = ok("DescribeTaskDefinition", "{\"taskDefinition\":\"web\",\"include\":[]}");
	assert_null(cJSON_GetObjectItemCaseSensitive(r, "tags"));
	cJSON_Delete(r);
	r = ok("DescribeTaskDefinition", "{\"taskDefinition\":\"web:1\",\"include\":[\"TAGS\"]}");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "tags")), 0);
	cJSON_Delete(r);
}

static void test_deregister(void **state)
{
	for (int i = 0; i < 3; i++)
		reg_td(TD("web"));
	cJSON *r = ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"web:3\"}");
	const cJSON *td = td_of(r);
	assert_string_equal(str_of(td, "status"), "INACTIVE");
	const cJSON *dat = cJSON_GetObjectItemCaseSensitive(td, "deregisteredAt");
	assert_true(cJSON_IsNumber(dat) && dat->valuedouble > 1.6e9);
	double when = dat->valuedouble;
	assert_null(cJSON_GetObjectItemCaseSensitive(r, "tags"));
	cJSON_Delete(r);
	char *file = read_at("web/3.json");
	assert_non_null(strstr(file, "\"INACTIVE\""));
	free(file);

	expect_describe("web", 2, "ACTIVE");
	expect_describe("web:3", 3, "INACTIVE");
	/* Again: ECS answers with the revision, unchanged. */
	r = ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"web:3\"}");
	assert_true(cJSON_GetObjectItemCaseSensitive(td_of(r), "deregisteredAt")->valuedouble == when);
	cJSON_Delete(r);
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"" ARN "web:2\"}"));
	expect_describe("web", 1, "ACTIVE");
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"web:1\"}"));
	refused("DescribeTaskDefinition", "{\"taskDefinition\":\"web\"}", "ClientException",
		"Unable to describe task definition.");
	expect_describe("web:1", 1, "INACTIVE");

	/* resolve (RunTask): bare family = ACTIVE only; explicit = any. */
	assert_null(berth_registry_resolve(reg, "web", NULL, NULL));
	uint32_t rev = 0;
	const char *arn = NULL;
	const struct berth_taskdef *t = berth_registry_resolve(reg, ARN "web:3", &rev, &arn);
	assert_non_null(t);
	assert_int_equal(rev, 3);
	assert_string_equal(arn, ARN "web:3");
	assert_string_equal(t->family, "web");
	assert_string_equal(berth_registry_status(reg, "web", 3), "INACTIVE");
	assert_null(berth_registry_status(reg, "web", 4));
	reg_td(TD("web"));
	t = berth_registry_resolve(reg, "web", &rev, &arn);
	assert_non_null(t);
	assert_int_equal(rev, 4);
	assert_string_equal(arn, ARN "web:4");
	assert_string_equal(berth_registry_status(reg, "web", 4), "ACTIVE");
	assert_null(berth_registry_resolve(reg, "web:abc", NULL, NULL));
	assert_null(berth_registry_resolve(reg, "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4", NULL,
					   NULL));
	assert_null(berth_registry_resolve(reg, "nope", NULL, NULL));
}

static void test_never_reused(void **state)
{
	for (int i = 0; i < 3; i++)
		reg_td(TD("web"));
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"web:3\"}"));
	assert_int_equal(reg_td(TD("web")), 4);
	reg_reopen();
	assert_int_equal(reg_td(TD("web")), 5);
	/* A revision's file gone: the counter still has its number. */
	remove_at("web/5.json");
	reg_reopen();
	assert_int_equal(reg_td(TD("web")), 6);
	/* A crash between the counter and the revision file. */
	write_at("web/next", "10\n", 3);
	reg_reopen();
	assert_int_equal(reg_td(TD("web")), 10);
	/* The counter lost: the highest file counts. */
	remove_at("web/next");
	reg_reopen();
	assert_int_equal(reg_td(TD("web")), 11);
	/* A counter behind the files (restored from an old backup). */
	write_at("web/next", "2\n", 2);
	reg_reopen();
	assert_int_equal(reg_td(TD("web")), 12);
	/* A family that only ever got its counter. */
	assert_int_equal(mkdir(strcat(strcpy((char[PATH_MAX]){0}, root), "/taskdefs/fresh"), 0700), 0);
	write_at("fresh/next", "7\n", 2);
	reg_reopen();
	expect_list("ListTaskDefinitionFamilies", "{}", "families", "web");
	assert_int_equal(reg_td(TD("fresh")), 7);
}

static void test_persistence(void **state)
{
	reg_td(TD("a"));
	reg_td("{\"family\":\"b\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}],"
	       "\"tags\":[{\"key\":\"x\",\"value\":\"y\"}]}");
	reg_td(TD("b"));
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"b:1\"}"));
	const char *refs[] = {"a", "b:1", "b:2"};
	char *before[3];
	for (int i = 0; i < 3; i++) {
		char req[128];
		snprintf(req, sizeof(req), "{\"taskDefinition\":\"%s\",\"include\":[\"TAGS\"]}", refs[i]);
		cJSON *r = ok("DescribeTaskDefinition", req);
		before[i] = cJSON_PrintUnformatted(r);
		cJSON_Delete(r);
	}
	reg_reopen();
	for (int i = 0; i < 3; i++) {
		char req[128];
		snprintf(req, sizeof(req), "{\"taskDefinition\":\"%s\",\"include\":[\"TAGS\"]}", refs[i]);
		cJSON *r = ok("DescribeTaskDefinition", req);
		char *after = cJSON_PrintUnformatted(r);
		assert_string_equal(after, before[i]);
		free(after);
		free(before[i]);
		cJSON_Delete(r);
	}
	expect_list("ListTaskDefinitions", "{}", "taskDefinitionArns", "a:1 b:2");
	expect_list("ListTaskDefinitions", "{\"status\":\"INACTIVE\"}", "taskDefinitionArns", "b:1");
}

static void test_damaged(void **state)
{
	for (int i = 0; i < 3; i++)
		reg_td(TD("web"));
	reg_td(TD("other"));
	char *good = read_at("web/2.json");
	write_at("web/2.json", good, strlen(good) / 2);            /* truncated */
	write_at("web/.tmp-0123456789abcdef", good, strlen(good) / 3); /* a write cut short */
	char *other = read_at("other/1.json");
	write_at("web/7.json", other, strlen(other));               /* another family's */
	write_at("web/junk.txt", "x", 1);
	write_at("stray", "x", 1);
	free(good);
	free(other);

	char log[PATH_MAX];
	snprintf(log, sizeof(log), "%s/stderr", root);
	fflush(stderr);
	int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	berth_registry_close(reg);
	struct berth_err err = {0};
	int rc = berth_registry_open(root, &reg, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (rc < 0)
		fail_msg("open: %s", err.msg);
	ctx.registry = reg;

	FILE *f = fopen(log, "r");
	assert_non_null(f);
	char text[4096] = "";
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	if (!strstr(text, "berth: warning: task definitions ") || !strstr(text, "web/2.json: skipped: not JSON") ||
	    !strstr(text, "web/7.json: skipped: its family is not the directory's") ||
	    !strstr(text, "web/junk.txt: ignored") || !strstr(text, "stray: ignored"))
		fail_msg("warnings:\n%s", text);
	assert_null(strstr(text, ".tmp-"));
	char *tmp = read_at("web/.tmp-0123456789abcdef");
	assert_null(tmp); /* removed */

	expect_describe("web:1", 1, "ACTIVE");
	expect_describe("web:3", 3, "ACTIVE");
	expect_describe("other", 1, "ACTIVE");
	refused("DescribeTaskDefinition", "{\"taskDefinition\":\"web:2\"}", "ClientException", "Unable to describe");
	refused("DescribeTaskDefinition", "{\"taskDefinition\":\"web:7\"}", "ClientException", "Unable to describe");
	expect_list("ListTaskDefinitions", "{\"familyPrefix\":\"web\"}", "taskDefinitionArns", "web:1 web:3");
	/* 7.json's number is taken even though it did not load. */
	assert_int_equal(reg_td(TD("web")), 8);
}

static void setup_lists(void)
{
	reg_td(TD("web"));
	reg_td(TD("api"));
	reg_td(TD("web"));
	reg_td(TD("worker"));
	reg_td(TD("web"));
	reg_td(TD("worker"));
	reg_td(TD("old"));
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"web:2\"}"));
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"old:1\"}"));
}

static void test_list(void **state)
{
	setup_lists();
	const char *k = "taskDefinitionArns";
	expect_list("ListTaskDefinitions", "{}", k, "api:1 web:1 web:3 worker:1 worker:2");
	expect_list("ListTaskDefinitions", "{\"sort\":\"ASC\",\"status\":\"ACTIVE\"}", k,
		    "api:1 web:1 web:3 worker:1 worker:2");
	expect_list("ListTaskDefinitions", "{\"sort\":\"DESC\"}", k, "worker:2 worker:1 web:3 web:1 api:1");
	expect_list("ListTaskDefinitions", "{\"status\":\"INACTIVE\"}", k, "old:1 web:2");
	expect_list("ListTaskDefinitions", "{\"status\":\"DELETE_IN_PROGRESS\"}", k, "");
	expect_list("ListTaskDefinitions", "{\"familyPrefix\":\"web\"}", k, "web:1 web:3");
	expect_list("ListTaskDefinitions", "{\"familyPrefix\":\"web\",\"sort\":\"DESC\"}", k, "web:3 web:1");
	/* ECS: familyPrefix is the full family name. */
	expect_list("ListTaskDefinitions", "{\"familyPrefix\":\"w\"}", k, "");
	expect_list("ListTaskDefinitions", "{\"familyPrefix\":\"nope\"}", k, "");
	expect_list("ListTaskDefinitions", "{\"maxResults\":100,\"nextToken\":\"\",\"familyPrefix\":null}", k,
		    "api:1 web:1 web:3 worker:1 worker:2");

	walk_pages("ListTaskDefinitions", "", k, "api:1 web:1 web:3 worker:1 worker:2");
	walk_pages("ListTaskDefinitions", ",\"sort\":\"DESC\"", k, "worker:2 worker:1 web:3 web:1 api:1");
	walk_pages("ListTaskDefinitions", ",\"familyPrefix\":\"web\"", k, "web:1 web:3");
	walk_pages("ListTaskDefinitions", ",\"familyPrefix\":\"web\",\"sort\":\"DESC\"", k, "web:3 web:1");
	walk_pages("ListTaskDefinitions", ",\"status\":\"INACTIVE\",\"sort\":\"DESC\"", k, "web:2 old:1");

	/* A page of 2, then the revision the token names goes INACTIVE: the
	 * walk goes on after it. */
	cJSON *r = ok("ListTaskDefinitions", "{\"maxResults\":2}");
	char got[256];
	joined(r, k, got, sizeof(got));
	assert_string_equal(got, "api:1 web:1");
	char req[512];
	snprintf(req, sizeof(req), "{\"nextToken\":\"%s\"}", str_of(r, "nextToken"));
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"web:1\"}"));
	expect_list("ListTaskDefinitions", req, k, "web:3 worker:1 worker:2");
	/* The token belongs to its sort order and status. */
	snprintf(req, sizeof(req), "{\"nextToken\":\"%s\",\"sort\":\"DESC\"}", str_of(r, "nextToken"));
	refused("ListTaskDefinitions", req, "InvalidParameterException", "nextToken");
	snprintf(req, sizeof(req), "{\"nextToken\":\"%s\",\"status\":\"INACTIVE\"}", str_of(r, "nextToken"));
	refused("ListTaskDefinitions", req, "InvalidParameterException", "nextToken");
	cJSON_Delete(r);

	static const char *const bad_tokens[] = {
		"garbage!", "x", "dGQxfEF8QUNUSVZFfHdlYnx4", /* td1|A|ACTIVE|web|x */
		"dGQxfEF8QUNUSVZFfHdlYnww",                   /* td1|A|ACTIVE|web|0 */
		"dGYxfEFMTHx3ZWI",                            /* tf1|ALL|web */
		"dGQxfEF8QUNUSVZFfC4uL2V0Y3wx",               /* td1|A|ACTIVE|../etc|1 */
		"dGQxfEF8QUNUSVZFfHdlYnwx=",
	};
	for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]); i++) {
		snprintf(req, sizeof(req), "{\"nextToken\":\"%s\"}", bad_tokens[i]);
		refused("ListTaskDefinitions", req, "InvalidParameterException", "nextToken is not valid");
	}
	/* A well-formed token is accepted (td1|A|ACTIVE|web|1). */
	expect_list("ListTaskDefinitions", "{\"nextToken\":\"dGQxfEF8QUNUSVZFfHdlYnwx\"}", k,
		    "web:3 worker:1 worker:2");

	refused("ListTaskDefinitions", "{\"maxResults\":0}", "InvalidParameterException", "maxResults");
	refused("ListTaskDefinitions", "{\"maxResults\":101}", "InvalidParameterException", "maxResults");
	refused("ListTaskDefinitions", "{\"maxResults\":\"5\"}", "InvalidParameterException", "maxResults");
	refused("ListTaskDefinitions", "{\"maxResults\":1.5}", "InvalidParameterException", "maxResults");
	refused("ListTaskDefinitions", "{\"maxResults\":1e300}", "InvalidParameterException", "maxResults");
	refused("ListTaskDefinitions", "{\"sort\":\"asc\"}", "InvalidParameterException", "sort must be one of ASC, DESC");
	refused("ListTaskDefinitions", "{\"status\":\"ALL\"}", "InvalidParameterException", "status must be one of");
	refused("ListTaskDefinitions", "{\"familyPrefix\":3}", "InvalidParameterException", "familyPrefix must be a string");
	refused("ListTaskDefinitions", "{\"nextToken\":[]}", "InvalidParameterException", "nextToken must be a string");
	refused("ListTaskDefinitions", "{\"cluster\":\"default\"}", "InvalidParameterException",
		"Unknown parameter \"cluster\"");
}

static void test_families(void **state)
{
	setup_lists();
	const char *k = "families";
	expect_list("ListTaskDefinitionFamilies", "{}", k, "api old web worker");
	expect_list("ListTaskDefinitionFamilies", "{\"status\":\"ALL\"}", k, "api old web worker");
	expect_list("ListTaskDefinitionFamilies", "{\"status\":\"ACTIVE\"}", k, "api web worker");
	expect_list("ListTaskDefinitionFamilies", "{\"status\":\"INACTIVE\"}", k, "old");
	expect_list("ListTaskDefinitionFamilies", "{\"familyPrefix\":\"w\"}", k, "web worker");
	expect_list("ListTaskDefinitionFamilies", "{\"familyPrefix\":\"wo\"}", k, "worker");
	expect_list("ListTaskDefinitionFamilies", "{\"familyPrefix\":\"x\"}", k, "");
	expect_list("ListTaskDefinitionFamilies", "{\"familyPrefix\":\"\"}", k, "api old web worker");
	walk_pages("ListTaskDefinitionFamilies", "", k, "api old web worker");
	walk_pages("ListTaskDefinitionFamilies", ",\"status\":\"ACTIVE\"", k, "api web worker");
	walk_pages("ListTaskDefinitionFamilies", ",\"familyPrefix\":\"w\"", k, "web worker");
	refused("ListTaskDefinitionFamilies", "{\"status\":\"DELETE_IN_PROGRESS\"}", "InvalidParameterException",
		"status must be one of ACTIVE, INACTIVE, ALL");
	refused("ListTaskDefinitionFamilies", "{\"nextToken\":\"dGQxfEF8QUNUSVZFfHdlYnwx\"}",
		"InvalidParameterException", "nextToken is not valid");
	refused("ListTaskDefinitionFamilies", "{\"maxResults\":-1}", "InvalidParameterException", "maxResults");
	refused("ListTaskDefinitionFamilies", "{\"sort\":\"ASC\"}", "InvalidParameterException", "Unknown parameter");
	/* Deregistering the last ACTIVE revision makes the family INACTIVE. */
	cJSON_Delete(ok("DeregisterTaskDefinition", "{\"taskDefinition\":\"api:1\"}"));
	expect_list("ListTaskDefinitionFamilies", "{\"status\":\"INACTIVE\"}", k, "api old");
}

static void test_bad_requests(void **state)
{
	reg_td(TD("web"));
	static const struct {
		const char *action, *json, *type, *want;
	} bad[] = {
		{"DescribeTaskDefinition", "{}", "InvalidParameterException", "taskDefinition is required."},
		{"DescribeTaskDefinition", "{\"taskDefinition\":null}", "InvalidParameterException", "is required"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":5}", "InvalidParameterException",
		 "taskDefinition must be a string."},
		{"DescribeTaskDefinition", "[\"web\"]", "InvalidParameterException", "must be a JSON object"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web\",\"cluster\":\"default\"}",
		 "InvalidParameterException", "Unknown parameter \"cluster\"."},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web\",\"taskDefinition\":\"web\"}",
		 "InvalidParameterException", "given twice"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"nope\"}", "ClientException",
		 "Unable to describe task definition."},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web:2\"}", "ClientException", "Unable to describe"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web:0\"}", "InvalidParameterException",
		 "taskDefinition: revision must be a number of at least 1."},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web:abc\"}", "InvalidParameterException", "revision"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web:\"}", "InvalidParameterException", "revision"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web:1:2\"}", "InvalidParameterException", "revision"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web:99999999999\"}", "InvalidParameterException",
		 "revision"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"\"}", "InvalidParameterException", "family must be"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"we b\"}", "InvalidParameterException", "family"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"../web\"}", "InvalidParameterException", "family"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1\"}",
		 "ClientException", "Unable to describe"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"arn:aws:ecs:us-east-1:999999999999:task-definition/web:1\"}",
		 "ClientException", "Unable to describe"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"arn:aws:ecs:us-east-1:123456789012:service/web:1\"}",
		 "InvalidParameterException", "is not a task definition's ARN"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"arn:aws:s3:us-east-1:123456789012:task-definition/web:1\"}",
		 "InvalidParameterException", "ARN"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"arn:aws:ecs:us-east-1:task-definition/web:1\"}",
		 "InvalidParameterException", "ARN"},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"arn:aws:ecs:us-east-1:123456789012:task-definition/web\"}",
		 "InvalidParameterException", "must end with \":<revision>\""},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web\",\"include\":\"TAGS\"}",
		 "InvalidParameterException", "include must be an array."},
		{"DescribeTaskDefinition", "{\"taskDefinition\":\"web\",\"include\":[\"FOO\"]}",
		 "InvalidParameterException", "include"},
		{"DeregisterTaskDefinition", "{}", "InvalidParameterException", "taskDefinition is required."},
		{"DeregisterTaskDefinition", "{\"taskDefinition\":\"web\"}", "ClientException", "Revision is missing."},
		{"DeregisterTaskDefinition", "{\"taskDefinition\":\"web:42\"}", "ClientException",
		 "The specified task definition does not exist."},
		{"DeregisterTaskDefinition", "{\"taskDefinition\":\"nope:1\"}", "ClientException", "does not exist"},
		{"DeregisterTaskDefinition", "{\"taskDefinition\":\"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1\"}",
		 "ClientException", "does not exist"},
		{"DeregisterTaskDefinition", "{\"taskDefinition\":true}", "InvalidParameterException", "must be a string"},
		{"DeregisterTaskDefinition", "{\"taskDefinition\":\"web:1\",\"include\":[\"TAGS\"]}",
		 "InvalidParameterException", "Unknown parameter \"include\"."},
		{"RegisterTaskDefinition", "[]", "InvalidParameterException", "must be a JSON object"},
		{"RegisterTaskDefinition", "{\"family\":\"web\"}", "ClientException",
		 "task definition: containerDefinitions"},
		{"RegisterTaskDefinition", "{}", "ClientException", "family"},
		{"RegisterTaskDefinition",
		 "{\"family\":\"we b\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}]}",
		 "ClientException", "family"},
		{"RegisterTaskDefinition",
		 "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}],\"foo\":1}",
		 "ClientException", "foo: unknown field"},
		{"RegisterTaskDefinition",
		 "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}],"
		 "\"requiresCompatibilities\":[\"FARGATE\"],\"cpu\":\"256\",\"memory\":\"4096\"}",
		 "ClientException", "Invalid 'cpu' setting for task."},
		{"RegisterTaskDefinition",
		 "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"app\",\"image\":\"busybox\"}],"
		 "\"tags\":[{\"key\":\"aws:x\",\"value\":\"y\"}]}",
		 "ClientException", "tags"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i].action, bad[i].json, bad[i].type, bad[i].want);
	/* Nothing was registered by the refusals. */
	expect_list("ListTaskDefinitions", "{}", "taskDefinitionArns", "web:1");
	expect_list("ListTaskDefinitionFamilies", "{}", "families", "web");

	/* No registry: ServerException, HTTP 500. */
	ctx.registry = NULL;
	cJSON *resp;
	struct berth_api_error e;
	assert_int_equal(call("DescribeTaskDefinition", "{\"taskDefinition\":\"web\"}", &resp, &e), -1);
	assert_string_equal(e.type, "ServerException");
	assert_int_equal(e.http_status, 500);
	ctx.registry = reg;

	/* The action table. */
	const char *names[] = {"RegisterTaskDefinition", "DeregisterTaskDefinition", "DescribeTaskDefinition",
			       "ListTaskDefinitions", "ListTaskDefinitionFamilies"};
	size_t n = 0;
	for (const struct berth_api_action *a = berth_registry_actions; a->name; a++, n++) {
		assert_string_equal(a->name, names[n]);
		assert_int_equal(a->mutating, n < 2);
	}
	assert_int_equal(n, 5);
}

static void test_stored_size(void **state)
{
	/* 2500 port mappings fit in 64 KiB as given, not once hostPort and
	 * protocol are filled in: refused, as the file would not read back. */
	size_t cap = 70000, len = 0;
	char *json = malloc(cap);
	assert_non_null(json);
	len += (size_t)snprintf(json, cap, "{\"family\":\"big\",\"containerDefinitions\":[{\"name\":\"a\","
					   "\"image\":\"busybox\",\"portMappings\":[");
	for (int p = 1; p <= 2500; p++)
		len += (size_t)snprintf(json + len, cap - len, "%s{\"containerPort\":%d}", p > 1 ? "," : "", p);
	snprintf(json + len, cap - len, "]}]}");
	assert_true(strlen(json) < BERTH_TD_MAX_BYTES);
	refused("RegisterTaskDefinition", json, "ClientException", "once ECS's defaults are filled in");
	free(json);
	expect_list("ListTaskDefinitionFamilies", "{}", "families", "");
	assert_int_equal(reg_td(TD("big")), 1);
}

static void test_lock(void **state)
{
	struct berth_registry *second = NULL;
	struct berth_err err = {0};
	assert_int_equal(berth_registry_open(root, &second, &err), -1);
	assert_null(second);
	if (!strstr(err.msg, "in use by another berthd") || !strstr(err.msg, "/taskdefs/.lock"))
		fail_msg("%s", err.msg);
	berth_registry_close(reg);
	reg = NULL;
	assert_int_equal(berth_registry_open(root, &second, &err), 0);
	reg = second;
	ctx.registry = reg;
}

static const char *const corpus[] = {
	"fargate-minimal.json", "console-export-nulls.json", "describe-output.json", "vcpu-gb-strings.json",
	"fractional-vcpu.json", "string-numbers.json",       "app-sidecar.json",     "full.json",
	"network-none.json",
};

static char *model_json(const char *text, const char *where)
{
	struct berth_taskdef *td = NULL;
	struct berth_err err = {0};
	if (berth_taskdef_parse(text, strlen(text), where, &td, &err) < 0)
		fail_msg("%s: %s", where, err.msg);
	char *s = berth_taskdef_to_json(td, NULL, BERTH_TD_JSON_WRAP, &err);
	assert_non_null(s);
	berth_taskdef_free(td);
	return s;
}

static void test_corpus(void **state)
{
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		char path[256];
		snprintf(path, sizeof(path), CORPUS "%s", corpus[i]);
		FILE *f = fopen(path, "rb");
		if (!f)
			fail_msg("open %s (run the test from the repository root)", path);
		char *text = calloc(1, BERTH_TD_MAX_BYTES + 1);
		assert_non_null(text);
		size_t n = fread(text, 1, BERTH_TD_MAX_BYTES, f);
		fclose(f);
		text[n] = '\0';

		cJSON *reg_resp = ok("RegisterTaskDefinition", text);
		const char *arn = str_of(td_of(reg_resp), "taskDefinitionArn");
		char req[1024];
		snprintf(req, sizeof(req), "{\"taskDefinition\":\"%s\",\"include\":[\"TAGS\"]}", arn);
		cJSON *desc = ok("DescribeTaskDefinition", req);
		if (!cJSON_Compare(desc, reg_resp, true))
			fail_msg("%s: describe differs from register", corpus[i]);
		/* What describe gives reads back as the file's model. */
		char *out = cJSON_PrintUnformatted(desc);
		char *a = model_json(text, corpus[i]), *b = model_json(out, "describe output");
		if (strcmp(a, b))
			fail_msg("%s: round trip differs:\n%s\n%s", corpus[i], a, b);
		free(a);
		free(b);
		free(out);
		free(text);
		cJSON_Delete(desc);
		cJSON_Delete(reg_resp);
	}
	/* And again after a restart. */
	reg_reopen();
	cJSON *r = ok("ListTaskDefinitions", "{}");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "taskDefinitionArns")),
			 (int)(sizeof(corpus) / sizeof(corpus[0])));
	cJSON_Delete(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_families, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corpus, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
