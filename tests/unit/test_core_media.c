/*
 * test_core_media.c: the core's recording, playback and action rules
 * (core/conference_record.c, conference_play.c, action_runner.c,
 * actions.c) through the core API, with a fake media layer that records
 * what it is asked and lets the test report back as the SIP bridge would:
 * one recording at a time and only while progressing; the play / pause
 * toggle / stop / volume events and playback_status; a play replaced, a
 * report for an old play ignored, the 10 s playback_timeout; the checks
 * of actions naming index and field; pre_actions keeping a participant
 * joining (isolated) until they are done; post_actions delaying the
 * hang-up of a kicked participant; prompts to one participant.
 */
#include "core_fixture.h"
#include "core/actions.h"
#include "core/conference_play.h"
#include "core/conference_record.h"

/* What the fake layer saw (beyond struct fake_media). */
static struct {
	unsigned rec_starts, rec_stops, plays, pauses, gains, play_stops;
	unsigned prompts, isolates, tracks;
	uint64_t last_play_op, last_prompt_op;
	enum ch_core_prompt_kind last_prompt_kind;
	bool last_isolated, last_paused;
	int last_gain;
	char last_rec[CH_UUID_LEN];
	bool alive;
} fm2;

static int x_rec_start(void *arg, const struct ch_conference *c,
                       const struct ch_recording *r)
{
	(void)arg;
	(void)c;
	fm2.rec_starts++;
	snprintf(fm2.last_rec, sizeof(fm2.last_rec), "%s", r->id);
	return 0;
}

static void x_rec_stop(void *arg, const char *conference_id)
{
	(void)arg;
	(void)conference_id;
	fm2.rec_stops++;
}

static void x_rec_track(void *arg, const struct ch_conferencecall *cc)
{
	(void)arg;
	(void)cc;
	fm2.tracks++;
}

static int x_play(void *arg, const char *conf, uint64_t op,
                  const struct ch_core_prompt *p, int gain)
{
	(void)arg;
	(void)conf;
	assert_int_equal(p->kind, CH_PROMPT_URLS);
	assert_true(p->nurls >= 1);
	fm2.plays++;
	fm2.last_play_op = op;
	fm2.last_gain = gain;
	fm2.last_paused = false;
	return 0;
}

static void x_pause(void *arg, const char *conf, bool paused)
{
	(void)arg;
	(void)conf;
	fm2.pauses++;
	fm2.last_paused = paused;
}

static void x_gain(void *arg, const char *conf, int gain)
{
	(void)arg;
	(void)conf;
	fm2.gains++;
	fm2.last_gain = gain;
}

static void x_play_stop(void *arg, const char *conf)
{
	(void)arg;
	(void)conf;
	fm2.play_stops++;
}

static int x_prompt(void *arg, const struct ch_conferencecall *cc, uint64_t op,
                    const struct ch_core_prompt *p)
{
	(void)arg;
	(void)cc;
	fm2.prompts++;
	fm2.last_prompt_op = op;
	fm2.last_prompt_kind = p->kind;
	return 0;
}

static void x_isolate(void *arg, const struct ch_conferencecall *cc,
                      bool isolated)
{
	(void)arg;
	(void)cc;
	fm2.isolates++;
	fm2.last_isolated = isolated;
}

static bool x_alive(void *arg, const struct ch_conferencecall *cc)
{
	(void)arg;
	(void)cc;
	return fm2.alive;
}

static void attach(struct fix *f)
{
	static struct ch_core_media_ops ops;
	ops = *fake_media_ops();
	ops.recording_start = x_rec_start;
	ops.recording_stop = x_rec_stop;
	ops.recording_track = x_rec_track;
	ops.play_start = x_play;
	ops.play_pause = x_pause;
	ops.play_gain = x_gain;
	ops.play_stop = x_play_stop;
	ops.participant_prompt = x_prompt;
	ops.participant_isolate = x_isolate;
	ops.participant_alive = x_alive;
	memset(&fm2, 0, sizeof(fm2));
	fm2.alive = true;
	f->media.core = f->core;
	ch_core_set_media(f->core, &ops, &f->media);
}

