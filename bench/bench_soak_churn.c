/*
 * bench_soak_churn.c: SIP churn for a soak run of chorusd, and a sampler
 * of chorusd's memory and descriptors while it goes on.
 *
 * N slots (default 100) each hold one participant at a time: a real SIP
 * call (libre sipsess, PCMU, an SDP offer with rtcp-mux) to one of the
 * rooms, sending a tone every 20 ms and counting what the server sends.
 * Each call stays a random --min-stay..--max-stay seconds, hangs up with
 * BYE, and the slot calls again at once into a random open room, so the
 * participant count stays about N while thousands of calls come and go.
 * The rooms are the --conference ids (stable, never deleted) plus
 * --transient rooms it creates itself; every --room-every seconds the
 * oldest transient room is deleted through the REST API with its
 * participants in it (the server hangs them up) and a new one is created.
 *
 * After --warmup seconds it samples chorusd (--pid): VmRSS and VmHWM from
 * /proc/PID/status, the entries of /proc/PID/fd, its threads, its CPU
 * share and the size of --data-dir; then every --sample seconds for
 * --seconds, and once more ("end", load still on). Then it hangs every call
 * up, waits for the BYE transactions, waits --idle seconds and samples
 * "idle", and asks the API how many participants each room still lists.
 * It prints a table of the samples, the call figures and a verdict line.
 *
 * It stops early when chorusd exits. Failures counted: INVITEs refused or
 * unanswered, calls the server hung up outside a room deletion, calls up 3 s or
 * more that received no RTP, and participants still listed after the hang-up.
 * Exit status 0 when there was none and the descriptor count did not grow by
 * more than 8, 1 otherwise, 2 on a usage or set-up error. RSS growth is
 * reported, not judged (caches fill in a short run).
 *
 * Design: one process, one libre main loop (SIP, timers, RTP sockets, a
 * timerfd for sending), as bench_sip_load.c. REST calls are blocking and
 * rare (a room change every --room-every s). Usage: --help;
 * bench/soak.sh runs it with API load beside it against a fresh chorusd.
 */
#include "sip_util.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>

#include "load_util.h"
#include "media/g711.h"

#define FRAME_NS   20000000ull
#define MAX_ROOMS  64
#define MAX_SLOTS  1000
#define MAX_SAMPL  512
#define MAX_LOGGED 20 /* failure lines printed, then only counted */
#define PCMU_PT    0

enum rstate { R_OPEN, R_STARTING, R_GONE };
enum sstate { S_IDLE, S_CALLING, S_UP };

/* A conference the slots call into. Main thread. */
struct room {
	char id[64];
	enum rstate st;
	bool transient;
	unsigned gen; /* bumped when deleted: calls made into an older gen
	               * were hung up by that deletion */
	uint64_t t_create;
	unsigned polls; /* GETs while starting */
};

/* One participant place; its UDP socket is reused by each call it
 * makes. Main thread. */
struct slot {
	unsigned idx;
	enum sstate st;
	struct room *room;
	unsigned room_gen;
	char conf[64]; /* the id called (the room may have a new one) */
	struct sipsess *sess;
	struct sdp_session *sdp;
	struct sdp_media *sdpm;
	int fd;
	struct sa laddr, raddr;
	bool media;
	uint8_t frame[160];
	uint64_t next_ns, t_up;
	uint16_t seq;
	uint32_t ts, ssrc;
	bool sent_any;
	struct lu_seq rx_seq;
	uint64_t rx_pkts, tx_call; /* this call's */
	struct tmr tmr;            /* hang-up, or the next call */
};

/* A sample of chorusd; "" labels the minute samples. */
struct sample {
	char label[8];
	double t_s, rss_mib, hwm_mib, cpu_pct, db_mib;
	int fds, threads;
	unsigned up;
	uint64_t done, failed;
};

/* The whole run: options, rooms, slots, samples and figures. One static
 * instance, main thread only. */
