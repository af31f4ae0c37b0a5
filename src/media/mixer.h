/*
 * mixer.h: the N-party mixer of one room for one tick at one rate.
 *
 * Every tick the caller hands in one frame per leg: a pointer to its decoded
 * PCM, or NULL when the leg does not contribute (muted, silent, no packet).
 * The mixer adds the contributors into an int32 sum once, O(frames x
 * contributors), then gives each leg what it should hear:
 *
 *   - a contributing leg hears sum - own, saturated to int16, computed on
 *     request into the caller's buffer (ch_mixer_leg_out());
 *   - every other leg hears the same full mix, saturated once per tick
 *     (ch_mixer_full()), which the caller encodes ONCE per codec and rate and
 *     sends to all of them.
 *
 * An optional extra source (a prompt or music being played into the room)
 * is heard by everyone, contributors included, scaled by a gain.
 *
 * Tick protocol:
 *   ch_mixer_mix(m, in, nlegs, extra);      // in[] lives until the tick ends
 *   full = ch_mixer_full(m);                // encode once, share
 *   for each leg i:
 *           if (ch_mixer_leg_needs_own(m, i))
 *                   ch_mixer_leg_out(m, i, buf);   // then encode buf
 *
 * Per-tick functions do not allocate, lock or make system calls.
 */
#ifndef CH_MEDIA_MIXER_H
#define CH_MEDIA_MIXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most legs one room can mix. */
#define CH_MIXER_MAX_LEGS 1024
/* Most samples per tick: 48 kHz x 20 ms. */
#define CH_MIXER_MAX_FRAME 960
/* Unity gain of the extra source, in Q14. */
#define CH_MIXER_GAIN_UNITY 16384

/*
 * State of one room's mixer. Owned by the media worker that runs the room;
 * not thread-safe. The caller provides the storage (about 6 KB), typically
 * inside its room struct; there is nothing to free. All fields are private:
 * use the functions below.
 */
struct ch_mixer {
	size_t frame;                    /* samples per tick */
	size_t nlegs;                    /* legs of the last tick */
	size_t ncontrib;                 /* contributors last tick */
	int32_t extra_gain;              /* Q14 */
	bool have_extra;                 /* extra source last tick */
	const int16_t *const *in;        /* last tick's inputs (the caller's) */
	int32_t sum[CH_MIXER_MAX_FRAME]; /* contributors + extra */
	int16_t full[CH_MIXER_MAX_FRAME]; /* sum saturated */
};

/*
 * Prepares m for frames of frame_samples samples, extra gain unity.
 * Returns 0, or -EINVAL if frame_samples is 0 or above CH_MIXER_MAX_FRAME.
 */
int ch_mixer_init(struct ch_mixer *m, size_t frame_samples);

/*
 * Sets the gain applied to the extra source, in Q14 (CH_MIXER_GAIN_UNITY is
 * 1.0); clamped to [0, 4.0]. Takes effect at the next ch_mixer_mix().
 */
void ch_mixer_set_extra_gain(struct ch_mixer *m, int32_t gain_q14);

/*
 * Mixes one tick. in[i] is leg i's frame (m's frame size) or NULL if leg i
 * does not contribute; extra is the frame everyone hears, or NULL. The
 * array and its pointers are kept until the next ch_mixer_mix(): both
 * must stay valid and unchanged until the caller has taken every leg's
 * output.
 * Returns 0, or -EINVAL if nlegs exceeds CH_MIXER_MAX_LEGS or in is NULL
 * with nlegs > 0 (the tick is then mixed with no legs).
 */
int ch_mixer_mix(struct ch_mixer *m, const int16_t *const *in, size_t nlegs,
                 const int16_t *extra);

/*
 * The full mix of the last tick (every contributor and the extra source,
 * saturated): what every non-contributing leg hears. Valid until the next
 * ch_mixer_mix(); never NULL (silence before the first tick).
 */
const int16_t *ch_mixer_full(const struct ch_mixer *m);

/*
 * True if leg contributed to the last tick and so needs its own
 * sum-minus-own frame from ch_mixer_leg_out(); false if it hears
 * ch_mixer_full() (also false for a leg index out of range).
 */
bool ch_mixer_leg_needs_own(const struct ch_mixer *m, size_t leg);

/*
 * Writes into out (m's frame size) what leg hears: sum minus its own input,
 * saturated, or a copy of the full mix if it did not contribute. Returns 0,
 * or -EINVAL if leg is out of range (out is then untouched).
 */
int ch_mixer_leg_out(const struct ch_mixer *m, size_t leg, int16_t *out);

/* Number of legs that contributed to the last tick. */
size_t ch_mixer_contributors(const struct ch_mixer *m);

/*
 * True if the last tick's full mix is digital silence because nothing
 * contributed (no leg, no extra source): callers may skip encoding it.
 */
bool ch_mixer_silent(const struct ch_mixer *m);

/* Samples per tick, as given to ch_mixer_init(). */
size_t ch_mixer_frame(const struct ch_mixer *m);

#endif
