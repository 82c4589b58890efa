/* berth scheduler/ — AWS Signature Version 4 verification (see sigv4.h).
 *
 * Refusals follow the order and wording of AWS's own authentication layer
 * (Coral, which ECS runs on), as captured from live services:
 *   1. no Authorization header                 MissingAuthenticationTokenException
 *   2. both Authorization and X-Amz-Algorithm  InvalidSignatureException
 *   3. a parameter without '='                 IncompleteSignatureException
 *   4. Credential/Signature/SignedHeaders or
 *      the date header missing                 IncompleteSignatureException
 *   5. date not ISO 8601 basic                 IncompleteSignatureException
 *   6. date more than 15 minutes off           InvalidSignatureException
 *   7. 'host' not signed                       InvalidSignatureException
 *   8. algorithm not AWS4-HMAC-SHA256          IncompleteSignatureException
 *   9. Credential not 5 '/'-separated parts    IncompleteSignatureException
 *  10. scope: region, service, terminator, day InvalidSignatureException
 *  11. unknown access key id                   UnrecognizedClientException
 *  12. signature mismatch                      InvalidSignatureException
 *  13. x-amz-content-sha256 not the body's     InvalidSignatureException
 *  14. a security token                        UnrecognizedClientException
 * ECS answers all of them with HTTP 400.  Steps 2-4 and 7-9 that are berth's
 * own additions (several Authorization headers, repeated parameters, a
 * malformed SignedHeaders list, presigned URLs) use the same codes.
 */
#include "scheduler/sigv4.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/cleanup.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define SIG_HEX_LEN 64

/* ---------------------------------------------------------------------------
 * Small ASCII helpers (never locale-dependent: requests are bytes). */

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_unreserved(unsigned char c)
{
	return is_alnum((char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)ascii_lower(*a), y = (unsigned char)ascii_lower(*b);
		if (x != y || !x)
			return (int)x - (int)y;
	}
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Copy client-supplied text into a fixed buffer for a message: printable
 * ASCII only (anything else becomes '?'), truncated to fit. */
static void copy_printable(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t i = 0;
	for (; i < srclen && i + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (dstlen)
		dst[i] = '\0';
}

/* ---------------------------------------------------------------------------
 * Growable string with checked arithmetic; an allocation failure is sticky
 * and reported once at the end. */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){0};
}

static void sb_freep(struct sbuf *b)
{
	sb_free(b);
}
#define _cleanup_sbuf_ __attribute__((cleanup(sb_freep)))

/* Secrets on the stack: wiped on every way out of the function. */
static void wipe_secret(char (*s)[BERTH_SIGV4_SECRET_MAX + 1])
{
	OPENSSL_cleanse(*s, sizeof(*s));
}
static void wipe_sig(char (*s)[SIG_HEX_LEN + 1])
{
	OPENSSL_cleanse(*s, sizeof(*s));
}
#define _cleanup_wipe_secret_ __attribute__((cleanup(wipe_secret)))
#define _cleanup_wipe_sig_ __attribute__((cleanup(wipe_sig)))

static bool sb_reserve(struct sbuf *b, size_t more)
{
	if (b->oom)
		return false;
	if (more > SIZE_MAX - 1 - b->len) {
		b->oom = true;
		return false;
	}
	size_t need = b->len + more + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

/* Percent-encode every byte but RFC 3986 unreserved ones (and '/' when
 * keep_slash), upper-case hex: AWS's UriEncode(). */
static void sb_put_encoded(struct sbuf *b, const char *s, size_t n, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			sb_putc(b, (char)c);
		} else {
			char esc[3] = {'%', digits[c >> 4], digits[c & 15]};
			sb_putn(b, esc, 3);
		}
	}
}

/* Take the string out of the buffer (never NULL on success). */
static char *sb_take(struct sbuf *b)
{
	if (!b->p && !b->oom)
		sb_reserve(b, 0);
	if (b->oom)
		return NULL;
	char *p = b->p;
	*b = (struct sbuf){0};
	return p;
}

/* ---------------------------------------------------------------------------
 * HMAC-SHA256 (RFC 2104) over OpenSSL's low-level SHA-256: no EVP, so no
 * library context or provider is ever loaded. */

