/*
 * bench_rtp_peer.c: one RTP load for two conference servers, chorusd and
 * Janus AudioBridge, so that the same peers measure both the same way.
 *
 * Joining differs by server: for chorusd it creates R conferences through
 * the REST API (with "max_sample_rate" when --rate is given; a chorusd that
 * answers 400 to it gets conferences without it, the rate then "auto") and
 * joins P participants to each over SIP (libre, one INVITE per participant
 * offering one codec). For Janus it creates a session over the HTTP
 * transport, one audiobridge handle per participant, R rooms (create:
 * sampling_rate, allow_rtp_participants, record false) and joins each
 * participant with an "rtp" object holding its own socket's address; the
 * plugin answers the join with an event (long poll) that holds the address
 * to send to. A thread sends keepalives for the rest of the run (and
 * long-polls the session's events), else Janus drops the session.
 * --server loopback joins nobody: each participant sends to the next of
 * its room (the last to the first), to check the measuring itself.
 *
 * From there the RTP is the same code for every server: one UDP socket
 * per participant, sending to the server's address for it and receiving
 * from it (Janus sends only to the address given at the join and takes
 * packets from it alone). A timerfd armed for the next due frame paces
 * all senders, each with its own phase within the 20 ms. The first T
 * participants of a room (talkers) send a tone of their own (lu_tone_plan:
 * no tone on a sum or difference of the others', so that the coded mix's
 * intermodulation cannot pass for a talker's own tone or a burst), the
 * others send silence, encoded like any frame, as a phone muted by
 * silence would. Frames are encoded once, 50 of them (1 s)
 * per sender, and cycled.
 *
 * Phases: join; --settle ms; the measured window (--seconds); the delay
 * phase (--delay-seconds); hang-up. Over the window: the server's CPU
 * (utime + stime of --pid from /proc, % of one core) and per participant,
 * its VmRSS at the end, packets, loss from the received sequence numbers,
 * p50/p99 of |interval - 20 ms| between consecutive packets at each
 * receiver (kernel receive timestamps), and the heard check: per receiver
 * a Goertzel filter per talker tone; it passes when every other talker of
 * its room is at -40 dBFS or more and its own tone (a talker's) at least
 * 20 dB under the weakest of them, or, with no other talker, under -40
 * dBFS. In the delay phase the last participant of each room sends tone
 * bursts instead (200 ms on, 800 ms off, at a frequency no one else uses):
 * each other receiver of the room finds each burst's onset in what it
 * receives (load_util.h lu_onset: the first packet over -40 dBFS at that
 * frequency, placed within the packet by its share of the full level) and
 * the added delay is that onset's arrival (kernel time) minus the send
 * time of the burst's first packet; p50/p99 over all bursts and receivers.
 *
 * Usage: bench_rtp_peer --help. Prints a report and one "result:" line of
 * key=value pairs (bench/compare reads it). Exit status 0 when everyone
 * joined, stayed (no BYE from the server, 90 % of the packets due
 * received) and passed the heard check, 1 otherwise, 2 on a usage or
 * set-up error.
 *
 * Threads: everything runs on the libre main loop, but the Janus keeper
 * (janus_util.h), which touches only its own fields.
 */
#include "rtp_peer.h"

#include <errno.h>
#include <stddef.h>

#include "media/g711.h"

const struct codec_info codecs[] = {
    [C_PCMU] = {"pcmu", "PCMU", "0", 8000, 1, 160, 8000},
    [C_OPUS] = {"opus", "opus", "111", 48000, 2, 960, 16000},
};

static const char *const servers[] = {"chorusd", "janus", "loopback"};

struct gen g;

/* ---- frames ---- */

/* Fills r: frame j holds the tone pcm while j < on, else silence;
 * frame 0 holds first instead when not NULL. */
static int ring_fill(struct ring *r, const int16_t *tone, unsigned on,
                     const int16_t *first)
{
	static const int16_t zero[960];
	OpusEncoder *enc = NULL;
	int err = 0, n = 0;

	if (g.codec == C_OPUS) {
		enc =
		    opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
		if (!enc)
			return ENOMEM;
	}
	/* 10 frames of the ring's last one prime the encoder */
	for (int j = -10; j < RING && n >= 0; j++) {
		unsigned k = j < 0 ? RING - 1 : (unsigned)j;
		const int16_t *pcm = k < on ? tone : zero;
		if (k == 0 && first)
			pcm = first;
		if (g.codec == C_PCMU) {
			ch_g711_ulaw_encode(pcm, r->data[k], 160);
			n = 160;
		} else {
			n = opus_encode(enc, pcm, 960, r->data[k], MAX_PAYLOAD);
		}
		r->len[k] = (uint16_t)(n > 0 ? n : 0);
	}
	if (enc)
		opus_encoder_destroy(enc);
	return n < 0 ? EINVAL : 0;
}

