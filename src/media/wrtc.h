/*
 * wrtc.h: private to the media engine: the transport of a WebRTC leg as
 * its worker runs it (RFC 7983 demultiplexing of one socket): ICE-lite
 * connectivity checks answered on the worker (media/stun.h), the DTLS
 * handshake's datagrams handed to the control thread through a small
 * inbox, and SRTP/SRTCP (libre srtp) on every RTP and RTCP packet once the
 * control thread has installed the keys.
 *
 * Ownership: allocated by the control thread (ch_media_leg_webrtc), given
 * to the leg's worker with CH_MEDIA_CMD_LEG_WEBRTC, freed by the control
 * thread with the leg (after EV_LEG_GONE). The "set once" fields are
 * written before the hand-over; the inbox is single-producer (worker) /
 * single-consumer (control thread) with acquire/release indices; the
 * "worker" fields, and the SRTP contexts from CH_MEDIA_CMD_LEG_SRTP on,
 * belong to the worker.
 */
#ifndef CH_MEDIA_WRTC_H
#define CH_MEDIA_WRTC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* struct sa, from libre (whose headers have no guards) through leg.h */
#include "media/leg.h"

struct srtp;
struct ch_media_worker;
struct ch_media_leg;

/* ICE credentials as the SDP carries them (RFC 8839: at most 256). */
#define CH_MEDIA_ICE_MAX 256
/* DTLS datagrams waiting for the control thread, and their largest size. */
#define CH_MEDIA_DTLS_SLOTS 8
#define CH_MEDIA_DTLS_MAX   1500
/* RFC 7675: no valid check for this long and the leg stops sending. */
#define CH_MEDIA_CONSENT_MS 30000

struct ch_media_dtls_slot {
	struct sa src;
	uint16_t len;
	uint8_t buf[CH_MEDIA_DTLS_MAX];
};

struct ch_media_wrtc {
	/* set once by the control thread */
	char ufrag[CH_MEDIA_ICE_MAX + 1]; /* ours: checks name it first */
	char pwd[CH_MEDIA_ICE_MAX + 1];   /* ours: keys their integrity */

	/* inbox: the worker writes slot tail % N then advances tail; the
	 * control thread reads slot head % N then advances head */
	struct ch_media_dtls_slot slot[CH_MEDIA_DTLS_SLOTS];
	_Atomic uint32_t head, tail;
	_Atomic uint64_t dtls_dropped; /* inbox full */
	_Atomic bool selected;         /* ICE chose a peer (stats) */

	/* worker */
	bool have_peer;       /* a valid check came: peer is the remote */
	bool nominated;       /* ... and it carried USE-CANDIDATE */
	struct sa peer;       /* where media, DTLS and answers go */
	uint64_t consent_ms;  /* last valid check */
	bool dtls_signalled;  /* EV_DTLS queued, not read yet */
	struct srtp *srtp_rx; /* NULL until the keys come */
	struct srtp *srtp_tx;
};

/* Worker. Handles one datagram of the leg's socket (buf is the worker's
 * receive buffer, decrypted in place; cap its size). */
void ch_media_wrtc_rx(struct ch_media_worker *w, struct ch_media_leg *l,
                      uint8_t *buf, size_t len, size_t cap,
                      const struct sa *src);

/* Worker. True if the leg may send media now (keys installed, a peer
 * chosen, consent fresh). */
bool ch_media_wrtc_can_send(const struct ch_media_worker *w,
                            const struct ch_media_leg *l);

/* Worker. Protects and sends one RTP packet (hdr + payload) or one RTCP
 * compound packet (pkt, rtcp true) to the peer; false if it could not
 * (the packet is lost, as any send failure). */
bool ch_media_wrtc_send(struct ch_media_worker *w, struct ch_media_leg *l,
                        const uint8_t *hdr, size_t hlen, const uint8_t *pl,
                        size_t plen, bool rtcp);

#endif