static void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
			unsigned char out[SHA256_DIGEST_LENGTH])
{
	unsigned char k[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK], inner[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;

	if (keylen > sizeof(k)) {
		SHA256_Init(&c);
		SHA256_Update(&c, key, keylen);
		SHA256_Final(k, &c);
	} else if (keylen) {
		memcpy(k, key, keylen);
	}
	for (size_t i = 0; i < sizeof(k); i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, sizeof(pad));
	SHA256_Update(&c, msg, msglen);
	SHA256_Final(inner, &c);
	for (size_t i = 0; i < sizeof(k); i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, sizeof(pad));
	SHA256_Update(&c, inner, sizeof(inner));
	SHA256_Final(out, &c);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(&c, sizeof(c));
}

/* Not SHA256(): in OpenSSL 3 that one-shot goes through EVP_Q_digest and
 * loads openssl.cnf and the default provider. */
static void sha256_hex(const void *buf, size_t len, char hex[SIG_HEX_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, len ? buf : (const void *)"", len);
	SHA256_Final(md, &c);
	to_hex(md, sizeof(md), hex);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request") */
static int derive_key(const char *secret, const char *date8, size_t datelen, const char *region,
		      const char *service, unsigned char key[SHA256_DIGEST_LENGTH])
{
	size_t slen = strlen(secret);
	unsigned char k0[4 + BERTH_SIGV4_SECRET_MAX];
	if (slen > BERTH_SIGV4_SECRET_MAX)
		return -1;
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, slen);
	unsigned char k[SHA256_DIGEST_LENGTH];
	hmac_sha256(k0, 4 + slen, date8, datelen, k);
	OPENSSL_cleanse(k0, sizeof(k0));
	hmac_sha256(k, sizeof(k), region, strlen(region), k);
	hmac_sha256(k, sizeof(k), service, strlen(service), k);
	hmac_sha256(k, sizeof(k), TERMINATOR, strlen(TERMINATOR), key);
	OPENSSL_cleanse(k, sizeof(k));
	return 0;
}

int berth_sigv4_signing_key(const char *secret, const char *date, const char *region,
			    const char *service, unsigned char key[32], struct berth_err *err)
{
	if (!secret || !date || !region || !service)
		return berth_err_set(err, EINVAL, "sigv4 signing key: missing argument");
	if (derive_key(secret, date, strlen(date), region, service, key) < 0)
		return berth_err_set(err, EINVAL, "sigv4 signing key: secret longer than %d bytes",
				     BERTH_SIGV4_SECRET_MAX);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Dates. */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm: days since 1970-01-01, proleptic Gregorian. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int y, unsigned m)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return mdays[m - 1];
}

static bool parse_digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool make_time(int y, int mo, int d, int h, int mi, int s, time_t *out)
{
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) ||
	    h > 23 || mi > 59 || s > 59)
		return false;
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
	*out = (time_t)t;
	return (int64_t)*out == t;
}

/* "20150830T123600Z" exactly. */
static bool parse_iso_basic(const char *s, time_t *out)
{
	int y, mo, d, h, mi, sec;
	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return false;
	if (!parse_digits(s, 4, &y) || !parse_digits(s + 4, 2, &mo) || !parse_digits(s + 6, 2, &d) ||
	    !parse_digits(s + 9, 2, &h) || !parse_digits(s + 11, 2, &mi) ||
	    !parse_digits(s + 13, 2, &sec))
		return false;
	return make_time(y, mo, d, h, mi, sec, out);
}

/* RFC 1123 / RFC 2822 as HTTP clients write a Date header:
 * "Sun, 30 Aug 2015 12:36:00 GMT", botocore's "... 12:36:00 -0000". */
