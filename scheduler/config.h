/* berth scheduler/ — berth's configuration file.
 *
 * JSON, by default /etc/berth/berth.json (--config FILE or $BERTH_CONFIG
 * elsewhere).  A missing default file means defaults; a missing file that
 * was named explicitly is an error.  Sections:
 *   "network"   the task network (netns/netns.h, docs/NETWORK.md)
 * Unknown top-level keys are refused, so a typo never passes silently.
 */
#ifndef BERTH_SCHEDULER_CONFIG_H
#define BERTH_SCHEDULER_CONFIG_H

#include <stdbool.h>

#include "common/err.h"
#include "netns/netns.h"

#define BERTH_DEFAULT_CONFIG "/etc/berth/berth.json"

struct berth_conf {
	char *path;                  /* the file read, or NULL when defaults are used */
	struct berth_net_config net;
};

/* path NULL: BERTH_DEFAULT_CONFIG, which may be absent. */
int berth_conf_load(const char *path, struct berth_conf *out, struct berth_err *err);
void berth_conf_free(struct berth_conf *c);

#endif
