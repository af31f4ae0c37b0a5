/*
 * test_core.c: unit tests for the control-plane core (core/): the
 * conference and conferencecall state machines through the core API,
 * their timers, the connect-type and end_conference_on_exit rules, DELETE
 * with participants (with and without a media layer), and the events
 * written to the outbox for one scenario. Crash recovery is in
 * test_core_recovery.c; the fixture is core_fixture.h.
 */
#include "core_fixture.h"
#include "core/call.h"

/* ---- conference lifecycle ---- */

static void test_conference_lifecycle(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, u, d, g;
	struct ch_conference_params p = {.has_name = true,
	                                 .name = "renamed",
	                                 .has_detail = true,
	                                 .detail = "more",
	                                 .has_data = true,
	                                 .data = "{\"a\":1}",
	                                 .has_max_participants = true,
	                                 .max_participants = 4};
	int64_t before = ch_time_now_us();

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	assert_int_equal(c.status, CH_CONFERENCE_STARTING);
	assert_true(ch_uuid_valid(c.id));
	assert_string_equal(c.customer_id, f->cust.id);
	assert_string_equal(c.name, "room");
	assert_int_equal(c.tm_delete, CH_TIME_NEVER_US);
	assert_true(c.tm_create >= before);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_STARTING);

	assert_true(wait_conf(f, c.id, CH_CONFERENCE_PROGRESSING, 1000));

	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &u), 0);
	assert_int_equal(u.status, CH_CONFERENCE_PROGRESSING);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.name, "renamed");
	assert_string_equal(g.detail, "more");
	assert_string_equal(g.data, "{\"a\":1}");
	assert_int_equal(g.max_participants, 4);
	assert_int_equal(g.type, CH_CONFERENCE_TYPE_CONFERENCE);
	assert_true(g.tm_update >= c.tm_update);
	ch_conference_clear(&g);
	ch_conference_clear(&u);

	/* another customer cannot see, change or delete it */
	assert_int_equal(ch_conference_get(f->core, OTHER_CUST, c.id, &g),
	                 ENOENT);
	assert_int_equal(
	    ch_conference_update(f->core, OTHER_CUST, c.id, &p, &u), ENOENT);
	assert_int_equal(ch_conference_delete(f->core, OTHER_CUST, c.id, &d),
	                 ENOENT);

	/* nobody in it: delete ends it at once */
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATED);
	assert_string_equal(d.end_reason, CH_END_API);
	assert_string_equal(d.ended_by, CH_UUID_NIL);
	assert_true(d.tm_delete >= before && d.tm_delete <= ch_time_now_us());

	/* deleting again changes nothing and announces nothing */
	unsigned events = outbox_count(f);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &g),
	                 0);
	assert_int_equal(outbox_count(f), events);
	assert_int_equal(g.status, CH_CONFERENCE_TERMINATED);
	assert_int_equal(g.tm_update, d.tm_update);
	assert_int_equal(g.tm_delete, d.tm_delete);
	ch_conference_clear(&g);

	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &u), EBUSY);
	run_ms(f, 20);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATED);
	ch_conference_clear(&d);
	ch_conference_clear(&c);
}

/* Deleted before its room is ready: terminated, and the late "room
 * ready" does not bring it back. */
static void test_delete_while_starting(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, d;

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATED);
	run_ms(f, 30);
	ch_conference_room_ready(f->core, c.id);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATED);
	ch_conference_clear(&d);
	ch_conference_clear(&c);
}

static void test_timeout(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conference_params p = {.has_timeout = true, .timeout = 1};
	int64_t t0 = ch_time_now_us();

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 1, 0, &c);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 3000));
	assert_true(ch_time_now_us() - t0 >= 900000);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_TIMEOUT);
	assert_true(g.tm_delete < CH_TIME_NEVER_US);
	ch_conference_clear(&g);
	ch_conference_clear(&c);

	/* a timeout given by an update arms the timer */
	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &g), 0);
	ch_conference_clear(&g);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 3000));
	ch_conference_clear(&c);

	/* and a timeout set back to 0 disarms it */
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 1, 0, &c);
	p.timeout = 0;
	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &g), 0);
	ch_conference_clear(&g);
	run_ms(f, 1300);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);
	ch_conference_clear(&c);
}

