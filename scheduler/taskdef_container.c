/* berth scheduler/ — one ECS container definition: parsing and the checks
 * that need only the container (and the task's volumes, network mode and
 * container names).  docs/TASKDEF.md lists every field and what berth does
 * with it. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/util.h"
#include "runtime/runtime.h"
#include "scheduler/taskdef.h"

#define HINT "; see docs/TASKDEF.md"

/* The state of one container's parse: the document, the container's path
 * ("containerDefinitions[2]") and scratch buffers for member paths. */
struct cctx {
	const char *pfx;
	const struct berth_taskdef *td;
	size_t idx;
	char base[64];
	struct berth_err *err;
};

static int oom(struct cctx *x)
{
	return berth_err_set(x->err, ENOMEM, "%s: %s", x->pfx, x->base);
}


/* An array member: NULL when not given, -1 when given but not an array. */
static int get_array(struct cctx *x, const cJSON *o, const char *path, const char *key, const cJSON **out)
{
	const cJSON *a = berth_json_member(o, key);
	*out = a;
	if (a && !cJSON_IsArray(a)) {
		char p[BERTH_JSON_PATH_MAX];
		return berth_json_err(x->err, x->pfx, berth_json_path(p, path, key), "must be an array");
	}
	return 0;
}

/* An object element of an array at path[i]; its path goes into p. */
static int element(struct cctx *x, const cJSON *it, const char *path, size_t i, const char *const *keys,
		   char p[BERTH_JSON_PATH_MAX])
{
	berth_json_path_index(p, path, i);
	if (!cJSON_IsObject(it))
		return berth_json_err(x->err, x->pfx, p, "must be an object");
	return berth_json_check_keys(it, keys, x->pfx, p, HINT, x->err);
}

static int required_str(struct cctx *x, const cJSON *o, const char *path, const char *key, const char **out)
{
	if (berth_json_get_str(o, key, x->pfx, path, out, x->err) < 0)
		return -1;
	if (!*out) {
		char p[BERTH_JSON_PATH_MAX];
		return berth_json_err(x->err, x->pfx, berth_json_path(p, path, key), "required");
	}
	return 0;
}

/* ---- refused fields ----------------------------------------------------- */

static int refuse(struct cctx *x, const cJSON *o, const char *key, const char *why)
{
	if (!berth_json_member(o, key))
		return 0;
	char p[BERTH_JSON_PATH_MAX];
	return berth_json_err(x->err, x->pfx, berth_json_path(p, x->base, key), "%s" HINT, why);
}

/* A boolean berth accepts only as false. */
static int refuse_true(struct cctx *x, const cJSON *o, const char *key, const char *why)
{
	bool v = false;
	if (berth_json_get_bool(o, key, x->pfx, x->base, NULL, &v, x->err) < 0)
		return -1;
	if (!v)
		return 0;
	char p[BERTH_JSON_PATH_MAX];
	return berth_json_err(x->err, x->pfx, berth_json_path(p, x->base, key), "%s" HINT, why);
}

static int refusals(struct cctx *x, const cJSON *o)
{
	bool none = x->td->network_mode == BERTH_TD_NET_NONE;
	const char *mode = none ? "not supported with networkMode \"none\"" : "not valid with networkMode \"awsvpc\"";
	char links[160], host[200], dns[200], extra[200], nonet[200];
	snprintf(links, sizeof(links), "%s: the task's containers share one network namespace and reach each "
		 "other on localhost", mode);
	snprintf(host, sizeof(host), "%s: berth names the task itself", mode);
	snprintf(dns, sizeof(dns), "%s: set network.dns in berth's configuration", mode);
	snprintf(extra, sizeof(extra), "%s: berth writes the task's /etc/hosts", mode);
	snprintf(nonet, sizeof(nonet), "%s: use networkMode \"none\" for a task without a network", mode);
	if (refuse(x, o, "links", links) < 0 || refuse(x, o, "hostname", host) < 0 ||
	    refuse(x, o, "dnsServers", dns) < 0 || refuse(x, o, "dnsSearchDomains", dns) < 0 ||
	    refuse(x, o, "extraHosts", extra) < 0 || refuse_true(x, o, "disableNetworking", nonet) < 0 ||
	    refuse_true(x, o, "privileged", "berth never runs privileged containers (docs/SECURITY.md)") < 0 ||
	    refuse_true(x, o, "interactive", "berth tasks have no stdin") < 0 ||
	    refuse_true(x, o, "pseudoTerminal", "berth tasks have no terminal") < 0 ||
	    refuse(x, o, "repositoryCredentials",
		   "private-registry credentials are not supported: berth runs images from its own store "
		   "(berth image load)") < 0 ||
	    refuse(x, o, "volumesFrom",
		   "not supported: declare a task volume and list it in the mountPoints of both containers") < 0 ||
	    refuse(x, o, "dockerSecurityOptions",
		   "not supported: berth applies its own seccomp profile, capabilities and no_new_privs") < 0 ||
	    refuse(x, o, "systemControls", "namespaced sysctls are not supported yet") < 0 ||
	    refuse(x, o, "resourceRequirements", "GPUs and inference accelerators are not supported") < 0 ||
	    refuse(x, o, "firelensConfiguration",
		   "FireLens log routing is not supported (berth keeps each container's output itself)") < 0 ||
	    refuse(x, o, "credentialSpecs", "Active Directory credential specs are not supported") < 0)
		return -1;
	const cJSON *rp = berth_json_member(o, "restartPolicy");
	if (rp) {
		static const char *const keys[] = {"enabled", "ignoredExitCodes", "restartAttemptPeriod", NULL};
		char p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
		berth_json_path(p, x->base, "restartPolicy");
		bool on = false;
		if (!cJSON_IsObject(rp))
			return berth_json_err(x->err, x->pfx, p, "must be an object");
		if (berth_json_check_keys(rp, keys, x->pfx, p, HINT, x->err) < 0 ||
		    berth_json_get_bool(rp, "enabled", x->pfx, p, NULL, &on, x->err) < 0)
			return -1;
		if (on)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "enabled"),
					      "container restart policies are not supported: a container is never "
					      "restarted in place (an essential one stops the task)" HINT);
	}
	return 0;
}

