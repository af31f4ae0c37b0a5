/*
 * monocond.c: condition variables on the monotonic clock (monocond.h).
 */
#include "util/monocond.h"

#include <errno.h>
#include <time.h>

int ch_monocond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca))
		return ENOMEM;
	int err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
	return err;
}

void ch_monocond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(c, m, &ts);
}
