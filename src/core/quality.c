/*
 * quality.c: the E-model MOS estimate and the quality tags of a
 * participant (see quality.h and docs/api.md "Quality").
 *
 * The E-model (ITU-T G.107) reduced as VoIP monitors commonly do:
 *   R = 93.2 - Id - Ie,eff
 *   Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)   (d: one-way delay, ms;
 *        the Cole & Rosenbluth fit of G.107's delay impairment)
 *   Ie,eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl)     (Ppl: loss %, random)
 *   MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R), 1..4.5 (G.107 Annex B)
 * Echo, noise and the advantage factor are left at their defaults.
 * Codec values (G.113 Appendix I, random loss):
 *   PCMU/PCMA: G.711 with packet-loss concealment: Ie 0, Bpl 25.1 (the
 *     engine conceals lost G.711 frames, media/plc.c; without PLC G.113
 *     gives Bpl 4.3);
 *   G722: on the same narrowband scale as G.711 with PLC (Ie 0, Bpl 25.1):
 *     the wideband E-model (G.107.1, R up to 129) would rate it higher; one
 *     0..100 scale keeps every leg's MOS comparable;
 *   opus: not in G.113; Ie 0 and Bpl 25.1, as G.711 with PLC: an
 *     approximation (Opus conceals at least as well), conservative.
 */
#include "core/quality.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct codec_imp {
	const char *name;
	double ie, bpl;
};

static const struct codec_imp codecs[] = {
    {"PCMU", 0.0, 25.1},
    {"PCMA", 0.0, 25.1},
    {"G722", 0.0, 25.1},
    {"opus", 0.0, 25.1},
};

static const struct codec_imp *codec_of(const char *name)
{
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (name && !strcasecmp(name, codecs[i].name))
			return &codecs[i];
	return &codecs[0];
}

double ch_quality_delay_ms(double rtt_ms, double jitter_ms)
{
	double d = rtt_ms > 0 ? rtt_ms / 2 : 0;
	if (jitter_ms > 0)
		d += 2 * jitter_ms;
	return d + 20.0;
}

double ch_quality_r(const char *codec, double loss_pct, double delay_ms)
{
	const struct codec_imp *c = codec_of(codec);
	double ppl = loss_pct < 0 ? 0 : loss_pct > 100 ? 100 : loss_pct;
	double d = delay_ms < 0 ? 0 : delay_ms;
	double id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
	double ie = c->ie + (95.0 - c->ie) * ppl / (ppl + c->bpl);
	return 93.2 - id - ie;
}

double ch_quality_mos_of_r(double r)
{
	if (r <= 0)
		return 1.0;
	if (r >= 100)
		return 4.5;
	double mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
	return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}

double ch_quality_mos(const char *codec, double loss_pct, double delay_ms)
{
	return ch_quality_mos_of_r(ch_quality_r(codec, loss_pct, delay_ms));
}

static const char *const tag_names[CH_QTAG_COUNT] = {
    "high_packet_loss", "high_jitter", "high_latency", "low_mos", "silent",
};

const char *ch_quality_tag_name(enum ch_quality_tag t)
{
	for (unsigned i = 0; i < CH_QTAG_COUNT; i++)
		if ((unsigned)t == 1u << i)
			return tag_names[i];
	return NULL;
}

