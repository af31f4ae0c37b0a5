/*
 * mixer.c: sum-once, minus-own N-party mixing (see mixer.h).
 *
 * Cost per tick: one pass per contributor to build the int32 sum, one pass
 * to saturate the full mix, and one pass per contributor for its
 * sum-minus-own frame. Non-contributors cost nothing here: they share the
 * full mix. The loops are plain array arithmetic that the compiler
 * vectorises.
 */
#include "media/mixer.h"

#include <errno.h>
#include <string.h>

static inline int16_t sat16(int32_t v)
{
	if (v > INT16_MAX)
		return INT16_MAX;
	if (v < INT16_MIN)
		return INT16_MIN;
	return (int16_t)v;
}

int ch_mixer_init(struct ch_mixer *m, size_t frame_samples)
{
	if (frame_samples == 0 || frame_samples > CH_MIXER_MAX_FRAME)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->frame = frame_samples;
	m->extra_gain = CH_MIXER_GAIN_UNITY;
	return 0;
}

void ch_mixer_set_extra_gain(struct ch_mixer *m, int32_t gain_q14)
{
	if (gain_q14 < 0)
		gain_q14 = 0;
	if (gain_q14 > 4 * CH_MIXER_GAIN_UNITY)
		gain_q14 = 4 * CH_MIXER_GAIN_UNITY;
	m->extra_gain = gain_q14;
}

static void add_frame(int32_t *restrict sum, const int16_t *restrict in,
                      size_t n)
{
	for (size_t j = 0; j < n; j++)
		sum[j] += in[j];
}

static void add_extra(int32_t *restrict sum, const int16_t *restrict in,
                      size_t n, int32_t gain)
{
	if (gain == CH_MIXER_GAIN_UNITY) {
		add_frame(sum, in, n);
		return;
	}
	/* round to nearest; >> of a negative int is arithmetic with gcc */
	for (size_t j = 0; j < n; j++)
		sum[j] += (in[j] * gain + (1 << 13)) >> 14;
}

int ch_mixer_mix(struct ch_mixer *m, const int16_t *const *in, size_t nlegs,
                 const int16_t *extra)
{
	size_t n = m->frame;
	int rc = 0;

	if (nlegs > CH_MIXER_MAX_LEGS || (nlegs > 0 && !in)) {
		nlegs = 0;
		rc = -EINVAL;
	}
	memset(m->sum, 0, n * sizeof(m->sum[0]));
	m->nlegs = nlegs;
	m->ncontrib = 0;
	m->in = in;
	for (size_t i = 0; i < nlegs; i++) {
		if (!in[i])
			continue;
		add_frame(m->sum, in[i], n);
		m->ncontrib++;
	}
	m->have_extra = extra && m->extra_gain > 0;
	if (m->have_extra)
		add_extra(m->sum, extra, n, m->extra_gain);
	for (size_t j = 0; j < n; j++)
		m->full[j] = sat16(m->sum[j]);
	return rc;
}

const int16_t *ch_mixer_full(const struct ch_mixer *m)
{
	return m->full;
}

bool ch_mixer_leg_needs_own(const struct ch_mixer *m, size_t leg)
{
	return leg < m->nlegs && m->in[leg];
}

int ch_mixer_leg_out(const struct ch_mixer *m, size_t leg, int16_t *out)
{
	if (leg >= m->nlegs)
		return -EINVAL;
	const int16_t *own = m->in[leg];
	size_t n = m->frame;
	if (!own) {
		memcpy(out, m->full, n * sizeof(out[0]));
		return 0;
	}
	for (size_t j = 0; j < n; j++)
		out[j] = sat16(m->sum[j] - own[j]);
	return 0;
}

size_t ch_mixer_contributors(const struct ch_mixer *m)
{
	return m->ncontrib;
}

bool ch_mixer_silent(const struct ch_mixer *m)
{
	return m->ncontrib == 0 && !m->have_extra;
}

size_t ch_mixer_frame(const struct ch_mixer *m)
{
	return m->frame;
}
