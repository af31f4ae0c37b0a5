/*
 * conference.c: the conference state machine.
 *
 * starting --room ready--> progressing --DELETE/timeout/rules--> terminating
 * --last participant left--> terminated. Each step is one store
 * transaction with its events; statuses only move forward.
 */
#include "core/conference.h"
#include "core/conference_transcribe.h"
#include "core/conferencecall.h"
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

static int ids_h(const struct ch_conferencecall *cc, void *arg)
{
	json_array_append_new(arg, json_string(cc->id));
	return 0;
}

json_t *ch_conference_to_json(struct ch_core *core,
                              const struct ch_conference *c)
{
	json_t *ids = json_array();
	if (!ids)
		return NULL;
	if (core->st->ops->conferencecall_list_present(core->st, c->id, ids_h,
	                                               ids)) {
		json_decref(ids);
		return NULL;
	}
	return ch_json_map_conference(c, ids);
}

/* Adds a conference.* event carrying the whole conference. */
int ch_conference_add_event(struct ch_core *core, const struct ch_conference *c,
                            const char *type)
{
	json_t *f = json_object();
	json_t *cj = ch_conference_to_json(core, c);
	if (!f || !cj) {
		json_decref(f);
		json_decref(cj);
		return ENOMEM;
	}
	json_object_set_new(f, "name", json_string(c->name));
	json_object_set_new(f, "status",
	                    json_string(ch_conference_status_str(c->status)));
	json_object_set_new(f, "conference", cj);
	return ch_events_add(core->ev, c->customer_id, c->id, type, f);
}

/* Writes c with its new state and one event, in one transaction. */
int ch_conference_save(struct ch_core *core, struct ch_conference *c,
                       const char *type, const char *type2)
{
	int err = ch_core_txn_begin(core);
	if (err)
		return err;
	c->tm_update = ch_time_now_us();
	err = core->st->ops->conference_update(core->st, c);
	if (!err)
		err = ch_summary_conference(core, c);
	if (!err && type)
		err = ch_conference_add_event(core, c, type);
	if (!err && type2)
		err = ch_conference_add_event(core, c, type2);
	if (err) {
		ch_core_txn_abort(core);
		return err;
	}
	return ch_core_txn_commit(core);
}

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s ? s : dflt);
}

static void ready_h(void *arg)
{
	struct ch_live_conf *lc = arg;
	ch_conference_room_ready(lc->core, lc->id);
}

bool ch_conference_rate_valid(int rate)
{
	return rate == 8000 || rate == 16000 || rate == 48000;
}

static void arm_timeout(struct ch_live_conf *lc, const struct ch_conference *c)
{
	if (c->timeout <= 0 || c->status >= CH_CONFERENCE_TERMINATING)
		ch_core_deadline_set(lc->core, lc, 0);
	else
		ch_core_deadline_set(lc->core, lc,
		                     c->tm_create + c->timeout * 1000000);
}

void ch_conference_arm(struct ch_core *core, const struct ch_conference *c)
{
	struct ch_live_conf *lc = ch_core_live_find(core, c->id);
	if (!lc)
		lc = ch_core_live_add(core, c->id);
	if (!lc)
		return;
	arm_timeout(lc, c);
	if (c->status > CH_CONFERENCE_PROGRESSING)
		return;
	/* a progressing conference after a restart needs its room again */
	if (core->media && core->media->room_create) {
		if (core->media->room_create(core->media_arg, c))
			ch_log_error("core", "conference %s: no room", c->id);
	} else if (c->status == CH_CONFERENCE_STARTING) {
		tmr_start(&lc->ready_tmr, 0, ready_h, lc);
	}
}

int ch_conference_create(struct ch_core *core, const char *customer_id,
                         const struct ch_conference_params *p,
                         struct ch_conference *out)
{
	struct ch_conference c;
	int err;

