/*
 * test_media_play.c: room playback, leg prompts, isolation and the
 * recorder tap of the media engine, end to end over real UDP on 127.0.0.1
 * with the test peers of media_peer.h (PCMU tones in, what the engine
 * sends decoded and analysed with Goertzel filters):
 *   - a room clip is heard by every leg, the lone talker included; -20 dB
 *     lowers it by 20 +- 2 dB; stop, replace and natural end report the
 *     right play ids and finished flags, the end on time; pause silences
 *     it and resume goes on where it was (total heard length);
 *   - a leg prompt is heard by that leg alone, on top of the room; an
 *     isolated leg is not heard and hears only its prompt (else silence);
 *   - the tap gets one record per tick, seq contiguous, the mix holding
 *     every tone and the clip, each track one leg's tone alone;
 *   - a tap ring that fills drops records, the ticks go on;
 *   - legs freed and rooms destroyed while clips play and a tap is
 *     attached: every handler once, nothing leaked (run under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <re_types.h>
#include <re_main.h>
#include <re_sa.h>
#include <re_list.h>
#include <re_tmr.h>

#define MAX_PEERS 24
#include "media_peer.h"

#include "media/pcm.h"
#include "media/tap.h"

#define TIMEOUT_MS 5000
#define CLIP_HZ    1200.0
#define PROMPT_HZ  1500.0
#define SILENT_DB  -50.0 /* what "hears nothing" reads below */
#define ON_DB      -30.0 /* a 20 ms block holding the clip reads above */
#define END_SLACK  60    /* ms a clip's end may be off its length */
#define TAP_TICKS  200   /* ticks of tap audio kept */
#define TAP_FRAME  160   /* at 8 kHz */

enum ev_kind { EV_ROOM_DONE, EV_LEG_DONE, EV_TAP };

struct ev {
	enum ev_kind kind;
	uint32_t id, play_id;
	bool finished;
	struct ch_media_tap *tap;
	uint64_t at; /* tmr_jiffies() */
};

static struct {
	struct ev ev[64];
	size_t n;
} E;

static void on_room_done(void *arg, uint32_t room, uint32_t play_id,
                         bool finished)
{
	(void)arg;
	assert_true(E.n < 64);
	E.ev[E.n++] = (struct ev){EV_ROOM_DONE, room, play_id,
	                          finished,     NULL, tmr_jiffies()};
}

static void on_leg_done(void *arg, uint32_t leg, uint32_t play_id,
                        bool finished)
{
	(void)arg;
	assert_true(E.n < 64);
	E.ev[E.n++] = (struct ev){EV_LEG_DONE, leg,  play_id,
	                          finished,    NULL, tmr_jiffies()};
}

static void on_tap(void *arg, uint32_t room, struct ch_media_tap *tap)
{
	(void)arg;
	assert_true(E.n < 64);
	E.ev[E.n++] = (struct ev){EV_TAP, room, 0, false, tap, tmr_jiffies()};
}

static const struct ch_media_handlers handlers = {
    .room_play_done = on_room_done,
    .leg_play_done = on_leg_done,
    .tap_detached = on_tap,
};

static void start(uint16_t lo)
{
	memset(&E, 0, sizeof(E));
	peers_engine_start(1, lo, (uint16_t)(lo + 99), &handlers, TIMEOUT_MS);
}

/* The engine with RTP ports from lo and a room of three PCMU peers
 * sending 440, 660 and 880 Hz (T.peers[0..2]); returns the room. */
static uint32_t start_room3(uint16_t lo)
{
	uint32_t room;

	start(lo);
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	for (int i = 0; i < 3; i++)
		peer_join(peer_add(CH_CODEC_PCMU, 440 + 220 * i), room, false);
	return room;
}

/* Runs the loop until n events in all have come, at most max_ms. */
static void wait_events(size_t n, unsigned max_ms)
{
	for (unsigned t = 0; E.n < n && t < max_ms; t += 10)
		run_for(10);
	if (E.n < n)
		fail_msg("%zu events after %u ms, %zu expected", E.n, max_ms,
		         n);
}

static void expect_ev(size_t i, enum ev_kind kind, uint32_t id,
                      uint32_t play_id, bool finished)
{
	assert_true(i < E.n);
	assert_int_equal(E.ev[i].kind, kind);
	assert_int_equal(E.ev[i].id, id);
	if (kind != EV_TAP) {
		assert_int_equal(E.ev[i].play_id, play_id);
		assert_int_equal(E.ev[i].finished, finished);
	}
}

