/* Unit tests: netns/nft.c (berth's nftables tables through libnftables).
 *
 * main() first moves the whole process into a private network namespace
 * (unshare(CLONE_NEWNET)): nftables state is per namespace, so every table
 * created here is throwaway and the host's ruleset is never touched.  The
 * results are checked by listing the ruleset back with a second libnftables
 * context.
 *
 * berth's bridge table needs the kernel's nft_meta_bridge (Debian's kernel
 * has it as a module).  Where it is missing (some development kernels),
 * reconcile must fail and apply nothing;
 * the element tests then run against an inet table the test builds itself,
 * and the tests that need a reconciled ruleset (listing, stray elements,
 * hostile ids, the behavioural test) are not registered — the VM runs them:
 *   make vm-run CMD='build/tests/test_netns_nft'
 *
 * The behavioural test builds a small topology with `ip` (tests only): this
 * process's private namespace is the "host" with bridge berth0, and three forked
 * children each unshare a namespace of their own as tasks, joined by veth
 * pairs.  TCP connects between them show the ingress chain at work.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nftables/libnftables.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/netns.h"
#include "netns/nft.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* berth's tables under the default prefix ("berth"). */
static int destroy_default(struct berth_err *err);

static bool bridge_ok; /* the kernel supports berth's bridge table */
static struct nft_ctx *lister;
static struct berth_nft *nft;

/* ------------------------------------------------------------- fixtures */

static struct berth_sg_rule web_rules[] = {
	{.proto = BERTH_PROTO_TCP, .from = 80, .to = 80, .cidr = IP(10, 0, 0, 0), .cidr_plen = 8},
	{.proto = BERTH_PROTO_UDP, .from = 6010, .to = 6000, .cidr = IP(192, 168, 1, 1), .cidr_plen = 16},
	{.proto = BERTH_PROTO_TCP, .from = 0, .to = 65535, .cidr = 0, .cidr_plen = 0},
};
static struct berth_sg_rule db_rules[] = {
	{.proto = BERTH_PROTO_TCP, .from = 5432, .to = 5432, .from_group = true, .src_group = "sg-web"},
	{.proto = BERTH_PROTO_ICMP, .from = 0, .to = 65535, .cidr = IP(10, 88, 0, 0), .cidr_plen = 16},
	{.proto = BERTH_PROTO_UDP, .from = 6000, .to = 6010, .from_group = true, .src_group = "sg-nowhere"},
};
static struct berth_sg groups[] = {
	{.id = "sg-web", .name = "web", .rules = web_rules, .nrules = 3},
	{.id = "sg-db", .name = "db", .rules = db_rules, .nrules = 3},
};

static void make_cfg(struct berth_net_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->bridge_prefix, sizeof(c->bridge_prefix), "berth");
	c->subnet = IP(10, 88, 0, 0);
	c->plen = 16;
	c->subnet_set = true;
	c->bridge_plen = 23;
	c->groups = groups;
	c->ngroups = 2;
}

static struct berth_port ports_a[] = {
	{.proto = BERTH_PROTO_TCP, .ctr_port = 80, .host_port = 8080},
	{.proto = BERTH_PROTO_UDP, .ctr_port = 53, .host_port = 0},
	{.proto = BERTH_PROTO_TCP, .ctr_port = 80, .host_port = 8080}, /* duplicate: harmless */
};
static struct berth_port ports_b[] = {
	{.proto = BERTH_PROTO_TCP, .ctr_port = 5432, .host_port = 15432},
};
static char *groups_b[] = {"sg-db", "sg-unknown", NULL};

/* A: no groups, publishes tcp 8080 -> 80, declares udp 53.  B: in sg-db (and
 * an unknown group), publishes tcp 15432 -> 5432. */
static void make_leases(struct berth_net_lease *a, struct berth_net_lease *b)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->task_id, sizeof(a->task_id), "aaaaaaaaaaaa");
	a->ip = IP(10, 88, 0, 5);
	a->ports = ports_a;
	a->nports = 3;
	memset(b, 0, sizeof(*b));
	snprintf(b->task_id, sizeof(b->task_id), "bbbbbbbbbbbb");
	b->ip = IP(10, 88, 0, 7);
	b->ports = ports_b;
	b->nports = 1;
	b->groups = groups_b;
}

