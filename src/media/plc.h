/*
 * plc.h: packet-loss concealment for G.711 and G.722 legs.
 *
 * G.711 (8 kHz) legs use spandsp's pitch-based concealer (ITU-T G.711
 * Appendix I style: the last pitch period is repeated with overlap-add and
 * faded to silence over 50 ms, then blended into the speech that resumes);
 * ch_plc_init_pitch(). Other rates use repeat and fade (ch_plc_init):
 *
 * The last good frame is replayed with a gain that falls by 6 dB per
 * concealed frame: the first concealed frame ramps from 1 to 1/2, the second
 * from 1/2 to 1/4, the third from 1/4 to 0, and every later one is silence.
 * Ramping inside each frame avoids the step a per-frame gain would click on.
 * (Opus legs use the decoder's own PLC instead.)
 */
#ifndef CH_MEDIA_PLC_H
#define CH_MEDIA_PLC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spandsp/telephony.h>
#include <spandsp/plc.h>

/* Most samples per frame: 48 kHz x 20 ms. */
#define CH_PLC_MAX_FRAME 960
/* Concealed frames before the output is silence. */
#define CH_PLC_FADE_FRAMES 3

/*
 * Concealment state of one leg. Owned by the media worker that runs the leg;
 * not thread-safe. Caller-provided storage, nothing to free. Fields private.
 */
struct ch_plc {
	size_t frame;                   /* samples per frame */
	bool pitch;                     /* spandsp's concealer (8 kHz) */
	plc_state_t sp;                 /* its state (no allocation) */
	unsigned lost;                  /* concealed frames in a row */
	int16_t last[CH_PLC_MAX_FRAME]; /* last good frame */
};

/*
 * Prepares p for frames of frame_samples samples; the remembered frame is
 * silence. Returns 0, or -EINVAL if frame_samples is 0 or above
 * CH_PLC_MAX_FRAME.
 */
int ch_plc_init(struct ch_plc *p, size_t frame_samples);
/* The same with spandsp's pitch-based concealer, for 8 kHz frames of
 * frame_samples (160 for 20 ms). */
int ch_plc_init_pitch(struct ch_plc *p, size_t frame_samples);

/* Records a correctly received frame (p's frame size) and ends any loss.
 * The pitch concealer may change the first few ms of the frame that ends
 * a loss, blending the concealment into it. */
void ch_plc_good(struct ch_plc *p, int16_t *pcm);

/* Writes a concealment frame (p's frame size) into out for a lost frame. */
void ch_plc_conceal(struct ch_plc *p, int16_t *out);

/* Frames concealed since the last good one. */
unsigned ch_plc_lost(const struct ch_plc *p);

#endif