/* ---- participants ---- */

static void test_participants(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, b, x, out;
	char ref[CH_UUID_LEN];

	ch_uuid_new(ref);
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 2, &c);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "a", false, &x),
	                 EBUSY);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_PROGRESSING, 1000));
	assert_int_equal(ch_conferencecall_create(f->core, CH_UUID_NIL, "call",
	                                          ref, "a", false, &x),
	                 ENOENT);

	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "alice", false, &a),
	                 0);
	assert_int_equal(a.status, CH_CONFERENCECALL_JOINING);
	assert_string_equal(a.conference_id, c.id);
	assert_string_equal(a.customer_id, f->cust.id);
	assert_string_equal(a.reference_type, "call");
	assert_string_equal(a.reference_id, ref);
	assert_string_equal(a.caller_id, "alice");
	assert_string_equal(a.leave_reason, "");
	assert_int_equal(a.tm_delete, CH_TIME_NEVER_US);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_JOINING);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), 0);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_JOINED);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), EBUSY);

	join(f, c.id, false, &b);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "c", false, &x),
	                 EXFULL);

	/* mute / unmute */
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, b.id, true, &out), 0);
	assert_true(out.muted);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_true(out.muted);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, b.id, false, &out), 0);
	assert_false(out.muted);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, OTHER_CUST, b.id, true, &out),
	    ENOENT);

	/* kick: leaving at once, leaved on the next loop turn */
	assert_int_equal(
	    ch_conferencecall_kick(f->core, OTHER_CUST, a.id, &out), ENOENT);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVING);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), EBUSY);
	run_ms(f, 30);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, a.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), EBUSY);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out),
	    EBUSY);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), EBUSY);

	/* a left, so there is room again */
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "c", false, &x),
	                 0);

	/* hangup */
	assert_int_equal(ch_conferencecall_left(f->core, b.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_HANGUP);
	assert_int_equal(ch_conferencecall_left(f->core, b.id, CH_LEAVE_ORPHAN),
	                 0);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_string_equal(out.leave_reason, CH_LEAVE_HANGUP);
	/* a plain conference lives on */
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);
	ch_conference_clear(&c);
}

static void test_connect_hangup(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conferencecall a, b, out;

	live_conf(f, CH_CONFERENCE_TYPE_CONNECT, 0, &c);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVING);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_LAST_LEFT);
	assert_string_equal(g.ended_by, a.id);
	ch_conference_clear(&g);
	ch_conference_clear(&c);
}

static void test_connect_kick(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conferencecall a, b, out;

	live_conf(f, CH_CONFERENCE_TYPE_CONNECT, 0, &c);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, b.id, &out), 0);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVED);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_LAST_KICK);
	assert_string_equal(g.ended_by, b.id);
	ch_conference_clear(&g);
	ch_conference_clear(&c);
}

/* A connect conference is two-party: the third caller is refused as busy
 * (SIP 486), whatever max_participants says, and nothing changes. */
static void test_connect_takes_two(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, b, x;
	char ref[CH_UUID_LEN];

	live_conf(f, CH_CONFERENCE_TYPE_CONNECT, 10, &c);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	ch_uuid_new(ref);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "+15550103", false, &x),
	                 EXFULL);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_JOINED);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_JOINED);
	ch_conference_clear(&c);
}

static int dial_room_full(void *arg, const struct ch_call *call)
{
	(void)arg;
	(void)call;
	return EXFULL; /* what the SIP layer says when the room has no slot */
}