struct soak {
	/* options */
	const char *api, *token, *sip_target, *local_ip, *data_dir;
	char *confs[MAX_ROOMS];
	unsigned nconfs, ntransient, nslots, min_stay, max_stay, room_every;
	unsigned seconds, warmup, sample_s, idle_s, max_pending;
	int pid;
	/* state */
	struct su_ua ua;
	struct room rooms[MAX_ROOMS];
	unsigned nrooms;
	struct slot *slots;
	unsigned pending, up, logged;
	int tfd;
	struct tmr t_room, t_sample, t_guard;
	bool stopping, died;
	uint64_t t0, t_start, t_next_sample, t_end;
	long cpu_prev;
	uint64_t cpu_prev_ns;
	struct sample samples[MAX_SAMPL];
	unsigned nsamples;
	/* figures */
	uint64_t invites, answered, completed, kicked;
	uint64_t f_refused, f_dropped, f_nomedia;
	uint64_t rooms_deleted, rooms_created, room_errors;
	uint64_t rx_pkts, rx_expected, tx_pkts;
};

static struct soak s = {
    .nslots = 100,
    .ntransient = 10,
    .min_stay = 5,
    .max_stay = 60,
    .room_every = 30,
    .seconds = 1800,
    .warmup = 60,
    .sample_s = 60,
    .idle_s = 5,
    .max_pending = 4,
    .local_ip = "127.0.0.1",
    .tfd = -1,
};

static void fail_log(const char *fmt, ...)
{
	va_list ap;
	if (s.logged++ >= MAX_LOGGED)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (s.logged == MAX_LOGGED)
		fputs("bench_soak_churn: further failures only counted\n",
		      stderr);
}

static double since_s(uint64_t t)
{
	return (lu_now_ns() - t) / 1e9;
}

/* ---- samples of chorusd ---- */

/* kB value of a "Key:" line of /proc/PID/status, -1 if none. */
static long status_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int count_dir(const char *path, double *bytes)
{
	struct dirent *e;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char f[1024];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		if (bytes && !stat(f, &st))
			*bytes += (double)st.st_size;
	}
	closedir(d);
	return n;
}

