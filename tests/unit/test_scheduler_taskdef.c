/* Unit tests: ECS task definitions — the corpus under tests/data/taskdefs/
 * (read relative to the repository root, where the test runs), the model
 * each file gives, a table of refused inputs (each error must name the
 * field path), and parse -> to_json -> parse round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "scheduler/taskdef.h"

#define CORPUS "tests/data/taskdefs/"

static char *slurp(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof(path), CORPUS "%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("open %s (run the test from the repository root)", path);
	char *buf = malloc(BERTH_TD_MAX_BYTES + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, BERTH_TD_MAX_BYTES + 1, f);
	fclose(f);
	buf[*len < BERTH_TD_MAX_BYTES ? *len : BERTH_TD_MAX_BYTES] = '\0';
	return buf;
}

static struct berth_taskdef *load(const char *name)
{
	size_t len;
	char *buf = slurp(name, &len);
	struct berth_taskdef *td = NULL;
	struct berth_err err = {0};
	if (berth_taskdef_parse(buf, len, name, &td, &err) < 0)
		fail_msg("%s: %s", name, err.msg);
	free(buf);
	return td;
}

static struct berth_taskdef *parse_str(const char *json, struct berth_err *err)
{
	struct berth_taskdef *td = NULL;
	if (berth_taskdef_parse(json, strlen(json), "t.json", &td, err) < 0)
		return NULL;
	return td;
}

static const struct berth_td_container *ctr(const struct berth_taskdef *td, const char *name)
{
	int i = berth_taskdef_container_index(td, name);
	assert_true(i >= 0);
	return &td->containers[i];
}

/* ---- deep equality of two models ---------------------------------------- */

static void eq_str(const char *a, const char *b, const char *what)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
		fail_msg("%s differs: \"%s\" vs \"%s\"", what, a ? a : "(null)", b ? b : "(null)");
}

static void eq_strv(char **a, char **b, const char *what)
{
	if ((a == NULL) != (b == NULL))
		fail_msg("%s: one is NULL", what);
	for (size_t i = 0; a && (a[i] || b[i]); i++)
		eq_str(a[i], b[i], what);
}

static void eq_kv(const struct berth_td_kv *a, size_t na, const struct berth_td_kv *b, size_t nb, const char *what)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		eq_str(a[i].key, b[i].key, what);
		eq_str(a[i].value, b[i].value, what);
	}
}

static void eq_container(const struct berth_td_container *a, const struct berth_td_container *b)
{
	eq_str(a->name, b->name, "name");
	eq_str(a->image, b->image, "image");
	assert_int_equal(a->cpu_units, b->cpu_units);
	assert_int_equal(a->memory_mib, b->memory_mib);
	assert_int_equal(a->memory_reservation_mib, b->memory_reservation_mib);
	assert_int_equal(a->essential, b->essential);
	eq_strv(a->entry_point, b->entry_point, "entryPoint");
	eq_strv(a->command, b->command, "command");
	assert_int_equal(a->nenv, b->nenv);
	for (size_t i = 0; i < a->nenv; i++) {
		eq_str(a->env[i].name, b->env[i].name, "env name");
		eq_str(a->env[i].value, b->env[i].value, "env value");
	}
	assert_int_equal(a->nenv_files, b->nenv_files);
	eq_strv(a->env_files, b->env_files, "environmentFiles");
	assert_int_equal(a->nsecrets, b->nsecrets);
	for (size_t i = 0; i < a->nsecrets; i++) {
		eq_str(a->secrets[i].name, b->secrets[i].name, "secret name");
		eq_str(a->secrets[i].value_from, b->secrets[i].value_from, "secret valueFrom");
	}
	assert_int_equal(a->nports, b->nports);
	for (size_t i = 0; i < a->nports; i++) {
		assert_int_equal(a->ports[i].proto, b->ports[i].proto);
		assert_int_equal(a->ports[i].ctr_port, b->ports[i].ctr_port);
		assert_int_equal(a->ports[i].host_port, b->ports[i].host_port);
		eq_str(a->port_info[i].name, b->port_info[i].name, "port name");
		eq_str(a->port_info[i].app_protocol, b->port_info[i].app_protocol, "appProtocol");
	}
	assert_int_equal(a->nmounts, b->nmounts);
	for (size_t i = 0; i < a->nmounts; i++) {
		assert_int_equal(a->mounts[i].volume, b->mounts[i].volume);
		eq_str(a->mounts[i].container_path, b->mounts[i].container_path, "containerPath");
		assert_int_equal(a->mounts[i].read_only, b->mounts[i].read_only);
	}
	assert_int_equal(a->ndeps, b->ndeps);
	for (size_t i = 0; i < a->ndeps; i++) {
		assert_int_equal(a->deps[i].container, b->deps[i].container);
		assert_int_equal(a->deps[i].condition, b->deps[i].condition);
	}
	assert_int_equal(a->health_check == NULL, b->health_check == NULL);
	if (a->health_check) {
		const struct berth_td_health_check *x = a->health_check, *y = b->health_check;
		assert_int_equal(x->kind, y->kind);
		eq_strv(x->argv, y->argv, "healthCheck.command");
		assert_int_equal(x->interval, y->interval);
		assert_int_equal(x->timeout, y->timeout);
		assert_int_equal(x->retries, y->retries);
		assert_int_equal(x->start_period, y->start_period);
	}
	assert_int_equal(a->start_timeout, b->start_timeout);
	assert_int_equal(a->stop_timeout, b->stop_timeout);
	assert_int_equal(a->stop_timeout_given, b->stop_timeout_given);
	eq_str(a->user, b->user, "user");
	eq_str(a->working_directory, b->working_directory, "workingDirectory");
	assert_int_equal(a->readonly_rootfs, b->readonly_rootfs);
	assert_int_equal(a->nulimits, b->nulimits);
	for (size_t i = 0; i < a->nulimits; i++) {
		assert_int_equal(a->ulimits[i].resource, b->ulimits[i].resource);
		assert_int_equal(a->ulimits[i].soft, b->ulimits[i].soft);
		assert_int_equal(a->ulimits[i].hard, b->ulimits[i].hard);
	}
	assert_int_equal(a->cap_add, b->cap_add);
	assert_int_equal(a->cap_drop, b->cap_drop);
	assert_int_equal(a->cap_drop_all, b->cap_drop_all);
	assert_int_equal(a->init_process, b->init_process);
	eq_str(a->log.driver, b->log.driver, "logDriver");
	eq_kv(a->log.options, a->log.noptions, b->log.options, b->log.noptions, "log options");
	eq_kv(a->labels, a->nlabels, b->labels, b->nlabels, "dockerLabels");
	eq_str(a->version_consistency, b->version_consistency, "versionConsistency");
}

