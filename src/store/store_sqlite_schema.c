/*
 * store_sqlite_schema.c: the SQLite schema as an ordered list of
 * migrations. PRAGMA user_version records how many have run; each new
 * schema change is appended as a new entry, never edited in place.
 *
 * Migrations may call ch_sha256_hex(text), an SQL function registered on
 * the connection for them (migration 3 hashes the stored API tokens).
 */
#include "store/store_sqlite.h"
#include "util/log.h"
#include "util/token.h"

#include <errno.h>
#include <stdio.h>

static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE customers ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, token TEXT NOT NULL UNIQUE,"
    " webhook_uri TEXT NOT NULL, webhook_secret TEXT NOT NULL,"
    " tm_create INTEGER NOT NULL);"
    "CREATE TABLE conferences ("
    " id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, type TEXT NOT NULL,"
    " status TEXT NOT NULL, name TEXT NOT NULL, detail TEXT NOT NULL,"
    " data TEXT NOT NULL, timeout INTEGER NOT NULL,"
    " pre_actions TEXT NOT NULL, post_actions TEXT NOT NULL,"
    " recording_id TEXT NOT NULL, recording_ids TEXT NOT NULL,"
    " transcribe_id TEXT NOT NULL, transcribe_ids TEXT NOT NULL,"
    " playback_status TEXT NOT NULL, playback_volume INTEGER NOT NULL,"
    " max_participants INTEGER NOT NULL, end_reason TEXT NOT NULL,"
    " ended_by TEXT NOT NULL, tm_create INTEGER NOT NULL,"
    " tm_update INTEGER NOT NULL, tm_delete INTEGER NOT NULL);"
    "CREATE INDEX conferences_by_customer ON conferences"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX conferences_live ON conferences (status)"
    " WHERE status != 'terminated';"
    "CREATE TABLE conferencecalls ("
    " id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " conference_id TEXT NOT NULL, reference_type TEXT NOT NULL,"
    " reference_id TEXT NOT NULL, status TEXT NOT NULL,"
    " muted INTEGER NOT NULL, caller_id TEXT NOT NULL,"
    " leave_reason TEXT NOT NULL, end_conference_on_exit INTEGER NOT NULL,"
    " tm_create INTEGER NOT NULL, tm_update INTEGER NOT NULL,"
    " tm_delete INTEGER NOT NULL);"
    "CREATE INDEX conferencecalls_by_customer ON conferencecalls"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX conferencecalls_by_conference ON conferencecalls"
    " (conference_id, tm_create);"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,"
    " customer_id TEXT NOT NULL, conference_id TEXT NOT NULL,"
    " type TEXT NOT NULL, payload TEXT NOT NULL,"
    " tm_create INTEGER NOT NULL);"
    "CREATE INDEX events_by_customer ON events (customer_id, seq);"
    "CREATE TABLE webhook_cursors ("
    " customer_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);",
    /* 2: calls */
    "CREATE TABLE calls ("
    " id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " direction TEXT NOT NULL, source TEXT NOT NULL,"
    " destination TEXT NOT NULL, transport TEXT NOT NULL,"
    " codec TEXT NOT NULL, status TEXT NOT NULL,"
    " hangup_reason TEXT NOT NULL, conference_id TEXT NOT NULL,"
    " conferencecall_id TEXT NOT NULL, sip_call_id TEXT NOT NULL,"
    " tm_create INTEGER NOT NULL, tm_update INTEGER NOT NULL,"
    " tm_delete INTEGER NOT NULL);"
    "CREATE INDEX calls_by_customer ON calls (customer_id, tm_create DESC);"
    "CREATE INDEX calls_live ON calls (status) WHERE status != 'hangup';",
    /* 3: tokens are stored as their SHA-256 (util/token.h), hashed in
     * place, so the tokens of an existing install keep working; one row
     * the write probe commits (store_sqlite_check.c) */
    "ALTER TABLE customers RENAME COLUMN token TO token_sha256;"
    "UPDATE customers SET token_sha256 = ch_sha256_hex(token_sha256);"
    "CREATE TABLE store_probe (id INTEGER PRIMARY KEY,"
    " tm INTEGER NOT NULL);",
    /* 4: recordings (struct ch_recording); channels is JSON text. IF NOT
     * EXISTS: a store rewound by hand to an older version (a test that
     * undoes migration 3) may still hold the table. */
    "CREATE TABLE IF NOT EXISTS recordings ("
    " id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " reference_type TEXT NOT NULL, reference_id TEXT NOT NULL,"
    " status TEXT NOT NULL, format TEXT NOT NULL,"
    " tracks INTEGER NOT NULL, duration_ms INTEGER NOT NULL,"
    " channels TEXT NOT NULL, rate INTEGER NOT NULL,"
    " size INTEGER NOT NULL, tm_start INTEGER NOT NULL,"
    " tm_end INTEGER NOT NULL, tm_create INTEGER NOT NULL,"
    " tm_update INTEGER NOT NULL, tm_delete INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS recordings_by_customer ON recordings"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX IF NOT EXISTS recordings_active ON recordings (status)"
    " WHERE status = 'recording';",
    /* 5: conference summaries (struct ch_summary, core/summary.c);
     * joined_ids, caller_ids, tags are JSON arrays, tag_info an object.
     * Conferences made before this version get a row from what their
     * own row tells (no participant counts). */
    "CREATE TABLE IF NOT EXISTS conference_summaries ("
    " conference_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " name TEXT NOT NULL, create_time INTEGER NOT NULL,"
    " start_time INTEGER NOT NULL, end_time INTEGER NOT NULL,"
    " status TEXT NOT NULL, processing_state TEXT NOT NULL,"
    " end_reason TEXT NOT NULL, ended_by TEXT NOT NULL,"
    " max_participants INTEGER NOT NULL, max_concurrent INTEGER NOT NULL,"
    " unique_participants INTEGER NOT NULL,"
    " recording_enabled INTEGER NOT NULL, mixer_region TEXT NOT NULL,"
    " joined_ids TEXT NOT NULL, caller_ids TEXT NOT NULL,"
    " tags TEXT NOT NULL, tag_info TEXT NOT NULL,"
    " tm_update INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO conference_summaries SELECT id, customer_id,"
    " name, tm_create, 253370764800000000,"
    " CASE status WHEN 'terminated' THEN tm_delete"
    " ELSE 253370764800000000 END,"
    " CASE status WHEN 'terminated' THEN 'completed'"
    " ELSE 'not_started' END,"
    " CASE status WHEN 'terminated' THEN 'complete'"
    " ELSE 'in_progress' END,"
    " end_reason, ended_by, max_participants, 0, 0,"
    " recording_ids != '[]', '', '[]', '[]', '[]', '{}', tm_update"
    " FROM conferences;",
    /* 6: a participant's last call quality (core/quality.h JSON), kept
     * when it has left; '' before */
    ("ALTER TABLE conferencecalls ADD COLUMN quality TEXT NOT NULL"
     " DEFAULT '';"),
    /* 7: transcriptions (struct ch_transcribe) and their recognised
     * segments (struct ch_transcript, times in ms from the transcribe's
     * tm_start); store_sqlite_transcribe.c. IF NOT EXISTS as for 4. */
    "CREATE TABLE IF NOT EXISTS transcribes ("
    " id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " reference_type TEXT NOT NULL, reference_id TEXT NOT NULL,"
    " language TEXT NOT NULL, engine TEXT NOT NULL,"
    " status TEXT NOT NULL, segments INTEGER NOT NULL,"
    " dropped_ms INTEGER NOT NULL, tm_start INTEGER NOT NULL,"
    " tm_end INTEGER NOT NULL, tm_create INTEGER NOT NULL,"
    " tm_update INTEGER NOT NULL, tm_delete INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS transcribes_by_customer ON transcribes"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX IF NOT EXISTS transcribes_by_reference ON transcribes"
    " (reference_id, tm_create DESC);"
    "CREATE INDEX IF NOT EXISTS transcribes_active ON transcribes (status)"
    " WHERE status = 'progressing';"
    "CREATE TABLE IF NOT EXISTS transcripts ("
    " id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " transcribe_id TEXT NOT NULL, conferencecall_id TEXT NOT NULL,"
    " caller_id TEXT NOT NULL, text TEXT NOT NULL,"
    " tm_start_ms INTEGER NOT NULL, tm_end_ms INTEGER NOT NULL,"
    " tm_create INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS transcripts_by_transcribe ON transcripts"
    " (transcribe_id, tm_start_ms, id);",
    /* 8: the highest rate a conference's room mixes at (Hz); conferences
     * made before mixed Opus at 48 kHz */
    ("ALTER TABLE conferences ADD COLUMN max_sample_rate INTEGER NOT NULL"
     " DEFAULT 48000;"),
    /* 9: the participants present, for the health check's one read of
     * them all */
    ("CREATE INDEX IF NOT EXISTS conferencecalls_present ON conferencecalls"
     " (conference_id, tm_create) WHERE status != 'leaved';"),
};

