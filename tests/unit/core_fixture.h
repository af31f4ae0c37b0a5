/*
 * core_fixture.h: the test fixture shared by test_core.c and
 * test_core_recovery.c (header only).
 *
 * Each test runs on a real SQLite store in its own mkdtemp folder, a real
 * event hub and a core with one customer. With no media layer attached,
 * rooms are ready and kicked participants leave on the next loop turn; a
 * fake media layer (fake_media_ops) lets a test decide when participants
 * leave. The libre main loop is driven with re_main() and stopped by a
 * polling tmr (condition met) or a watchdog tmr. After every test the
 * teardown checks the whole outbox: each payload is JSON with id, event,
 * timestamp, app_id and room_id, and no conference or participant status
 * ever moves backwards.
 */
#ifndef CH_TEST_CORE_FIXTURE_H
#define CH_TEST_CORE_FIXTURE_H

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
#include "util/token.h"
#include "util/uuid.h"

#include "tmpdir.h"

#define OTHER_CUST "bbbbbbbb-0000-4000-8000-000000000002"

/* What the fake media layer was asked to do. With hangup_leaves set, a
 * hangup reports the participant gone at once, from inside the call (a
 * call that was already down). */
struct fake_media {
	unsigned rooms, destroyed, hangups, mutes;
	char last_hangup[CH_UUID_LEN];
	bool last_muted;
	bool hangup_leaves;
	struct ch_core *core;
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

static inline void poll_h(void *arg)
{
	struct waiter *w = arg;
	if (w->pred && w->pred(w->f, w->arg)) {
		w->met = true;
		re_cancel();
		return;
	}
	tmr_start(&w->poll, 5, poll_h, w);
}

static inline void dog_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Runs the loop until pred holds (checked every 5 ms) or max_ms pass;
 * pred NULL runs it for max_ms. Returns whether pred held. */
static inline bool run_until(struct fix *f, pred_h *pred, const void *arg,
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

static inline void run_ms(struct fix *f, unsigned ms)
{
	(void)run_until(f, NULL, NULL, ms);
}

/* ---- store look-ups ---- */

static inline enum ch_conference_status conf_status(struct fix *f,
                                                    const char *id)
{
	struct ch_conference c;
	assert_int_equal(ch_conference_get(f->core, f->cust.id, id, &c), 0);
	enum ch_conference_status s = c.status;
	ch_conference_clear(&c);
	return s;
}

static inline enum ch_conferencecall_status cc_status(struct fix *f,
                                                      const char *id)
{
	struct ch_conferencecall cc;
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, id, &cc),
	                 0);
	return cc.status;
}

static inline bool conf_is_h(struct fix *f, const void *arg)
{
	const struct ch_conference *want = arg;
	return conf_status(f, want->id) == want->status;
}

/* Runs the loop until conference id has status s (at most max_ms). */
static inline bool wait_conf(struct fix *f, const char *id,
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

static inline int outbox_h(const struct ch_event_rec *e, void *arg)
{
	struct outbox *o = arg;
	assert_true(o->n < MAX_EVENTS);
	snprintf(o->type[o->n], sizeof(o->type[0]), "%s", e->type);
	o->payload[o->n] = json_loads(e->payload, 0, NULL);
	assert_non_null(o->payload[o->n]);
	o->n++;
	return 0;
}

static inline void outbox_read(struct fix *f, struct outbox *o)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(f->st->ops->event_list_after(f->st, f->cust.id, 0,
	                                              MAX_EVENTS, outbox_h, o),
	                 0);
}

static inline void outbox_free(struct outbox *o)
{
	for (unsigned i = 0; i < o->n; i++)
		json_decref(o->payload[i]);
}

/* The number of events in the outbox. */
static inline unsigned outbox_count(struct fix *f)
{
	struct outbox o;
	outbox_read(f, &o);
	outbox_free(&o);
	return o.n;
}

static inline const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	return s;
}

