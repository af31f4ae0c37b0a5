/*
 * janus_util.h: a small client of the Janus WebRTC server's HTTP API (the
 * "janus.transport.http" transport) for the load generators in bench/:
 * create a session, attach plugin handles, send plugin requests (answered
 * at once, or acknowledged and answered later by an event), long-poll the
 * session's events, keep the session alive from a thread of its own, and
 * destroy the session.
 *
 * Janus's HTTP API: POST /janus {"janus":"create"} gives a session id;
 * POST /janus/SESSION {"janus":"attach","plugin":...} a handle id; POST
 * /janus/SESSION/HANDLE {"janus":"message","body":{...}} a plugin request,
 * answered with "success" and "plugindata" (a synchronous request) or with
 * "ack" and, later, an "event" with the same transaction on GET
 * /janus/SESSION?maxev=N (a long poll: it answers when events are queued,
 * or after 30 s with a keepalive). A session without a request for
 * session_timeout seconds (60 by default) is destroyed by Janus; a long
 * poll is not a request to the core and does not count, a POST of
 * {"janus":"keepalive"} does.
 *
 * Header-only (static functions), as load_util.h: bench/CMakeLists.txt
 * builds one program from each bench_*.c. libcurl (easy interface) and
 * jansson; the caller runs curl_global_init() once before any of this.
 */
#ifndef CH_BENCH_JANUS_UTIL_H
#define CH_BENCH_JANUS_UTIL_H

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load_util.h"

/* One connection to Janus and, once created, its session. Owned by one
 * thread (a curl easy handle is not shared); ju_close() frees it. */
struct ju_client {
	CURL *curl;
	char url[256];    /* http://HOST:PORT/janus */
	uint64_t session; /* 0 until ju_session_create() */
	unsigned txn;     /* the last transaction number used */
};

/* A growing buffer for curl's write callback. */
struct ju_buf {
	char *p;
	size_t len;
};

static inline size_t ju_write_cb(char *d, size_t sz, size_t n, void *arg)
{
	struct ju_buf *b = arg;
	char *r = realloc(b->p, b->len + sz * n + 1);
	if (!r)
		return 0;
	memcpy(r + b->len, d, sz * n);
	b->p = r;
	b->len += sz * n;
	b->p[b->len] = '\0';
	return sz * n;
}

/* Opens c on url (http://HOST:PORT/janus). Returns 0 or -1. */
static inline int ju_open(struct ju_client *c, const char *url)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->url, sizeof(c->url), "%s", url);
	c->curl = curl_easy_init();
	return c->curl ? 0 : -1;
}

static inline void ju_close(struct ju_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

/*
 * One request on curl handle h: POST of req (a JSON object, a
 * "transaction" added when it has none; not taken) to url + path, or GET
 * when req is NULL, within timeout_ms. Returns the parsed answer
 * (json_decref() it) or NULL on a transport error or a non-JSON answer,
 * printed with who (the program's name), but for a GET that timed out (a
 * long poll without events) or was aborted.
 */
static inline json_t *ju_request(CURL *h, const char *url, const char *path,
                                 json_t *req, long timeout_ms, const char *who)
{
	char full[512];
	struct ju_buf b = {NULL, 0};
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_t *ans = NULL;
	CURLcode rc;

	snprintf(full, sizeof(full), "%s%s", url, path);
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ju_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK && b.p)
		ans = json_loads(b.p, 0, NULL);
	if (!ans && rc != CURLE_ABORTED_BY_CALLBACK &&
	    !(rc == CURLE_OPERATION_TIMEDOUT && !body))
		fprintf(stderr, "%s: %s %s: %s%s\n", who, body ? "POST" : "GET",
		        full, rc ? curl_easy_strerror(rc) : "not JSON: ",
		        rc ? "" : (b.p ? b.p : "(empty)"));
	free(body);
	free(b.p);
	return ans;
}

/* The "janus" field of an answer, "" if none. */
static inline const char *ju_kind(const json_t *ans)
{
	const char *k = json_string_value(json_object_get(ans, "janus"));
	return k ? k : "";
}

/*
 * POST of req (taken: its reference is dropped) to c's url + path with a
 * new transaction "t<n>" (copied to txn, when not NULL, of 32 bytes).
 * Returns the answer, or NULL (printed) on a transport error or an answer
 * of kind "error".
 */
static inline json_t *ju_post(struct ju_client *c, const char *path,
                              json_t *req, char *txn)
{
	char t[32];
	json_t *ans;

	snprintf(t, sizeof(t), "t%u", ++c->txn);
	if (txn)
		memcpy(txn, t, sizeof(t));
	json_object_set_new(req, "transaction", json_string(t));
	ans = ju_request(c->curl, c->url, path, req, 10000, "janus");
	json_decref(req);
	if (ans && !strcmp(ju_kind(ans), "error")) {
		char *s = json_dumps(ans, JSON_COMPACT);
		fprintf(stderr, "janus: %s: %s\n", path, s ? s : "error");
		free(s);
		json_decref(ans);
		ans = NULL;
	}
	return ans;
}

/* The integer data.id of a "success" answer (taken), 0 if none. */
static inline uint64_t ju_data_id(json_t *ans)
{
	json_t *id = json_object_get(json_object_get(ans, "data"), "id");
	uint64_t v = json_is_integer(id) ? (uint64_t)json_integer_value(id) : 0;
	json_decref(ans);
	return v;
}

/* Creates c's session. Returns 0 or -1 (printed). */
static inline int ju_session_create(struct ju_client *c)
{
	c->session = ju_data_id(
	    ju_post(c, "", json_pack("{s:s}", "janus", "create"), NULL));
	return c->session ? 0 : -1;
}

