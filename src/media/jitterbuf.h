/*
 * jitterbuf.h: adaptive jitter buffer for one RTP leg.
 *
 * Holds raw RTP payloads (not decoded PCM) so that the decoder sees every
 * gap and can conceal it its own way (Opus PLC or FEC, repeat-and-fade for
 * G.711). One packet is one frame of frame_ms (the negotiated ptime), and
 * the caller calls ch_jitterbuf_get() once per frame_ms of audio it needs.
 *
 * Playout. The first packet of a talkspurt is held until target delay ms
 * after its arrival; from then on every get() plays the next sequence
 * number. A sequence number that is missing while later packets are queued
 * is lost (get() says "conceal" and moves on; if it arrives afterwards it is
 * late and dropped; one that comes at most CH_JITTERBUF_LATE_GROW frames
 * after its turn makes the next get() conceal a frame and play the rest one
 * frame later: the jitter outgrew the delay). A missing packet with nothing
 * queued behind it is an underrun: get() says "conceal" but waits for it,
 * which lengthens the delay by one frame; after CH_JITTERBUF_MAX_CONCEAL such
 * frames the stream is taken as paused (DTX, hold) and get() returns "empty"
 * until packets come back, which starts a new talkspurt. A jump in RTP
 * timestamps with no sequence gap (silence suppression) also starts a new
 * talkspurt.
 *
 * Adaptation. The target delay is a floor (CH_JITTERBUF_FLOOR_MS unless
 * ch_jitterbuf_set_floor() says otherwise) + 3 x the RFC 3550 interarrival
 * jitter, at most CH_JITTERBUF_MAX_MS: on a clean path the buffer holds the
 * one packet in hand and plays it at the first tick at least the floor
 * after it arrived (a margin for the tick's own wake-up jitter), and it
 * grows only on measured jitter. It applies
 * at each talkspurt start; within a talkspurt, underruns lengthen the delay
 * by a frame each, and a frame is dropped only when every packet of a
 * recent window (none concealed, none dropped) waited at least target +
 * one frame in the buffer, so that the drop leaves each of them the
 * target's margin: over a window of CH_JITTERBUF_SHRINK_FRAMES packets
 * (the frame an underrun added, once the late packets that caused it are
 * past), or, when more than target + 2 frames is queued (a backlog), over
 * one of CH_JITTERBUF_ADJUST_FRAMES packets that all waited a frame more. A
 * stream with jitter thus settles at the delay its latest packets need and
 * stays there.
 *
 * Resynchronisation. A sequence number more than CH_JITTERBUF_SLOTS ahead
 * or CH_JITTERBUF_MAX_MISORDER behind is held on probation: if the next
 * packet follows it, the buffer restarts from that new sequence (RFC 3550
 * A.1 rule); otherwise it is dropped. On an SSRC change, call
 * ch_jitterbuf_reset().
 *
 * No function allocates, locks or makes a system call.
 */
#ifndef CH_MEDIA_JITTERBUF_H
#define CH_MEDIA_JITTERBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ring size in packets (power of two): 1.28 s of 20 ms frames. */
#define CH_JITTERBUF_SLOTS 64
/* Largest payload: an Ethernet MTU. */
#define CH_JITTERBUF_MAX_PAYLOAD 1500
/* Default floor of the target delay, and its bound. */
#define CH_JITTERBUF_FLOOR_MS 2
#define CH_JITTERBUF_MAX_MS   200
/* Underrun frames concealed before the stream counts as paused. */
#define CH_JITTERBUF_MAX_CONCEAL 5
/* Smallest number of gets between two frames dropped to cut delay. */
#define CH_JITTERBUF_ADJUST_FRAMES 5
/* Gets with headroom to spare before a frame is dropped without a
 * backlog (1 s of 20 ms frames). */
#define CH_JITTERBUF_SHRINK_FRAMES 50
/* A late packet at most this many frames behind the next to play
 * lengthens the delay by one frame. */
#define CH_JITTERBUF_LATE_GROW 2
/* Sequence numbers this far behind the newest start a probation. */
#define CH_JITTERBUF_MAX_MISORDER 100

/* Result of ch_jitterbuf_put(). */
enum ch_jitterbuf_put_result {
	CH_JITTERBUF_QUEUED = 0, /* stored for playout */
	CH_JITTERBUF_LATE,       /* its turn has passed; dropped */
	CH_JITTERBUF_DUPLICATE,  /* already queued or played; dropped */
	CH_JITTERBUF_PROBATION,  /* far off sequence; held until confirmed */
	CH_JITTERBUF_INVALID,    /* NULL payload, empty or too long; dropped */
};

/* Result of ch_jitterbuf_get(). */
enum ch_jitterbuf_get_result {
	CH_JITTERBUF_PACKET = 0, /* decode the packet returned */
	CH_JITTERBUF_MISSING,    /* a frame is due but missing: conceal it */
	CH_JITTERBUF_EMPTY, /* nothing due (buffering or paused): silence */
};

/* A packet handed out by get() or peek(). */
struct ch_jitterbuf_pkt {
	uint16_t seq;
	uint32_t ts;
	const uint8_t *payload; /* inside the buffer; see ch_jitterbuf_get() */
	size_t len;
};