static void eq_taskdef(const struct berth_taskdef *a, const struct berth_taskdef *b, bool tags)
{
	eq_str(a->family, b->family, "family");
	assert_int_equal(a->ncontainers, b->ncontainers);
	for (size_t i = 0; i < a->ncontainers; i++)
		eq_container(&a->containers[i], &b->containers[i]);
	assert_int_equal(a->cpu_units, b->cpu_units);
	assert_int_equal(a->memory_mib, b->memory_mib);
	assert_int_equal(a->network_mode, b->network_mode);
	assert_int_equal(a->requires_compat, b->requires_compat);
	eq_str(a->os_family, b->os_family, "operatingSystemFamily");
	eq_str(a->cpu_arch, b->cpu_arch, "cpuArchitecture");
	assert_int_equal(a->nvolumes, b->nvolumes);
	for (size_t i = 0; i < a->nvolumes; i++) {
		eq_str(a->volumes[i].name, b->volumes[i].name, "volume name");
		eq_str(a->volumes[i].host_path, b->volumes[i].host_path, "sourcePath");
	}
	eq_str(a->execution_role_arn, b->execution_role_arn, "executionRoleArn");
	eq_str(a->task_role_arn, b->task_role_arn, "taskRoleArn");
	if (tags)
		eq_kv(a->tags, a->ntags, b->tags, b->ntags, "tags");
	assert_int_equal(a->ephemeral_storage_gib, b->ephemeral_storage_gib);
}

/* ---- the corpus --------------------------------------------------------- */

static void test_fargate_minimal(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("fargate-minimal.json");
	assert_string_equal(td->family, "hello");
	assert_int_equal(td->cpu_units, 256);
	assert_int_equal(td->memory_mib, 512);
	assert_int_equal(td->network_mode, BERTH_TD_NET_AWSVPC);
	assert_int_equal(td->requires_compat, BERTH_TD_COMPAT_FARGATE);
	assert_int_equal(td->ncontainers, 1);
	const struct berth_td_container *c = &td->containers[0];
	assert_string_equal(c->name, "web");
	assert_true(c->essential);
	assert_int_equal(c->cpu_units, 0);
	assert_int_equal(c->stop_timeout, 30);
	assert_false(c->stop_timeout_given);
	assert_int_equal(c->nports, 1);
	assert_int_equal(c->ports[0].proto, BERTH_PROTO_TCP);
	assert_int_equal(c->ports[0].ctr_port, 80);
	assert_int_equal(c->ports[0].host_port, 0); /* declared, not published */
	assert_null(c->entry_point);
	assert_null(c->command);
	assert_null(c->health_check);
	assert_int_equal(berth_taskdef_compatibilities(td), BERTH_TD_COMPAT_EC2 | BERTH_TD_COMPAT_FARGATE);
	berth_taskdef_free(td);
}

static void test_console_export(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("console-export-nulls.json");
	assert_string_equal(td->family, "community-day");
	assert_int_equal(td->cpu_units, 512);
	assert_int_equal(td->memory_mib, 1024);
	assert_null(td->task_role_arn);
	assert_string_equal(td->execution_role_arn, "arn:aws:iam::123456789012:role/ecsTaskExecutionRole");
	assert_int_equal(td->nvolumes, 0);
	assert_int_equal(td->ntags, 0);
	const struct berth_td_container *c = &td->containers[0];
	assert_int_equal(c->memory_mib, 0);
	assert_int_equal(c->nenv, 0);
	assert_int_equal(c->nports, 1);
	assert_int_equal(c->ports[0].ctr_port, 8080);
	assert_string_equal(c->log.driver, "awslogs");
	assert_int_equal(c->log.noptions, 3);
	assert_string_equal(c->log.options[0].key, "awslogs-group");
	assert_string_equal(c->log.options[0].value, "/ecs/community-day");
	assert_false(c->readonly_rootfs);
	berth_taskdef_free(td);
}

static void test_describe_output(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("describe-output.json");
	assert_string_equal(td->family, "where-is-the-power");
	assert_int_equal(td->cpu_units, 1024);
	assert_int_equal(td->memory_mib, 3072);
	assert_int_equal(td->ephemeral_storage_gib, 21);
	assert_string_equal(td->os_family, "LINUX");
	assert_string_equal(td->cpu_arch, "X86_64");
	assert_string_equal(td->task_role_arn, "arn:aws:iam::123456789012:role/witp-task");
	/* The tags beside "taskDefinition" are the definition's tags. */
	assert_int_equal(td->ntags, 2);
	assert_string_equal(td->tags[0].key, "project");
	assert_string_equal(td->tags[1].value, "");
	const struct berth_td_container *c = &td->containers[0];
	assert_int_equal(c->nsecrets, 4);
	assert_string_equal(c->secrets[0].name, "DATABASE_URL");
	assert_string_equal(c->secrets[3].value_from, "/witp/sentry-dsn");
	assert_int_equal(c->nports, 1);
	assert_string_equal(c->port_info[0].name, "api-8000-tcp");
	assert_string_equal(c->port_info[0].app_protocol, "http");
	assert_int_equal(c->log.noptions, 6);
	berth_taskdef_free(td);
}

static void test_vcpu_gb(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("vcpu-gb-strings.json");
	assert_int_equal(td->cpu_units, 1024);
	assert_int_equal(td->memory_mib, 2048);
	assert_string_equal(td->containers[0].command[1], "3600");
	berth_taskdef_free(td);
	td = load("fractional-vcpu.json");
	assert_int_equal(td->cpu_units, 256);
	assert_int_equal(td->memory_mib, 512);
	assert_true(td->containers[0].init_process);
	berth_taskdef_free(td);
}

