/*
 * test_events_prune.c: unit tests for outbox pruning: the store's
 * event_prune (store/store_sqlite.c, store/store_pg.c) and the hub's
 * ch_events_prune (events/events.c).
 *
 * Covered: delivered events past the retention go (seq at or below the
 * webhook cursor, or no webhook_uri), undelivered ones stay until the hard
 * cutoff (delivery's 24 h give-up), young ones stay and end the scan;
 * batches look at no more than their limit and carry on from next_seq;
 * the hub with a short retention prunes what a customer without webhook
 * got and keeps what a customer's webhook has not been sent yet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/events.h"
#include "store/store.h"
#include "util/token.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "re_loop.h"
#include "store_fixture.h"

#define CUST_A "aaaaaaaa-0000-4000-8000-000000000001" /* has a webhook */
#define CUST_B "bbbbbbbb-0000-4000-8000-000000000002" /* has none */
#define DAY_US (INT64_C(86400) * 1000000)

static void add_customer(struct ch_store *st, const char *id, bool webhook)
{
	struct ch_customer c;
	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.name, sizeof(c.name), "cust %c", id[0]);
	char token[16];
	snprintf(token, sizeof(token), "token-%c", id[0]);
	ch_token_hash(token, c.token_hash);
	if (webhook)
		snprintf(c.webhook_uri, sizeof(c.webhook_uri),
		         "http://127.0.0.1:9/hook");
	snprintf(c.webhook_secret, sizeof(c.webhook_secret), "secret");
	c.tm_create = ch_time_now_us();
	assert_int_equal(st->ops->customer_insert(st, &c), 0);
}

static int setup_prune(void **state)
{
	struct fix *f;
	if (setup(state))
		return -1;
	f = *state;
	add_customer(f->st, CUST_A, true);
	add_customer(f->st, CUST_B, false);
	return 0;
}

static int64_t add_event(struct ch_store *st, const char *cust,
                         const char *type, int64_t tm)
{
	struct ch_event_rec e;
	memset(&e, 0, sizeof(e));
	ch_uuid_new(e.id);
	snprintf(e.customer_id, sizeof(e.customer_id), "%s", cust);
	snprintf(e.conference_id, sizeof(e.conference_id), CH_UUID_NIL);
	snprintf(e.type, sizeof(e.type), "%s", type);
	e.payload = strdup("{}");
	e.tm_create = tm;
	assert_int_equal(st->ops->event_append(st, &e), 0);
	ch_event_rec_clear(&e);
	return e.seq;
}

/* The types of a customer's remaining events, oldest first, joined by
 * spaces into out. */
static int type_h(const struct ch_event_rec *e, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "%s%s", n ? " " : "", e->type);
	return 0;
}

static const char *left(struct ch_store *st, const char *cust, char out[256])
{
	out[0] = '\0';
	assert_int_equal(
	    st->ops->event_list_after(st, cust, 0, 100, type_h, out), 0);
	return out;
}

/* e1..e6 as in test_prune_rules, with A's cursor on e2. */
static void fill(struct ch_store *st, int64_t now)
{
	int64_t e2;
	(void)add_event(st, CUST_A, "e1", now - 40 * DAY_US);
	e2 = add_event(st, CUST_A, "e2", now - 35 * DAY_US);
	(void)add_event(st, CUST_A, "e3", now - 32 * DAY_US);
	(void)add_event(st, CUST_A, "e4", now - 20 * DAY_US);
	(void)add_event(st, CUST_B, "e5", now - 20 * DAY_US);
	(void)add_event(st, CUST_A, "e6", now - 1 * DAY_US);
	(void)add_event(st, CUST_B, "e7", now - 20 * DAY_US);
	assert_int_equal(st->ops->webhook_cursor_set(st, CUST_A, e2), 0);
}

