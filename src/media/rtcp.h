/*
 * rtcp.h: our own minimal RTCP (RFC 3550): receive statistics of one RTP
 * source, a builder of compound SR or RR + SDES CNAME packets with at most
 * one report block, and a bounds-checked parser of incoming compound
 * packets (SR, RR, SDES, BYE; other types are skipped).
 *
 * All functions are pure: no allocation, no locks, no system calls. The
 * parser is fuzzed (tests/fuzz/fuzz_rtcp.c). Times are NTP 32.32 fixed
 * point, as SR packets carry them.
 */
#ifndef CH_MEDIA_RTCP_H
#define CH_MEDIA_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest compound packet we build. */
#define CH_RTCP_MAX_PACKET 256
/* Longest CNAME we put in SDES. */
#define CH_RTCP_MAX_CNAME 64

/*
 * Receive statistics of one RTP source, RFC 3550 appendix A.1 and A.3
 * (interarrival jitter is left to the jitter buffer). Caller storage; owned
 * by the media worker that receives the source; not thread-safe.
 */
struct ch_rtcp_rx {
	bool started;
	uint16_t max_seq;        /* highest sequence number seen */
	uint32_t cycles;         /* wraps of the sequence number, << 16 */
	uint32_t base_seq;       /* first sequence number */
	uint32_t bad_seq;        /* candidate after a big jump, or > 0xffff */
	uint64_t received;       /* packets accepted */
	uint64_t expected_prior; /* at the last report block */
	uint64_t received_prior; /* at the last report block */
};

/* One report block (RFC 3550 section 6.4.1). */
struct ch_rtcp_block {
	uint32_t ssrc;    /* source the block is about */
	uint8_t fraction; /* lost since the last report, in 1/256 */
	int32_t lost;     /* cumulative, clamped to 24-bit signed */
	uint32_t ext_max; /* extended highest sequence number */
	uint32_t jitter;  /* interarrival jitter, timestamp units */
	uint32_t lsr;     /* middle 32 bits of the last SR's NTP time */
	uint32_t dlsr;    /* delay since that SR, 1/65536 s */
};

/* Sender information of an SR. */
struct ch_rtcp_sr {
	uint32_t ssrc;
	uint64_t ntp;     /* 32.32 NTP time */
	uint32_t rtp_ts;  /* the same instant in RTP timestamp units */
	uint32_t packets; /* packets sent */
	uint32_t octets;  /* payload octets sent */
};

/* What ch_rtcp_parse() found in a compound packet. */
struct ch_rtcp_info {
	unsigned packets; /* RTCP packets in the compound */
	bool have_sr;
	struct ch_rtcp_sr sr; /* sender info of the first SR */
	bool have_block;
	struct ch_rtcp_block block; /* first report block about our SSRC */
	bool have_cname;
	const uint8_t *cname; /* first CNAME, inside the parsed buffer */
	size_t cname_len;
	bool bye; /* a BYE packet was present */
};

/* Forgets the source: the next ch_rtcp_rx_update() starts afresh (for a
 * new SSRC). */
void ch_rtcp_rx_reset(struct ch_rtcp_rx *rx);

/*
 * Accounts one packet (RFC 3550 A.1 without the initial probation); the
 * first packet after a reset starts the statistics.
 * Returns false if seq is a jump of more than 3000 ahead or 100 behind that
 * is not yet confirmed (the packet should be ignored); a second packet
 * following such a jump restarts the statistics and returns true.
 */
bool ch_rtcp_rx_update(struct ch_rtcp_rx *rx, uint16_t seq);

/* Extended highest sequence number. */
uint32_t ch_rtcp_rx_ext_max(const struct ch_rtcp_rx *rx);

/* Packets lost: expected minus received, 0 if duplicates outnumber
 * losses. */
uint64_t ch_rtcp_rx_lost(const struct ch_rtcp_rx *rx);

/*
 * Fills a report block about source ssrc (jitter in timestamp units, lsr
 * and dlsr as in the block) and starts the next reporting interval (the
 * fraction lost is relative to the previous call).
 */
void ch_rtcp_rx_block(struct ch_rtcp_rx *rx, uint32_t ssrc, uint32_t jitter,
                      uint32_t lsr, uint32_t dlsr, struct ch_rtcp_block *b);

/*
 * Builds a compound SR (+ rb if not NULL) + SDES CNAME into buf (cap
 * bytes). cname is cut to CH_RTCP_MAX_CNAME bytes. Returns the length, or
 * -ENOSPC if cap is too small, -EINVAL for NULL sr or cname.
 */
int ch_rtcp_build_sr(uint8_t *buf, size_t cap, const struct ch_rtcp_sr *sr,
                     const struct ch_rtcp_block *rb, const char *cname);

/* The same with an RR from ssrc, for a leg that has sent nothing. */
int ch_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                     const struct ch_rtcp_block *rb, const char *cname);

/*
 * Parses a compound RTCP packet of len bytes. Report blocks about
 * our_ssrc are returned in out->block. Returns 0, or -EBADMSG if any part
 * is malformed (bad version, length not a multiple of 4 or running past
 * the end, padding not on the last packet, SR/RR/SDES/BYE bodies that do
 * not fit); out is then unspecified.
 */
int ch_rtcp_parse(const uint8_t *buf, size_t len, uint32_t our_ssrc,
                  struct ch_rtcp_info *out);

/* Middle 32 bits of an NTP time: what LSR carries. */
uint32_t ch_rtcp_ntp_mid(uint64_t ntp);

/*
 * Round-trip time in ms from a report block received at NTP time now_ntp
 * (RFC 3550 section 6.4.1): now - lsr - dlsr. Returns -1 if the block has
 * no LSR or the result is negative.
 */
double ch_rtcp_rtt_ms(uint64_t now_ntp, uint32_t lsr, uint32_t dlsr);

#endif
