/* Unit tests: berth_spawn()/berth_proc_wait() end to end against a busybox
 * root filesystem in a temp dir.  Needs root and /bin/busybox (busybox-static);
 * skipped otherwise.  Everything it mounts lives in the container's private
 * mount namespace; the test checks that the host's mount table is unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "runtime/runtime.h"

static char base[PATH_MAX], rootdir[PATH_MAX], mnt[PATH_MAX];
static bool usable;

static void write_file(const char *rel, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", rootdir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	close(in);
	close(out);
	return n < 0 ? -1 : rc;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/berth-test-spawn-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(rootdir, sizeof(rootdir), "%s/root", base);
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	assert_int_equal(mkdir(rootdir, 0755), 0);
	assert_int_equal(mkdir(mnt, 0755), 0);
	char p[PATH_MAX];
	const char *dirs[] = {"bin", "etc", "tmp"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", rootdir, dirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	snprintf(p, sizeof(p), "%s/bin/busybox", rootdir);
	assert_int_equal(copy_file("/bin/busybox", p, 0755), 0);
	const char *applets[] = {"sh", "cat", "ls", "id", "sleep", "true", "grep", "wc", "hostname"};
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", rootdir, applets[i]);
		assert_int_equal(symlink("/bin/busybox", p), 0);
	}
	write_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
	write_file("etc/group", "root:x:0:\nwheel:x:10:app\napp:x:1000:\n");
	write_file("etc/noexec", "#!/bin/sh\necho hi\n");
	usable = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	struct berth_err err;
	if (usable)
		berth_rm_rf_at(AT_FDCWD, base, &err);
	return 0;
}

static char *mountinfo_snapshot(void)
{
	struct berth_err err;
	char *buf = NULL;
	size_t len;
	assert_int_equal(berth_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 20, &buf, &len,
					    &err),
			 0);
	return buf;
}

struct result {
	int rc;        /* berth_spawn's return */
	int exec_errno;
	int code;      /* exit code when started */
	char out[8192];
	struct berth_err err;
};

/* Run argv in a container, capturing stdout.  kill_after_ms > 0: SIGKILL the
 * container from outside after that long. */
static void run(struct result *r, const char *user, const char *cwd, bool readonly,
		int kill_after_ms, char *const argv[])
{
	memset(r, 0, sizeof(*r));
	struct berth_err err = {0};
	const struct berth_seccomp *sc = NULL;
	assert_int_equal(berth_seccomp_default(NULL, &sc, &err), 0);
	int rootfs = berth_rootfs_from_dir(rootdir, &err);
	assert_true(rootfs >= 0);
	int pipefd[2];
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	char *envp[] = {"GREETING=hello", NULL};
	struct berth_container_spec spec = {
		.rootfs_fd = rootfs,
		.rootfs_mountpoint = mnt,
		.netns_fd = -1,
		.cgroup_fd = -1,
		.argv = argv,
		.envp = envp,
		.cwd = cwd,
		.user = user,
		.hostname = "unit-box",
		.readonly_rootfs = readonly,
		.caps = berth_caps_default(),
		.seccomp = sc,
		.no_new_privs = true,
		.stdio = {-1, pipefd[1], pipefd[1]},
		.pdeathsig = SIGKILL,
	};
	struct berth_proc p;
	r->rc = berth_spawn(&spec, &p, &r->exec_errno, &r->err);
	close(rootfs);
	close(pipefd[1]);
	if (r->rc == 0) {
		if (kill_after_ms > 0) {
			usleep((useconds_t)kill_after_ms * 1000);
			syscall(SYS_pidfd_send_signal, p.pidfd, SIGKILL, NULL, 0);
		}
		size_t got = 0;
		ssize_t n;
		while ((n = read(pipefd[0], r->out + got, sizeof(r->out) - 1 - got)) > 0)
			got += (size_t)n;
		r->out[got] = '\0';
		int ret = berth_proc_wait(&p, &r->code, &err);
		assert_int_equal(ret, r->code);
		assert_int_equal(p.pidfd, -1);
	}
	close(pipefd[0]);
}

static void test_exit_codes(void **state)
{
	(void)state;
	struct result r;
	run(&r, NULL, NULL, false, 0, (char *[]){"sh", "-c", "exit 3", NULL});
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.code, 3);
	/* PID 1 ignores its own SIGKILL; a child's death is passed through. */
	run(&r, NULL, NULL, false, 0, (char *[]){"sh", "-c", "sh -c 'kill -9 $$'; exit $?", NULL});
	assert_int_equal(r.code, 137);
	run(&r, NULL, NULL, false, 200, (char *[]){"sleep", "30", NULL});
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.code, 137);
}

