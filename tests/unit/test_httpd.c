/*
 * test_httpd.c: unit tests for the HTTP connection layer's limits
 * (api/httpd.c), over real loopback sockets on one libre loop.
 *
 * The clients are plain non-blocking sockets in the test's own thread; the
 * server runs while the test turns the loop for a few milliseconds
 * (run_ms). Covered: a request head that trickles in is answered 408 and
 * closed after the head timeout, while one that completes in time is
 * served (and the next request on the connection gets a new timer); a
 * body that stalls gets 408 after the idle timeout; connections past the
 * cap per address and past the total cap get 503 with a JSON body and are
 * closed, and a slot freed is usable again; idle connections close after
 * the idle timeout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "re_loop.h" /* re_types.h, re_list.h ... */

#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_msg.h>
#include <re_http.h>
#include <re_sa.h>

#include "api/httpd.h"

#define run_ms ch_test_run_ms

struct fix {
	struct ch_httpd *h;
	uint16_t port;
	unsigned requests;
};

static void req_h(struct ch_httpd_conn *conn, const struct http_msg *msg,
                  const char *body, size_t body_len, void *arg)
{
	static char big[64 * 1024];
	struct fix *f = arg;
	(void)body;
	(void)body_len;
	f->requests++;
	if (!pl_strcmp(&msg->path, "/big")) {
		memset(big, 'x', sizeof(big));
		(void)ch_httpd_reply(conn, 200, "OK", "text/plain", big,
		                     sizeof(big), NULL);
		return;
	}
	(void)ch_httpd_reply(conn, 200, "OK", "application/json", "{}", 2,
	                     NULL);
}

static const char *err_h(uint16_t status, void *arg)
{
	(void)arg;
	return status == 503 ? "{\"error\":{\"status\":503}}"
	                     : "{\"error\":{\"status\":0}}";
}

static void set_limits(struct fix *f, unsigned conns, unsigned per_ip,
                       unsigned head_ms, unsigned idle_ms)
{
	struct ch_httpd_limits lim = {
	    .max_conns = conns,
	    .max_conns_per_ip = per_ip,
	    .head_timeout_ms = head_ms,
	    .idle_timeout_ms = idle_ms,
	};
	ch_httpd_limits_set(f->h, &lim);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sa laddr, bound;
	if (!f)
		return -1;
	sa_set_str(&laddr, "127.0.0.1", 0);
	if (ch_httpd_alloc(&f->h, &laddr, req_h, err_h, f) ||
	    ch_httpd_local(f->h, &bound)) {
		free(f);
		return -1;
	}
	f->port = sa_port(&bound);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	ch_httpd_free(f->h);
	free(f);
	return 0;
}

/* A client socket from address from (127.0.0.x), connected. */
static int cli_connect(struct fix *f, const char *from)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, from, &a.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	a.sin_port = htons(f->port);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void cli_send(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL),
	                 (ssize_t)strlen(s));
}

/* What the server sent so far into buf (NUL-terminated); returns true if
 * it also closed the connection. */
