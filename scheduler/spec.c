/* berth scheduler/ — image config + run options -> process description.
 *
 * Docker's rules, which users know: the command after the image name
 * replaces the image's Cmd; --entrypoint replaces the image's Entrypoint and
 * drops its Cmd; Env entries are overridden key by key; WorkingDir must be
 * absolute. */
#include "scheduler/spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

void berth_ctr_spec_free(struct berth_ctr_spec *s)
{
	berth_strv_free(s->argv);
	berth_strv_free(s->envp);
	free(s->cwd);
	free(s->user);
	s->argv = s->envp = NULL;
	s->cwd = s->user = NULL;
}

static int strv_push(char ***v, size_t *n, const char *s, struct berth_err *err)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));
	if (!nv)
		return berth_err_set(err, ENOMEM, "out of memory");
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return berth_err_set(err, ENOMEM, "out of memory");
	nv[++*n] = NULL;
	return 0;
}

/* Set KEY=VALUE in env, replacing an existing KEY. */
static int env_set(char ***env, size_t *n, const char *kv, struct berth_err *err)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < *n; i++) {
		if (!strncmp((*env)[i], kv, klen) && (*env)[i][klen] == '=') {
			char *dup = strdup(kv);
			if (!dup)
				return berth_err_set(err, ENOMEM, "out of memory");
			free((*env)[i]);
			(*env)[i] = dup;
			return 0;
		}
	}
	return strv_push(env, n, kv, err);
}

static int valid_env_key(const char *kv, size_t klen)
{
	if (klen == 0)
		return 0;
	for (size_t i = 0; i < klen; i++)
		if (kv[i] == '\0' || kv[i] == '\n')
			return 0;
	return 1;
}

int berth_ctr_spec_build(const struct berth_run_opts *o, const struct berth_image *img,
			 struct berth_ctr_spec *out, struct berth_err *err)
{
	struct berth_ctr_spec s = {0};
	size_t n = 0;
	const struct berth_image_config *ic = img ? &img->config : NULL;

	/* argv: entrypoint + cmd */
	char *const *ep = ic ? ic->entrypoint : NULL;
	char *const *cmd = ic ? ic->cmd : NULL;
	if (o->entrypoint) {
		ep = NULL;
		cmd = NULL;
		if (*o->entrypoint && strv_push(&s.argv, &n, o->entrypoint, err) < 0)
			goto fail;
	}
	if (o->cmd && o->cmd[0])
		cmd = o->cmd;
	for (size_t i = 0; ep && ep[i]; i++)
		if (strv_push(&s.argv, &n, ep[i], err) < 0)
			goto fail;
	for (size_t i = 0; cmd && cmd[i]; i++)
		if (strv_push(&s.argv, &n, cmd[i], err) < 0)
			goto fail;
	if (n == 0 || !s.argv[0][0]) {
		berth_err_set(err, 0,
			      "no command to run: image \"%s\" has no Entrypoint or Cmd; "
			      "give the command after the image name",
			      o->image ? o->image : o->rootfs_dir);
		goto fail;
	}

	/* env: image, then overrides */
	n = 0;
	for (size_t i = 0; ic && ic->env && ic->env[i]; i++)
		if (env_set(&s.envp, &n, ic->env[i], err) < 0)
			goto fail;
	for (size_t i = 0; o->env && o->env[i]; i++) {
		const char *kv = o->env[i];
		const char *eq = strchr(kv, '=');
		size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
		if (!valid_env_key(kv, klen)) {
			berth_err_set(err, 0, "--env \"%s\": expected KEY=VALUE", kv);
			goto fail;
		}
		if (!eq) {
			/* "--env KEY" copies the caller's value, or is skipped when unset. */
			const char *hv = getenv(kv);
			if (!hv)
				continue;
			_cleanup_free_ char *full = NULL;
			if (asprintf(&full, "%s=%s", kv, hv) < 0) {
				berth_err_set(err, ENOMEM, "out of memory");
				goto fail;
			}
			if (env_set(&s.envp, &n, full, err) < 0)
				goto fail;
			continue;
		}
		if (env_set(&s.envp, &n, kv, err) < 0)
			goto fail;
	}
	if (!s.envp && !(s.envp = calloc(1, sizeof(char *)))) {
		berth_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}

	const char *cwd = o->workdir ? o->workdir
			  : (ic && ic->working_dir && *ic->working_dir) ? ic->working_dir
									: "/";
	if (cwd[0] != '/') {
		berth_err_set(err, 0, "working directory \"%s\" must be an absolute path%s", cwd,
			      o->workdir ? "" : " (from the image config)");
		goto fail;
	}
	if (!(s.cwd = strdup(cwd))) {
		berth_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	const char *user = o->user ? o->user : (ic && ic->user && *ic->user) ? ic->user : NULL;
	if (user && !(s.user = strdup(user))) {
		berth_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	berth_ctr_spec_free(&s);
	return -1;
}
