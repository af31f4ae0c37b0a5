/*
 * store_sqlite.h: private to the SQLite store: schema migrations, the
 * checks at open and for /health, the store's struct and the statement
 * helpers its table files (store_sqlite_summary.c,
 * store_sqlite_transcribe.c) share.
 */
#ifndef CH_STORE_SQLITE_H
#define CH_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/records.h"
#include "store/store.h"

/* Sets WAL mode and brings the schema to the newest version, one
 * migration per transaction. Returns 0 or an errno of
 * ch_store_sqlite_check_errno (logged). */
int ch_store_sqlite_migrate(sqlite3 *db);

/* The errno of an SQLite result code that means the storage failed
 * (EROFS read-only, ENOSPC full, EBADMSG corrupt or not a database, EIO
 * I/O error), or 0 for other failures (busy, constraint, misuse). */
int ch_store_sqlite_check_fault(int rc);
/* The same, EIO for every other failure. */
int ch_store_sqlite_check_errno(int rc);
/* Before opening path: ENODATA if it exists with 0 bytes and flags lack
 * CH_STORE_INIT; *existed tells whether it exists. Returns 0 or ENODATA
 * (logged). */
int ch_store_sqlite_check_file(const char *path, unsigned flags, bool *existed);
/* After opening, before migrating: EROFS if it opened read-only; for a
 * file that existed, EBADMSG if PRAGMA quick_check fails, ENODATA if it
 * holds no schema (user_version 0) and flags lack CH_STORE_INIT. Logged. */
int ch_store_sqlite_check_open(sqlite3 *db, const char *path, bool existed,
                               unsigned flags);
/* Commits one row to store_probe. Returns 0, or EROFS, ENOSPC, EBADMSG,
 * EIO with SQLite's message in why. Does nothing (0) inside an open
 * transaction. */
int ch_store_sqlite_check_write(sqlite3 *db, char *why, size_t len);

/* Column helpers: bind text (NULL as ""), a column's text as a new
 * string (NULL on ENOMEM) or copied into a fixed buffer. */
static inline void ch_store_sqlite_bind_text(sqlite3_stmt *q, int i,
                                             const char *v)
{
	sqlite3_bind_text(q, i, v ? v : "", -1, SQLITE_STATIC);
}

static inline char *ch_store_sqlite_col_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return strdup(t ? (const char *)t : "");
}

static inline void ch_store_sqlite_col_copy(sqlite3_stmt *q, int i, char *dst,
                                            size_t size)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

/* store_sqlite_summary.c: the conference_summaries statements (an array
 * of CH_SQ_SUM_COUNT owned by the store). get/put return 0, ENOENT (get:
 * no row), ENOMEM, or EIO with the error left on the connection for the
 * caller to record. */
enum { CH_SQ_SUM_GET, CH_SQ_SUM_GET_CUST, CH_SQ_SUM_PUT, CH_SQ_SUM_COUNT };
extern const char *const ch_store_sqlite_summary_sql[CH_SQ_SUM_COUNT];
int ch_store_sqlite_summary_get(sqlite3_stmt **stmt, const char *id,
                                const char *customer_id,
                                struct ch_summary *out);
int ch_store_sqlite_summary_put(sqlite3_stmt **stmt,
                                const struct ch_summary *s);

/* Statement helpers of store_sqlite.c for every table file.
 * ch_store_sqlite_stmt: q reset and unbound. fail: logs SQLite's error
 * for what, records a storage fault (health), returns EIO. step_done:
 * runs a statement that returns no rows (0 or EIO). one_row: steps a
 * bound statement that returns at most one row, reading it into out with
 * read: 0, ENOENT (no row, out untouched) or EIO. */
