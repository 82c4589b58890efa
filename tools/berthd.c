/* berthd — the berth daemon: Amazon ECS's JSON 1.1 API on a unix socket and,
 * when configured, on a loopback TCP port (tools/berthd_http.c).
 *
 * Start-up, in order (any failure: one line on stderr, exit 1, nothing left
 * behind):
 *   1. configuration (--config, $BERTH_CONFIG or /etc/berth/berth.json);
 *      with api.listen, the credentials file (every TCP request is signed);
 *   2. the socket's directory (mkdir -p, 0755) and the pid file next to the
 *      socket, <dir>/berthd.pid (/run/berth/berthd.pid by default), locked
 *      with flock: a second berthd on the same socket stops here with
 *      "berthd is already running (pid N)";
 *   3. the task-definition registry under --root;
 *   4. the unix socket, mode 0600: a socket file left by a berthd that died
 *      is removed (nothing answers on it); one something answers on is not
 *      touched and berthd refuses to start; then the TCP listener.
 * Signals: SIGTERM/SIGINT stop accepting and remove the socket; replies
 * being written are finished, meanwhile requests on connections already open
 * are still answered, each with Connection: close and mutating actions
 * refused (ServerException); once no reply is in flight (at most
 * BERTHD_DRAIN_SECONDS) the connections are closed and berthd exits 0 after
 * removing its pid file.  A second SIGTERM exits at once.  SIGHUP reloads
 * the credentials file (a file that does not load leaves the old keys in use).
 */
#include "tools/berthd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "scheduler/registry.h"
#include "tools/cli.h"

#define BERTHD_VERSION "0.1.0"
#define PIDFILE_NAME "berthd.pid"

/* What main owns besides struct berthd. */
struct daemon_files {
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char pidfile[PATH_MAX];
	int pidfd;
	bool sock_bound;     /* sock is ours (dev/ino below) until removed */
	dev_t sock_dev;
	ino_t sock_ino;
};

static struct daemon_files files = {.pidfd = -1};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: berthd [--root DIR] [--config FILE] [--foreground]\n"
		"\n"
		"The berth daemon: serves Amazon ECS's API (task definitions, clusters) on the\n"
		"unix socket api.socket and, when api.listen is set, on that loopback TCP\n"
		"address for `aws ecs --endpoint-url http://HOST:PORT` and the AWS SDKs\n"
		"(SigV4-signed with a key pair from api.credentialsFile).\n"
		"\n"
		"options:\n"
		"  --root DIR      state directory (default %s, or $BERTH_ROOT)\n"
		"  --config FILE   configuration (default %s, or $BERTH_CONFIG)\n"
		"  --foreground    stay in the foreground (the default and only mode)\n"
		"  -h, --help      this text\n"
		"  --version       print the version\n"
		"\n"
		"signals: SIGTERM/SIGINT stop (exit 0), SIGHUP reloads the credentials file.\n",
		BERTH_DEFAULT_ROOT, BERTH_DEFAULT_CONFIG);
}

/* ---- pid file ----------------------------------------------------------------- */

static int pidfile_lock(const char *path, const char *sock, int *out, struct berth_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0)
		return berth_err_set(err, errno, "pid file %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_err_set(err, errno, "pid file %s", path);
	if (!S_ISREG(st.st_mode))
		return berth_err_set(err, 0, "pid file %s is not a regular file; remove it", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return berth_err_set(err, errno, "lock pid file %s", path);
		char buf[24] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
		if (pid > 0)
			return berth_err_set(err, 0, "berthd is already running (pid %ld) on %s; stop it first (kill %ld)",
					     pid, sock, pid);
		return berth_err_set(err, 0, "berthd is already running (it holds the lock on %s) on %s", path, sock);
	}
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return berth_err_set(err, errno, "write pid file %s", path);
	*out = TAKE_FD(fd);
	return 0;
}

/* ---- listening sockets ---------------------------------------------------------- */

/* mkdir -p for the socket's directory, an administrator's choice: symbolic
 * links are followed (/var/run -> /run). */
static int mkdir_parents(const char *dir, mode_t mode, struct berth_err *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return berth_err_set(err, ENAMETOOLONG, "mkdir %s", dir);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return berth_err_set(err, errno, "mkdir %s", buf);
		*p = c;
		if (!c)
			break;
	}
	struct stat st;
	if (stat(dir, &st) < 0)
		return berth_err_set(err, errno, "%s", dir);
	if (!S_ISDIR(st.st_mode))
		return berth_err_set(err, ENOTDIR, "%s", dir);
	return 0;
}

/* Remove a socket file nothing answers on (left by a berthd that died);
 * refuse one something answers on, and anything that is not a socket. */
