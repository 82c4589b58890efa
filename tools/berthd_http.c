/* berthd — ECS's JSON 1.1 wire protocol over HTTP (libevent's evhttp).
 *
 * One request, in order:
 *   1. evhttp itself refuses, with its own small HTML page and without
 *      calling berthd (libevent 2.1 has no hook for either: no JSON body, no
 *      log line), a request line + headers above BERTHD_MAX_HEADERS_SIZE
 *      (400), a body above BERTH_API_MAX_BODY (413, after reading and
 *      discarding the rest of the body so that the client sees the answer),
 *      a malformed request (400); it closes a connection silent for
 *      BERTHD_IO_TIMEOUT_SECONDS.
 *   2. more than BERTHD_MAX_HEADERS header fields: 431 ClientException.
 *   3. TCP only: berth_sigv4_verify (service "ecs", the configured region)
 *      before anything else is looked at; a refusal is answered as AWS does
 *      (400 MissingAuthenticationTokenException / IncompleteSignatureException
 *      / InvalidSignatureException / UnrecognizedClientException).  The unix
 *      socket is trusted by its file permissions (0600, root).
 *   4. a path other than "/": 404 UnknownOperationException; a method other
 *      than POST: 405 UnknownOperationException with "Allow: POST" (the
 *      statuses of AWS's Smithy server framework for the AWS JSON protocols).
 *   5. a Content-Type other than application/x-amz-json-1.1 (parameters such
 *      as "; charset=utf-8" allowed, as the Smithy protocol tests require):
 *      415 UnsupportedMediaTypeException (Smithy's server answer).
 *   6. berth_api_call: X-Amz-Target (repeated headers joined with ',', so a
 *      repeated target never matches), JSON, the action (scheduler/api.c).
 * Every answer from here on carries Content-Type: application/x-amz-json-1.1
 * and x-amzn-RequestId: <uuid v4> (and Connection: close once berthd is
 * stopping), and is logged as one line on stderr:
 *   berthd: POST ListClusters 200 0.21ms tcp key=AKID id=<uuid> [ErrorType]
 */
#include "tools/berthd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "scheduler/sigv4.h"

#define CONTENT_TYPE "application/x-amz-json-1.1"

struct berthd_inflight {
	struct berthd *d;
	struct evhttp_connection *evcon;
	struct berthd_inflight *next;
};

/* What the log line says about one request. */
struct req_log {
	const char *method;
	char target[80];   /* the action, or the raw target made printable */
	char caller[160];  /* "key=AKID" or "uid=0" */
	char error[64];    /* __type when refused */
};

/* ---- in-flight replies (for the drain at SIGTERM) ------------------------- */

static void inflight_remove(struct berthd *d, struct berthd_inflight *gone, struct evhttp_connection *evcon)
{
	for (struct berthd_inflight **p = &d->inflight; *p;) {
		struct berthd_inflight *f = *p;
		if (f == gone || (evcon && f->evcon == evcon)) {
			*p = f->next;
			free(f);
			d->ninflight--;
		} else {
			p = &f->next;
		}
	}
	if (d->stopping && d->ninflight == 0)
		berthd_drained(d);
}

/* The reply was written completely. */
static void on_complete(struct evhttp_request *req, void *arg)
{
	struct berthd_inflight *f = arg;
	inflight_remove(f->d, f, NULL);
}

/* The connection is going away: its reply, if any, will never complete. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	inflight_remove(arg, NULL, evcon);
}

/* ---- small helpers ---------------------------------------------------------- */

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "?";
}

/* Client text for the log: printable ASCII, cut to fit. */
static void printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < len; i++)
		dst[i] = (unsigned char)src[i] > 0x20 && (unsigned char)src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* The values of every header called name, joined with ',' (as SigV4 reads
 * repeated headers); NULL when there is none.  malloc'd. */
static char *header_joined(const struct evkeyvalq *hs, const char *name, bool *oom)
{
	size_t len = 0, n = 0;
	const struct evkeyval *h;
	TAILQ_FOREACH(h, hs, next)
		if (!strcasecmp(h->key, name))
			len += strlen(h->value) + 1, n++;
	if (!n)
		return NULL;
	char *s = malloc(len);
	if (!s) {
		*oom = true;
		return NULL;
	}
	s[0] = '\0';
	size_t off = 0;
	TAILQ_FOREACH(h, hs, next)
		if (!strcasecmp(h->key, name)) {
			size_t l = strlen(h->value);
			if (off)
				s[off++] = ',';
			memcpy(s + off, h->value, l);
			off += l;
			s[off] = '\0';
		}
	return s;
}