/* A clip of a sine at freq, amplitude AMP, at the three rates. */
static struct ch_pcm *tone_clip(unsigned ms, double freq)
{
	struct ch_pcm *p = ch_pcm_alloc(ms / 20);
	const uint32_t rates[3] = {8000, 16000, 48000};

	assert_non_null(p);
	for (int k = 0; k < 3; k++) {
		int16_t *x = k == 0 ? p->r8k : k == 1 ? p->r16k : p->r48k;
		size_t n = (size_t)p->frames * rates[k] / 50;
		for (size_t i = 0; i < n; i++)
			x[i] = (int16_t)(AMP *
			                 sin(2 * M_PI * freq * i / rates[k]));
	}
	return p;
}

/* ms of p's capture in which the tone at freq was heard (20 ms blocks:
 * one per packet), and the span from the first such block to the last. */
static unsigned heard_ms(const struct peer *p, double freq, unsigned *span)
{
	size_t blk = p->rate / 50;
	unsigned on = 0;
	long first = -1, last = -1;

	for (size_t i = 0; i + blk <= p->rx_n; i += blk) {
		if (tone_dbfs(p->rx + i, blk, p->rate, freq) < ON_DB)
			continue;
		on += 20;
		if (first < 0)
			first = (long)(i / blk);
		last = (long)(i / blk);
	}
	*span = first < 0 ? 0 : (unsigned)(last - first + 1) * 20;
	return on;
}

static void capture_start(void)
{
	for (size_t i = 0; i < T.npeers; i++) {
		T.peers[i].rx_n = 0;
		T.peers[i].capture = true;
	}
}

static void capture_end(void)
{
	for (size_t i = 0; i < T.npeers; i++)
		T.peers[i].capture = false;
}

/* ---- the recorder tap's consumer ---- */

static struct {
	struct ch_media_tap *tap;
	struct tmr tmr;
	uint64_t records, gaps, bad;
	uint64_t next_seq;
	size_t ntracks;
	uint32_t track_leg[MAX_PEERS];
	int16_t mix[TAP_TICKS * TAP_FRAME];
	int16_t track[MAX_PEERS][TAP_TICKS * TAP_FRAME];
	uint8_t buf[65536];
} R;

static int16_t *track_of(uint32_t leg)
{
	for (size_t i = 0; i < R.ntracks; i++)
		if (R.track_leg[i] == leg)
			return R.track[i];
	assert_true(R.ntracks < MAX_PEERS);
	R.track_leg[R.ntracks] = leg;
	return R.track[R.ntracks++];
}

/* Takes every record out of the tap and checks its layout. */
static void tap_drain(void)
{
	long len;

	while ((len = ch_media_tap_get(R.tap, R.buf, sizeof(R.buf))) != 0) {
		assert_true(len > 0);
		struct ch_media_tap_hdr h;
		memcpy(&h, R.buf, sizeof(h));
		size_t pcm = ((size_t)h.frame * 2 + 7) & ~(size_t)7;
		if (h.len != (uint32_t)len ||
		    h.len != ch_media_tap_record_size(h.frame, h.ntracks) ||
		    h.rate != 8000 || h.frame != TAP_FRAME) {
			R.bad++;
			continue;
		}
		if (h.seq != R.next_seq)
			R.gaps++;
		R.next_seq = h.seq + 1;
		R.records++;
		if (h.seq >= TAP_TICKS)
			continue;
		const uint8_t *q = R.buf + sizeof(h);
		memcpy(R.mix + h.seq * TAP_FRAME, q, h.frame * 2);
		q += pcm;
		for (unsigned k = 0; k < h.ntracks; k++) {
			struct ch_media_tap_track tr;
			memcpy(&tr, q, sizeof(tr));
			memcpy(track_of(tr.leg) + h.seq * TAP_FRAME,
			       q + sizeof(tr), h.frame * 2);
			q += sizeof(tr) + pcm;
		}
	}
}

static void tap_tick(void *arg)
{
	(void)arg;
	tap_drain();
	tmr_start(&R.tmr, 20, tap_tick, NULL);
}

static void tap_consume(struct ch_media_tap *tap)
{
	memset(&R, 0, sizeof(R));
	R.tap = tap;
	tmr_init(&R.tmr);
	tmr_start(&R.tmr, 20, tap_tick, NULL);
}

