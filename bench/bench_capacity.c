/*
 * bench_capacity.c: how many participants one chorusd holds. Raises the
 * load step by step (--steps "500,1000,..."; rooms of --room-size, the
 * first --talkers of each room sending a tone, the others encoded
 * silence) and measures each step over a window: chorusd's CPU (the
 * process and its busiest media worker thread, from /proc), ours, the
 * packets lost (received sequence numbers), p50/p99 of |interval - 20 ms|
 * between consecutive packets at each receiver (kernel receive times),
 * and how late we sent. A step holds when nothing was lost and p99 <
 * --p99-bound; the first step that fails is measured once more (the
 * machine is shared). The ramp goes on past a p99 failure while nothing
 * is lost (to show where CPU runs out) and stops at the first step that
 * loses packets (also measured twice). Prints one line per step and a
 * "result:" line: the largest load held and what limited it (chorusd's
 * media worker at a full core, the generator at a full core or late, or
 * neither: the machine), and the largest without loss (no sequence gap
 * and at least 99 % of the packets due received: chorusd numbers its own
 * packets, so a tick it skips shows only as fewer packets) and its limit.
 *
 * The load generator must not be the bottleneck, so it is built lean:
 * every participant of an RTP thread (--threads, default 1) shares that
 * thread's one UDP socket (its SDP offers that address; chorusd keeps a
 * socket per leg, so it filters and latches each leg as it would with
 * phones of their own). A thread sends all frames due in a millisecond
 * with one sendmmsg (each participant has a 1 ms phase slot of the 20
 * ms), reads with recvmmsg in batches, and only parses the RTP header of
 * what it receives (no decode, no heard check: bench_rtp_peer does that).
 * Frames are encoded once (50 tone frames and 50 silence frames), shared
 * by every sender; only the 12-byte header is per participant.
 *
 * Joining: conferences through the REST API, then one SIP INVITE per
 * participant (sip_util.h, --max-pending at a time); a step joins only
 * the participants it adds.
 *
 * Threads: the libre main thread joins, hangs up and reports; each RTP
 * thread owns its socket and the RTP state of its participants. They
 * meet in struct rtpth: the main thread appends participants that went
 * live (release store of nlive), and asks for window starts and ends
 * (req, acknowledged in done); the thread's statistics are read only
 * after it acknowledged.
 *
 * Usage: bench_capacity --help. Exit status 0 when the last step held, 1
 * when a step failed (the usual end), 2 on a usage or set-up error.
 */
#include "sip_util.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <curl/curl.h>
#include <opus/opus.h>

#include "load_util.h"
#include "media/g711.h"

#define FRAME_MS    20
#define FRAME_NS    (FRAME_MS * 1000000ull)
#define SLOT_NS     1000000ull /* phase slots of 1 ms */
#define SLOTS       (FRAME_NS / SLOT_NS)
#define RING        50 /* frames per ring, cycled: 1 s */
#define MAX_PAYLOAD 400
#define BATCH       256 /* datagrams per sendmmsg/recvmmsg */
#define RXBUF       512
#define MAX_THREADS 8
#define MAX_STEPS   32

enum codec { C_PCMU, C_OPUS };
enum pstate { P_IDLE, P_CALLING, P_UP, P_FAILED, P_CLOSED };

struct codec_info {
	const char *arg, *name, *pt;
	uint32_t srate;
	uint8_t ch;
	unsigned samples; /* per 20 ms: the RTP timestamp step */
};

static const struct codec_info codecs[] = {
    [C_PCMU] = {"pcmu", "PCMU", "0", 8000, 1, 160},
    [C_OPUS] = {"opus", "opus", "111", 48000, 2, 960},
};

/* RING encoded frames, sent in turn. Written before the threads start. */
struct ring {
	uint16_t len[RING];
	uint8_t data[RING][MAX_PAYLOAD];
};

/* One participant. call and st: main thread. dst: written by the main
 * thread before the participant is published to its RTP thread. The rest:
 * its RTP thread. */
struct part {
	unsigned room, idx, th;
	bool talker;
	enum pstate st;
	struct su_call call;
	struct sockaddr_in dst;
	/* sending */
	uint8_t hdr[12];
	uint16_t seq;
	uint32_t ts;
	unsigned frame_i;
	/* receiving */
	struct lu_seq rx;
	uint64_t rx_n, rx_last_ns;
	uint64_t exp0, rx0; /* at the window's start */
};

/* What a thread counted over a window. */
struct thstats {
	uint64_t sent, send_fail, late_max_ns, late_over_1ms, slots_missed;
	uint64_t received, expected, stray;
	double cpu_s; /* the thread's CPU time over the window */
	struct lu_hist hist;
};

