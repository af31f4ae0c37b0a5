/*
 * test_media_talkdetect.c: frame levels in dBov and the start/stop
 * hysteresis, with synthesized tones and silence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <cmocka.h>

#include "media/talkdetect.h"

#define RATE  8000
#define FRAME 160 /* 20 ms */

/* One frame of a 1 kHz sine whose level is dbov (sine: peak = rms x sqrt2) */
static void tone(int16_t *buf, size_t n, uint32_t rate, double dbov,
                 size_t *phase)
{
	double amp = 32768.0 * pow(10.0, dbov / 20.0) * sqrt(2.0);
	for (size_t i = 0; i < n; i++, (*phase)++)
		buf[i] = (int16_t)lrint(
		    amp * sin(2 * M_PI * 1000.0 * (double)*phase / rate));
}

static enum ch_talkdetect_change feed_tone(struct ch_talkdetect *td,
                                           double dbov)
{
	static size_t phase;
	int16_t buf[FRAME];
	tone(buf, FRAME, RATE, dbov, &phase);
	return ch_talkdetect_frame(td, buf, FRAME);
}

static enum ch_talkdetect_change feed_silence(struct ch_talkdetect *td)
{
	int16_t buf[FRAME] = {0};
	return ch_talkdetect_frame(td, buf, FRAME);
}

static void test_levels(void **state)
{
	int16_t buf[FRAME];
	size_t phase = 0;

	for (size_t i = 0; i < FRAME; i++)
		buf[i] = (int16_t)(i % 2 ? 32767 : -32768);
	assert_int_equal(ch_talkdetect_dbov(buf, FRAME), 0);
	for (size_t i = 0; i < FRAME; i++)
		buf[i] = (int16_t)lrint(32767 * sin(2 * M_PI * i / 16.0));
	assert_int_equal(ch_talkdetect_dbov(buf, FRAME), -3);
	tone(buf, FRAME, RATE, -20, &phase);
	assert_int_equal(ch_talkdetect_dbov(buf, FRAME), -20);
	tone(buf, FRAME, RATE, -45, &phase);
	assert_int_equal(ch_talkdetect_dbov(buf, FRAME), -45);
	for (size_t i = 0; i < FRAME; i++)
		buf[i] = 0;
	assert_int_equal(ch_talkdetect_dbov(buf, FRAME), -127);
	assert_int_equal(ch_talkdetect_dbov(buf, 0), -127);
	assert_int_equal(ch_talkdetect_dbov(NULL, FRAME), -127);
	/* samples of +-1 LSB: mean square 1, 10 log10(2^-30) = -90.3 dBov */
	buf[0] = 1;
	buf[1] = -1;
	assert_int_equal(ch_talkdetect_dbov(buf, 2), -90);
}

static void test_init_validation(void **state)
{
	struct ch_talkdetect td;
	struct ch_talkdetect_cfg cfg;

	ch_talkdetect_cfg_default(&cfg);
	assert_int_equal(cfg.on_dbov, -40);
	assert_int_equal(cfg.on_ms, 60);
	assert_int_equal(cfg.off_dbov, -50);
	assert_int_equal(cfg.off_ms, 600);
	assert_int_equal(ch_talkdetect_init(&td, 0, NULL), -EINVAL);
	cfg.off_dbov = -30; /* above on */
	assert_int_equal(ch_talkdetect_init(&td, RATE, &cfg), -EINVAL);
	ch_talkdetect_cfg_default(&cfg);
	cfg.on_dbov = 3;
	assert_int_equal(ch_talkdetect_init(&td, RATE, &cfg), -EINVAL);
	ch_talkdetect_cfg_default(&cfg);
	cfg.off_dbov = -128;
	assert_int_equal(ch_talkdetect_init(&td, RATE, &cfg), -EINVAL);
	ch_talkdetect_cfg_default(&cfg);
	cfg.off_ms = -1;
	assert_int_equal(ch_talkdetect_init(&td, RATE, &cfg), -EINVAL);
	assert_int_equal(ch_talkdetect_init(&td, RATE, NULL), 0);
	assert_false(ch_talkdetect_talking(&td));
	assert_int_equal(ch_talkdetect_level_dbov(&td), -127);
	assert_int_equal(ch_talkdetect_level(&td), 0);
}

