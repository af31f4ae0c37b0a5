/*
 * media_peer.h: test peers for the media engine's unit tests (header
 * only): plain UDP sockets on 127.0.0.1, driven from libre's main loop by
 * a tmr, that send 20 ms tones as PCMU or Opus RTP to an engine leg and
 * decode and capture what the engine sends back; Goertzel analysis of
 * what a peer heard. The includer starts the engine into T.eng and arms
 * T.send_tmr with send_tick; MAX_PEERS and CAPTURE_SEC may be set before
 * including. Include after <cmocka.h> and libre's re_types.h, re_main.h,
 * re_sa.h and re_tmr.h (libre's headers have no include guards).
 */
#ifndef CH_TEST_MEDIA_PEER_H
#define CH_TEST_MEDIA_PEER_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <opus/opus.h>

#include "media/engine.h"
#include "media/g711.h"
#include "media/rtcp.h"
#include "media/rtp.h"

#ifndef MAX_PEERS
#define MAX_PEERS 8
#endif
#ifndef CAPTURE_SEC
#define CAPTURE_SEC 3
#endif
#define AMP 8000

#define OPUS_PT 111

#define QUIET_DB   30.0 /* own tone at least this far below the others */
#define HEARD_DBFS -24.0

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

static inline struct peer *peer_of_leg(uint32_t leg)
{
	for (size_t i = 0; i < T.npeers; i++)
		if (T.peers[i].leg == leg && !T.peers[i].stranger)
			return &T.peers[i];
	return NULL;
}

/* ---- peers ---- */

static inline void peer_send(struct peer *p)
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

static inline void peer_readable(int flags, void *arg)
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

static inline void send_tick(void *arg)
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

static inline void stop_loop(void *arg)
{
	re_cancel();
}

/* Runs the libre loop (peers sending, engine events) for ms. */
static inline void run_for(unsigned ms)
{
	tmr_start(&T.stop_tmr, ms, stop_loop, NULL);
	re_main(NULL);
}

static inline struct peer *peer_add(enum ch_media_codec codec, double freq)
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
static inline void peer_resume(struct peer *p)
{
	p->sending = true;
	p->resumed = true;
	p->next_ms = tmr_jiffies();
	if (!p->t0)
		p->t0 = p->next_ms;
}

/* Allocates and starts a leg for p in room, p starts sending. */
static inline void peer_join(struct peer *p, uint32_t room, bool rtcp_mux)
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

static inline void peers_close(void)
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

/* Level in dBFS of a sine at freq in x[0..n) sampled at rate
 * (Hann-windowed Goertzel: a full-scale sine reads 0). */
static inline double tone_dbfs(const int16_t *x, size_t n, uint32_t rate,
                               double freq)
{
	double k = 2 * cos(2 * M_PI * freq / rate), s1 = 0, s2 = 0;

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

/* Level in dBFS of a sine at freq in the last second of p's capture. */
static inline double heard_dbfs(const struct peer *p, double freq)
{
	size_t n = p->rate;
	if (p->rx_n < n)
		fail_msg("leg %u (%.0f Hz): %zu samples captured, %zu needed",
		         p->leg, p->freq, p->rx_n, n);
	return tone_dbfs(p->rx + p->rx_n - n, n, p->rate, freq);
}

static inline void capture(unsigned warm_ms, unsigned ms)
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
static inline void check_hears(const struct peer *p, const double *loud,
                               size_t nl, const double *quiet, size_t nq)
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

/* Starts T.eng on 127.0.0.1 with RTP ports lo..hi and the peers' send
 * timer. */
static inline void peers_engine_start(unsigned workers, uint16_t lo,
                                      uint16_t hi,
                                      const struct ch_media_handlers *h,
                                      unsigned rtp_timeout_ms)
{
	struct ch_media_config cfg = {
	    .workers = workers,
	    .rtp_lo = lo,
	    .rtp_hi = hi,
	    .bind_ip = "127.0.0.1",
	    .rtp_timeout_ms = rtp_timeout_ms,
	};
	memset(&T, 0, sizeof(T));
	tmr_init(&T.send_tmr);
	tmr_init(&T.stop_tmr);
	assert_int_equal(ch_media_engine_alloc(&T.eng, &cfg, h, NULL), 0);
	tmr_start(&T.send_tmr, 2, send_tick, NULL);
}

static inline void engine_stop(void)
{
	tmr_cancel(&T.send_tmr);
	tmr_cancel(&T.stop_tmr);
	ch_media_engine_free(T.eng);
	T.eng = NULL;
	peers_close();
}

/* Leaves nothing behind, also after a failed test. */
static inline int teardown(void **state)
{
	(void)state;
	if (T.eng)
		engine_stop();
	return 0;
}

#endif
