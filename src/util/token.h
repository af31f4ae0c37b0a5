/*
 * token.h: API tokens and their stored form.
 *
 * A token is 32 random bytes written as 64 lower-case hex characters. The
 * store keeps only its SHA-256 (64 hex characters), never the token: a
 * copy of chorus.db (a backup, a stolen disk) gives no working token. A
 * token carries 256 bits of entropy, so an unsalted fast hash is enough:
 * there is nothing to guess from a dictionary.
 *
 * Thread-safe (no state).
 */
#ifndef CH_TOKEN_H
#define CH_TOKEN_H

#include <stdbool.h>

#define CH_TOKEN_LEN      65 /* a token: 64 hex chars + NUL */
#define CH_TOKEN_HASH_LEN 65 /* its SHA-256: 64 hex chars + NUL */

/* Writes a new random token into out. */
void ch_token_new(char out[CH_TOKEN_LEN]);
/* Writes the hex SHA-256 of token into out; on a digest failure out is
 * "" (which ch_token_hash_equal never accepts). */
void ch_token_hash(const char *token, char out[CH_TOKEN_HASH_LEN]);
/* Whether two hashes are equal, in time independent of where they
 * differ. False unless both are 64 characters long. */
bool ch_token_hash_equal(const char *a, const char *b);

#endif
