/* berth scheduler/ — ECS task definitions: reading the input (size cap,
 * describe-output unwrapping, empty-value cleaning), the task-level fields,
 * the checks across containers, and the DescribeTaskDefinition JSON.
 * Container definitions are in taskdef_container.c; docs/TASKDEF.md is the
 * contract, field by field. */
#include "scheduler/taskdef.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "common/util.h"
#include "scheduler/resources.h"

#define HINT "; see docs/TASKDEF.md"

#if defined(__x86_64__)
#define HOST_ARCH "X86_64"
#elif defined(__aarch64__)
#define HOST_ARCH "ARM64"
#else
#define HOST_ARCH "unknown"
#endif

/* ---- reading the input -------------------------------------------------- */

/* Keys of DescribeTaskDefinition's output that a registration does not take
 * (the list aws-actions/amazon-ecs-deploy-task-definition strips). */
static const char *const readonly_keys[] = {
	"taskDefinitionArn", "revision",     "status",       "requiresAttributes",
	"compatibilities",   "registeredAt", "registeredBy", "deregisteredAt",
};

/* Members whose value is a map of free-form keys: an empty string in it is
 * a value, not "not given". */
static bool is_map_key(const char *k)
{
	return k && (!strcmp(k, "dockerLabels") || !strcmp(k, "options") || !strcmp(k, "driverOpts") ||
		     !strcmp(k, "labels"));
}

static bool is_empty_container(const cJSON *j)
{
	return (cJSON_IsArray(j) || cJSON_IsObject(j)) && !j->child;
}

/* An array that says nothing: every element null or an empty object. */
static bool all_elements_empty(const cJSON *a)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, a)
		if (!cJSON_IsNull(it) && !(cJSON_IsObject(it) && !it->child))
			return false;
	return true;
}

/* Drop every member that is null, "" (outside maps, and except an
 * environment/tag "value"), an empty array or object (after cleaning its
 * own members), or an array of nothing but nulls and empty objects: ECS
 * and the AWS tools read all of those as "not given".  Array elements are
 * never removed (indices in messages stay those of the input). */
static void clean(cJSON *j, bool in_map)
{
	cJSON *it = j->child;
	while (it) {
		cJSON *next = it->next;
		if (cJSON_IsArray(it) || cJSON_IsObject(it))
			clean(it, cJSON_IsObject(j) && is_map_key(it->string));
		if (cJSON_IsObject(j)) {
			bool drop = cJSON_IsNull(it) || is_empty_container(it) ||
				    (cJSON_IsArray(it) && all_elements_empty(it)) ||
				    (cJSON_IsString(it) && !it->valuestring[0] && !in_map &&
				     strcmp(it->string ? it->string : "", "value") != 0);
			if (drop)
				cJSON_Delete(cJSON_DetachItemViaPointer(j, it));
		}
		it = next;
	}
}

/* ---- small helpers ------------------------------------------------------ */

/* Take over an error from a helper that names its own field (resources.c):
 * drop the strerror suffix (these are input errors, not system errors) and
 * prefix the document. */
static int adopt(struct berth_err *err, const char *prefix, const char *path)
{
	if (err->errnum > 0) {
		char suffix[128];
		snprintf(suffix, sizeof(suffix), ": %s", strerror(err->errnum));
		size_t n = strlen(err->msg), s = strlen(suffix);
		if (n >= s && strcmp(err->msg + n - s, suffix) == 0)
			err->msg[n - s] = '\0';
		err->errnum = 0;
	}
	if (path && path[0])
		berth_err_wrap(err, "%s: %s", prefix, path);
	else
		berth_err_wrap(err, "%s", prefix);
	berth_json_one_line(err->msg);
	return -1;
}

static int oom(struct berth_err *err, const char *prefix)
{
	return berth_err_set(err, ENOMEM, "%s", prefix);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= BERTH_TD_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

bool berth_td_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* An absolute path without "." or ".." components or control characters. */
bool berth_td_clean_abs_path(const char *s)
{
	if (s[0] != '/' || berth_td_has_ctl(s) || strlen(s) > 4095)
		return false;
	for (const char *p = s; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
	}
	return true;
}

/* A field berth refuses whenever it is given (non-empty after cleaning). */
static int refuse(const cJSON *obj, const char *key, const char *prefix, const char *path, const char *why,
		  struct berth_err *err)
{
	if (!berth_json_member(obj, key))
		return 0;
	char p[BERTH_JSON_PATH_MAX];
	return berth_json_err(err, prefix, berth_json_path(p, path, key), "%s", why);
}

/* Task-level cpu/memory: a string ("256", "1 vCPU", "2 GB") or a number. */
static int size_field(const cJSON *obj, const char *key, const char *prefix, bool cpu, uint32_t *out,
		      struct berth_err *err)
{
	const cJSON *j = berth_json_member(obj, key);
	if (!j)
		return 0;
	char buf[64];
	const char *s;
	if (cJSON_IsString(j)) {
		s = j->valuestring;
	} else if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (!(d >= 0 && d <= 1e9))
			return berth_json_err(err, prefix, key, "must be %s, not %g", cpu ? "CPU units" : "MiB", d);
		snprintf(buf, sizeof(buf), "%.10g", d);
		s = buf;
	} else {
		return berth_json_err(err, prefix, key, "must be a string such as %s",
				      cpu ? "\"256\" or \"1 vCPU\"" : "\"512\" or \"2 GB\"");
	}
	/* resources.c names the field itself: "<field> \"<value>\": ..." */
	char field[16];
	snprintf(field, sizeof(field), "%s:", key);
	int r = cpu ? berth_parse_cpu_units(s, field, out, err) : berth_parse_memory_mib(s, field, out, err);
	return r < 0 ? adopt(err, prefix, NULL) : 0;
}

/* ---- task-level fields -------------------------------------------------- */

static int parse_network_mode(const cJSON *o, const char *prefix, struct berth_taskdef *td, struct berth_err *err)
{
	const char *s;
	if (berth_json_get_str(o, "networkMode", prefix, "", &s, err) < 0)
		return -1;
	if (!s || !strcmp(s, "awsvpc"))
		td->network_mode = BERTH_TD_NET_AWSVPC;
	else if (!strcmp(s, "none"))
		td->network_mode = BERTH_TD_NET_NONE;
	else if (!strcmp(s, "bridge") || !strcmp(s, "host"))
		return berth_json_err(err, prefix, "networkMode",
				      "\"%s\" is not supported: berth gives every task its own network namespace "
				      "(\"awsvpc\", the default) or none (\"none\")%s",
				      s, HINT);
	else
		return berth_json_err(err, prefix, "networkMode", "must be \"awsvpc\" or \"none\", not \"%s\"", s);
	return 0;
}

