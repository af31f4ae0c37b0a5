/*
 * test_core.c: unit tests for the control-plane core (core/): the
 * conference and conferencecall state machines, their timers, the
 * connect-type and end_conference_on_exit rules, crash recovery at
 * ch_core_start, and the events written to the outbox.
 *
 * Each test runs on a real SQLite store in its own mkdtemp folder and a
 * real event hub. Most tests attach no media layer, so rooms are ready and
 * kicked participants leave on the next loop turn; one test attaches a
 * fake media layer to control when participants leave. The libre main
 * loop is driven with re_main() and stopped by a polling tmr (condition
 * met) or a watchdog tmr. After every test the whole outbox is checked:
 * each payload is JSON with id, event, timestamp, app_id and room_id, and
 * no conference or participant status ever moves backwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re_types.h>
#include <re_list.h>
#include <re_main.h>
#include <re_tmr.h>

#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "tmpdir.h"

#define OTHER_CUST "bbbbbbbb-0000-4000-8000-000000000002"

/* What the fake media layer was asked to do. */
struct fake_media {
	unsigned rooms, destroyed, hangups, mutes;
	char last_hangup[CH_UUID_LEN];
	bool last_muted;
};

struct fix {
	char dir[CH_TEST_DIR_MAX];
	struct ch_store *st;
	struct ch_events *ev;
	struct ch_core *core;
	struct ch_customer cust;
	struct fake_media media;
};

/* ---- loop driving ---- */

typedef bool(pred_h)(struct fix *f, const void *arg);

struct waiter {
	struct tmr poll, dog;
	pred_h *pred;
	struct fix *f;
	const void *arg;
	bool met;
};

static void poll_h(void *arg)
{
	struct waiter *w = arg;
	if (w->pred && w->pred(w->f, w->arg)) {
		w->met = true;
		re_cancel();
		return;
	}
	tmr_start(&w->poll, 5, poll_h, w);
}

static void dog_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Runs the loop until pred holds (checked every 5 ms) or max_ms pass;
 * pred NULL runs it for max_ms. Returns whether pred held. */
static bool run_until(struct fix *f, pred_h *pred, const void *arg,
                      unsigned max_ms)
{
	struct waiter w = {.pred = pred, .f = f, .arg = arg};
	tmr_init(&w.poll);
	tmr_init(&w.dog);
	tmr_start(&w.dog, max_ms, dog_h, &w);
	tmr_start(&w.poll, 0, poll_h, &w);
	assert_int_equal(re_main(NULL), 0);
	tmr_cancel(&w.poll);
	tmr_cancel(&w.dog);
	return w.met;
}

static void run_ms(struct fix *f, unsigned ms)
{
	(void)run_until(f, NULL, NULL, ms);
}

/* ---- store look-ups ---- */

static enum ch_conference_status conf_status(struct fix *f, const char *id)
{
	struct ch_conference c;
	assert_int_equal(ch_conference_get(f->core, f->cust.id, id, &c), 0);
	enum ch_conference_status s = c.status;
	ch_conference_clear(&c);
	return s;
}

static enum ch_conferencecall_status cc_status(struct fix *f, const char *id)
{
	struct ch_conferencecall cc;
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, id, &cc),
	                 0);
	return cc.status;
}

static bool conf_is_h(struct fix *f, const void *arg)
{
	const struct ch_conference *want = arg;
	return conf_status(f, want->id) == want->status;
}

/* Runs the loop until conference id has status s (at most max_ms). */
static bool wait_conf(struct fix *f, const char *id,
                      enum ch_conference_status s, unsigned max_ms)
{
	struct ch_conference want;
	memset(&want, 0, sizeof(want));
	snprintf(want.id, sizeof(want.id), "%s", id);
	want.status = s;
	return run_until(f, conf_is_h, &want, max_ms);
}

/* ---- outbox ---- */

#define MAX_EVENTS 64

struct outbox {
	char type[MAX_EVENTS][48];
	json_t *payload[MAX_EVENTS];
	unsigned n;
};

static int outbox_h(const struct ch_event_rec *e, void *arg)
{
	struct outbox *o = arg;
	assert_true(o->n < MAX_EVENTS);
	snprintf(o->type[o->n], sizeof(o->type[0]), "%s", e->type);
	o->payload[o->n] = json_loads(e->payload, 0, NULL);
	assert_non_null(o->payload[o->n]);
	o->n++;
	return 0;
}

