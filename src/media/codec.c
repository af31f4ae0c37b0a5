/*
 * codec.c: per-leg codec state: G.711 by table, Opus through libopus,
 * G.722 through spandsp (64 kbit/s, 16 kHz audio, 160 bytes per 20 ms),
 * rate conversion through the resample block (see codec.h).
 */
#include "media/codec.h"
#include "media/engine.h"
#include "media/g711.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>

/* Longest Opus packet duration (120 ms at 48 kHz) the decoder may return. */
#define OPUS_MAX_DECODE 5760

int ch_codec_supported(enum ch_media_codec c)
{
	switch (c) {
	case CH_CODEC_PCMU:
	case CH_CODEC_PCMA:
	case CH_CODEC_OPUS:
	case CH_CODEC_G722:
		return 0;
	default:
		return -EINVAL;
	}
}

uint32_t ch_codec_rate(enum ch_media_codec c)
{
	switch (c) {
	case CH_CODEC_G722:
		return 16000;
	case CH_CODEC_OPUS:
		return 48000;
	default:
		return 8000;
	}
}

const struct ch_codec_opus ch_codec_opus_default = {
    .complexity = CH_CODEC_OPUS_COMPLEXITY, .lowdelay = true};

uint32_t ch_codec_room_rate(enum ch_media_codec c, uint32_t max_rate)
{
	uint32_t r = ch_codec_rate(c);
	if (c == CH_CODEC_OPUS || r > max_rate)
		r = max_rate;
	return r;
}

uint32_t ch_codec_rtp_rate(enum ch_media_codec c)
{
	return c == CH_CODEC_OPUS ? 48000 : 8000;
}

static int opus_setup(struct ch_codec_state *cs, bool decode,
                      const struct ch_codec_opus *o)
{
	int err = 0;
	opus_int32 rate = (opus_int32)cs->codec_rate;
	int app = o->lowdelay ? OPUS_APPLICATION_RESTRICTED_LOWDELAY
	                      : OPUS_APPLICATION_VOIP;
	int bw = rate <= 8000    ? OPUS_BANDWIDTH_NARROWBAND
	         : rate <= 16000 ? OPUS_BANDWIDTH_WIDEBAND
	                         : OPUS_BANDWIDTH_FULLBAND;

	cs->enc = opus_encoder_create(rate, 1, app, &err);
	if (!cs->enc || err != OPUS_OK)
		return err == OPUS_BAD_ARG ? -EINVAL : -ENOMEM;
	opus_encoder_ctl(cs->enc, OPUS_SET_COMPLEXITY(o->complexity));
	opus_encoder_ctl(cs->enc, OPUS_SET_MAX_BANDWIDTH(bw));
	opus_encoder_ctl(cs->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	if (!o->lowdelay) {
		opus_encoder_ctl(cs->enc, OPUS_SET_INBAND_FEC(1));
		opus_encoder_ctl(cs->enc, OPUS_SET_PACKET_LOSS_PERC(5));
	}
	if (!decode)
		return 0;
	cs->dec = opus_decoder_create(rate, 1, &err);
	if (!cs->dec || err != OPUS_OK)
		return -ENOMEM;
	return 0;
}

int ch_codec_state_alloc(struct ch_codec_state **csp, enum ch_media_codec c,
                         uint32_t room_rate, bool decode,
                         const struct ch_codec_opus *opus)
{
	int err = ch_codec_supported(c);
	if (err)
		return err;

	struct ch_codec_state *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->codec = c;
	/* Opus decodes and encodes at the room's rate itself */
	cs->codec_rate = c == CH_CODEC_OPUS ? room_rate : ch_codec_rate(c);
	cs->rtp_rate = ch_codec_rtp_rate(c);
	cs->room_rate = room_rate;
	cs->codec_frame = cs->codec_rate * CH_CODEC_FRAME_MS / 1000;
	cs->room_frame = room_rate * CH_CODEC_FRAME_MS / 1000;
	cs->rtp_frame = cs->rtp_rate * CH_CODEC_FRAME_MS / 1000;
	if (cs->room_frame == 0 || cs->room_frame > CH_CODEC_MAX_FRAME) {
		free(cs);
		return -EINVAL;
	}
	if (c == CH_CODEC_OPUS)
		err = opus_setup(cs, decode,
		                 opus ? opus : &ch_codec_opus_default);
	if (c == CH_CODEC_G722) {
		cs->g722_enc = g722_encode_init(NULL, 64000, 0);
		if (decode)
			cs->g722_dec = g722_decode_init(NULL, 64000, 0);
		if (!cs->g722_enc || (decode && !cs->g722_dec))
			err = -ENOMEM;
	}
	if (!err && decode)
		err = ch_resample_init(&cs->up, cs->codec_rate, room_rate, -1);
	if (!err)
		err =
		    ch_resample_init(&cs->down, room_rate, cs->codec_rate, -1);
	if (err) {
		ch_codec_state_free(cs);
		return err;
	}
	*csp = cs;
	return 0;
}

void ch_codec_state_free(struct ch_codec_state *cs)
{
	if (!cs)
		return;
	if (cs->dec)
		opus_decoder_destroy(cs->dec);
	if (cs->enc)
		opus_encoder_destroy(cs->enc);
	if (cs->g722_enc)
		g722_encode_free(cs->g722_enc);
	if (cs->g722_dec)
		g722_decode_free(cs->g722_dec);
	ch_resample_destroy(&cs->up);
	ch_resample_destroy(&cs->down);
	free(cs);
}

/* Every sample of the frame within +-CH_CODEC_SILENT_PEAK. */
static bool quiet(const int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pcm[i] > CH_CODEC_SILENT_PEAK ||
		    pcm[i] < -CH_CODEC_SILENT_PEAK)
			return false;
	}
	return true;
}

