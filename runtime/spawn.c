/* berth runtime/ — create a container process: clone3 into new namespaces,
 * drive the child through its setup steps over the sync socket (sync.h), and
 * return once it has exec'd the task.
 *
 * The child is PID 1 of its PID namespace and execs the task itself (no
 * extra fork).  It runs on a copy of the parent's memory that may have been
 * taken while other threads held libc locks, so everything it needs (user,
 * environment, capability sets, seccomp program) is prepared by the parent
 * before clone3, and the child only issues syscalls: no malloc, no stdio, no
 * strerror, no NSS.
 *
 * Child order (the step names travel back in errors):
 *   NAMESPACES  PR_SET_DUMPABLE 0, default signal dispositions, umask 0
 *   SYNC        wait for GO
 *   NAMESPACES  unshare(CLONE_NEWCGROUP): the child is in its cgroup by now
 *               (born there by CLONE_INTO_CGROUP, or moved by the parent
 *               before GO), so its cgroup namespace is rooted there
 *   NETWORK     setns(netns_fd) or bring lo up in the new netns
 *   ROOTFS      / rprivate, attach the rootfs      } mounts.c, by fd
 *   MOUNTS, DEV, MASK                              } (MOUNTS includes a
 *                                                  } read-only cgroup2)
 *   HOSTNAME
 *   PIVOT       pivot_root(".", "."), detach the old root
 *   FDS         stdio on 0-2, sync socket on 3, close everything else
 *   CWD         chdir (mkdir -p if missing), getcwd() must be inside
 *   READONLY    read-only root, when asked
 *   RLIMITS
 *   CAPS        bounding set, KEEPCAPS
 *   IDENTITY    setgroups, setresgid, setresuid
 *   CAPS        capset, clear ambient, no_new_privs, pdeathsig
 *   EXEC        environment, PATH lookup, close_range(CLOEXEC), READY
 *   SECCOMP     load the filter (last)
 *   EXEC        execve
 * Without no_new_privs the kernel only accepts a filter from a task holding
 * CAP_SYS_ADMIN, so then the capset keeps CAP_SYS_ADMIN until just after
 * the filter is loaded and a second capset drops it right before execve.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/trace.h"
#include "common/util.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"
#include "runtime/sync.h"

#define SYNC_FD 3
#define SETUP_TIMEOUT_MS 60000
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct child_ctx {
	const struct berth_container_spec *spec;
	bool mount_cgroup2; /* the host has cgroup2 mounted */
	int sock;        /* the child's end */
	int parent_sock; /* the parent's end: closed first thing in the child */
	struct berth_user user;
	char *const *envp; /* final environment */
	const char *path;  /* PATH value inside envp */
	struct berth_caps_plan caps;
};

/* ---- child ---------------------------------------------------------------- */

static void __attribute__((noreturn)) child_fail(struct child_ctx *c, enum berth_sync_step step,
						 const struct berth_err *e)
{
	berth_sync_report(c->sock, step, e);
	_exit(step == BERTH_STEP_EXEC ? 127 : 126);
}

static void reset_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL); /* libc-reserved ones fail: fine */
}

/* stdio on 0-2, the sync socket on SYNC_FD (close-on-exec), nothing else. */
static int setup_fds(struct child_ctx *c, struct berth_err *err)
{
	int src[3];
	for (int i = 0; i < 3; i++) {
		int from = c->spec->stdio[i];
		if (from < 0) {
			from = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
			if (from < 0)
				return berth_child_err(err, errno, "open /dev/null for fd %d", i);
			struct stat st;
			if (fstat(from, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
				return berth_child_err(err, 0, "/dev/null is not the null device");
		}
		src[i] = fcntl(from, F_DUPFD_CLOEXEC, 10);
		if (src[i] < 0)
			return berth_child_err(err, errno, "stdio fd %d (from fd %d)", i, from);
	}
	int sk = fcntl(c->sock, F_DUPFD_CLOEXEC, 10);
	if (sk < 0)
		return berth_child_err(err, errno, "move the sync socket");
	c->sock = sk;
	for (int i = 0; i < 3; i++)
		if (dup2(src[i], i) < 0) /* the copy on 0-2 is not close-on-exec */
			return berth_child_err(err, errno, "install stdio fd %d", i);
	if (dup3(sk, SYNC_FD, O_CLOEXEC) < 0)
		return berth_child_err(err, errno, "move the sync socket to fd %d", SYNC_FD);
	c->sock = SYNC_FD;
	if (syscall(SYS_close_range, SYNC_FD + 1, ~0U, 0) < 0)
		return berth_child_err(err, errno, "close inherited file descriptors");
	return 0;
}

/* mkdir -p inside the container (we are root there and already pivoted). */
static int mkdir_p(const char *path, struct berth_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof(buf))
		return berth_child_err(err, ENAMETOOLONG, "create working directory %s", path);
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return berth_child_err(err, errno, "create working directory %s", buf);
		buf[i] = saved;
	}
	return 0;
}

