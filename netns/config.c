/* berth netns/ — the "network" section of berth's configuration.
 *
 *   "network": {
 *     "subnet": "10.88.0.0/16",            default: the first free of 10.88-10.95.0.0/16
 *     "bridgePrefix": "berth",             bridges berth0, berth1, ...; nft tables "berth"
 *     "bridgeSubnetPrefixLength": 23,      each bridge's slice of the subnet
 *     "mtu": 1500,                         default: the default-route interface's
 *     "dns": {"nameservers": [...], "search": [...]},   default: the host's
 *     "publishLocalhost": false,           published ports also on 127.0.0.1
 *     "stateDir": "/run/berth/net-berth",
 *     "securityGroups": [ EC2 SecurityGroup objects: GroupId, GroupName,
 *                         IpPermissions[{IpProtocol, FromPort, ToPort,
 *                         IpRanges[{CidrIp}], UserIdGroupPairs[{GroupId}]}] ]
 *   }
 *
 * The security groups are the shape `aws ec2 describe-security-groups`
 * prints, so real groups can be pasted in.  Anything berth cannot honour
 * (IPv6 ranges, prefix lists, egress restrictions, ICMP type filters) is
 * refused, never ignored.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/netns.h"

void berth_net_config_default(struct berth_net_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->bridge_prefix, sizeof(c->bridge_prefix), "berth");
	c->plen = 16;
	c->bridge_plen = 23;
}

static void sg_free(struct berth_sg *g)
{
	free(g->id);
	free(g->name);
	for (size_t i = 0; i < g->nrules; i++)
		free(g->rules[i].src_group);
	free(g->rules);
}

void berth_net_config_free(struct berth_net_config *c)
{
	berth_strv_free(c->dns);
	berth_strv_free(c->dns_search);
	free(c->state_dir);
	for (size_t i = 0; i < c->ngroups; i++)
		sg_free(&c->groups[i]);
	free(c->groups);
	berth_net_config_default(c);
}

const struct berth_sg *berth_net_config_group(const struct berth_net_config *c, const char *id)
{
	for (size_t i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].id, id) == 0)
			return &c->groups[i];
	return NULL;
}

/* Refuse keys not in `allowed` (and not in `ignored`, which are accepted
 * and have no effect: cosmetic fields of AWS's output). */
static int check_keys(const cJSON *obj, const char *const *allowed, const char *const *ignored, const char *where,
		      struct berth_err *err)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, it->string) == 0;
		for (const char *const *a = ignored; a && *a && !ok; a++)
			ok = strcmp(*a, it->string) == 0;
		if (!ok)
			return berth_err_set(err, 0, "%s: unknown key \"%s\"", where, it->string);
	}
	return 0;
}

static bool is_null(const cJSON *j)
{
	return !j || cJSON_IsNull(j);
}

static int get_string(const cJSON *obj, const char *key, const char *where, const char **out,
		      struct berth_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (is_null(j)) {
		*out = NULL;
		return 0;
	}
	if (!cJSON_IsString(j))
		return berth_err_set(err, 0, "%s: \"%s\" must be a string", where, key);
	*out = j->valuestring;
	return 0;
}

/* An integer, given as a JSON number or a numeric string (as AWS accepts). */
static int get_int(const cJSON *obj, const char *key, const char *where, long lo, long hi, bool *present,
		   long *out, struct berth_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	*present = !is_null(j);
	if (!*present)
		return 0;
	double v;
	if (cJSON_IsNumber(j)) {
		v = j->valuedouble;
	} else if (cJSON_IsString(j) && j->valuestring[0]) {
		char *end = NULL;
		errno = 0;
		v = (double)strtol(j->valuestring, &end, 10);
		if (errno || *end)
			return berth_err_set(err, 0, "%s: \"%s\" must be a number, not \"%s\"", where, key,
					     j->valuestring);
	} else {
		return berth_err_set(err, 0, "%s: \"%s\" must be a number", where, key);
	}
	if (v != (double)(long)v || v < (double)lo || v > (double)hi)
		return berth_err_set(err, 0, "%s: \"%s\" must be an integer from %ld to %ld", where, key, lo, hi);
	*out = (long)v;
	return 0;
}

static int get_bool(const cJSON *obj, const char *key, const char *where, bool *out, struct berth_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (is_null(j))
		return 0;
	if (!cJSON_IsBool(j))
		return berth_err_set(err, 0, "%s: \"%s\" must be true or false", where, key);
	*out = cJSON_IsTrue(j);
	return 0;
}

