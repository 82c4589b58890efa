/* berth runtime/ — cgroup v2 mechanism (see cgroup.h).
 *
 * Every file is reached relative to a cgroup directory fd, opened with
 * O_NOFOLLOW, and written with one write() whose result is checked: a cgroup
 * file takes one value per write, and a short or failed write means the
 * kernel refused the value.
 *
 * Where berth's subtree lives:
 *   - an explicit path (berthd configuration);
 *   - the systemd unit's own cgroup, when systemd delegated it (the unit's
 *     cgroup carries the trusted.delegate / user.delegate xattr that systemd
 *     >= 251 sets for Delegate=yes, is writable and has cpu, memory and pids
 *     in cgroup.controllers): berthd first moves itself into a "daemon" leaf
 *     (berth_cgroup_daemon_leaf), tasks go below "tasks";
 *   - else /sys/fs/cgroup/berth (tasks below /sys/fs/cgroup/berth/tasks).
 * A root login shell's session scope is writable too, but not delegated:
 * without the xattr it is never used.
 *
 * Nothing is created before cgroup v2 has been checked, so a host with the
 * hybrid/legacy layout gets one refusal and an untouched /sys/fs/cgroup.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/internal.h"

#define CGROUP_MNT "/sys/fs/cgroup"
#define NEEDED "cpu memory pids"
#define HOW_TO_ENABLE                                                                   \
	"boot the kernel with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=all) " \
	"to get the unified cgroup v2 hierarchy"
#define KILL_TIMEOUT_NS (2000ULL * 1000 * 1000)
#define POLL_SLICE_MS 20
#define MAX_DEPTH 32
#define SMALL_FILE_MAX (64 * 1024)
#define PROCS_FILE_MAX (4 * 1024 * 1024)

/* ---- small helpers ----------------------------------------------------------- */

/* The path behind fd, for messages only ("fd N" when unknown). */
static void fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, len - 1);
	if (n <= 0) {
		snprintf(buf, len, "fd %d", fd);
		return;
	}
	buf[n] = '\0';
}

int berth_cgroup_write_file(int cgfd, const char *file, const char *value, struct berth_err *err)
{
	int fd = openat(cgfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ELOOP)
			return berth_err_set(err, ELOOP, "%s is a symlink, not a cgroup file: refused",
					     file);
		return berth_err_set(err, errno, "open %s for writing", file);
	}
	size_t len = strlen(value);
	ssize_t w;
	do
		w = write(fd, value, len);
	while (w < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (w < 0)
		return berth_err_set(err, e, "write \"%s\" to %s", value, file);
	if ((size_t)w != len)
		return berth_err_set(err, EIO, "write \"%s\" to %s: short write (%zd of %zu bytes)",
				     value, file, w, len);
	return 0;
}

/* True when the space/newline separated list contains word. */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		p += strspn(p, " \t\n");
		size_t m = strcspn(p, " \t\n");
		if (m == n && strncmp(p, word, n) == 0)
			return true;
		p += m;
	}
	return false;
}

static bool has_needed(const char *list)
{
	return has_word(list, "cpu") && has_word(list, "memory") && has_word(list, "pids");
}

/* Read a cgroup file into a heap string with its trailing newline removed. */
static int read_cg(int cgfd, const char *file, size_t max, char **out, struct berth_err *err)
{
	size_t len = 0;
	if (berth_read_file_at(cgfd, file, max, out, &len, err) < 0)
		return -1;
	while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == ' '))
		(*out)[--len] = '\0';
	return 0;
}

/* Value of "key N" in a flat-keyed file (cgroup.events, memory.events).
 * Returns 1 found, 0 absent, -1 malformed. */
static int keyed_value(const char *text, const char *key, uint64_t *val)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		size_t llen = end ? (size_t)(end - line) : strlen(line);
		if (llen > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			const char *num = line + klen + 1;
			size_t nlen = llen - klen - 1;
			if (nlen == 0 || nlen > 20 || strspn(num, "0123456789") != nlen)
				return -1;
			char buf[24];
			memcpy(buf, num, nlen);
			buf[nlen] = '\0';
			errno = 0;
			unsigned long long v = strtoull(buf, NULL, 10);
			if (errno == ERANGE)
				return -1;
			*val = v;
			return 1;
		}
		if (llen > 0 && (memchr(line, ' ', llen) == NULL))
			return -1; /* every line is "key value" */
		line += llen + (end ? 1 : 0);
	}
	return 0;
}

