/* berth scheduler/ — the task-definition registry (see registry.h).
 *
 * Error types, ECS's where known:
 *   ClientException: an invalid task definition (the parser's one-line
 *     message), a well-formed reference that names nothing ("Unable to
 *     describe task definition." / "The specified task definition does not
 *     exist."), a revision missing in DeregisterTaskDefinition, a full
 *     registry or family;
 *   InvalidParameterException: the request's own shape: unknown parameter,
 *     wrong JSON type, missing required parameter, malformed reference
 *     ("fam:abc", revision 0, an ARN that is not a task definition's), bad
 *     enum value, maxResults outside 1-100, a nextToken that is not ours;
 *   ServerException: the state directory failed us.
 *
 * RegisterTaskDefinition takes exactly what berth_taskdef_parse takes
 * (docs/TASKDEF.md): unknown keys are refused by it, describe output's
 * wrapper and read-only keys are dropped as it documents.  The other actions
 * refuse unknown parameters; a null parameter is "not given", and so is an
 * empty nextToken or familyPrefix.  ListTaskDefinitions' familyPrefix is, as
 * in ECS, the full family name; ListTaskDefinitionFamilies' is a prefix.
 */
#include "scheduler/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "scheduler/api.h"

#define CLIENT(e, ...) berth_api_fail(e, 400, "ClientException", __VA_ARGS__)
#define INVALID(e, ...) berth_api_fail(e, 400, "InvalidParameterException", __VA_ARGS__)
#define SERVER(e, ...) berth_api_fail(e, 500, "ServerException", __VA_ARGS__)

#define NOT_DESCRIBABLE "Unable to describe task definition."
#define NOT_FOUND "The specified task definition does not exist."
#define LIST_MAX 100
/* Room left below 64 KiB at registration for what deregistering adds. */
#define DEREGISTER_SLACK 64
#define TOKEN_MAX 512

static void cjson_deletep(cJSON **p)
{
	cJSON_Delete(*p);
}
static void taskdef_freep(struct berth_taskdef **p)
{
	berth_taskdef_free(*p);
}
#define _cleanup_cjson_ __attribute__((cleanup(cjson_deletep)))
#define _cleanup_taskdef_ __attribute__((cleanup(taskdef_freep)))

enum td_status { ST_ACTIVE, ST_INACTIVE, ST_DELETE_IN_PROGRESS, ST_COUNT };
static const char *const status_names[ST_COUNT] = {"ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"};

struct rev {
	uint32_t num;
	enum td_status status;
	double registered_at, deregistered_at; /* 0 = none */
	char *registered_by;                   /* NULL = not recorded */
	char *arn;
	size_t bytes; /* of the stored file */
	struct berth_taskdef *td;
};

struct family {
	char *name;
	uint32_t next; /* the next revision number to hand out */
	struct rev *revs; /* ascending by num */
	size_t nrevs, cap;
	size_t nactive;
};

struct berth_registry {
	int dirfd, lockfd;
	char *path; /* <root>/taskdefs, for messages */
	struct family **fams; /* ascending by name (byte order) */
	size_t nfams, cap;
	size_t total_revs, total_bytes;
};

/* ---- names, numbers, references ----------------------------------------- */

