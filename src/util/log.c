/*
 * log.c: leveled, module-tagged logging to stderr, one line per event, in
 * the plain style or the journal's (see log.h).
 */
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Both set at start (ch_log_set_level, ch_log_open), read by every
 * thread after. */
static enum ch_log_level g_level = CH_LOG_INFO;
static bool g_journal;

static const char *const level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
/* sd-daemon(3) priorities: SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR */
static const char level_prio[] = {'7', '6', '4', '3'};

int ch_log_level_parse(const char *s, enum ch_log_level *level)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++) {
		if (s && !strcasecmp(s, names[i])) {
			*level = (enum ch_log_level)i;
			return 0;
		}
	}
	return -1;
}

void ch_log_set_level(enum ch_log_level level)
{
	g_level = level;
}

enum ch_log_level ch_log_get_level(void)
{
	return g_level;
}

/* A decimal number up to end (or the string's end when end is 0) into
 * *out; false if empty, not digits only or too big. */
static bool parse_ull(const char *s, char end, unsigned long long *out)
{
	char *e;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &e, 10);
	return !errno && *e == end;
}

bool ch_log_journal_stream_is(const char *env, unsigned long long dev,
                              unsigned long long ino)
{
	unsigned long long d, i;
	const char *colon = env ? strchr(env, ':') : NULL;
	if (!colon || !parse_ull(env, ':', &d) || !parse_ull(colon + 1, 0, &i))
		return false;
	return d == dev && i == ino;
}

bool ch_log_open(void)
{
	struct stat st;
	g_journal = !fstat(STDERR_FILENO, &st) &&
	            ch_log_journal_stream_is(getenv("JOURNAL_STREAM"),
	                                     (unsigned long long)st.st_dev,
	                                     (unsigned long long)st.st_ino);
	return g_journal;
}

void ch_log(enum ch_log_level level, const char *module, const char *fmt, ...)
{
	char line[1024];
	char ts[CH_TIME_LEN];
	va_list ap;
	int n;

	if (level < g_level)
		return;
	if (g_journal) {
		n = snprintf(line, sizeof(line), "<%c>%s [%s] ",
		             level_prio[level], level_names[level], module);
	} else {
		ch_time_format(ch_time_now_us(), ts);
		n = snprintf(line, sizeof(line), "%s %s [%s] ", ts,
		             level_names[level], module);
	}
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = strlen(line);
	/* one event, one line: fold embedded newlines */
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void ch_log_fatal(const char *fmt, ...)
{
	char line[1024];
	size_t n = 0;
	va_list ap;
	int m;

	if (g_journal)
		n = (size_t)snprintf(line, sizeof(line), "<3>");
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m;
	if (n >= sizeof(line)) { /* cut: still one line */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}
