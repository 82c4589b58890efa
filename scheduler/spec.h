/* berth scheduler/ — merge an image's config with `berth run` options into
 * the process description the runtime needs (argv, env, cwd, user). */
#ifndef BERTH_SCHEDULER_SPEC_H
#define BERTH_SCHEDULER_SPEC_H

#include "common/err.h"
#include "images/images.h"
#include "scheduler/container.h"

struct berth_ctr_spec {
	char **argv;       /* Entrypoint + Cmd after overrides */
	char **envp;       /* image Env, then overrides (later keys replace earlier) */
	char *cwd;         /* absolute */
	char *user;        /* may be NULL (root) */
	char hostname[65]; /* filled by the caller */
};

/* img may be NULL (plain rootfs: only the options apply). */
int berth_ctr_spec_build(const struct berth_run_opts *o, const struct berth_image *img,
			 struct berth_ctr_spec *out, struct berth_err *err);
void berth_ctr_spec_free(struct berth_ctr_spec *s);

#endif
