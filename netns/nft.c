/* berth netns/ — berth's nftables tables through libnftables (see nft.h).
 *
 * Everything is generated as nft syntax and handed to libnftables in one
 * buffer per operation, which libnftables applies as one kernel transaction.
 * Only validated or numeric text ever reaches the parser: addresses, ports
 * and protocols are printed from integers, the bridge prefix is checked, and
 * group ids appear only inside comments, restricted to [A-Za-z0-9_.:-].
 *
 * Element text uses protocol numbers (6, 17) rather than names: a name makes
 * libnftables consult /etc/protocols for every element.
 *
 * Why a packet mark and not "ct status dnat" in the bridge table: a ct
 * expression in the bridge family enables nf_conntrack_bridge for the whole
 * namespace (every bridge, berth's or not), and together with br_netfilter it
 * breaks the masquerade of a bridged hairpin (verified on Debian 12's 6.1: the
 * SNAT binding never lands, the connect times out).  Instead, an inet chain
 * right after dstnat marks task-to-task DNAT traffic from berth's bridges,
 * the bridge table admits IPv4 carrying the mark, and the forward chain
 * clears it again; the mark only lives from prerouting to forward.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/nft.h"

/* The packet-mark bit of DNATed task-to-task traffic (see above). */
#define DNAT_MARK 0x10000000u

struct berth_nft {
	struct nft_ctx *ctx;
};

/* ------------------------------------------------------------ text buffer */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* ------------------------------------------------------------- validation */

static bool chars_ok(const char *s, const char *extra)
{
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(extra, c)))
			return false;
	}
	return true;
}

static int check_cfg(const struct berth_net_config *cfg, struct berth_err *err)
{
	size_t n = strnlen(cfg->bridge_prefix, sizeof(cfg->bridge_prefix));
	if (n == 0 || n == sizeof(cfg->bridge_prefix) || !chars_ok(cfg->bridge_prefix, "_.-"))
		return berth_err_set(err, EINVAL, "nftables: bridge prefix \"%.*s\" is not 1-%zu of [A-Za-z0-9_.-]",
				     (int)n, cfg->bridge_prefix, sizeof(cfg->bridge_prefix) - 1);
	if (cfg->plen > 32)
		return berth_err_set(err, EINVAL, "nftables: subnet prefix length %u is out of range",
				     (unsigned)cfg->plen);
	return 0;
}

static uint32_t mask_of(uint8_t plen)
{
	return plen == 0 ? 0 : 0xffffffffu << (32 - plen);
}

/* "a.b.c.d/len" with the host bits cleared (nft would clear them too, silently). */
static const char *cidr_str(uint32_t ip, uint8_t plen, char buf[20])
{
	char s[16];
	snprintf(buf, 20, "%s/%u", berth_ip_str(ip & mask_of(plen), s), (unsigned)plen);
	return buf;
}

/* The group id for a set's comment: [A-Za-z0-9_.:-] only (anything else
 * becomes '_'), at most 64 characters.  Config parsing validates ids; this
 * keeps a bad one from ever reaching nft's parser as syntax. */
static void comment_of(const char *id, char out[65])
{
	size_t i = 0;
	for (; id && id[i] && i < 64; i++) {
		char c[2] = {id[i], '\0'};
		out[i] = chars_ok(c, "_.:-") ? id[i] : '_';
	}
	out[i] = '\0';
}

