/*
 * httpd.h: Chorus's HTTP/1.1 server connection layer on libre's TCP.
 *
 * Why not libre's http_listen: it closes the connection without an answer
 * when a body passes 512 KB and cannot answer 411/413 itself; Chorus must
 * answer those with a JSON error. Parsing of the request line and headers
 * is libre's (http_msg_decode); this file adds buffering, limits,
 * keep-alive, pipelining and the hand-over of a connection to WebSocket.
 *
 * Limits (struct ch_httpd_limits): open connections in total and per client
 * address (past either: 503 with a JSON body and Retry-After, then close);
 * a request head must be complete within head_timeout_ms of its first byte
 * however slowly bytes trickle in, and its body within idle_timeout_ms of
 * the head (else 408 and close); a connection with no request in progress
 * is closed after idle_timeout_ms. Per connection at most
 * CH_HTTPD_MAX_HEADER + CH_HTTPD_MAX_BODY (+4 KiB) is buffered in, and
 * libre's send queue (512 KiB by default) bounds what waits to go out: a
 * client that reads none of its answers is closed once it is full.
 * Connections handed over to WebSocket leave these counts.
 *
 * Threading: control thread only. Handlers are called on it and answer
 * synchronously with ch_httpd_reply, ch_httpd_reply_file (whose body then
 * follows as the client reads) or ch_httpd_upgrade, or defer the answer
 * (ch_httpd_defer) and give it later on the same thread.
 */
#ifndef CH_HTTPD_H
#define CH_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct sa;
struct http_msg;
struct tcp_conn;
struct mbuf;
struct ch_httpd;
struct ch_httpd_conn;

#define CH_HTTPD_MAX_BODY   (1024 * 1024) /* larger bodies: 413 */
#define CH_HTTPD_MAX_HEADER (16 * 1024)   /* larger heads: 431 */

/* Defaults of struct ch_httpd_limits. One address may hold three quarters
 * of the slots: it cannot take them all, and a local reverse proxy or a
 * load test from 127.0.0.1 still gets 3,072 connections. */
#define CH_HTTPD_MAX_CONNS        4096
#define CH_HTTPD_MAX_CONNS_PER_IP 3072
#define CH_HTTPD_HEAD_TIMEOUT_MS  10000
#define CH_HTTPD_IDLE_TIMEOUT_MS  60000

/* Connection limits; every field must be at least 1. */
struct ch_httpd_limits {
	unsigned max_conns;        /* open HTTP connections in total */
	unsigned max_conns_per_ip; /* open HTTP connections per client IP */
	unsigned head_timeout_ms;  /* first byte to end of a request head */
	unsigned idle_timeout_ms;  /* idle keep-alive; head to end of body */
};

/* One complete request: msg (libre's parsed head) and its body. Both are
 * valid only during the call. */
typedef void(ch_httpd_req_h)(struct ch_httpd_conn *conn,
                             const struct http_msg *msg, const char *body,
                             size_t body_len, void *arg);
/* A request the layer answered itself (400/408/411/413/431/503): for logs and
 * error bodies; returns the JSON body to send (static string). */
typedef const char *(ch_httpd_err_h)(uint16_t status, void *arg);

/* Listens on laddr (port 0 picks one). Returns 0, EADDRINUSE, or errno. */
int ch_httpd_alloc(struct ch_httpd **hp, const struct sa *laddr,
                   ch_httpd_req_h *reqh, ch_httpd_err_h *errh, void *arg);
/* Replaces the limits (the defaults above until then); applies to
 * connections accepted and requests started from now on. */
void ch_httpd_limits_set(struct ch_httpd *h, const struct ch_httpd_limits *lim);
/* Open HTTP connections, in total and from the address of peer (port
 * ignored; NULL: total only). For tests and /health. */
unsigned ch_httpd_conn_count(const struct ch_httpd *h, const struct sa *peer);
/* Stops listening and closes every connection; NULL-safe. */
void ch_httpd_free(struct ch_httpd *h);
/* The bound address. */
int ch_httpd_local(const struct ch_httpd *h, struct sa *out);

/* Sends one response with a body of content type ctype (NULL: no body
 * headers beyond Content-Length: 0). extra_hdrs (may be NULL) is raw
 * "Name: value\r\n" lines. Returns 0 or errno. */
int ch_httpd_reply(struct ch_httpd_conn *conn, uint16_t status,
                   const char *reason, const char *ctype, const char *body,
                   size_t len, const char *extra_hdrs);
/* From a request handler: the answer will come later, from another
 * event of the control thread (a reply from another node). Returns a new
 * reference to conn (the caller owns it, mem_deref when done); answer with
 * ch_httpd_reply, which returns ENOTCONN if the client went meanwhile.
 * Requests pipelined behind it wait for that answer; the idle timeout
 * does not run, so the caller must answer (or give up) in bounded time. */
struct ch_httpd_conn *ch_httpd_defer(struct ch_httpd_conn *conn);
/* Sends a response whose body is len bytes of the open file fd from
 * offset off, read in 64 KiB chunks as the connection's send queue
 * drains (the file is never read whole into memory). fd is taken in every
 * case: closed when sent, on an error, or when the connection goes.
 * Requests pipelined behind it are served after its last byte; the idle
 * timeout applies to a client that stops reading. Returns 0 or errno (the
 * connection then closes). */
int ch_httpd_reply_file(struct ch_httpd_conn *conn, uint16_t status,
                        const char *reason, const char *ctype, int fd,
                        uint64_t off, uint64_t len, const char *extra_hdrs);
/* The Range header value (NULL: none) of a GET of size bytes (RFC 9110
 * 14.2): 206 with *off and *len for one satisfiable "bytes=a-b", "a-" or
 * "-n" range; 416 when it cannot be satisfied (the first byte is past the
 * end, or "-0"); 200 (the whole file) when there is none, it is malformed
 * or invalid (b < a), or it asks for several ranges, which RFC 9110 lets a
 * server ignore. Pure. */
uint16_t ch_httpd_parse_range(const char *value, uint64_t size, uint64_t *off,
                              uint64_t *len);
/* Answers 101 Switching Protocols with extra_hdrs and hands the TCP
 * connection over: *tcp gets a new reference (the caller owns it) and
 * *pending (may be NULL, owned by the caller) any bytes already read past
 * the request. The HTTP connection is then gone. Returns 0 or errno. */
int ch_httpd_upgrade(struct ch_httpd_conn *conn, const char *extra_hdrs,
                     struct tcp_conn **tcp, struct mbuf **pending);

#endif
