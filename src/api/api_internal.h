/*
 * api_internal.h: private to api/: the request context and the helpers
 * every route handler uses.
 */
#ifndef CH_API_INTERNAL_H
#define CH_API_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/records.h"

struct ch_core;
struct ch_httpd;
struct ch_httpd_conn;
struct ch_media_engine;
struct ch_transcriber;
struct http_msg;
struct tmr;

/* HTTP requests counted by status, per route (metrics.c): a few status
 * slots per route, the last one taking every status beyond them. */
#define CH_API_STATUS_SLOTS 12
struct ch_api_http_row {
	uint16_t status[CH_API_STATUS_SLOTS]; /* 0: free slot */
	uint64_t n[CH_API_STATUS_SLOTS];
};

#define CH_API_MAX_QUERY 16

/* The API object. Owned by the daemon; control thread only. */
struct ch_api {
	struct ch_core *core;
	struct ch_httpd *httpd;
	struct ch_api_ws *ws_clients; /* list head, see api_ws.c */
	struct hash *tokens;          /* struct token_entry, see api.c */
	int64_t tokens_version;       /* store data_version they are from */
	uint64_t tokens_checked_ms;   /* when data_version was last read */
	struct tmr *tokens_tmr;       /* polls data_version, see api.c */
	int64_t started_us;
	char recordings_dir[1024]; /* ch_api_recordings_dir_set; "" none */
	/* metrics (metrics.c) */
	struct ch_media_engine *eng;    /* borrowed; NULL: no media figures */
	struct ch_transcriber *stt;     /* borrowed; NULL: none */
	struct ch_httpd *metrics_httpd; /* the --metrics listener, or NULL */
	/* requests by route: ch_api_route_count() rows, then one for
	 * requests that matched no route (owned; NULL: no memory) */
	struct ch_api_http_row *http;
	/* the cluster (borrowed; NULL: one node) and the requests forwarded
	 * to other nodes awaiting their answer (api_cluster.c) */
	struct ch_cluster *cluster;
	struct ch_api_fwd *forwards;
};

/* One request being handled; lives on the stack of the dispatcher. */
struct ch_api_req {
	struct ch_api *api;
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
	char *query_key[CH_API_MAX_QUERY]; /* decoded, owned */
	char *query_val[CH_API_MAX_QUERY];
	size_t n_query;
	char
	    id[CH_UUID_LEN]; /* the {id} path segment, when the route has one */
	struct ch_customer cust;
	/* authenticated by a join token (join_token.h): it grants only the
	 * routes of one conference, join_conf */
	bool join;
	bool cors;         /* a route a web page of any origin may call */
	bool forwarded;    /* sent to the owning node (api_cluster.c) */
	const char *ctype; /* the request's Content-Type, NULL: none */
	char join_conf[CH_UUID_LEN];
	int64_t join_exp_s; /* when it expires */
	/* set when served over a connection (NULL from ch_api_handle) */
	struct ch_httpd_conn *conn;
	const struct http_msg *msg;
	/* response */
	uint16_t status;
	json_t *resp;
	const char *allow; /* extra header lines ("Allow: ..." for a 405,
	                      "Cache-Control: ..."), static text */
	bool taken;        /* the handler answered on conn itself (upgrade) */
	int route;         /* index of the matched route, -1 none */
	char hdrs[384];    /* extra header lines set by the handler; when set
	                      they are sent instead of allow */
	char *raw;         /* a non-JSON body (owned), or NULL */
	const char *raw_ctype; /* its content type */
};

typedef void(ch_api_route_h)(struct ch_api_req *r);

