/*
 * ring.h: a bounded lock-free single-producer/single-consumer ring of
 * fixed-size elements, the queue between the control thread and a media
 * worker (one ring each way).
 *
 * Exactly one thread may push and exactly one other thread may pop; the two
 * indices live on separate cache lines and are published with
 * release/acquire ordering, so an element is fully written before the
 * consumer can see it. Pushing and popping never block, allocate or make a
 * system call: callers pair the ring with an eventfd to wake the consumer.
 */
#ifndef CH_MEDIA_RING_H
#define CH_MEDIA_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One ring. The struct is caller storage; ch_ring_init() allocates the
 * element array and ch_ring_destroy() frees it (both on the thread that
 * owns the ring's lifetime, while neither side is using it).
 * head: written by the producer only; tail: written by the consumer only.
 */
struct ch_ring {
	alignas(64) _Atomic size_t head; /* next slot to write */
	alignas(64) _Atomic size_t tail; /* next slot to read */
	alignas(64) size_t mask;         /* capacity - 1 */
	size_t elem;                     /* element size in bytes */
	uint8_t *buf;                    /* capacity x elem bytes */
};

/*
 * Prepares r for capacity elements of elem bytes each. capacity must be a
 * power of two (>= 2). Returns 0, -EINVAL for a bad size, -ENOMEM.
 */
int ch_ring_init(struct ch_ring *r, size_t capacity, size_t elem);

/* Frees the element array; r may be initialised again. Idempotent. */
void ch_ring_destroy(struct ch_ring *r);

/* Producer: copies *e into the ring. Returns false if the ring is full. */
bool ch_ring_push(struct ch_ring *r, const void *e);

/* Consumer: copies the oldest element into *e and removes it. Returns false
 * if the ring is empty. */
bool ch_ring_pop(struct ch_ring *r, void *e);

/* Number of elements queued (exact only on the producer or consumer). */
size_t ch_ring_count(const struct ch_ring *r);

#endif