static bool valid_name(const char *name)
{
	return name && name[0] && strlen(name) <= 255 && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static bool is_cgroup2(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* Enable cpu, memory and pids for the children of cgfd (only the missing
 * ones, so an already set-up tree is never written again). */
static int enable_children(int cgfd, struct berth_err *err)
{
	_cleanup_free_ char *cur = NULL;
	if (read_cg(cgfd, "cgroup.subtree_control", SMALL_FILE_MAX, &cur, err) < 0)
		return -1;
	if (has_needed(cur))
		return 0;
	char want[64] = "";
	const char *names[] = {"cpu", "memory", "pids"};
	for (size_t i = 0; i < 3; i++)
		if (!has_word(cur, names[i]))
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s+%s",
				 want[0] ? " " : "", names[i]);
	if (berth_cgroup_write_file(cgfd, "cgroup.subtree_control", want, err) < 0) {
		char where[256];
		fd_path(cgfd, where, sizeof(where));
		if (err && err->errnum == EBUSY)
			return berth_err_wrap(err,
					      "cgroup %s holds processes, so cgroup v2 cannot give its "
					      "children controllers (move them into a leaf cgroup)",
					      where);
		return berth_err_wrap(err, "enable %s for the children of cgroup %s", want, where);
	}
	return 0;
}

/* ---- where berth's subtree lives --------------------------------------------- */

/* One line saying why cgroup v2 is not usable (errnum EOPNOTSUPP, no
 * strerror suffix). */
static int refuse(struct berth_err *err, const char *found)
{
	berth_err_set(err, 0,
		      "cgroup v2 is not usable: %s; berth needs the cpu, memory and pids "
		      "controllers on cgroup2 and never runs a task unconfined: %s",
		      found, HOW_TO_ENABLE);
	if (err)
		err->errnum = EOPNOTSUPP;
	return -1;
}

/* Which of cpu/memory/pids are bound to a cgroup v1 hierarchy (/proc/cgroups). */
static void v1_bound(char *out, size_t len)
{
	out[0] = '\0';
	_cleanup_free_ char *text = NULL;
	struct berth_err ignored;
	if (berth_read_file_at(AT_FDCWD, "/proc/cgroups", SMALL_FILE_MAX, &text, NULL, &ignored) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		int hier;
		if (sscanf(line, "%31s %d", name, &hier) != 2 || hier == 0)
			continue;
		if (strcmp(name, "cpu") && strcmp(name, "memory") && strcmp(name, "pids"))
			continue;
		snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? ", " : "", name);
	}
}