static int parse_compat(const cJSON *o, const char *prefix, struct berth_taskdef *td, struct berth_err *err)
{
	const cJSON *a = berth_json_member(o, "requiresCompatibilities"), *it;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return berth_json_err(err, prefix, "requiresCompatibilities",
				      "must be an array such as [\"FARGATE\"]");
	size_t i = 0;
	cJSON_ArrayForEach(it, a) {
		char p[BERTH_JSON_PATH_MAX];
		berth_json_path_index(p, "requiresCompatibilities", i++);
		const char *s = cJSON_IsString(it) ? it->valuestring : "";
		if (!strcmp(s, "EC2"))
			td->requires_compat |= BERTH_TD_COMPAT_EC2;
		else if (!strcmp(s, "FARGATE"))
			td->requires_compat |= BERTH_TD_COMPAT_FARGATE;
		else if (!strcmp(s, "EXTERNAL"))
			td->requires_compat |= BERTH_TD_COMPAT_EXTERNAL;
		else
			return berth_json_err(err, prefix, p, "must be \"EC2\", \"FARGATE\" or \"EXTERNAL\"");
	}
	return 0;
}

static int parse_runtime_platform(const cJSON *o, const char *prefix, struct berth_taskdef *td,
				  struct berth_err *err)
{
	static const char *const keys[] = {"operatingSystemFamily", "cpuArchitecture", NULL};
	const cJSON *rp = berth_json_member(o, "runtimePlatform");
	if (!rp)
		return 0;
	if (!cJSON_IsObject(rp))
		return berth_json_err(err, prefix, "runtimePlatform", "must be an object");
	if (berth_json_check_keys(rp, keys, prefix, "runtimePlatform", HINT, err) < 0)
		return -1;
	const char *os, *arch;
	if (berth_json_get_str(rp, "operatingSystemFamily", prefix, "runtimePlatform", &os, err) < 0 ||
	    berth_json_get_str(rp, "cpuArchitecture", prefix, "runtimePlatform", &arch, err) < 0)
		return -1;
	if (os && strcmp(os, "LINUX") != 0)
		return berth_json_err(err, prefix, "runtimePlatform.operatingSystemFamily",
				      "\"%s\" is not supported: berth runs Linux containers (\"LINUX\")", os);
	if (arch && strcmp(arch, "X86_64") != 0 && strcmp(arch, "ARM64") != 0)
		return berth_json_err(err, prefix, "runtimePlatform.cpuArchitecture",
				      "must be \"X86_64\" or \"ARM64\", not \"%s\"", arch);
	if (arch && strcmp(arch, HOST_ARCH) != 0)
		return berth_json_err(err, prefix, "runtimePlatform.cpuArchitecture",
				      "\"%s\" is not supported on this host, which is %s (berth does not emulate "
				      "other architectures)",
				      arch, HOST_ARCH);
	if ((os && !(td->os_family = strdup(os))) || (arch && !(td->cpu_arch = strdup(arch))))
		return oom(err, prefix);
	return 0;
}

