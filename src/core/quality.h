/*
 * quality.h: a participant's call quality (issue 8 part 3): the figures
 * of its media leg (packets, loss both ways, jitter, round trip, talk
 * time), an estimated MOS by the E-model (ITU-T G.107, simplified as VoIP
 * monitors do) and the quality tags with their thresholds.
 *
 * Pure functions, no state, no I/O: callable from any thread. struct
 * ch_quality is a plain value owned by whoever holds it.
 */
#ifndef CH_CORE_QUALITY_H
#define CH_CORE_QUALITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Tag thresholds (API.md; docs/api.md "Quality"). */
#define CH_QUALITY_LOSS_PCT  5.0   /* high_packet_loss: loss above */
#define CH_QUALITY_JITTER_MS 30.0  /* high_jitter: jitter above */
#define CH_QUALITY_RTT_MS    300.0 /* high_latency: round trip above */
#define CH_QUALITY_MOS_LOW   3.5   /* low_mos: MOS below */
#define CH_QUALITY_SILENT_MS 30000 /* silent: in the call this long... */

/* Tags, as bits of ch_quality.tags, in the order of ch_quality_tag_name. */
enum ch_quality_tag {
	CH_QTAG_HIGH_PACKET_LOSS = 1u << 0,
	CH_QTAG_HIGH_JITTER = 1u << 1,
	CH_QTAG_HIGH_LATENCY = 1u << 2,
	CH_QTAG_LOW_MOS = 1u << 3,
	CH_QTAG_SILENT = 1u << 4,
};
#define CH_QTAG_COUNT 5

/* What the media leg and the talk detector tell (the input). */
struct ch_quality_in {
	char codec[16]; /* SDP name: PCMU, PCMA, G722, opus */
	uint64_t packets_in, packets_out;
	uint64_t lost;               /* our side, by sequence gaps */
	double jitter_ms;            /* our side, RFC 3550 */
	bool remote_known;           /* the peer has sent a report about us */
	uint64_t remote_lost;        /* its cumulative lost */
	double remote_fraction_lost; /* 0..1, its last interval */
	double remote_jitter_ms;
	double rtt_ms;       /* < 0: unknown */
	uint64_t talk_ms;    /* time the talk detector said talking */
	bool talked;         /* talked at all (talk_ms may round to 0) */
	uint64_t in_call_ms; /* since it joined */
};

/* The result: the figures shown in the API and the tags they give. */
struct ch_quality {
	char codec[16];
	uint64_t packets_in, packets_out;
	double loss_pct_in;  /* lost / (received + lost), 0..100 */
	double loss_pct_out; /* the peer's report; < 0 unknown */
	double jitter_ms;    /* the worse of ours and the peer's */
	double rtt_ms;       /* < 0 unknown */
	uint64_t talk_ms;
	double mos;    /* 1..4.5 */
	unsigned tags; /* enum ch_quality_tag bits */
};

/* One-way delay estimate (ms) from a round trip (< 0 unknown: 0) and
 * jitter: rtt/2 + a jitter buffer of 2 x jitter + one 20 ms packet. */
double ch_quality_delay_ms(double rtt_ms, double jitter_ms);
/* The E-model rating R for codec (SDP name; unknown names as PCMU),
 * packet loss loss_pct (0..100) and one-way delay delay_ms. */
double ch_quality_r(const char *codec, double loss_pct, double delay_ms);
/* R to MOS (G.107 Annex B), 1..4.5. */
double ch_quality_mos_of_r(double r);
/* MOS for codec, loss and delay: ch_quality_mos_of_r(ch_quality_r()). */
double ch_quality_mos(const char *codec, double loss_pct, double delay_ms);

/* Computes every figure, the MOS (from the worse direction's loss and
 * jitter) and the tags. */
void ch_quality_eval(const struct ch_quality_in *in, struct ch_quality *out);
/* The tag's API name ("high_packet_loss"...) or NULL. */
const char *ch_quality_tag_name(enum ch_quality_tag t);

/* The API JSON of q (new reference; NULL on ENOMEM): codec, packets_in,
 * packets_out, loss_pct_in, loss_pct_out, jitter_ms, rtt_ms (null when
 * unknown, as loss_pct_out), talk_ms, mos, tags. */
json_t *ch_quality_to_json(const struct ch_quality *q);
/* Fills in from the media layer's participant stats JSON (the bridge's
 * "stats": codec, packets_in/out, lost, jitter_ms, remote_lost,
 * remote_fraction_lost, remote_jitter_ms, rtt_ms, remote_reports); talk
 * and in-call times are left to the caller. EINVAL if it is not one. */
int ch_quality_in_from_stats(const json_t *stats, struct ch_quality_in *in);

#endif
