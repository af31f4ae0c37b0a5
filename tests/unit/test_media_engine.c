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
 * one worker and with two (two rooms, kept apart).
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

#define MAX_PEERS   8
#define CAPTURE_SEC 3
#define AMP         8000
#define TIMEOUT_MS  500
#define OPUS_PT     111
#define STRANGER_HZ 1500.0
#define QUIET_DB    30.0 /* own tone at least this far below the others */
#define HEARD_DBFS  -24.0

struct peer {
	int fd;
	struct sa engine; /* the leg's local RTP address */
	struct sa addr;   /* this socket's address */
	uint32_t leg;
	enum ch_media_codec codec;
	uint8_t pt;
	uint32_t rate;
	double freq;
	bool sending;
	bool stranger; /* sends to another peer's leg */
	uint64_t next_ms;
	uint64_t sent;
	uint16_t seq;
	uint32_t ts0, ssrc;
	uint64_t t0;  /* ms of timestamp ts0 */
	bool resumed; /* next packet starts a talkspurt */
	double phase;
	OpusEncoder *enc;
	OpusDecoder *dec;
	/* what it receives */
	bool capture;
	size_t rx_n;
	int16_t rx[CAPTURE_SEC * 48000];
	uint64_t rx_pkts;
	uint32_t engine_ssrc;
	uint64_t sr_count;
	uint64_t sr_ntp;
	uint64_t sr_at; /* tmr_jiffies() when it came */
	/* events about its leg */
	int talk_on, talk_off, timeouts;
};

static struct {
	struct ch_media_engine *eng;
	struct peer peers[MAX_PEERS];
	size_t npeers;
	struct tmr send_tmr, stop_tmr;
	int unknown_events;
} T;

static struct peer *peer_of_leg(uint32_t leg)
{
	for (size_t i = 0; i < T.npeers; i++)
		if (T.peers[i].leg == leg && !T.peers[i].stranger)
			return &T.peers[i];
	return NULL;
}

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

/* ---- peers ---- */

static void peer_send(struct peer *p)
{
	uint8_t pkt[CH_RTP_HDR_LEN + 1500];
	int16_t pcm[960];
	size_t n = p->rate / 50;

	for (size_t i = 0; i < n; i++) {
		pcm[i] = (int16_t)(AMP * sin(p->phase));
		p->phase += 2 * M_PI * p->freq / p->rate;
	}
	p->phase = fmod(p->phase, 2 * M_PI);
	/* the RTP clock runs on through pauses, as with DTX; the first
	 * packet after one has the marker bit */
	uint32_t ts =
	    p->ts0 + (uint32_t)((p->next_ms - p->t0) * p->rate / 1000);
	ch_rtp_hdr_write(pkt, p->resumed, p->pt, p->seq++, ts, p->ssrc);
	p->resumed = false;
	int len;
	if (p->codec == CH_CODEC_OPUS) {
		len = opus_encode(p->enc, pcm, (int)n, pkt + CH_RTP_HDR_LEN,
		                  1500);
		if (len <= 0)
			return;
	} else {
		ch_g711_ulaw_encode(pcm, pkt + CH_RTP_HDR_LEN, n);
		len = (int)n;
	}
	(void)sendto(p->fd, pkt, CH_RTP_HDR_LEN + (size_t)len, 0,
	             &p->engine.u.sa, p->engine.len);
	p->sent++;
}

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

static void peer_readable(int flags, void *arg)
{
	struct peer *p = arg;
	uint8_t buf[2048];
	int16_t pcm[5760];

	for (;;) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return;
		if (ch_rtp_is_rtcp(buf, (size_t)n)) {
			struct ch_rtcp_info info;
			if (ch_rtcp_parse(buf, (size_t)n, p->ssrc, &info) ==
			        0 &&
			    info.have_sr) {
				p->sr_count++;
				p->sr_ntp = info.sr.ntp;
				p->sr_at = tmr_jiffies();
			}
			continue;
		}
		struct ch_rtp_pkt rp;
		if (ch_rtp_parse(buf, (size_t)n, &rp) != 0 || rp.pt != p->pt)
			continue;
		p->rx_pkts++;
		p->engine_ssrc = rp.ssrc;
		if (!p->capture)
			continue;
		int got;
		if (p->codec == CH_CODEC_OPUS) {
			got = opus_decode(p->dec, rp.payload,
			                  (opus_int32)rp.len, pcm, 5760, 0);
		} else {
			ch_g711_ulaw_decode(rp.payload, pcm, rp.len);
			got = (int)rp.len;
		}
		for (int i = 0; i < got && p->rx_n < sizeof(p->rx) / 2; i++)
			p->rx[p->rx_n++] = pcm[i];
	}
}

