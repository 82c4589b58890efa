/* berth netns/ — rtnetlink over libmnl: sockets inside namespaces, the
 * bridge, the veth pair, the task side, dumps (ports, bridges, subnet
 * conflicts, default-route MTU).
 *
 * Every request carries NLM_F_ACK and is matched to its answer by sequence
 * number; answers to older requests still queued on the socket (an earlier
 * call gave up half-way) are skipped.  The kernel's extended-ack text goes
 * into the error message.  Dumps flagged NLM_F_DUMP_INTR are retried.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>

#include "common/cleanup.h"
#include "netns/netns.h"
#include "netns/nl.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

#define NL_RECV_SIZE 32768 /* what the kernel puts in one dump skb at most */
#define NL_MSG_SIZE 4096   /* every request here is far smaller */
#define NL_DUMP_TRIES 5
#define BRPORT_HAIRPIN_ON 1 /* IFLA_BRPORT_MODE: BRIDGE_MODE_HAIRPIN */
#define THREAD_NETNS "/proc/thread-self/ns/net"

/* The answer to one request. */
struct nl_ack {
	int error;      /* 0, or -errno (the kernel's, or a local failure) */
	bool local;     /* the failure is ours (send/receive/parse), not the kernel's */
	bool intr;      /* a part of the dump carried NLM_F_DUMP_INTR */
	bool done;      /* ACK, error or NLMSG_DONE seen */
	char text[256]; /* kernel extended-ack text, or what failed locally */
};

/* Data message of a reply: 0, or -errno to fail the request (the rest of
 * the reply is still read, so the socket stays usable). */
typedef int (*nl_cb_t)(const struct nlmsghdr *nlh, void *data);

/* "<what>: <strerror> (kernel: <extack>)" */
__attribute__((format(printf, 3, 4))) static int nl_fail(struct berth_err *err, const struct nl_ack *a,
							  const char *fmt, ...)
{
	char what[BERTH_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	int e = a->error < 0 ? -a->error : EPROTO;
	if (a->local)
		return berth_err_set(err, e, "%s: %s", what, a->text[0] ? a->text : "netlink");
	if (!a->text[0])
		return berth_err_set(err, e, "%s", what);
	berth_err_set(err, 0, "%s: %s (kernel: %s)", what, strerror(e), a->text);
	if (err)
		err->errnum = e;
	return -1;
}

static void ack_local(struct nl_ack *a, int e, const char *what)
{
	a->error = -e;
	a->local = true;
	snprintf(a->text, sizeof(a->text), "%s", what);
}

static bool ifname_ok(const char *name)
{
	return name && name[0] && strlen(name) < IFNAMSIZ;
}

/* ---- attributes ---------------------------------------------------------- */

struct attr_tb {
	const struct nlattr **tb;
	unsigned max;
};

static int attr_tb_cb(const struct nlattr *attr, void *data)
{
	struct attr_tb *t = data;
	unsigned type = mnl_attr_get_type(attr);
	if (type <= t->max && !t->tb[type])
		t->tb[type] = attr;
	return MNL_CB_OK;
}

void berth_nl_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, unsigned max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	struct attr_tb t = {tb, max};
	if (nlh->nlmsg_len >= mnl_nlmsg_size(hdrlen))
		mnl_attr_parse(nlh, (unsigned)hdrlen, attr_tb_cb, &t);
}

void berth_nl_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	struct attr_tb t = {tb, max};
	if (nest && mnl_attr_validate(nest, MNL_TYPE_NESTED) >= 0)
		mnl_attr_parse_nested(nest, attr_tb_cb, &t);
}

static bool attr_u32(const struct nlattr *a, uint32_t *out)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(a);
	return true;
}

static const char *attr_str(const struct nlattr *a)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return NULL;
	return mnl_attr_get_str(a);
}

/* ---- transport ----------------------------------------------------------- */

static int ext_ack_cb(const struct nlattr *attr, void *data)
{
	const char **msg = data;
	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* NLMSG_ERROR or NLMSG_DONE: the error it carries (0 or -errno), with the
 * extended-ack text copied into text. */
int berth_nl_parse_end(const struct nlmsghdr *nlh, char *text, size_t textlen)
{
	text[0] = '\0';
	unsigned off;
	int e;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(int)))
			return 0; /* old kernels: no payload */
		memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
		off = sizeof(int);
	} else {
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
			return -EBADMSG;
		const struct nlmsgerr *me = mnl_nlmsg_get_payload(nlh);
		e = me->error;
		/* TLVs follow the echoed request (only its header when capped). */
		off = sizeof(*me);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && me->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += me->msg.nlmsg_len - (unsigned)sizeof(struct nlmsghdr);
	}
	if (e > 0)
		e = -e;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && mnl_nlmsg_size(off) <= nlh->nlmsg_len) {
		const char *msg = NULL;
		mnl_attr_parse(nlh, off, ext_ack_cb, &msg);
		if (msg)
			snprintf(text, textlen, "%s", msg);
	}
	return e;
}

