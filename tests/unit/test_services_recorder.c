/*
 * test_services_recorder.c: the recorder service end to end below the
 * engine: the test writes tap records as a media worker would (legs with
 * tones of 400, 700 and 1100 Hz, each present part of the time), names the
 * legs, finishes, and reads the file back with libsndfile: tones by
 * Goertzel analysis per channel (mix has all, a participant's channel its
 * own and the others >= 30 dB below, silence while absent), the channel
 * map, exact durations; WAV, FLAC and Ogg; 8 and 48 kHz; seq gaps; a rate
 * change; the mix alone; FLAC's 8 channel cap; recovery after a free
 * without finish, after a kill -9 of a recording process, and of a file
 * whose parts are gone; removal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sndfile.h>

#include "media/tap.h"
#include "re_loop.h"
#include "services/recorder.h"
#include "tmpdir.h"
#include "util/timefmt.h"
#include "util/uuid.h"

#define MAX_LEGS 12
#define AMP      6000.0

/* A leg of the test: a tone present in ticks [from, to). */
struct tleg {
	uint32_t leg;
	double hz;
	unsigned from, to;
};

static const struct tleg three[] = {
    {11, 400, 0, 100},
    {22, 700, 25, 150},
    {33, 1100, 50, 125},
};

/* What the done handler saw (strings copied). */
static struct done {
	int calls;
	struct ch_recorder_result r;
	char channels[8192];
	char path[4096];
} done;

