/*
 * store.h: the persistence interface of Chorus.
 *
 * Every state change a user can observe goes through here, together with
 * the events that announce it, inside one transaction (begin ... commit).
 * The default backend is SQLite (store_sqlite.c); the PostgreSQL one
 * (store_pg.c) implements the same struct ch_store_ops; ch_store_open
 * picks one from the `store` setting.
 *
 * Threading: a struct ch_store is owned by the control thread and used only
 * there. The `chorusd customer` commands open their own store in their own
 * process; SQLite's WAL locking (or PostgreSQL's transactions) makes that
 * safe. Several chorusd nodes may share one PostgreSQL store.
 *
 * Errors: functions return 0, ENOENT when a looked-up row does not exist,
 * or EIO (logged) when the database failed. A failure of the storage
 * itself (read-only, full, corrupt, I/O error) is also remembered for
 * health() until a write succeeds again.
 *
 * Ownership: a *_get or *_by_* lookup fills its `out` record and hands its
 * heap strings to the caller ONLY when it returns 0; on any error `out` is
 * left as it was (uninitialised for a stack record), so the caller must not
 * clear it then.
 */
#ifndef CH_STORE_H
#define CH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

struct ch_store;

/* List callbacks: return 0 to continue, non-zero to stop. The record is
 * valid only during the call. */
typedef int(ch_store_customer_h)(const struct ch_customer *c, void *arg);
typedef int(ch_store_conference_h)(const struct ch_conference *c, void *arg);
typedef int(ch_store_conferencecall_h)(const struct ch_conferencecall *cc,
                                       void *arg);
typedef int(ch_store_call_h)(const struct ch_call *c, void *arg);
typedef int(ch_store_event_h)(const struct ch_event_rec *e, void *arg);
typedef int(ch_store_recording_h)(const struct ch_recording *r, void *arg);
typedef int(ch_store_transcribe_h)(const struct ch_transcribe *t, void *arg);
typedef int(ch_store_transcript_h)(const struct ch_transcript *t, void *arg);
typedef int(ch_store_node_h)(const struct ch_node *n, void *arg);

/* One batch of outbox pruning (event_prune). An event is deleted when it
 * was created before cutoff_us and is delivered (its seq is at or below
 * its customer's webhook cursor, or the customer has no webhook_uri), or
 * was created before hard_cutoff_us whatever its delivery. */
struct ch_event_prune {
	int64_t cutoff_us;
	int64_t hard_cutoff_us;
	int64_t from_seq; /* look at events with seq >= from_seq */
	unsigned limit;   /* look at no more than this many */
	/* out */
	int64_t next_seq; /* from_seq for the next batch; 0: start over */
	unsigned deleted; /* events deleted */
};

struct ch_store_ops {
	void (*close)(struct ch_store *st);
	int (*begin)(struct ch_store *st);
	int (*commit)(struct ch_store *st);
	void (*rollback)(struct ch_store *st);

	int (*customer_insert)(struct ch_store *st,
	                       const struct ch_customer *c);
	/* The customer whose token has this hash (ch_token_hash). */
	int (*customer_by_token_hash)(struct ch_store *st, const char *hash,
	                              struct ch_customer *out);
	/* Replaces the customer's token hash (a new token); ENOENT if no
	 * such customer. */
	int (*customer_set_token_hash)(struct ch_store *st, const char *id,
	                               const char *hash);
	int (*customer_by_id)(struct ch_store *st, const char *id,
	                      struct ch_customer *out);
	int (*customer_list)(struct ch_store *st, ch_store_customer_h *h,
	                     void *arg);
	/* A number that changes whenever another process (`chorusd
	 * customer ...`) committed a change to the store since the last
	 * call; caches of rows that others may change (customers) are
	 * dropped when it moves. A backend that cannot tell gives a new
	 * number each time. */
	int (*data_version)(struct ch_store *st, int64_t *version);

	int (*conference_insert)(struct ch_store *st,
	                         const struct ch_conference *c);
	int (*conference_update)(struct ch_store *st,
	                         const struct ch_conference *c);
	/* customer_id NULL: any customer. */
	int (*conference_get)(struct ch_store *st, const char *id,
	                      const char *customer_id,
	                      struct ch_conference *out);
	/* Newest first, tm_create < before_us, at most limit rows. */
	int (*conference_list)(struct ch_store *st, const char *customer_id,
	                       int64_t before_us, unsigned limit,
	                       ch_store_conference_h *h, void *arg);
	/* Every conference whose status is not terminated. */
	int (*conference_list_live)(struct ch_store *st,
	                            ch_store_conference_h *h, void *arg);

