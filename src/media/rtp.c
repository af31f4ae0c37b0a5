/*
 * rtp.c: RTP parsing and header writing on top of libre's header codec
 * (see rtp.h). libre works on a struct mbuf; we lay one over the caller's
 * buffer on the stack, so nothing is allocated: rtp_hdr_decode() only
 * reads, and rtp_hdr_encode() writes 12 bytes into a 12-byte buffer, which
 * never triggers mbuf's resize.
 */
#include "media/rtp.h"

#include <errno.h>
#include <string.h>

#include <re_types.h>
#include <re_mbuf.h>
#include <re_rtp.h>

int ch_rtp_parse(const uint8_t *buf, size_t len, struct ch_rtp_pkt *out)
{
	struct rtp_header hdr;
	struct mbuf mb = {
	    .buf = (uint8_t *)buf, /* read only */
	    .size = len,
	    .pos = 0,
	    .end = len,
	};

	if (!buf || len < CH_RTP_HDR_LEN)
		return -EBADMSG;
	if ((buf[0] >> 6) != RTP_VERSION)
		return -EBADMSG;
	if (rtp_hdr_decode(&hdr, &mb) != 0)
		return -EBADMSG;
	if (hdr.ver != RTP_VERSION || mb.pos > len)
		return -EBADMSG;

	size_t plen = len - mb.pos;
	if (hdr.pad) {
		size_t padlen = buf[len - 1];
		if (padlen == 0 || padlen > plen)
			return -EBADMSG;
		plen -= padlen;
	}
	out->marker = hdr.m;
	out->pt = hdr.pt;
	out->seq = hdr.seq;
	out->ts = hdr.ts;
	out->ssrc = hdr.ssrc;
	out->payload = buf + mb.pos;
	out->len = plen;
	return 0;
}

bool ch_rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	return buf && len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

size_t ch_rtp_hdr_write(uint8_t out[CH_RTP_HDR_LEN], bool marker, uint8_t pt,
                        uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	struct rtp_header hdr;
	struct mbuf mb = {
	    .buf = out,
	    .size = CH_RTP_HDR_LEN,
	    .pos = 0,
	    .end = 0,
	};

	memset(&hdr, 0, sizeof(hdr));
	hdr.ver = RTP_VERSION;
	hdr.m = marker;
	hdr.pt = pt & 0x7f;
	hdr.seq = seq;
	hdr.ts = ts;
	hdr.ssrc = ssrc;
	(void)rtp_hdr_encode(&mb, &hdr); /* cannot fail: exactly 12 bytes */
	return CH_RTP_HDR_LEN;
}
