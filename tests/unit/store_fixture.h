/*
 * store_fixture.h: the test fixture shared by the store tests
 * (test_store*.c; header only): each test gets a fresh SQLite store
 * in its own mkdtemp folder, removed afterwards.
 */
#ifndef CH_TEST_STORE_FIXTURE_H
#define CH_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "store/store.h"
#include "util/token.h"

#include "tmpdir.h"

struct fix {
	char dir[CH_TEST_DIR_MAX];
	struct ch_store *st;
};

static inline int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	ch_test_tmpdir(f->dir, "ch-store");
	if (ch_store_open_sqlite(&f->st, f->dir)) {
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
	ch_test_rmtree(f->dir);
	free(f);
	return 0;
}

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
