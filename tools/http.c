/*
 * http.c: the `chorus` client's REST calls on libcurl (easy interface,
 * one handle per request): JSON requests, paged lists, streamed
 * downloads with a progress bar. The token goes in an Authorization
 * header of this process only; it is never printed. Main thread only.
 */
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A growing answer buffer, or the file a download goes to. */
struct sink {
	char *buf;
	size_t len, cap;
	FILE *file; /* a download: 2xx bodies go here, others to buf */
	CURL *curl;
	long long size; /* expected download size, 0 unknown */
	bool progress;
};

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = sz * n;
	long status = 0;

	if (s->file) {
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300)
			return fwrite(p, 1, len, s->file) == len ? len : 0;
	}
	if (s->len + len + 1 > s->cap) {
		size_t cap = (s->len + len + 1) * 2;
		char *b = realloc(s->buf, cap);
		if (!b)
			return 0;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ult, curl_off_t uln)
{
	struct sink *s = arg;
	long long total = dltotal > 0 ? (long long)dltotal : s->size;
	int i, bar = 40, fill;

	if (!s->progress || total <= 0)
		return 0;
	fill = (int)(bar * (double)dlnow / (double)total);
	if (fill > bar)
		fill = bar;
	fputc('\r', stderr);
	fputc('[', stderr);
	for (i = 0; i < bar; i++)
		fputc(i < fill ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%% %lld/%lld bytes",
	        (int)(100.0 * (double)dlnow / (double)total), (long long)dlnow,
	        total);
	return 0;
}

char *ch_cli_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s ? s : "", 0);
	char *out = e ? strdup(e) : NULL;

	curl_free(e);
	return out;
}

/* Prints the API's error message of a failed answer; returns the exit code. */
static int api_error(long status, const char *body)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	const char *msg = json_string_value(
	    json_object_get(json_object_get(j, "error"), "message"));

	if (msg)
		fprintf(stderr, "chorus: %s (HTTP %ld)\n", msg, status);
	else
		fprintf(stderr, "chorus: HTTP %ld\n", status);
	json_decref(j);
	return status == 404 ? CH_CLI_NOT_FOUND : CH_CLI_ERROR;
}

/* Runs one request into `s`; *status gets the HTTP status. */
static int perform(const struct ch_cli_args *a, const char *method,
                   const char *path, const char *body, struct sink *s,
                   long *status)
{
	struct curl_slist *h = NULL;
	char *url = NULL, *auth = NULL;
	CURLcode rc;
	CURL *c = curl_easy_init();
	int err = CH_CLI_OK;

	if (!c)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	if (asprintf(&url, "%s%s", a->url, path) < 0 ||
	    asprintf(&auth, "Authorization: Bearer %s", a->token) < 0) {
		curl_easy_cleanup(c);
		free(url);
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	}
	h = curl_slist_append(h, auth);
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	s->curl = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (s->file) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		err = ch_cli_fail(CH_CLI_ERROR, "%s: %s", a->url,
		                  curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	/* the header held the token: wipe it before freeing */
	explicit_bzero(auth, strlen(auth));
	free(auth);
	free(url);
	curl_easy_cleanup(c);
	return err;
}

int ch_cli_request(const struct ch_cli_args *a, const char *method,
                   const char *path, json_t *body, json_t **out)
{
	struct sink s = {0};
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status = 0;
	int err = perform(a, method, path, text, &s, &status);

	free(text);
	if (!err && (status < 200 || status >= 300))
		err = api_error(status, s.buf);
	if (!err && out) {
		json_error_t je;
		*out = json_loads(s.buf ? s.buf : "", JSON_DECODE_ANY, &je);
		if (!*out)
			err =
			    ch_cli_fail(CH_CLI_ERROR,
			                "the answer is not JSON: %s", je.text);
	}
	free(s.buf);
	return err;
}

int ch_cli_list(const struct ch_cli_args *a, const char *path, long limit,
                json_t **out)
{
	json_t *all = json_array();
	char *token = NULL;
	int err = CH_CLI_OK;

	while (!err) {
		json_t *page = NULL, *items;
		char *p = NULL, *tok = token ? ch_cli_escape(token) : NULL;
		long left = limit ? limit - (long)json_array_size(all) : 100;
		const char *next;
		if (asprintf(&p, "%s%spage_size=%ld%s%s", path,
		             strchr(path, '?') ? "&" : "?",
		             left > 100 ? 100 : left, tok ? "&page_token=" : "",
		             tok ? tok : "") < 0)
			p = NULL;
		free(tok);
		if (!p) {
			err = ch_cli_fail(CH_CLI_ERROR, "out of memory");
			break;
		}
		err = ch_cli_request(a, "GET", p, NULL, &page);
		free(p);
		if (err)
			break;
		items = json_object_get(page, "result");
		json_array_extend(all, items);
		next =
		    json_string_value(json_object_get(page, "next_page_token"));
		free(token);
		token = next && *next && json_array_size(items) ? strdup(next)
		                                                : NULL;
		json_decref(page);
		if (!token || (limit && (long)json_array_size(all) >= limit))
			break;
	}
	free(token);
	if (err) {
		json_decref(all);
		return err;
	}
	*out = all;
	return CH_CLI_OK;
}

int ch_cli_download(const struct ch_cli_args *a, const char *path,
                    const char *file, long long size)
{
	struct sink s = {.size = size, .progress = isatty(STDERR_FILENO)};
	long status = 0;
	int err;

	s.file = fopen(file, "wb");
	if (!s.file)
		return ch_cli_fail(CH_CLI_ERROR, "%s: %s", file,
		                   strerror(errno));
	err = perform(a, "GET", path, NULL, &s, &status);
	if (s.progress)
		fputc('\n', stderr);
	if (fclose(s.file) && !err)
		err =
		    ch_cli_fail(CH_CLI_ERROR, "%s: %s", file, strerror(errno));
	if (!err && (status < 200 || status >= 300))
		err = api_error(status, s.buf);
	if (err)
		unlink(file);
	free(s.buf);
	return err;
}
