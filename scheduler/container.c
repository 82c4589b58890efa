/* berth scheduler/ — container records and the run path (image -> rootfs -> runtime). */
#include "scheduler/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/cleanup.h"
#include "common/trace.h"
#include "common/util.h"
#include "images/images.h"
#include "runtime/cgroup.h"
#include "scheduler/resources.h"
#include "scheduler/spec.h"

#define STATE_FILE "state.json"
#define STATE_MAX (1u << 20)

static void cjson_deletep(cJSON **j)
{
	if (*j)
		cJSON_Delete(*j);
}
#define _cleanup_json_ __attribute__((cleanup(cjson_deletep)))

const char *berth_ctr_status_name(enum berth_ctr_status s)
{
	switch (s) {
	case BERTH_CTR_CREATED: return "created";
	case BERTH_CTR_RUNNING: return "running";
	case BERTH_CTR_EXITED: return "exited";
	}
	return "unknown";
}

void berth_ctr_free(struct berth_ctr *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->image);
	free(c->image_id);
	berth_strv_free(c->command);
	berth_strv_free(c->layers);
	free(c->reason);
	free(c->ports);
	berth_strv_free(c->groups);
	if (c->net) {
		berth_net_task_close(c->net);
		free(c->net);
	}
	if (c->dirfd >= 0)
		close(c->dirfd);
	if (c->cg_parent_fd >= 0)
		close(c->cg_parent_fd);
	if (c->cg_task_fd >= 0)
		close(c->cg_task_fd);
	if (c->cg_ctr_fd >= 0)
		close(c->cg_ctr_fd);
	free(c->root);
	free(c);
}

static void ctr_freep(struct berth_ctr **c)
{
	berth_ctr_free(*c);
}
#define _cleanup_ctr_ __attribute__((cleanup(ctr_freep)))

static int containers_dir(const char *root, bool create, struct berth_err *err)
{
	_cleanup_close_ int rfd = -1;
	if (create) {
		if (berth_mkdir_p_at(AT_FDCWD, root, 0700, err) < 0)
			return berth_err_wrap(err, "state root %s", root);
	}
	rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return berth_err_set(err, errno, "state root %s", root);
	int fd = berth_open_dir_at(rfd, "containers", create, err);
	if (fd < 0)
		return berth_err_wrap(err, "state root %s", root);
	return fd;
}

static cJSON *strv_to_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && v && v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static char **json_to_strv(const cJSON *a)
{
	int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
	char **v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return NULL;
	int k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsString(it))
			continue;
		if (!(v[k++] = strdup(it->valuestring))) {
			berth_strv_free(v);
			return NULL;
		}
	}
	return v;
}

