/*
 * store_pg_schema.c: the PostgreSQL schema as an ordered list of
 * migrations, recorded in schema_version. The tables and columns are the
 * SQLite store's (store_sqlite_schema.c) at its version 8, in one first
 * migration; a later schema change is appended to both lists. Text
 * columns compare bytewise (COLLATE "C"), as SQLite's do, so ids order
 * the same in both. Migration 2 adds the tables of a cluster of nodes
 * (store.h "nodes"), which only this store has; migration 3 is SQLite's
 * 9.
 *
 * Several nodes may start at once on one database: migrations run under
 * a session advisory lock, each in its own transaction.
 */
#include "store/store_pg.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T   " TEXT COLLATE \"C\" NOT NULL"
#define I   " BIGINT NOT NULL"
#define KEY " TEXT COLLATE \"C\" PRIMARY KEY"

static const char *const migrations[] = {
    /* 1: the SQLite store's schema at its version 8 */
    "CREATE TABLE customers (id" KEY ", name" T ", token_sha256" T
    " UNIQUE, webhook_uri" T ", webhook_secret" T ", tm_create" I ");"
    "CREATE TABLE conferences (id" KEY ", customer_id" T ", type" T ", status" T
    ", name" T ", detail" T ", data" T ", timeout" I ", pre_actions" T
    ", post_actions" T ", recording_id" T ", recording_ids" T
    ", transcribe_id" T ", transcribe_ids" T ", playback_status" T
    ", playback_volume" I ", max_participants" I ", end_reason" T ", ended_by" T
    ", tm_create" I ", tm_update" I ", tm_delete" I
    ", max_sample_rate BIGINT NOT NULL DEFAULT 48000);"
    "CREATE INDEX conferences_by_customer ON conferences"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX conferences_live ON conferences (status)"
    " WHERE status != 'terminated';"
    "CREATE TABLE conferencecalls (id" KEY ", customer_id" T ", conference_id" T
    ", reference_type" T ", reference_id" T ", status" T ", muted" I
    ", caller_id" T ", leave_reason" T ", end_conference_on_exit" I
    ", tm_create" I ", tm_update" I ", tm_delete" I
    ", quality TEXT COLLATE \"C\" NOT NULL DEFAULT '');"
    "CREATE INDEX conferencecalls_by_customer ON conferencecalls"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX conferencecalls_by_conference ON conferencecalls"
    " (conference_id, tm_create);"
    "CREATE TABLE events (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY"
    " KEY, id" T ", customer_id" T ", conference_id" T ", type" T ", payload" T
    ", tm_create" I ");"
    "CREATE INDEX events_by_customer ON events (customer_id, seq);"
    "CREATE TABLE webhook_cursors (customer_id" KEY ", last_seq" I ");"
    "CREATE TABLE calls (id" KEY ", customer_id" T ", direction" T ", source" T
    ", destination" T ", transport" T ", codec" T ", status" T
    ", hangup_reason" T ", conference_id" T ", conferencecall_id" T
    ", sip_call_id" T ", tm_create" I ", tm_update" I ", tm_delete" I ");"
    "CREATE INDEX calls_by_customer ON calls (customer_id, tm_create DESC);"
    "CREATE INDEX calls_live ON calls (status) WHERE status != 'hangup';"
    "CREATE TABLE store_probe (id BIGINT PRIMARY KEY, tm" I ");"
    "CREATE TABLE recordings (id" KEY ", customer_id" T ", reference_type" T
    ", reference_id" T ", status" T ", format" T ", tracks" I ", duration_ms" I
    ", channels" T ", rate" I ", size" I ", tm_start" I ", tm_end" I
    ", tm_create" I ", tm_update" I ", tm_delete" I ");"
    "CREATE INDEX recordings_by_customer ON recordings"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX recordings_active ON recordings (status)"
    " WHERE status = 'recording';"
    "CREATE TABLE conference_summaries (conference_id" KEY ", customer_id" T
    ", name" T ", create_time" I ", start_time" I ", end_time" I ", status" T
    ", processing_state" T ", end_reason" T ", ended_by" T
    ", max_participants" I ", max_concurrent" I ", unique_participants" I
    ", recording_enabled" I ", mixer_region" T ", joined_ids" T ", caller_ids" T
    ", tags" T ", tag_info" T ", tm_update" I ");"
    "CREATE TABLE transcribes (id" KEY ", customer_id" T ", reference_type" T
    ", reference_id" T ", language" T ", engine" T ", status" T ", segments" I
    ", dropped_ms" I ", tm_start" I ", tm_end" I ", tm_create" I ", tm_update" I
    ", tm_delete" I ");"
    "CREATE INDEX transcribes_by_customer ON transcribes"
    " (customer_id, tm_create DESC);"
    "CREATE INDEX transcribes_by_reference ON transcribes"
    " (reference_id, tm_create DESC);"
    "CREATE INDEX transcribes_active ON transcribes (status)"
    " WHERE status = 'progressing';"
    "CREATE TABLE transcripts (id" KEY ", customer_id" T ", transcribe_id" T
    ", conferencecall_id" T ", caller_id" T ", text" T ", tm_start_ms" I
    ", tm_end_ms" I ", tm_create" I ");"
    "CREATE INDEX transcripts_by_transcribe ON transcripts"
    " (transcribe_id, tm_start_ms, id);"
    /* data_version: each change to customers draws a new version and
     * records it under the session (connection) that made it, so a
     * store sees the changes of others */
    "CREATE SEQUENCE customers_version;"
    "CREATE TABLE customer_changes (writer" KEY ", version" I ");"
    "CREATE FUNCTION chorus_customers_changed() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN INSERT INTO customer_changes VALUES"
    " (COALESCE(current_setting('chorus.session', true), ''),"
    " nextval('customers_version')) ON CONFLICT (writer) DO UPDATE SET"
    " version = EXCLUDED.version; RETURN NULL; END $$;"
    "CREATE TRIGGER customers_changed AFTER INSERT OR UPDATE OR DELETE ON"
    " customers FOR EACH STATEMENT EXECUTE FUNCTION"
    " chorus_customers_changed();",
    /* 2: a cluster of nodes (store.h "nodes"): the nodes and their
     * heartbeats, the node that owns each conference and call (mixes
     * it, holds its SIP dialog), named leases
     * (the webhook delivery) */
    "CREATE TABLE nodes (name" KEY ", api_url" T ", sip_uri" T ", load" I
    ", heartbeat" I ", tm_start" I ", status" T ", reaped_by" T ");"
    "CREATE TABLE owners (id" KEY ", node" T ");"
    "CREATE INDEX owners_by_node ON owners (node);"
    "CREATE TABLE leases (name" KEY ", holder" T ", expires" I ");",
    /* 3: SQLite's migration 9, the participants present */
    ("CREATE INDEX conferencecalls_present ON conferencecalls"
     " (conference_id, tm_create) WHERE status != 'leaved';"),
};

