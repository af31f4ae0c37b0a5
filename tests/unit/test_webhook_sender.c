/*
 * test_webhook_sender.c: unit tests for events/webhook_sender.c.
 *
 * A tiny HTTP/1.1 server runs on 127.0.0.1 in a thread of the test (plain
 * sockets, one connection at a time, "Connection: close"). It answers 200
 * or 500, or reads the request and never answers. The libre main loop is
 * driven with re_main(); the done handler or a watchdog tmr cancels it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <re_types.h>
#include <re_fmt.h>
#include <re_list.h>
#include <re_main.h>
#include <re_tmr.h>

#include "events/webhook_sender.h"
#include "util/timefmt.h"

/* ---- the test server ---------------------------------------------------- */

enum srv_mode {
	SRV_200,
	SRV_500,
	SRV_SILENT, /* read the request, never answer */
};

#define SRV_BUF  (1024 * 1024)
#define SRV_HELD 16

/* Owned by the test; the server thread writes the fields under lock. */
struct srv {
	int lfd;
	int stop_pipe[2];
	uint16_t port;
	enum srv_mode mode;
	pthread_t thread;
	pthread_mutex_t lock;
	/* guarded by lock */
	unsigned accepted;
	unsigned requests;
	char *last; /* last complete request: head + body */
	size_t last_len;
	size_t last_head_len; /* head length including the blank line */
	/* server thread only */
	int held[SRV_HELD];
	unsigned nheld;
};

/* Waits until fd is readable or the server is told to stop. */
static bool srv_wait(struct srv *sv, int fd)
{
	struct pollfd p[2] = {
	    {.fd = fd, .events = POLLIN},
	    {.fd = sv->stop_pipe[0], .events = POLLIN},
	};

	if (poll(p, 2, 5000) <= 0)
		return false;
	if (p[1].revents)
		return false;
	return p[0].revents != 0;
}

/* Reads one request (head + Content-Length body) from fd into buf.
 * Returns its length, or 0 on error/EOF. */
static size_t srv_read_request(struct srv *sv, int fd, char *buf,
                               size_t *head_len)
{
	size_t len = 0, need = 0;
	char *end;

	*head_len = 0;
	for (;;) {
		ssize_t n;

		if (*head_len && len >= need)
			return len;
		if (len >= SRV_BUF - 1 || !srv_wait(sv, fd))
			return 0;
		n = recv(fd, buf + len, SRV_BUF - 1 - len, 0);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		buf[len] = '\0';
		if (*head_len)
			continue;
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		*head_len = (size_t)(end - buf) + 4;
		const char *cl = strcasestr(buf, "\r\nContent-Length:");
		need = *head_len;
		if (cl && cl < end)
			need += strtoul(cl + 17, NULL, 10);
	}
}

static void *srv_thread(void *arg)
{
	struct srv *sv = arg;
	char *buf = malloc(SRV_BUF);

	if (!buf)
		abort();
	while (srv_wait(sv, sv->lfd)) {
		size_t len, head_len;
		int fd = accept(sv->lfd, NULL, NULL);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&sv->lock);
		sv->accepted++;
		pthread_mutex_unlock(&sv->lock);

		len = srv_read_request(sv, fd, buf, &head_len);
		if (len) {
			pthread_mutex_lock(&sv->lock);
			free(sv->last);
			sv->last = malloc(len + 1);
			if (!sv->last)
				abort();
			memcpy(sv->last, buf, len + 1);
			sv->last_len = len;
			sv->last_head_len = head_len;
			sv->requests++;
			pthread_mutex_unlock(&sv->lock);
		}
		if (len && sv->mode == SRV_SILENT && sv->nheld < SRV_HELD) {
			sv->held[sv->nheld++] = fd;
			continue;
		}
		if (len) {
			char rsp[128];
			int status = sv->mode == SRV_500 ? 500 : 200;
			int n =
			    snprintf(rsp, sizeof(rsp),
			             "HTTP/1.1 %d X\r\nContent-Length: 2\r\n"
			             "Connection: close\r\n\r\nok",
			             status);
			(void)!send(fd, rsp, (size_t)n, MSG_NOSIGNAL);
		}
		close(fd);
	}
	for (unsigned i = 0; i < sv->nheld; i++)
		close(sv->held[i]);
	free(buf);
	return NULL;
}

