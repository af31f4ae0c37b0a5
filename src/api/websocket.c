/*
 * websocket.c: server-side WebSocket (RFC 6455) over a libre tcp_conn.
 *
 * Design: bytes from the socket are appended to rxb and parsed frame by
 * frame with ch_websocket_frame_parse(). A frame is handled only once it is
 * complete; headers are checked as soon as they are complete so that an
 * unmasked or oversized frame is refused before its payload arrives. Text
 * fragments are gathered in msg (at most CH_WEBSOCKET_MAX_MESSAGE bytes) and
 * handed to texth as one message. One timer does the keepalive (ping every
 * ping_ms, end after idle_ms without any byte received).
 *
 * Re-entrancy: texth and closeh may free the connection. Code that calls a
 * handler and then touches ws again holds a mem_ref around it; freeing
 * releases the socket and timers at once (ws_release) and the memory when
 * the last reference goes. Handlers are only called from libre callbacks.
 */
#include <re_types.h>
#include <re_mem.h>
#include <re_list.h>
#include <re_mbuf.h>
#include <re_sa.h>
#include <re_tcp.h>
#include <re_tmr.h>
#include <re_base64.h>
#include <re_sha.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "api/websocket.h"
#include "util/log.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

enum ws_state {
	WS_OPEN = 0, /* frames flow both ways */
	WS_CLOSING,  /* we sent a close frame and wait for the peer's */
	WS_ENDED,    /* socket released; only ch_websocket_free() is left */
};

/*
 * Owned by the caller of ch_websocket_alloc() (freed by ch_websocket_free)
 * plus short-lived references held while handlers run. Control thread only.
 */
struct ch_websocket {
	struct tcp_conn *tc;  /* own reference; NULL once ended */
	struct mbuf *rxb;     /* received bytes not yet parsed: pos..end */
	struct mbuf *msg;     /* text of the message being reassembled */
	size_t msg_len;       /* bytes of the current message so far */
	uint8_t msg_opcode;   /* TEXT/BINARY while fragmented, else 0 */
	enum ws_state state;  /* see enum ws_state */
	struct tmr tmr_ka;    /* keepalive: ping and idle check */
	struct tmr tmr_close; /* wait for the peer's close reply */
	struct tmr tmr_first; /* processes pending bytes after alloc */
	uint64_t last_rx;     /* tmr_jiffies() of the last received bytes */
	uint64_t next_ping;   /* tmr_jiffies() when the next ping is due */
	uint32_t ping_ms;     /* keepalive ping period */
	uint32_t idle_ms;     /* end after this long without input */
	char peer[64];        /* "addr:port" for log lines */
	ch_websocket_text_h *texth;   /* NULL once ended or freed */
	ch_websocket_close_h *closeh; /* NULL once ended or freed */
	void *arg;
};

int ch_websocket_accept_key(const char *client_key, size_t key_len,
                            char out[29])
{
	uint8_t buf[256 + sizeof(ws_guid)];
	uint8_t digest[SHA_DIGEST_LENGTH];
	size_t olen = 28;
	int err;

	if (!client_key || !out || !key_len || key_len > 256)
		return EINVAL;

	memcpy(buf, client_key, key_len);
	memcpy(buf + key_len, ws_guid, sizeof(ws_guid) - 1);
	SHA1(buf, key_len + sizeof(ws_guid) - 1, digest);

	err = base64_encode(digest, sizeof(digest), out, &olen);
	if (err)
		return err;
	out[olen] = '\0';

	return 0;
}

static bool opcode_known(uint8_t op)
{
	return op <= CH_WEBSOCKET_BINARY ||
	       (op >= CH_WEBSOCKET_CLOSE && op <= CH_WEBSOCKET_PONG);
}

int ch_websocket_frame_parse(const uint8_t *buf, size_t len, size_t max_payload,
                             struct ch_websocket_frame *f)
{
	struct ch_websocket_frame h;
	uint64_t plen;
	size_t hl, ext;
	uint8_t len7;

	memset(&h, 0, sizeof(h));
	if (f)
		*f = h;
	if (!buf || len < 1)
		return 0;

	if (buf[0] & 0x70) /* RSV1-3: no extension was negotiated */
		return -1;
	h.fin = (buf[0] & 0x80) != 0;
	h.opcode = buf[0] & 0x0f;
	if (!opcode_known(h.opcode))
		return -1;
	if ((h.opcode & 0x08) && !h.fin) /* control frames are not split */
		return -1;
	if (len < 2)
		return 0;

