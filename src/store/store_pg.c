/*
 * store_pg.c: the PostgreSQL backend of the store interface (store.h),
 * through libpq: the connection, transactions, the statement helpers and
 * the operations. The column tables and the statements' text are in
 * store_pg_tables.c, the schema in store_pg_schema.c.
 *
 * Every statement is prepared once per connection (on first use) and run
 * with text parameters. Several chorusd nodes may share one database: the
 * outbox stays in commit order per customer because an event append takes
 * the customer's transaction-scoped advisory lock before its seq is drawn
 * (see PG_EV_INS), so a webhook cursor never passes an event that commits
 * later with a lower seq.
 *
 * A lost connection is a storage fault (health() reports it); the store
 * reconnects at most once a second, from health() or the next begin().
 *
 * Threading: owned by the control thread (see store.h).
 */
#include "store/store_pg.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ch_store_pg *self(struct ch_store *st)
{
	return (struct ch_store_pg *)st;
}

/* ---- parameters and rows ---- */

void ch_pg_params_text(struct ch_pg_params *p, const char *v)
{
	if (p->n < CH_PG_MAX_PARAMS)
		p->v[p->n++] = v ? v : "";
}

void ch_pg_params_i64(struct ch_pg_params *p, int64_t v)
{
	if (p->n >= CH_PG_MAX_PARAMS)
		return;
	snprintf(p->num[p->n], CH_PG_NUM_LEN, "%" PRId64, v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

int64_t ch_pg_i64(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- errors and the connection ---- */

/* The errno of a failed result that means the storage failed, 0 for
 * the others (constraint, syntax): SQLSTATE classes 08 (connection),
 * 53 (resources), 57 (shutdown), 58 (I/O), XX (corruption), and 25006
 * (read-only transaction). */
static int fault_of(const struct ch_store_pg *s, const PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (PQstatus(s->conn) != CONNECTION_OK || !st)
		return EIO;
	if (!strcmp(st, "53100"))
		return ENOSPC;
	if (!strcmp(st, "25006"))
		return EROFS;
	if (!strncmp(st, "XX", 2))
		return EBADMSG;
	if (!strncmp(st, "08", 2) || !strncmp(st, "53", 2) ||
	    !strncmp(st, "57", 2) || !strncmp(st, "58", 2))
		return EIO;
	return 0;
}

static void fail(struct ch_store_pg *s, const PGresult *r, const char *what)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
	char line[200];
	size_t n;
	snprintf(line, sizeof(line), "%s", msg && *msg ? msg : "unknown error");
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	ch_log_error("store", "%s: %s", what, line);
	int fault = fault_of(s, r);
	if (fault) {
		s->fault = fault;
		snprintf(s->fault_why, sizeof(s->fault_why), "%.60s: %.130s",
		         what, line);
	}
}

static int session(struct ch_store_pg *s);

/* Reconnects a broken connection, at most once a second. */
static void reconnect(struct ch_store_pg *s)
{
	uint64_t now = ch_time_mono_ms();
	if (PQstatus(s->conn) == CONNECTION_OK ||
	    (s->probe_ms && now - s->probe_ms < 1000))
		return;
	s->probe_ms = now;
	PQreset(s->conn);
	memset(s->prepared, 0, sizeof(s->prepared));
	if (PQstatus(s->conn) == CONNECTION_OK && !session(s))
		ch_log_info("store", "reconnected to PostgreSQL");
}

PGresult *ch_store_pg_run(struct ch_store_pg *s, enum ch_pg_stmt id,
                          const struct ch_pg_params *p, const char *what)
{
	PGresult *r;
	char name[16];
	snprintf(name, sizeof(name), "s%d", (int)id);
	if (!s->prepared[id]) {
		r = PQprepare(s->conn, name, s->sql[id], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fail(s, r, what);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		s->prepared[id] = true;
	}
	r = PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL,
	                   NULL, 0);
	ExecStatusType rs = PQresultStatus(r);
	if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
		fail(s, r, what);
		PQclear(r);
		return NULL;
	}
	return r;
}

int ch_store_pg_done(struct ch_store_pg *s, enum ch_pg_stmt id,
                     const struct ch_pg_params *p, bool check_rows,
                     const char *what)
{
	PGresult *r = ch_store_pg_run(s, id, p, what);
	int err = 0;
	if (!r)
		return EIO;
	if (check_rows && !strcmp(PQcmdTuples(r), "0"))
		err = ENOENT;
	PQclear(r);
	return err;
}

int ch_store_pg_one(struct ch_store_pg *s, enum ch_pg_stmt id,
                    const struct ch_pg_params *p, const struct ch_pg_table *t,
                    void *rec, const char *what)
{
	PGresult *r = ch_store_pg_run(s, id, p, what);
	int err;
	if (!r)
		return EIO;
	err = PQntuples(r) ? ch_pg_read_rec(t, r, 0, rec) : ENOENT;
	PQclear(r);
	return err;
}

int ch_store_pg_each(struct ch_store_pg *s, enum ch_pg_stmt id,
                     const struct ch_pg_params *p, const struct ch_pg_table *t,
                     ch_store_pg_row_h *h, void *arg, const char *what)
{
	PGresult *r = ch_store_pg_run(s, id, p, what);
	void *rec;
	int err = 0, n;
	if (!r)
		return EIO;
	rec = malloc(t->size);
	if (!rec) {
		PQclear(r);
		return ENOMEM;
	}
	n = PQntuples(r);
	for (int i = 0; i < n && !err; i++) {
		err = ch_pg_read_rec(t, r, i, rec);
		if (err)
			break;
		int stop = h(rec, arg);
		if (t->clear)
			t->clear(rec);
		if (stop)
			break;
	}
	free(rec);
	PQclear(r);
	return err;
}

/* A statement that is not one of the prepared ones (BEGIN, COMMIT). */
static int simple(struct ch_store_pg *s, const char *sql, const char *tag)
{
	PGresult *r = PQexec(s->conn, sql);
	int err = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fail(s, r, sql);
		err = EIO;
	} else if (tag && strcmp(PQcmdStatus(r), tag)) {
		/* COMMIT of a transaction a statement failed in answers
		 * ROLLBACK, without an error */
		ch_log_error("store", "%s: the transaction was rolled back",
		             sql);
		err = EIO;
	}
	PQclear(r);
	return err;
}

