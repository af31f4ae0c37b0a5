/*
 * rtcp.c: RTCP receive statistics, SR/RR building and compound parsing
 * (see rtcp.h). Wire format from RFC 3550 section 6; every read of the
 * parser is preceded by a length check against the packet it belongs to.
 */
#include "media/rtcp.h"

#include <errno.h>
#include <string.h>

#define RTCP_SR   200
#define RTCP_RR   201
#define RTCP_SDES 202
#define RTCP_BYE  203

#define SDES_END   0
#define SDES_CNAME 1

#define SEQ_MOD      (1u << 16)
#define MAX_DROPOUT  3000
#define MAX_MISORDER 100

#define SR_INFO_LEN 20 /* NTP (8), RTP ts, packets, octets */
#define BLOCK_LEN   24

/* ---- receive statistics (RFC 3550 A.1, A.3) ---- */

void ch_rtcp_rx_reset(struct ch_rtcp_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
}

static void rx_start(struct ch_rtcp_rx *rx, uint16_t seq)
{
	rx->started = true;
	rx->base_seq = seq;
	rx->max_seq = seq;
	rx->bad_seq = SEQ_MOD + 1;
	rx->cycles = 0;
	rx->received = 0;
	rx->received_prior = 0;
	rx->expected_prior = 0;
}

bool ch_rtcp_rx_update(struct ch_rtcp_rx *rx, uint16_t seq)
{
	if (!rx->started) {
		rx_start(rx, seq);
		rx->received = 1;
		return true;
	}
	uint16_t udelta = (uint16_t)(seq - rx->max_seq);
	if (udelta < MAX_DROPOUT) {
		if (seq < rx->max_seq)
			rx->cycles += SEQ_MOD;
		rx->max_seq = seq;
	} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
		/* a very large jump: believe it only if the next follows */
		if (seq != rx->bad_seq) {
			rx->bad_seq = (seq + 1) & (SEQ_MOD - 1);
			return false;
		}
		rx_start(rx, seq);
	}
	/* else: duplicate or reordered, counted but not advancing */
	rx->received++;
	return true;
}

uint32_t ch_rtcp_rx_ext_max(const struct ch_rtcp_rx *rx)
{
	return rx->cycles + rx->max_seq;
}

static uint64_t rx_expected(const struct ch_rtcp_rx *rx)
{
	if (!rx->started)
		return 0;
	return (uint64_t)ch_rtcp_rx_ext_max(rx) - rx->base_seq + 1;
}

uint64_t ch_rtcp_rx_lost(const struct ch_rtcp_rx *rx)
{
	uint64_t expected = rx_expected(rx);
	return expected > rx->received ? expected - rx->received : 0;
}

void ch_rtcp_rx_block(struct ch_rtcp_rx *rx, uint32_t ssrc, uint32_t jitter,
                      uint32_t lsr, uint32_t dlsr, struct ch_rtcp_block *b)
{
	uint64_t expected = rx_expected(rx);
	int64_t lost = (int64_t)expected - (int64_t)rx->received;
	int64_t exp_int = (int64_t)(expected - rx->expected_prior);
	int64_t rcv_int = (int64_t)(rx->received - rx->received_prior);
	int64_t lost_int = exp_int - rcv_int;

	rx->expected_prior = expected;
	rx->received_prior = rx->received;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	if (lost < -0x800000)
		lost = -0x800000;
	b->ssrc = ssrc;
	int64_t frac = 0;
	if (exp_int > 0 && lost_int > 0)
		frac = (lost_int << 8) / exp_int;
	b->fraction = (uint8_t)(frac > 255 ? 255 : frac);
	b->lost = (int32_t)lost;
	b->ext_max = ch_rtcp_rx_ext_max(rx);
	b->jitter = jitter;
	b->lsr = lsr;
	b->dlsr = dlsr;
}

/* ---- building ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

/* Common header of a packet of len bytes (a multiple of 4). */
static void put_hdr(uint8_t *p, unsigned count, uint8_t pt, size_t len)
{
	p[0] = (uint8_t)(0x80 | (count & 0x1f));
	p[1] = pt;
	put16(p + 2, (uint16_t)(len / 4 - 1));
}