	h.masked = (buf[1] & 0x80) != 0;
	len7 = buf[1] & 0x7f;
	if ((h.opcode & 0x08) && len7 > 125)
		return -1;

	ext = len7 == 127 ? 8 : len7 == 126 ? 2 : 0; /* extended length */
	hl = 2 + ext;
	if (len < hl)
		return 0;
	plen = ext ? 0 : len7;
	for (size_t i = 2; i < hl; i++)
		plen = plen << 8 | buf[i];
	if (plen >> 63)
		return -1;

	if (plen > max_payload) {
		if (f)
			f->payload_len = plen; /* lets callers answer 1009 */
		return -1;
	}
	if (plen > (uint64_t)INT_MAX - 14) /* total must fit the return */
		return -1;

	if (h.masked)
		hl += 4;
	if (len < hl)
		return 0;
	if (h.masked)
		memcpy(h.mask, buf + hl - 4, 4);
	h.payload_len = plen;
	h.header_len = hl;
	if (f)
		*f = h;

	if (len - hl < plen)
		return 0;

	return (int)(hl + plen);
}

size_t ch_websocket_frame_header(uint8_t out[14], bool fin, uint8_t opcode,
                                 uint64_t payload_len, const uint8_t *mask)
{
	size_t ext = payload_len < 126 ? 0 : payload_len <= 0xffff ? 2 : 8;
	size_t n = 2 + ext;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	out[1] = (uint8_t)(ext == 8 ? 127 : ext == 2 ? 126 : payload_len);
	for (size_t i = 0; i < ext; i++)
		out[2 + i] = (uint8_t)(payload_len >> (8 * (ext - 1 - i)));
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}

	return n;
}

void ch_websocket_unmask(uint8_t *data, size_t len, const uint8_t mask[4],
                         size_t offset)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(offset + i) & 3];
}

/* Strict UTF-8 check: no overlong forms, surrogates or values > U+10FFFF.
 * k is the number of continuation bytes; 4 marks an invalid lead byte. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};

	for (size_t i = 0; i < n;) {
		uint8_t c = s[i++];
		size_t k = c < 0x80   ? 0
		           : c < 0xc0 ? 4
		           : c < 0xe0 ? 1
		           : c < 0xf0 ? 2
		                      : 3;
		uint32_t cp;

		if (k > 3 || n - i < k)
			return false;
		cp = c & (0x7f >> k);
		for (size_t j = 0; j < k; j++, i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min[k] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}

	return true;
}

/* Close codes a peer may send (RFC 6455 7.4 and the IANA registry). */
static bool close_code_valid(uint16_t code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	if (code < 1000 || code > 1014)
		return false;

	return code != 1004 && code != 1005 && code != 1006;
}

/* Drops the socket and timers; no handler is called afterwards. */
static void ws_release(struct ch_websocket *ws)
{
	tmr_cancel(&ws->tmr_ka);
	tmr_cancel(&ws->tmr_close);
	tmr_cancel(&ws->tmr_first);
	if (ws->tc) {
		tcp_set_handlers(ws->tc, NULL, NULL, NULL, NULL);
		ws->tc = mem_deref(ws->tc);
	}
	ws->state = WS_ENDED;
	ws->texth = NULL;
	ws->closeh = NULL;
}

static void ws_destructor(void *data)
{
	struct ch_websocket *ws = data;

	ws_release(ws);
	mem_deref(ws->rxb);
	mem_deref(ws->msg);
}

/* Ends the connection and calls closeh last: ws may be gone on return. */
static void ws_end(struct ch_websocket *ws, int err, const char *why)
{
	ch_websocket_close_h *closeh = ws->closeh;
	void *arg = ws->arg;

	if (ws->state == WS_ENDED)
		return;

	ch_log_info("ws", "closed %s: %s (%s)", ws->peer, why,
	            err ? strerror(err) : "ok");
	ws_release(ws);
	if (closeh)
		closeh(err, arg);
}

/* Sends one unmasked frame. Control frames may use the headroom above
 * CH_WEBSOCKET_MAX_TXQ; text frames may not. */
