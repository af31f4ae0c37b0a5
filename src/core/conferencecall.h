/*
 * conferencecall.h: the participant resource and its state machine
 * (joining -> joined -> leaving -> leaved), with the rules that end a
 * conference when a participant leaves (connect type,
 * end_conference_on_exit, a terminating conference emptied).
 *
 * Control thread only; errors as in core.h. `out` records belong to the
 * caller.
 */
#ifndef CH_CONFERENCECALL_H
#define CH_CONFERENCECALL_H

#include <jansson.h>
#include <stdbool.h>

#include "store/records.h"

struct ch_core;

#define CH_LEAVE_HANGUP  "hangup"
#define CH_LEAVE_REMOVED "removed"
#define CH_LEAVE_ORPHAN  "orphan"

/* A call joins a conference: creates the participant in `joining`.
 * ENOENT: no such conference; EBUSY: it is not progressing; EXFULL:
 * max_participants reached. */
int ch_conferencecall_create(struct ch_core *core, const char *conference_id,
                             const char *reference_type,
                             const char *reference_id, const char *caller_id,
                             bool end_conference_on_exit,
                             struct ch_conferencecall *out);
/* The call is up (media flows): the conference's pre_actions run to the
 * participant alone, then (or at once without any) joining -> joined. */
int ch_conferencecall_joined(struct ch_core *core, const char *id);
/* joining -> joined now (the runner, after the pre_actions). */
int ch_conferencecall_join_now(struct ch_core *core, const char *id);
/* A prompt to one joined participant (type "play" with opt.urls, "talk"
 * with opt.text/.language, checked by the caller): EBUSY unless joined.
 * op gets its operation_id; conference.member.play.started/finished/
 * failed report it. */
int ch_conferencecall_prompt(struct ch_core *core, const char *customer_id,
                             const char *id, const char *type, json_t *opt,
                             char op[CH_UUID_LEN]);
/* Removes a participant with leave_reason reason (e.g. "orphan"). */
int ch_conferencecall_remove_reason(struct ch_core *core, const char *id,
                                    const char *reason);
/* Talk detection changed: conference.member.talking event. */
void ch_conferencecall_talking(struct ch_core *core, const char *id,
                               bool talking);
/* API kick: only from joining/joined (else EBUSY). */
int ch_conferencecall_kick(struct ch_core *core, const char *customer_id,
                           const char *id, struct ch_conferencecall *out);
/* Removes a participant (leave_reason "removed"): -> leaving, and asks
 * the media layer to hang up. No-op unless joining/joined. */
int ch_conferencecall_remove(struct ch_core *core, const char *id);
/* The participant's call is gone: -> leaved with reason (kept as
 * "removed" if it was being removed), then the conference rules. */
int ch_conferencecall_left(struct ch_core *core, const char *id,
                           const char *reason);
/* Mute or unmute; only from joining/joined (else EBUSY). */
int ch_conferencecall_mute(struct ch_core *core, const char *customer_id,
                           const char *id, bool muted,
                           struct ch_conferencecall *out);
int ch_conferencecall_get(struct ch_core *core, const char *customer_id,
                          const char *id, struct ch_conferencecall *out);

/* The API JSON of a participant, with live media "stats" when its call
 * has a media leg. NULL on ENOMEM. */
json_t *ch_conferencecall_to_json(struct ch_core *core,
                                  const struct ch_conferencecall *cc);

/* The same with stats given (stolen, may be NULL: the list view has
 * none); both carry "quality" (live while in the call, the stored one
 * after). */
json_t *ch_conferencecall_list_json(struct ch_core *core,
                                    const struct ch_conferencecall *cc,
                                    json_t *stats);
/* The media layer is about to drop the participant's leg: keep its last
 * figures for the quality stored when it leaves. */
void ch_conferencecall_quality_sample(struct ch_core *core, const char *id);

/* core-internal: frees pending deferred work. */
void ch_conferencecall_flush_deferred(struct ch_core *core);

#endif
