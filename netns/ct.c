/* berth netns/ — conntrack flushes over ctnetlink (libmnl) and net sysctls.
 *
 * A flush dumps the IPv4 conntrack table of the caller's namespace, matches
 * entries in user space and deletes each match by its original tuple (and
 * zone), the deletions batched into few sendmsg calls.  An entry that is
 * gone by the time its delete arrives (ENOENT) is not an error, and a
 * kernel without conntrack has nothing to flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define CT_RECV_SIZE 32768
#define CT_BATCH_SIZE 16384
#define CT_DUMP_TRIES 5
#define CT_TUPLE_MAX 256 /* an IPv4 tuple is < 100 bytes */
/* A delete: header, nfgenmsg, the tuple and the zone attributes. */
#define CT_DELETE_MAX (NLMSG_HDRLEN + 4 + 4 + CT_TUPLE_MAX + 8)

/* ---- ctnetlink transport ------------------------------------------------- */

struct ct_sock {
	struct mnl_socket *sk;
	uint32_t seq;
};

/* 0, or -errno: EPROTONOSUPPORT when the kernel has no nfnetlink. */
static int ct_open(struct ct_sock *cs)
{
	cs->sk = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!cs->sk)
		return -errno;
	int one = 1;
	(void)mnl_socket_setsockopt(cs->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(cs->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(cs->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(cs->sk);
		cs->sk = NULL;
		return -e;
	}
	cs->seq = (uint32_t)time(NULL);
	return 0;
}

static void ct_close(struct ct_sock *cs)
{
	if (cs->sk)
		mnl_socket_close(cs->sk);
	cs->sk = NULL;
}

static struct nlmsghdr *ct_put_header(void *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK << 8) | type);
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static int ct_send(struct ct_sock *cs, const void *buf, size_t len)
{
	ssize_t w;
	do
		w = mnl_socket_sendto(cs->sk, buf, len);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

/* ---- matching ------------------------------------------------------------ */

struct ct_tuple {
	bool ok;
	uint32_t src, dst; /* host byte order */
	uint8_t proto;
	uint16_t sport, dport; /* host byte order */
};

struct ct_entry {
	uint16_t len; /* payload of CTA_TUPLE_ORIG, re-sent as is */
	bool has_zone;
	uint16_t zone; /* network byte order, as received */
	uint8_t tuple[CT_TUPLE_MAX];
};

struct ct_match {
	bool by_ip;
	uint32_t ip;
	uint8_t proto;
	uint16_t port;
	struct ct_entry *v;
	size_t n, cap;
	int error; /* -ENOMEM */
};

static void ct_parse_tuple(const struct nlattr *nest, struct ct_tuple *t)
{
	memset(t, 0, sizeof(*t));
	const struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
	berth_nl_nested(nest, tb, CTA_TUPLE_MAX);
	berth_nl_nested(tb[CTA_TUPLE_IP], ip, CTA_IP_MAX);
	berth_nl_nested(tb[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX);
	if (!ip[CTA_IP_V4_SRC] || mnl_attr_validate(ip[CTA_IP_V4_SRC], MNL_TYPE_U32) < 0 || !ip[CTA_IP_V4_DST] ||
	    mnl_attr_validate(ip[CTA_IP_V4_DST], MNL_TYPE_U32) < 0)
		return;
	t->ok = true;
	t->src = ntohl(mnl_attr_get_u32(ip[CTA_IP_V4_SRC]));
	t->dst = ntohl(mnl_attr_get_u32(ip[CTA_IP_V4_DST]));
	if (pr[CTA_PROTO_NUM] && mnl_attr_validate(pr[CTA_PROTO_NUM], MNL_TYPE_U8) >= 0)
		t->proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	if (pr[CTA_PROTO_SRC_PORT] && mnl_attr_validate(pr[CTA_PROTO_SRC_PORT], MNL_TYPE_U16) >= 0)
		t->sport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]));
	if (pr[CTA_PROTO_DST_PORT] && mnl_attr_validate(pr[CTA_PROTO_DST_PORT], MNL_TYPE_U16) >= 0)
		t->dport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]));
}

static bool ct_wanted(const struct ct_match *m, const struct ct_tuple *orig, const struct ct_tuple *reply)
{
	if (m->by_ip)
		return (orig->ok && (orig->src == m->ip || orig->dst == m->ip)) ||
		       (reply->ok && (reply->src == m->ip || reply->dst == m->ip));
	return orig->ok && orig->proto == m->proto && orig->dport == m->port;
}

