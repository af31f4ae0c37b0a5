/*
 * conference_record.h: starting and stopping a conference's recording
 * (seed 001 rules: only while progressing, one at a time, at most 24 h)
 * and what happens when the recorder has written the file.
 *
 * Control thread only; errors as in core.h. `out` records belong to the
 * caller (ch_conference_clear), filled only on success.
 */
#ifndef CH_CONFERENCE_RECORD_H
#define CH_CONFERENCE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "store/records.h"

struct ch_core;

/* Longest recording: it is stopped when this has passed. */
#define CH_RECORDING_MAX_S (24 * 3600)

/* Starts a recording (format "wav", "flac" or "ogg"; tracks: a channel
 * per participant). EBUSY: not progressing, or one is active; EINVAL: a
 * bad format; EIO: the recorder or the store failed. *out is the
 * conference with its new recording_id. */
int ch_conference_record_start(struct ch_core *core, const char *customer_id,
                               const char *id, const char *format, bool tracks,
                               struct ch_conference *out);
/* Stops the active recording (EBUSY: none). The file is finished later
 * (ch_core_recording_done); the conference's recording_id is cleared at
 * once. */
int ch_conference_record_stop(struct ch_core *core, const char *customer_id,
                              const char *id, struct ch_conference *out);

/* What the recorder reports when a file is complete. */
struct ch_core_rec_result {
	int err; /* 0, or the errno of a failure (no file) */
	uint64_t duration_ms;
	uint32_t rate;
	const char *channels; /* JSON array text (borrowed) */
	uint64_t size;
};

/* The recorder finished recording_id (also after a crash, at start):
 * status stopped, conference.recording.stopped. */
void ch_core_recording_done(struct ch_core *core, const char *recording_id,
                            const struct ch_core_rec_result *r);

#endif