/* A dial-out whose media room is full ends busy, not failed. */
static void test_dial_into_full_room_is_busy(void **state)
{
	struct fix *f = *state;
	static struct ch_core_media_ops ops;
	struct ch_conference c;
	json_t *calls = NULL;

	ops = *fake_media_ops();
	ops.call_dial = dial_room_full;
	f->media.core = f->core;
	ch_core_set_media(f->core, &ops, &f->media);
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	ch_conference_room_ready(f->core, c.id);
	json_t *src = json_pack("{s:s,s:s}", "type", "sip", "target",
	                        "sip:chorus@127.0.0.1");
	json_t *dst = json_pack("[{s:s,s:s}]", "type", "sip", "target",
	                        "sip:bob@127.0.0.1");
	json_t *act = json_pack("[{s:s,s:{s:s}}]", "type", "conference_join",
	                        "option", "conference_id", c.id);
	assert_int_equal(
	    ch_call_dial(f->core, f->cust.id, src, dst, act, &calls), 0);
	assert_int_equal(json_array_size(calls), 1);
	json_t *call = json_array_get(calls, 0);
	assert_string_equal(jstr(call, "status"), "hangup");
	assert_string_equal(jstr(call, "hangup_reason"), CH_HANGUP_BUSY);
	json_decref(calls);
	json_decref(src);
	json_decref(dst);
	json_decref(act);
	ch_conference_clear(&c);
}

/* The kick is stored and announced at leaving, and answered as such. */
static void test_kick_answers_leaving(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, out;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, false, &a);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVING);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	/* a second kick, and another customer's kick, change nothing */
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), EBUSY);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, CH_UUID_NIL, a.id, &out), ENOENT);
	run_ms(f, 30);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVED);
	ch_conference_clear(&c);
}

static void test_end_conference_on_exit(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, g;
	struct ch_conferencecall boss, a, b;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, true, &boss);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	/* an ordinary participant leaving changes nothing */
	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);
	assert_int_equal(
	    ch_conferencecall_left(f->core, boss.id, CH_LEAVE_HANGUP), 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVED);
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_EOE_LEFT);
	assert_string_equal(g.ended_by, boss.id);
	ch_conference_clear(&g);
	ch_conference_clear(&c);

	/* kicked rather than hung up */
	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, true, &boss);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, boss.id, &a), 0);
	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &g), 0);
	assert_string_equal(g.end_reason, CH_END_EOE_KICKED);
	ch_conference_clear(&g);
	ch_conference_clear(&c);
}

/* With no media layer: DELETE kicks both, terminated after they left. */
static void test_delete_with_participants(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, d;
	struct ch_conferencecall a, b, out;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATING);
	assert_int_equal(d.tm_delete, CH_TIME_NEVER_US);
	assert_string_equal(d.end_reason, CH_END_API);
	ch_conference_clear(&d);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVING);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVING);
	/* too late to join */
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call",
	                                          a.reference_id, "z", false,
	                                          &out),
	                 EBUSY);

	assert_true(wait_conf(f, c.id, CH_CONFERENCE_TERMINATED, 1000));
	assert_int_equal(ch_conference_get(f->core, f->cust.id, c.id, &d), 0);
	assert_true(d.tm_delete < CH_TIME_NEVER_US);
	ch_conference_clear(&d);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, a.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVED);
	ch_conference_clear(&c);
}

/* The media layer decides when participants are gone: the conference is
 * terminated only after the last one left. */
static void test_delete_waits_for_media(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, d;
	struct ch_conferencecall a, b, out;

	ch_core_set_media(f->core, fake_media_ops(), &f->media);
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	assert_int_equal(f->media.rooms, 1);
	run_ms(f, 30);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_STARTING);
	ch_conference_room_ready(f->core, c.id);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);

	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out), 0);
	assert_int_equal(f->media.mutes, 1);
	assert_true(f->media.last_muted);
	/* muting again is no change: the media layer is not asked */
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out), 0);
	assert_int_equal(f->media.mutes, 1);

	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	ch_conference_clear(&d);
	assert_int_equal(f->media.hangups, 2);
	run_ms(f, 50);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_LEAVING);

	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATING);
	assert_int_equal(f->media.destroyed, 0);
	assert_int_equal(ch_conferencecall_left(f->core, b.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATED);
	assert_int_equal(f->media.destroyed, 1);
	/* it was removed, whatever the call reported */
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, a.id, &out),
	                 0);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	ch_conference_clear(&c);
}

