/*
 * test_media_jitterbuf.c: the adaptive jitter buffer driven by simulated
 * packet arrivals and a 20 ms playout tick: in order, reordered, lost, late,
 * duplicated, wrapping, bursty, resynchronised and silence-suppressed
 * streams, the RFC 3550 jitter estimate of known sequences, 30 ms of
 * random jitter absorbed without concealment, and the frame an underrun
 * added given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "media/jitterbuf.h"

#define RATE     8000
#define FRAME_MS 20
#define FRAME_TS 160
#define PLEN     160
#define MAX_EV   2048

static struct ch_jitterbuf jb;

struct arrival {
	uint16_t seq;
	uint32_t ts;
	uint64_t at; /* ms */
};

/* What one get() gave: 'P' packet (with seq), 'M' missing, 'E' empty. */
struct outcome {
	char kind;
	uint16_t seq;
};

static struct arrival ev[MAX_EV];
static size_t nev;
static struct outcome out[MAX_EV];
static size_t nout;
static enum ch_jitterbuf_put_result put_res[MAX_EV];
static uint16_t seqs[MAX_EV];

static void add(uint16_t seq, uint32_t ts, uint64_t at)
{
	assert_true(nev < MAX_EV);
	ev[nev].seq = seq;
	ev[nev].ts = ts;
	ev[nev].at = at;
	nev++;
}

/* The n-th frame of a stream starting at seq0 (ts 1000), arriving at at. */
static void add_frame(uint16_t seq0, uint32_t n, uint64_t at)
{
	add((uint16_t)(seq0 + n), 1000 + n * FRAME_TS, at);
}

static void payload_of(uint16_t seq, uint8_t *p)
{
	for (size_t i = 0; i < PLEN; i++)
		p[i] = (uint8_t)(seq + i);
}

static void setup_jb(void)
{
	assert_int_equal(ch_jitterbuf_init(&jb, RATE, FRAME_MS), 0);
	/* the behaviour tests use one frame of floor (reordering, late) */
	assert_int_equal(ch_jitterbuf_set_floor(&jb, FRAME_MS), 0);
	nev = 0;
	nout = 0;
}

/*
 * Runs the simulation from t = 0 to end_ms: arrivals due at t are put in
 * the order given, then at every multiple of 20 ms one get() happens.
 * Played payloads are checked.
 */
static void run(uint64_t end_ms)
{
	uint8_t p[PLEN];

	for (uint64_t t = 0; t <= end_ms; t++) {
		for (size_t i = 0; i < nev; i++) {
			if (ev[i].at != t)
				continue;
			payload_of(ev[i].seq, p);
			put_res[i] = ch_jitterbuf_put(&jb, ev[i].seq, ev[i].ts,
			                              p, PLEN, t);
		}
		if (t % FRAME_MS != 0)
			continue;
		struct ch_jitterbuf_pkt pkt;
		enum ch_jitterbuf_get_result r = ch_jitterbuf_get(&jb, t, &pkt);
		assert_true(nout < MAX_EV);
		out[nout].kind = r == CH_JITTERBUF_PACKET    ? 'P'
		                 : r == CH_JITTERBUF_MISSING ? 'M'
		                                             : 'E';
		out[nout].seq = 0;
		if (r == CH_JITTERBUF_PACKET) {
			out[nout].seq = pkt.seq;
			assert_int_equal(pkt.len, PLEN);
			payload_of(pkt.seq, p);
			assert_memory_equal(pkt.payload, p, PLEN);
		}
		nout++;
	}
}

/* Outcomes after the leading 'E's, as a string like "PPMP" (no seqs). */
static const char *pattern(size_t *first)
{
	static char s[MAX_EV + 1];
	size_t i = 0, k = 0;
	while (i < nout && out[i].kind == 'E')
		i++;
	if (first)
		*first = i;
	for (; i < nout; i++)
		s[k++] = out[i].kind;
	s[k] = 0;
	return s;
}

/* Fills seqs with the played sequence numbers in order; returns how many */
static size_t played(void)
{
	size_t k = 0;
	for (size_t i = 0; i < nout; i++)
		if (out[i].kind == 'P')
			seqs[k++] = out[i].seq;
	return k;
}

