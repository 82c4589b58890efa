/* berth runtime/ — turn a prepared container spec into an isolated process.
 *
 * runtime/ knows nothing about images, tasks or networks beyond the fds it is
 * handed: a detached mount fd for the root filesystem and, optionally, a
 * network namespace fd to join.
 */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/err.h"

/* Docker's default capability set (14 capabilities), as a CAP_* bitmask. */
uint64_t berth_caps_default(void);
/* Parse "CAP_NET_ADMIN"/"NET_ADMIN"/"net_admin" into a bit number; -1 if unknown. */
int berth_cap_from_name(const char *name);

struct berth_rlimit {
	int resource; /* RLIMIT_* */
	rlim_t soft, hard;
};

/* A compiled seccomp filter (BPF), built once in the parent and cached. */
struct berth_seccomp;
/* The default profile (Docker-equivalent allowlist; blocked calls get EPERM,
 * clone3 gets ENOSYS, clone with namespace flags is denied).  The compiled
 * program is cached in memory for the life of the process and on disk below
 * cache_dir (may be NULL: no disk cache).  The returned object is owned by
 * the cache: do not free it. */
int berth_seccomp_default(const char *cache_dir, const struct berth_seccomp **out,
			  struct berth_err *err);

/* A resolved user. */
struct berth_user {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[64];   /* supplementary groups from the image's /etc/group */
	char home[256];     /* from /etc/passwd, "/" when unknown */
};
/* Resolve "user", "uid", "user:group", "uid:gid" (and mixes) through the
 * /etc/passwd and /etc/group found below rootfd (never the host's; never
 * NSS).  An empty or NULL spec means root.  Unknown names are an error. */
int berth_user_resolve(int rootfd, const char *spec, struct berth_user *out, struct berth_err *err);

/* A file or directory bind-mounted into the container. */
struct berth_bind {
	int fd;                   /* detached mount of the source (berth_bind_source) */
	const char *target;       /* absolute path inside the container; resolved inside the
				     root (symlinks stay in it), created (with its parent
				     directories) as an empty file or directory when missing */
	bool readonly;
};

struct berth_container_spec {
	int rootfs_fd;            /* detached mount fd of the root filesystem (see
				     berth_rootfs_from_dir); the child attaches it */
	const char *rootfs_mountpoint; /* an empty host directory the rootfs is attached
				     on inside the container's mount namespace */
	int netns_fd;             /* -1: new network namespace with only lo, up */
	int cgroup_fd;            /* -1: none (stay in the spawner's cgroup).  Else an
				     O_RDONLY directory fd of a cgroup v2 leaf (see
				     berth_cgroup_create); the process is born in it
				     (clone3 CLONE_INTO_CGROUP, or cgroup.procs written
				     before it may run on the clone fallback), so its
				     limits apply from the first instruction.  Its
				     cgroup namespace is made after that: inside,
				     /proc/self/cgroup reads "0::/".  NB: 0 is a valid
				     fd, so a zeroed spec must set this to -1. */
	char *const *argv;        /* argv[0] is resolved through PATH of envp */
	char *const *envp;
	const char *cwd;          /* created if missing; NULL = "/" */
	const char *user;         /* unresolved user spec, resolved in the rootfs */
	const char *hostname;     /* NULL = leave the new UTS namespace's default */
	bool readonly_rootfs;
	const struct berth_bind *binds; /* mounted after /dev, before the masks */
	size_t nbinds;
	const struct berth_rlimit *rlimits; /* applied in order; NOFILE defaults to 65535 */
	size_t nrlimits;
	uint64_t caps;            /* bounding = permitted = effective; inheritable/ambient empty */
	const struct berth_seccomp *seccomp; /* NULL = no filter (only for tests of the runtime) */
	bool no_new_privs;
	int stdio[3];             /* fds for the container's 0, 1, 2 */
	int pdeathsig;            /* signal sent to the container when the spawner dies; 0 = none */
};

struct berth_proc {
	pid_t pid;
	int pidfd;
};

/* Create the container and start spec->argv in it.  Returns once the process
 * has called execve successfully (>= 0) or with a structured error naming the
 * setup step that failed.  When the command itself cannot be executed, err is
 * filled, *exec_errno (optional) receives the errno (ENOENT, EACCES, ...) and
 * the child has already been reaped. */
int berth_spawn(const struct berth_container_spec *spec, struct berth_proc *out, int *exec_errno,
		struct berth_err *err);

/* Wait for the process and return its exit status as a shell would: the exit
 * code, or 128+N when killed by signal N.  Closes the pidfd. */
int berth_proc_wait(struct berth_proc *p, int *exit_code, struct berth_err *err);

/* Make a detached mount fd (OPEN_TREE_CLONE) of a plain directory, for use
 * as spec->rootfs_fd. */
int berth_rootfs_from_dir(const char *path, struct berth_err *err);

/* A detached mount (OPEN_TREE_CLONE) of a host file or directory, for
 * struct berth_bind. */
int berth_bind_source(const char *path, struct berth_err *err);

#endif
