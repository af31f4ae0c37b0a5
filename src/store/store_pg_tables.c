/*
 * store_pg_tables.c: the PostgreSQL store's column tables (which record
 * field is which column, store_pg.h) and the text of its statements,
 * built from those tables at open. The semantics are those of the SQLite
 * store's statements (store_sqlite.c), statement for statement.
 *
 * Threading: the tables are constant; ch_store_pg_sql_init fills one
 * store's statements (the thread that opens it).
 */
#include "store/store_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX(rec, f)                                                            \
	{                                                                      \
#f, CH_PG_FIX, offsetof(rec, f), sizeof(((rec *)0)->f), NULL   \
	}
#define STR(rec, f, dflt)                                                      \
	{                                                                      \
#f, CH_PG_STR, offsetof(rec, f), 0, dflt                       \
	}
#define NUM(rec, f, kind)                                                      \
	{                                                                      \
#f, kind, offsetof(rec, f), 0, NULL                            \
	}
#define I64(rec, f) NUM(rec, f, CH_PG_I64)
#define INT(rec, f) NUM(rec, f, CH_PG_INT)
#define TABLE(var, tname, rec, cols, clr)                                      \
	const struct ch_pg_table var = {tname, cols,                           \
	                                (int)(sizeof(cols) / sizeof(cols[0])), \
	                                sizeof(rec), clr}

static void clear_none(void *rec)
{
	(void)rec;
}
static void clear_conference(void *rec)
{
	ch_conference_clear(rec);
}
static void clear_call(void *rec)
{
	ch_call_clear(rec);
}
static void clear_recording(void *rec)
{
	ch_recording_clear(rec);
}
static void clear_transcript(void *rec)
{
	ch_transcript_clear(rec);
}
static void clear_summary(void *rec)
{
	ch_summary_clear(rec);
}

typedef struct ch_customer cust_t;
static const struct ch_pg_col cust_cols[] = {
    FIX(cust_t, id),
    FIX(cust_t, name),
    {"token_sha256", CH_PG_FIX, offsetof(cust_t, token_hash),
     sizeof(((cust_t *)0)->token_hash), NULL},
    FIX(cust_t, webhook_uri),
    FIX(cust_t, webhook_secret),
    I64(cust_t, tm_create),
};
TABLE(ch_pg_customers, "customers", cust_t, cust_cols, clear_none);

typedef struct ch_conference conf_t;
static const struct ch_pg_col conf_cols[] = {
    FIX(conf_t, id),
    FIX(conf_t, customer_id),
    NUM(conf_t, type, CH_PG_CONF_TYPE),
    NUM(conf_t, status, CH_PG_CONF_STATUS),
    STR(conf_t, name, ""),
    STR(conf_t, detail, ""),
    STR(conf_t, data, "{}"),
    I64(conf_t, timeout),
    STR(conf_t, pre_actions, "[]"),
    STR(conf_t, post_actions, "[]"),
    FIX(conf_t, recording_id),
    STR(conf_t, recording_ids, "[]"),
    FIX(conf_t, transcribe_id),
    STR(conf_t, transcribe_ids, "[]"),
    FIX(conf_t, playback_status),
    INT(conf_t, playback_volume),
    INT(conf_t, max_participants),
    FIX(conf_t, end_reason),
    FIX(conf_t, ended_by),
    I64(conf_t, tm_create),
    I64(conf_t, tm_update),
    I64(conf_t, tm_delete),
    INT(conf_t, max_sample_rate),
};
TABLE(ch_pg_conferences, "conferences", conf_t, conf_cols, clear_conference);

