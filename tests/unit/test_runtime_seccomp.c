/* Unit tests: the default seccomp profile — compile, in-process and disk
 * caches, corrupt cache files, and what the loaded filter actually does
 * (checked in a forked child that loads it). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

struct fixture {
	char dir[PATH_MAX];
	char cache[PATH_MAX]; /* dir/cache/sub: created on demand */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/berth-test-seccomp-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->cache, sizeof(fx->cache), "%s/cache/sub", fx->dir);
	berth_seccomp_cache_forget();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	struct berth_err err;
	berth_rm_rf_at(AT_FDCWD, fx->dir, &err);
	berth_seccomp_cache_forget();
	free(fx);
	return 0;
}

static char *read_all(const char *path, size_t *len)
{
	struct berth_err err;
	char *buf = NULL;
	if (berth_read_file_at(AT_FDCWD, path, 1 << 20, &buf, len, &err) < 0)
		return NULL;
	return buf;
}

static void write_bytes(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void test_compile_then_memory_then_disk(void **state)
{
	struct fixture *fx = *state;
	struct berth_err err = {0};
	const struct berth_seccomp *a = NULL, *b = NULL, *c = NULL;

	assert_int_equal(berth_seccomp_default(fx->cache, &a, &err), 0);
	assert_int_equal(berth_seccomp_last_source(), BERTH_SECCOMP_COMPILED);
	const struct sock_fprog *pa = berth_seccomp_fprog(a);
	assert_true(pa->len > 100);

	/* The disk cache file exists, is named by the profile hash, and holds
	 * exactly the program. */
	char path[PATH_MAX];
	assert_int_equal(berth_seccomp_cache_path(fx->cache, path, sizeof(path), &err), 0);
	assert_non_null(strstr(path, "/seccomp-"));
	assert_int_equal(strlen(strrchr(path, '/')), strlen("/seccomp-.bpf") + 64);
	size_t len = 0;
	char *disk = read_all(path, &len);
	assert_non_null(disk);
	assert_int_equal(len, pa->len * sizeof(struct sock_filter));
	assert_memory_equal(disk, pa->filter, len);
	free(disk);

	/* Second call: the same object, from memory. */
	assert_int_equal(berth_seccomp_default(fx->cache, &b, &err), 0);
	assert_int_equal(berth_seccomp_last_source(), BERTH_SECCOMP_FROM_MEMORY);
	assert_ptr_equal(a, b);

	/* A new process (simulated): from disk, same program. */
	berth_seccomp_cache_forget();
	assert_int_equal(berth_seccomp_default(fx->cache, &c, &err), 0);
	assert_int_equal(berth_seccomp_last_source(), BERTH_SECCOMP_FROM_DISK);
	const struct sock_fprog *pc = berth_seccomp_fprog(c);
	assert_int_equal(pc->len, pa->len);
	assert_memory_equal(pc->filter, pa->filter, pa->len * sizeof(struct sock_filter));
}

static void check_corrupt_rebuilt(struct fixture *fx, const void *junk, size_t junklen)
{
	struct berth_err err = {0};
	const struct berth_seccomp *a = NULL, *b = NULL;
	assert_int_equal(berth_seccomp_default(fx->cache, &a, &err), 0);
	const struct sock_fprog *pa = berth_seccomp_fprog(a);
	char path[PATH_MAX];
	assert_int_equal(berth_seccomp_cache_path(fx->cache, path, sizeof(path), &err), 0);

	write_bytes(path, junk, junklen);
	berth_seccomp_cache_forget();
	assert_int_equal(berth_seccomp_default(fx->cache, &b, &err), 0);
	assert_int_equal(berth_seccomp_last_source(), BERTH_SECCOMP_COMPILED);
	const struct sock_fprog *pb = berth_seccomp_fprog(b);
	assert_int_equal(pb->len, pa->len);
	assert_memory_equal(pb->filter, pa->filter, pa->len * sizeof(struct sock_filter));

	/* ... and the file was rewritten with the good program. */
	size_t len = 0;
	char *disk = read_all(path, &len);
	assert_non_null(disk);
	assert_int_equal(len, pa->len * sizeof(struct sock_filter));
	assert_memory_equal(disk, pa->filter, len);
	free(disk);
}

static void test_corrupt_size(void **state)
{
	static const char junk[] = "not a bpf program"; /* 18 bytes: not a multiple of 8 */
	check_corrupt_rebuilt(*state, junk, sizeof(junk));
}

static void test_corrupt_program(void **state)
{
	/* Right size, wrong content: a jump far past the end, no final RET. */
	struct sock_filter bad[4] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 200, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
	};
	check_corrupt_rebuilt(*state, bad, sizeof(bad));
}

