/*
 * test_api.c: unit tests for the REST API (api/) through ch_api_handle(),
 * which serves one request given as parts, with no socket.
 *
 * The API is built with ch_api_alloc on 127.0.0.1 port 0 over a real
 * store (mkdtemp folder), event hub and core with no media layer; two
 * customers with fixed tokens are inserted directly. Covered: routing
 * (404, 405 with the allowed methods), authentication (401, both
 * token forms), every /conferences, /conferencecalls and /calls route with
 * its status and JSON error code (400 invalid_json, invalid_field naming
 * the field, 404, 409, 503 ...), and pagination.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <re_types.h>
#include <re_list.h>
#include <re_main.h>
#include <re_sa.h>
#include <re_tmr.h>

#include "api/api.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

#include "tmpdir.h"

#define TOKEN   "api-token-a"
#define TOKEN_B "api-token-b"
#define BEARER  "Bearer " TOKEN

struct fix {
	char dir[CH_TEST_DIR_MAX];
	struct ch_store *st;
	struct ch_events *ev;
	struct ch_core *core;
	struct ch_api *api;
	char cust[CH_UUID_LEN];
};

static void add_customer(struct fix *f, const char *token, char *id_out)
{
	struct ch_customer c;
	memset(&c, 0, sizeof(c));
	ch_uuid_new(c.id);
	snprintf(c.name, sizeof(c.name), "%s", token);
	ch_token_hash(token, c.token_hash);
	c.tm_create = ch_time_now_us();
	assert_int_equal(f->st->ops->customer_insert(f->st, &c), 0);
	if (id_out)
		memcpy(id_out, c.id, CH_UUID_LEN);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sa laddr;
	if (!f)
		return -1;
	ch_test_tmpdir(f->dir, "ch-api");
	sa_set_str(&laddr, "127.0.0.1", 0);
	if (ch_store_open_sqlite(&f->st, f->dir) ||
	    ch_events_alloc(&f->ev, f->st, 1000) ||
	    ch_core_alloc(&f->core, f->st, f->ev, "api-node") ||
	    ch_api_alloc(&f->api, f->core, &laddr))
		return -1;
	add_customer(f, TOKEN, f->cust);
	add_customer(f, TOKEN_B, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	ch_api_free(f->api);
	ch_core_free(f->core);
	ch_events_free(f->ev);
	ch_store_close(f->st);
	ch_test_rmtree(f->dir);
	free(f);
	return 0;
}

static void stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Lets the core's zero-delay timers run (room ready, kicked leave). */
static void run_ms(unsigned ms)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, ms, stop_h, NULL);
	assert_int_equal(re_main(NULL), 0);
	tmr_cancel(&t);
}

/* Sends one request; *out gets the parsed JSON body (never NULL). */
static uint16_t req(struct fix *f, const char *method, const char *path,
                    const char *query, const char *auth, const char *body,
                    json_t **out)
{
	char *text = NULL;
	uint16_t status = ch_api_handle(f->api, method, path, query, auth, body,
	                                body ? strlen(body) : 0, &text);
	assert_non_null(text);
	*out = json_loads(text, 0, NULL);
	if (!*out)
		fail_msg("response is not JSON: %s", text);
	free(text);
	return status;
}

/* Sends one request that must fail with status, code and (if not NULL)
 * field. */
static void expect_error(struct fix *f, const char *method, const char *path,
                         const char *query, const char *auth, const char *body,
                         uint16_t status, const char *code, const char *field)
{
	json_t *o, *e;
	uint16_t got = req(f, method, path, query, auth, body, &o);
	e = json_object_get(o, "error");
	if (got != status || !e ||
	    strcmp(json_string_value(json_object_get(e, "code")), code))
		fail_msg("%s %s %s: got %u %s, want %u %s", method, path,
		         body ? body : "", got,
		         json_string_value(json_object_get(e, "code")), status,
		         code);
	assert_int_equal(json_integer_value(json_object_get(e, "status")),
	                 status);
	assert_string_equal(json_string_value(json_object_get(e, "code")),
	                    code);
	assert_true(json_is_string(json_object_get(e, "message")));
	if (field)
		assert_string_equal(
		    json_string_value(json_object_get(e, "field")), field);
	else
		assert_null(json_object_get(e, "field"));
	json_decref(o);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	return s;
}