typedef struct ch_conferencecall cc_t;
static const struct ch_pg_col cc_cols[] = {
    FIX(cc_t, id),
    FIX(cc_t, customer_id),
    FIX(cc_t, conference_id),
    FIX(cc_t, reference_type),
    FIX(cc_t, reference_id),
    NUM(cc_t, status, CH_PG_CC_STATUS),
    NUM(cc_t, muted, CH_PG_BOOL),
    FIX(cc_t, caller_id),
    FIX(cc_t, leave_reason),
    NUM(cc_t, end_conference_on_exit, CH_PG_BOOL),
    I64(cc_t, tm_create),
    I64(cc_t, tm_update),
    I64(cc_t, tm_delete),
    FIX(cc_t, quality),
};
TABLE(ch_pg_conferencecalls, "conferencecalls", cc_t, cc_cols, clear_none);

typedef struct ch_call call_t;
static const struct ch_pg_col call_cols[] = {
    FIX(call_t, id),
    FIX(call_t, customer_id),
    FIX(call_t, direction),
    STR(call_t, source, "{}"),
    STR(call_t, destination, "{}"),
    FIX(call_t, transport),
    FIX(call_t, codec),
    NUM(call_t, status, CH_PG_CALL_STATUS),
    FIX(call_t, hangup_reason),
    FIX(call_t, conference_id),
    FIX(call_t, conferencecall_id),
    FIX(call_t, sip_call_id),
    I64(call_t, tm_create),
    I64(call_t, tm_update),
    I64(call_t, tm_delete),
};
TABLE(ch_pg_calls, "calls", call_t, call_cols, clear_call);

typedef struct ch_recording rec_t;
static const struct ch_pg_col rec_cols[] = {
    FIX(rec_t, id),
    FIX(rec_t, customer_id),
    FIX(rec_t, reference_type),
    FIX(rec_t, reference_id),
    FIX(rec_t, status),
    FIX(rec_t, format),
    NUM(rec_t, tracks, CH_PG_BOOL),
    I64(rec_t, duration_ms),
    STR(rec_t, channels, "[]"),
    NUM(rec_t, rate, CH_PG_U32),
    I64(rec_t, size),
    I64(rec_t, tm_start),
    I64(rec_t, tm_end),
    I64(rec_t, tm_create),
    I64(rec_t, tm_update),
    I64(rec_t, tm_delete),
};
TABLE(ch_pg_recordings, "recordings", rec_t, rec_cols, clear_recording);

typedef struct ch_transcribe trs_t;
static const struct ch_pg_col trs_cols[] = {
    FIX(trs_t, id),
    FIX(trs_t, customer_id),
    FIX(trs_t, reference_type),
    FIX(trs_t, reference_id),
    FIX(trs_t, language),
    FIX(trs_t, engine),
    FIX(trs_t, status),
    I64(trs_t, segments),
    I64(trs_t, dropped_ms),
    I64(trs_t, tm_start),
    I64(trs_t, tm_end),
    I64(trs_t, tm_create),
    I64(trs_t, tm_update),
    I64(trs_t, tm_delete),
};
TABLE(ch_pg_transcribes, "transcribes", trs_t, trs_cols, clear_none);

typedef struct ch_transcript trt_t;
static const struct ch_pg_col trt_cols[] = {
    FIX(trt_t, id),
    FIX(trt_t, customer_id),
    FIX(trt_t, transcribe_id),
    /* no speaker: the nil id */
    {"conferencecall_id", CH_PG_FIX, offsetof(trt_t, conferencecall_id),
     sizeof(((trt_t *)0)->conferencecall_id), CH_UUID_NIL},
    STR(trt_t, caller_id, ""),
    STR(trt_t, text, ""),
    I64(trt_t, tm_start_ms),
    I64(trt_t, tm_end_ms),
    I64(trt_t, tm_create),
};
TABLE(ch_pg_transcripts, "transcripts", trt_t, trt_cols, clear_transcript);