static int ct_entry_cb(const struct nlmsghdr *nlh, struct ct_match *m)
{
	if ((nlh->nlmsg_type & 0xff) != IPCTNL_MSG_CT_NEW || (nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
		return 0;
	const struct nlattr *tb[CTA_MAX + 1];
	berth_nl_attrs(nlh, sizeof(struct nfgenmsg), tb, CTA_MAX);
	struct ct_tuple orig, reply;
	ct_parse_tuple(tb[CTA_TUPLE_ORIG], &orig);
	ct_parse_tuple(tb[CTA_TUPLE_REPLY], &reply);
	if (!tb[CTA_TUPLE_ORIG] || !ct_wanted(m, &orig, &reply))
		return 0;
	uint16_t len = mnl_attr_get_payload_len(tb[CTA_TUPLE_ORIG]);
	if (len > CT_TUPLE_MAX)
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct ct_entry *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	struct ct_entry *e = &m->v[m->n++];
	e->len = len;
	memcpy(e->tuple, mnl_attr_get_payload(tb[CTA_TUPLE_ORIG]), len);
	e->has_zone = tb[CTA_ZONE] && mnl_attr_validate(tb[CTA_ZONE], MNL_TYPE_U16) >= 0;
	e->zone = e->has_zone ? mnl_attr_get_u16(tb[CTA_ZONE]) : 0;
	return 0;
}

/* ---- dump and delete ----------------------------------------------------- */

/* One dump attempt: 0, 1 when interrupted (NLM_F_DUMP_INTR), or -errno
 * (kernel text in text). */
static int ct_dump_once(struct ct_sock *cs, struct ct_match *m, char *buf, char *text, size_t textlen)
{
	uint32_t seq = ++cs->seq;
	struct nlmsghdr *nlh = ct_put_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq);
	int r = ct_send(cs, nlh, nlh->nlmsg_len);
	if (r < 0)
		return r;
	bool intr = false;
	int cb_err = 0;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(cs->sk, buf, CT_RECV_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPROTO;
		int len = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
				int e = berth_nl_parse_end(h, text, textlen);
				if (cb_err)
					return cb_err;
				if (e < 0)
					return e;
				return intr ? 1 : 0;
			}
			if (!cb_err)
				cb_err = ct_entry_cb(h, m);
		}
	}
}

/* Send the deletes of m->v[*from..] that fit in one batch, advancing
 * *from, and read their acks: the number deleted, or -errno (text filled). */
static int ct_delete_batch(struct ct_sock *cs, const struct ct_match *m, size_t *from, char *buf, char *text,
			   size_t textlen)
{
	uint32_t seq0 = cs->seq + 1;
	size_t off = 0, i = *from;
	for (; i < m->n && off + CT_DELETE_MAX <= CT_BATCH_SIZE; i++) {
		const struct ct_entry *e = &m->v[i];
		struct nlmsghdr *nlh = ct_put_header(buf + off, IPCTNL_MSG_CT_DELETE, 0, ++cs->seq);
		mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, e->len, e->tuple);
		if (e->has_zone)
			mnl_attr_put_u16(nlh, CTA_ZONE, e->zone);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	const size_t count = i - *from;
	*from = i;
	int r = ct_send(cs, buf, off);
	if (r < 0)
		return r;
	size_t left = count;
	int deleted = 0, fail = 0;
	while (left) {
		ssize_t n = mnl_socket_recvfrom(cs->sk, buf, CT_RECV_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPROTO;
		int len = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_seq - seq0 >= count || h->nlmsg_type != NLMSG_ERROR)
				continue;
			char t[256];
			int e = berth_nl_parse_end(h, t, sizeof(t));
			left--;
			if (e == 0)
				deleted++;
			else if (e != -ENOENT && !fail) {
				fail = e;
				snprintf(text, textlen, "%s", t);
			}
		}
	}
	return fail ? fail : deleted;
}

static bool ct_absent(int e)
{
	/* EINVAL: nfnetlink is there but ctnetlink (nf_conntrack_netlink) is not
	 * registered, and could not be loaded: there is nothing berth can flush. */
	return e == -EPROTONOSUPPORT || e == -EOPNOTSUPP || e == -ENOENT || e == -EAFNOSUPPORT || e == -EINVAL;
}

