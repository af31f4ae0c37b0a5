/*
 * store_sqlite.c: the SQLite backend of the store interface (store.h).
 *
 * One database file, data_dir/chorus.db, in WAL mode with
 * synchronous=NORMAL: a committed transaction survives the process being
 * killed (kill -9); only a power loss can lose the last commits. Statements
 * are prepared once and reused, so a lookup costs no parsing. Schema
 * changes are versioned migrations (store_sqlite_schema.c).
 *
 * Threading: owned by the control thread (see store.h).
 */
#include "store/store.h"
#include "store/store_sqlite.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/token.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_COLS                                                              \
	"id, customer_id, type, status, name, detail, data, timeout, "         \
	"pre_actions, post_actions, recording_id, recording_ids, "             \
	"transcribe_id, transcribe_ids, playback_status, playback_volume, "    \
	"max_participants, end_reason, ended_by, tm_create, tm_update, "       \
	"tm_delete, max_sample_rate"
#define CC_COLS                                                                \
	"id, customer_id, conference_id, reference_type, reference_id, "       \
	"status, muted, caller_id, leave_reason, end_conference_on_exit, "     \
	"tm_create, tm_update, tm_delete, quality"
#define CUST_COLS                                                              \
	"id, name, token_sha256, webhook_uri, webhook_secret, tm_create"
#define CALL_COLS                                                              \
	"id, customer_id, direction, source, destination, transport, codec, "  \
	"status, hangup_reason, conference_id, conferencecall_id, "            \
	"sip_call_id, tm_create, tm_update, tm_delete"
#define REC_COLS                                                               \
	"id, customer_id, reference_type, reference_id, status, format, "      \
	"tracks, duration_ms, channels, rate, size, tm_start, tm_end, "        \
	"tm_create, tm_update, tm_delete"
