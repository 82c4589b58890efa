/* Unit tests: runtime/cgroup.c.
 *
 * The writers take directory fds, so most tests run against a plain temp
 * directory pre-populated with empty files named like cgroup files and
 * check the exact bytes written.  berth_cgroup_root_open() is checked to
 * refuse on a host without usable cgroup v2 (the hybrid development hosts)
 * without creating anything.  Where cgroup v2 is usable (the VM suite) the
 * real-cgroup tests create a private subtree, put a process in it, and
 * destroy it again; elsewhere they are not registered (cmocka 1.1 reports a
 * skip as "not ok ... # SKIP", which tests/run would count as a failure), and
 * where cgroup v2 is usable the refusal test is not registered.  Nothing here
 * ever writes to a cgroup on a host without usable cgroup v2.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"

static char dir[PATH_MAX];
static int dfd = -1;

static const char *const cg_files[] = {
	"cpu.max",         "cpu.weight", "memory.max",      "memory.low",
	"memory.swap.max", "pids.max",   "memory.events",   "cgroup.events",
	"cgroup.subtree_control",
};

static void put(const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static char *get(const char *name)
{
	static char buf[4096];
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/berth-test-cgroup-XXXXXX");
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	for (size_t i = 0; i < sizeof(cg_files) / sizeof(cg_files[0]); i++)
		put(cg_files[i], "");
	put("memory.events", "low 0\nhigh 0\nmax 12\noom 3\noom_kill 3\noom_group_kill 0\n");
	put("cgroup.events", "populated 0\nfrozen 0\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	struct berth_err err;
	close(dfd);
	dfd = -1;
	assert_int_equal(berth_rm_rf_at(AT_FDCWD, dir, &err), 0);
	return 0;
}

/* ---- writers against a plain directory ---------------------------------------- */

static void test_limits_exact(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_cgroup_limits lim = {
		.cpu_quota_us = 50000,
		.cpu_weight = 100,
		.memory_max = 536870912,
		.memory_low = 268435456,
		.memory_swap_off = true,
		.pids_max = 4096,
	};
	assert_int_equal(berth_cgroup_write_limits(dfd, &lim, &err), 0);
	assert_string_equal(get("cpu.max"), "50000 100000");
	assert_string_equal(get("cpu.weight"), "100");
	assert_string_equal(get("memory.max"), "536870912");
	assert_string_equal(get("memory.low"), "268435456");
	assert_string_equal(get("memory.swap.max"), "0");
	assert_string_equal(get("pids.max"), "4096");
}

static void test_limits_zero_means_max_or_leave(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_cgroup_limits lim = {.cpu_period_us = 250000};
	assert_int_equal(berth_cgroup_write_limits(dfd, &lim, &err), 0);
	assert_string_equal(get("cpu.max"), "max 250000");
	assert_string_equal(get("memory.max"), "max");
	assert_string_equal(get("pids.max"), "max");
	/* 0 = leave the default: never written. */
	assert_string_equal(get("cpu.weight"), "");
	assert_string_equal(get("memory.low"), "");
	assert_string_equal(get("memory.swap.max"), "");

	struct berth_cgroup_limits dflt = {0};
	put("cpu.max", "");
	assert_int_equal(berth_cgroup_write_limits(dfd, &dflt, &err), 0);
	assert_string_equal(get("cpu.max"), "max 100000");
}

static void test_limits_missing_swap_tolerated(void **state)
{
	(void)state;
	struct berth_err err = {0};
	assert_int_equal(unlinkat(dfd, "memory.swap.max", 0), 0);
	struct berth_cgroup_limits lim = {.memory_max = 64 << 20, .memory_swap_off = true,
					  .pids_max = 20};
	assert_int_equal(berth_cgroup_write_limits(dfd, &lim, &err), 0);
	assert_string_equal(get("memory.max"), "67108864");
	assert_string_equal(get("pids.max"), "20"); /* written after swap */
	assert_int_equal(faccessat(dfd, "memory.swap.max", F_OK, 0), -1);
}

