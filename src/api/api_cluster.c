/*
 * api_cluster.c: the API of one node of a cluster (cluster/cluster.h).
 *
 * Any node answers every call. Reads come from the shared store. A
 * request that acts on a room (anything but GET on /conferences/{id}...,
 * /conferencecalls/{id}..., /calls/{id}, /webrtc/{id}) goes to the node
 * that owns it, over NATS request/reply (subject chorus.api.<node>): the
 * client's connection waits (ch_httpd_defer) and gets the owner's answer
 * as the owner gave it. An owner that does not answer in FORWARD_MS gives
 * 504; an owner that is dead 503.
 *
 * Forwarded request (JSON): {"method", "path", "query", "authorization",
 * "content_type", "body"}; answer: {"status", "content_type", "headers",
 * "body"}. The owner runs it through its own dispatcher
 * (ch_api_handle_parts), token checks included: it is never forwarded
 * again.
 *
 * Also here: GET /v1.0/cluster/sip_route?user=..., the question Kamailio
 * asks for each dial-in (deploy/kamailio/kamailio.cfg).
 *
 * Threading: control thread only.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "api/httpd.h"
#include "cluster/bus.h"
#include "cluster/cluster.h"
#include "core/core.h"
#include "store/store.h"
#include "util/log.h"
#include "util/uuid.h"

#include <re_types.h>
#include <re_mem.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORWARD_MS 5000

/* A request forwarded to its owner, waiting for the answer. Owned by the
 * API's list (api->forwards); holds a reference to the connection. */
struct ch_api_fwd {
	struct ch_api_fwd *next, *prev;
	struct ch_api *api;
	struct ch_httpd_conn *conn; /* our reference */
	struct ch_bus_req *req;
	int route;
	bool cors;
	char node[64];
	char what[96]; /* "POST /v1.0/..." for the log */
};

static void fwd_free(struct ch_api_fwd *f)
{
	struct ch_api *api = f->api;
	if (f->prev)
		f->prev->next = f->next;
	else
		api->forwards = f->next;
	if (f->next)
		f->next->prev = f->prev;
	mem_deref(f->req);
	mem_deref(f->conn);
	free(f);
}

static void fwd_answer(struct ch_api_fwd *f, uint16_t status, const char *ctype,
                       const char *body, size_t len, const char *hdrs)
{
	char all[640];
	snprintf(all, sizeof(all), "%s%s", hdrs ? hdrs : "",
	         f->cors ? ch_api_cors_hdrs : "");
	ch_api_http_count(f->api, f->route, status);
	(void)ch_httpd_reply(f->conn, status, ch_api_status_reason(status),
	                     status == 204 ? NULL : ctype, body, len,
	                     all[0] ? all : NULL);
}

static void fwd_error(struct ch_api_fwd *f, uint16_t status, const char *code,
                      const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof(body),
	                 "{\"error\":{\"status\":%u,\"code\":\"%s\","
	                 "\"message\":\"%s\"}}",
	                 status, code, msg);
	fwd_answer(f, status, "application/json", body, (size_t)n, NULL);
}

/* Header lines from the owner: kept only if every line is
 * "Name: value\r\n" with printable text (they go into our answer). */