/* not deleted: tm_delete unset (0 or CH_TIME_NEVER_US) */
#define REC_LIVE "(tm_delete = 0 OR tm_delete >= 253370764800000000)"
#define EV_COLS  "seq, id, customer_id, conference_id, type, payload, tm_create"

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_CUST_INS] = "INSERT INTO customers (" CUST_COLS ") VALUES (?,?,?,?,?,?)",
    [S_CUST_BY_TOKEN] =
        "SELECT " CUST_COLS " FROM customers WHERE token_sha256 = ?",
    [S_CUST_BY_ID] = "SELECT " CUST_COLS " FROM customers WHERE id = ?",
    [S_CUST_LIST] = "SELECT " CUST_COLS " FROM customers ORDER BY tm_create",
    [S_CUST_SET_TOKEN] = "UPDATE customers SET token_sha256 = ? WHERE id = ?",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_CONF_INS] = "INSERT INTO conferences (" CONF_COLS
                   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_CONF_UPD] = "UPDATE conferences SET customer_id=?2, type=?3, "
                   "status=?4, name=?5, detail=?6, data=?7, timeout=?8, "
                   "pre_actions=?9, post_actions=?10, recording_id=?11, "
                   "recording_ids=?12, transcribe_id=?13, "
                   "transcribe_ids=?14, playback_status=?15, "
                   "playback_volume=?16, max_participants=?17, "
                   "end_reason=?18, ended_by=?19, tm_create=?20, "
                   "tm_update=?21, tm_delete=?22, max_sample_rate=?23 "
                   "WHERE id=?1",
    [S_CONF_GET] = "SELECT " CONF_COLS " FROM conferences WHERE id = ?",
    [S_CONF_GET_CUST] = "SELECT " CONF_COLS
                        " FROM conferences WHERE id = ? AND customer_id = ?",
    [S_CONF_LIST] =
        "SELECT " CONF_COLS " FROM conferences WHERE customer_id = ? AND "
        "tm_create < ? ORDER BY tm_create DESC LIMIT ?",
    [S_CONF_LIVE] = "SELECT " CONF_COLS " FROM conferences WHERE status "
                    "!= 'terminated' ORDER BY tm_create",
    [S_CC_INS] = "INSERT INTO conferencecalls (" CC_COLS
                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_CC_UPD] = "UPDATE conferencecalls SET customer_id=?2, "
                 "conference_id=?3, reference_type=?4, reference_id=?5, "
                 "status=?6, muted=?7, caller_id=?8, leave_reason=?9, "
                 "end_conference_on_exit=?10, tm_create=?11, "
                 "tm_update=?12, tm_delete=?13, quality=?14 WHERE id=?1",
    [S_CC_GET] = "SELECT " CC_COLS " FROM conferencecalls WHERE id = ?",
    [S_CC_GET_CUST] = "SELECT " CC_COLS " FROM conferencecalls WHERE id = "
                      "? AND customer_id = ?",
    [S_CC_LIST] =
        "SELECT " CC_COLS " FROM conferencecalls WHERE customer_id = ? AND "
        "tm_create < ? ORDER BY tm_create DESC LIMIT ?",
    [S_CC_LIST_CONF] =
        "SELECT " CC_COLS " FROM conferencecalls WHERE customer_id = ? AND "
        "tm_create < ? AND conference_id = ? ORDER BY "
        "tm_create DESC LIMIT ?",
    [S_CC_PRESENT] =
        "SELECT " CC_COLS " FROM conferencecalls WHERE conference_id = ? AND "
        "status != 'leaved' ORDER BY tm_create",
    [S_CC_PRESENT_ALL] =
        "SELECT " CC_COLS " FROM conferencecalls WHERE status != 'leaved' "
        "ORDER BY conference_id, tm_create",
    [S_CALL_INS] = "INSERT INTO calls (" CALL_COLS
                   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_CALL_UPD] = "UPDATE calls SET customer_id=?2, direction=?3, "
                   "source=?4, destination=?5, transport=?6, codec=?7, "
                   "status=?8, hangup_reason=?9, conference_id=?10, "
                   "conferencecall_id=?11, sip_call_id=?12, tm_create=?13, "
                   "tm_update=?14, tm_delete=?15 WHERE id=?1",
    [S_CALL_GET] = "SELECT " CALL_COLS " FROM calls WHERE id = ?",
    [S_CALL_GET_CUST] =
        "SELECT " CALL_COLS " FROM calls WHERE id = ? AND customer_id = ?",
    [S_CALL_LIST] = "SELECT " CALL_COLS
                    " FROM calls WHERE customer_id = ? AND tm_create < ? "
                    "ORDER BY tm_create DESC LIMIT ?",
    [S_CALL_LIVE] = "SELECT " CALL_COLS " FROM calls WHERE status != 'hangup'",
    [S_REC_INS] = "INSERT INTO recordings (" REC_COLS
                  ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_REC_UPD] = "UPDATE recordings SET customer_id=?2, reference_type=?3, "
                  "reference_id=?4, status=?5, format=?6, tracks=?7, "
                  "duration_ms=?8, channels=?9, rate=?10, size=?11, "
                  "tm_start=?12, tm_end=?13, tm_create=?14, tm_update=?15, "
                  "tm_delete=?16 WHERE id=?1",
    [S_REC_GET] = "SELECT " REC_COLS " FROM recordings WHERE id = ?",
    [S_REC_LIST] =
        "SELECT " REC_COLS " FROM recordings WHERE customer_id = ?1 "
        "AND tm_create < ?2 AND " REC_LIVE " ORDER BY tm_create DESC LIMIT ?3",
    [S_REC_LIST_REF] =
        "SELECT " REC_COLS " FROM recordings WHERE customer_id = ?1 AND "
        "tm_create < ?2 AND reference_id = ?4 AND " REC_LIVE
        " ORDER BY tm_create DESC LIMIT ?3",
    [S_REC_ACTIVE] = "SELECT " REC_COLS " FROM recordings WHERE status = "
                     "'recording' ORDER BY tm_create",
    [S_EV_INS] = "INSERT INTO events (id, customer_id, conference_id, "
                 "type, payload, tm_create) VALUES (?,?,?,?,?,?)",
    [S_EV_AFTER] = "SELECT " EV_COLS " FROM events WHERE customer_id = ? "
                   "AND seq > ? ORDER BY seq LIMIT ?",
    [S_CUR_GET] = "SELECT last_seq FROM webhook_cursors WHERE "
                  "customer_id = ?",
    [S_CUR_SET] = "INSERT INTO webhook_cursors (customer_id, last_seq) "
                  "VALUES (?1, ?2) ON CONFLICT(customer_id) DO UPDATE SET "
                  "last_seq = ?2",
    /* Oldest first from ?3, at most ?4 rows: seq, tm_create, and whether
     * it may go (delivered and before ?1, or before ?2). */
    [S_EV_PRUNE_SCAN] =
        "SELECT e.seq, e.tm_create, (e.tm_create < ?2 OR"
        " COALESCE(c.webhook_uri, '') = '' OR"
        " e.seq <= COALESCE(w.last_seq, 0)) FROM"
        " (SELECT seq, customer_id, tm_create FROM events WHERE seq >= ?3"
        " ORDER BY seq LIMIT ?4) AS e"
        " LEFT JOIN customers c ON c.id = e.customer_id"
        " LEFT JOIN webhook_cursors w ON w.customer_id = e.customer_id"
        " ORDER BY e.seq",
    [S_EV_DEL] = "DELETE FROM events WHERE seq = ?",
};

static struct ch_store_sqlite *self(struct ch_store *st)
{
	return (struct ch_store_sqlite *)st;
}

int ch_store_sqlite_fail(struct ch_store_sqlite *s, const char *what)
{
	int fault = ch_store_sqlite_check_fault(sqlite3_errcode(s->db));
	ch_log_error("store", "%s: %s", what, sqlite3_errmsg(s->db));
	if (fault) {
		s->fault = fault;
		snprintf(s->fault_why, sizeof(s->fault_why), "%s: %s", what,
		         sqlite3_errmsg(s->db));
	}
	return EIO;
}

/* Fetches a prepared statement, reset and unbound. */
static sqlite3_stmt *stmt_get(struct ch_store_sqlite *s, enum stmt_id id)
{
	return ch_store_sqlite_stmt(s->stmt[id]);
}

/* the column and statement helpers are in store_sqlite.h, shared with
 * the table files */
#define bind_text ch_store_sqlite_bind_text
#define col_dup   ch_store_sqlite_col_dup
#define col_copy  ch_store_sqlite_col_copy
#define db_fail   ch_store_sqlite_fail
#define step_done ch_store_sqlite_step_done
#define one_row   ch_store_sqlite_one_row

int ch_store_sqlite_step_done(struct ch_store_sqlite *s, sqlite3_stmt *q,
                              const char *what)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return db_fail(s, what);
	return 0;
}

int ch_store_sqlite_one_row(struct ch_store_sqlite *s, sqlite3_stmt *q,
                            ch_store_sqlite_row_h *read, void *out,
                            const char *what)
{
	int rc = sqlite3_step(q), err = 0;
	if (rc == SQLITE_ROW)
		read(q, out);
	else if (rc == SQLITE_DONE)
		err = ENOENT;
	else
		err = db_fail(s, what);
	sqlite3_reset(q);
	return err;
}