/* Read answers until requests seq0 .. seq0+n-1 are all answered; data
 * messages go to cb.  0, or -errno when the socket itself failed (acks of
 * unanswered requests then carry the failure). */
static int nl_recv(struct berth_nl *nl, uint32_t seq0, unsigned n, nl_cb_t cb, void *data, struct nl_ack *acks)
{
	_cleanup_free_ char *buf = malloc(NL_RECV_SIZE);
	int fail = 0;
	if (!buf)
		fail = ENOMEM;
	unsigned left = n;
	while (left && !fail) {
		ssize_t r = mnl_socket_recvfrom(nl->sk, buf, NL_RECV_SIZE);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail = r < 0 ? errno : EPROTO;
			break;
		}
		int len = (int)r;
		for (const struct nlmsghdr *m = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			uint32_t idx = m->nlmsg_seq - seq0;
			if (idx >= n || acks[idx].done)
				continue; /* an answer to an older request */
			struct nl_ack *a = &acks[idx];
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				a->intr = true;
			if (m->nlmsg_type == NLMSG_ERROR || m->nlmsg_type == NLMSG_DONE) {
				char text[sizeof(a->text)];
				int e = berth_nl_parse_end(m, text, sizeof(text));
				if (a->error == 0 && e < 0) {
					a->error = e;
					memcpy(a->text, text, sizeof(text));
				}
				a->done = true;
				left--;
			} else if (m->nlmsg_type >= NLMSG_MIN_TYPE && cb && a->error == 0) {
				int e = cb(m, data);
				if (e < 0)
					ack_local(a, -e, "parse the kernel's answer");
			}
		}
	}
	if (fail) {
		for (unsigned i = 0; i < n; i++)
			if (!acks[i].done)
				ack_local(&acks[i], fail, "netlink receive");
		return -fail;
	}
	return 0;
}

static int nl_send(struct berth_nl *nl, const void *buf, size_t len)
{
	ssize_t w;
	do
		w = mnl_socket_sendto(nl->sk, buf, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return 0;
}

/* One request (nlh is completed with NLM_F_ACK and a fresh sequence number).
 * Returns a->error: 0 or -errno. */
static int nl_request(struct berth_nl *nl, struct nlmsghdr *nlh, nl_cb_t cb, void *data, struct nl_ack *a)
{
	memset(a, 0, sizeof(*a));
	if (!nl->sk) {
		ack_local(a, EBADF, "netlink socket not open");
		return a->error;
	}
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	nlh->nlmsg_pid = 0;
	int r = nl_send(nl, nlh, nlh->nlmsg_len);
	if (r < 0) {
		ack_local(a, -r, "netlink send");
		return a->error;
	}
	nl_recv(nl, nlh->nlmsg_seq, 1, cb, data, a);
	return a->error;
}

/* A dump, retried while the kernel flags it inconsistent; reset (optional)
 * drops what an interrupted attempt collected. */
static int nl_dump(struct berth_nl *nl, struct nlmsghdr *nlh, nl_cb_t cb, void (*reset)(void *), void *data,
		   struct nl_ack *a)
{
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK;
	for (int i = 0; i < NL_DUMP_TRIES; i++) {
		if (i && reset)
			reset(data);
		int r = nl_request(nl, nlh, cb, data, a);
		if (r < 0 || !a->intr)
			return r;
	}
	ack_local(a, EAGAIN, "dump interrupted by concurrent changes 5 times in a row");
	return a->error;
}

/* ---- sockets and namespaces --------------------------------------------- */

static int sock_open_here(struct berth_nl *nl, struct berth_err *err)
{
	struct mnl_socket *sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!sk)
		return berth_err_set(err, errno, "open a NETLINK_ROUTE socket");
	int one = 1;
	/* Both exist since Linux 4.12; without them errors are only less
	 * descriptive (no kernel text) or acks are bigger (echoed request). */
	(void)mnl_socket_setsockopt(sk, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(sk, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(sk);
		return berth_err_set(err, e, "bind the NETLINK_ROUTE socket");
	}
	nl->sk = sk;
	nl->portid = mnl_socket_get_portid(sk);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

/* Back to the thread's original namespace.  A thread that cannot return
 * would go on configuring the wrong namespace: that is not recoverable. */
static void ns_return(int orig)
{
	if (setns(orig, CLONE_NEWNET) < 0) {
		fprintf(stderr, "berth: cannot return to the original network namespace: %s\n", strerror(errno));
		abort();
	}
}

int berth_nl_open(struct berth_nl *nl, int netns_fd, struct berth_err *err)
{
	nl->sk = NULL;
	nl->portid = 0;
	nl->seq = 0;
	if (netns_fd < 0)
		return sock_open_here(nl, err);
	_cleanup_close_ int orig = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return berth_err_set(err, errno, "open %s", THREAD_NETNS);
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return berth_err_set(err, errno, "enter the network namespace (fd %d)", netns_fd);
	int r = sock_open_here(nl, err);
	ns_return(orig);
	if (r < 0)
		return berth_err_wrap(err, "inside the network namespace (fd %d)", netns_fd);
	return 0;
}

void berth_nl_close(struct berth_nl *nl)
{
	if (nl && nl->sk) {
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
	}
}

/* berth_sysctl_net, with a missing file (e.g. no IPv6) not an error. */
static int sysctl_optional(const char *path, const char *value, struct berth_err *err)
{
	struct berth_err e = {0};
	if (berth_sysctl_net(path, value, &e) >= 0 || e.errnum == ENOENT)
		return 0;
	*err = e;
	return -1;
}

int berth_netns_new(int *netns_fd, struct berth_nl *nl_inside, struct berth_err *err)
{
	*netns_fd = -1;
	if (nl_inside)
		nl_inside->sk = NULL;
	_cleanup_close_ int orig = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return berth_err_set(err, errno, "open %s", THREAD_NETNS);
	if (unshare(CLONE_NEWNET) < 0)
		return berth_err_set(err, errno, "create a network namespace");
	_cleanup_close_ int fd = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	int r = 0;
	if (fd < 0)
		r = berth_err_set(err, errno, "open the new namespace's %s", THREAD_NETNS);
	if (r >= 0)
		r = sysctl_optional("ipv6/conf/default/disable_ipv6", "1", err);
	if (r >= 0)
		r = berth_sysctl_net("ipv4/conf/all/accept_redirects", "0", err);
	if (r >= 0)
		r = berth_sysctl_net("ipv4/conf/default/accept_redirects", "0", err);
	if (r >= 0 && nl_inside)
		r = berth_nl_open(nl_inside, -1, err);
	ns_return(orig);
	if (r < 0)
		return berth_err_wrap(err, "set up a new network namespace");
	*netns_fd = TAKE_FD(fd);
	return 0;
}

/* ---- links --------------------------------------------------------------- */

/* A request with an ifinfomsg for family/index (up: set IFF_UP). */
static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, uint8_t family, int index, bool up)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = family;
	ifm->ifi_index = index;
	ifm->ifi_flags = ifm->ifi_change = up ? IFF_UP : 0;
	return nlh;
}

