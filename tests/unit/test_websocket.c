/*
 * test_websocket.c: unit tests for api/websocket (RFC 6455 server side).
 *
 * Pure tests: accept key, frame header parse (lengths, masking, errors,
 * need-more at every byte boundary), header build round trip.
 * Live tests: a libre tcp_listen socket on 127.0.0.1:0 hands each accepted
 * tcp_conn straight to ch_websocket_alloc() (no HTTP); a plain POSIX client
 * in its own thread speaks WebSocket to it. The libre loop runs in the test
 * thread under a watchdog timer. The client thread never calls cmocka: it
 * records the first failing line, and the test thread asserts after join.
 */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_mbuf.h>
#include <re_sa.h>
#include <re_tcp.h>
#include <re_tmr.h>
#include <re_main.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "api/websocket.h"

static const uint8_t test_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Builds one frame (masked with test_mask if asked) into out; returns its
 * length. */
static size_t build_frame(uint8_t *out, bool fin, uint8_t op, const void *data,
                          size_t len, bool masked)
{
	size_t hl = ch_websocket_frame_header(out, fin, op, len,
	                                      masked ? test_mask : NULL);

	if (len)
		memcpy(out + hl, data, len);
	if (masked)
		ch_websocket_unmask(out + hl, len, test_mask, 0);
	return hl + len;
}

/* ---- pure tests ------------------------------------------------------ */

static void test_accept_key(void **state)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
	const char *key2 = "x3JJHMbDL1EzLkh9GBhXDw==";
	char out[29];

	/* RFC 6455 sections 1.3 and 4.2.2 give this pair. */
	assert_int_equal(ch_websocket_accept_key(key, strlen(key), out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ch_websocket_accept_key(key2, strlen(key2), out), 0);
	assert_string_equal(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
	assert_int_equal(ch_websocket_accept_key(NULL, 3, out), EINVAL);
	assert_int_equal(ch_websocket_accept_key(key, 0, out), EINVAL);
}

/* Every proper prefix of a valid frame needs more; the whole parses. */
static void check_frame(const uint8_t *buf, size_t n, bool masked, uint8_t op,
                        uint64_t plen, size_t hl)
{
	struct ch_websocket_frame f;

	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ch_websocket_frame_parse(buf, i, 1 << 20, &f),
		                 0);
		assert_int_equal(f.header_len, i >= hl ? hl : 0);
	}
	assert_int_equal(ch_websocket_frame_parse(buf, n, 1 << 20, &f), n);
	assert_true(f.fin);
	assert_int_equal(f.opcode, op);
	assert_int_equal(f.masked, masked);
	assert_int_equal(f.payload_len, plen);
	assert_int_equal(f.header_len, hl);
	if (masked)
		assert_memory_equal(f.mask, test_mask, 4);
	/* Extra bytes after the frame do not change the answer. */
	assert_int_equal(ch_websocket_frame_parse(buf, n + 1, 1 << 20, &f), n);
}

static void test_frame_parse_lengths(void **state)
{
	static uint8_t buf[70000], payload[70000];
	const size_t lens[] = {0, 5, 125, 126, 1000, 65535, 65536, 69000};
	const size_t hls[] = {2, 2, 2, 4, 4, 4, 10, 10};

	memset(payload, 'a', sizeof(payload));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int m = 0; m < 2; m++) {
			size_t n = build_frame(buf, true, CH_WEBSOCKET_TEXT,
			                       payload, lens[i], m);
			check_frame(buf, n, m, CH_WEBSOCKET_TEXT, lens[i],
			            hls[i] + (m ? 4 : 0));
			if (m)
				ch_websocket_unmask(buf + n - lens[i], lens[i],
				                    test_mask, 0);
			assert_memory_equal(buf + n - lens[i], payload,
			                    lens[i]);
		}
	}
}

