/*
 * bridge_media.c: the audio half of the core's media layer on the media
 * engine and the player and recorder services: room playback (fetched
 * and decoded by the player, then played into the engine room), a
 * participant's own prompts and its isolation while joining or leaving,
 * and recordings (a recorder tap on the engine room).
 *
 * Identity: the core names a play or prompt by a 64-bit op; the engine by
 * a 32-bit play id, here the op's low 32 bits (ops grow by one, so two
 * live ops never share them). A player job is tracked in sip->jobs until
 * its result comes back; a result for a play or prompt that has moved on
 * is freed. Control thread only.
 */
#include "sip/sip_int.h"
#include "core/conference_record.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "media/pcm.h"
#include "services/player.h"
#include "services/recorder.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A player job in flight. Owned by sip->jobs. */
struct ch_sip_job {
	struct le le;
	uint64_t job;
	bool room; /* for a room (conference_id), else a call (call_id) */
	char id[CH_UUID_LEN];
	uint64_t op;
};

static struct ch_sip_job *job_find(struct ch_sip *sip, uint64_t job)
{
	struct le *le;
	LIST_FOREACH(&sip->jobs, le)
	{
		struct ch_sip_job *j = le->data;
		if (j->job == job)
			return j;
	}
	return NULL;
}

static void job_cancel(struct ch_sip *sip, uint64_t job)
{
	struct ch_sip_job *j = job ? job_find(sip, job) : NULL;
	if (!j)
		return;
	ch_player_cancel(sip->player, job);
	list_unlink(&j->le);
	free(j);
}

static int submit(struct ch_sip *sip, const struct ch_core_prompt *p, bool room,
                  const char *id, uint64_t op, uint64_t *jobp)
{
	struct ch_player_req req = {
	    .kind = p->kind == CH_PROMPT_TALK   ? CH_PLAYER_TALK
	            : p->kind == CH_PROMPT_BEEP ? CH_PLAYER_BEEP
	                                        : CH_PLAYER_URLS,
	    .urls = p->urls,
	    .nurls = p->nurls,
	    .text = p->text,
	    .language = p->language,
	};
	struct ch_sip_job *j;
	if (!sip->player)
		return ENOTSUP;
	j = calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	int err = ch_player_submit(sip->player, &req, &j->job);
	if (err) {
		free(j);
		return err;
	}
	j->room = room;
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->op = op;
	list_append(&sip->jobs, &j->le, j);
	*jobp = j->job;
	return 0;
}

/* ---- room playback ---- */

static int play_start(void *arg, const char *conference_id, uint64_t op,
                      const struct ch_core_prompt *p, int gain_db)
{
	struct ch_sip *sip = arg;
	uint32_t room;
	int err = ch_sip_room_of(sip, conference_id, &room);
	if (err)
		return err;
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	job_cancel(sip, r->play_job);
	r->play_job = 0;
	if (r->play_op)
		(void)ch_media_room_play_stop(sip->eng, r->room);
	r->play_op = op;
	r->play_paused = false;
	r->play_gain = gain_db;
	err = submit(sip, p, true, conference_id, op, &r->play_job);
	if (err)
		r->play_op = 0;
	return err;
}

static void play_pause(void *arg, const char *conference_id, bool paused)
{
	struct ch_sip *sip = arg;
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	if (!r || !r->play_op)
		return;
	r->play_paused = paused;
	if (!r->play_job)
		(void)ch_media_room_play_pause(sip->eng, r->room, paused);
}

static void play_gain(void *arg, const char *conference_id, int gain_db)
{
	struct ch_sip *sip = arg;
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	if (!r || !r->play_op)
		return;
	r->play_gain = gain_db;
	if (!r->play_job)
		(void)ch_media_room_play_gain(sip->eng, r->room, gain_db);
}

static void play_stop(void *arg, const char *conference_id)
{
	struct ch_sip *sip = arg;
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	if (!r || !r->play_op)
		return;
	job_cancel(sip, r->play_job);
	if (!r->play_job)
		(void)ch_media_room_play_stop(sip->eng, r->room);
	r->play_job = 0;
	r->play_op = 0;
}

static bool engine_room_h(struct le *le, void *arg)
{
	struct ch_sip_room *r = le->data;
	return r->room == *(uint32_t *)arg;
}