/* Level of freq in ticks [from, from + 50) of x (one second). */
static double tap_dbfs(const int16_t *x, size_t from, double freq)
{
	return tone_dbfs(x + from * TAP_FRAME, 50 * TAP_FRAME, 8000, freq);
}

/* ---- scenarios ---- */

static void test_api(void **state)
{
	(void)state;
	start(44000);
	uint32_t room, leg;
	struct sa local;
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	assert_int_equal(ch_media_leg_alloc(T.eng, room, &leg, &local), 0);
	/* the engine owns the clip on error too (ASan: no leak) */
	assert_int_equal(
	    ch_media_room_play(T.eng, 999, 1, tone_clip(100, CLIP_HZ), 0),
	    ENOENT);
	assert_int_equal(ch_media_room_play(T.eng, room, 1, NULL, 0), EINVAL);
	assert_int_equal(
	    ch_media_leg_play(T.eng, 999, 1, tone_clip(100, CLIP_HZ)), ENOENT);
	assert_int_equal(ch_media_room_play_pause(T.eng, 999, true), ENOENT);
	assert_int_equal(ch_media_room_play_gain(T.eng, 999, 0), ENOENT);
	assert_int_equal(ch_media_room_play_stop(T.eng, 999), ENOENT);
	assert_int_equal(ch_media_leg_play_stop(T.eng, 999), ENOENT);
	assert_int_equal(ch_media_leg_isolate(T.eng, 999, true), ENOENT);
	assert_int_equal(ch_media_room_record(T.eng, room, NULL), EINVAL);
	assert_int_equal(ch_media_room_record_stop(T.eng, 999), ENOENT);
	/* nothing playing or recording: stops are no-ops */
	assert_int_equal(ch_media_room_play_stop(T.eng, room), 0);
	assert_int_equal(ch_media_leg_play_stop(T.eng, leg), 0);
	assert_int_equal(ch_media_room_record_stop(T.eng, room), 0);

	struct ch_media_tap *t1 = ch_media_tap_alloc(0, false);
	struct ch_media_tap *t2 = ch_media_tap_alloc(0, false);
	assert_int_equal(ch_media_room_record(T.eng, room, t1), 0);
	assert_int_equal(ch_media_room_record(T.eng, room, t2), EBUSY);
	assert_int_equal(ch_media_room_record_stop(T.eng, room), 0);
	assert_int_equal(ch_media_room_record(T.eng, room, t2), 0);
	wait_events(1, 1000);
	expect_ev(0, EV_TAP, room, 0, false);
	assert_ptr_equal(E.ev[0].tap, t1);
	uint64_t t1_ticks = atomic_load(&t1->ticks);
	run_for(100);
	assert_int_equal(atomic_load(&t1->ticks), t1_ticks); /* let go */
	ch_media_room_destroy(T.eng, room);
	wait_events(2, 1000);
	assert_ptr_equal(E.ev[1].tap, t2);
	run_for(100);
	assert_int_equal(E.n, 2);
	/* the worker wrote ticks into each while attached */
	assert_true(atomic_load(&t2->ticks) > 0);
	ch_media_tap_free(t1);
	ch_media_tap_free(t2);
	engine_stop();
}

/* A room clip: the lone talker and two listeners hear it; gain; stop;
 * replace; natural end on time; pause and resume. */
