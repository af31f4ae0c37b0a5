/*
 * test_media_resample.c: the speexdsp wrapper keeps a tone's frequency and
 * level through 8k -> 48k -> 8k and 16k -> 48k -> 16k, keeps per-frame
 * output lengths exact, filters what does not fit the lower rate, and
 * validates its arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <cmocka.h>

#include "media/resample.h"

#define SECONDS 1
#define MAX_N   (48000 * SECONDS)

/* Power of the frequency f in x (Goertzel), normalised by n^2. */
static double goertzel(const int16_t *x, size_t n, double f, double rate)
{
	double w = 2 * M_PI * f / rate, c = 2 * cos(w);
	double s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}

static double rms_db(const int16_t *x, size_t n)
{
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += (double)x[i] * x[i];
	return 10 * log10(acc / n);
}

/* Frequency of the strongest Goertzel bin from lo to hi in 1 Hz steps. */
static double peak_hz(const int16_t *x, size_t n, double rate, double lo,
                      double hi)
{
	double best = lo, best_p = -1;
	for (double f = lo; f <= hi; f += 1) {
		double p = goertzel(x, n, f, rate);
		if (p > best_p) {
			best_p = p;
			best = f;
		}
	}
	return best;
}

static void make_tone(int16_t *x, size_t n, double f, double rate, double amp)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (int16_t)lrint(amp * sin(2 * M_PI * f * i / rate));
}

/*
 * Runs x (n samples at lo) up to 48 kHz and back down in 20 ms frames,
 * checking every frame's length. up/down receive the signal at each rate.
 */
static void round_trip(uint32_t lo, const int16_t *x, size_t n, int16_t *up,
                       int16_t *down)
{
	struct ch_resample a, b;
	size_t fl = lo / 50, fh = 48000 / 50, got;

	assert_int_equal(ch_resample_init(&a, lo, 48000, -1), 0);
	assert_int_equal(ch_resample_init(&b, 48000, lo, -1), 0);
	assert_true(ch_resample_latency(&a) > 0);
	assert_int_equal(ch_resample_out_len(&a, fl), fh);
	for (size_t k = 0; k + fl <= n; k += fl) {
		size_t j = k / fl;
		assert_int_equal(
		    ch_resample_process(&a, x + k, fl, up + j * fh, fh, &got),
		    0);
		assert_int_equal(got, fh);
		assert_int_equal(ch_resample_process(&b, up + j * fh, fh,
		                                     down + k, fl, &got),
		                 0);
		assert_int_equal(got, fl);
	}
	ch_resample_destroy(&a);
	ch_resample_destroy(&b);
	ch_resample_destroy(&b); /* idempotent */
}

static void check_tone(uint32_t lo, double f)
{
	static int16_t x[MAX_N], up[MAX_N], down[MAX_N];
	size_t n = lo * SECONDS, skip = lo / 5; /* 200 ms of filter start */

	make_tone(x, n, f, lo, 10000);
	round_trip(lo, x, n, up, down);

	/* at 48 kHz: same frequency, same level */
	size_t nu = 48000 * SECONDS, su = 48000 / 5;
	assert_true(
	    fabs(peak_hz(up + su, nu - su, 48000, f - 40, f + 40) - f) <= 1);
	assert_true(
	    fabs(rms_db(up + su, nu - su) - rms_db(x + skip, n - skip)) < 1.0);

	/* back at the low rate */
	double in_db = rms_db(x + skip, n - skip);
	double out_db = rms_db(down + skip, n - skip);
	assert_true(fabs(out_db - in_db) < 1.0);
	assert_true(
	    fabs(peak_hz(down + skip, n - skip, lo, f - 40, f + 40) - f) <= 1);
	/* the tone dominates: a bin 60 Hz away is 40 dB down */
	double p = goertzel(down + skip, n - skip, f, lo);
	assert_true(p > 1e4 * goertzel(down + skip, n - skip, f + 60, lo));
	assert_true(p > 1e4 * goertzel(down + skip, n - skip, f - 60, lo));
}

static void test_440hz_8k_48k_8k(void **state)
{
	check_tone(8000, 440);
}

static void test_1khz_16k_48k_16k(void **state)
{
	check_tone(16000, 1000);
}

/* 48k -> 8k removes a 6 kHz tone that 8 kHz cannot carry. */
static void test_anti_alias(void **state)
{
	static int16_t x[48000], y[8000];
	struct ch_resample r;
	size_t got, total = 0;

	make_tone(x, 48000, 6000, 48000, 10000);
	assert_int_equal(ch_resample_init(&r, 48000, 8000, -1), 0);
	for (size_t k = 0; k < 48000; k += 960) {
		assert_int_equal(
		    ch_resample_process(&r, x + k, 960, y + total, 160, &got),
		    0);
		total += got;
	}
	ch_resample_destroy(&r);
	assert_int_equal(total, 8000);
	/* 10000 peak is about 77 dB; require 30 dB of rejection */
	assert_true(rms_db(y + 1600, 6400) < rms_db(x, 48000) - 30);
}

static void test_equal_rates_copy(void **state)
{
	struct ch_resample r;
	int16_t in[160], out[160];
	size_t got = 0;

	for (size_t i = 0; i < 160; i++)
		in[i] = (int16_t)(i * 7 - 500);
	assert_int_equal(ch_resample_init(&r, 16000, 16000, 5), 0);
	assert_int_equal(ch_resample_latency(&r), 0);
	assert_int_equal(ch_resample_process(&r, in, 160, out, 160, &got), 0);
	assert_int_equal(got, 160);
	assert_memory_equal(in, out, sizeof(in));
	ch_resample_reset(&r);
	ch_resample_destroy(&r);
}

static void test_errors(void **state)
{
	struct ch_resample r;
	int16_t in[160] = {0}, out[960];
	size_t got = 7;

	assert_int_equal(ch_resample_init(&r, 44100, 48000, -1), -EINVAL);
	assert_int_equal(ch_resample_init(&r, 8000, 0, -1), -EINVAL);
	assert_int_equal(ch_resample_init(&r, 8000, 48000, 11), -EINVAL);
	/* a failed init leaves an unusable converter, not a crash */
	assert_int_equal(ch_resample_process(&r, in, 160, out, 960, &got),
	                 -EINVAL);
	assert_int_equal(got, 0);
	ch_resample_destroy(&r);

	assert_int_equal(ch_resample_init(&r, 8000, 48000, 0), 0);
	assert_int_equal(ch_resample_process(&r, in, 160, out, 959, &got),
	                 -ENOSPC);
	assert_int_equal(ch_resample_process(&r, in, 160, out, 960, &got), 0);
	assert_int_equal(got, 960);
	ch_resample_reset(&r);
	assert_int_equal(ch_resample_process(&r, in, 160, out, 960, &got), 0);
	assert_int_equal(got, 960);
	ch_resample_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_440hz_8k_48k_8k),
	    cmocka_unit_test(test_1khz_16k_48k_16k),
	    cmocka_unit_test(test_anti_alias),
	    cmocka_unit_test(test_equal_rates_copy),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("media_resample", tests, NULL, NULL);
}
