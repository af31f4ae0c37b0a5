/*
 * engine.c: the media engine's control-thread side (API in engine.h).
 *
 * Everything here runs on the control thread and owns the engine's
 * tables: room ids and leg ids map to records (struct room_rec, struct
 * leg_rec) that point at the shared room/leg objects and remember what
 * the control thread has told the workers (codec state rate, shared
 * encoders). Workers are picked by load (fewest legs, then rooms).
 *
 * Hand-over protocol (see room.h, leg.h, worker.h):
 *   - allocation (rooms, legs, sockets, Opus and resampler states) happens
 *     here, then a command hands the object to the room's worker;
 *   - a room's mixing rate is the highest rate any started leg needs; when
 *     it changes, new codec states for every leg and new shared encoders
 *     are built here and sent; the worker swaps them in and returns the
 *     old ones in EV_FREE events, which are freed here;
 *   - removal: the leg's sockets leave the worker's epoll set, then
 *     LEG_REMOVE; the memory and sockets are freed only on EV_LEG_GONE.
 *     The id is not reused before that, and events about a leg whose
 *     removal has begun are dropped.
 *   - clips (room playback, leg prompts) go to the worker wrapped in a
 *     struct ch_media_source and come back in EV_ROOM_PLAY_DONE /
 *     EV_LEG_PLAY_DONE, recorder taps wrapped in a struct ch_media_tapref
 *     and come back in EV_TAP_DETACHED; both are freed here (the tap is
 *     the recorder's). A leg's prompts still out when the leg is freed
 *     are reported ended (finished false) before ch_media_leg_free()
 *     returns, and their late hand-backs are freed silently: no handler
 *     is called for a leg after that.
 * Commands that do not fit in a full ring wait in a per-worker backlog
 * (FIFO, retried from a libre timer), so no command is ever lost.
 */
#include "media/engine.h"
#include "media/engine_internal.h"
#include "media/codec.h"
#include "media/g711.h"
#include "media/leg.h"
#include "media/pcm.h"
#include "media/room.h"
#include "media/source.h"
#include "media/worker.h"
#include "util/log.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* re_types.h and re_sa.h come with leg.h (libre headers have no guards) */
/* re_list.h and re_tmr.h come with engine_internal.h */
#include <re_main.h>
#include <re_sys.h>

#define LOG_MOD            "media"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_WORKERS        64
#define BACKLOG_RETRY_MS   5
#define ROOM_SLOTS_INITIAL 64
/* Leg arrays of a new room; they double as legs arrive. */
#define ROOM_CAP_INITIAL 16
/* DSCP EF (46) in the TOS byte, as voice should be marked. */
#define TOS_EF 0xb8
/* Gain range of room playback, dB. */
#define GAIN_MIN_DB -50
#define GAIN_MAX_DB 7

/* ---- commands ---- */

static void backlog_flush(void *arg);

static bool backlog_drain(struct wctl *wc)
{
	while (wc->bl_head) {
		struct backlog *b = wc->bl_head;
		if (!ch_media_worker_cmd(wc->w, &b->cmd))
			return false;
		wc->bl_head = b->next;
		if (!wc->bl_head)
			wc->bl_tail = NULL;
		free(b);
	}
	return true;
}

static void backlog_flush(void *arg)
{
	struct ch_media_engine *eng = arg;
	bool done = true;

	for (unsigned i = 0; i < eng->nworkers; i++)
		done &= backlog_drain(&eng->wk[i]);
	if (!done)
		tmr_start(&eng->backlog_tmr, BACKLOG_RETRY_MS, backlog_flush,
		          eng);
}

/* Sends c to worker wi, in order with everything sent before. */
void ch_media_engine_submit(struct ch_media_engine *eng, unsigned wi,
                            const struct ch_media_cmd *c)
{
	struct wctl *wc = &eng->wk[wi];

	if (backlog_drain(wc) && ch_media_worker_cmd(wc->w, c))
		return;
	eng->cmd_ring_full++;
	struct backlog *b = calloc(1, sizeof(*b));
	if (!b) {
		/* ring full and no memory: nothing sane is left to do */
		ch_log_error(LOG_MOD, "worker %u: command %d lost (no memory)",
		             wi, (int)c->type);
		return;
	}
	b->cmd = *c;
	if (wc->bl_tail)
		wc->bl_tail->next = b;
	else
		wc->bl_head = b;
	wc->bl_tail = b;
	if (!tmr_isrunning(&eng->backlog_tmr))
		tmr_start(&eng->backlog_tmr, BACKLOG_RETRY_MS, backlog_flush,
		          eng);
}

/* ---- tables ---- */

struct leg_rec *ch_media_engine_leg_find(struct ch_media_engine *eng,
                                         uint32_t id)
{
	if (id == 0 || id > eng->npairs)
		return NULL;
	struct leg_rec *rec = &eng->legs[id - 1];
	return rec->leg && !rec->freeing ? rec : NULL;
}

static struct room_rec *room_find(struct ch_media_engine *eng, uint32_t id)
{
	if (id == 0 || id > eng->nroom_slots)
		return NULL;
	struct room_rec *rec = &eng->rooms[id - 1];
	return rec->room && !rec->freeing ? rec : NULL;
}

