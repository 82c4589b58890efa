/* Unit tests: ECS cpu/memory strings, Fargate pairs, limits, admission. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/resources.h"

static uint32_t cpu(const char *s)
{
	uint32_t u = 0;
	struct berth_err e = {0};
	return berth_parse_cpu_units(s, "cpu", &u, &e) == 0 ? u : 0;
}

static uint32_t mem(const char *s)
{
	uint32_t m = 0;
	struct berth_err e = {0};
	return berth_parse_memory_mib(s, "memory", &m, &e) == 0 ? m : 0;
}

static void cpu_strings(void **state)
{
	(void)state;
	assert_int_equal(cpu("256"), 256);
	assert_int_equal(cpu("1024"), 1024);
	assert_int_equal(cpu("1 vCPU"), 1024);
	assert_int_equal(cpu("1 vcpu"), 1024);
	assert_int_equal(cpu("2vCPU"), 2048);
	assert_int_equal(cpu("0.25 vCPU"), 256);
	assert_int_equal(cpu(".25 vcpu"), 256);
	assert_int_equal(cpu(" 512 "), 512);
	assert_int_equal(cpu("0"), 0);
	assert_int_equal(cpu("-1"), 0);
	assert_int_equal(cpu("1.5"), 0);
	assert_int_equal(cpu("0x400"), 0);
	assert_int_equal(cpu("1e3"), 0);
	assert_int_equal(cpu("1 cores"), 0);
	assert_int_equal(cpu(""), 0);
	assert_int_equal(cpu("1000 vCPU"), 0);
	assert_int_equal(cpu("127"), 0);
	assert_int_equal(cpu("128"), 128);
	assert_int_equal(cpu("0.125 vCPU"), 128);
	struct berth_err e = {0};
	uint32_t u;
	assert_int_equal(berth_parse_cpu_units("lots", "--cpu", &u, &e), -1);
	assert_non_null(strstr(e.msg, "--cpu \"lots\""));
}

static void memory_strings(void **state)
{
	(void)state;
	assert_int_equal(mem("512"), 512);
	assert_int_equal(mem("2048"), 2048);
	assert_int_equal(mem("1GB"), 1024);
	assert_int_equal(mem("1 GB"), 1024);
	assert_int_equal(mem("0.5 GB"), 512);
	assert_int_equal(mem(".5 gb"), 512);
	assert_int_equal(mem("30 GB"), 30720);
	assert_int_equal(mem("64 MiB"), 64);
	assert_int_equal(mem("5"), 0); /* below the 6 MiB floor */
	assert_int_equal(mem("1.5"), 0);
	assert_int_equal(mem("1 TB"), 0);
	assert_int_equal(mem("GB"), 0);
	struct berth_err e = {0};
	uint32_t m;
	assert_int_equal(berth_parse_memory_mib("big", "memory", &m, &e), -1);
	assert_non_null(strstr(e.msg, "memory \"big\""));
}

static void fargate_pairs(void **state)
{
	(void)state;
	struct berth_err e = {0};
	assert_int_equal(berth_fargate_check(256, 512, &e), 0);
	assert_int_equal(berth_fargate_check(256, 2048, &e), 0);
	assert_int_equal(berth_fargate_check(256, 1536, &e), -1);
	assert_non_null(strstr(e.msg, "Invalid 'cpu' setting for task."));
	assert_int_equal(berth_fargate_check(512, 1024, &e), 0);
	assert_int_equal(berth_fargate_check(512, 4096, &e), 0);
	assert_int_equal(berth_fargate_check(512, 5120, &e), -1);
	assert_int_equal(berth_fargate_check(1024, 8192, &e), 0);
	assert_int_equal(berth_fargate_check(1024, 1024, &e), -1);
	assert_int_equal(berth_fargate_check(4096, 30720, &e), 0);
	assert_int_equal(berth_fargate_check(4096, 31744, &e), -1);
	assert_int_equal(berth_fargate_check(8192, 20480, &e), 0);
	assert_int_equal(berth_fargate_check(8192, 18432, &e), -1); /* step 4096 */
	assert_int_equal(berth_fargate_check(16384, 122880, &e), 0);
	assert_int_equal(berth_fargate_check(16384, 36864, &e), -1); /* step 8192 */
	assert_int_equal(berth_fargate_check(300, 1024, &e), -1);
	assert_non_null(strstr(e.msg, "300"));
}

