/*
 * api.c: routing table, authentication, request parsing helpers, error
 * mapping and the glue to the HTTP layer.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/httpd.h"
#include "api/join_token.h"
#include "api/static_assets.h"
#include "core/core.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"
#include "util/token.h"
#include "util/uuid.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_tmr.h>
#include <re_mem.h>
#include <re_msg.h>
#include <re_http.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/v1.0"

/* What a route takes: a token (R_AUTH), also a join token of the
 * conference it names (R_JOIN), calls from a web page of any origin
 * (R_CORS: preflight and Access-Control headers; tokens, never cookies,
 * authenticate them, so "*" is right). */
enum { R_OPEN = 0, R_AUTH = 1, R_JOIN = 2, R_CORS = 4 };

/* One route: method, a pattern of segments where "{id}" matches a UUID,
 * its R_ flags, and the handler. */
struct route {
	const char *method;
	const char *pattern;
	unsigned flags;
	ch_api_route_h *h;
};

static void health(struct ch_api_req *r);
static void openapi(struct ch_api_req *r);

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Every route; src/api/openapi.json documents each one (unit test
 * test_api_openapi fails on a route it lacks). */
static const struct route routes[] = {
    {"GET", "/health", R_OPEN, health},
    {"GET", "/openapi.json", R_OPEN, openapi},
    {"GET", "/ws", R_AUTH | R_JOIN, ch_api_ws_open},
    {"GET", "/metrics", R_AUTH, ch_api_metrics},
    {"POST", "/conferences", R_AUTH, ch_api_conference_create},
    {"GET", "/conferences", R_AUTH, ch_api_conference_list},
    {"GET", "/conferences/{id}", R_AUTH, ch_api_conference_get},
    {"PUT", "/conferences/{id}", R_AUTH, ch_api_conference_update},
    {"DELETE", "/conferences/{id}", R_AUTH, ch_api_conference_delete},
    {"GET", "/conferencecalls", R_AUTH | R_JOIN | R_CORS,
     ch_api_conferencecall_list},
    {"GET", "/conferencecalls/{id}", R_AUTH, ch_api_conferencecall_get},
    {"DELETE", "/conferencecalls/{id}", R_AUTH, ch_api_conferencecall_kick},
    {"POST", "/conferencecalls/{id}/mute", R_AUTH, ch_api_conferencecall_mute},
    {"POST", "/conferencecalls/{id}/unmute", R_AUTH,
     ch_api_conferencecall_unmute},
    {"POST", "/conferencecalls/{id}/play", R_AUTH, ch_api_conferencecall_play},
    {"POST", "/conferencecalls/{id}/talk", R_AUTH, ch_api_conferencecall_talk},
    {"POST", "/conferences/{id}/recording_start", R_AUTH,
     ch_api_conference_recording_start},
    {"POST", "/conferences/{id}/recording_stop", R_AUTH,
     ch_api_conference_recording_stop},
    {"POST", "/conferences/{id}/play", R_AUTH, ch_api_conference_play},
    {"POST", "/conferences/{id}/pause", R_AUTH, ch_api_conference_pause},
    {"POST", "/conferences/{id}/stop", R_AUTH, ch_api_conference_stop},
    {"POST", "/conferences/{id}/volume", R_AUTH, ch_api_conference_volume},
    {"POST", "/conferences/{id}/transcribe_start", R_AUTH,
     ch_api_conference_transcribe_start},
    {"POST", "/conferences/{id}/transcribe_stop", R_AUTH,
     ch_api_conference_transcribe_stop},
    {"GET", "/conferences/{id}/summary", R_AUTH, ch_api_conference_summary},
    {"GET", "/calls", R_AUTH, ch_api_call_list},
    {"POST", "/calls", R_AUTH, ch_api_call_create},
    {"GET", "/calls/{id}", R_AUTH, ch_api_call_get},
    {"DELETE", "/calls/{id}", R_AUTH, ch_api_call_hangup},
    {"POST", "/conferences/{id}/webrtc", R_AUTH | R_JOIN | R_CORS,
     ch_api_webrtc_offer},
    {"DELETE", "/webrtc/{id}", R_AUTH | R_JOIN | R_CORS, ch_api_webrtc_leave},
    {"POST", "/conferences/{id}/join_tokens", R_AUTH | R_CORS,
     ch_api_join_token_create},
    {"GET", "/recordings", R_AUTH, ch_api_recording_list},
    {"GET", "/recordings/{id}", R_AUTH, ch_api_recording_get},
    {"GET", "/recordings/{id}/file", R_AUTH, ch_api_recording_file},
    {"DELETE", "/recordings/{id}", R_AUTH, ch_api_recording_delete},
    {"GET", "/transcribes", R_AUTH, ch_api_transcribe_list},
    {"GET", "/transcribes/{id}", R_AUTH, ch_api_transcribe_get},
    {"GET", "/transcripts", R_AUTH, ch_api_transcript_list},
    /* Kamailio's question (deploy/kamailio): where a dial-in goes */
    {"GET", "/cluster/sip_route", R_OPEN, ch_api_cluster_sip_route},
};

