/*
 * test_cli_format.c: the `chorus` client's pure helpers (tools/format.c):
 * relative times, table alignment, config file parsing, the cells of
 * `chorus top` (level bars, loss, lines cut to the screen's width).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

/* 2026-12-02 06:00:00 UTC */
static time_t base(void)
{
	time_t t;

	assert_int_equal(ch_format_parse_ts("2026-12-02 06:00:00.000000", &t),
	                 0);
	return t;
}

static void test_parse_ts(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(ch_format_parse_ts("1970-01-01 00:01:05.500000", &t),
	                 0);
	assert_int_equal((long)t, 65);
	assert_int_equal(ch_format_parse_ts("1970-01-02 00:00:00", &t), 0);
	assert_int_equal((long)t, 86400);
	assert_int_equal(ch_format_parse_ts("yesterday", &t), EINVAL);
	assert_int_equal(ch_format_parse_ts("1970-01-02 00:00:00Z", &t),
	                 EINVAL);
	assert_int_equal(ch_format_parse_ts(NULL, &t), EINVAL);
}

static void test_reltime(void **state)
{
	char buf[64];
	time_t now = base();
	static const struct {
		long ago;
		const char *want;
	} cases[] = {
	    {0, "now"},
	    {1, "1s ago"},
	    {59, "59s ago"},
	    {60, "1m ago"},
	    {3 * 60 + 5, "3m ago"},
	    {3599, "59m ago"},
	    {3600, "1h ago"},
	    {5 * 3600 + 59, "5h ago"},
	    {86400, "1d ago"},
	    {40 * 86400, "40d ago"},
	    {-240, "in 4m"},
	    {-5, "in 5s"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char ts[64];
		time_t t = now - cases[i].ago;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S.123456", &tm);
		assert_string_equal(
		    ch_format_reltime(ts, now, buf, sizeof(buf)),
		    cases[i].want);
	}
	assert_string_equal(ch_format_reltime("9999-01-01 00:00:00.000000", now,
	                                      buf, sizeof(buf)),
	                    "never");
	assert_string_equal(ch_format_reltime("garbage", now, buf, sizeof(buf)),
	                    "garbage");
	assert_string_equal(ch_format_reltime(NULL, now, buf, sizeof(buf)), "");
}

static void test_table(void **state)
{
	const char *cells[] = {
	    "ID",
	    "NAME",
	    "STATUS",
	    "abc",
	    "standup meeting",
	    "progressing",
	    "a-much-longer-id",
	    NULL,
	    "x",
	    "d",
	    "caf\xc3\xa9",
	    "", /* é: one column */
	};
	char *t;

	(void)state;
	t = ch_format_table(cells, 4, 3);
	assert_non_null(t);
	assert_string_equal(t,
	                    "ID                NAME             STATUS\n"
	                    "abc               standup meeting  progressing\n"
	                    "a-much-longer-id                   x\n"
	                    "d                 caf\xc3\xa9\n");
	free(t);
	/* one column, no padding at all */
	t = ch_format_table(cells, 2, 1);
	assert_string_equal(t, "ID\nNAME\n");
	free(t);
	t = ch_format_table(cells, 0, 3);
	assert_string_equal(t, "");
	free(t);
}

static void test_config(void **state)
{
	char *url = NULL, *token = NULL;
	int line = 0;

	(void)state;
	assert_int_equal(
	    ch_format_config_parse("# my server\n\n  url =  http://h:1/v1.0  \n"
	                           "token=abc def\r\n",
	                           &url, &token, &line),
	    0);
	assert_string_equal(url, "http://h:1/v1.0");
	assert_string_equal(token, "abc def");
	/* a later line replaces an earlier one; no final newline */
	assert_int_equal(ch_format_config_parse("token = one\ntoken = two",
	                                        &url, &token, &line),
	                 0);
	assert_string_equal(token, "two");
	assert_string_equal(url, "http://h:1/v1.0");
	free(url);
	free(token);
	url = token = NULL;
	assert_int_equal(ch_format_config_parse("url = x\nnot a setting\n",
	                                        &url, &token, &line),
	                 EINVAL);
	assert_int_equal(line, 2);
	assert_int_equal(
	    ch_format_config_parse("\n\ncolour = blue\n", &url, &token, &line),
	    EINVAL);
	assert_int_equal(line, 3);
	assert_int_equal(ch_format_config_parse("", &url, &token, &line), 0);
	free(url);
	free(token);
}

static void test_level_bar(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(ch_format_level_bar(52, 10, b, sizeof(b)),
	                    "#####.....  52");
	assert_string_equal(ch_format_level_bar(0, 4, b, sizeof(b)),
	                    "....   0");
	assert_string_equal(ch_format_level_bar(100, 4, b, sizeof(b)),
	                    "#### 100");
	/* clamped */
	assert_string_equal(ch_format_level_bar(250, 4, b, sizeof(b)),
	                    "#### 100");
	assert_string_equal(ch_format_level_bar(-3, 2, b, sizeof(b)), "..   0");
	/* too small a buffer: empty, never past its end */
	assert_string_equal(ch_format_level_bar(50, 10, b, 14), "");
	assert_string_equal(ch_format_level_bar(50, 10, b, 15),
	                    "#####.....  50");
}

static void test_loss(void **state)
{
	(void)state;
	assert_true(ch_format_loss_pct(0, 0) == 0.0);
	assert_true(ch_format_loss_pct(0, 500) == 0.0);
	assert_true(ch_format_loss_pct(1, 99) == 1.0);
	assert_true(ch_format_loss_pct(5, 0) == 100.0);
	assert_true(ch_format_loss_pct(-1, 10) == 0.0);
}

static void test_fit(void **state)
{
	char s[64];

	(void)state;
	strcpy(s, "abcdef");
	assert_int_equal(ch_format_fit(s, 6), 6);
	assert_string_equal(s, "abcdef");
	assert_int_equal(ch_format_fit(s, 10), 6);
	assert_int_equal(ch_format_fit(s, 4), 4);
	assert_string_equal(s, "abc~");
	/* UTF-8: characters, not bytes; a cut never splits one */
	strcpy(s, "h\xc3\xa9llo");
	assert_int_equal(ch_format_fit(s, 5), 6);
	assert_int_equal(ch_format_fit(s, 3), 4);
	assert_string_equal(s, "h\xc3\xa9~");
	strcpy(s, "h\xc3\xa9llo");
	assert_int_equal(ch_format_fit(s, 2), 2);
	assert_string_equal(s, "h~");
	strcpy(s, "abc");
	assert_int_equal(ch_format_fit(s, 0), 0);
	assert_string_equal(s, "");
	assert_int_equal(ch_format_fit(NULL, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ts),  cmocka_unit_test(test_reltime),
	    cmocka_unit_test(test_table),     cmocka_unit_test(test_config),
	    cmocka_unit_test(test_level_bar), cmocka_unit_test(test_loss),
	    cmocka_unit_test(test_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
