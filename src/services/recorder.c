/*
 * recorder.c: the recorder service thread (contract in recorder.h; the
 * files it writes in recorder_file.h).
 *
 * Design. One service thread serves every recording. The control thread
 * makes a recording's part folder, first index and mix part file, and its
 * tap, then hands the recording to the thread with a START request; TRACK
 * and FINISH follow through the same mutex-protected FIFO (r->reqs), so
 * the thread sees them in order. Every 20 ms, or sooner when a request
 * arrives, the thread applies the requests, drains every tap
 * (ch_media_tap_get) and appends each record to the part files: exactly
 * one frame of the recording's rate per channel per tick, so all channels
 * keep step and wall time: a channel whose leg is not in the record gets
 * silence, a seq gap (ticks the worker dropped) gets silence on every
 * channel and is counted. A channel is made for a leg at its first
 * ch_recorder_track or first audio; it records the sample where it starts
 * in the index, and assembly puts silence before it. The rate is the one
 * of the first record; records at another rate are resampled per channel.
 * stdio buffers are flushed every 200 ms.
 *
 * A FINISH drains the (detached) tap to the end, closes the parts,
 * assembles the final file (seconds for a long recording: that is this
 * thread's time, never the control thread's), frees the tap and puts the
 * result on r->results; the thread then pushes one wake-up message to the
 * libre mqueue unless one is pending (r->wake_pending), and the mqueue
 * handler, on the control thread, delivers every result to the done
 * handler (the pattern of events/webhook_sender.c: at most one message in
 * the pipe, results never lost in it).
 *
 * The media worker only ever writes into the tap: this thread never makes
 * it wait.
 */
#include "services/recorder.h"
#include "media/resample.h"
#include "media/tap.h"
#include "services/recorder_file.h"
#include "util/fsdir.h"
#include "util/log.h"
#include "util/monocond.h"
#include "util/timefmt.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <re_types.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_mqueue.h>

#define LOG_MOD "recorder"

#define TICK_MS  20
#define FLUSH_MS 200
/* Tap ring per recording: seconds of slack at 48 kHz with a few tracks. */
#define TAP_BYTES ((size_t)2 << 20)
/* stdio buffer of a part file. */
#define PART_BUF 32768
/* Most samples in one frame (48 kHz). */
#define FRAME_MAX 960
/* Channels a format may carry (mix included): FLAC 8, Opus streams
 * 255, libsndfile's limit for the others. */
#define MAX_CH_OGG 255
#define MAX_CH_WAV 1024

/* Writer state of one channel; service thread. */
struct wchan {
	FILE *f;               /* its part file, appended */
	struct ch_resample rs; /* in_rate 0 until a record at another rate */
};

/*
 * One recording. Made by ch_recorder_start on the control thread, then
 * owned by the service thread from its START request on (or freed with
 * the request if the thread never takes it).
 */
struct rec {
	struct le le;
	struct ch_recorder_index ix; /* channels; w[] runs parallel to ix.ch */
	struct wchan *w;
	unsigned wcap;
	unsigned max_ch;          /* channels the format may carry */
	struct ch_media_tap *tap; /* freed with the recording */
	uint64_t next_seq;        /* seq the next record should carry */
	uint64_t written;         /* samples per channel so far */
	bool finishing;           /* FINISH seen: drain to the end */
	bool index_dirty;         /* ix changed since index.json was written */
	bool index_now;           /* ... in a way to write before more data */
	bool werr_logged;
	bool bad_logged;
	bool drop_logged;
};

enum req_kind { REQ_START, REQ_TRACK, REQ_FINISH };

/* A request; made on the control thread, freed by the service thread
 * (or by the destructor for those never taken). */
struct req {
	struct le le;
	enum req_kind kind;
	char id[CH_UUID_LEN];
	struct rec *rec; /* START */
	uint32_t leg;    /* TRACK */
	char *ccid;
	char *caller_id;
};

/* A finished recording waiting for delivery on the control thread. */
struct res {
	struct le le;
	struct ch_recorder_file_result fr;
};

/* An id recording or finishing; control thread. */
struct ctl_id {
	struct le le;
	char id[CH_UUID_LEN];
};

