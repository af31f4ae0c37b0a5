/*
 * tts.h: text-to-speech with the espeak-ng program, run as a child
 * process (it is GPL-3: never linked), and the languages it speaks.
 *
 * Threads: ch_tts_voice/ch_tts_languages are pure (any thread);
 * ch_tts_render blocks (it waits for espeak-ng) and runs on a player
 * service thread.
 */
#ifndef CH_SERVICES_TTS_H
#define CH_SERVICES_TTS_H

#include <stddef.h>

/* The espeak-ng voice for an API language tag ("en-US" -> "en-us"),
 * matched without regard to case; NULL if the language is not spoken. */
const char *ch_tts_voice(const char *language);
/* The supported language tags, comma separated ("en-US, en-GB, ..."). */
const char *ch_tts_languages(void);

/* Longest text spoken, in bytes. */
#define CH_TTS_MAX_TEXT 4096

/*
 * Speaks text (at most CH_TTS_MAX_TEXT bytes, UTF-8) in language into a
 * WAV file under cache_dir named by a hash of voice and text, unless that
 * file already exists; the path goes to path (size len). espeak-ng is
 * given the text on a file, never on a command line or through a shell.
 * 0, EINVAL (unknown language, empty or too long text), or EIO (espeak-ng
 * missing or failed; logged).
 */
int ch_tts_render(const char *cache_dir, const char *language, const char *text,
                  char *path, size_t len);

#endif
