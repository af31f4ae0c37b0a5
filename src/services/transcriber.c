/*
 * transcriber.c: the transcription service (see transcriber.h): a reader
 * thread that drains the transcriber taps and cuts utterances, a pool of
 * decoder threads that recognise them, and the hand-over of results to
 * the control thread.
 */
#include "services/transcriber.h"
#include "media/tap.h"
#include "services/segmenter.h"
#include "util/log.h"
#include "util/monocond.h"
#include "util/timefmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <re_types.h>
#include <re_list.h>
#include <re_mem.h>
#include <re_mqueue.h>

#define LOG_MOD             "transcriber"
#define TICK_MS             20
#define TAP_RING            (4u << 20) /* bytes: about 1 s of 100 Opus legs */
#define TAP_BUF             (1u << 20) /* the biggest tick record taken */
#define GAP_FILL_TICKS      50         /* a longer gap just ends utterances */
#define STREAM_IDLE_TICKS   250        /* an absent, quiet stream is freed */
#define DECODERS_PER_THREAD 4          /* (engine, language) pairs cached */

/* One participant's stream of a transcription: reader thread only. */
struct stream {
	struct le le;
	uint32_t leg;
	uint64_t last_seq; /* the last tick it had audio in */
	struct ch_segmenter seg;
};

/*
 * One transcription. Made by the control thread (start), owned by the
 * reader from then on; the fields marked "lock" are shared with the
 * control thread (finishing) and the decoders (the counts), under
 * t->lock. The reader frees it once done is posted.
 */
struct job {
	struct le le; /* reader: jobs; before: the newjobs queue */
	char id[CH_UUID_LEN];
	enum ch_stt_kind kind;
	char lang[24];
	struct ch_media_tap *tap;
	/* reader */
	struct list streams;
	uint64_t next_seq;
	bool flushed;
	/* lock */
	bool finishing;
	bool drained;
	bool done_posted;
	unsigned pending; /* utterances queued or being recognised */
	uint64_t segments, dropped_ms;
};

/* An utterance waiting for a decoder; pcm owned. */
struct work {
	struct le le;
	struct job *job;
	uint32_t leg;
	int64_t start_ms, end_ms;
	int16_t *pcm;
	size_t n;
};

/* A result waiting for the control thread; text owned. */
struct res {
	struct le le;
	bool done;
	char id[CH_UUID_LEN];
	uint32_t leg;
	int64_t start_ms, end_ms;
	char *text;
	uint64_t segments, dropped_ms;
};

/* A transcription the control thread started and has not seen done. */
struct ctl_id {
	struct le le;
	char id[CH_UUID_LEN];
	struct job *job; /* only to set finishing, under the lock */
	bool finishing;
};

struct ch_transcriber {
	/* set by alloc, read-only after */
	struct ch_stt_engine *eng[2];
	ch_transcriber_seg_h *sh;
	ch_transcriber_done_h *dh;
	void *arg;
	struct mqueue *mq;
	unsigned ndec;

	/* control thread */
	struct list ids;
	pthread_t reader;
	pthread_t *dec;
	unsigned nrunning; /* threads started: reader first */
	bool closed;
	bool sync_ready;

	/* lock */
	pthread_mutex_t lock;
	pthread_cond_t rcond; /* the reader's tick */
	pthread_cond_t wcond; /* work for the decoders */
	struct list newjobs;
	struct list work;
	size_t queued; /* samples in work */
	struct list results;
	bool wake_pending;
	bool stop;

	/* reader thread */
	struct list jobs;
	uint8_t *buf;

	/* any thread (relaxed): audio dropped by every transcription so far,
	 * ms (ch_transcriber_dropped_ms) */
	_Atomic uint64_t dropped_total_ms;
};

static void drop_count(struct ch_transcriber *t, uint64_t ms)
{
	atomic_fetch_add_explicit(&t->dropped_total_ms, ms,
	                          memory_order_relaxed);
}

