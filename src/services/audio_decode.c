/*
 * audio_decode.c: an untrusted audio file in memory decoded into a clip at
 * the three room rates (see audio_decode.h).
 *
 * Design: the first bytes are sniffed (RIFF/RF64 WAVE, fLaC, OggS, ID3 or
 * an MPEG frame sync) so that only the parsers of the formats we play are
 * ever reached; libsndfile then opens the buffer through its virtual I/O
 * (it reads MP3 through libmpg123) and its header fields are checked
 * (format, channels 1..8, rate 8000..192000, a length > 0, for PCM the
 * declared length against the buffer). The audio is read in blocks,
 * mixed down to mono and fed to three speexdsp resamplers (one per room
 * rate; equal rates are copied), whose output grows three buffers that
 * are capped at max_seconds: nothing is ever allocated on a size read
 * from the file. At the end the filters are flushed, the clip is sized
 * from the number of input samples (rounded up to whole 20 ms frames,
 * the tail is silence) and the buffers are copied into one ch_pcm.
 */
#include "services/audio_decode.h"

#include "media/pcm.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>
#include <speex/speex_resampler.h>

#define DEC_MIN_RATE        8000
#define DEC_MAX_RATE        192000
#define DEC_MAX_CHANNELS    8
#define DEC_BLOCK           1024 /* frames read per sf_readf_float */
#define DEC_QUALITY         5    /* speexdsp quality */
#define DEC_DEFAULT_SECONDS 600u /* max_seconds 0 */
#define DEC_MAX_SECONDS     (24u * 3600u)
#define DEC_NRATES          3
/* Resampler output per call: up to 6x a block (8 to 48 kHz), or less. */
#define DEC_OUT_BLOCK (DEC_BLOCK * 6 + 64)

static const uint32_t dec_rates[DEC_NRATES] = {8000, 16000, 48000};

/* The buffer libsndfile reads through its virtual I/O. */
struct dec_mem {
	const unsigned char *buf;
	sf_count_t len;
	sf_count_t pos;
};

/* One output rate: its resampler (NULL when the input has that rate) and
 * the samples produced so far, at most cap. */
struct dec_out {
	SpeexResamplerState *st;
	uint32_t rate;
	int16_t *buf;
	size_t n;
	size_t size; /* allocated samples */
	size_t cap;  /* most samples kept (max_seconds) */
};

static sf_count_t mem_len(void *arg)
{
	return ((struct dec_mem *)arg)->len;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *arg)
{
	struct dec_mem *m = arg;
	sf_count_t base;

	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = m->pos;
		break;
	case SEEK_END:
		base = m->len;
		break;
	default:
		return -1;
	}
	/* Clamped to the buffer; no overflow for any off. */
	if (off < -base)
		m->pos = 0;
	else if (off > m->len - base)
		m->pos = m->len;
	else
		m->pos = base + off;
	return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *arg)
{
	struct dec_mem *m = arg;
	sf_count_t left = m->len - m->pos;

	if (count <= 0 || left <= 0)
		return 0;
	if (count > left)
		count = left;
	memcpy(ptr, m->buf + m->pos, (size_t)count);
	m->pos += count;
	return count;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *arg)
{
	(void)ptr;
	(void)count;
	(void)arg;
	return 0;
}

static sf_count_t mem_tell(void *arg)
{
	return ((struct dec_mem *)arg)->pos;
}

/* Whether the first bytes are those of a format we play. */
static bool dec_sniff(const unsigned char *b, size_t len)
{
	if (len >= 12 && (!memcmp(b, "RIFF", 4) || !memcmp(b, "RF64", 4)) &&
	    !memcmp(b + 8, "WAVE", 4))
		return true;
	if (len >= 4 && (!memcmp(b, "fLaC", 4) || !memcmp(b, "OggS", 4)))
		return true;
	if (len >= 10 && !memcmp(b, "ID3", 3))
		return true;
	/* MPEG audio frame sync: 11 bits set, a layer that is not 0. */
	return len >= 4 && b[0] == 0xff && (b[1] & 0xe0) == 0xe0 &&
	       (b[1] & 0x06) != 0;
}

/* ---- Ogg headers -----------------------------------------------------
 *
 * libsndfile 1.2 leaks the Vorbis decoder's state (codec setup, comments:
 * up to the file's size) when a Vorbis stream's headers are cut short or
 * corrupt (vorbis_read_header fails before its close hook is set; found
 * by fuzz_audio_decode, also behind junk that libogg skips to find a
 * page). So an Ogg file reaches libsndfile only if it starts with a whole
 * page (good CRC) whose first packet is an Opus head or a Vorbis
 * identification header libvorbis accepts; for Vorbis, the three header
 * packets must then be there whole: pages one after the other from the
 * start of the buffer, each with a good CRC, one stream, consecutive
 * sequence numbers and continuation flags that match. libogg then finds
 * exactly these pages, and libsndfile gets all three headers.
 */