/* Index of the n-th (0: first) event of type in the outbox, or -1. */
static int event_at(struct outbox *o, const char *type, unsigned nth)
{
	for (unsigned i = 0; i < o->n; i++)
		if (!strcmp(o->type[i], type) && nth-- == 0)
			return (int)i;
	return -1;
}

/* A progressing conference (the fake layer's rooms are ready when the
 * test says so). */
static void live(struct fix *f, struct ch_conference *out)
{
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, out);
	ch_conference_room_ready(f->core, out->id);
	assert_int_equal(conf_status(f, out->id), CH_CONFERENCE_PROGRESSING);
}

static struct ch_recording get_rec(struct fix *f, const char *id)
{
	struct ch_recording r;
	assert_int_equal(f->st->ops->recording_get(f->st, id, &r), 0);
	return r;
}

static void test_recording_rules(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, s, t;
	attach(f);
	create_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, 0, &c);
	/* not progressing yet */
	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "wav", true, &s),
	                 EBUSY);
	ch_conference_room_ready(f->core, c.id);
	assert_int_equal(conf_status(f, c.id), CH_CONFERENCE_PROGRESSING);
	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "mp4", true, &s),
	                 EINVAL);
	assert_int_equal(ch_conference_record_start(f->core, OTHER_CUST, c.id,
	                                            "wav", true, &s),
	                 ENOENT);
	assert_int_equal(
	    ch_conference_record_stop(f->core, f->cust.id, c.id, &s), EBUSY);
	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "flac", false, &s),
	                 0);
	assert_int_equal(fm2.rec_starts, 1);
	assert_string_equal(s.recording_id, fm2.last_rec);
	assert_non_null(strstr(s.recording_ids, fm2.last_rec));
	struct ch_recording r = get_rec(f, s.recording_id);
	assert_string_equal(r.status, "recording");
	assert_string_equal(r.format, "flac");
	assert_false(r.tracks);
	assert_string_equal(r.reference_id, c.id);
	ch_recording_clear(&r);
	/* one at a time */
	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "wav", true, &t),
	                 EBUSY);
	assert_int_equal(fm2.rec_starts, 1);
	assert_int_equal(
	    ch_conference_record_stop(f->core, f->cust.id, c.id, &t), 0);
	assert_string_equal(t.recording_id, CH_UUID_NIL);
	assert_int_equal(fm2.rec_stops, 1);
	/* the recorder's report stops it */
	r = get_rec(f, s.recording_id);
	assert_string_equal(r.status, "recording");
	ch_recording_clear(&r);
	struct ch_core_rec_result res = {.duration_ms = 1500,
	                                 .rate = 8000,
	                                 .channels =
	                                     "[{\"index\":1,\"kind\":\"mix\"}]",
	                                 .size = 24044};
	ch_core_recording_done(f->core, s.recording_id, &res);
	r = get_rec(f, s.recording_id);
	assert_string_equal(r.status, "stopped");
	assert_int_equal(r.duration_ms, 1500);
	assert_int_equal(r.size, 24044);
	assert_int_equal(r.rate, 8000);
	assert_non_null(strstr(r.channels, "mix"));
	assert_true(r.tm_end >= r.tm_start);
	ch_recording_clear(&r);
	/* a second report changes nothing */
	res.duration_ms = 1;
	ch_core_recording_done(f->core, s.recording_id, &res);
	r = get_rec(f, s.recording_id);
	assert_int_equal(r.duration_ms, 1500);
	ch_recording_clear(&r);

	struct outbox o;
	outbox_read(f, &o);
	int a = event_at(&o, "conference.recording.started", 0);
	int b = event_at(&o, "conference.recording.stopped", 0);
	assert_true(a >= 0 && b > a);
	assert_string_equal(jstr(o.payload[a], "recording_id"), s.recording_id);
	assert_int_equal(
	    json_integer_value(json_object_get(o.payload[b], "duration_ms")),
	    1500);
	assert_int_equal(event_at(&o, "conference.recording.stopped", 1), -1);
	outbox_free(&o);

	/* a new one may start; terminating the conference stops it */
	ch_conference_clear(&t);
	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "wav", true, &t),
	                 0);
	assert_string_not_equal(t.recording_id, s.recording_id);
	struct ch_conference d;
	assert_int_equal(ch_conference_delete(f->core, f->cust.id, c.id, &d),
	                 0);
	assert_int_equal(fm2.rec_stops, 2);
	assert_string_equal(d.recording_id, CH_UUID_NIL);
	assert_non_null(strstr(d.recording_ids, t.recording_id));
	assert_int_equal(ch_conference_record_start(f->core, f->cust.id, c.id,
	                                            "wav", true, &s),
	                 EBUSY);
	ch_conference_clear(&d);
	ch_conference_clear(&t);
	ch_conference_clear(&s);
	ch_conference_clear(&c);
}

