/*
 * test_api_transcribes.c: unit tests for the transcription read routes
 * (api/api_transcribe.c, core/transcribe.c, ch_json_map_transcribe and
 * ch_json_map_transcript in core/json_map.c).
 *
 * The API runs over a real store (mkdtemp folder), event hub and core;
 * transcribe and transcript rows are inserted into the store directly,
 * and the routes are driven through ch_api_handle. Covered: GET
 * /transcribes (newest first, every field and timestamp of the resource,
 * pages, the reference_id filter, deleted and other customers' rows left
 * out, bad paging and filters 400 naming the field); GET
 * /transcribes/{id} (own 200; another customer's, deleted, unknown and
 * hostile ids 404 with a JSON error); GET /transcripts (every field, time
 * order with two segments at the same tm_start_ms, pages of every size
 * giving every segment once in order with the "<tm_start_ms>_<id>"
 * cursor, "" after a page that is not full, other transcribes' segments
 * left out; transcribe_id missing, not a UUID, quoted, with %00, very long
 * 400 naming it; unknown, another customer's or deleted transcribe 404;
 * malformed page tokens 400); no token 401; text that is not UTF-8
 * answered with "?" for its non-ASCII bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re_types.h>
#include <re_sa.h>

#include "api/api.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#include "tmpdir.h"
#include "api_fixture.h"

#define TOKEN    "trs-token-a"
#define TOKEN_B  "trs-token-b"
#define BEARER   "Bearer " TOKEN
#define BEARER_B "Bearer " TOKEN_B
#define CONF_1   "cccccccc-0000-4000-8000-000000000001"
#define CONF_2   "cccccccc-0000-4000-8000-000000000002"
#define CC_1     "dddddddd-0000-4000-8000-000000000001"
#define UNKNOWN  "eeeeeeee-0000-4000-8000-000000000009"
#define N_SEGS   7

struct fix {
	struct api_stack s;
	char cust[CH_UUID_LEN], cust_b[CH_UUID_LEN];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sa laddr;
	if (!f)
		return -1;
	sa_set_str(&laddr, "127.0.0.1", 0);
	if (api_stack_open(&f->s, "ch-apitrs", &laddr))
		return -1;
	api_add_customer(f->s.st, TOKEN, f->cust);
	api_add_customer(f->s.st, TOKEN_B, f->cust_b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	api_stack_close(&f->s);
	free(f);
	return 0;
}

/* Inserts a transcribe of cust created at tm_create (us); its id into
 * id. tm_delete: 0 live, else when it was deleted. */
static void add_trs(struct fix *f, const char *cust, const char *conf,
                    int64_t tm_create, const char *status, int64_t tm_delete,
                    char *id)
{
	struct ch_transcribe t;
	memset(&t, 0, sizeof(t));
	ch_uuid_new(t.id);
	snprintf(t.customer_id, sizeof(t.customer_id), "%s", cust);
	snprintf(t.reference_type, sizeof(t.reference_type), "conference");
	snprintf(t.reference_id, sizeof(t.reference_id), "%s", conf);
	snprintf(t.language, sizeof(t.language), "en-US");
	snprintf(t.engine, sizeof(t.engine), "sphinx");
	snprintf(t.status, sizeof(t.status), "%s", status);
	t.segments = 12;
	t.dropped_ms = 340;
	t.tm_start = tm_create + 1;
	t.tm_end = strcmp(status, "done") ? 0 : tm_create + 2;
	t.tm_create = tm_create;
	t.tm_update = tm_create + 3;
	t.tm_delete = tm_delete;
	assert_int_equal(f->s.st->ops->transcribe_insert(f->s.st, &t), 0);
	memcpy(id, t.id, CH_UUID_LEN);
}

/* Inserts a segment of trs_id with this id, start and text. */
static void add_seg(struct fix *f, const char *trs_id, const char *id,
                    int64_t start_ms, const char *text)
{
	struct ch_transcript t;
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "%s", id);
	snprintf(t.customer_id, sizeof(t.customer_id), "%s", f->cust);
	snprintf(t.transcribe_id, sizeof(t.transcribe_id), "%s", trs_id);
	snprintf(t.conferencecall_id, sizeof(t.conferencecall_id), CC_1);
	t.caller_id = (char *)"alice";
	t.text = (char *)text;
	t.tm_start_ms = start_ms;
	t.tm_end_ms = start_ms + 900;
	t.tm_create = 5000000 + start_ms;
	assert_int_equal(f->s.st->ops->transcript_insert(f->s.st, &t), 0);
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	if (!v)
		fail_msg("no string %s", key);
	return v;
}

