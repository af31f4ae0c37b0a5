/*
 * uuid.h: random (version 4) UUIDs as the API writes them.
 *
 * Thread-safe (getrandom(2)).
 */
#ifndef CH_UUID_H
#define CH_UUID_H

#include <stdbool.h>

#define CH_UUID_LEN 37 /* 36 chars + NUL */
#define CH_UUID_NIL "00000000-0000-0000-0000-000000000000"

/* Writes a new random v4 UUID, lower-case, into out. */
void ch_uuid_new(char out[CH_UUID_LEN]);
/* True if s is 36 chars of 8-4-4-4-12 hex digits (any case). */
bool ch_uuid_valid(const char *s);
/* Writes n random bytes as 2n lower-case hex chars + NUL into out. */
void ch_uuid_random_hex(char *out, unsigned n);
/* The value of one hex digit (any case), or -1 if c is not one. */
int ch_uuid_hexval(char c);

#endif
