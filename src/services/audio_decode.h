/*
 * audio_decode.h: an audio file in memory (WAV, FLAC, Ogg Vorbis/Opus,
 * MP3) decoded into a clip at the three room rates (media/pcm.h): mixed
 * down to mono, resampled with speexdsp, padded with silence to whole
 * 20 ms frames.
 *
 * Pure and reentrant (any thread). Input is untrusted (it comes from a
 * URL a customer gave): every header field is checked, and a fuzz target
 * (tests/fuzz/fuzz_audio_decode.c) drives this function.
 */
#ifndef CH_SERVICES_AUDIO_DECODE_H
#define CH_SERVICES_AUDIO_DECODE_H

#include <stddef.h>

struct ch_pcm;

/*
 * Decodes buf[0..len) into *out (owned by the caller on success). At most
 * max_seconds of audio (longer input is cut there). 0; EINVAL with *why
 * ("not an audio file", "no audio in file", "unsupported format") for
 * input that is not playable; ENOMEM.
 */
int ch_audio_decode(const void *buf, size_t len, unsigned max_seconds,
                    struct ch_pcm **out, const char **why);

#endif
