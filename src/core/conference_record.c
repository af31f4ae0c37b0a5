/*
 * conference_record.c: a conference's recording: start (a recording row
 * in status "recording", the conference's recording_id and recording_ids,
 * the media layer's recorder), stop (recording_id cleared at once, the
 * file finished by the recorder), the 24 h cap, and the recorder's
 * report (status "stopped", duration, channels, size).
 */
#include "core/conference_record.h"
#include "core/conference.h"
#include "core/core_internal.h"
#include "core/summary.h"
#include "events/events.h"
#include "services/recorder.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

char *ch_conference_ids_append(const char *ids, const char *id)
{
	json_t *a = json_loads(ids ? ids : "[]", 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	json_array_append_new(a, json_string(id));
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

static int rec_event(struct ch_core *core, const struct ch_recording *r,
                     const char *type)
{
	json_t *f = json_object();
	if (!f)
		return ENOMEM;
	json_object_set_new(f, "recording_id", json_string(r->id));
	json_object_set_new(f, "format", json_string(r->format));
	json_object_set_new(f, "tracks", json_boolean(r->tracks));
	if (!strcmp(type, "conference.recording.stopped"))
		json_object_set_new(f, "duration_ms",
		                    json_integer((json_int_t)r->duration_ms));
	return ch_events_add(core->ev, r->customer_id, r->reference_id, type,
	                     f);
}

static void cap_h(void *arg)
{
	struct ch_live_conf *lc = arg;
	struct ch_conference c;
	ch_log_info("core", "conference %s: recording reached 24 h: stopped",
	            lc->id);
	if (!ch_conference_record_stop(lc->core, NULL, lc->id, &c))
		ch_conference_clear(&c);
}

static int track_h(const struct ch_conferencecall *cc, void *arg)
{
	struct ch_core *core = arg;
	if (cc->status == CH_CONFERENCECALL_JOINED)
		core->media->recording_track(core->media_arg, cc);
	return 0;
}

int ch_conference_record_start(struct ch_core *core, const char *customer_id,
                               const char *id, const char *format, bool tracks,
                               struct ch_conference *out)
{
	struct ch_conference c;
	struct ch_recording r;
	int err;

	if (!format)
		format = "wav";
	enum ch_rec_format f;
	if (ch_rec_format_parse(format, &f))
		return EINVAL;
	err = ch_conference_get(core, customer_id, id, &c);
	if (err)
		return err;
	if (c.status != CH_CONFERENCE_PROGRESSING ||
	    ch_conference_slot_active(c.recording_id)) {
		ch_conference_clear(&c);
		return EBUSY;
	}
	memset(&r, 0, sizeof(r));
	ch_uuid_new(r.id);
	memcpy(r.customer_id, c.customer_id, CH_UUID_LEN);
	snprintf(r.reference_type, sizeof(r.reference_type), "conference");
	memcpy(r.reference_id, c.id, CH_UUID_LEN);
	snprintf(r.status, sizeof(r.status), "recording");
	snprintf(r.format, sizeof(r.format), "%s", format);
	r.tracks = tracks;
	r.channels = strdup("[]");
	r.tm_start = r.tm_create = r.tm_update = ch_time_now_us();
	r.tm_end = 0;
	r.tm_delete = 0;
	char *ids = ch_conference_ids_append(c.recording_ids, r.id);
	if (!r.channels || !ids) {
		free(ids);
		err = ENOMEM;
		goto out;
	}
	free(c.recording_ids);
	c.recording_ids = ids;
	memcpy(c.recording_id, r.id, CH_UUID_LEN);

	if (core->media && core->media->recording_start) {
		err = core->media->recording_start(core->media_arg, &c, &r);
		if (err) {
			ch_log_error("core", "conference %s: recorder: %s",
			             c.id, strerror(err));
			err = EIO;
			goto out;
		}
	}
	err = ch_core_txn_begin(core);
	if (err)
		goto stop;
	c.tm_update = r.tm_create;
	err = core->st->ops->recording_insert(core->st, &r);
	if (!err)
		err = core->st->ops->conference_update(core->st, &c);
	if (!err)
		err = ch_summary_conference(core, &c); /* recording_enabled */
	if (!err)
		err = rec_event(core, &r, "conference.recording.started");
	if (!err)
		err = ch_conference_add_event(core, &c, "conference.updated");
	if (err) {
		ch_core_txn_abort(core);
		goto stop;
	}
	err = ch_core_txn_commit(core);
	if (err)
		goto stop;
	ch_log_info("core", "conference %s: recording %s started (%s%s)", c.id,
	            r.id, r.format, tracks ? ", tracks" : "");
	struct ch_live_conf *lc = ch_core_live_find(core, c.id);
	if (lc)
		tmr_start(&lc->rec_tmr, (uint64_t)CH_RECORDING_MAX_S * 1000,
		          cap_h, lc);
	if (core->media && core->media->recording_track)
		(void)core->st->ops->conferencecall_list_present(core->st, c.id,
		                                                 track_h, core);
	*out = c;
	ch_recording_clear(&r);
	return 0;
stop:
	if (core->media && core->media->recording_stop)
		core->media->recording_stop(core->media_arg, c.id);
out:
	ch_recording_clear(&r);
	ch_conference_clear(&c);
	return err;
}

int ch_conference_record_stop(struct ch_core *core, const char *customer_id,
                              const char *id, struct ch_conference *out)
{
	struct ch_conference c;
	int err = ch_conference_get(core, customer_id, id, &c);
	if (err)
		return err;
	if (!ch_conference_slot_active(c.recording_id)) {
		ch_conference_clear(&c);
		return EBUSY;
	}
	char rec[CH_UUID_LEN];
	memcpy(rec, c.recording_id, CH_UUID_LEN);
	memcpy(c.recording_id, CH_UUID_NIL, CH_UUID_LEN);
	err = ch_conference_save(core, &c, "conference.updated", NULL);
	if (err) {
		ch_conference_clear(&c);
		return err;
	}
	struct ch_live_conf *lc = ch_core_live_find(core, c.id);
	if (lc)
		tmr_cancel(&lc->rec_tmr);
	ch_log_info("core", "conference %s: recording %s stopping", c.id, rec);
	if (core->media && core->media->recording_stop) {
		core->media->recording_stop(core->media_arg, c.id);
	} else {
		/* no recorder: nothing was written */
		struct ch_core_rec_result none = {.channels = "[]"};
		ch_core_recording_done(core, rec, &none);
	}
	*out = c;
	return 0;
}

void ch_conference_record_end(struct ch_core *core, const char *id)
{
	struct ch_conference c;
	if (!ch_conference_record_stop(core, NULL, id, &c))
		ch_conference_clear(&c);
}

/* ch_conference_child_end's write: the stopped recording and its event. */
static int rec_stopped_write(struct ch_core *core, void *arg)
{
	struct ch_recording *r = arg;
	int err = core->st->ops->recording_update(core->st, r);
	return err ? err : rec_event(core, r, "conference.recording.stopped");
}

void ch_core_recording_done(struct ch_core *core, const char *recording_id,
                            const struct ch_core_rec_result *res)
{
	struct ch_recording r;

	if (core->st->ops->recording_get(core->st, recording_id, &r))
		return;
	if (strcmp(r.status, "recording")) {
		ch_recording_clear(&r);
		return;
	}
	snprintf(r.status, sizeof(r.status), "stopped");
	r.duration_ms = res->err ? 0 : (int64_t)res->duration_ms;
	r.rate = res->rate;
	r.size = res->err ? 0 : (int64_t)res->size;
	if (res->channels) {
		char *ch = strdup(res->channels);
		if (ch) {
			free(r.channels);
			r.channels = ch;
		}
	}
	r.tm_end = r.tm_start + r.duration_ms * 1000;
	r.tm_update = ch_time_now_us();
	if (r.tm_end > r.tm_update || res->err)
		r.tm_end = r.tm_update;

	int err = ch_conference_child_end(
	    core, r.reference_id, offsetof(struct ch_conference, recording_id),
	    r.id, r.tm_update, rec_stopped_write, &r);
	if (res->err)
		ch_log_error("core", "recording %s failed: %s", r.id,
		             strerror(res->err));
	else if (!err)
		ch_log_info("core", "recording %s stopped: %lld ms, %lld bytes",
		            r.id, (long long)r.duration_ms, (long long)r.size);
	ch_recording_clear(&r);
}
