/*
 * transcribe.c: transcription resources for the API: tenant-checked
 * lookup, the list of transcribes and of a transcribe's transcripts. See
 * transcribe.h.
 */
#include "core/transcribe.h"
#include "core/core.h"
#include "util/timefmt.h"

#include <errno.h>
#include <string.h>

static bool deleted(const struct ch_transcribe *t)
{
	return t->tm_delete > 0 && t->tm_delete < CH_TIME_NEVER_US;
}

int ch_transcribe_get(struct ch_core *core, const char *customer_id,
                      const char *id, struct ch_transcribe *out)
{
	struct ch_store *st = ch_core_store(core);
	struct ch_transcribe t;
	int err = st->ops->transcribe_get(st, id, &t);
	if (err)
		return err;
	if (strcmp(t.customer_id, customer_id) || deleted(&t))
		return ENOENT;
	*out = t;
	return 0;
}

int ch_transcribe_list(struct ch_core *core, const char *customer_id,
                       const char *reference_id, int64_t before_us,
                       unsigned limit, ch_store_transcribe_h *h, void *arg)
{
	struct ch_store *st = ch_core_store(core);
	return st->ops->transcribe_list(st, customer_id, reference_id,
	                                before_us, limit, h, arg);
}

int ch_transcript_list(struct ch_core *core, const char *customer_id,
                       const char *transcribe_id, int64_t after_ms,
                       const char *after_id, unsigned limit,
                       ch_store_transcript_h *h, void *arg)
{
	struct ch_store *st = ch_core_store(core);
	struct ch_transcribe t;
	int err = ch_transcribe_get(core, customer_id, transcribe_id, &t);
	if (err)
		return err;
	return st->ops->transcript_list(st, transcribe_id, after_ms, after_id,
	                                limit, h, arg);
}