static const char *item_id(json_t *list, size_t i)
{
	return str(json_array_get(json_object_get(list, "result"), i), "id");
}

static void trs_path(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "/v1.0/transcribes/%s", id);
}

/* Every field of the resource, as API.md names and formats them. */
static void check_trs_json(json_t *o, const char *id, const char *cust,
                           const char *conf)
{
	assert_int_equal(json_object_size(o), 14);
	assert_string_equal(str(o, "id"), id);
	assert_string_equal(str(o, "customer_id"), cust);
	assert_string_equal(str(o, "reference_type"), "conference");
	assert_string_equal(str(o, "reference_id"), conf);
	assert_string_equal(str(o, "language"), "en-US");
	assert_string_equal(str(o, "engine"), "sphinx");
	assert_int_equal(json_integer_value(json_object_get(o, "segments")),
	                 12);
	assert_int_equal(json_integer_value(json_object_get(o, "dropped_ms")),
	                 340);
	assert_string_equal(str(o, "tm_delete"), CH_TIME_NEVER);
}

static void test_transcribes(void **state)
{
	struct fix *f = *state;
	char a1[CH_UUID_LEN], a2[CH_UUID_LEN], a3[CH_UUID_LEN];
	char gone[CH_UUID_LEN], b1[CH_UUID_LEN], path[128], q[160];
	json_t *o, *it;

	add_trs(f, f->cust, CONF_1, 1000000, "done", 0, a1);
	add_trs(f, f->cust, CONF_2, 2000000, "done", CH_TIME_NEVER_US, a2);
	add_trs(f, f->cust, CONF_1, 3000000, "progressing", 0, a3);
	add_trs(f, f->cust, CONF_1, 2500000, "done", 2600000, gone);
	add_trs(f, f->cust_b, CONF_1, 2700000, "done", 0, b1);

	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcribes", NULL, BEARER, &o),
	    200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 3);
	assert_string_equal(item_id(o, 0), a3);
	assert_string_equal(item_id(o, 1), a2);
	assert_string_equal(item_id(o, 2), a1);
	assert_string_equal(str(o, "next_page_token"), "");
	it = json_array_get(json_object_get(o, "result"), 0);
	check_trs_json(it, a3, f->cust, CONF_1);
	assert_string_equal(str(it, "status"), "progressing");
	assert_string_equal(str(it, "tm_create"), "1970-01-01 00:00:03.000000");
	assert_string_equal(str(it, "tm_start"), "1970-01-01 00:00:03.000001");
	assert_string_equal(str(it, "tm_end"), CH_TIME_NEVER);
	assert_string_equal(str(it, "tm_update"), "1970-01-01 00:00:03.000003");
	it = json_array_get(json_object_get(o, "result"), 2);
	assert_string_equal(str(it, "status"), "done");
	assert_string_equal(str(it, "tm_end"), "1970-01-01 00:00:01.000002");
	json_decref(o);

	/* pages of 2: the token is the tm_create of the last */
	assert_int_equal(api_req(f->s.api, "GET", "/v1.0/transcribes",
	                         "page_size=2", BEARER, &o),
	                 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 2);
	assert_string_equal(str(o, "next_page_token"),
	                    "1970-01-01 00:00:02.000000");
	snprintf(q, sizeof(q), "page_size=2&page_token=%s",
	         str(o, "next_page_token"));
	json_decref(o);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcribes", q, BEARER, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 1);
	assert_string_equal(item_id(o, 0), a1);
	assert_string_equal(str(o, "next_page_token"), "");
	json_decref(o);

	/* one conference's; B sees only its own */
	assert_int_equal(api_req(f->s.api, "GET", "/v1.0/transcribes",
	                         "reference_id=" CONF_2, BEARER, &o),
	                 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 1);
	assert_string_equal(item_id(o, 0), a2);
	json_decref(o);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcribes", NULL, BEARER_B, &o),
	    200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 1);
	assert_string_equal(item_id(o, 0), b1);
	json_decref(o);

	/* bad paging and filters: 400 naming the parameter */
	static const char *const bad[][2] = {
	    {"page_size=0", "page_size"},
	    {"page_size=ten", "page_size"},
	    {"page_token=yesterday", "page_token"},
	    {"reference_id=../x", "reference_id"},
	    {"reference_id=%22%27%3B%20DROP", "reference_id"},
	    {"reference_id=" CONF_1 "%00x", "reference_id"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		api_expect_error_field(f->s.api, "GET", "/v1.0/transcribes",
		                       bad[i][0], BEARER, 400, "invalid_field",
		                       bad[i][1]);

	/* get: own 200 with every field; B's, deleted, unknown 404 */
	trs_path(path, sizeof(path), a2);
	assert_int_equal(api_req(f->s.api, "GET", path, NULL, BEARER, &o), 200);
	check_trs_json(o, a2, f->cust, CONF_2);
	assert_string_equal(str(o, "tm_create"), "1970-01-01 00:00:02.000000");
	json_decref(o);
	trs_path(path, sizeof(path), b1);
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	assert_int_equal(api_req(f->s.api, "GET", path, NULL, BEARER_B, &o),
	                 200);
	assert_string_equal(str(o, "customer_id"), f->cust_b);
	json_decref(o);
	trs_path(path, sizeof(path), gone);
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	trs_path(path, sizeof(path), UNKNOWN);
	api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404, "not_found");
	const char *const hostile[] = {
	    "%22%27%3B--",
	    "%00",
	    "..%2F..%2Fetc",
	    a1 + 1,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		trs_path(path, sizeof(path), hostile[i]);
		api_expect_error(f->s.api, "GET", path, NULL, BEARER, 404,
		                 "not_found");
	}
	api_expect_error(f->s.api, "GET", "/v1.0/transcribes", NULL, NULL, 401,
	                 "unauthorized");
}

