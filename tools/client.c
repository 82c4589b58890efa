/* berth CLI — the ECS API client over berthd's unix socket (see client.h).
 *
 * libevent 2.1's evhttp client cannot connect to a unix socket by itself
 * (evhttp_connection_base_bufferevent_unix_new arrived in 2.2): whatever
 * bufferevent it is given, evhttp_make_request() resets the connection and
 * resolves and connects the host name.  So berth connects the socket itself
 * and lets evhttp believe it connected:
 *   1. the evhttp connection gets a socket bufferevent without an fd and an
 *      evdns base with no name servers, so that making the request starts a
 *      host-name lookup that can never finish (no packet leaves, no file is
 *      read) and leaves the connection CONNECTING, its "connected" event
 *      callback installed on the bufferevent;
 *   2. bufferevent_setfd() hands the bufferevent the connected unix socket,
 *      which also cancels the pending lookup;
 *   3. that event callback, read back with bufferevent_getcb(), is told
 *      BEV_EVENT_CONNECTED: it checks SO_ERROR on the socket, moves the
 *      connection to IDLE and dispatches the request.
 * From there on it is evhttp's ordinary client: request headers, body,
 * response parsing, timeouts and the body size cap.
 */
#include "tools/client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/util.h"
#include "scheduler/api.h"

#define LOOKUP_HOST "berthd.invalid" /* never resolved: see the top of this file */
#define MAX_HEADERS_SIZE (64u << 10)

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}
#define _cleanup_json_ __attribute__((cleanup(cjson_deletep)))

/* ---- connecting ---------------------------------------------------------- */

/* Connect to the unix socket at path; *fd is the blocking socket.  On failure
 * err->errnum is the connect errno (ENOENT, ECONNREFUSED: nobody listens). */
static int sock_connect(const char *path, int *fd, struct berth_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return berth_err_set(err, ENAMETOOLONG, "berthd's socket %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return berth_err_set(err, errno, "socket");
	/* A berthd that stopped accepting (its backlog full) fails connect()
	 * with EAGAIN after this, instead of blocking it for ever. */
	struct timeval tv = {.tv_sec = BERTH_CLIENT_TIMEOUT_S};
	if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return berth_err_set(err, errno, "socket");
	int r;
	do
		r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return berth_err_set(err, errno, "connect to berthd's socket %s", path);
	*fd = TAKE_FD(s);
	return 0;
}

static bool nobody_listens(int errnum)
{
	return errnum == ENOENT || errnum == ECONNREFUSED;
}

static bool autostart_enabled(void)
{
	const char *v = getenv("BERTH_NO_AUTOSTART");
	return !v || !*v || !strcmp(v, "0");
}

/* The command that starts berthd, for messages: "berthd --root R --config C". */
static void start_hint(const struct cli *c, char *buf, size_t len)
{
	char abs[PATH_MAX];
	const char *config = c->config_path;
	if (config && config[0] != '/' && realpath(config, abs))
		config = abs;
	snprintf(buf, len, "berthd --root %s%s%s", c->root, config ? " --config " : "", config ? config : "");
}

/* The directory part of path (no trailing slash; "/" for "/x"). */
static void dir_of(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", path);
	char *slash = strrchr(buf, '/');
	if (slash == buf)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
}

/* mkdir -p (following symlinks: the path comes from root's configuration). */
static int mkdir_parents(const char *dir, struct berth_err *err)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return berth_err_set(err, ENAMETOOLONG, "%s", dir);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char saved = *s;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return berth_err_set(err, errno, "create %s", p);
			*s = saved;
			if (!saved)
				break;
		}
	}
	return 0;
}

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* berthd beside the running berth (bin/berth + bin/berthd in the tree), in
 * ../sbin (make install: $PREFIX/bin/berth, $PREFIX/sbin/berthd), else on
 * $PATH. */
