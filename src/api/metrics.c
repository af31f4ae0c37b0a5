/*
 * metrics.c: GET /metrics, the Prometheus text exposition (version 0.0.4)
 * of the server's figures, prefix chorus_: conferences, participants and
 * calls by status (read from the store: the live ones), the media engine's
 * packet counters, tick time and jitter histograms and drop counters
 * (media/engine_metrics.h, read without locks), the transcriber's dropped
 * audio, the webhook backlog and failures, HTTP requests by route and
 * status (counted in api.c) and the store's commit time.
 *
 * Served on the API (any customer's token) and, when --metrics is set, on
 * a listener of its own that answers /metrics without a token and 404 to
 * anything else. Control thread only. docs/operations.md lists every
 * metric.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/httpd.h"
#include "api/metrics_text.h"
#include "core/core.h"
#include "events/events.h"
#include "media/engine.h"
#include "media/engine_metrics.h"
#include "services/transcriber.h"
#include "store/store.h"
#include "util/histogram.h"
#include "util/log.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_msg.h>
#include <re_http.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "api"

/* ---- HTTP request counters ---- */

void ch_api_http_count(struct ch_api *api, int route, uint16_t status)
{
	if (!api->http)
		return;
	size_t row = route < 0 ? ch_api_route_count() : (size_t)route;
	struct ch_api_http_row *h = &api->http[row];
	size_t i = 0;
	while (i < CH_API_STATUS_SLOTS - 1 && h->status[i] &&
	       h->status[i] != status)
		i++;
	if (!h->status[i])
		h->status[i] = status;
	h->n[i]++;
}

static void http_metrics(struct ch_metrics_text *b, const struct ch_api *api)
{
	const char *name = "chorus_http_requests_total";
	ch_metrics_text_family(b, name, "counter",
	                       "HTTP requests answered, by method, route "
	                       "pattern and status");
	size_t nr = ch_api_route_count();
	for (size_t r = 0; api->http && r <= nr; r++) {
		const struct ch_api_http_row *h = &api->http[r];
		char route[128];
		if (r < nr)
			snprintf(route, sizeof(route), "%s%s",
			         strcmp(ch_api_route_pattern(r), "/metrics")
			             ? "/v1.0"
			             : "",
			         ch_api_route_pattern(r));
		else
			snprintf(route, sizeof(route), "unmatched");
		for (size_t i = 0; i < CH_API_STATUS_SLOTS && h->status[i];
		     i++) {
			char st[8];
			snprintf(st, sizeof(st), "%u", h->status[i]);
			const char *l[] = {
			    "method", r < nr ? ch_api_route_method(r) : "",
			    "route",  route,
			    "status", st,
			    NULL};
			ch_metrics_text_u64(b, name, l, h->n[i]);
		}
	}
}

/* ---- store: live conferences, participants, calls ---- */

struct live_count {
	uint64_t conf[CH_CONFERENCE_TERMINATED];
	uint64_t cc[CH_CONFERENCECALL_LEAVED];
	uint64_t call[CH_CALL_HANGUP];
	char (*ids)[CH_UUID_LEN];
	size_t n, cap;
	int err;
};

static int conf_h(const struct ch_conference *c, void *arg)
{
	struct live_count *lc = arg;
	if (c->status < CH_CONFERENCE_TERMINATED)
		lc->conf[c->status]++;
	if (lc->n == lc->cap) {
		size_t cap = lc->cap ? lc->cap * 2 : 64;
		void *p = realloc(lc->ids, cap * sizeof(*lc->ids));
		if (!p)
			return ENOMEM;
		lc->ids = p;
		lc->cap = cap;
	}
	memcpy(lc->ids[lc->n++], c->id, CH_UUID_LEN);
	return 0;
}

static int cc_h(const struct ch_conferencecall *cc, void *arg)
{
	struct live_count *lc = arg;
	if (cc->status < CH_CONFERENCECALL_LEAVED)
		lc->cc[cc->status]++;
	return 0;
}

static int call_h(const struct ch_call *c, void *arg)
{
	struct live_count *lc = arg;
	if (c->status < CH_CALL_HANGUP)
		lc->call[c->status]++;
	return 0;
}