/*
 * The recorder. A libre mem object owned by the control thread (the mqueue
 * handler holds a reference while it calls the done handler).
 */
struct ch_recorder {
	/* Set by alloc, read-only after: any thread. */
	char *dir;
	ch_recorder_done_h *h;
	void *arg;
	struct mqueue *mq; /* the service thread only pushes */

	/* Control thread only. */
	struct list ids; /* struct ctl_id */
	pthread_t thread;
	bool running;
	bool closed;
	bool sync_ready;

	/* Guarded by lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct list reqs;    /* struct req, FIFO */
	struct list results; /* struct res, FIFO */
	bool wake_pending;
	bool stop;

	/* Service thread only. */
	struct list recs; /* struct rec */
	uint8_t *buf;     /* one record (TAP_BYTES) */
	int16_t zeros[FRAME_MAX];
	int16_t conv[2 * FRAME_MAX];
	uint64_t last_flush;
	uint64_t last_round; /* ch_time_mono_ms() of the last service_round */
};

static void rec_free(struct rec *rc)
{
	if (!rc)
		return;
	for (unsigned i = 0; i < rc->ix.nch; i++) {
		if (rc->w[i].f)
			fclose(rc->w[i].f);
		ch_resample_destroy(&rc->w[i].rs);
	}
	free(rc->w);
	ch_recorder_file_index_clear(&rc->ix);
	ch_media_tap_free(rc->tap);
	free(rc);
}

static void req_free(struct req *q)
{
	rec_free(q->rec);
	free(q->ccid);
	free(q->caller_id);
	free(q);
}

/* Opens channel c's part file for appending (with a big buffer). */
static int part_open(struct ch_recorder *r, struct rec *rc, unsigned c)
{
	char path[4400];

	ch_recorder_file_part_path(r->dir, rc->ix.id, rc->ix.ch[c].index, path,
	                           sizeof(path));
	rc->w[c].f = fopen(path, "ab");
	if (!rc->w[c].f)
		return EIO;
	(void)setvbuf(rc->w[c].f, NULL, _IOFBF, PART_BUF);
	return 0;
}

/* Adds a channel for leg (participant) or the mix, with its part file.
 * Its index; -1 if the format has no room or on failure. */
static int chan_add(struct ch_recorder *r, struct rec *rc, bool mix,
                    uint32_t leg)
{
	if (rc->ix.nch >= rc->max_ch)
		return -1;
	if (rc->ix.nch == rc->wcap) {
		unsigned cap = rc->wcap ? rc->wcap * 2 : 8;
		struct wchan *n = realloc(rc->w, cap * sizeof(*n));
		if (!n)
			return -1;
		rc->w = n;
		rc->wcap = cap;
	}
	unsigned c = rc->ix.nch;
	memset(&rc->w[c], 0, sizeof(rc->w[c]));
	struct ch_recorder_chan *ch =
	    ch_recorder_file_index_add(&rc->ix, mix, leg);
	if (!ch)
		return -1;
	ch->start = rc->written;
	if (part_open(r, rc, c)) {
		ch_log_error(LOG_MOD, "%s: cannot open part file %u", rc->ix.id,
		             ch->index);
		/* keeps the channel: it is silent in the file */
	}
	rc->index_dirty = rc->index_now = true;
	return (int)c;
}

static int chan_find(const struct rec *rc, uint32_t leg)
{
	for (unsigned c = 1; c < rc->ix.nch; c++)
		if (rc->ix.ch[c].leg == leg)
			return (int)c;
	return -1;
}

/* Writes the index if it changed; errors are logged once. */
static void index_sync(struct ch_recorder *r, struct rec *rc)
{
	if (!rc->index_dirty)
		return;
	if (ch_recorder_file_index_write(r->dir, &rc->ix)) {
		if (!rc->werr_logged)
			ch_log_error(LOG_MOD, "%s: cannot write its index",
			             rc->ix.id);
		rc->werr_logged = true;
		/* not again at every record: the 200 ms flush retries */
		rc->index_now = false;
		return;
	}
	rc->index_dirty = false;
	rc->index_now = false;
}

