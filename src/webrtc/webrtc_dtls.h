/*
 * webrtc_dtls.h: the DTLS-SRTP side of a WebRTC leg (RFC 5763/5764) on
 * the control thread: chorusd is the DTLS server (a=setup:passive), the
 * datagrams come from the media worker's inbox (ch_media_leg_dtls_read)
 * and go out through the leg's own socket (a send handler), the peer's
 * certificate must match the SDP's a=fingerprint, and the SRTP keys are
 * handed over once the handshake is done.
 *
 * Threads: control thread only (libre's DTLS timers run on its loop).
 * Ownership: a struct ch_webrtc_dtls is a libre mem object its creator
 * owns; mem_deref closes the connection (a close_notify to the peer) and
 * calls no handler from then on.
 */
#ifndef CH_WEBRTC_DTLS_H
#define CH_WEBRTC_DTLS_H

#include <stddef.h>
#include <stdint.h>

struct sa;
struct tls;
struct ch_webrtc_dtls;

/* The server's certificate, once per process: a self-signed RSA 2048
 * certificate (tls_set_selfsigned_rsa: OpenSSL 3), DTLS, the SRTP
 * profile SRTP_AES128_CM_SHA1_80, client certificates asked for. *tlsp is
 * a libre mem object; fp gets its SHA-256 fingerprint. 0 or errno
 * (ENOSYS: libre built without DTLS-SRTP). */
int ch_webrtc_dtls_cert(struct tls **tlsp, uint8_t fp[32]);

/* Sends one datagram to dst from the leg's socket; 0 or errno. */
typedef int(ch_webrtc_dtls_send_h)(const uint8_t *buf, size_t len,
                                   const struct sa *dst, void *arg);
/* The handshake is done and the peer's certificate matched: the SRTP
 * suite (libre enum srtp_suite) and the master keys+salts, the peer's
 * (rx) and ours (tx). */
typedef void(ch_webrtc_dtls_estab_h)(int suite, const uint8_t *rx_key,
                                     const uint8_t *tx_key, size_t key_len,
                                     void *arg);
/* The connection ended: the peer closed it (0), the handshake failed or
 * the fingerprint did not match (EAUTH), or it timed out. Called once;
 * the object may be freed from inside. */
typedef void(ch_webrtc_dtls_close_h)(int err, void *arg);

/* A DTLS server for one leg that takes the first connection only.
 * remote_fp: the SDP's sha-256 fingerprint (copied). tls is borrowed
 * (ch_webrtc_dtls_cert's). */
int ch_webrtc_dtls_alloc(struct ch_webrtc_dtls **dp, struct tls *tls,
                         const uint8_t remote_fp[32],
                         ch_webrtc_dtls_send_h *sendh,
                         ch_webrtc_dtls_estab_h *estabh,
                         ch_webrtc_dtls_close_h *closeh, void *arg);

/* One datagram from the peer (src: the ICE-chosen address). */
void ch_webrtc_dtls_input(struct ch_webrtc_dtls *d, const struct sa *src,
                          const uint8_t *buf, size_t len);

#endif