/* Sends a command about room id; ENOENT if unknown. */
static int room_cmd(struct ch_media_engine *eng, uint32_t room,
                    struct ch_media_cmd *cmd)
{
	struct room_rec *rr = eng ? room_find(eng, room) : NULL;
	if (!rr)
		return ENOENT;
	cmd->room = rr->room;
	ch_media_engine_submit(eng, rr->worker, cmd);
	return 0;
}

/* Sends a command about leg id; ENOENT if unknown. */
static int leg_cmd(struct ch_media_engine *eng, uint32_t leg,
                   struct ch_media_cmd *cmd)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	if (!lr)
		return ENOENT;
	cmd->leg = lr->leg;
	ch_media_engine_submit(eng, eng->rooms[lr->room - 1].worker, cmd);
	return 0;
}

static void source_free(struct ch_media_source *s)
{
	if (!s)
		return;
	ch_pcm_free(s->pcm);
	free(s);
}

/* Closes the leg's sockets, frees it and its codec state, frees its id
 * and port pair. The worker must have let go of it. */
static void leg_destroy(struct ch_media_engine *eng, struct leg_rec *rec)
{
	struct ch_media_leg *l = rec->leg;

	ch_media_engine_metrics_leg_gone(eng, l);
	close(l->fd_rtp);
	close(l->fd_rtcp);
	ch_codec_state_free(l->cs);
	source_free(l->prompt); /* only left at ch_media_engine_free */
	ch_media_engine_wrtc_free(rec);
	free(l);
	eng->pair_used[rec->pair] = 0;
	memset(rec, 0, sizeof(*rec));
}

static void room_free_mem(struct ch_media_room *r)
{
	for (int c = 0; c < CH_CODEC_COUNT; c++)
		ch_codec_state_free(r->shared[c]);
	/* only left at ch_media_engine_free */
	source_free(r->clip);
	free(r->tap);
	free(r->slots);
	free(r);
}

/* ---- events ---- */

/* A room's clip is back: freed, then its end reported. */
static void room_play_back(struct ch_media_engine *eng,
                           const struct ch_media_ev *ev)
{
	struct ch_media_source *s = ev->ptr;
	uint32_t play_id = s->play_id;

	source_free(s);
	if (eng->h.room_play_done)
		eng->h.room_play_done(eng->arg, ev->id, play_id, ev->flag);
}

/* A leg's prompt is back: off the leg's list, freed, then its end
 * reported unless that was done when the leg was freed. */
static void leg_play_back(struct ch_media_engine *eng,
                          const struct ch_media_ev *ev)
{
	struct ch_media_source *s = ev->ptr;
	struct leg_rec *lr = &eng->legs[ev->id - 1];
	uint32_t play_id = s->play_id;
	bool report = !s->reported;

	for (struct ch_media_source **pp = &lr->prompts; *pp;
	     pp = &(*pp)->ctl_next) {
		if (*pp == s) {
			*pp = s->ctl_next;
			break;
		}
	}
	source_free(s);
	if (report && eng->h.leg_play_done)
		eng->h.leg_play_done(eng->arg, ev->id, play_id, ev->flag);
}

/* A tap is back: the recorder may have it. */
static void tap_back(struct ch_media_engine *eng, const struct ch_media_ev *ev)
{
	struct ch_media_tapref *t = ev->ptr;
	struct ch_media_tap *tap = t->tap;

	free(t);
	if (eng->h.tap_detached)
		eng->h.tap_detached(eng->arg, ev->id, tap);
}

static void on_event(struct ch_media_engine *eng, const struct ch_media_ev *ev)
{
	struct leg_rec *lr;

	switch (ev->type) {
	case CH_MEDIA_EV_TALK:
		lr = ch_media_engine_leg_find(eng, ev->id);
		if (lr && lr->leg == ev->ptr && eng->h.talking)
			eng->h.talking(eng->arg, ev->id, ev->flag);
		break;
	case CH_MEDIA_EV_TIMEOUT:
		lr = ch_media_engine_leg_find(eng, ev->id);
		if (lr && lr->leg == ev->ptr && eng->h.rtp_timeout)
			eng->h.rtp_timeout(eng->arg, ev->id);
		break;
	case CH_MEDIA_EV_RESUMED:
		lr = ch_media_engine_leg_find(eng, ev->id);
		if (lr && lr->leg == ev->ptr && eng->h.rtp_resumed)
			eng->h.rtp_resumed(eng->arg, ev->id);
		break;
	case CH_MEDIA_EV_LEG_GONE:
		lr = &eng->legs[ev->id - 1];
		if (lr->leg == ev->ptr && lr->freeing)
			leg_destroy(eng, lr);
		break;
	case CH_MEDIA_EV_ROOM_GONE: {
		struct room_rec *rr = &eng->rooms[ev->id - 1];
		if (rr->room == ev->ptr && rr->freeing) {
			room_free_mem(rr->room);
			memset(rr, 0, sizeof(*rr));
		}
		break;
	}
	case CH_MEDIA_EV_FREE:
		ch_codec_state_free(ev->ptr);
		break;
	case CH_MEDIA_EV_FREE_SLOTS:
		free(ev->ptr);
		break;
	case CH_MEDIA_EV_ROOM_PLAY_DONE:
		room_play_back(eng, ev);
		break;
	case CH_MEDIA_EV_LEG_PLAY_DONE:
		leg_play_back(eng, ev);
		break;
	case CH_MEDIA_EV_TAP_DETACHED:
		tap_back(eng, ev);
		break;
	case CH_MEDIA_EV_DTLS:
		lr = ch_media_engine_leg_find(eng, ev->id);
		if (lr && lr->leg == ev->ptr && eng->h.dtls)
			eng->h.dtls(eng->arg, ev->id);
		break;
	}
}

