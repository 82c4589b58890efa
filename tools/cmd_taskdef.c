/* berth CLI — `berth taskdef register|ls|describe|deregister|families` and
 * `berth clusters`: berthd's ECS API from the command line (tools/client.h).
 *
 * Every command takes --output table|json: tables (or short lines) for
 * people, JSON for scripts — the API's response, with every page of a list
 * gathered into one array.  Exit codes are client.h's: 0, 1 (refused), 2
 * (usage), 125 (berth or berthd failed).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "scheduler/api.h"
#include "tools/cli.h"
#include "tools/client.h"

#define MAX_PAGES 100000 /* a daemon that never stops paging is a bug */

enum output { OUT_TABLE, OUT_JSON };

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}
#define _cleanup_json_ __attribute__((cleanup(cjson_deletep)))

static void taskdef_usage(FILE *f)
{
	fprintf(f,
		"usage: berth taskdef COMMAND [OPTIONS]\n"
		"\n"
		"Task definitions in berthd's registry (ECS's API; see docs/TASKDEF.md).\n"
		"\n"
		"commands:\n"
		"  register FILE [--tag KEY=VALUE]...   register a task definition (FILE: its JSON as\n"
		"                                       written for ECS, or describe-task-definition's\n"
		"                                       output; - reads stdin); prints FAMILY:REVISION and ARN\n"
		"  ls [--family-prefix FAMILY] [--status ACTIVE|INACTIVE] [--sort ASC|DESC]\n"
		"     [--page-size N]                   list revisions (every page): FAMILY REVISION STATUS ARN\n"
		"  describe REF                         a revision's taskDefinition as JSON\n"
		"  deregister REF                       mark a revision INACTIVE\n"
		"  families [--family-prefix PREFIX] [--status ACTIVE|INACTIVE|ALL]\n"
		"                                       list family names\n"
		"\n"
		"REF is FAMILY (its latest ACTIVE revision), FAMILY:REVISION or the revision's ARN.\n"
		"Every command takes --output table|json (default table; json: the API's response,\n"
		"every page of a list in one array).\n"
		"\n"
		"exit status: 0 done; 1 refused by berthd (printed as 'berth: <Type>: <message>') or a\n"
		"bad FILE; 2 usage; 125 berth or berthd failed (not running, timeout, ServerException).\n");
}

static bool is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help");
}

/* --page-size N (1-100); 0 keeps the server's default. */
static int parse_page(const char *cmd, const char *arg, long *page)
{
	char *end;
	*page = strtol(arg, &end, 10);
	if (*end || end == arg || *page < 1 || *page > 100) {
		cli_usage_error(cmd, "--page-size %s: expected 1-100", arg);
		return -1;
	}
	return 0;
}

static int parse_output(const char *cmd, const char *v, enum output *out)
{
	if (!strcmp(v, "table"))
		*out = OUT_TABLE;
	else if (!strcmp(v, "json"))
		*out = OUT_JSON;
	else
		return cli_usage_error(cmd, "--output %s: expected table or json", v);
	return 0;
}

