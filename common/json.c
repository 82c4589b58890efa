/* berth common/ — strict reading of JSON documents that people write. */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"

int berth_json_parse_strict(const char *buf, size_t len, const char *where, cJSON **out, struct berth_err *err)
{
	if (!buf || len == 0)
		return berth_err_set(err, 0, "%s: empty input (expected a JSON object)", where);
	const char *nul = memchr(buf, '\0', len);
	const char *end = NULL;
	cJSON *j = nul ? NULL : cJSON_ParseWithLengthOpts(buf, len, &end, false);
	const char *bad = nul;
	if (j) {
		/* Only white space may follow the value. */
		const char *p = end;
		while (p < buf + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p == buf + len) {
			*out = j;
			return 0;
		}
		cJSON_Delete(j);
		bad = p;
	} else if (!bad) {
		bad = end && end >= buf && end <= buf + len ? end : buf;
	}
	size_t off = (size_t)(bad - buf), line = 1, col = 1;
	for (const char *p = buf; p < bad; p++) {
		if (*p == '\n')
			line++, col = 1;
		else
			col++;
	}
	if (nul && bad == nul)
		return berth_err_set(err, 0, "%s: invalid JSON: NUL byte at byte offset %zu (line %zu, column %zu)", where,
				     off, line, col);
	if (j)
		return berth_err_set(err, 0, "%s: invalid JSON: unexpected text after the value at byte offset %zu "
				     "(line %zu, column %zu)", where, off, line, col);
	return berth_err_set(err, 0, "%s: invalid JSON near byte offset %zu (line %zu, column %zu)", where, off, line,
			     col);
}

const char *berth_json_path(char buf[BERTH_JSON_PATH_MAX], const char *parent, const char *key)
{
	if (parent && parent[0])
		snprintf(buf, BERTH_JSON_PATH_MAX, "%s.%s", parent, key);
	else
		snprintf(buf, BERTH_JSON_PATH_MAX, "%s", key);
	return buf;
}

const char *berth_json_path_index(char buf[BERTH_JSON_PATH_MAX], const char *parent, size_t i)
{
	snprintf(buf, BERTH_JSON_PATH_MAX, "%s[%zu]", parent ? parent : "", i);
	return buf;
}

void berth_json_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int berth_json_err(struct berth_err *err, const char *where, const char *path, const char *fmt, ...)
{
	char msg[BERTH_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path && path[0])
		berth_err_set(err, 0, "%s: %s: %s", where, path, msg);
	else
		berth_err_set(err, 0, "%s: %s", where, msg);
	if (err)
		berth_json_one_line(err->msg);
	return -1;
}

const cJSON *berth_json_member(const cJSON *obj, const char *key)
{
	const cJSON *j = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	return j && !cJSON_IsNull(j) ? j : NULL;
}

int berth_json_check_keys(const cJSON *obj, const char *const *allowed, const char *where, const char *path,
			  const char *hint, struct berth_err *err)
{
	const cJSON *it;
	char p[BERTH_JSON_PATH_MAX];
	cJSON_ArrayForEach(it, obj) {
		const char *k = it->string ? it->string : "";
		for (const cJSON *prev = obj->child; prev != it; prev = prev->next)
			if (prev->string && strcmp(prev->string, k) == 0)
				return berth_json_err(err, where, berth_json_path(p, path, k), "given twice");
		bool ok = false;
		const char *near = NULL;
		for (const char *const *a = allowed; *a && !ok; a++) {
			ok = strcmp(*a, k) == 0;
			if (!ok && strcasecmp(*a, k) == 0)
				near = *a;
		}
		if (ok)
			continue;
		if (near)
			return berth_json_err(err, where, berth_json_path(p, path, k), "unknown field (did you mean \"%s\"?)%s",
					      near, hint ? hint : "");
		return berth_json_err(err, where, berth_json_path(p, path, k), "unknown field%s", hint ? hint : "");
	}
	return 0;
}

/* A short, printable rendering of a value for messages. */
static void show(const cJSON *j, char *buf, size_t n)
{
	if (cJSON_IsString(j)) {
		snprintf(buf, n, "\"%.40s%s\"", j->valuestring, strlen(j->valuestring) > 40 ? "..." : "");
	} else if (cJSON_IsNumber(j)) {
		snprintf(buf, n, "%.17g", j->valuedouble);
	} else if (cJSON_IsBool(j)) {
		snprintf(buf, n, "%s", cJSON_IsTrue(j) ? "true" : "false");
	} else if (cJSON_IsArray(j)) {
		snprintf(buf, n, "an array");
	} else if (cJSON_IsObject(j)) {
		snprintf(buf, n, "an object");
	} else {
		snprintf(buf, n, "null");
	}
}

