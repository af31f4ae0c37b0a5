/*
 * webhook_sender.c: the webhook HTTP sender service thread.
 *
 * Design. One sender thread drives one curl multi handle. The control
 * thread hands it jobs through a mutex-protected FIFO (s->pending) and
 * wakes it with curl_multi_wakeup; the thread moves them into its own list
 * of transfers (many at once), runs curl_multi_perform / curl_multi_poll,
 * and puts every finished job, now carrying its struct ch_webhook_result,
 * on a second FIFO (s->done). Results reach the control thread through a
 * libre mqueue: the sender thread pushes a wake-up message only when none
 * is pending (s->wake_pending), and the mqueue handler, on the control
 * thread, drains s->done, calling doneh for each, and clears the flag when
 * it finds s->done empty.
 * So at most one message is ever in the mqueue's pipe (it cannot fill up),
 * and a result is never lost inside the pipe: undelivered results always
 * sit in s->done, where stop/free can find and free them.
 *
 * Stopping sets s->stop, wakes the thread and joins it; the thread
 * abandons its transfers (curl_multi_remove_handle + curl_easy_cleanup do
 * not wait for the network). Nothing is reported after stop.
 *
 * The lock guards only the two FIFOs and three flags; neither side holds it
 * across network I/O or a user callback. The sender thread never calls
 * libre except mqueue_push (thread-safe by design) and libre's plain list
 * functions on lists it owns or holds the lock for.
 */
#include "events/webhook_sender.h"
#include "util/curlglobal.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <re_types.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_mqueue.h>

#define LOG_MOD "webhook"

/* curl_multi_poll wait when idle; wake-ups make it return earlier. */
#define POLL_IDLE_MS 1000
/* Retry period for a failed mqueue_push (should never be needed). */
#define POLL_RETRY_MS 100

/*
 * One POST. Allocated by submit() on the control thread as one block (the
 * strings and body follow the struct). Ownership moves with the lists:
 *   s->pending (under s->lock) -> the sender thread's active list (sender
 *   thread only) -> s->done (under s->lock) -> the mqueue handler (control
 *   thread), which calls doneh and frees it.
 * Whoever holds it may free it; stop/free frees what is left in s->pending
 * and s->done after joining the thread, and the thread frees its active
 * ones when it exits.
 */
struct job {
	struct le le;
	struct ch_webhook_result res; /* filled when the transfer ends */
	CURL *easy;                   /* sender thread; NULL until started */
	struct curl_slist *hdrs;      /* sender thread; request headers */
	char *url;
	char *secret; /* wiped once the body is signed */
	size_t secret_len;
	char *event_id;
	char *body;
	size_t body_len;
	uint64_t started_ms;          /* ch_time_mono_ms() at start, for logs */
	char errbuf[CURL_ERROR_SIZE]; /* curl's CURLOPT_ERRORBUFFER */
};

/*
 * The sender. A libre mem object owned by the control thread (the mqueue
 * handler holds an extra reference while it runs doneh, so doneh may free
 * the sender). Fields are grouped by who may touch them.
 */
struct ch_webhook_sender {
	/* Set by alloc, then read-only until the destructor: any thread. */
	unsigned timeout_ms;
	ch_webhook_sender_done_h *doneh;
	void *arg;
	/* Driven by the sender thread; the control thread only calls
	 * curl_multi_wakeup on it (documented thread-safe) and cleans it up
	 * after the join. */
	CURLM *multi;
	/* Control thread owns it; the sender thread only pushes to it. */
	struct mqueue *mq;

	/* Control thread only. */
	pthread_t thread;
	bool thread_running; /* created and not yet joined */
	bool closed;         /* stop() was called: no more doneh calls */
	bool lock_ready;     /* lock initialised (for the destructor) */

