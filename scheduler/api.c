/* berth scheduler/ — the ECS JSON 1.1 API: action dispatch, error shapes and
 * the cluster actions (see api.h).
 *
 * Error types and statuses chosen here (what the HTTP layer adds is in
 * tools/berthd_http.c):
 *   UnknownOperationException 400  no X-Amz-Target, a target without ECS's
 *       prefix, or an action berthd does not serve: what ECS's front end
 *       (Coral) answers, as seen by SDK users of CloudWatch Logs, Kinesis,
 *       OpsWorks ({"__type":"UnknownOperationException"}, HTTP 400);
 *   SerializationException 400     a body that is not one JSON value, not
 *       UTF-8, or not a JSON object (Coral's and Smithy's answer to a body it
 *       cannot read);
 *   RequestEntityTooLargeException 413  a body above BERTH_API_MAX_BODY
 *       (normally stopped earlier by the HTTP layer);
 *   ServerException 500            a mutating action while berthd shuts down,
 *       a handler failing without saying why, out of memory;
 *   the cluster actions, like the registry's: InvalidParameterException for
 *       the request's own shape (unknown or repeated parameter, wrong JSON
 *       type, out-of-range value, a nextToken berthd never issued).
 */
#include "scheduler/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/json.h"

#define INVALID(e, ...) berth_api_fail(e, 400, "InvalidParameterException", __VA_ARGS__)

/* ECS's limits for the cluster actions. */
#define CLUSTERS_MAX 100
#define LIST_MAX 100

int berth_api_fail(struct berth_api_error *e, int http_status, const char *type, const char *fmt, ...)
{
	e->http_status = http_status;
	snprintf(e->type, sizeof(e->type), "%s", type);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	berth_json_one_line(e->message);
	return -1;
}

/* ---- request parameters ------------------------------------------------- */

/* A client-supplied string made safe to quote in a message: printable ASCII,
 * at most 64 characters ("..." when cut). */
static const char *quote(const char *s, char buf[72])
{
	size_t n = 0;
	for (; s[n] && n < 64; n++)
		buf[n] = (unsigned char)s[n] >= 0x20 && (unsigned char)s[n] < 0x7f ? s[n] : '?';
	buf[n] = '\0';
	if (s[n])
		strcpy(buf + n, "...");
	return buf;
}

/* Refuse unknown and repeated parameters (req is an object: berth_api_call
 * checked). */
static int check_params(const cJSON *req, const char *const *allowed, struct berth_api_error *e)
{
	char q[72];
	for (const cJSON *it = req->child; it; it = it->next) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(it->string, *a);
		if (!ok)
			return INVALID(e, "Unknown parameter \"%s\".", quote(it->string, q));
		for (const cJSON *o = req->child; o != it; o = o->next)
			if (!strcmp(o->string, it->string))
				return INVALID(e, "Parameter %s is given twice.", it->string);
	}
	return 0;
}

/* A list of strings; null is "not given" (*out NULL). */
static int get_str_list(const cJSON *req, const char *key, size_t max, const cJSON **out,
			struct berth_api_error *e)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(req, key);
	*out = NULL;
	if (!j || cJSON_IsNull(j))
		return 0;
	if (!cJSON_IsArray(j))
		return INVALID(e, "%s must be a list of strings.", key);
	size_t n = 0;
	for (const cJSON *it = j->child; it; it = it->next, n++)
		if (!cJSON_IsString(it))
			return INVALID(e, "%s[%zu] must be a string.", key, n);
	if (n > max)
		return INVALID(e, "%s may list at most %zu items (got %zu).", key, max, n);
	*out = j;
	return 0;
}

/* ---- ListClusters / DescribeClusters -------------------------------------- */