static long group_index(const struct berth_net_config *cfg, const char *id)
{
	if (!id)
		return -1;
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i].id && strcmp(cfg->groups[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* --------------------------------------------------------------- elements */

enum { SET_OPEN, SET_PUB, SET_SELF, SET_SG }; /* SET_SG + i: sg_<i> */

static void set_name(size_t set, char buf[32])
{
	switch (set) {
	case SET_OPEN: snprintf(buf, 32, "open"); break;
	case SET_PUB: snprintf(buf, 32, "pub"); break;
	case SET_SELF: snprintf(buf, 32, "self"); break;
	default: snprintf(buf, 32, "sg_%zu", set - SET_SG); break;
	}
}

struct elem {
	size_t set;
	char text[48];
};

struct elems {
	struct elem *v;
	size_t n, cap;
};

static void elems_free(struct elems *e)
{
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

__attribute__((format(printf, 4, 5))) static int elems_push(struct elems *e, size_t set, struct berth_err *err,
							  const char *fmt, ...)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct elem *v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return berth_err_set(err, ENOMEM, "nftables: elements");
		e->v = v;
		e->cap = cap;
	}
	struct elem *x = &e->v[e->n++];
	x->set = set;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->text, sizeof(x->text), fmt, ap);
	va_end(ap);
	return 0;
}

static bool port_proto_ok(int proto)
{
	return proto == BERTH_PROTO_TCP || proto == BERTH_PROTO_UDP;
}

/* Append lease l's elements to e (no duplicates within the lease).  pubseen
 * (optional, 2 x 65536 bits) drops a published port another lease already
 * holds, so that a stale lease cannot make a whole reconcile fail. */
