/* berth netns/ — rtnetlink and ctnetlink over libmnl (internal).
 *
 * Every request carries NLM_F_ACK; the socket has NETLINK_EXT_ACK and
 * NETLINK_CAP_ACK set, and the kernel's extended-ack text (when any) is put
 * into the berth_err message: "create veth vt1234: File exists (kernel: ...)".
 * A socket configures the namespace it was opened in; to configure a task's
 * namespace, open the socket inside it (berth_nl_open with a netns fd).
 * Never use *_TARGET_NETNSID for writes.
 *
 * Addresses are IPv4 in host byte order.
 */
#ifndef BERTH_NETNS_NL_H
#define BERTH_NETNS_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct mnl_socket;

struct berth_nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
};

/* Open an rtnetlink socket in the namespace netns_fd (-1: the caller's).
 * The socket is created on the calling thread after setns(netns_fd) and the
 * thread returns to its original namespace before this returns (also on
 * failure). */
int berth_nl_open(struct berth_nl *nl, int netns_fd, struct berth_err *err);
void berth_nl_close(struct berth_nl *nl);

/* Create a new network namespace and return an fd to it (O_CLOEXEC); the
 * calling thread stays in its own namespace.  Inside the new namespace,
 * before any interface other than lo exists, IPv6 is disabled for new
 * interfaces (net.ipv6.conf.default.disable_ipv6=1) and ICMP redirects are
 * ignored (net.ipv4.conf.{all,default}.accept_redirects=0).  If nl_inside is
 * not NULL, an rtnetlink socket opened inside the namespace is returned in
 * it (saving a second setns round trip). */
int berth_netns_new(int *netns_fd, struct berth_nl *nl_inside, struct berth_err *err);

/* ifindex of a link by name: > 0, 0 when there is none, < 0 on error. */
int berth_nl_ifindex(struct berth_nl *nl, const char *name, struct berth_err *err);
/* The same, also giving the link's MTU in *mtu (when it exists). */
int berth_nl_link_mtu(struct berth_nl *nl, const char *name, uint32_t *mtu, struct berth_err *err);

struct berth_bridge_params {
	const char *name;
	uint32_t gateway;     /* the bridge's address (host byte order) */
	uint8_t plen;
	uint32_t mtu;
	uint8_t mac[6];       /* explicit, stable (locally administered) */
	bool route_localnet;  /* net.ipv4.conf.<name>.route_localnet = 1 (else 0) */
};
/* Create the bridge if missing (explicit MAC, MTU, IPv6 address generation
 * off, up), make sure it has its address (adding it when missing), enable
 * proxy_arp_pvlan (tasks reach each other only through the host, where
 * security groups apply), disable send_redirects on it and set
 * route_localnet as asked.  An existing link of the same name that is not a
 * bridge is an error naming it.  Bridge-level STP is off, forward delay 0.
 * Returns the ifindex (> 0). */
int berth_nl_bridge_ensure(struct berth_nl *nl, const struct berth_bridge_params *p, struct berth_err *err);

struct berth_veth_params {
	const char *host_name;   /* host end, <= 15 chars */
	int master;              /* bridge ifindex */
	uint32_t mtu;
	int peer_netns_fd;       /* the task's namespace */
	const uint8_t *peer_mac; /* 6 bytes: the task's eth0 MAC */
};
/* One RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL): the veth pair with its host end
 * enslaved to `master`, up, with IPv6 address generation off, and the peer
 * created directly inside peer_netns_fd as "eth0" with ifindex 2 and its MAC.
 * Then the host end's bridge-port hairpin flag is set (a task reaching
 * itself through a published port while br_netfilter is loaded: the DNATed
 * frame is bridged back out of the port it came in by).  Tasks never reach
 * each other at layer 2: berth's bridge-family nftables table drops frames
 * forwarded between ports, and the bridge answers ARP for its tasks
 * (proxy_arp_pvlan), so task-to-task traffic is routed by the host.
 * Returns the host end's ifindex.  On failure the pair does not exist.
 * (The peer's ifindex 2 is asked for, but the kernel honours a peer ifindex
 * only when the host end's is given too, so eth0 really gets the
 * namespace's next free ifindex: 2 in a fresh namespace, 3 or more after a
 * failed attempt in the same namespace, as indexes are not reused.  IPv6
 * address generation is turned off by a second message: the kernel refuses
 * IFLA_AF_SPEC/AF_INET6 in the creating one with EAFNOSUPPORT.) */