/* RTM_NEWADDR for ip/plen on index (with its broadcast address). */
static struct nlmsghdr *addr_msg(char *buf, uint16_t flags, int index, uint32_t ip, uint8_t plen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = flags;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(ip));
	mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(ip));
	if (plen < 31)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(ip | (0xffffffffu >> plen)));
	return nlh;
}

struct link_info {
	int index;
	int master;
	uint32_t mtu;
	char name[IFNAMSIZ];
	char kind[32];
};

static void parse_link(const struct nlmsghdr *nlh, struct link_info *li)
{
	memset(li, 0, sizeof(*li));
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	li->index = ifm->ifi_index;
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	berth_nl_attrs(nlh, sizeof(*ifm), tb, IFLA_MAX);
	const char *s = attr_str(tb[IFLA_IFNAME]);
	if (s)
		snprintf(li->name, sizeof(li->name), "%s", s);
	uint32_t v;
	if (attr_u32(tb[IFLA_MASTER], &v))
		li->master = (int)v;
	if (attr_u32(tb[IFLA_MTU], &v))
		li->mtu = v;
	if (tb[IFLA_LINKINFO] && mnl_attr_validate(tb[IFLA_LINKINFO], MNL_TYPE_NESTED) >= 0) {
		berth_nl_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX);
		s = attr_str(info[IFLA_INFO_KIND]);
		if (s)
			snprintf(li->kind, sizeof(li->kind), "%s", s);
	}
}

static int link_one_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return 0;
	parse_link(nlh, data);
	return 0;
}

/* One link by name (index 0) or index: 1 found, 0 none, < 0 error in a. */
static int get_link(struct berth_nl *nl, const char *name, int index, struct link_info *li, struct nl_ack *a)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, AF_UNSPEC, index, false);
	if (!index)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(li, 0, sizeof(*li));
	int r = nl_request(nl, nlh, link_one_cb, li, a);
	if (r == -ENODEV) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (r < 0)
		return r;
	return li->index > 0 ? 1 : 0;
}

