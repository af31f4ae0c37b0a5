/*
 * timefmt.c: wall-clock microseconds and the API timestamp format.
 */
#include "util/timefmt.h"

#include <stdio.h>
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
	struct tm tm;
	int y, mo, d, h, mi, se, fr, n = 0;

	if (!s || strlen(s) != CH_TIME_LEN - 1)
		return -1;
	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d.%6d%n", &y, &mo, &d, &h, &mi,
		   &se, &fr, &n) != 7 ||
	    n != CH_TIME_LEN - 1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || fr < 0)
		return -1;
	if (!strcmp(s, CH_TIME_NEVER)) {
		*us = CH_TIME_NEVER_US;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*us = (int64_t)timegm(&tm) * 1000000 + fr;
	return 0;
}
