/* berth netns/ — awsvpc-style task networking on one host.
 *
 * Every task gets its own network namespace (held by fd, shared by all the
 * task's containers), one veth pair whose host end is a port of a berth
 * bridge and whose peer is the task's eth0, a private IPv4 address from the
 * configured subnet, a default route via its bridge, masquerade for egress,
 * DNAT for published ports and security-group filtering of everything that
 * reaches it.  All of it is built with netlink (libmnl) and nftables
 * (libnftables); no `ip` or `nft` process is ever run.
 *
 * State (cfg->state_dir, by default /run/berth/net-<bridge prefix>: leases
 * cannot outlive a reboot, and every berth state root on the host that uses
 * the same bridges shares it; one flock over all of it):
 *   tasks/<task-id>.json   the lease: written before any side effect
 *   ips/<a.b.c.d>          address reservation (O_EXCL), holds the task id
 *   ports/<proto>-<port>   published host port reservation (O_EXCL)
 *   files/<task-id>/       the task's generated resolv.conf and hosts
 *   subnet                 the subnet chosen when none is configured
 *   next                   where the round-robin address search resumes
 *
 * netns/ knows nothing about images, containers or the scheduler.
 */
#ifndef BERTH_NETNS_H
#define BERTH_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define BERTH_NET_TASK_ID_MAX 64
/* Host ends of task veths are BERTH_VETH_PREFIX + 13 hex digits of the task
 * id; berth's bridge table recognises task ports by it. */
#define BERTH_VETH_PREFIX "bv"

enum berth_proto { BERTH_PROTO_ALL = 0, BERTH_PROTO_ICMP = 1, BERTH_PROTO_TCP = 6, BERTH_PROTO_UDP = 17 };
const char *berth_proto_name(int proto); /* "tcp", "udp", "icmp", "all" */

/* One ingress rule of a security group (EC2's IpPermissions, flattened: one
 * rule per source). */
struct berth_sg_rule {
	int proto;            /* enum berth_proto */
	uint16_t from, to;    /* port range (inclusive); 0-65535 for "all" or icmp */
	bool from_group;      /* source is a group (src_group) rather than a CIDR */
	uint32_t cidr;        /* host byte order */
	uint8_t cidr_plen;
	char *src_group;      /* group id when from_group */
};

struct berth_sg {
	char *id;             /* "sg-..." (EC2 GroupId); any [A-Za-z0-9_.-]{1,64} */
	char *name;           /* optional GroupName */
	struct berth_sg_rule *rules;
	size_t nrules;
};

/* The "network" section of berth's configuration file. */
struct berth_net_config {
	char bridge_prefix[12];   /* bridges are <prefix>0, <prefix>1, ...; default "berth" */
	uint32_t subnet;          /* host byte order; 0 with subnet_set false = choose one */
	uint8_t plen;
	bool subnet_set;
	uint8_t bridge_plen;      /* size of each bridge's slice of the subnet (default 23:
				     509 tasks per bridge, well under the 1023-port limit) */
	char **dns;               /* nameservers (NULL-terminated); NULL = the host's */
	char **dns_search;        /* search domains; NULL = the host's */
	bool publish_localhost;   /* published ports also answer on 127.0.0.1 */
	uint32_t mtu;             /* 0 = the host's default-route interface's */
	char *state_dir;          /* NULL = /run/berth/net-<bridge_prefix> */
	struct berth_sg *groups;
	size_t ngroups;
};

/* Defaults (no file, or no "network" section). */
void berth_net_config_default(struct berth_net_config *c);
/* Parse the "network" object of berth's JSON configuration (may be NULL:
 * defaults).  `where` names the input in messages (the file's path). */
struct cJSON;
int berth_net_config_parse(const struct cJSON *network, const char *where,
			   struct berth_net_config *out, struct berth_err *err);
void berth_net_config_free(struct berth_net_config *c);
const struct berth_sg *berth_net_config_group(const struct berth_net_config *c, const char *id);

/* A container port of the task: always declared (security groups open it by
 * default); published on the host when host_port != 0. */
struct berth_port {
	int proto;            /* BERTH_PROTO_TCP or BERTH_PROTO_UDP */
	uint16_t ctr_port;
	uint16_t host_port;   /* 0 = not published */
};
/* Parse "HOST:CONTAINER[/udp]", "CONTAINER[/tcp]" (declared only) into *out. */
int berth_port_parse(const char *s, struct berth_port *out, struct berth_err *err);