static int find_berthd(char *out, size_t len, struct berth_err *err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char dir[PATH_MAX];
		dir_of(self, dir, sizeof(dir));
		snprintf(out, len, "%s/berthd", dir);
		if (is_executable(out))
			return 0;
		snprintf(out, len, "%s/../sbin/berthd", dir);
		if (is_executable(out))
			return 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *p = path; *p;) {
		size_t l = strcspn(p, ":");
		if (l > 0 && (size_t)snprintf(out, len, "%.*s/berthd", (int)l, p) < len && out[0] == '/' &&
		    is_executable(out))
			return 0;
		p += l;
		if (*p == ':')
			p++;
	}
	return berth_err_set(err, 0, "berthd not found beside %s nor on $PATH", n > 0 ? self : "berth");
}

/* The last non-empty line written to the log from offset on (for messages). */
static void log_tail(const char *log, off_t from, char *buf, size_t len)
{
	buf[0] = '\0';
	_cleanup_close_ int fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= from)
		return;
	off_t start = st.st_size - from > 4096 ? st.st_size - 4096 : from;
	char text[4097];
	ssize_t n = pread(fd, text, sizeof(text) - 1, start);
	if (n <= 0)
		return;
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	char *line = strrchr(text, '\n');
	snprintf(buf, len, "%s", line ? line + 1 : text);
	berth_json_one_line(buf);
}