static int ws_send_frame(struct ch_websocket *ws, uint8_t opcode,
                         const void *data, size_t len)
{
	struct mbuf *mb;
	int err;

	if (!ws->tc)
		return ENOTCONN;
	if (opcode == CH_WEBSOCKET_TEXT && len > CH_WEBSOCKET_MAX_TXQ - 14)
		return EMSGSIZE; /* could never be queued */
	if (opcode == CH_WEBSOCKET_TEXT &&
	    tcp_conn_txqsz(ws->tc) + len + 14 > CH_WEBSOCKET_MAX_TXQ)
		return ENOBUFS;

	mb = mbuf_alloc(14 + len);
	if (!mb)
		return ENOMEM;
	mb->end = ch_websocket_frame_header(mb->buf, true, opcode, len, NULL);
	if (len)
		memcpy(mb->buf + mb->end, data, len);
	mb->end += len;

	err = tcp_send(ws->tc, mb);
	mem_deref(mb);

	return err == ENOSPC ? ENOBUFS : err;
}

static int ws_send_close(struct ch_websocket *ws, uint16_t code)
{
	uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};

	return ws_send_frame(ws, CH_WEBSOCKET_CLOSE, p, code ? 2 : 0);
}

/* Fails the connection: close frame with code (unless ours is already
 * out), then end at once. ws may be gone on return. */
static void ws_fail(struct ch_websocket *ws, uint16_t code, int err,
                    const char *why)
{
	if (ws->state == WS_OPEN)
		(void)ws_send_close(ws, code);
	ws_end(ws, err, why);
}

static void ka_handler(void *arg);

static void ka_schedule(struct ch_websocket *ws)
{
	uint64_t now = tmr_jiffies();
	uint64_t due = ws->last_rx + ws->idle_ms;

	if (ws->state != WS_OPEN)
		return;
	if (ws->next_ping < due)
		due = ws->next_ping;
	tmr_start(&ws->tmr_ka, due > now ? due - now : 0, ka_handler, ws);
}

static void ka_handler(void *arg)
{
	struct ch_websocket *ws = arg;
	uint64_t now = tmr_jiffies();

	if (now - ws->last_rx >= ws->idle_ms) {
		ws_fail(ws, CH_WEBSOCKET_GOING_AWAY, ETIMEDOUT, "idle timeout");
		return;
	}
	if (now >= ws->next_ping) {
		(void)ws_send_frame(ws, CH_WEBSOCKET_PING, NULL, 0);
		ws->next_ping = now + ws->ping_ms;
	}
	ka_schedule(ws);
}

static void close_wait_handler(void *arg)
{
	struct ch_websocket *ws = arg;

	ws_end(ws, ETIMEDOUT, "no close reply");
}

/* Checks a complete header before its payload is in. Returns 0 or the close
 * code to fail with; then *err and *why say why. */
static uint16_t check_header(const struct ch_websocket *ws,
                             const struct ch_websocket_frame *f, int *err,
                             const char **why)
{
	*err = EPROTO;
	*why = "unmasked frame";
	if (!f->masked)
		return CH_WEBSOCKET_PROTOCOL_ERROR;
	*why = "bad fragment sequence";
	if (f->opcode & 0x08)
		return 0;
	if (f->opcode == CH_WEBSOCKET_CONT && !ws->msg_opcode)
		return CH_WEBSOCKET_PROTOCOL_ERROR;
	if (f->opcode != CH_WEBSOCKET_CONT && ws->msg_opcode)
		return CH_WEBSOCKET_PROTOCOL_ERROR;
	if (ws->msg_len + f->payload_len > CH_WEBSOCKET_MAX_MESSAGE) {
		*err = EMSGSIZE;
		*why = "message too big";
		return CH_WEBSOCKET_TOO_BIG;
	}

	return 0;
}

/* A whole text message is in msg: check it and hand it to texth. */
static void deliver_text(struct ch_websocket *ws)
{
	size_t len = ws->msg->end;

	if (!utf8_valid(ws->msg->buf, len)) {
		ws_fail(ws, CH_WEBSOCKET_INVALID_DATA, EILSEQ, "bad UTF-8");
		return;
	}
	ws->msg->pos = len;
	if (mbuf_write_u8(ws->msg, 0)) {
		ws_fail(ws, CH_WEBSOCKET_INTERNAL_ERROR, ENOMEM, "no memory");
		return;
	}
	if (ws->state == WS_OPEN && ws->texth)
		ws->texth((const char *)ws->msg->buf, len, ws->arg);
}

