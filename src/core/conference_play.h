/*
 * conference_play.h: playback into a conference's room (seed 004): play,
 * pause (a toggle), stop, volume, and the reports that end a play
 * (finished, failed with playback_error or playback_timeout).
 *
 * One play at a time: a play while one is playing or paused replaces it
 * (conference.play.stopped for the old one, then .started for the new).
 * Every call answers the operation_id of the play it acted on (volume
 * without a play: a new one). playback_status and playback_volume are
 * kept on the conference.
 *
 * Control thread only; errors as in core.h (EBUSY: not progressing, or
 * nothing plays for pause/stop; EINVAL: bad URL or volume, with why).
 */
#ifndef CH_CONFERENCE_PLAY_H
#define CH_CONFERENCE_PLAY_H

#include <jansson.h>
#include <stddef.h>

#include "util/uuid.h"

struct ch_core;

/* No terminal report this long after a play was asked for: failed with
 * playback_timeout (fetching and decoding took too long). */
#define CH_PLAY_TIMEOUT_MS 10000
#define CH_PLAY_VOLUME_MIN -50
#define CH_PLAY_VOLUME_MAX 7

/* urls: a JSON array of URL strings (borrowed), checked here (EINVAL,
 * why names the bad one). op gets the new operation_id. */
int ch_conference_play(struct ch_core *core, const char *customer_id,
                       const char *id, json_t *urls, char *why, size_t len,
                       char op[CH_UUID_LEN]);
/* status gets the playback_status after the toggle. */
int ch_conference_play_pause(struct ch_core *core, const char *customer_id,
                             const char *id, char op[CH_UUID_LEN],
                             char status[16]);
int ch_conference_play_stop(struct ch_core *core, const char *customer_id,
                            const char *id, char op[CH_UUID_LEN]);
int ch_conference_play_volume(struct ch_core *core, const char *customer_id,
                              const char *id, int volume, char op[CH_UUID_LEN]);

#endif
