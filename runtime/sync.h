/* berth runtime/ — the typed parent/child protocol used while a container is
 * being set up.
 *
 * Parent and child share ONE SOCK_SEQPACKET socketpair (O_CLOEXEC on both
 * ends).  Every message is one `struct berth_sync_msg`, so a read returns
 * exactly one message or EOF:
 *
 *   parent -> child   GO      after clone3; the parent's hook point (cgroup,
 *                              network) runs before it is sent
 *   child  -> parent  READY   setup is done; only the final privilege drop,
 *                              seccomp and execve follow
 *   child  -> parent  ERROR   {step, errno, text}: setup failed at `step`;
 *                              the child _exits right after sending it
 *
 * Success is EOF on the parent's end after READY: the child's end is
 * close-on-exec, so execve closes it.  EOF without READY means the child died
 * without reporting (a crash, or a signal) and is an error too.
 *
 * The child never calls strerror(): after clone3 it runs on a copy of a
 * possibly multi-threaded parent, where locale and allocator locks may be
 * held by threads that no longer exist.  It sends errno as a number and the
 * parent renders it.
 */
#ifndef BERTH_RUNTIME_SYNC_H
#define BERTH_RUNTIME_SYNC_H

#include <stdint.h>

#include "common/err.h"

/* Named setup steps, in the order the child runs them. */
enum berth_sync_step {
	BERTH_STEP_NONE = 0,
	BERTH_STEP_SYNC,       /* waiting for GO from the parent */
	BERTH_STEP_NAMESPACES, /* dumpable, signals, namespace joins */
	BERTH_STEP_NETWORK,    /* setns(netns_fd) or bring lo up in the new netns */
	BERTH_STEP_ROOTFS,     /* make / private, attach the rootfs mount */
	BERTH_STEP_MOUNTS,     /* /proc and /sys */
	BERTH_STEP_DEV,        /* /dev tmpfs, nodes, links, pts, shm, mqueue */
	BERTH_STEP_MASK,       /* masked and read-only paths */
	BERTH_STEP_HOSTNAME,   /* sethostname */
	BERTH_STEP_PIVOT,      /* pivot_root and detach the old root */
	BERTH_STEP_FDS,        /* stdio, close every other fd */
	BERTH_STEP_CWD,        /* chdir (mkdir -p), CVE-2024-21626 check */
	BERTH_STEP_READONLY,   /* read-only root filesystem */
	BERTH_STEP_RLIMITS,    /* setrlimit */
	BERTH_STEP_IDENTITY,   /* setgroups, setresgid, setresuid */
	BERTH_STEP_CAPS,       /* bounding set, capset, ambient, no_new_privs */
	BERTH_STEP_SECCOMP,    /* load the BPF filter */
	BERTH_STEP_EXEC,       /* execve */
	BERTH_STEP__COUNT
};

/* "MOUNTS", "EXEC", ...; "UNKNOWN" for out-of-range values. */
const char *berth_sync_step_name(enum berth_sync_step step);

enum berth_sync_type {
	BERTH_SYNC_GO = 0x42470001,
	BERTH_SYNC_READY = 0x42470002,
	BERTH_SYNC_ERROR = 0x42470003,
};

#define BERTH_SYNC_TEXT_MAX BERTH_ERR_MSG_MAX

struct berth_sync_msg {
	uint32_t type;  /* enum berth_sync_type */
	uint32_t step;  /* enum berth_sync_step (ERROR only) */
	int32_t errnum; /* errno of the failure, 0 if none (ERROR only) */
	uint32_t len;   /* bytes of text, without NUL */
	char text[BERTH_SYNC_TEXT_MAX];
};

/* Send one message.  text may be NULL.  Never raises SIGPIPE.  Safe in the
 * child (no allocation, no strerror). */
int berth_sync_send(int fd, enum berth_sync_type type, enum berth_sync_step step, int errnum,
		    const char *text, struct berth_err *err);

/* Receive one message.  timeout_ms < 0 waits forever.  Returns 1 with *msg
 * filled (text NUL-terminated), 0 on EOF, -1 on error or timeout (err->errnum
 * is ETIMEDOUT then).  Malformed messages are an error. */
int berth_sync_recv(int fd, struct berth_sync_msg *msg, int timeout_ms, struct berth_err *err);

/* Child side: block until GO arrives.  EOF (the parent went away) or any
 * other message is an error.  Safe in the child. */
int berth_sync_wait_go(int fd, struct berth_err *err);

/* Child side: report a failure at `step` (best effort; ignores send errors). */
void berth_sync_report(int fd, enum berth_sync_step step, const struct berth_err *cause);

/* Parent side: turn an ERROR message into err: "<text>: <strerror(errnum)>".
 * Returns -1. */
int berth_sync_msg_to_err(const struct berth_sync_msg *msg, struct berth_err *err);

/* Fill err for code that runs in the child: like berth_err_set() but it
 * records errnum without calling strerror() (the parent appends it).
 * Returns -1. */
int berth_child_err(struct berth_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
