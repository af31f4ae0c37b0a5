/*
 * webrtc_dtls.c: DTLS-SRTP for WebRTC legs on libre's DTLS (see
 * webrtc_dtls.h). libre's DTLS sits on a libre UDP socket; the leg's
 * socket belongs to its media worker, so each leg gets a libre socket
 * bound to an ephemeral loopback port that never carries a datagram: the
 * peer's datagrams are fed in with dtls_recv_packet and a UDP helper below
 * the DTLS layer hands every datagram DTLS sends to the leg's socket.
 */
#include "webrtc/webrtc_dtls.h"
#include "util/log.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_udp.h>
#include <re_srtp.h> /* before re_tls.h: its enum srtp_suite */
#include <re_tls.h>

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#define LOG_MOD "webrtc"
/* UDP helper layers: DTLS above, the hand-over to the leg's socket below */
#define LAYER_DTLS 10
#define LAYER_SEND 0
/* SRTP_AES128_CM_SHA1_80 master key (16) + salt (14) */
#define KEY_LEN 30

struct ch_webrtc_dtls {
	struct udp_sock *us;
	struct udp_helper *uh;
	struct dtls_sock *ds;
	struct tls *tls; /* borrowed */
	struct tls_conn *tc;
	uint8_t remote_fp[32];
	ch_webrtc_dtls_send_h *sendh;
	ch_webrtc_dtls_estab_h *estabh;
	ch_webrtc_dtls_close_h *closeh;
	void *arg;
	bool established; /* keys handed over */
	bool closed;      /* closeh called (or being freed): no more */
};

int ch_webrtc_dtls_cert(struct tls **tlsp, uint8_t fp[32])
{
	struct tls *tls = NULL;
	int err = tls_alloc(&tls, TLS_METHOD_DTLS, NULL, NULL);
	if (!err)
		err = tls_set_selfsigned_rsa(tls, "chorus", 2048);
	if (!err)
		err = tls_set_srtp(tls, "SRTP_AES128_CM_SHA1_80");
	if (!err) {
		tls_set_verify_client(tls);
		err = tls_fingerprint(tls, TLS_FINGERPRINT_SHA256, fp, 32);
	}
	if (err) {
		mem_deref(tls);
		return err;
	}
	*tlsp = tls;
	return 0;
}

static bool send_helper(int *err, struct sa *dst, struct mbuf *mb, void *arg)
{
	struct ch_webrtc_dtls *d = arg;
	*err = d->sendh(mbuf_buf(mb), mbuf_get_left(mb), dst, d->arg);
	return true; /* never the placeholder socket */
}

static bool recv_nothing(struct sa *src, struct mbuf *mb, void *arg)
{
	(void)src;
	(void)mb;
	(void)arg;
	return true; /* the placeholder socket takes nothing */
}

static void finish(struct ch_webrtc_dtls *d, int err)
{
	if (d->closed)
		return;
	d->closed = true;
	d->closeh(err, d->arg);
}

static void estab_h(void *arg)
{
	struct ch_webrtc_dtls *d = arg;
	uint8_t md[32], rx[KEY_LEN], tx[KEY_LEN];
	enum srtp_suite suite;

	if (d->closed || d->established)
		return;
	int err =
	    tls_peer_fingerprint(d->tc, TLS_FINGERPRINT_SHA256, md, sizeof(md));
	if (err || CRYPTO_memcmp(md, d->remote_fp, sizeof(md))) {
		ch_log_warn(LOG_MOD, "DTLS peer certificate does not match "
		                     "the SDP fingerprint: refused");
		d->tc = mem_deref(d->tc);
		finish(d, EAUTH);
		return;
	}
	err = tls_srtp_keyinfo(d->tc, &suite, rx, sizeof(rx), tx, sizeof(tx));
	if (err) {
		ch_log_warn(LOG_MOD, "DTLS: no SRTP keys (%s)", strerror(err));
		d->tc = mem_deref(d->tc);
		finish(d, err);
		return;
	}
	d->established = true; /* from here on only a close is reported */
	d->estabh((int)suite, rx, tx, KEY_LEN, d->arg);
	memset(rx, 0, sizeof(rx));
	memset(tx, 0, sizeof(tx));
}

static void recv_h(struct mbuf *mb, void *arg)
{
	(void)mb; /* no data channel: application data is ignored */
	(void)arg;
}

static void close_h(int err, void *arg)
{
	struct ch_webrtc_dtls *d = arg;
	/* libre has shut the connection; it is freed with d (not here:
	 * libre may still be in it) */
	finish(d, err);
}

static void conn_h(const struct sa *peer, void *arg)
{
	struct ch_webrtc_dtls *d = arg;
	(void)peer;
	if (d->tc || d->closed || d->established)
		return; /* one connection per leg */
	int err =
	    dtls_accept(&d->tc, d->tls, d->ds, estab_h, recv_h, close_h, d);
	if (err) {
		ch_log_warn(LOG_MOD, "DTLS accept failed: %s", strerror(err));
		finish(d, err);
	}
}

static void destructor(void *arg)
{
	struct ch_webrtc_dtls *d = arg;
	d->closed = true;
	mem_deref(d->tc); /* close_notify, through the helper */
	mem_deref(d->ds);
	mem_deref(d->uh);
	mem_deref(d->us);
}

int ch_webrtc_dtls_alloc(struct ch_webrtc_dtls **dp, struct tls *tls,
                         const uint8_t remote_fp[32],
                         ch_webrtc_dtls_send_h *sendh,
                         ch_webrtc_dtls_estab_h *estabh,
                         ch_webrtc_dtls_close_h *closeh, void *arg)
{
	struct sa lo;
	if (!dp || !tls || !remote_fp || !sendh || !estabh || !closeh)
		return EINVAL;
	struct ch_webrtc_dtls *d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;
	d->tls = tls;
	memcpy(d->remote_fp, remote_fp, sizeof(d->remote_fp));
	d->sendh = sendh;
	d->estabh = estabh;
	d->closeh = closeh;
	d->arg = arg;
	int err = sa_set_str(&lo, "127.0.0.1", 0);
	if (!err)
		err = udp_listen(&d->us, &lo, NULL, NULL);
	if (!err)
		err = udp_register_helper(&d->uh, d->us, LAYER_SEND,
		                          send_helper, recv_nothing, d);
	if (!err)
		err =
		    dtls_listen(&d->ds, NULL, d->us, 2, LAYER_DTLS, conn_h, d);
	if (err) {
		mem_deref(d);
		return err;
	}
	*dp = d;
	return 0;
}

void ch_webrtc_dtls_input(struct ch_webrtc_dtls *d, const struct sa *src,
                          const uint8_t *buf, size_t len)
{
	if (!d || !src || !buf || !len)
		return;
	/* libre keeps a reference to a new connection's first datagram: a
	 * mem object, not a borrowed buffer */
	struct mbuf *mb = mbuf_alloc(len);
	if (!mb)
		return;
	(void)mbuf_write_mem(mb, buf, len);
	mb->pos = 0;
	dtls_recv_packet(d->ds, src, mb);
	mem_deref(mb);
}
