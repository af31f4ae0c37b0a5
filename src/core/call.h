/*
 * call.h: the call resource (one leg of media: a SIP or WebRTC call) and
 * its state machine (dialing -> ringing -> progressing -> terminating ->
 * hangup), and the actions a call runs once answered (conference_join,
 * hangup).
 *
 * Control thread only; errors as in core.h; `out` records belong to the
 * caller (ch_call_clear).
 */
#ifndef CH_CALL_H
#define CH_CALL_H

#include <jansson.h>
#include <stdbool.h>

#include "store/records.h"

struct ch_core;

/* hangup_reason values */
#define CH_HANGUP_NORMAL   "normal"
#define CH_HANGUP_BUSY     "busy"
#define CH_HANGUP_REJECTED "rejected"
#define CH_HANGUP_NOANSWER "noanswer"
#define CH_HANGUP_CANCEL   "cancel"
#define CH_HANGUP_FAILED   "failed"
#define CH_HANGUP_TIMEOUT  "timeout"

/* An incoming call arrived (SIP INVITE): creates it in `ringing`, in the
 * conference it asked for (so call.created names it).
 * source/destination are JSON object texts (borrowed). */
int ch_call_incoming(struct ch_core *core, const char *customer_id,
                     const char *conference_id, const char *source,
                     const char *destination, const char *transport,
                     const char *sip_call_id, struct ch_call *out);
/* POST /calls: one call per destination, each `dialing`, handed to the
 * media layer. actions (JSON array, borrowed) run when one answers.
 * Returns 0 and a JSON array of the calls (*calls, new reference). */
int ch_call_dial(struct ch_core *core, const char *customer_id, json_t *source,
                 json_t *destinations, json_t *actions, json_t **calls);
void ch_call_ringing(struct ch_core *core, const char *id);
/* Answered: -> progressing with the codec, then run its actions (for
 * an incoming call the layer joins it itself). */
void ch_call_answered(struct ch_core *core, const char *id, const char *codec);
/* Links the call to its participant. */
int ch_call_set_participant(struct ch_core *core, const char *id,
                            const char *conference_id,
                            const char *conferencecall_id);
/* The call is over: -> hangup with reason; its participant (if any)
 * leaves with leave_reason (NULL: "hangup"). */
void ch_call_ended(struct ch_core *core, const char *id, const char *reason,
                   const char *leave_reason);
/* DELETE /calls/{id}: asks the layer to hang up; EBUSY once ended. */
int ch_call_hangup(struct ch_core *core, const char *customer_id,
                   const char *id, struct ch_call *out);
int ch_call_get(struct ch_core *core, const char *customer_id, const char *id,
                struct ch_call *out);
json_t *ch_call_to_json(const struct ch_call *c);

#endif