static void handle_data(struct ch_websocket *ws,
                        const struct ch_websocket_frame *f, const uint8_t *p)
{
	uint8_t type = f->opcode ? f->opcode : ws->msg_opcode;
	size_t n = (size_t)f->payload_len;

	ws->msg_opcode = f->fin ? 0 : type;
	ws->msg_len += n;

	if (type == CH_WEBSOCKET_TEXT && ws->state == WS_OPEN) {
		ws->msg->pos = ws->msg->end;
		if (mbuf_write_mem(ws->msg, p, n)) {
			ws_fail(ws, CH_WEBSOCKET_INTERNAL_ERROR, ENOMEM,
			        "no memory");
			return;
		}
		if (f->fin)
			deliver_text(ws);
	}

	if (f->fin && ws->state != WS_ENDED) {
		ws->msg_len = 0;
		mbuf_rewind(ws->msg);
	}
}

static void handle_close(struct ch_websocket *ws, const uint8_t *p, size_t n)
{
	uint16_t code = n >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 0;

	if (n == 1 || (n >= 2 && !close_code_valid(code))) {
		ws_fail(ws, CH_WEBSOCKET_PROTOCOL_ERROR, EPROTO, "bad close");
		return;
	}
	if (n > 2 && !utf8_valid(p + 2, n - 2)) {
		ws_fail(ws, CH_WEBSOCKET_INVALID_DATA, EILSEQ, "bad close");
		return;
	}

	if (ws->state == WS_OPEN) {
		(void)ws_send_close(ws, code); /* echo the peer's code */
		ws_end(ws, 0, "peer closed");
	} else {
		ws_end(ws, 0, "close acknowledged");
	}
}

/* Handles one complete, unmasked frame; ws may be ended on return. */
static void handle_frame(struct ch_websocket *ws,
                         const struct ch_websocket_frame *f, const uint8_t *p)
{
	size_t n = (size_t)f->payload_len;

	if (f->opcode == CH_WEBSOCKET_CLOSE)
		handle_close(ws, p, n);
	else if (f->opcode == CH_WEBSOCKET_PING && ws->state == WS_OPEN)
		(void)ws_send_frame(ws, CH_WEBSOCKET_PONG, p, n);
	else if (!(f->opcode & 0x08))
		handle_data(ws, f, p);
}

/* Moves unparsed bytes to the front of rxb and trims a large idle buffer. */
static void rx_compact(struct mbuf *rxb)
{
	size_t left = mbuf_get_left(rxb);

	if (rxb->pos && left)
		memmove(rxb->buf, rxb->buf + rxb->pos, left);
	rxb->pos = 0;
	rxb->end = left;
	if (!left && rxb->size > 16384)
		(void)mbuf_resize(rxb, 4096);
}

/* Parses and handles every complete frame in rxb. */
static void ws_process(struct ch_websocket *ws)
{
	mem_ref(ws);

	while (ws->state != WS_ENDED) {
		struct ch_websocket_frame f;
		uint8_t *p = mbuf_buf(ws->rxb);
		const char *why;
		uint16_t code;
		int r, err;

		r = ch_websocket_frame_parse(p, mbuf_get_left(ws->rxb),
		                             CH_WEBSOCKET_MAX_MESSAGE, &f);
		if (r < 0) {
			if (f.payload_len > CH_WEBSOCKET_MAX_MESSAGE)
				ws_fail(ws, CH_WEBSOCKET_TOO_BIG, EMSGSIZE,
				        "frame too big");
			else
				ws_fail(ws, CH_WEBSOCKET_PROTOCOL_ERROR, EPROTO,
				        "bad frame");
			break;
		}
		if (!f.header_len)
			break;
		code = check_header(ws, &f, &err, &why);
		if (code) {
			ws_fail(ws, code, err, why);
			break;
		}
		if (r == 0)
			break;

		mbuf_advance(ws->rxb, r);
		ch_websocket_unmask(p + f.header_len, (size_t)f.payload_len,
		                    f.mask, 0);
		handle_frame(ws, &f, p + f.header_len);
	}

	rx_compact(ws->rxb);
	mem_deref(ws);
}

static void first_handler(void *arg)
{
	ws_process(arg);
}