static int decode_opus(struct ch_codec_state *cs, const uint8_t *pl, size_t len,
                       int16_t *pcm)
{
	opus_int16 tmp[OPUS_MAX_DECODE];

	if (len <= CH_CODEC_OPUS_EMPTY_LEN ||
	    (len == cs->quiet_len && !memcmp(pl, cs->quiet_pl, len))) {
		/* no audio in it, or the silence just heard again: silence,
		 * without the decoder's cost */
		memset(pcm, 0, cs->codec_frame * sizeof(pcm[0]));
		cs->decodes_skipped++;
		return 0;
	}
	cs->quiet_len = 0;
	int n =
	    opus_decode(cs->dec, pl, (opus_int32)len, tmp, OPUS_MAX_DECODE, 0);
	if (n < 0) {
		memset(pcm, 0, cs->codec_frame * sizeof(pcm[0]));
		return -EBADMSG;
	}
	size_t got = (size_t)n < cs->codec_frame ? (size_t)n : cs->codec_frame;
	memcpy(pcm, tmp, got * sizeof(pcm[0]));
	memset(pcm + got, 0, (cs->codec_frame - got) * sizeof(pcm[0]));
	if (len <= sizeof(cs->quiet_pl) && quiet(pcm, cs->codec_frame)) {
		memcpy(cs->quiet_pl, pl, len);
		cs->quiet_len = len;
	}
	return 0;
}

int ch_codec_decode(struct ch_codec_state *cs, struct ch_plc *plc,
                    const uint8_t *pl, size_t len, int16_t *pcm)
{
	size_t n = len < cs->codec_frame ? len : cs->codec_frame;

	switch (cs->codec) {
	case CH_CODEC_PCMU:
		ch_g711_ulaw_decode(pl, pcm, n);
		break;
	case CH_CODEC_PCMA:
		ch_g711_alaw_decode(pl, pcm, n);
		break;
	case CH_CODEC_OPUS:
		if (!cs->dec)
			return -EBADMSG;
		return decode_opus(cs, pl, len, pcm);
	case CH_CODEC_G722: {
		/* two samples per byte */
		size_t bytes =
		    len < cs->codec_frame / 2 ? len : cs->codec_frame / 2;
		int got = cs->g722_dec
		              ? g722_decode(cs->g722_dec, pcm, pl, (int)bytes)
		              : -1;
		if (got < 0)
			got = 0;
		n = (size_t)got;
		break;
	}
	default:
		memset(pcm, 0, cs->codec_frame * sizeof(pcm[0]));
		return -EBADMSG;
	}
	memset(pcm + n, 0, (cs->codec_frame - n) * sizeof(pcm[0]));
	ch_plc_good(plc, pcm);
	return 0;
}

void ch_codec_conceal(struct ch_codec_state *cs, struct ch_plc *plc,
                      const uint8_t *next, size_t next_len, int16_t *pcm)
{
	if (cs->codec != CH_CODEC_OPUS || !cs->dec) {
		ch_plc_conceal(plc, pcm);
		return;
	}
	int frame = (int)cs->codec_frame;
	int n = -1;
	if (next)
		n = opus_decode(cs->dec, next, (opus_int32)next_len, pcm, frame,
		                1);
	if (n != frame)
		n = opus_decode(cs->dec, NULL, 0, pcm, frame, 0);
	if (n != frame)
		memset(pcm, 0, cs->codec_frame * sizeof(pcm[0]));
}

