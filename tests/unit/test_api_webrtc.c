/*
 * test_api_webrtc.c: the WebRTC routes' API side (api/api_webrtc.c,
 * core/core_webrtc.c) over a fake media layer: 201 with the layer's SDP
 * answer, and every failure path (no layer, unknown id, another tenant's
 * conference, terminated conference, empty body, hostile name, refused
 * offer, full room, DELETE of a SIP call or an unknown session).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/call.h"
#include "core/conference.h"
#include "core/core.h"
#include "core/core_webrtc.h"
#include "store/store.h"

#include "tmpdir.h"
#include "api_fixture.h"

#define AUTH_A "Bearer webrtc-token-a"
#define AUTH_B "Bearer webrtc-token-b"
#define OFFER  "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"

/* The fake layer: answers with a fixed text, or fails with err. */
struct fake {
	int err;
	unsigned calls;
	char caller[80];
	size_t len;
};
static struct fake fake;

static int fake_offer(void *arg, const struct ch_conference *conf,
                      const char *sdp, size_t len, const char *caller,
                      struct ch_core_webrtc_answer *out, const char **why)
{
	(void)arg;
	(void)conf;
	(void)sdp;
	fake.calls++;
	fake.len = len;
	snprintf(fake.caller, sizeof(fake.caller), "%s", caller);
	if (fake.err) {
		*why = "no ice-ufrag";
		return fake.err;
	}
	out->sdp = strdup("v=0\r\nanswer\r\n");
	ch_uuid_new(out->call_id);
	ch_uuid_new(out->conferencecall_id);
	return 0;
}

static const struct ch_core_media_ops ops = {.webrtc_offer = fake_offer};

struct fx {
	struct api_stack s;
	char cust_a[CH_UUID_LEN], cust_b[CH_UUID_LEN];
	char conf[CH_UUID_LEN], path[128];
};

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	if (api_stack_open(&f.s, "chorus-api-webrtc", NULL))
		return -1;
	api_add_customer(f.s.st, "webrtc-token-a", f.cust_a);
	api_add_customer(f.s.st, "webrtc-token-b", f.cust_b);
	char *text = NULL;
	static const char body[] = "{\"type\":\"conference\",\"name\":\"w\"}";
	if (ch_api_handle(f.s.api, "POST", "/v1.0/conferences", NULL, AUTH_A,
	                  body, strlen(body), &text) != 200)
		return -1;
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	snprintf(f.conf, sizeof(f.conf), "%s",
	         json_string_value(json_object_get(o, "id")));
	json_decref(o);
	ch_conference_room_ready(f.s.core, f.conf);
	snprintf(f.path, sizeof(f.path), "/v1.0/conferences/%s/webrtc", f.conf);
	memset(&fake, 0, sizeof(fake));
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	api_stack_close(&f->s);
	return 0;
}

/* POSTs body to path; the status, and the answer text into *out. */
static uint16_t post(struct fx *f, const char *path, const char *query,
                     const char *auth, const char *body, char **out)
{
	return ch_api_handle(f->s.api, "POST", path, query, auth, body,
	                     body ? strlen(body) : 0, out);
}

/* The answer is an API.md error of status and code. */
static void expect(struct fx *f, const char *path, const char *query,
                   const char *auth, const char *body, uint16_t status,
                   const char *code)
{
	char *text = NULL;
	uint16_t got = post(f, path, query, auth, body, &text);
	json_t *o = json_loads(text ? text : "", 0, NULL);
	const char *c = json_string_value(
	    json_object_get(json_object_get(o, "error"), "code"));
	if (got != status || !c || strcmp(c, code))
		fail_msg("POST %s?%s: %u %s, want %u %s", path,
		         query ? query : "", got, text ? text : "-", status,
		         code);
	json_decref(o);
	free(text);
}

static void test_no_media_layer(void **state)
{
	struct fx *f = *state;
	expect(f, f->path, NULL, AUTH_A, OFFER, 501, "not_implemented");
}

