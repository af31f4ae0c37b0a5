/*
 * fuzz_rtp.c: libFuzzer target for the RTP receive path as a media worker
 * runs it on a datagram: the RTP/RTCP demultiplexing test, ch_rtp_parse()
 * (libre's rtp_hdr_decode over a stack mbuf plus our checks), then the
 * receive statistics and the jitter buffer put/get with the parsed
 * packet. Aborts if the payload is not inside the datagram.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "media/jitterbuf.h"
#include "media/rtcp.h"
#include "media/rtp.h"

static struct ch_jitterbuf jb;
static struct ch_rtcp_rx rx;
static uint64_t now_ms;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ch_rtp_pkt pkt;
	struct ch_rtcp_info info;
	struct ch_jitterbuf_pkt out;

	if (!jb.rate) {
		if (ch_jitterbuf_init(&jb, 8000, 20) != 0)
			abort();
	}
	now_ms += 20;
	if (ch_rtp_is_rtcp(data, size)) {
		(void)ch_rtcp_parse(data, size, 0x12345678, &info);
		return 0;
	}
	if (ch_rtp_parse(data, size, &pkt) != 0)
		return 0;
	if (pkt.payload < data || pkt.len > size ||
	    pkt.payload + pkt.len > data + size || pkt.pt > 127)
		abort();
	(void)ch_rtcp_rx_update(&rx, pkt.seq);
	(void)ch_rtcp_rx_lost(&rx);
	if (pkt.len > 0)
		(void)ch_jitterbuf_put(&jb, pkt.seq, pkt.ts, pkt.payload,
		                       pkt.len, now_ms);
	if (ch_jitterbuf_get(&jb, now_ms, &out) == CH_JITTERBUF_PACKET &&
	    out.len > CH_JITTERBUF_MAX_PAYLOAD)
		abort();
	return 0;
}
