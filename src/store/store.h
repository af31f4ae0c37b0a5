/*
 * store.h: the persistence interface of Chorus.
 *
 * Every state change a user can observe goes through here, together with
 * the events that announce it, inside one transaction (begin ... commit).
 * The default backend is SQLite (store_sqlite.c); another backend (e.g.
 * PostgreSQL) implements struct ch_store_ops and plugs in at ch_store_open.
 *
 * Threading: a struct ch_store is owned by the control thread and used only
 * there. The `chorusd customer` commands open their own store in their own
 * process; SQLite's WAL locking makes that safe.
 *
 * Errors: functions return 0, ENOENT when a looked-up row does not exist,
 * or EIO (logged) when the database failed.
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
	int (*customer_by_token)(struct ch_store *st, const char *token,
	                         struct ch_customer *out);
	int (*customer_by_id)(struct ch_store *st, const char *id,
	                      struct ch_customer *out);
	int (*customer_list)(struct ch_store *st, ch_store_customer_h *h,
	                     void *arg);

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
	/* Deletes old events (struct ch_event_prune) in seq order, stopping at
	 * the first one created at or after cutoff_us. Runs its own
	 * transaction, so never inside begin ... commit. Returns 0 or EIO. */
	int (*event_prune)(struct ch_store *st, struct ch_event_prune *p);
};

/* Base of every backend; backends embed it first. */
struct ch_store {
	const struct ch_store_ops *ops;
};

/* Opens (creating and migrating) the SQLite store in data_dir/chorus.db.
 * Returns 0, EACCES if the folder cannot be written, or EIO. */
int ch_store_open_sqlite(struct ch_store **stp, const char *data_dir);
/* Closes and frees; NULL-safe. */
void ch_store_close(struct ch_store *st);

#endif