/* berthd manages one cluster, ctx->cluster ("default"). */
static int cluster_arn(const struct berth_api_ctx *ctx, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "arn:aws:ecs:%s:%s:cluster/%s", ctx->region, ctx->account, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int h_list_clusters(struct berth_api_ctx *ctx, const cJSON *req, cJSON **resp, struct berth_api_error *e)
{
	static const char *const allowed[] = {"maxResults", "nextToken", NULL};
	if (check_params(req, allowed, e) < 0)
		return -1;
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(req, "maxResults");
	if (j && !cJSON_IsNull(j) &&
	    (!cJSON_IsNumber(j) || j->valuedouble != (double)(int)j->valuedouble || j->valuedouble < 1 ||
	     j->valuedouble > LIST_MAX))
		return INVALID(e, "maxResults must be an integer between 1 and %d.", LIST_MAX);
	j = cJSON_GetObjectItemCaseSensitive(req, "nextToken");
	if (j && !cJSON_IsNull(j)) {
		if (!cJSON_IsString(j))
			return INVALID(e, "nextToken must be a string.");
		/* One cluster always fits one page: berthd never hands out a token. */
		return INVALID(e, "Invalid nextToken: it was not returned by this berthd's ListClusters.");
	}
	char arn[256];
	if (cluster_arn(ctx, ctx->cluster, arn, sizeof(arn)) < 0)
		return berth_api_fail(e, 500, "ServerException", "cluster ARN too long");
	cJSON *r = cJSON_CreateObject();
	cJSON *arns = cJSON_AddArrayToObject(r, "clusterArns");
	if (!arns || !cJSON_AddItemToArray(arns, cJSON_CreateString(arn)) || !arns->child) {
		cJSON_Delete(r);
		return berth_api_fail(e, 500, "ServerException", "out of memory");
	}
	*resp = r;
	return 0;
}

/* DescribeClusters' include values. */
enum { INC_ATTACHMENTS = 1, INC_CONFIGURATIONS = 2, INC_SETTINGS = 4, INC_STATISTICS = 8, INC_TAGS = 16 };

static int parse_include(const cJSON *list, unsigned *out, struct berth_api_error *e)
{
	static const char *const names[] = {"ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"};
	*out = 0;
	if (!list)
		return 0;
	size_t i = 0;
	for (const cJSON *it = list->child; it; it = it->next, i++) {
		size_t k = 0;
		while (k < sizeof(names) / sizeof(names[0]) && strcmp(it->valuestring, names[k]))
			k++;
		if (k == sizeof(names) / sizeof(names[0])) {
			char q[72];
			return INVALID(e,
				       "include[%zu] \"%s\" is not valid: use ATTACHMENTS, CONFIGURATIONS, SETTINGS, "
				       "STATISTICS or TAGS.",
				       i, quote(it->valuestring, q));
		}
		*out |= 1u << k;
	}
	return 0;
}

/* name/value pairs, values as strings (ECS's KeyValuePair and ClusterSetting). */
static bool add_pair(cJSON *arr, const char *name, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "name", name) || !cJSON_AddStringToObject(o, "value", value) ||
	    !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return false;
	}
	return true;
}

/* The cluster in ECS's shape: berth's host is its one container instance;
 * tasks and services do not run through berthd yet, so their counts are 0. */
static cJSON *cluster_json(const struct berth_api_ctx *ctx, const char *arn, unsigned include)
{
	/* STATISTICS: task and service counts by launch type, in ECS's order. */
	static const char *const stats[] = {
		"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount",
		"pendingFargateTasksCount", "runningExternalTasksCount", "pendingExternalTasksCount",
		"runningManagedInstancesTasksCount", "pendingManagedInstancesTasksCount", "activeEC2ServiceCount",
		"activeFargateServiceCount", "drainingEC2ServiceCount", "drainingFargateServiceCount",
		"activeExternalServiceCount", "drainingExternalServiceCount", "activeManagedInstancesServiceCount",
		"drainingManagedInstancesServiceCount",
	};
	cJSON *c = cJSON_CreateObject();
	bool ok = c && cJSON_AddStringToObject(c, "clusterArn", arn) &&
		  cJSON_AddStringToObject(c, "clusterName", ctx->cluster) &&
		  cJSON_AddStringToObject(c, "status", "ACTIVE") &&
		  cJSON_AddNumberToObject(c, "registeredContainerInstancesCount", 1) &&
		  cJSON_AddNumberToObject(c, "runningTasksCount", 0) &&
		  cJSON_AddNumberToObject(c, "pendingTasksCount", 0) &&
		  cJSON_AddNumberToObject(c, "activeServicesCount", 0);
	cJSON *st = ok ? cJSON_AddArrayToObject(c, "statistics") : NULL;
	ok = st != NULL;
	for (size_t i = 0; ok && (include & INC_STATISTICS) && i < sizeof(stats) / sizeof(stats[0]); i++)
		ok = add_pair(st, stats[i], "0");
	ok = ok && cJSON_AddArrayToObject(c, "tags");
	cJSON *settings = ok ? cJSON_AddArrayToObject(c, "settings") : NULL;
	ok = settings && (!(include & INC_SETTINGS) || add_pair(settings, "containerInsights", "disabled"));
	ok = ok && cJSON_AddArrayToObject(c, "capacityProviders") &&
	     cJSON_AddArrayToObject(c, "defaultCapacityProviderStrategy");
	if (ok && (include & INC_ATTACHMENTS))
		ok = cJSON_AddArrayToObject(c, "attachments") != NULL;
	if (!ok) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* Whether arn is already in arr's objects under key. */
static bool listed(const cJSON *arr, const char *key, const char *arn)
{
	for (const cJSON *it = arr->child; it; it = it->next) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, key);
		if (cJSON_IsString(a) && !strcmp(a->valuestring, arn))
			return true;
	}
	return false;
}