static int64_t now_ms(void)
{
	return (int64_t)(berth_now_ns() / 1000000u);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Start berthd detached and wait for its socket to answer; *fd is then a
 * connection to it.  Holds the socket's directory flock'ed throughout, so
 * that concurrent berths start one daemon between them. */
static int autostart(struct cli *c, const char *sock, int *fd, struct berth_err *err)
{
	char hint[PATH_MAX + 64], dir[PATH_MAX], log[PATH_MAX], exe[PATH_MAX];
	start_hint(c, hint, sizeof(hint));
	dir_of(sock, dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/berthd.log", strcmp(dir, "/") ? dir : "");
	struct berth_err e = {0};
	if (mkdir_parents(dir, &e) < 0)
		return berth_err_set(err, 0, "berthd is not running and cannot be started (%s); start it with '%s'",
				     e.msg, hint);
	_cleanup_close_ int lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd < 0)
		return berth_err_set(err, 0, "berthd is not running and cannot be started (%s: %s); start it with '%s'",
				     dir, strerror(errno), hint);
	while (flock(lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return berth_err_set(err, errno, "lock %s", dir);
	/* Another berth may have started it while this one waited. */
	berth_err_clear(&e);
	if (sock_connect(sock, fd, &e) == 0)
		return 0;
	if (!nobody_listens(e.errnum))
		return berth_err_set(err, 0, "%s", e.msg);
	if (find_berthd(exe, sizeof(exe), &e) < 0)
		return berth_err_set(err, 0, "berthd is not running and cannot be started: %s; start it with '%s'",
				     e.msg, hint);

	/* berthd may chdir: hand it an absolute configuration path. */
	char config[PATH_MAX] = "";
	if (c->config_path && c->config_path[0] != '/') {
		if (!realpath(c->config_path, config))
			return berth_err_set(err, errno, "configuration %s", c->config_path);
	} else if (c->config_path) {
		snprintf(config, sizeof(config), "%s", c->config_path);
	}
	char *argv[] = {exe, "--root", (char *)c->root, c->config_path ? "--config" : NULL, config, NULL};

	_cleanup_close_ int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (nullfd < 0)
		return berth_err_set(err, errno, "open /dev/null");
	struct stat st;
	off_t log_start = logfd >= 0 && fstat(logfd, &st) == 0 ? st.st_size : 0;
	int out = logfd >= 0 ? logfd : nullfd;

	pid_t pid = fork();
	if (pid < 0)
		return berth_err_set(err, errno, "start berthd: fork");
	if (pid == 0) {
		/* A session of its own; nothing of berth's but the environment. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		if (setsid() < 0 || dup2(nullfd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		syscall(SYS_close_range, 3, ~0U, 0);
		execv(exe, argv);
		dprintf(2, "berth: cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}

	int64_t deadline = now_ms() + BERTH_CLIENT_AUTOSTART_S * 1000;
	char tail[512];
	for (;;) {
		berth_err_clear(&e);
		if (sock_connect(sock, fd, &e) == 0)
			return 0;
		if (!nobody_listens(e.errnum)) {
			return berth_err_set(err, 0, "started berthd (pid %d, log %s), but: %s", (int)pid, log, e.msg);
		}
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* It may have lost a race to a berthd that now listens. */
			if (sock_connect(sock, fd, &e) == 0)
				return 0;
			log_tail(log, log_start, tail, sizeof(tail));
			char how[64];
			if (WIFEXITED(status))
				snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
			else
				snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
			return berth_err_set(err, 0, "berthd is not running and %s %s at start-up%s%s (log %s); fix that and "
					     "start it with '%s'",
					     exe, how, tail[0] ? ": " : "", tail, log, hint);
		}
		if (now_ms() >= deadline)
			break;
		sleep_ms(25);
	}
	return berth_err_set(err, 0, "berthd was started (pid %d) but does not answer on %s after %d s (log %s); "
			     "check it, or start it yourself with '%s'",
			     (int)pid, sock, BERTH_CLIENT_AUTOSTART_S, log, hint);
}

/* A connection to berthd, starting it when nobody listens (and allowed to). */
static int connect_berthd(struct cli *c, const char *sock, int *fd, struct berth_err *err)
{
	struct berth_err e = {0};
	if (sock_connect(sock, fd, &e) == 0)
		return 0;
	char hint[PATH_MAX + 64];
	start_hint(c, hint, sizeof(hint));
	if (e.errnum == EAGAIN)
		return berth_err_set(err, 0, "berthd does not accept connections on %s (no answer within %d s)", sock,
				     BERTH_CLIENT_TIMEOUT_S);
	if (e.errnum == EACCES || e.errnum == EPERM)
		return berth_err_set(err, 0, "cannot reach berthd: %s (its socket is root's: run berth as root)", e.msg);
	if (!nobody_listens(e.errnum))
		return berth_err_set(err, 0, "cannot reach berthd: %s", e.msg);
	const char *why = e.errnum == ENOENT ? "no socket" : "nothing listens on";
	if (!autostart_enabled())
		return berth_err_set(err, 0, "berthd is not running (%s %s; BERTH_NO_AUTOSTART is set): start it with '%s'",
				     why, sock, hint);
	if (geteuid() != 0)
		return berth_err_set(err, 0, "berthd is not running (%s %s): start it as root with '%s'", why, sock,
				     hint);
	return autostart(c, sock, fd, err);
}

/* ---- one HTTP exchange -------------------------------------------------- */

struct exchange {
	struct event_base *base;
	bool done;
	bool failed;
	bool timed_out;
	enum evhttp_request_error error;
	int status;
	char *body;  /* NUL-terminated */
	size_t len;
	bool oom;
};

static void on_response(struct evhttp_request *req, void *arg)
{
	struct exchange *x = arg;
	x->done = true;
	if (req && evhttp_request_get_response_code(req) > 0) {
		x->status = evhttp_request_get_response_code(req);
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		if (!(x->body = malloc(n + 1))) {
			x->oom = true;
		} else {
			if (n && evbuffer_remove(in, x->body, n) != (int)n)
				n = 0;
			x->body[n] = '\0';
			x->len = n;
		}
	}
	event_base_loopbreak(x->base);
}

static void on_error(enum evhttp_request_error what, void *arg)
{
	struct exchange *x = arg;
	x->failed = true;
	x->error = what;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *x = arg;
	x->timed_out = true;
	event_base_loopbreak(x->base);
}

/* libevent's own warnings would break berth's one-line errors. */
static void quiet_log(int severity, const char *msg)
{
}

/* Send body to berthd over the connected socket fd (taken over) as action
 * and collect the answer. */
static int exchange(int fd, const char *action, const char *body, size_t len, struct exchange *x,
		    struct berth_err *err)
{
	char target[192];
	snprintf(target, sizeof(target), "%s%s", BERTH_API_TARGET_PREFIX, action);
	event_set_log_callback(quiet_log);
	struct event_base *base = NULL;
	struct evdns_base *dns = NULL;
	struct bufferevent *bev = NULL;
	struct evhttp_connection *conn = NULL;
	struct event *deadline = NULL;
	int rc = -1;

	if (evutil_make_socket_nonblocking(fd) < 0) {
		berth_err_set(err, errno, "berthd's socket");
		close(fd);
		return -1;
	}
	if (!(base = event_base_new()) || !(dns = evdns_base_new(base, 0)) ||
	    !(bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE))) {
		berth_err_set(err, ENOMEM, "libevent");
		close(fd);
		goto out;
	}
	if (!(conn = evhttp_connection_base_bufferevent_new(base, dns, bev, LOOKUP_HOST, 80))) {
		bufferevent_free(bev);
		berth_err_set(err, ENOMEM, "libevent");
		close(fd);
		goto out;
	}
	x->base = base;
	evhttp_connection_set_timeout(conn, BERTH_CLIENT_TIMEOUT_S);
	evhttp_connection_set_max_body_size(conn, BERTH_CLIENT_MAX_RESPONSE);
	evhttp_connection_set_max_headers_size(conn, MAX_HEADERS_SIZE);
	evhttp_connection_set_retries(conn, 0);

	struct evhttp_request *req = evhttp_request_new(on_response, x);
	if (!req) {
		berth_err_set(err, ENOMEM, "libevent");
		close(fd);
		goto out;
	}
	evhttp_request_set_error_cb(req, on_error);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	if (evhttp_add_header(h, "Host", "localhost") < 0 ||
	    evhttp_add_header(h, "Content-Type", "application/x-amz-json-1.1") < 0 ||
	    evhttp_add_header(h, "X-Amz-Target", target) < 0 || evhttp_add_header(h, "Accept", "application/json") < 0 ||
	    evhttp_add_header(h, "User-Agent", "berth") < 0 || evhttp_add_header(h, "Connection", "close") < 0 ||
	    evbuffer_add(out, body, len) < 0) {
		evhttp_request_free(req);
		berth_err_set(err, ENOMEM, "libevent");
		close(fd);
		goto out;
	}
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, "/") < 0) { /* frees req */
		berth_err_set(err, 0, "internal error: libevent could not start the request");
		close(fd);
		goto out;
	}
	/* Steps 2 and 3 of the top of this file. */
	bufferevent_event_cb connected = NULL;
	void *cb_arg = NULL;
	bufferevent_getcb(bev, NULL, NULL, &connected, &cb_arg);
	if (!connected || cb_arg != conn || x->done) {
		berth_err_set(err, 0, "internal error: libevent %s's HTTP client cannot be driven over a unix socket",
			      event_get_version());
		close(fd);
		goto out;
	}
	if (bufferevent_setfd(bev, fd) < 0) {
		berth_err_set(err, 0, "internal error: libevent refused berthd's socket");
		close(fd);
		goto out;
	}
	connected(bev, BEV_EVENT_CONNECTED, cb_arg);

	struct timeval tv = {.tv_sec = BERTH_CLIENT_TIMEOUT_S};
	if (!(deadline = evtimer_new(base, on_deadline, x)) || evtimer_add(deadline, &tv) < 0) {
		berth_err_set(err, ENOMEM, "libevent");
		goto out;
	}
	if (!x->done)
		event_base_dispatch(base);

	if (x->oom) {
		berth_err_set(err, ENOMEM, "berthd's answer");
	} else if (x->status > 0) {
		rc = 0;
	} else if (x->timed_out || (x->failed && x->error == EVREQ_HTTP_TIMEOUT)) {
		berth_err_set(err, 0, "berthd did not answer %s within %d s", action, BERTH_CLIENT_TIMEOUT_S);
	} else if (x->failed && x->error == EVREQ_HTTP_DATA_TOO_LONG) {
		berth_err_set(err, 0, "berthd's answer to %s is larger than berth accepts (%u MiB)", action,
			      BERTH_CLIENT_MAX_RESPONSE >> 20);
	} else if (x->failed && x->error == EVREQ_HTTP_INVALID_HEADER) {
		berth_err_set(err, 0, "berthd's answer to %s is not valid HTTP", action);
	} else {
		berth_err_set(err, 0, "berthd closed the connection without answering %s (did it stop or crash?)",
			      action);
	}