	/* Guarded by lock. */
	pthread_mutex_t lock;
	struct list pending; /* struct job, submitted, not yet started */
	struct list done;    /* struct job, finished, not yet delivered */
	bool wake_pending;   /* an mqueue message is queued, not yet handled */
	bool stop;           /* the sender thread must exit */
	bool dead;           /* the sender thread failed and exited */
};

void ch_webhook_sender_sign(const char *secret, const char *body, size_t len,
                            char out[CH_WEBHOOK_SENDER_SIG_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char *p;

	out[0] = '\0';
	if (!secret)
		return;
	if (!body)
		body = "";
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
	          (const unsigned char *)body, len, md, &md_len))
		return;
	if (md_len != 32)
		return;
	memcpy(out, "sha256=", 7);
	p = out + 7;
	for (unsigned int i = 0; i < md_len; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 0x0f];
	}
	*p = '\0';
}

/* Frees a job in any state; the caller holds it (it is in no list, or in a
 * list it is about to drop). Wipes the secret copy. */
static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->easy)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->hdrs);
	OPENSSL_cleanse(j->secret, j->secret_len);
	free(j);
}

/* Frees every job in list; the caller owns the list (or holds its lock). */
static void job_list_free(struct list *list)
{
	struct le *le;

	while ((le = list_head(list)) != NULL) {
		list_unlink(le);
		job_free(le->data);
	}
}

/* Sets a transport-level failure (http_status 0) on j. */
static void job_set_error(struct job *j, const char *msg)
{
	const int max = (int)sizeof(j->res.error) - 1;

	j->res.http_status = 0;
	snprintf(j->res.error, sizeof(j->res.error), "%.*s", max, msg);
}

/*
 * Sender thread, lock held: makes sure the control thread will look at
 * s->done. Pushes a wake-up only if none is pending; if the push fails the
 * thread loop retries it.
 */
static void wake_control_locked(struct ch_webhook_sender *s)
{
	if (s->wake_pending || !list_head(&s->done))
		return;
	if (mqueue_push(s->mq, 0, NULL) == 0)
		s->wake_pending = true;
}

/* Sender thread: hands a finished job (res filled, curl released) to the
 * control thread. */
static void job_deliver(struct ch_webhook_sender *s, struct job *j)
{
	pthread_mutex_lock(&s->lock);
	list_append(&s->done, &j->le, j);
	wake_control_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/* Sender thread: releases the curl resources of a job that has ended. */
static void job_release_curl(struct ch_webhook_sender *s, struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(s->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
}

/* Discards the response body; webhooks only care about the status. */
static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/* Sender thread: builds the request headers of j. Returns 0 or ENOMEM. */
static int job_headers(struct job *j)
{
	char sig[CH_WEBHOOK_SENDER_SIG_LEN];
	char line[64 + CH_WEBHOOK_SENDER_EVENT_ID_MAX];
	const char *fixed[] = {
	    "Content-Type: application/json",
	    "Expect:", /* no 100-continue round trip for large bodies */
	    "User-Agent: chorus-webhook/1",
	};
	struct curl_slist *l;

	ch_webhook_sender_sign(j->secret, j->body, j->body_len, sig);
	OPENSSL_cleanse(j->secret, j->secret_len);
	if (!sig[0])
		return EINVAL;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		l = curl_slist_append(j->hdrs, fixed[i]);
		if (!l)
			return ENOMEM;
		j->hdrs = l;
	}
	snprintf(line, sizeof(line), "X-Chorus-Event-Id: %s", j->event_id);
	l = curl_slist_append(j->hdrs, line);
	if (!l)
		return ENOMEM;
	j->hdrs = l;
	snprintf(line, sizeof(line), "X-Chorus-Signature: %s", sig);
	l = curl_slist_append(j->hdrs, line);
	if (!l)
		return ENOMEM;
	j->hdrs = l;
	return 0;
}

/*
 * Sender thread: signs j, sets up its easy handle and adds it to the multi
 * handle. Returns 0 (j is now a transfer), or an errno value with j's
 * result filled in (the caller delivers it).
 */
static int job_start(struct ch_webhook_sender *s, struct job *j)
{
	const long timeout = (long)s->timeout_ms;
	CURL *e;
	int err;

	j->started_ms = ch_time_mono_ms();
	err = job_headers(j);
	if (err) {
		job_set_error(j, err == ENOMEM ? "out of memory"
		                               : "could not sign the body");
		return err;
	}

	e = curl_easy_init();
	if (!e) {
		job_set_error(j, "out of memory");
		return ENOMEM;
	}
	j->easy = e;

	if (curl_easy_setopt(e, CURLOPT_PRIVATE, j) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_URL, j->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout) !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	                     (curl_off_t)j->body_len) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body) !=
	        CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf) != CURLE_OK) {
		job_set_error(j, "curl refused an option");
		return EINVAL;
	}