static json_t *urls1(const char *u)
{
	return json_pack("[s]", u);
}

static const char *playback_status(struct fix *f, const char *id, char *buf)
{
	struct ch_conference c;
	assert_int_equal(ch_conference_get(f->core, f->cust.id, id, &c), 0);
	snprintf(buf, 16, "%s", c.playback_status);
	ch_conference_clear(&c);
	return buf;
}

static void test_play_rules(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	char why[256], op[CH_UUID_LEN], op2[CH_UUID_LEN], op3[CH_UUID_LEN];
	char st[16], buf[16];
	attach(f);
	live(f, &c);
	json_t *good = urls1("http://127.0.0.1:9/a.wav");
	json_t *file = urls1("file:///etc/passwd");
	json_t *ftp = urls1("ftp://example.com/a.wav");

	assert_int_equal(ch_conference_play(f->core, f->cust.id, c.id, file,
	                                    why, sizeof(why), op),
	                 EINVAL);
	assert_non_null(strstr(why, "urls[0]"));
	assert_int_equal(ch_conference_play(f->core, f->cust.id, c.id, ftp, why,
	                                    sizeof(why), op),
	                 EINVAL);
	assert_int_equal(fm2.plays, 0);
	assert_int_equal(
	    ch_conference_play_pause(f->core, f->cust.id, c.id, op, st), EBUSY);
	assert_int_equal(ch_conference_play_stop(f->core, f->cust.id, c.id, op),
	                 EBUSY);
	assert_int_equal(ch_conference_play(f->core, OTHER_CUST, c.id, good,
	                                    why, sizeof(why), op),
	                 ENOENT);

	assert_int_equal(ch_conference_play(f->core, f->cust.id, c.id, good,
	                                    why, sizeof(why), op),
	                 0);
	assert_int_equal(fm2.plays, 1);
	assert_string_equal(playback_status(f, c.id, buf), "playing");
	assert_int_equal(
	    ch_conference_play_pause(f->core, f->cust.id, c.id, op2, st), 0);
	assert_string_equal(op2, op);
	assert_string_equal(st, "paused");
	assert_true(fm2.last_paused);
	assert_int_equal(
	    ch_conference_play_pause(f->core, f->cust.id, c.id, op2, st), 0);
	assert_string_equal(st, "playing");
	assert_false(fm2.last_paused);
	assert_int_equal(
	    ch_conference_play_volume(f->core, f->cust.id, c.id, 8, op2),
	    EINVAL);
	assert_int_equal(
	    ch_conference_play_volume(f->core, f->cust.id, c.id, -20, op2), 0);
	assert_string_equal(op2, op);
	assert_int_equal(fm2.last_gain, -20);
	ch_core_play_report(f->core, c.id, fm2.last_play_op, CH_PLAY_AUDIO,
	                    NULL);

	/* replaced: stopped for the old one, started for the new */
	uint64_t old_op = fm2.last_play_op;
	assert_int_equal(ch_conference_play(f->core, f->cust.id, c.id, good,
	                                    why, sizeof(why), op3),
	                 0);
	assert_string_not_equal(op3, op);
	assert_int_equal(fm2.last_gain, -20); /* the volume stays */
	/* a late report about the old one is ignored */
	ch_core_play_report(f->core, c.id, old_op, CH_PLAY_FINISHED, NULL);
	assert_string_equal(playback_status(f, c.id, buf), "playing");
	ch_core_play_report(f->core, c.id, fm2.last_play_op, CH_PLAY_AUDIO,
	                    NULL);
	ch_core_play_report(f->core, c.id, fm2.last_play_op, CH_PLAY_FINISHED,
	                    NULL);
	assert_string_equal(playback_status(f, c.id, buf), "stopped");
	assert_int_equal(
	    ch_conference_play_stop(f->core, f->cust.id, c.id, op2), EBUSY);

	/* a failed fetch */
	assert_int_equal(ch_conference_play(f->core, f->cust.id, c.id, good,
	                                    why, sizeof(why), op2),
	                 0);
	ch_core_play_report(f->core, c.id, fm2.last_play_op, CH_PLAY_FAILED,
	                    "HTTP 404");
	assert_string_equal(playback_status(f, c.id, buf), "stopped");

	struct outbox o;
	outbox_read(f, &o);
	const char *order[] = {"started",        "paused",  "resumed",
	                       "volume_changed", "stopped", "started",
	                       "finished",       "started", "failed"};
	int at = -1;
	unsigned seen = 0;
	for (unsigned i = 0; i < o.n && seen < 9; i++) {
		if (strncmp(o.type[i], "conference.play.", 16))
			continue;
		assert_string_equal(o.type[i] + 16, order[seen]);
		assert_true((int)i > at);
		at = (int)i;
		const char *want = seen < 5 ? op : seen < 7 ? op3 : op2;
		assert_string_equal(jstr(o.payload[i], "operation_id"), want);
		if (!strcmp(order[seen], "volume_changed"))
			assert_int_equal(json_integer_value(json_object_get(
			                     o.payload[i], "volume")),
			                 -20);
		if (!strcmp(order[seen], "failed"))
			assert_string_equal(jstr(o.payload[i], "error"),
			                    "playback_error");
		seen++;
	}
	assert_int_equal(seen, 9);
	outbox_free(&o);
	json_decref(good);
	json_decref(file);
	json_decref(ftp);
	ch_conference_clear(&c);
}

