/*
 * test_json_map.c: unit tests for core/json_map.c, the records-to-API-JSON
 * mapping: every API.md field of a conference and a conferencecall with
 * its JSON type and format (timestamps, the "never" sentinel, the nil
 * UUID for an empty id), and the fall-backs for malformed stored JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/json_map.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#define ID1      "11111111-1111-4111-8111-111111111111"
#define ID2      "22222222-2222-4222-8222-222222222222"
#define ID3      "33333333-3333-4333-8333-333333333333"
#define ID4      "44444444-4444-4444-8444-444444444444"
#define TS_US    INT64_C(1659805032247946)
#define TS_TEXT  "2022-08-06 16:57:12.247946"
#define TS2_US   INT64_C(1709251199999999)
#define TS2_TEXT "2024-02-29 23:59:59.999999"

enum jtype { J_STR, J_INT, J_BOOL, J_OBJ, J_ARR, J_TIME, J_OBJ_NULL };

struct field {
	const char *key;
	enum jtype type;
};

/* API.md: the fields of seed 001 plus transcribe_*, playback_*,
 * max_participants, max_sample_rate. */
static const struct field conf_fields[] = {
    {"id", J_STR},
    {"customer_id", J_STR},
    {"type", J_STR},
    {"status", J_STR},
    {"name", J_STR},
    {"detail", J_STR},
    {"data", J_OBJ},
    {"timeout", J_INT},
    {"pre_actions", J_ARR},
    {"post_actions", J_ARR},
    {"conferencecall_ids", J_ARR},
    {"recording_id", J_STR},
    {"recording_ids", J_ARR},
    {"transcribe_id", J_STR},
    {"transcribe_ids", J_ARR},
    {"playback_status", J_STR},
    {"playback_volume", J_INT},
    {"max_participants", J_INT},
    {"max_sample_rate", J_INT},
    {"end_reason", J_STR},
    {"ended_by", J_STR},
    {"tm_create", J_TIME},
    {"tm_update", J_TIME},
    {"tm_delete", J_TIME},
};

/* API.md: the fields of seed 002 plus muted, caller_id, leave_reason,
 * end_conference_on_exit, quality (and stats when live). */
static const struct field cc_fields[] = {
    {"id", J_STR},
    {"customer_id", J_STR},
    {"conference_id", J_STR},
    {"reference_type", J_STR},
    {"reference_id", J_STR},
    {"status", J_STR},
    {"muted", J_BOOL},
    {"caller_id", J_STR},
    {"leave_reason", J_STR},
    {"end_conference_on_exit", J_BOOL},
    {"quality", J_OBJ_NULL},
    {"tm_create", J_TIME},
    {"tm_update", J_TIME},
    {"tm_delete", J_TIME},
};

/* Checks that o has exactly these fields, each of its type. */
static void check_fields(json_t *o, const struct field *f, size_t n)
{
	int64_t us;
	assert_true(json_is_object(o));
	assert_int_equal(json_object_size(o), n);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(o, f[i].key);
		if (!v)
			fail_msg("field %s is missing", f[i].key);
		switch (f[i].type) {
		case J_STR:
			assert_true(json_is_string(v));
			break;
		case J_INT:
			assert_true(json_is_integer(v));
			break;
		case J_BOOL:
			assert_true(json_is_boolean(v));
			break;
		case J_OBJ:
			assert_true(json_is_object(v));
			break;
		case J_ARR:
			assert_true(json_is_array(v));
			break;
		case J_OBJ_NULL:
			assert_true(json_is_object(v) || json_is_null(v));
			break;
		case J_TIME:
			assert_true(json_is_string(v));
			assert_int_equal(strlen(json_string_value(v)), 26);
			assert_int_equal(
			    ch_time_parse(json_string_value(v), &us), 0);
			break;
		}
	}
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	return s;
}

