/*
 * test_store_cluster.c: unit tests for the cluster's tables of the
 * PostgreSQL store (store.h "nodes": node_beat, node_list, node_reap,
 * owner_set/get, lease_take). Under SQLite (no CHORUS_TEST_PG) it checks
 * that the store has none of these operations, which is how the cluster
 * refuses a store it cannot share.
 *
 * Covered: a heartbeat registers and refreshes a node; only one reaper
 * wins, and only over a stale heartbeat; a new heartbeat revives the
 * name; owners are set, replaced and looked up; a lease is kept by its
 * holder, refused to another until it runs out, then taken over.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/log.h"

#include "store_fixture.h"

#define SEC INT64_C(1000000)

struct nodes {
	int n;
	struct ch_node v[8];
};

static int node_h(const struct ch_node *n, void *arg)
{
	struct nodes *x = arg;
	if (x->n < 8)
		x->v[x->n++] = *n;
	return 0;
}

static void beat(struct ch_store *st, const char *name, int64_t at, int load)
{
	struct ch_node n;
	memset(&n, 0, sizeof(n));
	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.api_url, sizeof(n.api_url), "http://10.0.0.1:8080");
	snprintf(n.sip_uri, sizeof(n.sip_uri), "sip:10.0.0.1:5060");
	n.load = load;
	n.heartbeat = at;
	n.tm_start = 1;
	assert_int_equal(st->ops->node_beat(st, &n), 0);
}

static void test_nodes(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	struct nodes x = {0};
	struct ch_store *other;

	if (!fix_pg()) {
		assert_null(op->node_beat);
		assert_null(op->owner_get);
		assert_null(op->lease_take);
		return;
	}
	beat(f->st, "b", 100 * SEC, 3);
	beat(f->st, "a", 100 * SEC, 1);
	beat(f->st, "a", 105 * SEC, 2); /* refreshed, not added */
	assert_int_equal(op->node_list(f->st, node_h, &x), 0);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.v[0].name, "a");
	assert_int_equal(x.v[0].heartbeat, 105 * SEC);
	assert_int_equal(x.v[0].load, 2);
	assert_string_equal(x.v[0].status, "alive");
	assert_string_equal(x.v[0].sip_uri, "sip:10.0.0.1:5060");

	/* a's heartbeat (105 s) is not older than 104 s: not dead */
	assert_int_equal(op->node_reap(f->st, "a", "b", 104 * SEC), ENOENT);
	/* b's (100 s) is: the first reaper wins, a second one does not */
	assert_int_equal(fix_open(f, &other), 0);
	assert_int_equal(op->node_reap(f->st, "b", "a", 104 * SEC), 0);
	assert_int_equal(other->ops->node_reap(other, "b", "c", 104 * SEC),
	                 ENOENT);
	ch_store_close(other);
	x.n = 0;
	assert_int_equal(op->node_list(f->st, node_h, &x), 0);
	assert_string_equal(x.v[1].status, "dead");
	assert_string_equal(x.v[1].reaped_by, "a");
	/* b comes back under its name: alive again */
	beat(f->st, "b", 200 * SEC, 0);
	x.n = 0;
	assert_int_equal(op->node_list(f->st, node_h, &x), 0);
	assert_string_equal(x.v[1].status, "alive");
	assert_string_equal(x.v[1].reaped_by, "");
}

static void test_owners(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;
	char node[64];

	assert_int_equal(op->owner_get(f->st, "c1", node, sizeof(node)),
	                 ENOENT);
	assert_int_equal(op->owner_set(f->st, "c1", "a"), 0);
	assert_int_equal(op->owner_set(f->st, "c2", "b"), 0);
	assert_int_equal(op->owner_get(f->st, "c1", node, sizeof(node)), 0);
	assert_string_equal(node, "a");
	assert_int_equal(op->owner_set(f->st, "c1", "c"), 0);
	assert_int_equal(op->owner_get(f->st, "c1", node, sizeof(node)), 0);
	assert_string_equal(node, "c");
	/* inside a transaction that rolls back: not kept */
	assert_int_equal(op->begin(f->st), 0);
	assert_int_equal(op->owner_set(f->st, "c3", "a"), 0);
	op->rollback(f->st);
	assert_int_equal(op->owner_get(f->st, "c3", node, sizeof(node)),
	                 ENOENT);
}

static void test_lease(void **state)
{
	struct fix *f = *state;
	const struct ch_store_ops *op = f->st->ops;

	assert_int_equal(
	    op->lease_take(f->st, "webhooks", "a", 100 * SEC, 10 * SEC), 0);
	/* a keeps it; b cannot have it while it runs */
	assert_int_equal(
	    op->lease_take(f->st, "webhooks", "a", 105 * SEC, 10 * SEC), 0);
	assert_int_equal(
	    op->lease_take(f->st, "webhooks", "b", 114 * SEC, 10 * SEC), EBUSY);
	/* another lease is another name */
	assert_int_equal(
	    op->lease_take(f->st, "other", "b", 114 * SEC, 10 * SEC), 0);
	/* a stopped renewing at 105 s: at 116 s b takes it over */
	assert_int_equal(
	    op->lease_take(f->st, "webhooks", "b", 116 * SEC, 10 * SEC), 0);
	assert_int_equal(
	    op->lease_take(f->st, "webhooks", "a", 117 * SEC, 10 * SEC), EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owners, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
	};
	ch_log_set_level(CH_LOG_ERROR);
	/* on SQLite only test_nodes, which checks the ops are absent: the
	 * others would have nothing to test there */
	if (!fix_pg())
		return _cmocka_run_group_tests("sqlite", tests, 1, NULL, NULL);
	return FIX_RUN(tests, NULL, NULL, NULL);
}