/* ---- scalars ------------------------------------------------------------ */

static bool valid_image(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 255 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:./#@") == n;
}

/* "user", "uid", "user:group", "uid:gid" and the mixes. */
static bool valid_user(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 255)
		return false;
	const char *colon = strchr(s, ':');
	if (colon && (colon == s || !colon[1] || strchr(colon + 1, ':')))
		return false;
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-:";
	return strspn(s, ok) == n;
}

static int get_u32(struct cctx *x, const cJSON *o, const char *path, const char *key, int64_t lo, int64_t hi,
		   bool *present, uint32_t *out)
{
	int64_t v;
	bool has;
	if (berth_json_get_int(o, key, x->pfx, path, lo, hi, &has, &v, x->err) < 0)
		return -1;
	if (present)
		*present = has;
	if (has)
		*out = (uint32_t)v;
	return 0;
}

static int dup_opt(struct cctx *x, const char *s, char **out)
{
	if (s && !(*out = strdup(s)))
		return oom(x);
	return 0;
}

static int parse_scalars(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	char p[BERTH_JSON_PATH_MAX];
	const char *image, *user, *wd, *vc;
	if (required_str(x, o, x->base, "image", &image) < 0)
		return -1;
	if (!valid_image(image))
		return berth_json_err(x->err, x->pfx, berth_json_path(p, x->base, "image"),
				      "must be an image reference (1-255 of [A-Za-z0-9-_:./#@]), not \"%s\"", image);
	/* ECS's container memory floor is Docker's: 6 MiB. */
	bool has_mem = false, has_res = false;
	if (get_u32(x, o, x->base, "cpu", 0, 192 * 1024, NULL, &c->cpu_units) < 0 ||
	    get_u32(x, o, x->base, "memory", 6, 4 << 20, &has_mem, &c->memory_mib) < 0 ||
	    get_u32(x, o, x->base, "memoryReservation", 6, 4 << 20, &has_res, &c->memory_reservation_mib) < 0)
		return -1;
	if (has_mem && has_res && c->memory_reservation_mib >= c->memory_mib)
		return berth_json_err(x->err, x->pfx, berth_json_path(p, x->base, "memoryReservation"),
				      "must be less than memory (%u MiB), not %u", c->memory_mib,
				      c->memory_reservation_mib);
	c->essential = true;
	if (berth_json_get_bool(o, "essential", x->pfx, x->base, NULL, &c->essential, x->err) < 0 ||
	    berth_json_get_strv(o, "entryPoint", x->pfx, x->base, &c->entry_point, NULL, x->err) < 0 ||
	    berth_json_get_strv(o, "command", x->pfx, x->base, &c->command, NULL, x->err) < 0)
		return -1;
	c->stop_timeout = BERTH_TD_STOP_TIMEOUT_DEFAULT;
	if (get_u32(x, o, x->base, "startTimeout", 2, 120, NULL, &c->start_timeout) < 0 ||
	    get_u32(x, o, x->base, "stopTimeout", 0, 120, &c->stop_timeout_given, &c->stop_timeout) < 0)
		return -1;
	if (berth_json_get_str(o, "user", x->pfx, x->base, &user, x->err) < 0 ||
	    berth_json_get_str(o, "workingDirectory", x->pfx, x->base, &wd, x->err) < 0 ||
	    berth_json_get_str(o, "versionConsistency", x->pfx, x->base, &vc, x->err) < 0 ||
	    berth_json_get_bool(o, "readonlyRootFilesystem", x->pfx, x->base, NULL, &c->readonly_rootfs, x->err) < 0)
		return -1;
	if (user && !valid_user(user))
		return berth_json_err(x->err, x->pfx, berth_json_path(p, x->base, "user"),
				      "must be user, uid, user:group or uid:gid, not \"%s\"", user);
	if (wd && !berth_td_clean_abs_path(wd))
		return berth_json_err(x->err, x->pfx, berth_json_path(p, x->base, "workingDirectory"),
				      "must be an absolute path without \".\" or \"..\" components, not \"%s\"", wd);
	if (vc && strcmp(vc, "enabled") != 0 && strcmp(vc, "disabled") != 0)
		return berth_json_err(x->err, x->pfx, berth_json_path(p, x->base, "versionConsistency"),
				      "must be \"enabled\" or \"disabled\", not \"%s\"", vc);
	if (!(c->image = strdup(image)) || dup_opt(x, user, &c->user) < 0 ||
	    dup_opt(x, wd, &c->working_directory) < 0 || dup_opt(x, vc, &c->version_consistency) < 0)
		return oom(x);
	return 0;
}

