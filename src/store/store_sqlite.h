/*
 * store_sqlite.h: private to the SQLite store: schema migrations and the
 * checks at open and for /health.
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
int ch_store_sqlite_summary_prepare(sqlite3 *db, sqlite3_stmt **stmt);
void ch_store_sqlite_summary_finalize(sqlite3_stmt **stmt);
int ch_store_sqlite_summary_get(sqlite3_stmt **stmt, const char *id,
                                const char *customer_id,
                                struct ch_summary *out);
int ch_store_sqlite_summary_put(sqlite3_stmt **stmt,
                                const struct ch_summary *s);

#endif
