/*
 * webhook_delivery.c: delivers the outbox to each customer's webhook_uri.
 *
 * Design: one cursor per customer (webhook_cursors.last_seq in the store)
 * and at most one event in flight per customer, so every receiver sees its
 * events in the order they were committed (hence in order per conference).
 * A failed POST (transport error or non-2xx) is retried after a back-off
 * that doubles from 500 ms up to 60 s; an event still undelivered 24 h
 * after it was created is given up (logged, counted) and the cursor moves
 * on. The cursor is stored after each success, so a restart resends at
 * most the one event that was in flight: delivery is at least once, and
 * receivers de-duplicate by the event "id".
 *
 * The HTTP work happens on the webhook sender thread (webhook_sender.c);
 * everything here runs on the control thread.
 */
#include "events/webhook_delivery.h"
#include "events/webhook_sender.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <re_types.h>
#include <re_list.h>
#include <re_tmr.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS   60000

/* Delivery state of one customer. Owned by the delivery's list. */
struct cust_state {
	struct le le;
	struct ch_webhook_delivery *wd;
	char customer_id[CH_UUID_LEN];
	bool in_flight;
	int64_t in_flight_seq;
	unsigned backoff_ms; /* 0: not backing off */
	struct tmr tmr;      /* back-off timer */
};

/* Owned by the event hub; control thread only. */
struct ch_webhook_delivery {
	struct ch_store *st;
	struct ch_webhook_sender *sender;
	struct list custs;
	struct ch_events_stats *stats;
	bool disabled; /* another node delivers (ch_webhook_delivery_enable) */
};

static void send_next(struct cust_state *cs);

static struct cust_state *cust_find(struct ch_webhook_delivery *wd,
                                    const char *customer_id, bool create)
{
	struct le *le;
	struct cust_state *cs;
	for (le = wd->custs.head; le; le = le->next) {
		cs = le->data;
		if (!strcmp(cs->customer_id, customer_id))
			return cs;
	}
	if (!create)
		return NULL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->wd = wd;
	snprintf(cs->customer_id, sizeof(cs->customer_id), "%s", customer_id);
	tmr_init(&cs->tmr);
	list_append(&wd->custs, &cs->le, cs);
	return cs;
}

void ch_webhook_delivery_backlog(const struct ch_webhook_delivery *wd,
                                 unsigned *in_flight, unsigned *backing_off)
{
	*in_flight = *backing_off = 0;
	for (const struct le *le = wd ? wd->custs.head : NULL; le;
	     le = le->next) {
		const struct cust_state *cs = le->data;
		*in_flight += cs->in_flight;
		*backing_off +=
		    !cs->in_flight && cs->backoff_ms && tmr_isrunning(&cs->tmr);
	}
}

static void backoff_h(void *arg)
{
	struct cust_state *cs = arg;
	send_next(cs);
}

static void schedule_retry(struct cust_state *cs)
{
	cs->backoff_ms = cs->backoff_ms ? cs->backoff_ms * 2 : BACKOFF_FIRST_MS;
	if (cs->backoff_ms > BACKOFF_MAX_MS)
		cs->backoff_ms = BACKOFF_MAX_MS;
	tmr_start(&cs->tmr, cs->backoff_ms, backoff_h, cs);
}

static void done_h(const struct ch_webhook_result *res, void *arg)
{
	struct ch_webhook_delivery *wd = arg;
	struct cust_state *cs = NULL;
	struct le *le;

	for (le = wd->custs.head; le; le = le->next) {
		struct cust_state *c = le->data;
		if (c->in_flight && c->in_flight_seq == (int64_t)res->job_id) {
			cs = c;
			break;
		}
	}
	if (!cs)
		return;
	cs->in_flight = false;
	if (res->http_status >= 200 && res->http_status < 300) {
		int err = wd->st->ops->webhook_cursor_set(
		    wd->st, cs->customer_id, cs->in_flight_seq);
		if (err) {
			schedule_retry(cs);
			return;
		}
		if (cs->backoff_ms)
			ch_log_info("webhook", "customer %s: receiver is back",
			            cs->customer_id);
		cs->backoff_ms = 0;
		wd->stats->webhook_delivered++;
		send_next(cs);
		return;
	}
	wd->stats->webhook_failed_attempts++;
	if (!cs->backoff_ms) {
		if (res->http_status)
			ch_log_warn("webhook",
			            "customer %s: receiver answered "
			            "%d; retrying with back-off",
			            cs->customer_id, res->http_status);
		else
			ch_log_warn("webhook",
			            "customer %s: %s; retrying with "
			            "back-off",
			            cs->customer_id, res->error);
	}
	schedule_retry(cs);
}

