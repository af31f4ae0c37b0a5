/*
 * core.c: the core object, its table of live conferences, transactions,
 * and crash recovery at start.
 */
#include "core/core_internal.h"
#include "core/call.h"
#include "core/conference.h"
#include "core/conferencecall.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <re_mem.h>

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static uint32_t id_hash(const char *id)
{
	return hash_joaat_str(id);
}

/* Bounds (us) of the commit time histogram (ch_core_txn_histogram). */
static const uint64_t commit_bounds_us[] = {
    50,    100,   250,   500,    1000,   2500,   5000,
    10000, 25000, 50000, 100000, 250000, 1000000};

int ch_core_alloc(struct ch_core **corep, struct ch_store *st,
                  struct ch_events *ev, const char *node)
{
	struct ch_core *core = calloc(1, sizeof(*core));
	if (!core)
		return ENOMEM;
	core->st = st;
	core->ev = ev;
	core->probe_fd = -1;
	snprintf(core->node, sizeof(core->node), "%s", node ? node : "local");
	list_init(&core->deferred);
	list_init(&core->call_actions);
	list_init(&core->health_fails);
	tmr_init(&core->health_tmr);
	tmr_init(&core->deadline_tmr);
	ch_histogram_init(&core->commit_us, commit_bounds_us,
	                  sizeof(commit_bounds_us) / sizeof(*commit_bounds_us));
	if (hash_alloc(&core->live, 1024)) {
		free(core);
		return ENOMEM;
	}
	if (ch_member_quality_init(core)) {
		mem_deref(core->live);
		free(core);
		return ENOMEM;
	}
	*corep = core;
	return 0;
}

void ch_core_set_media(struct ch_core *core,
                       const struct ch_core_media_ops *ops, void *arg)
{
	core->media = ops;
	core->media_arg = arg;
}

static bool live_cmp(struct le *le, void *arg)
{
	struct ch_live_conf *lc = le->data;
	return !strcmp(lc->id, arg);
}

struct ch_live_conf *ch_core_live_find(struct ch_core *core, const char *id)
{
	struct le *le =
	    hash_lookup(core->live, id_hash(id), live_cmp, (void *)id);
	return le ? le->data : NULL;
}

struct ch_live_conf *ch_core_live_add(struct ch_core *core, const char *id)
{
	struct ch_live_conf *lc = calloc(1, sizeof(*lc));
	if (!lc)
		return NULL;
	lc->core = core;
	snprintf(lc->id, sizeof(lc->id), "%s", id);
	lc->heap_idx = SIZE_MAX;
	tmr_init(&lc->ready_tmr);
	tmr_init(&lc->rec_tmr);
	tmr_init(&lc->play_tmr);
	hash_append(core->live, id_hash(lc->id), &lc->he, lc);
	return lc;
}

static void live_free(struct ch_live_conf *lc)
{
	ch_core_deadline_set(lc->core, lc, 0);
	tmr_cancel(&lc->ready_tmr);
	ch_conference_live_media_free(lc);
	hash_unlink(&lc->he);
	free(lc);
}

void ch_core_live_remove(struct ch_core *core, const char *id)
{
	struct ch_live_conf *lc = ch_core_live_find(core, id);
	if (lc)
		live_free(lc);
}

static bool free_h(struct le *le, void *arg)
{
	(void)arg;
	live_free(le->data);
	return false;
}

void ch_core_free(struct ch_core *core)
{
	if (!core)
		return;
	ch_core_health_stop(core);
	ch_core_loop_probe_stop(core);
	hash_apply(core->live, free_h, NULL);
	mem_deref(core->live);
	ch_core_deadline_free(core);
	ch_conferencecall_flush_deferred(core);
	ch_call_flush_actions(core);
	ch_runner_flush(core);
	ch_member_quality_close(core);
	free(core->media_dir);
	free(core);
}

struct ch_store *ch_core_store(struct ch_core *core)
{
	return core->st;
}

struct ch_events *ch_core_events(struct ch_core *core)
{
	return core->ev;
}

void ch_core_set_media_dir(struct ch_core *core, const char *media_dir)
{
	free(core->media_dir);
	core->media_dir = media_dir && media_dir[0] ? strdup(media_dir) : NULL;
}

const char *ch_core_media_dir(const struct ch_core *core)
{
	return core->media_dir;
}

const char *ch_core_node(const struct ch_core *core)
{
	return core->node;
}

/* Transactions nest: only the outermost begin and commit reach the
 * store, so a caller can make several changes (each its own transaction
 * when alone) one commit. An inner abort marks the whole transaction
 * failed: the outer commit then rolls it back and returns EIO. */
int ch_core_txn_begin(struct ch_core *core)
{
	if (core->txn_depth++)
		return core->txn_failed ? EIO : 0;
	core->txn_failed = false;
	int err = core->st->ops->begin(core->st);
	if (err)
		core->txn_depth = 0;
	return err;
}

