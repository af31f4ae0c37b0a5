/*
 * websocket.h: server-side WebSocket (RFC 6455) on top of a libre tcp_conn.
 *
 * The HTTP layer (api/) answers the upgrade request with 101 (using
 * ch_websocket_accept_key() for Sec-WebSocket-Accept) and then hands the
 * tcp_conn over to ch_websocket_alloc(). From then on this module owns the
 * byte stream: it parses client frames, reassembles fragmented text
 * messages, answers pings and close frames, keeps the connection alive and
 * sends text frames for the events stream.
 *
 * Pure helpers (accept key, frame header parse/build, unmask) have no state
 * and may be called from any thread. A struct ch_websocket belongs to the
 * control thread (the libre main loop) and is used only there.
 */
#ifndef CH_WEBSOCKET_H
#define CH_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mbuf;
struct tcp_conn;

enum {
	/* Largest incoming message (all fragments together), else 1009. */
	CH_WEBSOCKET_MAX_MESSAGE = 64 * 1024,
	/* Unsent bytes queued for a peer before sends fail with ENOBUFS. */
	CH_WEBSOCKET_MAX_TXQ = 4 * 1024 * 1024,
	/* Default keepalive: ping period and idle limit, in milliseconds. */
	CH_WEBSOCKET_PING_MS = 30 * 1000,
	CH_WEBSOCKET_IDLE_MS = 75 * 1000,
	/* After our close frame, how long we wait for the peer's reply. */
	CH_WEBSOCKET_CLOSE_WAIT_MS = 5 * 1000,
};

/* Opcodes (RFC 6455 section 5.2). */
enum ch_websocket_opcode {
	CH_WEBSOCKET_CONT = 0x0,
	CH_WEBSOCKET_TEXT = 0x1,
	CH_WEBSOCKET_BINARY = 0x2,
	CH_WEBSOCKET_CLOSE = 0x8,
	CH_WEBSOCKET_PING = 0x9,
	CH_WEBSOCKET_PONG = 0xa,
};

/* Close status codes we send (RFC 6455 section 7.4.1). */
enum ch_websocket_close_code {
	CH_WEBSOCKET_NORMAL = 1000,
	CH_WEBSOCKET_GOING_AWAY = 1001,
	CH_WEBSOCKET_PROTOCOL_ERROR = 1002,
	CH_WEBSOCKET_INVALID_DATA = 1007,
	CH_WEBSOCKET_POLICY_VIOLATION = 1008,
	CH_WEBSOCKET_TOO_BIG = 1009,
	CH_WEBSOCKET_INTERNAL_ERROR = 1011,
};

/*
 * Computes Sec-WebSocket-Accept for a client's Sec-WebSocket-Key:
 * base64(sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
 * The key is used as given (the caller trims header whitespace); it must be
 * 1..256 bytes. out receives 28 characters and a NUL.
 * Returns 0, or EINVAL (NULL argument, empty or oversized key).
 */
int ch_websocket_accept_key(const char *client_key, size_t key_len,
                            char out[29]);

/*
 * One parsed frame header. Plain value, no ownership.
 * header_len counts the 2..14 header bytes; the payload follows them.
 * mask is meaningful only when masked is true.
 */
struct ch_websocket_frame {
	bool fin;
	uint8_t opcode;
	bool masked;
	uint64_t payload_len;
	size_t header_len;
	uint8_t mask[4];
};

/*
 * Pure parser of one frame header at buf[0..len).
 * Returns:
 *   >0  total frame bytes (header + payload): the whole frame is present;
 *    0  need more bytes;
 *   -1  protocol error: reserved bits set, unknown opcode, control frame with
 *       a payload over 125 bytes or without FIN, 64-bit length with the top
 *       bit set, payload over max_payload, or a frame too big to count in an
 *       int. Errors are reported as soon as the bytes that show them are
 *       present, even if the header is not complete.
 * *f (may be NULL) is filled when >0 is returned, and also when 0 is
 * returned with the header complete (so a caller can reject a frame before
 * its payload arrives); otherwise it is cleared (header_len 0). On -1 it is
 * cleared except that payload_len holds the announced length when, and only
 * when, the error is a payload over max_payload (callers answer 1009 then).
 * Non-minimal length encodings are accepted. Masking is not required here;
 * the connection layer enforces it.
 */
int ch_websocket_frame_parse(const uint8_t *buf, size_t len, size_t max_payload,
                             struct ch_websocket_frame *f);

