/*
 * conference_transcribe.c: a conference's transcription (see
 * conference_transcribe.h): the rules of start and stop, and what the
 * transcriber reports (segments, its end) made into stored rows and
 * events.
 */
#include "core/conference_transcribe.h"
#include "core/conference.h"
#include "core/core_internal.h"
#include "events/events.h"
#include "services/stt.h"
#include "services/transcriber.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ch_core_set_transcriber(struct ch_core *core, struct ch_transcriber *t,
                             const char *default_engine)
{
	core->stt = t;
	snprintf(core->stt_default, sizeof(core->stt_default), "%s",
	         default_engine && *default_engine ? default_engine : "sphinx");
}

static int tr_event(struct ch_core *core, const struct ch_transcribe *t,
                    const char *type)
{
	json_t *f = json_object();
	if (!f)
		return ENOMEM;
	json_object_set_new(f, "transcribe_id", json_string(t->id));
	json_object_set_new(f, "language", json_string(t->language));
	json_object_set_new(f, "engine", json_string(t->engine));
	if (!strcmp(type, "conference.transcribe.stopped")) {
		json_object_set_new(f, "segments",
		                    json_integer((json_int_t)t->segments));
		json_object_set_new(f, "dropped_ms",
		                    json_integer((json_int_t)t->dropped_ms));
	}
	return ch_events_add(core->ev, t->customer_id, t->reference_id, type,
	                     f);
}

/* The engine a request names (NULL: the default) for language: 0, or
 * ENOTSUP (the engine: unknown or not configured) / EINVAL (the
 * language) with why. */
static int engine_check(struct ch_core *core, const char *engine,
                        const char *language, enum ch_stt_kind *kind, char *why,
                        size_t why_len)
{
	if (!engine)
		engine = core->stt_default;
	if (ch_stt_kind_parse(engine, kind)) {
		snprintf(why, why_len, "engine must be sphinx or http");
		return ENOTSUP;
	}
	struct ch_stt_engine *e =
	    core->stt ? ch_transcriber_engine(core->stt, *kind) : NULL;
	if (!e) {
		snprintf(why, why_len,
		         "the %s speech-to-text engine is not configured on "
		         "this server",
		         engine);
		return ENOTSUP;
	}
	if (!ch_stt_engine_supports(e, language)) {
		snprintf(
		    why, why_len,
		    "language \"%.32s\" is not supported by the %s engine; "
		    "supported: %s",
		    language, engine, ch_stt_engine_languages(e));
		return EINVAL;
	}
	return 0;
}

static int track_h(const struct ch_conferencecall *cc, void *arg)
{
	struct ch_core *core = arg;
	if (cc->status == CH_CONFERENCECALL_JOINED)
		core->media->transcribe_track(core->media_arg, cc);
	return 0;
}

/* Stores t and the conference c (which names it) with their events. */
static int start_save(struct ch_core *core, struct ch_conference *c,
                      const struct ch_transcribe *t)
{
	int err = ch_core_txn_begin(core);
	if (err)
		return err;
	c->tm_update = t->tm_create;
	err = core->st->ops->transcribe_insert(core->st, t);
	if (!err)
		err = core->st->ops->conference_update(core->st, c);
	if (!err)
		err = tr_event(core, t, "conference.transcribe.started");
	if (!err)
		err = ch_conference_add_event(core, c, "conference.updated");
	if (err) {
		ch_core_txn_abort(core);
		return err;
	}
	return ch_core_txn_commit(core);
}