/* v upper-cased in place when it is one of names (NULL-terminated). */
static bool one_of(char *v, const char *const *names)
{
	for (char *p = v; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	for (; *names; names++)
		if (!strcmp(v, *names))
			return true;
	return false;
}

static void put_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		default:
			if (*p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

/* j indented by four spaces a level (as the AWS CLI prints). */
static int put_json(const cJSON *j, int depth, struct berth_err *err)
{
	bool obj = cJSON_IsObject(j);
	if (!obj && !cJSON_IsArray(j)) {
		_cleanup_free_ char *s = cJSON_PrintUnformatted(j);
		if (!s)
			return berth_err_set(err, ENOMEM, "print JSON");
		fputs(s, stdout);
		return 0;
	}
	if (!j->child) {
		fputs(obj ? "{}" : "[]", stdout);
		return 0;
	}
	putchar(obj ? '{' : '[');
	for (const cJSON *it = j->child; it; it = it->next) {
		printf("\n%*s", (depth + 1) * 4, "");
		if (obj) {
			put_string(it->string ? it->string : "");
			fputs(": ", stdout);
		}
		if (put_json(it, depth + 1, err) < 0)
			return -1;
		if (it->next)
			putchar(',');
	}
	printf("\n%*s%c", depth * 4, "", obj ? '}' : ']');
	return 0;
}

static int print_json(const cJSON *j, struct berth_err *err)
{
	if (put_json(j, 0, err) < 0)
		return -1;
	putchar('\n');
	if (fflush(stdout) == EOF || ferror(stdout))
		return berth_err_set(err, errno, "write output");
	return 0;
}

/* {"<key>": *list} printed as JSON; takes *list. */
static int print_list_json(const char *key, cJSON **list, struct berth_err *err)
{
	_cleanup_json_ cJSON *all = cJSON_CreateObject();
	if (!all || !cJSON_AddItemToObject(all, key, *list))
		return berth_err_set(err, ENOMEM, "output");
	*list = NULL;
	return print_json(all, err);
}

/* An exit status for a failure of berth's own (not berthd's). */
static int own_failure(struct berth_err *err)
{
	return cli_fail(err, BERTH_EXIT_FAIL);
}

static int malformed(struct berth_err *err, const char *action, const char *what)
{
	return berth_err_set(err, 0, "berthd's answer to %s is malformed: %s", action, what);
}

/* Call a List action until its nextToken runs out, gathering the string
 * items of key from every page into *all.  req (may be modified) holds the
 * filters. */
static int list_all(struct cli *c, const char *action, cJSON *req, const char *key, cJSON **all,
		    struct berth_client_error *e, struct berth_err *err)
{
	_cleanup_json_ cJSON *acc = cJSON_CreateArray();
	_cleanup_free_ char *prev = NULL;
	if (!acc)
		return berth_err_set(err, ENOMEM, "%s", action);
	for (int page = 0;; page++) {
		if (page == MAX_PAGES)
			return berth_err_set(err, 0, "%s: berthd is still paging after %d pages", action, MAX_PAGES);
		_cleanup_json_ cJSON *resp = NULL;
		if (berth_client_call(c, action, req, &resp, e, err) < 0)
			return -1;
		cJSON *items = cJSON_GetObjectItemCaseSensitive(resp, key);
		if (items && !cJSON_IsNull(items) && !cJSON_IsArray(items))
			return malformed(err, action, key);
		while (items && cJSON_IsArray(items) && cJSON_GetArraySize(items) > 0) {
			cJSON *it = cJSON_DetachItemFromArray(items, 0);
			if (!cJSON_IsString(it)) {
				cJSON_Delete(it);
				return malformed(err, action, key);
			}
			cJSON_AddItemToArray(acc, it);
		}
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(resp, "nextToken");
		if (!cJSON_IsString(tok) || !tok->valuestring[0])
			break;
		if (prev && !strcmp(prev, tok->valuestring))
			return malformed(err, action, "the same nextToken twice");
		free(prev);
		if (!(prev = strdup(tok->valuestring)))
			return berth_err_set(err, ENOMEM, "%s", action);
		cJSON_DeleteItemFromObjectCaseSensitive(req, "nextToken");
		if (!cJSON_AddStringToObject(req, "nextToken", prev))
			return berth_err_set(err, ENOMEM, "%s", action);
	}
	*all = TAKE_PTR(acc);
	return 0;
}

/* "arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>" into
 * family (copied) and revision; false when arn is not shaped so. */
static bool split_td_arn(const char *arn, char *family, size_t flen, const char **revision)
{
	const char *p = strstr(arn, ":task-definition/");
	if (!p)
		return false;
	p += strlen(":task-definition/");
	const char *colon = strrchr(p, ':');
	if (!colon || colon == p || !colon[1])
		return false;
	snprintf(family, flen, "%.*s", (int)(colon - p), p);
	*revision = colon + 1;
	return true;
}

/* The contents of path ("-": stdin), at most max bytes; errors start with
 * where. */
static int read_input(const char *path, const char *where, size_t max, char **out, size_t *len,
		      struct berth_err *err)
{
	bool is_stdin = !strcmp(path, "-");
	_cleanup_close_ int fd = is_stdin ? fcntl(0, F_DUPFD_CLOEXEC, 3) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, errno, "%s", where);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return berth_err_set(err, EISDIR, "%s", where);
	_cleanup_free_ char *buf = malloc(max + 1);
	if (!buf)
		return berth_err_set(err, ENOMEM, "%s", where);
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return berth_err_set(err, errno, "%s: read", where);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			return berth_err_set(err, 0, "%s: larger than %zu bytes, more than berthd accepts", where, max);
	}
	buf[n] = '\0';
	*out = TAKE_PTR(buf);
	*len = n;
	return 0;
}

/* Add (or replace) the tag key=value in the definition's tags: beside
 * describe output's "taskDefinition" unless the tags are inside it. */