/* Asserts that o[key] serialises to exactly text. */
static void assert_json_text(json_t *o, const char *key, const char *text)
{
	char *t = json_dumps(json_object_get(o, key),
	                     JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	assert_non_null(t);
	assert_string_equal(t, text);
	free(t);
}

static void make_conf(struct ch_conference *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->id, ID1, CH_UUID_LEN);
	memcpy(c->customer_id, ID2, CH_UUID_LEN);
	c->type = CH_CONFERENCE_TYPE_CONNECT;
	c->status = CH_CONFERENCE_TERMINATING;
	c->name = strdup("weekly");
	c->detail = strdup("team call");
	c->data = strdup("{\"b\":[1,2],\"a\":\"x\"}");
	c->timeout = 600;
	c->pre_actions = strdup("[{\"type\":\"beep\"}]");
	c->post_actions = strdup("[]");
	memcpy(c->recording_id, ID3, CH_UUID_LEN);
	c->recording_ids = strdup("[\"" ID3 "\"]");
	memcpy(c->transcribe_id, ID4, CH_UUID_LEN);
	c->transcribe_ids = strdup("[\"" ID4 "\"]");
	strcpy(c->playback_status, "playing");
	c->playback_volume = -12;
	c->max_participants = 8;
	c->max_sample_rate = 48000;
	c->tm_create = TS_US;
	c->tm_update = TS2_US;
	c->tm_delete = CH_TIME_NEVER_US;
}

static void test_conference_fields(void **state)
{
	struct ch_conference c;
	json_t *ids = json_array(), *o;
	(void)state;

	make_conf(&c);
	json_array_append_new(ids, json_string(ID4));
	o = ch_json_map_conference(&c, ids);
	check_fields(o, conf_fields,
	             sizeof(conf_fields) / sizeof(*conf_fields));

	assert_string_equal(str(o, "id"), ID1);
	assert_string_equal(str(o, "customer_id"), ID2);
	assert_string_equal(str(o, "type"), "connect");
	assert_string_equal(str(o, "status"), "terminating");
	assert_string_equal(str(o, "name"), "weekly");
	assert_string_equal(str(o, "detail"), "team call");
	assert_json_text(o, "data", "{\"a\":\"x\",\"b\":[1,2]}");
	assert_int_equal(json_integer_value(json_object_get(o, "timeout")),
	                 600);
	assert_json_text(o, "pre_actions", "[{\"type\":\"beep\"}]");
	assert_json_text(o, "post_actions", "[]");
	assert_json_text(o, "conferencecall_ids", "[\"" ID4 "\"]");
	assert_string_equal(str(o, "recording_id"), ID3);
	assert_json_text(o, "recording_ids", "[\"" ID3 "\"]");
	assert_string_equal(str(o, "transcribe_id"), ID4);
	assert_json_text(o, "transcribe_ids", "[\"" ID4 "\"]");
	assert_string_equal(str(o, "playback_status"), "playing");
	assert_int_equal(
	    json_integer_value(json_object_get(o, "playback_volume")), -12);
	assert_int_equal(
	    json_integer_value(json_object_get(o, "max_participants")), 8);
	assert_int_equal(
	    json_integer_value(json_object_get(o, "max_sample_rate")), 48000);
	assert_string_equal(str(o, "tm_create"), TS_TEXT);
	assert_string_equal(str(o, "tm_update"), TS2_TEXT);
	assert_string_equal(str(o, "tm_delete"), CH_TIME_NEVER);
	json_decref(o);
	ch_conference_clear(&c);
}

/* Empty ids are the nil UUID, no ids list is [], and every status and
 * type has its API name. */
