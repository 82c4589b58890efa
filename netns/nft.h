/* berth netns/ — berth's nftables tables (internal), through libnftables.
 *
 * berth owns exactly two tables, named after cfg->bridge_prefix (default
 * "berth"), and touches nothing else: `inet berth`
 * (NAT, published ports, security groups, loopback guard) and `bridge berth`
 * (no task reaches another at layer 2).  The skeleton is derived from the
 * configuration; per-task state lives only in set and map elements, so a
 * task's start or stop is one small atomic transaction, and the whole table
 * can be rebuilt from the leases in one transaction (reconcile).
 *
 *   table inet berth {
 *     set open    { type ipv4_addr . inet_proto . inet_service; }   declared ports of
 *                                                                    tasks without groups
 *     set sg_<i>  { type ipv4_addr; }                                members of config group i
 *     map pub     { type inet_proto . inet_service : ipv4_addr . inet_service; }
 *     set self    { type ipv4_addr . ipv4_addr; }                   (T . T) per publishing task
 *     prerouting  nat dstnat:   fib daddr type local: dnat via @pub (tcp/udp)
 *     output      nat -100:     the same, for the host's own connections
 *     postrouting nat srcnat:   hairpin (@self) masquerade; 127/8 -> subnet masquerade when
 *                               publish_localhost; subnet -> outside masquerade
 *     dnatmark    filter prerouting dstnat+1: task-to-task DNAT traffic from berth's bridges
 *                               (iifname prefix*, daddr in subnet, ct status dnat) gets mark
 *                               bit 0x10000000, for the bridge table below
 *     forward     filter:       clears that bit again; daddr in subnet -> ingress chain:
 *                               established/related accept, invalid drop, @open accept,
 *                               one rule per security-group rule (daddr @sg_<i>, saddr CIDR
 *                               or @sg_<j>, proto, ports), then reject with icmpx
 *                               admin-prohibited
 *     guard       filter prerouting raw: packets from berth's bridges to 127.0.0.0/8 dropped
 *     redirects   filter output: no ICMP redirect is sent towards berth's bridges
 *   }
 *   table bridge berth {
 *     forward filter -200: frames forwarded between ports of berth's bridges are dropped,
 *                          except IPv4 already DNATed by br_netfilter (carrying the mark bit;
 *                          not "ct status dnat": a ct expression in the bridge family turns
 *                          on nf_conntrack_bridge, which breaks bridged hairpin NAT)
 *   }
 *
 * The bridge table matches task ports by name (BERTH_VETH_PREFIX: iifname and
 * oifname are core expressions), so it needs only nf_tables' bridge family;
 * where that is missing, reconcile fails (EOPNOTSUPP) and applies nothing.
 *
 * Bridges are matched by name prefix (cfg->bridge_prefix followed by "*").
 * Set names use the group's index in cfg->groups; each set carries the
 * group id as its comment.
 */
#ifndef BERTH_NETNS_NFT_H
#define BERTH_NETNS_NFT_H

#include <stddef.h>

#include "common/err.h"
#include "netns/netns.h"

struct berth_nft;

/* A libnftables context bound to the caller's (the host's) namespace. */
int berth_nft_open(struct berth_nft **out, struct berth_err *err);
void berth_nft_close(struct berth_nft *n);

/* Replace both tables atomically with the skeleton for cfg (cfg->subnet and
 * cfg->plen are the effective subnet) and the elements of every lease, in
 * one transaction.  Creates them when missing. */
int berth_nft_reconcile(struct berth_nft *n, const struct berth_net_config *cfg,
			const struct berth_net_lease *leases, size_t nleases, struct berth_err *err);

/* Add one task's elements in one transaction.  Fails (with the kernel's or
 * libnftables' message) when the tables are missing; err->errnum is ENOENT
 * then, so the caller can reconcile instead. */
int berth_nft_task_add(struct berth_nft *n, const struct berth_net_config *cfg,
		       const struct berth_net_lease *l, struct berth_err *err);

/* Remove one task's elements.  Idempotent: elements (or tables) that are
 * already gone are not an error. */
int berth_nft_task_del(struct berth_nft *n, const struct berth_net_config *cfg,
		       const struct berth_net_lease *l, struct berth_err *err);

/* sha256 hex of the skeleton cfg produces (no elements): when it differs from
 * the one recorded at the last reconcile, the tables must be rebuilt. */
int berth_nft_fingerprint(const struct berth_net_config *cfg, char out[65], struct berth_err *err);

/* Delete both tables (tests and `berth network reset`); missing is fine. */
int berth_nft_destroy(struct berth_nft *n, const struct berth_net_config *cfg, struct berth_err *err);

#endif
