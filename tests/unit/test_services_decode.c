/*
 * test_services_decode.c: ch_audio_decode() on tone files that libsndfile
 * writes here (WAV 16-bit 8 kHz mono and 44.1 kHz stereo, FLAC, Ogg
 * Vorbis, Ogg Opus, MP3 through libsndfile's LAME encoder): the tone is
 * found by Goertzel at its level at 8, 16 and 48 kHz, the clip has the
 * file's length in whole 20 ms frames, stereo is mixed down, long input is
 * cut at max_seconds, and garbage, truncated headers and out-of-range
 * header fields are EINVAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sndfile.h>

#include "audio_check.h"
#include "media/pcm.h"
#include "services/audio_decode.h"
#include "tmpdir.h"

#define AMP 0.5 /* -6 dBFS */

static char dir[CH_TEST_DIR_MAX];

/* A file in memory. */
struct blob {
	unsigned char *buf;
	size_t len;
};

static void blob_read(struct blob *b, const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	b->buf = malloc((size_t)n);
	assert_non_null(b->buf);
	assert_int_equal(fread(b->buf, 1, (size_t)n, f), (size_t)n);
	b->len = (size_t)n;
	fclose(f);
}

/*
 * Writes seconds of tone with libsndfile (format, rate, channels; channel
 * 0 at f0, the others at f1, both at AMP) and reads the file back into b.
 */
static void write_tone(struct blob *b, const char *name, int format, int rate,
                       int channels, double seconds, double f0, double f1)
{
	char path[CH_TEST_DIR_MAX + 64];
	SF_INFO info = {
	    .samplerate = rate, .channels = channels, .format = format};
	sf_count_t n = (sf_count_t)lrint(seconds * rate);
	float *x = calloc((size_t)n * (size_t)channels, sizeof(float));
	SNDFILE *sf;

	assert_non_null(x);
	for (int c = 0; c < channels; c++)
		ch_test_tone_float(x + c, (size_t)n, (size_t)channels,
		                   c ? f1 : f0, rate, AMP);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	sf = sf_open(path, SFM_WRITE, &info);
	if (!sf)
		fail_msg("sf_open %s: %s", name, sf_strerror(NULL));
	assert_int_equal(sf_writef_float(sf, x, n), n);
	assert_int_equal(sf_close(sf), 0);
	free(x);
	blob_read(b, path);
}

/* The tone f at AMP (within tol dB) in the middle of the clip at rate, and
 * nothing at an unrelated frequency. */
static void check_tone_at(const struct ch_pcm *p, uint32_t rate, double f,
                          double level_db, double tol)
{
	size_t spf = ch_pcm_frame_samples(rate);
	const int16_t *x = ch_pcm_frame(p, rate, 0);
	size_t n = (size_t)p->frames * spf;
	size_t from = n / 4, len = n / 2;
	double db = ch_test_tone_db(x + from, len, f, rate);
	double off = ch_test_tone_db(x + from, len, f * 1.37, rate);

	if (fabs(db - level_db) > tol)
		fail_msg("%u Hz: tone %.0f Hz at %.1f dB, want %.1f", rate, f,
		         db, level_db);
	if (off > db - 30)
		fail_msg("%u Hz: %.1f dB off tone, tone %.1f", rate, off, db);
}

/* Decodes b, expects about seconds long, the tone at the three rates. */
static struct ch_pcm *decode_check(const struct blob *b, double seconds,
                                   double f, unsigned slack_frames)
{
	struct ch_pcm *p = NULL;
	const char *why = NULL;
	long want = lrint(ceil(seconds * 50));

	assert_int_equal(ch_audio_decode(b->buf, b->len, 60, &p, &why), 0);
	assert_non_null(p);
	if (labs((long)p->frames - want) > (long)slack_frames)
		fail_msg("%u frames, want %ld", p->frames, want);
	check_tone_at(p, 8000, f, 20 * log10(AMP), 1.0);
	check_tone_at(p, 16000, f, 20 * log10(AMP), 1.0);
	check_tone_at(p, 48000, f, 20 * log10(AMP), 1.0);
	return p;
}

