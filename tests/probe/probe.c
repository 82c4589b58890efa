/* probe — a tiny static program copied into test images as /probe.
 *
 * It reports, as machine-readable `key=value` lines on stdout, what the
 * container looks like from the inside, so the integration tests can assert
 * on it from the outside.  It exits 0 unless the probe itself breaks (bad
 * usage: 2; an observation it cannot make: 3).  Extra arguments after a
 * subcommand's own are ignored, so tests can append a unique marker to argv.
 *
 *   syscalls   try dangerous syscalls: NAME=OK or NAME=E<ERRNO>.  Every call
 *              uses arguments that are harmless should it be allowed, but run
 *              it inside a container only (unshare+mount on a shared host /).
 *   caps       CapInh/CapPrm/CapEff/CapBnd/CapAmb, NoNewPrivs, Seccomp
 *   pid        pid=, ppid=
 *   kcore      kcore_bytes= (bytes readable from /proc/kcore) or kcore=E..
 *   mounts     one line per mount: mount=<mp> fstype= root= source=
 *   fds        one line per open fd: fd=<n> target=<readlink>
 *   id         uid= gid= euid= egid= groups=<comma list>
 *   cwd        cwd=
 *   hostname   hostname=
 *   rlimit     nofile_soft= nofile_hard=
 *   write PATH write=OK or write=E<ERRNO>
 *   ro         proc_sys= sysrq= sys= (opening for write; never writes) and
 *              *_rdonly=0|1 from statvfs
 *   dev        one line per /dev entry: dev=<name> type=<c|b|d|l|f|p|s>
 *              rdev=<maj>:<min> target=<symlink target>
 *   sleep N    sleep N seconds (for signal tests)
 *   serve [ADDR:]PORT[/udp]...
 *              serve each port until killed: a TCP connection, or a UDP
 *              datagram, gets one line "hello PORT from PEER_IP" (so tests see
 *              the source address the server saw); prints "serving" when ready
 *   connect IP PORT [udp]
 *              connect=OK reply=<the line received> or connect=E<ERRNO>
 *              (3 second timeout: connect=ETIMEDOUT)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case EADDRINUSE: return "EADDRINUSE";
	case ECONNRESET: return "ECONNRESET";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ETXTBSY: return "ETXTBSY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case EMLINK: return "EMLINK";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ELOOP: return "ELOOP";
	case ENOKEY: return "ENOKEY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ESTALE: return "ESTALE";
	case ENOEXEC: return "ENOEXEC";
	default: {
		static char buf[32];
		snprintf(buf, sizeof(buf), "%d", e);
		return buf;
	}
	}
}

static void report(const char *name, long rc, int e)
{
	if (rc >= 0)
		printf("%s=OK\n", name);
	else
		printf("%s=%s\n", name, errname(e));
	fflush(stdout);
}

/* A syscall that, when it unexpectedly succeeds, created a child: reap it. */
static void report_fork(const char *name, long rc, int e)
{
	if (rc == 0)
		_exit(0); /* the child */
	if (rc > 0)
		waitpid((pid_t)rc, NULL, __WALL);
	report(name, rc, e);
}

#define TRY(name, call)                          \
	do {                                     \
		errno = 0;                       \
		long rc_ = (long)(call);         \
		report(name, rc_, errno);        \
	} while (0)

