/*
 * wsdp.h: the SDP of a WebRTC participant (WHIP-style, RFC 9725 shape):
 * a browser's offer parsed and checked, and chorusd's answer written.
 * chorusd is ICE-lite with one host candidate, the DTLS server
 * (a=setup:passive), rtcp-mux only, BUNDLE of the one audio m-line it
 * takes; Opus 48 kHz, or PCMU/PCMA when Opus is not offered. Every other
 * m-line (video, data channel) is rejected with port 0.
 *
 * Offers come from strangers (any HTTP client): the parser has hard limits
 * and never reads past the length it is given (fuzz_webrtc_sdp).
 *
 * Threads: any; no state. Ownership: plain structs filled by the caller's
 * storage; nothing allocated.
 */
#ifndef CH_WEBRTC_WSDP_H
#define CH_WEBRTC_WSDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CH_WSDP_UFRAG_MAX 256
#define CH_WSDP_PWD_MAX   256
#define CH_WSDP_MAX_LEN   (64 * 1024)
#define CH_WSDP_MAX_LINES 2000
#define CH_WSDP_MAX_MEDIA 8
#define CH_WSDP_MID_MAX   32

enum ch_wsdp_setup { CH_WSDP_ACTPASS, CH_WSDP_ACTIVE, CH_WSDP_PASSIVE };
enum ch_wsdp_dir {
	CH_WSDP_SENDRECV,
	CH_WSDP_SENDONLY,
	CH_WSDP_RECVONLY,
	CH_WSDP_INACTIVE
};

/* One checked offer. Filled by ch_wsdp_parse; the caller owns it. */
struct ch_wsdp_offer {
	char ice_ufrag[CH_WSDP_UFRAG_MAX + 1], ice_pwd[CH_WSDP_PWD_MAX + 1];
	uint8_t fingerprint[32]; /* a=fingerprint:sha-256 */
	enum ch_wsdp_setup setup;
	char
	    mid[CH_WSDP_MID_MAX + 1]; /* the audio m-line's a=mid, "" if none */
	int opus_pt, pcmu_pt, pcma_pt; /* -1 when absent */
	int telev_pt;   /* telephone-event at the chosen codec's rate, -1 */
	int telev48_pt; /* telephone-event/48000, -1 */
	int telev8_pt;  /* telephone-event/8000, -1 */
	bool rtcp_mux;
	bool bundle;          /* a=group:BUNDLE lists the audio mid */
	enum ch_wsdp_dir dir; /* the audio m-line's direction */
	unsigned audio_idx;   /* index of the audio m-line taken */
	unsigned n_media;     /* m-lines in the offer */
	char media_kind[CH_WSDP_MAX_MEDIA][16];
	char media_mid[CH_WSDP_MAX_MEDIA][CH_WSDP_MID_MAX + 1];
	char media_proto[CH_WSDP_MAX_MEDIA][32];
	char media_fmt[CH_WSDP_MAX_MEDIA][32]; /* first format, echoed */
};

/* Parses and checks an offer of len bytes (no NUL needed). 0, or EPROTO
 * with *why a short static phrase naming the problem ("no ice-ufrag",
 * "fingerprint is not sha-256", "offer has no usable audio m-line", ...):
 * v=0 first; at most CH_WSDP_MAX_LEN bytes, CH_WSDP_MAX_LINES lines,
 * CH_WSDP_MAX_MEDIA m-lines; the first audio m-line with a port other than
 * 0 and proto UDP/TLS/RTP/SAVPF (or SAVP) is taken; ice-ufrag 4..256 and
 * ice-pwd 22..256 ice-chars (media level, else session level); one sha-256
 * fingerprint; setup actpass or active; rtcp-mux; opus/48000/2, PCMU/8000
 * or PCMA/8000 offered; an a=ice-lite offer is refused (both sides lite).
 */
int ch_wsdp_parse(const char *sdp, size_t len, struct ch_wsdp_offer *o,
                  const char **why);

enum ch_wsdp_codec { CH_WSDP_OPUS, CH_WSDP_PCMU, CH_WSDP_PCMA };

/* The codec taken from a parsed offer: Opus if offered, else PCMU, else
 * PCMA; *pt gets its payload type. */
enum ch_wsdp_codec ch_wsdp_choose(const struct ch_wsdp_offer *o, int *pt);

/* What the answer says of chorusd's side; strings borrowed. */
struct ch_wsdp_local {
	const char *ice_ufrag, *ice_pwd;
	uint8_t fingerprint[32]; /* our certificate's sha-256 */
	const char *ip;          /* the candidate's address, text (IP4/IP6) */
	uint16_t port;           /* the leg's RTP port */
	uint64_t sess_id;        /* o= session id */
	uint32_t ssrc;           /* the leg's outgoing SSRC; 0: not said (the
	                            browser takes the one that comes) */
};

/* Writes the answer to o into out (cap bytes, NUL-terminated, CRLF lines)
 * and returns its length, or 0 if cap is too small. */
size_t ch_wsdp_answer(const struct ch_wsdp_offer *o,
                      const struct ch_wsdp_local *l, char *out, size_t cap);

#endif
