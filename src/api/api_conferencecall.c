/*
 * api_conferencecall.c: the /conferencecalls routes: list, get, kick,
 * mute and unmute.
 */
#include "api/api_internal.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "core/json_map.h"
#include "store/store.h"
#include "util/timefmt.h"

#include <errno.h>
#include <string.h>

static void reply_cc(struct ch_api_req *r, const struct ch_conferencecall *cc)
{
	ch_api_ok(r, ch_conferencecall_to_json(r->api->core, cc));
}

void ch_api_conferencecall_get(struct ch_api_req *r)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_get(r->api->core, r->cust.id, r->id, &cc);
	if (err)
		ch_api_error_core(r, err, "conferencecall");
	else
		reply_cc(r, &cc);
}

void ch_api_conferencecall_kick(struct ch_api_req *r)
{
	struct ch_conferencecall cc;
	int err = ch_conferencecall_kick(r->api->core, r->cust.id, r->id, &cc);
	if (err == EBUSY)
		ch_api_error(r, 409, "conferencecall_not_kickable", NULL,
		             "conferencecall %s is leaving or has left; only "
		             "joining or joined participants can be kicked",
		             r->id);
	else if (err)
		ch_api_error_core(r, err, "conferencecall");
	else
		reply_cc(r, &cc);
}

static void mute(struct ch_api_req *r, bool muted)
{
	struct ch_conferencecall cc;
	int err =
	    ch_conferencecall_mute(r->api->core, r->cust.id, r->id, muted, &cc);
	if (err == EBUSY)
		ch_api_error(r, 409, "conferencecall_not_in_conference", NULL,
		             "conferencecall %s is leaving or has left", r->id);
	else if (err)
		ch_api_error_core(r, err, "conferencecall");
	else
		reply_cc(r, &cc);
}

void ch_api_conferencecall_mute(struct ch_api_req *r)
{
	mute(r, true);
}

void ch_api_conferencecall_unmute(struct ch_api_req *r)
{
	mute(r, false);
}

static int list_h(const struct ch_conferencecall *cc, void *arg)
{
	struct ch_api_list *l = arg;
	return ch_api_list_add(
	    l, ch_conferencecall_list_json(l->r->api->core, cc, NULL),
	    cc->tm_create);
}

void ch_api_conferencecall_list(struct ch_api_req *r)
{
	struct ch_api_list l;
	struct ch_store *st = ch_core_store(r->api->core);
	const char *conf = ch_api_query(r, "conference_id");
	unsigned size;
	int64_t before;

	if (conf && !ch_uuid_valid(conf)) {
		ch_api_error(r, 400, "invalid_field", "conference_id",
		             "conference_id must be a UUID");
		return;
	}
	if (!ch_api_list_begin(&l, r, &size, &before))
		return;
	int err = st->ops->conferencecall_list(st, r->cust.id, conf, before,
	                                       size, list_h, &l);
	ch_api_list_end(&l, err, size, "conferencecall");
}
