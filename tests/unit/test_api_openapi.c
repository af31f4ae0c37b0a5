/*
 * test_api_openapi.c: keeps src/api/openapi.json (served at GET
 * /v1.0/openapi.json) true to the code.
 *
 * Routes: the route table of api/api.c (ch_api_route_count/_at) against
 * the document's paths: every route (method + path) must be documented,
 * with its {id} path parameter and with security that matches the route's
 * auth (no token: an empty security list), and every documented path and
 * method must be a route; each failure is named. Fields: each resource's
 * JSON (made by its mapper from a record whose every field is set, or by a
 * route of a real API stack for the conference, the health and the
 * errors) against its component schema, recursively through $ref, oneOf
 * with null and arrays: a field the JSON has and the schema lacks fails,
 * and so does a schema property the JSON lacks unless it is marked
 * "x-chorus-optional" (documented there as sent only sometimes). The
 * served answer: 200 without a token, the document itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re_types.h>
#include <re_sa.h>

#include "api/api.h"
#include "core/call.h"
#include "core/json_map.h"
#include "core/quality.h"
#include "util/log.h"

#include "tmpdir.h"
#include "api_fixture.h"

#define TOKEN "openapi-token"
#define AUTH  "Bearer " TOKEN

static json_t *doc_load(void)
{
	size_t len;
	const char *text = ch_api_openapi(&len);
	json_error_t e;
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	json_t *doc = json_loadb(text, len, 0, &e);
	if (!doc)
		fail_msg("openapi.json: line %d: %s", e.line, e.text);
	return doc;
}

static void test_document(void **state)
{
	(void)state;
	json_t *doc = doc_load();
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")),
	                    "3.1.0");
	json_t *srv = json_array_get(json_object_get(doc, "servers"), 0);
	assert_string_equal(json_string_value(json_object_get(srv, "url")),
	                    "/v1.0");
	json_t *bearer =
	    json_object_get(json_object_get(json_object_get(doc, "components"),
	                                    "securitySchemes"),
	                    "bearerAuth");
	assert_string_equal(
	    json_string_value(json_object_get(bearer, "scheme")), "bearer");
	json_decref(doc);
}

static void lower(const char *in, char *out, size_t n)
{
	size_t i;
	for (i = 0; in[i] && i + 1 < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

/* Whether the table has method (upper case) on pattern. */
static bool is_route(const char *method, const char *pattern)
{
	for (size_t i = 0; i < ch_api_route_count(); i++) {
		const char *m, *p;
		bool auth;
		assert_int_equal(ch_api_route_at(i, &m, &p, &auth), 0);
		if (!strcasecmp(m, method) && !strcmp(p, pattern))
			return true;
	}
	return false;
}

/* Whether path item or operation declares the {id} path parameter. */
static bool has_id_param(const json_t *item, const json_t *op)
{
	const json_t *lists[2] = {json_object_get(item, "parameters"),
	                          json_object_get(op, "parameters")};
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *p;
		json_array_foreach(lists[l], i, p)
		{
			const char *name =
			    json_string_value(json_object_get(p, "name"));
			const char *in =
			    json_string_value(json_object_get(p, "in"));
			if (name && in && !strcmp(name, "id") &&
			    !strcmp(in, "path"))
				return true;
		}
	}
	return false;
}

