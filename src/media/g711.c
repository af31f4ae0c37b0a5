/*
 * g711.c: G.711 mu-law and A-law conversion through lookup tables.
 *
 * The tables are computed once from the segment (exponent + 4-bit mantissa)
 * definition of ITU-T G.711: mu-law quantises a 14-bit magnitude with a bias
 * of 33, A-law a 13-bit magnitude without bias and with a linear first
 * segment. Encoding indexes the tables with the top 14 (mu-law) or 13 (A-law)
 * bits of the 16-bit sample, which is exactly what G.711 sees, so a table
 * lookup gives the same code as the segment algorithm. Negative samples
 * take their magnitude as one's complement (-x - 1), so both laws quantise
 * symmetrically about -1/2: x and -x - 1 get codes of opposite sign and
 * equal magnitude.
 */
#include "media/g711.h"

#include <pthread.h>

#define ULAW_BIAS  33   /* in the 14-bit domain */
#define ULAW_CLIP  8159 /* largest 14-bit magnitude before the bias */
#define ULAW_TABLE 16384
#define ALAW_TABLE 8192

static int16_t ulaw_dec[256];
static int16_t alaw_dec[256];
static uint8_t ulaw_enc[ULAW_TABLE];
static uint8_t alaw_enc[ALAW_TABLE];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Index of the highest set bit of v (v > 0). */
static int top_bit(unsigned v)
{
	return 31 - __builtin_clz(v);
}

/* Encodes one sample given in the 14-bit domain (-8192..8191). */
static uint8_t ulaw_encode14(int x)
{
	uint8_t neg = 0;
	int mag = x;
	if (x < 0) {
		neg = 0x80;
		mag = -x - 1; /* as A-law: symmetric about -1/2 */
	}
	if (mag > ULAW_CLIP)
		mag = ULAW_CLIP;
	mag += ULAW_BIAS; /* 33..8192 */
	int exp = top_bit((unsigned)mag) - 5;
	uint8_t code;
	if (exp > 7)
		code = 0x7F;
	else
		code = (uint8_t)((exp << 4) | ((mag >> (exp + 1)) & 0x0F));
	/* mu-law transmits every bit inverted: sign bit 1 means positive */
	return (uint8_t) ~(code | neg);
}

static int16_t ulaw_decode1(uint8_t code)
{
	unsigned u = (uint8_t)~code;
	int exp = (u >> 4) & 7;
	int mant = u & 0x0F;
	int mag = (((mant << 3) + (ULAW_BIAS << 2)) << exp) - (ULAW_BIAS << 2);
	return (int16_t)((u & 0x80) ? -mag : mag);
}

/* Encodes one sample given in the 13-bit domain (-4096..4095). */
static uint8_t alaw_encode13(int x)
{
	uint8_t mask = 0xD5; /* positive: sign bit set after the 0x55 toggle */
	int mag = x;
	if (x < 0) {
		mask = 0x55;
		mag = -x - 1; /* decision levels are symmetric about -1/2 */
	}
	int exp, mant;
	if (mag < 32) {
		exp = 0;
		mant = mag >> 1;
	} else {
		exp = top_bit((unsigned)mag) - 4;
		mant = (mag >> exp) & 0x0F;
	}
	return (uint8_t)(((exp << 4) | mant) ^ mask);
}

static int16_t alaw_decode1(uint8_t code)
{
	unsigned a = code ^ 0x55u;
	int exp = (a >> 4) & 7;
	int mant = a & 0x0F;
	int mag;
	if (exp == 0)
		mag = (mant << 4) + 8;
	else
		mag = ((mant << 4) + 0x108) << (exp - 1);
	return (int16_t)((a & 0x80) ? mag : -mag);
}

static void build_tables(void)
{
	for (int c = 0; c < 256; c++) {
		ulaw_dec[c] = ulaw_decode1((uint8_t)c);
		alaw_dec[c] = alaw_decode1((uint8_t)c);
	}
	/* index = top bits of the sample as unsigned; sign-extend back */
	for (int i = 0; i < ULAW_TABLE; i++)
		ulaw_enc[i] =
		    ulaw_encode14(i < ULAW_TABLE / 2 ? i : i - ULAW_TABLE);
	for (int i = 0; i < ALAW_TABLE; i++)
		alaw_enc[i] =
		    alaw_encode13(i < ALAW_TABLE / 2 ? i : i - ALAW_TABLE);
}

void ch_g711_init(void)
{
	pthread_once(&tables_once, build_tables);
}

void ch_g711_ulaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ulaw_dec[in[i]];
}

void ch_g711_ulaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ulaw_enc[(uint16_t)in[i] >> 2];
}

void ch_g711_alaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = alaw_dec[in[i]];
}

void ch_g711_alaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = alaw_enc[(uint16_t)in[i] >> 3];
}