/* ---- transactions ---- */

/* Whether a transaction is open on the connection (libpq knows; a broken
 * connection has none). */
static bool in_tx(const struct ch_store_pg *s)
{
	PGTransactionStatusType t = PQtransactionStatus(s->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	       t == PQTRANS_ACTIVE;
}

static int pg_begin(struct ch_store *st)
{
	struct ch_store_pg *s = self(st);
	if (in_tx(s)) {
		ch_log_error("store", "begin: a transaction is open already");
		return EIO;
	}
	reconnect(s);
	return simple(s, "BEGIN", NULL);
}

static int pg_commit(struct ch_store *st)
{
	struct ch_store_pg *s = self(st);
	if (!in_tx(s)) {
		ch_log_error("store", "commit: no transaction is open");
		return EIO;
	}
	int err = simple(s, "COMMIT", "COMMIT");
	if (!err)
		s->fault = 0;
	return err;
}

static void pg_rollback(struct ch_store *st)
{
	struct ch_store_pg *s = self(st);
	if (in_tx(s))
		(void)simple(s, "ROLLBACK", NULL);
}

/* ---- the row callbacks of store.h, through ch_store_pg_each ---- */

#define EACH(name, type, handler)                                              \
	struct name##_ctx {                                                    \
		handler *h;                                                    \
		void *arg;                                                     \
	};                                                                     \
	static int name##_row(const void *rec, void *arg)                      \
	{                                                                      \
		struct name##_ctx *c = arg;                                    \
		return c->h((const type *)rec, c->arg);                        \
	}                                                                      \
	static int name##_each(struct ch_store_pg *s, enum ch_pg_stmt id,      \
	                       const struct ch_pg_params *p,                   \
	                       const struct ch_pg_table *t, handler *h,        \
	                       void *arg, const char *what)                    \
	{                                                                      \
		struct name##_ctx c = {h, arg};                                \
		return ch_store_pg_each(s, id, p, t, name##_row, &c, what);    \
	}

EACH(cust, struct ch_customer, ch_store_customer_h)
EACH(conf, struct ch_conference, ch_store_conference_h)
EACH(cc, struct ch_conferencecall, ch_store_conferencecall_h)
EACH(call, struct ch_call, ch_store_call_h)
EACH(rec, struct ch_recording, ch_store_recording_h)
EACH(trs, struct ch_transcribe, ch_store_transcribe_h)
EACH(trt, struct ch_transcript, ch_store_transcript_h)
EACH(node, struct ch_node, ch_store_node_h)

/* An insert or update of a whole record. */
static int put(struct ch_store *st, enum ch_pg_stmt id,
               const struct ch_pg_table *t, const void *rec, bool update,
               const char *what)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_rec(&p, t, rec);
	return ch_store_pg_done(self(st), id, &p, update, what);
}

