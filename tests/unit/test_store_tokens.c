/*
 * test_store_tokens.c: unit tests for API tokens in the store
 * (util/token.c, store/store_sqlite.c, migration 3 in
 * store/store_sqlite_schema.c).
 *
 * Covered: the token hash and its comparison; the store keeps the hash,
 * and the token appears nowhere in the database files; a schema-2
 * database (plain tokens) is migrated in place and its token still finds
 * its customer, with the plain token gone from the files; a new token
 * replaces the old one; data_version moves when another connection
 * commits (the API's token cache follows it: test_api.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

#include "store_fixture.h"

#define TOKEN "tok-9f2c61e0d4b7a8355e1c"

/* Inserts the customer "acme" whose token is TOKEN. */
static void acme(struct fix *f, struct ch_customer *c)
{
	memset(c, 0, sizeof(*c));
	ch_uuid_new(c->id);
	snprintf(c->name, sizeof(c->name), "acme");
	ch_token_hash(TOKEN, c->token_hash);
	c->tm_create = ch_time_now_us();
	assert_int_equal(f->st->ops->customer_insert(f->st, c), 0);
}

/* Whether needle occurs in dir/name (a missing file holds nothing). */
static bool file_has(const char *dir, const char *name, const char *needle)
{
	char path[CH_TEST_DIR_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	bool found = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static bool db_has(const char *dir, const char *needle)
{
	return file_has(dir, "chorus.db", needle) ||
	       file_has(dir, "chorus.db-wal", needle);
}

static void test_token_hash(void **state)
{
	char a[CH_TOKEN_HASH_LEN], b[CH_TOKEN_HASH_LEN], t[CH_TOKEN_LEN];
	(void)state;
	/* SHA-256("abc"), FIPS 180-2 */
	ch_token_hash("abc", a);
	assert_string_equal(a, "ba7816bf8f01cfea414140de5dae2223"
	                       "b00361a396177a9cb410ff61f20015ad");
	ch_token_hash("abd", b);
	assert_true(ch_token_hash_equal(a, a));
	assert_false(ch_token_hash_equal(a, b));
	assert_false(ch_token_hash_equal(a, ""));
	assert_false(ch_token_hash_equal("", ""));
	ch_token_new(t);
	assert_int_equal(strlen(t), 64);
	assert_int_equal(strspn(t, "0123456789abcdef"), 64);
}

/* The hash is stored, not the token. */
static void test_stored_hashed(void **state)
{
	struct fix *f = *state;
	struct ch_customer cust, out;

	acme(f, &cust);
	assert_int_equal(by_token(f->st, TOKEN, &out), 0);
	assert_string_equal(out.id, cust.id);
	assert_string_equal(out.token_hash, cust.token_hash);
	assert_int_equal(by_token(f->st, TOKEN "x", &out), ENOENT);
	assert_int_equal(f->st->ops->customer_by_token_hash(f->st, TOKEN, &out),
	                 ENOENT);

	ch_store_close(f->st);
	f->st = NULL;
	assert_false(db_has(f->dir, TOKEN));
	assert_true(db_has(f->dir, cust.token_hash));
	assert_int_equal(ch_store_open_sqlite(&f->st, f->dir), 0);
	assert_int_equal(by_token(f->st, TOKEN, &out), 0);
}

/* A database of schema 2 held the plain token; after the upgrade the
 * same token still authenticates, and it is gone from the files. */
static void test_migration_from_2(void **state)
{
	struct fix *f = *state;
	struct ch_customer cust, out;

	acme(f, &cust);
	ch_store_close(f->st);
	f->st = NULL;
	/* back to schema 2 as it was: column "token", plain text */
	raw_sql(f->dir,
	        "ALTER TABLE customers RENAME COLUMN token_sha256 TO token;"
	        "UPDATE customers SET token = '" TOKEN "';"
	        "DROP TABLE store_probe;"
	        "ALTER TABLE conferencecalls DROP COLUMN quality;"
	        "ALTER TABLE conferences DROP COLUMN max_sample_rate;"
	        "PRAGMA user_version = 2;");
	assert_true(db_has(f->dir, TOKEN));

	assert_int_equal(ch_store_open_sqlite(&f->st, f->dir), 0);
	assert_int_equal(by_token(f->st, TOKEN, &out), 0);
	assert_string_equal(out.id, cust.id);
	assert_string_equal(out.name, "acme");
	ch_store_close(f->st);
	f->st = NULL;
	assert_false(db_has(f->dir, TOKEN));
	assert_int_equal(ch_store_open_sqlite(&f->st, f->dir), 0);
	assert_int_equal(by_token(f->st, TOKEN, &out), 0);
}

static void test_new_token(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct ch_customer cust, out;
	char hash[CH_TOKEN_HASH_LEN];

	acme(f, &cust);
	ch_token_hash("second", hash);
	assert_int_equal(op->customer_set_token_hash(f->st, cust.id, hash), 0);
	assert_int_equal(by_token(f->st, TOKEN, &out), ENOENT);
	assert_int_equal(by_token(f->st, "second", &out), 0);
	assert_string_equal(out.id, cust.id);
	assert_int_equal(op->customer_set_token_hash(f->st, CH_UUID_NIL, hash),
	                 ENOENT);
}

/* Another connection's commit moves data_version; our own does not. */
static void test_data_version(void **state)
{
	struct fix *f = *state;
	struct ch_store *other;
	struct ch_customer cust;
	char hash[CH_TOKEN_HASH_LEN];
	int64_t v1, v2, v3;

	acme(f, &cust);
	assert_int_equal(f->st->ops->data_version(f->st, &v1), 0);
	ch_token_hash("own", hash);
	assert_int_equal(
	    f->st->ops->customer_set_token_hash(f->st, cust.id, hash), 0);
	assert_int_equal(f->st->ops->data_version(f->st, &v2), 0);
	assert_int_equal(v1, v2);
	assert_int_equal(fix_open(f, &other), 0);
	ch_token_hash("other", hash);
	assert_int_equal(
	    other->ops->customer_set_token_hash(other, cust.id, hash), 0);
	ch_store_close(other);
	assert_int_equal(f->st->ops->data_version(f->st, &v3), 0);
	assert_true(v3 != v2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_hash),
	    T(test_stored_hashed),
	    T(test_migration_from_2),
	    T(test_new_token),
	    T(test_data_version),
	};
	/* the files and migrations of SQLite */
	static const char *const sqlite_only[] = {
	    "test_stored_hashed", "test_migration_from_2", NULL};
	ch_log_set_level(CH_LOG_ERROR);
	return FIX_RUN(tests, sqlite_only, NULL, NULL);
}