static void by_status(struct ch_metrics_text *b, const char *name,
                      const char *help, const uint64_t *v, size_t n,
                      const char *(*str)(int))
{
	ch_metrics_text_family(b, name, "gauge", help);
	for (size_t i = 0; i < n; i++) {
		const char *l[] = {"status", str((int)i), NULL};
		ch_metrics_text_u64(b, name, l, v[i]);
	}
}

static const char *conf_str(int s)
{
	return ch_conference_status_str((enum ch_conference_status)s);
}

static const char *cc_str(int s)
{
	return ch_conferencecall_status_str((enum ch_conferencecall_status)s);
}

static const char *call_str(int s)
{
	return ch_call_status_str((enum ch_call_status)s);
}

/* Returns 0 or the store's error (the scrape then fails). */
static int store_metrics(struct ch_metrics_text *b, struct ch_api *api)
{
	struct ch_store *st = ch_core_store(api->core);
	struct live_count lc;
	memset(&lc, 0, sizeof(lc));
	int err = st->ops->conference_list_live(st, conf_h, &lc);
	for (size_t i = 0; !err && i < lc.n; i++)
		err = st->ops->conferencecall_list_present(st, lc.ids[i], cc_h,
		                                           &lc);
	if (!err)
		err = st->ops->call_list_live(st, call_h, &lc);
	free(lc.ids);
	if (err)
		return err;
	by_status(b, "chorus_conferences",
	          "Conferences not terminated, by status", lc.conf,
	          CH_CONFERENCE_TERMINATED, conf_str);
	by_status(b, "chorus_participants",
	          "Participants of live conferences that have not left, by "
	          "status",
	          lc.cc, CH_CONFERENCECALL_LEAVED, cc_str);
	by_status(b, "chorus_calls", "Calls not hung up, by status", lc.call,
	          CH_CALL_HANGUP, call_str);

	struct ch_histogram_snap h;
	ch_histogram_read(ch_core_txn_histogram(api->core), &h, 0);
	ch_metrics_text_family(b, "chorus_store_commit_seconds", "histogram",
	                       "Time of each store transaction's commit");
	ch_metrics_text_histogram(b, "chorus_store_commit_seconds", NULL, &h,
	                          1e-6);
	uint64_t max_us;
	ch_histogram_read(ch_core_stall_histogram(api->core, &max_us), &h, 0);
	ch_metrics_text_family(b, "chorus_control_stall_seconds", "histogram",
	                       "How long the control thread's loop was busy "
	                       "while its 5 ms probe was due, one sample per "
	                       "5 ms");
	ch_metrics_text_histogram(b, "chorus_control_stall_seconds", NULL, &h,
	                          1e-6);
	ch_metrics_text_family(b, "chorus_control_stall_max_seconds", "gauge",
	                       "Longest control loop stall since start");
	ch_metrics_text_double(b, "chorus_control_stall_max_seconds", NULL,
	                       max_us * 1e-6);
	return 0;
}

/* ---- media engine ---- */

static void counter(struct ch_metrics_text *b, const char *name,
                    const char *help, uint64_t v)
{
	ch_metrics_text_family(b, name, "counter", help);
	ch_metrics_text_u64(b, name, NULL, v);
}

static void gauge(struct ch_metrics_text *b, const char *name, const char *help,
                  uint64_t v)
{
	ch_metrics_text_family(b, name, "gauge", help);
	ch_metrics_text_u64(b, name, NULL, v);
}

/* One family with a sample per worker: field f of each worker's figures. */
enum wfield { W_OVERRUNS, W_SKIPPED, W_TICKS, W_EV_FULL, W_TAP_REC, W_TAP_STT };

static uint64_t wget(const struct ch_media_worker_metrics *m, enum wfield f)
{
	switch (f) {
	case W_OVERRUNS:
		return m->overruns;
	case W_SKIPPED:
		return m->skipped;
	case W_TICKS:
		return m->ticks;
	case W_EV_FULL:
		return m->ev_ring_full;
	case W_TAP_REC:
		return m->tap_drops[0];
	case W_TAP_STT:
		return m->tap_drops[1];
	}
	return 0;
}

static void per_worker(struct ch_metrics_text *b, const char *name,
                       const char *help,
                       const struct ch_media_worker_metrics *w, unsigned nw,
                       enum wfield f)
{
	ch_metrics_text_family(b, name, "counter", help);
	for (unsigned i = 0; i < nw; i++) {
		char idx[12];
		snprintf(idx, sizeof(idx), "%u", i);
		const char *l[] = {"worker", idx, NULL};
		ch_metrics_text_u64(b, name, l, wget(&w[i], f));
	}
}

