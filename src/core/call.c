/*
 * call.c: the call state machine, its events (call.created,
 * call.updated) and the actions an answered outgoing call runs.
 */
#include "core/call.h"
#include "core/conferencecall.h"
#include "core/core_internal.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_uri.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Actions waiting for an outgoing call to be answered. Owned by
 * core->call_actions; control thread only. */
struct call_actions {
	struct le le;
	char call_id[CH_UUID_LEN];
	json_t *actions;
};

void ch_call_flush_actions(struct ch_core *core)
{
	while (core->call_actions.head) {
		struct call_actions *a = core->call_actions.head->data;
		list_unlink(&a->le);
		json_decref(a->actions);
		free(a);
	}
}

static struct call_actions *actions_take(struct ch_core *core, const char *id)
{
	for (struct le *le = core->call_actions.head; le; le = le->next) {
		struct call_actions *a = le->data;
		if (!strcmp(a->call_id, id)) {
			list_unlink(&a->le);
			return a;
		}
	}
	return NULL;
}

json_t *ch_call_to_json(const struct ch_call *c)
{
	char ts[3][CH_TIME_LEN];
	json_t *o = json_object();
	if (!o)
		return NULL;
	ch_time_format(c->tm_create, ts[0]);
	ch_time_format(c->tm_update, ts[1]);
	ch_time_format(c->tm_delete, ts[2]);
	json_object_set_new(o, "id", json_string(c->id));
	json_object_set_new(o, "customer_id", json_string(c->customer_id));
	json_object_set_new(o, "direction", json_string(c->direction));
	json_object_set_new(o, "source", json_loads(c->source, 0, NULL));
	json_object_set_new(o, "destination",
	                    json_loads(c->destination, 0, NULL));
	json_object_set_new(o, "transport", json_string(c->transport));
	json_object_set_new(o, "codec", json_string(c->codec));
	json_object_set_new(o, "status",
	                    json_string(ch_call_status_str(c->status)));
	json_object_set_new(o, "hangup_reason", json_string(c->hangup_reason));
	json_object_set_new(o, "conference_id", json_string(c->conference_id));
	json_object_set_new(o, "conferencecall_id",
	                    json_string(c->conferencecall_id));
	json_object_set_new(o, "tm_create", json_string(ts[0]));
	json_object_set_new(o, "tm_update", json_string(ts[1]));
	json_object_set_new(o, "tm_delete", json_string(ts[2]));
	return o;
}

static int call_event(struct ch_core *core, const struct ch_call *c,
                      const char *type)
{
	json_t *f = json_object();
	if (!f)
		return ENOMEM;
	json_object_set_new(f, "status",
	                    json_string(ch_call_status_str(c->status)));
	json_object_set_new(f, "call", ch_call_to_json(c));
	return ch_events_add(core->ev, c->customer_id, c->conference_id, type,
	                     f);
}

/* Saves a changed call with its call.updated event. */
static int save(struct ch_core *core, struct ch_call *c)
{
	int err = ch_core_txn_begin(core);
	if (err)
		return err;
	c->tm_update = ch_time_now_us();
	err = core->st->ops->call_update(core->st, c);
	if (!err)
		err = call_event(core, c, "call.updated");
	if (err) {
		ch_core_txn_abort(core);
		return err;
	}
	return ch_core_txn_commit(core);
}

static int insert(struct ch_core *core, struct ch_call *c)
{
	int err = ch_core_txn_begin(core);
	if (err)
		return err;
	err = core->st->ops->call_insert(core->st, c);
	if (!err)
		err = ch_core_owner_mark(core, c->id);
	if (!err)
		err = call_event(core, c, "call.created");
	if (err) {
		ch_core_txn_abort(core);
		return err;
	}
	return ch_core_txn_commit(core);
}

static void init_call(struct ch_call *c, const char *customer_id,
                      const char *direction, const char *transport)
{
	memset(c, 0, sizeof(*c));
	ch_uuid_new(c->id);
	snprintf(c->customer_id, sizeof(c->customer_id), "%s", customer_id);
	snprintf(c->direction, sizeof(c->direction), "%s", direction);
	snprintf(c->transport, sizeof(c->transport), "%s", transport);
	memcpy(c->conference_id, CH_UUID_NIL, CH_UUID_LEN);
	memcpy(c->conferencecall_id, CH_UUID_NIL, CH_UUID_LEN);
	c->tm_create = c->tm_update = ch_time_now_us();
	c->tm_delete = CH_TIME_NEVER_US;
}

