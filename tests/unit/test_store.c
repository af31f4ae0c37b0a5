/*
 * test_store.c: unit tests for the SQLite store (store/store_sqlite.c)
 * through the store interface (store/store.h).
 *
 * Each test opens a fresh store in its own mkdtemp folder and removes the
 * folder afterwards. Covered: customers, conferences (customer filter,
 * update, pagination, live list), conferencecalls (filters, present list),
 * the event outbox, webhook cursors, transactions, reopening, and a data
 * dir that is not a folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "store_fixture.h"

#define CUST_A "aaaaaaaa-0000-4000-8000-000000000001"
#define CUST_B "bbbbbbbb-0000-4000-8000-000000000002"

/* ---- record builders ---- */

static void make_customer(struct ch_customer *c, const char *id,
                          const char *token, int64_t tm)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->name, sizeof(c->name), "name of %s", token);
	ch_token_hash(token, c->token_hash);
	snprintf(c->webhook_uri, sizeof(c->webhook_uri),
	         "http://127.0.0.1:9/%s", token);
	snprintf(c->webhook_secret, sizeof(c->webhook_secret), "secret-%s",
	         token);
	c->tm_create = tm;
}

/* A conference with every field set to a distinct value; the caller
 * clears it. */
static void make_conf(struct ch_conference *c, const char *customer_id,
                      int64_t tm_create, enum ch_conference_status status)
{
	memset(c, 0, sizeof(*c));
	ch_uuid_new(c->id);
	snprintf(c->customer_id, sizeof(c->customer_id), "%s", customer_id);
	c->type = CH_CONFERENCE_TYPE_CONNECT;
	c->status = status;
	c->name = strdup("room name");
	c->detail = strdup("room detail");
	c->data = strdup("{\"k\":1}");
	c->timeout = 3600;
	c->pre_actions = strdup("[{\"type\":\"beep\"}]");
	c->post_actions = strdup("[{\"type\":\"hangup\"}]");
	ch_uuid_new(c->recording_id);
	c->recording_ids = strdup("[\"r1\"]");
	ch_uuid_new(c->transcribe_id);
	c->transcribe_ids = strdup("[\"t1\"]");
	snprintf(c->playback_status, sizeof(c->playback_status), "paused");
	c->playback_volume = -7;
	c->max_participants = 12;
	c->max_sample_rate = 8000;
	snprintf(c->end_reason, sizeof(c->end_reason), "timeout");
	ch_uuid_new(c->ended_by);
	c->tm_create = tm_create;
	c->tm_update = tm_create + 5;
	c->tm_delete = CH_TIME_NEVER_US;
}

static void assert_conf_equal(const struct ch_conference *a,
                              const struct ch_conference *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->customer_id, b->customer_id);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->detail, b->detail);
	assert_string_equal(a->data, b->data);
	assert_int_equal(a->timeout, b->timeout);
	assert_string_equal(a->pre_actions, b->pre_actions);
	assert_string_equal(a->post_actions, b->post_actions);
	assert_string_equal(a->recording_id, b->recording_id);
	assert_string_equal(a->recording_ids, b->recording_ids);
	assert_string_equal(a->transcribe_id, b->transcribe_id);
	assert_string_equal(a->transcribe_ids, b->transcribe_ids);
	assert_string_equal(a->playback_status, b->playback_status);
	assert_int_equal(a->playback_volume, b->playback_volume);
	assert_int_equal(a->max_participants, b->max_participants);
	assert_int_equal(a->max_sample_rate, b->max_sample_rate);
	assert_string_equal(a->end_reason, b->end_reason);
	assert_string_equal(a->ended_by, b->ended_by);
	assert_int_equal(a->tm_create, b->tm_create);
	assert_int_equal(a->tm_update, b->tm_update);
	assert_int_equal(a->tm_delete, b->tm_delete);
}

