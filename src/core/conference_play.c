/*
 * conference_play.c: room playback (see conference_play.h). The current
 * play of a live conference is kept in its struct ch_live_conf: internal
 * op number (what the media layer reports with), API operation_id, urls,
 * whether audio has started, and the playback_timeout watchdog, which
 * runs from the request until the media layer says the audio plays.
 */
#include "core/conference_play.h"
#include "core/actions.h"
#include "core/conference.h"
#include "core/core_internal.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A conference.play.* event (inside the caller's transaction). */
static int play_event(struct ch_core *core, const struct ch_conference *c,
                      const char *what, const char *op, json_t *urls,
                      const char *error, int volume, bool with_volume)
{
	char type[48];
	json_t *f = json_object();
	if (!f)
		return ENOMEM;
	snprintf(type, sizeof(type), "conference.play.%s", what);
	json_object_set_new(f, "operation_id", json_string(op));
	if (urls)
		json_object_set(f, "urls", urls);
	if (error)
		json_object_set_new(f, "error", json_string(error));
	if (with_volume)
		json_object_set_new(f, "volume", json_integer(volume));
	return ch_events_add(core->ev, c->customer_id, c->id, type, f);
}

/* Saves c (its playback_status/volume) with one play event. */
static int save_play(struct ch_core *core, struct ch_conference *c,
                     const char *what, const char *op, json_t *urls,
                     const char *error)
{
	int err = ch_core_txn_begin(core);
	if (err)
		return err;
	c->tm_update = ch_time_now_us();
	err = core->st->ops->conference_update(core->st, c);
	if (!err)
		err = play_event(core, c, what, op, urls, error,
		                 c->playback_volume,
		                 !strcmp(what, "volume_changed"));
	if (err) {
		ch_core_txn_abort(core);
		return err;
	}
	return ch_core_txn_commit(core);
}

static void set_status(struct ch_conference *c, const char *s)
{
	snprintf(c->playback_status, sizeof(c->playback_status), "%s", s);
}

/* Forgets the live play (no media call). */
static void forget(struct ch_live_conf *lc)
{
	tmr_cancel(&lc->play_tmr);
	lc->play_op = 0;
	lc->play_id[0] = '\0';
	lc->play_audio = false;
	json_decref(lc->play_urls);
	lc->play_urls = NULL;
}

void ch_conference_live_media_free(struct ch_live_conf *lc)
{
	tmr_cancel(&lc->rec_tmr);
	forget(lc);
}

/* The play of lc ends (what: stopped, finished, failed): status stopped,
 * the event, the live play forgotten. */
static void end_play(struct ch_core *core, struct ch_live_conf *lc,
                     const char *what, const char *error)
{
	struct ch_conference c;
	char op[CH_UUID_LEN];
	json_t *urls = json_incref(lc->play_urls);

	memcpy(op, lc->play_id, CH_UUID_LEN);
	forget(lc);
	if (!ch_conference_get(core, NULL, lc->id, &c)) {
		set_status(&c, "stopped");
		(void)save_play(core, &c, what, op, urls, error);
		ch_conference_clear(&c);
	}
	ch_log_info("core", "conference %s: play %s %s%s%s", lc->id, op, what,
	            error ? ": " : "", error ? error : "");
	json_decref(urls);
}

static void timeout_h(void *arg)
{
	struct ch_live_conf *lc = arg;
	if (!lc->play_op || lc->play_audio)
		return;
	if (lc->core->media && lc->core->media->play_stop)
		lc->core->media->play_stop(lc->core->media_arg, lc->id);
	end_play(lc->core, lc, "failed", "playback_timeout");
}

/* The conference, progressing, and its live state. */
static int live_get(struct ch_core *core, const char *customer_id,
                    const char *id, struct ch_conference *c,
                    struct ch_live_conf **lcp)
{
	int err = ch_conference_get(core, customer_id, id, c);
	if (err)
		return err;
	*lcp = ch_core_live_find(core, c->id);
	if (c->status != CH_CONFERENCE_PROGRESSING || !*lcp) {
		ch_conference_clear(c);
		return EBUSY;
	}
	return 0;
}

/* urls as a borrowed C array (valid while urls lives); NULL: ENOMEM. */
static const char **url_array(json_t *urls, size_t *n)
{
	*n = json_array_size(urls);
	const char **a = calloc(*n ? *n : 1, sizeof(*a));
	if (!a)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		a[i] = json_string_value(json_array_get(urls, i));
	return a;
}