/* A lookup by id, and customer_id unless NULL. Always by the primary key:
 * the customer is compared here, not in SQL. (A prepared "id = $1 AND
 * customer_id = $2" got a generic plan that walked the customer's index,
 * every conference of the customer per lookup: 1,276 rows a PUT.) out is
 * untouched unless the row is found and the customer's. */
static int get(struct ch_store *st, enum ch_pg_stmt by_id,
               const struct ch_pg_table *t, const char *id,
               const char *customer_id, void *out)
{
	struct ch_pg_params p = {.n = 0};
	void *rec;
	int err;
	ch_pg_params_text(&p, id);
	if (!customer_id)
		return ch_store_pg_one(self(st), by_id, &p, t, out, t->name);
	rec = malloc(t->size);
	if (!rec)
		return ENOMEM;
	err = ch_store_pg_one(self(st), by_id, &p, t, rec, t->name);
	if (!err) {
		const struct ch_pg_col *c = NULL;
		for (int i = 0; i < t->ncols && !c; i++)
			if (!strcmp(t->cols[i].name, "customer_id"))
				c = &t->cols[i];
		if (c && !strcmp((const char *)rec + c->off, customer_id)) {
			memcpy(out, rec, t->size);
		} else {
			if (t->clear)
				t->clear(rec);
			err = ENOENT;
		}
	}
	free(rec);
	return err;
}

/* Paging parameters: customer_id, before_us, limit, then extra. */
static void page(struct ch_pg_params *p, const char *customer_id,
                 int64_t before_us, unsigned limit, const char *extra)
{
	ch_pg_params_text(p, customer_id);
	ch_pg_params_i64(p, before_us);
	ch_pg_params_i64(p, limit);
	if (extra)
		ch_pg_params_text(p, extra);
}

/* ---- customers ---- */

static int pg_customer_insert(struct ch_store *st, const struct ch_customer *c)
{
	return put(st, PG_CUST_INS, &ch_pg_customers, c, false,
	           "customer insert");
}

/* The index finds the row; the match is then confirmed in constant time. */
static int pg_customer_by_token_hash(struct ch_store *st, const char *hash,
                                     struct ch_customer *out)
{
	struct ch_customer c;
	int err = get(st, PG_CUST_BY_TOKEN, &ch_pg_customers, hash, NULL, &c);
	if (err)
		return err;
	if (!ch_token_hash_equal(c.token_hash, hash))
		return ENOENT;
	*out = c;
	return 0;
}

static int pg_customer_set_token_hash(struct ch_store *st, const char *id,
                                      const char *hash)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, hash);
	ch_pg_params_text(&p, id);
	return ch_store_pg_done(self(st), PG_CUST_SET_TOKEN, &p, true,
	                        "customer token");
}

static int pg_customer_by_id(struct ch_store *st, const char *id,
                             struct ch_customer *out)
{
	return get(st, PG_CUST_BY_ID, &ch_pg_customers, id, NULL, out);
}

static int pg_customer_list(struct ch_store *st, ch_store_customer_h *h,
                            void *arg)
{
	return cust_each(self(st), PG_CUST_LIST, NULL, &ch_pg_customers, h, arg,
	                 "customer list");
}

/* The newest change to customers made by another session (a trigger
 * records each change with its session, set at connect). */
