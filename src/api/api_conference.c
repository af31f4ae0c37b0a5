/*
 * api_conference.c: the /conferences routes: request validation into
 * core parameters, and the core calls.
 */
#include "api/api_internal.h"
#include "core/actions.h"
#include "core/conference.h"
#include "core/core.h"
#include "core/json_map.h"
#include "core/summary.h"
#include "store/store.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MAX          (INT64_C(365) * 86400)
#define MAX_PARTICIPANTS_MAX 10000

static bool text_field(struct ch_api_req *r, json_t *o, const char *key,
                       bool *has, const char **out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return true;
	if (!json_is_string(v)) {
		ch_api_error(r, 400, "invalid_field", key,
		             "%s must be a string", key);
		return false;
	}
	if (json_string_length(v) > CH_NAME_MAX) {
		ch_api_error(r, 400, "invalid_field", key,
		             "%s is longer than %d bytes", key, CH_NAME_MAX);
		return false;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		ch_api_error(r, 400, "invalid_field", key,
		             "%s must not contain NUL characters", key);
		return false;
	}
	*has = true;
	*out = json_string_value(v);
	return true;
}

/* JSON text kept alive for the params' borrowed pointers. */
struct params_text {
	char *data, *pre, *post;
};

static void params_text_free(struct params_text *t)
{
	free(t->data);
	free(t->pre);
	free(t->post);
}

static bool actions_field(struct ch_api_req *r, json_t *o, const char *key,
                          bool *has, char **text)
{
	json_t *v = json_object_get(o, key);
	char why[512];
	if (!v)
		return true;
	if (ch_actions_check(r->api->core, v, key, why, sizeof(why))) {
		/* the field is the action the message starts with
		 * ("pre_actions[2]"), else the list */
		char field[64];
		size_t n = strlen(key);
		const char *end = strchr(why, ']');
		if (!strncmp(why, key, n) && why[n] == '[' && end &&
		    (size_t)(end - why) + 2 <= sizeof(field))
			snprintf(field, (size_t)(end - why) + 2, "%.63s", why);
		else
			snprintf(field, sizeof(field), "%s", key);
		ch_api_error(r, 400, "invalid_field", field, "%s", why);
		return false;
	}
	*text = json_dumps(v, JSON_COMPACT);
	*has = *text != NULL;
	return true;
}

/* Fields a client may send (type only on create). */
static const char *const writable_fields[] = {
    "type",           "name",        "detail",       "data",
    "timeout",        "pre_actions", "post_actions", "max_participants",
    "max_sample_rate"};
/* Fields the server owns: present in the resource, never writable. */
static const char *const readonly_fields[] = {"id",
                                              "customer_id",
                                              "status",
                                              "conferencecall_ids",
                                              "recording_id",
                                              "recording_ids",
                                              "transcribe_id",
                                              "transcribe_ids",
                                              "playback_status",
                                              "playback_volume",
                                              "end_reason",
                                              "ended_by",
                                              "tm_create",
                                              "tm_update",
                                              "tm_delete"};

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, list[i]))
			return true;
	return false;
}

/* A read-only or unknown field is a 400 naming it, never ignored. */
static bool known_fields(struct ch_api_req *r, json_t *o)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		(void)v;
		if (in_list(key, writable_fields,
		            sizeof(writable_fields) / sizeof(*writable_fields)))
			continue;
		bool ro =
		    in_list(key, readonly_fields,
		            sizeof(readonly_fields) / sizeof(*readonly_fields));
		/* the key came from the client: name it only if printable */
		bool printable = strlen(key) <= 64;
		for (const char *k = key; printable && *k; k++)
			printable = (*k >= 'a' && *k <= 'z') ||
			            (*k >= 'A' && *k <= 'Z') ||
			            (*k >= '0' && *k <= '9') || *k == '_' ||
			            *k == '-' || *k == '.';
		const char *name = printable ? key : "(unprintable)";
		ch_api_error(r, 400, ro ? "read_only_field" : "unknown_field",
		             name,
		             ro ? "%s is read-only"
		                : "%s is not a field of "
		                  "conference",
		             name);
		return false;
	}
	return true;
}

/* Fills p from the body; on error sets a 400 and returns false. */
static bool parse_params(struct ch_api_req *r, json_t *o, bool create,
                         struct ch_conference_params *p, struct params_text *t)
{
	json_t *v;
	memset(p, 0, sizeof(*p));
	memset(t, 0, sizeof(*t));
	if (!known_fields(r, o))
		return false;