static void ev_readable(int flags, void *arg)
{
	struct wctl *wc = arg;
	struct ch_media_ev ev;
	uint64_t v;

	(void)flags;
	(void)!read(wc->w->ev_efd, &v, sizeof(v));
	while (ch_ring_pop(&wc->w->evs, &ev))
		on_event(wc->eng, &ev);
}

/* ---- rooms' rates and codec states ---- */

/*
 * Brings the worker's view of room rr in line with its started legs: the
 * mixing rate, each started leg's codec state, the shared encoders. If
 * start is not NULL that leg is (re)started with its params (rearm:
 * latch afresh). Everything is allocated before anything is sent, so on
 * -ENOMEM nothing has changed.
 */
static int room_sync(struct ch_media_engine *eng, struct room_rec *rr,
                     struct leg_rec *start, bool rearm)
{
	struct leg_rec *member[CH_MEDIA_ROOM_MAX_LEGS];
	struct ch_codec_state *cs[CH_MEDIA_ROOM_MAX_LEGS] = {NULL};
	struct ch_codec_state *shared[CH_CODEC_COUNT] = {NULL};
	bool need[CH_CODEC_COUNT] = {false};
	uint32_t room_id = (uint32_t)(rr - eng->rooms) + 1;
	uint32_t rate = 8000;
	size_t n = 0;
	int err = 0;

	for (unsigned i = 0; i < eng->npairs && n < CH_MEDIA_ROOM_MAX_LEGS;
	     i++) {
		struct leg_rec *lr = &eng->legs[i];
		if (!lr->leg || lr->freeing || lr->room != room_id)
			continue;
		member[n++] = lr;
		if (!lr->started)
			continue;
		uint32_t r = ch_codec_room_rate(lr->params.codec, rr->max_rate);
		if (r > rate)
			rate = r;
		need[lr->params.codec] = true;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct leg_rec *lr = member[i];
		if (lr->started &&
		    (lr->cs_rate != rate || lr->cs_codec != lr->params.codec))
			err = ch_codec_state_alloc(&cs[i], lr->params.codec,
			                           rate, true, &eng->opus);
	}
	for (int c = 0; c < CH_CODEC_COUNT && !err; c++) {
		if (need[c] && (!rr->shared[c] || rr->shared_rate != rate))
			err = ch_codec_state_alloc(&shared[c], c, rate, false,
			                           &eng->opus);
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			ch_codec_state_free(cs[i]);
		for (int c = 0; c < CH_CODEC_COUNT; c++)
			ch_codec_state_free(shared[c]);
		return err;
	}

	struct ch_media_cmd cmd = {.room = rr->room};
	if (rate != rr->rate) {
		cmd.type = CH_MEDIA_CMD_ROOM_RATE;
		cmd.rate = rate;
		ch_media_engine_submit(eng, rr->worker, &cmd);
		rr->rate = rate;
	}
	for (size_t i = 0; i < n; i++) {
		struct leg_rec *lr = member[i];
		memset(&cmd, 0, sizeof(cmd));
		cmd.leg = lr->leg;
		cmd.cs = cs[i];
		if (lr == start) {
			cmd.type = CH_MEDIA_CMD_LEG_START;
			cmd.params = lr->params;
			cmd.flag = rearm;
			ch_media_engine_submit(eng, rr->worker, &cmd);
		} else if (cs[i]) {
			cmd.type = CH_MEDIA_CMD_LEG_CODEC;
			ch_media_engine_submit(eng, rr->worker, &cmd);
		}
		if (cs[i]) {
			lr->cs_codec = lr->params.codec;
			lr->cs_rate = rate;
		}
	}
	for (int c = 0; c < CH_CODEC_COUNT; c++) {
		bool change = shared[c] || (!need[c] && rr->shared[c]);
		if (!change)
			continue;
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = CH_MEDIA_CMD_ROOM_SHARED;
		cmd.room = rr->room;
		cmd.codec = (enum ch_media_codec)c;
		cmd.cs = shared[c];
		ch_media_engine_submit(eng, rr->worker, &cmd);
		rr->shared[c] = shared[c] != NULL;
	}
	rr->shared_rate = rate;
	return 0;
}

/* ---- ports ---- */

