/*
 * sip_util.h: the libre pieces the SIP load generators in bench/ share: a
 * SIP user agent on one UDP address that declines incoming calls, an SDP
 * offer of one audio codec, one outgoing call offering it (su_call), the
 * dialer that starts many calls a few at a time (su_dialer), the phases of
 * a run (su_run: joins, settle, window, hang-up), and sending one RTP
 * packet.
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

/* ---- one outgoing call ---- */

/*
 * One call of a load generator: an INVITE from the user agent offering one
 * codec at laddr; once answered, the far end's media address and its PT
 * for the codec. The owner fills estab_h, close_h and arg before
 * su_call_connect(): estab_h(arg) runs when the call is established,
 * close_h(err, msg, arg) when it ends or fails (msg: the final answer of
 * a refused INVITE, or NULL), sess already released then. Owned by the
 * program's main thread (libre handlers); su_call_close() frees it.
 */
struct su_call {
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	const char *codec; /* SDP name of the codec offered */
	struct sa raddr;   /* where to send, once media */
	int rx_pt;         /* the far end's PT for codec */
	bool media;        /* raddr and rx_pt are known */
	void (*estab_h)(void *arg);
	void (*close_h)(int err, const struct sip_msg *msg, void *arg);
	void *arg;
};

/* The far end's SDP (decoded into c->sdp): where to send, its PT. */
static inline int su_call_take(struct su_call *c)
{
	int err = su_sdp_take(c->sdpm, c->codec, &c->raddr, &c->rx_pt);
	c->media = !err;
	return err;
}

static inline int su_call_offer_h(struct mbuf **descp,
                                  const struct sip_msg *msg, void *arg)
{
	struct su_call *c = arg;
	int err = sdp_decode(c->sdp, msg->mb, true);
	if (!err)
		err = su_call_take(c);
	if (!err)
		err = sdp_encode(descp, c->sdp, false);
	return err;
}

static inline int su_call_answer_h(const struct sip_msg *msg, void *arg)
{
	struct su_call *c = arg;
	int err = sdp_decode(c->sdp, msg->mb, false);
	if (!err)
		err = su_call_take(c);
	if (err)
		re_fprintf(stderr, "call to %r: unusable SDP answer\n",
		           &msg->to.auri);
	return err;
}

static inline void su_call_estab_h(const struct sip_msg *msg, void *arg)
{
	struct su_call *c = arg;
	(void)msg;
	c->estab_h(c->arg);
}

static inline void su_call_close_h(int err, const struct sip_msg *msg,
                                   void *arg)
{
	struct su_call *c = arg;
	c->sess = mem_deref(c->sess);
	c->close_h(err, msg, c->arg);
}

/*
 * Calls to (a SIP URI) as from on ua, offering codec name (pt, srate,
 * ch, fmtp or NULL) at laddr. Returns 0, or an errno (nothing is sent
 * then).
 */
static inline int su_call_connect(struct su_call *c, struct su_ua *ua,
                                  const char *to, const char *from,
                                  const struct sa *laddr, const char *pt,
                                  const char *name, uint32_t srate, uint8_t ch,
                                  const char *fmtp)
{
	struct mbuf *desc = NULL;
	int err;

	c->codec = name;
	c->rx_pt = -1;
	err = su_sdp_offer(&c->sdp, &c->sdpm, laddr, pt, name, srate, ch, fmtp,
	                   &desc);
	if (!err)
		err = sipsess_connect(&c->sess, ua->sock, to, "chorus-load",
		                      from, "load", NULL, 0, "application/sdp",
		                      desc, NULL, NULL, false, su_call_offer_h,
		                      su_call_answer_h, NULL, su_call_estab_h,
		                      NULL, NULL, su_call_close_h, c,
		                      "Allow: INVITE, ACK, BYE, CANCEL\r\n");
	mem_deref(desc);
	return err;
}

/* Hangs c up (a BYE when it is established; close_h does not run) and
 * frees it. Returns true when there was a session. */
static inline bool su_call_close(struct su_call *c)
{
	bool had = c->sess != NULL;
	c->sess = mem_deref(c->sess);
	c->sdp = mem_deref(c->sdp);
	c->media = false;
	return had;
}

/* ---- starting many calls ---- */

