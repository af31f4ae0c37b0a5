/*
 * cluster.c: this chorusd as one node of a cluster (cluster.h): the
 * heartbeat, the watch over the other nodes, the webhook lease, the
 * relay of events between nodes over NATS, and the owner and SIP route
 * look-ups.
 *
 * Subjects: "chorus.events" carries every event any node commits, as
 * "<node>\n<customer_id>\n<conference_id>\n<event JSON>"; each node drops
 * its own. "chorus.api.<node>" carries the API requests forwarded to that
 * node (api_cluster.c).
 *
 * Nothing here is on the media path: one heartbeat a second (three short
 * statements) and one publish per event.
 *
 * Threading: control thread only (see cluster.h).
 */
#include "cluster/cluster.h"
#include "cluster/bus.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include <re_types.h>
#include <re_list.h>
#include <re_tmr.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_SUBJECT "chorus.events"
#define MAX_NODES      64
#define POLL_BEATS     5 /* webhook catch-up every this many beats */

/* The cluster of this node. Owned by the daemon; control thread only.
 * core, ev and the store are borrowed and outlive it. */
struct ch_cluster {
	struct ch_core *core;
	struct ch_events *ev;
	struct ch_store *st;
	struct ch_bus *bus;
	struct tmr beat_tmr;
	struct ch_node self;
	/* the nodes as last read (every beat), this one included */
	struct ch_node nodes[MAX_NODES];
	unsigned n_nodes;
	unsigned beats;
	ch_cluster_api_h *api_h;
	void *api_arg;
	unsigned nodes_alive; /* at the last beat, this one included */
	bool store_failed;    /* the last heartbeat could not be written */
};

/* ---- events between nodes ---- */

static void relay_h(const char *customer_id, const char *conference_id,
                    const char *json, size_t len, void *arg)
{
	struct ch_cluster *cl = arg;
	size_t head = strlen(cl->self.name) + 2 * CH_UUID_LEN + 3;
	char *msg = malloc(head + len + 1);
	if (!msg)
		return;
	int n = snprintf(msg, head + 1, "%s\n%s\n%s\n", cl->self.name,
	                 customer_id, conference_id);
	if (n < 0 || (size_t)n > head) {
		free(msg);
		return;
	}
	memcpy(msg + n, json, len);
	(void)ch_bus_publish(cl->bus, EVENTS_SUBJECT, msg, (size_t)n + len);
	free(msg);
}

/* Splits the next "\n"-ended field off *p (len *n) into out. */
static bool field(const char **p, size_t *n, char *out, size_t size)
{
	const char *nl = memchr(*p, '\n', *n);
	size_t l;
	if (!nl)
		return false;
	l = (size_t)(nl - *p);
	if (l >= size)
		return false;
	memcpy(out, *p, l);
	out[l] = '\0';
	*n -= l + 1;
	*p = nl + 1;
	return true;
}

int ch_cluster_frame_parse(const void *data, size_t len,
                           struct ch_cluster_frame *out)
{
	const char *p = data;
	if (!field(&p, &len, out->node, sizeof(out->node)) ||
	    !field(&p, &len, out->customer_id, sizeof(out->customer_id)) ||
	    !field(&p, &len, out->conference_id, sizeof(out->conference_id)) ||
	    !ch_uuid_valid(out->customer_id) ||
	    !ch_uuid_valid(out->conference_id) || !len || *p != '{')
		return EINVAL;
	out->json = p;
	out->len = len;
	return 0;
}

static void events_in_h(const char *subject, const char *reply,
                        const void *data, size_t len, void *arg)
{
	struct ch_cluster *cl = arg;
	struct ch_cluster_frame f;
	(void)subject;
	(void)reply;
	if (ch_cluster_frame_parse(data, len, &f))
		return;
	if (!strcmp(f.node, cl->self.name))
		return; /* ours, fanned out at commit */
	ch_events_remote(cl->ev, f.customer_id, f.conference_id, f.json, f.len);
}

