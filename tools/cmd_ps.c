/* berth ps / berth rm — list and remove containers. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "scheduler/container.h"
#include "tools/cli.h"

static void ago(int64_t t, char *buf, size_t len)
{
	int64_t d = (int64_t)time(NULL) - t;
	if (d < 0)
		d = 0;
	if (d < 60)
		snprintf(buf, len, "%llds ago", (long long)d);
	else if (d < 3600)
		snprintf(buf, len, "%lldm ago", (long long)(d / 60));
	else if (d < 86400)
		snprintf(buf, len, "%lldh ago", (long long)(d / 3600));
	else
		snprintf(buf, len, "%lldd ago", (long long)(d / 86400));
}

int cmd_ps(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool all = false, quiet = false;
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "aqh", opts, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'h': printf("usage: berth ps [-a|--all] [-q|--quiet]\n"); return 0;
		default: return cli_usage_error("ps", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("ps", "unexpected argument '%s'", argv[optind]);
	struct berth_err err = {0};
	struct berth_ctr **v = NULL;
	size_t n = 0;
	if (berth_ctr_list(c->root, &v, &n, &err) < 0)
		return cli_fail(&err, 1);
	if (!quiet)
		printf("%-12s  %-20s  %-24s  %-22s  %-15s  %-20s  %s\n", "CONTAINER ID", "IMAGE", "COMMAND",
		       "STATUS", "ADDRESS", "PORTS", "NAME");
	for (size_t i = 0; i < n; i++) {
		struct berth_ctr *k = v[i];
		if (all || k->status == BERTH_CTR_RUNNING) {
			if (quiet) {
				printf("%s\n", k->id);
			} else {
				char status[64], when[32], cmd[25] = "";
				if (k->status == BERTH_CTR_RUNNING) {
					ago(k->started, when, sizeof(when));
					snprintf(status, sizeof(status), "running (since %s)", when);
				} else if (k->status == BERTH_CTR_EXITED) {
					ago(k->finished ? k->finished : k->created, when, sizeof(when));
					if (k->exit_code >= 0)
						snprintf(status, sizeof(status), "exited (%d) %s", k->exit_code, when);
					else
						snprintf(status, sizeof(status), "exited (unknown)");
				} else {
					snprintf(status, sizeof(status), "created");
				}
				size_t off = 0;
				for (size_t j = 0; k->command[j] && off < sizeof(cmd) - 1; j++)
					off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%s%s", j ? " " : "",
								k->command[j]);
				char ports[64] = "";
				size_t po = 0;
				for (size_t j = 0; j < k->nports && po < sizeof(ports); j++)
					if (k->ports[j].host_port)
						po += (size_t)snprintf(ports + po, sizeof(ports) - po, "%s%u->%u/%s",
								       po ? "," : "", k->ports[j].host_port,
								       k->ports[j].ctr_port,
								       berth_proto_name(k->ports[j].proto));
				const char *addr = k->status != BERTH_CTR_RUNNING ? ""
						   : k->net_mode == BERTH_NET_NONE ? "none"
										   : k->ip;
				printf("%-12.12s  %-20.20s  %-24.24s  %-22s  %-15s  %-20s  %s\n", k->id, k->image, cmd,
				       status, addr, ports, k->name ? k->name : "");
			}
		}
		berth_ctr_free(k);
	}
	free(v);
	return 0;
}

int cmd_rm(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool force = false;
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (o) {
		case 'f': force = true; break;
		case 'h': printf("usage: berth rm [-f|--force] CONTAINER...\n"); return 0;
		default: return cli_usage_error("rm", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("rm", "missing CONTAINER");
	int rc = 0;
	/* The network configuration tears the containers' networks down. */
	struct berth_err cerr = {0};
	bool have_config = cli_config(c, &cerr) == 0;
	if (!have_config) /* still remove: the network sweep frees what the record held */
		fprintf(stderr, "berth: warning: %s; task networks are left to the next sweep\n", cerr.msg);
	for (int i = optind; i < argc; i++) {
		struct berth_err err = {0};
		struct berth_ctr *k = NULL;
		if (berth_ctr_find(c->root, argv[i], &k, &err) < 0) {
			rc = cli_fail(&err, 1);
			continue;
		}
		if (k->status == BERTH_CTR_RUNNING) {
			if (!force) {
				berth_err_set(&err, 0,
					      "container %.12s is running: stop it first, or use 'berth rm -f'",
					      k->id);
				rc = cli_fail(&err, 1);
				berth_ctr_free(k);
				continue;
			}
			/* The record's pid was checked against its start time when loaded. */
			int pidfd = (int)syscall(SYS_pidfd_open, k->pid, 0);
			if (pidfd >= 0) {
				syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
				close(pidfd);
			}
		}
		k->net_config = have_config ? &c->config.net : NULL;
		if (berth_ctr_remove(k, &err) < 0)
			rc = cli_fail(&err, 1);
		else
			printf("%s\n", k->id);
		berth_ctr_free(k);
	}
	return rc;
}