int berth_nl_link_mtu(struct berth_nl *nl, const char *name, uint32_t *mtu, struct berth_err *err)
{
	if (!ifname_ok(name))
		return berth_err_set(err, EINVAL, "look up link \"%s\": not a valid interface name", name ? name : "");
	struct link_info li;
	struct nl_ack a;
	int r = get_link(nl, name, 0, &li, &a);
	if (r < 0)
		return nl_fail(err, &a, "look up link %s", name);
	if (r && mtu)
		*mtu = li.mtu;
	return r ? li.index : 0;
}

int berth_nl_ifindex(struct berth_nl *nl, const char *name, struct berth_err *err)
{
	return berth_nl_link_mtu(nl, name, NULL, err);
}

static int link_up(struct berth_nl *nl, int index, struct nl_ack *a)
{
	char buf[NL_MSG_SIZE];
	return nl_request(nl, link_msg(buf, RTM_NEWLINK, 0, AF_UNSPEC, index, true), NULL, NULL, a);
}

static int link_del_req(struct berth_nl *nl, const char *name, struct nl_ack *a)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, AF_UNSPEC, 0, false);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_request(nl, nlh, NULL, NULL, a);
}

int berth_nl_link_del(struct berth_nl *nl, const char *name, struct berth_err *err)
{
	if (!ifname_ok(name))
		return berth_err_set(err, EINVAL, "delete link \"%s\": not a valid interface name", name ? name : "");
	struct nl_ack a;
	int r = link_del_req(nl, name, &a);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return nl_fail(err, &a, "delete link %s", name);
	return 1;
}

/* IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE = none } } on an
 * existing link: no IPv6 link-local address on our host-side links.  The
 * kernel (6.18) refuses this in the creating message (EAFNOSUPPORT, also
 * from `ip link add ... addrgenmode none`), so it is a message of its own,
 * sent before the link has a carrier.  Without IPv6 there is nothing to do. */
static int set_no_addrgen(struct berth_nl *nl, int index, struct nl_ack *a)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, AF_UNSPEC, index, false);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *in6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, in6);
	mnl_attr_nest_end(nlh, spec);
	int r = nl_request(nl, nlh, NULL, NULL, a);
	return r == -EAFNOSUPPORT ? 0 : r;
}

/* ---- bridge -------------------------------------------------------------- */

static void build_bridge(char *buf, const struct berth_bridge_params *p)
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0, false);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, p->name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, p->mac);
	if (p->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, p->mtu);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_BR_FORWARD_DELAY, 0);
	mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
}

int berth_nl_bridge_ensure(struct berth_nl *nl, const struct berth_bridge_params *p, struct berth_err *err)
{
	if (!ifname_ok(p->name))
		return berth_err_set(err, EINVAL, "create bridge \"%s\": not a valid interface name",
				     p->name ? p->name : "");
	struct nl_ack a;
	char buf[NL_MSG_SIZE];
	build_bridge(buf, p);
	int r = nl_request(nl, (struct nlmsghdr *)buf, NULL, NULL, &a);
	if (r == -EOPNOTSUPP)
		return nl_fail(err, &a,
			       "create bridge %s: the kernel has no bridge support (load the \"bridge\" module "
			       "or enable CONFIG_BRIDGE)", p->name);
	if (r < 0 && r != -EEXIST)
		return nl_fail(err, &a, "create bridge %s", p->name);

	struct link_info li;
	r = get_link(nl, p->name, 0, &li, &a);
	if (r < 0)
		return nl_fail(err, &a, "look up bridge %s", p->name);
	if (r == 0)
		return berth_err_set(err, ENODEV, "bridge %s vanished right after its creation", p->name);
	if (strcmp(li.kind, "bridge") != 0)
		return berth_err_set(err, EEXIST,
				     "link %s exists and is not a bridge (it is %s%s); remove it or set "
				     "network.bridgePrefix", p->name, li.kind[0] ? "a " : "a device without a kind",
				     li.kind);

	if (set_no_addrgen(nl, li.index, &a) < 0)
		return nl_fail(err, &a, "turn IPv6 address generation off on bridge %s", p->name);
	static const char *const knobs[][2] = {
		{"ipv4/conf/%s/proxy_arp_pvlan", "1"}, /* tasks reach each other only via the host */
		{"ipv4/conf/%s/send_redirects", "0"},
		{"ipv4/conf/%s/route_localnet", NULL},
		{"ipv6/conf/%s/accept_ra", "0"}, /* may be missing: no IPv6 */
	};
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), knobs[i][0], p->name);
		const char *v = knobs[i][1] ? knobs[i][1] : p->route_localnet ? "1" : "0";
		if ((i == 3 ? sysctl_optional(path, v, err) : berth_sysctl_net(path, v, err)) < 0)
			return berth_err_wrap(err, "bridge %s", p->name);
	}

	char ip[16];
	r = nl_request(nl, addr_msg(buf, NLM_F_CREATE | NLM_F_EXCL, li.index, p->gateway, p->plen), NULL, NULL, &a);
	if (r < 0 && r != -EEXIST)
		return nl_fail(err, &a, "add address %s/%u to bridge %s", berth_ip_str(p->gateway, ip),
			       (unsigned)p->plen, p->name);
	if (link_up(nl, li.index, &a) < 0)
		return nl_fail(err, &a, "bring bridge %s up", p->name);
	return li.index;
}

