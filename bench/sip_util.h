/*
 * sip_util.h: the libre pieces the SIP load generators in bench/ share: a
 * SIP user agent on one UDP address that declines incoming calls, an SDP
 * offer of one audio codec, and sending one RTP packet.
 *
 * Header-only (static functions), as load_util.h (which it includes):
 * bench/CMakeLists.txt builds one program from each bench_*.c. Everything here
 * runs on the caller's libre main thread.
 */
#ifndef CH_BENCH_SIP_UTIL_H
#define CH_BENCH_SIP_UTIL_H

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_main.h>
#include <re_tmr.h>
#include <re_sys.h>
#include <re_uri.h>
#include <re_msg.h>
#include <re_dns.h>
#include <re_sip.h>
#include <re_sipsess.h>
#include <re_sdp.h>
#include <re_rtp.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "load_util.h"

/* One SIP user agent (libre stack, UDP on local_ip:0, a session socket).
 * Owned by the program's main thread; su_ua_close() frees it. */
struct su_ua {
	struct dnsc *dnsc;
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sa laddr; /* our SIP address */
};

/* Incoming INVITEs are not taken. */
static inline void su_decline_h(const struct sip_msg *msg, void *arg)
{
	struct su_ua *ua = arg;
	(void)sip_treply(NULL, ua->sip, msg, 603, "Decline");
}

/* Opens ua on local_ip; exith runs once sip_close() has finished every
 * transaction. Returns 0 or an errno. */
static inline int su_ua_open(struct su_ua *ua, const char *local_ip,
                             sip_exit_h *exith, void *arg)
{
	struct sa dns, laddr;
	int err;

	(void)sa_set_str(&dns, "127.0.0.1", 53);
	err = dnsc_alloc(&ua->dnsc, NULL, &dns, 1);
	if (!err)
		err = sip_alloc(&ua->sip, ua->dnsc, 64, 64, 64, "chorus-load",
		                exith, arg);
	if (!err)
		err = sa_set_str(&laddr, local_ip, 0);
	if (!err)
		err = sip_transp_add(ua->sip, SIP_TRANSP_UDP, &laddr);
	if (!err)
		err =
		    sip_transp_laddr(ua->sip, &ua->laddr, SIP_TRANSP_UDP, NULL);
	if (!err)
		err = sipsess_listen(&ua->sock, ua->sip, 64, su_decline_h, ua);
	return err;
}

static inline void su_ua_close(struct su_ua *ua)
{
	ua->sock = mem_deref(ua->sock);
	if (ua->sip)
		sip_close(ua->sip, true);
	ua->sip = mem_deref(ua->sip);
	ua->dnsc = mem_deref(ua->dnsc);
}

/* A new SDP session at laddr offering one audio codec (pt, name, srate,
 * ch, fmtp or NULL) with ptime 20 and rtcp-mux; *descp gets the encoded
 * offer (mem_deref() it). */
static inline int su_sdp_offer(struct sdp_session **sdpp,
                               struct sdp_media **sdpmp, const struct sa *laddr,
                               const char *pt, const char *name, uint32_t srate,
                               uint8_t ch, const char *fmtp,
                               struct mbuf **descp)
{
	int err = sdp_session_alloc(sdpp, laddr);
	if (!err)
		err = sdp_media_add(sdpmp, *sdpp, "audio", sa_port(laddr),
		                    "RTP/AVP");
	if (!err)
		err = sdp_format_add(NULL, *sdpmp, false, pt, name, srate, ch,
		                     NULL, NULL, NULL, false, fmtp);
	if (!err)
		err = sdp_media_set_lattr(*sdpmp, true, "ptime", "20");
	if (!err)
		err = sdp_media_set_lattr(*sdpmp, true, "rtcp-mux", NULL);
	if (!err)
		err = sdp_encode(descp, *sdpp, true);
	return err;
}

/* The far end's media address and its PT for codec name, from sdpm.
 * Returns 0, or EPROTO when the answer lacks either. */
static inline int su_sdp_take(const struct sdp_media *sdpm, const char *name,
                              struct sa *raddr, int *pt)
{
	const struct sdp_format *f = sdp_media_rformat(sdpm, name);
	if (!f || !sa_isset(sdp_media_raddr(sdpm), SA_ALL))
		return EPROTO;
	*raddr = *sdp_media_raddr(sdpm);
	*pt = f->pt;
	return 0;
}

/* Sends one RTP packet (marker m, pt, seq, ts, ssrc, payload) on fd to
 * dst. Returns true when the kernel took it. */
static inline bool su_rtp_send(int fd, const struct sa *dst, bool m, uint8_t pt,
                               uint16_t seq, uint32_t ts, uint32_t ssrc,
                               const uint8_t *pl, size_t len)
{
	uint8_t buf[512];
	struct mbuf mb = {.buf = buf, .size = sizeof(buf), .pos = 0, .end = 0};
	struct rtp_header h;

	memset(&h, 0, sizeof(h));
	h.ver = RTP_VERSION;
	h.m = m;
	h.pt = pt;
	h.seq = seq;
	h.ts = ts;
	h.ssrc = ssrc;
	if (rtp_hdr_encode(&mb, &h) || mbuf_write_mem(&mb, pl, len))
		return false;
	return sendto(fd, buf, mb.end, 0, &dst->u.sa, dst->len) >= 0;
}

/* A timerfd for lu_pace_tick(), armed 5 ms from now and watched by h on
 * the libre loop. Returns 0 or an errno; *tfd stays -1 on failure. */
static inline int su_pacer_open(int *tfd, fd_h *h)
{
	*tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (*tfd < 0)
		return errno;
	lu_timerfd_arm(*tfd, lu_now_ns() + 5000000ull);
	return fd_listen(*tfd, FD_READ, h, NULL);
}

/* Stops watching fd and closes it; -1 is none. */
static inline void su_fd_close(int fd)
{
	if (fd < 0)
		return;
	fd_close(fd);
	close(fd);
}

/* True when the datagram is RTCP (SR, RR, SDES, BYE, APP) on a muxed
 * port rather than RTP. */
static inline bool su_is_rtcp(const uint8_t *buf)
{
	return (buf[1] & 0x7f) >= 72 && (buf[1] & 0x7f) <= 76;
}

#endif