/* The tone amplitude: the talkers (and a burst) sum without clipping. */
static double tone_amp(void)
{
	double amp = 24000.0 / g.talkers;
	return amp > 8000.0 ? 8000.0 : amp;
}

/* Prepares p's rings and decoder. */
static int prepare_frames(struct part *p)
{
	const struct codec_info *ci = &codecs[g.codec];
	int16_t pcm[960], first[960];
	unsigned off = g.burst_off_ms * ci->srate / 1000;
	int err = 0;

	p->ring = g.silence;
	if (p->talker) {
		p->ring = malloc(sizeof(*p->ring));
		lu_tone(pcm, ci->samples, g.freq[p->idx], ci->srate,
		        tone_amp());
		err = p->ring ? ring_fill(p->ring, pcm, RING, NULL) : ENOMEM;
	}
	if (!err && p->burster) {
		/* --burst-offset: the tone starts that far into frame 0 */
		p->burst = malloc(sizeof(*p->burst));
		lu_tone(pcm, ci->samples, g.freq[g.talkers], ci->srate,
		        tone_amp());
		memset(first, 0, sizeof(first));
		lu_tone(first + off, ci->samples - off, g.freq[g.talkers],
		        ci->srate, tone_amp());
		err = p->burst ? ring_fill(p->burst, pcm, BURST_ON, first)
		               : ENOMEM;
	}
	p->tx = p->ring;
	if (!err && g.codec == C_OPUS) {
		p->dec = opus_decoder_create((opus_int32)ci->dec_rate, 1, &err);
		err = p->dec ? 0 : ENOMEM;
	}
	return err;
}

/* ---- RTP ---- */

static void put_packet(struct part *p, const struct held *h)
{
	if (!su_rtp_send(p->fd, &p->call.raddr, h->marker,
	                 (uint8_t)atoi(codecs[g.codec].pt), h->seq, h->ts,
	                 p->ssrc, h->pl, h->len))
		return;
	if (g.measuring)
		g.tx_win++;
}

/* Sends p's held packets whose time has come (all of them with force);
 * returns the send time of the next one still held, or 0. */
static uint64_t release_held(struct part *p, uint64_t now, bool force)
{
	uint64_t next = 0;
	unsigned k = 0;

	for (unsigned j = 0; j < p->nheld; j++) {
		if (force || p->held[j].at <= now + EARLY_NS) {
			put_packet(p, &p->held[j]);
			continue;
		}
		if (!next || p->held[j].at < next)
			next = p->held[j].at;
		p->held[k++] = p->held[j];
	}
	p->nheld = k;
	return next;
}

/* The frame due now: sent at once, or with --jitter held back a random
 * 0..jitter_ms (the network's doing: the burst's send time stays the
 * time it was due, so the delay measured includes the jitter). */
static void send_frame(struct part *p)
{
	const struct codec_info *ci = &codecs[g.codec];
	unsigned i = p->frame_i;
	struct room *r = p->room;
	struct timespec now;
	struct held h = {.pl = p->tx->data[i],
	                 .len = p->tx->len[i],
	                 .seq = p->seq++,
	                 .ts = p->ts,
	                 .marker = !p->sent_any};

	if (p->tx == p->burst && i == 0 && r->nbursts < MAX_BURSTS) {
		clock_gettime(CLOCK_REALTIME, &now);
		r->burst_t[r->nbursts++] =
		    lu_ts_ns(&now) + g.burst_off_ms * 1000000ull;
	}
	p->ts += ci->samples;
	p->frame_i = (i + 1) % RING;
	p->sent_any = true;
	if (!g.jitter_ms) {
		put_packet(p, &h);
		return;
	}
	if (p->nheld == JIT_QUEUE) /* cannot happen within MAX_JITTER */
		(void)release_held(p, 0, true);
	h.at = lu_now_ns() +
	       (uint64_t)(rand_u32() % (g.jitter_ms * 1000u + 1)) * 1000u;
	p->held[p->nheld++] = h;
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

static void tick_h(int flags, void *arg)
{
	(void)flags;
	(void)arg;
	lu_pace_tick(g.tfd, g.total, FRAME_NS, EARLY_NS, due_h, send_h);
	if (!g.jitter_ms)
		return;
	/* the held packets due, then wake for the next of them or of the
	 * frames, whichever comes first */
	uint64_t now = lu_now_ns(), next = now + 5000000ull;
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		uint64_t t = release_held(p, now, false);
		if (t && t < next)
			next = t;
		if (due_h(k) && p->next_ns && p->next_ns < next)
			next = p->next_ns;
	}
	lu_timerfd_arm(g.tfd, next);
}

