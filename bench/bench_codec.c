/*
 * bench_codec.c: one participant-frame of the media engine's Opus path,
 * single-threaded and deterministic, for instruction counts under
 * callgrind (bench/opus_profile.sh runs it).
 *
 *   bench_codec RATE lowdelay|voip COMPLEXITY [FRAMES] [decode|encode|silence]
 *
 * Builds the engine's codec states (codec.c, as a room mixing at RATE
 * builds them) and runs FRAMES (default 500) frames of a three-tone
 * "voice" through: a phone's stream (a libopus VOIP encoder at 48 kHz, as
 * browsers and softphones send) decoded by the room (ch_codec_decode), the
 * mix encoded for a listener (ch_codec_encode), and a phone's digital
 * silence decoded (the path that skips the decoder once the packet
 * repeats); with a step named, only that one. Prints the packets' mean
 * sizes and how many silent packets skipped the decoder; the instruction
 * counts come from callgrind (--toggle-collect=ch_codec_decode or
 * ch_codec_encode with one step named).
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "media/codec.h"
#include "media/plc.h"

#define MAX_FRAMES 5000

/* Decodes the phone's packets into the room: each participant-frame a
 * talker costs. */
static void room_decode(struct ch_codec_state *dec, struct ch_plc *plc,
                        uint8_t (*pl)[CH_CODEC_MAX_PAYLOAD], const int *len,
                        int n, int16_t *pcm)
{
	for (int f = 0; f < n; f++)
		(void)ch_codec_decode(dec, plc, pl[f], (size_t)len[f], pcm);
}

/* Encodes the room's mix for one listener each frame. */
static long room_encode(struct ch_codec_state *enc, const int16_t *mix,
                        size_t frame, int n)
{
	uint8_t out[CH_CODEC_MAX_PAYLOAD];
	long bytes = 0;
	for (int f = 0; f < n; f++) {
		int l = ch_codec_encode(enc, mix + (size_t)f * frame, out,
		                        sizeof(out));
		bytes += l > 0 ? l : 0;
	}
	return bytes;
}

/* Decodes a phone's silence: the first packets decode, the repeats skip. */
static void room_decode_silence(struct ch_codec_state *dec, struct ch_plc *plc,
                                uint8_t (*pl)[CH_CODEC_MAX_PAYLOAD],
                                const int *len, int n, int16_t *pcm)
{
	room_decode(dec, plc, pl, len, n, pcm);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
		        "usage: %s RATE lowdelay|voip COMPLEXITY "
		        "[FRAMES]\n",
		        argv[0]);
		return 2;
	}
	uint32_t rate = (uint32_t)atoi(argv[1]);
	struct ch_codec_opus o = {.complexity = atoi(argv[3]),
	                          .lowdelay = strcmp(argv[2], "voip") != 0};
	int n = argc > 4 ? atoi(argv[4]) : 500;
	const char *step = argc > 5 ? argv[5] : "all";
	if (n <= 0 || n > MAX_FRAMES || o.complexity < 0 || o.complexity > 10) {
		fprintf(stderr, "bench_codec: bad arguments\n");
		return 2;
	}
	struct ch_codec_state *enc, *dec, *qdec;
	struct ch_plc plc;
	if (ch_codec_state_alloc(&enc, CH_CODEC_OPUS, rate, false, &o) ||
	    ch_codec_state_alloc(&dec, CH_CODEC_OPUS, rate, true, &o) ||
	    ch_codec_state_alloc(&qdec, CH_CODEC_OPUS, rate, true, &o) ||
	    ch_plc_init(&plc, enc->codec_frame)) {
		fprintf(stderr, "bench_codec: rate %u is not a room rate\n",
		        rate);
		return 2;
	}
	int err;
	OpusEncoder *phone =
	    opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	static uint8_t pl[MAX_FRAMES][CH_CODEC_MAX_PAYLOAD];
	static uint8_t sil[MAX_FRAMES][CH_CODEC_MAX_PAYLOAD];
	static int len[MAX_FRAMES], slen[MAX_FRAMES];
	static int16_t mix[MAX_FRAMES * 960 / 3 + 960];
	int16_t in[960], zeros[960] = {0}, pcm[960];
	size_t frame = enc->codec_frame;
	long pbytes = 0;

	if (!phone)
		return 1;
	for (int f = 0; f < n; f++) {
		for (int i = 0; i < 960; i++) {
			double t = (f * 960 + i) / 48000.0;
			in[i] = (int16_t)(4000 * sin(2 * M_PI * 220 * t) +
			                  3000 * sin(2 * M_PI * 660 * t) +
			                  2000 * sin(2 * M_PI * 1870 * t));
		}
		len[f] =
		    opus_encode(phone, in, 960, pl[f], CH_CODEC_MAX_PAYLOAD);
		pbytes += len[f];
	}
	for (int f = 0; f < n; f++)
		slen[f] = opus_encode(phone, zeros, 960, sil[f],
		                      CH_CODEC_MAX_PAYLOAD);
	for (size_t i = 0; i < (size_t)n * frame; i++) {
		double t = (double)i / rate;
		mix[i] = (int16_t)(4000 * sin(2 * M_PI * 300 * t) +
		                   3000 * sin(2 * M_PI * 770 * t));
	}

	bool all = !strcmp(step, "all");
	long bytes = 0;
	if (all || !strcmp(step, "decode"))
		room_decode(dec, &plc, pl, len, n, pcm);
	if (all || !strcmp(step, "encode"))
		bytes = room_encode(enc, mix, frame, n);
	if (all || !strcmp(step, "silence"))
		room_decode_silence(qdec, &plc, sil, slen, n, pcm);
	printf("bench_codec: %d frames at %u Hz, %s, complexity %d: phone "
	       "packets %.1f B, room packets %.1f B, silent packets %d B, "
	       "%llu of %d silent packets skipped the decoder\n",
	       n, rate, o.lowdelay ? "lowdelay" : "voip", o.complexity,
	       (double)pbytes / n, (double)bytes / n, slen[n - 1],
	       (unsigned long long)qdec->decodes_skipped, n);
	opus_encoder_destroy(phone);
	ch_codec_state_free(enc);
	ch_codec_state_free(dec);
	ch_codec_state_free(qdec);
	return 0;
}
