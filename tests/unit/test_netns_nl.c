/* Unit tests: netns/nl.c and netns/ct.c against the real kernel.
 *
 * The process first moves into a throwaway network namespace (and a private
 * mount namespace with its own sysfs, so /sys/class/net shows that network
 * namespace); every link, address, route, conntrack entry and packet of
 * these tests lives in it or in namespaces created from it.  The host's
 * interfaces are never touched.  Needs root; skipped otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>

#include "common/cleanup.h"
#include "netns/netns.h"
#include "netns/nl.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static int test_ns = -1; /* the test's own (throwaway) network namespace */

/* ---- helpers: plain libmnl, independent of the code under test ---------- */

static int t_rtnl(struct nlmsghdr *nlh)
{
	struct mnl_socket *sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	assert_non_null(sk);
	assert_int_equal(mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID), 0);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	assert_true(mnl_socket_sendto(sk, nlh, nlh->nlmsg_len) >= 0);
	char buf[8192];
	int r;
	do {
		ssize_t n = mnl_socket_recvfrom(sk, buf, sizeof(buf));
		assert_true(n > 0);
		r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(sk), NULL, NULL);
	} while (r > 0);
	int e = r < 0 ? errno : 0;
	mnl_socket_close(sk);
	return e ? -e : 0;
}

static struct ifinfomsg *t_link_msg(char *buf, uint16_t type, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = index;
	return ifm;
}

/* A veth pair a <-> b in the current namespace (not a bridge). */
static void t_veth_pair(const char *a, const char *b)
{
	char buf[4096];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	t_link_msg(buf, RTM_NEWLINK, 0);
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, a);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, b);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	assert_int_equal(t_rtnl(nlh), 0);
}

static void t_link_up(const char *name)
{
	char buf[4096];
	int index = (int)if_nametoindex(name);
	assert_true(index > 0);
	struct ifinfomsg *ifm = t_link_msg(buf, RTM_NEWLINK, index);
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	assert_int_equal(t_rtnl((struct nlmsghdr *)buf), 0);
}

static int t_link_del(const char *name)
{
	char buf[4096];
	t_link_msg(buf, RTM_DELLINK, 0);
	mnl_attr_put_strz((struct nlmsghdr *)buf, IFLA_IFNAME, name);
	return t_rtnl((struct nlmsghdr *)buf);
}

static void t_addr_add(const char *name, uint32_t ip, uint8_t plen)
{
	char buf[4096];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = if_nametoindex(name);
	assert_true(ifa->ifa_index > 0);
	mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(ip));
	mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(ip));
	assert_int_equal(t_rtnl(nlh), 0);
}

static void t_route(uint16_t type, uint32_t dst, uint8_t plen, const char *dev)
{
	char buf[4096];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (plen)
		mnl_attr_put_u32(nlh, RTA_DST, htonl(dst));
	mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex(dev));
	assert_int_equal(t_rtnl(nlh), 0);
}

/* dst/plen via two devices (RTA_MULTIPATH). */
static void t_route_multipath(uint32_t dst, uint8_t plen, const char *dev1, const char *dev2)
{
	char buf[4096];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_DST, htonl(dst));
	struct nlattr *mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	const char *devs[2] = {dev1, dev2};
	for (int i = 0; i < 2; i++) {
		struct rtnexthop *nh = mnl_nlmsg_put_extra_header(nlh, sizeof(*nh));
		nh->rtnh_len = sizeof(*nh);
		nh->rtnh_ifindex = (int)if_nametoindex(devs[i]);
	}
	mnl_attr_nest_end(nlh, mp);
	mp->nla_type = RTA_MULTIPATH; /* not flagged nested */
	assert_int_equal(t_rtnl(nlh), 0);
}

static void enter(int fd)
{
	assert_int_equal(setns(fd, CLONE_NEWNET), 0);
}

static void leave(void)
{
	assert_int_equal(setns(test_ns, CLONE_NEWNET), 0);
}

/* ioctl on a socket of the current namespace; -errno on failure. */
static int t_ifreq(const char *name, unsigned long req, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	int r = ioctl(s, req, ifr);
	int e = errno;
	close(s);
	return r < 0 ? -e : 0;
}

static uint32_t t_if_addr(const char *name)
{
	struct ifreq ifr;
	if (t_ifreq(name, SIOCGIFADDR, &ifr) < 0)
		return 0;
	return ntohl(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr);
}

