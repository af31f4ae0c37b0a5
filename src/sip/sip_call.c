/*
 * sip_call.c: one SIP call: dial-in acceptance, dial-out, offer/answer
 * (re-INVITE for hold and new media addresses), hang-up and the mapping of
 * SIP outcomes to the call's hangup_reason.
 */
#include "sip/sip_int.h"
#include "core/call.h"
#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "core/sip_uri.h"
#include "store/store.h"
#include "util/log.h"

#include <jansson.h>
#include <errno.h>
#include <string.h>

#define ALLOW_HDR "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"

/* Frees the call's media leg, if it holds one. */
static void leg_release(struct ch_sip_call *c)
{
	if (!c->has_leg)
		return;
	ch_media_leg_free(c->sip->eng, c->leg);
	c->has_leg = false;
	hash_unlink(&c->leg_he);
}

static void call_destructor(void *arg)
{
	struct ch_sip_call *c = arg;
	tmr_cancel(&c->tmr);
	c->dtls = mem_deref(c->dtls);
	ch_sip_media_call_gone(c->sip, c);
	list_unlink(&c->le);
	hash_unlink(&c->id_he);
	hash_unlink(&c->leg_he);
	list_unlink(&c->unc_le);
	mem_deref(c->sess);
	mem_deref(c->sdp);
}

int ch_sip_call_alloc(struct ch_sip_call **cp, struct ch_sip *sip,
                      const char *conference_id, const struct sa *peer,
                      const struct sa *via)
{
	struct ch_sip_call *c = mem_zalloc(sizeof(*c), call_destructor);
	uint32_t room;
	struct sa local;
	int err;
	if (!c)
		return ENOMEM;
	c->sip = sip;
	if (peer)
		c->peer = *peer;
	tmr_init(&c->tmr);
	snprintf(c->conference_id, sizeof(c->conference_id), "%s",
	         conference_id);
	memcpy(c->conferencecall_id, CH_UUID_NIL, CH_UUID_LEN);
	err = ch_sip_room_of(sip, conference_id, &room);
	if (!err)
		err = ch_media_leg_alloc(sip->eng, room, &c->leg, &local);
	if (err) {
		mem_deref(c);
		return err;
	}
	c->has_leg = true;
	hash_append(sip->calls_by_leg, c->leg, &c->leg_he, c);
	/* a participant hears and is heard once it has joined */
	(void)ch_media_leg_isolate(sip->eng, c->leg, true);
	struct sa maddr;
	ch_sip_local_addr(sip, peer, via, &maddr);
	sa_set_port(&maddr, sa_port(&local));
	err = ch_sip_sdp_alloc(&c->sdp, &c->sdpm, &maddr);
	if (err) {
		leg_release(c);
		mem_deref(c);
		return err;
	}
	list_append(&sip->calls, &c->le, c);
	*cp = c;
	return 0;
}

static bool id_cmp(struct le *le, void *arg)
{
	const struct ch_sip_call *c = le->data;
	return !c->ended && !strcmp(c->id, arg);
}

void ch_sip_call_set_id(struct ch_sip_call *c, const char *id)
{
	memcpy(c->id, id, sizeof(c->id));
	hash_unlink(&c->id_he);
	hash_append(c->sip->calls_by_id, hash_joaat_str(c->id), &c->id_he, c);
}

struct ch_sip_call *ch_sip_call_find(struct ch_sip *sip, const char *call_id)
{
	struct le *le = hash_lookup(sip->calls_by_id, hash_joaat_str(call_id),
	                            id_cmp, (void *)call_id);
	return le ? le->data : NULL;
}

static bool leg_cmp(struct le *le, void *arg)
{
	const struct ch_sip_call *c = le->data;
	return !c->ended && c->has_leg && c->leg == *(const uint32_t *)arg;
}

struct ch_sip_call *ch_sip_call_by_leg(struct ch_sip *sip, uint32_t leg)
{
	struct le *le = hash_lookup(sip->calls_by_leg, leg, leg_cmp, &leg);
	return le ? le->data : NULL;
}