/* Ogg's CRC-32 (polynomial 0x04c11db7, MSB first, no reflection), over
 * a page whose CRC field counts as zero. */
static uint32_t ogg_crc(const unsigned char *b, size_t n)
{
	uint32_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint32_t)(i >= 22 && i < 26 ? 0 : b[i]) << 24;
		for (int k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u
			                        : crc << 1;
	}
	return crc;
}

static uint32_t le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* The checks of libvorbis's _vorbis_unpack_info on packet p[0..n). */
static bool vorbis_id_ok(const unsigned char *p, size_t n)
{
	unsigned bs0, bs1;

	if (n < 30 || memcmp(p, "\x01vorbis", 7) || le32(p + 7) != 0 ||
	    p[11] < 1 || le32(p + 12) < 1)
		return false;
	bs0 = 1u << (p[28] & 15);
	bs1 = 1u << (p[28] >> 4);
	return bs0 >= 64 && bs1 >= bs0 && bs1 <= 8192 && (p[29] & 1);
}

/* The length of the whole Ogg page at b (good CRC), or 0. */
static size_t ogg_page_len(const unsigned char *b, size_t len)
{
	size_t nseg, body = 0;

	if (len < 27 || memcmp(b, "OggS", 4) || b[4] != 0)
		return 0;
	nseg = b[26];
	if (len - 27 < nseg)
		return 0;
	for (size_t i = 0; i < nseg; i++)
		body += b[27 + i];
	if (len - 27 - nseg < body ||
	    ogg_crc(b, 27 + nseg + body) != le32(b + 22))
		return 0;
	return 27 + nseg + body;
}

/* Counts the packets that end in page h's lacing values from segment
 * from on, up to 3; *cur: bytes of a packet still open. */
static void ogg_lace(const unsigned char *h, size_t from, size_t *packets,
                     size_t *cur)
{
	for (size_t i = from; i < h[26] && *packets < 3; i++) {
		*cur += h[27 + i];
		if (h[27 + i] < 255) {
			(*packets)++;
			*cur = 0;
		}
	}
}

/* Whether the Ogg file b[0..len) may be given to libsndfile (above). */
static bool dec_ogg_ok(const unsigned char *b, size_t len)
{
	size_t off, packets = 1, cur = 0; /* bytes of the open packet */
	size_t plen = ogg_page_len(b, len);
	const unsigned char *p = b + 27 + (plen ? b[26] : 0);
	uint32_t serial, seq;

	/* Page 0: beginning of stream, a first packet in one segment. */
	if (!plen || !(b[5] & 0x02) || !b[26] || b[27] == 255)
		return false;
	if (b[27] >= 8 && !memcmp(p, "OpusHead", 8))
		return true;
	if (!vorbis_id_ok(p, b[27]))
		return false;
	serial = le32(b + 14);
	seq = le32(b + 18);
	ogg_lace(b, 1, &packets, &cur);
	for (off = plen; packets < 3; off += plen) {
		const unsigned char *h = b + off;

		if (b[off - plen + 5] & 0x04)
			return false; /* end of stream inside the headers */
		plen = ogg_page_len(h, len - off);
		if (!plen || le32(h + 14) != serial || le32(h + 18) != ++seq ||
		    (h[5] & 0x02) || !!(h[5] & 0x01) != (cur > 0))
			return false;
		ogg_lace(h, 0, &packets, &cur);
	}
	return true;
}

/* Bytes per sample of the PCM subtypes (their length is checkable). */
static int dec_pcm_width(int format)
{
	switch (format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_U8:
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_ULAW:
	case SF_FORMAT_ALAW:
		return 1;
	case SF_FORMAT_PCM_16:
		return 2;
	case SF_FORMAT_PCM_24:
		return 3;
	case SF_FORMAT_PCM_32:
	case SF_FORMAT_FLOAT:
		return 4;
	case SF_FORMAT_DOUBLE:
		return 8;
	default:
		return 0;
	}
}