static int ct_fail(struct berth_err *err, int e, const char *text, const char *what, const char *step)
{
	if (!text[0])
		return berth_err_set(err, -e, "%s: %s", what, step);
	berth_err_set(err, 0, "%s: %s: %s (kernel: %s)", what, step, strerror(-e), text);
	if (err)
		err->errnum = -e;
	return -1;
}

static int ct_flush(struct ct_match *m, const char *what, struct berth_err *err)
{
	struct ct_sock cs = {0};
	int r = ct_open(&cs);
	if (r < 0)
		return ct_absent(r) ? 0 : berth_err_set(err, -r, "%s: open a NETLINK_NETFILTER socket", what);
	_cleanup_free_ char *buf = malloc(CT_RECV_SIZE);
	char text[256] = "";
	if (!buf) {
		ct_close(&cs);
		return berth_err_set(err, ENOMEM, "%s", what);
	}
	for (int i = 0;; i++) {
		m->n = 0;
		r = ct_dump_once(&cs, m, buf, text, sizeof(text));
		if (r <= 0 || i + 1 == CT_DUMP_TRIES)
			break;
	}
	if (r < 0) {
		ct_close(&cs);
		free(m->v);
		if (ct_absent(r))
			return 0;
		return ct_fail(err, r, text, what, "dump the conntrack table");
	}
	if (r > 0) {
		ct_close(&cs);
		free(m->v);
		return berth_err_set(err, EAGAIN, "%s: conntrack dump interrupted %d times in a row", what,
				     CT_DUMP_TRIES);
	}
	int total = 0;
	for (size_t from = 0; from < m->n;) {
		r = ct_delete_batch(&cs, m, &from, buf, text, sizeof(text));
		if (r < 0)
			break;
		total += r;
	}
	ct_close(&cs);
	free(m->v);
	if (r < 0)
		return ct_fail(err, r, text, what, "delete a conntrack entry");
	return total;
}

int berth_ct_flush_ip(uint32_t ip, struct berth_err *err)
{
	char what[64], ips[16];
	snprintf(what, sizeof(what), "flush conntrack entries of %s", berth_ip_str(ip, ips));
	struct ct_match m = {.by_ip = true, .ip = ip};
	return ct_flush(&m, what, err);
}

int berth_ct_flush_dport(int proto, uint16_t port, struct berth_err *err)
{
	char what[64];
	snprintf(what, sizeof(what), "flush conntrack entries to %s port %u", berth_proto_name(proto),
		 (unsigned)port);
	struct ct_match m = {.proto = (uint8_t)proto, .port = port};
	return ct_flush(&m, what, err);
}

/* ---- sysctl -------------------------------------------------------------- */

static bool sysctl_path_ok(const char *path)
{
	if (!path || !path[0] || path[0] == '/')
		return false;
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/')
			c++;
		else
			break;
	}
	return path[strlen(path) - 1] != '/';
}

int berth_sysctl_net(const char *path, const char *value, struct berth_err *err)
{
	if (!sysctl_path_ok(path) || !value)
		return berth_err_set(err, EINVAL, "set sysctl net/%s: invalid path", path ? path : "");
	char full[256];
	if ((size_t)snprintf(full, sizeof(full), "/proc/sys/net/%s", path) >= sizeof(full))
		return berth_err_set(err, ENAMETOOLONG, "set sysctl net/%s", path);

	/* One open for both: read, and write only when the value differs. */
	_cleanup_close_ int wfd = open(full, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (wfd < 0)
		return berth_err_set(err, errno, "set %s to %s", full, value);
	char cur[256];
	ssize_t n;
	do
		n = read(wfd, cur, sizeof(cur) - 1);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		cur[n] = '\0';
		while (n > 0 && (cur[n - 1] == '\n' || cur[n - 1] == ' ' || cur[n - 1] == '\t'))
			cur[--n] = '\0';
		if (strcmp(cur, value) == 0)
			return 0;
	}
	size_t len = strlen(value);
	ssize_t w;
	do
		w = pwrite(wfd, value, len, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return berth_err_set(err, errno, "set %s to %s", full, value);
	if ((size_t)w != len)
		return berth_err_set(err, EIO, "set %s to %s: short write", full, value);
	return 0;
}
