/*
 * worker.c: the media worker thread (design in worker.h).
 *
 * Loop. epoll_wait on the timers and the command eventfd only; then, in
 * this order: on a tick, and on a second timer half a tick after it (so a
 * tick has only the last 10 ms of packets to read before it mixes and
 * sends, and its send times do not move with the reading), read every
 * leg socket that holds packets
 * (recvmmsg batches; the sockets sit in a second epoll set that is asked
 * without waiting, so packets never wake the worker: one wake-up per tick,
 * not one per packet) into its leg, with the kernel's receive time of
 * each packet as its arrival (SO_TIMESTAMPNS), and run the timer's ticks;
 * apply the commands, queue pending acknowledgements, and wake the control
 * thread once if any event was queued. Commands come last on purpose: the
 * control thread removes a leg's sockets from the epoll set before it
 * queues LEG_REMOVE, so once a batch's commands are applied no event of
 * that batch or a later one can name a removed leg, and the leg may be
 * freed as soon as its EV_LEG_GONE is queued.
 *
 * Time. The timerfd fires every 20 ms on CLOCK_MONOTONIC (an interval
 * timer: the kernel keeps the period, so there is no drift); its read
 * value counts expirations, and a late wake-up runs the missed ticks back
 * to back (at most CH_MEDIA_MAX_CATCHUP, beyond which time is skipped and
 * counted).
 */
#include "media/worker.h"
#include "media/stun.h"
#include "media/wrtc.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOG_MOD     "media"
#define EPOLL_BATCH 64
/* recvmmsg rounds per readable socket per tick (fairness). */
#define RX_ROUNDS 4
/* Rounds of EPOLL_BATCH ready sockets read per tick: 64 x 64 sockets. */
#define DRAIN_ROUNDS 64

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bounds of the metrics histograms: tick time (ns) and leg jitter (us). */
static const uint64_t tick_bounds_ns[] = {
    100000,  250000,   500000,   1000000,  2000000,
    5000000, 10000000, 20000000, 50000000, 100000000};
static const uint64_t jitter_bounds_us[] = {
    1000, 2000, 5000, 10000, 20000, 30000, 50000, 100000, 200000, 500000};
/* Legs' jitter is sampled every this many ticks (1 s). */
#define JITTER_SAMPLE_TICKS (1000 / CH_MEDIA_TICK_MS)

/* Samples the jitter of every leg that received RTP in the last second. */
static void sample_jitter(struct ch_media_worker *w)
{
	for (struct ch_media_room *r = w->rooms; r; r = r->next) {
		for (size_t i = 0; i < r->nlegs; i++) {
			const struct ch_media_leg_ctr *c =
			    &r->slots->legs[i]->ctr;
			uint64_t last = atomic_load_explicit(
			    &c->last_rx_ms, memory_order_relaxed);
			if (!last || w->now_ms - last > 1000)
				continue;
			ch_histogram_observe(
			    &w->jitter_us,
			    atomic_load_explicit(&c->jitter_us,
			                         memory_order_relaxed));
		}
	}
}

bool ch_media_worker_emit(struct ch_media_worker *w,
                          const struct ch_media_ev *ev)
{
	if (!ch_ring_push(&w->evs, ev)) {
		ch_media_ctr_add(&w->ev_ring_full, 1);
		return false;
	}
	w->ev_queued = true;
	return true;
}

void ch_media_worker_release(struct ch_media_worker *w,
                             struct ch_codec_state *cs)
{
	if (!cs)
		return;
	cs->next = w->frees;
	w->frees = cs;
}

void ch_media_worker_play_back(struct ch_media_worker *w,
                               struct ch_media_source *s, bool finished)
{
	if (!s)
		return;
	s->finished = finished;
	s->next = NULL;
	if (!w->play_backs)
		w->play_backs_tail = &w->play_backs;
	*w->play_backs_tail = s;
	w->play_backs_tail = &s->next;
}

void ch_media_worker_tap_back(struct ch_media_worker *w,
                              struct ch_media_tapref *t)
{
	if (!t)
		return;
	t->next = w->tap_backs;
	w->tap_backs = t;
}

