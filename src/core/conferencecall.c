/*
 * conferencecall.c: the participant state machine and the rules that run
 * when a participant leaves.
 */
#include "core/conferencecall.h"
#include "core/conference.h"
#include "core/conference_record.h"
#include "core/conference_transcribe.h"
#include "core/core_internal.h"
#include "core/json_map.h"
#include "core/summary.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A "left" report scheduled for the next loop turn when no media layer
 * is attached. Owned by core->deferred. */
struct deferred_left {
	struct le le;
	struct ch_core *core;
	struct tmr tmr;
	char id[CH_UUID_LEN];
};

static int conf_event(struct ch_core *core, const char *conference_id)
{
	struct ch_conference c;
	int err = ch_conference_get(core, NULL, conference_id, &c);
	if (err)
		return err;
	json_t *f = json_object();
	json_t *cj = ch_conference_to_json(core, &c);
	if (!f || !cj) {
		json_decref(f);
		json_decref(cj);
		ch_conference_clear(&c);
		return ENOMEM;
	}
	json_object_set_new(f, "status",
	                    json_string(ch_conference_status_str(c.status)));
	json_object_set_new(f, "conference", cj);
	err = ch_events_add(core->ev, c.customer_id, c.id, "conference.updated",
	                    f);
	ch_conference_clear(&c);
	return err;
}

static int member_event(struct ch_core *core,
                        const struct ch_conferencecall *cc, const char *type)
{
	json_t *f = json_object();
	if (!f)
		return ENOMEM;
	json_object_set_new(f, "session_uuid", json_string(cc->id));
	json_object_set_new(f, "caller_id", json_string(cc->caller_id));
	if (!strcmp(type, "conference.member.left") ||
	    !strcmp(type, "conference.member.leaving"))
		json_object_set_new(f, "reason", json_string(cc->leave_reason));
	json_object_set_new(f, "conferencecall",
	                    ch_json_map_conferencecall(cc, NULL));
	return ch_events_add(core->ev, cc->customer_id, cc->conference_id, type,
	                     f);
}

/* Saves cc; adds a member event (type may be NULL) and, if conf_changed,
 * a conference.updated; one transaction. */
static int save(struct ch_core *core, struct ch_conferencecall *cc,
                const char *type, bool conf_changed)
{
	int err = ch_core_txn_begin(core);
	if (err)
		return err;
	cc->tm_update = ch_time_now_us();
	/* it has left: its last quality stays on it, its tags in the
	 * summary */
	if (cc->status == CH_CONFERENCECALL_LEAVED)
		err = ch_member_quality_final(core, cc);
	if (!err)
		err = core->st->ops->conferencecall_update(core->st, cc);
	if (!err)
		err = ch_summary_member(core, cc);
	if (!err && type)
		err = member_event(core, cc, type);
	if (!err && conf_changed)
		err = conf_event(core, cc->conference_id);
	if (err) {
		ch_core_txn_abort(core);
		return err;
	}
	return ch_core_txn_commit(core);
}

static int count_h(const struct ch_conferencecall *cc, void *arg)
{
	(void)cc;
	(*(int *)arg)++;
	return 0;
}

int ch_conferencecall_create(struct ch_core *core, const char *conference_id,
                             const char *reference_type,
                             const char *reference_id, const char *caller_id,
                             bool end_conference_on_exit,
                             struct ch_conferencecall *out)
{
	struct ch_conference c;
	struct ch_conferencecall cc;
	int present = 0, err;

	err = ch_conference_get(core, NULL, conference_id, &c);
	if (err)
		return err;
	/* a connect conference is two-party: the third caller is busy */
	int cap = c.type == CH_CONFERENCE_TYPE_CONNECT ? 2 : c.max_participants;
	if (c.type == CH_CONFERENCE_TYPE_CONNECT && c.max_participants > 0 &&
	    c.max_participants < cap)
		cap = c.max_participants;
	if (c.status != CH_CONFERENCE_PROGRESSING)
		err = EBUSY;
	else if (cap > 0 &&
	         !core->st->ops->conferencecall_list_present(
	             core->st, c.id, count_h, &present) &&
	         present >= cap)
		err = EXFULL;
	if (err) {
		ch_conference_clear(&c);
		return err;
	}
	memset(&cc, 0, sizeof(cc));
	ch_uuid_new(cc.id);
	memcpy(cc.customer_id, c.customer_id, CH_UUID_LEN);
	memcpy(cc.conference_id, c.id, CH_UUID_LEN);
	ch_conference_clear(&c);
	snprintf(cc.reference_type, sizeof(cc.reference_type), "%s",
	         reference_type);
	snprintf(cc.reference_id, sizeof(cc.reference_id), "%s", reference_id);
	snprintf(cc.caller_id, sizeof(cc.caller_id), "%s",
	         caller_id ? caller_id : "");
	cc.status = CH_CONFERENCECALL_JOINING;
	cc.end_conference_on_exit = end_conference_on_exit;
	cc.tm_create = cc.tm_update = ch_time_now_us();
	cc.tm_delete = CH_TIME_NEVER_US;

