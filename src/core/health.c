/*
 * health.c: the participant health check (seed 001): every 5 s each
 * present participant is checked; one whose call is no longer up (the
 * media layer says so, e.g. no RTP for 10 s), whose conference is no
 * longer progressing, or that is older than 24 h fails the check; after
 * 2 retries (3 failures in a row) it is removed with leave_reason orphan.
 */
#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core_internal.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <stdlib.h>
#include <string.h>

#define HEALTH_INTERVAL_MS 5000
#define HEALTH_RETRIES     2
#define MAX_AGE_US         (INT64_C(24) * 3600 * 1000000)

/* Failure count of one participant. Owned by core->health_fails. */
struct health_fail {
	struct le le;
	char id[CH_UUID_LEN];
	unsigned fails;
	bool seen; /* checked in this round */
};

/* Only participants whose last check failed have an entry, so the walk
 * stays short however many are present. */
static struct health_fail *fail_find(struct ch_core *core, const char *id)
{
	for (struct le *le = core->health_fails.head; le; le = le->next) {
		struct health_fail *f = le->data;
		if (!strcmp(f->id, id))
			return f;
	}
	return NULL;
}

static struct health_fail *fail_get(struct ch_core *core, const char *id)
{
	struct health_fail *f = fail_find(core, id);
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	snprintf(f->id, sizeof(f->id), "%s", id);
	list_append(&core->health_fails, &f->le, f);
	return f;
}

struct round_ctx {
	struct ch_core *core;
	char conf[CH_UUID_LEN]; /* the conference of the last participant */
	bool skip;              /* not live here, or terminating */
	bool progressing;
	int64_t now;
	char (*orphans)[CH_UUID_LEN];
	size_t n, cap;
};

static int check_h(const struct ch_conferencecall *cc, void *arg)
{
	struct round_ctx *r = arg;
	struct ch_core *core = r->core;
	/* participants come by conference: its row is read once */
	if (strcmp(r->conf, cc->conference_id)) {
		struct ch_conference c;
		memcpy(r->conf, cc->conference_id, CH_UUID_LEN);
		/* another node's (a shared store), or not live */
		r->skip = !ch_core_live_find(core, cc->conference_id) ||
		          ch_conference_get(core, NULL, cc->conference_id, &c);
		if (!r->skip) {
			r->progressing = c.status == CH_CONFERENCE_PROGRESSING;
			/* a terminating one is already removing everyone */
			r->skip = c.status == CH_CONFERENCE_TERMINATING;
			ch_conference_clear(&c);
		}
	}
	if (r->skip)
		return 0;
	bool ok = r->progressing && r->now - cc->tm_create < MAX_AGE_US;
	if (ok && core->media && core->media->participant_alive)
		ok = core->media->participant_alive(core->media_arg, cc);
	if (cc->status > CH_CONFERENCECALL_JOINED)
		return 0;
	if (ok) {
		struct health_fail *f = fail_find(core, cc->id);
		if (f) {
			list_unlink(&f->le);
			free(f);
		}
		return 0;
	}
	struct health_fail *f = fail_get(core, cc->id);
	if (!f)
		return 0;
	f->seen = true;
	if (++f->fails <= HEALTH_RETRIES)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		void *n = realloc(r->orphans, cap * sizeof(*r->orphans));
		if (!n)
			return 0;
		r->orphans = n;
		r->cap = cap;
	}
	memcpy(r->orphans[r->n++], cc->id, CH_UUID_LEN);
	return 0;
}

static void health_h(void *arg)
{
	struct ch_core *core = arg;
	struct round_ctx r = {.core = core, .now = ch_time_now_us()};

	for (struct le *le = core->health_fails.head; le; le = le->next)
		((struct health_fail *)le->data)->seen = false;
	/* one read of every present participant: conferences without any
	 * cost nothing (thousands may be live and empty) */
	(void)core->st->ops->conferencecall_list_present_all(core->st, check_h,
	                                                     &r);
	/* forget participants that are gone */
	for (struct le *le = core->health_fails.head; le;) {
		struct health_fail *f = le->data;
		le = le->next;
		if (!f->seen) {
			list_unlink(&f->le);
			free(f);
		}
	}
	for (size_t i = 0; i < r.n; i++) {
		ch_log_warn("core",
		            "participant %s failed %d health checks: "
		            "removing as orphan",
		            r.orphans[i], HEALTH_RETRIES + 1);
		(void)ch_conferencecall_remove_reason(core, r.orphans[i],
		                                      CH_LEAVE_ORPHAN);
	}
	free(r.orphans);
	ch_member_quality_tick(core);
	tmr_start(&core->health_tmr, HEALTH_INTERVAL_MS, health_h, core);
}

void ch_core_health_start(struct ch_core *core)
{
	tmr_start(&core->health_tmr, HEALTH_INTERVAL_MS, health_h, core);
}

void ch_core_health_stop(struct ch_core *core)
{
	tmr_cancel(&core->health_tmr);
	while (core->health_fails.head) {
		struct health_fail *f = core->health_fails.head->data;
		list_unlink(&f->le);
		free(f);
	}
}