static void test_routes(void **state)
{
	(void)state;
	json_t *doc = doc_load();
	json_t *paths = json_object_get(doc, "paths");
	unsigned bad = 0;
	assert_true(ch_api_route_count() > 30);
	assert_int_equal(ch_api_route_at(ch_api_route_count(),
	                                 &(const char *){0}, &(const char *){0},
	                                 &(bool){0}),
	                 ENOENT);
	for (size_t i = 0; i < ch_api_route_count(); i++) {
		const char *m, *p;
		bool auth;
		char lm[16];
		assert_int_equal(ch_api_route_at(i, &m, &p, &auth), 0);
		lower(m, lm, sizeof(lm));
		json_t *item = json_object_get(paths, p);
		json_t *op = json_object_get(item, lm);
		if (!op) {
			print_error("route %s /v1.0%s is not in openapi.json\n",
			            m, p);
			bad++;
			continue;
		}
		if (strstr(p, "{id}") && !has_id_param(item, op)) {
			print_error("%s %s: no {id} path parameter\n", m, p);
			bad++;
		}
		json_t *sec = json_object_get(op, "security");
		bool open = json_is_array(sec) && json_array_size(sec) == 0;
		if (open == auth) {
			print_error(
			    "%s %s: needs a token: %s, documented: %s\n", m, p,
			    auth ? "yes" : "no", open ? "no" : "yes");
			bad++;
		}
		json_t *resps = json_object_get(op, "responses");
		if (!json_object_get(resps, "200") &&
		    !json_object_get(resps, "201") &&
		    !json_object_get(resps, "101")) {
			print_error("%s %s: no 200/201 response\n", m, p);
			bad++;
		}
	}
	const char *path;
	json_t *item;
	json_object_foreach(paths, path, item)
	{
		const char *key;
		json_t *op;
		json_object_foreach(item, key, op)
		{
			if (!strcmp(key, "parameters") ||
			    !strcmp(key, "summary") ||
			    !strcmp(key, "servers") ||
			    !strcmp(key, "description"))
				continue;
			if (!is_route(key, path)) {
				print_error("openapi.json documents %s %s, "
				            "which is not a route\n",
				            key, path);
				bad++;
			}
		}
	}
	json_decref(doc);
	if (bad)
		fail_msg("%u difference(s) between the route table and "
		         "openapi.json",
		         bad);
}

/* ---- fields ---- */

/* The schema $ref points to, or s. */
static json_t *deref(json_t *doc, json_t *s)
{
	const char *ref = json_string_value(json_object_get(s, "$ref"));
	const char *pre = "#/components/schemas/";
	if (!ref)
		return s;
	assert_memory_equal(ref, pre, strlen(pre));
	json_t *t = json_object_get(
	    json_object_get(json_object_get(doc, "components"), "schemas"),
	    ref + strlen(pre));
	if (!t)
		fail_msg("dangling $ref %s", ref);
	return deref(doc, t);
}

/* The schema that describes object v: s itself, or the branch of a oneOf
 * or allOf that has properties. */
static json_t *object_schema(json_t *doc, json_t *s)
{
	s = deref(doc, s);
	if (json_object_get(s, "properties"))
		return s;
	const char *alts[2] = {"oneOf", "allOf"};
	for (int a = 0; a < 2; a++) {
		size_t i;
		json_t *b;
		json_array_foreach(json_object_get(s, alts[a]), i, b)
		{
			json_t *d = deref(doc, b);
			if (json_object_get(d, "properties"))
				return d;
		}
	}
	return NULL;
}

/* Checks v against schema s at where; returns the differences found,
 * each printed. */
static unsigned check(json_t *doc, json_t *s, json_t *v, const char *where)
{
	unsigned bad = 0;
	char sub[256];
	s = deref(doc, s);
	if (json_is_array(v)) {
		json_t *items = json_object_get(s, "items");
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
			if (items)
				bad += check(doc, items, e, sub);
		}
		return bad;
	}
	if (!json_is_object(v))
		return 0;
	json_t *os = object_schema(doc, s);
	if (!os) /* a free-form object (data, the additionalProperties map) */
	{
		json_t *ap = json_object_get(s, "additionalProperties");
		const char *k;
		json_t *e;
		if (json_is_object(ap))
			json_object_foreach(v, k, e)
			{
				snprintf(sub, sizeof(sub), "%s.%s", where, k);
				bad += check(doc, ap, e, sub);
			}
		return bad;
	}
	json_t *props = json_object_get(os, "properties");
	const char *k;
	json_t *e;
	json_object_foreach(v, k, e)
	{
		snprintf(sub, sizeof(sub), "%s.%s", where, k);
		json_t *ps = json_object_get(props, k);
		if (!ps) {
			print_error("%s is sent but not in the schema\n", sub);
			bad++;
			continue;
		}
		bad += check(doc, ps, e, sub);
	}
	json_object_foreach(props, k, e)
	{
		if (json_object_get(v, k) ||
		    json_is_true(json_object_get(e, "x-chorus-optional")))
			continue;
		print_error("%s.%s is in the schema but never sent (mark it "
		            "x-chorus-optional if it is sent only sometimes)\n",
		            where, k);
		bad++;
	}
	return bad;
}

/* Checks v (taken) against components/schemas/name. */
static unsigned check_schema(json_t *doc, const char *name, json_t *v)
{
	json_t *s = json_object_get(
	    json_object_get(json_object_get(doc, "components"), "schemas"),
	    name);
	if (!s)
		fail_msg("no schema %s", name);
	assert_non_null(v);
	unsigned bad = check(doc, s, v, name);
	json_decref(v);
	return bad;
}