/*
 * Queues the events waiting on the hand-back lists: codec states and leg
 * arrays to free, clips that ended and taps let go of, then removed legs,
 * then removed rooms (a room's legs, clips and tap always go before it). Stops
 * at a full ring; the rest is retried on the next wake-up. Each next pointer is
 * read before the item's event is queued: from then on the control thread may
 * free the item.
 */
static void flush_acks(struct ch_media_worker *w)
{
	while (w->frees) {
		struct ch_codec_state *next = w->frees->next;
		struct ch_media_ev ev = {.type = CH_MEDIA_EV_FREE,
		                         .ptr = w->frees};
		if (!ch_media_worker_emit(w, &ev))
			return;
		w->frees = next;
	}
	while (w->slot_frees) {
		struct ch_media_room_slots *next = w->slot_frees->next;
		struct ch_media_ev ev = {.type = CH_MEDIA_EV_FREE_SLOTS,
		                         .ptr = w->slot_frees};
		if (!ch_media_worker_emit(w, &ev))
			return;
		w->slot_frees = next;
	}
	while (w->play_backs) {
		struct ch_media_source *next = w->play_backs->next;
		struct ch_media_ev ev = {
		    .type = w->play_backs->leg ? CH_MEDIA_EV_LEG_PLAY_DONE
		                               : CH_MEDIA_EV_ROOM_PLAY_DONE,
		    .id = w->play_backs->owner,
		    .flag = w->play_backs->finished,
		    .ptr = w->play_backs};
		if (!ch_media_worker_emit(w, &ev))
			return;
		w->play_backs = next;
	}
	while (w->tap_backs) {
		struct ch_media_tapref *next = w->tap_backs->next;
		struct ch_media_ev ev = {.type = CH_MEDIA_EV_TAP_DETACHED,
		                         .id = w->tap_backs->room,
		                         .ptr = w->tap_backs};
		if (!ch_media_worker_emit(w, &ev))
			return;
		w->tap_backs = next;
	}
	while (w->leg_acks) {
		struct ch_media_leg *next = w->leg_acks->ack_next;
		struct ch_media_ev ev = {.type = CH_MEDIA_EV_LEG_GONE,
		                         .id = w->leg_acks->id,
		                         .ptr = w->leg_acks};
		if (!ch_media_worker_emit(w, &ev))
			return;
		w->leg_acks = next;
	}
	while (w->room_acks) {
		struct ch_media_room *next = w->room_acks->ack_next;
		struct ch_media_ev ev = {.type = CH_MEDIA_EV_ROOM_GONE,
		                         .id = w->room_acks->id,
		                         .ptr = w->room_acks};
		if (!ch_media_worker_emit(w, &ev))
			return;
		w->room_acks = next;
	}
}

/* ---- commands ---- */

static void room_link(struct ch_media_worker *w, struct ch_media_room *r)
{
	r->prev = NULL;
	r->next = w->rooms;
	if (w->rooms)
		w->rooms->prev = r;
	w->rooms = r;
	r->linked = true;
}

static void room_unlink(struct ch_media_worker *w, struct ch_media_room *r)
{
	if (!r->linked)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		w->rooms = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->linked = false;
}

static void leg_start(struct ch_media_worker *w, const struct ch_media_cmd *c)
{
	struct ch_media_leg *l = c->leg;

	if (c->cs)
		ch_media_leg_set_codec(w, l, c->cs);
	if (!l->cs)
		return; /* the control thread always sends one first */
	if (c->params.dir != l->p.dir || !l->started)
		l->tx_marker = true;
	l->p = c->params;
	if (l->wrtc && l->wrtc->have_peer) {
		/* ICE chose the peer; the SDP has no address to go back to */
		l->p.remote = l->wrtc->peer;
	} else if (c->flag) {
		/* a new remote address: latch afresh */
		l->latched = false;
		l->sdp_locked = false;
		l->probe_n = 0;
		l->rtcp_latched = false;
	}
	if (!l->started) {
		l->started = true;
		/* spread the legs' first reports over a second */
		l->next_rtcp_ms = w->now_ms + 1000 + l->tx_ssrc % 1000;
	}
	/* a (re)start begins a new RTP timeout count: a timed-out leg is
	 * reported resumed */
	l->armed_ms = w->now_ms;
	if (l->timeout_reported) {
		l->timeout_reported = false;
		l->resume_pending = true;
	}
}

