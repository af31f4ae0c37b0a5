/*
 * test_util.c: unit tests for src/util: the API timestamp format
 * (timefmt.c: format, parse, round trip, rejection of malformed text),
 * UUIDs (uuid.c) and settings (config.c: every key with good and bad
 * values, and config files with their FILE:LINE errors), and the config
 * file the install ships (packaging/chorusd.conf.in as configured).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/config.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "tmpdir.h"

/* ---- timefmt ---- */

struct tcase {
	int64_t us;
	const char *text;
};

static const struct tcase times[] = {
    {0, "1970-01-01 00:00:00.000000"},
    {1, "1970-01-01 00:00:00.000001"},
    {999999, "1970-01-01 00:00:00.999999"},
    {1000000, "1970-01-01 00:00:01.000000"},
    {INT64_C(1659805032247946), "2022-08-06 16:57:12.247946"},
    {INT64_C(1709251199999999), "2024-02-29 23:59:59.999999"},
    {INT64_C(4102444799999999), "2099-12-31 23:59:59.999999"},
    {CH_TIME_NEVER_US, CH_TIME_NEVER},
};

static void test_time_format(void **state)
{
	char buf[CH_TIME_LEN];
	(void)state;

	for (size_t i = 0; i < sizeof(times) / sizeof(*times); i++) {
		memset(buf, 'x', sizeof(buf));
		ch_time_format(times[i].us, buf);
		assert_string_equal(buf, times[i].text);
	}
	/* beyond "never", or before the epoch: "has not happened" */
	ch_time_format(CH_TIME_NEVER_US + 1, buf);
	assert_string_equal(buf, CH_TIME_NEVER);
	ch_time_format(INT64_MAX, buf);
	assert_string_equal(buf, CH_TIME_NEVER);
	ch_time_format(-1, buf);
	assert_string_equal(buf, CH_TIME_NEVER);
}

static void test_time_parse(void **state)
{
	char buf[CH_TIME_LEN];
	int64_t us, now;
	(void)state;

	for (size_t i = 0; i < sizeof(times) / sizeof(*times); i++) {
		us = -5;
		assert_int_equal(ch_time_parse(times[i].text, &us), 0);
		assert_int_equal(us, times[i].us);
	}
	/* round trip of the current time, to the microsecond */
	now = ch_time_now_us();
	ch_time_format(now, buf);
	assert_int_equal(ch_time_parse(buf, &us), 0);
	assert_int_equal(us, now);
	/* the clock is sane and monotonic time moves */
	assert_true(now > INT64_C(1600000000000000));
	assert_true(ch_time_mono_ms() > 0);
}

/* Malformed by shape: wrong length, separators or ranges. */
static void test_time_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "2022-08-06",
	    "2022-08-06 16:57:12",
	    "2022-08-06 16:57:12.24794",
	    "2022-08-06 16:57:12.2479460",
	    "2022-08-06T16:57:12.247946",
	    "2022/08/06 16:57:12.247946",
	    "2022-08-06 16:57:12,247946",
	    "2022-08-06 16:57:12 247946",
	    "2022-13-06 16:57:12.247946",
	    "2022-00-06 16:57:12.247946",
	    "2022-08-00 16:57:12.247946",
	    "2022-08-32 16:57:12.247946",
	    "2022-08-06 24:00:00.000000",
	    "2022-08-06 16:60:12.000000",
	    "2022-08-06 16:57:61.000000",
	    "abcd-08-06 16:57:12.247946",
	    "2022-08-06 16:57:12.24794x",
	    "2022-08-06 16:57:12.247946 ",
	};
	int64_t us = 42;
	(void)state;

	assert_int_equal(ch_time_parse(NULL, &us), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (ch_time_parse(bad[i], &us) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(us, 42);
}

/* Malformed inside a field: signs, blanks, negative or impossible values.
 * Whatever is accepted must be exactly what ch_time_format writes. */
static void test_time_parse_strict(void **state)
{
	static const char *const bad[] = {
	    "2022-08-06 16:57:12.+24794", "2022-08-06 16:57:12.-24794",
	    "2022-08-06 -1:57:12.247946", "2022-08-06 16:-7:12.247946",
	    "2022-08-06 16:57:-2.247946", "2022-08-06  6:57:12.247946",
	    "2022- 8-06 16:57:12.247946", "2022-+8-06 16:57:12.247946",
	    "-022-08-06 16:57:12.247946", "2022-02-31 16:57:12.247946",
	    "2023-02-29 16:57:12.247946", "2022-04-31 16:57:12.247946",
	};
	int64_t us;
	char back[CH_TIME_LEN];
	(void)state;

	unsigned accepted = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (ch_time_parse(bad[i], &us) == -1)
			continue;
		ch_time_format(us, back);
		print_error("accepted \"%s\" (it reads as \"%s\")\n", bad[i],
		            back);
		accepted++;
	}
	assert_int_equal(accepted, 0);
}

