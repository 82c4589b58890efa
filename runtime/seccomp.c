/* berth runtime/ — the default seccomp profile, compiled once and cached.
 *
 * The profile is an allowlist equivalent to Docker's default
 * (moby/profiles seccomp/default.json) for a container holding Docker's 14
 * default capabilities on a kernel >= 4.8:
 *   - default action ERRNO(EPERM); architectures native (+x86, x32 on x86_64)
 *   - clone3 -> ERRNO(ENOSYS) so libcs fall back to clone
 *   - clone only without namespace flags (flags & 0x7E020000 == 0)
 *   - socket: every family except AF_ALG (38) and AF_VSOCK (40)
 *   - personality: only 0x0, 0x8, 0x20000, 0x20008, 0xffffffff
 *   - ptrace/process_vm_* allowed (Docker allows them from kernel 4.8 on),
 *     chroot allowed (CAP_SYS_CHROOT is a default capability)
 *   - everything else (mount, umount2, unshare, setns, keyctl, add_key,
 *     request_key, bpf, open_by_handle_at, *_module, kexec_*, reboot, swapon,
 *     pivot_root, perf_event_open, userfaultfd, io_uring_*, ...) -> EPERM
 * The table below was written for berth, checked name by name against
 * Docker's profile.  Names libseccomp does not know are skipped (the kernel
 * then answers EPERM for them too).
 *
 * The BPF program is exported with seccomp_export_bpf() into a memfd, kept
 * in a process-wide cache and on disk as
 *   <cache_dir>/seccomp-<sha256(profile text + libseccomp version)>.bpf
 * A cache file that does not look like a sane program is ignored and
 * rewritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"
#include "runtime/sync.h"

struct berth_seccomp {
	struct sock_fprog prog;
	struct berth_seccomp *retired_next; /* see berth_seccomp_cache_forget() */
	char hash[BERTH_SHA256_HEX_LEN + 1];
	size_t ninsns;
	struct sock_filter insns[];
};

/* ---- the profile ---------------------------------------------------------- */

static const char *const allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat",
	"capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
	"clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
	"clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
	"connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
	"epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
	"exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
	"fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
	"fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
	"fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
	"fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
	"futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents",
	"getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
	"getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
	"getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
	"getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
	"getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
	"getxattr", "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
	"io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc",
	"kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
	"lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr",
	"listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat",
	"lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
	"mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
	"mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
	"mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
	"mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
	"munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat",
	"openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
	"pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64",
	"preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64",
	"pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
	"recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
	"removexattr", "removexattrat", "rename", "renameat", "renameat2", "restart_syscall",
	"rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
	"sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
	"select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
	"sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
	"setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
	"setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
	"setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
	"setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
	"setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
	"sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
	"socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx",
	"symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
	"time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
	"timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
	"timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
	"tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
	"uretprobe", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
	"wait4", "waitid", "waitpid", "write", "writev",
	/* kernel >= 4.8: the ptrace seccomp bypass is fixed */
	"ptrace", "process_vm_readv", "process_vm_writev",
	/* x86 only (ignored where unknown) */
	"arch_prctl", "modify_ldt",
	/* CAP_SYS_CHROOT is one of the default capabilities */
	"chroot",
};

#define NS_CLONE_FLAGS 0x7E020000ull /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */

struct cond_rule {
	const char *name;
	int errnum;             /* 0: allow, else ERRNO(errnum) */
	int has_arg;            /* compare argument 0 */
	enum scmp_compare op;
	uint64_t a, b;          /* datum (and mask for MASKED_EQ: a = mask) */
	const char *text;       /* canonical form, part of the profile hash */
};

