/*
 * api_media.c: the routes that act on a room's audio: recording_start /
 * recording_stop, transcribe_start / transcribe_stop, play / pause / stop /
 * volume of a conference, and play / talk to one participant. Request checks
 * here; the rules in core/.
 */
#include "api/api_internal.h"
#include "core/actions.h"
#include "core/conference.h"
#include "core/conference_play.h"
#include "core/conference_record.h"
#include "core/conference_transcribe.h"
#include "core/conferencecall.h"
#include "core/core.h"

#include <errno.h>
#include <string.h>

/* The body as an object whose keys are all in allowed (an empty body is
 * an empty object when empty_ok). NULL with a 400 set otherwise. */
static json_t *body_with(struct ch_api_req *r, const char *const *allowed,
                         size_t n, bool empty_ok)
{
	if (!r->body_len && empty_ok)
		return json_object();
	json_t *o = ch_api_body_object(r);
	const char *k;
	json_t *v;
	if (!o)
		return NULL;
	json_object_foreach(o, k, v)
	{
		bool ok = false;
		for (size_t i = 0; i < n; i++)
			ok |= !strcmp(k, allowed[i]);
		if (!ok) {
			ch_api_error(r, 400, "unknown_field", k,
			             "unknown field \"%.64s\"", k);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static void reply_conference(struct ch_api_req *r, struct ch_conference *c)
{
	ch_api_ok(r, ch_conference_to_json(r->api->core, c));
	ch_conference_clear(c);
}

void ch_api_conference_recording_start(struct ch_api_req *r)
{
	static const char *const keys[] = {"format", "tracks"};
	struct ch_conference c;
	json_t *o = body_with(r, keys, 2, true);
	if (!o)
		return;
	json_t *f = json_object_get(o, "format");
	json_t *t = json_object_get(o, "tracks");
	/* the format's name is checked by the core (the recorder's names) */
	const char *format = f ? json_string_value(f) : "wav";
	if ((f && !format) || (t && !json_is_boolean(t))) {
		bool fmt = f && !format;
		ch_api_error(r, 400, "invalid_field", fmt ? "format" : "tracks",
		             "%s",
		             fmt ? "format must be wav, flac or ogg"
		                 : "tracks must be true or false");
		json_decref(o);
		return;
	}
	int err =
	    ch_conference_record_start(r->api->core, r->cust.id, r->id, format,
	                               t ? json_is_true(t) : true, &c);
	json_decref(o);
	if (err == EINVAL)
		ch_api_error(r, 400, "invalid_field", "format",
		             "format must be wav, flac or ogg");
	else if (err == EBUSY)
		ch_api_error(r, 409, "wrong_state", NULL,
		             "the conference is not progressing or is "
		             "already recording");
	else if (err)
		ch_api_error_core(r, err, "conference");
	else
		reply_conference(r, &c);
}

void ch_api_conference_recording_stop(struct ch_api_req *r)
{
	struct ch_conference c;
	int err =
	    ch_conference_record_stop(r->api->core, r->cust.id, r->id, &c);
	if (err == EBUSY)
		ch_api_error(r, 409, "wrong_state", NULL,
		             "the conference has no active recording");
	else if (err)
		ch_api_error_core(r, err, "conference");
	else
		reply_conference(r, &c);
}

void ch_api_conference_transcribe_start(struct ch_api_req *r)
{
	static const char *const keys[] = {"language", "engine"};
	struct ch_conference c;
	char why[256] = "";
	json_t *o = body_with(r, keys, 2, false);
	if (!o)
		return;
	json_t *l = json_object_get(o, "language");
	json_t *e = json_object_get(o, "engine");
	const char *lang = json_string_value(l);
	const char *engine = json_string_value(e);
	if (!lang || !*lang || (e && !engine)) {
		bool nolang = !lang || !*lang;
		ch_api_error(r, 400, "invalid_field",
		             nolang ? "language" : "engine", "%s",
		             nolang ? "language is required, e.g. \"en-US\""
		                    : "engine must be sphinx or http");
		json_decref(o);
		return;
	}
	int err =
	    ch_conference_transcribe_start(r->api->core, r->cust.id, r->id,
	                                   lang, engine, &c, why, sizeof(why));
	json_decref(o);
	if (err == EINVAL)
		ch_api_error(r, 400, "invalid_field", "language", "%s", why);
	else if (err == ENOTSUP)
		ch_api_error(r, 400, "invalid_field", "engine", "%s", why);
	else if (err == EBUSY)
		ch_api_error(r, 409, "wrong_state", NULL,
		             "the conference is not progressing or is "
		             "already transcribing");
	else if (err)
		ch_api_error_core(r, err, "conference");
	else
		reply_conference(r, &c);
}

void ch_api_conference_transcribe_stop(struct ch_api_req *r)
{
	struct ch_conference c;
	int err =
	    ch_conference_transcribe_stop(r->api->core, r->cust.id, r->id, &c);
	if (err == EBUSY)
		ch_api_error(r, 409, "wrong_state", NULL,
		             "the conference has no active transcription");
	else if (err)
		ch_api_error_core(r, err, "conference");
	else
		reply_conference(r, &c);
}

static void reply_op(struct ch_api_req *r, const char *op, const char *status,
                     const int *volume)
{
	json_t *o = json_pack("{s:s}", "operation_id", op);
	if (o && status)
		json_object_set_new(o, "playback_status", json_string(status));
	if (o && volume)
		json_object_set_new(o, "volume", json_integer(*volume));
	ch_api_ok(r, o);
}

static void play_error(struct ch_api_req *r, int err, const char *busy)
{
	if (err == EBUSY)
		ch_api_error(r, 409, "wrong_state", NULL, "%s", busy);
	else
		ch_api_error_core(r, err, "conference");
}

void ch_api_conference_play(struct ch_api_req *r)
{
	static const char *const keys[] = {"urls"};
	char why[512], op[CH_UUID_LEN];
	json_t *o = body_with(r, keys, 1, false);
	if (!o)
		return;
	int err = ch_conference_play(r->api->core, r->cust.id, r->id,
	                             json_object_get(o, "urls"), why,
	                             sizeof(why), op);
	json_decref(o);
	if (err == EINVAL)
		ch_api_error(r, 400, "invalid_field", "urls", "%s", why);
	else if (err)
		play_error(r, err, "the conference is not progressing");
	else
		reply_op(r, op, "playing", NULL);
}

void ch_api_conference_pause(struct ch_api_req *r)
{
	char op[CH_UUID_LEN], status[16];
	int err = ch_conference_play_pause(r->api->core, r->cust.id, r->id, op,
	                                   status);
	if (err)
		play_error(r, err, "nothing is playing in the conference");
	else
		reply_op(r, op, status, NULL);
}

void ch_api_conference_stop(struct ch_api_req *r)
{
	char op[CH_UUID_LEN];
	int err = ch_conference_play_stop(r->api->core, r->cust.id, r->id, op);
	if (err)
		play_error(r, err, "nothing is playing in the conference");
	else
		reply_op(r, op, "stopped", NULL);
}

void ch_api_conference_volume(struct ch_api_req *r)
{
	static const char *const keys[] = {"volume"};
	char op[CH_UUID_LEN];
	json_t *o = body_with(r, keys, 1, false);
	if (!o)
		return;
	json_t *v = json_object_get(o, "volume");
	if (!json_is_integer(v) || json_integer_value(v) < CH_PLAY_VOLUME_MIN ||
	    json_integer_value(v) > CH_PLAY_VOLUME_MAX) {
		ch_api_error(r, 400, "invalid_field", "volume",
		             "volume must be an integer of dB, -50..7");
		json_decref(o);
		return;
	}
	int vol = (int)json_integer_value(v);
	json_decref(o);
	int err =
	    ch_conference_play_volume(r->api->core, r->cust.id, r->id, vol, op);
	if (err)
		play_error(r, err, "the conference is not progressing");
	else
		reply_op(r, op, NULL, &vol);
}

static void prompt(struct ch_api_req *r, const char *type, json_t *o)
{
	char op[CH_UUID_LEN];
	int err = ch_conferencecall_prompt(r->api->core, r->cust.id, r->id,
	                                   type, o, op);
	if (err == EBUSY)
		ch_api_error(r, 409, "wrong_state", NULL,
		             "the participant is not joined");
	else if (err)
		ch_api_error_core(r, err, "conferencecall");
	else
		reply_op(r, op, NULL, NULL);
}

void ch_api_conferencecall_play(struct ch_api_req *r)
{
	static const char *const keys[] = {"urls"};
	char why[512];
	json_t *o = body_with(r, keys, 1, false);
	if (!o)
		return;
	if (ch_actions_check_urls(r->api->core, json_object_get(o, "urls"),
	                          "urls", why, sizeof(why)))
		ch_api_error(r, 400, "invalid_field", "urls", "%s", why);
	else
		prompt(r, "play", o);
	json_decref(o);
}

void ch_api_conferencecall_talk(struct ch_api_req *r)
{
	static const char *const keys[] = {"text", "language"};
	char why[512];
	json_t *o = body_with(r, keys, 2, false);
	if (!o)
		return;
	if (ch_actions_check_talk(json_object_get(o, "text"),
	                          json_object_get(o, "language"), "", why,
	                          sizeof(why)))
		ch_api_error(r, 400, "invalid_field",
		             strstr(why, "language") ? "language" : "text",
		             "%s", why);
	else
		prompt(r, "talk", o);
	json_decref(o);
}
