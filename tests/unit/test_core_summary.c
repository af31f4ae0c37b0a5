/*
 * test_core_summary.c: unit tests for the conference summary
 * (core/summary.c, the store's conference_summaries, ch_json_map_summary):
 * a scripted conference whose every field matches what happened, each
 * end_reason with its ended_by, distinct caller ids, the status steps,
 * and a summary that survives closing and reopening the store and core
 * (participants orphaned at start leave the concurrent count). No media
 * layer: participants join and leave through the core API. The fixture
 * is core_fixture.h.
 */
#include "core_fixture.h"

#include "core/conference_record.h"
#include "core/json_map.h"
#include "core/summary.h"

/* A joined participant with its own caller id. */
static void join_as(struct fix *f, const char *conf_id, const char *caller,
                    bool eoe, struct ch_conferencecall *out)
{
	char ref[CH_UUID_LEN];
	ch_uuid_new(ref);
	assert_int_equal(ch_conferencecall_create(f->core, conf_id, "call", ref,
	                                          caller, eoe, out),
	                 0);
	assert_int_equal(ch_conferencecall_joined(f->core, out->id), 0);
}

/* The summary as the API answers it, at now_us (0: the real now). */
static json_t *summary_json(struct fix *f, const char *conf_id, int64_t now_us)
{
	struct ch_summary s;
	assert_int_equal(ch_summary_get(f->core, f->cust.id, conf_id, &s), 0);
	json_t *o = ch_json_map_summary(&s, now_us ? now_us : ch_time_now_us());
	assert_non_null(o);
	ch_summary_clear(&s);
	return o;
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Parses the API timestamp o[key]. */
static int64_t jtime(json_t *o, const char *key)
{
	int64_t us;
	assert_int_equal(ch_time_parse(jstr(o, key), &us), 0);
	return us;
}

static void hangup(struct fix *f, const char *cc_id)
{
	assert_int_equal(
	    ch_conferencecall_left(f->core, cc_id, CH_LEAVE_HANGUP), 0);
}

static bool cc_left_h(struct fix *f, const void *arg)
{
	return cc_status(f, arg) == CH_CONFERENCECALL_LEAVED;
}

static void kick(struct fix *f, const char *cc_id)
{
	struct ch_conferencecall out;
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, cc_id, &out), 0);
	assert_true(run_until(f, cc_left_h, cc_id, 1000));
}

/* The number of participants the summary counts as joined now. */
static size_t joined_now(struct fix *f, const char *conf_id)
{
	struct ch_summary s;
	assert_int_equal(ch_summary_get(f->core, NULL, conf_id, &s), 0);
	json_t *a = ch_json_map_parse_stored(s.joined_ids, true);
	size_t n = json_array_size(a);
	json_decref(a);
	ch_summary_clear(&s);
	return n;
}

