/* berth images/ — image names: validation, normalisation, file-name encoding,
 * naming from annotations, and config-digest (image ID) lookup. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/manifest.h"

#define Q(s) berth_quote((s), (char[128]){0}, 128)

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool berth_tag_valid(const char *s)
{
	size_t n = 0;
	if (!s || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (; s[n]; n++)
		if (!(isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.' || s[n] == '-'))
			return false;
	return n <= 128;
}

/* [a-z0-9]+((.|_|__|-+)[a-z0-9]+)* over s[0..n) */
static bool path_component_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		size_t sep = j - i;
		bool ok = (sep == 1 && (s[i] == '.' || s[i] == '_' || s[i] == '-')) ||
			  (sep == 2 && s[i] == '_' && s[i + 1] == '_');
		for (size_t k = i; !ok && k < j && s[k] == '-'; k++)
			ok = k + 1 == j;
		if (!ok)
			return false;
		i = j;
	}
	return true;
}

/* host[:port]: dot-separated labels of [A-Za-z0-9-] (not starting or ending
 * with '-'), optional decimal port. */
static bool host_valid(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;
	if (colon) {
		size_t pn = n - hn - 1;
		if (pn == 0 || pn > 5)
			return false;
		for (size_t i = hn + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return false;
	}
	size_t lab = 0;
	for (size_t i = 0; i <= hn; i++) {
		if (i == hn || s[i] == '.') {
			if (lab == 0 || s[i - 1] == '-' || s[i - lab] == '-')
				return false;
			lab = 0;
			continue;
		}
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-'))
			return false;
		lab++;
	}
	return true;
}

#define NAME_HINT "names look like \"busybox\", \"team/app:1.2\" or \"registry:5000/app:tag\""

int berth_name_normalize(const char *in, char out[BERTH_NAME_MAX + 1], struct berth_err *err)
{
	char buf[BERTH_NAME_MAX + 1];
	size_t inlen = in ? strlen(in) : 0;
	if (inlen == 0)
		return berth_err_set(err, 0, "empty image name; " NAME_HINT);
	if (inlen > BERTH_NAME_MAX)
		return berth_err_set(err, 0, "image name %s is too long (limit %d characters)", Q(in),
				     BERTH_NAME_MAX);
	memcpy(buf, in, inlen + 1);
	const char *digest = NULL, *tag = NULL;
	char *at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		digest = at + 1;
		if (!berth_digest_valid(digest))
			return berth_err_set(err, 0, "invalid image name %s: %s is not a sha256 digest",
					     Q(in), Q(digest));
	}
	char *slash = strrchr(buf, '/');
	char *colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		if (!berth_tag_valid(tag))
			return berth_err_set(err, 0,
					     "invalid image name %s: tag %s must be 1-128 of "
					     "[A-Za-z0-9_.-], not starting with '.' or '-'",
					     Q(in), Q(tag));
	}
	char *repo = buf;
	const char *first_end = strchr(repo, '/');
	size_t first_len = first_end ? (size_t)(first_end - repo) : strlen(repo);
	bool has_host = first_end && (memchr(repo, '.', first_len) || memchr(repo, ':', first_len) ||
				      (first_len == 9 && !strncmp(repo, "localhost", 9)));
	if (has_host && !host_valid(repo, first_len))
		return berth_err_set(err, 0, "invalid image name %s: bad registry host %s", Q(in),
				     Q(strndupa(repo, first_len)));
	char *path = has_host ? repo + first_len + 1 : repo;
	size_t ncomp = 0;
	for (char *p = path;; ncomp++) {
		char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (!path_component_valid(p, l)) {
			bool upper = false;
			for (size_t i = 0; i < l; i++)
				upper |= isupper((unsigned char)p[i]) != 0;
			return berth_err_set(err, 0, "invalid image name %s: %s%s; " NAME_HINT, Q(in),
					     l ? "bad repository component " : "empty repository component",
					     l ? (upper ? "(repository names must be lowercase)"
							: Q(strndupa(p, l)))
					       : "");
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (!has_host && ncomp == 0 && strlen(path) == 64 && strspn(path, "0123456789abcdef") == 64)
		return berth_err_set(err, 0, "invalid image name %s: a repository name cannot be "
				     "64 hex digits (use sha256:<hex> to name an image by ID)", Q(in));
	if (has_host && ((first_len == 9 && !strncmp(repo, "docker.io", 9)) ||
			 (first_len == 15 && !strncmp(repo, "index.docker.io", 15)))) {
		repo = path;
		if (!strncmp(repo, "library/", 8) && !strchr(repo + 8, '/'))
			repo += 8;
	}
	int n = snprintf(out, BERTH_NAME_MAX + 1, "%s%s%s%s%s", repo, tag ? ":" : "",
			 tag ? tag : (digest ? "" : ":latest"), digest ? "@" : "", digest ? digest : "");
	if (n < 0 || n > BERTH_NAME_MAX)
		return berth_err_set(err, 0, "image name %s is too long (limit %d characters)", Q(in),
				     BERTH_NAME_MAX);
	return 0;
}

int berth_name_encode(const char *name, char *out, size_t outsz, struct berth_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (o + 4 >= outsz || o + 4 > 250)
			return berth_err_set(err, ENAMETOOLONG, "image name %s is too long to store", Q(name));
		if (isalnum(*p) || *p == '.' || *p == '_' || *p == '-') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o == 0 || o + 6 > outsz)
		return berth_err_set(err, ENAMETOOLONG, "image name %s cannot be stored", Q(name));
	memcpy(out + o, ".json", 6);
	return 0;
}