/* Creates a conference; returns its JSON. */
static json_t *create(struct fix *f, const char *body)
{
	json_t *o;
	assert_int_equal(
	    req(f, "POST", "/v1.0/conferences", NULL, BEARER, body, &o), 200);
	return o;
}

/* ---- routing and auth ---- */

static void test_routing(void **state)
{
	struct fix *f = *state;
	json_t *o;

	assert_int_equal(req(f, "GET", "/v1.0/health", NULL, NULL, NULL, &o),
	                 200);
	assert_string_equal(str(o, "status"), "ok");
	assert_string_equal(str(o, "node"), "api-node");
	assert_true(json_is_integer(json_object_get(o, "uptime_seconds")));
	json_decref(o);

	expect_error(f, "GET", "/", NULL, NULL, NULL, 404, "not_found", NULL);
	expect_error(f, "GET", "/v1.0", NULL, NULL, NULL, 404, "not_found",
	             NULL);
	expect_error(f, "GET", "/v2.0/conferences", NULL, BEARER, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "GET", "/v1.0/nothing", NULL, BEARER, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "GET", "/v1.0/conferences/", NULL, BEARER, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "PATCH", "/v1.0/conferences", NULL, BEARER, "{}", 405,
	             "method_not_allowed", NULL);
	expect_error(f, "POST", "/v1.0/health", NULL, NULL, NULL, 405,
	             "method_not_allowed", NULL);
	expect_error(f, "GET", "/v1.0/conferencecalls/" CH_UUID_NIL "/mute",
	             NULL, BEARER, NULL, 405, "method_not_allowed", NULL);
	/* ids that are not UUIDs are unknown ids */
	expect_error(f, "GET", "/v1.0/conferences/abc", NULL, BEARER, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "GET",
	             "/v1.0/conferences/" CH_UUID_NIL "0000000000000000000",
	             NULL, BEARER, NULL, 404, "not_found", NULL);
	expect_error(
	    f, "POST", "/v1.0/conferences/" CH_UUID_NIL "/transcribe_start",
	    NULL, BEARER, "{\"language\": \"en-US\"}", 404, "not_found", NULL);
	expect_error(f, "POST",
	             "/v1.0/conferences/" CH_UUID_NIL "/transcribe_start", NULL,
	             BEARER, "{}", 400, "invalid_field", "language");
	/* served: an unknown conference */
	expect_error(f, "POST",
	             "/v1.0/conferences/" CH_UUID_NIL "/recording_start", NULL,
	             BEARER, "{}", 404, "not_found", NULL);
	/* the WebSocket route needs a connection */
	expect_error(f, "GET", "/v1.0/ws", NULL, BEARER, NULL, 400,
	             "websocket_required", NULL);
}