	err = ch_core_txn_begin(core);
	if (err)
		return err;
	err = core->st->ops->conferencecall_insert(core->st, &cc);
	if (!err)
		err = conf_event(core, cc.conference_id);
	if (err) {
		ch_core_txn_abort(core);
		return err;
	}
	err = ch_core_txn_commit(core);
	if (!err) {
		ch_log_info("core", "participant %s joining conference %s",
		            cc.id, cc.conference_id);
		*out = cc;
	}
	return err;
}

int ch_conferencecall_get(struct ch_core *core, const char *customer_id,
                          const char *id, struct ch_conferencecall *out)
{
	return core->st->ops->conferencecall_get(core->st, id, customer_id,
	                                         out);
}

int ch_conferencecall_joined(struct ch_core *core, const char *id)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_get(core, NULL, id, &cc);
	if (err)
		return err;
	if (cc.status != CH_CONFERENCECALL_JOINING)
		return EBUSY;
	if (ch_runner_pre(core, &cc))
		return 0; /* joins when they are done */
	return ch_conferencecall_join_now(core, id);
}

int ch_conferencecall_join_now(struct ch_core *core, const char *id)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_get(core, NULL, id, &cc);
	if (err)
		return err;
	if (cc.status != CH_CONFERENCECALL_JOINING)
		return EBUSY;
	cc.status = CH_CONFERENCECALL_JOINED;
	err = save(core, &cc, "conference.member.joined", true);
	if (err)
		return err;
	ch_member_quality_joined(core, &cc);
	if (core->media && core->media->participant_isolate)
		core->media->participant_isolate(core->media_arg, &cc, false);
	ch_conference_media_track(core, &cc);
	return 0;
}

static void deferred_h(void *arg)
{
	struct deferred_left *d = arg;
	list_unlink(&d->le);
	(void)ch_conferencecall_left(d->core, d->id, CH_LEAVE_REMOVED);
	free(d);
}

void ch_conferencecall_flush_deferred(struct ch_core *core)
{
	while (core->deferred.head) {
		struct deferred_left *d = core->deferred.head->data;
		tmr_cancel(&d->tmr);
		list_unlink(&d->le);
		free(d);
	}
}

int ch_conferencecall_remove(struct ch_core *core, const char *id)
{
	return ch_conferencecall_remove_reason(core, id, CH_LEAVE_REMOVED);
}

/* joining|joined -> leaving (stored and announced), then the media layer
 * hangs up. If out is given it receives the participant as it was saved
 * at leaving (what a kick answers), before any hang-up moved it on. */
static int remove_as(struct ch_core *core, const char *id, const char *reason,
                     struct ch_conferencecall *out)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_get(core, NULL, id, &cc);
	if (err)
		return err;
	if (cc.status > CH_CONFERENCECALL_JOINED)
		return out ? EBUSY : 0;
	cc.status = CH_CONFERENCECALL_LEAVING;
	snprintf(cc.leave_reason, sizeof(cc.leave_reason), "%s", reason);
	err = save(core, &cc, "conference.member.leaving", false);
	if (err)
		return err;
	if (out)
		*out = cc;
	ch_log_info("core", "participant %s removed (%s)", cc.id, reason);
	ch_runner_left(core, cc.id); /* pre actions, if any, end here */
	if (!strcmp(reason, CH_LEAVE_REMOVED) && ch_runner_post(core, &cc))
		return 0; /* hung up when they are done */
	if (core->media && core->media->participant_hangup) {
		core->media->participant_hangup(core->media_arg, &cc);
		return 0;
	}
	struct deferred_left *d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->core = core;
	memcpy(d->id, cc.id, CH_UUID_LEN);
	tmr_init(&d->tmr);
	list_append(&core->deferred, &d->le, d);
	tmr_start(&d->tmr, 0, deferred_h, d);
	return 0;
}

int ch_conferencecall_remove_reason(struct ch_core *core, const char *id,
                                    const char *reason)
{
	return remove_as(core, id, reason, NULL);
}

