/*
 * bench_engine.c: load benchmark of the media engine.
 *
 *   bench_engine [rooms] [legs] [pcmu|opus] [seconds] [talkers] [workers]
 *                [max_rate] [lowdelay|voip] [complexity]
 *   defaults:     10      5      pcmu        20        all       0 (1/core)
 *                16000      lowdelay         5   (chorusd's defaults)
 *
 * Starts the engine on 127.0.0.1 with rooms x legs legs; a sender thread
 * with its own UDP socket per leg sends each leg a 20 ms packet every
 * 20 ms (a tone from the first `talkers` legs of each room, digital
 * silence from the others), and a receiver thread timestamps every packet
 * the engine sends back. After one second of warm-up it measures for
 * `seconds` and prints:
 *   - the CPU used by the engine's worker threads (utime + stime from
 *     /proc/self/task/<tid>/stat, threads named ch-media-*), in % of one
 *     core;
 *   - the send-interval jitter: p50 / p99 / max of the gaps between
 *     consecutive packets one receiver got from the engine (ideal: 20 ms);
 *   - loss: packets missing by RTP sequence number, and packets received
 *     against 50 per second per leg.
 * The sender and receiver threads run on the same machine and compete
 * with the workers for the CPU.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <re_types.h>
#include <re_main.h>
#include <re_sa.h>
#include <re_list.h>
#include <re_tmr.h>

#include <opus/opus.h>

#include "media/engine.h"
#include "media/g711.h"
#include "media/rtp.h"

#define FRAMES     50 /* one second of 20 ms frames, looped */
#define MAX_PL     400
#define GAP_BINS   20000 /* 10 us bins up to 200 ms */
#define GAP_BIN_US 10

struct bleg {
	int fd;
	struct sa engine; /* the leg's RTP address */
	struct sa addr;   /* ours */
	uint32_t leg;
	uint16_t seq;
	uint32_t ts;
	uint8_t pl[FRAMES][MAX_PL];
	uint16_t pl_len[FRAMES];
	/* receiver thread */
	bool have_last;
	uint64_t last_us;
	bool have_seq;
	uint16_t first_seq, last_seq;
	uint32_t cycles;
	uint64_t received;
};

static struct {
	unsigned rooms, legs, talkers, workers, seconds;
	bool opus;
	uint32_t max_rate; /* ch_media_room_set_max_rate of every room */
	struct bleg *leg;
	size_t nlegs;
	atomic_int phase; /* 0 warm-up, 1 measuring, 2 done */
	atomic_bool stop;
	uint64_t gaps[GAP_BINS + 1];
	uint64_t ngaps;
	uint64_t gap_max_us;
	struct tmr tmr;
} B;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- payloads ---- */

static void make_payloads(struct bleg *l, size_t idx, bool talker)
{
	double freq = 300 + 37.0 * (double)(idx % 50);
	double phase = 0;
	unsigned rate = B.opus ? 48000 : 8000, n = rate / 50;
	int16_t pcm[960];
	OpusEncoder *enc = NULL;
	int err;

	if (B.opus)
		enc =
		    opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	for (int f = 0; f < FRAMES; f++) {
		for (unsigned i = 0; i < n; i++) {
			pcm[i] = talker ? (int16_t)(6000 * sin(phase)) : 0;
			phase += 2 * M_PI * freq / rate;
		}
		if (enc) {
			int len =
			    opus_encode(enc, pcm, (int)n, l->pl[f], MAX_PL);
			l->pl_len[f] = (uint16_t)(len > 0 ? len : 0);
		} else {
			ch_g711_ulaw_encode(pcm, l->pl[f], n);
			l->pl_len[f] = (uint16_t)n;
		}
	}
	if (enc)
		opus_encoder_destroy(enc);
}

/* ---- sender ---- */

static void *sender(void *arg)
{
	struct timespec next;
	unsigned frame = 0;
	uint8_t pkt[CH_RTP_HDR_LEN + MAX_PL];
	uint8_t pt = B.opus ? 111 : 0;
	uint32_t step = B.opus ? 960 : 160;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&B.stop)) {
		for (size_t i = 0; i < B.nlegs; i++) {
			struct bleg *l = &B.leg[i];
			ch_rtp_hdr_write(pkt, frame == 0, pt, l->seq++, l->ts,
			                 0x5000 + (uint32_t)i);
			l->ts += step;
			unsigned f = frame % FRAMES;
			memcpy(pkt + CH_RTP_HDR_LEN, l->pl[f], l->pl_len[f]);
			(void)sendto(l->fd, pkt, CH_RTP_HDR_LEN + l->pl_len[f],
			             0, &l->engine.u.sa, l->engine.len);
		}
		frame++;
		next.tv_nsec += 20000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return NULL;
}

/* ---- receiver ---- */

