/*
 * bench_mixer.c: cost of one media tick of mixing + G.711 encoding.
 *
 * Simulates R rooms of P legs at 8 kHz (160-sample, 20 ms frames) for many
 * ticks. Each tick, per room: ch_mixer_mix() over the talkers, one mu-law
 * encode of the full mix shared by every listener, and for each talker its
 * own sum-minus-own frame and its encode. Decoding, RTP and I/O are not
 * included. Prints ns per tick, ns per leg per tick, and how many legs fit
 * in one core's 20 ms budget. It is a benchmark: it prints, never judges.
 *
 * Usage: bench_mixer [rooms legs [talkers [ticks]]]
 *   talkers: legs contributing each tick (default: all, then 3)
 *   without arguments: 10 rooms x 5 legs and 1 room x 100 legs.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "media/g711.h"
#include "media/mixer.h"

#define FRAME 160
#define BANK  16 /* distinct input frames per leg, cycled */

struct room {
	struct ch_mixer mixer;
	size_t legs;
	int16_t (*pcm)[BANK][FRAME]; /* per leg */
	const int16_t **in;
	uint8_t (*enc)[FRAME]; /* per leg output payload */
	uint8_t shared[FRAME]; /* full mix, encoded once */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fill_leg(int16_t (*bank)[FRAME], size_t leg)
{
	uint32_t x = 2654435761u * (uint32_t)(leg + 1);
	double f = 150.0 + 37.0 * (double)leg;
	for (size_t k = 0; k < BANK; k++)
		for (size_t i = 0; i < FRAME; i++) {
			x = x * 1664525u + 1013904223u;
			double t = (double)(k * FRAME + i) / 8000.0;
			double v = 6000.0 * sin(2 * M_PI * f * t) +
			           (double)((int32_t)(x >> 16) - 32768) / 16.0;
			bank[k][i] = (int16_t)lrint(v);
		}
}

static int room_init(struct room *r, size_t legs)
{
	r->legs = legs;
	r->pcm = calloc(legs, sizeof(*r->pcm));
	r->in = calloc(legs, sizeof(*r->in));
	r->enc = calloc(legs, sizeof(*r->enc));
	if (!r->pcm || !r->in || !r->enc)
		return -1;
	for (size_t i = 0; i < legs; i++)
		fill_leg(r->pcm[i], i);
	return ch_mixer_init(&r->mixer, FRAME);
}

static void room_free(struct room *r)
{
	free(r->pcm);
	free(r->in);
	free(r->enc);
}

/* One tick of one room; returns a byte of output so nothing is elided. */
static uint8_t room_tick(struct room *r, size_t talkers, size_t tick)
{
	struct ch_mixer *m = &r->mixer;
	int16_t buf[FRAME];

	for (size_t i = 0; i < r->legs; i++)
		r->in[i] = i < talkers ? r->pcm[i][tick % BANK] : NULL;
	ch_mixer_mix(m, r->in, r->legs, NULL);
	if (talkers < r->legs)
		ch_g711_ulaw_encode(ch_mixer_full(m), r->shared, FRAME);
	for (size_t i = 0; i < r->legs; i++) {
		if (!ch_mixer_leg_needs_own(m, i))
			continue; /* sends r->shared */
		ch_mixer_leg_out(m, i, buf);
		ch_g711_ulaw_encode(buf, r->enc[i], FRAME);
	}
	return (uint8_t)(r->shared[tick % FRAME] ^ r->enc[0][tick % FRAME]);
}

static int bench(size_t rooms, size_t legs, size_t talkers, size_t ticks)
{
	struct room *r = calloc(rooms, sizeof(*r));
	unsigned sink = 0;
	int rc = 0;

	if (!r)
		return -1;
	if (talkers > legs)
		talkers = legs;
	for (size_t i = 0; i < rooms; i++)
		if (room_init(&r[i], legs)) {
			fprintf(stderr, "bench_mixer: bad room size\n");
			rc = -1;
			goto out;
		}
	for (size_t t = 0; t < ticks / 10 + 1; t++) /* warm up */
		for (size_t i = 0; i < rooms; i++)
			sink += room_tick(&r[i], talkers, t);
	uint64_t t0 = now_ns();
	for (size_t t = 0; t < ticks; t++)
		for (size_t i = 0; i < rooms; i++)
			sink += room_tick(&r[i], talkers, t);
	uint64_t dt = now_ns() - t0;

	double per_tick = (double)dt / (double)ticks;
	double per_leg = per_tick / (double)(rooms * legs);
	printf("%4zu rooms x %3zu legs, %3zu talking: %9.0f ns/tick "
	       "%7.1f ns/leg/tick  %8.0f legs/core in 20 ms  "
	       "(%.2f%% of a core now) [%u]\n",
	       rooms, legs, talkers, per_tick, per_leg, 20e6 / per_leg,
	       100.0 * per_tick / 20e6, sink & 0xff);
out:
	for (size_t i = 0; i < rooms; i++)
		room_free(&r[i]);
	free(r);
	return rc;
}

int main(int argc, char **argv)
{
	ch_g711_init();
	if (argc >= 3) {
		size_t rooms = strtoul(argv[1], NULL, 10);
		size_t legs = strtoul(argv[2], NULL, 10);
		size_t talkers = argc >= 4 ? strtoul(argv[3], NULL, 10) : legs;
		size_t ticks = argc >= 5 ? strtoul(argv[4], NULL, 10) : 20000;
		if (!rooms || !legs || legs > CH_MIXER_MAX_LEGS || !ticks) {
			fprintf(stderr,
			        "usage: bench_mixer [rooms legs "
			        "[talkers [ticks]]] (legs <= %d)\n",
			        CH_MIXER_MAX_LEGS);
			return 2;
		}
		return bench(rooms, legs, talkers, ticks) ? 1 : 0;
	}
	printf("mixer + G.711 mu-law encode, 8 kHz, 20 ms ticks\n");
	int rc = 0;
	rc |= bench(10, 5, 5, 50000);
	rc |= bench(10, 5, 3, 50000);
	rc |= bench(1, 100, 100, 20000);
	rc |= bench(1, 100, 3, 20000);
	return rc ? 1 : 0;
}
