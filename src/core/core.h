/*
 * core.h: the control-plane core: conference and conferencecall state
 * machines, their timers, and the transaction discipline that writes every
 * change and its events to the store together.
 *
 * Threading: struct ch_core and everything reachable from it is owned by
 * the control thread (the libre main loop). No locks; other threads reach
 * it only through queues drained on that thread.
 *
 * Errors returned by core functions (errno values, mapped to HTTP by api/):
 * ENOENT  no such resource for that customer            -> 404
 * EINVAL  a parameter is invalid                         -> 400
 * EBUSY   the resource is in the wrong state             -> 409
 * EXFULL  the conference is full (max_participants)      -> 409 / SIP 486
 * EIO     the store failed                               -> 500
 */
#ifndef CH_CORE_H
#define CH_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

struct ch_store;
struct ch_events;
struct ch_core;

/* What a prompt or a room playback plays (borrowed strings). */
enum ch_core_prompt_kind {
	CH_PROMPT_URLS = 0, /* urls[0..nurls) in turn */
	CH_PROMPT_TALK,     /* text-to-speech of text in language */
	CH_PROMPT_BEEP,
};
struct ch_core_prompt {
	enum ch_core_prompt_kind kind;
	const char *const *urls;
	size_t nurls;
	const char *text;
	const char *language;
};

/* How a room playback went (ch_core_play_report). */
enum ch_core_play_state {
	CH_PLAY_AUDIO = 0, /* fetched and decoded: audio is playing */
	CH_PLAY_FINISHED,  /* played to its end */
	CH_PLAY_FAILED,    /* fetch or decoding failed */
};

/* What the media/SIP layer does for the core. Every function is called on
 * the control thread and must not block. The layer reports back through
 * ch_conference_room_ready() and ch_conferencecall_left(). When no layer
 * is attached (ops NULL), rooms are ready at once and a participant asked
 * to hang up leaves at once. */
struct ch_core_webrtc_answer;
struct ch_core_media_ops {
	/* Create the mixing room; call ch_conference_room_ready when it
	 * exists. Returns 0 or errno. */
	int (*room_create)(void *arg, const struct ch_conference *conf);
	void (*room_destroy)(void *arg, const char *conference_id);
	/* Hang the participant's call up; later ch_conferencecall_left(). */
	void (*participant_hangup)(void *arg,
	                           const struct ch_conferencecall *cc);
	void (*participant_mute)(void *arg, const struct ch_conferencecall *cc,
	                         bool muted);
	/* Hang up a call (API DELETE /calls/{id}); later ch_call_ended(). */
	void (*call_hangup)(void *arg, const struct ch_call *call);
	/* Place an outgoing call (status dialing); the layer reports back
	 * with ch_call_ringing/answered/ended. Returns 0 or errno. */
	int (*call_dial)(void *arg, const struct ch_call *call);
	/* Live media statistics of a participant's leg as a JSON object
	 * (new reference), or NULL when it has none. */
	json_t *(*participant_stats)(void *arg,
	                             const struct ch_conferencecall *cc);
	/* Whether the participant's call is still up (media arriving);
	 * the health check removes one that is not (reason orphan). */
	bool (*participant_alive)(void *arg,
	                          const struct ch_conferencecall *cc);

	/* The participant is in the room now (joined): it hears and is
	 * heard. Until then (joining) and again while its post actions run
	 * (participant_isolate true) it hears only its own prompts. */
	void (*participant_isolate)(void *arg,
	                            const struct ch_conferencecall *cc,
	                            bool isolated);
	/* Plays a prompt to one participant alone (struct ch_core_prompt);
	 * reports with ch_core_prompt_done(op). A new prompt replaces one
	 * playing (that one is reported done, ok false). 0 or errno. */
	int (*participant_prompt)(void *arg, const struct ch_conferencecall *cc,
	                          uint64_t op, const struct ch_core_prompt *p);

	/* Starts recording the conference's room into recording rec (its id
	 * and format); later ch_core_recording_done(). 0 or errno. */
	int (*recording_start)(void *arg, const struct ch_conference *conf,
	                       const struct ch_recording *rec);
	/* Names a participant for the active recording's channel map. */
	void (*recording_track)(void *arg, const struct ch_conferencecall *cc);
	void (*recording_stop)(void *arg, const char *conference_id);

	/* Starts transcribing the conference's room as transcribe tr (its
	 * id, engine and language); later ch_core_transcript() for each
	 * segment and ch_core_transcribe_done(). 0 or errno. */
	int (*transcribe_start)(void *arg, const struct ch_conference *conf,
	                        const struct ch_transcribe *tr);
	/* Names a participant for the active transcription's segments. */
	void (*transcribe_track)(void *arg, const struct ch_conferencecall *cc);
	void (*transcribe_stop)(void *arg, const char *conference_id);

