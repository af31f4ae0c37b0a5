/*
 * format.c: relative times, aligned tables, config file parsing and the
 * cells of `chorus top` for the `chorus` client (see format.h). Pure: no
 * I/O.
 */
#include "format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ch_format_parse_ts(const char *ts, time_t *out)
{
	struct tm tm = {0};
	int n = 0;

	if (!ts ||
	    sscanf(ts, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return EINVAL;
	if (ts[n] != '\0' && ts[n] != '.')
		return EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

char *ch_format_reltime(const char *ts, time_t now, char *out, size_t size)
{
	static const struct {
		long secs;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	time_t t;
	long d;
	size_t i;

	if (!ts)
		ts = "";
	if (!strncmp(ts, "9999-", 5)) {
		snprintf(out, size, "never");
		return out;
	}
	if (ch_format_parse_ts(ts, &t)) {
		snprintf(out, size, "%s", ts);
		return out;
	}
	d = (long)(now - t);
	if (d == 0) {
		snprintf(out, size, "now");
		return out;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		long v = (d < 0 ? -d : d) / units[i].secs;
		if (v > 0 || units[i].secs == 1) {
			if (d > 0)
				snprintf(out, size, "%ld%c ago", v,
				         units[i].unit);
			else
				snprintf(out, size, "in %ld%c", v,
				         units[i].unit);
			break;
		}
	}
	return out;
}

/* Characters in a UTF-8 string (continuation bytes not counted). */
static size_t utf8_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

char *ch_format_table(const char *const *cells, size_t nrows, size_t ncols)
{
	size_t *width = calloc(ncols ? ncols : 1, sizeof(*width));
	size_t r, c, len = 1, pos = 0;
	char *out;

	if (!width)
		return NULL;
	for (r = 0; r < nrows; r++) {
		for (c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			size_t w = s ? utf8_width(s) : 0;
			if (w > width[c])
				width[c] = w;
			len += (s ? strlen(s) : 0) + 2;
		}
		len += 1;
	}
	for (c = 0; c < ncols; c++)
		len += width[c] * nrows;
	out = malloc(len);
	if (!out) {
		free(width);
		return NULL;
	}
	for (r = 0; r < nrows; r++) {
		size_t line_start = pos;
		for (c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			size_t w;
			if (!s)
				s = "";
			w = utf8_width(s);
			memcpy(out + pos, s, strlen(s));
			pos += strlen(s);
			if (c + 1 < ncols) {
				size_t pad = width[c] - w + 2;
				memset(out + pos, ' ', pad);
				pos += pad;
			}
		}
		while (pos > line_start && out[pos - 1] == ' ')
			pos--;
		out[pos++] = '\n';
	}
	out[pos] = '\0';
	free(width);
	return out;
}

/* Trims spaces and tabs at both ends of [s, e) in place; returns the start. */
static char *trim(char *s, char *e)
{
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*e = '\0';
	return s;
}

int ch_format_config_parse(const char *text, char **url, char **token,
                           int *line)
{
	char *copy = strdup(text ? text : "");
	char *p, *next;
	int n = 0, err = 0;

	if (!copy)
		return ENOMEM;
	for (p = copy; p && !err; p = next) {
		char *nl = strchr(p, '\n');
		char *eq, *key, *val, **slot;
		next = nl ? nl + 1 : NULL;
		if (!nl)
			nl = p + strlen(p);
		n++;
		p = trim(p, nl);
		if (*p == '\0' || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			err = EINVAL;
			break;
		}
		key = trim(p, eq);
		val = trim(eq + 1, eq + 1 + strlen(eq + 1));
		if (!strcmp(key, "url"))
			slot = url;
		else if (!strcmp(key, "token"))
			slot = token;
		else {
			err = EINVAL;
			break;
		}
		free(*slot);
		*slot = strdup(val);
		if (!*slot)
			err = ENOMEM;
	}
	if (err == EINVAL && line)
		*line = n;
	free(copy);
	return err;
}

char *ch_format_level_bar(int level, int width, char *out, size_t size)
{
	int i, fill;

	if (width < 0 || size < (size_t)width + 5) {
		if (size)
			out[0] = '\0';
		return out;
	}
	level = level < 0 ? 0 : level > 100 ? 100 : level;
	fill = (level * width + 50) / 100;
	for (i = 0; i < width; i++)
		out[i] = i < fill ? '#' : '.';
	snprintf(out + width, size - (size_t)width, "%4d", level);
	return out;
}

double ch_format_loss_pct(long long lost, long long received)
{
	if (lost <= 0 || received < 0)
		return 0.0;
	return 100.0 * (double)lost / (double)(lost + received);
}

size_t ch_format_fit(char *line, size_t cols)
{
	size_t i = 0, n = 0;

	if (!line)
		return 0;
	for (i = 0; line[i]; i++) {
		if (((unsigned char)line[i] & 0xc0) == 0x80)
			continue; /* a continuation byte: same character */
		if (n == cols) {
			/* one character too many: the last kept becomes '~' */
			size_t j = i;
			if (!cols) {
				line[0] = '\0';
				return 0;
			}
			while (j > 0 &&
			       ((unsigned char)line[j - 1] & 0xc0) == 0x80)
				j--;
			line[j - 1] = '~';
			line[j] = '\0';
			return j;
		}
		n++;
	}
	return i;
}