	memset(&c, 0, sizeof(c));
	ch_uuid_new(c.id);
	snprintf(c.customer_id, sizeof(c.customer_id), "%s", customer_id);
	c.type = p->has_type ? p->type : CH_CONFERENCE_TYPE_CONFERENCE;
	c.status = CH_CONFERENCE_STARTING;
	c.name = dup_or(p->has_name ? p->name : NULL, "");
	c.detail = dup_or(p->has_detail ? p->detail : NULL, "");
	c.data = dup_or(p->has_data ? p->data : NULL, "{}");
	c.timeout = p->has_timeout ? p->timeout : 0;
	c.pre_actions =
	    dup_or(p->has_pre_actions ? p->pre_actions : NULL, "[]");
	c.post_actions =
	    dup_or(p->has_post_actions ? p->post_actions : NULL, "[]");
	memcpy(c.recording_id, CH_UUID_NIL, CH_UUID_LEN);
	c.recording_ids = strdup("[]");
	memcpy(c.transcribe_id, CH_UUID_NIL, CH_UUID_LEN);
	c.transcribe_ids = strdup("[]");
	snprintf(c.playback_status, sizeof(c.playback_status), "stopped");
	c.max_participants = p->has_max_participants ? p->max_participants : 0;
	c.max_sample_rate = p->has_max_sample_rate ? p->max_sample_rate
	                                           : CH_CONFERENCE_DEFAULT_RATE;
	memcpy(c.ended_by, CH_UUID_NIL, CH_UUID_LEN);
	c.tm_create = c.tm_update = ch_time_now_us();
	c.tm_delete = CH_TIME_NEVER_US;
	if (!c.name || !c.detail || !c.data || !c.pre_actions ||
	    !c.post_actions || !c.recording_ids || !c.transcribe_ids) {
		ch_conference_clear(&c);
		return ENOMEM;
	}

	err = ch_core_txn_begin(core);
	if (err)
		goto out;
	err = core->st->ops->conference_insert(core->st, &c);
	if (!err)
		err = ch_core_owner_mark(core, c.id);
	if (!err)
		err = ch_summary_conference(core, &c);
	if (!err)
		err = ch_conference_add_event(core, &c, "conference.created");
	if (err) {
		ch_core_txn_abort(core);
		goto out;
	}
	err = ch_core_txn_commit(core);
	if (err)
		goto out;
	ch_log_info("core", "conference %s created (%s)", c.id,
	            ch_conference_type_str(c.type));
	ch_conference_arm(core, &c);
out:
	if (err)
		ch_conference_clear(&c);
	else
		*out = c;
	return err;
}

int ch_conference_get(struct ch_core *core, const char *customer_id,
                      const char *id, struct ch_conference *out)
{
	return core->st->ops->conference_get(core->st, id, customer_id, out);
}

