/*
 * resample.h: int16 mono sample-rate conversion at the edges of a room.
 *
 * A thin wrapper around the speexdsp resampler for the rates Chorus mixes
 * and codecs use (8, 12, 16, 24, 32 and 48 kHz). Allocation happens only in
 * ch_resample_init(); ch_resample_process() runs on the hot path without
 * allocating. Equal rates are a plain copy.
 *
 * The filter delays the signal by ch_resample_latency() input samples and
 * keeps history between calls: use one converter per leg and direction, and
 * reset it when the leg's stream restarts.
 */
#ifndef CH_MEDIA_RESAMPLE_H
#define CH_MEDIA_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* speexdsp quality 0..10; 3 is its "VoIP" setting. */
#define CH_RESAMPLE_QUALITY_DEFAULT 3

struct SpeexResamplerState_;

/*
 * One converter. Owned by one media worker; not thread-safe. The caller
 * provides the struct; ch_resample_init() allocates the filter state and
 * ch_resample_destroy() frees it. Fields are private.
 */
struct ch_resample {
	struct SpeexResamplerState_ *st; /* NULL when rates are equal */
	uint32_t in_rate;
	uint32_t out_rate;
};

/*
 * Prepares rs to convert from in_rate to out_rate at quality (0..10, or -1
 * for CH_RESAMPLE_QUALITY_DEFAULT). Returns 0; -EINVAL for an unsupported
 * rate or quality; -ENOMEM if the filter cannot be allocated. On failure rs
 * holds nothing to free.
 */
int ch_resample_init(struct ch_resample *rs, uint32_t in_rate,
                     uint32_t out_rate, int quality);

/* Frees the filter state; rs may then be initialised again. Idempotent. */
void ch_resample_destroy(struct ch_resample *rs);

/*
 * Output samples that in_n input samples produce, rounded up: the capacity
 * ch_resample_process() needs.
 */
size_t ch_resample_out_len(const struct ch_resample *rs, size_t in_n);

/*
 * Converts in_n samples from in into out (room for out_cap samples) and
 * sets *out_n to the number written. Returns 0; -EINVAL if rs is not
 * initialised; -ENOSPC if out_cap is below ch_resample_out_len() (nothing is
 * consumed); -EIO if speexdsp fails.
 */
int ch_resample_process(struct ch_resample *rs, const int16_t *in, size_t in_n,
                        int16_t *out, size_t out_cap, size_t *out_n);

/* Forgets the filter history, as for a new stream. */
void ch_resample_reset(struct ch_resample *rs);

/* Delay the filter adds, in input samples (0 for equal rates). */
int ch_resample_latency(const struct ch_resample *rs);

#endif