/* Defaults: start after 60 ms above -40 dBov, stop after 600 ms below -50. */
static void test_start_stop_hysteresis(void **state)
{
	struct ch_talkdetect td;
	assert_int_equal(ch_talkdetect_init(&td, RATE, NULL), 0);

	for (int i = 0; i < 10; i++)
		assert_int_equal(feed_silence(&td), CH_TALKDETECT_NONE);

	/* 40 ms of speech then a gap: a blip is not talking */
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_NONE);
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_NONE);
	assert_int_equal(feed_silence(&td), CH_TALKDETECT_NONE);
	assert_false(ch_talkdetect_talking(&td));

	/* the third consecutive loud frame (60 ms) starts talking */
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_NONE);
	assert_int_equal(ch_talkdetect_level_dbov(&td), -20);
	assert_int_equal(ch_talkdetect_level(&td), 75);
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_NONE);
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_STARTED);
	assert_true(ch_talkdetect_talking(&td));

	/* between the thresholds (-45) keeps talking for as long as it lasts */
	for (int i = 0; i < 100; i++)
		assert_int_equal(feed_tone(&td, -45), CH_TALKDETECT_NONE);
	assert_true(ch_talkdetect_talking(&td));

	/* 580 ms of silence, then one loud frame: the quiet count restarts */
	for (int i = 0; i < 29; i++)
		assert_int_equal(feed_silence(&td), CH_TALKDETECT_NONE);
	assert_int_equal(ch_talkdetect_level_dbov(&td), -127);
	assert_int_equal(feed_tone(&td, -30), CH_TALKDETECT_NONE);

	/* the 30th quiet frame in a row (600 ms) stops talking */
	for (int i = 0; i < 29; i++)
		assert_int_equal(feed_tone(&td, -60), CH_TALKDETECT_NONE);
	assert_true(ch_talkdetect_talking(&td));
	assert_int_equal(feed_silence(&td), CH_TALKDETECT_STOPPED);
	assert_false(ch_talkdetect_talking(&td));

	/* -45 is not loud enough to start */
	for (int i = 0; i < 50; i++)
		assert_int_equal(feed_tone(&td, -45), CH_TALKDETECT_NONE);
	assert_false(ch_talkdetect_talking(&td));
	/* NULL is silence */
	assert_int_equal(ch_talkdetect_frame(&td, NULL, FRAME),
	                 CH_TALKDETECT_NONE);
	assert_int_equal(ch_talkdetect_level_dbov(&td), -127);
}

/* The thresholds themselves: 2 dB either side of on (-40) and off (-50). */
static void test_threshold_edges(void **state)
{
	struct ch_talkdetect td;
	assert_int_equal(ch_talkdetect_init(&td, RATE, NULL), 0);

	for (int i = 0; i < 50; i++)
		assert_int_equal(feed_tone(&td, -42), CH_TALKDETECT_NONE);
	assert_int_equal(feed_tone(&td, -38), CH_TALKDETECT_NONE);
	assert_int_equal(feed_tone(&td, -38), CH_TALKDETECT_NONE);
	assert_int_equal(feed_tone(&td, -38), CH_TALKDETECT_STARTED);

	for (int i = 0; i < 50; i++)
		assert_int_equal(feed_tone(&td, -48), CH_TALKDETECT_NONE);
	for (int i = 0; i < 29; i++)
		assert_int_equal(feed_tone(&td, -52), CH_TALKDETECT_NONE);
	assert_int_equal(feed_tone(&td, -52), CH_TALKDETECT_STOPPED);
}

