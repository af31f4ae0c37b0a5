/*
 * test_core_recovery.c: unit tests for crash recovery in ch_core_start()
 * (core/core.c): with records written straight into the store as a
 * crashed chorusd would leave them, a terminating conference is finished,
 * one whose timeout passed is terminated, present participants of live
 * conferences become leaved/orphan, calls that were up end `failed` with
 * their call.updated event, timers are armed again, and rooms are asked
 * for. The fixture is core_fixture.h.
 */
#include "core_fixture.h"

#include "core/call.h"

/* Writes a call straight into the store, as a crashed chorusd left it;
 * cc (may be NULL) is its participant. Needs no ch_call_clear. */
static void put_call(struct fix *f, enum ch_call_status s,
                     struct ch_conferencecall *cc, struct ch_call *c)
{
	static char src[] = "{\"type\":\"sip\",\"target\":\"sip:a@x\"}";
	memset(c, 0, sizeof(*c));
	ch_uuid_new(c->id);
	memcpy(c->customer_id, f->cust.id, CH_UUID_LEN);
	snprintf(c->direction, sizeof(c->direction), "incoming");
	snprintf(c->transport, sizeof(c->transport), "sip");
	c->source = c->destination = src;
	c->status = s;
	memcpy(c->conference_id, cc ? cc->conference_id : CH_UUID_NIL,
	       CH_UUID_LEN);
	memcpy(c->conferencecall_id, cc ? cc->id : CH_UUID_NIL, CH_UUID_LEN);
	c->tm_create = c->tm_update = ch_time_now_us();
	c->tm_delete = CH_TIME_NEVER_US;
	assert_int_equal(f->st->ops->call_insert(f->st, c), 0);
}

static void assert_call_failed(struct fix *f, const char *id)
{
	struct ch_call c;
	assert_int_equal(ch_call_get(f->core, NULL, id, &c), 0);
	assert_int_equal(c.status, CH_CALL_HANGUP);
	assert_string_equal(c.hangup_reason, CH_HANGUP_FAILED);
	assert_true(c.tm_delete < CH_TIME_NEVER_US);
	ch_call_clear(&c);
}

static void assert_orphan(struct fix *f, const char *cc_id)
{
	struct ch_conferencecall out;
	assert_int_equal(ch_conferencecall_get(f->core, NULL, cc_id, &out), 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_ORPHAN);
}

/* Calls up at a crash (kill -9) end at the next start: before, they
 * stayed progressing for ever while their participant was orphaned. */
static void test_recovery_ends_calls(void **state)
{
	struct fix *f = *state;
	struct ch_conference live;
	struct ch_conferencecall present;
	struct ch_call up, ringing, done;
	struct outbox o;
	unsigned updated = 0;

	put_conf(f, CH_CONFERENCE_PROGRESSING, ch_time_now_us(), 0, &live);
	put_cc(f, live.id, CH_CONFERENCECALL_JOINED, &present);
	put_call(f, CH_CALL_PROGRESSING, &present, &up);
	put_call(f, CH_CALL_RINGING, NULL, &ringing);
	put_call(f, CH_CALL_HANGUP, NULL, &done);
	snprintf(done.hangup_reason, sizeof(done.hangup_reason), "normal");
	assert_int_equal(f->st->ops->call_update(f->st, &done), 0);

	assert_int_equal(ch_core_start(f->core), 0);

	assert_call_failed(f, up.id);
	assert_call_failed(f, ringing.id);
	struct ch_call c;
	assert_int_equal(ch_call_get(f->core, NULL, done.id, &c), 0);
	assert_string_equal(c.hangup_reason, "normal");
	ch_call_clear(&c);
	assert_orphan(f, present.id);
	assert_int_equal(conf_status(f, live.id), CH_CONFERENCE_PROGRESSING);

	/* each ended call is announced once, as hangup */
	outbox_read(f, &o);
	for (unsigned i = 0; i < o.n; i++) {
		if (strcmp(o.type[i], "call.updated"))
			continue;
		assert_string_equal(jstr(o.payload[i], "status"), "hangup");
		updated++;
	}
	outbox_free(&o);
	assert_int_equal(updated, 2);
}

