/* berth scheduler/ — the credentials file: key pairs berthd accepts. */
#include "scheduler/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cleanup.h"
#include "scheduler/sigv4.h"

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void berth_credentials_free(struct berth_credentials *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->keys[i].profile);
		free(c->keys[i].access_key_id);
		wipe_free(c->keys[i].secret);
	}
	free(c->keys);
	free(c);
}

static void credentials_freep(struct berth_credentials **c)
{
	berth_credentials_free(*c);
}

const struct berth_credential *berth_credentials_find(const struct berth_credentials *c,
						      const char *access_key_id)
{
	if (!c || !access_key_id)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->keys[i].access_key_id, access_key_id) == 0)
			return &c->keys[i];
	return NULL;
}

int berth_credentials_secret(void *ctx, const char *access_key_id, char *secret,
			     size_t secret_len)
{
	const struct berth_credential *k = berth_credentials_find(ctx, access_key_id);
	if (!k || !secret || strlen(k->secret) >= secret_len)
		return -1;
	memcpy(secret, k->secret, strlen(k->secret) + 1);
	return 0;
}

static bool akid_valid(const char *s, size_t n)
{
	if (n == 0 || n > BERTH_SIGV4_AKID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool secret_valid(const char *s, size_t n)
{
	if (n == 0 || n > BERTH_SIGV4_SECRET_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool key_is(const char *k, size_t n, const char *want)
{
	if (strlen(want) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return true;
}

/* The profile being read. */
struct section {
	char *name;
	size_t line;
	char *akid;
	char *secret;
};

static void section_reset(struct section *s)
{
	free(s->name);
	free(s->akid);
	wipe_free(s->secret);
	*s = (struct section){0};
}

/* Finish the current section: append its pair (if any) to c. */
static int section_end(struct section *s, struct berth_credentials *c, const char *name,
		       struct berth_err *err)
{
	if (!s->name || (!s->akid && !s->secret)) {
		section_reset(s);
		return 0;
	}
	if (!s->akid || !s->secret) {
		berth_err_set(err, 0, "credentials file %s: profile [%s] (line %zu) has %s but no %s",
			      name, s->name, s->line,
			      s->akid ? "aws_access_key_id" : "aws_secret_access_key",
			      s->akid ? "aws_secret_access_key" : "aws_access_key_id");
		section_reset(s);
		return -1;
	}
	const struct berth_credential *dup = berth_credentials_find(c, s->akid);
	if (dup) {
		berth_err_set(err, 0,
			      "credentials file %s: access key id %s appears in profiles [%s] and [%s]",
			      name, s->akid, dup->profile, s->name);
		section_reset(s);
		return -1;
	}
	struct berth_credential *keys = realloc(c->keys, (c->n + 1) * sizeof(*keys));
	if (!keys) {
		section_reset(s);
		return berth_err_set(err, ENOMEM, "credentials file %s", name);
	}
	c->keys = keys;
	c->keys[c->n++] = (struct berth_credential){s->name, s->akid, s->secret};
	*s = (struct section){0};
	return 0;
}

static bool section_seen(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int berth_credentials_parse(const char *text, size_t len, const char *name,
			    struct berth_credentials **out, struct berth_err *err)
{
	__attribute__((cleanup(credentials_freep))) struct berth_credentials *c = calloc(1, sizeof(*c));
	_cleanup_strv_ char **seen = NULL; /* section names, for duplicates */
	size_t nseen = 0;
	struct section cur = {0};
	size_t lineno = 0;
	int r = -1;

	if (!c)
		return berth_err_set(err, ENOMEM, "credentials file %s", name);
	if (memchr(text, '\0', len))
		return berth_err_set(err, 0, "credentials file %s: contains a NUL byte", name);

	for (const char *p = text; p < text + len;) {
		const char *e = memchr(p, '\n', (size_t)(text + len - p));
		if (!e)
			e = text + len;
		const char *l = p;
		size_t n = (size_t)(e - p);
		p = e + 1;
		lineno++;
		trim(&l, &n);
		if (!n || l[0] == '#' || l[0] == ';')
			continue;
		if (l[0] == '[') {
			if (l[n - 1] != ']') {
				berth_err_set(err, 0, "credentials file %s: line %zu: unterminated section "
						      "header",
					      name, lineno);
				goto out;
			}
			const char *s = l + 1;
			size_t sn = n - 2;
			trim(&s, &sn);
			if (!sn || memchr(s, '[', sn) || memchr(s, ']', sn)) {
				berth_err_set(err, 0, "credentials file %s: line %zu: invalid section name",
					      name, lineno);
				goto out;
			}
			if (section_end(&cur, c, name, err) < 0)
				goto out;
			cur.name = strndup(s, sn);
			cur.line = lineno;
			if (!cur.name) {
				berth_err_set(err, ENOMEM, "credentials file %s", name);
				goto out;
			}
			for (size_t i = 0; i < sn; i++)
				if ((unsigned char)cur.name[i] < 0x20 || cur.name[i] == 0x7f)
					cur.name[i] = '?';
			if (section_seen((const char *const *)seen, nseen, cur.name)) {
				berth_err_set(err, 0, "credentials file %s: line %zu: profile [%s] appears "
						      "twice",
					      name, lineno, cur.name);
				goto out;
			}
			char **ns = realloc(seen, (nseen + 2) * sizeof(char *));
			if (!ns) {
				berth_err_set(err, ENOMEM, "credentials file %s", name);
				goto out;
			}
			seen = ns;
			seen[nseen] = strdup(cur.name);
			seen[nseen + 1] = NULL;
			if (!seen[nseen]) {
				berth_err_set(err, ENOMEM, "credentials file %s", name);
				goto out;
			}
			nseen++;
			continue;
		}
		const char *eq = NULL;
		for (size_t i = 0; i < n && !eq; i++)
			if (l[i] == '=' || l[i] == ':')
				eq = l + i;
		if (!eq) {
			berth_err_set(err, 0, "credentials file %s: line %zu: expected 'key = value'",
				      name, lineno);
			goto out;
		}
		if (!cur.name) {
			berth_err_set(err, 0, "credentials file %s: line %zu: key outside a [profile] "
					      "section",
				      name, lineno);
			goto out;
		}
		const char *k = l, *v = eq + 1;
		size_t kn = (size_t)(eq - l), vn = (size_t)(l + n - v);
		trim(&k, &kn);
		trim(&v, &vn);
		char **slot = NULL;
		bool is_akid = key_is(k, kn, "aws_access_key_id");
		if (is_akid)
			slot = &cur.akid;
		else if (key_is(k, kn, "aws_secret_access_key"))
			slot = &cur.secret;
		if (!slot)
			continue; /* region, output, ...: not berth's business */
		if (*slot) {
			berth_err_set(err, 0, "credentials file %s: line %zu: %s given twice in profile "
					      "[%s]",
				      name, lineno, is_akid ? "aws_access_key_id" : "aws_secret_access_key",
				      cur.name);
			goto out;
		}
		if (is_akid && !akid_valid(v, vn)) {
			berth_err_set(err, 0, "credentials file %s: line %zu: aws_access_key_id must be "
					      "1-%d letters, digits, '.', '_' or '-'",
				      name, lineno, BERTH_SIGV4_AKID_MAX);
			goto out;
		}
		if (!is_akid && !secret_valid(v, vn)) {
			/* Never echo a secret, not even a broken one. */
			berth_err_set(err, 0, "credentials file %s: line %zu: aws_secret_access_key must "
					      "be 1-%d printable ASCII characters without spaces",
				      name, lineno, BERTH_SIGV4_SECRET_MAX);
			goto out;
		}
		*slot = strndup(v, vn);
		if (!*slot) {
			berth_err_set(err, ENOMEM, "credentials file %s", name);
			goto out;
		}
	}
	if (section_end(&cur, c, name, err) < 0)
		goto out;
	if (!c->n) {
		berth_err_set(err, 0, "credentials file %s: no profile with aws_access_key_id and "
				      "aws_secret_access_key",
			      name);
		goto out;
	}
	*out = TAKE_PTR(c);
	r = 0;
out:
	section_reset(&cur);
	return r;
}

int berth_credentials_load(const char *path, struct berth_credentials **out,
			   struct berth_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return berth_err_set(err, 0, "credentials file %s is a symbolic link; it holds "
						     "secret keys: name the file itself",
					     path);
		return berth_err_set(err, errno, "open credentials file %s", path);
	}
	if (fstat(fd, &st) < 0)
		return berth_err_set(err, errno, "stat credentials file %s", path);
	if (!S_ISREG(st.st_mode))
		return berth_err_set(err, 0, "credentials file %s is not a regular file", path);
	if (st.st_mode & 077)
		return berth_err_set(err, 0,
				     "credentials file %s is accessible to group or others (mode %04o); "
				     "it holds secret keys: chmod 600 it",
				     path, (unsigned)(st.st_mode & 07777));
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return berth_err_set(err, 0,
				     "credentials file %s is owned by uid %u, not by uid %u or root; "
				     "it holds secret keys",
				     path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_size > BERTH_CREDENTIALS_FILE_MAX)
		return berth_err_set(err, 0, "credentials file %s is larger than %d bytes", path,
				     BERTH_CREDENTIALS_FILE_MAX);

	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return berth_err_set(err, ENOMEM, "credentials file %s", path);
	for (;;) {
		if (len == cap) { /* it grew since fstat */
			OPENSSL_cleanse(buf, len);
			free(buf);
			return berth_err_set(err, 0, "credentials file %s changed while being read",
					     path);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			OPENSSL_cleanse(buf, len);
			free(buf);
			return berth_err_set(err, e, "read credentials file %s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	int r = berth_credentials_parse(buf, len, path, out, err);
	OPENSSL_cleanse(buf, cap);
	free(buf);
	return r;
}
