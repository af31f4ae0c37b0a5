/*
 * rtp.h: RTP packet parsing and header writing for the media workers.
 *
 * ch_rtp_parse() is the only code that looks at the bytes of a received RTP
 * packet: it decodes the header with libre's rtp_hdr_decode() over a stack
 * mbuf (no allocation), checks the version, skips CSRCs and the header
 * extension, strips padding and hands back the payload in place. Pure
 * functions, thread-safe, fuzzed by tests/fuzz/fuzz_rtp.c.
 */
#ifndef CH_MEDIA_RTP_H
#define CH_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CH_RTP_HDR_LEN 12
/* Largest datagram a worker reads or sends. */
#define CH_RTP_MAX_PACKET 1500

/* A parsed packet. payload points into the buffer given to the parser. */
struct ch_rtp_pkt {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	const uint8_t *payload;
	size_t len; /* payload bytes, padding removed; may be 0 */
};

/*
 * Parses an RTP packet of len bytes. Returns 0 and fills *out, or -EBADMSG
 * if buf is not a well-formed RTP version 2 packet (too short, bad version,
 * CSRC list, extension or padding running past the end).
 */
int ch_rtp_parse(const uint8_t *buf, size_t len, struct ch_rtp_pkt *out);

/*
 * True if a datagram on a muxed RTP/RTCP port is RTCP (RFC 5761 section
 * 4: second byte 192..223, i.e. RTCP packet types 200..204 and feedback
 * types, which RTP payload types 64..95 would collide with).
 */
bool ch_rtp_is_rtcp(const uint8_t *buf, size_t len);

/*
 * Writes a 12-byte RTP header (version 2, no padding, extension or CSRC)
 * into out. Returns CH_RTP_HDR_LEN.
 */
size_t ch_rtp_hdr_write(uint8_t out[CH_RTP_HDR_LEN], bool marker, uint8_t pt,
                        uint16_t seq, uint32_t ts, uint32_t ssrc);

#endif