static bool parse_http_date(const char *s, time_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int d, y, h, mi, sec, mo = 0;
	size_t n = strlen(s);

	if (n < 5 || s[3] != ',' || s[4] != ' ')
		return false;
	s += 5;
	size_t dl = is_digit(s[0]) && is_digit(s[1]) ? 2 : 1;
	if (!parse_digits(s, dl, &d) || s[dl] != ' ')
		return false;
	s += dl + 1;
	for (int i = 0; i < 12; i++)
		if (strncmp(s, months + 3 * i, 3) == 0)
			mo = i + 1;
	if (!mo || s[3] != ' ')
		return false;
	s += 4;
	if (!parse_digits(s, 4, &y) || s[4] != ' ')
		return false;
	s += 5;
	if (!parse_digits(s, 2, &h) || s[2] != ':' || !parse_digits(s + 3, 2, &mi) || s[5] != ':' ||
	    !parse_digits(s + 6, 2, &sec) || s[8] != ' ')
		return false;
	s += 9;
	long off = 0;
	if (strcmp(s, "GMT") == 0 || strcmp(s, "UTC") == 0 || strcmp(s, "UT") == 0 ||
	    strcmp(s, "Z") == 0) {
		off = 0;
	} else if ((s[0] == '+' || s[0] == '-') && strlen(s) == 5) {
		int oh, om;
		if (!parse_digits(s + 1, 2, &oh) || !parse_digits(s + 3, 2, &om) || oh > 23 || om > 59)
			return false;
		off = (s[0] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
	} else {
		return false;
	}
	time_t t;
	if (!make_time(y, mo, d, h, mi, sec, &t))
		return false;
	*out = t - off;
	return true;
}

/* YYYYMMDDTHHMMSSZ without gmtime_r (which reads /etc/localtime). */
static void format_iso_basic(time_t t, char out[17])
{
	int64_t secs = (int64_t)t, days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	/* Howard Hinnant's civil_from_days. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999) {
		snprintf(out, 17, "%s", "00000000T000000Z");
		return;
	}
	snprintf(out, 17, "%04d%02u%02uT%02d%02d%02dZ", (int)y, m, d, (int)(rem / 3600),
		 (int)(rem / 60 % 60), (int)(rem % 60));
}

/* ---------------------------------------------------------------------------
 * Headers: an index sorted by case-insensitive name, then arrival order. */

struct hent {
	const char *name;
	const char *value;
	size_t idx;
};

struct hindex {
	struct hent *v;
	size_t n;
};

static int hent_cmp(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;
	int c = ascii_casecmp(x->name, y->name);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int hindex_build(const struct berth_sigv4_request *req, struct hindex *hi)
{
	*hi = (struct hindex){0};
	if (!req->nheaders)
		return 0;
	if (!req->headers || req->nheaders > SIZE_MAX / sizeof(struct hent))
		return -1;
	hi->v = malloc(req->nheaders * sizeof(struct hent));
	if (!hi->v)
		return -1;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (!req->headers[i].name)
			continue;
		hi->v[hi->n++] = (struct hent){req->headers[i].name,
					       req->headers[i].value ? req->headers[i].value : "", i};
	}
	qsort(hi->v, hi->n, sizeof(struct hent), hent_cmp);
	return 0;
}

static void hindex_free(struct hindex *hi)
{
	free(hi->v);
	*hi = (struct hindex){0};
}

/* First entry named `name` (lower-case), or hi->n. */
static size_t hindex_find(const struct hindex *hi, const char *name)
{
	size_t lo = 0, hi_ = hi->n;
	while (lo < hi_) {
		size_t mid = lo + (hi_ - lo) / 2;
		if (ascii_casecmp(hi->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi_ = mid;
	}
	return (lo < hi->n && ascii_casecmp(hi->v[lo].name, name) == 0) ? lo : hi->n;
}

/* Append the canonical value of header `name`: each value trimmed with
 * whitespace runs collapsed to one space, repeated headers joined by ','.
 * Returns how many headers carry that name. */
static size_t put_header_value(struct sbuf *b, const struct hindex *hi, const char *name)
{
	size_t count = 0;
	for (size_t i = hindex_find(hi, name); i < hi->n && ascii_casecmp(hi->v[i].name, name) == 0;
	     i++, count++) {
		if (count)
			sb_putc(b, ',');
		const char *v = hi->v[i].value;
		bool pending_space = false, started = false;
		for (; *v; v++) {
			if (is_space(*v)) {
				pending_space = started;
				continue;
			}
			if (pending_space)
				sb_putc(b, ' ');
			pending_space = false;
			started = true;
			sb_putc(b, *v);
		}
	}
	return count;
}

static size_t header_count(const struct hindex *hi, const char *name)
{
	size_t count = 0;
	for (size_t i = hindex_find(hi, name); i < hi->n && ascii_casecmp(hi->v[i].name, name) == 0; i++)
		count++;
	return count;
}

/* ---------------------------------------------------------------------------
 * Canonical URI and query. */

/* botocore's normalize_url_path (RFC 3986 remove_dot_segments, runs of '/'
 * collapsed, trailing '/' kept), then UriEncode with '/' kept. */
static void put_canonical_path(struct sbuf *out, const char *path)
{
	if (!path || !*path) {
		sb_putc(out, '/');
		return;
	}
	size_t n = strlen(path);
	_cleanup_sbuf_ struct sbuf segs = {0}; /* "/seg/seg", raw */
	size_t nsegs = 0;
	for (const char *p = path; p <= path + n;) {
		const char *e = memchr(p, '/', (size_t)(path + n - p));
		if (!e)
			e = path + n;
		size_t len = (size_t)(e - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (nsegs) {
				char *last = memrchr(segs.p, '/', segs.len);
				segs.len = (size_t)(last - segs.p);
				segs.p[segs.len] = '\0';
				nsegs--;
			}
		} else if (len && !(len == 1 && p[0] == '.')) {
			sb_putc(&segs, '/');
			sb_putn(&segs, p, len);
			nsegs++;
		}
		if (segs.oom) {
			out->oom = true;
			return;
		}
		p = e + 1;
	}
	if (path[0] == '/')
		sb_putc(out, '/');
	if (nsegs)
		sb_put_encoded(out, segs.p + 1, segs.len - 1, true);
	if (path[n - 1] == '/' && nsegs)
		sb_putc(out, '/');
}

/* Percent-decode (with '+' as a space; a '%' not followed by two hex digits
 * stays literal) then UriEncode. */
static void put_query_component(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 &&
			   hex_value(s[i + 2]) >= 0) {
			c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		}
		sb_put_encoded(b, &c, 1, false);
	}
}

struct qpair {
	size_t koff, voff; /* into the pairs buffer, NUL-terminated */
	const char *k, *v;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

struct query_info {
	bool has_algorithm;      /* X-Amz-Algorithm: a presigned request */
	bool has_security_token; /* X-Amz-Security-Token */
};

/* Append the canonical query string.  Returns -1 on ENOMEM. */
static int put_canonical_query(struct sbuf *out, const char *query, struct query_info *info)
{
	*info = (struct query_info){0};
	if (!query || !*query)
		return 0;
	size_t n = strlen(query), npairs = 1;
	for (size_t i = 0; i < n; i++)
		npairs += query[i] == '&';
	struct qpair *pairs _cleanup_free_ = calloc(npairs, sizeof(*pairs));
	_cleanup_sbuf_ struct sbuf buf = {0};
	if (!pairs)
		return -1;
	size_t count = 0;
	for (const char *p = query; p <= query + n;) {
		const char *e = memchr(p, '&', (size_t)(query + n - p));
		if (!e)
			e = query + n;
		if (e > p) {
			const char *eq = memchr(p, '=', (size_t)(e - p));
			const char *kend = eq ? eq : e;
			struct qpair *q = &pairs[count++];
			q->koff = buf.len;
			put_query_component(&buf, p, (size_t)(kend - p));
			sb_putc(&buf, '\0');
			q->voff = buf.len;
			if (eq)
				put_query_component(&buf, eq + 1, (size_t)(e - eq - 1));
			sb_putc(&buf, '\0');
		}
		p = e + 1;
	}
	if (buf.oom)
		return -1;
	for (size_t i = 0; i < count; i++) {
		pairs[i].k = buf.p + pairs[i].koff;
		pairs[i].v = buf.p + pairs[i].voff;
		if (ascii_casecmp(pairs[i].k, "X-Amz-Algorithm") == 0)
			info->has_algorithm = true;
		if (ascii_casecmp(pairs[i].k, "X-Amz-Security-Token") == 0)
			info->has_security_token = true;
	}
	qsort(pairs, count, sizeof(*pairs), qpair_cmp);
	for (size_t i = 0; i < count; i++) {
		if (i)
			sb_putc(out, '&');
		sb_puts(out, pairs[i].k);
		sb_putc(out, '=');
		sb_puts(out, pairs[i].v);
	}
	return out->oom ? -1 : 0;
}

/* ---------------------------------------------------------------------------
 * SignedHeaders: lower-cased, sorted, no empty or repeated names. */

struct signed_list {
	char *buf;    /* lower-cased copy, names NUL-separated */
	char **names; /* sorted */
	size_t n;
};

static void signed_list_free(struct signed_list *s)
{
	free(s->buf);
	free(s->names);
	*s = (struct signed_list){0};
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_tchar(char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* 0 ok, 1 malformed, -1 ENOMEM. */
static int signed_list_parse(const char *s, struct signed_list *out)
{
	*out = (struct signed_list){0};
	size_t n = strlen(s), count = 1;
	for (size_t i = 0; i < n; i++)
		count += s[i] == ';';
	if (!n)
		count = 0;
	out->buf = malloc(n + 1);
	out->names = calloc(count ? count : 1, sizeof(char *));
	if (!out->buf || !out->names) {
		signed_list_free(out);
		return -1;
	}
	for (size_t i = 0; i <= n; i++)
		out->buf[i] = s[i] == ';' ? '\0' : ascii_lower(s[i]);
	for (char *p = out->buf; count && p <= out->buf + n; p += strlen(p) + 1) {
		if (!*p)
			goto bad;
		for (const char *c = p; *c; c++)
			if (!is_tchar(*c))
				goto bad;
		out->names[out->n++] = p;
	}
	qsort(out->names, out->n, sizeof(char *), str_ptr_cmp);
	for (size_t i = 1; i < out->n; i++)
		if (strcmp(out->names[i - 1], out->names[i]) == 0)
			goto bad;
	return 0;
bad:
	signed_list_free(out);
	return 1;
}

static bool signed_list_has(const struct signed_list *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------------------
 * Canonical request and string to sign. */

/* Method, canonical URI and canonical query lines. */
static int put_canonical_head(struct sbuf *out, const struct berth_sigv4_request *req,
			      struct query_info *qinfo)
{
	sb_puts(out, req->method ? req->method : "");
	sb_putc(out, '\n');
	put_canonical_path(out, req->path);
	sb_putc(out, '\n');
	if (put_canonical_query(out, req->query, qinfo) < 0)
		return -1;
	sb_putc(out, '\n');
	return out->oom ? -1 : 0;
}

/* Canonical headers, the signed headers line and the payload hash (also
 * returned in payload).  *absent counts signed headers the request lacks
 * (they appear as "name:"). */
static int put_canonical_tail(struct sbuf *out, const struct berth_sigv4_request *req,
			      const struct hindex *hi, const struct signed_list *sl,
			      char payload[SIG_HEX_LEN + 1], size_t *absent)
{
	*absent = 0;
	for (size_t i = 0; i < sl->n; i++) {
		sb_puts(out, sl->names[i]);
		sb_putc(out, ':');
		*absent += put_header_value(out, hi, sl->names[i]) == 0;
		sb_putc(out, '\n');
	}
	sb_putc(out, '\n');
	for (size_t i = 0; i < sl->n; i++) {
		if (i)
			sb_putc(out, ';');
		sb_puts(out, sl->names[i]);
	}
	sb_putc(out, '\n');
	sha256_hex(req->body, req->body_len, payload);
	sb_puts(out, payload);
	return out->oom ? -1 : 0;
}

static int build_canonical_request(const struct berth_sigv4_request *req, const struct hindex *hi,
				   const struct signed_list *sl, struct sbuf *out)
{
	struct query_info qinfo;
	char payload[SIG_HEX_LEN + 1];
	size_t absent;
	if (put_canonical_head(out, req, &qinfo) < 0)
		return -1;
	return put_canonical_tail(out, req, hi, sl, payload, &absent);
}

static void put_string_to_sign(struct sbuf *out, const char *amz_date, const char *region,
			       const char *service, const char *creq, size_t creq_len)
{
	char hash[SIG_HEX_LEN + 1];
	sha256_hex(creq, creq_len, hash);
	sb_puts(out, ALGORITHM "\n");
	sb_puts(out, amz_date);
	sb_putc(out, '\n');
	sb_putn(out, amz_date, strnlen(amz_date, 8));
	sb_putc(out, '/');
	sb_puts(out, region);
	sb_putc(out, '/');
	sb_puts(out, service);
	sb_puts(out, "/" TERMINATOR "\n");
	sb_puts(out, hash);
}

/* The request's date: X-Amz-Date (ISO 8601 basic) or, without it, Date (that
 * or an HTTP date).  The canonical header value goes to raw.  Returns 0, 1 when
 * neither header is present, 2 when the value is not a date, -1 on ENOMEM. */
static int request_date(const struct hindex *hi, struct sbuf *raw, time_t *t)
{
	bool amz = header_count(hi, "x-amz-date") > 0;
	if (!amz && !header_count(hi, "date"))
		return 1;
	put_header_value(raw, hi, amz ? "x-amz-date" : "date");
	if (raw->oom)
		return -1;
	const char *v = raw->p ? raw->p : "";
	if (parse_iso_basic(v, t) || (!amz && parse_http_date(v, t)))
		return 0;
	return 2;
}

static int check_request(const struct berth_sigv4_request *req, struct berth_err *err)
{
	if (!req || (!req->body && req->body_len))
		return berth_err_set(err, EINVAL, "sigv4: invalid request");
	return 0;
}

int berth_sigv4_canonical_request(const struct berth_sigv4_request *req,
				  const char *signed_headers, char **out, struct berth_err *err)
{
	struct hindex hi;
	struct signed_list sl;
	_cleanup_sbuf_ struct sbuf b = {0};

	if (check_request(req, err) < 0)
		return -1;
	int r = signed_list_parse(signed_headers ? signed_headers : "", &sl);
	if (r > 0)
		return berth_err_set(err, EINVAL, "sigv4: invalid SignedHeaders list");
	if (r < 0)
		return berth_err_set(err, ENOMEM, "sigv4 canonical request");
	if (hindex_build(req, &hi) < 0) {
		signed_list_free(&sl);
		return berth_err_set(err, ENOMEM, "sigv4 canonical request");
	}
	r = build_canonical_request(req, &hi, &sl, &b);
	hindex_free(&hi);
	signed_list_free(&sl);
	if (r < 0 || !(*out = sb_take(&b)))
		return berth_err_set(err, ENOMEM, "sigv4 canonical request");
	return 0;
}

int berth_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
			       const char *canonical_request, char **out, struct berth_err *err)
{
	_cleanup_sbuf_ struct sbuf b = {0};
	if (!amz_date || strlen(amz_date) < 8 || !region || !service || !canonical_request)
		return berth_err_set(err, EINVAL, "sigv4 string to sign: invalid argument");
	put_string_to_sign(&b, amz_date, region, service, canonical_request,
			   strlen(canonical_request));
	if (!(*out = sb_take(&b)))
		return berth_err_set(err, ENOMEM, "sigv4 string to sign");
	return 0;
}

/* Signature hex for a canonical request. */
static int compute_signature(const char *secret, const char *amz_date, const char *region,
			     const char *service, const struct sbuf *creq, char sig[SIG_HEX_LEN + 1])
{
	_cleanup_sbuf_ struct sbuf sts = {0};
	unsigned char key[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];

	put_string_to_sign(&sts, amz_date, region, service, creq->p, creq->len);
	if (sts.oom)
		return -1;
	if (derive_key(secret, amz_date, 8, region, service, key) < 0)
		return -2;
	hmac_sha256(key, sizeof(key), sts.p, sts.len, mac);
	OPENSSL_cleanse(key, sizeof(key));
	to_hex(mac, sizeof(mac), sig);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Signing (botocore's rules: every header but a few). */

static bool sign_skips(const char *name)
{
	static const char *const skip[] = {"authorization", "user-agent", "expect",
					   "x-amzn-trace-id"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (ascii_casecmp(name, skip[i]) == 0)
			return true;
	return false;
}

int berth_sigv4_sign(const struct berth_sigv4_request *req, const char *region,
		     const char *service, const char *access_key_id, const char *secret,
		     char *authorization, size_t authorization_len, struct berth_err *err)
{
	struct hindex hi;
	struct signed_list sl = {0};
	_cleanup_sbuf_ struct sbuf names = {0};
	_cleanup_sbuf_ struct sbuf creq = {0};
	_cleanup_sbuf_ struct sbuf date = {0};
	char sig[SIG_HEX_LEN + 1], amz_date[17];
	time_t t;
	int r = -1;

	if (check_request(req, err) < 0)
		return -1;
	if (!region || !service || !access_key_id || !secret)
		return berth_err_set(err, EINVAL, "sigv4 sign: missing argument");
	if (hindex_build(req, &hi) < 0)
		return berth_err_set(err, ENOMEM, "sigv4 sign");
	int dr = request_date(&hi, &date, &t);
	if (dr < 0) {
		berth_err_set(err, ENOMEM, "sigv4 sign");
		goto out;
	}
	if (dr > 0) {
		berth_err_set(err, EINVAL, "sigv4 sign: the request needs an X-Amz-Date header "
					   "(YYYYMMDDTHHMMSSZ) or a Date header");
		goto out;
	}
	format_iso_basic(t, amz_date);
	if (!header_count(&hi, "host")) {
		berth_err_set(err, EINVAL, "sigv4 sign: the request needs a Host header");
		goto out;
	}
	for (size_t i = 0; i < hi.n; i++) {
		if (sign_skips(hi.v[i].name) || (i && ascii_casecmp(hi.v[i - 1].name, hi.v[i].name) == 0))
			continue;
		if (names.len)
			sb_putc(&names, ';');
		sb_puts(&names, hi.v[i].name);
	}
	if (names.oom) {
		berth_err_set(err, ENOMEM, "sigv4 sign");
		goto out;
	}
	int pr = signed_list_parse(names.p ? names.p : "", &sl);
	if (pr != 0) {
		berth_err_set(err, pr < 0 ? ENOMEM : EINVAL,
			      pr < 0 ? "sigv4 sign" : "sigv4 sign: invalid header name");
		goto out;
	}
	if (build_canonical_request(req, &hi, &sl, &creq) < 0) {
		berth_err_set(err, ENOMEM, "sigv4 sign");
		goto out;
	}
	int cr = compute_signature(secret, amz_date, region, service, &creq, sig);
	if (cr < 0) {
		berth_err_set(err, cr == -1 ? ENOMEM : EINVAL,
			      cr == -1 ? "sigv4 sign" : "sigv4 sign: secret too long");
		goto out;
	}
	/* SignedHeaders as the canonical request lists them: sorted, lower case. */
	names.len = 0;
	for (size_t i = 0; i < sl.n; i++) {
		if (i)
			sb_putc(&names, ';');
		sb_puts(&names, sl.names[i]);
	}
	if (names.oom) {
		berth_err_set(err, ENOMEM, "sigv4 sign");
		goto out;
	}
	int w = snprintf(authorization, authorization_len,
			 ALGORITHM " Credential=%s/%.8s/%s/%s/" TERMINATOR
				   ", SignedHeaders=%s, Signature=%s",
			 access_key_id, amz_date, region, service, names.p, sig);
	if (w < 0 || (size_t)w >= authorization_len) {
		berth_err_set(err, ENOSPC, "sigv4 sign: Authorization header does not fit");
		goto out;
	}
	r = 0;
out:
	hindex_free(&hi);
	signed_list_free(&sl);
	return r;
}

/* ---------------------------------------------------------------------------
 * Verification. */

static void appendf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Append to a NUL-terminated buffer, truncating. */
static void appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	if (len + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static int refuse(struct berth_sigv4_result *res, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct berth_sigv4_result *res, const char *code, const char *fmt, ...)
{
	va_list ap;
	res->http_status = 400;
	snprintf(res->error_code, sizeof(res->error_code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	res->region[0] = '\0';
	return 1;
}

/* The Authorization header's parameters.  Values point into `copy`. */
struct auth_params {
	char *copy;
	const char *algorithm;
	const char *credential, *signed_headers, *signature;
};

/* 0 ok, 1 refused, -1 ENOMEM. */
static int parse_authorization(const char *header, const char *echo, struct auth_params *ap,
			       struct berth_sigv4_result *res)
{
	char tok[64];

	*ap = (struct auth_params){0};
	ap->copy = strdup(header);
	if (!ap->copy)
		return -1;
	char *p = ap->copy;
	while (is_space(*p))
		p++;
	ap->algorithm = p;
	while (*p && !is_space(*p))
		p++;
	if (*p)
		*p++ = '\0';
	for (;;) {
		while (*p == ',' || is_space(*p))
			p++;
		if (!*p)
			break;
		char *t = p;
		while (*p && *p != ',' && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
		char *eq = strchr(t, '=');
		if (!eq) {
			copy_printable(tok, sizeof(tok), t, strlen(t));
			return refuse(res, BERTH_SIGV4_INCOMPLETE,
				      "'%s' not a valid key=value pair (missing equal-sign) in "
				      "Authorization header: '%s'.",
				      tok, echo);
		}
		*eq = '\0';
		const char **slot = NULL;
		if (strcmp(t, "Credential") == 0)
			slot = &ap->credential;
		else if (strcmp(t, "SignedHeaders") == 0)
			slot = &ap->signed_headers;
		else if (strcmp(t, "Signature") == 0)
			slot = &ap->signature;
		if (!slot)
			continue; /* AWS ignores parameters it does not know */
		if (*slot)
			return refuse(res, BERTH_SIGV4_INCOMPLETE,
				      "Authorization header has more than one '%s' parameter: '%s'.",
				      t, echo);
		*slot = eq + 1;
	}
	return 0;
}

/* A region name as AWS spells them ("us-east-1"): reported back to the
 * caller, who may put it in ARNs. */
static bool region_name_ok(const char *r)
{
	size_t n = strlen(r);
	if (!n || n >= sizeof(((struct berth_sigv4_result *)0)->region))
		return false;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || is_digit(*r) || *r == '-'))
			return false;
	return true;
}

/* Credential=AKID/YYYYMMDD/region/service/aws4_request (trailing '/'
 * ignored): split into part[] (in place) and check the scope against the
 * configuration and the request's date.  0 ok, 1 refused. */
static int check_credential(char *cred, const char *region, const char *service,
			    const char amz_date[17], const struct sbuf *date_raw, char *part[5],
			    struct berth_sigv4_result *res)
{
	size_t clen = strlen(cred), nparts = 0;
	while (clen && cred[clen - 1] == '/')
		cred[--clen] = '\0';
	for (char *p = cred;; p++) {
		char *slash = strchr(p, '/');
		if (nparts < 5)
			part[nparts] = p;
		nparts++;
		if (!slash)
			break;
		*slash = '\0';
		p = slash;
	}
	if (nparts != 5) {
		char got[96];
		for (size_t i = 0; i < clen; i++) /* re-join for the message */
			if (!cred[i])
				cred[i] = '/';
		copy_printable(got, sizeof(got), cred, clen);
		return refuse(res, BERTH_SIGV4_INCOMPLETE,
			      "Credential must have exactly 5 slash-delimited elements, e.g. "
			      "keyid/date/region/service/term, got '%s'",
			      got);
	}
	copy_printable(res->access_key_id, sizeof(res->access_key_id), part[0], strlen(part[0]));

	/* AWS reports every scope mismatch at once. */
	char msg[sizeof(res->message)] = "", a[48], b[48];
	if ((region && strcmp(part[2], region) != 0) || !region_name_ok(part[2])) {
		copy_printable(a, sizeof(a), part[2], strlen(part[2]));
		appendf(msg, sizeof(msg), "Credential should be scoped to a valid region, not '%s'. ",
			a);
	}
	if (strcmp(part[3], service) != 0) {
		copy_printable(a, sizeof(a), service, strlen(service));
		appendf(msg, sizeof(msg), "Credential should be scoped to correct service: '%s'. ", a);
	}
	if (strcmp(part[4], TERMINATOR) != 0) {
		copy_printable(a, sizeof(a), part[4], strlen(part[4]));
		appendf(msg, sizeof(msg),
			"Credential should be scoped with a valid terminator: '" TERMINATOR
			"', not '%s'. ",
			a);
	}
	if (strlen(part[1]) != 8 || strncmp(part[1], amz_date, 8) != 0) {
		copy_printable(a, sizeof(a), part[1], strlen(part[1]));
		copy_printable(b, sizeof(b), date_raw->p ? date_raw->p : "", date_raw->len);
		appendf(msg, sizeof(msg),
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
			"date from HTTP: '%s' != '%.8s', from '%s'.",
			a, amz_date, b);
	}
	if (!msg[0])
		return 0;
	size_t l = strlen(msg);
	if (msg[l - 1] == ' ') /* the last sentence's trailing space */
		msg[l - 1] = '\0';
	return refuse(res, BERTH_SIGV4_INVALID, "%s", msg);
}

int berth_sigv4_verify(const struct berth_sigv4_request *req, const char *region,
		       const char *service, time_t now, berth_sigv4_secret_fn fn, void *ctx,
		       struct berth_sigv4_result *res, struct berth_err *err)
{
	struct hindex hi = {0};
	struct auth_params ap = {0};
	struct signed_list sl = {0};
	struct query_info qinfo;
	_cleanup_sbuf_ struct sbuf creq = {0};
	_cleanup_sbuf_ struct sbuf datebuf = {0};
	_cleanup_wipe_secret_ char secret[BERTH_SIGV4_SECRET_MAX + 1];
	_cleanup_wipe_sig_ char expected[SIG_HEX_LEN + 1];
	char amz_date[17], when[17], limit[17], echo[160], payload[SIG_HEX_LEN + 1];
	time_t t;
	int r = -1;

	*res = (struct berth_sigv4_result){0};
	if (check_request(req, err) < 0)
		return -1;
	if (!service || !fn)
		return berth_err_set(err, EINVAL, "sigv4 verify: missing argument");
	if (hindex_build(req, &hi) < 0)
		return berth_err_set(err, ENOMEM, "sigv4 verify");

	/* The canonical request up to the headers also tells us about the query. */
	size_t nauth = header_count(&hi, "authorization");
	if (put_canonical_head(&creq, req, &qinfo) < 0)
		goto oom;

	if (nauth == 0) {
		if (qinfo.has_algorithm)
			r = refuse(res, BERTH_SIGV4_INCOMPLETE,
				   "Query-string (presigned) authentication is not supported; "
				   "sign the request with an Authorization header.");
		else
			r = refuse(res, BERTH_SIGV4_MISSING_TOKEN, "Missing Authentication Token");
		goto out;
	}
	if (nauth > 1) {
		r = refuse(res, BERTH_SIGV4_INCOMPLETE,
			   "Found more than one 'Authorization' header.");
		goto out;
	}
	if (qinfo.has_algorithm) {
		r = refuse(res, BERTH_SIGV4_INVALID,
			   "Found both 'X-Amz-Algorithm' as a query-string param and "
			   "'Authorization' as HTTP header.");
		goto out;
	}
	const char *auth = hi.v[hindex_find(&hi, "authorization")].value;
	size_t alen = strlen(auth);
	while (alen && is_space(auth[alen - 1]))
		alen--;
	for (; alen && is_space(*auth); alen--)
		auth++;
	copy_printable(echo, sizeof(echo), auth, alen);
	r = parse_authorization(auth, echo, &ap, res);
	if (r < 0)
		goto oom;
	if (r)
		goto out;

	/* Everything required present? */
	bool has_date = header_count(&hi, "x-amz-date") || header_count(&hi, "date");
	if (!ap.credential || !*ap.credential || !ap.signature || !*ap.signature ||
	    !ap.signed_headers || !has_date) {
		r = refuse(res, BERTH_SIGV4_INCOMPLETE, "%s%s%s%sAuthorization=%s",
			   !ap.credential || !*ap.credential
				   ? "Authorization header requires 'Credential' parameter. "
				   : "",
			   !ap.signature || !*ap.signature
				   ? "Authorization header requires 'Signature' parameter. "
				   : "",
			   !ap.signed_headers
				   ? "Authorization header requires 'SignedHeaders' parameter. "
				   : "",
			   !has_date ? "Authorization header requires existence of either a "
				       "'X-Amz-Date' or a 'Date' header. "
				     : "",
			   echo);
		goto out;
	}

	/* The date: X-Amz-Date, else Date (ISO 8601 basic, or an HTTP date). */
	int dr = request_date(&hi, &datebuf, &t);
	if (dr < 0)
		goto oom;
	if (dr > 0) {
		char got[64];
		copy_printable(got, sizeof(got), datebuf.p ? datebuf.p : "", datebuf.len);
		r = refuse(res, BERTH_SIGV4_INCOMPLETE,
			   "Date must be in ISO-8601 'basic format'. Got '%s'. See "
			   "http://en.wikipedia.org/wiki/ISO_8601",
			   got);
		goto out;
	}
	format_iso_basic(t, amz_date);
	format_iso_basic(now, when);
	if (t < now - BERTH_SIGV4_MAX_SKEW_SECONDS) {
		format_iso_basic(now - BERTH_SIGV4_MAX_SKEW_SECONDS, limit);
		r = refuse(res, BERTH_SIGV4_INVALID,
			   "Signature expired: %s is now earlier than %s (%s - %d min.)", amz_date,
			   limit, when, BERTH_SIGV4_MAX_SKEW_SECONDS / 60);
		goto out;
	}
	if (t > now + BERTH_SIGV4_MAX_SKEW_SECONDS) {
		format_iso_basic(now + BERTH_SIGV4_MAX_SKEW_SECONDS, limit);
		r = refuse(res, BERTH_SIGV4_INVALID,
			   "Signature not yet current: %s is still later than %s (%s + %d min.)",
			   amz_date, limit, when, BERTH_SIGV4_MAX_SKEW_SECONDS / 60);
		goto out;
	}

	/* SignedHeaders, which must include host. */
	r = signed_list_parse(ap.signed_headers, &sl);
	if (r < 0)
		goto oom;
	if (r > 0) {
		char list[96];
		copy_printable(list, sizeof(list), ap.signed_headers, strlen(ap.signed_headers));
		r = refuse(res, BERTH_SIGV4_INCOMPLETE,
			   "'SignedHeaders' must be a ';'-separated list of distinct header names, "
			   "got '%s'.",
			   list);
		goto out;
	}
	if (!signed_list_has(&sl, "host")) {
		r = refuse(res, BERTH_SIGV4_INVALID,
			   "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
		goto out;
	}

	if (strcmp(ap.algorithm, ALGORITHM) != 0) {
		char alg[64];
		copy_printable(alg, sizeof(alg), ap.algorithm, strlen(ap.algorithm));
		r = refuse(res, BERTH_SIGV4_INCOMPLETE,
			   "Unsupported AWS 'algorithm': '%s' (only " ALGORITHM " for now). ", alg);
		goto out;
	}

	char *part[5];
	r = check_credential((char *)ap.credential, region, service, amz_date, &datebuf, part, res);
	if (r)
		goto out;

	/* The key. */
	if (strlen(part[0]) > BERTH_SIGV4_AKID_MAX || !*part[0] ||
	    fn(ctx, part[0], secret, sizeof(secret)) != 0 ||
	    strnlen(secret, sizeof(secret)) == sizeof(secret)) {
		r = refuse(res, BERTH_SIGV4_UNRECOGNIZED,
			   "The security token included in the request is invalid.");
		goto out;
	}

	/* The rest of the canonical request, and the signature.  A signed header
	 * the request does not carry cannot have been signed as it is. */
	size_t absent;
	if (put_canonical_tail(&creq, req, &hi, &sl, payload, &absent) < 0)
		goto oom;
	int cr = compute_signature(secret, amz_date, part[2], part[3], &creq, expected);
	if (cr == -1)
		goto oom;
	if (cr < 0 || absent || strlen(ap.signature) != SIG_HEX_LEN ||
	    CRYPTO_memcmp(ap.signature, expected, SIG_HEX_LEN) != 0) {
		r = refuse(res, BERTH_SIGV4_INVALID,
			   "The request signature we calculated does not match the signature you "
			   "provided. Check your AWS Secret Access Key and signing method. Consult "
			   "the service documentation for details.");
		goto out;
	}

	/* A payload hash header, when sent, must be the body's. */
	if (header_count(&hi, "x-amz-content-sha256")) {
		_cleanup_sbuf_ struct sbuf h = {0};
		put_header_value(&h, &hi, "x-amz-content-sha256");
		if (h.oom)
			goto oom;
		if (!h.p || strcmp(h.p, payload) != 0) {
			r = refuse(res, BERTH_SIGV4_INVALID,
				   "The provided 'x-amz-content-sha256' header does not match what "
				   "was computed.");
			goto out;
		}
	}

	/* berth issues no session tokens: any token is one it cannot validate. */
	if (header_count(&hi, "x-amz-security-token") || qinfo.has_security_token) {
		r = refuse(res, BERTH_SIGV4_UNRECOGNIZED,
			   "The security token included in the request is invalid.");
		goto out;
	}

	snprintf(res->region, sizeof(res->region), "%s", part[2]);
	r = 0;
	goto out;

oom:
	r = berth_err_set(err, ENOMEM, "sigv4 verify");
out:
	hindex_free(&hi);
	free(ap.copy);
	signed_list_free(&sl);
	return r;
}