/* The state of the outbox check: status ranks seen so far per resource
 * id, and the first problem found. */
struct ob_check {
	const char *cust_id;
	struct rank {
		char id[CH_UUID_LEN];
		int rank;
	} * ranks;
	size_t n, cap;
	int64_t last_seq;
	char why[256];
};

static inline const char *jget(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Records the rank of resource id (prefixed by kind); notes a step back. */
static inline void ob_rank(struct ob_check *k, const char *kind, const char *id,
                           int rank, int64_t seq)
{
	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->ranks[i].id, id))
			continue;
		if (rank < k->ranks[i].rank && !k->why[0])
			snprintf(k->why, sizeof(k->why),
			         "event %lld: %s %s status went back from %d "
			         "to %d",
			         (long long)seq, kind, id, k->ranks[i].rank,
			         rank);
		k->ranks[i].rank = rank;
		return;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		void *v = realloc(k->ranks, cap * sizeof(*k->ranks));
		if (!v)
			return;
		k->ranks = v;
		k->cap = cap;
	}
	snprintf(k->ranks[k->n].id, CH_UUID_LEN, "%s", id);
	k->ranks[k->n++].rank = rank;
}

static inline int ob_check_h(const struct ch_event_rec *e, void *arg)
{
	struct ob_check *k = arg;
	json_t *p = json_loads(e->payload, 0, NULL), *c;
	enum ch_conference_status cs;
	enum ch_conferencecall_status ccs;
	int64_t us;
	bool ok;

	k->last_seq = e->seq;
	ok = json_is_object(p) && ch_uuid_valid(jget(p, "id")) &&
	     !strcmp(jget(p, "event"), e->type) &&
	     !ch_time_parse(jget(p, "timestamp"), &us) &&
	     !strcmp(jget(p, "app_id"), k->cust_id) &&
	     ch_uuid_valid(jget(p, "room_id"));
	c = json_object_get(p, "conference");
	if (ok && c) {
		ok = !strcmp(jget(c, "id"), jget(p, "room_id")) &&
		     !ch_conference_status_parse(jget(c, "status"), &cs);
		if (ok)
			ob_rank(k, "conference", jget(c, "id"), (int)cs,
			        e->seq);
	}
	c = json_object_get(p, "conferencecall");
	if (ok && c) {
		ok = !strcmp(jget(c, "conference_id"), jget(p, "room_id")) &&
		     !strcmp(jget(c, "id"), jget(p, "session_uuid")) &&
		     !ch_conferencecall_status_parse(jget(c, "status"), &ccs);
		if (ok)
			ob_rank(k, "conferencecall", jget(c, "id"), (int)ccs,
			        e->seq);
	}
	if (!ok && !k->why[0])
		snprintf(k->why, sizeof(k->why),
		         "event %lld is malformed: %.180s", (long long)e->seq,
		         e->payload);
	json_decref(p);
	return 0;
}

/* Checks the whole outbox: every payload is a JSON object with id, event,
 * timestamp, app_id and room_id (and the nested conference or
 * conferencecall matches them), and no status ever moves backwards.
 * Returns false with the first problem in why. */
static inline bool outbox_ok(struct fix *f, char *why, size_t len)
{
	struct ob_check k = {.cust_id = f->cust.id};
	int64_t before;

	do {
		before = k.last_seq;
		if (f->st->ops->event_list_after(f->st, f->cust.id, k.last_seq,
		                                 256, ob_check_h, &k))
			snprintf(k.why, sizeof(k.why), "outbox read failed");
	} while (k.last_seq != before && !k.why[0]);
	free(k.ranks);
	snprintf(why, len, "%s", k.why);
	return !k.why[0];
}

/* ---- fixture ---- */