/* An onset heard by p: matched to the latest burst of its room sent
 * before it (20 ms of slack for the placement within a packet). */
static void onset_heard(struct part *p, uint64_t onset)
{
	const struct room *r = p->room;
	int64_t d = 0;
	bool found = false;

	for (unsigned b = r->nbursts; b-- > 0 && !found;) {
		d = (int64_t)(onset - r->burst_t[b]);
		found = d > -(int64_t)FRAME_NS;
	}
	if (!found || d > 800000000ll) {
		g.unmatched++;
		return;
	}
	if (g.ndelays == g.delays_cap) {
		size_t cap = g.delays_cap ? g.delays_cap * 2 : 1024;
		double *v = realloc(g.delays, cap * sizeof(*v));
		if (!v)
			return;
		g.delays = v;
		g.delays_cap = cap;
	}
	g.delays[g.ndelays++] = (double)d / 1e6;
}

/* One decoded frame: the tone levels in the window, the burst's onset in
 * the delay phase. */
static void analyse(struct part *p, const int16_t *pcm, unsigned n, uint64_t t)
{
	uint64_t onset;
	if (g.measuring) {
		for (unsigned k = 0; k < g.talkers; k++)
			p->power[k] += lu_goertzel(pcm, n, g.coeff[k]);
		p->frames_seen++;
	}
	if (g.delaying && !p->burster &&
	    lu_onset_add(&p->onset, lu_goertzel(pcm, n, g.coeff[g.talkers]), t,
	                 pow(10, PRESENT_DB / 10), FRAME_NS, &onset))
		onset_heard(p, onset);
}

static void decode_payload(struct part *p, const uint8_t *d, size_t n,
                           uint64_t t)
{
	static int16_t pcm[MAX_SAMPLES];
	int k;
	if (g.codec == C_OPUS) {
		if (g.measuring && n) {
			int bw = opus_packet_get_bandwidth(d);
			if (bw >= OPUS_BANDWIDTH_NARROWBAND &&
			    bw <= OPUS_BANDWIDTH_FULLBAND)
				g.bandwidth[bw - OPUS_BANDWIDTH_NARROWBAND]++;
		}
		k = opus_decode(p->dec, d, (opus_int32)n, pcm, MAX_SAMPLES, 0);
		if (k > 0)
			analyse(p, pcm, (unsigned)k, t);
		return;
	}
	if (n > MAX_SAMPLES)
		return;
	ch_g711_ulaw_decode(d, pcm, n);
	analyse(p, pcm, (unsigned)n, t);
}

static void rtp_packet(uint8_t *buf, size_t n, uint64_t t, void *arg)
{
	struct part *p = arg;
	struct mbuf mb = {.buf = buf, .size = n, .pos = 0, .end = n};
	struct rtp_header h;

	if (n < 12 || (buf[0] >> 6) != 2 || su_is_rtcp(buf) ||
	    rtp_hdr_decode(&h, &mb))
		return;
	if (g.measuring) {
		g.rx_win++;
		p->rx_pkts++;
		if (p->rx_last_ns) {
			uint64_t d = t - p->rx_last_ns;
			lu_hist_add(&g.hist,
			            d > FRAME_NS ? d - FRAME_NS : FRAME_NS - d);
		}
		p->rx_last_ns = t;
		lu_seq_add(&p->rx_seq, h.ssrc, h.seq);
	}
	if (p->call.rx_pt < 0 || h.pt == p->call.rx_pt)
		decode_payload(p, mbuf_buf(&mb), mbuf_get_left(&mb), t);
}

static void rtp_read_h(int flags, void *arg)
{
	struct part *p = arg;
	(void)flags;
	lu_udp_drain(p->fd, rtp_packet, p);
}

/* ---- joining chorusd: REST, then SIP ---- */

/* POST /conferences, with max_sample_rate when --rate is given; a 400 to
 * it (a chorusd without the field) and the rest go without. */
static int chorusd_create(struct room *r)
{
	char body[128], *resp = NULL;
	const char *id;
	json_t *j;
	int st;

	if (g.rate && strcmp(g.rate_used, "auto")) {
		snprintf(body, sizeof(body),
		         "{\"type\":\"conference\",\"max_sample_rate\":%u}",
		         g.rate);
		st = lu_http(g.url, g.token, "POST", "/conferences", body,
		             &resp);
		j = st / 100 == 2 && resp ? json_loads(resp, 0, NULL) : NULL;
		id = json_string_value(json_object_get(j, "id"));
		snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
		json_decref(j);
		free(resp);
		if (st / 100 == 2 && r->id[0])
			return 0;
		if (st != 400)
			return -1;
		fprintf(stderr, "bench_rtp_peer: chorusd refuses "
		                "max_sample_rate: rooms at its own rate\n");
		g.rate_used = "auto";
	}
	return lu_http_field(g.url, g.token, "POST", "/conferences",
	                     "{\"type\":\"conference\"}", "id", r->id,
	                     sizeof(r->id));
}

