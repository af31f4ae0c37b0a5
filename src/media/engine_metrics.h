/*
 * engine_metrics.h: the media engine's figures for /metrics: packet
 * counters summed over every leg the engine has had (those freed
 * included), and each worker's tick time and jitter histograms, ring and
 * tap drop counters.
 *
 * Threads: control thread only (like engine.h). Reading takes no lock:
 * every figure is a relaxed atomic its worker writes, or a control-thread
 * total.
 */
#ifndef CH_MEDIA_ENGINE_METRICS_H
#define CH_MEDIA_ENGINE_METRICS_H

#include <stdint.h>

#include "util/histogram.h"

struct ch_media_engine;

/* Engine-wide figures. Counters only grow. */
struct ch_media_engine_metrics {
	unsigned rooms, legs; /* live now */
	uint64_t packets_in, packets_out;
	uint64_t lost;          /* by sequence gaps */
	uint64_t rejected;      /* dropped by the source filter */
	uint64_t concealed;     /* frames the jitter buffer had to conceal */
	uint64_t late;          /* packets that came after their playout */
	uint64_t cmd_ring_full; /* commands queued behind a full ring */
};

/* One worker's figures. Histogram units: tick_ns in ns, jitter_us in
 * us. */
struct ch_media_worker_metrics {
	uint64_t ticks, overruns, skipped;
	uint64_t ev_ring_full; /* events that found the ring full */
	uint64_t tap_drops[2]; /* [0] recorder, [1] transcriber tap */
	struct ch_histogram_snap tick_ns;
	struct ch_histogram_snap jitter_us;
};

/* Fills *out; zeroes when eng is NULL. */
void ch_media_engine_metrics(struct ch_media_engine *eng,
                             struct ch_media_engine_metrics *out);
/* Workers running (0 when eng is NULL). */
unsigned ch_media_engine_metrics_workers(const struct ch_media_engine *eng);
/* Fills *out for worker idx; ENOENT past the last. */
int ch_media_engine_metrics_worker(struct ch_media_engine *eng, unsigned idx,
                                   struct ch_media_worker_metrics *out);

#endif
