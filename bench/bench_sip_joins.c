/*
 * bench_sip_joins.c: the control plane under SIP load: joins offered at a
 * set rate, then every participant hanging up at once; how fast chorusd
 * answers, how soon its events say so, and how long its control thread
 * stalls meanwhile.
 *
 * It creates R conferences through the REST API, subscribes to the
 * WebSocket event stream (/v1.0/ws), and INVITEs R x P participants (libre
 * sipsess as UAC, PCMU offered, From user j-K) at --rate joins a second,
 * each INVITE sent at its due time whatever the answers (an open loop, as
 * many phones calling: the generator does not wait for chorusd), at most
 * --max-pending unanswered. Each participant sends one RTP packet a second
 * so chorusd's RTP timeout never fires; what chorusd sends to it is never
 * read (a small receive buffer, dropped by the kernel). Once everyone has
 * joined (or 30 s after the last INVITE) and settled, every call is hung
 * up at once with BYE.
 *
 * Figures, per phase (joins, hang-up):
 * - joins: INVITEs sent and the rate achieved (first INVITE to last
 *   200 OK), the generator's own send lateness (so it is seen not to be
 *   the limit), INVITE -> 200 OK p50/p99/max, INVITE -> the participant's
 *   conference.member.joined event on the WebSocket p50/p99/max;
 * - hang-up: BYEs sent at once, the time until the last was answered
 *   (200, seen by the SIP trace handler), and until the last
 *   conference.member.left event arrived;
 * - both: chorusd's CPU (--pid), the control thread's stalls (p50/p99 and
 *   max of chorus_control_stall_seconds over the phase, from /metrics
 *   before and after it) and store commit time p99
 *   (chorus_store_commit_seconds).
 *
 * Exit status: 0 when everyone joined and, at the hang-up, every BYE was
 * answered and every participant left within --hangup-bound seconds
 * (default 3), 1 otherwise, 2 on a usage or set-up error.
 *
 * Design: one process, one libre main loop; a timerfd paces the INVITEs
 * and the keepalive RTP; the WebSocket client is a few lines over a
 * blocking connect and the loop's fd handler (server frames are unmasked).
 * Header-only helpers: sip_util.h, load_util.h.
 */
#include "sip_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <jansson.h>

#include "load_util.h"
#include "media/g711.h"

#define NS             1000000000ull
#define RTP_EVERY_NS   NS /* keepalive RTP per participant */
#define JOIN_WAIT_NS   (30 * NS)
#define MAX_BOUNDS     24
#define WS_MAX_MESSAGE (1u << 20)

enum pstate { P_IDLE, P_CALLING, P_UP, P_FAILED, P_CLOSED };

struct part {
	enum pstate st;
	struct su_call call;
	int fd;
	struct sa laddr;
	uint16_t seq;
	uint32_t ts, ssrc;
	uint64_t t_invite, t_ok, t_joined_ev, t_bye_ok, t_left_ev, next_rtp;
};

/* One histogram of /metrics (cumulative buckets as exposed). */
struct mhist {
	double le[MAX_BOUNDS];
	double cum[MAX_BOUNDS];
	unsigned n;
	double count, sum, max; /* max: the _max gauge, when there is one */
};

/* A /metrics reading: the stall and commit histograms, chorusd's CPU. */
struct mread {
	struct mhist stall, commit;
	double scrape_ms; /* the request's time: it stalls the loop too */
	bool ok;
};

struct gen {
	/* options */
	const char *api, *token, *sip_target, *local_ip;
	unsigned rooms, parts, rate, max_pending, settle_ms, hangup_bound;
	int pid;
	bool verbose;
	/* state */
	char (*room_id)[64];
	struct part *partv;
	unsigned total, next, pending, resolved, joined, failed, dropped;
	unsigned ev_joined, ev_left, bye_ok;
	struct su_ua ua;
	int tfd;
	uint64_t t_start, t_last_invite, t_last_ok, t_bye;
	struct lu_late late;
	bool hanging_up, done_joins;
	struct tmr tmr;
	struct lu_window win_join, win_bye;
	uint64_t ctl_join[2], ctl_bye[2]; /* control thread CPU ns */
	struct mread m_before, m_joined, m_bye0, m_bye1;
	/* WebSocket */
	int ws_fd;
	uint8_t *ws_buf;
	size_t ws_len, ws_cap;
	unsigned ws_msgs;
	bool ws_closed;
	int code;
};

