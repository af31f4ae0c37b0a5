/*
 * log.c: leveled, module-tagged logging to stderr, one line per event.
 */
#include "util/log.h"
#include "util/timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static enum ch_log_level g_level = CH_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

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

void ch_log(enum ch_log_level level, const char *module, const char *fmt, ...)
{
	char line[1024];
	char ts[CH_TIME_LEN];
	va_list ap;
	int n;

	if (level < g_level)
		return;
	ch_time_format(ch_time_now_us(), ts);
	n = snprintf(line, sizeof(line), "%s %s [%s] ", ts, level_names[level],
	             module);
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
