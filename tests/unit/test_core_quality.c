/*
 * test_core_quality.c: a participant's quality in the core
 * (core/member_quality.c) over a fake media layer whose leg counters the
 * test sets: the live quality on the participant's JSON and in the list
 * form, talk time from the talking reports, the figures kept when the
 * leg goes before the participant has left, the quality stored on the
 * participant at leaving (and not moving after), its tags in the
 * conference summary, and the conference.member.quality events: one per
 * change, at most one per 5 s.
 */
#include "core_fixture.h"

#include <math.h>

#include "core/json_map.h"
#include "core/summary.h"

/* core_internal.h (it clashes with the fixture's libre headers): the
 * quality round of the 5 s health tick */
void ch_member_quality_tick(struct ch_core *core);

/* The fake leg: its stats JSON, or none (leg gone). */
struct fake_leg {
	bool present;
	long long in, out, lost;
	double jitter_ms;
};
static struct fake_leg leg;

static json_t *fq_stats(void *arg, const struct ch_conferencecall *cc)
{
	(void)arg;
	(void)cc;
	if (!leg.present)
		return NULL;
	return json_pack("{s:s,s:I,s:I,s:I,s:f,s:I,s:f,s:f,s:f,s:I}", "codec",
	                 "PCMA", "packets_in", (json_int_t)leg.in,
	                 "packets_out", (json_int_t)leg.out, "lost",
	                 (json_int_t)leg.lost, "jitter_ms", leg.jitter_ms,
	                 "remote_lost", (json_int_t)0, "remote_fraction_lost",
	                 0.0, "remote_jitter_ms", 1.0, "rtt_ms", 40.0,
	                 "remote_reports", (json_int_t)3);
}

static int fq_room_create(void *arg, const struct ch_conference *conf)
{
	struct fake_media *m = arg;
	ch_conference_room_ready(m->core, conf->id);
	return 0;
}

static const struct ch_core_media_ops fq_ops = {
    .room_create = fq_room_create,
    .participant_stats = fq_stats,
};

static void attach(struct fix *f)
{
	f->media.core = f->core;
	ch_core_set_media(f->core, &fq_ops, &f->media);
	memset(&leg, 0, sizeof(leg));
	leg.present = true;
}

/* The fake layer attached, a live conference c, a joined participant a. */
static void start(struct fix *f, struct ch_conference *c,
                  struct ch_conferencecall *a)
{
	attach(f);
	live_conf(f, CH_CONFERENCE_TYPE_CONFERENCE, 0, c);
	join(f, c->id, false, a);
}

static json_t *quality_of(struct fix *f, const char *id)
{
	struct ch_conferencecall cc;
	assert_int_equal(ch_conferencecall_get(f->core, NULL, id, &cc), 0);
	json_t *o = ch_conferencecall_to_json(f->core, &cc);
	json_t *q = json_incref(json_object_get(o, "quality"));
	json_decref(o);
	return q;
}

static double jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static bool has_tag(json_t *tags, const char *tag)
{
	size_t i;
	json_t *v;
	json_array_foreach(
	    tags, i, v) if (!strcmp(json_string_value(v), tag)) return true;
	return false;
}

static unsigned quality_events(struct fix *f, const char *id)
{
	struct outbox o;
	unsigned n = 0;
	outbox_read(f, &o);
	for (unsigned i = 0; i < o.n; i++)
		if (!strcmp(o.type[i], "conference.member.quality") &&
		    !strcmp(jstr(o.payload[i], "session_uuid"), id)) {
			assert_true(json_is_object(
			    json_object_get(o.payload[i], "quality")));
			n++;
		}
	outbox_free(&o);
	return n;
}

