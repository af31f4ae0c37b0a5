/*
 * bench_sip_load.c: SIP + RTP load generator for chorusd, and a check of
 * what every participant hears.
 *
 * It creates R conferences through the REST API (or takes --conference
 * ids), joins P participants to each over real SIP (libre sipsess as UAC,
 * one INVITE per participant with an SDP offer of one codec), and has every
 * participant send RTP every 20 ms: a tone of its own frequency (300 Hz +
 * 150 Hz * i in its room; the step narrows past 24 participants). It
 * receives and decodes the server's RTP and, over the measured window,
 * runs a Goertzel filter per tone of the room: a participant passes when it
 * hears every other tone of its room and its own at least 20 dB below the
 * weakest of them.
 *
 * Figures (the measured window starts --settle ms after the last join and
 * lasts --seconds): chorusd's CPU from /proc/PID/stat, packets sent and
 * received, loss from the received sequence numbers, the interval between
 * consecutive packets of the server as each receiver's socket saw them
 * (kernel receive timestamps, so the generator's own scheduling is not in
 * it), its own send lateness and its own CPU. Then every call is hung up
 * with BYE and the BYE transactions are waited for.
 *
 * Design: one process, one libre main loop. One UDP socket per participant
 * (with rtcp-mux offered; RTCP arriving on it is skipped). A timerfd armed
 * for the next due frame drives sending; each participant has its own
 * phase within the 20 ms. Frames are prepared once: a 20 ms frame holds
 * whole periods of every tone, so one G.711 frame per participant repeats
 * exactly; Opus frames are encoded once (1 s, after priming) and cycled.
 * Receiving decodes live.
 *
 * Usage: bench_sip_load --help; bench/sip_load.sh runs it against a fresh
 * chorusd. It is a benchmark: it prints figures. Exit status 0 when every
 * participant joined, stayed and passed, 1 otherwise, 2 on a usage or
 * set-up error.
 */
#include "sip_util.h"

#include <errno.h>
#include <stddef.h>
#include <opus/opus.h>

#include "load_util.h"
#include "media/g711.h"

#define FRAME_MS    20
#define FRAME_NS    (FRAME_MS * 1000000ull)
#define EARLY_NS    100000ull /* a frame this close to due is sent */
#define OPUS_RING   50        /* encoded Opus frames cycled (1 s) */
#define MAX_SAMPLES 5760      /* 120 ms at 48 kHz */
#define MAX_TONES   70
#define PRESENT_DB  -40.0 /* a tone is heard at or above this level */
#define OWN_DB      20.0  /* own tone at least this far below the others */

enum codec { C_PCMU, C_PCMA, C_OPUS };
enum pstate { P_IDLE, P_CALLING, P_UP, P_FAILED, P_CLOSED };

struct codec_info {
	const char *arg, *name, *pt;
	uint32_t srate, rtp_rate;
	uint8_t ch;
	unsigned samples; /* per 20 ms at srate */
};

static const struct codec_info codecs[] = {
    [C_PCMU] = {"pcmu", "PCMU", "0", 8000, 8000, 1, 160},
    [C_PCMA] = {"pcma", "PCMA", "8", 8000, 8000, 1, 160},
    [C_OPUS] = {"opus", "opus", "111", 48000, 48000, 2, 960},
};

struct room {
	char id[64];
	unsigned nparts;
	double freq[MAX_TONES];
	double coeff[MAX_TONES]; /* Goertzel 2cos(w) at the codec's rate */
};

struct part {
	struct room *room;
	unsigned idx;
	enum pstate st;
	struct su_call call; /* media: answer received, send to raddr */
	int fd;
	struct sa laddr;
	/* sending */
	uint8_t frames[OPUS_RING][400]; /* G.711: 1 frame; Opus: OPUS_RING */
	uint16_t frame_len[OPUS_RING];
	unsigned frame_i, nframes;
	uint64_t next_ns;
	uint16_t seq;
	uint32_t ts, ssrc;
	bool sent_any;
	uint64_t sent;
	/* receiving (window only) */
	OpusDecoder *dec;
	struct lu_seq rx_seq;
	uint64_t rx_pkts, rx_last_ns;
	double power[MAX_TONES]; /* summed squared amplitude per tone */
	uint64_t frames_seen;
};

