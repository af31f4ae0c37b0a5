/*
 * test_media_mixer.c: the sum-once, minus-own mixer: who hears whom,
 * saturation, muted legs, the shared full mix and the extra source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "media/mixer.h"

#define N 160

static struct ch_mixer mixer;

static void fill(int16_t *buf, int16_t v)
{
	for (size_t i = 0; i < N; i++)
		buf[i] = v;
}

static void assert_all(const int16_t *buf, int v)
{
	for (size_t i = 0; i < N; i++)
		assert_int_equal(buf[i], v);
}

static void test_init_bounds(void **state)
{
	struct ch_mixer *m = &mixer;
	assert_int_equal(ch_mixer_init(m, 0), -EINVAL);
	assert_int_equal(ch_mixer_init(m, CH_MIXER_MAX_FRAME + 1), -EINVAL);
	assert_int_equal(ch_mixer_init(m, CH_MIXER_MAX_FRAME), 0);
	assert_int_equal(ch_mixer_frame(m), CH_MIXER_MAX_FRAME);
	/* before any tick: silence, nobody needs their own frame */
	assert_true(ch_mixer_silent(m));
	assert_int_equal(ch_mixer_full(m)[0], 0);
	assert_false(ch_mixer_leg_needs_own(m, 0));
	int16_t out[CH_MIXER_MAX_FRAME];
	assert_int_equal(ch_mixer_leg_out(m, 0, out), -EINVAL);
}

/* Three talkers: each hears the other two and not itself. */
static void test_three_legs_minus_own(void **state)
{
	struct ch_mixer *m = &mixer;
	int16_t a[N], b[N], c[N], out[N];
	const int16_t *in[3] = {a, b, c};

	assert_int_equal(ch_mixer_init(m, N), 0);
	fill(a, 100);
	fill(b, 2000);
	fill(c, -30);
	assert_int_equal(ch_mixer_mix(m, in, 3, NULL), 0);
	assert_int_equal(ch_mixer_contributors(m), 3);
	assert_false(ch_mixer_silent(m));
	assert_all(ch_mixer_full(m), 2070);

	for (size_t i = 0; i < 3; i++)
		assert_true(ch_mixer_leg_needs_own(m, i));
	assert_int_equal(ch_mixer_leg_out(m, 0, out), 0);
	assert_all(out, 2000 - 30);
	assert_int_equal(ch_mixer_leg_out(m, 1, out), 0);
	assert_all(out, 100 - 30);
	assert_int_equal(ch_mixer_leg_out(m, 2, out), 0);
	assert_all(out, 2100);
	assert_int_equal(ch_mixer_leg_out(m, 3, out), -EINVAL);
}

/* Per-sample mixing, not just constants: a ramp against its negation. */
static void test_sample_by_sample(void **state)
{
	struct ch_mixer *m = &mixer;
	int16_t a[N], b[N], out[N];
	const int16_t *in[2] = {a, b};

	assert_int_equal(ch_mixer_init(m, N), 0);
	for (size_t i = 0; i < N; i++) {
		a[i] = (int16_t)(i * 100);
		b[i] = (int16_t)(7 - (int)i);
	}
	assert_int_equal(ch_mixer_mix(m, in, 2, NULL), 0);
	assert_int_equal(ch_mixer_leg_out(m, 0, out), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(out[i], b[i]);
	assert_int_equal(ch_mixer_leg_out(m, 1, out), 0);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(out[i], a[i]);
		assert_int_equal(ch_mixer_full(m)[i], a[i] + b[i]);
	}
}

/*
 * Saturation happens once, on the int32 sum: legs hear clipped values only
 * where the true sum leaves int16, and sum-minus-own is exact even when the
 * full mix clipped.
 */