static int parse_volumes(const cJSON *o, const char *prefix, struct berth_taskdef *td, struct berth_err *err)
{
	static const char *const keys[] = {"name",
					   "host",
					   "dockerVolumeConfiguration",
					   "efsVolumeConfiguration",
					   "fsxWindowsFileServerVolumeConfiguration",
					   "configuredAtLaunch",
					   NULL};
	static const char *const hkeys[] = {"sourcePath", NULL};
	const cJSON *a = berth_json_member(o, "volumes"), *v;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return berth_json_err(err, prefix, "volumes", "must be an array");
	size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
	if (!(td->volumes = calloc(n, sizeof(*td->volumes))))
		return oom(err, prefix);
	cJSON_ArrayForEach(v, a) {
		char p[BERTH_JSON_PATH_MAX], hp[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
		berth_json_path_index(p, "volumes", i++);
		if (!cJSON_IsObject(v))
			return berth_json_err(err, prefix, p, "must be an object");
		if (berth_json_check_keys(v, keys, prefix, p, HINT, err) < 0 ||
		    refuse(v, "dockerVolumeConfiguration", prefix, p,
			   "Docker volume drivers are not supported: use a task-scoped volume ({\"name\"} alone) "
			   "or a bind of a host directory (\"host\": {\"sourcePath\"})" HINT, err) < 0 ||
		    refuse(v, "efsVolumeConfiguration", prefix, p,
			   "EFS volumes are not supported (berth mounts no network file systems): mount the file "
			   "system on the host and use \"host\": {\"sourcePath\"}" HINT, err) < 0 ||
		    refuse(v, "fsxWindowsFileServerVolumeConfiguration", prefix, p,
			   "FSx for Windows File Server volumes are not supported (berth runs Linux containers)" HINT,
			   err) < 0)
			return -1;
		bool at_launch = false;
		if (berth_json_get_bool(v, "configuredAtLaunch", prefix, p, NULL, &at_launch, err) < 0)
			return -1;
		if (at_launch)
			return berth_json_err(err, prefix, berth_json_path(q, p, "configuredAtLaunch"),
					      "volumes configured at launch (EBS) are not supported" HINT);
		const char *name;
		if (berth_json_get_str(v, "name", prefix, p, &name, err) < 0)
			return -1;
		if (!name)
			return berth_json_err(err, prefix, berth_json_path(q, p, "name"), "required");
		if (!valid_name(name))
			return berth_json_err(err, prefix, berth_json_path(q, p, "name"),
					      "must be 1-255 letters, digits, '_' or '-', not \"%s\"", name);
		for (size_t k = 0; k < td->nvolumes; k++)
			if (!strcmp(td->volumes[k].name, name))
				return berth_json_err(err, prefix, berth_json_path(q, p, "name"),
						      "\"%s\" is also the name of volumes[%zu]", name, k);
		struct berth_td_volume *vol = &td->volumes[td->nvolumes++];
		if (!(vol->name = strdup(name)))
			return oom(err, prefix);
		const cJSON *host = berth_json_member(v, "host");
		if (!host)
			continue;
		berth_json_path(hp, p, "host");
		if (!cJSON_IsObject(host))
			return berth_json_err(err, prefix, hp, "must be an object");
		const char *src;
		if (berth_json_check_keys(host, hkeys, prefix, hp, HINT, err) < 0 ||
		    berth_json_get_str(host, "sourcePath", prefix, hp, &src, err) < 0)
			return -1;
		if (!src)
			continue;
		if (!berth_td_clean_abs_path(src))
			return berth_json_err(err, prefix, berth_json_path(q, hp, "sourcePath"),
					      "must be an absolute host path without \".\" or \"..\" components, not "
					      "\"%s\"",
					      src);
		if (!(vol->host_path = strdup(src)))
			return oom(err, prefix);
	}
	return 0;
}

static int parse_tags(const cJSON *a, const char *prefix, const char *path, struct berth_taskdef *td,
		      struct berth_err *err)
{
	static const char *const keys[] = {"key", "value", NULL};
	if (!cJSON_IsArray(a))
		return berth_json_err(err, prefix, path, "must be an array of {\"key\", \"value\"}");
	size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
	if (n > 50)
		return berth_json_err(err, prefix, path, "at most 50 tags, not %zu", n);
	if (!(td->tags = calloc(n, sizeof(*td->tags))))
		return oom(err, prefix);
	const cJSON *t;
	cJSON_ArrayForEach(t, a) {
		char p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
		berth_json_path_index(p, path, i++);
		const char *k, *v;
		if (!cJSON_IsObject(t))
			return berth_json_err(err, prefix, p, "must be an object {\"key\", \"value\"}");
		if (berth_json_check_keys(t, keys, prefix, p, HINT, err) < 0 ||
		    berth_json_get_str(t, "key", prefix, p, &k, err) < 0 ||
		    berth_json_get_str(t, "value", prefix, p, &v, err) < 0)
			return -1;
		if (!k)
			return berth_json_err(err, prefix, berth_json_path(q, p, "key"), "required");
		if (strlen(k) > 128 || berth_td_has_ctl(k))
			return berth_json_err(err, prefix, berth_json_path(q, p, "key"),
					      "must be 1-128 printable characters");
		if (!strncasecmp(k, "aws:", 4))
			return berth_json_err(err, prefix, berth_json_path(q, p, "key"),
					      "the \"aws:\" prefix is reserved for AWS");
		if (v && (strlen(v) > 256 || berth_td_has_ctl(v)))
			return berth_json_err(err, prefix, berth_json_path(q, p, "value"),
					      "must be at most 256 printable characters");
		for (size_t j = 0; j < td->ntags; j++)
			if (!strcmp(td->tags[j].key, k))
				return berth_json_err(err, prefix, berth_json_path(q, p, "key"),
						      "\"%s\" is also the key of %s[%zu]", k, path, j);
		struct berth_td_kv *kv = &td->tags[td->ntags++];
		if (!(kv->key = strdup(k)) || !(kv->value = strdup(v ? v : "")))
			return oom(err, prefix);
	}
	return 0;
}

static int parse_role(const cJSON *o, const char *key, const char *prefix, char **out, struct berth_err *err)
{
	const char *s;
	if (berth_json_get_str(o, key, prefix, "", &s, err) < 0)
		return -1;
	if (!s)
		return 0;
	if (strlen(s) > 2048 || berth_td_has_ctl(s) || strchr(s, ' '))
		return berth_json_err(err, prefix, key, "must be an IAM role ARN or name (at most 2048 characters, "
				      "no spaces)");
	if (!(*out = strdup(s)))
		return oom(err, prefix);
	return 0;
}

/* Fields berth refuses at task level, and the modes it cannot provide. */
static int task_refusals(const cJSON *o, const char *prefix, struct berth_err *err)
{
	if (refuse(o, "placementConstraints", prefix, "",
		   "placement constraints are not supported (berth places every task on this host)" HINT, err) < 0 ||
	    refuse(o, "proxyConfiguration", prefix, "",
		   "App Mesh proxy configuration is not supported (berth has no service mesh)" HINT, err) < 0 ||
	    refuse(o, "inferenceAccelerators", prefix, "",
		   "Elastic Inference accelerators are not supported" HINT, err) < 0)
		return -1;
	const char *s;
	if (berth_json_get_str(o, "pidMode", prefix, "", &s, err) < 0)
		return -1;
	if (s && !strcmp(s, "host"))
		return berth_json_err(err, prefix, "pidMode",
				      "\"host\" is not supported: a container never sees the host's processes" HINT);
	if (s && !strcmp(s, "task"))
		return berth_json_err(err, prefix, "pidMode",
				      "\"task\" is not supported yet: each container has its own PID namespace; "
				      "remove pidMode" HINT);
	if (s)
		return berth_json_err(err, prefix, "pidMode", "must be \"host\" or \"task\", not \"%s\"", s);
	if (berth_json_get_str(o, "ipcMode", prefix, "", &s, err) < 0)
		return -1;
	if (s && (!strcmp(s, "host") || !strcmp(s, "task") || !strcmp(s, "none")))
		return berth_json_err(err, prefix, "ipcMode",
				      "\"%s\" is not supported: each container has its own IPC namespace and "
				      "/dev/shm; remove ipcMode" HINT,
				      s);
	if (s)
		return berth_json_err(err, prefix, "ipcMode", "must be \"host\", \"task\" or \"none\", not \"%s\"", s);
	bool fi = false;
	if (berth_json_get_bool(o, "enableFaultInjection", prefix, "", NULL, &fi, err) < 0)
		return -1;
	if (fi)
		return berth_json_err(err, prefix, "enableFaultInjection",
				      "fault injection is not supported (berth serves no fault-injection endpoints)" HINT);
	return 0;
}

static int parse_ephemeral(const cJSON *o, const char *prefix, struct berth_taskdef *td, struct berth_err *err)
{
	static const char *const keys[] = {"sizeInGiB", NULL};
	const cJSON *e = berth_json_member(o, "ephemeralStorage");
	if (!e)
		return 0;
	if (!cJSON_IsObject(e))
		return berth_json_err(err, prefix, "ephemeralStorage", "must be an object {\"sizeInGiB\"}");
	int64_t v;
	bool has;
	if (berth_json_check_keys(e, keys, prefix, "ephemeralStorage", HINT, err) < 0 ||
	    berth_json_get_int(e, "sizeInGiB", prefix, "ephemeralStorage", 21, 200, &has, &v, err) < 0)
		return -1;
	if (!has)
		return berth_json_err(err, prefix, "ephemeralStorage.sizeInGiB", "required");
	td->ephemeral_storage_gib = (uint32_t)v;
	return 0;
}

/* ---- checks across containers ------------------------------------------- */

/* Fargate's own rules, beyond berth's.  prefix NULL: only the verdict. */
static int fargate_rules(const struct berth_taskdef *td, const char *prefix, struct berth_err *err)
{
	const char *why = "required by FARGATE (requiresCompatibilities)";
	if (!td->cpu_units)
		return berth_json_err(err, prefix, "cpu", "%s", why);
	if (!td->memory_mib)
		return berth_json_err(err, prefix, "memory", "%s", why);
	if (berth_fargate_check(td->cpu_units, td->memory_mib, err) < 0)
		return adopt(err, prefix, "cpu/memory");
	if (td->network_mode != BERTH_TD_NET_AWSVPC)
		return berth_json_err(err, prefix, "networkMode",
				      "FARGATE (requiresCompatibilities) supports only \"awsvpc\"");
	for (size_t i = 0; i < td->nvolumes; i++) {
		if (td->volumes[i].host_path) {
			char p[BERTH_JSON_PATH_MAX];
			snprintf(p, sizeof(p), "volumes[%zu].host.sourcePath", i);
			return berth_json_err(err, prefix, p,
					      "not supported by FARGATE (requiresCompatibilities); remove FARGATE to "
					      "bind host directories");
		}
	}
	for (size_t i = 0; i < td->ncontainers; i++) {
		uint64_t ptrace = 1ull << 19; /* CAP_SYS_PTRACE */
		if (td->containers[i].cap_add & ~ptrace) {
			char p[BERTH_JSON_PATH_MAX];
			snprintf(p, sizeof(p), "containerDefinitions[%zu].linuxParameters.capabilities.add", i);
			return berth_json_err(err, prefix, p,
					      "FARGATE (requiresCompatibilities) allows only \"SYS_PTRACE\"");
		}
	}
	return 0;
}

static int ec2_rules(const struct berth_taskdef *td, const char *prefix, struct berth_err *err)
{
	if (td->memory_mib)
		return 0;
	for (size_t i = 0; i < td->ncontainers; i++)
		if (!td->containers[i].memory_mib && !td->containers[i].memory_reservation_mib) {
			char p[BERTH_JSON_PATH_MAX];
			snprintf(p, sizeof(p), "containerDefinitions[%zu]", i);
			return berth_json_err(err, prefix, p,
					      "EC2 (requiresCompatibilities) needs memory or memoryReservation "
					      "when the task has no memory");
		}
	return 0;
}

/* Depth-first search for a dependsOn cycle; state 0 new, 1 on the path, 2 done. */
static int find_cycle(const struct berth_taskdef *td, size_t c, unsigned char *state, size_t *path,
		      size_t depth, size_t *len)
{
	state[c] = 1;
	path[depth] = c;
	const struct berth_td_container *ct = &td->containers[c];
	for (size_t k = 0; k < ct->ndeps; k++) {
		size_t d = ct->deps[k].container;
		if (state[d] == 1) {
			/* The cycle is path[start..depth] + d. */
			size_t start = 0;
			while (path[start] != d)
				start++;
			memmove(path, path + start, (depth - start + 1) * sizeof(*path));
			*len = depth - start + 1;
			return 1;
		}
		if (state[d] == 0 && find_cycle(td, d, state, path, depth + 1, len))
			return 1;
	}
	state[c] = 2;
	return 0;
}

static int check_deps(const struct berth_taskdef *td, const char *prefix, struct berth_err *err)
{
	for (size_t i = 0; i < td->ncontainers; i++) {
		const struct berth_td_container *c = &td->containers[i];
		for (size_t k = 0; k < c->ndeps; k++) {
			const struct berth_td_container *d = &td->containers[c->deps[k].container];
			char p[BERTH_JSON_PATH_MAX];
			snprintf(p, sizeof(p), "containerDefinitions[%zu].dependsOn[%zu].condition", i, k);
			enum berth_td_dep_cond cond = c->deps[k].condition;
			if ((cond == BERTH_TD_DEP_COMPLETE || cond == BERTH_TD_DEP_SUCCESS) && d->essential)
				return berth_json_err(err, prefix, p,
						      "%s needs a container that is not essential, and \"%s\" is "
						      "essential (set \"essential\": false on it)",
						      berth_td_dep_cond_name(cond), d->name);
			if (cond == BERTH_TD_DEP_HEALTHY && !d->health_check)
				return berth_json_err(err, prefix, p,
						      "HEALTHY needs a healthCheck on \"%s\", which has none", d->name);
		}
	}
	unsigned char state[BERTH_TD_MAX_CONTAINERS] = {0};
	size_t path[BERTH_TD_MAX_CONTAINERS + 1], len = 0;
	for (size_t i = 0; i < td->ncontainers; i++) {
		if (state[i] || !find_cycle(td, i, state, path, 0, &len))
			continue;
		char cyc[BERTH_ERR_MSG_MAX / 2] = "";
		size_t off = 0;
		for (size_t k = 0; k <= len && off < sizeof(cyc); k++)
			off += (size_t)snprintf(cyc + off, sizeof(cyc) - off, "%s%s", k ? " -> " : "",
						td->containers[path[k % len]].name);
		char p[BERTH_JSON_PATH_MAX];
		snprintf(p, sizeof(p), "containerDefinitions[%zu].dependsOn", path[0]);
		return berth_json_err(err, prefix, p, "dependency cycle: %s", cyc);
	}
	return 0;
}

static int check_sizes(const struct berth_taskdef *td, const char *prefix, struct berth_err *err)
{
	struct berth_container_size sz[BERTH_TD_MAX_CONTAINERS];
	for (size_t i = 0; i < td->ncontainers; i++) {
		const struct berth_td_container *c = &td->containers[i];
		char p[BERTH_JSON_PATH_MAX];
		if (td->cpu_units && c->cpu_units > td->cpu_units) {
			snprintf(p, sizeof(p), "containerDefinitions[%zu].cpu", i);
			return berth_json_err(err, prefix, p, "%u units is above the task's cpu (%u units)", c->cpu_units,
					      td->cpu_units);
		}
		if (td->memory_mib && c->memory_mib > td->memory_mib) {
			snprintf(p, sizeof(p), "containerDefinitions[%zu].memory", i);
			return berth_json_err(err, prefix, p, "%u MiB is above the task's memory (%u MiB)", c->memory_mib,
					      td->memory_mib);
		}
		if (td->memory_mib && c->memory_reservation_mib > td->memory_mib) {
			snprintf(p, sizeof(p), "containerDefinitions[%zu].memoryReservation", i);
			return berth_json_err(err, prefix, p, "%u MiB is above the task's memory (%u MiB)",
					      c->memory_reservation_mib, td->memory_mib);
		}
		sz[i] = (struct berth_container_size){.name = c->name,
						      .cpu_units = c->cpu_units,
						      .memory_mib = c->memory_mib,
						      .reservation_mib = c->memory_reservation_mib};
	}
	struct berth_task_size task = {.cpu_units = td->cpu_units, .memory_mib = td->memory_mib};
	if (berth_containers_fit(&task, sz, td->ncontainers, err) < 0)
		return adopt(err, prefix, "containerDefinitions");
	return 0;
}

/* The containers of a task share one network namespace: a port (and a
 * port name) can be mapped once per task. */
static int check_ports(const struct berth_taskdef *td, const char *prefix, struct berth_err *err)
{
	for (size_t i = 0; i < td->ncontainers; i++) {
		const struct berth_td_container *c = &td->containers[i];
		for (size_t k = 0; k < c->nports; k++) {
			for (size_t j = 0; j <= i; j++) {
				const struct berth_td_container *o = &td->containers[j];
				for (size_t l = 0; l < (j == i ? k : o->nports); l++) {
					char p[BERTH_JSON_PATH_MAX];
					snprintf(p, sizeof(p), "containerDefinitions[%zu].portMappings[%zu]", i, k);
					if (o->ports[l].proto == c->ports[k].proto &&
					    o->ports[l].ctr_port == c->ports[k].ctr_port)
						return berth_json_err(err, prefix, p,
								      "%s port %u is also mapped by "
								      "containerDefinitions[%zu].portMappings[%zu] (the "
								      "task's containers share one network namespace)",
								      berth_proto_name(c->ports[k].proto),
								      c->ports[k].ctr_port, j, l);
					const char *a = c->port_info[k].name, *b = o->port_info[l].name;
					if (a && b && !strcmp(a, b))
						return berth_json_err(err, prefix, p,
								      "name \"%s\" is also the name of "
								      "containerDefinitions[%zu].portMappings[%zu]",
								      a, j, l);
				}
			}
		}
	}
	return 0;
}

/* ---- the entry point ---------------------------------------------------- */

static int parse_containers(const cJSON *o, const char *prefix, struct berth_taskdef *td, struct berth_err *err)
{
	const cJSON *a = berth_json_member(o, "containerDefinitions"), *c;
	if (!a)
		return berth_json_err(err, prefix, "containerDefinitions", "required (at least one container)");
	if (!cJSON_IsArray(a))
		return berth_json_err(err, prefix, "containerDefinitions", "must be an array of container definitions");
	size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
	if (n > BERTH_TD_MAX_CONTAINERS)
		return berth_json_err(err, prefix, "containerDefinitions",
				      "at most %d containers per task definition (ECS's quota), not %zu",
				      BERTH_TD_MAX_CONTAINERS, n);
	if (!(td->containers = calloc(n, sizeof(*td->containers))))
		return oom(err, prefix);
	/* Names first: dependsOn may name a container defined later. */
	cJSON_ArrayForEach(c, a) {
		char p[BERTH_JSON_PATH_MAX], q[BERTH_JSON_PATH_MAX];
		berth_json_path_index(p, "containerDefinitions", i);
		if (!cJSON_IsObject(c))
			return berth_json_err(err, prefix, p, "must be an object");
		const char *name;
		if (berth_json_get_str(c, "name", prefix, p, &name, err) < 0)
			return -1;
		berth_json_path(q, p, "name");
		if (!name)
			return berth_json_err(err, prefix, q, "required");
		if (!valid_name(name))
			return berth_json_err(err, prefix, q, "must be 1-255 letters, digits, '_' or '-', not \"%s\"",
					      name);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(td->containers[k].name, name))
				return berth_json_err(err, prefix, q,
						      "\"%s\" is also the name of containerDefinitions[%zu]", name, k);
		if (!(td->containers[i].name = strdup(name)))
			return oom(err, prefix);
		/* A container counted before it is parsed is freed with its name
		 * only (the rest is zero). */
		td->ncontainers = ++i;
	}
	i = 0;
	cJSON_ArrayForEach(c, a) {
		if (berth_td_parse_container(c, i, td, prefix, &td->containers[i], err) < 0)
			return -1;
		i++;
	}
	bool essential = false;
	for (i = 0; i < td->ncontainers; i++)
		essential |= td->containers[i].essential;
	if (!essential)
		return berth_json_err(err, prefix, "containerDefinitions",
				      "at least one container must be essential (\"essential\" is true by default)");
	return 0;
}

