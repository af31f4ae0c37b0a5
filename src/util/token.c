/*
 * token.c: API tokens, their SHA-256 and its constant-time comparison
 * (OpenSSL EVP and CRYPTO_memcmp).
 */
#include "util/token.h"
#include "util/uuid.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string.h>

#define HASH_HEX (CH_TOKEN_HASH_LEN - 1)

void ch_token_new(char out[CH_TOKEN_LEN])
{
	ch_uuid_random_hex(out, (CH_TOKEN_LEN - 1) / 2);
}

void ch_token_hash(const char *token, char out[CH_TOKEN_HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (!EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) ||
	    len * 2 != HASH_HEX)
		return;
	for (unsigned int i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[HASH_HEX] = '\0';
}

bool ch_token_hash_equal(const char *a, const char *b)
{
	/* The lengths are not secret: every stored hash has 64 chars. */
	if (strnlen(a, CH_TOKEN_HASH_LEN) != HASH_HEX ||
	    strnlen(b, CH_TOKEN_HASH_LEN) != HASH_HEX)
		return false;
	return CRYPTO_memcmp(a, b, HASH_HEX) == 0;
}
