/* Unit tests: image config + run options -> argv/env/cwd/user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler/spec.h"

static char *ep_sh[] = {"/bin/sh", "-c", NULL};
static char *cmd_echo[] = {"echo hi", NULL};
static char *env_img[] = {"PATH=/bin", "A=1", NULL};

static struct berth_image image(void)
{
	struct berth_image img = {0};
	img.name = "t:1";
	img.config.entrypoint = ep_sh;
	img.config.cmd = cmd_echo;
	img.config.env = env_img;
	img.config.working_dir = "/srv";
	img.config.user = "app";
	return img;
}

static void assert_strv(char **got, const char *const *want)
{
	size_t i = 0;
	for (; want[i]; i++) {
		assert_non_null(got[i]);
		assert_string_equal(got[i], want[i]);
	}
	assert_null(got[i]);
}

static void image_defaults_apply(void **state)
{
	(void)state;
	struct berth_image img = image();
	struct berth_run_opts o = {.image = "t:1"};
	struct berth_ctr_spec s = {0};
	struct berth_err err = {0};
	assert_int_equal(berth_ctr_spec_build(&o, &img, &s, &err), 0);
	assert_strv(s.argv, (const char *[]){"/bin/sh", "-c", "echo hi", NULL});
	assert_strv(s.envp, (const char *[]){"PATH=/bin", "A=1", NULL});
	assert_string_equal(s.cwd, "/srv");
	assert_string_equal(s.user, "app");
	berth_ctr_spec_free(&s);
}

static void cli_cmd_replaces_cmd_keeps_entrypoint(void **state)
{
	(void)state;
	struct berth_image img = image();
	char *cmd[] = {"exit 3", NULL};
	struct berth_run_opts o = {.image = "t:1", .cmd = cmd};
	struct berth_ctr_spec s = {0};
	struct berth_err err = {0};
	assert_int_equal(berth_ctr_spec_build(&o, &img, &s, &err), 0);
	assert_strv(s.argv, (const char *[]){"/bin/sh", "-c", "exit 3", NULL});
	berth_ctr_spec_free(&s);
}

static void entrypoint_override_drops_cmd(void **state)
{
	(void)state;
	struct berth_image img = image();
	struct berth_run_opts o = {.image = "t:1", .entrypoint = "/bin/true"};
	struct berth_ctr_spec s = {0};
	struct berth_err err = {0};
	assert_int_equal(berth_ctr_spec_build(&o, &img, &s, &err), 0);
	assert_strv(s.argv, (const char *[]){"/bin/true", NULL});
	berth_ctr_spec_free(&s);

	char *cmd[] = {"a", "b", NULL};
	o.entrypoint = "";
	o.cmd = cmd;
	assert_int_equal(berth_ctr_spec_build(&o, &img, &s, &err), 0);
	assert_strv(s.argv, (const char *[]){"a", "b", NULL});
	berth_ctr_spec_free(&s);
}

static void env_overrides_by_key(void **state)
{
	(void)state;
	struct berth_image img = image();
	setenv("BERTH_UNIT_HOSTVAR", "from-host", 1);
	unsetenv("BERTH_UNIT_UNSET");
	char *env[] = {"A=2", "B=x=y", "BERTH_UNIT_HOSTVAR", "BERTH_UNIT_UNSET", NULL};
	struct berth_run_opts o = {.image = "t:1", .env = env};
	struct berth_ctr_spec s = {0};
	struct berth_err err = {0};
	assert_int_equal(berth_ctr_spec_build(&o, &img, &s, &err), 0);
	assert_strv(s.envp, (const char *[]){"PATH=/bin", "A=2", "B=x=y",
					     "BERTH_UNIT_HOSTVAR=from-host", NULL});
	berth_ctr_spec_free(&s);
}

static void bad_inputs_are_refused(void **state)
{
	(void)state;
	struct berth_image img = image();
	struct berth_ctr_spec s = {0};
	struct berth_err err = {0};

	char *env[] = {"=x", NULL};
	struct berth_run_opts o = {.image = "t:1", .env = env};
	assert_int_equal(berth_ctr_spec_build(&o, &img, &s, &err), -1);
	assert_non_null(strstr(err.msg, "\"=x\""));

	struct berth_run_opts o2 = {.image = "t:1", .workdir = "relative/dir"};
	assert_int_equal(berth_ctr_spec_build(&o2, &img, &s, &err), -1);
	assert_non_null(strstr(err.msg, "relative/dir"));

	struct berth_image empty = {0};
	struct berth_run_opts o3 = {.image = "empty:1"};
	assert_int_equal(berth_ctr_spec_build(&o3, &empty, &s, &err), -1);
	assert_non_null(strstr(err.msg, "empty:1"));
	assert_null(s.argv);
}

static void plain_rootfs_needs_command(void **state)
{
	(void)state;
	struct berth_ctr_spec s = {0};
	struct berth_err err = {0};
	struct berth_run_opts o = {.rootfs_dir = "/srv/root"};
	assert_int_equal(berth_ctr_spec_build(&o, NULL, &s, &err), -1);
	char *cmd[] = {"/bin/true", NULL};
	o.cmd = cmd;
	assert_int_equal(berth_ctr_spec_build(&o, NULL, &s, &err), 0);
	assert_string_equal(s.cwd, "/");
	assert_null(s.user);
	assert_non_null(s.envp);
	assert_null(s.envp[0]);
	berth_ctr_spec_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(image_defaults_apply),
		cmocka_unit_test(cli_cmd_replaces_cmd_keeps_entrypoint),
		cmocka_unit_test(entrypoint_override_drops_cmd),
		cmocka_unit_test(env_overrides_by_key),
		cmocka_unit_test(bad_inputs_are_refused),
		cmocka_unit_test(plain_rootfs_needs_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