char *berth_ctr_json(const struct berth_ctr *c, bool pretty)
{
	_cleanup_json_ cJSON *j = cJSON_CreateObject();
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "id", c->id);
	if (c->name)
		cJSON_AddStringToObject(j, "name", c->name);
	cJSON_AddStringToObject(j, "image", c->image ? c->image : "");
	if (c->image_id)
		cJSON_AddStringToObject(j, "imageId", c->image_id);
	cJSON_AddItemToObject(j, "command", strv_to_json(c->command));
	cJSON_AddItemToObject(j, "layers", strv_to_json(c->layers));
	cJSON_AddStringToObject(j, "status", berth_ctr_status_name(c->status));
	cJSON_AddBoolToObject(j, "removeOnExit", c->remove_on_exit);
	cJSON_AddNumberToObject(j, "pid", c->pid);
	cJSON_AddNumberToObject(j, "pidStart", (double)c->pid_start);
	cJSON_AddNumberToObject(j, "exitCode", c->exit_code);
	cJSON_AddNumberToObject(j, "created", (double)c->created);
	cJSON_AddNumberToObject(j, "started", (double)c->started);
	cJSON_AddNumberToObject(j, "finished", (double)c->finished);
	cJSON_AddNumberToObject(j, "cpu", c->cpu_units);
	cJSON_AddNumberToObject(j, "memory", c->memory_mib);
	if (c->reason)
		cJSON_AddStringToObject(j, "reason", c->reason);
	cJSON *net = cJSON_AddObjectToObject(j, "network");
	if (net) {
		cJSON_AddStringToObject(net, "mode", c->net_mode == BERTH_NET_NONE ? "none" : "awsvpc");
		if (c->ip[0]) {
			cJSON_AddStringToObject(net, "ipv4Address", c->ip);
			cJSON_AddStringToObject(net, "gateway", c->gateway);
			cJSON_AddStringToObject(net, "bridge", c->bridge);
			cJSON_AddStringToObject(net, "macAddress", c->mac);
		}
		cJSON *ports = cJSON_AddArrayToObject(net, "portMappings");
		for (size_t i = 0; ports && i < c->nports; i++) {
			cJSON *pm = cJSON_CreateObject();
			cJSON_AddNumberToObject(pm, "containerPort", c->ports[i].ctr_port);
			if (c->ports[i].host_port)
				cJSON_AddNumberToObject(pm, "hostPort", c->ports[i].host_port);
			cJSON_AddStringToObject(pm, "protocol", berth_proto_name(c->ports[i].proto));
			cJSON_AddItemToArray(ports, pm);
		}
		cJSON_AddItemToObject(net, "securityGroups", strv_to_json(c->groups));
	}
	return pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
}

static int ctr_save(struct berth_ctr *c, struct berth_err *err)
{
	_cleanup_free_ char *s = berth_ctr_json(c, false);
	if (!s)
		return berth_err_set(err, ENOMEM, "container %s record", c->id);
	if (berth_write_file_atomic(c->dirfd, STATE_FILE, s, strlen(s), 0600, err) < 0)
		return berth_err_wrap(err, "container %s", c->id);
	return 0;
}

static int ctr_load_network(struct berth_ctr *c, const cJSON *net)
{
	const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(net, "mode"));
	c->net_mode = mode && !strcmp(mode, "none") ? BERTH_NET_NONE : BERTH_NET_AWSVPC;
	if (!net) /* a record from before task networking: it had lo only */
		c->net_mode = BERTH_NET_NONE;
	const struct {
		const char *key;
		char *dst;
		size_t len;
	} strs[] = {{"ipv4Address", c->ip, sizeof(c->ip)},
		    {"gateway", c->gateway, sizeof(c->gateway)},
		    {"bridge", c->bridge, sizeof(c->bridge)},
		    {"macAddress", c->mac, sizeof(c->mac)}};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *sv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(net, strs[i].key));
		if (sv)
			snprintf(strs[i].dst, strs[i].len, "%s", sv);
	}
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(net, "portMappings"), *pm;
	int np = cJSON_GetArraySize(ports);
	if (np > 0 && !(c->ports = calloc((size_t)np, sizeof(*c->ports))))
		return -1;
	cJSON_ArrayForEach(pm, ports) {
		const char *proto = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pm, "protocol"));
		double cp = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(pm, "containerPort"));
		double hp = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(pm, "hostPort"));
		if (!(cp >= 1 && cp <= 65535))
			continue;
		c->ports[c->nports++] = (struct berth_port){
			.proto = proto && !strcmp(proto, "udp") ? BERTH_PROTO_UDP : BERTH_PROTO_TCP,
			.ctr_port = (uint16_t)cp,
			.host_port = hp >= 1 && hp <= 65535 ? (uint16_t)hp : 0};
	}
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(net, "securityGroups");
	if (cJSON_IsArray(g) && !(c->groups = json_to_strv(g)))
		return -1;
	return 0;
}

