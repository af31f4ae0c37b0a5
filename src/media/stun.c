/*
 * stun.c: STUN Binding requests and responses of ICE connectivity checks
 * (see stun.h), written and checked in place in the caller's buffers.
 * Integrity is HMAC-SHA1 (OpenSSL 3 EVP_MAC, one context per thread,
 * re-keyed per message), the fingerprint libre's CRC-32.
 */
#include "media/stun.h"

#include <re_types.h>
#include <re_sa.h>
#include <re_crc32.h>

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#define HDR           20
#define COOKIE        0x2112A442u
#define FP_XOR        0x5354554eu
#define T_BIND_REQ    0x0001
#define T_BIND_OK     0x0101
#define A_MAPPED      0x0001
#define A_USERNAME    0x0006
#define A_MI          0x0008
#define A_XOR_MAPPED  0x0020
#define A_PRIORITY    0x0024
#define A_USE_CAND    0x0025
#define A_FP          0x8028
#define A_CONTROLLED  0x8029
#define A_CONTROLLING 0x802A
#define MI_LEN        20

struct ch_stun_hmac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

int ch_stun_hmac_alloc(struct ch_stun_hmac **hp)
{
	struct ch_stun_hmac *h = calloc(1, sizeof(*h));
	if (!h)
		return ENOMEM;
	h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
	if (!h->ctx) {
		ch_stun_hmac_free(h);
		return ENOMEM;
	}
	*hp = h;
	return 0;
}

void ch_stun_hmac_free(struct ch_stun_hmac *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
	free(h);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* HMAC-SHA1 keyed by pwd over a header (its length field given) and
 * the bytes after it up to end. */
static bool mi_compute(struct ch_stun_hmac *h, const char *pwd,
                       const uint8_t *msg, size_t end, uint16_t len_field,
                       uint8_t out[MI_LEN])
{
	char sha1[] = "SHA1";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha1, 0),
	    OSSL_PARAM_construct_end()};
	uint8_t hdr[HDR];
	size_t n = 0;

	memcpy(hdr, msg, HDR);
	wr16(hdr + 2, len_field);
	if (!EVP_MAC_init(h->ctx, (const unsigned char *)pwd, strlen(pwd),
	                  params) ||
	    !EVP_MAC_update(h->ctx, hdr, HDR) ||
	    !EVP_MAC_update(h->ctx, msg + HDR, end - HDR) ||
	    !EVP_MAC_final(h->ctx, out, &n, MI_LEN) || n != MI_LEN)
		return false;
	return true;
}

static uint32_t fp_compute(const uint8_t *msg, size_t end)
{
	return crc32(0, msg, (uint32_t)end) ^ FP_XOR;
}

/* What a walk over a message's attributes found (offsets from its
 * start; 0: absent). */
struct walk {
	size_t user, user_len, mi, fp, xaddr, xaddr_len;
	bool use_cand, controlling;
	uint32_t priority;
};

/* Walks the attributes of a checked header; EBADMSG if one runs past
 * the end, an unknown comprehension-required one is there, FINGERPRINT is
 * not last or MESSAGE-INTEGRITY is followed by anything but it. */
static int walk(const uint8_t *buf, size_t len, struct walk *w)
{
	size_t off = HDR;
	memset(w, 0, sizeof(*w));
	while (off < len) {
		if (len - off < 4)
			return EBADMSG;
		uint16_t t = rd16(buf + off), alen = rd16(buf + off + 2);
		size_t v = off + 4, padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > len - v)
			return EBADMSG;
		if (w->fp || (w->mi && t != A_FP))
			return EBADMSG;
		switch (t) {
		case A_USERNAME:
			w->user = v;
			w->user_len = alen;
			break;
		case A_MI:
			if (alen != MI_LEN)
				return EBADMSG;
			w->mi = off;
			break;
		case A_FP:
			if (alen != 4 || v + 4 != len)
				return EBADMSG;
			w->fp = off;
			break;
		case A_PRIORITY:
			if (alen != 4)
				return EBADMSG;
			w->priority = rd32(buf + v);
			break;
		case A_USE_CAND:
			w->use_cand = true;
			break;
		case A_CONTROLLING:
			w->controlling = true;
			break;
		case A_XOR_MAPPED:
			w->xaddr = v;
			w->xaddr_len = alen;
			break;
		case A_CONTROLLED:
		case A_MAPPED:
			break;
		default:
			if (t < 0x8000)
				return EBADMSG;
			break;
		}
		off = v + padded;
	}
	return 0;
}

/* Header checks common to requests and responses: 0 or EBADMSG. */
static int header_ok(const uint8_t *buf, size_t len)
{
	if (!buf || len < HDR || (buf[0] & 0xC0) || rd32(buf + 4) != COOKIE)
		return EBADMSG;
	if ((size_t)rd16(buf + 2) + HDR != len || (len & 3))
		return EBADMSG;
	return 0;
}

/* Fingerprint, then integrity keyed by pwd: 0 or EPERM. */
static int auth_ok(struct ch_stun_hmac *h, const uint8_t *buf,
                   const struct walk *w, const char *pwd)
{
	uint8_t mi[MI_LEN];
	if (!w->fp || !w->mi)
		return EPERM;
	if (fp_compute(buf, w->fp) != rd32(buf + w->fp + 4))
		return EPERM;
	if (!mi_compute(h, pwd, buf, w->mi, (uint16_t)(w->mi + 24 - HDR), mi))
		return EPERM;
	return CRYPTO_memcmp(mi, buf + w->mi + 4, MI_LEN) ? EPERM : 0;
}