static int parse_task(const cJSON *o, const char *prefix, struct berth_taskdef *td, struct berth_err *err)
{
	static const char *const keys[] = {
		"family",          "containerDefinitions", "cpu",
		"memory",          "networkMode",          "requiresCompatibilities",
		"runtimePlatform", "volumes",              "executionRoleArn",
		"taskRoleArn",     "tags",                 "pidMode",
		"ipcMode",         "ephemeralStorage",     "placementConstraints",
		"proxyConfiguration", "inferenceAccelerators", "enableFaultInjection",
		NULL,
	};
	if (berth_json_check_keys(o, keys, prefix, "", HINT, err) < 0)
		return -1;
	const char *family;
	if (berth_json_get_str(o, "family", prefix, "", &family, err) < 0)
		return -1;
	if (!family)
		return berth_json_err(err, prefix, "family", "required");
	if (!valid_name(family))
		return berth_json_err(err, prefix, "family", "must be 1-255 letters, digits, '_' or '-', not \"%s\"",
				      family);
	if (!(td->family = strdup(family)))
		return oom(err, prefix);
	const cJSON *tags = berth_json_member(o, "tags");
	if (size_field(o, "cpu", prefix, true, &td->cpu_units, err) < 0 ||
	    size_field(o, "memory", prefix, false, &td->memory_mib, err) < 0 ||
	    parse_network_mode(o, prefix, td, err) < 0 || parse_compat(o, prefix, td, err) < 0 ||
	    parse_runtime_platform(o, prefix, td, err) < 0 || task_refusals(o, prefix, err) < 0 ||
	    parse_volumes(o, prefix, td, err) < 0 ||
	    parse_role(o, "executionRoleArn", prefix, &td->execution_role_arn, err) < 0 ||
	    parse_role(o, "taskRoleArn", prefix, &td->task_role_arn, err) < 0 ||
	    (tags && parse_tags(tags, prefix, "tags", td, err) < 0) || parse_ephemeral(o, prefix, td, err) < 0)
		return -1;
	if ((td->requires_compat & BERTH_TD_COMPAT_EXTERNAL) && td->network_mode == BERTH_TD_NET_AWSVPC)
		return berth_json_err(err, prefix, "requiresCompatibilities",
				      "EXTERNAL (ECS Anywhere) does not support networkMode \"awsvpc\"; berth offers "
				      "only \"awsvpc\" and \"none\": use \"none\" or drop EXTERNAL");
	if (parse_containers(o, prefix, td, err) < 0 || check_deps(td, prefix, err) < 0 ||
	    check_sizes(td, prefix, err) < 0 || check_ports(td, prefix, err) < 0)
		return -1;
	if ((td->requires_compat & BERTH_TD_COMPAT_FARGATE) && fargate_rules(td, prefix, err) < 0)
		return -1;
	if ((td->requires_compat & BERTH_TD_COMPAT_EC2) && ec2_rules(td, prefix, err) < 0)
		return -1;
	return 0;
}

