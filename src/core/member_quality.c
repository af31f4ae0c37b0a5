/*
 * member_quality.c: each participant's live quality in the core: its
 * talk time (from the talk detector's events), the last figures its media
 * leg gave (so they outlive the leg, which the SIP layer frees before the
 * participant has left), the conference.member.quality events (on the 5 s
 * health tick, only when the figures changed), its tags in the conference
 * summary, and the final quality stored on the conferencecall when it
 * leaves. The figures and the MOS are core/quality.c's.
 *
 * Control thread only.
 */
#include "core/conferencecall.h"
#include "core/core_internal.h"
#include "core/quality.h"
#include "core/summary.h"
#include "events/events.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <re_mem.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* At most one event per participant per 5 s health tick; the margin
 * keeps a tick that fires a little early from skipping a due event. */
#define EVENT_MIN_US (INT64_C(4500) * 1000)

/* One present participant's state. Owned by core->quality (keyed by id),
 * from its join until it has left. */
struct member_q {
	struct le he;
	char id[CH_UUID_LEN];
	int64_t joined_us;
	int64_t talk_since_us; /* talking since, 0: not talking */
	uint64_t talk_ms;      /* finished talk stretches */
	bool talked;
	bool have_last; /* last: the leg's latest figures */
	struct ch_quality last;
	bool have_sent; /* sent: what the last event carried */
	struct ch_quality sent;
	int64_t sent_us;
	unsigned summary_tags; /* tags already in the conference summary */
};

static bool mq_cmp(struct le *le, void *arg)
{
	return !strcmp(((struct member_q *)le->data)->id, arg);
}

static struct member_q *mq_find(struct ch_core *core, const char *id)
{
	if (!core->quality)
		return NULL;
	struct le *le =
	    hash_lookup(core->quality, hash_joaat_str(id), mq_cmp, (void *)id);
	return le ? le->data : NULL;
}

static struct member_q *mq_get(struct ch_core *core,
                               const struct ch_conferencecall *cc)
{
	struct member_q *q = mq_find(core, cc->id);
	if (q || !core->quality)
		return q;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	memcpy(q->id, cc->id, CH_UUID_LEN);
	q->joined_us = ch_time_now_us();
	hash_append(core->quality, hash_joaat_str(q->id), &q->he, q);
	return q;
}

static void tick_end(struct ch_core *core);

int ch_member_quality_init(struct ch_core *core)
{
	return hash_alloc(&core->quality, 1024);
}

static bool free_h(struct le *le, void *arg)
{
	(void)arg;
	struct member_q *q = le->data;
	hash_unlink(&q->he);
	free(q);
	return false;
}

void ch_member_quality_close(struct ch_core *core)
{
	tick_end(core);
	if (!core->quality)
		return;
	hash_apply(core->quality, free_h, NULL);
	core->quality = mem_deref(core->quality);
}

void ch_member_quality_joined(struct ch_core *core,
                              const struct ch_conferencecall *cc)
{
	struct member_q *q = mq_get(core, cc);
	if (q)
		q->joined_us = ch_time_now_us();
}

static uint64_t talk_ms_now(const struct member_q *q, int64_t now)
{
	uint64_t ms = q->talk_ms;
	if (q->talk_since_us && now > q->talk_since_us)
		ms += (uint64_t)(now - q->talk_since_us) / 1000;
	return ms;
}

void ch_member_quality_talking(struct ch_core *core,
                               const struct ch_conferencecall *cc, bool talking)
{
	struct member_q *q = mq_get(core, cc);
	int64_t now = ch_time_now_us();
	if (!q)
		return;
	if (talking && !q->talk_since_us) {
		q->talk_since_us = now;
		q->talked = true;
	} else if (!talking && q->talk_since_us) {
		q->talk_ms = talk_ms_now(q, now);
		q->talk_since_us = 0;
	}
}

