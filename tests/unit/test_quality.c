/*
 * test_quality.c: the E-model MOS estimate (core/quality.c) against the
 * values G.107 tabulates and hand-worked cases, its monotony in loss and
 * delay, the figures from a leg's counters, the tag rules at their
 * thresholds, and the API JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/quality.h"

static void assert_near(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.4f, want %.4f +- %.4f", got, want, tol);
}

/* R to MOS: the pairs G.107 Annex B's formula gives (and VoIP tables
 * print): 93.2 -> 4.41, 80 -> 4.03, 70 -> 3.60, 50 -> 2.58, ends. */
static void test_mos_of_r(void **state)
{
	(void)state;
	assert_near(ch_quality_mos_of_r(93.2), 4.41, 0.01);
	assert_near(ch_quality_mos_of_r(80), 4.02, 0.01);
	assert_near(ch_quality_mos_of_r(70), 3.60, 0.01);
	assert_near(ch_quality_mos_of_r(50), 2.58, 0.01);
	assert_near(ch_quality_mos_of_r(-5), 1.0, 1e-9);
	assert_near(ch_quality_mos_of_r(0), 1.0, 1e-9);
	assert_near(ch_quality_mos_of_r(120), 4.5, 1e-9);
}

static void test_delay(void **state)
{
	(void)state;
	/* rtt/2 + 2 x jitter + 20 ms */
	assert_near(ch_quality_delay_ms(100, 10), 50 + 20 + 20, 1e-9);
	assert_near(ch_quality_delay_ms(-1, 0), 20, 1e-9);
	/* Id: 0.024 d below 177.3 ms, + 0.11 (d - 177.3) above */
	double r0 = ch_quality_r("PCMU", 0, 0);
	assert_near(r0, 93.2, 1e-9);
	assert_near(r0 - ch_quality_r("PCMU", 0, 100), 2.4, 1e-9);
	assert_near(r0 - ch_quality_r("PCMU", 0, 200), 4.8 + 0.11 * 22.7, 1e-9);
}

static void test_g711_loss(void **state)
{
	(void)state;
	/* a clean LAN call: 20 ms one way */
	double clean = ch_quality_mos("PCMU", 0, 20);
	assert_near(clean, 4.40, 0.02);
	/* 10 % random loss, G.711 with PLC (Bpl 25.1): Ie,eff = 95 x 10 /
	 * 35.1 = 27.07, R = 93.2 - 0.48 - 27.07 = 65.65, MOS 3.39 */
	double lossy = ch_quality_mos("PCMU", 10, 20);
	assert_near(lossy, 3.39, 0.02);
	assert_true(lossy < 3.6);
	assert_near(ch_quality_r("PCMA", 10, 20), 65.65, 0.02);
	/* the other codecs are scored on the same scale (documented) */
	assert_near(ch_quality_mos("G722", 10, 20), lossy, 1e-9);
	assert_near(ch_quality_mos("opus", 10, 20), lossy, 1e-9);
	/* an unknown codec counts as PCMU; out-of-range loss is clamped */
	assert_near(ch_quality_mos("x", 10, 20), lossy, 1e-9);
	assert_near(ch_quality_mos("PCMU", -3, 20), clean, 1e-9);
	assert_near(ch_quality_mos("PCMU", 250, 20),
	            ch_quality_mos("PCMU", 100, 20), 1e-9);
}

static void test_monotone(void **state)
{
	(void)state;
	for (double d = 0; d <= 600; d += 50) {
		double prev = 5;
		for (double loss = 0; loss <= 60; loss += 0.5) {
			double m = ch_quality_mos("PCMU", loss, d);
			assert_true(m >= 1.0 && m <= 4.5);
			assert_true(m <= prev);
			if (loss > 0 && prev > 1.0)
				assert_true(m < prev);
			prev = m;
		}
	}
	for (double loss = 0; loss <= 20; loss += 5) {
		double prev = 5;
		for (double d = 0; d <= 800; d += 10) {
			double m = ch_quality_mos("PCMU", loss, d);
			assert_true(m <= prev);
			prev = m;
		}
	}
}

static struct ch_quality_in clean_in(void)
{
	struct ch_quality_in in;
	memset(&in, 0, sizeof(in));
	snprintf(in.codec, sizeof(in.codec), "PCMU");
	in.packets_in = 1000;
	in.packets_out = 1000;
	in.jitter_ms = 2;
	in.remote_known = true;
	in.remote_jitter_ms = 1;
	in.rtt_ms = 20;
	in.talk_ms = 1500;
	in.talked = true;
	in.in_call_ms = 60000;
	return in;
}

