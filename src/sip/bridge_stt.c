/*
 * bridge_stt.c: the transcription half of the core's media layer: a
 * transcriber tap (services/transcriber.h) on the engine room of the
 * conference, the map from engine legs to the participants that spoke,
 * and the transcriber's reports handed to the core.
 *
 * A transcription stays in sip->stts from start until the transcriber
 * reports it done (after the engine let go of its tap), so a segment that
 * is recognised after its speaker left is still named. Control thread
 * only.
 */
#include "sip/sip_int.h"
#include "core/conference_transcribe.h"
#include "core/core.h"
#include "media/engine.h"
#include "services/stt.h"
#include "services/transcriber.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A participant of a transcription, by engine leg. */
struct stt_track {
	struct le le;
	uint32_t leg;
	char ccid[CH_UUID_LEN];
	char *caller_id;
};

/* A transcription whose tap a room holds or held. Owned by sip->stts. */
struct ch_sip_stt {
	struct le le;
	char id[CH_UUID_LEN];            /* the transcribe */
	char conference_id[CH_UUID_LEN]; /* its room's conference */
	struct ch_media_tap *tap;        /* the transcriber's */
	bool stopping;                   /* voices_stop asked or room gone */
	struct list tracks;              /* struct stt_track */
};

static void stt_free(struct ch_sip_stt *x)
{
	struct le *le;
	while ((le = list_head(&x->tracks))) {
		struct stt_track *t = le->data;
		list_unlink(le);
		free(t->caller_id);
		free(t);
	}
	free(x);
}

static struct ch_sip_stt *stt_find(struct ch_sip *sip, const char *id,
                                   bool by_conference)
{
	struct le *le;
	LIST_FOREACH(&sip->stts, le)
	{
		struct ch_sip_stt *x = le->data;
		if (by_conference && !x->stopping &&
		    !strcmp(x->conference_id, id))
			return x;
		if (!by_conference && !strcmp(x->id, id))
			return x;
	}
	return NULL;
}

static int transcribe_start(void *arg, const struct ch_conference *conf,
                            const struct ch_transcribe *tr)
{
	struct ch_sip *sip = arg;
	enum ch_stt_kind kind;
	uint32_t room;

	if (!sip->transcriber)
		return ENOTSUP;
	if (ch_stt_kind_parse(tr->engine, &kind))
		return EINVAL;
	int err = ch_sip_room_of(sip, conf->id, &room);
	if (err)
		return err;
	struct ch_sip_stt *x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	snprintf(x->id, sizeof(x->id), "%s", tr->id);
	snprintf(x->conference_id, sizeof(x->conference_id), "%s", conf->id);
	err = ch_transcriber_start(sip->transcriber, tr->id, kind, tr->language,
	                           &x->tap);
	if (err) {
		free(x);
		return err;
	}
	list_append(&sip->stts, &x->le, x);
	err = ch_media_room_record(sip->eng, room, x->tap);
	if (err) {
		/* nothing attached: it ends at once (no segments) */
		x->stopping = true;
		ch_transcriber_finish(sip->transcriber, tr->id);
		return err;
	}
	return 0;
}

static void transcribe_track(void *arg, const struct ch_conferencecall *cc)
{
	struct ch_sip *sip = arg;
	struct ch_sip_stt *x = stt_find(sip, cc->conference_id, true);
	struct ch_sip_call *c = ch_sip_media_call_of(sip, cc);
	if (!x || !c)
		return;
	struct le *le;
	LIST_FOREACH(&x->tracks, le)
	{
		struct stt_track *t = le->data;
		if (t->leg == c->leg)
			return;
	}
	struct stt_track *t = calloc(1, sizeof(*t));
	if (!t || !(t->caller_id = strdup(cc->caller_id))) {
		free(t);
		return;
	}
	t->leg = c->leg;
	memcpy(t->ccid, cc->id, CH_UUID_LEN);
	list_append(&x->tracks, &t->le, t);
}

static void transcribe_stop(void *arg, const char *conference_id)
{
	struct ch_sip *sip = arg;
	struct ch_sip_stt *x = stt_find(sip, conference_id, true);
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	if (!x)
		return;
	x->stopping = true;
	if (r)
		(void)ch_media_room_voices_stop(sip->eng, r->room);
	/* no room: it was destroyed and its tap_detached is on its way */
}

bool ch_sip_stt_tap_detached(struct ch_sip *sip, struct ch_media_tap *tap)
{
	struct le *le;
	LIST_FOREACH(&sip->stts, le)
	{
		struct ch_sip_stt *x = le->data;
		if (x->tap != tap)
			continue;
		x->stopping = true;
		x->tap = NULL; /* the transcriber frees it */
		ch_transcriber_finish(sip->transcriber, x->id);
		return true;
	}
	return false;
}

void ch_sip_stt_room_gone(struct ch_sip *sip, const char *conference_id)
{
	struct le *le;
	LIST_FOREACH(&sip->stts, le)
	{
		struct ch_sip_stt *x = le->data;
		if (!strcmp(x->conference_id, conference_id))
			x->stopping = true;
	}
}

void ch_sip_transcript(struct ch_sip *sip, const struct ch_transcriber_seg *g)
{
	struct ch_sip_stt *x = stt_find(sip, g->id, false);
	struct ch_core_transcript t = {.transcribe_id = g->id,
	                               .start_ms = g->start_ms,
	                               .end_ms = g->end_ms,
	                               .text = g->text};
	struct le *le;
	LIST_FOREACH(x ? &x->tracks : NULL, le)
	{
		struct stt_track *k = le->data;
		if (k->leg == g->leg) {
			t.conferencecall_id = k->ccid;
			t.caller_id = k->caller_id;
			break;
		}
	}
	ch_core_transcript(sip->core, &t);
}

void ch_sip_transcribe_done(struct ch_sip *sip,
                            const struct ch_transcriber_done *d)
{
	struct ch_sip_stt *x = stt_find(sip, d->id, false);
	if (x) {
		list_unlink(&x->le);
		stt_free(x);
	}
	if (d->dropped_ms)
		ch_log_warn("sip", "transcribe %s: %llu ms of audio dropped",
		            d->id, (unsigned long long)d->dropped_ms);
	ch_core_transcribe_done(sip->core, d->id, d->dropped_ms);
}

void ch_sip_stt_close(struct ch_sip *sip)
{
	/* taps still attached are freed by the transcriber; the engine lets
	 * go of them when it stops */
	struct le *le;
	while ((le = list_head(&sip->stts))) {
		list_unlink(le);
		stt_free(le->data);
	}
}

void ch_sip_stt_ops(struct ch_core_media_ops *ops)
{
	ops->transcribe_start = transcribe_start;
	ops->transcribe_track = transcribe_track;
	ops->transcribe_stop = transcribe_stop;
}
