/* berth — AWS Signature Version 4: verifying requests to berthd's ECS API.
 *
 * berthd serves Amazon ECS's JSON 1.1 API so that `aws ecs --endpoint-url`
 * and the AWS SDKs work against it.  On TCP every request must carry a valid
 * SigV4 Authorization header made with a key pair from berth's credentials
 * file (scheduler/credentials.h).  berth_sigv4_verify() checks one request and,
 * when it refuses it, fills in the error AWS itself would answer: the
 * "__type" code and message of ECS's (Coral) authentication layer, in the
 * order AWS checks things, so SDKs raise the exceptions their users know.
 *
 * What is verified (the non-S3 flavour of SigV4):
 *   - canonical URI: the raw request-target path with dot segments removed and
 *     runs of '/' collapsed (botocore's normalize_url_path), then every byte
 *     but RFC 3986 unreserved ones and '/' percent-encoded once more — the
 *     "double encoding" of non-S3 services (a path sent as /a%20b is signed
 *     as /a%2520b);
 *   - canonical query: split on '&' (empty pieces dropped), each name and
 *     value percent-decoded ('+' is a space, as in the query strings botocore
 *     sends) and re-encoded strictly, pairs sorted by name then value,
 *     "name=" kept for empty values;
 *   - canonical headers: the SignedHeaders list (lower-cased, sorted); each
 *     header's values trimmed, runs of whitespace collapsed to one space,
 *     repeated headers joined with ',' in the order received; a signed header
 *     the request does not carry fails the signature; unsigned headers are
 *     ignored (clients add Content-Length, User-Agent, amz-sdk-* after signing);
 *   - payload: SHA-256 of the body (never the x-amz-content-sha256 header;
 *     when that header is present it must equal the body's hash);
 *   - date: X-Amz-Date (ISO 8601 basic, 20150830T123600Z) or, without it, a
 *     Date header (that format or RFC 1123 / RFC 2822, as botocore writes it);
 *     within BERTH_SIGV4_MAX_SKEW_SECONDS of `now`;
 *   - credential scope: AKID/<the date's day>/<region>/<service>/aws4_request,
 *     'host' among SignedHeaders, signature compared in constant time.
 *
 * Not supported, and refused: presigned URLs (X-Amz-* query parameters) and
 * session tokens (X-Amz-Security-Token, header or query, signed or not):
 * berth issues no temporary credentials, so any token is one it cannot
 * validate — UnrecognizedClientException, as AWS answers for a bad token.
 *
 * No OpenSSL library context is ever initialised: HMAC-SHA256 is built on the
 * low-level SHA-256 functions (see common/util.c for why).
 */
#ifndef BERTH_SCHEDULER_SIGV4_H
#define BERTH_SCHEDULER_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"

/* AWS's clock-skew allowance: the request's date may be this far from now. */
#define BERTH_SIGV4_MAX_SKEW_SECONDS (15 * 60)

/* Lengths berth accepts for credentials (the buffers below hold them + NUL). */
#define BERTH_SIGV4_AKID_MAX 127
#define BERTH_SIGV4_SECRET_MAX 255

struct berth_http_header {
	const char *name;  /* as received; any case; repeated names allowed */
	const char *value; /* as received (the HTTP parser has stripped CRLF) */
};

struct berth_sigv4_request {
	const char *method;       /* "POST" */
	const char *path;         /* raw request-target path, undecoded: "/" */
	const char *query;        /* raw query without '?'; NULL or "" for none */
	const struct berth_http_header *headers;
	size_t nheaders;
	const void *body;         /* may be NULL when body_len is 0 */
	size_t body_len;
};

/* Looks up the secret key of an access key id: returns 0 and writes it
 * NUL-terminated into secret (secret_len bytes), or -1 when the id is unknown
 * (or its secret does not fit). */
typedef int (*berth_sigv4_secret_fn)(void *ctx, const char *access_key_id, char *secret,
				     size_t secret_len);

/* The error codes a refusal carries (AWS's JSON-protocol "__type" values). */
#define BERTH_SIGV4_MISSING_TOKEN "MissingAuthenticationTokenException"
#define BERTH_SIGV4_INCOMPLETE "IncompleteSignatureException"
#define BERTH_SIGV4_INVALID "InvalidSignatureException"
#define BERTH_SIGV4_UNRECOGNIZED "UnrecognizedClientException"

struct berth_sigv4_result {
	int http_status;        /* 400 when refused (what ECS answers for all of these), 0 when valid */
	char access_key_id[BERTH_SIGV4_AKID_MAX + 1]; /* from Credential=, once parsed ("" before);
							* printable ASCII, truncated; exact when valid */
	char region[64];        /* the credential scope's region when valid */
	char error_code[64];    /* "" when valid, else one of BERTH_SIGV4_* above */
	char message[256];      /* AWS's message (client-supplied text echoed in it is
				 * reduced to printable ASCII) */
};

/* Verify one request.  region NULL accepts any region in the credential scope
 * made of [a-z0-9-] (it is reported in res->region); service is "ecs".  now is the current time
 * (a parameter, so tests need no clock).  Returns 0 when the signature is
 * valid, 1 when the request is refused (res says why: return the error to the
 * client as {"__type": error_code, "message": message} with http_status),
 * -1 on an internal error (ENOMEM) with err filled.  res is always written. */
int berth_sigv4_verify(const struct berth_sigv4_request *req, const char *region,
		       const char *service, time_t now, berth_sigv4_secret_fn fn, void *ctx,
		       struct berth_sigv4_result *res, struct berth_err *err);

/* The canonical request for req with the given SignedHeaders value
 * ("content-type;host;x-amz-date"; any case and order): for diagnostics (AWS
 * shows it when a signature does not match) and tests.  *out is malloc'd. */
int berth_sigv4_canonical_request(const struct berth_sigv4_request *req,
				  const char *signed_headers, char **out, struct berth_err *err);

/* The string to sign for a canonical request: "AWS4-HMAC-SHA256\n<amz_date>\n
 * <amz_date's day>/<region>/<service>/aws4_request\n<hex SHA-256 of it>". */
int berth_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
			       const char *canonical_request, char **out, struct berth_err *err);

/* The SigV4 signing key: HMAC chain over "AWS4"+secret, date (YYYYMMDD),
 * region, service, "aws4_request". */
int berth_sigv4_signing_key(const char *secret, const char *date, const char *region,
			    const char *service, unsigned char key[32], struct berth_err *err);

/* Sign req the way botocore does, for berth's own clients and for tests:
 * every header present is signed except Authorization, User-Agent, Expect and
 * X-Amzn-Trace-Id; req must carry Host and a date (X-Amz-Date, ISO 8601 basic,
 * or a Date header, read as berth_sigv4_verify reads it).  Writes the
 * Authorization header value into authorization. */
int berth_sigv4_sign(const struct berth_sigv4_request *req, const char *region,
		     const char *service, const char *access_key_id, const char *secret,
		     char *authorization, size_t authorization_len, struct berth_err *err);

#endif
