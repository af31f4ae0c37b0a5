/*
 * test_store_transcribes.c: unit tests for the transcribes and
 * transcripts tables of the SQLite store (store/store_sqlite_transcribe.c,
 * migration 7) through store.h.
 *
 * Each test opens a fresh store in its own mkdtemp folder. Covered: insert
 * and get of every field, get of an unknown id (ENOENT, out untouched),
 * update of every field and of an unknown id (ENOENT); the list (the
 * customer's only, newest first, pages by before_us, limit, the
 * reference_id filter, deleted rows left out, a handler that stops); the
 * active list (progressing only, every customer, oldest first);
 * transcripts in (tm_start_ms, id) order, paged with the (after_ms,
 * after_id) cursor through two segments with the same tm_start_ms, other
 * transcribes' segments left out, UTF-8 and quotes kept byte for byte, a
 * nil conferencecall_id for an unknown speaker; a database of schema 6
 * migrated to 7 with its rows kept.
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

#include <sqlite3.h>

#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "store_fixture.h"

#define CUST_A   "aaaaaaaa-0000-4000-8000-000000000001"
#define CUST_B   "bbbbbbbb-0000-4000-8000-000000000002"
#define CONF_1   "cccccccc-0000-4000-8000-000000000001"
#define CONF_2   "cccccccc-0000-4000-8000-000000000002"
#define CC_1     "dddddddd-0000-4000-8000-000000000001"
#define MAX_ROWS 32

/* A transcribe with every field set from tm (distinct values). */
static void make_trs(struct ch_transcribe *t, const char *cust,
                     const char *conf, int64_t tm, const char *status)
{
	memset(t, 0, sizeof(*t));
	ch_uuid_new(t->id);
	snprintf(t->customer_id, sizeof(t->customer_id), "%s", cust);
	snprintf(t->reference_type, sizeof(t->reference_type), "conference");
	snprintf(t->reference_id, sizeof(t->reference_id), "%s", conf);
	snprintf(t->language, sizeof(t->language), "%s",
	         tm % 2 ? "en-US" : "de-DE");
	snprintf(t->engine, sizeof(t->engine), "%s",
	         tm % 3 ? "sphinx" : "http");
	snprintf(t->status, sizeof(t->status), "%s", status);
	t->segments = tm * 3;
	t->dropped_ms = tm * 5;
	t->tm_start = tm + 1;
	t->tm_end = strcmp(status, "done") ? 0 : tm + 2;
	t->tm_create = tm;
	t->tm_update = tm + 3;
	t->tm_delete = CH_TIME_NEVER_US;
}

static void assert_trs_equal(const struct ch_transcribe *a,
                             const struct ch_transcribe *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->customer_id, b->customer_id);
	assert_string_equal(a->reference_type, b->reference_type);
	assert_string_equal(a->reference_id, b->reference_id);
	assert_string_equal(a->language, b->language);
	assert_string_equal(a->engine, b->engine);
	assert_string_equal(a->status, b->status);
	assert_int_equal(a->segments, b->segments);
	assert_int_equal(a->dropped_ms, b->dropped_ms);
	assert_int_equal(a->tm_start, b->tm_start);
	assert_int_equal(a->tm_end, b->tm_end);
	assert_int_equal(a->tm_create, b->tm_create);
	assert_int_equal(a->tm_update, b->tm_update);
	assert_int_equal(a->tm_delete, b->tm_delete);
}

struct rows {
	char id[MAX_ROWS][CH_UUID_LEN];
	int64_t tm[MAX_ROWS];
	char text[MAX_ROWS][128];
	unsigned n;
	unsigned stop_after; /* 0: never stop */
};

static int trs_h(const struct ch_transcribe *t, void *arg)
{
	struct rows *rows = arg;
	assert_true(rows->n < MAX_ROWS);
	snprintf(rows->id[rows->n], sizeof(rows->id[0]), "%s", t->id);
	rows->tm[rows->n++] = t->tm_create;
	return rows->stop_after && rows->n >= rows->stop_after;
}

