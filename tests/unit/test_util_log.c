/*
 * test_util_log.c: unit tests for src/util/log.c: the choice of the
 * journal's line style ($JOURNAL_STREAM naming stderr's device:inode, as
 * systemd sets it) or the plain one, and the lines each writes, read back
 * from a file put in place of stderr.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

#include "tmpdir.h"

static void test_journal_stream_parse(void **state)
{
	(void)state;
	assert_true(ch_log_journal_stream_is("8:12345", 8, 12345));
	assert_true(ch_log_journal_stream_is("0:1", 0, 1));
	assert_true(ch_log_journal_stream_is("18446744073709551615:7",
	                                     18446744073709551615ULL, 7));
	/* another file */
	assert_false(ch_log_journal_stream_is("8:12345", 8, 12346));
	assert_false(ch_log_journal_stream_is("9:12345", 8, 12345));
	/* malformed */
	static const char *const bad[] = {
	    "",
	    ":",
	    "8",
	    "8:",
	    ":12345",
	    "x:1",
	    "8:1x",
	    "8:-1",
	    "-8:1",
	    " 8:1",
	    "8: 1",
	    "8:1:2",
	    "8;1",
	    "0x8:1",
	    "8:+1",
	    "8:12345 ",
	    "184467440737095516160:1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (ch_log_journal_stream_is(bad[i], 8, 1) ||
		    ch_log_journal_stream_is(bad[i], 0, 1))
			fail_msg("\"%s\" taken as a journal stream", bad[i]);
	}
	assert_false(ch_log_journal_stream_is(NULL, 8, 12345));
}

/* stderr goes to a file of the test's folder while it runs */
struct capture {
	char dir[CH_TEST_DIR_MAX];
	char path[CH_TEST_DIR_MAX + 16];
	int saved; /* the real stderr */
	int fd;
};

static void capture_start(struct capture *c)
{
	ch_test_tmpdir(c->dir, "chorus-log");
	snprintf(c->path, sizeof(c->path), "%s/stderr", c->dir);
	c->fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(c->fd >= 0);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

/* Puts stderr back; the text written meanwhile into out (size n). */
static void capture_end(struct capture *c, char *out, size_t n)
{
	assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	ssize_t r = pread(c->fd, out, n - 1, 0);
	assert_true(r >= 0);
	out[r] = '\0';
	close(c->fd);
	ch_test_rmtree(c->dir);
}

/* "DEV:INO" of fd */
static void stream_of(int fd, char *out, size_t n)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(out, n, "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
}

static void log_some(void)
{
	ch_log_set_level(CH_LOG_INFO);
	ch_log_debug("test", "not shown");
	ch_log_info("test", "started on %d", 8080);
	ch_log_warn("sip", "two\nlines");
	ch_log_error("store", "broken");
	ch_log_fatal("chorusd: cannot listen\n");
}

static void test_journal_style(void **state)
{
	struct capture c;
	char env[64], text[1024];
	(void)state;

	capture_start(&c);
	stream_of(c.fd, env, sizeof(env));
	setenv("JOURNAL_STREAM", env, 1);
	bool journal = ch_log_open();
	log_some();
	capture_end(&c, text, sizeof(text));
	unsetenv("JOURNAL_STREAM");
	ch_log_open();

	assert_true(journal);
	assert_string_equal(text, "<6>INFO  [test] started on 8080\n"
	                          "<4>WARN  [sip] two lines\n"
	                          "<3>ERROR [store] broken\n"
	                          "<3>chorusd: cannot listen\n");
}

/* The plain style: "YYYY-MM-DD HH:MM:SS.uuuuuu LEVEL [module] text" */
static void assert_plain(const char *text)
{
	static const char *const want =
	    "^([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\."
	    "[0-9]{6} )INFO  \\[test\\] started on 8080\n"
	    "[0-9-]{10} [0-9:.]{15} WARN  \\[sip\\] two lines\n"
	    "[0-9-]{10} [0-9:.]{15} ERROR \\[store\\] broken\n"
	    "chorusd: cannot listen\n$";
	regex_t re;
	assert_int_equal(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
	int rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (rc)
		fail_msg("not the plain style:\n%s", text);
}

static void test_plain_style(void **state)
{
	struct capture c;
	char env[64], text[1024];
	int other;
	(void)state;

	/* no JOURNAL_STREAM: a terminal, a pipe, a file */
	unsetenv("JOURNAL_STREAM");
	capture_start(&c);
	bool journal = ch_log_open();
	log_some();
	capture_end(&c, text, sizeof(text));
	assert_false(journal);
	assert_plain(text);

	/* JOURNAL_STREAM of another file: stderr was redirected (e.g.
	 * `chorusd serve 2>file` run from a service whose stdout is the
	 * journal) */
	capture_start(&c);
	other = open(c.dir, O_RDONLY | O_DIRECTORY);
	assert_true(other >= 0);
	stream_of(other, env, sizeof(env));
	close(other);
	setenv("JOURNAL_STREAM", env, 1);
	journal = ch_log_open();
	log_some();
	capture_end(&c, text, sizeof(text));
	unsetenv("JOURNAL_STREAM");
	ch_log_open();
	assert_false(journal);
	assert_plain(text);

	/* malformed */
	capture_start(&c);
	setenv("JOURNAL_STREAM", "journal", 1);
	journal = ch_log_open();
	capture_end(&c, text, sizeof(text));
	unsetenv("JOURNAL_STREAM");
	ch_log_open();
	assert_false(journal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal_stream_parse),
	    cmocka_unit_test(test_journal_style),
	    cmocka_unit_test(test_plain_style),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