static const struct cond_rule cond_rules[] = {
	{"clone3", ENOSYS, 0, 0, 0, 0, "errno ENOSYS clone3"},
	{"clone", 0, 1, SCMP_CMP_MASKED_EQ, NS_CLONE_FLAGS, 0, "allow clone a0&0x7e020000==0"},
	{"socket", 0, 1, SCMP_CMP_LT, 38, 0, "allow socket a0<38"},
	{"socket", 0, 1, SCMP_CMP_EQ, 39, 0, "allow socket a0==39"},
	{"socket", 0, 1, SCMP_CMP_GT, 40, 0, "allow socket a0>40"},
	{"personality", 0, 1, SCMP_CMP_EQ, 0x0, 0, "allow personality a0==0x0"},
	{"personality", 0, 1, SCMP_CMP_EQ, 0x8, 0, "allow personality a0==0x8"},
	{"personality", 0, 1, SCMP_CMP_EQ, 0x20000, 0, "allow personality a0==0x20000"},
	{"personality", 0, 1, SCMP_CMP_EQ, 0x20008, 0, "allow personality a0==0x20008"},
	{"personality", 0, 1, SCMP_CMP_EQ, 0xffffffff, 0, "allow personality a0==0xffffffff"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The canonical text of the profile: what the cache key hashes. */
static int profile_text(char **out, size_t *len, struct berth_err *err)
{
	size_t cap = 64 + NELEM(cond_rules) * 64;
	for (size_t i = 0; i < NELEM(allowed); i++)
		cap += strlen(allowed[i]) + 8;
	char *buf = malloc(cap);
	if (!buf)
		return berth_err_set(err, ENOMEM, "seccomp profile");
	const struct scmp_version *v = seccomp_version();
	size_t n = (size_t)snprintf(buf, cap,
				    "berth-default-v1\nlibseccomp %u.%u.%u\ndefault errno EPERM\n"
				    "arch native+x86+x32\n",
				    v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
	for (size_t i = 0; i < NELEM(allowed) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "allow %s\n", allowed[i]);
	for (size_t i = 0; i < NELEM(cond_rules) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s\n", cond_rules[i].text);
	if (n >= cap) {
		free(buf);
		return berth_err_set(err, EOVERFLOW, "seccomp profile text");
	}
	*out = buf;
	*len = n;
	return 0;
}

/* ---- compile -------------------------------------------------------------- */

static void release_ctx(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}

static int compile(struct sock_filter **insns, size_t *ninsns, struct berth_err *err)
{
	__attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return berth_err_set(err, ENOMEM, "seccomp: init");
	int r;
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		if ((r = seccomp_arch_add(ctx, SCMP_ARCH_X86)) < 0 && r != -EEXIST)
			return berth_err_set(err, -r, "seccomp: add architecture x86");
		if ((r = seccomp_arch_add(ctx, SCMP_ARCH_X32)) < 0 && r != -EEXIST)
			return berth_err_set(err, -r, "seccomp: add architecture x32");
	} else if (seccomp_arch_native() == SCMP_ARCH_AARCH64) {
		if ((r = seccomp_arch_add(ctx, SCMP_ARCH_ARM)) < 0 && r != -EEXIST)
			return berth_err_set(err, -r, "seccomp: add architecture arm");
	}
	/* Binary-tree dispatch: cheaper per syscall for a long allowlist. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	for (size_t i = 0; i < NELEM(allowed); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp */
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
			return berth_err_set(err, -r, "seccomp: allow %s", allowed[i]);
	}
	for (size_t i = 0; i < NELEM(cond_rules); i++) {
		const struct cond_rule *c = &cond_rules[i];
		int nr = seccomp_syscall_resolve_name(c->name);
		if (nr == __NR_SCMP_ERROR)
			return berth_err_set(err, 0, "seccomp: libseccomp does not know %s", c->name);
		uint32_t act = c->errnum ? SCMP_ACT_ERRNO((uint32_t)c->errnum) : SCMP_ACT_ALLOW;
		if (c->has_arg)
			r = seccomp_rule_add(ctx, act, nr, 1,
					     (struct scmp_arg_cmp){.arg = 0, .op = c->op,
								   .datum_a = c->a, .datum_b = c->b});
		else
			r = seccomp_rule_add(ctx, act, nr, 0);
		if (r < 0)
			return berth_err_set(err, -r, "seccomp: rule \"%s\"", c->text);
	}

	_cleanup_close_ int mfd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (mfd < 0)
		return berth_err_set(err, errno, "seccomp: memfd_create");
	if ((r = seccomp_export_bpf(ctx, mfd)) < 0)
		return berth_err_set(err, -r, "seccomp: export the BPF program");
	struct stat st;
	if (fstat(mfd, &st) < 0)
		return berth_err_set(err, errno, "seccomp: stat the exported program");
	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0 || size > BPF_MAXINSNS * 8)
		return berth_err_set(err, EINVAL, "seccomp: exported program has %zu bytes", size);
	struct sock_filter *buf = malloc(size);
	if (!buf)
		return berth_err_set(err, ENOMEM, "seccomp: program");
	size_t got = 0;
	while (got < size) {
		ssize_t n = pread(mfd, (char *)buf + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(buf);
			return berth_err_set(err, e, "seccomp: read the exported program");
		}
		got += (size_t)n;
	}
	*insns = buf;
	*ninsns = size / sizeof(struct sock_filter);
	return 0;
}

/* Structural sanity check of a classic BPF program (the kernel verifies it
 * again when it is loaded): size, jump targets in range, ends in RET. */
static bool bpf_sane(const struct sock_filter *f, size_t n)
{
	if (n == 0 || n > BPF_MAXINSNS)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (BPF_CLASS(f[i].code) != BPF_JMP)
			continue;
		if (BPF_OP(f[i].code) == BPF_JA) {
			if ((size_t)f[i].k >= n - i - 1)
				return false;
		} else if ((size_t)f[i].jt >= n - i - 1 || (size_t)f[i].jf >= n - i - 1) {
			return false;
		}
	}
	return BPF_CLASS(f[n - 1].code) == BPF_RET;
}