static void outbox_read(struct fix *f, struct outbox *o)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(f->st->ops->event_list_after(f->st, f->cust.id, 0,
	                                              MAX_EVENTS, outbox_h, o),
	                 0);
}

static void outbox_free(struct outbox *o)
{
	for (unsigned i = 0; i < o->n; i++)
		json_decref(o->payload[i]);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	return s;
}

/* Status ranks seen so far, per resource id. */
struct ranks {
	char id[MAX_EVENTS][CH_UUID_LEN];
	int rank[MAX_EVENTS];
	unsigned n;
};

static void rank_check(struct ranks *r, const char *id, int rank)
{
	for (unsigned i = 0; i < r->n; i++) {
		if (strcmp(r->id[i], id))
			continue;
		assert_true(rank >= r->rank[i]);
		r->rank[i] = rank;
		return;
	}
	snprintf(r->id[r->n], CH_UUID_LEN, "%s", id);
	r->rank[r->n++] = rank;
}

/* Every event is well-formed, and statuses never move backwards. */
static void outbox_check(struct fix *f)
{
	struct ranks conf = {0}, cc = {0};
	struct outbox o;
	int64_t us;

	outbox_read(f, &o);
	for (unsigned i = 0; i < o.n; i++) {
		json_t *p = o.payload[i], *c;
		enum ch_conference_status cs;
		enum ch_conferencecall_status ccs;

		assert_true(json_is_object(p));
		assert_true(ch_uuid_valid(jstr(p, "id")));
		assert_string_equal(jstr(p, "event"), o.type[i]);
		assert_int_equal(ch_time_parse(jstr(p, "timestamp"), &us), 0);
		assert_string_equal(jstr(p, "app_id"), f->cust.id);
		assert_true(ch_uuid_valid(jstr(p, "room_id")));
		c = json_object_get(p, "conference");
		if (c) {
			assert_string_equal(jstr(c, "id"), jstr(p, "room_id"));
			assert_int_equal(
			    ch_conference_status_parse(jstr(c, "status"), &cs),
			    0);
			rank_check(&conf, jstr(c, "id"), (int)cs);
		}
		c = json_object_get(p, "conferencecall");
		if (c) {
			assert_string_equal(jstr(c, "conference_id"),
			                    jstr(p, "room_id"));
			assert_string_equal(jstr(c, "id"),
			                    jstr(p, "session_uuid"));
			assert_int_equal(ch_conferencecall_status_parse(
			                     jstr(c, "status"), &ccs),
			                 0);
			rank_check(&cc, jstr(c, "id"), (int)ccs);
		}
	}
	outbox_free(&o);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	ch_test_tmpdir(f->dir, "ch-core");
	ch_uuid_new(f->cust.id);
	snprintf(f->cust.name, sizeof(f->cust.name), "test");
	snprintf(f->cust.token, sizeof(f->cust.token), "core-token");
	f->cust.tm_create = ch_time_now_us();
	if (ch_store_open_sqlite(&f->st, f->dir) ||
	    f->st->ops->customer_insert(f->st, &f->cust) ||
	    ch_events_alloc(&f->ev, f->st, 1000) ||
	    ch_core_alloc(&f->core, f->st, f->ev, "test-node"))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	outbox_check(f);
	ch_core_free(f->core);
	ch_events_free(f->ev);
	ch_store_close(f->st);
	ch_test_rmtree(f->dir);
	free(f);
	return 0;
}

static void create_conf(struct fix *f, enum ch_conference_type type,
                        int64_t timeout, int max, struct ch_conference *out)
{
	struct ch_conference_params p = {
	    .has_type = true,
	    .type = type,
	    .has_name = true,
	    .name = "room",
	    .has_timeout = timeout > 0,
	    .timeout = timeout,
	    .has_max_participants = max > 0,
	    .max_participants = max,
	};
	assert_int_equal(ch_conference_create(f->core, f->cust.id, &p, out), 0);
}

/* A progressing conference. */
static void live_conf(struct fix *f, enum ch_conference_type type, int max,
                      struct ch_conference *out)
{
	create_conf(f, type, 0, max, out);
	assert_true(wait_conf(f, out->id, CH_CONFERENCE_PROGRESSING, 1000));
}

