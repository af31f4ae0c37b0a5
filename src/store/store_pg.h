/*
 * store_pg.h: private to the PostgreSQL store (store_pg*.c): the store's
 * struct, the column tables that map a record to its row, and the
 * statement helpers the table files share.
 *
 * A record's columns are described once (struct ch_pg_col): the same
 * table builds the INSERT, the UPDATE by id and the SELECT list, binds
 * the record as text parameters and reads a result row back into it.
 */
#ifndef CH_STORE_PG_H
#define CH_STORE_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/records.h"
#include "store/store.h"

/* How a column is held in its record. */
enum ch_pg_kind {
	CH_PG_FIX,  /* char[size] */
	CH_PG_STR,  /* char *, owned; dflt when NULL */
	CH_PG_I64,  /* int64_t */
	CH_PG_INT,  /* int */
	CH_PG_U32,  /* uint32_t */
	CH_PG_BOOL, /* bool, stored 0/1 */
	CH_PG_CONF_TYPE,
	CH_PG_CONF_STATUS,
	CH_PG_CC_STATUS,
	CH_PG_CALL_STATUS,
};

struct ch_pg_col {
	const char *name;
	enum ch_pg_kind kind;
	size_t off;
	size_t size;      /* CH_PG_FIX: the array's size */
	const char *dflt; /* CH_PG_STR: bound when the field is NULL */
};

/* One table: its columns (the first is the key the UPDATE uses), the
 * record's size, and its clear function (frees CH_PG_STR fields). */
struct ch_pg_table {
	const char *name;
	const struct ch_pg_col *cols;
	int ncols;
	size_t size;
	void (*clear)(void *rec);
};

#define CH_PG_MAX_PARAMS 32
#define CH_PG_NUM_LEN    24

/* Text parameters of one statement; numbers are printed into num. */
struct ch_pg_params {
	const char *v[CH_PG_MAX_PARAMS];
	char num[CH_PG_MAX_PARAMS][CH_PG_NUM_LEN];
	int n;
};

void ch_pg_params_text(struct ch_pg_params *p, const char *v);
void ch_pg_params_i64(struct ch_pg_params *p, int64_t v);
/* Every column of rec, in table order. */
void ch_pg_params_rec(struct ch_pg_params *p, const struct ch_pg_table *t,
                      const void *rec);
/* Row `row` of r (columns in table order from column 0) into rec, zeroed
 * first. Returns 0 or ENOMEM (rec is then cleared). */
int ch_pg_read_rec(const struct ch_pg_table *t, const PGresult *r, int row,
                   void *rec);
/* The column list, INSERT, UPDATE-by-first-column and the "col = EXCLUDED.col"
 * list of t, into buf; return buf. */
const char *ch_pg_sql_cols(const struct ch_pg_table *t, char *buf, size_t size);
const char *ch_pg_sql_insert(const struct ch_pg_table *t, char *buf,
                             size_t size);
const char *ch_pg_sql_update(const struct ch_pg_table *t, char *buf,
                             size_t size);
const char *ch_pg_sql_excluded(const struct ch_pg_table *t, char *buf,
                               size_t size);
int64_t ch_pg_i64(const PGresult *r, int row, int col);

extern const struct ch_pg_table ch_pg_customers, ch_pg_conferences,
    ch_pg_conferencecalls, ch_pg_calls, ch_pg_recordings, ch_pg_transcribes,
    ch_pg_transcripts, ch_pg_summaries, ch_pg_nodes;

/* The statements, prepared on first use on each connection. */
enum ch_pg_stmt {
	PG_CUST_INS,
	PG_CUST_BY_TOKEN,
	PG_CUST_BY_ID,
	PG_CUST_LIST,
	PG_CUST_SET_TOKEN,
	PG_DATA_VERSION,
	PG_CONF_INS,
	PG_CONF_UPD,
	PG_CONF_GET,
	PG_CONF_LIST,
	PG_CONF_LIVE,
	PG_CC_INS,
	PG_CC_UPD,
	PG_CC_GET,
	PG_CC_LIST,
	PG_CC_LIST_CONF,
	PG_CC_PRESENT,
	PG_CC_PRESENT_ALL,
	PG_CALL_INS,
	PG_CALL_UPD,
	PG_CALL_GET,
	PG_CALL_LIST,
	PG_CALL_LIVE,
	PG_REC_INS,
	PG_REC_UPD,
	PG_REC_GET,
	PG_REC_LIST,
	PG_REC_LIST_REF,
	PG_REC_ACTIVE,
	PG_TRS_INS,
	PG_TRS_UPD,
	PG_TRS_GET,
	PG_TRS_LIST,
	PG_TRS_LIST_REF,
	PG_TRS_ACTIVE,
	PG_TRT_INS,
	PG_TRT_LIST,
	PG_SUM_GET,
	PG_SUM_PUT,
	PG_EV_INS,
	PG_EV_AFTER,
	PG_CUR_GET,
	PG_CUR_SET,
	PG_EV_PRUNE_SCAN,
	PG_EV_DEL,
	PG_PROBE,
	PG_NODE_BEAT,
	PG_NODE_LIST,
	PG_NODE_REAP,
	PG_OWNER_SET,
	PG_OWNER_GET,
	PG_LEASE_TAKE,
	PG_STMT_COUNT
};

/* The PostgreSQL store: one connection, which statements it has
 * prepared, the statements' text, and the last storage failure. Made by
 * ch_store_open_pg; owned by the control thread (or by one `chorusd
 * customer` process). */
struct ch_store_pg {
	struct ch_store base; /* must be first */
	PGconn *conn;
	char *conninfo; /* owned, for reconnecting */
	bool prepared[PG_STMT_COUNT];
	char *sql[PG_STMT_COUNT]; /* owned */
	int fault; /* errno of the last storage failure, 0 = none */
	char fault_why[200];
	uint64_t probe_ms; /* last reconnect or probe (monotonic) */
};

/* store_pg_schema.c: brings the schema to the newest version under an
 * advisory lock (nodes may start together). Returns 0 or EIO (logged). */
int ch_store_pg_migrate(PGconn *conn);
/* store_pg_tables.c: fills s->sql. Returns 0 or ENOMEM. */
int ch_store_pg_sql_init(struct ch_store_pg *s);

/* store_pg.c: runs statement id with p (NULL: none). Returns the result
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK; the caller PQclear()s it), or NULL
 * after logging what failed and recording a storage fault. */
PGresult *ch_store_pg_run(struct ch_store_pg *s, enum ch_pg_stmt id,
                          const struct ch_pg_params *p, const char *what);
/* Runs id and expects no rows: 0, ENOENT when check_rows and no row was
 * changed, or EIO. */
int ch_store_pg_done(struct ch_store_pg *s, enum ch_pg_stmt id,
                     const struct ch_pg_params *p, bool check_rows,
                     const char *what);
/* Runs id and reads its first row into rec (table t): 0, ENOENT, ENOMEM
 * or EIO. */
int ch_store_pg_one(struct ch_store_pg *s, enum ch_pg_stmt id,
                    const struct ch_pg_params *p, const struct ch_pg_table *t,
                    void *rec, const char *what);
/* Runs id and calls h(rec, arg) for each row read into a record of t
 * (cleared after each call) until h returns non-zero. */
typedef int(ch_store_pg_row_h)(const void *rec, void *arg);
int ch_store_pg_each(struct ch_store_pg *s, enum ch_pg_stmt id,
                     const struct ch_pg_params *p, const struct ch_pg_table *t,
                     ch_store_pg_row_h *h, void *arg, const char *what);

#endif
