/*
 * events.c: the event hub: outbox writes inside the caller's transaction,
 * and fan-out after commit to WebSocket subscribers and webhook delivery.
 */
#include "events/events.h"
#include "events/webhook_delivery.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include <re_types.h>
#include <re_list.h>
#include <re_tmr.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS      64
#define PRUNE_PERIOD_MS 30000 /* between batches when caught up */
#define PRUNE_AGAIN_MS  200   /* between batches while a backlog remains */

/* A live subscriber (a WebSocket client). Owned by the hub's list; the
 * handler's arg is owned by whoever subscribed. Control thread only. */
struct ch_events_sub {
	struct ch_events_sub *next, *prev;
	struct ch_events *ev;
	char customer_id[CH_UUID_LEN];
	ch_events_sub_h *h;
	void *arg;
	size_t n_topics; /* 0: every event of the customer */
	char topics[MAX_TOPICS][CH_UUID_LEN + 16];
};

/* An event written in the open transaction, waiting for its commit. */
struct pending {
	struct pending *next;
	char customer_id[CH_UUID_LEN];
	char conference_id[CH_UUID_LEN];
	char *json;
	size_t len;
};

/* The hub. Owned by the daemon; control thread only. */
struct ch_events {
	struct ch_store *st;
	struct ch_webhook_delivery *wd;
	struct pending *head, **tail;
	struct ch_events_sub *subs;
	struct ch_events_stats stats;
	uint64_t retention_s;
	int64_t prune_from; /* seq the next pruning batch starts at */
	struct tmr prune_tmr;
	ch_events_relay_h *relay; /* the cluster's, or NULL */
	void *relay_arg;
	bool started; /* ch_events_start was called */
};

int ch_events_alloc(struct ch_events **evp, struct ch_store *st,
                    unsigned webhook_timeout_ms)
{
	struct ch_events *ev = calloc(1, sizeof(*ev));
	int err;
	if (!ev)
		return ENOMEM;
	ev->st = st;
	ev->tail = &ev->head;
	ev->retention_s = CH_EVENTS_RETENTION_S;
	tmr_init(&ev->prune_tmr);
	err = ch_webhook_delivery_alloc(&ev->wd, st, webhook_timeout_ms,
	                                &ev->stats);
	if (err) {
		free(ev);
		return err;
	}
	*evp = ev;
	return 0;
}

static void pending_free_all(struct ch_events *ev)
{
	struct pending *p = ev->head;
	while (p) {
		struct pending *n = p->next;
		free(p->json);
		free(p);
		p = n;
	}
	ev->head = NULL;
	ev->tail = &ev->head;
}

void ch_events_free(struct ch_events *ev)
{
	if (!ev)
		return;
	tmr_cancel(&ev->prune_tmr);
	while (ev->subs)
		ch_events_unsubscribe(ev->subs);
	pending_free_all(ev);
	ch_webhook_delivery_free(ev->wd);
	free(ev);
}

void ch_events_retention_set(struct ch_events *ev, uint64_t retention_s)
{
	ev->retention_s = retention_s ? retention_s : 1;
}

int ch_events_prune(struct ch_events *ev, unsigned *deleted)
{
	const int64_t now = ch_time_now_us();
	const int64_t keep = (int64_t)ev->retention_s * 1000000;
	struct ch_event_prune p = {
	    .cutoff_us = now - keep,
	    .hard_cutoff_us =
	        now -
	        (keep > CH_WEBHOOK_GIVE_UP_US ? keep : CH_WEBHOOK_GIVE_UP_US),
	    .from_seq = ev->prune_from,
	    .limit = CH_EVENTS_PRUNE_BATCH,
	};
	int err = ev->st->ops->event_prune(ev->st, &p);
	if (deleted)
		*deleted = err ? 0 : p.deleted;
	if (err)
		return err;
	ev->prune_from = p.next_seq;
	ev->stats.pruned += p.deleted;
	if (p.deleted)
		ch_log_debug("events", "pruned %u events older than %llu s",
		             p.deleted, (unsigned long long)ev->retention_s);
	return 0;
}

static void prune_h(void *arg)
{
	struct ch_events *ev = arg;
	unsigned n = 0;
	int err = ch_events_prune(ev, &n);
	tmr_start(&ev->prune_tmr,
	          !err && (n || ev->prune_from) ? PRUNE_AGAIN_MS
	                                        : PRUNE_PERIOD_MS,
	          prune_h, ev);
}

void ch_events_start(struct ch_events *ev)
{
	ev->started = true;
	ch_webhook_delivery_start(ev->wd);
	tmr_start(&ev->prune_tmr, PRUNE_AGAIN_MS, prune_h, ev);
}

