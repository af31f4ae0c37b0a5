/*
 * test_services_player.c: the player service on a libre main loop against
 * a tiny HTTP server on 127.0.0.1 run by this test (a WAV tone, a 404, a
 * path that accepts and never answers, a body above the size cap, a
 * redirect to file://): the tone is decoded (Goertzel at the three rates),
 * "HTTP 404 for <url>", the size cap, the total timeout, cancel (the
 * handler is never called), two URLs as one clip; file:// URLs below the
 * media folder only (not outside, not through "..", not through a symbolic
 * link, never without a media folder) and the other URL rules; TALK speaks
 * (speech energy, > 0.3 s) through espeak-ng and the second render of the
 * same text comes from the cache (the file's mtime stays, espeak-ng is not
 * run again: a wrapper on PATH counts its runs); unknown languages are
 * EINVAL; BEEP is a 1000 Hz tone at -12 dBFS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sndfile.h>

#include "audio_check.h"
#include "media/pcm.h"
#include "re_loop.h"
#include "services/player.h"
#include "services/tts.h"
#include "tmpdir.h"

#define TONE_HZ  440.0
#define TONE_AMP 0.5
#define MAX_HANG 16

/* ---- a tiny HTTP server ------------------------------------------------ */

struct http_srv {
	int fd;
	unsigned short port;
	pthread_t thread;
	atomic_bool stop;
	unsigned char *wav;
	size_t wav_len;
	int hang[MAX_HANG]; /* accepted, never answered */
	int nhang;
};

static struct http_srv srv;
static char dir[CH_TEST_DIR_MAX];

static void send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void send_head(int fd, const char *status, const char *extra)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nConnection: close\r\n%s\r\n", status,
	                 extra);

	send_all(fd, head, (size_t)n);
}

/* Answers one request on fd; returns whether fd is to be closed. */
static bool http_answer(int fd)
{
	char req[2048] = {0}, path[256] = {0}, extra[128];
	size_t n = 0;

	while (n < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			return true;
		n += (size_t)r;
	}
	if (sscanf(req, "GET %255s ", path) != 1)
		return true;
	if (!strcmp(path, "/tone.wav")) {
		snprintf(extra, sizeof(extra),
		         "Content-Type: audio/wav\r\nContent-Length: %zu\r\n",
		         srv.wav_len);
		send_head(fd, "200 OK", extra);
		send_all(fd, srv.wav, srv.wav_len);
	} else if (!strcmp(path, "/hang")) {
		if (srv.nhang < MAX_HANG) {
			srv.hang[srv.nhang++] = fd;
			return false;
		}
	} else if (!strcmp(path, "/big")) {
		/* No Content-Length: the cap is met while reading. */
		static char zeros[16384];

		send_head(fd, "200 OK", "Content-Type: audio/wav\r\n");
		for (int i = 0; i < 512 && !atomic_load(&srv.stop); i++)
			send_all(fd, zeros, sizeof(zeros));
	} else if (!strcmp(path, "/to-file")) {
		send_head(
		    fd, "302 Found",
		    "Location: file:///etc/passwd\r\nContent-Length: 0\r\n");
	} else {
		send_head(fd, "404 Not Found", "Content-Length: 4\r\n");
		send_all(fd, "nope", 4);
	}
	return true;
}

static void *http_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv.stop)) {
		struct pollfd pfd = {.fd = srv.fd, .events = POLLIN};
		struct timeval tv = {2, 0};
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept(srv.fd, NULL, NULL);
		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (http_answer(c))
			close(c);
	}
	return NULL;
}

static void http_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(srv.fd >= 0);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv.fd, 16), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&sa, &sl), 0);
	srv.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&srv.thread, NULL, http_thread, NULL),
	                 0);
}

static void http_stop(void)
{
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	for (int i = 0; i < srv.nhang; i++)
		close(srv.hang[i]);
	free(srv.wav);
}

static void url_of(char *out, size_t len, const char *path)
{
	snprintf(out, len, "http://127.0.0.1:%u%s", srv.port, path);
}

/* ---- files --------------------------------------------------------- */

