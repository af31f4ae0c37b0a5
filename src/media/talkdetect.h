/*
 * talkdetect.h: server-side talk detection from decoded PCM.
 *
 * Each frame's level is its mean square relative to full scale, in dBov
 * (0 = a full-scale square wave, a full-scale sine is about -3 dBov, digital
 * silence is floored at -127). Detection has hysteresis: a leg starts
 * talking once its level has stayed at or above the on-threshold for on_ms,
 * and stops once it has stayed below the off-threshold for off_ms. The
 * thresholds are compared in the linear domain, so a frame costs one
 * multiply-add per sample and one log10 for the reported level.
 *
 * Two uses, two questions. "Talking" (the hysteresis) is the state that is
 * reported (talk events, stats). "Audible" is what the mixer asks of each
 * frame: talking, or this frame alone at or above the on-threshold. The
 * mixer must not wait for on_ms: holding the first frames of every
 * talkspurt back until the start is confirmed would clip the onset of
 * speech and add on_ms to the delay through the bridge.
 */
#ifndef CH_MEDIA_TALKDETECT_H
#define CH_MEDIA_TALKDETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CH_TALKDETECT_FLOOR_DBOV -127

/* Thresholds and hold times; see ch_talkdetect_cfg_default(). */
struct ch_talkdetect_cfg {
	int on_dbov;  /* level that counts as talking, e.g. -40 */
	int on_ms;    /* how long it must last to start, e.g. 60 */
	int off_dbov; /* level below which a talker is quiet, e.g. -50 */
	int off_ms;   /* how long quiet must last to stop, e.g. 600 */
};

enum ch_talkdetect_change {
	CH_TALKDETECT_NONE = 0,
	CH_TALKDETECT_STARTED,
	CH_TALKDETECT_STOPPED,
};

/*
 * Talk state of one leg. Owned by the media worker that runs the leg; not
 * thread-safe. Caller-provided storage, nothing to free. Fields are private.
 */
struct ch_talkdetect {
	uint32_t rate;     /* samples per second */
	uint64_t on_thr;   /* on_dbov as a sum of squares per sample */
	uint64_t off_thr;  /* off_dbov, same unit */
	uint64_t on_hold;  /* on_ms in samples */
	uint64_t off_hold; /* off_ms in samples */
	uint64_t above;    /* samples in a row at or above on_thr */
	uint64_t below;    /* samples in a row below off_thr */
	bool talking;
	bool loud;      /* the last frame was at or above on_thr */
	int level_dbov; /* level of the last frame */
};

/* Fills cfg with the defaults: on -40 dBov for 60 ms, off -50 dBov 600 ms. */
void ch_talkdetect_cfg_default(struct ch_talkdetect_cfg *cfg);

/*
 * Prepares td for PCM at rate samples per second with cfg (NULL for the
 * defaults); the leg starts as not talking. Returns 0, or -EINVAL if rate is
 * 0, a threshold is outside [-127, 0] dBov, off_dbov > on_dbov, or a hold
 * time is negative (td is then unusable).
 */
int ch_talkdetect_init(struct ch_talkdetect *td, uint32_t rate,
                       const struct ch_talkdetect_cfg *cfg);

/*
 * Feeds one frame of n samples (any n; usually one 20 ms tick). pcm NULL or
 * n 0 is digital silence of n samples. Returns whether the leg started or
 * stopped talking with this frame.
 */
enum ch_talkdetect_change ch_talkdetect_frame(struct ch_talkdetect *td,
                                              const int16_t *pcm, size_t n);

/* True while the leg is talking. */
bool ch_talkdetect_talking(const struct ch_talkdetect *td);

/*
 * True if the last frame is to be heard: the leg is talking, or that frame
 * was at or above the on-threshold (a talkspurt's first frames, before
 * on_ms has confirmed it, and short sounds that never start talking).
 */
bool ch_talkdetect_audible(const struct ch_talkdetect *td);

/* Level of the last frame in dBov, -127..0. */
int ch_talkdetect_level_dbov(const struct ch_talkdetect *td);

/*
 * Level of the last frame on a 0..100 scale for stats: -127 dBov and below
 * -80 map to 0, 0 dBov to 100, linear in dB between.
 */
int ch_talkdetect_level(const struct ch_talkdetect *td);

/*
 * Level in dBov of n samples, -127..0 (-127 for n 0 or digital silence).
 * Pure helper, thread-safe.
 */
int ch_talkdetect_dbov(const int16_t *pcm, size_t n);

#endif
