/*
 * room.c: one room's 20 ms tick on its media worker (see room.h).
 *
 * Per tick: every leg that the room takes audio from gives one frame
 * (jitter buffer -> decode or conceal -> talk detection); a leg that is
 * talking and neither muted nor isolated is converted to the room rate
 * and added to the mix, with the frame of the clip playing into the room
 * (the mixer's extra source, heard by all). The tick goes into the
 * recorder tap (the full mix, and each contributor's input as its track).
 * Each contributor hears sum minus own, encoded with its own encoder;
 * everybody else hears the full mix, encoded once per codec per tick
 * (w->shared_pl) and sent to all of them. A leg with a prompt hears what
 * it would hear plus the prompt (an isolated one: the prompt alone),
 * encoded with its own encoder. Silence (nothing mixed, what a lone
 * talker hears with no clip playing, an isolated leg without a prompt)
 * takes the codec's cheap silence path instead of the encoder. Legs whose
 * codec state does not match the room rate yet (a rate change is in
 * flight) sit the tick out.
 */
#include "media/room.h"
#include "media/worker.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(CH_MEDIA_ROOM_MAX_LEGS <= CH_MIXER_MAX_LEGS,
               "a room never has more legs than the mixer takes");

struct ch_media_room_slots *ch_media_room_slots_alloc(size_t cap)
{
	struct ch_media_room_slots *s =
	    calloc(1, sizeof(*s) + cap * (sizeof(*s->legs) + sizeof(*s->in)));
	if (!s)
		return NULL;
	s->cap = cap;
	s->legs = (struct ch_media_leg **)(s + 1);
	s->in = (const int16_t **)(s->legs + cap);
	return s;
}

struct ch_media_room_slots *ch_media_room_grow(struct ch_media_room *r,
                                               struct ch_media_room_slots *s)
{
	struct ch_media_room_slots *old = r->slots;

	memcpy(s->legs, old->legs, r->nlegs * sizeof(*s->legs));
	r->slots = s;
	return old;
}

void ch_media_room_set_rate(struct ch_media_room *r, uint32_t rate)
{
	r->rate = rate;
	r->frame = rate * CH_CODEC_FRAME_MS / 1000;
	/* rates come from ch_codec_rate(): the frame always fits */
	(void)ch_mixer_init(&r->mixer, r->frame);
}

bool ch_media_room_add_leg(struct ch_media_room *r, struct ch_media_leg *l)
{
	if (r->nlegs >= r->slots->cap)
		return false;
	l->room_idx = r->nlegs;
	r->slots->legs[r->nlegs++] = l;
	return true;
}

void ch_media_room_remove_leg(struct ch_media_room *r, struct ch_media_leg *l)
{
	struct ch_media_leg **legs = r->slots->legs;
	size_t i = l->room_idx;

	if (i >= r->nlegs || legs[i] != l)
		return;
	r->nlegs--;
	if (i != r->nlegs) {
		legs[i] = legs[r->nlegs];
		legs[i]->room_idx = i;
	}
	legs[r->nlegs] = NULL;
}

/* The leg can take part in this tick. */
static bool ready(const struct ch_media_room *r, const struct ch_media_leg *l)
{
	return l->started && l->cs && l->cs->room_rate == r->rate;
}

/* One frame of the leg's audio at codec rate into l->pcm; false if there
 * is none (nothing due, or the room does not take its audio). */
static bool leg_frame(struct ch_media_leg *l, uint64_t now_ms)
{
	struct ch_jitterbuf_pkt pkt, next;

	if (!ch_media_dir_takes(l->p.dir))
		return false;
	switch (ch_jitterbuf_get(&l->jb, now_ms, &pkt)) {
	case CH_JITTERBUF_PACKET:
		return ch_codec_decode(l->cs, &l->plc, pkt.payload, pkt.len,
		                       l->pcm) == 0;
	case CH_JITTERBUF_MISSING: {
		ch_media_ctr_add(&l->ctr.concealed, 1);
		bool fec = l->cs->codec == CH_CODEC_OPUS &&
		           ch_jitterbuf_peek(&l->jb, &next);
		ch_codec_conceal(l->cs, &l->plc, fec ? next.payload : NULL,
		                 fec ? next.len : 0, l->pcm);
		return true;
	}
	default:
		return false;
	}
}

/* The leg's contribution to the mix at room rate, or NULL. */
static const int16_t *leg_input(struct ch_media_leg *l, uint64_t now_ms)
{
	bool have = leg_frame(l, now_ms);
	struct ch_jitterbuf_stats js;

	ch_jitterbuf_stats(&l->jb, &js);
	atomic_store_explicit(&l->ctr.late, js.late, memory_order_relaxed);
	atomic_store_explicit(&l->ctr.jb_target_ms, js.target_ms,
	                      memory_order_relaxed);
	l->have_pcm = have;
	ch_talkdetect_frame(&l->td, have ? l->pcm : NULL, l->cs->codec_frame);
	atomic_store_explicit(&l->ctr.level, ch_talkdetect_level(&l->td),
	                      memory_order_relaxed);
	atomic_store_explicit(&l->ctr.talking, ch_talkdetect_talking(&l->td),
	                      memory_order_relaxed);
	/* audible, not talking: a talkspurt's first frames are mixed at once */
	if (!have || l->muted || l->isolated ||
	    !ch_talkdetect_audible(&l->td)) {
		l->contributed = false;
		return NULL;
	}
	if (!l->contributed)
		ch_codec_reset_convert(l->cs); /* no stale filter history */
	l->contributed = true;
	return ch_codec_to_room(l->cs, l->pcm, l->room_pcm);
}