typedef struct ch_summary sum_t;
static const struct ch_pg_col sum_cols[] = {
    FIX(sum_t, conference_id),
    FIX(sum_t, customer_id),
    STR(sum_t, name, ""),
    I64(sum_t, create_time),
    I64(sum_t, start_time),
    I64(sum_t, end_time),
    FIX(sum_t, status),
    FIX(sum_t, processing_state),
    FIX(sum_t, end_reason),
    FIX(sum_t, ended_by),
    INT(sum_t, max_participants),
    INT(sum_t, max_concurrent),
    INT(sum_t, unique_participants),
    NUM(sum_t, recording_enabled, CH_PG_BOOL),
    FIX(sum_t, mixer_region),
    STR(sum_t, joined_ids, "[]"),
    STR(sum_t, caller_ids, "[]"),
    STR(sum_t, tags, "[]"),
    STR(sum_t, tag_info, "{}"),
    I64(sum_t, tm_update),
};
TABLE(ch_pg_summaries, "conference_summaries", sum_t, sum_cols, clear_summary);

typedef struct ch_node node_t;
static const struct ch_pg_col node_cols[] = {
    FIX(node_t, name),   FIX(node_t, api_url),   FIX(node_t, sip_uri),
    I64(node_t, load),   I64(node_t, heartbeat), I64(node_t, tm_start),
    FIX(node_t, status), FIX(node_t, reaped_by),
};
TABLE(ch_pg_nodes, "nodes", node_t, node_cols, clear_none);

/* ---- binding and reading ---- */

void ch_pg_params_rec(struct ch_pg_params *p, const struct ch_pg_table *t,
                      const void *rec)
{
	const char *base = rec;
	for (int i = 0; i < t->ncols; i++) {
		const struct ch_pg_col *c = &t->cols[i];
		const void *f = base + c->off;
		switch (c->kind) {
		case CH_PG_FIX:
			/* dflt: bound when the field is "" */
			ch_pg_params_text(p, !*(const char *)f && c->dflt
			                         ? c->dflt
			                         : (const char *)f);
			break;
		case CH_PG_STR: {
			const char *v = *(char *const *)f;
			ch_pg_params_text(p, v ? v : c->dflt);
			break;
		}
		case CH_PG_I64:
			ch_pg_params_i64(p, *(const int64_t *)f);
			break;
		case CH_PG_INT:
			ch_pg_params_i64(p, *(const int *)f);
			break;
		case CH_PG_U32:
			ch_pg_params_i64(p, *(const uint32_t *)f);
			break;
		case CH_PG_BOOL:
			ch_pg_params_i64(p, *(const bool *)f ? 1 : 0);
			break;
		case CH_PG_CONF_TYPE:
			ch_pg_params_text(
			    p, ch_conference_type_str(
			           *(const enum ch_conference_type *)f));
			break;
		case CH_PG_CONF_STATUS:
			ch_pg_params_text(
			    p, ch_conference_status_str(
			           *(const enum ch_conference_status *)f));
			break;
		case CH_PG_CC_STATUS:
			ch_pg_params_text(
			    p, ch_conferencecall_status_str(
			           *(const enum ch_conferencecall_status *)f));
			break;
		case CH_PG_CALL_STATUS:
			ch_pg_params_text(p,
			                  ch_call_status_str(
			                      *(const enum ch_call_status *)f));
			break;
		}
	}
}

