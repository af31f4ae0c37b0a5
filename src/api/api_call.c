/*
 * api_call.c: the /calls routes: dial out (POST), list, get, hang up.
 */
#include "api/api_internal.h"
#include "core/call.h"
#include "core/core.h"
#include "core/sip_uri.h"
#include "store/store.h"
#include "util/timefmt.h"

#include <errno.h>
#include <string.h>

static bool valid_endpoint(struct ch_api_req *r, json_t *e, const char *field)
{
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *target = json_string_value(json_object_get(e, "target"));
	if (!json_is_object(e) || !type || strcmp(type, "sip") || !target ||
	    strlen(target) > CH_SIP_URI_MAX) {
		ch_api_error(r, 400, "invalid_field", field,
		             "%s must be {\"type\": \"sip\", \"target\": "
		             "\"sip:user@host[:port]\"}",
		             field);
		return false;
	}
	/* target goes verbatim into the request line, To: or From: */
	const char *why;
	if (ch_sip_uri_check(target, &why)) {
		char f[64];
		snprintf(f, sizeof(f), "%s.target", field);
		ch_api_error(r, 400, "invalid_field", f, "%s %s", f, why);
		return false;
	}
	return true;
}

/* A call's media needs a room: the actions must name the conference the
 * answered call joins (conference_join), optionally with hangup. */
static bool valid_actions(struct ch_api_req *r, json_t *actions)
{
	json_t *a;
	size_t i;
	bool joins = false;
	if (!json_is_array(actions) || json_array_size(actions) > 16) {
		ch_api_error(r, 400, "invalid_field", "actions",
		             "actions must be a list of at most 16 actions");
		return false;
	}
	json_array_foreach(actions, i, a)
	{
		const char *t = json_string_value(json_object_get(a, "type"));
		json_t *opt = json_object_get(a, "option");
		if (t && !strcmp(t, "hangup"))
			continue;
		if (t && !strcmp(t, "conference_join") &&
		    ch_uuid_valid(json_string_value(
		        json_object_get(opt, "conference_id")))) {
			joins = true;
			continue;
		}
		ch_api_error(r, 400, "invalid_field", "actions",
		             "actions[%zu] must be conference_join (with "
		             "option.conference_id) or hangup",
		             i);
		return false;
	}
	if (!joins) {
		ch_api_error(r, 400, "invalid_field", "actions",
		             "actions must include a conference_join");
		return false;
	}
	return true;
}

void ch_api_call_create(struct ch_api_req *r)
{
	json_t *o = ch_api_body_object(r), *src, *dsts, *d, *calls = NULL;
	size_t i;
	int err;
	if (!o)
		return;
	src = json_object_get(o, "source");
	dsts = json_object_get(o, "destinations");
	if (!src)
		src = json_pack("{s:s,s:s}", "type", "sip", "target",
		                "sip:chorus@localhost");
	else
		json_incref(src);
	if (!valid_endpoint(r, src, "source"))
		goto out;
	if (!json_is_array(dsts) || !json_array_size(dsts) ||
	    json_array_size(dsts) > 16) {
		ch_api_error(r, 400, "invalid_field", "destinations",
		             "destinations must be a list of 1 to 16 "
		             "endpoints");
		goto out;
	}
	json_array_foreach(dsts, i, d)
	{
		char f[48];
		snprintf(f, sizeof(f), "destinations[%zu]", i);
		if (!valid_endpoint(r, d, f))
			goto out;
	}
	if (!valid_actions(r, json_object_get(o, "actions")))
		goto out;
	err = ch_call_dial(r->api->core, r->cust.id, src, dsts,
	                   json_object_get(o, "actions"), &calls);
	if (err == ENOTSUP)
		ch_api_error(r, 503, "no_telephony", NULL,
		             "this chorusd has no SIP layer running");
	else if (err == ENOENT)
		ch_api_error(r, 404, "not_found", "actions",
		             "the conference of conference_join does not "
		             "exist");
	else if (err == EBUSY)
		ch_api_error(r, 409, "conference_not_progressing", "actions",
		             "the conference of conference_join is not "
		             "progressing");
	else if (err)
		ch_api_error_core(r, err, "call");
	else
		ch_api_ok(r, json_pack("{s:o}", "calls", calls));
out:
	json_decref(src);
	json_decref(o);
}

void ch_api_call_get(struct ch_api_req *r)
{
	struct ch_call c;
	int err = ch_call_get(r->api->core, r->cust.id, r->id, &c);
	if (err) {
		ch_api_error_core(r, err, "call");
		return;
	}
	ch_api_ok(r, ch_call_to_json(&c));
	ch_call_clear(&c);
}

void ch_api_call_hangup(struct ch_api_req *r)
{
	struct ch_call c;
	int err = ch_call_hangup(r->api->core, r->cust.id, r->id, &c);
	if (err == EBUSY) {
		ch_api_error(r, 409, "call_ended", NULL,
		             "call %s is already hanging up or hung up", r->id);
		return;
	}
	if (err) {
		ch_api_error_core(r, err, "call");
		return;
	}
	ch_api_ok(r, ch_call_to_json(&c));
	ch_call_clear(&c);
}

static int list_h(const struct ch_call *c, void *arg)
{
	return ch_api_list_add(arg, ch_call_to_json(c), c->tm_create);
}

void ch_api_call_list(struct ch_api_req *r)
{
	struct ch_api_list l;
	struct ch_store *st = ch_core_store(r->api->core);
	unsigned size;
	int64_t before;
	if (!ch_api_list_begin(&l, r, &size, &before))
		return;
	int err = st->ops->call_list(st, r->cust.id, before, size, list_h, &l);
	ch_api_list_end(&l, err, size, "call");
}
