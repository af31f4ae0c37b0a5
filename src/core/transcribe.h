/*
 * transcribe.h: the transcription resources as the API reads them:
 * tenant-checked lookup of a transcribe, the customer's transcribes, and
 * the transcripts (recognised segments) of one of them. Starting and
 * stopping a transcription is conference code (it owns the room); this
 * file only reads.
 *
 * Threading: control thread only (the store is used there).
 * Errors as in core.h: ENOENT (unknown, another customer's, deleted),
 * EIO (store).
 */
#ifndef CH_CORE_TRANSCRIBE_H
#define CH_CORE_TRANSCRIBE_H

#include <stdint.h>

#include "store/store.h"

struct ch_core;

/* The customer's transcribe id, not deleted; out is filled only on 0. */
int ch_transcribe_get(struct ch_core *core, const char *customer_id,
                      const char *id, struct ch_transcribe *out);
/* The customer's transcribes that are not deleted, newest first, created
 * before before_us, at most limit; reference_id NULL: every conference. */
int ch_transcribe_list(struct ch_core *core, const char *customer_id,
                       const char *reference_id, int64_t before_us,
                       unsigned limit, ch_store_transcribe_h *h, void *arg);
/* The segments of the customer's transcribe transcribe_id (ENOENT when it
 * is not one, as ch_transcribe_get), in time order (tm_start_ms, then
 * id), those after the cursor (after_ms, after_id) (after_ms -1: from the
 * start), at most limit. */
int ch_transcript_list(struct ch_core *core, const char *customer_id,
                       const char *transcribe_id, int64_t after_ms,
                       const char *after_id, unsigned limit,
                       ch_store_transcript_h *h, void *arg);

#endif
