/*
 * ws_client.c: a small RFC 6455 client for `chorus events` and `chorus
 * top`: one blocking TCP connection (http:// only), the upgrade request to
 * /ws, masked client frames (subscribe, pong, close), server frames read
 * one at a time. Each text message is one event; `events` prints it as a
 * line. Main thread only.
 */
#include "cli.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <strings.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { WS_MAX_MESSAGE = 4 * 1024 * 1024 };

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errno ? errno : EPIPE;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t n = recv(fd, c, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? ECONNRESET : errno;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends one masked frame (FIN set). */
static int send_frame(int fd, int opcode, const void *data, size_t len)
{
	uint8_t hdr[14], mask[4];
	size_t h = 0, i;
	uint8_t *buf;
	int err;

	if (RAND_bytes(mask, sizeof(mask)) != 1)
		return EIO;
	hdr[h++] = 0x80 | (uint8_t)opcode;
	if (len < 126) {
		hdr[h++] = 0x80 | (uint8_t)len;
	} else if (len <= 0xffff) {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (uint8_t)(len >> 8);
		hdr[h++] = (uint8_t)len;
	} else {
		hdr[h++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			hdr[h++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	memcpy(hdr + h, mask, 4);
	h += 4;
	buf = malloc(h + len);
	if (!buf)
		return ENOMEM;
	memcpy(buf, hdr, h);
	for (i = 0; i < len; i++)
		buf[h + i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
	err = write_all(fd, buf, h + len);
	free(buf);
	return err;
}

/* Splits http://HOST[:PORT]/PATH into its parts (malloc'ed host and path). */
static int split_url(const char *url, char **host, char **port, char **path)
{
	const char *p, *slash, *colon;

	if (strncmp(url, "http://", 7))
		return EINVAL;
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	*host = strndup(p, (size_t)((colon ? colon : slash) - p));
	*port = colon ? strndup(colon + 1, (size_t)(slash - colon - 1))
	              : strdup("80");
	*path = strdup(*slash ? slash : "");
	if (*path && (*path)[0] && (*path)[strlen(*path) - 1] == '/')
		(*path)[strlen(*path) - 1] = '\0';
	return *host && *port && *path ? 0 : ENOMEM;
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* A random Sec-WebSocket-Key and the Sec-WebSocket-Accept it must get back. */
static int make_key(char key[32], char accept[32])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char nonce[16], digest[SHA_DIGEST_LENGTH];
	char cat[96];

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return EIO;
	EVP_EncodeBlock((unsigned char *)key, nonce,
	                sizeof(nonce)); /* 24 chars */
	snprintf(cat, sizeof(cat), "%s%s", key, guid);
	SHA1((const unsigned char *)cat, strlen(cat), digest);
	EVP_EncodeBlock((unsigned char *)accept, digest,
	                sizeof(digest)); /* 28 chars */
	return 0;
}

/* Whether the response head has Sec-WebSocket-Accept: `want`. */
static bool accept_ok(const char *head, const char *want)
{
	const char *p;

	for (p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		const char *v = p + 2;
		size_t n = strlen("Sec-WebSocket-Accept:");
		if (strncasecmp(v, "Sec-WebSocket-Accept:", n))
			continue;
		v += n;
		while (*v == ' ' || *v == '\t')
			v++;
		return !strncmp(v, want, strlen(want)) &&
		       (v[strlen(want)] == '\r' || v[strlen(want)] == ' ');
	}
	return false;
}

/* Sends the upgrade request and checks for 101; returns an exit code. */
static int handshake(int fd, const struct ch_cli_args *a, const char *host,
                     const char *port, const char *path)
{
	char *req = NULL, *tok, head[8192], key[32], accept[32];
	size_t len = 0;
	int n, err;

	if (make_key(key, accept))
		return ch_cli_fail(CH_CLI_ERROR, "no random numbers");
	tok = ch_cli_escape(a->token);
	if (!tok)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	/* the token rides in the query (the API's way for WebSocket), never
	 * printed */
	n = asprintf(&req,
	             "GET %s/ws?token=%s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: "
	             "websocket\r\n"
	             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	             "Sec-WebSocket-Version: 13\r\n\r\n",
	             path, tok, host, port, key);
	explicit_bzero(tok, strlen(tok));
	free(tok);
	if (n < 0)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	err = write_all(fd, req, (size_t)n);
	explicit_bzero(req, (size_t)n);
	free(req);
	if (err)
		return ch_cli_fail(CH_CLI_ERROR, "sending the upgrade: %s",
		                   strerror(err));
	/* the head, byte by byte up to the blank line: frames may follow at
	 * once */
	while (len < sizeof(head) - 1) {
		if (read_all(fd, head + len, 1))
			return ch_cli_fail(CH_CLI_ERROR,
			                   "the server closed the connection");
		len++;
		head[len] = '\0';
		if (len >= 4 && !memcmp(head + len - 4, "\r\n\r\n", 4))
			break;
	}
	if (strncmp(head, "HTTP/1.1 101", 12)) {
		int status = 0;
		sscanf(head, "HTTP/1.%*d %d", &status);
		ch_cli_fail(CH_CLI_ERROR,
		            "the event stream was refused (HTTP %d)", status);
		return status == 404 ? CH_CLI_NOT_FOUND : CH_CLI_ERROR;
	}
	if (!accept_ok(head, accept))
		return ch_cli_fail(
		    CH_CLI_ERROR, "the server's Sec-WebSocket-Accept is wrong");
	return CH_CLI_OK;
}

/* One line for people: time, type, conference, participant, detail. */
static void print_event(const struct ch_cli_args *a, const char *text)
{
	json_t *e = json_loads(text, 0, NULL);
	const char *type, *detail = "",
	                  *fields[] = {"status",    "reason", "recording_id",
	                               "caller_id", "text",   "operation_id"};
	char *dump = NULL;
	size_t i;

	if (!e) {
		fprintf(stderr, "chorus: a message that is not JSON\n");
		return;
	}
	type = json_string_value(json_object_get(e, "event"));
	if (a->json && type) {
		dump = json_dumps(e, JSON_COMPACT);
		if (dump)
			puts(dump);
	} else if (type) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]) && !*detail;
		     i++) {
			const char *v =
			    json_string_value(json_object_get(e, fields[i]));
			if (v && *v)
				detail = v;
		}
		if (!strcmp(type, "conference.transcript") ||
		    !strcmp(type, "conference.member.joined"))
			detail = json_string_value(json_object_get(
			    e, !strcmp(type, "conference.transcript")
			           ? "text"
			           : "caller_id"));
		printf("%s  %-34s %-36s %-36s %s\n",
		       json_string_value(json_object_get(e, "timestamp"))
		           ?: "-",
		       type,
		       json_string_value(json_object_get(e, "room_id")) ?: "-",
		       json_string_value(json_object_get(e, "session_uuid"))
		           ?: "-",
		       detail ? detail : "");
	} else {
		/* the stream's own messages: "subscribed" is quiet, "error" is
		 * said */
		const char *t = json_string_value(json_object_get(e, "type"));
		if (t && !strcmp(t, "error"))
			fprintf(stderr, "chorus: %s\n",
			        json_string_value(json_object_get(e, "message"))
			            ?: "error");
	}
	fflush(stdout);
	free(dump);
	json_decref(e);
}

int ch_ws_client_next(int fd, char **out)
{
	char *msg = NULL;
	size_t mlen = 0;

	*out = NULL;
	for (;;) {
		uint8_t h[2], ext[8];
		uint64_t len;
		int op, err;
		char *p;
		if ((err = read_all(fd, h, 2)))
			break;
		op = h[0] & 0x0f;
		len = h[1] & 0x7f;
		if (len == 126) {
			if (read_all(fd, ext, 2))
				break;
			len = ((uint64_t)ext[0] << 8) | ext[1];
		} else if (len == 127) {
			if (read_all(fd, ext, 8))
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = (len << 8) | ext[i];
		}
		if ((h[1] & 0x80) || mlen + len > WS_MAX_MESSAGE) {
			free(msg);
			return ch_cli_fail(CH_CLI_ERROR,
			                   "a frame the client does not take");
		}
		p = realloc(msg, mlen + len + 1);
		if (!p) {
			free(msg);
			return ch_cli_fail(CH_CLI_ERROR, "out of memory");
		}
		msg = p;
		if (read_all(fd, msg + mlen, len))
			break;
		if (op == 0x9) { /* ping */
			send_frame(fd, 0xa, msg + mlen, len);
			continue;
		}
		if (op == 0x8) { /* close: answer it and end */
			send_frame(fd, 0x8, msg + mlen, len >= 2 ? 2 : 0);
			free(msg);
			return CH_CLI_OK;
		}
		if (op == 0xa)
			continue;
		mlen += len;
		if (!(h[0] & 0x80))
			continue; /* more fragments follow */
		msg[mlen] = '\0';
		*out = msg;
		return CH_CLI_OK;
	}
	free(msg);
	return ch_cli_fail(CH_CLI_ERROR, "the event stream ended");
}

int ch_ws_client_open(const struct ch_cli_args *a, const char *conference,
                      int *out)
{
	char *host = NULL, *port = NULL, *path = NULL;
	int fd = -1, err;

	*out = -1;
	err = split_url(a->url, &host, &port, &path);
	if (err == EINVAL)
		err = ch_cli_fail(CH_CLI_USAGE,
		                  "the event stream needs an http:// URL");
	else if (err)
		err = ch_cli_fail(CH_CLI_ERROR, "out of memory");
	if (!err && (fd = dial(host, port)) < 0)
		err = ch_cli_fail(CH_CLI_ERROR, "%s: cannot connect", a->url);
	if (!err)
		err = handshake(fd, a, host, port, path);
	if (!err && conference) {
		json_t *sub = json_pack("{s:s,s:[s+]}", "type", "subscribe",
		                        "topics", "conference:", conference);
		char *s = json_dumps(sub, JSON_COMPACT);
		if (!s || send_frame(fd, 0x1, s, strlen(s)))
			err = ch_cli_fail(CH_CLI_ERROR, "cannot subscribe");
		free(s);
		json_decref(sub);
	}
	if (err && fd >= 0)
		close(fd);
	else
		*out = fd;
	free(host);
	free(port);
	free(path);
	return err;
}

int ch_ws_client_tail(const struct ch_cli_args *a, const char *conference)
{
	char *msg;
	int fd, err;

	err = ch_ws_client_open(a, conference, &fd);
	while (!err) {
		err = ch_ws_client_next(fd, &msg);
		if (err || !msg)
			break;
		print_event(a, msg);
		free(msg);
	}
	if (fd >= 0)
		close(fd);
	return err;
}
