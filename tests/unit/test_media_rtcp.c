/*
 * test_media_rtcp.c: RTCP building and parsing round trips, receive
 * statistics (loss, wrap, jumps, fraction lost), RTT, and rejection of
 * malformed compound packets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "media/rtcp.h"

static const struct ch_rtcp_sr sr_info = {
    .ssrc = 0x11223344,
    .ntp = 0xe1234567890abcdeULL,
    .rtp_ts = 123456,
    .packets = 500,
    .octets = 80000,
};

static const struct ch_rtcp_block block = {
    .ssrc = 0xaabbccdd,
    .fraction = 25,
    .lost = 42,
    .ext_max = 0x00012345,
    .jitter = 77,
    .lsr = 0x56789abc,
    .dlsr = 65536,
};

static void test_sr_round_trip(void **state)
{
	uint8_t buf[CH_RTCP_MAX_PACKET];
	struct ch_rtcp_info info;

	int len =
	    ch_rtcp_build_sr(buf, sizeof(buf), &sr_info, &block, "chorus-test");
	assert_true(len > 0);
	assert_int_equal(len % 4, 0);
	assert_int_equal(ch_rtcp_parse(buf, (size_t)len, 0xaabbccdd, &info), 0);
	assert_int_equal(info.packets, 2);
	assert_true(info.have_sr);
	assert_int_equal(info.sr.ssrc, sr_info.ssrc);
	assert_true(info.sr.ntp == sr_info.ntp);
	assert_int_equal(info.sr.rtp_ts, sr_info.rtp_ts);
	assert_int_equal(info.sr.packets, sr_info.packets);
	assert_int_equal(info.sr.octets, sr_info.octets);
	assert_true(info.have_block);
	assert_memory_equal(&info.block, &block, sizeof(block));
	assert_true(info.have_cname);
	assert_int_equal(info.cname_len, strlen("chorus-test"));
	assert_memory_equal(info.cname, "chorus-test", info.cname_len);
	assert_false(info.bye);

	/* a block about someone else is not ours */
	assert_int_equal(ch_rtcp_parse(buf, (size_t)len, 1, &info), 0);
	assert_false(info.have_block);
}

static void test_rr_round_trip(void **state)
{
	uint8_t buf[CH_RTCP_MAX_PACKET];
	struct ch_rtcp_info info;
	struct ch_rtcp_block neg = block;

	neg.lost = -5; /* duplicates can make it negative */
	int len = ch_rtcp_build_rr(buf, sizeof(buf), 99, &neg, "x");
	assert_true(len > 0);
	assert_int_equal(ch_rtcp_parse(buf, (size_t)len, block.ssrc, &info), 0);
	assert_false(info.have_sr);
	assert_true(info.have_block);
	assert_int_equal(info.block.lost, -5);

	len = ch_rtcp_build_rr(buf, sizeof(buf), 99, NULL, "x");
	assert_int_equal(len, 8 + 12); /* RR, SDES with a 1-byte CNAME */
	assert_int_equal(ch_rtcp_parse(buf, (size_t)len, 99, &info), 0);
	assert_false(info.have_block);

	/* too small a buffer */
	assert_int_equal(ch_rtcp_build_rr(buf, 8, 99, NULL, "x"), -ENOSPC);
	assert_int_equal(ch_rtcp_build_sr(buf, 20, &sr_info, NULL, "x"),
	                 -ENOSPC);
	assert_int_equal(ch_rtcp_build_sr(buf, sizeof(buf), NULL, NULL, "x"),
	                 -EINVAL);
}

static void test_long_cname_cut(void **state)
{
	uint8_t buf[CH_RTCP_MAX_PACKET];
	char name[200];
	struct ch_rtcp_info info;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	int len = ch_rtcp_build_sr(buf, sizeof(buf), &sr_info, &block, name);
	assert_true(len > 0);
	assert_int_equal(ch_rtcp_parse(buf, (size_t)len, 0, &info), 0);
	assert_int_equal(info.cname_len, CH_RTCP_MAX_CNAME);
}

/* Every prefix of a valid compound must parse or fail cleanly; only the
 * prefixes that end on a packet boundary may parse. */
static void test_truncation(void **state)
{
	uint8_t buf[CH_RTCP_MAX_PACKET];
	struct ch_rtcp_info info;

	int len =
	    ch_rtcp_build_sr(buf, sizeof(buf), &sr_info, &block, "chorus-test");
	for (int n = 0; n < len; n++) {
		int r = ch_rtcp_parse(buf, (size_t)n, 0, &info);
		if (n == 52) /* SR with one block, alone */
			assert_int_equal(r, 0);
		else
			assert_int_equal(r, -EBADMSG);
	}
}