static void make_cc(struct ch_conferencecall *cc, const char *customer_id,
                    const char *conference_id, int64_t tm_create,
                    enum ch_conferencecall_status status)
{
	memset(cc, 0, sizeof(*cc));
	ch_uuid_new(cc->id);
	snprintf(cc->customer_id, sizeof(cc->customer_id), "%s", customer_id);
	snprintf(cc->conference_id, sizeof(cc->conference_id), "%s",
	         conference_id);
	snprintf(cc->reference_type, sizeof(cc->reference_type), "call");
	ch_uuid_new(cc->reference_id);
	cc->status = status;
	cc->muted = true;
	snprintf(cc->caller_id, sizeof(cc->caller_id), "+15550100");
	if (status == CH_CONFERENCECALL_LEAVED)
		snprintf(cc->leave_reason, sizeof(cc->leave_reason), "hangup");
	cc->end_conference_on_exit = true;
	cc->tm_create = tm_create;
	cc->tm_update = tm_create + 1;
	cc->tm_delete = CH_TIME_NEVER_US;
}

static void assert_cc_equal(const struct ch_conferencecall *a,
                            const struct ch_conferencecall *b)
{
	assert_memory_equal(a, b, sizeof(*a));
}

/* ---- list collectors ---- */

#define MAX_ROWS 16

struct rows {
	char id[MAX_ROWS][48]; /* an id, or an event type */
	int64_t tm[MAX_ROWS];
	unsigned n;
	unsigned stop_after; /* 0: never stop */
};

static int rows_add(struct rows *r, const char *id, int64_t tm)
{
	assert_true(r->n < MAX_ROWS);
	snprintf(r->id[r->n], sizeof(r->id[0]), "%s", id);
	r->tm[r->n++] = tm;
	return r->stop_after && r->n >= r->stop_after;
}

static int cust_h(const struct ch_customer *c, void *arg)
{
	return rows_add(arg, c->id, c->tm_create);
}

static int conf_h(const struct ch_conference *c, void *arg)
{
	return rows_add(arg, c->id, c->tm_create);
}

static int cc_h(const struct ch_conferencecall *cc, void *arg)
{
	return rows_add(arg, cc->id, cc->tm_create);
}

static int ev_h(const struct ch_event_rec *e, void *arg)
{
	struct rows *r = arg;
	/* the type doubles as the id for these checks */
	return rows_add(r, e->type, e->seq);
}

/* ---- customers ---- */