static int pg_data_version(struct ch_store *st, int64_t *version)
{
	struct ch_store_pg *s = self(st);
	PGresult *r = ch_store_pg_run(s, PG_DATA_VERSION, NULL, "data version");
	if (!r)
		return EIO;
	*version = PQntuples(r) ? ch_pg_i64(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

/* ---- conferences, participants, calls ---- */

static int pg_conference_insert(struct ch_store *st,
                                const struct ch_conference *c)
{
	return put(st, PG_CONF_INS, &ch_pg_conferences, c, false,
	           "conference insert");
}

static int pg_conference_update(struct ch_store *st,
                                const struct ch_conference *c)
{
	return put(st, PG_CONF_UPD, &ch_pg_conferences, c, true,
	           "conference update");
}

static int pg_conference_get(struct ch_store *st, const char *id,
                             const char *customer_id, struct ch_conference *out)
{
	return get(st, PG_CONF_GET, &ch_pg_conferences, id, customer_id, out);
}

static int pg_conference_list(struct ch_store *st, const char *customer_id,
                              int64_t before_us, unsigned limit,
                              ch_store_conference_h *h, void *arg)
{
	struct ch_pg_params p = {.n = 0};
	page(&p, customer_id, before_us, limit, NULL);
	return conf_each(self(st), PG_CONF_LIST, &p, &ch_pg_conferences, h, arg,
	                 "conference list");
}

static int pg_conference_list_live(struct ch_store *st,
                                   ch_store_conference_h *h, void *arg)
{
	return conf_each(self(st), PG_CONF_LIVE, NULL, &ch_pg_conferences, h,
	                 arg, "conference list");
}

static int pg_cc_insert(struct ch_store *st, const struct ch_conferencecall *cc)
{
	return put(st, PG_CC_INS, &ch_pg_conferencecalls, cc, false,
	           "conferencecall insert");
}

static int pg_cc_update(struct ch_store *st, const struct ch_conferencecall *cc)
{
	return put(st, PG_CC_UPD, &ch_pg_conferencecalls, cc, true,
	           "conferencecall update");
}

static int pg_cc_get(struct ch_store *st, const char *id,
                     const char *customer_id, struct ch_conferencecall *out)
{
	return get(st, PG_CC_GET, &ch_pg_conferencecalls, id, customer_id, out);
}

static int pg_cc_list(struct ch_store *st, const char *customer_id,
                      const char *conference_id, int64_t before_us,
                      unsigned limit, ch_store_conferencecall_h *h, void *arg)
{
	struct ch_pg_params p = {.n = 0};
	page(&p, customer_id, before_us, limit, conference_id);
	return cc_each(self(st), conference_id ? PG_CC_LIST_CONF : PG_CC_LIST,
	               &p, &ch_pg_conferencecalls, h, arg,
	               "conferencecall list");
}

static int pg_cc_list_present(struct ch_store *st, const char *conference_id,
                              ch_store_conferencecall_h *h, void *arg)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, conference_id);
	return cc_each(self(st), PG_CC_PRESENT, &p, &ch_pg_conferencecalls, h,
	               arg, "conferencecall list");
}

static int pg_cc_list_present_all(struct ch_store *st,
                                  ch_store_conferencecall_h *h, void *arg)
{
	return cc_each(self(st), PG_CC_PRESENT_ALL, NULL,
	               &ch_pg_conferencecalls, h, arg, "conferencecall list");
}

static int pg_call_insert(struct ch_store *st, const struct ch_call *c)
{
	return put(st, PG_CALL_INS, &ch_pg_calls, c, false, "call insert");
}

static int pg_call_update(struct ch_store *st, const struct ch_call *c)
{
	return put(st, PG_CALL_UPD, &ch_pg_calls, c, true, "call update");
}

static int pg_call_get(struct ch_store *st, const char *id,
                       const char *customer_id, struct ch_call *out)
{
	return get(st, PG_CALL_GET, &ch_pg_calls, id, customer_id, out);
}