static void take_sample(const char *label)
{
	char path[64], text[4096];
	struct sample *x;
	double db = 0;
	uint64_t now = lu_now_ns();
	long cpu = lu_proc_cpu_ticks(s.pid);
	size_t n = 0;
	FILE *f;

	if (s.nsamples == MAX_SAMPL)
		return;
	x = &s.samples[s.nsamples++];
	memset(x, 0, sizeof(*x));
	snprintf(x->label, sizeof(x->label), "%s", label);
	x->t_s = (now - s.t_start) / 1e9;
	snprintf(path, sizeof(path), "/proc/%d/status", s.pid);
	f = fopen(path, "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	x->rss_mib = status_kb(text, "VmRSS:") / 1024.0;
	x->hwm_mib = status_kb(text, "VmHWM:") / 1024.0;
	x->threads = (int)status_kb(text, "Threads:");
	snprintf(path, sizeof(path), "/proc/%d/fd", s.pid);
	x->fds = count_dir(path, NULL);
	if (s.data_dir)
		(void)count_dir(s.data_dir, &db);
	x->db_mib = db / (1024.0 * 1024.0);
	if (s.cpu_prev >= 0 && cpu >= 0 && now > s.cpu_prev_ns)
		x->cpu_pct = 100.0 * (double)(cpu - s.cpu_prev) /
		             sysconf(_SC_CLK_TCK) /
		             ((now - s.cpu_prev_ns) / 1e9);
	s.cpu_prev = cpu;
	s.cpu_prev_ns = now;
	x->up = s.up;
	x->done = s.completed + s.kicked;
	x->failed = s.f_refused + s.f_dropped + s.f_nomedia;
	printf("  %-6s %7.1f %4u %7lu %6lu %8.1f %8.1f %5d %4d %6.1f %7.1f\n",
	       x->label, x->t_s / 60.0, x->up, (unsigned long)x->done,
	       (unsigned long)x->failed, x->rss_mib, x->hwm_mib, x->fds,
	       x->threads, x->cpu_pct, x->db_mib);
	fflush(stdout);
}

/* ---- rooms ---- */

static struct room *pick_room(void)
{
	struct room *open[MAX_ROOMS];
	unsigned n = 0;
	for (unsigned r = 0; r < s.nrooms; r++)
		if (s.rooms[r].st == R_OPEN)
			open[n++] = &s.rooms[r];
	return n ? open[rand_u32() % n] : NULL;
}

static void room_create(struct room *r)
{
	r->st = R_STARTING;
	r->polls = 0;
	r->t_create = lu_now_ns();
	if (lu_http_field(s.api, s.token, "POST", "/conferences",
	                  "{\"type\":\"conference\",\"name\":\"soak\"}", "id",
	                  r->id, sizeof(r->id))) {
		s.room_errors++;
		r->st = R_GONE; /* tried again at the next room change */
		return;
	}
	s.rooms_created++;
}

/* A starting room opens once the API says progressing. */
static void room_poll(struct room *r)
{
	char path[128], status[32];
	snprintf(path, sizeof(path), "/conferences/%s", r->id);
	if (!lu_http_field(s.api, s.token, "GET", path, NULL, "status", status,
	                   sizeof(status)) &&
	    !strcmp(status, "progressing")) {
		r->st = R_OPEN;
		return;
	}
	if (++r->polls == 100) {
		fail_log("room %s: not progressing after 10 s\n", r->id);
		s.room_errors++;
		r->st = R_GONE;
	}
}

static void room_delete(struct room *r)
{
	char path[128], *resp;
	int st;
	snprintf(path, sizeof(path), "/conferences/%s", r->id);
	r->st = R_GONE;
	r->gen++;
	st = lu_http(s.api, s.token, "DELETE", path, NULL, &resp);
	free(resp);
	if (st / 100 == 2)
		s.rooms_deleted++;
	else
		s.room_errors++;
}

/* Every 100 ms: opens starting rooms; every --room-every s deletes the
 * oldest transient room and creates its successor. */
static void room_tick_h(void *arg)
{
	static uint64_t last_change;
	uint64_t now = lu_now_ns();
	(void)arg;
	if (kill(s.pid, 0) && errno == ESRCH) {
		fprintf(stderr,
		        "bench_soak_churn: chorusd (pid %d) has exited\n",
		        s.pid);
		s.died = true;
		re_cancel();
		return;
	}
	for (unsigned r = 0; r < s.nrooms; r++)
		if (s.rooms[r].st == R_STARTING)
			room_poll(&s.rooms[r]);
	if (s.ntransient && s.room_every &&
	    now - (last_change ? last_change : s.t0) >=
	        s.room_every * 1000000000ull) {
		struct room *old = NULL;
		last_change = now;
		for (unsigned r = 0; r < s.nrooms; r++) {
			struct room *x = &s.rooms[r];
			if (x->transient && x->st != R_STARTING &&
			    (!old || x->t_create < old->t_create))
				old = x;
		}
		if (old) {
			if (old->st == R_OPEN)
				room_delete(old);
			room_create(old);
		}
	}
	tmr_start(&s.t_room, 100, room_tick_h, NULL);
}

/* ---- calls ---- */

static void slot_call_h(void *arg);

static void slot_later(struct slot *p, uint64_t ms)
{
	if (!s.stopping)
		tmr_start(&p->tmr, ms, slot_call_h, p);
}

/* Banks the RTP figures of the call that ends and forgets it. */
static void slot_end(struct slot *p)
{
	if (p->st == S_UP) {
		s.up--;
		s.rx_pkts += p->rx_pkts;
		s.rx_expected += lu_seq_expected(&p->rx_seq);
	}
	if (p->st == S_CALLING)
		s.pending--;
	p->st = S_IDLE;
	p->media = false;
	p->sdp = mem_deref(p->sdp);
	p->sdpm = NULL;
}

static void hangup_h(void *arg)
{
	struct slot *p = arg;
	bool silent = !p->rx_pkts && since_s(p->t_up) >= 3.0;
	if (silent) {
		char line[512];
		s.f_nomedia++;
		re_snprintf(
		    line, sizeof(line),
		    "%.1f s: room %s%s slot %u: no RTP from the server in "
		    "%.0f s; we sent %llu to %J from port %u (Call-ID "
		    "%s)\n",
		    since_s(s.t0), p->conf,
		    p->room_gen != p->room->gen ? " (deleted meanwhile)" : "",
		    p->idx, since_s(p->t_up), (unsigned long long)p->tx_call,
		    &p->raddr, sa_port(&p->laddr),
		    sip_dialog_callid(sipsess_dialog(p->sess)));
		fail_log("%s", line);
	}
	p->sess = mem_deref(p->sess); /* sends BYE */
	s.completed++;
	slot_end(p);
	slot_later(p, 0);
}

static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct slot *p = arg;
	int pt, err = sdp_decode(p->sdp, msg->mb, true);
	if (!err)
		err = su_sdp_take(p->sdpm, "PCMU", &p->raddr, &pt);
	if (!err)
		err = sdp_encode(descp, p->sdp, false);
	return err;
}

