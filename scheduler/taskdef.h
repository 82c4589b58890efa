/* berth scheduler/ — ECS task definitions: model, parser, strict validator
 * and the DescribeTaskDefinition JSON shape.
 *
 * Input is taken as people write it (docs/TASKDEF.md has the full contract):
 *   - RegisterTaskDefinition JSON unchanged, or the output of
 *     `aws ecs describe-task-definition` (wrapped in {"taskDefinition": ...},
 *     optionally with "tags" beside it; the read-only keys taskDefinitionArn,
 *     revision, status, requiresAttributes, compatibilities, registeredAt,
 *     registeredBy and deregisteredAt are dropped);
 *   - null, "" and empty arrays/objects mean "not given" (as
 *     aws-actions/amazon-ecs-deploy-task-definition cleans them);
 *   - integers may be given as decimal strings ("3000"), booleans as
 *     "true"/"false"; task cpu/memory as units/MiB or "1 vCPU"/"2 GB".
 * Then it is validated strictly: every field berth cannot honour is refused
 * with a message saying so, unknown keys are refused, and every error is one
 * line naming the field path:
 *   task definition web.json: containerDefinitions[1].portMappings[0].containerPort: must be 1-65535, not 70000
 */
#ifndef BERTH_SCHEDULER_TASKDEF_H
#define BERTH_SCHEDULER_TASKDEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "netns/netns.h"
#include "runtime/runtime.h"

#define BERTH_TD_MAX_BYTES 65536    /* ECS's task definition size limit (64 KiB) */
#define BERTH_TD_MAX_CONTAINERS 10  /* ECS's quota of containers per task definition */
#define BERTH_TD_NAME_MAX 255       /* family, container and volume names */
#define BERTH_TD_STOP_TIMEOUT_DEFAULT 30

enum berth_td_net_mode {
	BERTH_TD_NET_AWSVPC = 0, /* the default (ECS's EC2 default, bridge, is refused) */
	BERTH_TD_NET_NONE,
};

/* requiresCompatibilities (and the computed compatibilities), as bits. */
#define BERTH_TD_COMPAT_EC2 0x1u
#define BERTH_TD_COMPAT_FARGATE 0x2u
#define BERTH_TD_COMPAT_EXTERNAL 0x4u

/* A key/value pair: tags, dockerLabels, log options. */
struct berth_td_kv {
	char *key;
	char *value; /* never NULL; may be "" */
};

/* volumes[]: a task-scoped volume (host_path NULL: an empty directory made
 * for the task and removed with it) or a bind of a host directory. */
struct berth_td_volume {
	char *name;
	char *host_path; /* host.sourcePath, absolute; NULL = task-scoped */
};

/* portMappings[]: the network part is a struct berth_port in
 * berth_td_container.ports (host_port is always 0 there: a task definition
 * declares ports; publishing on the host is chosen at run time); the rest
 * is here, at the same index. */
struct berth_td_port_info {
	char *name;         /* NULL = unnamed */
	char *app_protocol; /* "http", "http2", "grpc"; NULL = not given */
};

struct berth_td_mount {
	size_t volume;        /* index into berth_taskdef.volumes */
	char *container_path; /* absolute */
	bool read_only;
};

struct berth_td_env {
	char *name;
	char *value; /* never NULL; may be "" */
};

struct berth_td_secret {
	char *name;       /* environment variable */
	char *value_from; /* key in berth's local secret store (an ARN or a name, as given) */
};

enum berth_td_dep_cond {
	BERTH_TD_DEP_START = 0,
	BERTH_TD_DEP_COMPLETE,
	BERTH_TD_DEP_SUCCESS,
	BERTH_TD_DEP_HEALTHY,
};
const char *berth_td_dep_cond_name(enum berth_td_dep_cond c); /* "START", ... */

struct berth_td_dep {
	size_t container; /* index into berth_taskdef.containers; never the container itself */
	enum berth_td_dep_cond condition;
};

enum berth_td_hc_kind {
	BERTH_TD_HC_CMD = 0, /* argv is the command ("CMD" prefix, or none) */
	BERTH_TD_HC_SHELL,   /* argv[0] is one string for /bin/sh -c ("CMD-SHELL") */
};

struct berth_td_health_check {
	enum berth_td_hc_kind kind;
	char **argv;           /* NULL-terminated, at least one entry */
	uint32_t interval;     /* seconds, 5-300, default 30 */
	uint32_t timeout;      /* seconds, 2-60, default 5 */
	uint32_t retries;      /* 1-10, default 3 */
	uint32_t start_period; /* seconds, 0-300, default 0 */
};

struct berth_td_log {
	char *driver;                /* "awslogs"; NULL = no logConfiguration */
	struct berth_td_kv *options; /* recorded (nothing is sent to CloudWatch) */
	size_t noptions;
};

