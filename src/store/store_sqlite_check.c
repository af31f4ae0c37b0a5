/*
 * store_sqlite_check.c: the checks that keep chorusd from serving on a
 * store it cannot trust: at open, an existing but empty chorus.db (unless
 * the caller asks to initialise it), a file opened read-only, a failing
 * PRAGMA quick_check (a corrupt page, or not a database at all); after the
 * migrations, a write probe (one committed row in store_probe), which
 * also answers /health once a write has failed. Failures are logged with
 * SQLite's words and returned as errno values (store.h).
 *
 * Threading: called by the owner of the connection (store.h).
 */
#include "store/store.h"
#include "store/store_sqlite.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int ch_store_sqlite_check_fault(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return EROFS;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return EBADMSG;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return EIO;
	default:
		return 0;
	}
}

int ch_store_sqlite_check_errno(int rc)
{
	int err = ch_store_sqlite_check_fault(rc);
	return err ? err : EIO;
}

int ch_store_sqlite_check_file(const char *path, unsigned flags, bool *existed)
{
	struct stat sb;
	*existed = !stat(path, &sb);
	if (*existed && sb.st_size == 0 && !(flags & CH_STORE_INIT)) {
		ch_log_error("store",
		             "%s exists but is empty (0 bytes): refusing to "
		             "start a new store over it without --init",
		             path);
		return ENODATA;
	}
	return 0;
}

/* Runs one statement that returns one text or int row into *out (text
 * copied into buf). Returns the SQLite code. */
static int one_value(sqlite3 *db, const char *sql, char *buf, size_t len,
                     int *out)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(q, 0);
		if (buf)
			snprintf(buf, len, "%s", t ? (const char *)t : "");
		if (out)
			*out = sqlite3_column_int(q, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(q);
	return rc;
}

int ch_store_sqlite_check_open(sqlite3 *db, const char *path, bool existed,
                               unsigned flags)
{
	char res[512];
	int version = 0, rc;

	if (sqlite3_db_readonly(db, "main") == 1) {
		ch_log_error("store",
		             "%s can only be opened read-only (file or file "
		             "system not writable)",
		             path);
		return EROFS;
	}
	if (!existed)
		return 0;
	rc = one_value(db, "PRAGMA quick_check", res, sizeof(res), NULL);
	if (rc != SQLITE_OK || strcmp(res, "ok")) {
		ch_log_error("store", "%s failed PRAGMA quick_check: %s", path,
		             rc != SQLITE_OK ? sqlite3_errmsg(db) : res);
		return rc != SQLITE_OK ? ch_store_sqlite_check_errno(rc)
		                       : EBADMSG;
	}
	rc = one_value(db, "PRAGMA user_version", NULL, 0, &version);
	if (rc != SQLITE_OK)
		return ch_store_sqlite_check_errno(rc);
	if (version == 0 && !(flags & CH_STORE_INIT)) {
		ch_log_error("store",
		             "%s holds no Chorus schema: refusing to start a "
		             "new store in it without --init",
		             path);
		return ENODATA;
	}
	return 0;
}

/* Runs sql; returns 0 or the SQLite code, with SQLite's message in why. */
static int run(sqlite3 *db, const char *sql, char *why, size_t len)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		snprintf(why, len, "%s", sqlite3_errmsg(db));
	return rc;
}

int ch_store_sqlite_check_write(sqlite3 *db, char *why, size_t len)
{
	char sql[160];
	int rc;

	if (!sqlite3_get_autocommit(db))
		return 0; /* inside a caller's transaction: it will tell */
	snprintf(sql, sizeof(sql),
	         "INSERT INTO store_probe (id, tm) VALUES (1, %lld) ON "
	         "CONFLICT(id) DO UPDATE SET tm = excluded.tm",
	         (long long)ch_time_now_us());
	rc = run(db, "BEGIN IMMEDIATE", why, len);
	if (rc == SQLITE_OK) {
		rc = run(db, sql, why, len);
		if (rc == SQLITE_OK)
			rc = run(db, "COMMIT", why, len);
		if (rc != SQLITE_OK)
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc == SQLITE_OK ? 0 : ch_store_sqlite_check_errno(rc);
}

const char *ch_store_open_strerror(int err)
{
	switch (err) {
	case EACCES:
		return "the folder cannot be created or written";
	case ENODATA:
		return "chorus.db exists but is empty; to make a new store in "
		       "it, start once with --init";
	case EROFS:
		return "chorus.db cannot be written (read-only file or file "
		       "system)";
	case ENOSPC:
		return "no space left to write chorus.db";
	case EBADMSG:
		return "chorus.db is corrupt or not a database (PRAGMA "
		       "quick_check failed, see the log); restore a backup";
	case ECONNREFUSED:
		return "cannot connect to PostgreSQL (see the log)";
	case EINVAL:
		return "store must be sqlite or a postgres:// URI";
	default:
		return "the store failed (see the log)";
	}
}