static int replace(char **dst, const char *src)
{
	char *n = strdup(src);
	if (!n)
		return ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

int ch_conference_update(struct ch_core *core, const char *customer_id,
                         const char *id, const struct ch_conference_params *p,
                         struct ch_conference *out)
{
	struct ch_conference c;
	int err = ch_conference_get(core, customer_id, id, &c);
	if (err)
		return err;
	if (c.status >= CH_CONFERENCE_TERMINATING) {
		err = EBUSY;
		goto out;
	}
	if (p->has_name)
		err |= replace(&c.name, p->name);
	if (p->has_detail)
		err |= replace(&c.detail, p->detail);
	if (p->has_data)
		err |= replace(&c.data, p->data);
	if (p->has_pre_actions)
		err |= replace(&c.pre_actions, p->pre_actions);
	if (p->has_post_actions)
		err |= replace(&c.post_actions, p->post_actions);
	if (p->has_timeout)
		c.timeout = p->timeout;
	if (p->has_max_participants)
		c.max_participants = p->max_participants;
	if (err)
		goto out;
	err = ch_conference_save(core, &c, "conference.updated", NULL);
	if (err)
		goto out;
	struct ch_live_conf *lc = ch_core_live_find(core, c.id);
	if (lc && p->has_timeout)
		arm_timeout(lc, &c);
out:
	if (err)
		ch_conference_clear(&c);
	else
		*out = c;
	return err;
}

void ch_conference_room_ready(struct ch_core *core, const char *id)
{
	struct ch_conference c;
	if (ch_conference_get(core, NULL, id, &c))
		return;
	if (c.status == CH_CONFERENCE_STARTING) {
		c.status = CH_CONFERENCE_PROGRESSING;
		if (!ch_conference_save(core, &c, "conference.updated", NULL))
			ch_log_debug("core", "conference %s progressing", id);
	}
	ch_conference_clear(&c);
}

/* terminating -> terminated when nobody is left. */
static void finish(struct ch_core *core, struct ch_conference *c)
{
	c->status = CH_CONFERENCE_TERMINATED;
	c->tm_delete = ch_time_now_us();
	if (ch_conference_save(core, c, "conference.updated",
	                       "conference.destroyed"))
		return;
	ch_log_info("core", "conference %s terminated (%s)", c->id,
	            c->end_reason);
	ch_core_live_remove(core, c->id);
	if (core->media && core->media->room_destroy)
		core->media->room_destroy(core->media_arg, c->id);
}

void ch_conference_check_empty(struct ch_core *core, const char *id)
{
	struct ch_conference c;
	char(*ids)[CH_UUID_LEN] = NULL;
	size_t n = 0;
	if (ch_conference_get(core, NULL, id, &c))
		return;
	if (c.status == CH_CONFERENCE_TERMINATING &&
	    !ch_core_present_ids(core, id, &ids, &n) && n == 0)
		finish(core, &c);
	free(ids);
	ch_conference_clear(&c);
}

int ch_conference_terminate(struct ch_core *core, const char *id,
                            const char *end_reason, const char *ended_by)
{
	struct ch_conference c;
	char(*ids)[CH_UUID_LEN] = NULL;
	size_t n = 0;
	int err = ch_conference_get(core, NULL, id, &c);
	if (err)
		return err;
	if (c.status >= CH_CONFERENCE_TERMINATING) {
		ch_conference_clear(&c);
		return 0;
	}
	/* the recording and playback end first (they change the row) */
	ch_conference_clear(&c);
	ch_conference_record_end(core, id);
	ch_conference_transcribe_end(core, id);
	ch_conference_play_end(core, id);
	err = ch_conference_get(core, NULL, id, &c);
	if (err)
		return err;
	c.status = CH_CONFERENCE_TERMINATING;
	snprintf(c.end_reason, sizeof(c.end_reason), "%s", end_reason);
	snprintf(c.ended_by, sizeof(c.ended_by), "%s",
	         ended_by ? ended_by : CH_UUID_NIL);
	err = ch_conference_save(core, &c, "conference.updated", NULL);
	if (err)
		goto out;
	ch_log_info("core", "conference %s terminating (%s)", c.id, end_reason);
	struct ch_live_conf *lc = ch_core_live_find(core, c.id);
	if (lc)
		ch_core_deadline_set(core, lc, 0);

	err = ch_core_present_ids(core, c.id, &ids, &n);
	if (err)
		goto out;
	if (n == 0) {
		finish(core, &c);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		(void)ch_conferencecall_remove(core, ids[i]);
out:
	free(ids);
	ch_conference_clear(&c);
	return err;
}

int ch_conference_delete(struct ch_core *core, const char *customer_id,
                         const char *id, struct ch_conference *out)
{
	struct ch_conference c;
	int err = ch_conference_get(core, customer_id, id, &c);
	if (err)
		return err;
	ch_conference_clear(&c);
	err = ch_conference_terminate(core, id, CH_END_API, NULL);
	if (err)
		return err;
	return ch_conference_get(core, customer_id, id, out);
}

bool ch_conference_slot_active(const char *id)
{
	return id[0] && strcmp(id, CH_UUID_NIL);
}

void ch_conference_media_track(struct ch_core *core,
                               const struct ch_conferencecall *cc)
{
	struct ch_conference c;
	if (!core->media ||
	    ch_conference_get(core, NULL, cc->conference_id, &c))
		return;
	if (core->media->recording_track &&
	    ch_conference_slot_active(c.recording_id))
		core->media->recording_track(core->media_arg, cc);
	if (core->media->transcribe_track &&
	    ch_conference_slot_active(c.transcribe_id))
		core->media->transcribe_track(core->media_arg, cc);
	ch_conference_clear(&c);
}

int ch_conference_child_end(struct ch_core *core, const char *conference_id,
                            size_t slot, const char *child_id, int64_t now_us,
                            int (*write)(struct ch_core *core, void *arg),
                            void *arg)
{
	struct ch_conference c;
	bool have_conf = !ch_conference_get(core, NULL, conference_id, &c);
	char *named = have_conf ? (char *)&c + slot : NULL;
	bool conf_changed = named && !strcmp(named, child_id);
	if (conf_changed) {
		memcpy(named, CH_UUID_NIL, CH_UUID_LEN);
		c.tm_update = now_us;
	}
	int err = ch_core_txn_begin(core);
	if (!err) {
		err = write(core, arg);
		if (!err && conf_changed)
			err = core->st->ops->conference_update(core->st, &c);
		if (!err && conf_changed)
			err = ch_conference_add_event(core, &c,
			                              "conference.updated");
		if (err)
			ch_core_txn_abort(core);
		else
			err = ch_core_txn_commit(core);
	}
	if (have_conf)
		ch_conference_clear(&c);
	return err;
}
