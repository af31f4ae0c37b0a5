/*
 * stt.h: the speech-to-text engine interface of the transcriber, and its
 * two engines: pocketsphinx (stt_sphinx.c, in process) and an HTTP
 * service speaking the OpenAI-compatible POST /v1/audio/transcriptions
 * (stt_http.c: whisper.cpp's server and many others).
 *
 * A decoder recognises one utterance at a time: start, feed 16 kHz mono
 * 16-bit PCM (any number of calls), finish (the text of the utterance).
 * The transcriber cuts each participant's audio into utterances at pauses
 * and hands each one to a decoder of its pool; the engine never sees who
 * spoke.
 *
 * Threads and ownership. ch_stt_engine_open() runs once at start on the
 * main thread (it checks the configuration: model files, the service URL)
 * and the engine is then read-only and shared. A decoder (ch_stt_new) is
 * owned by the one service thread that made it and used only there; it
 * may block (pocketsphinx decodes, the HTTP engine waits for the service
 * with a timeout and retries). Nothing here runs on a media worker.
 */
#ifndef CH_SERVICES_STT_H
#define CH_SERVICES_STT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CH_STT_RATE 16000 /* the rate every decoder is fed */

enum ch_stt_kind {
	CH_STT_SPHINX = 0, /* pocketsphinx, the default */
	CH_STT_HTTP,       /* OpenAI-compatible HTTP service */
};

/* Configuration of both engines (config keys stt-*). Strings are borrowed
 * for the duration of ch_stt_engine_open, which copies what it keeps. */
struct ch_stt_cfg {
	/* pocketsphinx: the en-US acoustic model folder, language model and
	 * dictionary; NULL for the Debian pocketsphinx-en-us paths */
	const char *sphinx_model; /* .../model/en-us/en-us */
	const char *sphinx_lm;    /* .../model/en-us/en-us.lm.bin */
	const char *sphinx_dict;  /* .../model/en-us/cmudict-en-us.dict */
	/* a narrower search (-maxhmmpf 3000 -maxwpf 5): about half the CPU
	 * for a few points of word accuracy (bench/README.md) */
	bool sphinx_fast;
	/* HTTP: base URL (http:// or https://) to which
	 * "/v1/audio/transcriptions" is appended, e.g. http://127.0.0.1:8178;
	 * NULL or "": the HTTP engine is not configured */
	const char *http_url;
	const char *http_model;   /* "model" form field; NULL: "whisper-1" */
	const char *http_key;     /* Bearer token; NULL: none */
	unsigned http_timeout_ms; /* per attempt; 0: 15000 */
	unsigned http_retries; /* further attempts after a failure; 0: none */
};

/* Engines opened at start, one per kind (an engine not configured or
 * whose files are missing is NULL there and refused per conference).
 * Read-only after ch_stt_engine_open; freed by ch_stt_engine_close. */
struct ch_stt_engine;

/* Opens engine kind with cfg: 0, ENOENT (the model files or Debian
 * package are missing; logged), EINVAL (a bad URL), ENOTSUP (http_url not
 * set), ENOMEM. For pocketsphinx this loads nothing per decoder yet; it
 * checks that the files exist. */
int ch_stt_engine_open(struct ch_stt_engine **out, enum ch_stt_kind kind,
                       const struct ch_stt_cfg *cfg);
void ch_stt_engine_close(struct ch_stt_engine *e); /* NULL-safe */

/* Whether the engine recognises language (a BCP-47 tag, matched without
 * regard to case: pocketsphinx knows en-US and en only; the HTTP engine
 * takes any well-formed tag of letters, digits and '-', at most 23 bytes,
 * and sends its primary subtag, e.g. "en"). */
int ch_stt_engine_supports(const struct ch_stt_engine *e, const char *lang);
/* The languages it supports, for a 400 message: "en-US, en" or "any". */
const char *ch_stt_engine_languages(const struct ch_stt_engine *e);
enum ch_stt_kind ch_stt_engine_kind(const struct ch_stt_engine *e);
/* "sphinx" or "http"; ch_stt_kind_parse: 0 or EINVAL. */
const char *ch_stt_kind_str(enum ch_stt_kind k);
int ch_stt_kind_parse(const char *s, enum ch_stt_kind *k);

/* One decoder; used by one thread. */
struct ch_stt;

/* A decoder of engine e for language lang (one the engine supports):
 * 0, ENOMEM, EIO (the model failed to load; logged). *out is the
 * caller's: ch_stt_free. */
int ch_stt_new(struct ch_stt **out, struct ch_stt_engine *e, const char *lang);
void ch_stt_free(struct ch_stt *s); /* NULL-safe */

/* An utterance: start, feed (pcm at CH_STT_RATE, n samples, any number
 * of calls), finish. finish stores the recognised text (owned by the
 * caller, free(); "" when nothing was recognised) in *text: 0, or EIO
 * (the engine failed: the HTTP service did not answer 2xx within its
 * retries, or answered no "text"; logged, one line), ENOMEM. start after
 * an unfinished utterance drops it. */
int ch_stt_start(struct ch_stt *s);
int ch_stt_feed(struct ch_stt *s, const int16_t *pcm, size_t n);
int ch_stt_finish(struct ch_stt *s, char **text);

#endif
