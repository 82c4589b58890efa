/* Unit tests: the error convention and shared fd helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/util.h"

static void err_set_and_wrap(void **state)
{
	(void)state;
	struct berth_err e = {0};
	assert_int_equal(berth_err_set(&e, ENOENT, "open %s", "x"), -1);
	assert_string_equal(e.msg, "open x: No such file or directory");
	assert_int_equal(e.errnum, ENOENT);
	assert_int_equal(berth_err_wrap(&e, "load %s", "img"), -1);
	assert_string_equal(e.msg, "load img: open x: No such file or directory");
	berth_err_clear(&e);
	assert_string_equal(e.msg, "");
	/* Overlong messages are truncated, never overflow. */
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	berth_err_set(&e, 0, "%s", big);
	berth_err_wrap(&e, "%s", big);
	assert_int_equal(strlen(e.msg), BERTH_ERR_MSG_MAX - 1);
}

static void digest_grammar(void **state)
{
	(void)state;
	const char *good = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	assert_true(berth_digest_valid(good));
	assert_string_equal(berth_digest_hex(good), good + 7);
	assert_false(berth_digest_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
	assert_false(berth_digest_valid("sha256:../../etc/passwd"));
	assert_false(berth_digest_valid("sha512:e3b0"));
	assert_false(berth_digest_valid("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
	assert_false(berth_digest_valid(NULL));
	char hex[65];
	struct berth_err e = {0};
	assert_int_equal(berth_sha256_buf_hex("", 0, hex, &e), 0);
	assert_string_equal(hex, good + 7);
}

static void parse_sizes(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(berth_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(berth_parse_size("64k", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(berth_parse_size("8G", &v), 0);
	assert_int_equal(v, 8ull << 30);
	assert_int_equal(berth_parse_size("10MiB", &v), 0);
	assert_int_equal(v, 10ull << 20);
	assert_int_equal(berth_parse_size("-1", &v), -1);
	assert_int_equal(berth_parse_size("12Q", &v), -1);
	assert_int_equal(berth_parse_size("", &v), -1);
	assert_int_equal(berth_parse_size("99999999999999T", &v), -1);
}

static void atomic_write_and_bounded_read(void **state)
{
	(void)state;
	char dir[] = "/tmp/berth-unit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct berth_err e = {0};
	assert_int_equal(berth_write_file_atomic(dfd, "f", "hello", 5, 0600, &e), 0);
	assert_int_equal(berth_write_file_atomic(dfd, "f", "bye", 3, 0600, &e), 0);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(berth_read_file_at(dfd, "f", 100, &buf, &len, &e), 0);
	assert_string_equal(buf, "bye");
	assert_int_equal(len, 3);
	free(buf);
	buf = NULL;
	assert_int_equal(berth_read_file_at(dfd, "f", 2, &buf, &len, &e), -1);
	assert_non_null(strstr(e.msg, "too large"));
	/* never follows a symlink, never reads a FIFO */
	assert_int_equal(symlinkat("/etc/hostname", dfd, "link"), 0);
	assert_int_equal(berth_read_file_at(dfd, "link", 100, &buf, &len, &e), -1);
	assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
	assert_int_equal(berth_read_file_at(dfd, "fifo", 100, &buf, &len, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
	/* no temp files left behind */
	assert_int_equal(berth_rm_rf_at(AT_FDCWD, dir, &e), 0);
	assert_int_equal(access(dir, F_OK), -1);
}

static void rm_rf_does_not_follow_symlinks(void **state)
{
	(void)state;
	char dir[] = "/tmp/berth-unit-XXXXXX", outside[] = "/tmp/berth-unit-out-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(outside));
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int ofd = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct berth_err e = {0};
	assert_int_equal(berth_write_file_atomic(ofd, "keep", "x", 1, 0600, &e), 0);
	assert_int_equal(berth_mkdir_p_at(dfd, "a/b/c", 0700, &e), 0);
	assert_int_equal(symlinkat(outside, dfd, "a/b/escape"), 0);
	assert_int_equal(berth_rm_rf_at(dfd, "a", &e), 0);
	assert_int_equal(faccessat(dfd, "a", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(ofd, "keep", F_OK, 0), 0);
	assert_int_equal(berth_mkdir_p_at(dfd, "x/../y", 0700, &e), -1);
	assert_int_equal(berth_rm_rf_at(AT_FDCWD, dir, &e), 0);
	assert_int_equal(berth_rm_rf_at(AT_FDCWD, outside, &e), 0);
}

static void strv_helpers(void **state)
{
	(void)state;
	char *v[] = {"a", "b", NULL};
	struct berth_err e = {0};
	_cleanup_strv_ char **d = berth_strv_dup(v, &e);
	assert_int_equal(berth_strv_len(d), 2);
	assert_string_equal(d[1], "b");
	_cleanup_strv_ char **empty = berth_strv_dup(NULL, &e);
	assert_non_null(empty);
	assert_null(empty[0]);
	char hex[33];
	assert_int_equal(berth_random_hex(hex, 16, &e), 0);
	assert_int_equal(strlen(hex), 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(err_set_and_wrap),
		cmocka_unit_test(digest_grammar),
		cmocka_unit_test(parse_sizes),
		cmocka_unit_test(atomic_write_and_bounded_read),
		cmocka_unit_test(rm_rf_does_not_follow_symlinks),
		cmocka_unit_test(strv_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
