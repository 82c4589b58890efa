/* berth scheduler/ — the task-definition registry behind berthd's ECS API:
 * RegisterTaskDefinition, DeregisterTaskDefinition, DescribeTaskDefinition,
 * ListTaskDefinitions and ListTaskDefinitionFamilies
 * (berth_registry_actions[] in scheduler/api.h).
 *
 * State, owned by one daemon (an flock on <root>/taskdefs/.lock, held until
 * berth_registry_close; ".lock" because "lock" is a valid family name):
 *
 *   <root>/taskdefs/<family>/next        the next revision number ("4\n")
 *   <root>/taskdefs/<family>/<rev>.json  {"taskDefinition": {...}, "tags": [...]}
 *
 * A revision file is DescribeTaskDefinition's full answer (the output of
 * berth_taskdef_to_json with the read-only fields), written compactly and
 * atomically (temp file, fsync, rename, fsync of the directory) before the
 * API answers.  Registering writes `next` first, then the revision, so a
 * revision number is never handed out twice, even after a crash between the
 * two writes or after a revision's file is lost; at open, next is the
 * larger of the counter and 1 + the highest N.json present.
 *
 * Everything is loaded at open; a revision file that does not read back
 * (corrupt, half-written by hand, from another family) is reported on stderr
 * ("berth: warning: ...") and skipped; stale temp files are removed.
 *
 * Memory: the parsed model (struct berth_taskdef) of every revision, in an
 * array of families sorted by name, each with its revisions sorted by number:
 * lookups are two binary searches; registering a new family is O(families)
 * (one memmove).  Lists walk in order from the page's starting point.
 *
 * Limits: 1,000,000 revisions per family (ECS's quota); at most
 * BERTH_REGISTRY_MAX_REVISIONS revisions and BERTH_REGISTRY_MAX_BYTES of
 * stored JSON in all (deregistered revisions count: they stay describable).
 * A definition whose stored form (defaults filled in) would exceed ECS's
 * 64 KiB limit is refused, so that every file written reads back.
 */
#ifndef BERTH_SCHEDULER_REGISTRY_H
#define BERTH_SCHEDULER_REGISTRY_H

#include <stdint.h>

#include "common/err.h"
#include "scheduler/taskdef.h"

#define BERTH_REGISTRY_MAX_REVISIONS_PER_FAMILY 1000000u
#define BERTH_REGISTRY_MAX_REVISIONS 100000u
#define BERTH_REGISTRY_MAX_BYTES (256u << 20)

struct berth_registry;

/* Create (0700) <root>/taskdefs if needed, take its lock and load it.  Fails
 * when another process holds the lock. */
int berth_registry_open(const char *root, struct berth_registry **out, struct berth_err *err);
void berth_registry_close(struct berth_registry *r);

/* For RunTask: "family" (its latest ACTIVE revision), "family:rev" or the
 * revision's full ARN (an explicit revision is returned whatever its status:
 * see berth_registry_status).  NULL when ref is malformed or names nothing.
 * *revision and *arn (both optional) are filled on success; the model and the
 * ARN stay valid until berth_registry_close. */
const struct berth_taskdef *berth_registry_resolve(struct berth_registry *r, const char *ref, uint32_t *revision,
						   const char **arn);

/* "ACTIVE", "INACTIVE" or "DELETE_IN_PROGRESS" for family:revision, NULL
 * when there is no such revision. */
const char *berth_registry_status(struct berth_registry *r, const char *family, uint32_t revision);

#endif