/*
 * Starts total calls, max_pending at a time, and counts how they end:
 * call_h(k, arg) starts call k (an errno when it could not: it counts as
 * failed), the owner reports each end with su_dialer_resolved(), and
 * done_h(arg) runs once every call is resolved. stopped: start no more.
 * Owned by the program's main thread.
 */
struct su_dialer {
	unsigned total, max_pending;
	unsigned pending, next, resolved, joined;
	bool stopped;
	int (*call_h)(unsigned k, void *arg);
	void (*done_h)(void *arg);
	void *arg;
};

static inline void su_dialer_resolved(struct su_dialer *d, bool up);

/* Starts calls while fewer than max_pending are unresolved. */
static inline void su_dialer_next(struct su_dialer *d)
{
	while (!d->stopped && d->pending < d->max_pending &&
	       d->next < d->total) {
		unsigned k = d->next++;
		d->pending++;
		if (d->call_h(k, d->arg)) {
			su_dialer_resolved(d, false);
			return; /* it has started the next ones */
		}
	}
}

/* Call ended its INVITE: up (established) or failed. */
static inline void su_dialer_resolved(struct su_dialer *d, bool up)
{
	d->pending--;
	d->resolved++;
	if (up)
		d->joined++;
	if (d->resolved == d->total)
		d->done_h(d->arg);
	su_dialer_next(d);
}

/* ---- the phases of a run ---- */

/*
 * The phases of a load run on the libre loop: the joins (30 s at most;
 * then the run goes on with those that joined, or ends when none did),
 * settle_ms, the measured window of seconds, the hang-up (10 s at most for
 * its transactions once su_run_bye_guard() is called). The dialer's
 * done_h is su_run_joined (arg: the su_run). start_h(arg) runs as the
 * window starts, end_h(arg) as it ends; after that tmr is the owner's.
 * The owner fills who (its name, for messages), settle_ms, seconds,
 * dial, start_h, end_h and arg, then calls su_run_begin(). Main thread;
 * su_run_close() stops the timers.
 */
struct su_run {
	const char *who;
	unsigned settle_ms, seconds;
	const struct su_dialer *dial;
	void (*start_h)(void *arg);
	void (*end_h)(void *arg);
	void *arg;
	struct tmr tmr, guard;
	uint64_t t_start, t_joined; /* CLOCK_MONOTONIC ns */
	bool started;               /* the window has started */
};

static inline void su_run_end_h(void *arg)
{
	struct su_run *r = arg;
	r->end_h(r->arg);
}

static inline void su_run_settled_h(void *arg)
{
	struct su_run *r = arg;
	if (r->started)
		return;
	r->started = true;
	tmr_cancel(&r->guard);
	r->start_h(r->arg);
	tmr_start(&r->tmr, (uint64_t)r->seconds * 1000, su_run_end_h, r);
}

/* Every join is resolved: settle, then the window; none joined: the
 * loop ends. */
static inline void su_run_joined(void *arg)
{
	struct su_run *r = arg;
	r->t_joined = lu_now_ns();
	if (!r->dial->joined) {
		fprintf(stderr, "%s: no one joined\n", r->who);
		re_cancel();
		return;
	}
	tmr_start(&r->tmr, r->settle_ms, su_run_settled_h, r);
}

static inline void su_run_join_guard_h(void *arg)
{
	struct su_run *r = arg;
	const struct su_dialer *d = r->dial;
	fprintf(stderr,
	        "%s: %u of %u joins unresolved after 30 s; measuring "
	        "without them\n",
	        r->who, d->total - d->resolved, d->total);
	r->t_joined = lu_now_ns();
	if (d->joined)
		su_run_settled_h(r);
	else
		re_cancel();
}

static inline void su_run_begin(struct su_run *r)
{
	tmr_init(&r->tmr);
	tmr_init(&r->guard);
	r->t_start = lu_now_ns();
	tmr_start(&r->guard, 30000, su_run_join_guard_h, r);
}

static inline void su_run_bye_guard_h(void *arg)
{
	struct su_run *r = arg;
	fprintf(stderr, "%s: BYEs unanswered after 10 s\n", r->who);
	re_cancel();
}

/* The hang-up has begun: the loop ends in 10 s if it has not ended. */
static inline void su_run_bye_guard(struct su_run *r)
{
	tmr_start(&r->guard, 10000, su_run_bye_guard_h, r);
}

static inline void su_run_close(struct su_run *r)
{
	tmr_cancel(&r->tmr);
	tmr_cancel(&r->guard);
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
