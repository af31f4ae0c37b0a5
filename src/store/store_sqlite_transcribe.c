/*
 * store_sqlite_transcribe.c: the transcribes and transcripts tables of the
 * SQLite store (struct ch_transcribe, struct ch_transcript; migration 7):
 * their prepared statements and the store.h operations on them, which
 * store_sqlite.c puts into its ops table. The statement helpers (reset,
 * step, one row, failure recording) are store_sqlite.c's.
 *
 * Threading: owned by the store, so by the control thread (see store.h).
 */
#include "store/store_sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRS_COLS                                                               \
	"id, customer_id, reference_type, reference_id, language, engine, "    \
	"status, segments, dropped_ms, tm_start, tm_end, tm_create, "          \
	"tm_update, tm_delete"
#define TRT_COLS                                                               \
	"id, customer_id, transcribe_id, conferencecall_id, caller_id, text, " \
	"tm_start_ms, tm_end_ms, tm_create"
/* not deleted: tm_delete unset (0 or CH_TIME_NEVER_US), as recordings */
#define TRS_LIVE "(tm_delete = 0 OR tm_delete >= 253370764800000000)"

const char *const ch_store_sqlite_transcribe_sql[CH_SQ_TRS_COUNT] = {
    [CH_SQ_TRS_INS] = "INSERT INTO transcribes (" TRS_COLS
                      ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [CH_SQ_TRS_UPD] =
        "UPDATE transcribes SET customer_id=?2, reference_type=?3, "
        "reference_id=?4, language=?5, engine=?6, status=?7, segments=?8, "
        "dropped_ms=?9, tm_start=?10, tm_end=?11, tm_create=?12, "
        "tm_update=?13, tm_delete=?14 WHERE id=?1",
    [CH_SQ_TRS_GET] = "SELECT " TRS_COLS " FROM transcribes WHERE id = ?1",
    [CH_SQ_TRS_LIST] =
        "SELECT " TRS_COLS " FROM transcribes WHERE customer_id = ?1 AND "
        "tm_create < ?2 AND " TRS_LIVE " ORDER BY tm_create DESC LIMIT ?3",
    [CH_SQ_TRS_LIST_REF] =
        "SELECT " TRS_COLS " FROM transcribes WHERE reference_id = ?4 AND "
        "customer_id = ?1 AND tm_create < ?2 AND " TRS_LIVE
        " ORDER BY tm_create DESC LIMIT ?3",
    [CH_SQ_TRS_ACTIVE] = "SELECT " TRS_COLS " FROM transcribes WHERE status "
                         "= 'progressing' ORDER BY tm_create",
    [CH_SQ_TRT_INS] =
        "INSERT INTO transcripts (" TRT_COLS ") VALUES (?,?,?,?,?,?,?,?,?)",
    /* the cursor as a row value: (tm_start_ms, id) after (?2, ?3), which
     * the (transcribe_id, tm_start_ms, id) index serves in order */
    [CH_SQ_TRT_LIST] = "SELECT " TRT_COLS " FROM transcripts WHERE "
                       "transcribe_id = ?1 AND (tm_start_ms, id) > (?2, ?3) "
                       "ORDER BY tm_start_ms, id LIMIT ?4",
};

#define bind_text ch_store_sqlite_bind_text
#define col_dup   ch_store_sqlite_col_dup
#define col_copy  ch_store_sqlite_col_copy

static struct ch_store_sqlite *self(struct ch_store *st)
{
	return (struct ch_store_sqlite *)st;
}

/* The statement id of s, reset and unbound. */
static sqlite3_stmt *stmt(struct ch_store_sqlite *s, int id)
{
	return ch_store_sqlite_stmt(s->trs[id]);
}

/* ---- transcribes ---- */

static void trs_bind(sqlite3_stmt *q, const struct ch_transcribe *t)
{
	bind_text(q, 1, t->id);
	bind_text(q, 2, t->customer_id);
	bind_text(q, 3, t->reference_type);
	bind_text(q, 4, t->reference_id);
	bind_text(q, 5, t->language);
	bind_text(q, 6, t->engine);
	bind_text(q, 7, t->status);
	sqlite3_bind_int64(q, 8, t->segments);
	sqlite3_bind_int64(q, 9, t->dropped_ms);
	sqlite3_bind_int64(q, 10, t->tm_start);
	sqlite3_bind_int64(q, 11, t->tm_end);
	sqlite3_bind_int64(q, 12, t->tm_create);
	sqlite3_bind_int64(q, 13, t->tm_update);
	sqlite3_bind_int64(q, 14, t->tm_delete);
}

static void trs_read(sqlite3_stmt *q, void *out)
{
	struct ch_transcribe *t = out;
	memset(t, 0, sizeof(*t));
	col_copy(q, 0, t->id, sizeof(t->id));
	col_copy(q, 1, t->customer_id, sizeof(t->customer_id));
	col_copy(q, 2, t->reference_type, sizeof(t->reference_type));
	col_copy(q, 3, t->reference_id, sizeof(t->reference_id));
	col_copy(q, 4, t->language, sizeof(t->language));
	col_copy(q, 5, t->engine, sizeof(t->engine));
	col_copy(q, 6, t->status, sizeof(t->status));
	t->segments = sqlite3_column_int64(q, 7);
	t->dropped_ms = sqlite3_column_int64(q, 8);
	t->tm_start = sqlite3_column_int64(q, 9);
	t->tm_end = sqlite3_column_int64(q, 10);
	t->tm_create = sqlite3_column_int64(q, 11);
	t->tm_update = sqlite3_column_int64(q, 12);
	t->tm_delete = sqlite3_column_int64(q, 13);
}

