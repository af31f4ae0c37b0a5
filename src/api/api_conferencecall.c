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

struct list_ctx {
	json_t *arr;
	char last[CH_TIME_LEN];
	unsigned n;
};

static int list_h(const struct ch_conferencecall *cc, void *arg)
{
	struct list_ctx *l = arg;
	json_array_append_new(l->arr, ch_json_map_conferencecall(cc, NULL));
	ch_time_format(cc->tm_create, l->last);
	l->n++;
	return 0;
}

void ch_api_conferencecall_list(struct ch_api_req *r)
{
	struct list_ctx l = {0};
	struct ch_store *st = ch_core_store(r->api->core);
	const char *conf = ch_api_query(r, "conference_id");
	unsigned size;
	int64_t before;
	int err;

	if (!ch_api_page(r, &size, &before))
		return;
	if (conf && !ch_uuid_valid(conf)) {
		ch_api_error(r, 400, "invalid_field", "conference_id",
		             "conference_id must be a UUID");
		return;
	}
	l.arr = json_array();
	err = st->ops->conferencecall_list(st, r->cust.id, conf, before, size,
	                                   list_h, &l);
	if (err) {
		json_decref(l.arr);
		ch_api_error_core(r, err, "conferencecall");
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "result", l.arr);
	json_object_set_new(o, "next_page_token",
	                    json_string(l.n == size ? l.last : ""));
	ch_api_ok(r, o);
}