int ch_conference_transcribe_start(struct ch_core *core,
                                   const char *customer_id, const char *id,
                                   const char *language, const char *engine,
                                   struct ch_conference *out, char *why,
                                   size_t why_len)
{
	struct ch_conference c;
	struct ch_transcribe t;
	enum ch_stt_kind kind;

	int err = ch_conference_get(core, customer_id, id, &c);
	if (err)
		return err;
	err = engine_check(core, engine, language, &kind, why, why_len);
	if (err) {
		ch_conference_clear(&c);
		return err;
	}
	if (c.status != CH_CONFERENCE_PROGRESSING ||
	    ch_conference_slot_active(c.transcribe_id)) {
		ch_conference_clear(&c);
		return EBUSY;
	}
	memset(&t, 0, sizeof(t));
	ch_uuid_new(t.id);
	memcpy(t.customer_id, c.customer_id, CH_UUID_LEN);
	snprintf(t.reference_type, sizeof(t.reference_type), "conference");
	memcpy(t.reference_id, c.id, CH_UUID_LEN);
	snprintf(t.language, sizeof(t.language), "%s", language);
	snprintf(t.engine, sizeof(t.engine), "%s", ch_stt_kind_str(kind));
	snprintf(t.status, sizeof(t.status), "progressing");
	t.tm_start = t.tm_create = t.tm_update = ch_time_now_us();
	t.tm_delete = CH_TIME_NEVER_US;
	char *ids = ch_conference_ids_append(c.transcribe_ids, t.id);
	if (!ids) {
		ch_conference_clear(&c);
		return ENOMEM;
	}
	free(c.transcribe_ids);
	c.transcribe_ids = ids;
	memcpy(c.transcribe_id, t.id, CH_UUID_LEN);

	if (core->media && core->media->transcribe_start) {
		err = core->media->transcribe_start(core->media_arg, &c, &t);
		if (err) {
			ch_log_error("core", "conference %s: transcriber: %s",
			             c.id, strerror(err));
			ch_conference_clear(&c);
			return EIO;
		}
	}
	err = start_save(core, &c, &t);
	if (err) {
		if (core->media && core->media->transcribe_stop)
			core->media->transcribe_stop(core->media_arg, c.id);
		ch_conference_clear(&c);
		return err;
	}
	ch_log_info("core", "conference %s: transcribe %s started (%s, %s)",
	            c.id, t.id, t.engine, t.language);
	if (core->media && core->media->transcribe_track)
		(void)core->st->ops->conferencecall_list_present(core->st, c.id,
		                                                 track_h, core);
	*out = c;
	return 0;
}

int ch_conference_transcribe_stop(struct ch_core *core, const char *customer_id,
                                  const char *id, struct ch_conference *out)
{
	struct ch_conference c;
	int err = ch_conference_get(core, customer_id, id, &c);
	if (err)
		return err;
	if (!ch_conference_slot_active(c.transcribe_id)) {
		ch_conference_clear(&c);
		return EBUSY;
	}
	char tid[CH_UUID_LEN];
	memcpy(tid, c.transcribe_id, CH_UUID_LEN);
	memcpy(c.transcribe_id, CH_UUID_NIL, CH_UUID_LEN);
	err = ch_conference_save(core, &c, "conference.updated", NULL);
	if (err) {
		ch_conference_clear(&c);
		return err;
	}
	ch_log_info("core", "conference %s: transcribe %s stopping", c.id, tid);
	if (core->media && core->media->transcribe_stop)
		core->media->transcribe_stop(core->media_arg, c.id);
	else
		ch_core_transcribe_done(core, tid, 0); /* nothing ran */
	*out = c;
	return 0;
}

void ch_conference_transcribe_end(struct ch_core *core, const char *id)
{
	struct ch_conference c;
	if (!ch_conference_transcribe_stop(core, NULL, id, &c))
		ch_conference_clear(&c);
}