static inline sqlite3_stmt *ch_store_sqlite_stmt(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

struct ch_store_sqlite;
/* prepare: the n statements of sql into stmt, persistent (0 or EIO);
 * finalize: the n of stmt, NULL-safe, each set to NULL. */
int ch_store_sqlite_prepare(sqlite3 *db, const char *const *sql,
                            sqlite3_stmt **stmt, int n);
void ch_store_sqlite_finalize(sqlite3_stmt **stmt, int n);
typedef void(ch_store_sqlite_row_h)(sqlite3_stmt *q, void *out);
int ch_store_sqlite_fail(struct ch_store_sqlite *s, const char *what);
int ch_store_sqlite_step_done(struct ch_store_sqlite *s, sqlite3_stmt *q,
                              const char *what);
int ch_store_sqlite_one_row(struct ch_store_sqlite *s, sqlite3_stmt *q,
                            ch_store_sqlite_row_h *read, void *out,
                            const char *what);

/* store_sqlite_transcribe.c: the transcribes and transcripts tables (the
 * SQL of CH_SQ_TRS_COUNT statements, prepared by the store into s->trs). The
 * ops are those of store.h, put into the ops table by store_sqlite.c. */
enum {
	CH_SQ_TRS_INS,
	CH_SQ_TRS_UPD,
	CH_SQ_TRS_GET,
	CH_SQ_TRS_LIST,
	CH_SQ_TRS_LIST_REF,
	CH_SQ_TRS_ACTIVE,
	CH_SQ_TRT_INS,
	CH_SQ_TRT_LIST,
	CH_SQ_TRS_COUNT
};
extern const char *const ch_store_sqlite_transcribe_sql[CH_SQ_TRS_COUNT];
int ch_store_sqlite_transcribe_insert(struct ch_store *st,
                                      const struct ch_transcribe *t);
int ch_store_sqlite_transcribe_update(struct ch_store *st,
                                      const struct ch_transcribe *t);
int ch_store_sqlite_transcribe_get(struct ch_store *st, const char *id,
                                   struct ch_transcribe *out);
int ch_store_sqlite_transcribe_list(struct ch_store *st,
                                    const char *customer_id,
                                    const char *reference_id, int64_t before_us,
                                    unsigned limit, ch_store_transcribe_h *h,
                                    void *arg);
int ch_store_sqlite_transcribe_list_active(struct ch_store *st,
                                           ch_store_transcribe_h *h, void *arg);
int ch_store_sqlite_transcript_insert(struct ch_store *st,
                                      const struct ch_transcript *t);
int ch_store_sqlite_transcript_list(struct ch_store *st,
                                    const char *transcribe_id, int64_t after_ms,
                                    const char *after_id, unsigned limit,
                                    ch_store_transcript_h *h, void *arg);

/* The statements of store_sqlite.c (its stmt_sql). */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_CUST_INS,
	S_CUST_BY_TOKEN,
	S_CUST_BY_ID,
	S_CUST_LIST,
	S_CUST_SET_TOKEN,
	S_DATA_VERSION,
	S_CONF_INS,
	S_CONF_UPD,
	S_CONF_GET,
	S_CONF_GET_CUST,
	S_CONF_LIST,
	S_CONF_LIVE,
	S_CC_INS,
	S_CC_UPD,
	S_CC_GET,
	S_CC_GET_CUST,
	S_CC_LIST,
	S_CC_LIST_CONF,
	S_CC_PRESENT,
	S_CC_PRESENT_ALL,
	S_CALL_INS,
	S_CALL_UPD,
	S_CALL_GET,
	S_CALL_GET_CUST,
	S_CALL_LIST,
	S_CALL_LIVE,
	S_REC_INS,
	S_REC_UPD,
	S_REC_GET,
	S_REC_LIST,
	S_REC_LIST_REF,
	S_REC_ACTIVE,
	S_EV_INS,
	S_EV_AFTER,
	S_CUR_GET,
	S_CUR_SET,
	S_EV_PRUNE_SCAN,
	S_EV_DEL,
	S_COUNT
};

/* The SQLite store: the connection, its prepared statements (those of
 * store_sqlite.c and of each table file) and the last storage failure.
 * Made by ch_store_open_sqlite; owned by the control thread. */
struct ch_store_sqlite {
	struct ch_store base; /* must be first */
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	sqlite3_stmt *sum[CH_SQ_SUM_COUNT]; /* store_sqlite_summary.c */
	sqlite3_stmt *trs[CH_SQ_TRS_COUNT]; /* store_sqlite_transcribe.c */
	/* the last storage failure, until a commit or probe succeeds */
	int fault; /* errno, 0 = none */
	char fault_why[200];
	uint64_t probe_ms; /* when the store was last probed (monotonic) */
	struct ch_sqlite_ckpt *ckpt; /* checkpointer thread, NULL: none */
};

/* store_sqlite_ckpt.c: the WAL checkpointer thread. start opens its own
 * connection to path and hooks owner's commits (owner then checkpoints
 * no more by itself); returns 0, or an errno (owner keeps SQLite's
 * automatic checkpoints). stop (owner's thread; NULL-safe) unhooks owner,
 * ends the thread and frees. stats: checkpoints run and the longest (us);
 * any thread. */
struct ch_sqlite_ckpt;
int ch_sqlite_ckpt_start(struct ch_sqlite_ckpt **ckp, const char *path,
                         sqlite3 *owner);
void ch_sqlite_ckpt_stop(struct ch_sqlite_ckpt *ck, sqlite3 *owner);
void ch_sqlite_ckpt_stats(const struct ch_sqlite_ckpt *ck, uint64_t *runs,
                          uint64_t *us_max);

#endif
