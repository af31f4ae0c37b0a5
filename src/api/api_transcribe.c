/*
 * api_transcribe.c: the read routes of transcription: GET /transcribes
 * (the customer's, newest first, optional reference_id), GET
 * /transcribes/{id}, and GET /transcripts?transcribe_id=... (one
 * transcribe's segments in time order, paged by the cursor
 * "<tm_start_ms>_<id>" of the last one). Starting and stopping are
 * conference routes (POST /conferences/{id}/transcribe_start|stop).
 */
#include "api/api_internal.h"
#include "core/json_map.h"
#include "core/transcribe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page cursor as text: "<tm_start_ms>_<id>" and the NUL. */
#define CURSOR_LEN (20 + 1 + CH_UUID_LEN)

static int transcribe_h(const struct ch_transcribe *t, void *arg)
{
	struct ch_api_list *l = arg;
	return ch_api_list_add(l, ch_json_map_transcribe(t), t->tm_create);
}

void ch_api_transcribe_list(struct ch_api_req *r)
{
	struct ch_api_list l;
	unsigned size;
	int64_t before;
	const char *ref;
	if (!ch_api_query_reference(r, &ref) ||
	    !ch_api_list_begin(&l, r, &size, &before))
		return;
	int err = ch_transcribe_list(r->api->core, r->cust.id, ref, before,
	                             size, transcribe_h, &l);
	ch_api_list_end(&l, err, size, "transcribe");
}

void ch_api_transcribe_get(struct ch_api_req *r)
{
	struct ch_transcribe t;
	int err = ch_transcribe_get(r->api->core, r->cust.id, r->id, &t);
	if (err)
		ch_api_error_core(r, err, "transcribe");
	else
		ch_api_ok(r, ch_json_map_transcribe(&t));
}

/* Parses a cursor "<tm_start_ms>_<id>": an optional "-", a decimal of 1
 * to 18 digits (no "+", no spaces), "_", a UUID. Returns false when it is
 * not one. */
static bool cursor_parse(const char *s, int64_t *ms, char *id)
{
	size_t sign = *s == '-', digits = strspn(s + sign, "0123456789");
	const char *u = s + sign + digits;
	if (!digits || digits > 18 || *u != '_' || !ch_uuid_valid(u + 1))
		return false;
	*ms = strtoll(s, NULL, 10);
	snprintf(id, CH_UUID_LEN, "%s", u + 1);
	return true;
}

/* One page of transcripts: the list, and the cursor of the last one. */
struct trt_page {
	struct ch_api_list l;
	int64_t last_ms;
	char last_id[CH_UUID_LEN];
};

static int transcript_h(const struct ch_transcript *t, void *arg)
{
	struct trt_page *p = arg;
	p->last_ms = t->tm_start_ms;
	memcpy(p->last_id, t->id, CH_UUID_LEN);
	return ch_api_list_add(&p->l, ch_json_map_transcript(t), t->tm_create);
}

void ch_api_transcript_list(struct ch_api_req *r)
{
	struct trt_page p;
	char after_id[CH_UUID_LEN] = "", next[CURSOR_LEN] = "";
	int64_t after_ms = -1;
	unsigned size;
	const char *tid = ch_api_query(r, "transcribe_id");
	const char *token = ch_api_query(r, "page_token");

	if (!tid || !*tid) {
		ch_api_error(r, 400, "invalid_field", "transcribe_id",
		             "transcribe_id is required");
		return;
	}
	if (!ch_uuid_valid(tid)) {
		ch_api_error(r, 400, "invalid_field", "transcribe_id",
		             "transcribe_id must be a transcribe id (a UUID)");
		return;
	}
	if (!ch_api_page_size(r, &size))
		return;
	if (token && *token && !cursor_parse(token, &after_ms, after_id)) {
		ch_api_error(r, 400, "invalid_field", "page_token",
		             "page_token must be a next_page_token from a "
		             "previous page");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.l.r = r;
	p.l.arr = json_array();
	int err = ch_transcript_list(r->api->core, r->cust.id, tid, after_ms,
	                             after_id, size, transcript_h, &p);
	if (err == ENOENT) {
		json_decref(p.l.arr);
		ch_api_error(r, 404, "not_found", NULL,
		             "transcribe %s not found", tid);
		return;
	}
	if (!err && p.l.n == size)
		snprintf(next, sizeof(next), "%" PRId64 "_%s", p.last_ms,
		         p.last_id);
	ch_api_list_end_token(&p.l, err, next, "transcript");
}