/* application/x-amz-json-1.1, any case, optional parameters after ';'. */
static bool content_type_ok(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strlen(CONTENT_TYPE);
	if (strncasecmp(ct, CONTENT_TYPE, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static void request_id(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0 && errno != EINTR) {
			/* Never on Linux >= 3.17 with a 16-byte request; a unique-enough fallback. */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			memcpy(b, &ts, sizeof(ts) < sizeof(b) ? sizeof(ts) : sizeof(b));
			break;
		}
		if (r > 0)
			got += (size_t)r;
	}
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- answering ---------------------------------------------------------------- */

static void reply(struct berthd_listener *l, struct evhttp_request *req, int status, char *body,
		  const struct req_log *lg, uint64_t t0)
{
	struct berthd *d = l->d;
	static const char oom[] = "{\"__type\":\"ServerException\",\"message\":\"out of memory\"}";
	char rid[37];
	request_id(rid);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Content-Type", CONTENT_TYPE);
	evhttp_add_header(out, "x-amzn-RequestId", rid);
	if (status == 405)
		evhttp_add_header(out, "Allow", "POST");
	/* Stopping: no further requests on this connection once this is written. */
	if (d->stopping)
		evhttp_add_header(out, "Connection", "close");
	struct evbuffer *buf = evbuffer_new();
	if (!body)
		status = 500;
	if (buf && evbuffer_add(buf, body ? body : oom, body ? strlen(body) : sizeof(oom) - 1) < 0) {
		evbuffer_free(buf);
		buf = NULL;
	}
	free(body);
	if (!buf) {
		/* Out of memory: a bare 500, without a body. */
		status = 500;
		fprintf(stderr, "berthd: out of memory answering a request\n");
	}
	struct berthd_inflight *f = calloc(1, sizeof(*f));
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (f && evcon) {
		f->d = d;
		f->evcon = evcon;
		f->next = d->inflight;
		d->inflight = f;
		d->ninflight++;
		evhttp_connection_set_closecb(evcon, on_conn_close, d);
		evhttp_request_set_on_complete_cb(req, on_complete, f);
	} else {
		free(f); /* only the drain at shutdown loses track of this reply */
	}
	evhttp_send_reply(req, status, NULL, buf);
	if (buf)
		evbuffer_free(buf);
	double ms = (double)(berth_now_ns() - t0) / 1e6;
	fprintf(stderr, "berthd: %s %s %d %.2fms %s %s id=%s%s%s\n", lg->method, lg->target[0] ? lg->target : "-",
		status, ms, l->name, lg->caller, rid, lg->error[0] ? " " : "", lg->error);
}

/* An error the HTTP layer answers itself. */
static void reply_error(struct berthd_listener *l, struct evhttp_request *req, int status, const char *type,
			const char *message, struct req_log *lg, uint64_t t0)
{
	struct berth_api_error e = {.http_status = status};
	snprintf(e.type, sizeof(e.type), "%s", type);
	snprintf(e.message, sizeof(e.message), "%s", message);
	snprintf(lg->error, sizeof(lg->error), "%s", type);
	reply(l, req, status, berth_api_error_json(&e), lg, t0);
}

/* The error type in an API answer, for the log (the body is ours: short). */
static void log_error_type(struct req_log *lg, const char *body, int status)
{
	if (status == 200 || !body)
		return;
	const char *t = strstr(body, "\"__type\":\"");
	if (!t)
		return;
	t += 10;
	size_t n = strcspn(t, "\"");
	snprintf(lg->error, sizeof(lg->error), "%.*s", (int)(n < 63 ? n : 63), t);
}

/* ---- the request ---------------------------------------------------------------- */

/* TCP: the signature.  Returns 0 when valid (lg->caller and the principal
 * set), 1 when refused (answered). */
static int verify(struct berthd_listener *l, struct evhttp_request *req, const char *path, const char *query,
		  const struct evkeyvalq *hs, size_t nh, const void *body, size_t len, struct req_log *lg,
		  char *principal, size_t plen, uint64_t t0)
{
	struct berthd *d = l->d;
	_cleanup_free_ struct berth_http_header *h = calloc(nh ? nh : 1, sizeof(*h));
	if (!h) {
		reply_error(l, req, 500, "ServerException", "out of memory", lg, t0);
		return 1;
	}
	size_t i = 0;
	const struct evkeyval *kv;
	TAILQ_FOREACH(kv, hs, next) {
		h[i].name = kv->key;
		h[i].value = kv->value;
		i++;
	}
	struct berth_sigv4_request sreq = {
		.method = lg->method, .path = path, .query = query, .headers = h, .nheaders = nh,
		.body = body, .body_len = len,
	};
	struct berth_sigv4_result res;
	struct berth_err err = {0};
	int rc = berth_sigv4_verify(&sreq, d->conf.api.region, "ecs", time(NULL), berth_credentials_secret, d->creds,
				    &res, &err);
	if (res.access_key_id[0])
		snprintf(lg->caller, sizeof(lg->caller), "key=%s", res.access_key_id);
	if (rc < 0) {
		fprintf(stderr, "berthd: verifying a signature: %s\n", err.msg);
		reply_error(l, req, 500, "ServerException", "internal error while verifying the signature", lg, t0);
		return 1;
	}
	if (rc > 0) {
		reply_error(l, req, res.http_status ? res.http_status : 400, res.error_code, res.message, lg, t0);
		return 1;
	}
	/* The caller's ARN: the profile as an IAM user name when it is one. */
	const struct berth_credential *k = berth_credentials_find(d->creds, res.access_key_id);
	const char *p = k ? k->profile : NULL;
	size_t pn = p ? strlen(p) : 0;
	if (pn && pn <= 64 &&
	    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-") == pn)
		snprintf(principal, plen, "arn:aws:iam::%s:user/%s", d->conf.api.account, p);
	return 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct berthd_listener *l = arg;
	struct berthd *d = l->d;
	uint64_t t0 = berth_now_ns();
	struct req_log lg = {.method = method_name(evhttp_request_get_command(req)), .caller = "-"};
	const struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	if (!l->tcp && evcon) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
		if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
			snprintf(lg.caller, sizeof(lg.caller), "uid=%u", (unsigned)cred.uid);
	}
	const char *tgt = evhttp_find_header(hs, "X-Amz-Target");
	if (tgt) {
		size_t plen = strlen(BERTH_API_TARGET_PREFIX);
		printable(lg.target, sizeof(lg.target), strncmp(tgt, BERTH_API_TARGET_PREFIX, plen) ? tgt : tgt + plen);
	}

	size_t nh = 0;
	const struct evkeyval *kv;
	TAILQ_FOREACH(kv, hs, next)
		nh++;
	if (nh > BERTHD_MAX_HEADERS) {
		char msg[128];
		snprintf(msg, sizeof(msg), "The request has %zu header fields; berthd accepts at most %d.", nh,
			 BERTHD_MAX_HEADERS);
		reply_error(l, req, 431, "ClientException", msg, &lg, t0);
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > BERTH_API_MAX_BODY) { /* evhttp's max body size stops these first */
		reply_error(l, req, 413, "RequestEntityTooLargeException", "The request body is too large.", &lg, t0);
		return;
	}
	const char *body = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
	const char *uri = evhttp_request_get_uri(req);
	_cleanup_free_ char *path = strdup(uri ? uri : "");
	if (!path || (len && !body)) {
		reply_error(l, req, 500, "ServerException", "out of memory", &lg, t0);
		return;
	}
	char *q = strchr(path, '?');
	const char *query = NULL;
	if (q) {
		*q = '\0';
		query = q + 1;
	}

	char principal[160];
	snprintf(principal, sizeof(principal), "%s", d->root_principal);
	if (l->tcp && verify(l, req, path, query, hs, nh, body, len, &lg, principal, sizeof(principal), t0))
		return;

	if (strcmp(path, "/") != 0) {
		char p[64], msg[200];
		printable(p, sizeof(p), path);
		snprintf(msg, sizeof(msg), "There is nothing at \"%s\": berthd's ECS API is POST /.", p);
		reply_error(l, req, 404, "UnknownOperationException", msg, &lg, t0);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s is not allowed: berthd's ECS API is POST / with an X-Amz-Target header.",
			 lg.method);
		reply_error(l, req, 405, "UnknownOperationException", msg, &lg, t0);
		return;
	}
	bool oom = false;
	_cleanup_free_ char *ct = header_joined(hs, "Content-Type", &oom);
	_cleanup_free_ char *target = oom ? NULL : header_joined(hs, "X-Amz-Target", &oom);
	if (oom) {
		reply_error(l, req, 500, "ServerException", "out of memory", &lg, t0);
		return;
	}
	if (!content_type_ok(ct)) {
		char c[64], msg[256];
		printable(c, sizeof(c), ct ? ct : "");
		snprintf(msg, sizeof(msg), "Content-Type %s%s%s is not supported: send %s.", ct ? "\"" : "",
			 ct ? c : "(none)", ct ? "\"" : "", CONTENT_TYPE);
		reply_error(l, req, 415, "UnsupportedMediaTypeException", msg, &lg, t0);
		return;
	}
	d->api.principal = principal;
	int status = 500;
	char *out = berth_api_call(&d->api, target, body, len, &status);
	d->api.principal = d->root_principal;
	log_error_type(&lg, out, status);
	reply(l, req, status, out, &lg, t0);
}

/* ---- listeners ------------------------------------------------------------------ */

/* The listeners, for accept errors: libevent hands those the evhttp. */
static struct berthd_listener *listeners[2];

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct berthd_listener *l = arg;
	if (l->bound)
		evconnlistener_enable(evhttp_bound_socket_get_listener(l->bound));
}

