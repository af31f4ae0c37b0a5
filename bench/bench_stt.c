/*
 * bench_stt.c: speed and word accuracy of a speech-to-text engine
 * (services/stt.h) on recordings with known words.
 *
 * Usage: bench_stt [--fast] [--http URL] REFERENCES FILE...
 * --fast: pocketsphinx's narrower search (chorusd's stt-sphinx-search
 * fast, its default); without it, pocketsphinx's own defaults ("full").
 * REFERENCES is pocketsphinx-testdata's transcription format, one line
 * per recording: "<s> words </s> (name)" (the <s> marks are optional).
 * Each FILE (16 kHz mono WAV, or .raw: headerless 16 kHz 16-bit) is named
 * by its base name without extension. Each is fed to one decoder in 20 ms
 * chunks as the transcriber does; the program prints per file the words
 * heard, word errors (substitutions + deletions + insertions, by edit
 * distance), words right, and the decoder thread's CPU seconds per second
 * of audio; then the totals. First it prints the load time and the
 * resident memory added by each of two decoders.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sndfile.h>

#include "services/stt.h"

#define CHUNK     320
#define WORDS_MAX 256
#define LINE_MAX_ 4096

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

/* Lower-case words of text, without <s> and </s>, into w (in buf). */
static size_t split(char *buf, char *w[WORDS_MAX])
{
	size_t n = 0;
	char *save = NULL;

	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	for (char *t = strtok_r(buf, " \t\r\n", &save); t && n < WORDS_MAX;
	     t = strtok_r(NULL, " \t\r\n", &save))
		if (strcmp(t, "<s>") && strcmp(t, "</s>"))
			w[n++] = t;
	return n;
}

/* Word edit distance of hyp against ref; *right: ref words matched. */
static size_t errors(char **hyp, size_t nh, char **ref, size_t nr,
                     size_t *right)
{
	static size_t d[WORDS_MAX + 1][WORDS_MAX + 1];
	static size_t ok[WORDS_MAX + 1][WORDS_MAX + 1];

	for (size_t i = 0; i <= nh; i++)
		for (size_t j = 0; j <= nr; j++) {
			size_t best, okb;

			if (!i || !j) {
				d[i][j] = i + j;
				ok[i][j] = 0;
				continue;
			}
			int same = !strcmp(hyp[i - 1], ref[j - 1]);
			best = d[i - 1][j - 1] + !same;
			okb = ok[i - 1][j - 1] + (size_t)same;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1, okb = ok[i - 1][j];
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1, okb = ok[i][j - 1];
			d[i][j] = best;
			ok[i][j] = okb;
		}
	*right = ok[nh][nr];
	return d[nh][nr];
}

/* The reference line of name, copied into out. */
static int reference(const char *path, const char *name, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char line[LINE_MAX_], tag[260];
	int found = 0;

	snprintf(tag, sizeof(tag), "(%s)", name);
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, tag);

		if (p) {
			*p = '\0';
			snprintf(out, size, "%s", line);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static int16_t *load(const char *path, size_t *n)
{
	size_t len = strlen(path);
	int16_t *pcm = NULL;

	if (len > 4 && !strcmp(path + len - 4, ".raw")) {
		FILE *f = fopen(path, "rb");
		long bytes;

		if (!f)
			return NULL;
		fseek(f, 0, SEEK_END);
		bytes = ftell(f);
		fseek(f, 0, SEEK_SET);
		pcm = malloc((size_t)bytes);
		*n = pcm ? fread(pcm, 2, (size_t)bytes / 2, f) : 0;
		fclose(f);
		return pcm;
	}
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);

	if (!sf)
		return NULL;
	if (info.samplerate == CH_STT_RATE && info.channels == 1) {
		pcm = malloc((size_t)info.frames * 2);
		*n = pcm ? (size_t)sf_readf_short(sf, pcm, info.frames) : 0;
	}
	sf_close(sf);
	return pcm;
}

int main(int argc, char **argv)
{
	struct ch_stt_cfg cfg = {0};
	enum ch_stt_kind kind = CH_STT_SPHINX;
	struct ch_stt_engine *e = NULL;
	struct ch_stt *s = NULL;
	size_t tot_ref = 0, tot_err = 0, tot_ok = 0;
	double tot_audio = 0, tot_cpu = 0, t0;
	long rss0;
	int a = 1;

	if (argc > a && !strcmp(argv[a], "--fast")) {
		cfg.sphinx_fast = true;
		a++;
	}
	if (argc > a + 1 && !strcmp(argv[a], "--http")) {
		kind = CH_STT_HTTP;
		cfg.http_url = argv[a + 1];
		a += 2;
	}
	if (argc - a < 2) {
		fprintf(stderr,
		        "usage: %s [--fast] [--http URL] REFERENCES FILE...\n",
		        argv[0]);
		return 2;
	}
	if (ch_stt_engine_open(&e, kind, &cfg))
		return 1;
	/* two decoders, as two service threads would have: the second one
	 * shows what each one more costs */
	for (int k = 0; k < 2; k++) {
		struct ch_stt *d = NULL;

		rss0 = rss_kib();
		t0 = clock_s(CLOCK_MONOTONIC);
		if (ch_stt_new(&d, e, "en-US"))
			return 1;
		printf("decoder %d: loaded in %.2f s, +%ld KiB resident\n",
		       k + 1, clock_s(CLOCK_MONOTONIC) - t0, rss_kib() - rss0);
		if (k)
			ch_stt_free(d);
		else
			s = d;
	}
	for (int i = a + 1; i < argc; i++) {
		char name[256], ref[LINE_MAX_], hb[LINE_MAX_], *hw[WORDS_MAX],
		    *rw[WORDS_MAX], *text = NULL, *dot;
		size_t n = 0, nh, nr, err, ok;
		int16_t *pcm = load(argv[i], &n);
		double c0;

		snprintf(name, sizeof(name), "%s", basename(argv[i]));
		dot = strrchr(name, '.');
		if (dot)
			*dot = '\0';
		if (!pcm || !reference(argv[a], name, ref, sizeof(ref))) {
			fprintf(stderr,
			        "%s: no 16 kHz mono audio or no "
			        "reference\n",
			        argv[i]);
			return 1;
		}
		c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		ch_stt_start(s);
		for (size_t k = 0; k < n; k += CHUNK)
			ch_stt_feed(s, pcm + k, n - k < CHUNK ? n - k : CHUNK);
		if (ch_stt_finish(s, &text))
			return 1;
		c0 = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		printf("%s: \"%s\"\n", name, text);
		snprintf(hb, sizeof(hb), "%s", text);
		nh = split(hb, hw);
		nr = split(ref, rw);
		err = errors(hw, nh, rw, nr, &ok);
		printf("  %zu words, %zu errors, %zu right, %.2f s audio, "
		       "RTF %.2f\n",
		       nr, err, ok, (double)n / CH_STT_RATE,
		       c0 / ((double)n / CH_STT_RATE));
		tot_ref += nr;
		tot_err += err;
		tot_ok += ok;
		tot_audio += (double)n / CH_STT_RATE;
		tot_cpu += c0;
		free(text);
		free(pcm);
	}
	printf("total: %zu words, WER %.1f %%, words right %.1f %%, "
	       "%.1f s audio, RTF %.2f (CPU s per audio s)\n",
	       tot_ref, 100.0 * (double)tot_err / (double)tot_ref,
	       100.0 * (double)tot_ok / (double)tot_ref, tot_audio,
	       tot_cpu / tot_audio);
	ch_stt_free(s);
	ch_stt_engine_close(e);
	return 0;
}