static void done_h(void *arg, const struct ch_recorder_result *r)
{
	(void)arg;
	done.calls++;
	done.r = *r;
	snprintf(done.channels, sizeof(done.channels), "%s", r->channels);
	snprintf(done.path, sizeof(done.path), "%s", r->path);
	done.r.channels = done.channels;
	done.r.path = done.path;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Writes tick `tick` of legs into tap at rate, as a worker does. */
static bool produce_tick(struct ch_media_tap *tap, uint32_t rate,
                         const struct tleg *legs, unsigned nlegs, unsigned tick)
{
	static int16_t mix[960], pcm[MAX_LEGS][960];
	size_t frame = rate / 50;
	unsigned nt = 0;
	uint32_t ids[MAX_LEGS];

	memset(mix, 0, sizeof(mix));
	for (unsigned l = 0; l < nlegs; l++) {
		if (tick < legs[l].from || tick >= legs[l].to)
			continue;
		for (size_t i = 0; i < frame; i++) {
			double t = (double)(tick * frame + i) / rate;
			pcm[nt][i] = (int16_t)lrint(
			    AMP * sin(2 * M_PI * legs[l].hz * t));
			mix[i] = (int16_t)(mix[i] + pcm[nt][i] / 2);
		}
		ids[nt++] = legs[l].leg;
	}
	if (!tap->tracks)
		nt = 0;
	struct ch_media_tap_hdr h = {.seq = tap->seq,
	                             .rate = rate,
	                             .frame = (uint16_t)frame,
	                             .ntracks = (uint16_t)nt};
	size_t bytes = ch_media_tap_record_size(frame, nt);
	h.len = (uint32_t)bytes;
	if (!ch_media_tap_begin(tap, bytes))
		return false;
	ch_media_tap_write(tap, &h, sizeof(h));
	ch_media_tap_write(tap, mix, frame * sizeof(int16_t));
	for (unsigned t = 0; t < nt; t++) {
		struct ch_media_tap_track tr = {.leg = ids[t]};
		ch_media_tap_write(tap, &tr, sizeof(tr));
		ch_media_tap_write(tap, pcm[t], frame * sizeof(int16_t));
	}
	ch_media_tap_commit(tap);
	return true;
}

/* Ticks [from, to) at rate, paced so the ring never fills. */
static void produce(struct ch_media_tap *tap, uint32_t rate,
                    const struct tleg *legs, unsigned nlegs, unsigned from,
                    unsigned to)
{
	for (unsigned t = from; t < to; t++) {
		assert_true(produce_tick(tap, rate, legs, nlegs, t));
		if (t % 20 == 19)
			sleep_ms(10);
	}
}

/* Runs the loop until the done handler has run (at most 10 s). */
static void wait_done(void)
{
	for (int i = 0; i < 200 && !done.calls; i++)
		ch_test_run_ms(50);
	assert_int_equal(done.calls, 1);
}

/* A file read back: interleaved samples. */
struct audio {
	SF_INFO info;
	int16_t *x;
	char comment[8192];
};

static void audio_read(const char *path, struct audio *a)
{
	memset(a, 0, sizeof(*a));
	SNDFILE *f = sf_open(path, SFM_READ, &a->info);
	assert_non_null(f);
	assert_true(a->info.frames > 0);
	a->x =
	    calloc((size_t)a->info.frames * a->info.channels, sizeof(int16_t));
	assert_non_null(a->x);
	assert_int_equal(sf_readf_short(f, a->x, a->info.frames),
	                 a->info.frames);
	const char *c = sf_get_string(f, SF_STR_COMMENT);
	snprintf(a->comment, sizeof(a->comment), "%s", c ? c : "");
	sf_close(f);
}

/* Goertzel power (dB) of hz in channel ch over ticks [t0, t1). */
static double tone_db(const struct audio *a, unsigned ch, double hz,
                      unsigned t0, unsigned t1)
{
	size_t frame = (size_t)a->info.samplerate / 50;
	size_t s0 = t0 * frame, n = (t1 - t0) * frame;
	double w = 2 * M_PI * hz / a->info.samplerate, c = 2 * cos(w);
	double s1 = 0, s2 = 0;

	assert_true(s0 + n <= (size_t)a->info.frames);
	for (size_t i = 0; i < n; i++) {
		double s = a->x[(s0 + i) * a->info.channels + ch] + c * s1 - s2;
		s2 = s1;
		s1 = s;
	}
	double p = (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
	return 10 * log10(p + 1e-9);
}

/* RMS (dB of full scale 1) of channel ch over ticks [t0, t1). */
static double rms_db(const struct audio *a, unsigned ch, unsigned t0,
                     unsigned t1)
{
	size_t frame = (size_t)a->info.samplerate / 50;
	double acc = 0;
	size_t n = (t1 - t0) * frame;
	for (size_t i = t0 * frame; i < t1 * frame; i++) {
		double v = a->x[i * a->info.channels + ch];
		acc += v * v;
	}
	return 10 * log10(acc / n + 1e-9);
}

static json_t *map_load(const char *text, size_t want)
{
	json_t *m = json_loads(text, 0, NULL);
	assert_true(json_is_array(m));
	assert_int_equal(json_array_size(m), want);
	return m;
}

/* Entry i of the map is channel i + 1 of leg l of legs (named as
 * name_legs does), or the mix for i == 0. */
static void map_check(json_t *m, size_t i, const struct tleg *l)
{
	json_t *e = json_array_get(m, i);
	assert_int_equal(json_integer_value(json_object_get(e, "index")),
	                 i + 1);
	const char *kind = json_string_value(json_object_get(e, "kind"));
	assert_non_null(kind);
	if (!l) {
		assert_string_equal(kind, "mix");
		return;
	}
	char cc[64], caller[64];
	snprintf(cc, sizeof(cc), "cc-%u", (unsigned)l->leg);
	snprintf(caller, sizeof(caller), "caller%u", (unsigned)l->leg);
	assert_string_equal(kind, "participant");
	assert_string_equal(
	    json_string_value(json_object_get(e, "conferencecall_id")), cc);
	assert_string_equal(json_string_value(json_object_get(e, "caller_id")),
	                    caller);
}

static void name_leg(struct ch_recorder *rec, const char *id,
                     const struct tleg *l)
{
	char cc[64], caller[64];
	snprintf(cc, sizeof(cc), "cc-%u", (unsigned)l->leg);
	snprintf(caller, sizeof(caller), "caller%u", (unsigned)l->leg);
	ch_recorder_track(rec, id, l->leg, cc, caller);
}

struct fixture {
	char dir[CH_TEST_DIR_MAX];
	char id[CH_UUID_LEN];
	struct ch_recorder *rec;
	struct ch_media_tap *tap;
};

static void fx_start(struct fixture *fx, enum ch_rec_format fmt, bool tracks)
{
	memset(&done, 0, sizeof(done));
	ch_test_tmpdir(fx->dir, "rec");
	ch_uuid_new(fx->id);
	assert_int_equal(ch_recorder_alloc(&fx->rec, fx->dir, done_h, NULL), 0);
	assert_int_equal(
	    ch_recorder_start(fx->rec, fx->id, fmt, tracks, &fx->tap), 0);
	assert_non_null(fx->tap);
}

static void fx_finish(struct fixture *fx)
{
	ch_recorder_finish(fx->rec, fx->id);
	wait_done();
	assert_int_equal(done.r.err, 0);
	assert_string_equal(done.r.id, fx->id);
}

static void fx_end(struct fixture *fx)
{
	ch_recorder_free(fx->rec);
	ch_test_rmtree(fx->dir);
}

/* The three legs of `three`, named at the moments a room would: the first
 * before its audio, the second after its first audio, the third after. */
static void record_three(struct fixture *fx, uint32_t rate)
{
	name_leg(fx->rec, fx->id, &three[0]);
	produce(fx->tap, rate, three, 3, 0, 30);
	name_leg(fx->rec, fx->id, &three[1]);
	produce(fx->tap, rate, three, 3, 30, 60);
	name_leg(fx->rec, fx->id, &three[2]);
	produce(fx->tap, rate, three, 3, 60, 150);
}

/* Each leg's channel: its tone while present, the others >= sep dB
 * below, silence while absent (when exact). */
static void check_three(const struct audio *a, double sep, bool exact)
{
	/* mix: all three in [50, 100) */
	for (unsigned l = 0; l < 3; l++)
		assert_true(tone_db(a, 0, three[l].hz, 55, 95) > 60);
	for (unsigned l = 0; l < 3; l++) {
		unsigned ch = l + 1, t0 = three[l].from + 3,
		         t1 = three[l].to - 3;
		double own = tone_db(a, ch, three[l].hz, t0, t1);
		assert_true(own > 60);
		for (unsigned o = 0; o < 3; o++) {
			if (o == l)
				continue;
			double other = tone_db(a, ch, three[o].hz, t0, t1);
			if (other > own - sep)
				fail_msg("channel %u: %.0f Hz at %.1f dB, own "
				         "%.1f dB",
				         ch, three[o].hz, other, own);
		}
		if (three[l].from >= 5)
			assert_true(rms_db(a, ch, 0, three[l].from - 3) <
			            (exact ? -80 : 20));
		if (three[l].to <= 145)
			assert_true(rms_db(a, ch, three[l].to + 3, 150) <
			            (exact ? -80 : 20));
	}
}

static void check_three_map(const char *text)
{
	json_t *m = map_load(text, 4);
	map_check(m, 0, NULL);
	for (unsigned l = 0; l < 3; l++)
		map_check(m, l + 1, &three[l]);
	json_decref(m);
}

/* A lossless recording of the three legs at rate in format fmt. */
static void lossless_three(enum ch_rec_format fmt, uint32_t rate, int major)
{
	struct fixture fx;
	struct audio a;

	fx_start(&fx, fmt, true);
	record_three(&fx, rate);
	fx_finish(&fx);
	assert_int_equal(done.r.duration_ms, 150 * 20);
	assert_int_equal(done.r.rate, rate);
	assert_int_equal(done.r.nchannels, 4);
	assert_int_equal(done.r.dropped, 0);
	check_three_map(done.r.channels);

	char path[4096];
	ch_recorder_path(fx.dir, fx.id, fmt, path, sizeof(path));
	assert_string_equal(done.r.path, path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, done.r.size);
	audio_read(path, &a);
	assert_int_equal(a.info.format & SF_FORMAT_TYPEMASK, major);
	assert_int_equal(a.info.format & SF_FORMAT_SUBMASK, SF_FORMAT_PCM_16);
	assert_int_equal(a.info.samplerate, rate);
	assert_int_equal(a.info.channels, 4);
	assert_int_equal(a.info.frames, 150 * rate / 50);
	check_three(&a, 30, true);
	check_three_map(a.comment);
	if (major == SF_FORMAT_WAVEX) {
		/* more than 2 channels: WAVE_FORMAT_EXTENSIBLE */
		unsigned char hdr[24];
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		assert_int_equal(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
		fclose(f);
		assert_memory_equal(hdr + 12, "fmt ", 4);
		assert_int_equal(hdr[20] | hdr[21] << 8, 0xFFFE);
	}
	/* the parts are gone once the file is in place */
	snprintf(path, sizeof(path), "%s/%s.parts", fx.dir, fx.id);
	assert_int_not_equal(access(path, F_OK), 0);
	free(a.x);
	fx_end(&fx);
}

static void test_wav_8k(void **state)
{
	(void)state;
	lossless_three(CH_REC_WAV, 8000, SF_FORMAT_WAVEX);
}

static void test_wav_48k(void **state)
{
	(void)state;
	lossless_three(CH_REC_WAV, 48000, SF_FORMAT_WAVEX);
}

static void test_flac_8k(void **state)
{
	(void)state;
	lossless_three(CH_REC_FLAC, 8000, SF_FORMAT_FLAC);
}

static void test_flac_48k(void **state)
{
	(void)state;
	lossless_three(CH_REC_FLAC, 48000, SF_FORMAT_FLAC);
}

/* Ogg (Opus): duration within 1 %, each tone in its channel. */
static void ogg_legs(uint32_t rate, const struct tleg *legs, unsigned n,
                     unsigned want_ch)
{
	struct fixture fx;
	struct audio a;

	fx_start(&fx, CH_REC_OGG, true);
	for (unsigned l = 0; l < n; l++)
		name_leg(fx.rec, fx.id, &legs[l]);
	produce(fx.tap, rate, legs, n, 0, 150);
	fx_finish(&fx);
	assert_int_equal(done.r.duration_ms, 3000);
	assert_int_equal(done.r.nchannels, want_ch);
	json_t *m = map_load(done.r.channels, n + 1);
	for (unsigned l = 0; l < n; l++)
		map_check(m, l + 1, &legs[l]);
	json_decref(m);

	audio_read(done.r.path, &a);
	assert_int_equal(a.info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_OGG);
	assert_int_equal(a.info.samplerate, rate);
	assert_int_equal(a.info.channels, want_ch);
	double dur = (double)a.info.frames / rate;
	assert_true(fabs(dur - 3.0) <= 0.03);
	for (unsigned l = 0; l < n; l++) {
		unsigned t0 = legs[l].from + 5, t1 = legs[l].to - 5;
		if (t1 * (rate / 50) > (unsigned)a.info.frames)
			t1 = (unsigned)(a.info.frames / (rate / 50));
		assert_true(tone_db(&a, 0, legs[l].hz, t0, t1) > 50);
		double own = tone_db(&a, l + 1, legs[l].hz, t0, t1);
		if (own < 55)
			fail_msg("channel %u: own tone at %.1f dB", l + 2, own);
		for (unsigned o = 0; o < n; o++)
			if (o != l &&
			    tone_db(&a, l + 1, legs[o].hz, t0, t1) > own - 20)
				fail_msg("channel %u: %.0f Hz too loud", l + 2,
				         legs[o].hz);
	}
	free(a.x);
	fx_end(&fx);
}

static void test_ogg_8k(void **state)
{
	(void)state;
	ogg_legs(8000, three, 3, 4);
}

static void test_ogg_48k(void **state)
{
	(void)state;
	ogg_legs(48000, three, 3, 4);
}

/* Five participants: six channels, which Ogg Opus would lay out as 5.1
 * with a low-pass LFE channel: the file gets nine, every tone kept. */
static void test_ogg_six_channels(void **state)
{
	static const struct tleg five[] = {
	    {1, 400, 0, 150},  {2, 700, 0, 150},  {3, 1100, 0, 150},
	    {4, 1500, 0, 150}, {5, 1900, 0, 150},
	};
	(void)state;
	ogg_legs(16000, five, 5, 9);
}

/* Ticks the worker dropped are silence, counted, and keep the length. */
static void test_seq_gaps(void **state)
{
	static const struct tleg one[] = {{7, 700, 0, 200}};
	struct fixture fx;
	struct audio a;

	(void)state;
	fx_start(&fx, CH_REC_WAV, true);
	name_leg(fx.rec, fx.id, &one[0]);
	produce(fx.tap, 8000, one, 1, 0, 40);
	for (unsigned t = 40; t < 50; t++)
		ch_media_tap_skip(fx.tap, 1);
	produce(fx.tap, 8000, one, 1, 50, 100);
	/* and a tick the ring could not take */
	size_t big = fx.tap->cap + 8;
	assert_false(ch_media_tap_begin(fx.tap, big));
	produce(fx.tap, 8000, one, 1, 101, 110);
	/* and two at the end, after the last record */
	assert_false(ch_media_tap_begin(fx.tap, big));
	ch_media_tap_skip(fx.tap, 1);
	fx_finish(&fx);
	assert_int_equal(done.r.dropped, 13);
	assert_int_equal(done.r.duration_ms, 112 * 20);
	audio_read(done.r.path, &a);
	assert_int_equal(a.info.frames, 112 * 160);
	assert_true(rms_db(&a, 1, 110, 112) < -80);
	assert_true(tone_db(&a, 1, 700, 0, 40) > 60);
	assert_true(rms_db(&a, 0, 40, 50) < -80);
	assert_true(rms_db(&a, 1, 40, 50) < -80);
	assert_true(rms_db(&a, 1, 100, 101) < -80);
	/* after the gap the tone is where wall time puts it: in phase */
	assert_true(tone_db(&a, 1, 700, 50, 100) > 60);
	assert_true(tone_db(&a, 1, 700, 101, 110) > 60);
	free(a.x);
	fx_end(&fx);
}

/* A room going from 8 to 16 kHz mid-recording: resampled to 8 kHz. */
static void test_rate_change(void **state)
{
	static const struct tleg all[] = {
	    {11, 400, 0, 150}, {22, 700, 0, 150}, {33, 1100, 0, 150}};
	struct fixture fx;
	struct audio a;

	(void)state;
	fx_start(&fx, CH_REC_WAV, true);
	for (unsigned l = 0; l < 3; l++)
		name_leg(fx.rec, fx.id, &all[l]);
	produce(fx.tap, 8000, all, 3, 0, 75);
	produce(fx.tap, 16000, all, 3, 75, 150);
	fx_finish(&fx);
	assert_int_equal(done.r.rate, 8000);
	assert_int_equal(done.r.duration_ms, 3000);
	audio_read(done.r.path, &a);
	assert_int_equal(a.info.samplerate, 8000);
	assert_int_equal(a.info.frames, 150 * 160);
	for (unsigned l = 0; l < 3; l++) {
		double before = tone_db(&a, l + 1, all[l].hz, 10, 70);
		double after = tone_db(&a, l + 1, all[l].hz, 85, 145);
		assert_true(before > 60);
		assert_true(fabs(after - before) < 3);
		assert_true(tone_db(&a, 0, all[l].hz, 85, 145) > 55);
		for (unsigned o = 0; o < 3; o++)
			if (o != l)
				assert_true(tone_db(&a, l + 1, all[o].hz, 85,
				                    145) < after - 30);
	}
	free(a.x);
	fx_end(&fx);
}

/* tracks = false: the mix alone, one channel. */
static void test_mix_only(void **state)
{
	struct fixture fx;
	struct audio a;

	(void)state;
	fx_start(&fx, CH_REC_WAV, false);
	record_three(&fx, 8000);
	fx_finish(&fx);
	assert_int_equal(done.r.nchannels, 1);
	json_t *m = map_load(done.r.channels, 1);
	map_check(m, 0, NULL);
	json_decref(m);
	audio_read(done.r.path, &a);
	assert_int_equal(a.info.format & SF_FORMAT_TYPEMASK, SF_FORMAT_WAV);
	assert_int_equal(a.info.channels, 1);
	assert_int_equal(a.info.frames, 150 * 160);
	for (unsigned l = 0; l < 3; l++)
		assert_true(tone_db(&a, 0, three[l].hz, 55, 95) > 60);
	free(a.x);
	fx_end(&fx);
}

/* FLAC with ten participants: eight channels; the last three only in
 * the mix and absent from the map. */
static void test_flac_ten(void **state)
{
	struct tleg ten[10];
	struct fixture fx;
	struct audio a;

	(void)state;
	for (unsigned l = 0; l < 10; l++)
		ten[l] = (struct tleg){100 + l, 300 + 300 * l, 0, 100};
	fx_start(&fx, CH_REC_FLAC, true);
	for (unsigned l = 0; l < 10; l++)
		name_leg(fx.rec, fx.id, &ten[l]);
	produce(fx.tap, 8000, ten, 10, 0, 100);
	fx_finish(&fx);
	assert_int_equal(done.r.nchannels, 8);
	json_t *m = map_load(done.r.channels, 8);
	for (unsigned l = 0; l < 7; l++)
		map_check(m, l + 1, &ten[l]);
	json_decref(m);
	audio_read(done.r.path, &a);
	assert_int_equal(a.info.channels, 8);
	for (unsigned l = 0; l < 7; l++)
		assert_true(tone_db(&a, l + 1, ten[l].hz, 5, 95) > 60);
	for (unsigned l = 0; l < 10; l++)
		assert_true(tone_db(&a, 0, ten[l].hz, 5, 95) > 55);
	free(a.x);
	fx_end(&fx);
}

/* A recorder freed without finishing (as at a crash) leaves parts that
 * ch_recorder_recover turns into the file; then the file alone is
 * reported; then removed. */
static void test_recover_after_free(void **state)
{
	struct fixture fx;
	struct audio a;
	struct ch_recorder_result r;
	char path[4096];

	(void)state;
	fx_start(&fx, CH_REC_FLAC, true);
	record_three(&fx, 8000);
	sleep_ms(300);
	ch_recorder_free(fx.rec);
	fx.rec = NULL;
	assert_int_equal(done.calls, 0);

	/* the state a kill leaves: part files of unequal lengths */
	ch_recorder_path(fx.dir, fx.id, CH_REC_FLAC, path, sizeof(path));
	assert_int_not_equal(access(path, F_OK), 0);
	char part[4400];
	snprintf(part, sizeof(part), "%s/%s.parts/ch3.raw", fx.dir, fx.id);
	struct stat st;
	assert_int_equal(stat(part, &st), 0);
	assert_true(st.st_size > 50 * 160 * 2);
	assert_int_equal(truncate(part, st.st_size - 50 * 160 * 2), 0);
	snprintf(part, sizeof(part), "%s/%s.parts/ch2.raw", fx.dir, fx.id);
	FILE *f = fopen(part, "ab");
	assert_non_null(f);
	for (int i = 0; i < 500; i++)
		fputc(0x55, f);
	fclose(f);

	assert_int_equal(ch_recorder_recover(fx.dir, fx.id, CH_REC_FLAC, &r),
	                 0);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.duration_ms, 3000);
	assert_int_equal(r.nchannels, 4);
	check_three_map(r.channels);
	assert_string_equal(r.path, path);
	audio_read(path, &a);
	assert_int_equal(a.info.frames, 150 * 160);
	/* channel 3 (leg 22, 25..150) cut 50 ticks short: silence after */
	assert_true(tone_db(&a, 2, 700, 30, 95) > 60);
	assert_true(rms_db(&a, 2, 101, 150) < -80);
	assert_true(tone_db(&a, 1, 400, 5, 95) > 60);
	free(a.x);

	/* parts gone, file there: reported as it is */
	memset(&r, 0, sizeof(r));
	assert_int_equal(ch_recorder_recover(fx.dir, fx.id, CH_REC_FLAC, &r),
	                 0);
	assert_int_equal(r.duration_ms, 3000);
	assert_int_equal(r.nchannels, 4);
	check_three_map(r.channels);

	assert_int_equal(ch_recorder_remove(fx.dir, fx.id, CH_REC_FLAC), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(ch_recorder_remove(fx.dir, fx.id, CH_REC_FLAC),
	                 ENOENT);
	assert_int_equal(ch_recorder_recover(fx.dir, fx.id, CH_REC_FLAC, &r),
	                 ENOENT);
	fx_end(&fx);
}

/* Writes ticks [from, to) of a tone as raw s16le into path. */
static void raw_tone(const char *path, double hz, unsigned from, unsigned to)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (unsigned i = 0; i < to * 160; i++) {
		int16_t v =
		    i < from * 160
		        ? 0
		        : (int16_t)lrint(AMP * sin(2 * M_PI * hz * i / 8000.0));
		assert_int_equal(fwrite(&v, sizeof(v), 1, f), 1);
	}
	fclose(f);
}

/* Parts without an index (a crash right after the folder was made) and a
 * half-written final file (a crash during assembly): the part files
 * present make the channels, the final file is written anew. */
static void test_recover_no_index(void **state)
{
	char dir[CH_TEST_DIR_MAX], id[CH_UUID_LEN], path[4400];
	struct ch_recorder_result r;
	struct audio a;

	(void)state;
	ch_test_tmpdir(dir, "recnoix");
	ch_uuid_new(id);
	snprintf(path, sizeof(path), "%s/%s.parts", dir, id);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s.parts/ch1.raw", dir, id);
	raw_tone(path, 400, 0, 100);
	snprintf(path, sizeof(path), "%s/%s.parts/ch2.raw", dir, id);
	raw_tone(path, 700, 0, 60);
	snprintf(path, sizeof(path), "%s/%s.wav.tmp", dir, id);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs("RIFF garbage", f);
	fclose(f);

	assert_int_equal(ch_recorder_recover(dir, id, CH_REC_WAV, &r), 0);
	assert_int_equal(r.duration_ms, 2000);
	assert_int_equal(r.rate, 8000);
	assert_int_equal(r.nchannels, 2);
	json_t *m = map_load(r.channels, 2);
	map_check(m, 0, NULL);
	json_decref(m);
	assert_int_not_equal(access(path, F_OK), 0);
	audio_read(r.path, &a);
	assert_int_equal(a.info.frames, 100 * 160);
	assert_true(tone_db(&a, 0, 400, 0, 100) > 60);
	assert_true(tone_db(&a, 1, 700, 0, 60) > 60);
	assert_true(rms_db(&a, 1, 60, 100) < -80);
	free(a.x);
	ch_test_rmtree(dir);
}

/* kill -9 of a process that records in real time: the recovered file
 * holds the audio up to the kill, less at most 200 ms. */
static void test_recover_after_kill(void **state)
{
	static const struct tleg all[] = {
	    {11, 400, 0, 100000}, {22, 700, 0, 100000}, {33, 1100, 0, 100000}};
	char dir[CH_TEST_DIR_MAX], id[CH_UUID_LEN];
	_Atomic unsigned *ticks = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(ticks != MAP_FAILED);
	atomic_store(ticks, 0);
	ch_test_tmpdir(dir, "reckill");
	ch_uuid_new(id);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ch_recorder *rec;
		struct ch_media_tap *tap;
		if (ch_recorder_alloc(&rec, dir, NULL, NULL) ||
		    ch_recorder_start(rec, id, CH_REC_WAV, true, &tap))
			_exit(1);
		for (unsigned l = 0; l < 3; l++)
			name_leg(rec, id, &all[l]);
		for (unsigned t = 0;; t++) {
			if (!produce_tick(tap, 8000, all, 3, t))
				_exit(2);
			atomic_store(ticks, t + 1);
			sleep_ms(20);
		}
	}
	sleep_ms(1500);
	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	unsigned n = atomic_load(ticks);
	assert_true(n > 20);

	struct ch_recorder_result r;
	assert_int_equal(ch_recorder_recover(dir, id, CH_REC_WAV, &r), 0);
	assert_true(r.duration_ms <= (uint64_t)n * 20);
	if (r.duration_ms + 200 < (uint64_t)n * 20)
		fail_msg("recovered %llu ms of %u ms",
		         (unsigned long long)r.duration_ms, n * 20);
	assert_int_equal(r.nchannels, 4);
	json_t *m = map_load(r.channels, 4);
	for (unsigned l = 0; l < 3; l++)
		map_check(m, l + 1, &all[l]);
	json_decref(m);
	struct audio a;
	audio_read(r.path, &a);
	unsigned got = (unsigned)(a.info.frames / 160);
	for (unsigned l = 0; l < 3; l++) {
		assert_true(tone_db(&a, l + 1, all[l].hz, 0, got) > 60);
		for (unsigned o = 0; o < 3; o++)
			if (o != l)
				assert_true(tone_db(&a, l + 1, all[o].hz, 0,
				                    got) < -10);
	}
	free(a.x);
	munmap((void *)ticks, 4096);
	ch_test_rmtree(dir);
}

/* A full disk (a file size limit here) stops the part files where they
 * are: when space comes back, later audio does not land early in them. */
static void test_disk_full(void **state)
{
	static const struct tleg two[] = {{11, 400, 0, 150},
	                                  {22, 700, 150, 200}};
	struct fixture fx;
	struct audio a;
	struct rlimit old, lim;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	fx_start(&fx, CH_REC_WAV, true);
	name_leg(fx.rec, fx.id, &two[0]);
	name_leg(fx.rec, fx.id, &two[1]);
	ch_test_run_ms(50);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 100 * 160 * 2;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	produce(fx.tap, 8000, two, 2, 0, 150);
	sleep_ms(400);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	produce(fx.tap, 8000, two, 2, 150, 200);
	fx_finish(&fx);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(done.r.duration_ms, 100 * 20);
	audio_read(done.r.path, &a);
	assert_int_equal(a.info.frames, 100 * 160);
	assert_true(tone_db(&a, 0, 400, 0, 100) > 60);
	assert_true(tone_db(&a, 1, 400, 0, 100) > 60);
	assert_true(tone_db(&a, 0, 700, 0, 100) < -10);
	assert_true(tone_db(&a, 1, 700, 0, 100) < -10);
	free(a.x);
	fx_end(&fx);
}

/* Ticks [from, to) as fast as the ring takes them. */
static void produce_fast(struct ch_media_tap *tap, uint32_t rate,
                         const struct tleg *legs, unsigned nlegs, unsigned from,
                         unsigned to)
{
	size_t rec = ch_media_tap_record_size(rate / 50, nlegs);
	for (unsigned t = from; t < to; t++) {
		while (tap->cap -
		           (atomic_load(&tap->head) - atomic_load(&tap->tail)) <
		       rec)
			sleep_ms(1);
		assert_true(produce_tick(tap, rate, legs, nlegs, t));
	}
}

/* While a long recording is assembled, another one keeps being drained.
 * The test's worker writes ticks at 25 times real time into it (2 MiB of
 * ring then lasts about 200 ms instead of 5 s, as if the assembly took 25
 * times longer) and none may be lost. */
static void test_assembly_keeps_others(void **state)
{
	static const struct tleg all[] = {
	    {11, 400, 0, 100000}, {22, 700, 0, 100000}, {33, 1100, 0, 100000}};
	struct fixture fx;
	struct ch_media_tap *tap2;
	char id2[CH_UUID_LEN];

	(void)state;
	fx_start(&fx, CH_REC_FLAC, true);
	produce_fast(fx.tap, 48000, all, 3, 0, 6000);
	ch_uuid_new(id2);
	assert_int_equal(
	    ch_recorder_start(fx.rec, id2, CH_REC_WAV, true, &tap2), 0);
	ch_test_run_ms(50);
	ch_recorder_finish(fx.rec, fx.id);
	uint64_t t0 = ch_time_mono_ms();
	struct timespec ts = {0, 800000};
	unsigned t;
	for (t = 0; !done.calls && t < 100000; t++) {
		produce_tick(tap2, 48000, all, 3, t);
		nanosleep(&ts, NULL);
		if (t % 64 == 0)
			ch_test_run_ms(1);
	}
	uint64_t took = ch_time_mono_ms() - t0;
	assert_int_equal(done.calls, 1);
	assert_int_equal(done.r.err, 0);
	assert_int_equal(done.r.duration_ms, 6000 * 20);
	memset(&done, 0, sizeof(done));
	ch_recorder_finish(fx.rec, id2);
	wait_done();
	assert_int_equal(done.r.err, 0);
	if (done.r.dropped)
		fail_msg(
		    "%llu of %u ticks dropped during an assembly of %llu ms",
		    (unsigned long long)done.r.dropped, t,
		    (unsigned long long)took);
	assert_int_equal(done.r.duration_ms, t * 20);
	print_message("assembly %llu ms, %u ticks meanwhile\n",
	              (unsigned long long)took, t);
	fx_end(&fx);
}

/* Removal of a recording in parts; the argument checks of start. */
static void test_remove_and_args(void **state)
{
	struct fixture fx;
	struct ch_media_tap *tap;
	enum ch_rec_format f;

	(void)state;
	fx_start(&fx, CH_REC_WAV, true);
	assert_int_equal(
	    ch_recorder_start(fx.rec, fx.id, CH_REC_WAV, true, &tap), EEXIST);
	/* a folder made with its parents; a file in the way */
	struct ch_recorder *r2;
	char deep[CH_TEST_DIR_MAX + 16];
	snprintf(deep, sizeof(deep), "%s/a/b", fx.dir);
	assert_int_equal(ch_recorder_alloc(&r2, deep, NULL, NULL), 0);
	ch_recorder_free(r2);
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(deep, sizeof(deep), "%s/a/f", fx.dir);
	FILE *fp = fopen(deep, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(ch_recorder_alloc(&r2, deep, NULL, NULL), ENOTDIR);
	assert_int_equal(
	    ch_recorder_start(fx.rec, "../x", CH_REC_WAV, true, &tap), EINVAL);
	produce(fx.tap, 8000, three, 3, 0, 20);
	sleep_ms(250);
	ch_recorder_free(fx.rec);
	fx.rec = NULL;
	char parts[4096];
	snprintf(parts, sizeof(parts), "%s/%s.parts", fx.dir, fx.id);
	assert_int_equal(access(parts, F_OK), 0);
	assert_int_equal(ch_recorder_remove(fx.dir, fx.id, CH_REC_WAV), 0);
	assert_int_not_equal(access(parts, F_OK), 0);

	assert_int_equal(ch_rec_format_parse("flac", &f), 0);
	assert_int_equal(f, CH_REC_FLAC);
	assert_int_equal(ch_rec_format_parse("mp3", &f), -1);
	assert_string_equal(ch_rec_format_str(CH_REC_OGG), "ogg");
	fx_end(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wav_8k),
	    cmocka_unit_test(test_wav_48k),
	    cmocka_unit_test(test_flac_8k),
	    cmocka_unit_test(test_flac_48k),
	    cmocka_unit_test(test_ogg_8k),
	    cmocka_unit_test(test_ogg_48k),
	    cmocka_unit_test(test_ogg_six_channels),
	    cmocka_unit_test(test_seq_gaps),
	    cmocka_unit_test(test_rate_change),
	    cmocka_unit_test(test_mix_only),
	    cmocka_unit_test(test_flac_ten),
	    cmocka_unit_test(test_recover_after_free),
	    cmocka_unit_test(test_recover_no_index),
	    cmocka_unit_test(test_recover_after_kill),
	    cmocka_unit_test(test_disk_full),
	    cmocka_unit_test(test_assembly_keeps_others),
	    cmocka_unit_test(test_remove_and_args),
	};
	return cmocka_run_group_tests(tests, ch_test_re_group_setup,
	                              ch_test_re_group_teardown);
}
