/* berth CLI — the client side of berthd's ECS API.
 *
 * One request, one response: `POST /` over berthd's unix socket (the
 * configuration's api.socket, default /run/berth/berth.sock) with
 *   Content-Type: application/x-amz-json-1.1
 *   X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>
 * and the request object as the body; a 200 answer is the response object,
 * anything else an ECS error {"__type": "...", "message": "..."} (a
 * "Namespace#Type" __type is shortened to "Type").  HTTP is libevent's evhttp
 * client; the whole exchange is bounded by BERTH_CLIENT_TIMEOUT_S and the
 * answer by BERTH_CLIENT_MAX_RESPONSE bytes.
 *
 * Autostart: when nothing listens on the socket (ENOENT, ECONNREFUSED) berth
 * starts berthd with the same --root and --config — the berthd next to the
 * running berth binary (or in ../sbin, as `make install` lays them out),
 * else the one on $PATH — in a session of its own, stdin on /dev/null and
 * stdout/stderr appended to berthd.log beside the socket, and waits up to
 * BERTH_CLIENT_AUTOSTART_S for the socket to answer.  Concurrent berths
 * serialise on an flock of the socket's directory, so only one starts it.
 * BERTH_NO_AUTOSTART=1 (any value but "" and "0") turns this off.
 *
 * Exit codes of the commands built on it (berth_client_exit):
 *   0   success
 *   1   refused: an ECS error from berthd (HTTP 4xx), printed as
 *       "berth: <Type>: <message>", or bad input read by berth itself
 *   2   usage
 *   125 berth or berthd failed: berthd unreachable or not starting, a
 *       timeout, a malformed answer, a ServerException (HTTP 5xx)
 */
#ifndef BERTH_TOOLS_CLIENT_H
#define BERTH_TOOLS_CLIENT_H

#include <cjson/cJSON.h>

#include "common/err.h"
#include "tools/cli.h"

#define BERTH_CLIENT_TIMEOUT_S 30
#define BERTH_CLIENT_MAX_RESPONSE (16u << 20)
#define BERTH_CLIENT_AUTOSTART_S 5

/* An ECS error answered by berthd; http_status 0 when there was none (the
 * failure was berth's own, or berthd could not be reached). */
struct berth_client_error {
	int http_status;
	char type[64];       /* "ClientException", "InvalidParameterException", ... */
	char message[1024];  /* one line */
};

/* Call action (e.g. "ListTaskDefinitions") with req (NULL: {}).  On success
 * *resp is the response object (the caller deletes it).  On failure returns
 * -1 with err set — for an ECS error to "<Type>: <message>", with e filled —
 * and *resp NULL. */
int berth_client_call(struct cli *c, const char *action, const cJSON *req, cJSON **resp,
		      struct berth_client_error *e, struct berth_err *err);

/* Print err as one line ("berth: ...") and return the exit code for it:
 * 1 for an ECS client error (HTTP 4xx), BERTH_EXIT_FAIL otherwise. */
int berth_client_exit(const struct berth_client_error *e, const struct berth_err *err);

/* The commands built on the client (tools/cmd_taskdef.c). */
int cmd_taskdef(struct cli *c, int argc, char **argv);  /* argv[0] == "taskdef" */
int cmd_clusters(struct cli *c, int argc, char **argv); /* argv[0] == "clusters" */

#endif
