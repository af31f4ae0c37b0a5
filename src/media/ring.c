/*
 * ring.c: lock-free single-producer/single-consumer ring (see ring.h).
 *
 * head and tail count elements forever (size_t wraps harmlessly); the slot
 * of index i is i & mask. The producer reads tail with acquire to know the
 * consumer is done with a slot before reusing it, and publishes head with
 * release after writing the element; the consumer mirrors that.
 */
#include "media/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int ch_ring_init(struct ch_ring *r, size_t capacity, size_t elem)
{
	if (capacity < 2 || (capacity & (capacity - 1)) != 0 || elem == 0 ||
	    capacity > SIZE_MAX / elem)
		return -EINVAL;
	r->buf = calloc(capacity, elem);
	if (!r->buf)
		return -ENOMEM;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	r->mask = capacity - 1;
	r->elem = elem;
	return 0;
}

void ch_ring_destroy(struct ch_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->mask = 0;
	r->elem = 0;
}

bool ch_ring_push(struct ch_ring *r, const void *e)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail > r->mask)
		return false;
	memcpy(r->buf + (head & r->mask) * r->elem, e, r->elem);
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

bool ch_ring_pop(struct ch_ring *r, void *e)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (head == tail)
		return false;
	memcpy(e, r->buf + (tail & r->mask) * r->elem, r->elem);
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

size_t ch_ring_count(const struct ch_ring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return head - tail;
}
