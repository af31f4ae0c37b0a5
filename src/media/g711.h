/*
 * g711.h: G.711 mu-law (PCMU) and A-law (PCMA) sample conversion.
 *
 * Decoding is a 256-entry table lookup per sample. Encoding is a lookup in a
 * table indexed by the sample's top 14 bits (mu-law) or 13 bits (A-law), the
 * resolutions G.711 itself quantises from, so the tables are exact.
 *
 * The tables are process-wide, built once by ch_g711_init() and read-only
 * afterwards: the conversion functions are thread-safe, do not allocate and
 * may run on the media hot path, but only after ch_g711_init() returned.
 */
#ifndef CH_MEDIA_G711_H
#define CH_MEDIA_G711_H

#include <stddef.h>
#include <stdint.h>

/*
 * Builds the conversion tables. Idempotent and thread-safe (pthread_once);
 * call it once at start, before any media worker runs. Cannot fail.
 */
void ch_g711_init(void);

/* Decodes n mu-law bytes from in into n linear samples in out. */
void ch_g711_ulaw_decode(const uint8_t *in, int16_t *out, size_t n);
/* Encodes n linear samples from in into n mu-law bytes in out. */
void ch_g711_ulaw_encode(const int16_t *in, uint8_t *out, size_t n);
/* Decodes n A-law bytes from in into n linear samples in out. */
void ch_g711_alaw_decode(const uint8_t *in, int16_t *out, size_t n);
/* Encodes n linear samples from in into n A-law bytes in out. */
void ch_g711_alaw_encode(const int16_t *in, uint8_t *out, size_t n);

/* The code of digital silence: what a zero sample encodes to. */
#define CH_G711_ULAW_SILENCE 0xFF
#define CH_G711_ALAW_SILENCE 0xD5

#endif