static void test_corrupt_empty(void **state)
{
	check_corrupt_rebuilt(*state, "", 0);
}

static void test_no_cache_dir(void **state)
{
	struct fixture *fx = *state;
	struct berth_err err = {0};
	const struct berth_seccomp *a = NULL;
	assert_int_equal(berth_seccomp_default(NULL, &a, &err), 0);
	assert_int_equal(berth_seccomp_last_source(), BERTH_SECCOMP_COMPILED);
	assert_non_null(a);
	struct stat st;
	assert_int_equal(stat(fx->cache, &st), -1); /* nothing written */
}

static void test_unwritable_cache_dir(void **state)
{
	struct fixture *fx = *state;
	struct berth_err err = {0};
	const struct berth_seccomp *a = NULL;
	/* A regular file where the cache directory should be: still works,
	 * just without the disk cache. */
	char file[PATH_MAX];
	snprintf(file, sizeof(file), "%s/file", fx->dir);
	write_bytes(file, "x", 1);
	assert_int_equal(berth_seccomp_default(file, &a, &err), 0);
	assert_int_equal(berth_seccomp_last_source(), BERTH_SECCOMP_COMPILED);
}

/* ---- behaviour of the loaded filter --------------------------------------- */

/* Each probe returns 0 when the syscall failed with the expected errno (or
 * succeeded when expected == 0). */
static int expect(long r, int expected)
{
	if (expected == 0)
		return r >= 0 || (errno != EPERM && errno != ENOSYS) ? 0 : 1;
	return r < 0 && errno == expected ? 0 : 1;
}

static int run_probes(const struct berth_seccomp *sc)
{
	int bad = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 100;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, berth_seccomp_fprog(sc)) < 0)
		return 101;
	struct clone_args ca = {.flags = CLONE_NEWNS, .exit_signal = SIGCHLD};
	bad |= expect(syscall(SYS_clone3, &ca, sizeof(ca)), ENOSYS) << 0;
	bad |= expect(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0), EPERM) << 1;
	bad |= expect(syscall(SYS_unshare, CLONE_NEWNS), EPERM) << 2;
	bad |= expect(syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL), EPERM) << 3;
	bad |= expect(syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM) << 4;
	bad |= expect(syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0), EPERM) << 5;
	bad |= expect(syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0), EPERM) << 6;
	long s = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bad |= (s < 0) << 7;
	bad |= expect(syscall(SYS_personality, 0xffffffffUL), 0) << 8;
	bad |= expect(syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC), EPERM) << 9;
	bad |= expect(syscall(SYS_bpf, 0, NULL, 0), EPERM) << 10;
	bad |= expect(syscall(SYS_setns, 0, 0), EPERM) << 11;
	bad |= expect(syscall(SYS_pivot_root, "/", "/"), EPERM) << 12;
	bad |= expect(syscall(SYS_userfaultfd, 0), EPERM) << 13;
	bad |= expect(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM) << 14;
	bad |= expect(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM) << 15;
	/* allowed: ptrace (kernel >= 4.8), getpid, clone without namespace flags */
	bad |= expect(syscall(SYS_ptrace, 0xdead, 0, 0, 0), 0) << 16;
	bad |= (syscall(SYS_getpid) <= 0) << 17;
	pid_t p = fork(); /* glibc uses clone without CLONE_NEW* flags */
	if (p == 0)
		_exit(7);
	int st = 0;
	bad |= (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 7) << 18;
	return bad;
}

static void test_filter_behaviour(void **state)
{
	(void)state;
	struct berth_err err = {0};
	const struct berth_seccomp *sc = NULL;
	assert_int_equal(berth_seccomp_default(NULL, &sc, &err), 0);
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = run_probes(sc);
		(void)!write(pipefd[1], &bad, sizeof(bad));
		_exit(0);
	}
	close(pipefd[1]);
	int bad = -1;
	assert_int_equal(read(pipefd[0], &bad, sizeof(bad)), (ssize_t)sizeof(bad));
	close(pipefd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (bad)
		print_error("failing probes bitmask: %#x\n", bad);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compile_then_memory_then_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_program, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_cache_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_cache_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_behaviour, setup, teardown),
	};
	return cmocka_run_group_tests_name("runtime_seccomp", tests, NULL, NULL);
}
