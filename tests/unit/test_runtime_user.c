/* Unit tests: berth_user_resolve() against crafted /etc/passwd and /etc/group
 * in temporary root directories. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "runtime/runtime.h"

struct fixture {
	char base[PATH_MAX]; /* temp dir; the image root is base/root */
	char root[PATH_MAX];
	int rootfd;
};

static const char passwd_std[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"# a comment:x:7:7::/:/bin/sh\n"
	"\n"
	"broken-line-with-too-few-fields:x:5\n"
	"baduid:x:12ab:100::/home/bad:/bin/sh\n"
	"toomany:x:9:9::/:/bin/sh:extra\n"
	"app:x:1000:1000:App User:/home/app:/bin/sh\r\n"
	"+nisuser:x:77:77::/:/bin/sh\n"
	"nohome:x:1001:1001:::/bin/sh\n"
	"app:x:2000:2000:duplicate, later entry:/dup:/bin/sh\n";

static const char group_std[] =
	"root:x:0:\n"
	"tty:x:5:\n"
	"wheel:x:10:app,daemon\n"
	"audio:x:29:daemon,app\n"
	"broken:x:\n"
	"video:x:bad:app\n"
	"app:x:1000:\n"
	"staff:x:50:someoneelse\n"
	"nogroup:x:65534:\n";

static void write_file(const char *dir, const char *rel, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->base, sizeof(fx->base), "/tmp/berth-test-user-XXXXXX");
	assert_non_null(mkdtemp(fx->base));
	snprintf(fx->root, sizeof(fx->root), "%s/root", fx->base);
	assert_int_equal(mkdir(fx->root, 0755), 0);
	char etc[PATH_MAX];
	snprintf(etc, sizeof(etc), "%s/etc", fx->root);
	assert_int_equal(mkdir(etc, 0755), 0);
	write_file(fx->root, "etc/passwd", passwd_std);
	write_file(fx->root, "etc/group", group_std);
	fx->rootfd = open(fx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fx->rootfd >= 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	struct berth_err err;
	close(fx->rootfd);
	berth_rm_rf_at(AT_FDCWD, fx->base, &err);
	free(fx);
	return 0;
}

static void assert_groups(const struct berth_user *u, size_t n, ...)
{
	assert_int_equal(u->ngroups, n);
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(u->groups[i], (gid_t)va_arg(ap, int));
	va_end(ap);
}

static void test_name(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	assert_int_equal(berth_user_resolve(fx->rootfd, "app", &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_string_equal(u.home, "/home/app"); /* CRLF stripped; first entry wins */
	assert_groups(&u, 3, 1000, 10, 29);     /* primary first, then membership */
}

static void test_numeric_uid_in_passwd(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	assert_int_equal(berth_user_resolve(fx->rootfd, "1", &u, &err), 0);
	assert_int_equal(u.uid, 1);
	assert_int_equal(u.gid, 1);
	assert_string_equal(u.home, "/usr/sbin");
	assert_groups(&u, 3, 1, 10, 29);
}

static void test_numeric_uid_unknown(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	assert_int_equal(berth_user_resolve(fx->rootfd, "4321", &u, &err), 0);
	assert_int_equal(u.uid, 4321);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
	assert_groups(&u, 1, 0);
}

static void test_root_default(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	assert_int_equal(berth_user_resolve(fx->rootfd, NULL, &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/root");
	assert_groups(&u, 1, 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "", &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.home, "/root");
}

static void test_mixes(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};

	assert_int_equal(berth_user_resolve(fx->rootfd, "app:wheel", &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 10);
	assert_string_equal(u.home, "/home/app");
	assert_groups(&u, 2, 10, 29); /* wheel once, then audio */
}

static void test_mixes_exact(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};

	/* name:group — explicit primary group, supplementary from membership */
	assert_int_equal(berth_user_resolve(fx->rootfd, "app:audio", &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 29);
	assert_groups(&u, 2, 29, 10);

	/* uid:gid — numbers need no database entries */
	assert_int_equal(berth_user_resolve(fx->rootfd, "4000:4001", &u, &err), 0);
	assert_int_equal(u.uid, 4000);
	assert_int_equal(u.gid, 4001);
	assert_string_equal(u.home, "/");
	assert_groups(&u, 1, 4001);

	/* name:gid */
	assert_int_equal(berth_user_resolve(fx->rootfd, "daemon:777", &u, &err), 0);
	assert_int_equal(u.uid, 1);
	assert_int_equal(u.gid, 777);
	assert_string_equal(u.home, "/usr/sbin");
	assert_groups(&u, 3, 777, 10, 29);

	/* uid:group */
	assert_int_equal(berth_user_resolve(fx->rootfd, "4000:nogroup", &u, &err), 0);
	assert_int_equal(u.uid, 4000);
	assert_int_equal(u.gid, 65534);
	assert_groups(&u, 1, 65534);

	/* a passwd entry with an empty home falls back to "/" */
	assert_int_equal(berth_user_resolve(fx->rootfd, "nohome", &u, &err), 0);
	assert_int_equal(u.uid, 1001);
	assert_string_equal(u.home, "/");
}

static void test_unknown_user(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	assert_int_equal(berth_user_resolve(fx->rootfd, "foo", &u, &err), -1);
	assert_string_equal(err.msg, "unknown user \"foo\": not found in the image's /etc/passwd");
	/* names of malformed or NIS lines are not users */
	assert_int_equal(berth_user_resolve(fx->rootfd, "baduid", &u, &err), -1);
	assert_int_equal(berth_user_resolve(fx->rootfd, "toomany", &u, &err), -1);
	assert_int_equal(berth_user_resolve(fx->rootfd, "broken-line-with-too-few-fields", &u, &err),
			 -1);
	assert_int_equal(berth_user_resolve(fx->rootfd, "+nisuser", &u, &err), -1);
	assert_int_equal(berth_user_resolve(fx->rootfd, "# a comment", &u, &err), -1);
	/* a uid that does not fit in 32 bits is a name, and unknown */
	assert_int_equal(berth_user_resolve(fx->rootfd, "4294967296", &u, &err), -1);
	assert_non_null(strstr(err.msg, "unknown user \"4294967296\""));
}

static void test_unknown_group(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	assert_int_equal(berth_user_resolve(fx->rootfd, "app:nosuch", &u, &err), -1);
	assert_string_equal(err.msg,
			    "unknown group \"nosuch\": not found in the image's /etc/group");
	assert_int_equal(berth_user_resolve(fx->rootfd, "app:video", &u, &err), -1); /* bad gid line */
}

static void test_bad_specs(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	const char *bad[] = {":", ":10", "app:", "a:b:c", "app::wheel"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.errnum = 0;
		assert_int_equal(berth_user_resolve(fx->rootfd, bad[i], &u, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
	}
}

static void test_missing_databases(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/etc/passwd", fx->root);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/etc/group", fx->root);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "1234:55", &u, &err), 0);
	assert_int_equal(u.uid, 1234);
	assert_int_equal(u.gid, 55);
	assert_int_equal(berth_user_resolve(fx->rootfd, NULL, &u, &err), 0);
	assert_string_equal(u.home, "/");
	assert_int_equal(berth_user_resolve(fx->rootfd, "app", &u, &err), -1);
	assert_non_null(strstr(err.msg, "unknown user \"app\""));
	assert_int_equal(berth_user_resolve(fx->rootfd, "0:wheel", &u, &err), -1);
	assert_non_null(strstr(err.msg, "unknown group \"wheel\""));
}

static void test_huge_file(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/etc/passwd", fx->root);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("app:x:1000:1000::/home/app:/bin/sh\n", f);
	for (int i = 0; i < 40000; i++) /* ~1.4 MiB */
		fprintf(f, "filler%06d:x:%d:%d::/home/filler:/bin/sh\n", i, 10000 + i, 10000 + i);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "app", &u, &err), -1);
	assert_int_equal(err.errnum, EFBIG);
	assert_non_null(strstr(err.msg, "larger than 1 MiB"));
}

static void test_symlink_escape(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	/* A passwd outside the image root that must never be read. */
	write_file(fx->base, "outside-passwd", "evil:x:4242:4242::/evil:/bin/sh\n");
	char p[PATH_MAX], target[PATH_MAX];
	snprintf(p, sizeof(p), "%s/etc/passwd", fx->root);
	assert_int_equal(unlink(p), 0);

	/* relative, climbing out of the root */
	assert_int_equal(symlink("../../outside-passwd", p), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "evil", &u, &err), -1);
	assert_non_null(strstr(err.msg, "unknown user \"evil\""));

	/* absolute host path */
	assert_int_equal(unlink(p), 0);
	snprintf(target, sizeof(target), "%s/outside-passwd", fx->base);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "evil", &u, &err), -1);
	assert_non_null(strstr(err.msg, "unknown user \"evil\""));

	/* absolute in-image path: resolved inside the root, and read */
	assert_int_equal(unlink(p), 0);
	char lib[PATH_MAX];
	snprintf(lib, sizeof(lib), "%s/lib", fx->root);
	assert_int_equal(mkdir(lib, 0755), 0);
	write_file(fx->root, "lib/passwd", "inimage:x:3333:3334::/in:/bin/sh\n");
	assert_int_equal(symlink("/lib/passwd", p), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "inimage", &u, &err), 0);
	assert_int_equal(u.uid, 3333);
	assert_int_equal(u.gid, 3334);
}