static bool t_if_up(const char *name)
{
	struct ifreq ifr;
	return t_ifreq(name, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
}

/* A file's first line (trailing newline dropped) into buf. */
static const char *t_read(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void assert_file(const char *path, const char *want)
{
	char buf[256];
	assert_non_null(t_read(path, buf, sizeof(buf)));
	assert_string_equal(buf, want);
}

/* Whether a whole file contains s. */
static bool t_file_has(const char *path, const char *s)
{
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

static bool strv_has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

static const uint8_t br_mac[6] = {0x02, 0x42, 0x0a, 0x58, 0x00, 0x01};

static int t_bridge(struct berth_nl *nl, const char *name, uint32_t gw, uint8_t plen, uint32_t mtu)
{
	struct berth_bridge_params p = {.name = name, .gateway = gw, .plen = plen, .mtu = mtu};
	memcpy(p.mac, br_mac, 6);
	struct berth_err err = {0};
	int idx = berth_nl_bridge_ensure(nl, &p, &err);
	if (idx < 0)
		fail_msg("%s", err.msg);
	return idx;
}

/* A task: new namespace, veth on the bridge, configured inside. */
struct task {
	int fd;
	struct berth_nl in;
	char veth[16];
};

static void t_task(struct berth_nl *nl, struct task *t, const char *veth, int master, uint32_t mtu, uint32_t ip,
		   uint8_t plen, uint32_t gw)
{
	struct berth_err err = {0};
	if (berth_netns_new(&t->fd, &t->in, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(t->veth, sizeof(t->veth), "%s", veth);
	uint8_t mac[6] = {0x02, 0x42, (uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip};
	struct berth_veth_params vp = {.host_name = veth, .master = master, .mtu = mtu, .peer_netns_fd = t->fd,
				       .peer_mac = mac};
	if (berth_nl_veth_create(nl, &vp, &err) < 0)
		fail_msg("%s", err.msg);
	if (berth_nl_task_configure(&t->in, ip, plen, gw, &err) < 0)
		fail_msg("%s", err.msg);
}

static void t_task_free(struct berth_nl *nl, struct task *t)
{
	struct berth_err err = {0};
	assert_true(berth_nl_link_del(nl, t->veth, &err) >= 0);
	berth_nl_close(&t->in);
	close(t->fd);
}

/* A UDP socket of the namespace netns. */
static int t_udp_in(int netns)
{
	enter(netns);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	leave();
	assert_true(s >= 0);
	struct timeval tv = {.tv_sec = 5};
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return s;
}

/* Send from s to dst until the listener ls (bound to dst) has it: the very
 * first packets of a new link may be lost while its carrier comes up and
 * ARP resolves.  Returns the sender's address as the listener saw it. */
static struct sockaddr_in t_udp_deliver(int s, int ls, const struct sockaddr_in *dst)
{
	struct timeval tv = {.tv_usec = 200000};
	assert_int_equal(setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	struct sockaddr_in from = {0};
	for (int i = 0; i < 25; i++) {
		assert_int_equal(sendto(s, "ping", 4, 0, (const struct sockaddr *)dst, sizeof(*dst)), 4);
		char buf[16];
		socklen_t fl = sizeof(from);
		if (recvfrom(ls, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 4) {
			while (recv(ls, buf, sizeof(buf), MSG_DONTWAIT) > 0) /* late duplicates */
				;
			return from;
		}
	}
	fail_msg("no UDP packet reached %s:%u", inet_ntoa(dst->sin_addr), ntohs(dst->sin_port));
	return from;
}

static int t_udp_listen(uint32_t ip, uint16_t port, struct sockaddr_in *sa)
{
	*sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	int ls = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)sa, sizeof(*sa)), 0);
	return ls;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_sysctl(void **state)
{
	(void)state;
	struct berth_err err = {0};
	assert_int_equal(berth_sysctl_net("ipv4/conf/lo/accept_redirects", "0", &err), 0);
	assert_file("/proc/sys/net/ipv4/conf/lo/accept_redirects", "0");
	assert_int_equal(berth_sysctl_net("ipv4/conf/lo/accept_redirects", "1", &err), 0);
	assert_file("/proc/sys/net/ipv4/conf/lo/accept_redirects", "1");
	assert_int_equal(berth_sysctl_net("ipv4/conf/lo/accept_redirects", "1", &err), 0); /* no write */

	assert_true(berth_sysctl_net("ipv4/conf/nosuch0/forwarding", "1", &err) < 0);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "/proc/sys/net/ipv4/conf/nosuch0/forwarding"));
	assert_true(berth_sysctl_net("ipv4/../../kernel/hostname", "x", &err) < 0);
	assert_int_equal(err.errnum, EINVAL);
	assert_true(berth_sysctl_net("/ipv4/ip_forward", "1", &err) < 0);
}

static void test_open_keeps_thread_namespace(void **state)
{
	(void)state;
	struct berth_err err = {0};
	int fd;
	struct stat before, after, ns;
	assert_int_equal(stat("/proc/thread-self/ns/net", &before), 0);
	assert_int_equal(berth_netns_new(&fd, NULL, &err), 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(stat("/proc/thread-self/ns/net", &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(fstat(fd, &ns), 0);
	assert_true(ns.st_ino != before.st_ino);

	/* The new namespace's defaults: no IPv6 on new links, no redirects. */
	enter(fd);
	assert_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	assert_file("/proc/sys/net/ipv4/conf/all/accept_redirects", "0");
	assert_file("/proc/sys/net/ipv4/conf/default/accept_redirects", "0");
	leave();

	struct berth_nl nl;
	assert_int_equal(berth_nl_open(&nl, fd, &err), 0);
	assert_int_equal(stat("/proc/thread-self/ns/net", &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	/* The socket sees the other namespace: lo only. */
	assert_int_equal(berth_nl_ifindex(&nl, "lo", &err), 1);
	char **ports = NULL;
	assert_int_equal(berth_nl_ports_of(&nl, 1, &ports, &err), 0);
	assert_non_null(ports);
	assert_null(ports[0]);
	berth_strv_free(ports);
	berth_nl_close(&nl);
	berth_nl_close(&nl); /* idempotent */
	assert_null(nl.sk);

	assert_true(berth_nl_open(&nl, 12345, &err) < 0); /* not an fd */
	assert_int_equal(stat("/proc/thread-self/ns/net", &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	close(fd);
}

static void test_bridge_ensure(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	int idx = t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	assert_true(idx > 0);
	assert_int_equal(berth_nl_ifindex(nl, "tb0", &err), idx);
	assert_int_equal(berth_nl_ifindex(nl, "nosuch0", &err), 0);
	assert_file("/sys/class/net/tb0/address", "02:42:0a:58:00:01");
	assert_file("/sys/class/net/tb0/mtu", "1450");
	assert_file("/sys/class/net/tb0/bridge/stp_state", "0");
	assert_file("/sys/class/net/tb0/bridge/forward_delay", "0");
	assert_true(t_if_up("tb0"));
	assert_int_equal(t_if_addr("tb0"), IP(10, 88, 0, 1));
	assert_file("/proc/sys/net/ipv4/conf/tb0/proxy_arp_pvlan", "1");
	assert_file("/proc/sys/net/ipv4/conf/tb0/send_redirects", "0");
	assert_file("/proc/sys/net/ipv4/conf/tb0/route_localnet", "0");
	assert_file("/proc/sys/net/ipv6/conf/tb0/accept_ra", "0");
	assert_file("/proc/sys/net/ipv6/conf/tb0/addr_gen_mode", "1"); /* none */
	assert_false(t_file_has("/proc/net/if_inet6", " tb0\n"));

	/* Idempotent; route_localnet follows the parameter. */
	struct berth_bridge_params p = {.name = "tb0", .gateway = IP(10, 88, 0, 1), .plen = 16, .mtu = 1450,
					.route_localnet = true};
	memcpy(p.mac, br_mac, 6);
	assert_int_equal(berth_nl_bridge_ensure(nl, &p, &err), idx);
	assert_file("/proc/sys/net/ipv4/conf/tb0/route_localnet", "1");
	p.route_localnet = false;
	assert_int_equal(berth_nl_bridge_ensure(nl, &p, &err), idx);
	assert_file("/proc/sys/net/ipv4/conf/tb0/route_localnet", "0");

	/* A missing address is added back. */
	char buf[4096];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELADDR;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 16;
	ifa->ifa_index = (uint32_t)idx;
	mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(IP(10, 88, 0, 1)));
	assert_int_equal(t_rtnl(nlh), 0);
	assert_int_equal(t_if_addr("tb0"), 0);
	assert_int_equal(berth_nl_bridge_ensure(nl, &p, &err), idx);
	assert_int_equal(t_if_addr("tb0"), IP(10, 88, 0, 1));
}

static void test_bridge_name_taken(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	t_veth_pair("tb7", "tb7peer");
	struct berth_bridge_params p = {.name = "tb7", .gateway = IP(10, 87, 0, 1), .plen = 16, .mtu = 1500};
	memcpy(p.mac, br_mac, 6);
	assert_true(berth_nl_bridge_ensure(nl, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "link tb7 exists and is not a bridge"));
	assert_non_null(strstr(err.msg, "veth"));
	assert_non_null(strstr(err.msg, "network.bridgePrefix"));

	/* Bridges: prefix + digits only, bridges only. */
	t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	t_bridge(nl, "tbx", IP(10, 86, 0, 1), 16, 1450);
	char **names = NULL;
	assert_true(berth_nl_bridges(nl, "tb", &names, &err) >= 1);
	assert_true(strv_has(names, "tb0"));
	assert_false(strv_has(names, "tb7"));
	assert_false(strv_has(names, "tbx"));
	berth_strv_free(names);
	assert_int_equal(berth_nl_link_del(nl, "tbx", &err), 1);
	assert_int_equal(berth_nl_link_del(nl, "tb7", &err), 1);
	assert_int_equal(berth_nl_ifindex(nl, "tb7peer", &err), 0); /* went with its peer */

	assert_true(berth_nl_bridge_ensure(nl, &(struct berth_bridge_params){.name = "a-name-too-long-0"}, &err) <
		    0);
	assert_int_equal(err.errnum, EINVAL);
}

static void test_veth_create(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	int br = t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	int fd;
	struct berth_nl in;
	assert_int_equal(berth_netns_new(&fd, &in, &err), 0);
	const uint8_t mac[6] = {0x02, 0x42, 0x0a, 0x58, 0x00, 0x02};
	struct berth_veth_params vp = {.host_name = "vbtest1", .master = br, .mtu = 1450, .peer_netns_fd = fd,
				       .peer_mac = mac};
	int idx = berth_nl_veth_create(nl, &vp, &err);
	if (idx < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(berth_nl_ifindex(nl, "vbtest1", &err), idx);

	/* Host end: a port of the bridge, up, hairpin on, no IPv6 address. */
	char buf[256];
	assert_int_equal(readlink("/sys/class/net/vbtest1/master", buf, sizeof(buf)) > 0, 1);
	assert_file("/sys/class/net/vbtest1/brport/hairpin_mode", "1");
	assert_file("/sys/class/net/vbtest1/mtu", "1450");
	assert_true(t_if_up("vbtest1"));
	assert_file("/proc/sys/net/ipv6/conf/vbtest1/addr_gen_mode", "1");
	assert_false(t_file_has("/proc/net/if_inet6", " vbtest1\n"));
	char **ports = NULL;
	assert_int_equal(berth_nl_ports_of(nl, br, &ports, &err), 1);
	assert_string_equal(ports[0], "vbtest1");
	assert_null(ports[1]);
	berth_strv_free(ports);

	/* Peer: eth0, ifindex 2, the MAC, the MTU, inside the task namespace. */
	assert_int_equal(berth_nl_ifindex(&in, "eth0", &err), 2);
	enter(fd);
	struct ifreq ifr;
	assert_int_equal(t_ifreq("eth0", SIOCGIFINDEX, &ifr), 0);
	assert_int_equal(ifr.ifr_ifindex, 2);
	assert_int_equal(t_ifreq("eth0", SIOCGIFHWADDR, &ifr), 0);
	assert_memory_equal(ifr.ifr_hwaddr.sa_data, mac, 6);
	assert_int_equal(t_ifreq("eth0", SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1450);
	assert_false(t_if_up("eth0"));
	leave();

	/* Task side: lo and eth0 up, the address, the default route. */
	assert_int_equal(berth_nl_task_configure(&in, IP(10, 88, 0, 2), 16, IP(10, 88, 0, 1), &err), 0);
	enter(fd);
	assert_true(t_if_up("lo"));
	assert_true(t_if_up("eth0"));
	assert_int_equal(t_if_addr("eth0"), IP(10, 88, 0, 2));
	assert_int_equal(t_ifreq("eth0", SIOCGIFNETMASK, &ifr), 0);
	assert_int_equal(ntohl(((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr), 0xffff0000u);
	/* /proc/self/net is the calling thread's (single-threaded) namespace. */
	assert_true(t_file_has("/proc/self/net/route", "eth0\t00000000\t0100580A\t0003\t"));
	assert_true(t_file_has("/proc/self/net/route", "eth0\t0000580A\t00000000\t0001\t"));
	leave();
	/* Again: idempotent (replace). */
	assert_int_equal(berth_nl_task_configure(&in, IP(10, 88, 0, 2), 16, IP(10, 88, 0, 1), &err), 0);

	/* Same host name for another task: refused, the other task's namespace
	 * gets nothing and the existing link stays. */
	int fd2;
	assert_int_equal(berth_netns_new(&fd2, NULL, &err), 0);
	vp.peer_netns_fd = fd2;
	assert_true(berth_nl_veth_create(nl, &vp, &err) < 0);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, "create veth vbtest1: a link named vbtest1 already exists: File exists"));
	enter(fd2);
	assert_int_equal(t_ifreq("eth0", SIOCGIFINDEX, &ifr), -ENODEV);
	leave();
	assert_int_equal(berth_nl_ifindex(nl, "vbtest1", &err), idx);

	/* A task namespace that already has an eth0: refused, nothing left. */
	vp.host_name = "vbtest2";
	vp.peer_netns_fd = fd;
	assert_true(berth_nl_veth_create(nl, &vp, &err) < 0);
	assert_non_null(strstr(err.msg, "create veth vbtest2"));
	assert_int_equal(berth_nl_ifindex(nl, "vbtest2", &err), 0);
	close(fd2);

	assert_int_equal(berth_nl_link_del(nl, "vbtest1", &err), 1);
	assert_int_equal(berth_nl_link_del(nl, "vbtest1", &err), 0);
	assert_int_equal(berth_nl_ifindex(nl, "vbtest1", &err), 0);
	assert_int_equal(berth_nl_ifindex(&in, "eth0", &err), 0); /* the peer went with it */
	berth_nl_close(&in);
	close(fd);
}

static void test_task_configure_reports_the_failing_message(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	int fd;
	struct berth_nl in;
	assert_int_equal(berth_netns_new(&fd, &in, &err), 0);
	/* No eth0 there. */
	assert_true(berth_nl_task_configure(&in, IP(10, 88, 0, 9), 16, IP(10, 88, 0, 1), &err) < 0);
	assert_int_equal(err.errnum, ENODEV);
	assert_non_null(strstr(err.msg, "inside the task's namespace: look up eth0"));

	/* A gateway outside the subnet: message 4 of 4 fails, 1-3 took effect
	 * (rtnetlink has no transactions). */
	int br = t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	const uint8_t mac[6] = {0x02, 0x42, 0x0a, 0x58, 0x00, 0x09};
	struct berth_veth_params vp = {.host_name = "vbcfg0", .master = br, .mtu = 1450, .peer_netns_fd = fd,
				       .peer_mac = mac};
	assert_true(berth_nl_veth_create(nl, &vp, &err) > 0);
	assert_true(berth_nl_task_configure(&in, IP(10, 88, 0, 9), 24, IP(10, 88, 1, 1), &err) < 0);
	assert_int_equal(err.errnum, ENETUNREACH);
	assert_non_null(strstr(err.msg, "inside the task's namespace: add route default via 10.88.1.1: "));
	assert_non_null(strstr(err.msg, "(kernel: ")); /* "Nexthop has invalid gateway" on 6.x */
	enter(fd);
	assert_true(t_if_up("lo"));
	assert_true(t_if_up("eth0"));
	assert_int_equal(t_if_addr("eth0"), IP(10, 88, 0, 9));
	leave();
	/* The socket stays usable (every ack of the batch was consumed). */
	assert_int_equal(berth_nl_ifindex(&in, "lo", &err), 1);
	assert_int_equal(berth_nl_task_configure(&in, IP(10, 88, 0, 9), 16, IP(10, 88, 0, 1), &err), 0);
	assert_int_equal(berth_nl_link_del(nl, "vbcfg0", &err), 1);
	berth_nl_close(&in);
	close(fd);
}

/* A failed attempt uses up ifindex 2 in the task's namespace (the kernel
 * does not honour the peer's requested index): eth0 is then ifindex 3 and
 * the task side must still be configured. */
static void test_veth_retry_same_namespace(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	int br = t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	int fd;
	struct berth_nl in;
	assert_int_equal(berth_netns_new(&fd, &in, &err), 0);
	const uint8_t mac[6] = {0x02, 0x42, 0x0a, 0x58, 0x00, 0x0a};
	struct berth_veth_params vp = {.host_name = "vbretry0", .master = 99999, .mtu = 1450, .peer_netns_fd = fd,
				       .peer_mac = mac};
	assert_true(berth_nl_veth_create(nl, &vp, &err) < 0); /* no such master */
	assert_non_null(strstr(err.msg, "create veth vbretry0"));
	assert_int_equal(berth_nl_ifindex(nl, "vbretry0", &err), 0);
	assert_int_equal(berth_nl_ifindex(&in, "eth0", &err), 0);
	vp.master = br;
	assert_true(berth_nl_veth_create(nl, &vp, &err) > 0);
	assert_true(berth_nl_ifindex(&in, "eth0", &err) >= 2);
	if (berth_nl_task_configure(&in, IP(10, 88, 0, 10), 16, IP(10, 88, 0, 1), &err) < 0)
		fail_msg("%s", err.msg);
	enter(fd);
	assert_int_equal(t_if_addr("eth0"), IP(10, 88, 0, 10));
	assert_true(t_file_has("/proc/self/net/route", "eth0\t00000000\t0100580A\t0003\t"));
	leave();
	assert_int_equal(berth_nl_link_del(nl, "vbretry0", &err), 1);
	berth_nl_close(&in);
	close(fd);
}

/* UDP from inside a task to the gateway and back; TCP to the gateway. */
static void test_tasks_reach_gateway(void **state)
{
	struct berth_nl *nl = *state;
	int br = t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	struct task t[2];
	t_task(nl, &t[0], "vbconn0", br, 1450, IP(10, 88, 0, 11), 16, IP(10, 88, 0, 1));
	t_task(nl, &t[1], "vbconn1", br, 1450, IP(10, 88, 0, 12), 16, IP(10, 88, 0, 1));

	struct sockaddr_in gw;
	int ls = t_udp_listen(IP(10, 88, 0, 1), 40001, &gw);
	for (int i = 0; i < 2; i++) {
		int s = t_udp_in(t[i].fd); /* belongs to the task's namespace */
		struct sockaddr_in from = t_udp_deliver(s, ls, &gw);
		assert_int_equal(ntohl(from.sin_addr.s_addr), IP(10, 88, 0, 11 + i));
		assert_int_equal(sendto(ls, "pong", 4, 0, (struct sockaddr *)&from, sizeof(from)), 4);
		char buf[16];
		assert_int_equal(recv(s, buf, sizeof(buf), 0), 4);
		assert_memory_equal(buf, "pong", 4);
		close(s);
	}
	close(ls);

	int tl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(tl >= 0);
	assert_int_equal(bind(tl, (struct sockaddr *)&gw, sizeof(gw)), 0);
	assert_int_equal(listen(tl, 4), 0);
	enter(t[1].fd);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	leave();
	assert_true(c >= 0);
	struct timeval tv = {.tv_sec = 5};
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&gw, sizeof(gw)), 0);
	int a = accept4(tl, NULL, NULL, SOCK_CLOEXEC);
	assert_true(a >= 0);
	assert_int_equal(write(c, "hi", 2), 2);
	char buf[4];
	assert_int_equal(read(a, buf, sizeof(buf)), 2);
	close(a);
	close(c);
	close(tl);
	/* Carrier is on by now: still no IPv6 link-local on the host ends. */
	assert_false(t_file_has("/proc/net/if_inet6", " vbconn0\n"));
	assert_false(t_file_has("/proc/net/if_inet6", " tb0\n"));

	struct berth_err err = {0};
	char **ports = NULL;
	assert_int_equal(berth_nl_ports_of(nl, br, &ports, &err), 2);
	assert_true(strv_has(ports, "vbconn0"));
	assert_true(strv_has(ports, "vbconn1"));
	berth_strv_free(ports);
	for (int i = 0; i < 2; i++)
		t_task_free(nl, &t[i]);
}

static void test_subnet_conflict(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	int br = t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	char desc[128] = "";
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 88, 0, 0), 16, &br, 1, desc, sizeof(desc), &err), 0);
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 88, 4, 0), 22, NULL, 0, desc, sizeof(desc), &err), 1);
	assert_string_equal(desc, "route 10.88.0.0/16 dev tb0");

	t_veth_pair("tcf0", "tcf0p");
	int cf = (int)if_nametoindex("tcf0");
	t_addr_add("tcf0", IP(10, 77, 1, 5), 24); /* link down: no prefix route, the address alone */
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 77, 0, 0), 16, &br, 1, desc, sizeof(desc), &err), 1);
	assert_string_equal(desc, "address 10.77.1.5/24 on tcf0");
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 77, 2, 0), 24, &br, 1, desc, sizeof(desc), &err), 0);

	t_link_up("tcf0p");
	t_link_up("tcf0");
	t_route(RTM_NEWROUTE, IP(10, 66, 0, 0), 16, "tcf0");
	t_route(RTM_NEWROUTE, 0, 0, "tcf0"); /* a default route conflicts with nothing */
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 66, 128, 0), 17, &br, 1, desc, sizeof(desc), &err), 1);
	assert_string_equal(desc, "route 10.66.0.0/16 dev tcf0");
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 0, 0, 0), 8, &br, 1, desc, sizeof(desc), &err), 1);
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(172, 30, 0, 0), 16, &br, 1, desc, sizeof(desc), &err), 0);
	int both[2] = {br, cf};
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 66, 0, 0), 16, both, 2, desc, sizeof(desc), &err), 0);
	/* Multipath: ignored only when every hop is. */
	t_route_multipath(IP(10, 55, 0, 0), 16, "tb0", "tcf0");
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 55, 0, 0), 16, &br, 1, desc, sizeof(desc), &err), 1);
	assert_string_equal(desc, "route 10.55.0.0/16 dev tcf0");
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 55, 0, 0), 16, both, 2, desc, sizeof(desc), &err), 0);
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 55, 0, 0), 16, NULL, 0, desc, sizeof(desc), &err), 1);
	assert_string_equal(desc, "route 10.55.0.0/16 dev tb0");
	t_route(RTM_DELROUTE, 0, 0, "tcf0");
	assert_int_equal(t_link_del("tcf0"), 0);
	assert_int_equal(berth_nl_subnet_conflict(nl, IP(10, 66, 0, 0), 16, &br, 1, desc, sizeof(desc), &err), 0);
}