uint64_t ch_transcriber_dropped_ms(const struct ch_transcriber *t)
{
	return t ? atomic_load_explicit(&t->dropped_total_ms,
	                                memory_order_relaxed)
	         : 0;
}

/* ---- results to the control thread ---- */

/* Under the lock: queues s; whether the control thread must be woken. */
static bool result_add_locked(struct ch_transcriber *t, struct res *s)
{
	list_append(&t->results, &s->le, s);
	bool push = !t->wake_pending;
	t->wake_pending = true;
	return push;
}

static void wake(struct ch_transcriber *t)
{
	if (mqueue_push(t->mq, 0, NULL)) {
		ch_log_error(LOG_MOD, "cannot wake the control thread");
		pthread_mutex_lock(&t->lock);
		t->wake_pending = false; /* the next result tries again */
		pthread_mutex_unlock(&t->lock);
	}
}

/* Under the lock: posts job's done once it is drained and nothing of it
 * waits; whether to wake. */
static bool maybe_done_locked(struct ch_transcriber *t, struct job *j)
{
	if (!j->drained || j->pending || j->done_posted)
		return false;
	struct res *s = calloc(1, sizeof(*s));
	if (!s)
		return false; /* tried again at the reader's next round */
	s->done = true;
	memcpy(s->id, j->id, CH_UUID_LEN);
	s->segments = j->segments;
	s->dropped_ms = j->dropped_ms;
	j->done_posted = true;
	return result_add_locked(t, s);
}

/* ---- reader ---- */

static void stream_free(struct stream *st)
{
	ch_segmenter_destroy(&st->seg);
	free(st);
}

static void job_free(struct job *j)
{
	struct le *le;
	if (!j)
		return;
	while ((le = list_head(&j->streams))) {
		list_unlink(le);
		stream_free(le->data);
	}
	ch_media_tap_free(j->tap);
	free(j);
}

static struct stream *stream_get(struct job *j, uint32_t leg)
{
	for (struct le *le = list_head(&j->streams); le; le = le->next) {
		struct stream *st = le->data;
		if (st->leg == leg)
			return st;
	}
	struct stream *st = calloc(1, sizeof(*st));
	if (!st || ch_segmenter_init(&st->seg, NULL)) {
		free(st);
		return NULL;
	}
	st->leg = leg;
	list_append(&j->streams, &st->le, st);
	return st;
}

/* Queues an utterance of j's leg for a decoder, or drops it (queue
 * full, no memory). Takes sg->pcm. */
static void utterance(struct ch_transcriber *t, struct job *j, uint32_t leg,
                      struct ch_segment *sg)
{
	size_t max = (size_t)CH_TRANSCRIBER_QUEUE_MS * (CH_STT_RATE / 1000);
	struct work *w = calloc(1, sizeof(*w));
	uint64_t ms = sg->n / (CH_STT_RATE / 1000);

	pthread_mutex_lock(&t->lock);
	if (!w || t->queued + sg->n > max) {
		j->dropped_ms += ms;
		drop_count(t, ms);
		pthread_mutex_unlock(&t->lock);
		ch_log_warn(LOG_MOD,
		            "transcribe %s: %llu ms of leg %u dropped: the "
		            "decoders are behind",
		            j->id, (unsigned long long)ms, leg);
		free(w);
		free(sg->pcm);
		return;
	}
	w->job = j;
	w->leg = leg;
	w->start_ms = sg->start_ms;
	w->end_ms = sg->end_ms;
	w->pcm = sg->pcm;
	w->n = sg->n;
	j->pending++;
	t->queued += sg->n;
	list_append(&t->work, &w->le, w);
	pthread_cond_signal(&t->wcond);
	pthread_mutex_unlock(&t->lock);
}

static void stream_tick(struct ch_transcriber *t, struct job *j,
                        struct stream *st, int64_t t_ms, const int16_t *pcm,
                        size_t n, uint32_t rate, bool talking)
{
	struct ch_segment sg;
	if (ch_segmenter_tick(&st->seg, t_ms, pcm, n, rate, talking, &sg) == 1)
		utterance(t, j, st->leg, &sg);
}

