/*
 * leg.h: private to the media engine: one leg (a participant's RTP
 * session) as its media worker runs it, and the per-leg work of leg.c:
 * RTP and RTCP receive, RTP send, RTCP reports, RTP timeout and talk
 * events.
 *
 * Ownership: as for rooms (see room.h). The control thread allocates the
 * leg and fills the "set once" fields, the room's worker owns every
 * "worker" field from the LEG_ADD command until it acknowledges LEG_REMOVE,
 * and the counters are single-writer atomics both threads may touch.
 */
#ifndef CH_MEDIA_LEG_H
#define CH_MEDIA_LEG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <re_types.h>
#include <re_sa.h>

#include "media/codec.h"
#include "media/engine.h"
#include "media/jitterbuf.h"
#include "media/plc.h"
#include "media/rtcp.h"
#include "media/source.h"
#include "media/talkdetect.h"

struct ch_media_worker;
struct ch_media_room;
struct ch_media_wrtc;

/* What an epoll event points at (epoll_event.data.ptr). Set once. */
enum ch_media_ep_kind {
	CH_MEDIA_EP_RTP = 0,
	CH_MEDIA_EP_RTCP,
	CH_MEDIA_EP_CMD,
	CH_MEDIA_EP_TIMER,
	CH_MEDIA_EP_MID, /* the half-tick timer: read sockets only */
};

struct ch_media_ep {
	enum ch_media_ep_kind kind;
	void *obj; /* the leg, or the worker */
};

/*
 * Counters of one leg. Written only by the owning worker (relaxed atomic
 * load + store: one writer, no read-modify-write needed); read by the
 * control thread in ch_media_leg_stats() with relaxed loads.
 */
struct ch_media_leg_ctr {
	_Atomic uint64_t packets_in;
	_Atomic uint64_t packets_out;
	_Atomic uint64_t lost;
	_Atomic uint64_t last_rx_ms;
	_Atomic uint32_t jitter_us;
	_Atomic int level;
	_Atomic bool talking;
	_Atomic uint64_t remote_lost;
	_Atomic uint32_t remote_fraction; /* 0..255 */
	_Atomic uint32_t remote_jitter_us;
	_Atomic int64_t rtt_us;    /* -1 unknown */
	_Atomic uint64_t rejected; /* packets dropped by the source filter */
	_Atomic uint64_t remote_reports; /* RTCP report blocks about us */
	/* jitter buffer: frames concealed (lost, or late for their tick),
	 * packets that came after their playout and were dropped, and the
	 * current target delay */
	_Atomic uint64_t concealed;
	_Atomic uint64_t late;
	_Atomic uint32_t jb_target_ms;
};

/* Negotiated media as the worker applies it (copied from the
 * ch_media_leg_params of ch_media_leg_start). */
struct ch_media_legparams {
	enum ch_media_codec codec;
	uint8_t pt;
	int telev_pt;
	enum ch_media_dir dir;
	bool rtcp_mux;
	struct sa remote; /* RTP; RTCP is port + 1 unless rtcp_mux */
	struct sa sig;    /* the SIP dialog's source; unset: unknown */
};

/*
 * One leg (one participant's RTP session). About 110 KB, mostly the jitter
 * buffer. Allocated by the control thread in ch_media_leg_alloc(), freed
 * by it after EV_LEG_GONE.
 */
struct ch_media_leg {
	/* set once by the control thread before hand-over */
	uint32_t id;
	struct ch_media_room *room;
	int fd_rtp, fd_rtcp;
	struct ch_media_ep ep_rtp, ep_rtcp;
	uint32_t tx_ssrc;
	char cname[CH_RTCP_MAX_CNAME];

	/* both threads: single-writer atomics */
	struct ch_media_leg_ctr ctr;

	/* worker: membership */
	size_t room_idx;               /* index in room->legs */
	struct ch_media_leg *ack_next; /* pending EV_LEG_GONE list */

	/* WebRTC transport (ICE-lite, DTLS, SRTP: wrtc.h), NULL for plain
	 * RTP; set by CMD_LEG_WEBRTC, freed by the control thread with the
	 * leg */
	struct ch_media_wrtc *wrtc;

	/* worker: negotiated media */
	bool started;
	bool muted;
	/* the room does not hear it, it hears only its prompt */
	bool isolated;
	struct ch_media_legparams p;
	struct ch_codec_state *cs; /* NULL until started; freed with the leg */