/* Sets an error response (API.md error body). field may be NULL. */
void ch_api_error(struct ch_api_req *r, uint16_t status, const char *code,
                  const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Maps a core errno to an error response for resource `what`. */
void ch_api_error_core(struct ch_api_req *r, int err, const char *what);
/* Sets a 200 response; obj is stolen. NULL obj gives a 500. */
void ch_api_ok(struct ch_api_req *r, json_t *obj);
/* A decoded query parameter, or NULL. */
const char *ch_api_query(const struct ch_api_req *r, const char *key);
/* Parses the body as a JSON object; on failure sets a 400 and returns
 * NULL. The caller owns the result. */
json_t *ch_api_body_object(struct ch_api_req *r);
/* page_size / page_token; on failure sets a 400 and returns false. */
bool ch_api_page(struct ch_api_req *r, unsigned *size, int64_t *before_us);
/* The optional reference_id filter of a list into *ref: NULL when absent
 * or empty; false with a 400 naming it when it is not a conference id. */
bool ch_api_query_reference(struct ch_api_req *r, const char **ref);
/* page_size alone (default 10, clamped to 100), as ch_api_page. */
bool ch_api_page_size(struct ch_api_req *r, unsigned *size);

/* One page of a list being built: items newest first, the tm_create of
 * the last one for next_page_token. Lives on a handler's stack. */
struct ch_api_list {
	struct ch_api_req *r;
	json_t *arr;
	unsigned n;
	int64_t last_us;
};

/* Starts a list: parses page_size and page_token into size and before (false
 * with a 400 set when they are bad). */
bool ch_api_list_begin(struct ch_api_list *l, struct ch_api_req *r,
                       unsigned *size, int64_t *before);
/* Appends item (stolen; NULL means out of memory: returns 1 to stop). */
int ch_api_list_add(struct ch_api_list *l, json_t *item, int64_t tm_create);
/* Answers {"result": [...], "next_page_token": ...} or, when err is set,
 * the error for `what`; frees the list either way. */
void ch_api_list_end(struct ch_api_list *l, int err, unsigned size,
                     const char *what);
/* The same with next_page_token given ("" on the last page), for lists
 * whose cursor is not a tm_create (transcripts). */
void ch_api_list_end_token(struct ch_api_list *l, int err, const char *token,
                           const char *what);

/* Route handlers (api_conference.c, api_conferencecall.c, api_call.c,
 * api_recording.c, api_ws.c). */
void ch_api_conference_create(struct ch_api_req *r);
void ch_api_conference_list(struct ch_api_req *r);
void ch_api_conference_get(struct ch_api_req *r);
void ch_api_conference_update(struct ch_api_req *r);
void ch_api_conference_delete(struct ch_api_req *r);
void ch_api_conference_summary(struct ch_api_req *r);
void ch_api_conferencecall_list(struct ch_api_req *r);
void ch_api_conferencecall_get(struct ch_api_req *r);
void ch_api_conferencecall_kick(struct ch_api_req *r);
void ch_api_conferencecall_mute(struct ch_api_req *r);
void ch_api_conferencecall_unmute(struct ch_api_req *r);
void ch_api_call_create(struct ch_api_req *r);
void ch_api_call_list(struct ch_api_req *r);
void ch_api_call_get(struct ch_api_req *r);
void ch_api_call_hangup(struct ch_api_req *r);
void ch_api_webrtc_offer(struct ch_api_req *r);
void ch_api_webrtc_leave(struct ch_api_req *r);
void ch_api_join_token_create(struct ch_api_req *r);
/* api_media.c */
void ch_api_conference_recording_start(struct ch_api_req *r);
void ch_api_conference_recording_stop(struct ch_api_req *r);
void ch_api_conference_transcribe_start(struct ch_api_req *r);
void ch_api_conference_transcribe_stop(struct ch_api_req *r);
void ch_api_conference_play(struct ch_api_req *r);
void ch_api_conference_pause(struct ch_api_req *r);
void ch_api_conference_stop(struct ch_api_req *r);
void ch_api_conference_volume(struct ch_api_req *r);
void ch_api_conferencecall_play(struct ch_api_req *r);
void ch_api_conferencecall_talk(struct ch_api_req *r);
void ch_api_recording_list(struct ch_api_req *r);
void ch_api_recording_get(struct ch_api_req *r);
void ch_api_recording_file(struct ch_api_req *r);
void ch_api_recording_delete(struct ch_api_req *r);
/* api_transcribe.c */
void ch_api_transcribe_list(struct ch_api_req *r);
void ch_api_transcribe_get(struct ch_api_req *r);
void ch_api_transcript_list(struct ch_api_req *r);
void ch_api_ws_open(struct ch_api_req *r);
/* metrics.c */
void ch_api_metrics(struct ch_api_req *r);
/* api_cluster.c: a request on a room another node owns is forwarded to
 * it; true when r was taken that way (or answered 503: its node is
 * dead). Called by the dispatcher once r is authenticated. */
bool ch_api_cluster_forward(struct ch_api_req *r, const char *pattern,
                            const char *authorization);
void ch_api_cluster_sip_route(struct ch_api_req *r);
/* Ends the forwards in flight (ch_api_free). */
void ch_api_cluster_close(struct ch_api *api);

/* One request given as parts (a forwarded one, unit tests): the answer's
 * status, body (malloc'd, may be NULL), content type and extra header
 * lines. */
struct ch_api_answer {
	uint16_t status;
	char *body;
	const char *ctype;
	char hdrs[512];
};
void ch_api_handle_parts(struct ch_api *api, const char *method,
                         const char *path, const char *query,
                         const char *authorization, const char *ctype,
                         const char *body, size_t body_len,
                         struct ch_api_answer *out);
/* The reason phrase of an HTTP status; the CORS header lines. */
const char *ch_api_status_reason(uint16_t status);
extern const char ch_api_cors_hdrs[];

/* Counts one answered request of route (-1: none matched) with status. */
void ch_api_http_count(struct ch_api *api, int route, uint16_t status);

/* The route table (api.c), for the metrics' labels: how many routes, and
 * route i's method and pattern (below the /v1.0 prefix, but "/metrics"
 * which is served at the root); index of a route, -1 none. */
const char *ch_api_route_method(size_t i);
const char *ch_api_route_pattern(size_t i);
int ch_api_route_find(const char *method, const char *pattern);
void ch_api_ws_close_all(struct ch_api *api);
/* Closes the clients whose token no longer finds its customer. */
void ch_api_ws_revalidate(struct ch_api *api);
/* Closes (1008) the clients whose join token has expired. */
void ch_api_ws_expire(struct ch_api *api);

#endif