/* Creates the conferences and waits (10 s at most) until each is
 * progressing: its room exists and takes calls. */
static int chorusd_rooms(void)
{
	for (unsigned r = 0; r < g.rooms; r++) {
		if (chorusd_create(&g.roomv[r]))
			return -1;
	}
	for (unsigned r = 0; r < g.rooms; r++) {
		if (lu_conference_wait(g.url, g.token, g.roomv[r].id))
			return -1;
	}
	return 0;
}

static void chorusd_rooms_delete(void)
{
	char path[128], *resp;
	for (unsigned r = 0; r < g.rooms; r++) {
		if (!g.roomv[r].id[0])
			continue;
		snprintf(path, sizeof(path), "/conferences/%s", g.roomv[r].id);
		(void)lu_http(g.url, g.token, "DELETE", path, NULL, &resp);
		free(resp);
	}
}

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
		re_fprintf(stderr, "room %s #%u: call failed: %u %r (%s)\n",
		           p->room->id, p->idx, msg ? msg->scode : 0,
		           msg ? &msg->reason : NULL, strerror(err));
		su_dialer_resolved(&g.dial, false);
	} else if (!g.hanging_up) {
		g.dropped++;
		fprintf(stderr, "room %s #%u: call closed by the server\n",
		        p->room->id, p->idx);
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
	re_snprintf(from, sizeof(from), "sip:peer-%u-%u@%j",
	            (unsigned)(p->room - g.roomv), p->idx, &g.ua.laddr);
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

static void sip_done_h(void *arg)
{
	(void)arg;
	re_cancel();
}

/* ---- phases: settle, measure, delay, hang up ---- */

/* The value of counter name in chorusd's GET /metrics, or -1. */
static double metric(const char *name)
{
	char root[128], *resp = NULL, *at;
	const char *path = strchr(g.url + 7, '/');
	size_t nl = strlen(name);
	double v = -1;

	snprintf(root, sizeof(root), "%.*s",
	         (int)(path ? (size_t)(path - g.url) : strlen(g.url)), g.url);
	if (lu_http(root, g.token, "GET", "/metrics", NULL, &resp) == 200 &&
	    resp) {
		for (at = resp; (at = strstr(at, name)); at += nl) {
			if ((at == resp || at[-1] == '\n') && at[nl] == ' ') {
				v = strtod(at + nl + 1, NULL);
				break;
			}
		}
	}
	free(resp);
	return v;
}

/* chorusd's jitter buffer counters into *conceal and *late. */
static void jb_counters(double *conceal, double *late)
{
	*conceal = *late = -1;
	if (g.server != S_CHORUSD)
		return;
	*conceal = metric("chorus_media_frames_concealed_total");
	*late = metric("chorus_media_packets_late_total");
}

static void end_h(void *arg);

/* The window starts. */
static void start_h(void *arg)
{
	(void)arg;
	for (unsigned k = 0; k < g.total; k++)
		g.partv[k].rx_last_ns = 0;
	jb_counters(&g.conceal0, &g.late0);
	lu_window_start(&g.win, g.pid);
	g.measuring = true;
}

/* The window ends: its figures are taken; the bursts start. */
static void delay_h(void *arg)
{
	(void)arg;
	g.measuring = false;
	lu_window_end(&g.win);
	jb_counters(&g.conceal1, &g.late1);
	g.rss_kb = g.pid > 0 ? lu_proc_status_kb(g.pid, "VmRSS:") : -1;
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		g.expected_win += lu_seq_expected(&p->rx_seq);
		if (p->burster) {
			p->tx = p->burst;
			p->frame_i = 0;
		}
	}
	g.delaying = true;
	tmr_start(&g.run.tmr, (uint64_t)g.delay_s * 1000 + 300, end_h, NULL);
}

/* Own tone and others heard by one participant; returns pass. */
static bool judge(const struct part *p, double *own_db, double *weakest_db)
{
	double n = p->frames_seen ? (double)p->frames_seen : 1;
	bool others = false;

	*weakest_db = 200.0;
	*own_db = -120.0;
	for (unsigned t = 0; t < g.talkers; t++) {
		double l = lu_db(p->power[t] / n);
		if (t == p->idx) {
			*own_db = l;
			continue;
		}
		others = true;
		if (l < *weakest_db)
			*weakest_db = l;
	}
	if (!p->frames_seen)
		return false;
	if (!others)
		return *own_db < PRESENT_DB;
	return *weakest_db >= PRESENT_DB &&
	       (!p->talker || *own_db <= *weakest_db - OWN_DB);
}

