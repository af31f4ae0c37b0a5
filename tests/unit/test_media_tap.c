/*
 * test_media_tap.c: the recorder tap ring: records of varying sizes come
 * out whole and in order across many wrap-arounds, also with a producer
 * thread racing the consumer; a full ring refuses and counts records
 * while seq keeps counting ticks (the consumer sees the gap); skipped
 * ticks are gaps too; a record bigger than the consumer's buffer is
 * removed and reported; the capacity rounds up to a power of two.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "media/tap.h"

#define FRAME 160

/* Writes a record of ntracks tracks whose samples derive from its seq. */
static bool put(struct ch_media_tap *t, unsigned ntracks)
{
	int16_t pcm[FRAME];
	struct ch_media_tap_hdr h = {.seq = t->seq,
	                             .rate = 8000,
	                             .frame = FRAME,
	                             .ntracks = (uint16_t)ntracks};
	size_t bytes = ch_media_tap_record_size(FRAME, ntracks);

	h.len = (uint32_t)bytes;
	if (!ch_media_tap_begin(t, bytes))
		return false;
	ch_media_tap_write(t, &h, sizeof(h));
	for (unsigned p = 0; p <= ntracks; p++) {
		if (p) {
			struct ch_media_tap_track tr = {.leg = 1000 + p};
			ch_media_tap_write(t, &tr, sizeof(tr));
		}
		for (unsigned i = 0; i < FRAME; i++)
			pcm[i] = (int16_t)(h.seq * 31 + p * 7 + i);
		ch_media_tap_write(t, pcm, sizeof(pcm));
	}
	ch_media_tap_commit(t);
	return true;
}

/* Checks a record got from the ring: its seq, size and every sample. */
static void check(const uint8_t *buf, long n, uint64_t seq)
{
	struct ch_media_tap_hdr h;

	assert_true(n >= (long)sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.seq, seq);
	assert_int_equal(h.len, n);
	assert_int_equal(n, ch_media_tap_record_size(FRAME, h.ntracks));
	const uint8_t *p = buf + sizeof(h);
	for (unsigned k = 0; k <= h.ntracks; k++) {
		if (k) {
			struct ch_media_tap_track tr;
			memcpy(&tr, p, sizeof(tr));
			assert_int_equal(tr.leg, 1000 + k);
			p += sizeof(tr);
		}
		int16_t pcm[FRAME];
		memcpy(pcm, p, sizeof(pcm));
		for (unsigned i = 0; i < FRAME; i++)
			assert_int_equal(pcm[i],
			                 (int16_t)(seq * 31 + k * 7 + i));
		p += sizeof(pcm);
	}
}

static void test_alloc_rounds(void **state)
{
	(void)state;
	struct ch_media_tap *t = ch_media_tap_alloc(1, true);
	assert_non_null(t);
	assert_int_equal(t->cap, 65536);
	assert_true(t->tracks);
	ch_media_tap_free(t);
	t = ch_media_tap_alloc(100000, false);
	assert_non_null(t);
	assert_int_equal(t->cap, 131072);
	assert_false(t->tracks);
	ch_media_tap_free(t);
	ch_media_tap_free(NULL);
}

/* Sizes that do not divide the ring: records straddle its end at many
 * offsets; several are in the ring at once. */
static void test_wrap_around(void **state)
{
	struct ch_media_tap *t = ch_media_tap_alloc(65536, true);
	uint8_t buf[16384];
	uint64_t want = 0;

	(void)state;
	assert_non_null(t);
	for (unsigned round = 0; round < 2000; round++) {
		unsigned burst = 1 + round % 7;
		for (unsigned b = 0; b < burst; b++)
			assert_true(put(t, (round + b) % 6));
		for (unsigned b = 0; b < burst; b++) {
			long n = ch_media_tap_get(t, buf, sizeof(buf));
			check(buf, n, want++);
		}
		assert_int_equal(ch_media_tap_get(t, buf, sizeof(buf)), 0);
	}
	/* about 8 MB went through a 64 KiB ring */
	assert_true(atomic_load(&t->head) > 100 * t->cap);
	assert_int_equal(atomic_load(&t->ticks), want);
	assert_int_equal(atomic_load(&t->dropped), 0);
	ch_media_tap_free(t);
}

/* A full ring: begin refuses, counts, seq advances; the consumer sees
 * the gap once there is room again. */
static void test_full_ring(void **state)
{
	struct ch_media_tap *t = ch_media_tap_alloc(65536, true);
	uint8_t buf[16384];
	unsigned ok = 0;

	(void)state;
	while (put(t, 3))
		ok++;
	size_t rec = ch_media_tap_record_size(FRAME, 3);
	assert_int_equal(ok, t->cap / rec);
	for (unsigned i = 0; i < 4; i++)
		assert_false(put(t, 3));
	assert_int_equal(atomic_load(&t->dropped), 5);
	assert_int_equal(atomic_load(&t->ticks), ok + 5);
	/* a smaller record may still fit in what is left */
	size_t left = t->cap - (atomic_load(&t->head) - atomic_load(&t->tail));
	assert_true(left < rec);

	for (unsigned i = 0; i < ok; i++)
		check(buf, ch_media_tap_get(t, buf, sizeof(buf)), i);
	assert_int_equal(ch_media_tap_get(t, buf, sizeof(buf)), 0);
	assert_true(put(t, 3));
	check(buf, ch_media_tap_get(t, buf, sizeof(buf)), ok + 5);
	ch_media_tap_free(t);
}