static void account(struct bleg *l, const uint8_t *buf, size_t len, uint64_t t)
{
	struct ch_rtp_pkt p;

	/* RTCP for the socket one port below lands here too: skip it */
	if (ch_rtp_is_rtcp(buf, len) || ch_rtp_parse(buf, len, &p) != 0 ||
	    p.pt != (B.opus ? 111 : 0))
		return;
	int phase = atomic_load_explicit(&B.phase, memory_order_relaxed);
	if (phase != 1) {
		if (phase == 0) {
			l->have_last = false;
			l->have_seq = false;
		}
		return;
	}
	if (l->have_last) {
		uint64_t gap = t - l->last_us;
		uint64_t bin = gap / GAP_BIN_US;
		B.gaps[bin > GAP_BINS ? GAP_BINS : bin]++;
		B.ngaps++;
		if (gap > B.gap_max_us)
			B.gap_max_us = gap;
	}
	l->have_last = true;
	l->last_us = t;
	l->received++;
	if (!l->have_seq) {
		l->have_seq = true;
		l->first_seq = l->last_seq = p.seq;
		return;
	}
	int16_t d = (int16_t)(p.seq - l->last_seq);
	if (d > 0) {
		if (p.seq < l->last_seq)
			l->cycles += 65536;
		l->last_seq = p.seq;
	}
}

static void *receiver(void *arg)
{
	int ep = epoll_create1(0);
	struct epoll_event evs[64];
	uint8_t buf[1600];

	for (size_t i = 0; i < B.nlegs; i++) {
		struct epoll_event ev = {.events = EPOLLIN,
		                         .data.ptr = &B.leg[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, B.leg[i].fd, &ev);
	}
	while (!atomic_load(&B.stop)) {
		int n = epoll_wait(ep, evs, 64, 100);
		uint64_t t = now_us();
		for (int i = 0; i < n; i++) {
			struct bleg *l = evs[i].data.ptr;
			for (;;) {
				ssize_t len =
				    recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (len <= 0)
					break;
				account(l, buf, (size_t)len, t);
			}
		}
	}
	close(ep);
	return NULL;
}

/* ---- CPU of the workers ---- */

/* Sums utime + stime (clock ticks) of threads named ch-media-*. */
static uint64_t worker_ticks(unsigned *nthreads)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	uint64_t sum = 0;

	*nthreads = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], line[1024];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
		         e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(line, 1, sizeof(line) - 1, f);
		fclose(f);
		line[n] = '\0';
		char *open = strchr(line, '('), *close_p = strrchr(line, ')');
		if (!open || !close_p || strncmp(open + 1, "ch-media-", 9) != 0)
			continue;
		/* after "pid (comm) ": state is field 3; utime 14, stime 15 */
		unsigned long long ut = 0, st = 0;
		if (sscanf(close_p + 2,
		           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
		           "%llu",
		           &ut, &st) == 2) {
			sum += ut + st;
			(*nthreads)++;
		}
	}
	closedir(d);
	return sum;
}

static double gap_pct(double pct)
{
	uint64_t want = (uint64_t)ceil(pct / 100.0 * (double)B.ngaps), acc = 0;
	for (size_t i = 0; i <= GAP_BINS; i++) {
		acc += B.gaps[i];
		if (acc >= want && want > 0)
			return (double)(i * GAP_BIN_US + GAP_BIN_US / 2) /
			       1000.0;
	}
	return 0;
}

static void stop_h(void *arg)
{
	re_cancel();
}

static void run(unsigned ms)
{
	tmr_start(&B.tmr, ms, stop_h, NULL);
	re_main(NULL);
}