static int bind_udp(const char *ip, uint16_t port, int *fdp)
{
	struct sa sa;
	int err = sa_set_str(&sa, ip, port);
	if (err)
		return err;
	int fd =
	    socket(sa_af(&sa), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int tos = TOS_EF, one = 1;
	/* the worker reads at its ticks: arrival times come from the kernel */
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (sa_af(&sa) == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	else
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos,
		                 sizeof(tos));
	if (bind(fd, &sa.u.sa, sa.len) != 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* Binds a free RTP/RTCP pair; returns its index or -1 (ENOSPC). */
static int pair_bind(struct ch_media_engine *eng, int *rtp, int *rtcp)
{
	for (unsigned k = 0; k < eng->npairs; k++) {
		unsigned i = (eng->pair_hint + k) % eng->npairs;
		if (eng->pair_used[i])
			continue;
		uint16_t port = (uint16_t)(eng->port_base + 2 * i);
		if (bind_udp(eng->bind_ip, port, rtp) != 0)
			continue;
		if (bind_udp(eng->bind_ip, (uint16_t)(port + 1), rtcp) != 0) {
			close(*rtp);
			continue;
		}
		eng->pair_used[i] = 1;
		eng->pair_hint = (i + 1) % eng->npairs;
		return (int)i;
	}
	return -1;
}

/* ---- API ---- */

int ch_media_room_create(struct ch_media_engine *eng, uint32_t *room)
{
	if (!eng || !room)
		return EINVAL;

	unsigned wi = 0;
	for (unsigned i = 1; i < eng->nworkers; i++) {
		const struct wctl *a = &eng->wk[i], *b = &eng->wk[wi];
		if (a->nlegs < b->nlegs ||
		    (a->nlegs == b->nlegs && a->nrooms < b->nrooms))
			wi = i;
	}

	unsigned slot = eng->nroom_slots;
	for (unsigned k = 0; k < eng->nroom_slots; k++) {
		unsigned i = (eng->room_hint + k) % eng->nroom_slots;
		if (!eng->rooms[i].room) {
			slot = i;
			break;
		}
	}
	if (slot == eng->nroom_slots) {
		if (eng->nroom_slots >= UINT32_MAX / 2)
			return ENOSPC;
		unsigned nslots = eng->nroom_slots * 2;
		struct room_rec *t = realloc(eng->rooms, nslots * sizeof(*t));
		if (!t)
			return ENOMEM;
		memset(t + eng->nroom_slots, 0,
		       (nslots - eng->nroom_slots) * sizeof(*t));
		eng->rooms = t;
		eng->nroom_slots = nslots;
	}

	struct ch_media_room *r = calloc(1, sizeof(*r));
	if (r)
		r->slots = ch_media_room_slots_alloc(ROOM_CAP_INITIAL);
	if (!r || !r->slots) {
		free(r);
		return ENOMEM;
	}
	r->id = slot + 1;
	r->w = eng->wk[wi].w;

	struct room_rec *rr = &eng->rooms[slot];
	memset(rr, 0, sizeof(*rr));
	rr->room = r;
	rr->worker = wi;
	rr->rate = 8000;
	rr->max_legs = CH_MEDIA_ROOM_MAX_LEGS;
	rr->max_rate = 48000;
	rr->cap = ROOM_CAP_INITIAL;
	eng->room_hint = (slot + 1) % eng->nroom_slots;
	eng->wk[wi].nrooms++;

	struct ch_media_cmd cmd = {
	    .type = CH_MEDIA_CMD_ROOM_ADD, .room = r, .rate = rr->rate};
	ch_media_engine_submit(eng, wi, &cmd);
	*room = r->id;
	return 0;
}

/* Starts removing leg lr: out of epoll now, freed on EV_LEG_GONE. */
static void leg_remove(struct ch_media_engine *eng, struct leg_rec *lr,
                       struct room_rec *rr)
{
	struct ch_media_leg *l = lr->leg;
	struct wctl *wc = &eng->wk[rr->worker];

	ch_media_worker_unwatch(wc->w, l->fd_rtp);
	ch_media_worker_unwatch(wc->w, l->fd_rtcp);
	lr->freeing = true;
	rr->nlegs--;
	wc->nlegs--;
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_LEG_REMOVE, .leg = l};
	ch_media_engine_submit(eng, rr->worker, &cmd);
}

/* Reports the prompts of leg lr (being freed) that are still out as
 * ended; their hand-backs are then freed silently. Call last: a handler
 * may change the engine's tables. */
static void prompts_report(struct ch_media_engine *eng, struct leg_rec *lr,
                           uint32_t leg)
{
	for (struct ch_media_source *s = lr->prompts; s; s = s->ctl_next) {
		if (s->reported)
			continue;
		s->reported = true;
		if (eng->h.leg_play_done)
			eng->h.leg_play_done(eng->arg, leg, s->play_id, false);
	}
}

void ch_media_room_destroy(struct ch_media_engine *eng, uint32_t room)
{
	struct room_rec *rr = eng ? room_find(eng, room) : NULL;
	if (!rr)
		return;
	for (unsigned i = 0; i < eng->npairs; i++) {
		struct leg_rec *lr = &eng->legs[i];
		if (lr->leg && !lr->freeing && lr->room == room)
			leg_remove(eng, lr, rr);
	}
	rr->freeing = true;
	eng->wk[rr->worker].nrooms--;
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_ROOM_REMOVE,
	                           .room = rr->room};
	ch_media_engine_submit(eng, rr->worker, &cmd);
	/* the legs keep their slots until EV_LEG_GONE */
	for (unsigned i = 0; i < eng->npairs; i++) {
		struct leg_rec *lr = &eng->legs[i];
		if (lr->leg && lr->freeing && lr->room == room)
			prompts_report(eng, lr, i + 1);
	}
}

int ch_media_room_set_max(struct ch_media_engine *eng, uint32_t room,
                          unsigned max_legs)
{
	struct room_rec *rr = eng ? room_find(eng, room) : NULL;
	if (!rr)
		return ENOENT;
	rr->max_legs = max_legs == 0 || max_legs > CH_MEDIA_ROOM_MAX_LEGS
	                   ? CH_MEDIA_ROOM_MAX_LEGS
	                   : max_legs;
	return 0;
}

int ch_media_room_set_max_rate(struct ch_media_engine *eng, uint32_t room,
                               uint32_t max_rate)
{
	struct room_rec *rr = eng ? room_find(eng, room) : NULL;
	if (max_rate != 8000 && max_rate != 16000 && max_rate != 48000)
		return EINVAL;
	if (!rr)
		return ENOENT;
	if (rr->max_rate == max_rate)
		return 0;
	uint32_t old = rr->max_rate;
	rr->max_rate = max_rate;
	int err = room_sync(eng, rr, NULL, false);
	if (err)
		rr->max_rate = old;
	return err < 0 ? -err : err;
}

/* Gives the room's worker leg arrays for one leg more than it has. */
static int room_grow(struct ch_media_engine *eng, struct room_rec *rr)
{
	if (rr->nlegs < rr->cap)
		return 0;
	size_t cap = rr->cap * 2;
	if (cap > CH_MEDIA_ROOM_MAX_LEGS)
		cap = CH_MEDIA_ROOM_MAX_LEGS;
	struct ch_media_room_slots *s = ch_media_room_slots_alloc(cap);
	if (!s)
		return ENOMEM;
	struct ch_media_cmd cmd = {
	    .type = CH_MEDIA_CMD_ROOM_SLOTS, .room = rr->room, .slots = s};
	ch_media_engine_submit(eng, rr->worker, &cmd);
	rr->cap = cap;
	return 0;
}

int ch_media_leg_alloc(struct ch_media_engine *eng, uint32_t room,
                       uint32_t *leg, struct sa *local)
{
	int fd_rtp, fd_rtcp;

	if (!eng || !leg || !local)
		return EINVAL;
	struct room_rec *rr = room_find(eng, room);
	if (!rr)
		return ENOENT;
	if (rr->nlegs >= rr->max_legs)
		return EXFULL;
	unsigned slot = eng->npairs;
	for (unsigned k = 0; k < eng->npairs; k++) {
		unsigned i = (eng->leg_hint + k) % eng->npairs;
		if (!eng->legs[i].leg) {
			slot = i;
			break;
		}
	}
	if (slot == eng->npairs)
		return ENOSPC;
	int err = room_grow(eng, rr);
	if (err)
		return err;
	int pair = pair_bind(eng, &fd_rtp, &fd_rtcp);
	if (pair < 0)
		return ENOSPC;

	struct ch_media_leg *l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd_rtp);
		close(fd_rtcp);
		eng->pair_used[pair] = 0;
		return ENOMEM;
	}
	l->id = slot + 1;
	l->room = rr->room;
	l->fd_rtp = fd_rtp;
	l->fd_rtcp = fd_rtcp;
	l->ep_rtp = (struct ch_media_ep){.kind = CH_MEDIA_EP_RTP, .obj = l};
	l->ep_rtcp = (struct ch_media_ep){.kind = CH_MEDIA_EP_RTCP, .obj = l};
	l->tx_ssrc = rand_u32();
	l->tx_seq = rand_u16();
	l->tx_ts = rand_u32();
	snprintf(l->cname, sizeof(l->cname), "chorus-%08x", l->tx_ssrc);
	atomic_init(&l->ctr.rtt_us, -1);

	struct sa bound;
	socklen_t blen = sizeof(bound.u);
	if (getsockname(fd_rtp, &bound.u.sa, &blen) == 0) {
		bound.len = blen;
		*local = bound;
	}

	struct wctl *wc = &eng->wk[rr->worker];
	err = ch_media_worker_watch(wc->w, fd_rtp, &l->ep_rtp);
	if (!err)
		err = ch_media_worker_watch(wc->w, fd_rtcp, &l->ep_rtcp);
	if (err) {
		ch_media_worker_unwatch(wc->w, fd_rtp);
		close(fd_rtp);
		close(fd_rtcp);
		free(l);
		eng->pair_used[pair] = 0;
		return -err;
	}

	struct leg_rec *lr = &eng->legs[slot];
	memset(lr, 0, sizeof(*lr));
	lr->leg = l;
	lr->room = room;
	lr->pair = (unsigned)pair;
	eng->leg_hint = (slot + 1) % eng->npairs;
	rr->nlegs++;
	wc->nlegs++;

	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_LEG_ADD, .leg = l};
	ch_media_engine_submit(eng, rr->worker, &cmd);
	*leg = l->id;
	return 0;
}