static int lease_elems(const struct berth_net_config *cfg, const struct berth_net_lease *l, struct elems *e,
		       uint8_t *pubseen, struct berth_err *err)
{
	char ip[16];
	berth_ip_str(l->ip, ip);
	size_t ngroups = berth_strv_len(l->groups);
	bool published = false;
	for (size_t i = 0; i < l->nports; i++) {
		const struct berth_port *p = &l->ports[i];
		if (!port_proto_ok(p->proto))
			return berth_err_set(err, EINVAL, "nftables: task %s: port %u has protocol %d",
					     l->task_id, (unsigned)p->ctr_port, p->proto);
		bool dup_open = false, dup_pub = false;
		for (size_t j = 0; j < i; j++) {
			const struct berth_port *q = &l->ports[j];
			dup_open |= q->proto == p->proto && q->ctr_port == p->ctr_port;
			dup_pub |= q->host_port && q->proto == p->proto && q->host_port == p->host_port;
		}
		if (ngroups == 0 && !dup_open &&
		    elems_push(e, SET_OPEN, err, "%s . %d . %u", ip, p->proto, (unsigned)p->ctr_port) < 0)
			return -1;
		if (!p->host_port || dup_pub)
			continue;
		if (pubseen) {
			size_t bit = (p->proto == BERTH_PROTO_UDP ? 65536u : 0u) + p->host_port;
			if (pubseen[bit / 8] & (1u << (bit % 8)))
				continue;
			pubseen[bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
		if (elems_push(e, SET_PUB, err, "%d . %u : %s . %u", p->proto, (unsigned)p->host_port, ip,
			       (unsigned)p->ctr_port) < 0)
			return -1;
		published = true;
	}
	for (size_t k = 0; k < ngroups; k++) {
		long gi = group_index(cfg, l->groups[k]);
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = group_index(cfg, l->groups[j]) == gi;
		if (gi >= 0 && !dup && elems_push(e, SET_SG + (size_t)gi, err, "%s", ip) < 0)
			return -1;
	}
	if (published && elems_push(e, SET_SELF, err, "%s . %s", ip, ip) < 0)
		return -1;
	return 0;
}

/* One "<verb> element inet <table> <set> { ... }" line per set of e. */
static void emit_elem_cmds(struct sbuf *b, const char *table, const char *verb, const struct elems *e)
{
	for (size_t i = 0; i < e->n; i++) {
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = e->v[j].set != e->v[i].set;
		if (!first)
			continue;
		char name[32];
		set_name(e->v[i].set, name);
		sb_add(b, "%s element inet %s %s { ", verb, table, name);
		const char *sep = "";
		for (size_t j = i; j < e->n; j++) {
			if (e->v[j].set != e->v[i].set)
				continue;
			sb_add(b, "%s%s", sep, e->v[j].text);
			sep = ", ";
		}
		sb_add(b, " }\n");
	}
}

/* ---------------------------------------------------------------- ruleset */

static void emit_set(struct sbuf *b, size_t set, const char *type, const char *comment, const struct elems *e)
{
	char name[32];
	set_name(set, name);
	sb_add(b, "\t%s %s {\n\t\ttype %s\n", set == SET_PUB ? "map" : "set", name, type);
	if (comment)
		sb_add(b, "\t\tcomment \"%s\"\n", comment);
	const char *sep = "\t\telements = { ";
	for (size_t i = 0; e && i < e->n; i++) {
		if (e->v[i].set != set)
			continue;
		sb_add(b, "%s%s", sep, e->v[i].text);
		sep = ",\n\t\t\t";
	}
	if (sep[0] == ',')
		sb_add(b, " }\n");
	sb_add(b, "\t}\n");
}

static void emit_sg_rule(struct sbuf *b, const struct berth_net_config *cfg, size_t gi, const struct berth_sg_rule *r)
{
	char src[40];
	if (r->from_group) {
		long gj = group_index(cfg, r->src_group);
		if (gj < 0)
			return; /* validated by config parsing; never widen access */
		snprintf(src, sizeof(src), " ip saddr @sg_%ld", gj);
	} else if (r->cidr_plen == 0) {
		src[0] = '\0';
	} else {
		char c[20];
		snprintf(src, sizeof(src), " ip saddr %s", cidr_str(r->cidr, r->cidr_plen > 32 ? 32 : r->cidr_plen, c));
	}
	char what[48];
	uint16_t lo = r->from < r->to ? r->from : r->to, hi = r->from < r->to ? r->to : r->from;
	switch (r->proto) {
	case BERTH_PROTO_ALL: what[0] = '\0'; break;
	case BERTH_PROTO_ICMP: snprintf(what, sizeof(what), " meta l4proto icmp"); break;
	case BERTH_PROTO_TCP:
	case BERTH_PROTO_UDP:
		if (lo == 0 && hi == 65535)
			snprintf(what, sizeof(what), " meta l4proto %s", berth_proto_name(r->proto));
		else if (lo == hi)
			snprintf(what, sizeof(what), " meta l4proto %s th dport %u", berth_proto_name(r->proto),
				 (unsigned)lo);
		else
			snprintf(what, sizeof(what), " meta l4proto %s th dport %u-%u", berth_proto_name(r->proto),
				 (unsigned)lo, (unsigned)hi);
		break;
	default: return; /* unknown protocol: admit nothing */
	}
	sb_add(b, "\t\tip daddr @sg_%zu%s%s accept\n", gi, src, what);
}

/* Both tables, each preceded by "table X" + "delete table X" (create if
 * missing, then delete: the definition that follows replaces it in the same
 * transaction).  e (optional) supplies the elements. */
static void emit_ruleset(struct sbuf *b, const struct berth_net_config *cfg, const struct elems *e)
{
	const char *pfx = cfg->bridge_prefix;
	char subnet[20];
	cidr_str(cfg->subnet, cfg->plen, subnet);

	sb_add(b, "table inet %s\ndelete table inet %s\ntable inet %s {\n", pfx, pfx, pfx);
	emit_set(b, SET_OPEN, "ipv4_addr . inet_proto . inet_service", NULL, e);
	for (size_t i = 0; i < cfg->ngroups; i++) {
		char comment[65];
		comment_of(cfg->groups[i].id, comment);
		emit_set(b, SET_SG + i, "ipv4_addr", comment, e);
	}
	emit_set(b, SET_PUB, "inet_proto . inet_service : ipv4_addr . inet_service", NULL, e);
	emit_set(b, SET_SELF, "ipv4_addr . ipv4_addr", NULL, e);

	static const char dnat[] =
		"\t\tmeta l4proto { tcp, udp } fib daddr type local dnat ip to meta l4proto . th dport map @pub\n";
	sb_add(b, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n%s\t}\n", dnat);
	/* nft 1.0.6 refuses the "dstnat" keyword on the output hook. */
	sb_add(b, "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n%s\t}\n", dnat);

	sb_add(b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		  "\t\tct status dnat ip saddr . ip daddr @self masquerade\n");
	if (cfg->publish_localhost)
		sb_add(b, "\t\tct status dnat ip saddr 127.0.0.0/8 ip daddr %s masquerade\n", subnet);
	sb_add(b, "\t\tip saddr %s ip daddr != %s masquerade\n\t}\n", subnet, subnet);

	/* Task-to-task DNAT traffic carries DNAT_MARK from just after dstnat
	 * to forward, for the bridge table (see the top of this file). */
	sb_add(b, "\tchain dnatmark {\n\t\ttype filter hook prerouting priority dstnat + 1; policy accept;\n"
		  "\t\tiifname \"%s*\" ip daddr %s ct status dnat meta mark set meta mark | 0x%08x\n\t}\n",
	       pfx, subnet, DNAT_MARK);
	sb_add(b, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
		  "\t\tiifname \"%s*\" ip daddr %s ct status dnat meta mark set meta mark & 0x%08x\n"
		  "\t\tip daddr %s jump ingress\n\t}\n",
	       pfx, subnet, ~DNAT_MARK, subnet);
	sb_add(b, "\tchain ingress {\n\t\tct state established,related accept\n\t\tct state invalid drop\n"
		  "\t\tip daddr . meta l4proto . th dport @open accept\n");
	for (size_t i = 0; i < cfg->ngroups; i++)
		for (size_t k = 0; k < cfg->groups[i].nrules; k++)
			emit_sg_rule(b, cfg, i, &cfg->groups[i].rules[k]);
	sb_add(b, "\t\treject with icmpx admin-prohibited\n\t}\n");

	sb_add(b, "\tchain guard {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
		  "\t\tiifname \"%s*\" ip daddr 127.0.0.0/8 drop\n\t}\n", pfx);
	sb_add(b, "\tchain redirects {\n\t\ttype filter hook output priority filter; policy accept;\n"
		  "\t\toifname \"%s*\" icmp type redirect drop\n\t}\n}\n", pfx);

	sb_add(b, "table bridge %s\ndelete table bridge %s\n"
		  "table bridge %s {\n\tchain forward {\n\t\ttype filter hook forward priority -200; policy accept;\n"
		  "\t\tiifname \"%s*\" oifname \"%s*\" ether type ip meta mark & 0x%08x != 0 accept\n"
		  "\t\tiifname \"%s*\" oifname \"%s*\" drop\n\t}\n}\n",
	       pfx, pfx, pfx, BERTH_VETH_PREFIX, BERTH_VETH_PREFIX, DNAT_MARK, BERTH_VETH_PREFIX, BERTH_VETH_PREFIX);
}

/* ------------------------------------------------------------ libnftables */

/* The first meaningful line of libnftables' error output, without the
 * "<cmdline>:1:2-3: Error: " lead. */
static void first_error(const char *buf, char *out, size_t outlen)
{
	out[0] = '\0';
	const char *line = buf ? buf : "";
	const char *pick = NULL;
	size_t picklen = 0;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *e = memmem(line, len, "Error: ", 7);
		if (e) {
			pick = e + 7;
			picklen = len - (size_t)(pick - line);
			break;
		}
		if (!pick && len > 0) {
			pick = line;
			picklen = len;
		}
		if (!end)
			break;
		line = end + 1;
	}
	while (pick && picklen > 0 && (pick[picklen - 1] == ' ' || pick[picklen - 1] == '\t' || pick[picklen - 1] == '\r'))
		picklen--;
	if (!pick || picklen == 0) {
		snprintf(out, outlen, "failed (no message from libnftables)");
		return;
	}
	snprintf(out, outlen, "%.*s", (int)picklen, pick);
}

/* The errno libnftables' message names (it reports strerror text only). */
static int errno_of(const char *msg)
{
	static const int known[] = {ENOENT, EEXIST, EOPNOTSUPP, EPROTO, EPERM, EBUSY, ENOMEM, EINVAL, ENOSPC,
				    E2BIG, ENOBUFS, ERANGE};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strstr(msg, strerror(known[i])))
			return known[i];
	return 0;
}