int ch_store_sqlite_prepare(sqlite3 *db, const char *const *sql,
                            sqlite3_stmt **stmt, int n)
{
	for (int i = 0; i < n; i++)
		if (sqlite3_prepare_v3(db, sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &stmt[i],
		                       NULL) != SQLITE_OK)
			return EIO;
	return 0;
}

void ch_store_sqlite_finalize(sqlite3_stmt **stmt, int n)
{
	for (int i = 0; i < n; i++) {
		sqlite3_finalize(stmt[i]);
		stmt[i] = NULL;
	}
}

/* ---- transactions ---- */

static int sq_begin(struct ch_store *st)
{
	struct ch_store_sqlite *s = self(st);
	return step_done(s, stmt_get(s, S_BEGIN), "begin");
}

static int sq_commit(struct ch_store *st)
{
	struct ch_store_sqlite *s = self(st);
	int err = step_done(s, stmt_get(s, S_COMMIT), "commit");
	if (!err)
		s->fault = 0;
	return err;
}

static void sq_rollback(struct ch_store *st)
{
	struct ch_store_sqlite *s = self(st);
	(void)step_done(s, stmt_get(s, S_ROLLBACK), "rollback");
}

/* ---- customers ---- */

static void cust_bind(sqlite3_stmt *q, const struct ch_customer *c)
{
	bind_text(q, 1, c->id);
	bind_text(q, 2, c->name);
	bind_text(q, 3, c->token_hash);
	bind_text(q, 4, c->webhook_uri);
	bind_text(q, 5, c->webhook_secret);
	sqlite3_bind_int64(q, 6, c->tm_create);
}

static void cust_read(sqlite3_stmt *q, void *out)
{
	struct ch_customer *c = out;
	memset(c, 0, sizeof(*c));
	col_copy(q, 0, c->id, sizeof(c->id));
	col_copy(q, 1, c->name, sizeof(c->name));
	col_copy(q, 2, c->token_hash, sizeof(c->token_hash));
	col_copy(q, 3, c->webhook_uri, sizeof(c->webhook_uri));
	col_copy(q, 4, c->webhook_secret, sizeof(c->webhook_secret));
	c->tm_create = sqlite3_column_int64(q, 5);
}

static int sq_customer_insert(struct ch_store *st, const struct ch_customer *c)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CUST_INS);
	cust_bind(q, c);
	return step_done(s, q, "customer insert");
}

static int cust_one(struct ch_store_sqlite *s, enum stmt_id id, const char *key,
                    struct ch_customer *out)
{
	sqlite3_stmt *q = stmt_get(s, id);
	bind_text(q, 1, key);
	return one_row(s, q, cust_read, out, "customer get");
}

/* The index finds the row; the match is then confirmed in constant time
 * (the index compare only ever sees hashes, never a token). */
static int sq_customer_by_token_hash(struct ch_store *st, const char *hash,
                                     struct ch_customer *out)
{
	struct ch_customer c;
	int err = cust_one(self(st), S_CUST_BY_TOKEN, hash, &c);
	if (err)
		return err;
	if (!ch_token_hash_equal(c.token_hash, hash))
		return ENOENT;
	*out = c;
	return 0;
}

static int sq_customer_set_token_hash(struct ch_store *st, const char *id,
                                      const char *hash)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CUST_SET_TOKEN);
	bind_text(q, 1, hash);
	bind_text(q, 2, id);
	int err = step_done(s, q, "customer token");
	if (!err && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	return err;
}

static int sq_data_version(struct ch_store *st, int64_t *version)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_DATA_VERSION);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : db_fail(s, "data version");
}

static int sq_customer_by_id(struct ch_store *st, const char *id,
                             struct ch_customer *out)
{
	return cust_one(self(st), S_CUST_BY_ID, id, out);
}

static int sq_customer_list(struct ch_store *st, ch_store_customer_h *h,
                            void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CUST_LIST);
	struct ch_customer c;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cust_read(q, &c);
		if (h(&c, arg))
			break;
	}
	sqlite3_reset(q);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE)
	           ? 0
	           : db_fail(s, "customer list");
}

/* ---- conferences ---- */

static void conf_bind(sqlite3_stmt *q, const struct ch_conference *c)
{
	bind_text(q, 1, c->id);
	bind_text(q, 2, c->customer_id);
	bind_text(q, 3, ch_conference_type_str(c->type));
	bind_text(q, 4, ch_conference_status_str(c->status));
	bind_text(q, 5, c->name);
	bind_text(q, 6, c->detail);
	bind_text(q, 7, c->data ? c->data : "{}");
	sqlite3_bind_int64(q, 8, c->timeout);
	bind_text(q, 9, c->pre_actions ? c->pre_actions : "[]");
	bind_text(q, 10, c->post_actions ? c->post_actions : "[]");
	bind_text(q, 11, c->recording_id);
	bind_text(q, 12, c->recording_ids ? c->recording_ids : "[]");
	bind_text(q, 13, c->transcribe_id);
	bind_text(q, 14, c->transcribe_ids ? c->transcribe_ids : "[]");
	bind_text(q, 15, c->playback_status);
	sqlite3_bind_int(q, 16, c->playback_volume);
	sqlite3_bind_int(q, 17, c->max_participants);
	bind_text(q, 18, c->end_reason);
	bind_text(q, 19, c->ended_by);
	sqlite3_bind_int64(q, 20, c->tm_create);
	sqlite3_bind_int64(q, 21, c->tm_update);
	sqlite3_bind_int64(q, 22, c->tm_delete);
	sqlite3_bind_int(q, 23, c->max_sample_rate);
}