/* ---- environment -------------------------------------------------------- */

static bool valid_env_name(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 255 && !strchr(s, '=') && !berth_td_has_ctl(s) && !strchr(s, ' ');
}

/* Names are unique across environment and secrets: which would win is not
 * something a reader of the definition should have to know. */
static int env_name_clash(struct cctx *x, const struct berth_td_container *c, const char *name, const char *p)
{
	char q[BERTH_JSON_PATH_MAX];
	for (size_t i = 0; i < c->nenv; i++)
		if (!strcmp(c->env[i].name, name))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "name"),
					      "\"%s\" is also set by %s.environment[%zu]", name, x->base, i);
	for (size_t i = 0; i < c->nsecrets; i++)
		if (!strcmp(c->secrets[i].name, name))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "name"),
					      "\"%s\" is also set by %s.secrets[%zu]", name, x->base, i);
	return 0;
}

static int parse_environment(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"name", "value", NULL};
	char path[BERTH_JSON_PATH_MAX], p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *a, *it;
	berth_json_path(path, x->base, "environment");
	if (get_array(x, o, x->base, "environment", &a) < 0)
		return -1;
	if (!a)
		return 0;
	if (!(c->env = calloc((size_t)cJSON_GetArraySize(a), sizeof(*c->env))))
		return oom(x);
	size_t i = 0;
	cJSON_ArrayForEach(it, a) {
		const char *name, *value;
		if (element(x, it, path, i++, keys, p) < 0 || required_str(x, it, p, "name", &name) < 0 ||
		    berth_json_get_str(it, "value", x->pfx, p, &value, x->err) < 0)
			return -1;
		if (!valid_env_name(name))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "name"),
					      "must be a variable name without '=', spaces or control characters, "
					      "not \"%s\"",
					      name);
		if (env_name_clash(x, c, name, p) < 0)
			return -1;
		struct berth_td_env *e = &c->env[c->nenv];
		if (!(e->name = strdup(name)) || !(e->value = strdup(value ? value : ""))) {
			free(e->name);
			return oom(x);
		}
		c->nenv++;
	}
	return 0;
}

static int parse_env_files(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"type", "value", NULL};
	char path[BERTH_JSON_PATH_MAX], p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *a, *it;
	berth_json_path(path, x->base, "environmentFiles");
	if (get_array(x, o, x->base, "environmentFiles", &a) < 0)
		return -1;
	if (!a)
		return 0;
	size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
	if (n > 10)
		return berth_json_err(x->err, x->pfx, path, "at most 10 files, not %zu", n);
	if (!(c->env_files = calloc(n + 1, sizeof(char *))))
		return oom(x);
	cJSON_ArrayForEach(it, a) {
		const char *type, *value;
		if (element(x, it, path, i++, keys, p) < 0 || required_str(x, it, p, "type", &type) < 0 ||
		    required_str(x, it, p, "value", &value) < 0)
			return -1;
		if (!strcmp(type, "s3"))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "type"),
					      "S3 environment files are not supported (berth does not read S3); give a "
					      "file on this host instead: {\"type\": \"file\", \"value\": "
					      "\"/etc/app/app.env\"}" HINT);
		if (strcmp(type, "file") != 0)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "type"),
					      "must be \"file\" (berth) or \"s3\" (ECS, refused), not \"%s\"", type);
		if (!berth_td_clean_abs_path(value))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "value"),
					      "must be an absolute host path without \".\" or \"..\" components, "
					      "not \"%s\"",
					      value);
		if (!(c->env_files[c->nenv_files] = strdup(value)))
			return oom(x);
		c->nenv_files++;
	}
	return 0;
}

