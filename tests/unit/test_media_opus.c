/*
 * test_media_opus.c: the Opus path of the codec layer (codec.c over
 * libopus): decode and encode straight at the room's rate (8, 16, 48 kHz:
 * a frame is the room frame, no converter in the way), the bandwidth each
 * rate carries (6 kHz at 16 kHz, 10 kHz at 48 kHz),
 * both applications (low delay and voip), the mixing rate a leg asks of a
 * room, and decodes skipped for packets without audio: DTX-sized ones and a
 * silent packet repeated, never a packet that carries sound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include <opus/opus.h>

#include "media/codec.h"
#include "media/plc.h"

#include "audio_check.h"

#define FRAMES 50

/* Goertzel level of freq in x[0..n) at rate, dBFS of a full sine. */
static double level_db(const int16_t *x, size_t n, double freq, double rate)
{
	return ch_test_tone_db(x, n, freq, rate);
}

/* One second of freq through an encoder state and a decoder state at
 * rate; the decoded level of the last 0.6 s. */
static double roundtrip(uint32_t rate, double freq,
                        const struct ch_codec_opus *o)
{
	struct ch_codec_state *enc, *dec;
	struct ch_plc plc;
	static int16_t in[960 * FRAMES], out[960 * FRAMES];
	uint8_t pl[CH_CODEC_MAX_PAYLOAD];

	assert_int_equal(
	    ch_codec_state_alloc(&enc, CH_CODEC_OPUS, rate, false, o), 0);
	assert_int_equal(
	    ch_codec_state_alloc(&dec, CH_CODEC_OPUS, rate, true, o), 0);
	size_t frame = rate / 50;
	assert_int_equal(enc->codec_rate, rate);
	assert_int_equal(enc->codec_frame, frame);
	assert_int_equal(dec->room_frame, frame);
	assert_int_equal(enc->rtp_rate, 48000);
	assert_int_equal(enc->rtp_frame, 960);
	assert_int_equal(ch_plc_init(&plc, frame), 0);
	for (size_t i = 0; i < frame * FRAMES; i++)
		in[i] = (int16_t)(12000 * sin(2 * M_PI * freq * i / rate));
	for (size_t f = 0; f < FRAMES; f++) {
		int n = ch_codec_encode(enc, in + f * frame, pl, sizeof(pl));
		assert_true(n > CH_CODEC_OPUS_EMPTY_LEN);
		assert_int_equal(
		    ch_codec_decode(dec, &plc, pl, (size_t)n, out + f * frame),
		    0);
		/* no converter: the room frame is the decoded frame */
		assert_ptr_equal(ch_codec_to_room(dec, out + f * frame, in),
		                 out + f * frame);
	}
	assert_int_equal(dec->decodes_skipped, 0);
	double db = level_db(out + frame * 20, frame * 30, freq, rate);
	ch_codec_state_free(enc);
	ch_codec_state_free(dec);
	return db;
}

static void test_rates_and_band(void **state)
{
	const struct ch_codec_opus voip = {.complexity = 5, .lowdelay = false};
	(void)state;
	/* 12000 / 32768 of full scale is -8.7 dBFS */
	assert_true(roundtrip(8000, 600, NULL) > -12);
	assert_true(roundtrip(16000, 600, NULL) > -12);
	assert_true(roundtrip(16000, 600, &voip) > -12);
	assert_true(roundtrip(16000, 6000, NULL) > -14);
	assert_true(roundtrip(48000, 10000, NULL) > -14);
	assert_true(roundtrip(48000, 10000, &voip) > -14);
}

/* The mixing rate each codec asks of a room, and a rate Opus does not
 * have. (That a 16 kHz room drops a caller's 10 kHz while a 48 kHz one
 * passes it is checked end to end in tests/e2e/test_room_rate.py.) */
static void test_room_rate(void **state)
{
	(void)state;
	assert_int_equal(ch_codec_room_rate(CH_CODEC_OPUS, 16000), 16000);
	assert_int_equal(ch_codec_room_rate(CH_CODEC_OPUS, 48000), 48000);
	assert_int_equal(ch_codec_room_rate(CH_CODEC_OPUS, 8000), 8000);
	assert_int_equal(ch_codec_room_rate(CH_CODEC_PCMU, 48000), 8000);
	assert_int_equal(ch_codec_room_rate(CH_CODEC_G722, 48000), 16000);
	assert_int_equal(ch_codec_room_rate(CH_CODEC_G722, 8000), 8000);
	struct ch_codec_state *cs;
	const struct ch_codec_opus bad = {.complexity = 5, .lowdelay = true};
	/* 44.1 kHz is not an Opus rate */
	assert_int_equal(
	    ch_codec_state_alloc(&cs, CH_CODEC_OPUS, 44100, true, &bad),
	    -EINVAL);
}

/* Packets without sound skip the decoder; sound never does. */
static void test_silence_skips_decoder(void **state)
{
	struct ch_codec_state *dec;
	struct ch_plc plc;
	int16_t zeros[960] = {0}, pcm[960], tone[960];
	uint8_t pl[CH_CODEC_MAX_PAYLOAD];
	int err;
	(void)state;

	/* a real encoder fed digital silence, at 48 kHz, as phones send */
	OpusEncoder *e =
	    opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	assert_non_null(e);
	assert_int_equal(
	    ch_codec_state_alloc(&dec, CH_CODEC_OPUS, 16000, true, NULL), 0);
	assert_int_equal(ch_plc_init(&plc, 320), 0);
	uint64_t skipped = 0;
	for (int f = 0; f < 60; f++) {
		int n = opus_encode(e, zeros, 960, pl, sizeof(pl));
		assert_true(n > 0);
		assert_int_equal(ch_codec_decode(dec, &plc, pl, (size_t)n, pcm),
		                 0);
		for (int i = 0; i < 320; i++)
			assert_true(pcm[i] <= CH_CODEC_SILENT_PEAK &&
			            pcm[i] >= -CH_CODEC_SILENT_PEAK);
		skipped = dec->decodes_skipped;
	}
	/* the encoder settles on one packet: most of them skip */
	assert_true(skipped >= 40);

	/* then a tone: decoded, and heard */
	double sum = 0;
	for (int f = 0; f < 25; f++) {
		for (int i = 0; i < 960; i++)
			tone[i] =
			    (int16_t)(12000 * sin(2 * M_PI * 600 *
			                          (f * 960 + i) / 48000.0));
		int n = opus_encode(e, tone, 960, pl, sizeof(pl));
		assert_int_equal(ch_codec_decode(dec, &plc, pl, (size_t)n, pcm),
		                 0);
		if (f >= 5)
			sum += pow(10, level_db(pcm, 320, 600, 16000) / 10);
	}
	assert_int_equal(dec->decodes_skipped, skipped);
	assert_true(10 * log10(sum / 20) > -14);

	/* DTX-sized packets: silence without the decoder */
	uint8_t toc = pl[0];
	assert_int_equal(ch_codec_decode(dec, &plc, &toc, 1, pcm), 0);
	assert_int_equal(dec->decodes_skipped, skipped + 1);
	for (int i = 0; i < 320; i++)
		assert_int_equal(pcm[i], 0);
	opus_encoder_destroy(e);
	ch_codec_state_free(dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rates_and_band),
	    cmocka_unit_test(test_room_rate),
	    cmocka_unit_test(test_silence_skips_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