static void test_limits_symlink_refused(void **state)
{
	(void)state;
	struct berth_err err = {0};
	put("elsewhere", "");
	assert_int_equal(unlinkat(dfd, "memory.max", 0), 0);
	assert_int_equal(symlinkat("elsewhere", dfd, "memory.max"), 0);
	struct berth_cgroup_limits lim = {.memory_max = 1 << 20};
	assert_true(berth_cgroup_write_limits(dfd, &lim, &err) < 0);
	assert_int_equal(err.errnum, ELOOP);
	assert_non_null(strstr(err.msg, "memory.max is a symlink"));
	assert_non_null(strstr(err.msg, dir)); /* names the cgroup */
	assert_string_equal(get("elsewhere"), "");

	/* The single-file writer too. */
	assert_true(berth_cgroup_write_file(dfd, "memory.max", "1", &err) < 0);
	assert_int_equal(err.errnum, ELOOP);
	assert_string_equal(get("elsewhere"), "");
}

static void test_limits_invalid_values_write_nothing(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_cgroup_limits bad[] = {
		{.cpu_weight = 10001},
		{.cpu_quota_us = 999},
		{.cpu_quota_us = 50000, .cpu_period_us = 999},
		{.cpu_quota_us = 50000, .cpu_period_us = 1000001},
	};
	const char *words[] = {"cpu.weight 10001", "quota 999", "period 999", "period 1000001"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(berth_cgroup_write_limits(dfd, &bad[i], &err) < 0);
		assert_int_equal(err.errnum, EINVAL);
		assert_non_null(strstr(err.msg, words[i]));
		assert_string_equal(get("cpu.max"), "");
		assert_string_equal(get("memory.max"), "");
	}
	/* Bounds themselves are fine. */
	struct berth_cgroup_limits edge = {.cpu_quota_us = 1000, .cpu_period_us = 1000000,
					   .cpu_weight = 10000};
	assert_int_equal(berth_cgroup_write_limits(dfd, &edge, &err), 0);
	assert_string_equal(get("cpu.max"), "1000 1000000");
	assert_string_equal(get("cpu.weight"), "10000");
}

static void test_write_file_missing(void **state)
{
	(void)state;
	struct berth_err err = {0};
	assert_true(berth_cgroup_write_file(dfd, "cgroup.kill", "1", &err) < 0);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "cgroup.kill"));
	assert_int_equal(faccessat(dfd, "cgroup.kill", F_OK, 0), -1); /* never created */
}

/* ---- oom_kill ------------------------------------------------------------------- */

static void test_oom_kills(void **state)
{
	(void)state;
	struct berth_err err = {0};
	uint64_t n = 99;
	assert_int_equal(berth_cgroup_oom_kills(dfd, &n, &err), 0);
	assert_int_equal(n, 3);

	put("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 18446744073709551615\n");
	assert_int_equal(berth_cgroup_oom_kills(dfd, &n, &err), 0);
	assert_true(n == UINT64_MAX);

	/* Well-formed without the key (very old kernels): 0. */
	put("memory.events", "low 0\nhigh 0\n");
	assert_int_equal(berth_cgroup_oom_kills(dfd, &n, &err), 0);
	assert_int_equal(n, 0);

	/* Missing file (no memory controller): 0, and err untouched. */
	assert_int_equal(unlinkat(dfd, "memory.events", 0), 0);
	n = 99;
	assert_int_equal(berth_cgroup_oom_kills(dfd, &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_oom_kills_malformed(void **state)
{
	(void)state;
	const char *bad[] = {
		"oom_kill x\n",
		"oom_kill \n",
		"oom_kill -1\n",
		"oom_kill 3x\n",
		"oom_kill 18446744073709551616\n", /* overflow */
		"garbage\noom_kill 1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct berth_err err = {0};
		uint64_t n = 0;
		put("memory.events", bad[i]);
		assert_true(berth_cgroup_oom_kills(dfd, &n, &err) < 0);
		assert_non_null(strstr(err.msg, "memory.events is malformed"));
	}
	/* A symlink is not followed. */
	struct berth_err err = {0};
	uint64_t n = 0;
	put("real-events", "oom_kill 7\n");
	assert_int_equal(unlinkat(dfd, "memory.events", 0), 0);
	assert_int_equal(symlinkat("real-events", dfd, "memory.events"), 0);
	assert_true(berth_cgroup_oom_kills(dfd, &n, &err) < 0);
	assert_int_equal(err.errnum, ELOOP);
}

/* ---- create / destroy on a plain directory ---------------------------------------- */

static void test_create_rolls_back(void **state)
{
	(void)state;
	struct berth_err err = {0};
	struct berth_cgroup_limits lim = {.memory_max = 1 << 20};
	/* A plain directory has no cgroup files: the first write fails and
	 * the directory made for the cgroup is removed again. */
	assert_true(berth_cgroup_create(dfd, "task1", &lim, true, &err) < 0);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "cpu.max"));
	assert_int_equal(faccessat(dfd, "task1", F_OK, AT_SYMLINK_NOFOLLOW), -1);

	assert_int_equal(mkdirat(dfd, "taken", 0755), 0);
	assert_true(berth_cgroup_create(dfd, "taken", &lim, false, &err) < 0);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, "cgroup taken already exists"));
	assert_int_equal(faccessat(dfd, "taken", F_OK, 0), 0); /* not someone else's to remove */

	const char *names[] = {"", ".", "..", "a/b", "../x"};
	for (size_t i = 0; i < 5; i++) {
		assert_true(berth_cgroup_create(dfd, names[i], &lim, false, &err) < 0);
		assert_int_equal(err.errnum, EINVAL);
	}
	assert_true(berth_cgroup_create(dfd, NULL, &lim, false, &err) < 0);
}

