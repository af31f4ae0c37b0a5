/*
 * test_media_stun.c: the ICE-lite STUN checks (media/stun.c) against the
 * RFC 5769 test vectors, and their failure paths (integrity, fingerprint,
 * username, truncation, message class).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include <re_types.h>
#include <re_sa.h>

#include "media/stun.h"

/* RFC 5769 2.1: sample request (username "evtj:h6vY") */
static const uint8_t req[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
    0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};
/* RFC 5769 2.2: sample IPv4 response */
static const uint8_t resp4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};
static const char pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

static struct ch_stun_hmac *h;

static int setup(void **state)
{
	(void)state;
	return ch_stun_hmac_alloc(&h);
}

static int teardown(void **state)
{
	(void)state;
	ch_stun_hmac_free(h);
	return 0;
}

static void test_rfc5769_request(void **state)
{
	struct ch_stun_req rq;
	(void)state;
	assert_int_equal(ch_stun_check(h, req, sizeof(req), "evtj", pwd, &rq),
	                 0);
	assert_memory_equal(rq.tid, req + 8, 12);
	assert_int_equal(rq.priority, 0x6e0001ff);
	assert_false(rq.controlling);
	assert_false(rq.use_candidate);
	/* wrong ufrag, wrong password */
	assert_int_equal(ch_stun_check(h, req, sizeof(req), "h6vY", pwd, &rq),
	                 EPERM);
	assert_int_equal(ch_stun_check(h, req, sizeof(req), "evtj",
	                               "VOkJxbRl1RmTxUk/WvJxBu", &rq),
	                 EPERM);
}

static void test_tampered(void **state)
{
	uint8_t b[sizeof(req)];
	struct ch_stun_req rq;
	(void)state;
	/* a flipped bit in the integrity, in the body, in the fingerprint */
	const size_t at[] = {sizeof(req) - 20, 30, sizeof(req) - 1};
	for (size_t i = 0; i < 3; i++) {
		memcpy(b, req, sizeof(b));
		b[at[i]] ^= 0x01;
		assert_int_not_equal(
		    ch_stun_check(h, b, sizeof(b), "evtj", pwd, &rq), 0);
	}
	/* every truncation fails, none crashes */
	for (size_t n = 0; n < sizeof(req); n++)
		assert_int_not_equal(ch_stun_check(h, req, n, "evtj", pwd, &rq),
		                     0);
	/* an attribute whose length runs past the end */
	memcpy(b, req, sizeof(b));
	b[23] = 0xff;
	assert_int_equal(ch_stun_check(h, b, sizeof(b), "evtj", pwd, &rq),
	                 EBADMSG);
	/* a response is not a check */
	assert_int_equal(
	    ch_stun_check(h, resp4, sizeof(resp4), "evtj", pwd, &rq), ENOTSUP);
}

static void test_rfc5769_response(void **state)
{
	struct sa m;
	(void)state;
	assert_int_equal(
	    ch_stun_response_check(h, resp4, sizeof(resp4), resp4 + 8, pwd, &m),
	    0);
	struct sa want;
	assert_int_equal(sa_set_str(&want, "192.0.2.1", 32853), 0);
	assert_true(sa_cmp(&m, &want, SA_ALL));
	assert_int_not_equal(
	    ch_stun_response_check(h, resp4, sizeof(resp4), req + 9, pwd, &m),
	    0);
}

static void test_round_trip(void **state)
{
	uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	uint8_t q[256], a[256];
	const char *lpwd = "abcdefghijklmnopqrstuv";
	struct ch_stun_req rq;
	struct sa src, got;
	(void)state;
	size_t n = ch_stun_request(h, tid, "lite:full", lpwd, 1234,
	                           0x0102030405060708ULL, true, q, sizeof(q));
	assert_true(n > 20);
	assert_int_equal(ch_stun_check(h, q, n, "lite", lpwd, &rq), 0);
	assert_true(rq.use_candidate);
	assert_true(rq.controlling);
	assert_int_equal(rq.priority, 1234);
	const char *addrs[] = {"127.0.0.1", "2001:db8::1"};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sa_set_str(&src, addrs[i], 40000), 0);
		size_t m = ch_stun_answer(h, &rq, &src, lpwd, a, sizeof(a));
		assert_true(m > 20);
		assert_int_equal(
		    ch_stun_response_check(h, a, m, tid, lpwd, &got), 0);
		assert_true(sa_cmp(&got, &src, SA_ALL));
		/* keyed by another password: refused */
		assert_int_equal(
		    ch_stun_response_check(h, a, m, tid,
		                           "zzzzzzzzzzzzzzzzzzzzzz", &got),
		    EPERM);
		assert_int_equal(ch_stun_answer(h, &rq, &src, lpwd, a, 30), 0);
	}
	/* a request keyed by a wrong password is refused */
	n = ch_stun_request(h, tid, "lite:full", "wrongwrongwrongwrongwr", 1, 1,
	                    false, q, sizeof(q));
	assert_int_equal(ch_stun_check(h, q, n, "lite", lpwd, &rq), EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc5769_request),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_rfc5769_response),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