/* ch_sha256_hex(text): the stored form of a token. */
static void sha256_hex_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char hash[CH_TOKEN_HASH_LEN];
	const unsigned char *t = sqlite3_value_text(argv[0]);
	(void)argc;
	ch_token_hash(t ? (const char *)t : "", hash);
	if (!hash[0]) {
		sqlite3_result_error(ctx, "sha256 failed", -1);
		return;
	}
	sqlite3_result_text(ctx, hash, -1, SQLITE_TRANSIENT);
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		ch_log_error("store", "migration failed: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return ch_store_sqlite_check_errno(rc);
	}
	return 0;
}

int ch_store_sqlite_migrate(sqlite3 *db)
{
	sqlite3_stmt *q;
	int version = 0, err;
	const int count = (int)(sizeof(migrations) / sizeof(migrations[0]));

	err = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	               " PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;");
	if (err)
		return err;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) !=
	    SQLITE_OK)
		return EIO;
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (sqlite3_create_function(db, "ch_sha256_hex", 1,
	                            SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	                            sha256_hex_fn, NULL, NULL) != SQLITE_OK)
		return EIO;
	if (version > count) {
		ch_log_error("store",
		             "database schema %d is newer than this "
		             "chorusd (%d)",
		             version, count);
		return EIO;
	}
	for (int v = version; v < count; v++) {
		char pragma[64];
		err = exec(db, "BEGIN IMMEDIATE");
		if (err)
			return err;
		err = exec(db, migrations[v]);
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d",
		         v + 1);
		if (!err)
			err = exec(db, pragma);
		if (err) {
			(void)exec(db, "ROLLBACK");
			return err;
		}
		err = exec(db, "COMMIT");
		if (err)
			return err;
		ch_log_info("store", "schema migrated to version %d", v + 1);
	}
	/* The tokens replaced by their hashes must not linger in the file:
	 * secure_delete zeroes freed cells, the checkpoint moves the pages
	 * out of the WAL and empties it. */
	if (version < 3 && count >= 3)
		(void)exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	return 0;
}