static int parse_secrets(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"name", "valueFrom", NULL};
	char path[BERTH_JSON_PATH_MAX], p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *a, *it;
	berth_json_path(path, x->base, "secrets");
	if (get_array(x, o, x->base, "secrets", &a) < 0)
		return -1;
	if (!a)
		return 0;
	if (!(c->secrets = calloc((size_t)cJSON_GetArraySize(a), sizeof(*c->secrets))))
		return oom(x);
	size_t i = 0;
	cJSON_ArrayForEach(it, a) {
		const char *name, *from;
		if (element(x, it, path, i++, keys, p) < 0 || required_str(x, it, p, "name", &name) < 0 ||
		    required_str(x, it, p, "valueFrom", &from) < 0)
			return -1;
		if (!valid_env_name(name))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "name"),
					      "must be a variable name without '=', spaces or control characters, "
					      "not \"%s\"",
					      name);
		if (strlen(from) > 2048 || berth_td_has_ctl(from) || strchr(from, ' '))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "valueFrom"),
					      "must be a secret name or ARN (at most 2048 characters, no spaces)");
		if (env_name_clash(x, c, name, p) < 0)
			return -1;
		struct berth_td_secret *s = &c->secrets[c->nsecrets];
		if (!(s->name = strdup(name)) || !(s->value_from = strdup(from))) {
			free(s->name);
			return oom(x);
		}
		c->nsecrets++;
	}
	return 0;
}

/* ---- ports, mounts, dependencies ---------------------------------------- */

static bool valid_port_name(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 && s[0] != '-' && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int parse_ports(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"containerPort", "hostPort", "protocol", "name", "appProtocol",
					   "containerPortRange", NULL};
	char path[BERTH_JSON_PATH_MAX], p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *a, *it;
	berth_json_path(path, x->base, "portMappings");
	if (get_array(x, o, x->base, "portMappings", &a) < 0)
		return -1;
	if (!a)
		return 0;
	if (x->td->network_mode == BERTH_TD_NET_NONE)
		return berth_json_err(x->err, x->pfx, path,
				      "not valid with networkMode \"none\" (the task has no network)");
	size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
	if (!(c->ports = calloc(n, sizeof(*c->ports))) || !(c->port_info = calloc(n, sizeof(*c->port_info))))
		return oom(x);
	cJSON_ArrayForEach(it, a) {
		if (element(x, it, path, i++, keys, p) < 0)
			return -1;
		if (berth_json_member(it, "containerPortRange"))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "containerPortRange"),
					      "port ranges are not supported; map each port" HINT);
		int64_t cport = 0, hport = 0;
		bool has_c, has_h;
		if (berth_json_get_int(it, "containerPort", x->pfx, p, 1, 65535, &has_c, &cport, x->err) < 0 ||
		    berth_json_get_int(it, "hostPort", x->pfx, p, 0, 65535, &has_h, &hport, x->err) < 0)
			return -1;
		if (!has_c)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "containerPort"), "required");
		if (has_h && hport != cport)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "hostPort"),
					      "must be omitted or equal to containerPort (%" PRId64 ") with networkMode "
					      "\"awsvpc\", not %" PRId64 "; berth publishes ports on the host at run "
					      "time (berth run -p HOST:CONTAINER)" HINT,
					      cport, hport);
		const char *proto, *name, *app;
		if (berth_json_get_str(it, "protocol", x->pfx, p, &proto, x->err) < 0 ||
		    berth_json_get_str(it, "name", x->pfx, p, &name, x->err) < 0 ||
		    berth_json_get_str(it, "appProtocol", x->pfx, p, &app, x->err) < 0)
			return -1;
		struct berth_port *port = &c->ports[c->nports];
		if (!proto || !strcmp(proto, "tcp"))
			port->proto = BERTH_PROTO_TCP;
		else if (!strcmp(proto, "udp"))
			port->proto = BERTH_PROTO_UDP;
		else
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "protocol"),
					      "must be \"tcp\" or \"udp\", not \"%s\"", proto);
		port->ctr_port = (uint16_t)cport;
		port->host_port = 0;
		if (name && !valid_port_name(name))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "name"),
					      "must be 1-64 of [a-z0-9_-], not starting with '-', not \"%s\"", name);
		if (app && strcmp(app, "http") != 0 && strcmp(app, "http2") != 0 && strcmp(app, "grpc") != 0)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "appProtocol"),
					      "must be \"http\", \"http2\" or \"grpc\", not \"%s\"", app);
		struct berth_td_port_info *info = &c->port_info[c->nports];
		c->nports++; /* counted first: port_info is freed with it */
		if (dup_opt(x, name, &info->name) < 0 || dup_opt(x, app, &info->app_protocol) < 0)
			return -1;
	}
	return 0;
}