static struct gen g;

/* CPU time (ns) chorusd's control thread (its main thread) has run,
 * from /proc/PID/task/PID/schedstat; 0 when unknown. */
static uint64_t ctl_cpu_ns(void)
{
	char path[96];
	unsigned long long ns = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", g.pid,
	         g.pid);
	FILE *f = g.pid > 0 ? fopen(path, "r") : NULL;
	if (f && fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	if (f)
		fclose(f);
	return ns;
}

/* Prints the control thread's share of a core over span_s and its CPU
 * per unit (join, leave) of n. */
static void print_ctl(const uint64_t *c, double span_s, unsigned n,
                      const char *unit)
{
	if (!c[0] || !c[1] || span_s <= 0 || !n)
		return;
	printf("  control thread: %.1f %% of a core, %.0f us CPU per %s\n",
	       100.0 * (c[1] - c[0]) / 1e9 / span_s, (c[1] - c[0]) / 1e3 / n,
	       unit);
}

/* ---- /metrics ---- */

/* Reads name's histogram (name_bucket{le="X"} V lines) from text. */
static void mhist_parse(const char *text, const char *name, struct mhist *h)
{
	char key[128];
	const char *p = text;
	memset(h, 0, sizeof(*h));
	snprintf(key, sizeof(key), "\n%s_bucket{le=\"", name);
	while ((p = strstr(p, key)) && h->n < MAX_BOUNDS) {
		p += strlen(key);
		h->le[h->n] =
		    strncmp(p, "+Inf", 4) ? strtod(p, NULL) : INFINITY;
		const char *v = strchr(p, ' ');
		if (!v)
			break;
		h->cum[h->n++] = strtod(v + 1, NULL);
	}
	snprintf(key, sizeof(key), "\n%s_count ", name);
	if ((p = strstr(text, key)))
		h->count = strtod(p + strlen(key), NULL);
	/* the gauge name_max_seconds beside name_seconds, if any */
	size_t base = strlen(name) > 8 ? strlen(name) - 8 : 0;
	snprintf(key, sizeof(key), "\n%.*s_max_seconds ", (int)base, name);
	if (base && (p = strstr(text, key)))
		h->max = strtod(p + strlen(key), NULL);
}

static void metrics_read(struct mread *m)
{
	char root[128], *body = NULL;
	const char *pre = strchr(g.api + 7, '/');
	snprintf(root, sizeof(root), "%.*s",
	         (int)(pre ? (size_t)(pre - g.api) : strlen(g.api)), g.api);
	memset(m, 0, sizeof(*m));
	uint64_t t0 = lu_now_ns();
	int st = lu_http(root, g.token, "GET", "/metrics", NULL, &body);
	m->scrape_ms = (lu_now_ns() - t0) / 1e6;
	if (st != 200 || !body) {
		free(body);
		return;
	}
	mhist_parse(body, "chorus_control_stall_seconds", &m->stall);
	mhist_parse(body, "chorus_store_commit_seconds", &m->commit);
	m->ok = m->stall.n > 0;
	free(body);
}

/* The q quantile (s) of what was observed between a and b (same bounds),
 * linear within the bucket; NAN when nothing was. */
static double mhist_q(const struct mhist *a, const struct mhist *b, double q)
{
	double total = b->count - a->count, want = q * total, prev = 0, lo = 0;
	if (total <= 0 || a->n != b->n)
		return NAN;
	for (unsigned i = 0; i < b->n; i++) {
		double c = b->cum[i] - a->cum[i];
		if (c >= want && c > prev) {
			if (isinf(b->le[i]))
				return lo;
			return lo +
			       (b->le[i] - lo) * (want - prev) / (c - prev);
		}
		prev = c;
		lo = b->le[i];
	}
	return lo;
}