enum { REQ_NONE, REQ_START, REQ_END };

/* One RTP thread. Fields as the file header says. */
struct rtpth {
	unsigned idx;
	pthread_t thread;
	int fd;
	struct sockaddr_in laddr;
	/* main -> thread */
	unsigned *live;         /* participants published, in order */
	_Atomic unsigned nlive; /* how many of live[] are valid */
	_Atomic unsigned req;   /* a window request, with its number... */
	_Atomic unsigned req_n;
	_Atomic unsigned done_n; /* ... acknowledged by the thread */
	/* thread */
	unsigned ntaken;
	unsigned *slot[SLOTS]; /* participants per 1 ms phase slot */
	unsigned nslot[SLOTS];
	uint64_t next_slot_ns; /* start of the next slot to send */
	unsigned next_slot;
	bool measuring;
	double cpu0;
	struct thstats st;
};

struct gen {
	/* options */
	const char *url, *token, *sip_target, *local_ip, *codec_arg;
	const char *steps_arg, *label;
	unsigned room_size, talkers, seconds, settle_ms, max_pending;
	unsigned threads, p99_bound_us;
	int pid;
	/* state */
	enum codec codec;
	unsigned steps[MAX_STEPS], nsteps, step, retried;
	unsigned total, rooms_made, held, dropped;
	char (*room_id)[64];
	struct part *partv;
	struct ring tone, silence;
	struct rtpth th[MAX_THREADS];
	_Atomic bool stop;
	int32_t *by_port; /* chorusd's RTP port -> participant + 1 */
	struct su_dialer dial;
	struct su_ua ua;
	struct tmr tmr, guard;
	uint64_t t_join0;
	struct lu_window win;
	long srv_thr0[MAX_THREADS], srv_thr1[MAX_THREADS];
	unsigned nsrv_thr;
	bool hanging_up, last_held, failed;
	unsigned whole; /* the largest step without loss */
	const char *limit, *loss_limit;
};

static struct gen g;

/* ---- frames ---- */

/* Fills r with 50 frames of a 400 Hz tone (whole periods in 20 ms: the
 * frames join up) or of digital silence. */
static int ring_fill(struct ring *r, bool tone)
{
	int16_t pcm[960];
	OpusEncoder *enc = NULL;
	const struct codec_info *ci = &codecs[g.codec];
	int err = 0;

	if (g.codec == C_OPUS) {
		enc =
		    opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
		if (!enc)
			return ENOMEM;
	}
	for (unsigned j = 0; j < RING; j++) {
		if (tone)
			lu_tone(pcm, ci->samples, 400.0, ci->srate, 8000.0);
		else
			memset(pcm, 0, sizeof(pcm));
		if (g.codec == C_PCMU) {
			ch_g711_ulaw_encode(pcm, r->data[j], ci->samples);
			r->len[j] = (uint16_t)ci->samples;
			continue;
		}
		int n = opus_encode(enc, pcm, (int)ci->samples, r->data[j],
		                    MAX_PAYLOAD);
		if (n < 0) {
			err = EPROTO;
			break;
		}
		r->len[j] = (uint16_t)n;
	}
	if (enc)
		opus_encoder_destroy(enc);
	return err;
}

/* ---- the RTP threads ---- */

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Takes the participants the main thread published into phase slots
 * (round robin: the load spreads evenly over the 20 ms). */
static void take_live(struct rtpth *t)
{
	unsigned n = atomic_load_explicit(&t->nlive, memory_order_acquire);
	for (; t->ntaken < n; t->ntaken++) {
		unsigned s = t->ntaken % SLOTS;
		t->slot[s][t->nslot[s]++] = t->live[t->ntaken];
	}
}

/* Window requests: a start resets the statistics and takes the
 * participants' baselines, an end adds up their losses. */
static void serve_req(struct rtpth *t)
{
	unsigned n = atomic_load_explicit(&t->req_n, memory_order_acquire);
	if (n == atomic_load_explicit(&t->done_n, memory_order_relaxed))
		return;
	unsigned r = atomic_load_explicit(&t->req, memory_order_relaxed);
	if (r == REQ_START) {
		memset(&t->st, 0, sizeof(t->st));
		for (unsigned k = 0; k < t->ntaken; k++) {
			struct part *p = &g.partv[t->live[k]];
			p->exp0 = lu_seq_expected(&p->rx);
			p->rx0 = p->rx_n;
		}
		t->cpu0 = thread_cpu_s();
		t->measuring = true;
	} else if (r == REQ_END) {
		t->measuring = false;
		t->st.cpu_s = thread_cpu_s() - t->cpu0;
		for (unsigned k = 0; k < t->ntaken; k++) {
			struct part *p = &g.partv[t->live[k]];
			t->st.expected += lu_seq_expected(&p->rx) - p->exp0;
			t->st.received += p->rx_n - p->rx0;
		}
	}
	atomic_store_explicit(&t->done_n, n, memory_order_release);
}