static void test_offer_answered(void **state)
{
	struct fx *f = *state;
	ch_core_set_media(f->s.core, &ops, NULL);
	char *text = NULL;
	assert_int_equal(
	    post(f, f->path, "name=Ada%20L.", AUTH_A, OFFER, &text), 201);
	assert_string_equal(text, "v=0\r\nanswer\r\n");
	free(text);
	assert_int_equal(fake.calls, 1);
	assert_string_equal(fake.caller, "Ada L.");
	assert_int_equal(fake.len, strlen(OFFER));
	/* default name */
	assert_int_equal(post(f, f->path, NULL, AUTH_A, OFFER, &text), 201);
	free(text);
	assert_string_equal(fake.caller, "webrtc");
}

static void test_offer_failures(void **state)
{
	struct fx *f = *state;
	ch_core_set_media(f->s.core, &ops, NULL);
	char other[128], uuid[CH_UUID_LEN];
	ch_uuid_new(uuid);
	snprintf(other, sizeof(other), "/v1.0/conferences/%s/webrtc", uuid);
	expect(f, other, NULL, AUTH_A, OFFER, 404, "not_found");
	/* another tenant's conference is unknown to it */
	expect(f, f->path, NULL, AUTH_B, OFFER, 404, "not_found");
	expect(f, f->path, NULL, "Bearer nope", OFFER, 401, "unauthorized");
	expect(f, f->path, NULL, AUTH_A, NULL, 400, "invalid_offer");
	expect(f, f->path, "name=%3Cscript%3E", AUTH_A, OFFER, 400,
	       "invalid_parameter");
	expect(f, f->path, "name=a%0D%0AVia:x", AUTH_A, OFFER, 400,
	       "invalid_parameter");
	assert_int_equal(fake.calls, 0); /* none reached the layer */
	fake.err = EPROTO;
	expect(f, f->path, NULL, AUTH_A, OFFER, 400, "invalid_offer");
	fake.err = EXFULL;
	expect(f, f->path, NULL, AUTH_A, OFFER, 409, "conference_full");
	fake.err = 0;
	/* a terminated conference takes no one */
	json_t *o;
	char conf_path[96];
	snprintf(conf_path, sizeof(conf_path), "/v1.0/conferences/%s", f->conf);
	assert_int_equal(
	    api_req(f->s.api, "DELETE", conf_path, NULL, AUTH_A, &o), 200);
	json_decref(o);
	unsigned before = fake.calls;
	expect(f, f->path, NULL, AUTH_A, OFFER, 409, "invalid_state");
	assert_int_equal(fake.calls, before);
}

static void test_leave_failures(void **state)
{
	struct fx *f = *state;
	char path[96], uuid[CH_UUID_LEN];
	ch_uuid_new(uuid);
	snprintf(path, sizeof(path), "/v1.0/webrtc/%s", uuid);
	api_expect_error(f->s.api, "DELETE", path, NULL, AUTH_A, 404,
	                 "not_found");
	/* a SIP call of the customer is no WebRTC session */
	struct ch_call c;
	assert_int_equal(ch_call_incoming(f->s.core, f->cust_a, f->conf,
	                                  "{\"type\":\"sip\",\"target\":\"a\"}",
	                                  "{\"type\":\"sip\",\"target\":\"b\"}",
	                                  "sip", "cid-1", &c),
	                 0);
	snprintf(path, sizeof(path), "/v1.0/webrtc/%s", c.id);
	api_expect_error(f->s.api, "DELETE", path, NULL, AUTH_A, 404,
	                 "not_found");
	ch_call_clear(&c);
	/* a WebRTC call of another tenant is unknown to it */
	assert_int_equal(
	    ch_call_incoming(f->s.core, f->cust_a, f->conf,
	                     "{\"type\":\"webrtc\",\"target\":\"a\"}",
	                     "{\"type\":\"conference\",\"target\":\"b\"}",
	                     "webrtc", "cid-2", &c),
	    0);
	snprintf(path, sizeof(path), "/v1.0/webrtc/%s", c.id);
	api_expect_error(f->s.api, "DELETE", path, NULL, AUTH_B, 404,
	                 "not_found");
	/* its own tenant hangs it up: 200 with the call, then 409 */
	json_t *o;
	assert_int_equal(api_req(f->s.api, "DELETE", path, NULL, AUTH_A, &o),
	                 200);
	assert_string_equal(json_string_value(json_object_get(o, "id")), c.id);
	json_decref(o);
	api_expect_error(f->s.api, "DELETE", path, NULL, AUTH_A, 409,
	                 "call_ended");
	ch_call_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_no_media_layer, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_offer_answered, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_offer_failures, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_leave_failures, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