static int get_strv(const cJSON *obj, const char *key, const char *where, size_t maxlen, char ***out,
		    struct berth_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (is_null(j))
		return 0;
	if (!cJSON_IsArray(j))
		return berth_err_set(err, 0, "%s: \"%s\" must be an array of strings", where, key);
	int n = cJSON_GetArraySize(j);
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		return berth_err_set(err, ENOMEM, "%s", where);
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, j) {
		if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > maxlen ||
		    strpbrk(it->valuestring, " \t\r\n#;")) {
			berth_strv_free(v);
			return berth_err_set(err, 0, "%s: \"%s\"[%d] must be a non-empty word of at most %zu characters",
					     where, key, i, maxlen);
		}
		if (!(v[i++] = strdup(it->valuestring))) {
			berth_strv_free(v);
			return berth_err_set(err, ENOMEM, "%s", where);
		}
	}
	berth_strv_free(*out);
	*out = v;
	return 0;
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int parse_proto(const cJSON *perm, const char *where, int *proto, struct berth_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(perm, "IpProtocol");
	char buf[16];
	const char *s;
	if (cJSON_IsNumber(j)) {
		snprintf(buf, sizeof(buf), "%d", (int)j->valuedouble);
		s = buf;
	} else if (cJSON_IsString(j)) {
		s = j->valuestring;
	} else {
		return berth_err_set(err, 0, "%s: \"IpProtocol\" is required (tcp, udp, icmp or -1)", where);
	}
	if (!strcmp(s, "tcp") || !strcmp(s, "6"))
		*proto = BERTH_PROTO_TCP;
	else if (!strcmp(s, "udp") || !strcmp(s, "17"))
		*proto = BERTH_PROTO_UDP;
	else if (!strcmp(s, "icmp") || !strcmp(s, "1"))
		*proto = BERTH_PROTO_ICMP;
	else if (!strcmp(s, "-1") || !strcmp(s, "all"))
		*proto = BERTH_PROTO_ALL;
	else
		return berth_err_set(err, 0, "%s: IpProtocol \"%s\" is not supported (tcp, udp, icmp or -1)", where, s);
	return 0;
}

static int add_rule(struct berth_sg *g, const struct berth_sg_rule *r, struct berth_err *err)
{
	struct berth_sg_rule *nr = realloc(g->rules, (g->nrules + 1) * sizeof(*nr));
	if (!nr)
		return berth_err_set(err, ENOMEM, "security group %s", g->id);
	g->rules = nr;
	g->rules[g->nrules++] = *r;
	return 0;
}

static int nonempty_array(const cJSON *obj, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsArray(j) && cJSON_GetArraySize(j) > 0;
}