/* Exactly n packets were played: first, first + 1, ... (mod 2^16). */
static void assert_played_run(uint16_t first, size_t n)
{
	assert_int_equal(played(), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(seqs[i], (uint16_t)(first + i));
}

static void assert_all_queued(void)
{
	for (size_t i = 0; i < nev; i++)
		assert_int_equal(put_res[i], CH_JITTERBUF_QUEUED);
}

static struct ch_jitterbuf_stats stats(void)
{
	struct ch_jitterbuf_stats st;
	ch_jitterbuf_stats(&jb, &st);
	return st;
}

static void test_init_and_invalid(void **state)
{
	uint8_t p[CH_JITTERBUF_MAX_PAYLOAD + 1] = {0};
	struct ch_jitterbuf_pkt pkt;

	assert_int_equal(ch_jitterbuf_init(&jb, 0, 20), -EINVAL);
	assert_int_equal(ch_jitterbuf_init(&jb, 8000, 0), -EINVAL);
	assert_int_equal(ch_jitterbuf_init(&jb, 8000, 201), -EINVAL);
	assert_int_equal(ch_jitterbuf_init(&jb, 8000, 20), 0);
	assert_int_equal(ch_jitterbuf_target_ms(&jb), CH_JITTERBUF_FLOOR_MS);
	assert_int_equal(ch_jitterbuf_set_floor(&jb, CH_JITTERBUF_MAX_MS + 1),
	                 -EINVAL);
	setup_jb();
	assert_int_equal(ch_jitterbuf_target_ms(&jb), FRAME_MS);
	assert_int_equal(ch_jitterbuf_get(&jb, 0, &pkt), CH_JITTERBUF_EMPTY);
	assert_false(ch_jitterbuf_peek(&jb, &pkt));
	assert_int_equal(ch_jitterbuf_put(&jb, 1, 0, NULL, 10, 0),
	                 CH_JITTERBUF_INVALID);
	assert_int_equal(ch_jitterbuf_put(&jb, 1, 0, p, 0, 0),
	                 CH_JITTERBUF_INVALID);
	assert_int_equal(ch_jitterbuf_put(&jb, 1, 0, p, sizeof(p), 0),
	                 CH_JITTERBUF_INVALID);
	assert_int_equal(stats().received, 0);
	assert_int_equal(ch_jitterbuf_put(&jb, 1, 0, p, sizeof(p) - 1, 0),
	                 CH_JITTERBUF_QUEUED);
	assert_int_equal(stats().received, 1);
}

/* Steady stream: buffered for the target, then every packet in order. */
static void test_in_order(void **state)
{
	size_t first;

	setup_jb();
	for (uint32_t n = 0; n < 100; n++)
		add_frame(100, n, 20 * n + 5);
	run(2100);
	assert_all_queued();
	const char *pat = pattern(&first);
	/* first packet at 5 ms + 20 ms target: plays on the 40 ms tick */
	assert_int_equal(first, 2);
	assert_int_equal(strncmp(pat, "PPPPPPPPPP", 10), 0);
	assert_int_equal(strspn(pat, "P"), 100);
	assert_played_run(100, 100);
	struct ch_jitterbuf_stats st = stats();
	assert_int_equal(st.received, 100);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.late, 0);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.jitter_ms, 0);
	assert_int_equal(st.target_ms, 20);
}

/*
 * The default floor: a clean stream is played at the first tick at least
 * CH_JITTERBUF_FLOOR_MS after each packet arrived, not a frame later.
 */
static void test_default_floor(void **state)
{
	size_t first;

	(void)state;
	for (uint64_t phase = 1; phase < 20; phase += 6) {
		setup_jb();
		assert_int_equal(
		    ch_jitterbuf_set_floor(&jb, CH_JITTERBUF_FLOOR_MS), 0);
		for (uint32_t n = 0; n < 100; n++)
			add_frame(100, n, 20 * n + phase);
		run(2100);
		const char *pat = pattern(&first);
		/* tick k x 20 plays what arrived by k x 20 - floor */
		size_t want =
		    (size_t)((phase + CH_JITTERBUF_FLOOR_MS + 19) / 20);
		assert_int_equal(first, want);
		assert_int_equal(strspn(pat, "P"), 100);
		assert_played_run(100, 100);
		assert_int_equal(stats().target_ms, CH_JITTERBUF_FLOOR_MS);
		assert_int_equal(stats().lost, 0);
	}
	/* measured jitter raises the target above the floor */
	setup_jb();
	assert_int_equal(ch_jitterbuf_set_floor(&jb, CH_JITTERBUF_FLOOR_MS), 0);
	for (uint32_t n = 0; n < 300; n++)
		add_frame(0, n, 20 * n + 5 + (n & 1) * 10);
	run(6100);
	assert_int_equal(stats().target_ms, CH_JITTERBUF_FLOOR_MS + 3 * 9);
	assert_int_equal(stats().lost, 0);
	assert_int_equal(stats().late, 0);
}

