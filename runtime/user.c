/* berth runtime/ — resolve a container user spec through the image's own
 * /etc/passwd and /etc/group.
 *
 * Never getpwnam()/NSS: that would read the host's databases or dlopen() the
 * image's libnss_* into the runtime (CVE-2019-14271).  Both files are opened
 * below rootfd with openat2(RESOLVE_IN_ROOT), so a symlink in the image can
 * only point at another file of the image; they must be regular files (a
 * FIFO would block) and at most 1 MiB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"

#define DB_MAX (1u << 20) /* 1 MiB */

/* Read etc/<name> below rootfd.  *out is NULL when the file does not exist. */
static int read_db(int rootfd, const char *name, char **out, struct berth_err *err)
{
	char rel[32];
	snprintf(rel, sizeof(rel), "etc/%s", name);
	*out = NULL;
	_cleanup_close_ int fd = berth_openat2(rootfd, rel,
					       O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
					       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return berth_err_set(err, errno, "open the image's /%s", rel);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_err_set(err, errno, "stat the image's /%s", rel);
	if (!S_ISREG(st.st_mode))
		return berth_err_set(err, 0, "the image's /%s is not a regular file", rel);
	if ((uint64_t)st.st_size > DB_MAX)
		return berth_err_set(err, EFBIG, "the image's /%s is larger than 1 MiB (%lld bytes)",
				     rel, (long long)st.st_size);
	_cleanup_free_ char *buf = malloc(DB_MAX + 2);
	if (!buf)
		return berth_err_set(err, ENOMEM, "read the image's /%s", rel);
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, DB_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return berth_err_set(err, errno, "read the image's /%s", rel);
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > DB_MAX) /* grew while we read it */
			return berth_err_set(err, EFBIG, "the image's /%s is larger than 1 MiB", rel);
	}
	buf[got] = '\0';
	*out = TAKE_PTR(buf);
	return 0;
}

/* Strict decimal id: digits only, fits in 32 bits, not (id_t)-1. */
static bool parse_id(const char *s, size_t len, uint32_t *out)
{
	if (len == 0 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Split one line into up to max ':'-separated fields (in place).  Returns the
 * number of fields. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	f[n++] = line;
	for (char *p = line; *p; p++) {
		if (*p != ':')
			continue;
		*p = '\0';
		if (n == max)
			return max + 1; /* too many fields */
		f[n++] = p + 1;
	}
	return n;
}

/* Iterate the lines of a database; skips comments, blanks and NIS +/- lines.
 * Returns the next line (NUL-terminated, in place) or NULL. */
static char *next_line(char **cursor)
{
	while (*cursor && **cursor) {
		char *line = *cursor;
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = '\0';
			*cursor = nl + 1;
		} else {
			*cursor = NULL;
		}
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-')
			continue;
		return line;
	}
	return NULL;
}

struct pw_entry {
	bool found;
	char name[256];
	uint32_t uid, gid;
	char home[256];
};

/* Look up by name (name != NULL) or by uid in passwd text (modified). */
static void passwd_find(char *text, const char *name, uint32_t uid, struct pw_entry *out)
{
	char *cur = text;
	for (char *line; (line = next_line(&cur));) {
		char *f[7];
		if (split_fields(line, f, 7) != 7)
			continue; /* malformed */
		uint32_t u, g;
		if (!*f[0] || !parse_id(f[2], strlen(f[2]), &u) || !parse_id(f[3], strlen(f[3]), &g))
			continue;
		if (name ? strcmp(f[0], name) != 0 : u != uid)
			continue;
		if (strlen(f[0]) >= sizeof(out->name) || strlen(f[5]) >= sizeof(out->home))
			continue;
		out->found = true;
		snprintf(out->name, sizeof(out->name), "%s", f[0]);
		out->uid = u;
		out->gid = g;
		snprintf(out->home, sizeof(out->home), "%s", *f[5] ? f[5] : "/");
		return;
	}
}