static void test_play_timeout(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	char why[256], op[CH_UUID_LEN], buf[16];
	attach(f);
	live(f, &c);
	json_t *u = urls1("https://127.0.0.1:9/slow.mp3");
	assert_int_equal(ch_conference_play(f->core, f->cust.id, c.id, u, why,
	                                    sizeof(why), op),
	                 0);
	run_ms(f, CH_PLAY_TIMEOUT_MS - 500);
	assert_string_equal(playback_status(f, c.id, buf), "playing");
	run_ms(f, 1000);
	assert_string_equal(playback_status(f, c.id, buf), "stopped");
	assert_int_equal(fm2.play_stops, 1);
	struct outbox o;
	outbox_read(f, &o);
	int i = event_at(&o, "conference.play.failed", 0);
	assert_true(i >= 0);
	assert_string_equal(jstr(o.payload[i], "error"), "playback_timeout");
	assert_string_equal(jstr(o.payload[i], "operation_id"), op);
	outbox_free(&o);
	json_decref(u);
	ch_conference_clear(&c);
}

static void check_bad(struct fix *f, const char *json, const char *want)
{
	char why[512];
	json_t *a = json_loads(json, 0, NULL);
	assert_non_null(a);
	assert_int_equal(
	    ch_actions_check(f->core, a, "pre_actions", why, sizeof(why)),
	    EINVAL);
	if (!strstr(why, want))
		fail_msg("%s: got \"%s\", want \"%s\"", json, why, want);
	json_decref(a);
}