static const char *bandwidth_name(void)
{
	static const char *const names[] = {"narrowband", "mediumband",
	                                    "wideband", "superwideband",
	                                    "fullband"};
	unsigned best = 0;
	uint64_t sum = 0;
	for (unsigned b = 0; b < 5; b++) {
		sum += g.bandwidth[b];
		if (g.bandwidth[b] > g.bandwidth[best])
			best = b;
	}
	return sum ? names[best] : "-";
}

/* The room rate the server mixes at: chorusd's "auto" is the highest
 * rate of its legs' codecs, a maximum caps it; Janus mixes at the
 * room's sampling_rate (16000 when not given). */
static unsigned mix_rate(void)
{
	unsigned codec_rate = g.codec == C_OPUS ? 48000 : 8000;
	if (g.server == S_JANUS)
		return g.rate ? g.rate : 16000;
	if (g.server == S_LOOPBACK || !strcmp(g.rate_used, "auto"))
		return codec_rate;
	return g.rate < codec_rate ? g.rate : codec_rate;
}

static void report(void)
{
	double win = lu_window_s(&g.win), cpu = lu_window_server_pct(&g.win);
	double gen_cpu = lu_window_own_pct(&g.win);
	uint64_t lost =
	    g.expected_win > g.rx_win ? g.expected_win - g.rx_win : 0;
	double loss = g.expected_win ? 100.0 * lost / g.expected_win : 0.0;
	double nominal = g.dial.joined * win * (1000.0 / FRAME_MS);
	double rx_pct = nominal ? 100.0 * g.rx_win / nominal : 0.0;
	double d50, d99, dmin, dmax;
	unsigned pass = 0, underfed = 0;
	char cplx[16];
	double conceal =
	    g.conceal0 >= 0 && g.conceal1 >= 0 ? g.conceal1 - g.conceal0 : -1;
	double late = g.late0 >= 0 && g.late1 >= 0 ? g.late1 - g.late0 : -1;

	for (unsigned k = 0; k < g.total; k++) {
		const struct part *p = &g.partv[k];
		double own, weak;
		bool ok = p->st == P_UP && judge(p, &own, &weak);
		pass += ok;
		/* a participant the server stopped serving (Janus drops a
		 * session it thinks idle, without a word on the RTP) */
		underfed += p->st == P_UP &&
		            p->rx_pkts < 0.9 * win * (1000.0 / FRAME_MS);
		if (p->st == P_UP && (g.verbose || !ok))
			printf("  %s room %s #%u%s: own %.1f dBFS, weakest "
			       "other %.1f dBFS, %lu pkts\n",
			       ok ? "pass" : "FAIL", p->room->id, p->idx,
			       p->talker ? " (talker)" : "", own,
			       weak > 199 ? -120.0 : weak,
			       (unsigned long)p->rx_pkts);
	}
	dmin = g.ndelays ? lu_quantile(g.delays, g.ndelays, 0) : NAN;
	dmax = g.ndelays ? lu_quantile(g.delays, g.ndelays, 1) : NAN;
	d50 = lu_quantile(g.delays, g.ndelays, 0.5);
	d99 = lu_quantile(g.delays, g.ndelays, 0.99);
	snprintf(cplx, sizeof(cplx), "%u", g.complexity);

	printf("%s: %u rooms x %u participants (%u talking), %s, window "
	       "%.1f s\n",
	       servers[g.server], g.rooms, g.parts, g.talkers,
	       codecs[g.codec].name, win);
	printf("  joined:        %u of %u in %.2f s, %u dropped\n",
	       g.dial.joined, g.total, (g.run.t_joined - g.run.t_start) / 1e9,
	       g.dropped);
	printf("  room rate:     %s (mixing at %u Hz)%s%s\n", g.rate_used,
	       mix_rate(), g.server == S_JANUS ? ", Opus complexity " : "",
	       g.server == S_JANUS ? cplx : "");
	if (cpu >= 0)
		printf("  server CPU:    %.1f %% of one core, %.3f %% per "
		       "participant (pid %d), RSS %.1f MiB\n",
		       cpu, g.dial.joined ? cpu / g.dial.joined : 0.0, g.pid,
		       g.rss_kb / 1024.0);
	printf("  generator:     CPU %.1f %% of one core; send lateness max "
	       "%.2f ms, %lu of %lu sends > 1 ms late\n",
	       gen_cpu, g.late.max_ns / 1e6, (unsigned long)g.late.over_1ms,
	       (unsigned long)g.late.sends);
	printf("  RTP:           %lu sent, %lu received (%.1f %% of 50/s per "
	       "participant); loss %.3f %% (%lu of %lu by sequence numbers)\n",
	       (unsigned long)g.tx_win, (unsigned long)g.rx_win, rx_pct, loss,
	       (unsigned long)lost, (unsigned long)g.expected_win);
	if (g.hist.n)
		printf("  interval:      |interval - 20 ms| p50 %.2f ms, p99 "
		       "%.2f ms, max %.2f ms\n",
		       lu_hist_ms(&g.hist, 0.50), lu_hist_ms(&g.hist, 0.99),
		       g.hist.max_ns / 1e6);
	printf("  added delay:   p50 %.1f ms, p99 %.1f ms (min %.1f, max "
	       "%.1f; %zu onsets, %zu unmatched)\n",
	       d50, d99, dmin, dmax, g.ndelays, g.unmatched);
	if (g.jitter_ms)
		printf("  jitter:        every packet sent 0-%u ms late at "
		       "random (RTP timestamps as due)\n",
		       g.jitter_ms);
	if (conceal >= 0)
		printf("  server jitter buffers: %.0f frames concealed, %.0f "
		       "packets late in the window (%s)\n",
		       conceal, late,
		       conceal + late > 0 ? "not all absorbed"
		                          : "every packet played in time");
	if (g.codec == C_OPUS)
		printf("  received Opus: mostly %s\n", bandwidth_name());
	if (underfed)
		printf("  underfed:      %u participants received under 90 %% "
		       "of the packets due\n",
		       underfed);
	printf("  heard:         %u of %u pass (other talkers >= %.0f dBFS, "
	       "own >= %.0f dB below them)\n",
	       pass, g.total, PRESENT_DB, OWN_DB);
	printf("result: server=%s load=%s codec=%s rooms=%u participants=%u "
	       "talkers=%u rate=%s mix_rate=%u complexity=%s cpu=%.2f "
	       "cpu_per_participant=%.4f rss_mib=%.1f loss=%.3f rx_pct=%.1f "
	       "dev_p50=%.2f dev_p99=%.2f delay_p50=%.1f delay_p99=%.1f "
	       "delays=%zu heard=%u/%u joined=%u gen_cpu=%.1f "
	       "late_max_ms=%.2f opus_bandwidth=%s jitter=%u concealed=%.0f "
	       "late=%.0f\n",
	       servers[g.server], g.label, codecs[g.codec].arg, g.rooms,
	       g.parts, g.talkers, g.rate_used, mix_rate(),
	       g.server == S_JANUS && g.codec == C_OPUS ? cplx : "-", cpu,
	       g.dial.joined ? cpu / g.dial.joined : 0.0, g.rss_kb / 1024.0,
	       loss, rx_pct, g.hist.n ? lu_hist_ms(&g.hist, 0.50) : NAN,
	       g.hist.n ? lu_hist_ms(&g.hist, 0.99) : NAN, d50, d99, g.ndelays,
	       pass, g.total, g.dial.joined, gen_cpu, g.late.max_ns / 1e6,
	       g.codec == C_OPUS ? bandwidth_name() : "-", g.jitter_ms, conceal,
	       late);
	fflush(stdout);
	g.all_passed = pass == g.total && !g.dropped && !underfed;
}