/* ---- veth ---------------------------------------------------------------- */

static void build_veth(char *buf, const struct berth_veth_params *p, const uint8_t host_mac[6])
{
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0, true);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, p->host_name);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, host_mac);
	if (p->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, p->mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)p->master);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's own ifinfomsg comes first.  No IFF_UP here: the kernel
	 * answers ENOTCONN; eth0 is brought up from inside.  The kernel honours
	 * the peer's ifi_index only when the host end's is given too (it is
	 * not): eth0 gets the namespace's next free ifindex, 2 in a fresh
	 * namespace but 3 after a failed attempt (indexes are not reused). */
	struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	pifm->ifi_index = 2;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, p->peer_mac);
	if (p->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, p->mtu);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)p->peer_netns_fd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
}

/* `bridge link set dev NAME hairpin on`: RTM_SETLINK, family AF_BRIDGE,
 * IFLA_PROTINFO (nested) { IFLA_BRPORT_MODE = 1 }, handled by the master
 * bridge's ndo_bridge_setlink.  (The same as RTM_NEWLINK is acked but
 * ignored on 6.18; IFLA_LINKINFO { IFLA_INFO_SLAVE_KIND "bridge",
 * IFLA_INFO_SLAVE_DATA { IFLA_BRPORT_MODE } } in an RTM_NEWLINK works too.) */
static int set_hairpin(struct berth_nl *nl, int index, struct nl_ack *a)
{
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_SETLINK, 0, AF_BRIDGE, index, false);
	struct nlattr *prot = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, BRPORT_HAIRPIN_ON);
	mnl_attr_nest_end(nlh, prot);
	return nl_request(nl, nlh, NULL, NULL, a);
}

int berth_nl_veth_create(struct berth_nl *nl, const struct berth_veth_params *p, struct berth_err *err)
{
	if (!ifname_ok(p->host_name))
		return berth_err_set(err, EINVAL, "create veth \"%s\": not a valid interface name",
				     p->host_name ? p->host_name : "");
	if (!p->peer_mac || p->peer_netns_fd < 0 || p->master <= 0)
		return berth_err_set(err, EINVAL, "create veth %s: missing peer MAC, namespace or bridge",
				     p->host_name);
	/* An explicit (random, locally administered) MAC for the host end too:
	 * udev's MACAddressPolicy=persistent rewrites only random ones. */
	uint8_t host_mac[6];
	if (getrandom(host_mac, sizeof(host_mac), 0) != (ssize_t)sizeof(host_mac))
		return berth_err_set(err, errno, "create veth %s: getrandom", p->host_name);
	host_mac[0] = (uint8_t)((host_mac[0] & 0xfc) | 0x02);

	struct nl_ack a;
	char buf[NL_MSG_SIZE];
	build_veth(buf, p, host_mac);
	int r = nl_request(nl, (struct nlmsghdr *)buf, NULL, NULL, &a);
	if (r == -EEXIST) {
		struct link_info li;
		struct nl_ack a2;
		if (get_link(nl, p->host_name, 0, &li, &a2) > 0)
			return nl_fail(err, &a, "create veth %s: a link named %s already exists", p->host_name,
				       p->host_name);
		return nl_fail(err, &a, "create veth %s: the task's namespace already has an eth0", p->host_name);
	}
	if (r == -EXFULL)
		return nl_fail(err, &a, "create veth %s: bridge (ifindex %d) has no free port", p->host_name,
			       p->master);
	if (r < 0)
		return nl_fail(err, &a, "create veth %s", p->host_name);

	struct link_info li;
	r = get_link(nl, p->host_name, 0, &li, &a);
	if (r <= 0) {
		if (r == 0)
			ack_local(&a, ENODEV, "vanished right after its creation");
		nl_fail(err, &a, "look up veth %s", p->host_name);
		goto undo;
	}
	/* The host end has no carrier until eth0 is up inside: no link-local
	 * address can have been generated yet. */
	if (set_no_addrgen(nl, li.index, &a) < 0) {
		nl_fail(err, &a, "turn IPv6 address generation off on %s", p->host_name);
		goto undo;
	}
	if (set_hairpin(nl, li.index, &a) < 0) {
		nl_fail(err, &a, "set hairpin mode on bridge port %s", p->host_name);
		goto undo;
	}
	return li.index;
undo:;
	struct nl_ack a2;
	link_del_req(nl, p->host_name, &a2); /* the peer goes with it */
	return -1;
}

/* ---- task side ----------------------------------------------------------- */

