/*
 * test_services_segmenter.c: utterance cutting for the transcriber: an
 * utterance starts with the preroll before the talk start and ends when
 * the talk ends (its end time is the last loud tick, not the trailing
 * quiet); 8 and 48 kHz legs come out at 16 kHz with their tone intact;
 * ticks without audio end an utterance; a long one is cut at max_ms and
 * goes on; flush ends one in progress; bad settings are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_check.h"
#include "services/segmenter.h"

/* One 20 ms tick at rate: a 1 kHz tone (amp of full scale, 0: silence),
 * continuous across ticks through *phase. */
static size_t tick(int16_t *pcm, uint32_t rate, double amp, size_t *phase)
{
	size_t n = rate / 50;
	for (size_t i = 0; i < n; i++, (*phase)++)
		pcm[i] =
		    (int16_t)(amp * 32767 *
		              sin(2 * M_PI * 1000.0 * (double)*phase / rate));
	return n;
}

/* Feeds ticks [from, to) of 20 ms; returns the utterances emitted. */
static int feed(struct ch_segmenter *s, uint32_t rate, int from, int to,
                double amp, bool talking, struct ch_segment *out, int max)
{
	int16_t pcm[960];
	static size_t phase;
	int got = 0;
	for (int t = from; t < to; t++) {
		size_t n = tick(pcm, rate, amp, &phase);
		struct ch_segment sg;
		int r = ch_segmenter_tick(s, (int64_t)t * 20, pcm, n, rate,
		                          talking, &sg);
		assert_true(r == 0 || r == 1);
		if (r == 1) {
			assert_true(got < max);
			out[got++] = sg;
		}
	}
	return got;
}

static void test_one_utterance_with_preroll(void **state)
{
	(void)state;
	struct ch_segmenter s;
	struct ch_segment sg[2];
	assert_int_equal(ch_segmenter_init(&s, NULL), 0);

	/* 1 s of quiet, 1 s talking (tone), 600 ms of quiet still flagged
	 * talking (the detector's off-hold), then not talking */
	assert_int_equal(feed(&s, 16000, 0, 50, 0, false, sg, 2), 0);
	assert_int_equal(feed(&s, 16000, 50, 100, 0.3, true, sg, 2), 0);
	assert_int_equal(feed(&s, 16000, 100, 130, 0, true, sg, 2), 0);
	assert_true(ch_segmenter_active(&s));
	assert_int_equal(feed(&s, 16000, 130, 140, 0, false, sg, 2), 1);
	assert_false(ch_segmenter_active(&s));

	assert_int_equal(sg[0].start_ms, 1000 - 300);
	assert_int_equal(sg[0].end_ms, 2000);
	assert_int_equal(sg[0].n, 4800 + 16000 + 9600);
	/* the preroll is the quiet before, then the tone */
	assert_true(ch_test_rms_db(sg[0].pcm, 4800) < -90);
	double tone = ch_test_tone_db(sg[0].pcm + 4800, 16000, 1000, 16000);
	assert_true(tone > -12 && tone < -9); /* 0.3 of full scale */
	assert_true(ch_test_rms_db(sg[0].pcm + 4800 + 16000, 9600) < -90);
	free(sg[0].pcm);
	ch_segmenter_destroy(&s);
}

static void test_rates_convert(void **state)
{
	(void)state;
	static const uint32_t rates[] = {8000, 48000};
	for (size_t i = 0; i < 2; i++) {
		struct ch_segmenter s;
		struct ch_segment sg[1];
		assert_int_equal(ch_segmenter_init(&s, NULL), 0);
		assert_int_equal(feed(&s, rates[i], 0, 100, 0.3, true, sg, 1),
		                 0);
		assert_int_equal(feed(&s, rates[i], 100, 101, 0, false, sg, 1),
		                 1);
		/* 2 s at 16 kHz, give or take the filter's delay */
		assert_true(sg[0].n > 31500 && sg[0].n <= 32000);
		/* past the filter's start, the tone is there at 1 kHz */
		double tone =
		    ch_test_tone_db(sg[0].pcm + 1600, 16000, 1000, 16000);
		assert_true(tone > -12.5 && tone < -9);
		/* and no image of it at 7 kHz (8 kHz up) or above */
		assert_true(ch_test_tone_db(sg[0].pcm + 1600, 16000, 7000,
		                            16000) < -50);
		free(sg[0].pcm);
		ch_segmenter_destroy(&s);
	}
}