/* Brings q->last up to date from the media layer, if the leg is there. */
static void refresh(struct ch_core *core, struct member_q *q,
                    const struct ch_conferencecall *cc)
{
	struct ch_quality_in in;
	json_t *stats = NULL;
	int64_t now = ch_time_now_us();

	if (cc->status <= CH_CONFERENCECALL_JOINED && core->media &&
	    core->media->participant_stats)
		stats = core->media->participant_stats(core->media_arg, cc);
	if (stats && !ch_quality_in_from_stats(stats, &in)) {
		in.talk_ms = talk_ms_now(q, now);
		in.talked = q->talked;
		in.in_call_ms = now > q->joined_us
		                    ? (uint64_t)(now - q->joined_us) / 1000
		                    : 0;
		ch_quality_eval(&in, &q->last);
		q->have_last = true;
	} else if (q->have_last) {
		/* the leg is gone: only the talk time still moves */
		q->last.talk_ms = talk_ms_now(q, now);
	}
	json_decref(stats);
}

void ch_conferencecall_quality_sample(struct ch_core *core, const char *id)
{
	struct ch_conferencecall cc;
	struct member_q *q = mq_find(core, id);
	if (q && !ch_conferencecall_get(core, NULL, id, &cc))
		refresh(core, q, &cc);
}

json_t *ch_member_quality_json(struct ch_core *core,
                               const struct ch_conferencecall *cc)
{
	struct member_q *q = cc->status <= CH_CONFERENCECALL_JOINED
	                         ? mq_find(core, cc->id)
	                         : NULL;
	if (q) {
		refresh(core, q, cc);
		if (q->have_last)
			return ch_quality_to_json(&q->last);
	}
	if (cc->quality[0])
		return json_loads(cc->quality, 0, NULL);
	return NULL;
}

/* Adds the tags of qual that the summary does not have yet (inside the
 * caller's transaction). */
static int summary_tags(struct ch_core *core, struct member_q *q,
                        const struct ch_conferencecall *cc,
                        const struct ch_quality *qual)
{
	for (unsigned i = 0; i < CH_QTAG_COUNT; i++) {
		unsigned bit = 1u << i;
		if (!(qual->tags & bit) || (q->summary_tags & bit))
			continue;
		json_t *info =
		    json_pack("{s:s,s:s,s:f,s:f,s:f}", "conferencecall_id",
		              cc->id, "caller_id", cc->caller_id, "loss_pct_in",
		              qual->loss_pct_in, "jitter_ms", qual->jitter_ms,
		              "mos", qual->mos);
		int err = ch_summary_tag(core, cc->conference_id,
		                         ch_quality_tag_name(bit), info);
		if (err)
			return err;
	}
	return 0;
}

int ch_member_quality_final(struct ch_core *core, struct ch_conferencecall *cc)
{
	struct member_q *q = mq_find(core, cc->id);
	if (!q)
		return 0;
	refresh(core, q, cc);
	if (!q->have_last)
		return 0;
	json_t *o = ch_quality_to_json(&q->last);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text && strlen(text) < sizeof(cc->quality))
		memcpy(cc->quality, text, strlen(text) + 1);
	free(text);
	return summary_tags(core, q, cc, &q->last);
}

void ch_member_quality_forget(struct ch_core *core, const char *id)
{
	struct member_q *q = mq_find(core, id);
	if (!q)
		return;
	hash_unlink(&q->he);
	free(q);
}

/* Whether the figures an event shows moved since the last one (the packet
 * counters always move while media flows: they do not count). */
static bool changed(const struct ch_quality *a, const struct ch_quality *b)
{
	return a->tags != b->tags || strcmp(a->codec, b->codec) ||
	       fabs(a->loss_pct_in - b->loss_pct_in) >= 0.1 ||
	       fabs(a->loss_pct_out - b->loss_pct_out) >= 0.1 ||
	       fabs(a->jitter_ms - b->jitter_ms) >= 1.0 ||
	       fabs(a->rtt_ms - b->rtt_ms) >= 1.0 ||
	       fabs(a->mos - b->mos) >= 0.01 || a->talk_ms != b->talk_ms;
}

/* Adds q's event and its new summary tags (inside the tick's
 * transaction). */
