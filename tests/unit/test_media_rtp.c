/*
 * test_media_rtp.c: the worker's RTP parse path (libre's header decoder
 * plus our version, padding and bounds checks), header writing, the
 * RTP/RTCP demultiplexing test, and the SPSC ring (one thread and two).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <cmocka.h>

#include "media/ring.h"
#include "media/rtp.h"

static void test_write_parse(void **state)
{
	uint8_t buf[CH_RTP_HDR_LEN + 4];
	struct ch_rtp_pkt p;

	assert_int_equal(
	    ch_rtp_hdr_write(buf, true, 111, 0xfffe, 0x12345678, 0xdeadbeef),
	    CH_RTP_HDR_LEN);
	memcpy(buf + CH_RTP_HDR_LEN, "abcd", 4);
	assert_int_equal(buf[0], 0x80);
	assert_int_equal(buf[1], 0x80 | 111);
	assert_int_equal(ch_rtp_parse(buf, sizeof(buf), &p), 0);
	assert_true(p.marker);
	assert_int_equal(p.pt, 111);
	assert_int_equal(p.seq, 0xfffe);
	assert_int_equal(p.ts, 0x12345678);
	assert_int_equal(p.ssrc, 0xdeadbeef);
	assert_int_equal(p.len, 4);
	assert_memory_equal(p.payload, "abcd", 4);

	/* header only: an empty payload */
	assert_int_equal(ch_rtp_parse(buf, CH_RTP_HDR_LEN, &p), 0);
	assert_int_equal(p.len, 0);
}

static void test_csrc_ext_padding(void **state)
{
	/* V=2 P=1 X=1 CC=1, PT 0; CSRC; ext of 1 word; payload 3; pad 2 */
	uint8_t pkt[] = {0xb1, 0x00, 0x00, 0x01, 0, 0, 0, 160,
	                 1,    2,    3,    4,    9, 9, 9, 9, /* CSRC */
	                 0xbe, 0xde, 0x00, 0x01,             /* ext header */
	                 7,    7,    7,    7,                /* ext data */
	                 'x',  'y',  'z',  0,    2};
	struct ch_rtp_pkt p;

	assert_int_equal(ch_rtp_parse(pkt, sizeof(pkt), &p), 0);
	assert_int_equal(p.len, 3);
	assert_memory_equal(p.payload, "xyz", 3);

	pkt[sizeof(pkt) - 1] = 0; /* padding count 0 */
	assert_int_equal(ch_rtp_parse(pkt, sizeof(pkt), &p), -EBADMSG);
	pkt[sizeof(pkt) - 1] = 6; /* padding beyond the payload */
	assert_int_equal(ch_rtp_parse(pkt, sizeof(pkt), &p), -EBADMSG);
	pkt[sizeof(pkt) - 1] = 5; /* exactly the payload */
	assert_int_equal(ch_rtp_parse(pkt, sizeof(pkt), &p), 0);
	assert_int_equal(p.len, 0);

	/* extension longer than the packet */
	pkt[sizeof(pkt) - 1] = 2;
	pkt[19] = 9;
	assert_int_equal(ch_rtp_parse(pkt, sizeof(pkt), &p), -EBADMSG);
	pkt[19] = 1;
	/* 15 CSRCs do not fit */
	pkt[0] = 0xbf;
	assert_int_equal(ch_rtp_parse(pkt, sizeof(pkt), &p), -EBADMSG);
}

static void test_rejects(void **state)
{
	uint8_t buf[32] = {0x80, 0};
	struct ch_rtp_pkt p;

	for (size_t n = 0; n < CH_RTP_HDR_LEN; n++)
		assert_int_equal(ch_rtp_parse(buf, n, &p), -EBADMSG);
	buf[0] = 0x40; /* version 1 */
	assert_int_equal(ch_rtp_parse(buf, sizeof(buf), &p), -EBADMSG);
	buf[0] = 0x00;
	assert_int_equal(ch_rtp_parse(buf, sizeof(buf), &p), -EBADMSG);
	assert_int_equal(ch_rtp_parse(NULL, 20, &p), -EBADMSG);
}

static void test_is_rtcp(void **state)
{
	uint8_t b[2] = {0x80, 200};
	assert_true(ch_rtp_is_rtcp(b, 2));
	b[1] = 223;
	assert_true(ch_rtp_is_rtcp(b, 2));
	b[1] = 0; /* PCMU */
	assert_false(ch_rtp_is_rtcp(b, 2));
	b[1] = 111; /* opus */
	assert_false(ch_rtp_is_rtcp(b, 2));
	b[1] = 0x80 | 111; /* opus with marker */
	assert_false(ch_rtp_is_rtcp(b, 2));
	assert_false(ch_rtp_is_rtcp(b, 1));
}

static void test_ring_basic(void **state)
{
	struct ch_ring r;
	uint32_t v;

	assert_int_equal(ch_ring_init(&r, 3, 4), -EINVAL);
	assert_int_equal(ch_ring_init(&r, 4, 0), -EINVAL);
	assert_int_equal(ch_ring_init(&r, 4, sizeof(v)), 0);
	assert_false(ch_ring_pop(&r, &v));
	for (uint32_t i = 0; i < 4; i++)
		assert_true(ch_ring_push(&r, &i));
	v = 9;
	assert_false(ch_ring_push(&r, &v));
	assert_int_equal(ch_ring_count(&r), 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(ch_ring_pop(&r, &v));
		assert_int_equal(v, i);
	}
	assert_false(ch_ring_pop(&r, &v));
	ch_ring_destroy(&r);
	ch_ring_destroy(&r);
}

#define RING_ITEMS 1000000u

static void *producer(void *arg)
{
	struct ch_ring *r = arg;
	for (uint64_t i = 0; i < RING_ITEMS; i++) {
		uint64_t e[2] = {i, ~i};
		while (!ch_ring_push(r, e))
			;
	}
	return NULL;
}

/* One producer thread, this thread consumes: order and contents hold. */
static void test_ring_threads(void **state)
{
	struct ch_ring r;
	pthread_t t;
	uint64_t e[2];

	assert_int_equal(ch_ring_init(&r, 64, sizeof(e)), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
	for (uint64_t i = 0; i < RING_ITEMS; i++) {
		while (!ch_ring_pop(&r, e))
			;
		if (e[0] != i || e[1] != ~i)
			fail_msg("item %llu: got %llu", (unsigned long long)i,
			         (unsigned long long)e[0]);
	}
	pthread_join(t, NULL);
	assert_false(ch_ring_pop(&r, e));
	ch_ring_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_parse),
	    cmocka_unit_test(test_csrc_ext_padding),
	    cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_is_rtcp),
	    cmocka_unit_test(test_ring_basic),
	    cmocka_unit_test(test_ring_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