static int cmd_syscalls(void)
{
	long rc;
	fflush(stdout);

	/* Blocked by the default profile (EPERM). */
	TRY("unshare", unshare(CLONE_NEWNS));
	TRY("mount", mount("none", "/mnt", "tmpfs", 0, NULL));
	TRY("umount2", umount2("/nonexistent-probe", UMOUNT_NOFOLLOW));
	TRY("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
	TRY("add_key", syscall(SYS_add_key, "berth-no-such-type", "berth-probe", "x", 1, -3));
	TRY("request_key", syscall(SYS_request_key, "user", "berth-probe", NULL, 0));
	{
		unsigned char attr[128];
		memset(attr, 0, sizeof(attr));
		TRY("bpf", syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, attr, sizeof(attr)));
	}
	{
		struct {
			unsigned int handle_bytes;
			int handle_type;
			unsigned char f_handle[64];
		} h;
		memset(&h, 0, sizeof(h));
		h.handle_bytes = 8;
		TRY("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY));
	}
	TRY("init_module", syscall(SYS_init_module, NULL, 0, ""));
	TRY("finit_module", syscall(SYS_finit_module, -1, "", 0));
	TRY("delete_module", syscall(SYS_delete_module, "berth_probe_none", O_NONBLOCK));
	TRY("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL /* invalid flags */));
	TRY("setns", syscall(SYS_setns, -1, 0));
	TRY("pivot_root", syscall(SYS_pivot_root, "/nonexistent-a", "/nonexistent-b"));
	TRY("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC));
	{
		unsigned char params[120];
		memset(params, 0, sizeof(params));
		errno = 0;
		rc = syscall(425 /* io_uring_setup */, 1, params);
		if (rc >= 0)
			close((int)rc);
		report("io_uring_setup", rc, errno);
	}
	{
		unsigned char pattr[128];
		memset(pattr, 0, sizeof(pattr));
		errno = 0;
		rc = syscall(SYS_perf_event_open, pattr, 0, -1, -1, 0);
		if (rc >= 0)
			close((int)rc);
		report("perf_event_open", rc, errno);
	}
	TRY("acct", syscall(SYS_acct, "/nonexistent-probe/acct"));
	TRY("swapoff", syscall(SYS_swapoff, "/nonexistent-swap"));
	TRY("personality_bad", syscall(SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE: harmless */));
	errno = 0;
	rc = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (rc >= 0)
		close((int)rc);
	report("socket_vsock", rc, errno);
	errno = 0;
	rc = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (rc >= 0)
		close((int)rc);
	report("socket_alg", rc, errno);

	/* clone3 with a zeroed struct of size 88: the profile answers ENOSYS so
	 * libcs fall back to clone.  Should it run, it forks: reap the child. */
	{
		uint64_t args[11];
		memset(args, 0, sizeof(args));
		errno = 0;
		rc = syscall(SYS_clone3, args, sizeof(args));
		report_fork("clone3", rc, errno);
	}
	/* clone with a namespace flag is denied; plain clone (fork) is allowed. */
	errno = 0;
	rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	report_fork("clone_newuser", rc, errno);
	errno = 0;
	rc = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
	report_fork("clone_newnet", rc, errno);
	errno = 0;
	rc = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	report_fork("fork", rc, errno);

	/* Positive controls: ordinary calls the profile must allow. */
	errno = 0;
	rc = socket(AF_INET, SOCK_STREAM, 0);
	if (rc >= 0)
		close((int)rc);
	report("socket_inet", rc, errno);
	errno = 0;
	rc = socket(AF_UNIX, SOCK_STREAM, 0);
	if (rc >= 0)
		close((int)rc);
	report("socket_unix", rc, errno);
	TRY("personality_query", syscall(SYS_personality, 0xffffffff));
	TRY("chroot", chroot("/"));
	TRY("getpid", getpid());
	return 0;
}

static int cmd_caps(void)
{
	static const char *keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
				     "NoNewPrivs", "Seccomp", NULL};
	FILE *f = fopen("/proc/self/status", "re");
	if (!f) {
		printf("caps=%s\n", errname(errno));
		return 3;
	}
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; keys[i]; i++) {
			size_t n = strlen(keys[i]);
			if (!strncmp(line, keys[i], n) && line[n] == ':') {
				char *v = line + n + 1;
				while (*v == ' ' || *v == '\t')
					v++;
				v[strcspn(v, "\n")] = 0;
				printf("%s=%s\n", keys[i], v);
			}
		}
	}
	fclose(f);
	return 0;
}

static int cmd_kcore(void)
{
	int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("kcore=%s\n", errname(errno));
		return 0;
	}
	char buf[4096];
	long total = 0;
	ssize_t n;
	while (total < (1 << 20) && (n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0 && total == 0)
		printf("kcore=%s\n", errname(errno));
	printf("kcore_bytes=%ld\n", total);
	close(fd);
	return 0;
}

static int cmd_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		printf("mounts=%s\n", errname(errno));
		return 3;
	}
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = 0;
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *fields[64];
		int nf = 0;
		for (char *s = strtok(line, " "); s && nf < 64; s = strtok(NULL, " "))
			fields[nf++] = s;
		int sep = -1;
		for (int i = 6; i < nf; i++)
			if (!strcmp(fields[i], "-")) {
				sep = i;
				break;
			}
		if (nf < 6 || sep < 0 || sep + 2 >= nf)
			continue;
		printf("mount=%s fstype=%s root=%s source=%s opts=%s\n", fields[4], fields[sep + 1],
		       fields[3], fields[sep + 2], fields[5]);
	}
	free(line);
	fclose(f);
	return 0;
}

static int cmd_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		printf("fds=%s\n", errname(errno));
		return 3;
	}
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd == self)
			continue;
		char target[PATH_MAX];
		ssize_t n = readlinkat(self, e->d_name, target, sizeof(target) - 1);
		if (n < 0)
			n = 0;
		target[n] = 0;
		printf("fd=%d target=%s\n", fd, target);
	}
	closedir(d);
	return 0;
}