#define status_reason ch_api_status_reason
const char *ch_api_status_reason(uint16_t s)
{
	switch (s) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

void ch_api_error(struct ch_api_req *r, uint16_t status, const char *code,
                  const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *e = json_object(), *o = json_object();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(e, "status", json_integer(status));
	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "message", json_string(msg));
	if (field)
		json_object_set_new(e, "field", json_string(field));
	json_object_set_new(o, "error", e);
	json_decref(r->resp);
	r->resp = o;
	r->status = status;
}

void ch_api_error_core(struct ch_api_req *r, int err, const char *what)
{
	switch (err) {
	case ENOENT:
		ch_api_error(r, 404, "not_found", NULL, "%s %s not found", what,
		             r->id);
		break;
	case EINVAL:
		ch_api_error(r, 400, "invalid_request", NULL,
		             "invalid request for %s", what);
		break;
	case EBUSY:
		ch_api_error(r, 409, "invalid_state", NULL,
		             "%s %s is not in a state that allows this", what,
		             r->id);
		break;
	case EXFULL:
		ch_api_error(r, 409, "conference_full", NULL,
		             "conference is full");
		break;
	default:
		ch_api_error(r, 500, "internal_error", NULL,
		             "internal error (%s)", strerror(err));
		break;
	}
}

void ch_api_ok(struct ch_api_req *r, json_t *obj)
{
	if (!obj) {
		ch_api_error(r, 500, "internal_error", NULL, "out of memory");
		return;
	}
	json_decref(r->resp);
	r->resp = obj;
	r->status = 200;
}

const char *ch_api_query(const struct ch_api_req *r, const char *key)
{
	for (size_t i = 0; i < r->n_query; i++) {
		if (!strcmp(r->query_key[i], key))
			return r->query_val[i];
	}
	return NULL;
}

json_t *ch_api_body_object(struct ch_api_req *r)
{
	json_error_t jerr;
	json_t *o;
	if (!r->body_len) {
		ch_api_error(r, 400, "invalid_json", NULL,
		             "a JSON object body is required");
		return NULL;
	}
	o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		ch_api_error(r, 400, "invalid_json", NULL,
		             "body is not valid JSON: %s (line %d column %d)",
		             jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		ch_api_error(r, 400, "invalid_json", NULL,
		             "body must be a JSON object");
		return NULL;
	}
	return o;
}

bool ch_api_page_size(struct ch_api_req *r, unsigned *size)
{
	const char *ps = ch_api_query(r, "page_size");
	*size = 10;
	if (ps) {
		char *end;
		long v = strtol(ps, &end, 10);
		if (!*ps || *end || v < 1) {
			ch_api_error(r, 400, "invalid_field", "page_size",
			             "page_size must be an integer from 1 to "
			             "100");
			return false;
		}
		*size = v > 100 ? 100 : (unsigned)v;
	}
	return true;
}