void ch_sip_room_play_done(struct ch_sip *sip, uint32_t room, uint32_t play_id,
                           bool finished)
{
	struct le *le = hash_apply(sip->rooms, engine_room_h, &room);
	struct ch_sip_room *r = le ? le->data : NULL;
	if (!r || !r->play_op || r->play_job || (uint32_t)r->play_op != play_id)
		return;
	uint64_t op = r->play_op;
	r->play_op = 0;
	if (finished)
		ch_core_play_report(sip->core, r->conference_id, op,
		                    CH_PLAY_FINISHED, NULL);
}

/* ---- a participant's prompts ---- */

struct ch_sip_call *ch_sip_media_call_of(struct ch_sip *sip,
                                         const struct ch_conferencecall *cc)
{
	struct ch_sip_call *c = ch_sip_call_find(sip, cc->reference_id);
	return c && c->has_leg ? c : NULL;
}

static void participant_isolate(void *arg, const struct ch_conferencecall *cc,
                                bool isolated)
{
	struct ch_sip *sip = arg;
	struct ch_sip_call *c = ch_sip_media_call_of(sip, cc);
	if (c)
		(void)ch_media_leg_isolate(sip->eng, c->leg, isolated);
}

static int participant_prompt(void *arg, const struct ch_conferencecall *cc,
                              uint64_t op, const struct ch_core_prompt *p)
{
	struct ch_sip *sip = arg;
	struct ch_sip_call *c = ch_sip_media_call_of(sip, cc);
	if (!c)
		return ENOENT;
	job_cancel(sip, c->prompt_job);
	c->prompt_job = 0;
	if (c->prompt_op) {
		uint64_t old = c->prompt_op;
		(void)ch_media_leg_play_stop(sip->eng, c->leg);
		c->prompt_op = 0;
		ch_core_prompt_done(sip->core, c->conferencecall_id, old,
		                    false);
	}
	int err = submit(sip, p, false, c->id, op, &c->prompt_job);
	if (!err)
		c->prompt_op = op;
	return err;
}

void ch_sip_leg_play_done(struct ch_sip *sip, uint32_t leg, uint32_t play_id,
                          bool finished)
{
	struct ch_sip_call *c = ch_sip_call_by_leg(sip, leg);
	/* an ending call's leg reports its prompt from inside
	 * ch_media_leg_free: the participant is leaving anyway */
	if (!c || c->ended || !c->prompt_op || c->prompt_job ||
	    (uint32_t)c->prompt_op != play_id)
		return;
	uint64_t op = c->prompt_op;
	c->prompt_op = 0;
	ch_core_prompt_done(sip->core, c->conferencecall_id, op, finished);
}

/* ---- player results ---- */

void ch_sip_player_done(struct ch_sip *sip, uint64_t job, int err,
                        const char *why, struct ch_pcm *pcm)
{
	struct ch_sip_job *j = job_find(sip, job);
	if (!j) {
		ch_pcm_free(pcm);
		return;
	}
	list_unlink(&j->le);
	if (j->room) {
		struct ch_sip_room *r = ch_sip_room_find(sip, j->id);
		if (!r || r->play_job != job) {
			ch_pcm_free(pcm);
		} else if (err) {
			r->play_job = 0;
			r->play_op = 0;
			ch_core_play_report(sip->core, j->id, j->op,
			                    CH_PLAY_FAILED, why);
		} else {
			r->play_job = 0;
			int e = ch_media_room_play(sip->eng, r->room,
			                           (uint32_t)j->op, pcm,
			                           r->play_gain);
			if (!e && r->play_paused)
				e = ch_media_room_play_pause(sip->eng, r->room,
				                             true);
			if (e) {
				r->play_op = 0;
				ch_core_play_report(sip->core, j->id, j->op,
				                    CH_PLAY_FAILED,
				                    "the room cannot play");
			} else {
				ch_core_play_report(sip->core, j->id, j->op,
				                    CH_PLAY_AUDIO, NULL);
			}
		}
	} else {
		struct ch_sip_call *c = ch_sip_call_find(sip, j->id);
		if (!c || c->prompt_job != job || !c->has_leg) {
			ch_pcm_free(pcm);
		} else {
			c->prompt_job = 0;
			int e = err ? err
			            : ch_media_leg_play(sip->eng, c->leg,
			                                (uint32_t)j->op, pcm);
			if (e) {
				if (err)
					ch_log_warn(
					    "sip", "call %s: prompt failed: %s",
					    c->id, why ? why : "?");
				c->prompt_op = 0;
				ch_core_prompt_done(sip->core,
				                    c->conferencecall_id, j->op,
				                    false);
			}
		}
	}
	free(j);
}

/* ---- recordings ---- */