static void test_room_clip(void **state)
{
	(void)state;
	uint32_t room = start_room3(44100);
	struct peer *a = &T.peers[0], *b = &T.peers[1], *c = &T.peers[2];
	b->sending = c->sending = false; /* a talks alone */
	run_for(1000);

	assert_int_equal(
	    ch_media_room_play(T.eng, room, 1, tone_clip(20000, CLIP_HZ), 0),
	    0);
	capture(300, 1200);
	check_hears(a, (double[]){CLIP_HZ}, 1, (double[]){440}, 1);
	check_hears(b, (double[]){440, CLIP_HZ}, 2, NULL, 0);
	check_hears(c, (double[]){440, CLIP_HZ}, 2, NULL, 0);

	/* b talks too: everyone still hears the clip */
	peer_resume(b);
	capture(400, 1200);
	check_hears(a, (double[]){660, CLIP_HZ}, 2, (double[]){440}, 1);
	check_hears(b, (double[]){440, CLIP_HZ}, 2, (double[]){660}, 1);
	check_hears(c, (double[]){440, 660, CLIP_HZ}, 3, NULL, 0);
	double before[3] = {heard_dbfs(a, CLIP_HZ), heard_dbfs(b, CLIP_HZ),
	                    heard_dbfs(c, CLIP_HZ)};

	assert_int_equal(ch_media_room_play_gain(T.eng, room, -20), 0);
	capture(200, 1200);
	const struct peer *ps[3] = {a, b, c};
	for (int i = 0; i < 3; i++) {
		double drop = before[i] - heard_dbfs(ps[i], CLIP_HZ);
		if (getenv("CH_TEST_VERBOSE"))
			print_message("leg %u: clip %.1f dB lower\n",
			              ps[i]->leg, drop);
		if (fabs(drop - 20) > 2)
			fail_msg("leg %u: -20 dB lowered the clip by %.1f dB",
			         ps[i]->leg, drop);
	}
	assert_int_equal(E.n, 0);

	/* stop */
	assert_int_equal(ch_media_room_play_stop(T.eng, room), 0);
	wait_events(1, 500);
	expect_ev(0, EV_ROOM_DONE, room, 1, false);
	capture(200, 1200);
	check_hears(c, (double[]){440, 660}, 2, (double[]){CLIP_HZ}, 1);

	/* a new play replaces the one playing */
	assert_int_equal(
	    ch_media_room_play(T.eng, room, 2, tone_clip(20000, CLIP_HZ), 0),
	    0);
	assert_int_equal(
	    ch_media_room_play(T.eng, room, 3, tone_clip(20000, CLIP_HZ), 0),
	    0);
	wait_events(2, 500);
	expect_ev(1, EV_ROOM_DONE, room, 2, false);
	capture(200, 1200);
	check_hears(c, (double[]){440, 660, CLIP_HZ}, 3, NULL, 0);

	/* natural end, replacing 3: done(3, false), then done(4, true)
	 * after the clip's length */
	uint64_t t0 = tmr_jiffies();
	assert_int_equal(
	    ch_media_room_play(T.eng, room, 4, tone_clip(1000, CLIP_HZ), 0), 0);
	wait_events(4, 2000);
	expect_ev(2, EV_ROOM_DONE, room, 3, false);
	expect_ev(3, EV_ROOM_DONE, room, 4, true);
	long took = (long)(E.ev[3].at - t0);
	if (labs(took - 1000) > END_SLACK)
		fail_msg("a 1000 ms clip ended after %ld ms", took);

	/* pause 300 ms in, resume 500 ms later: heard 1000 ms in all over a
	 * span of 1500, ending 1500 ms after the play */
	a->sending = b->sending = false;
	run_for(200);
	capture_start();
	t0 = tmr_jiffies();
	assert_int_equal(
	    ch_media_room_play(T.eng, room, 5, tone_clip(1000, CLIP_HZ), 0), 0);
	run_for(300);
	assert_int_equal(ch_media_room_play_pause(T.eng, room, true), 0);
	run_for(500);
	assert_int_equal(ch_media_room_play_pause(T.eng, room, false), 0);
	wait_events(5, 2000);
	took = (long)(E.ev[4].at - t0);
	run_for(200);
	capture_end();
	expect_ev(4, EV_ROOM_DONE, room, 5, true);
	for (int i = 0; i < 3; i++) {
		unsigned span, on = heard_ms(ps[i], CLIP_HZ, &span);
		if (getenv("CH_TEST_VERBOSE"))
			print_message("leg %u: heard %u ms over %u, done at "
			              "%ld\n",
			              ps[i]->leg, on, span, took);
		if (abs((int)on - 1000) > 40 || abs((int)span - 1500) > 80)
			fail_msg("leg %u heard the clip %u ms over %u ms",
			         ps[i]->leg, on, span);
	}
	if (labs(took - 1500) > 80)
		fail_msg("a paused 1000 ms clip ended after %ld ms", took);
	assert_int_equal(E.n, 5);
	engine_stop();
}