static void test_customer(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_customer a, b, out;
	struct rows r = {0};

	make_customer(&a, CUST_A, "token-a", 2000);
	make_customer(&b, CUST_B, "token-b", 1000);
	assert_int_equal(op->customer_insert(f->st, &a), 0);
	assert_int_equal(op->customer_insert(f->st, &b), 0);

	assert_int_equal(by_token(f->st, "token-a", &out), 0);
	assert_memory_equal(&out, &a, sizeof(a));
	assert_int_equal(op->customer_by_id(f->st, CUST_B, &out), 0);
	assert_memory_equal(&out, &b, sizeof(b));
	assert_int_equal(by_token(f->st, "nope", &out), ENOENT);
	assert_int_equal(by_token(f->st, "", &out), ENOENT);
	assert_int_equal(op->customer_by_id(f->st, CH_UUID_NIL, &out), ENOENT);

	/* the token is unique */
	make_customer(&out, "cccccccc-0000-4000-8000-000000000003", "token-a",
	              3000);
	assert_int_equal(op->customer_insert(f->st, &out), EIO);

	/* oldest first */
	assert_int_equal(op->customer_list(f->st, cust_h, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.id[0], CUST_B);
	assert_string_equal(r.id[1], CUST_A);

	/* a handler returning non-zero stops the list */
	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	assert_int_equal(op->customer_list(f->st, cust_h, &r), 0);
	assert_int_equal(r.n, 1);
}

/* ---- conferences ---- */

static void test_conference_insert_get(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_conference c, out;

	make_conf(&c, CUST_A, 1000, CH_CONFERENCE_PROGRESSING);
	assert_int_equal(op->conference_insert(f->st, &c), 0);

	assert_int_equal(op->conference_get(f->st, c.id, NULL, &out), 0);
	assert_conf_equal(&out, &c);
	ch_conference_clear(&out);

	assert_int_equal(op->conference_get(f->st, c.id, CUST_A, &out), 0);
	assert_conf_equal(&out, &c);
	ch_conference_clear(&out);

	/* another customer's conference does not exist for them */
	assert_int_equal(op->conference_get(f->st, c.id, CUST_B, &out), ENOENT);
	assert_int_equal(op->conference_get(f->st, CH_UUID_NIL, NULL, &out),
	                 ENOENT);

	/* the same id twice is refused */
	assert_int_equal(op->conference_insert(f->st, &c), EIO);
	ch_conference_clear(&c);

	/* NULL JSON texts are stored as empty JSON values */
	make_conf(&c, CUST_A, 2000, CH_CONFERENCE_STARTING);
	free(c.data);
	free(c.pre_actions);
	c.data = c.pre_actions = NULL;
	assert_int_equal(op->conference_insert(f->st, &c), 0);
	assert_int_equal(op->conference_get(f->st, c.id, NULL, &out), 0);
	assert_string_equal(out.data, "{}");
	assert_string_equal(out.pre_actions, "[]");
	assert_int_equal(out.status, CH_CONFERENCE_STARTING);
	ch_conference_clear(&out);
	ch_conference_clear(&c);
}

static void test_conference_update(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_conference c, out;

	make_conf(&c, CUST_A, 1000, CH_CONFERENCE_PROGRESSING);
	assert_int_equal(op->conference_insert(f->st, &c), 0);

	c.status = CH_CONFERENCE_TERMINATED;
	free(c.name);
	c.name = strdup("renamed");
	c.timeout = 0;
	c.max_participants = 3;
	snprintf(c.end_reason, sizeof(c.end_reason),
	         "conference_ended_via_api");
	c.tm_update = 7000;
	c.tm_delete = 7000;
	assert_int_equal(op->conference_update(f->st, &c), 0);
	assert_int_equal(op->conference_get(f->st, c.id, CUST_A, &out), 0);
	assert_conf_equal(&out, &c);
	ch_conference_clear(&out);

	/* updating a row that does not exist */
	ch_uuid_new(c.id);
	assert_int_equal(op->conference_update(f->st, &c), ENOENT);
	ch_conference_clear(&c);
}

static void test_conference_list(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_conference c[5], other;
	struct rows r = {0};

	for (int i = 0; i < 5; i++) {
		make_conf(&c[i], CUST_A, 1000 * (i + 1),
		          CH_CONFERENCE_PROGRESSING);
		assert_int_equal(op->conference_insert(f->st, &c[i]), 0);
	}
	make_conf(&other, CUST_B, 3500, CH_CONFERENCE_PROGRESSING);
	assert_int_equal(op->conference_insert(f->st, &other), 0);

	/* everything, newest first, only the customer's own */
	assert_int_equal(op->conference_list(f->st, CUST_A,
	                                     CH_TIME_NEVER_US + 1, 100, conf_h,
	                                     &r),
	                 0);
	assert_int_equal(r.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(r.id[i], c[4 - i].id);

	/* page 1 of 2 rows, then page 2 from the cursor of page 1 */
	memset(&r, 0, sizeof(r));
	assert_int_equal(op->conference_list(f->st, CUST_A,
	                                     CH_TIME_NEVER_US + 1, 2, conf_h,
	                                     &r),
	                 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.id[0], c[4].id);
	assert_string_equal(r.id[1], c[3].id);
	int64_t cursor = r.tm[1];
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    op->conference_list(f->st, CUST_A, cursor, 2, conf_h, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.id[0], c[2].id);
	assert_string_equal(r.id[1], c[1].id);

	/* before_us is exclusive; nothing before the oldest */
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    op->conference_list(f->st, CUST_A, 1000, 10, conf_h, &r), 0);
	assert_int_equal(r.n, 0);

	memset(&r, 0, sizeof(r));
	assert_int_equal(op->conference_list(f->st, CUST_B,
	                                     CH_TIME_NEVER_US + 1, 10, conf_h,
	                                     &r),
	                 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], other.id);

	/* stopping early */
	memset(&r, 0, sizeof(r));
	r.stop_after = 3;
	assert_int_equal(op->conference_list(f->st, CUST_A,
	                                     CH_TIME_NEVER_US + 1, 10, conf_h,
	                                     &r),
	                 0);
	assert_int_equal(r.n, 3);

	for (int i = 0; i < 5; i++)
		ch_conference_clear(&c[i]);
	ch_conference_clear(&other);
}

