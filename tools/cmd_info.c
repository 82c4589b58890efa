/* berth info — what this host offers tasks, and what is taken. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "scheduler/container.h"
#include "scheduler/resources.h"
#include "tools/cli.h"

int cmd_info(struct cli *c, int argc, char **argv)
{
	if (argc > 1) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			printf("usage: berth info\n");
			return 0;
		}
		return cli_usage_error("info", "unexpected argument '%s'", argv[1]);
	}
	struct berth_err err = {0};
	struct berth_capacity cap;
	if (berth_capacity_host(c->memory_reserve_mib, &cap, &err) < 0)
		return cli_fail(&err, 1);
	uint32_t cpu = 0, mem = 0;
	size_t running = 0;
	if (berth_ctr_reserved(c->root, &cpu, &mem, &running, &err) < 0)
		return cli_fail(&err, 1);
	struct utsname u;
	uname(&u);
	printf("State root:        %s\n", c->root);
	printf("Kernel:            %s %s\n", u.sysname, u.release);
	printf("CPUs:              %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("Task CPU units:    %u (1024 per CPU)\n", cap.cpu_units);
	printf("Task memory:       %u MiB (host reserve %u MiB kept back)\n", cap.memory_mib,
	       cap.reserved_memory_mib);
	printf("Running tasks:     %zu\n", running);
	printf("Reserved CPU:      %u of %u units\n", cpu, cap.cpu_units);
	printf("Reserved memory:   %u of %u MiB\n", mem, cap.memory_mib);
	struct berth_err cgerr = {0};
	int cg = berth_cgroup_root_open(NULL, &cgerr);
	if (cg >= 0) {
		char path[64], target[4096];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", cg);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		printf("cgroup v2:         ok (%s)\n", target);
		close(cg);
	} else {
		printf("cgroup v2:         unusable, tasks are refused: %s\n", cgerr.msg);
	}
	return 0;
}
