/*
 * records.c: helpers for the stored records: freeing, copying, and the
 * string forms of their enums.
 */
#include "store/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ch_conference_clear(struct ch_conference *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->detail);
	free(c->data);
	free(c->pre_actions);
	free(c->post_actions);
	free(c->recording_ids);
	free(c->transcribe_ids);
	memset(c, 0, sizeof(*c));
}

void ch_event_rec_clear(struct ch_event_rec *e)
{
	if (!e)
		return;
	free(e->payload);
	memset(e, 0, sizeof(*e));
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : ENOMEM;
}

int ch_conference_copy(struct ch_conference *dst,
                       const struct ch_conference *src)
{
	int err = 0;
	*dst = *src;
	err |= dup_str(&dst->name, src->name);
	err |= dup_str(&dst->detail, src->detail);
	err |= dup_str(&dst->data, src->data);
	err |= dup_str(&dst->pre_actions, src->pre_actions);
	err |= dup_str(&dst->post_actions, src->post_actions);
	err |= dup_str(&dst->recording_ids, src->recording_ids);
	err |= dup_str(&dst->transcribe_ids, src->transcribe_ids);
	if (err) {
		ch_conference_clear(dst);
		return ENOMEM;
	}
	return 0;
}

static const char *const type_names[] = {"conference", "connect"};
static const char *const conf_status_names[] = {"starting", "progressing",
                                                "terminating", "terminated"};
static const char *const cc_status_names[] = {"joining", "joined", "leaving",
                                              "leaved"};

static int parse_enum(const char *s, const char *const *names, int n)
{
	for (int i = 0; s && i < n; i++) {
		if (!strcmp(s, names[i]))
			return i;
	}
	return -1;
}

const char *ch_conference_type_str(enum ch_conference_type t)
{
	return (unsigned)t < 2 ? type_names[t] : "";
}

int ch_conference_type_parse(const char *s, enum ch_conference_type *t)
{
	int i = parse_enum(s, type_names, 2);
	if (i < 0)
		return -1;
	*t = (enum ch_conference_type)i;
	return 0;
}

const char *ch_conference_status_str(enum ch_conference_status s)
{
	return (unsigned)s < 4 ? conf_status_names[s] : "";
}

int ch_conference_status_parse(const char *s, enum ch_conference_status *st)
{
	int i = parse_enum(s, conf_status_names, 4);
	if (i < 0)
		return -1;
	*st = (enum ch_conference_status)i;
	return 0;
}

const char *ch_conferencecall_status_str(enum ch_conferencecall_status s)
{
	return (unsigned)s < 4 ? cc_status_names[s] : "";
}

int ch_conferencecall_status_parse(const char *s,
                                   enum ch_conferencecall_status *st)
{
	int i = parse_enum(s, cc_status_names, 4);
	if (i < 0)
		return -1;
	*st = (enum ch_conferencecall_status)i;
	return 0;
}

void ch_call_clear(struct ch_call *c)
{
	if (!c)
		return;
	free(c->source);
	free(c->destination);
	memset(c, 0, sizeof(*c));
}

static const char *const call_status_names[] = {
    "dialing", "ringing", "progressing", "terminating", "hangup"};

const char *ch_call_status_str(enum ch_call_status s)
{
	return (unsigned)s < 5 ? call_status_names[s] : "";
}

int ch_call_status_parse(const char *s, enum ch_call_status *st)
{
	int i = parse_enum(s, call_status_names, 5);
	if (i < 0)
		return -1;
	*st = (enum ch_call_status)i;
	return 0;
}

void ch_recording_clear(struct ch_recording *r)
{
	if (!r)
		return;
	free(r->channels);
	memset(r, 0, sizeof(*r));
}

void ch_transcript_clear(struct ch_transcript *t)
{
	if (!t)
		return;
	free(t->caller_id);
	free(t->text);
	memset(t, 0, sizeof(*t));
}

void ch_summary_clear(struct ch_summary *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->joined_ids);
	free(s->caller_ids);
	free(s->tags);
	free(s->tag_info);
	memset(s, 0, sizeof(*s));
}
