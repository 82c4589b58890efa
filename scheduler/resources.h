/* berth scheduler/ — task sizes (ECS cpu/memory), Fargate's valid pairs,
 * host capacity and admission. */
#ifndef BERTH_SCHEDULER_RESOURCES_H
#define BERTH_SCHEDULER_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "runtime/cgroup.h"

/* ECS task-level cpu: "256", "1024", "1 vCPU", "0.25 vcpu" -> CPU units
 * (1024 per vCPU). field names the input in errors ("cpu"). */
int berth_parse_cpu_units(const char *s, const char *field, uint32_t *units, struct berth_err *err);
/* ECS task-level memory: "512", "2048" (MiB), "0.5 GB", "1GB", "2 gb" -> MiB. */
int berth_parse_memory_mib(const char *s, const char *field, uint32_t *mib, struct berth_err *err);

/* Fargate's valid cpu/memory pairs; the error uses ECS's wording. */
int berth_fargate_check(uint32_t cpu_units, uint32_t memory_mib, struct berth_err *err);

/* A task's reservation and the limits it turns into. */
struct berth_task_size {
	uint32_t cpu_units;   /* 0 = no cap requested */
	uint32_t memory_mib;  /* 0 = no limit requested */
	uint64_t pids_max;    /* default BERTH_DEFAULT_PIDS_MAX */
};
#define BERTH_DEFAULT_PIDS_MAX 4096

/* cpu units -> cpu.max quota (units/1024 x period) and cpu.weight
 * (proportional, 1024 units -> 100, clamped 1..10000); memory -> memory.max
 * with swap off. */
void berth_task_limits(const struct berth_task_size *sz, struct berth_cgroup_limits *out);

/* One container of a task (ECS containerDefinitions[].cpu/memory/
 * memoryReservation; 0 = not given). */
struct berth_container_size {
	const char *name;
	uint32_t cpu_units;
	uint32_t memory_mib;      /* hard limit */
	uint32_t reservation_mib; /* soft limit */
};

/* Containers share the task's CPU cap by weight (cpu.weight proportional to
 * their units; a container without units gets the default weight) and get
 * memory.max / memory.low from memory / memoryReservation.  The task
 * cgroup above them holds the hard caps. */
void berth_container_limits(const struct berth_container_size *c, struct berth_cgroup_limits *out);

/* The containers must fit the task: sums of cpu, of memory and of
 * memoryReservation each at most the task's size (where the task has one),
 * and no container's memory above the task's; a reservation above the
 * container's own hard limit is refused too. */
int berth_containers_fit(const struct berth_task_size *task, const struct berth_container_size *c,
			 size_t n, struct berth_err *err);

/* Host capacity: nproc x 1024 units; MemTotal minus the host reserve. */
struct berth_capacity {
	uint32_t cpu_units;
	uint32_t memory_mib;
	uint32_t reserved_memory_mib; /* host reserve subtracted from MemTotal */
};
/* reserve_mib: 0 = default (max(256 MiB, 5% of MemTotal)). */
int berth_capacity_host(uint32_t reserve_mib, struct berth_capacity *out, struct berth_err *err);

/* Admission against what is already reserved.  Tasks without a size
 * reserve nothing in that dimension.  On refusal, err says ECS's reason
 * "RESOURCE:CPU" or "RESOURCE:MEMORY" with the numbers that did not fit. */
int berth_admit(const struct berth_capacity *cap, uint32_t used_cpu, uint32_t used_mib,
		const struct berth_task_size *want, struct berth_err *err);

#endif