/* The output of one libnftables command ("" when it fails).  The last few
 * results stay valid (a ring), so listings can be compared. */
static char *listings[8];
static size_t nlisting;

static char *list(const char *cmd)
{
	size_t slot = nlisting++ % 8;
	free(listings[slot]);
	listings[slot] = NULL;
	if (nft_run_cmd_from_buffer(lister, cmd) != 0)
		return "";
	listings[slot] = strdup(nft_ctx_get_output_buffer(lister));
	assert_non_null(listings[slot]);
	return listings[slot];
}

static void apply(const char *text)
{
	if (nft_run_cmd_from_buffer(lister, text) != 0)
		fail_msg("nft: %s", nft_ctx_get_error_buffer(lister));
}

/* The tables for cfg: berth_nft_reconcile where the kernel supports the
 * bridge table; elsewhere an inet table with the same sets (enough for the
 * element operations). */
static void install(const struct berth_net_config *cfg)
{
	struct berth_err err = {0};
	if (bridge_ok) {
		if (berth_nft_reconcile(nft, cfg, NULL, 0, &err) < 0)
			fail_msg("reconcile: %s", err.msg);
		return;
	}
	char text[2048];
	int n = snprintf(text, sizeof(text),
			 "table inet berth {\n"
			 "set open { type ipv4_addr . inet_proto . inet_service; }\n"
			 "map pub { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
			 "set self { type ipv4_addr . ipv4_addr; }\n");
	for (size_t i = 0; i < cfg->ngroups; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "set sg_%zu { type ipv4_addr; }\n", i);
	snprintf(text + n, sizeof(text) - (size_t)n, "}\n");
	apply(text);
}

static int reset(void **state)
{
	(void)state;
	struct berth_err err = {0};
	assert_int_equal(destroy_default(&err), 0);
	return 0;
}

#define assert_contains(h, n)                                                     \
	do {                                                                      \
		const char *h_ = (h), *n_ = (n);                                  \
		if (!strstr(h_, n_))                                              \
			fail_msg("\"%s\" not found in:\n%s", n_, h_);             \
	} while (0)
#define assert_lacks(h, n)                                                        \
	do {                                                                      \
		const char *h_ = (h), *n_ = (n);                                  \
		if (strstr(h_, n_))                                               \
			fail_msg("\"%s\" unexpectedly found in:\n%s", n_, h_);    \
	} while (0)

static void assert_a_present(const char *t)
{
	assert_contains(t, "10.88.0.5 . tcp . 80");
	assert_contains(t, "10.88.0.5 . udp . 53");
	assert_contains(t, "tcp . 8080 : 10.88.0.5 . 80");
	assert_contains(t, "10.88.0.5 . 10.88.0.5");
}

static void assert_b_present(const char *t)
{
	assert_contains(list("list set inet berth sg_1"), "elements = { 10.88.0.7 }");
	assert_lacks(list("list set inet berth sg_0"), "10.88.0.7");
	assert_lacks(list("list set inet berth open"), "10.88.0.7"); /* groups: not open */
	assert_contains(t, "tcp . 15432 : 10.88.0.7 . 5432");
	assert_contains(t, "10.88.0.7 . 10.88.0.7");
}

/* ---------------------------------------------------------------- tests */