static void api_in_h(const char *subject, const char *reply, const void *data,
                     size_t len, void *arg)
{
	struct ch_cluster *cl = arg;
	(void)subject;
	if (cl->api_h && reply)
		cl->api_h(reply, data, len, cl->api_arg);
}

/* ---- heartbeat and the watch ---- */

static int node_h(const struct ch_node *n, void *arg)
{
	struct ch_cluster *cl = arg;
	if (cl->n_nodes < MAX_NODES)
		cl->nodes[cl->n_nodes++] = *n;
	return 0;
}

static bool alive(const struct ch_node *n, int64_t now)
{
	return !strcmp(n->status, "alive") &&
	       now - n->heartbeat < (int64_t)CH_CLUSTER_DEAD_MS * 1000;
}

/* Ends the conferences of the nodes that stopped beating; one survivor
 * wins each (node_reap). */
static void watch(struct ch_cluster *cl, int64_t now)
{
	const int64_t cutoff = now - (int64_t)CH_CLUSTER_DEAD_MS * 1000;
	unsigned confs, calls, n_alive = 0;
	for (unsigned i = 0; i < cl->n_nodes; i++) {
		const struct ch_node *n = &cl->nodes[i];
		if (alive(n, now))
			n_alive++;
		if (!strcmp(n->name, cl->self.name) ||
		    strcmp(n->status, "alive") || n->heartbeat >= cutoff)
			continue;
		if (cl->st->ops->node_reap(cl->st, n->name, cl->self.name,
		                           cutoff))
			continue; /* another node was first */
		ch_log_warn("cluster",
		            "node %s silent for %lld ms: it is dead; ending "
		            "its conferences",
		            n->name, (long long)((now - n->heartbeat) / 1000));
		(void)ch_core_reap_node(cl->core, n->name, &confs, &calls);
	}
	cl->nodes_alive = n_alive;
}

static void beat(struct ch_cluster *cl)
{
	int64_t now = ch_time_now_us();
	int err;

	cl->self.heartbeat = now;
	cl->self.load = ch_core_load(cl->core);
	err = cl->st->ops->node_beat(cl->st, &cl->self);
	if (err != !!cl->store_failed)
		ch_log_warn("cluster", "heartbeat %s",
		            err ? "cannot be written" : "written again");
	cl->store_failed = err != 0;
	if (err) {
		/* without the store this node cannot prove it is alive:
		 * another will take the webhooks */
		ch_events_webhooks_enable(cl->ev, false);
		return;
	}
	err = cl->st->ops->lease_take(cl->st, "webhooks", cl->self.name, now,
	                              (int64_t)CH_CLUSTER_LEASE_MS * 1000);
	ch_events_webhooks_enable(cl->ev, !err);
	if (!err && ++cl->beats % POLL_BEATS == 0)
		ch_events_webhooks_poll(cl->ev);
	cl->n_nodes = 0;
	if (!cl->st->ops->node_list(cl->st, node_h, cl))
		watch(cl, now);
}

static void beat_tmr_h(void *arg)
{
	struct ch_cluster *cl = arg;
	beat(cl);
	tmr_start(&cl->beat_tmr, CH_CLUSTER_BEAT_MS, beat_tmr_h, cl);
}

/* ---- look-ups ---- */

static const struct ch_node *node_find(const struct ch_cluster *cl,
                                       const char *name)
{
	for (unsigned i = 0; i < cl->n_nodes; i++)
		if (!strcmp(cl->nodes[i].name, name))
			return &cl->nodes[i];
	return NULL;
}

int ch_cluster_owner(struct ch_cluster *cl, const char *id, char *node,
                     size_t size)
{
	char owner[64];
	int err = cl->st->ops->owner_get(cl->st, id, owner, sizeof(owner));
	if (err)
		return err == ENOENT ? ENOENT : EIO;
	if (!strcmp(owner, cl->self.name))
		return ENOENT;
	const struct ch_node *n = node_find(cl, owner);
	if (!n || !alive(n, ch_time_now_us()))
		return EHOSTDOWN;
	snprintf(node, size, "%s", owner);
	return 0;
}