/* Ticks the worker dropped (ring full): counted; the streams hear
 * silence for a short gap, so their times hold. */
static void gap(struct ch_transcriber *t, struct job *j, uint64_t from,
                uint64_t to)
{
	pthread_mutex_lock(&t->lock);
	j->dropped_ms += (to - from) * TICK_MS;
	drop_count(t, (to - from) * TICK_MS);
	pthread_mutex_unlock(&t->lock);
	if (to - from > GAP_FILL_TICKS)
		from = to - GAP_FILL_TICKS;
	for (uint64_t q = from; q < to; q++) {
		for (struct le *le = list_head(&j->streams); le; le = le->next)
			stream_tick(t, j, le->data, (int64_t)q * TICK_MS, NULL,
			            0, 0, false);
	}
}

/* One tick record of j's tap. */
static void record(struct ch_transcriber *t, struct job *j, const uint8_t *p,
                   size_t len)
{
	struct ch_media_tap_hdr h;
	size_t off = sizeof(h);

	memcpy(&h, p, sizeof(h));
	if (h.seq < j->next_seq)
		return;
	if (h.seq > j->next_seq)
		gap(t, j, j->next_seq, h.seq);
	j->next_seq = h.seq + 1;
	int64_t t_ms = (int64_t)h.seq * TICK_MS;
	for (unsigned i = 0; i < h.ntracks; i++) {
		struct ch_media_tap_voice v;
		if (off + sizeof(v) > len)
			break;
		memcpy(&v, p + off, sizeof(v));
		size_t part = ch_media_tap_voice_size(v.frame);
		if (off + part > len)
			break;
		struct stream *st = stream_get(j, v.leg);
		if (st) {
			st->last_seq = h.seq;
			stream_tick(t, j, st, t_ms,
			            (const int16_t *)(p + off + sizeof(v)),
			            v.frame, v.rate,
			            v.flags & CH_MEDIA_TAP_TALKING);
		}
		off += part;
	}
	/* the streams without audio this tick: silence; long gone ones go */
	struct le *le = list_head(&j->streams);
	while (le) {
		struct stream *st = le->data;
		le = le->next;
		if (st->last_seq == h.seq)
			continue;
		stream_tick(t, j, st, t_ms, NULL, 0, 0, false);
		if (h.seq - st->last_seq > STREAM_IDLE_TICKS &&
		    !ch_segmenter_active(&st->seg)) {
			list_unlink(&st->le);
			stream_free(st);
		}
	}
}

static void drain(struct ch_transcriber *t, struct job *j)
{
	long len;
	while ((len = ch_media_tap_get(j->tap, t->buf, TAP_BUF)) != 0) {
		if (len < 0) { /* a record too big to take */
			pthread_mutex_lock(&t->lock);
			j->dropped_ms += TICK_MS;
			drop_count(t, TICK_MS);
			pthread_mutex_unlock(&t->lock);
			continue;
		}
		if ((size_t)len >= sizeof(struct ch_media_tap_hdr))
			record(t, j, t->buf, (size_t)len);
	}
}

/* Ends every utterance in progress (the tap is detached). */
static void flush(struct ch_transcriber *t, struct job *j)
{
	for (struct le *le = list_head(&j->streams); le; le = le->next) {
		struct stream *st = le->data;
		struct ch_segment sg;
		if (ch_segmenter_flush(&st->seg, &sg) == 1)
			utterance(t, j, st->leg, &sg);
	}
	j->flushed = true;
}

static void reader_round(struct ch_transcriber *t)
{
	struct le *le = list_head(&t->jobs);
	while (le) {
		struct job *j = le->data;
		le = le->next;
		pthread_mutex_lock(&t->lock);
		bool fin = j->finishing;
		pthread_mutex_unlock(&t->lock);
		if (!j->flushed)
			drain(t, j);
		if (fin && !j->flushed)
			flush(t, j);
		pthread_mutex_lock(&t->lock);
		j->drained = j->flushed;
		bool push = maybe_done_locked(t, j);
		bool gone = j->done_posted;
		pthread_mutex_unlock(&t->lock);
		if (push)
			wake(t);
		if (gone) {
			list_unlink(&j->le);
			job_free(j);
		}
	}
}

