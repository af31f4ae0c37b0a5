/*
 * store_sqlite.h: private to the SQLite store: schema migrations and the
 * checks at open and for /health.
 */
#ifndef CH_STORE_SQLITE_H
#define CH_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

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

#endif