/* A joined participant. */
static void join(struct fix *f, const char *conf_id, bool eoe,
                 struct ch_conferencecall *out)
{
	char ref[CH_UUID_LEN];
	ch_uuid_new(ref);
	assert_int_equal(ch_conferencecall_create(f->core, conf_id, "call", ref,
	                                          "+15550100", eoe, out),
	                 0);
	assert_int_equal(ch_conferencecall_joined(f->core, out->id), 0);
}

/* ---- conference lifecycle ---- */

static void test_conference_lifecycle(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, u, d, g;
	struct ch_conference_params p = {.has_name = true,
	                                 .name = "renamed",
	                                 .has_detail = true,
	                                 .detail = "more",
	                                 .has_data = true,
	                                 .data = "{\"a\":1}",
	                                 .has_max_participants = true,
	                                 .max_participants = 4};
	int64_t before = ch_time_now_us();

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	assert_int_equal(c.status, CH_CONFERENCE_STARTING);
	assert_true(ch_uuid_valid(c.id));
	assert_string_equal(c.customer_id, f->cust.id);
	assert_string_equal(c.name, "room");
	assert_int_equal(c.tm_delete, CH_TIME_NEVER_US);
	assert_true(c.tm_create >= before);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_STARTING);

	assert_true(wait_conf(f, c.id, CH_CONFERENCE_PROGRESSING, 1000));

	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &u), 0);
	assert_int_equal(u.status, CH_CONFERENCE_PROGRESSING);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.name, "renamed");
	assert_string_equal(g.detail, "more");
	assert_string_equal(g.data, "{\"a\":1}");
	assert_int_equal(g.max_participants, 4);
	assert_int_equal(g.type, CH_CONFERENCE_TYPE_CONFERENCE);
	assert_true(g.tm_update >= c.tm_update);
	ch_conference_clear(&g);
	ch_conference_clear(&u);

	/* another customer cannot see, change or delete it */
	assert_int_equal(ch_conference_get(f->core, OTHER_CUST, c.id, &g),
	                 ENOENT);
	assert_int_equal(
	    ch_conference_update(f->core, OTHER_CUST, c.id, &p, &u), ENOENT);
	assert_int_equal(ch_conference_delete(f->core, OTHER_CUST, c.id, &d),
	                 ENOENT);

	/* nobody in it: delete ends it at once */
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATED);
	assert_string_equal(d.end_reason, CH_END_API);
	assert_string_equal(d.ended_by, CH_UUID_NIL);
	assert_true(d.tm_delete >= before && d.tm_delete <= ch_time_now_us());

	/* deleting again changes nothing */
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &g),
	                 0);
	assert_int_equal(g.status, CH_CONFERENCE_TERMINATED);
	assert_int_equal(g.tm_update, d.tm_update);
	assert_int_equal(g.tm_delete, d.tm_delete);
	ch_conference_clear(&g);

	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &u), EBUSY);
	run_ms(f, 20);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATED);
	ch_conference_clear(&d);
	ch_conference_clear(&c);
}

/* Deleted before its room is ready: terminated, and the late "room
 * ready" does not bring it back. */
static void test_delete_while_starting(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, d;

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATED);
	run_ms(f, 30);
	ch_conference_room_ready(f->core, c.id);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATED);
	ch_conference_clear(&d);
	ch_conference_clear(&c);
}

static void test_timeout(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conference_params p = {.has_timeout = true, .timeout = 1};
	int64_t t0 = ch_time_now_us();

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 1, 0, &c);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 3000));
	assert_true(ch_time_now_us() - t0 >= 900000);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_TIMEOUT);
	assert_true(g.tm_delete < CH_TIME_NEVER_US);
	ch_conference_clear(&g);
	ch_conference_clear(&c);

	/* a timeout given by an update arms the timer */
	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &g), 0);
	ch_conference_clear(&g);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 3000));
	ch_conference_clear(&c);

	/* and a timeout set back to 0 disarms it */
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 1, 0, &c);
	p.timeout = 0;
	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &g), 0);
	ch_conference_clear(&g);
	run_ms(f, 1300);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);
	ch_conference_clear(&c);
}

/* ---- participants ---- */

