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

/* Ids read first, acted on after the read (the store's listing must not
 * see its own changes). */
struct idv {
	char (*v)[CH_UUID_LEN];
	size_t n, cap;
	struct ch_core *core;
	const char *node;
};

static int idv_push(struct idv *x, const char *id)
{
	if (!ch_core_owned_by(x->core, id, x->node))
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		void *n = realloc(x->v, cap * sizeof(*x->v));
		if (!n)
			return 1;
		x->v = n;
		x->cap = cap;
	}
	memcpy(x->v[x->n++], id, CH_UUID_LEN);
	return 0;
}

static int call_h(const struct ch_call *c, void *arg)
{
	return idv_push(arg, c->id);
}

static int conf_h(const struct ch_conference *c, void *arg)
{
	return idv_push(arg, c->id);
}

static int present_h(const struct ch_conferencecall *cc, void *arg)
{
	struct idv *x = arg;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		void *n = realloc(x->v, cap * sizeof(*x->v));
		if (!n)
			return 1;
		x->v = n;
		x->cap = cap;
	}
	memcpy(x->v[x->n++], cc->id, CH_UUID_LEN);
	return 0;
}

int ch_core_reap_node(struct ch_core *core, const char *dead,
                      unsigned *conferences, unsigned *calls)
{
	struct idv cv = {.core = core, .node = dead};
	struct idv fv = {.core = core, .node = dead};
	int err;

	*conferences = *calls = 0;
	/* its calls died with it: failed, their participants orphans */
	err = core->st->ops->call_list_live(core->st, call_h, &cv);
	for (size_t i = 0; !err && i < cv.n; i++) {
		ch_call_ended(core, cv.v[i], CH_HANGUP_FAILED, CH_LEAVE_ORPHAN);
		(*calls)++;
	}
	if (!err)
		err =
		    core->st->ops->conference_list_live(core->st, conf_h, &fv);
	for (size_t i = 0; !err && i < fv.n; i++) {
		struct idv pv = {.core = core, .node = dead};
		(void)core->st->ops->conferencecall_list_present(
		    core->st, fv.v[i], present_h, &pv);
		for (size_t j = 0; j < pv.n; j++)
			(void)ch_conferencecall_left(core, pv.v[j],
			                             CH_LEAVE_ORPHAN);
		free(pv.v);
		/* its room is gone: ended, not moved (docs/cluster.md) */
		if (!ch_conference_terminate(core, fv.v[i], CH_END_MIXER_FAILED,
		                             NULL))
			(*conferences)++;
	}
	free(cv.v);
	free(fv.v);
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