struct gen {
	/* options */
	const char *api, *token, *sip_target, *local_ip, *codec_arg;
	char *confs[1024];
	unsigned nconfs, rooms, parts;
	enum codec codec;
	unsigned seconds, settle_ms, max_pending;
	int pid;
	bool verbose, trace;
	/* state */
	struct room *roomv;
	struct part *partv;
	unsigned total, dropped;
	struct su_dialer dial;
	struct su_ua ua;
	int tfd;
	bool measuring, hanging_up, all_passed;
	uint64_t t_bye;
	struct su_run run;
	struct lu_window win;
	struct lu_hist hist; /* receive intervals */
	struct lu_late late;
	uint64_t tx_win, rx_win, expected_win, reordered, ssrc_changes;
};

static struct gen g;

/* ---- REST: a few blocking requests before the loop starts ---- */

static int create_conferences(void)
{
	for (unsigned r = 0; r < g.rooms; r++) {
		if (lu_http_field(g.api, g.token, "POST", "/conferences",
		                  "{\"type\":\"conference\"}", "id",
		                  g.roomv[r].id, sizeof(g.roomv[r].id)))
			return -1;
	}
	/* a conference takes calls once it is progressing */
	for (unsigned r = 0; r < g.rooms; r++) {
		if (lu_conference_wait(g.api, g.token, g.roomv[r].id))
			return -1;
	}
	return 0;
}

/* ---- audio ---- */

/* Prepares the participant's outgoing frames. */
static int prepare_frames(struct part *p)
{
	const struct codec_info *ci = &codecs[g.codec];
	int16_t pcm[960];
	double amp =
	    p->room->nparts > 1 ? 24000.0 / (p->room->nparts - 1) : 8000.0;
	if (amp > 8000.0)
		amp = 8000.0;
	lu_tone(pcm, ci->samples, p->room->freq[p->idx], ci->srate, amp);
	p->nframes = 1;
	p->frame_len[0] = 160;
	if (g.codec == C_PCMU)
		ch_g711_ulaw_encode(pcm, p->frames[0], 160);
	if (g.codec == C_PCMA)
		ch_g711_alaw_encode(pcm, p->frames[0], 160);
	if (g.codec != C_OPUS)
		return 0;
	int err, n = 0;
	OpusEncoder *enc =
	    opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	if (!enc)
		return ENOMEM;
	p->nframes = OPUS_RING;
	for (int i = -10; i < OPUS_RING && n >= 0; i++) { /* 10 to prime */
		n = opus_encode(enc, pcm, 960, p->frames[i < 0 ? 0 : i], 400);
		p->frame_len[i < 0 ? 0 : i] = (uint16_t)n;
	}
	opus_encoder_destroy(enc);
	if (n < 0)
		return EINVAL;
	p->dec = opus_decoder_create(48000, 1, &err);
	return p->dec ? 0 : ENOMEM;
}

/* Adds the squared Goertzel amplitude of each of the room's tones. */
static void analyse(struct part *p, const int16_t *pcm, unsigned n)
{
	const struct room *r = p->room;
	for (unsigned t = 0; t < r->nparts; t++)
		p->power[t] += lu_goertzel(pcm, n, r->coeff[t]);
	p->frames_seen++;
}

/* ---- RTP ---- */

static void send_frame(struct part *p)
{
	unsigned i = p->frame_i;
	bool ok = su_rtp_send(p->fd, &p->call.raddr, !p->sent_any,
	                      (uint8_t)atoi(codecs[g.codec].pt), p->seq++,
	                      p->ts, p->ssrc, p->frames[i], p->frame_len[i]);

	p->ts += codecs[g.codec].rtp_rate / (1000 / FRAME_MS);
	p->frame_i = (i + 1) % p->nframes;
	if (!ok)
		return;
	p->sent_any = true;
	p->sent++;
	if (g.measuring)
		g.tx_win++;
}

static uint64_t *due_h(unsigned k)
{
	struct part *p = &g.partv[k];
	return p->st == P_UP && p->call.media ? &p->next_ns : NULL;
}

