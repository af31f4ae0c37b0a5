/*
 * histogram.c: fixed-bucket histograms for the metrics (see histogram.h).
 */
#include "util/histogram.h"

#include <string.h>

void ch_histogram_init(struct ch_histogram *h, const uint64_t *bounds,
                       size_t nbounds)
{
	h->bounds = bounds;
	h->nbounds = nbounds > CH_HISTOGRAM_MAX_BOUNDS ? CH_HISTOGRAM_MAX_BOUNDS
	                                               : nbounds;
	for (size_t i = 0; i <= CH_HISTOGRAM_MAX_BOUNDS; i++)
		atomic_init(&h->counts[i], 0);
	atomic_init(&h->sum, 0);
}

void ch_histogram_read(const struct ch_histogram *h,
                       struct ch_histogram_snap *out, int add)
{
	if (!add)
		memset(out, 0, sizeof(*out));
	out->bounds = h->bounds;
	out->nbounds = h->nbounds;
	for (size_t i = 0; i <= h->nbounds; i++)
		out->counts[i] +=
		    atomic_load_explicit(&h->counts[i], memory_order_relaxed);
	out->sum += atomic_load_explicit(&h->sum, memory_order_relaxed);
}