static void test_eval_figures(void **state)
{
	(void)state;
	struct ch_quality_in in = clean_in();
	struct ch_quality q;

	ch_quality_eval(&in, &q);
	assert_string_equal(q.codec, "PCMU");
	assert_near(q.loss_pct_in, 0, 1e-9);
	assert_near(q.loss_pct_out, 0, 1e-9);
	assert_near(q.jitter_ms, 2, 1e-9);
	assert_near(q.rtt_ms, 20, 1e-9);
	assert_int_equal(q.talk_ms, 1500);
	assert_true(q.mos > 4.3);
	assert_int_equal(q.tags, 0);

	/* in: lost / (received + lost); out: the peer's cumulative lost
	 * over what we sent; the MOS follows the worse direction */
	in.packets_in = 900;
	in.lost = 100;
	in.remote_lost = 30;
	ch_quality_eval(&in, &q);
	assert_near(q.loss_pct_in, 10, 1e-9);
	assert_near(q.loss_pct_out, 3, 1e-9);
	assert_near(q.mos, ch_quality_mos("PCMU", 10, 20 / 2 + 4 + 20), 1e-9);
	in.lost = 0;
	in.packets_in = 1000;
	in.remote_lost = 200;
	ch_quality_eval(&in, &q);
	assert_near(q.loss_pct_out, 20, 1e-9);
	assert_near(q.mos, ch_quality_mos("PCMU", 20, 34), 1e-9);

	/* the fraction of its last interval before a cumulative count */
	in.remote_lost = 0;
	in.remote_fraction_lost = 0.25;
	ch_quality_eval(&in, &q);
	assert_near(q.loss_pct_out, 25, 1e-9);

	/* no report from the peer: out and rtt unknown, its jitter unused */
	in = clean_in();
	in.remote_known = false;
	in.remote_lost = 500;
	in.remote_jitter_ms = 90;
	in.rtt_ms = -1;
	ch_quality_eval(&in, &q);
	assert_true(q.loss_pct_out < 0);
	assert_true(q.rtt_ms < 0);
	assert_near(q.jitter_ms, 2, 1e-9);
	assert_int_equal(q.tags, 0);

	/* the peer's jitter when worse than ours */
	in = clean_in();
	in.remote_jitter_ms = 12;
	ch_quality_eval(&in, &q);
	assert_near(q.jitter_ms, 12, 1e-9);

	/* nothing received yet */
	in = clean_in();
	in.packets_in = 0;
	ch_quality_eval(&in, &q);
	assert_near(q.loss_pct_in, 0, 1e-9);
}

static void test_tags(void **state)
{
	(void)state;
	struct ch_quality_in in = clean_in();
	struct ch_quality q;

	/* high_packet_loss above 5 % (either way) */
	in.packets_in = 950;
	in.lost = 50; /* exactly 5 % */
	ch_quality_eval(&in, &q);
	assert_false(q.tags & CH_QTAG_HIGH_PACKET_LOSS);
	in.lost = 51;
	ch_quality_eval(&in, &q);
	assert_true(q.tags & CH_QTAG_HIGH_PACKET_LOSS);
	in = clean_in();
	in.remote_lost = 60;
	ch_quality_eval(&in, &q);
	assert_true(q.tags & CH_QTAG_HIGH_PACKET_LOSS);

	/* high_jitter above 30 ms */
	in = clean_in();
	in.jitter_ms = 30;
	ch_quality_eval(&in, &q);
	assert_false(q.tags & CH_QTAG_HIGH_JITTER);
	in.jitter_ms = 30.5;
	ch_quality_eval(&in, &q);
	assert_true(q.tags & CH_QTAG_HIGH_JITTER);

	/* high_latency: RTT above 300 ms; unknown is not high */
	in = clean_in();
	in.rtt_ms = 300;
	ch_quality_eval(&in, &q);
	assert_false(q.tags & CH_QTAG_HIGH_LATENCY);
	in.rtt_ms = 301;
	ch_quality_eval(&in, &q);
	assert_true(q.tags & CH_QTAG_HIGH_LATENCY);

	/* low_mos below 3.5: 10 % loss is, 2 % is not */
	in = clean_in();
	in.packets_in = 980;
	in.lost = 20;
	ch_quality_eval(&in, &q);
	assert_true(q.mos >= 3.5);
	assert_false(q.tags & CH_QTAG_LOW_MOS);
	in.packets_in = 900;
	in.lost = 100;
	ch_quality_eval(&in, &q);
	assert_true(q.mos < 3.5);
	assert_true(q.tags & CH_QTAG_LOW_MOS);
	assert_true(q.tags & CH_QTAG_HIGH_PACKET_LOSS);
	/* no packets at all: no MOS to judge */
	in = clean_in();
	in.packets_in = 0;
	in.rtt_ms = 2000;
	ch_quality_eval(&in, &q);
	assert_false(q.tags & CH_QTAG_LOW_MOS);

	/* silent: in the call 30 s and never talked */
	in = clean_in();
	in.talked = false;
	in.talk_ms = 0;
	in.in_call_ms = 29999;
	ch_quality_eval(&in, &q);
	assert_false(q.tags & CH_QTAG_SILENT);
	in.in_call_ms = 30000;
	ch_quality_eval(&in, &q);
	assert_int_equal(q.tags, CH_QTAG_SILENT);
	in.talked = true; /* a short word is talking */
	ch_quality_eval(&in, &q);
	assert_false(q.tags & CH_QTAG_SILENT);

	assert_string_equal(ch_quality_tag_name(CH_QTAG_HIGH_PACKET_LOSS),
	                    "high_packet_loss");
	assert_string_equal(ch_quality_tag_name(CH_QTAG_SILENT), "silent");
	assert_null(ch_quality_tag_name(3));
}