static void test_string_numbers(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("string-numbers.json");
	assert_int_equal(td->cpu_units, 512); /* a JSON number */
	assert_null(td->task_role_arn);      /* "" = not given */
	assert_string_equal(td->os_family, "LINUX");
	assert_null(td->cpu_arch);
	const struct berth_td_container *c = &td->containers[0];
	assert_int_equal(c->cpu_units, 256);
	assert_int_equal(c->memory_mib, 512);
	assert_int_equal(c->memory_reservation_mib, 256);
	assert_true(c->essential);
	assert_int_equal(c->nports, 2);
	assert_int_equal(c->ports[0].ctr_port, 3000);
	assert_int_equal(c->ports[0].host_port, 0);
	assert_int_equal(c->ports[1].proto, BERTH_PROTO_UDP);
	assert_int_equal(c->nulimits, 1);
	assert_int_equal(c->ulimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(c->ulimits[0].soft, 65535);
	assert_non_null(c->health_check);
	assert_int_equal(c->health_check->kind, BERTH_TD_HC_CMD);
	assert_string_equal(c->health_check->argv[0], "/bin/healthcheck");
	assert_string_equal(c->health_check->argv[2], "3000");
	assert_null(c->health_check->argv[3]);
	assert_int_equal(c->health_check->interval, 10);
	assert_int_equal(c->health_check->timeout, 3);
	assert_int_equal(c->health_check->retries, 5);
	assert_int_equal(c->health_check->start_period, 20);
	assert_int_equal(c->start_timeout, 60);
	assert_int_equal(c->stop_timeout, 90);
	assert_true(c->stop_timeout_given);
	/* "" is a value; null is "not given" (the variable is dropped). */
	assert_int_equal(c->nenv, 3);
	assert_string_equal(c->env[1].name, "EMPTY");
	assert_string_equal(c->env[1].value, "");
	assert_string_equal(c->env[2].name, "UNSET");
	assert_string_equal(c->env[2].value, "");
	berth_taskdef_free(td);
}

static void test_app_sidecar(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("app-sidecar.json");
	const struct berth_td_container *app = ctr(td, "app"), *envoy = ctr(td, "envoy");
	assert_int_equal(app->ndeps, 1);
	assert_int_equal(app->deps[0].container, 1);
	assert_int_equal(app->deps[0].condition, BERTH_TD_DEP_HEALTHY);
	assert_string_equal(app->user, "1000:1000");
	assert_non_null(envoy->health_check);
	assert_int_equal(envoy->health_check->kind, BERTH_TD_HC_SHELL);
	assert_string_equal(envoy->health_check->argv[0],
			    "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE");
	assert_null(envoy->health_check->argv[1]);
	assert_int_equal(envoy->health_check->interval, 5);
	assert_int_equal(envoy->health_check->timeout, 2);
	assert_int_equal(envoy->health_check->start_period, 10);
	assert_int_equal(envoy->memory_reservation_mib, 256);
	assert_int_equal(envoy->nports, 2);
	berth_taskdef_free(td);
}

static void test_full(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("full.json");
	assert_int_equal(td->requires_compat, BERTH_TD_COMPAT_EC2);
	assert_int_equal(td->nvolumes, 3);
	assert_null(td->volumes[0].host_path);
	assert_string_equal(td->volumes[1].host_path, "/srv/app/config");
	assert_null(td->volumes[2].host_path); /* "host": {} is a task-scoped volume */
	assert_string_equal(td->task_role_arn, "task-role");
	assert_int_equal(td->ephemeral_storage_gib, 50);
	const struct berth_td_container *m = ctr(td, "migrate"), *app = ctr(td, "app"), *cache = ctr(td, "cache");
	assert_false(m->essential);
	assert_string_equal(m->entry_point[0], "/usr/local/bin/app");
	assert_string_equal(m->command[2], ""); /* an empty argument stays */
	assert_int_equal(m->nenv_files, 1);
	assert_string_equal(m->env_files[0], "/etc/berth/env/app.env");
	assert_int_equal(app->ndeps, 2);
	assert_int_equal(app->deps[0].condition, BERTH_TD_DEP_SUCCESS);
	assert_int_equal(app->deps[1].container, 2);
	assert_int_equal(app->nmounts, 3);
	assert_int_equal(app->mounts[1].volume, 1);
	assert_true(app->mounts[1].read_only);
	assert_false(app->mounts[0].read_only);
	assert_true(app->readonly_rootfs);
	assert_string_equal(app->working_directory, "/srv");
	assert_int_equal(app->cap_add, (1ull << 10) | (1ull << 19)); /* NET_BIND_SERVICE, SYS_PTRACE */
	assert_true(app->cap_drop_all);
	assert_true(app->init_process);
	assert_int_equal(app->nlabels, 2);
	assert_string_equal(app->labels[1].value, "");
	assert_int_equal(app->health_check->kind, BERTH_TD_HC_CMD);
	assert_string_equal(app->health_check->argv[0], "/bin/check");
	assert_int_equal(app->health_check->interval, 30);
	assert_int_equal(app->health_check->timeout, 5);
	assert_int_equal(app->health_check->retries, 3);
	assert_int_equal(app->health_check->start_period, 0);
	assert_string_equal(app->port_info[0].name, "https");
	assert_string_equal(app->version_consistency, "disabled");
	assert_int_equal(app->nulimits, 2);
	assert_int_equal(app->ulimits[1].resource, RLIMIT_CORE);
	assert_int_equal(cache->cap_drop, (1ull << 13) | (1ull << 27)); /* NET_RAW, MKNOD */
	assert_false(cache->cap_drop_all);
	/* SYS_PTRACE + NET_BIND_SERVICE and a bind volume: not Fargate. */
	assert_int_equal(berth_taskdef_compatibilities(td), BERTH_TD_COMPAT_EC2);
	berth_taskdef_free(td);
}

static void test_network_none(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("network-none.json");
	assert_int_equal(td->network_mode, BERTH_TD_NET_NONE);
	assert_int_equal(td->requires_compat, BERTH_TD_COMPAT_EXTERNAL);
	assert_int_equal(berth_taskdef_compatibilities(td), BERTH_TD_COMPAT_EC2 | BERTH_TD_COMPAT_EXTERNAL);
	berth_taskdef_free(td);
}

/* ---- round trips -------------------------------------------------------- */

static const char *const corpus[] = {
	"fargate-minimal.json", "console-export-nulls.json", "describe-output.json", "vcpu-gb-strings.json",
	"fractional-vcpu.json", "string-numbers.json",       "app-sidecar.json",     "full.json",
	"network-none.json",
};

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		struct berth_taskdef *a = load(corpus[i]), *b = NULL, *c = NULL;
		struct berth_err err = {0};
		struct berth_taskdef_meta meta = {.arn = "arn:aws:ecs:local:000000000000:task-definition/x:3",
						  .revision = 3,
						  .status = "ACTIVE",
						  .registered_at = 1700000000.25,
						  .registered_by = "berth"};
		/* The describe shape, wrapped with the tags, read back. */
		char *json = berth_taskdef_to_json(a, &meta, BERTH_TD_JSON_WRAP | BERTH_TD_JSON_PRETTY, &err);
		assert_non_null(json);
		if (berth_taskdef_parse(json, strlen(json), "round trip", &b, &err) < 0)
			fail_msg("%s: %s\n%s", corpus[i], err.msg, json);
		eq_taskdef(a, b, true);
		/* The bare taskDefinition object (no tags there). */
		char *bare = berth_taskdef_to_json(b, NULL, 0, &err);
		assert_non_null(bare);
		if (berth_taskdef_parse(bare, strlen(bare), "bare", &c, &err) < 0)
			fail_msg("%s: %s\n%s", corpus[i], err.msg, bare);
		eq_taskdef(a, c, false);
		/* And the output is stable. */
		char *again = berth_taskdef_to_json(c, NULL, 0, &err);
		assert_string_equal(bare, again);
		free(json);
		free(bare);
		free(again);
		berth_taskdef_free(a);
		berth_taskdef_free(b);
		berth_taskdef_free(c);
	}
}

