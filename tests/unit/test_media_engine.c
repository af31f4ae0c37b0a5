/*
 * test_media_engine.c: the media engine end to end over real UDP on
 * 127.0.0.1. Test peers (plain sockets, driven from libre's main loop with
 * a tmr) send 20 ms tones as PCMU or Opus RTP and decode what the engine
 * sends back; Goertzel filters check who hears whom: every leg hears the
 * others' tones and its own at least 30 dB below; a muted leg is not
 * heard but still hears; an Opus leg and PCMU legs hear each other;
 * packets from a stranger are ignored; the RTP timeout fires once; RTCP
 * SR goes out and a peer's RR reaches the leg's stats; legs and rooms are
 * freed while traffic flows (run under ASan to see it is clean). Run with
 * one worker and with two (two rooms, kept apart). A talker that starts
 * after a pause is heard in the first tick that follows its first packet
 * (its first frames are not held back while the talk detector confirms
 * the start).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <re_types.h>
#include <re_main.h>
#include <re_sa.h>
#include <re_list.h>
#include <re_tmr.h>

#include <opus/opus.h>

#include "media/engine.h"
#include "media/g711.h"
#include "media/rtcp.h"
#include "media/rtp.h"

#include "media_peer.h"

#define TIMEOUT_MS  500
#define STRANGER_HZ 1500.0

static void on_talking(void *arg, uint32_t leg, bool talking)
{
	struct peer *p = peer_of_leg(leg);
	if (!p) {
		T.unknown_events++;
		return;
	}
	if (talking)
		p->talk_on++;
	else
		p->talk_off++;
}

static void on_timeout(void *arg, uint32_t leg)
{
	struct peer *p = peer_of_leg(leg);
	if (!p) {
		T.unknown_events++;
		return;
	}
	p->timeouts++;
}

static const struct ch_media_handlers handlers = {
    .talking = on_talking,
    .rtp_timeout = on_timeout,
};

/* A peer sends an RR about the engine's stream: 25% lost, 3 in all, LSR
 * of the last SR and its delay since (1 ms short, so that clock rounding
 * cannot make the RTT negative). */
static void peer_send_rr(struct peer *p)
{
	uint8_t buf[CH_RTCP_MAX_PACKET];
	struct ch_rtcp_block b = {
	    .ssrc = p->engine_ssrc,
	    .fraction = 64,
	    .lost = 3,
	    .ext_max = 100,
	    .jitter = 80, /* 10 ms at 8 kHz */
	    .lsr = ch_rtcp_ntp_mid(p->sr_ntp),
	};
	uint64_t held = tmr_jiffies() - p->sr_at;
	b.dlsr = held > 1 ? (uint32_t)((held - 1) * 65536 / 1000) : 0;
	int len = ch_rtcp_build_rr(buf, sizeof(buf), p->ssrc, &b, "peer");
	assert_true(len > 0);
	(void)sendto(p->fd, buf, (size_t)len, 0, &p->engine.u.sa,
	             p->engine.len);
}

/* A stranger: its own socket, sending to victim's leg. */
static struct peer *stranger_add(struct peer *victim)
{
	struct peer *s = peer_add(CH_CODEC_PCMU, STRANGER_HZ);
	s->stranger = true;
	s->engine = victim->engine;
	s->leg = victim->leg;
	peer_resume(s);
	return s;
}

/* ---- scenarios ---- */

static void engine_start(unsigned workers, uint16_t lo, uint16_t hi)
{
	peers_engine_start(workers, lo, hi, &handlers, TIMEOUT_MS);
}