static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct slot *p = arg;
	int pt, err = sdp_decode(p->sdp, msg->mb, false);
	if (!err)
		err = su_sdp_take(p->sdpm, "PCMU", &p->raddr, &pt);
	p->media = !err;
	return err;
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct slot *p = arg;
	unsigned span = s.max_stay - s.min_stay + 1;
	(void)msg;
	s.pending--;
	s.answered++;
	s.up++;
	p->st = S_UP;
	p->t_up = lu_now_ns();
	p->next_ns = 0;
	tmr_start(&p->tmr,
	          (uint64_t)(s.min_stay * 1000 + rand_u32() % (span * 1000)),
	          hangup_h, p);
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct slot *p = arg;
	bool kicked = p->room_gen != p->room->gen;

	p->sess = mem_deref(p->sess);
	if (p->st == S_CALLING && !kicked) {
		s.f_refused++;
		if (msg)
			fail_log("room %s slot %u: INVITE refused: %u %.*s\n",
			         p->conf, p->idx, msg->scode,
			         (int)msg->reason.l, msg->reason.p);
		else
			fail_log("room %s slot %u: INVITE failed: %s\n",
			         p->conf, p->idx, strerror(err));
	} else if (p->st == S_UP && kicked) {
		s.kicked++;
	} else if (p->st == S_UP) {
		s.f_dropped++;
		fail_log("room %s slot %u: hung up by the server after %.1f "
		         "s (%s)\n",
		         p->conf, p->idx, since_s(p->t_up),
		         err ? strerror(err) : "BYE");
	}
	tmr_cancel(&p->tmr);
	slot_end(p);
	slot_later(p, 500);
}

