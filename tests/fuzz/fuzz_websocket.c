/*
 * fuzz_websocket.c: libFuzzer target for the WebSocket frame parser.
 *
 * The first input byte picks max_payload; the rest is a byte stream parsed
 * frame after frame with ch_websocket_frame_parse(), as the connection does.
 * Each complete frame's payload is unmasked in a private copy, and its
 * header is rebuilt with ch_websocket_frame_header() and parsed again. Any
 * broken invariant aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/websocket.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* The header rebuilt from f must parse back to the same header. */
static void check_round_trip(const struct ch_websocket_frame *f)
{
	struct ch_websocket_frame g;
	uint8_t hdr[14];
	size_t hl = ch_websocket_frame_header(
	    hdr, f->fin, f->opcode, f->payload_len, f->masked ? f->mask : NULL);
	int r = ch_websocket_frame_parse(hdr, hl, SIZE_MAX, &g);

	check(hl <= f->header_len);
	check(r == (f->payload_len ? 0 : (int)hl));
	check(g.header_len == hl && g.fin == f->fin);
	check(g.opcode == f->opcode && g.masked == f->masked);
	check(g.payload_len == f->payload_len);
	check(!f->masked || !memcmp(g.mask, f->mask, 4));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const size_t limits[] = {0, 125, 126, 65535, 65536, SIZE_MAX};
	struct ch_websocket_frame f;
	size_t max, pos = 0;
	uint8_t *buf;

	if (n < 1)
		return 0;
	max = limits[d[0] % (sizeof(limits) / sizeof(limits[0]))];
	buf = malloc(n - 1 ? n - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, d + 1, n - 1);
	n -= 1;

	while (pos < n) {
		int r = ch_websocket_frame_parse(buf + pos, n - pos, max, &f);

		if (r < 0) {
			check(f.header_len == 0);
			check(f.payload_len == 0 || f.payload_len > max);
			pos++; /* resynchronise byte by byte to cover more */
			continue;
		}
		if (r == 0) {
			if (f.header_len) {
				check(f.header_len <= n - pos);
				check(f.header_len + f.payload_len > n - pos);
				check_round_trip(&f);
			}
			break;
		}
		check((size_t)r <= n - pos);
		check((uint64_t)r == f.header_len + f.payload_len);
		check(f.payload_len <= max);
		check(!(f.opcode & 8) || (f.fin && f.payload_len <= 125));
		check_round_trip(&f);
		if (f.masked)
			ch_websocket_unmask(buf + pos + f.header_len,
			                    (size_t)f.payload_len, f.mask, 0);
		pos += (size_t)r;
	}

	free(buf);
	return 0;
}