static void limits_from_size(void **state)
{
	(void)state;
	struct berth_cgroup_limits l;
	struct berth_task_size s = {.cpu_units = 256, .memory_mib = 512};
	berth_task_limits(&s, &l);
	assert_int_equal(l.cpu_quota_us, 25000);
	assert_int_equal(l.cpu_period_us, 100000);
	assert_int_equal(l.cpu_weight, 25);
	assert_int_equal(l.memory_max, 512ull << 20);
	assert_true(l.memory_swap_off);
	assert_int_equal(l.pids_max, BERTH_DEFAULT_PIDS_MAX);
	s = (struct berth_task_size){.cpu_units = 2048, .pids_max = 64};
	berth_task_limits(&s, &l);
	assert_int_equal(l.cpu_quota_us, 200000);
	assert_int_equal(l.cpu_weight, 200);
	assert_int_equal(l.memory_max, 0);
	assert_false(l.memory_swap_off);
	assert_int_equal(l.pids_max, 64);
	s = (struct berth_task_size){.cpu_units = 1};
	berth_task_limits(&s, &l);
	assert_int_equal(l.cpu_quota_us, 1000);
	assert_int_equal(l.cpu_weight, 1);
	s = (struct berth_task_size){0};
	berth_task_limits(&s, &l);
	assert_int_equal(l.cpu_quota_us, 0);
	assert_int_equal(l.cpu_weight, 0);
}

static void admission(void **state)
{
	(void)state;
	struct berth_capacity cap = {.cpu_units = 2048, .memory_mib = 4000};
	struct berth_err e = {0};
	struct berth_task_size a = {.cpu_units = 1024, .memory_mib = 2000};
	assert_int_equal(berth_admit(&cap, 0, 0, &a, &e), 0);
	assert_int_equal(berth_admit(&cap, 1024, 2000, &a, &e), 0);
	assert_int_equal(berth_admit(&cap, 1025, 0, &a, &e), -1);
	assert_non_null(strstr(e.msg, "RESOURCE:CPU"));
	assert_non_null(strstr(e.msg, "1024"));
	assert_int_equal(berth_admit(&cap, 0, 2001, &a, &e), -1);
	assert_non_null(strstr(e.msg, "RESOURCE:MEMORY"));
	assert_non_null(strstr(e.msg, "1999"));
	struct berth_task_size none = {0};
	assert_int_equal(berth_admit(&cap, 4096, 9000, &none, &e), 0);
	struct berth_capacity host;
	assert_int_equal(berth_capacity_host(0, &host, &e), 0);
	assert_true(host.cpu_units >= 1024);
	assert_true(host.memory_mib > 0);
	assert_true(host.reserved_memory_mib >= 256);
	struct berth_capacity host2;
	assert_int_equal(berth_capacity_host(1000, &host2, &e), 0);
	assert_int_equal(host2.reserved_memory_mib, 1000);
}

static void container_limits_and_fit(void **state)
{
	(void)state;
	struct berth_cgroup_limits l;
	struct berth_container_size a = {.name = "web", .cpu_units = 512, .memory_mib = 256,
					 .reservation_mib = 128};
	berth_container_limits(&a, &l);
	assert_int_equal(l.cpu_weight, 50);
	assert_int_equal(l.cpu_quota_us, 0); /* the cap is the task's */
	assert_int_equal(l.memory_max, 256ull << 20);
	assert_int_equal(l.memory_low, 128ull << 20);
	struct berth_container_size b = {.name = "side"};
	berth_container_limits(&b, &l);
	assert_int_equal(l.cpu_weight, 0);
	assert_int_equal(l.memory_max, 0);

	struct berth_task_size task = {.cpu_units = 1024, .memory_mib = 512};
	struct berth_err e = {0};
	struct berth_container_size two[] = {{.name = "a", .cpu_units = 512, .memory_mib = 256},
					     {.name = "b", .cpu_units = 512, .memory_mib = 256}};
	assert_int_equal(berth_containers_fit(&task, two, 2, &e), 0);
	two[1].cpu_units = 513;
	assert_int_equal(berth_containers_fit(&task, two, 2, &e), -1);
	assert_non_null(strstr(e.msg, "1025"));
	two[1].cpu_units = 512;
	two[1].memory_mib = 300;
	assert_int_equal(berth_containers_fit(&task, two, 2, &e), -1);
	assert_non_null(strstr(e.msg, "556"));
	struct berth_container_size big = {.name = "big", .memory_mib = 1024};
	assert_int_equal(berth_containers_fit(&task, &big, 1, &e), -1);
	assert_non_null(strstr(e.msg, "\"big\""));
	struct berth_container_size bad = {.name = "r", .memory_mib = 100, .reservation_mib = 200};
	assert_int_equal(berth_containers_fit(&task, &bad, 1, &e), -1);
	assert_non_null(strstr(e.msg, "memoryReservation"));
	struct berth_task_size unsized = {0};
	struct berth_container_size any = {.name = "x", .cpu_units = 99999, .memory_mib = 99999};
	assert_int_equal(berth_containers_fit(&unsized, &any, 1, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpu_strings),     cmocka_unit_test(memory_strings),
		cmocka_unit_test(fargate_pairs),   cmocka_unit_test(limits_from_size),
		cmocka_unit_test(admission),       cmocka_unit_test(container_limits_and_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