/* The upper bound (s) of the highest bucket hit between a and b. */
static double mhist_top(const struct mhist *a, const struct mhist *b)
{
	double top = 0;
	for (unsigned i = 0; i < b->n && i < a->n; i++) {
		double below = i ? (b->cum[i - 1] - a->cum[i - 1]) : 0;
		if (b->cum[i] - a->cum[i] > below)
			top = b->le[i];
	}
	return top;
}

static void print_stalls(const char *phase, const struct mread *a,
                         const struct mread *b)
{
	if (!a->ok || !b->ok) {
		printf("  stalls (%s): not measured (no "
		       "chorus_control_stall_seconds in /metrics)\n",
		       phase);
		return;
	}
	/* the max is exact when the phase raised it; else only its bucket
	 * is known. Quantiles interpolate within a bucket: never past it */
	bool exact = b->stall.max > a->stall.max;
	double max = exact ? b->stall.max : mhist_top(&a->stall, &b->stall);
	double p50 = mhist_q(&a->stall, &b->stall, 0.50);
	double p99 = mhist_q(&a->stall, &b->stall, 0.99);
	printf("  control stall: p50 %.2f ms, p99 %.2f ms, max %s%.2f ms",
	       1e3 * (p50 < max ? p50 : max), 1e3 * (p99 < max ? p99 : max),
	       exact ? "" : "<= ", 1e3 * max);
	printf(" (%.0f samples of 5 ms, %s; with the /metrics scrape before "
	       "it, %.1f ms)\n",
	       b->stall.count - a->stall.count, phase, a->scrape_ms);
	printf("  store commits: %.0f, p50 %.2f ms, p99 %.2f ms (%s)\n",
	       b->commit.count - a->commit.count,
	       1e3 * mhist_q(&a->commit, &b->commit, 0.50),
	       1e3 * mhist_q(&a->commit, &b->commit, 0.99), phase);
}

/* ---- WebSocket events ---- */