struct berth_td_container {
	char *name;
	char *image;
	uint32_t cpu_units;              /* 0 = not given */
	uint32_t memory_mib;             /* hard limit; 0 = not given */
	uint32_t memory_reservation_mib; /* soft limit; 0 = not given */
	bool essential;                  /* default true */
	char **entry_point;              /* NULL-terminated; NULL = the image's */
	char **command;                  /* NULL-terminated; NULL = the image's */
	struct berth_td_env *env;
	size_t nenv;
	char **env_files;                /* absolute host paths of .env files (berth's
					    {"type": "file"}), read in order; NULL-terminated */
	size_t nenv_files;
	struct berth_td_secret *secrets;
	size_t nsecrets;
	struct berth_port *ports;        /* declared container ports (host_port 0) */
	struct berth_td_port_info *port_info; /* same index as ports */
	size_t nports;
	struct berth_td_mount *mounts;
	size_t nmounts;
	struct berth_td_dep *deps;
	size_t ndeps;
	struct berth_td_health_check *health_check; /* NULL = none */
	uint32_t start_timeout;          /* seconds, 2-120; 0 = not given */
	uint32_t stop_timeout;           /* seconds, 0-120; BERTH_TD_STOP_TIMEOUT_DEFAULT when not given */
	bool stop_timeout_given;
	char *user;                      /* NULL = the image's */
	char *working_directory;         /* absolute; NULL = the image's */
	bool readonly_rootfs;
	struct berth_rlimit *ulimits;    /* resource is RLIMIT_*; soft <= hard */
	size_t nulimits;
	uint64_t cap_add;                /* CAP_* bits added to Docker's default set */
	uint64_t cap_drop;               /* CAP_* bits removed from it */
	bool cap_drop_all;               /* drop ["ALL"]: start from no capability */
	bool init_process;               /* linuxParameters.initProcessEnabled */
	struct berth_td_log log;
	struct berth_td_kv *labels;      /* dockerLabels */
	size_t nlabels;
	char *version_consistency;       /* "enabled"/"disabled"; NULL = not given (recorded) */
};

struct berth_taskdef {
	char *family;
	struct berth_td_container *containers;
	size_t ncontainers;              /* 1..BERTH_TD_MAX_CONTAINERS */
	uint32_t cpu_units;              /* task cpu; 0 = not given */
	uint32_t memory_mib;             /* task memory; 0 = not given */
	enum berth_td_net_mode network_mode;
	unsigned requires_compat;        /* BERTH_TD_COMPAT_* bits; 0 = not given */
	char *os_family;                 /* runtimePlatform.operatingSystemFamily ("LINUX"); NULL = not given */
	char *cpu_arch;                  /* runtimePlatform.cpuArchitecture (the host's); NULL = not given */
	struct berth_td_volume *volumes;
	size_t nvolumes;
	char *execution_role_arn;        /* recorded; NULL = not given */
	char *task_role_arn;             /* recorded; NULL = not given */
	struct berth_td_kv *tags;
	size_t ntags;
	uint32_t ephemeral_storage_gib;  /* 21-200 (recorded); 0 = not given */
};

/* Parse and validate one task definition.  json need not be NUL-terminated;
 * len is its size (at most BERTH_TD_MAX_BYTES).  where names the input in
 * messages ("web.json"; NULL: none): "task definition <where>: <path>: ...".
 * On success *out owns a new model (free with berth_taskdef_free). */
int berth_taskdef_parse(const char *json, size_t len, const char *where, struct berth_taskdef **out,
			struct berth_err *err);
void berth_taskdef_free(struct berth_taskdef *td);

/* Index of the container called name, or -1. */
int berth_taskdef_container_index(const struct berth_taskdef *td, const char *name);

/* Launch types the definition is valid for, as ECS computes
 * "compatibilities": EC2 always, FARGATE when it passes Fargate's checks,
 * EXTERNAL when it was required. */
unsigned berth_taskdef_compatibilities(const struct berth_taskdef *td);

/* The read-only fields of a registered revision, filled by the caller
 * (berthd's registry).  Each is omitted from the JSON when NULL/0. */
struct berth_taskdef_meta {
	const char *arn;           /* taskDefinitionArn */
	uint32_t revision;
	const char *status;        /* "ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS" */
	double registered_at;      /* unix seconds, as ECS's API sends them */
	const char *registered_by;
	double deregistered_at;
};

#define BERTH_TD_JSON_PRETTY 0x1u
/* {"taskDefinition": {...}, "tags": [...]}: the shape of the Register- and
 * DescribeTaskDefinition responses (the only place ECS puts the tags). */
#define BERTH_TD_JSON_WRAP 0x2u

/* ECS's taskDefinition object for what berth keeps, with the defaults
 * filled in as ECS's response has them (essential, cpu 0, hostPort =
 * containerPort, protocol, networkMode, health-check timings, empty
 * environment/mountPoints/volumesFrom/systemControls/volumes/
 * placementConstraints).  meta may be NULL; when given, compatibilities and
 * requiresAttributes are added too.  Returns a malloc'd string (free()), or
 * NULL with err set. */
char *berth_taskdef_to_json(const struct berth_taskdef *td, const struct berth_taskdef_meta *meta,
			    unsigned flags, struct berth_err *err);

/* ---- internal: shared by taskdef.c and taskdef_container.c -------------- */

/* Any control character (< 0x20 or DEL). */
bool berth_td_has_ctl(const char *s);
/* An absolute path without "." or ".." components or control characters. */
bool berth_td_clean_abs_path(const char *s);
struct cJSON;
/* Parse containerDefinitions[i] (obj, already cleaned of empty values) into
 * out.  td has its volumes, network mode and compatibilities set and every
 * container's name filled in (for dependsOn); prefix is "task definition
 * <where>". */
int berth_td_parse_container(const struct cJSON *obj, size_t i, const struct berth_taskdef *td,
			     const char *prefix, struct berth_td_container *out, struct berth_err *err);
void berth_td_container_free(struct berth_td_container *c);
/* "SYS_PTRACE" for CAP_SYS_PTRACE's bit; -1 when unknown. */
int berth_td_cap_name(int bit, char *buf, size_t n);
/* "nofile" for RLIMIT_NOFILE, NULL when not one of ECS's ulimit names. */
const char *berth_td_ulimit_name(int resource);

#endif
