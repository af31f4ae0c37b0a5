/*
 * summary.c: the conference summary's hooks (see summary.h). The row
 * holds, besides the API fields, the ids of the participants joined now
 * (joined_ids) and the distinct caller ids ever joined (caller_ids), so
 * each join or leave is one read and one write of that row.
 */
#include "core/summary.h"
#include "core/core_internal.h"
#include "core/json_map.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A new summary row for c, as at its creation. */
static int from_conference(struct ch_core *core, const struct ch_conference *c,
                           struct ch_summary *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->conference_id, c->id, CH_UUID_LEN);
	memcpy(s->customer_id, c->customer_id, CH_UUID_LEN);
	s->create_time = c->tm_create;
	s->start_time = s->end_time = CH_TIME_NEVER_US;
	snprintf(s->status, sizeof(s->status), CH_SUMMARY_NOT_STARTED);
	snprintf(s->processing_state, sizeof(s->processing_state),
	         CH_SUMMARY_IN_PROGRESS);
	memcpy(s->ended_by, CH_UUID_NIL, CH_UUID_LEN);
	snprintf(s->mixer_region, sizeof(s->mixer_region), "%s",
	         ch_core_node(core));
	s->name = strdup(c->name ? c->name : "");
	s->joined_ids = strdup("[]");
	s->caller_ids = strdup("[]");
	s->tags = strdup("[]");
	s->tag_info = strdup("{}");
	if (!s->name || !s->joined_ids || !s->caller_ids || !s->tags ||
	    !s->tag_info) {
		ch_summary_clear(s);
		return ENOMEM;
	}
	return 0;
}

/* The conference's row; made from the conference (c, or read) when it
 * has none yet. */
static int load(struct ch_core *core, const char *id,
                const struct ch_conference *c, struct ch_summary *s)
{
	struct ch_conference rc;
	int err = core->st->ops->summary_get(core->st, id, NULL, s);
	if (err != ENOENT)
		return err;
	if (c)
		return from_conference(core, c, s);
	err = core->st->ops->conference_get(core->st, id, NULL, &rc);
	if (err)
		return err;
	err = from_conference(core, &rc, s);
	ch_conference_clear(&rc);
	return err;
}

static int put(struct ch_core *core, struct ch_summary *s)
{
	s->tm_update = ch_time_now_us();
	int err = core->st->ops->summary_put(core->st, s);
	ch_summary_clear(s);
	return err;
}

static int replace_text(char **dst, const char *src)
{
	char *n = strdup(src ? src : "");
	if (!n)
		return ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

int ch_summary_conference(struct ch_core *core, const struct ch_conference *c)
{
	struct ch_summary s;
	int err = load(core, c->id, c, &s);
	if (err)
		return err;
	err = replace_text(&s.name, c->name);
	s.max_participants = c->max_participants;
	snprintf(s.end_reason, sizeof(s.end_reason), "%s", c->end_reason);
	snprintf(s.ended_by, sizeof(s.ended_by), "%s",
	         c->ended_by[0] ? c->ended_by : CH_UUID_NIL);
	if (c->recording_id[0] && strcmp(c->recording_id, CH_UUID_NIL))
		s.recording_enabled = true;
	if (c->status == CH_CONFERENCE_TERMINATED &&
	    strcmp(s.status, CH_SUMMARY_COMPLETED)) {
		s.end_time = c->tm_delete;
		snprintf(s.status, sizeof(s.status), CH_SUMMARY_COMPLETED);
		snprintf(s.processing_state, sizeof(s.processing_state),
		         CH_SUMMARY_COMPLETE);
	}
	if (err) {
		ch_summary_clear(&s);
		return err;
	}
	return put(core, &s);
}

/* The index of the string v in array a, or -1. */
static int find(json_t *a, const char *v)
{
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		if (!strcmp(json_string_value(e) ? json_string_value(e) : "",
		            v))
			return (int)i;
	}
	return -1;
}

/* Stores a (stolen) as the owned JSON text *dst. */
static int store_array(char **dst, json_t *a)
{
	char *t = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!t)
		return ENOMEM;
	free(*dst);
	*dst = t;
	return 0;
}

/* A participant joins: it is counted in the concurrent participants,
 * and its caller id (its own id when it has none) among the distinct. */
static int joins(struct ch_core *core, struct ch_summary *s, json_t *joined,
                 const struct ch_conferencecall *cc)
{
	json_t *callers = ch_json_map_parse_stored(s->caller_ids, true);
	const char *key = cc->caller_id[0] ? cc->caller_id : cc->id;
	if (!callers)
		return ENOMEM;
	json_array_append_new(joined, json_string(cc->id));
	if (find(callers, key) < 0)
		json_array_append_new(callers, json_string(key));
	int now = (int)json_array_size(joined);
	if (now > s->max_concurrent)
		s->max_concurrent = now;
	s->unique_participants = (int)json_array_size(callers);
	if (now >= 2 && s->start_time == CH_TIME_NEVER_US) {
		s->start_time = ch_time_now_us();
		if (!strcmp(s->status, CH_SUMMARY_NOT_STARTED))
			snprintf(s->status, sizeof(s->status),
			         CH_SUMMARY_IN_PROGRESS);
	}
	snprintf(s->mixer_region, sizeof(s->mixer_region), "%s",
	         ch_core_node(core));
	return store_array(&s->caller_ids, callers);
}

int ch_summary_member(struct ch_core *core, const struct ch_conferencecall *cc)
{
	struct ch_summary s;
	int err = load(core, cc->conference_id, NULL, &s);
	if (err)
		return err;
	json_t *joined = ch_json_map_parse_stored(s.joined_ids, true);
	if (!joined) {
		ch_summary_clear(&s);
		return ENOMEM;
	}
	int at = find(joined, cc->id);
	bool in = cc->status == CH_CONFERENCECALL_JOINED;
	if (in == (at >= 0)) {
		/* nothing changed for the summary (mute, a second save) */
		json_decref(joined);
		ch_summary_clear(&s);
		return 0;
	}
	if (in)
		err = joins(core, &s, joined, cc);
	else
		json_array_remove(joined, (size_t)at);
	if (!err)
		err = store_array(&s.joined_ids, json_incref(joined));
	json_decref(joined);
	if (err) {
		ch_summary_clear(&s);
		return err;
	}
	return put(core, &s);
}

int ch_summary_tag(struct ch_core *core, const char *conference_id,
                   const char *tag, json_t *info)
{
	struct ch_summary s;
	int err = load(core, conference_id, NULL, &s);
	if (err) {
		json_decref(info);
		return err;
	}
	json_t *tags = ch_json_map_parse_stored(s.tags, true);
	json_t *ti = ch_json_map_parse_stored(s.tag_info, false);
	if (!tags || !ti) {
		json_decref(info);
		err = ENOMEM;
	} else {
		if (find(tags, tag) < 0)
			json_array_append_new(tags, json_string(tag));
		json_object_set_new(ti, tag, info ? info : json_object());
		err = store_array(&s.tags, json_incref(tags));
		if (!err)
			err = store_array(&s.tag_info, json_incref(ti));
	}
	json_decref(tags);
	json_decref(ti);
	if (err) {
		ch_summary_clear(&s);
		return err;
	}
	return put(core, &s);
}

int ch_summary_get(struct ch_core *core, const char *customer_id,
                   const char *conference_id, struct ch_summary *out)
{
	return core->st->ops->summary_get(core->st, conference_id, customer_id,
	                                  out);
}
