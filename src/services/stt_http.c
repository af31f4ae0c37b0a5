/*
 * stt_http.c: the HTTP speech-to-text engine (see stt.h): each utterance
 * is POSTed to an OpenAI-compatible service (whisper.cpp's server and
 * many others) as POST <url>/v1/audio/transcriptions.
 *
 * Feed appends the audio to the decoder's buffer, behind room for a
 * 44-byte WAV header (16 kHz, mono, 16-bit little-endian PCM); the buffer
 * grows by doubling and is kept for the next utterance. At most 60 s is
 * taken per utterance (CH_STT_MAX_SAMPLES, enforced in stt.c): audio fed
 * beyond that is dropped. Finish writes the header and sends the WAV as
 * multipart/form-data: file (audio.wav, audio/wav), model, language (the
 * primary subtag, lower case), response_format=json, with "Authorization:
 * Bearer <key>" when a key is set. The answer must be 2xx with a JSON
 * object whose "text" is a string (kept trimmed); it is read up to 64 KiB.
 *
 * Failures (no connection, timeout, non-2xx, an answer too long or not
 * that JSON) are retried http_retries more times after 200 ms, 400 ms,
 * 800 ms... (at most 1.6 s); each attempt has http_timeout_ms in all, the
 * connection included. Only the utterance's final failure is logged, one
 * line with the last attempt's cause. An utterance with no audio is ""
 * without asking the service.
 *
 * Each decoder has its own curl easy handle, so its connection to the
 * service is kept between utterances; it is used only by the thread that
 * made the decoder.
 */
#include "services/stt_impl.h"

#include "util/curlglobal.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define HTTP_PATH          "/v1/audio/transcriptions"
#define HTTP_MODEL         "whisper-1"
#define HTTP_TIMEOUT_MS    15000
#define HTTP_BACKOFF_MS    200
#define HTTP_BACKOFF_MAX   1600
#define HTTP_ANSWER_MAX    (64 * 1024)
#define HTTP_WAV_HEADER    44
#define HTTP_LANG_MAX      9 /* primary subtag: 2..8 letters */
#define HTTP_WHY_MAX       160
#define HTTP_START_SAMPLES (5 * CH_STT_RATE) /* first buffer: 5 s */

/* The engine: what open checked and copied. Read-only after open. */
struct http_engine {
	char *url;   /* <base>/v1/audio/transcriptions */
	char *model; /* form field "model" */
	char *auth;  /* "Authorization: Bearer <key>", or NULL */
	unsigned timeout_ms;
	unsigned retries;
};

/* One decoder, owned by the thread that made it. */
struct http_dec {
	const struct http_engine *e; /* borrowed */
	char lang[HTTP_LANG_MAX];    /* primary subtag, lower case */
	CURL *curl;                  /* owned, kept between utterances */
	struct curl_slist *headers;  /* owned */
	uint8_t *wav;                /* header room + samples, owned */
	size_t cap;                  /* samples wav has room for */
	size_t n;                    /* samples in this utterance */
};

/* An answer being read, at most HTTP_ANSWER_MAX bytes. */
struct http_answer {
	char buf[HTTP_ANSWER_MAX + 1];
	size_t len;
	bool too_long;
};

static void http_close(void *impl)
{
	struct http_engine *e = impl;

	if (!e)
		return;
	free(e->url);
	free(e->model);
	free(e->auth);
	free(e);
}

/* An http(s) URL with a host, and no user, query or fragment. */
static int http_url_check(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *part = NULL;
	int err = EINVAL;

	if (!u)
		return ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https")) ||
	    !strstr(url, "://") || strchr("/?#", strstr(url, "://")[3]) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) || !*host)
		goto out;
	if (!curl_url_get(u, CURLUPART_USER, &part, 0) ||
	    !curl_url_get(u, CURLUPART_QUERY, &part, 0) ||
	    !curl_url_get(u, CURLUPART_FRAGMENT, &part, 0))
		goto out;
	err = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(part);
	curl_url_cleanup(u);
	return err;
}

/* No control characters: the value goes into a header or form field. */
static bool http_printable(const char *s)
{
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return false;
	return true;
}