static void free_blob(struct blob *b)
{
	free(b->buf);
	b->buf = NULL;
}

static void test_wav_8k_mono(void **state)
{
	struct blob b;
	struct ch_pcm *p;

	write_tone(&b, "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 1.01,
	           440, 0);
	p = decode_check(&b, 1.01, 440, 0);
	/* Same rate: the samples themselves, then silence to the frame end. */
	assert_memory_equal(p->r8k, b.buf + 44, 8080 * 2);
	for (size_t i = 8080; i < (size_t)p->frames * 160; i++)
		assert_int_equal(p->r8k[i], 0);
	ch_pcm_free(p);
	free_blob(&b);
}

static void test_wav_44k_stereo_mixdown(void **state)
{
	struct blob b;
	struct ch_pcm *p = NULL;
	const char *why;

	write_tone(&b, "s.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, 1.0,
	           440, 1000);
	assert_int_equal(ch_audio_decode(b.buf, b.len, 60, &p, &why), 0);
	assert_int_equal(p->frames, 50);
	/* Each channel's tone at half its level (-6 dB) in the mono mix. */
	check_tone_at(p, 8000, 440, 20 * log10(AMP / 2), 1.0);
	check_tone_at(p, 16000, 1000, 20 * log10(AMP / 2), 1.0);
	check_tone_at(p, 48000, 440, 20 * log10(AMP / 2), 1.0);
	check_tone_at(p, 48000, 1000, 20 * log10(AMP / 2), 1.0);
	ch_pcm_free(p);
	free_blob(&b);
}

static void test_flac(void **state)
{
	struct blob b;

	write_tone(&b, "a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1,
	           1.5, 440, 0);
	ch_pcm_free(decode_check(&b, 1.5, 440, 1));
	free_blob(&b);
}

static void test_ogg_vorbis(void **state)
{
	struct blob b;

	write_tone(&b, "a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 2, 1.5,
	           440, 440);
	ch_pcm_free(decode_check(&b, 1.5, 440, 1));
	free_blob(&b);
}

static void test_ogg_opus(void **state)
{
	struct blob b;

	write_tone(&b, "a.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1, 1.5,
	           440, 0);
	ch_pcm_free(decode_check(&b, 1.5, 440, 1));
	free_blob(&b);
}

static void test_mp3(void **state)
{
	struct blob b;

	write_tone(&b, "a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III,
	           44100, 1, 1.5, 440, 0);
	ch_pcm_free(decode_check(&b, 1.5, 440, 1));
	free_blob(&b);
}

static void test_max_seconds(void **state)
{
	struct blob b;
	struct ch_pcm *p = NULL;
	const char *why;

	write_tone(&b, "long.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1,
	           3.0, 440, 0);
	assert_int_equal(ch_audio_decode(b.buf, b.len, 1, &p, &why), 0);
	assert_int_equal(p->frames, 50);
	/* The tone runs to the cut: the last frame is not silence. */
	assert_true(ch_test_rms_db(ch_pcm_frame(p, 48000, 49), 960) > -10);
	ch_pcm_free(p);
	free_blob(&b);
}

static void expect_einval(const void *buf, size_t len)
{
	struct ch_pcm *p = (struct ch_pcm *)1;
	const char *why = NULL;

	assert_int_equal(ch_audio_decode(buf, len, 60, &p, &why), EINVAL);
	assert_null(p);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
}

static void test_garbage(void **state)
{
	unsigned char junk[4096];
	unsigned seed = 12345;

	for (size_t i = 0; i < sizeof(junk); i++) {
		seed = seed * 1103515245u + 12345u;
		junk[i] = (unsigned char)(seed >> 16);
	}
	expect_einval(junk, sizeof(junk));
	expect_einval(junk, 0);
	expect_einval(NULL, 10);
	/* Garbage behind each accepted magic. */
	memcpy(junk, "RIFF\x10\0\0\0WAVE", 12);
	expect_einval(junk, sizeof(junk));
	memcpy(junk, "fLaC", 4);
	expect_einval(junk, sizeof(junk));
	memcpy(junk, "OggS", 4);
	expect_einval(junk, sizeof(junk));
	memcpy(junk, "ID3\x03\0\0\0\0\0\x10", 10);
	expect_einval(junk, sizeof(junk));
}