/* A part file that failed to write (disk full) is closed: what it holds
 * stays in time, the channel is silent (the mix: ends) from there on,
 * rather than later audio landing early. */
static void part_failed(struct rec *rc, unsigned c)
{
	if (!rc->werr_logged)
		ch_log_error(LOG_MOD, "%s: cannot write part file %u: %s",
		             rc->ix.id, rc->ix.ch[c].index, strerror(errno));
	rc->werr_logged = true;
	fclose(rc->w[c].f);
	rc->w[c].f = NULL;
}

/* Appends n samples (NULL: silence) to channel c. */
static void chan_write(struct ch_recorder *r, struct rec *rc, unsigned c,
                       const int16_t *pcm, size_t n)
{
	FILE *f = rc->w[c].f;
	if (!f)
		return;
	if (!pcm)
		pcm = r->zeros;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	int16_t le[FRAME_MAX];
	for (size_t i = 0; i < n; i++)
		le[i] = (int16_t)htole16((uint16_t)pcm[i]);
	pcm = le;
#endif
	if (fwrite(pcm, sizeof(int16_t), n, f) != n)
		part_failed(rc, c);
}

/* pcm (frame samples at in_rate) at the recording's rate, exactly fo
 * samples (in r->conv when converted). NULL on failure. */
static const int16_t *convert(struct ch_recorder *r, struct rec *rc, unsigned c,
                              const int16_t *pcm, size_t frame,
                              uint32_t in_rate, size_t fo)
{
	struct ch_resample *rs = &rc->w[c].rs;
	size_t n = 0;

	if (in_rate == rc->ix.rate)
		return pcm;
	if (rs->in_rate != in_rate) {
		ch_resample_destroy(rs);
		if (ch_resample_init(rs, in_rate, rc->ix.rate, -1))
			return NULL;
	}
	if (ch_resample_process(rs, pcm, frame, r->conv,
	                        sizeof(r->conv) / sizeof(r->conv[0]), &n))
		return NULL;
	if (n < fo)
		memset(r->conv + n, 0, (fo - n) * sizeof(int16_t));
	return r->conv;
}

/* Silence on every channel for ticks ticks. */
static void write_silence(struct ch_recorder *r, struct rec *rc, uint64_t ticks)
{
	size_t fo = rc->ix.rate / 50;
	for (uint64_t t = 0; t < ticks; t++)
		for (unsigned c = 0; c < rc->ix.nch; c++)
			chan_write(r, rc, c, NULL, fo);
	rc->written += ticks * fo;
}

static bool rate_ok(uint32_t rate)
{
	return rate == 8000 || rate == 16000 || rate == 48000;
}

/* The pcm of each channel in this record (NULL: silent), making channels
 * for legs not seen before. */
static void record_map(struct ch_recorder *r, struct rec *rc,
                       const uint8_t *rec, const struct ch_media_tap_hdr *h,
                       size_t pcm_bytes, const int16_t **map)
{
	const uint8_t *p = rec + sizeof(*h);

	map[0] = (const int16_t *)p;
	p += pcm_bytes;
	for (unsigned i = 1; i < rc->ix.nch; i++)
		map[i] = NULL;
	for (unsigned t = 0; t < h->ntracks; t++) {
		const struct ch_media_tap_track *tr = (const void *)p;
		const int16_t *pcm = (const void *)(p + sizeof(*tr));
		p += sizeof(*tr) + pcm_bytes;
		if (!rc->ix.tracks)
			continue;
		int c = chan_find(rc, tr->leg);
		if (c < 0)
			c = chan_add(r, rc, false, tr->leg);
		if (c >= 0)
			map[c] = pcm;
	}
}

/* Silence for ticks [next_seq, seq) the consumer saw no record of. */
static void fill_gap(struct ch_recorder *r, struct rec *rc, uint64_t seq)
{
	if (seq <= rc->next_seq)
		return;
	uint64_t gap = seq - rc->next_seq;
	if (!rc->drop_logged)
		ch_log_warn(
		    LOG_MOD,
		    "%s: the tap dropped ticks (slow disk?): written as "
		    "silence",
		    rc->ix.id);
	rc->drop_logged = true;
	rc->ix.dropped += gap;
	rc->index_dirty = true; /* on disk at the next flush */
	write_silence(r, rc, gap);
	rc->next_seq = seq;
}