int ch_sip_call_media_update(struct ch_sip_call *c)
{
	struct ch_media_leg_params p;
	struct sa remote;
	int err = ch_sip_sdp_choose(c->sdpm, &p, &remote);
	if (err)
		return err;
	p.sig_src = &c->sig_src;
	snprintf(c->codec, sizeof(c->codec), "%s",
	         ch_media_codec_name(p.codec));
	return ch_media_leg_start(c->sip->eng, c->leg, &p);
}

static void free_h(void *arg)
{
	mem_deref(arg);
}

void ch_sip_call_end(struct ch_sip_call *c, const char *reason,
                     const char *leave_reason)
{
	char id[CH_UUID_LEN];
	if (c->ended)
		return;
	/* the participant's last figures, while its leg is still there */
	if (c->has_leg && strcmp(c->conferencecall_id, CH_UUID_NIL))
		ch_conferencecall_quality_sample(c->sip->core,
		                                 c->conferencecall_id);
	c->ended = true;
	tmr_cancel(&c->tmr);
	list_unlink(&c->unc_le);
	c->dtls = mem_deref(c->dtls); /* its close_notify leaves by the leg */
	leg_release(c);
	/* Dropping the session sends BYE (or CANCEL) when still needed; a
	 * terminated one is dropped on the next loop turn. */
	memcpy(id, c->id, sizeof(id));
	tmr_start(&c->tmr, 0, free_h, c);
	if (id[0])
		ch_call_ended(c->sip->core, id, reason, leave_reason);
}

/* ---- session handlers ---- */

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct ch_sip_call *c = arg;
	const char *why = NULL;
	/* checked before libre decodes it into the session */
	int err = ch_sip_sdp_check(msg->mb, &why);
	if (!err)
		err = sdp_decode(c->sdp, msg->mb, true);
	c->sig_src = msg->src;
	if (!err)
		err = ch_sip_call_media_update(c);
	if (err) {
		/* libre answers 488; the leg keeps its media */
		ch_log_warn("sip", "call %s: re-INVITE offer refused: %s",
		            c->id, why ? why : "no codec we take");
		return err;
	}
	ch_log_info("sip", "call %s: media updated (%s)", c->id,
	            sdp_dir_name(sdp_media_rdir(c->sdpm)));
	return sdp_encode(descp, c->sdp, false);
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct ch_sip_call *c = arg;
	const char *why = NULL;
	int err = ch_sip_sdp_check(msg->mb, &why);
	if (!err)
		err = sdp_decode(c->sdp, msg->mb, false);
	c->sig_src = msg->src;
	if (!err)
		err = ch_sip_call_media_update(c);
	if (err)
		ch_log_warn("sip", "call %s: answer refused: %s", c->id,
		            why ? why : "no codec we take");
	return err;
}

static void progr_h(const struct sip_msg *msg, void *arg)
{
	struct ch_sip_call *c = arg;
	(void)msg;
	ch_call_ringing(c->sip->core, c->id);
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct ch_sip_call *c = arg;
	(void)msg;
	tmr_cancel(&c->tmr); /* ring time, or the wait for the ACK */
	c->answered = true;
	c->confirmed = true;
	list_unlink(&c->unc_le);
	ch_log_info("sip", "call %s established (%s)", c->id, c->codec);
	if (c->outgoing) {
		/* runs the call's actions: conference_join */
		ch_call_answered(c->sip->core, c->id, c->codec);
		return;
	}
	/* the call's progress and the participant's join: one commit */
	bool txn = !ch_core_txn_begin(c->sip->core);
	ch_call_answered(c->sip->core, c->id, c->codec);
	(void)ch_conferencecall_joined(c->sip->core, c->conferencecall_id);
	if (txn && ch_core_txn_commit(c->sip->core))
		ch_log_warn("sip", "call %s: join not stored", c->id);
}

