/*
 * player.c: the player service (see player.h): URLs, text and beeps made
 * into decoded clips on the service's own threads.
 *
 * Design: ch_player_submit copies the request into a job and appends it to
 * a queue (mutex + condition variable) that a small pool of threads takes
 * jobs from. A thread runs the job (fetch with libcurl or read below the
 * media folder, espeak-ng through tts.c, audio_decode.c), stores the result
 * in the job and moves the job to the outbox; the first job put into an
 * empty outbox pushes one message onto a libre mqueue, whose handler, on
 * the control thread, drains the outbox and calls the done handler.
 *
 * Cancel: the control thread keeps every job not yet delivered on a list
 * of its own, to find it by id. A job still queued is taken out and freed;
 * a running one is marked (a transfer in progress sees the mark and stops)
 * and freed with its result when it reaches the control thread. Free: the
 * threads are told to stop and joined (a transfer stops at once; a decode
 * or an espeak-ng run ends first), and every job left is freed, its
 * result undelivered.
 *
 * Errors given to the done handler: ETIMEDOUT (a fetch took longer than
 * its timeout), EFBIG (above max_bytes), EIO (HTTP status >= 400, no
 * connection, espeak-ng failed), EINVAL (a URL refused at fetch time, a
 * file that is not playable audio), ENOMEM.
 */
#include "services/player.h"

#include "media/pcm.h"
#include "services/audio_decode.h"
#include "services/tts.h"
#include "util/curlglobal.h"
#include "util/fsdir.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include <re_types.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_mqueue.h>

#define PLAYER_DEF_MAX_BYTES  (50u * 1024 * 1024)
#define PLAYER_DEF_CONNECT_MS 5000u
#define PLAYER_DEF_TOTAL_MS   30000u
#define PLAYER_DEF_SECONDS    600u
#define PLAYER_DEF_THREADS    2u
#define PLAYER_MAX_THREADS    16u
#define PLAYER_MAX_URLS       64u
#define PLAYER_URL_MAX        2048u
#define PLAYER_WHY_LEN        (PLAYER_URL_MAX + 128)
#define PLAYER_MAX_REDIRS     5L

/* Beep: 1000 Hz for 250 ms at -12 dBFS, 5 ms fades. */
#define BEEP_HZ      1000.0
#define BEEP_MS      250u
#define BEEP_DBFS    -12.0
#define BEEP_FADE_MS 5u

enum job_state {
	JOB_QUEUED = 0, /* on p->queue */
	JOB_RUNNING,    /* held by a service thread */
	JOB_DONE,       /* on p->outbox or being delivered */
};

/*
 * One job. Created on the control thread; on p->queue (lock), then owned
 * by the thread that runs it, then on p->outbox (lock), then delivered and
 * freed on the control thread. le_ctl keeps it on p->jobs (control thread
 * only) from submit to delivery or cancel.
 */
struct player_job {
	struct le le;     /* p->queue or p->outbox (lock) */
	struct le le_ctl; /* p->jobs (control thread) */
	uint64_t id;
	enum ch_player_kind kind;
	char **urls;
	size_t nurls;
	char *text;
	char *language;
	enum job_state state;  /* lock */
	atomic_bool cancelled; /* set by the control thread */

	/* Result, written by the service thread before JOB_DONE. */
	int err;
	char why[PLAYER_WHY_LEN];
	struct ch_pcm *pcm;
};

/*
 * The service. Allocated and freed on the control thread. cfg fields are
 * read-only after alloc; jobs/next_id/delivering/freeing belong to the
 * control thread; the rest is guarded by lock.
 */
struct ch_player {
	struct ch_player_config cfg; /* strings owned (copies) */
	ch_player_done_h *h;
	void *arg;
	struct mqueue *mq;
	pthread_t *threads;
	unsigned nthreads; /* started */

