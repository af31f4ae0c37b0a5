/*
 * fuzz_sip.c: libFuzzer target for SIP message handling as chorusd does it.
 *
 * The input is one datagram. It is decoded with libre's sip_msg_decode();
 * a message that decodes is read the way sip/sip_ua.c and sip/sip_call.c
 * read it: the method (OPTIONS), the request-URI user (a conference id of
 * 36 characters), From/To (caller name, endpoint JSON), Call-ID,
 * Content-Type, the dialog state sipsess_accept() builds (Contact,
 * Record-Route, tags), and the body, decoded as an SDP offer (requests)
 * or as the answer to our offer (responses) and run through
 * ch_sip_sdp_choose(), then our answer is encoded.
 *
 * libre 1.1.0 hands a request that lacks From, To, Call-ID or CSeq to the
 * listener all the same (later libre answers 400 itself), so none of them
 * is assumed here.
 *
 * CH_FUZZ_STRICT=1 in the environment: also abort when chorusd would copy
 * a field the message does not have. Off by default as it is known to
 * fail: ch_sip_call_incoming() leaves caller[], sip_callid[] and
 * endpoint_json()'s buffer uninitialised when From or Call-ID is missing
 * (pl_strcpy() fails and writes nothing), and stores what was on the
 * stack. A memory-safety run (ASan) cannot see that.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_int.h"

#include <re_main.h>
#include <jansson.h>

static bool strict;

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* As sip_call.c's endpoint_json(): {"type":"sip","target":uri}. */
static void endpoint_json(const struct pl *uri)
{
	char buf[600];
	if (uri->l >= 512)
		return;
	if (pl_strcpy(uri, buf, sizeof(buf))) {
		check(!strict); /* chorusd goes on with buf unset */
		return;
	}
	json_t *o = json_pack("{s:s,s:s}", "type", "sip", "target", buf);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	free(t);
	json_decref(o);
}

/* The body through Chorus's offer/answer; true if a codec was chosen. */
static bool body_sdp(const struct sip_msg *msg)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct mbuf *out = NULL;
	struct ch_media_leg_params p;
	struct sa laddr, remote;
	size_t pos = msg->mb->pos;
	int err = ENOENT;

	sa_set_str(&laddr, "127.0.0.1", 20000);
	if (ch_sip_sdp_alloc(&sess, &m, &laddr))
		return false;
	if (!msg->req && sdp_encode(&out, sess, true))
		goto done;
	out = mem_deref(out);
	if (sdp_decode(sess, msg->mb, msg->req))
		goto done;
	err = ch_sip_sdp_choose(m, &p, &remote);
	check(!err || err == ENOENT);
	if (!err) {
		check(p.codec == CH_CODEC_PCMU || p.codec == CH_CODEC_PCMA ||
		      p.codec == CH_CODEC_G722 || p.codec == CH_CODEC_OPUS);
		check(p.remote == &remote && sa_isset(&remote, SA_ADDR));
	}
	if (!err && msg->req)
		(void)sdp_encode(&out, sess, false);
done:
	msg->mb->pos = pos;
	mem_deref(out);
	mem_deref(sess);
	return !err;
}

/* An INVITE as ch_sip_call_incoming() reads it; sdp_ok: its body had a
 * codec we take (chorusd answers 488 before reading more otherwise). */
static void request(const struct sip_msg *msg, bool sdp_ok)
{
	struct sip_dialog *dlg = NULL;
	char conf_id[CH_UUID_LEN], caller[256], callid[128];

	if (!pl_strcmp(&msg->met, "OPTIONS"))
		return; /* answered 200 without reading more */
	if (pl_strcmp(&msg->met, "INVITE"))
		return;
	if (msg->uri.user.l != 36)
		return;
	check(pl_strcpy(&msg->uri.user, conf_id, sizeof(conf_id)) == 0);
	(void)ch_uuid_valid(conf_id);
	if (!sdp_ok)
		return;

	/* chorusd copies these without looking at the result */
	int e1 = pl_isset(&msg->from.uri.user)
	             ? pl_strcpy(&msg->from.uri.user, caller, sizeof(caller))
	             : pl_strcpy(&msg->from.auri, caller, sizeof(caller));
	int e2 = pl_strcpy(&msg->callid, callid, sizeof(callid));
	check(!strict || (!e1 && !e2));
	endpoint_json(&msg->from.auri);
	endpoint_json(&msg->to.auri);

	/* what sipsess_accept() builds from the INVITE */
	if (!sip_dialog_accept(&dlg, msg)) {
		(void)sip_dialog_callid(dlg);
		(void)sip_dialog_established(dlg);
		(void)sip_dialog_cmp(dlg, msg);
	}
	mem_deref(dlg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strict = getenv("CH_FUZZ_STRICT") != NULL;
	return libre_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct sip_msg *msg = NULL;
	struct mbuf *mb;

	if (n <= 4) /* libre's UDP transport drops these */
		return 0;
	mb = mbuf_alloc(n);
	if (!mb)
		return 0;
	(void)mbuf_write_mem(mb, d, n);
	mb->pos = 0;
	if (sip_msg_decode(&msg, mb))
		goto out;

	(void)msg_ctype_cmp(&msg->ctyp, "application", "sdp");
	(void)sip_msg_hdr(msg, SIP_HDR_CONTACT);
	(void)sip_msg_hdr_count(msg, SIP_HDR_VIA);
	bool sdp_ok = mbuf_get_left(msg->mb) && body_sdp(msg);
	if (msg->req)
		request(msg, sdp_ok);
out:
	mem_deref(msg);
	mem_deref(mb);
	return 0;
}
