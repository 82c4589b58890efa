/* berth — one error convention for the whole tree.
 *
 * A function that can fail takes `struct berth_err *err` as its last argument,
 * returns a negative value on failure after filling it, and returns >= 0 on
 * success without touching it.  Context is added on the way up with
 * berth_err_wrap(), so the final message reads outermost-first:
 *   "load image /tmp/x: layer sha256:ab..: entry "etc/../../x": path escapes the layer"
 */
#ifndef BERTH_COMMON_ERR_H
#define BERTH_COMMON_ERR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define BERTH_ERR_MSG_MAX 1024

struct berth_err {
	int errnum;                   /* errno-style cause, 0 when not a syscall failure */
	char msg[BERTH_ERR_MSG_MAX];  /* one line, no trailing newline */
};

/* Fill err with a formatted message; when errnum > 0 ": strerror(errnum)" is
 * appended.  Always returns -1 so call sites can `return berth_err_set(...)`. */
int berth_err_set(struct berth_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* berth_err_set with a va_list; describe = false stores errnum without
 * appending strerror (for the container child, which reports the number and
 * lets the parent describe it). */
int berth_err_vset(struct berth_err *err, int errnum, bool describe, const char *fmt, va_list ap);

/* Prefix the existing message with a formatted context and ": ".
 * Returns -1. */
int berth_err_wrap(struct berth_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset to "no error". */
void berth_err_clear(struct berth_err *err);

#endif
