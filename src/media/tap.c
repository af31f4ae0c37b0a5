/*
 * tap.c: the recorder tap's byte ring (see tap.h). head and tail count
 * bytes from the start and are never reduced modulo the capacity; a
 * record may wrap around the end of buf and is copied in two parts.
 */
#include "media/tap.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

struct ch_media_tap *ch_media_tap_alloc(size_t cap_bytes, bool tracks)
{
	size_t cap = 65536;
	while (cap < cap_bytes && cap < ((size_t)1 << 40))
		cap <<= 1;
	struct ch_media_tap *t =
	    aligned_alloc(64, (sizeof(*t) + 63) & ~(size_t)63);
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->buf = malloc(cap);
	if (!t->buf) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	t->tracks = tracks;
	return t;
}

void ch_media_tap_free(struct ch_media_tap *t)
{
	if (!t)
		return;
	free(t->buf);
	free(t);
}

size_t ch_media_tap_record_size(size_t frame, size_t ntracks)
{
	size_t pcm = ALIGN8(frame * sizeof(int16_t));
	return sizeof(struct ch_media_tap_hdr) + pcm +
	       ntracks * (sizeof(struct ch_media_tap_track) + pcm);
}

size_t ch_media_tap_voice_size(size_t frame)
{
	return sizeof(struct ch_media_tap_voice) +
	       ALIGN8(frame * sizeof(int16_t));
}

bool ch_media_tap_begin(struct ch_media_tap *t, size_t bytes)
{
	size_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&t->tail, memory_order_acquire);

	t->seq++;
	atomic_store_explicit(
	    &t->ticks,
	    atomic_load_explicit(&t->ticks, memory_order_relaxed) + 1,
	    memory_order_relaxed);
	if (bytes > t->cap - (head - tail)) {
		atomic_store_explicit(
		    &t->dropped,
		    atomic_load_explicit(&t->dropped, memory_order_relaxed) + 1,
		    memory_order_relaxed);
		return false;
	}
	t->wpos = head;
	return true;
}

void ch_media_tap_write(struct ch_media_tap *t, const void *p, size_t n)
{
	size_t off = t->wpos & (t->cap - 1);
	size_t first = n < t->cap - off ? n : t->cap - off;

	memcpy(t->buf + off, p, first);
	if (first < n)
		memcpy(t->buf, (const uint8_t *)p + first, n - first);
	t->wpos += ALIGN8(n);
}

void ch_media_tap_commit(struct ch_media_tap *t)
{
	atomic_store_explicit(&t->head, t->wpos, memory_order_release);
}

void ch_media_tap_skip(struct ch_media_tap *t, uint64_t n)
{
	t->seq += n;
}

/* Copies n bytes at ring position pos into dst. */
static void ring_read(const struct ch_media_tap *t, size_t pos, void *dst,
                      size_t n)
{
	size_t off = pos & (t->cap - 1);
	size_t first = n < t->cap - off ? n : t->cap - off;

	memcpy(dst, t->buf + off, first);
	if (first < n)
		memcpy((uint8_t *)dst + first, t->buf, n - first);
}

long ch_media_tap_get(struct ch_media_tap *t, void *buf, size_t bufsize)
{
	size_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&t->head, memory_order_acquire);
	struct ch_media_tap_hdr h;

	if (head == tail)
		return 0;
	ring_read(t, tail, &h, sizeof(h));
	if (h.len > bufsize) {
		atomic_store_explicit(&t->tail, tail + ALIGN8(h.len),
		                      memory_order_release);
		return -1;
	}
	ring_read(t, tail, buf, h.len);
	atomic_store_explicit(&t->tail, tail + ALIGN8(h.len),
	                      memory_order_release);
	return (long)h.len;
}
