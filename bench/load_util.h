/*
 * load_util.h: helpers for the load generators in bench/: a blocking REST
 * call, CPU time and resident memory of a process and CPU time of
 * ourselves, a histogram of intervals, quantiles of a sample, RTP
 * sequence-number accounting, test tones, the Goertzel filter that finds
 * them and the onset of a tone burst, and UDP sockets that report the
 * kernel's receive time of each datagram.
 *
 * Header-only (static functions): bench/CMakeLists.txt builds one program
 * from each bench_*.c, so shared code comes in by #include. Nothing here
 * uses libre, so it can sit next to jansson.
 */
#ifndef CH_BENCH_LOAD_UTIL_H
#define CH_BENCH_LOAD_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t lu_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* CLOCK_MONOTONIC in ns. */
static inline uint64_t lu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return lu_ts_ns(&ts);
}

/* ---- options ---- */

enum lu_opt_kind { LU_STR, LU_UINT, LU_INT };

/* An option "name value" and where its value goes: a const char *, an
 * unsigned or an int at offset off of the program's option struct. */
struct lu_opt {
	const char *name;
	enum lu_opt_kind kind;
	size_t off;
};

/*
 * Reads argv[1..] into the struct at base by the table opts. flag_h (or
 * NULL) takes the options without a value it knows (returns true);
 * "--conference ID" may repeat: up to maxc ids go to confs, counted in
 * *nconfs. Returns 0, or -1 on an unknown option or a missing value.
 */
static inline int lu_opts_parse(int argc, char **argv,
                                const struct lu_opt *opts, size_t nopts,
                                void *base, bool (*flag_h)(const char *),
                                char **confs, unsigned maxc, unsigned *nconfs)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		size_t k;
		if (flag_h && flag_h(a))
			continue;
		if (!strcmp(a, "--conference") && v && *nconfs < maxc) {
			confs[(*nconfs)++] = argv[++i];
			continue;
		}
		for (k = 0; k < nopts && strcmp(a, opts[k].name); k++)
			;
		if (k == nopts || !v)
			return -1;
		char *field = (char *)base + opts[k].off;
		if (opts[k].kind == LU_STR)
			*(const char **)field = v;
		else if (opts[k].kind == LU_UINT)
			*(unsigned *)field = (unsigned)strtoul(v, NULL, 10);
		else
			*(int *)field = atoi(v);
		i++;
	}
	return 0;
}

/* Raises our descriptor limit to the hard limit. */
static inline void lu_raise_nofile(void)
{
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- pacing 20 ms senders ---- */

/* Arms timerfd tfd at an absolute CLOCK_MONOTONIC time in ns. */
static inline void lu_timerfd_arm(int tfd, uint64_t at)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at / 1000000000ull);
	its.it_value.tv_nsec = (long)(at % 1000000000ull);
	(void)timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/*
 * One turn of the pacer of n senders, each a frame every frame_ns, run
 * when timerfd tfd fires: due_h(k) gives sender k's next send time (0 when
 * it starts: it takes its own phase, k / n of a frame) or NULL when k is
 * not sending; send_h(k, late_ns) sends k's frame, due late_ns ago, for
 * every frame due by now + early_ns. A sender stalled over 10 frames
 * starts again from now. Then arms tfd for the next due frame (5 ms at
 * the latest).
 */