static struct ch_sip_rec *rec_by_conf(struct ch_sip *sip, const char *conf)
{
	struct le *le;
	LIST_FOREACH(&sip->recs, le)
	{
		struct ch_sip_rec *x = le->data;
		if (!x->stopping && !strcmp(x->conference_id, conf))
			return x;
	}
	return NULL;
}

static int recording_start(void *arg, const struct ch_conference *conf,
                           const struct ch_recording *rec)
{
	struct ch_sip *sip = arg;
	enum ch_rec_format f;
	uint32_t room;
	if (!sip->recorder)
		return ENOTSUP;
	if (ch_rec_format_parse(rec->format, &f))
		return EINVAL;
	int err = ch_sip_room_of(sip, conf->id, &room);
	if (err)
		return err;
	struct ch_sip_rec *x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	snprintf(x->id, sizeof(x->id), "%s", rec->id);
	snprintf(x->conference_id, sizeof(x->conference_id), "%s", conf->id);
	err =
	    ch_recorder_start(sip->recorder, rec->id, f, rec->tracks, &x->tap);
	if (err) {
		free(x);
		return err;
	}
	err = ch_media_room_record(sip->eng, room, x->tap);
	if (err) {
		/* nothing attached: finish it at once (an empty file) */
		ch_recorder_finish(sip->recorder, rec->id);
		free(x);
		return err;
	}
	list_append(&sip->recs, &x->le, x);
	return 0;
}

static void recording_track(void *arg, const struct ch_conferencecall *cc)
{
	struct ch_sip *sip = arg;
	struct ch_sip_rec *x = rec_by_conf(sip, cc->conference_id);
	struct ch_sip_call *c = ch_sip_media_call_of(sip, cc);
	if (x && c)
		ch_recorder_track(sip->recorder, x->id, c->leg, cc->id,
		                  cc->caller_id);
}

static void recording_stop(void *arg, const char *conference_id)
{
	struct ch_sip *sip = arg;
	struct ch_sip_rec *x = rec_by_conf(sip, conference_id);
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	if (!x)
		return;
	x->stopping = true;
	if (r)
		(void)ch_media_room_record_stop(sip->eng, r->room);
	/* no room: it was destroyed and its tap_detached is on its way */
}

void ch_sip_tap_detached(struct ch_sip *sip, uint32_t room,
                         struct ch_media_tap *tap)
{
	struct le *le;
	(void)room;
	if (ch_sip_stt_tap_detached(sip, tap))
		return;
	LIST_FOREACH(&sip->recs, le)
	{
		struct ch_sip_rec *x = le->data;
		if (x->tap != tap)
			continue;
		list_unlink(&x->le);
		ch_recorder_finish(sip->recorder, x->id);
		free(x);
		return;
	}
}

/* ---- lifetime ---- */

void ch_sip_media_room_gone(struct ch_sip *sip, struct ch_sip_room *r)
{
	job_cancel(sip, r->play_job);
	r->play_job = 0;
	r->play_op = 0;
	/* its recording and transcription (if any) end with the engine's
	 * tap_detached */
	ch_sip_stt_room_gone(sip, r->conference_id);
	struct le *le;
	LIST_FOREACH(&sip->recs, le)
	{
		struct ch_sip_rec *x = le->data;
		if (!strcmp(x->conference_id, r->conference_id))
			x->stopping = true;
	}
}

void ch_sip_media_call_gone(struct ch_sip *sip, struct ch_sip_call *c)
{
	job_cancel(sip, c->prompt_job);
	c->prompt_job = 0;
	c->prompt_op = 0;
}

void ch_sip_media_close(struct ch_sip *sip)
{
	while (sip->jobs.head) {
		struct ch_sip_job *j = sip->jobs.head->data;
		ch_player_cancel(sip->player, j->job);
		list_unlink(&j->le);
		free(j);
	}
	/* taps still attached are freed by the recorder; the engine lets go
	 * of them when it stops */
	ch_sip_stt_close(sip);
	while (sip->recs.head) {
		struct ch_sip_rec *x = sip->recs.head->data;
		list_unlink(&x->le);
		free(x);
	}
}

void ch_sip_media_ops(struct ch_core_media_ops *ops)
{
	ops->participant_isolate = participant_isolate;
	ops->participant_prompt = participant_prompt;
	ops->recording_start = recording_start;
	ops->recording_track = recording_track;
	ops->recording_stop = recording_stop;
	ops->play_start = play_start;
	ops->play_pause = play_pause;
	ops->play_gain = play_gain;
	ops->play_stop = play_stop;
	ch_sip_stt_ops(ops);
}
