/*
 * test_bench_onset.c: the measuring pieces of bench/load_util.h that the
 * side-by-side benchmark (bench/compare) reports: the onset of a tone
 * burst placed within a 20 ms packet (lu_onset), the Goertzel level it
 * reads, and quantiles (lu_quantile). Synthesized signals with a known
 * onset, beside other tones and noise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../bench/load_util.h"

#define RATE     8000
#define FRAME    160 /* 20 ms */
#define FRAME_NS 20000000ull
#define T0       1000000000000ull /* an arrival time base, in ns */

struct signal {
	double burst_hz, other_hz, noise;
	unsigned onset;     /* the burst's first sample */
	unsigned burst_len; /* its length in samples */
};

/* Sample n of s: the burst (from its onset), another tone all along,
 * and a deterministic noise of amplitude s->noise. */
static int16_t sample(const struct signal *s, unsigned n)
{
	double v = 3000.0 * sin(2 * M_PI * s->other_hz * n / RATE);
	if (n >= s->onset && n < s->onset + s->burst_len)
		v += 6000.0 *
		     sin(2 * M_PI * s->burst_hz * (n - s->onset) / RATE);
	v += s->noise * ((((n * 2654435761u) >> 16) & 0xffff) / 32768.0 - 1.0);
	return (int16_t)lrint(v);
}

/* Feeds packets 0..npk of s (packet k arrives at T0 + k frames) to a
 * fresh detector; returns the number of onsets found, the first in
 * *onset. */
static unsigned detect(const struct signal *s, unsigned npk, uint64_t *onset)
{
	struct lu_onset o;
	double c = lu_goertzel_coeff(s->burst_hz, RATE);
	double thr = pow(10, -40.0 / 10);
	unsigned found = 0;
	int16_t pcm[FRAME];

	memset(&o, 0, sizeof(o));
	for (unsigned k = 0; k < npk; k++) {
		uint64_t t;
		for (unsigned i = 0; i < FRAME; i++)
			pcm[i] = sample(s, k * FRAME + i);
		if (lu_onset_add(&o, lu_goertzel(pcm, FRAME, c),
		                 T0 + k * FRAME_NS, thr, FRAME_NS, &t) &&
		    !found++)
			*onset = t;
	}
	return found;
}

/* The onset of a burst is placed within its packet: at every sample
 * offset, within 0.5 ms of the truth (the grid alone would be up to 20
 * ms off). */
static void test_onset_within_packet(void **state)
{
	(void)state;
	for (unsigned off = 0; off < 2 * FRAME; off += 7) {
		struct signal s = {1050, 300, 0, 5 * FRAME + off, 10 * FRAME};
		uint64_t truth = T0 + (uint64_t)s.onset * 1000000000ull / RATE;
		uint64_t got = 0;
		assert_int_equal(detect(&s, 30, &got), 1);
		double err_ms = ((double)got - (double)truth) / 1e6;
		if (fabs(err_ms) > 0.5)
			fail_msg("onset at sample %u: %.2f ms off", s.onset,
			         err_ms);
	}
}

/* Two bursts 1 s apart give two onsets, each at its own place; the other
 * tone (a whole number of periods per packet) and weak noise do not open
 * a burst. */
static void test_onset_bursts_and_noise(void **state)
{
	struct lu_onset o;
	double c = lu_goertzel_coeff(1050, RATE), thr = pow(10, -40.0 / 10);
	unsigned found = 0, k;
	uint64_t at[4];
	int16_t pcm[FRAME];
	(void)state;

	memset(&o, 0, sizeof(o));
	for (k = 0; k < 110; k++) {
		/* bursts of 200 ms at 0.5 s + 33 samples and 1.5 s + 99 */
		for (unsigned i = 0; i < FRAME; i++) {
			unsigned n = k * FRAME + i;
			struct signal a = {1050, 450, 200, 4000 + 33, 1600};
			struct signal b = {1050, 450, 200, 12000 + 99, 1600};
			pcm[i] = n < 8000 ? sample(&a, n) : sample(&b, n);
		}
		uint64_t t;
		if (lu_onset_add(&o, lu_goertzel(pcm, FRAME, c),
		                 T0 + k * FRAME_NS, thr, FRAME_NS, &t) &&
		    found < 4)
			at[found++] = t;
	}
	assert_int_equal(found, 2);
	assert_true(fabs((double)(at[0] - T0) / 1e6 - 504.125) < 0.5);
	assert_true(fabs((double)(at[1] - T0) / 1e6 - 1512.375) < 0.5);

	/* no burst at all: nothing found */
	struct signal none = {1050, 450, 200, 1u << 30, 0};
	uint64_t t = 0;
	assert_int_equal(detect(&none, 100, &t), 0);
}

/* A burst under the threshold is not found. */
static void test_onset_threshold(void **state)
{
	struct signal s = {1050, 300, 0, 5 * FRAME, 10 * FRAME};
	struct lu_onset o;
	double c = lu_goertzel_coeff(1050, RATE);
	int16_t pcm[FRAME];
	uint64_t t;
	unsigned found = 0;
	(void)state;

	memset(&o, 0, sizeof(o));
	for (unsigned k = 0; k < 30; k++) {
		for (unsigned i = 0; i < FRAME; i++)
			pcm[i] = sample(&s, k * FRAME + i);
		/* the burst is at about -15 dBFS: a -10 dBFS threshold */
		found += lu_onset_add(&o, lu_goertzel(pcm, FRAME, c),
		                      T0 + k * FRAME_NS, pow(10, -10.0 / 10),
		                      FRAME_NS, &t);
	}
	assert_int_equal(found, 0);
}

static void test_quantile(void **state)
{
	double v[] = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
	(void)state;
	assert_true(isnan(lu_quantile(v, 0, 0.5)));
	assert_true(lu_quantile(v, 10, 0.5) == 5);
	assert_true(lu_quantile(v, 10, 0.99) == 10);
	assert_true(lu_quantile(v, 10, 0) == 1);
	assert_true(lu_quantile(v, 10, 0.1) == 1);
	assert_true(lu_quantile(v, 10, 0.11) == 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_onset_within_packet),
	    cmocka_unit_test(test_onset_bursts_and_noise),
	    cmocka_unit_test(test_onset_threshold),
	    cmocka_unit_test(test_quantile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