static inline void lu_pace_tick(int tfd, unsigned n, uint64_t frame_ns,
                                uint64_t early_ns,
                                uint64_t *(*due_h)(unsigned k),
                                void (*send_h)(unsigned k, uint64_t late_ns))
{
	uint64_t exp, now = lu_now_ns(), next = now + 5000000ull;

	if (read(tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
		return;
	for (unsigned k = 0; k < n; k++) {
		uint64_t *t = due_h(k);
		if (!t)
			continue;
		if (!*t)
			*t = now + (frame_ns * k) / n;
		if (now > *t + 10 * frame_ns)
			*t = now;
		while (*t <= now + early_ns) {
			send_h(k, now > *t ? now - *t : 0);
			*t += frame_ns;
		}
		if (*t < next)
			next = *t;
	}
	lu_timerfd_arm(tfd, next);
}

/* How late a pacer's sends were (send_h's late_ns): the most, and how
 * many of them were over 1 ms late. */
struct lu_late {
	uint64_t max_ns, over_1ms, sends;
};

static inline void lu_late_add(struct lu_late *l, uint64_t late_ns)
{
	l->sends++;
	if (late_ns > l->max_ns)
		l->max_ns = late_ns;
	if (late_ns > 1000000)
		l->over_1ms++;
}

/* ---- CPU ---- */

/* utime + stime of pid in clock ticks (sysconf(_SC_CLK_TCK) per second),
 * -1 if the process cannot be read. */
static inline long lu_proc_cpu_ticks(int pid)
{
	char path[64], buf[1024];
	unsigned long ut, st;
	size_t n;
	char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	           &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* The number of a "Key:" line of /proc/PID/status (e.g. "VmRSS:", in
 * kB), -1 if the process or the line cannot be read. */
static inline long lu_proc_status_kb(int pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (v < 0 && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl))
			v = strtol(line + kl, NULL, 10);
	}
	fclose(f);
	return v;
}

/* Our own user + system CPU time in seconds. */
static inline double lu_own_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* A measured window: its times, and the CPU time of a server (pid, or
 * none when 0) and of ourselves at its start and end. One owner. */
struct lu_window {
	int pid;
	uint64_t t0, t1; /* CLOCK_MONOTONIC ns; t0 0: not started */
	long srv0, srv1; /* server ticks, -1 when not read */
	double own0, own1;
};

static inline void lu_window_start(struct lu_window *w, int pid)
{
	w->pid = pid;
	w->srv0 = pid > 0 ? lu_proc_cpu_ticks(pid) : -1;
	w->own0 = lu_own_cpu_s();
	w->t0 = lu_now_ns();
}

static inline void lu_window_end(struct lu_window *w)
{
	w->t1 = lu_now_ns();
	w->srv1 = w->pid > 0 ? lu_proc_cpu_ticks(w->pid) : -1;
	w->own1 = lu_own_cpu_s();
}

/* The window's length in seconds. */
static inline double lu_window_s(const struct lu_window *w)
{
	return (double)(w->t1 - w->t0) / 1e9;
}

/* The server's CPU over the window in % of one core, -1 if unknown. */
static inline double lu_window_server_pct(const struct lu_window *w)
{
	if (w->srv0 < 0 || w->srv1 < 0 || w->t1 <= w->t0)
		return -1;
	return 100.0 * (double)(w->srv1 - w->srv0) /
	       (double)sysconf(_SC_CLK_TCK) / lu_window_s(w);
}

/* Our own CPU over the window in % of one core. */
static inline double lu_window_own_pct(const struct lu_window *w)
{
	return w->t1 > w->t0 ? 100.0 * (w->own1 - w->own0) / lu_window_s(w)
	                     : 0.0;
}

/* ---- REST ---- */

/*
 * One blocking HTTP/1.1 request to api (http://IPv4:PORT[/prefix]) +
 * path, with a bearer token and a JSON body (or NULL). Returns the status
 * code, 0 on a transport error or a 5 s stall; *bodyp gets the response
 * body (free() it) or NULL.
 */
static inline int lu_http(const char *api, const char *token,
                          const char *method, const char *path,
                          const char *body, char **bodyp)
{
	char host[128], req[2048], *resp = NULL, *hend, *cl;
	const char *prefix = strchr(api + 7, '/');
	struct timeval tv = {5, 0};
	struct sockaddr_in sin;
	size_t len = 0, cap = 0;
	unsigned port;
	int fd, status = 0, n;

	*bodyp = NULL;
	memset(&sin, 0, sizeof(sin));
	if (sscanf(api, "http://%127[^:/]:%u", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return 0;
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	n = snprintf(req, sizeof(req),
	             "%s %s%s HTTP/1.1\r\nHost: %s:%u\r\n"
	             "Authorization: Bearer %s\r\n"
	             "Content-Type: application/json\r\n"
	             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	             method, prefix ? prefix : "", path, host, port, token,
	             body ? strlen(body) : 0, body ? body : "");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || n < 0 || n >= (int)sizeof(req))
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    write(fd, req, (size_t)n) != n)
		goto out;
	for (;;) { /* until the body is complete or the server closes */
		if (len + 4097 > cap) {
			char *r = realloc(resp, cap = (cap + 4097) * 2);
			if (!r)
				goto out;
			resp = r;
		}
		ssize_t k = read(fd, resp + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
		resp[len] = '\0';
		hend = strstr(resp, "\r\n\r\n");
		cl = hend ? strcasestr(resp, "\r\nContent-Length:") : NULL;
		if (cl && cl < hend &&
		    len >= (size_t)(hend + 4 - resp) + strtoul(cl + 17, 0, 10))
			break;
	}
	if (len && sscanf(resp, "HTTP/1.%*d %d", &status) == 1) {
		hend = strstr(resp, "\r\n\r\n");
		*bodyp = strdup(hend ? hend + 4 : "");
	}
out:
	free(resp);
	if (fd >= 0)
		close(fd);
	return status;
}

/* lu_http() whose JSON answer's string field key goes to out ("" if
 * none). Returns 0 on a 2xx answer holding it; prints the failure. */
static inline int lu_http_field(const char *api, const char *token,
                                const char *method, const char *path,
                                const char *body, const char *key, char *out,
                                size_t outsz)
{
	char *resp;
	int st = lu_http(api, token, method, path, body, &resp);
	json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(j, key));

	snprintf(out, outsz, "%s", v ? v : "");
	if (st / 100 != 2 || !v)
		fprintf(stderr, "%s %s: %d %s\n", method, path, st,
		        resp ? resp : "(no answer)");
	json_decref(j);
	free(resp);
	return st / 100 == 2 && v ? 0 : -1;
}

/* Waits until conference id is progressing (its room exists: it takes
 * calls), 10 s at most. Returns 0, or -1 on a failed request or the
 * timeout. */
static inline int lu_conference_wait(const char *api, const char *token,
                                     const char *id)
{
	char path[128], status[32];

	snprintf(path, sizeof(path), "/conferences/%s", id);
	for (int i = 0; i < 200; i++) {
		if (lu_http_field(api, token, "GET", path, NULL, "status",
		                  status, sizeof(status)))
			return -1;
		if (!strcmp(status, "progressing"))
			return 0;
		usleep(50000);
	}
	return -1;
}

/* ---- intervals ---- */

#define LU_HIST_US 10     /* bucket width */
#define LU_HIST_N  100000 /* buckets: up to 1 s */

struct lu_hist {
	uint32_t bucket[LU_HIST_N];
	uint64_t n, max_ns;
};

static inline void lu_hist_add(struct lu_hist *h, uint64_t ns)
{
	uint64_t b = ns / (LU_HIST_US * 1000);
	h->bucket[b < LU_HIST_N ? b : LU_HIST_N - 1]++;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->n++;
}

/* The q quantile (0..1) in ms, to the bucket's middle. */
static inline double lu_hist_ms(const struct lu_hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->n), acc = 0;
	for (unsigned b = 0; b < LU_HIST_N; b++) {
		acc += h->bucket[b];
		if (acc && acc >= want)
			return (b + 0.5) * LU_HIST_US / 1000.0;
	}
	return h->max_ns / 1e6;
}