static void *reader_main(void *arg)
{
	struct ch_transcriber *t = arg;

	for (;;) {
		pthread_mutex_lock(&t->lock);
		if (!t->stop && list_isempty(&t->newjobs)) {
			/* idle (no transcription): sleep until one starts */
			if (list_isempty(&t->jobs)) {
				(void)pthread_cond_wait(&t->rcond, &t->lock);
			} else {
				ch_monocond_wait_ms(&t->rcond, &t->lock,
				                    TICK_MS);
			}
		}
		struct le *le;
		while ((le = list_head(&t->newjobs))) {
			list_unlink(le);
			list_append(&t->jobs, le, le->data);
		}
		bool stop = t->stop;
		pthread_mutex_unlock(&t->lock);
		if (stop)
			break;
		reader_round(t);
	}
	return NULL;
}

/* ---- decoders ---- */

struct dec_cache {
	struct {
		enum ch_stt_kind kind;
		char lang[24];
		struct ch_stt *s;
	} d[DECODERS_PER_THREAD];
	unsigned n, next;
};

/* This thread's decoder for (kind, lang), made on first use (the oldest
 * is replaced when the cache is full); NULL on failure. */
static struct ch_stt *decoder(struct ch_transcriber *t, struct dec_cache *c,
                              enum ch_stt_kind kind, const char *lang)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (c->d[i].kind == kind && !strcmp(c->d[i].lang, lang))
			return c->d[i].s;
	}
	struct ch_stt *s = NULL;
	int err = ch_stt_new(&s, t->eng[kind], lang);
	if (err) {
		ch_log_error(LOG_MOD, "no %s decoder for %s: %s",
		             ch_stt_kind_str(kind), lang, strerror(err));
		return NULL;
	}
	unsigned i = c->n < DECODERS_PER_THREAD ? c->n++ : c->next++;
	c->next %= DECODERS_PER_THREAD;
	if (c->d[i].s)
		ch_stt_free(c->d[i].s);
	c->d[i].kind = kind;
	snprintf(c->d[i].lang, sizeof(c->d[i].lang), "%s", lang);
	c->d[i].s = s;
	return s;
}

/* The text of w's utterance (owned; "" when nothing was recognised), or
 * NULL when the engine failed. */
static char *recognise(struct ch_transcriber *t, struct dec_cache *c,
                       const struct work *w)
{
	struct ch_stt *s = decoder(t, c, w->job->kind, w->job->lang);
	char *text = NULL;
	if (!s || ch_stt_start(s) || ch_stt_feed(s, w->pcm, w->n) ||
	    ch_stt_finish(s, &text))
		return NULL;
	return text;
}

static void *decoder_main(void *arg)
{
	struct ch_transcriber *t = arg;
	struct dec_cache cache;

	memset(&cache, 0, sizeof(cache));
	for (;;) {
		pthread_mutex_lock(&t->lock);
		while (!t->stop && list_isempty(&t->work))
			pthread_cond_wait(&t->wcond, &t->lock);
		if (t->stop) {
			pthread_mutex_unlock(&t->lock);
			break;
		}
		struct le *le = list_head(&t->work);
		list_unlink(le);
		struct work *w = le->data;
		t->queued -= w->n;
		pthread_mutex_unlock(&t->lock);

		char *text = recognise(t, &cache, w);
		bool failed = !text;
		struct res *s = NULL;
		if (text && *text && (s = calloc(1, sizeof(*s)))) {
			memcpy(s->id, w->job->id, CH_UUID_LEN);
			s->leg = w->leg;
			s->start_ms = w->start_ms;
			s->end_ms = w->end_ms;
			s->text = text;
			text = NULL;
		}
		free(text);

		struct job *j = w->job;
		bool push = false;
		pthread_mutex_lock(&t->lock);
		if (s) {
			j->segments++;
			push = result_add_locked(t, s);
		} else if (failed) { /* logged by the engine */
			j->dropped_ms += w->n / (CH_STT_RATE / 1000);
			drop_count(t, w->n / (CH_STT_RATE / 1000));
		}
		j->pending--;
		push = maybe_done_locked(t, j) || push;
		pthread_mutex_unlock(&t->lock);
		if (push)
			wake(t);
		free(w->pcm);
		free(w);
	}
	for (unsigned i = 0; i < cache.n; i++)
		ch_stt_free(cache.d[i].s);
	return NULL;
}