/* Custom thresholds, hold times in samples at 48 kHz with 10 ms frames. */
static void test_custom_cfg_48k(void **state)
{
	struct ch_talkdetect td;
	struct ch_talkdetect_cfg cfg = {
	    .on_dbov = -30, .on_ms = 50, .off_dbov = -35, .off_ms = 100};
	int16_t loud[480], quiet[480];
	size_t phase = 0;

	assert_int_equal(ch_talkdetect_init(&td, 48000, &cfg), 0);
	tone(loud, 480, 48000, -25, &phase);
	tone(quiet, 480, 48000, -40, &phase);
	/* -40 is below on: never starts */
	for (int i = 0; i < 20; i++)
		assert_int_equal(ch_talkdetect_frame(&td, quiet, 480),
		                 CH_TALKDETECT_NONE);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ch_talkdetect_frame(&td, loud, 480),
		                 CH_TALKDETECT_NONE);
	assert_int_equal(ch_talkdetect_frame(&td, loud, 480),
	                 CH_TALKDETECT_STARTED);
	for (int i = 0; i < 9; i++)
		assert_int_equal(ch_talkdetect_frame(&td, quiet, 480),
		                 CH_TALKDETECT_NONE);
	assert_int_equal(ch_talkdetect_frame(&td, quiet, 480),
	                 CH_TALKDETECT_STOPPED);

	/* zero hold: the first loud frame starts, the first quiet one stops */
	cfg.on_ms = 0;
	cfg.off_ms = 0;
	assert_int_equal(ch_talkdetect_init(&td, 48000, &cfg), 0);
	assert_int_equal(ch_talkdetect_frame(&td, quiet, 480),
	                 CH_TALKDETECT_NONE);
	assert_int_equal(ch_talkdetect_frame(&td, loud, 480),
	                 CH_TALKDETECT_STARTED);
	assert_int_equal(ch_talkdetect_frame(&td, loud, 480),
	                 CH_TALKDETECT_NONE);
	assert_int_equal(ch_talkdetect_frame(&td, quiet, 480),
	                 CH_TALKDETECT_STOPPED);
}

/* Audible: every frame at or over on (-40) from the first one, before the
 * start is confirmed; while talking, every frame (the hangover). */
static void test_audible(void **state)
{
	struct ch_talkdetect td;
	assert_int_equal(ch_talkdetect_init(&td, RATE, NULL), 0);
	assert_false(ch_talkdetect_audible(&td));

	assert_int_equal(feed_tone(&td, -45), CH_TALKDETECT_NONE);
	assert_false(ch_talkdetect_audible(&td));
	/* a blip: heard, never talking */
	assert_int_equal(feed_tone(&td, -38), CH_TALKDETECT_NONE);
	assert_true(ch_talkdetect_audible(&td));
	assert_false(ch_talkdetect_talking(&td));
	assert_int_equal(feed_silence(&td), CH_TALKDETECT_NONE);
	assert_false(ch_talkdetect_audible(&td));

	/* a talkspurt: its first two frames are heard before it starts */
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_NONE);
	assert_true(ch_talkdetect_audible(&td));
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_NONE);
	assert_true(ch_talkdetect_audible(&td));
	assert_int_equal(feed_tone(&td, -20), CH_TALKDETECT_STARTED);
	/* quiet frames while talking stay heard until it stops */
	for (int i = 0; i < 29; i++) {
		assert_int_equal(feed_silence(&td), CH_TALKDETECT_NONE);
		assert_true(ch_talkdetect_audible(&td));
	}
	assert_int_equal(feed_silence(&td), CH_TALKDETECT_STOPPED);
	assert_false(ch_talkdetect_audible(&td));
	assert_int_equal(ch_talkdetect_frame(&td, NULL, 0), CH_TALKDETECT_NONE);
	assert_false(ch_talkdetect_audible(&td));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_init_validation),
	    cmocka_unit_test(test_start_stop_hysteresis),
	    cmocka_unit_test(test_threshold_edges),
	    cmocka_unit_test(test_custom_cfg_48k),
	    cmocka_unit_test(test_audible),
	};
	return cmocka_run_group_tests_name("media_talkdetect", tests, NULL,
	                                   NULL);
}
