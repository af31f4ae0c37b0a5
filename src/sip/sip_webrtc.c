/*
 * sip_webrtc.c: a browser joins a conference (the media layer's
 * webrtc_offer op): its offer checked (webrtc/wsdp.c), a leg made an
 * ICE-lite + DTLS-SRTP transport (media/engine_webrtc.c), a DTLS server
 * for it (webrtc/webrtc_dtls.c), and the call (transport webrtc) and its
 * participant created in one commit like a SIP dial-in. The call is
 * answered and the participant joins once the DTLS handshake is done and
 * the SRTP keys are on the leg; no handshake in 30 s ends it (failed).
 * From then on it is a struct ch_sip_call without a SIP session: hang-up,
 * kick, mute, stats, recording and transcription take the same paths.
 *
 * Threads: control thread only.
 */
#include "sip/sip_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/call.h"
#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "core/core_webrtc.h"
#include "util/log.h"
#include "webrtc/webrtc_dtls.h"
#include "webrtc/wsdp.h"

#define DTLS_WAIT_MS 30000
#define ANSWER_MAX   4096

static int dtls_send_h(const uint8_t *buf, size_t len, const struct sa *dst,
                       void *arg)
{
	struct ch_sip_call *c = arg;
	if (!c->has_leg)
		return ENOENT;
	return ch_media_leg_sendto(c->sip->eng, c->leg, buf, len, dst);
}

static void dtls_estab_h(int suite, const uint8_t *rx_key,
                         const uint8_t *tx_key, size_t key_len, void *arg)
{
	struct ch_sip_call *c = arg;
	if (c->ended || !c->has_leg)
		return;
	int err = ch_media_leg_srtp(c->sip->eng, c->leg, suite, rx_key, tx_key,
	                            key_len);
	if (err) {
		ch_log_warn("webrtc", "call %s: SRTP keys refused: %s", c->id,
		            strerror(err));
		ch_sip_call_end(c, CH_HANGUP_FAILED, NULL);
		return;
	}
	tmr_cancel(&c->tmr);
	c->answered = true;
	c->confirmed = true;
	ch_log_info("webrtc", "call %s established (%s)", c->id, c->codec);
	/* the call's progress and the participant's join: one commit */
	bool txn = !ch_core_txn_begin(c->sip->core);
	ch_call_answered(c->sip->core, c->id, c->codec);
	(void)ch_conferencecall_joined(c->sip->core, c->conferencecall_id);
	if (txn && ch_core_txn_commit(c->sip->core))
		ch_log_warn("webrtc", "call %s: join not stored", c->id);
}

static void dtls_close_h(int err, void *arg)
{
	struct ch_sip_call *c = arg;
	if (c->ended)
		return;
	if (err)
		ch_log_info("webrtc", "call %s: DTLS ended: %s", c->id,
		            err == EAUTH ? "fingerprint or handshake refused"
		                         : strerror(err));
	else
		ch_log_info("webrtc", "call %s: the browser closed DTLS",
		            c->id);
	ch_sip_call_end(
	    c, c->answered && !err ? CH_HANGUP_NORMAL : CH_HANGUP_FAILED, NULL);
}

static void dtls_timeout_h(void *arg)
{
	struct ch_sip_call *c = arg;
	ch_log_info("webrtc", "call %s: no DTLS handshake in %d s", c->id,
	            DTLS_WAIT_MS / 1000);
	ch_sip_call_end(c, CH_HANGUP_FAILED, NULL);
}

/* Engine event: DTLS datagrams wait in the leg's inbox. */
void ch_sip_dtls(struct ch_sip *sip, uint32_t leg)
{
	struct ch_sip_call *c = ch_sip_call_by_leg(sip, leg);
	uint8_t buf[2048];
	struct sa src;
	size_t n;
	if (!c || !c->dtls) {
		/* nobody to hand them to: drop them */
		while (ch_media_leg_dtls_read(sip->eng, leg, buf, sizeof(buf),
		                              &src))
			;
		return;
	}
	mem_ref(c); /* a handler may end the call */
	while (c->dtls && c->has_leg &&
	       (n = ch_media_leg_dtls_read(sip->eng, leg, buf, sizeof(buf),
	                                   &src)) > 0)
		ch_webrtc_dtls_input(c->dtls, &src, buf, n);
	mem_deref(c);
}