static const char *reason_of_response(uint16_t scode)
{
	switch (scode) {
	case 486:
	case 600:
		return CH_HANGUP_BUSY;
	case 408:
	case 480:
	case 487:
		return CH_HANGUP_NOANSWER;
	case 401:
	case 403:
	case 404:
	case 407:
	case 484:
	case 603:
		return CH_HANGUP_REJECTED;
	default:
		return CH_HANGUP_FAILED;
	}
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct ch_sip_call *c = arg;
	const char *reason = CH_HANGUP_NORMAL;

	if (msg && !msg->req && msg->scode >= 300)
		reason = reason_of_response(msg->scode);
	else if (err == ETIMEDOUT && !c->answered)
		reason = c->outgoing ? CH_HANGUP_NOANSWER : CH_HANGUP_FAILED;
	else if (err && !c->answered)
		reason = CH_HANGUP_FAILED;
	ch_log_info("sip", "call %s closed by the far end: %s (%s)", c->id,
	            reason, err ? strerror(err) : "BYE");
	ch_sip_call_end(c, reason, "hangup");
}

/* ---- dial-in ---- */

static int count_h(const struct ch_conferencecall *cc, void *arg)
{
	(void)cc;
	(*(int *)arg)++;
	return 0;
}

bool ch_sip_conference_full(struct ch_sip *sip,
                            const struct ch_conference *conf)
{
	struct ch_store *st = ch_core_store(sip->core);
	int present = 0;
	return conf->max_participants > 0 &&
	       !st->ops->conferencecall_list_present(st, conf->id, count_h,
	                                             &present) &&
	       present >= conf->max_participants;
}

static void reject(struct ch_sip *sip, const struct sip_msg *msg,
                   uint16_t scode, const char *reason)
{
	char ruri[256];
	pl_strcpy(&msg->ruri, ruri, sizeof(ruri));
	ch_log_info("sip", "INVITE %s rejected: %u %s", ruri, scode, reason);
	(void)sip_treply(NULL, sip->sip, msg, scode, reason);
}

static void ack_timeout_h(void *arg)
{
	struct ch_sip_call *c = arg;
	ch_log_info("sip", "call %s: no ACK within %u s, ended", c->id,
	            c->sip->ack_timeout_s);
	ch_sip_call_end(c, CH_HANGUP_FAILED, "hangup");
}

