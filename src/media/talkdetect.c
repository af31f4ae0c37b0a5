/*
 * talkdetect.c: energy-based talk detection with hysteresis (see
 * talkdetect.h).
 *
 * Thresholds are kept as mean squares in Q8 (1/256 of a squared sample), so
 * a frame is classified by comparing 256 x sum of squares against
 * threshold x samples, all in 64-bit integers: a 960-sample frame of
 * full-scale samples sums to under 2^40.
 */
#include "media/talkdetect.h"

#include <errno.h>
#include <math.h>

#define FULL_SCALE_SQ 1073741824.0 /* 32768^2 */

void ch_talkdetect_cfg_default(struct ch_talkdetect_cfg *cfg)
{
	cfg->on_dbov = -40;
	cfg->on_ms = 60;
	cfg->off_dbov = -50;
	cfg->off_ms = 600;
}

/* dBov threshold as a Q8 mean square. */
static uint64_t thr_q8(int dbov)
{
	return (uint64_t)(FULL_SCALE_SQ * 256.0 * pow(10.0, dbov / 10.0));
}

int ch_talkdetect_init(struct ch_talkdetect *td, uint32_t rate,
                       const struct ch_talkdetect_cfg *cfg)
{
	struct ch_talkdetect_cfg def;

	if (!cfg) {
		ch_talkdetect_cfg_default(&def);
		cfg = &def;
	}
	if (rate == 0 || cfg->on_dbov > 0 ||
	    cfg->on_dbov < CH_TALKDETECT_FLOOR_DBOV || cfg->off_dbov > 0 ||
	    cfg->off_dbov < CH_TALKDETECT_FLOOR_DBOV ||
	    cfg->off_dbov > cfg->on_dbov || cfg->on_ms < 0 || cfg->off_ms < 0)
		return -EINVAL;
	td->rate = rate;
	td->on_thr = thr_q8(cfg->on_dbov);
	td->off_thr = thr_q8(cfg->off_dbov);
	td->on_hold = (uint64_t)cfg->on_ms * rate / 1000;
	td->off_hold = (uint64_t)cfg->off_ms * rate / 1000;
	td->above = 0;
	td->below = 0;
	td->talking = false;
	td->loud = false;
	td->level_dbov = CH_TALKDETECT_FLOOR_DBOV;
	return 0;
}

static uint64_t sum_squares(const int16_t *pcm, size_t n)
{
	uint64_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += (uint64_t)((int32_t)pcm[i] * pcm[i]);
	return acc;
}

static int level_of(uint64_t sumsq, size_t n)
{
	if (n == 0 || sumsq == 0)
		return CH_TALKDETECT_FLOOR_DBOV;
	double db = 10.0 * log10((double)sumsq / ((double)n * FULL_SCALE_SQ));
	int v = (int)floor(db + 0.5);
	if (v > 0)
		return 0;
	if (v < CH_TALKDETECT_FLOOR_DBOV)
		return CH_TALKDETECT_FLOOR_DBOV;
	return v;
}

int ch_talkdetect_dbov(const int16_t *pcm, size_t n)
{
	if (!pcm)
		return CH_TALKDETECT_FLOOR_DBOV;
	return level_of(sum_squares(pcm, n), n);
}

enum ch_talkdetect_change ch_talkdetect_frame(struct ch_talkdetect *td,
                                              const int16_t *pcm, size_t n)
{
	uint64_t sumsq = pcm ? sum_squares(pcm, n) : 0;
	uint64_t e = sumsq * 256;

	td->level_dbov = level_of(sumsq, n);
	td->loud = n > 0 && e >= td->on_thr * n;
	if (n == 0)
		return CH_TALKDETECT_NONE;
	if (!td->talking) {
		if (td->loud)
			td->above += n;
		else
			td->above = 0;
		if (td->above < td->on_hold || td->above == 0)
			return CH_TALKDETECT_NONE;
		td->talking = true;
		td->below = 0;
		return CH_TALKDETECT_STARTED;
	}
	if (e < td->off_thr * n)
		td->below += n;
	else
		td->below = 0;
	if (td->below < td->off_hold || td->below == 0)
		return CH_TALKDETECT_NONE;
	td->talking = false;
	td->above = 0;
	return CH_TALKDETECT_STOPPED;
}

bool ch_talkdetect_talking(const struct ch_talkdetect *td)
{
	return td->talking;
}

bool ch_talkdetect_audible(const struct ch_talkdetect *td)
{
	return td->talking || td->loud;
}

int ch_talkdetect_level_dbov(const struct ch_talkdetect *td)
{
	return td->level_dbov;
}

int ch_talkdetect_level(const struct ch_talkdetect *td)
{
	int db = td->level_dbov;
	if (db <= -80)
		return 0;
	return (db + 80) * 100 / 80;
}
