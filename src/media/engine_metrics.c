/*
 * engine_metrics.c: the media engine's figures for /metrics (see
 * engine_metrics.h). Control thread; reads the workers' relaxed atomics
 * and the engine's tables, never locks or waits on a worker.
 */
#include "media/engine_metrics.h"
#include "media/engine.h"
#include "media/engine_internal.h"

#include <errno.h>
#include <string.h>

static uint64_t ld(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void leg_add(struct ch_media_leg_totals *t, const struct ch_media_leg *l)
{
	t->packets_in += ld(&l->ctr.packets_in);
	t->packets_out += ld(&l->ctr.packets_out);
	t->lost += ld(&l->ctr.lost);
	t->rejected += ld(&l->ctr.rejected);
	t->concealed += ld(&l->ctr.concealed);
	t->late += ld(&l->ctr.late);
}

void ch_media_engine_metrics_leg_gone(struct ch_media_engine *eng,
                                      const struct ch_media_leg *l)
{
	leg_add(&eng->gone, l);
}

void ch_media_engine_metrics(struct ch_media_engine *eng,
                             struct ch_media_engine_metrics *out)
{
	memset(out, 0, sizeof(*out));
	if (!eng)
		return;
	struct ch_media_leg_totals t = eng->gone;
	for (unsigned i = 0; i < eng->npairs; i++) {
		const struct leg_rec *lr = &eng->legs[i];
		if (!lr->leg)
			continue;
		leg_add(&t, lr->leg);
		if (!lr->freeing)
			out->legs++;
	}
	for (unsigned i = 0; i < eng->nroom_slots; i++)
		if (eng->rooms[i].room && !eng->rooms[i].freeing)
			out->rooms++;
	out->packets_in = t.packets_in;
	out->packets_out = t.packets_out;
	out->lost = t.lost;
	out->rejected = t.rejected;
	out->concealed = t.concealed;
	out->late = t.late;
	out->cmd_ring_full = eng->cmd_ring_full;
}

unsigned ch_media_engine_metrics_workers(const struct ch_media_engine *eng)
{
	return eng ? eng->nworkers : 0;
}

int ch_media_engine_metrics_worker(struct ch_media_engine *eng, unsigned idx,
                                   struct ch_media_worker_metrics *out)
{
	memset(out, 0, sizeof(*out));
	if (!eng || idx >= eng->nworkers)
		return ENOENT;
	const struct ch_media_worker *w = eng->wk[idx].w;
	out->ticks = ld(&w->ticks);
	out->overruns = ld(&w->overruns);
	out->skipped = ld(&w->skipped);
	out->ev_ring_full = ld(&w->ev_ring_full);
	out->tap_drops[0] = ld(&w->tap_drops[0]);
	out->tap_drops[1] = ld(&w->tap_drops[1]);
	ch_histogram_read(&w->tick_ns, &out->tick_ns, 0);
	ch_histogram_read(&w->jitter_us, &out->jitter_us, 0);
	return 0;
}
