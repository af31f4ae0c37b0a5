/*
 * loop_probe.c: how long the control thread keeps work waiting (its
 * stalls), for /metrics and the control-plane bench.
 *
 * Design: a timerfd on the control thread's libre loop expires every
 * CH_LOOP_PROBE_PERIOD_US. When its handler runs, the time since the first
 * expiry it has not handled yet is how long the loop was busy elsewhere (a
 * SIP or HTTP handler, a store commit, a WAL checkpoint, a timer) while
 * something was due: one sample per period, into a histogram (us). So the
 * p99 of the samples is the wait that 1 % of the loop's time exceeds, as
 * a SIP request arriving at a random moment would see it, and the max is
 * the longest single stall (within one period). A timerfd rather than a
 * libre timer: libre keeps its timers in one sorted list, which a timer
 * restarted 200 times a second would walk each time, and rounds them to
 * milliseconds.
 *
 * Threading: control thread only (the histogram is read by /metrics on
 * the same thread; util/histogram.h allows other readers).
 */
#include "core/core_internal.h"
#include "util/timefmt.h"

#include <re_types.h>
#include <re_main.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Bounds (us) of the stall histogram. */
static const uint64_t stall_bounds_us[] = {
    100,   250,   500,   1000,  2000,  3000,   5000,   7500,
    10000, 15000, 20000, 30000, 50000, 100000, 250000, 1000000};

static void probe_h(int flags, void *arg)
{
	struct ch_core *core = arg;
	uint64_t n = 0, now = ch_time_mono_us();
	(void)flags;
	if (read(core->probe_fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || !n)
		return;
	/* core->probe_due: the first expiry not handled yet */
	uint64_t late = now > core->probe_due ? now - core->probe_due : 0;
	ch_histogram_observe(&core->stall_us, late);
	if (late > core->stall_max_us)
		core->stall_max_us = late;
	core->probe_due += n * CH_LOOP_PROBE_PERIOD_US;
}

int ch_core_loop_probe_start(struct ch_core *core)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = CH_LOOP_PROBE_PERIOD_US * 1000;
	its.it_value = its.it_interval;
	ch_histogram_init(&core->stall_us, stall_bounds_us,
	                  sizeof(stall_bounds_us) / sizeof(*stall_bounds_us));
	core->probe_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (core->probe_fd < 0) {
		core->probe_fd = -1;
		return errno;
	}
	core->probe_due = ch_time_mono_us() + CH_LOOP_PROBE_PERIOD_US;
	int err = timerfd_settime(core->probe_fd, 0, &its, NULL) ? errno : 0;
	if (!err)
		err = fd_listen(core->probe_fd, FD_READ, probe_h, core);
	if (err) {
		close(core->probe_fd);
		core->probe_fd = -1;
	}
	return err;
}

void ch_core_loop_probe_stop(struct ch_core *core)
{
	if (core->probe_fd < 0)
		return;
	fd_close(core->probe_fd);
	close(core->probe_fd);
	core->probe_fd = -1;
}

const struct ch_histogram *ch_core_stall_histogram(const struct ch_core *core,
                                                   uint64_t *max_us)
{
	if (max_us)
		*max_us = core->stall_max_us;
	return &core->stall_us;
}
