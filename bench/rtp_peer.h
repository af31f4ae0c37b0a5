/*
 * rtp_peer.h: what the files of bench_rtp_peer share: its limits, the
 * participants, rooms and run state (struct gen), and the functions one
 * file gives the other. Design and usage in bench_rtp_peer.c.
 *
 * Threads: everything runs on the libre main loop but the Janus keeper
 * (janus_util.h), which touches only its own fields. The program's one
 * struct gen (g) is defined in bench_rtp_peer.c.
 */
#ifndef BENCH_RTP_PEER_H
#define BENCH_RTP_PEER_H

#include "sip_util.h"

#include <opus/opus.h>

#include "janus_util.h"
#include "load_util.h"

#define FRAME_MS    20
#define FRAME_NS    (FRAME_MS * 1000000ull)
#define EARLY_NS    100000ull /* a frame this close to due is sent */
#define RING        50        /* frames per sender, cycled: 1 s */
#define BURST_ON    10        /* frames of tone per burst: 200 ms */
#define MAX_PAYLOAD 400
#define MAX_SAMPLES 5760 /* 120 ms at 48 kHz */
#define MAX_TALKERS 32
#define PRESENT_DB  -40.0 /* a tone is heard at or above this level */
#define OWN_DB      20.0  /* own tone at least this far below the others */
#define MAX_BURSTS  64
#define JIT_QUEUE   8   /* packets held back per sender by --jitter */
#define MAX_JITTER  140 /* ms: what JIT_QUEUE frames of 20 ms cover */

enum server { S_CHORUSD, S_JANUS, S_LOOPBACK };
enum codec { C_PCMU, C_OPUS };
enum pstate { P_IDLE, P_CALLING, P_UP, P_FAILED, P_CLOSED };

struct codec_info {
	const char *arg, *name, *pt;
	uint32_t srate;    /* what we encode at, and the RTP clock */
	uint8_t ch;        /* channels in the SDP */
	unsigned samples;  /* per 20 ms at srate, and the RTP timestamp step */
	uint32_t dec_rate; /* what we decode to: enough for the tones */
};

/* RING encoded frames, sent in turn. */
struct ring {
	uint16_t len[RING];
	uint8_t data[RING][MAX_PAYLOAD];
};

/* A conference (chorusd) or room (Janus). */
struct room {
	char id[64];                  /* chorusd conference id */
	uint64_t janus_id;            /* Janus room id */
	uint64_t burst_t[MAX_BURSTS]; /* send times of the bursts' first
	                               * packets (CLOCK_REALTIME ns) */
	unsigned nbursts;
};

/* A packet held back by --jitter: its send time and what it carries. */
struct held {
	uint64_t at; /* CLOCK_MONOTONIC ns */
	const uint8_t *pl;
	uint16_t len, seq;
	uint32_t ts;
	bool marker;
};

/* One participant: its socket, what it sends and what it heard. */
struct part {
	struct room *room;
	unsigned idx;
	bool talker, burster;
	enum pstate st;
	/* joining, and where to send: call.raddr once call.media (for Janus
	 * and loopback only those and call.rx_pt are used) */
	struct su_call call;
	uint64_t handle; /* Janus */
	char txn[32];    /* Janus: the join's transaction */
	/* RTP */
	int fd;
	struct sa laddr;
	struct ring *tx, *ring, *burst; /* sending; normal; bursts */
	unsigned frame_i;
	uint64_t next_ns;
	uint16_t seq;
	uint32_t ts, ssrc;
	bool sent_any;
	/* --jitter: packets not sent yet, in the order they were due */
	struct held held[JIT_QUEUE];
	unsigned nheld;
	/* receiving */
	OpusDecoder *dec;
	struct lu_seq rx_seq;
	uint64_t rx_pkts, rx_last_ns;
	double power[MAX_TALKERS]; /* summed squared amplitude per tone */
	uint64_t frames_seen;
	struct lu_onset onset;
};

struct gen {
	/* options */
	const char *server_arg, *url, *token, *sip_target, *local_ip;
	const char *codec_arg, *label;
	unsigned rooms, parts, talkers, seconds, settle_ms, delay_s;
	unsigned rate, complexity, expected_loss, prebuffer, max_pending;
	unsigned burst_off_ms, jitter_ms;
	int pid;
	bool verbose;
	/* state */
	enum server server;
	enum codec codec;
	const char *rate_used;         /* as printed: "16000", "auto" */
	double freq[MAX_TALKERS + 1];  /* talkers' tones, then the burst */
	double coeff[MAX_TALKERS + 1]; /* their Goertzel coefficients */
	struct room *roomv;
	struct part *partv;
	struct ring *silence;
	unsigned total, dropped;
	struct su_dialer dial; /* chorusd's calls; Janus's joins counted */
	struct su_ua ua;
	struct ju_client janus;
	struct ju_keeper keeper;
	int tfd;
	bool measuring, delaying, hanging_up, all_passed;
	uint64_t t_bye;
	struct su_run run; /* its tmr: the delay phase after the window */
	struct lu_window win;
	long rss_kb;
	struct lu_hist hist; /* |receive interval - 20 ms| */
	struct lu_late late;
	uint64_t tx_win, rx_win, expected_win;
	/* the server's jitter buffer counters (chorusd's /metrics) at the
	 * window's start and end; -1: unknown */
	double conceal0, conceal1, late0, late1;
	uint64_t bandwidth[5]; /* received Opus packets per bandwidth */
	double *delays;        /* ms */
	size_t ndelays, delays_cap, unmatched;
};

/* Codec table, by enum codec (bench_rtp_peer.c). */
extern const struct codec_info codecs[];
/* The run: options and state (bench_rtp_peer.c). */
extern struct gen g;

/* rtp_peer_janus.c: joins everyone to Janus over its HTTP API before the
 * loop runs (session, handles, rooms, joins, keeper); 0 or -1, said on
 * stderr. */
int janus_setup(void);
/* Ends the keeper, leaves and destroys the session (idempotent). */
void janus_teardown(void);

#endif