static void test_prune_rules(void **state)
{
	struct fix *f = *state;
	const int64_t now = ch_time_now_us();
	char buf[256];
	struct ch_event_prune p = {
	    .cutoff_us = now - 10 * DAY_US,      /* retention 10 d */
	    .hard_cutoff_us = now - 30 * DAY_US, /* delivery gave up */
	    .limit = 100,
	};

	fill(f->st, now);
	assert_int_equal(f->st->ops->event_prune(f->st, &p), 0);
	/* e1, e2 delivered; e3 past the hard cutoff; e5 no webhook. e4 is
	 * undelivered and younger than the hard cutoff; e6 is young, and the
	 * scan ends there, so e7 (after it in seq order) waits its turn */
	assert_int_equal(p.deleted, 4);
	assert_int_equal(p.next_seq, 0);
	assert_string_equal(left(f->st, CUST_A, buf), "e4 e6");
	assert_string_equal(left(f->st, CUST_B, buf), "e7");

	/* nothing more to do with the same cutoffs */
	p.from_seq = 0;
	assert_int_equal(f->st->ops->event_prune(f->st, &p), 0);
	assert_int_equal(p.deleted, 0);

	/* later: e6 is old too, and e7 behind it goes */
	p.cutoff_us = now;
	assert_int_equal(f->st->ops->event_prune(f->st, &p), 0);
	assert_int_equal(p.deleted, 1);
	assert_string_equal(left(f->st, CUST_B, buf), "");
	/* e4 and e6 are not delivered: they stay until the hard cutoff */
	assert_string_equal(left(f->st, CUST_A, buf), "e4 e6");
	p.hard_cutoff_us = now;
	assert_int_equal(f->st->ops->event_prune(f->st, &p), 0);
	assert_int_equal(p.deleted, 2);
	assert_string_equal(left(f->st, CUST_A, buf), "");
}

static void test_prune_batches(void **state)
{
	struct fix *f = *state;
	const int64_t now = ch_time_now_us();
	char buf[256];
	struct ch_event_prune p = {
	    .cutoff_us = now - 10 * DAY_US,
	    .hard_cutoff_us = now - 30 * DAY_US,
	    .limit = 2,
	};
	unsigned deleted[3];

	fill(f->st, now);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f->st->ops->event_prune(f->st, &p), 0);
		deleted[i] = p.deleted;
		if (i < 2)
			assert_true(p.next_seq > p.from_seq);
		p.from_seq = p.next_seq;
	}
	/* (e1 e2) -> 2; (e3 e4) -> 1; (e5 e6) -> 1 and e6 is young */
	assert_int_equal(deleted[0], 2);
	assert_int_equal(deleted[1], 1);
	assert_int_equal(deleted[2], 1);
	assert_int_equal(p.next_seq, 0);
	assert_string_equal(left(f->st, CUST_A, buf), "e4 e6");
	assert_string_equal(left(f->st, CUST_B, buf), "e7");
}

static void add_via_hub(struct ch_store *st, struct ch_events *ev,
                        const char *cust, int n)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal(st->ops->begin(st), 0);
		assert_int_equal(
		    ch_events_add(ev, cust, NULL, "test.event", NULL), 0);
		assert_int_equal(st->ops->commit(st), 0);
		ch_events_commit(ev);
	}
}

static void test_hub_retention(void **state)
{
	struct fix *f = *state;
	struct ch_events *ev;
	struct ch_events_stats stats;
	unsigned deleted = 99;
	char buf[256];

	assert_int_equal(ch_events_alloc(&ev, f->st, 1000), 0);
	/* the default keeps a week: nothing goes */
	add_via_hub(f->st, ev, CUST_B, 3);
	add_via_hub(f->st, ev, CUST_A, 2);
	assert_int_equal(ch_events_prune(ev, &deleted), 0);
	assert_int_equal(deleted, 0);

	ch_events_retention_set(ev, 1);
	usleep(1100 * 1000);
	assert_int_equal(ch_events_prune(ev, &deleted), 0);
	/* B has no webhook: its events are done with; A's were not sent */
	assert_int_equal(deleted, 3);
	assert_string_equal(left(f->st, CUST_B, buf), "");
	assert_string_equal(left(f->st, CUST_A, buf), "test.event test.event");
	ch_events_get_stats(ev, &stats);
	assert_int_equal(stats.pruned, 3);
	ch_events_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_prune_rules, setup_prune,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_prune_batches, setup_prune,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_hub_retention, setup_prune,
	                                    teardown),
	};
	return FIX_RUN(tests, NULL, ch_test_re_group_setup,
	               ch_test_re_group_teardown);
}