int berth_nl_veth_create(struct berth_nl *nl, const struct berth_veth_params *p, struct berth_err *err);

/* Inside the task's namespace (nl opened there): eth0's ifindex is looked
 * up by name (see berth_nl_veth_create), then one batch of acked messages:
 * lo up, eth0 up, address ip/plen on eth0, default route via gateway. */
int berth_nl_task_configure(struct berth_nl *nl, uint32_t ip, uint8_t plen, uint32_t gateway,
			    struct berth_err *err);

/* Delete a link by name; a missing link is success (returns 0; 1 if deleted). */
int berth_nl_link_del(struct berth_nl *nl, const char *name, struct berth_err *err);

/* Names of every link whose master is `master` (a NULL-terminated strv,
 * caller frees with berth_strv_free).  Dumps interrupted by NLM_F_DUMP_INTR
 * are retried. */
int berth_nl_ports_of(struct berth_nl *nl, int master, char ***names, struct berth_err *err);

/* Names of every link whose name starts with prefix and that is a bridge. */
int berth_nl_bridges(struct berth_nl *nl, const char *prefix, char ***names, struct berth_err *err);

/* The first IPv4 route (any table except local) or address of the caller's
 * namespace that overlaps subnet/plen, ignoring routes whose output device
 * is one of ignore_ifindex[0..nignore).  Returns 1 and writes a description
 * like "route 10.88.0.0/16 dev eth0" into desc, 0 when there is none. */
int berth_nl_subnet_conflict(struct berth_nl *nl, uint32_t subnet, uint8_t plen, const int *ignore_ifindex,
			     size_t nignore, char *desc, size_t desclen, struct berth_err *err);

/* MTU of the interface the IPv4 default route uses; 1500 when there is no
 * default route. */
int berth_nl_default_mtu(struct berth_nl *nl, uint32_t *mtu, struct berth_err *err);

/* An NLMSG_ERROR or NLMSG_DONE message: the error it carries (0 or -errno),
 * with the kernel's extended-ack text (if any) copied into text.  Shared by
 * the rtnetlink and ctnetlink code. */
struct nlmsghdr;
struct nlattr;
int berth_nl_parse_end(const struct nlmsghdr *nlh, char *text, size_t textlen);

/* Attribute tables (first occurrence of each type up to max wins): the
 * attributes after a message's family header of hdrlen bytes, or inside a
 * nested attribute (NULL or malformed: an empty table). */
void berth_nl_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, unsigned max);
void berth_nl_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max);

/* conntrack (ctnetlink, caller's namespace): delete every IPv4 entry whose
 * original or reply tuple has `ip` as source or destination.  Returns the
 * number deleted.  ENOENT races (entry already gone) are not errors; a
 * kernel without conntrack support deletes nothing and succeeds. */
int berth_ct_flush_ip(uint32_t ip, struct berth_err *err);
/* Delete IPv4 entries of protocol proto whose original destination port is
 * port (stale UDP flows that predate a newly published port). */
int berth_ct_flush_dport(int proto, uint16_t port, struct berth_err *err);

/* Write a sysctl below /proc/sys/net of the caller's namespace, e.g.
 * ("ipv4/conf/berth0/route_localnet", "1").  Reads first; no write when the
 * value is already set. */
int berth_sysctl_net(const char *path, const char *value, struct berth_err *err);

#endif
