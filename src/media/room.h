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
 * The leg itself is in leg.h.
 */
#ifndef CH_MEDIA_ROOM_H
#define CH_MEDIA_ROOM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "media/codec.h"
#include "media/engine.h"
#include "media/leg.h"
#include "media/mixer.h"
#include "media/source.h"
#include "media/tap.h"

struct ch_media_worker;

/*
 * A recorder or transcriber tap (media/tap.h) attached to a room. Allocated by
 * the control thread in ch_media_room_record() around the recorder's tap,
 * handed to the worker in CMD_ROOM_RECORD, which writes one record per
 * tick into the tap until CMD_ROOM_UNRECORD or the room's removal, then
 * hands it back (EV_TAP_DETACHED); the control thread reports the tap
 * detached and frees this (never the tap: that is the recorder's).
 */
struct ch_media_tapref {
	struct ch_media_tapref *next; /* worker: hand-back list */
	struct ch_media_tap *tap;     /* set once */
	uint32_t room;                /* set once: room id */
};

/*
 * A room's leg arrays, in one block: legs[cap] and in[cap] follow the
 * header. Allocated by the control thread (engine.c) with the room and
 * whenever the room grows; the new block goes to the worker in
 * CMD_ROOM_SLOTS, which copies the legs over and hands the old block back
 * (EV_FREE_SLOTS) for the control thread to free.
 */
struct ch_media_room_slots {
	struct ch_media_room_slots *next; /* worker: hand-back list */
	size_t cap;
	struct ch_media_leg **legs;
	const int16_t **in; /* this tick's mixer inputs */
};

/* Control thread. A block for cap legs, zeroed; NULL: no memory. */
struct ch_media_room_slots *ch_media_room_slots_alloc(size_t cap);

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
	uint32_t rate;                                 /* mixing rate */
	size_t frame;                                  /* samples per tick */
	struct ch_codec_state *shared[CH_CODEC_COUNT]; /* full-mix encoders */
	size_t nlegs;
	struct ch_media_room_slots *slots; /* legs[0..nlegs) in use */
	struct ch_mixer mixer;
	struct ch_media_source *clip; /* playing into the room, or NULL */
	const int16_t *extra;         /* the clip's frame this tick, or NULL */
	struct ch_media_tapref *tap;  /* recorder tap attached, or NULL */
	struct ch_media_tapref *voices; /* transcriber tap, or NULL */
};

/*
 * Worker. Runs one 20 ms tick of room r at monotonic time now_ms: pulls,
 * decodes and conceals each leg's audio, detects talk, mixes in the
 * room's clip, writes the tick into the recorder tap, adds each leg's
 * prompt, encodes (once per codec for everyone who hears the full mix
 * alone) and sends. A clip or prompt that has played its last frame is
 * handed back (finished) at the end of the tick.
 */
void ch_media_room_tick(struct ch_media_worker *w, struct ch_media_room *r,
                        uint64_t now_ms);

/* Worker. (Re)initialises the room's mixer for rate (8000..48000). */
void ch_media_room_set_rate(struct ch_media_room *r, uint32_t rate);

/* Worker. Adds / removes leg l to / from its room's leg array. Returns
 * false if the room is full. */
bool ch_media_room_add_leg(struct ch_media_room *r, struct ch_media_leg *l);
/* Worker. Moves the legs into the bigger block s; returns the old one. */
struct ch_media_room_slots *ch_media_room_grow(struct ch_media_room *r,
                                               struct ch_media_room_slots *s);
void ch_media_room_remove_leg(struct ch_media_room *r, struct ch_media_leg *l);

/* Worker. Counts n ticks the worker did not run in the room's tap (so
 * the recording keeps wall time). */
void ch_media_room_skip(struct ch_media_room *r, uint64_t n);

#endif