static void conf_read(sqlite3_stmt *q, void *out)
{
	struct ch_conference *c = out;
	memset(c, 0, sizeof(*c));
	col_copy(q, 0, c->id, sizeof(c->id));
	col_copy(q, 1, c->customer_id, sizeof(c->customer_id));
	(void)ch_conference_type_parse((const char *)sqlite3_column_text(q, 2),
	                               &c->type);
	(void)ch_conference_status_parse(
	    (const char *)sqlite3_column_text(q, 3), &c->status);
	c->name = col_dup(q, 4);
	c->detail = col_dup(q, 5);
	c->data = col_dup(q, 6);
	c->timeout = sqlite3_column_int64(q, 7);
	c->pre_actions = col_dup(q, 8);
	c->post_actions = col_dup(q, 9);
	col_copy(q, 10, c->recording_id, sizeof(c->recording_id));
	c->recording_ids = col_dup(q, 11);
	col_copy(q, 12, c->transcribe_id, sizeof(c->transcribe_id));
	c->transcribe_ids = col_dup(q, 13);
	col_copy(q, 14, c->playback_status, sizeof(c->playback_status));
	c->playback_volume = sqlite3_column_int(q, 15);
	c->max_participants = sqlite3_column_int(q, 16);
	col_copy(q, 17, c->end_reason, sizeof(c->end_reason));
	col_copy(q, 18, c->ended_by, sizeof(c->ended_by));
	c->tm_create = sqlite3_column_int64(q, 19);
	c->tm_update = sqlite3_column_int64(q, 20);
	c->tm_delete = sqlite3_column_int64(q, 21);
	c->max_sample_rate = sqlite3_column_int(q, 22);
}

static int sq_conference_insert(struct ch_store *st,
                                const struct ch_conference *c)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CONF_INS);
	conf_bind(q, c);
	return step_done(s, q, "conference insert");
}

static int sq_conference_update(struct ch_store *st,
                                const struct ch_conference *c)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CONF_UPD);
	conf_bind(q, c);
	int err = step_done(s, q, "conference update");
	if (!err && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	return err;
}

static int sq_conference_get(struct ch_store *st, const char *id,
                             const char *customer_id, struct ch_conference *out)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q =
	    stmt_get(s, customer_id ? S_CONF_GET_CUST : S_CONF_GET);
	bind_text(q, 1, id);
	if (customer_id)
		bind_text(q, 2, customer_id);
	return one_row(s, q, conf_read, out, "conference get");
}

static int conf_each(struct ch_store_sqlite *s, sqlite3_stmt *q,
                     ch_store_conference_h *h, void *arg)
{
	struct ch_conference c;
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		conf_read(q, &c);
		stop = h(&c, arg);
		ch_conference_clear(&c);
	}
	sqlite3_reset(q);
	if (!stop && rc != SQLITE_DONE)
		return db_fail(s, "conference list");
	return 0;
}

static int sq_conference_list(struct ch_store *st, const char *customer_id,
                              int64_t before_us, unsigned limit,
                              ch_store_conference_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CONF_LIST);
	bind_text(q, 1, customer_id);
	sqlite3_bind_int64(q, 2, before_us);
	sqlite3_bind_int(q, 3, (int)limit);
	return conf_each(s, q, h, arg);
}

static int sq_conference_list_live(struct ch_store *st,
                                   ch_store_conference_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	return conf_each(s, stmt_get(s, S_CONF_LIVE), h, arg);
}

/* ---- conferencecalls ---- */

static void cc_bind(sqlite3_stmt *q, const struct ch_conferencecall *cc)
{
	bind_text(q, 1, cc->id);
	bind_text(q, 2, cc->customer_id);
	bind_text(q, 3, cc->conference_id);
	bind_text(q, 4, cc->reference_type);
	bind_text(q, 5, cc->reference_id);
	bind_text(q, 6, ch_conferencecall_status_str(cc->status));
	sqlite3_bind_int(q, 7, cc->muted);
	bind_text(q, 8, cc->caller_id);
	bind_text(q, 9, cc->leave_reason);
	sqlite3_bind_int(q, 10, cc->end_conference_on_exit);
	sqlite3_bind_int64(q, 11, cc->tm_create);
	sqlite3_bind_int64(q, 12, cc->tm_update);
	sqlite3_bind_int64(q, 13, cc->tm_delete);
	bind_text(q, 14, cc->quality);
}

static void cc_read(sqlite3_stmt *q, void *out)
{
	struct ch_conferencecall *cc = out;
	memset(cc, 0, sizeof(*cc));
	col_copy(q, 0, cc->id, sizeof(cc->id));
	col_copy(q, 1, cc->customer_id, sizeof(cc->customer_id));
	col_copy(q, 2, cc->conference_id, sizeof(cc->conference_id));
	col_copy(q, 3, cc->reference_type, sizeof(cc->reference_type));
	col_copy(q, 4, cc->reference_id, sizeof(cc->reference_id));
	(void)ch_conferencecall_status_parse(
	    (const char *)sqlite3_column_text(q, 5), &cc->status);
	cc->muted = sqlite3_column_int(q, 6) != 0;
	col_copy(q, 7, cc->caller_id, sizeof(cc->caller_id));
	col_copy(q, 8, cc->leave_reason, sizeof(cc->leave_reason));
	cc->end_conference_on_exit = sqlite3_column_int(q, 9) != 0;
	cc->tm_create = sqlite3_column_int64(q, 10);
	cc->tm_update = sqlite3_column_int64(q, 11);
	cc->tm_delete = sqlite3_column_int64(q, 12);
	col_copy(q, 13, cc->quality, sizeof(cc->quality));
}