static int add_group(struct berth_user *u, gid_t g, struct berth_err *err)
{
	for (size_t i = 0; i < u->ngroups; i++)
		if (u->groups[i] == g)
			return 0;
	if (u->ngroups >= sizeof(u->groups) / sizeof(u->groups[0]))
		return berth_err_set(err, E2BIG, "the user is in more than %zu groups",
				     sizeof(u->groups) / sizeof(u->groups[0]));
	u->groups[u->ngroups++] = g;
	return 0;
}

/* Resolve group_name to *gid (when group_name != NULL) and collect the
 * supplementary groups of user_name (when != NULL) from group text. */
static int group_scan(char *text, const char *group_name, uint32_t *gid, bool *gid_found,
		      const char *user_name, struct berth_user *u, struct berth_err *err)
{
	char *cur = text;
	for (char *line; (line = next_line(&cur));) {
		char *f[4];
		if (split_fields(line, f, 4) != 4)
			continue;
		uint32_t g;
		if (!*f[0] || !parse_id(f[2], strlen(f[2]), &g))
			continue;
		if (group_name && !*gid_found && strcmp(f[0], group_name) == 0) {
			*gid = g;
			*gid_found = true;
		}
		if (!user_name)
			continue;
		char *save = NULL;
		for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			if (strcmp(m, user_name) == 0) {
				if (add_group(u, g, err) < 0)
					return -1;
				break;
			}
		}
	}
	return 0;
}

int berth_user_resolve(int rootfd, const char *spec, struct berth_user *out, struct berth_err *err)
{
	*out = (struct berth_user){0};
	if (!spec || !*spec)
		spec = "0";
	if (strlen(spec) > 512)
		return berth_err_set(err, EINVAL, "user \"%.64s...\": too long", spec);

	char user_part[513], group_part[513] = "";
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	memcpy(user_part, spec, ulen);
	user_part[ulen] = '\0';
	if (colon)
		snprintf(group_part, sizeof(group_part), "%s", colon + 1);
	if (!*user_part || (colon && !*group_part) || strchr(group_part, ':'))
		return berth_err_set(err, EINVAL,
				     "user \"%s\": expected user, uid, user:group or uid:gid", spec);

	_cleanup_free_ char *passwd = NULL;
	if (read_db(rootfd, "passwd", &passwd, err) < 0)
		return -1;

	uint32_t uid = 0;
	bool numeric_user = parse_id(user_part, ulen, &uid);
	struct pw_entry pw = {0};
	if (passwd)
		passwd_find(passwd, numeric_user ? NULL : user_part, uid, &pw);
	if (!numeric_user && !pw.found)
		return berth_err_set(err, 0, "unknown user \"%s\": not found in the image's /etc/passwd",
				     user_part);
	out->uid = numeric_user ? uid : pw.uid;
	out->gid = pw.found ? pw.gid : 0;
	snprintf(out->home, sizeof(out->home), "%s", pw.found ? pw.home : "/");

	uint32_t gid = 0;
	bool numeric_group = *group_part && parse_id(group_part, strlen(group_part), &gid);
	bool need_group_name = *group_part && !numeric_group;
	const char *member = pw.found ? pw.name : NULL;

	_cleanup_free_ char *group = NULL;
	if (need_group_name || member) {
		if (read_db(rootfd, "group", &group, err) < 0)
			return -1;
	}
	/* Primary gid goes first in the supplementary list. */
	bool gid_found = false;
	struct berth_user tmp = {0};
	if (group && group_scan(group, need_group_name ? group_part : NULL, &gid, &gid_found, member,
				&tmp, err) < 0)
		return berth_err_wrap(err, "user \"%s\"", spec);
	if (need_group_name && !gid_found)
		return berth_err_set(err, 0, "unknown group \"%s\": not found in the image's /etc/group",
				     group_part);
	if (*group_part)
		out->gid = gid;
	if (add_group(out, out->gid, err) < 0)
		return -1;
	for (size_t i = 0; i < tmp.ngroups; i++)
		if (add_group(out, tmp.groups[i], err) < 0)
			return berth_err_wrap(err, "user \"%s\"", spec);
	return 0;
}
