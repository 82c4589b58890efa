/* Unit tests: capability names and the default capability set. */
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime/runtime.h"

static void test_default_is_dockers_14(void **state)
{
	(void)state;
	const char *names[] = {"CHOWN",   "DAC_OVERRIDE", "FSETID",           "FOWNER",
			       "MKNOD",   "NET_RAW",      "SETGID",           "SETUID",
			       "SETFCAP", "SETPCAP",      "NET_BIND_SERVICE", "SYS_CHROOT",
			       "KILL",    "AUDIT_WRITE"};
	uint64_t want = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int c = berth_cap_from_name(names[i]);
		assert_true(c >= 0);
		want |= UINT64_C(1) << c;
	}
	assert_int_equal(__builtin_popcountll(berth_caps_default()), 14);
	assert_int_equal(berth_caps_default(), want);
	/* The value a container shows as CapEff. */
	assert_int_equal(berth_caps_default(), UINT64_C(0xa80425fb));
	assert_false(berth_caps_default() & (UINT64_C(1) << CAP_SYS_ADMIN));
	assert_false(berth_caps_default() & (UINT64_C(1) << CAP_NET_ADMIN));
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(berth_cap_from_name("CAP_NET_ADMIN"), CAP_NET_ADMIN);
	assert_int_equal(berth_cap_from_name("NET_ADMIN"), CAP_NET_ADMIN);
	assert_int_equal(berth_cap_from_name("net_admin"), CAP_NET_ADMIN);
	assert_int_equal(berth_cap_from_name("cap_net_admin"), CAP_NET_ADMIN);
	assert_int_equal(berth_cap_from_name("Cap_Sys_Admin"), CAP_SYS_ADMIN);
	assert_int_equal(berth_cap_from_name("CHOWN"), CAP_CHOWN);
	assert_int_equal(berth_cap_from_name("AUDIT_READ"), CAP_AUDIT_READ);
	assert_int_equal(berth_cap_from_name("CAP_BPF"), CAP_BPF);
	assert_int_equal(berth_cap_from_name("PERFMON"), CAP_PERFMON);
}

static void test_bad_names(void **state)
{
	(void)state;
	const char *bad[] = {"", "CAP_", "cap_", "NOT_A_CAP", "12", "CAP_12", "NET ADMIN",
			     "NET_ADMIN ", " NET_ADMIN", "NET-ADMIN", "CAP_CAP_CHOWN", "ALL",
			     "chown,kill"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(berth_cap_from_name(bad[i]), -1);
	assert_int_equal(berth_cap_from_name(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_is_dockers_14),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_names),
	};
	return cmocka_run_group_tests_name("runtime_caps", tests, NULL, NULL);
}