/* Pairs swapped on the wire come out in order, none lost. */
static void test_reordered(void **state)
{
	setup_jb();
	/* the first two also swap: the talkspurt starts with seq 1 */
	for (uint32_t n = 0; n < 60; n++)
		add_frame(0, n ^ 1, 20 * n + 3 + (n & 1));
	run(1400);
	assert_all_queued();
	assert_played_run(0, 60);
	assert_int_equal(stats().lost, 0);
	assert_int_equal(stats().late, 0);
	assert_int_equal(strspn(pattern(NULL), "P"), 60);
}

/* Lost packets are concealed exactly where they were. */
static void test_loss(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 40; n++)
		if (n != 10 && n != 11 && n != 30)
			add_frame(500, n, 20 * n + 5);
	run(1000);
	assert_all_queued();
	/*
	 * 10 and 11: at 11's tick nothing later has come yet, so the buffer
	 * waits one frame (an underrun, not a loss) before 12 shows both are
	 * lost. That frame of extra delay then lets 31 be there in time for
	 * the single loss of 30. At the end: conceal, then empty.
	 */
	assert_int_equal(strcmp(pattern(NULL), "PPPPPPPPPP"
	                                       "MMM"
	                                       "PPPPPPPPPPPPPPPPPP"
	                                       "M"
	                                       "PPPPPPPPP"
	                                       "MMMMMEEE"),
	                 0);
	assert_int_equal(played(), 37);
	for (size_t i = 0; i < 37; i++)
		assert_int_equal(seqs[i], 500 + i + (i >= 10) * 2 + (i >= 28));
	assert_int_equal(stats().lost, 3);
	assert_int_equal(stats().late, 0);
}

/*
 * A loss in a jittery stream (target above one frame) is one concealed
 * frame, not a new buffering phase.
 */
static void test_loss_with_jitter(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 100; n++)
		if (n != 50)
			add_frame(0, n, 20 * n + 5 + (n & 1) * 10);
	run(2200);
	assert_true(ch_jitterbuf_target_ms(&jb) > 40);
	/* 50 P (0..49), one M, 49 P, then the end of the stream */
	char want[128];
	memset(want, 'P', 100);
	want[50] = 'M';
	strcpy(want + 100, "MMMMMEEEE");
	assert_string_equal(pattern(NULL), want);
	assert_int_equal(stats().lost, 1);
	assert_int_equal(stats().late, 0);
}

/* After a loss the following packet can be peeked at for Opus FEC. */
static void test_peek_after_missing(void **state)
{
	uint8_t p[PLEN];
	struct ch_jitterbuf_pkt pkt;

	setup_jb();
	payload_of(0, p);
	ch_jitterbuf_put(&jb, 0, 0, p, PLEN, 0);
	assert_int_equal(ch_jitterbuf_get(&jb, 0, &pkt), CH_JITTERBUF_EMPTY);
	assert_int_equal(ch_jitterbuf_get(&jb, 20, &pkt), CH_JITTERBUF_PACKET);
	assert_int_equal(pkt.seq, 0);
	payload_of(2, p);
	ch_jitterbuf_put(&jb, 2, 2 * FRAME_TS, p, PLEN, 40);
	assert_int_equal(ch_jitterbuf_get(&jb, 40, &pkt), CH_JITTERBUF_MISSING);
	assert_true(ch_jitterbuf_peek(&jb, &pkt));
	assert_int_equal(pkt.seq, 2);
	assert_int_equal(pkt.ts, 2 * FRAME_TS);
	assert_int_equal(ch_jitterbuf_get(&jb, 60, &pkt), CH_JITTERBUF_PACKET);
	assert_int_equal(pkt.seq, 2);
	assert_false(ch_jitterbuf_peek(&jb, &pkt));
}

/* A packet overtaken by its successors is lost at playout, late on arrival */
static void test_late(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 30; n++)
		add_frame(7, n, n == 12 ? 20 * n + 205 : 20 * n + 5);
	run(800);
	assert_int_equal(put_res[12], CH_JITTERBUF_LATE);
	assert_int_equal(strncmp(pattern(NULL), "PPPPPPPPPPPPMPPPPP", 18), 0);
	assert_int_equal(stats().lost, 1);
	assert_int_equal(stats().late, 1);
}