#define UUID1 "11111111-1111-4111-8111-111111111111"
#define UUID2 "22222222-2222-4222-8222-222222222222"

static const char channels[] =
    "[{\"index\":1,\"kind\":\"mix\"},{\"index\":2,\"kind\":\"participant\","
    "\"conferencecall_id\":\"" UUID1 "\",\"caller_id\":\"alice\"}]";

static const char quality[] =
    "{\"codec\":\"PCMU\",\"packets_in\":10,\"packets_out\":10,"
    "\"loss_pct_in\":0.5,\"loss_pct_out\":null,\"jitter_ms\":3.1,"
    "\"rtt_ms\":null,\"talk_ms\":200,\"mos\":4.3,\"tags\":[\"silent\"]}";

/* The head a recording and a transcribe share: id, customer, and the
 * conference they are of. */
static void media_head(char *id, char *customer_id, char *reference_type,
                       char *reference_id)
{
	memcpy(id, UUID1, CH_UUID_LEN);
	memcpy(customer_id, UUID2, CH_UUID_LEN);
	strcpy(reference_type, "conference");
	memcpy(reference_id, UUID2, CH_UUID_LEN);
}

static unsigned check_mappers(json_t *doc)
{
	unsigned bad = 0;
	int64_t t = 1700000000000000;

	struct ch_conferencecall cc;
	memset(&cc, 0, sizeof(cc));
	memcpy(cc.id, UUID1, sizeof(cc.id));
	memcpy(cc.customer_id, UUID2, sizeof(cc.customer_id));
	memcpy(cc.conference_id, UUID2, sizeof(cc.conference_id));
	strcpy(cc.reference_type, "call");
	memcpy(cc.reference_id, UUID1, sizeof(cc.reference_id));
	strcpy(cc.caller_id, "alice");
	strcpy(cc.leave_reason, "hangup");
	strcpy(cc.quality, quality);
	cc.tm_create = cc.tm_update = cc.tm_delete = t;
	bad += check_schema(doc, "ConferenceCall",
	                    ch_json_map_conferencecall(&cc, NULL));

	struct ch_quality q = {.codec = "G722",
	                       .packets_in = 5,
	                       .packets_out = 6,
	                       .loss_pct_in = 1,
	                       .loss_pct_out = 2,
	                       .jitter_ms = 3,
	                       .rtt_ms = 40,
	                       .talk_ms = 500,
	                       .mos = 4.1,
	                       .tags = 1};
	bad += check_schema(doc, "Quality", ch_quality_to_json(&q));

	struct ch_call c;
	memset(&c, 0, sizeof(c));
	memcpy(c.id, UUID1, sizeof(c.id));
	memcpy(c.customer_id, UUID2, sizeof(c.customer_id));
	strcpy(c.direction, "outgoing");
	c.source = "{\"type\":\"sip\",\"target\":\"sip:a@127.0.0.1\"}";
	c.destination = "{\"type\":\"sip\",\"target\":\"sip:b@127.0.0.1\"}";
	strcpy(c.transport, "sip");
	strcpy(c.codec, "PCMU");
	c.status = CH_CALL_HANGUP;
	strcpy(c.hangup_reason, "normal");
	memcpy(c.conference_id, UUID2, sizeof(c.conference_id));
	memcpy(c.conferencecall_id, UUID1, sizeof(c.conferencecall_id));
	c.tm_create = c.tm_update = c.tm_delete = t;
	bad += check_schema(doc, "Call", ch_call_to_json(&c));

	struct ch_recording r;
	memset(&r, 0, sizeof(r));
	media_head(r.id, r.customer_id, r.reference_type, r.reference_id);
	strcpy(r.status, "stopped");
	strcpy(r.format, "wav");
	r.tracks = true;
	r.duration_ms = 1000;
	r.channels = (char *)channels;
	r.rate = 16000;
	r.size = 32044;
	r.tm_start = r.tm_end = r.tm_create = r.tm_update = t;
	bad += check_schema(doc, "Recording", ch_json_map_recording(&r));

	struct ch_transcribe tb;
	memset(&tb, 0, sizeof(tb));
	media_head(tb.id, tb.customer_id, tb.reference_type, tb.reference_id);
	strcpy(tb.language, "en-US");
	strcpy(tb.engine, "sphinx");
	strcpy(tb.status, "done");
	tb.segments = 2;
	tb.tm_start = tb.tm_end = tb.tm_create = tb.tm_update = t;
	bad += check_schema(doc, "Transcribe", ch_json_map_transcribe(&tb));

	struct ch_transcript ts;
	memset(&ts, 0, sizeof(ts));
	memcpy(ts.id, UUID1, sizeof(ts.id));
	memcpy(ts.transcribe_id, UUID2, sizeof(ts.transcribe_id));
	memcpy(ts.conferencecall_id, UUID1, sizeof(ts.conferencecall_id));
	ts.caller_id = "alice";
	ts.text = "hello world";
	ts.tm_start_ms = 100;
	ts.tm_end_ms = 900;
	ts.tm_create = t;
	bad += check_schema(doc, "Transcript", ch_json_map_transcript(&ts));

	struct ch_summary s;
	memset(&s, 0, sizeof(s));
	memcpy(s.conference_id, UUID2, sizeof(s.conference_id));
	memcpy(s.customer_id, UUID1, sizeof(s.customer_id));
	s.name = "standup";
	s.create_time = s.start_time = s.end_time = t;
	strcpy(s.status, "completed");
	strcpy(s.processing_state, "complete");
	strcpy(s.end_reason, "timeout");
	memcpy(s.ended_by, UUID1, sizeof(s.ended_by));
	strcpy(s.mixer_region, "local");
	s.tags = "[\"high_jitter\"]";
	s.tag_info = "{\"high_jitter\":{\"conferencecall_id\":\"" UUID1
	             "\",\"caller_id\":\"alice\",\"loss_pct_in\":0,"
	             "\"jitter_ms\":40,\"mos\":4.0}}";
	bad += check_schema(doc, "Summary", ch_json_map_summary(&s, t));
	return bad;
}

