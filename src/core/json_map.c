/*
 * json_map.c: records to API JSON.
 */
#include "core/json_map.h"
#include "util/timefmt.h"

#include <stdlib.h>
#include <string.h>

static json_t *ts(int64_t us)
{
	char buf[CH_TIME_LEN];
	ch_time_format(us, buf);
	return json_string(buf);
}

json_t *ch_json_map_parse_stored(const char *text, bool array)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (v && (array ? json_is_array(v) : json_is_object(v)))
		return v;
	json_decref(v);
	return array ? json_array() : json_object();
}

json_t *ch_json_map_conference(const struct ch_conference *c, json_t *ids)
{
	json_t *o = json_object();
	if (!o) {
		json_decref(ids);
		return NULL;
	}
	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "customer_id", json_string(c->customer_id));
	json_object_set_new(o, "type",
	                    json_string(ch_conference_type_str(c->type)));
	json_object_set_new(o, "status",
	                    json_string(ch_conference_status_str(c->status)));
	json_object_set_new(o, "name", json_string(c->name ? c->name : ""));
	json_object_set_new(o, "detail",
	                    json_string(c->detail ? c->detail : ""));
	json_object_set_new(o, "data",
	                    ch_json_map_parse_stored(c->data, false));
	json_object_set_new(o, "timeout", json_integer(c->timeout));
	json_object_set_new(o, "pre_actions",
	                    ch_json_map_parse_stored(c->pre_actions, true));
	json_object_set_new(o, "post_actions",
	                    ch_json_map_parse_stored(c->post_actions, true));
	json_object_set_new(o, "conferencecall_ids", ids ? ids : json_array());
	json_object_set_new(
	    o, "recording_id",
	    json_string(c->recording_id[0] ? c->recording_id : CH_UUID_NIL));
	json_object_set_new(o, "recording_ids",
	                    ch_json_map_parse_stored(c->recording_ids, true));
	json_object_set_new(
	    o, "transcribe_id",
	    json_string(c->transcribe_id[0] ? c->transcribe_id : CH_UUID_NIL));
	json_object_set_new(o, "transcribe_ids",
	                    ch_json_map_parse_stored(c->transcribe_ids, true));
	json_object_set_new(o, "playback_status",
	                    json_string(c->playback_status[0]
	                                    ? c->playback_status
	                                    : "stopped"));
	json_object_set_new(o, "playback_volume",
	                    json_integer(c->playback_volume));
	json_object_set_new(o, "max_participants",
	                    json_integer(c->max_participants));
	json_object_set_new(o, "max_sample_rate",
	                    json_integer(c->max_sample_rate));
	/* both empty until the conference ends (terminating) */
	bool ended = c->end_reason[0] != '\0';
	json_object_set_new(o, "end_reason",
	                    json_string(ended ? c->end_reason : ""));
	json_object_set_new(
	    o, "ended_by",
	    json_string(ended && c->ended_by[0] ? c->ended_by : ""));
	json_object_set_new(o, "tm_create", ts(c->tm_create));
	json_object_set_new(o, "tm_update", ts(c->tm_update));
	json_object_set_new(o, "tm_delete", ts(c->tm_delete));
	return o;
}

json_t *ch_json_map_conferencecall(const struct ch_conferencecall *cc,
                                   json_t *stats)
{
	json_t *o = json_object();
	if (!o) {
		json_decref(stats);
		return NULL;
	}
	json_object_set_new(o, "id", json_string(cc->id));
	json_object_set_new(o, "customer_id", json_string(cc->customer_id));
	json_object_set_new(o, "conference_id", json_string(cc->conference_id));
	json_object_set_new(o, "reference_type",
	                    json_string(cc->reference_type));
	json_object_set_new(o, "reference_id", json_string(cc->reference_id));
	json_object_set_new(
	    o, "status", json_string(ch_conferencecall_status_str(cc->status)));
	json_object_set_new(o, "muted", json_boolean(cc->muted));
	json_object_set_new(o, "caller_id", json_string(cc->caller_id));
	json_object_set_new(o, "leave_reason", json_string(cc->leave_reason));
	json_object_set_new(o, "end_conference_on_exit",
	                    json_boolean(cc->end_conference_on_exit));
	if (stats)
		json_object_set_new(o, "stats", stats);
	/* the stored quality (after it left); live figures replace it */
	json_t *q = cc->quality[0] ? json_loads(cc->quality, 0, NULL) : NULL;
	json_object_set_new(o, "quality", q ? q : json_null());
	json_object_set_new(o, "tm_create", ts(cc->tm_create));
	json_object_set_new(o, "tm_update", ts(cc->tm_update));
	json_object_set_new(o, "tm_delete", ts(cc->tm_delete));
	return o;
}

/* 0 is "not yet" for the recording's tm_end and tm_delete */
static json_t *ts_or_never(int64_t us)
{
	return ts(us ? us : CH_TIME_NEVER_US);
}

/* The head of a conference's recording or transcribe: a new object with
 * id, customer_id, reference_type, reference_id; NULL on ENOMEM. */
static json_t *media_resource(const char *id, const char *customer_id,
                              const char *reference_type,
                              const char *reference_id)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "customer_id", json_string(customer_id));
	json_object_set_new(o, "reference_type", json_string(reference_type));
	json_object_set_new(o, "reference_id", json_string(reference_id));
	return o;
}

