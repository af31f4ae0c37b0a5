/*
 * jitterbuf.c: adaptive jitter buffer (see jitterbuf.h for the behaviour).
 *
 * Sequence numbers are extended to 32 bits against the newest one seen, so
 * the 65535 -> 0 wrap is ordinary arithmetic; the first packet of a stream
 * gets extended number 65536 + seq so that reordered predecessors stay
 * positive. Slot i holds extended number e with e % CH_JITTERBUF_SLOTS == i;
 * a slot's ext field tells which one. Timestamps are compared as signed
 * 32-bit differences.
 */
#include "media/jitterbuf.h"

#include <errno.h>
#include <string.h>

#define MASK (CH_JITTERBUF_SLOTS - 1)

_Static_assert((CH_JITTERBUF_SLOTS & MASK) == 0, "slots: power of two");

enum slot_state { SLOT_EMPTY = 0, SLOT_QUEUED, SLOT_PLAYED };
enum jb_state { JB_IDLE = 0, JB_BUFFERING, JB_PLAYING };

static struct ch_jitterbuf_slot *slot_of(struct ch_jitterbuf *jb, uint32_t e)
{
	return &jb->slot[e & MASK];
}

static bool queued(const struct ch_jitterbuf *jb, uint32_t e)
{
	const struct ch_jitterbuf_slot *s = &jb->slot[e & MASK];
	return s->state == SLOT_QUEUED && s->ext == e;
}

static uint32_t ts_to_ms(const struct ch_jitterbuf *jb, int64_t ts)
{
	if (ts <= 0)
		return 0;
	return (uint32_t)(ts * 1000 / jb->rate);
}

static void update_target(struct ch_jitterbuf *jb)
{
	uint32_t j = ts_to_ms(jb, jb->jitter_q4 >> 4);
	uint32_t t = jb->floor_ms + 3 * j;
	if (t > CH_JITTERBUF_MAX_MS)
		t = CH_JITTERBUF_MAX_MS;
	jb->stats.jitter_ms = j;
	jb->stats.target_ms = t;
}

/* RFC 3550 section 6.4.1 / A.8, in timestamp units, arrival order. */
static void update_jitter(struct ch_jitterbuf *jb, uint32_t ts,
                          uint64_t arrival_ms)
{
	uint32_t arrival = (uint32_t)(arrival_ms * jb->rate / 1000);
	if (jb->have_transit) {
		int32_t d = (int32_t)((arrival - jb->last_arrival) -
		                      (ts - jb->last_ts));
		uint32_t ad = d < 0 ? (uint32_t) - (int64_t)d : (uint32_t)d;
		/* one absurd sample must not swamp the estimate */
		if (ad > jb->rate)
			ad = jb->rate;
		jb->jitter_q4 += ad - ((jb->jitter_q4 + 8) >> 4);
	}
	jb->have_transit = true;
	jb->last_arrival = arrival;
	jb->last_ts = ts;
	update_target(jb);
}

/* Empties the ring and sequence state; keeps counters and jitter. */
static void flush(struct ch_jitterbuf *jb, bool count_dropped)
{
	for (size_t i = 0; i < CH_JITTERBUF_SLOTS; i++) {
		if (count_dropped && jb->slot[i].state == SLOT_QUEUED)
			jb->stats.dropped++;
		jb->slot[i].state = SLOT_EMPTY;
	}
	jb->state = JB_IDLE;
	jb->started = false;
	jb->played_any = false;
	jb->probing = false;
	jb->underruns = 0;
	jb->grow = false;
	jb->short_min_ms = jb->long_min_ms = UINT32_MAX;
	jb->short_n = jb->long_n = 0;
	jb->have_transit = false;
}

int ch_jitterbuf_init(struct ch_jitterbuf *jb, uint32_t rate, uint32_t frame_ms)
{
	if (rate == 0 || frame_ms == 0 || frame_ms > CH_JITTERBUF_MAX_MS)
		return -EINVAL;
	memset(jb, 0, sizeof(*jb));
	jb->rate = rate;
	jb->frame_ms = frame_ms;
	jb->frame_ts = (uint32_t)((uint64_t)rate * frame_ms / 1000);
	jb->floor_ms = CH_JITTERBUF_FLOOR_MS;
	jb->short_min_ms = jb->long_min_ms = UINT32_MAX;
	jb->short_n = jb->long_n = 0;
	update_target(jb);
	return 0;
}