static int add_tag(cJSON *root, const char *where, const char *key, const char *value, struct berth_err *err)
{
	cJSON *target = root;
	cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "taskDefinition");
	if (cJSON_IsObject(inner)) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(inner, "tags");
		if (cJSON_IsArray(it) && cJSON_GetArraySize(it) > 0)
			target = inner;
	}
	cJSON *tags = cJSON_GetObjectItemCaseSensitive(target, "tags");
	if (!tags || cJSON_IsNull(tags)) {
		cJSON_DeleteItemFromObjectCaseSensitive(target, "tags");
		if (!(tags = cJSON_AddArrayToObject(target, "tags")))
			return berth_err_set(err, ENOMEM, "tags");
	} else if (!cJSON_IsArray(tags)) {
		return berth_err_set(err, 0, "%s: %stags: must be an array to add --tag %s", where,
				     target == root ? "" : "taskDefinition.", key);
	}
	cJSON *it;
	cJSON_ArrayForEach(it, tags) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");
		if (cJSON_IsString(k) && !strcmp(k->valuestring, key)) {
			cJSON_DeleteItemFromObjectCaseSensitive(it, "value");
			return cJSON_AddStringToObject(it, "value", value) ? 0 : berth_err_set(err, ENOMEM, "tags");
		}
	}
	cJSON *tag = cJSON_CreateObject();
	if (!tag || !cJSON_AddStringToObject(tag, "key", key) || !cJSON_AddStringToObject(tag, "value", value)) {
		cJSON_Delete(tag);
		return berth_err_set(err, ENOMEM, "tags");
	}
	cJSON_AddItemToArray(tags, tag);
	return 0;
}

/* ---- taskdef register ------------------------------------------------- */

static int td_register(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"tag", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *cmd = "taskdef register";
	enum output out = OUT_TABLE;
	_cleanup_free_ char **tags = calloc((size_t)argc + 1, sizeof(char *));
	size_t ntags = 0;
	if (!tags)
		return BERTH_EXIT_FAIL;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return cli_usage_error(cmd, "--tag %s: expected KEY=VALUE", optarg);
			tags[ntags++] = optarg;
			break;
		case 'o':
			if (parse_output(cmd, optarg, &out))
				return 2;
			break;
		case 'h':
			printf("usage: berth taskdef register FILE [--tag KEY=VALUE]... [--output table|json]\n");
			return 0;
		default: return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "expected one FILE (a task definition's JSON, or - for stdin)");
	const char *path = argv[optind];
	const char *name = !strcmp(path, "-") ? "stdin" : path;
	char where[512];
	snprintf(where, sizeof(where), "task definition %s", name);

	struct berth_err err = {0};
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (read_input(path, where, BERTH_API_MAX_BODY, &text, &len, &err) < 0)
		return cli_fail(&err, 1);
	_cleanup_json_ cJSON *td = NULL;
	if (berth_json_parse_strict(text, len, where, &td, &err) < 0)
		return cli_fail(&err, 1);
	if (!cJSON_IsObject(td)) {
		berth_err_set(&err, 0, "%s: expected a JSON object (a task definition)", where);
		return cli_fail(&err, 1);
	}
	for (size_t i = 0; i < ntags; i++) {
		char *eq = strchr(tags[i], '=');
		*eq = '\0';
		int r = add_tag(td, where, tags[i], eq + 1, &err);
		*eq = '=';
		if (r < 0)
			return cli_fail(&err, 1);
	}

	struct berth_client_error e;
	_cleanup_json_ cJSON *resp = NULL;
	if (berth_client_call(c, "RegisterTaskDefinition", td, &resp, &e, &err) < 0) {
		/* The validator's "task definition: <field>: ..." names the file here. */
		static const char prefix[] = "task definition: ";
		if (e.type[0] && !strncmp(e.message, prefix, sizeof(prefix) - 1))
			berth_err_set(&err, 0, "%s: %s: %s", e.type, where, e.message + sizeof(prefix) - 1);
		return berth_client_exit(&e, &err);
	}
	if (out == OUT_JSON)
		return print_json(resp, &err) < 0 ? own_failure(&err) : 0;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(resp, "taskDefinition");
	const cJSON *fam = cJSON_GetObjectItemCaseSensitive(d, "family");
	const cJSON *rev = cJSON_GetObjectItemCaseSensitive(d, "revision");
	const cJSON *arn = cJSON_GetObjectItemCaseSensitive(d, "taskDefinitionArn");
	if (!cJSON_IsString(fam) || !cJSON_IsNumber(rev) || !cJSON_IsString(arn)) {
		malformed(&err, "RegisterTaskDefinition", "no taskDefinition family, revision and ARN");
		return own_failure(&err);
	}
	printf("registered %s:%d\n%s\n", fam->valuestring, rev->valueint, arn->valuestring);
	return 0;
}