static void test_action_checks(void **state)
{
	struct fix *f = *state;
	char why[512];
	json_t *ok = json_loads(
	    "[{\"type\":\"talk\",\"option\":{\"text\":\"hi\"}},"
	    "{\"type\":\"talk\",\"option\":{\"text\":\"hallo\","
	    "\"language\":\"de-DE\"}},{\"type\":\"beep\"},"
	    "{\"type\":\"sleep\",\"option\":{\"duration\":500}},"
	    "{\"type\":\"play\",\"option\":{\"urls\":[\"https://x.test/a."
	    "wav\"]}},{\"type\":\"hangup\"}]",
	    0, NULL);
	assert_int_equal(
	    ch_actions_check(f->core, ok, "pre_actions", why, sizeof(why)), 0);
	json_decref(ok);
	check_bad(f, "[{\"type\":\"beep\"},{\"type\":\"dance\"}]",
	          "pre_actions[1].type");
	check_bad(f, "[{\"type\":\"talk\"}]", "pre_actions[0].option.text");
	check_bad(f, "[{\"type\":\"talk\",\"option\":{\"text\":\"\"}}]",
	          "pre_actions[0].option.text");
	check_bad(f,
	          "[{\"type\":\"talk\",\"option\":{\"text\":\"a\","
	          "\"language\":\"xx-YY\"}}]",
	          "pre_actions[0].option.language");
	check_bad(f,
	          "[{\"type\":\"talk\",\"option\":{\"text\":\"a\","
	          "\"language\":\"xx-YY\"}}]",
	          "en-US");
	check_bad(f, "[{\"type\":\"play\",\"option\":{\"urls\":[]}}]",
	          "pre_actions[0].option.urls");
	check_bad(f,
	          "[{\"type\":\"play\",\"option\":{\"urls\":[\"file:///etc/"
	          "passwd\"]}}]",
	          "pre_actions[0].option.urls[0]");
	check_bad(f, "[{\"type\":\"sleep\",\"option\":{\"duration\":-1}}]",
	          "pre_actions[0].option.duration");
	check_bad(f, "[{\"type\":\"sleep\"}]",
	          "pre_actions[0].option.duration");
	check_bad(f, "[3]", "pre_actions[0]");
	check_bad(f, "{}", "pre_actions");
	/* the API runs the same check on POST/PUT */
	struct ch_conference_params p = {.has_pre_actions = true,
	                                 .pre_actions = "[]"};
	struct ch_conference c;
	assert_int_equal(ch_conference_create(f->core, f->cust.id, &p, &c), 0);
	ch_conference_clear(&c);
}

static bool cc_is_h(struct fix *f, const void *arg)
{
	const struct ch_conferencecall *want = arg;
	return cc_status(f, want->id) == want->status;
}

static void test_pre_actions(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, u;
	struct ch_conferencecall cc, want;
	char ref[CH_UUID_LEN];
	attach(f);
	live(f, &c);
	struct ch_conference_params p = {
	    .has_pre_actions = true,
	    .pre_actions = "[{\"type\":\"talk\",\"option\":{\"text\":"
	                   "\"welcome\"}},{\"type\":\"sleep\",\"option\":{"
	                   "\"duration\":150}}]"};
	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &u), 0);
	ch_conference_clear(&u);
	ch_uuid_new(ref);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "+1555", false, &cc),
	                 0);
	assert_int_equal(ch_conferencecall_joined(f->core, cc.id), 0);
	/* the prompt plays to it alone: still joining, isolated */
	assert_int_equal(cc_status(f, cc.id), CH_CONFERENCECALL_JOINING);
	assert_int_equal(fm2.prompts, 1);
	assert_int_equal(fm2.last_prompt_kind, CH_PROMPT_TALK);
	assert_true(fm2.last_isolated);
	run_ms(f, 50);
	assert_int_equal(cc_status(f, cc.id), CH_CONFERENCECALL_JOINING);
	/* a report for another op changes nothing */
	ch_core_prompt_done(f->core, cc.id, fm2.last_prompt_op + 100, true);
	assert_int_equal(cc_status(f, cc.id), CH_CONFERENCECALL_JOINING);
	int64_t t0 = ch_time_now_us();
	ch_core_prompt_done(f->core, cc.id, fm2.last_prompt_op, true);
	assert_int_equal(cc_status(f, cc.id), CH_CONFERENCECALL_JOINING);
	want = cc;
	want.status = CH_CONFERENCECALL_JOINED;
	assert_true(run_until(f, cc_is_h, &want, 1000));
	assert_true(ch_time_now_us() - t0 >= 140000); /* the sleep */
	assert_false(fm2.last_isolated);
	struct outbox o;
	outbox_read(f, &o);
	assert_true(event_at(&o, "conference.member.joined", 0) >= 0);
	outbox_free(&o);
	ch_conference_clear(&c);
}

