/*
 * bus.h: the cluster bus, a thin wrapper over the NATS C client (libnats)
 * that chorusd nodes use to talk to one another: events fanned out to
 * every node (publish/subscribe) and room actions forwarded to the node
 * that owns the room (request/reply). Subjects are the caller's choice;
 * the bus adds none except its own reply inbox ("_INBOX.<id>.<token>").
 *
 * Threads: every function here runs on the control thread (the one that
 * called ch_bus_connect and runs re_main), and every handler is called on
 * it. libnats runs its callbacks on its own threads; the bus hands each
 * one to the control thread through a libre mqueue.
 *
 * Errors are positive errno values.
 */
#ifndef CH_CLUSTER_BUS_H
#define CH_CLUSTER_BUS_H

#include <stddef.h>
#include <stdint.h>

/* A connection to the NATS server. Made by ch_bus_connect, freed by
 * ch_bus_close; owned by the control thread, which alone may use it. */
struct ch_bus;

/* A pending request. A libre mem object owned by the caller of
 * ch_bus_request (control thread): mem_deref cancels it if it is still
 * pending (its handler is then never called) and frees it. After its
 * handler has run it stays allocated until that mem_deref. */
struct ch_bus_req;

/* A message on a subscribed subject; reply is NULL or the inbox to answer
 * with ch_bus_respond. Control thread. subject, reply and data are valid
 * only during the call. The handler may call ch_bus_close. */
typedef void(ch_bus_msg_h)(const char *subject, const char *reply,
                           const void *data, size_t len, void *arg);

/* The answer to ch_bus_request: err 0 with the reply's data, or ETIMEDOUT
 * (no answer in time), ENOTCONN (no responder / connection lost). Control
 * thread. data is valid only during the call. Called exactly once unless
 * the request was cancelled with mem_deref or the bus closed first. The
 * handler may mem_deref the request and call ch_bus_close. */
typedef void(ch_bus_reply_h)(int err, const void *data, size_t len, void *arg);

/* Counters for tests and metrics, control thread. published: messages
 * sent by ch_bus_publish and ch_bus_respond; received: messages given to
 * subscription handlers; requests: requests sent; replies: answers given
 * to reply handlers with err 0; timeouts: requests ended ETIMEDOUT. */
struct ch_bus_stats {
	uint64_t published, received, requests, replies, timeouts;
};

/* Connects to url (nats://host:port); name is the connection name (the
 * node name). Blocks until connected or refused (at most 2 s). Once
 * connected, reconnects forever in the background after a loss. Returns
 * 0, or ECONNREFUSED, EINVAL (bad url or argument) or ENOMEM, logging one
 * line. */
int ch_bus_connect(struct ch_bus **busp, const char *url, const char *name);

/* Closes the connection and frees the bus; NULL-safe. After it no handler
 * of the bus runs, pending requests included (they stay the callers' to
 * mem_deref). Drains nothing: unsent messages are dropped. */
void ch_bus_close(struct ch_bus *bus);

/* Calls h for every message on subject (NATS wildcards allowed) until
 * ch_bus_close. Returns 0 or errno. */
int ch_bus_subscribe(struct ch_bus *bus, const char *subject, ch_bus_msg_h *h,
                     void *arg);

/* Sends data on subject. Never blocks long (libnats buffers, also while
 * reconnecting). Returns 0 or errno. */
int ch_bus_publish(struct ch_bus *bus, const char *subject, const void *data,
                   size_t len);

/* Sends a request on subject and returns at once; h gets the first answer
 * or the failure, at the latest timeout_ms later (timeout_ms > 0). reqp
 * may be NULL: the bus then frees the request after its handler. Returns
 * 0 or errno (h is then never called). */
int ch_bus_request(struct ch_bus_req **reqp, struct ch_bus *bus,
                   const char *subject, const void *data, size_t len,
                   unsigned timeout_ms, ch_bus_reply_h *h, void *arg);

/* Answers a request: sends data to reply, the inbox a ch_bus_msg_h got.
 * Returns 0 or errno. */
int ch_bus_respond(struct ch_bus *bus, const char *reply, const void *data,
                   size_t len);

/* Copies the counters into *out. */
void ch_bus_stats(const struct ch_bus *bus, struct ch_bus_stats *out);

#endif