int ch_jitterbuf_set_floor(struct ch_jitterbuf *jb, uint32_t floor_ms)
{
	if (floor_ms > CH_JITTERBUF_MAX_MS)
		return -EINVAL;
	jb->floor_ms = floor_ms;
	update_target(jb);
	return 0;
}

void ch_jitterbuf_reset(struct ch_jitterbuf *jb)
{
	flush(jb, true);
	jb->jitter_q4 = 0;
	update_target(jb);
}

static void store(struct ch_jitterbuf_slot *s, uint32_t e, uint32_t ts,
                  const uint8_t *payload, size_t len, uint64_t arrival_ms)
{
	s->ext = e;
	s->ts = ts;
	s->arrival_ms = arrival_ms;
	s->len = (uint16_t)len;
	s->state = SLOT_QUEUED;
	memcpy(s->payload, payload, len);
}

/* Queues packet e (known to be new and to fit in the ring). */
static void enqueue(struct ch_jitterbuf *jb, uint32_t e, uint32_t ts,
                    const uint8_t *payload, size_t len, uint64_t arrival_ms)
{
	store(slot_of(jb, e), e, ts, payload, len, arrival_ms);
	if ((int32_t)(e - jb->highest) > 0) {
		jb->highest = e;
	}
	if (jb->state == JB_IDLE) {
		/* first packet of a talkspurt anchors its playout */
		jb->state = JB_BUFFERING;
		jb->buffer_start_ms = arrival_ms;
		jb->next = e;
	} else if (jb->state == JB_BUFFERING && (int32_t)(e - jb->next) < 0) {
		/* reordered ahead of the talkspurt's first packet */
		jb->next = e;
	}
}

/* Starts a stream whose first packet is seq: nothing queued yet. */
static void begin_stream(struct ch_jitterbuf *jb, uint16_t seq, uint32_t ts)
{
	jb->started = true;
	jb->state = JB_IDLE;
	jb->highest = 0x10000u + seq;
	jb->next = jb->highest;
}

/* A far-off packet: hold it, or restart the stream if it is confirmed. */
static enum ch_jitterbuf_put_result probation(struct ch_jitterbuf *jb,
                                              uint16_t seq, uint32_t ts,
                                              const uint8_t *payload,
                                              size_t len, uint64_t arrival_ms)
{
	if (!jb->probing || seq != (uint16_t)(jb->probe_seq + 1)) {
		jb->probing = true;
		jb->probe_seq = seq;
		store(&jb->probe, 0, ts, payload, len, arrival_ms);
		return CH_JITTERBUF_PROBATION;
	}
	struct ch_jitterbuf_slot *p = &jb->probe;
	flush(jb, true);
	jb->stats.resyncs++;
	begin_stream(jb, jb->probe_seq, p->ts);
	update_jitter(jb, p->ts, p->arrival_ms);
	enqueue(jb, jb->highest, p->ts, p->payload, p->len, p->arrival_ms);
	update_jitter(jb, ts, arrival_ms);
	enqueue(jb, jb->highest + 1, ts, payload, len, arrival_ms);
	return CH_JITTERBUF_QUEUED;
}

/* True if e, behind next, may still be played: buffering, not yet played. */
static bool can_prepend(const struct ch_jitterbuf *jb, uint32_t e)
{
	if (jb->state != JB_BUFFERING)
		return false;
	if ((uint32_t)(jb->highest - e) >= CH_JITTERBUF_SLOTS)
		return false;
	return !jb->played_any || (int32_t)(e - jb->last_played) > 0;
}