static int pg_call_list(struct ch_store *st, const char *customer_id,
                        int64_t before_us, unsigned limit, ch_store_call_h *h,
                        void *arg)
{
	struct ch_pg_params p = {.n = 0};
	page(&p, customer_id, before_us, limit, NULL);
	return call_each(self(st), PG_CALL_LIST, &p, &ch_pg_calls, h, arg,
	                 "call list");
}

static int pg_call_list_live(struct ch_store *st, ch_store_call_h *h, void *arg)
{
	return call_each(self(st), PG_CALL_LIVE, NULL, &ch_pg_calls, h, arg,
	                 "call list");
}

/* ---- recordings, transcriptions, summaries ---- */

static int pg_rec_insert(struct ch_store *st, const struct ch_recording *r)
{
	return put(st, PG_REC_INS, &ch_pg_recordings, r, false,
	           "recording insert");
}

static int pg_rec_update(struct ch_store *st, const struct ch_recording *r)
{
	return put(st, PG_REC_UPD, &ch_pg_recordings, r, true,
	           "recording update");
}

static int pg_rec_get(struct ch_store *st, const char *id,
                      struct ch_recording *out)
{
	return get(st, PG_REC_GET, &ch_pg_recordings, id, NULL, out);
}

static int pg_rec_list(struct ch_store *st, const char *customer_id,
                       const char *reference_id, int64_t before_us,
                       unsigned limit, ch_store_recording_h *h, void *arg)
{
	struct ch_pg_params p = {.n = 0};
	page(&p, customer_id, before_us, limit, reference_id);
	return rec_each(self(st), reference_id ? PG_REC_LIST_REF : PG_REC_LIST,
	                &p, &ch_pg_recordings, h, arg, "recording list");
}

static int pg_rec_list_active(struct ch_store *st, ch_store_recording_h *h,
                              void *arg)
{
	return rec_each(self(st), PG_REC_ACTIVE, NULL, &ch_pg_recordings, h,
	                arg, "recording list");
}

static int pg_trs_insert(struct ch_store *st, const struct ch_transcribe *t)
{
	return put(st, PG_TRS_INS, &ch_pg_transcribes, t, false,
	           "transcribe insert");
}

static int pg_trs_update(struct ch_store *st, const struct ch_transcribe *t)
{
	return put(st, PG_TRS_UPD, &ch_pg_transcribes, t, true,
	           "transcribe update");
}

static int pg_trs_get(struct ch_store *st, const char *id,
                      struct ch_transcribe *out)
{
	return get(st, PG_TRS_GET, &ch_pg_transcribes, id, NULL, out);
}

static int pg_trs_list(struct ch_store *st, const char *customer_id,
                       const char *reference_id, int64_t before_us,
                       unsigned limit, ch_store_transcribe_h *h, void *arg)
{
	struct ch_pg_params p = {.n = 0};
	page(&p, customer_id, before_us, limit, reference_id);
	return trs_each(self(st), reference_id ? PG_TRS_LIST_REF : PG_TRS_LIST,
	                &p, &ch_pg_transcribes, h, arg, "transcribe list");
}

static int pg_trs_list_active(struct ch_store *st, ch_store_transcribe_h *h,
                              void *arg)
{
	return trs_each(self(st), PG_TRS_ACTIVE, NULL, &ch_pg_transcribes, h,
	                arg, "transcribe list");
}

static int pg_trt_insert(struct ch_store *st, const struct ch_transcript *t)
{
	return put(st, PG_TRT_INS, &ch_pg_transcripts, t, false,
	           "transcript insert");
}

static int pg_trt_list(struct ch_store *st, const char *transcribe_id,
                       int64_t after_ms, const char *after_id, unsigned limit,
                       ch_store_transcript_h *h, void *arg)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, transcribe_id);
	ch_pg_params_i64(&p, after_ms);
	ch_pg_params_text(&p, after_id);
	ch_pg_params_i64(&p, limit);
	return trt_each(self(st), PG_TRT_LIST, &p, &ch_pg_transcripts, h, arg,
	                "transcript list");
}

static int pg_summary_get(struct ch_store *st, const char *id,
                          const char *customer_id, struct ch_summary *out)
{
	return get(st, PG_SUM_GET, &ch_pg_summaries, id, customer_id, out);
}