/* ECS's response shape: defaults filled in. */
static void test_to_json_defaults(void **state)
{
	(void)state;
	struct berth_taskdef *td = load("fargate-minimal.json");
	struct berth_err err = {0};
	struct berth_taskdef_meta meta = {.arn = "arn:aws:ecs:local:0:task-definition/hello:1",
					  .revision = 1,
					  .status = "ACTIVE",
					  .registered_at = 1700000000,
					  .registered_by = "berthd"};
	char *s = berth_taskdef_to_json(td, &meta, 0, &err);
	assert_non_null(s);
	cJSON *j = cJSON_Parse(s);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "taskDefinitionArn")->valuestring, meta.arn);
	assert_int_equal(cJSON_GetObjectItem(j, "revision")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "ACTIVE");
	assert_string_equal(cJSON_GetObjectItem(j, "networkMode")->valuestring, "awsvpc");
	assert_string_equal(cJSON_GetObjectItem(j, "cpu")->valuestring, "256");
	assert_string_equal(cJSON_GetObjectItem(j, "memory")->valuestring, "512");
	assert_true(cJSON_GetObjectItem(j, "registeredAt")->valuedouble == 1700000000);
	cJSON *compat = cJSON_GetObjectItem(j, "compatibilities");
	assert_int_equal(cJSON_GetArraySize(compat), 2);
	assert_string_equal(cJSON_GetArrayItem(compat, 1)->valuestring, "FARGATE");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "volumes")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "placementConstraints")), 0);
	assert_null(cJSON_GetObjectItem(j, "tags"));
	cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "containerDefinitions"), 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "essential")));
	assert_int_equal(cJSON_GetObjectItem(c, "cpu")->valueint, 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "environment")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "mountPoints")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "volumesFrom")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "systemControls")), 0);
	cJSON *pm = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "portMappings"), 0);
	assert_int_equal(cJSON_GetObjectItem(pm, "containerPort")->valueint, 80);
	assert_int_equal(cJSON_GetObjectItem(pm, "hostPort")->valueint, 80);
	assert_string_equal(cJSON_GetObjectItem(pm, "protocol")->valuestring, "tcp");
	assert_null(cJSON_GetObjectItem(c, "stopTimeout"));
	cJSON_Delete(j);
	free(s);

	s = berth_taskdef_to_json(td, NULL, BERTH_TD_JSON_WRAP, &err);
	j = cJSON_Parse(s);
	assert_non_null(cJSON_GetObjectItem(j, "taskDefinition"));
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "tags")));
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "taskDefinition"), "compatibilities"));
	cJSON_Delete(j);
	free(s);
	berth_taskdef_free(td);

	/* Health-check defaults and CMD for a command without a prefix. */
	td = load("full.json");
	s = berth_taskdef_to_json(td, NULL, 0, &err);
	j = cJSON_Parse(s);
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "containerDefinitions"), 1);
	cJSON *hc = cJSON_GetObjectItem(c, "healthCheck");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(hc, "command"), 0)->valuestring, "CMD");
	assert_int_equal(cJSON_GetObjectItem(hc, "interval")->valueint, 30);
	assert_int_equal(cJSON_GetObjectItem(hc, "retries")->valueint, 3);
	cJSON *drop = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "linuxParameters"), "capabilities"),
					  "drop");
	assert_string_equal(cJSON_GetArrayItem(drop, 0)->valuestring, "ALL");
	cJSON *ef = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j,
		"containerDefinitions"), 0), "environmentFiles"), 0);
	assert_string_equal(cJSON_GetObjectItem(ef, "type")->valuestring, "file");
	cJSON_Delete(j);
	free(s);
	berth_taskdef_free(td);
}

/* ---- refused inputs ----------------------------------------------------- */

/* A task with one container; T adds task-level members, C container ones. */
#define TD(T, C) "{\"family\":\"t\"" T ",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"busybox\"" C "}]}"
#define TD2(T, C1, C2)                                                                                   \
	"{\"family\":\"t\"" T ",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"busybox\"" C1 "},"  \
	"{\"name\":\"b\",\"image\":\"busybox\"" C2 "}]}"