static void apply(struct ch_media_worker *w, const struct ch_media_cmd *c)
{
	struct ch_media_room *r = c->room;
	struct ch_media_leg *l = c->leg;

	switch (c->type) {
	case CH_MEDIA_CMD_ROOM_ADD:
		ch_media_room_set_rate(r, c->rate);
		room_link(w, r);
		break;
	case CH_MEDIA_CMD_ROOM_REMOVE:
		room_unlink(w, r);
		ch_media_worker_play_back(w, r->clip, false);
		r->clip = NULL;
		ch_media_worker_tap_back(w, r->tap);
		ch_media_worker_tap_back(w, r->voices);
		r->tap = r->voices = NULL;
		r->ack_next = w->room_acks;
		w->room_acks = r;
		break;
	case CH_MEDIA_CMD_ROOM_RATE:
		ch_media_room_set_rate(r, c->rate);
		break;
	case CH_MEDIA_CMD_ROOM_SHARED:
		ch_media_worker_release(w, r->shared[c->codec]);
		r->shared[c->codec] = c->cs;
		break;
	case CH_MEDIA_CMD_ROOM_SLOTS: {
		struct ch_media_room_slots *old =
		    ch_media_room_grow(r, c->slots);
		old->next = w->slot_frees;
		w->slot_frees = old;
		break;
	}
	case CH_MEDIA_CMD_LEG_ADD:
		/* the control thread keeps rooms within the mixer's limit */
		(void)ch_media_room_add_leg(l->room, l);
		break;
	case CH_MEDIA_CMD_LEG_REMOVE:
		ch_media_room_remove_leg(l->room, l);
		ch_media_worker_play_back(w, l->prompt, false);
		l->prompt = NULL;
		l->ack_next = w->leg_acks;
		w->leg_acks = l;
		break;
	case CH_MEDIA_CMD_LEG_START:
		leg_start(w, c);
		break;
	case CH_MEDIA_CMD_LEG_CODEC:
		ch_media_leg_set_codec(w, l, c->cs);
		break;
	case CH_MEDIA_CMD_LEG_MUTE:
		l->muted = c->flag;
		break;
	case CH_MEDIA_CMD_ROOM_PLAY:
		ch_media_worker_play_back(w, r->clip, false);
		r->clip = c->src;
		break;
	case CH_MEDIA_CMD_ROOM_PAUSE:
		if (r->clip)
			r->clip->paused = c->flag;
		break;
	case CH_MEDIA_CMD_ROOM_GAIN:
		if (r->clip)
			r->clip->gain_q14 = c->gain;
		break;
	case CH_MEDIA_CMD_ROOM_STOP:
		ch_media_worker_play_back(w, r->clip, false);
		r->clip = NULL;
		break;
	case CH_MEDIA_CMD_LEG_PLAY:
		ch_media_worker_play_back(w, l->prompt, false);
		l->prompt = c->src;
		break;
	case CH_MEDIA_CMD_LEG_STOP:
		ch_media_worker_play_back(w, l->prompt, false);
		l->prompt = NULL;
		break;
	case CH_MEDIA_CMD_LEG_ISOLATE:
		l->isolated = c->flag;
		break;
	case CH_MEDIA_CMD_LEG_WEBRTC:
		l->wrtc = c->wrtc;
		break;
	case CH_MEDIA_CMD_LEG_SRTP:
		/* once per leg (the control thread checks): nothing to hand
		 * back, the contexts are freed with the leg */
		if (l->wrtc && !l->wrtc->srtp_rx) {
			l->wrtc->srtp_rx = c->srtp_rx;
			l->wrtc->srtp_tx = c->srtp_tx;
		}
		break;
	case CH_MEDIA_CMD_ROOM_RECORD: {
		/* the control thread attaches one tap of each kind at a time */
		struct ch_media_tapref **slot =
		    c->tapref->tap->voices ? &r->voices : &r->tap;
		ch_media_worker_tap_back(w, *slot);
		*slot = c->tapref;
		break;
	}
	case CH_MEDIA_CMD_ROOM_UNRECORD: {
		struct ch_media_tapref **slot = c->flag ? &r->voices : &r->tap;
		ch_media_worker_tap_back(w, *slot);
		*slot = NULL;
		break;
	}
	}
}