/* Binds a listening socket on 127.0.0.1, any port. Returns the fd. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void srv_start(struct srv *sv, enum srv_mode mode)
{
	memset(sv, 0, sizeof(*sv));
	sv->mode = mode;
	sv->lfd = listen_any(&sv->port);
	assert_int_equal(pipe(sv->stop_pipe), 0);
	pthread_mutex_init(&sv->lock, NULL);
	assert_int_equal(pthread_create(&sv->thread, NULL, srv_thread, sv), 0);
}

static void srv_stop(struct srv *sv)
{
	(void)!write(sv->stop_pipe[1], "x", 1);
	pthread_join(sv->thread, NULL);
	close(sv->stop_pipe[0]);
	close(sv->stop_pipe[1]);
	close(sv->lfd);
	pthread_mutex_destroy(&sv->lock);
	free(sv->last);
}

static unsigned srv_requests(struct srv *sv)
{
	unsigned n;

	pthread_mutex_lock(&sv->lock);
	n = sv->requests;
	pthread_mutex_unlock(&sv->lock);
	return n;
}

/* Copies the value of header name of the last request into out. */
static bool srv_header(struct srv *sv, const char *name, char *out, size_t size)
{
	char pat[128];
	const char *p, *e;
	bool found = false;

	snprintf(pat, sizeof(pat), "\r\n%s:", name);
	pthread_mutex_lock(&sv->lock);
	p = sv->last ? strcasestr(sv->last, pat) : NULL;
	if (p && (size_t)(p - sv->last) < sv->last_head_len) {
		p += strlen(pat);
		while (*p == ' ')
			p++;
		e = strstr(p, "\r\n");
		if (e && (size_t)(e - p) < size) {
			memcpy(out, p, (size_t)(e - p));
			out[e - p] = '\0';
			found = true;
		}
	}
	pthread_mutex_unlock(&sv->lock);
	return found;
}

static void url_of(char *out, size_t size, uint16_t port, const char *path)
{
	snprintf(out, size, "http://127.0.0.1:%u%s", port, path);
}

/* ---- main loop helpers ----------------------------------------------------
 */

struct ctx {
	struct ch_webhook_result res[16];
	unsigned n;
	unsigned want;     /* cancel the loop after this many results */
	bool timed_out;    /* the watchdog fired */
	bool wrong_thread; /* doneh ran off the main thread */
	pthread_t main_thread;
	struct ch_webhook_sender *free_in_doneh; /* freed by the first doneh */
	struct srv *wait_srv; /* poll mode: cancel once it saw wait_reqs */
	unsigned wait_reqs;
};

static void done_h(const struct ch_webhook_result *res, void *arg)
{
	struct ctx *c = arg;

	if (!pthread_equal(pthread_self(), c->main_thread))
		c->wrong_thread = true;
	if (c->n < 16)
		c->res[c->n] = *res;
	c->n++;
	if (c->free_in_doneh) {
		ch_webhook_sender_free(c->free_in_doneh);
		c->free_in_doneh = NULL;
	}
	if (c->want && c->n >= c->want)
		re_cancel();
}

static void watchdog_h(void *arg)
{
	struct ctx *c = arg;

	c->timed_out = true;
	re_cancel();
}

static struct tmr poll_tmr;

static void poll_h(void *arg)
{
	struct ctx *c = arg;

	if (srv_requests(c->wait_srv) >= c->wait_reqs) {
		re_cancel();
		return;
	}
	tmr_start(&poll_tmr, 5, poll_h, c);
}

/* Runs re_main until doneh cancels it or max_ms pass. */
static void run_loop(struct ctx *c, unsigned max_ms)
{
	struct tmr wd;

	tmr_init(&wd);
	tmr_init(&poll_tmr);
	tmr_start(&wd, max_ms, watchdog_h, c);
	if (c->wait_srv)
		tmr_start(&poll_tmr, 5, poll_h, c);
	assert_int_equal(re_main(NULL), 0);
	tmr_cancel(&wd);
	tmr_cancel(&poll_tmr);
}

static void ctx_init(struct ctx *c, unsigned want)
{
	memset(c, 0, sizeof(*c));
	c->want = want;
	c->main_thread = pthread_self();
}