static void send_tick(void *arg)
{
	uint64_t now = tmr_jiffies();

	for (size_t i = 0; i < T.npeers; i++) {
		struct peer *p = &T.peers[i];
		while (p->sending && now >= p->next_ms) {
			peer_send(p);
			p->next_ms += 20;
		}
	}
	tmr_start(&T.send_tmr, 2, send_tick, NULL);
}

static void stop_loop(void *arg)
{
	re_cancel();
}

/* Runs the libre loop (peers sending, engine events) for ms. */
static void run_for(unsigned ms)
{
	tmr_start(&T.stop_tmr, ms, stop_loop, NULL);
	re_main(NULL);
}

static struct peer *peer_add(enum ch_media_codec codec, double freq)
{
	struct peer *p = &T.peers[T.npeers++];
	int err;

	memset(p, 0, sizeof(*p));
	p->codec = codec;
	p->freq = freq;
	p->rate = codec == CH_CODEC_OPUS ? 48000 : 8000;
	p->pt = codec == CH_CODEC_OPUS ? OPUS_PT : 0;
	p->ssrc = 0x1000 + (uint32_t)T.npeers;
	p->seq = (uint16_t)(T.npeers * 1000);
	p->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(p->fd >= 0);
	sa_set_str(&p->addr, "127.0.0.1", 0);
	assert_int_equal(bind(p->fd, &p->addr.u.sa, p->addr.len), 0);
	socklen_t len = sizeof(p->addr.u);
	assert_int_equal(getsockname(p->fd, &p->addr.u.sa, &len), 0);
	p->addr.len = len;
	assert_int_equal(fd_listen(p->fd, FD_READ, peer_readable, p), 0);
	if (codec == CH_CODEC_OPUS) {
		p->enc =
		    opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
		p->dec = opus_decoder_create(48000, 1, &err);
		assert_non_null(p->enc);
		assert_non_null(p->dec);
	}
	return p;
}

/* p starts or resumes sending now. */
static void peer_resume(struct peer *p)
{
	p->sending = true;
	p->resumed = true;
	p->next_ms = tmr_jiffies();
	if (!p->t0)
		p->t0 = p->next_ms;
}

/* Allocates and starts a leg for p in room, p starts sending. */
static void peer_join(struct peer *p, uint32_t room, bool rtcp_mux)
{
	struct ch_media_leg_params prm = {
	    .codec = p->codec,
	    .pt = p->pt,
	    .telev_pt = 101,
	    .dir = CH_DIR_SENDRECV,
	    .remote = &p->addr,
	    .rtcp_mux = rtcp_mux,
	};
	assert_int_equal(ch_media_leg_alloc(T.eng, room, &p->leg, &p->engine),
	                 0);
	assert_int_equal(sa_port(&p->engine) % 2, 0);
	assert_int_equal(ch_media_leg_start(T.eng, p->leg, &prm), 0);
	peer_resume(p);
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

static void peers_close(void)
{
	for (size_t i = 0; i < T.npeers; i++) {
		struct peer *p = &T.peers[i];
		fd_close(p->fd);
		close(p->fd);
		if (p->enc)
			opus_encoder_destroy(p->enc);
		if (p->dec)
			opus_decoder_destroy(p->dec);
	}
	T.npeers = 0;
}

/* ---- analysis ---- */

/* Level in dBFS of a sine at freq in the last second of p's capture
 * (Hann-windowed Goertzel: a full-scale sine reads 0). */
static double heard_dbfs(const struct peer *p, double freq)
{
	size_t n = p->rate;
	if (p->rx_n < n)
		fail_msg("leg %u (%.0f Hz): %zu samples captured, %zu needed",
		         p->leg, p->freq, p->rx_n, n);
	const int16_t *x = p->rx + p->rx_n - n;
	double k = 2 * cos(2 * M_PI * freq / p->rate), s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double w = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n);
		double s = x[i] * w + k * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	double power = s1 * s1 + s2 * s2 - k * s1 * s2;
	double amp = 2 * sqrt(power > 0 ? power : 0) / (n * 0.5);
	return 20 * log10(amp / 32768 + 1e-9);
}