static void drain_cmds(struct ch_media_worker *w)
{
	struct ch_media_cmd c;
	uint64_t v;

	(void)!read(w->cmd_efd, &v, sizeof(v));
	while (ch_ring_pop(&w->cmds, &c))
		apply(w, &c);
}

/* ---- receive ---- */

/*
 * The monotonic ms at which the kernel received the packet of h (its
 * SCM_TIMESTAMPNS, a realtime stamp, moved by the clocks' offset at this
 * drain), never later than the tick's time nor more than a second before
 * it; the tick's time when the packet carries no stamp.
 */
static uint64_t arrival_ms(const struct ch_media_worker *w, struct msghdr *h,
                           uint64_t tick_ms)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		struct timespec ts;
		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		int64_t rt = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		int64_t mono_ms = (rt - w->rt_off_ns) / 1000000;
		if (mono_ms >= (int64_t)tick_ms)
			return tick_ms;
		if (mono_ms + 1000 < (int64_t)tick_ms)
			return tick_ms - 1000;
		return (uint64_t)mono_ms;
	}
	return tick_ms;
}

static void rx(struct ch_media_worker *w, struct ch_media_leg *l, bool rtcp)
{
	int fd = rtcp ? l->fd_rtcp : l->fd_rtp;
	uint64_t tick_ms = w->now_ms;

	for (int round = 0; round < RX_ROUNDS; round++) {
		for (int i = 0; i < CH_MEDIA_RX_BATCH; i++) {
			w->iov[i].iov_base = w->rxbuf[i];
			w->iov[i].iov_len = sizeof(w->rxbuf[i]);
			w->msgs[i].msg_hdr = (struct msghdr){
			    .msg_name = &w->src[i].u,
			    .msg_namelen = sizeof(w->src[i].u),
			    .msg_iov = &w->iov[i],
			    .msg_iovlen = 1,
			    .msg_control = w->rxctl[i],
			    .msg_controllen = sizeof(w->rxctl[i]),
			};
		}
		int n = recvmmsg(fd, w->msgs, CH_MEDIA_RX_BATCH, MSG_DONTWAIT,
		                 NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &w->msgs[i].msg_hdr;
			if (h->msg_flags & MSG_TRUNC)
				continue;
			w->src[i].len = h->msg_namelen;
			/* the leg code reads arrival times from now_ms */
			w->now_ms = arrival_ms(w, h, tick_ms);
			if (rtcp)
				ch_media_leg_rx_rtcp(w, l, w->rxbuf[i],
				                     w->msgs[i].msg_len,
				                     &w->src[i]);
			else if (l->wrtc)
				ch_media_wrtc_rx(
				    w, l, w->rxbuf[i], w->msgs[i].msg_len,
				    sizeof(w->rxbuf[i]), &w->src[i]);
			else
				ch_media_leg_rx_rtp(w, l, w->rxbuf[i],
				                    w->msgs[i].msg_len,
				                    &w->src[i]);
		}
		if (n < CH_MEDIA_RX_BATCH)
			break;
	}
	w->now_ms = tick_ms;
}

/*
 * Reads every leg socket that holds packets (the rx epoll set, asked
 * without waiting), so a tick mixes all that came since the last one with
 * one wake-up per tick instead of one per packet. A bounded number of
 * rounds: a socket still readable after them is read at the next tick.
 */
static void drain_rx(struct ch_media_worker *w)
{
	struct epoll_event evs[EPOLL_BATCH];
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	w->rt_off_ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000 +
	               (rt.tv_nsec - mono.tv_nsec);
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		int n = epoll_wait(w->rx_epfd, evs, EPOLL_BATCH, 0);
		for (int i = 0; i < n; i++) {
			struct ch_media_ep *ep = evs[i].data.ptr;
			rx(w, ep->obj, ep->kind == CH_MEDIA_EP_RTCP);
		}
		if (n < EPOLL_BATCH)
			break;
	}
}