/* The hybrid/legacy layout: say what is mounted and where the v1 controllers are. */
static int refuse_layout(int mntfd, struct berth_err *err)
{
	struct statfs sf;
	const char *what = "an unknown filesystem";
	if (fstatfs(mntfd, &sf) == 0) {
		if (sf.f_type == TMPFS_MAGIC)
			what = "tmpfs: the hybrid/legacy layout";
		else if (sf.f_type == CGROUP_SUPER_MAGIC)
			what = "a cgroup v1 hierarchy";
	}
	char v1[64], uni[160] = "";
	v1_bound(v1, sizeof(v1));
	_cleanup_close_ int ufd = openat(mntfd, "unified", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *uc = NULL;
	struct berth_err ignored;
	if (ufd >= 0 && is_cgroup2(ufd) &&
	    read_cg(ufd, "cgroup.controllers", SMALL_FILE_MAX, &uc, &ignored) == 0)
		snprintf(uni, sizeof(uni), "; cgroup2 at " CGROUP_MNT "/unified has controllers \"%s\"",
			 uc);
	char found[512];
	snprintf(found, sizeof(found), CGROUP_MNT " is not a cgroup2 mount (found %s%s%s%s)", what,
		 v1[0] ? "; bound to cgroup v1: " : "", v1, uni);
	return refuse(err, found);
}

/* Check that parentfd (on cgroup2) offers cpu, memory and pids. */
static int check_controllers(int parentfd, const char *shown, struct berth_err *err)
{
	_cleanup_free_ char *have = NULL;
	if (read_cg(parentfd, "cgroup.controllers", SMALL_FILE_MAX, &have, err) < 0)
		return berth_err_wrap(err, "cgroup %s", shown);
	if (has_needed(have))
		return 0;
	char v1[64], found[512];
	v1_bound(v1, sizeof(v1));
	snprintf(found, sizeof(found), "cgroup2 at %s has controllers \"%s\" but berth needs " NEEDED
		 "%s%s%s", shown, have, v1[0] ? " (bound to cgroup v1: " : "", v1, v1[0] ? ")" : "");
	return refuse(err, found);
}

/* Create (if missing) parentfd/name, give it and its parent cpu, memory and
 * pids, return its fd.  A directory created here is removed on failure. */
static int open_subtree(int parentfd, const char *name, struct berth_err *err)
{
	if (enable_children(parentfd, err) < 0)
		return -1;
	bool created = true;
	if (mkdirat(parentfd, name, 0755) < 0) {
		if (errno != EEXIST)
			return berth_err_set(err, errno, "create cgroup %s", name);
		created = false;
	}
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		berth_err_set(err, errno, "open cgroup %s", name);
		goto fail;
	}
	if (!is_cgroup2(fd)) {
		berth_err_set(err, 0, "%s is not a cgroup2 directory", name);
		goto fail;
	}
	if (enable_children(fd, err) < 0)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	if (created)
		(void)unlinkat(parentfd, name, AT_REMOVEDIR);
	return -1;
}

/* Our own cgroup v2 path from /proc/self/cgroup ("/" when none). */
static int own_cgroup(char *out, size_t len, struct berth_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (berth_read_file_at(AT_FDCWD, "/proc/self/cgroup", SMALL_FILE_MAX, &text, NULL, err) < 0)
		return -1;
	snprintf(out, len, "/");
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "0::", 3) == 0) {
			if (strlen(line + 3) >= len)
				return berth_err_set(err, ENAMETOOLONG, "own cgroup path");
			snprintf(out, len, "%s", line + 3);
		}
	return 0;
}

static bool xattr_is_one(int fd, const char *name)
{
	char v[8];
	ssize_t n = fgetxattr(fd, name, v, sizeof(v));
	return n == 1 && v[0] == '1';
}

/* The cgroup mntfd/rel (rel without the leading '/') when systemd
 * delegated it with the controllers berth needs, else -1. */
