/*
 * deadline.c: conference timeouts on one timer. Live conferences with a
 * timeout sit in a binary min-heap ordered by deadline; one libre timer
 * is armed for the earliest. libre 1.1.0 keeps all timers in one sorted
 * list, so a timer per conference would make every tmr_start of the loop
 * (HTTP idle timers, SIP retransmissions) walk past thousands of entries.
 */
#include "core/conference.h"
#include "core/core_internal.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <stdint.h>
#include <stdlib.h>

static bool earlier(struct ch_core *core, size_t a, size_t b)
{
	return core->deadlines[a]->deadline_us <
	       core->deadlines[b]->deadline_us;
}

static void swap(struct ch_core *core, size_t a, size_t b)
{
	struct ch_live_conf *t = core->deadlines[a];
	core->deadlines[a] = core->deadlines[b];
	core->deadlines[b] = t;
	core->deadlines[a]->heap_idx = a;
	core->deadlines[b]->heap_idx = b;
}

static void sift_up(struct ch_core *core, size_t i)
{
	while (i > 0 && earlier(core, i, (i - 1) / 2)) {
		swap(core, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct ch_core *core, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < core->n_deadlines && earlier(core, l, m))
			m = l;
		if (r < core->n_deadlines && earlier(core, r, m))
			m = r;
		if (m == i)
			return;
		swap(core, i, m);
		i = m;
	}
}

static void heap_remove(struct ch_core *core, struct ch_live_conf *lc)
{
	size_t i = lc->heap_idx;
	if (i == SIZE_MAX)
		return;
	lc->heap_idx = SIZE_MAX;
	core->n_deadlines--;
	if (i == core->n_deadlines)
		return;
	core->deadlines[i] = core->deadlines[core->n_deadlines];
	core->deadlines[i]->heap_idx = i;
	sift_up(core, i);
	sift_down(core, core->deadlines[i]->heap_idx);
}

static void fire_h(void *arg);

static void rearm(struct ch_core *core)
{
	if (!core->n_deadlines) {
		tmr_cancel(&core->deadline_tmr);
		return;
	}
	/* rounded up: a conference never ends before its timeout (a libre
	 * timer that fires early is rearmed for what is left) */
	int64_t left_ms =
	    (core->deadlines[0]->deadline_us - ch_time_now_us() + 999) / 1000;
	tmr_start(&core->deadline_tmr, left_ms > 0 ? (uint64_t)left_ms : 0,
	          fire_h, core);
}

static void fire_h(void *arg)
{
	struct ch_core *core = arg;
	/* due ones first collected by id: terminating changes the heap */
	for (;;) {
		if (!core->n_deadlines ||
		    core->deadlines[0]->deadline_us > ch_time_now_us())
			break;
		struct ch_live_conf *lc = core->deadlines[0];
		char id[CH_UUID_LEN];
		heap_remove(core, lc);
		lc->deadline_us = 0;
		snprintf(id, sizeof(id), "%s", lc->id);
		ch_log_info("core", "conference %s: timeout", id);
		(void)ch_conference_terminate(core, id, CH_END_TIMEOUT, NULL);
	}
	rearm(core);
}

void ch_core_deadline_set(struct ch_core *core, struct ch_live_conf *lc,
                          int64_t deadline_us)
{
	heap_remove(core, lc);
	lc->deadline_us = deadline_us;
	if (deadline_us > 0) {
		if (core->n_deadlines == core->cap_deadlines) {
			size_t cap =
			    core->cap_deadlines ? core->cap_deadlines * 2 : 64;
			void *n = realloc(core->deadlines,
			                  cap * sizeof(*core->deadlines));
			if (!n) {
				ch_log_error("core",
				             "conference %s: no memory "
				             "for its timeout",
				             lc->id);
				return;
			}
			core->deadlines = n;
			core->cap_deadlines = cap;
		}
		lc->heap_idx = core->n_deadlines;
		core->deadlines[core->n_deadlines++] = lc;
		sift_up(core, lc->heap_idx);
	}
	rearm(core);
}

void ch_core_deadline_free(struct ch_core *core)
{
	tmr_cancel(&core->deadline_tmr);
	free(core->deadlines);
	core->deadlines = NULL;
	core->n_deadlines = core->cap_deadlines = 0;
}