/* Queues participant p's next frame into msg/iov. */
static void frame_out(struct part *p, struct mmsghdr *m, struct iovec *iov)
{
	const struct ring *r = p->talker ? &g.tone : &g.silence;
	unsigned f = p->frame_i;

	p->hdr[2] = (uint8_t)(p->seq >> 8);
	p->hdr[3] = (uint8_t)p->seq;
	p->hdr[4] = (uint8_t)(p->ts >> 24);
	p->hdr[5] = (uint8_t)(p->ts >> 16);
	p->hdr[6] = (uint8_t)(p->ts >> 8);
	p->hdr[7] = (uint8_t)p->ts;
	p->seq++;
	p->ts += codecs[g.codec].samples;
	p->frame_i = (f + 1) % RING;
	iov[0] = (struct iovec){p->hdr, sizeof(p->hdr)};
	iov[1] = (struct iovec){(void *)r->data[f], r->len[f]};
	m->msg_hdr = (struct msghdr){.msg_name = &p->dst,
	                             .msg_namelen = sizeof(p->dst),
	                             .msg_iov = iov,
	                             .msg_iovlen = 2};
}

static void send_batch(struct rtpth *t, struct mmsghdr *m, unsigned n)
{
	unsigned off = 0;
	while (off < n) {
		int r = sendmmsg(t->fd, m + off, n - off, 0);
		if (r <= 0) {
			/* a full buffer, or a leg gone: skip one and go on */
			t->st.send_fail++;
			off++;
			continue;
		}
		off += (unsigned)r;
		t->st.sent += (unsigned)r;
	}
}

/* Sends every slot that is due by now, one sendmmsg per BATCH frames. A
 * thread over a frame behind starts again from now (counted). */
static void send_due(struct rtpth *t, uint64_t now)
{
	static _Thread_local struct mmsghdr m[BATCH];
	static _Thread_local struct iovec iov[BATCH][2];
	unsigned n = 0;

	if (now > t->next_slot_ns + FRAME_NS) {
		t->st.slots_missed += (now - t->next_slot_ns) / SLOT_NS;
		t->next_slot_ns = now - now % SLOT_NS;
	}
	while (t->next_slot_ns <= now) {
		uint64_t late = now - t->next_slot_ns;
		unsigned s = t->next_slot;
		if (t->measuring && t->nslot[s]) {
			if (late > t->st.late_max_ns)
				t->st.late_max_ns = late;
			if (late > 1000000)
				t->st.late_over_1ms += t->nslot[s];
		}
		for (unsigned i = 0; i < t->nslot[s]; i++) {
			frame_out(&g.partv[t->slot[s][i]], &m[n], iov[n]);
			if (++n == BATCH) {
				send_batch(t, m, n);
				n = 0;
			}
		}
		t->next_slot = (s + 1) % SLOTS;
		t->next_slot_ns += SLOT_NS;
	}
	if (n)
		send_batch(t, m, n);
}

/* One received datagram from src_port at kernel time t_ns. */
static void packet_in(struct rtpth *t, const uint8_t *b, size_t n,
                      uint16_t src_port, uint64_t t_ns)
{
	int32_t k = atomic_load_explicit(
	    (_Atomic int32_t *)&g.by_port[src_port], memory_order_relaxed);
	if (n < 12 || (b[0] >> 6) != 2 || su_is_rtcp(b))
		return;
	if (k <= 0 || g.partv[k - 1].th != t->idx) {
		t->st.stray++;
		return;
	}
	struct part *p = &g.partv[k - 1];
	uint16_t seq = (uint16_t)(b[2] << 8 | b[3]);
	uint32_t ssrc = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 |
	                (uint32_t)b[10] << 8 | b[11];
	lu_seq_add(&p->rx, ssrc, seq);
	p->rx_n++;
	if (t->measuring && p->rx_last_ns && t_ns > p->rx_last_ns) {
		uint64_t d = t_ns - p->rx_last_ns;
		lu_hist_add(&t->st.hist,
		            d > FRAME_NS ? d - FRAME_NS : FRAME_NS - d);
	}
	p->rx_last_ns = t_ns;
}