int ch_call_incoming(struct ch_core *core, const char *customer_id,
                     const char *conference_id, const char *source,
                     const char *destination, const char *transport,
                     const char *sip_call_id, struct ch_call *out)
{
	struct ch_call c;
	int err;
	init_call(&c, customer_id, "incoming", transport);
	if (conference_id)
		snprintf(c.conference_id, sizeof(c.conference_id), "%s",
		         conference_id);
	c.status = CH_CALL_RINGING;
	c.source = strdup(source);
	c.destination = strdup(destination);
	snprintf(c.sip_call_id, sizeof(c.sip_call_id), "%s", sip_call_id);
	if (!c.source || !c.destination) {
		ch_call_clear(&c);
		return ENOMEM;
	}
	err = insert(core, &c);
	if (err) {
		ch_call_clear(&c);
		return err;
	}
	*out = c;
	return 0;
}

int ch_call_dial(struct ch_core *core, const char *customer_id, json_t *source,
                 json_t *destinations, json_t *actions, json_t **calls)
{
	json_t *arr = json_array(), *d;
	size_t i;
	if (!arr)
		return ENOMEM;
	if (!core->media || !core->media->call_dial) {
		json_decref(arr);
		return ENOTSUP;
	}
	/* a conference_join target must be the customer's and progressing */
	json_t *a;
	size_t k;
	json_array_foreach(actions, k, a)
	{
		const char *t = json_string_value(json_object_get(a, "type"));
		const char *conf = json_string_value(json_object_get(
		    json_object_get(a, "option"), "conference_id"));
		struct ch_conference c;
		if (!t || strcmp(t, "conference_join") || !conf)
			continue;
		/* c is filled only on success: clear it only then */
		int err = core->st->ops->conference_get(core->st, conf,
		                                        customer_id, &c);
		if (!err) {
			if (c.status != CH_CONFERENCE_PROGRESSING)
				err = EBUSY;
			ch_conference_clear(&c);
		}
		if (err) {
			json_decref(arr);
			return err;
		}
	}
	json_array_foreach(destinations, i, d)
	{
		struct ch_call c;
		int err;
		init_call(&c, customer_id, "outgoing", "sip");
		c.status = CH_CALL_DIALING;
		/* the room the call's media goes to: its conference_join */
		json_array_foreach(actions, k, a)
		{
			const char *t =
			    json_string_value(json_object_get(a, "type"));
			const char *conf = json_string_value(json_object_get(
			    json_object_get(a, "option"), "conference_id"));
			if (t && conf && !strcmp(t, "conference_join")) {
				snprintf(c.conference_id,
				         sizeof(c.conference_id), "%s", conf);
				break;
			}
		}
		c.source = json_dumps(source, JSON_COMPACT);
		c.destination = json_dumps(d, JSON_COMPACT);
		if (!c.source || !c.destination) {
			ch_call_clear(&c);
			json_decref(arr);
			return ENOMEM;
		}
		err = insert(core, &c);
		if (err) {
			ch_call_clear(&c);
			json_decref(arr);
			return err;
		}
		if (actions && json_array_size(actions)) {
			struct call_actions *a = calloc(1, sizeof(*a));
			if (a) {
				memcpy(a->call_id, c.id, CH_UUID_LEN);
				a->actions = json_incref(actions);
				list_append(&core->call_actions, &a->le, a);
			}
		}
		err = core->media->call_dial(core->media_arg, &c);
		if (err) {
			ch_log_warn("core", "call %s: dial failed: %s", c.id,
			            strerror(err));
			char id[CH_UUID_LEN];
			memcpy(id, c.id, sizeof(id));
			/* a full media room is busy, as a full conference */
			ch_call_ended(core, id,
			              err == EXFULL ? CH_HANGUP_BUSY
			                            : CH_HANGUP_FAILED,
			              NULL);
			ch_call_clear(&c);
			if (ch_call_get(core, NULL, id, &c))
				continue;
		}
		json_array_append_new(arr, ch_call_to_json(&c));
		ch_call_clear(&c);
	}
	*calls = arr;
	return 0;
}

int ch_call_get(struct ch_core *core, const char *customer_id, const char *id,
                struct ch_call *out)
{
	return core->st->ops->call_get(core->st, id, customer_id, out);
}

void ch_call_ringing(struct ch_core *core, const char *id)
{
	struct ch_call c;
	if (ch_call_get(core, NULL, id, &c))
		return;
	if (c.status == CH_CALL_DIALING) {
		c.status = CH_CALL_RINGING;
		(void)save(core, &c);
	}
	ch_call_clear(&c);
}

/* caller_id of a dial-out participant, the same form as a dial-in's (the
 * From user part, as libre decodes it): the target URI's user, else the
 * whole URI. */
static void caller_of_target(const char *target, char *out, size_t size)
{
	struct pl pl;
	struct uri u;
	pl_set_str(&pl, target);
	if (!uri_decode(&u, &pl) && pl_isset(&u.user))
		(void)pl_strcpy(&u.user, out, size);
	else
		snprintf(out, size, "%s", target);
}

