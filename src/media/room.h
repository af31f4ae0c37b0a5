/*
 * room.h: private to the media engine: a room and its legs as a media
 * worker runs them, and the per-tick mixing entry point (room.c).
 *
 * Ownership. The control thread allocates a room or leg, fills the fields
 * marked "set once", and hands it to the room's worker with a command;
 * from then on every field marked "worker" is read and written only on
 * that worker's thread, and the control thread touches none of them until
 * the worker has acknowledged the object's removal (EV_LEG_GONE /
 * EV_ROOM_GONE), after which the control thread owns and frees it. The
 * only fields both threads use at the same time are the counters in
 * struct ch_media_leg_ctr: single writer (the worker), relaxed atomics.
 */
#ifndef CH_MEDIA_ROOM_H
#define CH_MEDIA_ROOM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <re_types.h>
#include <re_sa.h>

#include "media/codec.h"
#include "media/engine.h"
#include "media/jitterbuf.h"
#include "media/mixer.h"
#include "media/plc.h"
#include "media/rtcp.h"
#include "media/talkdetect.h"

struct ch_media_worker;
struct ch_media_room;

/* What an epoll event points at (epoll_event.data.ptr). Set once. */
enum ch_media_ep_kind {
	CH_MEDIA_EP_RTP = 0,
	CH_MEDIA_EP_RTCP,
	CH_MEDIA_EP_CMD,
	CH_MEDIA_EP_TIMER,
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
	_Atomic int64_t rtt_us;           /* -1 unknown */
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
	size_t room_idx;                /* index in room->legs */
	struct ch_media_leg *ack_next;  /* pending EV_LEG_GONE list */

	/* worker: negotiated media */
	bool started;
	bool muted;
	struct ch_media_legparams p;
	struct ch_codec_state *cs; /* NULL until started; freed with the leg */

	/* worker: receive side */
	bool latched;        /* rtp_src is the only accepted source */
	struct sa rtp_src;
	bool rtcp_latched;
	struct sa rtcp_src;
	bool have_rx_ssrc;
	uint32_t rx_ssrc;
	struct ch_rtcp_rx rx;
	uint64_t armed_ms;       /* start of the RTP timeout count */
	bool timeout_reported;   /* EV_TIMEOUT delivered for this silence */
	bool talk_reported;      /* talking state the control thread knows */

	/* worker: RTCP */
	uint64_t next_rtcp_ms;
	uint32_t sr_lsr;         /* middle NTP bits of the last SR received */
	uint64_t sr_arrival_ms;  /* when it came */

	/* worker: send side */
	uint16_t tx_seq;
	uint32_t tx_ts;
	bool tx_marker;          /* next packet starts a talkspurt */
	bool heard_silence;      /* last packet sent was the silent mix */
	uint32_t tx_packets, tx_octets;
	uint64_t tx_ntp_ms;      /* monotonic ms of tx_ts, for SR */

	/* worker: audio */
	bool contributed;        /* added to the mix last tick */
	struct ch_talkdetect td;
	struct ch_plc plc;
	int16_t pcm[CH_CODEC_MAX_FRAME];      /* decoded, codec rate */
	int16_t room_pcm[CH_CODEC_MAX_FRAME]; /* the same at room rate */
	struct ch_jitterbuf jb;
};

/*
 * One room. Allocated by the control thread in ch_media_room_create(),
 * freed by it after EV_ROOM_GONE.
 */
struct ch_media_room {
	/* set once */
	uint32_t id;
	struct ch_media_worker *w;

	/* worker */
	struct ch_media_room *prev, *next; /* worker's room list */
	struct ch_media_room *ack_next;    /* pending EV_ROOM_GONE list */
	bool linked;
	uint32_t rate;                      /* mixing rate */
	size_t frame;                       /* samples per tick */
	struct ch_codec_state *shared[CH_CODEC_COUNT]; /* full-mix encoders */
	size_t nlegs;
	struct ch_media_leg *legs[CH_MIXER_MAX_LEGS];
	const int16_t *in[CH_MIXER_MAX_LEGS]; /* this tick's mixer inputs */
	bool mixed[CH_MIXER_MAX_LEGS];        /* leg i is in this tick's mix */
	bool was_silent;                      /* last tick's mix was silent */
	struct ch_mixer mixer;
};

/*
 * Worker. Runs one 20 ms tick of room r at monotonic time now_ms: pulls,
 * decodes and conceals each leg's audio, detects talk, mixes, encodes
 * (once per codec for everyone who hears the full mix) and sends.
 */
void ch_media_room_tick(struct ch_media_worker *w, struct ch_media_room *r,
			uint64_t now_ms);

/* Worker. (Re)initialises the room's mixer for rate (8000..48000). */
void ch_media_room_set_rate(struct ch_media_room *r, uint32_t rate);

/* Worker. Adds / removes leg l to / from its room's leg array. Returns
 * false if the room is full. */
bool ch_media_room_add_leg(struct ch_media_room *r, struct ch_media_leg *l);
void ch_media_room_remove_leg(struct ch_media_room *r,
			      struct ch_media_leg *l);

/* Worker. Stores v in a single-writer counter. */
static inline void ch_media_ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(
	    c, atomic_load_explicit(c, memory_order_relaxed) + v,
	    memory_order_relaxed);
}

#endif