/* Duplicates, queued or already played, are dropped and counted. */
static void test_duplicate(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 20; n++)
		add_frame(0, n, 20 * n + 5);
	add_frame(0, 6, 20 * 6 + 6);  /* while 6 is queued */
	add_frame(0, 2, 20 * 10 + 6); /* long after 2 was played */
	run(500);
	assert_int_equal(put_res[20], CH_JITTERBUF_DUPLICATE);
	assert_int_equal(put_res[21], CH_JITTERBUF_DUPLICATE);
	assert_played_run(0, 20);
	assert_int_equal(stats().duplicates, 2);
	assert_int_equal(stats().received, 22);
	assert_int_equal(stats().late, 0);
}

/* Sequence numbers wrap 65535 -> 0 without loss, reordering included. */
static void test_wrap_around(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 20; n++) {
		/* 65534, 65535 and 0 arrive as 65535, 0, 65534 */
		uint64_t at = 20 * n + 5;
		if (n == 4)
			at += 30;
		add((uint16_t)(65530 + n), 0xFFFFFF00u + n * FRAME_TS, at);
	}
	run(600);
	assert_all_queued();
	assert_played_run(65530, 20);
	assert_int_equal(stats().lost, 0);
	assert_int_equal(stats().resyncs, 0);
	assert_int_equal(strspn(pattern(NULL), "P"), 20);
}

/*
 * A 100 ms stall then a burst: the gap is concealed while waiting (no
 * packet lost), and the extra delay is worked off by dropping frames.
 */
static void test_burst(void **state)
{
	size_t first;

	setup_jb();
	for (uint32_t n = 0; n < 100; n++) {
		uint64_t at = 20 * n + 5;
		if (n >= 20 && n < 25)
			at = 20 * 25 + 5; /* 20..24 held back, then at once */
		add_frame(0, n, at);
	}
	run(2200);
	const char *pat = pattern(&first);
	/* 20 played, then underrun concealment while stalled */
	assert_int_equal(strncmp(pat, "PPPPPPPPPPPPPPPPPPPPMMMMP", 25), 0);
	struct ch_jitterbuf_stats st = stats();
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.late, 0);
	assert_true(st.dropped >= 1);
	/* every packet was played or dropped, in order */
	size_t n = played();
	assert_int_equal(n + st.dropped, 100);
	for (size_t i = 1; i < n; i++)
		assert_true(seqs[i] > seqs[i - 1]);
	/* and the delay went back down: the stream ended before the run did */
	assert_true(nout - first - 1 >= n + 4);
	assert_int_equal(out[nout - 1].kind, 'E');
}

/* Silence suppression: a timestamp jump starts a new talkspurt. */
static void test_dtx_gap(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 10; n++)
		add(n, n * FRAME_TS, 20 * n + 5);
	/* 2 s of silence: seq continues, ts jumps */
	for (uint32_t n = 10; n < 20; n++)
		add(n, (n + 100) * FRAME_TS, 20 * (n + 100) + 5);
	run(2600);
	const char *pat = pattern(NULL);
	/* conceal CH_JITTERBUF_MAX_CONCEAL frames, then empty until speech */
	assert_int_equal(strncmp(pat, "PPPPPPPPPPMMMMMEEE", 18), 0);
	assert_played_run(0, 20);
	/* the second talkspurt is buffered again: seq 10 arrives at 2205 */
	size_t i = 0;
	while (out[i].kind != 'P' || out[i].seq != 10)
		i++;
	assert_int_equal(i * FRAME_MS, 2240);
	assert_int_equal(stats().lost, 0);
	assert_int_equal(stats().late, 0);
}

/*
 * A short silence (timestamps jump 3 frames, packets resume 60 ms later):
 * the first packet after it waits the target delay like any talkspurt
 * start, instead of playing at once.
 */
static void test_short_gap(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 10; n++)
		add(n, n * FRAME_TS, 20 * n + 5);
	for (uint32_t n = 10; n < 20; n++)
		add(n, (n + 3) * FRAME_TS, 20 * (n + 3) + 5);
	run(600);
	/* 9 plays at 220; 240, 260: underrun; 10 came at 265: plays at 300 */
	assert_int_equal(strncmp(pattern(NULL), "PPPPPPPPPPMMEPPPPPPPPPP", 23),
	                 0);
	assert_int_equal(played(), 20);
	assert_int_equal(stats().lost, 0);
}

