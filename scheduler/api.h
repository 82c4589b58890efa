/* berth scheduler/ — the ECS JSON 1.1 API: action dispatch and error shapes.
 *
 * berthd's HTTP layer (tools/berthd.c) receives `POST /` with
 * `Content-Type: application/x-amz-json-1.1` and
 * `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>`, parses the
 * body as JSON and calls berth_api_call().  Handlers are plain functions
 * from a request object to a response object; they never see HTTP.
 *
 * Errors are ECS-shaped: HTTP 400 with
 *   {"__type": "ClientException" | "InvalidParameterException" | ..., "message": "..."}
 * (ServerException is HTTP 500).
 */
#ifndef BERTH_SCHEDULER_API_H
#define BERTH_SCHEDULER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct cJSON;

#define BERTH_API_TARGET_PREFIX "AmazonEC2ContainerServiceV20141113."
#define BERTH_API_MAX_BODY (1u << 20) /* requests above this are refused */

/* An ECS-shaped error. */
struct berth_api_error {
	int http_status;  /* 400, or 500 for ServerException */
	char type[64];    /* "ClientException", "InvalidParameterException", "ServerException",
			     "ClusterNotFoundException", "UnsupportedFeatureException", ... */
	char message[1024];
};
/* Fill e and return -1 (so handlers can `return berth_api_fail(...)`). */
int berth_api_fail(struct berth_api_error *e, int http_status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* What handlers may use.  One per daemon; handlers run on the event loop
 * thread, one at a time. */
struct berth_api_ctx {
	const char *root;         /* state root (e.g. /var/lib/berth) */
	const char *region;       /* for ARNs: arn:aws:ecs:<region>:<account>:... */
	const char *account;      /* 12 digits */
	const char *cluster;      /* "default" */
	const char *principal;    /* the caller: "arn:aws:iam::<account>:root" or the access key's user */
	bool shutting_down;       /* mutating actions answer ServerException while set */
	void *registry;           /* struct berth_registry * (task definitions) */
	void *tasks;              /* the task table (issue 5, later) */
};

typedef int (*berth_api_handler)(struct berth_api_ctx *ctx, const struct cJSON *req, struct cJSON **resp,
				 struct berth_api_error *e);

struct berth_api_action {
	const char *name;         /* "RegisterTaskDefinition" */
	berth_api_handler fn;
	bool mutating;            /* refused while shutting down */
};

/* The action for an X-Amz-Target value ("AmazonEC2ContainerServiceV20141113.
 * ListClusters": prefix and name matched exactly), looked up in the modules'
 * tables (api.c's cluster actions, berth_registry_actions); NULL when the
 * prefix is missing or the action unknown.  berth_api_call answers those with
 * HTTP 400 {"__type":"UnknownOperationException"}, as ECS's front end does. */
const struct berth_api_action *berth_api_find(const char *target);

/* Run one request: target is the X-Amz-Target header value (NULL when the
 * request had none); body/len the raw request body (not NUL-terminated; an
 * empty body is `{}`).  Returns the response body (malloc'd JSON) and sets
 * *http_status: 200, or an ECS error body for a bad request (see api.c for
 * the types and statuses).  NULL only when out of memory (*http_status 500). */
char *berth_api_call(struct berth_api_ctx *ctx, const char *target, const char *body, size_t len,
		     int *http_status);

/* {"__type": e->type, "message": e->message} (malloc'd; NULL when out of
 * memory), for errors the HTTP layer answers itself. */
char *berth_api_error_json(const struct berth_api_error *e);

/* The task-definition actions (scheduler/registry.c). */
extern const struct berth_api_action berth_registry_actions[];

#endif
