/*
 * api_ws.c: GET /v1.0/ws, the WebSocket event stream. After the upgrade a
 * client receives every event of its customer as one JSON text message
 * each; it may narrow that by sending
 * {"type": "subscribe", "topics": ["conference:<id>", ...]} (an empty list
 * widens it again), answered with {"type": "subscribed", "topics": [...]}.
 * A client whose token was replaced (`chorusd customer token`) is closed
 * (1008) when the API notices (ch_api_ws_revalidate).
 */
#include "api/api_internal.h"
#include "api/httpd.h"
#include "api/websocket.h"
#include "core/core.h"
#include "events/events.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timefmt.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_msg.h>
#include <re_http.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One connected client. Owned by the api's client list; control thread
 * only. */
struct ch_api_ws {
	struct ch_api_ws *next, *prev;
	struct ch_api *api;
	struct ch_websocket *ws;
	struct ch_events_sub *sub;
	char token_hash[CH_TOKEN_HASH_LEN]; /* of the token it came with */
	bool join;                          /* came with a join token: */
	char join_topic[11 + CH_UUID_LEN];  /* its conference only */
	int64_t join_exp_s;                 /* until it expires */
};

static void client_free(struct ch_api_ws *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->api->ws_clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ch_events_unsubscribe(c->sub);
	ch_websocket_free(c->ws);
	free(c);
}

static int event_h(const char *json, size_t len, void *arg)
{
	struct ch_api_ws *c = arg;
	if (ch_websocket_send_text(c->ws, json, len)) {
		/* the hub drops the subscription; close the socket */
		c->sub = NULL;
		ch_websocket_close(c->ws, 1008);
		return 1;
	}
	return 0;
}

static void send_json(struct ch_api_ws *c, json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (t)
		(void)ch_websocket_send_text(c->ws, t, strlen(t));
	free(t);
}

static void ws_error(struct ch_api_ws *c, const char *msg)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("error"));
	json_object_set_new(o, "message", json_string(msg));
	send_json(c, o);
}

static void text_h(const char *text, size_t len, void *arg)
{
	struct ch_api_ws *c = arg;
	json_t *o = json_loadb(text, len, 0, NULL), *topics, *t;
	const char *list[64];
	size_t i, n = 0;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "type")) ||
	    strcmp(json_string_value(json_object_get(o, "type")),
	           "subscribe")) {
		ws_error(c, "expected {\"type\": \"subscribe\", \"topics\": "
		            "[\"conference:<id>\", ...]}");
		goto out;
	}
	topics = json_object_get(o, "topics");
	if (!json_is_array(topics) || json_array_size(topics) > 64) {
		ws_error(c, "topics must be a list of at most 64 strings");
		goto out;
	}
	json_array_foreach(topics, i, t)
	{
		const char *s = json_string_value(t);
		if (!s || strncmp(s, "conference:", 11) ||
		    !ch_uuid_valid(s + 11)) {
			ws_error(c, "each topic must be \"conference:<id>\"");
			goto out;
		}
		list[n++] = s;
	}
	if (c->join && (n != 1 || strcasecmp(list[0], c->join_topic))) {
		/* narrowed by its token: it may only say so again */
		ws_error(c, "a join token's stream is its conference's only");
		goto out;
	}
	if (!c->join && ch_events_sub_topics(c->sub, list, n)) {
		ws_error(c, "invalid topics");
		goto out;
	}
	json_t *ack = json_object();
	json_object_set_new(ack, "type", json_string("subscribed"));
	json_object_set(ack, "topics", topics);
	send_json(c, ack);
out:
	json_decref(o);
}

static void close_h(int err, void *arg)
{
	struct ch_api_ws *c = arg;
	(void)err;
	ch_log_debug("api", "websocket client gone");
	client_free(c);
}

void ch_api_ws_open(struct ch_api_req *r)
{
	const struct http_hdr *key;
	struct tcp_conn *tc = NULL;
	struct mbuf *pending = NULL;
	struct ch_api_ws *c;
	char accept[29], hdrs[160];

	if (!r->conn || !r->msg) {
		ch_api_error(r, 400, "websocket_required", NULL,
		             "this route needs a WebSocket upgrade");
		return;
	}
	key = http_msg_hdr(r->msg, HTTP_HDR_SEC_WEBSOCKET_KEY);
	if (!http_msg_hdr_has_value(r->msg, HTTP_HDR_UPGRADE, "websocket") ||
	    !key || ch_websocket_accept_key(key->val.p, key->val.l, accept)) {
		ch_api_error(r, 400, "websocket_required", NULL,
		             "send Upgrade: websocket with a "
		             "Sec-WebSocket-Key");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		ch_api_error(r, 500, "internal_error", NULL, "out of memory");
		return;
	}
	c->api = r->api;
	memcpy(c->token_hash, r->cust.token_hash, sizeof(c->token_hash));
	snprintf(hdrs, sizeof(hdrs),
	         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	         "Sec-WebSocket-Accept: %s\r\n",
	         accept);
	if (ch_httpd_upgrade(r->conn, hdrs, &tc, &pending)) {
		free(c);
		r->taken = true; /* the connection is gone */
		return;
	}
	r->taken = true;
	if (ch_websocket_alloc(&c->ws, tc, pending, text_h, close_h, c)) {
		mem_deref(tc);
		mem_deref(pending);
		free(c);
		return;
	}
	mem_deref(tc);
	mem_deref(pending);
	c->sub = ch_events_subscribe(ch_core_events(r->api->core), r->cust.id,
	                             event_h, c);
	if (!c->sub) {
		ch_websocket_free(c->ws);
		free(c);
		return;
	}
	if (r->join) {
		const char *topic = c->join_topic;
		c->join = true;
		c->join_exp_s = r->join_exp_s;
		snprintf(c->join_topic, sizeof(c->join_topic), "conference:%s",
		         r->join_conf);
		if (ch_events_sub_topics(c->sub, &topic, 1)) {
			ch_events_unsubscribe(c->sub);
			ch_websocket_free(c->ws);
			free(c);
			return;
		}
	}
	c->next = r->api->ws_clients;
	if (c->next)
		c->next->prev = c;
	r->api->ws_clients = c;
	ch_log_info("api", "websocket client subscribed (customer %s)",
	            r->cust.id);
}

/* Closes c (1008) saying why; freed by close_h when the close
 * handshake ends. */
static void close_client(struct ch_api_ws *c, const char *why)
{
	ch_log_info("api", "websocket client closed: %s", why);
	ws_error(c, why);
	ch_events_unsubscribe(c->sub);
	c->sub = NULL;
	ch_websocket_close(c->ws, CH_WEBSOCKET_POLICY_VIOLATION);
}

void ch_api_ws_revalidate(struct ch_api *api)
{
	struct ch_store *st = ch_core_store(api->core);
	struct ch_customer cust;

	for (struct ch_api_ws *c = api->ws_clients; c; c = c->next) {
		if (c->sub && st->ops->customer_by_token_hash(st, c->token_hash,
		                                              &cust) == ENOENT)
			close_client(c, "token replaced");
	}
}

void ch_api_ws_expire(struct ch_api *api)
{
	int64_t now_s = ch_time_now_us() / 1000000;
	for (struct ch_api_ws *c = api->ws_clients; c; c = c->next) {
		if (c->sub && c->join && c->join_exp_s <= now_s)
			close_client(c, "token expired");
	}
}

void ch_api_ws_close_all(struct ch_api *api)
{
	while (api->ws_clients)
		client_free(api->ws_clients);
}