static void test_participants(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, b, x, out;
	char ref[CH_UUID_LEN];

	ch_uuid_new(ref);
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 2, &c);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "a", false, &x),
	                 EBUSY);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_PROGRESSING, 1000));
	assert_int_equal(ch_conferencecall_create(f->core, CH_UUID_NIL, "call",
	                                          ref, "a", false, &x),
	                 ENOENT);

	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "alice", false, &a),
	                 0);
	assert_int_equal(a.status, CH_CONFERENCECALL_JOINING);
	assert_string_equal(a.conference_id, c.id);
	assert_string_equal(a.customer_id, f->cust.id);
	assert_string_equal(a.reference_type, "call");
	assert_string_equal(a.reference_id, ref);
	assert_string_equal(a.caller_id, "alice");
	assert_string_equal(a.leave_reason, "");
	assert_int_equal(a.tm_delete, CH_TIME_NEVER_US);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_JOINING);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), 0);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_JOINED);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), EBUSY);

	join(f, c.id, false, &b);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "c", false, &x),
	                 EXFULL);

	/* mute / unmute */
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, b.id, true, &out), 0);
	assert_true(out.muted);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_true(out.muted);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, b.id, false, &out), 0);
	assert_false(out.muted);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, OTHER_CUST, b.id, true, &out),
	    ENOENT);

	/* kick: leaving at once, leaved on the next loop turn */
	assert_int_equal(
	    ch_conferencecall_kick(f->core, OTHER_CUST, a.id, &out), ENOENT);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVING);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), EBUSY);
	run_ms(f, 30);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, a.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), EBUSY);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out),
	    EBUSY);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), EBUSY);

	/* a left, so there is room again */
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "c", false, &x),
	                 0);

	/* hangup */
	assert_int_equal(ch_conferencecall_left(f->core, b.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_HANGUP);
	assert_int_equal(ch_conferencecall_left(f->core, b.id, CH_LEAVE_ORPHAN),
	                 0);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_string_equal(out.leave_reason, CH_LEAVE_HANGUP);
	/* a plain conference lives on */
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);
	ch_conference_clear(&c);
}

static void test_connect_hangup(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conferencecall a, b, out;

	live_conf(f, CH_CONFERENCE_TYPE_CONNECT, 0, &c);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVING);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_LAST_LEFT);
	assert_string_equal(g.ended_by, a.id);
	ch_conference_clear(&g);
	ch_conference_clear(&c);
}

static void test_connect_kick(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conferencecall a, b, out;

	live_conf(f, CH_CONFERENCE_TYPE_CONNECT, 0, &c);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, b.id, &out), 0);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVED);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_LAST_KICK);
	assert_string_equal(g.ended_by, b.id);
	ch_conference_clear(&g);
	ch_conference_clear(&c);
}

static void test_end_conference_on_exit(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conferencecall boss, a, b;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, true, &boss);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	/* an ordinary participant leaving changes nothing */
	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);
	assert_int_equal(
	    ch_conferencecall_left(f->core, boss.id, CH_LEAVE_HANGUP), 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVED);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_EOE_LEFT);
	assert_string_equal(g.ended_by, boss.id);
	ch_conference_clear(&g);
	ch_conference_clear(&c);

	/* kicked rather than hung up */
	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, true, &boss);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, boss.id, &a), 0);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_EOE_KICKED);
	ch_conference_clear(&g);
	ch_conference_clear(&c);
}

/* With no media layer: DELETE kicks both, terminated after they left. */
static void test_delete_with_participants(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, d;
	struct ch_conferencecall a, b, out;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATING);
	assert_int_equal(d.tm_delete, CH_TIME_NEVER_US);
	assert_string_equal(d.end_reason, CH_END_API);
	ch_conference_clear(&d);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVING);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVING);
	/* too late to join */
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call",
	                                          a.reference_id, "z", false,
	                                          &out),
	                 EBUSY);

	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &d), 0);
	assert_true(d.tm_delete < CH_TIME_NEVER_US);
	ch_conference_clear(&d);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, a.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVED);
	ch_conference_clear(&c);
}

/* ---- with a media layer ---- */

static int fm_room_create(void *arg, const struct ch_conference *conf)
{
	struct fake_media *m = arg;
	(void)conf;
	m->rooms++;
	return 0;
}

static void fm_room_destroy(void *arg, const char *conference_id)
{
	struct fake_media *m = arg;
	(void)conference_id;
	m->destroyed++;
}

static void fm_hangup(void *arg, const struct ch_conferencecall *cc)
{
	struct fake_media *m = arg;
	m->hangups++;
	snprintf(m->last_hangup, sizeof(m->last_hangup), "%s", cc->id);
}

