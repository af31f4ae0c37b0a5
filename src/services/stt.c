/*
 * stt.c: the speech-to-text engine interface (see stt.h): engine and
 * decoder objects, language checks, and dispatch to the engine files
 * through their tables of operations (stt_impl.h).
 *
 * An utterance is bounded here for every engine: after CH_STT_MAX_SAMPLES
 * (60 s) the rest of it is dropped, with one warning per utterance.
 */
#include "services/stt.h"
#include "services/stt_impl.h"

#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STT_LANG_MAX 23 /* longest tag the HTTP engine takes */

/* An open engine. Made on the main thread, read-only after open. */
struct ch_stt_engine {
	enum ch_stt_kind kind;
	const struct ch_stt_ops *ops;
	void *impl; /* the engine file's state, owned */
};

/* A decoder. Owned by the thread that made it. */
struct ch_stt {
	struct ch_stt_engine *e; /* borrowed: outlives its decoders */
	void *impl;              /* the engine file's decoder, owned */
	bool in_utt;             /* between start and finish */
	size_t fed;              /* samples taken in this utterance */
	bool dropped;            /* audio past the limit was dropped */
};

static const struct ch_stt_ops *stt_ops(enum ch_stt_kind kind)
{
	switch (kind) {
	case CH_STT_SPHINX:
		return &ch_stt_sphinx_ops;
	case CH_STT_HTTP:
		return &ch_stt_http_ops;
	}
	return NULL;
}

const char *ch_stt_kind_str(enum ch_stt_kind k)
{
	return k == CH_STT_HTTP ? "http" : "sphinx";
}

int ch_stt_kind_parse(const char *s, enum ch_stt_kind *k)
{
	if (!s)
		return EINVAL;
	if (!strcmp(s, "sphinx"))
		*k = CH_STT_SPHINX;
	else if (!strcmp(s, "http"))
		*k = CH_STT_HTTP;
	else
		return EINVAL;
	return 0;
}

int ch_stt_engine_open(struct ch_stt_engine **out, enum ch_stt_kind kind,
                       const struct ch_stt_cfg *cfg)
{
	static const struct ch_stt_cfg none;
	const struct ch_stt_ops *ops = stt_ops(kind);
	struct ch_stt_engine *e;
	int err;

	*out = NULL;
	if (!ops)
		return EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	e->kind = kind;
	e->ops = ops;
	err = ops->open(&e->impl, cfg ? cfg : &none);
	if (err) {
		free(e);
		return err;
	}
	*out = e;
	return 0;
}

void ch_stt_engine_close(struct ch_stt_engine *e)
{
	if (!e)
		return;
	e->ops->close(e->impl);
	free(e);
}

/* A BCP-47-shaped tag: 1..23 bytes of subtags joined by '-', the first
 * 2..8 letters, each other 1..8 letters or digits. */
static bool stt_lang_wellformed(const char *lang)
{
	size_t len = strlen(lang), sub = 0, nsub = 0;

	if (!len || len > STT_LANG_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = lang[i];

		if (c == '-' || !c) {
			if (!sub || sub > 8 || (!nsub && sub < 2))
				return false;
			nsub++;
			sub = 0;
		} else if (isalpha((unsigned char)c) ||
		           (nsub && isdigit((unsigned char)c))) {
			sub++;
		} else {
			return false;
		}
	}
	return true;
}

int ch_stt_engine_supports(const struct ch_stt_engine *e, const char *lang)
{
	if (!e || !lang || !stt_lang_wellformed(lang))
		return 0;
	return e->ops->supports(e->impl, lang);
}

const char *ch_stt_engine_languages(const struct ch_stt_engine *e)
{
	return e ? e->ops->languages : "";
}

enum ch_stt_kind ch_stt_engine_kind(const struct ch_stt_engine *e)
{
	return e->kind;
}

int ch_stt_new(struct ch_stt **out, struct ch_stt_engine *e, const char *lang)
{
	struct ch_stt *s;
	int err;

	*out = NULL;
	if (!ch_stt_engine_supports(e, lang))
		return EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	s->e = e;
	err = e->ops->dec_new(&s->impl, e->impl, lang);
	if (err) {
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void ch_stt_free(struct ch_stt *s)
{
	if (!s)
		return;
	s->e->ops->dec_free(s->impl);
	free(s);
}

int ch_stt_start(struct ch_stt *s)
{
	int err = s->e->ops->start(s->impl);

	s->in_utt = !err;
	s->fed = 0;
	s->dropped = false;
	return err;
}

int ch_stt_feed(struct ch_stt *s, const int16_t *pcm, size_t n)
{
	size_t room;

	if (!s->in_utt)
		return EINVAL;
	room = CH_STT_MAX_SAMPLES - s->fed;
	if (n > room) {
		if (!s->dropped)
			ch_log_warn("stt",
			            "utterance longer than %zu s: "
			            "the rest of it is dropped",
			            CH_STT_MAX_SAMPLES / CH_STT_RATE);
		s->dropped = true;
		n = room;
	}
	if (!n)
		return 0;
	s->fed += n;
	return s->e->ops->feed(s->impl, pcm, n);
}

int ch_stt_finish(struct ch_stt *s, char **text)
{
	*text = NULL;
	if (!s->in_utt)
		return EINVAL;
	s->in_utt = false;
	return s->e->ops->finish(s->impl, text);
}

char *ch_stt_trimdup(const char *text)
{
	const char *end;

	while (isspace((unsigned char)*text))
		text++;
	end = text + strlen(text);
	while (end > text && isspace((unsigned char)end[-1]))
		end--;
	return strndup(text, (size_t)(end - text));
}