/* The full mix encoded for codec c, once per tick; NULL if the room has
 * no shared encoder for c at its rate. */
static const uint8_t *shared_payload(struct ch_media_worker *w,
                                     struct ch_media_room *r,
                                     enum ch_media_codec c, size_t *len)
{
	struct ch_codec_state *cs = r->shared[c];

	if (w->shared_len[c] < 0) {
		if (!cs || cs->room_rate != r->rate)
			return NULL;
		if (ch_mixer_silent(&r->mixer)) {
			w->shared_len[c] = ch_codec_encode_silence(
			    cs, w->shared_pl[c], CH_CODEC_MAX_PAYLOAD);
		} else {
			const int16_t *pcm = ch_codec_from_room(
			    cs, ch_mixer_full(&r->mixer), w->conv);
			w->shared_len[c] = ch_codec_encode(
			    cs, pcm, w->shared_pl[c], CH_CODEC_MAX_PAYLOAD);
		}
	}
	if (w->shared_len[c] <= 0)
		return NULL;
	*len = (size_t)w->shared_len[c];
	return w->shared_pl[c];
}

/* Encodes a room-rate frame (NULL: silence) with the leg's own encoder
 * and sends it. */
static void send_own(struct ch_media_worker *w, struct ch_media_leg *l,
                     const int16_t *mix)
{
	int n;

	if (!mix) {
		n = ch_codec_encode_silence(l->cs, w->pkt, sizeof(w->pkt));
	} else {
		const int16_t *pcm = ch_codec_from_room(l->cs, mix, w->conv);
		n = ch_codec_encode(l->cs, pcm, w->pkt, sizeof(w->pkt));
	}
	if (n > 0)
		ch_media_leg_send(w, l, w->pkt, (size_t)n, !mix);
}

static inline int16_t sat16(int32_t v)
{
	return v > INT16_MAX   ? INT16_MAX
	       : v < INT16_MIN ? INT16_MIN
	                       : (int16_t)v;
}

/* What leg i hears from the room into w->mix; false if it is silence. */
static bool room_heard(struct ch_media_worker *w, struct ch_media_room *r,
                       size_t i)
{
	if (ch_mixer_silent(&r->mixer) ||
	    (ch_mixer_contributors(&r->mixer) == 1 && !r->extra &&
	     ch_mixer_leg_needs_own(&r->mixer, i)))
		return false;
	return ch_mixer_leg_out(&r->mixer, i, w->mix) == 0;
}

/* A leg with a prompt: what it hears from the room (nothing if isolated)
 * plus the prompt's frame, saturated. */
static void leg_output_prompt(struct ch_media_worker *w,
                              struct ch_media_room *r, size_t i,
                              const int16_t *prompt)
{
	struct ch_media_leg *l = r->slots->legs[i];

	if (l->isolated || !room_heard(w, r, i)) {
		send_own(w, l, prompt);
		return;
	}
	for (size_t j = 0; j < r->frame; j++)
		w->mix[j] = sat16((int32_t)w->mix[j] + prompt[j]);
	send_own(w, l, w->mix);
}

/* What leg i hears, encoded and sent. */
static void leg_output(struct ch_media_worker *w, struct ch_media_room *r,
                       size_t i)
{
	struct ch_media_leg *l = r->slots->legs[i];
	const int16_t *prompt =
	    l->prompt ? ch_media_source_next(l->prompt, r->rate) : NULL;
	size_t len = 0;

	if (!ch_media_dir_sends(l->p.dir))
		return;
	if (prompt) {
		leg_output_prompt(w, r, i, prompt);
		return;
	}
	if (l->isolated) {
		send_own(w, l, NULL);
		return;
	}
	if (!ch_mixer_leg_needs_own(&r->mixer, i)) {
		const uint8_t *pl = shared_payload(w, r, l->cs->codec, &len);
		if (pl)
			ch_media_leg_send(w, l, pl, len,
			                  ch_mixer_silent(&r->mixer));
		return;
	}
	/* the only talker with no clip playing hears digital silence */
	send_own(w, l, room_heard(w, r, i) ? w->mix : NULL);
}

/* This tick's frame of the room's clip (NULL: none or paused), at the
 * clip's gain. */
static const int16_t *clip_frame(struct ch_media_room *r)
{
	if (!r->clip)
		return NULL;
	ch_mixer_set_extra_gain(&r->mixer, r->clip->gain_q14);
	return ch_media_source_next(r->clip, r->rate);
}

/* Writes the tick into the recorder tap: the full mix, and with tracks
 * each contributor's room-rate input. A record that does not fit is
 * dropped (and counted by the tap). */
