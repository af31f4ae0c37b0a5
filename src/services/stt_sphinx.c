/*
 * stt_sphinx.c: the pocketsphinx speech-to-text engine (see stt.h), on
 * Debian's pocketsphinx 0.8+5prealpha (the cmd_ln_init API) and its
 * pocketsphinx-en-us model.
 *
 * Open checks that the acoustic model folder, language model and
 * dictionary exist and loads nothing. Each decoder (ch_stt_new) is its own
 * ps_decoder_t, which is not thread-safe: it loads the model (about 0.5 s
 * and some 40 MB of memory, see docs/architecture.md) and stays with the
 * thread that made it. An utterance is ps_start_utt, ps_process_raw per
 * feed (pocketsphinx decodes as it goes, so finish is quick), ps_end_utt
 * and the best hypothesis.
 *
 * pocketsphinx logs a great deal (its whole configuration per decoder) to
 * stderr. Its logging is process-wide: at the first open its log file is
 * set to none and its callback to ours, which keeps the thread's last
 * error for our own line when a decoder fails to load, and logs errors at
 * debug level only (silence alone makes it say "Couldn't find <s> in first
 * frame"). "-logfn" is not used: pocketsphinx would reopen its one log
 * file at every ps_init, closing the one another thread may be writing
 * to.
 *
 * Limits: a model file that exists but is corrupt can make pocketsphinx
 * exit the process (its E_FATAL); open only checks that the files are
 * there and readable.
 */
#include "services/stt_impl.h"

#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#define SPHINX_DIR      "/usr/share/pocketsphinx/model/en-us"
#define SPHINX_MODEL    SPHINX_DIR "/en-us"
#define SPHINX_LM       SPHINX_DIR "/en-us.lm.bin"
#define SPHINX_DICT     SPHINX_DIR "/cmudict-en-us.dict"
#define SPHINX_PACKAGE  "pocketsphinx-en-us"
#define SPHINX_PATH_MAX 4096
#define SPHINX_LOG_MAX  512

/* The engine: the three paths, copied at open. Read-only after open. */
struct sphinx_engine {
	char *model;
	char *lm;
	char *dict;
	bool fast; /* -maxhmmpf 3000 -maxwpf 5 */
};

/* One decoder, owned by the thread that made it. */
struct sphinx_dec {
	ps_decoder_t *ps; /* owned */
	bool in_utt;      /* between ps_start_utt and ps_end_utt */
	bool failed;      /* a feed of this utterance failed */
};

static pthread_once_t sphinx_log_once = PTHREAD_ONCE_INIT;
/* pocketsphinx's last error on this thread, for the decoder's log line */
static __thread char sphinx_last_error[SPHINX_LOG_MAX];