/* Calls into a random open room, or tries again in 100 ms. */
static void slot_call_h(void *arg)
{
	struct slot *p = arg;
	struct room *r = pick_room();
	char to[256], from[128];
	struct mbuf *desc = NULL;
	int err;

	if (s.stopping)
		return;
	if (!r || s.pending >= s.max_pending) {
		slot_later(p, 100);
		return;
	}
	p->room = r;
	p->room_gen = r->gen;
	snprintf(p->conf, sizeof(p->conf), "%s", r->id);
	p->ssrc = rand_u32();
	p->seq = rand_u16();
	p->ts = rand_u32();
	p->sent_any = false;
	p->rx_pkts = p->tx_call = 0;
	memset(&p->rx_seq, 0, sizeof(p->rx_seq));
	err = su_sdp_offer(&p->sdp, &p->sdpm, &p->laddr, "0", "PCMU", 8000, 1,
	                   NULL, &desc);
	snprintf(to, sizeof(to), "sip:%s@%s", r->id, s.sip_target);
	re_snprintf(from, sizeof(from), "sip:soak-%u@%J", p->idx, &s.ua.laddr);
	if (!err)
		err = sipsess_connect(
		    &p->sess, s.ua.sock, to, "chorus-soak", from, "soak", NULL,
		    0, "application/sdp", desc, NULL, NULL, false, offer_h,
		    answer_h, NULL, estab_h, NULL, NULL, close_h, p,
		    "Allow: INVITE, ACK, BYE, CANCEL\r\n");
	mem_deref(desc);
	if (err) {
		s.f_refused++;
		fail_log("slot %u: INVITE not sent: %s\n", p->idx,
		         strerror(err));
		p->sdp = mem_deref(p->sdp);
		slot_later(p, 1000);
		return;
	}
	s.invites++;
	s.pending++;
	p->st = S_CALLING;
}

/* ---- RTP ---- */

static uint64_t *due_h(unsigned k)
{
	struct slot *p = &s.slots[k];
	return p->st == S_UP && p->media ? &p->next_ns : NULL;
}

static void send_h(unsigned k, uint64_t late)
{
	struct slot *p = &s.slots[k];
	(void)late;
	if (su_rtp_send(p->fd, &p->raddr, !p->sent_any, PCMU_PT, p->seq++,
	                p->ts, p->ssrc, p->frame, sizeof(p->frame))) {
		s.tx_pkts++;
		p->tx_call++;
	}
	p->sent_any = true;
	p->ts += 160;
}

/* Sends every frame that is due, then sleeps until the next one. */
static void tick_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
	lu_pace_tick(s.tfd, s.nslots, FRAME_NS, 0, due_h, send_h);
}

static void rtp_read_h(int flags, void *arg)
{
	struct slot *p = arg;
	uint8_t buf[2048];
	struct rtp_header h;
	uint64_t t;
	ssize_t n;
	(void)flags;
	for (int i = 0; i < 64; i++) {
		n = lu_udp_recv(p->fd, buf, sizeof(buf), &t);
		if (n < 0)
			break;
		struct mbuf mb = {
		    .buf = buf, .size = (size_t)n, .end = (size_t)n};
		if (p->st != S_UP || n < 12 || (buf[0] >> 6) != 2 ||
		    su_is_rtcp(buf) || rtp_hdr_decode(&h, &mb))
			continue; /* RTCP, or late packets of an earlier call */
		p->rx_pkts++;
		lu_seq_add(&p->rx_seq, h.ssrc, h.seq);
	}
}

/* ---- phases ---- */

static void sample_h(void *arg)
{
	uint64_t now = lu_now_ns();
	(void)arg;
	if (!s.nsamples) {
		printf(
		    "soak: %u slots, %u rooms (%u transient), stays %u-%u s; "
		    "samples of chorusd pid %d:\n",
		    s.nslots, s.nrooms, s.ntransient, s.min_stay, s.max_stay,
		    s.pid);
		printf("  %-6s %7s %4s %7s %6s %8s %8s %5s %4s %6s %7s\n",
		       "sample", "min", "up", "calls", "failed", "RSS MiB",
		       "HWM MiB", "fds", "thr", "CPU %", "db MiB");
		take_sample("start");
		s.t_next_sample = now;
	} else if (now + 5000000 >= s.t_end) {
		take_sample("end");
		re_cancel();
		return;
	} else {
		take_sample("");
	}
	s.t_next_sample += s.sample_s * 1000000000ull;
	if (s.t_next_sample > s.t_end)
		s.t_next_sample = s.t_end;
	tmr_start(&s.t_sample, (s.t_next_sample - now) / 1000000, sample_h,
	          NULL);
}

static void warm_h(void *arg)
{
	(void)arg;
	s.t_start = lu_now_ns();
	s.t_end = s.t_start + s.seconds * 1000000000ull;
	sample_h(NULL);
}

