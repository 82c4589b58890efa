/* berth netns/ — leases: the on-disk record of each task's network.
 *
 * One JSON file per task (tasks/<id>.json), written before any side effect
 * and removed last, plus O_EXCL reservation files for the address
 * (ips/<a.b.c.d>) and each published host port (ports/<proto>-<port>), each
 * holding the task id.  The caller holds the state lock.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/lease.h"

void berth_net_lease_free(struct berth_net_lease *l)
{
	if (!l)
		return;
	free(l->ports);
	berth_strv_free(l->groups);
	l->ports = NULL;
	l->groups = NULL;
	l->nports = 0;
}

void berth_net_leases_free(struct berth_net_lease *l, size_t count)
{
	for (size_t i = 0; i < count; i++)
		berth_net_lease_free(&l[i]);
	free(l);
}

bool berth_task_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	return n >= 12 && n <= BERTH_NET_TASK_ID_MAX && strspn(id, "0123456789abcdef") == n;
}

static int write_small(int dirfd, const char *name, const char *content, bool excl, struct berth_err *err)
{
	if (!excl)
		return berth_write_file_replace(dirfd, name, content, strlen(content), 0600, err);
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 1 : berth_err_set(err, errno, "create %s", name);
	size_t len = strlen(content);
	if (write(fd, content, len) != (ssize_t)len) {
		int e = errno ? errno : EIO;
		unlinkat(dirfd, name, 0);
		return berth_err_set(err, e, "write %s", name);
	}
	return 0;
}

/* Reservations: 0 taken now, 1 already held (holder's id in holder). */
int berth_reserve(int dirfd, const char *name, const char *task_id, char holder[BERTH_NET_TASK_ID_MAX + 1],
		  struct berth_err *err)
{
	int r = write_small(dirfd, name, task_id, true, err);
	if (r != 1)
		return r;
	char buf[BERTH_NET_TASK_ID_MAX + 1] = "";
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	snprintf(holder, BERTH_NET_TASK_ID_MAX + 1, "%s", buf);
	return 1;
}

void berth_unreserve(int dirfd, const char *name, const char *task_id)
{
	char buf[BERTH_NET_TASK_ID_MAX + 1] = "";
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (!task_id || strcmp(buf, task_id) == 0)
		unlinkat(dirfd, name, 0);
}

void berth_port_file(const struct berth_port *p, char name[32])
{
	snprintf(name, 32, "%s-%u", berth_proto_name(p->proto), p->host_port);
}

int berth_lease_write(int tasksfd, const struct berth_net_lease *l, struct berth_err *err)
{
	char ip[16], name[BERTH_NET_TASK_ID_MAX + 8];
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return berth_err_set(err, ENOMEM, "lease");
	cJSON_AddStringToObject(j, "task", l->task_id);
	cJSON_AddStringToObject(j, "ip", berth_ip_str(l->ip, ip));
	cJSON_AddStringToObject(j, "bridge", l->bridge);
	cJSON_AddStringToObject(j, "veth", l->veth);
	cJSON_AddNumberToObject(j, "owner", l->owner);
	cJSON_AddNumberToObject(j, "ownerStart", (double)l->owner_start);
	cJSON *ports = cJSON_AddArrayToObject(j, "ports");
	for (size_t i = 0; ports && i < l->nports; i++) {
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "protocol", berth_proto_name(l->ports[i].proto));
		cJSON_AddNumberToObject(p, "containerPort", l->ports[i].ctr_port);
		if (l->ports[i].host_port)
			cJSON_AddNumberToObject(p, "hostPort", l->ports[i].host_port);
		cJSON_AddItemToArray(ports, p);
	}
	cJSON *groups = cJSON_AddArrayToObject(j, "securityGroups");
	for (char **g = l->groups; groups && g && *g; g++)
		cJSON_AddItemToArray(groups, cJSON_CreateString(*g));
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!text)
		return berth_err_set(err, ENOMEM, "lease");
	snprintf(name, sizeof(name), "%s.json", l->task_id);
	int r = berth_write_file_replace(tasksfd, name, text, strlen(text), 0600, err);
	free(text);
	return r < 0 ? berth_err_wrap(err, "write the lease of task %s", l->task_id) : 0;
}

static int json_port(const cJSON *p, struct berth_port *out)
{
	const cJSON *proto = cJSON_GetObjectItemCaseSensitive(p, "protocol");
	const cJSON *cp = cJSON_GetObjectItemCaseSensitive(p, "containerPort");
	const cJSON *hp = cJSON_GetObjectItemCaseSensitive(p, "hostPort");
	if (!cJSON_IsString(proto) || !cJSON_IsNumber(cp))
		return -1;
	out->proto = strcmp(proto->valuestring, "udp") == 0 ? BERTH_PROTO_UDP : BERTH_PROTO_TCP;
	out->ctr_port = (uint16_t)cp->valuedouble;
	out->host_port = cJSON_IsNumber(hp) ? (uint16_t)hp->valuedouble : 0;
	return 0;
}

