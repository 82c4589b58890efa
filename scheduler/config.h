/* berth scheduler/ — berth's configuration file.
 *
 * JSON, by default /etc/berth/berth.json (--config FILE or $BERTH_CONFIG
 * elsewhere).  A missing default file means defaults; a missing file that
 * was named explicitly is an error.  Sections:
 *   "network"   the task network (netns/netns.h, docs/NETWORK.md)
 *   "api"       berthd's listeners and identity:
 *                 "socket": "/run/berth/berth.sock"   (mode 0600, root only)
 *                 "listen": "127.0.0.1:8080"          (TCP, loopback only; absent = none)
 *                 "credentialsFile": "/etc/berth/credentials"   (AWS shared-credentials
 *                                format; required when "listen" is set: every TCP request
 *                                must carry a valid SigV4 signature by one of its keys)
 *                 "region": "us-east-1", "account": "000000000000"  (for ARNs)
 * Unknown top-level keys are refused, so a typo never passes silently.
 */
#ifndef BERTH_SCHEDULER_CONFIG_H
#define BERTH_SCHEDULER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "netns/netns.h"

#define BERTH_DEFAULT_CONFIG "/etc/berth/berth.json"

struct berth_api_config {
	char *socket;                /* default /run/berth/berth.sock */
	char *listen_host;           /* NULL: no TCP listener */
	uint16_t listen_port;
	char *credentials_file;      /* default /etc/berth/credentials */
	char *region;                /* default "us-east-1" */
	char *account;               /* default "000000000000" */
};

struct berth_conf {
	char *path;                  /* the file read, or NULL when defaults are used */
	struct berth_net_config net;
	struct berth_api_config api;
};

/* path NULL: BERTH_DEFAULT_CONFIG, which may be absent. */
int berth_conf_load(const char *path, struct berth_conf *out, struct berth_err *err);
void berth_conf_free(struct berth_conf *c);

#endif