static bool valid_family(const char *s, size_t n)
{
	if (n < 1 || n > BERTH_TD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* s[0..n) as a revision number >= 1; canonical: no leading zero. */
static bool parse_num(const char *s, size_t n, bool canonical, uint32_t *out)
{
	if (n < 1 || n > 10 || (canonical && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < 1 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* A taskDefinition parameter: "family", "family:rev" or
 * "arn:<partition>:ecs:<region>:<account>:task-definition/<family>:<rev>". */
struct ref {
	char family[BERTH_TD_NAME_MAX + 1];
	uint32_t rev; /* 0 = none given */
	bool is_arn;
};

static const char *parse_ref(const char *s, struct ref *out)
{
	memset(out, 0, sizeof(*out));
	const char *fam = s;
	if (!strncmp(s, "arn:", 4)) {
		const char *p = s;
		for (int i = 0; i < 5; i++) { /* arn partition ecs region account */
			size_t n = strcspn(p, ":/");
			if (p[n] != ':' || n == 0 || (i == 2 && strncmp(p, "ecs:", 4)))
				return "is not a task definition's ARN "
				       "(arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>)";
			p += n + 1;
		}
		if (strncmp(p, "task-definition/", 16))
			return "is not a task definition's ARN "
			       "(arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>)";
		fam = p + 16;
		out->is_arn = true;
	}
	const char *colon = strchr(fam, ':');
	size_t flen = colon ? (size_t)(colon - fam) : strlen(fam);
	if (!valid_family(fam, flen))
		return "family must be 1-255 letters, digits, hyphens and underscores";
	memcpy(out->family, fam, flen);
	out->family[flen] = '\0';
	if (colon && !parse_num(colon + 1, strlen(colon + 1), false, &out->rev))
		return "revision must be a number of at least 1";
	if (out->is_arn && !colon)
		return "an ARN must end with \":<revision>\"";
	return NULL;
}

/* ---- the in-memory index ------------------------------------------------ */

static struct family *find_family(const struct berth_registry *r, const char *name, size_t *at)
{
	size_t lo = 0, hi = r->nfams;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(r->fams[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return lo < r->nfams && !strcmp(r->fams[lo]->name, name) ? r->fams[lo] : NULL;
}

/* Index of the first revision numbered at least num. */
static size_t rev_lower_bound(const struct family *f, uint32_t num)
{
	size_t lo = 0, hi = f->nrevs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->revs[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct rev *find_rev(const struct family *f, uint32_t num)
{
	size_t i = rev_lower_bound(f, num);
	return i < f->nrevs && f->revs[i].num == num ? &f->revs[i] : NULL;
}

/* The revision ref names (bare family: its latest ACTIVE one), or NULL. */
static struct rev *lookup(const struct berth_registry *r, const char *s, const struct ref *ref, struct family **fam)
{
	struct family *f = find_family(r, ref->family, NULL);
	if (!f)
		return NULL;
	*fam = f;
	if (!ref->rev) {
		for (size_t i = f->nrevs; i-- > 0;)
			if (f->revs[i].status == ST_ACTIVE)
				return &f->revs[i];
		return NULL;
	}
	struct rev *v = find_rev(f, ref->rev);
	/* An ARN names a revision only with the region and account it was
	 * registered under. */
	if (v && ref->is_arn && strcmp(v->arn, s))
		return NULL;
	return v;
}

static void rev_free(struct rev *v)
{
	free(v->registered_by);
	free(v->arn);
	berth_taskdef_free(v->td);
}

static void family_free(struct family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nrevs; i++)
		rev_free(&f->revs[i]);
	free(f->revs);
	free(f->name);
	free(f);
}

static int reserve(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8;
	if (ncap < need)
		ncap = need;
	void *p = reallocarray(*arr, ncap, size);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static struct family *family_new(const char *name)
{
	struct family *f = calloc(1, sizeof(*f));
	if (f && !(f->name = strdup(name))) {
		free(f);
		return NULL;
	}
	if (f)
		f->next = 1;
	return f;
}

static char *rev_json(const struct rev *v, unsigned flags, struct berth_err *err)
{
	struct berth_taskdef_meta meta = {
		.arn = v->arn,
		.revision = v->num,
		.status = status_names[v->status],
		.registered_at = v->registered_at,
		.registered_by = v->registered_by,
		.deregistered_at = v->deregistered_at,
	};
	return berth_taskdef_to_json(v->td, &meta, flags, err);
}

static double now_epoch(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

/* ---- loading ------------------------------------------------------------ */

static void warn(const struct berth_registry *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const struct berth_registry *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "berth: warning: task definitions %s: ", r->path);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *check_meta(const cJSON *root, const struct family *f, uint32_t num, struct rev *v)
{
	const cJSON *tdj = cJSON_GetObjectItemCaseSensitive(root, "taskDefinition");
	const cJSON *arn = cJSON_GetObjectItemCaseSensitive(tdj, "taskDefinitionArn");
	const cJSON *rn = cJSON_GetObjectItemCaseSensitive(tdj, "revision");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(tdj, "status");
	const cJSON *fam = cJSON_GetObjectItemCaseSensitive(tdj, "family");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(tdj, "registeredAt");
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(tdj, "registeredBy");
	const cJSON *dat = cJSON_GetObjectItemCaseSensitive(tdj, "deregisteredAt");
	if (!cJSON_IsObject(tdj))
		return "no \"taskDefinition\" object";
	if (!cJSON_IsString(fam) || strcmp(fam->valuestring, f->name))
		return "its family is not the directory's";
	if (!cJSON_IsNumber(rn) || rn->valuedouble != (double)num)
		return "its revision is not the file's number";
	struct ref ref;
	if (!cJSON_IsString(arn) || parse_ref(arn->valuestring, &ref) || !ref.is_arn || ref.rev != num ||
	    strcmp(ref.family, f->name))
		return "taskDefinitionArn is missing or names another revision";
	v->status = ST_COUNT;
	for (int i = 0; i < ST_COUNT && cJSON_IsString(st); i++)
		if (!strcmp(st->valuestring, status_names[i]))
			v->status = (enum td_status)i;
	if (v->status == ST_COUNT)
		return "status is missing or unknown";
	if (!cJSON_IsNumber(at) || !(at->valuedouble > 0) || (dat && !cJSON_IsNumber(dat)) ||
	    (by && !cJSON_IsString(by)))
		return "registeredAt, registeredBy or deregisteredAt has the wrong type";
	v->registered_at = at->valuedouble;
	v->deregistered_at = dat ? dat->valuedouble : 0;
	if (!(v->arn = strdup(arn->valuestring)) || (by && !(v->registered_by = strdup(by->valuestring))))
		return "out of memory";
	return NULL;
}

/* Load famfd/name (revision num) into f.  Content problems are warnings;
 * only running out of memory fails. */
static int load_revision(struct berth_registry *r, struct family *f, int famfd, const char *name, uint32_t num,
			 struct berth_err *err)
{
	struct berth_err e = {0};
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (berth_read_file_at(famfd, name, BERTH_TD_MAX_BYTES, &text, &len, &e) < 0) {
		warn(r, "%s/%s: skipped: %s", f->name, name, e.msg);
		return 0;
	}
	_cleanup_cjson_ cJSON *root = cJSON_ParseWithLength(text, len);
	struct rev v = {.num = num, .bytes = len};
	const char *why = root ? check_meta(root, f, num, &v) : "not JSON (corrupt or truncated)";
	if (!why && berth_taskdef_parse(text, len, name, &v.td, &e) < 0)
		why = e.msg;
	if (!why && strcmp(v.td->family, f->name))
		why = "its family is not the directory's";
	if (!why && reserve((void **)&f->revs, &f->cap, f->nrevs + 1, sizeof(*f->revs)) < 0)
		why = "out of memory";
	if (why) {
		bool oom = !strcmp(why, "out of memory");
		if (!oom)
			warn(r, "%s/%s: skipped: %s", f->name, name, why);
		rev_free(&v);
		return oom ? berth_err_set(err, ENOMEM, "load %s/%s", f->name, name) : 0;
	}
	f->revs[f->nrevs++] = v;
	f->nactive += v.status == ST_ACTIVE;
	r->total_revs++;
	r->total_bytes += len;
	return 0;
}

static int cmp_rev(const void *a, const void *b)
{
	uint32_t x = ((const struct rev *)a)->num, y = ((const struct rev *)b)->num;
	return x < y ? -1 : x > y;
}

static int cmp_family(const void *a, const void *b)
{
	return strcmp((*(struct family *const *)a)->name, (*(struct family *const *)b)->name);
}

static int load_family(struct berth_registry *r, struct family *f, int famfd, struct berth_err *err)
{
	_cleanup_closedir_ DIR *d = berth_opendir_at(famfd, f->name, err);
	if (!d)
		return -1;
	uint32_t seen_next = 1;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		uint32_t num;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "next"))
			continue;
		if (!strncmp(n, ".tmp-", 5)) { /* a write cut short; we hold the lock */
			unlinkat(famfd, n, 0);
			continue;
		}
		if (len < 6 || strcmp(n + len - 5, ".json") || !parse_num(n, len - 5, true, &num) ||
		    num > BERTH_REGISTRY_MAX_REVISIONS_PER_FAMILY) {
			warn(r, "%s/%s: ignored: not a revision file", f->name, n);
			continue;
		}
		/* Its number is used even when the file does not load. */
		if (num + 1 > seen_next)
			seen_next = num + 1;
		if (load_revision(r, f, famfd, n, num, err) < 0)
			return -1;
	}
	if (errno)
		return berth_err_set(err, errno, "read directory %s", f->name);
	if (f->nrevs > 1)
		qsort(f->revs, f->nrevs, sizeof(*f->revs), cmp_rev);

	struct berth_err e = {0};
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	uint32_t next = 0;
	if (berth_read_file_at(famfd, "next", 32, &text, &len, &e) < 0) {
		if (e.errnum != ENOENT)
			warn(r, "%s/next: %s; using the highest revision file", f->name, e.msg);
	} else if (len && text[len - 1] == '\n' && parse_num(text, len - 1, true, &next) &&
		   next <= BERTH_REGISTRY_MAX_REVISIONS_PER_FAMILY + 1) {
		f->next = next;
	} else {
		warn(r, "%s/next: not a revision number; using the highest revision file", f->name);
	}
	if (seen_next > f->next)
		f->next = seen_next;
	return 0;
}

static int load(struct berth_registry *r, struct berth_err *err)
{
	_cleanup_closedir_ DIR *d = berth_opendir_at(r->dirfd, r->path, err);
	if (!d)
		return -1;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".lock"))
			continue;
		if (!valid_family(n, strlen(n))) {
			warn(r, "%s: ignored: not a family name", n);
			continue;
		}
		_cleanup_close_ int famfd = openat(r->dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (famfd < 0) {
			warn(r, "%s: ignored: %s", n, strerror(errno));
			continue;
		}
		struct family *f = family_new(n);
		if (!f || reserve((void **)&r->fams, &r->cap, r->nfams + 1, sizeof(*r->fams)) < 0) {
			family_free(f);
			return berth_err_set(err, ENOMEM, "load %s", n);
		}
		r->fams[r->nfams++] = f;
		if (load_family(r, f, famfd, err) < 0)
			return berth_err_wrap(err, "load %s/%s", r->path, n);
	}
	if (errno)
		return berth_err_set(err, errno, "read directory %s", r->path);
	if (r->nfams > 1)
		qsort(r->fams, r->nfams, sizeof(*r->fams), cmp_family);
	return 0;
}

int berth_registry_open(const char *root, struct berth_registry **out, struct berth_err *err)
{
	struct berth_registry *r = calloc(1, sizeof(*r));
	if (!r)
		return berth_err_set(err, ENOMEM, "task definitions");
	r->dirfd = r->lockfd = -1;
	if (asprintf(&r->path, "%s/taskdefs", root) < 0) {
		r->path = NULL;
		berth_registry_close(r);
		return berth_err_set(err, ENOMEM, "task definitions");
	}
	if ((r->dirfd = berth_open_dir_at(AT_FDCWD, r->path, true, err)) < 0)
		goto fail;
	r->lockfd = openat(r->dirfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (r->lockfd < 0) {
		berth_err_set(err, errno, "open %s/.lock", r->path);
		goto fail;
	}
	if (flock(r->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			berth_err_set(err, 0, "%s is in use by another berthd (%s/.lock is locked)", r->path,
				      r->path);
		else
			berth_err_set(err, errno, "lock %s/.lock", r->path);
		goto fail;
	}
	if (load(r, err) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	berth_err_wrap(err, "task definitions");
	berth_registry_close(r);
	return -1;
}

void berth_registry_close(struct berth_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfams; i++)
		family_free(r->fams[i]);
	free(r->fams);
	if (r->lockfd >= 0)
		close(r->lockfd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->path);
	free(r);
}

const struct berth_taskdef *berth_registry_resolve(struct berth_registry *r, const char *ref, uint32_t *revision,
						   const char **arn)
{
	struct ref p;
	struct family *f = NULL;
	struct rev *v = r && ref && !parse_ref(ref, &p) ? lookup(r, ref, &p, &f) : NULL;
	if (!v)
		return NULL;
	if (revision)
		*revision = v->num;
	if (arn)
		*arn = v->arn;
	return v->td;
}

const char *berth_registry_status(struct berth_registry *r, const char *family, uint32_t revision)
{
	struct family *f = r && family ? find_family(r, family, NULL) : NULL;
	struct rev *v = f ? find_rev(f, revision) : NULL;
	return v ? status_names[v->status] : NULL;
}

/* ---- request parameters ------------------------------------------------- */

/* Refuse a non-object request, unknown parameters and repeated ones. */
static int check_params(const cJSON *req, const char *const *allowed, struct berth_api_error *e)
{
	if (!req)
		return 0;
	if (!cJSON_IsObject(req))
		return INVALID(e, "The request must be a JSON object.");
	for (const cJSON *it = req->child; it; it = it->next) {
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(it->string, *a);
		if (!ok) {
			char name[65];
			snprintf(name, sizeof(name), "%s", it->string);
			for (char *c = name; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
			return INVALID(e, "Unknown parameter \"%s\".", name);
		}
		for (const cJSON *o = req->child; o != it; o = o->next)
			if (!strcmp(o->string, it->string))
				return INVALID(e, "Parameter %s is given twice.", it->string);
	}
	return 0;
}

/* A string parameter; null is "not given". */
static int get_str(const cJSON *req, const char *key, bool required, const char **out, struct berth_api_error *e)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(req, key);
	*out = NULL;
	if (!j || cJSON_IsNull(j)) {
		if (required)
			return INVALID(e, "%s is required.", key);
		return 0;
	}
	if (!cJSON_IsString(j))
		return INVALID(e, "%s must be a string.", key);
	*out = j->valuestring;
	return 0;
}

/* One of names (NULL-terminated) as its index; dflt when not given. */
static int get_enum(const cJSON *req, const char *key, const char *const *names, int dflt, int *out,
		    struct berth_api_error *e)
{
	const char *s;
	if (get_str(req, key, false, &s, e) < 0)
		return -1;
	*out = dflt;
	if (!s)
		return 0;
	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	char list[128] = "";
	for (int i = 0; names[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", names[i]);
	return INVALID(e, "%s must be one of %s.", key, list);
}

static int get_max_results(const cJSON *req, size_t *out, struct berth_api_error *e)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(req, "maxResults");
	*out = LIST_MAX;
	if (!j || cJSON_IsNull(j))
		return 0;
	if (!cJSON_IsNumber(j) || !(j->valuedouble >= 1 && j->valuedouble <= LIST_MAX) ||
	    j->valuedouble != (double)(int)j->valuedouble)
		return INVALID(e, "maxResults must be an integer between 1 and %d.", LIST_MAX);
	*out = (size_t)j->valuedouble;
	return 0;
}

static int get_ref(const cJSON *req, const char **s, struct ref *ref, struct berth_api_error *e)
{
	if (get_str(req, "taskDefinition", true, s, e) < 0)
		return -1;
	const char *why = parse_ref(*s, ref);
	if (why)
		return INVALID(e, "taskDefinition: %s.", why);
	return 0;
}

/* ---- next tokens: base64url (no padding) of "td1|<A|D>|<status>|<family>|<rev>"
 * or "tf1|<status>|<family>": the last item of the page. --------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *token_make(const char *payload)
{
	size_t n = strlen(payload), o = 0;
	char *out = malloc(n / 3 * 4 + 5);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)payload[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)payload[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)payload[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = b64[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	return out;
}

/* Decode tok into out (NUL-terminated); false when it is not one of ours. */
static bool token_read(const char *tok, char out[TOKEN_MAX])
{
	size_t n = strlen(tok), o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	if (n % 4 == 1 || n / 4 * 3 + 3 >= TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(b64, tok[i]);
		if (!p)
			return false;
		acc = (acc << 6 | (uint32_t)(p - b64)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	return !(acc & ((1u << bits) - 1)) && strlen(out) == o;
}

/* ---- handlers ----------------------------------------------------------- */

static struct berth_registry *registry(struct berth_api_ctx *ctx, struct berth_api_error *e)
{
	if (!ctx->registry)
		SERVER(e, "The task definition registry is not open.");
	return ctx->registry;
}

/* {"taskDefinition": {...}} plus "tags" when with_tags. */
static int respond(const struct rev *v, bool with_tags, cJSON **resp,
		   struct berth_api_error *e)
{
	struct berth_err err = {0};
	_cleanup_free_ char *s = rev_json(v, BERTH_TD_JSON_WRAP, &err);
	cJSON *j = s ? cJSON_Parse(s) : NULL;
	if (!j)
		return SERVER(e, "%s", s ? "out of memory" : err.msg);
	if (!with_tags)
		cJSON_DeleteItemFromObjectCaseSensitive(j, "tags");
	*resp = j;
	return 0;
}

static int write_counter(int famfd, uint32_t next, struct berth_err *err)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u\n", next);
	return berth_write_file_atomic(famfd, "next", buf, (size_t)n, 0600, err);
}

static int h_register(struct berth_api_ctx *ctx, const cJSON *req, cJSON **resp, struct berth_api_error *e)
{
	struct berth_registry *r = registry(ctx, e);
	if (!r)
		return -1;
	if (!cJSON_IsObject(req))
		return INVALID(e, "The request must be a JSON object (the task definition).");
	/* ARNs must read back (load checks them). */
	if (!ctx->region || !ctx->account || !*ctx->region || !*ctx->account ||
	    ctx->region[strcspn(ctx->region, ":/")] || ctx->account[strcspn(ctx->account, ":/")])
		return SERVER(e, "berthd has no usable region and account for ARNs.");
	_cleanup_free_ char *in = cJSON_PrintUnformatted(req);
	if (!in)
		return SERVER(e, "out of memory");
	struct berth_err err = {0};
	_cleanup_taskdef_ struct berth_taskdef *parsed = NULL;
	if (berth_taskdef_parse(in, strlen(in), NULL, &parsed, &err) < 0)
		return CLIENT(e, "%s", err.msg);

	size_t at;
	struct family *f = find_family(r, parsed->family, &at);
	uint32_t num = f ? f->next : 1;
	if (num > BERTH_REGISTRY_MAX_REVISIONS_PER_FAMILY)
		return CLIENT(e, "Family %s has used all %u revisions a family may have.", parsed->family,
			      BERTH_REGISTRY_MAX_REVISIONS_PER_FAMILY);
	if (r->total_revs >= BERTH_REGISTRY_MAX_REVISIONS)
		return CLIENT(e, "berth's registry holds %u task definition revisions, its limit.",
			      BERTH_REGISTRY_MAX_REVISIONS);

	struct rev v = {.num = num, .status = ST_ACTIVE, .registered_at = now_epoch()};
	if (asprintf(&v.arn, "arn:aws:ecs:%s:%s:task-definition/%s:%u", ctx->region, ctx->account,
		     parsed->family, num) < 0) {
		v.arn = NULL;
		return SERVER(e, "out of memory");
	}
	v.td = TAKE_PTR(parsed);
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int famfd = -1;
	int rc = -1;
	struct family *nf = NULL;
	if (ctx->principal && !(v.registered_by = strdup(ctx->principal))) {
		SERVER(e, "out of memory");
		goto out;
	}
	if (!(text = rev_json(&v, BERTH_TD_JSON_WRAP, &err))) {
		SERVER(e, "%s", err.msg);
		goto out;
	}
	v.bytes = strlen(text);
	if (v.bytes > BERTH_TD_MAX_BYTES - DEREGISTER_SLACK) {
		CLIENT(e, "The task definition is %zu bytes once ECS's defaults are filled in; the limit is %d.",
		       v.bytes, BERTH_TD_MAX_BYTES - DEREGISTER_SLACK);
		goto out;
	}
	if (r->total_bytes + v.bytes > BERTH_REGISTRY_MAX_BYTES) {
		CLIENT(e, "berth's registry holds %zu bytes of task definitions, its limit.", r->total_bytes);
		goto out;
	}
	/* Keep what a restart would load: the model read back from the file. */
	struct berth_taskdef *back = NULL;
	if (berth_taskdef_parse(text, v.bytes, NULL, &back, &err) < 0) {
		SERVER(e, "The stored form does not read back: %s", err.msg);
		goto out;
	}
	berth_taskdef_free(v.td);
	v.td = back;

	/* Allocate before writing, so that nothing fails after the files. */
	if (!f && (!(nf = family_new(v.td->family)) ||
		   reserve((void **)&r->fams, &r->cap, r->nfams + 1, sizeof(*r->fams)) < 0)) {
		SERVER(e, "out of memory");
		goto out;
	}
	struct family *target = f ? f : nf;
	if (reserve((void **)&target->revs, &target->cap, target->nrevs + 1, sizeof(*target->revs)) < 0) {
		SERVER(e, "out of memory");
		goto out;
	}
	if (!f && mkdirat(r->dirfd, v.td->family, 0700) == 0)
		fsync(r->dirfd);
	famfd = openat(r->dirfd, v.td->family, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (famfd < 0) {
		SERVER(e, "Cannot open %s/%s: %s", r->path, v.td->family, strerror(errno));
		goto out;
	}
	if (write_counter(famfd, num + 1, &err) < 0) {
		SERVER(e, "%s/%s: %s", r->path, v.td->family, err.msg);
		goto out;
	}
	if (nf) {
		memmove(&r->fams[at + 1], &r->fams[at], (r->nfams - at) * sizeof(*r->fams));
		r->fams[at] = TAKE_PTR(nf);
		r->nfams++;
	}
	target->next = num + 1; /* used, whatever happens next */
	char name[32];
	snprintf(name, sizeof(name), "%u.json", num);
	if (berth_write_file_atomic(famfd, name, text, v.bytes, 0600, &err) < 0) {
		SERVER(e, "%s/%s: %s", r->path, v.td->family, err.msg);
		goto out;
	}
	rc = respond(&v, true, resp, e);
	target->revs[target->nrevs++] = v;
	memset(&v, 0, sizeof(v));
	target->nactive++;
	r->total_revs++;
	r->total_bytes += target->revs[target->nrevs - 1].bytes;
out:
	family_free(nf);
	rev_free(&v);
	return rc;
}

static int h_deregister(struct berth_api_ctx *ctx, const cJSON *req, cJSON **resp, struct berth_api_error *e)
{
	static const char *const keys[] = {"taskDefinition", NULL};
	struct berth_registry *r = registry(ctx, e);
	const char *s;
	struct ref ref;
	if (!r || check_params(req, keys, e) < 0 || get_ref(req, &s, &ref, e) < 0)
		return -1;
	if (!ref.rev)
		return CLIENT(e, "Revision is missing.");
	struct family *f = NULL;
	struct rev *v = lookup(r, s, &ref, &f);
	if (!v)
		return CLIENT(e, NOT_FOUND);
	if (v->status == ST_ACTIVE) {
		struct rev nv = *v;
		nv.status = ST_INACTIVE;
		nv.deregistered_at = now_epoch();
		struct berth_err err = {0};
		_cleanup_free_ char *text = rev_json(&nv, BERTH_TD_JSON_WRAP, &err);
		if (!text)
			return SERVER(e, "%s", err.msg);
		_cleanup_close_ int famfd = openat(r->dirfd, f->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (famfd < 0)
			return SERVER(e, "Cannot open %s/%s: %s", r->path, f->name, strerror(errno));
		char name[32];
		snprintf(name, sizeof(name), "%u.json", v->num);
		size_t len = strlen(text);
		if (berth_write_file_atomic(famfd, name, text, len, 0600, &err) < 0)
			return SERVER(e, "%s/%s: %s", r->path, f->name, err.msg);
		v->status = ST_INACTIVE;
		v->deregistered_at = nv.deregistered_at;
		r->total_bytes = r->total_bytes - v->bytes + len;
		v->bytes = len;
		f->nactive--;
	}
	return respond(v, false, resp, e);
}

static int h_describe(struct berth_api_ctx *ctx, const cJSON *req, cJSON **resp, struct berth_api_error *e)
{
	static const char *const keys[] = {"taskDefinition", "include", NULL};
	struct berth_registry *r = registry(ctx, e);
	const char *s;
	struct ref ref;
	if (!r || check_params(req, keys, e) < 0 || get_ref(req, &s, &ref, e) < 0)
		return -1;
	bool tags = false;
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(req, "include"), *it;
	if (inc && !cJSON_IsNull(inc)) {
		if (!cJSON_IsArray(inc))
			return INVALID(e, "include must be an array.");
		cJSON_ArrayForEach(it, inc) {
			if (!cJSON_IsString(it) || strcmp(it->valuestring, "TAGS"))
				return INVALID(e, "include: the only value is \"TAGS\".");
			tags = true;
		}
	}
	struct family *f = NULL;
	struct rev *v = lookup(r, s, &ref, &f);
	if (!v)
		return CLIENT(e, NOT_DESCRIBABLE);
	return respond(v, tags, resp, e);
}

/* Collects one page of a list. */
struct page {
	cJSON *items;
	size_t max, n;
	bool more;
	const char *last;  /* family of the last item */
	uint32_t last_rev;
};

/* Add one item; false once the page is full (and more is known). */
static bool page_add(struct page *p, const char *s, const char *family, uint32_t rev)
{
	if (p->n == p->max) {
		p->more = true;
		return false;
	}
	cJSON *j = cJSON_CreateString(s);
	if (j)
		cJSON_AddItemToArray(p->items, j);
	p->n++;
	p->last = family;
	p->last_rev = rev;
	return true;
}

static int finish_page(struct page *p, cJSON **resp, const char *key, const char *token_payload,
		       struct berth_api_error *e)
{
	_cleanup_cjson_ cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToObject(o, key, p->items)) {
		cJSON_Delete(p->items);
		return SERVER(e, "out of memory");
	}
	if (cJSON_GetArraySize(p->items) != (int)p->n)
		return SERVER(e, "out of memory");
	if (p->more) {
		_cleanup_free_ char *tok = token_make(token_payload);
		if (!tok || !cJSON_AddStringToObject(o, "nextToken", tok))
			return SERVER(e, "out of memory");
	}
	*resp = TAKE_PTR(o);
	return 0;
}

static const char *const list_status[] = {"ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS", NULL};
static const char *const sorts[] = {"ASC", "DESC", NULL};

static int h_list(struct berth_api_ctx *ctx, const cJSON *req, cJSON **resp, struct berth_api_error *e)
{
	static const char *const keys[] = {"familyPrefix", "status", "sort", "maxResults", "nextToken", NULL};
	struct berth_registry *r = registry(ctx, e);
	const char *only, *tok;
	int st, desc;
	struct page p = {0};
	if (!r || check_params(req, keys, e) < 0 || get_str(req, "familyPrefix", false, &only, e) < 0 ||
	    get_enum(req, "status", list_status, ST_ACTIVE, &st, e) < 0 ||
	    get_enum(req, "sort", sorts, 0, &desc, e) < 0 || get_max_results(req, &p.max, e) < 0 ||
	    get_str(req, "nextToken", false, &tok, e) < 0)
		return -1;
	/* Families [flo, fhi): familyPrefix is ECS's "full family name". */
	size_t flo = 0, fhi = r->nfams, at;
	if (only && *only) {
		flo = fhi = 0;
		if (find_family(r, only, &at))
			flo = at, fhi = at + 1;
	}
	/* Where the walk starts: family index fs; when the token's family is
	 * still there (partial), its revisions from index rs up (ASC) or below
	 * rs (DESC). */
	size_t fs = desc ? fhi : flo, rs = 0;
	bool partial = false;
	if (tok && *tok) {
		char buf[TOKEN_MAX], want[TOKEN_MAX];
		int wl = snprintf(want, sizeof(want), "td1|%c|%s|", desc ? 'D' : 'A', list_status[st]);
		const char *fam = buf + wl, *bar = NULL;
		uint32_t rev = 0;
		if (!token_read(tok, buf) || strncmp(buf, want, (size_t)wl) || !(bar = strchr(fam, '|')) ||
		    !valid_family(fam, (size_t)(bar - fam)) || !parse_num(bar + 1, strlen(bar + 1), true, &rev) ||
		    rev > BERTH_REGISTRY_MAX_REVISIONS_PER_FAMILY)
			return INVALID(e, "nextToken is not valid for this request.");
		buf[bar - buf] = '\0';
		const struct family *tf = find_family(r, fam, &fs);
		partial = tf != NULL;
		if (tf)
			rs = rev_lower_bound(tf, desc ? rev : rev + 1);
	}
	if (!(p.items = cJSON_CreateArray()))
		return SERVER(e, "out of memory");
	if (!desc) {
		for (size_t fi = fs < flo ? flo : fs; fi < fhi; fi++) {
			const struct family *f = r->fams[fi];
			for (size_t i = partial && fi == fs ? rs : 0; i < f->nrevs; i++)
				if ((int)f->revs[i].status == st &&
				    !page_add(&p, f->revs[i].arn, f->name, f->revs[i].num))
					goto done;
		}
	} else {
		if (partial && fs >= flo && fs < fhi) {
			const struct family *f = r->fams[fs];
			for (size_t i = rs; i-- > 0;)
				if ((int)f->revs[i].status == st &&
				    !page_add(&p, f->revs[i].arn, f->name, f->revs[i].num))
					goto done;
		}
		for (size_t fi = fs > fhi ? fhi : fs; fi-- > flo;) {
			const struct family *f = r->fams[fi];
			for (size_t i = f->nrevs; i-- > 0;)
				if ((int)f->revs[i].status == st &&
				    !page_add(&p, f->revs[i].arn, f->name, f->revs[i].num))
					goto done;
		}
	}
done:;
	char payload[TOKEN_MAX];
	snprintf(payload, sizeof(payload), "td1|%c|%s|%s|%u", desc ? 'D' : 'A', list_status[st],
		 p.last ? p.last : "", p.last_rev);
	return finish_page(&p, resp, "taskDefinitionArns", payload, e);
}

static int h_families(struct berth_api_ctx *ctx, const cJSON *req, cJSON **resp, struct berth_api_error *e)
{
	static const char *const keys[] = {"familyPrefix", "status", "maxResults", "nextToken", NULL};
	static const char *const fam_status[] = {"ACTIVE", "INACTIVE", "ALL", NULL};
	struct berth_registry *r = registry(ctx, e);
	const char *prefix, *tok;
	int st;
	struct page p = {0};
	if (!r || check_params(req, keys, e) < 0 || get_str(req, "familyPrefix", false, &prefix, e) < 0 ||
	    get_enum(req, "status", fam_status, 2, &st, e) < 0 || get_max_results(req, &p.max, e) < 0 ||
	    get_str(req, "nextToken", false, &tok, e) < 0)
		return -1;
	size_t plen = prefix ? strlen(prefix) : 0, i = 0;
	if (prefix)
		find_family(r, prefix, &i);
	if (tok && *tok) {
		char buf[TOKEN_MAX];
		size_t sl = strlen(fam_status[st]), at;
		if (!token_read(tok, buf) || strncmp(buf, "tf1|", 4) || strncmp(buf + 4, fam_status[st], sl) ||
		    buf[4 + sl] != '|' || !valid_family(buf + 5 + sl, strlen(buf + 5 + sl)))
			return INVALID(e, "nextToken is not valid for this request.");
		if (find_family(r, buf + 5 + sl, &at))
			at++;
		if (at > i)
			i = at;
	}
	if (!(p.items = cJSON_CreateArray()))
		return SERVER(e, "out of memory");
	for (; i < r->nfams && !strncmp(r->fams[i]->name, prefix ? prefix : "", plen); i++) {
		const struct family *f = r->fams[i];
		bool match = f->nrevs && (st == 2 || (st == 0) == (f->nactive > 0));
		if (match && !page_add(&p, f->name, f->name, 0))
			break;
	}
	char payload[TOKEN_MAX];
	snprintf(payload, sizeof(payload), "tf1|%s|%s", fam_status[st], p.last ? p.last : "");
	return finish_page(&p, resp, "families", payload, e);
}

const struct berth_api_action berth_registry_actions[] = {
	{"RegisterTaskDefinition", h_register, true},
	{"DeregisterTaskDefinition", h_deregister, true},
	{"DescribeTaskDefinition", h_describe, false},
	{"ListTaskDefinitions", h_list, false},
	{"ListTaskDefinitionFamilies", h_families, false},
	{NULL, NULL, false},
};
