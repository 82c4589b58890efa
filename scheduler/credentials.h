/* berth — the key pairs berthd accepts on TCP, from a credentials file.
 *
 * The file uses the AWS shared-credentials format, so the same file can be
 * handed to the AWS CLI (AWS_SHARED_CREDENTIALS_FILE) by whoever may talk to
 * berthd:
 *
 *     # comments start with '#' or ';'
 *     [default]
 *     aws_access_key_id = AKIDEXAMPLE
 *     aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
 *
 *     [ci]
 *     aws_access_key_id=AKIDCI
 *     aws_secret_access_key=...
 *
 * Every profile with a key pair is one accepted pair.  Key names are
 * case-insensitive, whitespace around '=' (or ':') is ignored, other keys
 * (region, output, ...) are ignored.  Refused, with the line number: a key
 * outside a section, a repeated section or key, a profile with only half a
 * pair, an access key id used twice, ids other than [A-Za-z0-9._-]{1,127},
 * secrets other than 1-255 printable non-space ASCII characters, no pair at
 * all.  As it holds secrets, the file itself is refused when it is a symbolic
 * link, not a regular file, accessible to group or others (mode & 077), or
 * owned by someone other than the caller or root.
 *
 * Secrets are wiped from memory (OPENSSL_cleanse) when freed.
 */
#ifndef BERTH_SCHEDULER_CREDENTIALS_H
#define BERTH_SCHEDULER_CREDENTIALS_H

#include <stddef.h>

#include "common/err.h"

#define BERTH_CREDENTIALS_FILE_MAX (1024 * 1024)

struct berth_credential {
	char *profile;        /* section name */
	char *access_key_id;
	char *secret;
};

struct berth_credentials {
	struct berth_credential *keys;
	size_t n;
};

/* Load path.  *out is owned by the caller (berth_credentials_free). */
int berth_credentials_load(const char *path, struct berth_credentials **out,
			   struct berth_err *err);

/* Parse a file's contents (what berth_credentials_load does after its checks;
 * exposed for tests).  name is used in error messages. */
int berth_credentials_parse(const char *text, size_t len, const char *name,
			    struct berth_credentials **out, struct berth_err *err);

/* Wipes the secrets; NULL is fine. */
void berth_credentials_free(struct berth_credentials *c);

/* The pair with this access key id, or NULL. */
const struct berth_credential *berth_credentials_find(const struct berth_credentials *c,
						      const char *access_key_id);

/* A berth_sigv4_secret_fn (scheduler/sigv4.h) over ctx = struct berth_credentials *. */
int berth_credentials_secret(void *ctx, const char *access_key_id, char *secret,
			     size_t secret_len);

#endif
