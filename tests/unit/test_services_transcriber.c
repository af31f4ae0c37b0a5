/*
 * test_services_transcriber.c: the transcription service with the real
 * pocketsphinx engine, fed through a transcriber tap as a media worker
 * fills it: a participant saying "go forward ten meters" (the recording
 * of pocketsphinx-testdata, its talk state from the real talk detector)
 * beside a silent one gives one segment, of the talker, with those words
 * and times around the speech, then done; the same speech at 8 kHz (a
 * narrowband leg) is converted and gives a segment too; ticks the worker
 * dropped are counted in dropped_ms; a second start of an id, an engine
 * that is not there and an unknown finish are refused or ignored; freeing
 * with a transcription running leaks nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/tap.h"
#include "media/talkdetect.h"
#include "re_loop.h"
#include "services/stt.h"
#include "services/transcriber.h"

#define GOFORWARD  "/usr/share/pocketsphinx/test/data/goforward.raw"
#define LEAD_TICKS 50 /* 1 s of silence before the speech */

struct got {
	char text[8][256];
	uint32_t leg[8];
	int64_t start[8], end[8];
	int nseg;
	bool done;
	uint64_t segments, dropped_ms;
};

static struct ch_stt_engine *sphinx;

static void seg_h(void *arg, const struct ch_transcriber_seg *s)
{
	struct got *g = arg;
	if (g->nseg < 8) {
		snprintf(g->text[g->nseg], sizeof(g->text[0]), "%s", s->text);
		g->leg[g->nseg] = s->leg;
		g->start[g->nseg] = s->start_ms;
		g->end[g->nseg] = s->end_ms;
	}
	g->nseg++;
}

static void done_h(void *arg, const struct ch_transcriber_done *d)
{
	struct got *g = arg;
	g->done = true;
	g->segments = d->segments;
	g->dropped_ms = d->dropped_ms;
}

static int16_t *speech(size_t *n)
{
	FILE *f = fopen(GOFORWARD, "rb");
	assert_non_null(f); /* apt-get install pocketsphinx-testdata */
	fseek(f, 0, SEEK_END);
	long bytes = ftell(f);
	fseek(f, 0, SEEK_SET);
	int16_t *x = malloc((size_t)bytes);
	assert_non_null(x);
	assert_int_equal(fread(x, 1, (size_t)bytes, f), (size_t)bytes);
	fclose(f);
	*n = (size_t)bytes / 2;
	return x;
}

/* Writes one tick as a worker does: leg `talker` with frame (rate) and
 * its talk state, leg `silent` with zeros. */
static void put_tick(struct ch_media_tap *t, uint32_t rate,
                     const int16_t *frame, bool talking, uint32_t talker,
                     uint32_t silent)
{
	size_t n = rate / 50;
	int16_t zeros[320] = {0};
	size_t bytes =
	    sizeof(struct ch_media_tap_hdr) + 2 * ch_media_tap_voice_size(n);
	struct ch_media_tap_hdr h = {
	    .seq = t->seq, .ntracks = 2, .len = (uint32_t)bytes};
	assert_true(ch_media_tap_begin(t, bytes));
	ch_media_tap_write(t, &h, sizeof(h));
	struct ch_media_tap_voice v = {.leg = talker,
	                               .rate = rate,
	                               .frame = (uint16_t)n,
	                               .flags =
	                                   talking ? CH_MEDIA_TAP_TALKING : 0};
	ch_media_tap_write(t, &v, sizeof(v));
	ch_media_tap_write(t, frame, n * sizeof(int16_t));
	v.leg = silent;
	v.flags = 0;
	ch_media_tap_write(t, &v, sizeof(v));
	ch_media_tap_write(t, zeros, n * sizeof(int16_t));
	ch_media_tap_commit(t);
}

/* Feeds 1 s of silence, the speech (at rate: 16000, or every other
 * sample for 8000) and 2 s of silence. */
static void feed_speech(struct ch_media_tap *t, uint32_t rate)
{
	size_t n, step = 16000 / rate, fr = rate / 50;
	int16_t *x = speech(&n);
	int16_t frame[320];
	struct ch_talkdetect td;
	assert_int_equal(ch_talkdetect_init(&td, rate, NULL), 0);
	size_t total = LEAD_TICKS + n / (320) + 100;
	for (size_t k = 0; k < total; k++) {
		for (size_t i = 0; i < fr; i++) {
			size_t j = (k - LEAD_TICKS) * 320 + i * step;
			frame[i] = k >= LEAD_TICKS && j < n ? x[j] : 0;
		}
		ch_talkdetect_frame(&td, frame, fr);
		put_tick(t, rate, frame, ch_talkdetect_talking(&td), 7, 9);
	}
	free(x);
}