/* Checks the header fields libsndfile read. 0 or EINVAL with *why. */
static int dec_check_info(const SF_INFO *info, size_t len, const char **why)
{
	int major = info->format & SF_FORMAT_TYPEMASK;
	int sub = info->format & SF_FORMAT_SUBMASK;
	int width;

	switch (major) {
	case SF_FORMAT_WAV:
	case SF_FORMAT_WAVEX:
	case SF_FORMAT_RF64:
	case SF_FORMAT_FLAC:
	case SF_FORMAT_MPEG:
		break;
	case SF_FORMAT_OGG:
		if (sub != SF_FORMAT_VORBIS && sub != SF_FORMAT_OPUS) {
			*why = "unsupported format";
			return EINVAL;
		}
		break;
	default:
		*why = "unsupported format";
		return EINVAL;
	}
	if (info->channels < 1 || info->channels > DEC_MAX_CHANNELS ||
	    info->samplerate < DEC_MIN_RATE ||
	    info->samplerate > DEC_MAX_RATE) {
		*why = "unsupported format";
		return EINVAL;
	}
	if (info->frames <= 0) {
		*why = "no audio in file";
		return EINVAL;
	}
	width = dec_pcm_width(info->format);
	if (width && major != SF_FORMAT_FLAC &&
	    info->frames >
	        (sf_count_t)(len / (size_t)width / (size_t)info->channels)) {
		*why = "truncated audio file";
		return EINVAL;
	}
	return 0;
}

static void dec_outs_free(struct dec_out *o)
{
	for (int i = 0; i < DEC_NRATES; i++) {
		if (o[i].st)
			speex_resampler_destroy(o[i].st);
		free(o[i].buf);
		memset(&o[i], 0, sizeof(o[i]));
	}
}

static int dec_outs_init(struct dec_out *o, uint32_t in_rate, unsigned seconds)
{
	for (int i = 0; i < DEC_NRATES; i++) {
		int err = 0;

		o[i].rate = dec_rates[i];
		o[i].cap = (size_t)seconds * dec_rates[i];
		if (dec_rates[i] == in_rate)
			continue;
		o[i].st = speex_resampler_init(1, in_rate, dec_rates[i],
		                               DEC_QUALITY, &err);
		if (!o[i].st)
			return ENOMEM;
		/* The filter's delay is dropped from the start of the output.
		 */
		speex_resampler_skip_zeros(o[i].st);
	}
	return 0;
}

/* Room for n more samples (the cap already applied). */
static int dec_out_reserve(struct dec_out *o, size_t n)
{
	size_t want = o->n + n;
	size_t size;
	int16_t *b;

	if (want <= o->size)
		return 0;
	size = o->size ? o->size : o->rate; /* start with 1 s */
	while (size < want)
		size *= 2;
	if (size > o->cap)
		size = o->cap;
	b = realloc(o->buf, size * sizeof(*b));
	if (!b)
		return ENOMEM;
	o->buf = b;
	o->size = size;
	return 0;
}

/* libsndfile scales 16-bit input by 1/32768: the inverse is exact. */
static int16_t dec_to_s16(float v)
{
	float s = v * 32768.0f;

	if (!(s > -32768.0f)) /* also NaN */
		return s != s ? 0 : -32768;
	if (s > 32767.0f)
		return 32767;
	return (int16_t)lrintf(s);
}

/* Appends n float samples to o as int16, as many as its cap leaves room
 * for. */