/* ---- ticks ---- */

static void run_ticks(struct ch_media_worker *w, uint64_t expirations)
{
	uint64_t run = expirations;

	if (expirations > 1)
		ch_media_ctr_add(&w->overruns, expirations - 1);
	if (run > CH_MEDIA_MAX_CATCHUP) {
		ch_media_ctr_add(&w->skipped, run - CH_MEDIA_MAX_CATCHUP);
		for (struct ch_media_room *r = w->rooms; r; r = r->next)
			ch_media_room_skip(r, run - CH_MEDIA_MAX_CATCHUP);
		run = CH_MEDIA_MAX_CATCHUP;
	}
	for (uint64_t t = 0; t < run; t++) {
		uint64_t t0 = mono_ns();
		for (struct ch_media_room *r = w->rooms; r; r = r->next)
			ch_media_room_tick(w, r, w->now_ms);
		ch_histogram_observe(&w->tick_ns, mono_ns() - t0);
		ch_media_ctr_add(&w->ticks, 1);
	}
	if (++w->jitter_tick >= JITTER_SAMPLE_TICKS) {
		w->jitter_tick = 0;
		sample_jitter(w);
	}
}

static void *worker_main(void *arg)
{
	struct ch_media_worker *w = arg;
	struct epoll_event evs[EPOLL_BATCH];

	while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
		int n = epoll_wait(w->epfd, evs, EPOLL_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ch_log_error(LOG_MOD, "worker %u: epoll_wait: %s",
			             w->idx, strerror(errno));
			break;
		}
		w->now_ms = mono_ms();
		bool cmds = false, mid = false;
		uint64_t ticks = 0;
		for (int i = 0; i < n; i++) {
			struct ch_media_ep *ep = evs[i].data.ptr;
			uint64_t v = 0;
			switch (ep->kind) {
			case CH_MEDIA_EP_RTP:
			case CH_MEDIA_EP_RTCP:
				break; /* not in this set: drain_rx() */
			case CH_MEDIA_EP_MID:
				if (read(w->midfd, &v, sizeof(v)) ==
				    (ssize_t)sizeof(v))
					mid = true;
				break;
			case CH_MEDIA_EP_TIMER:
				if (read(w->timerfd, &v, sizeof(v)) ==
				    (ssize_t)sizeof(v))
					ticks += v;
				break;
			case CH_MEDIA_EP_CMD:
				cmds = true;
				break;
			}
		}
		if (ticks || mid)
			drain_rx(w);
		if (ticks)
			run_ticks(w, ticks);
		if (cmds)
			drain_cmds(w);
		flush_acks(w);
		if (w->ev_queued) {
			uint64_t one = 1;
			(void)!write(w->ev_efd, &one, sizeof(one));
			w->ev_queued = false;
		}
	}
	return NULL;
}

/* ---- control thread ---- */

static int watch(int epfd, int fd, struct ch_media_ep *ep)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ep};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int ch_media_worker_watch(struct ch_media_worker *w, int fd,
                          struct ch_media_ep *ep)
{
	return watch(w->rx_epfd, fd, ep);
}

void ch_media_worker_unwatch(struct ch_media_worker *w, int fd)
{
	(void)epoll_ctl(w->rx_epfd, EPOLL_CTL_DEL, fd, NULL);
}