/*
 * Packets lost just before a pause are counted when the next talkspurt
 * starts: 10 and 11 never come, 12.. arrive after the concealment limit.
 */
static void test_loss_across_pause(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 20; n++)
		if (n != 10 && n != 11)
			add_frame(0, n, n < 10 ? 20 * n + 5 : 20 * n + 405);
	run(1000);
	assert_int_equal(strncmp(pattern(NULL), "PPPPPPPPPPMMMMMEEE", 18), 0);
	assert_int_equal(played(), 18);
	assert_int_equal(seqs[10], 12);
	assert_int_equal(stats().lost, 2);
	assert_int_equal(stats().late, 0);
}

/* A sequence jump is confirmed by a second packet, then resynchronised. */
static void test_resync(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 10; n++)
		add_frame(1000, n, 20 * n + 5);
	/* stray far-off packets: held on probation, never played */
	add(40000, 555, 20 * 10 + 1);
	add(50000, 555, 20 * 10 + 2);
	for (uint32_t n = 10; n < 15; n++)
		add_frame(1000, n, 20 * n + 5);
	/* the sender restarts with new numbering */
	for (uint32_t n = 0; n < 10; n++)
		add((uint16_t)(30000 + n), 90000 + n * FRAME_TS,
		    20 * (n + 15) + 5);
	run(700);
	assert_int_equal(put_res[10], CH_JITTERBUF_PROBATION);
	assert_int_equal(put_res[11], CH_JITTERBUF_PROBATION);
	assert_int_equal(put_res[12], CH_JITTERBUF_QUEUED);
	assert_int_equal(put_res[17], CH_JITTERBUF_PROBATION);
	assert_int_equal(put_res[18], CH_JITTERBUF_QUEUED);
	size_t n = played();
	assert_int_equal(n, 25);
	for (size_t i = 0; i < 15; i++)
		assert_int_equal(seqs[i], 1000 + i);
	for (size_t i = 15; i < 25; i++)
		assert_int_equal(seqs[i], 30000 + i - 15);
	assert_int_equal(stats().resyncs, 1);
	assert_int_equal(stats().lost, 0);
}

/* Nobody calls get(): a full ring starts over from the newest packet. */
static void test_overflow(void **state)
{
	uint8_t p[PLEN];
	struct ch_jitterbuf_pkt pkt;

	setup_jb();
	for (uint16_t s = 0; s < CH_JITTERBUF_SLOTS + 6; s++) {
		payload_of(s, p);
		assert_int_equal(
		    ch_jitterbuf_put(&jb, s, s * FRAME_TS, p, PLEN, 20 * s),
		    CH_JITTERBUF_QUEUED);
	}
	struct ch_jitterbuf_stats st = stats();
	assert_int_equal(st.resyncs, 1);
	assert_int_equal(st.dropped, CH_JITTERBUF_SLOTS);
	uint64_t now = 20 * (CH_JITTERBUF_SLOTS + 6);
	assert_int_equal(ch_jitterbuf_get(&jb, now, &pkt), CH_JITTERBUF_PACKET);
	assert_int_equal(pkt.seq, CH_JITTERBUF_SLOTS);
	assert_int_equal(pkt.ts, CH_JITTERBUF_SLOTS * FRAME_TS);
}

/* reset() (SSRC change) starts over at once and keeps the counters. */
static void test_reset(void **state)
{
	uint8_t p[PLEN];
	struct ch_jitterbuf_pkt pkt;

	setup_jb();
	payload_of(5, p);
	ch_jitterbuf_put(&jb, 5, 0, p, PLEN, 0);
	ch_jitterbuf_put(&jb, 6, FRAME_TS, p, PLEN, 20);
	ch_jitterbuf_reset(&jb);
	assert_int_equal(ch_jitterbuf_get(&jb, 40, &pkt), CH_JITTERBUF_EMPTY);
	payload_of(9, p);
	assert_int_equal(ch_jitterbuf_put(&jb, 9, 777, p, PLEN, 50),
	                 CH_JITTERBUF_QUEUED);
	assert_int_equal(ch_jitterbuf_get(&jb, 60, &pkt), CH_JITTERBUF_EMPTY);
	assert_int_equal(ch_jitterbuf_get(&jb, 80, &pkt), CH_JITTERBUF_PACKET);
	assert_int_equal(pkt.seq, 9);
	assert_int_equal(pkt.ts, 777);
	assert_int_equal(stats().received, 3);
	assert_int_equal(stats().dropped, 2);
}