int ch_pg_read_rec(const struct ch_pg_table *t, const PGresult *r, int row,
                   void *rec)
{
	char *base = rec;
	int err = 0;
	memset(rec, 0, t->size);
	for (int i = 0; i < t->ncols; i++) {
		const struct ch_pg_col *c = &t->cols[i];
		const char *v = PQgetvalue(r, row, i);
		void *f = base + c->off;
		switch (c->kind) {
		case CH_PG_FIX:
			snprintf(f, c->size, "%s", v);
			break;
		case CH_PG_STR:
			*(char **)f = strdup(v);
			if (!*(char **)f)
				err = ENOMEM;
			break;
		case CH_PG_I64:
			*(int64_t *)f = strtoll(v, NULL, 10);
			break;
		case CH_PG_INT:
			*(int *)f = (int)strtol(v, NULL, 10);
			break;
		case CH_PG_U32:
			*(uint32_t *)f = (uint32_t)strtoul(v, NULL, 10);
			break;
		case CH_PG_BOOL:
			*(bool *)f = strtol(v, NULL, 10) != 0;
			break;
		case CH_PG_CONF_TYPE:
			(void)ch_conference_type_parse(v, f);
			break;
		case CH_PG_CONF_STATUS:
			(void)ch_conference_status_parse(v, f);
			break;
		case CH_PG_CC_STATUS:
			(void)ch_conferencecall_status_parse(v, f);
			break;
		case CH_PG_CALL_STATUS:
			(void)ch_call_status_parse(v, f);
			break;
		}
	}
	if (err && t->clear)
		t->clear(rec);
	return err;
}

/* ---- statement text ---- */

static void add(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);
	if (n < size)
		snprintf(buf + n, size - n, "%s", s);
}

const char *ch_pg_sql_cols(const struct ch_pg_table *t, char *buf, size_t size)
{
	buf[0] = '\0';
	for (int i = 0; i < t->ncols; i++) {
		add(buf, size, i ? ", " : "");
		add(buf, size, t->cols[i].name);
	}
	return buf;
}

const char *ch_pg_sql_insert(const struct ch_pg_table *t, char *buf,
                             size_t size)
{
	char cols[1024], n[16];
	snprintf(buf, size, "INSERT INTO %s (%s) VALUES (", t->name,
	         ch_pg_sql_cols(t, cols, sizeof(cols)));
	for (int i = 0; i < t->ncols; i++) {
		snprintf(n, sizeof(n), "%s$%d", i ? "," : "", i + 1);
		add(buf, size, n);
	}
	add(buf, size, ")");
	return buf;
}

const char *ch_pg_sql_update(const struct ch_pg_table *t, char *buf,
                             size_t size)
{
	char part[96];
	snprintf(buf, size, "UPDATE %s SET ", t->name);
	for (int i = 1; i < t->ncols; i++) {
		snprintf(part, sizeof(part), "%s%s=$%d", i > 1 ? ", " : "",
		         t->cols[i].name, i + 1);
		add(buf, size, part);
	}
	snprintf(part, sizeof(part), " WHERE %s=$1", t->cols[0].name);
	add(buf, size, part);
	return buf;
}

const char *ch_pg_sql_excluded(const struct ch_pg_table *t, char *buf,
                               size_t size)
{
	char part[96];
	buf[0] = '\0';
	for (int i = 1; i < t->ncols; i++) {
		snprintf(part, sizeof(part), "%s%s=EXCLUDED.%s",
		         i > 1 ? ", " : "", t->cols[i].name, t->cols[i].name);
		add(buf, size, part);
	}
	return buf;
}

/* not deleted: tm_delete unset (0 or CH_TIME_NEVER_US) */
#define LIVE "(tm_delete = 0 OR tm_delete >= 253370764800000000)"

static int set(struct ch_store_pg *s, enum ch_pg_stmt id, const char *fmt,
               const char *a, const char *b)
{
	char buf[8192];
	snprintf(buf, sizeof(buf), fmt, a, b);
	s->sql[id] = strdup(buf);
	return s->sql[id] ? 0 : ENOMEM;
}

