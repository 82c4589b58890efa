/* berth inspect / berth network — a container's record, and the task
 * network's leases. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netns/netns.h"
#include "scheduler/container.h"
#include "tools/cli.h"

int cmd_inspect(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			printf("usage: berth inspect CONTAINER...\n\nPrint each container's record as JSON: image, "
			       "command, status, exit code, and its network (mode, ipv4Address, gateway, bridge, "
			       "macAddress, portMappings, securityGroups).\n");
			return 0;
		default: return cli_usage_error("inspect", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("inspect", "missing CONTAINER");
	int rc = 0;
	bool many = argc - optind > 1;
	if (many)
		printf("[\n");
	for (int i = optind; i < argc; i++) {
		struct berth_err err = {0};
		struct berth_ctr *k = NULL;
		if (berth_ctr_find(c->root, argv[i], &k, &err) < 0) {
			rc = cli_fail(&err, 1);
			continue;
		}
		char *j = berth_ctr_json(k, true);
		if (j)
			printf("%s%s\n", j, many && i + 1 < argc ? "," : "");
		free(j);
		berth_ctr_free(k);
	}
	if (many)
		printf("]\n");
	return rc;
}

static int network_ls(struct berth_net *n)
{
	struct berth_err err = {0};
	struct berth_net_lease *l = NULL;
	size_t cnt = 0;
	if (berth_net_leases(n, &l, &cnt, &err) < 0)
		return cli_fail(&err, 1);
	printf("%-12s  %-15s  %-10s  %-15s  %-8s  %s\n", "TASK", "ADDRESS", "BRIDGE", "VETH", "OWNER", "PORTS");
	for (size_t i = 0; i < cnt; i++) {
		char ip[16], ports[256] = "";
		size_t off = 0;
		for (size_t p = 0; p < l[i].nports && off < sizeof(ports); p++) {
			const struct berth_port *pt = &l[i].ports[p];
			if (pt->host_port)
				off += (size_t)snprintf(ports + off, sizeof(ports) - off, "%s%u->%u/%s", off ? "," : "",
							pt->host_port, pt->ctr_port, berth_proto_name(pt->proto));
			else
				off += (size_t)snprintf(ports + off, sizeof(ports) - off, "%s%u/%s", off ? "," : "",
							pt->ctr_port, berth_proto_name(pt->proto));
		}
		printf("%-12.12s  %-15s  %-10s  %-15s  %-8d  %s\n", l[i].task_id, berth_ip_str(l[i].ip, ip), l[i].bridge,
		       l[i].veth, (int)l[i].owner, ports);
	}
	berth_net_leases_free(l, cnt);
	return 0;
}

int cmd_network(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "usage: berth network ls | prune\n\n"
			   "  ls      every task network lease: task, address, bridge, host veth, owner, ports\n"
			   "  prune   free the networks of tasks whose owner is gone (addresses, host ports,\n"
			   "          veths, nftables elements, conntrack entries) and rebuild berth's\n"
			   "          nftables tables from the live leases\n");
		return argc < 2 ? 2 : 0;
	}
	if (argc > 2)
		return cli_usage_error("network", "unexpected argument '%s'", argv[2]);
	struct berth_err err = {0};
	if (cli_config(c, &err) < 0)
		return cli_fail(&err, 1);
	struct berth_net *n = NULL;
	if (berth_net_open(&c->config.net, &n, &err) < 0)
		return cli_fail(&err, 1);
	int rc;
	if (!strcmp(argv[1], "ls")) {
		rc = network_ls(n);
	} else if (!strcmp(argv[1], "prune")) {
		size_t freed = 0;
		rc = berth_net_sweep(n, &freed, &err) < 0 ? cli_fail(&err, 1) : 0;
		if (rc == 0)
			printf("freed %zu task network%s\n", freed, freed == 1 ? "" : "s");
	} else {
		rc = cli_usage_error("network", "unknown subcommand '%s' (ls, prune)", argv[1]);
	}
	berth_net_close(n);
	return rc;
}
