/*
 * test_api_metrics_text.c: unit tests of the Prometheus text builder
 * (api/metrics_text.c) and the fixed-bucket histograms
 * (util/histogram.c): label values and HELP text escaped as the 0.0.4
 * format wants, samples with and without labels, exact 64-bit counters,
 * histogram buckets cumulative with le inclusive, _sum scaled, _count the
 * +Inf bucket, and summed snapshots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/metrics_text.h"
#include "util/histogram.h"

static char *take(struct ch_metrics_text *b)
{
	size_t len = 0;
	char *t = ch_metrics_text_take(b, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	return t;
}

static void test_escape(void **state)
{
	(void)state;
	struct ch_metrics_text b;
	ch_metrics_text_init(&b);
	const char *l[] = {"route", "a\\b\"c\nd", "x", "plain", NULL};
	ch_metrics_text_u64(&b, "m_total", l, 3);
	char *t = take(&b);
	assert_string_equal(
	    t, "m_total{route=\"a\\\\b\\\"c\\nd\",x=\"plain\"} 3\n");
	free(t);
}

static void test_family_help_escape(void **state)
{
	(void)state;
	struct ch_metrics_text b;
	ch_metrics_text_init(&b);
	ch_metrics_text_family(&b, "m", "gauge", "line1\nback\\slash \"q\"");
	char *t = take(&b);
	/* HELP escapes backslash and newline, not the quote */
	assert_string_equal(t, "# HELP m line1\\nback\\\\slash \"q\"\n"
	                       "# TYPE m gauge\n");
	free(t);
}

static void test_values(void **state)
{
	(void)state;
	struct ch_metrics_text b;
	ch_metrics_text_init(&b);
	ch_metrics_text_u64(&b, "big", NULL, UINT64_MAX);
	ch_metrics_text_double(&b, "half", NULL, 0.5);
	ch_metrics_text_double(&b, "inf", NULL, 1.0 / 0.0);
	const char *none[] = {NULL};
	ch_metrics_text_u64(&b, "nolabels", none, 0);
	char *t = take(&b);
	assert_string_equal(t, "big 18446744073709551615\n"
	                       "half 0.5\n"
	                       "inf +Inf\n"
	                       "nolabels 0\n");
	free(t);
}

static void test_empty_take(void **state)
{
	(void)state;
	struct ch_metrics_text b;
	ch_metrics_text_init(&b);
	char *t = take(&b);
	assert_string_equal(t, "");
	free(t);
}

static const uint64_t bounds[] = {10, 100, 1000};

static void test_histogram(void **state)
{
	(void)state;
	struct ch_histogram h;
	ch_histogram_init(&h, bounds, 3);
	/* 10 is in le=10 (inclusive); 11 in le=100; 5000 in +Inf */
	const uint64_t vals[] = {1, 10, 11, 100, 999, 5000};
	uint64_t sum = 0;
	for (size_t i = 0; i < sizeof(vals) / sizeof(*vals); i++) {
		ch_histogram_observe(&h, vals[i]);
		sum += vals[i];
	}
	struct ch_histogram_snap s;
	ch_histogram_read(&h, &s, 0);
	assert_int_equal(s.counts[0], 2);
	assert_int_equal(s.counts[1], 2);
	assert_int_equal(s.counts[2], 1);
	assert_int_equal(s.counts[3], 1);
	assert_int_equal(s.sum, sum);

	struct ch_metrics_text b;
	ch_metrics_text_init(&b);
	const char *l[] = {"worker", "0", NULL};
	ch_metrics_text_histogram(&b, "t_seconds", l, &s, 1e-3);
	char *t = take(&b);
	assert_string_equal(t, "t_seconds_bucket{worker=\"0\",le=\"0.01\"} 2\n"
	                       "t_seconds_bucket{worker=\"0\",le=\"0.1\"} 4\n"
	                       "t_seconds_bucket{worker=\"0\",le=\"1\"} 5\n"
	                       "t_seconds_bucket{worker=\"0\",le=\"+Inf\"} 6\n"
	                       "t_seconds_sum{worker=\"0\"} 6.121\n"
	                       "t_seconds_count{worker=\"0\"} 6\n");
	free(t);

	/* summed snapshots; no labels: le alone */
	struct ch_histogram h2;
	ch_histogram_init(&h2, bounds, 3);
	ch_histogram_observe(&h2, 50);
	ch_histogram_read(&h2, &s, 1);
	assert_int_equal(s.counts[1], 3);
	ch_metrics_text_init(&b);
	ch_metrics_text_histogram(&b, "h", NULL, &s, 1);
	t = take(&b);
	assert_non_null(strstr(t, "h_bucket{le=\"100\"} 5\n"));
	assert_non_null(strstr(t, "h_count 7\n"));
	assert_non_null(strstr(t, "h_sum 6171\n"));
	free(t);
}

static void test_growth(void **state)
{
	(void)state;
	struct ch_metrics_text b;
	ch_metrics_text_init(&b);
	for (int i = 0; i < 2000; i++)
		ch_metrics_text_u64(&b, "a_long_metric_name_total", NULL,
		                    (uint64_t)i);
	char *t = take(&b);
	assert_non_null(strstr(t, "a_long_metric_name_total 1999\n"));
	assert_int_equal(strncmp(t, "a_long_metric_name_total 0\n", 27), 0);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_family_help_escape),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_empty_take),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