/* Runs an answered call's actions: conference_join and hangup. */
static void run_actions(struct ch_core *core, const struct ch_call *c,
                        json_t *actions)
{
	json_t *a;
	size_t i;
	json_array_foreach(actions, i, a)
	{
		const char *type =
		    json_string_value(json_object_get(a, "type"));
		json_t *opt = json_object_get(a, "option");
		if (!type)
			continue;
		if (!strcmp(type, "hangup")) {
			(void)ch_call_hangup(core, NULL, c->id, NULL);
			return;
		}
		if (!strcmp(type, "conference_join")) {
			const char *conf = json_string_value(
			    json_object_get(opt, "conference_id"));
			bool eoe = json_is_true(
			    json_object_get(opt, "end_conference_on_exit"));
			struct ch_conferencecall cc;
			json_t *dst = json_loads(c->destination, 0, NULL);
			const char *target =
			    json_string_value(json_object_get(dst, "target"));
			char caller[256] = "";
			if (target)
				caller_of_target(target, caller,
				                 sizeof(caller));
			int err = conf ? ch_conferencecall_create(
			                     core, conf, "call", c->id, caller,
			                     eoe, &cc)
			               : ENOENT;
			json_decref(dst);
			if (err) {
				ch_log_warn("core",
				            "call %s: conference_join "
				            "failed: %s",
				            c->id, strerror(err));
				(void)ch_call_hangup(core, NULL, c->id, NULL);
				return;
			}
			(void)ch_call_set_participant(core, c->id, conf, cc.id);
			(void)ch_conferencecall_joined(core, cc.id);
			return; /* the call stays in the conference */
		}
	}
}

void ch_call_answered(struct ch_core *core, const char *id, const char *codec)
{
	struct ch_call c;
	struct call_actions *a;
	if (ch_call_get(core, NULL, id, &c))
		return;
	if (c.status < CH_CALL_PROGRESSING) {
		c.status = CH_CALL_PROGRESSING;
		snprintf(c.codec, sizeof(c.codec), "%s", codec ? codec : "");
		if (save(core, &c)) {
			ch_call_clear(&c);
			return;
		}
	}
	a = actions_take(core, id);
	if (a) {
		run_actions(core, &c, a->actions);
		json_decref(a->actions);
		free(a);
	}
	ch_call_clear(&c);
}

int ch_call_set_participant(struct ch_core *core, const char *id,
                            const char *conference_id,
                            const char *conferencecall_id)
{
	struct ch_call c;
	int err = ch_call_get(core, NULL, id, &c);
	if (err)
		return err;
	snprintf(c.conference_id, sizeof(c.conference_id), "%s", conference_id);
	snprintf(c.conferencecall_id, sizeof(c.conferencecall_id), "%s",
	         conferencecall_id);
	err = save(core, &c);
	ch_call_clear(&c);
	return err;
}

void ch_call_ended(struct ch_core *core, const char *id, const char *reason,
                   const char *leave_reason)
{
	struct ch_call c;
	struct call_actions *a = actions_take(core, id);
	if (a) {
		json_decref(a->actions);
		free(a);
	}
	if (ch_call_get(core, NULL, id, &c))
		return;
	/* the call's end and its participant's leave: one commit */
	bool txn = !ch_core_txn_begin(core);
	if (c.status != CH_CALL_HANGUP) {
		c.status = CH_CALL_HANGUP;
		snprintf(c.hangup_reason, sizeof(c.hangup_reason), "%s",
		         reason);
		c.tm_delete = ch_time_now_us();
		if (!save(core, &c))
			ch_log_info("core", "call %s ended (%s)", c.id, reason);
	}
	if (strcmp(c.conferencecall_id, CH_UUID_NIL) && c.conferencecall_id[0])
		(void)ch_conferencecall_left(core, c.conferencecall_id,
		                             leave_reason ? leave_reason
		                                          : "hangup");
	if (txn && ch_core_txn_commit(core))
		ch_log_warn("core", "call %s: end not stored", c.id);
	ch_call_clear(&c);
}

int ch_call_hangup(struct ch_core *core, const char *customer_id,
                   const char *id, struct ch_call *out)
{
	struct ch_call c;
	int err = ch_call_get(core, customer_id, id, &c);
	if (err)
		return err;
	if (c.status >= CH_CALL_TERMINATING) {
		ch_call_clear(&c);
		return EBUSY;
	}
	c.status = CH_CALL_TERMINATING;
	err = save(core, &c);
	if (!err && core->media && core->media->call_hangup)
		core->media->call_hangup(core->media_arg, &c);
	else if (!err)
		ch_call_ended(core, c.id, CH_HANGUP_NORMAL, NULL);
	if (!err && out) {
		ch_call_clear(&c);
		return ch_call_get(core, customer_id, id, out);
	}
	ch_call_clear(&c);
	return err;
}