static int ws_open(void)
{
	char host[128], req[1024], resp[4096];
	unsigned port;
	struct sockaddr_in sin;
	size_t len = 0;

	memset(&sin, 0, sizeof(sin));
	if (sscanf(g.api, "http://%127[^:/]:%u", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return EINVAL;
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	const char *pre = strchr(g.api + 7, '/');
	int n = snprintf(req, sizeof(req),
	                 "GET %s/ws?token=%s HTTP/1.1\r\nHost: %s:%u\r\n"
	                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 13\r\n\r\n",
	                 pre ? pre : "", g.token, host, port);
	g.ws_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (g.ws_fd < 0 ||
	    connect(g.ws_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    write(g.ws_fd, req, (size_t)n) != n)
		return errno ? errno : EIO;
	char *end = NULL;
	while (!end && len + 1 < sizeof(resp)) {
		ssize_t k = read(g.ws_fd, resp + len, sizeof(resp) - len - 1);
		if (k <= 0)
			return EPROTO;
		len += (size_t)k;
		resp[len] = '\0';
		end = strstr(resp, "\r\n\r\n");
	}
	if (!end || !strstr(resp, " 101 "))
		return EPROTO;
	/* what came after the head is the first frames */
	size_t rest = len - (size_t)(end + 4 - resp);
	g.ws_cap = 1 << 16;
	g.ws_buf = malloc(g.ws_cap);
	if (!g.ws_buf)
		return ENOMEM;
	memcpy(g.ws_buf, end + 4, rest);
	g.ws_len = rest;
	(void)fcntl(g.ws_fd, F_SETFL, fcntl(g.ws_fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* A text message: an event of a participant (caller_id j-K). */
static void ws_event(const char *text, size_t n)
{
	json_t *o = json_loadb(text, n, 0, NULL);
	const char *ev = json_string_value(json_object_get(o, "event"));
	const char *caller = json_string_value(json_object_get(o, "caller_id"));
	unsigned k;
	uint64_t now = lu_now_ns();

	g.ws_msgs++;
	if (ev && caller && sscanf(caller, "j-%u", &k) == 1 && k < g.total) {
		struct part *p = &g.partv[k];
		if (!strcmp(ev, "conference.member.joined") &&
		    !p->t_joined_ev) {
			p->t_joined_ev = now;
			g.ev_joined++;
		} else if (!strcmp(ev, "conference.member.left") &&
		           !p->t_left_ev) {
			p->t_left_ev = now;
			g.ev_left++;
		}
	}
	json_decref(o);
}

/* Takes the whole frames at the start of the buffer. */
static void ws_frames(void)
{
	size_t off = 0;
	for (;;) {
		const uint8_t *b = g.ws_buf + off;
		size_t have = g.ws_len - off, hdr = 2;
		uint64_t len;
		if (have < 2)
			break;
		len = b[1] & 0x7f;
		if (len == 126) {
			hdr = 4;
			if (have < hdr)
				break;
			len = (uint64_t)b[2] << 8 | b[3];
		} else if (len == 127) {
			hdr = 10;
			if (have < hdr)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | b[2 + i];
		}
		if (b[1] & 0x80)
			hdr += 4; /* a server does not mask; skip if it does */
		if (len > WS_MAX_MESSAGE) {
			g.ws_closed = true;
			break;
		}
		if (have < hdr + len)
			break;
		if ((b[0] & 0x0f) == 1)
			ws_event((const char *)b + hdr, (size_t)len);
		else if ((b[0] & 0x0f) == 8)
			g.ws_closed = true;
		off += hdr + (size_t)len;
	}
	memmove(g.ws_buf, g.ws_buf + off, g.ws_len - off);
	g.ws_len -= off;
}

static void ws_read_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
	for (;;) {
		if (g.ws_cap - g.ws_len < 4096) {
			uint8_t *nb = realloc(g.ws_buf, g.ws_cap * 2);
			if (!nb)
				return;
			g.ws_buf = nb;
			g.ws_cap *= 2;
		}
		ssize_t k =
		    read(g.ws_fd, g.ws_buf + g.ws_len, g.ws_cap - g.ws_len);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
			g.ws_closed = true;
			fd_close(g.ws_fd);
			return;
		}
		if (k < 0)
			break;
		g.ws_len += (size_t)k;
		ws_frames();
	}
}

/* ---- SIP ---- */

static void check_joins_done(void);

static void estab_h(void *arg)
{
	struct part *p = arg;
	p->st = P_UP;
	p->t_ok = g.t_last_ok = lu_now_ns();
	p->next_rtp = p->t_ok;
	g.pending--;
	g.resolved++;
	g.joined++;
	check_joins_done();
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct part *p = arg;
	enum pstate was = p->st;
	unsigned k = (unsigned)(p - g.partv);

	p->st = was == P_CALLING ? P_FAILED : P_CLOSED;
	if (was == P_CALLING) {
		g.pending--;
		g.resolved++;
		g.failed++;
		if (msg)
			re_fprintf(stderr, "j-%u: call failed: %u %r\n", k,
			           msg->scode, &msg->reason);
		else
			fprintf(stderr, "j-%u: call failed: %s\n", k,
			        strerror(err));
		check_joins_done();
	} else if (!g.hanging_up) {
		g.dropped++;
		fprintf(stderr, "j-%u: call closed by the server\n", k);
	}
}

static int invite(unsigned k)
{
	struct part *p = &g.partv[k];
	char to[256], from[128];
	snprintf(to, sizeof(to), "sip:%s@%s", g.room_id[k / g.parts],
	         g.sip_target);
	re_snprintf(from, sizeof(from), "sip:j-%u@%j", k, &g.ua.laddr);
	p->call.estab_h = estab_h;
	p->call.close_h = close_h;
	p->call.arg = p;
	p->t_invite = g.t_last_invite = lu_now_ns();
	int err = su_call_connect(&p->call, &g.ua, to, from, &p->laddr, "0",
	                          "PCMU", 8000, 1, NULL);
	p->st = err ? P_FAILED : P_CALLING;
	if (err) {
		fprintf(stderr, "j-%u: INVITE failed: %s\n", k, strerror(err));
		g.resolved++;
		g.failed++;
	} else {
		g.pending++;
	}
	return err;
}

/* Trace handler: a 2xx answer to one of our BYEs (From user j-K). */
static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
                    const struct sa *dst, const uint8_t *pkt, size_t len,
                    void *arg)
{
	char head[2048];
	unsigned k;
	(void)tp;
	(void)src;
	(void)dst;
	(void)arg;
	if (tx || !g.hanging_up || len < 12 || memcmp(pkt, "SIP/2.0 2", 9))
		return;
	snprintf(head, sizeof(head), "%.*s",
	         (int)(len < sizeof(head) - 1 ? len : sizeof(head) - 1), pkt);
	const char *cseq = strcasestr(head, "\nCSeq:");
	const char *eol = cseq ? strchr(cseq + 1, '\n') : NULL;
	const char *bye = cseq ? strstr(cseq, "BYE") : NULL;
	const char *from = strcasestr(head, "\nFrom:");
	const char *j = from ? strstr(from, "sip:j-") : NULL;
	if (!bye || (eol && bye > eol) || !j ||
	    sscanf(j, "sip:j-%u", &k) != 1 || k >= g.total ||
	    g.partv[k].t_bye_ok)
		return;
	g.partv[k].t_bye_ok = lu_now_ns();
	g.bye_ok++;
}

/* The UA's UDP socket (libre does not hand it out: found by its address
 * among our descriptors) gets a deep receive buffer, so the 200 OKs of
 * thousands of BYEs sent at once are not dropped here while the loop is
 * still sending: the generator must not be the limit. Returns the bytes
 * the kernel granted, 0 if the socket was not found. */
static int ua_rcvbuf(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int got = 0, want = 8 * 1024 * 1024;
	while (d && (e = readdir(d))) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sa x;
		int fd = atoi(e->d_name);
		if (fd <= 2 || getsockname(fd, (struct sockaddr *)&ss, &sl) ||
		    sa_set_sa(&x, (struct sockaddr *)&ss) ||
		    !sa_cmp(&x, &g.ua.laddr, SA_ALL))
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want,
		               sizeof(want)))
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want,
			                 sizeof(want));
		sl = sizeof(got);
		(void)getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &sl);
	}
	if (d)
		closedir(d);
	return got;
}