static void send_h(unsigned k, uint64_t late)
{
	if (g.measuring)
		lu_late_add(&g.late, late);
	send_frame(&g.partv[k]);
}

/* Sends every frame that is due, then sleeps until the next one. */
static void tick_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
	lu_pace_tick(g.tfd, g.total, FRAME_NS, EARLY_NS, due_h, send_h);
}

static void decode_payload(struct part *p, const uint8_t *d, size_t n)
{
	static int16_t pcm[MAX_SAMPLES];
	int k;
	if (g.codec == C_OPUS) {
		k = opus_decode(p->dec, d, (opus_int32)n, pcm, MAX_SAMPLES, 0);
		if (k > 0)
			analyse(p, pcm, (unsigned)k);
		return;
	}
	if (n > MAX_SAMPLES)
		return;
	if (g.codec == C_PCMU)
		ch_g711_ulaw_decode(d, pcm, n);
	else
		ch_g711_alaw_decode(d, pcm, n);
	analyse(p, pcm, (unsigned)n);
}

static void rtp_packet(uint8_t *buf, size_t n, uint64_t t, void *arg)
{
	struct part *p = arg;
	struct mbuf mb = {.buf = buf, .size = n, .pos = 0, .end = n};
	struct rtp_header h;

	if (n < 12 || (buf[0] >> 6) != 2)
		return;
	if (su_is_rtcp(buf))
		return;
	if (rtp_hdr_decode(&h, &mb))
		return;
	if (!g.measuring)
		return;
	g.rx_win++;
	p->rx_pkts++;
	if (p->rx_last_ns)
		lu_hist_add(&g.hist, t - p->rx_last_ns);
	p->rx_last_ns = t;
	lu_seq_add(&p->rx_seq, h.ssrc, h.seq);
	if (p->call.rx_pt < 0 || h.pt == p->call.rx_pt)
		decode_payload(p, mbuf_buf(&mb), mbuf_get_left(&mb));
}

/* Reads what is queued on the socket. */
static void rtp_read_h(int flags, void *arg)
{
	struct part *p = arg;
	(void)flags;
	lu_udp_drain(p->fd, rtp_packet, p);
}

static int open_rtp(struct part *p)
{
	uint16_t port;
	p->fd = lu_udp_open(g.local_ip, &port);
	if (p->fd < 0)
		return errno ? errno : EINVAL;
	(void)sa_set_str(&p->laddr, g.local_ip, port);
	return fd_listen(p->fd, FD_READ, rtp_read_h, p);
}

/* ---- SIP ---- */

static void estab_h(void *arg)
{
	struct part *p = arg;
	p->st = P_UP;
	su_dialer_resolved(&g.dial, true);
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct part *p = arg;
	enum pstate was = p->st;

	p->st = was == P_CALLING ? P_FAILED : P_CLOSED;
	if (was == P_CALLING) {
		if (msg)
			re_fprintf(stderr, "room %s #%u: call failed: %u %r\n",
			           p->room->id, p->idx, msg->scode,
			           &msg->reason);
		else
			fprintf(stderr, "room %s #%u: call failed: %s\n",
			        p->room->id, p->idx, strerror(err));
		su_dialer_resolved(&g.dial, false);
	} else if (!g.hanging_up) {
		g.dropped++;
		fprintf(stderr, "room %s #%u: call closed by the server (%s)\n",
		        p->room->id, p->idx, err ? strerror(err) : "BYE");
	}
}

/* The dialer's call_h: INVITEs participant k. */
static int call_h(unsigned k, void *arg)
{
	const struct codec_info *ci = &codecs[g.codec];
	struct part *p = &g.partv[k];
	char to[256], from[128];
	int err;
	(void)arg;

	snprintf(to, sizeof(to), "sip:%s@%s", p->room->id, g.sip_target);
	re_snprintf(from, sizeof(from), "sip:load-%u-%u@%j", p->room - g.roomv,
	            p->idx, &g.ua.laddr);
	p->call.estab_h = estab_h;
	p->call.close_h = close_h;
	p->call.arg = p;
	err = su_call_connect(&p->call, &g.ua, to, from, &p->laddr, ci->pt,
	                      ci->name, ci->srate, ci->ch,
	                      g.codec == C_OPUS ? "useinbandfec=1" : NULL);
	p->st = err ? P_FAILED : P_CALLING;
	if (err)
		fprintf(stderr, "room %s #%u: INVITE failed: %s\n", p->room->id,
		        p->idx, strerror(err));
	return err;
}