static int enter_cwd(const char *cwd, struct berth_err *err)
{
	if (chdir(cwd) < 0) {
		if (errno != ENOENT)
			return berth_child_err(err, errno, "chdir %s", cwd);
		if (mkdir_p(cwd, err) < 0)
			return -1;
		if (chdir(cwd) < 0)
			return berth_child_err(err, errno, "chdir %s", cwd);
	}
	/* CVE-2024-21626: a cwd reached through a leaked fd lies outside the
	 * root; the kernel then reports it as "(unreachable)/...". */
	char buf[PATH_MAX];
	if (syscall(SYS_getcwd, buf, sizeof(buf)) < 0)
		return berth_child_err(err, errno, "getcwd after chdir %s", cwd);
	if (buf[0] != '/' || strncmp(buf, "(unreachable)", 13) == 0)
		return berth_child_err(err, 0,
				       "working directory %s is outside the container's root "
				       "(refused: CVE-2024-21626)",
				       cwd);
	return 0;
}

/* execvp-style lookup, but deterministic: only the container's PATH, no
 * shell fallback.  Picks the first executable regular file; failing that the
 * first non-executable one (so execve reports EACCES); else ENOENT. */
static int resolve_cmd(const char *cmd, const char *path, char *out, size_t outlen)
{
	if (strchr(cmd, '/')) {
		if (strlen(cmd) >= outlen)
			return -ENAMETOOLONG;
		memcpy(out, cmd, strlen(cmd) + 1);
		return 0;
	}
	bool have_fallback = false;
	char cand[PATH_MAX];
	for (const char *p = path; p;) {
		const char *colon = strchr(p, ':');
		size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
		int n = dlen ? snprintf(cand, sizeof(cand), "%.*s/%s", (int)dlen, p, cmd)
			     : snprintf(cand, sizeof(cand), "./%s", cmd);
		p = colon ? colon + 1 : NULL;
		if (n < 0 || (size_t)n >= sizeof(cand) || (size_t)n >= outlen)
			continue;
		struct stat st;
		if (stat(cand, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (faccessat(AT_FDCWD, cand, X_OK, AT_EACCESS) == 0) {
			memcpy(out, cand, (size_t)n + 1);
			return 0;
		}
		if (!have_fallback) {
			memcpy(out, cand, (size_t)n + 1);
			have_fallback = true;
		}
	}
	return have_fallback ? 0 : -ENOENT;
}

/* True when the parent's end of the sync socket is gone. */
static bool parent_gone(int sock)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

static void __attribute__((noreturn)) child_main(struct child_ctx *c)
{
	const struct berth_container_spec *s = c->spec;
	struct berth_err err = {0};
	struct berth_mnt m = BERTH_MNT_INIT;

	/* NAMESPACES: we are already in them (clone3 flags); make ourselves
	 * unptraceable and unreadable through /proc before anything else. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_fail(c, BERTH_STEP_NAMESPACES,
			   &(struct berth_err){errno, "PR_SET_DUMPABLE 0"});
	close(c->parent_sock);
	reset_signals();
	umask(0);

	if (berth_sync_wait_go(c->sock, &err) < 0)
		_exit(125); /* nobody to report to */

	/* Only now: clone3 makes CLONE_NEWCGROUP before CLONE_INTO_CGROUP
	 * places the child, which would root the namespace at the spawner's
	 * cgroup (and on the clone fallback the parent moves us before GO). */
	if (unshare(CLONE_NEWCGROUP) < 0)
		child_fail(c, BERTH_STEP_NAMESPACES,
			   &(struct berth_err){errno, "unshare the cgroup namespace"});

	if (s->netns_fd >= 0) {
		if (setns(s->netns_fd, CLONE_NEWNET) < 0)
			child_fail(c, BERTH_STEP_NETWORK,
				   &(struct berth_err){errno, "join the task's network namespace"});
	} else if (berth_netlo_up(&err) < 0) {
		child_fail(c, BERTH_STEP_NETWORK, &err);
	}

	if (berth_mnt_attach_rootfs(s->rootfs_fd, s->rootfs_mountpoint, &m, &err) < 0)
		child_fail(c, BERTH_STEP_ROOTFS, &err);
	if (berth_mnt_proc_sys(&m, &err) < 0)
		child_fail(c, BERTH_STEP_MOUNTS, &err);
	if (c->mount_cgroup2 && berth_mnt_cgroup(&m, &err) < 0)
		child_fail(c, BERTH_STEP_MOUNTS, &err);
	if (berth_mnt_dev(&m, &err) < 0)
		child_fail(c, BERTH_STEP_DEV, &err);
	if (berth_mnt_binds(&m, s->binds, s->nbinds, &err) < 0)
		child_fail(c, BERTH_STEP_MOUNTS, &err);
	if (berth_mnt_mask(&m, &err) < 0)
		child_fail(c, BERTH_STEP_MASK, &err);
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		child_fail(c, BERTH_STEP_HOSTNAME, &(struct berth_err){errno, "sethostname"});
	if (berth_mnt_pivot(&m, &err) < 0)
		child_fail(c, BERTH_STEP_PIVOT, &err);
	berth_mnt_close(&m);

	if (setup_fds(c, &err) < 0)
		child_fail(c, BERTH_STEP_FDS, &err);
	if (enter_cwd(s->cwd ? s->cwd : "/", &err) < 0)
		child_fail(c, BERTH_STEP_CWD, &err);
	if (s->readonly_rootfs && berth_mnt_readonly_root(&err) < 0)
		child_fail(c, BERTH_STEP_READONLY, &err);

	if (berth_rlimits_apply(s->rlimits, s->nrlimits, &err) < 0)
		child_fail(c, BERTH_STEP_RLIMITS, &err);
	if (berth_caps_drop_bounding(&c->caps, &err) < 0)
		child_fail(c, BERTH_STEP_CAPS, &err);
	if (berth_identity_switch(&c->user, &err) < 0)
		child_fail(c, BERTH_STEP_IDENTITY, &err);
	if (berth_caps_set(c->caps.interim ? c->caps.interim : c->caps.final, &err) < 0 ||
	    berth_caps_clear_ambient(&err) < 0)
		child_fail(c, BERTH_STEP_CAPS, &err);
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(c, BERTH_STEP_CAPS, &(struct berth_err){errno, "PR_SET_NO_NEW_PRIVS"});
	/* After the uid change: changing credentials clears the death signal. */
	if (s->pdeathsig > 0) {
		if (prctl(PR_SET_PDEATHSIG, (unsigned long)s->pdeathsig, 0, 0, 0) < 0)
			child_fail(c, BERTH_STEP_CAPS, &(struct berth_err){errno, "PR_SET_PDEATHSIG"});
		if (parent_gone(c->sock))
			_exit(125);
	}

	char path[PATH_MAX];
	int r = resolve_cmd(s->argv[0], c->path, path, sizeof(path));
	if (r < 0) {
		berth_child_err(&err, -r, "cannot execute \"%s\"", s->argv[0]);
		child_fail(c, BERTH_STEP_EXEC, &err);
	}
	umask(022);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(c, BERTH_STEP_EXEC,
			   &(struct berth_err){errno, "mark file descriptors close-on-exec"});
	if (berth_sync_send(c->sock, BERTH_SYNC_READY, BERTH_STEP_EXEC, 0, NULL, &err) < 0)
		_exit(125);

	/* Last: from here on only the filter's allowed calls run. */
	if (s->seccomp && berth_seccomp_load(s->seccomp, &err) < 0)
		child_fail(c, BERTH_STEP_SECCOMP, &err);
	if (c->caps.interim && berth_caps_set(c->caps.final, &err) < 0)
		child_fail(c, BERTH_STEP_CAPS, &err);
	execve(path, s->argv, c->envp);
	berth_child_err(&err, errno, "cannot execute \"%s\"", s->argv[0]);
	child_fail(c, BERTH_STEP_EXEC, &err);
}

/* ---- parent --------------------------------------------------------------- */

static int validate(const struct berth_container_spec *s, struct berth_err *err)
{
	if (!s->argv || !s->argv[0] || !s->argv[0][0])
		return berth_err_set(err, EINVAL, "no command to run (empty argv)");
	if (s->rootfs_fd < 0)
		return berth_err_set(err, EBADF, "no root filesystem (rootfs_fd)");
	if (!s->rootfs_mountpoint || s->rootfs_mountpoint[0] != '/')
		return berth_err_set(err, EINVAL,
				     "rootfs_mountpoint must be an absolute host directory");
	if (s->cwd && s->cwd[0] != '/')
		return berth_err_set(err, EINVAL, "working directory \"%s\" must be absolute", s->cwd);
	if (s->hostname && (!s->hostname[0] || strlen(s->hostname) > 64))
		return berth_err_set(err, EINVAL, "hostname \"%s\" must be 1 to 64 characters",
				     s->hostname);
	if (s->pdeathsig < 0 || s->pdeathsig >= _NSIG)
		return berth_err_set(err, EINVAL, "pdeathsig %d is not a signal", s->pdeathsig);
	for (size_t i = 0; i < s->nrlimits; i++)
		if (s->rlimits[i].resource < 0 || s->rlimits[i].resource >= RLIMIT_NLIMITS ||
		    s->rlimits[i].soft > s->rlimits[i].hard)
			return berth_err_set(err, EINVAL, "rlimit %zu (resource %d): invalid", i,
					     s->rlimits[i].resource);
	for (int i = 0; i < 3; i++)
		if (s->stdio[i] >= 0 && fcntl(s->stdio[i], F_GETFD) < 0)
			return berth_err_set(err, errno, "stdio fd %d (fd %d)", i, s->stdio[i]);
	if (s->cgroup_fd >= 0) {
		struct statfs sf;
		struct stat st;
		if (fstatfs(s->cgroup_fd, &sf) < 0 || fstat(s->cgroup_fd, &st) < 0)
			return berth_err_set(err, errno, "cgroup_fd %d", s->cgroup_fd);
		if (sf.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode))
			return berth_err_set(err, EINVAL,
					     "cgroup_fd %d is not a cgroup v2 directory (-1 for none)",
					     s->cgroup_fd);
	}
	return 0;
}

/* Whether this host has cgroup2 mounted: the kernel lists the "0::" line
 * in /proc/self/cgroup only once cgroup2 has been mounted somewhere. */
static bool host_has_cgroup2(void)
{
	char buf[4096];
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strncmp(buf, "0::", 3) == 0 || strstr(buf, "\n0::") != NULL;
}

/* Clone fallback: put the (still waiting) child into its cgroup. */
static int join_cgroup(int cgroup_fd, long pid, struct berth_err *err)
{
	char v[24];
	snprintf(v, sizeof(v), "%ld", pid);
	if (berth_cgroup_write_file(cgroup_fd, "cgroup.procs", v, err) < 0)
		return berth_err_wrap(err, "move the container process into its cgroup");
	return 0;
}

/* Hint for a refused CLONE_INTO_CGROUP. */
static const char *clone_cgroup_hint(int e)
{
	switch (e) {
	case EBUSY:
		return " (the cgroup has controllers enabled for children: processes can only "
		       "join a leaf cgroup)";
	case EOPNOTSUPP:
		return " (the cgroup is threaded or otherwise cannot take processes)";
	case EAGAIN:
		return " (pids.max of the cgroup is reached)";
	default:
		return "";
	}
}

struct env {
	char **v;
	char *own[3];
};

static void env_free(struct env *e)
{
	free(e->v);
	for (int i = 0; i < 3; i++)
		free(e->own[i]);
}

static bool env_has(char *const *envp, const char *key, const char **value)
{
	size_t k = strlen(key);
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], key, k) == 0 && envp[i][k] == '=') {
			if (value)
				*value = envp[i] + k + 1;
			return true;
		}
	return false;
}

