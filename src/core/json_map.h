/*
 * json_map.h: records to API JSON (API.md field names and formats).
 * Pure functions; any thread.
 */
#ifndef CH_JSON_MAP_H
#define CH_JSON_MAP_H

#include <jansson.h>

#include "store/records.h"

/* Returns a new JSON object for the conference, or NULL on ENOMEM.
 * ids (the conferencecall_ids array) is stolen; NULL gives []. */
json_t *ch_json_map_conference(const struct ch_conference *c, json_t *ids);
/* Returns a new JSON object for the participant; stats is stolen and may
 * be NULL (then no "stats" member). */
json_t *ch_json_map_conferencecall(const struct ch_conferencecall *cc,
                                   json_t *stats);
/* Returns a new JSON object for the recording (API.md recording), or NULL
 * on ENOMEM. channels is the parsed array; tm_end and tm_delete of 0 are
 * "has not happened". */
json_t *ch_json_map_recording(const struct ch_recording *r);
/* Returns a new JSON object for the transcribe (API.md transcribe), or
 * NULL on ENOMEM; tm_start, tm_end and tm_delete of 0 are "has not
 * happened". */
json_t *ch_json_map_transcribe(const struct ch_transcribe *t);
/* Returns a new JSON object for the transcript (API.md transcript), or
 * NULL on ENOMEM; an empty conferencecall_id is the nil UUID. */
json_t *ch_json_map_transcript(const struct ch_transcript *t);
/* Returns a new JSON object for the conference summary (API.md summary),
 * or NULL on ENOMEM. now_us is the time that a live conference's
 * durations run to. */
json_t *ch_json_map_summary(const struct ch_summary *s, int64_t now_us);
/* Parses stored JSON text; on malformed text returns fallback (a new
 * empty object or array, as asked). Never NULL unless ENOMEM. */
json_t *ch_json_map_parse_stored(const char *text, bool array);

#endif
