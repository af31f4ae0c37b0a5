/*
 * re_loop.h: libre for unit tests (header only): a cmocka group set-up and
 * tear-down that start and stop libre (quiet logs), and run_ms(), which
 * turns the libre main loop for a number of milliseconds.
 */
#ifndef CH_TEST_RE_LOOP_H
#define CH_TEST_RE_LOOP_H

#include <re_types.h>
#include <re_list.h>
#include <re_main.h>
#include <re_tmr.h>

#include "util/log.h"

static inline int ch_test_re_group_setup(void **state)
{
	(void)state;
	ch_log_set_level(CH_LOG_ERROR);
	return libre_init();
}

static inline int ch_test_re_group_teardown(void **state)
{
	(void)state;
	libre_close();
	return 0;
}

static inline void ch_test_re_stop_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Turns the loop for ms milliseconds. */
static inline void ch_test_run_ms(unsigned ms)
{
	struct tmr t;
	tmr_init(&t);
	tmr_start(&t, ms, ch_test_re_stop_h, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}

#endif