static int ctr_load(const char *root, int cdir, const char *id, struct berth_ctr **out,
		    struct berth_err *err)
{
	_cleanup_ctr_ struct berth_ctr *c = calloc(1, sizeof(*c));
	if (!c)
		return berth_err_set(err, ENOMEM, "container %s", id);
	c->dirfd = c->cg_parent_fd = c->cg_task_fd = c->cg_ctr_fd = -1;
	c->dirfd = openat(cdir, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dirfd < 0)
		return berth_err_set(err, errno, "container %s", id);
	_cleanup_free_ char *buf = NULL;
	if (berth_read_file_at(c->dirfd, STATE_FILE, STATE_MAX, &buf, NULL, err) < 0)
		return berth_err_wrap(err, "container %s", id);
	_cleanup_json_ cJSON *j = cJSON_Parse(buf);
	const cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (!j || !cJSON_IsString(jid) || strcmp(jid->valuestring, id) != 0)
		return berth_err_set(err, 0, "container %s: corrupt record %s/containers/%s/%s", id,
				     root, id, STATE_FILE);
	snprintf(c->id, sizeof(c->id), "%s", id);
	const cJSON *v;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "name")))
		c->name = strdup(v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "image")))
		c->image = strdup(v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "imageId")))
		c->image_id = strdup(v->valuestring);
	c->command = json_to_strv(cJSON_GetObjectItemCaseSensitive(j, "command"));
	c->layers = json_to_strv(cJSON_GetObjectItemCaseSensitive(j, "layers"));
	c->root = strdup(root);
	if (!c->command || !c->layers || !c->root)
		return berth_err_set(err, ENOMEM, "container %s", id);
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
	c->status = !st ? BERTH_CTR_EXITED
		    : !strcmp(st, "running") ? BERTH_CTR_RUNNING
		    : !strcmp(st, "created") ? BERTH_CTR_CREATED
					    : BERTH_CTR_EXITED;
	c->remove_on_exit = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "removeOnExit"));
	c->pid = (pid_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "pid"));
	c->pid_start = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "pidStart"));
	c->exit_code = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "exitCode"));
	c->created = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "created"));
	c->started = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "started"));
	c->finished = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "finished"));
	double dv = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "cpu"));
	c->cpu_units = dv > 0 && dv < 1e9 ? (uint32_t)dv : 0;
	dv = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "memory"));
	c->memory_mib = dv > 0 && dv < 1e9 ? (uint32_t)dv : 0;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "reason")))
		c->reason = strdup(v->valuestring);
	if (ctr_load_network(c, cJSON_GetObjectItemCaseSensitive(j, "network")) < 0)
		return berth_err_set(err, ENOMEM, "container %s", id);
	/* A record whose process is gone (its foreground berth was killed) is exited. */
	if (c->status == BERTH_CTR_RUNNING &&
	    (c->pid <= 0 || berth_pid_start_time(c->pid) != c->pid_start)) {
		c->status = BERTH_CTR_EXITED;
		c->exit_code = -1;
	}
	*out = TAKE_PTR(c);
	return 0;
}

static bool valid_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == BERTH_CTR_ID_HEX;
}

static int cmp_created(const void *a, const void *b)
{
	const struct berth_ctr *x = *(struct berth_ctr *const *)a, *y = *(struct berth_ctr *const *)b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

int berth_ctr_list(const char *root, struct berth_ctr ***out, size_t *n, struct berth_err *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_close_ int cdir = containers_dir(root, false, err);
	if (cdir < 0)
		return (err && err->errnum == ENOENT) ? (berth_err_clear(err), 0) : -1;
	_cleanup_closedir_ DIR *d = berth_opendir_at(cdir, "containers", err);
	if (!d)
		return -1;
	struct berth_ctr **v = NULL;
	size_t cnt = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!valid_id(de->d_name))
			continue;
		struct berth_ctr *c = NULL;
		struct berth_err lerr = {0};
		if (ctr_load(root, cdir, de->d_name, &c, &lerr) < 0) {
			/* A record being created or removed has no state file yet
			 * (or any more); a corrupt one is reported, never fatal. */
			if (lerr.errnum != ENOENT)
				fprintf(stderr, "berth: warning: skipping %s\n", lerr.msg);
			continue;
		}
		struct berth_ctr **nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			berth_ctr_free(c);
			for (size_t i = 0; i < cnt; i++)
				berth_ctr_free(v[i]);
			free(v);
			return berth_err_set(err, ENOMEM, "list containers");
		}
		v = nv;
		v[cnt++] = c;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_created);
	*out = v;
	*n = cnt;
	return 0;
}