/* berth_err_set with errnum recorded but not described: libnftables'
 * message already says it. */
__attribute__((format(printf, 3, 4))) static int err_nodesc(struct berth_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	berth_err_vset(err, errnum, false, fmt, ap);
	va_end(ap);
	return -1;
}

/* Run one buffer (one transaction).  On failure err holds "nftables: <what>:
 * <libnftables' first error line>" and err->errnum the errno it names. */
__attribute__((format(printf, 4, 5))) static int run(struct berth_nft *n, const char *text, struct berth_err *err,
						   const char *what_fmt, ...)
{
	int rc = nft_run_cmd_from_buffer(n->ctx, text);
	/* Reading a buffer also empties it: never let one call's text (a
	 * warning, say) be taken for the next one's error. */
	const char *errtext = nft_ctx_get_error_buffer(n->ctx);
	(void)nft_ctx_get_output_buffer(n->ctx);
	if (rc == 0)
		return 0;
	char msg[512], what[256];
	first_error(errtext, msg, sizeof(msg));
	va_list ap;
	va_start(ap, what_fmt);
	vsnprintf(what, sizeof(what), what_fmt, ap);
	va_end(ap);
	return err_nodesc(err, errno_of(msg), "nftables: %s: %s", what, msg);
}

int berth_nft_open(struct berth_nft **out, struct berth_err *err)
{
	*out = NULL;
	struct berth_nft *n = calloc(1, sizeof(*n));
	if (!n)
		return berth_err_set(err, ENOMEM, "nftables: open");
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx) {
		free(n);
		return berth_err_set(err, ENOMEM, "nftables: cannot create a libnftables context");
	}
	if (nft_ctx_buffer_output(n->ctx) != 0 || nft_ctx_buffer_error(n->ctx) != 0) {
		berth_nft_close(n);
		return berth_err_set(err, ENOMEM, "nftables: cannot buffer libnftables' output");
	}
	*out = n;
	return 0;
}