/* ---- control thread ---- */

static void mqueue_handler(int id, void *data, void *arg)
{
	struct ch_transcriber *t = arg;

	(void)id;
	(void)data;
	mem_ref(t);
	while (!t->closed) {
		pthread_mutex_lock(&t->lock);
		struct le *le = list_head(&t->results);
		if (!le) {
			t->wake_pending = false;
			pthread_mutex_unlock(&t->lock);
			break;
		}
		list_unlink(le);
		pthread_mutex_unlock(&t->lock);

		struct res *s = le->data;
		if (s->done) {
			for (struct le *e = list_head(&t->ids); e;
			     e = e->next) {
				struct ctl_id *ci = e->data;
				if (!strcmp(ci->id, s->id)) {
					list_unlink(e);
					free(ci);
					break;
				}
			}
			struct ch_transcriber_done d = {.id = s->id,
			                                .segments = s->segments,
			                                .dropped_ms =
			                                    s->dropped_ms};
			if (t->dh)
				t->dh(t->arg, &d);
		} else if (t->sh) {
			struct ch_transcriber_seg g = {.id = s->id,
			                               .leg = s->leg,
			                               .start_ms = s->start_ms,
			                               .end_ms = s->end_ms,
			                               .text = s->text};
			t->sh(t->arg, &g);
		}
		free(s->text);
		free(s);
	}
	mem_deref(t);
}

static void stop_threads(struct ch_transcriber *t)
{
	t->closed = true;
	if (!t->nrunning)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->rcond);
	pthread_cond_broadcast(&t->wcond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->reader, NULL);
	for (unsigned i = 0; i + 1 < t->nrunning; i++)
		pthread_join(t->dec[i], NULL);
	t->nrunning = 0;
}

static void destructor(void *arg)
{
	struct ch_transcriber *t = arg;
	struct le *le;

	stop_threads(t);
	while ((le = list_head(&t->work))) {
		struct work *w = le->data;
		list_unlink(le);
		free(w->pcm);
		free(w);
	}
	while ((le = list_head(&t->results))) {
		struct res *s = le->data;
		list_unlink(le);
		free(s->text);
		free(s);
	}
	while ((le = list_head(&t->jobs)) || (le = list_head(&t->newjobs))) {
		list_unlink(le);
		job_free(le->data);
	}
	while ((le = list_head(&t->ids))) {
		list_unlink(le);
		free(le->data);
	}
	if (t->sync_ready) {
		pthread_cond_destroy(&t->rcond);
		pthread_cond_destroy(&t->wcond);
		pthread_mutex_destroy(&t->lock);
	}
	t->mq = mem_deref(t->mq);
	free(t->dec);
	free(t->buf);
}

static int sync_init(struct ch_transcriber *t)
{
	int err = ch_monocond_init(&t->rcond);
	if (err)
		return err;
	err = pthread_cond_init(&t->wcond, NULL);
	if (err) {
		pthread_cond_destroy(&t->rcond);
		return err;
	}
	err = pthread_mutex_init(&t->lock, NULL);
	if (err) {
		pthread_cond_destroy(&t->rcond);
		pthread_cond_destroy(&t->wcond);
		return err;
	}
	t->sync_ready = true;
	return 0;
}

