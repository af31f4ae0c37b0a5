/*
 * api_webrtc.c: browsers join a conference, WHIP-style (RFC 9725 shape):
 * POST /v1.0/conferences/{id}/webrtc with the SDP offer answers 201 with
 * the SDP answer and the session's Location; DELETE /v1.0/webrtc/{id}
 * leaves (the call hangs up as with DELETE /calls/{id}).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <re_types.h>
#include <re_fmt.h>
#include <re_list.h>
#include <re_mbuf.h>
#include <re_msg.h>
#include <re_sa.h>
#include <re_http.h>

#include "api/api_internal.h"
#include "api/join_token.h"
#include "core/call.h"
#include "core/conference.h"
#include "util/timefmt.h"
#include "webrtc/wsdp.h"
#include "core/core_webrtc.h"

#define MAX_NAME 64

/* A display name: 1..64 of letters, digits, space and "._-@". */
static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || strchr(" ._-@", c);
		if (!ok)
			return false;
	}
	return true;
}

/* Over a connection the body must say application/sdp (parameters
 * allowed); ch_api_handle (no headers) takes it as that. */
static bool is_sdp(const struct ch_api_req *r)
{
	static const char want[] = "application/sdp";
	size_t n = sizeof(want) - 1;
	if (!r->msg && !r->ctype)
		return true; /* ch_api_handle, no headers */
	const char *v = r->ctype;
	if (!v || strlen(v) < n || strncasecmp(v, want, n))
		return false;
	return v[n] == '\0' || v[n] == ';' || v[n] == ' ';
}

static void offer_error(struct ch_api_req *r, int err, const char *why)
{
	switch (err) {
	case EBUSY:
		ch_api_error(r, 409, "invalid_state", NULL,
		             "conference %s is not progressing", r->id);
		break;
	case EPROTO:
		ch_api_error(r, 400, "invalid_offer", "body",
		             "offer refused: %s", why ? why : "malformed");
		break;
	case ENOSYS:
		ch_api_error(r, 501, "not_implemented", NULL,
		             "this chorusd takes no WebRTC participants");
		break;
	default:
		ch_api_error_core(r, err, "conference");
		break;
	}
}

/* The request's checks, then the offer to the core, for conf (the
 * customer's); answers r either way. */
static void offer_answer(struct ch_api_req *r, const struct ch_conference *conf)
{
	if (!is_sdp(r)) {
		ch_api_error(r, 415, "unsupported_media_type", "Content-Type",
		             "the offer must be sent as application/sdp");
		return;
	}
	if (!r->body || r->body_len == 0) {
		ch_api_error(r, 400, "invalid_offer", "body",
		             "the body must be an SDP offer");
		return;
	}
	if (r->body_len > CH_WSDP_MAX_LEN) {
		ch_api_error(r, 413, "body_too_large", "body",
		             "the offer is over 64 KiB");
		return;
	}
	const char *name = ch_api_query(r, "name");
	if (name && !name_valid(name)) {
		ch_api_error(
		    r, 400, "invalid_parameter", "name",
		    "name must be 1..64 letters, digits, spaces or ._-@");
		return;
	}
	struct ch_core_webrtc_answer a;
	const char *why = NULL;
	int err = ch_core_webrtc_offer(r->api->core, conf, r->body, r->body_len,
	                               name ? name : "webrtc", &a, &why);
	if (err) {
		offer_error(r, err, why);
		return;
	}
	r->raw = a.sdp; /* owned by r from here */
	r->raw_ctype = "application/sdp";
	r->status = 201;
	snprintf(r->hdrs, sizeof(r->hdrs),
	         "Location: /v1.0/webrtc/%s\r\nX-Chorus-Call-Id: %s\r\n"
	         "X-Chorus-Conferencecall-Id: %s\r\n",
	         a.call_id, a.call_id, a.conferencecall_id);
}

void ch_api_webrtc_offer(struct ch_api_req *r)
{
	/* an unknown or another tenant's conference is 404 whatever the
	 * body, as on every {id} route */
	struct ch_conference conf;
	int err = ch_conference_get(r->api->core, r->cust.id, r->id, &conf);
	if (err) {
		ch_api_error_core(r, err, "conference");
		return;
	}
	offer_answer(r, &conf);
	ch_conference_clear(&conf);
}

void ch_api_webrtc_leave(struct ch_api_req *r)
{
	struct ch_call c;
	int err = ch_call_get(r->api->core, r->cust.id, r->id, &c);
	if (!err) {
		if (strcmp(c.transport, "webrtc"))
			err = ENOENT; /* a SIP call is not a WebRTC session */
		else if (r->join && strcasecmp(c.conference_id, r->join_conf))
			err =
			    ENOENT; /* a join token sees its conference only */
		ch_call_clear(&c);
	}
	if (err) {
		if (err == ENOENT)
			ch_api_error(r, 404, "not_found", NULL,
			             "webrtc session %s not found", r->id);
		else
			ch_api_error_core(r, err, "call");
		return;
	}
	ch_api_call_hangup(r);
}

#define TTL_DEFAULT 600
#define TTL_MIN     10
#define TTL_MAX     86400

/* POST /conferences/{id}/join_tokens: {"ttl_seconds": N} optional. */
void ch_api_join_token_create(struct ch_api_req *r)
{
	json_int_t ttl = TTL_DEFAULT;
	if (r->body_len) {
		json_t *o = ch_api_body_object(r);
		if (!o)
			return;
		json_t *t = json_object_get(o, "ttl_seconds");
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v)
		{
			if (strcmp(k, "ttl_seconds")) {
				ch_api_error(r, 400, "invalid_field", k,
				             "unknown field %s", k);
				json_decref(o);
				return;
			}
		}
		if (t &&
		    (!json_is_integer(t) || json_integer_value(t) < TTL_MIN ||
		     json_integer_value(t) > TTL_MAX)) {
			ch_api_error(r, 400, "invalid_field", "ttl_seconds",
			             "ttl_seconds must be an integer of %d..%d",
			             TTL_MIN, TTL_MAX);
			json_decref(o);
			return;
		}
		if (t)
			ttl = json_integer_value(t);
		json_decref(o);
	}
	struct ch_conference conf;
	int err = ch_conference_get(r->api->core, r->cust.id, r->id, &conf);
	if (err) {
		ch_api_error_core(r, err, "conference");
		return;
	}
	bool ended = conf.status >= CH_CONFERENCE_TERMINATING;
	ch_conference_clear(&conf);
	if (ended) {
		ch_api_error(r, 409, "invalid_state", NULL,
		             "conference %s is terminating or terminated",
		             r->id);
		return;
	}
	int64_t exp_s = ch_time_now_us() / 1000000 + ttl;
	char tok[CH_JOIN_TOKEN_LEN], when[CH_TIME_LEN];
	ch_join_token_mint(r->cust.token_hash, r->id, r->cust.id, exp_s, tok);
	ch_time_format(exp_s * 1000000, when);
	ch_api_ok(r, json_pack("{s:s,s:s,s:s}", "token", tok, "expires", when,
	                       "conference_id", r->id));
}
