/*
 * timefmt.c: wall-clock microseconds and the API timestamp format.
 */
#include "util/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t ch_time_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

uint64_t ch_time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t ch_time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void ch_time_format(int64_t us, char out[CH_TIME_LEN])
{
	struct tm tm;
	time_t sec;
	int64_t frac;

	if (us >= CH_TIME_NEVER_US || us < 0) {
		memcpy(out, CH_TIME_NEVER, CH_TIME_LEN);
		return;
	}
	sec = (time_t)(us / 1000000);
	frac = us % 1000000;
	gmtime_r(&sec, &tm);
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d.%06d",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int)frac);
	memcpy(out, tmp, CH_TIME_LEN - 1);
	out[CH_TIME_LEN - 1] = '\0';
}

int ch_time_parse(const char *s, int64_t *us)
{
	/* exactly "YYYY-MM-DD HH:MM:SS.ffffff", digits where digits go */
	static const char shape[] = "dddd-dd-dd dd:dd:dd.dddddd";
	struct tm tm;
	char back[CH_TIME_LEN];
	int64_t v;

	if (!s || strlen(s) != CH_TIME_LEN - 1)
		return -1;
	for (size_t i = 0; i < CH_TIME_LEN - 1; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
		                    : s[i] != shape[i])
			return -1;
	}
	if (!strcmp(s, CH_TIME_NEVER)) {
		*us = CH_TIME_NEVER_US;
		return 0;
	}
#define NUM(off, len) (int)strtol(strndupa(s + (off), (len)), NULL, 10)
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = NUM(0, 4) - 1900;
	tm.tm_mon = NUM(5, 2) - 1;
	tm.tm_mday = NUM(8, 2);
	tm.tm_hour = NUM(11, 2);
	tm.tm_min = NUM(14, 2);
	tm.tm_sec = NUM(17, 2);
	v = (int64_t)timegm(&tm) * 1000000 + NUM(20, 6);
#undef NUM
	if (v < 0)
		return -1;
	/* impossible dates (Feb 31) normalise to others: refuse them */
	ch_time_format(v, back);
	if (strcmp(back, s))
		return -1;
	*us = v;
	return 0;
}