static int trt_h(const struct ch_transcript *t, void *arg)
{
	struct rows *rows = arg;
	assert_true(rows->n < MAX_ROWS);
	assert_non_null(t->caller_id);
	assert_non_null(t->text);
	snprintf(rows->id[rows->n], sizeof(rows->id[0]), "%s", t->id);
	snprintf(rows->text[rows->n], sizeof(rows->text[0]), "%s", t->text);
	rows->tm[rows->n++] = t->tm_start_ms;
	return rows->stop_after && rows->n >= rows->stop_after;
}

static void test_insert_get_update(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_transcribe t, got;

	make_trs(&t, CUST_A, CONF_1, 1234, "progressing");
	assert_int_equal(op->transcribe_insert(f->st, &t), 0);
	assert_int_equal(op->transcribe_get(f->st, t.id, &got), 0);
	assert_trs_equal(&got, &t);
	/* a second row with the same id is refused */
	assert_int_not_equal(op->transcribe_insert(f->st, &t), 0);

	/* every field but the id changes */
	snprintf(t.customer_id, sizeof(t.customer_id), "%s", CUST_B);
	snprintf(t.reference_type, sizeof(t.reference_type), "other");
	snprintf(t.reference_id, sizeof(t.reference_id), "%s", CONF_2);
	snprintf(t.language, sizeof(t.language), "zh-Hant-TW");
	snprintf(t.engine, sizeof(t.engine), "http");
	snprintf(t.status, sizeof(t.status), "done");
	t.segments = INT64_C(5000000000); /* past 32 bits */
	t.dropped_ms = 86400000;
	t.tm_start = 11;
	t.tm_end = 12;
	t.tm_create = 13;
	t.tm_update = 14;
	t.tm_delete = 15;
	assert_int_equal(op->transcribe_update(f->st, &t), 0);
	assert_int_equal(op->transcribe_get(f->st, t.id, &got), 0);
	assert_trs_equal(&got, &t);
}

/* store.h: an unknown id is ENOENT, `out` left as it was. */
static void test_enoent(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_transcribe got, t;

	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(op->transcribe_get(f->st, CONF_1, &got), ENOENT);
	assert_int_equal((unsigned char)got.id[0], 0x5a);
	assert_int_equal((unsigned char)got.status[3], 0x5a);

	make_trs(&t, CUST_A, CONF_1, 10, "done");
	assert_int_equal(op->transcribe_update(f->st, &t), ENOENT);
	assert_int_equal(op->transcribe_get(f->st, t.id, &got), ENOENT);
}

static void test_list(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_transcribe t[6], other, gone;
	struct rows rows = {0};
	const int64_t all = CH_TIME_NEVER_US + 1;

	for (int i = 0; i < 6; i++) {
		make_trs(&t[i], CUST_A, i % 2 ? CONF_2 : CONF_1, 1000 * (i + 1),
		         "done");
		if (i == 2) /* both "not deleted" values are listed */
			t[i].tm_delete = 0;
		assert_int_equal(op->transcribe_insert(f->st, &t[i]), 0);
	}
	make_trs(&other, CUST_B, CONF_2, 3500, "done");
	assert_int_equal(op->transcribe_insert(f->st, &other), 0);
	make_trs(&gone, CUST_A, CONF_2, 4500, "done");
	gone.tm_delete = 4600;
	assert_int_equal(op->transcribe_insert(f->st, &gone), 0);

	/* the customer's own, newest first, the deleted one left out */
	assert_int_equal(
	    op->transcribe_list(f->st, CUST_A, NULL, all, 100, trs_h, &rows),
	    0);
	assert_int_equal(rows.n, 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(rows.id[i], t[5 - i].id);

	/* pages of 4: before_us is the tm_create of the last row */
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->transcribe_list(f->st, CUST_A, NULL, all, 4, trs_h, &rows), 0);
	assert_int_equal(rows.n, 4);
	int64_t cursor = rows.tm[3];
	assert_int_equal(cursor, t[2].tm_create);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->transcribe_list(f->st, CUST_A, NULL, cursor, 4, trs_h, &rows),
	    0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.id[0], t[1].id);
	assert_string_equal(rows.id[1], t[0].id);

	/* one conference's; B's row of the same conference is not A's */
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->transcribe_list(f->st, CUST_A, CONF_2, all, 100, trs_h, &rows),
	    0);
	assert_int_equal(rows.n, 3);
	assert_string_equal(rows.id[0], t[5].id);
	assert_string_equal(rows.id[1], t[3].id);
	assert_string_equal(rows.id[2], t[1].id);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->transcribe_list(f->st, CUST_B, CONF_1, all, 100, trs_h, &rows),
	    0);
	assert_int_equal(rows.n, 0);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->transcribe_list(f->st, CUST_B, NULL, all, 100, trs_h, &rows),
	    0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.id[0], other.id);

	/* a handler that stops */
	memset(&rows, 0, sizeof(rows));
	rows.stop_after = 2;
	assert_int_equal(
	    op->transcribe_list(f->st, CUST_A, NULL, all, 100, trs_h, &rows),
	    0);
	assert_int_equal(rows.n, 2);
}

