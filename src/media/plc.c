/*
 * plc.c: packet-loss concealment (see plc.h): spandsp's pitch-based
 * concealer for 8 kHz, repeat and fade otherwise.
 *
 * Gains are Q15. Concealed frame k (1-based) ramps linearly from
 * 2^-(k-1) to 2^-k, except the last faded frame, which ends at 0.
 */
#include "media/plc.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define Q15_ONE 32768

int ch_plc_init(struct ch_plc *p, size_t frame_samples)
{
	if (frame_samples == 0 || frame_samples > CH_PLC_MAX_FRAME)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->frame = frame_samples;
	return 0;
}

int ch_plc_init_pitch(struct ch_plc *p, size_t frame_samples)
{
	int err = ch_plc_init(p, frame_samples);
	if (err)
		return err;
	if (!plc_init(&p->sp))
		return -EINVAL;
	p->pitch = true;
	return 0;
}

/*
 * spandsp's plc_fillin, at the first frame of a loss, puts its history
 * ring in order with a memcpy whose source and destination overlap
 * (undefined behaviour; AddressSanitizer stops on it). The ring is put in
 * order here first, with memmove: spandsp's own rotation then has
 * nothing to move (a copy of a range onto itself). The result is the
 * same history either way.
 */
static void history_in_order(plc_state_t *s)
{
	int n = s->buf_ptr;
	int16_t tmp[PLC_HISTORY_LEN];

	if (n > 0 && n < PLC_HISTORY_LEN) {
		memcpy(tmp, s->history, (size_t)n * sizeof(tmp[0]));
		memmove(s->history, s->history + n,
		        (size_t)(PLC_HISTORY_LEN - n) * sizeof(tmp[0]));
		memcpy(s->history + PLC_HISTORY_LEN - n, tmp,
		       (size_t)n * sizeof(tmp[0]));
	}
	s->buf_ptr = 0;
}

void ch_plc_good(struct ch_plc *p, int16_t *pcm)
{
	p->lost = 0;
	if (p->pitch) {
		(void)plc_rx(&p->sp, pcm, (int)p->frame);
		return;
	}
	memcpy(p->last, pcm, p->frame * sizeof(pcm[0]));
}

void ch_plc_conceal(struct ch_plc *p, int16_t *out)
{
	size_t n = p->frame;

	if (p->lost < UINT_MAX)
		p->lost++;
	if (p->pitch) {
		if (p->sp.missing_samples == 0)
			history_in_order(&p->sp);
		(void)plc_fillin(&p->sp, out, (int)n);
		return;
	}
	if (p->lost > CH_PLC_FADE_FRAMES) {
		memset(out, 0, n * sizeof(out[0]));
		return;
	}
	int64_t g0 = Q15_ONE >> (p->lost - 1);
	int64_t g1 = p->lost == CH_PLC_FADE_FRAMES ? 0 : Q15_ONE >> p->lost;
	for (size_t i = 0; i < n; i++) {
		/* gain reaches g1 on the last sample */
		int64_t g = g0 + (g1 - g0) * (int64_t)(i + 1) / (int64_t)n;
		out[i] = (int16_t)((p->last[i] * g) / Q15_ONE);
	}
}

unsigned ch_plc_lost(const struct ch_plc *p)
{
	return p->lost;
}
