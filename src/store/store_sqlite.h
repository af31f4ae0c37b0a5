/*
 * store_sqlite.h: private to the SQLite store: schema migrations.
 */
#ifndef CH_STORE_SQLITE_H
#define CH_STORE_SQLITE_H

#include <sqlite3.h>

/* Sets WAL mode and brings the schema to the newest version, one
 * migration per transaction. Returns 0 or EIO (logged). */
int ch_store_sqlite_migrate(sqlite3 *db);

#endif
