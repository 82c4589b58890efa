/* berth — start-up trace timestamps for benchmarks (tests/bench/).
 *
 * With BERTH_TRACE=/path/file in the environment, every berth_trace(name)
 * appends one line "name monotonic_ns pid" (CLOCK_MONOTONIC) to that file
 * with a single write(2) on an O_APPEND fd, so concurrent berth processes
 * can share one file.  The variable is read once, when the process starts
 * (a constructor in trace.c, which also records "start"); unset, a call
 * costs one load and one branch.  Never call it in a container child after
 * clone (it is parent-side only).
 *
 * Events: start, run_accepted, image_ready, cgroup_ready, rootfs_mounted,
 * seccomp_ready, clone3_returned, exec_confirmed, exited, finished. */
#ifndef BERTH_COMMON_TRACE_H
#define BERTH_COMMON_TRACE_H

extern int berth_trace_fd; /* -1: tracing off */

void berth_trace_emit(const char *name);

static inline void berth_trace(const char *name)
{
	if (__builtin_expect(berth_trace_fd >= 0, 0))
		berth_trace_emit(name);
}

#endif
