/*
 * test_cluster_bus.c: the cluster bus (cluster/bus.h) against a real
 * nats-server started on a free port of 127.0.0.1 for the group: publish
 * and subscribe deliver the exact bytes on the control thread; a request
 * between two connections gets the responder's bytes; a request nobody
 * answers ends ENOTCONN or ETIMEDOUT within its timeout; a cancelled
 * request, or one pending when its bus closes, never calls its handler;
 * a connection to a closed port is refused at once, a bad url is EINVAL.
 * Without nats-server the group set-up fails saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nats/nats.h>

#include "cluster/bus.h"
#include "re_loop.h"

#include <re_mem.h>

static pid_t server_pid;
static char server_url[64];
static pthread_t main_thread;

/* The nats-server binary: $PATH, then the Debian places. */
static bool find_server(char *path, size_t size)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/bin", env ? env : "");
	for (char *save, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(path, size, "%s/nats-server", d);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* A port of 127.0.0.1 nobody listens on now. */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static bool port_accepts(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	return ok;
}

static char server_bin[4200];
static int server_port;

/* Starts nats-server on server_port; 0 once it accepts, -1 otherwise. */
static int start_server(void)
{
	char port_s[16];

	snprintf(port_s, sizeof(port_s), "%d", server_port);
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (!server_pid) {
		if (!freopen("/dev/null", "w", stdout) ||
		    !freopen("/dev/null", "w", stderr))
			_exit(126);
		execl(server_bin, server_bin, "-a", "127.0.0.1", "-p", port_s,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && !port_accepts(server_port); i++)
		usleep(10000);
	if (port_accepts(server_port))
		return 0;
	fprintf(stderr, "FAIL: %s does not listen on port %d\n", server_bin,
	        server_port);
	return -1;
}

static void stop_server(void)
{
	if (server_pid <= 0)
		return;
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	server_pid = 0;
}

static int group_setup(void **state)
{
	main_thread = pthread_self();
	if (!find_server(server_bin, sizeof(server_bin))) {
		fprintf(stderr, "FAIL: nats-server not found in $PATH, "
		                "/usr/sbin or /usr/bin (scripts/deps.sh test "
		                "installs it)\n");
		return -1;
	}
	server_port = free_port();
	if (server_port < 0)
		return -1;
	snprintf(server_url, sizeof(server_url), "nats://127.0.0.1:%d",
	         server_port);
	if (start_server())
		return -1;
	return ch_test_re_group_setup(state);
}

static int group_teardown(void **state)
{
	stop_server();
	ch_test_re_group_teardown(state);
	nats_CloseAndWait(5000); /* the library's threads and memory */
	return 0;
}

/* Turns the loop until *flag or max_ms; returns the ms it took. */
static uint64_t run_until(const int *flag, unsigned max_ms)
{
	uint64_t start = tmr_jiffies();
	while (!*flag && tmr_jiffies() - start < max_ms)
		ch_test_run_ms(5);
	return tmr_jiffies() - start;
}

/* What a handler saw. */
struct seen {
	int calls;
	int err;
	bool on_main;
	char subject[128];
	bool had_reply;
	unsigned char data[256];
	size_t len;
};

static void seen_msg_h(const char *subject, const char *reply, const void *data,
                       size_t len, void *arg)
{
	struct seen *s = arg;
	s->calls++;
	s->on_main = pthread_equal(pthread_self(), main_thread);
	snprintf(s->subject, sizeof(s->subject), "%s", subject);
	s->had_reply = reply != NULL;
	s->len = len < sizeof(s->data) ? len : sizeof(s->data);
	memcpy(s->data, data, s->len);
}

static void seen_reply_h(int err, const void *data, size_t len, void *arg)
{
	struct seen *s = arg;
	s->calls++;
	s->err = err;
	s->on_main = pthread_equal(pthread_self(), main_thread);
	s->len = len < sizeof(s->data) ? len : sizeof(s->data);
	if (len)
		memcpy(s->data, data, s->len);
}

static const unsigned char payload[] = {'r', 'o', 'o', 'm', 0, 0xff, '\n', 7};
static const char answer[] = "owner:node-b";

/* The responder: answers every request with answer. */
struct responder {
	struct ch_bus *bus;
	int calls;
	bool on_main;
	unsigned char data[64];
	size_t len;
};

static void respond_h(const char *subject, const char *reply, const void *data,
                      size_t len, void *arg)
{
	struct responder *r = arg;
	r->calls++;
	r->on_main = pthread_equal(pthread_self(), main_thread);
	r->len = len < sizeof(r->data) ? len : sizeof(r->data);
	memcpy(r->data, data, r->len);
	if (reply)
		assert_int_equal(
		    ch_bus_respond(r->bus, reply, answer, sizeof(answer)), 0);
}

static void test_pub_sub(void **state)
{
	struct ch_bus *a = NULL, *b = NULL;
	struct seen sa = {0}, sb = {0};
	struct ch_bus_stats st;

	assert_int_equal(ch_bus_connect(&a, server_url, "node-a"), 0);
	assert_int_equal(ch_bus_connect(&b, server_url, "node-b"), 0);
	assert_int_equal(ch_bus_subscribe(a, "ev.room.*", seen_msg_h, &sa), 0);
	assert_int_equal(ch_bus_subscribe(b, "ev.room.*", seen_msg_h, &sb), 0);
	/* each subscription is at the server once its bus saw a message
	 * of its own (a connection's messages keep their order) */
	assert_int_equal(ch_bus_publish(a, "ev.room.sync", "a", 1), 0);
	assert_int_equal(ch_bus_publish(b, "ev.room.sync", "b", 1), 0);
	run_until(&sa.calls, 2000);
	run_until(&sb.calls, 2000);
	ch_test_run_ms(100); /* the other's sync, if it was in time */
	assert_true(sa.calls >= 1 && sb.calls >= 1);
	int base_a = sa.calls, base_b = sb.calls;
	struct ch_bus_stats st_a, st_b;
	ch_bus_stats(a, &st_a);
	ch_bus_stats(b, &st_b);
	assert_int_equal(st_a.received, (uint64_t)base_a);

	assert_int_equal(
	    ch_bus_publish(a, "ev.room.42", payload, sizeof(payload)), 0);
	for (int i = 0; i < 400 && (sa.calls == base_a || sb.calls == base_b);
	     i++)
		ch_test_run_ms(5);
	ch_test_run_ms(50); /* nothing more comes */
	assert_int_equal(sb.calls, base_b + 1);
	assert_int_equal(sa.calls, base_a + 1);
	assert_true(sb.on_main);
	assert_true(sa.on_main);
	assert_string_equal(sb.subject, "ev.room.42");
	assert_false(sb.had_reply);
	assert_int_equal(sb.len, sizeof(payload));
	assert_memory_equal(sb.data, payload, sizeof(payload));
	assert_memory_equal(sa.data, payload, sizeof(payload));

	ch_bus_stats(a, &st);
	assert_int_equal(st.published, st_a.published + 1);
	assert_int_equal(st.received, st_a.received + 1);
	ch_bus_stats(b, &st);
	assert_int_equal(st.published, st_b.published);
	assert_int_equal(st.received, st_b.received + 1);
	ch_bus_close(a);
	ch_bus_close(b);
}

/* Sends the request again while the server answers "no responders" (b's
 * subscription not there yet); returns the last answer's error. */
static int request_until_answered(struct ch_bus *a, struct seen *s)
{
	for (int i = 0; i < 40; i++) {
		memset(s, 0, sizeof(*s));
		assert_int_equal(ch_bus_request(NULL, a, "act.room.42", payload,
		                                sizeof(payload), 1000,
		                                seen_reply_h, s),
		                 0);
		run_until(&s->calls, 2000);
		assert_int_equal(s->calls, 1);
		if (s->err != ENOTCONN)
			return s->err;
		ch_test_run_ms(50);
	}
	return s->err;
}

static void test_request_reply(void **state)
{
	struct ch_bus *a = NULL;
	struct responder r = {0};
	struct seen s = {0};
	struct ch_bus_stats st;

	assert_int_equal(ch_bus_connect(&a, server_url, "node-a"), 0);
	assert_int_equal(ch_bus_connect(&r.bus, server_url, "node-b"), 0);
	assert_int_equal(ch_bus_subscribe(r.bus, "act.room.*", respond_h, &r),
	                 0);
	assert_int_equal(request_until_answered(a, &s), 0);
	assert_true(s.on_main);
	assert_true(r.on_main);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.len, sizeof(payload));
	assert_memory_equal(r.data, payload, sizeof(payload));
	assert_int_equal(s.len, sizeof(answer));
	assert_memory_equal(s.data, answer, sizeof(answer));

	/* with a handle this time, several at once */
	struct ch_bus_req *req[3] = {NULL};
	struct seen m[3] = {{0}};
	for (int i = 0; i < 3; i++)
		assert_int_equal(ch_bus_request(&req[i], a, "act.room.7", "x",
		                                1, 1000, seen_reply_h, &m[i]),
		                 0);
	for (int i = 0; i < 3; i++) {
		run_until(&m[i].calls, 2000);
		assert_int_equal(m[i].calls, 1);
		assert_int_equal(m[i].err, 0);
		assert_memory_equal(m[i].data, answer, sizeof(answer));
		mem_deref(req[i]);
	}
	ch_test_run_ms(50);
	assert_int_equal(r.calls, 4);
	ch_bus_stats(a, &st);
	assert_int_equal(st.replies, 4);
	assert_true(st.requests >= 4); /* and the retries */
	assert_int_equal(st.timeouts, 0);
	ch_bus_stats(r.bus, &st);
	assert_int_equal(st.published, 4);
	assert_int_equal(st.received, 4);
	ch_bus_close(a);
	ch_bus_close(r.bus);
}

static void test_no_responder(void **state)
{
	struct ch_bus *a = NULL;
	struct seen s = {0};
	const unsigned timeout = 400;

	assert_int_equal(ch_bus_connect(&a, server_url, "node-a"), 0);
	assert_int_equal(ch_bus_request(NULL, a, "act.nobody", "x", 1, timeout,
	                                seen_reply_h, &s),
	                 0);
	uint64_t took = run_until(&s.calls, timeout + 1000);
	ch_test_run_ms(50);
	assert_int_equal(s.calls, 1);
	assert_true(s.on_main);
	assert_true(s.err == ENOTCONN || s.err == ETIMEDOUT);
	assert_true(took <= timeout + 250);
	if (s.err == ETIMEDOUT)
		assert_true(took >= timeout);
	ch_bus_close(a);
}

static void test_timeout(void **state)
{
	struct ch_bus *a = NULL, *b = NULL;
	struct seen s = {0}, sb = {0};
	struct ch_bus_stats st;
	const unsigned timeout = 300;

	/* b subscribes but never answers: only the timer ends it */
	assert_int_equal(ch_bus_connect(&a, server_url, "node-a"), 0);
	assert_int_equal(ch_bus_connect(&b, server_url, "node-b"), 0);
	assert_int_equal(ch_bus_subscribe(b, "act.mute", seen_msg_h, &sb), 0);
	for (int i = 0; i < 40; i++) {
		memset(&s, 0, sizeof(s));
		uint64_t start = tmr_jiffies();
		assert_int_equal(ch_bus_request(NULL, a, "act.mute", "x", 1,
		                                timeout, seen_reply_h, &s),
		                 0);
		uint64_t took = run_until(&s.calls, timeout + 1000);
		assert_int_equal(s.calls, 1);
		if (s.err == ENOTCONN) { /* b's subscription not there yet */
			ch_test_run_ms(50);
			continue;
		}
		assert_int_equal(s.err, ETIMEDOUT);
		assert_true(tmr_jiffies() - start >= timeout);
		assert_true(took <= timeout + 250);
		break;
	}
	assert_int_equal(s.err, ETIMEDOUT);
	assert_true(sb.had_reply);
	ch_bus_stats(a, &st);
	assert_int_equal(st.timeouts, 1);
	ch_bus_close(a);
	ch_bus_close(b);
}

static void test_cancel(void **state)
{
	struct ch_bus *a = NULL;
	struct responder r = {0};
	struct seen s = {0}, c1 = {0}, c2 = {0}, c3 = {0};
	struct ch_bus_req *req = NULL;

	assert_int_equal(ch_bus_connect(&a, server_url, "node-a"), 0);
	assert_int_equal(ch_bus_connect(&r.bus, server_url, "node-b"), 0);
	assert_int_equal(ch_bus_subscribe(r.bus, "act.room.*", respond_h, &r),
	                 0);
	assert_int_equal(request_until_answered(a, &s), 0);
	r.calls = 0;

	/* answered, but cancelled first: the answer comes and is dropped */
	assert_int_equal(ch_bus_request(&req, a, "act.room.1", "x", 1, 200,
	                                seen_reply_h, &c1),
	                 0);
	mem_deref(req);
	/* nobody answers: neither "no responders" nor the timer calls it */
	assert_int_equal(ch_bus_request(&req, a, "act.nobody", "x", 1, 100,
	                                seen_reply_h, &c2),
	                 0);
	mem_deref(req);
	ch_test_run_ms(300);
	assert_int_equal(r.calls, 1); /* it was sent and answered */
	assert_int_equal(c1.calls, 0);
	assert_int_equal(c2.calls, 0);

	/* pending when its bus closes */
	assert_int_equal(ch_bus_request(&req, a, "act.room.2", "x", 1, 100,
	                                seen_reply_h, &c3),
	                 0);
	/* sent at once (the bus sends each message as it comes), not
	 * answered yet: no turn of the loop ran since */
	ch_bus_close(a);
	ch_test_run_ms(300);
	assert_int_equal(c3.calls, 0);
	mem_deref(req);
	ch_bus_close(r.bus);
}

/* The server goes away: a pending request ends ENOTCONN at once; the
 * server comes back on its port: both buses reconnect by themselves. */
static void test_reconnect(void **state)
{
	struct ch_bus *a = NULL, *b = NULL;
	struct seen s = {0}, sb = {0}, sh = {0};

	assert_int_equal(ch_bus_connect(&a, server_url, "node-a"), 0);
	assert_int_equal(ch_bus_connect(&b, server_url, "node-b"), 0);
	assert_int_equal(ch_bus_subscribe(b, "ev.re", seen_msg_h, &sb), 0);
	assert_int_equal(ch_bus_subscribe(b, "act.hang", seen_msg_h, &sh), 0);
	assert_int_equal(ch_bus_publish(b, "ev.re", "b", 1), 0);
	run_until(&sb.calls, 2000);
	assert_int_equal(sb.calls, 1);

	/* b gets it and never answers: pending until the loss */
	assert_int_equal(
	    ch_bus_request(NULL, a, "act.hang", "x", 1, 8000, seen_reply_h, &s),
	    0);
	run_until(&sh.calls, 2000);
	assert_int_equal(sh.calls, 1);
	stop_server();
	uint64_t took = run_until(&s.calls, 8000);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.err, ENOTCONN);
	assert_true(took < 2000);

	assert_int_equal(start_server(), 0);
	sb.calls = 0;
	for (int i = 0; i < 150 && !sb.calls; i++) {
		assert_int_equal(ch_bus_publish(a, "ev.re", "again", 5), 0);
		ch_test_run_ms(100);
	}
	assert_true(sb.calls >= 1);
	assert_int_equal(sb.len, 5);
	assert_memory_equal(sb.data, "again", 5);
	assert_true(sb.on_main);
	ch_bus_close(a);
	ch_bus_close(b);
}

static void test_refused(void **state)
{
	struct ch_bus *a = NULL;
	char url[64];
	int port = free_port();

	assert_true(port > 0);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
	uint64_t start = tmr_jiffies();
	assert_int_equal(ch_bus_connect(&a, url, "node-a"), ECONNREFUSED);
	assert_true(tmr_jiffies() - start < 1000);
	assert_null(a);
	assert_int_equal(ch_bus_connect(&a, "http://127.0.0.1:1", "n"), EINVAL);
	assert_int_equal(ch_bus_connect(&a, "nats://", "n"), EINVAL);
	assert_null(a);
	ch_bus_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pub_sub),
	    cmocka_unit_test(test_request_reply),
	    cmocka_unit_test(test_no_responder),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_reconnect),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