/* ---- tests ----------------------------------------------------------------
 */

static const char secret[] = "s3cr3t-key";
static const char body[] = "{\"event\":\"conference.started\",\"id\":"
                           "\"7d1c\",\"text\":\"caf\xc3\xa9 \\\"q\\\"\\n\"}";

static void test_sign_vectors(void **state)
{
	char sig[CH_WEBHOOK_SENDER_SIG_LEN];
	char key1[21];
	static const char data2[] = "what do ya want for nothing?";

	(void)state;
	/* RFC 4231 test case 2 */
	ch_webhook_sender_sign("Jefe", data2, strlen(data2), sig);
	assert_string_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c75a0"
	                         "03f089d2739839dec58b964ec3843");
	/* RFC 4231 test case 1: key 20 x 0x0b, "Hi There" */
	memset(key1, 0x0b, 20);
	key1[20] = '\0';
	ch_webhook_sender_sign(key1, "Hi There", 8, sig);
	assert_string_equal(sig, "sha256=b0344c61d8db38535ca8afceaf0bf12b881"
	                         "dc200c9833da726e9376c2e32cff7");
	assert_int_equal(strlen(sig), CH_WEBHOOK_SENDER_SIG_LEN - 1);
	/* empty body, NULL allowed with len 0 */
	char sig2[CH_WEBHOOK_SENDER_SIG_LEN];
	ch_webhook_sender_sign("k", NULL, 0, sig);
	ch_webhook_sender_sign("k", "", 0, sig2);
	assert_string_equal(sig, sig2);
}

static void test_post_200(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct srv sv;
	struct ctx c;
	char url[128], hdr[256], sig[CH_WEBHOOK_SENDER_SIG_LEN];

	(void)state;
	srv_start(&sv, SRV_200);
	ctx_init(&c, 1);
	assert_int_equal(ch_webhook_sender_alloc(&s, 5000, done_h, &c), 0);
	url_of(url, sizeof(url), sv.port, "/hooks/chorus?x=1");
	assert_int_equal(ch_webhook_sender_submit(s, 42, url, secret,
	                                          "evt-0001", body,
	                                          strlen(body)),
	                 0);
	run_loop(&c, 5000);

	assert_false(c.timed_out);
	assert_false(c.wrong_thread);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.res[0].job_id, 42);
	assert_int_equal(c.res[0].http_status, 200);
	assert_string_equal(c.res[0].error, "");

	/* what the receiver saw */
	assert_int_equal(srv_requests(&sv), 1);
	assert_int_equal(
	    strncmp(sv.last, "POST /hooks/chorus?x=1 HTTP/1.1\r\n", 33), 0);
	assert_int_equal(sv.last_len - sv.last_head_len, strlen(body));
	assert_memory_equal(sv.last + sv.last_head_len, body, strlen(body));
	assert_true(srv_header(&sv, "Content-Type", hdr, sizeof(hdr)));
	assert_string_equal(hdr, "application/json");
	assert_true(srv_header(&sv, "X-Chorus-Event-Id", hdr, sizeof(hdr)));
	assert_string_equal(hdr, "evt-0001");
	assert_true(srv_header(&sv, "X-Chorus-Signature", hdr, sizeof(hdr)));
	ch_webhook_sender_sign(secret, sv.last + sv.last_head_len,
	                       sv.last_len - sv.last_head_len, sig);
	assert_string_equal(hdr, sig);
	assert_int_equal(strncmp(hdr, "sha256=", 7), 0);
	assert_int_equal(strlen(hdr), 71);
	assert_false(srv_header(&sv, "Expect", hdr, sizeof(hdr)));

	ch_webhook_sender_free(s);
	srv_stop(&sv);
}

static void test_post_500(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct srv sv;
	struct ctx c;
	char url[128];

	(void)state;
	srv_start(&sv, SRV_500);
	ctx_init(&c, 1);
	assert_int_equal(ch_webhook_sender_alloc(&s, 5000, done_h, &c), 0);
	url_of(url, sizeof(url), sv.port, "/");
	assert_int_equal(
	    ch_webhook_sender_submit(s, 7, url, secret, "e", "{}", 2), 0);
	run_loop(&c, 5000);

	assert_false(c.timed_out);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.res[0].job_id, 7);
	assert_int_equal(c.res[0].http_status, 500);
	assert_string_equal(c.res[0].error, "");

	ch_webhook_sender_free(s);
	srv_stop(&sv);
}