	struct list jobs; /* control thread: undelivered jobs */
	uint64_t next_id;
	bool delivering; /* in the done handler loop */
	bool freeing;    /* ch_player_free called from the done handler */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct list queue;  /* lock: JOB_QUEUED jobs, oldest first */
	struct list outbox; /* lock: JOB_DONE jobs not yet delivered */
	bool wake_pending;  /* lock: an mqueue message is on its way */
	atomic_bool stop;   /* threads must exit */
};

/* A byte buffer of a fetched file, at most max bytes. */
struct fetch_buf {
	unsigned char *buf;
	size_t len;
	size_t size;
	size_t max;
	bool too_big;
};

/* Running context of a job on a service thread. */
struct job_ctx {
	struct ch_player *p;
	struct player_job *job;
};

static void job_free(struct player_job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nurls; i++)
		free(j->urls[i]);
	free(j->urls);
	free(j->text);
	free(j->language);
	ch_pcm_free(j->pcm);
	free(j);
}

static void job_fail(struct player_job *j, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void job_fail(struct player_job *j, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	j->err = err;
}

/* ---- URL checks ---------------------------------------------------- */

static bool url_has_prefix(const char *url, const char *scheme)
{
	return !strncasecmp(url, scheme, strlen(scheme));
}

/*
 * Resolves a file:// URL below media_dir into resolved (PATH_MAX). 0 or
 * EINVAL with *why.
 */
static int url_file_path(const char *media_dir, const char *url,
                         char resolved[PATH_MAX], const char **why)
{
	char root[PATH_MAX];
	CURLU *u = NULL;
	char *host = NULL, *path = NULL;
	size_t rl;
	int err = EINVAL;

	if (!media_dir || !*media_dir) {
		*why = "file:// URLs are not enabled on this server";
		return EINVAL;
	}
	if (strcasestr(url, "%00")) {
		*why = "malformed URL";
		return EINVAL;
	}
	u = curl_url();
	if (!u) {
		*why = "out of memory";
		return ENOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_PATH_AS_IS) ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE)) {
		*why = "malformed URL";
		goto out;
	}
	if (!curl_url_get(u, CURLUPART_HOST, &host, 0) && *host &&
	    strcasecmp(host, "localhost")) {
		*why = "file:// URLs must name a local file";
		goto out;
	}
	if (!realpath(media_dir, root)) {
		*why = "the media folder is missing";
		goto out;
	}
	if (!realpath(path, resolved)) {
		*why = "file not found";
		goto out;
	}
	rl = strlen(root);
	if (rl > 0 && root[rl - 1] == '/')
		rl--; /* root is "/" */
	if (strncmp(resolved, root, rl) || resolved[rl] != '/') {
		*why = "file is outside the media folder";
		goto out;
	}
	err = 0;
out:
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(u);
	return err;
}

/* An http(s) URL with a host and no user name or password. */
static int url_http_check(const char *url, const char **why)
{
	const char *auth = strstr(url, "://") + 3; /* the scheme is checked */
	CURLU *u = curl_url();
	char *host = NULL, *user = NULL, *pass = NULL;
	int err = EINVAL;

	if (!u) {
		*why = "out of memory";
		return ENOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0)) {
		*why = "malformed URL";
		goto out;
	}
	/* curl reads "http:///x" as host x: the authority must be there. */
	if (strchr("/?#", auth[0]) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) || !*host) {
		*why = "URL has no host";
		goto out;
	}
	if (!curl_url_get(u, CURLUPART_USER, &user, 0) ||
	    !curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) ||
	    strchr(host, '@')) {
		*why = "URL must not carry a user name or password";
		goto out;
	}
	err = 0;
out:
	curl_free(host);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return err;
}

