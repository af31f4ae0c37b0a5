/*
 * test_services_stt.c: the two speech-to-text engines (services/stt.h) on
 * real speech from Debian's pocketsphinx-testdata.
 *
 * pocketsphinx: goforward.raw fed in 320-sample (20 ms) chunks is "go
 * forward ten meters"; two utterances in a row on one decoder each give
 * their own words; digital silence is ""; a start after an unfinished
 * utterance drops it; languages, missing model files (ENOENT) and the
 * engine kind names.
 *
 * HTTP: against tests/tools/stt_standin.py, a local stand-in that checks
 * the form and the WAV and recognises the audio for real with
 * pocketsphinx_continuous, and logs what it was sent: the words come back,
 * "en-US" is sent as "en" with the model and the key; a first failure is
 * retried (2 requests), failures beyond the retries are EIO, as is a
 * service slower than the timeout (EIO in the time of the attempts, not
 * the service's 3 s); nothing is sent for an empty utterance; audio past
 * 60 s is dropped; URLs other than http(s) are EINVAL at open. The stand-in
 * needs python3 and pocketsphinx_continuous: without them these tests
 * fail, saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <sndfile.h>

#include "services/stt.h"
#include "tmpdir.h"

#define TESTDATA  "/usr/share/pocketsphinx/test/data"
#define GOFORWARD TESTDATA "/goforward.raw"
#define LIBRIVOX                                                               \
	TESTDATA "/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"
#define STANDIN   CH_SOURCE_DIR "/tests/tools/stt_standin.py"
#define CHUNK     320
#define WORDS_MAX 64

static const char goforward_words[] = "go forward ten meters";
static const char librivox_words[] = "he was not an ill disposed young man";

/* ---- audio and words ---------------------------------------------------- */

static int16_t *read_raw(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	int16_t *pcm;
	long len;

	if (!f)
		fail_msg(
		    "cannot open %s (Debian package pocketsphinx-testdata)",
		    path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	pcm = malloc((size_t)len);
	assert_non_null(pcm);
	*n = fread(pcm, 2, (size_t)len / 2, f);
	fclose(f);
	assert_true(*n > CH_STT_RATE);
	return pcm;
}

static int16_t *read_wav(const char *path, size_t *n)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	int16_t *pcm;

	if (!sf)
		fail_msg(
		    "cannot open %s (Debian package pocketsphinx-testdata)",
		    path);
	assert_int_equal(info.samplerate, CH_STT_RATE);
	assert_int_equal(info.channels, 1);
	pcm = malloc((size_t)info.frames * 2);
	assert_non_null(pcm);
	*n = (size_t)sf_readf_short(sf, pcm, info.frames);
	sf_close(sf);
	assert_true(*n > CH_STT_RATE);
	return pcm;
}

/* One utterance of pcm fed in CHUNK-sample pieces: its text. */
static char *recognise(struct ch_stt *s, const int16_t *pcm, size_t n)
{
	char *text = NULL;

	assert_int_equal(ch_stt_start(s), 0);
	for (size_t i = 0; i < n; i += CHUNK)
		assert_int_equal(
		    ch_stt_feed(s, pcm + i, n - i < CHUNK ? n - i : CHUNK), 0);
	assert_int_equal(ch_stt_finish(s, &text), 0);
	assert_non_null(text);
	return text;
}

/* Splits a copy of text into lower-case words. */
static size_t words(const char *text, char *buf, size_t size,
                    char *w[WORDS_MAX])
{
	size_t n = 0;
	char *save = NULL;

	snprintf(buf, size, "%s", text);
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	for (char *t = strtok_r(buf, " \t\n", &save); t && n < WORDS_MAX;
	     t = strtok_r(NULL, " \t\n", &save))
		w[n++] = t;
	return n;
}

/* The text is the reference's words, in order, at least min_pct % of
 * them (a longest common subsequence), with at most 2 words more. */