/* Attaches a handle of plugin (e.g. "janus.plugin.audiobridge") to c's
 * session. Returns the handle id, 0 on failure (printed). */
static inline uint64_t ju_attach(struct ju_client *c, const char *plugin)
{
	char path[64];
	snprintf(path, sizeof(path), "/%" PRIu64, c->session);
	return ju_data_id(ju_post(
	    c, path,
	    json_pack("{s:s,s:s}", "janus", "attach", "plugin", plugin), NULL));
}

/*
 * Sends plugin request body (taken) on handle. A synchronous request is
 * answered at once: returns its plugindata.data (json_decref() it). An
 * asynchronous one is acknowledged: returns the ack, its transaction in
 * txn (32 bytes, or NULL), and the answer comes as an event (ju_poll()).
 * NULL on failure (printed).
 */
static inline json_t *ju_message(struct ju_client *c, uint64_t handle,
                                 json_t *body, char *txn)
{
	char path[64];
	json_t *ans, *data;

	snprintf(path, sizeof(path), "/%" PRIu64 "/%" PRIu64, c->session,
	         handle);
	ans = ju_post(c, path,
	              json_pack("{s:s,s:o}", "janus", "message", "body", body),
	              txn);
	if (!ans || !strcmp(ju_kind(ans), "ack"))
		return ans;
	data = json_object_get(json_object_get(ans, "plugindata"), "data");
	json_incref(data);
	json_decref(ans);
	return data;
}

/* The plugindata.data of event ev (borrowed), NULL if none. */
static inline json_t *ju_event_data(const json_t *ev)
{
	return json_object_get(json_object_get(ev, "plugindata"), "data");
}

/* One long poll of c's session on curl handle h: up to maxev events, as a
 * JSON array (json_decref() it), after at most timeout_ms; NULL on a
 * transport error or the timeout. */
static inline json_t *ju_poll(CURL *h, const char *url, uint64_t session,
                              unsigned maxev, long timeout_ms)
{
	char path[64];
	json_t *a;

	snprintf(path, sizeof(path), "/%" PRIu64 "?maxev=%u", session, maxev);
	a = ju_request(h, url, path, NULL, timeout_ms, "janus poll");
	if (a && !json_is_array(a)) { /* a single event without maxev */
		json_t *one = json_array();
		json_array_append_new(one, a);
		a = one;
	}
	return a;
}

/* Destroys c's session (Janus detaches its handles). */
static inline void ju_session_destroy(struct ju_client *c)
{
	char path[64];
	if (!c->session)
		return;
	snprintf(path, sizeof(path), "/%" PRIu64, c->session);
	json_decref(
	    ju_post(c, path, json_pack("{s:s}", "janus", "destroy"), NULL));
	c->session = 0;
}

/* ---- keeping a session alive ---- */

#define JU_KEEPALIVE_MS 5000 /* under Janus's session_timeout */

/*
 * A thread that keeps one session alive until told to stop: a keepalive
 * every JU_KEEPALIVE_MS, and in between a long poll that takes the events
 * queued for the session (counted and dropped: else they pile up in
 * Janus). Its own curl handle; the fields are written by the thread and
 * read after ju_keeper_stop() has joined it.
 */
struct ju_keeper {
	pthread_t thr;
	bool running;
	atomic_bool stop;
	char url[256];
	uint64_t session;
	uint64_t keepalives, events, errors;
};

/* curl's progress callback: aborts the poll once stop is set (curl calls
 * it about once a second while a transfer waits). */
static inline int ju_keeper_progress(void *arg, curl_off_t a, curl_off_t b,
                                     curl_off_t c, curl_off_t d)
{
	struct ju_keeper *k = arg;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return atomic_load(&k->stop) ? 1 : 0;
}

static inline void *ju_keeper_main(void *arg)
{
	struct ju_keeper *k = arg;
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, ju_keeper_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, k);
	while (!atomic_load(&k->stop)) {
		char path[64], txn[32];
		uint64_t until = lu_now_ns() + JU_KEEPALIVE_MS * 1000000ull;
		json_t *ka, *ans;

		snprintf(path, sizeof(path), "/%" PRIu64, k->session);
		snprintf(txn, sizeof(txn), "k%" PRIu64, ++k->keepalives);
		ka = json_pack("{s:s,s:s}", "janus", "keepalive", "transaction",
		               txn);
		ans = ju_request(h, k->url, path, ka, 5000, "janus keepalive");
		if (!ans || strcmp(ju_kind(ans), "ack"))
			k->errors++;
		json_decref(ans);
		json_decref(ka);
		/* long polls until the next keepalive is due */
		for (uint64_t now = lu_now_ns();
		     now < until && !atomic_load(&k->stop); now = lu_now_ns()) {
			json_t *a =
			    ju_poll(h, k->url, k->session, 100,
			            (long)((until - now) / 1000000) + 1);
			k->events += json_array_size(a);
			if (!a) /* timed out, or an error: no busy loop */
				usleep(100000);
			json_decref(a);
		}
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* Starts k on c's session. Returns 0 or an errno. */
static inline int ju_keeper_start(struct ju_keeper *k,
                                  const struct ju_client *c)
{
	int err;
	memset(k, 0, sizeof(*k));
	atomic_init(&k->stop, false);
	snprintf(k->url, sizeof(k->url), "%s", c->url);
	k->session = c->session;
	err = pthread_create(&k->thr, NULL, ju_keeper_main, k);
	k->running = !err;
	return err;
}

/* Stops k and waits for its thread (about a second at most). */
static inline void ju_keeper_stop(struct ju_keeper *k)
{
	if (!k->running)
		return;
	atomic_store(&k->stop, true);
	pthread_join(k->thr, NULL);
	k->running = false;
}

#endif
