/*
 * join_token.c: minting and checking join tokens (see join_token.h):
 * HMAC-SHA256 from OpenSSL, compared with CRYPTO_memcmp.
 */
#include "api/join_token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define BODY_LEN (4 + 32 + 32 + 8) /* prefix, conference, customer, expiry */
#define TAG_HEX  32

/* A UUID without its dashes (32 hex). */
static void squeeze(const char *uuid, char *out)
{
	size_t k = 0;
	for (size_t i = 0; uuid[i] && k < 32; i++)
		if (uuid[i] != '-')
			out[k++] = uuid[i];
	out[k] = '\0';
}

/* 32 hex back to 8-4-4-4-12. */
static void expand(const char *hex, char out[CH_UUID_LEN])
{
	snprintf(out, CH_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	         hex + 12, hex + 16, hex + 20);
}

static void tag_of(const char *key, const char *body, size_t n,
                   char out[TAG_HEX + 1])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const uint8_t *)body, n,
	          md, &mdlen) ||
	    mdlen < TAG_HEX / 2) {
		memset(out, 'x', TAG_HEX); /* never hex: never matches */
		out[TAG_HEX] = '\0';
		return;
	}
	for (int i = 0; i < TAG_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void ch_join_token_mint(const char *key, const char *conf_id,
                        const char *cust_id, int64_t exp_s,
                        char out[CH_JOIN_TOKEN_LEN])
{
	char conf[33], cust[33], tag[TAG_HEX + 1];
	squeeze(conf_id, conf);
	squeeze(cust_id, cust);
	snprintf(out, CH_JOIN_TOKEN_LEN, CH_JOIN_TOKEN_PREFIX "%s%s%08llx",
	         conf, cust, (unsigned long long)(uint32_t)exp_s);
	tag_of(key, out, BODY_LEN, tag);
	memcpy(out + BODY_LEN, tag, TAG_HEX + 1);
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int ch_join_token_parse(const char *tok, char conf_id[CH_UUID_LEN],
                        char cust_id[CH_UUID_LEN], int64_t *exp_s)
{
	if (!tok || strlen(tok) != CH_JOIN_TOKEN_LEN - 1 ||
	    strncmp(tok, CH_JOIN_TOKEN_PREFIX, 4) ||
	    !lower_hex(tok + 4, CH_JOIN_TOKEN_LEN - 1 - 4))
		return EINVAL;
	expand(tok + 4, conf_id);
	expand(tok + 36, cust_id);
	unsigned long long e = 0;
	for (int i = 0; i < 8; i++)
		e = e * 16 + (unsigned long long)ch_uuid_hexval(tok[68 + i]);
	*exp_s = (int64_t)e;
	return 0;
}

bool ch_join_token_verify(const char *tok, const char *key)
{
	char tag[TAG_HEX + 1];
	if (!tok || strlen(tok) != CH_JOIN_TOKEN_LEN - 1 || !key || !*key)
		return false;
	tag_of(key, tok, BODY_LEN, tag);
	return CRYPTO_memcmp(tag, tok + BODY_LEN, TAG_HEX) == 0;
}