static void test_destroy_missing_is_success(void **state)
{
	(void)state;
	struct berth_err err = {0};
	assert_int_equal(berth_cgroup_destroy(dfd, "no-such-task", &err), 0);
	assert_true(berth_cgroup_destroy(dfd, "..", &err) < 0);
	assert_int_equal(err.errnum, EINVAL);
}

/* ---- root_open ------------------------------------------------------------------- */

/* Whether this host has what berth needs at /sys/fs/cgroup (cgroup2 with
 * cpu, memory and pids); read-only checks. */
static bool host_v2_usable(void)
{
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)
		return false;
	char *text = NULL;
	struct berth_err err;
	if (berth_read_file_at(AT_FDCWD, "/sys/fs/cgroup/cgroup.controllers", 4096, &text, NULL,
			       &err) < 0)
		return false;
	bool ok = strstr(text, "cpu") && strstr(text, "memory") && strstr(text, "pids");
	free(text);
	return ok;
}

static void test_root_open_refuses_here(void **state)
{
	(void)state;
	struct stat st;
	bool existed = lstat("/sys/fs/cgroup/berth", &st) == 0;
	struct berth_err err = {0};
	int fd = berth_cgroup_root_open(NULL, &err);
	if (fd >= 0)
		close(fd);
	assert_true(fd < 0);
	print_message("# refusal: %s\n", err.msg);
	assert_int_equal(err.errnum, EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "cgroup v2 is not usable"));
	/* Says what was found... */
	assert_true(strstr(err.msg, "is not a cgroup2 mount") || strstr(err.msg, "has controllers"));
	/* ...and how to get the unified hierarchy. */
	assert_non_null(strstr(err.msg, "systemd.unified_cgroup_hierarchy=1"));
	assert_non_null(strstr(err.msg, "cgroup_no_v1=all"));
	assert_null(strchr(err.msg, '\n'));
	/* Nothing was created. */
	if (!existed) {
		assert_int_equal(lstat("/sys/fs/cgroup/berth", &st), -1);
		assert_int_equal(errno, ENOENT);
	}
	/* The daemon leaf has nothing to do here (and creates nothing). */
	assert_int_equal(berth_cgroup_daemon_leaf(&err), 0);
	if (!existed)
		assert_int_equal(lstat("/sys/fs/cgroup/berth", &st), -1);
}

static void test_root_open_path_not_cgroup2(void **state)
{
	(void)state;
	struct berth_err err = {0};
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/berth", dir);
	assert_true(berth_cgroup_root_open(p, &err) < 0);
	assert_int_equal(err.errnum, EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "is not on a cgroup2 filesystem"));
	assert_int_equal(faccessat(dfd, "berth", F_OK, AT_SYMLINK_NOFOLLOW), -1);

	assert_true(berth_cgroup_root_open("relative/berth", &err) < 0);
	assert_int_equal(err.errnum, EINVAL);
	assert_true(berth_cgroup_root_open("/", &err) < 0);
}