int ch_cluster_owner_sip(struct ch_cluster *cl, const char *id, char *uri,
                         size_t size)
{
	char node[64];
	int err = ch_cluster_owner(cl, id, node, sizeof(node));
	if (err)
		return err;
	const struct ch_node *n = node_find(cl, node);
	if (!n)
		return EHOSTDOWN;
	snprintf(uri, size, "%s", n->sip_uri);
	return 0;
}

int ch_cluster_sip_route(struct ch_cluster *cl, const char *user, char *uri,
                         size_t size)
{
	int64_t now = ch_time_now_us();
	const struct ch_node *best = NULL;
	char owner[64];

	if (ch_uuid_valid(user) &&
	    !cl->st->ops->owner_get(cl->st, user, owner, sizeof(owner))) {
		const struct ch_node *n = node_find(cl, owner);
		if (n && alive(n, now)) {
			snprintf(uri, size, "%s", n->sip_uri);
			return 0;
		}
	}
	for (unsigned i = 0; i < cl->n_nodes; i++) {
		const struct ch_node *n = &cl->nodes[i];
		if (alive(n, now) && (!best || n->load < best->load))
			best = n;
	}
	if (!best)
		return ENOENT;
	snprintf(uri, size, "%s", best->sip_uri);
	return 0;
}

/* ---- life ---- */

int ch_cluster_alloc(struct ch_cluster **clp, struct ch_core *core,
                     struct ch_events *ev, const struct ch_cluster_config *cfg)
{
	struct ch_store *st = ch_core_store(core);
	struct ch_cluster *cl;
	char subject[96];
	int err;

	if (!st->ops->node_beat) {
		ch_log_error("cluster", "a cluster needs a store the nodes "
		                        "share: --store postgres://...");
		return EINVAL;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return ENOMEM;
	cl->core = core;
	cl->ev = ev;
	cl->st = st;
	tmr_init(&cl->beat_tmr);
	snprintf(cl->self.name, sizeof(cl->self.name), "%s",
	         ch_core_node(core));
	snprintf(cl->self.api_url, sizeof(cl->self.api_url), "%s",
	         cfg->api_url);
	snprintf(cl->self.sip_uri, sizeof(cl->self.sip_uri), "%s",
	         cfg->sip_uri);
	cl->self.tm_start = ch_time_now_us();

	err = ch_bus_connect(&cl->bus, cfg->nats_url, cl->self.name);
	if (err)
		goto fail;
	snprintf(subject, sizeof(subject), "chorus.api.%s", cl->self.name);
	err = ch_bus_subscribe(cl->bus, EVENTS_SUBJECT, events_in_h, cl);
	if (!err)
		err = ch_bus_subscribe(cl->bus, subject, api_in_h, cl);
	if (err)
		goto fail;
	ch_events_webhooks_enable(ev, false);
	ch_events_relay_set(ev, relay_h, cl);
	beat(cl);
	if (cl->store_failed) {
		err = EIO;
		goto fail;
	}
	tmr_start(&cl->beat_tmr, CH_CLUSTER_BEAT_MS, beat_tmr_h, cl);
	ch_log_info(
	    "cluster", "node %s joined (API %s, SIP %s, %u nodes alive)",
	    cl->self.name, cl->self.api_url, cl->self.sip_uri, cl->nodes_alive);
	*clp = cl;
	return 0;
fail:
	ch_cluster_free(cl);
	return err;
}

void ch_cluster_free(struct ch_cluster *cl)
{
	if (!cl)
		return;
	tmr_cancel(&cl->beat_tmr);
	ch_events_relay_set(cl->ev, NULL, NULL);
	ch_bus_close(cl->bus);
	free(cl);
}

const char *ch_cluster_node(const struct ch_cluster *cl)
{
	return cl->self.name;
}

struct ch_bus *ch_cluster_bus(struct ch_cluster *cl)
{
	return cl->bus;
}

void ch_cluster_api_handler(struct ch_cluster *cl, ch_cluster_api_h *h,
                            void *arg)
{
	cl->api_h = h;
	cl->api_arg = arg;
}
