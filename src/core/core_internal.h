/*
 * core_internal.h: private to core/: the control-thread state shared by
 * core's files.
 */
#ifndef CH_CORE_INTERNAL_H
#define CH_CORE_INTERNAL_H

#include "core/core.h"
#include "util/histogram.h"

#include <re_types.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_tmr.h>

#include <jansson.h>

/* A conference that is not terminated: its timers. Owned by core->live. */
struct ch_live_conf {
	struct le he; /* in core->live, keyed by id */
	struct ch_core *core;
	char id[CH_UUID_LEN];
	int64_t deadline_us;  /* timeout, 0 = none (see deadline.c) */
	size_t heap_idx;      /* position in core->deadlines, or SIZE_MAX */
	struct tmr ready_tmr; /* room ready when no media layer */
	/* recording (conference_record.c) */
	struct tmr rec_tmr; /* the 24 h cap of the active recording */
	/* room playback (conference_play.c): the current play, if any */
	uint64_t play_op;          /* 0: none */
	char play_id[CH_UUID_LEN]; /* its API operation_id */
	json_t *play_urls;         /* its urls (owned) */
	bool play_audio;           /* fetched: audio is playing */
	struct tmr play_tmr;       /* playback_timeout watchdog */
};

struct ch_quality_tick; /* member_quality.c */

/* The core. Owned by the daemon; control thread only. */
struct ch_core {
	struct ch_store *st;
	struct ch_events *ev;
	struct hash *live;
	const struct ch_core_media_ops *media;
	void *media_arg;
	char node[64];
	struct list deferred; /* struct deferred_left, see conferencecall.c */
	struct list call_actions; /* struct call_actions, see call.c */
	struct tmr health_tmr;
	/* conference timeouts: a binary min-heap on deadline_us and ONE
	 * timer for the earliest, so thousands of timed conferences do not
	 * make every other timer of the loop slower (libre keeps timers in
	 * one sorted list). See deadline.c. */
	struct ch_live_conf **deadlines;
	size_t n_deadlines, cap_deadlines;
	struct tmr deadline_tmr;
	struct list health_fails; /* struct health_fail, see health.c */
	char *media_dir;          /* file:// root, NULL: none */
	uint64_t next_op;         /* playback and prompt operations */
	struct list runners;      /* struct ch_runner, see action_runner.c */
	struct hash *quality;     /* participants' quality, member_quality.c */
	struct ch_quality_tick *quality_tick; /* its tick in progress */
	/* transcription (conference_transcribe.c) */
	struct ch_transcriber *stt;    /* borrowed; NULL: refused */
	char stt_default[16];          /* engine of a request naming none */
	struct ch_histogram commit_us; /* store commit time, core.c */
	unsigned txn_depth;            /* nested ch_core_txn_begin, core.c */
	bool txn_failed;               /* an inner abort: roll back */
	/* the loop's stalls (loop_probe.c): timerfd, -1 when not started;
	 * the first expiry not handled yet (CLOCK_MONOTONIC us) */
	int probe_fd;
	uint64_t probe_due;
	struct ch_histogram stall_us; /* per probe period, us */
	uint64_t stall_max_us;        /* longest since start */
};

/* loop_probe.c: the probe's period. */
#define CH_LOOP_PROBE_PERIOD_US 20000

struct ch_live_conf *ch_core_live_find(struct ch_core *core, const char *id);
struct ch_live_conf *ch_core_live_add(struct ch_core *core, const char *id);
void ch_core_live_remove(struct ch_core *core, const char *id);

/* The ids of a conference's participants that have not left, oldest
 * first, collected before acting on them (acting changes the list). The
 * caller frees *ids. Returns 0 or the store's error. */
/* A growing array of ids read from a store listing, acted on after it
 * (the listing must not see its own changes). ids is malloc'd; the
 * holder frees it. push returns 0, or 1 (stop the listing) when out of
 * memory. */
struct ch_core_ids {
	char (*ids)[CH_UUID_LEN];
	size_t n, cap;
};
int ch_core_ids_push(struct ch_core_ids *k, const char *id);
/* The participants still present in conference_id leave as orphan:
 * their calls died (a restart, a dead node). */