static bool cli_read(int fd, char *buf, size_t size)
{
	size_t n = strlen(buf);
	for (;;) {
		ssize_t r = recv(fd, buf + n, size - n - 1, 0);
		if (r > 0) {
			n += (size_t)r;
			buf[n] = '\0';
			continue;
		}
		return r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

/* Limits of 10 connections with these timeouts, and one client. */
static int connect_with(struct fix *f, unsigned head_ms, unsigned idle_ms)
{
	set_limits(f, 10, 10, head_ms, idle_ms);
	return cli_connect(f, "127.0.0.1");
}

/* Sends s[from..to) a byte at a time, every ms milliseconds. */
static void trickle(int fd, const char *s, int from, int to, unsigned ms)
{
	char one[2] = "";
	for (int i = from; i < to; i++) {
		one[0] = s[i];
		cli_send(fd, one);
		run_ms(ms);
	}
}

static void test_head_timeout(void **state)
{
	struct fix *f = *state;
	const char *head = "GET /slow HTTP/1.1\r\nHost: x\r\n";
	char buf[1024] = "";
	int fd = connect_with(f, 300, 5000);

	/* a byte every 50 ms: nothing answered for 300 ms, then 408 */
	trickle(fd, head, 0, 5, 50);
	assert_false(cli_read(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	trickle(fd, head, 5, 10, 50);
	(void)cli_read(fd, buf, sizeof(buf));
	assert_true(!strncmp(buf, "HTTP/1.1 408 ", 13));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_non_null(strstr(buf, "{\"error\":"));
	/* the server closes after letting the client read */
	run_ms(2100);
	assert_true(cli_read(fd, buf, sizeof(buf)));
	assert_int_equal(f->requests, 0);
	assert_int_equal(ch_httpd_conn_count(f->h, NULL), 0);
	close(fd);
}

static void test_head_in_time(void **state)
{
	struct fix *f = *state;
	char buf[1024] = "";
	int fd = connect_with(f, 300, 5000);

	cli_send(fd, "GET /a HTTP/1.1\r\n");
	run_ms(200);
	cli_send(fd, "Host: x\r\n\r\nGET /b HT");
	run_ms(200); /* /b started 200 ms ago, in /a's 400 ms */
	cli_send(fd, "TP/1.1\r\nHost: x\r\n\r\n");
	run_ms(50);
	assert_false(cli_read(fd, buf, sizeof(buf)));
	assert_int_equal(f->requests, 2);
	assert_non_null(
	    strstr(strstr(buf, "HTTP/1.1 200 ") + 1, "HTTP/1.1 200 "));
	close(fd);
}

static void test_body_timeout(void **state)
{
	struct fix *f = *state;
	char buf[1024] = "";
	int fd = connect_with(f, 200, 400);

	cli_send(fd, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
	             "\r\n12345");
	for (int i = 0; i < 3; i++) { /* trickling does not help */
		run_ms(100);
		cli_send(fd, "6");
	}
	run_ms(50);
	assert_false(cli_read(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	run_ms(150);
	(void)cli_read(fd, buf, sizeof(buf));
	assert_true(!strncmp(buf, "HTTP/1.1 408 ", 13));
	assert_int_equal(f->requests, 0);
	close(fd);
}

/* Asserts fd was answered 503 with a JSON body and closed. */
static void assert_turned_away(int fd)
{
	char buf[1024] = "";
	run_ms(50);
	(void)cli_read(fd, buf, sizeof(buf));
	assert_true(!strncmp(buf, "HTTP/1.1 503 ", 13));
	assert_non_null(strstr(buf, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(buf, "Retry-After: 1\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n{\"error\":{\"status\":503}}"));
	run_ms(2100);
	assert_true(cli_read(fd, buf, sizeof(buf)));
}

static void assert_served(int fd)
{
	char buf[1024] = "";
	cli_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	run_ms(50);
	assert_false(cli_read(fd, buf, sizeof(buf)));
	assert_true(!strncmp(buf, "HTTP/1.1 200 ", 13));
}

static void test_conn_caps(void **state)
{
	struct fix *f = *state;
	struct sa one, two;
	int a, b, c, d, e, g, h;

	set_limits(f, 4, 2, 5000, 10000);
	sa_set_str(&one, "127.0.0.1", 0);
	sa_set_str(&two, "127.0.0.2", 0);
	a = cli_connect(f, "127.0.0.1");
	b = cli_connect(f, "127.0.0.1");
	c = cli_connect(f, "127.0.0.1"); /* third from one address */
	run_ms(50);
	assert_int_equal(ch_httpd_conn_count(f->h, &one), 2);
	assert_turned_away(c);
	d = cli_connect(f, "127.0.0.2");
	e = cli_connect(f, "127.0.0.2");
	g = cli_connect(f, "127.0.0.3"); /* fifth in total */
	run_ms(50);
	assert_int_equal(ch_httpd_conn_count(f->h, NULL), 4);
	assert_int_equal(ch_httpd_conn_count(f->h, &two), 2);
	assert_turned_away(g);
	assert_served(a);
	assert_served(b);
	assert_served(d);
	assert_served(e);

	/* a slot freed is usable again, by anyone */
	close(a);
	run_ms(50);
	assert_int_equal(ch_httpd_conn_count(f->h, &one), 1);
	h = cli_connect(f, "127.0.0.3");
	run_ms(50);
	assert_served(h);
	assert_int_equal(ch_httpd_conn_count(f->h, NULL), 4);
	close(b);
	close(c);
	close(d);
	close(e);
	close(g);
	close(h);
	run_ms(50);
	assert_int_equal(ch_httpd_conn_count(f->h, NULL), 0);
}

/* A client that pipelines requests and reads none of the answers: once
 * libre's send queue is full, the connection is closed rather than
 * answers being dropped from the middle of the stream. */
static void test_unread_answers(void **state)
{
	static const char get[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
	struct fix *f = *state;
	int fd = connect_with(f, 5000, 60000);
	int small = 4096;
	unsigned sent = 0;

	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	for (int i = 0; i < 400; i++) {
		if (send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(get) - 1)
			break;
		sent++;
		if (i % 20 == 19)
			run_ms(20);
	}
	run_ms(2200);
	/* 400 answers of 64 KiB are far more than the send queue and the
	 * socket buffers hold: the server stopped and closed */
	assert_int_equal(sent, 400);
	assert_true(f->requests < sent);
	assert_int_equal(ch_httpd_conn_count(f->h, NULL), 0);
	close(fd);
}

static void test_idle_timeout(void **state)
{
	struct fix *f = *state;
	char buf[1024] = "";
	int fd = connect_with(f, 5000, 300);

	assert_served(fd);
	buf[0] = '\0';
	run_ms(200);
	assert_false(cli_read(fd, buf, sizeof(buf)));
	run_ms(200);
	assert_true(cli_read(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	close(fd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_head_timeout), T(test_head_in_time),   T(test_body_timeout),
	    T(test_conn_caps),    T(test_unread_answers), T(test_idle_timeout),
	};
	return cmocka_run_group_tests(tests, ch_test_re_group_setup,
	                              ch_test_re_group_teardown);
}