/* spec->envp plus HOME, PATH and HOSTNAME when it lacks them. */
static int build_env(const struct berth_container_spec *s, const struct berth_user *u,
		     struct env *e, const char **path, struct berth_err *err)
{
	size_t n = berth_strv_len(s->envp);
	e->v = calloc(n + 4, sizeof(char *));
	if (!e->v)
		return berth_err_set(err, ENOMEM, "environment");
	memcpy(e->v, s->envp ? s->envp : (char *const[]){NULL}, n * sizeof(char *));
	int own = 0;
	if (!env_has(s->envp, "HOME", NULL)) {
		if (asprintf(&e->own[own], "HOME=%s", u->home) < 0)
			return berth_err_set(err, ENOMEM, "environment");
		e->v[n++] = e->own[own++];
	}
	if (!env_has(s->envp, "PATH", path)) {
		if (!(e->own[own] = strdup("PATH=" DEFAULT_PATH)))
			return berth_err_set(err, ENOMEM, "environment");
		*path = e->own[own] + 5;
		e->v[n++] = e->own[own++];
	}
	if (!env_has(s->envp, "HOSTNAME", NULL)) {
		struct utsname un;
		const char *h = s->hostname;
		if (!h) /* the new UTS namespace starts with the host's name */
			h = uname(&un) == 0 ? un.nodename : "";
		if (asprintf(&e->own[own], "HOSTNAME=%s", h) < 0)
			return berth_err_set(err, ENOMEM, "environment");
		e->v[n++] = e->own[own++];
	}
	e->v[n] = NULL;
	return 0;
}

