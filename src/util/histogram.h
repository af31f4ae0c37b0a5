/*
 * histogram.h: a fixed-bucket histogram for the metrics (/metrics), cheap
 * enough for the media hot path: observing is a few relaxed atomic loads
 * and stores, no lock, no allocation.
 *
 * Threads: one writer (the thread that owns the histogram: a media worker,
 * the control thread), any number of readers. Readers see each counter
 * whole but a snapshot may mix two observations (a bucket counted, the sum
 * not yet): good enough for monitoring.
 *
 * Values are unsigned integers in a unit the owner chooses (ns, us); the
 * bounds are upper bounds in that unit, ascending, at most
 * CH_HISTOGRAM_MAX_BOUNDS of them; values above the last go to +Inf.
 */
#ifndef CH_HISTOGRAM_H
#define CH_HISTOGRAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CH_HISTOGRAM_MAX_BOUNDS 16

/* Owned by whoever embeds it; written by one thread (see above). */
struct ch_histogram {
	const uint64_t *bounds; /* set once; static storage */
	size_t nbounds;
	_Atomic uint64_t counts[CH_HISTOGRAM_MAX_BOUNDS + 1]; /* per bucket,
	                                                       last: +Inf */
	_Atomic uint64_t sum;                                 /* of values */
};

/* A plain copy, for the exposition. counts are per bucket, not
 * cumulative. */
struct ch_histogram_snap {
	const uint64_t *bounds;
	size_t nbounds;
	uint64_t counts[CH_HISTOGRAM_MAX_BOUNDS + 1];
	uint64_t sum;
};

/* Sets bounds (nbounds clamped to CH_HISTOGRAM_MAX_BOUNDS), zeroes the
 * counters. */
void ch_histogram_init(struct ch_histogram *h, const uint64_t *bounds,
                       size_t nbounds);

/* Writer only. Counts one value. */
static inline void ch_histogram_observe(struct ch_histogram *h, uint64_t v)
{
	size_t i = 0;
	while (i < h->nbounds && v > h->bounds[i])
		i++;
	atomic_store_explicit(
	    &h->counts[i],
	    atomic_load_explicit(&h->counts[i], memory_order_relaxed) + 1,
	    memory_order_relaxed);
	atomic_store_explicit(
	    &h->sum, atomic_load_explicit(&h->sum, memory_order_relaxed) + v,
	    memory_order_relaxed);
}

/* Any thread. Copies h into out (zeroed first when add is 0, else added
 * to it: summing several histograms with the same bounds). */
void ch_histogram_read(const struct ch_histogram *h,
                       struct ch_histogram_snap *out, int add);

#endif
