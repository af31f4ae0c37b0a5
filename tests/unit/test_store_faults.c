/*
 * test_store_faults.c: unit tests for the checks at store open
 * (store/store_sqlite_check.c): an existing zero-byte chorus.db and an
 * SQLite file without the Chorus schema are refused (ENODATA) unless
 * CH_STORE_INIT is given, and left untouched; a corrupted page in the
 * middle of a multi-page store and a file that is not a database are
 * refused (EBADMSG); a healthy store reports healthy; every refusal has a
 * reason to print. (A store that cannot be written needs a real fault and
 * root: tests/e2e/test_store_faults.py.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "store_fixture.h"

/* A data dir of its own under the fixture's folder, and its chorus.db. */
struct paths {
	char dir[CH_TEST_DIR_MAX + 32];
	char db[CH_TEST_DIR_MAX + 64];
};

static void db_path(struct fix *f, const char *sub, struct paths *p)
{
	snprintf(p->dir, sizeof(p->dir), "%s/%s", f->dir, sub);
	assert_int_equal(mkdir(p->dir, 0750), 0);
	snprintf(p->db, sizeof(p->db), "%s/chorus.db", p->dir);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static void write_file(const char *path, const char *text, unsigned times)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	for (unsigned i = 0; i < times; i++)
		fputs(text, fp);
	fclose(fp);
}

/* Opening p gives `plain` (a refusal leaves the file as it was), then
 * with CH_STORE_INIT `with_init`. */
static void expect_open(const struct paths *p, int plain, int with_init)
{
	struct ch_store *st = NULL;
	off_t size = file_size(p->db);
	assert_int_equal(ch_store_open_sqlite(&st, p->dir), plain);
	if (!plain)
		ch_store_close(st);
	else
		assert_int_equal(file_size(p->db), size);
	assert_int_equal(ch_store_open_sqlite_flags(&st, p->dir, CH_STORE_INIT),
	                 with_init);
	if (!with_init)
		ch_store_close(st);
}

/* A chorus.db of `times` copies of text, opened as in expect_open. */
static void file_case(struct fix *f, const char *sub, const char *text,
                      unsigned times, int plain, int with_init)
{
	struct paths p;
	db_path(f, sub, &p);
	write_file(p.db, text, times);
	expect_open(&p, plain, with_init);
	/* a store made by --init needs no flag afterwards */
	if (!with_init)
		expect_open(&p, 0, 0);
}

static void test_zero_byte_needs_init(void **state)
{
	file_case(*state, "empty", "", 0, ENODATA, 0);
}

static void test_no_schema_needs_init(void **state)
{
	struct fix *f = *state;
	struct paths p;
	sqlite3 *db;

	db_path(f, "foreign", &p);
	assert_int_equal(sqlite3_open(p.db, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	expect_open(&p, ENODATA, 0);
}

/* The integer a PRAGMA answers on the database file path. */
static int pragma_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static void test_corrupt_page(void **state)
{
	struct fix *f = *state;
	struct ch_store *st = NULL;
	struct ch_event_rec e;
	struct paths p;
	char payload[600];
	int pages, psize;

	db_path(f, "corrupt", &p);
	assert_int_equal(ch_store_open_sqlite(&st, p.dir), 0);
	memset(payload, 'p', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	for (int i = 0; i < 300; i++) {
		memset(&e, 0, sizeof(e));
		ch_uuid_new(e.id);
		ch_uuid_new(e.customer_id);
		memcpy(e.conference_id, CH_UUID_NIL, CH_UUID_LEN);
		snprintf(e.type, sizeof(e.type), "test");
		e.payload = payload;
		e.tm_create = ch_time_now_us();
		assert_int_equal(st->ops->event_append(st, &e), 0);
	}
	ch_store_close(st);

	pages = pragma_int(p.db, "PRAGMA page_count");
	psize = pragma_int(p.db, "PRAGMA page_size");
	assert_true(pages >= 20);

	/* a healthy multi-page store opens */
	assert_int_equal(ch_store_open_sqlite(&st, p.dir), 0);
	ch_store_close(st);

	FILE *fp = fopen(p.db, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, (long)(pages / 2) * psize, SEEK_SET), 0);
	for (int i = 0; i < 64; i++)
		fputc(0xa5, fp);
	fclose(fp);
	assert_int_equal(ch_store_open_sqlite(&st, p.dir), EBADMSG);
}

static void test_not_a_database(void **state)
{
	/* --init does not overwrite what is not empty */
	file_case(*state, "text", "not a database at all\n", 300, EBADMSG,
	          EBADMSG);
}

static void test_health_and_reasons(void **state)
{
	struct fix *f = *state;
	char why[128] = "";
	const int errs[] = {EACCES, ENODATA, EROFS, ENOSPC, EBADMSG, EIO};

	assert_int_equal(f->st->ops->health(f->st, why, sizeof(why)), 0);
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		assert_true(strlen(ch_store_open_strerror(errs[i])) > 10);
	assert_non_null(strstr(ch_store_open_strerror(ENODATA), "--init"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_zero_byte_needs_init), T(test_no_schema_needs_init),
	    T(test_corrupt_page),         T(test_not_a_database),
	    T(test_health_and_reasons),
	};
	ch_log_set_level(CH_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