/* --trace: the first line of every SIP message, to stderr. */
static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
                    const struct sa *dst, const uint8_t *pkt, size_t len,
                    void *arg)
{
	const uint8_t *eol = memchr(pkt, '\r', len);
	(void)tp;
	(void)arg;
	re_fprintf(stderr, "%.3f %s %J -> %J %b\n", lu_now_ns() / 1e9,
	           tx ? "send" : "recv", src, dst, pkt,
	           eol ? (size_t)(eol - pkt) : len);
}

static void sip_done_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* ---- phases: join, settle, measure, hang up ---- */

/* The window starts. */
static void start_h(void *arg)
{
	(void)arg;
	for (unsigned k = 0; k < g.total; k++)
		g.partv[k].rx_last_ns = 0;
	lu_window_start(&g.win, g.pid);
	g.measuring = true;
}

/* Own tone and others heard by one participant; returns pass. */
static bool judge(const struct part *p, double *own_db, double *weakest_db)
{
	const struct room *r = p->room;
	double n = p->frames_seen ? (double)p->frames_seen : 1;
	*weakest_db = 200.0;
	*own_db = lu_db(p->power[p->idx] / n);
	for (unsigned t = 0; t < r->nparts; t++) {
		double l = lu_db(p->power[t] / n);
		if (t != p->idx && l < *weakest_db)
			*weakest_db = l;
	}
	if (r->nparts == 1)
		return p->frames_seen && *own_db < PRESENT_DB;
	return p->frames_seen && *weakest_db >= PRESENT_DB &&
	       *own_db <= *weakest_db - OWN_DB;
}

static void report(void)
{
	double win = lu_window_s(&g.win), cpu = lu_window_server_pct(&g.win);
	unsigned pass = 0, fail = 0, up = 0;
	uint64_t lost =
	    g.expected_win > g.rx_win ? g.expected_win - g.rx_win : 0;

	for (unsigned k = 0; k < g.total; k++) {
		const struct part *p = &g.partv[k];
		double own, weak;
		if (p->st != P_UP)
			continue;
		up++;
		bool ok = judge(p, &own, &weak);
		ok ? pass++ : fail++;
		if (g.verbose || !ok)
			printf("  %s room %s #%u (%.0f Hz): own %.1f dBFS, "
			       "weakest other %.1f dBFS, %lu pkts\n",
			       ok ? "pass" : "FAIL", p->room->id, p->idx,
			       p->room->freq[p->idx], own,
			       p->room->nparts > 1 ? weak : -120.0,
			       (unsigned long)p->rx_pkts);
	}
	printf("SIP load: %u rooms x %u participants, %s, window %.1f s\n",
	       g.rooms, g.parts, codecs[g.codec].name, win);
	printf("  joined:        %u of %u (%.2f s to join all; %u dropped "
	       "during the window)\n",
	       g.dial.joined, g.total, (g.run.t_joined - g.run.t_start) / 1e9,
	       g.dropped);
	if (cpu >= 0)
		printf("  chorusd CPU:   %.1f %% of one core (pid %d)\n", cpu,
		       g.pid);
	else
		printf("  chorusd CPU:   not measured (no --pid)\n");
	printf("  generator CPU: %.1f %% of one core\n",
	       lu_window_own_pct(&g.win));
	double nominal = up * win * (1000.0 / FRAME_MS);
	printf(
	    "  RTP:           %lu sent, %lu received (%.1f %% and %.1f %% of "
	    "%.0f/s per participant)\n",
	    (unsigned long)g.tx_win, (unsigned long)g.rx_win,
	    nominal ? 100.0 * g.tx_win / nominal : 0.0,
	    nominal ? 100.0 * g.rx_win / nominal : 0.0, 1000.0 / FRAME_MS);
	printf("  loss:          %.3f %% (%lu of %lu by sequence numbers; "
	       "%lu late/duplicate, %lu SSRC changes)\n",
	       g.expected_win ? 100.0 * lost / g.expected_win : 0.0,
	       (unsigned long)lost, (unsigned long)g.expected_win,
	       (unsigned long)g.reordered, (unsigned long)g.ssrc_changes);
	if (g.hist.n)
		printf("  interval:      p50 %.2f ms, p99 %.2f ms, max %.2f ms "
		       "(server packets, at each receiver's socket)\n",
		       lu_hist_ms(&g.hist, 0.50), lu_hist_ms(&g.hist, 0.99),
		       g.hist.max_ns / 1e6);
	printf("  send lateness: max %.2f ms, %lu of %lu sends > 1 ms late "
	       "(generator)\n",
	       g.late.max_ns / 1e6, (unsigned long)g.late.over_1ms,
	       (unsigned long)g.late.sends);
	printf("  tones:         %u pass, %u fail (others >= %.0f dBFS, own >= "
	       "%.0f dB below the weakest other)\n",
	       pass, fail + (g.total - up), PRESENT_DB, OWN_DB);
	fflush(stdout);
	g.all_passed = pass == g.total && !g.dropped;
}