/* Reads everything queued, BATCH datagrams per recvmmsg. */
static void recv_all(struct rtpth *t)
{
	static _Thread_local uint8_t buf[BATCH][RXBUF];
	static _Thread_local struct mmsghdr m[BATCH];
	static _Thread_local struct iovec iov[BATCH];
	static _Thread_local struct sockaddr_in src[BATCH];
	static _Thread_local union {
		char b[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl[BATCH];
	int n;

	do {
		for (unsigned i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){buf[i], RXBUF};
			m[i].msg_hdr =
			    (struct msghdr){.msg_name = &src[i],
			                    .msg_namelen = sizeof(src[i]),
			                    .msg_iov = &iov[i],
			                    .msg_iovlen = 1,
			                    .msg_control = ctl[i].b,
			                    .msg_controllen = sizeof(ctl[i].b)};
		}
		n = recvmmsg(t->fd, m, BATCH, MSG_DONTWAIT, NULL);
		uint64_t now = 0;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &m[i].msg_hdr;
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			uint64_t ts;
			if (c && c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec k;
				memcpy(&k, CMSG_DATA(c), sizeof(k));
				ts = lu_ts_ns(&k);
			} else {
				if (!now) {
					struct timespec k;
					clock_gettime(CLOCK_REALTIME, &k);
					now = lu_ts_ns(&k);
				}
				ts = now;
			}
			packet_in(t, buf[i], m[i].msg_len,
			          ntohs(src[i].sin_port), ts);
		}
	} while (n == BATCH);
}

static void *rtp_main(void *arg)
{
	struct rtpth *t = arg;
	struct pollfd pfd = {.fd = t->fd, .events = POLLIN};

	t->next_slot_ns = lu_now_ns();
	t->next_slot_ns -= t->next_slot_ns % SLOT_NS;
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		uint64_t now = lu_now_ns();
		take_live(t);
		serve_req(t);
		send_due(t, now);
		recv_all(t);
		now = lu_now_ns();
		if (now >= t->next_slot_ns)
			continue;
		uint64_t wait = t->next_slot_ns - now;
		struct timespec to = {.tv_sec = 0, .tv_nsec = (long)wait};
		(void)ppoll(&pfd, 1, &to, NULL);
	}
	return NULL;
}

/* Opens thread t's socket (large buffers, kernel receive times). */
static int th_open(struct rtpth *t)
{
	int on = 1, buf = 32 * 1024 * 1024;
	socklen_t sl = sizeof(t->laddr);

	t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (t->fd < 0)
		return errno;
	memset(&t->laddr, 0, sizeof(t->laddr));
	t->laddr.sin_family = AF_INET;
	if (inet_pton(AF_INET, g.local_ip, &t->laddr.sin_addr) != 1 ||
	    bind(t->fd, (struct sockaddr *)&t->laddr, sizeof(t->laddr)) ||
	    getsockname(t->fd, (struct sockaddr *)&t->laddr, &sl))
		return errno ? errno : EINVAL;
	(void)setsockopt(t->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	/* root may pass net.core.rmem_max; else the plain option */
	if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)))
		(void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &buf,
		                 sizeof(buf));
	if (setsockopt(t->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)))
		(void)setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &buf,
		                 sizeof(buf));
	t->live = calloc(g.total, sizeof(*t->live));
	for (unsigned s = 0; s < SLOTS; s++)
		t->slot[s] = calloc(g.total / SLOTS + 1, sizeof(unsigned));
	if (!t->live || !t->slot[SLOTS - 1])
		return ENOMEM;
	return 0;
}

/* Asks every thread for a window start or end and waits for them. */
static void th_request(unsigned req)
{
	for (unsigned i = 0; i < g.threads; i++) {
		struct rtpth *t = &g.th[i];
		atomic_store_explicit(&t->req, req, memory_order_relaxed);
		atomic_fetch_add_explicit(&t->req_n, 1, memory_order_release);
	}
	for (unsigned i = 0; i < g.threads; i++) {
		struct rtpth *t = &g.th[i];
		unsigned n = atomic_load(&t->req_n);
		while (atomic_load_explicit(&t->done_n, memory_order_acquire) !=
		       n)
			usleep(200);
	}
}

/* ---- chorusd's threads ---- */

/*
 * CPU ticks of chorusd's media worker threads ("ch-media-N") into v (at
 * most MAX_THREADS, by N). Returns how many were found.
 */
static unsigned media_threads(long *v)
{
	char path[320], buf[512];
	unsigned n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", g.pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		unsigned long ut, st;
		unsigned idx;
		char *c;
		size_t len;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", g.pid,
		         e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		c = strrchr(buf, ')');
		if (!c || sscanf(buf, "%*d (ch-media-%u)", &idx) != 1 ||
		    idx >= MAX_THREADS ||
		    sscanf(c + 2,
		           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		           "%*u %lu %lu",
		           &ut, &st) != 2)
			continue;
		v[idx] = (long)(ut + st);
		if (idx + 1 > n)
			n = idx + 1;
	}
	closedir(d);
	return n;
}