static int emit(struct ch_core *core, struct member_q *q,
                const struct ch_conferencecall *cc)
{
	json_t *f = json_object();
	json_t *qj = ch_quality_to_json(&q->last);
	if (!f || !qj) {
		json_decref(f);
		json_decref(qj);
		return ENOMEM;
	}
	json_object_set_new(f, "session_uuid", json_string(cc->id));
	json_object_set_new(f, "caller_id", json_string(cc->caller_id));
	json_object_set_new(f, "quality", qj);
	int err = ch_events_add(core->ev, cc->customer_id, cc->conference_id,
	                        "conference.member.quality", f);
	return err ? err : summary_tags(core, q, cc, &q->last);
}

/* A tick's participants are taken this many per loop turn, each slice
 * one transaction: a tick over thousands of participants is a series of
 * short stalls of the control thread, not one long one. */
#define TICK_SLICE 200

/* The tick in progress. Owned by core->quality_tick; control thread. */
struct ch_quality_tick {
	struct tmr tmr;           /* the next slice, on the next turn */
	char (*ids)[CH_UUID_LEN]; /* present at the tick's start */
	size_t n, next;
	int64_t now;
};

static bool count_h(struct le *le, void *arg)
{
	(void)le;
	(*(size_t *)arg)++;
	return false;
}

static bool collect_h(struct le *le, void *arg)
{
	struct ch_quality_tick *t = arg;
	memcpy(t->ids[t->n++], ((struct member_q *)le->data)->id, CH_UUID_LEN);
	return false;
}

static void tick_end(struct ch_core *core)
{
	struct ch_quality_tick *t = core->quality_tick;
	if (!t)
		return;
	tmr_cancel(&t->tmr);
	free(t->ids);
	free(t);
	core->quality_tick = NULL;
}

/* One slice: its due events in one transaction. */
static void slice_h(void *arg)
{
	struct ch_core *core = arg;
	struct ch_quality_tick *t = core->quality_tick;
	struct member_q *due[TICK_SLICE];
	size_t ndue = 0,
	       end = t->next + TICK_SLICE < t->n ? t->next + TICK_SLICE : t->n;
	int err = ch_core_txn_begin(core);

	for (size_t i = t->next; !err && i < end; i++) {
		struct ch_conferencecall cc;
		struct member_q *q = mq_find(core, t->ids[i]);
		if (!q || ch_conferencecall_get(core, NULL, t->ids[i], &cc))
			continue;
		if (cc.status != CH_CONFERENCECALL_JOINED)
			continue;
		refresh(core, q, &cc);
		if (!q->have_last ||
		    (q->have_sent && (t->now - q->sent_us < EVENT_MIN_US ||
		                      !changed(&q->last, &q->sent))))
			continue;
		err = emit(core, q, &cc);
		if (!err)
			due[ndue++] = q;
	}
	if (err)
		ch_core_txn_abort(core);
	else
		err = ch_core_txn_commit(core);
	if (err) {
		ch_log_warn("core",
		            "quality events failed (%s): again at the "
		            "next tick",
		            strerror(err));
		tick_end(core);
		return;
	}
	for (size_t i = 0; i < ndue; i++) {
		due[i]->summary_tags |= due[i]->last.tags;
		due[i]->sent = due[i]->last;
		due[i]->have_sent = true;
		due[i]->sent_us = t->now;
	}
	t->next = end;
	if (t->next < t->n)
		tmr_start(&t->tmr, 0, slice_h, core);
	else
		tick_end(core);
}

/* The due events of a tick go TICK_SLICE participants to a transaction:
 * with a thousand participants that is five commits, not a thousand, and
 * no single stall of the loop over all of them. A tick still running
 * when the next comes (a loop far behind) is left to finish. */
void ch_member_quality_tick(struct ch_core *core)
{
	size_t count = 0;

	if (core->quality_tick || !core->quality)
		return;
	hash_apply(core->quality, count_h, &count);
	if (!count)
		return;
	/* ids first: a store failure may remove participants meanwhile */
	struct ch_quality_tick *t = calloc(1, sizeof(*t));
	if (!t || !(t->ids = calloc(count, sizeof(*t->ids)))) {
		free(t);
		return;
	}
	tmr_init(&t->tmr);
	t->now = ch_time_now_us();
	hash_apply(core->quality, collect_h, t);
	core->quality_tick = t;
	slice_h(core);
}