int ch_stun_check(struct ch_stun_hmac *h, const uint8_t *buf, size_t len,
                  const char *local_ufrag, const char *local_pwd,
                  struct ch_stun_req *out)
{
	struct walk w;
	int err = header_ok(buf, len);
	if (err)
		return err;
	if (rd16(buf) != T_BIND_REQ)
		return ENOTSUP;
	err = walk(buf, len, &w);
	if (err)
		return err;
	size_t ul = strlen(local_ufrag);
	if (!w.user || w.user_len < ul + 2 ||
	    memcmp(buf + w.user, local_ufrag, ul) || buf[w.user + ul] != ':')
		return EPERM;
	err = auth_ok(h, buf, &w, local_pwd);
	if (err)
		return err;
	memcpy(out->tid, buf + 8, 12);
	out->use_candidate = w.use_cand;
	out->controlling = w.controlling;
	out->priority = w.priority;
	return 0;
}

/* Appends MESSAGE-INTEGRITY and FINGERPRINT to the message of n bytes in
 * out; its final length, or 0. */
static size_t seal(struct ch_stun_hmac *h, const char *pwd, uint8_t *out,
                   size_t n, size_t cap)
{
	if (n + 24 + 8 > cap)
		return 0;
	wr16(out + n, A_MI);
	wr16(out + n + 2, MI_LEN);
	if (!mi_compute(h, pwd, out, n, (uint16_t)(n + 24 - HDR), out + n + 4))
		return 0;
	n += 24;
	wr16(out + 2, (uint16_t)(n + 8 - HDR));
	wr16(out + n, A_FP);
	wr16(out + n + 2, 4);
	wr32(out + n + 4, fp_compute(out, n));
	return n + 8;
}

size_t ch_stun_answer(struct ch_stun_hmac *h, const struct ch_stun_req *rq,
                      const struct sa *src, const char *local_pwd, uint8_t *out,
                      size_t cap)
{
	bool v6 = sa_af(src) == AF_INET6;
	size_t alen = v6 ? 20 : 8;
	if (cap < HDR + 4 + alen)
		return 0;
	wr16(out, T_BIND_OK);
	wr32(out + 4, COOKIE);
	memcpy(out + 8, rq->tid, 12);
	uint8_t *a = out + HDR;
	wr16(a, A_XOR_MAPPED);
	wr16(a + 2, (uint16_t)alen);
	a[4] = 0;
	a[5] = v6 ? 0x02 : 0x01;
	wr16(a + 6, (uint16_t)(sa_port(src) ^ (COOKIE >> 16)));
	if (v6) {
		uint8_t ip[16];
		sa_in6(src, ip);
		for (int i = 0; i < 16; i++)
			a[8 + i] = ip[i] ^ out[4 + i]; /* cookie, then tid */
	} else {
		wr32(a + 8, sa_in(src) ^ COOKIE);
	}
	return seal(h, local_pwd, out, HDR + 4 + alen, cap);
}

size_t ch_stun_request(struct ch_stun_hmac *h, const uint8_t tid[12],
                       const char *username, const char *pwd, uint32_t priority,
                       uint64_t tiebreaker, bool use_candidate, uint8_t *out,
                       size_t cap)
{
	size_t ul = strlen(username), up = (ul + 3) & ~(size_t)3;
	size_t n = HDR + 4 + up + 8 + 12 + (use_candidate ? 4 : 0);
	if (ul > 512 || n + 32 > cap)
		return 0;
	memset(out, 0, n);
	wr16(out, T_BIND_REQ);
	wr32(out + 4, COOKIE);
	memcpy(out + 8, tid, 12);
	uint8_t *a = out + HDR;
	wr16(a, A_USERNAME);
	wr16(a + 2, (uint16_t)ul);
	memcpy(a + 4, username, ul);
	a += 4 + up;
	wr16(a, A_PRIORITY);
	wr16(a + 2, 4);
	wr32(a + 4, priority);
	a += 8;
	wr16(a, A_CONTROLLING);
	wr16(a + 2, 8);
	wr32(a + 4, (uint32_t)(tiebreaker >> 32));
	wr32(a + 8, (uint32_t)tiebreaker);
	a += 12;
	if (use_candidate) {
		wr16(a, A_USE_CAND);
		wr16(a + 2, 0);
	}
	return seal(h, pwd, out, n, cap);
}

int ch_stun_response_check(struct ch_stun_hmac *h, const uint8_t *buf,
                           size_t len, const uint8_t tid[12], const char *pwd,
                           struct sa *mapped)
{
	struct walk w;
	int err = header_ok(buf, len);
	if (err)
		return err;
	if (rd16(buf) != T_BIND_OK || memcmp(buf + 8, tid, 12))
		return EBADMSG;
	err = walk(buf, len, &w);
	if (!err)
		err = auth_ok(h, buf, &w, pwd);
	if (err)
		return err;
	if (!w.xaddr || w.xaddr_len < 8)
		return EBADMSG;
	const uint8_t *a = buf + w.xaddr;
	uint16_t port = rd16(a + 2) ^ (uint16_t)(COOKIE >> 16);
	if (a[1] == 0x01 && w.xaddr_len == 8) {
		sa_set_in(mapped, rd32(a + 4) ^ COOKIE, port);
		return 0;
	}
	if (a[1] == 0x02 && w.xaddr_len == 20) {
		uint8_t ip[16];
		for (int i = 0; i < 16; i++)
			ip[i] = a[4 + i] ^ buf[4 + i];
		sa_set_in6(mapped, ip, port);
		return 0;
	}
	return EBADMSG;
}