static void end_h(void *arg)
{
	unsigned byes = 0;
	(void)arg;
	g.delaying = false;
	report();
	g.hanging_up = g.dial.stopped = true;
	for (unsigned k = 0; k < g.total; k++)
		g.partv[k].call.media = false;
	if (g.server != S_CHORUSD) {
		re_cancel();
		return;
	}
	/* dropping an established session sends BYE; sip_close() calls
	 * sip_done_h once every transaction is done */
	g.t_bye = lu_now_ns();
	for (unsigned k = 0; k < g.total; k++) {
		struct part *p = &g.partv[k];
		if (su_call_close(&p->call))
			byes += p->st == P_UP;
		p->st = P_CLOSED;
	}
	printf("  hang-up:       %u BYE sent\n", byes);
	su_run_bye_guard(&g.run);
	sip_close(g.ua.sip, false);
}

static void signal_h(int sig)
{
	(void)sig;
	if (g.measuring || g.delaying)
		end_h(NULL);
	else
		re_cancel();
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fputs(
	    "usage: bench_rtp_peer --server chorusd|janus|loopback [--url "
	    "URL]\n"
	    "  [--token TOKEN] [--sip HOST:PORT] [--pid SERVER_PID]\n"
	    "  [--rooms R] [--participants P] [--talkers T] [--codec "
	    "pcmu|opus]\n"
	    "  [--seconds S] [--settle MS] [--delay-seconds D] [--rate HZ]\n"
	    "  [--complexity N] [--expected-loss PCT] [--prebuffer N]\n"
	    "  [--label NAME] [--local IP] [--max-pending N] [--burst-offset "
	    "MS]\n"
	    "  [--jitter MS] [-v]\n"
	    "chorusd: --url is its API (http://127.0.0.1:8080/v1.0), --token\n"
	    "and --sip its SIP address; --rate N creates conferences with\n"
	    "max_sample_rate N (without it if chorusd refuses the field).\n"
	    "janus: --url is its HTTP API (http://127.0.0.1:8088/janus);\n"
	    "--rate is the rooms' sampling_rate (default Janus's, 16000),\n"
	    "--complexity the joins' Opus quality (default 4, Janus's),\n"
	    "--expected-loss theirs (default 5, with FEC, as chorusd's\n"
	    "encoder), --prebuffer their prebuffer (default Janus's, 6).\n"
	    "loopback: no server; each participant sends to the next of its\n"
	    "room (use 2 per room for the heard check). --burst-offset MS\n"
	    "starts each burst MS into its first packet (the send time moves\n"
	    "with it): the onset's placement within a packet is checked.\n"
	    "--jitter MS (at most 140) sends every packet 0..MS ms late at\n"
	    "random, RTP timestamps as due (packets may overtake each other);\n"
	    "the delay is then measured from when each burst was due. Against\n"
	    "chorusd, the frames its jitter buffers concealed and the packets\n"
	    "they dropped as late during the window are printed (/metrics).\n"
	    "The first T participants of a room talk (a tone each), the\n"
	    "others send silence; the last one sends tone bursts in the delay\n"
	    "phase. --pid: the server, for its CPU and RSS. Defaults: 10 x 5,\n"
	    "T = P, pcmu, 20 s, settle 2000 ms, delay 5 s, local 127.0.0.1,\n"
	    "8 INVITEs at once.\n",
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
	    {"--server", LU_STR, AT(server_arg)},
	    {"--url", LU_STR, AT(url)},
	    {"--token", LU_STR, AT(token)},
	    {"--sip", LU_STR, AT(sip_target)},
	    {"--local", LU_STR, AT(local_ip)},
	    {"--codec", LU_STR, AT(codec_arg)},
	    {"--label", LU_STR, AT(label)},
	    {"--rooms", LU_UINT, AT(rooms)},
	    {"--participants", LU_UINT, AT(parts)},
	    {"--talkers", LU_UINT, AT(talkers)},
	    {"--seconds", LU_UINT, AT(seconds)},
	    {"--settle", LU_UINT, AT(settle_ms)},
	    {"--delay-seconds", LU_UINT, AT(delay_s)},
	    {"--rate", LU_UINT, AT(rate)},
	    {"--complexity", LU_UINT, AT(complexity)},
	    {"--expected-loss", LU_UINT, AT(expected_loss)},
	    {"--prebuffer", LU_UINT, AT(prebuffer)},
	    {"--max-pending", LU_UINT, AT(max_pending)},
	    {"--burst-offset", LU_UINT, AT(burst_off_ms)},
	    {"--jitter", LU_UINT, AT(jitter_ms)},
	    {"--pid", LU_INT, AT(pid)},
	};
	unsigned none = 0, s, c;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		}
	}
	if (lu_opts_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &g,
	                  flag_h, NULL, 0, &none))
		goto bad;
	for (s = 0; s < 3 && strcmp(g.server_arg, servers[s]); s++)
		;
	for (c = 0; c < 2 && strcmp(g.codec_arg, codecs[c].arg); c++)
		;
	g.server = (enum server)s;
	g.codec = (enum codec)c;
	if (!g.talkers)
		g.talkers = g.parts < MAX_TALKERS ? g.parts : MAX_TALKERS;
	if (s == 3 || c == 2 || !g.rooms || !g.parts || !g.seconds ||
	    !g.delay_s || g.delay_s >= MAX_BURSTS || !g.max_pending ||
	    g.talkers > g.parts || g.talkers > MAX_TALKERS ||
	    g.complexity > 10 || g.expected_loss > 20 ||
	    g.burst_off_ms >= FRAME_MS || g.jitter_ms > MAX_JITTER ||
	    (g.server != S_LOOPBACK && !g.url) ||
	    (g.server == S_CHORUSD && (!g.token || !g.sip_target)))
		goto bad;
	if (g.rate && g.rate != 8000 && g.rate != 12000 && g.rate != 16000 &&
	    g.rate != 24000 && g.rate != 48000)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
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