/* accept() failed in a way that does not go away by itself (EMFILE, ENFILE,
 * ENOMEM): pause accepting for a second rather than spin. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct berthd_listener *l = NULL;
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++)
		if (listeners[i] && listeners[i]->bound && evhttp_bound_socket_get_listener(listeners[i]->bound) == lev)
			l = listeners[i];
	if (!l)
		return;
	fprintf(stderr, "berthd: %s listener: accept: %s; pausing for 1 s\n", l->name, strerror(e));
	evconnlistener_disable(lev);
	struct timeval tv = {1, 0};
	evtimer_add(l->resume, &tv);
}

int berthd_http_listen(struct berthd *d, struct berthd_listener *l, int fd, bool tcp, struct berth_err *err)
{
	l->d = d;
	l->tcp = tcp;
	l->name = tcp ? "tcp" : "unix";
	l->http = evhttp_new(d->base);
	l->resume = evtimer_new(d->base, on_resume, l);
	if (!l->http || !l->resume) {
		close(fd);
		return berth_err_set(err, ENOMEM, "HTTP server");
	}
	evhttp_set_max_headers_size(l->http, BERTHD_MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(l->http, BERTH_API_MAX_BODY);
	evhttp_set_timeout(l->http, BERTHD_IO_TIMEOUT_SECONDS);
	/* Read (and drop) the rest of an oversized body before answering 413,
	 * so that a client still sending sees the answer instead of a reset. */
	evhttp_set_flags(l->http, EVHTTP_SERVER_LINGERING_CLOSE);
	/* Every method reaches on_request, which answers 405 in ECS's shape. */
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
						    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(l->http, CONTENT_TYPE);
	evhttp_set_gencb(l->http, on_request, l);
	l->bound = evhttp_accept_socket_with_handle(l->http, fd);
	if (!l->bound) {
		close(fd);
		return berth_err_set(err, 0, "HTTP server: cannot serve the %s socket", l->name);
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(l->bound), on_accept_error);
	listeners[tcp ? 1 : 0] = l;
	return 0;
}

void berthd_http_stop_accepting(struct berthd_listener *l)
{
	if (l->http && l->bound) {
		evhttp_del_accept_socket(l->http, l->bound);
		l->bound = NULL;
	}
	if (l->resume)
		evtimer_del(l->resume);
}

void berthd_http_free(struct berthd_listener *l)
{
	berthd_http_stop_accepting(l);
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++)
		if (listeners[i] == l)
			listeners[i] = NULL;
	if (l->http)
		evhttp_free(l->http);
	l->http = NULL;
	if (l->resume)
		event_free(l->resume);
	l->resume = NULL;
}

void berthd_http_forget_inflight(struct berthd *d)
{
	while (d->inflight) {
		struct berthd_inflight *f = d->inflight;
		d->inflight = f->next;
		free(f);
	}
	d->ninflight = 0;
}