	int (*conferencecall_insert)(struct ch_store *st,
	                             const struct ch_conferencecall *cc);
	int (*conferencecall_update)(struct ch_store *st,
	                             const struct ch_conferencecall *cc);
	int (*conferencecall_get)(struct ch_store *st, const char *id,
	                          const char *customer_id,
	                          struct ch_conferencecall *out);
	/* conference_id NULL: all of the customer's. Newest first. */
	int (*conferencecall_list)(struct ch_store *st, const char *customer_id,
	                           const char *conference_id, int64_t before_us,
	                           unsigned limit, ch_store_conferencecall_h *h,
	                           void *arg);
	/* Participants of a conference that have not left (not leaved),
	 * oldest first. */
	int (*conferencecall_list_present)(struct ch_store *st,
	                                   const char *conference_id,
	                                   ch_store_conferencecall_h *h,
	                                   void *arg);
	/* Every participant that has not left, of every conference, by
	 * conference then oldest first (one read for the health check,
	 * however many conferences are live). */
	int (*conferencecall_list_present_all)(struct ch_store *st,
	                                       ch_store_conferencecall_h *h,
	                                       void *arg);

	int (*call_insert)(struct ch_store *st, const struct ch_call *c);
	int (*call_update)(struct ch_store *st, const struct ch_call *c);
	int (*call_get)(struct ch_store *st, const char *id,
	                const char *customer_id, struct ch_call *out);
	/* Newest first. */
	int (*call_list)(struct ch_store *st, const char *customer_id,
	                 int64_t before_us, unsigned limit, ch_store_call_h *h,
	                 void *arg);
	/* Calls not hung up (crash recovery). */
	int (*call_list_live)(struct ch_store *st, ch_store_call_h *h,
	                      void *arg);

	/* Recordings. A recording is deleted once tm_delete is set (neither
	 * 0 nor CH_TIME_NEVER_US, both meaning "not deleted"); DELETE is an
	 * update that sets it. update: ENOENT if no such id. */
	int (*recording_insert)(struct ch_store *st,
	                        const struct ch_recording *r);
	int (*recording_update)(struct ch_store *st,
	                        const struct ch_recording *r);
	/* By id alone, deleted or not: the caller checks customer_id and
	 * tm_delete (another customer's recording must answer 404). */
	int (*recording_get)(struct ch_store *st, const char *id,
	                     struct ch_recording *out);
	/* The customer's recordings that are not deleted, newest first,
	 * tm_create < before_us, at most limit; reference_id NULL: of every
	 * conference. */
	int (*recording_list)(struct ch_store *st, const char *customer_id,
	                      const char *reference_id, int64_t before_us,
	                      unsigned limit, ch_store_recording_h *h,
	                      void *arg);
	/* Every recording whose status is "recording" (crash recovery),
	 * oldest first. */
	int (*recording_list_active)(struct ch_store *st,
	                             ch_store_recording_h *h, void *arg);

	/* Transcriptions (struct ch_transcribe): as recordings. get is by id
	 * alone: the caller checks customer_id. list: the customer's, newest
	 * first, tm_create < before_us, at most limit; reference_id NULL: of
	 * every conference. list_active: status "progressing", oldest first
	 * (crash recovery). update: ENOENT if no such id. */
	int (*transcribe_insert)(struct ch_store *st,
	                         const struct ch_transcribe *t);
	int (*transcribe_update)(struct ch_store *st,
	                         const struct ch_transcribe *t);
	int (*transcribe_get)(struct ch_store *st, const char *id,
	                      struct ch_transcribe *out);
	int (*transcribe_list)(struct ch_store *st, const char *customer_id,
	                       const char *reference_id, int64_t before_us,
	                       unsigned limit, ch_store_transcribe_h *h,
	                       void *arg);
	int (*transcribe_list_active)(struct ch_store *st,
	                              ch_store_transcribe_h *h, void *arg);
	/* Transcripts: insert one segment; list a transcribe's segments in
	 * time order (tm_start_ms, then id), those after the cursor
	 * (after_ms, after_id): (tm_start_ms > after_ms) or (tm_start_ms ==
	 * after_ms and id > after_id); after_ms -1 from the start. */
	int (*transcript_insert)(struct ch_store *st,
	                         const struct ch_transcript *t);
	int (*transcript_list)(struct ch_store *st, const char *transcribe_id,
	                       int64_t after_ms, const char *after_id,
	                       unsigned limit, ch_store_transcript_h *h,
	                       void *arg);

	/* Conference summaries (struct ch_summary): by conference id
	 * (customer_id NULL: any customer); put inserts or replaces the
	 * whole row. */
	int (*summary_get)(struct ch_store *st, const char *conference_id,
	                   const char *customer_id, struct ch_summary *out);
	int (*summary_put)(struct ch_store *st, const struct ch_summary *s);

