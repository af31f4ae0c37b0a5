/*
 * leg.c: the per-leg work of a media worker (see leg.h): strict
 * symmetric-RTP receive (the source filter of ch_media_leg_start) into the
 * jitter buffer, RTP send, RTCP receive and reports, RTP timeout, resume
 * and talk events. Runs on the leg's worker thread only; no
 * allocation, no lock, no system call but sendmsg/sendto and
 * clock_gettime, no logging.
 */
#include "media/leg.h"
#include "media/room.h"
#include "media/rtp.h"
#include "media/worker.h"
#include "media/wrtc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* RTCP report interval, and the spread of the first report. */
#define RTCP_INTERVAL_MS 5000
/* Seconds between 1900 (NTP) and 1970 (Unix). */
#define NTP_EPOCH_OFFSET 2208988800ULL

static bool same_sa(const struct sa *a, const struct sa *b, bool port)
{
	return sa_cmp(a, b, port ? SA_ALL : SA_ADDR);
}

/* Where RTP to the leg goes: the latched source, else the SDP address. */
static const struct sa *rtp_dst(const struct ch_media_leg *l)
{
	const struct sa *d = l->latched ? &l->rtp_src : &l->p.remote;
	return sa_isset(d, SA_ALL) ? d : NULL;
}

/* Where RTCP goes, written into tmp if it has to be built. */
static const struct sa *rtcp_dst(const struct ch_media_leg *l, struct sa *tmp)
{
	if (l->p.rtcp_mux)
		return rtp_dst(l);
	if (l->rtcp_latched)
		return &l->rtcp_src;
	const struct sa *d = rtp_dst(l);
	if (!d)
		return NULL;
	*tmp = *d;
	sa_set_port(tmp, (uint16_t)(sa_port(d) + 1));
	return tmp;
}

static uint64_t ntp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t sec = (uint64_t)ts.tv_sec + NTP_EPOCH_OFFSET;
	uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000ULL;
	return (sec << 32) | frac;
}

/* A packet from a new SSRC: restart the stream's receive state. */
static void new_source(struct ch_media_leg *l, uint32_t ssrc)
{
	l->lost_base += ch_rtcp_rx_lost(&l->rx);
	ch_rtcp_rx_reset(&l->rx);
	ch_jitterbuf_reset(&l->jb);
	l->have_rx_ssrc = true;
	l->rx_ssrc = ssrc;
}

/* The leg takes RTP from src from now on; sdp: src is the SDP address. */
static void latch(struct ch_media_leg *l, const struct sa *src, bool sdp)
{
	/* RTCP's port is learned afresh from a new host */
	if (!l->latched || !same_sa(src, &l->rtp_src, false))
		l->rtcp_latched = false;
	l->latched = true;
	l->sdp_locked = sdp;
	l->rtp_src = *src;
	l->probe_n = 0;
}

void ch_media_leg_lock(struct ch_media_leg *l, const struct sa *src)
{
	l->p.remote = *src;
	latch(l, src, true);
}

/* A source that may be learned: the dialog's IP or the SDP's. */
static bool learnable(const struct ch_media_leg *l, const struct sa *src)
{
	return same_sa(src, &l->p.remote, false) ||
	       (sa_isset(&l->p.sig, SA_ADDR) && same_sa(src, &l->p.sig, false));
}

/* Strict symmetric RTP (see ch_media_leg_start): true if the packet's
 * source is accepted. */
static bool rtp_source_ok(struct ch_media_leg *l, const struct ch_rtp_pkt *pkt,
                          const struct sa *src)
{
	if (same_sa(src, &l->p.remote, true)) {
		if (!l->sdp_locked)
			latch(l, src, true);
		return true;
	}
	if (l->latched)
		return !l->sdp_locked && same_sa(src, &l->rtp_src, true);
	if (pkt->pt != l->p.pt || !learnable(l, src))
		return false;
	if (l->probe_n > 0 && same_sa(src, &l->probe_src, true) &&
	    pkt->ssrc == l->probe_ssrc &&
	    pkt->seq == (uint16_t)(l->probe_seq + 1)) {
		l->probe_n++;
	} else {
		l->probe_src = *src;
		l->probe_ssrc = pkt->ssrc;
		l->probe_n = 1;
	}
	l->probe_seq = pkt->seq;
	if (l->probe_n < CH_MEDIA_LATCH_PROBATION)
		return false;
	latch(l, src, false);
	return true;
}