static void end_h(void *arg)
{
	(void)arg;
	g.measuring = false;
	lu_window_end(&g.win);
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		g.expected_win += lu_seq_expected(&p->rx_seq);
		g.reordered += p->rx_seq.late;
		g.ssrc_changes += p->rx_seq.changes;
	}
	report();

	/* hang up: dropping an established session sends BYE; sip_close()
	 * calls sip_done_h once every transaction is done */
	g.hanging_up = g.dial.stopped = true;
	g.t_bye = lu_now_ns();
	unsigned byes = 0;
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		if (su_call_close(&p->call))
			byes += p->st == P_UP;
		p->st = P_CLOSED;
	}
	printf("  hang-up:       %u BYE sent\n", byes);
	fflush(stdout);
	su_run_bye_guard(&g.run);
	sip_close(g.ua.sip, false);
}

static void signal_h(int sig)
{
	(void)sig;
	if (g.measuring)
		end_h(NULL);
	else
		re_cancel();
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fputs(
	    "usage: bench_sip_load --api URL --token TOKEN --sip HOST:PORT\n"
	    "  [--rooms R] [--participants P] [--codec pcmu|pcma|opus]\n"
	    "  [--seconds S] [--pid CHORUSD_PID] [--settle MS] [--local IP]\n"
	    "  [--conference ID]... [--max-pending N] [-v] [--trace]\n"
	    "--api is e.g. http://127.0.0.1:8080/v1.0. --conference joins an\n"
	    "existing conference (repeat: one room each) instead of creating\n"
	    "R; no --api then. --pid: chorusd, for its CPU. Defaults: 10 x 5,\n"
	    "pcmu, 20 s, settle 1000 ms, local 127.0.0.1, 8 INVITEs at once.\n",
	    f);
}

#define AT(f) offsetof(struct gen, f)

/* -v and --trace. */
static bool flag_h(const char *a)
{
	if (strcmp(a, "-v") && strcmp(a, "--trace"))
		return false;
	g.verbose = true;
	g.trace |= !strcmp(a, "--trace");
	return true;
}

