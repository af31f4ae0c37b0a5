/*
 * test_media_g711.c: G.711 mu-law and A-law tables against the standard's
 * known code points, exhaustive round trips and quantisation error bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "media/g711.h"

static int setup(void **state)
{
	ch_g711_init();
	return 0;
}

static int16_t ulaw_dec1(uint8_t c)
{
	int16_t s;
	ch_g711_ulaw_decode(&c, &s, 1);
	return s;
}

static uint8_t ulaw_enc1(int16_t s)
{
	uint8_t c;
	ch_g711_ulaw_encode(&s, &c, 1);
	return c;
}

static int16_t alaw_dec1(uint8_t c)
{
	int16_t s;
	ch_g711_alaw_decode(&c, &s, 1);
	return s;
}

static uint8_t alaw_enc1(int16_t s)
{
	uint8_t c;
	ch_g711_alaw_encode(&s, &c, 1);
	return c;
}

static void test_ulaw_known_values(void **state)
{
	assert_int_equal(ulaw_dec1(0xFF), 0);
	assert_int_equal(ulaw_dec1(0x7F), 0); /* negative zero */
	assert_int_equal(ulaw_dec1(0xFE), 8);
	assert_int_equal(ulaw_dec1(0x7E), -8);
	assert_int_equal(ulaw_dec1(0xEF), 132);
	assert_int_equal(ulaw_dec1(0x8F), 16764);
	assert_int_equal(ulaw_dec1(0x80), 32124);
	assert_int_equal(ulaw_dec1(0x00), -32124);
	assert_int_equal(ulaw_dec1(0x01), -31100);

	assert_int_equal(ulaw_enc1(0), 0xFF);
	assert_int_equal(ulaw_enc1(3), 0xFF);
	assert_int_equal(ulaw_enc1(4), 0xFE);
	assert_int_equal(ulaw_enc1(-1), 0x7F);
	assert_int_equal(ulaw_enc1(-4), 0x7F);
	assert_int_equal(ulaw_enc1(-5), 0x7E);
	assert_int_equal(ulaw_enc1(8), 0xFE);
	assert_int_equal(ulaw_enc1(-8), 0x7E);
	assert_int_equal(ulaw_enc1(32767), 0x80);
	assert_int_equal(ulaw_enc1(-32768), 0x00);
	assert_int_equal(ulaw_enc1(32124), 0x80);
	assert_int_equal(ulaw_enc1(16764), 0x8F);
	/* decision level between the two largest codes */
	assert_int_equal(ulaw_enc1(31611), 0x81);
	assert_int_equal(ulaw_enc1(31612), 0x80);
	assert_int_equal(ulaw_enc1(-31612), 0x01);
	assert_int_equal(ulaw_enc1(-31613), 0x00);
}

static void test_alaw_known_values(void **state)
{
	assert_int_equal(alaw_dec1(0xD5), 8);
	assert_int_equal(alaw_dec1(0x55), -8);
	assert_int_equal(alaw_dec1(0xD4), 24);
	assert_int_equal(alaw_dec1(0xAA), 32256);
	assert_int_equal(alaw_dec1(0x2A), -32256);
	assert_int_equal(alaw_dec1(0x00), -5504);
	assert_int_equal(alaw_dec1(0x80), 5504);

	assert_int_equal(alaw_enc1(0), 0xD5);
	assert_int_equal(alaw_enc1(-1), 0x55);
	assert_int_equal(alaw_enc1(8), 0xD5);
	assert_int_equal(alaw_enc1(-8), 0x55);
	assert_int_equal(alaw_enc1(32767), 0xAA);
	assert_int_equal(alaw_enc1(-32768), 0x2A);
	assert_int_equal(alaw_enc1(5504), 0x80);
	/* decision levels: segment 6 to 7, and within segment 0 */
	assert_int_equal(alaw_enc1(16383), 0xBA);
	assert_int_equal(alaw_enc1(16384), 0xA5);
	assert_int_equal(alaw_enc1(-16384), 0x3A);
	assert_int_equal(alaw_enc1(-16385), 0x25);
	assert_int_equal(alaw_enc1(15), 0xD5);
	assert_int_equal(alaw_enc1(16), 0xD4);
	assert_int_equal(alaw_enc1(-16), 0x55);
	assert_int_equal(alaw_enc1(-17), 0x54);
}

/*
 * Both laws quantise symmetrically about -1/2: x and -x - 1 decode to
 * opposite values; and coding is monotonic: a larger sample never gets a
 * smaller decoded value.
 */
static void test_symmetry_and_monotonic_encode(void **state)
{
	int16_t prev_u = INT16_MIN, prev_a = INT16_MIN;
	for (int x = 0; x <= 32767; x++) {
		assert_int_equal(ulaw_dec1(ulaw_enc1((int16_t)(-x - 1))),
		                 -ulaw_dec1(ulaw_enc1((int16_t)x)));
		assert_int_equal(alaw_dec1(alaw_enc1((int16_t)(-x - 1))),
		                 -alaw_dec1(alaw_enc1((int16_t)x)));
	}
	for (int x = -32768; x <= 32767; x++) {
		int16_t u = ulaw_dec1(ulaw_enc1((int16_t)x));
		int16_t a = alaw_dec1(alaw_enc1((int16_t)x));
		assert_true(u >= prev_u);
		assert_true(a >= prev_a);
		prev_u = u;
		prev_a = a;
	}
}