static void test_post_actions(void **state)
{
	struct fix *f = *state;
	struct ch_conference c, u;
	struct ch_conferencecall cc, k;
	attach(f);
	live(f, &c);
	struct ch_conference_params p = {
	    .has_post_actions = true,
	    .post_actions = "[{\"type\":\"beep\"},{\"type\":\"hangup\"},"
	                    "{\"type\":\"beep\"}]"};
	assert_int_equal(
	    ch_conference_update(f->core, f->cust.id, c.id, &p, &u), 0);
	ch_conference_clear(&u);
	join(f, c.id, false, &cc);
	assert_int_equal(cc_status(f, cc.id), CH_CONFERENCECALL_JOINED);
	assert_int_equal(ch_conferencecall_kick(f->core, f->cust.id, cc.id, &k),
	                 0);
	assert_int_equal(k.status, CH_CONFERENCECALL_LEAVING);
	/* the beep first, then the hang-up */
	assert_int_equal(fm2.prompts, 1);
	assert_int_equal(fm2.last_prompt_kind, CH_PROMPT_BEEP);
	assert_true(fm2.last_isolated);
	assert_int_equal(f->media.hangups, 0);
	ch_core_prompt_done(f->core, cc.id, fm2.last_prompt_op, true);
	assert_int_equal(f->media.hangups, 1);
	assert_int_equal(fm2.prompts, 1); /* hangup ended the list */
	assert_int_equal(
	    ch_conferencecall_left(f->core, cc.id, CH_LEAVE_HANGUP), 0);
	assert_int_equal(cc_status(f, cc.id), CH_CONFERENCECALL_LEAVED);

	/* a participant whose call is down leaves without them */
	fm2.alive = false;
	join(f, c.id, false, &cc);
	assert_int_equal(ch_conferencecall_kick(f->core, f->cust.id, cc.id, &k),
	                 0);
	assert_int_equal(fm2.prompts, 1);
	assert_int_equal(f->media.hangups, 2);
	ch_conference_clear(&c);
}

static void test_participant_prompt(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall cc;
	char op[CH_UUID_LEN], ref[CH_UUID_LEN];
	attach(f);
	live(f, &c);
	ch_uuid_new(ref);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "+1555", false, &cc),
	                 0);
	json_t *opt = json_pack("{s:s}", "text", "hello");
	/* joining: not yet */
	assert_int_equal(ch_conferencecall_prompt(f->core, f->cust.id, cc.id,
	                                          "talk", opt, op),
	                 EBUSY);
	assert_int_equal(ch_conferencecall_joined(f->core, cc.id), 0);
	assert_int_equal(ch_conferencecall_prompt(f->core, OTHER_CUST, cc.id,
	                                          "talk", opt, op),
	                 ENOENT);
	assert_int_equal(ch_conferencecall_prompt(f->core, f->cust.id, cc.id,
	                                          "talk", opt, op),
	                 0);
	assert_int_equal(fm2.last_prompt_kind, CH_PROMPT_TALK);
	ch_core_prompt_done(f->core, cc.id, fm2.last_prompt_op, true);
	struct outbox o;
	outbox_read(f, &o);
	int a = event_at(&o, "conference.member.play.started", 0);
	int b = event_at(&o, "conference.member.play.finished", 0);
	assert_true(a >= 0 && b > a);
	assert_string_equal(jstr(o.payload[b], "operation_id"), op);
	assert_string_equal(jstr(o.payload[b], "session_uuid"), cc.id);
	outbox_free(&o);
	json_decref(opt);
	ch_conference_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_recording_rules),    T(test_play_rules),
	    T(test_play_timeout),       T(test_action_checks),
	    T(test_pre_actions),        T(test_post_actions),
	    T(test_participant_prompt),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
