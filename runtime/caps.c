/* berth runtime/ — capabilities, rlimits and the identity switch.
 *
 * The parent prepares everything (libcap cap_t objects, the kernel's last
 * capability); the child only issues syscalls, in the order
 *   rlimits -> bounding set -> KEEPCAPS -> setgroups/setresgid/setresuid ->
 *   capset -> clear ambient
 * (no_new_privs, pdeathsig and seccomp follow in spawn.c).  The id switch
 * uses raw syscalls: glibc's wrappers would try to broadcast the change to
 * the threads of the parent this process was cloned from.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/runtime.h"
#include "runtime/sync.h"

#define BIT(c) (UINT64_C(1) << (c))

uint64_t berth_caps_default(void)
{
	/* Docker's and containerd's default set (daemon/pkg/oci/defaults.go). */
	return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
	       BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
	       BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
	       BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
}

int berth_cap_from_name(const char *name)
{
	if (!name)
		return -1;
	/* Accept "CAP_NET_ADMIN", "NET_ADMIN", "net_admin", "cap_net_admin". */
	if (strncasecmp(name, "cap_", 4) == 0)
		name += 4;
	size_t len = strlen(name);
	if (len == 0 || len > 48)
		return -1;
	char buf[64] = "cap_";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalpha(c) || c == '_' || (isdigit(c) && i > 0)))
			return -1; /* no numbers, no separators, no spaces */
		buf[4 + i] = (char)tolower(c);
	}
	buf[4 + len] = '\0';
	cap_value_t v;
	if (cap_from_name(buf, &v) != 0 || v < 0 || v > 63)
		return -1;
	return (int)v;
}

/* ---- parent: plan --------------------------------------------------------- */

static cap_t make_capset(uint64_t bits, int last_cap, struct berth_err *err)
{
	cap_t c = cap_init(); /* everything clear */
	if (!c) {
		berth_err_set(err, errno, "capabilities: cap_init");
		return NULL;
	}
	for (int i = 0; i <= last_cap && i < 64; i++) {
		if (!(bits & BIT(i)))
			continue;
		cap_value_t v = i;
		if (cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
		    cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0) {
			berth_err_set(err, errno, "capabilities: set capability %d", i);
			cap_free(c);
			return NULL;
		}
	}
	return c;
}

int berth_caps_plan_init(struct berth_caps_plan *p, uint64_t caps, bool with_sys_admin,
			 struct berth_err *err)
{
	*p = (struct berth_caps_plan){.keep = caps};
	int last = (int)cap_max_bits() - 1;
	if (last < CAP_AUDIT_WRITE || last > 63)
		return berth_err_set(err, 0, "capabilities: cannot tell the kernel's last capability");
	p->last_cap = last;
	for (int i = last + 1; i < 64; i++)
		if (caps & BIT(i))
			return berth_err_set(err, EINVAL,
					     "capability %d is not known to this kernel (highest is %d)",
					     i, last);
	p->final = make_capset(caps, last, err);
	if (!p->final)
		return -1;
	if (with_sys_admin && !(caps & BIT(CAP_SYS_ADMIN))) {
		p->interim = make_capset(caps | BIT(CAP_SYS_ADMIN), last, err);
		if (!p->interim) {
			berth_caps_plan_free(p);
			return -1;
		}
	}
	return 0;
}

void berth_caps_plan_free(struct berth_caps_plan *p)
{
	if (p->final)
		cap_free(p->final);
	if (p->interim)
		cap_free(p->interim);
	p->final = p->interim = NULL;
}

/* ---- child ---------------------------------------------------------------- */