static inline int lu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The q quantile (0..1) of the n values v (sorts v; nearest rank), NAN
 * when n is 0. */
static inline double lu_quantile(double *v, size_t n, double q)
{
	size_t r;
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), lu_cmp_double);
	r = (size_t)ceil(q * (double)n);
	return v[r ? r - 1 : 0];
}

/* ---- RTP sequence numbers (RFC 3550 A.1, simplified) ---- */

struct lu_seq {
	bool started;
	uint32_t ssrc, cycles;
	uint16_t base, max;
	uint64_t banked;  /* expected from earlier SSRCs */
	uint64_t late;    /* duplicates and reordered packets */
	uint64_t changes; /* SSRC changes */
};

static inline void lu_seq_add(struct lu_seq *q, uint32_t ssrc, uint16_t seq)
{
	if (q->started && ssrc == q->ssrc) {
		uint16_t d = (uint16_t)(seq - q->max);
		if (!d || d >= 0x8000) {
			q->late++;
			return;
		}
		if (seq < q->max)
			q->cycles += 65536;
		q->max = seq;
		return;
	}
	if (q->started) { /* a new source: bank the old one */
		q->banked += (uint64_t)q->cycles + q->max - q->base + 1;
		q->changes++;
	}
	q->started = true;
	q->ssrc = ssrc;
	q->base = q->max = seq;
	q->cycles = 0;
}

/* Packets expected from the first and highest sequence numbers seen. */
static inline uint64_t lu_seq_expected(const struct lu_seq *q)
{
	if (!q->started)
		return q->banked;
	return q->banked + (uint64_t)q->cycles + q->max - q->base + 1;
}

/* ---- tones ---- */

/* The tone of participant i of n: 300 Hz + step * i, the step 150 Hz or
 * less so that all stay below 3.9 kHz (8 kHz codecs), and a multiple of
 * 50 Hz so that a 20 ms frame holds whole periods of every tone. */