/* ---- taskdef ls ------------------------------------------------------- */

static int td_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"family-prefix", required_argument, NULL, 'f'},
		{"status", required_argument, NULL, 's'},
		{"sort", required_argument, NULL, 'S'},
		{"page-size", required_argument, NULL, 'n'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static const char *const statuses[] = {"ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS", NULL};
	static const char *const sorts[] = {"ASC", "DESC", NULL};
	const char *cmd = "taskdef ls";
	enum output out = OUT_TABLE;
	const char *family = NULL;
	char *status = NULL, *sort = NULL;
	long page = 0;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "f:s:S:n:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'f': family = optarg; break;
		case 's':
			status = optarg;
			if (!one_of(status, statuses))
				return cli_usage_error(cmd, "--status %s: expected ACTIVE or INACTIVE", optarg);
			break;
		case 'S':
			sort = optarg;
			if (!one_of(sort, sorts))
				return cli_usage_error(cmd, "--sort %s: expected ASC or DESC", optarg);
			break;
		case 'n':
			if (parse_page(cmd, optarg, &page) < 0)
				return 2;
			break;
		case 'o':
			if (parse_output(cmd, optarg, &out))
				return 2;
			break;
		case 'h':
			printf("usage: berth taskdef ls [--family-prefix FAMILY] [--status ACTIVE|INACTIVE] "
			       "[--sort ASC|DESC] [--page-size N] [--output table|json]\n");
			return 0;
		default: return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

	struct berth_err err = {0};
	_cleanup_json_ cJSON *req = cJSON_CreateObject();
	if (!req || (family && !cJSON_AddStringToObject(req, "familyPrefix", family)) ||
	    (status && !cJSON_AddStringToObject(req, "status", status)) ||
	    (sort && !cJSON_AddStringToObject(req, "sort", sort)) ||
	    (page && !cJSON_AddNumberToObject(req, "maxResults", (double)page))) {
		berth_err_set(&err, ENOMEM, "request");
		return own_failure(&err);
	}
	struct berth_client_error e;
	_cleanup_json_ cJSON *arns = NULL;
	if (list_all(c, "ListTaskDefinitions", req, "taskDefinitionArns", &arns, &e, &err) < 0)
		return berth_client_exit(&e, &err);
	if (out == OUT_JSON)
		return print_list_json("taskDefinitionArns", &arns, &err) < 0 ? own_failure(&err) : 0;
	/* Listing by status: every row has the status asked for. */
	const char *st = status ? status : "ACTIVE";
	int fw = (int)strlen("FAMILY"), rw = (int)strlen("REVISION"), sw = (int)strlen("STATUS");
	if ((int)strlen(st) > sw)
		sw = (int)strlen(st);
	const cJSON *it;
	char fam[512];
	const char *rev;
	cJSON_ArrayForEach(it, arns) {
		if (split_td_arn(it->valuestring, fam, sizeof(fam), &rev)) {
			if ((int)strlen(fam) > fw)
				fw = (int)strlen(fam);
			if ((int)strlen(rev) > rw)
				rw = (int)strlen(rev);
		}
	}
	printf("%-*s  %-*s  %-*s  %s\n", fw, "FAMILY", rw, "REVISION", sw, "STATUS", "ARN");
	cJSON_ArrayForEach(it, arns) {
		if (!split_td_arn(it->valuestring, fam, sizeof(fam), &rev)) {
			snprintf(fam, sizeof(fam), "?");
			rev = "?";
		}
		printf("%-*s  %-*s  %-*s  %s\n", fw, fam, rw, rev, sw, st, it->valuestring);
	}
	return 0;
}

/* ---- taskdef describe / deregister -------------------------------------- */

