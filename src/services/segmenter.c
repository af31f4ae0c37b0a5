/*
 * segmenter.c: utterance cutting of one participant's audio (see
 * segmenter.h).
 */
#include "services/segmenter.h"
#include "media/talkdetect.h"
#include "services/stt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS  20
#define TICK_16K (CH_STT_RATE / 1000 * TICK_MS)
#define CONV_MAX 1024

void ch_segmenter_cfg_default(struct ch_segmenter_cfg *cfg)
{
	cfg->preroll_ms = 300;
	cfg->max_ms = 30000;
	cfg->loud_dbov = -50;
}

int ch_segmenter_init(struct ch_segmenter *s,
                      const struct ch_segmenter_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	if (cfg)
		s->cfg = *cfg;
	else
		ch_segmenter_cfg_default(&s->cfg);
	if (s->cfg.preroll_ms > 1000 || s->cfg.max_ms < 1000)
		return EINVAL;
	s->pre_cap = (size_t)s->cfg.preroll_ms * (CH_STT_RATE / 1000);
	return 0;
}

void ch_segmenter_destroy(struct ch_segmenter *s)
{
	if (!s)
		return;
	free(s->buf);
	s->buf = NULL;
	s->n = s->cap = 0;
	s->in = false;
	if (s->rs_ready)
		ch_resample_destroy(&s->rs);
	s->rs_ready = false;
}

bool ch_segmenter_active(const struct ch_segmenter *s)
{
	return s->in;
}

/* pcm at rate -> 16 kHz in out (CONV_MAX); the samples written, or -1. */
static long convert(struct ch_segmenter *s, const int16_t *pcm, size_t n,
                    uint32_t rate, int16_t *out)
{
	size_t m;

	if (!pcm) {
		memset(out, 0, TICK_16K * sizeof(int16_t));
		return TICK_16K;
	}
	if (rate == CH_STT_RATE) {
		if (n > CONV_MAX)
			return -1;
		memcpy(out, pcm, n * sizeof(int16_t));
		return (long)n;
	}
	if (s->rs_ready && s->rs.in_rate != rate) {
		ch_resample_destroy(&s->rs);
		s->rs_ready = false;
	}
	if (!s->rs_ready) {
		if (ch_resample_init(&s->rs, rate, CH_STT_RATE, -1))
			return -1;
		s->rs_ready = true;
	}
	if (ch_resample_process(&s->rs, pcm, n, out, CONV_MAX, &m))
		return -1;
	return (long)m;
}

static void pre_push(struct ch_segmenter *s, const int16_t *p, size_t n)
{
	for (size_t i = 0; i < n && s->pre_cap; i++) {
		s->pre[s->pre_pos] = p[i];
		s->pre_pos = (s->pre_pos + 1) % s->pre_cap;
		if (s->pre_n < s->pre_cap)
			s->pre_n++;
	}
}

static int buf_append(struct ch_segmenter *s, const int16_t *p, size_t n)
{
	if (s->n + n > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : (size_t)CH_STT_RATE * 4;
		while (cap < s->n + n)
			cap *= 2;
		int16_t *b = realloc(s->buf, cap * sizeof(int16_t));
		if (!b)
			return ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->n, p, n * sizeof(int16_t));
	s->n += n;
	return 0;
}

/* Starts an utterance at t_ms with the preroll (then emptied). */
static int begin(struct ch_segmenter *s, int64_t t_ms)
{
	s->n = 0;
	if (s->pre_n) {
		/* oldest first: the ring is full from pre_pos, else from 0 */
		size_t first = s->pre_n == s->pre_cap ? s->pre_pos : 0;
		size_t tail = s->pre_n - (s->pre_n == s->pre_cap ? first : 0);
		int err = buf_append(s, s->pre + first, tail);
		if (!err && first && s->pre_n == s->pre_cap)
			err = buf_append(s, s->pre, first);
		if (err)
			return err;
	}
	s->start_ms = t_ms - (int64_t)(s->pre_n / (CH_STT_RATE / 1000));
	s->loud_end_ms = t_ms;
	s->pre_n = s->pre_pos = 0;
	s->in = true;
	return 0;
}

static int emit(struct ch_segmenter *s, struct ch_segment *out)
{
	if (!s->in)
		return 0;
	out->pcm = s->buf;
	out->n = s->n;
	out->start_ms = s->start_ms;
	out->end_ms =
	    s->loud_end_ms > s->start_ms ? s->loud_end_ms : s->start_ms;
	s->buf = NULL;
	s->n = s->cap = 0;
	s->in = false;
	return 1;
}

int ch_segmenter_tick(struct ch_segmenter *s, int64_t t_ms, const int16_t *pcm,
                      size_t n, uint32_t rate, bool talking,
                      struct ch_segment *out)
{
	int16_t conv[CONV_MAX];
	long m = convert(s, pcm, n, rate, conv);
	int ret = 0, err;

	if (m < 0)
		return EINVAL;
	if (!pcm)
		talking = false;
	bool loud = pcm && ch_talkdetect_dbov(pcm, n) >= s->cfg.loud_dbov;

	if (s->in &&
	    (!talking || t_ms - s->start_ms >= (int64_t)s->cfg.max_ms)) {
		ret = emit(s, out);
		if (talking) { /* cut at max_ms: the next one goes on */
			s->in = true;
			s->n = 0;
			s->start_ms = s->loud_end_ms = t_ms;
		}
	}
	if (!s->in && !talking) {
		pre_push(s, conv, (size_t)m);
		return ret;
	}
	if (!s->in) {
		err = begin(s, t_ms);
		if (err)
			return ret ? ret : err;
	}
	err = buf_append(s, conv, (size_t)m);
	if (err)
		return ret ? ret
		           : err; /* the tick is lost, not the utterance */
	if (loud)
		s->loud_end_ms = t_ms + TICK_MS;
	return ret;
}

int ch_segmenter_flush(struct ch_segmenter *s, struct ch_segment *out)
{
	return emit(s, out);
}