static void test_saturation(void **state)
{
	struct ch_mixer *m = &mixer;
	int16_t a[N], b[N], c[N], out[N];
	const int16_t *in[3] = {a, b, c};

	assert_int_equal(ch_mixer_init(m, N), 0);
	fill(a, 30000);
	fill(b, 30000);
	fill(c, 1000);
	ch_mixer_mix(m, in, 3, NULL);
	assert_all(ch_mixer_full(m), 32767);
	ch_mixer_leg_out(m, 0, out);
	assert_all(out, 31000); /* exact although the full mix clipped */
	ch_mixer_leg_out(m, 2, out);
	assert_all(out, 32767); /* 60000 clipped */

	fill(a, -30000);
	fill(b, -30000);
	fill(c, -32768);
	ch_mixer_mix(m, in, 3, NULL);
	assert_all(ch_mixer_full(m), -32768);
	ch_mixer_leg_out(m, 0, out);
	assert_all(out, -32768);
	ch_mixer_leg_out(m, 2, out);
	assert_all(out, -32768);

	/* the extremes that just fit are not clipped */
	fill(a, 32767);
	fill(b, 0);
	fill(c, -32768);
	ch_mixer_mix(m, in, 3, NULL);
	assert_all(ch_mixer_full(m), -1);
	ch_mixer_leg_out(m, 1, out);
	assert_all(out, -1);
	ch_mixer_leg_out(m, 2, out);
	assert_all(out, 32767);
	ch_mixer_leg_out(m, 0, out);
	assert_all(out, -32768);
}

/* A muted leg (NULL input) hears everyone and adds nothing. */
static void test_muted_leg(void **state)
{
	struct ch_mixer *m = &mixer;
	int16_t a[N], c[N], out[N];
	const int16_t *in[3] = {a, NULL, c};

	assert_int_equal(ch_mixer_init(m, N), 0);
	fill(a, 500);
	fill(c, 700);
	ch_mixer_mix(m, in, 3, NULL);
	assert_int_equal(ch_mixer_contributors(m), 2);
	assert_false(ch_mixer_leg_needs_own(m, 1));
	assert_int_equal(ch_mixer_leg_out(m, 1, out), 0);
	assert_all(out, 1200);
	ch_mixer_leg_out(m, 0, out);
	assert_all(out, 700);
	ch_mixer_leg_out(m, 2, out);
	assert_all(out, 500);
}

/*
 * Non-contributors share one full-mix buffer: the same pointer for all of
 * them, so the caller encodes it once.
 */
static void test_non_contributors_share_full_mix(void **state)
{
	struct ch_mixer *m = &mixer;
	int16_t a[N], out[N];
	const int16_t *in[5] = {NULL, a, NULL, NULL, NULL};

	assert_int_equal(ch_mixer_init(m, N), 0);
	fill(a, -1234);
	ch_mixer_mix(m, in, 5, NULL);
	const int16_t *full = ch_mixer_full(m);
	size_t need_own = 0;
	for (size_t i = 0; i < 5; i++) {
		if (ch_mixer_leg_needs_own(m, i))
			need_own++;
		ch_mixer_leg_out(m, i, out);
		assert_all(out, i == 1 ? 0 : -1234);
	}
	assert_int_equal(need_own, 1);
	assert_all(full, -1234);
	assert_ptr_equal(full, ch_mixer_full(m));

	/* nobody talks: silent, every leg hears zeros */
	const int16_t *none[3] = {NULL, NULL, NULL};
	ch_mixer_mix(m, none, 3, NULL);
	assert_true(ch_mixer_silent(m));
	assert_int_equal(ch_mixer_contributors(m), 0);
	assert_all(ch_mixer_full(m), 0);
}