static void sip_done_h(void *arg)
{
	(void)arg;
	re_cancel();
}

static void bye_guard_h(void *arg)
{
	(void)arg;
	fprintf(stderr, "bench_soak_churn: BYEs unanswered after 10 s\n");
	re_cancel();
}

/* Hangs every call up (BYE, or CANCEL while ringing) and runs the loop
 * until the stack has finished, 10 s at most. */
static unsigned hang_up_all(void)
{
	unsigned byes = 0;
	s.stopping = true;
	tmr_cancel(&s.t_room);
	for (unsigned k = 0; k < s.nslots; k++) {
		struct slot *p = &s.slots[k];
		tmr_cancel(&p->tmr);
		byes += p->st == S_UP;
		if (p->st == S_UP)
			s.completed++;
		p->sess = mem_deref(p->sess);
		slot_end(p);
	}
	tmr_start(&s.t_guard, 10000, bye_guard_h, NULL);
	sip_close(s.ua.sip, false);
	re_main(NULL);
	return byes;
}

/* Participants each room still lists (conferencecall_ids), summed. */
static unsigned leftovers(void)
{
	unsigned n = 0;
	for (unsigned r = 0; r < s.nrooms; r++) {
		char path[128], *resp;
		json_t *j;
		if (s.rooms[r].st == R_GONE)
			continue;
		snprintf(path, sizeof(path), "/conferences/%s", s.rooms[r].id);
		if (lu_http(s.api, s.token, "GET", path, NULL, &resp) / 100 !=
		    2) {
			free(resp);
			n++; /* cannot tell: count it against */
			continue;
		}
		j = resp ? json_loads(resp, 0, NULL) : NULL;
		n += (unsigned)json_array_size(
		    json_object_get(j, "conferencecall_ids"));
		json_decref(j);
		free(resp);
	}
	return n;
}