/* ---- joining ---- */

static int rooms_make(unsigned rooms)
{
	for (unsigned r = g.rooms_made; r < rooms; r++) {
		if (lu_http_field(g.url, g.token, "POST", "/conferences",
		                  "{\"type\":\"conference\"}", "id",
		                  g.room_id[r], sizeof(g.room_id[r])))
			return -1;
	}
	for (unsigned r = g.rooms_made; r < rooms; r++) {
		if (lu_conference_wait(g.url, g.token, g.room_id[r]))
			return -1;
	}
	g.rooms_made = rooms;
	return 0;
}

/* Publishes participant k to its RTP thread: it starts sending. */
static void go_live(unsigned k)
{
	struct part *p = &g.partv[k];
	struct rtpth *t = &g.th[p->th];
	unsigned n = atomic_load_explicit(&t->nlive, memory_order_relaxed);

	memset(&p->dst, 0, sizeof(p->dst));
	p->dst.sin_family = AF_INET;
	p->dst.sin_port = htons(sa_port(&p->call.raddr));
	p->dst.sin_addr.s_addr = p->call.raddr.u.in.sin_addr.s_addr;
	atomic_store_explicit(
	    (_Atomic int32_t *)&g.by_port[sa_port(&p->call.raddr)],
	    (int32_t)k + 1, memory_order_relaxed);
	t->live[n] = k;
	atomic_store_explicit(&t->nlive, n + 1, memory_order_release);
}

static void estab_h(void *arg)
{
	struct part *p = arg;
	p->st = P_UP;
	go_live((unsigned)(p - g.partv));
	su_dialer_resolved(&g.dial, true);
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct part *p = arg;
	enum pstate was = p->st;

	p->st = was == P_CALLING ? P_FAILED : P_CLOSED;
	if (was == P_CALLING) {
		re_fprintf(stderr, "room %u #%u: call failed: %u %r (%s)\n",
		           p->room, p->idx, msg ? msg->scode : 0,
		           msg ? &msg->reason : NULL, strerror(err));
		su_dialer_resolved(&g.dial, false);
	} else if (!g.hanging_up) {
		g.dropped++;
	}
}

static int call_h(unsigned k, void *arg)
{
	const struct codec_info *ci = &codecs[g.codec];
	struct part *p = &g.partv[k];
	struct rtpth *t = &g.th[p->th];
	char to[256], from[128];
	struct sa laddr;
	int err;
	(void)arg;

	sa_init(&laddr, AF_INET);
	laddr.u.in = t->laddr;
	snprintf(to, sizeof(to), "sip:%s@%s", g.room_id[p->room], g.sip_target);
	re_snprintf(from, sizeof(from), "sip:cap-%u@%j", k, &g.ua.laddr);
	p->call.estab_h = estab_h;
	p->call.close_h = close_h;
	p->call.arg = p;
	err = su_call_connect(&p->call, &g.ua, to, from, &laddr, ci->pt,
	                      ci->name, ci->srate, ci->ch,
	                      g.codec == C_OPUS ? "useinbandfec=1" : NULL);
	p->st = err ? P_FAILED : P_CALLING;
	return err;
}

/* ---- steps ---- */

static void step_begin(void);
static void finish(void);

static void window_end_h(void *arg);

static void window_start_h(void *arg)
{
	(void)arg;
	tmr_cancel(&g.guard);
	g.nsrv_thr = media_threads(g.srv_thr0);
	lu_window_start(&g.win, g.pid);
	th_request(REQ_START);
	tmr_start(&g.tmr, (uint64_t)g.seconds * 1000, window_end_h, NULL);
}

/*
 * The verdict's cause when a step failed: who ran out of CPU. Sending
 * late does not count against us: chorusd mixes and sends on its own
 * timer, so our lateness shows the machine's scheduling, not a cause.
 */
static const char *limit_of(double media_max, double gen_max)
{
	if (media_max >= 90.0)
		return "chorusd (its busiest media worker at a full core)";
	if (gen_max >= 90.0)
		return "generator (its RTP thread at a full core)";
	return "the machine (neither at a full core: scheduling on 2 shared "
	       "cores)";
}