static int setup(struct ch_media_engine *eng)
{
	B.nlegs = (size_t)B.rooms * B.legs;
	B.leg = calloc(B.nlegs, sizeof(*B.leg));
	if (!B.leg)
		return ENOMEM;
	for (unsigned r = 0; r < B.rooms; r++) {
		uint32_t room;
		int err = ch_media_room_create(eng, &room);
		if (!err)
			err = ch_media_room_set_max_rate(eng, room, B.max_rate);
		if (err)
			return err;
		for (unsigned k = 0; k < B.legs; k++) {
			struct bleg *l = &B.leg[r * B.legs + k];
			l->fd = socket(AF_INET, SOCK_DGRAM, 0);
			sa_set_str(&l->addr, "127.0.0.1", 0);
			if (l->fd < 0 ||
			    bind(l->fd, &l->addr.u.sa, l->addr.len) != 0)
				return errno;
			socklen_t len = sizeof(l->addr.u);
			getsockname(l->fd, &l->addr.u.sa, &len);
			l->addr.len = len;
			int rcv = 1 << 20;
			setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcv,
			           sizeof(rcv));
			err =
			    ch_media_leg_alloc(eng, room, &l->leg, &l->engine);
			if (err)
				return err;
			struct ch_media_leg_params p = {
			    .codec = B.opus ? CH_CODEC_OPUS : CH_CODEC_PCMU,
			    .pt = B.opus ? 111 : 0,
			    .telev_pt = 101,
			    .dir = CH_DIR_SENDRECV,
			    .remote = &l->addr,
			};
			err = ch_media_leg_start(eng, l->leg, &p);
			if (err)
				return err;
			l->seq = (uint16_t)rand();
			l->ts = (uint32_t)rand();
			make_payloads(l, r * B.legs + k, k < B.talkers);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	B.rooms = argc > 1 ? (unsigned)atoi(argv[1]) : 10;
	B.legs = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
	B.opus = argc > 3 && strcmp(argv[3], "opus") == 0;
	B.seconds = argc > 4 ? (unsigned)atoi(argv[4]) : 20;
	B.talkers = argc > 5 && strcmp(argv[5], "all") != 0
	                ? (unsigned)atoi(argv[5])
	                : B.legs;
	B.workers = argc > 6 ? (unsigned)atoi(argv[6]) : 0;
	B.max_rate = argc > 7 ? (uint32_t)atoi(argv[7]) : 16000;
	struct ch_codec_opus opus = {.complexity = argc > 9 ? atoi(argv[9]) : 5,
	                             .lowdelay = argc <= 8 ||
	                                         strcmp(argv[8], "voip") != 0};
	if (B.rooms == 0 || B.legs == 0 || B.seconds == 0 ||
	    B.rooms * B.legs > 4000 || opus.complexity < 0 ||
	    opus.complexity > 10 ||
	    (B.max_rate != 8000 && B.max_rate != 16000 &&
	     B.max_rate != 48000)) {
		fprintf(stderr,
		        "usage: %s [rooms] [legs] [pcmu|opus] "
		        "[seconds] [talkers|all] [workers] [8000|16000|48000] "
		        "[lowdelay|voip] [complexity 0-10]\n",
		        argv[0]);
		return 2;
	}
	printf("engine: rooms mix at most at %u Hz; Opus %s, complexity %d\n",
	       B.max_rate, opus.lowdelay ? "restricted low delay" : "voip",
	       opus.complexity);

	struct ch_media_engine *eng;
	struct ch_media_config cfg = {.workers = B.workers,
	                              .rtp_lo = 20000,
	                              .rtp_hi = 29999,
	                              .bind_ip = "127.0.0.1",
	                              .opus = &opus};
	if (libre_init() != 0)
		return 1;
	tmr_init(&B.tmr);
	int err = ch_media_engine_alloc(&eng, &cfg, NULL, NULL);
	if (!err)
		err = setup(eng);
	if (err) {
		fprintf(stderr, "setup: %s\n", strerror(err));
		return 1;
	}

	pthread_t ts, tr;
	pthread_create(&tr, NULL, receiver, NULL);
	pthread_create(&ts, NULL, sender, NULL);
	run(1000); /* warm-up: jitter buffers fill, talk detection settles */

	unsigned nthreads;
	struct ch_media_engine_stats es0, es1;
	ch_media_engine_stats(eng, &es0);
	uint64_t t0 = worker_ticks(&nthreads), w0 = now_us();
	atomic_store(&B.phase, 1);
	run(B.seconds * 1000);
	atomic_store(&B.phase, 2);
	uint64_t t1 = worker_ticks(&nthreads), w1 = now_us();
	ch_media_engine_stats(eng, &es1);
	atomic_store(&B.stop, true);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);

	double wall = (double)(w1 - w0) / 1e6;
	double cpu =
	    (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK) / wall * 100.0;
	uint64_t expected = 0, received = 0;
	for (size_t i = 0; i < B.nlegs; i++) {
		struct bleg *l = &B.leg[i];
		if (l->have_seq)
			expected += (uint64_t)l->cycles + l->last_seq -
			            l->first_seq + 1;
		received += l->received;
	}
	double nominal = (double)B.nlegs * 50.0 * wall;
	printf("engine: %u rooms x %u legs, %s, %u talking per room, %u "
	       "worker threads, %.1f s\n",
	       B.rooms, B.legs, B.opus ? "opus" : "pcmu",
	       B.talkers < B.legs ? B.talkers : B.legs, nthreads, wall);
	printf("cpu: %.1f %% of one core (all workers)\n", cpu);
	printf("ticks: %llu run, %llu late (caught up), %llu skipped\n",
	       (unsigned long long)(es1.ticks - es0.ticks),
	       (unsigned long long)(es1.overruns - es0.overruns),
	       (unsigned long long)(es1.skipped - es0.skipped));
	printf("send interval: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%llu "
	       "gaps)\n",
	       gap_pct(50), gap_pct(99), (double)B.gap_max_us / 1000.0,
	       (unsigned long long)B.ngaps);
	printf(
	    "loss: %.3f %% by sequence (%llu of %llu); received %.2f %% "
	    "of 50/s/leg\n",
	    expected ? 100.0 * (double)(expected - received) / (double)expected
	             : 0.0,
	    (unsigned long long)(expected - received),
	    (unsigned long long)expected, 100.0 * (double)received / nominal);

	ch_media_engine_free(eng);
	for (size_t i = 0; i < B.nlegs; i++)
		close(B.leg[i].fd);
	free(B.leg);
	libre_close();
	return 0;
}
