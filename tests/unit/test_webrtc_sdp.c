/*
 * test_webrtc_sdp.c: the WebRTC offer parser and answer writer
 * (webrtc/wsdp.c) on real browser offers (the fuzz corpus's Chromium and
 * Firefox offers), every refusal with its reason, the answer's lines and
 * the answer read back by libre's SDP decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_sdp.h>

#include "webrtc/wsdp.h"

#define CORPUS CH_SOURCE_DIR "/tests/fuzz/corpus/webrtc_sdp/"

static char *load(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), CORPUS "%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[8192];
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* An offer of the corpus with one substring replaced (NULL: removed). */
static int parse_edit(const char *name, const char *from, const char *to,
                      struct ch_wsdp_offer *o, const char **why)
{
	size_t len;
	char *s = load(name, &len);
	static char out[8192];
	char *p = strstr(s, from);
	assert_non_null(p);
	size_t pre = (size_t)(p - s);
	snprintf(out, sizeof(out), "%.*s%s%s", (int)pre, s, to ? to : "",
	         p + strlen(from));
	return ch_wsdp_parse(out, strlen(out), o, why);
}

static void test_chromium(void **state)
{
	(void)state;
	size_t len;
	const char *s = load("chromium.sdp", &len), *why = NULL;
	struct ch_wsdp_offer o;
	assert_int_equal(ch_wsdp_parse(s, len, &o, &why), 0);
	assert_string_equal(o.ice_ufrag, "fL3x");
	assert_string_equal(o.ice_pwd, "Hb8kQ2mZ9pW4rT6yU1iO3aS5");
	assert_int_equal(o.fingerprint[0], 11);
	assert_int_equal(o.fingerprint[1], 48);
	assert_int_equal(o.fingerprint[31], (31 * 37 + 11) & 0xff);
	assert_int_equal(o.setup, CH_WSDP_ACTPASS);
	assert_string_equal(o.mid, "0");
	assert_int_equal(o.opus_pt, 111);
	assert_int_equal(o.pcmu_pt, 0);
	assert_int_equal(o.pcma_pt, 8);
	assert_int_equal(o.telev_pt, 110);
	assert_true(o.rtcp_mux);
	assert_true(o.bundle);
	assert_int_equal(o.dir, CH_WSDP_SENDRECV);
	assert_int_equal(o.n_media, 1);
	int pt;
	assert_int_equal(ch_wsdp_choose(&o, &pt), CH_WSDP_OPUS);
	assert_int_equal(pt, 111);
	/* the same offer with LF line ends only */
	s = load("lf_only.sdp", &len);
	assert_int_equal(ch_wsdp_parse(s, len, &o, &why), 0);
	assert_int_equal(o.opus_pt, 111);
}

static void test_firefox(void **state)
{
	(void)state;
	size_t len;
	const char *s = load("firefox.sdp", &len), *why = NULL;
	struct ch_wsdp_offer o;
	assert_int_equal(ch_wsdp_parse(s, len, &o, &why), 0);
	assert_string_equal(o.ice_ufrag, "2a9f4c1e");
	assert_int_equal(o.fingerprint[0], 11); /* session level, lower case */
	assert_int_equal(o.opus_pt, 109);
	assert_int_equal(o.telev_pt, -1); /* only /8000 offered, with Opus */
	assert_int_equal(o.telev8_pt, 101);
	assert_int_equal(o.n_media, 2);
	assert_string_equal(o.media_kind[1], "application");
	assert_string_equal(o.media_mid[1], "1");
	assert_true(o.bundle);
}

static void test_pcmu_only(void **state)
{
	(void)state;
	size_t len;
	const char *s = load("pcmu_only.sdp", &len), *why = NULL;
	struct ch_wsdp_offer o;
	assert_int_equal(ch_wsdp_parse(s, len, &o, &why), 0);
	/* rtpmaps of payload types not in the m-line are not taken */
	assert_int_equal(o.opus_pt, -1);
	assert_int_equal(o.pcma_pt, -1);
	int pt;
	assert_int_equal(ch_wsdp_choose(&o, &pt), CH_WSDP_PCMU);
	assert_int_equal(pt, 0);
	assert_int_equal(o.telev_pt, 126);
}

static const struct ch_wsdp_local local = {
    .ice_ufrag = "Chor",
    .ice_pwd = "abcdefghijklmnopqrstuvwx",
    .fingerprint = {0xAB, 0x01},
    .ip = "127.0.0.1",
    .port = 40002,
    .sess_id = 42,
    .ssrc = 1234,
};

/* Each line of want appears in text, in this order. */
static void in_order(const char *text, const char *const *want)
{
	const char *p = text;
	for (; *want; want++) {
		const char *q = strstr(p, *want);
		if (!q)
			fail_msg("missing or out of order: %s\n%s", *want,
			         text);
		p = q + strlen(*want);
	}
}