const struct ch_histogram *ch_core_txn_histogram(const struct ch_core *core)
{
	return &core->commit_us;
}

int ch_core_txn_commit(struct ch_core *core)
{
	if (core->txn_depth > 1) {
		core->txn_depth--;
		return core->txn_failed ? EIO : 0;
	}
	core->txn_depth = 0;
	if (core->txn_failed) {
		core->st->ops->rollback(core->st);
		ch_events_rollback(core->ev);
		return EIO;
	}
	uint64_t t0 = ch_time_mono_us();
	int err = core->st->ops->commit(core->st);
	ch_histogram_observe(&core->commit_us, ch_time_mono_us() - t0);
	if (err) {
		core->st->ops->rollback(core->st);
		ch_events_rollback(core->ev);
		return err;
	}
	ch_events_commit(core->ev);
	return 0;
}

void ch_core_txn_abort(struct ch_core *core)
{
	if (core->txn_depth > 1) {
		core->txn_depth--;
		core->txn_failed = true;
		return;
	}
	core->txn_depth = 0;
	core->st->ops->rollback(core->st);
	ch_events_rollback(core->ev);
}

/* Live conferences read at start, acted on after the read finished. */
struct recover_ctx {
	struct ch_conference *v;
	size_t n, cap;
};

static int recover_h(const struct ch_conference *c, void *arg)
{
	struct recover_ctx *r = arg;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		void *n = realloc(r->v, cap * sizeof(*r->v));
		if (!n)
			return 1;
		r->v = n;
		r->cap = cap;
	}
	if (ch_conference_copy(&r->v[r->n], c))
		return 1;
	r->n++;
	return 0;
}

int ch_core_ids_push(struct ch_core_ids *k, const char *id)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		void *n = realloc(k->ids, cap * sizeof(*k->ids));
		if (!n)
			return 1;
		k->ids = n;
		k->cap = cap;
	}
	memcpy(k->ids[k->n++], id, CH_UUID_LEN);
	return 0;
}

static int ids_h(const struct ch_conferencecall *cc, void *arg)
{
	return ch_core_ids_push(arg, cc->id);
}

int ch_core_present_ids(struct ch_core *core, const char *conference_id,
                        char (**ids)[CH_UUID_LEN], size_t *n)
{
	struct ch_core_ids k = {0};
	int err = core->st->ops->conferencecall_list_present(
	    core->st, conference_id, ids_h, &k);
	if (err) {
		free(k.ids);
		return err;
	}
	*ids = k.ids;
	*n = k.n;
	return 0;
}

void ch_core_orphan_all(struct ch_core *core, const char *conference_id)
{
	struct ch_core_ids k = {0};
	(void)core->st->ops->conferencecall_list_present(
	    core->st, conference_id, ids_h, &k);
	for (size_t i = 0; i < k.n; i++)
		(void)ch_conferencecall_left(core, k.ids[i], "orphan");
	free(k.ids);
}

int ch_core_start(struct ch_core *core)
{
	struct recover_ctx r = {0};
	int64_t now = ch_time_now_us();
	size_t terminated = 0, resumed = 0, calls;
	int err;

	/* every call of this node that was not hung up died with the
	 * process (its SIP dialog and media are gone); other nodes' calls
	 * on a shared store are theirs */
	calls = ch_core_end_calls_of(core, core->node, &err);
	if (!err)
		err = core->st->ops->conference_list_live(core->st, recover_h,
		                                          &r);

	for (size_t i = 0; !err && i < r.n; i++) {
		struct ch_conference c;
		if (!ch_core_owns(core, r.v[i].id))
			continue;
		ch_core_orphan_all(core, r.v[i].id);
		if (ch_conference_get(core, NULL, r.v[i].id, &c))
			continue;
		if (strcmp(c.playback_status, "stopped")) {
			/* its playback died with the process */
			snprintf(c.playback_status, sizeof(c.playback_status),
			         "stopped");
			c.tm_update = now;
			(void)ch_conference_save(core, &c, NULL, NULL);
		}
		if (c.status == CH_CONFERENCE_TERMINATED) {
			terminated++;
		} else if (c.status == CH_CONFERENCE_TERMINATING) {
			ch_conference_arm(core, &c);
			ch_conference_check_empty(core, c.id);
			terminated++;
		} else if (c.timeout > 0 &&
		           c.tm_create + c.timeout * 1000000 <= now) {
			ch_conference_arm(core, &c);
			(void)ch_conference_terminate(core, c.id, "timeout",
			                              NULL);
			terminated++;
		} else {
			ch_conference_arm(core, &c);
			resumed++;
		}
		ch_conference_clear(&c);
	}
	for (size_t i = 0; i < r.n; i++)
		ch_conference_clear(&r.v[i]);
	free(r.v);
	ch_core_health_start(core);
	if (!err)
		ch_log_info("core",
		            "recovered: %zu conferences live, %zu "
		            "terminated at start, %zu calls ended",
		            resumed, terminated, calls);
	return err;
}