static int parse_permission(const cJSON *perm, const char *where, struct berth_sg *g, struct berth_err *err)
{
	static const char *const keys[] = {"IpProtocol", "FromPort", "ToPort", "IpRanges", "UserIdGroupPairs",
					   "Ipv6Ranges", "PrefixListIds", NULL};
	if (!cJSON_IsObject(perm))
		return berth_err_set(err, 0, "%s must be an object", where);
	if (check_keys(perm, keys, NULL, where, err) < 0)
		return -1;
	if (nonempty_array(perm, "Ipv6Ranges") || nonempty_array(perm, "PrefixListIds"))
		return berth_err_set(err, 0, "%s: IPv6 ranges and prefix lists are not supported (task networks are IPv4)",
				     where);
	struct berth_sg_rule base = {0};
	if (parse_proto(perm, where, &base.proto, err) < 0)
		return -1;
	long from = -1, to = -1;
	bool has_from, has_to;
	if (get_int(perm, "FromPort", where, -1, 65535, &has_from, &from, err) < 0 ||
	    get_int(perm, "ToPort", where, -1, 65535, &has_to, &to, err) < 0)
		return -1;
	if (base.proto == BERTH_PROTO_TCP || base.proto == BERTH_PROTO_UDP) {
		if (!has_from || !has_to)
			return berth_err_set(err, 0, "%s: FromPort and ToPort are required for %s", where,
					     berth_proto_name(base.proto));
		if (from == -1 && to == -1)
			from = 0, to = 65535;
		if (from < 0 || to < 0 || from > to)
			return berth_err_set(err, 0, "%s: port range %ld-%ld is invalid (FromPort <= ToPort, 0-65535)",
					     where, from, to);
		base.from = (uint16_t)from;
		base.to = (uint16_t)to;
	} else {
		if (base.proto == BERTH_PROTO_ICMP && ((has_from && from != -1) || (has_to && to != -1)))
			return berth_err_set(err, 0,
					     "%s: ICMP type filters are not supported; use FromPort -1 and ToPort -1 (all ICMP)",
					     where);
		base.from = 0;
		base.to = 65535;
	}

	size_t before = g->nrules;
	const cJSON *ranges = cJSON_GetObjectItemCaseSensitive(perm, "IpRanges"), *it;
	if (!is_null(ranges) && !cJSON_IsArray(ranges))
		return berth_err_set(err, 0, "%s: \"IpRanges\" must be an array", where);
	int i = 0;
	cJSON_ArrayForEach(it, ranges) {
		char w[256];
		snprintf(w, sizeof(w), "%s.IpRanges[%d]", where, i++);
		static const char *const rkeys[] = {"CidrIp", NULL};
		static const char *const rign[] = {"Description", NULL};
		const char *cidr = NULL;
		if (!cJSON_IsObject(it) || check_keys(it, rkeys, rign, w, err) < 0 ||
		    get_string(it, "CidrIp", w, &cidr, err) < 0)
			return cJSON_IsObject(it) ? -1 : berth_err_set(err, 0, "%s must be an object", w);
		struct berth_sg_rule r = base;
		if (!cidr || berth_ip_parse(cidr, &r.cidr, &r.cidr_plen) < 0 || !strchr(cidr, '/'))
			return berth_err_set(err, 0, "%s: \"CidrIp\" must be an IPv4 CIDR such as 10.0.0.0/8, not \"%s\"",
					     w, cidr ? cidr : "");
		uint32_t mask = r.cidr_plen ? ~0u << (32 - r.cidr_plen) : 0;
		if (r.cidr & ~mask)
			return berth_err_set(err, 0, "%s: %s has host bits set", w, cidr);
		if (add_rule(g, &r, err) < 0)
			return -1;
	}
	const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(perm, "UserIdGroupPairs");
	if (!is_null(pairs) && !cJSON_IsArray(pairs))
		return berth_err_set(err, 0, "%s: \"UserIdGroupPairs\" must be an array", where);
	i = 0;
	cJSON_ArrayForEach(it, pairs) {
		char w[256];
		snprintf(w, sizeof(w), "%s.UserIdGroupPairs[%d]", where, i++);
		static const char *const pkeys[] = {"GroupId", NULL};
		static const char *const pign[] = {"Description", "UserId", "GroupName", "VpcId", "VpcPeeringConnectionId",
						   "PeeringStatus", NULL};
		const char *gid = NULL;
		if (!cJSON_IsObject(it))
			return berth_err_set(err, 0, "%s must be an object", w);
		if (check_keys(it, pkeys, pign, w, err) < 0 || get_string(it, "GroupId", w, &gid, err) < 0)
			return -1;
		if (!gid || !valid_id(gid))
			return berth_err_set(err, 0, "%s: \"GroupId\" must be 1-64 characters of [A-Za-z0-9_.-]", w);
		struct berth_sg_rule r = base;
		r.from_group = true;
		if (!(r.src_group = strdup(gid)))
			return berth_err_set(err, ENOMEM, "%s", w);
		if (add_rule(g, &r, err) < 0) {
			free(r.src_group);
			return -1;
		}
	}
	if (g->nrules == before)
		return berth_err_set(err, 0, "%s: no source: give IpRanges or UserIdGroupPairs", where);
	return 0;
}

/* Egress rules: only AWS's default (everything to everywhere) is honoured. */
static int check_egress(const cJSON *sg, const char *where, struct berth_err *err)
{
	const cJSON *eg = cJSON_GetObjectItemCaseSensitive(sg, "IpPermissionsEgress"), *it;
	if (is_null(eg))
		return 0;
	if (!cJSON_IsArray(eg))
		return berth_err_set(err, 0, "%s: \"IpPermissionsEgress\" must be an array", where);
	cJSON_ArrayForEach(it, eg) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "IpProtocol");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "IpRanges");
		const cJSON *c = cJSON_GetArrayItem(r, 0);
		const cJSON *ci = cJSON_GetObjectItemCaseSensitive(c, "CidrIp");
		bool all = cJSON_IsString(p) && !strcmp(p->valuestring, "-1") && cJSON_GetArraySize(r) == 1 &&
			   cJSON_IsString(ci) && !strcmp(ci->valuestring, "0.0.0.0/0");
		if (!all)
			return berth_err_set(err, 0,
					     "%s: egress rules other than allow-all are not supported (tasks may reach any "
					     "address); remove \"IpPermissionsEgress\"",
					     where);
	}
	return 0;
}

