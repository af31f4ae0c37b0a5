/*
 * events.h: the event hub. Core code adds events inside the store
 * transaction that makes the change they announce; after the commit the hub
 * fans them out to WebSocket subscribers and wakes webhook delivery.
 *
 * Event JSON (API.md "Events"): {"id", "event", "timestamp", "app_id",
 * "room_id", ...event fields}.
 *
 * Threading: a struct ch_events is owned by the control thread; every
 * function here runs on it.
 */
#ifndef CH_EVENTS_H
#define CH_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ch_store;
struct ch_events;
struct ch_events_sub;

/* Called for each event a subscriber should see; json is the full event
 * text. Returning non-zero drops the subscriber (it is then freed and
 * closeh is not called). */
typedef int(ch_events_sub_h)(const char *json, size_t len, void *arg);

/* Creates the hub. webhook_timeout_ms bounds each webhook POST. Starts
 * the webhook sender thread. Returns 0 or an errno value. */
int ch_events_alloc(struct ch_events **evp, struct ch_store *st,
                    unsigned webhook_timeout_ms);
/* Stops delivery and frees; NULL-safe. Undelivered events stay in the
 * store and are delivered after the next start. */
void ch_events_free(struct ch_events *ev);
/* Starts webhook delivery for every customer and outbox pruning (call
 * once at start). */
void ch_events_start(struct ch_events *ev);

/* Outbox retention. Pruning runs on the control thread off the request
 * path, CH_EVENTS_PRUNE_BATCH events at most per turn of its timer (every
 * 30 s, or soon again while a backlog remains): an event goes once it is
 * older than the retention and delivered (webhook cursor past it, or the
 * customer has no webhook_uri); one not delivered yet stays until delivery
 * gives up on it (24 h) if that is later. */
#define CH_EVENTS_RETENTION_S (UINT64_C(7) * 86400)
#define CH_EVENTS_PRUNE_BATCH 500
/* Sets the retention (default CH_EVENTS_RETENTION_S), at least 1 s. */
void ch_events_retention_set(struct ch_events *ev, uint64_t retention_s);
/* Runs one pruning batch now (the timer's work); *deleted (may be NULL)
 * gets the number of events removed. Not inside a transaction. Returns 0
 * or EIO. */
int ch_events_prune(struct ch_events *ev, unsigned *deleted);

/* Writes one event to the outbox, inside the caller's open store
 * transaction, and keeps it for fan-out at ch_events_commit.
 * fields (may be NULL) is a JSON object of event-specific fields; its
 * reference is stolen. Returns 0 or EIO/ENOMEM (the caller rolls back). */
int ch_events_add(struct ch_events *ev, const char *customer_id,
                  const char *conference_id, const char *type, json_t *fields);
/* The transaction committed: fan out the kept events. */
void ch_events_commit(struct ch_events *ev);
/* The transaction rolled back: forget the kept events. */
void ch_events_rollback(struct ch_events *ev);

/* Adds a live subscriber that sees every event of customer_id from now
 * on. Returns NULL on ENOMEM. */
struct ch_events_sub *ch_events_subscribe(struct ch_events *ev,
                                          const char *customer_id,
                                          ch_events_sub_h *h, void *arg);
/* Narrows the subscriber to the given topics ("conference:<id>"); an
 * empty list means everything again. Returns 0 or EINVAL/ENOMEM. */
int ch_events_sub_topics(struct ch_events_sub *sub, const char *const *topics,
                         size_t n);
/* Removes and frees the subscriber; NULL-safe. */
void ch_events_unsubscribe(struct ch_events_sub *sub);

/* ---- a cluster of nodes (cluster/cluster.c) ---- */

/* Called after each commit for every event it made, to send it to the
 * other nodes. NULL h: none (the default). */
typedef void(ch_events_relay_h)(const char *customer_id,
                                const char *conference_id, const char *json,
                                size_t len, void *arg);
void ch_events_relay_set(struct ch_events *ev, ch_events_relay_h *h, void *arg);
/* An event another node committed: to this node's subscribers, and to
 * webhook delivery when this node delivers. */
void ch_events_remote(struct ch_events *ev, const char *customer_id,
                      const char *conference_id, const char *json, size_t len);
/* Whether this node sends webhooks (default true: one node alone). In a
 * cluster one node does, the holder of the webhook lease; turning it on
 * catches up every customer from its stored cursor. */
void ch_events_webhooks_enable(struct ch_events *ev, bool on);
/* Looks for undelivered events of every customer (after events whose
 * announcement may have been missed); does nothing when not delivering. */
void ch_events_webhooks_poll(struct ch_events *ev);

/* Statistics for tests and /health. */
struct ch_events_stats {
	uint64_t added;
	uint64_t webhook_delivered;
	uint64_t webhook_failed_attempts;
	uint64_t webhook_expired;
	uint64_t pruned; /* outbox events deleted after the retention */
	unsigned subscribers;
	/* webhook backlog now: customers with a POST in flight, and those
	 * waiting out a back-off after a failure (undelivered events wait
	 * behind both) */
	unsigned webhook_in_flight, webhook_backing_off;
};
void ch_events_get_stats(const struct ch_events *ev,
                         struct ch_events_stats *out);

#endif