/* True if UDP port on 127.0.0.1 can be bound now. */
static bool udp_port_free(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* The first base from 43000 whose 4 ports are free (another process on
 * the machine may hold some), so the exact ports below can be asserted. */
static uint16_t free_quad(void)
{
	for (uint16_t base = 43000; base < 43800; base += 4) {
		bool all = true;
		for (uint16_t i = 0; i < 4 && all; i++)
			all = udp_port_free(base + i);
		if (all)
			return base;
	}
	fail_msg("no 4 free UDP ports in 43000..43799");
	return 0;
}

static void test_api_errors(void **state)
{
	uint16_t base = free_quad();
	struct ch_media_config cfg = {.rtp_lo = base,
	                              .rtp_hi = (uint16_t)(base + 3),
	                              .bind_ip = "127.0.0.1"};
	struct ch_media_engine *eng;
	uint32_t room, leg, legs[3];
	struct sa local, remote;

	cfg.rtp_hi = base;
	assert_int_equal(ch_media_engine_alloc(&eng, &cfg, &handlers, NULL),
	                 EINVAL);
	cfg.rtp_hi = (uint16_t)(base + 3);
	cfg.bind_ip = "not-an-ip";
	assert_int_equal(ch_media_engine_alloc(&eng, &cfg, &handlers, NULL),
	                 EINVAL);
	cfg.bind_ip = "127.0.0.1";
	assert_int_equal(ch_media_engine_alloc(&eng, &cfg, &handlers, NULL), 0);
	assert_int_equal(ch_media_leg_alloc(eng, 42, &leg, &local), ENOENT);
	assert_int_equal(ch_media_room_create(eng, &room), 0);
	assert_int_not_equal(room, 0);
	/* two port pairs in base..base+3 */
	assert_int_equal(ch_media_leg_alloc(eng, room, &legs[0], &local), 0);
	assert_int_equal(sa_port(&local), base);
	assert_int_equal(ch_media_leg_alloc(eng, room, &legs[1], &local), 0);
	assert_int_equal(sa_port(&local), base + 2);
	assert_int_equal(ch_media_leg_alloc(eng, room, &legs[2], &local),
	                 ENOSPC);

	sa_set_str(&remote, "127.0.0.1", 9);
	struct ch_media_leg_params p = {.codec = CH_CODEC_COUNT,
	                                .pt = 9,
	                                .telev_pt = -1,
	                                .remote = &remote};
	assert_int_equal(ch_media_leg_start(eng, legs[0], &p), EINVAL);
	p.codec = CH_CODEC_PCMA;
	p.pt = 200;
	assert_int_equal(ch_media_leg_start(eng, legs[0], &p), EINVAL);
	p.pt = 8;
	assert_int_equal(ch_media_leg_start(eng, 999, &p), ENOENT);
	assert_int_equal(ch_media_leg_start(eng, legs[0], &p), 0);
	assert_int_equal(ch_media_leg_mute(eng, 999, true), ENOENT);

	struct ch_media_leg_stats st;
	assert_int_equal(ch_media_leg_stats(eng, legs[0], &st), 0);
	assert_int_equal(st.codec, CH_CODEC_PCMA);
	assert_true(st.rtt_ms < 0);
	ch_media_leg_free(eng, legs[0]);
	assert_int_equal(ch_media_leg_stats(eng, legs[0], &st), ENOENT);
	ch_media_leg_free(eng, legs[0]); /* twice: ignored */
	ch_media_room_destroy(eng, 12345);
	assert_string_equal(ch_media_codec_name(CH_CODEC_OPUS), "opus");
	assert_string_equal(ch_media_codec_name(CH_CODEC_PCMU), "PCMU");
	ch_media_engine_free(eng);
	ch_media_engine_free(NULL);
}

/* One worker: three PCMU legs, mute, a stranger, an Opus leg, RTCP, the
 * RTP timeout, freeing while traffic flows. */
static void test_one_worker(void **state)
{
	engine_start(1, 42000, 42099);
	uint32_t room;
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	struct peer *a = peer_add(CH_CODEC_PCMU, 440);
	struct peer *b = peer_add(CH_CODEC_PCMU, 660);
	struct peer *c = peer_add(CH_CODEC_PCMU, 880);
	peer_join(a, room, true); /* a also does rtcp-mux */
	peer_join(b, room, false);
	peer_join(c, room, false);
	run_for(300);
	struct peer *s = stranger_add(a);

	/* everyone hears the other two, not itself, not the stranger */
	capture(500, 1200);
	const double fa = 440, fb = 660, fc = 880, fs = STRANGER_HZ;
	check_hears(a, (double[]){fb, fc}, 2, (double[]){fa, fs}, 2);
	check_hears(b, (double[]){fa, fc}, 2, (double[]){fb, fs}, 2);
	check_hears(c, (double[]){fa, fb}, 2, (double[]){fc, fs}, 2);
	s->sending = false;

	struct ch_media_leg_stats st;
	for (struct peer *p = a; p <= c; p++) {
		assert_int_equal(ch_media_leg_stats(T.eng, p->leg, &st), 0);
		assert_true(st.packets_in > 50);
		assert_true(st.packets_in <= p->sent); /* no stranger's */
		assert_true(st.packets_out > 50);
		assert_true(st.talking);
		assert_true(st.level > 50);
		assert_true(st.last_rx_ms > 0);
		assert_int_equal(st.lost, 0);
		assert_int_equal(p->talk_on, 1);
	}

	/* RTCP: a (rtcp-mux) got an SR; its RR shows up in the stats */
	run_for(1200);
	assert_true(a->sr_count >= 1);
	peer_send_rr(a);
	run_for(100);
	assert_int_equal(ch_media_leg_stats(T.eng, a->leg, &st), 0);
	assert_true(st.remote_fraction_lost > 0.24 &&
	            st.remote_fraction_lost < 0.26);
	assert_int_equal(st.remote_lost, 3);
	assert_true(st.remote_jitter_ms > 9.9 && st.remote_jitter_ms < 10.1);
	assert_true(st.rtt_ms >= 0 && st.rtt_ms < 50);

	/* a muted: nobody hears a, a hears the others. Toggled 9001 times
	 * without running the loop, so that the command ring (4096) fills
	 * and the rest waits in the backlog, in order: the last one wins. */
	for (int i = 0; i <= 9000; i++)
		assert_int_equal(ch_media_leg_mute(T.eng, a->leg, i % 2 == 0),
		                 0);
	capture(300, 1200);
	check_hears(a, (double[]){fb, fc}, 2, (double[]){fa}, 1);
	check_hears(b, (double[]){fc}, 1, (double[]){fa, fb}, 2);
	check_hears(c, (double[]){fb}, 1, (double[]){fa, fc}, 2);

	/* an Opus leg joins (the room goes to 48 kHz), a unmuted */
	assert_int_equal(ch_media_leg_mute(T.eng, a->leg, false), 0);
	struct peer *d = peer_add(CH_CODEC_OPUS, 1000);
	peer_join(d, room, false);
	const double fd = 1000;
	capture(700, 1200);
	check_hears(a, (double[]){fb, fc, fd}, 3, (double[]){fa}, 1);
	check_hears(b, (double[]){fa, fc, fd}, 3, (double[]){fb}, 1);
	check_hears(c, (double[]){fa, fb, fd}, 3, (double[]){fc}, 1);
	check_hears(d, (double[]){fa, fb, fc}, 3, (double[]){fd}, 1);
	assert_int_equal(ch_media_leg_stats(T.eng, d->leg, &st), 0);
	assert_int_equal(st.codec, CH_CODEC_OPUS);
	assert_true(st.packets_in > 50 && st.packets_out > 50);

	/* c goes quiet: one timeout for c, none for the others */
	c->sending = false;
	run_for(TIMEOUT_MS + 400);
	assert_int_equal(c->timeouts, 1);
	run_for(TIMEOUT_MS + 100);
	assert_int_equal(c->timeouts, 1); /* once per silence */
	assert_int_equal(a->timeouts + b->timeouts + d->timeouts, 0);
	assert_int_equal(c->talk_off, 1);
	/* c comes back: re-armed, fires again after another silence */
	peer_resume(c);
	run_for(300);
	c->sending = false;
	run_for(TIMEOUT_MS + 400);
	assert_int_equal(c->timeouts, 2);

	/* free legs and the room while everyone keeps sending */
	peer_resume(c);
	ch_media_leg_free(T.eng, b->leg);
	ch_media_leg_free(T.eng, d->leg); /* back to 8 kHz */
	assert_int_equal(ch_media_leg_stats(T.eng, b->leg, &st), ENOENT);
	capture(400, 1200);
	check_hears(a, (double[]){fc}, 1, (double[]){fa, fb, fd}, 3);
	check_hears(c, (double[]){fa}, 1, (double[]){fb, fc, fd}, 3);
	ch_media_room_destroy(T.eng, room);
	assert_int_equal(ch_media_leg_stats(T.eng, a->leg, &st), ENOENT);
	run_for(200);
	assert_int_equal(T.unknown_events, 0);
	engine_stop();
}

/* Two workers, two rooms: each room mixes its own, nothing crosses. */
static void test_two_workers(void **state)
{
	engine_start(2, 42100, 42199);
	uint32_t r1, r2;
	assert_int_equal(ch_media_room_create(T.eng, &r1), 0);
	assert_int_equal(ch_media_room_create(T.eng, &r2), 0);
	const double f[6] = {440, 660, 880, 500, 700, 950};
	struct peer *p[6];
	for (int i = 0; i < 6; i++) {
		p[i] = peer_add(CH_CODEC_PCMU, f[i]);
		peer_join(p[i], i < 3 ? r1 : r2, false);
	}
	capture(800, 1200);
	for (int i = 0; i < 6; i++) {
		int base = i < 3 ? 0 : 3, other = i < 3 ? 3 : 0;
		double loud[2], quiet[4];
		size_t nl = 0, nq = 0;
		for (int j = base; j < base + 3; j++) {
			if (j == i)
				quiet[nq++] = f[j];
			else
				loud[nl++] = f[j];
		}
		for (int j = other; j < other + 3; j++)
			quiet[nq++] = f[j];
		check_hears(p[i], loud, nl, quiet, nq);
	}
	/* destroy one room while it flows; the other goes on */
	ch_media_room_destroy(T.eng, r1);
	capture(200, 1200);
	check_hears(p[3], (double[]){700, 950}, 2, (double[]){500}, 1);
	ch_media_room_destroy(T.eng, r2);
	run_for(100);
	engine_stop();
}

/* Index of the first 20 ms block of p's capture in which freq is at
 * -30 dBFS or more; -1 if none. */
static int first_loud_block(const struct peer *p, double freq)
{
	size_t n = p->rate / 50;
	for (size_t b = 0; (b + 1) * n <= p->rx_n; b++)
		if (tone_dbfs(p->rx + b * n, n, p->rate, freq) >= -30)
			return (int)b;
	return -1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * A talks after a pause of a second (its talk detector off, its jitter
 * buffer idle). Its first packet reaches the worker within 2 ms of b's
 * capture starting; the jitter buffer plays it at the first tick at least
 * its floor (2 ms) after it arrived, so the first packet b gets with a's
 * tone is the first or second one b receives (index 0 or 1). Holding the
 * talkspurt's first frames until the detector confirms it (60 ms) made it
 * the third or fourth. Median of 5 starts, so that one late wake-up of a
 * loaded machine does not decide.
 */
static void test_talk_onset(void **state)
{
	engine_start(1, 42200, 42299);
	uint32_t room;
	int idx[5];
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	struct peer *a = peer_add(CH_CODEC_PCMU, 440);
	struct peer *b = peer_add(CH_CODEC_PCMU, 660);
	peer_join(a, room, false);
	peer_join(b, room, false);
	run_for(500);
	for (int k = 0; k < 5; k++) {
		int offs = a->talk_off;
		a->sending = false;
		run_for(1000);
		assert_int_equal(a->talk_off, offs + 1);
		peer_readable(0, b); /* what came before the start */
		b->rx_n = 0;
		b->capture = true;
		peer_resume(a);
		run_for(200);
		b->capture = false;
		idx[k] = first_loud_block(b, a->freq);
		if (getenv("CH_TEST_VERBOSE"))
			print_message("start %d: a heard in b's packet %d\n", k,
			              idx[k]);
		assert_true(idx[k] >= 0);
	}
	qsort(idx, 5, sizeof(idx[0]), cmp_int);
	if (idx[2] > 1)
		fail_msg("a's first tone frame reached b in its packet %d "
		         "(median of 5), not within one tick",
		         idx[2]);
	ch_media_room_destroy(T.eng, room);
	run_for(100);
	engine_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api_errors),
	    cmocka_unit_test_teardown(test_one_worker, teardown),
	    cmocka_unit_test_teardown(test_two_workers, teardown),
	    cmocka_unit_test_teardown(test_talk_onset, teardown),
	};
	assert_int_equal(libre_init(), 0);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return rc;
}