bool ch_api_page(struct ch_api_req *r, unsigned *size, int64_t *before_us)
{
	const char *pt = ch_api_query(r, "page_token");
	*before_us = CH_TIME_NEVER_US + 1;
	if (!ch_api_page_size(r, size))
		return false;
	if (pt && *pt && ch_time_parse(pt, before_us)) {
		ch_api_error(r, 400, "invalid_field", "page_token",
		             "page_token must be a next_page_token from a "
		             "previous page");
		return false;
	}
	return true;
}

bool ch_api_query_reference(struct ch_api_req *r, const char **ref)
{
	*ref = ch_api_query(r, "reference_id");
	if (*ref && !**ref)
		*ref = NULL;
	if (*ref && !ch_uuid_valid(*ref)) {
		ch_api_error(r, 400, "invalid_field", "reference_id",
		             "reference_id must be a conference id");
		return false;
	}
	return true;
}

bool ch_api_list_begin(struct ch_api_list *l, struct ch_api_req *r,
                       unsigned *size, int64_t *before)
{
	memset(l, 0, sizeof(*l));
	l->r = r;
	if (!ch_api_page(r, size, before))
		return false;
	l->arr = json_array();
	return true;
}

int ch_api_list_add(struct ch_api_list *l, json_t *item, int64_t tm_create)
{
	if (!item || !l->arr)
		return 1;
	json_array_append_new(l->arr, item);
	l->last_us = tm_create;
	l->n++;
	return 0;
}

void ch_api_list_end_token(struct ch_api_list *l, int err, const char *token,
                           const char *what)
{
	if (err || !l->arr) {
		json_decref(l->arr);
		ch_api_error_core(l->r, err ? err : ENOMEM, what);
		return;
	}
	ch_api_ok(l->r, json_pack("{s:o,s:s}", "result", l->arr,
	                          "next_page_token", token));
}

void ch_api_list_end(struct ch_api_list *l, int err, unsigned size,
                     const char *what)
{
	char last[CH_TIME_LEN] = "";
	if (l->n == size)
		ch_time_format(l->last_us, last);
	ch_api_list_end_token(l, err, last, what);
}

/* 200 while the store can write; 503 naming why once it cannot (a disk
 * that became read-only or full, an I/O error), until a write works. */
static void health(struct ch_api_req *r)
{
	struct ch_store *st = ch_core_store(r->api->core);
	char why[256];
	if (st->ops->health(st, why, sizeof(why))) {
		ch_api_error(r, 503, "store_unavailable", NULL,
		             "the store cannot write: %s", why);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string("ok"));
	json_object_set_new(o, "node", json_string(ch_core_node(r->api->core)));
	json_object_set_new(
	    o, "uptime_seconds",
	    json_integer((ch_time_now_us() - r->api->started_us) / 1000000));
	ch_api_ok(r, o);
}

/* The document compiled in from src/api/openapi.json (cmake/embed.cmake):
 * its bytes and a NUL. */
extern const unsigned char ch_api_openapi_doc[];
extern const size_t ch_api_openapi_doc_len;

const char *ch_api_openapi(size_t *len)
{
	if (len)
		*len = ch_api_openapi_doc_len;
	return (const char *)ch_api_openapi_doc;
}

size_t ch_api_route_count(void)
{
	return NROUTES;
}

int ch_api_route_at(size_t i, const char **method, const char **pattern,
                    bool *auth)
{
	if (i >= ch_api_route_count())
		return ENOENT;
	*method = routes[i].method;
	*pattern = routes[i].pattern;
	*auth = routes[i].flags & R_AUTH;
	return 0;
}

/* The OpenAPI document as compiled in (unit.test_api_openapi parses it
 * and checks it against the routes); no token (it says nothing of any
 * customer), and the same until chorusd is upgraded, so a client may
 * cache it. */
static void openapi(struct ch_api_req *r)
{
	char *t = malloc(ch_api_openapi_doc_len + 1);
	if (!t) {
		ch_api_error_core(r, ENOMEM, "openapi");
		return;
	}
	memcpy(t, ch_api_openapi_doc, ch_api_openapi_doc_len);
	t[ch_api_openapi_doc_len] = '\0';
	free(r->raw);
	r->raw = t;
	r->raw_ctype = "application/json";
	r->allow = "Cache-Control: public, max-age=3600\r\n";
	r->status = 200;
}

