/*
 * timefmt.h: wall-clock time in microseconds and the API's timestamp format.
 *
 * API timestamps are UTC "YYYY-MM-DD HH:MM:SS.uuuuuu" (26 chars). The
 * sentinel "9999-01-01 00:00:00.000000" means "has not happened". Pure
 * functions, thread-safe.
 */
#ifndef CH_TIMEFMT_H
#define CH_TIMEFMT_H

#include <stdint.h>

#define CH_TIME_LEN   27 /* 26 chars + NUL */
#define CH_TIME_NEVER "9999-01-01 00:00:00.000000"
/* CH_TIME_NEVER as microseconds since the epoch */
#define CH_TIME_NEVER_US INT64_C(253370764800000000)

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t ch_time_now_us(void);
/* Monotonic milliseconds, for timers and back-off. */
uint64_t ch_time_mono_ms(void);
/* Monotonic microseconds, for durations. */
uint64_t ch_time_mono_us(void);
/* Writes the API form of us into out (CH_TIME_LEN bytes). */
void ch_time_format(int64_t us, char out[CH_TIME_LEN]);
/* Parses the API form; returns 0 and sets *us, or -1 if malformed. */
int ch_time_parse(const char *s, int64_t *us);

#endif