static inline double lu_tone_freq(unsigned i, unsigned n)
{
	unsigned step = 150;
	if (n > 1 && 300 + step * (n - 1) > 3850)
		step = (3550 / (n - 1)) / 50 * 50;
	return 300.0 + (step < 50 ? 50 : step) * i;
}

/* Tone plan: products of order 2 and 3 miss every tone by this much, and
 * tones are this far apart (Hz). */
#define LU_PLAN_GAP     50.0
#define LU_PLAN_SPACING 250.0

/* f is a sum or difference of order 2 or 3 of the tones in v[0..n) (a
 * harmonic included), or within LU_PLAN_GAP Hz of one. */
static inline bool lu_plan_hit(const double *v, unsigned n, double f)
{
	for (unsigned a = 0; a < n; a++) {
		for (unsigned b = 0; b < n; b++) {
			double p2[] = {v[a] + v[b], v[a] - v[b],
			               2 * v[a] + v[b], 2 * v[a] - v[b]};
			for (unsigned k = 0; k < 4; k++)
				if (fabs(fabs(p2[k]) - f) < LU_PLAN_GAP)
					return true;
			for (unsigned c = 0; c < n; c++) {
				double p3 = v[a] + v[b] - v[c];
				if (fabs(v[a] + v[b] + v[c] - f) <
				        LU_PLAN_GAP ||
				    fabs(fabs(p3) - f) < LU_PLAN_GAP)
					return true;
			}
		}
	}
	return false;
}

/* The plan v[0..n) plus candidate f is clean: tones stay LU_PLAN_SPACING
 * apart and none lies on a product of the others' (the intermodulation of
 * a coded mix lands on such products: with tones on a 150 Hz grid,
 * 300 + 450 = 750 and 2 x 600 - 450 = 750 read as a talker's own tone). */
static inline bool lu_plan_ok(double *v, unsigned n, double f)
{
	for (unsigned i = 0; i < n; i++)
		if (fabs(v[i] - f) < LU_PLAN_SPACING)
			return false;
	v[n] = f;
	for (unsigned i = 0; i <= n; i++) {
		double keep = v[i];
		v[i] = v[n]; /* the set without tone i */
		bool hit = lu_plan_hit(v, n, keep);
		v[i] = keep;
		if (hit)
			return false;
	}
	return true;
}

/*
 * The n tones (the talkers', then the burst's): the lowest frequencies on
 * the 50 Hz grid from 300 Hz (whole periods in a 20 ms frame, so that
 * the per-packet Goertzel filters do not see each other) such that no
 * tone is within LU_PLAN_GAP of a sum or difference of order 2 or 3 of the
 * tones (harmonics included) and tones are LU_PLAN_SPACING apart (a coded
 * tone leaks into its neighbours), up to 3400 Hz (8 kHz codecs): 300, 550,
 * 950, 1300, 1750, 2650 Hz. More tones than that (over 5 talkers): the old
 * even grid (lu_tone_freq), intermodulation and all.
 */
static inline void lu_tone_plan(double *freq, unsigned n)
{
	unsigned k = 0;
	for (double f = 300; k < n && f <= 3400; f += 50)
		if (lu_plan_ok(freq, k, f))
			freq[k++] = f;
	if (k == n)
		return;
	fprintf(stderr,
	        "%u tones do not fit an "
	        "intermodulation-free plan: an even grid\n",
	        n);
	for (k = 0; k < n; k++)
		freq[k] = lu_tone_freq(k, n);
}

/* n samples of amp * sin(2 pi freq t), from phase 0. */
static inline void lu_tone(int16_t *pcm, unsigned n, double freq,
                           unsigned srate, double amp)
{
	double w = 2 * M_PI * freq / srate;
	for (unsigned i = 0; i < n; i++)
		pcm[i] = (int16_t)lrint(amp * sin(w * i));
}

/* The Goertzel coefficient 2 cos(2 pi freq / srate). */
static inline double lu_goertzel_coeff(double freq, unsigned srate)
{
	return 2 * cos(2 * M_PI * freq / srate);
}

/* Squared amplitude (full scale 1.0) of the coeff's tone in n samples;
 * exact when the block holds whole periods of it. */