/* Writes seconds of TONE_HZ at rate as a 16-bit mono WAV at path. */
static void write_wav(const char *path, int rate, double seconds)
{
	SF_INFO info = {.samplerate = rate,
	                .channels = 1,
	                .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	size_t n = (size_t)lrint(seconds * rate);
	float *x = malloc(n * sizeof(float));
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	assert_non_null(x);
	assert_non_null(sf);
	ch_test_tone_float(x, n, 1, TONE_HZ, rate, TONE_AMP);
	assert_int_equal(sf_writef_float(sf, x, (sf_count_t)n), (sf_count_t)n);
	assert_int_equal(sf_close(sf), 0);
	free(x);
}

static void read_file(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*buf = malloc((size_t)n);
	assert_non_null(*buf);
	assert_int_equal(fread(*buf, 1, (size_t)n, f), (size_t)n);
	*len = (size_t)n;
	fclose(f);
}

/* ---- results ------------------------------------------------------- */

struct result {
	int calls;
	uint64_t job;
	int err;
	char why[2300];
	struct ch_pcm *pcm;
};

static struct result res;

static void done_h(void *arg, uint64_t job, int err, const char *why,
                   struct ch_pcm *pcm)
{
	struct result *r = arg;

	r->calls++;
	r->job = job;
	r->err = err;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "(null)");
	ch_pcm_free(r->pcm);
	r->pcm = pcm;
	re_cancel();
}

static void result_clear(void)
{
	ch_pcm_free(res.pcm);
	memset(&res, 0, sizeof(res));
}

/* Turns the loop until a result arrives or ms pass. */
static void wait_result(unsigned ms)
{
	int calls = res.calls;
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, ms, ch_test_re_stop_h, NULL);
	while (res.calls == calls && tmr_isrunning(&t))
		(void)re_main(NULL);
	tmr_cancel(&t);
}

static struct ch_player *player_new(const struct ch_player_config *cfg)
{
	struct ch_player *p = NULL;

	assert_int_equal(ch_player_alloc(&p, cfg, done_h, &res), 0);
	return p;
}

/* Submits urls and waits for the result. */
static void play_urls(struct ch_player *p, const char *const *urls, size_t n,
                      unsigned wait_ms)
{
	struct ch_player_req req = {
	    .kind = CH_PLAYER_URLS, .urls = urls, .nurls = n};
	uint64_t job = 0;

	result_clear();
	assert_int_equal(ch_player_submit(p, &req, &job), 0);
	assert_true(job != 0);
	wait_result(wait_ms);
	assert_int_equal(res.calls, 1);
	assert_true(res.job == job);
}

/* The tone at its level at the three rates, in the middle of the clip. */
static void check_tone(const struct ch_pcm *pcm, double hz, double db)
{
	static const uint32_t rates[] = {8000, 16000, 48000};

	for (size_t i = 0; i < 3; i++) {
		size_t spf = ch_pcm_frame_samples(rates[i]);
		size_t n = (size_t)pcm->frames * spf;
		const int16_t *x = ch_pcm_frame(pcm, rates[i], 0);
		double got = ch_test_tone_db(x + n / 4, n / 2, hz, rates[i]);
		double off =
		    ch_test_tone_db(x + n / 4, n / 2, hz * 1.61, rates[i]);

		if (fabs(got - db) > 1.5 || off > got - 30)
			fail_msg("%u Hz: %.0f Hz at %.1f dB (want %.1f), off "
			         "%.1f dB",
			         rates[i], hz, got, db, off);
	}
}

/* ---- tests: HTTP --------------------------------------------------- */

static void test_http_ok(void **state)
{
	struct ch_player_config cfg = {0};
	struct ch_player *p = player_new(&cfg);
	char url[128];
	const char *urls[2] = {url, url};

	url_of(url, sizeof(url), "/tone.wav");
	play_urls(p, urls, 1, 5000);
	assert_int_equal(res.err, 0);
	assert_non_null(res.pcm);
	assert_in_range(res.pcm->frames, 49, 51);
	check_tone(res.pcm, TONE_HZ, 20 * log10(TONE_AMP));

	/* Two URLs: one clip, one after the other. */
	play_urls(p, urls, 2, 5000);
	assert_int_equal(res.err, 0);
	assert_in_range(res.pcm->frames, 99, 101);
	check_tone(res.pcm, TONE_HZ, 20 * log10(TONE_AMP));
	result_clear();
	ch_player_free(p);
}

