/*
 * tap.h: the recorder tap of a room: a lock-free single-producer /
 * single-consumer byte ring of variable-size records, one per 20 ms tick,
 * from the media worker that runs the room to the recorder service thread.
 *
 * Record layout (all in host byte order, each part 8-byte aligned):
 *   struct ch_media_tap_hdr             seq, rate, frame, ntracks, len
 *   int16_t mix[frame]                  what the room heard (full mix:
 *                                       every talker and room playback)
 *   ntracks x { struct ch_media_tap_track; int16_t pcm[frame]; }
 *                                       each leg that added audio to the
 *                                       mix this tick (legs that did not
 *                                       are silent in that tick)
 * frame = rate / 50 samples. seq counts the worker's ticks since the tap
 * was attached, so a consumer sees the ticks the worker dropped (ring
 * full) as gaps and fills them with silence: wall time is kept.
 *
 * A transcriber tap (voices set) carries instead, per tick, each
 * participant's own decoded audio at its codec's rate, whether it talks
 * or not, so that the transcriber can cut utterances with some audio from
 * before the talk detector fired:
 *   struct ch_media_tap_hdr             seq, rate 0, frame 0, ntracks, len
 *   ntracks x { struct ch_media_tap_voice; int16_t pcm[frame]; }
 *                                       each leg the room takes audio
 *                                       from this tick: started, not
 *                                       muted, not isolated, a frame
 *                                       decoded or concealed
 *
 * Ownership: allocated and freed by the recorder service (ch_media_tap_
 * alloc/free). Between ch_media_room_record() and the engine's
 * tap_detached event, the worker is the only producer; the recorder thread
 * is the only consumer all along. The producer never blocks, allocates or
 * makes a system call: a record that does not fit is dropped and counted.
 */
#ifndef CH_MEDIA_TAP_H
#define CH_MEDIA_TAP_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ch_media_tap_hdr {
	uint64_t seq;     /* worker tick since attach, from 0 */
	uint32_t rate;    /* room rate of this tick (8000, 16000, 48000) */
	uint16_t frame;   /* samples per channel in this record */
	uint16_t ntracks; /* track parts that follow the mix */
	uint32_t len;     /* bytes of the whole record, header included */
	uint32_t pad;
};

struct ch_media_tap_track {
	uint32_t leg; /* engine leg id (ch_media_leg_alloc) */
	uint32_t pad;
};

/* A voice part's flags. */
#define CH_MEDIA_TAP_TALKING 0x1u /* the talk detector says it talks */

struct ch_media_tap_voice {
	uint32_t leg;   /* engine leg id */
	uint32_t rate;  /* of pcm: the leg's codec rate */
	uint16_t frame; /* samples of pcm */
	uint8_t flags;  /* CH_MEDIA_TAP_* */
	uint8_t pad[5];
};

struct ch_media_tap {
	alignas(64) _Atomic size_t head; /* bytes committed (producer) */
	alignas(64) _Atomic size_t tail; /* bytes consumed (consumer) */
	alignas(64) size_t cap;          /* ring bytes, a power of two */
	uint8_t *buf;
	bool tracks; /* set once: record track parts (else mix alone) */
	bool voices; /* set once before attaching: a transcriber tap */
	/* producer (worker) */
	size_t wpos;  /* write cursor of the record being written */
	uint64_t seq; /* next tick's seq */
	/* counters: producer writes (relaxed), anyone reads */
	_Atomic uint64_t ticks;   /* records offered */
	_Atomic uint64_t dropped; /* records that did not fit */
};

/* Recorder: a tap with a ring of at least cap_bytes (rounded up to a
 * power of two, at least 64 KiB). NULL: no memory. */
struct ch_media_tap *ch_media_tap_alloc(size_t cap_bytes, bool tracks);
/* Frees; NULL-safe. Only once the producer has let go. */
void ch_media_tap_free(struct ch_media_tap *t);

/* Bytes of a record of frame samples and ntracks tracks. */
size_t ch_media_tap_record_size(size_t frame, size_t ntracks);
/* Bytes of one voice part of frame samples. */
size_t ch_media_tap_voice_size(size_t frame);

/* Producer. Starts a record of `bytes` (ch_media_tap_record_size):
 * false if it does not fit (the tick is counted dropped, seq still
 * advances). Then ch_media_tap_write() the parts in order (the header's
 * seq is t->seq as read before this call) and ch_media_tap_commit(). */
bool ch_media_tap_begin(struct ch_media_tap *t, size_t bytes);
void ch_media_tap_write(struct ch_media_tap *t, const void *p, size_t n);
void ch_media_tap_commit(struct ch_media_tap *t);
/* Producer. Counts n ticks that were not offered (seq advances by n). */
void ch_media_tap_skip(struct ch_media_tap *t, uint64_t n);

/* Consumer. Copies the oldest record into buf (size bufsize) and removes
 * it: its length, 0 if the ring is empty. A record bigger than bufsize
 * is removed and -1 returned. */
long ch_media_tap_get(struct ch_media_tap *t, void *buf, size_t bufsize);

#endif