static enum ch_media_codec codec_of(enum ch_wsdp_codec c)
{
	switch (c) {
	case CH_WSDP_PCMU:
		return CH_CODEC_PCMU;
	case CH_WSDP_PCMA:
		return CH_CODEC_PCMA;
	default:
		return CH_CODEC_OPUS;
	}
}

static enum ch_media_dir dir_of(enum ch_wsdp_dir d)
{
	/* the room's side: a browser that only sends is only heard */
	switch (d) {
	case CH_WSDP_SENDONLY:
		return CH_DIR_RECVONLY;
	case CH_WSDP_RECVONLY:
		return CH_DIR_SENDONLY;
	case CH_WSDP_INACTIVE:
		return CH_DIR_INACTIVE;
	default:
		return CH_DIR_SENDRECV;
	}
}

/* ICE credentials of our side: ice-chars, 8 and 24 long. */
struct creds {
	char ufrag[9], pwd[25];
};

/* The leg made a WebRTC transport and started, with its DTLS server. */
static int leg_setup(struct ch_sip_call *c, const struct ch_wsdp_offer *o,
                     const struct creds *cr)
{
	struct ch_sip *sip = c->sip;
	int err = ch_media_leg_webrtc(sip->eng, c->leg, cr->ufrag, cr->pwd);
	if (err)
		return err;
	int pt;
	enum ch_wsdp_codec wc = ch_wsdp_choose(o, &pt);
	struct sa none; /* the ICE check chooses the peer, not the SDP */
	sa_init(&none, AF_INET);
	struct ch_media_leg_params p = {
	    .remote = &none,
	    .codec = codec_of(wc),
	    .pt = (uint8_t)pt,
	    .telev_pt = o->telev_pt,
	    .dir = dir_of(o->dir),
	    .rtcp_mux = true,
	};
	snprintf(c->codec, sizeof(c->codec), "%s",
	         ch_media_codec_name(p.codec));
	err = ch_media_leg_start(sip->eng, c->leg, &p);
	if (err)
		return err;
	return ch_webrtc_dtls_alloc(&c->dtls, sip->webrtc_tls, o->fingerprint,
	                            dtls_send_h, dtls_estab_h, dtls_close_h, c);
}

/* The SDP answer for the leg (malloc'd), or NULL. */
static char *answer_of(struct ch_sip_call *c, const struct ch_wsdp_offer *o,
                       const struct creds *cr)
{
	/* the address our SDP would name (public-ip, or the bound one) and
	 * the leg's port */
	struct sa addr;
	ch_sip_local_addr(c->sip, NULL, NULL, &addr);
	uint16_t port = sa_port(sdp_media_laddr(c->sdpm));
	char ip[64], rnd[17];
	if (sa_ntop(&addr, ip, sizeof(ip)))
		return NULL;
	ch_uuid_random_hex(rnd, 8);
	uint64_t r = strtoull(rnd, NULL, 16);
	struct ch_wsdp_local l = {
	    .ice_ufrag = cr->ufrag,
	    .ice_pwd = cr->pwd,
	    .ip = ip,
	    .port = port,
	    .sess_id = r >> 1, /* o= wants a 63-bit number */
	    .ssrc = 0,         /* the engine picks it: unsignaled */
	};
	memcpy(l.fingerprint, c->sip->webrtc_fp, sizeof(l.fingerprint));
	char *text = malloc(ANSWER_MAX);
	if (text && !ch_wsdp_answer(o, &l, text, ANSWER_MAX)) {
		free(text);
		text = NULL;
	}
	return text;
}

static char *endpoint(const char *type, const char *target)
{
	json_t *o = json_pack("{s:s,s:s}", "type", type, "target", target);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return t;
}