static void test_auth(void **state)
{
	struct fix *f = *state;
	char long_auth[200];
	json_t *o;

	expect_error(f, "GET", "/v1.0/conferences", NULL, NULL, NULL, 401,
	             "unauthorized", NULL);
	expect_error(f, "GET", "/v1.0/conferences", NULL, "Bearer nope", NULL,
	             401, "unauthorized", NULL);
	expect_error(f, "GET", "/v1.0/conferences", NULL, "Basic " TOKEN, NULL,
	             401, "unauthorized", NULL);
	expect_error(f, "GET", "/v1.0/conferences", NULL, "Bearer ", NULL, 401,
	             "unauthorized", NULL);
	expect_error(f, "GET", "/v1.0/conferences", "token=", NULL, NULL, 401,
	             "unauthorized", NULL);
	expect_error(f, "GET", "/v1.0/conferences", "token=nope", NULL, NULL,
	             401, "unauthorized", NULL);
	snprintf(long_auth, sizeof(long_auth), "Bearer %0150d", 7);
	expect_error(f, "GET", "/v1.0/conferences", NULL, long_auth, NULL, 401,
	             "unauthorized", NULL);
	/* auth comes before the body is looked at */
	expect_error(f, "POST", "/v1.0/conferences", NULL, NULL, "{", 401,
	             "unauthorized", NULL);

	assert_int_equal(
	    req(f, "GET", "/v1.0/conferences", NULL, BEARER, NULL, &o), 200);
	json_decref(o);
	assert_int_equal(
	    req(f, "GET", "/v1.0/conferences", NULL, "bearer " TOKEN, NULL, &o),
	    200);
	json_decref(o);
	assert_int_equal(req(f, "GET", "/v1.0/conferences",
	                     "page_size=5&token=" TOKEN, NULL, NULL, &o),
	                 200);
	json_decref(o);
}

/* ---- /conferences ---- */