static void capture(unsigned warm_ms, unsigned ms)
{
	run_for(warm_ms);
	for (size_t i = 0; i < T.npeers; i++) {
		T.peers[i].rx_n = 0;
		T.peers[i].capture = true;
	}
	run_for(ms);
	for (size_t i = 0; i < T.npeers; i++)
		T.peers[i].capture = false;
}

/* p hears every tone in loud[] and each tone in quiet[] at least
 * QUIET_DB below the softest loud one. */
static void check_hears(const struct peer *p, const double *loud, size_t nl,
                        const double *quiet, size_t nq)
{
	double softest = 0;
	for (size_t i = 0; i < nl; i++) {
		double db = heard_dbfs(p, loud[i]);
		if (getenv("CH_TEST_VERBOSE"))
			print_message("leg %u hears %.0f Hz at %.1f dBFS\n",
			              p->leg, loud[i], db);
		if (db < HEARD_DBFS)
			fail_msg("leg %u (%.0f Hz) hears %.0f Hz at %.1f dBFS",
			         p->leg, p->freq, loud[i], db);
		if (db < softest)
			softest = db;
	}
	for (size_t i = 0; i < nq; i++) {
		double db = heard_dbfs(p, quiet[i]);
		if (getenv("CH_TEST_VERBOSE"))
			print_message("leg %u: %.0f Hz at %.1f dBFS (quiet)\n",
			              p->leg, quiet[i], db);
		if (db > softest - QUIET_DB)
			fail_msg("leg %u (%.0f Hz) hears %.0f Hz at %.1f dBFS "
			         "(others at %.1f)",
			         p->leg, p->freq, quiet[i], db, softest);
	}
}

/* ---- scenarios ---- */

static void engine_start(unsigned workers, uint16_t lo, uint16_t hi)
{
	struct ch_media_config cfg = {
	    .workers = workers,
	    .rtp_lo = lo,
	    .rtp_hi = hi,
	    .bind_ip = "127.0.0.1",
	    .rtp_timeout_ms = TIMEOUT_MS,
	};
	memset(&T, 0, sizeof(T));
	tmr_init(&T.send_tmr);
	tmr_init(&T.stop_tmr);
	assert_int_equal(ch_media_engine_alloc(&T.eng, &cfg, &handlers, NULL),
	                 0);
	tmr_start(&T.send_tmr, 2, send_tick, NULL);
}

static void engine_stop(void)
{
	tmr_cancel(&T.send_tmr);
	tmr_cancel(&T.stop_tmr);
	ch_media_engine_free(T.eng);
	T.eng = NULL;
	peers_close();
}

/* Leaves nothing behind, also after a failed test. */
static int teardown(void **state)
{
	if (T.eng)
		engine_stop();
	return 0;
}

static void test_api_errors(void **state)
{
	struct ch_media_config cfg = {
	    .rtp_lo = 43000, .rtp_hi = 43003, .bind_ip = "127.0.0.1"};
	struct ch_media_engine *eng;
	uint32_t room, leg, legs[3];
	struct sa local, remote;

	cfg.rtp_hi = 43000;
	assert_int_equal(ch_media_engine_alloc(&eng, &cfg, &handlers, NULL),
	                 EINVAL);
	cfg.rtp_hi = 43003;
	cfg.bind_ip = "not-an-ip";
	assert_int_equal(ch_media_engine_alloc(&eng, &cfg, &handlers, NULL),
	                 EINVAL);
	cfg.bind_ip = "127.0.0.1";
	assert_int_equal(ch_media_engine_alloc(&eng, &cfg, &handlers, NULL), 0);
	assert_int_equal(ch_media_leg_alloc(eng, 42, &leg, &local), ENOENT);
	assert_int_equal(ch_media_room_create(eng, &room), 0);
	assert_int_not_equal(room, 0);
	/* two port pairs in 43000..43003 */
	assert_int_equal(ch_media_leg_alloc(eng, room, &legs[0], &local), 0);
	assert_int_equal(sa_port(&local), 43000);
	assert_int_equal(ch_media_leg_alloc(eng, room, &legs[1], &local), 0);
	assert_int_equal(sa_port(&local), 43002);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_api_errors),
	    cmocka_unit_test_teardown(test_one_worker, teardown),
	    cmocka_unit_test_teardown(test_two_workers, teardown),
	};
	assert_int_equal(libre_init(), 0);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return rc;
}