static void test_conference_list_live(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	static const enum ch_conference_status st[] = {
	    CH_CONFERENCE_TERMINATED, CH_CONFERENCE_STARTING,
	    CH_CONFERENCE_TERMINATING, CH_CONFERENCE_TERMINATED,
	    CH_CONFERENCE_PROGRESSING};
	struct ch_conference c[5];
	struct rows r = {0};

	for (int i = 0; i < 5; i++) {
		make_conf(&c[i], i % 2 ? CUST_A : CUST_B, 1000 * (i + 1),
		          st[i]);
		assert_int_equal(op->conference_insert(f->st, &c[i]), 0);
	}
	/* every customer's, oldest first, without the terminated */
	assert_int_equal(op->conference_list_live(f->st, conf_h, &r), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.id[0], c[1].id);
	assert_string_equal(r.id[1], c[2].id);
	assert_string_equal(r.id[2], c[4].id);

	/* terminating it takes it off the list */
	c[2].status = CH_CONFERENCE_TERMINATED;
	assert_int_equal(op->conference_update(f->st, &c[2]), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(op->conference_list_live(f->st, conf_h, &r), 0);
	assert_int_equal(r.n, 2);
	for (int i = 0; i < 5; i++)
		ch_conference_clear(&c[i]);
}

/* ---- conferencecalls ---- */

static void test_conferencecall(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	char conf_x[CH_UUID_LEN], conf_y[CH_UUID_LEN];
	struct ch_conferencecall cc[4], out;
	struct rows r = {0};

	ch_uuid_new(conf_x);
	ch_uuid_new(conf_y);
	make_cc(&cc[0], CUST_A, conf_x, 1000, CH_CONFERENCECALL_JOINED);
	make_cc(&cc[1], CUST_A, conf_x, 2000, CH_CONFERENCECALL_LEAVED);
	make_cc(&cc[2], CUST_A, conf_y, 3000, CH_CONFERENCECALL_JOINING);
	make_cc(&cc[3], CUST_A, conf_x, 4000, CH_CONFERENCECALL_LEAVING);
	for (int i = 0; i < 4; i++)
		assert_int_equal(op->conferencecall_insert(f->st, &cc[i]), 0);

	assert_int_equal(op->conferencecall_get(f->st, cc[1].id, NULL, &out),
	                 0);
	assert_cc_equal(&out, &cc[1]);
	assert_int_equal(op->conferencecall_get(f->st, cc[1].id, CUST_A, &out),
	                 0);
	assert_cc_equal(&out, &cc[1]);
	assert_int_equal(op->conferencecall_get(f->st, cc[1].id, CUST_B, &out),
	                 ENOENT);

	cc[0].status = CH_CONFERENCECALL_LEAVED;
	cc[0].muted = false;
	snprintf(cc[0].leave_reason, sizeof(cc[0].leave_reason), "removed");
	/* the last quality is kept when it leaves */
	snprintf(cc[0].quality, sizeof(cc[0].quality),
	         "{\"codec\":\"PCMU\",\"mos\":4.4,\"tags\":[]}");
	cc[0].tm_update = 9000;
	assert_int_equal(op->conferencecall_update(f->st, &cc[0]), 0);
	assert_int_equal(op->conferencecall_get(f->st, cc[0].id, NULL, &out),
	                 0);
	assert_cc_equal(&out, &cc[0]);
	make_cc(&out, CUST_A, conf_x, 1, CH_CONFERENCECALL_JOINED);
	assert_int_equal(op->conferencecall_update(f->st, &out), ENOENT);

	/* all of the customer's, newest first */
	assert_int_equal(op->conferencecall_list(f->st, CUST_A, NULL,
	                                         CH_TIME_NEVER_US + 1, 100,
	                                         cc_h, &r),
	                 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.id[0], cc[3].id);
	assert_string_equal(r.id[3], cc[0].id);

	/* one conference's, with limit and cursor */
	memset(&r, 0, sizeof(r));
	assert_int_equal(op->conferencecall_list(f->st, CUST_A, conf_x,
	                                         CH_TIME_NEVER_US + 1, 2, cc_h,
	                                         &r),
	                 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.id[0], cc[3].id);
	assert_string_equal(r.id[1], cc[1].id);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    op->conferencecall_list(f->st, CUST_A, conf_x, 2000, 10, cc_h, &r),
	    0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], cc[0].id);

	/* another customer sees none of them */
	memset(&r, 0, sizeof(r));
	assert_int_equal(op->conferencecall_list(f->st, CUST_B, conf_x,
	                                         CH_TIME_NEVER_US + 1, 10, cc_h,
	                                         &r),
	                 0);
	assert_int_equal(r.n, 0);

	/* present: not leaved, oldest first (cc[0] and cc[1] have left) */
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    op->conferencecall_list_present(f->st, conf_x, cc_h, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], cc[3].id);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    op->conferencecall_list_present(f->st, conf_y, cc_h, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], cc[2].id);
}

