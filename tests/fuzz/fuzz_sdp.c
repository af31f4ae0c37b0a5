/*
 * fuzz_sdp.c: libFuzzer target for Chorus's SDP offer/answer (sip/sdp_neg.c
 * on libre's sdp module).
 *
 * The input is taken as a remote description twice, as chorusd meets one,
 * after the raw check ch_sip_sdp_check() (chorusd answers 488 when it
 * fails, and nothing is decoded):
 *  - as an OFFER (dial-in INVITE, re-INVITE): sdp_decode(offer) into our
 *    session, ch_sip_sdp_choose(), then sdp_encode() of our answer, which
 *    must decode again in a fresh offerer session (we never send what we
 *    cannot read back);
 *  - as an ANSWER (dial-out 200 OK): our offer is encoded first, then the
 *    input is decoded with offer=false and ch_sip_sdp_choose() runs on it.
 * Invariants of a successful choice abort when broken: a codec Chorus
 * knows and, for Opus, a 48 kHz clock; the remote address set, not
 * multicast nor broadcast; the check leaves the buffer where it was.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_int.h"

#include <re_main.h>

/* CH_FUZZ_STRICT=1 in the environment: also check that the chosen PT is
 * the remote one and fits RTP, and that our answer parses back and names
 * the codec we run. Off by default, as all three are known to fail:
 * sdp_neg.c keeps the low 8 bits of a PT ("RTP/AVP 300"); it takes the
 * remote's name for a static PT that libre matched by number ("RTP/AVP 0"
 * with "a=rtpmap:0 PCMA/8000": we answer PCMU, run PCMA); libre echoes a
 * rejected m= line's proto, garbage included, into our answer. */
static bool strict;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static struct mbuf *mbuf_of(const uint8_t *d, size_t n)
{
	struct mbuf *mb = mbuf_alloc(n ? n : 1);
	if (!mb)
		return NULL;
	if (n && mbuf_write_mem(mb, d, n)) {
		mem_deref(mb);
		return NULL;
	}
	mb->pos = 0;
	return mb;
}

static void check_choice(struct sdp_media *m, int err,
                         const struct ch_media_leg_params *p,
                         const struct sa *remote)
{
	if (err) {
		check(err == ENOENT);
		return;
	}
	check(p->codec == CH_CODEC_PCMU || p->codec == CH_CODEC_PCMA ||
	      p->codec == CH_CODEC_G722 || p->codec == CH_CODEC_OPUS);
	check(p->dir <= CH_DIR_INACTIVE);
	check(p->remote == remote && sa_isset(remote, SA_ADDR));
	if (sa_af(remote) == AF_INET)
		check((sa_in(remote) >> 28) != 0xe &&
		      sa_in(remote) != 0xffffffffu);
	check(p->telev_pt >= -1);
	/* the codec is in the remote list (Opus at 48 kHz) */
	static const char *const names[] = {[CH_CODEC_PCMU] = "PCMU",
	                                    [CH_CODEC_PCMA] = "PCMA",
	                                    [CH_CODEC_G722] = "G722",
	                                    [CH_CODEC_OPUS] = "opus"};
	const struct sdp_format *f =
	    sdp_media_format(m, false, NULL, -1, names[p->codec],
	                     p->codec == CH_CODEC_OPUS ? 48000 : -1, -1);
	/* or a static PT offered without a=rtpmap (0 PCMU, 8 PCMA) */
	if (!f && p->codec != CH_CODEC_OPUS) {
		f = sdp_media_format(m, false,
		                     p->codec == CH_CODEC_PCMU   ? "0"
		                     : p->codec == CH_CODEC_PCMA ? "8"
		                                                 : "9",
		                     -1, NULL, -1, -1);
	}
	check(f != NULL);
	if (strict)
		check(p->pt == f->pt && f->pt >= 0 && f->pt <= 127);
}

/* Strict: our answer parses back and, read as an offer, leads to the same
 * codec and PT (libre answers in the offer's order with its PTs). */
static void check_answer_readable(struct mbuf *answer,
                                  const struct ch_media_leg_params *chosen)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct ch_media_leg_params p;
	struct sa laddr, remote;

	sa_set_str(&laddr, "127.0.0.1", 30000);
	if (!strict || ch_sip_sdp_alloc(&sess, &m, &laddr))
		return;
	answer->pos = 0;
	check(sdp_decode(sess, answer, true) == 0);
	check(ch_sip_sdp_choose(m, &p, &remote) == 0);
	check(p.codec == chosen->codec && p.pt == chosen->pt);
	mem_deref(sess);
}

/* As chorusd: the raw check first; it must not move the buffer. */
static bool checked(struct mbuf *mb)
{
	size_t pos = mb->pos, end = mb->end;
	int err = ch_sip_sdp_check(mb, NULL);
	check(mb->pos == pos && mb->end == end);
	return !err;
}

/* The input as the far end's offer: chorusd answers it. */
static void as_offer(const uint8_t *d, size_t n)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct mbuf *mb = mbuf_of(d, n), *answer = NULL;
	struct ch_media_leg_params p;
	struct sa laddr, remote;
	int err;

	sa_set_str(&laddr, "127.0.0.1", 20000);
	if (!mb || !checked(mb) || ch_sip_sdp_alloc(&sess, &m, &laddr))
		goto out;
	if (sdp_decode(sess, mb, true))
		goto out;
	memset(&remote, 0, sizeof(remote));
	err = ch_sip_sdp_choose(m, &p, &remote);
	check_choice(m, err, &p, &remote);
	if (err)
		goto out;
	if (!sdp_encode(&answer, sess, false))
		check_answer_readable(answer, &p);
out:
	mem_deref(answer);
	mem_deref(sess);
	mem_deref(mb);
}

/* The input as the answer to chorusd's dial-out offer. */
static void as_answer(const uint8_t *d, size_t n)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	struct mbuf *mb = mbuf_of(d, n), *offer = NULL;
	struct ch_media_leg_params p;
	struct sa laddr, remote;

	sa_set_str(&laddr, "127.0.0.1", 20002);
	if (!mb || !checked(mb) || ch_sip_sdp_alloc(&sess, &m, &laddr))
		goto out;
	if (sdp_encode(&offer, sess, true))
		goto out;
	if (sdp_decode(sess, mb, false))
		goto out;
	memset(&remote, 0, sizeof(remote));
	check_choice(m, ch_sip_sdp_choose(m, &p, &remote), &p, &remote);
out:
	mem_deref(offer);
	mem_deref(sess);
	mem_deref(mb);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strict = getenv("CH_FUZZ_STRICT") != NULL;
	return libre_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	as_offer(d, n);
	as_answer(d, n);
	return 0;
}