void ch_media_leg_rx_rtp(struct ch_media_worker *w, struct ch_media_leg *l,
                         const uint8_t *buf, size_t len, const struct sa *src)
{
	struct ch_rtp_pkt pkt;

	if (!l->started || !l->cs)
		return;
	if (l->p.rtcp_mux && ch_rtp_is_rtcp(buf, len)) {
		ch_media_leg_rx_rtcp(w, l, buf, len, src);
		return;
	}
	if (ch_rtp_parse(buf, len, &pkt) != 0)
		return;
	if (!rtp_source_ok(l, &pkt, src)) {
		ch_media_ctr_add(&l->ctr.rejected, 1);
		return;
	}

	ch_media_ctr_add(&l->ctr.packets_in, 1);
	atomic_store_explicit(&l->ctr.last_rx_ms, w->now_ms,
	                      memory_order_relaxed);
	if (l->timeout_reported) {
		l->timeout_reported = false;
		l->resume_pending = true;
	}

	if (!l->have_rx_ssrc || pkt.ssrc != l->rx_ssrc)
		new_source(l, pkt.ssrc);
	if (!ch_rtcp_rx_update(&l->rx, pkt.seq))
		return;
	atomic_store_explicit(&l->ctr.lost,
	                      l->lost_base + ch_rtcp_rx_lost(&l->rx),
	                      memory_order_relaxed);

	/* telephone-event, comfort noise and strangers stop here */
	if (pkt.pt != l->p.pt || pkt.len == 0 || !ch_media_dir_takes(l->p.dir))
		return;
	ch_jitterbuf_put(&l->jb, pkt.seq, pkt.ts, pkt.payload, pkt.len,
	                 w->now_ms);
	uint64_t jit = (uint64_t)ch_jitterbuf_jitter_ts(&l->jb) * 1000000 /
	               l->cs->rtp_rate;
	atomic_store_explicit(&l->ctr.jitter_us, (uint32_t)jit,
	                      memory_order_relaxed);
}

void ch_media_leg_rx_rtcp(struct ch_media_worker *w, struct ch_media_leg *l,
                          const uint8_t *buf, size_t len, const struct sa *src)
{
	struct ch_rtcp_info info;

	if (!l->started || !l->cs)
		return;
	/* RTCP only from the latched host (before latching: the SDP's) */
	if (!same_sa(src, l->latched ? &l->rtp_src : &l->p.remote, false)) {
		ch_media_ctr_add(&l->ctr.rejected, 1);
		return;
	}
	if (ch_rtcp_parse(buf, len, l->tx_ssrc, &info) != 0)
		return;
	if (!l->p.rtcp_mux && !l->rtcp_latched) {
		l->rtcp_latched = true;
		l->rtcp_src = *src;
	}
	if (info.have_sr) {
		l->sr_lsr = ch_rtcp_ntp_mid(info.sr.ntp);
		l->sr_arrival_ms = w->now_ms;
	}
	if (!info.have_block)
		return;
	const struct ch_rtcp_block *b = &info.block;
	uint64_t jit = (uint64_t)b->jitter * 1000000 / l->cs->rtp_rate;
	double rtt = ch_rtcp_rtt_ms(ntp_now(), b->lsr, b->dlsr);
	atomic_store_explicit(&l->ctr.remote_lost,
	                      b->lost > 0 ? (uint64_t)b->lost : 0,
	                      memory_order_relaxed);
	atomic_store_explicit(&l->ctr.remote_fraction, b->fraction,
	                      memory_order_relaxed);
	atomic_store_explicit(&l->ctr.remote_jitter_us,
	                      jit > UINT32_MAX ? UINT32_MAX : (uint32_t)jit,
	                      memory_order_relaxed);
	if (rtt >= 0)
		atomic_store_explicit(&l->ctr.rtt_us, (int64_t)(rtt * 1000),
		                      memory_order_relaxed);
	ch_media_ctr_add(&l->ctr.remote_reports, 1);
}

void ch_media_leg_send(struct ch_media_worker *w, struct ch_media_leg *l,
                       const uint8_t *pl, size_t len, bool silent)
{
	uint8_t hdr[CH_RTP_HDR_LEN];
	const struct sa *dst = rtp_dst(l);

	if (!dst || (l->wrtc && !ch_media_wrtc_can_send(w, l)))
		return;
	bool marker = l->tx_marker || (l->heard_silence && !silent);
	ch_rtp_hdr_write(hdr, marker, l->p.pt, l->tx_seq, l->tx_ts, l->tx_ssrc);
	if (l->wrtc) {
		l->tx_seq++;
		l->tx_last_ms = w->now_ms;
		l->heard_silence = silent;
		if (!ch_media_wrtc_send(w, l, hdr, sizeof(hdr), pl, len, false))
			return;
		goto sent;
	}
	struct iovec iov[2] = {
	    {.iov_base = hdr, .iov_len = sizeof(hdr)},
	    {.iov_base = (void *)pl, .iov_len = len},
	};
	struct msghdr msg = {
	    .msg_name = (void *)&dst->u.sa,
	    .msg_namelen = dst->len,
	    .msg_iov = iov,
	    .msg_iovlen = 2,
	};
	l->tx_seq++;
	l->tx_last_ms = w->now_ms;
	l->heard_silence = silent;
	if (sendmsg(l->fd_rtp, &msg, MSG_DONTWAIT) < 0)
		return; /* full socket buffer or no route: the packet is lost */
sent:
	l->tx_marker = false;
	l->tx_packets++;
	l->tx_octets += (uint32_t)len;
	ch_media_ctr_add(&l->ctr.packets_out, 1);
}