static int parse_groups(const cJSON *arr, const char *where, struct berth_net_config *c, struct berth_err *err)
{
	if (!cJSON_IsArray(arr))
		return berth_err_set(err, 0, "%s: \"securityGroups\" must be an array of EC2 SecurityGroup objects", where);
	int n = cJSON_GetArraySize(arr);
	if (n > 256)
		return berth_err_set(err, 0, "%s: at most 256 security groups", where);
	c->groups = calloc((size_t)n + 1, sizeof(*c->groups));
	if (!c->groups)
		return berth_err_set(err, ENOMEM, "%s", where);
	const cJSON *sg;
	int i = 0;
	cJSON_ArrayForEach(sg, arr) {
		char w[192];
		snprintf(w, sizeof(w), "%s: securityGroups[%d]", where, i++);
		static const char *const keys[] = {"GroupId", "GroupName", "IpPermissions", "IpPermissionsEgress", NULL};
		static const char *const ign[] = {"Description", "OwnerId", "VpcId", "Tags", "SecurityGroupArn", NULL};
		if (!cJSON_IsObject(sg))
			return berth_err_set(err, 0, "%s must be an object", w);
		if (check_keys(sg, keys, ign, w, err) < 0 || check_egress(sg, w, err) < 0)
			return -1;
		const char *id = NULL, *name = NULL;
		if (get_string(sg, "GroupId", w, &id, err) < 0 || get_string(sg, "GroupName", w, &name, err) < 0)
			return -1;
		if (!id || !valid_id(id))
			return berth_err_set(err, 0, "%s: \"GroupId\" is required: 1-64 characters of [A-Za-z0-9_.-]", w);
		if (berth_net_config_group(c, id))
			return berth_err_set(err, 0, "%s: GroupId \"%s\" is defined twice", w, id);
		struct berth_sg *g = &c->groups[c->ngroups++];
		if (!(g->id = strdup(id)) || (name && !(g->name = strdup(name))))
			return berth_err_set(err, ENOMEM, "%s", w);
		snprintf(w, sizeof(w), "%s: security group %s", where, id);
		const cJSON *perms = cJSON_GetObjectItemCaseSensitive(sg, "IpPermissions"), *perm;
		if (!is_null(perms) && !cJSON_IsArray(perms))
			return berth_err_set(err, 0, "%s: \"IpPermissions\" must be an array", w);
		int k = 0;
		cJSON_ArrayForEach(perm, perms) {
			char pw[224];
			snprintf(pw, sizeof(pw), "%s: IpPermissions[%d]", w, k++);
			if (parse_permission(perm, pw, g, err) < 0)
				return -1;
		}
	}
	/* Source groups must exist. */
	for (size_t gi = 0; gi < c->ngroups; gi++)
		for (size_t r = 0; r < c->groups[gi].nrules; r++)
			if (c->groups[gi].rules[r].from_group && !berth_net_config_group(c, c->groups[gi].rules[r].src_group))
				return berth_err_set(err, 0,
						     "%s: security group %s allows traffic from group \"%s\", which is not "
						     "defined in \"securityGroups\"",
						     where, c->groups[gi].id, c->groups[gi].rules[r].src_group);
	return 0;
}

static int parse_subnet(const char *s, const char *where, struct berth_net_config *c, struct berth_err *err)
{
	uint32_t ip;
	uint8_t plen;
	if (berth_ip_parse(s, &ip, &plen) < 0 || !strchr(s, '/'))
		return berth_err_set(err, 0, "%s: subnet \"%s\" is not an IPv4 CIDR such as 10.88.0.0/16", where, s);
	if (plen < 8 || plen > 30)
		return berth_err_set(err, 0, "%s: subnet \"%s\": the prefix length must be from 8 to 30", where, s);
	uint32_t mask = ~0u << (32 - plen);
	if (ip & ~mask) {
		char b[16];
		return berth_err_set(err, 0, "%s: subnet \"%s\" has host bits set; did you mean %s/%u?", where, s,
				     berth_ip_str(ip & mask, b), plen);
	}
	uint8_t top = (uint8_t)(ip >> 24);
	if (top == 0 || top == 127 || top >= 224 || (ip & 0xffff0000u) == 0xa9fe0000u)
		return berth_err_set(err, 0,
				     "%s: subnet \"%s\" is not usable for tasks (this-network, loopback, link-local or "
				     "multicast); use a private range such as 10.88.0.0/16",
				     where, s);
	c->subnet = ip;
	c->plen = plen;
	c->subnet_set = true;
	return 0;
}

