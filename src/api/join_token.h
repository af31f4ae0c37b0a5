/*
 * join_token.h: join tokens, so a web page joins one conference without
 * holding its customer's API token (POST /conferences/{id}/join_tokens).
 *
 * A join token is stateless: "cjt_" + the conference id and the customer
 * id (32 hex each, no dashes) + the expiry (Unix seconds, 8 hex) + a
 * 128-bit HMAC-SHA256 tag (32 hex) over all that,
 * keyed by the customer's stored API token hash. 108 characters:
 * "cjt_" and lower-case hex. Replacing the customer's API token (chorusd
 * customer token) revokes every join token it minted; deleting the customer
 * too.
 *
 * Thread-safe (no state).
 */
#ifndef CH_API_JOIN_TOKEN_H
#define CH_API_JOIN_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "util/uuid.h"

#define CH_JOIN_TOKEN_PREFIX "cjt_"
#define CH_JOIN_TOKEN_LEN    109 /* 108 chars + NUL */

/* Writes the token of conference conf_id for customer cust_id, expiring
 * at exp_s, keyed by key (the customer's token hash, a C string). */
void ch_join_token_mint(const char *key, const char *conf_id,
                        const char *cust_id, int64_t exp_s,
                        char out[CH_JOIN_TOKEN_LEN]);

/* Reads a token's fields without checking its tag: 0, or EINVAL when it
 * is not shaped as one. */
int ch_join_token_parse(const char *tok, char conf_id[CH_UUID_LEN],
                        char cust_id[CH_UUID_LEN], int64_t *exp_s);

/* Whether tok's tag is right under key (constant time). */
bool ch_join_token_verify(const char *tok, const char *key);

#endif