static void test_closed_port(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct ctx c;
	char url[128];
	uint16_t port;

	(void)state;
	close(listen_any(&port)); /* a port nobody listens on */
	ctx_init(&c, 1);
	assert_int_equal(ch_webhook_sender_alloc(&s, 5000, done_h, &c), 0);
	url_of(url, sizeof(url), port, "/");
	assert_int_equal(
	    ch_webhook_sender_submit(s, 9, url, secret, "e", "{}", 2), 0);
	run_loop(&c, 5000);

	assert_false(c.timed_out);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.res[0].job_id, 9);
	assert_int_equal(c.res[0].http_status, 0);
	assert_true(strlen(c.res[0].error) > 0);
	print_message("closed port: %s\n", c.res[0].error);

	ch_webhook_sender_free(s);
}

static void test_no_answer_timeout(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct srv sv;
	struct ctx c;
	char url[128];
	uint64_t t0, ms;

	(void)state;
	srv_start(&sv, SRV_SILENT);
	ctx_init(&c, 1);
	assert_int_equal(ch_webhook_sender_alloc(&s, 300, done_h, &c), 0);
	url_of(url, sizeof(url), sv.port, "/");
	t0 = ch_time_mono_ms();
	assert_int_equal(
	    ch_webhook_sender_submit(s, 11, url, secret, "e", "{}", 2), 0);
	run_loop(&c, 5000);
	ms = ch_time_mono_ms() - t0;

	assert_false(c.timed_out);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.res[0].job_id, 11);
	assert_int_equal(c.res[0].http_status, 0);
	assert_true(strlen(c.res[0].error) > 0);
	assert_true(ms >= 250);
	assert_true(ms < 1500);
	assert_int_equal(srv_requests(&sv), 1);
	print_message("timeout after %llu ms: %s\n", (unsigned long long)ms,
	              c.res[0].error);

	ch_webhook_sender_free(s);
	srv_stop(&sv);
}

/* Several transfers at once; each result carries its own job id. */
static void test_concurrent(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct srv sv;
	struct ctx c;
	char url[128];
	unsigned seen = 0;
	size_t big_len = 200 * 1024;
	char *big = malloc(big_len);

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	srv_start(&sv, SRV_200);
	ctx_init(&c, 5);
	assert_int_equal(ch_webhook_sender_alloc(&s, 5000, done_h, &c), 0);
	url_of(url, sizeof(url), sv.port, "/");
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(ch_webhook_sender_submit(s, 100 + i, url,
		                                          secret, "e", body,
		                                          strlen(body)),
		                 0);
	assert_int_equal(
	    ch_webhook_sender_submit(s, 104, url, secret, "e", big, big_len),
	    0);
	free(big); /* the sender copied it */
	run_loop(&c, 10000);

	assert_false(c.timed_out);
	assert_false(c.wrong_thread);
	assert_int_equal(c.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(c.res[i].http_status, 200);
		assert_true(c.res[i].job_id >= 100 && c.res[i].job_id < 105);
		seen |= 1u << (c.res[i].job_id - 100);
	}
	assert_int_equal(seen, 0x1f);
	assert_int_equal(srv_requests(&sv), 5);

	ch_webhook_sender_free(s);
	srv_stop(&sv);
}

/* free() with jobs in flight (and maybe still queued) returns promptly,
 * reports nothing, and leaks nothing (checked by ASan). */
static void test_free_in_flight(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct srv sv;
	struct ctx c;
	char url[128];
	uint64_t t0, ms;

	(void)state;
	srv_start(&sv, SRV_SILENT);
	ctx_init(&c, 0);
	c.wait_srv = &sv;
	c.wait_reqs = 1;
	assert_int_equal(ch_webhook_sender_alloc(&s, 10000, done_h, &c), 0);
	url_of(url, sizeof(url), sv.port, "/");
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(ch_webhook_sender_submit(s, i, url, secret,
		                                          "e", body,
		                                          strlen(body)),
		                 0);
	run_loop(&c, 5000); /* until the server holds a request */
	assert_false(c.timed_out);

	/* one more that is surely still queued or starting */
	assert_int_equal(
	    ch_webhook_sender_submit(s, 99, url, secret, "e", "{}", 2), 0);
	t0 = ch_time_mono_ms();
	ch_webhook_sender_free(s);
	ms = ch_time_mono_ms() - t0;
	assert_true(ms < 500);

	/* nothing is reported afterwards */
	c.wait_srv = NULL;
	run_loop(&c, 200);
	assert_true(c.timed_out);
	assert_int_equal(c.n, 0);

	srv_stop(&sv);
}