static void test_missing_and_unexecutable(void **state)
{
	(void)state;
	struct result r;
	run(&r, NULL, NULL, false, 0, (char *[]){"no-such-cmd", NULL});
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.exec_errno, ENOENT);
	assert_string_equal(r.err.msg, "cannot execute \"no-such-cmd\": No such file or directory");
	run(&r, NULL, NULL, false, 0, (char *[]){"/etc/noexec", NULL});
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.exec_errno, EACCES);
	assert_non_null(strstr(r.err.msg, "cannot execute \"/etc/noexec\""));
}

static void test_inside_view(void **state)
{
	(void)state;
	char *before = mountinfo_snapshot();
	struct result r;
	run(&r, NULL, NULL, false, 0,
	    (char *[]){"sh", "-c",
		       "echo pid=$$; grep -E '^Cap(Eff|Bnd|Inh|Amb)' /proc/self/status;"
		       "echo host=$(hostname); echo home=$HOME greeting=$GREETING; echo path=$PATH;"
		       "echo fds=$(ls /proc/self/fd | wc -l); ls /dev | tr '\\n' ' '; echo;"
		       "echo keys=$(cat /proc/keys | wc -c);"
		       "echo 1 > /proc/sys/kernel/hostname 2>/dev/null && echo procsys=rw || echo procsys=ro",
		       NULL});
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "pid=1\n"));
	assert_non_null(strstr(r.out, "CapEff:\t00000000a80425fb"));
	assert_non_null(strstr(r.out, "CapBnd:\t00000000a80425fb"));
	assert_non_null(strstr(r.out, "CapInh:\t0000000000000000"));
	assert_non_null(strstr(r.out, "CapAmb:\t0000000000000000"));
	assert_non_null(strstr(r.out, "host=unit-box\n"));
	assert_non_null(strstr(r.out, "home=/root greeting=hello\n"));
	assert_non_null(strstr(r.out, "path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
	/* ls's own directory fd makes 4: 0, 1, 2 and it. */
	assert_non_null(strstr(r.out, "fds=4\n"));
	assert_non_null(strstr(r.out, "core fd full mqueue null ptmx pts random shm stderr stdin "
				      "stdout tty urandom zero"));
	if (access("/proc/keys", F_OK) == 0)
		assert_non_null(strstr(r.out, "keys=0\n"));
	assert_non_null(strstr(r.out, "procsys=ro\n"));
	char *after = mountinfo_snapshot();
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_user_cwd_readonly(void **state)
{
	(void)state;
	struct result r;
	run(&r, "app", "/home/app/work", true, 0,
	    (char *[]){"sh", "-c", "id; pwd; echo home=$HOME; touch /x 2>/dev/null || echo rofs", NULL});
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "uid=1000(app) gid=1000(app) groups=10(wheel),1000(app)"));
	assert_non_null(strstr(r.out, "/home/app/work\n"));
	assert_non_null(strstr(r.out, "home=/home/app\n"));
	assert_non_null(strstr(r.out, "rofs\n"));

	run(&r, "nosuch", NULL, false, 0, (char *[]){"true", NULL});
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.err.msg, "unknown user \"nosuch\": not found in the image's /etc/passwd");
}

static void test_refuses_symlinked_proc(void **state)
{
	(void)state;
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/proc", rootdir);
	struct berth_err err;
	berth_rm_rf_at(AT_FDCWD, p, &err);
	assert_int_equal(symlink("/etc", p), 0);
	struct result r;
	run(&r, NULL, NULL, false, 0, (char *[]){"true", NULL});
	assert_int_equal(unlink(p), 0);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.exec_errno, 0);
	assert_non_null(strstr(r.err.msg, "step MOUNTS"));
	assert_non_null(strstr(r.err.msg, "/proc is a symlink"));

	/* A cwd through a leaked host fd is refused (CVE-2024-21626). */
	run(&r, NULL, "/proc/self/fd/7", false, 0, (char *[]){"true", NULL});
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.err.msg, "step CWD"));
}

int main(void)
{
	/* cmocka 1.1 reports skip() as "not ok ... # SKIP": skip the whole plan
	 * instead, the TAP way. */
	if (geteuid() != 0 || access("/bin/busybox", X_OK) != 0) {
		printf("1..0 # SKIP needs root and /bin/busybox (busybox-static)\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_missing_and_unexecutable),
		cmocka_unit_test(test_inside_view),
		cmocka_unit_test(test_user_cwd_readonly),
		cmocka_unit_test(test_refuses_symlinked_proc),
	};
	return cmocka_run_group_tests_name("runtime_spawn", tests, group_setup, group_teardown);
}