static void per_worker_histogram(struct ch_metrics_text *b, const char *name,
                                 const char *help,
                                 const struct ch_media_worker_metrics *w,
                                 unsigned nw, bool jitter)
{
	ch_metrics_text_family(b, name, "histogram", help);
	for (unsigned i = 0; i < nw; i++) {
		char idx[12];
		snprintf(idx, sizeof(idx), "%u", i);
		const char *l[] = {"worker", idx, NULL};
		ch_metrics_text_histogram(
		    b, name, l, jitter ? &w[i].jitter_us : &w[i].tick_ns,
		    jitter ? 1e-6 : 1e-9);
	}
}

static void media_metrics(struct ch_metrics_text *b, struct ch_api *api)
{
	struct ch_media_engine_metrics m;
	ch_media_engine_metrics(api->eng, &m);
	gauge(b, "chorus_media_rooms", "Mixing rooms", m.rooms);
	gauge(b, "chorus_media_legs", "Media legs (RTP streams)", m.legs);
	counter(b, "chorus_rtp_packets_received_total",
	        "RTP packets received, every leg so far", m.packets_in);
	counter(b, "chorus_rtp_packets_sent_total",
	        "RTP packets sent, every leg so far", m.packets_out);
	counter(b, "chorus_rtp_packets_lost_total",
	        "RTP packets lost on the way in (sequence gaps), every leg "
	        "so far",
	        m.lost);
	counter(b, "chorus_rtp_packets_rejected_total",
	        "RTP and RTCP packets dropped by the source filter",
	        m.rejected);
	counter(b, "chorus_media_frames_concealed_total",
	        "Frames concealed because their packet was lost or not there "
	        "at its tick (jitter buffer), every leg so far",
	        m.concealed);
	counter(b, "chorus_media_packets_late_total",
	        "RTP packets dropped for coming after their playout time "
	        "(jitter buffer), every leg so far",
	        m.late);
	counter(b, "chorus_media_command_ring_full_total",
	        "Commands to a media worker that found its ring full (sent "
	        "later)",
	        m.cmd_ring_full);

	unsigned nw = ch_media_engine_metrics_workers(api->eng);
	struct ch_media_worker_metrics *w = nw ? calloc(nw, sizeof(*w)) : NULL;
	if (!w)
		nw = 0;
	for (unsigned i = 0; i < nw; i++)
		(void)ch_media_engine_metrics_worker(api->eng, i, &w[i]);
	per_worker_histogram(b, "chorus_media_tick_seconds",
	                     "Time a media worker takes to run one 20 ms tick "
	                     "of all its rooms",
	                     w, nw, false);
	per_worker(b, "chorus_media_tick_overruns_total",
	           "Ticks a media worker ran late (timer expirations beyond "
	           "one, caught up)",
	           w, nw, W_OVERRUNS);
	per_worker(b, "chorus_media_ticks_skipped_total",
	           "Ticks a media worker dropped after a stall beyond "
	           "catch-up",
	           w, nw, W_SKIPPED);
	per_worker_histogram(b, "chorus_rtp_jitter_seconds",
	                     "Interarrival jitter of each receiving leg, "
	                     "sampled once a second",
	                     w, nw, true);
	per_worker(b, "chorus_media_event_ring_full_total",
	           "Events of a media worker that found the ring to the "
	           "control thread full",
	           w, nw, W_EV_FULL);
	per_worker(b, "chorus_recorder_tap_dropped_total",
	           "Ticks the recorder tap could not take (ring full)", w, nw,
	           W_TAP_REC);
	per_worker(b, "chorus_transcriber_tap_dropped_total",
	           "Ticks the transcriber tap could not take (ring full)", w,
	           nw, W_TAP_STT);
	free(w);
}

/* ---- the rest ---- */

