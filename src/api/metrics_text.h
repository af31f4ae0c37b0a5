/*
 * metrics_text.h: a small builder of the Prometheus text exposition format
 * (version 0.0.4): HELP and TYPE lines, samples with escaped label values,
 * histograms from util/histogram.h snapshots.
 *
 * Ownership: the builder owns its buffer until ch_metrics_text_take().
 * Threads: any, one builder per thread (it has no shared state).
 */
#ifndef CH_METRICS_TEXT_H
#define CH_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ch_histogram_snap;

/* Lives on its user's stack. */
struct ch_metrics_text {
	char *buf;
	size_t len, cap;
	bool oom; /* an append failed: the text is incomplete */
};

/* Content type of the text. */
#define CH_METRICS_TEXT_CTYPE "text/plain; version=0.0.4; charset=utf-8"

void ch_metrics_text_init(struct ch_metrics_text *b);
void ch_metrics_text_free(struct ch_metrics_text *b);
/* The text (malloc'd, NUL-terminated, the caller's) and its length; NULL
 * when out of memory. The builder is empty afterwards. */
char *ch_metrics_text_take(struct ch_metrics_text *b, size_t *len);

/* "# HELP name help" (help escaped) and "# TYPE name type" (counter,
 * gauge, histogram). */
void ch_metrics_text_family(struct ch_metrics_text *b, const char *name,
                            const char *type, const char *help);

/* Labels of a sample: NULL, or pairs name, value, ..., ending with NULL.
 * Values are escaped (backslash, double quote, newline). */
void ch_metrics_text_u64(struct ch_metrics_text *b, const char *name,
                         const char *const *labels, uint64_t v);
void ch_metrics_text_double(struct ch_metrics_text *b, const char *name,
                            const char *const *labels, double v);

/* name_bucket{labels,le="..."} (cumulative, the last le="+Inf"),
 * name_sum and name_count of h, whose values are multiplied by scale
 * (e.g. 1e-9 for ns to seconds) in le and the sum. */
void ch_metrics_text_histogram(struct ch_metrics_text *b, const char *name,
                               const char *const *labels,
                               const struct ch_histogram_snap *h, double scale);

/* Appends s escaped as a label value (for tests and callers building
 * their own lines). */
void ch_metrics_text_escape(struct ch_metrics_text *b, const char *s);

#endif