	/* worker: receive side (strict latching: see ch_media_leg_start) */
	bool latched;    /* rtp_src is the accepted source ... */
	bool sdp_locked; /* ... and it is p.remote: nothing else moves it */
	struct sa rtp_src;
	struct sa probe_src; /* a source on probation */
	uint32_t probe_ssrc;
	uint16_t probe_seq; /* its last sequence number */
	unsigned probe_n;   /* its packets in sequence so far; 0: none */
	bool rtcp_latched;
	struct sa rtcp_src;
	bool have_rx_ssrc;
	uint32_t rx_ssrc;
	struct ch_rtcp_rx rx;
	uint64_t lost_base;    /* losses of earlier SSRCs */
	uint64_t armed_ms;     /* start of the RTP timeout count */
	bool timeout_reported; /* EV_TIMEOUT delivered for this silence */
	bool resume_pending;   /* EV_RESUMED to deliver */
	bool talk_reported;    /* talking state the control thread knows */

	/* worker: RTCP */
	uint64_t next_rtcp_ms;
	uint32_t sr_lsr;        /* middle NTP bits of the last SR received */
	uint64_t sr_arrival_ms; /* when it came */

	/* worker: send side */
	uint16_t tx_seq;
	uint32_t tx_ts;
	bool tx_marker;     /* next packet starts a talkspurt */
	bool heard_silence; /* last packet sent was the silent mix */
	uint32_t tx_packets, tx_octets;
	uint64_t tx_last_ms; /* monotonic ms of the last tick sent */

	/* worker: audio */
	bool contributed;               /* added to the mix last tick */
	bool have_pcm;                  /* pcm holds this tick's frame */
	struct ch_media_source *prompt; /* heard by this leg alone, or NULL */
	struct ch_talkdetect td;
	struct ch_plc plc;
	int16_t pcm[CH_CODEC_MAX_FRAME];      /* decoded, codec rate */
	int16_t room_pcm[CH_CODEC_MAX_FRAME]; /* the same at room rate */
	struct ch_jitterbuf jb;
};

/* Worker. Adds v to a counter only this thread writes (so a relaxed load
 * and store do; no locked read-modify-write). */
static inline void ch_media_ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c,
	                      atomic_load_explicit(c, memory_order_relaxed) + v,
	                      memory_order_relaxed);
}

/* True if the room takes the leg's audio (sendrecv, recvonly). */
static inline bool ch_media_dir_takes(enum ch_media_dir d)
{
	return d == CH_DIR_SENDRECV || d == CH_DIR_RECVONLY;
}

/* True if the room sends to the leg (sendrecv, sendonly). */
static inline bool ch_media_dir_sends(enum ch_media_dir d)
{
	return d == CH_DIR_SENDRECV || d == CH_DIR_SENDONLY;
}

/* Worker. Handles one datagram from the leg's RTP socket from src. */
void ch_media_leg_rx_rtp(struct ch_media_worker *w, struct ch_media_leg *l,
                         const uint8_t *buf, size_t len, const struct sa *src);

/* Worker. Locks the leg to src as if it were the SDP address (a WebRTC
 * leg's peer chosen by a valid ICE check). */
void ch_media_leg_lock(struct ch_media_leg *l, const struct sa *src);

/* Worker. Handles one datagram from the leg's RTCP socket (or an RTCP
 * packet on the RTP socket with rtcp-mux) from src. */
void ch_media_leg_rx_rtcp(struct ch_media_worker *w, struct ch_media_leg *l,
                          const uint8_t *buf, size_t len, const struct sa *src);

/*
 * Worker. Sends one RTP packet with payload pl (len bytes) to the leg and
 * advances nothing but the sequence number; silent says the payload is the
 * silent mix (the next non-silent packet gets the marker bit).
 */
void ch_media_leg_send(struct ch_media_worker *w, struct ch_media_leg *l,
                       const uint8_t *pl, size_t len, bool silent);

/*
 * Worker. Once per tick after mixing: reports talk changes and the RTP
 * timeout, sends the RTCP report when due, advances the RTP timestamp.
 */
void ch_media_leg_tick_end(struct ch_media_worker *w, struct ch_media_leg *l,
                           uint64_t now_ms);

/*
 * Worker. Applies a new codec state (the old one goes to the worker's
 * hand-back list); a codec change also restarts the jitter buffer,
 * concealment, talk detection and receive statistics.
 */
void ch_media_leg_set_codec(struct ch_media_worker *w, struct ch_media_leg *l,
                            struct ch_codec_state *cs);

#endif
