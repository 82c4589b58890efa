/* berth runtime/ — bring the loopback interface of a fresh network namespace
 * up: one RTM_NEWLINK (ifindex 1, IFF_UP) with NLM_F_ACK over NETLINK_ROUTE.
 *
 * Runs in the cloned child, so libmnl is used for building and parsing the
 * messages only (mnl_socket_open() would allocate); the socket is a plain
 * one and every buffer is on the stack.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "common/cleanup.h"
#include "runtime/internal.h"
#include "runtime/sync.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

struct ext_ack {
	const char *msg;
};

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
	struct ext_ack *ea = data;
	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		ea->msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* Parse an NLMSG_ERROR message: 0 for an ACK, else -errno with *text set to
 * the kernel's extended-ack message when there is one. */
static int parse_ack(const struct nlmsghdr *nlh, const char **text)
{
	*text = NULL;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
		return -EBADMSG;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	if (e->error == 0)
		return 0;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* TLVs follow the echoed request (only its header if capped). */
		unsigned off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len) {
			struct ext_ack ea = {0};
			mnl_attr_parse(nlh, off, ext_ack_attr, &ea);
			*text = ea.msg;
		}
	}
	return e->error;
}

int berth_netlo_up(struct berth_err *err)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return berth_child_err(err, errno, "bring up lo: open a NETLINK_ROUTE socket");
	int one = 1;
	/* Best effort: extended acks carry the kernel's reason as text. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_child_err(err, errno, "bring up lo: bind the netlink socket");

	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = 1; /* lo is always ifindex 1 in a new namespace */
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;

	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t w;
	do
		w = sendto(fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return berth_child_err(err, errno, "bring up lo: send RTM_NEWLINK");

	for (;;) {
		ssize_t r;
		do
			r = recv(fd, buf, sizeof(buf), 0);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return berth_child_err(err, errno, "bring up lo: read the kernel's answer");
		if (r == 0)
			return berth_child_err(err, EPROTO, "bring up lo: no answer from the kernel");
		int len = (int)r;
		for (const struct nlmsghdr *m = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != seq || m->nlmsg_type != NLMSG_ERROR)
				continue;
			const char *text;
			int e = parse_ack(m, &text);
			if (e == 0)
				return 0;
			if (text)
				return berth_child_err(err, -e, "bring up lo: %s", text);
			return berth_child_err(err, -e, "bring up lo");
		}
	}
}