/* 3 join, one is kicked, one hangs up, then DELETE: every field. */
static void test_summary_scripted(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, r, g;
	struct ch_conferencecall a, b, d;
	json_t *o;

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 10, &c);
	o = summary_json(f, c.id, 0);
	assert_string_equal(jstr(o, "status"), "not_started");
	assert_string_equal(jstr(o, "processing_state"), "in_progress");
	assert_string_equal(jstr(o, "start_time"), CH_TIME_NEVER);
	assert_string_equal(jstr(o, "end_time"), CH_TIME_NEVER);
	assert_string_equal(jstr(o, "end_reason"), "");
	assert_string_equal(jstr(o, "ended_by"), "");
	assert_false(json_is_true(json_object_get(o, "recording_enabled")));
	json_decref(o);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_PROGRESSING, 1000));

	join_as(f, c.id, "+15550001", false, &a);
	o = summary_json(f, c.id, 0);
	/* one participant alone has not started it */
	assert_string_equal(jstr(o, "status"), "not_started");
	assert_string_equal(jstr(o, "start_time"), CH_TIME_NEVER);
	assert_int_equal(jint(o, "connect_duration_seconds"), 0);
	assert_int_equal(jint(o, "max_concurrent_participants"), 1);
	json_decref(o);

	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "wav", true, &r),
	                 0);
	ch_conference_clear(&r);
	int64_t before_b = ch_time_now_us();
	join_as(f, c.id, "+15550002", false, &b);
	int64_t after_b = ch_time_now_us();
	join_as(f, c.id, "+15550003", false, &d);
	o = summary_json(f, c.id, 0);
	assert_string_equal(jstr(o, "status"), "in_progress");
	int64_t start = jtime(o, "start_time");
	assert_true(start >= before_b && start <= after_b);
	assert_int_equal(jint(o, "max_concurrent_participants"), 3);
	assert_true(json_is_true(json_object_get(o, "recording_enabled")));
	json_decref(o);

	kick(f, b.id);
	assert_int_equal(joined_now(f, c.id), 2);
	hangup(f, d.id);
	assert_int_equal(joined_now(f, c.id), 1);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);

	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &g),
	                 0);
	ch_conference_clear(&g);
	o = summary_json(f, c.id, 0);
	/* terminating: the reason is known, it has not ended yet */
	assert_string_equal(jstr(o, "status"), "in_progress");
	assert_string_equal(jstr(o, "end_reason"), CH_END_API);
	assert_string_equal(jstr(o, "end_time"), CH_TIME_NEVER);
	json_decref(o);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(ch_conference_get(f->core, NULL, c.id, &g), 0);
	assert_int_equal(joined_now(f, c.id), 0);

	o = summary_json(f, c.id, 0);
	assert_string_equal(jstr(o, "conference_id"), c.id);
	assert_string_equal(jstr(o, "customer_id"), f->cust.id);
	assert_string_equal(jstr(o, "name"), "room");
	assert_int_equal(jtime(o, "create_time"), c.tm_create);
	assert_int_equal(jtime(o, "start_time"), start);
	assert_int_equal(jtime(o, "end_time"), g.tm_delete);
	assert_int_equal(jint(o, "duration_seconds"),
	                 (g.tm_delete - c.tm_create) / 1000000);
	assert_int_equal(jint(o, "connect_duration_seconds"),
	                 (g.tm_delete - start) / 1000000);
	assert_string_equal(jstr(o, "status"), "completed");
	assert_string_equal(jstr(o, "processing_state"), "complete");
	assert_string_equal(jstr(o, "end_reason"), CH_END_API);
	assert_string_equal(jstr(o, "ended_by"), CH_UUID_NIL);
	assert_string_equal(jstr(o, "ended_by"), g.ended_by);
	assert_int_equal(jint(o, "max_participants"), 10);
	assert_int_equal(jint(o, "max_concurrent_participants"), 3);
	assert_int_equal(jint(o, "unique_participants"), 3);
	assert_true(json_is_true(json_object_get(o, "recording_enabled")));
	assert_string_equal(jstr(o, "mixer_region"), "test-node");
	assert_true(json_is_array(json_object_get(o, "tags")));
	assert_int_equal(json_array_size(json_object_get(o, "tags")), 0);
	assert_true(json_is_object(json_object_get(o, "tag_info")));
	assert_int_equal(json_object_size(json_object_get(o, "tag_info")), 0);
	json_decref(o);

	/* ended: its durations no longer run */
	o = summary_json(f, c.id, g.tm_delete + 3600 * INT64_C(1000000));
	assert_int_equal(jint(o, "duration_seconds"),
	                 (g.tm_delete - c.tm_create) / 1000000);
	json_decref(o);
	ch_conference_clear(&g);
	ch_conference_clear(&c);
}

/* While live, duration counts from create and connect_duration from
 * start_time, both to now. */
static void test_summary_live_durations(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, b;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	int64_t later = c.tm_create + 7500000;
	json_t *o = summary_json(f, c.id, later);
	assert_int_equal(jint(o, "duration_seconds"), 7);
	assert_int_equal(jint(o, "connect_duration_seconds"), 0);
	json_decref(o);
	join_as(f, c.id, "+15550001", false, &a);
	join_as(f, c.id, "+15550002", false, &b);
	o = summary_json(f, c.id, 0);
	int64_t start = jtime(o, "start_time");
	json_decref(o);
	o = summary_json(f, c.id, start + 4200000);
	assert_int_equal(jint(o, "connect_duration_seconds"), 4);
	assert_int_equal(jint(o, "duration_seconds"),
	                 (start + 4200000 - c.tm_create) / 1000000);
	assert_int_equal(jint(o, "max_participants"), 0);
	json_decref(o);
	ch_conference_clear(&c);
}