static void test_conference_defaults(void **state)
{
	static const char *const statuses[] = {"starting", "progressing",
	                                       "terminating", "terminated"};
	struct ch_conference c;
	json_t *o;
	(void)state;

	memset(&c, 0, sizeof(c));
	memcpy(c.id, ID1, CH_UUID_LEN);
	c.tm_delete = CH_TIME_NEVER_US + 1000;
	o = ch_json_map_conference(&c, NULL);
	check_fields(o, conf_fields,
	             sizeof(conf_fields) / sizeof(*conf_fields));
	assert_string_equal(str(o, "type"), "conference");
	assert_string_equal(str(o, "name"), "");
	assert_string_equal(str(o, "detail"), "");
	assert_string_equal(str(o, "recording_id"), CH_UUID_NIL);
	assert_string_equal(str(o, "transcribe_id"), CH_UUID_NIL);
	assert_string_equal(str(o, "playback_status"), "stopped");
	assert_json_text(o, "data", "{}");
	assert_json_text(o, "pre_actions", "[]");
	assert_json_text(o, "conferencecall_ids", "[]");
	assert_json_text(o, "recording_ids", "[]");
	assert_string_equal(str(o, "tm_create"), "1970-01-01 00:00:00.000000");
	assert_string_equal(str(o, "tm_delete"), CH_TIME_NEVER);
	json_decref(o);

	for (int s = 0; s < 4; s++) {
		c.status = (enum ch_conference_status)s;
		o = ch_json_map_conference(&c, NULL);
		assert_string_equal(str(o, "status"), statuses[s]);
		json_decref(o);
	}
}

static void test_conference_bad_stored_json(void **state)
{
	struct ch_conference c;
	json_t *o;
	(void)state;

	make_conf(&c);
	free(c.data);
	free(c.pre_actions);
	free(c.post_actions);
	free(c.recording_ids);
	free(c.transcribe_ids);
	c.data = strdup("{\"a\":");          /* truncated */
	c.pre_actions = strdup("{\"a\":1}"); /* an object, not an array */
	c.post_actions = strdup("not json");
	c.recording_ids = strdup("");
	c.transcribe_ids = strdup("\"x\"");
	o = ch_json_map_conference(&c, NULL);
	check_fields(o, conf_fields,
	             sizeof(conf_fields) / sizeof(*conf_fields));
	assert_json_text(o, "data", "{}");
	assert_json_text(o, "pre_actions", "[]");
	assert_json_text(o, "post_actions", "[]");
	assert_json_text(o, "recording_ids", "[]");
	assert_json_text(o, "transcribe_ids", "[]");
	json_decref(o);

	free(c.data);
	c.data = strdup("[1,2]"); /* an array, not an object */
	o = ch_json_map_conference(&c, NULL);
	assert_json_text(o, "data", "{}");
	json_decref(o);
	ch_conference_clear(&c);
}

static void test_parse_stored(void **state)
{
	json_t *v;
	(void)state;

	v = ch_json_map_parse_stored("{\"k\":true}", false);
	assert_true(json_is_true(json_object_get(v, "k")));
	json_decref(v);
	v = ch_json_map_parse_stored("[1]", true);
	assert_int_equal(json_array_size(v), 1);
	json_decref(v);
	v = ch_json_map_parse_stored(NULL, false);
	assert_true(json_is_object(v));
	assert_int_equal(json_object_size(v), 0);
	json_decref(v);
	v = ch_json_map_parse_stored(NULL, true);
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	v = ch_json_map_parse_stored("[1] trailing", true);
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	v = ch_json_map_parse_stored("null", false);
	assert_true(json_is_object(v));
	json_decref(v);
}

static void make_cc(struct ch_conferencecall *cc)
{
	memset(cc, 0, sizeof(*cc));
	memcpy(cc->id, ID1, CH_UUID_LEN);
	memcpy(cc->customer_id, ID2, CH_UUID_LEN);
	memcpy(cc->conference_id, ID3, CH_UUID_LEN);
	strcpy(cc->reference_type, "call");
	memcpy(cc->reference_id, ID4, CH_UUID_LEN);
	cc->status = CH_CONFERENCECALL_LEAVED;
	cc->muted = true;
	strcpy(cc->caller_id, "+15550100");
	strcpy(cc->leave_reason, "orphan");
	cc->end_conference_on_exit = false;
	cc->tm_create = TS_US;
	cc->tm_update = TS2_US;
	cc->tm_delete = CH_TIME_NEVER_US;
}