static void fm_mute(void *arg, const struct ch_conferencecall *cc, bool muted)
{
	struct fake_media *m = arg;
	(void)cc;
	m->mutes++;
	m->last_muted = muted;
}

static const struct ch_core_media_ops fake_ops = {
    .room_create = fm_room_create,
    .room_destroy = fm_room_destroy,
    .participant_hangup = fm_hangup,
    .participant_mute = fm_mute,
};

/* The media layer decides when participants are gone: the conference is
 * terminated only after the last one left. */
static void test_delete_waits_for_media(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, d;
	struct ch_conferencecall a, b, out;

	ch_core_set_media(f->core, &fake_ops, &f->media);
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	assert_int_equal(f->media.rooms, 1);
	run_ms(f, 30);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_STARTING);
	ch_conference_room_ready(f->core, c.id);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);

	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out), 0);
	assert_int_equal(f->media.mutes, 1);
	assert_true(f->media.last_muted);
	/* muting again is no change: the media layer is not asked */
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out), 0);
	assert_int_equal(f->media.mutes, 1);

	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	ch_conference_clear(&d);
	assert_int_equal(f->media.hangups, 2);
	run_ms(f, 50);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVING);

	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_int_equal(f->media.destroyed, 0);
	assert_int_equal(ch_conferencecall_left(f->core, b.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATED);
	assert_int_equal(f->media.destroyed, 1);
	/* it was removed, whatever the call reported */
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, a.id, &out),
	                 0);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	ch_conference_clear(&c);
}

/* ---- events ---- */

static void test_events_scenario(void **state)
{
	struct fix *f = *state;
	static const char *const want[] = {
	    "conference.created",        "conference.updated",
	    "conference.updated",        "conference.member.joined",
	    "conference.updated",        "conference.member.muted",
	    "conference.member.unmuted", "conference.member.left",
	    "conference.updated",        "conference.updated",
	    "conference.updated",        "conference.destroyed",
	};
	const unsigned n_want = sizeof(want) / sizeof(want[0]);
	struct ch_conference c, d;
	struct ch_conferencecall a, out;
	struct outbox o;
	json_t *conf;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, false, &a);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out), 0);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, false, &out), 0);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), 0);
	run_ms(f, 30);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATED);
	ch_conference_clear(&d);

	outbox_read(f, &o);
	assert_int_equal(o.n, n_want);
	for (unsigned i = 0; i < n_want; i++) {
		assert_string_equal(o.type[i], want[i]);
		assert_string_equal(jstr(o.payload[i], "room_id"), c.id);
	}
	/* the participant list follows the joins and leaves */
	conf = json_object_get(o.payload[2], "conference");
	assert_int_equal(
	    json_array_size(json_object_get(conf, "conferencecall_ids")), 1);
	assert_string_equal(
	    json_string_value(
	        json_array_get(json_object_get(conf, "conferencecall_ids"), 0)),
	    a.id);
	assert_string_equal(jstr(o.payload[3], "session_uuid"), a.id);
	assert_string_equal(jstr(o.payload[7], "reason"), CH_LEAVE_REMOVED);
	conf = json_object_get(o.payload[8], "conference");
	assert_int_equal(
	    json_array_size(json_object_get(conf, "conferencecall_ids")), 0);
	assert_string_equal(jstr(o.payload[9], "status"), "terminating");
	assert_string_equal(jstr(o.payload[11], "status"), "terminated");
	outbox_free(&o);
	ch_conference_clear(&c);
}

/* ---- recovery ---- */

static void put_conf(struct fix *f, enum ch_conference_status s,
                     int64_t tm_create, int64_t timeout,
                     struct ch_conference *c)
{
	memset(c, 0, sizeof(*c));
	ch_uuid_new(c->id);
	memcpy(c->customer_id, f->cust.id, CH_UUID_LEN);
	c->status = s;
	c->name = strdup("old");
	c->detail = strdup("");
	c->timeout = timeout;
	memcpy(c->recording_id, CH_UUID_NIL, CH_UUID_LEN);
	memcpy(c->transcribe_id, CH_UUID_NIL, CH_UUID_LEN);
	memcpy(c->ended_by, CH_UUID_NIL, CH_UUID_LEN);
	if (s == CH_CONFERENCE_TERMINATING)
		snprintf(c->end_reason, sizeof(c->end_reason), CH_END_API);
	c->tm_create = c->tm_update = tm_create;
	c->tm_delete = CH_TIME_NEVER_US;
	assert_int_equal(f->st->ops->conference_insert(f->st, c), 0);
}

