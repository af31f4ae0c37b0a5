/*
 * store_sqlite_summary.c: the conference_summaries table of the SQLite
 * store (struct ch_summary): its prepared statements, one look-up and one
 * upsert. store_sqlite.c owns the connection and wraps these as store ops.
 *
 * Threading: owned by the store, so by the control thread (see store.h).
 */
#include "store/store_sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUM_COLS                                                               \
	"conference_id, customer_id, name, create_time, start_time, "          \
	"end_time, status, processing_state, end_reason, ended_by, "           \
	"max_participants, max_concurrent, unique_participants, "              \
	"recording_enabled, mixer_region, joined_ids, caller_ids, tags, "      \
	"tag_info, tm_update"

const char *const ch_store_sqlite_summary_sql[CH_SQ_SUM_COUNT] = {
    [CH_SQ_SUM_GET] = "SELECT " SUM_COLS " FROM conference_summaries"
                      " WHERE conference_id = ?1",
    [CH_SQ_SUM_GET_CUST] = "SELECT " SUM_COLS " FROM conference_summaries"
                           " WHERE conference_id = ?1 AND customer_id = ?2",
    [CH_SQ_SUM_PUT] = "INSERT OR REPLACE INTO conference_summaries"
                      " (" SUM_COLS ") VALUES"
                      " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
};

#define dup  ch_store_sqlite_col_dup
#define copy ch_store_sqlite_col_copy

/* Binds v, or dflt when v is NULL. */
static void text(sqlite3_stmt *q, int i, const char *v, const char *dflt)
{
	ch_store_sqlite_bind_text(q, i, v ? v : dflt);
}

int ch_store_sqlite_summary_get(sqlite3_stmt **stmt, const char *id,
                                const char *customer_id, struct ch_summary *out)
{
	sqlite3_stmt *q =
	    stmt[customer_id ? CH_SQ_SUM_GET_CUST : CH_SQ_SUM_GET];
	struct ch_summary s;
	int rc, err = 0;

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	text(q, 1, id, "");
	if (customer_id)
		text(q, 2, customer_id, "");
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		memset(&s, 0, sizeof(s));
		copy(q, 0, s.conference_id, sizeof(s.conference_id));
		copy(q, 1, s.customer_id, sizeof(s.customer_id));
		s.name = dup(q, 2);
		s.create_time = sqlite3_column_int64(q, 3);
		s.start_time = sqlite3_column_int64(q, 4);
		s.end_time = sqlite3_column_int64(q, 5);
		copy(q, 6, s.status, sizeof(s.status));
		copy(q, 7, s.processing_state, sizeof(s.processing_state));
		copy(q, 8, s.end_reason, sizeof(s.end_reason));
		copy(q, 9, s.ended_by, sizeof(s.ended_by));
		s.max_participants = sqlite3_column_int(q, 10);
		s.max_concurrent = sqlite3_column_int(q, 11);
		s.unique_participants = sqlite3_column_int(q, 12);
		s.recording_enabled = sqlite3_column_int(q, 13) != 0;
		copy(q, 14, s.mixer_region, sizeof(s.mixer_region));
		s.joined_ids = dup(q, 15);
		s.caller_ids = dup(q, 16);
		s.tags = dup(q, 17);
		s.tag_info = dup(q, 18);
		s.tm_update = sqlite3_column_int64(q, 19);
		if (!s.name || !s.joined_ids || !s.caller_ids || !s.tags ||
		    !s.tag_info) {
			ch_summary_clear(&s);
			err = ENOMEM;
		} else {
			*out = s;
		}
	} else if (rc == SQLITE_DONE) {
		err = ENOENT;
	} else {
		err = EIO;
	}
	sqlite3_reset(q);
	return err;
}

int ch_store_sqlite_summary_put(sqlite3_stmt **stmt, const struct ch_summary *s)
{
	sqlite3_stmt *q = stmt[CH_SQ_SUM_PUT];
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	text(q, 1, s->conference_id, "");
	text(q, 2, s->customer_id, "");
	text(q, 3, s->name, "");
	sqlite3_bind_int64(q, 4, s->create_time);
	sqlite3_bind_int64(q, 5, s->start_time);
	sqlite3_bind_int64(q, 6, s->end_time);
	text(q, 7, s->status, "");
	text(q, 8, s->processing_state, "");
	text(q, 9, s->end_reason, "");
	text(q, 10, s->ended_by, "");
	sqlite3_bind_int(q, 11, s->max_participants);
	sqlite3_bind_int(q, 12, s->max_concurrent);
	sqlite3_bind_int(q, 13, s->unique_participants);
	sqlite3_bind_int(q, 14, s->recording_enabled);
	text(q, 15, s->mixer_region, "");
	text(q, 16, s->joined_ids, "[]");
	text(q, 17, s->caller_ids, "[]");
	text(q, 18, s->tags, "[]");
	text(q, 19, s->tag_info, "{}");
	sqlite3_bind_int64(q, 20, s->tm_update);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : EIO;
}