static int td_one_ref(struct cli *c, int argc, char **argv, bool deregister)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *cmd = deregister ? "taskdef deregister" : "taskdef describe";
	enum output out = OUT_TABLE;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			if (parse_output(cmd, optarg, &out))
				return 2;
			break;
		case 'h':
			printf("usage: berth %s %s [--output table|json]\n", cmd,
			       deregister ? "FAMILY:REVISION|ARN" : "FAMILY|FAMILY:REVISION|ARN");
			return 0;
		default: return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, deregister ? "expected one FAMILY:REVISION (or ARN)"
						       : "expected one REF: FAMILY, FAMILY:REVISION or ARN");
	const char *ref = argv[optind];
	struct berth_err err = {0};
	_cleanup_json_ cJSON *req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "taskDefinition", ref)) {
		berth_err_set(&err, ENOMEM, "request");
		return own_failure(&err);
	}
	if (!deregister) {
		cJSON *inc = cJSON_AddArrayToObject(req, "include");
		cJSON *tags = cJSON_CreateString("TAGS");
		if (!inc || !tags) {
			cJSON_Delete(tags);
			berth_err_set(&err, ENOMEM, "request");
			return own_failure(&err);
		}
		cJSON_AddItemToArray(inc, tags);
	}
	const char *action = deregister ? "DeregisterTaskDefinition" : "DescribeTaskDefinition";
	struct berth_client_error e;
	_cleanup_json_ cJSON *resp = NULL;
	if (berth_client_call(c, action, req, &resp, &e, &err) < 0)
		return berth_client_exit(&e, &err);
	if (out == OUT_JSON)
		return print_json(resp, &err) < 0 ? own_failure(&err) : 0;
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(resp, "taskDefinition");
	if (!cJSON_IsObject(d)) {
		malformed(&err, action, "no taskDefinition");
		return own_failure(&err);
	}
	if (!deregister)
		return print_json(d, &err) < 0 ? own_failure(&err) : 0;
	const cJSON *fam = cJSON_GetObjectItemCaseSensitive(d, "family");
	const cJSON *rev = cJSON_GetObjectItemCaseSensitive(d, "revision");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(d, "status");
	if (!cJSON_IsString(fam) || !cJSON_IsNumber(rev)) {
		malformed(&err, action, "no taskDefinition family and revision");
		return own_failure(&err);
	}
	printf("deregistered %s:%d (%s)\n", fam->valuestring, rev->valueint,
	       cJSON_IsString(st) ? st->valuestring : "INACTIVE");
	return 0;
}

/* ---- taskdef families ------------------------------------------------- */

static int td_families(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"family-prefix", required_argument, NULL, 'f'},
		{"status", required_argument, NULL, 's'},
		{"page-size", required_argument, NULL, 'n'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	static const char *const statuses[] = {"ACTIVE", "INACTIVE", "ALL", NULL};
	const char *cmd = "taskdef families";
	enum output out = OUT_TABLE;
	const char *prefix = NULL;
	char *status = NULL;
	long page = 0;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "f:s:n:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'f': prefix = optarg; break;
		case 's':
			status = optarg;
			if (!one_of(status, statuses))
				return cli_usage_error(cmd, "--status %s: expected ACTIVE, INACTIVE or ALL", optarg);
			break;
		case 'n':
			if (parse_page(cmd, optarg, &page) < 0)
				return 2;
			break;
		case 'o':
			if (parse_output(cmd, optarg, &out))
				return 2;
			break;
		case 'h':
			printf("usage: berth taskdef families [--family-prefix PREFIX] [--status ACTIVE|INACTIVE|ALL] "
			       "[--page-size N] [--output table|json]\n");
			return 0;
		default: return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	struct berth_err err = {0};
	_cleanup_json_ cJSON *req = cJSON_CreateObject();
	if (!req || (prefix && !cJSON_AddStringToObject(req, "familyPrefix", prefix)) ||
	    (status && !cJSON_AddStringToObject(req, "status", status)) ||
	    (page && !cJSON_AddNumberToObject(req, "maxResults", (double)page))) {
		berth_err_set(&err, ENOMEM, "request");
		return own_failure(&err);
	}
	struct berth_client_error e;
	_cleanup_json_ cJSON *fams = NULL;
	if (list_all(c, "ListTaskDefinitionFamilies", req, "families", &fams, &e, &err) < 0)
		return berth_client_exit(&e, &err);
	if (out == OUT_JSON)
		return print_list_json("families", &fams, &err) < 0 ? own_failure(&err) : 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, fams)
		printf("%s\n", it->valuestring);
	return 0;
}

int cmd_taskdef(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		taskdef_usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (is_help(sub)) {
		taskdef_usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "register"))
		return td_register(c, argc - 1, argv + 1);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return td_ls(c, argc - 1, argv + 1);
	if (!strcmp(sub, "describe"))
		return td_one_ref(c, argc - 1, argv + 1, false);
	if (!strcmp(sub, "deregister"))
		return td_one_ref(c, argc - 1, argv + 1, true);
	if (!strcmp(sub, "families"))
		return td_families(c, argc - 1, argv + 1);
	return cli_usage_error("taskdef", "unknown command '%s'", sub);
}

