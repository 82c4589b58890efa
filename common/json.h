/* berth common/ — strict reading of JSON documents that people write.
 *
 * Every error is one line, "<where>: <path>: <what is wrong>", where where
 * names the document ("task definition web.json") and path the field in it
 * ("containerDefinitions[1].portMappings[0].containerPort").  Getters treat
 * a missing member and an explicit null alike ("not given").
 */
#ifndef BERTH_COMMON_JSON_H
#define BERTH_COMMON_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define BERTH_JSON_PATH_MAX 256

/* Parse buf[0..len) as exactly one JSON value (NUL bytes and trailing text
 * are refused).  A syntax error names the byte offset, line and column. */
int berth_json_parse_strict(const char *buf, size_t len, const char *where, cJSON **out, struct berth_err *err);

/* "parent.key" (or "key" when parent is empty), "parent[i]".  Return buf. */
const char *berth_json_path(char buf[BERTH_JSON_PATH_MAX], const char *parent, const char *key);
const char *berth_json_path_index(char buf[BERTH_JSON_PATH_MAX], const char *parent, size_t i);

/* Replace control characters (a "\n" from the input echoed in a message)
 * with '?', so that a message stays one line. */
void berth_json_one_line(char *s);

/* berth_err_set(err, 0, "<where>: <path>: <fmt...>"); an empty path is left
 * out; the message is made one line.  Returns -1. */
int berth_json_err(struct berth_err *err, const char *where, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The member, or NULL when it is missing or null. */
const cJSON *berth_json_member(const cJSON *obj, const char *key);

/* Refuse a member whose name is not in allowed (NULL-terminated), and any
 * name given twice.  The message suggests the right spelling when only the
 * case differs, and ends with hint (may be NULL), e.g. "; see docs/X.md". */
int berth_json_check_keys(const cJSON *obj, const char *const *allowed, const char *where, const char *path,
			  const char *hint, struct berth_err *err);

/* The value j (at path) as an integer in [lo, hi]: a JSON number without a
 * fraction, or a string of decimal digits ("3000", "-1"). */
int berth_json_int(const cJSON *j, const char *where, const char *path, int64_t lo, int64_t hi, int64_t *out,
		   struct berth_err *err);
/* j as a boolean: true/false or the strings "true"/"false". */
int berth_json_bool(const cJSON *j, const char *where, const char *path, bool *out, struct berth_err *err);

/* Members of obj (at path).  *present (may be NULL) says whether it was
 * given; *out is left alone when it was not. */
int berth_json_get_int(const cJSON *obj, const char *key, const char *where, const char *path, int64_t lo,
		       int64_t hi, bool *present, int64_t *out, struct berth_err *err);
int berth_json_get_bool(const cJSON *obj, const char *key, const char *where, const char *path, bool *present,
			bool *out, struct berth_err *err);
/* A string member; *out points into the tree (NULL when not given). */
int berth_json_get_str(const cJSON *obj, const char *key, const char *where, const char *path, const char **out,
		       struct berth_err *err);
/* An array of strings, copied into a NULL-terminated vector (*out NULL when
 * not given; *n optional). */
int berth_json_get_strv(const cJSON *obj, const char *key, const char *where, const char *path, char ***out,
			size_t *n, struct berth_err *err);

#endif
