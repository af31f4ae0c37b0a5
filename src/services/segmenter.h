/*
 * segmenter.h: cuts one participant's audio into utterances for the
 * speech-to-text engines.
 *
 * Fed one 20 ms tick at a time, in the participant's codec rate, with the
 * media worker's talk state of that tick (media/talkdetect.h): an utterance
 * starts when the leg starts talking, with the preroll_ms of audio before
 * it (the talk detector fires after its on-hold, so the first syllable is
 * already past), and ends when the leg stops talking (the detector's
 * off-hold of quiet ends it) or at max_ms. Audio is converted to 16 kHz
 * (CH_STT_RATE). Times are the caller's tick times in ms; an utterance's
 * end is the end of its last tick loud enough to be speech (loud_dbov),
 * not of the trailing quiet.
 *
 * Ownership: one segmenter per participant stream, caller-provided
 * storage, used by one service thread; it allocates (the utterance buffer,
 * the resampler) and is never on a media worker. An emitted utterance's
 * pcm is the caller's (free()).
 */
#ifndef CH_SERVICES_SEGMENTER_H
#define CH_SERVICES_SEGMENTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/resample.h"

#define CH_SEGMENTER_PREROLL_MAX 16000 /* samples at 16 kHz: 1 s */

struct ch_segmenter_cfg {
	unsigned preroll_ms; /* audio kept from before the talk start: 300 */
	unsigned max_ms;     /* longest utterance, then cut: 30000 */
	int loud_dbov;       /* a tick at or above this is speech: -50 */
};

/* One utterance: pcm at 16 kHz, owned by the caller (free()). */
struct ch_segment {
	int16_t *pcm;
	size_t n;
	int64_t start_ms, end_ms;
};

struct ch_segmenter {
	struct ch_segmenter_cfg cfg;
	struct ch_resample rs; /* codec rate -> 16 kHz */
	bool rs_ready;
	/* the last preroll_ms while not in an utterance: a ring */
	int16_t pre[CH_SEGMENTER_PREROLL_MAX];
	size_t pre_cap, pre_n, pre_pos;
	/* the utterance being cut */
	bool in;
	int16_t *buf;
	size_t n, cap;
	int64_t start_ms, loud_end_ms;
};

/* Fills cfg with the defaults. */
void ch_segmenter_cfg_default(struct ch_segmenter_cfg *cfg);
/* Prepares s (cfg NULL: defaults). 0, or EINVAL for a preroll over 1 s
 * or a max under 1 s. */
int ch_segmenter_init(struct ch_segmenter *s,
                      const struct ch_segmenter_cfg *cfg);
/* Frees the buffer and the resampler; NULL-safe, idempotent. */
void ch_segmenter_destroy(struct ch_segmenter *s);

/*
 * Feeds the tick starting at t_ms: n samples of pcm at rate (8000, 16000
 * or 48000), or pcm NULL for a tick without audio (the leg sent nothing,
 * is muted or left: silence, not talking). Returns 1 and fills out when an
 * utterance ended with this tick (the tick itself is then part of the
 * next utterance or the preroll), 0 when not, or ENOMEM / EINVAL (a rate
 * it cannot convert; the tick is dropped).
 */
int ch_segmenter_tick(struct ch_segmenter *s, int64_t t_ms, const int16_t *pcm,
                      size_t n, uint32_t rate, bool talking,
                      struct ch_segment *out);

/* Ends the utterance in progress, if any: 1 and out filled, else 0. */
int ch_segmenter_flush(struct ch_segmenter *s, struct ch_segment *out);

/* Whether an utterance is in progress. */
bool ch_segmenter_active(const struct ch_segmenter *s);

#endif