/* ---- pacing: INVITEs at the rate, keepalive RTP ---- */

static void send_rtp(struct part *p, uint64_t now)
{
	static uint8_t silence[160];
	if (!silence[0])
		memset(silence, 0xff, sizeof(silence)); /* PCMU silence */
	(void)su_rtp_send(p->fd, &p->call.raddr, false, 0, p->seq++, p->ts,
	                  p->ssrc, silence, sizeof(silence));
	p->ts += 8000;
	p->next_rtp = now + RTP_EVERY_NS;
}

static void tick_h(int flags, void *arg)
{
	uint64_t exp, now = lu_now_ns(), next = now + 20000000ull;
	(void)flags;
	(void)arg;
	if (read(g.tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	while (!g.hanging_up && g.next < g.total && g.pending < g.max_pending) {
		uint64_t due = g.t_start + (uint64_t)g.next * NS / g.rate;
		if (due > now) {
			if (due < next)
				next = due;
			break;
		}
		lu_late_add(&g.late, now - due);
		(void)invite(g.next++);
		now = lu_now_ns();
	}
	if (g.next == g.total && g.resolved == g.total)
		check_joins_done();
	for (unsigned k = 0; !g.hanging_up && k < g.total; k++) {
		struct part *p = &g.partv[k];
		if (p->st == P_UP && p->call.media && p->next_rtp <= now)
			send_rtp(p, now);
	}
	lu_timerfd_arm(g.tfd, next);
}

/* ---- phases ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* p50/p99/max (ms) of the n latencies v (ns; sorts v). */
static void print_lat(const char *what, uint64_t *v, unsigned n, unsigned of)
{
	if (!n) {
		printf("  %-14s none of %u\n", what, of);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	unsigned r50 = (unsigned)ceil(0.50 * n), r99 = (unsigned)ceil(0.99 * n);
	printf("  %-14s p50 %.1f ms, p99 %.1f ms, max %.1f ms (%u of %u)\n",
	       what, v[r50 ? r50 - 1 : 0] / 1e6, v[r99 ? r99 - 1 : 0] / 1e6,
	       v[n - 1] / 1e6, n, of);
}

static void report_joins(void)
{
	uint64_t *v = calloc(g.total, sizeof(*v));
	unsigned n = 0;
	double span = (g.t_last_ok - g.t_start) / 1e9;
	double sent_span = (g.t_last_invite - g.t_start) / 1e9;

	printf("joins: %u rooms x %u participants offered at %u/s "
	       "(max %u unanswered)\n",
	       g.rooms, g.parts, g.rate, g.max_pending);
	printf("  joined:        %u of %u, %u failed; first INVITE to last "
	       "200 OK %.2f s: %.0f joins/s achieved\n",
	       g.joined, g.total, g.failed, span,
	       span > 0 ? g.joined / span : 0.0);
	printf("  INVITEs sent:  %u in %.2f s (%.0f/s); send lateness max "
	       "%.2f ms, %lu of %lu > 1 ms late (generator)\n",
	       g.next, sent_span, sent_span > 0 ? (g.next - 1) / sent_span : 0,
	       g.late.max_ns / 1e6, (unsigned long)g.late.over_1ms,
	       (unsigned long)g.late.sends);
	for (unsigned k = 0; v && k < g.total; k++)
		if (g.partv[k].t_ok)
			v[n++] = g.partv[k].t_ok - g.partv[k].t_invite;
	if (v)
		print_lat("INVITE->200:", v, n, g.total);
	n = 0;
	for (unsigned k = 0; v && k < g.total; k++)
		if (g.partv[k].t_joined_ev)
			v[n++] = g.partv[k].t_joined_ev - g.partv[k].t_invite;
	if (v)
		print_lat("INVITE->joined:", v, n, g.total);
	free(v);
	double cpu = lu_window_server_pct(&g.win_join);
	printf("  CPU:           chorusd %.1f %%, generator %.1f %% of one "
	       "core\n",
	       cpu, lu_window_own_pct(&g.win_join));
	print_ctl(g.ctl_join, lu_window_s(&g.win_join), g.joined, "join");
	print_stalls("joins", &g.m_before, &g.m_joined);
	fflush(stdout);
}

static void report_bye(void)
{
	uint64_t last_ok = 0, last_left = 0;
	unsigned byes = 0;
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		if (!p->t_ok)
			continue;
		byes++;
		if (p->t_bye_ok > last_ok)
			last_ok = p->t_bye_ok;
		if (p->t_left_ev > last_left)
			last_left = p->t_left_ev;
	}
	double ok_s = last_ok ? (last_ok - g.t_bye) / 1e9 : NAN;
	double left_s = last_left ? (last_left - g.t_bye) / 1e9 : NAN;
	bool held = g.bye_ok == byes && g.ev_left >= byes &&
	            ok_s <= g.hangup_bound && left_s <= g.hangup_bound;
	printf("hang-up: %u BYEs at once\n", byes);
	printf("  answered:      %u of %u, the last %.2f s after the "
	       "hang-up\n",
	       g.bye_ok, byes, ok_s);
	printf("  left events:   %u of %u (conference.member.left), the "
	       "last %.2f s after the hang-up\n",
	       g.ev_left, byes, left_s);
	printf("  CPU:           chorusd %.1f %%, generator %.1f %% of one "
	       "core\n",
	       lu_window_server_pct(&g.win_bye), lu_window_own_pct(&g.win_bye));
	print_ctl(g.ctl_bye, lu_window_s(&g.win_bye), byes, "leave");
	print_stalls("hang-up", &g.m_bye0, &g.m_bye1);
	printf("  verdict:       %s: every BYE answered and every "
	       "participant left within %u s\n",
	       held ? "held" : "NOT HELD", g.hangup_bound);
	fflush(stdout);
	if (!held)
		g.code = 1;
}

static void bye_wait_h(void *arg);

/* Everyone is answered and has left, or the wait is over. */
static void bye_check(bool timeout)
{
	unsigned byes = 0;
	for (unsigned k = 0; k < g.total; k++)
		byes += g.partv[k].t_ok != 0;
	if (!timeout && (g.bye_ok < byes || g.ev_left < byes) && !g.ws_closed)
		return;
	tmr_cancel(&g.tmr);
	lu_window_end(&g.win_bye);
	g.ctl_bye[1] = ctl_cpu_ns();
	metrics_read(&g.m_bye1);
	report_bye();
	re_cancel();
}

static void bye_wait_h(void *arg)
{
	(void)arg;
	uint64_t waited = lu_now_ns() - g.t_bye;
	bye_check(waited > (uint64_t)(g.hangup_bound + 5) * NS);
	if (g.hanging_up && !tmr_isrunning(&g.tmr))
		tmr_start(&g.tmr, 50, bye_wait_h, NULL);
}

static void hangup_h(void *arg)
{
	(void)arg;
	metrics_read(&g.m_bye0);
	lu_window_start(&g.win_bye, g.pid);
	g.ctl_bye[0] = ctl_cpu_ns();
	g.hanging_up = true;
	g.t_bye = lu_now_ns();
	for (unsigned k = 0; k < g.total; k++) {
		(void)su_call_close(&g.partv[k].call);
		g.partv[k].st = P_CLOSED;
	}
	tmr_start(&g.tmr, 50, bye_wait_h, NULL);
}

static void joins_end(void)
{
	if (g.done_joins)
		return;
	g.done_joins = true;
	lu_window_end(&g.win_join);
	g.ctl_join[1] = ctl_cpu_ns();
	metrics_read(&g.m_joined);
	report_joins();
	if (g.joined < g.total || g.dropped)
		g.code = 1;
	if (!g.joined) {
		re_cancel();
		return;
	}
	tmr_start(&g.tmr, g.settle_ms, hangup_h, NULL);
}

static void join_wait_h(void *arg)
{
	(void)arg;
	if (!g.done_joins && lu_now_ns() - g.t_last_invite > JOIN_WAIT_NS) {
		fprintf(stderr,
		        "bench_sip_joins: %u INVITEs and %u joined "
		        "events missing after 30 s\n",
		        g.total - g.resolved, g.joined - g.ev_joined);
		joins_end();
		return;
	}
	check_joins_done();
	if (!g.done_joins)
		tmr_start(&g.tmr, 50, join_wait_h, NULL);
}

/* Every INVITE is answered and every joined event has come. */
static void check_joins_done(void)
{
	if (g.done_joins || g.next < g.total || g.resolved < g.total)
		return;
	if (g.ev_joined < g.joined && !g.ws_closed) {
		if (!tmr_isrunning(&g.tmr))
			tmr_start(&g.tmr, 50, join_wait_h, NULL);
		return;
	}
	tmr_cancel(&g.tmr);
	joins_end();
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fputs("usage: bench_sip_joins --api URL --token TOKEN --sip HOST:PORT\n"
	      "  [--rooms R] [--participants P] [--rate JOINS_PER_S]\n"
	      "  [--max-pending N] [--settle MS] [--hangup-bound S]\n"
	      "  [--pid CHORUSD_PID] [--local IP] [-v]\n"
	      "Defaults: 100 x 5, 250 joins/s, 10000 unanswered at most,\n"
	      "settle 1000 ms, hang-up bound 3 s, local 127.0.0.1.\n",
	      f);
}

#define AT(f) offsetof(struct gen, f)

static bool flag_h(const char *a)
{
	if (strcmp(a, "-v"))
		return false;
	g.verbose = true;
	return true;
}

static int parse_args(int argc, char **argv)
{
	static const struct lu_opt opts[] = {
	    {"--api", LU_STR, AT(api)},
	    {"--token", LU_STR, AT(token)},
	    {"--sip", LU_STR, AT(sip_target)},
	    {"--local", LU_STR, AT(local_ip)},
	    {"--rooms", LU_UINT, AT(rooms)},
	    {"--participants", LU_UINT, AT(parts)},
	    {"--rate", LU_UINT, AT(rate)},
	    {"--max-pending", LU_UINT, AT(max_pending)},
	    {"--settle", LU_UINT, AT(settle_ms)},
	    {"--hangup-bound", LU_UINT, AT(hangup_bound)},
	    {"--pid", LU_INT, AT(pid)},
	};
	unsigned nconfs = 0;
	if (lu_opts_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &g,
	                  flag_h, NULL, 0, &nconfs) ||
	    !g.api || !g.token || !g.sip_target || !g.rooms || !g.parts ||
	    !g.rate || !g.max_pending) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int setup(void)
{
	g.total = g.rooms * g.parts;
	g.room_id = calloc(g.rooms, sizeof(*g.room_id));
	g.partv = calloc(g.total, sizeof(*g.partv));
	if (!g.room_id || !g.partv)
		return ENOMEM;
	for (unsigned r = 0; r < g.rooms; r++)
		if (lu_http_field(g.api, g.token, "POST", "/conferences",
		                  "{\"type\":\"conference\"}", "id",
		                  g.room_id[r], sizeof(g.room_id[r])))
			return EPROTO;
	for (unsigned r = 0; r < g.rooms; r++)
		if (lu_conference_wait(g.api, g.token, g.room_id[r]))
			return EPROTO;
	int err = ws_open();
	if (!err)
		err = fd_listen(g.ws_fd, FD_READ, ws_read_h, NULL);
	if (err) {
		fprintf(stderr, "bench_sip_joins: WebSocket: %s\n",
		        strerror(err));
		return err;
	}
	err = su_ua_open(&g.ua, g.local_ip, NULL, NULL);
	if (err)
		return err;
	sip_set_trace_handler(g.ua.sip, trace_h);
	if (!ua_rcvbuf())
		fprintf(stderr, "bench_sip_joins: SIP socket not found: its "
		                "receive buffer stays the default\n");
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		uint16_t port;
		int small = 4096;
		p->fd = lu_udp_open(g.local_ip, &port);
		if (p->fd < 0)
			return errno ? errno : EMFILE;
		/* chorusd's RTP to us is never read: let the kernel drop it */
		setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		(void)sa_set_str(&p->laddr, g.local_ip, port);
		p->ssrc = rand_u32();
		p->seq = rand_u16();
		p->ts = rand_u32();
	}
	g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	if (g.tfd < 0)
		return errno;
	return fd_listen(g.tfd, FD_READ, tick_h, NULL);
}

static void teardown(void)
{
	tmr_cancel(&g.tmr);
	for (unsigned k = 0; g.partv && k < g.total; k++) {
		(void)su_call_close(&g.partv[k].call);
		if (g.partv[k].fd >= 0)
			close(g.partv[k].fd);
	}
	su_fd_close(g.tfd);
	su_ua_close(&g.ua);
	if (g.ws_fd >= 0) {
		fd_close(g.ws_fd);
		close(g.ws_fd);
	}
	free(g.ws_buf);
	free(g.partv);
	free(g.room_id);
}

static void signal_h(int sig)
{
	(void)sig;
	re_cancel();
}

int main(int argc, char **argv)
{
	int err;

	g.rooms = 100;
	g.parts = 5;
	g.rate = 250;
	g.max_pending = 10000;
	g.settle_ms = 1000;
	g.hangup_bound = 3;
	g.local_ip = "127.0.0.1";
	g.tfd = g.ws_fd = -1;
	if (parse_args(argc, argv))
		return 2;
	lu_raise_nofile();
	if (libre_init())
		return 2;
	(void)fd_setsize((int)(g.rooms * g.parts * 2 + 256));
	tmr_init(&g.tmr);
	err = setup();
	if (err) {
		fprintf(stderr, "bench_sip_joins: set-up failed: %s\n",
		        strerror(err));
		teardown();
		libre_close();
		return 2;
	}
	metrics_read(&g.m_before);
	lu_window_start(&g.win_join, g.pid);
	g.ctl_join[0] = ctl_cpu_ns();
	g.t_start = lu_now_ns();
	lu_timerfd_arm(g.tfd, g.t_start);
	(void)re_main(signal_h);
	if (!g.done_joins)
		g.code = 1;
	teardown();
	libre_close();
	return g.code;
}