static void test_frame_parse_errors(void **state)
{
	struct ch_websocket_frame f;
	uint8_t b[16];

	/* Reserved bits, seen from the first byte on. */
	b[0] = 0x81 | 0x40;
	b[1] = 0x80;
	assert_int_equal(ch_websocket_frame_parse(b, 1, 100, &f), -1);
	/* Unknown opcodes. */
	for (uint8_t op = 3; op < 16; op++) {
		if (op >= 8 && op <= 10)
			continue;
		b[0] = 0x80 | op;
		assert_int_equal(ch_websocket_frame_parse(b, 2, 100, &f), -1);
	}
	/* Fragmented control frame. */
	b[0] = CH_WEBSOCKET_PING;
	assert_int_equal(ch_websocket_frame_parse(b, 1, 100, &f), -1);
	/* Control frame over 125 bytes (126 and 127 forms). */
	b[0] = 0x80 | CH_WEBSOCKET_CLOSE;
	b[1] = 0x80 | 126;
	assert_int_equal(ch_websocket_frame_parse(b, 2, 1000, &f), -1);
	b[1] = 0x80 | 127;
	assert_int_equal(ch_websocket_frame_parse(b, 2, 1000, &f), -1);
	/* 64-bit length with the top bit set. */
	b[0] = 0x80 | CH_WEBSOCKET_BINARY;
	b[1] = 127;
	memset(b + 2, 0, 8);
	b[2] = 0x80;
	assert_int_equal(ch_websocket_frame_parse(b, 10, SIZE_MAX, &f), -1);
	assert_int_equal(f.payload_len, 0);
	/* Payload over max_payload: known before the payload arrives. */
	assert_int_equal(ch_websocket_frame_header(b, true, CH_WEBSOCKET_TEXT,
	                                           200, test_mask),
	                 8);
	assert_int_equal(ch_websocket_frame_parse(b, 4, 199, &f), -1);
	assert_int_equal(f.payload_len, 200);
	assert_int_equal(ch_websocket_frame_parse(b, 8, 200, &f), 0);
	assert_int_equal(f.header_len, 8);
	/* Empty input and NULL are "need more". */
	assert_int_equal(ch_websocket_frame_parse(NULL, 0, 10, &f), 0);
	assert_int_equal(ch_websocket_frame_parse(b, 0, 10, NULL), 0);
}

/* ---- live tests ------------------------------------------------------ */

struct live;
typedef void(client_fn)(struct live *t, int fd);

/* Shared by the test thread and the client thread: the client writes only
 * fail_line and rx*, and the test thread reads them after join. */
struct live {
	struct tcp_sock *ts;
	struct ch_websocket *ws;
	struct tmr watchdog, grace;
	uint16_t port;
	client_fn *client;
	struct mbuf *pending;
	uint32_t ping_ms, idle_ms;
	bool flood; /* send until ENOBUFS right after alloc */
	int flood_err;
	int close_calls, close_err, texts;
	bool timed_out;
	volatile int stop;  /* test thread tells a passive client to leave */
	const uint8_t *raw; /* bytes an error client sends */
	size_t raw_len;
	uint16_t want_code; /* close code an error client expects */
	int fail_line;      /* first failed client check, 0 if none */
	uint8_t rx[200000]; /* client receive buffer: rx_pos..rx_len */
	size_t rx_pos, rx_len;
};

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			t->fail_line = __LINE__;                               \
			return;                                                \
		}                                                              \
	} while (0)

static void stop_loop(void *arg)
{
	re_cancel();
}

static void watchdog_h(void *arg)
{
	struct live *t = arg;

	t->timed_out = true;
	re_cancel();
}

static void texth(const char *text, size_t len, void *arg)
{
	struct live *t = arg;

	t->texts++;
	assert_int_equal(text[len], '\0');
	if (len == 12 && !memcmp(text, "please close", 12)) {
		ch_websocket_close(t->ws, CH_WEBSOCKET_NORMAL);
		assert_int_equal(ch_websocket_send_text(t->ws, "x", 1),
		                 ENOTCONN);
	} else if (len == 7 && !memcmp(text, "free me", 7)) {
		ch_websocket_free(t->ws);
		t->ws = NULL;
		tmr_start(&t->grace, 100, stop_loop, t);
	} else {
		assert_int_equal(ch_websocket_send_text(t->ws, text, len), 0);
	}
}

static void closeh(int err, void *arg)
{
	struct live *t = arg;

	t->close_calls++;
	t->close_err = err;
	/* Run on a little to see that closeh does not fire twice. */
	tmr_start(&t->grace, 100, stop_loop, t);
}

