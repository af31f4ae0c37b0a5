/*
 * test_sip_uri.c: core/sip_uri.c, the check of a dial-out's target and
 * source: what a SIP URI may be, and every way to smuggle a header or a
 * second URI into the request libre writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "core/sip_uri.h"

static void test_accepts(void **state)
{
	static const char *ok[] = {
	    "sip:alice@127.0.0.1",
	    "sip:alice@127.0.0.1:5080",
	    "sips:bob@example.com",
	    "SIP:bob@Example.COM;transport=tcp",
	    "sip:example.com",
	    "sip:+15551234567@gw.example.com;user=phone",
	    "sip:%61lice@h",
	    "sip:a:secret@h",
	    "sip:[::1]:5070",
	    "sip:chorus@localhost",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = NULL;
		if (ch_sip_uri_check(ok[i], &why))
			fail_msg("refused %s: %s", ok[i], why);
	}
}

static void test_refuses(void **state)
{
	char big[CH_SIP_URI_MAX + 8];
	static const char *bad[] = {
	    NULL,
	    "",
	    "sip:a@127.0.0.1\r\nX-Evil: 1",
	    "sip:a@127.0.0.1\nX-Evil: 1",
	    "sip:a@127.0.0.1\rX",
	    "sip:a@h\t",
	    "sip:a b@h",
	    "sip:a@h>;x=<sip:b@h",
	    "sip:a@h\"",
	    "<sip:a@h>",
	    "sip:a@h\x7f",
	    "sip:\xc3\xa9@h",
	    "sip:a@h\x01",
	    "tel:+15551234",
	    "http://example.com/",
	    "sipx:a@h",
	    "sip:",
	    "sip:a@",
	    "sip:@h",
	    "sip:@:5060",
	    "sip:a@:5060",
	    "sip:a@h?Subject=x",
	    "sip:a@h:0",
	    "sip:a@h:65536",
	    "sip:a@h:99999",
	    "sip:a@h:12x",
	    "sip:a@h/path",
	    "sip:a@h_b",
	    "a@h",
	    "sip",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		if (!ch_sip_uri_check(bad[i], &why))
			fail_msg("took \"%s\"", bad[i] ? bad[i] : "(null)");
		assert_non_null(why);
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, "sip:a@", 6);
	big[CH_SIP_URI_MAX + 1] = '\0';
	assert_int_equal(ch_sip_uri_check(big, NULL), EINVAL);
	big[CH_SIP_URI_MAX] = '\0';
	assert_int_equal(ch_sip_uri_check(big, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