/* The ring filled to the last byte, then freed by one record. */
static void test_exact_fill(void **state)
{
	struct ch_media_tap *t = ch_media_tap_alloc(65536, true);
	uint8_t buf[16384];

	(void)state;
	/* 1024 records of 64 bytes fill 64 KiB exactly */
	struct ch_media_tap_hdr h = {.rate = 8000, .frame = 20, .len = 64};
	assert_int_equal(ch_media_tap_record_size(20, 0), 64);
	for (unsigned i = 0; i < 1024; i++) {
		h.seq = t->seq;
		assert_true(ch_media_tap_begin(t, 64));
		uint8_t body[40];
		memset(body, (int)(i & 0xff), sizeof(body));
		ch_media_tap_write(t, &h, sizeof(h));
		ch_media_tap_write(t, body, sizeof(body));
		ch_media_tap_commit(t);
	}
	assert_false(ch_media_tap_begin(t, 64));
	assert_int_equal(ch_media_tap_get(t, buf, sizeof(buf)), 64);
	assert_true(ch_media_tap_begin(t, 64));
	h.seq = 1025;
	ch_media_tap_write(t, &h, sizeof(h));
	ch_media_tap_write(t, buf + 24, 40);
	ch_media_tap_commit(t);
	for (unsigned i = 1; i < 1024; i++) {
		assert_int_equal(ch_media_tap_get(t, buf, sizeof(buf)), 64);
		memcpy(&h, buf, sizeof(h));
		assert_int_equal(h.seq, i);
		assert_int_equal(buf[24], i & 0xff);
		assert_int_equal(buf[63], i & 0xff);
	}
	assert_int_equal(ch_media_tap_get(t, buf, sizeof(buf)), 64);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.seq, 1025);
	ch_media_tap_free(t);
}

/* Skipped ticks are seq gaps, not records. */
static void test_skip_gaps(void **state)
{
	struct ch_media_tap *t = ch_media_tap_alloc(65536, false);
	uint8_t buf[4096];

	(void)state;
	assert_true(put(t, 0));
	ch_media_tap_skip(t, 1);
	ch_media_tap_skip(t, 1);
	assert_true(put(t, 0));
	check(buf, ch_media_tap_get(t, buf, sizeof(buf)), 0);
	check(buf, ch_media_tap_get(t, buf, sizeof(buf)), 3);
	assert_int_equal(ch_media_tap_get(t, buf, sizeof(buf)), 0);
	assert_int_equal(atomic_load(&t->dropped), 0);
	ch_media_tap_free(t);
}

/* A record the consumer's buffer cannot hold is removed, -1; the next
 * one comes out whole. */
static void test_record_too_big(void **state)
{
	struct ch_media_tap *t = ch_media_tap_alloc(65536, true);
	uint8_t buf[4096];

	(void)state;
	assert_true(put(t, 8));
	assert_true(put(t, 1));
	size_t small = ch_media_tap_record_size(FRAME, 1);
	assert_true(ch_media_tap_record_size(FRAME, 8) > small);
	assert_int_equal(ch_media_tap_get(t, buf, small), -1);
	check(buf, ch_media_tap_get(t, buf, small), 1);
	assert_int_equal(ch_media_tap_get(t, buf, small), 0);
	assert_int_equal(atomic_load(&t->head), atomic_load(&t->tail));
	ch_media_tap_free(t);
}

#define RACE_RECORDS 50000

static void *producer(void *arg)
{
	struct ch_media_tap *t = arg;
	for (unsigned i = 0; i < RACE_RECORDS; i++)
		while (!put(t, i % 5))
			t->seq--; /* the test wants every record: retry */
	return NULL;
}

/* A producer thread against the consumer: every record whole, in order. */
static void test_threads(void **state)
{
	struct ch_media_tap *t = ch_media_tap_alloc(65536, true);
	static uint8_t buf[16384];
	pthread_t th;
	uint64_t want = 0;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, producer, t), 0);
	while (want < RACE_RECORDS) {
		long n = ch_media_tap_get(t, buf, sizeof(buf));
		if (n == 0)
			continue;
		check(buf, n, want++);
	}
	pthread_join(th, NULL);
	assert_int_equal(ch_media_tap_get(t, buf, sizeof(buf)), 0);
	ch_media_tap_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_rounds),
	    cmocka_unit_test(test_wrap_around),
	    cmocka_unit_test(test_full_ring),
	    cmocka_unit_test(test_exact_fill),
	    cmocka_unit_test(test_skip_gaps),
	    cmocka_unit_test(test_record_too_big),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