/* The segments of the transcript test, in the order the API gives them:
 * (tm_start_ms, id); inserted in another order. */
static const struct {
	const char *id;
	int64_t ms;
	const char *text;
} segs[N_SEGS] = {
    {"e0000000-0000-4000-8000-000000000007", 0, "go forward ten meters"},
    {"e0000000-0000-4000-8000-000000000002", 1500, "same start, first"},
    {"e0000000-0000-4000-8000-000000000005", 1500, "same start, second"},
    {"e0000000-0000-4000-8000-000000000001", 3200,
     "\"quoted\" it's gr\xc3\xbc\xc3\x9f"
     "e \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x8e\xa4"},
    {"e0000000-0000-4000-8000-000000000006", 4000, ""},
    {"e0000000-0000-4000-8000-000000000003", 70000, "later"},
    {"e0000000-0000-4000-8000-000000000004", INT64_C(5000000000), "last"},
};

/* A's transcribe with the N_SEGS segments, and another of A's with one
 * segment of its own; ids into id and other. */
static void add_transcript_data(struct fix *f, char *id, char *other)
{
	static const int order[N_SEGS] = {3, 6, 0, 2, 5, 1, 4};
	add_trs(f, f->cust, CONF_1, 1000000, "done", 0, id);
	add_trs(f, f->cust, CONF_1, 2000000, "progressing", 0, other);
	for (int i = 0; i < N_SEGS; i++)
		add_seg(f, id, segs[order[i]].id, segs[order[i]].ms,
		        segs[order[i]].text);
	add_seg(f, other, "e0000000-0000-4000-8000-0000000000aa", 10,
	        "not of the first");
}

/* Pages through id's transcripts `size` at a time; checks that every
 * segment comes once, in order, and each token. */
