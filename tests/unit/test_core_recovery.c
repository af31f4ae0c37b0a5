/*
 * test_core_recovery.c: unit tests for crash recovery in ch_core_start()
 * (core/core.c): with records written straight into the store as a
 * crashed chorusd would leave them, a terminating conference is finished,
 * one whose timeout passed is terminated, present participants of live
 * conferences become leaved/orphan, timers are armed again, and rooms are
 * asked for. The fixture is core_fixture.h.
 */
#include "core_fixture.h"

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
	assert_int_equal(ch_conferencecall_get(f->core, NULL, present.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_ORPHAN);
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
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