static void test_live_then_stored(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, cc;

	start(f, &c, &a);

	/* live: 10 % loss by sequence gaps */
	leg.in = 900;
	leg.out = 1000;
	leg.lost = 100;
	leg.jitter_ms = 4;
	json_t *q = quality_of(f, a.id);
	assert_non_null(q);
	assert_string_equal(jstr(q, "codec"), "PCMA");
	assert_true(fabs(jnum(q, "loss_pct_in") - 10) < 1e-6);
	assert_true(fabs(jnum(q, "loss_pct_out")) < 1e-6);
	assert_true(fabs(jnum(q, "rtt_ms") - 40) < 1e-6);
	assert_true(jnum(q, "mos") < 3.6);
	assert_true(has_tag(json_object_get(q, "tags"), "high_packet_loss"));
	assert_true(has_tag(json_object_get(q, "tags"), "low_mos"));
	assert_int_equal(jnum(q, "talk_ms"), 0);
	json_decref(q);

	/* the list form carries it too, without stats */
	assert_int_equal(ch_conferencecall_get(f->core, NULL, a.id, &cc), 0);
	json_t *o = ch_conferencecall_list_json(f->core, &cc, NULL);
	assert_null(json_object_get(o, "stats"));
	assert_true(fabs(jnum(json_object_get(o, "quality"), "loss_pct_in") -
	                 10) < 1e-6);
	json_decref(o);

	/* talk time from the talking reports */
	ch_conferencecall_talking(f->core, a.id, true);
	run_ms(f, 300);
	ch_conferencecall_talking(f->core, a.id, false);
	run_ms(f, 200);
	q = quality_of(f, a.id);
	double talk = jnum(q, "talk_ms");
	assert_true(talk >= 290 && talk < 450);
	json_decref(q);

	/* the media layer samples, then drops the leg; the figures stay */
	leg.in = 1800;
	leg.lost = 200;
	ch_conferencecall_quality_sample(f->core, a.id);
	leg.present = false;
	q = quality_of(f, a.id);
	assert_int_equal(jnum(q, "packets_in"), 1800);
	json_decref(q);

	/* it leaves: stored on the participant, the tags in the summary */
	assert_int_equal(ch_conferencecall_left(f->core, a.id, CH_LEAVE_HANGUP),
	                 0);
	assert_int_equal(ch_conferencecall_get(f->core, NULL, a.id, &cc), 0);
	assert_true(cc.quality[0] != '\0');
	json_t *stored = json_loads(cc.quality, 0, NULL);
	assert_non_null(stored);
	assert_int_equal(jnum(stored, "packets_in"), 1800);
	assert_true(fabs(jnum(stored, "loss_pct_in") - 10) < 1e-6);
	assert_true(jnum(stored, "talk_ms") >= 290);
	/* the JSON of a left participant is the stored one, not live */
	leg.present = true;
	leg.in = 5;
	q = quality_of(f, a.id);
	assert_true(json_equal(q, stored));
	json_decref(q);
	json_decref(stored);

	struct ch_summary s;
	assert_int_equal(ch_summary_get(f->core, f->cust.id, c.id, &s), 0);
	o = ch_json_map_summary(&s, ch_time_now_us());
	ch_summary_clear(&s);
	json_t *tags = json_object_get(o, "tags");
	assert_true(has_tag(tags, "high_packet_loss"));
	assert_true(has_tag(tags, "low_mos"));
	assert_false(has_tag(tags, "high_jitter"));
	json_t *ti =
	    json_object_get(json_object_get(o, "tag_info"), "high_packet_loss");
	assert_string_equal(jstr(ti, "conferencecall_id"), a.id);
	json_decref(o);
	ch_conference_clear(&c);
}

static void test_events_rate(void **state)
{
	struct fix *f = *state;
	struct ch_conference c;
	struct ch_conferencecall a, b;

	start(f, &c, &a);
	leg.in = 500;
	leg.out = 500;
	ch_member_quality_tick(f->core);
	assert_int_equal(quality_events(f, a.id), 1);
	/* figures changed, but within 5 s: nothing */
	leg.lost = 100;
	ch_member_quality_tick(f->core);
	assert_int_equal(quality_events(f, a.id), 1);
	run_ms(f, 5050);
	ch_member_quality_tick(f->core);
	assert_int_equal(quality_events(f, a.id), 2);
	/* 5 s later, only the packet counters moved: nothing */
	run_ms(f, 5050);
	leg.in = 750; /* 100/600 -> 150/900: the same 16.7 % */
	leg.lost = 150;
	leg.out = 800;
	ch_member_quality_tick(f->core);
	assert_int_equal(quality_events(f, a.id), 2);

	/* a participant that never joined has no quality and no events */
	char ref[CH_UUID_LEN];
	ch_uuid_new(ref);
	assert_int_equal(ch_conferencecall_create(f->core, c.id, "call", ref,
	                                          "x", false, &b),
	                 0);
	ch_member_quality_tick(f->core);
	assert_int_equal(quality_events(f, b.id), 0);
	json_t *q = quality_of(f, b.id);
	assert_true(q == NULL || json_is_null(q));
	json_decref(q);
	ch_conference_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_live_then_stored),
	    T(test_events_rate),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