static int params_check(const struct ch_media_leg_params *p)
{
	if (!p || !p->remote || p->pt > 127 || p->telev_pt < -1 ||
	    p->telev_pt > 127 || p->dir < CH_DIR_SENDRECV ||
	    p->dir > CH_DIR_INACTIVE)
		return EINVAL;
	return -ch_codec_supported(p->codec);
}

int ch_media_leg_start(struct ch_media_engine *eng, uint32_t leg,
                       const struct ch_media_leg_params *p)
{
	if (!eng)
		return EINVAL;
	struct leg_rec *lr = ch_media_engine_leg_find(eng, leg);
	if (!lr)
		return ENOENT;
	int err = params_check(p);
	if (err)
		return err;
	struct room_rec *rr = room_find(eng, lr->room);
	if (!rr)
		return ENOENT;

	struct ch_media_legparams np = {
	    .codec = p->codec,
	    .pt = p->pt,
	    .telev_pt = p->telev_pt,
	    .dir = p->dir,
	    .rtcp_mux = p->rtcp_mux,
	    .remote = *p->remote,
	};
	if (p->sig_src)
		np.sig = *p->sig_src;
	bool rearm =
	    !lr->started || !sa_cmp(&lr->params.remote, p->remote, SA_ALL);
	struct ch_media_legparams old = lr->params;
	bool was_started = lr->started;
	lr->params = np;
	lr->started = true;
	err = room_sync(eng, rr, lr, rearm);
	if (err) {
		lr->params = old;
		lr->started = was_started;
		return -err;
	}
	return 0;
}