static inline int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	ch_test_tmpdir(f->dir, "ch-core");
	ch_uuid_new(f->cust.id);
	snprintf(f->cust.name, sizeof(f->cust.name), "test");
	ch_token_hash("core-token", f->cust.token_hash);
	f->cust.tm_create = ch_time_now_us();
	if (ch_store_open_sqlite(&f->st, f->dir) ||
	    f->st->ops->customer_insert(f->st, &f->cust) ||
	    ch_events_alloc(&f->ev, f->st, 1000) ||
	    ch_core_alloc(&f->core, f->st, f->ev, "test-node"))
		return -1;
	*state = f;
	return 0;
}

/* Checks the outbox, frees everything, then reports a bad outbox. */
static inline int teardown(void **state)
{
	struct fix *f = *state;
	char why[256];
	bool ok = outbox_ok(f, why, sizeof(why));
	ch_core_free(f->core);
	ch_events_free(f->ev);
	ch_store_close(f->st);
	ch_test_rmtree(f->dir);
	free(f);
	if (!ok)
		fail_msg("outbox: %s", why);
	return 0;
}

static inline void create_conf(struct fix *f, enum ch_conference_type type,
                               int64_t timeout, int max,
                               struct ch_conference *out)
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
static inline void live_conf(struct fix *f, enum ch_conference_type type,
                             int max, struct ch_conference *out)
{
	create_conf(f, type, 0, max, out);
	assert_true(wait_conf(f, out->id, CH_CONFERENCE_PROGRESSING, 1000));
}

/* A joined participant. */
static inline void join(struct fix *f, const char *conf_id, bool eoe,
                        struct ch_conferencecall *out)
{
	char ref[CH_UUID_LEN];
	ch_uuid_new(ref);
	assert_int_equal(ch_conferencecall_create(f->core, conf_id, "call", ref,
	                                          "+15550100", eoe, out),
	                 0);
	assert_int_equal(ch_conferencecall_joined(f->core, out->id), 0);
}

/* ---- with a media layer ---- */

static inline int fm_room_create(void *arg, const struct ch_conference *conf)
{
	struct fake_media *m = arg;
	(void)conf;
	m->rooms++;
	return 0;
}

static inline void fm_room_destroy(void *arg, const char *conference_id)
{
	struct fake_media *m = arg;
	(void)conference_id;
	m->destroyed++;
}

static inline void fm_hangup(void *arg, const struct ch_conferencecall *cc)
{
	struct fake_media *m = arg;
	m->hangups++;
	snprintf(m->last_hangup, sizeof(m->last_hangup), "%s", cc->id);
	if (m->hangup_leaves)
		assert_int_equal(
		    ch_conferencecall_left(m->core, cc->id, CH_LEAVE_HANGUP),
		    0);
}

static inline void fm_mute(void *arg, const struct ch_conferencecall *cc,
                           bool muted)
{
	struct fake_media *m = arg;
	(void)cc;
	m->mutes++;
	m->last_muted = muted;
}

/* The fake media layer's operations; its arg is a struct fake_media. */
static inline const struct ch_core_media_ops *fake_media_ops(void)
{
	static const struct ch_core_media_ops ops = {
	    .room_create = fm_room_create,
	    .room_destroy = fm_room_destroy,
	    .participant_hangup = fm_hangup,
	    .participant_mute = fm_mute,
	};
	return &ops;
}

/* ---- recovery ---- */

/* Writes a conference straight into the store, as a crashed chorusd
 * left it. c's strings are static: c needs no ch_conference_clear. */
static inline void put_conf(struct fix *f, enum ch_conference_status s,
                            int64_t tm_create, int64_t timeout,
                            struct ch_conference *c)
{
	static char name[] = "old", detail[] = "";
	memset(c, 0, sizeof(*c));
	ch_uuid_new(c->id);
	memcpy(c->customer_id, f->cust.id, CH_UUID_LEN);
	c->status = s;
	c->name = name;
	c->detail = detail;
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

static inline void put_cc(struct fix *f, const char *conf_id,
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

static inline int group_setup(void **state)
{
	(void)state;
	ch_log_set_level(CH_LOG_WARN);
	return libre_init();
}

static inline int group_teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

#endif