static int pg_summary_put(struct ch_store *st, const struct ch_summary *sum)
{
	return put(st, PG_SUM_PUT, &ch_pg_summaries, sum, false, "summary put");
}

/* ---- the outbox ---- */

static int pg_event_append(struct ch_store *st, struct ch_event_rec *e)
{
	struct ch_store_pg *s = self(st);
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, e->id);
	ch_pg_params_text(&p, e->customer_id);
	ch_pg_params_text(&p, e->conference_id);
	ch_pg_params_text(&p, e->type);
	ch_pg_params_text(&p, e->payload);
	ch_pg_params_i64(&p, e->tm_create);
	PGresult *r = ch_store_pg_run(s, PG_EV_INS, &p, "event append");
	if (!r)
		return EIO;
	int err = PQntuples(r) == 1 ? 0 : EIO;
	if (!err)
		e->seq = ch_pg_i64(r, 0, 0);
	PQclear(r);
	return err;
}

static int pg_event_list_after(struct ch_store *st, const char *customer_id,
                               int64_t after_seq, unsigned limit,
                               ch_store_event_h *h, void *arg)
{
	struct ch_store_pg *s = self(st);
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, customer_id);
	ch_pg_params_i64(&p, after_seq);
	ch_pg_params_i64(&p, limit);
	PGresult *r = ch_store_pg_run(s, PG_EV_AFTER, &p, "event list");
	if (!r)
		return EIO;
	int n = PQntuples(r), err = 0;
	for (int i = 0; i < n; i++) {
		struct ch_event_rec e;
		memset(&e, 0, sizeof(e));
		e.seq = ch_pg_i64(r, i, 0);
		snprintf(e.id, sizeof(e.id), "%s", PQgetvalue(r, i, 1));
		snprintf(e.customer_id, sizeof(e.customer_id), "%s",
		         PQgetvalue(r, i, 2));
		snprintf(e.conference_id, sizeof(e.conference_id), "%s",
		         PQgetvalue(r, i, 3));
		snprintf(e.type, sizeof(e.type), "%s", PQgetvalue(r, i, 4));
		e.payload = strdup(PQgetvalue(r, i, 5));
		e.tm_create = ch_pg_i64(r, i, 6);
		if (!e.payload) {
			err = ENOMEM;
			break;
		}
		int stop = h(&e, arg);
		ch_event_rec_clear(&e);
		if (stop)
			break;
	}
	PQclear(r);
	return err;
}

static int pg_cursor_get(struct ch_store *st, const char *customer_id,
                         int64_t *last_seq)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, customer_id);
	PGresult *r = ch_store_pg_run(self(st), PG_CUR_GET, &p, "cursor get");
	if (!r)
		return EIO;
	*last_seq = PQntuples(r) ? ch_pg_i64(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

static int pg_cursor_set(struct ch_store *st, const char *customer_id,
                         int64_t last_seq)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, customer_id);
	ch_pg_params_i64(&p, last_seq);
	return ch_store_pg_done(self(st), PG_CUR_SET, &p, false, "cursor set");
}

/* One batch: the scan (oldest first from from_seq, at most limit rows,
 * stopping at the first young one) and the deletes, in one transaction. */
static int pg_event_prune(struct ch_store *st, struct ch_event_prune *p)
{
	struct ch_store_pg *s = self(st);
	struct ch_pg_params q = {.n = 0};
	PGresult *r;
	unsigned seen = 0, deleted = 0;
	bool young = false;
	int64_t last = 0;
	int err;

	p->deleted = 0;
	p->next_seq = 0;
	if (!p->limit)
		return 0;
	err = pg_begin(st);
	if (err)
		return err;
	ch_pg_params_i64(&q, p->hard_cutoff_us);
	ch_pg_params_i64(&q, p->from_seq);
	ch_pg_params_i64(&q, p->limit);
	r = ch_store_pg_run(s, PG_EV_PRUNE_SCAN, &q, "event prune scan");
	if (!r) {
		pg_rollback(st);
		return EIO;
	}
	for (int i = 0; !err && i < PQntuples(r); i++) {
		if (ch_pg_i64(r, i, 1) >= p->cutoff_us) {
			young = true;
			break;
		}
		last = ch_pg_i64(r, i, 0);
		seen++;
		if (ch_pg_i64(r, i, 2)) {
			struct ch_pg_params d = {.n = 0};
			ch_pg_params_i64(&d, last);
			err = ch_store_pg_done(s, PG_EV_DEL, &d, false,
			                       "event prune");
			deleted++;
		}
	}
	PQclear(r);
	if (!err)
		err = pg_commit(st);
	if (err) {
		pg_rollback(st);
		return err;
	}
	p->deleted = deleted;
	p->next_seq = !young && seen == p->limit ? last + 1 : 0;
	return 0;
}