void berth_nft_close(struct berth_nft *n)
{
	if (!n)
		return;
	nft_ctx_free(n->ctx);
	free(n);
}

static int sb_check(struct sbuf *b, struct berth_err *err)
{
	if (b->oom || !b->p)
		return berth_err_set(err, ENOMEM, "nftables: ruleset text");
	return 0;
}

int berth_nft_reconcile(struct berth_nft *n, const struct berth_net_config *cfg,
			const struct berth_net_lease *leases, size_t nleases, struct berth_err *err)
{
	if (check_cfg(cfg, err) < 0)
		return -1;
	_cleanup_free_ uint8_t *pubseen = calloc(2 * 65536 / 8, 1);
	if (!pubseen)
		return berth_err_set(err, ENOMEM, "nftables: reconcile");
	struct elems e = {0};
	for (size_t i = 0; i < nleases; i++) {
		if (lease_elems(cfg, &leases[i], &e, pubseen, err) < 0) {
			elems_free(&e);
			return -1;
		}
	}
	struct sbuf b = {0};
	emit_ruleset(&b, cfg, &e);
	elems_free(&e);
	_cleanup_free_ char *text = b.p;
	if (sb_check(&b, err) < 0)
		return -1;
	struct berth_err e2 = {0};
	if (run(n, text, &e2, "reconcile (%zu tasks)", nleases) == 0)
		return 0;
	return err_nodesc(err, e2.errnum, "%s%s", e2.msg,
			  e2.errnum == EOPNOTSUPP || e2.errnum == ENOENT
				  ? " (the kernel lacks an nftables feature berth needs: load the modules nf_tables, "
				    "bridge, nft_chain_nat, nft_nat, nft_masq, nft_fib_inet, nft_reject_inet and "
				    "nft_ct, or run tasks with --network none)"
				  : "");
}