/* ---- uuid ---- */

static void test_uuid(void **state)
{
	char a[CH_UUID_LEN], b[CH_UUID_LEN], hex[129];
	(void)state;

	for (int i = 0; i < 200; i++) {
		ch_uuid_new(a);
		assert_int_equal(strlen(a), 36);
		assert_true(ch_uuid_valid(a));
		assert_int_equal(a[14], '4');
		assert_non_null(strchr("89ab", a[19]));
		for (int k = 0; k < 36; k++)
			assert_false(a[k] >= 'A' && a[k] <= 'F');
		ch_uuid_new(b);
		assert_string_not_equal(a, b);
	}

	assert_true(ch_uuid_valid(CH_UUID_NIL));
	assert_true(ch_uuid_valid("B8AA51F6-5CC1-40BA-9737-45CA24DAB153"));
	assert_false(ch_uuid_valid(NULL));
	assert_false(ch_uuid_valid(""));
	assert_false(ch_uuid_valid("b8aa51f6-5cc1-40ba-9737-45ca24dab15"));
	assert_false(ch_uuid_valid("b8aa51f6-5cc1-40ba-9737-45ca24dab1533"));
	assert_false(ch_uuid_valid("b8aa51f605cc1-40ba-9737-45ca24dab153"));
	assert_false(ch_uuid_valid("b8aa51f6-5cc1-40ba-9737-45ca24dab15g"));
	assert_false(ch_uuid_valid("b8aa51f6-5cc1-40ba-97374-5ca24dab153"));
	assert_false(ch_uuid_valid("{8aa51f6-5cc1-40ba-9737-45ca24dab153"));

	ch_uuid_random_hex(hex, 4);
	assert_int_equal(strlen(hex), 8);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 8);
	/* at most 64 bytes */
	ch_uuid_random_hex(hex, 100);
	assert_int_equal(strlen(hex), 128);
}

/* ---- config ---- */

struct kv {
	const char *key, *value;
};