#if LIBCURL_VERSION_NUM >= 0x075700
	/* Do not wait for a stuck DNS resolver thread when abandoning. */
	(void)curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif

	if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
		job_set_error(j, "curl_multi_add_handle failed");
		return ENOMEM;
	}
	return 0;
}

/* Sender thread: turns a completed transfer into its result and delivers
 * it. j has been unlinked from the active list. */
static void job_complete(struct ch_webhook_sender *s, struct job *j,
                         CURLcode rc)
{
	long status = 0;
	uint64_t ms = ch_time_mono_ms() - j->started_ms;

	if (rc == CURLE_OK)
		(void)curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE,
		                        &status);
	if (rc != CURLE_OK)
		job_set_error(j, j->errbuf[0] ? j->errbuf
		                              : curl_easy_strerror(rc));
	else if (status <= 0)
		job_set_error(j, "no HTTP status in the response");
	else
		j->res.http_status = (int)status;
	job_release_curl(s, j);

	if (j->res.http_status >= 200 && j->res.http_status < 300)
		ch_log_debug(LOG_MOD,
		             "job %" PRIu64 ": HTTP %d in %" PRIu64 " ms",
		             j->res.job_id, j->res.http_status, ms);
	else if (j->res.http_status)
		ch_log_warn(LOG_MOD,
		            "job %" PRIu64 ": HTTP %d in %" PRIu64 " ms",
		            j->res.job_id, j->res.http_status, ms);
	else
		ch_log_warn(LOG_MOD,
		            "job %" PRIu64 ": failed after %" PRIu64 " ms: %s",
		            j->res.job_id, ms, j->res.error);
	job_deliver(s, j);
}

/* Sender thread: reaps every finished transfer from the multi handle. */
static void reap_finished(struct ch_webhook_sender *s)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
		char *priv = NULL;
		struct job *j;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		                      &priv) != CURLE_OK ||
		    !priv)
			continue;
		j = (struct job *)priv;
		list_unlink(&j->le);
		job_complete(s, j, msg->data.result);
	}
}

/*
 * Sender thread: moves the submitted jobs into batch. Returns true if the
 * thread must stop instead.
 */
static bool take_pending(struct ch_webhook_sender *s, struct list *batch)
{
	struct le *le;
	bool stop;

	pthread_mutex_lock(&s->lock);
	stop = s->stop;
	while (!stop && (le = list_head(&s->pending)) != NULL) {
		list_unlink(le);
		list_append(batch, le, le->data);
	}
	pthread_mutex_unlock(&s->lock);
	return stop;
}

/*
 * Sender thread: retries a wake-up that mqueue_push failed to send.
 * Returns true if one is still owed (poll briefly, then try again).
 */
static bool wake_retry(struct ch_webhook_sender *s)
{
	bool owed;

	pthread_mutex_lock(&s->lock);
	wake_control_locked(s);
	owed = !s->wake_pending && list_head(&s->done) != NULL;
	pthread_mutex_unlock(&s->lock);
	return owed;
}

/*
 * Sender thread: the multi handle failed. Every job it holds or that is
 * queued is reported as failed, and submit refuses new ones.
 */