/* ---- caches --------------------------------------------------------------- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct berth_seccomp *cached_default;
static struct berth_seccomp *retired; /* forgotten programs, kept reachable */
static char cached_hash[BERTH_SHA256_HEX_LEN + 1];
static enum berth_seccomp_source last_source;

static int profile_hash(char hex[BERTH_SHA256_HEX_LEN + 1], struct berth_err *err)
{
	if (cached_hash[0]) {
		memcpy(hex, cached_hash, sizeof(cached_hash));
		return 0;
	}
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (profile_text(&text, &len, err) < 0)
		return -1;
	if (berth_sha256_buf_hex(text, len, cached_hash, err) < 0)
		return berth_err_wrap(err, "seccomp profile hash");
	memcpy(hex, cached_hash, sizeof(cached_hash));
	return 0;
}

/* Caller holds cache_lock. */
static int cache_path_locked(const char *cache_dir, char *buf, size_t len, struct berth_err *err)
{
	char hex[BERTH_SHA256_HEX_LEN + 1];
	if (!cache_dir || !*cache_dir)
		return berth_err_set(err, EINVAL, "seccomp cache: no directory");
	if (profile_hash(hex, err) < 0)
		return -1;
	int n = snprintf(buf, len, "%s/seccomp-%s.bpf", cache_dir, hex);
	if (n < 0 || (size_t)n >= len)
		return berth_err_set(err, ENAMETOOLONG, "seccomp cache path below %s", cache_dir);
	return 0;
}

int berth_seccomp_cache_path(const char *cache_dir, char *buf, size_t len, struct berth_err *err)
{
	pthread_mutex_lock(&cache_lock);
	int r = cache_path_locked(cache_dir, buf, len, err);
	pthread_mutex_unlock(&cache_lock);
	return r;
}

static struct berth_seccomp *wrap(struct sock_filter *insns, size_t n, const char *hash)
{
	struct berth_seccomp *sc = malloc(sizeof(*sc) + n * sizeof(*insns));
	if (!sc)
		return NULL;
	memcpy(sc->insns, insns, n * sizeof(*insns));
	sc->ninsns = n;
	sc->retired_next = NULL;
	sc->prog.len = (unsigned short)n;
	sc->prog.filter = sc->insns;
	snprintf(sc->hash, sizeof(sc->hash), "%s", hash);
	return sc;
}

