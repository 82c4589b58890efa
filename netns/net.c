/* berth netns/ — a task's network: setup, teardown and the sweep.
 *
 * Order of a setup (all under the state lock):
 *   1. reserve the address and the published host ports (O_EXCL files), bind
 *      the host ports (a port some host process holds is refused), write the
 *      lease — before any kernel object exists, so a crash at any later point
 *      leaves a lease the sweep can undo;
 *   2. make sure the bridge of the address's slice and berth's nftables
 *      tables exist (the layer-2 filter is in place before any port joins);
 *   3. a new network namespace; one RTM_NEWLINK for the veth pair (peer
 *      created inside as eth0); one batch inside: lo, eth0, address, route;
 *   4. one nftables transaction with the task's elements;
 *   5. resolv.conf and hosts for the task.
 * Any failure undoes what was done, through the same idempotent teardown.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/lease.h"
#include "netns/netns.h"
#include "netns/nft.h"
#include "netns/nl.h"

#define SWEEP_INTERVAL_S 10

struct berth_net {
	struct berth_net_config cfg; /* the caller's, with the effective subnet */
	char dir[512];
	int dirfd, tasksfd, ipsfd, portsfd, filesfd;
	int lockfd;
	struct berth_nl nl;
	bool nl_open;
	struct berth_nft *nft;
	bool subnet_known;
	bool infra_checked; /* nft fingerprint verified by this process */
};

/* ---- state directory and lock ------------------------------------------------ */

