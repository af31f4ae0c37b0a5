/*
 * stt_impl.h: what stt.c needs from each speech-to-text engine (private to
 * services/; the public interface is stt.h).
 *
 * Each engine file (stt_sphinx.c, stt_http.c) exports one table of
 * operations; stt.c holds the engine and decoder objects and dispatches to
 * the table, so a third engine is one more file and one more row.
 *
 * Ownership and threads are those of stt.h: an engine's state is made by
 * open on the main thread and read-only after it; a decoder's state is
 * owned by the one thread that called ch_stt_new.
 */
#ifndef CH_SERVICES_STT_IMPL_H
#define CH_SERVICES_STT_IMPL_H

#include "services/stt.h"

#include <stddef.h>
#include <stdint.h>

/* The longest utterance a decoder takes: 60 s. Audio fed beyond it is
 * dropped (the transcriber cuts at pauses long before; this bounds the
 * memory of one decoder whatever a talker does). */
#define CH_STT_MAX_SAMPLES ((size_t)60 * CH_STT_RATE)

struct ch_stt_ops {
	const char *languages; /* for ch_stt_engine_languages */
	/* open: the engine's state from cfg into *impl: 0 or an errno of
	 * ch_stt_engine_open; close frees it */
	int (*open)(void **impl, const struct ch_stt_cfg *cfg);
	void (*close)(void *impl);
	int (*supports)(const void *impl, const char *lang);
	/* one decoder for a supported lang: 0, ENOMEM, EIO */
	int (*dec_new)(void **dec, void *impl, const char *lang);
	void (*dec_free)(void *dec);
	/* an utterance; feed only after start, with at most
	 * CH_STT_MAX_SAMPLES in total (stt.c drops the rest) */
	int (*start)(void *dec);
	int (*feed)(void *dec, const int16_t *pcm, size_t n);
	int (*finish)(void *dec, char **text);
};

extern const struct ch_stt_ops ch_stt_sphinx_ops;
extern const struct ch_stt_ops ch_stt_http_ops;

/* Copies text with blanks at both ends removed: a malloc'd string, or
 * NULL (ENOMEM). */
char *ch_stt_trimdup(const char *text);

#endif