/* ---- events and cursors ---- */

static void add_event(struct ch_store *st, const char *cust, const char *type,
                      int64_t *seq)
{
	struct ch_event_rec e;
	memset(&e, 0, sizeof(e));
	ch_uuid_new(e.id);
	snprintf(e.customer_id, sizeof(e.customer_id), "%s", cust);
	snprintf(e.conference_id, sizeof(e.conference_id), CH_UUID_NIL);
	snprintf(e.type, sizeof(e.type), "%s", type);
	e.payload = strdup("{\"x\":1}");
	e.tm_create = ch_time_now_us();
	assert_int_equal(st->ops->event_append(st, &e), 0);
	assert_true(e.seq > 0);
	*seq = e.seq;
	ch_event_rec_clear(&e);
}

static int ev_full_h(const struct ch_event_rec *e, void *arg)
{
	struct ch_event_rec *out = arg;
	*out = *e;
	out->payload = strdup(e->payload);
	return 1;
}

static void test_events(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	int64_t s[4];
	struct rows r = {0};
	struct ch_event_rec got;

	add_event(f->st, CUST_A, "a1", &s[0]);
	add_event(f->st, CUST_B, "b1", &s[1]);
	add_event(f->st, CUST_A, "a2", &s[2]);
	add_event(f->st, CUST_A, "a3", &s[3]);
	for (int i = 1; i < 4; i++)
		assert_true(s[i] > s[i - 1]);

	assert_int_equal(op->event_list_after(f->st, CUST_A, 0, 100, ev_h, &r),
	                 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.id[0], "a1");
	assert_string_equal(r.id[1], "a2");
	assert_string_equal(r.id[2], "a3");
	assert_int_equal(r.tm[0], s[0]);

	memset(&r, 0, sizeof(r));
	assert_int_equal(op->event_list_after(f->st, CUST_A, s[0], 1, ev_h, &r),
	                 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], "a2");

	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    op->event_list_after(f->st, CUST_A, s[3], 10, ev_h, &r), 0);
	assert_int_equal(r.n, 0);

	memset(&r, 0, sizeof(r));
	assert_int_equal(op->event_list_after(f->st, CUST_B, 0, 10, ev_h, &r),
	                 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], "b1");

	/* every field comes back */
	memset(&got, 0, sizeof(got));
	assert_int_equal(
	    op->event_list_after(f->st, CUST_B, 0, 1, ev_full_h, &got), 0);
	assert_int_equal(got.seq, s[1]);
	assert_true(ch_uuid_valid(got.id));
	assert_string_equal(got.customer_id, CUST_B);
	assert_string_equal(got.conference_id, CH_UUID_NIL);
	assert_string_equal(got.payload, "{\"x\":1}");
	assert_true(got.tm_create > 0);
	ch_event_rec_clear(&got);
}

