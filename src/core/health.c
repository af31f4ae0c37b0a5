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
	bool progressing;
	int64_t now;
	char (*orphans)[CH_UUID_LEN];
	size_t n, cap;
};

static int check_h(const struct ch_conferencecall *cc, void *arg)
{
	struct round_ctx *r = arg;
	struct ch_core *core = r->core;
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

static bool conf_h(struct le *le, void *arg)
{
	struct ch_live_conf *lc = le->data;
	struct round_ctx *r = arg;
	struct ch_conference c;
	if (ch_conference_get(r->core, NULL, lc->id, &c))
		return false;
	r->progressing = c.status == CH_CONFERENCE_PROGRESSING;
	/* a terminating conference is already removing everyone */
	if (c.status != CH_CONFERENCE_TERMINATING)
		(void)r->core->st->ops->conferencecall_list_present(
		    r->core->st, c.id, check_h, r);
	ch_conference_clear(&c);
	return false;
}

static void health_h(void *arg)
{
	struct ch_core *core = arg;
	struct round_ctx r = {.core = core, .now = ch_time_now_us()};

	for (struct le *le = core->health_fails.head; le; le = le->next)
		((struct health_fail *)le->data)->seen = false;
	hash_apply(core->live, conf_h, &r);
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
