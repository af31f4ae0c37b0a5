/*
 * token.c: API tokens, their SHA-256 and its constant-time comparison
 * (OpenSSL EVP and CRYPTO_memcmp).
 */
#include "util/token.h"
#include "util/uuid.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>

#include <string.h>

#define HASH_HEX (CH_TOKEN_HASH_LEN - 1)

void ch_token_new(char out[CH_TOKEN_LEN])
{
	ch_uuid_random_hex(out, (CH_TOKEN_LEN - 1) / 2);
}

/* SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 fetch the
 * implementation again on every digest, a cost every API request paid.
 * Kept for the process's life (reachable, so no leak report). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void ch_token_hash(const char *token, char out[CH_TOKEN_HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	(void)pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md ||
	    !EVP_Digest(token, strlen(token), md, &len, sha256_md, NULL) ||
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