static void test_default_mtu(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	int br = t_bridge(nl, "tbm0", IP(10, 89, 0, 1), 16, 1400);
	struct task t;
	assert_int_equal(berth_netns_new(&t.fd, &t.in, &err), 0);
	uint32_t mtu = 0;
	assert_int_equal(berth_nl_default_mtu(&t.in, &mtu, &err), 0);
	assert_int_equal(mtu, 1500); /* no default route */
	berth_nl_close(&t.in);
	close(t.fd);

	t_task(nl, &t, "vbmtu0", br, 1400, IP(10, 89, 0, 2), 16, IP(10, 89, 0, 1));
	assert_int_equal(berth_nl_default_mtu(&t.in, &mtu, &err), 0);
	assert_int_equal(mtu, 1400);
	t_task_free(nl, &t);
	assert_int_equal(berth_nl_link_del(nl, "tbm0", &err), 1);
}

static int t_nft(const char *cmd)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	assert_non_null(ctx);
	nft_ctx_buffer_error(ctx);
	int r = nft_run_cmd_from_buffer(ctx, cmd);
	if (r != 0)
		print_error("nft: %s\n", nft_ctx_get_error_buffer(ctx));
	nft_ctx_free(ctx);
	return r;
}

/* One conntrack entry: a UDP packet from the task's namespace to the
 * gateway's port, received there. */