/* Counters since init; reset() keeps them. */
struct ch_jitterbuf_stats {
	uint64_t received;   /* valid packets given to put(), all outcomes */
	uint64_t lost;       /* sequence numbers not there at playout time */
	uint64_t late;       /* packets that came after their playout time */
	uint64_t duplicates; /* packets already queued or played */
	uint64_t dropped;    /* queued packets discarded to cut delay */
	uint64_t grown;      /* frames inserted after a late packet */
	uint64_t resyncs;    /* restarts on a sequence jump or overflow */
	uint32_t jitter_ms;  /* RFC 3550 interarrival jitter */
	uint32_t target_ms;  /* current target delay */
};

/* One ring slot. Private. */
struct ch_jitterbuf_slot {
	uint32_t ext; /* extended sequence number */
	uint32_t ts;
	uint64_t arrival_ms;
	uint16_t len;
	uint8_t state; /* empty, queued, played */
	uint8_t payload[CH_JITTERBUF_MAX_PAYLOAD];
};

/*
 * Jitter buffer of one leg (about 100 KB). Owned by the media worker that
 * runs the leg; not thread-safe. Caller-provided storage, nothing to free.
 * All fields are private: use the functions below.
 */
struct ch_jitterbuf {
	uint32_t rate;            /* RTP clock rate */
	uint32_t frame_ms;        /* packet duration */
	uint32_t frame_ts;        /* the same in RTP timestamp units */
	uint32_t floor_ms;        /* target delay without jitter */
	uint8_t state;            /* idle, buffering, playing */
	bool started;             /* a stream is under way: highest is valid */
	bool played_any;          /* last_played is valid */
	bool probing;             /* probe holds a packet on probation */
	uint32_t highest;         /* newest extended sequence number */
	uint32_t next;            /* extended sequence number to play next */
	uint32_t last_played;     /* last one played, concealed or dropped */
	uint32_t cursor_ts;       /* timestamp due at the next get() */
	uint64_t buffer_start_ms; /* arrival that anchors the talkspurt */
	unsigned underruns;       /* underrun frames in a row */
	bool grow;                /* a late packet: lengthen by a frame */
	/* least time a packet played spent in the buffer, over the current
	 * window of CH_JITTERBUF_ADJUST_FRAMES (short) and
	 * CH_JITTERBUF_SHRINK_FRAMES (long) packets; n: packets so far */
	uint32_t short_min_ms, long_min_ms;
	unsigned short_n, long_n;
	bool have_transit;     /* last_arrival / last_ts are valid */
	uint32_t last_arrival; /* arrival time in timestamp units */
	uint32_t last_ts;
	uint32_t jitter_q4; /* interarrival jitter x 16, timestamp units */
	struct ch_jitterbuf_stats stats;
	uint16_t probe_seq;
	struct ch_jitterbuf_slot probe;
	struct ch_jitterbuf_slot slot[CH_JITTERBUF_SLOTS];
};

/*
 * Prepares jb for a stream with RTP clock rate (e.g. 8000, 48000) and
 * packets of frame_ms. Returns 0, or -EINVAL if rate is 0 or frame_ms is 0
 * or above CH_JITTERBUF_MAX_MS.
 */
int ch_jitterbuf_init(struct ch_jitterbuf *jb, uint32_t rate,
                      uint32_t frame_ms);

/*
 * Sets the target delay's floor (default CH_JITTERBUF_FLOOR_MS), e.g. one
 * frame to ride out reordering that the jitter estimate does not see. Takes
 * effect at the next talkspurt. Returns 0, or -EINVAL above
 * CH_JITTERBUF_MAX_MS.
 */
int ch_jitterbuf_set_floor(struct ch_jitterbuf *jb, uint32_t floor_ms);

/*
 * Forgets the stream (queued packets, sequence and timing state, jitter
 * estimate) but keeps the counters: for an SSRC change.
 */
void ch_jitterbuf_reset(struct ch_jitterbuf *jb);

/*
 * Offers one received packet: RTP sequence number seq, timestamp ts,
 * payload of len bytes (copied), arrival time arrival_ms on a monotonic
 * millisecond clock (the one later passed to get()). Returns what became of
 * it; only CH_JITTERBUF_QUEUED and (later) CH_JITTERBUF_PROBATION packets
 * can be played.
 */
enum ch_jitterbuf_put_result ch_jitterbuf_put(struct ch_jitterbuf *jb,
                                              uint16_t seq, uint32_t ts,
                                              const uint8_t *payload,
                                              size_t len, uint64_t arrival_ms);

/*
 * Takes the next frame at time now_ms. On CH_JITTERBUF_PACKET, *out
 * describes the packet; its payload pointer stays valid until the next
 * put(), get() or reset() on jb. On the other results *out is untouched.
 */
enum ch_jitterbuf_get_result ch_jitterbuf_get(struct ch_jitterbuf *jb,
                                              uint64_t now_ms,
                                              struct ch_jitterbuf_pkt *out);

/*
 * Shows, without taking it, the packet the next get() would play if it is
 * already queued (after a CH_JITTERBUF_MISSING, the packet following the
 * lost one, whose Opus FEC data can rebuild it). Returns true and fills
 * *out (same lifetime as get()), or false.
 */
bool ch_jitterbuf_peek(const struct ch_jitterbuf *jb,
                       struct ch_jitterbuf_pkt *out);

/* Counters, jitter and target delay. */
void ch_jitterbuf_stats(const struct ch_jitterbuf *jb,
                        struct ch_jitterbuf_stats *st);

/* Interarrival jitter in timestamp units, as RTCP reports carry it. */
uint32_t ch_jitterbuf_jitter_ts(const struct ch_jitterbuf *jb);

/* Current target delay in ms. */
uint32_t ch_jitterbuf_target_ms(const struct ch_jitterbuf *jb);

#endif