/* Try the disk cache; NULL when missing, unreadable or not sane. */
static struct berth_seccomp *load_disk(const char *path, const char *hash)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > BPF_MAXINSNS * sizeof(struct sock_filter) ||
	    (size_t)st.st_size % sizeof(struct sock_filter) != 0)
		return NULL;
	size_t n = (size_t)st.st_size / sizeof(struct sock_filter);
	struct berth_seccomp *sc = malloc(sizeof(*sc) + (size_t)st.st_size);
	if (!sc)
		return NULL;
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, (char *)sc->insns + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(sc);
			return NULL;
		}
		got += (size_t)r;
	}
	if (!bpf_sane(sc->insns, n)) {
		free(sc);
		return NULL;
	}
	sc->ninsns = n;
	sc->retired_next = NULL;
	sc->prog.len = (unsigned short)n;
	sc->prog.filter = sc->insns;
	snprintf(sc->hash, sizeof(sc->hash), "%s", hash);
	return sc;
}

/* Best effort: a cache we cannot write is only slower next time. */
static void store_disk(const char *cache_dir, const char *hash, const struct berth_seccomp *sc)
{
	struct berth_err ignored;
	int dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		_cleanup_close_ int base = open(cache_dir[0] == '/' ? "/" : ".",
						O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (base < 0 || berth_mkdir_p_at(base, cache_dir[0] == '/' ? cache_dir + 1 : cache_dir,
						 0700, &ignored) < 0)
			return;
		dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return;
	char name[128];
	snprintf(name, sizeof(name), "seccomp-%s.bpf", hash);
	berth_write_file_atomic(dfd, name, sc->insns, sc->ninsns * sizeof(struct sock_filter), 0644,
				&ignored);
	close(dfd);
}

int berth_seccomp_default(const char *cache_dir, const struct berth_seccomp **out,
			  struct berth_err *err)
{
	pthread_mutex_lock(&cache_lock);
	int ret = -1;
	if (cached_default) {
		*out = cached_default;
		last_source = BERTH_SECCOMP_FROM_MEMORY;
		ret = 0;
		goto unlock;
	}
	char hash[BERTH_SHA256_HEX_LEN + 1];
	if (profile_hash(hash, err) < 0)
		goto unlock;
	char path[4096];
	bool use_disk = cache_dir && *cache_dir;
	if (use_disk && cache_path_locked(cache_dir, path, sizeof(path), err) < 0)
		goto unlock;
	if (use_disk) {
		struct berth_seccomp *sc = load_disk(path, hash);
		if (sc) {
			cached_default = sc;
			*out = sc;
			last_source = BERTH_SECCOMP_FROM_DISK;
			ret = 0;
			goto unlock;
		}
	}
	struct sock_filter *insns = NULL;
	size_t n = 0;
	if (compile(&insns, &n, err) < 0) {
		berth_err_wrap(err, "compile the default seccomp profile");
		goto unlock;
	}
	struct berth_seccomp *sc = wrap(insns, n, hash);
	free(insns);
	if (!sc) {
		berth_err_set(err, ENOMEM, "seccomp program");
		goto unlock;
	}
	if (use_disk)
		store_disk(cache_dir, hash, sc);
	cached_default = sc;
	*out = sc;
	last_source = BERTH_SECCOMP_COMPILED;
	ret = 0;
unlock:
	pthread_mutex_unlock(&cache_lock);
	return ret;
}

enum berth_seccomp_source berth_seccomp_last_source(void)
{
	pthread_mutex_lock(&cache_lock);
	enum berth_seccomp_source s = last_source;
	pthread_mutex_unlock(&cache_lock);
	return s;
}

void berth_seccomp_cache_forget(void)
{
	pthread_mutex_lock(&cache_lock);
	if (cached_default) {
		/* Earlier callers may still hold it: keep it alive. */
		cached_default->retired_next = retired;
		retired = cached_default;
	}
	cached_default = NULL;
	last_source = BERTH_SECCOMP_NONE;
	pthread_mutex_unlock(&cache_lock);
}

const struct sock_fprog *berth_seccomp_fprog(const struct berth_seccomp *sc)
{
	return sc ? &sc->prog : NULL;
}

int berth_seccomp_load(const struct berth_seccomp *sc, struct berth_err *err)
{
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sc->prog) < 0)
		return berth_child_err(err, errno, "load the seccomp filter (%zu instructions)",
				       sc->ninsns);
	return 0;
}