void ch_core_orphan_all(struct ch_core *core, const char *conference_id);
/* core_cluster.c: every live call owned by node ends failed (its
 * call.updated event), its participant leaving as orphan. Returns how
 * many, or 0 with *err set on a store failure. */
size_t ch_core_end_calls_of(struct ch_core *core, const char *node, int *err);
int ch_core_present_ids(struct ch_core *core, const char *conference_id,
                        char (**ids)[CH_UUID_LEN], size_t *n);

/* deadline.c: set (0 = none) or drop a live conference's timeout. */
void ch_core_deadline_set(struct ch_core *core, struct ch_live_conf *lc,
                          int64_t deadline_us);
void ch_core_deadline_free(struct ch_core *core);

/* conference.c: adds a conference.* event carrying the whole conference
 * (inside the caller's transaction); saves c with up to two such events
 * in one transaction. */
int ch_conference_add_event(struct ch_core *core, const struct ch_conference *c,
                            const char *type);
int ch_conference_save(struct ch_core *core, struct ch_conference *c,
                       const char *type, const char *type2);

/* conference_record.c: the JSON array text ids with id appended (owned),
 * NULL on ENOMEM (recording_ids, transcribe_ids). */
char *ch_conference_ids_append(const char *ids, const char *id);

/* conference.c: what a conference's recording and its transcription
 * share. slot_active: an id slot (recording_id, transcribe_id) names one
 * (set, not nil). media_track: a participant joined: named to the active
 * recording and transcription (one read of the conference). child_end:
 * the end of recording or transcription child_id, in one transaction:
 * write(core, arg) stores its row and event; when the conference still
 * names it in the slot at offset slot (after a crash it may), the slot is
 * cleared and the conference saved with conference.updated. Returns 0 or
 * the store's error. */
bool ch_conference_slot_active(const char *id);
void ch_conference_media_track(struct ch_core *core,
                               const struct ch_conferencecall *cc);
int ch_conference_child_end(struct ch_core *core, const char *conference_id,
                            size_t slot, const char *child_id, int64_t now_us,
                            int (*write)(struct ch_core *core, void *arg),
                            void *arg);

/* conference_record.c / conference_play.c: a conference ends (its
 * recording and playback stop); a live conference's state is freed. */
void ch_conference_record_end(struct ch_core *core, const char *id);
void ch_conference_play_end(struct ch_core *core, const char *id);
void ch_conference_live_media_free(struct ch_live_conf *lc);

/* action_runner.c: pre actions of a participant whose call is up (false:
 * it has none, join now); post actions of one being removed (false:
 * none, hang up now); a participant left (its runner, if any, ends). */
bool ch_runner_pre(struct ch_core *core, const struct ch_conferencecall *cc);
bool ch_runner_post(struct ch_core *core, const struct ch_conferencecall *cc);
void ch_runner_left(struct ch_core *core, const char *conferencecall_id);
void ch_runner_flush(struct ch_core *core);

/* member_quality.c: each present participant's quality state. init and
 * close with the core; joined and talking from the state machine; json:
 * the quality of cc now (live, else the last known, else stored; NULL:
 * none); final (inside the leave's transaction): the last quality into
 * cc->quality and its tags into the summary; forget once it has left;
 * tick (on the health tick): conference.member.quality events. */
int ch_member_quality_init(struct ch_core *core);
void ch_member_quality_close(struct ch_core *core);
void ch_member_quality_joined(struct ch_core *core,
                              const struct ch_conferencecall *cc);
void ch_member_quality_talking(struct ch_core *core,
                               const struct ch_conferencecall *cc,
                               bool talking);
json_t *ch_member_quality_json(struct ch_core *core,
                               const struct ch_conferencecall *cc);
int ch_member_quality_final(struct ch_core *core, struct ch_conferencecall *cc);
void ch_member_quality_forget(struct ch_core *core, const char *id);
void ch_member_quality_tick(struct ch_core *core);

/* health.c */
void ch_core_health_start(struct ch_core *core);
void ch_core_health_stop(struct ch_core *core);
/* core-internal: frees pending call actions (call.c). */
void ch_call_flush_actions(struct ch_core *core);

#endif