/* Prints the figures; returns the exit status. */
static int report(unsigned byes, unsigned left)
{
	const struct sample *a = &s.samples[0], *b = NULL, *z = NULL;
	uint64_t failed = s.f_refused + s.f_dropped + s.f_nomedia;
	uint64_t lost =
	    s.rx_expected > s.rx_pkts ? s.rx_expected - s.rx_pkts : 0;
	double slope = 0;

	for (unsigned i = 0; i < s.nsamples; i++) {
		if (!strcmp(s.samples[i].label, "end"))
			b = &s.samples[i];
		if (!strcmp(s.samples[i].label, "idle"))
			z = &s.samples[i];
	}
	/* RSS slope over the second half of the measured samples */
	if (b) {
		unsigned last = (unsigned)(b - s.samples), mid = last / 2;
		double dt = b->t_s - s.samples[mid].t_s;
		if (dt > 0)
			slope =
			    (b->rss_mib - s.samples[mid].rss_mib) / (dt / 60.0);
	}
	printf("calls: %lu INVITEs, %lu answered, %lu completed by our BYE, "
	       "%lu ended by a room deletion (%u BYE at the end)\n",
	       (unsigned long)s.invites, (unsigned long)s.answered,
	       (unsigned long)s.completed, (unsigned long)s.kicked, byes);
	printf("failures: %lu (%lu INVITE refused/failed, %lu hung up by the "
	       "server, %lu without RTP); %u participants still listed "
	       "after the hang-up\n",
	       (unsigned long)failed, (unsigned long)s.f_refused,
	       (unsigned long)s.f_dropped, (unsigned long)s.f_nomedia, left);
	printf("rooms: %lu created, %lu deleted, %lu REST errors\n",
	       (unsigned long)s.rooms_created, (unsigned long)s.rooms_deleted,
	       (unsigned long)s.room_errors);
	printf("RTP: %lu sent, %lu received, loss %.3f %% by sequence "
	       "numbers\n",
	       (unsigned long)s.tx_pkts, (unsigned long)s.rx_pkts,
	       s.rx_expected ? 100.0 * lost / s.rx_expected : 0.0);
	if (s.died) {
		printf("verdict: chorusd exited during the run (pid %d)\n",
		       s.pid);
		return 1;
	}
	if (!b || !s.nsamples) {
		printf("verdict: no samples (run ended before the warm-up)\n");
		return 1;
	}
	printf("verdict: RSS start %.1f MiB end %.1f MiB (%+.1f %%; %+.2f "
	       "MiB/min over the second half), fds start %d end %d%s; "
	       "idle RSS %.1f MiB fds %d; calls %lu, failures %lu\n",
	       a->rss_mib, b->rss_mib,
	       a->rss_mib > 0 ? 100.0 * (b->rss_mib - a->rss_mib) / a->rss_mib
	                      : 0.0,
	       slope, a->fds, b->fds, b->fds > a->fds + 8 ? " (GROWS)" : "",
	       z ? z->rss_mib : 0.0, z ? z->fds : 0,
	       (unsigned long)(s.completed + s.kicked),
	       (unsigned long)(failed + left));
	return failed || left || b->fds > a->fds + 8 ? 1 : 0;
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fputs(
	    "usage: bench_soak_churn --api URL --token TOKEN --sip HOST:PORT\n"
	    "  --pid CHORUSD_PID [--conference ID]... [--transient N]\n"
	    "  [--slots N] [--min-stay S] [--max-stay S] [--room-every S]\n"
	    "  [--seconds S] [--warmup S] [--sample S] [--idle S]\n"
	    "  [--data-dir DIR] [--max-pending N] [--local IP]\n"
	    "--api is e.g. http://127.0.0.1:8080/v1.0. --conference: a stable\n"
	    "room (repeat); --transient rooms are created and, one every\n"
	    "--room-every s, deleted and replaced. Defaults: 100 slots, no\n"
	    "stable rooms, 10 transient, stays 5-60 s, a room change every\n"
	    "30 s, 1800 s measured after 60 s of warm-up, a sample every 60 "
	    "s,\n"
	    "idle 5 s, 4 INVITEs at once, local 127.0.0.1.\n",
	    f);
}

#define AT(f) offsetof(struct soak, f)

static bool help;

static bool flag_h(const char *a)
{
	if (strcmp(a, "--help") && strcmp(a, "-h"))
		return false;
	help = true;
	return true;
}