int berth_taskdef_parse(const char *json, size_t len, const char *where, struct berth_taskdef **out,
			struct berth_err *err)
{
	char prefix[512];
	snprintf(prefix, sizeof(prefix), "task definition%s%s", where ? " " : "", where ? where : "");
	berth_json_one_line(prefix);
	if (len > BERTH_TD_MAX_BYTES)
		return berth_err_set(err, 0, "%s: %zu bytes is above the %d-byte (64 KiB) limit of an ECS task definition",
				     prefix, len, BERTH_TD_MAX_BYTES);
	cJSON *root = NULL;
	if (berth_json_parse_strict(json, len, prefix, &root, err) < 0)
		return -1;
	cJSON *td_json = root, *inner = NULL, *wrapper_tags = NULL;
	int r = -1;
	struct berth_taskdef *td = calloc(1, sizeof(*td));
	if (!td) {
		oom(err, prefix);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		berth_err_set(err, 0, "%s: must be a JSON object (a task definition)", prefix);
		goto out;
	}
	/* describe-task-definition output: {"taskDefinition": {...}, "tags": [...]}. */
	if (cJSON_GetObjectItemCaseSensitive(root, "taskDefinition")) {
		static const char *const wkeys[] = {"taskDefinition", "tags", NULL};
		if (berth_json_check_keys(root, wkeys, prefix, "", HINT, err) < 0)
			goto out;
		inner = cJSON_DetachItemFromObjectCaseSensitive(root, "taskDefinition");
		if (!cJSON_IsObject(inner)) {
			berth_json_err(err, prefix, "taskDefinition", "must be an object");
			goto out;
		}
		td_json = inner;
		clean(root, false);
		wrapper_tags = cJSON_GetObjectItemCaseSensitive(root, "tags");
	}
	for (size_t i = 0; i < sizeof(readonly_keys) / sizeof(readonly_keys[0]); i++)
		while (cJSON_GetObjectItemCaseSensitive(td_json, readonly_keys[i]))
			cJSON_DeleteItemFromObjectCaseSensitive(td_json, readonly_keys[i]);
	clean(td_json, false);
	if (wrapper_tags) {
		if (berth_json_member(td_json, "tags")) {
			berth_json_err(err, prefix, "tags",
				       "given both beside and inside \"taskDefinition\"; keep one");
			goto out;
		}
		if (parse_tags(wrapper_tags, prefix, "tags", td, err) < 0)
			goto out;
	}
	/* td_json may have lost every member (the root too, when unwrapped). */
	if (parse_task(td_json, prefix, td, err) < 0)
		goto out;
	*out = TAKE_PTR(td);
	r = 0;
out:
	berth_taskdef_free(td);
	cJSON_Delete(inner);
	cJSON_Delete(root);
	return r;
}

