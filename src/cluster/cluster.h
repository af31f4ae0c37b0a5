/*
 * cluster.h: this chorusd as one node of a cluster: several nodes on one
 * PostgreSQL store and one NATS server (docs/cluster.md).
 *
 * The cluster object keeps this node's heartbeat row fresh, watches the
 * others' (a node silent for CH_CLUSTER_DEAD_MS is dead: one survivor
 * ends its conferences and calls, core_cluster.c), relays every event
 * committed here to the other nodes and hands theirs to this node's
 * WebSocket clients, takes the webhook lease so that exactly one node
 * sends webhooks, and answers the questions the API asks: who owns a
 * conference, where a SIP dial-in should go.
 *
 * Threading: owned by the control thread; every function and handler
 * runs on it (the bus hands libnats' callbacks over).
 */
#ifndef CH_CLUSTER_H
#define CH_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ch_bus;
struct ch_core;
struct ch_events;
struct ch_cluster;

#define CH_CLUSTER_BEAT_MS  1000  /* heartbeat period */
#define CH_CLUSTER_DEAD_MS  10000 /* silent this long: dead */
#define CH_CLUSTER_LEASE_MS 10000 /* webhook lease, renewed every beat */

struct ch_cluster_config {
	const char *nats_url; /* nats://host:port */
	const char *api_url;  /* this node's API, http://host:port */
	const char *sip_uri;  /* this node's SIP, sip:host:port */
};

/* A request another node forwarded to this one (subject
 * chorus.api.<node>): data is the forwarded request (api_cluster.c
 * parses it); answer with ch_cluster_respond(reply, ...). */
typedef void(ch_cluster_api_h)(const char *reply, const void *data, size_t len,
                               void *arg);

/* Joins the cluster: connects to NATS, registers this node (the core's
 * node name) and starts the heartbeat. The store must be one nodes share
 * (its node_beat op): else EINVAL. Webhook delivery is off until the
 * lease is taken. Returns 0 or errno (logged). */
int ch_cluster_alloc(struct ch_cluster **clp, struct ch_core *core,
                     struct ch_events *ev, const struct ch_cluster_config *cfg);
/* Leaves (the heartbeat stops; the row stays); NULL-safe. */
void ch_cluster_free(struct ch_cluster *cl);

const char *ch_cluster_node(const struct ch_cluster *cl);
struct ch_bus *ch_cluster_bus(struct ch_cluster *cl);
void ch_cluster_api_handler(struct ch_cluster *cl, ch_cluster_api_h *h,
                            void *arg);

/* The node to forward an action on id (a conference, call or
 * conferencecall id) to: 0 with its name in node when another node owns
 * it and is alive; ENOENT when it is this node's (or nobody's): act
 * here; EHOSTDOWN when its owner is dead (the conference is being ended);
 * EIO on a store failure. */
int ch_cluster_owner(struct ch_cluster *cl, const char *id, char *node,
                     size_t size);
/* The SIP URI of the live node that owns id when it is another node: 0;
 * else as ch_cluster_owner (ENOENT: this node's, EHOSTDOWN: dead). */
int ch_cluster_owner_sip(struct ch_cluster *cl, const char *id, char *uri,
                         size_t size);
/* Where a dial-in to user (a request URI's user part) goes: the owner's
 * SIP URI when user is a live conference's id, else the least-loaded
 * live node's. 0 or ENOENT (no node alive). */
int ch_cluster_sip_route(struct ch_cluster *cl, const char *user, char *uri,
                         size_t size);

/* One event relayed between nodes, as read off "chorus.events": the
 * node that committed it, its customer and conference (ids checked), and
 * the event JSON text (json points into the message, not terminated;
 * starts with '{'). Returns 0 or EINVAL. Pure; fuzz_cluster_msg. */
struct ch_cluster_frame {
	char node[64];
	char customer_id[37];
	char conference_id[37];
	const char *json;
	size_t len;
};
int ch_cluster_frame_parse(const void *data, size_t len,
                           struct ch_cluster_frame *out);

#endif