static void test_truncated_headers(void **state)
{
	static const int formats[] = {
	    SF_FORMAT_WAV | SF_FORMAT_PCM_16, SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
	    SF_FORMAT_OGG | SF_FORMAT_VORBIS, SF_FORMAT_OGG | SF_FORMAT_OPUS,
	    SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
	static const size_t cuts[] = {4, 11, 20, 36, 43};
	struct blob b;

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		write_tone(&b, "t.bin", formats[i], 48000, 1, 0.5, 440, 0);
		for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++)
			expect_einval(b.buf, cuts[k]);
		free_blob(&b);
	}
	/* A WAV header whose data chunk claims more than there is. */
	write_tone(&b, "d.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0.5,
	           440, 0);
	expect_einval(b.buf, 44);
	free_blob(&b);
}

/* Offset just past the Ogg page at off. */
static size_t ogg_page_end(const struct blob *b, size_t off)
{
	size_t n = 27 + b->buf[off + 26];

	for (size_t i = 0; i < b->buf[off + 26]; i++)
		n += b->buf[off + 27 + i];
	return off + n;
}

/* Vorbis headers cut short or corrupt: refused before libsndfile (which
 * leaks on them; ASan's leak check in build-asan catches a regression). */
static void test_ogg_vorbis_broken_headers(void **state)
{
	struct blob b;
	size_t p1, p2;

	write_tone(&b, "h.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 8000, 1, 0.5,
	           440, 0);
	p1 = ogg_page_end(&b, 0);
	assert_memory_equal(b.buf + p1, "OggS", 4);
	p2 = ogg_page_end(&b, p1);
	assert_true(p2 < b.len);
	expect_einval(b.buf, p1);
	expect_einval(b.buf, p1 + 30);
	expect_einval(b.buf, p2 - 1);
	/* One byte changed in the comment/setup page: its CRC fails. */
	b.buf[p1 + 40] ^= 0x55;
	expect_einval(b.buf, b.len);
	b.buf[p1 + 40] ^= 0x55;
	/* Junk before the first page, which libogg would skip. */
	{
		unsigned char *j = malloc(b.len + 7);

		assert_non_null(j);
		memcpy(j, "OggS\0\x02\0", 7);
		memcpy(j + 7, b.buf, b.len);
		expect_einval(j, b.len + 7);
		free(j);
	}
	/* A bad block size in the identification header. */
	b.buf[28 + 28] = 0x55;
	expect_einval(b.buf, b.len);
	free_blob(&b);
}

static void test_header_fields(void **state)
{
	struct blob b;

	/* 9 channels, a rate below 8 kHz: both refused. */
	write_tone(&b, "c9.wav", SF_FORMAT_WAVEX | SF_FORMAT_PCM_16, 8000, 9,
	           0.2, 440, 440);
	expect_einval(b.buf, b.len);
	free_blob(&b);
	write_tone(&b, "r4k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 4000, 1,
	           0.2, 440, 0);
	expect_einval(b.buf, b.len);
	free_blob(&b);
	/* A format we do not play, even though libsndfile reads it. */
	write_tone(&b, "a.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 8000, 1,
	           0.2, 440, 0);
	expect_einval(b.buf, b.len);
	free_blob(&b);
}

static int setup(void **state)
{
	ch_test_tmpdir(dir, "chorus-decode");
	return 0;
}

static int teardown(void **state)
{
	ch_test_rmtree(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wav_8k_mono),
	    cmocka_unit_test(test_wav_44k_stereo_mixdown),
	    cmocka_unit_test(test_flac),
	    cmocka_unit_test(test_ogg_vorbis),
	    cmocka_unit_test(test_ogg_opus),
	    cmocka_unit_test(test_mp3),
	    cmocka_unit_test(test_max_seconds),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_truncated_headers),
	    cmocka_unit_test(test_ogg_vorbis_broken_headers),
	    cmocka_unit_test(test_header_fields),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