/* Sockets, frames and tones for everyone; then the server's rooms. */
static int setup(void)
{
	static char rate_s[16];
	int err;

	g.total = g.rooms * g.parts;
	g.roomv = calloc(g.rooms, sizeof(*g.roomv));
	g.partv = calloc(g.total, sizeof(*g.partv));
	g.silence = malloc(sizeof(*g.silence));
	if (!g.roomv || !g.partv || !g.silence)
		return ENOMEM;
	lu_tone_plan(g.freq, g.talkers + 1);
	for (unsigned t = 0; t <= g.talkers; t++) {
		g.coeff[t] =
		    lu_goertzel_coeff(g.freq[t], codecs[g.codec].dec_rate);
	}
	err = ring_fill(g.silence, NULL, 0, NULL);
	for (unsigned k = 0; !err && k < g.total; k++) {
		struct part *p = &g.partv[k];
		p->room = &g.roomv[k / g.parts];
		p->idx = k % g.parts;
		p->talker = p->idx < g.talkers;
		p->burster = p->idx == g.parts - 1 && g.parts > 1;
		p->fd = -1;
		p->call.rx_pt = -1;
		p->ssrc = rand_u32();
		p->seq = rand_u16();
		p->ts = rand_u32();
		err = open_rtp(p);
		if (!err)
			err = prepare_frames(p);
	}
	if (err)
		return err;
	snprintf(rate_s, sizeof(rate_s), "%u", g.rate);
	g.rate_used = g.rate ? rate_s : g.server == S_JANUS ? "16000" : "auto";
	if (g.server == S_CHORUSD) {
		if (chorusd_rooms())
			return EPROTO;
		err = su_ua_open(&g.ua, g.local_ip, sip_done_h, NULL);
	} else if (g.server == S_JANUS) {
		err = janus_setup() ? EPROTO : 0;
	} else {
		for (unsigned k = 0; k < g.total; k++) {
			struct part *p = &g.partv[k];
			unsigned next = k - p->idx + (p->idx + 1) % g.parts;
			snprintf(p->room->id, sizeof(p->room->id), "%u",
			         k / g.parts);
			p->call.raddr = g.partv[next].laddr;
			p->call.media = true;
			p->st = P_UP;
			g.dial.joined++;
		}
	}
	return err ? err : su_pacer_open(&g.tfd, tick_h);
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
		if (p->ring != g.silence)
			free(p->ring);
		free(p->burst);
	}
	su_fd_close(g.tfd);
	su_ua_close(&g.ua);
	janus_teardown();
	if (g.server == S_CHORUSD && g.roomv)
		chorusd_rooms_delete();
	free(g.partv);
	free(g.roomv);
	free(g.silence);
	free(g.delays);
}