int berth_ctr_find(const char *root, const char *ref, struct berth_ctr **out, struct berth_err *err)
{
	struct berth_ctr **v = NULL;
	size_t n = 0;
	if (berth_ctr_list(root, &v, &n, err) < 0)
		return -1;
	struct berth_ctr *hit = NULL;
	size_t matches = 0, reflen = strlen(ref);
	for (size_t i = 0; i < n; i++) {
		if ((v[i]->name && !strcmp(v[i]->name, ref)) || !strcmp(v[i]->id, ref)) {
			hit = v[i];
			matches = 1;
			break;
		}
		if (reflen >= 4 && !strncmp(v[i]->id, ref, reflen)) {
			hit = v[i];
			matches++;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i] != hit || matches != 1)
			berth_ctr_free(v[i]);
	free(v);
	if (matches == 0)
		return berth_err_set(err, ENOENT, "no such container \"%s\" (see 'berth ps -a')", ref);
	if (matches > 1)
		return berth_err_set(err, 0, "container prefix \"%s\" is ambiguous: give more digits",
				     ref);
	*out = hit;
	return 0;
}

int berth_ctr_layers_in_use(const char *root, char ***out, struct berth_err *err)
{
	struct berth_ctr **v = NULL;
	size_t n = 0;
	if (berth_ctr_list(root, &v, &n, err) < 0)
		return -1;
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += berth_strv_len(v[i]->layers);
	char **all = calloc(total + 1, sizeof(*all));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; all && v[i]->layers[j]; j++)
			all[k++] = TAKE_PTR(v[i]->layers[j]);
		berth_ctr_free(v[i]);
	}
	free(v);
	if (!all)
		return berth_err_set(err, ENOMEM, "list containers");
	*out = all;
	return 0;
}

static int layers_in_use_cb(void *ctx, char ***out, struct berth_err *err)
{
	return berth_ctr_layers_in_use(ctx, out, err);
}

struct berth_store_opts berth_ctr_store_opts(const char *root, uint64_t max_layer_bytes)
{
	return (struct berth_store_opts){
		.max_layer_bytes = max_layer_bytes,
		.layers_in_use = layers_in_use_cb,
		.layers_in_use_ctx = (void *)root,
	};
}

/* The task's cgroup lives at <cgroup root>/<id>; its process in <id>/main. */
#define CTR_CGROUP "main"

static int ctr_cgroup_destroy(struct berth_ctr *c, const char *cgroup_root, struct berth_err *err)
{
	int parent = c->cg_parent_fd;
	_cleanup_close_ int opened = -1;
	if (parent < 0) {
		/* A record loaded from disk: find berth's subtree again. A host
		 * without usable cgroup v2 cannot hold a cgroup of ours. */
		struct berth_err ignored = {0};
		opened = berth_cgroup_root_open(cgroup_root, &ignored);
		if (opened < 0)
			return 0;
		parent = opened;
	}
	if (berth_cgroup_destroy(parent, c->id, err) < 0)
		return berth_err_wrap(err, "container %.12s", c->id);
	return 0;
}

/* Serialise changes to one container between the `berth run` that owns it
 * and a concurrent `berth rm -f`: whoever comes second finds the record gone. */
