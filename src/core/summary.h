/*
 * summary.h: a conference's summary (API.md "summary: insights", seed
 * 003), kept in the store and brought up to date by small hooks that the
 * state machines call inside the transaction of each change, so it is
 * never recomputed from events and survives restarts.
 *
 * Threading: control thread only (it uses the core's store).
 */
#ifndef CH_CORE_SUMMARY_H
#define CH_CORE_SUMMARY_H

#include <jansson.h>

#include "store/records.h"

struct ch_core;

#define CH_SUMMARY_NOT_STARTED "not_started"
#define CH_SUMMARY_IN_PROGRESS "in_progress"
#define CH_SUMMARY_COMPLETED   "completed"
#define CH_SUMMARY_COMPLETE    "complete" /* processing_state when done */

/* Hooks; each runs inside the caller's open transaction and returns 0 or
 * the store's error (the caller then aborts). A conference without a
 * summary row yet (made before the summary existed) gets one here.
 *
 * ch_summary_conference: the conference was created or saved: name,
 * max_participants, end_reason, ended_by, recording_enabled (its
 * recording_id is set), and end_time/completed once terminated.
 * ch_summary_member: a participant was saved: joined adds it to the
 * participants joined now (max concurrent, distinct caller ids,
 * start_time when two are joined); any later status takes it out. */
int ch_summary_conference(struct ch_core *core, const struct ch_conference *c);
int ch_summary_member(struct ch_core *core, const struct ch_conferencecall *cc);

/* Adds tag (once) to the conference's tags, with info (stolen, may be
 * NULL for {}) as tag_info[tag]; inside the caller's transaction. For the
 * quality checks (high_packet_loss...). */
int ch_summary_tag(struct ch_core *core, const char *conference_id,
                   const char *tag, json_t *info);

/* The summary of the customer's conference (customer_id NULL: any).
 * Returns 0 (out is the caller's, ch_summary_clear), ENOENT, EIO. */
int ch_summary_get(struct ch_core *core, const char *customer_id,
                   const char *conference_id, struct ch_summary *out);

#endif