int ch_conference_play(struct ch_core *core, const char *customer_id,
                       const char *id, json_t *urls, char *why, size_t len,
                       char op[CH_UUID_LEN])
{
	struct ch_conference c;
	struct ch_live_conf *lc;
	int err;

	err = ch_actions_check_urls(core, urls, "urls", why, len);
	if (err)
		return err;
	err = live_get(core, customer_id, id, &c, &lc);
	if (err)
		return err;
	if (lc->play_op) {
		/* replace: the old one is stopped */
		if (core->media && core->media->play_stop)
			core->media->play_stop(core->media_arg, c.id);
		end_play(core, lc, "stopped", NULL);
		ch_conference_clear(&c);
		if (ch_conference_get(core, NULL, id, &c))
			return EIO;
	}
	lc->play_op = ++core->next_op;
	ch_uuid_new(lc->play_id);
	lc->play_urls = json_deep_copy(urls);
	lc->play_audio = false;
	size_t n = 0;
	const char **a = url_array(urls, &n);
	if (!a || !lc->play_urls) {
		free(a);
		forget(lc);
		ch_conference_clear(&c);
		return ENOMEM;
	}
	set_status(&c, "playing");
	err = save_play(core, &c, "started", lc->play_id, lc->play_urls, NULL);
	if (err) {
		free(a);
		forget(lc);
		ch_conference_clear(&c);
		return err;
	}
	memcpy(op, lc->play_id, CH_UUID_LEN);
	ch_log_info("core", "conference %s: play %s of %zu url(s)", c.id, op,
	            n);
	tmr_start(&lc->play_tmr, CH_PLAY_TIMEOUT_MS, timeout_h, lc);
	struct ch_core_prompt p = {
	    .kind = CH_PROMPT_URLS, .urls = a, .nurls = n};
	if (core->media && core->media->play_start) {
		err = core->media->play_start(
		    core->media_arg, c.id, lc->play_op, &p, c.playback_volume);
		if (err)
			end_play(core, lc, "failed", "playback_error");
	}
	free(a);
	ch_conference_clear(&c);
	return 0;
}

int ch_conference_play_pause(struct ch_core *core, const char *customer_id,
                             const char *id, char op[CH_UUID_LEN],
                             char status[16])
{
	struct ch_conference c;
	struct ch_live_conf *lc;
	int err = live_get(core, customer_id, id, &c, &lc);
	if (err)
		return err;
	if (!lc->play_op) {
		ch_conference_clear(&c);
		return EBUSY;
	}
	bool pause = strcmp(c.playback_status, "paused") != 0;
	set_status(&c, pause ? "paused" : "playing");
	err = save_play(core, &c, pause ? "paused" : "resumed", lc->play_id,
	                NULL, NULL);
	if (!err) {
		if (core->media && core->media->play_pause)
			core->media->play_pause(core->media_arg, c.id, pause);
		memcpy(op, lc->play_id, CH_UUID_LEN);
		snprintf(status, 16, "%s", c.playback_status);
	}
	ch_conference_clear(&c);
	return err;
}

int ch_conference_play_stop(struct ch_core *core, const char *customer_id,
                            const char *id, char op[CH_UUID_LEN])
{
	struct ch_conference c;
	struct ch_live_conf *lc;
	int err = live_get(core, customer_id, id, &c, &lc);
	if (err)
		return err;
	ch_conference_clear(&c);
	if (!lc->play_op)
		return EBUSY;
	memcpy(op, lc->play_id, CH_UUID_LEN);
	if (core->media && core->media->play_stop)
		core->media->play_stop(core->media_arg, lc->id);
	end_play(core, lc, "stopped", NULL);
	return 0;
}

int ch_conference_play_volume(struct ch_core *core, const char *customer_id,
                              const char *id, int volume, char op[CH_UUID_LEN])
{
	struct ch_conference c;
	struct ch_live_conf *lc;
	if (volume < CH_PLAY_VOLUME_MIN || volume > CH_PLAY_VOLUME_MAX)
		return EINVAL;
	int err = live_get(core, customer_id, id, &c, &lc);
	if (err)
		return err;
	char fresh[CH_UUID_LEN];
	if (lc->play_op)
		memcpy(fresh, lc->play_id, CH_UUID_LEN);
	else
		ch_uuid_new(fresh);
	c.playback_volume = volume;
	err = save_play(core, &c, "volume_changed", fresh, NULL, NULL);
	if (!err) {
		if (lc->play_op && core->media && core->media->play_gain)
			core->media->play_gain(core->media_arg, c.id, volume);
		memcpy(op, fresh, CH_UUID_LEN);
	}
	ch_conference_clear(&c);
	return err;
}

void ch_conference_play_end(struct ch_core *core, const char *id)
{
	struct ch_live_conf *lc = ch_core_live_find(core, id);
	if (!lc || !lc->play_op)
		return;
	if (core->media && core->media->play_stop)
		core->media->play_stop(core->media_arg, id);
	end_play(core, lc, "stopped", NULL);
}

void ch_core_play_report(struct ch_core *core, const char *conference_id,
                         uint64_t op, enum ch_core_play_state state,
                         const char *why)
{
	struct ch_live_conf *lc = ch_core_live_find(core, conference_id);
	if (!lc || !op || lc->play_op != op)
		return; /* an old play: already ended */
	switch (state) {
	case CH_PLAY_AUDIO:
		lc->play_audio = true;
		tmr_cancel(&lc->play_tmr);
		break;
	case CH_PLAY_FINISHED:
		end_play(core, lc, "finished", NULL);
		break;
	case CH_PLAY_FAILED:
		if (why)
			ch_log_warn("core", "conference %s: play failed: %s",
			            conference_id, why);
		end_play(core, lc, "failed", "playback_error");
		break;
	}
}