static void test_list_active(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_transcribe a, b, c;
	struct rows rows = {0};

	make_trs(&a, CUST_A, CONF_1, 300, "progressing");
	make_trs(&b, CUST_B, CONF_2, 100, "progressing");
	make_trs(&c, CUST_A, CONF_2, 200, "done");
	assert_int_equal(op->transcribe_insert(f->st, &a), 0);
	assert_int_equal(op->transcribe_insert(f->st, &b), 0);
	assert_int_equal(op->transcribe_insert(f->st, &c), 0);
	assert_int_equal(op->transcribe_list_active(f->st, trs_h, &rows), 0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.id[0], b.id);
	assert_string_equal(rows.id[1], a.id);

	snprintf(a.status, sizeof(a.status), "done");
	assert_int_equal(op->transcribe_update(f->st, &a), 0);
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(op->transcribe_list_active(f->st, trs_h, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.id[0], b.id);
}

/* Inserts a segment of trs_id with that id, start and text (customer A,
 * participant CC_1, 700 ms long). */
static void add_seg(struct fix *f, const char *trs_id, int64_t start_ms,
                    const char *text, const char *id)
{
	struct ch_transcript t;
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	snprintf(t.customer_id, sizeof(t.customer_id), CUST_A);
	snprintf(t.transcribe_id, sizeof(t.transcribe_id), "%s", trs_id);
	snprintf(t.conferencecall_id, sizeof(t.conferencecall_id), CC_1);
	t.caller_id = (char *)"alice";
	t.text = (char *)text;
	t.tm_start_ms = start_ms;
	t.tm_end_ms = start_ms + 700;
	t.tm_create = 1000 + start_ms;
	assert_int_equal(f->st->ops->transcript_insert(f->st, &t), 0);
}

/* Pages through trs_id's segments `size` at a time with the cursor of the
 * last one, as the API does; every row into rows. */
static void page_all(struct fix *f, const char *trs_id, unsigned size,
                     struct rows *rows)
{
	int64_t after_ms = -1;
	char after_id[CH_UUID_LEN] = "";
	unsigned pages = 0;
	memset(rows, 0, sizeof(*rows));
	for (;;) {
		unsigned before = rows->n;
		assert_int_equal(f->st->ops->transcript_list(f->st, trs_id,
		                                             after_ms, after_id,
		                                             size, trt_h, rows),
		                 0);
		assert_true(rows->n - before <= size);
		if (rows->n == before)
			break;
		after_ms = rows->tm[rows->n - 1];
		snprintf(after_id, sizeof(after_id), "%s",
		         rows->id[rows->n - 1]);
		assert_true(++pages < 20);
	}
}

static void test_transcripts(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_transcribe a, b;
	struct rows rows;
	/* ids chosen so that id order and insert order differ */
	static const char *const ids[] = {
	    "e0000000-0000-4000-8000-000000000005",
	    "e0000000-0000-4000-8000-000000000003", /* same start as 4 */
	    "e0000000-0000-4000-8000-000000000004",
	    "e0000000-0000-4000-8000-000000000001",
	    "e0000000-0000-4000-8000-000000000002",
	};
	static const char utf8[] = "\"go\" forward ten meters, it's "
	                           "gr\xc3\xbc\xc3\x9f"
	                           "e \xe4\xbd\xa0\xe5\xa5\xbd "
	                           "\xf0\x9f\x8e\xa4 \\n'; --";

	make_trs(&a, CUST_A, CONF_1, 100, "progressing");
	make_trs(&b, CUST_A, CONF_1, 50, "done");
	assert_int_equal(op->transcribe_insert(f->st, &a), 0);
	assert_int_equal(op->transcribe_insert(f->st, &b), 0);
	add_seg(f, a.id, 9000, "last", ids[0]);
	add_seg(f, a.id, 2000, "same start, higher id", ids[2]);
	add_seg(f, a.id, 2000, "same start, lower id", ids[1]);
	add_seg(f, a.id, 0, utf8, ids[3]);
	add_seg(f, a.id, 4000, "", ids[4]);
	add_seg(f, b.id, 1000, "of b", "e0000000-0000-4000-8000-00000000000b");

	/* from the start, in time order, then id order */
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->transcript_list(f->st, a.id, -1, NULL, 100, trt_h, &rows), 0);
	assert_int_equal(rows.n, 5);
	assert_string_equal(rows.id[0], ids[3]);
	assert_string_equal(rows.text[0], utf8);
	assert_string_equal(rows.id[1], ids[1]);
	assert_string_equal(rows.id[2], ids[2]);
	assert_string_equal(rows.id[3], ids[4]);
	assert_string_equal(rows.text[3], "");
	assert_string_equal(rows.id[4], ids[0]);

	/* after the first of the two at 2000: the second one, not both */
	memset(&rows, 0, sizeof(rows));
	assert_int_equal(
	    op->transcript_list(f->st, a.id, 2000, ids[1], 2, trt_h, &rows), 0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.id[0], ids[2]);
	assert_string_equal(rows.id[1], ids[4]);

	/* pages of each size give every segment once, in order */
	for (unsigned size = 1; size <= 6; size++) {
		page_all(f, a.id, size, &rows);
		assert_int_equal(rows.n, 5);
		assert_string_equal(rows.id[0], ids[3]);
		assert_string_equal(rows.id[1], ids[1]);
		assert_string_equal(rows.id[2], ids[2]);
		assert_string_equal(rows.id[3], ids[4]);
		assert_string_equal(rows.id[4], ids[0]);
	}
	page_all(f, b.id, 1, &rows);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.text[0], "of b");
}