int ch_store_sqlite_transcribe_insert(struct ch_store *st,
                                      const struct ch_transcribe *t)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt(s, CH_SQ_TRS_INS);
	trs_bind(q, t);
	return ch_store_sqlite_step_done(s, q, "transcribe insert");
}

int ch_store_sqlite_transcribe_update(struct ch_store *st,
                                      const struct ch_transcribe *t)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt(s, CH_SQ_TRS_UPD);
	trs_bind(q, t);
	int err = ch_store_sqlite_step_done(s, q, "transcribe update");
	if (!err && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	return err;
}

int ch_store_sqlite_transcribe_get(struct ch_store *st, const char *id,
                                   struct ch_transcribe *out)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt(s, CH_SQ_TRS_GET);
	bind_text(q, 1, id);
	return ch_store_sqlite_one_row(s, q, trs_read, out, "transcribe get");
}

/* Calls h with each row of q until h returns non-zero. */
static int trs_each(struct ch_store_sqlite *s, sqlite3_stmt *q,
                    ch_store_transcribe_h *h, void *arg)
{
	struct ch_transcribe t;
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		trs_read(q, &t);
		stop = h(&t, arg);
	}
	sqlite3_reset(q);
	if (!stop && rc != SQLITE_DONE)
		return ch_store_sqlite_fail(s, "transcribe list");
	return 0;
}

int ch_store_sqlite_transcribe_list(struct ch_store *st,
                                    const char *customer_id,
                                    const char *reference_id, int64_t before_us,
                                    unsigned limit, ch_store_transcribe_h *h,
                                    void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q =
	    stmt(s, reference_id ? CH_SQ_TRS_LIST_REF : CH_SQ_TRS_LIST);
	bind_text(q, 1, customer_id);
	sqlite3_bind_int64(q, 2, before_us);
	sqlite3_bind_int(q, 3, (int)limit);
	if (reference_id)
		bind_text(q, 4, reference_id);
	return trs_each(s, q, h, arg);
}

int ch_store_sqlite_transcribe_list_active(struct ch_store *st,
                                           ch_store_transcribe_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	return trs_each(s, stmt(s, CH_SQ_TRS_ACTIVE), h, arg);
}

/* ---- transcripts ---- */

int ch_store_sqlite_transcript_insert(struct ch_store *st,
                                      const struct ch_transcript *t)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt(s, CH_SQ_TRT_INS);
	bind_text(q, 1, t->id);
	bind_text(q, 2, t->customer_id);
	bind_text(q, 3, t->transcribe_id);
	bind_text(q, 4,
	          t->conferencecall_id[0] ? t->conferencecall_id : CH_UUID_NIL);
	bind_text(q, 5, t->caller_id);
	bind_text(q, 6, t->text);
	sqlite3_bind_int64(q, 7, t->tm_start_ms);
	sqlite3_bind_int64(q, 8, t->tm_end_ms);
	sqlite3_bind_int64(q, 9, t->tm_create);
	return ch_store_sqlite_step_done(s, q, "transcript insert");
}

/* One row into t; ENOMEM when a string could not be copied. */
static int trt_read(sqlite3_stmt *q, struct ch_transcript *t)
{
	memset(t, 0, sizeof(*t));
	col_copy(q, 0, t->id, sizeof(t->id));
	col_copy(q, 1, t->customer_id, sizeof(t->customer_id));
	col_copy(q, 2, t->transcribe_id, sizeof(t->transcribe_id));
	col_copy(q, 3, t->conferencecall_id, sizeof(t->conferencecall_id));
	t->caller_id = col_dup(q, 4);
	t->text = col_dup(q, 5);
	t->tm_start_ms = sqlite3_column_int64(q, 6);
	t->tm_end_ms = sqlite3_column_int64(q, 7);
	t->tm_create = sqlite3_column_int64(q, 8);
	if (!t->caller_id || !t->text) {
		ch_transcript_clear(t);
		return ENOMEM;
	}
	return 0;
}

int ch_store_sqlite_transcript_list(struct ch_store *st,
                                    const char *transcribe_id, int64_t after_ms,
                                    const char *after_id, unsigned limit,
                                    ch_store_transcript_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt(s, CH_SQ_TRT_LIST);
	struct ch_transcript t;
	int rc, stop = 0, err = 0;
	bind_text(q, 1, transcribe_id);
	sqlite3_bind_int64(q, 2, after_ms);
	bind_text(q, 3, after_id);
	sqlite3_bind_int(q, 4, (int)limit);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		err = trt_read(q, &t);
		if (err)
			break;
		stop = h(&t, arg);
		ch_transcript_clear(&t);
	}
	sqlite3_reset(q);
	if (!err && !stop && rc != SQLITE_DONE)
		err = ch_store_sqlite_fail(s, "transcript list");
	return err;
}