static bool hdrs_ok(const char *h)
{
	for (const char *p = h; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\r' && p[1] == '\n') {
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return !*h || (strlen(h) >= 2 && !strcmp(h + strlen(h) - 2, "\r\n"));
}

int ch_api_cluster_answer_parse(const void *data, size_t len,
                                struct ch_api_fwd_answer *out)
{
	json_error_t je;
	json_int_t status;
	memset(out, 0, sizeof(*out));
	out->hdrs = out->body = "";
	out->hold = json_loadb(data, len, 0, &je);
	if (!out->hold ||
	    json_unpack(out->hold, "{s:I,s?s,s?s,s?s%}", "status", &status,
	                "content_type", &out->ctype, "headers", &out->hdrs,
	                "body", &out->body, &out->blen) ||
	    status < 100 || status > 599 || !hdrs_ok(out->hdrs) ||
	    (out->ctype && strpbrk(out->ctype, "\r\n"))) {
		json_decref(out->hold);
		out->hold = NULL;
		return EINVAL;
	}
	out->status = (uint16_t)status;
	return 0;
}

static void fwd_reply_h(int err, const void *data, size_t len, void *arg)
{
	struct ch_api_fwd *f = arg;
	struct ch_api_fwd_answer a;
	char msg[160];

	if (err) {
		snprintf(msg, sizeof(msg), "node %s did not answer (%s)",
		         f->node, err == ETIMEDOUT ? "timeout" : "unreachable");
		ch_log_warn("api", "%s: %s", f->what, msg);
		fwd_error(f, 504, "node_unavailable", msg);
	} else if (ch_api_cluster_answer_parse(data, len, &a)) {
		snprintf(msg, sizeof(msg), "node %s answered nonsense",
		         f->node);
		fwd_error(f, 502, "bad_gateway", msg);
	} else {
		fwd_answer(f, a.status, a.ctype, a.body, a.blen, a.hdrs);
		json_decref(a.hold);
	}
	fwd_free(f);
}

/* The conference the first conference_join action of a POST /calls body
 * names, or false (the handler judges the body). */
static bool join_target(const struct ch_api_req *r, char *id)
{
	json_t *o = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
	json_t *a;
	size_t i;
	bool found = false;
	json_array_foreach(json_object_get(o, "actions"), i, a)
	{
		const char *t = json_string_value(json_object_get(a, "type"));
		const char *c = json_string_value(json_object_get(
		    json_object_get(a, "option"), "conference_id"));
		if (t && !strcmp(t, "conference_join") && ch_uuid_valid(c)) {
			memcpy(id, c, CH_UUID_LEN);
			found = true;
			break;
		}
	}
	json_decref(o);
	return found;
}

/* The id whose owner decides where r goes, or false: r is not a room
 * action (act here). */
static bool target(struct ch_api_req *r, const char *pattern, char *id)
{
	if (!strcmp(r->method, "GET") || !strcmp(r->method, "OPTIONS"))
		return false;
	if (!strncmp(pattern, "/conferences/{id}", 17)) {
		if (!strcmp(pattern, "/conferences/{id}/join_tokens"))
			return false; /* minted anywhere */
		memcpy(id, r->id, CH_UUID_LEN);
		return true;
	}
	if (!strncmp(pattern, "/conferencecalls/{id}", 21)) {
		struct ch_store *st = ch_core_store(r->api->core);
		struct ch_conferencecall cc;
		if (st->ops->conferencecall_get(st, r->id, r->cust.id, &cc))
			return false; /* the handler answers 404 */
		memcpy(id, cc.conference_id, CH_UUID_LEN);
		return true;
	}
	if (!strcmp(pattern, "/calls/{id}") ||
	    !strcmp(pattern, "/webrtc/{id}")) {
		memcpy(id, r->id, CH_UUID_LEN);
		return true;
	}
	if (!strcmp(pattern, "/calls")) {
		/* a dial-out is made by the node of the room it joins */
		return join_target(r, id);
	}
	return false;
}

static char *fwd_text(const struct ch_api_req *r, const char *authorization)
{
	json_t *o = json_object(), *q = json_object();
	char *t = NULL;
	if (!o || !q)
		goto out;
	for (size_t i = 0; i < r->n_query; i++)
		json_object_set_new(q, r->query_key[i],
		                    json_string(r->query_val[i]));
	json_object_set_new(o, "method", json_string(r->method));
	json_object_set_new(o, "path", json_string(r->path));
	json_object_set(o, "query", q);
	json_object_set_new(o, "authorization",
	                    json_string(authorization ? authorization : ""));
	json_object_set_new(o, "content_type",
	                    json_string(r->ctype ? r->ctype : ""));
	json_t *b = json_stringn(r->body ? r->body : "", r->body_len);
	if (!b)
		goto out; /* not UTF-8: the caller answers 400 */
	json_object_set_new(o, "body", b);
	t = json_dumps(o, JSON_COMPACT);
out:
	json_decref(q);
	json_decref(o);
	return t;
}

bool ch_api_cluster_forward(struct ch_api_req *r, const char *pattern,
                            const char *authorization)
{
	struct ch_api *api = r->api;
	char id[CH_UUID_LEN], node[64], subject[96];
	struct ch_api_fwd *f;
	char *text;
	int err;

	if (!api->cluster || !r->conn || !target(r, pattern, id))
		return false;
	err = ch_cluster_owner(api->cluster, id, node, sizeof(node));
	if (err == EHOSTDOWN) {
		ch_api_error(r, 503, "node_unavailable", NULL,
		             "the node that runs %s is down; it is being ended",
		             id);
		return true;
	}
	if (err)
		return false; /* ours, or unknown: the handler answers */
	text = fwd_text(r, authorization);
	if (!text) {
		ch_api_error(r, 400, "invalid_body", "body",
		             "the body must be UTF-8 text");
		return true;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(text);
		ch_api_error(r, 503, "unavailable", NULL, "out of memory");
		return true;
	}
	f->api = api;
	f->route = r->route;
	f->cors = r->cors;
	snprintf(f->node, sizeof(f->node), "%s", node);
	snprintf(f->what, sizeof(f->what), "%s %.80s", r->method, r->path);
	snprintf(subject, sizeof(subject), "chorus.api.%s", node);
	err = ch_bus_request(&f->req, ch_cluster_bus(api->cluster), subject,
	                     text, strlen(text), FORWARD_MS, fwd_reply_h, f);
	free(text);
	if (err) {
		free(f);
		ch_api_error(r, 503, "node_unavailable", NULL,
		             "cannot reach node %s", node);
		return true;
	}
	f->conn = ch_httpd_defer(r->conn);
	f->next = api->forwards;
	if (api->forwards)
		api->forwards->prev = f;
	api->forwards = f;
	r->taken = true;
	r->forwarded = true;
	ch_log_debug("api", "%s -> node %s", f->what, node);
	return true;
}

void ch_api_cluster_close(struct ch_api *api)
{
	while (api->forwards)
		fwd_free(api->forwards);
}

/* Appends s to buf (of size, holding *n) %-encoded but for unreserved
 * characters. Returns false when it does not fit. */
static bool enc(char *buf, size_t size, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || strchr("-._~", c);
		if (*n + 4 >= size)
			return false;
		if (plain) {
			buf[(*n)++] = (char)c;
		} else {
			buf[(*n)++] = '%';
			buf[(*n)++] = hex[c >> 4];
			buf[(*n)++] = hex[c & 15];
		}
	}
	buf[*n] = '\0';
	return true;
}