static int h_describe_clusters(struct berth_api_ctx *ctx, const cJSON *req, cJSON **resp,
			       struct berth_api_error *e)
{
	static const char *const allowed[] = {"clusters", "include", NULL};
	const cJSON *names, *inc;
	unsigned include;
	if (check_params(req, allowed, e) < 0 || get_str_list(req, "clusters", CLUSTERS_MAX, &names, e) < 0 ||
	    get_str_list(req, "include", 5, &inc, e) < 0 || parse_include(inc, &include, e) < 0)
		return -1;
	char ours[256];
	if (cluster_arn(ctx, ctx->cluster, ours, sizeof(ours)) < 0)
		return berth_api_fail(e, 500, "ServerException", "cluster ARN too long");
	cJSON *r = cJSON_CreateObject();
	cJSON *clusters = cJSON_AddArrayToObject(r, "clusters");
	cJSON *failures = cJSON_AddArrayToObject(r, "failures");
	bool ok = clusters && failures;
	size_t i = 0;
	/* No list, or an empty one: the default cluster, as ECS does. */
	const cJSON *it = names ? names->child : NULL;
	do {
		const char *id = it ? it->valuestring : ctx->cluster;
		if (it && !id[0]) {
			cJSON_Delete(r);
			return INVALID(e, "clusters[%zu]: a cluster name or ARN must not be empty.", i);
		}
		if (!strcmp(id, ctx->cluster) || !strcmp(id, ours)) {
			if (ok && !listed(clusters, "clusterArn", ours)) {
				cJSON *c = cluster_json(ctx, ours, include);
				ok = c && cJSON_AddItemToArray(clusters, c);
				if (!ok)
					cJSON_Delete(c);
			}
		} else if (ok) {
			/* ECS reports a name as the ARN it would have, an ARN as given. */
			char *arn = NULL;
			if (!strncmp(id, "arn:", 4))
				arn = strdup(id);
			else if (asprintf(&arn, "arn:aws:ecs:%s:%s:cluster/%s", ctx->region, ctx->account, id) < 0)
				arn = NULL;
			if (arn && !listed(failures, "arn", arn)) {
				cJSON *f = cJSON_CreateObject();
				ok = f && cJSON_AddStringToObject(f, "arn", arn) &&
				     cJSON_AddStringToObject(f, "reason", "MISSING") && cJSON_AddItemToArray(failures, f);
				if (!ok)
					cJSON_Delete(f);
			}
			ok = ok && arn;
			free(arn);
		}
		it = it ? it->next : NULL;
		i++;
	} while (it);
	if (!ok) {
		cJSON_Delete(r);
		return berth_api_fail(e, 500, "ServerException", "out of memory");
	}
	*resp = r;
	return 0;
}

static const struct berth_api_action cluster_actions[] = {
	{"ListClusters", h_list_clusters, false},
	{"DescribeClusters", h_describe_clusters, false},
	{NULL, NULL, false},
};

/* ---- dispatch -------------------------------------------------------------- */

static const struct berth_api_action *const tables[] = {cluster_actions, berth_registry_actions};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

const struct berth_api_action *berth_api_find(const char *target)
{
	size_t plen = strlen(BERTH_API_TARGET_PREFIX);
	if (!target || strncmp(target, BERTH_API_TARGET_PREFIX, plen) != 0)
		return NULL;
	const char *name = target + plen;
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct berth_api_action *a = tables[t]; a->name; a++)
			if (!strcmp(a->name, name))
				return a;
	return NULL;
}