int ch_conferencecall_kick(struct ch_core *core, const char *customer_id,
                           const char *id, struct ch_conferencecall *out)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_get(core, customer_id, id, &cc);
	if (err)
		return err;
	if (cc.status > CH_CONFERENCECALL_JOINED)
		return EBUSY;
	return remove_as(core, id, CH_LEAVE_REMOVED, out);
}

/* The rules after a participant left. */
static void after_left(struct ch_core *core, const struct ch_conferencecall *cc)
{
	struct ch_conference c;
	bool removed = !strcmp(cc->leave_reason, CH_LEAVE_REMOVED);

	if (ch_conference_get(core, NULL, cc->conference_id, &c))
		return;
	if (c.status == CH_CONFERENCE_PROGRESSING) {
		if (cc->end_conference_on_exit) {
			(void)ch_conference_terminate(
			    core, c.id,
			    removed ? CH_END_EOE_KICKED : CH_END_EOE_LEFT,
			    cc->id);
		} else if (c.type == CH_CONFERENCE_TYPE_CONNECT) {
			(void)ch_conference_terminate(
			    core, c.id,
			    removed ? CH_END_LAST_KICK : CH_END_LAST_LEFT,
			    cc->id);
		}
	} else if (c.status == CH_CONFERENCE_TERMINATING) {
		ch_conference_check_empty(core, c.id);
	}
	ch_conference_clear(&c);
}

int ch_conferencecall_left(struct ch_core *core, const char *id,
                           const char *reason)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_get(core, NULL, id, &cc);
	if (err)
		return err;
	if (cc.status == CH_CONFERENCECALL_LEAVED)
		return 0;
	if (!cc.leave_reason[0])
		snprintf(cc.leave_reason, sizeof(cc.leave_reason), "%s",
		         reason);
	cc.status = CH_CONFERENCECALL_LEAVED;
	ch_runner_left(core, cc.id);
	err = save(core, &cc, "conference.member.left", true);
	if (err)
		return err;
	ch_member_quality_forget(core, cc.id);
	ch_log_info("core", "participant %s left conference %s (%s)", cc.id,
	            cc.conference_id, cc.leave_reason);
	after_left(core, &cc);
	return 0;
}

int ch_conferencecall_mute(struct ch_core *core, const char *customer_id,
                           const char *id, bool muted,
                           struct ch_conferencecall *out)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_get(core, customer_id, id, &cc);
	if (err)
		return err;
	if (cc.status > CH_CONFERENCECALL_JOINED)
		return EBUSY;
	if (cc.muted != muted) {
		cc.muted = muted;
		err = save(core, &cc,
		           muted ? "conference.member.muted"
		                 : "conference.member.unmuted",
		           false);
		if (err)
			return err;
		if (core->media && core->media->participant_mute)
			core->media->participant_mute(core->media_arg, &cc,
			                              muted);
	}
	*out = cc;
	return 0;
}

void ch_conferencecall_talking(struct ch_core *core, const char *id,
                               bool talking)
{
	struct ch_conferencecall cc;
	if (ch_conferencecall_get(core, NULL, id, &cc) ||
	    cc.status > CH_CONFERENCECALL_JOINED)
		return;
	ch_member_quality_talking(core, &cc, talking);
	json_t *f = json_object();
	if (!f)
		return;
	json_object_set_new(f, "session_uuid", json_string(cc.id));
	json_object_set_new(f, "caller_id", json_string(cc.caller_id));
	json_object_set_new(f, "talking", json_boolean(talking));
	if (ch_core_txn_begin(core)) {
		json_decref(f);
		return;
	}
	if (ch_events_add(core->ev, cc.customer_id, cc.conference_id,
	                  "conference.member.talking", f))
		ch_core_txn_abort(core);
	else
		(void)ch_core_txn_commit(core);
}

json_t *ch_conferencecall_to_json(struct ch_core *core,
                                  const struct ch_conferencecall *cc)
{
	json_t *stats = NULL;
	if (cc->status <= CH_CONFERENCECALL_JOINED && core->media &&
	    core->media->participant_stats)
		stats = core->media->participant_stats(core->media_arg, cc);
	return ch_conferencecall_list_json(core, cc, stats);
}

json_t *ch_conferencecall_list_json(struct ch_core *core,
                                    const struct ch_conferencecall *cc,
                                    json_t *stats)
{
	json_t *o = ch_json_map_conferencecall(cc, stats);
	json_t *q = ch_member_quality_json(core, cc);
	if (o && q)
		json_object_set_new(o, "quality", q);
	else
		json_decref(q);
	return o;
}