/* A media layer that reports the leave from inside the hangup call: the
 * rules run re-entrantly and still end in the right states. */
static void test_hangup_leaves_at_once(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, d;
	struct ch_conferencecall a, b, out;

	f->media.core = f->core;
	f->media.hangup_leaves = true;
	ch_core_set_media(f->core, fake_media_ops(), &f->media);

	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	ch_conference_room_ready(f->core, c.id);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), 0);
	/* the kick answers the participant as leaving (seed 002) ... */
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVING);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	/* ... and the media layer's hang-up moved it on at once */
	assert_int_equal(ch_conferencecall_get(f->core, NULL, a.id, &out), 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATED);
	assert_int_equal(f->media.hangups, 2);
	assert_int_equal(f->media.destroyed, 1);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_LEAVED);
	ch_conference_clear(&d);
	ch_conference_clear(&c);

	/* connect: one hangs up, the other is hung up and leaves at once */
	create_conf(f, CH_CONFERENCE_TYPE_CONNECT, 0, 0, &c);
	ch_conference_room_ready(f->core, c.id);
	join(f, c.id, false, &a);
	join(f, c.id, false, &b);
	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_TERMINATED);
	assert_int_equal(ch_conferencecall_get(f->core, f->cust.id, b.id, &out),
	                 0);
	assert_int_equal(out.status, CH_CONFERENCECALL_LEAVED);
	assert_string_equal(out.leave_reason, CH_LEAVE_REMOVED);
	assert_int_equal(f->media.destroyed, 2);
	ch_conference_clear(&c);
}

/* ---- timers at scale ---- */

static void noop_h(void *arg)
{
	(void)arg;
}

/* Nanoseconds per tmr_start() of a 60 s timer (as httpd re-arms its idle
 * timer on every request), the best of 5 rounds. */
static double tmr_start_ns(void)
{
	double best = 1e18;
	struct tmr t;
	tmr_init(&t);
	for (int round = 0; round < 5; round++) {
		int64_t t0 = ch_time_now_us();
		for (int i = 0; i < 1000; i++)
			tmr_start(&t, 60000, noop_h, NULL);
		double ns = (double)(ch_time_now_us() - t0) * 1000.0 / 1000;
		if (ns < best)
			best = ns;
	}
	tmr_cancel(&t);
	return best;
}

/* Live conferences with a timeout must not slow the control thread's
 * other timers down. libre 1.1.0 keeps all timers in one sorted list and
 * tmr_start() walks it from the tail past every later timer, so one libre
 * timer per timed conference makes every shorter tmr_start() (HTTP idle
 * timer on each request, SIP retransmissions, health check) cost
 * O(live timed conferences): bench/api_load.sh measures GET
 * /conferences/{id} at ~21k req/s, and ~1.6k req/s once 16,700
 * conferences with a 1 h timeout are live. */
static void test_timeouts_do_not_slow_timers(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	double before, after;

	before = tmr_start_ns();
	for (int i = 0; i < 3000; i++) {
		create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 3600, 0, &c);
		ch_conference_clear(&c);
	}
	run_ms(f, 10);
	after = tmr_start_ns();
	print_message("tmr_start: %.0f ns, %.0f ns with 3000 timed "
	              "conferences\n",
	              before, after);
	assert_true(after < 10 * before + 1000);
}

/* ---- events ---- */

/* Transactions nest: the changes of inner ones are stored (and their
 * events written) by the outermost commit alone, and an inner abort makes
 * that commit roll everything back. */
