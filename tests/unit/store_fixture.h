/*
 * store_fixture.h: the test fixture shared by the store tests
 * (test_store*.c, test_events_prune.c; header only): each test gets a
 * fresh store, removed afterwards: by default SQLite in its own mkdtemp
 * folder; with CHORUS_TEST_PG set (the postgresql:// URI of a test
 * server's "postgres" database, tests/tools/pg_server.sh) a new database
 * of that server, so the same tests run on both backends
 * (unit.test_store*.pg under ctest).
 */
#ifndef CH_TEST_STORE_FIXTURE_H
#define CH_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/token.h"

#include "tmpdir.h"

struct fix {
	char dir[CH_TEST_DIR_MAX];
	struct ch_store *st;
	char url[512]; /* PostgreSQL: this test's database; "" SQLite */
	char db[64];
};

/* The test server's URI, or NULL: the tests run on SQLite. */
static inline const char *fix_pg(void)
{
	const char *u = getenv("CHORUS_TEST_PG");
	return u && *u ? u : NULL;
}

/* Runs sql on the test server's "postgres" database. */
static inline int fix_pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(fix_pg());
	int ok = PQstatus(c) == CONNECTION_OK;
	if (ok) {
		PGresult *r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
	} else {
		fprintf(stderr, "test PostgreSQL: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return ok ? 0 : -1;
}

/* Opens (another connection to) the test's store. */
static inline int fix_open(struct fix *f, struct ch_store **stp)
{
	if (!f->url[0])
		return ch_store_open_sqlite(stp, f->dir);
	return ch_store_open_pg(stp, f->url);
}

/* Makes the test's store: a folder, and under PostgreSQL a database. */
static inline int fix_make(struct fix *f, const char *prefix)
{
	static unsigned n;
	const char *pg = fix_pg(), *q;
	ch_test_tmpdir(f->dir, prefix);
	if (!pg)
		return 0;
	snprintf(f->db, sizeof(f->db), "chtest_%d_%u", (int)getpid(), ++n);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->db);
	if (fix_pg_admin(sql))
		return -1;
	/* postgresql:///postgres?host=... -> postgresql:///<db>?host=... */
	q = strchr(pg, '?');
	snprintf(f->url, sizeof(f->url), "postgresql:///%s%s", f->db,
	         q ? q : "");
	return 0;
}

static inline void fix_unmake(struct fix *f)
{
	if (f->db[0]) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)",
		         f->db);
		(void)fix_pg_admin(sql);
	}
	ch_test_rmtree(f->dir);
}

static inline int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (fix_make(f, "ch-store") || fix_open(f, &f->st)) {
		fix_unmake(f);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fix *f = *state;
	ch_store_close(f->st);
	fix_unmake(f);
	free(f);
	return 0;
}

/* Runs the group; under PostgreSQL without the tests named in
 * sqlite_only (NULL-terminated), which test SQLite's own files. */
static inline int fix_run(const char *group, const struct CMUnitTest *tests,
                          size_t n, const char *const *sqlite_only,
                          CMFixtureFunction gsetup, CMFixtureFunction gteardown)
{
	struct CMUnitTest *run = calloc(n ? n : 1, sizeof(*run));
	size_t k = 0;
	int rc;
	for (size_t i = 0; i < n; i++) {
		bool skip = false;
		for (size_t j = 0; fix_pg() && sqlite_only && sqlite_only[j];
		     j++)
			skip |= !strcmp(tests[i].name, sqlite_only[j]);
		if (!skip)
			run[k++] = tests[i];
	}
	rc = _cmocka_run_group_tests(group, run, k, gsetup, gteardown);
	free(run);
	return rc;
}
#define FIX_RUN(tests, sqlite_only, gs, gt)                                    \
	fix_run(fix_pg() ? "postgresql" : "sqlite", tests,                     \
	        sizeof(tests) / sizeof(tests[0]), sqlite_only, gs, gt)

/* The customer whose token is token (the store knows only its hash). */
static inline int by_token(struct ch_store *st, const char *token,
                           struct ch_customer *out)
{
	char hash[CH_TOKEN_HASH_LEN];
	ch_token_hash(token, hash);
	return st->ops->customer_by_token_hash(st, hash, out);
}

/* Runs sql on the database with a connection of its own. */
static inline void raw_sql(const char *dir, const char *sql)
{
	char path[CH_TEST_DIR_MAX + 32];
	sqlite3 *db;
	char *msg = NULL;
	snprintf(path, sizeof(path), "%s/chorus.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

#endif
