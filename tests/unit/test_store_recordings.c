/*
 * test_store_recordings.c: unit tests for the recordings table of the
 * SQLite store (store/store_sqlite.c, migration 4) through store.h.
 *
 * Each test opens a fresh store in its own mkdtemp folder. Covered: insert
 * and get of every field (JSON channels included), the ENOENT contract
 * (an unknown id leaves `out` untouched; an update of an unknown id),
 * update, the list (customer filter, newest first, pages by tm_create,
 * limit, deleted rows left out whichever "not deleted" value a row holds,
 * the reference_id filter, a handler that stops), the active list (status
 * recording only, every customer, oldest first), and rows surviving a
 * reopen.
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

#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "store_fixture.h"

#define CUST_A   "aaaaaaaa-0000-4000-8000-000000000001"
#define CUST_B   "bbbbbbbb-0000-4000-8000-000000000002"
#define CONF_1   "cccccccc-0000-4000-8000-000000000001"
#define CONF_2   "cccccccc-0000-4000-8000-000000000002"
#define MAX_ROWS 32

/* A stopped recording with every field set from tm (distinct values). */
static void make_rec(struct ch_recording *r, const char *cust, const char *conf,
                     int64_t tm, const char *status)
{
	char ch[160];
	memset(r, 0, sizeof(*r));
	ch_uuid_new(r->id);
	snprintf(r->customer_id, sizeof(r->customer_id), "%s", cust);
	snprintf(r->reference_type, sizeof(r->reference_type), "conference");
	snprintf(r->reference_id, sizeof(r->reference_id), "%s", conf);
	snprintf(r->status, sizeof(r->status), "%s", status);
	snprintf(r->format, sizeof(r->format), "%s", tm % 2 ? "flac" : "wav");
	r->tracks = tm % 3 == 0;
	r->duration_ms = tm * 7;
	snprintf(ch, sizeof(ch),
	         "[{\"index\":1,\"kind\":\"mix\"},{\"index\":2,\"kind\":"
	         "\"participant\",\"caller_id\":\"c%lld\"}]",
	         (long long)tm);
	r->channels = strdup(ch);
	r->rate = 16000 + (uint32_t)tm;
	r->size = tm * 1000 + 44;
	r->tm_start = tm + 1;
	r->tm_end = tm + 2;
	r->tm_create = tm;
	r->tm_update = tm + 3;
	r->tm_delete = CH_TIME_NEVER_US;
}

static void assert_rec_equal(const struct ch_recording *a,
                             const struct ch_recording *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->customer_id, b->customer_id);
	assert_string_equal(a->reference_type, b->reference_type);
	assert_string_equal(a->reference_id, b->reference_id);
	assert_string_equal(a->status, b->status);
	assert_string_equal(a->format, b->format);
	assert_int_equal(a->tracks, b->tracks);
	assert_int_equal(a->duration_ms, b->duration_ms);
	assert_string_equal(a->channels, b->channels);
	assert_int_equal(a->rate, b->rate);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->tm_start, b->tm_start);
	assert_int_equal(a->tm_end, b->tm_end);
	assert_int_equal(a->tm_create, b->tm_create);
	assert_int_equal(a->tm_update, b->tm_update);
	assert_int_equal(a->tm_delete, b->tm_delete);
}

struct rows {
	char id[MAX_ROWS][CH_UUID_LEN];
	int64_t tm[MAX_ROWS];
	unsigned n;
	unsigned stop_after; /* 0: never stop */
};

static int rec_h(const struct ch_recording *r, void *arg)
{
	struct rows *rows = arg;
	assert_true(rows->n < MAX_ROWS);
	/* the record is complete in the handler */
	assert_non_null(r->channels);
	snprintf(rows->id[rows->n], sizeof(rows->id[0]), "%s", r->id);
	rows->tm[rows->n++] = r->tm_create;
	return rows->stop_after && rows->n >= rows->stop_after;
}

static void test_insert_get(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_recording r, got;

	make_rec(&r, CUST_A, CONF_1, 1234, "stopped");
	assert_int_equal(op->recording_insert(f->st, &r), 0);
	assert_int_equal(op->recording_get(f->st, r.id, &got), 0);
	assert_rec_equal(&got, &r);
	ch_recording_clear(&got);

	/* by id alone: the caller checks the customer */
	assert_int_equal(op->recording_get(f->st, r.id, &got), 0);
	assert_string_equal(got.customer_id, CUST_A);
	ch_recording_clear(&got);

	/* a second row with the same id is refused */
	assert_int_not_equal(op->recording_insert(f->st, &r), 0);
	ch_recording_clear(&r);
}

/* store.h: on ENOENT `out` is left as it was. */
static void test_enoent_contract(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_recording got, r;

	memset(&got, 0x5a, sizeof(got));
	got.channels = (char *)"sentinel";
	assert_int_equal(
	    op->recording_get(f->st, "dddddddd-0000-4000-8000-000000000009",
	                      &got),
	    ENOENT);
	assert_string_equal(got.channels, "sentinel");
	assert_int_equal((unsigned char)got.id[0], 0x5a);

	make_rec(&r, CUST_A, CONF_1, 10, "stopped");
	assert_int_equal(op->recording_update(f->st, &r), ENOENT);
	assert_int_equal(op->recording_get(f->st, r.id, &got), ENOENT);
	ch_recording_clear(&r);
}

