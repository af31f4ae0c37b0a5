/*
 * webhook_delivery.h: private to events/: at-least-once, in-order webhook
 * delivery of the outbox, one cursor per customer, with back-off.
 */
#ifndef CH_WEBHOOK_DELIVERY_H
#define CH_WEBHOOK_DELIVERY_H

#include "events/events.h"

struct ch_webhook_delivery;

/* An event still undelivered this long after it was created is given up. */
#define CH_WEBHOOK_GIVE_UP_US (INT64_C(24) * 3600 * 1000000)

/* stats is the hub's counter block, updated here. Returns 0 or errno. */
int ch_webhook_delivery_alloc(struct ch_webhook_delivery **wdp,
                              struct ch_store *st, unsigned timeout_ms,
                              struct ch_events_stats *stats);
void ch_webhook_delivery_free(struct ch_webhook_delivery *wd);
/* Kicks every customer that has a webhook_uri. */
void ch_webhook_delivery_start(struct ch_webhook_delivery *wd);
/* New events exist for customer_id: send the next one unless a send or a
 * back-off wait is already under way. */
void ch_webhook_delivery_kick(struct ch_webhook_delivery *wd,
                              const char *customer_id);
/* Whether this node delivers (default true). In a cluster only the node
 * holding the webhook lease does (cluster/cluster.c); the others keep
 * their cursors untouched. Turning it on kicks every customer. */
void ch_webhook_delivery_enable(struct ch_webhook_delivery *wd, bool on);
bool ch_webhook_delivery_enabled(const struct ch_webhook_delivery *wd);
/* Customers with a POST in flight, and those in a back-off wait. */
void ch_webhook_delivery_backlog(const struct ch_webhook_delivery *wd,
                                 unsigned *in_flight, unsigned *backing_off);

#endif
