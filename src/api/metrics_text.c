/*
 * metrics_text.c: the Prometheus text format builder (metrics_text.h).
 */
#include "api/metrics_text.h"
#include "util/histogram.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ch_metrics_text_init(struct ch_metrics_text *b)
{
	memset(b, 0, sizeof(*b));
}

void ch_metrics_text_free(struct ch_metrics_text *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

char *ch_metrics_text_take(struct ch_metrics_text *b, size_t *len)
{
	char *s = b->buf;
	size_t n = b->len;
	if (b->oom) {
		free(s);
		s = NULL;
	} else if (!s) {
		s = calloc(1, 1);
	}
	if (len)
		*len = s ? n : 0;
	memset(b, 0, sizeof(*b));
	return s;
}

static bool reserve(struct ch_metrics_text *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->buf, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->buf = p;
	b->cap = cap;
	return true;
}

static void put(struct ch_metrics_text *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void puts_(struct ch_metrics_text *b, const char *s)
{
	put(b, s, strlen(s));
}

static void printf_(struct ch_metrics_text *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void printf_(struct ch_metrics_text *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp,
		    (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Escapes backslash and newline, and the double quote when quote. */
static void escape(struct ch_metrics_text *b, const char *s, bool quote)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else if (quote && *s == '"')
			put(b, "\\\"", 2);
		else
			put(b, s, 1);
	}
}

void ch_metrics_text_escape(struct ch_metrics_text *b, const char *s)
{
	escape(b, s, true);
}

void ch_metrics_text_family(struct ch_metrics_text *b, const char *name,
                            const char *type, const char *help)
{
	printf_(b, "# HELP %s ", name);
	escape(b, help, false);
	printf_(b, "\n# TYPE %s %s\n", name, type);
}

/* name{labels[,le="le"]} */
static void series(struct ch_metrics_text *b, const char *name,
                   const char *suffix, const char *const *labels,
                   const char *le)
{
	bool any = false;
	puts_(b, name);
	puts_(b, suffix);
	for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		put(b, any ? "," : "{", 1);
		puts_(b, labels[i]);
		put(b, "=\"", 2);
		escape(b, labels[i + 1], true);
		put(b, "\"", 1);
		any = true;
	}
	if (le) {
		put(b, any ? "," : "{", 1);
		printf_(b, "le=\"%s\"", le);
		any = true;
	}
	if (any)
		put(b, "}", 1);
	put(b, " ", 1);
}

void ch_metrics_text_u64(struct ch_metrics_text *b, const char *name,
                         const char *const *labels, uint64_t v)
{
	series(b, name, "", labels, NULL);
	printf_(b, "%" PRIu64 "\n", v);
}

static void value(struct ch_metrics_text *b, double v)
{
	if (isnan(v))
		puts_(b, "NaN");
	else if (isinf(v))
		puts_(b, v > 0 ? "+Inf" : "-Inf");
	else
		printf_(b, "%.12g", v);
}

void ch_metrics_text_double(struct ch_metrics_text *b, const char *name,
                            const char *const *labels, double v)
{
	series(b, name, "", labels, NULL);
	value(b, v);
	put(b, "\n", 1);
}

void ch_metrics_text_histogram(struct ch_metrics_text *b, const char *name,
                               const char *const *labels,
                               const struct ch_histogram_snap *h, double scale)
{
	uint64_t cum = 0;
	char le[48];
	for (size_t i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		snprintf(le, sizeof(le), "%.9g", (double)h->bounds[i] * scale);
		series(b, name, "_bucket", labels, le);
		printf_(b, "%" PRIu64 "\n", cum);
	}
	cum += h->counts[h->nbounds];
	series(b, name, "_bucket", labels, "+Inf");
	printf_(b, "%" PRIu64 "\n", cum);
	series(b, name, "_sum", labels, NULL);
	value(b, (double)h->sum * scale);
	put(b, "\n", 1);
	series(b, name, "_count", labels, NULL);
	printf_(b, "%" PRIu64 "\n", cum);
}
