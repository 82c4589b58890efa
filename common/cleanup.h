/* berth — scope-bound cleanup helpers (GCC/Clang cleanup attribute). */
#ifndef BERTH_COMMON_CLEANUP_H
#define BERTH_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void berth_freep(void *p)
{
	free(*(void **)p);
}
static inline void berth_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void berth_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void berth_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
/* NULL-terminated vector of heap strings. */
static inline void berth_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
static inline void berth_strv_freep(char ***v)
{
	berth_strv_free(*v);
}

#define _cleanup_free_ __attribute__((cleanup(berth_freep)))
#define _cleanup_close_ __attribute__((cleanup(berth_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(berth_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(berth_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(berth_strv_freep)))

/* Hand ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p)                        \
	({                                 \
		__typeof__(p) _tp_ = (p);  \
		(p) = NULL;                \
		_tp_;                      \
	})
#define TAKE_FD(fd)                 \
	({                          \
		int _tf_ = (fd);    \
		(fd) = -1;          \
		_tf_;               \
	})

#endif