struct ending {
	enum ch_conference_type type;
	bool eoe;  /* the first participant has end_conference_on_exit */
	bool kick; /* it is kicked (else it hangs up) */
	const char *reason;
};

/* Two participants; the first one's leaving ends the conference. */
static void check_ending(struct fix *f, const struct ending *e)
{
	struct ch_conference c;
	struct ch_conferencecall a, b;

	live_conf(f, e->type, 0, &c);
	join_as(f, c.id, "+15550001", e->eoe, &a);
	join_as(f, c.id, "+15550002", false, &b);
	if (e->kick)
		kick(f, a.id);
	else
		hangup(f, a.id);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	json_t *o = summary_json(f, c.id, 0);
	assert_string_equal(jstr(o, "end_reason"), e->reason);
	assert_string_equal(jstr(o, "ended_by"), a.id);
	assert_string_equal(jstr(o, "status"), "completed");
	assert_int_equal(jint(o, "max_concurrent_participants"), 2);
	json_decref(o);
	assert_int_equal(joined_now(f, c.id), 0);
	ch_conference_clear(&c);
}

static void test_summary_end_reasons(void **state)
{
	struct fix *f = *state;
	static const struct ending endings[] = {
	    {CH_CONFERENCE_TYPE_CONNECT, false, false, CH_END_LAST_LEFT},
	    {CH_CONFERENCE_TYPE_CONNECT, false, true, CH_END_LAST_KICK},
	    {CH_CONFERENCE_TYPE_CONFERENCE, true, false, CH_END_EOE_LEFT},
	    {CH_CONFERENCE_TYPE_CONFERENCE, true, true, CH_END_EOE_KICKED},
	};
	for (size_t i = 0; i < sizeof(endings) / sizeof(*endings); i++)
		check_ending(f, &endings[i]);
}

static void test_summary_timeout(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a;

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 1, 0, &c);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_PROGRESSING, 1000));
	join_as(f, c.id, "+15550001", false, &a);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 3000));
	json_t *o = summary_json(f, c.id, 0);
	assert_string_equal(jstr(o, "end_reason"), CH_END_TIMEOUT);
	assert_string_equal(jstr(o, "ended_by"), CH_UUID_NIL);
	/* ended without ever having two participants */
	assert_string_equal(jstr(o, "status"), "completed");
	assert_string_equal(jstr(o, "start_time"), CH_TIME_NEVER);
	assert_int_equal(jint(o, "connect_duration_seconds"), 0);
	assert_true(jint(o, "duration_seconds") >= 1);
	json_decref(o);
	ch_conference_clear(&c);
}

/* The same caller twice counts once; a participant without a caller id
 * counts as itself; a mute does not count as a join. */
static void test_summary_unique_callers(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a1, a2, b, n1, n2, m;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join_as(f, c.id, "+15550001", false, &a1);
	hangup(f, a1.id);
	join_as(f, c.id, "+15550001", false, &a2);
	join_as(f, c.id, "+15550002", false, &b);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, b.id, true, &m), 0);
	json_t *o = summary_json(f, c.id, 0);
	assert_int_equal(jint(o, "unique_participants"), 2);
	assert_int_equal(jint(o, "max_concurrent_participants"), 2);
	json_decref(o);
	join_as(f, c.id, "", false, &n1);
	join_as(f, c.id, "", false, &n2);
	o = summary_json(f, c.id, 0);
	assert_int_equal(jint(o, "unique_participants"), 4);
	assert_int_equal(jint(o, "max_concurrent_participants"), 4);
	json_decref(o);
	/* another customer sees nothing */
	struct ch_summary s;
	assert_int_equal(ch_summary_get(f->core, OTHER_CUST, c.id, &s), ENOENT);
	char unknown[CH_UUID_LEN];
	ch_uuid_new(unknown);
	assert_int_equal(ch_summary_get(f->core, f->cust.id, unknown, &s),
	                 ENOENT);
	ch_conference_clear(&c);
}

/* Closes the core, hub and store without letting anyone leave (as a
 * crash would), opens them again on the same folder and starts the
 * core (crash recovery). */
