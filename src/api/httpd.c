/*
 * httpd.c: HTTP/1.1 connections on libre TCP: buffering, limits,
 * keep-alive, pipelining, and WebSocket hand-over. See httpd.h.
 *
 * Accounting: every accepted connection is in h->conns; those that count
 * against the limits (not the ones being turned away with 503) also hold a
 * reference on their client address's entry in h->peers, a hash of
 * addresses with open connections. Each connection has two timers: idle
 * (nothing in progress, or lingering after a final answer) and req (the
 * request being received: head, then body), which bytes that trickle in do
 * not restart.
 *
 * File responses (ch_httpd_reply_file) are read from the descriptor in
 * STREAM_CHUNK pieces from libre's send handler, which runs whenever the
 * send queue is empty and the socket writable: at most one chunk waits in
 * libre's queue, whatever the file's size. Requests pipelined behind one
 * are held in c->buf until its last byte is queued, so answers stay in
 * order.
 */
#include "api/httpd.h"
#include "util/log.h"

#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_sa.h>
#include <re_tmr.h>
#include <re_tcp.h>
#include <re_msg.h>
#include <re_http.h>

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#define LINGER_MS       2000 /* after a final answer, before closing */
#define MAX_TURNED_AWAY 64   /* 503s lingering at once; past it: reset */
#define FULL_LOG_MS     10000
#define LISTEN_BACKLOG  1024 /* the kernel caps it at somaxconn */
#define STREAM_CHUNK    (64 * 1024)
#define STREAM_TURN     8 /* chunks at most per send handler call */

/* The listening server. Owned by the daemon; control thread only. */
struct ch_httpd {
	struct tcp_sock *ts;
	struct list conns;  /* every ch_httpd_conn, counted or not */
	struct hash *peers; /* struct peer by client address */
	unsigned n_counted; /* connections holding a peer reference */
	unsigned n_turned;  /* lingering 503s, not counted */
	uint64_t full_log;  /* tmr_jiffies of the last "full" warning */
	struct ch_httpd_limits lim;
	ch_httpd_req_h *reqh;
	ch_httpd_err_h *errh;
	void *arg;
};

/* Open connections from one client address. Owned by the server's peers
 * hash; freed with its last connection. */
struct peer {
	struct le he;
	struct sa addr;
	unsigned n;
};

/* One client connection. Owned by the server's list (a libre mem object;
 * freed when the peer closes, on error, on a timeout, or at hand-over). */
struct ch_httpd_conn {
	struct le le;
	struct ch_httpd *h;
	struct tcp_conn *tc;
	struct peer *peer; /* NULL: not counted (turned away, handed over) */
	struct mbuf *buf;  /* bytes received, not yet consumed */
	struct tmr idle;
	struct tmr req;  /* running while a request is incomplete */
	bool in_body;    /* req times the body (else the head) */
	bool keep_alive; /* of the request being answered */
	bool replied;
	bool closing; /* close after the reply in flight */
	bool upgraded;
	bool turned_away; /* counted in h->n_turned */
	/* the answer comes later (ch_httpd_defer): requests behind it wait,
	 * the idle timer is off */
	bool deferred;
	/* a file response being sent (ch_httpd_reply_file) */
	bool streaming;
	int sfd;            /* the file, owned while streaming */
	uint64_t s_off;     /* next byte of the file to send */
	uint64_t s_left;    /* bytes still to send */
	struct mbuf *s_buf; /* one chunk */
};

static bool peer_cmp_h(struct le *le, void *arg)
{
	const struct peer *p = le->data;
	return sa_cmp(&p->addr, arg, SA_ADDR);
}

static struct peer *peer_find(const struct ch_httpd *h, const struct sa *addr)
{
	struct le *le = hash_lookup(h->peers, sa_hash(addr, SA_ADDR),
	                            peer_cmp_h, (void *)addr);
	return le ? le->data : NULL;
}

/* Drops c from the limits' counts (idempotent). */
static void conn_unaccount(struct ch_httpd_conn *c)
{
	if (c->peer) {
		if (!--c->peer->n) {
			hash_unlink(&c->peer->he);
			mem_deref(c->peer);
		}
		c->peer = NULL;
		c->h->n_counted--;
	}
	if (c->turned_away) {
		c->turned_away = false;
		c->h->n_turned--;
	}
}