int berth_nft_task_add(struct berth_nft *n, const struct berth_net_config *cfg,
		       const struct berth_net_lease *l, struct berth_err *err)
{
	char ip[16];
	berth_ip_str(l->ip, ip);
	struct elems e = {0};
	if (lease_elems(cfg, l, &e, NULL, err) < 0) {
		elems_free(&e);
		return -1;
	}
	struct sbuf b = {0};
	/* Every task needs both tables (masquerade, ingress, the layer-2
	 * filter), even one with no elements: someone may have flushed the
	 * ruleset (a firewall reload).  In the same transaction, touching the
	 * bridge table's chain fails with ENOENT when it is gone. */
	sb_add(&b, "add chain bridge %s forward\n", cfg->bridge_prefix);
	if (e.n > 0)
		emit_elem_cmds(&b, cfg->bridge_prefix, "add", &e);
	else
		sb_add(&b, "add element inet %s self { 0.0.0.0 . 0.0.0.0 }\n"
			   "delete element inet %s self { 0.0.0.0 . 0.0.0.0 }\n", cfg->bridge_prefix, cfg->bridge_prefix);
	elems_free(&e);
	_cleanup_free_ char *text = b.p;
	if (sb_check(&b, err) < 0)
		return -1;
	return run(n, text, err, "add task %s", ip);
}

static bool is_enoent(const struct berth_err *err)
{
	return err->errnum == ENOENT;
}

int berth_nft_task_del(struct berth_nft *n, const struct berth_net_config *cfg,
		       const struct berth_net_lease *l, struct berth_err *err)
{
	char ip[16];
	berth_ip_str(l->ip, ip);
	struct elems e = {0};
	if (lease_elems(cfg, l, &e, NULL, err) < 0) {
		elems_free(&e);
		return -1;
	}
	if (e.n == 0)
		return 0;
	struct sbuf b = {0};
	emit_elem_cmds(&b, cfg->bridge_prefix, "delete", &e);
	_cleanup_free_ char *text = b.p;
	if (sb_check(&b, err) < 0) {
		elems_free(&e);
		return -1;
	}
	struct berth_err first = {0};
	if (run(n, text, &first, "delete task %s", ip) == 0) {
		elems_free(&e);
		return 0;
	}
	if (!is_enoent(&first)) {
		elems_free(&e);
		return err_nodesc(err, first.errnum, "%s", first.msg);
	}
	/* Something was already gone, which fails the whole transaction: remove
	 * what is left one element at a time. */
	int rc = 0;
	for (size_t i = 0; i < e.n; i++) {
		char name[32], line[128];
		set_name(e.v[i].set, name);
		snprintf(line, sizeof(line), "delete element inet %s %s { %s }\n", cfg->bridge_prefix, name, e.v[i].text);
		struct berth_err one = {0};
		if (run(n, line, &one, "delete task %s", ip) < 0 && !is_enoent(&one) && rc == 0)
			rc = err_nodesc(err, one.errnum, "%s", one.msg);
	}
	elems_free(&e);
	return rc;
}

int berth_nft_fingerprint(const struct berth_net_config *cfg, char out[65], struct berth_err *err)
{
	if (check_cfg(cfg, err) < 0)
		return -1;
	struct sbuf b = {0};
	emit_ruleset(&b, cfg, NULL);
	_cleanup_free_ char *text = b.p;
	if (sb_check(&b, err) < 0)
		return -1;
	return berth_sha256_buf_hex(text, b.len, out, err);
}

int berth_nft_destroy(struct berth_nft *n, const struct berth_net_config *cfg, struct berth_err *err)
{
	if (check_cfg(cfg, err) < 0)
		return -1;
	const char *t = cfg->bridge_prefix;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "table inet %s\ndelete table inet %s\ntable bridge %s\ndelete table bridge %s\n", t, t, t,
		 t);
	return run(n, cmd, err, "delete berth's tables");
}