out:
	if (deadline)
		event_free(deadline);
	if (conn)
		evhttp_connection_free(conn); /* and the bufferevent, and fd */
	if (dns)
		evdns_base_free(dns, 0);
	if (base)
		event_base_free(base);
	return rc;
}

/* ---- decoding ---------------------------------------------------------- */

/* An ECS error body into e and err; false when body is not one. */
static bool ecs_error(int status, const char *body, size_t len, struct berth_client_error *e, struct berth_err *err)
{
	_cleanup_json_ cJSON *j = len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "__type");
	if (!cJSON_IsString(type) || !type->valuestring[0])
		return false;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (!cJSON_IsString(msg))
		msg = cJSON_GetObjectItemCaseSensitive(j, "Message");
	/* "com.amazonaws.ecs#ClientException" (and AWS's "Type:http://..."). */
	const char *t = strrchr(type->valuestring, '#');
	t = t ? t + 1 : type->valuestring;
	snprintf(e->type, sizeof(e->type), "%.*s", (int)strcspn(t, ":"), t);
	snprintf(e->message, sizeof(e->message), "%s",
		 cJSON_IsString(msg) && msg->valuestring[0] ? msg->valuestring : "(no message)");
	berth_json_one_line(e->type);
	berth_json_one_line(e->message);
	e->http_status = status;
	berth_err_set(err, 0, "%s: %s", e->type[0] ? e->type : "UnknownError", e->message);
	return true;
}