static int http_open(void **impl, const struct ch_stt_cfg *cfg)
{
	const char *base = cfg->http_url;
	struct http_engine *e;
	size_t len;
	int err;

	if (!base || !*base)
		return ENOTSUP;
	err = http_url_check(base);
	if (!err && ((cfg->http_key && !http_printable(cfg->http_key)) ||
	             (cfg->http_model && !http_printable(cfg->http_model))))
		err = EINVAL;
	if (err == EINVAL)
		ch_log_error("stt",
		             "stt-http-url %s (or its key or model) is "
		             "not usable: an http:// or https:// URL "
		             "with a host is needed",
		             base);
	if (!err)
		err = ch_curlglobal_init();
	if (err)
		return err;
	e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	e->url = malloc(len + sizeof(HTTP_PATH));
	e->model = strdup(cfg->http_model ? cfg->http_model : HTTP_MODEL);
	if (cfg->http_key && *cfg->http_key &&
	    asprintf(&e->auth, "Authorization: Bearer %s", cfg->http_key) < 0) {
		e->auth = NULL;
		err = ENOMEM;
	}
	if (!e->url || !e->model || err) {
		http_close(e);
		return ENOMEM;
	}
	memcpy(e->url, base, len);
	memcpy(e->url + len, HTTP_PATH, sizeof(HTTP_PATH));
	e->timeout_ms =
	    cfg->http_timeout_ms ? cfg->http_timeout_ms : HTTP_TIMEOUT_MS;
	e->retries = cfg->http_retries;
	*impl = e;
	return 0;
}

static int http_supports(const void *impl, const char *lang)
{
	(void)impl;
	(void)lang;
	return 1; /* any well-formed tag: stt.c checked its shape */
}

static void http_dec_free(void *dec)
{
	struct http_dec *d = dec;

	if (!d)
		return;
	curl_easy_cleanup(d->curl);
	curl_slist_free_all(d->headers);
	free(d->wav);
	free(d);
}

static int http_dec_new(void **out, void *impl, const char *lang)
{
	struct http_dec *d = calloc(1, sizeof(*d));
	size_t i;

	if (!d)
		return ENOMEM;
	d->e = impl;
	for (i = 0; i + 1 < sizeof(d->lang) && lang[i] && lang[i] != '-'; i++)
		d->lang[i] = (char)tolower((unsigned char)lang[i]);
	d->curl = curl_easy_init();
	/* no "Expect: 100-continue" wait before a large body */
	d->headers = curl_slist_append(NULL, "Expect:");
	if (d->headers && d->e->auth) {
		struct curl_slist *h =
		    curl_slist_append(d->headers, d->e->auth);

		if (!h)
			curl_slist_free_all(d->headers);
		d->headers = h;
	}
	if (!d->curl || !d->headers) {
		http_dec_free(d);
		return ENOMEM;
	}
	*out = d;
	return 0;
}

static int http_start(void *dec)
{
	struct http_dec *d = dec;

	d->n = 0;
	return 0;
}

/* Room for n more samples: 0 or ENOMEM. */
static int http_reserve(struct http_dec *d, size_t n)
{
	size_t cap = d->cap ? d->cap : HTTP_START_SAMPLES;
	uint8_t *wav;

	if (d->n + n <= d->cap)
		return 0;
	while (cap < d->n + n)
		cap *= 2;
	if (cap > CH_STT_MAX_SAMPLES)
		cap = CH_STT_MAX_SAMPLES;
	wav = realloc(d->wav, HTTP_WAV_HEADER + cap * 2);
	if (!wav)
		return ENOMEM;
	d->wav = wav;
	d->cap = cap;
	return 0;
}

static int http_feed(void *dec, const int16_t *pcm, size_t n)
{
	struct http_dec *d = dec;
	uint8_t *p;
	int err = http_reserve(d, n);

	if (err)
		return err;
	p = d->wav + HTTP_WAV_HEADER + d->n * 2;
	for (size_t i = 0; i < n; i++) {
		uint16_t v = (uint16_t)pcm[i];

		p[2 * i] = (uint8_t)v;
		p[2 * i + 1] = (uint8_t)(v >> 8);
	}
	d->n += n;
	return 0;
}