/* ---- parsing ---- */

/* Percent- and plus-decodes [s, s+n) into a new string. "%00" stays as
 * it is: a C string cannot hold a NUL, and a value cut at one could pass
 * a check (a UUID followed by %00 and anything) that the whole fails. */
static char *url_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
		           ch_uuid_hexval(s[i + 1]) >= 0 &&
		           ch_uuid_hexval(s[i + 2]) >= 0 &&
		           (s[i + 1] != '0' || s[i + 2] != '0')) {
			*o++ = (char)(ch_uuid_hexval(s[i + 1]) * 16 +
			              ch_uuid_hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void parse_query(struct ch_api_req *r, const char *q, size_t n)
{
	size_t i = 0;
	while (i < n && r->n_query < CH_API_MAX_QUERY) {
		size_t j = i;
		while (j < n && q[j] != '&')
			j++;
		const char *eq = memchr(q + i, '=', j - i);
		if (j > i) {
			size_t klen = eq ? (size_t)(eq - (q + i)) : j - i;
			char *k = url_decode(q + i, klen);
			char *v =
			    eq ? url_decode(eq + 1, (size_t)(q + j - eq - 1))
			       : strdup("");
			if (k && v) {
				r->query_key[r->n_query] = k;
				r->query_val[r->n_query++] = v;
			} else {
				free(k);
				free(v);
			}
		}
		i = j + 1;
	}
}

/* Matches path (below the prefix) to pattern; fills r->id. */
static bool match(const char *pattern, const char *path, char *id)
{
	while (*pattern && *path) {
		if (!strncmp(pattern, "{id}", 4)) {
			size_t n = strcspn(path, "/");
			if (n >= CH_UUID_LEN)
				return false;
			memcpy(id, path, n);
			id[n] = '\0';
			if (!n)
				return false;
			pattern += 4;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return !*pattern && !*path;
}

/* A known token's customer, keyed by the token's hash (the cache holds no
 * token). Only `chorusd customer ...`, another process, changes
 * customers: a new token there (`customer token`) must end the old one at
 * once, so the whole cache is dropped whenever the store's data_version
 * moves (any commit by another process), checked before an
 * authentication (at most every CH_API_TOKENS_RECHECK_MS) and every
 * TOKENS_POLL_MS; WebSocket clients whose token
 * went are then closed. Unknown tokens are not cached.
 * Owned by api->tokens; control thread only. */
struct token_entry {
	struct le he;
	struct ch_customer cust;
};

static bool token_cmp(struct le *le, void *arg)
{
	struct token_entry *t = le->data;
	return ch_token_hash_equal(t->cust.token_hash, arg);
}

static void token_destructor(void *arg)
{
	struct token_entry *t = arg;
	hash_unlink(&t->he);
}

#define TOKENS_POLL_MS 2000

/* Drops the cache (and token-less WebSocket clients) when another process
 * committed to the store. Returns 0 or EIO. */
static int tokens_sync(struct ch_api *api)
{
	struct ch_store *st = ch_core_store(api->core);
	int64_t version;
	int err = st->ops->data_version(st, &version);
	if (err || version == api->tokens_version)
		return err;
	hash_flush(api->tokens);
	api->tokens_version = version;
	ch_api_ws_revalidate(api);
	return 0;
}

static void tokens_tmr_h(void *arg)
{
	struct ch_api *api = arg;
	(void)tokens_sync(api);
	ch_api_ws_expire(api);
	tmr_start(api->tokens_tmr, TOKENS_POLL_MS, tokens_tmr_h, api);
}

static int customer_by_token(struct ch_api *api, const char *token,
                             struct ch_customer *out)
{
	struct ch_store *st = ch_core_store(api->core);
	char hash[CH_TOKEN_HASH_LEN];
	int err = 0;
	/* data_version costs a read transaction (file locks): read it at most
	 * every CH_API_TOKENS_RECHECK_MS. `customer token` waits twice that
	 * after its commit, so a request made after it returned still sees
	 * its change. */
	uint64_t now = tmr_jiffies();
	if (!api->tokens_checked_ms ||
	    now - api->tokens_checked_ms >= CH_API_TOKENS_RECHECK_MS) {
		err = tokens_sync(api);
		if (err)
			return err;
		api->tokens_checked_ms = now;
	}
	ch_token_hash(token, hash);
	struct le *le =
	    hash_lookup(api->tokens, hash_joaat_str(hash), token_cmp, hash);
	if (le) {
		*out = ((struct token_entry *)le->data)->cust;
		return 0;
	}
	err = st->ops->customer_by_token_hash(st, hash, out);
	if (err)
		return err;
	struct token_entry *t = mem_zalloc(sizeof(*t), token_destructor);
	if (t) {
		t->cust = *out;
		hash_append(api->tokens, hash_joaat_str(t->cust.token_hash),
		            &t->he, t);
	}
	return 0;
}

/* A join token (join_token.h): its customer must exist and its tag be
 * right under that customer's key; then r is that customer's, narrowed
 * to the token's conference. */
static bool authenticate_join(struct ch_api_req *r, const char *token)
{
	char cust_id[CH_UUID_LEN];
	struct ch_store *st = ch_core_store(r->api->core);
	if (ch_join_token_parse(token, r->join_conf, cust_id, &r->join_exp_s) ||
	    st->ops->customer_by_id(st, cust_id, &r->cust) ||
	    !ch_join_token_verify(token, r->cust.token_hash)) {
		memset(&r->cust, 0, sizeof(r->cust));
		ch_api_error(r, 401, "unauthorized", NULL, "invalid token");
		return false;
	}
	if (r->join_exp_s * 1000000 <= ch_time_now_us()) {
		memset(&r->cust, 0, sizeof(r->cust));
		ch_api_error(r, 401, "token_expired", NULL,
		             "the join token has expired");
		return false;
	}
	r->join = true;
	return true;
}

#define CORS_HDRS                                                              \
	"Access-Control-Allow-Origin: *\r\n"                                   \
	"Access-Control-Expose-Headers: Location, X-Chorus-Call-Id, "          \
	"X-Chorus-Conferencecall-Id\r\n"
const char ch_api_cors_hdrs[] = CORS_HDRS;

/* OPTIONS on a CORS route: the preflight, no token needed. */
static void preflight(struct ch_api_req *r, const char *allow)
{
	snprintf(r->hdrs, sizeof(r->hdrs),
	         "Access-Control-Allow-Methods: %s, OPTIONS\r\n"
	         "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
	         "Access-Control-Max-Age: 600\r\n",
	         allow);
	r->raw = strdup("");
	r->raw_ctype = "text/plain";
	r->status = 204;
}

/* A join token names another conference than the one asked for: as an
 * unknown id (404). */
static bool join_other_conference(struct ch_api_req *r, const struct route *rt)
{
	const char *asked = NULL;
	if (rt->h == ch_api_webrtc_offer)
		asked = r->id;
	else if (rt->h == ch_api_conferencecall_list)
		asked = ch_api_query(r, "conference_id");
	else
		return false;
	if (asked && !strcasecmp(asked, r->join_conf))
		return false;
	ch_api_error(r, 404, "not_found", NULL, "conference %s not found",
	             asked ? asked : "(none asked: add conference_id)");
	return true;
}

static bool authenticate(struct ch_api_req *r, const char *authorization)
{
	const char *token = ch_api_query(r, "token");
	char bearer[CH_JOIN_TOKEN_LEN + 8];
	if (token && !*token)
		token = NULL;
	if (!token && authorization &&
	    !strncasecmp(authorization, "Bearer ", 7)) {
		snprintf(bearer, sizeof(bearer), "%s", authorization + 7);
		token = bearer;
	}
	if (token && !strncmp(token, CH_JOIN_TOKEN_PREFIX, 4))
		return authenticate_join(r, token);
	if (!token || !*token || strlen(token) > 64) {
		ch_api_error(r, 401, "unauthorized", NULL,
		             "a valid token is required (Authorization: "
		             "Bearer TOKEN or ?token=TOKEN)");
		return false;
	}
	int err = customer_by_token(r->api, token, &r->cust);
	if (err == ENOENT) {
		ch_api_error(r, 401, "unauthorized", NULL, "invalid token");
		return false;
	}
	if (err) {
		ch_api_error_core(r, err, "customer");
		return false;
	}
	return true;
}

static void dispatch(struct ch_api_req *r, const char *authorization)
{
	const char *sub;
	char allow[128] = "";
	char id[CH_UUID_LEN];
	const struct route *found = NULL;
	bool path_known = false;

	/* /metrics is served at the root (where Prometheus looks), the
	 * rest below the prefix */
	bool root = !strcmp(r->path, "/metrics");
	if (!root && strncmp(r->path, API_PREFIX "/", sizeof(API_PREFIX))) {
		ch_api_error(r, 404, "not_found", NULL, "no such route: %s",
		             r->path);
		return;
	}
	sub = root ? r->path : r->path + sizeof(API_PREFIX) - 1;
	for (size_t i = 0; i < NROUTES; i++) {
		if ((routes[i].h == ch_api_metrics) != root ||
		    !match(routes[i].pattern, sub, id))
			continue;
		path_known = true;
		if (routes[i].flags & R_CORS)
			r->cors = true;
		if (strlen(allow) + strlen(routes[i].method) + 3 <
		    sizeof(allow)) {
			if (*allow)
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
		if (!strcmp(routes[i].method, r->method) && !found) {
			found = &routes[i];
			r->route = (int)i;
			memcpy(r->id, id, sizeof(id));
		}
	}
	if (!found && r->cors && !strcmp(r->method, "OPTIONS")) {
		preflight(r, allow);
		return;
	}
	if (!found) {
		if (path_known) {
			static char allow_hdr[160];
			snprintf(allow_hdr, sizeof(allow_hdr), "Allow: %s\r\n",
			         allow);
			r->allow = allow_hdr;
			ch_api_error(r, 405, "method_not_allowed", NULL,
			             "%s is not allowed on %s (allowed: %s)",
			             r->method, r->path, allow);
		} else {
			ch_api_error(r, 404, "not_found", NULL,
			             "no such route: %s", r->path);
		}
		return;
	}
	if ((found->flags & R_AUTH) && !authenticate(r, authorization))
		return;
	if (r->join && !(found->flags & R_JOIN)) {
		ch_api_error(r, 403, "forbidden", NULL,
		             "a join token may not %s %s", r->method, r->path);
		return;
	}
	if (r->join && join_other_conference(r, found))
		return;
	if (strstr(found->pattern, "{id}") && !ch_uuid_valid(r->id)) {
		ch_api_error(r, 404, "not_found", NULL, "%s is not a valid id",
		             r->id);
		return;
	}
	if (ch_api_cluster_forward(r, found->pattern, authorization))
		return;
	found->h(r);
}

static void req_clear(struct ch_api_req *r)
{
	for (size_t i = 0; i < r->n_query; i++) {
		free(r->query_key[i]);
		free(r->query_val[i]);
	}
	json_decref(r->resp);
	free(r->raw);
}

static char *resp_text(struct ch_api_req *r)
{
	if (r->raw &&
	    (r->status == 200 || r->status == 201 || r->status == 204)) {
		char *t = r->raw;
		r->raw = NULL;
		return t;
	}
	r->raw_ctype = NULL;
	if (!r->resp)
		ch_api_error(r, 500, "internal_error", NULL, "no response");
	return json_dumps(r->resp, JSON_COMPACT | JSON_REAL_PRECISION(6));
}

void ch_api_handle_parts(struct ch_api *api, const char *method,
                         const char *path, const char *query,
                         const char *authorization, const char *ctype,
                         const char *body, size_t body_len,
                         struct ch_api_answer *out)
{
	struct ch_api_req r;
	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	r.api = api;
	r.method = method;
	r.path = path;
	r.body = body;
	r.body_len = body_len;
	r.ctype = ctype;
	r.route = -1;
	if (query)
		parse_query(&r, query, strlen(query));
	dispatch(&r, authorization);
	if (r.taken) {
		ch_api_http_count(api, r.route, 101);
		req_clear(&r);
		out->status = 101;
		return;
	}
	out->body = resp_text(&r);
	out->ctype = r.status == 204 ? NULL
	             : r.raw_ctype   ? r.raw_ctype
	                             : "application/json";
	snprintf(out->hdrs, sizeof(out->hdrs), "%s",
	         r.hdrs[0] ? r.hdrs : (r.allow ? r.allow : ""));
	out->status = r.status;
	ch_api_http_count(api, r.route, r.status);
	req_clear(&r);
}

uint16_t ch_api_handle(struct ch_api *api, const char *method, const char *path,
                       const char *query, const char *authorization,
                       const char *body, size_t body_len, char **resp_body)
{
	struct ch_api_answer a;
	ch_api_handle_parts(api, method, path, query, authorization, NULL, body,
	                    body_len, &a);
	*resp_body = a.body;
	return a.status;
}

/* ---- HTTP glue ---- */

static const char *httpd_err_h(uint16_t status, void *arg)
{
	(void)arg;
	switch (status) {
	case 411:
		return "{\"error\":{\"status\":411,\"code\":\"length_"
		       "required\","
		       "\"message\":\"chunked request bodies are not accepted; "
		       "send Content-Length\"}}";
	case 413:
		return "{\"error\":{\"status\":413,\"code\":\"body_too_large\","
		       "\"message\":\"request body is over 1 MiB\"}}";
	case 431:
		return "{\"error\":{\"status\":431,\"code\":\"header_too_"
		       "large\","
		       "\"message\":\"request head is over 16 KiB\"}}";
	case 408:
		return "{\"error\":{\"status\":408,\"code\":\"request_"
		       "timeout\",\"message\":\"request not received in "
		       "time\"}}";
	case 503:
		return "{\"error\":{\"status\":503,\"code\":\"too_many_"
		       "connections\",\"message\":\"too many open "
		       "connections; try again later\"}}";
	default:
		return "{\"error\":{\"status\":400,\"code\":\"bad_request\","
		       "\"message\":\"malformed HTTP request\"}}";
	}
}

/* A file of the static asset table (the web console): GET only, no token
 * (the page asks for one; its API calls carry it). Returns false when
 * path names none. */
static bool serve_static(struct ch_api *api, struct ch_httpd_conn *conn,
                         const char *method, const char *path)
{
	const struct ch_static_asset *a = ch_static_assets_find(path);
	if (!a)
		return false;
	if (strcmp(method, "GET")) {
		static const char body[] =
		    "{\"error\":{\"status\":405,\"code\":\"method_not_"
		    "allowed\",\"message\":\"only GET is allowed on this "
		    "page\"}}";
		ch_api_http_count(api, -1, 405);
		(void)ch_httpd_reply(conn, 405, status_reason(405),
		                     "application/json", body, sizeof(body) - 1,
		                     "Allow: GET\r\n");
		return true;
	}
	ch_api_http_count(api, -1, 200);
	ch_log_debug("api", "GET %s -> 200", a->path);
	(void)ch_httpd_reply(conn, 200, status_reason(200), a->ctype,
	                     (const char *)a->data, *a->len,
	                     ch_static_assets_headers());
	return true;
}

static void httpd_req_h(struct ch_httpd_conn *conn, const struct http_msg *msg,
                        const char *body, size_t body_len, void *arg)
{
	struct ch_api *api = arg;
	struct ch_api_req r;
	char method[16], path[1024], auth[160] = "";
	const struct http_hdr *ah;
	char *text;

	memset(&r, 0, sizeof(r));
	r.api = api;
	r.conn = conn;
	r.msg = msg;
	r.body = body;
	r.body_len = body_len;
	r.route = -1;
	pl_strcpy(&msg->met, method, sizeof(method));
	if (msg->path.l >= sizeof(path)) {
		ch_api_error(&r, 404, "not_found", NULL, "path too long");
		goto reply;
	}
	pl_strcpy(&msg->path, path, sizeof(path));
	if (serve_static(api, conn, method, path))
		return;
	r.method = method;
	r.path = path;
	if (msg->prm.l > 1) /* prm includes the leading '?' */
		parse_query(&r, msg->prm.p + 1, msg->prm.l - 1);
	ah = http_msg_hdr(msg, HTTP_HDR_AUTHORIZATION);
	if (ah)
		pl_strcpy(&ah->val, auth, sizeof(auth));
	const struct http_hdr *ch = http_msg_hdr(msg, HTTP_HDR_CONTENT_TYPE);
	char ctype[128];
	if (ch && ch->val.l < sizeof(ctype)) {
		pl_strcpy(&ch->val, ctype, sizeof(ctype));
		r.ctype = ctype;
	}
	dispatch(&r, ah ? auth : NULL);
	if (r.taken) {
		/* a forward is counted when its answer comes */
		if (!r.forwarded)
			ch_api_http_count(api, r.route, 101);
		req_clear(&r);
		return;
	}
reply:
	text = resp_text(&r);
	ch_api_http_count(api, r.route, r.status);
	if (r.status >= 500)
		ch_log_error("api", "%s %s -> %u", method, r.path ? r.path : "",
		             r.status);
	else
		ch_log_debug("api", "%s %s -> %u", method, r.path ? r.path : "",
		             r.status);
	char hdrs[sizeof(r.hdrs) + sizeof(CORS_HDRS)];
	snprintf(hdrs, sizeof(hdrs), "%s%s",
	         r.hdrs[0] ? r.hdrs : (r.allow ? r.allow : ""),
	         r.cors ? CORS_HDRS : "");
	(void)ch_httpd_reply(conn, r.status, status_reason(r.status),
	                     r.status == 204 ? NULL
	                     : r.raw_ctype   ? r.raw_ctype
	                                     : "application/json",
	                     text ? text : "", text ? strlen(text) : 0,
	                     hdrs[0] ? hdrs : NULL);
	free(text);
	req_clear(&r);
}

int ch_api_alloc(struct ch_api **apip, struct ch_core *core,
                 const struct sa *laddr)
{
	struct ch_api *api = calloc(1, sizeof(*api));
	int err;
	if (!api)
		return ENOMEM;
	api->core = core;
	api->started_us = ch_time_now_us();
	api->tokens_tmr = calloc(1, sizeof(*api->tokens_tmr));
	api->http = calloc(NROUTES + 1, sizeof(*api->http));
	err = api->tokens_tmr && api->http ? hash_alloc(&api->tokens, 64)
	                                   : ENOMEM;
	if (!err)
		err = ch_httpd_alloc(&api->httpd, laddr, httpd_req_h,
		                     httpd_err_h, api);
	if (err) {
		free(api->tokens_tmr);
		free(api->http);
		mem_deref(api->tokens);
		free(api);
		return err;
	}
	tmr_init(api->tokens_tmr);
	tmr_start(api->tokens_tmr, TOKENS_POLL_MS, tokens_tmr_h, api);
	*apip = api;
	return 0;
}

void ch_api_free(struct ch_api *api)
{
	if (!api)
		return;
	tmr_cancel(api->tokens_tmr);
	free(api->tokens_tmr);
	ch_api_cluster_close(api);
	ch_api_ws_close_all(api);
	ch_httpd_free(api->httpd);
	ch_httpd_free(api->metrics_httpd);
	free(api->http);
	hash_flush(api->tokens);
	mem_deref(api->tokens);
	free(api);
}

void ch_api_limits_set(struct ch_api *api, const struct ch_httpd_limits *lim)
{
	ch_httpd_limits_set(api->httpd, lim);
}

int ch_api_local(const struct ch_api *api, struct sa *out)
{
	return ch_httpd_local(api->httpd, out);
}

const char *ch_api_route_method(size_t i)
{
	return i < NROUTES ? routes[i].method : "";
}

const char *ch_api_route_pattern(size_t i)
{
	return i < NROUTES ? routes[i].pattern : "";
}

int ch_api_route_find(const char *method, const char *pattern)
{
	for (size_t i = 0; i < NROUTES; i++)
		if (!strcmp(routes[i].method, method) &&
		    !strcmp(routes[i].pattern, pattern))
			return (int)i;
	return -1;
}
