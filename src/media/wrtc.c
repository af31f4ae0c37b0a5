/*
 * wrtc.c: a WebRTC leg's transport on its media worker (see wrtc.h): one
 * socket carries STUN, DTLS and SRTP/SRTCP, told apart by their first
 * byte (RFC 7983). Connectivity checks are answered here as an ICE-lite
 * agent; the source of the last valid check is the only peer whose DTLS,
 * SRTP and SRTCP are taken (everything else is dropped and counted as
 * rejected). Runs on the leg's worker only: no lock, no logging; libre's
 * SRTP allocates once per new SSRC (at most 8 per leg), nothing per
 * packet.
 */
#include "media/wrtc.h"
#include "media/leg.h"
#include "media/rtp.h"
#include "media/stun.h"
#include "media/worker.h"

#include <re_mbuf.h>
#include <re_srtp.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* RFC 7983 first-byte ranges. */
static bool is_dtls(uint8_t b)
{
	return b >= 20 && b <= 63;
}

static bool is_rtp(uint8_t b)
{
	return b >= 128 && b <= 191;
}

static void reject(struct ch_media_leg *l)
{
	ch_media_ctr_add(&l->ctr.rejected, 1);
}

/* A valid check from src: src becomes (or stays) the peer. The first
 * valid check picks it; a nomination (USE-CANDIDATE) from another
 * address moves it (the controlling agent chose that pair). */
static void checked(struct ch_media_worker *w, struct ch_media_leg *l,
                    const struct ch_stun_req *rq, const struct sa *src)
{
	struct ch_media_wrtc *x = l->wrtc;
	bool same = x->have_peer && sa_cmp(src, &x->peer, SA_ALL);

	if (!same && (!x->have_peer || rq->use_candidate)) {
		x->peer = *src;
		x->have_peer = true;
		x->nominated = rq->use_candidate;
		ch_media_leg_lock(l, src);
		atomic_store_explicit(&x->selected, true, memory_order_relaxed);
		same = true;
	} else if (same && rq->use_candidate) {
		x->nominated = true;
	}
	if (same)
		x->consent_ms = w->now_ms;
}

static void stun_rx(struct ch_media_worker *w, struct ch_media_leg *l,
                    const uint8_t *buf, size_t len, const struct sa *src)
{
	struct ch_media_wrtc *x = l->wrtc;
	struct ch_stun_req rq;
	int err = ch_stun_check(w->stun, buf, len, x->ufrag, x->pwd, &rq);

	if (err) {
		/* indications and responses are not for a lite agent */
		if (err != ENOTSUP)
			reject(l);
		return;
	}
	checked(w, l, &rq, src);
	size_t n =
	    ch_stun_answer(w->stun, &rq, src, x->pwd, w->sbuf, sizeof(w->sbuf));
	if (n)
		(void)sendto(l->fd_rtp, w->sbuf, n, MSG_DONTWAIT, &src->u.sa,
		             src->len);
}

static void dtls_rx(struct ch_media_worker *w, struct ch_media_leg *l,
                    const uint8_t *buf, size_t len, const struct sa *src)
{
	struct ch_media_wrtc *x = l->wrtc;
	uint32_t head = atomic_load_explicit(&x->head, memory_order_acquire);
	uint32_t tail = atomic_load_explicit(&x->tail, memory_order_relaxed);

	if (len > CH_MEDIA_DTLS_MAX || tail - head >= CH_MEDIA_DTLS_SLOTS) {
		ch_media_ctr_add(&x->dtls_dropped, 1);
		return;
	}
	struct ch_media_dtls_slot *s = &x->slot[tail % CH_MEDIA_DTLS_SLOTS];
	memcpy(s->buf, buf, len);
	s->len = (uint16_t)len;
	s->src = *src;
	atomic_store_explicit(&x->tail, tail + 1, memory_order_release);
	/* one event per datagram: a handshake is a handful of them; one
	 * lost to a full ring is read with the next */
	struct ch_media_ev ev = {
	    .type = CH_MEDIA_EV_DTLS, .id = l->id, .ptr = l};
	(void)ch_media_worker_emit(w, &ev);
}

static void srtp_rx(struct ch_media_worker *w, struct ch_media_leg *l,
                    uint8_t *buf, size_t len, size_t cap, const struct sa *src)
{
	struct ch_media_wrtc *x = l->wrtc;
	bool rtcp = ch_rtp_is_rtcp(buf, len);

	/* libre writes the 4-byte roll-over counter past the packet while
	 * it checks the tag: the buffer must have room, never a resize */
	if (!x->srtp_rx || len + 16 > cap) {
		reject(l);
		return;
	}
	struct mbuf mb = {.buf = buf, .size = cap, .pos = 0, .end = len};
	int err = rtcp ? srtcp_decrypt(x->srtp_rx, &mb)
	               : srtp_decrypt(x->srtp_rx, &mb);
	if (err || mb.end > len) {
		reject(l);
		return;
	}
	if (rtcp)
		ch_media_leg_rx_rtcp(w, l, buf, mb.end, src);
	else
		ch_media_leg_rx_rtp(w, l, buf, mb.end, src);
}

void ch_media_wrtc_rx(struct ch_media_worker *w, struct ch_media_leg *l,
                      uint8_t *buf, size_t len, size_t cap,
                      const struct sa *src)
{
	struct ch_media_wrtc *x = l->wrtc;

	if (len == 0)
		return;
	if (buf[0] <= 3) {
		stun_rx(w, l, buf, len, src);
		return;
	}
	/* DTLS and media only from the peer a valid check chose */
	if (!x->have_peer || !sa_cmp(src, &x->peer, SA_ALL)) {
		reject(l);
		return;
	}
	if (is_dtls(buf[0]))
		dtls_rx(w, l, buf, len, src);
	else if (is_rtp(buf[0]))
		srtp_rx(w, l, buf, len, cap, src);
	else
		reject(l);
}

bool ch_media_wrtc_can_send(const struct ch_media_worker *w,
                            const struct ch_media_leg *l)
{
	const struct ch_media_wrtc *x = l->wrtc;
	return x->srtp_tx && x->have_peer &&
	       w->now_ms - x->consent_ms <= CH_MEDIA_CONSENT_MS;
}

bool ch_media_wrtc_send(struct ch_media_worker *w, struct ch_media_leg *l,
                        const uint8_t *hdr, size_t hlen, const uint8_t *pl,
                        size_t plen, bool rtcp)
{
	struct ch_media_wrtc *x = l->wrtc;
	uint8_t *b = w->sbuf;

	if (!ch_media_wrtc_can_send(w, l) || hlen + plen + 32 > sizeof(w->sbuf))
		return false;
	memcpy(b, hdr, hlen);
	if (plen)
		memcpy(b + hlen, pl, plen);
	struct mbuf mb = {
	    .buf = b, .size = sizeof(w->sbuf), .pos = 0, .end = hlen + plen};
	int err = rtcp ? srtcp_encrypt(x->srtp_tx, &mb)
	               : srtp_encrypt(x->srtp_tx, &mb);
	if (err)
		return false;
	return sendto(l->fd_rtp, b, mb.end, MSG_DONTWAIT, &x->peer.u.sa,
	              x->peer.len) >= 0;
}
