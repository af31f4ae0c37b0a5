/*
 * test_media_plc.c: repeat-and-fade concealment: gains per concealed
 * frame, silence after the fade, recovery on a good frame. The pitch
 * concealer of G.711 legs (spandsp): on real speech (pocketsphinx-
 * testdata's goforward and librivox at 8 kHz) with 5 % random loss, what a
 * listener hears in the lost frames is closer to what was sent than with repeat
 * and fade (signal-to-error ratio over the lost frames and the frame
 * after each), and it fades to silence on a long loss.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/plc.h"
#include "media/resample.h"

#include <sndfile.h>

#define GOFORWARD "/usr/share/pocketsphinx/test/data/goforward.raw"
#define LIBRIVOX                                                               \
	"/usr/share/pocketsphinx/test/data/librivox/"                          \
	"sense_and_sensibility_01_austen_64kb-"

#define N 160

static void test_init(void **state)
{
	struct ch_plc p;
	int16_t out[N];

	assert_int_equal(ch_plc_init(&p, 0), -EINVAL);
	assert_int_equal(ch_plc_init(&p, CH_PLC_MAX_FRAME + 1), -EINVAL);
	assert_int_equal(ch_plc_init(&p, N), 0);
	/* loss before any good frame conceals with silence */
	for (size_t i = 0; i < N; i++)
		out[i] = 99;
	ch_plc_conceal(&p, out);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(ch_plc_lost(&p), 1);
}

/*
 * A constant frame shows the gain envelope: frame 1 ramps 1 -> 1/2, frame 2
 * 1/2 -> 1/4, frame 3 1/4 -> 0, then silence.
 */
static void test_fade_envelope(void **state)
{
	struct ch_plc p;
	int16_t good[N], out[N];

	assert_int_equal(ch_plc_init(&p, N), 0);
	for (size_t i = 0; i < N; i++)
		good[i] = 16000;
	ch_plc_good(&p, good);
	assert_int_equal(ch_plc_lost(&p), 0);

	ch_plc_conceal(&p, out);
	assert_int_equal(ch_plc_lost(&p), 1);
	assert_in_range(out[0], 15900, 16000);
	assert_int_equal(out[N / 2 - 1], 12000); /* half way: 3/4 */
	assert_int_equal(out[N - 1], 8000);
	for (size_t i = 1; i < N; i++)
		assert_true(out[i] <= out[i - 1]);

	ch_plc_conceal(&p, out);
	assert_in_range(out[0], 7950, 8000);
	assert_int_equal(out[N - 1], 4000);

	ch_plc_conceal(&p, out);
	assert_in_range(out[0], 3950, 4000);
	assert_int_equal(out[N - 1], 0);

	for (int k = 0; k < 5; k++) {
		ch_plc_conceal(&p, out);
		for (size_t i = 0; i < N; i++)
			assert_int_equal(out[i], 0);
	}
	assert_int_equal(ch_plc_lost(&p), 8);
}

/* The waveform is repeated (sign and shape kept), only scaled. */
static void test_repeats_waveform(void **state)
{
	struct ch_plc p;
	int16_t good[N], out[N];

	assert_int_equal(ch_plc_init(&p, N), 0);
	for (size_t i = 0; i < N; i++)
		good[i] = (int16_t)((i % 20) < 10 ? -20000 : 20000);
	ch_plc_good(&p, good);
	ch_plc_conceal(&p, out);
	for (size_t i = 0; i < N; i++) {
		assert_true((out[i] < 0) == (good[i] < 0));
		int mag = out[i] < 0 ? -out[i] : out[i];
		assert_in_range(mag, 10000, 20000);
	}
}

/* A good frame ends the loss: the next loss starts from full level again. */
static void test_recovery(void **state)
{
	struct ch_plc p;
	int16_t a[N], b[N], out[N];

	assert_int_equal(ch_plc_init(&p, N), 0);
	for (size_t i = 0; i < N; i++) {
		a[i] = 1000;
		b[i] = -2000;
	}
	ch_plc_good(&p, a);
	for (int k = 0; k < 4; k++)
		ch_plc_conceal(&p, out);
	ch_plc_good(&p, b);
	assert_int_equal(ch_plc_lost(&p), 0);
	ch_plc_conceal(&p, out);
	assert_int_equal(out[0], -1993);
	assert_int_equal(out[N - 1], -1000);
}

/* goforward.raw and the librivox recordings of pocketsphinx-testdata,
 * one after another at 8 kHz, whole frames of N; *frames set. */
