/*
 * codec.h: per-leg codec state of the media engine: one 20 ms frame
 * decoded, concealed or encoded for each codec the engine speaks, and the
 * rate conversion between the codec's rate and its room's mixing rate.
 *
 * A struct ch_codec_state is allocated and freed on the control thread
 * (Opus and speexdsp allocate) and used by exactly one media worker in
 * between; decode/conceal/encode/convert never allocate, lock or make a
 * system call. A state is tied to one codec and one room rate: when either
 * changes, the control thread builds a new state and the worker swaps it in
 * and hands the old one back to be freed.
 *
 * Codecs: PCMU and PCMA (8 kHz, G.711 tables), G.722 (spandsp, 16 kHz
 * audio), Opus (mono decode and encode straight at the room's rate, which
 * libopus does natively at 8, 16 and 48 kHz: no resampler; stereo packets
 * are downmixed by the decoder; the RTP clock stays 48 kHz).
 */
#ifndef CH_MEDIA_CODEC_H
#define CH_MEDIA_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/engine.h"
#include "media/plc.h"
#include "media/resample.h"

/* Every leg sends and expects 20 ms packets. */
#define CH_CODEC_FRAME_MS 20
/* Largest encoded frame (an Opus packet is at most 1275 bytes). */
#define CH_CODEC_MAX_PAYLOAD 1276
/* Samples of one frame at 48 kHz, the most any rate needs. */
#define CH_CODEC_MAX_FRAME 960
/* Opus encoder complexity (0..10) by default: 5 halves the cost of
 * libopus' 10 for little loss of quality on speech. */
#define CH_CODEC_OPUS_COMPLEXITY 5
/* Opus packets this short carry no audio (a TOC byte and at most one more:
 * DTX, or empty frames): they decode to silence without the decoder. */
#define CH_CODEC_OPUS_EMPTY_LEN 2
/* An Opus packet that repeats, byte for byte, the last one when that
 * decoded to silence (every sample within +-CH_CODEC_SILENT_PEAK) is
 * silence again without the decoder: an encoder fed digital silence (a
 * muted microphone, a phone's silence) settles on one packet it sends
 * over and over, and decoding it costs as much as speech. Packets up to
 * CH_CODEC_SILENT_PL_MAX bytes are remembered for that. */
#define CH_CODEC_SILENT_PEAK   4
#define CH_CODEC_SILENT_PL_MAX 96

/* The defaults: complexity CH_CODEC_OPUS_COMPLEXITY, low delay. */
extern const struct ch_codec_opus ch_codec_opus_default;
/* Silent frames the Opus encoder really encodes before its last packet
 * is reused. */
#define CH_CODEC_SILENCE_SETTLE 10

struct OpusDecoder;
struct OpusEncoder;

/*
 * Codec state of one leg, or of a room's shared encode for one codec
 * (then decode is false: no decoder, no up-converter).
 * Allocated and freed on the control thread; owned by one media worker
 * while it is in use, and only touched by that worker then.
 */
struct ch_codec_state {
	struct ch_codec_state *next; /* worker's list of states to hand back */
	enum ch_media_codec codec;
	uint32_t codec_rate;     /* PCM rate of the codec */
	uint32_t rtp_rate;       /* RTP clock rate */
	uint32_t room_rate;      /* mixing rate of the room */
	size_t codec_frame;      /* samples per frame at codec_rate */
	size_t room_frame;       /* samples per frame at room_rate */
	uint32_t rtp_frame;      /* RTP timestamp units per frame */
	struct OpusDecoder *dec; /* Opus with decode only */
	struct OpusEncoder *enc; /* Opus only */
	struct g722_encode_state_s *g722_enc; /* G.722 only */
	struct g722_decode_state_s *g722_dec; /* G.722 with decode only */
	struct ch_resample up;   /* codec_rate -> room_rate (decode only) */
	struct ch_resample down; /* room_rate -> codec_rate */
	/* Opus: frames of digital silence encoded in a row, and the last
	 * such encoding (see ch_codec_encode_silence) */
	unsigned silent_run;
	size_t silence_len;
	uint8_t silence_pl[CH_CODEC_MAX_PAYLOAD];
	/* Opus decode: the last packet, when it decoded to silence (len 0:
	 * none), and how many packets skipped the decoder (both kinds) */
	size_t quiet_len;
	uint8_t quiet_pl[CH_CODEC_SILENT_PL_MAX];
	uint64_t decodes_skipped;
};

