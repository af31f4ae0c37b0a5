/*
 * api.h: the REST API (API.md) on top of the core: routing, auth, JSON in
 * and out, and error mapping, plus the WebSocket event stream.
 *
 * Threading: control thread only.
 */
#ifndef CH_API_H
#define CH_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A running API reads the store's data_version (another process's
 * commit, e.g. `chorusd customer token`, drops its token cache) before an
 * authentication at most this often. `customer token` waits twice this
 * after its commit before it returns, so any request made after it
 * returned is refused the old token, however fast the command ran. */
#define CH_API_TOKENS_RECHECK_MS 20

struct ch_core;
struct ch_api;
struct ch_httpd_limits;
struct ch_media_engine;
struct ch_transcriber;
struct sa;

/* Creates the API and starts its HTTP server on laddr. Returns 0,
 * EADDRINUSE, or another errno. */
int ch_api_alloc(struct ch_api **apip, struct ch_core *core,
                 const struct sa *laddr);
/* Stops the server, closes WebSocket clients, frees; NULL-safe. */
void ch_api_free(struct ch_api *api);
/* HTTP connection limits (api/httpd.h); the defaults until called. */
void ch_api_limits_set(struct ch_api *api, const struct ch_httpd_limits *lim);
/* The folder of the recording files, <dir>/<id>.<format> (copied; the
 * serve command gives <data dir>/recordings). Until set, recording files
 * answer 404. */
void ch_api_recordings_dir_set(struct ch_api *api, const char *dir);
/* The bound address (for a port 0 request). */
int ch_api_local(const struct ch_api *api, struct sa *out);

/* GET /metrics (api/metrics.c): the media engine and the transcriber
 * whose figures it shows (borrowed, must outlive the API; NULL: none). */
void ch_api_metrics_sources(struct ch_api *api, struct ch_media_engine *eng,
                            struct ch_transcriber *stt);
/* A second listener on laddr that serves GET /metrics without a token and
 * answers 404 to anything else (the --metrics address). Returns 0,
 * EALREADY, EADDRINUSE or another errno. */
int ch_api_metrics_listen(struct ch_api *api, const struct sa *laddr);
/* Its bound address; ENOENT when not listening. */
int ch_api_metrics_local(const struct ch_api *api, struct sa *out);

/* Joins the API to the cluster (cluster/cluster.h; borrowed, NULL: one
 * node): room actions on other nodes' conferences are forwarded to them,
 * theirs are answered here, GET /cluster/sip_route answers. */
struct ch_cluster;
void ch_api_set_cluster(struct ch_api *api, struct ch_cluster *cl);
/* A forwarded request (api_cluster.c's JSON) run here: *answer (malloc'd,
 * the caller frees) is the answer's JSON. 0, EINVAL (not a request) or
 * ENOMEM. */
int ch_api_cluster_run(struct ch_api *api, const void *data, size_t len,
                       char **answer);
/* A forwarded request's answer, checked (status 100-599, header lines
 * of printable text ending in CRLF, no CR/LF in the content type): the
 * strings point into hold, which the caller json_decref()s. 0 or EINVAL.
 * Pure. */
struct json_t;
struct ch_api_fwd_answer {
	uint16_t status;
	const char *ctype, *hdrs, *body;
	size_t blen;
	struct json_t *hold;
};
int ch_api_cluster_answer_parse(const void *data, size_t len,
                                struct ch_api_fwd_answer *out);

/* Handles one request given as parts, without a connection (used by the
 * fuzz target and unit tests). Returns the status; *body (malloc'd JSON
 * text, owned by the caller) may be NULL. */
uint16_t ch_api_handle(struct ch_api *api, const char *method, const char *path,
                       const char *query, const char *authorization,
                       const char *body, size_t body_len, char **resp_body);

/* The route table, for the OpenAPI test: how many routes, and route i's
 * method, path pattern below /v1.0 ("{id}" a UUID segment; static text)
 * and whether it needs a token. ch_api_route_at returns 0 or ENOENT. */
size_t ch_api_route_count(void);
int ch_api_route_at(size_t i, const char **method, const char **pattern,
                    bool *auth);
/* The OpenAPI 3.1 document served at GET /v1.0/openapi.json, compiled in
 * from src/api/openapi.json: static JSON text, NUL-terminated; its length
 * into *len when len is not NULL. */
const char *ch_api_openapi(size_t *len);

#endif