/* The served actions, comma-separated, for the unknown-operation message. */
static void action_names(char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct berth_api_action *a = tables[t]; a->name && off < len; a++) {
			int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", a->name);
			if (n < 0)
				return;
			off += (size_t)n;
		}
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF); returns the
 * offset of the first bad byte, or len. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned min;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

/* {"__type": ..., "message": ...}; NULL only when out of memory. */
static char *error_body(const struct berth_api_error *e)
{
	cJSON *j = cJSON_CreateObject();
	char *s = NULL;
	if (j && cJSON_AddStringToObject(j, "__type", e->type) && cJSON_AddStringToObject(j, "message", e->message))
		s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

char *berth_api_error_json(const struct berth_api_error *e)
{
	return error_body(e);
}

static char *fail_body(struct berth_api_error *e, int *http_status)
{
	if (!e->type[0])
		berth_api_fail(e, 500, "ServerException", "internal error: the action failed without a reason");
	if (e->http_status < 400 || e->http_status > 599)
		e->http_status = strcmp(e->type, "ServerException") ? 400 : 500;
	*http_status = e->http_status;
	return error_body(e);
}

char *berth_api_call(struct berth_api_ctx *ctx, const char *target, const char *body, size_t len,
		     int *http_status)
{
	struct berth_api_error e = {0};
	char q[72];
	if (!target) {
		berth_api_fail(&e, 400, "UnknownOperationException",
			       "The request has no X-Amz-Target header: expected %s<Action>.", BERTH_API_TARGET_PREFIX);
		return fail_body(&e, http_status);
	}
	const struct berth_api_action *a = berth_api_find(target);
	if (!a) {
		char names[512];
		action_names(names, sizeof(names));
		berth_api_fail(&e, 400, "UnknownOperationException",
			       "Unknown operation \"%s\": berthd serves %s<Action> for %s.", quote(target, q),
			       BERTH_API_TARGET_PREFIX, names);
		return fail_body(&e, http_status);
	}
	if (len > BERTH_API_MAX_BODY) {
		berth_api_fail(&e, 413, "RequestEntityTooLargeException",
			       "The request body is %zu bytes; berthd accepts at most %u.", len, BERTH_API_MAX_BODY);
		return fail_body(&e, http_status);
	}
	cJSON *req = NULL;
	if (len == 0 || !body) {
		req = cJSON_CreateObject();
	} else {
		size_t bad = utf8_valid_prefix((const unsigned char *)body, len);
		struct berth_err perr = {0};
		if (bad < len) {
			berth_api_fail(&e, 400, "SerializationException",
				       "The request body is not valid UTF-8 (byte offset %zu).", bad);
			return fail_body(&e, http_status);
		}
		if (berth_json_parse_strict(body, len, "request body", &req, &perr) < 0) {
			berth_api_fail(&e, 400, "SerializationException", "%s", perr.msg);
			return fail_body(&e, http_status);
		}
		if (!cJSON_IsObject(req)) {
			cJSON_Delete(req);
			berth_api_fail(&e, 400, "SerializationException",
				       "The request body must be a JSON object ({...}), as the %s action's input.",
				       a->name);
			return fail_body(&e, http_status);
		}
	}
	if (!req) {
		berth_api_fail(&e, 500, "ServerException", "out of memory");
		return fail_body(&e, http_status);
	}
	if (a->mutating && ctx->shutting_down) {
		cJSON_Delete(req);
		berth_api_fail(&e, 500, "ServerException", "berthd is shutting down: %s was not done; retry when it is back.",
			       a->name);
		return fail_body(&e, http_status);
	}
	cJSON *resp = NULL;
	int rc = a->fn(ctx, req, &resp, &e);
	cJSON_Delete(req);
	if (rc < 0) {
		cJSON_Delete(resp);
		return fail_body(&e, http_status);
	}
	char *out = resp ? cJSON_PrintUnformatted(resp) : strdup("{}");
	cJSON_Delete(resp);
	if (!out) {
		berth_api_fail(&e, 500, "ServerException", "out of memory while writing the response");
		return fail_body(&e, http_status);
	}
	*http_status = 200;
	return out;
}