static void page_through(struct fix *f, const char *id, unsigned size)
{
	char q[256], token[96] = "";
	unsigned seen = 0, pages = 0;
	for (;;) {
		json_t *o, *arr;
		if (token[0])
			snprintf(q, sizeof(q),
			         "transcribe_id=%s&page_size=%u&page_token=%s",
			         id, size, token);
		else
			snprintf(q, sizeof(q), "transcribe_id=%s&page_size=%u",
			         id, size);
		assert_int_equal(api_req(f->s.api, "GET", "/v1.0/transcripts",
		                         q, BEARER, &o),
		                 200);
		arr = json_object_get(o, "result");
		size_t n = json_array_size(arr);
		assert_true(n <= size);
		for (size_t i = 0; i < n; i++) {
			assert_true(seen < N_SEGS);
			assert_string_equal(item_id(o, i), segs[seen].id);
			seen++;
		}
		snprintf(token, sizeof(token), "%s", str(o, "next_page_token"));
		if (n == size) { /* a full page: the cursor of its last */
			char want[96];
			json_t *last = json_array_get(arr, n - 1);
			snprintf(want, sizeof(want), "%" PRId64 "_%s",
			         (int64_t)json_integer_value(
			             json_object_get(last, "tm_start_ms")),
			         str(last, "id"));
			assert_string_equal(token, want);
		} else {
			assert_string_equal(token, "");
		}
		json_decref(o);
		assert_true(++pages <= N_SEGS + 1);
		if (!token[0])
			break;
	}
	assert_int_equal(seen, N_SEGS);
	/* pages: full ones, then one that is not full (maybe empty) */
	assert_int_equal(pages, N_SEGS / size + 1);
}

static void test_transcripts(void **state)
{
	struct fix *f = *state;
	char id[CH_UUID_LEN], other[CH_UUID_LEN], q[160];
	json_t *o, *it;

	add_transcript_data(f, id, other);

	/* the default page holds all 7, in time order, then id order */
	snprintf(q, sizeof(q), "transcribe_id=%s", id);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcripts", q, BEARER, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), N_SEGS);
	for (int i = 0; i < N_SEGS; i++) {
		it = json_array_get(json_object_get(o, "result"), (size_t)i);
		assert_string_equal(str(it, "id"), segs[i].id);
		assert_string_equal(str(it, "text"), segs[i].text);
		assert_int_equal(
		    json_integer_value(json_object_get(it, "tm_start_ms")),
		    segs[i].ms);
	}
	assert_string_equal(str(o, "next_page_token"), "");
	/* every field of one */
	it = json_array_get(json_object_get(o, "result"), 1);
	assert_int_equal(json_object_size(it), 8);
	assert_string_equal(str(it, "transcribe_id"), id);
	assert_string_equal(str(it, "conferencecall_id"), CC_1);
	assert_string_equal(str(it, "caller_id"), "alice");
	assert_int_equal(json_integer_value(json_object_get(it, "tm_end_ms")),
	                 2400);
	assert_string_equal(str(it, "tm_create"), "1970-01-01 00:00:05.001500");
	json_decref(o);

	/* the other transcribe has its own segment only */
	snprintf(q, sizeof(q), "transcribe_id=%s", other);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcripts", q, BEARER, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 1);
	assert_string_equal(
	    str(json_array_get(json_object_get(o, "result"), 0), "text"),
	    "not of the first");
	json_decref(o);

	/* pages of every size: every segment once, in order */
	for (unsigned size = 1; size <= N_SEGS + 1; size++)
		page_through(f, id, size);
}