	/* Appends to the outbox; fills e->seq. */
	int (*event_append)(struct ch_store *st, struct ch_event_rec *e);
	/* The customer's events with seq > after_seq, oldest first. */
	int (*event_list_after)(struct ch_store *st, const char *customer_id,
	                        int64_t after_seq, unsigned limit,
	                        ch_store_event_h *h, void *arg);
	int (*webhook_cursor_get)(struct ch_store *st, const char *customer_id,
	                          int64_t *last_seq);
	int (*webhook_cursor_set)(struct ch_store *st, const char *customer_id,
	                          int64_t last_seq);

	/* Whether the store can write: 0, or after a storage failure the
	 * errno (EROFS, ENOSPC, EBADMSG, EIO) with a one-line reason in why.
	 * A failed store is probed again (one committed row) at most once a
	 * second, so it recovers when the disk does. */
	int (*health)(struct ch_store *st, char *why, size_t len);
	/* Deletes old events (struct ch_event_prune) in seq order, stopping at
	 * the first one created at or after cutoff_us. Runs its own
	 * transaction, so never inside begin ... commit. Returns 0 or EIO. */
	int (*event_prune)(struct ch_store *st, struct ch_event_prune *p);

	/* The cluster (cluster/cluster.h): only a store several nodes share
	 * has these (PostgreSQL); they are NULL in the SQLite store.
	 * node_beat: registers or refreshes n (status alive again).
	 * node_list: every node, by name. node_reap: marks the node dead
	 * and reaped by `by` if it is alive and its heartbeat is older than
	 * cutoff_us; 0 when this call did it, ENOENT when it did not (alive,
	 * or another node was first). owner_*: the node that owns a
	 * conference (mixes it) or a call (holds its SIP dialog), by id
	 * (get: ENOENT if none). lease_take: holder takes or
	 * keeps the named lease until now_us + ttl_us; 0 when holder has it,
	 * EBUSY when another holder's lease runs. Each is one statement,
	 * usable inside or outside a transaction. */
	int (*node_beat)(struct ch_store *st, const struct ch_node *n);
	int (*node_list)(struct ch_store *st, ch_store_node_h *h, void *arg);
	int (*node_reap)(struct ch_store *st, const char *name, const char *by,
	                 int64_t cutoff_us);
	int (*owner_set)(struct ch_store *st, const char *id, const char *node);
	int (*owner_get)(struct ch_store *st, const char *id, char *node,
	                 size_t size);
	int (*lease_take)(struct ch_store *st, const char *lease,
	                  const char *holder, int64_t now_us, int64_t ttl_us);
};

/* Base of every backend; backends embed it first. */
struct ch_store {
	const struct ch_store_ops *ops;
};

/* ch_store_open_sqlite_flags: accept an existing chorus.db that is empty
 * (0 bytes, or no Chorus schema) and make a new store in it. */
#define CH_STORE_INIT 0x1u

/* Opens (creating and migrating) the SQLite store in data_dir/chorus.db,
 * and refuses a store it cannot trust. Returns 0 or (logged):
 * EACCES   the folder cannot be made or written
 * ENODATA  chorus.db exists but is empty (see CH_STORE_INIT)
 * EROFS    chorus.db cannot be written (read-only file or file system,
 *          also when the folder is on a read-only file system)
 * ENOSPC   no space left to write it
 * EBADMSG  it is corrupt (PRAGMA quick_check) or not a database
 * EIO      another failure (a newer schema, I/O error)
 * A missing chorus.db is created: a first start needs no flag. */
int ch_store_open_sqlite_flags(struct ch_store **stp, const char *data_dir,
                               unsigned flags);
/* The same with flags 0. */
int ch_store_open_sqlite(struct ch_store **stp, const char *data_dir);
/* A short reason for an error of ch_store_open_sqlite, for the one line
 * a command prints. */
const char *ch_store_open_strerror(int err);
/* Opens (creating and migrating) the PostgreSQL store of conninfo (a
 * libpq connection string or postgres:// URI). Returns 0 or (logged)
 * ECONNREFUSED (cannot connect), EIO (migration failed, a newer schema),
 * or the errno of a failed write probe. */
int ch_store_open_pg(struct ch_store **stp, const char *conninfo);

/* The store a setting names (store_open.c): "" or "sqlite" is the SQLite
 * store in data_dir (flags as ch_store_open_sqlite_flags), a
 * postgres:// or postgresql:// URI the PostgreSQL store. EINVAL for any
 * other value. */
int ch_store_open(struct ch_store **stp, const char *url, const char *data_dir,
                  unsigned flags);
/* Whether url names the PostgreSQL store. */
int ch_store_url_is_pg(const char *url);

/* Closes and frees; NULL-safe. */
void ch_store_close(struct ch_store *st);

#endif