static void test_http_404(void **state)
{
	struct ch_player_config cfg = {0};
	struct ch_player *p = player_new(&cfg);
	char url[128], want[256];
	const char *urls[1] = {url};

	url_of(url, sizeof(url), "/missing.wav");
	play_urls(p, urls, 1, 5000);
	assert_int_not_equal(res.err, 0);
	assert_null(res.pcm);
	snprintf(want, sizeof(want), "HTTP 404 for %s", url);
	assert_string_equal(res.why, want);
	result_clear();
	ch_player_free(p);
}

static void test_http_size_cap(void **state)
{
	struct ch_player_config cfg = {.max_bytes = 100000};
	struct ch_player *p = player_new(&cfg);
	char url[128];
	const char *urls[1] = {url};

	url_of(url, sizeof(url), "/big");
	play_urls(p, urls, 1, 5000);
	assert_int_equal(res.err, EFBIG);
	assert_null(res.pcm);
	assert_non_null(strstr(res.why, "larger than 100000 bytes"));
	result_clear();
	ch_player_free(p);
}

static void test_http_timeout(void **state)
{
	struct ch_player_config cfg = {.total_timeout_ms = 300};
	struct ch_player *p = player_new(&cfg);
	char url[128];
	const char *urls[1] = {url};
	struct timespec a, b;

	url_of(url, sizeof(url), "/hang");
	clock_gettime(CLOCK_MONOTONIC, &a);
	play_urls(p, urls, 1, 5000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(res.err, ETIMEDOUT);
	assert_non_null(strstr(res.why, "timed out"));
	/* About the timeout, not the 5 s the test waits at most. */
	assert_true((b.tv_sec - a.tv_sec) * 1000 +
	                (b.tv_nsec - a.tv_nsec) / 1000000 <
	            2000);
	result_clear();
	ch_player_free(p);
}

static void test_redirect_to_file(void **state)
{
	struct ch_player_config cfg = {0};
	struct ch_player *p = player_new(&cfg);
	char url[128];
	const char *urls[1] = {url};

	url_of(url, sizeof(url), "/to-file");
	play_urls(p, urls, 1, 5000);
	assert_int_not_equal(res.err, 0);
	assert_null(res.pcm);
	result_clear();
	ch_player_free(p);
}

static void test_cancel(void **state)
{
	struct ch_player_config cfg = {.total_timeout_ms = 800, .threads = 1};
	struct ch_player *p = player_new(&cfg);
	struct ch_player_req beep = {.kind = CH_PLAYER_BEEP};
	char url[128];
	const char *urls[1] = {url};
	struct ch_player_req hang = {
	    .kind = CH_PLAYER_URLS, .urls = urls, .nurls = 1};
	uint64_t j1 = 0, j2 = 0, j3 = 0;

	url_of(url, sizeof(url), "/hang");
	result_clear();
	/* j1 runs (one thread), j2 waits in the queue behind it. */
	assert_int_equal(ch_player_submit(p, &hang, &j1), 0);
	assert_int_equal(ch_player_submit(p, &beep, &j2), 0);
	ch_test_run_ms(100);
	ch_player_cancel(p, j1);
	ch_player_cancel(p, j2);
	ch_player_cancel(p, 987654); /* unknown: ignored */
	ch_test_run_ms(1500);
	assert_int_equal(res.calls, 0);
	/* The service still works. */
	assert_int_equal(ch_player_submit(p, &beep, &j3), 0);
	assert_true(j1 != j2 && j2 != j3 && j1 != j3);
	wait_result(3000);
	assert_int_equal(res.calls, 1);
	assert_true(res.job == j3);
	result_clear();
	/* Freed with a job running: no handler call, no leak. */
	assert_int_equal(ch_player_submit(p, &hang, &j1), 0);
	ch_test_run_ms(50);
	ch_player_free(p);
	assert_int_equal(res.calls, 0);
}

/* ---- tests: URL rules and file:// ---------------------------------- */

static void expect_refused(const char *media, const char *url,
                           const char *why_part)
{
	const char *why = NULL;

	assert_int_equal(ch_player_url_check(media, url, &why), EINVAL);
	assert_non_null(why);
	if (why_part && !strstr(why, why_part))
		fail_msg("%s: \"%s\", want \"%s\"", url, why, why_part);
}

static void test_url_rules(void **state)
{
	char longurl[2100];
	const char *why = NULL;

	assert_int_equal(
	    ch_player_url_check(NULL, "http://example.com/a.wav", &why), 0);
	assert_int_equal(ch_player_url_check(
	                     NULL, "HTTPS://example.com:8443/a.mp3?x=1", &why),
	                 0);
	expect_refused(NULL, "ftp://example.com/a.wav", "scheme");
	expect_refused(NULL, "gopher://x/", "scheme");
	expect_refused(NULL, "a.wav", "scheme");
	expect_refused(NULL, "", NULL);
	expect_refused(NULL, NULL, NULL);
	expect_refused(NULL, "http:///a.wav", NULL);
	expect_refused(NULL, "http://user:pw@example.com/a.wav", "password");
	expect_refused(NULL, "http://user@example.com/a.wav", "user");
	expect_refused(NULL, "http://example.com/a b.wav", "spaces");
	expect_refused(NULL, "http://example.com/a\tb.wav", "control");
	expect_refused(NULL, "http://example.com/a\x7f.wav", "control");
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = '\0';
	memcpy(longurl, "http://example.com/", 19);
	expect_refused(NULL, longurl, "2048");
	longurl[2048] = '\0';
	assert_int_equal(ch_player_url_check(NULL, longurl, &why), 0);
}

static void test_file_urls(void **state)
{
	char media[CH_TEST_DIR_MAX + 16], outside[CH_TEST_DIR_MAX + 16];
	char path[CH_TEST_DIR_MAX + 64], url[CH_TEST_DIR_MAX + 80];
	const char *urls[1] = {url};
	struct ch_player_config cfg = {.media_dir = media};
	struct ch_player_req req = {
	    .kind = CH_PLAYER_URLS, .urls = urls, .nurls = 1};
	struct ch_player *p;
	uint64_t job;
	const char *why = NULL;

	snprintf(media, sizeof(media), "%s/media", dir);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	assert_int_equal(mkdir(media, 0700), 0);
	assert_int_equal(mkdir(outside, 0700), 0);
	snprintf(path, sizeof(path), "%s/a.wav", media);
	write_wav(path, 16000, 0.5);
	snprintf(path, sizeof(path), "%s/b.wav", outside);
	write_wav(path, 16000, 0.5);
	snprintf(path, sizeof(path), "%s/link.wav", media);
	snprintf(url, sizeof(url), "%s/b.wav", outside);
	assert_int_equal(symlink(url, path), 0);

	/* Allowed below the media folder, and played. */
	snprintf(url, sizeof(url), "file://%s/a.wav", media);
	assert_int_equal(ch_player_url_check(media, url, &why), 0);
	p = player_new(&cfg);
	play_urls(p, urls, 1, 5000);
	assert_int_equal(res.err, 0);
	assert_in_range(res.pcm->frames, 24, 26);
	check_tone(res.pcm, TONE_HZ, 20 * log10(TONE_AMP));
	result_clear();

	/* Outside, through "..", through a symbolic link: refused, also at
	 * submit. */
	snprintf(url, sizeof(url), "file://%s/b.wav", outside);
	expect_refused(media, url, "outside the media folder");
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	snprintf(url, sizeof(url), "file://%s/../outside/b.wav", media);
	expect_refused(media, url, "outside the media folder");
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	snprintf(url, sizeof(url), "file://%s/link.wav", media);
	expect_refused(media, url, "outside the media folder");
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	/* The media folder itself is not a file below it. */
	snprintf(url, sizeof(url), "file://%s", media);
	expect_refused(media, url, NULL);
	snprintf(url, sizeof(url), "file://%s/none.wav", media);
	expect_refused(media, url, "not found");
	snprintf(url, sizeof(url), "file://example.com%s/a.wav", media);
	expect_refused(media, url, NULL);
	/* A prefix that is not a folder boundary: media-x is not media. */
	snprintf(path, sizeof(path), "%s-x", media);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s-x/c.wav", media);
	write_wav(path, 8000, 0.1);
	snprintf(url, sizeof(url), "file://%s", path);
	expect_refused(media, url, "outside the media folder");
	ch_player_free(p);

	/* No media folder: every file:// URL is refused. */
	snprintf(url, sizeof(url), "file://%s/a.wav", media);
	expect_refused(NULL, url, "not enabled");
	expect_refused("", url, "not enabled");
	cfg.media_dir = NULL;
	p = player_new(&cfg);
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	ch_player_free(p);
}

/* ---- tests: TALK and BEEP ------------------------------------------ */

/* The one .wav file in cache (fails if not exactly one). */
static void cache_file(const char *cache, char *out, size_t len)
{
	char cmd[CH_TEST_DIR_MAX * 2 + 64];
	FILE *ls;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "ls %s/*.wav 2>/dev/null", cache);
	ls = popen(cmd, "r");
	assert_non_null(ls);
	while (fgets(out, (int)len, ls))
		n++;
	pclose(ls);
	assert_int_equal(n, 1);
	out[strcspn(out, "\n")] = '\0';
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Puts a wrapper named espeak-ng first on PATH that counts its runs in
 * count and runs the real one. */
static void espeak_wrapper(const char *bindir, const char *count)
{
	char real[1024] = "", path[CH_TEST_DIR_MAX + 32], *env, *tok, *save;
	const char *old = getenv("PATH");
	FILE *f;

	env = strdup(old ? old : "/usr/bin:/bin");
	assert_non_null(env);
	for (tok = strtok_r(env, ":", &save); tok && !*real;
	     tok = strtok_r(NULL, ":", &save)) {
		snprintf(real, sizeof(real), "%s/espeak-ng", tok);
		if (access(real, X_OK))
			real[0] = '\0';
	}
	free(env);
	if (!*real)
		fail_msg("espeak-ng is not installed");
	assert_int_equal(mkdir(bindir, 0700), 0);
	snprintf(path, sizeof(path), "%s/espeak-ng", bindir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\necho run >> '%s'\nexec '%s' \"$@\"\n", count,
	        real);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
	env = malloc(strlen(bindir) + 2 + (old ? strlen(old) : 0));
	assert_non_null(env);
	sprintf(env, "%s:%s", bindir, old ? old : "");
	assert_int_equal(setenv("PATH", env, 1), 0);
	free(env);
}

static void test_talk(void **state)
{
	char cache[CH_TEST_DIR_MAX + 16], bindir[CH_TEST_DIR_MAX + 16];
	char count[CH_TEST_DIR_MAX + 16], file[CH_TEST_DIR_MAX + 128];
	struct ch_player_config cfg = {.cache_dir = cache};
	struct ch_player_req req = {
	    .kind = CH_PLAYER_TALK,
	    .text = "Welcome to the conference. You are the first participant.",
	    .language = "en-US"};
	struct ch_player *p;
	struct stat st1, st2;
	uint64_t job;
	double rms;

	snprintf(cache, sizeof(cache), "%s/cache/tts", dir);
	snprintf(bindir, sizeof(bindir), "%s/bin", dir);
	snprintf(count, sizeof(count), "%s/runs", dir);
	espeak_wrapper(bindir, count);
	p = player_new(&cfg); /* makes cache/ and cache/tts */

	result_clear();
	assert_int_equal(ch_player_submit(p, &req, &job), 0);
	wait_result(20000);
	assert_int_equal(res.calls, 1);
	if (res.err)
		fail_msg("TALK: %d %s", res.err, res.why);
	assert_true(res.pcm->frames * 20 > 300);
	rms = ch_test_rms_db(res.pcm->r16k, (size_t)res.pcm->frames * 320);
	assert_true(rms > -35);
	assert_true(
	    ch_test_rms_db(res.pcm->r48k, (size_t)res.pcm->frames * 960) > -35);
	assert_int_equal(count_lines(count), 1);
	cache_file(cache, file, sizeof(file));
	assert_int_equal(stat(file, &st1), 0);

	/* The same text again: from the cache, espeak-ng not run. */
	result_clear();
	assert_int_equal(ch_player_submit(p, &req, &job), 0);
	wait_result(20000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.err, 0);
	assert_true(
	    fabs(ch_test_rms_db(res.pcm->r16k, (size_t)res.pcm->frames * 320) -
	         rms) < 0.01);
	assert_int_equal(count_lines(count), 1);
	assert_int_equal(stat(file, &st2), 0);
	assert_true(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
	            st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);

	/* Another language, the same text: another voice, another file. */
	req.language = "de-de";
	result_clear();
	assert_int_equal(ch_player_submit(p, &req, &job), 0);
	wait_result(20000);
	assert_int_equal(res.err, 0);
	assert_int_equal(count_lines(count), 2);
	result_clear();
	ch_player_free(p);
}

static void test_talk_rejected(void **state)
{
	char cache[CH_TEST_DIR_MAX + 16], path[512], big[CH_TTS_MAX_TEXT + 2];
	struct ch_player_config cfg = {.cache_dir = cache};
	struct ch_player_req req = {
	    .kind = CH_PLAYER_TALK, .text = "hello", .language = "xx-XX"};
	struct ch_player *p;
	uint64_t job;
	char *langs, *tok, *save;

	snprintf(cache, sizeof(cache), "%s/cache2", dir);
	p = player_new(&cfg);
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	req.language = NULL;
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	req.language = "en-GB";
	req.text = "";
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	req.text = big;
	assert_int_equal(ch_player_submit(p, &req, &job), EINVAL);
	ch_player_free(p);
	assert_int_equal(
	    ch_tts_render(cache, "xx", "hello", path, sizeof(path)), EINVAL);
	assert_int_equal(ch_tts_render(cache, "en-US", big, path, sizeof(path)),
	                 EINVAL);
	assert_int_equal(ch_tts_render(cache, "en-US", "", path, sizeof(path)),
	                 EINVAL);

	/* Case does not matter; every listed language has a voice. */
	assert_string_equal(ch_tts_voice("EN-us"), "en-us");
	assert_string_equal(ch_tts_voice("zh-cn"), "cmn");
	assert_null(ch_tts_voice("en"));
	langs = strdup(ch_tts_languages());
	assert_non_null(langs);
	int n = 0;
	for (tok = strtok_r(langs, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save), n++)
		if (!ch_tts_voice(tok))
			fail_msg("%s is listed without a voice", tok);
	free(langs);
	assert_true(n >= 16);
}

static void test_beep(void **state)
{
	struct ch_player_config cfg = {0};
	struct ch_player *p = player_new(&cfg);
	struct ch_player_req req = {.kind = CH_PLAYER_BEEP};
	static const uint32_t rates[] = {8000, 16000, 48000};
	uint64_t job;

	result_clear();
	assert_int_equal(ch_player_submit(p, &req, &job), 0);
	wait_result(3000);
	assert_int_equal(res.err, 0);
	assert_int_equal(res.pcm->frames, 13); /* 250 ms, whole frames */
	for (size_t i = 0; i < 3; i++) {
		const int16_t *x = ch_pcm_frame(res.pcm, rates[i], 0);
		size_t n = rates[i] / 4; /* 250 ms */
		double db = ch_test_tone_db(x, n, 1000, rates[i]);

		/* -12 dBFS, a little less for the fades. */
		if (db < -12.5 || db > -11.8)
			fail_msg("%u Hz: beep at %.2f dB", rates[i], db);
		assert_true(ch_test_tone_db(x, n, 440, rates[i]) < db - 30);
		/* Fades: the first and last samples are near zero. */
		assert_true(abs(x[0]) < 50 && abs(x[n - 1]) < 300);
	}
	result_clear();
	ch_player_free(p);
}

static int setup(void **state)
{
	char path[CH_TEST_DIR_MAX + 32];

	if (ch_test_re_group_setup(state))
		return -1;
	ch_test_tmpdir(dir, "chorus-player");
	snprintf(path, sizeof(path), "%s/tone.wav", dir);
	write_wav(path, 16000, 1.0);
	read_file(path, &srv.wav, &srv.wav_len);
	http_start();
	return 0;
}

static int teardown(void **state)
{
	result_clear();
	http_stop();
	ch_test_rmtree(dir);
	return ch_test_re_group_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_ok),
	    cmocka_unit_test(test_http_404),
	    cmocka_unit_test(test_http_size_cap),
	    cmocka_unit_test(test_http_timeout),
	    cmocka_unit_test(test_redirect_to_file),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_url_rules),
	    cmocka_unit_test(test_file_urls),
	    cmocka_unit_test(test_talk),
	    cmocka_unit_test(test_talk_rejected),
	    cmocka_unit_test(test_beep),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