/* A leg's prompt, isolation. */
static void test_prompt_isolate(void **state)
{
	(void)state;
	start_room3(44200);
	struct peer *a = &T.peers[0], *b = &T.peers[1], *c = &T.peers[2];
	run_for(300);
	const double fa = 440, fb = 660, fc = 880, fp = PROMPT_HZ;

	assert_int_equal(
	    ch_media_leg_play(T.eng, a->leg, 7, tone_clip(20000, fp)), 0);
	capture(300, 1200);
	check_hears(a, (double[]){fb, fc, fp}, 3, (double[]){fa}, 1);
	check_hears(b, (double[]){fa, fc}, 2, (double[]){fb, fp}, 2);
	check_hears(c, (double[]){fa, fb}, 2, (double[]){fc, fp}, 2);

	/* isolated: a hears its prompt alone and is not heard */
	assert_int_equal(ch_media_leg_isolate(T.eng, a->leg, true), 0);
	capture(300, 1200);
	check_hears(a, (double[]){fp}, 1, (double[]){fa, fb, fc}, 3);
	check_hears(b, (double[]){fc}, 1, (double[]){fa, fb, fp}, 3);
	check_hears(c, (double[]){fb}, 1, (double[]){fa, fc, fp}, 3);

	assert_int_equal(ch_media_leg_isolate(T.eng, a->leg, false), 0);
	capture(300, 1200);
	check_hears(a, (double[]){fb, fc, fp}, 3, (double[]){fa}, 1);
	check_hears(b, (double[]){fa, fc}, 2, (double[]){fb, fp}, 2);

	/* stopped; isolated without a prompt: a hears nothing */
	assert_int_equal(ch_media_leg_play_stop(T.eng, a->leg), 0);
	wait_events(1, 500);
	expect_ev(0, EV_LEG_DONE, a->leg, 7, false);
	assert_int_equal(ch_media_leg_isolate(T.eng, a->leg, true), 0);
	capture(300, 1200);
	const double all[4] = {fa, fb, fc, fp};
	for (int i = 0; i < 4; i++) {
		double db = heard_dbfs(a, all[i]);
		if (db > SILENT_DB)
			fail_msg("isolated leg hears %.0f Hz at %.1f dBFS",
			         all[i], db);
	}
	assert_true(a->rx_n >= 7000); /* it was sent silence */
	check_hears(b, (double[]){fc}, 1, (double[]){fa, fb}, 2);

	/* replaced, then a short one to its end */
	assert_int_equal(ch_media_leg_isolate(T.eng, a->leg, false), 0);
	assert_int_equal(
	    ch_media_leg_play(T.eng, a->leg, 8, tone_clip(20000, fp)), 0);
	uint64_t t0 = tmr_jiffies();
	assert_int_equal(
	    ch_media_leg_play(T.eng, a->leg, 9, tone_clip(500, fp)), 0);
	wait_events(3, 1500);
	expect_ev(1, EV_LEG_DONE, a->leg, 8, false);
	expect_ev(2, EV_LEG_DONE, a->leg, 9, true);
	long took = (long)(E.ev[2].at - t0);
	if (labs(took - 500) > END_SLACK)
		fail_msg("a 500 ms prompt ended after %ld ms", took);
	capture(100, 1200);
	check_hears(a, (double[]){fb, fc}, 2, (double[]){fa, fp}, 2);
	assert_int_equal(E.n, 3);
	engine_stop();
}

/* The tap: one record per tick, the mix with every tone and the clip,
 * each track one leg alone; a silent leg has no track. */
