/*
 * stun.h: the STUN messages (RFC 5389) of ICE-lite connectivity checks
 * (RFC 8445) and consent (RFC 7675), for the media worker that owns a
 * WebRTC leg's socket: check a Binding request (USERNAME, MESSAGE-
 * INTEGRITY, FINGERPRINT), build its success response; and, for test
 * peers, the request and the response check. Pure functions over caller
 * buffers: nothing is allocated per message.
 *
 * Threads: a struct ch_stun_hmac is used by one thread at a time (each
 * media worker has its own); the rest is reentrant.
 */
#ifndef CH_MEDIA_STUN_H
#define CH_MEDIA_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sa;
struct ch_stun_hmac;

/* The HMAC-SHA1 context reused for every message (allocated once, at
 * worker creation). 0 or an errno value. */
int ch_stun_hmac_alloc(struct ch_stun_hmac **hp);
void ch_stun_hmac_free(struct ch_stun_hmac *h); /* NULL-safe */

/* A checked Binding request. */
struct ch_stun_req {
	uint8_t tid[12];
	bool use_candidate; /* USE-CANDIDATE present */
	bool controlling;   /* ICE-CONTROLLING present */
	uint32_t priority;  /* PRIORITY, 0 if absent */
};

/* Checks a Binding request for an ICE-lite agent: USERNAME
 * "<local_ufrag>:<theirs>", MESSAGE-INTEGRITY keyed by local_pwd,
 * FINGERPRINT last, every attribute inside the message, no unknown
 * comprehension-required attribute. 0; EBADMSG malformed; EPERM wrong
 * username, integrity or fingerprint; ENOTSUP not a Binding request. */
int ch_stun_check(struct ch_stun_hmac *h, const uint8_t *buf, size_t len,
                  const char *local_ufrag, const char *local_pwd,
                  struct ch_stun_req *out);

/* Writes rq's success response into out: XOR-MAPPED-ADDRESS of src,
 * MESSAGE-INTEGRITY keyed by local_pwd, FINGERPRINT. Its length, or 0 if
 * cap is too small. */
size_t ch_stun_answer(struct ch_stun_hmac *h, const struct ch_stun_req *rq,
                      const struct sa *src, const char *local_pwd, uint8_t *out,
                      size_t cap);

/* A Binding request as a full (controlling) agent sends it: USERNAME,
 * PRIORITY, ICE-CONTROLLING, USE-CANDIDATE if asked, MESSAGE-INTEGRITY
 * keyed by pwd, FINGERPRINT. Its length, or 0. */
size_t ch_stun_request(struct ch_stun_hmac *h, const uint8_t tid[12],
                       const char *username, const char *pwd, uint32_t priority,
                       uint64_t tiebreaker, bool use_candidate, uint8_t *out,
                       size_t cap);

/* Checks a Binding success response to tid (integrity keyed by pwd,
 * fingerprint) and gives its XOR-MAPPED-ADDRESS. 0, EBADMSG, EPERM. */
int ch_stun_response_check(struct ch_stun_hmac *h, const uint8_t *buf,
                           size_t len, const uint8_t tid[12], const char *pwd,
                           struct sa *mapped);

#endif