int berth_net_open(const struct berth_net_config *cfg, struct berth_net **out, struct berth_err *err)
{
	struct berth_net *n = calloc(1, sizeof(*n));
	if (!n)
		return berth_err_set(err, ENOMEM, "network state");
	n->cfg = *cfg;
	n->dirfd = n->tasksfd = n->ipsfd = n->portsfd = n->filesfd = n->lockfd = -1;
	if (cfg->state_dir)
		snprintf(n->dir, sizeof(n->dir), "%s", cfg->state_dir);
	else
		snprintf(n->dir, sizeof(n->dir), "/run/berth/net-%s", cfg->bridge_prefix);
	if (berth_mkdir_p_at(AT_FDCWD, n->dir, 0700, err) < 0 ||
	    (n->dirfd = open(n->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (n->dirfd < 0 && !err->msg[0])
			berth_err_set(err, errno, "open %s", n->dir);
		berth_err_wrap(err, "network state directory");
		berth_net_close(n);
		return -1;
	}
	if ((n->tasksfd = berth_open_dir_at(n->dirfd, "tasks", true, err)) < 0 ||
	    (n->ipsfd = berth_open_dir_at(n->dirfd, "ips", true, err)) < 0 ||
	    (n->portsfd = berth_open_dir_at(n->dirfd, "ports", true, err)) < 0 ||
	    (n->filesfd = berth_open_dir_at(n->dirfd, "files", true, err)) < 0) {
		berth_err_wrap(err, "network state %s", n->dir);
		berth_net_close(n);
		return -1;
	}
	*out = n;
	return 0;
}

void berth_net_close(struct berth_net *n)
{
	if (!n)
		return;
	int *fds[] = {&n->dirfd, &n->tasksfd, &n->ipsfd, &n->portsfd, &n->filesfd, &n->lockfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (n->nl_open)
		berth_nl_close(&n->nl);
	berth_nft_close(n->nft);
	free(n);
}

static int lock_state(struct berth_net *n, struct berth_err *err)
{
	if (n->lockfd < 0) {
		n->lockfd = openat(n->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (n->lockfd < 0)
			return berth_err_set(err, errno, "open %s/lock", n->dir);
	}
	while (flock(n->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return berth_err_set(err, errno, "lock %s/lock", n->dir);
	return 0;
}

static void unlock_state(struct berth_net *n)
{
	if (n->lockfd >= 0)
		flock(n->lockfd, LOCK_UN);
}

static int host_nl(struct berth_net *n, struct berth_err *err)
{
	if (n->nl_open)
		return 0;
	if (berth_nl_open(&n->nl, -1, err) < 0)
		return -1;
	n->nl_open = true;
	return 0;
}

static int nft(struct berth_net *n, struct berth_err *err)
{
	return n->nft ? 0 : berth_nft_open(&n->nft, err);
}

/* ---- addressing -------------------------------------------------------------- */

static uint32_t slice_size(const struct berth_net *n)
{
	return 1u << (32 - n->cfg.bridge_plen);
}

static uint32_t subnet_size(const struct berth_net *n)
{
	return n->cfg.plen ? 1u << (32 - n->cfg.plen) : 0;
}

static unsigned slice_of(const struct berth_net *n, uint32_t ip)
{
	return (ip - n->cfg.subnet) >> (32 - n->cfg.bridge_plen);
}

static uint32_t gateway_of(const struct berth_net *n, unsigned slice)
{
	return n->cfg.subnet + slice * slice_size(n) + 1;
}

static void bridge_name(const struct berth_net *n, unsigned slice, char name[16])
{
	snprintf(name, 16, "%s%u", n->cfg.bridge_prefix, slice);
}

static bool ip_is_task_address(const struct berth_net *n, uint32_t ip)
{
	uint32_t off = (ip - n->cfg.subnet) & (slice_size(n) - 1);
	return off >= 2 && off <= slice_size(n) - 2;
}

static int read_u32_file(int dirfd, const char *name, uint32_t *out)
{
	char buf[32];
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	*out = (uint32_t)strtoul(buf, NULL, 10);
	return 0;
}

/* IDs of our bridges' ifindexes (for ignoring them in the conflict check). */
static int our_bridges(struct berth_net *n, int **idx, size_t *count, struct berth_err *err)
{
	_cleanup_strv_ char **names = NULL;
	if (berth_nl_bridges(&n->nl, n->cfg.bridge_prefix, &names, err) < 0)
		return -1;
	size_t c = berth_strv_len(names);
	int *v = calloc(c + 1, sizeof(int));
	if (!v)
		return berth_err_set(err, ENOMEM, "bridges");
	size_t k = 0;
	for (size_t i = 0; i < c; i++) {
		int ix = berth_nl_ifindex(&n->nl, names[i], err);
		if (ix < 0) {
			free(v);
			return -1;
		}
		if (ix > 0)
			v[k++] = ix;
	}
	*idx = v;
	*count = k;
	return 0;
}

static int conflict_check(struct berth_net *n, uint32_t subnet, uint8_t plen, char *desc, size_t dlen,
			  struct berth_err *err)
{
	_cleanup_free_ int *ign = NULL;
	size_t nign = 0;
	if (our_bridges(n, &ign, &nign, err) < 0)
		return -1;
	return berth_nl_subnet_conflict(&n->nl, subnet, plen, ign, nign, desc, dlen, err);
}

/* The effective subnet: configured, or the one chosen before, or the first
 * free candidate (recorded so it stays stable). */
static int effective_subnet(struct berth_net *n, struct berth_err *err)
{
	if (n->subnet_known)
		return 0;
	char s[16], s2[16];
	uint32_t recorded = 0;
	bool have = read_u32_file(n->dirfd, "subnet", &recorded) == 0 && recorded;
	if (n->cfg.subnet_set) {
		if (have && recorded != n->cfg.subnet) {
			_cleanup_free_ struct berth_net_lease *l = NULL;
			size_t cnt = 0;
			if (berth_lease_list(n->tasksfd, &l, &cnt, err) < 0)
				return -1;
			berth_net_leases_free(TAKE_PTR(l), cnt);
			if (cnt)
				return berth_err_set(err, 0,
						     "network subnet changed to %s/%u while %zu task(s) hold addresses in "
						     "%s; stop them (or run `berth network prune`) first",
						     berth_ip_str(n->cfg.subnet, s), n->cfg.plen, cnt, berth_ip_str(recorded, s2));
		}
	} else if (have) {
		n->cfg.subnet = recorded;
		n->cfg.plen = 16;
		if (n->cfg.bridge_plen < 16)
			n->cfg.bridge_plen = 16;
	} else {
		if (host_nl(n, err) < 0)
			return -1;
		bool found = false;
		for (uint32_t c = 88; c <= 95 && !found; c++) {
			char desc[128];
			uint32_t cand = (10u << 24) | (c << 16);
			int r = conflict_check(n, cand, 16, desc, sizeof(desc), err);
			if (r < 0)
				return -1;
			if (r == 0) {
				n->cfg.subnet = cand;
				n->cfg.plen = 16;
				found = true;
			}
		}
		if (!found)
			return berth_err_set(err, 0,
					     "no free subnet for tasks: 10.88.0.0/16 to 10.95.0.0/16 all overlap the host's "
					     "routes; set network.subnet in berth's configuration");
	}
	char buf[16];
	snprintf(buf, sizeof(buf), "%u", n->cfg.subnet);
	if (!have || recorded != n->cfg.subnet)
		if (berth_write_file_replace(n->dirfd, "subnet", buf, strlen(buf), 0600, err) < 0)
			return -1;
	n->subnet_known = true;
	return 0;
}

static void bridge_mac(const struct berth_net *n, unsigned slice, uint8_t mac[6])
{
	char seed[64], hex[BERTH_SHA256_HEX_LEN + 1];
	struct berth_err e = {0};
	snprintf(seed, sizeof(seed), "berth-bridge:%s:%u", n->cfg.bridge_prefix, slice);
	if (berth_sha256_buf_hex(seed, strlen(seed), hex, &e) < 0)
		snprintf(hex, sizeof(hex), "%064x", slice);
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		mac[i] = (uint8_t)v;
	}
}

static void task_mac(uint32_t ip, uint8_t mac[6])
{
	mac[0] = 0x0a;
	mac[1] = 0x62;
	mac[2] = (uint8_t)(ip >> 24);
	mac[3] = (uint8_t)(ip >> 16);
	mac[4] = (uint8_t)(ip >> 8);
	mac[5] = (uint8_t)ip;
}

/* ---- nftables -------------------------------------------------------------- */

/* Existing bridges take configuration changes that live outside nftables
 * (publishing on 127.0.0.1 needs route_localnet on them, and only then). */
static int bridges_follow_config(struct berth_net *n, struct berth_err *err)
{
	_cleanup_strv_ char **names = NULL;
	if (host_nl(n, err) < 0 || berth_nl_bridges(&n->nl, n->cfg.bridge_prefix, &names, err) < 0)
		return -1;
	for (char **b = names; *b; b++) {
		char path[64];
		snprintf(path, sizeof(path), "ipv4/conf/%s/route_localnet", *b);
		if (berth_sysctl_net(path, n->cfg.publish_localhost ? "1" : "0", err) < 0)
			return -1;
	}
	return 0;
}

static int nft_rebuild(struct berth_net *n, struct berth_err *err)
{
	struct berth_net_lease *l = NULL;
	size_t cnt = 0;
	char fp[65];
	if (nft(n, err) < 0 || berth_lease_list(n->tasksfd, &l, &cnt, err) < 0)
		return -1;
	int r = berth_nft_reconcile(n->nft, &n->cfg, l, cnt, err);
	berth_net_leases_free(l, cnt);
	if (r < 0)
		return berth_err_wrap(err, "build berth's nftables tables");
	if (bridges_follow_config(n, err) < 0)
		return -1;
	if (berth_nft_fingerprint(&n->cfg, fp, err) < 0 ||
	    berth_write_file_replace(n->dirfd, "nft.fp", fp, strlen(fp), 0600, err) < 0)
		return -1;
	n->infra_checked = true;
	return 0;
}

static int nft_ensure(struct berth_net *n, struct berth_err *err)
{
	if (n->infra_checked)
		return 0;
	char fp[65];
	_cleanup_free_ char *have = NULL;
	struct berth_err ignore = {0};
	if (berth_nft_fingerprint(&n->cfg, fp, err) < 0)
		return -1;
	if (berth_read_file_at(n->dirfd, "nft.fp", 128, &have, NULL, &ignore) == 0 && strcmp(have, fp) == 0) {
		n->infra_checked = true;
		return 0;
	}
	return nft_rebuild(n, err);
}

/* The bridge for a slice, created when missing.  Returns its ifindex and its
 * MTU (what the task's veth gets). */
static int bridge_ensure(struct berth_net *n, unsigned slice, uint32_t *mtu, struct berth_err *err)
{
	char name[16];
	bridge_name(n, slice, name);
	if (host_nl(n, err) < 0)
		return -1;
	int ix = berth_nl_link_mtu(&n->nl, name, mtu, err);
	if (ix < 0)
		return -1;
	if (ix > 0)
		return nft_ensure(n, err) < 0 ? -1 : ix;
	/* A new bridge: the subnet must not collide with the host's routes
	 * (checked before anything is created for it). */
	char desc[160], s[16];
	int r = conflict_check(n, n->cfg.subnet, n->cfg.plen, desc, sizeof(desc), err);
	if (r < 0)
		return -1;
	if (r > 0)
		return berth_err_set(err, 0,
				     "task subnet %s/%u overlaps the host's %s; set network.subnet in berth's "
				     "configuration to a free private range",
				     berth_ip_str(n->cfg.subnet, s), n->cfg.plen, desc);
	/* The layer-2 filter exists before the first port can join. */
	if (nft_ensure(n, err) < 0)
		return -1;
	struct berth_bridge_params p = {.name = name,
					.gateway = gateway_of(n, slice),
					.plen = n->cfg.bridge_plen,
					.mtu = n->cfg.mtu,
					.route_localnet = n->cfg.publish_localhost};
	if (!p.mtu && berth_nl_default_mtu(&n->nl, &p.mtu, err) < 0)
		return -1;
	bridge_mac(n, slice, p.mac);
	ix = berth_nl_bridge_ensure(&n->nl, &p, err);
	if (ix < 0)
		return -1;
	*mtu = p.mtu;
	/* Tasks reach the world through the host. */
	if (berth_sysctl_net("ipv4/ip_forward", "1", err) < 0)
		return -1;
	return ix;
}

/* ---- teardown ---------------------------------------------------------------- */

static void remove_files(struct berth_net *n, const char *task_id)
{
	struct berth_err e = {0};
	berth_rm_rf_at(n->filesfd, task_id, &e);
}

/* Undo everything a lease stands for.  Best effort and idempotent: the
 * first error is reported but every step runs. */
static int teardown_lease(struct berth_net *n, const struct berth_net_lease *l, unsigned flags,
			  struct berth_err *err)
{
	struct berth_err e = {0};
	int rc = 0;
	if (nft(n, &e) < 0 || berth_nft_task_del(n->nft, &n->cfg, l, &e) < 0) {
		rc = -1;
		*err = e;
	}
	if (!(flags & BERTH_NET_NS_RELEASED) && l->veth[0] &&
	    (host_nl(n, &e) < 0 || berth_nl_link_del(&n->nl, l->veth, &e) < 0) && rc == 0) {
		rc = -1;
		*err = e;
	}
	if (berth_ct_flush_ip(l->ip, &e) < 0 && rc == 0) {
		rc = -1;
		*err = e;
	}
	char name[32], ip[16];
	for (size_t i = 0; i < l->nports; i++) {
		if (!l->ports[i].host_port)
			continue;
		berth_port_file(&l->ports[i], name);
		berth_unreserve(n->portsfd, name, l->task_id);
	}
	berth_unreserve(n->ipsfd, berth_ip_str(l->ip, ip), l->task_id);
	remove_files(n, l->task_id);
	/* The lease goes even when a step failed: what is left (an element, a
	 * link) no longer has an owner, and the next sweep removes it. */
	if (berth_lease_remove(n->tasksfd, l->task_id) < 0 && rc == 0)
		rc = berth_err_set(err, errno, "remove the lease of task %s", l->task_id);
	return rc;
}

static int teardown_locked(struct berth_net *n, const char *task_id, unsigned flags, struct berth_err *err)
{
	struct berth_net_lease l;
	int r = berth_lease_read(n->tasksfd, task_id, &l, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		remove_files(n, task_id);
		return 0;
	}
	r = teardown_lease(n, &l, flags, err);
	berth_net_lease_free(&l);
	return r < 0 ? berth_err_wrap(err, "tear down the network of task %s", task_id) : 0;
}

int berth_net_teardown(struct berth_net *n, const char *task_id, unsigned flags, struct berth_err *err)
{
	if (!berth_task_id_valid(task_id))
		return berth_err_set(err, 0, "task id \"%s\" is not valid", task_id);
	if (lock_state(n, err) < 0)
		return -1;
	int r = teardown_locked(n, task_id, flags, err);
	unlock_state(n);
	return r;
}

/* ---- sweep --------------------------------------------------------------------- */

static bool owner_alive(const struct berth_net_lease *l)
{
	return l->owner > 0 && l->owner_start && berth_pid_start_time(l->owner) == l->owner_start;
}

static bool id_in(const struct berth_net_lease *l, size_t cnt, const char *id)
{
	for (size_t i = 0; i < cnt; i++)
		if (strcmp(l[i].task_id, id) == 0)
			return true;
	return false;
}

/* Reservation files whose task holds no lease. */
static void sweep_reservations(struct berth_net *n, int dirfd, const struct berth_net_lease *live, size_t cnt)
{
	struct berth_err e = {0};
	DIR *d = berth_opendir_at(dirfd, "reservations", &e);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char holder[BERTH_NET_TASK_ID_MAX + 1] = "";
		_cleanup_close_ int fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t r = read(fd, holder, sizeof(holder) - 1);
			holder[r > 0 ? r : 0] = '\0';
		}
		if (!id_in(live, cnt, holder))
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

static int sweep_locked(struct berth_net *n, size_t *freed, struct berth_err *err)
{
	struct berth_net_lease *l = NULL;
	size_t cnt = 0, nfreed = 0;
	if (berth_lease_list(n->tasksfd, &l, &cnt, err) < 0)
		return -1;
	/* Dead owners: undo their leases (keep the live ones at the front). */
	size_t live = 0;
	for (size_t i = 0; i < cnt; i++) {
		if (owner_alive(&l[i])) {
			if (live != i) {
				struct berth_net_lease t = l[live];
				l[live] = l[i];
				l[i] = t;
			}
			live++;
			continue;
		}
		struct berth_err e = {0};
		if (teardown_lease(n, &l[i], 0, &e) < 0)
			fprintf(stderr, "berth: warning: sweep: task %s: %s\n", l[i].task_id, e.msg);
		nfreed++;
	}
	sweep_reservations(n, n->ipsfd, l, live);
	sweep_reservations(n, n->portsfd, l, live);
	/* Generated files of tasks without a lease. */
	struct berth_err e = {0};
	DIR *d = berth_opendir_at(n->filesfd, "files", &e);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && !id_in(l, live, de->d_name))
				remove_files(n, de->d_name);
		closedir(d);
	}
	/* Links on our bridges that no live lease owns (a crash between the
	 * veth and the lease removal, or a lease found corrupt). */
	int rc = 0;
	_cleanup_strv_ char **bridges = NULL;
	if (host_nl(n, err) < 0 || berth_nl_bridges(&n->nl, n->cfg.bridge_prefix, &bridges, err) < 0) {
		rc = -1;
		goto out;
	}
	for (char **b = bridges; *b; b++) {
		int ix = berth_nl_ifindex(&n->nl, *b, err);
		_cleanup_strv_ char **ports = NULL;
		if (ix <= 0 || berth_nl_ports_of(&n->nl, ix, &ports, err) < 0)
			continue;
		for (char **p = ports; *p; p++) {
			bool owned = false;
			for (size_t i = 0; i < live && !owned; i++)
				owned = strcmp(l[i].veth, *p) == 0;
			if (!owned && berth_nl_link_del(&n->nl, *p, &e) < 0)
				fprintf(stderr, "berth: warning: sweep: %s\n", e.msg);
		}
	}
	/* nftables: rebuilt from the live leases when berth's tables exist
	 * (or bridges do); a host that never ran a networked task keeps none. */
	if (bridges[0] || nfreed) {
		if (nft(n, err) < 0 || berth_nft_reconcile(n->nft, &n->cfg, l, live, err) < 0 ||
		    bridges_follow_config(n, err) < 0) {
			rc = -1;
			goto out;
		}
		char fp[65];
		if (berth_nft_fingerprint(&n->cfg, fp, err) == 0)
			berth_write_file_replace(n->dirfd, "nft.fp", fp, strlen(fp), 0600, &e);
		n->infra_checked = true;
	}
	/* Record when this sweep ran. */
	{
		_cleanup_close_ int tfd =
			openat(n->dirfd, "swept", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (tfd >= 0)
			futimens(tfd, NULL);
	}
out:
	berth_net_leases_free(l, cnt);
	if (freed)
		*freed = nfreed;
	return rc;
}

int berth_net_sweep(struct berth_net *n, size_t *freed, struct berth_err *err)
{
	if (lock_state(n, err) < 0)
		return -1;
	int r = effective_subnet(n, err);
	if (r == 0)
		r = sweep_locked(n, freed, err);
	unlock_state(n);
	return r < 0 ? berth_err_wrap(err, "network sweep") : 0;
}

static bool sweep_due(struct berth_net *n)
{
	struct stat st;
	if (fstatat(n->dirfd, "swept", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return true;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec - st.st_mtim.tv_sec >= SWEEP_INTERVAL_S || now.tv_sec < st.st_mtim.tv_sec;
}

/* ---- setup ------------------------------------------------------------------- */

void berth_net_task_close(struct berth_net_task *t)
{
	if (t->netns_fd >= 0)
		close(t->netns_fd);
	t->netns_fd = -1;
	for (size_t i = 0; i < t->nport_fds; i++)
		if (t->port_fds[i] >= 0)
			close(t->port_fds[i]);
	free(t->port_fds);
	t->port_fds = NULL;
	t->nport_fds = 0;
}

static int validate_request(const struct berth_net *n, const struct berth_net_request *req, struct berth_err *err)
{
	if (!berth_task_id_valid(req->task_id))
		return berth_err_set(err, 0, "task id \"%s\": expected 12 to 64 lowercase hex digits",
				     req->task_id ? req->task_id : "");
	if (req->hostname && !berth_hostname_valid(req->hostname))
		return berth_err_set(err, 0, "hostname: use 1 to 63 letters, digits, '-' and '.'");
	for (size_t i = 0; i < req->nports; i++) {
		const struct berth_port *p = &req->ports[i];
		if ((p->proto != BERTH_PROTO_TCP && p->proto != BERTH_PROTO_UDP) || !p->ctr_port)
			return berth_err_set(err, 0, "port mapping %zu: protocol must be tcp or udp and the container "
						     "port from 1 to 65535", i + 1);
		for (size_t j = 0; j < i; j++) {
			const struct berth_port *q = &req->ports[j];
			if (p->host_port && q->host_port == p->host_port && q->proto == p->proto)
				return berth_err_set(err, 0, "host port %u/%s is published twice", p->host_port,
						     berth_proto_name(p->proto));
		}
	}
	for (char *const *g = req->groups; g && *g; g++)
		if (!berth_net_config_group(&n->cfg, *g))
			return berth_err_set(err, 0,
					     "security group \"%s\" is not defined; add it to network.securityGroups in "
					     "berth's configuration",
					     *g);
	return 0;
}

static int alloc_ip(struct berth_net *n, const char *task_id, uint32_t *out, struct berth_err *err)
{
	uint32_t total = subnet_size(n), next = 0;
	read_u32_file(n->dirfd, "next", &next);
	char ipbuf[16], holder[BERTH_NET_TASK_ID_MAX + 1];
	for (uint32_t k = 0; k < total; k++) {
		uint32_t off = (next + k) % total, ip = n->cfg.subnet + off;
		if (!ip_is_task_address(n, ip))
			continue;
		int r = berth_reserve(n->ipsfd, berth_ip_str(ip, ipbuf), task_id, holder, err);
		if (r < 0)
			return -1;
		if (r == 1)
			continue;
		char buf[16];
		snprintf(buf, sizeof(buf), "%u", (off + 1) % total);
		struct berth_err e = {0};
		berth_write_file_replace(n->dirfd, "next", buf, strlen(buf), 0600, &e);
		*out = ip;
		return 0;
	}
	return 1;
}

/* A bound, not listening, socket on the host port: nothing else on the host
 * can take the port while the task holds it, and a port some host service
 * already holds is refused up front. */
static int bind_host_port(const struct berth_port *p, struct berth_err *err)
{
	int fd = socket(AF_INET, (p->proto == BERTH_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_err_set(err, errno, "socket for host port %u/%s", p->host_port, berth_proto_name(p->proto));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE)
			return berth_err_set(err, 0,
					     "host port %u/%s is in use by another program on the host; publish a "
					     "different host port",
					     p->host_port, berth_proto_name(p->proto));
		return berth_err_set(err, e, "reserve host port %u/%s", p->host_port, berth_proto_name(p->proto));
	}
	return fd;
}

static int reserve_ports(struct berth_net *n, const struct berth_net_request *req, struct berth_net_task *t,
			 struct berth_err *err)
{
	t->port_fds = calloc(req->nports + 1, sizeof(int));
	if (!t->port_fds)
		return berth_err_set(err, ENOMEM, "ports");
	for (size_t i = 0; i < req->nports; i++) {
		const struct berth_port *p = &req->ports[i];
		if (!p->host_port)
			continue;
		char name[32], holder[BERTH_NET_TASK_ID_MAX + 1];
		berth_port_file(p, name);
		for (int attempt = 0;; attempt++) {
			int r = berth_reserve(n->portsfd, name, req->task_id, holder, err);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
			/* Held: by a task that is gone?  Free it and retry once. */
			struct berth_net_lease hl;
			struct berth_err e = {0};
			int lr = berth_lease_read(n->tasksfd, holder, &hl, &e);
			bool dead = lr == 1 || (lr == 0 && !owner_alive(&hl));
			if (lr == 0) {
				if (dead)
					teardown_lease(n, &hl, 0, &e);
				berth_net_lease_free(&hl);
			}
			if (lr == 1)
				berth_unreserve(n->portsfd, name, holder);
			if (!dead || attempt > 0)
				return berth_err_set(err, 0,
						     "host port %u/%s is already published by task %s; stop it or publish "
						     "a different host port",
						     p->host_port, berth_proto_name(p->proto), holder);
		}
		int fd = bind_host_port(p, err);
		if (fd < 0) {
			berth_unreserve(n->portsfd, name, req->task_id);
			return -1;
		}
		t->port_fds[t->nport_fds++] = fd;
	}
	return 0;
}

static void unreserve_ports(struct berth_net *n, const struct berth_net_request *req)
{
	char name[32];
	for (size_t i = 0; i < req->nports; i++) {
		if (!req->ports[i].host_port)
			continue;
		berth_port_file(&req->ports[i], name);
		berth_unreserve(n->portsfd, name, req->task_id);
	}
}

/* resolv.conf: configured nameservers, or the host's without loopback (and
 * IPv6) ones; systemd-resolved's stub is looked through. */
static int gen_resolv(const struct berth_net *n, char *buf, size_t len)
{
	size_t off = 0;
	int servers = 0;
#define OUT(...) (off += (size_t)snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__))
	OUT("# generated by berth for this task\n");
	if (n->cfg.dns) {
		for (char **p = n->cfg.dns; *p; p++, servers++)
			OUT("nameserver %s\n", *p);
		if (n->cfg.dns_search && n->cfg.dns_search[0]) {
			OUT("search");
			for (char **p = n->cfg.dns_search; *p; p++)
				OUT(" %s", *p);
			OUT("\n");
		}
		return off < len ? 0 : -1;
	}
	const char *files[] = {"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"};
	for (size_t f = 0; f < 2 && servers == 0; f++) {
		off = 0;
		OUT("# generated by berth from the host's %s\n", files[f]);
		FILE *fp = fopen(files[f], "re");
		if (!fp)
			continue;
		char line[512];
		while (fgets(line, sizeof(line), fp)) {
			char word[64], val[400];
			if (sscanf(line, "%63s %399[^\n]", word, val) != 2)
				continue;
			if (strcmp(word, "nameserver") == 0) {
				uint32_t ip;
				char *sp = strpbrk(val, " \t");
				if (sp)
					*sp = '\0';
				if (berth_ip_parse(val, &ip, NULL) < 0 || (ip >> 24) == 127)
					continue; /* IPv6 or loopback: unreachable from the task */
				OUT("nameserver %s\n", val);
				servers++;
			} else if (n->cfg.dns_search && strcmp(word, "search") == 0) {
				continue;
			} else if (!strcmp(word, "search") || !strcmp(word, "domain") || !strcmp(word, "options")) {
				OUT("%s %s\n", word, val);
			}
		}
		fclose(fp);
	}
	if (servers == 0)
		OUT("# the host has no nameserver a task can reach; set network.dns.nameservers\n");
	if (n->cfg.dns_search && n->cfg.dns_search[0]) {
		OUT("search");
		for (char **p = n->cfg.dns_search; *p; p++)
			OUT(" %s", *p);
		OUT("\n");
	}
#undef OUT
	return off < len ? 0 : -1;
}

static int write_files(struct berth_net *n, const struct berth_net_request *req, struct berth_net_task *t,
		       struct berth_err *err)
{
	char resolv[8192], hosts[1024], host12[13];
	if (gen_resolv(n, resolv, sizeof(resolv)) < 0)
		return berth_err_set(err, E2BIG, "generate resolv.conf");
	snprintf(host12, sizeof(host12), "%.12s", req->task_id);
	const char *hn = req->hostname && req->hostname[0] ? req->hostname : host12;
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n", t->ip_str, hn);
	_cleanup_close_ int d = berth_open_dir_at(n->filesfd, req->task_id, true, err);
	if (d < 0)
		return -1;
	if (fchmod(d, 0755) < 0)
		return berth_err_set(err, errno, "chmod %s/files/%s", n->dir, req->task_id);
	if (berth_write_file_replace(d, "resolv.conf", resolv, strlen(resolv), 0644, err) < 0 ||
	    berth_write_file_replace(d, "hosts", hosts, strlen(hosts), 0644, err) < 0)
		return -1;
	snprintf(t->resolv_conf, sizeof(t->resolv_conf), "%s/files/%s/resolv.conf", n->dir, req->task_id);
	snprintf(t->hosts, sizeof(t->hosts), "%s/files/%s/hosts", n->dir, req->task_id);
	return 0;
}

static int setup_locked(struct berth_net *n, const struct berth_net_request *req, struct berth_net_task *t,
			struct berth_err *err)
{
	char ipbuf[16];
	if (effective_subnet(n, err) < 0)
		return -1;
	if (sweep_due(n)) {
		struct berth_err e = {0};
		if (sweep_locked(n, NULL, &e) < 0)
			fprintf(stderr, "berth: warning: %s\n", e.msg);
	}
	/* 1. reservations and the lease */
	struct berth_net_lease l = {.owner = req->owner, .ports = (struct berth_port *)req->ports,
				    .nports = req->nports, .groups = (char **)req->groups};
	snprintf(l.task_id, sizeof(l.task_id), "%s", req->task_id);
	struct berth_net_lease existing;
	int er = berth_lease_read(n->tasksfd, req->task_id, &existing, err);
	if (er < 0)
		return -1;
	if (er == 0) {
		berth_net_lease_free(&existing);
		return berth_err_set(err, EEXIST, "task %s already has a network", req->task_id);
	}
	int r = alloc_ip(n, req->task_id, &l.ip, err);
	if (r == 1) {
		size_t freed = 0;
		if (sweep_locked(n, &freed, err) < 0)
			return -1;
		r = freed ? alloc_ip(n, req->task_id, &l.ip, err) : 1;
	}
	if (r < 0)
		return -1;
	if (r == 1)
		return berth_err_set(err, 0,
				     "no free address in the task subnet %s/%u: every address is leased to a running "
				     "task; stop tasks or configure a larger network.subnet",
				     berth_ip_str(n->cfg.subnet, ipbuf), n->cfg.plen);
	berth_ip_str(l.ip, t->ip_str);
	if (reserve_ports(n, req, t, err) < 0) {
		unreserve_ports(n, req);
		berth_unreserve(n->ipsfd, t->ip_str, req->task_id);
		return -1;
	}
	unsigned slice = slice_of(n, l.ip);
	bridge_name(n, slice, l.bridge);
	snprintf(l.veth, sizeof(l.veth), BERTH_VETH_PREFIX "%.13s", req->task_id);
	l.owner_start = berth_pid_start_time(req->owner);
	if (berth_lease_write(n->tasksfd, &l, err) < 0) {
		unreserve_ports(n, req);
		berth_unreserve(n->ipsfd, t->ip_str, req->task_id);
		return -1;
	}

	/* 2.-5. kernel objects; any failure: the idempotent teardown */
	struct berth_nl inside = {0};
	uint32_t mtu = 0;
	int br = bridge_ensure(n, slice, &mtu, err);
	if (br < 0)
		goto undo;
	if (berth_netns_new(&t->netns_fd, &inside, err) < 0)
		goto undo;
	task_mac(l.ip, t->mac);
	/* The bridge's MTU (the configured one, or its uplink's when it was made). */
	struct berth_veth_params vp = {.host_name = l.veth, .master = br, .mtu = mtu,
				       .peer_netns_fd = t->netns_fd, .peer_mac = t->mac};
	if (berth_nl_veth_create(&n->nl, &vp, err) < 0)
		goto undo;
	t->gateway = gateway_of(n, slice);
	t->plen = n->cfg.bridge_plen;
	if (berth_nl_task_configure(&inside, l.ip, t->plen, t->gateway, err) < 0)
		goto undo;
	berth_nl_close(&inside);
	/* Always: besides adding the task's elements this proves both tables
	 * still exist (a flushed ruleset is rebuilt before the task runs). */
	if (nft(n, err) < 0)
		goto undo;
	if (berth_nft_task_add(n->nft, &n->cfg, &l, err) < 0) {
		if (err->errnum != ENOENT || nft_rebuild(n, err) < 0)
			goto undo;
	}
	for (size_t i = 0; i < req->nports; i++)
		if (req->ports[i].host_port && req->ports[i].proto == BERTH_PROTO_UDP &&
		    berth_ct_flush_dport(BERTH_PROTO_UDP, req->ports[i].host_port, err) < 0)
			goto undo;
	t->ip = l.ip;
	if (write_files(n, req, t, err) < 0)
		goto undo;
	snprintf(t->task_id, sizeof(t->task_id), "%s", req->task_id);
	snprintf(t->bridge, sizeof(t->bridge), "%s", l.bridge);
	snprintf(t->veth, sizeof(t->veth), "%s", l.veth);
	berth_ip_str(t->gateway, t->gateway_str);
	return 0;
undo:
	berth_nl_close(&inside);
	struct berth_err e = {0};
	if (teardown_locked(n, req->task_id, 0, &e) < 0)
		fprintf(stderr, "berth: warning: undo the network of task %s: %s\n", req->task_id, e.msg);
	return -1;
}

int berth_net_setup(struct berth_net *n, const struct berth_net_request *req, struct berth_net_task *out,
		    struct berth_err *err)
{
	struct berth_net_task t = {.netns_fd = -1};
	if (validate_request(n, req, err) < 0)
		return -1;
	if (lock_state(n, err) < 0)
		return -1;
	int r = setup_locked(n, req, &t, err);
	unlock_state(n);
	if (r < 0) {
		berth_net_task_close(&t);
		return berth_err_wrap(err, "task network");
	}
	*out = t;
	return 0;
}

/* ---- queries ----------------------------------------------------------------- */

int berth_net_lease_get(struct berth_net *n, const char *task_id, struct berth_net_lease *out, struct berth_err *err)
{
	if (!berth_task_id_valid(task_id))
		return 1;
	return berth_lease_read(n->tasksfd, task_id, out, err);
}

int berth_net_leases(struct berth_net *n, struct berth_net_lease **out, size_t *count, struct berth_err *err)
{
	if (lock_state(n, err) < 0)
		return -1;
	int r = berth_lease_list(n->tasksfd, out, count, err);
	unlock_state(n);
	return r;
}