static void reopen(struct fix *f)
{
	ch_core_free(f->core);
	ch_events_free(f->ev);
	ch_store_close(f->st);
	assert_int_equal(ch_store_open_sqlite(&f->st, f->dir), 0);
	assert_int_equal(ch_events_alloc(&f->ev, f->st, 1000), 0);
	assert_int_equal(ch_core_alloc(&f->core, f->st, f->ev, "test-node"), 0);
	assert_int_equal(ch_core_start(f->core), 0);
}

static void test_summary_survives_restart(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, r, old;
	struct ch_conferencecall a, b, x[3], stale;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 8, &c);
	join_as(f, c.id, "+15550001", false, &a);
	join_as(f, c.id, "+15550002", false, &b);
	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "wav", true, &r),
	                 0);
	ch_conference_clear(&r);
	json_t *o = summary_json(f, c.id, 0);
	int64_t start = jtime(o, "start_time");
	json_decref(o);
	/* a conference a crashed older chorusd left, with no summary row */
	put_conf(f, CH_CONFERENCE_PROGRESSING, ch_time_now_us(), 0, &old);
	put_cc(f, old.id, CH_CONFERENCECALL_JOINED, &stale);

	reopen(f);

	/* a and b died with the process: orphans, no longer counted */
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVED);
	assert_int_equal(joined_now(f, c.id), 0);
	o = summary_json(f, c.id, 0);
	assert_int_equal(jtime(o, "start_time"), start);
	assert_string_equal(jstr(o, "status"), "in_progress");
	assert_int_equal(jint(o, "max_concurrent_participants"), 2);
	assert_int_equal(jint(o, "unique_participants"), 2);
	assert_int_equal(jint(o, "max_participants"), 8);
	assert_true(json_is_true(json_object_get(o, "recording_enabled")));
	json_decref(o);

	/* two new ones do not make it more than 2 at once; a third does */
	join_as(f, c.id, "+15550003", false, &x[0]);
	join_as(f, c.id, "+15550001", false, &x[1]);
	o = summary_json(f, c.id, 0);
	assert_int_equal(jint(o, "max_concurrent_participants"), 2);
	assert_int_equal(jint(o, "unique_participants"), 3);
	json_decref(o);
	join_as(f, c.id, "+15550004", false, &x[2]);
	o = summary_json(f, c.id, 0);
	assert_int_equal(jint(o, "max_concurrent_participants"), 3);
	json_decref(o);

	/* the old conference got its row at recovery */
	o = summary_json(f, old.id, 0);
	assert_string_equal(jstr(o, "status"), "not_started");
	assert_string_equal(jstr(o, "name"), "old");
	json_decref(o);

	struct ch_conference g;
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &g),
	                 0);
	ch_conference_clear(&g);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	reopen(f);
	o = summary_json(f, c.id, 0);
	assert_string_equal(jstr(o, "status"), "completed");
	assert_string_equal(jstr(o, "end_reason"), CH_END_API);
	assert_int_equal(jint(o, "max_concurrent_participants"), 3);
	assert_int_equal(jint(o, "unique_participants"), 4);
	json_decref(o);
	ch_conference_clear(&c);
}

/* The tag API the quality checks use: one entry per tag, its details in
 * tag_info, in the caller's transaction. */
static void test_summary_tags(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	for (int i = 0; i < 2; i++) {
		json_t *info = json_pack("{s:s, s:i}", "severity", "warning",
		                         "count", i + 1);
		assert_int_equal(ch_core_txn_begin(f->core), 0);
		assert_int_equal(
		    ch_summary_tag(f->core, c.id, "high_packet_loss", info), 0);
		assert_int_equal(ch_core_txn_commit(f->core), 0);
	}
	json_t *o = summary_json(f, c.id, 0);
	json_t *tags = json_object_get(o, "tags");
	assert_int_equal(json_array_size(tags), 1);
	assert_string_equal(json_string_value(json_array_get(tags, 0)),
	                    "high_packet_loss");
	json_t *ti =
	    json_object_get(json_object_get(o, "tag_info"), "high_packet_loss");
	assert_string_equal(jstr(ti, "severity"), "warning");
	assert_int_equal(jint(ti, "count"), 2);
	json_decref(o);
	ch_conference_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_summary_scripted),       T(test_summary_live_durations),
	    T(test_summary_end_reasons),    T(test_summary_timeout),
	    T(test_summary_unique_callers), T(test_summary_survives_restart),
	    T(test_summary_tags),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