/* The extra source is heard by everyone, contributors included, scaled. */
static void test_extra_source(void **state)
{
	struct ch_mixer *m = &mixer;
	int16_t a[N], b[N], x[N], out[N];
	const int16_t *in[3] = {a, b, NULL};

	assert_int_equal(ch_mixer_init(m, N), 0);
	fill(a, 100);
	fill(b, 200);
	fill(x, 4000);
	ch_mixer_mix(m, in, 3, x);
	assert_int_equal(ch_mixer_contributors(m), 2);
	assert_all(ch_mixer_full(m), 4300);
	ch_mixer_leg_out(m, 0, out);
	assert_all(out, 4200);
	ch_mixer_leg_out(m, 1, out);
	assert_all(out, 4100);

	ch_mixer_set_extra_gain(m, CH_MIXER_GAIN_UNITY / 2);
	ch_mixer_mix(m, in, 3, x);
	assert_all(ch_mixer_full(m), 2300);
	ch_mixer_leg_out(m, 0, out);
	assert_all(out, 2200);

	/* -6 dB of a negative value rounds to nearest, not towards -inf */
	fill(x, -3);
	ch_mixer_mix(m, in, 3, x);
	assert_all(ch_mixer_full(m), 300 - 1);

	/* gain clamps at 4.0 and at 0 (0 mutes the source entirely) */
	fill(x, 1000);
	ch_mixer_set_extra_gain(m, 100 * CH_MIXER_GAIN_UNITY);
	ch_mixer_mix(m, in, 3, x);
	assert_all(ch_mixer_full(m), 4300);
	ch_mixer_set_extra_gain(m, -5);
	const int16_t *none[2] = {NULL, NULL};
	ch_mixer_mix(m, none, 2, x);
	assert_true(ch_mixer_silent(m));
	assert_all(ch_mixer_full(m), 0);

	/* only the extra source: not silent, everyone hears it */
	ch_mixer_set_extra_gain(m, CH_MIXER_GAIN_UNITY);
	ch_mixer_mix(m, none, 2, x);
	assert_false(ch_mixer_silent(m));
	ch_mixer_leg_out(m, 1, out);
	assert_all(out, 1000);
}

/* The full CH_MIXER_MAX_LEGS room; and one leg too many is refused. */
static void test_max_legs(void **state)
{
	struct ch_mixer *m = &mixer;
	static int16_t pcm[CH_MIXER_MAX_LEGS][N];
	static const int16_t *in[CH_MIXER_MAX_LEGS + 1];
	int16_t out[N];

	assert_int_equal(ch_mixer_init(m, N), 0);
	for (size_t i = 0; i < CH_MIXER_MAX_LEGS; i++) {
		fill(pcm[i], (int16_t)(i % 2 ? 100 : -99));
		in[i] = pcm[i];
	}
	in[CH_MIXER_MAX_LEGS] = pcm[0];
	assert_int_equal(ch_mixer_mix(m, in, CH_MIXER_MAX_LEGS, NULL), 0);
	assert_int_equal(ch_mixer_contributors(m), CH_MIXER_MAX_LEGS);
	/* half the legs at 100, half at -99 */
	assert_all(ch_mixer_full(m), CH_MIXER_MAX_LEGS / 2);
	ch_mixer_leg_out(m, 255, out);
	assert_all(out, CH_MIXER_MAX_LEGS / 2 - 100);
	ch_mixer_leg_out(m, 0, out);
	assert_all(out, CH_MIXER_MAX_LEGS / 2 + 99);

	assert_int_equal(ch_mixer_mix(m, in, CH_MIXER_MAX_LEGS + 1, NULL),
	                 -EINVAL);
	assert_int_equal(ch_mixer_contributors(m), 0);
	assert_false(ch_mixer_leg_needs_own(m, 0));
	assert_int_equal(ch_mixer_mix(m, NULL, 2, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_bounds),
	    cmocka_unit_test(test_three_legs_minus_own),
	    cmocka_unit_test(test_sample_by_sample),
	    cmocka_unit_test(test_saturation),
	    cmocka_unit_test(test_muted_leg),
	    cmocka_unit_test(test_non_contributors_share_full_mix),
	    cmocka_unit_test(test_extra_source),
	    cmocka_unit_test(test_max_legs),
	};
	return cmocka_run_group_tests_name("media_mixer", tests, NULL, NULL);
}