static const struct bad {
	const char *what, *json, *want;
} bad[] = {
	{"unknown task field", TD(",\"famly\":\"x\"", ""), ": famly: unknown field; see docs/TASKDEF.md"},
	{"unknown container field", TD("", ",\"foo\":1"), "containerDefinitions[0].foo: unknown field"},
	{"wrong case", TD("", ",\"portMappings\":[{\"ContainerPort\":80}]"),
	 "containerDefinitions[0].portMappings[0].ContainerPort: unknown field (did you mean \"containerPort\"?); see docs/TASKDEF.md"},
	{"key twice", "{\"family\":\"t\",\"family\":\"u\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"b\"}]}",
	 ": family: given twice"},
	{"bad family chars", "{\"family\":\"my app\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"b\"}]}",
	 ": family: must be 1-255 letters"},
	{"no family", "{\"family\":\"\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"b\"}]}",
	 ": family: required"},
	{"no containers", "{\"family\":\"t\",\"containerDefinitions\":[]}", ": containerDefinitions: required"},
	{"no essential container", TD2("", ",\"essential\":false", ",\"essential\":\"false\""),
	 ": containerDefinitions: at least one container must be essential"},
	{"duplicate container names",
	 "{\"family\":\"t\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"b\"},{\"name\":\"a\",\"image\":\"b\"}]}",
	 "containerDefinitions[1].name: \"a\" is also the name of containerDefinitions[0]"},
	{"no image", "{\"family\":\"t\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"\"}]}",
	 "containerDefinitions[0].image: required"},
	{"dependsOn cycle",
	 TD2("", ",\"dependsOn\":[{\"containerName\":\"b\",\"condition\":\"START\"}]",
	     ",\"dependsOn\":[{\"containerName\":\"a\",\"condition\":\"START\"}]"),
	 "containerDefinitions[0].dependsOn: dependency cycle: a -> b -> a"},
	{"dependsOn self", TD("", ",\"dependsOn\":[{\"containerName\":\"a\",\"condition\":\"START\"}]"),
	 "containerDefinitions[0].dependsOn[0].containerName: a container cannot depend on itself"},
	{"dependsOn unknown container", TD("", ",\"dependsOn\":[{\"containerName\":\"db\",\"condition\":\"START\"}]"),
	 "containerDefinitions[0].dependsOn[0].containerName: no container \"db\""},
	{"dependsOn bad condition", TD2("", ",\"dependsOn\":[{\"containerName\":\"b\",\"condition\":\"READY\"}]", ""),
	 "containerDefinitions[0].dependsOn[0].condition: must be START, COMPLETE, SUCCESS or HEALTHY"},
	{"COMPLETE on an essential dependency",
	 TD2("", ",\"dependsOn\":[{\"containerName\":\"b\",\"condition\":\"COMPLETE\"}]", ""),
	 "containerDefinitions[0].dependsOn[0].condition: COMPLETE needs a container that is not essential"},
	{"SUCCESS on an essential dependency",
	 TD2("", ",\"dependsOn\":[{\"containerName\":\"b\",\"condition\":\"SUCCESS\"}]", ",\"essential\":true"),
	 "containerDefinitions[0].dependsOn[0].condition: SUCCESS needs"},
	{"HEALTHY without healthCheck",
	 TD2("", ",\"dependsOn\":[{\"containerName\":\"b\",\"condition\":\"HEALTHY\"}]", ""),
	 "containerDefinitions[0].dependsOn[0].condition: HEALTHY needs a healthCheck on \"b\""},
	{"bad Fargate pair", TD(",\"requiresCompatibilities\":[\"FARGATE\"],\"cpu\":\"256\",\"memory\":\"4096\"", ""),
	 ": cpu/memory: Invalid 'cpu' setting for task. (FARGATE: cpu 256 allows memory 512, 1024 or 2048 MiB, not 4096)"},
	{"Fargate without cpu", TD(",\"requiresCompatibilities\":[\"FARGATE\"],\"memory\":\"512\"", ""),
	 ": cpu: required by FARGATE"},
	{"Fargate with a bind volume",
	 TD(",\"requiresCompatibilities\":[\"FARGATE\"],\"cpu\":\"256\",\"memory\":\"512\","
	    "\"volumes\":[{\"name\":\"v\",\"host\":{\"sourcePath\":\"/srv\"}}]",
	    ""),
	 ": volumes[0].host.sourcePath: not supported by FARGATE"},
	{"Fargate adds a capability",
	 TD(",\"requiresCompatibilities\":[\"FARGATE\"],\"cpu\":\"256\",\"memory\":\"512\"",
	    ",\"linuxParameters\":{\"capabilities\":{\"add\":[\"NET_ADMIN\"]}}"),
	 "containerDefinitions[0].linuxParameters.capabilities.add: FARGATE (requiresCompatibilities) allows only"},
	{"bad cpu text", TD(",\"cpu\":\"2 cores\"", ""), ": cpu: \"2 cores\": expected CPU units"},
	{"bad memory text", TD(",\"memory\":true", ""), ": memory: must be a string"},
	{"memoryReservation >= memory", TD("", ",\"memory\":256,\"memoryReservation\":256"),
	 "containerDefinitions[0].memoryReservation: must be less than memory (256 MiB), not 256"},
	{"container memory above the task's", TD(",\"memory\":\"512\"", ",\"memory\":1024"),
	 "containerDefinitions[0].memory: 1024 MiB is above the task's memory (512 MiB)"},
	{"container memory sum above the task's", TD2(",\"memory\":\"512\"", ",\"memory\":300", ",\"memory\":300"),
	 ": containerDefinitions: the containers' memory adds up to 600 MiB, above the task's 512 MiB"},
	{"container cpu sum above the task's", TD2(",\"cpu\":\"256\"", ",\"cpu\":200", ",\"cpu\":\"100\""),
	 ": containerDefinitions: the containers ask for 300 CPU units in all, above the task's 256"},
	{"container memory below 6 MiB", TD("", ",\"memory\":4"), "containerDefinitions[0].memory: must be 6-4194304, not 4"},
	{"EC2 without container memory", TD(",\"requiresCompatibilities\":[\"EC2\"]", ""),
	 "containerDefinitions[0]: EC2 (requiresCompatibilities) needs memory or memoryReservation"},
	{"bridge networkMode", TD(",\"networkMode\":\"bridge\"", ""), ": networkMode: \"bridge\" is not supported"},
	{"host networkMode", TD(",\"networkMode\":\"host\"", ""), ": networkMode: \"host\" is not supported"},
	{"EXTERNAL with awsvpc", TD(",\"requiresCompatibilities\":[\"EXTERNAL\"]", ""),
	 ": requiresCompatibilities: EXTERNAL (ECS Anywhere) does not support networkMode \"awsvpc\""},
	{"bad compatibility", TD(",\"requiresCompatibilities\":[\"LAMBDA\"]", ""), ": requiresCompatibilities[0]: must be"},
	{"ARM64 on this host", TD(",\"runtimePlatform\":{\"cpuArchitecture\":\"ARM64\"}", ""),
	 ": runtimePlatform.cpuArchitecture: \"ARM64\" is not supported on this host"},
	{"Windows", TD(",\"runtimePlatform\":{\"operatingSystemFamily\":\"WINDOWS_SERVER_2022_CORE\"}", ""),
	 ": runtimePlatform.operatingSystemFamily: \"WINDOWS_SERVER_2022_CORE\" is not supported"},
	{"pidMode host", TD(",\"pidMode\":\"host\"", ""), ": pidMode: \"host\" is not supported"},
	{"pidMode task", TD(",\"pidMode\":\"task\"", ""), ": pidMode: \"task\" is not supported yet"},
	{"ipcMode", TD(",\"ipcMode\":\"task\"", ""), ": ipcMode: \"task\" is not supported"},
	{"placementConstraints", TD(",\"placementConstraints\":[{\"type\":\"memberOf\",\"expression\":\"x\"}]", ""),
	 ": placementConstraints: placement constraints are not supported"},
	{"proxyConfiguration", TD(",\"proxyConfiguration\":{\"type\":\"APPMESH\",\"containerName\":\"a\"}", ""),
	 ": proxyConfiguration: App Mesh"},
	{"enableFaultInjection", TD(",\"enableFaultInjection\":true", ""), ": enableFaultInjection: fault injection"},
	{"ephemeralStorage too small", TD(",\"ephemeralStorage\":{\"sizeInGiB\":20}", ""),
	 ": ephemeralStorage.sizeInGiB: must be 21-200, not 20"},
	{"privileged true", TD("", ",\"privileged\":true"),
	 "containerDefinitions[0].privileged: berth never runs privileged containers"},
	{"interactive true", TD("", ",\"interactive\":\"true\""), "containerDefinitions[0].interactive: berth tasks have no stdin"},
	{"efs volume", TD(",\"volumes\":[{\"name\":\"v\",\"efsVolumeConfiguration\":{\"fileSystemId\":\"fs-1\"}}]", ""),
	 ": volumes[0].efsVolumeConfiguration: EFS volumes are not supported"},
	{"docker volume", TD(",\"volumes\":[{\"name\":\"v\",\"dockerVolumeConfiguration\":{\"scope\":\"task\"}}]", ""),
	 ": volumes[0].dockerVolumeConfiguration: Docker volume drivers are not supported"},
	{"relative sourcePath", TD(",\"volumes\":[{\"name\":\"v\",\"host\":{\"sourcePath\":\"srv/x\"}}]", ""),
	 ": volumes[0].host.sourcePath: must be an absolute host path"},
	{"duplicate volume", TD(",\"volumes\":[{\"name\":\"v\"},{\"name\":\"v\"}]", ""),
	 ": volumes[1].name: \"v\" is also the name of volumes[0]"},
	{"mountPoint to unknown volume",
	 TD(",\"volumes\":[{\"name\":\"v\"}]", ",\"mountPoints\":[{\"sourceVolume\":\"w\",\"containerPath\":\"/x\"}]"),
	 "containerDefinitions[0].mountPoints[0].sourceVolume: no volume \"w\" in the task's volumes"},
	{"relative containerPath",
	 TD(",\"volumes\":[{\"name\":\"v\"}]", ",\"mountPoints\":[{\"sourceVolume\":\"v\",\"containerPath\":\"data\"}]"),
	 "containerDefinitions[0].mountPoints[0].containerPath: must be an absolute path"},
	{"volumesFrom", TD2("", ",\"volumesFrom\":[{\"sourceContainer\":\"b\"}]", ""),
	 "containerDefinitions[0].volumesFrom: not supported"},
	{"hostname under awsvpc", TD("", ",\"hostname\":\"web\""),
	 "containerDefinitions[0].hostname: not valid with networkMode \"awsvpc\""},
	{"links under awsvpc", TD2("", ",\"links\":[\"b\"]", ""), "containerDefinitions[0].links: not valid with networkMode"},
	{"dnsServers", TD("", ",\"dnsServers\":[\"1.1.1.1\"]"), "containerDefinitions[0].dnsServers: not valid"},
	{"s3 environmentFiles",
	 TD("", ",\"environmentFiles\":[{\"type\":\"s3\",\"value\":\"arn:aws:s3:::bucket/app.env\"}]"),
	 "containerDefinitions[0].environmentFiles[0].type: S3 environment files are not supported"},
	{"relative environment file", TD("", ",\"environmentFiles\":[{\"type\":\"file\",\"value\":\"app.env\"}]"),
	 "containerDefinitions[0].environmentFiles[0].value: must be an absolute host path"},
	{"environment name twice", TD("", ",\"environment\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"A\",\"value\":\"2\"}]"),
	 "containerDefinitions[0].environment[1].name: \"A\" is also set by containerDefinitions[0].environment[0]"},
	{"secret shadows environment",
	 TD("", ",\"environment\":[{\"name\":\"A\",\"value\":\"1\"}],\"secrets\":[{\"name\":\"A\",\"valueFrom\":\"s\"}]"),
	 "containerDefinitions[0].secrets[0].name: \"A\" is also set by"},
	{"environment value a number", TD("", ",\"environment\":[{\"name\":\"A\",\"value\":1}]"),
	 "containerDefinitions[0].environment[0].value: must be a string, not 1"},
	{"secret without valueFrom", TD("", ",\"secrets\":[{\"name\":\"A\"}]"),
	 "containerDefinitions[0].secrets[0].valueFrom: required"},
	{"ulimit soft > hard", TD("", ",\"ulimits\":[{\"name\":\"nofile\",\"softLimit\":2048,\"hardLimit\":1024}]"),
	 "containerDefinitions[0].ulimits[0].softLimit: 2048 is above hardLimit (1024)"},
	{"unknown ulimit", TD("", ",\"ulimits\":[{\"name\":\"files\",\"softLimit\":1,\"hardLimit\":1}]"),
	 "containerDefinitions[0].ulimits[0].name: \"files\" is not a ulimit"},
	{"bad capability name", TD("", ",\"linuxParameters\":{\"capabilities\":{\"add\":[\"SYS_PTRACEX\"]}}"),
	 "containerDefinitions[0].linuxParameters.capabilities.add[0]: unknown capability \"SYS_PTRACEX\""},
	{"capability with CAP_ prefix", TD("", ",\"linuxParameters\":{\"capabilities\":{\"drop\":[\"CAP_NET_RAW\"]}}"),
	 "containerDefinitions[0].linuxParameters.capabilities.drop[0]: capability \"CAP_NET_RAW\" must be written \"NET_RAW\""},
	{"add ALL", TD("", ",\"linuxParameters\":{\"capabilities\":{\"add\":[\"ALL\"]}}"),
	 "containerDefinitions[0].linuxParameters.capabilities.add[0]: adding ALL capabilities is not supported"},
	{"tmpfs", TD("", ",\"linuxParameters\":{\"tmpfs\":[{\"containerPath\":\"/t\",\"size\":64}]}"),
	 "containerDefinitions[0].linuxParameters.tmpfs: not supported"},
	{"sharedMemorySize", TD("", ",\"linuxParameters\":{\"sharedMemorySize\":128}"),
	 "containerDefinitions[0].linuxParameters.sharedMemorySize: not supported"},
	{"containerPort out of range", TD("", ",\"portMappings\":[{\"containerPort\":70000}]"),
	 "containerDefinitions[0].portMappings[0].containerPort: must be 1-65535, not 70000"},
	{"containerPort not a number", TD("", ",\"portMappings\":[{\"containerPort\":\"http\"}]"),
	 "containerDefinitions[0].portMappings[0].containerPort: must be a whole number from 1 to 65535, not \"http\""},
	{"containerPort fraction", TD("", ",\"portMappings\":[{\"containerPort\":80.5}]"),
	 "containerDefinitions[0].portMappings[0].containerPort: must be a whole number"},
	{"hostPort differs", TD("", ",\"portMappings\":[{\"containerPort\":80,\"hostPort\":8080}]"),
	 "containerDefinitions[0].portMappings[0].hostPort: must be omitted or equal to containerPort (80)"},
	{"bad protocol", TD("", ",\"portMappings\":[{\"containerPort\":80,\"protocol\":\"sctp\"}]"),
	 "containerDefinitions[0].portMappings[0].protocol: must be \"tcp\" or \"udp\""},
	{"port range", TD("", ",\"portMappings\":[{\"containerPortRange\":\"8000-8010\"}]"),
	 "containerDefinitions[0].portMappings[0].containerPortRange: port ranges are not supported"},
	{"port mapped twice in a task",
	 TD2("", ",\"portMappings\":[{\"containerPort\":80}]", ",\"portMappings\":[{\"containerPort\":\"80\"}]"),
	 "containerDefinitions[1].portMappings[0]: tcp port 80 is also mapped by containerDefinitions[0].portMappings[0]"},
	{"ports with networkMode none", TD(",\"networkMode\":\"none\"", ",\"portMappings\":[{\"containerPort\":80}]"),
	 "containerDefinitions[0].portMappings: not valid with networkMode \"none\""},
	{"CMD-SHELL with two strings", TD("", ",\"healthCheck\":{\"command\":[\"CMD-SHELL\",\"curl\",\"-f\"]}"),
	 "containerDefinitions[0].healthCheck.command: CMD-SHELL takes exactly one string"},
	{"healthCheck interval", TD("", ",\"healthCheck\":{\"command\":[\"CMD\",\"true\"],\"interval\":1}"),
	 "containerDefinitions[0].healthCheck.interval: must be 5-300, not 1"},
	{"healthCheck without command", TD("", ",\"healthCheck\":{\"interval\":10}"),
	 "containerDefinitions[0].healthCheck.command: required"},
	{"stopTimeout too long", TD("", ",\"stopTimeout\":300"), "containerDefinitions[0].stopTimeout: must be 0-120, not 300"},
	{"startTimeout too short", TD("", ",\"startTimeout\":\"1\""), "containerDefinitions[0].startTimeout: must be 2-120, not 1"},
	{"relative workingDirectory", TD("", ",\"workingDirectory\":\"app\""),
	 "containerDefinitions[0].workingDirectory: must be an absolute path"},
	{"bad user", TD("", ",\"user\":\"a:b:c\""), "containerDefinitions[0].user: must be user, uid"},
	{"newline in an echoed value", TD("", ",\"user\":\"a\\nb\""),
	 "containerDefinitions[0].user: must be user, uid, user:group or uid:gid, not \"a?b\""},
	{"splunk logs", TD("", ",\"logConfiguration\":{\"logDriver\":\"splunk\",\"options\":{\"splunk-url\":\"x\"}}"),
	 "containerDefinitions[0].logConfiguration.logDriver: \"splunk\" is not supported"},
	{"unknown awslogs option", TD("", ",\"logConfiguration\":{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-grup\":\"x\"}}"),
	 "containerDefinitions[0].logConfiguration.options.awslogs-grup: unknown field"},
	{"firelens", TD("", ",\"firelensConfiguration\":{\"type\":\"fluentbit\"}"),
	 "containerDefinitions[0].firelensConfiguration: FireLens log routing is not supported"},
	{"repositoryCredentials", TD("", ",\"repositoryCredentials\":{\"credentialsParameter\":\"arn:aws:secretsmanager:x\"}"),
	 "containerDefinitions[0].repositoryCredentials: private-registry credentials are not supported"},
	{"GPU", TD("", ",\"resourceRequirements\":[{\"type\":\"GPU\",\"value\":\"1\"}]"),
	 "containerDefinitions[0].resourceRequirements: GPUs"},
	{"systemControls", TD("", ",\"systemControls\":[{\"namespace\":\"net.core.somaxconn\",\"value\":\"1024\"}]"),
	 "containerDefinitions[0].systemControls: namespaced sysctls are not supported yet"},
	{"restartPolicy", TD("", ",\"restartPolicy\":{\"enabled\":true}"),
	 "containerDefinitions[0].restartPolicy.enabled: container restart policies are not supported"},
	{"dockerLabels not strings", TD("", ",\"dockerLabels\":{\"a\":1}"), "containerDefinitions[0].dockerLabels.a: must be a string"},
	{"aws: tag", TD(",\"tags\":[{\"key\":\"aws:owner\",\"value\":\"x\"}]", ""), ": tags[0].key: the \"aws:\" prefix is reserved"},
	{"tag key twice", TD(",\"tags\":[{\"key\":\"a\",\"value\":\"x\"},{\"key\":\"a\"}]", ""),
	 ": tags[1].key: \"a\" is also the key of tags[0]"},
	{"tags on both sides of the wrapper",
	 "{\"taskDefinition\":" TD(",\"tags\":[{\"key\":\"a\",\"value\":\"x\"}]", "") ",\"tags\":[{\"key\":\"b\",\"value\":\"y\"}]}",
	 ": tags: given both beside and inside \"taskDefinition\""},
	{"unknown key beside the wrapper", "{\"taskDefinition\":" TD("", "") ",\"ResponseMetadata\":{}}",
	 ": ResponseMetadata: unknown field"},
	{"wrapper not an object", "{\"taskDefinition\":[]}", ": taskDefinition: must be an object"},
	{"top level not an object", "[1,2]", "t.json: must be a JSON object"},
	{"malformed JSON", "{\"family\": \"t\",, \"containerDefinitions\": []}", "invalid JSON near byte offset 16 (line 1, column 17)"},
	{"malformed JSON, second line", "{\"family\": \"t\",\n  \"cpu\": 256 512}", "invalid JSON near byte offset 29 (line 2, column 14)"},
	{"trailing garbage", TD("", "") " x", "unexpected text after the value at byte offset"},
	{"empty", "", "empty input"},
	{"11 containers",
	 "{\"family\":\"t\",\"containerDefinitions\":[{\"name\":\"a0\",\"image\":\"b\"},{\"name\":\"a1\",\"image\":\"b\"},"
	 "{\"name\":\"a2\",\"image\":\"b\"},{\"name\":\"a3\",\"image\":\"b\"},{\"name\":\"a4\",\"image\":\"b\"},"
	 "{\"name\":\"a5\",\"image\":\"b\"},{\"name\":\"a6\",\"image\":\"b\"},{\"name\":\"a7\",\"image\":\"b\"},"
	 "{\"name\":\"a8\",\"image\":\"b\"},{\"name\":\"a9\",\"image\":\"b\"},{\"name\":\"a10\",\"image\":\"b\"}]}",
	 ": containerDefinitions: at most 10 containers per task definition (ECS's quota), not 11"},
	{"null element", TD("", ",\"command\":[\"a\",null]"), "containerDefinitions[0].command[1]: must be a string, not null"},
	{"empty element among others", TD("", ",\"mountPoints\":[{\"sourceVolume\":null},{\"sourceVolume\":\"v\"}]"),
	 "containerDefinitions[0].mountPoints[0].sourceVolume: required"},
};