static void test_json(void **state)
{
	(void)state;
	struct ch_quality_in in = clean_in();
	struct ch_quality q;
	in.packets_in = 900;
	in.lost = 100;
	in.remote_known = false;
	in.rtt_ms = -1;
	ch_quality_eval(&in, &q);
	json_t *o = ch_quality_to_json(&q);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "codec")),
	                    "PCMU");
	assert_int_equal(json_integer_value(json_object_get(o, "packets_in")),
	                 900);
	assert_near(json_number_value(json_object_get(o, "loss_pct_in")), 10,
	            1e-9);
	assert_true(json_is_null(json_object_get(o, "loss_pct_out")));
	assert_true(json_is_null(json_object_get(o, "rtt_ms")));
	assert_int_equal(json_integer_value(json_object_get(o, "talk_ms")),
	                 1500);
	assert_near(json_number_value(json_object_get(o, "mos")), q.mos, 0.006);
	json_t *tags = json_object_get(o, "tags");
	assert_int_equal(json_array_size(tags), 2);
	assert_string_equal(json_string_value(json_array_get(tags, 0)),
	                    "high_packet_loss");
	assert_string_equal(json_string_value(json_array_get(tags, 1)),
	                    "low_mos");
	json_decref(o);
}

static void test_from_stats(void **state)
{
	(void)state;
	struct ch_quality_in in;
	json_t *s = json_pack(
	    "{s:s,s:I,s:I,s:I,s:f,s:I,s:f,s:f,s:f,s:I}", "codec", "G722",
	    "packets_in", (json_int_t)450, "packets_out", (json_int_t)500,
	    "lost", (json_int_t)50, "jitter_ms", 3.5, "remote_lost",
	    (json_int_t)25, "remote_fraction_lost", 0.1, "remote_jitter_ms",
	    4.0, "rtt_ms", 42.0, "remote_reports", (json_int_t)2);
	assert_int_equal(ch_quality_in_from_stats(s, &in), 0);
	assert_string_equal(in.codec, "G722");
	assert_int_equal(in.packets_in, 450);
	assert_int_equal(in.packets_out, 500);
	assert_int_equal(in.lost, 50);
	assert_near(in.jitter_ms, 3.5, 1e-9);
	assert_true(in.remote_known);
	assert_int_equal(in.remote_lost, 25);
	assert_near(in.remote_fraction_lost, 0.1, 1e-9);
	assert_near(in.rtt_ms, 42, 1e-9);
	json_decref(s);

	/* before any report: unknown; rtt missing: unknown */
	s = json_pack("{s:s,s:I}", "codec", "PCMU", "packets_in",
	              (json_int_t)10);
	assert_int_equal(ch_quality_in_from_stats(s, &in), 0);
	assert_false(in.remote_known);
	assert_true(in.rtt_ms < 0);
	json_decref(s);
	s = json_string("x");
	assert_int_equal(ch_quality_in_from_stats(s, &in), EINVAL);
	assert_int_equal(ch_quality_in_from_stats(NULL, &in), EINVAL);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mos_of_r),
	    cmocka_unit_test(test_delay),
	    cmocka_unit_test(test_g711_loss),
	    cmocka_unit_test(test_monotone),
	    cmocka_unit_test(test_eval_figures),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_from_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