/* ---- health ---- */

static int pg_health(struct ch_store *st, char *why, size_t len)
{
	struct ch_store_pg *s = self(st);
	uint64_t now = ch_time_mono_ms();

	if (PQstatus(s->conn) != CONNECTION_OK && !s->fault) {
		s->fault = EIO;
		snprintf(s->fault_why, sizeof(s->fault_why),
		         "the connection to PostgreSQL is lost");
	}
	if (s->fault && !in_tx(s) && now - s->probe_ms >= 1000) {
		struct ch_pg_params p = {.n = 0};
		reconnect(s);
		s->probe_ms = now;
		ch_pg_params_i64(&p, ch_time_now_us());
		if (PQstatus(s->conn) == CONNECTION_OK &&
		    !ch_store_pg_done(s, PG_PROBE, &p, false, "write probe")) {
			ch_log_info("store", "writes work again");
			s->fault = 0;
		}
	}
	if (s->fault)
		snprintf(why, len, "%s", s->fault_why);
	return s->fault;
}

/* ---- the cluster's tables (store.h "nodes") ---- */

static int pg_node_beat(struct ch_store *st, const struct ch_node *n)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, n->name);
	ch_pg_params_text(&p, n->api_url);
	ch_pg_params_text(&p, n->sip_uri);
	ch_pg_params_i64(&p, n->load);
	ch_pg_params_i64(&p, n->heartbeat);
	ch_pg_params_i64(&p, n->tm_start);
	return ch_store_pg_done(self(st), PG_NODE_BEAT, &p, false,
	                        "node heartbeat");
}

static int pg_node_list(struct ch_store *st, ch_store_node_h *h, void *arg)
{
	return node_each(self(st), PG_NODE_LIST, NULL, &ch_pg_nodes, h, arg,
	                 "node list");
}

static int pg_node_reap(struct ch_store *st, const char *name, const char *by,
                        int64_t cutoff_us)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, name);
	ch_pg_params_text(&p, by);
	ch_pg_params_i64(&p, cutoff_us);
	return ch_store_pg_done(self(st), PG_NODE_REAP, &p, true, "node reap");
}

static int pg_owner_set(struct ch_store *st, const char *id, const char *node)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, id);
	ch_pg_params_text(&p, node);
	return ch_store_pg_done(self(st), PG_OWNER_SET, &p, false, "owner");
}

static int pg_owner_get(struct ch_store *st, const char *id, char *node,
                        size_t size)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, id);
	PGresult *r = ch_store_pg_run(self(st), PG_OWNER_GET, &p, "owner");
	if (!r)
		return EIO;
	int err = PQntuples(r) ? 0 : ENOENT;
	if (!err)
		snprintf(node, size, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return err;
}

static int pg_lease_take(struct ch_store *st, const char *lease,
                         const char *holder, int64_t now_us, int64_t ttl_us)
{
	struct ch_pg_params p = {.n = 0};
	ch_pg_params_text(&p, lease);
	ch_pg_params_text(&p, holder);
	ch_pg_params_i64(&p, now_us);
	ch_pg_params_i64(&p, now_us + ttl_us);
	PGresult *r = ch_store_pg_run(self(st), PG_LEASE_TAKE, &p, "lease");
	if (!r)
		return EIO;
	int err = PQntuples(r) ? 0 : EBUSY;
	PQclear(r);
	return err;
}

/* ---- open / close ---- */

