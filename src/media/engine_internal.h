/*
 * engine_internal.h: private to the media engine's control side: the
 * engine's tables (engine.c) shared with its metrics (engine_metrics.c).
 * Everything here is owned by the control thread.
 */
#ifndef CH_MEDIA_ENGINE_INTERNAL_H
#define CH_MEDIA_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

/* libre headers have no guards: re_types.h and re_sa.h come with leg.h */
#include "media/leg.h"
#include "media/worker.h"

#include <re_list.h>
#include <re_tmr.h>

/* A command that did not fit in the ring. */
struct backlog {
	struct backlog *next;
	struct ch_media_cmd cmd;
};

/* Counters summed over legs (engine_metrics.h). */
struct ch_media_leg_totals {
	uint64_t packets_in, packets_out, lost, rejected, concealed, late;
};

/* Control-thread view of one worker. */
struct wctl {
	struct ch_media_engine *eng;
	struct ch_media_worker *w;
	unsigned nrooms, nlegs; /* live ones, for worker selection */
	struct backlog *bl_head, *bl_tail;
	bool listening; /* fd_listen on w->ev_efd */
};

/* One leg id. leg NULL: the slot is free. */
struct leg_rec {
	struct ch_media_leg *leg;
	uint32_t room; /* room id */
	unsigned pair; /* port pair index */
	bool freeing;  /* LEG_REMOVE sent, EV_LEG_GONE awaited */
	bool started;
	struct ch_media_legparams params; /* of the last start */
	enum ch_media_codec cs_codec;     /* codec state the worker has */
	uint32_t cs_rate;                 /* its room rate; 0: none */
	/* prompts sent to the worker and not handed back yet (ctl_next) */
	struct ch_media_source *prompts;
	/* a WebRTC leg's transport and SRTP contexts (engine_webrtc.c):
	 * the worker uses them, this record owns them; freed with the leg */
	struct ch_media_wrtc *wrtc;
	struct srtp *srtp_rx, *srtp_tx;
};

/* One room id. room NULL: the slot is free. */
struct room_rec {
	struct ch_media_room *room;
	unsigned worker;
	bool freeing;
	unsigned nlegs;              /* legs not being freed */
	unsigned max_legs;           /* ch_media_room_set_max */
	uint32_t max_rate;           /* ch_media_room_set_max_rate */
	size_t cap;                  /* leg arrays the worker has */
	uint32_t rate;               /* mixing rate told to the worker */
	bool shared[CH_CODEC_COUNT]; /* shared encoder the worker has */
	uint32_t shared_rate;        /* their room rate */
	bool tapped[2]; /* a recorder / transcriber tap attached, no stop */
};

/* The engine. Owned by the control thread; not thread-safe. */
struct ch_media_engine {
	struct ch_media_handlers h;
	void *arg;
	char bind_ip[64];
	uint32_t rtp_timeout_ms;
	struct ch_codec_opus opus; /* the Opus encoders' settings */
	unsigned nworkers;
	struct wctl *wk;
	uint16_t port_base; /* first even port */
	unsigned npairs;
	uint8_t *pair_used;
	unsigned pair_hint;
	struct leg_rec *legs; /* npairs slots: a leg holds a pair */
	unsigned leg_hint;
	struct room_rec *rooms;
	unsigned nroom_slots;
	unsigned room_hint;
	struct tmr backlog_tmr;
	/* metrics (engine_metrics.c): counters of legs already freed, and
	 * commands that found their ring full (sent later from the
	 * backlog) */
	struct ch_media_leg_totals gone;
	uint64_t cmd_ring_full;
};

/* engine.c: the live (not being freed) leg id, or NULL. */
struct leg_rec *ch_media_engine_leg_find(struct ch_media_engine *eng,
                                         uint32_t id);
/* engine.c: sends c to worker wi, in order with everything sent before
 * (a full ring keeps it in the backlog). */
void ch_media_engine_submit(struct ch_media_engine *eng, unsigned wi,
                            const struct ch_media_cmd *c);
/* engine_webrtc.c: frees a leg record's WebRTC transport and SRTP
 * contexts (the worker has let go of the leg); NULL-safe fields. */
void ch_media_engine_wrtc_free(struct leg_rec *rec);

/* engine_metrics.c: adds a leg's counters to eng->gone before it is
 * freed. */
void ch_media_engine_metrics_leg_gone(struct ch_media_engine *eng,
                                      const struct ch_media_leg *l);

#endif