static void window_end_h(void *arg)
{
	struct thstats s;
	double gen_max = 0, media_sum = 0, media_max = 0, el;
	unsigned legs = g.dial.joined;
	(void)arg;

	th_request(REQ_END);
	lu_window_end(&g.win);
	(void)media_threads(g.srv_thr1);
	el = lu_window_s(&g.win);
	memset(&s, 0, sizeof(s));
	for (unsigned i = 0; i < g.threads; i++) {
		const struct thstats *t = &g.th[i].st;
		s.sent += t->sent;
		s.send_fail += t->send_fail;
		s.slots_missed += t->slots_missed;
		s.late_over_1ms += t->late_over_1ms;
		if (t->late_max_ns > s.late_max_ns)
			s.late_max_ns = t->late_max_ns;
		s.received += t->received;
		s.expected += t->expected;
		s.stray += t->stray;
		if (100.0 * t->cpu_s / el > gen_max)
			gen_max = 100.0 * t->cpu_s / el;
		for (unsigned b = 0; b < LU_HIST_N; b++)
			s.hist.bucket[b] += t->hist.bucket[b];
		s.hist.n += t->hist.n;
		if (t->hist.max_ns > s.hist.max_ns)
			s.hist.max_ns = t->hist.max_ns;
	}
	for (unsigned i = 0; i < g.nsrv_thr; i++) {
		double pct = 100.0 * (double)(g.srv_thr1[i] - g.srv_thr0[i]) /
		             (double)sysconf(_SC_CLK_TCK) / el;
		media_sum += pct;
		if (pct > media_max)
			media_max = pct;
	}
	uint64_t lost = s.expected > s.received ? s.expected - s.received : 0;
	double loss =
	    s.expected ? 100.0 * (double)lost / (double)s.expected : 100.0;
	double due = (double)legs * el * 1000.0 / FRAME_MS;
	double p50 = s.hist.n ? lu_hist_ms(&s.hist, 0.5) : NAN;
	double p99 = s.hist.n ? lu_hist_ms(&s.hist, 0.99) : NAN;
	double srv = lu_window_server_pct(&g.win);
	double late = s.late_max_ns / 1e6;
	bool whole = legs == g.steps[g.step] && !lost && !g.dropped &&
	             s.received >= 0.99 * due;
	bool held = whole && p99 < g.p99_bound_us / 1000.0;
	/* chorusd numbers its own packets: a tick it skips leaves no gap
	 * in the sequence, only fewer packets than due ("short") */
	const char *verdict = held    ? "held"
	                      : whole ? "failed: p99"
	                      : lost  ? "failed: loss"
	                              : "failed: short of due";

	printf("%-6s %5u legs %4u rooms | chorusd %6.1f %% (media %5.1f %%, "
	       "busiest %5.1f %%) %6.4f %%/leg | generator %5.1f %% (busiest "
	       "thread %5.1f %%), late max %5.2f ms, %llu sends >1 ms late, "
	       "%llu slots missed | received %5.1f %% of due, loss %.3f %% "
	       "(%llu) | dev p50 %.2f p99 %.2f ms | %s%s\n",
	       g.label, legs, g.rooms_made, srv, media_sum, media_max,
	       srv / (legs ? legs : 1), lu_window_own_pct(&g.win), gen_max,
	       late, (unsigned long long)s.late_over_1ms,
	       (unsigned long long)s.slots_missed, 100.0 * s.received / due,
	       loss, (unsigned long long)lost, p50, p99, verdict,
	       g.retried && !held ? " (again)" : "");
	if (s.send_fail || s.stray || g.dropped)
		printf("       (%llu sends refused, %llu stray packets, %u "
		       "calls closed by chorusd)\n",
		       (unsigned long long)s.send_fail,
		       (unsigned long long)s.stray, g.dropped);
	fflush(stdout);
	/* a first failure of either kind is measured once more */
	if (!held && !g.retried && (!g.failed || !whole)) {
		g.retried = 1;
		window_start_h(NULL);
		return;
	}
	g.retried = 0;
	g.last_held = held;
	if (held && !g.failed)
		g.held = legs;
	if (!held && !g.failed) {
		g.failed = true;
		g.limit = limit_of(media_max, gen_max);
	}
	if (!whole) {
		g.loss_limit = limit_of(media_max, gen_max);
		finish();
		return;
	}
	g.whole = legs;
	if (++g.step < g.nsteps) {
		step_begin();
		return;
	}
	if (!g.failed)
		g.limit = "none (the last step held)";
	g.loss_limit = "none (every step delivered)";
	finish();
}

static void joined_h(void *arg)
{
	(void)arg;
	if (g.dial.joined < g.dial.total) {
		fprintf(stderr, "bench_capacity: %u of %u joined\n",
		        g.dial.joined, g.dial.total);
		g.limit = "joins failed";
		finish();
		return;
	}
	tmr_start(&g.tmr, g.settle_ms, window_start_h, NULL);
}