/* Reference RFC 3550 estimator in floating point, in arrival order. */
static double ref_jitter(const struct arrival *in, size_t n)
{
	static struct arrival a[MAX_EV];
	double j = 0;

	/* stable insertion sort by arrival: ties keep put() order */
	for (size_t i = 0; i < n; i++) {
		size_t k = i;
		while (k > 0 && a[k - 1].at > in[i].at) {
			a[k] = a[k - 1];
			k--;
		}
		a[k] = in[i];
	}
	for (size_t i = 1; i < n; i++) {
		double d = (double)(a[i].at - a[i - 1].at) * RATE / 1000.0 -
		           ((double)a[i].ts - (double)a[i - 1].ts);
		j += (fabs(d) - j) / 16.0;
	}
	return j;
}

/* Arrivals alternating 0 and +10 ms: |D| = 10 ms, so J -> 10 ms. */
static void test_jitter_alternating(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 300; n++)
		add_frame(0, n, 20 * n + 5 + (n & 1) * 10);
	run(6100);
	struct ch_jitterbuf_stats st = stats();
	assert_int_equal(st.jitter_ms, 9); /* 1 - (15/16)^299 short of 10 */
	assert_in_range(ch_jitterbuf_jitter_ts(&jb), 78, 80);
	assert_true(fabs(ch_jitterbuf_jitter_ts(&jb) - ref_jitter(ev, nev)) <=
	            1.0);
	/* target = floor (here one frame) + 3 x jitter */
	assert_int_equal(st.target_ms, 20 + 3 * 9);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.late, 0);
}

/* n frames, frame i arriving at 20 i + 5 + a pseudo-random 0..max_ms
 * (seeded: the same every run), then the run. */
static void run_random(uint32_t seed, uint32_t n, uint32_t max_ms)
{
	for (uint32_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		add_frame(0, i, 20 * i + 5 + (seed >> 16) % (max_ms + 1));
	}
	run(20 * (uint64_t)n + 200);
}

/* Pseudo-random 0..60 ms delays: estimate matches the reference. */
static void test_jitter_random(void **state)
{
	setup_jb();
	run_random(12345, 500, 60);
	double ref = ref_jitter(ev, nev);
	/* uniform 0..60 ms delays, reordered: |D| averages 15..20 ms */
	assert_true(ref > 110 && ref < 210);
	assert_true(fabs(ch_jitterbuf_jitter_ts(&jb) - ref) <= 2.0);
	struct ch_jitterbuf_stats st = stats();
	assert_int_equal(st.jitter_ms,
	                 (uint32_t)(ch_jitterbuf_jitter_ts(&jb) * 1000 / RATE));
	assert_int_equal(st.target_ms, 20 + 3 * st.jitter_ms);
	/* target and underrun stretching absorb it */
	assert_true(st.lost + st.late <= 5);
	assert_int_equal(st.received, 500);
}

/*
 * One absurd transit time (timestamp jumps by 2^31 with no sequence gap)
 * moves the estimate by at most 1/16 s and cannot overflow it; and the
 * target delay stays within [20, 200] ms even for wild jitter.
 */
static void test_jitter_outlier_and_bounds(void **state)
{
	setup_jb();
	for (uint32_t n = 0; n < 20; n++)
		add_frame(0, n, 20 * n + 5);
	add(20, 1000 + 20 * FRAME_TS + 0x7FFFFFF0u, 20 * 20 + 5);
	run(600);
	assert_int_equal(ch_jitterbuf_jitter_ts(&jb), RATE / 16);
	assert_int_equal(stats().jitter_ms, 1000 / 16);

	setup_jb();
	for (uint32_t n = 0; n < 100; n++)
		add_frame(0, n, 20 * n + (n & 1) * 300);
	run(2400);
	assert_int_equal(ch_jitterbuf_target_ms(&jb), CH_JITTERBUF_MAX_MS);
}

/* The default floor (2 ms), as legs run. */
static void setup_jb_default(void)
{
	assert_int_equal(ch_jitterbuf_init(&jb, RATE, FRAME_MS), 0);
	nev = 0;
	nout = 0;
}