/* ---- model helpers ------------------------------------------------------ */

static void kv_free(struct berth_td_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void berth_td_container_free(struct berth_td_container *c)
{
	free(c->name);
	free(c->image);
	berth_strv_free(c->entry_point);
	berth_strv_free(c->command);
	for (size_t i = 0; i < c->nenv; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
	}
	free(c->env);
	berth_strv_free(c->env_files);
	for (size_t i = 0; i < c->nsecrets; i++) {
		free(c->secrets[i].name);
		free(c->secrets[i].value_from);
	}
	free(c->secrets);
	free(c->ports);
	for (size_t i = 0; c->port_info && i < c->nports; i++) {
		free(c->port_info[i].name);
		free(c->port_info[i].app_protocol);
	}
	free(c->port_info);
	for (size_t i = 0; i < c->nmounts; i++)
		free(c->mounts[i].container_path);
	free(c->mounts);
	free(c->deps);
	if (c->health_check) {
		berth_strv_free(c->health_check->argv);
		free(c->health_check);
	}
	free(c->user);
	free(c->working_directory);
	free(c->ulimits);
	free(c->log.driver);
	kv_free(c->log.options, c->log.noptions);
	kv_free(c->labels, c->nlabels);
	free(c->version_consistency);
	memset(c, 0, sizeof(*c));
}

void berth_taskdef_free(struct berth_taskdef *td)
{
	if (!td)
		return;
	free(td->family);
	for (size_t i = 0; i < td->ncontainers; i++)
		berth_td_container_free(&td->containers[i]);
	free(td->containers);
	free(td->os_family);
	free(td->cpu_arch);
	for (size_t i = 0; i < td->nvolumes; i++) {
		free(td->volumes[i].name);
		free(td->volumes[i].host_path);
	}
	free(td->volumes);
	free(td->execution_role_arn);
	free(td->task_role_arn);
	kv_free(td->tags, td->ntags);
	free(td);
}

int berth_taskdef_container_index(const struct berth_taskdef *td, const char *name)
{
	for (size_t i = 0; i < td->ncontainers; i++)
		if (!strcmp(td->containers[i].name, name))
			return (int)i;
	return -1;
}

const char *berth_td_dep_cond_name(enum berth_td_dep_cond c)
{
	switch (c) {
	case BERTH_TD_DEP_START: return "START";
	case BERTH_TD_DEP_COMPLETE: return "COMPLETE";
	case BERTH_TD_DEP_SUCCESS: return "SUCCESS";
	case BERTH_TD_DEP_HEALTHY: return "HEALTHY";
	}
	return "?";
}

unsigned berth_taskdef_compatibilities(const struct berth_taskdef *td)
{
	struct berth_err scratch = {0};
	unsigned c = BERTH_TD_COMPAT_EC2;
	if (fargate_rules(td, "", &scratch) == 0)
		c |= BERTH_TD_COMPAT_FARGATE;
	if (td->network_mode == BERTH_TD_NET_NONE)
		c |= BERTH_TD_COMPAT_EXTERNAL;
	return c;
}

/* ---- DescribeTaskDefinition JSON ---------------------------------------- */

/* cJSON builders that remember an allocation failure. */
struct jb {
	bool failed;
};

static cJSON *jchk(struct jb *b, cJSON *j)
{
	if (!j)
		b->failed = true;
	return j;
}

static cJSON *jobj(struct jb *b, cJSON *parent, const char *key)
{
	if (!parent)
		return NULL;
	cJSON *o = jchk(b, cJSON_CreateObject());
	if (o) {
		if (cJSON_IsArray(parent) ? !cJSON_AddItemToArray(parent, o) : !cJSON_AddItemToObject(parent, key, o)) {
			cJSON_Delete(o);
			b->failed = true;
			return NULL;
		}
	}
	return o;
}

static cJSON *jarr(struct jb *b, cJSON *parent, const char *key)
{
	return parent ? jchk(b, cJSON_AddArrayToObject(parent, key)) : NULL;
}

static void jstr(struct jb *b, cJSON *o, const char *key, const char *v)
{
	if (o && v)
		jchk(b, cJSON_AddStringToObject(o, key, v));
}

static void jnum(struct jb *b, cJSON *o, const char *key, double v)
{
	if (o)
		jchk(b, cJSON_AddNumberToObject(o, key, v));
}

static void jbool(struct jb *b, cJSON *o, const char *key, bool v)
{
	if (o)
		jchk(b, cJSON_AddBoolToObject(o, key, v));
}

static void jstrv(struct jb *b, cJSON *o, const char *key, char *const *v)
{
	if (!o || !v)
		return;
	cJSON *a = jarr(b, o, key);
	for (; a && *v; v++) {
		cJSON *s = jchk(b, cJSON_CreateString(*v));
		if (s && !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			b->failed = true;
		}
	}
}

static void jstr_elem(struct jb *b, cJSON *a, const char *v)
{
	cJSON *s = a ? jchk(b, cJSON_CreateString(v)) : NULL;
	if (s && !cJSON_AddItemToArray(a, s)) {
		cJSON_Delete(s);
		b->failed = true;
	}
}

static void jkv_map(struct jb *b, cJSON *o, const char *key, const struct berth_td_kv *kv, size_t n)
{
	cJSON *m = jobj(b, o, key);
	for (size_t i = 0; m && i < n; i++)
		jstr(b, m, kv[i].key, kv[i].value);
}

static void jcompat(struct jb *b, cJSON *o, const char *key, unsigned bits)
{
	cJSON *a = jarr(b, o, key);
	if (bits & BERTH_TD_COMPAT_EC2)
		jstr_elem(b, a, "EC2");
	if (bits & BERTH_TD_COMPAT_FARGATE)
		jstr_elem(b, a, "FARGATE");
	if (bits & BERTH_TD_COMPAT_EXTERNAL)
		jstr_elem(b, a, "EXTERNAL");
}

/* Capability bits -> ECS names ("SYS_PTRACE"), in bit order. */
static void jcaps(struct jb *b, cJSON *o, const char *key, uint64_t bits, bool all)
{
	cJSON *a = jarr(b, o, key);
	if (all)
		jstr_elem(b, a, "ALL");
	for (int i = 0; i < 64; i++) {
		if (!(bits & (1ull << i)))
			continue;
		char name[64];
		if (berth_td_cap_name(i, name, sizeof(name)) == 0)
			jstr_elem(b, a, name);
	}
}

static void container_json(struct jb *b, cJSON *arr, const struct berth_taskdef *td,
			    const struct berth_td_container *c)
{
	cJSON *o = jobj(b, arr, NULL);
	jstr(b, o, "name", c->name);
	jstr(b, o, "image", c->image);
	jnum(b, o, "cpu", c->cpu_units);
	if (c->memory_mib)
		jnum(b, o, "memory", c->memory_mib);
	if (c->memory_reservation_mib)
		jnum(b, o, "memoryReservation", c->memory_reservation_mib);
	cJSON *pm = jarr(b, o, "portMappings");
	for (size_t i = 0; pm && i < c->nports; i++) {
		cJSON *p = jobj(b, pm, NULL);
		jnum(b, p, "containerPort", c->ports[i].ctr_port);
		if (td->network_mode == BERTH_TD_NET_AWSVPC)
			jnum(b, p, "hostPort", c->ports[i].ctr_port);
		jstr(b, p, "protocol", berth_proto_name(c->ports[i].proto));
		jstr(b, p, "name", c->port_info[i].name);
		jstr(b, p, "appProtocol", c->port_info[i].app_protocol);
	}
	jbool(b, o, "essential", c->essential);
	jstrv(b, o, "entryPoint", c->entry_point);
	jstrv(b, o, "command", c->command);
	cJSON *env = jarr(b, o, "environment");
	for (size_t i = 0; env && i < c->nenv; i++) {
		cJSON *e = jobj(b, env, NULL);
		jstr(b, e, "name", c->env[i].name);
		jstr(b, e, "value", c->env[i].value);
	}
	if (c->nenv_files) {
		cJSON *ef = jarr(b, o, "environmentFiles");
		for (size_t i = 0; ef && i < c->nenv_files; i++) {
			cJSON *e = jobj(b, ef, NULL);
			jstr(b, e, "value", c->env_files[i]);
			jstr(b, e, "type", "file");
		}
	}
	cJSON *mp = jarr(b, o, "mountPoints");
	for (size_t i = 0; mp && i < c->nmounts; i++) {
		cJSON *m = jobj(b, mp, NULL);
		jstr(b, m, "sourceVolume", td->volumes[c->mounts[i].volume].name);
		jstr(b, m, "containerPath", c->mounts[i].container_path);
		jbool(b, m, "readOnly", c->mounts[i].read_only);
	}
	jarr(b, o, "volumesFrom");
	if (c->cap_add || c->cap_drop || c->cap_drop_all || c->init_process) {
		cJSON *lp = jobj(b, o, "linuxParameters");
		if (c->cap_add || c->cap_drop || c->cap_drop_all) {
			cJSON *caps = jobj(b, lp, "capabilities");
			if (c->cap_add)
				jcaps(b, caps, "add", c->cap_add, false);
			if (c->cap_drop || c->cap_drop_all)
				jcaps(b, caps, "drop", c->cap_drop, c->cap_drop_all);
		}
		if (c->init_process)
			jbool(b, lp, "initProcessEnabled", true);
	}
	if (c->nsecrets) {
		cJSON *sa = jarr(b, o, "secrets");
		for (size_t i = 0; sa && i < c->nsecrets; i++) {
			cJSON *s = jobj(b, sa, NULL);
			jstr(b, s, "name", c->secrets[i].name);
			jstr(b, s, "valueFrom", c->secrets[i].value_from);
		}
	}
	if (c->ndeps) {
		cJSON *da = jarr(b, o, "dependsOn");
		for (size_t i = 0; da && i < c->ndeps; i++) {
			cJSON *d = jobj(b, da, NULL);
			jstr(b, d, "containerName", td->containers[c->deps[i].container].name);
			jstr(b, d, "condition", berth_td_dep_cond_name(c->deps[i].condition));
		}
	}
	if (c->start_timeout)
		jnum(b, o, "startTimeout", c->start_timeout);
	if (c->stop_timeout_given)
		jnum(b, o, "stopTimeout", c->stop_timeout);
	jstr(b, o, "versionConsistency", c->version_consistency);
	jstr(b, o, "user", c->user);
	jstr(b, o, "workingDirectory", c->working_directory);
	if (c->readonly_rootfs)
		jbool(b, o, "readonlyRootFilesystem", true);
	if (c->nlabels)
		jkv_map(b, o, "dockerLabels", c->labels, c->nlabels);
	if (c->nulimits) {
		cJSON *ua = jarr(b, o, "ulimits");
		for (size_t i = 0; ua && i < c->nulimits; i++) {
			cJSON *u = jobj(b, ua, NULL);
			jstr(b, u, "name", berth_td_ulimit_name(c->ulimits[i].resource));
			jnum(b, u, "softLimit", (double)c->ulimits[i].soft);
			jnum(b, u, "hardLimit", (double)c->ulimits[i].hard);
		}
	}
	if (c->log.driver) {
		cJSON *lc = jobj(b, o, "logConfiguration");
		jstr(b, lc, "logDriver", c->log.driver);
		jkv_map(b, lc, "options", c->log.options, c->log.noptions);
		jarr(b, lc, "secretOptions");
	}
	if (c->health_check) {
		const struct berth_td_health_check *h = c->health_check;
		cJSON *hc = jobj(b, o, "healthCheck");
		cJSON *cmd = jarr(b, hc, "command");
		jstr_elem(b, cmd, h->kind == BERTH_TD_HC_SHELL ? "CMD-SHELL" : "CMD");
		for (char **a = h->argv; cmd && *a; a++)
			jstr_elem(b, cmd, *a);
		jnum(b, hc, "interval", h->interval);
		jnum(b, hc, "timeout", h->timeout);
		jnum(b, hc, "retries", h->retries);
		jnum(b, hc, "startPeriod", h->start_period);
	}
	jarr(b, o, "systemControls");
}

char *berth_taskdef_to_json(const struct berth_taskdef *td, const struct berth_taskdef_meta *meta,
			    unsigned flags, struct berth_err *err)
{
	struct jb b = {0};
	cJSON *root = jchk(&b, cJSON_CreateObject());
	cJSON *o = (flags & BERTH_TD_JSON_WRAP) ? jobj(&b, root, "taskDefinition") : root;
	if (meta)
		jstr(&b, o, "taskDefinitionArn", meta->arn);
	cJSON *cd = jarr(&b, o, "containerDefinitions");
	for (size_t i = 0; cd && i < td->ncontainers; i++)
		container_json(&b, cd, td, &td->containers[i]);
	jstr(&b, o, "family", td->family);
	jstr(&b, o, "taskRoleArn", td->task_role_arn);
	jstr(&b, o, "executionRoleArn", td->execution_role_arn);
	jstr(&b, o, "networkMode", td->network_mode == BERTH_TD_NET_NONE ? "none" : "awsvpc");
	if (meta && meta->revision)
		jnum(&b, o, "revision", meta->revision);
	cJSON *va = jarr(&b, o, "volumes");
	for (size_t i = 0; va && i < td->nvolumes; i++) {
		cJSON *v = jobj(&b, va, NULL);
		jstr(&b, v, "name", td->volumes[i].name);
		cJSON *h = jobj(&b, v, "host");
		jstr(&b, h, "sourcePath", td->volumes[i].host_path);
	}
	if (meta) {
		jstr(&b, o, "status", meta->status);
		jarr(&b, o, "requiresAttributes");
	}
	jarr(&b, o, "placementConstraints");
	if (meta)
		jcompat(&b, o, "compatibilities", berth_taskdef_compatibilities(td));
	if (td->os_family || td->cpu_arch) {
		cJSON *rp = jobj(&b, o, "runtimePlatform");
		jstr(&b, rp, "cpuArchitecture", td->cpu_arch);
		jstr(&b, rp, "operatingSystemFamily", td->os_family);
	}
	if (td->requires_compat)
		jcompat(&b, o, "requiresCompatibilities", td->requires_compat);
	char num[16];
	if (td->cpu_units) {
		snprintf(num, sizeof(num), "%u", td->cpu_units);
		jstr(&b, o, "cpu", num);
	}
	if (td->memory_mib) {
		snprintf(num, sizeof(num), "%u", td->memory_mib);
		jstr(&b, o, "memory", num);
	}
	if (td->ephemeral_storage_gib) {
		cJSON *es = jobj(&b, o, "ephemeralStorage");
		jnum(&b, es, "sizeInGiB", td->ephemeral_storage_gib);
	}
	if (meta && meta->registered_at)
		jnum(&b, o, "registeredAt", meta->registered_at);
	if (meta && meta->deregistered_at)
		jnum(&b, o, "deregisteredAt", meta->deregistered_at);
	if (meta)
		jstr(&b, o, "registeredBy", meta->registered_by);
	if (flags & BERTH_TD_JSON_WRAP) {
		cJSON *ta = jarr(&b, root, "tags");
		for (size_t i = 0; ta && i < td->ntags; i++) {
			cJSON *t = jobj(&b, ta, NULL);
			jstr(&b, t, "key", td->tags[i].key);
			jstr(&b, t, "value", td->tags[i].value);
		}
	}
	char *s = NULL;
	if (!b.failed)
		s = (flags & BERTH_TD_JSON_PRETTY) ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!s)
		berth_err_set(err, ENOMEM, "task definition %s: to JSON", td->family);
	return s;
}