static int sq_cc_insert(struct ch_store *st, const struct ch_conferencecall *cc)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CC_INS);
	cc_bind(q, cc);
	return step_done(s, q, "conferencecall insert");
}

static int sq_cc_update(struct ch_store *st, const struct ch_conferencecall *cc)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CC_UPD);
	cc_bind(q, cc);
	int err = step_done(s, q, "conferencecall update");
	if (!err && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	return err;
}

static int sq_cc_get(struct ch_store *st, const char *id,
                     const char *customer_id, struct ch_conferencecall *out)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, customer_id ? S_CC_GET_CUST : S_CC_GET);
	bind_text(q, 1, id);
	if (customer_id)
		bind_text(q, 2, customer_id);
	return one_row(s, q, cc_read, out, "conferencecall get");
}

static int cc_each(struct ch_store_sqlite *s, sqlite3_stmt *q,
                   ch_store_conferencecall_h *h, void *arg)
{
	struct ch_conferencecall cc;
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		cc_read(q, &cc);
		stop = h(&cc, arg);
	}
	sqlite3_reset(q);
	if (!stop && rc != SQLITE_DONE)
		return db_fail(s, "conferencecall list");
	return 0;
}

static int sq_cc_list(struct ch_store *st, const char *customer_id,
                      const char *conference_id, int64_t before_us,
                      unsigned limit, ch_store_conferencecall_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q =
	    stmt_get(s, conference_id ? S_CC_LIST_CONF : S_CC_LIST);
	bind_text(q, 1, customer_id);
	sqlite3_bind_int64(q, 2, before_us);
	if (conference_id) {
		bind_text(q, 3, conference_id);
		sqlite3_bind_int(q, 4, (int)limit);
	} else {
		sqlite3_bind_int(q, 3, (int)limit);
	}
	return cc_each(s, q, h, arg);
}

static int sq_cc_list_present(struct ch_store *st, const char *conference_id,
                              ch_store_conferencecall_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CC_PRESENT);
	bind_text(q, 1, conference_id);
	return cc_each(s, q, h, arg);
}

/* ---- calls ---- */

static int sq_cc_list_present_all(struct ch_store *st,
                                  ch_store_conferencecall_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	return cc_each(s, stmt_get(s, S_CC_PRESENT_ALL), h, arg);
}

static void call_bind(sqlite3_stmt *q, const struct ch_call *c)
{
	bind_text(q, 1, c->id);
	bind_text(q, 2, c->customer_id);
	bind_text(q, 3, c->direction);
	bind_text(q, 4, c->source ? c->source : "{}");
	bind_text(q, 5, c->destination ? c->destination : "{}");
	bind_text(q, 6, c->transport);
	bind_text(q, 7, c->codec);
	bind_text(q, 8, ch_call_status_str(c->status));
	bind_text(q, 9, c->hangup_reason);
	bind_text(q, 10, c->conference_id);
	bind_text(q, 11, c->conferencecall_id);
	bind_text(q, 12, c->sip_call_id);
	sqlite3_bind_int64(q, 13, c->tm_create);
	sqlite3_bind_int64(q, 14, c->tm_update);
	sqlite3_bind_int64(q, 15, c->tm_delete);
}

static void call_read(sqlite3_stmt *q, void *out)
{
	struct ch_call *c = out;
	memset(c, 0, sizeof(*c));
	col_copy(q, 0, c->id, sizeof(c->id));
	col_copy(q, 1, c->customer_id, sizeof(c->customer_id));
	col_copy(q, 2, c->direction, sizeof(c->direction));
	c->source = col_dup(q, 3);
	c->destination = col_dup(q, 4);
	col_copy(q, 5, c->transport, sizeof(c->transport));
	col_copy(q, 6, c->codec, sizeof(c->codec));
	(void)ch_call_status_parse((const char *)sqlite3_column_text(q, 7),
	                           &c->status);
	col_copy(q, 8, c->hangup_reason, sizeof(c->hangup_reason));
	col_copy(q, 9, c->conference_id, sizeof(c->conference_id));
	col_copy(q, 10, c->conferencecall_id, sizeof(c->conferencecall_id));
	col_copy(q, 11, c->sip_call_id, sizeof(c->sip_call_id));
	c->tm_create = sqlite3_column_int64(q, 12);
	c->tm_update = sqlite3_column_int64(q, 13);
	c->tm_delete = sqlite3_column_int64(q, 14);
}

static int sq_call_insert(struct ch_store *st, const struct ch_call *c)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CALL_INS);
	call_bind(q, c);
	return step_done(s, q, "call insert");
}

static int sq_call_update(struct ch_store *st, const struct ch_call *c)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CALL_UPD);
	call_bind(q, c);
	int err = step_done(s, q, "call update");
	if (!err && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	return err;
}

static int sq_call_get(struct ch_store *st, const char *id,
                       const char *customer_id, struct ch_call *out)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q =
	    stmt_get(s, customer_id ? S_CALL_GET_CUST : S_CALL_GET);
	bind_text(q, 1, id);
	if (customer_id)
		bind_text(q, 2, customer_id);
	return one_row(s, q, call_read, out, "call get");
}

