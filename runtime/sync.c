/* berth runtime/ — typed parent/child setup protocol (see sync.h). */
#include "runtime/sync.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

static const char *const step_names[BERTH_STEP__COUNT] = {
	[BERTH_STEP_NONE] = "NONE",
	[BERTH_STEP_SYNC] = "SYNC",
	[BERTH_STEP_NAMESPACES] = "NAMESPACES",
	[BERTH_STEP_NETWORK] = "NETWORK",
	[BERTH_STEP_ROOTFS] = "ROOTFS",
	[BERTH_STEP_MOUNTS] = "MOUNTS",
	[BERTH_STEP_DEV] = "DEV",
	[BERTH_STEP_MASK] = "MASK",
	[BERTH_STEP_HOSTNAME] = "HOSTNAME",
	[BERTH_STEP_PIVOT] = "PIVOT",
	[BERTH_STEP_FDS] = "FDS",
	[BERTH_STEP_CWD] = "CWD",
	[BERTH_STEP_READONLY] = "READONLY",
	[BERTH_STEP_RLIMITS] = "RLIMITS",
	[BERTH_STEP_IDENTITY] = "IDENTITY",
	[BERTH_STEP_CAPS] = "CAPS",
	[BERTH_STEP_SECCOMP] = "SECCOMP",
	[BERTH_STEP_EXEC] = "EXEC",
};

const char *berth_sync_step_name(enum berth_sync_step step)
{
	if ((unsigned)step >= BERTH_STEP__COUNT || !step_names[step])
		return "UNKNOWN";
	return step_names[step];
}

int berth_child_err(struct berth_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	berth_err_vset(err, errnum, false, fmt, ap);
	va_end(ap);
	return -1;
}

int berth_sync_send(int fd, enum berth_sync_type type, enum berth_sync_step step, int errnum,
		    const char *text, struct berth_err *err)
{
	struct berth_sync_msg m;
	m.type = (uint32_t)type;
	m.step = (uint32_t)step;
	m.errnum = errnum;
	size_t len = text ? strnlen(text, sizeof(m.text) - 1) : 0;
	if (len)
		memcpy(m.text, text, len);
	m.text[len] = '\0';
	m.len = (uint32_t)len;
	size_t total = offsetof(struct berth_sync_msg, text) + len + 1;
	for (;;) {
		ssize_t w = send(fd, &m, total, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return berth_child_err(err, errno, "send setup message");
		if ((size_t)w != total)
			return berth_child_err(err, EIO, "send setup message: short write");
		return 0;
	}
}

int berth_sync_recv(int fd, struct berth_sync_msg *msg, int timeout_ms, struct berth_err *err)
{
	if (timeout_ms >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r;
		do
			r = poll(&p, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return berth_err_set(err, errno, "wait for the container's setup messages");
		if (r == 0)
			return berth_err_set(err, ETIMEDOUT,
					     "no setup message from the container within %d ms",
					     timeout_ms);
	}
	ssize_t r;
	do
		r = recv(fd, msg, sizeof(*msg), MSG_TRUNC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return berth_err_set(err, errno, "read setup message");
	if (r == 0)
		return 0;
	size_t hdr = offsetof(struct berth_sync_msg, text);
	if ((size_t)r < hdr || (size_t)r > sizeof(*msg))
		return berth_err_set(err, EPROTO, "malformed setup message (%zd bytes)", r);
	if (msg->len >= sizeof(msg->text) || hdr + msg->len + 1 != (size_t)r)
		return berth_err_set(err, EPROTO, "malformed setup message (text length %u)",
				     msg->len);
	msg->text[msg->len] = '\0';
	switch (msg->type) {
	case BERTH_SYNC_GO:
	case BERTH_SYNC_READY:
	case BERTH_SYNC_ERROR:
		break;
	default:
		return berth_err_set(err, EPROTO, "unknown setup message type %#x", msg->type);
	}
	return 1;
}

int berth_sync_wait_go(int fd, struct berth_err *err)
{
	struct berth_sync_msg m;
	ssize_t r;
	do
		r = recv(fd, &m, sizeof(m), MSG_TRUNC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return berth_child_err(err, errno, "wait for the parent's go-ahead");
	if (r == 0)
		return berth_child_err(err, EPIPE, "the parent went away before the go-ahead");
	if ((size_t)r < offsetof(struct berth_sync_msg, text) || m.type != BERTH_SYNC_GO)
		return berth_child_err(err, EPROTO, "unexpected message instead of the go-ahead");
	return 0;
}

void berth_sync_report(int fd, enum berth_sync_step step, const struct berth_err *cause)
{
	int saved = errno;
	berth_sync_send(fd, BERTH_SYNC_ERROR, step, cause ? cause->errnum : 0,
			cause ? cause->msg : "unknown failure", NULL);
	errno = saved;
}

int berth_sync_msg_to_err(const struct berth_sync_msg *msg, struct berth_err *err)
{
	int e = msg->errnum > 0 ? msg->errnum : 0;
	if (msg->len == 0)
		return berth_err_set(err, e, "failed without a message");
	return berth_err_set(err, e, "%s", msg->text);
}