/*
 * Addition: writes a frame header into out (up to 14 bytes) for a payload of
 * payload_len bytes; mask NULL means an unmasked (server) frame.
 * Returns the header length (2..14). Does not validate opcode or length.
 */
size_t ch_websocket_frame_header(uint8_t out[14], bool fin, uint8_t opcode,
                                 uint64_t payload_len, const uint8_t *mask);

/*
 * Addition: XORs data[0..len) with the 4-byte mask, starting at mask byte
 * (offset % 4). Masking and unmasking are the same operation.
 */
void ch_websocket_unmask(uint8_t *data, size_t len, const uint8_t mask[4],
                         size_t offset);

/*
 * One server-side WebSocket connection. Opaque; refcounted libre memory
 * (mem_zalloc). Owned by whoever called ch_websocket_alloc(), which releases
 * it with ch_websocket_free(). Control thread only.
 */
struct ch_websocket;

/* A complete text message (text[len] is a NUL added for convenience; the
 * text itself may contain NULs). Valid UTF-8. The buffer belongs to the
 * connection and is valid only during the call. */
typedef void(ch_websocket_text_h)(const char *text, size_t len, void *arg);

/* The connection has ended. err: 0 after a close handshake (either side
 * started it) or a TCP close that follows our close frame; EPROTO protocol
 * error (we sent 1002, e.g. an unmasked frame); EMSGSIZE message over
 * CH_WEBSOCKET_MAX_MESSAGE (1009); EILSEQ invalid UTF-8 (1007); ETIMEDOUT
 * nothing received within the idle limit, or no reply to our close frame;
 * ECONNRESET the peer closed TCP without a close frame; or another errno
 * from the socket. The object stays allocated until ch_websocket_free(),
 * which may be called from inside this handler. */
typedef void(ch_websocket_close_h)(int err, void *arg);

/*
 * Takes over tc after the HTTP layer sent the 101 response: sets tc's
 * handlers to this connection and holds its own reference (mem_ref) to tc,
 * so the caller may (and normally does) drop its reference afterwards.
 * pending (may be NULL) holds bytes already read after the HTTP request, at
 * pending->pos..end; they are copied and processed first, from the main
 * loop (never before this function returns). The caller keeps pending.
 * Handlers may be NULL; they are never called from inside a ch_websocket_*
 * call, only from the main loop. texth and closeh may call any function of
 * this module, ch_websocket_free() included.
 * closeh is called exactly once when the connection ends, unless
 * ch_websocket_free() was called first.
 * Returns 0 and sets *wsp, or EINVAL / ENOMEM (then tc is left untouched).
 */
int ch_websocket_alloc(struct ch_websocket **wsp, struct tcp_conn *tc,
                       struct mbuf *pending, ch_websocket_text_h *texth,
                       ch_websocket_close_h *closeh, void *arg);

/*
 * Addition: changes the keepalive (defaults CH_WEBSOCKET_PING_MS and
 * CH_WEBSOCKET_IDLE_MS); 0 leaves a value unchanged. Takes effect at once.
 */
void ch_websocket_set_keepalive(struct ch_websocket *ws, uint32_t ping_ms,
                                uint32_t idle_ms);

/*
 * Sends text[0..len) as one unmasked text frame (the caller guarantees valid
 * UTF-8). The bytes are copied or sent before return.
 * Returns 0; ENOTCONN after close started (ours or the peer's) or ended;
 * ENOBUFS if the peer is not reading (more than CH_WEBSOCKET_MAX_TXQ bytes
 * would be queued): the caller then drops the subscriber; EMSGSIZE if len
 * alone exceeds that limit; EINVAL for a NULL ws, or a NULL text with
 * len > 0; or another errno from the socket.
 */
int ch_websocket_send_text(struct ch_websocket *ws, const char *text,
                           size_t len);

/*
 * Starts a close: sends a close frame with code (0: no code, no reason;
 * otherwise the code and no reason), stops
 * delivering text and refuses sends. The connection ends when the peer
 * replies with its close frame or closes TCP (closeh(0)), or after
 * CH_WEBSOCKET_CLOSE_WAIT_MS (closeh(ETIMEDOUT)). Does nothing if a close
 * already started. The caller may also call ch_websocket_free() right after,
 * in which case no handler is called.
 */
void ch_websocket_close(struct ch_websocket *ws, uint16_t code);

/*
 * Releases the connection: stops timers, detaches from and drops tc (the
 * socket closes when its last reference goes; bytes still queued in libre
 * are dropped, bytes already in the kernel are delivered). No handler is
 * called afterwards. NULL-safe.
 */
void ch_websocket_free(struct ch_websocket *ws);

#endif