/* Appends one record to the parts. */
static void record_write(struct ch_recorder *r, struct rec *rc,
                         const uint8_t *rec, size_t len)
{
	struct ch_media_tap_hdr h;

	if (len >= sizeof(h))
		memcpy(&h, rec, sizeof(h));
	if (len < sizeof(h) || !rate_ok(h.rate) || h.frame != h.rate / 50 ||
	    h.len != len ||
	    len < ch_media_tap_record_size(h.frame, h.ntracks)) {
		if (!rc->bad_logged)
			ch_log_error(LOG_MOD, "%s: malformed tap record",
			             rc->ix.id);
		rc->bad_logged = true;
		return;
	}
	if (!rc->ix.rate) {
		rc->ix.rate = h.rate;
		rc->index_dirty = rc->index_now = true;
	}
	fill_gap(r, rc, h.seq);
	rc->next_seq = h.seq + 1;

	size_t pcm_bytes = (ch_media_tap_record_size(h.frame, 0) - sizeof(h));
	const int16_t *map[MAX_CH_WAV];
	record_map(r, rc, rec, &h, pcm_bytes, map);
	size_t fo = rc->ix.rate / 50;
	for (unsigned c = 0; c < rc->ix.nch; c++) {
		const int16_t *pcm = map[c];
		if (pcm)
			pcm = convert(r, rc, c, pcm, h.frame, h.rate, fo);
		chan_write(r, rc, c, pcm, fo);
	}
	rc->written += fo;
	if (rc->index_now)
		index_sync(r, rc); /* a new channel: on disk before its data */
}

/* Drains what the tap holds. */
static void rec_drain(struct ch_recorder *r, struct rec *rc)
{
	long n;
	while ((n = ch_media_tap_get(rc->tap, r->buf, TAP_BYTES)) != 0) {
		if (n < 0)
			continue; /* cannot happen: buf is as big as the ring */
		record_write(r, rc, r->buf, (size_t)n);
	}
}

static void rec_flush(struct ch_recorder *r, struct rec *rc)
{
	for (unsigned c = 0; c < rc->ix.nch; c++)
		if (rc->w[c].f && fflush(rc->w[c].f))
			part_failed(rc, c);
	index_sync(r, rc);
}

/* Closes the parts (flushed) and the index, as a crash-free stop. */
static void rec_close(struct ch_recorder *r, struct rec *rc)
{
	rec_flush(r, rc);
	for (unsigned c = 0; c < rc->ix.nch; c++) {
		if (rc->w[c].f)
			fclose(rc->w[c].f);
		rc->w[c].f = NULL;
	}
}

/* Queues a result and wakes the control thread (one message at most). */
static void result_post(struct ch_recorder *r, struct res *s)
{
	bool push;

	pthread_mutex_lock(&r->lock);
	list_append(&r->results, &s->le, s);
	push = !r->wake_pending;
	r->wake_pending = true;
	pthread_mutex_unlock(&r->lock);
	if (push && mqueue_push(r->mq, 0, NULL)) {
		ch_log_error(LOG_MOD, "cannot wake the control thread");
		pthread_mutex_lock(&r->lock);
		r->wake_pending = false; /* the next result tries again */
		pthread_mutex_unlock(&r->lock);
	}
}

static void apply_requests(struct ch_recorder *r);

/*
 * One round of service: the requests, then every recording not finishing
 * drained (and flushed every FLUSH_MS). Runs every tick, and between the
 * blocks of an assembly, so a long assembly makes no other recording
 * drop ticks.
 */
static void service_round(struct ch_recorder *r)
{
	apply_requests(r);
	uint64_t now = ch_time_mono_ms();
	bool flush = now - r->last_flush >= FLUSH_MS;
	for (struct le *le = list_head(&r->recs); le; le = le->next) {
		struct rec *rc = le->data;
		if (rc->finishing)
			continue; /* its tap is detached: nothing is lost */
		rec_drain(r, rc);
		if (flush)
			rec_flush(r, rc);
	}
	if (flush)
		r->last_flush = now;
	r->last_round = now;
}