int ch_api_cluster_run(struct ch_api *api, const void *data, size_t len,
                       char **answer)
{
	const char *method, *path, *auth = "", *ctype = "", *body = "";
	size_t blen = 0;
	json_t *o, *q = NULL, *a = NULL;
	json_error_t je;
	struct ch_api_answer ans;
	char query[2048] = "";

	*answer = NULL;
	o = json_loadb(data, len, 0, &je);
	if (!o ||
	    json_unpack(o, "{s:s,s:s,s?o,s?s,s?s,s?s%}", "method", &method,
	                "path", &path, "query", &q, "authorization", &auth,
	                "content_type", &ctype, "body", &body, &blen)) {
		json_decref(o);
		return EINVAL;
	}
	/* the query again as text (values re-encoded) */
	if (json_is_object(q)) {
		const char *k;
		json_t *v;
		size_t n = 0;
		json_object_foreach(q, k, v)
		{
			if (!json_is_string(v))
				continue;
			if (n + 2 >= sizeof(query))
				break;
			if (n)
				query[n++] = '&';
			if (!enc(query, sizeof(query), &n, k) ||
			    n + 2 >= sizeof(query))
				break;
			query[n++] = '=';
			if (!enc(query, sizeof(query), &n,
			         json_string_value(v)))
				break;
		}
	}
	ch_api_handle_parts(api, method, path, query[0] ? query : NULL,
	                    auth[0] ? auth : NULL, ctype[0] ? ctype : NULL,
	                    body, blen, &ans);
	a = json_pack("{s:i,s:s,s:s,s:s}", "status", ans.status, "content_type",
	              ans.ctype ? ans.ctype : "", "headers", ans.hdrs, "body",
	              ans.body ? ans.body : "");
	*answer = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	free(ans.body);
	json_decref(o);
	return *answer ? 0 : ENOMEM;
}

/* A request another node forwarded here: run it, answer with the
 * result. A message that is not one is not answered (the sender times
 * out). */
static void forwarded_h(const char *reply, const void *data, size_t len,
                        void *arg)
{
	struct ch_api *api = arg;
	char *text;
	if (ch_api_cluster_run(api, data, len, &text))
		return;
	(void)ch_bus_respond(ch_cluster_bus(api->cluster), reply, text,
	                     strlen(text));
	free(text);
}

void ch_api_set_cluster(struct ch_api *api, struct ch_cluster *cl)
{
	api->cluster = cl;
	if (cl)
		ch_cluster_api_handler(cl, forwarded_h, api);
}

void ch_api_cluster_sip_route(struct ch_api_req *r)
{
	const char *user = ch_api_query(r, "user");
	char uri[160];
	if (!r->api->cluster) {
		ch_api_error(r, 404, "not_found", NULL,
		             "this chorusd is not part of a cluster");
		return;
	}
	if (!user || !*user || strlen(user) > 64 ||
	    strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789-") != strlen(user)) {
		ch_api_error(r, 400, "invalid_argument", "user",
		             "user must be 1 to 64 letters, digits or '-'");
		return;
	}
	if (ch_cluster_sip_route(r->api->cluster, user, uri, sizeof(uri))) {
		ch_api_error(r, 503, "node_unavailable", NULL,
		             "no node is alive");
		return;
	}
	size_t n = strlen(uri);
	r->raw = malloc(n + 2);
	if (!r->raw) {
		ch_api_error(r, 503, "unavailable", NULL, "out of memory");
		return;
	}
	memcpy(r->raw, uri, n);
	memcpy(r->raw + n, "\n", 2);
	r->raw_ctype = "text/plain";
	r->status = 200;
}