static const char *rlimit_name(int r)
{
	switch (r) {
	case RLIMIT_CPU: return "RLIMIT_CPU";
	case RLIMIT_FSIZE: return "RLIMIT_FSIZE";
	case RLIMIT_DATA: return "RLIMIT_DATA";
	case RLIMIT_STACK: return "RLIMIT_STACK";
	case RLIMIT_CORE: return "RLIMIT_CORE";
	case RLIMIT_RSS: return "RLIMIT_RSS";
	case RLIMIT_NPROC: return "RLIMIT_NPROC";
	case RLIMIT_NOFILE: return "RLIMIT_NOFILE";
	case RLIMIT_MEMLOCK: return "RLIMIT_MEMLOCK";
	case RLIMIT_AS: return "RLIMIT_AS";
	case RLIMIT_LOCKS: return "RLIMIT_LOCKS";
	case RLIMIT_SIGPENDING: return "RLIMIT_SIGPENDING";
	case RLIMIT_MSGQUEUE: return "RLIMIT_MSGQUEUE";
	case RLIMIT_NICE: return "RLIMIT_NICE";
	case RLIMIT_RTPRIO: return "RLIMIT_RTPRIO";
	case RLIMIT_RTTIME: return "RLIMIT_RTTIME";
	default: return "RLIMIT_?";
	}
}

int berth_rlimits_apply(const struct berth_rlimit *rl, size_t n, struct berth_err *err)
{
	bool nofile_given = false;
	for (size_t i = 0; i < n; i++)
		nofile_given |= rl[i].resource == RLIMIT_NOFILE;
	if (!nofile_given) {
		/* The default.  Raising the hard limit needs CAP_SYS_RESOURCE; a
		 * spawner without it gets min(65535, its own hard limit) instead
		 * of a failure (an explicit rlimit is never clamped). */
		struct rlimit nofile = {65535, 65535}, cur;
		if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) {
			if (errno != EPERM || getrlimit(RLIMIT_NOFILE, &cur) < 0)
				return berth_child_err(err, errno, "set RLIMIT_NOFILE to 65535");
			nofile.rlim_cur = nofile.rlim_max = cur.rlim_max < 65535 ? cur.rlim_max : 65535;
			if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
				return berth_child_err(err, errno, "set RLIMIT_NOFILE to %llu",
						       (unsigned long long)nofile.rlim_max);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct rlimit r = {rl[i].soft, rl[i].hard};
		if (setrlimit((__rlimit_resource_t)rl[i].resource, &r) < 0)
			return berth_child_err(err, errno, "set %s (resource %d) to %llu/%llu",
					       rlimit_name(rl[i].resource), rl[i].resource,
					       (unsigned long long)rl[i].soft,
					       (unsigned long long)rl[i].hard);
	}
	return 0;
}

int berth_caps_drop_bounding(const struct berth_caps_plan *p, struct berth_err *err)
{
	for (int i = 0; i <= p->last_cap; i++) {
		if (p->keep & BIT(i))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)i, 0, 0, 0) < 0 && errno != EINVAL)
			return berth_child_err(err, errno, "drop capability %d from the bounding set", i);
	}
	/* Keep the permitted set across setresuid(non-zero); capset trims it. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return berth_child_err(err, errno, "PR_SET_KEEPCAPS");
	return 0;
}

int berth_identity_switch(const struct berth_user *u, struct berth_err *err)
{
	if (syscall(SYS_setgroups, (long)u->ngroups, u->groups) < 0)
		return berth_child_err(err, errno, "setgroups (%zu groups)", u->ngroups);
	if (syscall(SYS_setresgid, (long)u->gid, (long)u->gid, (long)u->gid) < 0)
		return berth_child_err(err, errno, "setresgid %u", (unsigned)u->gid);
	if (syscall(SYS_setresuid, (long)u->uid, (long)u->uid, (long)u->uid) < 0)
		return berth_child_err(err, errno, "setresuid %u", (unsigned)u->uid);
	return 0;
}

int berth_caps_set(void *cap, struct berth_err *err)
{
	if (cap_set_proc((cap_t)cap) < 0)
		return berth_child_err(err, errno, "capset");
	return 0;
}

int berth_caps_clear_ambient(struct berth_err *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return berth_child_err(err, errno, "clear the ambient capabilities");
	return 0;
}