static void t_udp_from(int netns, uint32_t dst, uint16_t port)
{
	struct sockaddr_in sa;
	int ls = t_udp_listen(dst, port, &sa);
	int s = t_udp_in(netns);
	t_udp_deliver(s, ls, &sa);
	close(s);
	close(ls);
}

static void test_conntrack_flush(void **state)
{
	struct berth_nl *nl = *state;
	struct berth_err err = {0};
	/* Nothing tracked yet (conntrack not even hooked): nothing deleted. */
	assert_int_equal(berth_ct_flush_ip(IP(10, 88, 0, 21), &err), 0);
	assert_int_equal(berth_ct_flush_dport(BERTH_PROTO_UDP, 40002, &err), 0);

	/* A rule using conntrack makes the kernel track this namespace. */
	assert_int_equal(t_nft("add table ip berthtest\n"
			       "add chain ip berthtest pre { type filter hook prerouting priority 0; }\n"
			       "add rule ip berthtest pre ct state new counter\n"),
			 0);
	int br = t_bridge(nl, "tb0", IP(10, 88, 0, 1), 16, 1450);
	struct task t;
	t_task(nl, &t, "vbct0", br, 1450, IP(10, 88, 0, 21), 16, IP(10, 88, 0, 1));
	t_udp_from(t.fd, IP(10, 88, 0, 1), 40002);
	t_udp_from(t.fd, IP(10, 88, 0, 1), 40003);
	assert_int_equal(berth_ct_flush_dport(BERTH_PROTO_TCP, 40002, &err), 0);
	assert_int_equal(berth_ct_flush_dport(BERTH_PROTO_UDP, 40002, &err), 1);
	assert_int_equal(berth_ct_flush_dport(BERTH_PROTO_UDP, 40002, &err), 0);
	t_udp_from(t.fd, IP(10, 88, 0, 1), 40004);
	assert_int_equal(berth_ct_flush_ip(IP(10, 88, 0, 22), &err), 0);
	assert_int_equal(berth_ct_flush_ip(IP(10, 88, 0, 21), &err), 2); /* 40003 and 40004 */
	assert_int_equal(berth_ct_flush_ip(IP(10, 88, 0, 21), &err), 0);
	/* Enough entries for several delete batches. */
	for (uint16_t port = 41000; port < 41300; port++)
		t_udp_from(t.fd, IP(10, 88, 0, 1), port);
	assert_int_equal(berth_ct_flush_ip(IP(10, 88, 0, 21), &err), 300);
	assert_int_equal(berth_ct_flush_ip(IP(10, 88, 0, 21), &err), 0);
	t_task_free(nl, &t);
	assert_int_equal(t_nft("delete table ip berthtest\n"), 0);
}