static void test_absent_ticks_end_it(void **state)
{
	(void)state;
	struct ch_segmenter s;
	struct ch_segment sg[1];
	assert_int_equal(ch_segmenter_init(&s, NULL), 0);
	assert_int_equal(feed(&s, 8000, 0, 25, 0.3, true, sg, 1), 0);
	/* the leg left or was muted: no audio, talking ignored */
	assert_int_equal(ch_segmenter_tick(&s, 500, NULL, 0, 0, true, &sg[0]),
	                 1);
	assert_int_equal(sg[0].start_ms, 0);
	assert_int_equal(sg[0].end_ms, 500);
	free(sg[0].pcm);
	assert_int_equal(ch_segmenter_flush(&s, &sg[0]), 0);
	ch_segmenter_destroy(&s);
}

static void test_cut_at_max(void **state)
{
	(void)state;
	struct ch_segmenter_cfg cfg;
	struct ch_segmenter s;
	struct ch_segment sg[4];
	ch_segmenter_cfg_default(&cfg);
	cfg.max_ms = 1000;
	cfg.preroll_ms = 0;
	assert_int_equal(ch_segmenter_init(&s, &cfg), 0);
	/* 2.5 s of talk: cut at 1 s and 2 s, the rest by flush */
	int got = feed(&s, 16000, 0, 125, 0.3, true, sg, 4);
	assert_int_equal(got, 2);
	assert_int_equal(sg[0].start_ms, 0);
	assert_int_equal(sg[0].end_ms, 1000);
	assert_int_equal(sg[0].n, 16000);
	assert_int_equal(sg[1].start_ms, 1000);
	assert_int_equal(sg[1].end_ms, 2000);
	assert_int_equal(ch_segmenter_flush(&s, &sg[2]), 1);
	assert_int_equal(sg[2].start_ms, 2000);
	assert_int_equal(sg[2].end_ms, 2500);
	assert_int_equal(sg[2].n, 8000);
	for (int i = 0; i < 3; i++)
		free(sg[i].pcm);
	ch_segmenter_destroy(&s);
}

static void test_quiet_never_starts(void **state)
{
	(void)state;
	struct ch_segmenter s;
	struct ch_segment sg[1];
	assert_int_equal(ch_segmenter_init(&s, NULL), 0);
	/* loud but never flagged talking (e.g. muted by the detector's
	 * thresholds): no utterance */
	assert_int_equal(feed(&s, 16000, 0, 200, 0.3, false, sg, 1), 0);
	assert_int_equal(ch_segmenter_flush(&s, &sg[0]), 0);
	ch_segmenter_destroy(&s);
	ch_segmenter_destroy(&s); /* idempotent */
}

static void test_bad_settings(void **state)
{
	(void)state;
	struct ch_segmenter_cfg cfg;
	struct ch_segmenter s;
	ch_segmenter_cfg_default(&cfg);
	cfg.preroll_ms = 1500;
	assert_int_equal(ch_segmenter_init(&s, &cfg), EINVAL);
	ch_segmenter_cfg_default(&cfg);
	cfg.max_ms = 500;
	assert_int_equal(ch_segmenter_init(&s, &cfg), EINVAL);
	assert_int_equal(ch_segmenter_init(&s, NULL), 0);
	int16_t pcm[441];
	memset(pcm, 0, sizeof(pcm));
	struct ch_segment sg;
	assert_int_equal(ch_segmenter_tick(&s, 0, pcm, 441, 22050, true, &sg),
	                 EINVAL);
	ch_segmenter_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_utterance_with_preroll),
	    cmocka_unit_test(test_rates_convert),
	    cmocka_unit_test(test_absent_ticks_end_it),
	    cmocka_unit_test(test_cut_at_max),
	    cmocka_unit_test(test_quiet_never_starts),
	    cmocka_unit_test(test_bad_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