static void send_rtcp(struct ch_media_worker *w, struct ch_media_leg *l,
                      uint64_t now_ms)
{
	uint8_t buf[CH_RTCP_MAX_PACKET];
	struct ch_rtcp_block rb;
	struct sa tmp;
	const struct sa *dst = rtcp_dst(l, &tmp);
	bool have_rb = l->have_rx_ssrc && l->rx.started;
	int len;

	if (!dst)
		return;
	if (have_rb) {
		uint32_t dlsr = 0;
		if (l->sr_lsr)
			dlsr = (uint32_t)((now_ms - l->sr_arrival_ms) * 65536 /
			                  1000);
		ch_rtcp_rx_block(&l->rx, l->rx_ssrc,
		                 ch_jitterbuf_jitter_ts(&l->jb), l->sr_lsr,
		                 dlsr, &rb);
	}
	if (l->tx_packets > 0) {
		struct ch_rtcp_sr sr = {
		    .ssrc = l->tx_ssrc,
		    .ntp = ntp_now(),
		    .rtp_ts = l->tx_ts + (uint32_t)((now_ms - l->tx_last_ms) *
		                                    l->cs->rtp_rate / 1000),
		    .packets = l->tx_packets,
		    .octets = l->tx_octets,
		};
		len = ch_rtcp_build_sr(buf, sizeof(buf), &sr,
		                       have_rb ? &rb : NULL, l->cname);
	} else {
		len = ch_rtcp_build_rr(buf, sizeof(buf), l->tx_ssrc,
		                       have_rb ? &rb : NULL, l->cname);
	}
	if (len <= 0)
		return;
	if (l->wrtc) {
		(void)ch_media_wrtc_send(w, l, buf, (size_t)len, NULL, 0, true);
		return;
	}
	int fd = l->p.rtcp_mux ? l->fd_rtp : l->fd_rtcp;
	(void)sendto(fd, buf, (size_t)len, MSG_DONTWAIT, &dst->u.sa, dst->len);
}

/* Reports what the control thread does not know yet; a full event ring
 * leaves the report for the next tick. */
static void report(struct ch_media_worker *w, struct ch_media_leg *l,
                   uint64_t now_ms)
{
	bool talking = ch_talkdetect_talking(&l->td);
	if (talking != l->talk_reported) {
		struct ch_media_ev ev = {.type = CH_MEDIA_EV_TALK,
		                         .id = l->id,
		                         .flag = talking,
		                         .ptr = l};
		if (ch_media_worker_emit(w, &ev))
			l->talk_reported = talking;
	}
	if (l->resume_pending) {
		struct ch_media_ev ev = {
		    .type = CH_MEDIA_EV_RESUMED, .id = l->id, .ptr = l};
		if (!ch_media_worker_emit(w, &ev))
			return; /* in order: no new timeout before it */
		l->resume_pending = false;
	}
	if (l->timeout_reported || !ch_media_dir_takes(l->p.dir))
		return;
	uint64_t last =
	    atomic_load_explicit(&l->ctr.last_rx_ms, memory_order_relaxed);
	if (last < l->armed_ms)
		last = l->armed_ms;
	if (now_ms - last < w->rtp_timeout_ms)
		return;
	struct ch_media_ev ev = {
	    .type = CH_MEDIA_EV_TIMEOUT, .id = l->id, .ptr = l};
	if (ch_media_worker_emit(w, &ev))
		l->timeout_reported = true;
}

void ch_media_leg_tick_end(struct ch_media_worker *w, struct ch_media_leg *l,
                           uint64_t now_ms)
{
	if (!l->started || !l->cs)
		return;
	l->tx_ts += l->cs->rtp_frame;
	report(w, l, now_ms);
	if (now_ms >= l->next_rtcp_ms) {
		l->next_rtcp_ms = now_ms + RTCP_INTERVAL_MS;
		send_rtcp(w, l, now_ms);
	}
}

void ch_media_leg_set_codec(struct ch_media_worker *w, struct ch_media_leg *l,
                            struct ch_codec_state *cs)
{
	struct ch_codec_state *old = l->cs;

	l->cs = cs;
	if (!old || old->codec != cs->codec) {
		/* sizes come from ch_codec_state_alloc: cannot fail */
		(void)ch_jitterbuf_init(&l->jb, cs->rtp_rate,
		                        CH_CODEC_FRAME_MS);
		if (cs->codec == CH_CODEC_PCMU || cs->codec == CH_CODEC_PCMA)
			(void)ch_plc_init_pitch(&l->plc, cs->codec_frame);
		else
			(void)ch_plc_init(&l->plc, cs->codec_frame);
		(void)ch_talkdetect_init(&l->td, cs->codec_rate, NULL);
		l->lost_base += ch_rtcp_rx_lost(&l->rx);
		ch_rtcp_rx_reset(&l->rx);
		l->have_rx_ssrc = false;
		l->contributed = false;
		l->tx_marker = true;
	}
	if (old)
		ch_media_worker_release(w, old);
}