/* Runs sql; 0 or EIO (logged). */
static int exec(PGconn *conn, const char *sql, const char *what)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int err = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char line[200];
		snprintf(line, sizeof(line), "%s", PQresultErrorMessage(r));
		line[strcspn(line, "\n")] = '\0';
		ch_log_error("store", "%s: %s", what, line);
		err = EIO;
	}
	PQclear(r);
	return err;
}

/* The version recorded, 0 for a database without the schema. */
static int version_get(PGconn *conn, int *version)
{
	PGresult *r = PQexec(conn, "SELECT max(version) FROM schema_version");
	int err = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		err = EIO;
	else
		*version = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
	PQclear(r);
	return err;
}

int ch_store_pg_migrate(PGconn *conn)
{
	const int count = (int)(sizeof(migrations) / sizeof(migrations[0]));
	int version = 0, err;

	/* one node migrates at a time; the others wait, then find it done */
	err = exec(conn, "SELECT pg_advisory_lock(7368218)", "migration lock");
	if (err)
		return err;
	err =
	    exec(conn,
	         "CREATE TABLE IF NOT EXISTS schema_version (version"
	         " BIGINT PRIMARY KEY, tm TIMESTAMPTZ NOT NULL DEFAULT now())",
	         "schema_version");
	if (!err)
		err = version_get(conn, &version);
	if (!err && version > count) {
		ch_log_error(
		    "store",
		    "database schema %d is newer than this chorusd (%d)",
		    version, count);
		err = EIO;
	}
	for (int v = version; !err && v < count; v++) {
		char rec[96];
		snprintf(rec, sizeof(rec),
		         "INSERT INTO schema_version (version) VALUES (%d)",
		         v + 1);
		err = exec(conn, "BEGIN", "migration");
		if (!err)
			err = exec(conn, migrations[v], "migration");
		if (!err)
			err = exec(conn, rec, "migration");
		if (!err)
			err = exec(conn, "COMMIT", "migration");
		if (err)
			(void)exec(conn, "ROLLBACK", "migration");
		else
			ch_log_info("store", "schema migrated to version %d",
			            v + 1);
	}
	(void)exec(conn, "SELECT pg_advisory_unlock(7368218)",
	           "migration unlock");
	return err;
}
