/* berth — the command-line entry point: global options and dispatch. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "scheduler/resources.h"
#include "tools/cli.h"
#include "tools/client.h"

#define BERTH_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: berth [--root DIR] [--config FILE] [--max-layer-size SIZE] COMMAND [ARGS...]\n"
		"\n"
		"Run containerized tasks on Linux without Docker.\n"
		"\n"
		"commands:\n"
		"  run [OPTIONS] IMAGE [CMD...]   run a container in the foreground\n"
		"  ps [-a]                        list containers (-a: include exited)\n"
		"  rm [-f] ID...                  remove exited containers\n"
		"  inspect ID...                  a container's record as JSON (network, ports, ...)\n"
		"  network ls                     task network leases (address, bridge, ports)\n"
		"  network prune                  free the networks of tasks that are gone\n"
		"  info                           host capacity, reservations, cgroup v2 status\n"
		"  image load [--name N] PATH     import an OCI layout directory or docker-save tarball\n"
		"  image ls [-q]                  list images\n"
		"  image rm NAME...               remove images\n"
		"\n"
		"berthd's ECS API (started on demand unless BERTH_NO_AUTOSTART=1; 'COMMAND --help'):\n"
		"  taskdef register FILE          register a task definition (ECS JSON)\n"
		"  taskdef ls|families            list revisions / family names\n"
		"  taskdef describe REF           a revision as JSON (REF: FAMILY[:REVISION] or ARN)\n"
		"  taskdef deregister FAMILY:REV  mark a revision INACTIVE\n"
		"  clusters                       berthd's clusters\n"
		"  (each takes --output table|json; exit status 0 done, 1 refused by berthd or\n"
		"  bad input, 2 usage, 125 berth or berthd failed, e.g. berthd not running)\n"
		"\n"
		"global options:\n"
		"  --root DIR            state directory (default %s, or $BERTH_ROOT)\n"
		"  --config FILE         configuration (default %s, or $BERTH_CONFIG)\n"
		"  --max-layer-size SIZE cap on a layer's uncompressed size, e.g. 8G\n"
		"                        (default 16G, or $BERTH_MAX_LAYER_SIZE)\n"
		"  --memory-reserve SIZE host memory kept back from tasks, e.g. 1GB\n"
		"                        (default max(256 MiB, 5%% of RAM), or $BERTH_MEMORY_RESERVE)\n"
		"  -h, --help            this text\n"
		"  --version             print the version\n"
		"\n"
		"Run 'berth COMMAND --help' for a command's options.\n",
		BERTH_DEFAULT_ROOT, BERTH_DEFAULT_CONFIG);
}

int cli_config(struct cli *c, struct berth_err *err)
{
	if (c->config_loaded)
		return 0;
	if (berth_conf_load(c->config_path, &c->config, err) < 0)
		return -1;
	c->config_loaded = true;
	return 0;
}

int cli_fail(const struct berth_err *err, int exit_code)
{
	fprintf(stderr, "berth: %s\n", err->msg[0] ? err->msg : "unknown error");
	return exit_code;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "berth: %s%s%s (see 'berth %s%s--help')\n", cmd ? cmd : "", cmd ? ": " : "",
		msg, cmd ? cmd : "", cmd ? " " : "");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"config", required_argument, NULL, 'c'},
		{"max-layer-size", required_argument, NULL, 'm'},
		{"memory-reserve", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct cli c = {.root = getenv("BERTH_ROOT"), .config_path = getenv("BERTH_CONFIG")};
	const char *max_layer = getenv("BERTH_MAX_LAYER_SIZE");
	const char *reserve = getenv("BERTH_MEMORY_RESERVE");
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'r': c.root = optarg; break;
		case 'c': c.config_path = optarg; break;
		case 'm': max_layer = optarg; break;
		case 'R': reserve = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("berth %s\n", BERTH_VERSION); return 0;
		default:
			return cli_usage_error(NULL, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!c.root || !*c.root)
		c.root = BERTH_DEFAULT_ROOT;
	if (c.root[0] != '/')
		return cli_usage_error(NULL, "--root %s: must be an absolute path", c.root);
	if (max_layer && berth_parse_size(max_layer, &c.max_layer_bytes) < 0)
		return cli_usage_error(NULL, "--max-layer-size %s: expected a size such as 512M or 8G",
				       max_layer);
	if (reserve) {
		struct berth_err rerr = {0};
		if (berth_parse_memory_mib(reserve, "--memory-reserve", &c.memory_reserve_mib, &rerr) < 0)
			return cli_usage_error(NULL, "%s", rerr.msg);
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0; /* reset getopt for the subcommand */
	if (c.config_path && !*c.config_path)
		c.config_path = NULL;
	int rc;
	if (!strcmp(cmd, "run"))
		rc = cmd_run(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "ps"))
		rc = cmd_ps(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "rm"))
		rc = cmd_rm(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "inspect"))
		rc = cmd_inspect(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "network"))
		rc = cmd_network(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "image") || !strcmp(cmd, "images"))
		rc = cmd_image(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "info"))
		rc = cmd_info(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "taskdef"))
		rc = cmd_taskdef(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "clusters"))
		rc = cmd_clusters(&c, sub_argc, sub_argv);
	else if (!strcmp(cmd, "help")) {
		usage(stdout);
		rc = 0;
	} else
		rc = cli_usage_error(NULL, "unknown command '%s'", cmd);
	if (c.config_loaded)
		berth_conf_free(&c.config);
	return rc;
}
