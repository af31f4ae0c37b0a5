/*
 * pcm.c: decoded clips at the three room rates (see pcm.h).
 */
#include "media/pcm.h"

#include <stdlib.h>

/* 24 h of 20 ms frames: no clip is longer than a conference may last. */
#define PCM_MAX_FRAMES (24u * 3600u * 50u)

size_t ch_pcm_frame_samples(uint32_t rate)
{
	switch (rate) {
	case 8000:
	case 16000:
	case 48000:
		return rate / 50;
	default:
		return 0;
	}
}

struct ch_pcm *ch_pcm_alloc(uint32_t frames)
{
	if (!frames || frames > PCM_MAX_FRAMES)
		return NULL;
	size_t n = (size_t)frames * (160 + 320 + 960);
	struct ch_pcm *p = calloc(1, sizeof(*p) + n * sizeof(int16_t));
	if (!p)
		return NULL;
	p->frames = frames;
	p->r8k = (int16_t *)(p + 1);
	p->r16k = p->r8k + (size_t)frames * 160;
	p->r48k = p->r16k + (size_t)frames * 320;
	return p;
}

void ch_pcm_free(struct ch_pcm *p)
{
	free(p);
}

const int16_t *ch_pcm_frame(const struct ch_pcm *p, uint32_t rate, uint32_t idx)
{
	if (!p || idx >= p->frames)
		return NULL;
	switch (rate) {
	case 8000:
		return p->r8k + (size_t)idx * 160;
	case 16000:
		return p->r16k + (size_t)idx * 320;
	case 48000:
		return p->r48k + (size_t)idx * 960;
	default:
		return NULL;
	}
}
