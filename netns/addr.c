/* berth netns/ — IPv4 address, protocol and port-spec helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netns/netns.h"

const char *berth_proto_name(int proto)
{
	switch (proto) {
	case BERTH_PROTO_TCP: return "tcp";
	case BERTH_PROTO_UDP: return "udp";
	case BERTH_PROTO_ICMP: return "icmp";
	case BERTH_PROTO_ALL: return "all";
	default: return "?";
	}
}

const char *berth_ip_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}

int berth_ip_parse(const char *s, uint32_t *ip, uint8_t *plen)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	if (!slash) {
		if (plen)
			*plen = 32;
		return 0;
	}
	if (!plen)
		return -1;
	const char *p = slash + 1;
	if (!*p || strlen(p) > 2 || strspn(p, "0123456789") != strlen(p) || (p[0] == '0' && p[1]))
		return -1;
	long v = strtol(p, NULL, 10);
	if (v < 0 || v > 32)
		return -1;
	*plen = (uint8_t)v;
	return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *out)
{
	if (n == 0 || n > 5)
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int berth_port_parse(const char *s, struct berth_port *out, struct berth_err *err)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int proto = BERTH_PROTO_TCP;
	if (slash) {
		if (strcmp(slash + 1, "tcp") == 0)
			proto = BERTH_PROTO_TCP;
		else if (strcmp(slash + 1, "udp") == 0)
			proto = BERTH_PROTO_UDP;
		else
			return berth_err_set(err, 0, "port \"%s\": protocol must be tcp or udp", s);
	}
	const char *colon = memchr(s, ':', n);
	struct berth_port p = {.proto = proto};
	if (colon) {
		if (memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
			return berth_err_set(err, 0,
					     "port \"%s\": binding to a host address is not supported; use HOSTPORT:CONTAINERPORT[/udp]",
					     s);
		if (parse_port(s, (size_t)(colon - s), &p.host_port) < 0 ||
		    parse_port(colon + 1, n - (size_t)(colon + 1 - s), &p.ctr_port) < 0)
			return berth_err_set(err, 0,
					     "port \"%s\": expected HOSTPORT:CONTAINERPORT[/udp] with ports from 1 to 65535",
					     s);
	} else if (parse_port(s, n, &p.ctr_port) < 0) {
		return berth_err_set(err, 0, "port \"%s\": expected HOSTPORT:CONTAINERPORT[/udp] with ports from 1 to 65535",
				     s);
	}
	*out = p;
	return 0;
}

bool berth_hostname_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= 63 && s[0] != '-' && s[0] != '.' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}