static void test_fifo(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/etc/passwd", fx->root);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	/* Must neither block nor be read. */
	assert_int_equal(berth_user_resolve(fx->rootfd, "app", &u, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	/* A directory in place of /etc/group is refused too. */
	write_file(fx->root, "etc/passwd.new", passwd_std);
	char q[PATH_MAX];
	snprintf(q, sizeof(q), "%s/etc/passwd.new", fx->root);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(rename(q, p), 0);
	snprintf(p, sizeof(p), "%s/etc/group", fx->root);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "app", &u, &err), -1);
	assert_non_null(strstr(err.msg, "/etc/group is not a regular file"));
}

static void test_too_many_groups(void **state)
{
	struct fixture *fx = *state;
	struct berth_user u;
	struct berth_err err = {0};
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/etc/group", fx->root);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; i < 70; i++)
		fprintf(f, "g%d:x:%d:app\n", i, 5000 + i);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "app", &u, &err), -1);
	assert_non_null(strstr(err.msg, "more than 64 groups"));

	/* Exactly 63 memberships + the primary group fit. */
	f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; i < 63; i++)
		fprintf(f, "g%d:x:%d:app\n", i, 5000 + i);
	fprintf(f, "dup:x:5000:app\n"); /* duplicates collapse */
	assert_int_equal(fclose(f), 0);
	assert_int_equal(berth_user_resolve(fx->rootfd, "app", &u, &err), 0);
	assert_int_equal(u.ngroups, 64);
	assert_int_equal(u.groups[0], 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric_uid_in_passwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric_uid_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixes_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_specs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_databases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_groups, setup, teardown),
	};
	return cmocka_run_group_tests_name("runtime_user", tests, NULL, NULL);
}