enum ch_jitterbuf_put_result ch_jitterbuf_put(struct ch_jitterbuf *jb,
                                              uint16_t seq, uint32_t ts,
                                              const uint8_t *payload,
                                              size_t len, uint64_t arrival_ms)
{
	if (!payload || len == 0 || len > CH_JITTERBUF_MAX_PAYLOAD)
		return CH_JITTERBUF_INVALID;
	jb->stats.received++;
	if (!jb->started) {
		begin_stream(jb, seq, ts);
		update_jitter(jb, ts, arrival_ms);
		enqueue(jb, jb->highest, ts, payload, len, arrival_ms);
		return CH_JITTERBUF_QUEUED;
	}

	int32_t delta = (int16_t)(seq - (uint16_t)jb->highest);
	if (delta >= CH_JITTERBUF_SLOTS || delta < -CH_JITTERBUF_MAX_MISORDER)
		return probation(jb, seq, ts, payload, len, arrival_ms);
	jb->probing = false;

	uint32_t e = jb->highest + (uint32_t)delta;
	struct ch_jitterbuf_slot *s = slot_of(jb, e);
	if (s->ext == e && s->state != SLOT_EMPTY) {
		jb->stats.duplicates++;
		return CH_JITTERBUF_DUPLICATE;
	}
	update_jitter(jb, ts, arrival_ms);
	if ((int32_t)(e - jb->next) < 0 && !can_prepend(jb, e)) {
		jb->stats.late++;
		/* a frame or two more would have played it: wait one more */
		if (jb->state == JB_PLAYING &&
		    (uint32_t)(jb->next - e) <= CH_JITTERBUF_LATE_GROW)
			jb->grow = true;
		return CH_JITTERBUF_LATE;
	}
	if ((uint32_t)(e - jb->next) >= CH_JITTERBUF_SLOTS &&
	    (int32_t)(e - jb->next) > 0) {
		/* nobody is taking packets out: start over from this one */
		flush(jb, true);
		jb->stats.resyncs++;
		begin_stream(jb, seq, ts);
		update_jitter(jb, ts, arrival_ms);
		e = jb->highest;
	}
	enqueue(jb, e, ts, payload, len, arrival_ms);
	return CH_JITTERBUF_QUEUED;
}

static void fill_pkt(const struct ch_jitterbuf_slot *s,
                     struct ch_jitterbuf_pkt *out)
{
	out->seq = (uint16_t)s->ext;
	out->ts = s->ts;
	out->payload = s->payload;
	out->len = s->len;
}

/* Buffering -> playing once the anchor packet has waited the target. */
static bool start_playing(struct ch_jitterbuf *jb, uint64_t now_ms)
{
	if (now_ms < jb->buffer_start_ms + jb->stats.target_ms)
		return false;
	if (jb->played_any)
		jb->stats.lost += jb->next - jb->last_played - 1;
	jb->state = JB_PLAYING;
	jb->cursor_ts = slot_of(jb, jb->next)->ts;
	jb->underruns = 0;
	return true;
}

/* A concealment or a drop: the headroom is measured afresh. */
static void restart_adjust(struct ch_jitterbuf *jb)
{
	jb->short_min_ms = jb->long_min_ms = UINT32_MAX;
	jb->short_n = jb->long_n = 0;
}

/*
 * True if the head s (arrived, played at now_ms) may be dropped: every
 * packet of a window that s completes waited target + a frame or more in
 * the buffer over the long window (CH_JITTERBUF_SHRINK_FRAMES), or target
 * + 2 frames over the short one (CH_JITTERBUF_ADJUST_FRAMES) with more than
 * target + 2 frames queued (a backlog: a short window is a small sample,
 * so it must show a frame more); a completed window starts the next. Depth
 * counts sequence numbers, not timestamps, so that a silence gap queued
 * behind the head does not count as delay. Only a head followed by its
 * successor is dropped, so dropping never causes a concealment.
 */