static void test_nested_txn(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, b, x;
	char ref[CH_UUID_LEN];

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	unsigned before = outbox_count(f);
	ch_uuid_new(ref);
	assert_int_equal(ch_core_txn_begin(f->core), 0);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "a", false, &a),
	                 0);
	assert_int_equal(ch_conferencecall_joined(f->core, a.id), 0);
	assert_int_equal(ch_core_txn_commit(f->core), 0);
	assert_int_equal(cc_status(f, a.id), CH_CONFERENCECALL_JOINED);
	/* joining: conference.updated; joined: member.joined and
	 * conference.updated */
	assert_int_equal(outbox_count(f), before + 3);

	before = outbox_count(f);
	assert_int_equal(ch_core_txn_begin(f->core), 0);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "b", false, &b),
	                 0);
	assert_int_equal(ch_core_txn_begin(f->core), 0);
	ch_core_txn_abort(f->core); /* inner */
	assert_int_equal(ch_core_txn_commit(f->core), EIO);
	assert_int_equal(ch_conferencecall_get(f->core, NULL, b.id, &x),
	                 ENOENT);
	assert_int_equal(outbox_count(f), before);
	/* and the next transaction is a plain one again */
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "b", false, &b),
	                 0);
	assert_int_equal(cc_status(f, b.id), CH_CONFERENCECALL_JOINING);
	ch_conference_clear(&c);
}

static void test_events_scenario(void **state)
{
	struct fix *f = *state;
	static const char *const want[] = {
	    "conference.created",        "conference.updated",
	    "conference.updated",        "conference.member.joined",
	    "conference.updated",        "conference.member.muted",
	    "conference.member.unmuted", "conference.member.leaving",
	    "conference.member.left",    "conference.updated",
	    "conference.updated",        "conference.updated",
	    "conference.destroyed",
	};
	const unsigned n_want = sizeof(want) / sizeof(want[0]);
	struct ch_conference c, d;
	struct ch_conferencecall a, out;
	struct outbox o;
	json_t *conf;

	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, &c);
	join(f, c.id, false, &a);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, true, &out), 0);
	assert_int_equal(
	    ch_conferencecall_mute(f->core, f->cust.id, a.id, false, &out), 0);
	assert_int_equal(
	    ch_conferencecall_kick(f->core, f->cust.id, a.id, &out), 0);
	run_ms(f, 30);
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(d.status, CH_CONFERENCE_TERMINATED);
	ch_conference_clear(&d);

	outbox_read(f, &o);
	assert_int_equal(o.n, n_want);
	for (unsigned i = 0; i < n_want; i++) {
		assert_string_equal(o.type[i], want[i]);
		assert_string_equal(jstr(o.payload[i], "room_id"), c.id);
	}
	/* the participant list follows the joins and leaves */
	conf = json_object_get(o.payload[2], "conference");
	assert_int_equal(
	    json_array_size(json_object_get(conf, "conferencecall_ids")), 1);
	assert_string_equal(
	    json_string_value(
	        json_array_get(json_object_get(conf, "conferencecall_ids"), 0)),
	    a.id);
	assert_string_equal(jstr(o.payload[3], "session_uuid"), a.id);
	assert_string_equal(jstr(o.payload[7], "reason"), CH_LEAVE_REMOVED);
	assert_string_equal(jstr(o.payload[8], "reason"), CH_LEAVE_REMOVED);
	conf = json_object_get(o.payload[9], "conference");
	assert_int_equal(
	    json_array_size(json_object_get(conf, "conferencecall_ids")), 0);
	assert_string_equal(jstr(o.payload[10], "status"), "terminating");
	/* end_reason and ended_by are fields once it ends */
	conf = json_object_get(o.payload[10], "conference");
	assert_string_equal(jstr(conf, "end_reason"), CH_END_API);
	assert_string_equal(jstr(conf, "ended_by"), CH_UUID_NIL);
	conf = json_object_get(o.payload[3], "conferencecall");
	assert_non_null(conf);
	assert_string_equal(jstr(o.payload[12], "status"), "terminated");
	outbox_free(&o);
	ch_conference_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_conference_lifecycle),
	    T(test_delete_while_starting),
	    T(test_timeout),
	    T(test_participants),
	    T(test_connect_hangup),
	    T(test_connect_kick),
	    T(test_connect_takes_two),
	    T(test_kick_answers_leaving),
	    T(test_dial_into_full_room_is_busy),
	    T(test_end_conference_on_exit),
	    T(test_delete_with_participants),
	    T(test_delete_waits_for_media),
	    T(test_hangup_leaves_at_once),
	    T(test_nested_txn),
	    T(test_events_scenario),
	    T(test_timeouts_do_not_slow_timers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