/* stop() makes submit return ESHUTDOWN; bad arguments give EINVAL. */
static void test_stop_and_args(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct ctx c;

	(void)state;
	ctx_init(&c, 0);
	assert_int_equal(ch_webhook_sender_alloc(&s, 0, done_h, &c), EINVAL);
	assert_int_equal(ch_webhook_sender_alloc(&s, 100, NULL, &c), EINVAL);
	assert_null(s);
	assert_int_equal(ch_webhook_sender_alloc(&s, 1000, done_h, &c), 0);

	assert_int_equal(ch_webhook_sender_submit(s, 1, "http://127.0.0.1:1/",
	                                          secret, "a\r\nX-Evil: 1",
	                                          "{}", 2),
	                 EINVAL);
	assert_int_equal(ch_webhook_sender_submit(s, 1, "http://127.0.0.1:1/",
	                                          secret, "", "{}", 2),
	                 EINVAL);
	assert_int_equal(
	    ch_webhook_sender_submit(s, 1, NULL, secret, "e", "{}", 2), EINVAL);
	assert_int_equal(ch_webhook_sender_submit(s, 1, "http://127.0.0.1:1/",
	                                          secret, "e", NULL, 2),
	                 EINVAL);

	ch_webhook_sender_stop(s);
	ch_webhook_sender_stop(s); /* idempotent */
	assert_int_equal(ch_webhook_sender_submit(s, 1, "http://127.0.0.1:1/",
	                                          secret, "e", "{}", 2),
	                 ESHUTDOWN);
	ch_webhook_sender_free(s);
	ch_webhook_sender_free(NULL);
}

/* Non-http(s) schemes are refused by curl and reported as failures. */
static void test_bad_scheme(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct ctx c;

	(void)state;
	ctx_init(&c, 1);
	assert_int_equal(ch_webhook_sender_alloc(&s, 2000, done_h, &c), 0);
	assert_int_equal(ch_webhook_sender_submit(s, 5, "file:///etc/passwd",
	                                          secret, "e", "{}", 2),
	                 0);
	run_loop(&c, 5000);
	assert_false(c.timed_out);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.res[0].job_id, 5);
	assert_int_equal(c.res[0].http_status, 0);
	assert_true(strlen(c.res[0].error) > 0);
	ch_webhook_sender_free(s);
}

/* doneh may free the sender; later results are dropped, nothing leaks. */
static void test_free_in_doneh(void **state)
{
	struct ch_webhook_sender *s = NULL;
	struct srv sv;
	struct ctx c;
	char url[128];

	(void)state;
	srv_start(&sv, SRV_200);
	ctx_init(&c, 0);
	assert_int_equal(ch_webhook_sender_alloc(&s, 5000, done_h, &c), 0);
	c.free_in_doneh = s;
	url_of(url, sizeof(url), sv.port, "/");
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(
		    ch_webhook_sender_submit(s, i, url, secret, "e", "{}", 2),
		    0);
	run_loop(&c, 500);
	assert_true(c.timed_out);
	assert_int_equal(c.n, 1);
	assert_null(c.free_in_doneh);
	srv_stop(&sv);
}

static int group_setup(void **state)
{
	(void)state;
	return libre_init();
}

static int group_teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_vectors),
	    cmocka_unit_test(test_post_200),
	    cmocka_unit_test(test_post_500),
	    cmocka_unit_test(test_closed_port),
	    cmocka_unit_test(test_no_answer_timeout),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_free_in_flight),
	    cmocka_unit_test(test_stop_and_args),
	    cmocka_unit_test(test_bad_scheme),
	    cmocka_unit_test(test_free_in_doneh),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