static void wait_done(struct got *g)
{
	for (int i = 0; i < 300 && !g->done; i++)
		ch_test_run_ms(100);
	assert_true(g->done);
}

static void test_one_talker(void **state)
{
	(void)state;
	struct ch_stt_engine *eng[2] = {sphinx, NULL};
	struct ch_transcriber *tr;
	struct ch_media_tap *tap;
	struct got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(ch_transcriber_alloc(&tr, eng, 1, seg_h, done_h, &g),
	                 0);
	assert_int_equal(
	    ch_transcriber_start(tr, "t-1", CH_STT_SPHINX, "en-US", &tap), 0);
	assert_true(tap->voices);
	feed_speech(tap, 16000);
	ch_transcriber_finish(tr, "t-1"); /* as after tap_detached */
	wait_done(&g);
	assert_int_equal(g.nseg, 1);
	assert_int_equal(g.segments, 1);
	assert_int_equal(g.leg[0], 7);
	assert_string_equal(g.text[0], "go forward ten meters");
	/* the speech starts about 1 s in and lasts about 2.5 s */
	assert_true(g.start[0] >= 600 && g.start[0] <= 1500);
	assert_true(g.end[0] - g.start[0] >= 1800);
	assert_true(g.end[0] <= 1000 + 2900 + 200);
	assert_int_equal(g.dropped_ms, 0);
	ch_transcriber_finish(tr, "t-1"); /* gone: ignored */
	ch_transcriber_free(tr);
}

static void test_narrowband_and_gap(void **state)
{
	(void)state;
	struct ch_stt_engine *eng[2] = {sphinx, NULL};
	struct ch_transcriber *tr;
	struct ch_media_tap *tap;
	struct got g;
	int16_t zeros[160] = {0};
	memset(&g, 0, sizeof(g));
	assert_int_equal(ch_transcriber_alloc(&tr, eng, 0, seg_h, done_h, &g),
	                 0);
	assert_int_equal(
	    ch_transcriber_start(tr, "t-2", CH_STT_SPHINX, "en", &tap), 0);
	/* 10 ticks, then 50 the worker could not queue (1 s) */
	for (int i = 0; i < 10; i++)
		put_tick(tap, 8000, zeros, false, 7, 9);
	ch_media_tap_skip(tap, 50);
	feed_speech(tap, 8000);
	ch_transcriber_finish(tr, "t-2");
	wait_done(&g);
	assert_int_equal(g.dropped_ms, 1000);
	/* an 8 kHz leg is recognised too (its words: see bench/README.md) */
	assert_int_equal(g.nseg, (int)g.segments);
	assert_true(g.nseg >= 1);
	assert_int_equal(g.leg[0], 7);
	assert_true(g.start[0] >= 1000 + 600);
	ch_transcriber_free(tr);
}

static void test_refusals_and_free(void **state)
{
	(void)state;
	struct ch_stt_engine *eng[2] = {sphinx, NULL};
	struct ch_transcriber *tr;
	struct ch_media_tap *tap, *tap2;
	struct got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(ch_transcriber_alloc(&tr, eng, 2, seg_h, done_h, &g),
	                 0);
	assert_ptr_equal(ch_transcriber_engine(tr, CH_STT_SPHINX), sphinx);
	assert_null(ch_transcriber_engine(tr, CH_STT_HTTP));
	assert_int_equal(
	    ch_transcriber_start(tr, "t-3", CH_STT_HTTP, "en", &tap), ENOTSUP);
	assert_int_equal(
	    ch_transcriber_start(tr, "t-3", CH_STT_SPHINX, "en", &tap), 0);
	assert_int_equal(
	    ch_transcriber_start(tr, "t-3", CH_STT_SPHINX, "en", &tap2),
	    EEXIST);
	ch_transcriber_finish(tr, "no-such-id");
	/* speech queued and the transcription running: free takes it all */
	feed_speech(tap, 16000);
	ch_test_run_ms(300);
	ch_transcriber_free(tr);
	assert_false(g.done);
	ch_transcriber_free(NULL);
}

static int setup(void **state)
{
	if (ch_test_re_group_setup(state))
		return -1;
	return ch_stt_engine_open(&sphinx, CH_STT_SPHINX,
	                          &(struct ch_stt_cfg){0});
}

static int teardown(void **state)
{
	ch_stt_engine_close(sphinx);
	return ch_test_re_group_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_talker),
	    cmocka_unit_test(test_narrowband_and_gap),
	    cmocka_unit_test(test_refusals_and_free),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