static void other_metrics(struct ch_metrics_text *b, struct ch_api *api)
{
	ch_metrics_text_family(b, "chorus_transcriber_dropped_seconds_total",
	                       "counter",
	                       "Audio never transcribed (full ring or queue, "
	                       "engine failures)");
	ch_metrics_text_double(b, "chorus_transcriber_dropped_seconds_total",
	                       NULL, ch_transcriber_dropped_ms(api->stt) / 1e3);

	struct ch_events_stats es;
	ch_events_get_stats(ch_core_events(api->core), &es);
	counter(b, "chorus_events_total", "Events added to the outbox",
	        es.added);
	counter(b, "chorus_webhook_delivered_total", "Webhook events delivered",
	        es.webhook_delivered);
	counter(b, "chorus_webhook_failures_total",
	        "Webhook POSTs that failed (retried after a back-off)",
	        es.webhook_failed_attempts);
	counter(b, "chorus_webhook_expired_total",
	        "Webhook events given up after 24 h", es.webhook_expired);
	gauge(b, "chorus_webhook_in_flight",
	      "Customers with a webhook POST in flight", es.webhook_in_flight);
	gauge(b, "chorus_webhook_backing_off",
	      "Customers whose webhook waits out a back-off after a failure",
	      es.webhook_backing_off);
	gauge(b, "chorus_websocket_subscribers", "WebSocket event subscribers",
	      es.subscribers);
}

/* The whole text (malloc'd) or NULL with *err set. */
static char *scrape(struct ch_api *api, size_t *len, int *err)
{
	struct ch_metrics_text b;
	ch_metrics_text_init(&b);
	*err = store_metrics(&b, api);
	if (*err) {
		ch_metrics_text_free(&b);
		return NULL;
	}
	media_metrics(&b, api);
	other_metrics(&b, api);
	http_metrics(&b, api);
	char *t = ch_metrics_text_take(&b, len);
	if (!t)
		*err = ENOMEM;
	return t;
}

void ch_api_metrics(struct ch_api_req *r)
{
	size_t len;
	int err;
	char *t = scrape(r->api, &len, &err);
	if (!t) {
		ch_api_error_core(r, err, "metrics");
		return;
	}
	free(r->raw);
	r->raw = t;
	r->raw_ctype = CH_METRICS_TEXT_CTYPE;
	r->status = 200;
}

void ch_api_metrics_sources(struct ch_api *api, struct ch_media_engine *eng,
                            struct ch_transcriber *stt)
{
	api->eng = eng;
	api->stt = stt;
}

/* ---- the --metrics listener ---- */

static const char *listen_err_h(uint16_t status, void *arg)
{
	(void)status;
	(void)arg;
	return "";
}

static void listen_req_h(struct ch_httpd_conn *conn, const struct http_msg *msg,
                         const char *body, size_t body_len, void *arg)
{
	struct ch_api *api = arg;
	(void)body;
	(void)body_len;
	if (pl_strcmp(&msg->path, "/metrics")) {
		ch_api_http_count(api, -1, 404);
		(void)ch_httpd_reply(conn, 404, "Not Found", "text/plain",
		                     "not found\n", 10, NULL);
		return;
	}
	int route = ch_api_route_find("GET", "/metrics");
	if (pl_strcmp(&msg->met, "GET")) {
		ch_api_http_count(api, route, 405);
		(void)ch_httpd_reply(conn, 405, "Method Not Allowed",
		                     "text/plain", "GET only\n", 9,
		                     "Allow: GET\r\n");
		return;
	}
	size_t len;
	int err;
	char *t = scrape(api, &len, &err);
	if (!t) {
		ch_log_error(LOG_MOD, "metrics: %s", strerror(err));
		ch_api_http_count(api, route, 500);
		(void)ch_httpd_reply(conn, 500, "Internal Server Error",
		                     "text/plain", "error\n", 6, NULL);
		return;
	}
	ch_api_http_count(api, route, 200);
	(void)ch_httpd_reply(conn, 200, "OK", CH_METRICS_TEXT_CTYPE, t, len,
	                     NULL);
	free(t);
}

int ch_api_metrics_listen(struct ch_api *api, const struct sa *laddr)
{
	if (api->metrics_httpd)
		return EALREADY;
	return ch_httpd_alloc(&api->metrics_httpd, laddr, listen_req_h,
	                      listen_err_h, api);
}

int ch_api_metrics_local(const struct ch_api *api, struct sa *out)
{
	return api->metrics_httpd ? ch_httpd_local(api->metrics_httpd, out)
	                          : ENOENT;
}