static int group_setup(void **state)
{
	static struct berth_nl nl;
	struct berth_err err = {0};
	if (berth_nl_open(&nl, -1, &err) < 0) {
		print_error("%s\n", err.msg);
		return -1;
	}
	*state = &nl;
	return 0;
}

static int group_teardown(void **state)
{
	berth_nl_close(*state);
	return 0;
}

int main(void)
{
	/* cmocka 1.1 reports skip() as "not ok ... # SKIP": skip the whole plan
	 * instead, the TAP way. */
	if (geteuid() != 0 || unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		printf("1..0 # SKIP needs root (network and mount namespaces)\n");
		return 0;
	}
	/* Our own sysfs: /sys/class/net then lists this namespace's links. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		printf("1..0 # SKIP cannot mount a private sysfs: %s\n", strerror(errno));
		return 0;
	}
	test_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	struct ifreq ifr;
	if (test_ns < 0 || t_ifreq("lo", SIOCGIFFLAGS, &ifr) < 0)
		return 1;
	ifr.ifr_flags |= IFF_UP;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return 1;
	close(s);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sysctl),
		cmocka_unit_test(test_open_keeps_thread_namespace),
		cmocka_unit_test(test_bridge_ensure),
		cmocka_unit_test(test_bridge_name_taken),
		cmocka_unit_test(test_veth_create),
		cmocka_unit_test(test_task_configure_reports_the_failing_message),
		cmocka_unit_test(test_veth_retry_same_namespace),
		cmocka_unit_test(test_tasks_reach_gateway),
		cmocka_unit_test(test_subnet_conflict),
		cmocka_unit_test(test_default_mtu),
		cmocka_unit_test(test_conntrack_flush),
	};
	return cmocka_run_group_tests_name("netns_nl", tests, group_setup, group_teardown);
}