static void pg_close(struct ch_store *st)
{
	struct ch_store_pg *s = self(st);
	if (s->conn)
		PQfinish(s->conn);
	for (int i = 0; i < PG_STMT_COUNT; i++)
		free(s->sql[i]);
	free(s->conninfo);
	free(s);
}

static const struct ch_store_ops pg_ops = {
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .customer_insert = pg_customer_insert,
    .customer_by_token_hash = pg_customer_by_token_hash,
    .customer_set_token_hash = pg_customer_set_token_hash,
    .customer_by_id = pg_customer_by_id,
    .customer_list = pg_customer_list,
    .data_version = pg_data_version,
    .conference_insert = pg_conference_insert,
    .conference_update = pg_conference_update,
    .conference_get = pg_conference_get,
    .conference_list = pg_conference_list,
    .conference_list_live = pg_conference_list_live,
    .conferencecall_insert = pg_cc_insert,
    .conferencecall_update = pg_cc_update,
    .conferencecall_get = pg_cc_get,
    .conferencecall_list = pg_cc_list,
    .conferencecall_list_present = pg_cc_list_present,
    .conferencecall_list_present_all = pg_cc_list_present_all,
    .call_insert = pg_call_insert,
    .call_update = pg_call_update,
    .call_get = pg_call_get,
    .call_list = pg_call_list,
    .call_list_live = pg_call_list_live,
    .recording_insert = pg_rec_insert,
    .recording_update = pg_rec_update,
    .recording_get = pg_rec_get,
    .recording_list = pg_rec_list,
    .recording_list_active = pg_rec_list_active,
    .transcribe_insert = pg_trs_insert,
    .transcribe_update = pg_trs_update,
    .transcribe_get = pg_trs_get,
    .transcribe_list = pg_trs_list,
    .transcribe_list_active = pg_trs_list_active,
    .transcript_insert = pg_trt_insert,
    .transcript_list = pg_trt_list,
    .summary_get = pg_summary_get,
    .summary_put = pg_summary_put,
    .event_append = pg_event_append,
    .event_list_after = pg_event_list_after,
    .webhook_cursor_get = pg_cursor_get,
    .webhook_cursor_set = pg_cursor_set,
    .health = pg_health,
    .event_prune = pg_event_prune,
    .node_beat = pg_node_beat,
    .node_list = pg_node_list,
    .node_reap = pg_node_reap,
    .owner_set = pg_owner_set,
    .owner_get = pg_owner_get,
    .lease_take = pg_lease_take,
};

/* Names this connection's session (chorus.session), by which the
 * customers trigger tells its own changes from others'. */
static int session(struct ch_store_pg *s)
{
	char id[CH_UUID_LEN], sql[96];
	ch_uuid_new(id);
	snprintf(sql, sizeof(sql), "SET chorus.session = '%s'", id);
	return simple(s, sql, NULL);
}

/* Notices (e.g. "relation already exists, skipping") are not events. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int ch_store_open_pg(struct ch_store **stp, const char *conninfo)
{
	struct ch_store_pg *s = calloc(1, sizeof(*s));
	int err = 0;
	if (!s)
		return ENOMEM;
	s->base.ops = &pg_ops;
	s->conninfo = strdup(conninfo);
	if (!s->conninfo) {
		free(s);
		return ENOMEM;
	}
	s->conn = PQconnectdb(conninfo);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		char line[200];
		snprintf(line, sizeof(line), "%s", PQerrorMessage(s->conn));
		line[strcspn(line, "\n")] = '\0';
		ch_log_error("store", "cannot connect to PostgreSQL: %s", line);
		err = ECONNREFUSED;
		goto out;
	}
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	err = session(s);
	if (!err)
		err = ch_store_pg_migrate(s->conn);
	if (!err)
		err = ch_store_pg_sql_init(s);
	if (!err) {
		struct ch_pg_params p = {.n = 0};
		ch_pg_params_i64(&p, ch_time_now_us());
		if (ch_store_pg_done(s, PG_PROBE, &p, false, "write probe"))
			err = s->fault ? s->fault : EIO;
	}
out:
	if (err) {
		pg_close(&s->base);
		return err;
	}
	*stp = &s->base;
	return 0;
}