int berth_net_config_parse(const cJSON *net, const char *where, struct berth_net_config *out, struct berth_err *err)
{
	static const char *const keys[] = {"subnet", "bridgePrefix", "bridgeSubnetPrefixLength", "mtu", "dns",
					   "publishLocalhost", "stateDir", "securityGroups", NULL};
	struct berth_net_config c;
	berth_net_config_default(&c);
	char w[160];
	snprintf(w, sizeof(w), "%s: network", where);
	if (is_null(net))
		goto done;
	if (!cJSON_IsObject(net)) {
		berth_err_set(err, 0, "%s must be an object", w);
		goto fail;
	}
	if (check_keys(net, keys, NULL, w, err) < 0)
		goto fail;
	const char *s;
	if (get_string(net, "subnet", w, &s, err) < 0 || (s && parse_subnet(s, w, &c, err) < 0))
		goto fail;
	if (get_string(net, "bridgePrefix", w, &s, err) < 0)
		goto fail;
	if (s) {
		size_t n = strlen(s);
		if (n < 1 || n > 10 || !(s[0] >= 'a' && s[0] <= 'z') ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n || (s[n - 1] >= '0' && s[n - 1] <= '9')) {
			berth_err_set(err, 0,
				      "%s: bridgePrefix \"%s\" must be 1-10 characters of [a-z0-9-], starting with a "
				      "letter and not ending in a digit",
				      w, s);
			goto fail;
		}
		snprintf(c.bridge_prefix, sizeof(c.bridge_prefix), "%s", s);
	}
	long v;
	bool has;
	if (get_int(net, "bridgeSubnetPrefixLength", w, 8, 30, &has, &v, err) < 0)
		goto fail;
	if (has)
		c.bridge_plen = (uint8_t)v;
	if (get_int(net, "mtu", w, 576, 65535, &has, &v, err) < 0)
		goto fail;
	if (has)
		c.mtu = (uint32_t)v;
	if (get_bool(net, "publishLocalhost", w, &c.publish_localhost, err) < 0)
		goto fail;
	if (get_string(net, "stateDir", w, &s, err) < 0)
		goto fail;
	if (s) {
		if (s[0] != '/') {
			berth_err_set(err, 0, "%s: stateDir \"%s\" must be an absolute path", w, s);
			goto fail;
		}
		if (!(c.state_dir = strdup(s))) {
			berth_err_set(err, ENOMEM, "%s", w);
			goto fail;
		}
	}
	const cJSON *dns = cJSON_GetObjectItemCaseSensitive(net, "dns");
	if (!is_null(dns)) {
		static const char *const dkeys[] = {"nameservers", "search", NULL};
		char dw[192];
		snprintf(dw, sizeof(dw), "%s.dns", w);
		if (!cJSON_IsObject(dns)) {
			berth_err_set(err, 0, "%s must be an object", dw);
			goto fail;
		}
		if (check_keys(dns, dkeys, NULL, dw, err) < 0 || get_strv(dns, "nameservers", dw, 45, &c.dns, err) < 0 ||
		    get_strv(dns, "search", dw, 253, &c.dns_search, err) < 0)
			goto fail;
		for (char **p = c.dns; p && *p; p++) {
			uint32_t ip;
			if (berth_ip_parse(*p, &ip, NULL) < 0) {
				berth_err_set(err, 0, "%s: nameserver \"%s\" is not an IPv4 address", dw, *p);
				goto fail;
			}
		}
	}
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(net, "securityGroups");
	if (!is_null(groups) && parse_groups(groups, w, &c, err) < 0)
		goto fail;
done:
	if (c.subnet_set && c.bridge_plen < c.plen)
		c.bridge_plen = c.plen;
	if (c.bridge_plen > 30) {
		berth_err_set(err, 0, "%s: bridgeSubnetPrefixLength must be at most 30", w);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	berth_net_config_free(&c);
	return -1;
}