static int ctr_lock(struct berth_ctr *c, struct berth_err *err)
{
	while (flock(c->dirfd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return berth_err_set(err, errno, "lock container %s", c->id);
	}
	return 0;
}

static bool ctr_gone(struct berth_ctr *c)
{
	return faccessat(c->dirfd, STATE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

/* Release the container's task network (idempotent).  Without the network
 * configuration (a record loaded by a command that has none) the network
 * sweep frees it once its owner is gone. */
static void ctr_net_release(struct berth_ctr *c)
{
	if (c->net) {
		berth_net_task_close(c->net);
		free(c->net);
		c->net = NULL;
	}
	if (c->net_mode != BERTH_NET_AWSVPC || !c->net_config)
		return;
	struct berth_net *n = NULL;
	struct berth_err e = {0};
	/* Callers have emptied and removed the task's cgroup: no process of
	 * the task is left to hold its namespace. */
	if (berth_net_open(c->net_config, &n, &e) < 0 || berth_net_teardown(n, c->id, BERTH_NET_NS_RELEASED, &e) < 0)
		fprintf(stderr, "berth: warning: container %.12s: %s\n", c->id, e.msg);
	berth_net_close(n);
}

int berth_ctr_remove(struct berth_ctr *c, struct berth_err *err)
{
	_cleanup_close_ int cdir = containers_dir(c->root, false, err);
	if (cdir < 0 || ctr_lock(c, err) < 0)
		return -1;
	/* Nothing of the container may survive its record: kill every process
	 * left in its cgroup and remove the cgroup first. */
	if (ctr_cgroup_destroy(c, NULL, err) < 0)
		return -1;
	ctr_net_release(c);
	/* Remove the record first so a crash mid-way leaves only an unnamed
	 * directory, never a record pointing at a half-deleted upper layer. */
	if (unlinkat(c->dirfd, STATE_FILE, 0) < 0 && errno != ENOENT)
		return berth_err_set(err, errno, "remove container %s", c->id);
	if (berth_rm_rf_at(cdir, c->id, err) < 0)
		return berth_err_wrap(err, "remove container %s", c->id);
	return 0;
}

int berth_ctr_finish(struct berth_ctr *c, int exit_code, struct berth_err *err)
{
	if (ctr_lock(c, err) < 0)
		return -1;
	if (ctr_gone(c)) /* removed meanwhile (`berth rm -f`): nothing to record */
		return 0;
	uint64_t ooms = 0;
	struct berth_err oerr = {0};
	if (c->cg_ctr_fd >= 0 && berth_cgroup_oom_kills(c->cg_ctr_fd, &ooms, &oerr) < 0)
		fprintf(stderr, "berth: warning: %s\n", oerr.msg);
	/* Only a container whose own process the OOM killer took is reported
	 * as out of memory, not one that survived a child's OOM kill. */
	if (ooms > 0 && exit_code == 128 + SIGKILL && !c->reason)
		c->reason = strdup(BERTH_REASON_OOM);
	if (c->remove_on_exit)
		return berth_ctr_remove(c, err);
	if (ctr_cgroup_destroy(c, NULL, err) < 0)
		return -1;
	ctr_net_release(c);
	c->status = BERTH_CTR_EXITED;
	c->exit_code = exit_code;
	c->finished = time(NULL);
	return ctr_save(c, err);
}

/* One pass over the records: the reservations of live containers and, when
 * name is given, whether a container already holds that exact name. */
static int ctr_scan(const char *root, const char *name, uint32_t *cpu_units, uint32_t *memory_mib,
		    size_t *running, struct berth_err *err)
{
	struct berth_ctr **v = NULL;
	size_t n = 0;
	if (berth_ctr_list(root, &v, &n, err) < 0)
		return -1;
	uint64_t cpu = 0, mem = 0;
	size_t live = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i]->status != BERTH_CTR_EXITED) {
			cpu += v[i]->cpu_units;
			mem += v[i]->memory_mib;
			live++;
		}
		if (name && rc == 0 && v[i]->name && !strcmp(v[i]->name, name))
			rc = berth_err_set(err, EEXIST,
					   "--name \"%s\": container %.12s already has that name; "
					   "remove it with 'berth rm %s' or choose another",
					   name, v[i]->id, name);
		berth_ctr_free(v[i]);
	}
	free(v);
	*cpu_units = cpu > UINT32_MAX ? UINT32_MAX : (uint32_t)cpu;
	*memory_mib = mem > UINT32_MAX ? UINT32_MAX : (uint32_t)mem;
	if (running)
		*running = live;
	return rc;
}