static void flood(struct live *t)
{
	static char big[65536];

	memset(big, 'z', sizeof(big));
	for (int i = 0; i < 2000 && !t->flood_err; i++)
		t->flood_err = ch_websocket_send_text(t->ws, big, sizeof(big));
	ch_websocket_free(t->ws);
	t->ws = NULL;
	t->stop = 1;
	tmr_start(&t->grace, 100, stop_loop, t);
}

static void conn_h(const struct sa *peer, void *arg)
{
	struct live *t = arg;
	struct tcp_conn *tc = NULL;

	assert_int_equal(tcp_accept(&tc, t->ts, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(
	    ch_websocket_alloc(&t->ws, tc, t->pending, texth, closeh, t), 0);
	mem_deref(tc); /* the websocket holds its own reference */
	if (t->ping_ms)
		ch_websocket_set_keepalive(t->ws, t->ping_ms, t->idle_ms);
	if (t->flood)
		flood(t);
}

/* Reads one server frame into *f; *payload points into t->rx until the next
 * read. Returns 0, or -1 on EOF, timeout or a bad frame. */
static int read_frame(struct live *t, int fd, struct ch_websocket_frame *f,
                      const uint8_t **payload)
{
	ssize_t n;
	int r;

	for (;;) {
		r = ch_websocket_frame_parse(t->rx + t->rx_pos,
		                             t->rx_len - t->rx_pos,
		                             sizeof(t->rx) - 14, f);
		if (r > 0) {
			*payload = t->rx + t->rx_pos + f->header_len;
			t->rx_pos += (size_t)r;
			return 0;
		}
		if (r < 0)
			return -1;
		memmove(t->rx, t->rx + t->rx_pos, t->rx_len - t->rx_pos);
		t->rx_len -= t->rx_pos;
		t->rx_pos = 0;
		n = recv(fd, t->rx + t->rx_len, sizeof(t->rx) - t->rx_len, 0);
		if (n <= 0)
			return -1;
		t->rx_len += (size_t)n;
	}
}

static bool send_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static bool send_frame(int fd, bool fin, uint8_t op, const char *s)
{
	uint8_t buf[2048];
	size_t n = build_frame(buf, fin, op, s, strlen(s), true);

	return send_all(fd, buf, n);
}

/* Expects a text (or other op) frame with exactly s as payload. */
static bool expect(struct live *t, int fd, uint8_t op, const char *s)
{
	struct ch_websocket_frame f;
	const uint8_t *p;

	if (read_frame(t, fd, &f, &p) || f.opcode != op || f.masked || !f.fin)
		return false;
	return f.payload_len == strlen(s) && !memcmp(p, s, strlen(s));
}

/* True if the server closed TCP: EOF, or a reset when it closed with our
 * bytes unread (not a receive timeout). */
static bool peer_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* Expects a close frame with code, then the end of the TCP stream. */
static bool expect_close(struct live *t, int fd, uint16_t code)
{
	struct ch_websocket_frame f;
	const uint8_t *p;

	if (read_frame(t, fd, &f, &p) || f.opcode != CH_WEBSOCKET_CLOSE)
		return false;
	if (f.payload_len < 2 || (p[0] << 8 | p[1]) != code)
		return false;
	return peer_closed(fd);
}

static void client_echo(struct live *t, int fd)
{
	static char big[1000];
	const uint8_t bye[] = {0x03, 0xe8, 'b', 'y', 'e'};
	uint8_t buf[64];

	memset(big, 'b', sizeof(big) - 1);
	CHECK(expect(t, fd, CH_WEBSOCKET_TEXT, "pending"));
	CHECK(send_frame(fd, true, CH_WEBSOCKET_TEXT, "hello"));
	CHECK(expect(t, fd, CH_WEBSOCKET_TEXT, "hello"));
	CHECK(send_frame(fd, true, CH_WEBSOCKET_BINARY, "ignored"));
	CHECK(send_frame(fd, false, CH_WEBSOCKET_TEXT, "fra"));
	CHECK(send_frame(fd, true, CH_WEBSOCKET_PING, "p1"));
	CHECK(send_frame(fd, false, CH_WEBSOCKET_CONT, "gme"));
	CHECK(send_frame(fd, true, CH_WEBSOCKET_CONT, "nted \xc3\xa9"));
	CHECK(expect(t, fd, CH_WEBSOCKET_PONG, "p1"));
	CHECK(expect(t, fd, CH_WEBSOCKET_TEXT, "fragmented \xc3\xa9"));
	CHECK(send_frame(fd, true, CH_WEBSOCKET_TEXT, big));
	CHECK(expect(t, fd, CH_WEBSOCKET_TEXT, big));
	/* A close frame split over two writes. */
	size_t n =
	    build_frame(buf, true, CH_WEBSOCKET_CLOSE, bye, sizeof(bye), true);
	CHECK(send_all(fd, buf, 3));
	usleep(20000);
	CHECK(send_all(fd, buf + 3, n - 3));
	CHECK(expect_close(t, fd, 1000));
}

/* The server may close while we still send, so the send is not checked. */
static void client_error(struct live *t, int fd)
{
	(void)send_all(fd, t->raw, t->raw_len);
	CHECK(expect_close(t, fd, t->want_code));
}

static void client_server_close(struct live *t, int fd)
{
	const uint8_t code[] = {0x03, 0xe8};
	struct ch_websocket_frame f;
	const uint8_t *p;
	uint8_t buf[16];

	CHECK(send_frame(fd, true, CH_WEBSOCKET_TEXT, "please close"));
	CHECK(read_frame(t, fd, &f, &p) == 0);
	CHECK(f.opcode == CH_WEBSOCKET_CLOSE && f.payload_len == 2);
	CHECK(!memcmp(p, code, 2));
	/* Data after the server's close is ignored, then we answer. */
	CHECK(send_frame(fd, true, CH_WEBSOCKET_TEXT, "late"));
	CHECK(send_all(
	    fd, buf,
	    build_frame(buf, true, CH_WEBSOCKET_CLOSE, code, 2, true)));
	CHECK(peer_closed(fd));
}

static void client_idle(struct live *t, int fd)
{
	CHECK(expect(t, fd, CH_WEBSOCKET_PING, ""));
	CHECK(expect(t, fd, CH_WEBSOCKET_PING, ""));
	/* No pong: the server must give up and say so. */
	for (;;) {
		struct ch_websocket_frame f;
		const uint8_t *p;

		CHECK(read_frame(t, fd, &f, &p) == 0);
		if (f.opcode == CH_WEBSOCKET_PING)
			continue;
		CHECK(f.opcode == CH_WEBSOCKET_CLOSE && f.payload_len == 2);
		CHECK((p[0] << 8 | p[1]) == CH_WEBSOCKET_GOING_AWAY);
		CHECK(peer_closed(fd));
		return;
	}
}

static void client_free(struct live *t, int fd)
{
	CHECK(send_frame(fd, true, CH_WEBSOCKET_TEXT, "free me"));
	CHECK(peer_closed(fd));
}

static void client_passive(struct live *t, int fd)
{
	while (!t->stop)
		usleep(10000);
}

static void *client_main(void *arg)
{
	struct live *t = arg;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_port = htons(t->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		t->fail_line = __LINE__;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		t->client(t, fd);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* One zeroed live context for client c (tests run one at a time). */
static struct live *live_new(client_fn *c)
{
	static struct live t;

	memset(&t, 0, sizeof(t));
	t.client = c;
	return &t;
}

/* Runs one live exchange: listen, start the client, loop until done. */
static void run_live(struct live *t)
{
	struct sa local;
	pthread_t th;

	tmr_init(&t->watchdog);
	tmr_init(&t->grace);
	assert_int_equal(sa_set_str(&local, "127.0.0.1", 0), 0);
	assert_int_equal(tcp_listen(&t->ts, &local, conn_h, t), 0);
	assert_int_equal(tcp_sock_local_get(t->ts, &local), 0);
	t->port = sa_port(&local);

	tmr_start(&t->watchdog, 10000, watchdog_h, t);
	assert_int_equal(pthread_create(&th, NULL, client_main, t), 0);
	assert_int_equal(re_main(NULL), 0);
	t->stop = 1;
	pthread_join(th, NULL);

	tmr_cancel(&t->watchdog);
	tmr_cancel(&t->grace);
	ch_websocket_free(t->ws);
	t->ws = NULL;
	t->ts = mem_deref(t->ts);
	assert_false(t->timed_out);
	assert_int_equal(t->fail_line, 0);
}

static void test_live_echo(void **state)
{
	struct live *t = live_new(client_echo);
	uint8_t buf[32];

	/* Bytes the HTTP layer read past the request: processed first. */
	t->pending = mbuf_alloc(64);
	mbuf_write_str(t->pending, "junk");
	mbuf_write_mem(
	    t->pending, buf,
	    build_frame(buf, true, CH_WEBSOCKET_TEXT, "pending", 7, true));
	t->pending->pos = 4;
	run_live(t);
	mem_deref(t->pending);
	assert_int_equal(t->close_calls, 1);
	assert_int_equal(t->close_err, 0);
	assert_int_equal(t->texts, 4);
}

static void run_error(const uint8_t *raw, size_t len, uint16_t code, int err)
{
	struct live *t = live_new(client_error);

	t->raw = raw;
	t->raw_len = len;
	t->want_code = code;
	run_live(t);
	assert_int_equal(t->close_calls, 1);
	assert_int_equal(t->close_err, err);
	assert_int_equal(t->texts, 0);
}

static void test_live_errors(void **state)
{
	static uint8_t buf[90000], big[40000];
	size_t n;

	n = build_frame(buf, true, CH_WEBSOCKET_TEXT, "plain", 5, false);
	run_error(buf, n, CH_WEBSOCKET_PROTOCOL_ERROR, EPROTO);

	n = build_frame(buf, true, CH_WEBSOCKET_CONT, "orphan", 6, true);
	run_error(buf, n, CH_WEBSOCKET_PROTOCOL_ERROR, EPROTO);

	n = build_frame(buf, true, CH_WEBSOCKET_TEXT, "\xc0\xaf", 2, true);
	run_error(buf, n, CH_WEBSOCKET_INVALID_DATA, EILSEQ);

	n = build_frame(buf, true, CH_WEBSOCKET_CLOSE, "\x03\xed", 2, true);
	run_error(buf, n, CH_WEBSOCKET_PROTOCOL_ERROR, EPROTO);

	memset(big, 'x', sizeof(big));
	n = build_frame(buf, false, CH_WEBSOCKET_TEXT, big, sizeof(big), true);
	n += build_frame(buf + n, true, CH_WEBSOCKET_CONT, big, sizeof(big),
	                 true);
	run_error(buf, n, CH_WEBSOCKET_TOO_BIG, EMSGSIZE);

	/* Announced too big: refused from the header alone. */
	n = ch_websocket_frame_header(buf, true, CH_WEBSOCKET_TEXT, 1 << 20,
	                              test_mask);
	run_error(buf, n, CH_WEBSOCKET_TOO_BIG, EMSGSIZE);
}

static void test_live_server_close(void **state)
{
	struct live *t = live_new(client_server_close);

	run_live(t);
	assert_int_equal(t->close_calls, 1);
	assert_int_equal(t->close_err, 0);
	assert_int_equal(t->texts, 1);
}

static void test_live_idle(void **state)
{
	struct live *t = live_new(client_idle);

	t->ping_ms = 50;
	t->idle_ms = 300;
	run_live(t);
	assert_int_equal(t->close_calls, 1);
	assert_int_equal(t->close_err, ETIMEDOUT);
}

static void test_live_free_in_handler(void **state)
{
	struct live *t = live_new(client_free);

	run_live(t);
	assert_int_equal(t->texts, 1);
	assert_int_equal(t->close_calls, 0);
}

static void test_live_slow_reader(void **state)
{
	struct live *t = live_new(client_passive);

	t->flood = true;
	run_live(t);
	assert_int_equal(t->flood_err, ENOBUFS);
	assert_int_equal(t->close_calls, 0);
}

static int setup(void **state)
{
	return libre_init();
}

static int teardown(void **state)
{
	libre_close();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_frame_parse_lengths),
	    cmocka_unit_test(test_frame_parse_errors),
	    cmocka_unit_test_setup_teardown(test_live_echo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_server_close, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_live_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_live_free_in_handler, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_live_slow_reader, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