static void assemble_step(void *arg)
{
	struct ch_recorder *r = arg;
	if (ch_time_mono_ms() - r->last_round >= TICK_MS)
		service_round(r);
}

/* Drains, assembles and reports a finishing recording (unlinked first,
 * so the rounds run during its assembly leave it alone); frees it. */
static void rec_finish(struct ch_recorder *r, struct rec *rc)
{
	struct res *s = calloc(1, sizeof(*s));
	char path[4096];

	rec_drain(r, rc);
	/* the worker has let go: its seq is final, and ticks it could not
	 * queue after the last record are a gap too */
	fill_gap(r, rc, rc->tap->seq);
	rec_close(r, rc);
	list_unlink(&rc->le);
	int err = s ? ch_recorder_file_assemble(r->dir, &rc->ix, assemble_step,
	                                        r, &s->fr)
	            : ENOMEM;
	if (!err && rc->ix.dropped) {
		ch_log_warn(LOG_MOD,
		            "%s: finished: %" PRIu64 " ms, %u channels, "
		            "%" PRIu64 " ticks dropped (written as silence)",
		            rc->ix.id, s->fr.r.duration_ms, s->fr.r.nchannels,
		            rc->ix.dropped);
	} else if (!err) {
		ch_log_info(LOG_MOD,
		            "%s: finished: %" PRIu64 " ms, %u channels",
		            rc->ix.id, s->fr.r.duration_ms, s->fr.r.nchannels);
	} else if (s) {
		ch_log_error(LOG_MOD, "%s: not written: %s", rc->ix.id,
		             strerror(err));
		ch_recorder_path(r->dir, rc->ix.id, rc->ix.format, path,
		                 sizeof(path));
		snprintf(s->fr.r.id, sizeof(s->fr.r.id), "%s", rc->ix.id);
		s->fr.r.err = err;
		s->fr.r.channels = "[]";
		s->fr.path = strdup(path);
		s->fr.r.path = s->fr.path ? s->fr.path : "";
		s->fr.r.dropped = rc->ix.dropped;
	}
	if (s)
		result_post(r, s);
	rec_free(rc);
}

static struct rec *rec_find(struct ch_recorder *r, const char *id)
{
	for (struct le *le = list_head(&r->recs); le; le = le->next) {
		struct rec *rc = le->data;
		if (!strcmp(rc->ix.id, id))
			return rc;
	}
	return NULL;
}

/* Applies a TRACK: names (or makes) the leg's channel. */
static void rec_track(struct ch_recorder *r, struct rec *rc,
                      const struct req *q)
{
	if (!rc->ix.tracks)
		return;
	int c = chan_find(rc, q->leg);
	if (c < 0)
		c = chan_add(r, rc, false, q->leg);
	if (c < 0)
		return;
	if (ch_recorder_file_chan_name(&rc->ix.ch[c], q->ccid, q->caller_id))
		return;
	rc->index_dirty = true;
	index_sync(r, rc);
}

/* Applies the queued requests, oldest first (service thread). */
static void apply_requests(struct ch_recorder *r)
{
	for (;;) {
		pthread_mutex_lock(&r->lock);
		struct le *le = list_head(&r->reqs);
		if (le)
			list_unlink(le);
		pthread_mutex_unlock(&r->lock);
		if (!le)
			return;
		struct req *q = le->data;
		struct rec *rc =
		    q->kind == REQ_START ? NULL : rec_find(r, q->id);
		if (q->kind == REQ_START) {
			list_append(&r->recs, &q->rec->le, q->rec);
			q->rec = NULL;
		} else if (rc && q->kind == REQ_TRACK) {
			rec_track(r, rc, q);
		} else if (rc) {
			rc->finishing = true;
		}
		req_free(q);
	}
}