static void test_conference_create_invalid(void **state)
{
	struct fix *f = *state;
	static const struct {
		const char *body, *code, *field;
	} bad[] = {
	    {"", "invalid_json", NULL},
	    {"{", "invalid_json", NULL},
	    {"[]", "invalid_json", NULL},
	    {"\"conference\"", "invalid_json", NULL},
	    {"{\"type\":\"conference\",\"type\":\"connect\"}", "invalid_json",
	     NULL},
	    {"{}", "invalid_field", "type"},
	    {"{\"type\":\"webinar\"}", "invalid_field", "type"},
	    {"{\"type\":1}", "invalid_field", "type"},
	    {"{\"type\":\"conference\",\"name\":5}", "invalid_field", "name"},
	    /* jansson refuses \u0000 in strings */
	    {"{\"type\":\"conference\",\"name\":\"a\\u0000b\"}", "invalid_json",
	     NULL},
	    {"{\"type\":\"conference\",\"detail\":[]}", "invalid_field",
	     "detail"},
	    {"{\"type\":\"conference\",\"data\":\"x\"}", "invalid_field",
	     "data"},
	    {"{\"type\":\"conference\",\"timeout\":-1}", "invalid_field",
	     "timeout"},
	    {"{\"type\":\"conference\",\"timeout\":1.5}", "invalid_field",
	     "timeout"},
	    {"{\"type\":\"conference\",\"timeout\":\"60\"}", "invalid_field",
	     "timeout"},
	    {"{\"type\":\"conference\",\"timeout\":31536001}", "invalid_field",
	     "timeout"},
	    {"{\"type\":\"conference\",\"max_participants\":-1}",
	     "invalid_field", "max_participants"},
	    {"{\"type\":\"conference\",\"max_participants\":10001}",
	     "invalid_field", "max_participants"},
	    {"{\"type\":\"conference\",\"pre_actions\":{}}", "invalid_field",
	     "pre_actions"},
	    {"{\"type\":\"conference\",\"pre_actions\":[1]}", "invalid_field",
	     "pre_actions[0]"},
	    {"{\"type\":\"conference\",\"post_actions\":[{\"type\":"
	     "\"beep\"},{\"type\":\"dance\"}]}",
	     "invalid_field", "post_actions[1]"},
	    {"{\"type\":\"conference\",\"pre_actions\":[{\"type\":\"talk\"}]}",
	     "invalid_field", "pre_actions[0]"},
	    {"{\"type\":\"conference\",\"pre_actions\":[{\"type\":\"play\","
	     "\"option\":{\"urls\":[]}}]}",
	     "invalid_field", "pre_actions[0]"},
	    {"{\"type\":\"conference\",\"pre_actions\":[{\"type\":\"play\","
	     "\"option\":{\"urls\":[7]}}]}",
	     "invalid_field", "pre_actions[0]"},
	    {"{\"type\":\"conference\",\"pre_actions\":[{\"type\":\"sleep\","
	     "\"option\":{\"duration\":3600001}}]}",
	     "invalid_field", "pre_actions[0]"},
	    {"{\"type\":\"conference\",\"pre_actions\":[{\"type\":\"beep\","
	     "\"option\":1}]}",
	     "invalid_field", "pre_actions[0]"},
	};
	char big[70 * 1024];
	json_t *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect_error(f, "POST", "/v1.0/conferences", NULL, BEARER,
		             bad[i].body, 400, bad[i].code, bad[i].field);

	/* name over 1024 bytes */
	snprintf(big, sizeof(big),
	         "{\"type\":\"conference\",\"name\":\"%01025d\"}", 0);
	expect_error(f, "POST", "/v1.0/conferences", NULL, BEARER, big, 400,
	             "invalid_field", "name");
	/* data over 64 KiB */
	snprintf(big, sizeof(big),
	         "{\"type\":\"conference\",\"data\":{\"k\":\"%066000d\"}}", 0);
	expect_error(f, "POST", "/v1.0/conferences", NULL, BEARER, big, 400,
	             "invalid_field", "data");
	/* more than 64 actions */
	strcpy(big, "{\"type\":\"conference\",\"pre_actions\":[");
	for (int i = 0; i < 65; i++)
		strcat(big, i ? ",{\"type\":\"beep\"}" : "{\"type\":\"beep\"}");
	strcat(big, "]}");
	expect_error(f, "POST", "/v1.0/conferences", NULL, BEARER, big, 400,
	             "invalid_field", "pre_actions");

	/* nothing was created */
	assert_int_equal(
	    req(f, "GET", "/v1.0/conferences", NULL, BEARER, NULL, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 0);
	json_decref(o);
}

static void test_conference_crud(void **state)
{
	struct fix *f = *state;
	char path[128];
	json_t *c, *o;

	c = create(f, "{\"type\":\"connect\",\"name\":\"n\",\"detail\":\"d\","
	              "\"data\":{\"x\":[1]},\"timeout\":3600,"
	              "\"max_participants\":2,\"pre_actions\":[{\"type\":"
	              "\"talk\",\"option\":{\"text\":\"hi\"}},{\"type\":"
	              "\"sleep\",\"option\":{\"duration\":10}}],"
	              "\"post_actions\":[{\"type\":\"play\",\"option\":"
	              "{\"urls\":[\"http://x/y.wav\"]}}]}");
	assert_true(ch_uuid_valid(str(c, "id")));
	assert_string_equal(str(c, "customer_id"), f->cust);
	assert_string_equal(str(c, "type"), "connect");
	assert_string_equal(str(c, "status"), "starting");
	assert_string_equal(str(c, "name"), "n");
	assert_int_equal(json_integer_value(json_object_get(c, "timeout")),
	                 3600);
	assert_int_equal(
	    json_integer_value(json_object_get(c, "max_participants")), 2);
	assert_int_equal(json_array_size(json_object_get(c, "pre_actions")), 2);
	assert_string_equal(str(c, "tm_delete"), CH_TIME_NEVER);
	snprintf(path, sizeof(path), "/v1.0/conferences/%s", str(c, "id"));

	run_ms(20);
	assert_int_equal(req(f, "GET", path, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "status"), "progressing");
	assert_string_equal(str(o, "id"), str(c, "id"));
	json_decref(o);
	/* another customer: 404, never 403 */
	expect_error(f, "GET", path, "token=" TOKEN_B, NULL, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "PUT", path, "token=" TOKEN_B, NULL, "{}", 404,
	             "not_found", NULL);
	expect_error(f, "DELETE", path, "token=" TOKEN_B, NULL, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "GET", "/v1.0/conferences/" CH_UUID_NIL, NULL, BEARER,
	             NULL, 404, "not_found", NULL);

	/* update */
	expect_error(f, "PUT", path, NULL, BEARER, "{\"type\":\"conference\"}",
	             400, "invalid_field", "type");
	expect_error(f, "PUT", path, NULL, BEARER, "{\"timeout\":-5}", 400,
	             "invalid_field", "timeout");
	expect_error(f, "PUT", path, NULL, BEARER, "nope", 400, "invalid_json",
	             NULL);
	assert_int_equal(req(f, "PUT", path, NULL, BEARER,
	                     "{\"name\":\"m\",\"max_participants\":0}", &o),
	                 200);
	assert_string_equal(str(o, "name"), "m");
	assert_string_equal(str(o, "detail"), "d");
	assert_int_equal(
	    json_integer_value(json_object_get(o, "max_participants")), 0);
	assert_string_equal(str(o, "type"), "connect");
	json_decref(o);

	/* delete, twice */
	assert_int_equal(req(f, "DELETE", path, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "status"), "terminated");
	assert_string_not_equal(str(o, "tm_delete"), CH_TIME_NEVER);
	json_decref(o);
	assert_int_equal(req(f, "DELETE", path, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "status"), "terminated");
	json_decref(o);
	expect_error(f, "PUT", path, NULL, BEARER, "{\"name\":\"z\"}", 409,
	             "conference_terminated", NULL);
	json_decref(c);
}

/* Reads one page; returns the number of results and copies the token. */
static size_t page(struct fix *f, const char *query, char ids[][CH_UUID_LEN],
                   char *token, size_t token_len)
{
	json_t *o, *r, *v;
	size_t i;
	assert_int_equal(
	    req(f, "GET", "/v1.0/conferences", query, BEARER, NULL, &o), 200);
	r = json_object_get(o, "result");
	assert_true(json_is_array(r));
	json_array_foreach(r, i, v)
	{
		if (ids)
			memcpy(ids[i], str(v, "id"), CH_UUID_LEN);
		assert_true(
		    json_is_array(json_object_get(v, "conferencecall_ids")));
	}
	snprintf(token, token_len, "%s", str(o, "next_page_token"));
	i = json_array_size(r);
	json_decref(o);
	return i;
}

static void test_conference_pagination(void **state)
{
	struct fix *f = *state;
	char made[5][CH_UUID_LEN], got[10][CH_UUID_LEN], tok[64], q[128];
	char *sp;
	json_t *c;
	int64_t us;

	for (int i = 0; i < 5; i++) {
		c = create(f, "{\"type\":\"conference\"}");
		memcpy(made[i], str(c, "id"), CH_UUID_LEN);
		json_decref(c);
	}
	/* default page size 10: everything, newest first, no next page */
	assert_int_equal(page(f, NULL, got, tok, sizeof(tok)), 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(got[i], made[4 - i]);
	assert_string_equal(tok, "");

	assert_int_equal(page(f, "page_size=2", got, tok, sizeof(tok)), 2);
	assert_string_equal(got[0], made[4]);
	assert_string_equal(got[1], made[3]);
	assert_int_equal(ch_time_parse(tok, &us), 0);

	/* the token as a client encodes it: space as %20 */
	sp = strchr(tok, ' ');
	assert_non_null(sp);
	*sp = '\0';
	snprintf(q, sizeof(q), "page_size=2&page_token=%s%%20%s", tok, sp + 1);
	assert_int_equal(page(f, q, got, tok, sizeof(tok)), 2);
	assert_string_equal(got[0], made[2]);
	assert_string_equal(got[1], made[1]);

	/* ... or as '+', with ':' as %3A */
	sp = strchr(tok, ' ');
	*sp = '+';
	for (char *p = strchr(tok, ':'); p; p = strchr(tok, ':')) {
		memmove(p + 3, p + 1, strlen(p + 1) + 1);
		memcpy(p, "%3A", 3);
	}
	snprintf(q, sizeof(q), "page_size=2&page_token=%s", tok);
	assert_int_equal(page(f, q, got, tok, sizeof(tok)), 1);
	assert_string_equal(got[0], made[0]);
	assert_string_equal(tok, "");

	/* page_size is clamped to 100 */
	assert_int_equal(page(f, "page_size=1000", NULL, tok, sizeof(tok)), 5);
	/* another customer sees none */
	assert_int_equal(req(f, "GET", "/v1.0/conferences", "token=" TOKEN_B,
	                     NULL, NULL, &c),
	                 200);
	assert_int_equal(json_array_size(json_object_get(c, "result")), 0);
	json_decref(c);

	expect_error(f, "GET", "/v1.0/conferences", "page_size=0", BEARER, NULL,
	             400, "invalid_field", "page_size");
	expect_error(f, "GET", "/v1.0/conferences", "page_size=-3", BEARER,
	             NULL, 400, "invalid_field", "page_size");
	expect_error(f, "GET", "/v1.0/conferences", "page_size=ten", BEARER,
	             NULL, 400, "invalid_field", "page_size");
	expect_error(f, "GET", "/v1.0/conferences", "page_size=", BEARER, NULL,
	             400, "invalid_field", "page_size");
	expect_error(f, "GET", "/v1.0/conferences", "page_token=yesterday",
	             BEARER, NULL, 400, "invalid_field", "page_token");
}

/* ---- /conferencecalls ---- */

static void test_conferencecalls(void **state)
{
	struct fix *f = *state;
	struct ch_conferencecall a, b;
	char path[128], cpath[128], q[128];
	json_t *c, *o, *r;

	c = create(f, "{\"type\":\"conference\"}");
	snprintf(cpath, sizeof(cpath), "/v1.0/conferences/%s", str(c, "id"));
	run_ms(20);
	assert_int_equal(ch_conferencecall_create(f->core, str(c, "id"), "call",
	                                          CH_UUID_NIL, "alice", false,
	                                          &a),
	                 0);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), 0);
	assert_int_equal(ch_conferencecall_create(f->core, str(c, "id"), "call",
	                                          CH_UUID_NIL, "bob", false,
	                                          &b),
	                 0);

	/* the conference lists who is in it */
	assert_int_equal(req(f, "GET", cpath, NULL, BEARER, NULL, &o), 200);
	assert_int_equal(
	    json_array_size(json_object_get(o, "conferencecall_ids")), 2);
	json_decref(o);

	snprintf(q, sizeof(q), "conference_id=%s", str(c, "id"));
	assert_int_equal(
	    req(f, "GET", "/v1.0/conferencecalls", q, BEARER, NULL, &o), 200);
	r = json_object_get(o, "result");
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(str(json_array_get(r, 0), "id"), b.id);
	assert_string_equal(str(json_array_get(r, 1), "status"), "joined");
	assert_string_equal(str(o, "next_page_token"), "");
	json_decref(o);
	assert_int_equal(req(f, "GET", "/v1.0/conferencecalls", "page_size=1",
	                     BEARER, NULL, &o),
	                 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 1);
	assert_string_not_equal(str(o, "next_page_token"), "");
	json_decref(o);
	expect_error(f, "GET", "/v1.0/conferencecalls", "conference_id=x",
	             BEARER, NULL, 400, "invalid_field", "conference_id");

	snprintf(path, sizeof(path), "/v1.0/conferencecalls/%s", a.id);
	assert_int_equal(req(f, "GET", path, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "caller_id"), "alice");
	assert_false(json_is_true(json_object_get(o, "muted")));
	json_decref(o);
	expect_error(f, "GET", path, "token=" TOKEN_B, NULL, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "DELETE", path, "token=" TOKEN_B, NULL, NULL, 404,
	             "not_found", NULL);
	expect_error(f, "GET", "/v1.0/conferencecalls/" CH_UUID_NIL, NULL,
	             BEARER, NULL, 404, "not_found", NULL);

	/* mute / unmute */
	snprintf(path, sizeof(path), "/v1.0/conferencecalls/%s/mute", a.id);
	assert_int_equal(req(f, "POST", path, NULL, BEARER, NULL, &o), 200);
	assert_true(json_is_true(json_object_get(o, "muted")));
	json_decref(o);
	snprintf(path, sizeof(path), "/v1.0/conferencecalls/%s/unmute", a.id);
	assert_int_equal(req(f, "POST", path, NULL, BEARER, NULL, &o), 200);
	assert_true(json_is_false(json_object_get(o, "muted")));
	json_decref(o);

	/* kick: leaving, then leaved; a second kick is a conflict */
	snprintf(path, sizeof(path), "/v1.0/conferencecalls/%s", a.id);
	assert_int_equal(req(f, "DELETE", path, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "status"), "leaving");
	assert_string_equal(str(o, "leave_reason"), "removed");
	json_decref(o);
	expect_error(f, "DELETE", path, NULL, BEARER, NULL, 409,
	             "conferencecall_not_kickable", NULL);
	run_ms(20);
	assert_int_equal(req(f, "GET", path, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "status"), "leaved");
	json_decref(o);
	expect_error(f, "DELETE", path, NULL, BEARER, NULL, 409,
	             "conferencecall_not_kickable", NULL);
	snprintf(path, sizeof(path), "/v1.0/conferencecalls/%s/mute", a.id);
	expect_error(f, "POST", path, NULL, BEARER, NULL, 409,
	             "conferencecall_not_in_conference", NULL);

	/* DELETE of the conference removes the rest */
	assert_int_equal(req(f, "DELETE", cpath, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "status"), "terminating");
	json_decref(o);
	run_ms(20);
	assert_int_equal(req(f, "GET", cpath, NULL, BEARER, NULL, &o), 200);
	assert_string_equal(str(o, "status"), "terminated");
	assert_int_equal(
	    json_array_size(json_object_get(o, "conferencecall_ids")), 0);
	json_decref(o);
	json_decref(c);
}