static int kill_and_reap(int pidfd, siginfo_t *si)
{
	(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	siginfo_t tmp;
	if (!si)
		si = &tmp;
	memset(si, 0, sizeof(*si));
	int r;
	do
		r = waitid(P_PIDFD, (id_t)pidfd, si, WEXITED);
	while (r < 0 && errno == EINTR);
	return r;
}

static void describe_status(const siginfo_t *si, char *buf, size_t len)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, len, "exited with status %d", si->si_status);
	else
		snprintf(buf, len, "was killed by signal %d (%s)", si->si_status,
			 sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
}

int berth_spawn(const struct berth_container_spec *spec, struct berth_proc *out, int *exec_errno,
		struct berth_err *err)
{
	if (exec_errno)
		*exec_errno = 0;
	if (!spec || !out)
		return berth_err_set(err, EINVAL, "spawn: no spec");
	out->pid = -1;
	out->pidfd = -1;
	if (validate(spec, err) < 0)
		return berth_err_wrap(err, "invalid container spec");

	struct child_ctx c = {.spec = spec, .path = DEFAULT_PATH,
			      .mount_cgroup2 = host_has_cgroup2()};
	if (berth_user_resolve(spec->rootfs_fd, spec->user, &c.user, err) < 0)
		return -1;
	struct env env = {0};
	int ret = -1, sock = -1;
	if (build_env(spec, &c.user, &env, &c.path, err) < 0)
		goto out_env;
	c.envp = env.v;
	bool seccomp_needs_admin = spec->seccomp && !spec->no_new_privs;
	if (berth_caps_plan_init(&c.caps, spec->caps, seccomp_needs_admin, err) < 0)
		goto out_env;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		berth_err_set(err, errno, "create the setup socket");
		goto out_caps;
	}
	c.parent_sock = sv[0];
	c.sock = sv[1];

	/* The cgroup namespace is made by the child after GO (see child_main). */
	uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD;
	if (spec->netns_fd < 0)
		flags |= CLONE_NEWNET;
	int pidfd = -1;
	struct clone_args ca = {
		.flags = flags,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
	};
	if (spec->cgroup_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)spec->cgroup_fd;
	}
	/* No signal handler of ours may run in the child before it resets them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	bool via_clone3 = true;
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	/* ENOSYS: e.g. berth itself under a seccomp profile; E2BIG: a kernel
	 * before 5.7 without CLONE_INTO_CGROUP.  The plain clone below leaves
	 * the child in our cgroup until join_cgroup() moves it before GO. */
	if (pid < 0 && (errno == ENOSYS || (errno == E2BIG && spec->cgroup_fd >= 0))) {
		via_clone3 = false;
		pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, &pidfd, NULL, NULL);
	}
	if (pid == 0)
		child_main(&c);
	int clone_errno = errno;
	berth_trace("clone3_returned");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	sock = sv[0];
	if (pid < 0) {
		if (spec->cgroup_fd >= 0 && via_clone3)
			berth_err_set(err, clone_errno,
				      "clone3 into the container's cgroup (new mount/pid/uts/ipc%s "
				      "namespaces)%s",
				      spec->netns_fd < 0 ? "/net" : "", clone_cgroup_hint(clone_errno));
		else
			berth_err_set(err, clone_errno, "clone3 (new mount/pid/uts/ipc%s namespaces)",
				      spec->netns_fd < 0 ? "/net" : "");
		goto out_caps;
	}

	/* Before GO: the child waits, so limits apply before it runs anything
	 * of its own.  Network plumbing for the new process also goes here. */
	if (!via_clone3 && spec->cgroup_fd >= 0 && join_cgroup(spec->cgroup_fd, pid, err) < 0) {
		kill_and_reap(pidfd, NULL);
		close(pidfd);
		goto out_caps;
	}
	if (berth_sync_send(sock, BERTH_SYNC_GO, BERTH_STEP_SYNC, 0, NULL, err) < 0) {
		/* berth_sync_send fills errnum only (child-safe): render it. */
		berth_err_set(err, err->errnum, "send the go-ahead to the container");
		kill_and_reap(pidfd, NULL);
		close(pidfd);
		goto out_caps;
	}

	bool ready = false;
	struct berth_sync_msg msg;
	for (;;) {
		int r = berth_sync_recv(sock, &msg, SETUP_TIMEOUT_MS, err);
		if (r < 0) {
			berth_err_wrap(err, "container setup");
			kill_and_reap(pidfd, NULL);
			close(pidfd);
			goto out_caps;
		}
		if (r == 0)
			break;
		if (msg.type == BERTH_SYNC_READY) {
			ready = true;
			continue;
		}
		if (msg.type == BERTH_SYNC_ERROR) {
			kill_and_reap(pidfd, NULL);
			close(pidfd);
			berth_sync_msg_to_err(&msg, err);
			if (msg.step == BERTH_STEP_EXEC) {
				if (exec_errno)
					*exec_errno = msg.errnum;
			} else {
				berth_err_wrap(err, "container setup failed at step %s",
					       berth_sync_step_name((enum berth_sync_step)msg.step));
			}
			goto out_caps;
		}
		berth_err_set(err, EPROTO, "container setup: unexpected message %#x", msg.type);
		kill_and_reap(pidfd, NULL);
		close(pidfd);
		goto out_caps;
	}
	if (!ready) {
		siginfo_t si;
		char how[96] = "ended";
		if (kill_and_reap(pidfd, &si) == 0)
			describe_status(&si, how, sizeof(how));
		close(pidfd);
		berth_err_set(err, EPROTO,
			      "container setup: the container process %s before it reported "
			      "success or an error",
			      how);
		goto out_caps;
	}
	berth_trace("exec_confirmed");
	out->pid = (pid_t)pid;
	out->pidfd = pidfd;
	ret = 0;
out_caps:
	if (sock >= 0)
		close(sock);
	berth_caps_plan_free(&c.caps);
out_env:
	env_free(&env);
	return ret;
}

int berth_proc_wait(struct berth_proc *p, int *exit_code, struct berth_err *err)
{
	if (!p || p->pidfd < 0)
		return berth_err_set(err, EBADF, "wait: no process");
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	int r;
	do
		r = waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED);
	while (r < 0 && errno == EINTR);
	int e = errno;
	close(p->pidfd);
	p->pidfd = -1;
	if (r < 0)
		return berth_err_set(err, e, "wait for container process %d", (int)p->pid);
	int code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	if (exit_code)
		*exit_code = code;
	return code;
}