static void test_tap(void **state)
{
	(void)state;
	start(44300);
	uint32_t room;
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	const double f[3] = {440, 660, 880};
	struct peer *p[4];
	for (int i = 0; i < 4; i++) {
		p[i] = peer_add(CH_CODEC_PCMU, i < 3 ? f[i] : 1000);
		peer_join(p[i], room, false);
	}
	p[3]->sending = false;
	assert_int_equal(
	    ch_media_room_play(T.eng, room, 1, tone_clip(20000, CLIP_HZ), -6),
	    0);
	run_for(400);

	struct ch_media_tap *tap = ch_media_tap_alloc(1 << 20, true);
	assert_non_null(tap);
	tap_consume(tap);
	struct ch_media_engine_stats st0, st1;
	ch_media_engine_stats(T.eng, &st0);
	assert_int_equal(ch_media_room_record(T.eng, room, tap), 0);
	run_for(2500);
	assert_int_equal(ch_media_room_record_stop(T.eng, room), 0);
	wait_events(1, 500);
	ch_media_engine_stats(T.eng, &st1);
	tmr_cancel(&R.tmr);
	expect_ev(0, EV_TAP, room, 0, false);
	assert_ptr_equal(E.ev[0].tap, tap);
	tap_drain();

	uint64_t ticks = st1.ticks - st0.ticks;
	if (getenv("CH_TEST_VERBOSE"))
		print_message("tap: %lu records, %lu ticks, %lu dropped\n",
		              (unsigned long)R.records, (unsigned long)ticks,
		              (unsigned long)atomic_load(&tap->dropped));
	assert_int_equal(R.bad, 0);
	assert_int_equal(R.gaps, 0);
	assert_int_equal(atomic_load(&tap->dropped), 0);
	assert_int_equal(R.records, atomic_load(&tap->ticks));
	assert_true(R.records + 3 >= ticks && R.records <= ticks);
	assert_true(R.records >= 120);

	/* a second in the middle */
	size_t from = 60;
	for (int i = 0; i < 3; i++) {
		double db = tap_dbfs(R.mix, from, f[i]);
		if (db < HEARD_DBFS)
			fail_msg("mix: %.0f Hz at %.1f dBFS", f[i], db);
	}
	assert_true(tap_dbfs(R.mix, from, CLIP_HZ) > HEARD_DBFS);
	assert_int_equal(R.ntracks, 3);
	for (int i = 0; i < 3; i++) {
		const int16_t *x = track_of(p[i]->leg);
		double own = tap_dbfs(x, from, f[i]);
		if (own < HEARD_DBFS)
			fail_msg("track of leg %u: own tone at %.1f dBFS",
			         p[i]->leg, own);
		const double others[4] = {f[(i + 1) % 3], f[(i + 2) % 3],
		                          CLIP_HZ, 1000};
		for (int k = 0; k < 4; k++) {
			double db = tap_dbfs(x, from, others[k]);
			if (db > own - QUIET_DB)
				fail_msg("track of leg %u holds %.0f Hz at "
				         "%.1f dBFS",
				         p[i]->leg, others[k], db);
		}
	}
	assert_int_equal(R.ntracks, 3); /* p[3], silent, has none */
	ch_media_room_destroy(T.eng, room);
	wait_events(2, 500);
	expect_ev(1, EV_ROOM_DONE, room, 1, false);
	ch_media_tap_free(tap);
	engine_stop();
}

/* A tap ring that fills: records are dropped and counted, the engine's
 * ticks and the legs' audio go on. */
static void test_tap_full(void **state)
{
	(void)state;
	start(44400);
	uint32_t room;
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	for (int i = 0; i < 20; i++)
		peer_join(peer_add(CH_CODEC_PCMU, 300 + 50 * i), room, false);
	run_for(400);

	/* 64 KiB, never drained: a record of 20 tracks is about 7 KB */
	struct ch_media_tap *tap = ch_media_tap_alloc(0, true);
	assert_non_null(tap);
	struct ch_media_engine_stats st0, st1;
	uint64_t rx0[20];
	for (int i = 0; i < 20; i++)
		rx0[i] = T.peers[i].rx_pkts;
	ch_media_engine_stats(T.eng, &st0);
	assert_int_equal(ch_media_room_record(T.eng, room, tap), 0);
	run_for(1000);
	ch_media_engine_stats(T.eng, &st1);
	uint64_t offered = atomic_load(&tap->ticks);
	uint64_t dropped = atomic_load(&tap->dropped);
	if (getenv("CH_TEST_VERBOSE"))
		print_message("full tap: %lu offered, %lu dropped, %lu ticks\n",
		              (unsigned long)offered, (unsigned long)dropped,
		              (unsigned long)(st1.ticks - st0.ticks));
	assert_true(st1.ticks - st0.ticks >= 45);
	assert_true(offered >= 45);
	assert_true(dropped >= offered - 12 && dropped < offered);
	for (int i = 0; i < 20; i++)
		assert_true(T.peers[i].rx_pkts - rx0[i] >= 45);

	/* what did fit is whole, in order from seq 0 */
	memset(&R, 0, sizeof(R));
	R.tap = tap;
	tap_drain();
	assert_int_equal(R.bad, 0);
	assert_int_equal(R.gaps, 0);
	assert_int_equal(R.records, offered - dropped);
	/* drained: records fit again, after a gap in seq */
	run_for(200);
	assert_int_equal(ch_media_room_record_stop(T.eng, room), 0);
	wait_events(1, 500);
	tap_drain();
	assert_int_equal(R.bad, 0);
	assert_int_equal(R.gaps, 1);
	assert_true(R.records > offered - dropped);
	ch_media_tap_free(tap);
	engine_stop();
}

