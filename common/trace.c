/* berth — start-up trace timestamps (see trace.h). */
#include "common/trace.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int berth_trace_fd = -1;

/* Writes v in decimal just before end; returns where the digits start. */
static char *put_u64(char *end, unsigned long long v)
{
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

void berth_trace_emit(const char *name)
{
	struct timespec ts;
	char line[128], num[24], *p = line;
	size_t n = strnlen(name, 64);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	memcpy(p, name, n);
	p += n;
	unsigned long long vals[2] = {(unsigned long long)ts.tv_sec * 1000000000ull +
					      (unsigned long long)ts.tv_nsec,
				      (unsigned long long)getpid()};
	for (int i = 0; i < 2; i++) {
		char *s = put_u64(num + sizeof(num), vals[i]);
		size_t k = (size_t)(num + sizeof(num) - s);
		*p++ = ' ';
		memcpy(p, s, k);
		p += k;
	}
	*p++ = '\n';
	ssize_t r = write(berth_trace_fd, line, (size_t)(p - line));
	(void)r; /* a trace must never change behaviour */
}

/* Process start: read BERTH_TRACE once and record "start". */
__attribute__((constructor)) static void berth_trace_init(void)
{
	const char *path = getenv("BERTH_TRACE");
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd >= 0 && fd < 3) { /* never occupy a closed stdio slot */
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		close(fd);
		fd = hi;
	}
	berth_trace_fd = fd;
	berth_trace("start");
}