/* ---- clusters --------------------------------------------------------- */

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(j) ? j->valuestring : "";
}

static int int_of(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(j) ? j->valueint : 0;
}

int cmd_clusters(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *cmd = "clusters";
	enum output out = OUT_TABLE;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			if (parse_output(cmd, optarg, &out))
				return 2;
			break;
		case 'h':
			printf("usage: berth clusters [--output table|json]\n"
			       "\n"
			       "berthd's clusters (ListClusters + DescribeClusters): NAME STATUS RUNNING PENDING "
			       "SERVICES ARN.\n");
			return 0;
		default: return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	struct berth_err err = {0};
	struct berth_client_error e;
	_cleanup_json_ cJSON *req = cJSON_CreateObject();
	_cleanup_json_ cJSON *arns = NULL;
	if (!req) {
		berth_err_set(&err, ENOMEM, "request");
		return own_failure(&err);
	}
	if (list_all(c, "ListClusters", req, "clusterArns", &arns, &e, &err) < 0)
		return berth_client_exit(&e, &err);

	/* DescribeClusters takes up to 100 clusters a call. */
	_cleanup_json_ cJSON *all = cJSON_CreateObject();
	cJSON *clusters = all ? cJSON_AddArrayToObject(all, "clusters") : NULL;
	cJSON *failures = all ? cJSON_AddArrayToObject(all, "failures") : NULL;
	if (!clusters || !failures) {
		berth_err_set(&err, ENOMEM, "output");
		return own_failure(&err);
	}
	while (cJSON_GetArraySize(arns) > 0) {
		_cleanup_json_ cJSON *dreq = cJSON_CreateObject();
		cJSON *batch = dreq ? cJSON_AddArrayToObject(dreq, "clusters") : NULL;
		if (!batch) {
			berth_err_set(&err, ENOMEM, "request");
			return own_failure(&err);
		}
		for (int i = 0; i < 100 && cJSON_GetArraySize(arns) > 0; i++)
			cJSON_AddItemToArray(batch, cJSON_DetachItemFromArray(arns, 0));
		_cleanup_json_ cJSON *resp = NULL;
		if (berth_client_call(c, "DescribeClusters", dreq, &resp, &e, &err) < 0)
			return berth_client_exit(&e, &err);
		const char *keys[] = {"clusters", "failures"};
		cJSON *into[] = {clusters, failures};
		for (int k = 0; k < 2; k++) {
			cJSON *a = cJSON_GetObjectItemCaseSensitive(resp, keys[k]);
			if (a && !cJSON_IsNull(a) && !cJSON_IsArray(a)) {
				malformed(&err, "DescribeClusters", keys[k]);
				return own_failure(&err);
			}
			while (cJSON_IsArray(a) && cJSON_GetArraySize(a) > 0)
				cJSON_AddItemToArray(into[k], cJSON_DetachItemFromArray(a, 0));
		}
	}
	if (out == OUT_JSON)
		return print_json(all, &err) < 0 ? own_failure(&err) : 0;
	int nw = (int)strlen("NAME"), sw = (int)strlen("STATUS");
	const cJSON *it;
	cJSON_ArrayForEach(it, clusters) {
		if ((int)strlen(str_of(it, "clusterName")) > nw)
			nw = (int)strlen(str_of(it, "clusterName"));
		if ((int)strlen(str_of(it, "status")) > sw)
			sw = (int)strlen(str_of(it, "status"));
	}
	printf("%-*s  %-*s  %7s  %7s  %8s  %s\n", nw, "NAME", sw, "STATUS", "RUNNING", "PENDING", "SERVICES", "ARN");
	cJSON_ArrayForEach(it, clusters)
		printf("%-*s  %-*s  %7d  %7d  %8d  %s\n", nw, str_of(it, "clusterName"), sw, str_of(it, "status"),
		       int_of(it, "runningTasksCount"), int_of(it, "pendingTasksCount"),
		       int_of(it, "activeServicesCount"), str_of(it, "clusterArn"));
	int rc = 0;
	cJSON_ArrayForEach(it, failures) {
		fprintf(stderr, "berth: %s: %s\n", str_of(it, "arn"), str_of(it, "reason"));
		rc = 1;
	}
	return rc;
}