/* How long packet n (seq0 0) waited: its get's time minus its arrival;
 * -1 if it was not played. */
static int64_t wait_of(uint32_t n)
{
	for (size_t k = 0; k < nout; k++)
		if (out[k].kind == 'P' && out[k].seq == n)
			return (int64_t)(k * FRAME_MS) - (int64_t)ev[n].at;
	return -1;
}

/*
 * Every packet 0..30 ms late at random (uniform, so they overtake each
 * other), default floor: past the first 2 s (the buffer grows by
 * underruns until it covers the jitter) nothing is concealed, lost or
 * late in 30 s, and the delay stays what the latest packets need (no
 * frame dropped back into loss, none held needlessly long).
 */
static void test_jitter_uniform_absorbed(void **state)
{
	setup_jb_default();
	run_random(777, 1500, 30);
	size_t first;
	const char *pat = pattern(&first);
	const char *end = strrchr(pat, 'P'); /* then the stream's end */
	const char *m = strchr(pat + 100, 'M');
	if (m && m < end)
		fail_msg("concealment at get %zu of %zu", (size_t)(m - pat),
		         strlen(pat));
	struct ch_jitterbuf_stats st = stats();
	assert_int_equal(st.late, 0);
	assert_int_equal(st.lost, 0);
	/* every packet of the last 10 s played, none waited over 80 ms */
	for (uint32_t n = 1000; n < 1490; n++) {
		int64_t w = wait_of(n);
		assert_true(w >= 0 && w <= 80);
	}
}

/*
 * A clean stream with one packet 8 ms late: one underrun (concealed,
 * the delay one frame longer), then the buffer drops one frame once a
 * long window shows the headroom, and the delay is back to the first
 * tick at least the floor after arrival.
 */
static void test_slip_recovers(void **state)
{
	setup_jb_default();
	for (uint32_t n = 0; n < 300; n++)
		add_frame(0, n, 20 * n + 15 + (n == 100 ? 8 : 0));
	run(6100);
	struct ch_jitterbuf_stats st = stats();
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.late, 0);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(wait_of(99), 5);   /* arrived 15, played at 20 */
	assert_int_equal(wait_of(101), 25); /* one frame later */
	for (uint32_t n = 200; n < 295; n++)
		assert_int_equal(wait_of(n), 5);
}

/*
 * Every 10th packet 45 ms late, behind its successor: the first one is
 * concealed and dropped as late, and the buffer plays a frame later from
 * then on (grown), so the next ones are in time. Concealing each of them
 * and moving on would lose one frame in ten for good.
 */
static void test_late_grows(void **state)
{
	setup_jb_default();
	for (uint32_t n = 0; n < 400; n++)
		add_frame(0, n,
		          20 * n + 15 + (n >= 50 && n % 10 == 5 ? 45 : 0));
	run(8100);
	struct ch_jitterbuf_stats st = stats();
	const char *pat = pattern(NULL);
	size_t m = 0;
	for (const char *c = pat; *c && c < strrchr(pat, 'P'); c++)
		m += *c == 'M';
	assert_int_equal(st.late, 1);
	assert_int_equal(st.grown, 1);
	assert_true(m <= 3); /* the underrun, the loss, the inserted frame */
	for (uint32_t n = 100; n < 395; n++)
		assert_true(wait_of(n) >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_and_invalid),
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_default_floor),
	    cmocka_unit_test(test_reordered),
	    cmocka_unit_test(test_loss),
	    cmocka_unit_test(test_loss_with_jitter),
	    cmocka_unit_test(test_peek_after_missing),
	    cmocka_unit_test(test_late),
	    cmocka_unit_test(test_duplicate),
	    cmocka_unit_test(test_wrap_around),
	    cmocka_unit_test(test_burst),
	    cmocka_unit_test(test_dtx_gap),
	    cmocka_unit_test(test_short_gap),
	    cmocka_unit_test(test_loss_across_pause),
	    cmocka_unit_test(test_resync),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_reset),
	    cmocka_unit_test(test_jitter_alternating),
	    cmocka_unit_test(test_jitter_random),
	    cmocka_unit_test(test_jitter_outlier_and_bounds),
	    cmocka_unit_test(test_jitter_uniform_absorbed),
	    cmocka_unit_test(test_slip_recovers),
	    cmocka_unit_test(test_late_grows),
	};
	return cmocka_run_group_tests_name("media_jitterbuf", tests, NULL,
	                                   NULL);
}