/* ---- /calls, with no SIP layer attached ---- */

static void test_calls(void **state)
{
	struct fix *f = *state;
	static const struct {
		const char *body, *field;
	} bad[] = {
	    {"{}", "destinations"},
	    {"{\"destinations\":[]}", "destinations"},
	    {"{\"destinations\":[{\"type\":\"tel\",\"target\":\"+1\"}]}",
	     "destinations[0]"},
	    {"{\"destinations\":[{\"type\":\"sip\",\"target\":\"bob\"}]}",
	     "destinations[0].target"},
	    /* a header smuggled into the INVITE */
	    {"{\"destinations\":[{\"type\":\"sip\",\"target\":"
	     "\"sip:bob@127.0.0.1\\r\\nX-Evil: 1\"}]}",
	     "destinations[0].target"},
	    {"{\"source\":{\"type\":\"sip\",\"target\":\"sip:a@h>\"},"
	     "\"destinations\":[{\"type\":\"sip\","
	     "\"target\":\"sip:bob@127.0.0.1\"}]}",
	     "source.target"},
	    {"{\"source\":5,\"destinations\":[{\"type\":\"sip\","
	     "\"target\":\"sip:bob@127.0.0.1\"}]}",
	     "source"},
	    {"{\"destinations\":[{\"type\":\"sip\",\"target\":"
	     "\"sip:bob@127.0.0.1\"}],\"actions\":[{\"type\":\"talk\"}]}",
	     "actions"},
	    /* no conference_join: the call's media would have no room */
	    {"{\"destinations\":[{\"type\":\"sip\",\"target\":"
	     "\"sip:bob@127.0.0.1\"}],\"actions\":[{\"type\":\"hangup\"}]}",
	     "actions"},
	    {"{\"destinations\":[{\"type\":\"sip\",\"target\":"
	     "\"sip:bob@127.0.0.1\"}]}",
	     "actions"},
	};
	json_t *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect_error(f, "POST", "/v1.0/calls", NULL, BEARER,
		             bad[i].body, 400, "invalid_field", bad[i].field);
	expect_error(f, "POST", "/v1.0/calls", NULL, BEARER, "[", 400,
	             "invalid_json", NULL);
	expect_error(f, "POST", "/v1.0/calls", NULL, NULL, "{}", 401,
	             "unauthorized", NULL);
	/* valid, but nothing can place the call */
	expect_error(f, "POST", "/v1.0/calls", NULL, BEARER,
	             "{\"destinations\":[{\"type\":\"sip\",\"target\":"
	             "\"sip:bob@127.0.0.1\"}],\"actions\":[{\"type\":"
	             "\"conference_join\",\"option\":{\"conference_id\":"
	             "\"" CH_UUID_NIL "\"}}]}",
	             503, "no_telephony", NULL);

	assert_int_equal(req(f, "GET", "/v1.0/calls", NULL, BEARER, NULL, &o),
	                 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 0);
	assert_string_equal(str(o, "next_page_token"), "");
	json_decref(o);
	expect_error(f, "GET", "/v1.0/calls", "page_size=0", BEARER, NULL, 400,
	             "invalid_field", "page_size");
	expect_error(f, "GET", "/v1.0/calls/" CH_UUID_NIL, NULL, BEARER, NULL,
	             404, "not_found", NULL);
	expect_error(f, "DELETE", "/v1.0/calls/" CH_UUID_NIL, NULL, BEARER,
	             NULL, 404, "not_found", NULL);
	expect_error(f, "PUT", "/v1.0/calls/" CH_UUID_NIL, NULL, BEARER, "{}",
	             405, "method_not_allowed", NULL);
}