/* Every code decodes to a value that encodes back to the same code. */
static void test_code_round_trip(void **state)
{
	for (int c = 0; c < 256; c++) {
		uint8_t back = ulaw_enc1(ulaw_dec1((uint8_t)c));
		/* 0x7F is mu-law's negative zero; zero encodes as 0xFF */
		assert_int_equal(back, c == 0x7F ? 0xFF : c);
		assert_int_equal(alaw_enc1(alaw_dec1((uint8_t)c)), c);
	}
}

/* Decoded values are strictly monotonic in the code's magnitude order. */
static void test_monotonic(void **state)
{
	int16_t prev_u = -1, prev_a = -1;
	/* positive codes: mu-law 0xFF..0x80 and A-law (0x80..0xFF) ^ 0x55 */
	for (int i = 0; i < 128; i++) {
		int16_t u = ulaw_dec1((uint8_t)(0xFF - i));
		int16_t a = alaw_dec1((uint8_t)((0x80 | i) ^ 0x55));
		assert_true(u > prev_u);
		assert_true(a > prev_a);
		prev_u = u;
		prev_a = a;
	}
}

/*
 * Quantisation error: within one step of the segment a sample falls in
 * (mantissa has 4 bits: step <= |x| / 16 + small-signal step), and the
 * clipped extremes lose at most what the largest code leaves out.
 */
static void test_linear_round_trip_error(void **state)
{
	for (int x = -32768; x <= 32767; x++) {
		int16_t s = (int16_t)x, d;
		uint8_t c;
		int ax = abs(x);

		ch_g711_ulaw_encode(&s, &c, 1);
		ch_g711_ulaw_decode(&c, &d, 1);
		int eu = abs(d - x);
		if (ax <= 32124)
			assert_true(eu <= ax / 16 + 8);
		else
			assert_true(eu <= ax - 32124);

		ch_g711_alaw_encode(&s, &c, 1);
		ch_g711_alaw_decode(&c, &d, 1);
		int ea = abs(d - x);
		if (ax <= 32256)
			assert_true(ea <= ax / 16 + 16);
		else
			assert_true(ea <= ax - 32256 + 256);
		/* sign is kept (A-law has no zero code) */
		if (x > 16)
			assert_true(d > 0);
		if (x < -16)
			assert_true(d < 0);
	}
}

static double sine_snr(void (*enc)(const int16_t *, uint8_t *, size_t),
                       void (*dec)(const uint8_t *, int16_t *, size_t),
                       double amp)
{
	enum { N = 8000 };
	static int16_t in[N], out[N];
	static uint8_t code[N];
	double sig = 0, err = 0;

	for (int i = 0; i < N; i++)
		in[i] =
		    (int16_t)lrint(amp * sin(2 * M_PI * 1004.0 * i / 8000.0));
	enc(in, code, N);
	dec(code, out, N);
	for (int i = 0; i < N; i++) {
		sig += (double)in[i] * in[i];
		err += (double)(out[i] - in[i]) * (out[i] - in[i]);
	}
	return 10 * log10(sig / err);
}

/* G.711 gives roughly 38 dB SQNR over a wide range of levels. */
static void test_sine_snr(void **state)
{
	double levels[] = {30000, 10000, 3000, 1000};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		double su = sine_snr(ch_g711_ulaw_encode, ch_g711_ulaw_decode,
		                     levels[i]);
		double sa = sine_snr(ch_g711_alaw_encode, ch_g711_alaw_decode,
		                     levels[i]);
		assert_true(su > 33.0);
		assert_true(sa > 33.0);
	}
}

static void test_silence(void **state)
{
	int16_t zero[160] = {0}, out[160];
	uint8_t code[160];

	ch_g711_ulaw_encode(zero, code, 160);
	for (int i = 0; i < 160; i++)
		assert_int_equal(code[i], CH_G711_ULAW_SILENCE);
	ch_g711_ulaw_decode(code, out, 160);
	for (int i = 0; i < 160; i++)
		assert_int_equal(out[i], 0);

	ch_g711_alaw_encode(zero, code, 160);
	for (int i = 0; i < 160; i++)
		assert_int_equal(code[i], CH_G711_ALAW_SILENCE);
	ch_g711_alaw_decode(code, out, 160);
	for (int i = 0; i < 160; i++)
		assert_int_equal(out[i], 8);
}

/* Buffers are converted element-wise, and n = 0 touches nothing. */
static void test_buffers(void **state)
{
	int16_t in[4] = {0, 1000, -1000, 32767};
	uint8_t code[5] = {0, 0, 0, 0, 0x5A};
	int16_t out[5] = {0, 0, 0, 0, 1234};

	ch_g711_ulaw_encode(in, code, 4);
	assert_int_equal(code[4], 0x5A);
	for (int i = 0; i < 4; i++)
		assert_int_equal(code[i], ulaw_enc1(in[i]));
	ch_g711_ulaw_decode(code, out, 4);
	assert_int_equal(out[4], 1234);
	assert_int_equal(out[1], ulaw_dec1(code[1]));
	ch_g711_alaw_encode(in, code, 0);
	ch_g711_alaw_decode(code, out, 0);
	assert_int_equal(out[4], 1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ulaw_known_values),
	    cmocka_unit_test(test_alaw_known_values),
	    cmocka_unit_test(test_symmetry_and_monotonic_encode),
	    cmocka_unit_test(test_code_round_trip),
	    cmocka_unit_test(test_monotonic),
	    cmocka_unit_test(test_linear_round_trip_error),
	    cmocka_unit_test(test_sine_snr),
	    cmocka_unit_test(test_silence),
	    cmocka_unit_test(test_buffers),
	};
	return cmocka_run_group_tests_name("media_g711", tests, setup, NULL);
}