static void put_block(uint8_t *p, const struct ch_rtcp_block *b)
{
	put32(p, b->ssrc);
	put32(p + 4,
	      ((uint32_t)b->fraction << 24) | ((uint32_t)b->lost & 0xffffff));
	put32(p + 8, b->ext_max);
	put32(p + 12, b->jitter);
	put32(p + 16, b->lsr);
	put32(p + 20, b->dlsr);
}

/* Appends SDES with one CNAME chunk at buf[pos]; returns the new length. */
static int put_sdes(uint8_t *buf, size_t cap, size_t pos, uint32_t ssrc,
                    const char *cname)
{
	size_t clen = strnlen(cname, CH_RTCP_MAX_CNAME);
	/* ssrc, type, len, text, at least one END octet, to 32 bits */
	size_t chunk = (4 + 2 + clen + 1 + 3) & ~(size_t)3;
	size_t len = 4 + chunk;

	if (cap < pos || cap - pos < len)
		return -ENOSPC;
	uint8_t *p = buf + pos;
	memset(p, 0, len);
	put_hdr(p, 1, RTCP_SDES, len);
	put32(p + 4, ssrc);
	p[8] = SDES_CNAME;
	p[9] = (uint8_t)clen;
	memcpy(p + 10, cname, clen);
	return (int)(pos + len);
}

int ch_rtcp_build_sr(uint8_t *buf, size_t cap, const struct ch_rtcp_sr *sr,
                     const struct ch_rtcp_block *rb, const char *cname)
{
	if (!buf || !sr || !cname)
		return -EINVAL;
	size_t len = 8 + SR_INFO_LEN + (rb ? BLOCK_LEN : 0);
	if (cap < len)
		return -ENOSPC;
	put_hdr(buf, rb ? 1 : 0, RTCP_SR, len);
	put32(buf + 4, sr->ssrc);
	put32(buf + 8, (uint32_t)(sr->ntp >> 32));
	put32(buf + 12, (uint32_t)sr->ntp);
	put32(buf + 16, sr->rtp_ts);
	put32(buf + 20, sr->packets);
	put32(buf + 24, sr->octets);
	if (rb)
		put_block(buf + 28, rb);
	return put_sdes(buf, cap, len, sr->ssrc, cname);
}

int ch_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                     const struct ch_rtcp_block *rb, const char *cname)
{
	if (!buf || !cname)
		return -EINVAL;
	size_t len = 8 + (rb ? BLOCK_LEN : 0);
	if (cap < len)
		return -ENOSPC;
	put_hdr(buf, rb ? 1 : 0, RTCP_RR, len);
	put32(buf + 4, ssrc);
	if (rb)
		put_block(buf + 8, rb);
	return put_sdes(buf, cap, len, ssrc, cname);
}

/* ---- parsing ---- */

static void get_block(const uint8_t *p, struct ch_rtcp_block *b)
{
	uint32_t w = get32(p + 4);
	b->ssrc = get32(p);
	b->fraction = (uint8_t)(w >> 24);
	/* sign-extend the 24-bit count */
	b->lost = (int32_t)((w & 0xffffff) ^ 0x800000) - 0x800000;
	b->ext_max = get32(p + 8);
	b->jitter = get32(p + 12);
	b->lsr = get32(p + 16);
	b->dlsr = get32(p + 20);
}

/* Report blocks of an SR or RR: keep the first one about our_ssrc. */
static void parse_blocks(const uint8_t *p, unsigned count, uint32_t our_ssrc,
                         struct ch_rtcp_info *out)
{
	for (unsigned i = 0; i < count; i++, p += BLOCK_LEN) {
		if (out->have_block || get32(p) != our_ssrc)
			continue;
		get_block(p, &out->block);
		out->have_block = true;
	}
}