static void http_le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The canonical 44-byte header of d's samples. */
static void http_wav_header(struct http_dec *d)
{
	uint8_t *h = d->wav;
	uint32_t data = (uint32_t)(d->n * 2);

	memcpy(h, "RIFF", 4);
	http_le(h + 4, 36 + data, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	http_le(h + 16, 16, 4);              /* fmt chunk size */
	http_le(h + 20, 1, 2);               /* PCM */
	http_le(h + 22, 1, 2);               /* mono */
	http_le(h + 24, CH_STT_RATE, 4);     /* sample rate */
	http_le(h + 28, CH_STT_RATE * 2, 4); /* byte rate */
	http_le(h + 32, 2, 2);               /* block align */
	http_le(h + 34, 16, 2);              /* bits per sample */
	memcpy(h + 36, "data", 4);
	http_le(h + 40, data, 4);
}

static size_t http_write_h(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_answer *a = arg;
	size_t n = size * nmemb;

	if (n > HTTP_ANSWER_MAX - a->len) {
		a->too_long = true;
		return 0; /* aborts the transfer */
	}
	memcpy(a->buf + a->len, ptr, n);
	a->len += n;
	return n;
}

/* The form of d's utterance: 0, or ENOMEM. *out is the caller's. */
static int http_form(struct http_dec *d, curl_mime **out)
{
	const char *const fields[][2] = {{"model", d->e->model},
	                                 {"language", d->lang},
	                                 {"response_format", "json"}};
	curl_mime *mime = curl_mime_init(d->curl);
	curl_mimepart *part;
	CURLcode rc = CURLE_OUT_OF_MEMORY;

	*out = mime;
	part = mime ? curl_mime_addpart(mime) : NULL;
	if (part)
		rc = curl_mime_name(part, "file");
	if (!rc)
		rc = curl_mime_filename(part, "audio.wav");
	if (!rc)
		rc = curl_mime_type(part, "audio/wav");
	if (!rc)
		rc = curl_mime_data(part, (const char *)d->wav,
		                    HTTP_WAV_HEADER + d->n * 2);
	for (size_t i = 0; !rc && i < sizeof(fields) / sizeof(fields[0]); i++) {
		part = curl_mime_addpart(mime);
		rc = part ? curl_mime_name(part, fields[i][0])
		          : CURLE_OUT_OF_MEMORY;
		if (!rc)
			rc = curl_mime_data(part, fields[i][1],
			                    CURL_ZERO_TERMINATED);
	}
	return rc ? ENOMEM : 0;
}

/* One attempt: 0 and *text, or EIO with why filled in (or ENOMEM). */
static int http_attempt(struct http_dec *d, curl_mime *mime,
                        struct http_answer *a, char **text, char *why)
{
	const struct http_engine *e = d->e;
	json_t *root, *t;
	long status = 0;
	CURLcode rc;

	a->len = 0;
	a->too_long = false;
	curl_easy_reset(d->curl);
	curl_easy_setopt(d->curl, CURLOPT_URL, e->url);
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)e->timeout_ms);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(d->curl, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, http_write_h);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(d->curl, CURLOPT_USERAGENT, "chorusd");
	rc = curl_easy_perform(d->curl);
	if (a->too_long) {
		snprintf(why, HTTP_WHY_MAX, "answer longer than %d bytes",
		         HTTP_ANSWER_MAX);
		return EIO;
	}
	if (rc) {
		snprintf(why, HTTP_WHY_MAX, "%s", curl_easy_strerror(rc));
		return EIO;
	}
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(why, HTTP_WHY_MAX, "HTTP status %ld", status);
		return EIO;
	}
	root = json_loadb(a->buf, a->len, 0, NULL);
	t = json_object_get(root, "text");
	if (!json_is_string(t)) {
		snprintf(why, HTTP_WHY_MAX, "answer is not JSON with a text");
		json_decref(root);
		return EIO;
	}
	*text = ch_stt_trimdup(json_string_value(t));
	json_decref(root);
	return *text ? 0 : ENOMEM;
}

static void http_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int http_finish(void *dec, char **text)
{
	struct http_dec *d = dec;
	struct http_answer *a;
	char why[HTTP_WHY_MAX] = "";
	unsigned attempt, backoff = HTTP_BACKOFF_MS;
	int err = 0;

	if (!d->n) {
		*text = strdup("");
		return *text ? 0 : ENOMEM;
	}
	http_wav_header(d);
	a = malloc(sizeof(*a));
	if (!a)
		return ENOMEM;
	for (attempt = 0;; attempt++) {
		curl_mime *mime = NULL; /* a fresh form for each attempt */

		err = http_form(d, &mime);
		if (!err)
			err = http_attempt(d, mime, a, text, why);
		curl_mime_free(mime);
		if (err != EIO || attempt == d->e->retries)
			break;
		http_sleep_ms(backoff);
		backoff = backoff * 2 > HTTP_BACKOFF_MAX ? HTTP_BACKOFF_MAX
		                                         : backoff * 2;
	}
	if (err == EIO)
		ch_log_warn("stt",
		            "%s: utterance of %.1f s not recognised after %u "
		            "attempts: %s",
		            d->e->url, (double)d->n / CH_STT_RATE, attempt + 1,
		            why);
	free(a);
	return err;
}

const struct ch_stt_ops ch_stt_http_ops = {
    .languages = "any",
    .open = http_open,
    .close = http_close,
    .supports = http_supports,
    .dec_new = http_dec_new,
    .dec_free = http_dec_free,
    .start = http_start,
    .feed = http_feed,
    .finish = http_finish,
};
