/* berth scheduler/ — task sizes, Fargate's table, host capacity, admission. */
#include "scheduler/resources.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static uint32_t weight_of(uint32_t units);

/* Parse "<number>[ ]<suffix>" where number may be a decimal fraction
 * (".25", "0.5", "2"); suffix compared case-insensitively against the
 * accepted list ("" = plain number).  Returns the value and which suffix. */
static int parse_quantity(const char *s, const char *const *suffixes, double *val, int *which)
{
	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
		return -1;
	errno = 0;
	char *end = NULL;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	/* strtod accepts hex and exponents; berth accepts decimals only. */
	for (const char *p = s; p < end; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
	while (isspace((unsigned char)*end))
		end++;
	size_t len = strlen(end);
	while (len && isspace((unsigned char)end[len - 1]))
		len--;
	for (int i = 0; suffixes[i]; i++) {
		if (strlen(suffixes[i]) == len && !strncasecmp(end, suffixes[i], len)) {
			*val = v;
			*which = i;
			return 0;
		}
	}
	return -1;
}

int berth_parse_cpu_units(const char *s, const char *field, uint32_t *units, struct berth_err *err)
{
	static const char *const sfx[] = {"", "vcpu", NULL};
	double v;
	int which;
	if (parse_quantity(s, sfx, &v, &which) < 0)
		return berth_err_set(err, EINVAL,
				     "%s \"%s\": expected CPU units (\"256\", \"1024\") or vCPUs "
				     "(\"0.25 vCPU\", \"1 vcpu\")",
				     field, s ? s : "");
	double u = which == 1 ? v * 1024.0 : v;
	if (which == 0 && floor(v) != v)
		return berth_err_set(err, EINVAL, "%s \"%s\": CPU units must be a whole number", field, s);
	/* ECS's floor for a task: below 128 units (1/8 CPU) even the
	 * container's own setup, which runs inside its cgroup, crawls. */
	if (u < 128 || u > 192.0 * 1024)
		return berth_err_set(err, EINVAL,
				     "%s \"%s\": must be between 128 units (0.125 vCPU) and 192 vCPU",
				     field, s);
	*units = (uint32_t)llround(u);
	return 0;
}

int berth_parse_memory_mib(const char *s, const char *field, uint32_t *mib, struct berth_err *err)
{
	static const char *const sfx[] = {"", "mb", "mib", "gb", "gib", NULL};
	double v;
	int which;
	if (parse_quantity(s, sfx, &v, &which) < 0)
		return berth_err_set(err, EINVAL,
				     "%s \"%s\": expected MiB (\"512\") or GB (\"0.5 GB\", \"2GB\")",
				     field, s ? s : "");
	double m = which >= 3 ? v * 1024.0 : v;
	if (which <= 2 && floor(v) != v)
		return berth_err_set(err, EINVAL, "%s \"%s\": MiB must be a whole number", field, s);
	if (m < 6 || m > 4.0 * 1024 * 1024)
		return berth_err_set(err, EINVAL, "%s \"%s\": must be between 6 MiB and 4096 GB", field,
				     s);
	*mib = (uint32_t)llround(m);
	return 0;
}

static const struct {
	uint32_t cpu, min, max, step;
} fargate[] = {
	{256, 512, 2048, 0}, /* 512, 1024, 2048 */
	{512, 1024, 4096, 1024},
	{1024, 2048, 8192, 1024},
	{2048, 4096, 16384, 1024},
	{4096, 8192, 30720, 1024},
	{8192, 16384, 61440, 4096},
	{16384, 32768, 122880, 8192},
};

int berth_fargate_check(uint32_t cpu, uint32_t mem, struct berth_err *err)
{
	for (size_t i = 0; i < sizeof(fargate) / sizeof(fargate[0]); i++) {
		if (fargate[i].cpu != cpu)
			continue;
		bool okm = fargate[i].step == 0
				   ? (mem == 512 || mem == 1024 || mem == 2048)
				   : (mem >= fargate[i].min && mem <= fargate[i].max &&
				      (mem - fargate[i].min) % fargate[i].step == 0);
		if (okm)
			return 0;
		if (fargate[i].step == 0)
			return berth_err_set(err, EINVAL,
					     "Invalid 'cpu' setting for task. (FARGATE: cpu %u allows "
					     "memory 512, 1024 or 2048 MiB, not %u)",
					     cpu, mem);
		return berth_err_set(err, EINVAL,
				     "Invalid 'cpu' setting for task. (FARGATE: cpu %u allows memory "
				     "%u to %u MiB in steps of %u, not %u)",
				     cpu, fargate[i].min, fargate[i].max, fargate[i].step, mem);
	}
	return berth_err_set(err, EINVAL,
			     "Invalid 'cpu' setting for task. (FARGATE: cpu must be 256, 512, 1024, "
			     "2048, 4096, 8192 or 16384 units, not %u)",
			     cpu);
}

void berth_task_limits(const struct berth_task_size *sz, struct berth_cgroup_limits *out)
{
	memset(out, 0, sizeof(*out));
	out->cpu_period_us = BERTH_CGROUP_DEFAULT_PERIOD_US;
	if (sz->cpu_units) {
		/* A hard cap of units/1024 CPUs, and a weight proportional to the
		 * reservation (1024 units -> 100, the cgroup default). */
		uint64_t q = (uint64_t)sz->cpu_units * BERTH_CGROUP_DEFAULT_PERIOD_US / 1024;
		out->cpu_quota_us = q < 1000 ? 1000 : q; /* the kernel's minimum quota is 1 ms */
		out->cpu_weight = weight_of(sz->cpu_units);
	}
	if (sz->memory_mib) {
		out->memory_max = (uint64_t)sz->memory_mib << 20;
		out->memory_swap_off = true;
	}
	out->pids_max = sz->pids_max ? sz->pids_max : BERTH_DEFAULT_PIDS_MAX;
}

static uint32_t weight_of(uint32_t units)
{
	uint64_t w = ((uint64_t)units * 100 + 512) / 1024; /* 1024 units -> 100, the default */
	return (uint32_t)(w < 1 ? 1 : w > 10000 ? 10000 : w);
}

void berth_container_limits(const struct berth_container_size *c, struct berth_cgroup_limits *out)
{
	memset(out, 0, sizeof(*out));
	if (c->cpu_units)
		out->cpu_weight = weight_of(c->cpu_units);
	if (c->memory_mib) {
		out->memory_max = (uint64_t)c->memory_mib << 20;
		out->memory_swap_off = true;
	}
	if (c->reservation_mib)
		out->memory_low = (uint64_t)c->reservation_mib << 20;
}

int berth_containers_fit(const struct berth_task_size *task, const struct berth_container_size *c,
			 size_t n, struct berth_err *err)
{
	uint64_t cpu = 0, mem = 0, res = 0;
	for (size_t i = 0; i < n; i++) {
		const char *nm = c[i].name ? c[i].name : "?";
		if (c[i].memory_mib && c[i].reservation_mib > c[i].memory_mib)
			return berth_err_set(err, EINVAL,
					     "container \"%s\": memoryReservation %u MiB is above its "
					     "memory limit %u MiB",
					     nm, c[i].reservation_mib, c[i].memory_mib);
		if (task->memory_mib && c[i].memory_mib > task->memory_mib)
			return berth_err_set(err, EINVAL,
					     "container \"%s\": memory %u MiB is above the task's %u MiB",
					     nm, c[i].memory_mib, task->memory_mib);
		cpu += c[i].cpu_units;
		mem += c[i].memory_mib;
		res += c[i].reservation_mib;
	}
	if (task->cpu_units && cpu > task->cpu_units)
		return berth_err_set(err, EINVAL,
				     "the containers ask for %llu CPU units in all, above the task's %u",
				     (unsigned long long)cpu, task->cpu_units);
	if (task->memory_mib && mem > task->memory_mib)
		return berth_err_set(err, EINVAL,
				     "the containers' memory adds up to %llu MiB, above the task's %u MiB",
				     (unsigned long long)mem, task->memory_mib);
	if (task->memory_mib && res > task->memory_mib)
		return berth_err_set(err, EINVAL,
				     "the containers' memoryReservation adds up to %llu MiB, above the "
				     "task's %u MiB",
				     (unsigned long long)res, task->memory_mib);
	return 0;
}

int berth_capacity_host(uint32_t reserve_mib, struct berth_capacity *out, struct berth_err *err)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		return berth_err_set(err, errno, "count CPUs");
	_cleanup_free_ char *buf = NULL;
	if (berth_read_file_at(-1, "/proc/meminfo", 1 << 20, &buf, NULL, err) < 0)
		return berth_err_wrap(err, "read host memory");
	const char *p = strstr(buf, "MemTotal:");
	unsigned long long kib = 0;
	if (!p || sscanf(p, "MemTotal: %llu kB", &kib) != 1)
		return berth_err_set(err, 0, "read host memory: no MemTotal in /proc/meminfo");
	uint64_t total = kib / 1024;
	uint64_t reserve = reserve_mib ? reserve_mib : total / 20 > 256 ? total / 20 : 256;
	out->cpu_units = (uint32_t)ncpu * 1024;
	out->memory_mib = total > reserve ? (uint32_t)(total - reserve) : 0;
	out->reserved_memory_mib = (uint32_t)reserve;
	return 0;
}

int berth_admit(const struct berth_capacity *cap, uint32_t used_cpu, uint32_t used_mib,
		const struct berth_task_size *want, struct berth_err *err)
{
	if (want->cpu_units && (uint64_t)used_cpu + want->cpu_units > cap->cpu_units)
		return berth_err_set(err, EBUSY,
				     "RESOURCE:CPU: the task asks for %u CPU units but only %u of the "
				     "host's %u are free (%u reserved by running tasks)",
				     want->cpu_units, cap->cpu_units > used_cpu ? cap->cpu_units - used_cpu : 0,
				     cap->cpu_units, used_cpu);
	if (want->memory_mib && (uint64_t)used_mib + want->memory_mib > cap->memory_mib)
		return berth_err_set(err, EBUSY,
				     "RESOURCE:MEMORY: the task asks for %u MiB but only %u MiB of the "
				     "host's %u MiB are free (%u MiB reserved by running tasks)",
				     want->memory_mib,
				     cap->memory_mib > used_mib ? cap->memory_mib - used_mib : 0,
				     cap->memory_mib, used_mib);
	return 0;
}