static int parse_sr(const uint8_t *body, size_t blen, unsigned count,
                    uint32_t our_ssrc, struct ch_rtcp_info *out)
{
	if (blen < 4 + SR_INFO_LEN ||
	    (blen - 4 - SR_INFO_LEN) / BLOCK_LEN < count)
		return -EBADMSG;
	if (!out->have_sr) {
		out->have_sr = true;
		out->sr.ssrc = get32(body);
		out->sr.ntp =
		    ((uint64_t)get32(body + 4) << 32) | get32(body + 8);
		out->sr.rtp_ts = get32(body + 12);
		out->sr.packets = get32(body + 16);
		out->sr.octets = get32(body + 20);
	}
	parse_blocks(body + 4 + SR_INFO_LEN, count, our_ssrc, out);
	return 0;
}

static int parse_rr(const uint8_t *body, size_t blen, unsigned count,
                    uint32_t our_ssrc, struct ch_rtcp_info *out)
{
	if (blen < 4 || (blen - 4) / BLOCK_LEN < count)
		return -EBADMSG;
	parse_blocks(body + 4, count, our_ssrc, out);
	return 0;
}

/* SDES chunks: SSRC, items (type, length, text) up to an END octet, then
 * null octets to the next 32-bit boundary. */
static int parse_sdes(const uint8_t *body, size_t blen, unsigned count,
                      struct ch_rtcp_info *out)
{
	size_t o = 0;

	for (unsigned c = 0; c < count; c++) {
		if (blen - o < 4)
			return -EBADMSG;
		o += 4;
		for (;;) {
			if (o >= blen)
				return -EBADMSG;
			uint8_t type = body[o];
			if (type == SDES_END) {
				o = (o + 4) & ~(size_t)3;
				if (o > blen)
					return -EBADMSG;
				break;
			}
			if (blen - o < 2 || blen - o - 2 < body[o + 1])
				return -EBADMSG;
			if (type == SDES_CNAME && !out->have_cname) {
				out->have_cname = true;
				out->cname = body + o + 2;
				out->cname_len = body[o + 1];
			}
			o += 2 + (size_t)body[o + 1];
		}
	}
	return 0;
}

static int parse_bye(const uint8_t *body, size_t blen, unsigned count,
                     struct ch_rtcp_info *out)
{
	size_t o = (size_t)count * 4;

	if (o > blen)
		return -EBADMSG;
	if (o < blen && blen - o - 1 < body[o])
		return -EBADMSG; /* reason text runs past the end */
	out->bye = true;
	return 0;
}

int ch_rtcp_parse(const uint8_t *buf, size_t len, uint32_t our_ssrc,
                  struct ch_rtcp_info *out)
{
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (!buf || len < 4 || len % 4 != 0)
		return -EBADMSG;
	while (pos < len) {
		const uint8_t *p = buf + pos;
		if (len - pos < 4 || (p[0] >> 6) != 2)
			return -EBADMSG;
		bool pad = (p[0] & 0x20) != 0;
		unsigned count = p[0] & 0x1f;
		size_t plen = ((size_t)get16(p + 2) + 1) * 4;
		if (plen > len - pos)
			return -EBADMSG;
		size_t blen = plen - 4;
		if (pad) {
			/* only the last packet may be padded */
			if (pos + plen != len || p[plen - 1] == 0 ||
			    p[plen - 1] > blen)
				return -EBADMSG;
			blen -= p[plen - 1];
		}
		int err = 0;
		switch (p[1]) {
		case RTCP_SR:
			err = parse_sr(p + 4, blen, count, our_ssrc, out);
			break;
		case RTCP_RR:
			err = parse_rr(p + 4, blen, count, our_ssrc, out);
			break;
		case RTCP_SDES:
			err = parse_sdes(p + 4, blen, count, out);
			break;
		case RTCP_BYE:
			err = parse_bye(p + 4, blen, count, out);
			break;
		default:
			break; /* APP, feedback, XR: skipped */
		}
		if (err)
			return err;
		out->packets++;
		pos += plen;
	}
	return 0;
}

uint32_t ch_rtcp_ntp_mid(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}

double ch_rtcp_rtt_ms(uint64_t now_ntp, uint32_t lsr, uint32_t dlsr)
{
	if (lsr == 0)
		return -1;
	uint32_t now = ch_rtcp_ntp_mid(now_ntp);
	int32_t rtt = (int32_t)(now - lsr - dlsr);
	if (rtt < 0)
		return -1;
	return rtt * 1000.0 / 65536.0;
}