int berth_nl_task_configure(struct berth_nl *nl, uint32_t ip, uint8_t plen, uint32_t gateway,
			    struct berth_err *err)
{
	/* eth0 by name: ifindex 2 only when no earlier veth attempt in this
	 * namespace used that index (see build_veth). */
	struct link_info li;
	struct nl_ack a;
	int r = get_link(nl, "eth0", 0, &li, &a);
	if (r < 0)
		return nl_fail(err, &a, "inside the task's namespace: look up eth0");
	if (r == 0)
		return berth_err_set(err, ENODEV, "inside the task's namespace: look up eth0");
	const int eth0 = li.index;
	char buf[NL_MSG_SIZE];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	if (!b)
		return berth_err_set(err, errno, "configure the task's namespace: start a netlink batch");
	const uint32_t seq0 = nl->seq + 1;
	const uint16_t f = NLM_F_REQUEST | NLM_F_ACK;
	link_msg(mnl_nlmsg_batch_current(b), RTM_NEWLINK, f, AF_UNSPEC, 1, true); /* lo */
	mnl_nlmsg_batch_next(b);
	link_msg(mnl_nlmsg_batch_current(b), RTM_NEWLINK, f, AF_UNSPEC, eth0, true);
	mnl_nlmsg_batch_next(b);
	addr_msg(mnl_nlmsg_batch_current(b), f | NLM_F_CREATE | NLM_F_REPLACE, eth0, ip, plen);
	mnl_nlmsg_batch_next(b);
	/* After the link-up: a route via a gateway on a down link is refused
	 * ("Nexthop has invalid gateway"). */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = f | NLM_F_CREATE | NLM_F_REPLACE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)eth0);
	mnl_nlmsg_batch_next(b);
	for (struct nlmsghdr *m = mnl_nlmsg_batch_head(b); m != mnl_nlmsg_batch_current(b);
	     m = (struct nlmsghdr *)((char *)m + NLMSG_ALIGN(m->nlmsg_len)))
		m->nlmsg_seq = ++nl->seq;

	r = nl_send(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b));
	mnl_nlmsg_batch_stop(b);
	if (r < 0)
		return berth_err_set(err, -r, "inside the task's namespace: send the configuration batch");
	struct nl_ack acks[4];
	memset(acks, 0, sizeof(acks));
	nl_recv(nl, seq0, 4, NULL, NULL, acks);
	char ips[16], gws[16];
	for (int i = 0; i < 4; i++) {
		if (!acks[i].error)
			continue;
		switch (i) {
		case 0: return nl_fail(err, &acks[i], "inside the task's namespace: bring lo up");
		case 1: return nl_fail(err, &acks[i], "inside the task's namespace: bring eth0 up");
		case 2:
			return nl_fail(err, &acks[i], "inside the task's namespace: add address %s/%u to eth0",
				       berth_ip_str(ip, ips), (unsigned)plen);
		default:
			return nl_fail(err, &acks[i], "inside the task's namespace: add route default via %s",
				       berth_ip_str(gateway, gws));
		}
	}
	return 0;
}

/* ---- link dumps ---------------------------------------------------------- */

struct strv_acc {
	char **v;
	size_t n, cap;
	int master;         /* ports_of */
	const char *prefix; /* bridges */
};

static void strv_acc_reset(void *data)
{
	struct strv_acc *s = data;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
	if (s->v)
		s->v[0] = NULL;
}

static int strv_acc_push(struct strv_acc *s, const char *name)
{
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	char *d = strdup(name);
	if (!d)
		return -ENOMEM;
	s->v[s->n++] = d;
	s->v[s->n] = NULL;
	return 0;
}

/* Hand the vector over (an empty one when nothing was found). */
static int strv_acc_take(struct strv_acc *s, char ***names, struct berth_err *err)
{
	if (!s->v && strv_acc_push(s, "") == 0)
		strv_acc_reset(s);
	if (!s->v)
		return berth_err_set(err, ENOMEM, "collect link names");
	*names = s->v;
	s->v = NULL;
	return (int)s->n;
}

/* A link of a dump: a port of s->master, or (s->prefix set) a bridge named
 * prefix + digits. */
static int links_cb(const struct nlmsghdr *nlh, void *data)
{
	struct strv_acc *s = data;
	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return 0;
	struct link_info li;
	parse_link(nlh, &li);
	if (!li.name[0])
		return 0;
	if (!s->prefix)
		return li.master == s->master ? strv_acc_push(s, li.name) : 0;
	size_t pl = strlen(s->prefix);
	if (strcmp(li.kind, "bridge") != 0 || strncmp(li.name, s->prefix, pl) != 0 || !li.name[pl])
		return 0;
	for (const char *c = li.name + pl; *c; c++)
		if (*c < '0' || *c > '9')
			return 0;
	return strv_acc_push(s, li.name);
}

