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

static void api_free(struct berth_api_config *a)
{
	free(a->socket);
	free(a->listen_host);
	free(a->credentials_file);
	free(a->region);
	free(a->account);
	memset(a, 0, sizeof(*a));
}

void berth_conf_free(struct berth_conf *c)
{
	free(c->path);
	c->path = NULL;
	berth_net_config_free(&c->net);
	api_free(&c->api);
}

static int api_str(const cJSON *api, const char *key, const char *dflt, const char *where, char **out,
		   struct berth_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(api, key);
	const char *v = dflt;
	if (j && !cJSON_IsNull(j)) {
		if (!cJSON_IsString(j) || !j->valuestring[0] || strlen(j->valuestring) > 1024)
			return berth_err_set(err, 0, "configuration %s: api.%s must be a non-empty string", where, key);
		v = j->valuestring;
	}
	if (v && !(*out = strdup(v)))
		return berth_err_set(err, ENOMEM, "configuration");
	return 0;
}

/* The "api" section (defaults when absent). */
static int parse_api(const cJSON *api, const char *where, struct berth_api_config *a, struct berth_err *err)
{
	static const char *const keys[] = {"socket", "listen", "credentialsFile", "region", "account", NULL};
	if (api && !cJSON_IsNull(api)) {
		if (!cJSON_IsObject(api))
			return berth_err_set(err, 0, "configuration %s: \"api\" must be an object", where);
		const cJSON *it;
		cJSON_ArrayForEach(it, api) {
			bool known = false;
			for (const char *const *k = keys; *k && !known; k++)
				known = strcmp(*k, it->string) == 0;
			if (!known)
				return berth_err_set(err, 0, "configuration %s: api: unknown key \"%s\"", where, it->string);
		}
	}
	_cleanup_free_ char *listen = NULL;
	if (api_str(api, "socket", "/run/berth/berth.sock", where, &a->socket, err) < 0 ||
	    api_str(api, "listen", NULL, where, &listen, err) < 0 ||
	    api_str(api, "credentialsFile", "/etc/berth/credentials", where, &a->credentials_file, err) < 0 ||
	    api_str(api, "region", "us-east-1", where, &a->region, err) < 0 ||
	    api_str(api, "account", "000000000000", where, &a->account, err) < 0)
		return -1;
	if (a->socket[0] != '/' || strlen(a->socket) >= 108)
		return berth_err_set(err, 0, "configuration %s: api.socket \"%s\" must be an absolute path shorter than 108 bytes",
				     where, a->socket);
	size_t rn = strlen(a->region);
	if (rn > 32 || strspn(a->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != rn)
		return berth_err_set(err, 0, "configuration %s: api.region \"%s\" must look like us-east-1", where,
				     a->region);
	if (strlen(a->account) != 12 || strspn(a->account, "0123456789") != 12)
		return berth_err_set(err, 0, "configuration %s: api.account \"%s\" must be 12 digits", where, a->account);
	if (listen) {
		char *colon = strrchr(listen, ':');
		char *end = NULL;
		unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
		if (!colon || !end || *end || port < 1 || port > 65535)
			return berth_err_set(err, 0, "configuration %s: api.listen \"%s\": expected HOST:PORT, e.g. 127.0.0.1:8080",
					     where, listen);
		*colon = '\0';
		if (strcmp(listen, "127.0.0.1") != 0 && strcmp(listen, "localhost") != 0 && strcmp(listen, "::1") != 0 &&
		    strcmp(listen, "[::1]") != 0)
			return berth_err_set(err, 0,
					     "configuration %s: api.listen: berthd listens on loopback only (127.0.0.1 or ::1), "
					     "not \"%s\"",
					     where, listen);
		a->listen_host = TAKE_PTR(listen);
		a->listen_port = (uint16_t)port;
	}
	return 0;
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
			if (parse_api(NULL, p, &c.api, err) < 0) {
				berth_conf_free(&c);
				return -1;
			}
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
		if (strcmp(it->string, "network") != 0 && strcmp(it->string, "api") != 0) {
			berth_err_set(err, 0, "configuration %s: unknown section \"%s\" (known: network, api)", p, it->string);
			goto out;
		}
	}
	if (berth_net_config_parse(cJSON_GetObjectItemCaseSensitive(j, "network"), p, &c.net, err) < 0)
		goto out;
	if (parse_api(cJSON_GetObjectItemCaseSensitive(j, "api"), p, &c.api, err) < 0) {
		berth_conf_free(&c);
		goto out;
	}
	if (!(c.path = strdup(p))) {
		berth_conf_free(&c);
		berth_err_set(err, ENOMEM, "configuration");
		goto out;
	}
	*out = c;
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}
