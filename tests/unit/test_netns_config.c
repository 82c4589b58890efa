/* Unit tests: the "network" configuration section and port specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "netns/netns.h"

static int parse(const char *json, struct berth_net_config *c, struct berth_err *err)
{
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	int r = berth_net_config_parse(j, "test.json", c, err);
	cJSON_Delete(j);
	return r;
}

static void test_defaults(void **state)
{
	(void)state;
	struct berth_net_config c;
	struct berth_err err = {0};
	assert_int_equal(berth_net_config_parse(NULL, "x", &c, &err), 0);
	assert_string_equal(c.bridge_prefix, "berth");
	assert_false(c.subnet_set);
	assert_int_equal(c.bridge_plen, 23);
	assert_false(c.publish_localhost);
	berth_net_config_free(&c);
}

static void test_full(void **state)
{
	(void)state;
	struct berth_net_config c;
	struct berth_err err = {0};
	int r = parse("{\"subnet\": \"10.50.0.0/20\", \"bridgePrefix\": \"tb\", \"bridgeSubnetPrefixLength\": \"24\","
		      " \"mtu\": 1400, \"publishLocalhost\": true, \"dns\": {\"nameservers\": [\"10.0.0.2\"],"
		      " \"search\": [\"a.example\"]}, \"securityGroups\": ["
		      "{\"GroupId\": \"sg-1\", \"GroupName\": \"web\", \"Description\": \"d\", \"VpcId\": \"vpc-1\","
		      " \"IpPermissions\": [{\"IpProtocol\": \"tcp\", \"FromPort\": 80, \"ToPort\": 81,"
		      " \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\", \"Description\": \"all\"}],"
		      " \"UserIdGroupPairs\": [{\"GroupId\": \"sg-2\", \"UserId\": \"123\"}]},"
		      " {\"IpProtocol\": \"-1\", \"IpRanges\": [{\"CidrIp\": \"10.0.0.0/8\"}]},"
		      " {\"IpProtocol\": \"icmp\", \"FromPort\": -1, \"ToPort\": -1, \"IpRanges\": [{\"CidrIp\": \"10.1.0.0/16\"}]}],"
		      " \"IpPermissionsEgress\": [{\"IpProtocol\": \"-1\", \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}]}]},"
		      "{\"GroupId\": \"sg-2\", \"IpPermissions\": null}]}",
		      &c, &err);
	assert_int_equal(r, 0);
	assert_true(c.subnet_set);
	assert_int_equal(c.subnet, 0x0a320000u);
	assert_int_equal(c.plen, 20);
	assert_int_equal(c.bridge_plen, 24);
	assert_int_equal(c.mtu, 1400);
	assert_true(c.publish_localhost);
	assert_string_equal(c.bridge_prefix, "tb");
	assert_string_equal(c.dns[0], "10.0.0.2");
	assert_string_equal(c.dns_search[0], "a.example");
	assert_int_equal(c.ngroups, 2);
	const struct berth_sg *g = berth_net_config_group(&c, "sg-1");
	assert_non_null(g);
	assert_string_equal(g->name, "web");
	assert_int_equal(g->nrules, 4);
	assert_int_equal(g->rules[0].proto, BERTH_PROTO_TCP);
	assert_int_equal(g->rules[0].from, 80);
	assert_int_equal(g->rules[0].to, 81);
	assert_false(g->rules[0].from_group);
	assert_int_equal(g->rules[0].cidr_plen, 0);
	assert_true(g->rules[1].from_group);
	assert_string_equal(g->rules[1].src_group, "sg-2");
	assert_int_equal(g->rules[2].proto, BERTH_PROTO_ALL);
	assert_int_equal(g->rules[3].proto, BERTH_PROTO_ICMP);
	assert_null(berth_net_config_group(&c, "sg-3"));
	berth_net_config_free(&c);
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{"[]", "must be an object"},
		{"{\"subnet\": \"10.0.0.1/8\"}", "did you mean 10.0.0.0/8"},
		{"{\"subnet\": \"10.0.0.0\"}", "not an IPv4 CIDR"},
		{"{\"subnet\": \"10.0.0.0/31\"}", "from 8 to 30"},
		{"{\"subnet\": \"169.254.0.0/16\"}", "not usable"},
		{"{\"subnet\": 10}", "must be a string"},
		{"{\"mtu\": 100}", "mtu"},
		{"{\"mtu\": \"12x\"}", "must be a number"},
		{"{\"bridgePrefix\": \"br0\"}", "not ending in a digit"},
		{"{\"bridgePrefix\": \"averyverylongprefix\"}", "1-10 characters"},
		{"{\"publishLocalhost\": \"yes\"}", "true or false"},
		{"{\"stateDir\": \"relative\"}", "absolute"},
		{"{\"dns\": {\"nameservers\": [\"::1\"]}}", "not an IPv4 address"},
		{"{\"dns\": {\"nameservers\": [\"1.1.1.1; rm\"]}}", "non-empty word"},
		{"{\"dns\": {\"servers\": []}}", "unknown key \"servers\""},
		{"{\"extra\": 1}", "unknown key \"extra\""},
		{"{\"securityGroups\": {}}", "must be an array"},
		{"{\"securityGroups\": [{\"GroupName\": \"x\"}]}", "\"GroupId\" is required"},
		{"{\"securityGroups\": [{\"GroupId\": \"a b\"}]}", "GroupId"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\"}, {\"GroupId\": \"a\"}]}", "defined twice"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\", \"IpPermissions\": [{\"IpProtocol\": \"sctp\"}]}]}", "sctp"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\", \"IpPermissions\": [{\"IpProtocol\": \"tcp\", \"FromPort\": 1,"
		 " \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}]}]}]}",
		 "FromPort and ToPort are required"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\", \"IpPermissions\": [{\"IpProtocol\": \"tcp\", \"FromPort\": 1,"
		 " \"ToPort\": 2}]}]}",
		 "no source"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\", \"IpPermissions\": [{\"IpProtocol\": \"tcp\", \"FromPort\": 1,"
		 " \"ToPort\": 2, \"IpRanges\": [{\"CidrIp\": \"10.0.0.1/8\"}]}]}]}",
		 "host bits"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\", \"IpPermissions\": [{\"IpProtocol\": \"icmp\", \"FromPort\": 8,"
		 " \"ToPort\": 0, \"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}]}]}]}",
		 "ICMP type filters"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\", \"IpPermissions\": [{\"IpProtocol\": \"tcp\", \"FromPort\": 1,"
		 " \"ToPort\": 2, \"PrefixListIds\": [{\"PrefixListId\": \"pl-1\"}]}]}]}",
		 "prefix lists"},
		{"{\"securityGroups\": [{\"GroupId\": \"a\", \"Owner\": \"x\"}]}", "unknown key \"Owner\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct berth_net_config c;
		struct berth_err err = {0};
		assert_int_equal(parse(cases[i].json, &c, &err), -1);
		if (!strstr(err.msg, cases[i].needle))
			fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err.msg, cases[i].needle);
		assert_non_null(strstr(err.msg, "test.json"));
	}
}

static void test_ports(void **state)
{
	(void)state;
	struct berth_port p;
	struct berth_err err = {0};
	assert_int_equal(berth_port_parse("8080:80", &p, &err), 0);
	assert_int_equal(p.host_port, 8080);
	assert_int_equal(p.ctr_port, 80);
	assert_int_equal(p.proto, BERTH_PROTO_TCP);
	assert_int_equal(berth_port_parse("53:5353/udp", &p, &err), 0);
	assert_int_equal(p.proto, BERTH_PROTO_UDP);
	assert_int_equal(p.ctr_port, 5353);
	assert_int_equal(berth_port_parse("9000/tcp", &p, &err), 0);
	assert_int_equal(p.host_port, 0);
	assert_int_equal(p.ctr_port, 9000);
	static const char *const bad[] = {"", "0", "65536", "1:0", ":80", "80:", "a:b", "1:2:3", "80/sctp",
					  "-1", "08x", "123456"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		berth_err_clear(&err);
		if (berth_port_parse(bad[i], &p, &err) == 0)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_non_null(strstr(err.msg, bad[i]));
	}
}

static void test_ip(void **state)
{
	(void)state;
	uint32_t ip;
	uint8_t plen;
	char buf[16];
	assert_int_equal(berth_ip_parse("192.168.1.2/24", &ip, &plen), 0);
	assert_int_equal(plen, 24);
	assert_string_equal(berth_ip_str(ip, buf), "192.168.1.2");
	assert_int_equal(berth_ip_parse("10.0.0.1", &ip, NULL), 0);
	assert_int_equal(berth_ip_parse("10.0.0.1/8", &ip, NULL), -1);
	assert_int_equal(berth_ip_parse("10.0.0.1/33", &ip, &plen), -1);
	assert_int_equal(berth_ip_parse("10.0.0.1/08", &ip, &plen), -1);
	assert_int_equal(berth_ip_parse("300.0.0.1", &ip, &plen), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_full), cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ports),    cmocka_unit_test(test_ip),
	};
	return cmocka_run_group_tests_name("netns_config", tests, NULL, NULL);
}