struct one_trt {
	struct ch_transcript t;
	char caller_id[64], text[128];
};

static int one_trt_h(const struct ch_transcript *t, void *arg)
{
	struct one_trt *o = arg;
	o->t = *t;
	snprintf(o->caller_id, sizeof(o->caller_id), "%s", t->caller_id);
	snprintf(o->text, sizeof(o->text), "%s", t->text);
	o->t.caller_id = o->caller_id;
	o->t.text = o->text;
	return 1;
}

static void test_transcript_fields(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_transcript t;
	struct one_trt o;

	memset(&t, 0, sizeof(t));
	ch_uuid_new(t.id);
	snprintf(t.customer_id, sizeof(t.customer_id), CUST_B);
	snprintf(t.transcribe_id, sizeof(t.transcribe_id), CONF_2);
	snprintf(t.conferencecall_id, sizeof(t.conferencecall_id), CC_1);
	t.caller_id = (char *)"sip:\"Bob\" <bob@example.com>";
	t.text = (char *)"hello";
	t.tm_start_ms = INT64_C(4000000000);
	t.tm_end_ms = INT64_C(4000000123);
	t.tm_create = INT64_C(1700000000000001);
	assert_int_equal(op->transcript_insert(f->st, &t), 0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(
	    op->transcript_list(f->st, CONF_2, -1, "", 10, one_trt_h, &o), 0);
	assert_string_equal(o.t.id, t.id);
	assert_string_equal(o.t.customer_id, CUST_B);
	assert_string_equal(o.t.transcribe_id, CONF_2);
	assert_string_equal(o.t.conferencecall_id, CC_1);
	assert_string_equal(o.t.caller_id, t.caller_id);
	assert_string_equal(o.t.text, "hello");
	assert_int_equal(o.t.tm_start_ms, t.tm_start_ms);
	assert_int_equal(o.t.tm_end_ms, t.tm_end_ms);
	assert_int_equal(o.t.tm_create, t.tm_create);

	/* no speaker, no caller id: the nil id and "" */
	char first[CH_UUID_LEN];
	memcpy(first, t.id, CH_UUID_LEN);
	ch_uuid_new(t.id);
	t.conferencecall_id[0] = '\0';
	t.caller_id = NULL;
	t.tm_start_ms = INT64_C(5000000000);
	assert_int_equal(op->transcript_insert(f->st, &t), 0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(op->transcript_list(f->st, CONF_2, INT64_C(4000000000),
	                                     first, 10, one_trt_h, &o),
	                 0);
	assert_string_equal(o.t.id, t.id);
	assert_string_equal(o.t.conferencecall_id, CH_UUID_NIL);
	assert_string_equal(o.t.caller_id, "");
}

static int user_version(const char *dir)
{
	char path[CH_TEST_DIR_MAX + 32];
	sqlite3 *db;
	sqlite3_stmt *q;
	int v = -1;
	snprintf(path, sizeof(path), "%s/chorus.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL),
	    SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* A database of schema 6 (no transcription tables) with a recording in
 * it is brought to 7: the recording is kept and the new tables work. */
static void test_migration_from_6(void **state)
{
	struct fix *f = *state;
	struct ch_recording r, rgot;
	struct ch_transcribe t, got;
	struct rows rows = {0};

	assert_int_equal(user_version(f->dir), 9);
	memset(&r, 0, sizeof(r));
	ch_uuid_new(r.id);
	snprintf(r.customer_id, sizeof(r.customer_id), CUST_A);
	snprintf(r.status, sizeof(r.status), "stopped");
	snprintf(r.format, sizeof(r.format), "wav");
	r.tm_create = 5;
	assert_int_equal(f->st->ops->recording_insert(f->st, &r), 0);
	ch_store_close(f->st);
	f->st = NULL;
	raw_sql(f->dir, "DROP TABLE transcripts; DROP TABLE transcribes;"
	                "ALTER TABLE conferences DROP COLUMN max_sample_rate;"
	                "PRAGMA user_version = 6;");
	assert_int_equal(user_version(f->dir), 6);

	assert_int_equal(ch_store_open_sqlite(&f->st, f->dir), 0);
	assert_int_equal(user_version(f->dir), 9);
	assert_int_equal(f->st->ops->recording_get(f->st, r.id, &rgot), 0);
	assert_int_equal(rgot.tm_create, 5);
	ch_recording_clear(&rgot);
	make_trs(&t, CUST_A, CONF_1, 42, "progressing");
	assert_int_equal(f->st->ops->transcribe_insert(f->st, &t), 0);
	add_seg(f, t.id, 10, "after the upgrade",
	        "e0000000-0000-4000-8000-000000000001");
	page_all(f, t.id, 10, &rows);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.text[0], "after the upgrade");

	/* and the rows survive a reopen */
	ch_store_close(f->st);
	assert_int_equal(ch_store_open_sqlite(&f->st, f->dir), 0);
	assert_int_equal(f->st->ops->transcribe_get(f->st, t.id, &got), 0);
	assert_trs_equal(&got, &t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_insert_get_update),
	    T(test_enoent),
	    T(test_list),
	    T(test_list_active),
	    T(test_transcripts),
	    T(test_transcript_fields),
	    T(test_migration_from_6),
	};
	static const char *const sqlite_only[] = {"test_migration_from_6",
	                                          NULL};
	ch_log_set_level(CH_LOG_ERROR);
	return FIX_RUN(tests, sqlite_only, NULL, NULL);
}