/* Freed and destroyed while clips play and a tap is attached; and an
 * engine freed with everything still out. */
static void test_teardown(void **state)
{
	(void)state;
	start(44500);
	uint32_t room, room2;
	assert_int_equal(ch_media_room_create(T.eng, &room), 0);
	assert_int_equal(ch_media_room_create(T.eng, &room2), 0);
	struct peer *a = peer_add(CH_CODEC_PCMU, 440);
	struct peer *b = peer_add(CH_CODEC_PCMU, 660);
	struct peer *c = peer_add(CH_CODEC_PCMU, 880);
	peer_join(a, room, false);
	peer_join(b, room, false);
	peer_join(c, room2, false);
	struct ch_media_tap *tap = ch_media_tap_alloc(0, true);
	struct ch_media_tap *tap2 = ch_media_tap_alloc(0, true);
	assert_int_equal(
	    ch_media_room_play(T.eng, room, 1, tone_clip(20000, CLIP_HZ), 0),
	    0);
	assert_int_equal(ch_media_room_record(T.eng, room, tap), 0);
	assert_int_equal(
	    ch_media_leg_play(T.eng, a->leg, 2, tone_clip(20000, PROMPT_HZ)),
	    0);
	assert_int_equal(
	    ch_media_leg_play(T.eng, b->leg, 3, tone_clip(20000, PROMPT_HZ)),
	    0);
	/* replaced: the worker hands 3 back (finished false) */
	assert_int_equal(
	    ch_media_leg_play(T.eng, b->leg, 4, tone_clip(20000, PROMPT_HZ)),
	    0);
	run_for(300);
	assert_int_equal(E.n, 1);
	expect_ev(0, EV_LEG_DONE, b->leg, 3, false);

	/* a freed: its prompt reported before ch_media_leg_free returns */
	ch_media_leg_free(T.eng, a->leg);
	assert_int_equal(E.n, 2);
	expect_ev(1, EV_LEG_DONE, a->leg, 2, false);
	run_for(200);
	assert_int_equal(E.n, 2);

	/* the room destroyed with b's prompt, the clip and the tap out */
	ch_media_room_destroy(T.eng, room);
	assert_int_equal(E.n, 3);
	expect_ev(2, EV_LEG_DONE, b->leg, 4, false);
	wait_events(5, 500);
	run_for(200);
	assert_int_equal(E.n, 5);
	bool clip = false, tapped = false;
	for (size_t i = 3; i < 5; i++) {
		if (E.ev[i].kind == EV_ROOM_DONE) {
			expect_ev(i, EV_ROOM_DONE, room, 1, false);
			clip = true;
		} else {
			expect_ev(i, EV_TAP, room, 0, false);
			assert_ptr_equal(E.ev[i].tap, tap);
			tapped = true;
		}
	}
	assert_true(clip && tapped);
	assert_true(atomic_load(&tap->ticks) >= 20);

	/* the engine freed with a clip, a prompt, a tap, and commands not
	 * yet read: no handler, nothing leaked */
	assert_int_equal(
	    ch_media_room_play(T.eng, room2, 5, tone_clip(20000, CLIP_HZ), 0),
	    0);
	assert_int_equal(ch_media_room_record(T.eng, room2, tap2), 0);
	run_for(100);
	assert_int_equal(
	    ch_media_leg_play(T.eng, c->leg, 6, tone_clip(20000, PROMPT_HZ)),
	    0);
	assert_int_equal(
	    ch_media_room_play(T.eng, room2, 7, tone_clip(20000, CLIP_HZ), 0),
	    0);
	engine_stop();
	assert_int_equal(E.n, 5);
	ch_media_tap_free(tap);
	ch_media_tap_free(tap2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_api, teardown),
	    cmocka_unit_test_teardown(test_room_clip, teardown),
	    cmocka_unit_test_teardown(test_prompt_isolate, teardown),
	    cmocka_unit_test_teardown(test_tap, teardown),
	    cmocka_unit_test_teardown(test_tap_full, teardown),
	    cmocka_unit_test_teardown(test_teardown, teardown),
	};
	assert_int_equal(libre_init(), 0);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return rc;
}