static void *thread_main(void *arg)
{
	struct ch_recorder *r = arg;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		/* nothing recording: sleep until a request comes (an idle
		 * daemon does not wake this thread 50 times a second) */
		if (!r->stop && list_isempty(&r->reqs) &&
		    list_isempty(&r->recs))
			pthread_cond_wait(&r->cond, &r->lock);
		else if (!r->stop && list_isempty(&r->reqs))
			ch_monocond_wait_ms(&r->cond, &r->lock, TICK_MS);
		bool stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			break;
		service_round(r);
		struct le *le = list_head(&r->recs);
		while (le) {
			struct rec *rc = le->data;
			le = le->next;
			if (rc->finishing)
				rec_finish(r, rc);
		}
	}
	/* stopped: leave the parts as they are, flushed */
	struct le *le;
	while ((le = list_head(&r->recs))) {
		struct rec *rc = le->data;
		list_unlink(le);
		rec_drain(r, rc);
		rec_close(r, rc);
		rec_free(rc);
	}
	return NULL;
}

/* Delivers the results (control thread). */
static void mqueue_handler(int id, void *data, void *arg)
{
	struct ch_recorder *r = arg;

	(void)id;
	(void)data;
	mem_ref(r);
	while (!r->closed) {
		pthread_mutex_lock(&r->lock);
		struct le *le = list_head(&r->results);
		if (!le) {
			r->wake_pending = false;
			pthread_mutex_unlock(&r->lock);
			break;
		}
		list_unlink(le);
		pthread_mutex_unlock(&r->lock);

		struct res *s = le->data;
		for (struct le *e = list_head(&r->ids); e; e = e->next) {
			struct ctl_id *ci = e->data;
			if (!strcmp(ci->id, s->fr.r.id)) {
				list_unlink(e);
				free(ci);
				break;
			}
		}
		if (r->h)
			r->h(r->arg, &s->fr.r);
		ch_recorder_file_result_clear(&s->fr);
		free(s);
	}
	mem_deref(r);
}

static void stop_thread(struct ch_recorder *r)
{
	r->closed = true;
	if (!r->running)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->running = false;
}

static void destructor(void *arg)
{
	struct ch_recorder *r = arg;
	struct le *le;

	stop_thread(r);
	while ((le = list_head(&r->reqs))) {
		list_unlink(le);
		req_free(le->data);
	}
	while ((le = list_head(&r->results))) {
		struct res *s = le->data;
		list_unlink(le);
		ch_recorder_file_result_clear(&s->fr);
		free(s);
	}
	while ((le = list_head(&r->ids))) {
		list_unlink(le);
		free(le->data);
	}
	if (r->sync_ready) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
	}
	r->mq = mem_deref(r->mq);
	free(r->buf);
	free(r->dir);
}

static int sync_init(struct ch_recorder *r)
{
	int err = ch_monocond_init(&r->cond);
	if (err)
		return err;
	err = pthread_mutex_init(&r->lock, NULL);
	if (err) {
		pthread_cond_destroy(&r->cond);
		return err;
	}
	r->sync_ready = true;
	return 0;
}

int ch_recorder_alloc(struct ch_recorder **recp, const char *dir,
                      ch_recorder_done_h *h, void *arg)
{
	struct ch_recorder *r;
	int err;

	if (!recp || !dir || !*dir)
		return EINVAL;
	err = ch_fsdir_make(dir, 0755);
	if (err) {
		ch_log_error(LOG_MOD, "cannot make %s: %s", dir, strerror(err));
		return err;
	}
	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;
	r->h = h;
	r->arg = arg;
	r->dir = strdup(dir);
	r->buf = malloc(TAP_BYTES);
	if (!r->dir || !r->buf) {
		err = ENOMEM;
		goto out;
	}
	err = sync_init(r);
	if (!err)
		err = mqueue_alloc(&r->mq, mqueue_handler, r);
	if (err)
		goto out;
	r->last_flush = ch_time_mono_ms();

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->thread, NULL, thread_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto out;
	r->running = true;
	pthread_setname_np(r->thread, "recorder");
out:
	if (err)
		mem_deref(r);
	else
		*recp = r;
	return err;
}

void ch_recorder_free(struct ch_recorder *rec)
{
	if (!rec)
		return;
	stop_thread(rec);
	mem_deref(rec);
}

static struct ctl_id *ctl_find(struct ch_recorder *r, const char *id)
{
	for (struct le *le = list_head(&r->ids); le; le = le->next) {
		struct ctl_id *ci = le->data;
		if (!strcmp(ci->id, id))
			return ci;
	}
	return NULL;
}