static int parse_mounts(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"sourceVolume", "containerPath", "readOnly", NULL};
	char path[BERTH_JSON_PATH_MAX], p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *a, *it;
	berth_json_path(path, x->base, "mountPoints");
	if (get_array(x, o, x->base, "mountPoints", &a) < 0)
		return -1;
	if (!a)
		return 0;
	if (!(c->mounts = calloc((size_t)cJSON_GetArraySize(a), sizeof(*c->mounts))))
		return oom(x);
	size_t i = 0;
	cJSON_ArrayForEach(it, a) {
		const char *vol, *cpath;
		struct berth_td_mount m = {0};
		if (element(x, it, path, i++, keys, p) < 0 || required_str(x, it, p, "sourceVolume", &vol) < 0 ||
		    required_str(x, it, p, "containerPath", &cpath) < 0 ||
		    berth_json_get_bool(it, "readOnly", x->pfx, p, NULL, &m.read_only, x->err) < 0)
			return -1;
		size_t v = 0;
		while (v < x->td->nvolumes && strcmp(x->td->volumes[v].name, vol) != 0)
			v++;
		if (v == x->td->nvolumes)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "sourceVolume"),
					      "no volume \"%s\" in the task's volumes", vol);
		if (!berth_td_clean_abs_path(cpath) || !strcmp(cpath, "/"))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "containerPath"),
					      "must be an absolute path (not \"/\") without \".\" or \"..\" components, "
					      "not \"%s\"",
					      cpath);
		for (size_t k = 0; k < c->nmounts; k++)
			if (!strcmp(c->mounts[k].container_path, cpath))
				return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "containerPath"),
						      "\"%s\" is also the path of %s[%zu]", cpath, path, k);
		m.volume = v;
		if (!(m.container_path = strdup(cpath)))
			return oom(x);
		c->mounts[c->nmounts++] = m;
	}
	return 0;
}

static int parse_deps(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"containerName", "condition", NULL};
	static const char *const conds[] = {"START", "COMPLETE", "SUCCESS", "HEALTHY"};
	char path[BERTH_JSON_PATH_MAX], p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *a, *it;
	berth_json_path(path, x->base, "dependsOn");
	if (get_array(x, o, x->base, "dependsOn", &a) < 0)
		return -1;
	if (!a)
		return 0;
	if (!(c->deps = calloc((size_t)cJSON_GetArraySize(a), sizeof(*c->deps))))
		return oom(x);
	size_t i = 0;
	cJSON_ArrayForEach(it, a) {
		const char *name, *cond;
		if (element(x, it, path, i++, keys, p) < 0 || required_str(x, it, p, "containerName", &name) < 0 ||
		    required_str(x, it, p, "condition", &cond) < 0)
			return -1;
		int d = berth_taskdef_container_index(x->td, name);
		if (d < 0)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "containerName"),
					      "no container \"%s\" in the task definition", name);
		if ((size_t)d == x->idx)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "containerName"),
					      "a container cannot depend on itself");
		for (size_t k = 0; k < c->ndeps; k++)
			if (c->deps[k].container == (size_t)d)
				return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "containerName"),
						      "\"%s\" is also named by %s[%zu]", name, path, k);
		size_t k = 0;
		while (k < 4 && strcmp(conds[k], cond) != 0)
			k++;
		if (k == 4)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "condition"),
					      "must be START, COMPLETE, SUCCESS or HEALTHY, not \"%s\"", cond);
		c->deps[c->ndeps++] = (struct berth_td_dep){.container = (size_t)d, .condition = (enum berth_td_dep_cond)k};
	}
	return 0;
}

/* ---- healthCheck, ulimits, linuxParameters, logConfiguration ------------ */

static int parse_health(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"command", "interval", "timeout", "retries", "startPeriod", NULL};
	char p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *h = berth_json_member(o, "healthCheck");
	if (!h)
		return 0;
	berth_json_path(p, x->base, "healthCheck");
	if (!cJSON_IsObject(h))
		return berth_json_err(x->err, x->pfx, p, "must be an object");
	if (berth_json_check_keys(h, keys, x->pfx, p, HINT, x->err) < 0)
		return -1;
	struct berth_td_health_check *hc = calloc(1, sizeof(*hc));
	if (!hc)
		return oom(x);
	c->health_check = hc;
	*hc = (struct berth_td_health_check){.interval = 30, .timeout = 5, .retries = 3};
	_cleanup_strv_ char **cmd = NULL;
	size_t n;
	if (berth_json_get_strv(h, "command", x->pfx, p, &cmd, &n, x->err) < 0)
		return -1;
	berth_json_path(q, p, "command");
	if (!cmd)
		return berth_json_err(x->err, x->pfx, q, "required ([\"CMD-SHELL\", \"command\"] or [\"CMD\", exe, args...])");
	size_t skip = 0;
	if (!strcmp(cmd[0], "CMD")) {
		skip = 1;
	} else if (!strcmp(cmd[0], "CMD-SHELL")) {
		hc->kind = BERTH_TD_HC_SHELL;
		skip = 1;
		if (n != 2 || !cmd[1][0])
			return berth_json_err(x->err, x->pfx, q,
					      "CMD-SHELL takes exactly one string, the shell command");
	} else if (!strcmp(cmd[0], "NONE")) {
		return berth_json_err(x->err, x->pfx, q, "NONE is not supported: leave healthCheck out instead");
	}
	if (n <= skip || !cmd[skip][0])
		return berth_json_err(x->err, x->pfx, q, "CMD needs the program to run");
	if (skip) { /* drop the prefix; the NULL terminator moves down too */
		free(cmd[0]);
		memmove(cmd, cmd + 1, n * sizeof(char *));
	}
	hc->argv = TAKE_PTR(cmd);
	if (get_u32(x, h, p, "interval", 5, 300, NULL, &hc->interval) < 0 ||
	    get_u32(x, h, p, "timeout", 2, 60, NULL, &hc->timeout) < 0 ||
	    get_u32(x, h, p, "retries", 1, 10, NULL, &hc->retries) < 0 ||
	    get_u32(x, h, p, "startPeriod", 0, 300, NULL, &hc->start_period) < 0)
		return -1;
	return 0;
}

