/*
 * test_sip_sdp.c: sip/sdp_neg.c on libre's sdp module: an offered
 * a=rtcp-mux is answered (and dropped again when a re-offer drops it), and
 * the raw check of a remote description (c= unicast and parsable, m= and
 * a=rtcp ports 1-65535, SDP at all) that runs before libre decodes one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "sip/sip_int.h"

#define HEAD                                                                   \
	"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"     \
	"t=0 0\r\n"
#define AUDIO "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"

static struct mbuf *mb_of(const char *s)
{
	struct mbuf *mb = mbuf_alloc(strlen(s) + 1);
	assert_non_null(mb);
	assert_int_equal(mbuf_write_str(mb, s), 0);
	mb->pos = 0;
	return mb;
}

/* Decodes offer into sess, chooses, and returns our answer as a string
 * (static buffer). */
static const char *answer(struct sdp_session *sess, struct sdp_media *m,
                          const char *offer, struct ch_media_leg_params *p)
{
	static char out[2048];
	struct mbuf *mb = mb_of(offer), *desc = NULL;
	struct sa remote;
	assert_int_equal(ch_sip_sdp_check(mb, NULL), 0);
	assert_int_equal(sdp_decode(sess, mb, true), 0);
	assert_int_equal(ch_sip_sdp_choose(m, p, &remote), 0);
	assert_int_equal(sdp_encode(&desc, sess, false), 0);
	size_t n = mbuf_get_left(desc);
	assert_true(n < sizeof(out));
	memcpy(out, mbuf_buf(desc), n);
	out[n] = '\0';
	mem_deref(desc);
	mem_deref(mb);
	return out;
}

static void test_rtcp_mux_answered(void **state)
{
	struct sdp_session *sess;
	struct sdp_media *m;
	struct ch_media_leg_params p;
	struct sa laddr;
	(void)state;
	assert_int_equal(sa_set_str(&laddr, "127.0.0.1", 30000), 0);
	assert_int_equal(ch_sip_sdp_alloc(&sess, &m, &laddr), 0);

	const char *a = answer(sess, m, HEAD AUDIO "a=rtcp-mux\r\n", &p);
	assert_true(p.rtcp_mux);
	if (!strstr(a, "\r\na=rtcp-mux\r\n"))
		fail_msg("answer to an rtcp-mux offer without it:\n%s", a);

	/* a re-offer without it: RTCP goes back to port + 1, say so */
	a = answer(sess, m, HEAD AUDIO, &p);
	assert_false(p.rtcp_mux);
	if (strstr(a, "rtcp-mux"))
		fail_msg("answer keeps rtcp-mux the offer dropped:\n%s", a);

	a = answer(sess, m, HEAD AUDIO "a=rtcp-mux\r\n", &p);
	assert_true(p.rtcp_mux);
	assert_non_null(strstr(a, "a=rtcp-mux"));
	mem_deref(sess);
}

static void test_check_accepts(void **state)
{
	static const char *ok[] = {
	    HEAD AUDIO,
	    HEAD AUDIO "a=rtcp:4001\r\n",
	    HEAD AUDIO "a=rtcp:4001 IN IP4 127.0.0.1\r\n",
	    HEAD "m=audio 65535 RTP/AVP 0\r\n",
	    HEAD AUDIO "m=video 0 RTP/AVP 96\r\n",
	    /* hold the RFC 2543 way */
	    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
	    "t=0 0\r\n" AUDIO,
	    "v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\n"
	    "m=audio 4000 RTP/AVP 0\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct mbuf *mb = mb_of(ok[i]);
		const char *why = NULL;
		if (ch_sip_sdp_check(mb, &why))
			fail_msg("refused (%s):\n%s", why, ok[i]);
		assert_int_equal(mb->pos, 0);
		mem_deref(mb);
	}
}

static void test_check_refuses(void **state)
{
	static const char *bad[] = {
	    "",
	    "hello\r\n",
	    "garbage " HEAD AUDIO,
	    HEAD,
	    "v=0\r\nc=IN IP4 224.0.0.1\r\n" AUDIO,
	    "v=0\r\nc=IN IP4 239.255.255.250\r\n" AUDIO,
	    "v=0\r\nc=IN IP4 255.255.255.255\r\n" AUDIO,
	    "v=0\r\nc=IN IP4 239.1.1.1/127\r\n" AUDIO,
	    "v=0\r\nc=IN IP6 ff02::1\r\n" AUDIO,
	    "v=0\r\nc=IN IP4 999.1.1.1\r\n" AUDIO,
	    "v=0\r\nc=IN IP4 ::1\r\n" AUDIO,
	    "v=0\r\nc=IN IP4\r\n" AUDIO,
	    "v=0\r\nc=IN IP4 example.com\r\n" AUDIO,
	    "v=0\r\nc=XX IP4 127.0.0.1\r\n" AUDIO,
	    HEAD "m=audio 0 RTP/AVP 0\r\n",
	    HEAD "m=audio 65536 RTP/AVP 0\r\n",
	    HEAD "m=audio 70000 RTP/AVP 0\r\n",
	    HEAD "m=audio 4000/2 RTP/AVP 0\r\n",
	    HEAD "m=audio -1 RTP/AVP 0\r\n",
	    HEAD "m=audio x RTP/AVP 0\r\n",
	    HEAD "m=audio\r\n",
	    HEAD AUDIO "m=video 99999 RTP/AVP 96\r\n",
	    HEAD AUDIO "a=rtcp:0\r\n",
	    HEAD AUDIO "a=rtcp:65536\r\n",
	    HEAD AUDIO "a=rtcp:\r\n",
	    /* the media-level c= counts too */
	    HEAD AUDIO "c=IN IP4 224.1.2.3\r\n",
	    /* libre ends a line at a lone CR or LF too (found by fuzz_sdp) */
	    "v=0\rc=IN IP4 226.0.0.1\r\n" AUDIO,
	    "v=0\nc=IN IP4 226.0.0.1\n" AUDIO,
	    HEAD AUDIO "a=x\rc=IN IP4 224.1.2.3\r\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mbuf *mb = mb_of(bad[i]);
		const char *why = NULL;
		if (!ch_sip_sdp_check(mb, &why))
			fail_msg("took:\n%s", bad[i]);
		assert_non_null(why);
		mem_deref(mb);
	}
	assert_int_equal(ch_sip_sdp_check(NULL, NULL), EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtcp_mux_answered),
	    cmocka_unit_test(test_check_accepts),
	    cmocka_unit_test(test_check_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
