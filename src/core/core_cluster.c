/*
 * core_cluster.c: what the core does differently when several chorusd
 * nodes share one store (cluster/cluster.c runs the cluster): it records
 * which node owns each conference (mixes it) and each call (holds its SIP
 * dialog or WebRTC leg), recovers only its own at start, and ends the
 * conferences and calls of a node that died.
 *
 * On a store without owners (SQLite: one node) every conference and call
 * is this node's, as before.
 *
 * Threading: control thread, as the rest of the core.
 */
#include "core/call.h"
#include "core/conference.h"
#include "core/conferencecall.h"
#include "core/core.h"
#include "core/core_internal.h"
#include "store/store.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ch_core_owner_mark(struct ch_core *core, const char *id)
{
	if (!core->st->ops->owner_set)
		return 0;
	return core->st->ops->owner_set(core->st, id, core->node);
}

bool ch_core_owned_by(struct ch_core *core, const char *id, const char *node)
{
	char owner[64];
	if (!core->st->ops->owner_get)
		return !strcmp(node, core->node);
	int err = core->st->ops->owner_get(core->st, id, owner, sizeof(owner));
	if (err == ENOENT) /* made before the store knew owners: ours */
		return !strcmp(node, core->node);
	return !err && !strcmp(owner, node);
}

bool ch_core_owns(struct ch_core *core, const char *id)
{
	return ch_core_owned_by(core, id, core->node);
}

/* The ids of a listing that node owns. */
struct owned {
	struct ch_core *core;
	const char *node;
	struct ch_core_ids k;
};

static int owned_push(struct owned *o, const char *id)
{
	return ch_core_owned_by(o->core, id, o->node)
	           ? ch_core_ids_push(&o->k, id)
	           : 0;
}

static int call_h(const struct ch_call *c, void *arg)
{
	return owned_push(arg, c->id);
}

static int conf_h(const struct ch_conference *c, void *arg)
{
	return owned_push(arg, c->id);
}

size_t ch_core_end_calls_of(struct ch_core *core, const char *node, int *err)
{
	struct owned o = {.core = core, .node = node};
	*err = core->st->ops->call_list_live(core->st, call_h, &o);
	for (size_t i = 0; !*err && i < o.k.n; i++) {
		ch_call_ended(core, o.k.ids[i], CH_HANGUP_FAILED,
		              CH_LEAVE_ORPHAN);
		/* another node's: this one answers for it from now on */
		if (strcmp(node, core->node))
			(void)ch_core_owner_mark(core, o.k.ids[i]);
	}
	free(o.k.ids);
	return *err ? 0 : o.k.n;
}

int ch_core_reap_node(struct ch_core *core, const char *dead,
                      unsigned *conferences, unsigned *calls)
{
	struct owned fv = {.core = core, .node = dead};
	int err;

	*conferences = 0;
	/* its calls died with it: failed, their participants orphans */
	*calls = (unsigned)ch_core_end_calls_of(core, dead, &err);
	if (!err)
		err =
		    core->st->ops->conference_list_live(core->st, conf_h, &fv);
	for (size_t i = 0; !err && i < fv.k.n; i++) {
		ch_core_orphan_all(core, fv.k.ids[i]);
		/* its room is gone: ended, not moved (docs/cluster.md) */
		if (!ch_conference_terminate(core, fv.k.ids[i],
		                             CH_END_MIXER_FAILED, NULL))
			(*conferences)++;
		/* the rows are this node's to answer for now: an action on
		 * them gets their state (409), a dial-in goes here (480) */
		(void)ch_core_owner_mark(core, fv.k.ids[i]);
	}
	free(fv.k.ids);
	if (!err)
		ch_log_info("core",
		            "node %s is dead: ended its %u conferences and "
		            "%u calls",
		            dead, *conferences, *calls);
	return err;
}

static bool count_h(struct le *le, void *arg)
{
	(void)le;
	(*(unsigned *)arg)++;
	return false;
}

unsigned ch_core_load(struct ch_core *core)
{
	unsigned n = 0;
	(void)hash_apply(core->live, count_h, &n);
	return n;
}