static void join_guard_h(void *arg)
{
	(void)arg;
	fprintf(stderr, "bench_capacity: joins unresolved after 60 s\n");
	g.limit = "joins unresolved";
	finish();
}

/* Joins the participants of step g.step that are not in yet. */
static void step_begin(void)
{
	unsigned want = g.steps[g.step];

	if (rooms_make(want / g.room_size)) {
		fprintf(stderr,
		        "bench_capacity: creating conferences failed\n");
		g.limit = "REST failed";
		finish();
		return;
	}
	g.t_join0 = lu_now_ns();
	g.dial.total = want;
	tmr_start(&g.guard, 60000, join_guard_h, NULL);
	su_dialer_next(&g.dial);
}

static void sip_done_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void bye_guard_h(void *arg)
{
	(void)arg;
	fprintf(stderr, "bench_capacity: BYEs unanswered after 20 s\n");
	re_cancel();
}

/* Prints the result, stops the RTP, hangs everyone up. */
static void finish(void)
{
	tmr_cancel(&g.tmr);
	tmr_cancel(&g.guard);
	printf("result: label=%s codec=%s room_size=%u talkers=%u held=%u "
	       "limit=\"%s\" no_loss=%u loss_limit=\"%s\"\n",
	       g.label, codecs[g.codec].arg, g.room_size, g.talkers, g.held,
	       g.limit ? g.limit : "-", g.whole,
	       g.loss_limit ? g.loss_limit : "-");
	fflush(stdout);
	atomic_store(&g.stop, true);
	for (unsigned i = 0; i < g.threads; i++) {
		if (g.th[i].thread)
			pthread_join(g.th[i].thread, NULL);
		g.th[i].thread = 0;
	}
	g.hanging_up = g.dial.stopped = true;
	for (unsigned k = 0; k < g.total; k++)
		(void)su_call_close(&g.partv[k].call);
	tmr_start(&g.guard, 20000, bye_guard_h, NULL);
	sip_close(g.ua.sip, false);
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fputs(
	    "usage: bench_capacity --url API --token TOKEN --sip HOST:PORT\n"
	    "  --pid CHORUSD_PID [--codec pcmu|opus] [--room-size P]\n"
	    "  [--talkers T] [--steps N1,N2,...] [--seconds S] [--settle MS]\n"
	    "  [--threads N] [--p99-bound US] [--max-pending N] [--label L]\n"
	    "  [--local IP]\n"
	    "Joins N1 participants (rooms of P, the first T of each talking),\n"
	    "measures S seconds, then adds participants up to N2, and so on,\n"
	    "until a step loses a packet or its p99 |interval - 20 ms| at the\n"
	    "receivers reaches the bound (measured twice before it counts);\n"
	    "past a p99 failure it goes on while nothing is lost.\n"
	    "Defaults: pcmu, P 5, T = P, steps 500,1000,2000, 10 s, settle\n"
	    "2000 ms, 1 RTP thread, bound 2000 us, 16 INVITEs at once, local\n"
	    "127.0.0.1.\n",
	    f);
}

#define AT(f) offsetof(struct gen, f)

static int parse_steps(void)
{
	const char *s = g.steps_arg;
	while (*s && g.nsteps < MAX_STEPS) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v < g.room_size ||
		    (g.nsteps && v <= g.steps[g.nsteps - 1]))
			return -1;
		g.steps[g.nsteps++] = (unsigned)(v - v % g.room_size);
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return g.nsteps ? 0 : -1;
}

static int parse_args(int argc, char **argv)
{
	static const struct lu_opt opts[] = {
	    {"--url", LU_STR, AT(url)},
	    {"--token", LU_STR, AT(token)},
	    {"--sip", LU_STR, AT(sip_target)},
	    {"--local", LU_STR, AT(local_ip)},
	    {"--codec", LU_STR, AT(codec_arg)},
	    {"--steps", LU_STR, AT(steps_arg)},
	    {"--label", LU_STR, AT(label)},
	    {"--room-size", LU_UINT, AT(room_size)},
	    {"--talkers", LU_UINT, AT(talkers)},
	    {"--seconds", LU_UINT, AT(seconds)},
	    {"--settle", LU_UINT, AT(settle_ms)},
	    {"--threads", LU_UINT, AT(threads)},
	    {"--p99-bound", LU_UINT, AT(p99_bound_us)},
	    {"--max-pending", LU_UINT, AT(max_pending)},
	    {"--pid", LU_INT, AT(pid)},
	};
	unsigned none = 0, c;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		}
	}
	if (lu_opts_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &g,
	                  NULL, NULL, 0, &none))
		goto bad;
	for (c = 0; c < 2 && strcmp(g.codec_arg, codecs[c].arg); c++)
		;
	g.codec = (enum codec)c;
	if (g.talkers == UINT32_MAX)
		g.talkers = g.room_size;
	if (c == 2 || !g.room_size || g.talkers > g.room_size || !g.seconds ||
	    !g.threads || g.threads > MAX_THREADS || !g.max_pending || !g.url ||
	    !g.token || !g.sip_target || g.pid <= 0 || parse_steps())
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