static void test_malformed(void **state)
{
	uint8_t buf[CH_RTCP_MAX_PACKET], bad[CH_RTCP_MAX_PACKET];
	struct ch_rtcp_info info;
	int len = ch_rtcp_build_sr(buf, sizeof(buf), &sr_info, &block, "ab");

	assert_int_equal(ch_rtcp_parse(NULL, 8, 0, &info), -EBADMSG);

	/* version 1 */
	memcpy(bad, buf, (size_t)len);
	bad[0] = (uint8_t)((bad[0] & 0x3f) | 0x40);
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);

	/* length field runs past the end */
	memcpy(bad, buf, (size_t)len);
	bad[3] = 0xff;
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);

	/* SR claims 2 blocks but carries one */
	memcpy(bad, buf, (size_t)len);
	bad[0] = (uint8_t)((bad[0] & 0xe0) | 2);
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);

	/* padding bit on the first (not last) packet */
	memcpy(bad, buf, (size_t)len);
	bad[0] |= 0x20;
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);

	/* padding on the last packet: count 0, and count too large */
	memcpy(bad, buf, (size_t)len);
	bad[52] |= 0x20;
	bad[len - 1] = 0;
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);
	bad[len - 1] = 200;
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);

	/* SDES item longer than its packet */
	memcpy(bad, buf, (size_t)len);
	bad[52 + 9] = 100;
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);

	/* SDES with two chunks announced, one present */
	memcpy(bad, buf, (size_t)len);
	bad[52] = (uint8_t)((bad[52] & 0xe0) | 2);
	assert_int_equal(ch_rtcp_parse(bad, (size_t)len, 0, &info), -EBADMSG);

	/* not a multiple of 4 */
	assert_int_equal(ch_rtcp_parse(buf, (size_t)len - 1, 0, &info),
	                 -EBADMSG);
}

static void test_bye_and_unknown(void **state)
{
	struct ch_rtcp_info info;
	/* BYE with one SSRC and a 3-byte reason, then an APP packet */
	uint8_t pkt[] = {0x81, 203, 0x00, 0x02, 1, 2, 3, 4, 3,   'b', 'y', 'e',
	                 0x80, 204, 0x00, 0x02, 1, 2, 3, 4, 'n', 'a', 'm', 'e'};

	assert_int_equal(ch_rtcp_parse(pkt, sizeof(pkt), 0, &info), 0);
	assert_true(info.bye);
	assert_int_equal(info.packets, 2);

	pkt[8] = 4; /* reason runs past its packet */
	assert_int_equal(ch_rtcp_parse(pkt, sizeof(pkt), 0, &info), -EBADMSG);
	pkt[8] = 3;
	pkt[0] = 0x83; /* three SSRCs announced, only room for two words */
	assert_int_equal(ch_rtcp_parse(pkt, sizeof(pkt), 0, &info), -EBADMSG);
}

static void test_rx_stats(void **state)
{
	struct ch_rtcp_rx rx;
	struct ch_rtcp_block b;

	ch_rtcp_rx_reset(&rx);
	for (uint16_t s = 65530; s != 10; s++) {
		if (s == 2 || s == 3)
			continue; /* two lost across the wrap */
		assert_true(ch_rtcp_rx_update(&rx, s));
	}
	assert_int_equal(ch_rtcp_rx_ext_max(&rx), 65536 + 9);
	assert_int_equal(ch_rtcp_rx_lost(&rx), 2);
	ch_rtcp_rx_block(&rx, 7, 33, 0, 0, &b);
	assert_int_equal(b.ssrc, 7);
	assert_int_equal(b.lost, 2);
	assert_int_equal(b.ext_max, 65536 + 9);
	assert_int_equal(b.jitter, 33);
	assert_int_equal(b.fraction, 2 * 256 / 16);

	/* next interval: nothing lost, a duplicate is harmless */
	assert_true(ch_rtcp_rx_update(&rx, 10));
	assert_true(ch_rtcp_rx_update(&rx, 10));
	assert_true(ch_rtcp_rx_update(&rx, 11));
	ch_rtcp_rx_block(&rx, 7, 0, 0, 0, &b);
	assert_int_equal(b.fraction, 0);
	assert_int_equal(b.lost, 1); /* 2 lost - 1 duplicate */

	/* a big jump needs a second packet to be believed */
	assert_false(ch_rtcp_rx_update(&rx, 30000));
	assert_int_equal(ch_rtcp_rx_ext_max(&rx), 65536 + 11);
	assert_true(ch_rtcp_rx_update(&rx, 30001));
	assert_int_equal(ch_rtcp_rx_ext_max(&rx), 30001);
	assert_int_equal(ch_rtcp_rx_lost(&rx), 0);
}

static void test_rtt(void **state)
{
	/* SR sent at NTP mid m; received back 1.5 s later with dlsr 1 s */
	uint32_t lsr = 0x10000000;
	uint64_t now = ((uint64_t)lsr << 16) + ((uint64_t)98304 << 16);
	double rtt = ch_rtcp_rtt_ms(now, lsr, 65536);
	assert_true(rtt > 499.9 && rtt < 500.1);
	assert_true(ch_rtcp_rtt_ms(now, 0, 0) < 0);
	assert_true(ch_rtcp_rtt_ms(now, lsr, 0x7fffffff) < 0);
	assert_int_equal(ch_rtcp_ntp_mid(0x0123456789abcdefULL), 0x456789ab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sr_round_trip),
	    cmocka_unit_test(test_rr_round_trip),
	    cmocka_unit_test(test_long_cname_cut),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bye_and_unknown),
	    cmocka_unit_test(test_rx_stats),
	    cmocka_unit_test(test_rtt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