static void test_answer(void **state)
{
	(void)state;
	size_t len;
	const char *s = load("video_data.sdp", &len), *why = NULL;
	struct ch_wsdp_offer o;
	assert_int_equal(ch_wsdp_parse(s, len, &o, &why), 0);
	assert_int_equal(o.n_media, 3);
	assert_int_equal(o.audio_idx, 1);
	assert_string_equal(o.mid, "1");
	char ans[4096];
	size_t n = ch_wsdp_answer(&o, &local, ans, sizeof(ans));
	assert_true(n > 0 && n == strlen(ans));
	static const char *const want[] = {
	    "v=0\r\n",
	    "o=- 42 1 IN IP4 127.0.0.1\r\n",
	    "s=-\r\n",
	    "t=0 0\r\n",
	    "a=ice-lite\r\n",
	    "a=group:BUNDLE 1\r\n",
	    "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n",
	    "a=mid:0\r\n",
	    "m=audio 40002 UDP/TLS/RTP/SAVPF 111 110\r\n",
	    "c=IN IP4 127.0.0.1\r\n",
	    "a=rtcp:40002 IN IP4 127.0.0.1\r\n",
	    "a=mid:1\r\n",
	    "a=ice-ufrag:Chor\r\n",
	    "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n",
	    "a=fingerprint:sha-256 AB:01:00:",
	    "a=setup:passive\r\n",
	    "a=rtcp-mux\r\n",
	    "a=rtpmap:111 opus/48000/2\r\n",
	    "a=fmtp:111 minptime=10;useinbandfec=1\r\n",
	    "a=rtpmap:110 telephone-event/48000\r\n",
	    "a=ptime:20\r\n",
	    "a=sendrecv\r\n",
	    "a=ssrc:1234 cname:chorus\r\n",
	    "a=candidate:1 1 udp 2130706431 127.0.0.1 40002 typ host\r\n",
	    "a=end-of-candidates\r\n",
	    "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n",
	    "a=mid:2\r\n",
	    NULL};
	in_order(ans, want);
	assert_null(strstr(ans, "BUNDLE 1 ")); /* only the audio mid */
	/* too small a buffer: 0, never a cut answer */
	assert_int_equal(ch_wsdp_answer(&o, &local, ans, n), 0);
	assert_int_equal(ch_wsdp_answer(&o, &local, ans, n + 1), n);

	/* direction: a sendonly offer is answered recvonly */
	assert_int_equal(
	    parse_edit("chromium.sdp", "a=sendrecv", "a=sendonly", &o, &why),
	    0);
	n = ch_wsdp_answer(&o, &local, ans, sizeof(ans));
	assert_non_null(strstr(ans, "a=recvonly\r\n"));
}

/* libre's SDP decoder reads the answer's audio line back. */
static void test_answer_libre(void **state)
{
	(void)state;
	size_t len;
	const char *s = load("chromium.sdp", &len), *why = NULL;
	struct ch_wsdp_offer o;
	assert_int_equal(ch_wsdp_parse(s, len, &o, &why), 0);
	char ans[4096];
	size_t n = ch_wsdp_answer(&o, &local, ans, sizeof(ans));
	assert_true(n > 0);

	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct sa laddr;
	assert_int_equal(sa_set_str(&laddr, "127.0.0.1", 5000), 0);
	assert_int_equal(sdp_session_alloc(&sess, &laddr), 0);
	assert_int_equal(
	    sdp_media_add(&m, sess, "audio", 5000, "UDP/TLS/RTP/SAVPF"), 0);
	assert_int_equal(sdp_format_add(NULL, m, false, "111", "opus", 48000, 2,
	                                NULL, NULL, NULL, false, NULL),
	                 0);
	struct mbuf *mb = mbuf_alloc(n);
	assert_non_null(mb);
	mbuf_write_mem(mb, (const uint8_t *)ans, n);
	mb->pos = 0;
	assert_int_equal(sdp_decode(sess, mb, true), 0);
	assert_int_equal(sa_port(sdp_media_raddr(m)), 40002);
	const struct sdp_format *f = sdp_media_rformat(m, "opus");
	assert_non_null(f);
	assert_int_equal(f->pt, 111);
	assert_non_null(sdp_media_rattr(m, "ice-ufrag"));
	mem_deref(mb);
	mem_deref(sess);
}

struct refusal {
	const char *file, *from, *to, *why;
};