/* The call (transport webrtc) and its participant, one commit. */
static int store_call(struct ch_sip_call *c, const struct ch_conference *conf,
                      const char *caller)
{
	struct ch_core *core = c->sip->core;
	char *src = endpoint("webrtc", caller);
	char *dst = endpoint("conference", conf->id);
	struct ch_call call;
	struct ch_conferencecall cc;
	int err = (src && dst) ? ch_core_txn_begin(core) : ENOMEM;
	if (!err) {
		err = ch_call_incoming(core, conf->customer_id, conf->id, src,
		                       dst, "webrtc", "", &call);
		if (err)
			ch_core_txn_abort(core);
	}
	free(src);
	free(dst);
	if (err)
		return err;
	ch_sip_call_set_id(c, call.id);
	ch_call_clear(&call);
	err = ch_conferencecall_create(core, c->conference_id, "call", c->id,
	                               caller, false, &cc);
	if (!err)
		err = ch_call_set_participant(core, c->id, c->conference_id,
		                              cc.id);
	int cerr = ch_core_txn_commit(core);
	if (err)
		return err;
	if (cerr)
		return EIO;
	memcpy(c->conferencecall_id, cc.id, sizeof(c->conferencecall_id));
	return 0;
}

int ch_sip_webrtc_offer(void *arg, const struct ch_conference *conf,
                        const char *sdp, size_t len, const char *caller,
                        struct ch_core_webrtc_answer *out, const char **why)
{
	struct ch_sip *sip = arg;
	struct ch_wsdp_offer o;
	struct ch_sip_call *c = NULL;
	int err = ch_wsdp_parse(sdp, len, &o, why);
	if (err) {
		ch_log_info("webrtc", "offer refused: %s", *why);
		return err;
	}
	if (!sip->webrtc_tls)
		return ENOSYS; /* no certificate (ch_sip_webrtc_init said why)
		                */
	if (ch_sip_conference_full(sip, conf))
		return EXFULL;
	err = ch_sip_call_alloc(&c, sip, conf->id, NULL, NULL);
	if (err)
		return err == EXFULL ? EXFULL : (err == ENOMEM ? ENOMEM : EIO);
	struct creds cr;
	ch_uuid_random_hex(cr.ufrag, 4);
	ch_uuid_random_hex(cr.pwd, 12);
	err = leg_setup(c, &o, &cr);
	if (!err) {
		out->sdp = answer_of(c, &o, &cr);
		if (!out->sdp)
			err = ENOMEM;
	}
	if (!err)
		err = store_call(c, conf, caller);
	if (err) {
		ch_log_warn("webrtc", "offer for conference %s failed: %s",
		            conf->id, strerror(err));
		free(out->sdp);
		out->sdp = NULL;
		ch_sip_call_end(
		    c, err == EXFULL ? CH_HANGUP_BUSY : CH_HANGUP_FAILED, NULL);
		return err == EXFULL || err == ENOMEM ? err : EIO;
	}
	memcpy(out->call_id, c->id, sizeof(out->call_id));
	memcpy(out->conferencecall_id, c->conferencecall_id,
	       sizeof(out->conferencecall_id));
	tmr_start(&c->tmr, DTLS_WAIT_MS, dtls_timeout_h, c);
	ch_log_info("webrtc",
	            "call %s from %s answered into conference %s (%s)", c->id,
	            caller, c->conference_id, c->codec);
	return 0;
}

void ch_sip_webrtc_init(struct ch_sip *sip)
{
	/* at start-up: an RSA 2048 key takes 50-130 ms here, a stall the
	 * control loop must not take in the middle of the first join */
	int err = ch_webrtc_dtls_cert(&sip->webrtc_tls, sip->webrtc_fp);
	if (err)
		ch_log_error("webrtc",
		             "no DTLS certificate (%s): browsers "
		             "cannot join",
		             strerror(err));
}

void ch_sip_webrtc_close(struct ch_sip *sip)
{
	sip->webrtc_tls = mem_deref(sip->webrtc_tls);
}
