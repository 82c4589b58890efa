/* berth runtime/ — cgroup v2 mechanism: berth's subtree, per-task and
 * per-container cgroups, limits, OOM events, kill and removal.
 *
 * Policy (how many units a task gets) lives in scheduler/; this file only
 * writes what it is told.  Every function works relative to directory fds,
 * so the writers are testable against a plain directory.
 */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define BERTH_CGROUP_DEFAULT_PERIOD_US 100000

struct berth_cgroup_limits {
	uint64_t cpu_quota_us;  /* cpu.max quota; 0 = "max" (no cap) */
	uint64_t cpu_period_us; /* cpu.max period; 0 = BERTH_CGROUP_DEFAULT_PERIOD_US */
	uint32_t cpu_weight;    /* cpu.weight 1..10000; 0 = leave the default */
	uint64_t memory_max;    /* memory.max bytes; 0 = "max" */
	uint64_t memory_low;    /* memory.low bytes; 0 = leave */
	bool memory_swap_off;   /* memory.swap.max = 0 (when the file exists) */
	uint64_t pids_max;      /* pids.max; 0 = "max" */
};

/* Open berth's cgroup subtree and check that cgroup v2 is usable:
 *  - path given: use it (created if missing);
 *  - else, under systemd with a delegated unit (our own cgroup from
 *    /proc/self/cgroup, when its cgroup.controllers lists what we need), a
 *    "tasks" child of it (berthd itself moves to a "daemon" leaf);
 *  - else /sys/fs/cgroup/berth/tasks.
 * Fails with one clear message when /sys/fs/cgroup is not cgroup2 or the
 * cpu, memory and pids controllers are not available there (saying what was
 * found and how to enable the unified hierarchy, e.g. the kernel command line
 * systemd.unified_cgroup_hierarchy=1), so no task ever runs unconfined.
 * Enables +cpu +memory +pids in the subtree's cgroup.subtree_control.
 * Nothing is created before cgroup v2 has been found usable; the refusal
 * has err->errnum == EOPNOTSUPP (and no strerror text in the message).
 * Returns the directory fd. */
int berth_cgroup_root_open(const char *path, struct berth_err *err);

/* For berthd under systemd with Delegate=yes: move every process of the
 * unit's own cgroup (berthd itself included) into its "daemon" leaf, so
 * that berth_cgroup_root_open() can enable controllers for "tasks" (cgroup
 * v2 gives children controllers only from a cgroup without processes).
 * Call it once at start-up, before root_open.  Returns 1 when moved, 0 when
 * the process is not in a delegated cgroup (nothing to do: the CLI, a root
 * shell, a non-delegated unit, a host without usable cgroup v2). */
int berth_cgroup_daemon_leaf(struct berth_err *err);

/* Create parentfd/name (EEXIST is an error: names are unique task/container
 * ids), write the limits into it before anything joins, and, when
 * delegate_children is true, enable +cpu +memory +pids for its children.
 * Returns the directory fd (O_RDONLY|O_DIRECTORY, usable for
 * CLONE_INTO_CGROUP). On failure the directory is removed again. */
int berth_cgroup_create(int parentfd, const char *name, const struct berth_cgroup_limits *lim,
			bool delegate_children, struct berth_err *err);

/* Write limits into an existing cgroup directory (used by create). */
int berth_cgroup_write_limits(int cgfd, const struct berth_cgroup_limits *lim,
			      struct berth_err *err);

/* The oom_kill counter of memory.events (0 when the file is absent). */
int berth_cgroup_oom_kills(int cgfd, uint64_t *count, struct berth_err *err);

/* Kill every process in the cgroup and its descendants (cgroup.kill; on
 * kernels without it, freeze + SIGKILL every pid + thaw), wait until
 * cgroup.events says populated 0 (bounded), then remove the directory tree
 * parentfd/name bottom-up. Missing is success. */
int berth_cgroup_destroy(int parentfd, const char *name, struct berth_err *err);

#endif