static int cmd_id(void)
{
	gid_t groups[256];
	int n = getgroups(256, groups);
	printf("uid=%u\ngid=%u\neuid=%u\negid=%u\ngroups=", getuid(), getgid(), geteuid(), getegid());
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", groups[i]);
	printf("\n");
	return 0;
}

static int cmd_cwd(void)
{
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof(buf))) {
		printf("cwd=%s\n", errname(errno));
		return 0;
	}
	printf("cwd=%s\n", buf);
	return 0;
}

static int cmd_hostname(void)
{
	char buf[HOST_NAME_MAX + 1];
	if (gethostname(buf, sizeof(buf)) < 0) {
		printf("hostname=%s\n", errname(errno));
		return 3;
	}
	buf[HOST_NAME_MAX] = 0;
	printf("hostname=%s\n", buf);
	return 0;
}

static void print_lim(const char *name, rlim_t v)
{
	if (v == RLIM_INFINITY)
		printf("%s=unlimited\n", name);
	else
		printf("%s=%llu\n", name, (unsigned long long)v);
}

static int cmd_rlimit(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) < 0) {
		printf("rlimit=%s\n", errname(errno));
		return 3;
	}
	print_lim("nofile_soft", r.rlim_cur);
	print_lim("nofile_hard", r.rlim_max);
	if (getrlimit(RLIMIT_NPROC, &r) == 0) {
		print_lim("nproc_soft", r.rlim_cur);
		print_lim("nproc_hard", r.rlim_max);
	}
	return 0;
}

static int cmd_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		printf("write=%s\n", errname(errno));
		return 0;
	}
	if (write(fd, "probe\n", 6) != 6) {
		printf("write=%s\n", errname(errno));
		close(fd);
		return 0;
	}
	if (close(fd) < 0) {
		printf("write=%s\n", errname(errno));
		return 0;
	}
	printf("write=OK\n");
	return 0;
}

/* Open for writing only; never write (sysrq-trigger would act on the host). */
static void try_open_w(const char *key, const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		close(fd);
		printf("%s=OK\n", key);
	} else {
		printf("%s=%s\n", key, errname(errno));
	}
}

static void rdonly(const char *key, const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		printf("%s_rdonly=%s\n", key, errname(errno));
	else
		printf("%s_rdonly=%d\n", key, (sv.f_flag & ST_RDONLY) ? 1 : 0);
}

static int cmd_ro(void)
{
	static const char *sysfiles[] = {"/sys/kernel/uevent_helper", "/sys/kernel/profiling",
					 "/sys/power/state", "/sys/kernel/mm/transparent_hugepage/enabled",
					 NULL};
	try_open_w("proc_sys", "/proc/sys/kernel/hostname");
	try_open_w("sysrq", "/proc/sysrq-trigger");
	const char *sf = NULL;
	for (int i = 0; sysfiles[i]; i++)
		if (access(sysfiles[i], F_OK) == 0) {
			sf = sysfiles[i];
			break;
		}
	if (sf) {
		printf("sys_file=%s\n", sf);
		try_open_w("sys", sf);
	} else {
		printf("sys=ENOENT\n");
	}
	errno = 0;
	int rc = mkdir("/sys/berth-probe", 0755);
	if (rc == 0)
		rmdir("/sys/berth-probe");
	report("sys_mkdir", rc, errno);
	rdonly("proc_sys", "/proc/sys");
	rdonly("sysrq", "/proc/sysrq-trigger");
	rdonly("sys", "/sys");
	rdonly("proc", "/proc");
	return 0;
}

static int cmd_dev(void)
{
	DIR *d = opendir("/dev");
	if (!d) {
		printf("dev=%s\n", errname(errno));
		return 3;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			printf("dev=%s type=? err=%s\n", e->d_name, errname(errno));
			continue;
		}
		char t = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISDIR(st.st_mode) ? 'd'
			 : S_ISLNK(st.st_mode) ? 'l' : S_ISFIFO(st.st_mode) ? 'p' : S_ISSOCK(st.st_mode) ? 's'
			 : 'f';
		char target[PATH_MAX] = "";
		if (t == 'l') {
			ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
			target[n > 0 ? n : 0] = 0;
		}
		printf("dev=%s type=%c rdev=%u:%u mode=%04o target=%s\n", e->d_name, t, major(st.st_rdev),
		       minor(st.st_rdev), (unsigned)(st.st_mode & 07777), target);
	}
	closedir(d);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: probe syscalls|caps|pid|kcore|mounts|fds|id|cwd|hostname|rlimit|"
			"write PATH|ro|dev|sleep N\n");
}