static inline double lu_goertzel(const int16_t *pcm, unsigned n, double c)
{
	double s0, s1 = 0, s2 = 0;
	for (unsigned i = 0; i < n; i++) {
		s0 = pcm[i] / 32768.0 + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return 4.0 * (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}

/* 10 log10 of a squared amplitude: dBFS, floored at -120. */
static inline double lu_db(double a2)
{
	return a2 > 1e-12 ? 10 * log10(a2) : -120.0;
}

/* ---- the onset of a tone burst ---- */

#define LU_ONSET_HIST  8 /* packets remembered */
#define LU_ONSET_FULL  3 /* packets after the onset that give the full level */
#define LU_ONSET_QUIET 5 /* packets under the threshold that end a burst */

/*
 * Finds where tone bursts start in a stream of received packets, from
 * one Goertzel level (squared amplitude) per packet of frame_ns and the
 * packet's arrival time. The first packet at or over the threshold opens
 * a burst; LU_ONSET_FULL packets later the burst's full level is the
 * highest of those, and the onset is placed inside the packets by the
 * share of the tone they hold: a tone that fills the last fraction f of a
 * block gives a Goertzel amplitude f times the full one, so f =
 * sqrt(level / full). onset = arrival of the opening packet + frame_ns *
 * (1 - f(opening) - f(the packet before)): a burst that began late in the
 * packet before, under the threshold, moves the onset back into it.
 * LU_ONSET_QUIET packets under the threshold end the burst.
 *
 * One per receiver and tone; zero it to start. Owned by the receiving
 * thread.
 */
struct lu_onset {
	double lvl[LU_ONSET_HIST];
	uint64_t t[LU_ONSET_HIST];
	uint64_t n;     /* packets seen */
	uint64_t open;  /* packet number of the opening packet */
	bool in_burst;  /* between an opening and the quiet that ends it */
	bool pending;   /* the opening's onset is not computed yet */
	unsigned quiet; /* packets under the threshold in a row */
};

/* Adds one packet: level at arrival time t (ns). Returns true and sets
 * *onset (ns, the clock of t) when a burst's onset is known. */
static inline bool lu_onset_add(struct lu_onset *o, double level, uint64_t t,
                                double thr, uint64_t frame_ns, uint64_t *onset)
{
	uint64_t k = o->n++;
	bool done = false;

	o->lvl[k % LU_ONSET_HIST] = level;
	o->t[k % LU_ONSET_HIST] = t;
	if (!o->in_burst && level >= thr) {
		o->in_burst = o->pending = true;
		o->open = k;
		o->quiet = 0;
	} else if (o->in_burst) {
		o->quiet = level < thr ? o->quiet + 1 : 0;
		if (o->quiet >= LU_ONSET_QUIET)
			o->in_burst = false;
	}
	if (o->pending && k == o->open + LU_ONSET_FULL) {
		double full = 0, f0, f1 = 0;
		for (uint64_t j = o->open + 1; j <= k; j++)
			full = fmax(full, o->lvl[j % LU_ONSET_HIST]);
		f0 = sqrt(fmin(1.0, o->lvl[o->open % LU_ONSET_HIST] / full));
		if (o->open > 0)
			f1 = sqrt(fmin(
			    1.0, o->lvl[(o->open - 1) % LU_ONSET_HIST] / full));
		*onset = o->t[o->open % LU_ONSET_HIST] +
		         (uint64_t)llround((double)frame_ns * (1.0 - f0)) -
		         (uint64_t)llround((double)frame_ns * f1);
		o->pending = false;
		done = true;
	}
	return done;
}

/* ---- UDP with receive times ---- */

/* A non-blocking UDP socket bound to ip:0 that timestamps what it
 * receives; *port gets the bound port. Returns the fd or -1. */
static inline int lu_udp_open(const char *ip, uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int on = 1, rcvbuf = 256 * 1024;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (fd < 0 || inet_pton(AF_INET, ip, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Reads one datagram; *t_ns gets the kernel's receive time (or now) on
 * CLOCK_REALTIME. Returns its length, or -1 when none is queued. */
static inline ssize_t lu_udp_recv(int fd, uint8_t *buf, size_t size,
                                  uint64_t *t_ns)
{
	union {
		char b[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, size};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.b,
	                    .msg_controllen = sizeof(ctl.b)};
	struct timespec ts;
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	if (n < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS)
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
	}
	*t_ns = lu_ts_ns(&ts);
	return n;
}

/* Reads what is queued on the non-blocking fd, 64 datagrams at most,
 * into h(buf, length, kernel receive time in ns, arg). */
static inline void
lu_udp_drain(int fd, void (*h)(uint8_t *buf, size_t n, uint64_t t, void *arg),
             void *arg)
{
	uint8_t buf[2048];
	uint64_t t;
	for (int i = 0; i < 64; i++) {
		ssize_t n = lu_udp_recv(fd, buf, sizeof(buf), &t);
		if (n < 0)
			break;
		h(buf, (size_t)n, t, arg);
	}
}

#endif
