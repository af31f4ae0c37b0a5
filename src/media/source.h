/*
 * source.h: private to the media engine: a clip (media/pcm.h) playing on a
 * media worker, into a room (heard by every leg and recorded) or to one
 * leg (its prompt), with its cursor, pause and gain.
 *
 * Ownership. The control thread (engine.c) allocates a source around the
 * clip it was given and fills the "set once" fields, then hands it to the
 * room's worker in a command. The worker owns the "worker" fields and
 * plays the clip one 20 ms frame per tick; when the clip ends, is stopped
 * or replaced, or its room or leg is removed, the worker hands the source
 * back (ch_media_worker_play_back, an event that is never lost), and the
 * control thread frees the clip and the source and reports the end. The
 * "control" fields are the control thread's alone all along.
 */
#ifndef CH_MEDIA_SOURCE_H
#define CH_MEDIA_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "media/pcm.h"

struct ch_media_source {
	/* set once by the control thread */
	struct ch_pcm *pcm;
	uint32_t play_id;
	uint32_t owner; /* room or leg id */
	bool leg;       /* a leg's prompt, else a room's clip */

	/* control thread */
	struct ch_media_source *ctl_next; /* a leg's prompts not yet back */
	bool reported;                    /* its end was reported already */

	/* worker */
	struct ch_media_source *next; /* hand-back list */
	uint32_t pos;                 /* next frame */
	bool paused;
	bool finished;    /* handed back after its last frame */
	int32_t gain_q14; /* room clips: mixer gain */
};

/* Worker. This tick's frame of s at rate (rate / 50 samples), the cursor
 * moved on; NULL while paused or past the end (the cursor holds). */
static inline const int16_t *ch_media_source_next(struct ch_media_source *s,
                                                  uint32_t rate)
{
	if (s->paused || s->pos >= s->pcm->frames)
		return NULL;
	return ch_pcm_frame(s->pcm, rate, s->pos++);
}

/* Worker. True once every frame has been played. */
static inline bool ch_media_source_ended(const struct ch_media_source *s)
{
	return s->pos >= s->pcm->frames;
}

#endif