static int open_if_delegated(int mntfd, const char *rel)
{
	int fd = berth_openat2(mntfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
			       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
	if (fd < 0)
		return -1; /* e.g. another cgroup namespace's view */
	_cleanup_free_ char *have = NULL;
	struct berth_err ignored;
	struct statvfs vf;
	bool ok = (xattr_is_one(fd, "trusted.delegate") || xattr_is_one(fd, "user.delegate")) &&
		  read_cg(fd, "cgroup.controllers", SMALL_FILE_MAX, &have, &ignored) == 0 &&
		  has_needed(have) && fstatvfs(fd, &vf) == 0 && !(vf.f_flag & ST_RDONLY) &&
		  faccessat(fd, "cgroup.subtree_control", W_OK, AT_EACCESS) == 0 &&
		  faccessat(fd, "cgroup.procs", W_OK, AT_EACCESS) == 0;
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The fd of the unit's cgroup when systemd delegated it to us: our own
 * cgroup, or its parent once berthd sits in the "daemon" leaf.  -2 when not
 * delegated; -1 on error. */
static int open_delegated(int mntfd, char *shown, size_t len, struct berth_err *err)
{
	char own[4096];
	if (own_cgroup(own, sizeof(own), err) < 0)
		return -1;
	if (strcmp(own, "/") == 0 || own[0] != '/' || strstr(own, " (deleted)"))
		return -2;
	int fd = open_if_delegated(mntfd, own + 1);
	if (fd < 0) {
		char *slash = strrchr(own, '/');
		if (slash == own || strcmp(slash, "/daemon") != 0)
			return -2;
		*slash = '\0';
		if ((fd = open_if_delegated(mntfd, own + 1)) < 0)
			return -2;
	}
	snprintf(shown, len, CGROUP_MNT "%s", own);
	return fd;
}

/* Open /sys/fs/cgroup and check it is cgroup2 with the controllers. */
static int open_mnt(struct berth_err *err)
{
	int fd = open(CGROUP_MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		char found[128];
		snprintf(found, sizeof(found), "cannot open " CGROUP_MNT " (%s)", strerror(errno));
		return refuse(err, found);
	}
	if (!is_cgroup2(fd)) {
		refuse_layout(fd, err);
		close(fd);
		return -1;
	}
	if (check_controllers(fd, CGROUP_MNT, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int root_open_path(const char *path, struct berth_err *err)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	char buf[4096];
	if (path[0] != '/' || n >= sizeof(buf))
		return berth_err_set(err, EINVAL, "cgroup root \"%s\" must be an absolute path", path);
	memcpy(buf, path, n);
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	const char *name = slash + 1;
	if (!valid_name(name))
		return berth_err_set(err, EINVAL, "cgroup root \"%s\": no directory name", path);
	const char *parent = slash == buf ? "/" : buf;
	*slash = '\0';
	_cleanup_close_ int pfd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return berth_err_set(err, errno, "cgroup root %s: open its parent %s", path, parent);
	if (!is_cgroup2(pfd)) {
		char found[4200];
		snprintf(found, sizeof(found), "%s is not on a cgroup2 filesystem", parent);
		return refuse(err, found);
	}
	if (check_controllers(pfd, parent, err) < 0)
		return -1;
	int fd = open_subtree(pfd, name, err);
	if (fd < 0)
		return berth_err_wrap(err, "cgroup root %s", path);
	return fd;
}

int berth_cgroup_root_open(const char *path, struct berth_err *err)
{
	if (path)
		return root_open_path(path, err);
	_cleanup_close_ int mnt = open_mnt(err);
	if (mnt < 0)
		return -1;
	char shown[4200];
	_cleanup_close_ int own = open_delegated(mnt, shown, sizeof(shown), err);
	if (own == -1)
		return -1;
	if (own >= 0) {
		int fd = open_subtree(own, "tasks", err);
		if (fd < 0)
			return berth_err_wrap(err,
					      "systemd-delegated cgroup %s (berthd moves itself into "
					      "its \"daemon\" leaf first: berth_cgroup_daemon_leaf)",
					      shown);
		return fd;
	}
	/* Tasks live in berth/tasks/, as under a delegated unit, leaving
	 * berth/ free for a "daemon" leaf when berthd runs without systemd. */
	_cleanup_close_ int berth = open_subtree(mnt, "berth", err);
	if (berth < 0)
		return berth_err_wrap(err, "cgroup " CGROUP_MNT "/berth");
	int fd = open_subtree(berth, "tasks", err);
	if (fd < 0)
		return berth_err_wrap(err, "cgroup " CGROUP_MNT "/berth/tasks");
	return fd;
}

int berth_cgroup_daemon_leaf(struct berth_err *err)
{
	struct berth_err local;
	if (!err)
		err = &local;
	_cleanup_close_ int mnt = open_mnt(err);
	if (mnt < 0) {
		if (err->errnum != EOPNOTSUPP)
			return -1;
		/* No usable cgroup v2: nothing delegated to move into; berthd
		 * still starts, and root_open refuses each task clearly. */
		berth_err_clear(err);
		return 0;
	}
	char shown[4200];
	_cleanup_close_ int own = open_delegated(mnt, shown, sizeof(shown), err);
	if (own == -1)
		return -1;
	if (own == -2)
		return 0;
	if (mkdirat(own, "daemon", 0755) < 0 && errno != EEXIST)
		return berth_err_set(err, errno, "create cgroup %s/daemon", shown);
	_cleanup_close_ int leaf = openat(own, "daemon", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
							 O_NOFOLLOW);
	if (leaf < 0)
		return berth_err_set(err, errno, "open cgroup %s/daemon", shown);
	/* Every process of the unit (berthd and anything it already forked). */
	_cleanup_free_ char *procs = NULL;
	if (read_cg(own, "cgroup.procs", PROCS_FILE_MAX, &procs, err) < 0)
		return berth_err_wrap(err, "cgroup %s", shown);
	char *save = NULL;
	for (char *line = strtok_r(procs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (berth_cgroup_write_file(leaf, "cgroup.procs", line, err) < 0) {
			if (err->errnum == ESRCH) /* exited meanwhile */
				continue;
			return berth_err_wrap(err, "move pid %s into %s/daemon", line, shown);
		}
	}
	return 1;
}

/* ---- limits -------------------------------------------------------------------- */

int berth_cgroup_write_limits(int cgfd, const struct berth_cgroup_limits *lim,
			      struct berth_err *err)
{
	struct berth_err local;
	if (!err)
		err = &local;
	if (!lim)
		return 0;
	uint64_t period = lim->cpu_period_us ? lim->cpu_period_us : BERTH_CGROUP_DEFAULT_PERIOD_US;
	/* The kernel's bounds (kernel/sched/core.c), checked up front so nothing
	 * is half-written and the message names the value. */
	if (period < 1000 || period > 1000000)
		return berth_err_set(err, EINVAL, "cpu.max period %" PRIu64
				     " us is outside 1000..1000000 us", period);
	if (lim->cpu_quota_us && lim->cpu_quota_us < 1000)
		return berth_err_set(err, EINVAL,
				     "cpu.max quota %" PRIu64 " us is below the kernel's minimum of "
				     "1000 us", lim->cpu_quota_us);
	if (lim->cpu_weight > 10000)
		return berth_err_set(err, EINVAL, "cpu.weight %" PRIu32 " is outside 1..10000",
				     lim->cpu_weight);

	/* In this order; a NULL value is left alone (0 = "leave the default"). */
	char cpu[48], weight[16] = "", mem[24] = "max", low[24] = "", pids[24] = "max";
	if (lim->cpu_quota_us)
		snprintf(cpu, sizeof(cpu), "%" PRIu64 " %" PRIu64, lim->cpu_quota_us, period);
	else
		snprintf(cpu, sizeof(cpu), "max %" PRIu64, period);
	if (lim->cpu_weight)
		snprintf(weight, sizeof(weight), "%" PRIu32, lim->cpu_weight);
	if (lim->memory_max)
		snprintf(mem, sizeof(mem), "%" PRIu64, lim->memory_max);
	if (lim->memory_low)
		snprintf(low, sizeof(low), "%" PRIu64, lim->memory_low);
	if (lim->pids_max)
		snprintf(pids, sizeof(pids), "%" PRIu64, lim->pids_max);
	const struct {
		const char *file, *value;
	} w[] = {
		{"cpu.max", cpu},
		{"cpu.weight", weight[0] ? weight : NULL},
		{"memory.max", mem},
		{"memory.low", low[0] ? low : NULL},
		{"memory.swap.max", lim->memory_swap_off ? "0" : NULL},
		{"pids.max", pids},
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		if (!w[i].value || berth_cgroup_write_file(cgfd, w[i].file, w[i].value, err) == 0)
			continue;
		/* Without swap accounting (CONFIG_MEMCG_SWAP off, swapaccount=0)
		 * there is no memory.swap.max, and nothing swaps anyway. */
		if (strcmp(w[i].file, "memory.swap.max") == 0 && err->errnum == ENOENT)
			continue;
		goto fail;
	}
	return 0;
fail:;
	char where[256];
	fd_path(cgfd, where, sizeof(where));
	return berth_err_wrap(err, "cgroup %s", where);
}

int berth_cgroup_create(int parentfd, const char *name, const struct berth_cgroup_limits *lim,
			bool delegate_children, struct berth_err *err)
{
	if (!valid_name(name))
		return berth_err_set(err, EINVAL, "cgroup name \"%s\" is not a single path component",
				     name ? name : "(null)");
	if (mkdirat(parentfd, name, 0755) < 0) {
		if (errno == EEXIST)
			return berth_err_set(err, EEXIST, "cgroup %s already exists", name);
		return berth_err_set(err, errno, "create cgroup %s", name);
	}
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		berth_err_set(err, errno, "open cgroup %s", name);
		goto fail;
	}
	if (berth_cgroup_write_limits(fd, lim, err) < 0)
		goto fail;
	if (delegate_children && enable_children(fd, err) < 0)
		goto fail;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlinkat(parentfd, name, AT_REMOVEDIR);
	return -1;
}

int berth_cgroup_oom_kills(int cgfd, uint64_t *count, struct berth_err *err)
{
	struct berth_err local;
	if (!err)
		err = &local;
	*count = 0;
	_cleanup_free_ char *text = NULL;
	if (berth_read_file_at(cgfd, "memory.events", SMALL_FILE_MAX, &text, NULL, err) < 0) {
		if (err->errnum == ENOENT) {
			berth_err_clear(err);
			return 0;
		}
		return -1;
	}
	int r = keyed_value(text, "oom_kill", count);
	if (r < 0)
		return berth_err_set(err, EINVAL, "memory.events is malformed (expected lines "
				     "\"key number\", with \"oom_kill N\")");
	return 0;
}

/* ---- kill and remove ----------------------------------------------------------- */

/* Removed meanwhile (e.g. by a concurrent destroy): its files are gone
 * (ENOENT) or answer ENODEV. */
static bool cg_gone(int cgfd)
{
	return faccessat(cgfd, "cgroup.procs", F_OK, 0) < 0 && (errno == ENOENT || errno == ENODEV);
}

/* Wait until cgroup.events says "key want", bounded by deadline (monotonic
 * ns).  Returns 1 reached (or the cgroup was removed meanwhile), 0 timed out
 * (*last = last value seen), -1 error.  kernfs wakes POLLPRI on every
 * change; the short slices also cover a missed wakeup. */
static int wait_event(int cgfd, const char *key, uint64_t want, uint64_t deadline,
		      uint64_t *last, struct berth_err *err)
{
	_cleanup_close_ int fd = openat(cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cg_gone(cgfd) ? 1 : berth_err_set(err, errno, "open cgroup.events");
	for (;;) {
		char buf[256];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENODEV) /* removed while we waited */
				return 1;
			return berth_err_set(err, errno, "read cgroup.events");
		}
		buf[n] = '\0';
		uint64_t v = 0;
		if (keyed_value(buf, key, &v) != 1)
			return berth_err_set(err, EINVAL, "cgroup.events has no \"%s\" line", key);
		*last = v;
		if (v == want)
			return 1;
		uint64_t now = berth_now_ns();
		if (now >= deadline)
			return 0;
		uint64_t left_ms = (deadline - now) / 1000000 + 1;
		struct pollfd p = {.fd = fd, .events = POLLPRI};
		if (poll(&p, 1, left_ms < POLL_SLICE_MS ? (int)left_ms : POLL_SLICE_MS) < 0 &&
		    errno != EINTR)
			return berth_err_set(err, errno, "poll cgroup.events");
	}
}

/* SIGKILL every process listed in cgfd and its descendants. */
static int kill_listed(int cgfd, int depth, struct berth_err *err)
{
	if (depth > MAX_DEPTH)
		return berth_err_set(err, ELOOP, "cgroup tree deeper than %d levels", MAX_DEPTH);
	_cleanup_free_ char *procs = NULL;
	if (read_cg(cgfd, "cgroup.procs", PROCS_FILE_MAX, &procs, err) < 0)
		return -1;
	char *save = NULL;
	for (char *line = strtok_r(procs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *end;
		long pid = strtol(line, &end, 10);
		if (*end || pid <= 0)
			continue;
		if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
			return berth_err_set(err, errno, "kill pid %ld", pid);
	}
	_cleanup_closedir_ DIR *d = berth_opendir_at(cgfd, "cgroup directory", err);
	if (!d)
		return -1;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (de->d_type != DT_DIR || !valid_name(de->d_name))
			continue;
		_cleanup_close_ int sub = openat(cgfd, de->d_name,
						 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub < 0) {
			if (errno == ENOENT)
				continue;
			return berth_err_set(err, errno, "open cgroup %s", de->d_name);
		}
		if (kill_listed(sub, depth + 1, err) < 0)
			return berth_err_wrap(err, "%s", de->d_name);
	}
	if (errno)
		return berth_err_set(err, errno, "read cgroup directory");
	return 0;
}

/* Kernels before 5.14: freeze (so nothing forks while we list), SIGKILL
 * every listed pid, and always thaw (frozen tasks die once thawed, and a
 * frozen cgroup left behind would hang whoever is still inside). */
static int kill_by_freezing(int cgfd, uint64_t deadline, struct berth_err *err)
{
	if (berth_cgroup_write_file(cgfd, "cgroup.freeze", "1", err) < 0) {
		if (err->errnum == ENOENT)
			return berth_err_wrap(err, "this kernel has neither cgroup.kill (5.14) nor "
					      "cgroup.freeze (5.2)");
		return -1;
	}
	uint64_t last;
	int r = wait_event(cgfd, "frozen", 1, deadline, &last, err);
	if (r >= 0)
		r = kill_listed(cgfd, 0, err);
	struct berth_err thaw_err;
	if (berth_cgroup_write_file(cgfd, "cgroup.freeze", "0", &thaw_err) < 0 && r >= 0) {
		*err = thaw_err;
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int berth_cgroup_kill(int cgfd, bool use_freezer, struct berth_err *err)
{
	struct berth_err local;
	if (!err)
		err = &local;
	uint64_t deadline = berth_now_ns() + KILL_TIMEOUT_NS;
	if (use_freezer || berth_cgroup_write_file(cgfd, "cgroup.kill", "1", err) < 0) {
		if (cg_gone(cgfd)) /* nothing can live in a removed cgroup */
			goto gone;
		if (!use_freezer && err->errnum != ENOENT)
			return -1;
		if (kill_by_freezing(cgfd, deadline, err) < 0) {
			if (cg_gone(cgfd))
				goto gone;
			return -1;
		}
	}
	uint64_t populated = 1;
	int r = wait_event(cgfd, "populated", 0, deadline, &populated, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return berth_err_set(err, ETIMEDOUT,
				     "processes still running %llu ms after SIGKILL (populated %" PRIu64
				     ")",
				     KILL_TIMEOUT_NS / 1000000, populated);
	return 0;
gone:
	berth_err_clear(err);
	return 0;
}

/* rmdir parentfd/name after its sub-cgroups, deepest first.  A cgroup that
 * just emptied can report EBUSY for a moment: retried until deadline. */
static int remove_tree(int parentfd, const char *name, int depth, uint64_t deadline,
		       struct berth_err *err)
{
	if (depth > MAX_DEPTH)
		return berth_err_set(err, ELOOP, "cgroup tree deeper than %d levels", MAX_DEPTH);
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return berth_err_set(err, errno, "open cgroup %s", name);
	}
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berth_err_set(err, errno, "read cgroup directory %s", name);
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!valid_name(de->d_name))
			continue;
		bool dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			dir = fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			      S_ISDIR(st.st_mode);
		}
		if (dir && remove_tree(fd, de->d_name, depth + 1, deadline, err) < 0)
			return berth_err_wrap(err, "%s", name);
	}
	if (errno)
		return berth_err_set(err, errno, "read cgroup directory %s", name);
	for (;;) {
		if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || berth_now_ns() >= deadline)
			return berth_err_set(err, errno, "remove cgroup %s", name);
		usleep(POLL_SLICE_MS * 1000);
	}
}

int berth_cgroup_destroy(int parentfd, const char *name, struct berth_err *err)
{
	if (!valid_name(name))
		return berth_err_set(err, EINVAL, "cgroup name \"%s\" is not a single path component",
				     name ? name : "(null)");
	_cleanup_close_ int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
							 O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return berth_err_set(err, errno, "open cgroup %s", name);
	}
	if (berth_cgroup_kill(fd, false, err) < 0 ||
	    remove_tree(parentfd, name, 0, berth_now_ns() + KILL_TIMEOUT_NS, err) < 0) {
		char where[256];
		fd_path(fd, where, sizeof(where));
		return berth_err_wrap(err, "destroy cgroup %s", where);
	}
	return 0;
}
