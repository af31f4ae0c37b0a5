/*
 * audio_check.h: audio analysis for unit tests (header only): the level of
 * one frequency in a signal (Goertzel), the RMS level, both in dB relative
 * to a full-scale sine (0 dBFS = amplitude 32767), and a tone generator.
 */
#ifndef CH_TEST_AUDIO_CHECK_H
#define CH_TEST_AUDIO_CHECK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Level in dBFS of the sine of frequency f in x[0..n) at rate (Goertzel):
 * a sine of amplitude A gives 20 log10(A / 32767). */
static inline double ch_test_tone_db(const int16_t *x, size_t n, double f,
                                     double rate)
{
	double w = 2 * M_PI * f / rate, c = 2 * cos(w);
	double s1 = 0, s2 = 0, p;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	p = s1 * s1 + s2 * s2 - c * s1 * s2;
	if (p <= 0 || !n)
		return -200;
	/* |X| = A n / 2 for a sine of amplitude A on a bin. */
	return 20 * log10(2 * sqrt(p) / (double)n / 32767.0);
}

/* RMS level of x[0..n) in dBFS (a full-scale sine is 0 dB). */
static inline double ch_test_rms_db(const int16_t *x, size_t n)
{
	double acc = 0;

	for (size_t i = 0; i < n; i++)
		acc += (double)x[i] * x[i];
	if (!n || acc <= 0)
		return -200;
	return 10 * log10(acc / (double)n / (32767.0 * 32767.0 / 2));
}

/* x[i] = amp sin(2 pi f i / rate), amp in 0..1 of full scale. */
static inline void ch_test_tone_float(float *x, size_t n, size_t stride,
                                      double f, double rate, double amp)
{
	for (size_t i = 0; i < n; i++)
		x[i * stride] = (float)(amp * sin(2 * M_PI * f * i / rate));
}

#endif
