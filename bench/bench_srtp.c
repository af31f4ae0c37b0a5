/*
 * bench_srtp.c: what a WebRTC leg costs the media worker on top of a
 * plain Opus leg, measured alone on one thread: per 20 ms one SRTP
 * unprotect of the browser's Opus packet and one SRTP protect of the mix
 * sent back (libre srtp, the calls of media/wrtc.c), an SRTCP pair every
 * 5 s, and an ICE consent check (media/stun.c: check + answer) every
 * 2.5 s as Chromium sends them.
 *
 *   bench_srtp [SECONDS_OF_AUDIO] [PAYLOAD_BYTES]   (defaults 600, 80)
 *
 * Prints ns per operation and the CPU, in % of one core, that one
 * participant's transport adds (50 packets/s each way); bench/README.md
 * sets it against the Opus CPU per participant of bench/compare.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <re_types.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_sa.h>
#include <re_srtp.h>

#include "media/rtp.h"
#include "media/stun.h"

#define KEY_LEN 30
#define PKT_CAP 1500

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7);
}

int main(int argc, char **argv)
{
	if (argc > 1 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: bench_srtp [SECONDS_OF_AUDIO] [PAYLOAD_BYTES]\n"
		       "SRTP/SRTCP and ICE consent cost of one WebRTC leg "
		       "(defaults 600 s, 80 bytes)\n");
		return 0;
	}
	int secs = argc > 1 ? atoi(argv[1]) : 600;
	int plen = argc > 2 ? atoi(argv[2]) : 80;
	if (secs < 1 || plen < 1 || plen > 1200) {
		fprintf(stderr, "bench_srtp: bad arguments\n");
		return 2;
	}
	unsigned n = (unsigned)secs * 50;
	uint8_t key_a[KEY_LEN], key_b[KEY_LEN];
	fill(key_a, KEY_LEN, 1);
	fill(key_b, KEY_LEN, 2);
	struct srtp *peer_tx = NULL, *rx = NULL, *tx = NULL, *peer_rx = NULL;
	if (srtp_alloc(&peer_tx, SRTP_AES_CM_128_HMAC_SHA1_80, key_a, KEY_LEN,
	               0) ||
	    srtp_alloc(&rx, SRTP_AES_CM_128_HMAC_SHA1_80, key_a, KEY_LEN, 0) ||
	    srtp_alloc(&tx, SRTP_AES_CM_128_HMAC_SHA1_80, key_b, KEY_LEN, 0) ||
	    srtp_alloc(&peer_rx, SRTP_AES_CM_128_HMAC_SHA1_80, key_b, KEY_LEN,
	               0)) {
		fprintf(stderr, "bench_srtp: srtp_alloc failed\n");
		return 1;
	}
	/* the browser's packets, protected beforehand (in sequence) */
	uint8_t(*in)[PKT_CAP] = malloc((size_t)n * PKT_CAP);
	size_t *in_len = malloc(n * sizeof(*in_len));
	if (!in || !in_len)
		return 1;
	for (unsigned i = 0; i < n; i++) {
		ch_rtp_hdr_write(in[i], false, 111, (uint16_t)i, i * 960,
		                 0x11223344);
		fill(in[i] + CH_RTP_HDR_LEN, (size_t)plen, i);
		struct mbuf mb = {.buf = in[i],
		                  .size = PKT_CAP,
		                  .pos = 0,
		                  .end = CH_RTP_HDR_LEN + (size_t)plen};
		if (srtp_encrypt(peer_tx, &mb)) {
			fprintf(stderr, "bench_srtp: encrypt failed\n");
			return 1;
		}
		in_len[i] = mb.end;
	}
	uint8_t buf[PKT_CAP];
	unsigned bad = 0;
	/* unprotect, as the worker does in place */
	double t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct mbuf mb = {
		    .buf = in[i], .size = PKT_CAP, .pos = 0, .end = in_len[i]};
		if (srtp_decrypt(rx, &mb))
			bad++;
	}
	double t_dec = (now_ns() - t0) / n;
	/* protect what the worker sends */
	t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		ch_rtp_hdr_write(buf, false, 111, (uint16_t)i, i * 960,
		                 0x55667788);
		memset(buf + CH_RTP_HDR_LEN, 0x5a, (size_t)plen);
		struct mbuf mb = {.buf = buf,
		                  .size = PKT_CAP,
		                  .pos = 0,
		                  .end = CH_RTP_HDR_LEN + (size_t)plen};
		if (srtp_encrypt(tx, &mb))
			bad++;
	}
	double t_enc = (now_ns() - t0) / n;
	/* SRTCP: an SR with one report block each way */
	unsigned nr = n / 250 + 1;
	t0 = now_ns();
	for (unsigned i = 0; i < nr; i++) {
		uint8_t r[PKT_CAP] = {0x81, 200, 0, 12};
		struct mbuf mb = {
		    .buf = r, .size = PKT_CAP, .pos = 0, .end = 52};
		if (srtcp_encrypt(tx, &mb))
			bad++;
	}
	double t_rtcp = (now_ns() - t0) / nr;
	/* ICE consent: a controlling check, verified and answered */
	struct ch_stun_hmac *h = NULL;
	if (ch_stun_hmac_alloc(&h))
		return 1;
	static const char ufrag[] = "9f8e7d6c",
	                  pwd[] = "0123456789abcdef01234567";
	uint8_t req[256], ans[256], tid[12] = {1};
	size_t rl = ch_stun_request(h, tid, "9f8e7d6c:Hb8k", pwd, 1853824767,
	                            42, false, req, sizeof(req));
	struct sa src;
	sa_set_str(&src, "192.0.2.7", 50000);
	unsigned nc = n / 125 + 1;
	t0 = now_ns();
	for (unsigned i = 0; i < nc; i++) {
		struct ch_stun_req rq;
		if (ch_stun_check(h, req, rl, ufrag, pwd, &rq) ||
		    !ch_stun_answer(h, &rq, &src, pwd, ans, sizeof(ans)))
			bad++;
	}
	double t_stun = (now_ns() - t0) / nc;
	ch_stun_hmac_free(h);
	if (bad) {
		fprintf(stderr, "bench_srtp: %u operations failed\n", bad);
		return 1;
	}
	/* per participant-second: 50 + 50 packets, 2 SRTCP per 5 s (ours
	 * protected, theirs unprotected: counted as two protects), 0.4
	 * consent checks */
	double ns_s = 50 * (t_dec + t_enc) + 0.4 * t_rtcp + 0.4 * t_stun;
	printf("bench_srtp: %d s of audio, %d-byte Opus payloads, one thread\n",
	       secs, plen);
	printf("  SRTP unprotect  %8.0f ns/packet\n", t_dec);
	printf("  SRTP protect    %8.0f ns/packet\n", t_enc);
	printf("  SRTCP protect   %8.0f ns/report\n", t_rtcp);
	printf("  STUN consent    %8.0f ns/check (verify + answer)\n", t_stun);
	printf(
	    "  per participant %8.1f us per second of audio = %.3f %% of one "
	    "core\n",
	    ns_s / 1000, ns_s / 1e7);
	printf("  10 rooms x 5    %8.2f %% of one core\n", 50 * ns_s / 1e7);
	mem_deref(peer_tx);
	mem_deref(peer_rx);
	mem_deref(rx);
	mem_deref(tx);
	free(in);
	free(in_len);
	return 0;
}
