/*
 * bridge.c: the core's media layer (struct ch_core_media_ops) on top of
 * the SIP calls and the media engine: one engine room per live
 * conference (as big as its max_participants, up to the engine limit),
 * hang-up, mute, live leg stats, and the engine's events (talking, RTP
 * timeout and resume) turned into core calls.
 */
#include "sip/sip_int.h"
#include "core/call.h"
#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "util/log.h"

#include <jansson.h>
#include <errno.h>
#include <string.h>

static bool room_cmp(struct le *le, void *arg)
{
	struct ch_sip_room *r = le->data;
	return !strcmp(r->conference_id, arg);
}

struct ch_sip_room *ch_sip_room_find(struct ch_sip *sip, const char *id)
{
	struct le *le =
	    hash_lookup(sip->rooms, hash_joaat_str(id), room_cmp, (void *)id);
	return le ? le->data : NULL;
}

static void room_destructor(void *arg)
{
	struct ch_sip_room *r = arg;
	hash_unlink(&r->he);
}

/* The room takes the conference's max_participants (as it is now: a PUT
 * may have changed it), 0 (no limit) meaning the engine limit, and its
 * max_sample_rate. */
static void room_size(struct ch_sip *sip, const char *conference_id,
                      uint32_t room)
{
	struct ch_conference conf;
	if (ch_conference_get(sip->core, NULL, conference_id, &conf))
		return;
	unsigned max =
	    conf.max_participants > 0 ? (unsigned)conf.max_participants : 0;
	uint32_t rate = (uint32_t)conf.max_sample_rate;
	ch_conference_clear(&conf);
	(void)ch_media_room_set_max(sip->eng, room, max);
	/* before the call's leg starts, so it is built at the right rate */
	if (ch_media_room_set_max_rate(sip->eng, room, rate))
		ch_log_warn("sip", "room %u: max_sample_rate %u not applied",
		            room, rate);
}

/* The engine room of a conference, made when its first call arrives: a
 * conference nobody has joined costs the media workers nothing. */
int ch_sip_room_of(struct ch_sip *sip, const char *conference_id,
                   uint32_t *room)
{
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	int err;
	if (r) {
		room_size(sip, conference_id, r->room);
		*room = r->room;
		return 0;
	}
	r = mem_zalloc(sizeof(*r), room_destructor);
	if (!r)
		return ENOMEM;
	snprintf(r->conference_id, sizeof(r->conference_id), "%s",
	         conference_id);
	err = ch_media_room_create(sip->eng, &r->room);
	if (err) {
		mem_deref(r);
		return err;
	}
	hash_append(sip->rooms, hash_joaat_str(r->conference_id), &r->he, r);
	room_size(sip, conference_id, r->room);
	*room = r->room;
	return 0;
}

static int room_create(void *arg, const struct ch_conference *conf)
{
	struct ch_sip *sip = arg;
	/* the engine room comes with the first call (ch_sip_room_of) */
	ch_conference_room_ready(sip->core, conf->id);
	return 0;
}

static void room_destroy(void *arg, const char *conference_id)
{
	struct ch_sip *sip = arg;
	struct ch_sip_room *r = ch_sip_room_find(sip, conference_id);
	if (!r)
		return;
	ch_sip_media_room_gone(sip, r);
	ch_media_room_destroy(sip->eng, r->room);
	mem_deref(r);
}

static void participant_hangup(void *arg, const struct ch_conferencecall *cc)
{
	struct ch_sip *sip = arg;
	struct ch_sip_call *c = ch_sip_call_find(sip, cc->reference_id);
	if (c) {
		ch_sip_call_end(c, CH_HANGUP_NORMAL, CH_LEAVE_REMOVED);
		return;
	}
	/* No call behind it (any more): it has left. */
	(void)ch_conferencecall_left(sip->core, cc->id, CH_LEAVE_REMOVED);
}

static void participant_mute(void *arg, const struct ch_conferencecall *cc,
                             bool muted)
{
	struct ch_sip *sip = arg;
	struct ch_sip_call *c = ch_sip_call_find(sip, cc->reference_id);
	if (c && c->has_leg)
		(void)ch_media_leg_mute(sip->eng, c->leg, muted);
}