static int links_dump(struct berth_nl *nl, struct nlmsghdr *nlh, struct strv_acc *s, char ***names,
		      struct berth_err *err)
{
	struct nl_ack a;
	if (nl_dump(nl, nlh, links_cb, strv_acc_reset, s, &a) < 0) {
		strv_acc_reset(s);
		free(s->v);
		if (s->prefix)
			return nl_fail(err, &a, "list the bridges named %s<n>", s->prefix);
		return nl_fail(err, &a, "list the ports of bridge ifindex %d", s->master);
	}
	return strv_acc_take(s, names, err);
}

int berth_nl_ports_of(struct berth_nl *nl, int master, char ***names, struct berth_err *err)
{
	*names = NULL;
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, AF_UNSPEC, 0, false);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master); /* kernel-side filter; checked again here */
	struct strv_acc s = {.master = master};
	return links_dump(nl, nlh, &s, names, err);
}

int berth_nl_bridges(struct berth_nl *nl, const char *prefix, char ***names, struct berth_err *err)
{
	*names = NULL;
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, 0, AF_UNSPEC, 0, false);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge"); /* kernel-side filter; checked again here */
	mnl_attr_nest_end(nlh, linkinfo);
	struct strv_acc s = {.prefix = prefix ? prefix : ""};
	return links_dump(nl, nlh, &s, names, err);
}

/* ---- routes and addresses ------------------------------------------------ */

static uint32_t mask_of(uint8_t plen)
{
	return plen == 0 ? 0 : plen >= 32 ? 0xffffffffu : ~(0xffffffffu >> plen);
}

static bool prefixes_overlap(uint32_t a, uint8_t alen, uint32_t b, uint8_t blen)
{
	uint32_t m = mask_of(alen < blen ? alen : blen);
	return (a & m) == (b & m);
}

static bool ignored(int index, const int *ign, size_t nign)
{
	for (size_t i = 0; i < nign; i++)
		if (ign[i] == index)
			return true;
	return false;
}

struct route4 {
	uint8_t type, dst_len;
	uint32_t table, dst, priority;
	int oif;          /* RTA_OIF, or the first hop of a multipath route */
	bool all_ignored; /* every output device is in the ignore list */
};

static bool parse_route4(const struct nlmsghdr *nlh, const int *ign, size_t nign, struct route4 *rt)
{
	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct rtmsg)))
		return false;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET || (rtm->rtm_flags & RTM_F_CLONED))
		return false;
	memset(rt, 0, sizeof(*rt));
	rt->type = rtm->rtm_type;
	rt->dst_len = rtm->rtm_dst_len;
	rt->table = rtm->rtm_table;
	const struct nlattr *tb[RTA_MAX + 1];
	berth_nl_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
	uint32_t v;
	if (attr_u32(tb[RTA_TABLE], &v))
		rt->table = v;
	if (attr_u32(tb[RTA_DST], &v))
		rt->dst = ntohl(v);
	if (attr_u32(tb[RTA_PRIORITY], &v))
		rt->priority = v;
	if (attr_u32(tb[RTA_OIF], &v)) {
		rt->oif = (int)v;
		rt->all_ignored = ignored(rt->oif, ign, nign);
	} else if (tb[RTA_MULTIPATH]) { /* ignored when every hop is; else the first kept hop */
		const struct rtnexthop *nh = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
		int left = (int)mnl_attr_get_payload_len(tb[RTA_MULTIPATH]);
		rt->all_ignored = true;
		for (; left >= (int)sizeof(*nh) && RTNH_OK(nh, left);
		     left -= RTNH_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
			bool ign_hop = ignored(nh->rtnh_ifindex, ign, nign);
			if (!rt->oif || (!ign_hop && rt->all_ignored))
				rt->oif = nh->rtnh_ifindex;
			if (!ign_hop)
				rt->all_ignored = false;
		}
	}
	return true;
}

struct conflict {
	uint32_t subnet;
	uint8_t plen;
	const int *ign;
	size_t nign;
	bool found;
	bool is_addr;
	uint32_t ip;
	uint8_t ip_plen;
	uint8_t type;
	uint32_t table;
	int index;
};

static int conflict_route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct conflict *c = data;
	struct route4 rt;
	if (c->found || !parse_route4(nlh, c->ign, c->nign, &rt))
		return 0;
	if (rt.type == RTN_LOCAL || rt.type == RTN_BROADCAST || rt.type == RTN_MULTICAST ||
	    rt.type == RTN_ANYCAST || rt.table == RT_TABLE_LOCAL)
		return 0;
	if (rt.dst_len == 0 || rt.all_ignored)
		return 0; /* a default route covers everything and conflicts with nothing */
	if (!prefixes_overlap(rt.dst, rt.dst_len, c->subnet, c->plen))
		return 0;
	c->found = true;
	c->ip = rt.dst;
	c->ip_plen = rt.dst_len;
	c->type = rt.type;
	c->table = rt.table;
	c->index = rt.oif;
	return 0;
}