static void conn_destructor(void *arg)
{
	struct ch_httpd_conn *c = arg;
	list_unlink(&c->le);
	conn_unaccount(c);
	tmr_cancel(&c->idle);
	tmr_cancel(&c->req);
	if (c->streaming) {
		if (c->tc)
			(void)tcp_set_send(c->tc, NULL);
		(void)close(c->sfd);
		mem_deref(c->s_buf);
	}
	mem_deref(c->tc);
	mem_deref(c->buf);
}

static void idle_h(void *arg)
{
	mem_deref(arg);
}

static void close_h(int err, void *arg)
{
	struct ch_httpd_conn *c = arg;
	(void)err;
	/* a deferred answer may still hold c: it then finds no socket */
	c->tc = mem_deref(c->tc);
	mem_deref(c);
}

static const char *reason_of(uint16_t status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* Answers an error the layer found itself; the connection then closes. */
static void fail(struct ch_httpd_conn *c, uint16_t status)
{
	const char *body = c->h->errh ? c->h->errh(status, c->h->arg) : "";
	c->keep_alive = false;
	(void)ch_httpd_reply(c, status, reason_of(status), "application/json",
	                     body, strlen(body),
	                     status == 503 ? "Retry-After: 1\r\n" : NULL);
	c->closing = true;
}

/* After a final answer: drop the input, let the client read the answer and
 * close first (closing now with unread input would reset the connection
 * and lose the answer), and close in LINGER_MS whatever it does. */
static void linger(struct ch_httpd_conn *c)
{
	c->closing = true;
	c->buf = mem_deref(c->buf);
	tmr_cancel(&c->req);
	tmr_start(&c->idle, LINGER_MS, idle_h, c);
}

static void req_timeout_h(void *arg)
{
	struct ch_httpd_conn *c = arg;
	struct sa peer;
	char who[64] = "?";
	if (!tcp_conn_peer_get(c->tc, &peer))
		(void)re_snprintf(who, sizeof(who), "%J", &peer);
	ch_log_debug("http", "%s: request %s not complete in %u ms; closing",
	             who, c->in_body ? "body" : "head",
	             c->in_body ? c->h->lim.idle_timeout_ms
	                        : c->h->lim.head_timeout_ms);
	fail(c, 408);
	linger(c);
}

/* A request is incomplete: time its head from its first byte, its body
 * from the end of the head; more bytes do not restart either. */
static void req_wait(struct ch_httpd_conn *c, bool body)
{
	if (body && !c->in_body) {
		c->in_body = true;
		tmr_start(&c->req, c->h->lim.idle_timeout_ms, req_timeout_h, c);
	} else if (!tmr_isrunning(&c->req)) {
		c->in_body = body;
		tmr_start(&c->req,
		          body ? c->h->lim.idle_timeout_ms
		               : c->h->lim.head_timeout_ms,
		          req_timeout_h, c);
	}
}

static bool wants_keep_alive(const struct http_msg *msg)
{
	bool v10 = !pl_strcmp(&msg->ver, "1.0");
	if (http_msg_hdr_has_value(msg, HTTP_HDR_CONNECTION, "close"))
		return false;
	if (v10)
		return http_msg_hdr_has_value(msg, HTTP_HDR_CONNECTION,
		                              "keep-alive");
	return true;
}

/* Checks every Content-Length header: digits only, all equal. libre keeps
 * the length in 32 bits and reads junk as 0, so the raw values are
 * checked here, in 64 bits. Returns 0 (and *len), 400 or 413. */
static uint16_t content_length(const struct http_msg *msg, uint64_t *len)
{
	bool seen = false;
	*len = 0;
	for (struct le *le = msg->hdrl.head; le; le = le->next) {
		const struct http_hdr *h = le->data;
		uint64_t v = 0;
		if (h->id != HTTP_HDR_CONTENT_LENGTH)
			continue;
		if (!h->val.l || h->val.l > 19)
			return h->val.l > 19 ? 413 : 400;
		for (size_t i = 0; i < h->val.l; i++) {
			char ch = h->val.p[i];
			if (ch < '0' || ch > '9')
				return 400;
			v = v * 10 + (uint64_t)(ch - '0');
		}
		if (seen && v != *len)
			return 400;
		seen = true;
		*len = v;
	}
	return *len > CH_HTTPD_MAX_BODY ? 413 : 0;
}

/* Processes every complete request in c->buf. Returns false if c was
 * freed or handed over. */
static bool process(struct ch_httpd_conn *c)
{
	while (c->buf && mbuf_get_left(c->buf) > 0 && !c->closing &&
	       !c->streaming && !c->deferred) {
		struct http_msg *msg = NULL;
		size_t start = c->buf->pos;
		int err = http_msg_decode(&msg, c->buf, true);
		if (err == ENODATA) {
			c->buf->pos = start;
			if (mbuf_get_left(c->buf) > CH_HTTPD_MAX_HEADER)
				fail(c, 431);
			else
				req_wait(c, false);
			break;
		}
		if (err) {
			fail(c, 400);
			break;
		}
		if (c->buf->pos - start > CH_HTTPD_MAX_HEADER) {
			mem_deref(msg);
			fail(c, 431);
			break;
		}
		if (http_msg_hdr(msg, HTTP_HDR_TRANSFER_ENCODING)) {
			mem_deref(msg);
			fail(c, 411);
			break;
		}
		uint64_t clen64;
		uint16_t bad = content_length(msg, &clen64);
		if (bad || clen64 != msg->clen) {
			mem_deref(msg);
			fail(c, bad ? bad : 400);
			break;
		}
		if (mbuf_get_left(c->buf) < msg->clen) {
			c->buf->pos = start;
			mem_deref(msg);
			req_wait(c, true);
			break;
		}
		tmr_cancel(&c->req);
		c->in_body = false;
		const char *body = (const char *)mbuf_buf(c->buf);
		const size_t clen = msg->clen;
		c->keep_alive = wants_keep_alive(msg);
		c->replied = false;
		mem_ref(c);
		c->h->reqh(c, msg, body, clen, c->h->arg);
		mem_deref(msg);
		if (c->upgraded) {
			mem_deref(c); /* our reference */
			mem_deref(c); /* the connection's own */
			return false;
		}
		mem_deref(c);
		c->buf->pos += clen;
		if (!c->keep_alive)
			c->closing = true;
	}
	/* a file being sent: what follows waits for its end (stream_done);
	 * the same for a deferred answer (ch_httpd_reply) */
	if (c->closing && !c->streaming && !c->deferred) {
		linger(c);
		return false;
	}
	/* Drop what was consumed. */
	if (c->buf && c->buf->pos == c->buf->end) {
		c->buf = mem_deref(c->buf);
	} else if (c->buf && c->buf->pos > 0) {
		size_t left = mbuf_get_left(c->buf);
		memmove(c->buf->buf, mbuf_buf(c->buf), left);
		c->buf->pos = 0;
		c->buf->end = left;
	}
	return true;
}

static void recv_h(struct mbuf *mb, void *arg)
{
	struct ch_httpd_conn *c = arg;
	size_t len = mbuf_get_left(mb);

	if (c->closing)
		return; /* discard until the client closes */
	if (!c->buf) {
		c->buf = mbuf_alloc(len > 4096 ? len : 4096);
		if (!c->buf) {
			mem_deref(c);
			return;
		}
	}
	if (mbuf_get_left(c->buf) + len >
	    CH_HTTPD_MAX_BODY + CH_HTTPD_MAX_HEADER + 4096) {
		if (c->streaming) { /* an answer is going out: no 413 */
			mem_deref(c);
			return;
		}
		fail(c, 413);
		linger(c);
		return;
	}
	size_t pos = c->buf->pos;
	c->buf->pos = c->buf->end;
	if (mbuf_write_mem(c->buf, mbuf_buf(mb), len)) {
		mem_deref(c);
		return;
	}
	c->buf->pos = pos;
	/* while a file streams only reading it restarts the idle timer
	 * (stream_send_h): bytes sent meanwhile do not keep a stalled
	 * reader's connection and descriptor */
	if (process(c) && !c->streaming && !c->deferred)
		tmr_start(&c->idle, c->h->lim.idle_timeout_ms, idle_h, c);
}

/* Whether one more connection from addr is within the limits; logs a
 * warning (at most every FULL_LOG_MS) when not. */
static bool admit(struct ch_httpd *h, const struct sa *addr, struct peer **pp)
{
	const char *why = NULL;
	*pp = peer_find(h, addr);
	if (h->n_counted >= h->lim.max_conns)
		why = "the server's limit";
	else if (*pp && (*pp)->n >= h->lim.max_conns_per_ip)
		why = "the limit per address";
	if (!why)
		return true;
	if (!h->full_log || tmr_jiffies() - h->full_log >= FULL_LOG_MS) {
		char who[64];
		h->full_log = tmr_jiffies();
		(void)re_snprintf(who, sizeof(who), "%j", addr);
		ch_log_warn("http",
		            "%s: %s of open connections is reached "
		            "(%u in total, %u from this address); answering "
		            "503",
		            who, why, h->n_counted, *pp ? (*pp)->n : 0);
	}
	return false;
}

static void connect_h(const struct sa *addr, void *arg)
{
	struct ch_httpd *h = arg;
	struct ch_httpd_conn *c;
	struct peer *p;
	bool ok = admit(h, addr, &p);

	if (!ok && h->n_turned >= MAX_TURNED_AWAY) {
		tcp_reject(h->ts);
		return;
	}
	if (ok && !p) {
		p = mem_zalloc(sizeof(*p), NULL);
		if (!p) {
			tcp_reject(h->ts);
			return;
		}
		p->addr = *addr;
		hash_append(h->peers, sa_hash(addr, SA_ADDR), &p->he, p);
	}
	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (c) {
		c->h = h;
		list_append(&h->conns, &c->le, c);
		if (ok) {
			c->peer = p;
			p->n++;
			h->n_counted++;
		} else {
			c->turned_away = true;
			h->n_turned++;
		}
	} else if (ok && !p->n) {
		hash_unlink(&p->he);
		mem_deref(p);
	}
	if (!c || tcp_accept(&c->tc, h->ts, NULL, recv_h, close_h, c)) {
		mem_deref(c);
		tcp_reject(h->ts);
		return;
	}
	if (!ok) {
		fail(c, 503);
		linger(c);
		return;
	}
	tmr_start(&c->idle, h->lim.idle_timeout_ms, idle_h, c);
}

int ch_httpd_alloc(struct ch_httpd **hp, const struct sa *laddr,
                   ch_httpd_req_h *reqh, ch_httpd_err_h *errh, void *arg)
{
	struct ch_httpd *h = mem_zalloc(sizeof(*h), NULL);
	int err;
	if (!h)
		return ENOMEM;
	h->reqh = reqh;
	h->errh = errh;
	h->arg = arg;
	h->lim = (struct ch_httpd_limits){
	    .max_conns = CH_HTTPD_MAX_CONNS,
	    .max_conns_per_ip = CH_HTTPD_MAX_CONNS_PER_IP,
	    .head_timeout_ms = CH_HTTPD_HEAD_TIMEOUT_MS,
	    .idle_timeout_ms = CH_HTTPD_IDLE_TIMEOUT_MS,
	};
	/* not tcp_listen: its backlog of 5 drops SYNs under a burst of
	 * clients, who then wait seconds for a retry */
	err = hash_alloc(&h->peers, 256);
	if (!err)
		err = tcp_sock_alloc(&h->ts, laddr, connect_h, h);
	if (!err)
		err = tcp_sock_bind(h->ts, laddr);
	if (!err)
		err = tcp_sock_listen(h->ts, LISTEN_BACKLOG);
	if (err) {
		mem_deref(h->ts);
		mem_deref(h->peers);
		mem_deref(h);
		return err;
	}
	*hp = h;
	return 0;
}

void ch_httpd_limits_set(struct ch_httpd *h, const struct ch_httpd_limits *lim)
{
	h->lim = *lim;
}

unsigned ch_httpd_conn_count(const struct ch_httpd *h, const struct sa *peer)
{
	const struct peer *p;
	if (!peer)
		return h->n_counted;
	p = peer_find(h, peer);
	return p ? p->n : 0;
}

void ch_httpd_free(struct ch_httpd *h)
{
	if (!h)
		return;
	h->ts = mem_deref(h->ts);
	while (h->conns.head) {
		struct ch_httpd_conn *c = h->conns.head->data;
		list_unlink(&c->le);
		mem_deref(c);
	}
	mem_deref(h->peers);
	mem_deref(h);
}

int ch_httpd_local(const struct ch_httpd *h, struct sa *out)
{
	return tcp_sock_local_get(h->ts, out);
}

static int head_print(struct mbuf *mb, const struct ch_httpd_conn *c,
                      uint16_t status, const char *reason, const char *ctype,
                      uint64_t len, const char *extra_hdrs)
{
	int err = mbuf_printf(mb, "HTTP/1.1 %u %s\r\n", status, reason);
	if (ctype && len)
		err |= mbuf_printf(mb, "Content-Type: %s\r\n", ctype);
	err |= mbuf_printf(mb, "Content-Length: %llu\r\n%s%s\r\n",
	                   (unsigned long long)len,
	                   c->keep_alive ? "" : "Connection: close\r\n",
	                   extra_hdrs ? extra_hdrs : "");
	return err;
}

/* After a failed send. */
static void send_failed(struct ch_httpd_conn *c, int err)
{
	/* e.g. ENOSPC: the client reads none of its answers and libre's
	 * send queue is full. Skipping this answer would give the client
	 * the next one in its place: close instead. */
	ch_log_debug("http", "cannot send an answer (%s); closing",
	             strerror(err));
	c->keep_alive = false;
	c->closing = true;
}

int ch_httpd_reply(struct ch_httpd_conn *c, uint16_t status, const char *reason,
                   const char *ctype, const char *body, size_t len,
                   const char *extra_hdrs)
{
	struct mbuf *mb;
	int err;
	if (!c->tc)
		return ENOTCONN;
	if (c->streaming)
		return EBUSY;
	mb = mbuf_alloc(256 + len);
	if (!mb)
		return ENOMEM;
	err = head_print(mb, c, status, reason, ctype, len, extra_hdrs);
	if (len)
		err |= mbuf_write_mem(mb, (const uint8_t *)body, len);
	if (!err) {
		mb->pos = 0;
		err = tcp_send(c->tc, mb);
	}
	mem_deref(mb);
	c->replied = true;
	if (err) {
		send_failed(c, err);
	}
	if (c->deferred) {
		/* the deferred answer went: serve what waited behind it */
		c->deferred = false;
		if (c->closing)
			linger(c);
		else if (process(c) && !c->streaming && !c->deferred)
			tmr_start(&c->idle, c->h->lim.idle_timeout_ms, idle_h,
			          c);
	}
	return err;
}

struct ch_httpd_conn *ch_httpd_defer(struct ch_httpd_conn *c)
{
	c->deferred = true;
	tmr_cancel(&c->idle);
	return mem_ref(c);
}

/* The file is sent (all queued) or abandoned: back to plain HTTP. */
static void stream_end(struct ch_httpd_conn *c)
{
	(void)tcp_set_send(c->tc, NULL);
	(void)close(c->sfd);
	c->sfd = -1;
	c->s_buf = mem_deref(c->s_buf);
	c->streaming = false;
}

/* Its last byte is queued: serve what was pipelined behind it. */
static void stream_done(struct ch_httpd_conn *c)
{
	stream_end(c);
	if (c->closing) {
		linger(c);
		return;
	}
	if (process(c))
		tmr_start(&c->idle, c->h->lim.idle_timeout_ms, idle_h, c);
}

/* libre's send queue is empty and the socket writable: the next chunks.
 * A read error or a file shorter than announced cannot be told to the
 * client any more (the head is sent): the connection closes. */
static void stream_send_h(void *arg)
{
	struct ch_httpd_conn *c = arg;
	for (int i = 0; i < STREAM_TURN && c->s_left; i++) {
		size_t want =
		    c->s_left < STREAM_CHUNK ? (size_t)c->s_left : STREAM_CHUNK;
		ssize_t n;
		do
			n = pread(c->sfd, c->s_buf->buf, want, (off_t)c->s_off);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			ch_log_warn("http",
			            "file answer: %s at byte %llu; closing",
			            n ? strerror(errno)
			              : "file shorter than "
			                "announced",
			            (unsigned long long)c->s_off);
			mem_deref(c);
			return;
		}
		c->s_buf->pos = 0;
		c->s_buf->end = (size_t)n;
		int err = tcp_send(c->tc, c->s_buf);
		if (err) {
			ch_log_debug("http", "file answer: send: %s; closing",
			             strerror(err));
			mem_deref(c);
			return;
		}
		c->s_off += (uint64_t)n;
		c->s_left -= (uint64_t)n;
		/* the client is reading: not idle */
		tmr_start(&c->idle, c->h->lim.idle_timeout_ms, idle_h, c);
		if (tcp_conn_txqsz(c->tc))
			break; /* the rest when libre's queue has drained */
	}
	if (!c->s_left)
		stream_done(c);
}