static void call_hangup(void *arg, const struct ch_call *call)
{
	struct ch_sip *sip = arg;
	struct ch_sip_call *c = ch_sip_call_find(sip, call->id);
	if (c)
		ch_sip_call_end(
		    c, c->answered ? CH_HANGUP_NORMAL : CH_HANGUP_CANCEL, NULL);
	else
		ch_call_ended(sip->core, call->id, CH_HANGUP_NORMAL, NULL);
}

static int call_dial(void *arg, const struct ch_call *call)
{
	return ch_sip_call_dial(arg, call);
}

static json_t *participant_stats(void *arg, const struct ch_conferencecall *cc)
{
	struct ch_sip *sip = arg;
	struct ch_sip_call *c = ch_sip_call_find(sip, cc->reference_id);
	struct ch_media_leg_stats s;
	if (!c || !c->has_leg || ch_media_leg_stats(sip->eng, c->leg, &s))
		return NULL;
	return json_pack(
	    "{s:s,s:I,s:I,s:I,s:I,s:f,s:i,s:b,s:I,s:f,s:f,s:f,s:I,s:I,s:I,s:i}",
	    "codec", ch_media_codec_name(s.codec), "packets_in",
	    (json_int_t)s.packets_in, "packets_out", (json_int_t)s.packets_out,
	    "packets_rejected", (json_int_t)s.packets_rejected, "lost",
	    (json_int_t)s.lost, "jitter_ms", s.jitter_ms, "level", s.level,
	    "talking", s.talking, "remote_lost", (json_int_t)s.remote_lost,
	    "remote_fraction_lost", s.remote_fraction_lost, "remote_jitter_ms",
	    s.remote_jitter_ms, "rtt_ms", s.rtt_ms, "remote_reports",
	    (json_int_t)s.remote_reports, "concealed", (json_int_t)s.concealed,
	    "late", (json_int_t)s.late, "jitter_buffer_ms",
	    (int)s.jb_target_ms);
}

static bool participant_alive(void *arg, const struct ch_conferencecall *cc)
{
	struct ch_sip *sip = arg;
	struct ch_sip_call *c = ch_sip_call_find(sip, cc->reference_id);
	if (!c)
		return false;
	return !c->media_down;
}

static struct ch_core_media_ops bridge_ops = {
    .room_create = room_create,
    .room_destroy = room_destroy,
    .participant_hangup = participant_hangup,
    .participant_mute = participant_mute,
    .call_hangup = call_hangup,
    .call_dial = call_dial,
    .participant_stats = participant_stats,
    .participant_alive = participant_alive,
    .webrtc_offer = ch_sip_webrtc_offer,
};

void ch_sip_bridge_attach(struct ch_sip *sip)
{
	ch_sip_media_ops(&bridge_ops);
	ch_core_set_media(sip->core, &bridge_ops, sip);
}

static bool room_free_h(struct le *le, void *arg)
{
	struct ch_sip *sip = arg;
	struct ch_sip_room *r = le->data;
	ch_sip_media_room_gone(sip, r);
	ch_media_room_destroy(sip->eng, r->room);
	mem_deref(r);
	return false;
}

void ch_sip_bridge_close(struct ch_sip *sip)
{
	ch_core_set_media(sip->core, NULL, NULL);
	hash_apply(sip->rooms, room_free_h, sip);
	ch_sip_media_close(sip);
}

/* ---- engine events ---- */

void ch_sip_talking(struct ch_sip *sip, uint32_t leg, bool talking)
{
	struct ch_sip_call *c = ch_sip_call_by_leg(sip, leg);
	if (c && strcmp(c->conferencecall_id, CH_UUID_NIL))
		ch_conferencecall_talking(sip->core, c->conferencecall_id,
		                          talking);
}

void ch_sip_rtp_timeout(struct ch_sip *sip, uint32_t leg)
{
	struct ch_sip_call *c = ch_sip_call_by_leg(sip, leg);
	if (!c || c->media_down)
		return;
	c->media_down = true;
	ch_log_warn("sip", "call %s: no RTP received: media down", c->id);
}

void ch_sip_rtp_resumed(struct ch_sip *sip, uint32_t leg)
{
	struct ch_sip_call *c = ch_sip_call_by_leg(sip, leg);
	if (!c || !c->media_down)
		return;
	c->media_down = false;
	ch_log_info("sip", "call %s: RTP again: media up", c->id);
}