/* 0 read, 1 no such lease, -1 error (corrupt). */
int berth_lease_read(int tasksfd, const char *task_id, struct berth_net_lease *out, struct berth_err *err)
{
	char name[BERTH_NET_TASK_ID_MAX + 8];
	snprintf(name, sizeof(name), "%s.json", task_id);
	_cleanup_free_ char *text = NULL;
	if (berth_read_file_at(tasksfd, name, 1 << 20, &text, NULL, err) < 0) {
		if (err->errnum == ENOENT)
			return 1;
		return berth_err_wrap(err, "lease of task %s", task_id);
	}
	cJSON *j = cJSON_Parse(text);
	memset(out, 0, sizeof(*out));
	const cJSON *task = cJSON_GetObjectItemCaseSensitive(j, "task");
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(j, "ip");
	const cJSON *br = cJSON_GetObjectItemCaseSensitive(j, "bridge");
	const cJSON *veth = cJSON_GetObjectItemCaseSensitive(j, "veth");
	const cJSON *owner = cJSON_GetObjectItemCaseSensitive(j, "owner");
	const cJSON *ostart = cJSON_GetObjectItemCaseSensitive(j, "ownerStart");
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(j, "ports");
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(j, "securityGroups");
	if (!cJSON_IsString(task) || strcmp(task->valuestring, task_id) != 0 || !cJSON_IsString(ip) ||
	    berth_ip_parse(ip->valuestring, &out->ip, NULL) < 0 || !cJSON_IsString(br) ||
	    strlen(br->valuestring) > 15 || !cJSON_IsString(veth) || strlen(veth->valuestring) > 15 ||
	    !cJSON_IsNumber(owner) || !cJSON_IsNumber(ostart) || !cJSON_IsArray(ports) || !cJSON_IsArray(groups))
		goto corrupt;
	snprintf(out->task_id, sizeof(out->task_id), "%s", task_id);
	snprintf(out->bridge, sizeof(out->bridge), "%s", br->valuestring);
	snprintf(out->veth, sizeof(out->veth), "%s", veth->valuestring);
	out->owner = (pid_t)owner->valuedouble;
	out->owner_start = (uint64_t)ostart->valuedouble;
	int np = cJSON_GetArraySize(ports), ng = cJSON_GetArraySize(groups);
	out->ports = calloc((size_t)np + 1, sizeof(*out->ports));
	out->groups = calloc((size_t)ng + 1, sizeof(char *));
	if (!out->ports || !out->groups)
		goto corrupt;
	const cJSON *it;
	cJSON_ArrayForEach(it, ports) {
		if (json_port(it, &out->ports[out->nports]) < 0)
			goto corrupt;
		out->nports++;
	}
	int gi = 0;
	cJSON_ArrayForEach(it, groups) {
		if (!cJSON_IsString(it) || !(out->groups[gi++] = strdup(it->valuestring)))
			goto corrupt;
	}
	cJSON_Delete(j);
	return 0;
corrupt:
	cJSON_Delete(j);
	berth_net_lease_free(out);
	return berth_err_set(err, 0, "lease of task %s is corrupt", task_id);
}

int berth_lease_list(int tasksfd, struct berth_net_lease **out, size_t *count, struct berth_err *err)
{
	DIR *d = berth_opendir_at(tasksfd, "leases", err);
	if (!d)
		return -1;
	_cleanup_closedir_ DIR *dir = d;
	struct berth_net_lease *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		char id[BERTH_NET_TASK_ID_MAX + 1];
		if (len - 5 > BERTH_NET_TASK_ID_MAX)
			continue;
		memcpy(id, e->d_name, len - 5);
		id[len - 5] = '\0';
		if (!berth_task_id_valid(id))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct berth_net_lease *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				berth_net_leases_free(v, n);
				return berth_err_set(err, ENOMEM, "leases");
			}
			v = nv;
		}
		struct berth_err lerr = {0};
		int r = berth_lease_read(tasksfd, id, &v[n], &lerr);
		if (r == 0) {
			n++;
		} else if (r < 0) {
			/* A corrupt lease must not block every other task: it is
			 * reported and moved aside for the sweep's reservations pass. */
			fprintf(stderr, "berth: warning: %s; removing it\n", lerr.msg);
			unlinkat(tasksfd, e->d_name, 0);
		}
	}
	*out = v;
	*count = n;
	return 0;
}

int berth_lease_remove(int tasksfd, const char *task_id)
{
	char name[BERTH_NET_TASK_ID_MAX + 8];
	snprintf(name, sizeof(name), "%s.json", task_id);
	if (unlinkat(tasksfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}