bool ch_media_worker_cmd(struct ch_media_worker *w,
                         const struct ch_media_cmd *cmd)
{
	uint64_t one = 1;

	if (!ch_ring_push(&w->cmds, cmd))
		return false;
	(void)!write(w->cmd_efd, &one, sizeof(one));
	return true;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void ch_media_worker_free(struct ch_media_worker *w)
{
	if (!w)
		return;
	ch_media_worker_stop(w);
	close_fd(&w->epfd);
	close_fd(&w->rx_epfd);
	close_fd(&w->timerfd);
	close_fd(&w->midfd);
	close_fd(&w->cmd_efd);
	close_fd(&w->ev_efd);
	ch_ring_destroy(&w->cmds);
	ch_ring_destroy(&w->evs);
	ch_stun_hmac_free(w->stun);
	free(w);
}

void ch_media_worker_stop(struct ch_media_worker *w)
{
	uint64_t one = 1;

	if (!w || !w->running)
		return;
	atomic_store_explicit(&w->stop, true, memory_order_release);
	(void)!write(w->cmd_efd, &one, sizeof(one));
	pthread_join(w->thread, NULL);
	w->running = false;
}

static void add_ns(struct timespec *ts, long ns)
{
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

static int setup_fds(struct ch_media_worker *w)
{
	struct itimerspec its = {
	    .it_interval = {.tv_nsec = CH_MEDIA_TICK_MS * 1000000L},
	    .it_value = {.tv_nsec = CH_MEDIA_TICK_MS * 1000000L},
	};

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->rx_epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timerfd =
	    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->midfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->cmd_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->ev_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->rx_epfd < 0 || w->timerfd < 0 || w->midfd < 0 ||
	    w->cmd_efd < 0 || w->ev_efd < 0)
		return -errno;
	/* both armed from one reading of the clock, the second half a tick
	 * after the first, so its wake-ups fall between the ticks */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct itimerspec at = {.it_interval = its.it_interval,
	                        .it_value = now};
	add_ns(&at.it_value, CH_MEDIA_TICK_MS * 1000000L);
	if (timerfd_settime(w->timerfd, TFD_TIMER_ABSTIME, &at, NULL) != 0)
		return -errno;
	add_ns(&at.it_value, CH_MEDIA_TICK_MS * 500000L);
	if (timerfd_settime(w->midfd, TFD_TIMER_ABSTIME, &at, NULL) != 0)
		return -errno;
	w->ep_cmd = (struct ch_media_ep){.kind = CH_MEDIA_EP_CMD, .obj = w};
	w->ep_timer = (struct ch_media_ep){.kind = CH_MEDIA_EP_TIMER, .obj = w};
	w->ep_mid = (struct ch_media_ep){.kind = CH_MEDIA_EP_MID, .obj = w};
	int err = watch(w->epfd, w->cmd_efd, &w->ep_cmd);
	if (!err)
		err = watch(w->epfd, w->timerfd, &w->ep_timer);
	if (!err)
		err = watch(w->epfd, w->midfd, &w->ep_mid);
	return err;
}

int ch_media_worker_alloc(struct ch_media_worker **wp, unsigned idx,
                          uint32_t rtp_timeout_ms)
{
	struct ch_media_worker *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->idx = idx;
	w->rtp_timeout_ms = rtp_timeout_ms;
	w->epfd = w->rx_epfd = w->timerfd = w->midfd = w->cmd_efd = w->ev_efd =
	    -1;
	atomic_init(&w->stop, false);
	ch_histogram_init(&w->tick_ns, tick_bounds_ns,
	                  sizeof(tick_bounds_ns) / sizeof(*tick_bounds_ns));
	ch_histogram_init(&w->jitter_us, jitter_bounds_us,
	                  sizeof(jitter_bounds_us) / sizeof(*jitter_bounds_us));
	err = ch_ring_init(&w->cmds, CH_MEDIA_CMD_RING,
	                   sizeof(struct ch_media_cmd));
	if (!err)
		err = ch_ring_init(&w->evs, CH_MEDIA_EV_RING,
		                   sizeof(struct ch_media_ev));
	if (!err)
		err = -ch_stun_hmac_alloc(&w->stun);
	if (!err)
		err = setup_fds(w);
	if (!err) {
		/* signals belong to the control thread's libre loop */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = -pthread_create(&w->thread, NULL, worker_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		w->running = err == 0;
	}
	if (err) {
		ch_media_worker_free(w);
		return err;
	}
	char name[16];
	snprintf(name, sizeof(name), "ch-media-%u", idx);
	pthread_setname_np(w->thread, name);
	*wp = w;
	return 0;
}