static int parse_args(int argc, char **argv)
{
	static const struct lu_opt opts[] = {
	    {"--api", LU_STR, AT(api)},
	    {"--token", LU_STR, AT(token)},
	    {"--sip", LU_STR, AT(sip_target)},
	    {"--local", LU_STR, AT(local_ip)},
	    {"--codec", LU_STR, AT(codec_arg)},
	    {"--rooms", LU_UINT, AT(rooms)},
	    {"--participants", LU_UINT, AT(parts)},
	    {"--seconds", LU_UINT, AT(seconds)},
	    {"--settle", LU_UINT, AT(settle_ms)},
	    {"--max-pending", LU_UINT, AT(max_pending)},
	    {"--pid", LU_INT, AT(pid)},
	};
	size_t k;

	if (lu_opts_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &g,
	                  flag_h, g.confs, 1024, &g.nconfs)) {
		usage(stderr);
		return -1;
	}
	for (k = 0; k < 3 && strcmp(g.codec_arg, codecs[k].arg); k++)
		;
	g.codec = (enum codec)k;
	if (g.nconfs)
		g.rooms = g.nconfs;
	if (k == 3 || !g.sip_target || (!g.nconfs && (!g.api || !g.token)) ||
	    !g.rooms || !g.parts || g.parts > MAX_TONES || !g.seconds ||
	    !g.max_pending) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int setup(void)
{
	int err;

	g.total = g.rooms * g.parts;
	g.roomv = calloc(g.rooms, sizeof(*g.roomv));
	g.partv = calloc(g.total, sizeof(*g.partv));
	if (!g.roomv || !g.partv)
		return ENOMEM;
	for (unsigned r = 0; r < g.rooms; r++) {
		g.roomv[r].nparts = g.parts;
		if (g.nconfs)
			snprintf(g.roomv[r].id, sizeof(g.roomv[r].id), "%s",
			         g.confs[r]);
		for (unsigned t = 0; t < g.parts; t++) {
			double f = lu_tone_freq(t, g.parts);
			g.roomv[r].freq[t] = f;
			g.roomv[r].coeff[t] =
			    lu_goertzel_coeff(f, codecs[g.codec].srate);
		}
	}
	if (!g.nconfs && create_conferences())
		return EPROTO;

	err = su_ua_open(&g.ua, g.local_ip, sip_done_h, NULL);
	if (!err && g.trace)
		sip_set_trace_handler(g.ua.sip, trace_h);
	if (err)
		return err;

	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		p->room = &g.roomv[k / g.parts];
		p->idx = k % g.parts;
		p->fd = -1;
		p->call.rx_pt = -1;
		p->ssrc = rand_u32();
		p->seq = rand_u16();
		p->ts = rand_u32();
		err = open_rtp(p);
		if (!err)
			err = prepare_frames(p);
		if (err)
			return err;
	}
	return su_pacer_open(&g.tfd, tick_h);
}

static void teardown(void)
{
	su_run_close(&g.run);
	for (unsigned k = 0; g.partv && k < g.total; k++) {
		struct part *p = &g.partv[k];
		(void)su_call_close(&p->call);
		su_fd_close(p->fd);
		if (p->dec)
			opus_decoder_destroy(p->dec);
	}
	su_fd_close(g.tfd);
	su_ua_close(&g.ua);
	free(g.partv);
	free(g.roomv);
}

int main(int argc, char **argv)
{
	int err, code = 2;

	g.rooms = 10;
	g.parts = 5;
	g.seconds = 20;
	g.settle_ms = 1000;
	g.max_pending = 8;
	g.local_ip = "127.0.0.1";
	g.codec_arg = "pcmu";
	g.tfd = -1;
	if (parse_args(argc, argv))
		return 2;
	lu_raise_nofile();
	if (libre_init())
		return 2;
	(void)fd_setsize((int)(g.rooms * g.parts * 2 + 256));
	ch_g711_init();

	err = setup();
	if (err) {
		fprintf(stderr, "bench_sip_load: set-up failed: %s\n",
		        strerror(err));
		goto out;
	}
	g.run = (struct su_run){.who = "bench_sip_load",
	                        .settle_ms = g.settle_ms,
	                        .seconds = g.seconds,
	                        .dial = &g.dial,
	                        .start_h = start_h,
	                        .end_h = end_h};
	su_run_begin(&g.run);
	g.dial.total = g.total;
	g.dial.max_pending = g.max_pending;
	g.dial.call_h = call_h;
	g.dial.done_h = su_run_joined;
	g.dial.arg = &g.run;
	su_dialer_next(&g.dial);
	err = re_main(signal_h);
	if (g.t_bye)
		printf("  BYE done:      %.2f s after hang-up\n",
		       (lu_now_ns() - g.t_bye) / 1e9);
	code = g.all_passed ? 0 : 1;
out:
	teardown();
	libre_close();
	return code;
}