static const struct {
	const char *name;
	int resource;
} ulimit_names[] = {
	{"core", RLIMIT_CORE},       {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
	{"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},     {"memlock", RLIMIT_MEMLOCK},
	{"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},     {"nofile", RLIMIT_NOFILE},
	{"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},         {"rtprio", RLIMIT_RTPRIO},
	{"rttime", RLIMIT_RTTIME},   {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};
#define NULIMITS (sizeof(ulimit_names) / sizeof(ulimit_names[0]))

const char *berth_td_ulimit_name(int resource)
{
	for (size_t i = 0; i < NULIMITS; i++)
		if (ulimit_names[i].resource == resource)
			return ulimit_names[i].name;
	return NULL;
}

static int parse_ulimits(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"name", "softLimit", "hardLimit", NULL};
	char path[BERTH_JSON_PATH_MAX], p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *a, *it;
	berth_json_path(path, x->base, "ulimits");
	if (get_array(x, o, x->base, "ulimits", &a) < 0)
		return -1;
	if (!a)
		return 0;
	if (!(c->ulimits = calloc((size_t)cJSON_GetArraySize(a), sizeof(*c->ulimits))))
		return oom(x);
	size_t i = 0;
	cJSON_ArrayForEach(it, a) {
		const char *name;
		if (element(x, it, path, i++, keys, p) < 0 || required_str(x, it, p, "name", &name) < 0)
			return -1;
		size_t k = 0;
		while (k < NULIMITS && strcmp(ulimit_names[k].name, name) != 0)
			k++;
		if (k == NULIMITS)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "name"),
					      "\"%s\" is not a ulimit (core, cpu, data, fsize, locks, memlock, msgqueue, "
					      "nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)",
					      name);
		int res = ulimit_names[k].resource;
		for (size_t j = 0; j < c->nulimits; j++)
			if (c->ulimits[j].resource == res)
				return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "name"),
						      "\"%s\" is also set by %s[%zu]", name, path, j);
		/* nofile above fs.nr_open's default cannot be set. */
		int64_t max = res == RLIMIT_NOFILE ? 1048576 : INT32_MAX, soft, hard;
		bool has_s, has_h;
		if (berth_json_get_int(it, "softLimit", x->pfx, p, 0, max, &has_s, &soft, x->err) < 0 ||
		    berth_json_get_int(it, "hardLimit", x->pfx, p, 0, max, &has_h, &hard, x->err) < 0)
			return -1;
		if (!has_s || !has_h)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, has_s ? "hardLimit" : "softLimit"),
					      "required");
		if (soft > hard)
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "softLimit"),
					      "%" PRId64 " is above hardLimit (%" PRId64 ")", soft, hard);
		c->ulimits[c->nulimits++] = (struct berth_rlimit){.resource = res, .soft = (rlim_t)soft, .hard = (rlim_t)hard};
	}
	return 0;
}

int berth_td_cap_name(int bit, char *buf, size_t n)
{
	char *s = cap_to_name((cap_value_t)bit);
	if (!s)
		return -1;
	int r = -1;
	if (!strncmp(s, "cap_", 4) && strlen(s + 4) < n) {
		size_t i = 0;
		for (const char *p = s + 4; *p; p++)
			buf[i++] = (char)toupper((unsigned char)*p);
		buf[i] = '\0';
		r = 0;
	}
	cap_free(s);
	return r;
}