int berth_ctr_reserved(const char *root, uint32_t *cpu_units, uint32_t *memory_mib,
		       size_t *running, struct berth_err *err)
{
	return ctr_scan(root, NULL, cpu_units, memory_mib, running, err);
}

/* Admission and the task's cgroups, with the containers lock held so
 * concurrent runs see each other's reservations. */
static int ctr_admit_and_cgroup(struct berth_ctr *c, const struct berth_run_opts *o,
				uint32_t used_cpu, uint32_t used_mib, struct berth_err *err)
{
	struct berth_task_size want = {
		.cpu_units = o->cpu_units,
		.memory_mib = o->memory_mib,
		.pids_max = o->pids_max,
	};
	struct berth_capacity cap;
	if (berth_capacity_host(o->memory_reserve_mib, &cap, err) < 0 ||
	    berth_admit(&cap, used_cpu, used_mib, &want, err) < 0)
		return -1;
	c->cpu_units = o->cpu_units;
	c->memory_mib = o->memory_mib;

	struct berth_cgroup_limits lim, none = {0};
	berth_task_limits(&want, &lim);
	c->cg_parent_fd = berth_cgroup_root_open(o->cgroup_root, err);
	if (c->cg_parent_fd < 0)
		return -1;
	c->cg_task_fd = berth_cgroup_create(c->cg_parent_fd, c->id, &lim, true, err);
	if (c->cg_task_fd < 0)
		return -1;
	c->cg_ctr_fd = berth_cgroup_create(c->cg_task_fd, CTR_CGROUP, &none, false, err);
	if (c->cg_ctr_fd < 0)
		return -1;
	return 0;
}

static int valid_name(const char *name, struct berth_err *err)
{
	if (!name)
		return 0;
	size_t n = strlen(name);
	if (n == 0 || n > 128)
		return berth_err_set(err, 0, "--name \"%s\": must be 1 to 128 characters", name);
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool okc = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || (i > 0 && (ch == '_' || ch == '.' || ch == '-'));
		if (!okc)
			return berth_err_set(err, 0,
					     "--name \"%s\": use letters, digits, '_', '.' and '-' "
					     "(starting with a letter or digit)",
					     name);
	}
	return 0;
}

/* Build the container record (not yet saved). */
static int ctr_new(const char *root, int cdir, const struct berth_run_opts *o,
		   struct berth_ctr **out, struct berth_err *err)
{
	_cleanup_ctr_ struct berth_ctr *c = calloc(1, sizeof(*c));
	if (!c)
		return berth_err_set(err, ENOMEM, "new container");
	c->dirfd = c->cg_parent_fd = c->cg_task_fd = c->cg_ctr_fd = -1;
	c->exit_code = -1;
	if (berth_random_hex(c->id, BERTH_CTR_ID_HEX / 2, err) < 0)
		return -1;
	if (!(c->root = strdup(root)))
		return berth_err_set(err, ENOMEM, "new container");
	if (o->name && !(c->name = strdup(o->name)))
		return berth_err_set(err, ENOMEM, "new container");
	c->remove_on_exit = o->remove_on_exit;
	c->net_mode = o->network;
	c->created = time(NULL);
	if (mkdirat(cdir, c->id, 0700) < 0)
		return berth_err_set(err, errno, "create container directory %s/containers/%s", root,
				     c->id);
	c->dirfd = openat(cdir, c->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dirfd < 0) {
		int e = errno;
		unlinkat(cdir, c->id, AT_REMOVEDIR);
		return berth_err_set(err, e, "open container directory %s", c->id);
	}
	*out = TAKE_PTR(c);
	return 0;
}

/* The task network: owned by this process (the container's monitor), whose
 * death ends the container (pdeathsig) and so frees the network. */