/* `chorusd customer token` (another process) while the API runs: the old
 * token, cached by the API, is refused on the very next request. */
static void test_token_replaced_elsewhere(void **state)
{
	struct fix *f = *state;
	struct ch_store *other;
	char hash[CH_TOKEN_HASH_LEN];
	json_t *o;

	for (int i = 0; i < 2; i++) { /* the second from the cache */
		assert_int_equal(
		    req(f, "GET", "/v1.0/conferences", NULL, BEARER, NULL, &o),
		    200);
		json_decref(o);
	}
	assert_int_equal(ch_store_open_sqlite(&other, f->dir), 0);
	ch_token_hash("rotated", hash);
	assert_int_equal(
	    other->ops->customer_set_token_hash(other, f->cust, hash), 0);
	ch_store_close(other);
	/* the daemon re-reads the store's data_version at most every 20 ms
	 * (TOKENS_RECHECK_MS): `customer token` takes longer than that */
	usleep(30 * 1000);
	expect_error(f, "GET", "/v1.0/conferences", NULL, BEARER, NULL, 401,
	             "unauthorized", NULL);
	assert_int_equal(req(f, "GET", "/v1.0/conferences", NULL,
	                     "Bearer rotated", NULL, &o),
	                 200);
	json_decref(o);
	/* the other customer is untouched */
	assert_int_equal(req(f, "GET", "/v1.0/conferences", "token=" TOKEN_B,
	                     NULL, NULL, &o),
	                 200);
	json_decref(o);
}

static int group_setup(void **state)
{
	(void)state;
	ch_log_set_level(CH_LOG_ERROR);
	return libre_init();
}

static int group_teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_routing),
	    T(test_auth),
	    T(test_conference_create_invalid),
	    T(test_conference_crud),
	    T(test_conference_pagination),
	    T(test_conferencecalls),
	    T(test_calls),
	    T(test_token_replaced_elsewhere),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