static int call_each(struct ch_store_sqlite *s, sqlite3_stmt *q,
                     ch_store_call_h *h, void *arg)
{
	struct ch_call c;
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		call_read(q, &c);
		stop = h(&c, arg);
		ch_call_clear(&c);
	}
	sqlite3_reset(q);
	if (!stop && rc != SQLITE_DONE)
		return db_fail(s, "call list");
	return 0;
}

static int sq_call_list(struct ch_store *st, const char *customer_id,
                        int64_t before_us, unsigned limit, ch_store_call_h *h,
                        void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CALL_LIST);
	bind_text(q, 1, customer_id);
	sqlite3_bind_int64(q, 2, before_us);
	sqlite3_bind_int(q, 3, (int)limit);
	return call_each(s, q, h, arg);
}

static int sq_call_list_live(struct ch_store *st, ch_store_call_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	return call_each(s, stmt_get(s, S_CALL_LIVE), h, arg);
}

/* ---- recordings ---- */

static void rec_bind(sqlite3_stmt *q, const struct ch_recording *r)
{
	bind_text(q, 1, r->id);
	bind_text(q, 2, r->customer_id);
	bind_text(q, 3, r->reference_type);
	bind_text(q, 4, r->reference_id);
	bind_text(q, 5, r->status);
	bind_text(q, 6, r->format);
	sqlite3_bind_int(q, 7, r->tracks);
	sqlite3_bind_int64(q, 8, r->duration_ms);
	bind_text(q, 9, r->channels ? r->channels : "[]");
	sqlite3_bind_int64(q, 10, r->rate);
	sqlite3_bind_int64(q, 11, r->size);
	sqlite3_bind_int64(q, 12, r->tm_start);
	sqlite3_bind_int64(q, 13, r->tm_end);
	sqlite3_bind_int64(q, 14, r->tm_create);
	sqlite3_bind_int64(q, 15, r->tm_update);
	sqlite3_bind_int64(q, 16, r->tm_delete);
}

static void rec_read(sqlite3_stmt *q, void *out)
{
	struct ch_recording *r = out;
	memset(r, 0, sizeof(*r));
	col_copy(q, 0, r->id, sizeof(r->id));
	col_copy(q, 1, r->customer_id, sizeof(r->customer_id));
	col_copy(q, 2, r->reference_type, sizeof(r->reference_type));
	col_copy(q, 3, r->reference_id, sizeof(r->reference_id));
	col_copy(q, 4, r->status, sizeof(r->status));
	col_copy(q, 5, r->format, sizeof(r->format));
	r->tracks = sqlite3_column_int(q, 6) != 0;
	r->duration_ms = sqlite3_column_int64(q, 7);
	r->channels = col_dup(q, 8);
	r->rate = (uint32_t)sqlite3_column_int64(q, 9);
	r->size = sqlite3_column_int64(q, 10);
	r->tm_start = sqlite3_column_int64(q, 11);
	r->tm_end = sqlite3_column_int64(q, 12);
	r->tm_create = sqlite3_column_int64(q, 13);
	r->tm_update = sqlite3_column_int64(q, 14);
	r->tm_delete = sqlite3_column_int64(q, 15);
}

static int sq_rec_insert(struct ch_store *st, const struct ch_recording *r)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_REC_INS);
	rec_bind(q, r);
	return step_done(s, q, "recording insert");
}

static int sq_rec_update(struct ch_store *st, const struct ch_recording *r)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_REC_UPD);
	rec_bind(q, r);
	int err = step_done(s, q, "recording update");
	if (!err && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	return err;
}

static int sq_rec_get(struct ch_store *st, const char *id,
                      struct ch_recording *out)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_REC_GET);
	bind_text(q, 1, id);
	return one_row(s, q, rec_read, out, "recording get");
}

static int rec_each(struct ch_store_sqlite *s, sqlite3_stmt *q,
                    ch_store_recording_h *h, void *arg)
{
	struct ch_recording r;
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		rec_read(q, &r);
		stop = h(&r, arg);
		ch_recording_clear(&r);
	}
	sqlite3_reset(q);
	if (!stop && rc != SQLITE_DONE)
		return db_fail(s, "recording list");
	return 0;
}

static int sq_rec_list(struct ch_store *st, const char *customer_id,
                       const char *reference_id, int64_t before_us,
                       unsigned limit, ch_store_recording_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q =
	    stmt_get(s, reference_id ? S_REC_LIST_REF : S_REC_LIST);
	bind_text(q, 1, customer_id);
	sqlite3_bind_int64(q, 2, before_us);
	sqlite3_bind_int(q, 3, (int)limit);
	if (reference_id)
		bind_text(q, 4, reference_id);
	return rec_each(s, q, h, arg);
}

static int sq_rec_list_active(struct ch_store *st, ch_store_recording_h *h,
                              void *arg)
{
	struct ch_store_sqlite *s = self(st);
	return rec_each(s, stmt_get(s, S_REC_ACTIVE), h, arg);
}

/* ---- events ---- */

static int sq_event_append(struct ch_store *st, struct ch_event_rec *e)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_EV_INS);
	bind_text(q, 1, e->id);
	bind_text(q, 2, e->customer_id);
	bind_text(q, 3, e->conference_id);
	bind_text(q, 4, e->type);
	bind_text(q, 5, e->payload);
	sqlite3_bind_int64(q, 6, e->tm_create);
	int err = step_done(s, q, "event append");
	if (!err)
		e->seq = sqlite3_last_insert_rowid(s->db);
	return err;
}