static void test_webhook_cursor(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	int64_t v = 77;

	assert_int_equal(op->webhook_cursor_get(f->st, CUST_A, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(op->webhook_cursor_set(f->st, CUST_A, 5), 0);
	assert_int_equal(op->webhook_cursor_get(f->st, CUST_A, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(op->webhook_cursor_set(f->st, CUST_A, 9), 0);
	assert_int_equal(op->webhook_cursor_get(f->st, CUST_A, &v), 0);
	assert_int_equal(v, 9);
	v = 77;
	assert_int_equal(op->webhook_cursor_get(f->st, CUST_B, &v), 0);
	assert_int_equal(v, 0);
}

/* ---- transactions and durability ---- */

static void test_txn_rollback_commit(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_customer cu, out;
	struct ch_conference c, cout;
	struct rows r = {0};
	int64_t seq, v;

	make_customer(&cu, CUST_A, "token-a", 1000);
	make_conf(&c, CUST_A, 1000, CH_CONFERENCE_STARTING);

	assert_int_equal(op->begin(f->st), 0);
	assert_int_equal(op->customer_insert(f->st, &cu), 0);
	assert_int_equal(op->conference_insert(f->st, &c), 0);
	add_event(f->st, CUST_A, "e1", &seq);
	assert_int_equal(op->webhook_cursor_set(f->st, CUST_A, seq), 0);
	/* visible inside the transaction */
	assert_int_equal(op->conference_get(f->st, c.id, NULL, &cout), 0);
	ch_conference_clear(&cout);
	op->rollback(f->st);

	assert_int_equal(op->customer_by_id(f->st, CUST_A, &out), ENOENT);
	assert_int_equal(op->conference_get(f->st, c.id, NULL, &cout), ENOENT);
	assert_int_equal(op->event_list_after(f->st, CUST_A, 0, 10, ev_h, &r),
	                 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(op->webhook_cursor_get(f->st, CUST_A, &v), 0);
	assert_int_equal(v, 0);

	assert_int_equal(op->begin(f->st), 0);
	/* no nested transactions */
	assert_int_equal(op->begin(f->st), EIO);
	assert_int_equal(op->customer_insert(f->st, &cu), 0);
	assert_int_equal(op->conference_insert(f->st, &c), 0);
	add_event(f->st, CUST_A, "e2", &seq);
	assert_int_equal(op->commit(f->st), 0);

	assert_int_equal(op->customer_by_id(f->st, CUST_A, &out), 0);
	assert_int_equal(op->conference_get(f->st, c.id, NULL, &cout), 0);
	ch_conference_clear(&cout);
	assert_int_equal(op->event_list_after(f->st, CUST_A, 0, 10, ev_h, &r),
	                 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.id[0], "e2");
	/* commit without a transaction is an error, not a crash */
	assert_int_equal(op->commit(f->st), EIO);
	ch_conference_clear(&c);
}

/* Every present participant of every conference, by conference then
 * oldest first; the leaved ones are not listed. */
static void test_present_all(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_conferencecall cc[5];
	struct rows r = {0};
	/* conference ids chosen to order: aaaa... before bbbb... */
	const char *c1 = "aaaaaaaa-0000-4000-8000-000000000001";
	const char *c2 = "bbbbbbbb-0000-4000-8000-000000000002";

	make_cc(&cc[0], CUST_A, c2, 100, CH_CONFERENCECALL_JOINED);
	make_cc(&cc[1], CUST_A, c1, 300, CH_CONFERENCECALL_JOINING);
	make_cc(&cc[2], CUST_B, c1, 200, CH_CONFERENCECALL_JOINED);
	make_cc(&cc[3], CUST_A, c1, 150, CH_CONFERENCECALL_LEAVED);
	make_cc(&cc[4], CUST_A, c2, 50, CH_CONFERENCECALL_LEAVING);
	for (int i = 0; i < 5; i++)
		assert_int_equal(op->conferencecall_insert(f->st, &cc[i]), 0);
	assert_int_equal(op->conferencecall_list_present_all(f->st, cc_h, &r),
	                 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.id[0], cc[2].id);
	assert_string_equal(r.id[1], cc[1].id);
	assert_string_equal(r.id[2], cc[4].id);
	assert_string_equal(r.id[3], cc[0].id);
	/* a handler that stops stops the listing */
	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	assert_int_equal(op->conferencecall_list_present_all(f->st, cc_h, &r),
	                 0);
	assert_int_equal(r.n, 1);
}

static void test_reopen(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_customer cu, cout;
	struct ch_conference c, out;
	struct ch_conferencecall cc, ccout;
	struct rows r = {0};
	int64_t seq, v;

	make_customer(&cu, CUST_A, "token-a", 1000);
	make_conf(&c, CUST_A, 1000, CH_CONFERENCE_PROGRESSING);
	make_cc(&cc, CUST_A, c.id, 1500, CH_CONFERENCECALL_JOINED);
	assert_int_equal(op->customer_insert(f->st, &cu), 0);
	assert_int_equal(op->conference_insert(f->st, &c), 0);
	assert_int_equal(op->conferencecall_insert(f->st, &cc), 0);
	add_event(f->st, CUST_A, "e1", &seq);
	assert_int_equal(op->webhook_cursor_set(f->st, CUST_A, seq), 0);

	ch_store_close(f->st);
	f->st = NULL;
	assert_int_equal(fix_open(f, &f->st), 0);
	op = f->st->ops;

	assert_int_equal(by_token(f->st, "token-a", &cout), 0);
	assert_memory_equal(&cout, &cu, sizeof(cu));
	assert_int_equal(op->conference_get(f->st, c.id, CUST_A, &out), 0);
	assert_conf_equal(&out, &c);
	ch_conference_clear(&out);
	assert_int_equal(op->conferencecall_get(f->st, cc.id, CUST_A, &ccout),
	                 0);
	assert_cc_equal(&ccout, &cc);
	assert_int_equal(op->event_list_after(f->st, CUST_A, 0, 10, ev_h, &r),
	                 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.tm[0], seq);
	assert_int_equal(op->webhook_cursor_get(f->st, CUST_A, &v), 0);
	assert_int_equal(v, seq);
	/* sequence numbers keep growing after a reopen */
	add_event(f->st, CUST_A, "e2", &v);
	assert_true(v > seq);
	ch_conference_clear(&c);
}

/* ---- data dir ---- */

static void test_data_dir(void **state)
{
	struct fix *f = *state;
	struct ch_store *st = NULL;
	char path[CH_TEST_DIR_MAX + 32];
	int fd;

	/* a missing folder is created */
	snprintf(path, sizeof(path), "%s/sub", f->dir);
	assert_int_equal(ch_store_open_sqlite(&st, path), 0);
	ch_store_close(st);
	snprintf(path, sizeof(path), "%s/sub/chorus.db", f->dir);
	assert_int_equal(access(path, F_OK), 0);

	/* a missing parent is not */
	snprintf(path, sizeof(path), "%s/no/such/dir", f->dir);
	assert_int_equal(ch_store_open_sqlite(&st, path), EACCES);

	/* a regular file is not a data dir */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ch_store_open_sqlite(&st, path), EACCES);
}

/* A regular file with an execute bit passes access(W_OK | X_OK), so the
 * open must check that the data dir is a folder. */
static void test_data_dir_executable_file(void **state)
{
	struct fix *f = *state;
	struct ch_store *st = NULL;
	char path[CH_TEST_DIR_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/exe", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0700);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ch_store_open_sqlite(&st, path), EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_customer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_conference_insert_get, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_conference_update, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_conference_list, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_conference_list_live, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_conferencecall, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_webhook_cursor, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_txn_rollback_commit, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_present_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_dir_executable_file,
	                                    setup, teardown),
	};

	ch_log_set_level(CH_LOG_ERROR);
	static const char *const sqlite_only[] = {
	    "test_data_dir", "test_data_dir_executable_file", NULL};
	return FIX_RUN(tests, sqlite_only, NULL, NULL);
}