static void test_config_set_good(void **state)
{
	struct ch_config c;
	char err[256] = "";
	(void)state;

	ch_config_defaults(&c);
	assert_string_equal(c.data_dir, "./data");
	assert_string_equal(c.http_host, "127.0.0.1");
	assert_int_equal(c.http_port, 8080);
	assert_int_equal(c.sip_port, 5060);
	assert_int_equal(c.rtp_lo, 20000);
	assert_int_equal(c.rtp_hi, 29999);
	assert_int_equal(c.log_level, CH_LOG_INFO);
	assert_string_equal(c.node_name, "local");
	assert_int_equal(c.webhook_timeout_ms, 10000);
	assert_int_equal(c.media_workers, 0);
	assert_int_equal(c.opus_complexity, 5);
	assert_false(c.opus_voip);
	assert_int_equal(
	    ch_config_set(&c, "opus-complexity", "0", err, sizeof(err)), 0);
	assert_int_equal(c.opus_complexity, 0);
	assert_int_equal(
	    ch_config_set(&c, "opus-complexity", "10", err, sizeof(err)), 0);
	assert_int_equal(c.opus_complexity, 10);
	assert_int_equal(
	    ch_config_set(&c, "opus-application", "voip", err, sizeof(err)), 0);
	assert_true(c.opus_voip);
	assert_int_equal(
	    ch_config_set(&c, "opus-application", "lowdelay", err, sizeof(err)),
	    0);
	assert_false(c.opus_voip);
	assert_int_equal(c.dial_timeout_s, 30);
	assert_int_equal(c.sip_ack_timeout_s, 10);
	assert_int_equal(c.sip_unconfirmed_per_ip, 20);
	assert_string_equal(c.metrics_host, "");

	assert_int_equal(
	    ch_config_set(&c, "metrics", "0.0.0.0:9464", err, sizeof(err)), 0);
	assert_string_equal(c.metrics_host, "0.0.0.0");
	assert_int_equal(c.metrics_port, 9464);
	assert_int_equal(ch_config_set(&c, "metrics", "none", err, sizeof(err)),
	                 0);
	assert_string_equal(c.metrics_host, "");
	assert_int_equal(
	    ch_config_set(&c, "data-dir", "/var/lib/chorus", err, sizeof(err)),
	    0);
	assert_string_equal(c.data_dir, "/var/lib/chorus");
	assert_int_equal(
	    ch_config_set(&c, "http", "0.0.0.0:0", err, sizeof(err)), 0);
	assert_string_equal(c.http_host, "0.0.0.0");
	assert_int_equal(c.http_port, 0);
	assert_int_equal(
	    ch_config_set(&c, "http", "[::1]:8443", err, sizeof(err)), 0);
	assert_string_equal(c.http_host, "::1");
	assert_int_equal(c.http_port, 8443);
	assert_int_equal(
	    ch_config_set(&c, "sip", "10.0.0.5:5080", err, sizeof(err)), 0);
	assert_string_equal(c.sip_host, "10.0.0.5");
	assert_int_equal(c.sip_port, 5080);
	assert_int_equal(
	    ch_config_set(&c, "rtp-ports", "1024-65535", err, sizeof(err)), 0);
	assert_int_equal(c.rtp_lo, 1024);
	assert_int_equal(c.rtp_hi, 65535);
	assert_int_equal(
	    ch_config_set(&c, "public-ip", "203.0.113.7", err, sizeof(err)), 0);
	assert_string_equal(c.public_ip, "203.0.113.7");
	assert_int_equal(
	    ch_config_set(&c, "public-ip", "2001:db8::1", err, sizeof(err)), 0);
	assert_int_equal(
	    ch_config_set(&c, "log-level", "debug", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, CH_LOG_DEBUG);
	assert_int_equal(
	    ch_config_set(&c, "log-level", "error", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, CH_LOG_ERROR);
	assert_int_equal(
	    ch_config_set(&c, "log-level", "INFO", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, CH_LOG_INFO);
	assert_int_equal(
	    ch_config_set(&c, "node-name", "eu-1", err, sizeof(err)), 0);
	assert_string_equal(c.node_name, "eu-1");
	assert_int_equal(
	    ch_config_set(&c, "webhook-timeout-ms", "100", err, sizeof(err)),
	    0);
	assert_int_equal(c.webhook_timeout_ms, 100);
	assert_int_equal(
	    ch_config_set(&c, "webhook-timeout-ms", "600000", err, sizeof(err)),
	    0);
	assert_int_equal(c.webhook_timeout_ms, 600000);
	assert_int_equal(
	    ch_config_set(&c, "media-workers", "64", err, sizeof(err)), 0);
	assert_int_equal(c.media_workers, 64);
	assert_int_equal(
	    ch_config_set(&c, "media-workers", "0", err, sizeof(err)), 0);
	assert_int_equal(c.media_workers, 0);
	assert_int_equal(
	    ch_config_set(&c, "dial-timeout", "1", err, sizeof(err)), 0);
	assert_int_equal(c.dial_timeout_s, 1);
	assert_int_equal(
	    ch_config_set(&c, "dial-timeout", "600", err, sizeof(err)), 0);
	assert_int_equal(c.dial_timeout_s, 600);
	assert_int_equal(
	    ch_config_set(&c, "sip-ack-timeout", "32", err, sizeof(err)), 0);
	assert_int_equal(c.sip_ack_timeout_s, 32);
	assert_int_equal(
	    ch_config_set(&c, "sip-unconfirmed-per-ip", "1", err, sizeof(err)),
	    0);
	assert_int_equal(c.sip_unconfirmed_per_ip, 1);
	assert_string_equal(err, "");
}

static void test_config_set_bad(void **state)
{
	char long_path[600], long_name[65];
	const struct kv bad[] = {
	    {"data-dir", ""},
	    {"data-dir", long_path},
	    {"http", "127.0.0.1"},
	    {"http", "127.0.0.1:"},
	    {"http", ":8080"},
	    {"http", "localhost:8080"},
	    {"http", "127.0.0.1:65536"},
	    {"http", "127.0.0.1:-1"},
	    {"http", "127.0.0.1:80x"},
	    {"http", "[]:80"},
	    {"metrics", "127.0.0.1"},
	    {"metrics", "localhost:9464"},
	    {"metrics", "127.0.0.1:70000"},
	    {"sip", "999.0.0.1:5060"},
	    {"sip", "127.0.0.1: 5060"},
	    {"rtp-ports", "20000"},
	    {"rtp-ports", "-20000"},
	    {"rtp-ports", "1023-2000"},
	    {"rtp-ports", "3000-3000"},
	    {"rtp-ports", "3000-2000"},
	    {"rtp-ports", "3000-65536"},
	    {"rtp-ports", "a-b"},
	    {"rtp-ports", "+3000-4000"},
	    {"public-ip", "example.com"},
	    {"public-ip", ""},
	    {"log-level", "verbose"},
	    {"log-level", ""},
	    {"node-name", ""},
	    {"node-name", long_name},
	    {"webhook-timeout-ms", "99"},
	    {"webhook-timeout-ms", "600001"},
	    {"webhook-timeout-ms", "1e3"},
	    {"webhook-timeout-ms", " 500"},
	    {"webhook-timeout-ms", "18446744073709551617"},
	    {"media-workers", "65"},
	    {"media-workers", "-1"},
	    {"media-workers", "four"},
	    {"opus-complexity", "11"},
	    {"opus-complexity", "-1"},
	    {"opus-complexity", "five"},
	    {"opus-application", "audio"},
	    {"opus-application", ""},
	    {"dial-timeout", "0"},
	    {"dial-timeout", "601"},
	    {"dial-timeout", "30s"},
	    {"sip-ack-timeout", "0"},
	    {"sip-ack-timeout", "33"},
	    {"sip-unconfirmed-per-ip", "0"},
	    {"sip-unconfirmed-per-ip", "many"},
	    {"http-max-conns", "0"},
	    {"http-max-conns", "many"},
	    {"http-max-conns-per-ip", "0"},
	    {"http-head-timeout", "0"},
	    {"http-head-timeout", "3601"},
	    {"http-idle-timeout", "10s"},
	    {"events-retention", "0"},
	    {"events-retention", "0d"},
	    {"events-retention", "7w"},
	    {"events-retention", "d"},
	    {"events-retention", "3651d"},
	    {"events-retention", "-1"},
	    {"no-such-key", "1"},
	};
	struct ch_config c, before;
	char err[256];
	(void)state;

	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ch_config_defaults(&c);
	before = c;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		if (ch_config_set(&c, bad[i].key, bad[i].value, err,
		                  sizeof(err)) != -1)
			fail_msg("%s = \"%s\" was accepted", bad[i].key,
			         bad[i].value);
		assert_true(strlen(err) > 0);
		/* a refused value changes nothing */
		assert_memory_equal(&c, &before, sizeof(c));
	}
	assert_int_equal(ch_config_set(&c, "http", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "http"));
	assert_int_equal(ch_config_set(&c, "bogus", "1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bogus"));
}

static void test_config_limits(void **state)
{
	static const struct {
		const char *value;
		uint64_t secs;
	} ret[] = {{"1", 1},       {"90s", 90},    {"15m", 900},
	           {"12h", 43200}, {"7d", 604800}, {"3650d", 315360000}};
	struct ch_config c;
	char err[256] = "";
	(void)state;

	ch_config_defaults(&c);
	assert_int_equal(c.http_max_conns, 4096);
	assert_int_equal(c.http_max_conns_per_ip, 3072);
	assert_int_equal(c.http_head_timeout_s, 10);
	assert_int_equal(c.http_idle_timeout_s, 60);
	assert_int_equal(c.events_retention_s, 7 * 86400);
	assert_int_equal(
	    ch_config_set(&c, "http-max-conns", "20000", err, sizeof(err)), 0);
	assert_int_equal(c.http_max_conns, 20000);
	assert_int_equal(
	    ch_config_set(&c, "http-max-conns-per-ip", "1", err, sizeof(err)),
	    0);
	assert_int_equal(c.http_max_conns_per_ip, 1);
	assert_int_equal(
	    ch_config_set(&c, "http-head-timeout", "3", err, sizeof(err)), 0);
	assert_int_equal(c.http_head_timeout_s, 3);
	assert_int_equal(
	    ch_config_set(&c, "http-idle-timeout", "300", err, sizeof(err)), 0);
	assert_int_equal(c.http_idle_timeout_s, 300);
	for (size_t i = 0; i < sizeof(ret) / sizeof(*ret); i++) {
		assert_int_equal(ch_config_set(&c, "events-retention",
		                               ret[i].value, err, sizeof(err)),
		                 0);
		assert_int_equal(c.events_retention_s, ret[i].secs);
	}
	assert_string_equal(err, "");
}

/* A scratch folder for config files, removed even when a test fails. */
static int dir_setup(void **state)
{
	char *dir = malloc(CH_TEST_DIR_MAX);
	if (!dir)
		return -1;
	ch_test_tmpdir(dir, "ch-config");
	*state = dir;
	return 0;
}

static int dir_teardown(void **state)
{
	ch_test_rmtree(*state);
	free(*state);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	fclose(fp);
}

static void test_config_load(void **state)
{
	const char *dir = *state;
	char path[CH_TEST_DIR_MAX + 16], err[512];
	char want[CH_TEST_DIR_MAX + 64];
	struct ch_config c;

	snprintf(path, sizeof(path), "%s/chorus.conf", dir);
	write_file(path, "# Chorus settings\n"
	                 "\n"
	                 "data-dir = /srv/chorus   # where the db lives\n"
	                 "  http=127.0.0.1:9090\n"
	                 "\tlog-level\t=\twarn\t\n"
	                 "node-name = n1\n");
	ch_config_defaults(&c);
	assert_int_equal(ch_config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.data_dir, "/srv/chorus");
	assert_int_equal(c.http_port, 9090);
	assert_int_equal(c.log_level, CH_LOG_WARN);
	assert_string_equal(c.node_name, "n1");
	assert_int_equal(c.sip_port, 5060); /* untouched default */

	/* a bad value: FILE:LINE and the reason */
	write_file(path, "# ok\nnode-name = n2\nrtp-ports = 9-8\nhttp = x\n");
	assert_int_equal(ch_config_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: rtp-ports", path);
	assert_memory_equal(err, want, strlen(want));

	/* a line without '=' */
	write_file(path, "node-name = n3\n\nhttp 127.0.0.1:80\n");
	assert_int_equal(ch_config_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: expected key = value", path);
	assert_string_equal(err, want);

	/* an unknown key */
	write_file(path, "colour = blue\n");
	assert_int_equal(ch_config_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: unknown setting \"colour\"", path);
	assert_string_equal(err, want);

	/* no such file */
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	assert_int_equal(ch_config_load(&c, path, err, sizeof(err)), -1);
	assert_memory_equal(err, path, strlen(path));
}

/* A comment line longer than the read buffer is still one comment line:
 * the settings after it load and errors name the right line. */
static void test_config_load_long_comment(void **state)
{
	const char *dir = *state;
	char path[CH_TEST_DIR_MAX + 16], err[512];
	char want[CH_TEST_DIR_MAX + 64], text[3000];
	struct ch_config c;

	snprintf(path, sizeof(path), "%s/chorus.conf", dir);
	memset(text, 0, sizeof(text));
	text[0] = '#';
	memset(text + 1, 'c', 1999);
	strcat(text, "\nnode-name = after\n");
	write_file(path, text);
	ch_config_defaults(&c);
	err[0] = '\0';
	if (ch_config_load(&c, path, err, sizeof(err)))
		fail_msg("a long comment line was refused: %s", err);
	assert_string_equal(c.node_name, "after");

	strcat(text, "http = nowhere\n");
	write_file(path, text);
	assert_int_equal(ch_config_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: http", path);
	assert_memory_equal(err, want, strlen(want));
}

static void test_config_stt(void **state)
{
	struct ch_config c;
	char err[256];
	(void)state;
	ch_config_defaults(&c);
	assert_string_equal(c.stt_engine, "sphinx");
	assert_true(c.stt_sphinx_fast);
	assert_int_equal(c.stt_http_retries, 2);
	assert_string_equal(c.stt_http_url, "");
	assert_int_equal(
	    ch_config_set(&c, "stt-engine", "http", err, sizeof(err)), 0);
	assert_string_equal(c.stt_engine, "http");
	assert_int_equal(ch_config_set(&c, "stt-http-url",
	                               "https://stt.example:8178", err,
	                               sizeof(err)),
	                 0);
	assert_string_equal(c.stt_http_url, "https://stt.example:8178");
	assert_int_equal(
	    ch_config_set(&c, "stt-http-retries", "0", err, sizeof(err)), 0);
	assert_int_equal(c.stt_http_retries, 0);
	assert_int_equal(
	    ch_config_set(&c, "stt-sphinx-search", "full", err, sizeof(err)),
	    0);
	assert_false(c.stt_sphinx_fast);
	assert_int_equal(
	    ch_config_set(&c, "stt-sphinx-model", "/opt/m", err, sizeof(err)),
	    0);
	assert_string_equal(c.stt_sphinx_model, "/opt/m");
	/* refused, and nothing changed */
	static const char *const bad[][2] = {
	    {"stt-engine", "whisper"},
	    {"stt-http-url", "ftp://x"},
	    {"stt-http-url", "file:///etc/passwd"},
	    {"stt-http-key", "a\r\nX-Evil: 1"},
	    {"stt-sphinx-model", "relative/path"},
	    {"stt-sphinx-search", "fastest"},
	    {"stt-http-retries", "11"},
	    {"stt-http-timeout-ms", "50"},
	    {"stt-decoders", "0"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
		    ch_config_set(&c, bad[i][0], bad[i][1], err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, bad[i][0]));
	}
	assert_string_equal(c.stt_engine, "http");
	assert_string_equal(c.stt_http_url, "https://stt.example:8178");
	assert_string_equal(c.stt_http_key, "");
	assert_string_equal(c.stt_sphinx_model, "/opt/m");
	assert_false(c.stt_sphinx_fast);
}

/* The installed /etc/chorus/chorusd.conf: chorusd takes it as it is, and
 * every setting shown commented out ("# key = value") is one it takes
 * too, so uncommenting a line never breaks the start. */
static void test_config_packaged(void **state)
{
	const char *path = CH_BINARY_DIR "/packaging/chorusd.conf";
	char err[512], *line = NULL;
	size_t cap = 0;
	int lineno = 0, shown = 0;
	struct ch_config c;
	regex_t re;
	regmatch_t m[3];
	(void)state;

	ch_config_defaults(&c);
	if (ch_config_load(&c, path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(c.http_host, "127.0.0.1");
	assert_int_equal(c.http_port, 8080);
	assert_int_equal(c.sip_port, 5060);
	assert_int_equal(c.log_level, CH_LOG_INFO);

	assert_int_equal(regcomp(&re,
	                         "^#[ \t]*([a-z][a-z0-9-]*)[ \t]*=[ \t]*"
	                         "([^ \t].*[^ \t]|[^ \t]?)[ \t]*$",
	                         REG_EXTENDED),
	                 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (regexec(&re, line, 3, m, 0))
			continue;
		line[m[1].rm_eo] = '\0';
		line[m[2].rm_eo] = '\0';
		ch_config_defaults(&c);
		if (ch_config_set(&c, line + m[1].rm_so, line + m[2].rm_so, err,
		                  sizeof(err)))
			fail_msg("%s:%d: %s", path, lineno, err);
		shown++;
	}
	free(line);
	fclose(f);
	regfree(&re);
	/* the file shows nearly every setting (33 today) */
	assert_true(shown >= 25);
}

static void test_log_level_parse(void **state)
{
	enum ch_log_level l = CH_LOG_ERROR;
	(void)state;

	assert_int_equal(ch_log_level_parse("debug", &l), 0);
	assert_int_equal(l, CH_LOG_DEBUG);
	assert_int_equal(ch_log_level_parse("warn", &l), 0);
	assert_int_equal(l, CH_LOG_WARN);
	assert_int_equal(ch_log_level_parse("loud", &l), -1);
	assert_int_equal(l, CH_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_format),
	    cmocka_unit_test(test_time_parse),
	    cmocka_unit_test(test_time_parse_rejects),
	    cmocka_unit_test(test_time_parse_strict),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_config_set_good),
	    cmocka_unit_test(test_config_set_bad),
	    cmocka_unit_test(test_config_limits),
	    cmocka_unit_test_setup_teardown(test_config_load, dir_setup,
	                                    dir_teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_long_comment,
	                                    dir_setup, dir_teardown),
	    cmocka_unit_test(test_config_stt),
	    cmocka_unit_test(test_config_packaged),
	    cmocka_unit_test(test_log_level_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
