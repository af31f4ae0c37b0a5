/*
 * webhook_sender.h: the webhook HTTP sender, a service thread that POSTs
 * signed JSON event bodies so that webhook I/O never blocks the control
 * thread (the thread running libre's re_main loop).
 *
 * The control thread submits jobs; the sender thread runs them on one curl
 * multi handle, many at a time (the caller decides ordering: it keeps at
 * most one job per conference in flight); each finished job comes back to
 * the control thread as one struct ch_webhook_result through a libre
 * mqueue, and the done handler runs there, never on the sender thread.
 *
 * Requests: POST, no redirects followed, no proxy from the environment,
 * http and https only, each bounded by the timeout given at alloc. Headers:
 *   Content-Type: application/json
 *   X-Chorus-Event-Id: <event_id>
 *   X-Chorus-Signature: sha256=<lowercase hex HMAC-SHA256(secret, body)>
 *
 * Threading: every function here but ch_webhook_sender_sign (pure, any
 * thread) is called on the control thread that called
 * ch_webhook_sender_alloc, which must run a libre main loop.
 */
#ifndef CH_WEBHOOK_SENDER_H
#define CH_WEBHOOK_SENDER_H

#include <stddef.h>
#include <stdint.h>

/* Longest event_id accepted by ch_webhook_sender_submit, in bytes. */
#define CH_WEBHOOK_SENDER_EVENT_ID_MAX 200
/* Size of the buffer ch_webhook_sender_sign writes: "sha256=" + 64 + NUL */
#define CH_WEBHOOK_SENDER_SIG_LEN 72

/* Opaque. Owned by the control thread; holds the sender thread. */
struct ch_webhook_sender;

/*
 * The outcome of one job. Filled by the sender thread, read by the done
 * handler on the control thread; valid only during that call (copy what
 * you keep).
 */
struct ch_webhook_result {
	uint64_t job_id; /* as given to ch_webhook_sender_submit */
	int http_status; /* HTTP status received, 0 on transport
	                    error/timeout */
	char error[160]; /* curl error text when http_status == 0, else "" */
};

/*
 * Called on the control thread once per submitted job, unless the sender
 * was stopped first. It may submit new jobs, and may call
 * ch_webhook_sender_stop or ch_webhook_sender_free on the sender (no
 * further results are then delivered).
 */
typedef void(ch_webhook_sender_done_h)(const struct ch_webhook_result *res,
                                       void *arg);

/*
 * Starts the sender thread. doneh (required) is called with arg on the
 * thread that called alloc (the libre main-loop thread), delivered through
 * a libre mqueue, never on the sender thread. timeout_ms (> 0) bounds each
 * POST, connection set-up included. Initialises curl globally on first use.
 * Returns 0 and sets *sp, or an errno value (EINVAL on bad arguments,
 * ENOMEM, or what pthread_create or mqueue_alloc returned); *sp is then
 * untouched.
 */
int ch_webhook_sender_alloc(struct ch_webhook_sender **sp, unsigned timeout_ms,
                            ch_webhook_sender_done_h *doneh, void *arg);

/*
 * Queues one POST of body (body_len bytes, any content, may be 0 with body
 * NULL) to url, and returns at once: all strings and the body are copied.
 * The signature is computed on the sender thread; the copy of secret is
 * wiped once used. Exactly one result with job_id comes back later through
 * doneh, unless the sender is stopped first.
 * Returns 0; EINVAL if s, url, secret or event_id is NULL, body is NULL
 * with body_len > 0, or event_id is empty, longer than
 * CH_WEBHOOK_SENDER_EVENT_ID_MAX or holds control characters (it becomes a
 * header); ENOMEM; or ESHUTDOWN after ch_webhook_sender_stop or after the
 * sender thread failed (that failure is reported for every job it held).
 * Called only on the control thread; safe against the sender thread.
 */
int ch_webhook_sender_submit(struct ch_webhook_sender *s, uint64_t job_id,
                             const char *url, const char *secret,
                             const char *event_id, const char *body,
                             size_t body_len);

/*
 * Stops the sender thread and joins it: queued and in-flight requests are
 * abandoned, and no result (not even one already finished but not yet
 * delivered) is reported after this call. Later submits return ESHUTDOWN.
 * Returns promptly: it does not wait for any request to end. Idempotent,
 * NULL-safe. Use it to quiesce webhooks before tearing down their owner;
 * ch_webhook_sender_free is still needed.
 */
void ch_webhook_sender_stop(struct ch_webhook_sender *s);

/*
 * Stops the thread as ch_webhook_sender_stop does (in-flight requests are
 * abandoned and NOT reported), joins it, frees everything. NULL-safe. May
 * be called from within doneh.
 */
void ch_webhook_sender_free(struct ch_webhook_sender *s);

/*
 * Pure helper, also used by tests: writes "sha256=<64 lowercase hex>" + NUL
 * (CH_WEBHOOK_SENDER_SIG_LEN bytes) into out, the HMAC-SHA256 of body (len
 * bytes; body may be NULL when len is 0) keyed by secret (strlen bytes).
 * If OpenSSL fails, writes "" (the sender then reports that job as failed).
 * Thread-safe.
 */
void ch_webhook_sender_sign(const char *secret, const char *body, size_t len,
                            char out[CH_WEBHOOK_SENDER_SIG_LEN]);

#endif