	v = json_object_get(o, "type");
	if (create) {
		if (!json_is_string(v) ||
		    ch_conference_type_parse(json_string_value(v), &p->type)) {
			ch_api_error(r, 400, "invalid_field", "type",
			             "type is required: \"conference\" or "
			             "\"connect\"");
			return false;
		}
		p->has_type = true;
	} else if (v) {
		ch_api_error(r, 400, "invalid_field", "type",
		             "type cannot be changed after creation");
		return false;
	}
	v = json_object_get(o, "max_sample_rate");
	if (v && !create) {
		ch_api_error(
		    r, 400, "invalid_field", "max_sample_rate",
		    "max_sample_rate cannot be changed after creation");
		return false;
	}
	if (v) {
		json_int_t hz = json_is_integer(v) ? json_integer_value(v) : 0;
		if (hz < 0 || hz > 48000 ||
		    !ch_conference_rate_valid((int)hz)) {
			ch_api_error(r, 400, "invalid_field", "max_sample_rate",
			             "max_sample_rate must be 8000, 16000 "
			             "(voice, the default) or 48000 (music)");
			return false;
		}
		p->has_max_sample_rate = true;
		p->max_sample_rate = (int)json_integer_value(v);
	}
	if (!text_field(r, o, "name", &p->has_name, &p->name) ||
	    !text_field(r, o, "detail", &p->has_detail, &p->detail))
		return false;
	v = json_object_get(o, "data");
	if (v) {
		if (!json_is_object(v)) {
			ch_api_error(r, 400, "invalid_field", "data",
			             "data must be a JSON object");
			return false;
		}
		t->data = json_dumps(v, JSON_COMPACT);
		if (t->data && strlen(t->data) > 64 * 1024) {
			ch_api_error(r, 400, "invalid_field", "data",
			             "data is larger than 64 KiB");
			return false;
		}
		p->has_data = t->data != NULL;
		p->data = t->data;
	}
	v = json_object_get(o, "timeout");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > TIMEOUT_MAX) {
			ch_api_error(r, 400, "invalid_field", "timeout",
			             "timeout must be an integer number of "
			             "seconds from 0 (none) to %lld",
			             (long long)TIMEOUT_MAX);
			return false;
		}
		p->has_timeout = true;
		p->timeout = json_integer_value(v);
	}
	v = json_object_get(o, "max_participants");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > MAX_PARTICIPANTS_MAX) {
			ch_api_error(r, 400, "invalid_field",
			             "max_participants",
			             "max_participants must be an integer from "
			             "0 (no limit) to %d",
			             MAX_PARTICIPANTS_MAX);
			return false;
		}
		p->has_max_participants = true;
		p->max_participants = (int)json_integer_value(v);
	}
	if (!actions_field(r, o, "pre_actions", &p->has_pre_actions, &t->pre) ||
	    !actions_field(r, o, "post_actions", &p->has_post_actions,
	                   &t->post))
		return false;
	p->pre_actions = t->pre;
	p->post_actions = t->post;
	return true;
}

static void reply_conference(struct ch_api_req *r, struct ch_conference *c)
{
	ch_api_ok(r, ch_conference_to_json(r->api->core, c));
	ch_conference_clear(c);
}

void ch_api_conference_create(struct ch_api_req *r)
{
	struct ch_conference_params p;
	struct params_text t;
	struct ch_conference c;
	json_t *o = ch_api_body_object(r);
	int err;
	if (!o)
		return;
	if (parse_params(r, o, true, &p, &t)) {
		err = ch_conference_create(r->api->core, r->cust.id, &p, &c);
		if (err)
			ch_api_error_core(r, err, "conference");
		else
			reply_conference(r, &c);
	}
	params_text_free(&t);
	json_decref(o);
}

void ch_api_conference_get(struct ch_api_req *r)
{
	struct ch_conference c;
	int err = ch_conference_get(r->api->core, r->cust.id, r->id, &c);
	if (err)
		ch_api_error_core(r, err, "conference");
	else
		reply_conference(r, &c);
}

void ch_api_conference_update(struct ch_api_req *r)
{
	struct ch_conference_params p;
	struct params_text t;
	struct ch_conference c;
	json_t *o = ch_api_body_object(r);
	int err;
	if (!o)
		return;
	if (parse_params(r, o, false, &p, &t)) {
		err = ch_conference_update(r->api->core, r->cust.id, r->id, &p,
		                           &c);
		if (err == EBUSY)
			ch_api_error(r, 409, "conference_terminated", NULL,
			             "conference %s is terminating or "
			             "terminated and cannot be changed",
			             r->id);
		else if (err)
			ch_api_error_core(r, err, "conference");
		else
			reply_conference(r, &c);
	}
	params_text_free(&t);
	json_decref(o);
}

void ch_api_conference_delete(struct ch_api_req *r)
{
	struct ch_conference c;
	int err = ch_conference_delete(r->api->core, r->cust.id, r->id, &c);
	if (err)
		ch_api_error_core(r, err, "conference");
	else
		reply_conference(r, &c);
}

void ch_api_conference_summary(struct ch_api_req *r)
{
	struct ch_summary s;
	int err = ch_summary_get(r->api->core, r->cust.id, r->id, &s);
	if (err) {
		ch_api_error_core(r, err, "conference");
		return;
	}
	ch_api_ok(r, ch_json_map_summary(&s, ch_time_now_us()));
	ch_summary_clear(&s);
}

static int list_h(const struct ch_conference *c, void *arg)
{
	struct ch_api_list *l = arg;
	return ch_api_list_add(l, ch_conference_to_json(l->r->api->core, c),
	                       c->tm_create);
}

void ch_api_conference_list(struct ch_api_req *r)
{
	struct ch_api_list l;
	struct ch_store *st = ch_core_store(r->api->core);
	unsigned size;
	int64_t before;
	if (!ch_api_list_begin(&l, r, &size, &before))
		return;
	int err =
	    st->ops->conference_list(st, r->cust.id, before, size, list_h, &l);
	ch_api_list_end(&l, err, size, "conference");
}