static void req_queue(struct ch_recorder *r, struct req *q)
{
	pthread_mutex_lock(&r->lock);
	list_append(&r->reqs, &q->le, q);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* A new recording with its mix channel and first index on disk. */
static int rec_new(struct ch_recorder *r, const char *id,
                   enum ch_rec_format format, bool tracks, struct rec **rcp)
{
	struct rec *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return ENOMEM;
	snprintf(rc->ix.id, sizeof(rc->ix.id), "%s", id);
	rc->ix.format = format;
	rc->ix.tracks = tracks;
	rc->max_ch = format == CH_REC_FLAC  ? CH_RECORDER_FLAC_MAX_CH
	             : format == CH_REC_OGG ? MAX_CH_OGG
	                                    : MAX_CH_WAV;
	rc->tap = ch_media_tap_alloc(TAP_BYTES, tracks);
	if (!rc->tap || chan_add(r, rc, true, 0) != 0) {
		rec_free(rc);
		return ENOMEM;
	}
	if (!rc->w[0].f || ch_recorder_file_index_write(r->dir, &rc->ix)) {
		rec_free(rc);
		return EIO;
	}
	rc->index_dirty = false;
	*rcp = rc;
	return 0;
}

int ch_recorder_start(struct ch_recorder *rec, const char *id,
                      enum ch_rec_format format, bool tracks,
                      struct ch_media_tap **tapp)
{
	char parts[4096];
	struct rec *rc = NULL;

	if (!rec || !id || !ch_uuid_valid(id) || !tapp || rec->closed)
		return EINVAL;
	if (ctl_find(rec, id))
		return EEXIST;
	ch_recorder_file_parts_dir(rec->dir, id, parts, sizeof(parts));
	if (mkdir(parts, 0755)) {
		int e = errno;
		ch_log_error(LOG_MOD, "%s: cannot make %s: %s", id, parts,
		             strerror(e));
		return e == EEXIST ? EEXIST : EIO;
	}
	struct ctl_id *ci = calloc(1, sizeof(*ci));
	struct req *q = calloc(1, sizeof(*q));
	int err = ci && q ? rec_new(rec, id, format, tracks, &rc) : ENOMEM;
	if (err) {
		free(ci);
		free(q);
		(void)ch_recorder_file_rmparts(parts);
		ch_log_error(LOG_MOD, "%s: cannot start: %s", id,
		             strerror(err));
		return err;
	}
	snprintf(ci->id, sizeof(ci->id), "%s", id);
	list_append(&rec->ids, &ci->le, ci);
	q->kind = REQ_START;
	snprintf(q->id, sizeof(q->id), "%s", id);
	q->rec = rc;
	*tapp = rc->tap;
	req_queue(rec, q);
	ch_log_info(LOG_MOD, "%s: started (%s, %s)", id,
	            ch_rec_format_str(format), tracks ? "tracks" : "mix only");
	return 0;
}

void ch_recorder_track(struct ch_recorder *rec, const char *id, uint32_t leg,
                       const char *conferencecall_id, const char *caller_id)
{
	if (!rec || !id || rec->closed || !ctl_find(rec, id))
		return;
	struct req *q = calloc(1, sizeof(*q));
	if (!q)
		return;
	q->kind = REQ_TRACK;
	snprintf(q->id, sizeof(q->id), "%s", id);
	q->leg = leg;
	q->ccid = conferencecall_id ? strdup(conferencecall_id) : NULL;
	q->caller_id = caller_id ? strdup(caller_id) : NULL;
	req_queue(rec, q);
}

void ch_recorder_finish(struct ch_recorder *rec, const char *id)
{
	if (!rec || !id || rec->closed || !ctl_find(rec, id))
		return;
	struct req *q = calloc(1, sizeof(*q));
	if (!q) {
		ch_log_error(LOG_MOD, "%s: cannot finish: no memory", id);
		return;
	}
	q->kind = REQ_FINISH;
	snprintf(q->id, sizeof(q->id), "%s", id);
	req_queue(rec, q);
}