static void put_cc(struct fix *f, const char *conf_id,
                   enum ch_conferencecall_status s,
                   struct ch_conferencecall *cc)
{
	memset(cc, 0, sizeof(*cc));
	ch_uuid_new(cc->id);
	memcpy(cc->customer_id, f->cust.id, CH_UUID_LEN);
	memcpy(cc->conference_id, conf_id, CH_UUID_LEN);
	snprintf(cc->reference_type, sizeof(cc->reference_type), "call");
	ch_uuid_new(cc->reference_id);
	cc->status = s;
	if (s == CH_CONFERENCECALL_LEAVING)
		snprintf(cc->leave_reason, sizeof(cc->leave_reason),
		         CH_LEAVE_REMOVED);
	cc->tm_create = cc->tm_update = ch_time_now_us();
	cc->tm_delete = CH_TIME_NEVER_US;
	assert_int_equal(f->st->ops->conferencecall_insert(f->st, cc), 0);
}

static void test_recovery(void **state)
{
	struct fix *f = *state;
	int64_t now = ch_time_now_us();
	struct ch_conference ending, empty_ending, expired, live, starting,
	    soon, g;
	struct ch_conferencecall leaving, present, out;

	put_conf(f, CH_CONFERENCE_TERMINATING, now - 5000000, 0, &ending);
	put_cc(f, ending.id, CH_CONFERENCECALL_LEAVING, &leaving);
	put_conf(f, CH_CONFERENCE_TERMINATING, now - 5000000, 0, &empty_ending);
	put_conf(f, CH_CONFERENCE_PROGRESSING, now - 10000000, 5, &expired);
	put_conf(f, CH_CONFERENCE_PROGRESSING, now - 10000000, 0, &live);
	put_cc(f, live.id, CH_CONFERENCECALL_JOINED, &present);
	put_conf(f, CH_CONFERENCE_STARTING, now, 0, &starting);
	put_conf(f, CH_CONFERENCE_PROGRESSING, now, 1, &soon);

	assert_int_equal(ch_core_start(f->core), 0);

	assert_int_equal(conf_status(f, ending.id), CH_CONFERENCE_TERMINATED);
	assert_int_equal(ch_conferencecall_get(f->core, NULL, leaving.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_int_equal(ch_conference_get(f->core, NULL, ending.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_API);
	assert_true(g.tm_delete < CH_TIME_NEVER_US);
	ch_conference_clear(&g);

	assert_int_equal(conf_status(f, empty_ending.id),
	                 CH_CONFERENCE_TERMINATED);

	assert_int_equal(ch_conference_get(f->core, NULL, expired.id, &g), 0);
	assert_int_equal(g.status, CH_CONFERENCE_TERMINATED);
	assert_string_equal(g.end_reason, CH_END_TIMEOUT);
	ch_conference_clear(&g);

	/* no call survives a restart */
	assert_int_equal(ch_conferencecall_get(f->core, NULL, present.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_ORPHAN);
	assert_int_equal(conf_status(f, live.id), CH_CONFERENCE_PROGRESSING);

	/* rooms are asked for again, and timers re-armed */
	assert_true(wait_conf(f, starting.id, CH_CONFERENCE_PROGRESSING, 1000));
	assert_int_equal(conf_status(f, soon.id), CH_CONFERENCE_PROGRESSING);
	assert_true(wait_conf(f, soon.id, CH_CONFERENCE_TERMINATED, 3000));
	assert_int_equal(conf_status(f, live.id), CH_CONFERENCE_PROGRESSING);

	ch_conference_clear(&ending);
	ch_conference_clear(&empty_ending);
	ch_conference_clear(&expired);
	ch_conference_clear(&live);
	ch_conference_clear(&starting);
	ch_conference_clear(&soon);
}

static int group_setup(void **state)
{
	(void)state;
	ch_log_set_level(CH_LOG_WARN);
	return libre_init();
}

static int group_teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_conference_lifecycle),
	    T(test_delete_while_starting),
	    T(test_timeout),
	    T(test_participants),
	    T(test_connect_hangup),
	    T(test_connect_kick),
	    T(test_end_conference_on_exit),
	    T(test_delete_with_participants),
	    T(test_delete_waits_for_media),
	    T(test_events_scenario),
	    T(test_recovery),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
