/*
 * test_api_static.c: api/static_assets.c, the files served outside the
 * API prefix: only the table's exact paths name a file (a query string is
 * ignored), hostile paths (dot segments, percent escapes, a prefix or an
 * extension of a real path, very long) name none, and every file is
 * non-empty with a content type and the strict headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api/static_assets.h"

static void test_known_paths(void **state)
{
	(void)state;
	static const char *const paths[] = {"/console", "/console/",
	                                    "/console/console.js",
	                                    "/console/console.css"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct ch_static_asset *a =
		    ch_static_assets_find(paths[i]);
		assert_non_null(a);
		assert_string_equal(a->path, paths[i]);
		assert_true(*a->len > 0);
		assert_non_null(strstr(a->ctype, "charset=utf-8"));
	}
	const struct ch_static_asset *a =
	    ch_static_assets_find("/console/console.js?v=2&x=../../etc");
	assert_non_null(a);
	assert_string_equal(a->path, "/console/console.js");
	assert_non_null(strstr(a->ctype, "javascript"));
}

static void test_hostile_paths(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "/",
	    "/consol",
	    "/consolex",
	    "/console//",
	    "/console/../console/console.js",
	    "/console/./console.js",
	    "/console/%2e%2e/etc/passwd",
	    "/console/console%2ejs",
	    "/console/console.js/",
	    "/console/console.js.map",
	    "/CONSOLE",
	    "/v1.0/console",
	    "/console/index.html\r\nX-Evil: 1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(ch_static_assets_find(bad[i]));
	assert_null(ch_static_assets_find(NULL));

	char longp[4096];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memcpy(longp, "/console", 8);
	assert_null(ch_static_assets_find(longp));
}

static void test_headers(void **state)
{
	(void)state;
	const char *h = ch_static_assets_headers();
	assert_non_null(strstr(h, "Content-Security-Policy: default-src "
	                          "'none'; script-src 'self';"));
	assert_non_null(strstr(h, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(h, "frame-ancestors 'none'"));
	/* raw header lines: each ends in CRLF */
	assert_int_equal(strcmp(h + strlen(h) - 2, "\r\n"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_paths),
	    cmocka_unit_test(test_hostile_paths),
	    cmocka_unit_test(test_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
