#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int berth_err_set(struct berth_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	berth_err_vset(err, errnum, true, fmt, ap);
	va_end(ap);
	return -1;
}

int berth_err_vset(struct berth_err *err, int errnum, bool describe, const char *fmt, va_list ap)
{
	if (!err)
		return -1;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		err->msg[0] = '\0';
	err->errnum = errnum;
	if (describe && errnum > 0) {
		size_t len = strlen(err->msg);
		if (len < sizeof(err->msg))
			snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	}
	return -1;
}

int berth_err_wrap(struct berth_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char ctx[BERTH_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	char old[BERTH_ERR_MSG_MAX];
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old);
	return -1;
}

void berth_err_clear(struct berth_err *err)
{
	if (!err)
		return;
	err->errnum = 0;
	err->msg[0] = '\0';
}