/* 0 if the engine can carry codec c, else -EINVAL. */
int ch_codec_supported(enum ch_media_codec c);
/* PCM rate of codec c (8000, 16000 or 48000): the most it carries. */
uint32_t ch_codec_rate(enum ch_media_codec c);
/* The mixing rate a leg of codec c asks of a room that mixes at most at
 * max_rate (8000, 16000 or 48000): its own rate, capped; Opus, which
 * carries any of them, asks max_rate. */
uint32_t ch_codec_room_rate(enum ch_media_codec c, uint32_t max_rate);
/* RTP clock rate of codec c (G.722: 8000 for 16 kHz audio). */
uint32_t ch_codec_rtp_rate(enum ch_media_codec c);

/*
 * Control thread. Allocates a state for codec c in a room mixing at
 * room_rate; with decode false only the encoder side. Opus works at
 * room_rate (its encoder limited to the matching bandwidth) as opus says
 * (NULL: ch_codec_opus_default). Returns 0, -ENOTSUP, -EINVAL or -ENOMEM
 * (nothing is then allocated).
 */
int ch_codec_state_alloc(struct ch_codec_state **csp, enum ch_media_codec c,
                         uint32_t room_rate, bool decode,
                         const struct ch_codec_opus *opus);
/* Control thread. Frees cs and everything in it; NULL-safe. The worker
 * must no longer use it. */
void ch_codec_state_free(struct ch_codec_state *cs);

/*
 * Decodes one packet into exactly cs->codec_frame samples in pcm (a
 * shorter frame is padded with silence, a longer one cut). For G.711 the
 * frame is also recorded in plc for later concealment. Returns 0, or
 * -EBADMSG if the packet does not decode (pcm is then silence).
 */
int ch_codec_decode(struct ch_codec_state *cs, struct ch_plc *plc,
                    const uint8_t *pl, size_t len, int16_t *pcm);

/*
 * Conceals one lost frame into pcm (cs->codec_frame samples): Opus from
 * the in-band FEC of the next packet when next is not NULL, else the Opus
 * decoder's PLC; G.711 by repeat-and-fade from plc.
 */
void ch_codec_conceal(struct ch_codec_state *cs, struct ch_plc *plc,
                      const uint8_t *next, size_t next_len, int16_t *pcm);

/*
 * Encodes cs->codec_frame samples of pcm into out (cap bytes). Returns the
 * payload length, or -EIO if the encoder fails.
 */
int ch_codec_encode(struct ch_codec_state *cs, const int16_t *pcm, uint8_t *out,
                    size_t cap);

/*
 * Encodes one frame of digital silence into out (cap bytes): what a room
 * sends when nobody talks, and a lone talker hears. G.711: the silence
 * code. Opus: the encoder runs for the first CH_CODEC_SILENCE_SETTLE
 * frames of a silent stretch; after that its last packet is sent again
 * instead (its state no longer changes on zero input, and encoding
 * silence costs as much as speech). Returns the length, or -EIO.
 */
int ch_codec_encode_silence(struct ch_codec_state *cs, uint8_t *out,
                            size_t cap);

/*
 * Converts one frame from the codec rate to the room rate: returns pcm
 * itself when the rates are equal, else tmp (CH_CODEC_MAX_FRAME samples)
 * holding cs->room_frame samples.
 */
const int16_t *ch_codec_to_room(struct ch_codec_state *cs, const int16_t *pcm,
                                int16_t *tmp);

/* The other way: room-rate frame to codec rate, same contract. */
const int16_t *ch_codec_from_room(struct ch_codec_state *cs, const int16_t *pcm,
                                  int16_t *tmp);

/* Forgets the converters' history, for a stream that restarts. */
void ch_codec_reset_convert(struct ch_codec_state *cs);

#endif