static int cmd_serve(int argc, char **argv)
{
	struct pollfd p[16];
	int udp[16], n = 0;
	for (int i = 0; i < argc && n < 16; i++) {
		char spec[64], *port = spec, *colon;
		snprintf(spec, sizeof(spec), "%s", argv[i]);
		char *slash = strchr(spec, '/');
		udp[n] = slash && !strcmp(slash + 1, "udp");
		if (slash)
			*slash = '\0';
		struct sockaddr_in sa = {.sin_family = AF_INET};
		if ((colon = strchr(spec, ':'))) {
			*colon = '\0';
			inet_pton(AF_INET, spec, &sa.sin_addr);
			port = colon + 1;
		}
		sa.sin_port = htons((uint16_t)atoi(port));
		int fd = socket(AF_INET, udp[n] ? SOCK_DGRAM : SOCK_STREAM, 0), one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (!udp[n] && listen(fd, 64) < 0)) {
			printf("serve=%s\n", errname(errno));
			return 3;
		}
		p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	printf("serving\n");
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			struct sockaddr_in peer, self;
			socklen_t pl = sizeof(peer), sl = sizeof(self);
			char ip[16], line[96], buf[64];
			getsockname(p[i].fd, (struct sockaddr *)&self, &sl);
			if (udp[i]) {
				ssize_t r = recvfrom(p[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);
				if (r < 0)
					continue;
				inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
				int len = snprintf(line, sizeof(line), "hello %d from %s\n", ntohs(self.sin_port), ip);
				sendto(p[i].fd, line, (size_t)len, 0, (struct sockaddr *)&peer, pl);
			} else {
				int c = accept(p[i].fd, (struct sockaddr *)&peer, &pl);
				if (c < 0)
					continue;
				inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
				int len = snprintf(line, sizeof(line), "hello %d from %s\n", ntohs(self.sin_port), ip);
				if (write(c, line, (size_t)len) < 0) {
					/* the client went away */
				}
				close(c);
			}
		}
	}
}

static int cmd_connect(const char *ip, const char *port, bool udp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		usage();
		return 2;
	}
	int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		printf("connect=%s\n", errname(errno));
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		printf("connect=%s\n", errname(errno));
		return 0;
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	if (!udp) {
		int r = poll(&p, 1, 3000);
		int e = 0;
		socklen_t el = sizeof(e);
		if (r == 0) {
			printf("connect=%s\n", errname(ETIMEDOUT));
			return 0;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			printf("connect=%s\n", errname(e));
			return 0;
		}
	} else if (send(fd, "x", 1, 0) < 0) {
		printf("connect=%s\n", errname(errno));
		return 0;
	}
	char buf[128];
	size_t off = 0;
	p.events = POLLIN;
	while (off < sizeof(buf) - 1) {
		int r = poll(&p, 1, 3000);
		if (r <= 0)
			break;
		ssize_t k = read(fd, buf + off, sizeof(buf) - 1 - off);
		if (k < 0 && errno != EAGAIN) {
			printf("connect=%s\n", errname(errno));
			return 0;
		}
		if (k <= 0)
			break;
		off += (size_t)k;
		if (memchr(buf, '\n', off))
			break;
	}
	buf[off] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (udp && off == 0) {
		printf("connect=%s\n", errname(ETIMEDOUT));
		return 0;
	}
	printf("connect=OK reply=%s\n", buf);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *c = argv[1];
	if (!strcmp(c, "syscalls"))
		return cmd_syscalls();
	if (!strcmp(c, "caps"))
		return cmd_caps();
	if (!strcmp(c, "pid")) {
		printf("pid=%d\nppid=%d\n", getpid(), getppid());
		return 0;
	}
	if (!strcmp(c, "kcore"))
		return cmd_kcore();
	if (!strcmp(c, "mounts"))
		return cmd_mounts();
	if (!strcmp(c, "fds"))
		return cmd_fds();
	if (!strcmp(c, "id"))
		return cmd_id();
	if (!strcmp(c, "cwd"))
		return cmd_cwd();
	if (!strcmp(c, "hostname"))
		return cmd_hostname();
	if (!strcmp(c, "rlimit"))
		return cmd_rlimit();
	if (!strcmp(c, "write")) {
		if (argc < 3) {
			usage();
			return 2;
		}
		return cmd_write(argv[2]);
	}
	if (!strcmp(c, "ro"))
		return cmd_ro();
	if (!strcmp(c, "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(c, "connect")) {
		if (argc < 4) {
			usage();
			return 2;
		}
		return cmd_connect(argv[2], argv[3], argc > 4 && !strcmp(argv[4], "udp"));
	}
	if (!strcmp(c, "dev"))
		return cmd_dev();
	if (!strcmp(c, "sleep")) {
		if (argc < 3) {
			usage();
			return 2;
		}
		sleep((unsigned)atoi(argv[2]));
		return 0;
	}
	usage();
	return 2;
}