static int threads_start(struct ch_transcriber *t)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t->reader, NULL, reader_main, t);
	if (!err) {
		t->nrunning = 1;
		pthread_setname_np(t->reader, "stt-reader");
	}
	for (unsigned i = 0; !err && i < t->ndec; i++) {
		err = pthread_create(&t->dec[i], NULL, decoder_main, t);
		if (!err) {
			t->nrunning++;
			pthread_setname_np(t->dec[i], "stt-decoder");
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int ch_transcriber_alloc(struct ch_transcriber **tp,
                         struct ch_stt_engine *const engines[2],
                         unsigned decoders, ch_transcriber_seg_h *sh,
                         ch_transcriber_done_h *dh, void *arg)
{
	if (!tp || !engines)
		return EINVAL;
	struct ch_transcriber *t = mem_zalloc(sizeof(*t), destructor);
	if (!t)
		return ENOMEM;
	t->eng[0] = engines[0];
	t->eng[1] = engines[1];
	t->sh = sh;
	t->dh = dh;
	t->arg = arg;
	t->ndec = decoders ? decoders : CH_TRANSCRIBER_DECODERS;
	t->buf = malloc(TAP_BUF);
	t->dec = calloc(t->ndec, sizeof(*t->dec));
	int err = (!t->buf || !t->dec) ? ENOMEM : sync_init(t);
	if (!err)
		err = mqueue_alloc(&t->mq, mqueue_handler, t);
	if (!err)
		err = threads_start(t);
	if (err) {
		mem_deref(t);
		return err;
	}
	*tp = t;
	return 0;
}

void ch_transcriber_free(struct ch_transcriber *t)
{
	if (!t)
		return;
	stop_threads(t);
	mem_deref(t);
}

struct ch_stt_engine *ch_transcriber_engine(const struct ch_transcriber *t,
                                            enum ch_stt_kind kind)
{
	if (!t || (kind != CH_STT_SPHINX && kind != CH_STT_HTTP))
		return NULL;
	return t->eng[kind];
}

static struct ctl_id *ctl_find(struct ch_transcriber *t, const char *id)
{
	for (struct le *le = list_head(&t->ids); le; le = le->next) {
		struct ctl_id *ci = le->data;
		if (!strcmp(ci->id, id))
			return ci;
	}
	return NULL;
}

int ch_transcriber_start(struct ch_transcriber *t, const char *id,
                         enum ch_stt_kind kind, const char *lang,
                         struct ch_media_tap **tapp)
{
	if (!t || !id || !lang || !tapp || strlen(id) >= CH_UUID_LEN)
		return EINVAL;
	if (!ch_transcriber_engine(t, kind))
		return ENOTSUP;
	if (ctl_find(t, id))
		return EEXIST;
	struct ctl_id *ci = calloc(1, sizeof(*ci));
	struct job *j = calloc(1, sizeof(*j));
	if (j)
		j->tap = ch_media_tap_alloc(TAP_RING, false);
	if (!ci || !j || !j->tap) {
		free(ci);
		job_free(j);
		return ENOMEM;
	}
	j->tap->voices = true;
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->lang, sizeof(j->lang), "%s", lang);
	j->kind = kind;
	snprintf(ci->id, sizeof(ci->id), "%s", id);
	ci->job = j;
	list_append(&t->ids, &ci->le, ci);
	*tapp = j->tap;
	pthread_mutex_lock(&t->lock);
	list_append(&t->newjobs, &j->le, j);
	pthread_cond_signal(&t->rcond);
	pthread_mutex_unlock(&t->lock);
	ch_log_info(LOG_MOD, "transcribe %s started (%s, %s)", id,
	            ch_stt_kind_str(kind), lang);
	return 0;
}

void ch_transcriber_finish(struct ch_transcriber *t, const char *id)
{
	struct ctl_id *ci = t && id ? ctl_find(t, id) : NULL;
	if (!ci || ci->finishing)
		return;
	ci->finishing = true;
	pthread_mutex_lock(&t->lock);
	ci->job->finishing = true;
	pthread_cond_signal(&t->rcond);
	pthread_mutex_unlock(&t->lock);
}