static bool should_shrink(struct ch_jitterbuf *jb,
                          const struct ch_jitterbuf_slot *s, uint64_t now_ms)
{
	uint64_t w = now_ms > s->arrival_ms ? now_ms - s->arrival_ms : 0;
	uint32_t wait = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
	uint32_t spare = jb->stats.target_ms + jb->frame_ms;
	uint64_t depth_ms =
	    (uint64_t)(jb->highest - jb->next + 1) * jb->frame_ms;
	bool succ = queued(jb, jb->next + 1), shrink = false;

	if (wait < jb->short_min_ms)
		jb->short_min_ms = wait;
	if (wait < jb->long_min_ms)
		jb->long_min_ms = wait;
	if (++jb->short_n >= CH_JITTERBUF_ADJUST_FRAMES) {
		shrink = succ && jb->short_min_ms >= spare + jb->frame_ms &&
		         depth_ms > spare + jb->frame_ms;
		jb->short_n = 0;
		jb->short_min_ms = UINT32_MAX;
	}
	if (++jb->long_n >= CH_JITTERBUF_SHRINK_FRAMES) {
		shrink = shrink || (succ && jb->long_min_ms >= spare);
		jb->long_n = 0;
		jb->long_min_ms = UINT32_MAX;
	}
	return shrink;
}

static void consume(struct ch_jitterbuf *jb, struct ch_jitterbuf_slot *s)
{
	s->state = SLOT_PLAYED;
	jb->last_played = jb->next;
	jb->played_any = true;
	jb->next++;
	jb->cursor_ts = s->ts + jb->frame_ts;
	jb->underruns = 0;
}

enum ch_jitterbuf_get_result ch_jitterbuf_get(struct ch_jitterbuf *jb,
                                              uint64_t now_ms,
                                              struct ch_jitterbuf_pkt *out)
{
	if (jb->state == JB_IDLE)
		return CH_JITTERBUF_EMPTY;
	if (jb->state == JB_BUFFERING && !start_playing(jb, now_ms))
		return CH_JITTERBUF_EMPTY;
	if (jb->grow) {
		/* after a late packet: conceal one frame and play the rest one
		 * frame later, as an underrun does */
		jb->grow = false;
		jb->stats.grown++;
		restart_adjust(jb);
		return CH_JITTERBUF_MISSING;
	}

	for (;;) {
		struct ch_jitterbuf_slot *s = slot_of(jb, jb->next);
		if (!queued(jb, jb->next)) {
			if ((int32_t)(jb->highest - jb->next) > 0) {
				/* later packets are here: this one is lost */
				jb->stats.lost++;
				jb->last_played = jb->next;
				jb->played_any = true;
				jb->next++;
				jb->cursor_ts += jb->frame_ts;
				jb->underruns = 0;
				restart_adjust(jb);
				return CH_JITTERBUF_MISSING;
			}
			if (++jb->underruns > CH_JITTERBUF_MAX_CONCEAL) {
				jb->state = JB_IDLE;
				return CH_JITTERBUF_EMPTY;
			}
			restart_adjust(jb);
			return CH_JITTERBUF_MISSING;
		}
		if ((int32_t)(s->ts - jb->cursor_ts) >
		    (int32_t)jb->frame_ts / 2) {
			/* timestamp gap: silence, then a new talkspurt */
			jb->state = JB_BUFFERING;
			jb->buffer_start_ms = s->arrival_ms;
			if (!start_playing(jb, now_ms))
				return CH_JITTERBUF_EMPTY;
		}
		if (should_shrink(jb, s, now_ms)) {
			jb->stats.dropped++;
			restart_adjust(jb);
			consume(jb, s);
			continue;
		}
		consume(jb, s);
		fill_pkt(s, out);
		return CH_JITTERBUF_PACKET;
	}
}

bool ch_jitterbuf_peek(const struct ch_jitterbuf *jb,
                       struct ch_jitterbuf_pkt *out)
{
	if (!jb->started || !queued(jb, jb->next))
		return false;
	fill_pkt(&jb->slot[jb->next & MASK], out);
	return true;
}

void ch_jitterbuf_stats(const struct ch_jitterbuf *jb,
                        struct ch_jitterbuf_stats *st)
{
	*st = jb->stats;
}

uint32_t ch_jitterbuf_jitter_ts(const struct ch_jitterbuf *jb)
{
	return jb->jitter_q4 >> 4;
}

uint32_t ch_jitterbuf_target_ms(const struct ch_jitterbuf *jb)
{
	return jb->stats.target_ms;
}