void ch_core_transcript(struct ch_core *core,
                        const struct ch_core_transcript *in)
{
	struct ch_transcribe t;
	struct ch_transcript s;

	if (core->st->ops->transcribe_get(core->st, in->transcribe_id, &t))
		return;
	memset(&s, 0, sizeof(s));
	ch_uuid_new(s.id);
	memcpy(s.customer_id, t.customer_id, CH_UUID_LEN);
	memcpy(s.transcribe_id, t.id, CH_UUID_LEN);
	snprintf(s.conferencecall_id, sizeof(s.conferencecall_id), "%s",
	         in->conferencecall_id ? in->conferencecall_id : CH_UUID_NIL);
	s.caller_id = strdup(in->caller_id ? in->caller_id : "");
	s.text = strdup(in->text);
	s.tm_start_ms = in->start_ms;
	s.tm_end_ms = in->end_ms;
	s.tm_create = ch_time_now_us();
	t.segments++;
	t.tm_update = s.tm_create;

	json_t *f = json_object();
	int err =
	    (!s.caller_id || !s.text || !f) ? ENOMEM : ch_core_txn_begin(core);
	if (!err) {
		json_object_set_new(f, "transcribe_id", json_string(t.id));
		json_object_set_new(f, "transcript_id", json_string(s.id));
		json_object_set_new(f, "conferencecall_id",
		                    json_string(s.conferencecall_id));
		json_object_set_new(f, "session_uuid",
		                    json_string(s.conferencecall_id));
		json_object_set_new(f, "caller_id", json_string(s.caller_id));
		json_object_set_new(f, "text", json_string(s.text));
		json_object_set_new(f, "tm_start_ms",
		                    json_integer((json_int_t)s.tm_start_ms));
		json_object_set_new(f, "tm_end_ms",
		                    json_integer((json_int_t)s.tm_end_ms));
		err = core->st->ops->transcript_insert(core->st, &s);
		if (!err)
			err = core->st->ops->transcribe_update(core->st, &t);
		if (!err) {
			err = ch_events_add(core->ev, t.customer_id,
			                    t.reference_id,
			                    "conference.transcript", f);
			f = NULL; /* ch_events_add took it */
		}
		if (err)
			ch_core_txn_abort(core);
		else
			err = ch_core_txn_commit(core);
	}
	json_decref(f);
	if (err)
		ch_log_error("core", "transcribe %s: a segment was lost: %s",
		             t.id, strerror(err));
	ch_transcript_clear(&s);
}

/* ch_conference_child_end's write: the done transcribe and its event. */
static int tr_done_write(struct ch_core *core, void *arg)
{
	struct ch_transcribe *t = arg;
	int err = core->st->ops->transcribe_update(core->st, t);
	return err ? err : tr_event(core, t, "conference.transcribe.stopped");
}

void ch_core_transcribe_done(struct ch_core *core, const char *transcribe_id,
                             uint64_t dropped_ms)
{
	struct ch_transcribe t;

	if (core->st->ops->transcribe_get(core->st, transcribe_id, &t) ||
	    strcmp(t.status, "progressing"))
		return;
	snprintf(t.status, sizeof(t.status), "done");
	t.dropped_ms = (int64_t)dropped_ms;
	t.tm_end = t.tm_update = ch_time_now_us();
	int err = ch_conference_child_end(
	    core, t.reference_id, offsetof(struct ch_conference, transcribe_id),
	    t.id, t.tm_update, tr_done_write, &t);
	if (!err)
		ch_log_info(
		    "core",
		    "transcribe %s done: %lld segments, %llu ms dropped", t.id,
		    (long long)t.segments, (unsigned long long)dropped_ms);
}

struct recover_list {
	char (*ids)[CH_UUID_LEN];
	size_t n, cap;
};

static int recover_h(const struct ch_transcribe *t, void *arg)
{
	struct recover_list *x = arg;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 8;
		char(*a)[CH_UUID_LEN] = realloc(x->ids, cap * sizeof(*a));
		if (!a)
			return ENOMEM;
		x->ids = a;
		x->cap = cap;
	}
	memcpy(x->ids[x->n++], t->id, CH_UUID_LEN);
	return 0;
}

void ch_core_transcribe_recover(struct ch_core *core)
{
	struct recover_list x = {0};
	if (core->st->ops->transcribe_list_active(core->st, recover_h, &x))
		ch_log_error("core", "cannot list transcriptions to end");
	for (size_t i = 0; i < x.n; i++) {
		ch_log_info("core", "transcribe %s ended by the stop",
		            x.ids[i]);
		ch_core_transcribe_done(core, x.ids[i], 0);
	}
	free(x.ids);
}
