/* Unit tests: the typed parent/child setup protocol over a SOCK_SEQPACKET
 * pair. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/sync.h"

static int setup(void **state)
{
	int *sv = test_malloc(2 * sizeof(int));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	*state = sv;
	return 0;
}

static int teardown(void **state)
{
	int *sv = *state;
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	test_free(sv);
	return 0;
}

static void test_step_names(void **state)
{
	(void)state;
	assert_string_equal(berth_sync_step_name(BERTH_STEP_NAMESPACES), "NAMESPACES");
	assert_string_equal(berth_sync_step_name(BERTH_STEP_MOUNTS), "MOUNTS");
	assert_string_equal(berth_sync_step_name(BERTH_STEP_SECCOMP), "SECCOMP");
	assert_string_equal(berth_sync_step_name(BERTH_STEP_EXEC), "EXEC");
	assert_string_equal(berth_sync_step_name(BERTH_STEP__COUNT), "UNKNOWN");
	assert_string_equal(berth_sync_step_name((enum berth_sync_step)-1), "UNKNOWN");
	for (int s = 0; s < BERTH_STEP__COUNT; s++)
		assert_string_not_equal(berth_sync_step_name((enum berth_sync_step)s), "UNKNOWN");
}

static void test_go_and_ready(void **state)
{
	int *sv = *state;
	struct berth_err err = {0};
	assert_int_equal(berth_sync_send(sv[0], BERTH_SYNC_GO, BERTH_STEP_SYNC, 0, NULL, &err), 0);
	assert_int_equal(berth_sync_wait_go(sv[1], &err), 0);

	assert_int_equal(berth_sync_send(sv[1], BERTH_SYNC_READY, BERTH_STEP_EXEC, 0, NULL, &err), 0);
	struct berth_sync_msg m;
	assert_int_equal(berth_sync_recv(sv[0], &m, 1000, &err), 1);
	assert_int_equal(m.type, BERTH_SYNC_READY);
	assert_int_equal(m.len, 0);

	/* EOF when the other end is closed (as after execve). */
	close(sv[1]);
	sv[1] = -1;
	assert_int_equal(berth_sync_recv(sv[0], &m, 1000, &err), 0);
}

static void test_error_roundtrip(void **state)
{
	int *sv = *state;
	struct berth_err cause = {0}, err = {0};
	berth_child_err(&cause, ENOENT, "open /%s in the image", "proc");
	assert_string_equal(cause.msg, "open /proc in the image"); /* no strerror in the child */
	berth_sync_report(sv[1], BERTH_STEP_MOUNTS, &cause);

	struct berth_sync_msg m;
	assert_int_equal(berth_sync_recv(sv[0], &m, 1000, &err), 1);
	assert_int_equal(m.type, BERTH_SYNC_ERROR);
	assert_int_equal(m.step, BERTH_STEP_MOUNTS);
	assert_int_equal(m.errnum, ENOENT);
	assert_int_equal(berth_sync_msg_to_err(&m, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_string_equal(err.msg, "open /proc in the image: No such file or directory");
}

static void test_long_text_truncated(void **state)
{
	int *sv = *state;
	struct berth_err err = {0};
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_sync_send(sv[1], BERTH_SYNC_ERROR, BERTH_STEP_DEV, 0, big, &err), 0);
	struct berth_sync_msg m;
	assert_int_equal(berth_sync_recv(sv[0], &m, 1000, &err), 1);
	assert_int_equal(m.len, BERTH_SYNC_TEXT_MAX - 1);
	assert_int_equal(strlen(m.text), BERTH_SYNC_TEXT_MAX - 1);
}

static void test_malformed(void **state)
{
	int *sv = *state;
	struct berth_err err = {0};
	struct berth_sync_msg m;
	/* too short */
	assert_int_equal(send(sv[1], "abc", 3, 0), 3);
	assert_int_equal(berth_sync_recv(sv[0], &m, 1000, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	/* length field lies */
	struct berth_sync_msg bad = {.type = BERTH_SYNC_ERROR, .step = 1, .len = 500};
	assert_true(send(sv[1], &bad, offsetof(struct berth_sync_msg, text) + 4, 0) > 0);
	assert_int_equal(berth_sync_recv(sv[0], &m, 1000, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	/* unknown type */
	struct berth_sync_msg odd = {.type = 0x1234, .len = 0};
	assert_true(send(sv[1], &odd, offsetof(struct berth_sync_msg, text) + 1, 0) > 0);
	assert_int_equal(berth_sync_recv(sv[0], &m, 1000, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	/* the child refuses anything but GO */
	assert_int_equal(berth_sync_send(sv[0], BERTH_SYNC_READY, 0, 0, NULL, &err), 0);
	assert_int_equal(berth_sync_wait_go(sv[1], &err), -1);
	assert_int_equal(err.errnum, EPROTO);
}

static void test_timeout_and_eof_before_go(void **state)
{
	int *sv = *state;
	struct berth_err err = {0};
	struct berth_sync_msg m;
	assert_int_equal(berth_sync_recv(sv[0], &m, 10, &err), -1);
	assert_int_equal(err.errnum, ETIMEDOUT);
	close(sv[0]);
	sv[0] = -1;
	assert_int_equal(berth_sync_wait_go(sv[1], &err), -1);
	assert_int_equal(err.errnum, EPIPE);
	/* sending to a closed peer fails without SIGPIPE */
	assert_int_equal(berth_sync_send(sv[1], BERTH_SYNC_READY, 0, 0, NULL, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_names),
		cmocka_unit_test_setup_teardown(test_go_and_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_text_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_eof_before_go, setup, teardown),
	};
	return cmocka_run_group_tests_name("runtime_sync", tests, NULL, NULL);
}