static void tap_write(struct ch_media_room *r, const int16_t *const *in,
                      size_t n)
{
	struct ch_media_tap *t = r->tap->tap;
	size_t ntracks = t->tracks ? ch_mixer_contributors(&r->mixer) : 0;
	size_t bytes = ch_media_tap_record_size(r->frame, ntracks);
	size_t pcm_bytes = r->frame * sizeof(int16_t);
	struct ch_media_tap_hdr h = {
	    .seq = t->seq,
	    .rate = r->rate,
	    .frame = (uint16_t)r->frame,
	    .ntracks = (uint16_t)ntracks,
	    .len = (uint32_t)bytes,
	};

	if (!ch_media_tap_begin(t, bytes)) {
		ch_media_ctr_add(&r->w->tap_drops[0], 1);
		return;
	}
	ch_media_tap_write(t, &h, sizeof(h));
	ch_media_tap_write(t, ch_mixer_full(&r->mixer), pcm_bytes);
	for (size_t i = 0; i < n && ntracks; i++) {
		if (!in[i])
			continue;
		struct ch_media_tap_track tr = {.leg = r->slots->legs[i]->id};
		ch_media_tap_write(t, &tr, sizeof(tr));
		ch_media_tap_write(t, in[i], pcm_bytes);
	}
	ch_media_tap_commit(t);
}

/* The leg's frame of this tick goes to the transcriber: the room takes
 * its audio (not muted, not isolated) and there is a frame. */
static bool voiced(const struct ch_media_room *r, const struct ch_media_leg *l)
{
	return ready(r, l) && l->have_pcm && !l->muted && !l->isolated;
}

/* Writes the tick into the transcriber tap: each leg's own frame at its
 * codec rate, with its talk state. */
static void voices_write(struct ch_media_room *r, size_t n)
{
	struct ch_media_tap *t = r->voices->tap;
	struct ch_media_leg **legs = r->slots->legs;
	size_t bytes = sizeof(struct ch_media_tap_hdr), nv = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ch_media_leg *l = legs[i];
		if (voiced(r, l)) {
			bytes += ch_media_tap_voice_size(l->cs->codec_frame);
			nv++;
		}
	}
	struct ch_media_tap_hdr h = {
	    .seq = t->seq, .ntracks = (uint16_t)nv, .len = (uint32_t)bytes};
	if (!ch_media_tap_begin(t, bytes)) {
		ch_media_ctr_add(&r->w->tap_drops[1], 1);
		return;
	}
	ch_media_tap_write(t, &h, sizeof(h));
	for (size_t i = 0; i < n && nv; i++) {
		const struct ch_media_leg *l = legs[i];
		if (!voiced(r, l))
			continue;
		struct ch_media_tap_voice v = {
		    .leg = l->id,
		    .rate = l->cs->codec_rate,
		    .frame = (uint16_t)l->cs->codec_frame,
		    .flags = ch_talkdetect_talking(&l->td)
		                 ? CH_MEDIA_TAP_TALKING
		                 : 0,
		};
		ch_media_tap_write(t, &v, sizeof(v));
		ch_media_tap_write(t, l->pcm, v.frame * sizeof(int16_t));
	}
	ch_media_tap_commit(t);
}

void ch_media_room_skip(struct ch_media_room *r, uint64_t n)
{
	if (r->tap)
		ch_media_tap_skip(r->tap->tap, n);
	if (r->voices)
		ch_media_tap_skip(r->voices->tap, n);
}

/* After the tick: hands back the room's clip and the legs' prompts that
 * have played their last frame. */
static void sources_end(struct ch_media_worker *w, struct ch_media_room *r)
{
	if (r->clip && ch_media_source_ended(r->clip)) {
		ch_media_worker_play_back(w, r->clip, true);
		r->clip = NULL;
	}
	for (size_t i = 0; i < r->nlegs; i++) {
		struct ch_media_leg *l = r->slots->legs[i];
		if (l->prompt && ch_media_source_ended(l->prompt)) {
			ch_media_worker_play_back(w, l->prompt, true);
			l->prompt = NULL;
		}
	}
}

void ch_media_room_tick(struct ch_media_worker *w, struct ch_media_room *r,
                        uint64_t now_ms)
{
	struct ch_media_leg **legs = r->slots->legs;
	const int16_t **in = r->slots->in;
	size_t n = r->nlegs;

	for (size_t i = 0; i < n; i++)
		in[i] = ready(r, legs[i]) ? leg_input(legs[i], now_ms) : NULL;
	r->extra = clip_frame(r);
	ch_mixer_mix(&r->mixer, in, n, r->extra);
	if (r->tap)
		tap_write(r, in, n);
	if (r->voices)
		voices_write(r, n);
	for (int c = 0; c < CH_CODEC_COUNT; c++)
		w->shared_len[c] = -1;
	for (size_t i = 0; i < n; i++) {
		if (ready(r, legs[i]))
			leg_output(w, r, i);
	}
	for (size_t i = 0; i < n; i++)
		ch_media_leg_tick_end(w, legs[i], now_ms);
	sources_end(w, r);
}
