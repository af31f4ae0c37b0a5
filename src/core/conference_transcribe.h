/*
 * conference_transcribe.h: a conference's transcription: start (a
 * transcribe row "progressing", the conference's transcribe_id and
 * transcribe_ids, the media layer's transcriber), stop, the segments the
 * transcriber recognises (stored transcripts and conference.transcript
 * events) and its end ("done"). Control thread only.
 */
#ifndef CH_CORE_CONFERENCE_TRANSCRIBE_H
#define CH_CORE_CONFERENCE_TRANSCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

struct ch_core;
struct ch_transcriber;

/* Server settings: the transcriber whose engines a request may choose
 * (borrowed; NULL: transcription refused), and the engine of a request
 * that names none ("sphinx" or "http"). */
void ch_core_set_transcriber(struct ch_core *core, struct ch_transcriber *t,
                             const char *default_engine);

/*
 * Starts transcribing the customer's conference id in language with
 * engine (NULL: the default). 0 and the conference in out (the caller
 * clears it), or: ENOENT (no such conference), EBUSY (not progressing,
 * or a transcription is active), EINVAL (a language the engine does not
 * know: why lists the supported ones), ENOTSUP (an unknown engine name,
 * or that engine is not configured: why says which), EIO.
 */
int ch_conference_transcribe_start(struct ch_core *core,
                                   const char *customer_id, const char *id,
                                   const char *language, const char *engine,
                                   struct ch_conference *out, char *why,
                                   size_t why_len);
/* Stops it: EBUSY when none is active. The transcribe becomes "done"
 * once the last segment is in (ch_core_transcribe_done). */
int ch_conference_transcribe_stop(struct ch_core *core, const char *customer_id,
                                  const char *id, struct ch_conference *out);

/* Reports from the media layer. A recognised segment of transcribe_id:
 * stored and sent as conference.transcript. */
struct ch_core_transcript {
	const char *transcribe_id;
	const char *conferencecall_id; /* NULL: unknown */
	const char *caller_id;         /* NULL: unknown */
	int64_t start_ms, end_ms;
	const char *text;
};
void ch_core_transcript(struct ch_core *core,
                        const struct ch_core_transcript *t);
/* The transcriber has handed over its last segment: status "done",
 * conference.transcribe.stopped. */
void ch_core_transcribe_done(struct ch_core *core, const char *transcribe_id,
                             uint64_t dropped_ms);
/* At start: every transcribe still "progressing" (chorusd stopped while
 * it ran) is done. */
void ch_core_transcribe_recover(struct ch_core *core);

/* core-internal: the conference ends. */
void ch_conference_transcribe_end(struct ch_core *core, const char *id);

#endif