/* ---- real cgroups (only where cgroup v2 is usable: the VM) ---------------------- */

static char real_root[PATH_MAX];
static int real_fd = -1;

static int real_setup(void **state)
{
	(void)state;
	if (!host_v2_usable())
		return 0;
	char hex[17];
	struct berth_err err = {0};
	assert_int_equal(berth_random_hex(hex, 8, &err), 0);
	snprintf(real_root, sizeof(real_root), "/sys/fs/cgroup/berth-unit-%s", hex);
	real_fd = berth_cgroup_root_open(real_root, &err);
	if (real_fd < 0)
		print_message("# root_open %s: %s\n", real_root, err.msg);
	assert_true(real_fd >= 0);
	return 0;
}

static int real_teardown(void **state)
{
	(void)state;
	if (real_fd < 0)
		return 0;
	close(real_fd);
	real_fd = -1;
	if (rmdir(real_root) < 0)
		print_message("# rmdir %s: %s\n", real_root, strerror(errno));
	return 0;
}

static char *cg_get(int fd, const char *file)
{
	static char buf[4096];
	int f = openat(fd, file, O_RDONLY | O_CLOEXEC);
	assert_true(f >= 0);
	ssize_t n = read(f, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	close(f);
	return buf;
}

/* fork a child that joins cgfd (before doing anything) and runs fn. */
static pid_t child_in(int cgfd, void (*fn)(void))
{
	int go[2];
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(99);
		fn();
		_exit(0);
	}
	close(go[0]);
	char v[24];
	struct berth_err err = {0};
	snprintf(v, sizeof(v), "%d", (int)pid);
	assert_int_equal(berth_cgroup_write_file(cgfd, "cgroup.procs", v, &err), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	return pid;
}

static void sleeper(void)
{
	if (fork() == 0) /* a daemonising grandchild too */
		setsid();
	for (;;)
		pause();
}

static void hog(void)
{
	for (size_t i = 0;; i++) {
		char *p = malloc(1 << 20);
		if (!p)
			_exit(3);
		memset(p, (int)i, 1 << 20);
	}
}

static void test_real_create_limits(void **state)
{
	(void)state;
	assert_true(real_fd >= 0);
	struct berth_err err = {0};
	struct berth_cgroup_limits lim = {.cpu_quota_us = 25000, .cpu_weight = 50,
					  .memory_max = 64 << 20, .memory_swap_off = true,
					  .pids_max = 20};
	int task = berth_cgroup_create(real_fd, "task", &lim, true, &err);
	assert_true(task >= 0);
	struct berth_cgroup_limits clim = {.memory_max = 32 << 20, .memory_low = 8 << 20};
	int ctr = berth_cgroup_create(task, "main", &clim, false, &err);
	assert_true(ctr >= 0);
	assert_string_equal(cg_get(task, "cpu.max"), "25000 100000");
	assert_string_equal(cg_get(task, "cpu.weight"), "50");
	assert_string_equal(cg_get(task, "memory.max"), "67108864");
	assert_string_equal(cg_get(task, "pids.max"), "20");
	assert_non_null(strstr(cg_get(task, "cgroup.subtree_control"), "memory"));
	assert_string_equal(cg_get(ctr, "memory.max"), "33554432");
	assert_string_equal(cg_get(ctr, "memory.low"), "8388608");
	assert_string_equal(cg_get(ctr, "cpu.max"), "max 100000");
	/* The kernel's own refusal comes back with the file and value. */
	assert_true(berth_cgroup_write_file(ctr, "memory.max", "lots", &err) < 0);
	assert_int_equal(err.errnum, EINVAL);
	assert_non_null(strstr(err.msg, "write \"lots\" to memory.max"));
	/* Processes cannot join a cgroup that gave its children controllers. */
	assert_true(berth_cgroup_write_file(task, "cgroup.procs", "0", &err) < 0);

	pid_t pid = child_in(ctr, sleeper);
	usleep(100 * 1000);
	assert_string_equal(cg_get(task, "cgroup.events"), "populated 1\nfrozen 0");
	close(ctr);
	close(task);
	uint64_t t0 = berth_now_ns();
	assert_int_equal(berth_cgroup_destroy(real_fd, "task", &err), 0);
	print_message("# destroy took %.1f ms\n", (double)(berth_now_ns() - t0) / 1e6);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(faccessat(real_fd, "task", F_OK, 0), -1);
	assert_int_equal(berth_cgroup_destroy(real_fd, "task", &err), 0); /* again: missing */
}

static void test_real_freezer_fallback(void **state)
{
	(void)state;
	assert_true(real_fd >= 0);
	struct berth_err err = {0};
	struct berth_cgroup_limits lim = {0};
	int cg = berth_cgroup_create(real_fd, "frozen", &lim, false, &err);
	assert_true(cg >= 0);
	pid_t pid = child_in(cg, sleeper);
	usleep(100 * 1000);
	assert_int_equal(berth_cgroup_kill(cg, true, &err), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Always thawed again. */
	assert_string_equal(cg_get(cg, "cgroup.freeze"), "0");
	close(cg);
	assert_int_equal(berth_cgroup_destroy(real_fd, "frozen", &err), 0);
}

static void test_real_oom(void **state)
{
	(void)state;
	assert_true(real_fd >= 0);
	struct berth_err err = {0};
	struct berth_cgroup_limits lim = {.memory_max = 16 << 20, .memory_swap_off = true};
	int cg = berth_cgroup_create(real_fd, "oom", &lim, false, &err);
	assert_true(cg >= 0);
	uint64_t n = 99;
	assert_int_equal(berth_cgroup_oom_kills(cg, &n, &err), 0);
	assert_int_equal(n, 0);
	pid_t pid = child_in(cg, hog);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(berth_cgroup_oom_kills(cg, &n, &err), 0);
	assert_true(n >= 1);
	close(cg);
	assert_int_equal(berth_cgroup_destroy(real_fd, "oom", &err), 0);
}

/* Two destroys of one cgroup (berth rm -f while the run path finishes):
 * the one that finds it already removed succeeds too. */
static void test_real_removed_meanwhile(void **state)
{
	(void)state;
	assert_true(real_fd >= 0);
	struct berth_err err = {0};
	struct berth_cgroup_limits lim = {0};
	int cg = berth_cgroup_create(real_fd, "gone", &lim, false, &err);
	assert_true(cg >= 0);
	assert_int_equal(berth_cgroup_destroy(real_fd, "gone", &err), 0);
	assert_int_equal(berth_cgroup_kill(cg, false, &err), 0);
	assert_int_equal(berth_cgroup_kill(cg, true, &err), 0);
	uint64_t n = 99;
	assert_int_equal(berth_cgroup_oom_kills(cg, &n, &err), 0);
	assert_int_equal(n, 0);
	close(cg);
	assert_int_equal(berth_cgroup_destroy(real_fd, "gone", &err), 0);
}

int main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test_setup_teardown(test_limits_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_zero_means_max_or_leave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_missing_swap_tolerated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_invalid_values_write_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_file_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_kills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_kills_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_missing_is_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_open_path_not_cgroup2, setup, teardown),
	};
	const struct CMUnitTest refusal[] = {
		cmocka_unit_test(test_root_open_refuses_here),
	};
	const struct CMUnitTest real[] = {
		cmocka_unit_test(test_real_create_limits),
		cmocka_unit_test(test_real_freezer_fallback),
		cmocka_unit_test(test_real_oom),
		cmocka_unit_test(test_real_removed_meanwhile),
	};
	int failed = cmocka_run_group_tests_name("cgroup writers", plain, NULL, NULL);
	if (host_v2_usable()) {
		failed += cmocka_run_group_tests_name("real cgroups", real, real_setup,
						      real_teardown);
	} else {
		printf("# no usable cgroup v2 here: real-cgroup tests not run (run this binary in "
		       "the VM: make vm-run CMD=build/tests/test_runtime_cgroup)\n");
		failed += cmocka_run_group_tests_name("refusal", refusal, NULL, NULL);
	}
	return failed;
}