/* Their times; start, end and delete of 0 have not happened. */
static void media_times(json_t *o, int64_t start, int64_t end, int64_t create,
                        int64_t update, int64_t del)
{
	json_object_set_new(o, "tm_start", ts_or_never(start));
	json_object_set_new(o, "tm_end", ts_or_never(end));
	json_object_set_new(o, "tm_create", ts(create));
	json_object_set_new(o, "tm_update", ts(update));
	json_object_set_new(o, "tm_delete", ts_or_never(del));
}

json_t *ch_json_map_recording(const struct ch_recording *r)
{
	json_t *o = media_resource(r->id, r->customer_id, r->reference_type,
	                           r->reference_id);
	if (!o)
		return NULL;
	json_object_set_new(o, "status", json_string(r->status));
	json_object_set_new(o, "format", json_string(r->format));
	json_object_set_new(o, "tracks", json_boolean(r->tracks));
	json_object_set_new(o, "duration_ms", json_integer(r->duration_ms));
	json_object_set_new(o, "rate", json_integer(r->rate));
	json_object_set_new(o, "size", json_integer(r->size));
	json_object_set_new(o, "channels",
	                    ch_json_map_parse_stored(r->channels, true));
	media_times(o, r->tm_start, r->tm_end, r->tm_create, r->tm_update,
	            r->tm_delete);
	return o;
}

json_t *ch_json_map_transcribe(const struct ch_transcribe *t)
{
	json_t *o = media_resource(t->id, t->customer_id, t->reference_type,
	                           t->reference_id);
	if (!o)
		return NULL;
	json_object_set_new(o, "language", json_string(t->language));
	json_object_set_new(o, "engine", json_string(t->engine));
	json_object_set_new(o, "status", json_string(t->status));
	json_object_set_new(o, "segments", json_integer(t->segments));
	json_object_set_new(o, "dropped_ms", json_integer(t->dropped_ms));
	media_times(o, t->tm_start, t->tm_end, t->tm_create, t->tm_update,
	            t->tm_delete);
	return o;
}

/* A JSON string of text that is not trusted to be UTF-8 (a recogniser's
 * output, a SIP caller id): as it is when valid, else with every byte
 * past ASCII replaced by "?" (never a missing member). */
static json_t *any_text(const char *text)
{
	json_t *v = json_string(text ? text : "");
	if (v)
		return v;
	char *copy = strdup(text);
	if (!copy)
		return NULL;
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

json_t *ch_json_map_transcript(const struct ch_transcript *t)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(t->id));
	json_object_set_new(o, "transcribe_id", json_string(t->transcribe_id));
	json_object_set_new(o, "conferencecall_id",
	                    json_string(t->conferencecall_id[0]
	                                    ? t->conferencecall_id
	                                    : CH_UUID_NIL));
	json_object_set_new(o, "caller_id", any_text(t->caller_id));
	json_object_set_new(o, "text", any_text(t->text));
	json_object_set_new(o, "tm_start_ms", json_integer(t->tm_start_ms));
	json_object_set_new(o, "tm_end_ms", json_integer(t->tm_end_ms));
	json_object_set_new(o, "tm_create", ts(t->tm_create));
	return o;
}

/* Whole seconds from a to b (b "never": to now). */
static json_t *seconds(int64_t a, int64_t b, int64_t now_us)
{
	if (a == CH_TIME_NEVER_US)
		return json_integer(0);
	if (b == CH_TIME_NEVER_US)
		b = now_us;
	return json_integer(b > a ? (b - a) / 1000000 : 0);
}

json_t *ch_json_map_summary(const struct ch_summary *s, int64_t now_us)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	/* as the conference's: both empty until it ends */
	bool ended = s->end_reason[0] != '\0';
	json_object_set_new(o, "conference_id", json_string(s->conference_id));
	json_object_set_new(o, "customer_id", json_string(s->customer_id));
	json_object_set_new(o, "name", json_string(s->name ? s->name : ""));
	json_object_set_new(o, "create_time", ts(s->create_time));
	json_object_set_new(o, "start_time", ts(s->start_time));
	json_object_set_new(o, "end_time", ts(s->end_time));
	json_object_set_new(o, "duration_seconds",
	                    seconds(s->create_time, s->end_time, now_us));
	json_object_set_new(o, "connect_duration_seconds",
	                    seconds(s->start_time, s->end_time, now_us));
	json_object_set_new(o, "status", json_string(s->status));
	json_object_set_new(o, "processing_state",
	                    json_string(s->processing_state));
	json_object_set_new(o, "end_reason",
	                    json_string(ended ? s->end_reason : ""));
	json_object_set_new(
	    o, "ended_by",
	    json_string(ended && s->ended_by[0] ? s->ended_by : ""));
	json_object_set_new(o, "max_participants",
	                    json_integer(s->max_participants));
	json_object_set_new(o, "max_concurrent_participants",
	                    json_integer(s->max_concurrent));
	json_object_set_new(o, "unique_participants",
	                    json_integer(s->unique_participants));
	json_object_set_new(o, "recording_enabled",
	                    json_boolean(s->recording_enabled));
	json_object_set_new(o, "mixer_region", json_string(s->mixer_region));
	json_object_set_new(o, "tags", ch_json_map_parse_stored(s->tags, true));
	json_object_set_new(o, "tag_info",
	                    ch_json_map_parse_stored(s->tag_info, false));
	return o;
}
