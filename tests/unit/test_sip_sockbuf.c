/*
 * test_sip_sockbuf.c: sip/sip_sockbuf.c finds the UDP sockets bound to an
 * address among the process's descriptors and deepens their receive
 * buffer; a socket on another port, or a TCP socket on the same one, is
 * left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "sip/sip_int.h"

/* A socket of type on 127.0.0.1 port (0: any); *sa gets its address. */
static int bound(int type, uint16_t port, struct sa *sa)
{
	struct sockaddr_in in = {.sin_family = AF_INET,
	                         .sin_port = htons(port)};
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	assert_int_equal(sa_set_sa(sa, (struct sockaddr *)&in), 0);
	return fd;
}

static int rcvbuf(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	return v;
}

/* What SO_RCVBUF alone can give: net.core.rmem_max, doubled. */
static int rmem_max(void)
{
	int v = 0;
	FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &v), 1);
	fclose(f);
	return v;
}

static void test_grows_the_right_socket(void **state)
{
	(void)state;
	struct sa a, b, t;
	int fa = bound(SOCK_DGRAM, 0, &a);
	int fb = bound(SOCK_DGRAM, 0, &b);
	int ft = bound(SOCK_STREAM, sa_port(&a), &t);
	int before_b = rcvbuf(fb), before_t = rcvbuf(ft);
	int want = 4 * 1024 * 1024;

	assert_int_equal(ch_sip_sockbuf_grow(&a, want), 1);
	/* root passes rmem_max (SO_RCVBUFFORCE); others get up to it */
	int got = rcvbuf(fa);
	int floor = geteuid() == 0
	                ? 2 * want
	                : (rmem_max() < want ? 2 * rmem_max() : 2 * want);
	assert_true(got >= floor);
	assert_int_equal(rcvbuf(fb), before_b);
	assert_int_equal(rcvbuf(ft), before_t);
	close(fa);
	close(fb);
	close(ft);
}

static void test_no_socket_there(void **state)
{
	(void)state;
	struct sa a;
	int fa = bound(SOCK_DGRAM, 0, &a);
	close(fa); /* nothing is bound there any more */
	assert_int_equal(ch_sip_sockbuf_grow(&a, 1024 * 1024), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grows_the_right_socket),
	    cmocka_unit_test(test_no_socket_there),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
