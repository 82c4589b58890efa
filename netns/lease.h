/* berth netns/ — lease files and reservations (internal; caller holds the
 * network state lock). */
#ifndef BERTH_NETNS_LEASE_H
#define BERTH_NETNS_LEASE_H

#include <stdbool.h>

#include "common/err.h"
#include "netns/netns.h"

bool berth_task_id_valid(const char *id);

/* O_EXCL reservation file dirfd/name holding task_id: 0 taken, 1 already
 * held (the holder's id is copied into holder), < 0 error. */
int berth_reserve(int dirfd, const char *name, const char *task_id, char holder[BERTH_NET_TASK_ID_MAX + 1],
		  struct berth_err *err);
/* Remove a reservation if task_id (NULL: anyone) holds it. */
void berth_unreserve(int dirfd, const char *name, const char *task_id);
/* "tcp-8080" */
void berth_port_file(const struct berth_port *p, char name[32]);

int berth_lease_write(int tasksfd, const struct berth_net_lease *l, struct berth_err *err);
/* 0 read, 1 there is none, < 0 corrupt or unreadable. */
int berth_lease_read(int tasksfd, const char *task_id, struct berth_net_lease *out, struct berth_err *err);
/* Every readable lease; corrupt ones are reported on stderr and removed. */
int berth_lease_list(int tasksfd, struct berth_net_lease **out, size_t *count, struct berth_err *err);
int berth_lease_remove(int tasksfd, const char *task_id);

#endif
