/*
 * test_media_plc.c: repeat-and-fade concealment: gains per concealed
 * frame, silence after the fade, recovery on a good frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "media/plc.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_fade_envelope),
	    cmocka_unit_test(test_repeats_waveform),
	    cmocka_unit_test(test_recovery),
	};
	return cmocka_run_group_tests_name("media_plc", tests, NULL, NULL);
}