int ch_httpd_reply_file(struct ch_httpd_conn *c, uint16_t status,
                        const char *reason, const char *ctype, int fd,
                        uint64_t off, uint64_t len, const char *extra_hdrs)
{
	struct mbuf *mb;
	int err;
	if (!c->tc || c->streaming) {
		(void)close(fd);
		return c->tc ? EBUSY : ENOTCONN;
	}
	mb = mbuf_alloc(512);
	err = mb ? head_print(mb, c, status, reason, ctype, len, extra_hdrs)
	         : ENOMEM;
	if (!err) {
		mb->pos = 0;
		err = tcp_send(c->tc, mb);
	}
	mem_deref(mb);
	c->replied = true;
	if (!err && len) {
		c->s_buf = mbuf_alloc(STREAM_CHUNK);
		if (!c->s_buf)
			err = ENOMEM;
	}
	if (err || !len) {
		(void)close(fd);
		if (err)
			send_failed(c, err);
		return err;
	}
	(void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_SEQUENTIAL);
	c->streaming = true;
	c->sfd = fd;
	c->s_off = off;
	c->s_left = len;
	err = tcp_set_send(c->tc, stream_send_h);
	if (err) {
		stream_end(c);
		send_failed(c, err);
	}
	return err;
}

/* Skips optional white space (RFC 9110 OWS). */
static const char *skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Reads decimal digits into *v, saturating at UINT64_MAX (a position
 * past any file). Returns the end, or NULL when there is no digit. */
