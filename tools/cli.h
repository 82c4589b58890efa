/* berth CLI — shared declarations of the subcommands. */
#ifndef BERTH_TOOLS_CLI_H
#define BERTH_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "scheduler/config.h"

#define BERTH_DEFAULT_ROOT "/var/lib/berth"

/* Exit code for berth's own failures (the container's code is passed through
 * by `berth run`); as docker does, 125. */
#define BERTH_EXIT_FAIL 125

struct cli {
	const char *root;           /* state root: --root, $BERTH_ROOT, or BERTH_DEFAULT_ROOT */
	uint64_t max_layer_bytes;   /* --max-layer-size / $BERTH_MAX_LAYER_SIZE, 0 = default */
	uint32_t memory_reserve_mib; /* --memory-reserve / $BERTH_MEMORY_RESERVE, 0 = default */
	const char *config_path;    /* --config / $BERTH_CONFIG, NULL = BERTH_DEFAULT_CONFIG */
	struct berth_conf config; /* loaded by cli_config() */
	bool config_loaded;
};

/* Load berth's configuration once (commands that need it call this). */
int cli_config(struct cli *c, struct berth_err *err);

/* Print "berth: <message>" as one line on stderr and return exit_code. */
int cli_fail(const struct berth_err *err, int exit_code);
/* Print "berth: <formatted>" plus a hint to run --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_image(struct cli *c, int argc, char **argv); /* argv[0] == "image" */
int cmd_run(struct cli *c, int argc, char **argv);   /* argv[0] == "run" */
int cmd_ps(struct cli *c, int argc, char **argv);
int cmd_rm(struct cli *c, int argc, char **argv);
int cmd_info(struct cli *c, int argc, char **argv);
int cmd_inspect(struct cli *c, int argc, char **argv);
int cmd_network(struct cli *c, int argc, char **argv); /* argv[0] == "network" */

#endif