	/* Room playback of op: fetch and decode p (kind URLS), report with
	 * ch_core_play_report (started, finished, failed). gain_db applies
	 * from the start; a play starts unpaused. A new play replaces one
	 * playing, silently (no report for the old one). 0 or errno. */
	int (*play_start)(void *arg, const char *conference_id, uint64_t op,
	                  const struct ch_core_prompt *p, int gain_db);
	void (*play_pause)(void *arg, const char *conference_id, bool paused);
	void (*play_gain)(void *arg, const char *conference_id, int gain_db);
	/* Stops the room's playback; no report follows. */
	void (*play_stop)(void *arg, const char *conference_id);

	/* A WebRTC participant (core_webrtc.h): answers the offer (sdp, len:
	 * untrusted text) for conference conf (progressing): creates the call
	 * (transport webrtc, direction incoming, source {"type":"webrtc",
	 * "target":caller}) and its conferencecall like a SIP dial-in, in
	 * one commit, and fills out (out->sdp malloc'd, the caller frees).
	 * 0 or errno (EPROTO: offer refused, *why static text; EXFULL: room
	 * full; ENOMEM, EIO). NULL: browsers cannot join (501). */
	int (*webrtc_offer)(void *arg, const struct ch_conference *conf,
	                    const char *sdp, size_t len, const char *caller,
	                    struct ch_core_webrtc_answer *out,
	                    const char **why);
};

/* Creates the core over an open store and event hub (both borrowed, they
 * must outlive the core). node names this chorusd (mixer_region). */
int ch_core_alloc(struct ch_core **corep, struct ch_store *st,
                  struct ch_events *ev, const char *node);
/* Attaches the media layer (borrowed). */
void ch_core_set_media(struct ch_core *core,
                       const struct ch_core_media_ops *ops, void *arg);
/* Crash recovery and timers, once at start: ends every call that was
 * not hung up (hangup_reason failed, its participant leaves as orphan),
 * finishes terminating conferences, terminates those whose timeout passed
 * while down, re-arms the other timers, and asks for rooms of live
 * conferences. */
int ch_core_start(struct ch_core *core);
/* Frees; NULL-safe. Stored state is untouched. */
void ch_core_free(struct ch_core *core);

/* Several nodes on one store (core_cluster.c). owner_mark records this
 * node as the owner of a conference or call id (inside the transaction
 * that makes it; 0 or EIO; nothing on a store without owners). owns /
 * owned_by: whether this node (node) owns id; an id without owner is
 * this node's. reap_node: ends every live call (failed, participant
 * orphan) and conference (terminated, end_reason mixer_failed, its
 * participants leaving as orphans) owned by the dead node, with their
 * events, and takes them over as their owner (an action on them is then
 * answered here, by their terminal state); counts them. Returns 0 or
 * EIO. */
int ch_core_owner_mark(struct ch_core *core, const char *id);
bool ch_core_owns(struct ch_core *core, const char *id);
bool ch_core_owned_by(struct ch_core *core, const char *id, const char *node);
int ch_core_reap_node(struct ch_core *core, const char *dead,
                      unsigned *conferences, unsigned *calls);
/* The live conferences this node runs (its load, for the cluster). */
unsigned ch_core_load(struct ch_core *core);

struct ch_store *ch_core_store(struct ch_core *core);
struct ch_events *ch_core_events(struct ch_core *core);
const char *ch_core_node(const struct ch_core *core);

/* Server settings the core checks requests against. media_dir: the only
 * folder file:// URLs may name (copied; NULL: file:// refused). */
void ch_core_set_media_dir(struct ch_core *core, const char *media_dir);
const char *ch_core_media_dir(const struct ch_core *core);

/* Reports from the media layer, on the control thread. */
void ch_core_play_report(struct ch_core *core, const char *conference_id,
                         uint64_t op, enum ch_core_play_state state,
                         const char *why);
void ch_core_prompt_done(struct ch_core *core, const char *conferencecall_id,
                         uint64_t op, bool ok);

/* Transactions: begin; make changes and add events; commit (which fans
 * the events out) or abort. Returns 0 or EIO. They nest: inside an open
 * transaction, begin and commit only count, and the outermost commit
 * stores (and announces) everything at once; an inner abort makes the
 * outer commit roll everything back and return EIO. So a caller can make
 * several changes one commit (a SIP dial-in: call, participant and their
 * events). */
int ch_core_txn_begin(struct ch_core *core);
int ch_core_txn_commit(struct ch_core *core);
void ch_core_txn_abort(struct ch_core *core);
/* Time of each ch_core_txn_commit's store commit, in us (for /metrics;
 * util/histogram.h). */
struct ch_histogram;
const struct ch_histogram *ch_core_txn_histogram(const struct ch_core *core);

/* loop_probe.c: the control loop's stalls. start arms a 5 ms timerfd on
 * the calling thread's libre loop (the control thread; once, after
 * ch_core_alloc) and returns 0 or an errno; stop removes it (ch_core_free
 * calls it; a no-op when not started). The histogram (us, one sample
 * per 5 ms: how long the loop was busy while the probe was due) and, in
 * *max_us (may be NULL), the longest stall since start. */
int ch_core_loop_probe_start(struct ch_core *core);
void ch_core_loop_probe_stop(struct ch_core *core);
const struct ch_histogram *ch_core_stall_histogram(const struct ch_core *core,
                                                   uint64_t *max_us);

#endif
