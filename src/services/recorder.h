/*
 * recorder.h: the recorder service: writes what a room's tap
 * (media/tap.h) carries into a file, off the media workers.
 *
 * One file per recording, <dir>/<id>.<wav|flac|ogg>, 16-bit at the rate
 * of the room (a room whose rate rises mid-recording is resampled to the
 * rate the recording started with). Channel 1 is the mix; with tracks,
 * channel 2.. are the participants, in the order they first appear
 * (ch_recorder_track), each silent while absent or not talking. FLAC
 * carries at most 8 channels: further participants are only in the mix
 * (and absent from the channel map).
 *
 * While recording, each channel is appended as raw PCM to its own part
 * file under <dir>/<id>.parts/ (flushed at least every 200 ms, so a kill
 * loses at most that), with a small index of the channels beside it; the
 * final file is assembled from the parts when the recording finishes, or
 * at the next start after a crash (ch_recorder_recover). A tick the
 * worker could not queue (slow disk: the tap ring was full) is written as
 * silence, so the length always matches wall time; such ticks are counted
 * and logged once per recording.
 *
 * Threads: every function here runs on the control thread, except
 * ch_recorder_recover (blocking, called once at start before the loop
 * runs). One service thread drains all taps and writes; results come
 * back through a libre mqueue to the done handler on the control thread.
 */
#ifndef CH_SERVICES_RECORDER_H
#define CH_SERVICES_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/uuid.h"

struct ch_media_tap;
struct ch_recorder;

enum ch_rec_format { CH_REC_WAV = 0, CH_REC_FLAC, CH_REC_OGG };

/* "wav"/"flac"/"ogg" <-> the enum; parse returns -1 for other names. */
const char *ch_rec_format_str(enum ch_rec_format f);
int ch_rec_format_parse(const char *s, enum ch_rec_format *f);

/* A finished recording. Strings are valid during the handler call. */
struct ch_recorder_result {
	char id[CH_UUID_LEN];
	int err;              /* 0, or errno of a failure (file not written) */
	uint64_t duration_ms; /* audio in the file */
	uint32_t rate;        /* its sample rate */
	unsigned nchannels;
	/* JSON array text: [{"index":1,"kind":"mix"},{"index":2,"kind":
	 * "participant","conferencecall_id":"...","caller_id":"..."},...] */
	const char *channels;
	const char *path; /* the final file */
	uint64_t size;    /* its bytes */
	uint64_t dropped; /* ticks written as silence (tap ring full) */
};

typedef void(ch_recorder_done_h)(void *arg, const struct ch_recorder_result *r);

/* Starts the service thread; dir (copied, made if absent) holds the
 * recordings. Returns 0 or an errno value. */
int ch_recorder_alloc(struct ch_recorder **recp, const char *dir,
                      ch_recorder_done_h *h, void *arg);
/* Finishes nothing: stops the thread, frees every tap and state, leaves
 * part files as they are (the next start recovers them); NULL-safe. */
void ch_recorder_free(struct ch_recorder *rec);

/* Begins recording id: makes its part folder and a tap (*tapp) for the
 * caller to attach to the room (ch_media_room_record). EEXIST: id is
 * already recording; EIO: the folder cannot be written. */
int ch_recorder_start(struct ch_recorder *rec, const char *id,
                      enum ch_rec_format format, bool tracks,
                      struct ch_media_tap **tapp);
/* Names the participant whose audio the tap carries as engine leg `leg`
 * (before or after its first audio). Unknown id: ignored. */
void ch_recorder_track(struct ch_recorder *rec, const char *id, uint32_t leg,
                       const char *conferencecall_id, const char *caller_id);
/* The worker has let go of the tap (tap_detached): drain it, assemble the
 * file, free the tap, then report through the done handler. Unknown id:
 * ignored. */
void ch_recorder_finish(struct ch_recorder *rec, const char *id);

/* Path of a recording's final file (buffer of len bytes). */
void ch_recorder_path(const char *dir, const char *id,
                      enum ch_rec_format format, char *path, size_t len);

/* After a crash: assembles the final file of recording id from the part
 * files left under dir (if any), removes the parts, fills *out (strings
 * valid until the next call on this thread). 0; ENOENT: no parts and no
 * file; EIO. Blocking: call before the main loop runs. */
int ch_recorder_recover(const char *dir, const char *id,
                        enum ch_rec_format format,
                        struct ch_recorder_result *out);

/* Removes the final file and parts of recording id (DELETE). */
int ch_recorder_remove(const char *dir, const char *id,
                       enum ch_rec_format format);

#endif
