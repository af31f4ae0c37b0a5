/*
 * pcm.h: a decoded clip (announcement, prompt, beep, speech) ready to be
 * mixed: mono 16-bit PCM in whole 20 ms frames, at each of the three room
 * rates (8, 16 and 48 kHz), so a worker can play it into a room whatever
 * the room's rate is now or becomes, without resampling on the hot path.
 *
 * Ownership: one block from ch_pcm_alloc(), filled by the thread that
 * decodes it (a player service thread), then handed whole to the control
 * thread and on to a media worker, which only reads it. Immutable once
 * handed over; freed with ch_pcm_free() by whoever holds it last (the
 * media engine frees it on the control thread when the worker lets go).
 */
#ifndef CH_MEDIA_PCM_H
#define CH_MEDIA_PCM_H

#include <stddef.h>
#include <stdint.h>

/* Samples of one 20 ms frame at 48 kHz, the most of any rate. */
#define CH_PCM_FRAME_48K 960

struct ch_pcm {
	uint32_t frames; /* 20 ms frames */
	int16_t *r8k;    /* frames x 160 samples */
	int16_t *r16k;   /* frames x 320 samples */
	int16_t *r48k;   /* frames x 960 samples */
};

/* A zeroed clip of frames frames (in one allocation). NULL: no memory
 * or frames is 0 or above 24 h. The caller owns it. */
struct ch_pcm *ch_pcm_alloc(uint32_t frames);
/* Frees a clip; NULL-safe. */
void ch_pcm_free(struct ch_pcm *p);
/* Frame idx (< p->frames) at rate (8000, 16000 or 48000): rate / 50
 * samples. NULL for another rate or idx out of range. */
const int16_t *ch_pcm_frame(const struct ch_pcm *p, uint32_t rate,
                            uint32_t idx);
/* The samples of one frame at rate; 0 for a rate not kept. */
size_t ch_pcm_frame_samples(uint32_t rate);

#endif