static void test_fingerprint(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	struct berth_err err = {0};
	char f0[65], f1[65];
	assert_int_equal(berth_nft_fingerprint(&c, f0, &err), 0);
	assert_int_equal(strlen(f0), 64);
	assert_int_equal(berth_nft_fingerprint(&c, f1, &err), 0);
	assert_string_equal(f0, f1);
	if (bridge_ok) { /* leases change the tables, not the fingerprint */
		struct berth_net_lease l[2];
		make_leases(&l[0], &l[1]);
		assert_int_equal(berth_nft_reconcile(nft, &c, l, 2, &err), 0);
		assert_int_equal(berth_nft_fingerprint(&c, f1, &err), 0);
		assert_string_equal(f0, f1);
	}
	char seen[6][65];
	memcpy(seen[0], f0, 65);
	c.subnet = IP(10, 89, 0, 0);
	assert_int_equal(berth_nft_fingerprint(&c, seen[1], &err), 0);
	make_cfg(&c);
	c.publish_localhost = true;
	assert_int_equal(berth_nft_fingerprint(&c, seen[2], &err), 0);
	make_cfg(&c);
	snprintf(c.bridge_prefix, sizeof(c.bridge_prefix), "other");
	assert_int_equal(berth_nft_fingerprint(&c, seen[3], &err), 0);
	make_cfg(&c);
	c.ngroups = 1;
	assert_int_equal(berth_nft_fingerprint(&c, seen[4], &err), 0);
	make_cfg(&c);
	web_rules[0].to = 81;
	assert_int_equal(berth_nft_fingerprint(&c, seen[5], &err), 0);
	web_rules[0].to = 80;
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
}