static int clear_stale_socket(const char *path, struct berth_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return berth_err_set(err, errno, "api.socket %s", path);
	}
	if (!S_ISSOCK(st.st_mode))
		return berth_err_set(err, 0, "api.socket %s exists and is not a socket; remove it or set api.socket "
				     "to another path", path);
	_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (probe < 0)
		return berth_err_set(err, errno, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN || errno == EINPROGRESS)
		return berth_err_set(err, 0, "another process is listening on %s (no berthd holds %s); stop it or set "
				     "api.socket to another path", path, files.pidfile);
	if (errno != ECONNREFUSED && errno != ENOENT)
		return berth_err_set(err, errno, "probe api.socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return berth_err_set(err, errno, "remove stale socket %s", path);
	fprintf(stderr, "berthd: removed stale socket %s (nothing answered on it)\n", path);
	return 0;
}

static int unix_listen(const char *path, struct berth_err *err)
{
	if (clear_stale_socket(path, err) < 0)
		return -1;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return berth_err_set(err, errno, "socket");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	mode_t old = umask(0177); /* the socket is created 0600: root only */
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (rc < 0)
		return berth_err_set(err, e, "bind api.socket %s", path);
	struct stat st;
	if (lstat(path, &st) < 0 || listen(fd, SOMAXCONN) < 0) {
		e = errno;
		unlink(path);
		return berth_err_set(err, e, "listen on api.socket %s", path);
	}
	files.sock_bound = true;
	files.sock_dev = st.st_dev;
	files.sock_ino = st.st_ino;
	return TAKE_FD(fd);
}

/* Remove the socket file if it is still the one this berthd bound. */
static void remove_socket(void)
{
	struct stat st;
	if (files.sock_bound && lstat(files.sock, &st) == 0 && st.st_dev == files.sock_dev &&
	    st.st_ino == files.sock_ino)
		unlink(files.sock);
	files.sock_bound = false;
}

/* api.listen: loopback only (the configuration refuses anything else). */
static int tcp_listen(const char *host, uint16_t port, struct berth_err *err)
{
	bool v6 = !strcmp(host, "::1") || !strcmp(host, "[::1]");
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	} else if (!strcmp(host, "127.0.0.1") || !strcmp(host, "localhost")) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	} else {
		return berth_err_set(err, 0, "api.listen %s: not a loopback address", host);
	}
	_cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return berth_err_set(err, errno, "socket");
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
		return berth_err_set(err, errno, "setsockopt");
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno == EADDRINUSE)
			return berth_err_set(err, 0, "api.listen %s%s%s:%u: the address is in use (by another berthd or "
					     "another program); set api.listen to a free port",
					     v6 ? "[" : "", v6 ? "::1" : "127.0.0.1", v6 ? "]" : "", port);
		return berth_err_set(err, errno, "bind api.listen %s:%u", host, port);
	}
	if (listen(fd, SOMAXCONN) < 0)
		return berth_err_set(err, errno, "listen on api.listen %s:%u", host, port);
	return TAKE_FD(fd);
}

/* ---- signals -------------------------------------------------------------------- */

/* Exit once nothing is in flight, checked after the callbacks running now:
 * the reply completing may let evhttp read a request already received on
 * the same connection, whose answer is then in flight in turn (answered
 * with Connection: close).  The connections are closed here, before the
 * loop ends, so that no request is started and then cut off: a request
 * received but not yet started is dropped with its connection. */
static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct berthd *d = arg;
	if (d->ninflight != 0)
		return;
	berthd_http_free(&d->unix_l);
	berthd_http_free(&d->tcp_l);
	event_base_loopexit(d->base, NULL);
}

void berthd_drained(struct berthd *d)
{
	static const struct timeval now = {0, 0};
	if (event_base_once(d->base, -1, EV_TIMEOUT, on_drain_check, d, &now) < 0)
		event_base_loopexit(d->base, NULL);
}

static void reload_credentials(struct berthd *d)
{
	if (!d->conf.api.listen_host) {
		fprintf(stderr, "berthd: SIGHUP: no TCP listener (api.listen), so no credentials to reload\n");
		return;
	}
	struct berth_credentials *c = NULL;
	struct berth_err err = {0};
	if (berth_credentials_load(d->conf.api.credentials_file, &c, &err) < 0) {
		fprintf(stderr, "berthd: SIGHUP: %s; still using the %zu key pair(s) loaded before\n", err.msg,
			d->creds ? d->creds->n : 0);
		return;
	}
	berth_credentials_free(d->creds);
	d->creds = c;
	fprintf(stderr, "berthd: SIGHUP: reloaded %s: %zu key pair(s)\n", d->conf.api.credentials_file, c->n);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct berthd *d = arg;
	if (sig == SIGHUP) {
		reload_credentials(d);
		return;
	}
	if (d->stopping) {
		fprintf(stderr, "berthd: SIG%s again: exiting now (%zu replies unsent)\n", sigabbrev_np((int)sig),
			d->ninflight);
		event_base_loopbreak(d->base);
		return;
	}
	d->stopping = true;
	d->api.shutting_down = true;
	berthd_http_stop_accepting(&d->unix_l);
	berthd_http_stop_accepting(&d->tcp_l);
	remove_socket();
	fprintf(stderr, "berthd: SIG%s: shutting down (%zu replies in flight)\n", sigabbrev_np((int)sig),
		d->ninflight);
	struct timeval tv = {BERTHD_DRAIN_SECONDS, 0};
	event_base_loopexit(d->base, &tv);
	if (d->ninflight == 0)
		berthd_drained(d);
}