static int sq_event_list_after(struct ch_store *st, const char *customer_id,
                               int64_t after_seq, unsigned limit,
                               ch_store_event_h *h, void *arg)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_EV_AFTER);
	struct ch_event_rec e;
	int rc, stop = 0;
	bind_text(q, 1, customer_id);
	sqlite3_bind_int64(q, 2, after_seq);
	sqlite3_bind_int(q, 3, (int)limit);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.seq = sqlite3_column_int64(q, 0);
		col_copy(q, 1, e.id, sizeof(e.id));
		col_copy(q, 2, e.customer_id, sizeof(e.customer_id));
		col_copy(q, 3, e.conference_id, sizeof(e.conference_id));
		col_copy(q, 4, e.type, sizeof(e.type));
		e.payload = col_dup(q, 5);
		e.tm_create = sqlite3_column_int64(q, 6);
		stop = h(&e, arg);
		ch_event_rec_clear(&e);
	}
	sqlite3_reset(q);
	if (!stop && rc != SQLITE_DONE)
		return db_fail(s, "event list");
	return 0;
}

static int sq_cursor_get(struct ch_store *st, const char *customer_id,
                         int64_t *last_seq)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CUR_GET);
	int rc, err = 0;
	bind_text(q, 1, customer_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*last_seq = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_DONE)
		*last_seq = 0;
	else
		err = db_fail(s, "cursor get");
	sqlite3_reset(q);
	return err;
}

static int sq_cursor_set(struct ch_store *st, const char *customer_id,
                         int64_t last_seq)
{
	struct ch_store_sqlite *s = self(st);
	sqlite3_stmt *q = stmt_get(s, S_CUR_SET);
	bind_text(q, 1, customer_id);
	sqlite3_bind_int64(q, 2, last_seq);
	return step_done(s, q, "cursor set");
}

/* ---- health ---- */

static int sq_health(struct ch_store *st, char *why, size_t len)
{
	struct ch_store_sqlite *s = self(st);
	uint64_t now = ch_time_mono_ms();
	char probe_why[160];

	if (s->fault && now - s->probe_ms >= 1000) {
		s->probe_ms = now;
		int err = ch_store_sqlite_check_write(s->db, probe_why,
		                                      sizeof(probe_why));
		if (!err) {
			ch_log_info("store", "writes work again");
			s->fault = 0;
		} else {
			s->fault = err;
			snprintf(s->fault_why, sizeof(s->fault_why),
			         "write probe: %s", probe_why);
		}
	}
	if (s->fault)
		snprintf(why, len, "%s", s->fault_why);
	return s->fault;
}

/* Reads one batch: the seqs that may go into del (at most p->limit) and
 * p->next_seq. Returns the number in del, or -1 on error. */
static int prune_scan(struct ch_store_sqlite *s, struct ch_event_prune *p,
                      int64_t *del)
{
	sqlite3_stmt *q = stmt_get(s, S_EV_PRUNE_SCAN);
	unsigned seen = 0;
	int n = 0, rc;
	bool young = false;
	int64_t last = 0;
	sqlite3_bind_int64(q, 1, p->cutoff_us);
	sqlite3_bind_int64(q, 2, p->hard_cutoff_us);
	sqlite3_bind_int64(q, 3, p->from_seq);
	sqlite3_bind_int(q, 4, (int)p->limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_int64(q, 1) >= p->cutoff_us) {
			young = true;
			break;
		}
		last = sqlite3_column_int64(q, 0);
		seen++;
		if (sqlite3_column_int(q, 2))
			del[n++] = last;
	}
	sqlite3_reset(q);
	if (!young && rc != SQLITE_DONE) {
		db_fail(s, "event prune scan");
		return -1;
	}
	/* Went through old rows only: the next batch goes on after them;
	 * reached young rows or the end: the next one starts over. */
	p->next_seq = !young && seen == p->limit ? last + 1 : 0;
	return n;
}

static int sq_event_prune(struct ch_store *st, struct ch_event_prune *p)
{
	struct ch_store_sqlite *s = self(st);
	int64_t *del;
	int n, err = 0;

	p->deleted = 0;
	p->next_seq = 0;
	if (!p->limit)
		return 0;
	del = calloc(p->limit, sizeof(*del));
	if (!del)
		return ENOMEM;
	n = prune_scan(s, p, del);
	if (n <= 0) {
		free(del);
		return n < 0 ? EIO : 0;
	}
	err = sq_begin(st);
	if (err) {
		free(del);
		return err;
	}
	for (int i = 0; !err && i < n; i++) {
		sqlite3_stmt *q = stmt_get(s, S_EV_DEL);
		sqlite3_bind_int64(q, 1, del[i]);
		err = step_done(s, q, "event prune");
	}
	if (!err)
		err = sq_commit(st);
	if (err)
		sq_rollback(st);
	else
		p->deleted = (unsigned)n;
	free(del);
	return err;
}

/* ---- summaries (store_sqlite_summary.c) ---- */

static int sq_summary_get(struct ch_store *st, const char *id,
                          const char *customer_id, struct ch_summary *out)
{
	struct ch_store_sqlite *s = self(st);
	int err = ch_store_sqlite_summary_get(s->sum, id, customer_id, out);
	return err == EIO ? db_fail(s, "summary get") : err;
}

static int sq_summary_put(struct ch_store *st, const struct ch_summary *sum)
{
	struct ch_store_sqlite *s = self(st);
	int err = ch_store_sqlite_summary_put(s->sum, sum);
	return err == EIO ? db_fail(s, "summary put") : err;
}

/* ---- open / close ---- */