/* Writes the JSON text {"type":"sip","target":uri} into a new string. */
static char *endpoint_json(const struct pl *uri)
{
	char buf[600] = "";
	if (!pl_isset(uri) || uri->l >= 512)
		return NULL;
	pl_strcpy(uri, buf, sizeof(buf));
	json_t *o = json_pack("{s:s,s:s}", "type", "sip", "target", buf);
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

void ch_sip_call_incoming(struct ch_sip *sip, const struct sip_msg *msg)
{
	struct ch_conference conf;
	struct ch_call call;
	struct ch_conferencecall cc;
	struct ch_sip_call *c = NULL;
	struct mbuf *desc = NULL;
	char conf_id[CH_UUID_LEN], caller[256] = "", sip_callid[128] = "";
	char *src = NULL, *dst = NULL;
	const char *why;
	int err;

	/* libre hands over INVITEs without these; nothing below may read
	 * a header that is not there */
	if (!pl_isset(&msg->from.auri) || !pl_isset(&msg->to.auri) ||
	    !pl_isset(&msg->callid) || !pl_isset(&msg->cseq.met)) {
		reject(sip, msg, 400, "Bad Request");
		return;
	}
	if (msg->uri.user.l != 36) {
		reject(sip, msg, 404, "Not Found");
		return;
	}
	pl_strcpy(&msg->uri.user, conf_id, sizeof(conf_id));
	if (!ch_uuid_valid(conf_id) ||
	    ch_conference_get(sip->core, NULL, conf_id, &conf)) {
		reject(sip, msg, 404, "Not Found");
		return;
	}
	if (sip->owner_h) {
		/* another node mixes it: the caller goes there */
		char uri[160];
		err = sip->owner_h(sip->owner_arg, conf_id, uri, sizeof(uri));
		if (!err && !strncmp(uri, "sip:", 4)) {
			ch_conference_clear(&conf);
			ch_log_info("sip", "INVITE for %s redirected to %s",
			            conf_id, uri);
			(void)sip_treplyf(NULL, NULL, sip->sip, msg, false, 302,
			                  "Moved Temporarily",
			                  "Contact: <sip:%s@%s>\r\n"
			                  "Content-Length: 0\r\n\r\n",
			                  conf_id, uri + 4);
			return;
		}
		if (err == EHOSTDOWN) {
			ch_conference_clear(&conf);
			reject(sip, msg, 503, "Service Unavailable");
			return;
		}
	}
	if (conf.status != CH_CONFERENCE_PROGRESSING) {
		ch_conference_clear(&conf);
		reject(sip, msg, 480, "Temporarily Unavailable");
		return;
	}
	if (ch_sip_conference_full(sip, &conf)) {
		ch_conference_clear(&conf);
		reject(sip, msg, 486, "Busy Here");
		return;
	}
	if (ch_sip_sdp_check(msg->mb, &why)) {
		ch_log_info("sip", "offer refused: %s", why);
		ch_conference_clear(&conf);
		reject(sip, msg, 488, "Not Acceptable Here");
		return;
	}
	err = ch_sip_call_alloc(&c, sip, conf.id, &msg->src, &msg->dst);
	if (err) {
		ch_conference_clear(&conf);
		if (err == EXFULL) /* the media room is full */
			reject(sip, msg, 486, "Busy Here");
		else
			reject(sip, msg, 503, "Service Unavailable");
		return;
	}
	c->sig_src = msg->src;
	err = sdp_decode(c->sdp, msg->mb, true);
	if (!err)
		err = ch_sip_call_media_update(c);
	if (err) {
		ch_log_info("sip", "offer refused: %s",
		            err == ENOENT ? "no codec we take" : strerror(err));
		ch_conference_clear(&conf);
		c->ended = true;
		leg_release(c);
		mem_deref(c);
		reject(sip, msg, 488, "Not Acceptable Here");
		return;
	}
	if (pl_isset(&msg->from.uri.user))
		pl_strcpy(&msg->from.uri.user, caller, sizeof(caller));
	else
		pl_strcpy(&msg->from.auri, caller, sizeof(caller));
	pl_strcpy(&msg->callid, sip_callid, sizeof(sip_callid));
	src = endpoint_json(&msg->from.auri);
	dst = endpoint_json(&msg->to.auri);
	/* the call, its participant and their events: one commit, before
	 * the 200 OK */
	err = (src && dst) ? ch_core_txn_begin(sip->core) : ENOMEM;
	if (!err) {
		err = ch_call_incoming(sip->core, conf.customer_id, conf.id,
		                       src, dst, "sip", sip_callid, &call);
		if (err)
			ch_core_txn_abort(sip->core);
	}
	ch_conference_clear(&conf);
	free(src);
	free(dst);
	if (err)
		goto fail;
	ch_sip_call_set_id(c, call.id);
	ch_call_clear(&call);
	err = ch_conferencecall_create(sip->core, c->conference_id, "call",
	                               c->id, caller, false, &cc);
	if (!err)
		err = ch_call_set_participant(sip->core, c->id,
		                              c->conference_id, cc.id);
	int cerr = ch_core_txn_commit(sip->core);
	if (!err && cerr) {
		/* nothing of it was stored: the call is no more */
		reject(sip, msg, 500, "Server Internal Error");
		ch_sip_call_end(c, CH_HANGUP_FAILED, NULL);
		return;
	}
	if (err) {
		uint16_t sc = err == EXFULL ? 486 : 480;
		reject(sip, msg, sc,
		       err == EXFULL ? "Busy Here" : "Temporarily Unavailable");
		ch_sip_call_end(
		    c, err == EXFULL ? CH_HANGUP_BUSY : CH_HANGUP_REJECTED,
		    NULL);
		return;
	}
	memcpy(c->conferencecall_id, cc.id, sizeof(c->conferencecall_id));
	err = sdp_encode(&desc, c->sdp, false);
	if (!err)
		err = sipsess_accept(&c->sess, sip->sock, msg, 200, "OK",
		                     "chorus", "application/sdp", desc, NULL,
		                     NULL, false, offer_h, answer_h, estab_h,
		                     NULL, NULL, close_h, c, ALLOW_HDR);
	mem_deref(desc);
	if (err) {
		ch_log_warn("sip", "call %s: accept failed: %s", c->id,
		            strerror(err));
		ch_sip_call_end(c, CH_HANGUP_FAILED, NULL);
		return;
	}
	c->answered = true;
	list_append(&sip->unconfirmed, &c->unc_le, c);
	/* no ACK (a flood, or a peer that cannot reach our Contact): free the
	 * ports well before libre's timer H (64*T1 = 32 s) */
	tmr_start(&c->tmr, (uint64_t)sip->ack_timeout_s * 1000, ack_timeout_h,
	          c);
	ch_log_info("sip", "call %s from %s answered into conference %s", c->id,
	            caller, c->conference_id);
	return;
fail:
	reject(sip, msg, 500, "Server Internal Error");
	c->ended = true;
	leg_release(c);
	mem_deref(c);
}

/* ---- dial-out ---- */

static void ring_timeout_h(void *arg)
{
	struct ch_sip_call *c = arg;
	ch_log_info("sip", "call %s: no answer", c->id);
	ch_sip_call_end(c, CH_HANGUP_NOANSWER, NULL);
}

int ch_sip_call_dial(struct ch_sip *sip, const struct ch_call *call)
{
	struct ch_sip_call *c;
	struct mbuf *desc = NULL;
	char from[600], contact_user[] = "chorus";
	json_t *dst = json_loads(call->destination, 0, NULL);
	json_t *src = json_loads(call->source, 0, NULL);
	const char *to = json_string_value(json_object_get(dst, "target"));
	const char *fr = json_string_value(json_object_get(src, "target"));
	int err;

	/* the API checked these; they go verbatim into the INVITE */
	if (ch_sip_uri_check(to, NULL) || (fr && ch_sip_uri_check(fr, NULL))) {
		err = EINVAL;
		goto out;
	}
	snprintf(from, sizeof(from), "%s", fr ? fr : "sip:chorus@localhost");
	struct sa peer;
	struct pl tpl;
	struct uri turi;
	pl_set_str(&tpl, to);
	sa_init(&peer, AF_UNSPEC);
	if (!uri_decode(&turi, &tpl))
		(void)sa_set(&peer, &turi.host, turi.port);
	err = ch_sip_call_alloc(&c, sip, call->conference_id, &peer, NULL);
	if (err)
		goto out;
	ch_sip_call_set_id(c, call->id);
	c->outgoing = true;
	err = sdp_encode(&desc, c->sdp, true);
	if (!err)
		err = sipsess_connect(&c->sess, sip->sock, to, "Chorus", from,
		                      contact_user, NULL, 0, "application/sdp",
		                      desc, NULL, NULL, false, offer_h,
		                      answer_h, progr_h, estab_h, NULL, NULL,
		                      close_h, c, ALLOW_HDR);
	mem_deref(desc);
	if (err) {
		c->ended = true;
		leg_release(c);
		mem_deref(c);
		goto out;
	}
	tmr_start(&c->tmr, (uint64_t)sip->dial_timeout_s * 1000, ring_timeout_h,
	          c);
	ch_log_info("sip", "call %s: dialing %s", c->id, to);
out:
	json_decref(dst);
	json_decref(src);
	return err;
}

void ch_sip_owner_set(struct ch_sip *s, ch_sip_owner_h *h, void *arg)
{
	s->owner_h = h;
	s->owner_arg = arg;
}