static void test_recovery(void **state)
{
	struct fix *f = *state;
	int64_t now = ch_time_now_us();
	struct ch_conference ending, empty_ending, expired, live, starting,
	    soon, g;
	struct ch_conferencecall leaving, present, out;

	put_conf(f, CH_CONFERENCE_TERMINATING, now - 5000000, 0, &ending);
	put_cc(f, ending.id, CH_CONFERENCECALL_LEAVING, &leaving);
	put_conf(f, CH_CONFERENCE_TERMINATING, now - 5000000, 0, &empty_ending);
	put_conf(f, CH_CONFERENCE_PROGRESSING, now - 10000000, 5, &expired);
	put_conf(f, CH_CONFERENCE_PROGRESSING, now - 10000000, 0, &live);
	put_cc(f, live.id, CH_CONFERENCECALL_JOINED, &present);
	put_conf(f, CH_CONFERENCE_STARTING, now, 0, &starting);
	put_conf(f, CH_CONFERENCE_PROGRESSING, now, 1, &soon);

	assert_int_equal(ch_core_start(f->core), 0);

	assert_int_equal(conf_status(f, ending.id), CH_CONFERENCE_TERMINATED);
	assert_int_equal(ch_conferencecall_get(f->core, NULL, leaving.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_int_equal(ch_conference_get(f->core, NULL, ending.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_API);
	assert_true(g.tm_delete < CH_TIME_NEVER_US);
	ch_conference_clear(&g);

	assert_int_equal(conf_status(f, empty_ending.id),
	                 CH_CONFERENCE_TERMINATED);

	assert_int_equal(ch_conference_get(f->core, NULL, expired.id, &g), 0);
	assert_int_equal(g.status, CH_CONFERENCE_TERMINATED);
	assert_string_equal(g.end_reason, CH_END_TIMEOUT);
	ch_conference_clear(&g);

	/* no call survives a restart */
	assert_orphan(f, present.id);
	assert_int_equal(conf_status(f, live.id), CH_CONFERENCE_PROGRESSING);

	/* rooms are asked for again, and timers re-armed */
	assert_true(wait_conf(f, starting.id, CH_CONFERENCE_PROGRESSING, 1000));
	assert_int_equal(conf_status(f, soon.id), CH_CONFERENCE_PROGRESSING);
	assert_true(wait_conf(f, soon.id, CH_CONFERENCE_TERMINATED, 3000));
	assert_int_equal(conf_status(f, live.id), CH_CONFERENCE_PROGRESSING);
}

/* core.h: ch_core_start "asks for rooms of live conferences". Rooms live
 * in the media workers' memory and are gone after a restart, so a
 * progressing conference needs one as much as a starting one. */
static void test_recovery_asks_for_rooms(void **state)
{
	struct fix *f = *state;
	int64_t now = ch_time_now_us();
	struct ch_conference progressing, starting, ended;

	put_conf(f, CH_CONFERENCE_PROGRESSING, now, 0, &progressing);
	put_conf(f, CH_CONFERENCE_STARTING, now, 0, &starting);
	put_conf(f, CH_CONFERENCE_TERMINATED, now, 0, &ended);
	ch_core_set_media(f->core, fake_media_ops(), &f->media);

	assert_int_equal(ch_core_start(f->core), 0);
	assert_int_equal(f->media.rooms, 2);
	/* the room of a progressing conference being ready changes nothing */
	ch_conference_room_ready(f->core, progressing.id);
	ch_conference_room_ready(f->core, starting.id);
	assert_int_equal(conf_status(f, progressing.id),
	                 CH_CONFERENCE_PROGRESSING);
	assert_int_equal(conf_status(f, starting.id),
	                 CH_CONFERENCE_PROGRESSING);
	assert_int_equal(conf_status(f, ended.id), CH_CONFERENCE_TERMINATED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_recovery),
	    T(test_recovery_asks_for_rooms),
	    T(test_recovery_ends_calls),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