static void sq_close(struct ch_store *st)
{
	struct ch_store_sqlite *s = self(st);
	ch_sqlite_ckpt_stop(s->ckpt, s->db);
	ch_store_sqlite_finalize(s->stmt, S_COUNT);
	ch_store_sqlite_finalize(s->sum, CH_SQ_SUM_COUNT);
	ch_store_sqlite_finalize(s->trs, CH_SQ_TRS_COUNT);
	if (s->db)
		sqlite3_close(s->db);
	free(s);
}

static const struct ch_store_ops sqlite_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .customer_insert = sq_customer_insert,
    .customer_by_token_hash = sq_customer_by_token_hash,
    .customer_set_token_hash = sq_customer_set_token_hash,
    .customer_by_id = sq_customer_by_id,
    .customer_list = sq_customer_list,
    .data_version = sq_data_version,
    .conference_insert = sq_conference_insert,
    .conference_update = sq_conference_update,
    .conference_get = sq_conference_get,
    .conference_list = sq_conference_list,
    .conference_list_live = sq_conference_list_live,
    .conferencecall_insert = sq_cc_insert,
    .conferencecall_update = sq_cc_update,
    .conferencecall_get = sq_cc_get,
    .conferencecall_list = sq_cc_list,
    .conferencecall_list_present = sq_cc_list_present,
    .conferencecall_list_present_all = sq_cc_list_present_all,
    .call_insert = sq_call_insert,
    .call_update = sq_call_update,
    .call_get = sq_call_get,
    .call_list = sq_call_list,
    .call_list_live = sq_call_list_live,
    .recording_insert = sq_rec_insert,
    .recording_update = sq_rec_update,
    .recording_get = sq_rec_get,
    .recording_list = sq_rec_list,
    .recording_list_active = sq_rec_list_active,
    /* store_sqlite_transcribe.c */
    .transcribe_insert = ch_store_sqlite_transcribe_insert,
    .transcribe_update = ch_store_sqlite_transcribe_update,
    .transcribe_get = ch_store_sqlite_transcribe_get,
    .transcribe_list = ch_store_sqlite_transcribe_list,
    .transcribe_list_active = ch_store_sqlite_transcribe_list_active,
    .transcript_insert = ch_store_sqlite_transcript_insert,
    .transcript_list = ch_store_sqlite_transcript_list,
    .summary_get = sq_summary_get,
    .summary_put = sq_summary_put,
    .event_append = sq_event_append,
    .event_list_after = sq_event_list_after,
    .webhook_cursor_get = sq_cursor_get,
    .webhook_cursor_set = sq_cursor_set,
    .health = sq_health,
    .event_prune = sq_event_prune,
};

int ch_store_open_sqlite(struct ch_store **stp, const char *data_dir)
{
	return ch_store_open_sqlite_flags(stp, data_dir, 0);
}

int ch_store_open_sqlite_flags(struct ch_store **stp, const char *data_dir,
                               unsigned flags)
{
	struct ch_store_sqlite *s;
	char path[PATH_MAX], why[200];
	bool existed;
	int err = 0, rc;

	if (mkdir(data_dir, 0750) && errno != EEXIST) {
		ch_log_error("store", "cannot create data dir %s: %s", data_dir,
		             strerror(errno));
		return EACCES;
	}
	struct stat sb;
	if (stat(data_dir, &sb) || !S_ISDIR(sb.st_mode)) {
		ch_log_error("store", "data dir %s is not a folder", data_dir);
		return EACCES;
	}
	if (access(data_dir, W_OK | X_OK)) {
		int e = errno;
		ch_log_error("store", "data dir %s is not writable: %s",
		             data_dir, strerror(e));
		return e == EROFS ? EROFS : EACCES;
	}
	snprintf(path, sizeof(path), "%s/chorus.db", data_dir);
	err = ch_store_sqlite_check_file(path, flags, &existed);
	if (err)
		return err;
	/* One connection per store, used by one thread: no global memory
	 * accounting, no connection mutexes. Only effective before SQLite
	 * initialises, so later stores in the process keep the settings. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)sqlite3_config(SQLITE_CONFIG_MULTITHREAD);

	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	s->base.ops = &sqlite_ops;
	rc = sqlite3_open_v2(path, &s->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                         SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		(void)db_fail(s, "open");
		err = ch_store_sqlite_check_errno(rc);
		goto out;
	}
	sqlite3_busy_timeout(s->db, 5000);
	err = ch_store_sqlite_check_open(s->db, path, existed, flags);
	if (!err)
		err = ch_store_sqlite_migrate(s->db);
	if (!err) {
		err = ch_store_sqlite_check_write(s->db, why, sizeof(why));
		if (err)
			ch_log_error("store", "%s: write probe failed: %s",
			             path, why);
	}
	if (err)
		goto out;
	for (int i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
		                       NULL) != SQLITE_OK) {
			err = db_fail(s, stmt_sql[i]);
			goto out;
		}
	}
	if (ch_store_sqlite_prepare(s->db, ch_store_sqlite_summary_sql, s->sum,
	                            CH_SQ_SUM_COUNT))
		err = db_fail(s, "summary statements");
	else if (ch_store_sqlite_prepare(s->db, ch_store_sqlite_transcribe_sql,
	                                 s->trs, CH_SQ_TRS_COUNT))
		err = db_fail(s, "transcribe statements");
	/* WAL checkpoints on their own thread; without it SQLite's own */
	if (!err && ch_sqlite_ckpt_start(&s->ckpt, path, s->db))
		ch_log_warn("store", "checkpoints stay on the control thread");
out:
	if (err) {
		sq_close(&s->base);
		return err;
	}
	*stp = &s->base;
	return 0;
}