int ch_player_url_check(const char *media_dir, const char *url,
                        const char **why)
{
	static const char *why_none;
	char resolved[PATH_MAX];
	size_t len;

	if (!why)
		why = &why_none;
	*why = "";
	if (!url || !*url) {
		*why = "missing URL";
		return EINVAL;
	}
	len = strnlen(url, PLAYER_URL_MAX + 1);
	if (len > PLAYER_URL_MAX) {
		*why = "URL longer than 2048 bytes";
		return EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= ' ' || c == 0x7f) {
			*why = "URL has spaces or control characters";
			return EINVAL;
		}
	}
	if (url_has_prefix(url, "http://") || url_has_prefix(url, "https://"))
		return url_http_check(url, why);
	if (url_has_prefix(url, "file://"))
		return url_file_path(media_dir, url, resolved, why);
	*why = "scheme must be http, https or file";
	return EINVAL;
}

/* ---- fetching -------------------------------------------------------- */

static size_t fetch_write_h(char *data, size_t size, size_t n, void *arg)
{
	struct fetch_buf *fb = arg;
	size_t add = size * n;

	if (add > fb->max - fb->len) {
		fb->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (fb->len + add > fb->size) {
		size_t ns = fb->size ? fb->size : 64 * 1024;
		unsigned char *nb;

		while (ns < fb->len + add)
			ns *= 2;
		if (ns > fb->max)
			ns = fb->max;
		nb = realloc(fb->buf, ns);
		if (!nb)
			return 0;
		fb->buf = nb;
		fb->size = ns;
	}
	memcpy(fb->buf + fb->len, data, add);
	fb->len += add;
	return add;
}

static int fetch_progress_h(void *arg, curl_off_t dlt, curl_off_t dln,
                            curl_off_t ult, curl_off_t uln)
{
	struct job_ctx *ctx = arg;

	(void)dlt;
	(void)dln;
	(void)ult;
	(void)uln;
	return atomic_load(&ctx->job->cancelled) || atomic_load(&ctx->p->stop);
}

/* Sets the job's error from a failed transfer. */
static void fetch_error(struct player_job *j, const struct fetch_buf *fb,
                        CURLcode rc, const char *url)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		job_fail(j, ETIMEDOUT, "timed out fetching %s", url);
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (rc == CURLE_FILESIZE_EXCEEDED || fb->too_big)
			job_fail(j, EFBIG, "file larger than %zu bytes: %s",
			         fb->max, url);
		else
			job_fail(j, ENOMEM, "out of memory fetching %s", url);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		job_fail(j, EIO, "unknown host in %s", url);
		break;
	case CURLE_COULDNT_CONNECT:
		job_fail(j, EIO, "could not connect for %s", url);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		job_fail(j, ECANCELED, "cancelled");
		break;
	default:
		job_fail(j, EIO, "fetching %s failed: %s", url,
		         curl_easy_strerror(rc));
		break;
	}
}

static int fetch_http(struct job_ctx *ctx, const char *url,
                      struct fetch_buf *fb)
{
	const struct ch_player_config *cfg = &ctx->p->cfg;
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode rc;

	if (!c) {
		job_fail(ctx->job, ENOMEM, "out of memory");
		return ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, PLAYER_MAX_REDIRS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)cfg->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->total_timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)fb->max);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write_h);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, fb);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, fetch_progress_h);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, ctx);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "chorusd");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		fetch_error(ctx->job, fb, rc, url);
		return ctx->job->err;
	}
	if (status < 200 || status >= 300) {
		job_fail(ctx->job, EIO, "HTTP %ld for %s", status, url);
		return EIO;
	}
	return 0;
}