int ch_events_add(struct ch_events *ev, const char *customer_id,
                  const char *conference_id, const char *type, json_t *fields)
{
	struct ch_event_rec rec;
	struct pending *p = NULL;
	json_t *o;
	char ts[CH_TIME_LEN];
	int err = 0;

	memset(&rec, 0, sizeof(rec));
	o = fields ? fields : json_object();
	if (!o)
		return ENOMEM;
	ch_uuid_new(rec.id);
	snprintf(rec.customer_id, sizeof(rec.customer_id), "%s", customer_id);
	snprintf(rec.conference_id, sizeof(rec.conference_id), "%s",
	         conference_id ? conference_id : CH_UUID_NIL);
	snprintf(rec.type, sizeof(rec.type), "%s", type);
	rec.tm_create = ch_time_now_us();
	ch_time_format(rec.tm_create, ts);

	json_object_set_new(o, "id", json_string(rec.id));
	json_object_set_new(o, "event", json_string(type));
	json_object_set_new(o, "timestamp", json_string(ts));
	json_object_set_new(o, "app_id", json_string(customer_id));
	json_object_set_new(o, "room_id", json_string(rec.conference_id));
	rec.payload = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (!rec.payload)
		return ENOMEM;

	err = ev->st->ops->event_append(ev->st, &rec);
	if (err)
		goto out;
	p = calloc(1, sizeof(*p));
	if (!p) {
		err = ENOMEM;
		goto out;
	}
	memcpy(p->customer_id, rec.customer_id, sizeof(p->customer_id));
	memcpy(p->conference_id, rec.conference_id, sizeof(p->conference_id));
	p->json = rec.payload;
	p->len = strlen(rec.payload);
	rec.payload = NULL;
	*ev->tail = p;
	ev->tail = &p->next;
	ev->stats.added++;
out:
	ch_event_rec_clear(&rec);
	return err;
}

static bool sub_wants(const struct ch_events_sub *s, const char *customer_id,
                      const char *conference_id)
{
	if (strcmp(s->customer_id, customer_id))
		return false;
	if (!s->n_topics)
		return true;
	for (size_t i = 0; i < s->n_topics; i++) {
		const char *t = s->topics[i];
		if (!strncmp(t, "conference:", 11) &&
		    !strcmp(t + 11, conference_id))
			return true;
	}
	return false;
}

/* One committed event to the subscribers and webhook delivery. */
static void fan_out(struct ch_events *ev, const char *customer_id,
                    const char *conference_id, const char *json, size_t len)
{
	struct ch_events_sub *s = ev->subs;
	while (s) {
		struct ch_events_sub *next = s->next;
		if (sub_wants(s, customer_id, conference_id) &&
		    s->h(json, len, s->arg)) {
			ch_log_info("events", "dropping a subscriber "
			                      "that cannot keep up");
			ch_events_unsubscribe(s);
		}
		s = next;
	}
	ch_webhook_delivery_kick(ev->wd, customer_id);
}

void ch_events_commit(struct ch_events *ev)
{
	struct pending *p;
	for (p = ev->head; p; p = p->next) {
		fan_out(ev, p->customer_id, p->conference_id, p->json, p->len);
		if (ev->relay)
			ev->relay(p->customer_id, p->conference_id, p->json,
			          p->len, ev->relay_arg);
	}
	pending_free_all(ev);
}

void ch_events_relay_set(struct ch_events *ev, ch_events_relay_h *h, void *arg)
{
	ev->relay = h;
	ev->relay_arg = arg;
}

void ch_events_remote(struct ch_events *ev, const char *customer_id,
                      const char *conference_id, const char *json, size_t len)
{
	fan_out(ev, customer_id, conference_id, json, len);
}

void ch_events_webhooks_enable(struct ch_events *ev, bool on)
{
	if (on != ch_webhook_delivery_enabled(ev->wd))
		ch_log_info("events", "webhook delivery %s on this node",
		            on ? "taken" : "left to another node");
	ch_webhook_delivery_enable(ev->wd, on);
}

void ch_events_webhooks_poll(struct ch_events *ev)
{
	if (ev->started && ch_webhook_delivery_enabled(ev->wd))
		ch_webhook_delivery_start(ev->wd);
}

void ch_events_rollback(struct ch_events *ev)
{
	pending_free_all(ev);
}

struct ch_events_sub *ch_events_subscribe(struct ch_events *ev,
                                          const char *customer_id,
                                          ch_events_sub_h *h, void *arg)
{
	struct ch_events_sub *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ev = ev;
	snprintf(s->customer_id, sizeof(s->customer_id), "%s", customer_id);
	s->h = h;
	s->arg = arg;
	s->next = ev->subs;
	if (ev->subs)
		ev->subs->prev = s;
	ev->subs = s;
	ev->stats.subscribers++;
	return s;
}

int ch_events_sub_topics(struct ch_events_sub *sub, const char *const *topics,
                         size_t n)
{
	if (n > MAX_TOPICS)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strlen(topics[i]) >= sizeof(sub->topics[0]))
			return EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(sub->topics[i], sizeof(sub->topics[i]), "%s",
		         topics[i]);
	sub->n_topics = n;
	return 0;
}

void ch_events_unsubscribe(struct ch_events_sub *sub)
{
	if (!sub)
		return;
	if (sub->prev)
		sub->prev->next = sub->next;
	else
		sub->ev->subs = sub->next;
	if (sub->next)
		sub->next->prev = sub->prev;
	sub->ev->stats.subscribers--;
	free(sub);
}

void ch_events_get_stats(const struct ch_events *ev,
                         struct ch_events_stats *out)
{
	*out = ev->stats;
	ch_webhook_delivery_backlog(ev->wd, &out->webhook_in_flight,
	                            &out->webhook_backing_off);
}