/* What a task asks of the network. */
struct berth_net_request {
	const char *task_id;        /* [0-9a-f]{1,64}; at least 12 characters */
	const char *hostname;       /* for /etc/hosts; NULL = the first 12 of task_id */
	const struct berth_port *ports;
	size_t nports;
	char *const *groups;        /* security group ids (NULL-terminated, may be NULL):
				       when given, only their rules admit traffic */
	pid_t owner;                /* the process whose life is the task's network's life
				       (it holds the netns fd); its death frees the lease */
};

/* A configured task network.  Owned by the caller. */
struct berth_net_task {
	char task_id[BERTH_NET_TASK_ID_MAX + 1];
	int netns_fd;               /* the task's network namespace (join with setns) */
	uint32_t ip, gateway;       /* host byte order */
	uint8_t plen;
	uint8_t mac[6];
	char bridge[16];
	char veth[16];              /* host end */
	char ip_str[16], gateway_str[16];
	char resolv_conf[4096];     /* generated files, to bind-mount over /etc/... */
	char hosts[4096];
	int *port_fds;              /* bound (not listening) sockets reserving the published
				       host ports; held for the task's life */
	size_t nport_fds;
};
void berth_net_task_close(struct berth_net_task *t); /* closes fds; does not tear down */

struct berth_net;
/* Open berth's network state (cfg->state_dir) with this configuration.
 * Cheap: no kernel object is touched until the first setup. */
int berth_net_open(const struct berth_net_config *cfg, struct berth_net **out, struct berth_err *err);
void berth_net_close(struct berth_net *n);

/* Give a task its network.  On failure nothing is left: no lease, no
 * namespace, no link, no rule. */
int berth_net_setup(struct berth_net *n, const struct berth_net_request *req, struct berth_net_task *out,
		    struct berth_err *err);

/* Remove everything the task's network holds: veth, lease, reservations,
 * nft elements, conntrack entries, generated files.  Idempotent: an unknown
 * or half-removed task is not an error.
 * BERTH_NET_NS_RELEASED: every process of the task is gone and the caller
 * closed its namespace fd, so the kernel destroys the veth with the
 * namespace (asynchronously, batched); deleting it here would cost two RCU
 * grace periods (~20-40 ms) on the caller's path.  A veth kept alive by an
 * outside holder of the namespace is removed by the next sweep. */
#define BERTH_NET_NS_RELEASED 1u
int berth_net_teardown(struct berth_net *n, const char *task_id, unsigned flags, struct berth_err *err);

/* Tear down every lease whose owner is gone, rebuild berth's nftables tables
 * from the live leases (atomically) and delete links on berth's bridges that
 * no lease owns.  *freed (optional) receives the number of leases removed. */
int berth_net_sweep(struct berth_net *n, size_t *freed, struct berth_err *err);

/* A lease as stored (for inspect and tests). */
struct berth_net_lease {
	char task_id[BERTH_NET_TASK_ID_MAX + 1];
	uint32_t ip;               /* host byte order */
	char bridge[16], veth[16];
	pid_t owner;
	uint64_t owner_start;      /* /proc/<pid>/stat field 22, guards pid reuse */
	struct berth_port *ports;
	size_t nports;
	char **groups;             /* NULL-terminated, may be NULL */
};
void berth_net_lease_free(struct berth_net_lease *l);

/* Read one task's lease; returns 0 and fills *out, or 1 when there is none. */
int berth_net_lease_get(struct berth_net *n, const char *task_id, struct berth_net_lease *out,
			struct berth_err *err);
/* Every lease (for `berth network ls` and tests); *out is an array of *n. */
int berth_net_leases(struct berth_net *n, struct berth_net_lease **out, size_t *count, struct berth_err *err);
void berth_net_leases_free(struct berth_net_lease *l, size_t count);

/* A host name berth accepts: 1-63 of [A-Za-z0-9.-], not starting with
 * '-' or '.' (it goes into /etc/hosts and sethostname). */
bool berth_hostname_valid(const char *s);

/* "a.b.c.d" of a host-order address into buf (16 bytes). */
const char *berth_ip_str(uint32_t ip, char buf[16]);
/* Parse "a.b.c.d" or "a.b.c.d/len" (plen NULL: no prefix allowed; when the
 * prefix is absent *plen = 32). */
int berth_ip_parse(const char *s, uint32_t *ip, uint8_t *plen);

#endif