static void test_refusals(void **state)
{
	(void)state;
	static const struct refusal r[] = {
	    {"chromium.sdp", "v=0", "v=1", "v=0"},
	    {"chromium.sdp", "a=ice-ufrag:fL3x\r\n", NULL, "no ice-ufrag"},
	    {"chromium.sdp", "a=ice-pwd:Hb8kQ2mZ9pW4rT6yU1iO3aS5\r\n", NULL,
	     "no ice-pwd"},
	    {"chromium.sdp", "ice-ufrag:fL3x", "ice-ufrag:fL3", "ice-ufrag"},
	    {"chromium.sdp", "ice-ufrag:fL3x", "ice-ufrag:fL3x;", "ice-ufrag"},
	    {"chromium.sdp", "ice-pwd:Hb8kQ2mZ9pW4rT6yU1iO3aS5",
	     "ice-pwd:short", "ice-pwd"},
	    {"chromium.sdp", "sha-256", "sha-1", "not sha-256"},
	    {"chromium.sdp", "sha-256 0B:", "sha-256 0G:", "malformed"},
	    {"chromium.sdp", "sha-256 0B:", "sha-256 0B", "malformed"},
	    {"chromium.sdp", "a=setup:actpass\r\n", NULL, "no a=setup"},
	    {"chromium.sdp", "a=setup:actpass", "a=setup:passive", "passive"},
	    {"chromium.sdp", "a=setup:actpass", "a=setup:holdconn", "setup"},
	    {"chromium.sdp", "a=rtcp-mux\r\n", NULL, "rtcp-mux"},
	    {"chromium.sdp", "RTP/SAVPF 111", "RTP/AVP 111", "audio m-line"},
	    {"chromium.sdp", "m=audio 9", "m=audio 0", "audio m-line"},
	    {"chromium.sdp", "m=audio 9", "m=audio 99999", "malformed m-line"},
	    {"chromium.sdp", "SAVPF 111 63", "SAVPF 111 300", "out of range"},
	    {"chromium.sdp", "m=audio", "m=text", "audio m-line"},
	    {"chromium.sdp", "a=mid:0",
	     "a=mid:0123456789012345678901234567890123", "a=mid"},
	    {"chromium.sdp", "a=mid:0", "a=mid:a b", "a=mid"},
	    {"chromium.sdp", "t=0 0", "t=0 0\r\na=ice-lite", "ice-lite"},
	    {"chromium.sdp", "s=-", "garbage", "malformed line"},
	    {"pcmu_only.sdp", "a=rtpmap:0 PCMU/8000", "a=rtpmap:0 G729/8000",
	     "no opus"},
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		struct ch_wsdp_offer o;
		const char *why = NULL;
		int err = parse_edit(r[i].file, r[i].from, r[i].to, &o, &why);
		if (err != EPROTO || !why || !strstr(why, r[i].why))
			fail_msg("case %zu (%s -> %s): err %d why %s", i,
			         r[i].from, r[i].to ? r[i].to : "", err,
			         why ? why : "-");
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct ch_wsdp_offer o;
	const char *why = NULL;
	assert_int_equal(ch_wsdp_parse("", 0, &o, &why), EPROTO);
	assert_int_equal(ch_wsdp_parse(NULL, 10, &o, &why), EPROTO);
	/* over 64 KiB */
	size_t big = CH_WSDP_MAX_LEN + 1;
	char *b = malloc(big);
	assert_non_null(b);
	memset(b, 'a', big);
	memcpy(b, "v=0\n", 4);
	assert_int_equal(ch_wsdp_parse(b, big, &o, &why), EPROTO);
	assert_non_null(strstr(why, "64 KiB"));
	/* over 2,000 lines */
	size_t k = 0;
	memcpy(b, "v=0\n", 4);
	k = 4;
	for (int i = 0; i < 2100; i++) {
		memcpy(b + k, "a=x\n", 4);
		k += 4;
	}
	assert_int_equal(ch_wsdp_parse(b, k, &o, &why), EPROTO);
	assert_non_null(strstr(why, "2,000 lines"));
	/* nine m-lines */
	k = (size_t)snprintf(b, big, "v=0\n");
	for (int i = 0; i < 9; i++)
		k += (size_t)snprintf(b + k, big - k, "m=video 9 RTP/AVP 96\n");
	assert_int_equal(ch_wsdp_parse(b, k, &o, &why), EPROTO);
	assert_non_null(strstr(why, "too many m-lines"));
	/* a NUL inside */
	size_t len;
	char *s = load("chromium.sdp", &len);
	s[20] = '\0';
	assert_int_equal(ch_wsdp_parse(s, len, &o, &why), EPROTO);
	/* cut anywhere: never a crash, and no success without the needed lines
	 */
	s = load("chromium.sdp", &len);
	for (size_t cut = 0; cut < 200; cut++)
		assert_int_equal(ch_wsdp_parse(s, cut, &o, &why), EPROTO);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chromium),
	    cmocka_unit_test(test_firefox),
	    cmocka_unit_test(test_pcmu_only),
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_answer_libre),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
