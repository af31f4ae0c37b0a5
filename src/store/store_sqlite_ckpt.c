/*
 * store_sqlite_ckpt.c: WAL checkpoints of the SQLite store, off the
 * control thread.
 *
 * Design: SQLite's automatic checkpoint runs inside the COMMIT that takes
 * the WAL past 1,000 pages: that commit copies the pages into the
 * database file and fdatasyncs it, a stall of the control thread in the
 * middle of a burst of joins. Instead, the control connection's WAL hook
 * (which replaces the automatic checkpoint) only notes the WAL's size
 * after each commit and, past CKPT_PAGES, wakes a checkpointer thread.
 * That thread has its own connection and runs PASSIVE checkpoints, which
 * never wait for and never block the writer: a checkpoint copies what no
 * reader still needs, and the next write transaction restarts the WAL
 * from its start once everything has been copied. Durability is
 * unchanged: a commit is in the WAL (synchronous=NORMAL: written, not
 * synced) when COMMIT returns, so it survives the process being killed;
 * only a power loss can lose the last commits, as before.
 *
 * Threading: the thread is named store-ckpt. ch_sqlite_ckpt_start and _stop on
 * the thread that owns the store (the control thread); the WAL hook runs there
 * too, at each commit. The thread touches only its own connection. Shared:
 * pending (atomic), stop under mu.
 */
#include "store/store_sqlite.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* WAL size (pages) that wakes the checkpointer: SQLite's own default. */
#define CKPT_PAGES 1000

struct ch_sqlite_ckpt {
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;                          /* under mu */
	atomic_bool pending;                /* a checkpoint is asked for */
	sqlite3 *db;                        /* the thread's own connection */
	atomic_uint_least64_t runs, us_max; /* checkpoints done, longest */
};

/* The control connection's WAL hook: after each commit, npages in the
 * WAL. Wakes the thread once per checkpoint. */
static int wal_h(void *arg, sqlite3 *db, const char *name, int npages)
{
	struct ch_sqlite_ckpt *ck = arg;
	(void)db;
	(void)name;
	if (npages < CKPT_PAGES || atomic_exchange(&ck->pending, true))
		return SQLITE_OK;
	pthread_mutex_lock(&ck->mu);
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	struct ch_sqlite_ckpt *ck = arg;
	for (;;) {
		pthread_mutex_lock(&ck->mu);
		while (!ck->stop && !atomic_load(&ck->pending))
			pthread_cond_wait(&ck->cv, &ck->mu);
		bool stop = ck->stop;
		pthread_mutex_unlock(&ck->mu);
		if (stop)
			break;
		int nlog = 0, ndone = 0;
		uint64_t t0 = ch_time_mono_us();
		int rc = sqlite3_wal_checkpoint_v2(
		    ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ndone);
		uint64_t us = ch_time_mono_us() - t0;
		atomic_fetch_add(&ck->runs, 1);
		if (us > atomic_load(&ck->us_max))
			atomic_store(&ck->us_max, us);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			ch_log_warn("store", "WAL checkpoint failed: %s",
			            sqlite3_errmsg(ck->db));
		else
			ch_log_debug("store",
			             "WAL checkpoint: %d of %d pages, %llu us",
			             ndone, nlog, (unsigned long long)us);
		atomic_store(&ck->pending, false);
	}
	return NULL;
}

int ch_sqlite_ckpt_start(struct ch_sqlite_ckpt **ckp, const char *path,
                         sqlite3 *owner)
{
	struct ch_sqlite_ckpt *ck = calloc(1, sizeof(*ck));
	int err;
	if (!ck)
		return ENOMEM;
	atomic_init(&ck->pending, false);
	atomic_init(&ck->runs, 0);
	atomic_init(&ck->us_max, 0);
	if (sqlite3_open_v2(path, &ck->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_exec(ck->db, "PRAGMA synchronous=NORMAL", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		ch_log_error("store", "checkpointer: cannot open %s: %s", path,
		             ck->db ? sqlite3_errmsg(ck->db) : "no memory");
		sqlite3_close(ck->db);
		free(ck);
		return EIO;
	}
	/* it writes nothing itself; its own closing must not checkpoint
	 * on the way (the owner's close does) */
	(void)sqlite3_db_config(ck->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
	                        NULL);
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
	err = pthread_create(&ck->thr, NULL, ckpt_main, ck);
	if (err) {
		pthread_cond_destroy(&ck->cv);
		pthread_mutex_destroy(&ck->mu);
		sqlite3_close(ck->db);
		free(ck);
		return err;
	}
	pthread_setname_np(ck->thr, "store-ckpt");
	/* replaces the automatic checkpoint of the owner's commits */
	sqlite3_wal_hook(owner, wal_h, ck);
	*ckp = ck;
	return 0;
}

void ch_sqlite_ckpt_stop(struct ch_sqlite_ckpt *ck, sqlite3 *owner)
{
	if (!ck)
		return;
	if (owner)
		sqlite3_wal_hook(owner, NULL, NULL);
	pthread_mutex_lock(&ck->mu);
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->thr, NULL);
	pthread_cond_destroy(&ck->cv);
	pthread_mutex_destroy(&ck->mu);
	sqlite3_close(ck->db);
	free(ck);
}

void ch_sqlite_ckpt_stats(const struct ch_sqlite_ckpt *ck, uint64_t *runs,
                          uint64_t *us_max)
{
	*runs = ck ? atomic_load(&ck->runs) : 0;
	*us_max = ck ? atomic_load(&ck->us_max) : 0;
}