static void test_transcript_failures(void **state)
{
	struct fix *f = *state;
	char id[CH_UUID_LEN], other[CH_UUID_LEN], b1[CH_UUID_LEN];
	char gone[CH_UUID_LEN], q[6000];
	json_t *o;

	add_transcript_data(f, id, other);
	add_trs(f, f->cust_b, CONF_1, 3000000, "done", 0, b1);
	add_seg(f, b1, "e0000000-0000-4000-8000-0000000000bb", 5, "of b");
	add_trs(f, f->cust, CONF_1, 4000000, "done", 4100000, gone);
	add_seg(f, gone, "e0000000-0000-4000-8000-0000000000cc", 5, "gone");

	/* transcribe_id missing or not a UUID: 400 naming it */
	static const char *const bad_id[] = {
	    NULL,
	    "",
	    "transcribe_id=",
	    "transcribe_id=not-a-uuid",
	    "transcribe_id=%22" CONF_1 "%22",
	    "transcribe_id=%27%3B%20DROP%20TABLE%20transcripts%3B--",
	    "transcribe_id=%00",
	    "transcribe_id=" CONF_1 "%00",
	    "transcribe_id=" CONF_1 "%00x",
	    "transcribe_id=%E2%80%AE%0D%0ASet-Cookie:x",
	    "transcribe_ids=" CONF_1,
	};
	for (size_t i = 0; i < sizeof(bad_id) / sizeof(bad_id[0]); i++)
		api_expect_error_field(f->s.api, "GET", "/v1.0/transcripts",
		                       bad_id[i], BEARER, 400, "invalid_field",
		                       "transcribe_id");
	memset(q, 0, sizeof(q));
	strcpy(q, "transcribe_id=");
	memset(q + strlen(q), 'x', 5000);
	api_expect_error_field(f->s.api, "GET", "/v1.0/transcripts", q, BEARER,
	                       400, "invalid_field", "transcribe_id");

	/* unknown, another customer's, deleted: 404 */
	const char *nf[] = {UNKNOWN, b1, gone};
	for (size_t i = 0; i < 3; i++) {
		snprintf(q, sizeof(q), "transcribe_id=%s", nf[i]);
		api_expect_error(f->s.api, "GET", "/v1.0/transcripts", q,
		                 BEARER, 404, "not_found");
	}
	/* B reads its own */
	snprintf(q, sizeof(q), "transcribe_id=%s", b1);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcripts", q, BEARER_B, &o),
	    200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 1);
	json_decref(o);

	/* malformed page tokens and sizes: 400 naming them */
	static const char *const bad_page[][2] = {
	    {"page_token=yesterday", "page_token"},
	    {"page_token=1970-01-01%2000:00:01.000000", "page_token"},
	    {"page_token=5", "page_token"},
	    {"page_token=5_", "page_token"},
	    {"page_token=_" CONF_1, "page_token"},
	    {"page_token=-_" CONF_1, "page_token"},
	    {"page_token=%2B5_" CONF_1, "page_token"},
	    {"page_token=%205_" CONF_1, "page_token"},
	    {"page_token=1e3_" CONF_1, "page_token"},
	    {"page_token=5_" CONF_1 "x", "page_token"},
	    {"page_token=5_" CONF_1 "%00", "page_token"},
	    {"page_token=5_%27%3B--", "page_token"},
	    {"page_token=9999999999999999999_" CONF_1, "page_token"},
	    {"page_size=0", "page_size"},
	    {"page_size=-1", "page_size"},
	    {"page_size=ten", "page_size"},
	};
	for (size_t i = 0; i < sizeof(bad_page) / sizeof(bad_page[0]); i++) {
		snprintf(q, sizeof(q), "transcribe_id=%s&%s", id,
		         bad_page[i][0]);
		api_expect_error_field(f->s.api, "GET", "/v1.0/transcripts", q,
		                       BEARER, 400, "invalid_field",
		                       bad_page[i][1]);
	}
	/* a well-formed cursor of no segment: the ones after it */
	snprintf(q, sizeof(q), "transcribe_id=%s&page_token=1500_%s", id,
	         "e0000000-0000-4000-8000-000000000003");
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcripts", q, BEARER, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 5);
	assert_string_equal(item_id(o, 0), segs[2].id);
	json_decref(o);
	/* a size past 100 is clamped, as the other lists */
	snprintf(q, sizeof(q), "transcribe_id=%s&page_size=100000", id);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcripts", q, BEARER, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), N_SEGS);
	json_decref(o);
	snprintf(q, sizeof(q), "transcribe_id=%s", id);
	api_expect_error(f->s.api, "GET", "/v1.0/transcripts", q, NULL, 401,
	                 "unauthorized");

	/* text that is not UTF-8 (an engine's bytes) still has its member:
	 * the bytes past ASCII become "?" */
	add_seg(f, other, "e0000000-0000-4000-8000-0000000000ab", 20,
	        "bad \xff\xc3 end");
	snprintf(q, sizeof(q), "transcribe_id=%s", other);
	assert_int_equal(
	    api_req(f->s.api, "GET", "/v1.0/transcripts", q, BEARER, &o), 200);
	assert_int_equal(json_array_size(json_object_get(o, "result")), 2);
	assert_string_equal(
	    str(json_array_get(json_object_get(o, "result"), 1), "text"),
	    "bad ?"
	    "? end");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_transcribes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transcripts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transcript_failures, setup,
	                                    teardown),
	};
	ch_log_set_level(CH_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