static int16_t *speech8k(size_t *frames)
{
	static const char *const lv[] = {"0870", "0880", "0890", "0920",
	                                 "0930"};
	size_t cap = 16000 * 40, n = 0;
	int16_t *x = malloc(cap * 2), *y = malloc(cap * 2);
	assert_non_null(x);
	assert_non_null(y);
	FILE *f = fopen(GOFORWARD, "rb");
	assert_non_null(f); /* apt-get install pocketsphinx-testdata */
	n = fread(x, 2, cap, f);
	fclose(f);
	for (size_t i = 0; i < 5; i++) {
		char path[256];
		SF_INFO info = {0};
		snprintf(path, sizeof(path), LIBRIVOX "%s.wav", lv[i]);
		SNDFILE *sf = sf_open(path, SFM_READ, &info);
		assert_non_null(sf);
		assert_int_equal(info.samplerate, 16000);
		n += (size_t)sf_read_short(sf, x + n, (sf_count_t)(cap - n));
		sf_close(sf);
	}
	struct ch_resample rs;
	size_t m;
	assert_int_equal(ch_resample_init(&rs, 16000, 8000, -1), 0);
	assert_int_equal(ch_resample_process(&rs, x, n, y, cap, &m), 0);
	ch_resample_destroy(&rs);
	free(x);
	*frames = m / N;
	return y;
}

/* Signal-to-error ratio in dB of concealment over the lost frames (and
 * the one after each, where the concealer blends back) of x with the loss
 * pattern lost[], for the pitch concealer or repeat and fade. */
static double conceal_snr(const int16_t *x, size_t frames, const bool *lost,
                          bool pitch)
{
	struct ch_plc p;
	int16_t out[N];
	double sig = 0, err = 0;
	assert_int_equal(pitch ? ch_plc_init_pitch(&p, N) : ch_plc_init(&p, N),
	                 0);
	for (size_t k = 0; k < frames; k++) {
		const int16_t *ref = x + k * N;
		if (lost[k]) {
			ch_plc_conceal(&p, out);
		} else {
			memcpy(out, ref, sizeof(out));
			ch_plc_good(&p, out);
		}
		if (!lost[k] && !(k && lost[k - 1]))
			continue;
		for (size_t i = 0; i < N; i++) {
			double d = (double)out[i] - ref[i];
			sig += (double)ref[i] * ref[i];
			err += d * d;
		}
	}
	return 10 * log10(sig / (err > 0 ? err : 1));
}

static void test_pitch_beats_fade(void **state)
{
	(void)state;
	size_t frames;
	int16_t *x = speech8k(&frames);
	bool *lost = calloc(frames, sizeof(*lost));
	double sum_p = 0, sum_f = 0;
	unsigned wins = 0, runs = 20, nlost = 0;
	assert_non_null(lost);
	for (unsigned seed = 1; seed <= runs; seed++) {
		srand(seed);
		for (size_t k = 0; k < frames; k++) {
			lost[k] = k > 5 && rand() % 100 < 5;
			nlost += lost[k];
		}
		double sp = conceal_snr(x, frames, lost, true);
		double sf = conceal_snr(x, frames, lost, false);
		sum_p += sp;
		sum_f += sf;
		wins += sp > sf;
	}
	print_message(
	    "5 %% random loss on 28 s of speech at 8 kHz, %u runs, %u "
	    "frames lost: signal-to-error %.2f dB with the pitch "
	    "concealer, %.2f dB with repeat and fade; pitch better "
	    "in %u runs\n",
	    runs, nlost, sum_p / runs, sum_f / runs, wins);
	assert_true(nlost > runs * 3);
	assert_true(sum_p / runs > sum_f / runs + 0.5);
	assert_true(wins >= runs * 3 / 4);
	free(lost);
	free(x);
}

static void test_pitch_fades_out(void **state)
{
	(void)state;
	struct ch_plc p;
	int16_t a[N], out[N];
	assert_int_equal(ch_plc_init_pitch(&p, N), 0);
	for (int k = 0; k < 10; k++) {
		for (size_t i = 0; i < N; i++)
			a[i] =
			    (int16_t)(8000 * sin(2 * M_PI * 200 *
			                         (double)(k * N + i) / 8000));
		ch_plc_good(&p, a);
	}
	/* the first concealed frame carries on the tone, later ones fade
	 * and after 60 ms it is silence */
	ch_plc_conceal(&p, out);
	double e = 0;
	for (size_t i = 0; i < N; i++)
		e += (double)out[i] * out[i];
	assert_true(sqrt(e / N) > 2000);
	ch_plc_conceal(&p, out);
	ch_plc_conceal(&p, out);
	ch_plc_conceal(&p, out);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(ch_plc_lost(&p), 4);
	assert_int_equal(ch_plc_init_pitch(&p, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_fade_envelope),
	    cmocka_unit_test(test_repeats_waveform),
	    cmocka_unit_test(test_recovery),
	    cmocka_unit_test(test_pitch_beats_fade),
	    cmocka_unit_test(test_pitch_fades_out),
	};
	return cmocka_run_group_tests_name("media_plc", tests, NULL, NULL);
}