static void assert_words(const char *text, const char *ref, int min_pct)
{
	char tb[1024], rb[1024], *tw[WORDS_MAX], *rw[WORDS_MAX];
	size_t nt = words(text, tb, sizeof(tb), tw);
	size_t nr = words(ref, rb, sizeof(rb), rw);
	size_t lcs[WORDS_MAX + 1][WORDS_MAX + 1] = {{0}};

	for (size_t i = 1; i <= nt; i++)
		for (size_t j = 1; j <= nr; j++)
			lcs[i][j] = !strcmp(tw[i - 1], rw[j - 1])
			                ? lcs[i - 1][j - 1] + 1
			            : lcs[i - 1][j] > lcs[i][j - 1]
			                ? lcs[i - 1][j]
			                : lcs[i][j - 1];
	if (lcs[nt][nr] * 100 < (size_t)min_pct * nr || nt > nr + 2)
		fail_msg("heard \"%s\", want \"%s\" (%zu of %zu words)", text,
		         ref, lcs[nt][nr], nr);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- fixture: one engine, one decoder, goforward ------------------------ */

struct standin {
	pid_t pid;
	int port;
	char dir[CH_TEST_DIR_MAX];
	char log[CH_TEST_DIR_MAX + 16];
};

/* What a test made; the teardown frees it, even when the test fails
 * half-way (the stand-in is stopped). */
static struct {
	struct standin st;
	struct ch_stt_engine *e;
	struct ch_stt *s;
	int16_t *gf; /* goforward.raw */
	size_t n;
} fix;

static void standin_stop(struct standin *st)
{
	if (st->pid > 0) {
		kill(st->pid, SIGTERM);
		waitpid(st->pid, NULL, 0);
		ch_test_rmtree(st->dir);
	}
	st->pid = 0;
}

static int fix_teardown(void **state)
{
	(void)state;
	ch_stt_free(fix.s);
	ch_stt_engine_close(fix.e);
	free(fix.gf);
	standin_stop(&fix.st);
	memset(&fix, 0, sizeof(fix));
	return 0;
}

/* fix.e opened, a decoder for lang, goforward read. */
static void fix_decoder(const char *lang)
{
	assert_non_null(fix.e);
	assert_int_equal(ch_stt_new(&fix.s, fix.e, lang), 0);
	fix.gf = read_raw(GOFORWARD, &fix.n);
}

/* ---- pocketsphinx ------------------------------------------------------- */

static void sphinx_open(void)
{
	struct ch_stt_cfg cfg = {0};

	if (ch_stt_engine_open(&fix.e, CH_STT_SPHINX, &cfg))
		fail_msg("pocketsphinx engine did not open (Debian packages "
		         "libpocketsphinx-dev, pocketsphinx-en-us)");
}

static void test_sphinx_goforward(void **state)
{
	char *text;

	(void)state;
	sphinx_open();
	fix_decoder("en-US");
	text = recognise(fix.s, fix.gf, fix.n);
	assert_words(text, goforward_words, 100);
	free(text);
}

static void test_sphinx_two_utterances(void **state)
{
	size_t n2;
	int16_t *lv = read_wav(LIBRIVOX, &n2);
	char *t1, *t2;

	(void)state;
	sphinx_open();
	fix_decoder("en");
	t1 = recognise(fix.s, fix.gf, fix.n);
	t2 = recognise(fix.s, lv, n2);
	free(lv);
	assert_words(t1, goforward_words, 100);
	assert_words(t2, librivox_words, 50);
	assert_null(strstr(t2, "forward"));
	free(t1);
	free(t2);
}

static void test_sphinx_silence_and_restart(void **state)
{
	static const int16_t zero[2 * CH_STT_RATE];
	char *text = (char *)"x";

	(void)state;
	sphinx_open();
	fix_decoder("en-US");
	/* finish without start */
	assert_int_equal(ch_stt_finish(fix.s, &text), EINVAL);
	assert_null(text);
	text = recognise(fix.s, zero, 2 * CH_STT_RATE);
	assert_string_equal(text, "");
	free(text);
	/* "go forward" unfinished, then a new utterance of silence */
	assert_int_equal(ch_stt_start(fix.s), 0);
	assert_int_equal(ch_stt_feed(fix.s, fix.gf, fix.n), 0);
	text = recognise(fix.s, zero, 2 * CH_STT_RATE);
	assert_string_equal(text, "");
	free(text);
}

/* Which of tags e supports: tags is NULL-terminated, each "+tag" (must be
 * supported) or "-tag" (must not). */
static void assert_langs(const struct ch_stt_engine *e, const char *const *tags)
{
	for (; *tags; tags++)
		if (ch_stt_engine_supports(e, *tags + 1) != (**tags == '+'))
			fail_msg("%s: language %s", ch_stt_engine_languages(e),
			         *tags);
}

static void test_sphinx_languages(void **state)
{
	struct ch_stt *s = (struct ch_stt *)state;
	struct ch_stt_engine *e;

	sphinx_open();
	e = fix.e;
	assert_int_equal(ch_stt_engine_kind(e), CH_STT_SPHINX);
	assert_langs(e,
	             (const char *const[]){"+en-US", "+EN-us", "+en", "-en-GB",
	                                   "-de-DE", "-", "-en-US-x", NULL});
	assert_false(ch_stt_engine_supports(e, NULL));
	assert_false(ch_stt_engine_supports(NULL, "en-US"));
	assert_string_equal(ch_stt_engine_languages(e), "en-US, en");
	assert_int_equal(ch_stt_new(&s, e, "de-DE"), EINVAL);
	assert_null(s);
	ch_stt_engine_close(NULL);
}

static void test_sphinx_missing(void **state)
{
	static const char *const paths[3][3] = {
	    {"/nonexistent/en-us", NULL, NULL},
	    {NULL, "/nonexistent/en-us.lm.bin", NULL},
	    {NULL, NULL, "/nonexistent/cmudict.dict"},
	};
	struct ch_stt_engine *e = (struct ch_stt_engine *)state;

	for (int i = 0; i < 3; i++) {
		struct ch_stt_cfg cfg = {.sphinx_model = paths[i][0],
		                         .sphinx_lm = paths[i][1],
		                         .sphinx_dict = paths[i][2]};

		assert_int_equal(ch_stt_engine_open(&e, CH_STT_SPHINX, &cfg),
		                 ENOENT);
		assert_null(e);
	}
	/* a folder that is not an acoustic model */
	struct ch_stt_cfg cfg = {.sphinx_model = TESTDATA};

	assert_int_equal(ch_stt_engine_open(&e, CH_STT_SPHINX, &cfg), ENOENT);
}

static void test_kind(void **state)
{
	enum ch_stt_kind k = CH_STT_HTTP;

	(void)state;
	assert_string_equal(ch_stt_kind_str(CH_STT_SPHINX), "sphinx");
	assert_string_equal(ch_stt_kind_str(CH_STT_HTTP), "http");
	assert_int_equal(ch_stt_kind_parse("sphinx", &k), 0);
	assert_int_equal(k, CH_STT_SPHINX);
	assert_int_equal(ch_stt_kind_parse("http", &k), 0);
	assert_int_equal(k, CH_STT_HTTP);
	assert_int_equal(ch_stt_kind_parse("HTTP", &k), EINVAL);
	assert_int_equal(ch_stt_kind_parse("", &k), EINVAL);
	assert_int_equal(ch_stt_kind_parse(NULL, &k), EINVAL);
	assert_int_equal(k, CH_STT_HTTP);
}

/* ---- the HTTP engine against the stand-in ------------------------------- */

/* Starts the stand-in with extra options (NULL-terminated) and reads the
 * port it listens on. */
static void standin_start(struct standin *st, const char *opt1,
                          const char *val1)
{
	char line[64] = "";
	size_t len = 0;
	int fds[2];

	ch_test_tmpdir(st->dir, "stt");
	snprintf(st->log, sizeof(st->log), "%s/log.jsonl", st->dir);
	assert_int_equal(pipe(fds), 0);
	st->pid = fork();
	assert_true(st->pid >= 0);
	if (!st->pid) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", STANDIN, "--port", "0", "--log",
		       st->log, opt1, val1, (char *)NULL);
		fprintf(stderr, "cannot run python3: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while (len + 1 < sizeof(line) && !strchr(line, '\n')) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 10000) != 1)
			break;
		r = read(fds[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		line[len] = '\0';
	}
	close(fds[0]);
	if (sscanf(line, "PORT %d", &st->port) != 1 || st->port <= 0)
		fail_msg("the stand-in %s did not start: it needs python3 and "
		         "pocketsphinx_continuous (Debian packages python3, "
		         "pocketsphinx)",
		         STANDIN);
}

/* The requests the stand-in logged, as a JSON array. */
static json_t *standin_log(const struct standin *st)
{
	json_t *all = json_array();
	FILE *f = fopen(st->log, "r");
	char line[1024];

	while (f && fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		json_array_append_new(all, j);
	}
	if (f)
		fclose(f);
	return all;
}

/* The stand-in started with one option (or none), the engine on it, a
 * decoder for lang and goforward in fix. */
static void http_fix(const char *opt, const char *val, unsigned timeout_ms,
                     unsigned retries, const char *lang)
{
	char url[64];
	struct ch_stt_cfg cfg = {.http_url = url,
	                         .http_model = "test-model",
	                         .http_key = "secret",
	                         .http_timeout_ms = timeout_ms,
	                         .http_retries = retries};

	standin_start(&fix.st, opt, val);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", fix.st.port);
	assert_int_equal(ch_stt_engine_open(&fix.e, CH_STT_HTTP, &cfg), 0);
	assert_int_equal(ch_stt_engine_kind(fix.e), CH_STT_HTTP);
	fix_decoder(lang);
}

/* The stand-in's log, which must hold n requests; request i's field. */
static json_t *log_of(size_t n)
{
	json_t *log = standin_log(&fix.st);

	assert_int_equal(json_array_size(log), n);
	return log;
}

static json_t *log_field(json_t *log, size_t i, const char *name)
{
	return json_object_get(json_array_get(log, i), name);
}

static void test_http_recognises(void **state)
{
	char *text;
	json_t *log;

	(void)state;
	http_fix(NULL, NULL, 20000, 1, "en-US");
	text = recognise(fix.s, fix.gf, fix.n);
	assert_words(text, goforward_words, 100);
	free(text);
	/* an empty utterance is "" and asks nothing */
	text = recognise(fix.s, fix.gf, 0);
	assert_string_equal(text, "");
	free(text);
	log = log_of(1);
	assert_int_equal(json_integer_value(log_field(log, 0, "status")), 200);
	assert_string_equal(json_string_value(log_field(log, 0, "language")),
	                    "en");
	assert_string_equal(json_string_value(log_field(log, 0, "model")),
	                    "test-model");
	assert_string_equal(
	    json_string_value(log_field(log, 0, "response_format")), "json");
	assert_true(json_is_true(log_field(log, 0, "auth")));
	assert_float_equal(json_real_value(log_field(log, 0, "audio_seconds")),
	                   (double)fix.n / CH_STT_RATE, 1e-6);
	json_decref(log);
}

static void test_http_retry(void **state)
{
	char *text;
	json_t *log;

	(void)state;
	http_fix("--fail-first", "1", 20000, 1, "en-US");
	text = recognise(fix.s, fix.gf, fix.n);
	assert_words(text, goforward_words, 100);
	free(text);
	log = log_of(2);
	assert_int_equal(json_integer_value(log_field(log, 0, "status")), 500);
	assert_int_equal(json_integer_value(log_field(log, 1, "status")), 200);
	json_decref(log);
}

/* One utterance of pcm that must fail: EIO, no text. */
static void assert_fails(struct ch_stt *s, const int16_t *pcm, size_t n)
{
	char *text = (char *)"x";

	assert_int_equal(ch_stt_start(s), 0);
	assert_int_equal(ch_stt_feed(s, pcm, n), 0);
	assert_int_equal(ch_stt_finish(s, &text), EIO);
	assert_null(text);
}

static void test_http_retries_exhausted(void **state)
{
	(void)state;
	http_fix("--fail-first", "5", 20000, 1, "en-US");
	assert_fails(fix.s, fix.gf, fix.n);
	json_decref(log_of(2));
}

/* A 200 that is not the OpenAI shape (not JSON, no "text", a "text"
 * that is not a string, an array, over 64 KiB) is a failure, retried,
 * then EIO. */
static void test_http_bad_answers(void **state)
{
	static const char *const modes[] = {"garbage", "notext", "number",
	                                    "array", "huge"};
	json_t *log;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		http_fix("--answer", modes[i], 20000, 1, "en-US");
		assert_fails(fix.s, fix.gf, fix.n);
		log = log_of(2); /* the first attempt and one retry */
		json_decref(log);
		fix_teardown(state);
	}
}

static void test_http_timeout(void **state)
{
	double t0, took;

	(void)state;
	/* retries 2: three attempts of 0.5 s, waits of 0.2 and 0.4 s
	 * between them */
	http_fix("--delay-ms", "3000", 500, 2, "en-US");
	t0 = now_s();
	assert_fails(fix.s, fix.gf, fix.n);
	took = now_s() - t0;
	if (took < 1.9 || took > 2.8)
		fail_msg("failed in %.2f s, want about 2.1 s", took);
	fix_teardown(state);
	/* retries 0: one attempt */
	http_fix("--delay-ms", "3000", 500, 0, "en-US");
	t0 = now_s();
	assert_fails(fix.s, fix.gf, fix.n);
	took = now_s() - t0;
	if (took < 0.45 || took > 1.2)
		fail_msg("failed in %.2f s, want about 0.5 s", took);
}

static void test_http_long_utterance(void **state)
{
	static const int16_t zero[CH_STT_RATE];
	char *text;
	json_t *log;

	(void)state;
	http_fix(NULL, NULL, 60000, 1, "fr");
	assert_int_equal(ch_stt_start(fix.s), 0);
	for (int i = 0; i < 61; i++)
		assert_int_equal(ch_stt_feed(fix.s, zero, CH_STT_RATE), 0);
	assert_int_equal(ch_stt_finish(fix.s, &text), 0);
	assert_string_equal(text, "");
	free(text);
	log = log_of(1);
	assert_float_equal(json_real_value(log_field(log, 0, "audio_seconds")),
	                   60.0, 1e-9);
	assert_string_equal(json_string_value(log_field(log, 0, "language")),
	                    "fr");
	json_decref(log);
}

static void test_http_refused(void **state)
{
	struct ch_stt_cfg cfg = {.http_url = "http://127.0.0.1:1",
	                         .http_timeout_ms = 2000,
	                         .http_retries = 1};
	struct ch_stt_engine *e = NULL;
	struct ch_stt *s = NULL;
	int16_t pcm[CHUNK] = {0};
	double t0 = now_s();

	(void)state;
	assert_int_equal(ch_stt_engine_open(&e, CH_STT_HTTP, &cfg), 0);
	assert_int_equal(ch_stt_new(&s, e, "en-US"), 0);
	assert_fails(s, pcm, CHUNK);
	assert_true(now_s() - t0 < 1.5);
	ch_stt_free(s);
	ch_stt_engine_close(e);
}

static void test_http_config(void **state)
{
	static const char *const bad[] = {
	    "ftp://127.0.0.1/", "http://",           "http:///x",
	    "file:///tmp",      "127.0.0.1:8178",    "http://u:p@host/",
	    "http://host/?q=1", "http://host/#frag", "not a url",
	};
	struct ch_stt_cfg cfg = {0};
	struct ch_stt_engine *e = (struct ch_stt_engine *)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.http_url = bad[i];
		if (ch_stt_engine_open(&e, CH_STT_HTTP, &cfg) != EINVAL)
			fail_msg("URL %s was not refused", bad[i]);
		assert_null(e);
	}
	cfg.http_url = "";
	assert_int_equal(ch_stt_engine_open(&e, CH_STT_HTTP, &cfg), ENOTSUP);
	cfg.http_url = NULL;
	assert_int_equal(ch_stt_engine_open(&e, CH_STT_HTTP, NULL), ENOTSUP);
	assert_int_equal(ch_stt_engine_open(&e, CH_STT_HTTP, &cfg), ENOTSUP);
	cfg.http_url = "https://stt.example/base";
	cfg.http_key = "a\r\nX-Injected: 1";
	assert_int_equal(ch_stt_engine_open(&e, CH_STT_HTTP, &cfg), EINVAL);
	cfg.http_key = NULL;
	assert_int_equal(ch_stt_engine_open(&e, CH_STT_HTTP, &cfg), 0);
	/* any well-formed tag */
	assert_langs(e, (const char *const[]){
	                    "+en-US", "+pt-BR", "+zh-Hant-TW", "+es-419",
	                    "+bcdefgh-12345678-abcdef",  /* 23 bytes */
	                    "-abcdefgh-12345678-abcdef", /* 24 */
	                    "-", "-e", "-en_US", "-en--US", "--en", "-en-",
	                    "-12-US", "-en-US\n", "-abcdefghi", NULL});
	assert_string_equal(ch_stt_engine_languages(e), "any");
	ch_stt_engine_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_kind, fix_teardown),
	    cmocka_unit_test_teardown(test_sphinx_languages, fix_teardown),
	    cmocka_unit_test_teardown(test_sphinx_missing, fix_teardown),
	    cmocka_unit_test_teardown(test_sphinx_goforward, fix_teardown),
	    cmocka_unit_test_teardown(test_sphinx_two_utterances, fix_teardown),
	    cmocka_unit_test_teardown(test_sphinx_silence_and_restart,
	                              fix_teardown),
	    cmocka_unit_test_teardown(test_http_config, fix_teardown),
	    cmocka_unit_test_teardown(test_http_refused, fix_teardown),
	    cmocka_unit_test_teardown(test_http_recognises, fix_teardown),
	    cmocka_unit_test_teardown(test_http_retry, fix_teardown),
	    cmocka_unit_test_teardown(test_http_retries_exhausted,
	                              fix_teardown),
	    cmocka_unit_test_teardown(test_http_bad_answers, fix_teardown),
	    cmocka_unit_test_teardown(test_http_timeout, fix_teardown),
	    cmocka_unit_test_teardown(test_http_long_utterance, fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