static int conflict_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct conflict *c = data;
	if (c->found || nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifaddrmsg)))
		return 0;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET || ignored((int)ifa->ifa_index, c->ign, c->nign))
		return 0;
	const struct nlattr *tb[IFA_MAX + 1];
	berth_nl_attrs(nlh, sizeof(*ifa), tb, IFA_MAX);
	uint32_t v;
	if (!attr_u32(tb[IFA_LOCAL], &v) && !attr_u32(tb[IFA_ADDRESS], &v))
		return 0;
	uint32_t addr = ntohl(v);
	if ((addr & mask_of(c->plen)) != (c->subnet & mask_of(c->plen)))
		return 0;
	c->found = true;
	c->is_addr = true;
	c->ip = addr;
	c->ip_plen = ifa->ifa_prefixlen;
	c->index = (int)ifa->ifa_index;
	return 0;
}

static const char *rtn_name(uint8_t type)
{
	switch (type) {
	case RTN_BLACKHOLE: return "blackhole";
	case RTN_UNREACHABLE: return "unreachable";
	case RTN_PROHIBIT: return "prohibit";
	case RTN_THROW: return "throw";
	case RTN_NAT: return "nat";
	default: return "";
	}
}

int berth_nl_subnet_conflict(struct berth_nl *nl, uint32_t subnet, uint8_t plen, const int *ignore_ifindex,
			     size_t nignore, char *desc, size_t desclen, struct berth_err *err)
{
	char sub[16];
	berth_ip_str(subnet, sub);
	struct conflict c = {.subnet = subnet, .plen = plen > 32 ? 32 : plen, .ign = ignore_ifindex, .nign = nignore};
	struct nl_ack a;
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	if (nl_dump(nl, nlh, conflict_route_cb, NULL, &c, &a) < 0)
		return nl_fail(err, &a, "list IPv4 routes (checking %s/%u for conflicts)", sub, (unsigned)plen);
	if (!c.found) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETADDR;
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = AF_INET;
		if (nl_dump(nl, nlh, conflict_addr_cb, NULL, &c, &a) < 0)
			return nl_fail(err, &a, "list IPv4 addresses (checking %s/%u for conflicts)", sub,
				       (unsigned)plen);
	}
	if (!c.found)
		return 0;

	char dev[IFNAMSIZ + 8] = "";
	if (c.index > 0) {
		struct link_info li;
		if (get_link(nl, NULL, c.index, &li, &a) > 0 && li.name[0])
			snprintf(dev, sizeof(dev), "%s", li.name);
		else
			snprintf(dev, sizeof(dev), "if%d", c.index);
	}
	char ip[16];
	berth_ip_str(c.ip, ip);
	if (desc && desclen) {
		if (c.is_addr) {
			snprintf(desc, desclen, "address %s/%u on %s", ip, (unsigned)c.ip_plen, dev);
		} else {
			char table[32] = "";
			if (c.table != RT_TABLE_MAIN)
				snprintf(table, sizeof(table), " table %u", c.table);
			const char *t = rtn_name(c.type);
			snprintf(desc, desclen, "%s%sroute %s/%u%s%s%s", t, t[0] ? " " : "", ip, (unsigned)c.ip_plen,
				 dev[0] ? " dev " : "", dev, table);
		}
	}
	return 1;
}

struct default_route {
	bool found;
	uint32_t priority;
	int oif;
};

static int default_route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct default_route *d = data;
	struct route4 rt;
	if (!parse_route4(nlh, NULL, 0, &rt))
		return 0;
	if (rt.table != RT_TABLE_MAIN || rt.type != RTN_UNICAST || rt.dst_len != 0 || rt.oif <= 0)
		return 0;
	if (!d->found || rt.priority < d->priority) {
		d->found = true;
		d->priority = rt.priority;
		d->oif = rt.oif;
	}
	return 0;
}

int berth_nl_default_mtu(struct berth_nl *nl, uint32_t *mtu, struct berth_err *err)
{
	*mtu = 1500;
	struct default_route d = {0};
	struct nl_ack a;
	char buf[NL_MSG_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	if (nl_dump(nl, nlh, default_route_cb, NULL, &d, &a) < 0)
		return nl_fail(err, &a, "list IPv4 routes (looking for the default route)");
	if (!d.found)
		return 0;
	struct link_info li;
	int r = get_link(nl, NULL, d.oif, &li, &a);
	if (r < 0)
		return nl_fail(err, &a, "look up the default route's interface (ifindex %d)", d.oif);
	if (r > 0 && li.mtu >= 68)
		*mtu = li.mtu;
	return 0;
}