static int parse_args(int argc, char **argv)
{
	static const struct lu_opt opts[] = {
	    {"--api", LU_STR, AT(api)},
	    {"--token", LU_STR, AT(token)},
	    {"--sip", LU_STR, AT(sip_target)},
	    {"--local", LU_STR, AT(local_ip)},
	    {"--data-dir", LU_STR, AT(data_dir)},
	    {"--transient", LU_UINT, AT(ntransient)},
	    {"--slots", LU_UINT, AT(nslots)},
	    {"--min-stay", LU_UINT, AT(min_stay)},
	    {"--max-stay", LU_UINT, AT(max_stay)},
	    {"--room-every", LU_UINT, AT(room_every)},
	    {"--seconds", LU_UINT, AT(seconds)},
	    {"--warmup", LU_UINT, AT(warmup)},
	    {"--sample", LU_UINT, AT(sample_s)},
	    {"--idle", LU_UINT, AT(idle_s)},
	    {"--max-pending", LU_UINT, AT(max_pending)},
	    {"--pid", LU_INT, AT(pid)},
	};

	if (lu_opts_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &s,
	                  flag_h, s.confs, MAX_ROOMS, &s.nconfs) ||
	    help) {
		usage(help ? stdout : stderr);
		return -1;
	}
	if (!s.api || !s.token || !s.sip_target || s.pid <= 0 || !s.nslots ||
	    s.nslots > MAX_SLOTS || s.nconfs + s.ntransient == 0 ||
	    s.nconfs + s.ntransient > MAX_ROOMS || !s.min_stay ||
	    s.max_stay < s.min_stay || !s.seconds || !s.sample_s ||
	    !s.max_pending) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int setup(void)
{
	int16_t pcm[160];
	int err;

	for (unsigned r = 0; r < s.nconfs; r++)
		snprintf(s.rooms[s.nrooms++].id, sizeof(s.rooms[0].id), "%s",
		         s.confs[r]);
	for (unsigned r = 0; r < s.ntransient; r++) {
		struct room *x = &s.rooms[s.nrooms++];
		x->transient = true;
		room_create(x);
		if (x->st == R_GONE)
			return EPROTO;
	}
	s.slots = calloc(s.nslots, sizeof(*s.slots));
	if (!s.slots)
		return ENOMEM;
	for (unsigned k = 0; k < s.nslots; k++)
		s.slots[k].fd = -1;
	err = su_ua_open(&s.ua, s.local_ip, sip_done_h, NULL);
	if (err)
		return err;
	for (unsigned k = 0; k < s.nslots; k++) {
		struct slot *p = &s.slots[k];
		uint16_t port;
		p->idx = k;
		p->room = &s.rooms[0];
		tmr_init(&p->tmr);
		p->fd = lu_udp_open(s.local_ip, &port);
		if (p->fd < 0)
			return errno ? errno : EINVAL;
		(void)sa_set_str(&p->laddr, s.local_ip, port);
		err = fd_listen(p->fd, FD_READ, rtp_read_h, p);
		if (err)
			return err;
		/* a tone per slot, 300..3450 Hz in 50 Hz steps */
		lu_tone(pcm, 160, 300.0 + 50.0 * (k % 64), 8000, 4000.0);
		ch_g711_ulaw_encode(pcm, p->frame, 160);
		/* ramp up: one new call every 50 ms */
		tmr_start(&p->tmr, 50ull * k, slot_call_h, p);
	}
	return su_pacer_open(&s.tfd, tick_h);
}

static void teardown(void)
{
	tmr_cancel(&s.t_room);
	tmr_cancel(&s.t_sample);
	tmr_cancel(&s.t_guard);
	for (unsigned k = 0; s.slots && k < s.nslots; k++) {
		struct slot *p = &s.slots[k];
		tmr_cancel(&p->tmr);
		mem_deref(p->sess);
		mem_deref(p->sdp);
		su_fd_close(p->fd);
	}
	su_fd_close(s.tfd);
	su_ua_close(&s.ua);
	free(s.slots);
}

/* SIGINT/SIGTERM: the end sample now, or no samples before warm-up. */
static void signal_h(int sig)
{
	(void)sig;
	if (!s.nsamples) {
		re_cancel();
		return;
	}
	s.t_end = lu_now_ns();
	tmr_start(&s.t_sample, 0, sample_h, NULL);
}

int main(int argc, char **argv)
{
	unsigned byes = 0, left = 0;
	int err, code = 2;

	if (parse_args(argc, argv))
		return help ? 0 : 2;
	lu_raise_nofile();
	if (libre_init())
		return 2;
	(void)fd_setsize((int)(s.nslots + 256));
	ch_g711_init();
	tmr_init(&s.t_room);
	tmr_init(&s.t_sample);
	tmr_init(&s.t_guard);
	s.t0 = lu_now_ns();
	s.cpu_prev = lu_proc_cpu_ticks(s.pid); /* the start sample: warm-up */
	s.cpu_prev_ns = s.t0;
	err = setup();
	if (err) {
		fprintf(stderr, "bench_soak_churn: set-up failed: %s\n",
		        strerror(err));
		goto out;
	}
	tmr_start(&s.t_room, 100, room_tick_h, NULL);
	tmr_start(&s.t_sample, (uint64_t)s.warmup * 1000, warm_h, NULL);
	err = re_main(signal_h);
	byes = hang_up_all();
	sleep(s.idle_s);
	take_sample("idle");
	left = leftovers();
	code = report(byes, left);
out:
	teardown();
	libre_close();
	return code;
}
