/*
 * fuzz_sip_uri.c: libFuzzer target for core/sip_uri.c, the check a
 * dial-out's target and source pass before libre prints them into the
 * request line, To: and From:.
 *
 * The input (up to its first NUL) is the URI. When ch_sip_uri_check takes
 * it, these must hold or the target aborts: no byte that could end or
 * split a header (controls, CR, LF, space, non-ASCII, <, >, "), a sip: or
 * sips: scheme, libre's uri_decode takes it with a host, and a To: header
 * built from it parses back with one To: whose URI is the input.
 * Seeds: tests/fuzz/corpus/sip_uri/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_uri.h>
#include <re_msg.h>
#include <re_sip.h>

#include "core/sip_uri.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* A request with the URI in its request line and To:, as libre writes a
 * dial-out, must decode to the same URI and nothing more. */
static void check_in_message(const char *s)
{
	struct mbuf *mb = mbuf_alloc(1024);
	struct sip_msg *msg = NULL;
	check(mb != NULL);
	check(!mbuf_printf(mb,
	                   "INVITE %s SIP/2.0\r\n"
	                   "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKf\r\n"
	                   "To: <%s>\r\n"
	                   "From: <sip:chorus@localhost>;tag=1\r\n"
	                   "Call-ID: f\r\nCSeq: 1 INVITE\r\n"
	                   "Content-Length: 0\r\n\r\n",
	                   s, s));
	mb->pos = 0;
	check(!sip_msg_decode(&msg, mb));
	check(!pl_strcmp(&msg->to.auri, s));
	check(!pl_strcmp(&msg->ruri, s));
	check(list_count(&msg->hdrl) == 6);
	mem_deref(msg);
	mem_deref(mb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[CH_SIP_URI_MAX + 2];
	struct uri u;
	struct pl pl;
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = '\0';
	if (ch_sip_uri_check(s, NULL))
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		check(c > ' ' && c < 0x7f && c != '<' && c != '>' && c != '"');
	}
	check(!strncasecmp(s, "sip:", 4) || !strncasecmp(s, "sips:", 5));
	pl_set_str(&pl, s);
	check(!uri_decode(&u, &pl));
	check(pl_isset(&u.host));
	check_in_message(s);
	return 0;
}