static void test_update(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_recording r, got;

	make_rec(&r, CUST_A, CONF_1, 100, "recording");
	r.tm_end = 0;
	r.size = 0;
	assert_int_equal(op->recording_insert(f->st, &r), 0);
	snprintf(r.status, sizeof(r.status), "stopped");
	r.duration_ms = 86400000;
	r.size = INT64_C(5000000000); /* past 32 bits */
	r.tm_end = 999;
	free(r.channels);
	r.channels = strdup("[{\"index\":1,\"kind\":\"mix\"}]");
	r.tm_delete = 4242;
	assert_int_equal(op->recording_update(f->st, &r), 0);
	assert_int_equal(op->recording_get(f->st, r.id, &got), 0);
	assert_rec_equal(&got, &r);
	ch_recording_clear(&got);

	/* NULL channels are stored as [] */
	free(r.channels);
	r.channels = NULL;
	assert_int_equal(op->recording_update(f->st, &r), 0);
	assert_int_equal(op->recording_get(f->st, r.id, &got), 0);
	assert_string_equal(got.channels, "[]");
	ch_recording_clear(&got);
	ch_recording_clear(&r);
}

static void test_list(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_recording r[6], other, gone;
	struct rows rows = {0};
	const int64_t all = CH_TIME_NEVER_US + 1;

	for (int i = 0; i < 6; i++) {
		make_rec(&r[i], CUST_A, i % 2 ? CONF_2 : CONF_1, 1000 * (i + 1),
		         "stopped");
		/* both "not deleted" values are listed */
		if (i == 2)
			r[i].tm_delete = 0;
		assert_int_equal(op->recording_insert(f->st, &r[i]), 0);
	}
	make_rec(&other, CUST_B, CONF_1, 3500, "stopped");
	assert_int_equal(op->recording_insert(f->st, &other), 0);
	make_rec(&gone, CUST_A, CONF_1, 4500, "stopped");
	gone.tm_delete = 4600;
	assert_int_equal(op->recording_insert(f->st, &gone), 0);

	/* the customer's own, newest first, the deleted one left out */
	assert_int_equal(
	    op->recording_list(f->st, CUST_A, NULL, all, 100, rec_h, &rows), 0);
	assert_int_equal(rows.n, 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(rows.id[i], r[5 - i].id);

	/* pages of 4: the cursor is the tm_create of the last row */
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->recording_list(f->st, CUST_A, NULL, all, 4, rec_h, &rows), 0);
	assert_int_equal(rows.n, 4);
	int64_t cursor = rows.tm[3];
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->recording_list(f->st, CUST_A, NULL, cursor, 4, rec_h, &rows),
	    0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.id[0], r[1].id);
	assert_string_equal(rows.id[1], r[0].id);

	/* one conference's */
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->recording_list(f->st, CUST_A, CONF_2, all, 100, rec_h, &rows),
	    0);
	assert_int_equal(rows.n, 3);
	assert_string_equal(rows.id[0], r[5].id);
	assert_string_equal(rows.id[1], r[3].id);
	assert_string_equal(rows.id[2], r[1].id);
	/* another customer's conference id finds none of A's */
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->recording_list(f->st, CUST_B, CONF_2, all, 100, rec_h, &rows),
	    0);
	assert_int_equal(rows.n, 0);

	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->recording_list(f->st, CUST_B, NULL, all, 100, rec_h, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.id[0], other.id);

	/* a handler that stops */
	memset(&rows, 0, sizeof(rows));
	rows.stop_after = 2;
	assert_int_equal(
	    op->recording_list(f->st, CUST_A, NULL, all, 100, rec_h, &rows), 0);
	assert_int_equal(rows.n, 2);

	for (int i = 0; i < 6; i++)
		ch_recording_clear(&r[i]);
	ch_recording_clear(&other);
	ch_recording_clear(&gone);
}

static void test_list_active(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_recording a, b, c;
	struct rows rows = {0};

	make_rec(&a, CUST_A, CONF_1, 300, "recording");
	make_rec(&b, CUST_B, CONF_2, 100, "recording");
	make_rec(&c, CUST_A, CONF_2, 200, "stopped");
	assert_int_equal(op->recording_insert(f->st, &a), 0);
	assert_int_equal(op->recording_insert(f->st, &b), 0);
	assert_int_equal(op->recording_insert(f->st, &c), 0);
	assert_int_equal(op->recording_list_active(f->st, rec_h, &rows), 0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.id[0], b.id);
	assert_string_equal(rows.id[1], a.id);

	/* stopped: no longer active */
	snprintf(a.status, sizeof(a.status), "stopped");
	assert_int_equal(op->recording_update(f->st, &a), 0);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(op->recording_list_active(f->st, rec_h, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.id[0], b.id);
	ch_recording_clear(&a);
	ch_recording_clear(&b);
	ch_recording_clear(&c);
}

static void test_reopen(void **state)
{
	struct fix *f = *state;
	struct ch_recording r, got;

	make_rec(&r, CUST_A, CONF_1, 77, "stopped");
	assert_int_equal(f->st->ops->recording_insert(f->st, &r), 0);
	ch_store_close(f->st);
	assert_int_equal(fix_open(f, &f->st), 0);
	assert_int_equal(f->st->ops->recording_get(f->st, r.id, &got), 0);
	assert_rec_equal(&got, &r);
	ch_recording_clear(&got);
	ch_recording_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enoent_contract, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_active, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
	};
	ch_log_set_level(CH_LOG_ERROR);
	return FIX_RUN(tests, NULL, NULL, NULL);
}
