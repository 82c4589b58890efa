/* berthd — the daemon's shared state, between its main (tools/berthd.c:
 * options, pid file, sockets, signals, the event loop) and its HTTP layer
 * (tools/berthd_http.c: ECS's JSON 1.1 wire protocol over evhttp).
 */
#ifndef BERTH_TOOLS_BERTHD_H
#define BERTH_TOOLS_BERTHD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "scheduler/api.h"
#include "scheduler/config.h"
#include "scheduler/credentials.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;

/* Limits on one request, beyond BERTH_API_MAX_BODY (scheduler/api.h). */
#define BERTHD_MAX_HEADERS 64                /* header fields */
#define BERTHD_MAX_HEADERS_SIZE (16 * 1024)  /* request line + header block, bytes */
#define BERTHD_IO_TIMEOUT_SECONDS 30         /* reading a request / writing a reply */
#define BERTHD_DRAIN_SECONDS 10              /* at SIGTERM: time left to in-flight replies */

struct berthd;

/* One listening socket and its evhttp. */
struct berthd_listener {
	struct berthd *d;
	bool tcp;                           /* every request must carry a SigV4 signature */
	const char *name;                   /* "unix" / "tcp", for the log */
	struct evhttp *http;
	struct evhttp_bound_socket *bound;  /* NULL once it stopped accepting */
	struct event *resume;               /* re-enables accepting after accept() failed */
};

struct berthd_inflight; /* a reply queued but not yet written (berthd_http.c) */

struct berthd {
	struct event_base *base;
	struct berth_conf conf;
	struct berth_api_ctx api;
	struct berth_credentials *creds;    /* NULL without a TCP listener */
	struct berthd_listener unix_l, tcp_l;
	struct berthd_inflight *inflight;
	size_t ninflight;
	bool stopping;                      /* SIGTERM/SIGINT seen: drain, then exit */
	char root_principal[64];            /* arn:aws:iam::<account>:root */
};

/* Serve the listening socket fd (bound, listening, non-blocking, CLOEXEC;
 * evhttp owns it from here on) on d->base. */
int berthd_http_listen(struct berthd *d, struct berthd_listener *l, int fd, bool tcp, struct berth_err *err);
/* Close the listening socket; connections already accepted are served. */
void berthd_http_stop_accepting(struct berthd_listener *l);
/* Close every connection and free the evhttp. */
void berthd_http_free(struct berthd_listener *l);
/* After the listeners are freed: drop what is left of the in-flight list. */
void berthd_http_forget_inflight(struct berthd *d);

/* berthd.c: called by the HTTP layer when the last in-flight reply is done
 * (or its connection is gone) while stopping. */
void berthd_drained(struct berthd *d);

#endif
