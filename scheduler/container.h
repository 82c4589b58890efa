/* berth scheduler/ — containers started from the CLI: records and lifecycle.
 *
 * Each container has a directory <root>/containers/<id>/ holding
 *   state.json  the record (atomically replaced on every change)
 *   upper/ work/ the overlayfs upper layer and work dir (images/)
 *   rootfs/     an empty directory the root is attached on, inside the
 *               container's own mount namespace only
 * The record lists the image layers the container uses, so `image rm`
 * never collects a layer under a container that still exists.
 */
#ifndef BERTH_SCHEDULER_CONTAINER_H
#define BERTH_SCHEDULER_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "images/images.h"
#include "netns/netns.h"
#include "runtime/runtime.h"

#define BERTH_CTR_ID_HEX 32 /* ids are 32 lowercase hex digits, like ECS task ids */

enum berth_net_mode {
	BERTH_NET_AWSVPC = 0, /* its own namespace, veth, address, NAT, security groups */
	BERTH_NET_NONE,       /* its own namespace with only lo */
};

enum berth_ctr_status {
	BERTH_CTR_CREATED,
	BERTH_CTR_RUNNING,
	BERTH_CTR_EXITED,
};

struct berth_ctr {
	char id[BERTH_CTR_ID_HEX + 1];
	char *name;          /* may be NULL */
	char *image;         /* image reference as given, or "rootfs:<dir>" */
	char *image_id;      /* config digest, NULL for a plain rootfs */
	char **command;      /* final argv */
	char **layers;       /* diff_id hex list in use (NULL-terminated, may be empty) */
	enum berth_ctr_status status;
	bool remove_on_exit;
	pid_t pid;
	uint64_t pid_start;  /* /proc/<pid>/stat start time, guards pid reuse */
	int exit_code;       /* valid when EXITED; -1 when unknown */
	int64_t created, started, finished; /* unix seconds, 0 = not yet */
	uint32_t cpu_units;  /* reservation, 0 = none */
	uint32_t memory_mib; /* reservation, 0 = none */
	char *reason;        /* why it stopped, ECS-style; NULL when it simply exited */
	int dirfd;           /* <root>/containers/<id> */
	char *root;          /* state root */
	int cg_parent_fd;    /* berth's task cgroup parent (-1 when none) */
	int cg_task_fd;      /* <parent>/<id> (-1 when none) */
	int cg_ctr_fd;       /* <parent>/<id>/main, the process's cgroup */
	enum berth_net_mode net_mode;
	char ip[16], gateway[16], bridge[16], mac[18];
	struct berth_port *ports; /* declared and published ports */
	size_t nports;
	char **groups;            /* security groups (NULL-terminated, may be NULL) */
	/* Set by whoever runs or removes the container: the network
	 * configuration its network is torn down with (NULL: leave it to the
	 * network sweep).  Not owned. */
	const struct berth_net_config *net_config;
	struct berth_net_task *net; /* the live network (the run path only) */
};
void berth_ctr_free(struct berth_ctr *c);

/* What `berth run` asks for. */
struct berth_run_opts {
	const char *image;        /* image reference, or NULL when rootfs_dir is set */
	const char *rootfs_dir;   /* plain directory used as the root (no image) */
	char *const *cmd;         /* arguments after IMAGE (NULL/empty = image Cmd) */
	const char *entrypoint;   /* NULL = image's; "" = none */
	char *const *env;         /* "K=V" overrides, or "K" to copy the host's value */
	const char *user;
	const char *workdir;
	const char *hostname;
	const char *name;
	bool remove_on_exit;
	bool read_only;
	uint32_t cpu_units;       /* task CPU units (1024 per vCPU); 0 = no cap, no reservation */
	uint32_t memory_mib;      /* task memory; 0 = no limit, no reservation */
	uint64_t pids_max;        /* 0 = BERTH_DEFAULT_PIDS_MAX */
	uint32_t memory_reserve_mib; /* host memory kept back from tasks; 0 = default */
	const char *cgroup_root;  /* berth's cgroup subtree; NULL = find it */
	enum berth_net_mode network;
	const struct berth_port *ports; /* -p: declared and published ports */
	size_t nports;
	char *const *groups;      /* --security-group ids (NULL-terminated, may be NULL) */
	const struct berth_net_config *net_config; /* required for BERTH_NET_AWSVPC */
	uint64_t max_layer_bytes;
	int stdio[3];
};

/* Create the container record, assemble the root filesystem and start the
 * process.  On success *out owns the record (status RUNNING) and *proc the
 * process.  On failure nothing is left behind: no record, no upper layer, no
 * mount, no process.  *exec_errno as for berth_spawn. */
int berth_ctr_run(const char *root, const struct berth_run_opts *opts, struct berth_ctr **out,
		  struct berth_proc *proc, int *exec_errno, struct berth_err *err);

/* Record the exit of a container started by berth_ctr_run: reads the OOM
 * counter (a container whose process was SIGKILLed after an OOM kill gets
 * the reason BERTH_REASON_OOM), kills whatever is left in its cgroup and
 * removes the cgroup; removes the container when it was started with
 * remove_on_exit. */
int berth_ctr_finish(struct berth_ctr *c, int exit_code, struct berth_err *err);

#define BERTH_REASON_OOM "OutOfMemoryError: Container killed due to memory usage"

/* Sum of the reservations of running containers. */
int berth_ctr_reserved(const char *root, uint32_t *cpu_units, uint32_t *memory_mib,
		       size_t *running, struct berth_err *err);

/* Remove a container's record and directory. */
int berth_ctr_remove(struct berth_ctr *c, struct berth_err *err);

/* Load every container record (sorted by creation time).  Records whose
 * process is gone are reported EXITED with exit_code -1. */
int berth_ctr_list(const char *root, struct berth_ctr ***out, size_t *n, struct berth_err *err);

/* Find one container by full id, unique id prefix, or name. */
int berth_ctr_find(const char *root, const char *ref, struct berth_ctr **out, struct berth_err *err);

/* NULL-terminated list of layer diff_ids used by every container record
 * (for image garbage collection). */
int berth_ctr_layers_in_use(const char *root, char ***out, struct berth_err *err);

/* Options for opening the image store from the scheduler: layers of existing
 * containers are never collected. */
struct berth_store_opts berth_ctr_store_opts(const char *root, uint64_t max_layer_bytes);

const char *berth_ctr_status_name(enum berth_ctr_status s);

/* The record as JSON (what state.json holds; malloc'd, NULL on ENOMEM). */
char *berth_ctr_json(const struct berth_ctr *c, bool pretty);

#endif