int ch_media_leg_mute(struct ch_media_engine *eng, uint32_t leg, bool muted)
{
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_LEG_MUTE,
	                           .flag = muted};
	return leg_cmd(eng, leg, &cmd);
}

void ch_media_leg_free(struct ch_media_engine *eng, uint32_t leg)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	if (!lr)
		return;
	struct room_rec *rr = &eng->rooms[lr->room - 1];
	bool started = lr->started;
	leg_remove(eng, lr, rr);
	/* the room may mix at a lower rate now; on ENOMEM it keeps its
	 * current one, which still works */
	if (started)
		(void)room_sync(eng, rr, NULL, false);
	prompts_report(eng, lr, leg);
}

int ch_media_leg_stats(struct ch_media_engine *eng, uint32_t leg,
                       struct ch_media_leg_stats *out)
{
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	if (!lr || !out)
		return lr ? EINVAL : ENOENT;
	const struct ch_media_leg_ctr *c = &lr->leg->ctr;
	memset(out, 0, sizeof(*out));
	out->codec = lr->params.codec;
	out->packets_in =
	    atomic_load_explicit(&c->packets_in, memory_order_relaxed);
	out->packets_out =
	    atomic_load_explicit(&c->packets_out, memory_order_relaxed);
	out->lost = atomic_load_explicit(&c->lost, memory_order_relaxed);
	out->jitter_ms =
	    atomic_load_explicit(&c->jitter_us, memory_order_relaxed) / 1000.0;
	out->level = atomic_load_explicit(&c->level, memory_order_relaxed);
	out->talking = atomic_load_explicit(&c->talking, memory_order_relaxed);
	out->last_rx_ms =
	    atomic_load_explicit(&c->last_rx_ms, memory_order_relaxed);
	out->packets_rejected =
	    atomic_load_explicit(&c->rejected, memory_order_relaxed);
	out->remote_lost =
	    atomic_load_explicit(&c->remote_lost, memory_order_relaxed);
	out->remote_fraction_lost =
	    atomic_load_explicit(&c->remote_fraction, memory_order_relaxed) /
	    256.0;
	out->remote_jitter_ms =
	    atomic_load_explicit(&c->remote_jitter_us, memory_order_relaxed) /
	    1000.0;
	int64_t rtt = atomic_load_explicit(&c->rtt_us, memory_order_relaxed);
	out->rtt_ms = rtt < 0 ? -1 : rtt / 1000.0;
	out->remote_reports =
	    atomic_load_explicit(&c->remote_reports, memory_order_relaxed);
	out->concealed =
	    atomic_load_explicit(&c->concealed, memory_order_relaxed);
	out->late = atomic_load_explicit(&c->late, memory_order_relaxed);
	out->jb_target_ms =
	    atomic_load_explicit(&c->jb_target_ms, memory_order_relaxed);
	return 0;
}

/* ---- playback and recording ---- */

/* Q14 mixer gain of gain_db (clamped to the playback range). */
static int32_t gain_q14(int gain_db)
{
	if (gain_db < GAIN_MIN_DB)
		gain_db = GAIN_MIN_DB;
	if (gain_db > GAIN_MAX_DB)
		gain_db = GAIN_MAX_DB;
	return (int32_t)lround(pow(10.0, gain_db / 20.0) * CH_MIXER_GAIN_UNITY);
}

/* A source around pcm for owner (a room or leg id); NULL: no memory (pcm
 * is then freed). */
static struct ch_media_source *source_new(struct ch_pcm *pcm, uint32_t play_id,
                                          uint32_t owner, bool leg)
{
	struct ch_media_source *s = calloc(1, sizeof(*s));
	if (!s) {
		ch_pcm_free(pcm);
		return NULL;
	}
	s->pcm = pcm;
	s->play_id = play_id;
	s->owner = owner;
	s->leg = leg;
	s->gain_q14 = CH_MIXER_GAIN_UNITY;
	return s;
}

