/*
 * monocond.h: condition variables on the monotonic clock, for the service
 * threads that wake on a signal or after a tick (recorder, transcriber):
 * a change of the wall clock never makes them sleep too long or spin.
 */
#ifndef CH_UTIL_MONOCOND_H
#define CH_UTIL_MONOCOND_H

#include <pthread.h>

/* pthread_cond_init on CLOCK_MONOTONIC: 0 or an errno value. The caller
 * destroys it with pthread_cond_destroy. */
int ch_monocond_init(pthread_cond_t *c);

/* Waits on c (initialised by ch_monocond_init; m locked by the caller)
 * until signalled or ms milliseconds have passed. */
void ch_monocond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, unsigned ms);

#endif
