/* berth scheduler/ — loading berth's configuration file. */
#include "scheduler/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define CONFIG_MAX (4u << 20)

void berth_conf_free(struct berth_conf *c)
{
	free(c->path);
	c->path = NULL;
	berth_net_config_free(&c->net);
}

int berth_conf_load(const char *path, struct berth_conf *out, struct berth_err *err)
{
	bool explicit = path != NULL;
	const char *p = explicit ? path : BERTH_DEFAULT_CONFIG;
	struct berth_conf c = {0};
	berth_net_config_default(&c.net);
	_cleanup_free_ char *text = NULL;
	if (berth_read_file_at(AT_FDCWD, p, CONFIG_MAX, &text, NULL, err) < 0) {
		if (err->errnum == ENOENT && !explicit) {
			berth_err_clear(err);
			*out = c;
			return 0;
		}
		return berth_err_wrap(err, "configuration");
	}
	cJSON *j = cJSON_ParseWithOpts(text, NULL, true);
	if (!j) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= text ? (size_t)(at - text) : 0;
		return berth_err_set(err, 0, "configuration %s: malformed JSON near byte %zu; fix the file", p, off);
	}
	int rc = -1;
	if (!cJSON_IsObject(j)) {
		berth_err_set(err, 0, "configuration %s: expected a JSON object", p);
		goto out;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, j) {
		if (strcmp(it->string, "network") != 0) {
			berth_err_set(err, 0, "configuration %s: unknown section \"%s\" (known: network)", p, it->string);
			goto out;
		}
	}
	if (berth_net_config_parse(cJSON_GetObjectItemCaseSensitive(j, "network"), p, &c.net, err) < 0)
		goto out;
	if (!(c.path = strdup(p))) {
		berth_net_config_free(&c.net);
		berth_err_set(err, ENOMEM, "configuration");
		goto out;
	}
	*out = c;
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}
