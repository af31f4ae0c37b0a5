/*
 * fuzz_audio_decode.c: libFuzzer target for ch_audio_decode(), which
 * decodes an audio file fetched from a customer's URL: any input must
 * return 0 with a clip of whole frames within max_seconds, or EINVAL or
 * ENOMEM with a reason and no clip. Aborts otherwise. Seeds: tiny WAV,
 * FLAC, Ogg Vorbis, Ogg Opus and MP3 files in corpus/audio_decode/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "media/pcm.h"
#include "services/audio_decode.h"

#define FUZZ_MAX_SECONDS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ch_pcm *pcm = NULL;
	const char *why = NULL;
	int err = ch_audio_decode(data, size, FUZZ_MAX_SECONDS, &pcm, &why);

	if (!err) {
		if (!pcm || !pcm->frames || pcm->frames > FUZZ_MAX_SECONDS * 50)
			abort();
		/* Every sample of every rate is readable. */
		volatile int16_t sink = pcm->r8k[pcm->frames * 160 - 1] +
		                        pcm->r16k[pcm->frames * 320 - 1] +
		                        pcm->r48k[pcm->frames * 960 - 1];
		(void)sink;
		ch_pcm_free(pcm);
		return 0;
	}
	if (pcm || !why || !*why || (err != EINVAL && err != ENOMEM))
		abort();
	return 0;
}