/* ECS's capability names: "SYS_PTRACE" (no CAP_ prefix, upper case). */
static int parse_caps(struct cctx *x, const cJSON *caps, const char *path, const char *key, uint64_t *bits,
		      bool *all)
{
	char p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	_cleanup_strv_ char **v = NULL;
	size_t n;
	if (berth_json_get_strv(caps, key, x->pfx, path, &v, &n, x->err) < 0)
		return -1;
	berth_json_path(p, path, key);
	for (size_t i = 0; i < n; i++) {
		berth_json_path_index(q, p, i);
		if (!strcmp(v[i], "ALL")) {
			if (!all)
				return berth_json_err(x->err, x->pfx, q,
						      "adding ALL capabilities is not supported (it is privileged in all "
						      "but name); add the ones the container needs");
			*all = true;
			continue;
		}
		int b = berth_cap_from_name(v[i]);
		bool ecs_form = strspn(v[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") == strlen(v[i]) &&
				strncmp(v[i], "CAP_", 4) != 0;
		if (b < 0)
			return berth_json_err(x->err, x->pfx, q, "unknown capability \"%s\"", v[i]);
		if (!ecs_form) {
			char want[64];
			if (berth_td_cap_name(b, want, sizeof(want)) < 0)
				snprintf(want, sizeof(want), "?");
			return berth_json_err(x->err, x->pfx, q, "capability \"%s\" must be written \"%s\" (ECS's spelling)",
					      v[i], want);
		}
		*bits |= 1ull << b;
	}
	return 0;
}

static int parse_linux(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"capabilities", "initProcessEnabled", "sharedMemorySize", "tmpfs",
					   "devices",      "maxSwap",            "swappiness",       NULL};
	static const char *const ckeys[] = {"add", "drop", NULL};
	char p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *lp = berth_json_member(o, "linuxParameters");
	if (!lp)
		return 0;
	berth_json_path(p, x->base, "linuxParameters");
	if (!cJSON_IsObject(lp))
		return berth_json_err(x->err, x->pfx, p, "must be an object");
	if (berth_json_check_keys(lp, keys, x->pfx, p, HINT, x->err) < 0)
		return -1;
	static const struct {
		const char *key, *why;
	} refused[] = {
		{"sharedMemorySize", "not supported: every container gets a 64 MiB /dev/shm"},
		{"tmpfs", "not supported: use a task-scoped volume"},
		{"devices", "host devices are not passed to containers"},
		{"maxSwap", "not supported: berth runs containers without swap"},
		{"swappiness", "not supported: berth runs containers without swap"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (berth_json_member(lp, refused[i].key))
			return berth_json_err(x->err, x->pfx, berth_json_path(q, p, refused[i].key), "%s" HINT,
					      refused[i].why);
	if (berth_json_get_bool(lp, "initProcessEnabled", x->pfx, p, NULL, &c->init_process, x->err) < 0)
		return -1;
	const cJSON *caps = berth_json_member(lp, "capabilities");
	if (!caps)
		return 0;
	berth_json_path(q, p, "capabilities");
	if (!cJSON_IsObject(caps))
		return berth_json_err(x->err, x->pfx, q, "must be an object {\"add\", \"drop\"}");
	if (berth_json_check_keys(caps, ckeys, x->pfx, q, HINT, x->err) < 0 ||
	    parse_caps(x, caps, q, "add", &c->cap_add, NULL) < 0 ||
	    parse_caps(x, caps, q, "drop", &c->cap_drop, &c->cap_drop_all) < 0)
		return -1;
	return 0;
}

/* A map of string values (dockerLabels, log options) into kv[]. */
static int parse_map(struct cctx *x, const cJSON *m, const char *path, const char *const *allowed,
		     struct berth_td_kv **out, size_t *n)
{
	char q[BERTH_JSON_PATH_MAX];
	if (!cJSON_IsObject(m))
		return berth_json_err(x->err, x->pfx, path, "must be an object of strings");
	if (allowed && berth_json_check_keys(m, allowed, x->pfx, path, HINT, x->err) < 0)
		return -1;
	if (!(*out = calloc((size_t)cJSON_GetArraySize(m), sizeof(**out))))
		return oom(x);
	const cJSON *it;
	cJSON_ArrayForEach(it, m) {
		berth_json_path(q, path, it->string);
		if (!it->string[0] || berth_td_has_ctl(it->string) || strlen(it->string) > 255)
			return berth_json_err(x->err, x->pfx, path, "key \"%s\" must be 1-255 printable characters",
					      it->string);
		if (!cJSON_IsString(it))
			return berth_json_err(x->err, x->pfx, q, "must be a string");
		for (size_t k = 0; k < *n; k++)
			if (!strcmp((*out)[k].key, it->string))
				return berth_json_err(x->err, x->pfx, q, "given twice");
		struct berth_td_kv *kv = &(*out)[*n];
		if (!(kv->key = strdup(it->string)) || !(kv->value = strdup(it->valuestring))) {
			free(kv->key);
			return oom(x);
		}
		(*n)++;
	}
	return 0;
}

static int parse_log(struct cctx *x, const cJSON *o, struct berth_td_container *c)
{
	static const char *const keys[] = {"logDriver", "options", "secretOptions", NULL};
	/* Docker's awslogs options. */
	static const char *const awslogs[] = {
		"awslogs-group",        "awslogs-region",          "awslogs-stream-prefix",
		"awslogs-stream",       "awslogs-create-group",    "awslogs-datetime-format",
		"awslogs-multiline-pattern", "awslogs-endpoint",   "awslogs-credentials-endpoint",
		"awslogs-format",       "awslogs-force-flush-interval-seconds", "mode",
		"max-buffer-size",      "tag",                     NULL,
	};
	char p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
	const cJSON *lc = berth_json_member(o, "logConfiguration");
	if (!lc)
		return 0;
	berth_json_path(p, x->base, "logConfiguration");
	if (!cJSON_IsObject(lc))
		return berth_json_err(x->err, x->pfx, p, "must be an object");
	const char *driver;
	if (berth_json_check_keys(lc, keys, x->pfx, p, HINT, x->err) < 0 ||
	    required_str(x, lc, p, "logDriver", &driver) < 0)
		return -1;
	if (strcmp(driver, "awslogs") != 0)
		return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "logDriver"),
				      "\"%s\" is not supported: berth keeps each container's output itself and takes "
				      "\"awslogs\" (its options are recorded)" HINT,
				      driver);
	if (berth_json_member(lc, "secretOptions"))
		return berth_json_err(x->err, x->pfx, berth_json_path(q, p, "secretOptions"),
				      "not supported (awslogs takes no secrets)" HINT);
	if (!(c->log.driver = strdup(driver)))
		return oom(x);
	const cJSON *opts = berth_json_member(lc, "options");
	if (!opts)
		return 0;
	berth_json_path(q, p, "options");
	if (parse_map(x, opts, q, awslogs, &c->log.options, &c->log.noptions) < 0)
		return -1;
	for (size_t i = 0; i < c->log.noptions; i++) {
		const struct berth_td_kv *kv = &c->log.options[i];
		char r[BERTH_JSON_PATH_MAX];
		berth_json_path(r, q, kv->key);
		if (!strcmp(kv->key, "mode") && strcmp(kv->value, "blocking") != 0 && strcmp(kv->value, "non-blocking") != 0)
			return berth_json_err(x->err, x->pfx, r, "must be \"blocking\" or \"non-blocking\", not \"%s\"",
					      kv->value);
		if (!strcmp(kv->key, "awslogs-create-group") && strcmp(kv->value, "true") != 0 &&
		    strcmp(kv->value, "false") != 0)
			return berth_json_err(x->err, x->pfx, r, "must be \"true\" or \"false\", not \"%s\"", kv->value);
	}
	return 0;
}

/* ---- the container ------------------------------------------------------ */

int berth_td_parse_container(const cJSON *o, size_t idx, const struct berth_taskdef *td, const char *prefix,
			     struct berth_td_container *c, struct berth_err *err)
{
	static const char *const keys[] = {
		"name",           "image",          "repositoryCredentials", "cpu",
		"memory",         "memoryReservation", "links",              "portMappings",
		"essential",      "restartPolicy",  "entryPoint",            "command",
		"environment",    "environmentFiles", "mountPoints",         "volumesFrom",
		"linuxParameters", "secrets",       "dependsOn",             "startTimeout",
		"stopTimeout",    "versionConsistency", "hostname",          "user",
		"workingDirectory", "disableNetworking", "privileged",       "readonlyRootFilesystem",
		"dnsServers",     "dnsSearchDomains", "extraHosts",          "dockerSecurityOptions",
		"interactive",    "pseudoTerminal", "dockerLabels",          "ulimits",
		"logConfiguration", "healthCheck",  "systemControls",        "resourceRequirements",
		"firelensConfiguration", "credentialSpecs", NULL,
	};
	struct cctx x = {.pfx = prefix, .td = td, .idx = idx, .err = err};
	snprintf(x.base, sizeof(x.base), "containerDefinitions[%zu]", idx);
	if (berth_json_check_keys(o, keys, prefix, x.base, HINT, err) < 0 || refusals(&x, o) < 0 ||
	    parse_scalars(&x, o, c) < 0 || parse_environment(&x, o, c) < 0 || parse_env_files(&x, o, c) < 0 ||
	    parse_secrets(&x, o, c) < 0 || parse_ports(&x, o, c) < 0 || parse_mounts(&x, o, c) < 0 ||
	    parse_deps(&x, o, c) < 0 || parse_health(&x, o, c) < 0 || parse_ulimits(&x, o, c) < 0 ||
	    parse_linux(&x, o, c) < 0 || parse_log(&x, o, c) < 0)
		return -1;
	const cJSON *labels = berth_json_member(o, "dockerLabels");
	if (labels) {
		char p[BERTH_JSON_PATH_MAX];
		if (parse_map(&x, labels, berth_json_path(p, x.base, "dockerLabels"), NULL, &c->labels, &c->nlabels) < 0)
			return -1;
	}
	return 0;
}