struct next_ctx {
	struct ch_event_rec ev;
	bool found;
};

static int next_h(const struct ch_event_rec *e, void *arg)
{
	struct next_ctx *ctx = arg;
	ctx->ev = *e;
	ctx->ev.payload = strdup(e->payload);
	ctx->found = ctx->ev.payload != NULL;
	return 1;
}

static void send_next(struct cust_state *cs)
{
	struct ch_webhook_delivery *wd = cs->wd;
	struct ch_customer cust;
	struct next_ctx ctx;
	int64_t cursor;
	int err;

	if (cs->in_flight || tmr_isrunning(&cs->tmr) || wd->disabled)
		return;
	for (;;) {
		if (wd->st->ops->customer_by_id(wd->st, cs->customer_id, &cust))
			return;
		if (!cust.webhook_uri[0])
			return;
		if (wd->st->ops->webhook_cursor_get(wd->st, cs->customer_id,
		                                    &cursor))
			return;
		memset(&ctx, 0, sizeof(ctx));
		if (wd->st->ops->event_list_after(wd->st, cs->customer_id,
		                                  cursor, 1, next_h, &ctx) ||
		    !ctx.found)
			return;
		if (ch_time_now_us() - ctx.ev.tm_create <=
		    CH_WEBHOOK_GIVE_UP_US)
			break;
		ch_log_warn("webhook",
		            "customer %s: giving up on event %s "
		            "(%s), undelivered for 24 h",
		            cs->customer_id, ctx.ev.id, ctx.ev.type);
		wd->stats->webhook_expired++;
		(void)wd->st->ops->webhook_cursor_set(wd->st, cs->customer_id,
		                                      ctx.ev.seq);
		ch_event_rec_clear(&ctx.ev);
	}
	err = ch_webhook_sender_submit(wd->sender, (uint64_t)ctx.ev.seq,
	                               cust.webhook_uri, cust.webhook_secret,
	                               ctx.ev.id, ctx.ev.payload,
	                               strlen(ctx.ev.payload));
	if (!err) {
		cs->in_flight = true;
		cs->in_flight_seq = ctx.ev.seq;
	} else {
		schedule_retry(cs);
	}
	ch_event_rec_clear(&ctx.ev);
}

int ch_webhook_delivery_alloc(struct ch_webhook_delivery **wdp,
                              struct ch_store *st, unsigned timeout_ms,
                              struct ch_events_stats *stats)
{
	struct ch_webhook_delivery *wd = calloc(1, sizeof(*wd));
	int err;
	if (!wd)
		return ENOMEM;
	wd->st = st;
	wd->stats = stats;
	list_init(&wd->custs);
	err = ch_webhook_sender_alloc(&wd->sender, timeout_ms, done_h, wd);
	if (err) {
		free(wd);
		return err;
	}
	*wdp = wd;
	return 0;
}

void ch_webhook_delivery_free(struct ch_webhook_delivery *wd)
{
	if (!wd)
		return;
	ch_webhook_sender_free(wd->sender);
	while (wd->custs.head) {
		struct cust_state *cs = wd->custs.head->data;
		tmr_cancel(&cs->tmr);
		list_unlink(&cs->le);
		free(cs);
	}
	free(wd);
}

static int start_h(const struct ch_customer *c, void *arg)
{
	if (c->webhook_uri[0])
		ch_webhook_delivery_kick(arg, c->id);
	return 0;
}

void ch_webhook_delivery_start(struct ch_webhook_delivery *wd)
{
	(void)wd->st->ops->customer_list(wd->st, start_h, wd);
}

void ch_webhook_delivery_kick(struct ch_webhook_delivery *wd,
                              const char *customer_id)
{
	struct cust_state *cs = cust_find(wd, customer_id, true);
	if (cs)
		send_next(cs);
}

void ch_webhook_delivery_enable(struct ch_webhook_delivery *wd, bool on)
{
	bool was = !wd->disabled;
	wd->disabled = !on;
	if (on && !was)
		ch_webhook_delivery_start(wd);
}

bool ch_webhook_delivery_enabled(const struct ch_webhook_delivery *wd)
{
	return !wd->disabled;
}