/* Reads the regular file at path (at most fb->max bytes). */
static int fetch_path(struct player_job *j, const char *path, const char *root,
                      struct fetch_buf *fb, const char *url)
{
	char proc[64], real[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int err = 0;

	if (fd < 0) {
		job_fail(j, EINVAL, "cannot open %s: %s", url, strerror(errno));
		return EINVAL;
	}
	/* What was opened is still below the root (no swap since the check). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = root ? readlink(proc, real, sizeof(real) - 1) : 0;
	if (root) {
		size_t rl = strlen(root);

		real[n > 0 ? n : 0] = '\0';
		if (n <= 0 || strncmp(real, root, rl) || real[rl] != '/') {
			job_fail(j, EINVAL, "file is outside the media folder");
			err = EINVAL;
			goto out;
		}
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		job_fail(j, EINVAL, "not a regular file: %s", url);
		err = EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > fb->max) {
		job_fail(j, EFBIG, "file larger than %zu bytes: %s", fb->max,
		         url);
		err = EFBIG;
		goto out;
	}
	fb->size = st.st_size ? (size_t)st.st_size : 1;
	fb->buf = malloc(fb->size);
	if (!fb->buf) {
		job_fail(j, ENOMEM, "out of memory");
		err = ENOMEM;
		goto out;
	}
	while (fb->len < fb->size) {
		n = read(fd, fb->buf + fb->len, fb->size - fb->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			job_fail(j, EIO, "cannot read %s: %s", url,
			         strerror(errno));
			err = EIO;
			goto out;
		}
		if (n == 0)
			break;
		fb->len += (size_t)n;
	}
out:
	close(fd);
	return err;
}

static int fetch_file(struct job_ctx *ctx, const char *url,
                      struct fetch_buf *fb)
{
	char resolved[PATH_MAX], root[PATH_MAX];
	const char *why = "";
	int err = url_file_path(ctx->p->cfg.media_dir, url, resolved, &why);

	if (err) {
		job_fail(ctx->job, err, "%s: %s", why, url);
		return err;
	}
	if (!realpath(ctx->p->cfg.media_dir, root)) {
		job_fail(ctx->job, EINVAL, "the media folder is missing");
		return EINVAL;
	}
	if (!strcmp(root, "/"))
		root[0] = '\0';
	return fetch_path(ctx->job, resolved, root, fb, url);
}

/* Decodes fb into *out, at most seconds long; sets the job's error. */
static int decode_buf(struct player_job *j, const struct fetch_buf *fb,
                      unsigned seconds, const char *what, struct ch_pcm **out)
{
	const char *why = "";
	int err = ch_audio_decode(fb->buf, fb->len, seconds, out, &why);

	if (err)
		job_fail(j, err, "%s: %s", why, what);
	return err;
}

/* ---- jobs -------------------------------------------------------------- */

/* One clip of clips[0..n) one after the other, at most max_frames. */
static struct ch_pcm *clip_concat(struct ch_pcm **clips, size_t n,
                                  uint32_t max_frames)
{
	uint64_t total = 0;
	uint32_t at = 0;
	struct ch_pcm *out;

	for (size_t i = 0; i < n; i++)
		total += clips[i]->frames;
	if (total > max_frames)
		total = max_frames;
	out = ch_pcm_alloc((uint32_t)total);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n && at < total; i++) {
		uint32_t f = clips[i]->frames;

		if (f > total - at)
			f = (uint32_t)(total - at);
		memcpy(out->r8k + (size_t)at * 160, clips[i]->r8k,
		       (size_t)f * 160 * sizeof(int16_t));
		memcpy(out->r16k + (size_t)at * 320, clips[i]->r16k,
		       (size_t)f * 320 * sizeof(int16_t));
		memcpy(out->r48k + (size_t)at * 960, clips[i]->r48k,
		       (size_t)f * 960 * sizeof(int16_t));
		at += f;
	}
	return out;
}

static int run_urls(struct job_ctx *ctx)
{
	struct player_job *j = ctx->job;
	const struct ch_player_config *cfg = &ctx->p->cfg;
	uint32_t max_frames = cfg->max_seconds * 50, used = 0;
	struct ch_pcm **clips = calloc(j->nurls, sizeof(*clips));
	size_t n = 0;
	int err = 0;

	if (!clips) {
		job_fail(j, ENOMEM, "out of memory");
		return ENOMEM;
	}
	for (size_t i = 0; i < j->nurls && used < max_frames; i++) {
		struct fetch_buf fb = {.max = cfg->max_bytes};
		const char *url = j->urls[i];
		unsigned left = (max_frames - used + 49) / 50;

		if (url_has_prefix(url, "file://"))
			err = fetch_file(ctx, url, &fb);
		else
			err = fetch_http(ctx, url, &fb);
		if (!err)
			err = decode_buf(j, &fb, left, url, &clips[n]);
		free(fb.buf);
		if (err)
			break;
		used += clips[n++]->frames;
	}
	if (!err) {
		if (n == 1) { /* the usual case: no copy */
			j->pcm = clips[0];
			clips[0] = NULL;
		} else {
			j->pcm = clip_concat(clips, n, max_frames);
		}
		if (!j->pcm) {
			job_fail(j, ENOMEM, "out of memory");
			err = ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++)
		ch_pcm_free(clips[i]);
	free(clips);
	return err;
}

static int run_talk(struct job_ctx *ctx)
{
	struct player_job *j = ctx->job;
	const struct ch_player_config *cfg = &ctx->p->cfg;
	struct fetch_buf fb = {.max = cfg->max_bytes};
	char path[PATH_MAX];
	int err;

	err = ch_tts_render(cfg->cache_dir, j->language, j->text, path,
	                    sizeof(path));
	if (err) {
		job_fail(j, err, "speech synthesis failed for %s", j->language);
		return err;
	}
	err = fetch_path(j, path, NULL, &fb, "speech");
	if (!err)
		err = decode_buf(j, &fb, cfg->max_seconds, "speech", &j->pcm);
	free(fb.buf);
	return err;
}

/* Fills n samples at rate with the beep. */
static void beep_fill(int16_t *x, size_t n, uint32_t rate)
{
	double amp = 32767.0 * pow(10.0, BEEP_DBFS / 20.0);
	size_t len = (size_t)rate * BEEP_MS / 1000;
	size_t fade = (size_t)rate * BEEP_FADE_MS / 1000;

	for (size_t i = 0; i < len && i < n; i++) {
		double g = 1.0;

		if (i < fade)
			g = (double)i / (double)fade;
		else if (len - i < fade)
			g = (double)(len - i) / (double)fade;
		x[i] = (int16_t)lrint(
		    g * amp *
		    sin(2 * M_PI * BEEP_HZ * (double)i / (double)rate));
	}
}

static int run_beep(struct player_job *j)
{
	uint32_t frames = (BEEP_MS + 19) / 20;

	j->pcm = ch_pcm_alloc(frames);
	if (!j->pcm) {
		job_fail(j, ENOMEM, "out of memory");
		return ENOMEM;
	}
	beep_fill(j->pcm->r8k, (size_t)frames * 160, 8000);
	beep_fill(j->pcm->r16k, (size_t)frames * 320, 16000);
	beep_fill(j->pcm->r48k, (size_t)frames * 960, 48000);
	return 0;
}

static void job_run(struct ch_player *p, struct player_job *j)
{
	struct job_ctx ctx = {.p = p, .job = j};

	if (atomic_load(&j->cancelled) || atomic_load(&p->stop)) {
		job_fail(j, ECANCELED, "cancelled");
		return;
	}
	switch (j->kind) {
	case CH_PLAYER_URLS:
		(void)run_urls(&ctx);
		break;
	case CH_PLAYER_TALK:
		(void)run_talk(&ctx);
		break;
	case CH_PLAYER_BEEP:
		(void)run_beep(j);
		break;
	default:
		job_fail(j, EINVAL, "unknown job");
		break;
	}
	if (j->err) {
		ch_pcm_free(j->pcm);
		j->pcm = NULL;
		if (j->err != ECANCELED)
			ch_log_warn("player", "job %" PRIu64 " failed: %s",
			            j->id, j->why);
	}
}

static void *player_thread(void *arg)
{
	struct ch_player *p = arg;

	for (;;) {
		struct player_job *j = NULL;
		bool wake;

		pthread_mutex_lock(&p->lock);
		while (!atomic_load(&p->stop) && !p->queue.head)
			pthread_cond_wait(&p->cond, &p->lock);
		if (atomic_load(&p->stop)) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		j = p->queue.head->data;
		list_unlink(&j->le);
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&p->lock);

		job_run(p, j);

		pthread_mutex_lock(&p->lock);
		j->state = JOB_DONE;
		list_append(&p->outbox, &j->le, j);
		wake = !p->wake_pending;
		p->wake_pending = true;
		pthread_mutex_unlock(&p->lock);
		if (wake && mqueue_push(p->mq, 0, NULL)) {
			ch_log_error("player",
			             "cannot wake the control thread");
			/* the next finished job tries again */
			pthread_mutex_lock(&p->lock);
			p->wake_pending = false;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

/* ---- control thread -------------------------------------------------- */

static void player_destroy(struct ch_player *p);

/* Delivers every finished job (mqueue handler, control thread). */
static void player_mqueue_h(int id, void *data, void *arg)
{
	struct ch_player *p = arg;

	(void)id;
	(void)data;
	pthread_mutex_lock(&p->lock);
	p->wake_pending = false;
	pthread_mutex_unlock(&p->lock);

	p->delivering = true;
	for (;;) {
		struct player_job *j = NULL;

		pthread_mutex_lock(&p->lock);
		if (p->outbox.head) {
			j = p->outbox.head->data;
			list_unlink(&j->le);
		}
		pthread_mutex_unlock(&p->lock);
		if (!j)
			break;
		list_unlink(&j->le_ctl);
		if (!atomic_load(&j->cancelled) && !p->freeing) {
			struct ch_pcm *pcm = j->err ? NULL : j->pcm;

			j->pcm = NULL;
			p->h(p->arg, j->id, j->err, j->err ? j->why : "", pcm);
		}
		job_free(j);
	}
	p->delivering = false;
	if (p->freeing)
		player_destroy(p);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

int ch_player_alloc(struct ch_player **pp, const struct ch_player_config *cfg,
                    ch_player_done_h *h, void *arg)
{
	struct ch_player *p;
	int err;

	if (!pp || !cfg || !h)
		return EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	p->cfg = *cfg;
	p->cfg.media_dir = dup_or_null(cfg->media_dir);
	p->cfg.cache_dir = dup_or_null(cfg->cache_dir);
	if (!p->cfg.max_bytes)
		p->cfg.max_bytes = PLAYER_DEF_MAX_BYTES;
	if (!p->cfg.connect_timeout_ms)
		p->cfg.connect_timeout_ms = PLAYER_DEF_CONNECT_MS;
	if (!p->cfg.total_timeout_ms)
		p->cfg.total_timeout_ms = PLAYER_DEF_TOTAL_MS;
	if (!p->cfg.max_seconds || p->cfg.max_seconds > 24 * 3600)
		p->cfg.max_seconds = PLAYER_DEF_SECONDS;
	if (!p->cfg.threads)
		p->cfg.threads = PLAYER_DEF_THREADS;
	if (p->cfg.threads > PLAYER_MAX_THREADS)
		p->cfg.threads = PLAYER_MAX_THREADS;
	p->h = h;
	p->arg = arg;
	p->next_id = 1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if ((cfg->media_dir && *cfg->media_dir && !p->cfg.media_dir) ||
	    (cfg->cache_dir && *cfg->cache_dir && !p->cfg.cache_dir)) {
		err = ENOMEM;
		goto out;
	}
	if (p->cfg.cache_dir) {
		err = ch_fsdir_make(p->cfg.cache_dir, 0700);
		if (err) {
			ch_log_error("player", "cannot make %s: %s",
			             p->cfg.cache_dir, strerror(err));
			goto out;
		}
	}
	err = ch_curlglobal_init();
	if (err)
		goto out;
	err = mqueue_alloc(&p->mq, player_mqueue_h, p);
	if (err)
		goto out;
	p->threads = calloc(p->cfg.threads, sizeof(*p->threads));
	if (!p->threads) {
		err = ENOMEM;
		goto out;
	}
	for (; p->nthreads < p->cfg.threads; p->nthreads++) {
		err = pthread_create(&p->threads[p->nthreads], NULL,
		                     player_thread, p);
		if (err)
			goto out;
	}
	*pp = p;
	return 0;
out:
	player_destroy(p);
	return err;
}

/* Frees the jobs of a list (lock held or threads gone). */
static void jobs_free(struct list *l)
{
	struct le *le;

	while ((le = l->head) != NULL) {
		struct player_job *j = le->data;

		list_unlink(le);
		job_free(j);
	}
}

static void player_destroy(struct ch_player *p)
{
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->stop, true);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	list_clear(&p->jobs);
	jobs_free(&p->queue);
	jobs_free(&p->outbox);
	p->mq = mem_deref(p->mq);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free((char *)p->cfg.media_dir);
	free((char *)p->cfg.cache_dir);
	free(p);
}

void ch_player_free(struct ch_player *p)
{
	if (!p || p->freeing)
		return;
	if (p->delivering) {
		/* From the done handler: the delivery loop frees p. */
		p->freeing = true;
		return;
	}
	player_destroy(p);
}

/* Checks and copies req into a new job. */
static int job_make(struct ch_player *p, const struct ch_player_req *req,
                    struct player_job **jp)
{
	struct player_job *j;
	const char *why;

	switch (req->kind) {
	case CH_PLAYER_URLS:
		if (!req->urls || !req->nurls || req->nurls > PLAYER_MAX_URLS)
			return EINVAL;
		for (size_t i = 0; i < req->nurls; i++)
			if (ch_player_url_check(p->cfg.media_dir, req->urls[i],
			                        &why))
				return EINVAL;
		break;
	case CH_PLAYER_TALK:
		if (!p->cfg.cache_dir || !ch_tts_voice(req->language) ||
		    !req->text || !*req->text ||
		    strlen(req->text) > CH_TTS_MAX_TEXT)
			return EINVAL;
		break;
	case CH_PLAYER_BEEP:
		break;
	default:
		return EINVAL;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	j->kind = req->kind;
	if (req->kind == CH_PLAYER_URLS) {
		j->urls = calloc(req->nurls, sizeof(*j->urls));
		if (!j->urls)
			goto nomem;
		for (; j->nurls < req->nurls; j->nurls++) {
			j->urls[j->nurls] = strdup(req->urls[j->nurls]);
			if (!j->urls[j->nurls])
				goto nomem;
		}
	} else if (req->kind == CH_PLAYER_TALK) {
		j->text = strdup(req->text);
		j->language = strdup(req->language);
		if (!j->text || !j->language)
			goto nomem;
	}
	*jp = j;
	return 0;
nomem:
	job_free(j);
	return ENOMEM;
}

int ch_player_submit(struct ch_player *p, const struct ch_player_req *req,
                     uint64_t *job)
{
	struct player_job *j = NULL;
	int err;

	if (!p || !req || !job || p->freeing)
		return EINVAL;
	err = job_make(p, req, &j);
	if (err)
		return err;
	j->id = p->next_id++;
	list_append(&p->jobs, &j->le_ctl, j);
	pthread_mutex_lock(&p->lock);
	j->state = JOB_QUEUED;
	list_append(&p->queue, &j->le, j);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	*job = j->id;
	return 0;
}

void ch_player_cancel(struct ch_player *p, uint64_t job)
{
	struct le *le;

	if (!p)
		return;
	for (le = p->jobs.head; le; le = le->next) {
		struct player_job *j = le->data;

		if (j->id != job)
			continue;
		list_unlink(&j->le_ctl);
		atomic_store(&j->cancelled, true);
		pthread_mutex_lock(&p->lock);
		if (j->state == JOB_QUEUED) {
			list_unlink(&j->le);
			pthread_mutex_unlock(&p->lock);
			job_free(j);
			return;
		}
		pthread_mutex_unlock(&p->lock);
		return;
	}
}