static int dec_out_append(struct dec_out *o, const float *x, size_t n)
{
	size_t room = o->cap - o->n;
	int err;

	if (n > room)
		n = room;
	err = dec_out_reserve(o, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		o->buf[o->n++] = dec_to_s16(x[i]);
	return 0;
}

/* Converts n mono samples at the input rate into o (to its cap). */
static int dec_out_push(struct dec_out *o, const float *in, size_t n)
{
	float tmp[DEC_OUT_BLOCK];
	size_t done = 0;

	if (!o->st)
		return dec_out_append(o, in, n);
	while (done < n && o->n < o->cap) {
		spx_uint32_t in_len = (spx_uint32_t)(n - done);
		spx_uint32_t out_len = DEC_OUT_BLOCK;
		int err;

		if (speex_resampler_process_float(o->st, 0, in + done, &in_len,
		                                  tmp, &out_len) !=
		    RESAMPLER_ERR_SUCCESS)
			return EINVAL; /* the header promises EINVAL or ENOMEM
			                */
		err = dec_out_append(o, tmp, out_len);
		if (err)
			return err;
		done += in_len;
		if (!in_len && !out_len)
			break; /* no progress: never loop for ever */
	}
	return 0;
}

/* Feeds the filters' delay worth of silence so the last input comes out. */
static int dec_outs_flush(struct dec_out *o)
{
	static const float zeros[DEC_BLOCK];

	for (int i = 0; i < DEC_NRATES; i++) {
		size_t left;

		if (!o[i].st)
			continue;
		left = (size_t)speex_resampler_get_input_latency(o[i].st);
		while (left) {
			size_t n = left < DEC_BLOCK ? left : DEC_BLOCK;
			int err = dec_out_push(&o[i], zeros, n);

			if (err)
				return err;
			left -= n;
		}
	}
	return 0;
}

/* Reads, mixes down and resamples; *in_n: input samples taken. */
static int dec_read_all(SNDFILE *sf, const SF_INFO *info, struct dec_out *o,
                        sf_count_t in_cap, sf_count_t *in_n)
{
	float block[DEC_BLOCK * DEC_MAX_CHANNELS];
	float mono[DEC_BLOCK];
	int ch = info->channels;

	*in_n = 0;
	while (*in_n < in_cap) {
		sf_count_t want = in_cap - *in_n;
		sf_count_t got;

		if (want > DEC_BLOCK)
			want = DEC_BLOCK;
		got = sf_readf_float(sf, block, want);
		if (got <= 0)
			break;
		if (got > want)
			return EINVAL;
		for (sf_count_t i = 0; i < got; i++) {
			float sum = 0.0f;

			for (int c = 0; c < ch; c++)
				sum += block[i * ch + c];
			mono[i] = sum / (float)ch;
		}
		for (int r = 0; r < DEC_NRATES; r++) {
			int err = dec_out_push(&o[r], mono, (size_t)got);

			if (err)
				return err;
		}
		*in_n += got;
	}
	return 0;
}

/* Copies the three outputs into a clip of frames frames (zero padded). */
static struct ch_pcm *dec_clip(const struct dec_out *o, uint32_t frames)
{
	struct ch_pcm *pcm = ch_pcm_alloc(frames);

	if (!pcm)
		return NULL;
	for (int i = 0; i < DEC_NRATES; i++) {
		int16_t *dst = i == 0   ? pcm->r8k
		               : i == 1 ? pcm->r16k
		                        : pcm->r48k;
		size_t n = (size_t)frames * (o[i].rate / 50);

		if (n > o[i].n)
			n = o[i].n;
		if (n)
			memcpy(dst, o[i].buf, n * sizeof(*dst));
	}
	return pcm;
}

int ch_audio_decode(const void *buf, size_t len, unsigned max_seconds,
                    struct ch_pcm **out, const char **why)
{
	static const char *why_none = "";
	struct dec_mem mem = {.buf = buf, .len = (sf_count_t)len};
	SF_VIRTUAL_IO vio = {.get_filelen = mem_len,
	                     .seek = mem_seek,
	                     .read = mem_read,
	                     .write = mem_write,
	                     .tell = mem_tell};
	struct dec_out o[DEC_NRATES] = {{0}};
	SF_INFO info = {0};
	SNDFILE *sf = NULL;
	sf_count_t in_cap, in_n = 0;
	uint64_t frames;
	int err;

	if (!why)
		why = &why_none;
	*why = "";
	if (!out)
		return EINVAL;
	*out = NULL;
	if (!buf || len > (size_t)INT64_MAX / 2 || !dec_sniff(buf, len) ||
	    (!memcmp(buf, "OggS", 4) && !dec_ogg_ok(buf, len))) {
		*why = "not an audio file";
		return EINVAL;
	}
	if (!max_seconds)
		max_seconds = DEC_DEFAULT_SECONDS;
	if (max_seconds > DEC_MAX_SECONDS)
		max_seconds = DEC_MAX_SECONDS;

	sf = sf_open_virtual(&vio, SFM_READ, &info, &mem);
	if (!sf) {
		*why = "not an audio file";
		return EINVAL;
	}
	err = dec_check_info(&info, len, why);
	if (err)
		goto out;
	/* Integer input read as float is scaled to -1..1; float input that
	 * goes beyond is clipped when converted back. */
	sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	err = dec_outs_init(o, (uint32_t)info.samplerate, max_seconds);
	if (err)
		goto out;
	in_cap = (sf_count_t)max_seconds * info.samplerate;
	err = dec_read_all(sf, &info, o, in_cap, &in_n);
	if (!err)
		err = dec_outs_flush(o);
	if (err) {
		*why = err == ENOMEM ? "out of memory" : "decoder failed";
		goto out;
	}
	if (in_n <= 0) {
		*why = "no audio in file";
		err = EINVAL;
		goto out;
	}
	/* Whole 20 ms frames of the input's length, rounded up. */
	frames = ((uint64_t)in_n * 50 + (uint64_t)info.samplerate - 1) /
	         (uint64_t)info.samplerate;
	if (frames > (uint64_t)max_seconds * 50)
		frames = (uint64_t)max_seconds * 50;
	*out = dec_clip(o, (uint32_t)frames);
	if (!*out) {
		*why = "out of memory";
		err = ENOMEM;
	}
out:
	dec_outs_free(o);
	sf_close(sf);
	return err;
}