/* ---- main ----------------------------------------------------------------------- */

static int fail(const struct berth_err *err)
{
	fprintf(stderr, "berthd: %s\n", err->msg[0] ? err->msg : "unknown error");
	return 1;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "berthd: %s (see 'berthd --help')\n", msg);
	return 2;
}

/* Everything after the options; d is zeroed by the caller, which frees it. */
static int run(struct berthd *d, const char *root, const char *config, struct berth_registry **reg)
{
	struct berth_err err = {0};
	if (berth_conf_load(config, &d->conf, &err) < 0)
		return fail(&err);
	const struct berth_api_config *ac = &d->conf.api;
	if (ac->listen_host && berth_credentials_load(ac->credentials_file, &d->creds, &err) < 0) {
		berth_err_wrap(&err, "api.listen is set, so every TCP request must be signed with a key pair from "
			       "api.credentialsFile");
		return fail(&err);
	}
	snprintf(files.sock, sizeof(files.sock), "%s", ac->socket);
	char dir[sizeof(files.sock)];
	snprintf(dir, sizeof(dir), "%s", ac->socket);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	snprintf(files.pidfile, sizeof(files.pidfile), "%s%s%s", dir, slash == dir ? "" : "/", PIDFILE_NAME);
	if (mkdir_parents(dir, 0755, &err) < 0) {
		berth_err_wrap(&err, "directory of api.socket");
		return fail(&err);
	}
	if (pidfile_lock(files.pidfile, files.sock, &files.pidfd, &err) < 0)
		return fail(&err);
	if (berth_registry_open(root, reg, &err) < 0)
		return fail(&err);

	snprintf(d->root_principal, sizeof(d->root_principal), "arn:aws:iam::%s:root", ac->account);
	d->api = (struct berth_api_ctx){
		.root = root, .region = ac->region, .account = ac->account, .cluster = "default",
		.principal = d->root_principal, .registry = *reg,
	};
	d->base = event_base_new();
	if (!d->base) {
		berth_err_set(&err, ENOMEM, "event loop");
		return fail(&err);
	}
	int ufd = unix_listen(ac->socket, &err);
	if (ufd < 0 || berthd_http_listen(d, &d->unix_l, ufd, false, &err) < 0)
		return fail(&err);
	if (ac->listen_host) {
		int tfd = tcp_listen(ac->listen_host, ac->listen_port, &err);
		if (tfd < 0 || berthd_http_listen(d, &d->tcp_l, tfd, true, &err) < 0)
			return fail(&err);
	}
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	struct event *sev[3] = {0};
	int rc = 0;
	for (size_t i = 0; i < 3 && !rc; i++) {
		sev[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		if (!sev[i] || evsignal_add(sev[i], NULL) < 0) {
			berth_err_set(&err, errno, "signal handler");
			rc = fail(&err);
		}
	}
	if (!rc) {
		fprintf(stderr, "berthd: ready (pid %d): unix socket %s", (int)getpid(), ac->socket);
		if (ac->listen_host)
			fprintf(stderr, ", tcp %s:%u (SigV4, %zu key pair(s), region %s)", ac->listen_host,
				ac->listen_port, d->creds->n, ac->region);
		fprintf(stderr, "; state %s\n", root);
		if (event_base_dispatch(d->base) < 0) {
			berth_err_set(&err, 0, "event loop failed");
			rc = fail(&err);
		} else {
			fprintf(stderr, "berthd: stopped\n");
		}
	}
	for (size_t i = 0; i < 3; i++)
		if (sev[i])
			event_free(sev[i]);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const char *root = getenv("BERTH_ROOT");
	const char *config = getenv("BERTH_CONFIG");
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'r': root = optarg; break;
		case 'c': config = optarg; break;
		case 'f': break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("berthd %s\n", BERTHD_VERSION); return 0;
		default: return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!root || !*root)
		root = BERTH_DEFAULT_ROOT;
	if (root[0] != '/')
		return usage_error("--root %s: must be an absolute path", root);
	if (config && !*config)
		config = NULL;
	/* A client that goes away mid-reply must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	struct berthd d = {0};
	struct berth_registry *reg = NULL;
	int rc = run(&d, root, config, &reg);
	berthd_http_free(&d.tcp_l);
	berthd_http_free(&d.unix_l);
	berthd_http_forget_inflight(&d);
	remove_socket();
	berth_registry_close(reg);
	if (files.pidfd >= 0) {
		unlink(files.pidfile);
		close(files.pidfd);
	}
	berth_credentials_free(d.creds);
	berth_conf_free(&d.conf);
	if (d.base)
		event_base_free(d.base);
	return rc;
}