int main(int argc, char **argv)
{
	int err, code = 2;

	g.rooms = 10;
	g.parts = 5;
	g.seconds = 20;
	g.settle_ms = 2000;
	g.delay_s = 5;
	g.complexity = 4;
	g.expected_loss = 5;
	g.max_pending = 8;
	g.local_ip = "127.0.0.1";
	g.codec_arg = "pcmu";
	g.server_arg = "";
	g.label = "-";
	g.tfd = -1;
	if (parse_args(argc, argv))
		return 2;
	lu_raise_nofile();
	if (libre_init() || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 2;
	(void)fd_setsize((int)(g.rooms * g.parts * 2 + 256));
	ch_g711_init();

	/* the joins' time includes making the rooms (and Janus's joins,
	 * made before the loop runs) */
	g.run = (struct su_run){.who = "bench_rtp_peer",
	                        .settle_ms = g.settle_ms,
	                        .seconds = g.seconds,
	                        .dial = &g.dial,
	                        .start_h = start_h,
	                        .end_h = delay_h};
	su_run_begin(&g.run);
	err = setup();
	if (err) {
		fprintf(stderr, "bench_rtp_peer: set-up failed: %s\n",
		        strerror(err));
		goto out;
	}
	g.dial.total = g.total;
	if (g.server == S_CHORUSD) {
		g.dial.max_pending = g.max_pending;
		g.dial.call_h = call_h;
		g.dial.done_h = su_run_joined;
		g.dial.arg = &g.run;
		su_dialer_next(&g.dial);
	} else {
		su_run_joined(&g.run);
	}
	err = re_main(signal_h);
	if (g.t_bye)
		printf("  BYE done:      %.2f s after hang-up\n",
		       (lu_now_ns() - g.t_bye) / 1e9);
	code = g.all_passed ? 0 : 1;
out:
	teardown();
	curl_global_cleanup();
	libre_close();
	return code;
}
