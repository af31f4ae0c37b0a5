/*
 * test_media_g722.c: the G.722 path of the codec layer (codec.c over
 * spandsp): a 1 kHz tone at 16 kHz survives encode + decode at its level
 * and frequency, a 20 ms frame is 160 bytes, silence encodes through the
 * encoder's state, and a 6.5 kHz tone (only G.722, not G.711, carries it)
 * comes through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "media/codec.h"
#include "media/plc.h"

#define RATE  16000
#define FRAME 320

/* Goertzel power of freq in x[0..n), as dBFS of a full-scale sine. */
static double level_db(const int16_t *x, size_t n, double freq)
{
	double w = 2 * M_PI * freq / RATE, c = 2 * cos(w), s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] / 32768.0 + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	double p = s1 * s1 + s2 * s2 - c * s1 * s2;
	double amp = 2 * sqrt(p) / (double)n;
	return 20 * log10(amp + 1e-12);
}

static void roundtrip(double freq, double *in_db, double *out_db)
{
	struct ch_codec_state *cs;
	struct ch_plc plc;
	static int16_t in[FRAME * 50], out[FRAME * 50];
	uint8_t pl[CH_CODEC_MAX_PAYLOAD];

	assert_int_equal(
	    ch_codec_state_alloc(&cs, CH_CODEC_G722, RATE, true, NULL), 0);
	assert_int_equal(ch_plc_init(&plc, FRAME), 0);
	for (size_t i = 0; i < FRAME * 50; i++)
		in[i] = (int16_t)(16000 * sin(2 * M_PI * freq * i / RATE));
	for (size_t f = 0; f < 50; f++) {
		int n = ch_codec_encode(cs, in + f * FRAME, pl, sizeof(pl));
		assert_int_equal(n, 160);
		assert_int_equal(
		    ch_codec_decode(cs, &plc, pl, (size_t)n, out + f * FRAME),
		    0);
	}
	/* skip the codec's start-up, measure the steady part */
	*in_db = level_db(in + FRAME * 10, FRAME * 40, freq);
	*out_db = level_db(out + FRAME * 10, FRAME * 40, freq);
	ch_codec_state_free(cs);
}

static void test_g722_tone_1k(void **state)
{
	(void)state;
	double in_db, out_db;
	roundtrip(1000, &in_db, &out_db);
	assert_true(fabs(in_db - out_db) < 1.5);
}

static void test_g722_wideband_tone(void **state)
{
	(void)state;
	double in_db, out_db;
	/* above G.711's 4 kHz band: only a wideband codec carries it */
	roundtrip(6500, &in_db, &out_db);
	assert_true(fabs(in_db - out_db) < 3.0);
}

static void test_g722_rates_and_silence(void **state)
{
	(void)state;
	struct ch_codec_state *cs;
	uint8_t pl[CH_CODEC_MAX_PAYLOAD];
	assert_int_equal(ch_codec_supported(CH_CODEC_G722), 0);
	assert_int_equal(ch_codec_rate(CH_CODEC_G722), 16000);
	assert_int_equal(ch_codec_rtp_rate(CH_CODEC_G722), 8000);
	assert_int_equal(
	    ch_codec_state_alloc(&cs, CH_CODEC_G722, 48000, false, NULL), 0);
	assert_int_equal(cs->rtp_frame, 160);
	assert_int_equal(ch_codec_encode_silence(cs, pl, sizeof(pl)), 160);
	assert_int_equal(ch_codec_encode_silence(cs, pl, 10), -EIO);
	ch_codec_state_free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_g722_tone_1k),
	    cmocka_unit_test(test_g722_wideband_tone),
	    cmocka_unit_test(test_g722_rates_and_silence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