int ch_store_pg_sql_init(struct ch_store_pg *s)
{
	char c[1024], x[2048];
	int e = 0;

	/* customers */
	e |= set(s, PG_CUST_INS, "%s",
	         ch_pg_sql_insert(&ch_pg_customers, x, sizeof(x)), NULL);
	ch_pg_sql_cols(&ch_pg_customers, c, sizeof(c));
	e |= set(s, PG_CUST_BY_TOKEN,
	         "SELECT %s FROM customers WHERE token_sha256 = $1", c, NULL);
	e |= set(s, PG_CUST_BY_ID, "SELECT %s FROM customers WHERE id = $1", c,
	         NULL);
	e |= set(s, PG_CUST_LIST, "SELECT %s FROM customers ORDER BY tm_create",
	         c, NULL);
	e |= set(s, PG_CUST_SET_TOKEN,
	         "UPDATE customers SET token_sha256 = $1 WHERE id = $2", NULL,
	         NULL);
	/* the changes of other sessions (connections) only */
	e |= set(s, PG_DATA_VERSION,
	         "SELECT COALESCE(max(version), 0) FROM customer_changes WHERE"
	         " writer != current_setting('chorus.session', true)",
	         NULL, NULL);

	/* conferences */
	e |= set(s, PG_CONF_INS, "%s",
	         ch_pg_sql_insert(&ch_pg_conferences, x, sizeof(x)), NULL);
	e |= set(s, PG_CONF_UPD, "%s",
	         ch_pg_sql_update(&ch_pg_conferences, x, sizeof(x)), NULL);
	ch_pg_sql_cols(&ch_pg_conferences, c, sizeof(c));
	e |= set(s, PG_CONF_GET, "SELECT %s FROM conferences WHERE id = $1", c,
	         NULL);
	e |= set(s, PG_CONF_LIST,
	         "SELECT %s FROM conferences WHERE customer_id = $1 AND "
	         "tm_create < $2 ORDER BY tm_create DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_CONF_LIVE,
	         "SELECT %s FROM conferences WHERE status != 'terminated' "
	         "ORDER BY tm_create",
	         c, NULL);

	/* conferencecalls */
	e |= set(s, PG_CC_INS, "%s",
	         ch_pg_sql_insert(&ch_pg_conferencecalls, x, sizeof(x)), NULL);
	e |= set(s, PG_CC_UPD, "%s",
	         ch_pg_sql_update(&ch_pg_conferencecalls, x, sizeof(x)), NULL);
	ch_pg_sql_cols(&ch_pg_conferencecalls, c, sizeof(c));
	e |= set(s, PG_CC_GET, "SELECT %s FROM conferencecalls WHERE id = $1",
	         c, NULL);
	e |= set(s, PG_CC_LIST,
	         "SELECT %s FROM conferencecalls WHERE customer_id = $1 AND "
	         "tm_create < $2 ORDER BY tm_create DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_CC_LIST_CONF,
	         "SELECT %s FROM conferencecalls WHERE customer_id = $1 AND "
	         "tm_create < $2 AND conference_id = $4 ORDER BY tm_create "
	         "DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_CC_PRESENT,
	         "SELECT %s FROM conferencecalls WHERE conference_id = $1 AND "
	         "status != 'leaved' ORDER BY tm_create",
	         c, NULL);

	e |=
	    set(s, PG_CC_PRESENT_ALL,
	        "SELECT %s FROM conferencecalls WHERE status != 'leaved' ORDER "
	        "BY conference_id, tm_create",
	        c, NULL);

	/* calls */
	e |= set(s, PG_CALL_INS, "%s",
	         ch_pg_sql_insert(&ch_pg_calls, x, sizeof(x)), NULL);
	e |= set(s, PG_CALL_UPD, "%s",
	         ch_pg_sql_update(&ch_pg_calls, x, sizeof(x)), NULL);
	ch_pg_sql_cols(&ch_pg_calls, c, sizeof(c));
	e |= set(s, PG_CALL_GET, "SELECT %s FROM calls WHERE id = $1", c, NULL);
	e |= set(s, PG_CALL_LIST,
	         "SELECT %s FROM calls WHERE customer_id = $1 AND tm_create < "
	         "$2 ORDER BY tm_create DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_CALL_LIVE,
	         "SELECT %s FROM calls WHERE status != 'hangup'", c, NULL);

	/* recordings */
	e |= set(s, PG_REC_INS, "%s",
	         ch_pg_sql_insert(&ch_pg_recordings, x, sizeof(x)), NULL);
	e |= set(s, PG_REC_UPD, "%s",
	         ch_pg_sql_update(&ch_pg_recordings, x, sizeof(x)), NULL);
	ch_pg_sql_cols(&ch_pg_recordings, c, sizeof(c));
	e |= set(s, PG_REC_GET, "SELECT %s FROM recordings WHERE id = $1", c,
	         NULL);
	e |= set(s, PG_REC_LIST,
	         "SELECT %s FROM recordings WHERE customer_id = $1 AND "
	         "tm_create < $2 AND " LIVE " ORDER BY tm_create DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_REC_LIST_REF,
	         "SELECT %s FROM recordings WHERE customer_id = $1 AND "
	         "tm_create < $2 AND reference_id = $4 AND " LIVE
	         " ORDER BY tm_create DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_REC_ACTIVE,
	         "SELECT %s FROM recordings WHERE status = 'recording' ORDER "
	         "BY tm_create",
	         c, NULL);

	/* transcribes, transcripts */
	e |= set(s, PG_TRS_INS, "%s",
	         ch_pg_sql_insert(&ch_pg_transcribes, x, sizeof(x)), NULL);
	e |= set(s, PG_TRS_UPD, "%s",
	         ch_pg_sql_update(&ch_pg_transcribes, x, sizeof(x)), NULL);
	ch_pg_sql_cols(&ch_pg_transcribes, c, sizeof(c));
	e |= set(s, PG_TRS_GET, "SELECT %s FROM transcribes WHERE id = $1", c,
	         NULL);
	e |= set(s, PG_TRS_LIST,
	         "SELECT %s FROM transcribes WHERE customer_id = $1 AND "
	         "tm_create < $2 AND " LIVE " ORDER BY tm_create DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_TRS_LIST_REF,
	         "SELECT %s FROM transcribes WHERE reference_id = $4 AND "
	         "customer_id = $1 AND tm_create < $2 AND " LIVE
	         " ORDER BY tm_create DESC LIMIT $3",
	         c, NULL);
	e |= set(s, PG_TRS_ACTIVE,
	         "SELECT %s FROM transcribes WHERE status = 'progressing' "
	         "ORDER BY tm_create",
	         c, NULL);
	e |= set(s, PG_TRT_INS, "%s",
	         ch_pg_sql_insert(&ch_pg_transcripts, x, sizeof(x)), NULL);
	ch_pg_sql_cols(&ch_pg_transcripts, c, sizeof(c));
	e |= set(s, PG_TRT_LIST,
	         "SELECT %s FROM transcripts WHERE transcribe_id = $1 AND "
	         "(tm_start_ms, id) > ($2::bigint, $3::text) ORDER BY "
	         "tm_start_ms, id LIMIT $4",
	         c, NULL);

	/* summaries: put replaces the whole row */
	ch_pg_sql_cols(&ch_pg_summaries, c, sizeof(c));
	e |= set(s, PG_SUM_GET,
	         "SELECT %s FROM conference_summaries WHERE conference_id = $1",
	         c, NULL);
	{
		char ins[2048], exc[2048];
		ch_pg_sql_insert(&ch_pg_summaries, ins, sizeof(ins));
		ch_pg_sql_excluded(&ch_pg_summaries, exc, sizeof(exc));
		e |= set(s, PG_SUM_PUT,
		         "%s ON CONFLICT (conference_id) DO UPDATE SET %s", ins,
		         exc);
	}

	/* the outbox: the customer's advisory lock (held to the end of the
	 * transaction) before the seq is drawn keeps seq order = commit
	 * order per customer across nodes */
	e |= set(s, PG_EV_INS,
	         "WITH l AS (SELECT pg_advisory_xact_lock(hashtext($2)))"
	         " INSERT INTO events (id, customer_id, conference_id, type,"
	         " payload, tm_create) SELECT $1, $2, $3, $4, $5, $6::bigint"
	         " FROM l RETURNING seq",
	         NULL, NULL);
	e |= set(s, PG_EV_AFTER,
	         "SELECT seq, id, customer_id, conference_id, type, payload,"
	         " tm_create FROM events WHERE customer_id = $1 AND seq > $2"
	         " ORDER BY seq LIMIT $3",
	         NULL, NULL);
	e |= set(s, PG_CUR_GET,
	         "SELECT last_seq FROM webhook_cursors WHERE customer_id = $1",
	         NULL, NULL);
	e |= set(s, PG_CUR_SET,
	         "INSERT INTO webhook_cursors (customer_id, last_seq) VALUES"
	         " ($1, $2) ON CONFLICT (customer_id) DO UPDATE SET last_seq ="
	         " EXCLUDED.last_seq",
	         NULL, NULL);
	e |= set(
	    s, PG_EV_PRUNE_SCAN,
	    "SELECT e.seq, e.tm_create, (e.tm_create < $1 OR"
	    " COALESCE(c.webhook_uri, '') = '' OR"
	    " e.seq <= COALESCE(w.last_seq, 0))::int FROM"
	    " (SELECT seq, customer_id, tm_create FROM events WHERE seq >= $2"
	    " ORDER BY seq LIMIT $3) AS e"
	    " LEFT JOIN customers c ON c.id = e.customer_id"
	    " LEFT JOIN webhook_cursors w ON w.customer_id = e.customer_id"
	    " ORDER BY e.seq",
	    NULL, NULL);
	e |= set(s, PG_EV_DEL, "DELETE FROM events WHERE seq = $1", NULL, NULL);
	e |= set(s, PG_PROBE,
	         "INSERT INTO store_probe (id, tm) VALUES (1, $1) ON CONFLICT"
	         " (id) DO UPDATE SET tm = EXCLUDED.tm",
	         NULL, NULL);

	/* the cluster */
	e |= set(s, PG_NODE_BEAT,
	         "INSERT INTO nodes (name, api_url, sip_uri, load, heartbeat,"
	         " tm_start, status, reaped_by) VALUES ($1, $2, $3, $4, $5, $6,"
	         " 'alive', '') ON CONFLICT (name) DO UPDATE SET api_url ="
	         " EXCLUDED.api_url, sip_uri = EXCLUDED.sip_uri, load ="
	         " EXCLUDED.load, heartbeat = EXCLUDED.heartbeat, tm_start ="
	         " EXCLUDED.tm_start, status = 'alive', reaped_by = ''",
	         NULL, NULL);
	ch_pg_sql_cols(&ch_pg_nodes, c, sizeof(c));
	e |=
	    set(s, PG_NODE_LIST, "SELECT %s FROM nodes ORDER BY name", c, NULL);
	e |= set(s, PG_NODE_REAP,
	         "UPDATE nodes SET status = 'dead', reaped_by = $2 WHERE name ="
	         " $1 AND status = 'alive' AND heartbeat < $3",
	         NULL, NULL);
	e |= set(s, PG_OWNER_SET,
	         "INSERT INTO owners (id, node) VALUES ($1, $2) ON CONFLICT"
	         " (id) DO UPDATE SET node ="
	         " EXCLUDED.node",
	         NULL, NULL);
	e |= set(s, PG_OWNER_GET, "SELECT node FROM owners WHERE id = $1", NULL,
	         NULL);
	e |=
	    set(s, PG_LEASE_TAKE,
	        "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $4)"
	        " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,"
	        " expires = EXCLUDED.expires WHERE leases.holder ="
	        " EXCLUDED.holder OR leases.expires < $3::bigint"
	        " RETURNING holder",
	        NULL, NULL);
	return e ? ENOMEM : 0;
}