int berth_client_call(struct cli *c, const char *action, const cJSON *req, cJSON **resp,
		      struct berth_client_error *e, struct berth_err *err)
{
	*resp = NULL;
	memset(e, 0, sizeof(*e));
	if (cli_config(c, err) < 0)
		return -1;
	_cleanup_free_ char *body = req ? cJSON_PrintUnformatted(req) : strdup("{}");
	if (!body)
		return berth_err_set(err, ENOMEM, "%s request", action);
	int fd = -1;
	if (connect_berthd(c, c->config.api.socket, &fd, err) < 0)
		return -1;
	/* A berthd that goes away mid-request must not kill berth with SIGPIPE. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	sigemptyset(&ign.sa_mask);
	bool restore = sigaction(SIGPIPE, &ign, &old) == 0;
	struct exchange x = {0};
	int rc = exchange(fd, action, body, strlen(body), &x, err);
	if (restore)
		sigaction(SIGPIPE, &old, NULL);
	if (rc < 0) {
		free(x.body);
		return -1;
	}
	_cleanup_free_ char *answer = x.body;
	if (x.status != 200) {
		if (ecs_error(x.status, answer, x.len, e, err))
			return -1;
		char first[201];
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(answer ? answer : "", "\r\n"), answer ? answer : "");
		berth_json_one_line(first);
		return berth_err_set(err, 0, "berthd answered %s with HTTP %d%s%s", action, x.status, first[0] ? ": " : "",
				     first);
	}
	if (x.len == 0) {
		if (!(*resp = cJSON_CreateObject()))
			return berth_err_set(err, ENOMEM, "%s response", action);
		return 0;
	}
	cJSON *j = cJSON_ParseWithLength(answer, x.len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return berth_err_set(err, 0, "berthd's answer to %s is not a JSON object", action);
	}
	*resp = j;
	return 0;
}

int berth_client_exit(const struct berth_client_error *e, const struct berth_err *err)
{
	bool refused = e && e->type[0] && e->http_status >= 400 && e->http_status < 500;
	return cli_fail(err, refused ? 1 : BERTH_EXIT_FAIL);
}