static int ctr_net_setup(struct berth_ctr *c, const struct berth_run_opts *o, const char *hostname,
			 struct berth_err *err)
{
	if (!o->net_config)
		return berth_err_set(err, EINVAL, "container %s: no network configuration", c->id);
	c->net_config = o->net_config;
	if (o->nports && !(c->ports = calloc(o->nports, sizeof(*c->ports))))
		return berth_err_set(err, ENOMEM, "container %s", c->id);
	if (o->nports)
		memcpy(c->ports, o->ports, o->nports * sizeof(*c->ports));
	c->nports = o->nports;
	if (o->groups && !(c->groups = berth_strv_dup(o->groups, err)))
		return -1;
	if (!(c->net = calloc(1, sizeof(*c->net))))
		return berth_err_set(err, ENOMEM, "container %s", c->id);
	c->net->netns_fd = -1;
	struct berth_net *n = NULL;
	struct berth_net_request req = {.task_id = c->id, .hostname = hostname, .ports = o->ports,
					.nports = o->nports, .groups = o->groups, .owner = getpid()};
	int r = berth_net_open(o->net_config, &n, err);
	if (r == 0)
		r = berth_net_setup(n, &req, c->net, err);
	berth_net_close(n);
	if (r < 0)
		return -1;
	snprintf(c->ip, sizeof(c->ip), "%s", c->net->ip_str);
	snprintf(c->gateway, sizeof(c->gateway), "%s", c->net->gateway_str);
	snprintf(c->bridge, sizeof(c->bridge), "%s", c->net->bridge);
	const uint8_t *m = c->net->mac;
	snprintf(c->mac, sizeof(c->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	/* Recorded with the RUNNING state right after the spawn (one write on
	 * the start path); until then the lease, keyed by the id, has it. */
	return 0;
}

int berth_ctr_run(const char *root, const struct berth_run_opts *o, struct berth_ctr **out,
		  struct berth_proc *proc, int *exec_errno, struct berth_err *err)
{
	struct berth_image *img = NULL;
	struct berth_store *store = NULL;
	struct berth_ctr *c = NULL;
	struct berth_ctr_spec cs = {0};
	int rootfs_fd = -1, lockfd = -1, rc = -1;
	char mountpoint[PATH_MAX];

	berth_trace("run_accepted");
	_cleanup_close_ int cdir = containers_dir(root, true, err);
	if (cdir < 0)
		return -1;

	if (o->image) {
		struct berth_store_opts sopts = berth_ctr_store_opts(root, o->max_layer_bytes);
		/* Hold the store until the record listing the image's layers
		 * exists, so an `image rm` meanwhile cannot collect them. */
		if (berth_store_open(root, &sopts, &store, err) < 0 ||
		    berth_store_hold(store, err) < 0)
			goto out;
		if (berth_image_get(store, o->image, &img, err) < 0)
			goto out;
	}
	if (valid_name(o->name, err) < 0 || berth_ctr_spec_build(o, img, &cs, err) < 0)
		goto out;
	berth_trace("image_ready");

	/* Names are unique: serialise creation on the containers lock. */
	lockfd = openat(cdir, "../containers.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		berth_err_set(err, errno, "lock %s/containers.lock", root);
		goto out;
	}
	uint32_t used_cpu = 0, used_mib = 0;
	if (ctr_scan(root, o->name, &used_cpu, &used_mib, NULL, err) < 0)
		goto out;
	if (ctr_new(root, cdir, o, &c, err) < 0)
		goto out;
	if (o->image)
		c->image = strdup(o->image);
	else if (asprintf(&c->image, "rootfs:%s", o->rootfs_dir) < 0)
		c->image = NULL; /* asprintf leaves it undefined on failure */
	if (!c->image || (img && !(c->image_id = strdup(img->config_digest))) ||
	    !(c->command = berth_strv_dup(cs.argv, err)) ||
	    !(c->layers = berth_strv_dup(img ? img->layers : NULL, err))) {
		berth_err_set(err, ENOMEM, "new container");
		goto fail;
	}
	c->status = BERTH_CTR_CREATED;
	if (ctr_admit_and_cgroup(c, o, used_cpu, used_mib, err) < 0 || ctr_save(c, err) < 0)
		goto fail;
	berth_trace("cgroup_ready");
	close(lockfd);
	lockfd = -1;
	berth_store_release(store);

	if (mkdirat(c->dirfd, "rootfs", 0700) < 0) {
		berth_err_set(err, errno, "container %s: create rootfs mount point", c->id);
		goto fail;
	}
	snprintf(mountpoint, sizeof(mountpoint), "%s/containers/%s/rootfs", root, c->id);
	rootfs_fd = img ? berth_rootfs_mount(store, img, c->dirfd, err)
			: berth_rootfs_from_dir(o->rootfs_dir, err);
	if (rootfs_fd < 0)
		goto fail;
	berth_trace("rootfs_mounted");

	const struct berth_seccomp *sc = NULL;
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/cache", root);
	if (berth_mkdir_p_at(AT_FDCWD, cache, 0700, err) < 0 ||
	    berth_seccomp_default(cache, &sc, err) < 0)
		goto fail;
	berth_trace("seccomp_ready");

	snprintf(cs.hostname, sizeof(cs.hostname), "%.12s", c->id);
	const char *hostname = o->hostname ? o->hostname : cs.hostname;
	struct berth_bind binds[2] = {{.fd = -1}, {.fd = -1}};
	size_t nbinds = 0;
	if (o->network == BERTH_NET_AWSVPC) {
		if (ctr_net_setup(c, o, hostname, err) < 0)
			goto fail;
		berth_trace("network_ready");
		binds[0] = (struct berth_bind){.fd = berth_bind_source(c->net->resolv_conf, err), .target = "/etc/resolv.conf"};
		if (binds[0].fd < 0)
			goto fail;
		binds[1] = (struct berth_bind){.fd = berth_bind_source(c->net->hosts, err), .target = "/etc/hosts"};
		if (binds[1].fd < 0) {
			close(binds[0].fd);
			goto fail;
		}
		nbinds = 2;
	}
	struct berth_container_spec spec = {
		.rootfs_fd = rootfs_fd,
		.rootfs_mountpoint = mountpoint,
		.netns_fd = c->net ? c->net->netns_fd : -1,
		.binds = binds,
		.nbinds = nbinds,
		.argv = cs.argv,
		.envp = cs.envp,
		.cwd = cs.cwd,
		.user = cs.user,
		.hostname = hostname,
		.readonly_rootfs = o->read_only,
		.caps = berth_caps_default(),
		.seccomp = sc,
		.no_new_privs = true,
		.stdio = {o->stdio[0], o->stdio[1], o->stdio[2]},
		.pdeathsig = SIGKILL,
		.cgroup_fd = c->cg_ctr_fd,
	};
	int spawned = berth_spawn(&spec, proc, exec_errno, err);
	for (size_t i = 0; i < nbinds; i++)
		close(binds[i].fd);
	if (spawned < 0)
		goto fail;
	close(rootfs_fd);
	rootfs_fd = -1;

	c->status = BERTH_CTR_RUNNING;
	c->pid = proc->pid;
	c->pid_start = berth_pid_start_time(proc->pid);
	c->started = time(NULL);
	if (ctr_save(c, err) < 0) {
		/* Cannot record it: do not leave an untracked process running. */
		syscall(SYS_pidfd_send_signal, proc->pidfd, SIGKILL, NULL, 0);
		int code;
		struct berth_err werr = {0};
		berth_proc_wait(proc, &code, &werr);
		goto fail;
	}
	*out = TAKE_PTR(c);
	rc = 0;
	goto out;

fail:
	if (c) {
		struct berth_err rerr = {0};
		if (berth_ctr_remove(c, &rerr) < 0)
			fprintf(stderr, "berth: warning: %s\n", rerr.msg);
	}
out:
	if (rootfs_fd >= 0)
		close(rootfs_fd);
	if (lockfd >= 0)
		close(lockfd);
	berth_ctr_spec_free(&cs);
	berth_ctr_free(c);
	berth_image_free(img);
	berth_store_close(store);
	return rc;
}