static const char *digits(const char *s, uint64_t *v)
{
	const char *p = s;
	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
	}
	return p == s ? NULL : p;
}

uint16_t ch_httpd_parse_range(const char *value, uint64_t size, uint64_t *off,
                              uint64_t *len)
{
	uint64_t first = 0, last = 0;
	const char *p, *q;
	bool has_first, has_last;

	if (!value)
		return 200;
	p = skip_ows(value);
	if (strncasecmp(p, "bytes", 5))
		return 200;
	p = skip_ows(p + 5);
	if (*p++ != '=')
		return 200;
	p = skip_ows(p);
	q = digits(p, &first);
	has_first = q != NULL;
	p = q ? q : p;
	if (*p++ != '-')
		return 200;
	q = digits(p, &last);
	has_last = q != NULL;
	p = skip_ows(q ? q : p);
	/* a second range (","), a sign or other junk: the whole file */
	if (*p || (!has_first && !has_last))
		return 200;
	if (has_first) {
		if (has_last && last < first)
			return 200; /* invalid, so ignored */
		if (first >= size)
			return 416;
		*off = first;
		*len =
		    (has_last && last < size - 1 ? last : size - 1) - first + 1;
		return 206;
	}
	/* a suffix: the last `last` bytes */
	if (!last || !size)
		return 416;
	*len = last < size ? last : size;
	*off = size - *len;
	return 206;
}

int ch_httpd_upgrade(struct ch_httpd_conn *c, const char *extra_hdrs,
                     struct tcp_conn **tcp, struct mbuf **pending)
{
	struct mbuf *mb = mbuf_alloc(256);
	int err;
	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "HTTP/1.1 101 Switching Protocols\r\n%s\r\n",
	                  extra_hdrs ? extra_hdrs : "");
	if (!err) {
		mb->pos = 0;
		err = tcp_send(c->tc, mb);
	}
	mem_deref(mb);
	if (err)
		return err;
	*tcp = mem_ref(c->tc);
	*pending = NULL;
	/* bytes already read past this request (an upgrade has no body) */
	if (c->buf && mbuf_get_left(c->buf) > 0) {
		size_t rest = mbuf_get_left(c->buf);
		struct mbuf *pm = mbuf_alloc(rest);
		if (pm) {
			(void)mbuf_write_mem(pm, mbuf_buf(c->buf), rest);
			pm->pos = 0;
		}
		*pending = pm;
	}
	c->upgraded = true;
	list_unlink(&c->le);
	conn_unaccount(c);
	tmr_cancel(&c->idle);
	tmr_cancel(&c->req);
	c->tc = mem_deref(c->tc);
	return 0;
}