static void test_conferencecall_fields(void **state)
{
	static const char *const statuses[] = {"joining", "joined", "leaving",
	                                       "leaved"};
	struct ch_conferencecall cc;
	json_t *o, *stats;
	(void)state;

	make_cc(&cc);
	o = ch_json_map_conferencecall(&cc, NULL);
	check_fields(o, cc_fields, sizeof(cc_fields) / sizeof(*cc_fields));
	assert_string_equal(str(o, "id"), ID1);
	assert_string_equal(str(o, "customer_id"), ID2);
	assert_string_equal(str(o, "conference_id"), ID3);
	assert_string_equal(str(o, "reference_type"), "call");
	assert_string_equal(str(o, "reference_id"), ID4);
	assert_string_equal(str(o, "status"), "leaved");
	assert_true(json_is_true(json_object_get(o, "muted")));
	assert_string_equal(str(o, "caller_id"), "+15550100");
	assert_string_equal(str(o, "leave_reason"), "orphan");
	assert_true(
	    json_is_false(json_object_get(o, "end_conference_on_exit")));
	assert_string_equal(str(o, "tm_create"), TS_TEXT);
	assert_string_equal(str(o, "tm_update"), TS2_TEXT);
	assert_string_equal(str(o, "tm_delete"), CH_TIME_NEVER);
	json_decref(o);

	/* live stats are carried as given */
	stats = json_pack("{s:s, s:i}", "codec", "PCMU", "packets_in", 10);
	o = ch_json_map_conferencecall(&cc, stats);
	assert_int_equal(json_object_size(o),
	                 sizeof(cc_fields) / sizeof(*cc_fields) + 1);
	assert_json_text(o, "stats", "{\"codec\":\"PCMU\",\"packets_in\":10}");
	json_decref(o);

	/* no stored quality: null; a stored one (after it left) as stored */
	o = ch_json_map_conferencecall(&cc, NULL);
	assert_true(json_is_null(json_object_get(o, "quality")));
	json_decref(o);
	snprintf(cc.quality, sizeof(cc.quality),
	         "{\"codec\":\"PCMA\",\"mos\":3.39,\"tags\":[\"low_mos\"]}");
	o = ch_json_map_conferencecall(&cc, NULL);
	json_t *q = json_object_get(o, "quality");
	assert_string_equal(str(q, "codec"), "PCMA");
	assert_true(json_real_value(json_object_get(q, "mos")) == 3.39);
	assert_json_text(q, "tags", "[\"low_mos\"]");
	json_decref(o);
	cc.quality[0] = '\0';

	for (int s = 0; s < 4; s++) {
		cc.status = (enum ch_conferencecall_status)s;
		o = ch_json_map_conferencecall(&cc, NULL);
		assert_string_equal(str(o, "status"), statuses[s]);
		json_decref(o);
	}
}

/* The enum names round trip, and unknown names are refused. */
static void test_enum_names(void **state)
{
	enum ch_conference_type t;
	enum ch_conference_status s;
	enum ch_conferencecall_status ccs;
	(void)state;

	assert_int_equal(ch_conference_type_parse("connect", &t), 0);
	assert_int_equal(t, CH_CONFERENCE_TYPE_CONNECT);
	assert_int_equal(ch_conference_type_parse("Connect", &t), -1);
	assert_int_equal(ch_conference_type_parse(NULL, &t), -1);
	assert_string_equal(ch_conference_type_str((enum ch_conference_type)9),
	                    "");
	for (int i = 0; i < 4; i++) {
		assert_int_equal(
		    ch_conference_status_parse(
		        ch_conference_status_str((enum ch_conference_status)i),
		        &s),
		    0);
		assert_int_equal(s, i);
		assert_int_equal(ch_conferencecall_status_parse(
		                     ch_conferencecall_status_str(
		                         (enum ch_conferencecall_status)i),
		                     &ccs),
		                 0);
		assert_int_equal(ccs, i);
	}
	assert_int_equal(ch_conference_status_parse("ended", &s), -1);
	assert_int_equal(ch_conferencecall_status_parse("left", &ccs), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conference_fields),
	    cmocka_unit_test(test_conference_defaults),
	    cmocka_unit_test(test_conference_bad_stored_json),
	    cmocka_unit_test(test_parse_stored),
	    cmocka_unit_test(test_conferencecall_fields),
	    cmocka_unit_test(test_enum_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