/* pocketsphinx's log callback: errors only, kept and logged at debug. */
static void sphinx_log_h(void *arg, err_lvl_t lvl, const char *fmt, ...)
{
	char line[SPHINX_LOG_MAX];
	va_list ap;
	size_t n;

	(void)arg;
	if (lvl != ERR_ERROR && lvl != ERR_FATAL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	memcpy(sphinx_last_error, line, n + 1);
	ch_log(lvl == ERR_FATAL ? CH_LOG_ERROR : CH_LOG_DEBUG, "sphinx", "%s",
	       line);
}

static void sphinx_log_init(void)
{
	err_set_logfp(NULL);
	err_set_callback(sphinx_log_h, NULL);
}

/* 0 if path is a readable file (or folder, if dir), else ENOENT, logged
 * naming the file and the package that brings it. */
static int sphinx_check(const char *what, const char *path, bool dir)
{
	struct stat st;

	if (!stat(path, &st) &&
	    (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) &&
	    !access(path, R_OK))
		return 0;
	ch_log_error("sphinx",
	             "%s %s is missing or unreadable (Debian package %s)", what,
	             path, SPHINX_PACKAGE);
	return ENOENT;
}

static void sphinx_close(void *impl)
{
	struct sphinx_engine *e = impl;

	if (!e)
		return;
	free(e->model);
	free(e->lm);
	free(e->dict);
	free(e);
}

static int sphinx_open(void **impl, const struct ch_stt_cfg *cfg)
{
	struct sphinx_engine *e;
	char mdef[SPHINX_PATH_MAX];
	int err;

	pthread_once(&sphinx_log_once, sphinx_log_init);
	e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	e->model = strdup(cfg->sphinx_model ? cfg->sphinx_model : SPHINX_MODEL);
	e->lm = strdup(cfg->sphinx_lm ? cfg->sphinx_lm : SPHINX_LM);
	e->dict = strdup(cfg->sphinx_dict ? cfg->sphinx_dict : SPHINX_DICT);
	e->fast = cfg->sphinx_fast;
	if (!e->model || !e->lm || !e->dict) {
		sphinx_close(e);
		return ENOMEM;
	}
	snprintf(mdef, sizeof(mdef), "%s/mdef", e->model);
	err = sphinx_check("acoustic model folder", e->model, true);
	if (!err)
		err = sphinx_check("acoustic model file", mdef, false);
	if (!err)
		err = sphinx_check("language model", e->lm, false);
	if (!err)
		err = sphinx_check("dictionary", e->dict, false);
	if (err) {
		sphinx_close(e);
		return err;
	}
	*impl = e;
	return 0;
}

static int sphinx_supports(const void *impl, const char *lang)
{
	(void)impl;
	return !strcasecmp(lang, "en-US") || !strcasecmp(lang, "en");
}

static double sphinx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sphinx_dec_new(void **out, void *impl, const char *lang)
{
	struct sphinx_engine *e = impl;
	struct sphinx_dec *d;
	cmd_ln_t *config;
	double t0 = sphinx_now();

	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	sphinx_last_error[0] = '\0';
	if (e->fast)
		config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", e->model,
		                     "-lm", e->lm, "-dict", e->dict,
		                     "-maxhmmpf", "3000", "-maxwpf", "5", NULL);
	else
		config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", e->model,
		                     "-lm", e->lm, "-dict", e->dict, NULL);
	if (config)
		d->ps = ps_init(config);
	/* the decoder keeps its own reference to config */
	if (config)
		cmd_ln_free_r(config);
	if (!d->ps) {
		ch_log_error("sphinx", "decoder for %s failed to load %s: %s",
		             lang, e->model,
		             *sphinx_last_error ? sphinx_last_error : "?");
		free(d);
		return EIO;
	}
	ch_log_info("sphinx", "decoder for %s loaded in %.2f s", lang,
	            sphinx_now() - t0);
	*out = d;
	return 0;
}

static void sphinx_dec_free(void *dec)
{
	struct sphinx_dec *d = dec;

	if (!d)
		return;
	ps_free(d->ps);
	free(d);
}

static int sphinx_start(void *dec)
{
	struct sphinx_dec *d = dec;

	/* an unfinished utterance is ended and its words dropped */
	if (d->in_utt)
		ps_end_utt(d->ps);
	d->failed = ps_start_utt(d->ps) < 0;
	d->in_utt = !d->failed;
	if (d->failed) {
		ch_log_error("sphinx", "could not start an utterance");
		return EIO;
	}
	return 0;
}

static int sphinx_feed(void *dec, const int16_t *pcm, size_t n)
{
	struct sphinx_dec *d = dec;

	if (d->failed)
		return EIO;
	if (ps_process_raw(d->ps, pcm, n, FALSE, FALSE) < 0) {
		ch_log_error("sphinx", "decoding failed in an utterance");
		d->failed = true;
		return EIO;
	}
	return 0;
}

static int sphinx_finish(void *dec, char **text)
{
	struct sphinx_dec *d = dec;
	const char *hyp;
	int32 score;

	d->in_utt = false;
	if (ps_end_utt(d->ps) < 0 && !d->failed) {
		ch_log_error("sphinx", "could not end an utterance");
		d->failed = true;
	}
	if (d->failed)
		return EIO;
	hyp = ps_get_hyp(d->ps, &score);
	*text = ch_stt_trimdup(hyp ? hyp : "");
	return *text ? 0 : ENOMEM;
}

const struct ch_stt_ops ch_stt_sphinx_ops = {
    .languages = "en-US, en",
    .open = sphinx_open,
    .close = sphinx_close,
    .supports = sphinx_supports,
    .dec_new = sphinx_dec_new,
    .dec_free = sphinx_dec_free,
    .start = sphinx_start,
    .feed = sphinx_feed,
    .finish = sphinx_finish,
};