int ch_media_room_play(struct ch_media_engine *eng, uint32_t room,
                       uint32_t play_id, struct ch_pcm *pcm, int gain_db)
{
	if (!pcm)
		return EINVAL;
	if (!eng || !room_find(eng, room)) {
		ch_pcm_free(pcm);
		return ENOENT;
	}
	struct ch_media_source *s = source_new(pcm, play_id, room, false);
	if (!s)
		return ENOMEM;
	s->gain_q14 = gain_q14(gain_db);
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_ROOM_PLAY, .src = s};
	return room_cmd(eng, room, &cmd);
}

int ch_media_room_play_pause(struct ch_media_engine *eng, uint32_t room,
                             bool paused)
{
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_ROOM_PAUSE,
	                           .flag = paused};
	return room_cmd(eng, room, &cmd);
}

int ch_media_room_play_gain(struct ch_media_engine *eng, uint32_t room,
                            int gain_db)
{
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_ROOM_GAIN,
	                           .gain = gain_q14(gain_db)};
	return room_cmd(eng, room, &cmd);
}

int ch_media_room_play_stop(struct ch_media_engine *eng, uint32_t room)
{
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_ROOM_STOP};
	return room_cmd(eng, room, &cmd);
}

int ch_media_leg_play(struct ch_media_engine *eng, uint32_t leg,
                      uint32_t play_id, struct ch_pcm *pcm)
{
	if (!pcm)
		return EINVAL;
	struct leg_rec *lr = eng ? ch_media_engine_leg_find(eng, leg) : NULL;
	if (!lr) {
		ch_pcm_free(pcm);
		return ENOENT;
	}
	struct ch_media_source *s = source_new(pcm, play_id, leg, true);
	if (!s)
		return ENOMEM;
	s->ctl_next = lr->prompts;
	lr->prompts = s;
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_LEG_PLAY, .src = s};
	return leg_cmd(eng, leg, &cmd);
}

int ch_media_leg_play_stop(struct ch_media_engine *eng, uint32_t leg)
{
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_LEG_STOP};
	return leg_cmd(eng, leg, &cmd);
}

int ch_media_leg_isolate(struct ch_media_engine *eng, uint32_t leg,
                         bool isolated)
{
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_LEG_ISOLATE,
	                           .flag = isolated};
	return leg_cmd(eng, leg, &cmd);
}

int ch_media_room_record(struct ch_media_engine *eng, uint32_t room,
                         struct ch_media_tap *tap)
{
	struct room_rec *rr = eng ? room_find(eng, room) : NULL;
	if (!rr)
		return ENOENT;
	if (!tap)
		return EINVAL;
	if (rr->tapped[tap->voices])
		return EBUSY;
	struct ch_media_tapref *t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	t->tap = tap;
	t->room = room;
	rr->tapped[tap->voices] = true;
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_ROOM_RECORD,
	                           .tapref = t};
	return room_cmd(eng, room, &cmd);
}

static int untap(struct ch_media_engine *eng, uint32_t room, bool voices)
{
	struct room_rec *rr = eng ? room_find(eng, room) : NULL;
	if (!rr)
		return ENOENT;
	if (!rr->tapped[voices])
		return 0;
	rr->tapped[voices] = false;
	struct ch_media_cmd cmd = {.type = CH_MEDIA_CMD_ROOM_UNRECORD,
	                           .flag = voices};
	return room_cmd(eng, room, &cmd);
}

int ch_media_room_record_stop(struct ch_media_engine *eng, uint32_t room)
{
	return untap(eng, room, false);
}

int ch_media_room_voices_stop(struct ch_media_engine *eng, uint32_t room)
{
	return untap(eng, room, true);
}

void ch_media_engine_stats(struct ch_media_engine *eng,
                           struct ch_media_engine_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!eng)
		return;
	out->workers = eng->nworkers;
	for (unsigned i = 0; i < eng->nworkers; i++) {
		struct ch_media_worker *w = eng->wk[i].w;
		out->ticks +=
		    atomic_load_explicit(&w->ticks, memory_order_relaxed);
		out->overruns +=
		    atomic_load_explicit(&w->overruns, memory_order_relaxed);
		out->skipped +=
		    atomic_load_explicit(&w->skipped, memory_order_relaxed);
	}
}

/* ---- engine ---- */

static int engine_config(struct ch_media_engine *eng,
                         const struct ch_media_config *cfg)
{
	const char *ip = cfg->bind_ip ? cfg->bind_ip : "0.0.0.0";
	struct sa probe;

	if (strlen(ip) >= sizeof(eng->bind_ip) || sa_set_str(&probe, ip, 0))
		return EINVAL;
	strcpy(eng->bind_ip, ip);
	unsigned lo = cfg->rtp_lo + (cfg->rtp_lo & 1u);
	if (lo == 0 || cfg->rtp_hi < lo + 1)
		return EINVAL;
	eng->port_base = (uint16_t)lo;
	eng->npairs = (cfg->rtp_hi - lo + 1) / 2;
	eng->rtp_timeout_ms =
	    cfg->rtp_timeout_ms ? cfg->rtp_timeout_ms : DEFAULT_TIMEOUT_MS;
	eng->opus = cfg->opus ? *cfg->opus : ch_codec_opus_default;
	if (eng->opus.complexity < 0 || eng->opus.complexity > 10)
		return EINVAL;
	eng->nworkers = cfg->workers;
	if (eng->nworkers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		eng->nworkers = n > 0 ? (unsigned)n : 1;
	}
	if (eng->nworkers > MAX_WORKERS)
		eng->nworkers = MAX_WORKERS;
	return 0;
}

