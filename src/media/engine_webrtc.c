/*
 * engine_webrtc.c: the control-thread side of WebRTC legs (engine.h,
 * "WebRTC legs"): the transport handed to the worker, the SRTP contexts
 * made from the DTLS keys, the DTLS inbox read and DTLS sends from the
 * leg's socket. The worker's side is wrtc.c. Control thread only.
 */
#include "media/engine_internal.h"
#include "media/wrtc.h"

#include <re_mem.h>
#include <re_srtp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ice-char (RFC 8839): ALPHA / DIGIT / "+" / "/" */
static bool ice_ok(const char *s, size_t lo)
{
	size_t n = s ? strlen(s) : 0;
	if (n < lo || n > CH_MEDIA_ICE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

static unsigned worker_of(struct ch_media_engine *eng, struct leg_rec *lr)
{
	return eng->rooms[lr->room - 1].worker;
}

int ch_media_leg_webrtc(struct ch_media_engine *eng, uint32_t leg,
                        const char *ufrag, const char *pwd)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	if (!lr)
		return ENOENT;
	if (lr->wrtc)
		return EALREADY;
	if (!ice_ok(ufrag, 4) || !ice_ok(pwd, 22))
		return EINVAL;
	struct ch_media_wrtc *x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	snprintf(x->ufrag, sizeof(x->ufrag), "%s", ufrag);
	snprintf(x->pwd, sizeof(x->pwd), "%s", pwd);
	atomic_init(&x->head, 0);
	atomic_init(&x->tail, 0);
	lr->wrtc = x;
	struct ch_media_cmd cmd = {
	    .type = CH_MEDIA_CMD_LEG_WEBRTC, .leg = lr->leg, .wrtc = x};
	ch_media_engine_submit(eng, worker_of(eng, lr), &cmd);
	return 0;
}

int ch_media_leg_srtp(struct ch_media_engine *eng, uint32_t leg, int suite,
                      const uint8_t *rx_key, const uint8_t *tx_key,
                      size_t key_len)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	struct srtp *rx = NULL, *tx = NULL;
	if (!lr || !lr->wrtc)
		return ENOENT;
	if (lr->srtp_rx)
		return EALREADY;
	if (!rx_key || !tx_key)
		return EINVAL;
	int err = srtp_alloc(&rx, (enum srtp_suite)suite, rx_key, key_len, 0);
	if (!err)
		err =
		    srtp_alloc(&tx, (enum srtp_suite)suite, tx_key, key_len, 0);
	if (err) {
		mem_deref(rx);
		mem_deref(tx);
		return err;
	}
	lr->srtp_rx = rx;
	lr->srtp_tx = tx;
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_LEG_SRTP,
	                           .leg = lr->leg,
	                           .srtp_rx = rx,
	                           .srtp_tx = tx};
	ch_media_engine_submit(eng, worker_of(eng, lr), &cmd);
	return 0;
}

size_t ch_media_leg_dtls_read(struct ch_media_engine *eng, uint32_t leg,
                              uint8_t *buf, size_t cap, struct sa *src)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	if (!lr || !lr->wrtc || !buf)
		return 0;
	struct ch_media_wrtc *x = lr->wrtc;
	uint32_t head = atomic_load_explicit(&x->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&x->tail, memory_order_acquire);
	if (head == tail)
		return 0;
	const struct ch_media_dtls_slot *s =
	    &x->slot[head % CH_MEDIA_DTLS_SLOTS];
	size_t n = s->len <= cap ? s->len : 0; /* too big: dropped */
	if (n)
		memcpy(buf, s->buf, n);
	if (src)
		*src = s->src;
	atomic_store_explicit(&x->head, head + 1, memory_order_release);
	return n ? n : ch_media_leg_dtls_read(eng, leg, buf, cap, src);
}

int ch_media_leg_sendto(struct ch_media_engine *eng, uint32_t leg,
                        const uint8_t *buf, size_t len, const struct sa *dst)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	if (!lr)
		return ENOENT;
	if (!buf || !dst || !sa_isset(dst, SA_ALL))
		return EINVAL;
	/* the socket is the worker's; a datagram send is atomic */
	if (sendto(lr->leg->fd_rtp, buf, len, MSG_DONTWAIT, &dst->u.sa,
	           dst->len) < 0)
		return errno;
	return 0;
}

bool ch_media_leg_ice_selected(struct ch_media_engine *eng, uint32_t leg)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	return lr && lr->wrtc &&
	       atomic_load_explicit(&lr->wrtc->selected, memory_order_relaxed);
}

void ch_media_engine_wrtc_free(struct leg_rec *rec)
{
	mem_deref(rec->srtp_rx);
	mem_deref(rec->srtp_tx);
	free(rec->wrtc);
	rec->srtp_rx = rec->srtp_tx = NULL;
	rec->wrtc = NULL;
}
