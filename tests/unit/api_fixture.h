/*
 * api_fixture.h: helpers shared by the API route tests
 * (test_api_recordings.c, test_api_transcribes.c; header only): the
 * stack under the routes (a store in a fresh folder, its event hub, a
 * core, the API), a customer inserted into the store, one request through
 * ch_api_handle with its JSON answer, and the check of an API.md error
 * answer. Include after cmocka.h and tmpdir.h.
 */
#ifndef CH_TEST_API_FIXTURE_H
#define CH_TEST_API_FIXTURE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

/* What the routes run on; owned by one test. */
struct api_stack {
	char dir[CH_TEST_DIR_MAX];
	struct ch_store *st;
	struct ch_events *ev;
	struct ch_core *core;
	struct ch_api *api;
};

/* Opens the stack in a fresh folder <prefix>-XXXXXX, the API on laddr
 * (not listened on unless the test asks). Returns 0 or -1. */
static inline int api_stack_open(struct api_stack *s, const char *prefix,
                                 const struct sa *laddr)
{
	ch_test_tmpdir(s->dir, prefix);
	if (ch_store_open_sqlite(&s->st, s->dir) ||
	    ch_events_alloc(&s->ev, s->st, 1000) ||
	    ch_core_alloc(&s->core, s->st, s->ev, "test-node") ||
	    ch_api_alloc(&s->api, s->core, laddr))
		return -1;
	return 0;
}

/* Frees the stack and removes its folder. */
static inline void api_stack_close(struct api_stack *s)
{
	ch_api_free(s->api);
	ch_core_free(s->core);
	ch_events_free(s->ev);
	ch_store_close(s->st);
	ch_test_rmtree(s->dir);
}

/* Inserts the customer whose token is token; its id into id_out. */
static inline void api_add_customer(struct ch_store *st, const char *token,
                                    char *id_out)
{
	struct ch_customer c;
	memset(&c, 0, sizeof(c));
	ch_uuid_new(c.id);
	snprintf(c.name, sizeof(c.name), "%s", token);
	ch_token_hash(token, c.token_hash);
	c.tm_create = ch_time_now_us();
	assert_int_equal(st->ops->customer_insert(st, &c), 0);
	memcpy(id_out, c.id, CH_UUID_LEN);
}

/* One request without a body; its answer parsed into *out (the caller
 * frees it). Fails the test when the answer is not JSON. */
static inline uint16_t api_req(struct ch_api *api, const char *method,
                               const char *path, const char *query,
                               const char *auth, json_t **out)
{
	char *text = NULL;
	uint16_t status =
	    ch_api_handle(api, method, path, query, auth, NULL, 0, &text);
	assert_non_null(text);
	*out = json_loads(text, 0, NULL);
	if (!*out)
		fail_msg("response is not JSON: %s", text);
	free(text);
	return status;
}

/* The request answers status with an error body of that code and a
 * message; field (NULL: not checked) is the error's field. */
static inline void api_expect_error_field(struct ch_api *api,
                                          const char *method, const char *path,
                                          const char *query, const char *auth,
                                          uint16_t status, const char *code,
                                          const char *field)
{
	json_t *o;
	uint16_t got = api_req(api, method, path, query, auth, &o);
	json_t *e = json_object_get(o, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *fl = json_string_value(json_object_get(e, "field"));
	if (got != status || !c || strcmp(c, code))
		fail_msg("%s %s?%s: %u %s, want %u %s", method, path,
		         query ? query : "", got, c ? c : "-", status, code);
	if (field && (!fl || strcmp(fl, field)))
		fail_msg("%s %s?%s: field %s, want %s", method, path,
		         query ? query : "", fl ? fl : "-", field);
	const char *msg = json_string_value(json_object_get(e, "message"));
	assert_non_null(msg);
	assert_true(msg[0] != '\0');
	json_decref(o);
}

static inline void api_expect_error(struct ch_api *api, const char *method,
                                    const char *path, const char *query,
                                    const char *auth, uint16_t status,
                                    const char *code)
{
	api_expect_error_field(api, method, path, query, auth, status, code,
	                       NULL);
}

#endif