static void fail_all(struct ch_webhook_sender *s, struct list *active,
                     const char *why)
{
	struct list queued = LIST_INIT;
	struct le *le;

	ch_log_error(LOG_MOD, "sender thread failed (%s); webhooks stop", why);
	pthread_mutex_lock(&s->lock);
	s->dead = true;
	while ((le = list_head(&s->pending)) != NULL) {
		list_unlink(le);
		list_append(&queued, le, le->data);
	}
	pthread_mutex_unlock(&s->lock);

	while ((le = list_head(active)) != NULL) {
		struct job *j = le->data;

		list_unlink(le);
		job_release_curl(s, j);
		job_set_error(j, why);
		job_deliver(s, j);
	}
	while ((le = list_head(&queued)) != NULL) {
		struct job *j = le->data;

		list_unlink(le);
		job_set_error(j, why);
		job_deliver(s, j);
	}
}

/* Sender thread: starts every job in batch, reporting those that fail. */
static void start_batch(struct ch_webhook_sender *s, struct list *batch,
                        struct list *active)
{
	struct le *le;

	while ((le = list_head(batch)) != NULL) {
		struct job *j = le->data;

		list_unlink(le);
		if (job_start(s, j)) {
			ch_log_warn(LOG_MOD, "job %" PRIu64 ": not sent: %s",
			            j->res.job_id, j->res.error);
			job_release_curl(s, j);
			job_deliver(s, j);
			continue;
		}
		list_append(active, &j->le, j);
	}
}

/* The sender thread. Owns the active list; see the file header. */
static void *sender_thread(void *arg)
{
	struct ch_webhook_sender *s = arg;
	struct list active = LIST_INIT;
	struct list batch = LIST_INIT;
	unsigned abandoned = 0;
	struct le *le;
	int running, timeout;
	CURLMcode mc;

	for (;;) {
		if (take_pending(s, &batch))
			break;
		start_batch(s, &batch, &active);

		mc = curl_multi_perform(s->multi, &running);
		if (mc != CURLM_OK) {
			fail_all(s, &active, curl_multi_strerror(mc));
			return NULL;
		}
		reap_finished(s);

		timeout = wake_retry(s) ? POLL_RETRY_MS : POLL_IDLE_MS;
		mc = curl_multi_poll(s->multi, NULL, 0, timeout, NULL);
		if (mc != CURLM_OK) {
			fail_all(s, &active, curl_multi_strerror(mc));
			return NULL;
		}
	}

	/* Stopped: abandon the transfers, unreported. */
	while ((le = list_head(&active)) != NULL) {
		struct job *j = le->data;

		list_unlink(le);
		job_release_curl(s, j);
		job_free(j);
		++abandoned;
	}
	if (abandoned)
		ch_log_info(LOG_MOD, "stopped, %u request(s) abandoned",
		            abandoned);
	return NULL;
}

/*
 * mqueue handler, control thread: delivers the results waiting in s->done.
 * Takes one at a time so that doneh may stop or free the sender.
 */
static void mqueue_handler(int id, void *data, void *arg)
{
	struct ch_webhook_sender *s = arg;

	(void)id;
	(void)data;
	mem_ref(s);
	while (!s->closed) {
		struct le *le;
		struct job *j;

		pthread_mutex_lock(&s->lock);
		le = list_head(&s->done);
		if (!le) {
			s->wake_pending = false;
			pthread_mutex_unlock(&s->lock);
			break;
		}
		list_unlink(le);
		pthread_mutex_unlock(&s->lock);

		j = le->data;
		s->doneh(&j->res, s->arg);
		job_free(j);
	}
	mem_deref(s);
}

void ch_webhook_sender_stop(struct ch_webhook_sender *s)
{
	if (!s || s->closed)
		return;
	s->closed = true;
	if (!s->thread_running)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	(void)curl_multi_wakeup(s->multi);
	pthread_join(s->thread, NULL);
	s->thread_running = false;
}