int berth_json_int(const cJSON *j, const char *where, const char *path, int64_t lo, int64_t hi, int64_t *out,
		   struct berth_err *err)
{
	char shown[64];
	show(j, shown, sizeof(shown));
	int64_t v;
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (!(d >= -9.0e15 && d <= 9.0e15) || d != (double)(int64_t)d)
			return berth_json_err(err, where, path, "must be a whole number from %" PRId64 " to %" PRId64 ", not %s",
					      lo, hi, shown);
		v = (int64_t)d;
	} else if (cJSON_IsString(j)) {
		const char *s = j->valuestring;
		const char *d = s[0] == '-' ? s + 1 : s;
		if (!d[0] || strspn(d, "0123456789") != strlen(d) || strlen(d) > 15)
			return berth_json_err(err, where, path, "must be a whole number from %" PRId64 " to %" PRId64 ", not %s",
					      lo, hi, shown);
		v = strtoll(s, NULL, 10);
	} else {
		return berth_json_err(err, where, path, "must be a number, not %s", shown);
	}
	if (v < lo || v > hi)
		return berth_json_err(err, where, path, "must be %" PRId64 "-%" PRId64 ", not %" PRId64, lo, hi, v);
	*out = v;
	return 0;
}

int berth_json_bool(const cJSON *j, const char *where, const char *path, bool *out, struct berth_err *err)
{
	if (cJSON_IsBool(j)) {
		*out = cJSON_IsTrue(j);
		return 0;
	}
	if (cJSON_IsString(j) && (!strcmp(j->valuestring, "true") || !strcmp(j->valuestring, "false"))) {
		*out = j->valuestring[0] == 't';
		return 0;
	}
	char shown[64];
	show(j, shown, sizeof(shown));
	return berth_json_err(err, where, path, "must be true or false, not %s", shown);
}

int berth_json_get_int(const cJSON *obj, const char *key, const char *where, const char *path, int64_t lo,
		       int64_t hi, bool *present, int64_t *out, struct berth_err *err)
{
	const cJSON *j = berth_json_member(obj, key);
	if (present)
		*present = j != NULL;
	if (!j)
		return 0;
	char p[BERTH_JSON_PATH_MAX];
	return berth_json_int(j, where, berth_json_path(p, path, key), lo, hi, out, err);
}

int berth_json_get_bool(const cJSON *obj, const char *key, const char *where, const char *path, bool *present,
			bool *out, struct berth_err *err)
{
	const cJSON *j = berth_json_member(obj, key);
	if (present)
		*present = j != NULL;
	if (!j)
		return 0;
	char p[BERTH_JSON_PATH_MAX];
	return berth_json_bool(j, where, berth_json_path(p, path, key), out, err);
}

int berth_json_get_str(const cJSON *obj, const char *key, const char *where, const char *path, const char **out,
		       struct berth_err *err)
{
	const cJSON *j = berth_json_member(obj, key);
	*out = NULL;
	if (!j)
		return 0;
	if (!cJSON_IsString(j)) {
		char p[BERTH_JSON_PATH_MAX], shown[64];
		show(j, shown, sizeof(shown));
		return berth_json_err(err, where, berth_json_path(p, path, key), "must be a string, not %s", shown);
	}
	*out = j->valuestring;
	return 0;
}

int berth_json_get_strv(const cJSON *obj, const char *key, const char *where, const char *path, char ***out,
			size_t *n, struct berth_err *err)
{
	const cJSON *j = berth_json_member(obj, key);
	char p[BERTH_JSON_PATH_MAX];
	*out = NULL;
	if (n)
		*n = 0;
	if (!j)
		return 0;
	berth_json_path(p, path, key);
	if (!cJSON_IsArray(j))
		return berth_json_err(err, where, p, "must be an array of strings");
	size_t cnt = (size_t)cJSON_GetArraySize(j), i = 0;
	_cleanup_strv_ char **v = calloc(cnt + 1, sizeof(char *));
	if (!v)
		return berth_err_set(err, ENOMEM, "%s: %s", where, p);
	const cJSON *it;
	cJSON_ArrayForEach(it, j) {
		if (!cJSON_IsString(it)) {
			char ip[BERTH_JSON_PATH_MAX], shown[64];
			show(it, shown, sizeof(shown));
			return berth_json_err(err, where, berth_json_path_index(ip, p, i), "must be a string, not %s", shown);
		}
		if (!(v[i++] = strdup(it->valuestring)))
			return berth_err_set(err, ENOMEM, "%s: %s", where, p);
	}
	*out = TAKE_PTR(v);
	if (n)
		*n = cnt;
	return 0;
}
