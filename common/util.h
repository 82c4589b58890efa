/* berth — small shared helpers: fd-relative file I/O, strings, digests. */
#ifndef BERTH_COMMON_UTIL_H
#define BERTH_COMMON_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define BERTH_SHA256_HEX_LEN 64
#define BERTH_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

/* Streaming SHA-256 (OpenSSL libcrypto underneath). */
struct berth_sha256 {
	void *ctx; /* SHA256_CTX */
};
int berth_sha256_init(struct berth_sha256 *h, struct berth_err *err);
void berth_sha256_update(struct berth_sha256 *h, const void *buf, size_t len);
/* Writes 64 lowercase hex digits + NUL into hex (65 bytes) and frees the ctx. */
void berth_sha256_final_hex(struct berth_sha256 *h, char hex[BERTH_SHA256_HEX_LEN + 1]);
void berth_sha256_free(struct berth_sha256 *h);
/* One-shot over a buffer. */
int berth_sha256_buf_hex(const void *buf, size_t len, char hex[BERTH_SHA256_HEX_LEN + 1],
			 struct berth_err *err);

/* True when s is exactly "sha256:" followed by 64 lowercase hex digits. */
bool berth_digest_valid(const char *s);
/* Pointer to the hex part of a valid digest, or NULL when invalid. */
const char *berth_digest_hex(const char *s);

/* Read a whole regular file relative to dirfd (never following a symlink in
 * the last component), refusing anything larger than max bytes.  *out is
 * NUL-terminated; *len (optional) excludes the NUL. */
int berth_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len,
		       struct berth_err *err);

/* Atomically replace dirfd/name with buf: write a temp file, fsync, renameat,
 * fsync the directory. */
int berth_write_file_atomic(int dirfd, const char *name, const void *buf, size_t len,
			    mode_t mode, struct berth_err *err);

/* berth_write_file_atomic without the fsyncs: readers never see a partial
 * file, but a power loss may lose it.  For state that does not outlive a
 * reboot anyway (tmpfs under /run). */
int berth_write_file_replace(int dirfd, const char *name, const void *buf, size_t len,
			     mode_t mode, struct berth_err *err);

/* Remove dirfd/name recursively without ever following a symlink.  A missing
 * name is success. */
int berth_rm_rf_at(int dirfd, const char *name, struct berth_err *err);

/* mkdir -p relative to dirfd (no symlink following in any component). */
int berth_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct berth_err *err);

/* Open (creating if needed, mode 0700) a directory below dirfd; returns the fd. */
int berth_open_dir_at(int dirfd, const char *path, bool create, struct berth_err *err);

/* A directory stream over a duplicate of dirfd (dirfd stays usable and
 * owned by the caller), rewound to the start.  what names it in errors. */
DIR *berth_opendir_at(int dirfd, const char *what, struct berth_err *err);

/* nbytes random bytes as 2*nbytes lowercase hex + NUL into out. */
int berth_random_hex(char *out, size_t nbytes, struct berth_err *err);

/* strdup that never returns NULL silently: sets err on ENOMEM. */
char *berth_strdup(const char *s, struct berth_err *err);
/* Number of entries in a NULL-terminated vector. */
size_t berth_strv_len(char *const *v);
/* Deep copy of a NULL-terminated vector (NULL in -> empty vector out). */
char **berth_strv_dup(char *const *v, struct berth_err *err);

/* Parse a byte size such as "512", "64k", "10M", "8G" (binary units). */
int berth_parse_size(const char *s, uint64_t *out);

/* Start time of a process (field 22 of /proc/<pid>/stat, clock ticks since
 * boot), 0 when it is gone: (pid, start) names a process across pid reuse. */
uint64_t berth_pid_start_time(pid_t pid);

/* Monotonic clock in nanoseconds. */
uint64_t berth_now_ns(void);

#endif