static void tcp_recv_handler(struct mbuf *mb, void *arg)
{
	struct ch_websocket *ws = arg;
	size_t pos = ws->rxb->pos;
	int err;

	ws->last_rx = tmr_jiffies();

	ws->rxb->pos = ws->rxb->end;
	err = mbuf_write_mem(ws->rxb, mbuf_buf(mb), mbuf_get_left(mb));
	ws->rxb->pos = pos;
	if (err) {
		ws_fail(ws, CH_WEBSOCKET_INTERNAL_ERROR, err, "no memory");
		return;
	}

	ws_process(ws);
}

static void tcp_close_handler(int err, void *arg)
{
	struct ch_websocket *ws = arg;

	if (ws->state == WS_CLOSING)
		ws_end(ws, 0, "peer closed TCP after our close");
	else
		ws_end(ws, err ? err : ECONNRESET, "TCP closed");
}

int ch_websocket_alloc(struct ch_websocket **wsp, struct tcp_conn *tc,
                       struct mbuf *pending, ch_websocket_text_h *texth,
                       ch_websocket_close_h *closeh, void *arg)
{
	struct ch_websocket *ws;
	struct sa peer;
	char addr[48];
	int err = 0;

	if (!wsp || !tc)
		return EINVAL;

	ws = mem_zalloc(sizeof(*ws), ws_destructor);
	if (!ws)
		return ENOMEM;

	tmr_init(&ws->tmr_ka);
	tmr_init(&ws->tmr_close);
	tmr_init(&ws->tmr_first);
	ws->rxb = mbuf_alloc(4096);
	ws->msg = mbuf_alloc(1024);
	if (!ws->rxb || !ws->msg) {
		err = ENOMEM;
		goto out;
	}
	if (pending && mbuf_get_left(pending)) {
		err = mbuf_write_mem(ws->rxb, mbuf_buf(pending),
		                     mbuf_get_left(pending));
		if (err)
			goto out;
		ws->rxb->pos = 0;
		tmr_start(&ws->tmr_first, 0, first_handler, ws);
	}

	ws->texth = texth;
	ws->closeh = closeh;
	ws->arg = arg;
	ws->ping_ms = CH_WEBSOCKET_PING_MS;
	ws->idle_ms = CH_WEBSOCKET_IDLE_MS;
	ws->last_rx = tmr_jiffies();
	ws->next_ping = ws->last_rx + ws->ping_ms;
	ka_schedule(ws);

	if (tcp_conn_peer_get(tc, &peer) || sa_ntop(&peer, addr, sizeof(addr)))
		(void)snprintf(addr, sizeof(addr), "?");
	(void)snprintf(ws->peer, sizeof(ws->peer), "%s:%u", addr,
	               sa_port(&peer));

	ws->tc = mem_ref(tc);
	tcp_conn_txqsz_set(tc, CH_WEBSOCKET_MAX_TXQ + 64 * 1024);
	tcp_set_handlers(tc, NULL, tcp_recv_handler, tcp_close_handler, ws);
	ch_log_info("ws", "open %s", ws->peer);

out:
	if (err)
		mem_deref(ws);
	else
		*wsp = ws;

	return err;
}

void ch_websocket_set_keepalive(struct ch_websocket *ws, uint32_t ping_ms,
                                uint32_t idle_ms)
{
	if (!ws)
		return;
	if (ping_ms) {
		ws->ping_ms = ping_ms;
		ws->next_ping = tmr_jiffies() + ping_ms;
	}
	if (idle_ms)
		ws->idle_ms = idle_ms;
	ka_schedule(ws);
}

int ch_websocket_send_text(struct ch_websocket *ws, const char *text,
                           size_t len)
{
	if (!ws || (!text && len))
		return EINVAL;
	if (ws->state != WS_OPEN)
		return ENOTCONN;

	return ws_send_frame(ws, CH_WEBSOCKET_TEXT, text, len);
}

void ch_websocket_close(struct ch_websocket *ws, uint16_t code)
{
	if (!ws || ws->state != WS_OPEN)
		return;

	(void)ws_send_close(ws, code);
	ws->state = WS_CLOSING;
	tmr_cancel(&ws->tmr_ka);
	tmr_start(&ws->tmr_close, CH_WEBSOCKET_CLOSE_WAIT_MS,
	          close_wait_handler, ws);
}

void ch_websocket_free(struct ch_websocket *ws)
{
	if (!ws)
		return;

	if (ws->state != WS_ENDED)
		ch_log_info("ws", "closed %s: released by owner", ws->peer);
	ws_release(ws);
	mem_deref(ws);
}