static void test_refused(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct berth_err err = {0};
		struct berth_taskdef *td = parse_str(bad[i].json, &err);
		if (td) {
			print_error("%s: accepted\n", bad[i].what);
			berth_taskdef_free(td);
			failures++;
			continue;
		}
		if (!strstr(err.msg, bad[i].want) || strncmp(err.msg, "task definition t.json: ", 24) != 0 ||
		    strchr(err.msg, '\n')) {
			print_error("%s:\n  got  %s\n  want %s\n", bad[i].what, err.msg, bad[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* The message format the rest of berth relies on, exactly. */
static void test_error_format(void **state)
{
	(void)state;
	const char *json = "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"b\"},"
			   "{\"name\":\"c\",\"image\":\"d\",\"portMappings\":[{\"containerPort\":70000}]}]}";
	struct berth_taskdef *td = NULL;
	struct berth_err err = {0};
	assert_int_equal(berth_taskdef_parse(json, strlen(json), "web.json", &td, &err), -1);
	assert_string_equal(err.msg,
			    "task definition web.json: containerDefinitions[1].portMappings[0].containerPort: must be "
			    "1-65535, not 70000");
	assert_int_equal(err.errnum, 0);
	assert_null(td);
	/* No name: "task definition: ...". */
	assert_int_equal(berth_taskdef_parse("{}", 2, NULL, &td, &err), -1);
	assert_string_equal(err.msg, "task definition: family: required");
}

static void test_oversized(void **state)
{
	(void)state;
	/* A valid definition padded past 64 KiB with white space. */
	size_t n = BERTH_TD_MAX_BYTES + 1;
	char *buf = malloc(n);
	assert_non_null(buf);
	const char *td_json = TD("", "");
	memset(buf, ' ', n);
	memcpy(buf, td_json, strlen(td_json));
	struct berth_taskdef *td = NULL;
	struct berth_err err = {0};
	assert_int_equal(berth_taskdef_parse(buf, n, "big.json", &td, &err), -1);
	assert_non_null(strstr(err.msg, "task definition big.json: 65537 bytes is above the 65536-byte (64 KiB) limit"));
	/* Exactly the limit is fine. */
	assert_int_equal(berth_taskdef_parse(buf, n - 1, "big.json", &td, &err), 0);
	berth_taskdef_free(td);
	/* A NUL byte inside the input. */
	buf[5] = '\0';
	assert_int_equal(berth_taskdef_parse(buf, 64, "nul.json", &td, &err), -1);
	assert_non_null(strstr(err.msg, "NUL byte at byte offset 5"));
	free(buf);
}

/* Lenient reading: nulls, "" and empty collections are "not given". */
static void test_cleaning(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_taskdef *td = parse_str(
		TD(",\"cpu\":null,\"taskRoleArn\":\"\",\"volumes\":[{}],\"tags\":[],\"runtimePlatform\":{\"cpuArchitecture\":null}",
		   ",\"essential\":null,\"repositoryCredentials\":{\"credentialsParameter\":\"\"},\"linuxParameters\":"
		   "{\"capabilities\":{\"add\":[],\"drop\":[]},\"devices\":null},\"healthCheck\":{\"command\":[]},"
		   "\"hostname\":\"\",\"privileged\":false,\"interactive\":\"false\",\"dockerLabels\":{\"k\":null},"
		   "\"mountPoints\":[{\"sourceVolume\":null}],\"logConfiguration\":{\"logDriver\":null}"),
		&err);
	if (!td)
		fail_msg("%s", err.msg);
	assert_int_equal(td->cpu_units, 0);
	assert_null(td->task_role_arn);
	assert_int_equal(td->nvolumes, 0);
	assert_null(td->os_family);
	const struct berth_td_container *c = &td->containers[0];
	assert_true(c->essential);
	assert_null(c->health_check);
	assert_int_equal(c->nlabels, 0);
	assert_int_equal(c->nmounts, 0);
	assert_null(c->log.driver);
	assert_int_equal(c->cap_add, 0);
	berth_taskdef_free(td);

	/* Read-only keys of describe output are dropped even unwrapped. */
	td = parse_str(TD(",\"revision\":7,\"status\":\"INACTIVE\",\"compatibilities\":[\"EC2\"],"
			  "\"registeredAt\":\"2023-07-31T10:00:00Z\",\"deregisteredAt\":1.5,\"registeredBy\":\"x\","
			  "\"taskDefinitionArn\":\"arn\",\"requiresAttributes\":[{\"name\":\"a\"}]", ""),
		       &err);
	if (!td)
		fail_msg("%s", err.msg);
	berth_taskdef_free(td);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fargate_minimal),  cmocka_unit_test(test_console_export),
		cmocka_unit_test(test_describe_output),  cmocka_unit_test(test_vcpu_gb),
		cmocka_unit_test(test_string_numbers),   cmocka_unit_test(test_app_sidecar),
		cmocka_unit_test(test_full),             cmocka_unit_test(test_network_none),
		cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_to_json_defaults),
		cmocka_unit_test(test_refused),          cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_oversized),        cmocka_unit_test(test_cleaning),
	};
	return cmocka_run_group_tests_name("scheduler_taskdef", tests, NULL, NULL);
}