int ch_media_engine_alloc(struct ch_media_engine **engp,
                          const struct ch_media_config *cfg,
                          const struct ch_media_handlers *h, void *arg)
{
	if (!engp || !cfg)
		return EINVAL;
	struct ch_media_engine *eng = calloc(1, sizeof(*eng));
	if (!eng)
		return ENOMEM;
	if (h)
		eng->h = *h;
	eng->arg = arg;
	tmr_init(&eng->backlog_tmr);
	ch_g711_init();

	int err = engine_config(eng, cfg);
	if (err) {
		free(eng);
		return err;
	}
	eng->pair_used = calloc(eng->npairs, 1);
	eng->legs = calloc(eng->npairs, sizeof(*eng->legs));
	eng->nroom_slots = ROOM_SLOTS_INITIAL;
	eng->rooms = calloc(eng->nroom_slots, sizeof(*eng->rooms));
	eng->wk = calloc(eng->nworkers, sizeof(*eng->wk));
	if (!eng->pair_used || !eng->legs || !eng->rooms || !eng->wk) {
		err = ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < eng->nworkers && !err; i++) {
		struct wctl *wc = &eng->wk[i];
		wc->eng = eng;
		err = -ch_media_worker_alloc(&wc->w, i, eng->rtp_timeout_ms);
		if (!err)
			err =
			    fd_listen(wc->w->ev_efd, FD_READ, ev_readable, wc);
		wc->listening = !err;
	}
out:
	if (err) {
		ch_media_engine_free(eng);
		return err;
	}
	ch_log_info(LOG_MOD,
	            "engine: %u workers, RTP %s:%u-%u (%u legs), timeout %u ms",
	            eng->nworkers, eng->bind_ip, eng->port_base,
	            eng->port_base + 2 * eng->npairs - 1, eng->npairs,
	            eng->rtp_timeout_ms);
	*engp = eng;
	return 0;
}

/* Frees what a command hands over. */
static void cmd_free(struct ch_media_cmd *c)
{
	ch_codec_state_free(c->cs);
	free(c->slots);
	source_free(c->src);
	free(c->tapref);
}

/* After the worker has been joined: frees what it held for hand-back and
 * every command it never read. */
static void worker_leftovers(struct wctl *wc)
{
	struct ch_media_worker *w = wc->w;
	struct ch_media_ev ev;
	struct ch_media_cmd cmd;

	while (ch_ring_pop(&w->evs, &ev)) {
		if (ev.type == CH_MEDIA_EV_FREE)
			ch_codec_state_free(ev.ptr);
		else if (ev.type == CH_MEDIA_EV_FREE_SLOTS ||
		         ev.type == CH_MEDIA_EV_TAP_DETACHED)
			free(ev.ptr);
		else if (ev.type == CH_MEDIA_EV_ROOM_PLAY_DONE ||
		         ev.type == CH_MEDIA_EV_LEG_PLAY_DONE)
			source_free(ev.ptr);
	}
	while (w->play_backs) {
		struct ch_media_source *next = w->play_backs->next;
		source_free(w->play_backs);
		w->play_backs = next;
	}
	while (w->tap_backs) {
		struct ch_media_tapref *next = w->tap_backs->next;
		free(w->tap_backs);
		w->tap_backs = next;
	}
	while (w->frees) {
		struct ch_codec_state *next = w->frees->next;
		ch_codec_state_free(w->frees);
		w->frees = next;
	}
	while (w->slot_frees) {
		struct ch_media_room_slots *next = w->slot_frees->next;
		free(w->slot_frees);
		w->slot_frees = next;
	}
	while (ch_ring_pop(&w->cmds, &cmd))
		cmd_free(&cmd);
	while (wc->bl_head) {
		struct backlog *b = wc->bl_head;
		wc->bl_head = b->next;
		cmd_free(&b->cmd);
		free(b);
	}
	wc->bl_tail = NULL;
}

void ch_media_engine_free(struct ch_media_engine *eng)
{
	if (!eng)
		return;
	tmr_cancel(&eng->backlog_tmr);
	for (unsigned i = 0; eng->wk && i < eng->nworkers; i++) {
		struct wctl *wc = &eng->wk[i];
		if (!wc->w)
			continue;
		if (wc->listening)
			fd_close(wc->w->ev_efd);
		ch_media_worker_stop(wc->w);
		worker_leftovers(wc);
	}
	/* the workers are gone: everything they held is ours */
	for (unsigned i = 0; eng->legs && i < eng->npairs; i++) {
		if (eng->legs[i].leg)
			leg_destroy(eng, &eng->legs[i]);
	}
	for (unsigned i = 0; eng->rooms && i < eng->nroom_slots; i++) {
		if (eng->rooms[i].room)
			room_free_mem(eng->rooms[i].room);
	}
	for (unsigned i = 0; eng->wk && i < eng->nworkers; i++)
		ch_media_worker_free(eng->wk[i].w);
	free(eng->wk);
	free(eng->rooms);
	free(eng->legs);
	free(eng->pair_used);
	free(eng);
}