static void test_bad_prefix(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	snprintf(c.bridge_prefix, sizeof(c.bridge_prefix), "b\"t");
	struct berth_err err = {0};
	char f[65];
	assert_int_equal(berth_nft_fingerprint(&c, f, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
	assert_int_equal(berth_nft_reconcile(nft, &c, NULL, 0, &err), -1);
	assert_contains(err.msg, "bridge prefix");
	c.bridge_prefix[0] = '\0';
	assert_int_equal(berth_nft_fingerprint(&c, f, &err), -1);
}

static void test_missing_tables(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	struct berth_net_lease a, b;
	make_leases(&a, &b);
	struct berth_err err = {0};
	assert_int_equal(destroy_default(&err), 0); /* nothing there: fine */
	assert_int_equal(berth_nft_task_add(nft, &c, &a, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_contains(err.msg, "nftables: add task 10.88.0.5: ");
	assert_contains(err.msg, "No such file or directory");
	assert_null(strchr(err.msg, '\n'));
	/* A task with no element at all still needs the tables. */
	struct berth_net_lease empty = {.task_id = "cccccccccccc", .ip = IP(10, 88, 0, 9)};
	assert_int_equal(berth_nft_task_add(nft, &c, &empty, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(berth_nft_task_del(nft, &c, &a, &err), 0);
	assert_int_equal(berth_nft_task_del(nft, &c, &b, &err), 0);
	assert_int_equal(berth_nft_task_del(nft, &c, &empty, &err), 0);
}

static void test_task_elements(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	install(&c);
	struct berth_net_lease a, b;
	make_leases(&a, &b);
	struct berth_err err = {0};
	struct berth_net_lease empty = {.task_id = "cccccccccccc", .ip = IP(10, 88, 0, 9)};
	assert_int_equal(berth_nft_task_add(nft, &c, &empty, &err), 0);
	assert_lacks(list("list table inet berth"), "0.0.0.0 . 0.0.0.0");
	assert_int_equal(berth_nft_task_add(nft, &c, &a, &err), 0);
	assert_int_equal(berth_nft_task_add(nft, &c, &b, &err), 0);
	assert_int_equal(berth_nft_task_add(nft, &c, &a, &err), 0); /* again: no-op */
	const char *t = list("list table inet berth");
	assert_a_present(t);
	assert_b_present(t);

	assert_int_equal(berth_nft_task_del(nft, &c, &a, &err), 0);
	t = list("list table inet berth");
	assert_lacks(t, "10.88.0.5");
	assert_b_present(t);
	assert_int_equal(berth_nft_task_del(nft, &c, &a, &err), 0); /* idempotent */

	/* Half gone (one element deleted behind berth's back): the rest goes. */
	apply("delete element inet berth sg_1 { 10.88.0.7 }");
	assert_int_equal(berth_nft_task_del(nft, &c, &b, &err), 0);
	t = list("list table inet berth");
	assert_lacks(t, "10.88.0.7");
	assert_int_equal(berth_nft_task_del(nft, &c, &b, &err), 0);

	/* A published port another task holds: the add fails as a whole. */
	struct berth_net_lease clash = a;
	clash.ip = IP(10, 88, 0, 6);
	assert_int_equal(berth_nft_task_add(nft, &c, &a, &err), 0);
	assert_int_equal(berth_nft_task_add(nft, &c, &clash, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_lacks(list("list table inet berth"), "10.88.0.6");

	assert_int_equal(destroy_default(&err), 0);
	assert_int_equal(berth_nft_task_del(nft, &c, &a, &err), 0); /* after destroy */
	assert_int_equal(berth_nft_task_add(nft, &c, &a, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(destroy_default(&err), 0);
}

static void test_reconcile_unsupported(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	struct berth_err err = {0};
	assert_int_equal(berth_nft_reconcile(nft, &c, NULL, 0, &err), -1);
	assert_int_equal(err.errnum, EOPNOTSUPP);
	assert_contains(err.msg, "nftables: reconcile (0 tasks): ");
	assert_contains(err.msg, "nft_meta_bridge");
	assert_string_equal(list("list tables"), ""); /* one transaction: nothing applied */
}

static void test_reconcile_skeleton(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	c.publish_localhost = true;
	struct berth_err err = {0};
	assert_int_equal(berth_nft_reconcile(nft, &c, NULL, 0, &err), 0);
	const char *t = list("list table inet berth");
	static const char *const want[] = {
		"set open {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t}",
		"set sg_0 {\n\t\ttype ipv4_addr\n\t\tcomment \"sg-web\"\n\t}",
		"set sg_1 {\n\t\ttype ipv4_addr\n\t\tcomment \"sg-db\"\n\t}",
		"map pub {\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n\t}",
		"set self {\n\t\ttype ipv4_addr . ipv4_addr\n\t}",
		"chain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
		"\t\tmeta l4proto { tcp, udp } fib daddr type local dnat ip to meta l4proto . th dport map @pub\n",
		"chain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
		"\t\tmeta l4proto { tcp, udp } fib daddr type local dnat ip to meta l4proto . th dport map @pub\n",
		"chain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		"\t\tct status dnat ip saddr . ip daddr @self masquerade\n"
		"\t\tct status dnat ip saddr 127.0.0.0/8 ip daddr 10.88.0.0/16 masquerade\n"
		"\t\tip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade\n\t}",
		"chain dnatmark {\n\t\ttype filter hook prerouting priority dstnat + 1; policy accept;\n"
		"\t\tiifname \"berth*\" ip daddr 10.88.0.0/16 ct status dnat meta mark set meta mark | 0x10000000\n\t}",
		"chain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
		"\t\tiifname \"berth*\" ip daddr 10.88.0.0/16 ct status dnat meta mark set meta mark & 0xefffffff\n"
		"\t\tip daddr 10.88.0.0/16 jump ingress\n\t}",
		"chain ingress {\n\t\tct state established,related accept\n\t\tct state invalid drop\n"
		"\t\tip daddr . meta l4proto . th dport @open accept\n"
		"\t\tip daddr @sg_0 ip saddr 10.0.0.0/8 tcp dport 80 accept\n"
		"\t\tip daddr @sg_0 ip saddr 192.168.0.0/16 udp dport 6000-6010 accept\n"
		"\t\tip daddr @sg_0 meta l4proto tcp accept\n"
		"\t\tip daddr @sg_1 ip saddr @sg_0 tcp dport 5432 accept\n"
		"\t\tip daddr @sg_1 ip saddr 10.88.0.0/16 meta l4proto icmp accept\n"
		"\t\treject with icmpx admin-prohibited\n\t}",
		"chain guard {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tiifname \"berth*\" ip daddr 127.0.0.0/8 drop\n\t}",
		"chain redirects {\n\t\ttype filter hook output priority filter; policy accept;\n"
		"\t\toifname \"berth*\" icmp type redirect drop\n\t}",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_contains(t, want[i]);
	assert_lacks(t, "sg-nowhere");
	assert_contains(list("list table bridge berth"),
			"chain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
			"\t\tiifname \"bv*\" oifname \"bv*\" ether type ip meta mark & 0x10000000 != 0x00000000 accept\n"
			"\t\tiifname \"bv*\" oifname \"bv*\" drop\n\t}");
	/* Without publish_localhost, no 127/8 masquerade. */
	c.publish_localhost = false;
	assert_int_equal(berth_nft_reconcile(nft, &c, NULL, 0, &err), 0);
	assert_lacks(list("list table inet berth"), "127.0.0.0/8 ip daddr");
}

static void test_reconcile_leases(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	struct berth_net_lease l[3];
	make_leases(&l[0], &l[1]);
	l[2] = l[0]; /* a stale lease with A's published port: dropped, not fatal */
	l[2].ip = IP(10, 88, 0, 6);
	struct berth_err err = {0};
	assert_int_equal(berth_nft_reconcile(nft, &c, l, 3, &err), 0);
	const char *t = list("list table inet berth");
	assert_a_present(t);
	assert_b_present(t);
	assert_contains(t, "10.88.0.6 . tcp . 80"); /* its declared ports stay */
	assert_lacks(t, "10.88.0.6 . 80");
	assert_lacks(t, "10.88.0.6 . 10.88.0.6");

	/* Stray elements and rules vanish on the next reconcile. */
	apply("add element inet berth open { 10.88.9.9 . tcp . 1 }\n"
	      "add element inet berth sg_0 { 10.88.9.9 }\n"
	      "add rule inet berth ingress accept\n"
	      "add rule bridge berth forward accept\n");
	assert_int_equal(berth_nft_reconcile(nft, &c, l, 2, &err), 0);
	t = list("list table inet berth");
	assert_lacks(t, "10.88.9.9");
	assert_lacks(t, "10.88.0.6");
	assert_lacks(t, "admin-prohibited\n\t\taccept");
	assert_a_present(t);
	assert_b_present(t);
	assert_lacks(list("list table bridge berth"), "drop\n\t\taccept");
	/* Empty again. */
	assert_int_equal(berth_nft_reconcile(nft, &c, NULL, 0, &err), 0);
	assert_lacks(list("list table inet berth"), "elements");
}

static void test_hostile_ids(void **state)
{
	(void)state;
	struct berth_sg_rule r = {.proto = BERTH_PROTO_ALL, .from_group = true,
				  .src_group = "x\" } ; delete table inet berth ; #"};
	struct berth_sg g[2] = {
		{.id = "x\" } ; delete table inet berth ; #", .rules = &r, .nrules = 1},
		{.id = "sg-\n\\ok", .name = "\"", .rules = NULL, .nrules = 0},
	};
	struct berth_net_config c;
	make_cfg(&c);
	c.groups = g;
	c.ngroups = 2;
	struct berth_err err = {0};
	char f[65];
	assert_int_equal(berth_nft_fingerprint(&c, f, &err), 0);
	assert_int_equal(berth_nft_reconcile(nft, &c, NULL, 0, &err), 0);
	const char *t = list("list table inet berth");
	assert_contains(t, "comment \"x______delete_table_inet_berth____\"");
	assert_contains(t, "comment \"sg-__ok\"");
	assert_contains(t, "ip daddr @sg_0 ip saddr @sg_0 accept");
	assert_contains(t, "reject with icmpx admin-prohibited");
	char *leasegroups[] = {g[0].id, NULL};
	struct berth_net_lease l = {.task_id = "dddddddddddd", .ip = IP(10, 88, 0, 11), .groups = leasegroups};
	assert_int_equal(berth_nft_task_add(nft, &c, &l, &err), 0);
	assert_contains(list("list set inet berth sg_0"), "10.88.0.11");
}

/* ------------------------------------------------- behaviour (namespaces) */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc != 0)
		fail_msg("`%s` exited %d", cmd, rc);
}

/* A task: a child in a namespace of its own, listening on ports. */
static pid_t task_spawn(const uint16_t *ports, size_t nports)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || unshare(CLONE_NEWNET) != 0)
			_exit(1);
		for (size_t i = 0; i < nports; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(ports[i])};
			if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 16) != 0)
				_exit(1);
		}
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

/* veth pair into the task, eth0 with MAC 02:00:<ip> and ip/16, default route via 10.88.0.1. */
static void task_wire(pid_t pid, const char *veth, uint32_t ip)
{
	char a[16];
	sh("ip link add %s type veth peer name eth0 netns %d && ip link set %s master berth0 up", veth, (int)pid, veth);
	sh("nsenter -t %d -n sh -c 'ip link set lo up && ip link set eth0 address 02:00:%02x:%02x:%02x:%02x "
	   "&& ip link set eth0 up && ip addr add %s/16 dev eth0 && ip route add default via 10.88.0.1'",
	   (int)pid, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, berth_ip_str(ip, a));
}

/* connect() from inside pid's namespace; 0 or the errno (ETIMEDOUT after 3 s). */
static int try_connect(pid_t pid, uint32_t ip, uint16_t port)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int there = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0 && there >= 0);
	assert_int_equal(setns(there, CLONE_NEWNET), 0);
	_cleanup_close_ int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	assert_true(s >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	struct pollfd pfd = {.fd = s, .events = POLLOUT};
	if (poll(&pfd, 1, 3000) != 1)
		return ETIMEDOUT;
	int e = 0;
	socklen_t len = sizeof(e);
	assert_int_equal(getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len), 0);
	return e;
}

static void test_behaviour(void **state)
{
	(void)state;
	/* "host": this process's private namespace, bridge berth0 10.88.0.1/16 with
	 * br_netfilter's call-iptables on when the kernel has it.  Tasks: A in
	 * sg-web (admits tcp 80 from 10/8) publishing 18080 -> 80, B in sg-db
	 * (admits tcp 5432 from sg-web) publishing 15432 -> 5432, C without
	 * groups declaring tcp 7000. */
	sh("ip link add berth0 type bridge && ip addr add 10.88.0.1/16 dev berth0 && ip link set berth0 up");
	sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.berth0.proxy_arp_pvlan=1 net.ipv4.neigh.berth0.proxy_delay=0 "
	   "net.ipv4.conf.berth0.send_redirects=0 net.ipv4.conf.all.send_redirects=0");
	bool brnf = access("/proc/sys/net/bridge/bridge-nf-call-iptables", F_OK) == 0;
	if (brnf)
		sh("sysctl -qw net.bridge.bridge-nf-call-iptables=1");
	static const uint16_t pa[] = {80}, pb[] = {5432, 6543}, pc[] = {7000, 7001};
	pid_t ta = task_spawn(pa, 1), tb = task_spawn(pb, 2), tc = task_spawn(pc, 2);
	task_wire(ta, "bvta", IP(10, 88, 0, 2));
	task_wire(tb, "bvtb", IP(10, 88, 0, 3));
	task_wire(tc, "bvtc", IP(10, 88, 0, 4));
	sh("ip link set bvta type bridge_slave hairpin on"); /* as berth_nl_veth_create does */

	struct berth_net_config c;
	make_cfg(&c);
	char *ga[] = {"sg-web", NULL}, *gb[] = {"sg-db", NULL};
	struct berth_port porta = {.proto = BERTH_PROTO_TCP, .ctr_port = 80, .host_port = 18080};
	struct berth_port portb = {.proto = BERTH_PROTO_TCP, .ctr_port = 5432, .host_port = 15432};
	struct berth_port portc = {.proto = BERTH_PROTO_TCP, .ctr_port = 7000};
	struct berth_net_lease l[3] = {
		{.task_id = "a", .ip = IP(10, 88, 0, 2), .groups = ga, .ports = &porta, .nports = 1},
		{.task_id = "b", .ip = IP(10, 88, 0, 3), .groups = gb, .ports = &portb, .nports = 1},
		{.task_id = "c", .ip = IP(10, 88, 0, 4), .ports = &portc, .nports = 1},
	};
	struct berth_err err = {0};
	assert_int_equal(berth_nft_reconcile(nft, &c, l, 2, &err), 0);
	assert_int_equal(berth_nft_task_add(nft, &c, &l[2], &err), 0);

	const uint32_t gw = IP(10, 88, 0, 1);
	struct {
		const char *what;
		pid_t from;
		uint32_t ip;
		uint16_t port;
		int want;
	} cases[] = {
		{"A -> B:5432 (sg-db admits sg-web)", ta, IP(10, 88, 0, 3), 5432, 0},
		{"A -> B:6543 (not admitted)", ta, IP(10, 88, 0, 3), 6543, EHOSTUNREACH},
		{"B -> A:80 (sg-web admits 10/8)", tb, IP(10, 88, 0, 2), 80, 0},
		{"A -> C:7000 (declared, no groups)", ta, IP(10, 88, 0, 4), 7000, 0},
		{"A -> C:7001 (not declared)", ta, IP(10, 88, 0, 4), 7001, EHOSTUNREACH},
		{"A -> gw:15432 -> B:5432 (DNAT, bridged by br_netfilter)", ta, gw, 15432, 0},
		{"C -> gw:15432 -> B:5432 (DNAT, C not in sg-web)", tc, gw, 15432, EHOSTUNREACH},
		{"A -> gw:18080 -> A:80 (hairpin)", ta, gw, 18080, 0},
		{"host -> gw:18080 -> A:80 (output DNAT)", getpid(), gw, 18080, 0},
	};
	size_t ncases = sizeof(cases) / sizeof(cases[0]);
	int got[sizeof(cases) / sizeof(cases[0]) + 2];
	for (size_t i = 0; i < ncases; i++)
		got[i] = try_connect(cases[i].from, cases[i].ip, cases[i].port);
	assert_int_equal(berth_nft_task_del(nft, &c, &l[2], &err), 0);
	got[ncases] = try_connect(ta, IP(10, 88, 0, 4), 7000);
	/* A forges layer 2: B's MAC for B's address, bypassing the host. */
	sh("nsenter -t %d -n ip neigh replace 10.88.0.3 lladdr 02:00:0a:58:00:03 dev eth0 nud permanent", (int)ta);
	got[ncases + 1] = try_connect(ta, IP(10, 88, 0, 3), 5432);

	pid_t all[] = {ta, tb, tc};
	for (size_t i = 0; i < 3; i++) {
		kill(all[i], SIGKILL);
		waitpid(all[i], NULL, 0);
	}
	sh("ip link del berth0");
	print_message("# br_netfilter call-iptables: %s\n", brnf ? "on" : "not in this kernel");
	bool ok = true;
	for (size_t i = 0; i < ncases + 2; i++) {
		const char *what = i < ncases ? cases[i].what
				   : i == ncases ? "A -> C:7000 after task_del"
						 : "A -> B:5432 straight to B's MAC (bridge table drops)";
		int want = i < ncases ? cases[i].want : i == ncases ? EHOSTUNREACH : ETIMEDOUT;
		print_message("# %-58s %s\n", what, got[i] ? strerror(got[i]) : "connected");
		ok &= got[i] == want;
	}
	assert_true(ok);
}

/* ------------------------------------------------------------- timing */

static double ms_since(uint64_t t0)
{
	return (double)(berth_now_ns() - t0) / 1e6;
}

/* Cost of one task_add + task_del with n other tasks present (printed only;
 * never asserted). */
static void test_timing(void **state)
{
	(void)state;
	struct berth_net_config c;
	make_cfg(&c);
	static const size_t sizes[] = {0, 100, 500};
	struct berth_net_lease *ls = calloc(500, sizeof(*ls));
	struct berth_port *ps = calloc(500 * 2, sizeof(*ps));
	assert_non_null(ls);
	assert_non_null(ps);
	static char *g0[] = {"sg-web", NULL};
	for (size_t i = 0; i < 500; i++) {
		ps[2 * i] = (struct berth_port){.proto = BERTH_PROTO_TCP, .ctr_port = 80, .host_port = (uint16_t)(20000 + i)};
		ps[2 * i + 1] = (struct berth_port){.proto = BERTH_PROTO_UDP, .ctr_port = 53};
		snprintf(ls[i].task_id, sizeof(ls[i].task_id), "%012zx", i);
		ls[i].ip = IP(10, 88, 2, 0) + (uint32_t)i;
		ls[i].ports = &ps[2 * i];
		ls[i].nports = 2;
		ls[i].groups = i % 2 ? g0 : NULL;
	}
	struct berth_net_lease probe = ls[0];
	probe.ip = IP(10, 88, 1, 1);
	struct berth_port pp[2] = {{.proto = BERTH_PROTO_TCP, .ctr_port = 80, .host_port = 30000},
				   {.proto = BERTH_PROTO_UDP, .ctr_port = 53}};
	probe.ports = pp;
	struct berth_err err = {0};
	for (size_t k = 0; k < 3; k++) {
		size_t n = sizes[k];
		assert_int_equal(destroy_default(&err), 0);
		uint64_t t0 = berth_now_ns();
		if (bridge_ok) {
			assert_int_equal(berth_nft_reconcile(nft, &c, ls, n, &err), 0);
		} else {
			install(&c);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(berth_nft_task_add(nft, &c, &ls[i], &err), 0);
		}
		double setup = ms_since(t0);
		enum { ROUNDS = 40 };
		double add = 0, del = 0;
		for (int i = 0; i < ROUNDS; i++) {
			t0 = berth_now_ns();
			assert_int_equal(berth_nft_task_add(nft, &c, &probe, &err), 0);
			add += ms_since(t0);
			t0 = berth_now_ns();
			assert_int_equal(berth_nft_task_del(nft, &c, &probe, &err), 0);
			del += ms_since(t0);
		}
		print_message("# nft with %3zu tasks: task_add %.3f ms, task_del %.3f ms (mean of %d); %s %.1f ms\n", n,
			      add / ROUNDS, del / ROUNDS, ROUNDS, bridge_ok ? "reconcile" : "setup by task_add",
			      setup);
	}
	free(ls);
	free(ps);
}

/* ------------------------------------------------------------------ main */

static bool probe_bridge(void)
{
	bool ok = nft_run_cmd_from_buffer(lister, "table bridge berth_probe {\n"
						  "chain f { type filter hook forward priority -200;\n"
						  "iifname \"x*\" drop; }\n}\n") == 0;
	if (ok)
		apply("delete table bridge berth_probe");
	return ok;
}

int main(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("1..0 # SKIP needs root (a private network namespace)\n");
		return 0;
	}
	lister = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!lister || nft_ctx_buffer_output(lister) != 0 || nft_ctx_buffer_error(lister) != 0)
		return 1;
	struct berth_err err = {0};
	if (berth_nft_open(&nft, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	bridge_ok = probe_bridge();
	if (!bridge_ok)
		printf("# this kernel lacks nft_meta_bridge: reconcile tests need the VM "
		       "(make vm-run CMD='build/tests/test_netns_nft')\n");
	struct CMUnitTest tests[16];
	size_t n = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_fingerprint, reset);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_bad_prefix, reset);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_missing_tables, reset);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_task_elements, reset);
	if (!bridge_ok) {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_reconcile_unsupported, reset);
	} else {
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_reconcile_skeleton, reset);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_reconcile_leases, reset);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_hostile_ids, reset);
		if (system("{ command -v ip && command -v nsenter && command -v sysctl; } >/dev/null") == 0)
			tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_behaviour, reset);
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup(test_timing, reset);
	int rc = _cmocka_run_group_tests("netns_nft", tests, n, NULL, NULL);
	destroy_default(&err);
	berth_nft_close(nft);
	nft_ctx_free(lister);
	for (size_t i = 0; i < 8; i++)
		free(listings[i]);
	return rc;
}

static int destroy_default(struct berth_err *err)
{
	struct berth_net_config d;
	berth_net_config_default(&d);
	return berth_nft_destroy(nft, &d, err);
}