int berth_name_from_annotations(const char *ref_name, const char *containerd_name, char **out,
				struct berth_err *err)
{
	char norm[BERTH_NAME_MAX + 1];
	*out = NULL;
	if (ref_name && !*ref_name)
		ref_name = NULL;
	if (containerd_name && !*containerd_name)
		containerd_name = NULL;
	if (!ref_name && !containerd_name)
		return 0;
	bool tag_only = ref_name && !strpbrk(ref_name, "/:@") && berth_tag_valid(ref_name);
	if (ref_name && !tag_only) {
		if (berth_name_normalize(ref_name, norm, err) < 0)
			return berth_err_wrap(err, "annotation org.opencontainers.image.ref.name");
	} else if (containerd_name) {
		if (berth_name_normalize(containerd_name, norm, err) < 0)
			return berth_err_wrap(err, "annotation io.containerd.image.name");
		if (tag_only) {
			/* Replace the tag (and any digest) with ref.name. */
			char *at = strchr(norm, '@');
			if (at)
				*at = '\0';
			char *slash = strrchr(norm, '/');
			char *colon = strrchr(slash ? slash : norm, ':');
			if (colon)
				*colon = '\0';
			char full[2 * BERTH_NAME_MAX + 2];
			snprintf(full, sizeof(full), "%s:%s", norm, ref_name);
			if (berth_name_normalize(full, norm, err) < 0)
				return -1;
		}
	} else {
		return berth_err_set(err, 0,
				     "the image is named only by the tag %s "
				     "(org.opencontainers.image.ref.name): give it a full name with "
				     "--name NAME",
				     Q(ref_name));
	}
	if (!(*out = strdup(norm)))
		return berth_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int berth_digest_lookup(const char *ref, const char *const *digests, size_t n,
			struct berth_err *err)
{
	const char *hex = ref;
	if (!strncmp(ref, "sha256:", 7))
		hex = ref + 7;
	size_t hl = strlen(hex);
	if (hl > 64 || strspn(hex, "0123456789abcdef") != hl || (hex == ref && hl < 12))
		return -2;
	if (hl < 12)
		return berth_err_set(err, 0, "image ID %s is too short: give at least 12 hex digits",
				     Q(ref));
	int found = -1;
	for (size_t i = 0; i < n; i++) {
		const char *h = berth_digest_hex(digests[i]);
		if (!h || strncmp(h, hex, hl))
			continue;
		if (found >= 0 && strcmp(digests[found], digests[i]))
			return berth_err_set(err, 0,
					     "image ID %s is ambiguous: it matches %.19s... and %.19s...; "
					     "give more digits",
					     Q(ref), digests[found], digests[i]);
		if (found < 0)
			found = (int)i;
	}
	if (found < 0)
		return berth_err_set(err, 0, "image %s not found: load it with 'berth image load PATH'",
				     Q(ref));
	return found;
}
