/*
 * transcriber.h: the transcription service: recognises each participant
 * of a room on its own, off the media workers.
 *
 * A transcription has a transcriber tap (media/tap.h, voices): each tick
 * the room's worker copies every participant's own decoded audio into it,
 * never waiting (a full ring drops that tick for the room's participants,
 * counted). A reader thread drains the taps, cuts each participant's audio
 * into utterances at its pauses (services/segmenter.h) and queues them; a
 * pool of decoder threads, each with its own engine decoders
 * (services/stt.h), recognises them. Recognised text comes back to the
 * control thread's segment handler, with the leg that spoke and its times
 * relative to the start of the transcription; the done handler follows
 * the last segment of a finished transcription.
 *
 * Utterances wait for a decoder in one queue; when it holds more than
 * CH_TRANSCRIBER_QUEUE_MS of audio (the decoders cannot keep up), a new
 * utterance is dropped and counted in dropped_ms, as are ticks the worker
 * dropped.
 *
 * Threads: every function here runs on the control thread; the handlers
 * are called on it (a libre mqueue). The engines are borrowed and must
 * outlive the transcriber.
 */
#ifndef CH_SERVICES_TRANSCRIBER_H
#define CH_SERVICES_TRANSCRIBER_H

#include <stdint.h>

#include "services/stt.h"
#include "util/uuid.h"

#define CH_TRANSCRIBER_QUEUE_MS 120000
#define CH_TRANSCRIBER_DECODERS 2 /* decoder threads by default */

struct ch_media_tap;
struct ch_transcriber;

/* One recognised utterance; strings valid during the handler call. */
struct ch_transcriber_seg {
	const char *id;   /* the transcription */
	uint32_t leg;     /* the engine leg that spoke */
	int64_t start_ms; /* relative to ch_transcriber_start */
	int64_t end_ms;
	const char *text; /* never empty */
};

/* A finished transcription: the last of its segments has been handled. */
struct ch_transcriber_done {
	const char *id;
	uint64_t segments;   /* recognised and handed over */
	uint64_t dropped_ms; /* audio never recognised (full ring or queue,
	                        an engine failure) */
};

typedef void(ch_transcriber_seg_h)(void *arg,
                                   const struct ch_transcriber_seg *s);
typedef void(ch_transcriber_done_h)(void *arg,
                                    const struct ch_transcriber_done *d);

/* Starts the reader and `decoders` decoder threads (0: the default) over
 * engines[kind] (NULL where that engine is not available). 0 or errno. */
int ch_transcriber_alloc(struct ch_transcriber **tp,
                         struct ch_stt_engine *const engines[2],
                         unsigned decoders, ch_transcriber_seg_h *sh,
                         ch_transcriber_done_h *dh, void *arg);
/* Stops the threads and frees everything, reporting nothing more (the
 * store keeps a transcription started before a stop as progressing until
 * the next start ends it); NULL-safe. */
void ch_transcriber_free(struct ch_transcriber *t);
/* Any thread. Audio dropped (never recognised) by every transcription
 * since alloc, in ms: the sum of their dropped_ms so far (for /metrics);
 * 0 when t is NULL. */
uint64_t ch_transcriber_dropped_ms(const struct ch_transcriber *t);

/* The engine of kind, NULL if not available. */
struct ch_stt_engine *ch_transcriber_engine(const struct ch_transcriber *t,
                                            enum ch_stt_kind kind);

/* Begins transcription id with the engine of kind for lang (which it
 * supports): a tap (*tapp, the transcriber's) for the caller to attach to
 * the room (ch_media_room_record). EEXIST: id already runs; ENOTSUP: no
 * such engine; ENOMEM. */
int ch_transcriber_start(struct ch_transcriber *t, const char *id,
                         enum ch_stt_kind kind, const char *lang,
                         struct ch_media_tap **tapp);
/* The worker has let go of id's tap (tap_detached): the rest is drained
 * and recognised, then the done handler is called. Unknown id: ignored. */
void ch_transcriber_finish(struct ch_transcriber *t, const char *id);

#endif