static int setup(void)
{
	unsigned rooms;
	int err;

	g.total = g.steps[g.nsteps - 1];
	rooms = g.total / g.room_size;
	g.room_id = calloc(rooms, sizeof(*g.room_id));
	g.partv = calloc(g.total, sizeof(*g.partv));
	g.by_port = calloc(65536, sizeof(*g.by_port));
	if (!g.room_id || !g.partv || !g.by_port)
		return ENOMEM;
	err = ring_fill(&g.tone, true);
	if (!err)
		err = ring_fill(&g.silence, false);
	for (unsigned i = 0; !err && i < g.threads; i++) {
		g.th[i].idx = i;
		err = th_open(&g.th[i]);
	}
	for (unsigned k = 0; !err && k < g.total; k++) {
		struct part *p = &g.partv[k];
		uint32_t ssrc = rand_u32();
		p->room = k / g.room_size;
		p->idx = k % g.room_size;
		p->th = k % g.threads;
		p->talker = p->idx < g.talkers;
		p->call.rx_pt = -1;
		p->seq = rand_u16();
		p->ts = rand_u32();
		p->hdr[0] = 0x80;
		p->hdr[1] = (uint8_t)atoi(codecs[g.codec].pt);
		p->hdr[8] = (uint8_t)(ssrc >> 24);
		p->hdr[9] = (uint8_t)(ssrc >> 16);
		p->hdr[10] = (uint8_t)(ssrc >> 8);
		p->hdr[11] = (uint8_t)ssrc;
	}
	if (!err)
		err = su_ua_open(&g.ua, g.local_ip, sip_done_h, NULL);
	for (unsigned i = 0; !err && i < g.threads; i++)
		err = pthread_create(&g.th[i].thread, NULL, rtp_main, &g.th[i]);
	return err;
}

static void teardown(void)
{
	atomic_store(&g.stop, true);
	for (unsigned i = 0; i < g.threads; i++) {
		struct rtpth *t = &g.th[i];
		if (t->thread)
			pthread_join(t->thread, NULL);
		if (t->fd > 0)
			close(t->fd);
		free(t->live);
		for (unsigned s = 0; s < SLOTS; s++)
			free(t->slot[s]);
	}
	for (unsigned k = 0; g.partv && k < g.total; k++)
		(void)su_call_close(&g.partv[k].call);
	su_ua_close(&g.ua);
	if (g.room_id) {
		char path[128], *resp;
		for (unsigned r = 0; r < g.rooms_made; r++) {
			snprintf(path, sizeof(path), "/conferences/%s",
			         g.room_id[r]);
			(void)lu_http(g.url, g.token, "DELETE", path, NULL,
			              &resp);
			free(resp);
		}
	}
	free(g.partv);
	free(g.room_id);
	free(g.by_port);
}

static void signal_h(int sig)
{
	(void)sig;
	re_cancel();
}

int main(int argc, char **argv)
{
	int err, code = 2;

	g.room_size = 5;
	g.talkers = UINT32_MAX;
	g.seconds = 10;
	g.settle_ms = 2000;
	g.threads = 1;
	g.p99_bound_us = 2000;
	g.max_pending = 16;
	g.local_ip = "127.0.0.1";
	g.codec_arg = "pcmu";
	g.steps_arg = "500,1000,2000";
	g.label = "-";
	if (parse_args(argc, argv))
		return 2;
	lu_raise_nofile();
	if (libre_init() || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 2;
	ch_g711_init();
	tmr_init(&g.tmr);
	tmr_init(&g.guard);
	err = setup();
	if (err) {
		fprintf(stderr, "bench_capacity: set-up failed: %s\n",
		        strerror(err));
		goto out;
	}
	g.dial.max_pending = g.max_pending;
	g.dial.call_h = call_h;
	g.dial.done_h = joined_h;
	step_begin();
	(void)re_main(signal_h);
	code = g.last_held ? 0 : 1;
out:
	tmr_cancel(&g.tmr);
	tmr_cancel(&g.guard);
	teardown();
	curl_global_cleanup();
	libre_close();
	return code;
}