/* The fields of what the routes answer, on a real stack. */
static unsigned check_routes(json_t *doc)
{
	struct api_stack st;
	struct sa laddr;
	char cust[CH_UUID_LEN];
	unsigned bad = 0;
	json_t *o;
	char *text = NULL;

	assert_int_equal(sa_set_str(&laddr, "127.0.0.1", 0), 0);
	assert_int_equal(api_stack_open(&st, "openapi", &laddr), 0);
	api_add_customer(st.st, TOKEN, cust);

	static const char body[] =
	    "{\"type\":\"conference\",\"name\":\"standup\",\"detail\":\"d\","
	    "\"data\":{\"k\":1},\"timeout\":60,\"max_participants\":5,"
	    "\"pre_actions\":[{\"type\":\"beep\"}],"
	    "\"post_actions\":[{\"type\":\"sleep\",\"option\":{\"duration\":"
	    "10}}]}";
	assert_int_equal(ch_api_handle(st.api, "POST", "/v1.0/conferences",
	                               NULL, AUTH, body, strlen(body), &text),
	                 200);
	o = json_loads(text, 0, NULL);
	free(text);
	bad += check_schema(doc, "Conference", json_incref(o));
	/* a page of them */
	json_t *page;
	assert_int_equal(api_req(st.api, "GET", "/v1.0/conferences",
	                         "page_size=1", AUTH, &page),
	                 200);
	bad += check_schema(doc, "ConferencePage", page);
	json_decref(o);

	assert_int_equal(api_req(st.api, "GET", "/v1.0/health", NULL, NULL, &o),
	                 200);
	bad += check_schema(doc, "Health", o);
	/* errors with and without a field */
	assert_int_equal(
	    api_req(st.api, "GET", "/v1.0/conferences", NULL, NULL, &o), 401);
	bad += check_schema(doc, "Error", o);
	assert_int_equal(api_req(st.api, "GET", "/v1.0/conferences",
	                         "page_size=x", AUTH, &o),
	                 400);
	bad += check_schema(doc, "Error", o);

	/* served: no token, the document itself */
	assert_int_equal(
	    api_req(st.api, "GET", "/v1.0/openapi.json", NULL, NULL, &o), 200);
	assert_true(json_equal(o, doc));
	json_decref(o);
	api_stack_close(&st);
	return bad;
}

static void test_fields(void **state)
{
	(void)state;
	json_t *doc = doc_load();
	unsigned bad = check_mappers(doc) + check_routes(doc);
	json_decref(doc);
	if (bad)
		fail_msg("%u difference(s) between the JSON sent and the "
		         "schemas of openapi.json",
		         bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_document),
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_fields),
	};
	ch_log_set_level(CH_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
