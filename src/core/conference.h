/*
 * conference.h: the conference resource and its state machine
 * (starting -> progressing -> terminating -> terminated).
 *
 * All functions run on the control thread; see core.h for error values.
 * Functions that fill an `out` record give the caller ownership of it
 * (release with ch_conference_clear) and fill it only on success.
 */
#ifndef CH_CONFERENCE_H
#define CH_CONFERENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/records.h"

struct ch_core;

/* Fields given by a create or update request; has_* says which. Strings
 * are borrowed. JSON fields are already-validated JSON text. */
struct ch_conference_params {
	bool has_type, has_name, has_detail, has_data, has_timeout;
	bool has_pre_actions, has_post_actions, has_max_participants;
	bool has_max_sample_rate;
	enum ch_conference_type type;
	const char *name;
	const char *detail;
	const char *data;
	int64_t timeout;
	const char *pre_actions;
	const char *post_actions;
	int max_participants;
	int max_sample_rate; /* create only: 8000, 16000 or 48000 */
};

/* The room's highest mixing rate when a create does not say: wideband
 * voice (Opus legs are encoded and decoded at 16 kHz). 48000 is for music. */
#define CH_CONFERENCE_DEFAULT_RATE 16000
/* True if rate is a max_sample_rate a conference may have. */
bool ch_conference_rate_valid(int rate);

/* End reasons (summary end_reason). */
#define CH_END_API        "conference_ended_via_api"
#define CH_END_TIMEOUT    "timeout"
#define CH_END_LAST_LEFT  "last_participant_left"
#define CH_END_EOE_LEFT   "participant_with_end_conference_on_exit_left"
#define CH_END_LAST_KICK  "last_participant_kicked"
#define CH_END_EOE_KICKED "participant_with_end_conference_on_exit_kicked"
/* the node that mixed it died (core_cluster.c) */
#define CH_END_MIXER_FAILED "mixer_failed"

/* Creates a conference in `starting` and asks for its room. */
int ch_conference_create(struct ch_core *core, const char *customer_id,
                         const struct ch_conference_params *p,
                         struct ch_conference *out);
/* Updates the mutable fields (not type). EBUSY once terminating. */
int ch_conference_update(struct ch_core *core, const char *customer_id,
                         const char *id, const struct ch_conference_params *p,
                         struct ch_conference *out);
/* Starts termination (end reason CH_END_API): kicks everyone, then
 * terminated. Deleting a terminating/terminated conference changes
 * nothing and returns it as it is. */
int ch_conference_delete(struct ch_core *core, const char *customer_id,
                         const char *id, struct ch_conference *out);
/* Reads one (customer_id NULL: any customer). */
int ch_conference_get(struct ch_core *core, const char *customer_id,
                      const char *id, struct ch_conference *out);
/* The full API JSON of a conference (with conferencecall_ids). NULL on
 * error. */
json_t *ch_conference_to_json(struct ch_core *core,
                              const struct ch_conference *c);

/* The media layer made the room: starting -> progressing. */
void ch_conference_room_ready(struct ch_core *core, const char *id);
/* Begins termination with the given end reason (ended_by may be NULL).
 * No-op unless starting/progressing. */
int ch_conference_terminate(struct ch_core *core, const char *id,
                            const char *end_reason, const char *ended_by);
/* Called when a participant of a terminating conference has left: ends
 * it when nobody is left. */
void ch_conference_check_empty(struct ch_core *core, const char *id);

/* core-internal: arm timers for a live conference (start/recovery). */
void ch_conference_arm(struct ch_core *core, const struct ch_conference *c);

#endif