/* Control thread, last reference gone: the thread is joined first. */
static void sender_destructor(void *arg)
{
	struct ch_webhook_sender *s = arg;

	ch_webhook_sender_stop(s);
	s->mq = mem_deref(s->mq);
	if (s->lock_ready) {
		job_list_free(&s->pending);
		job_list_free(&s->done);
		pthread_mutex_destroy(&s->lock);
	}
	if (s->multi)
		curl_multi_cleanup(s->multi);
}

int ch_webhook_sender_alloc(struct ch_webhook_sender **sp, unsigned timeout_ms,
                            ch_webhook_sender_done_h *doneh, void *arg)
{
	struct ch_webhook_sender *s;
	sigset_t all, old;
	int err;

	if (!sp || !doneh || !timeout_ms)
		return EINVAL;
	if (ch_curlglobal_init())
		return ENOMEM;

	s = mem_zalloc(sizeof(*s), sender_destructor);
	if (!s)
		return ENOMEM;
	s->timeout_ms = timeout_ms;
	s->doneh = doneh;
	s->arg = arg;
	list_init(&s->pending);
	list_init(&s->done);

	err = pthread_mutex_init(&s->lock, NULL);
	if (err)
		goto out;
	s->lock_ready = true;

	s->multi = curl_multi_init();
	if (!s->multi) {
		err = ENOMEM;
		goto out;
	}

	err = mqueue_alloc(&s->mq, mqueue_handler, s);
	if (err)
		goto out;

	/* The sender thread takes no signals: they belong to the main loop,
	 * and a blocked SIGPIPE from a TLS write just becomes EPIPE. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->thread, NULL, sender_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto out;
	s->thread_running = true;

out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}

/* True if event_id can go into a header line as is. */
static bool event_id_ok(const char *event_id)
{
	size_t n = strlen(event_id);

	if (!n || n > CH_WEBHOOK_SENDER_EVENT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)event_id[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int ch_webhook_sender_submit(struct ch_webhook_sender *s, uint64_t job_id,
                             const char *url, const char *secret,
                             const char *event_id, const char *body,
                             size_t body_len)
{
	size_t url_len, secret_len, evid_len, fixed, size;
	struct job *j;
	char *p;

	if (!s || !url || !secret || !event_id || (!body && body_len))
		return EINVAL;
	if (!event_id_ok(event_id))
		return EINVAL;
	if (s->closed)
		return ESHUTDOWN;

	url_len = strlen(url);
	secret_len = strlen(secret);
	evid_len = strlen(event_id);
	fixed = sizeof(*j) + url_len + secret_len + evid_len + 4;
	if (body_len > SIZE_MAX - fixed)
		return ENOMEM;
	size = fixed + body_len;

	j = calloc(1, size);
	if (!j)
		return ENOMEM;
	j->res.job_id = job_id;
	p = (char *)(j + 1);
	j->url = memcpy(p, url, url_len + 1);
	p += url_len + 1;
	j->secret = memcpy(p, secret, secret_len + 1);
	j->secret_len = secret_len;
	p += secret_len + 1;
	j->event_id = memcpy(p, event_id, evid_len + 1);
	p += evid_len + 1;
	j->body = p;
	if (body_len)
		memcpy(p, body, body_len);
	p[body_len] = '\0';
	j->body_len = body_len;

	pthread_mutex_lock(&s->lock);
	if (s->stop || s->dead) {
		pthread_mutex_unlock(&s->lock);
		job_free(j);
		return ESHUTDOWN;
	}
	list_append(&s->pending, &j->le, j);
	pthread_mutex_unlock(&s->lock);

	(void)curl_multi_wakeup(s->multi);
	return 0;
}

void ch_webhook_sender_free(struct ch_webhook_sender *s)
{
	if (!s)
		return;
	ch_webhook_sender_stop(s);
	mem_deref(s);
}