int ch_codec_encode(struct ch_codec_state *cs, const int16_t *pcm, uint8_t *out,
                    size_t cap)
{
	size_t n = cs->codec_frame;

	switch (cs->codec) {
	case CH_CODEC_PCMU:
		if (cap < n)
			return -EIO;
		ch_g711_ulaw_encode(pcm, out, n);
		return (int)n;
	case CH_CODEC_PCMA:
		if (cap < n)
			return -EIO;
		ch_g711_alaw_encode(pcm, out, n);
		return (int)n;
	case CH_CODEC_OPUS: {
		opus_int32 len =
		    opus_encode(cs->enc, pcm, (int)n, out, (opus_int32)cap);
		cs->silent_run = 0;
		return len > 0 ? (int)len : -EIO;
	}
	case CH_CODEC_G722:
		if (cap < n / 2)
			return -EIO;
		return g722_encode(cs->g722_enc, out, pcm, (int)n);
	default:
		return -EIO;
	}
}

int ch_codec_encode_silence(struct ch_codec_state *cs, uint8_t *out, size_t cap)
{
	static const int16_t zeros[CH_CODEC_MAX_FRAME];

	switch (cs->codec) {
	case CH_CODEC_PCMU:
	case CH_CODEC_PCMA:
		if (cap < cs->codec_frame)
			return -EIO;
		memset(out,
		       cs->codec == CH_CODEC_PCMU ? CH_G711_ULAW_SILENCE
		                                  : CH_G711_ALAW_SILENCE,
		       cs->codec_frame);
		return (int)cs->codec_frame;
	case CH_CODEC_G722:
		/* ADPCM keeps state: silence goes through the encoder */
		return ch_codec_encode(cs, zeros, out, cap);
	case CH_CODEC_OPUS:
		break;
	default:
		return -EIO;
	}
	if (cs->silent_run >= CH_CODEC_SILENCE_SETTLE &&
	    cs->silence_len <= cap) {
		memcpy(out, cs->silence_pl, cs->silence_len);
		return (int)cs->silence_len;
	}
	opus_int32 len = opus_encode(cs->enc, zeros, (int)cs->codec_frame, out,
	                             (opus_int32)cap);
	if (len <= 0)
		return -EIO;
	cs->silent_run++;
	cs->silence_len = (size_t)len;
	memcpy(cs->silence_pl, out, (size_t)len);
	return (int)len;
}

/* One frame through rs into tmp, padded with silence if speexdsp hands
 * back fewer samples than a frame. */
static const int16_t *convert(struct ch_resample *rs, const int16_t *in,
                              size_t in_n, size_t out_n, int16_t *tmp)
{
	size_t got = 0;

	if (ch_resample_process(rs, in, in_n, tmp, CH_CODEC_MAX_FRAME, &got) !=
	    0)
		got = 0;
	if (got > out_n)
		got = out_n;
	memset(tmp + got, 0, (out_n - got) * sizeof(tmp[0]));
	return tmp;
}

const int16_t *ch_codec_to_room(struct ch_codec_state *cs, const int16_t *pcm,
                                int16_t *tmp)
{
	if (cs->codec_rate == cs->room_rate)
		return pcm;
	return convert(&cs->up, pcm, cs->codec_frame, cs->room_frame, tmp);
}

const int16_t *ch_codec_from_room(struct ch_codec_state *cs, const int16_t *pcm,
                                  int16_t *tmp)
{
	if (cs->codec_rate == cs->room_rate)
		return pcm;
	return convert(&cs->down, pcm, cs->room_frame, cs->codec_frame, tmp);
}

void ch_codec_reset_convert(struct ch_codec_state *cs)
{
	ch_resample_reset(&cs->up);
	ch_resample_reset(&cs->down);
}

const char *ch_media_codec_name(enum ch_media_codec c)
{
	switch (c) {
	case CH_CODEC_PCMU:
		return "PCMU";
	case CH_CODEC_PCMA:
		return "PCMA";
	case CH_CODEC_G722:
		return "G722";
	case CH_CODEC_OPUS:
		return "opus";
	default:
		return "?";
	}
}