void ch_quality_eval(const struct ch_quality_in *in, struct ch_quality *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->codec, sizeof(out->codec), "%s", in->codec);
	out->packets_in = in->packets_in;
	out->packets_out = in->packets_out;
	uint64_t expected = in->packets_in + in->lost;
	out->loss_pct_in = expected ? 100.0 * (double)in->lost / expected : 0;
	out->loss_pct_out = -1;
	if (in->remote_known) {
		/* cumulative lost over what we sent; the fraction of its
		 * last interval before we have sent enough to tell */
		if (in->packets_out > 0 && in->remote_lost > 0)
			out->loss_pct_out = 100.0 * (double)in->remote_lost /
			                    (double)in->packets_out;
		else
			out->loss_pct_out = 100.0 * in->remote_fraction_lost;
		if (out->loss_pct_out > 100)
			out->loss_pct_out = 100;
	}
	out->jitter_ms = in->jitter_ms;
	if (in->remote_known && in->remote_jitter_ms > out->jitter_ms)
		out->jitter_ms = in->remote_jitter_ms;
	out->rtt_ms = in->rtt_ms < 0 ? -1 : in->rtt_ms;
	out->talk_ms = in->talk_ms;

	double loss = out->loss_pct_in;
	if (out->loss_pct_out > loss)
		loss = out->loss_pct_out;
	out->mos = ch_quality_mos(
	    in->codec, loss, ch_quality_delay_ms(out->rtt_ms, out->jitter_ms));

	if (loss > CH_QUALITY_LOSS_PCT)
		out->tags |= CH_QTAG_HIGH_PACKET_LOSS;
	if (out->jitter_ms > CH_QUALITY_JITTER_MS)
		out->tags |= CH_QTAG_HIGH_JITTER;
	if (out->rtt_ms > CH_QUALITY_RTT_MS)
		out->tags |= CH_QTAG_HIGH_LATENCY;
	/* a MOS needs packets to be about */
	if (expected > 0 && out->mos < CH_QUALITY_MOS_LOW)
		out->tags |= CH_QTAG_LOW_MOS;
	if (in->in_call_ms >= CH_QUALITY_SILENT_MS && !in->talked &&
	    in->talk_ms == 0)
		out->tags |= CH_QTAG_SILENT;
}

/* two decimals: the figures are estimates, and a stable call keeps the
 * same JSON */
static json_t *real2(double v)
{
	return json_real(round(v * 100) / 100);
}

static json_t *real_or_null(double v)
{
	return v < 0 ? json_null() : real2(v);
}

json_t *ch_quality_to_json(const struct ch_quality *q)
{
	json_t *tags = json_array();
	json_t *o = json_object();
	if (!tags || !o) {
		json_decref(tags);
		json_decref(o);
		return NULL;
	}
	for (unsigned i = 0; i < CH_QTAG_COUNT; i++)
		if (q->tags & (1u << i))
			json_array_append_new(tags, json_string(tag_names[i]));
	json_object_set_new(o, "codec", json_string(q->codec));
	json_object_set_new(o, "packets_in",
	                    json_integer((json_int_t)q->packets_in));
	json_object_set_new(o, "packets_out",
	                    json_integer((json_int_t)q->packets_out));
	json_object_set_new(o, "loss_pct_in", real2(q->loss_pct_in));
	json_object_set_new(o, "loss_pct_out", real_or_null(q->loss_pct_out));
	json_object_set_new(o, "jitter_ms", real2(q->jitter_ms));
	json_object_set_new(o, "rtt_ms", real_or_null(q->rtt_ms));
	json_object_set_new(o, "talk_ms", json_integer((json_int_t)q->talk_ms));
	json_object_set_new(o, "mos", real2(q->mos));
	json_object_set_new(o, "tags", tags);
	return o;
}

static uint64_t u64_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return json_integer_value(v) > 0
		           ? (uint64_t)json_integer_value(v)
		           : 0;
	return json_is_real(v) && json_real_value(v) > 0
	           ? (uint64_t)json_real_value(v)
	           : 0;
}

static double num_of(const json_t *o, const char *key, double dflt)
{
	const json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

int ch_quality_in_from_stats(const json_t *stats, struct ch_quality_in *in)
{
	if (!json_is_object(stats))
		return EINVAL;
	memset(in, 0, sizeof(*in));
	const char *codec = json_string_value(json_object_get(stats, "codec"));
	snprintf(in->codec, sizeof(in->codec), "%s", codec ? codec : "");
	in->packets_in = u64_of(stats, "packets_in");
	in->packets_out = u64_of(stats, "packets_out");
	in->lost = u64_of(stats, "lost");
	in->jitter_ms = num_of(stats, "jitter_ms", 0);
	in->remote_known = u64_of(stats, "remote_reports") > 0;
	in->remote_lost = u64_of(stats, "remote_lost");
	in->remote_fraction_lost = num_of(stats, "remote_fraction_lost", 0);
	in->remote_jitter_ms = num_of(stats, "remote_jitter_ms", 0);
	in->rtt_ms = num_of(stats, "rtt_ms", -1);
	return 0;
}
