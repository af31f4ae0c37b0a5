/*
 * actions.c: checks of actions and playback URLs (see actions.h).
 */
#include "core/actions.h"
#include "core/core.h"
#include "services/player.h"
#include "services/tts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define URLS_MAX 16

static int fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return EINVAL;
}

int ch_actions_check_urls(const struct ch_core *core, json_t *urls,
                          const char *field, char *why, size_t len)
{
	size_t i;
	json_t *u;

	if (!json_is_array(urls) || json_array_size(urls) == 0 ||
	    json_array_size(urls) > URLS_MAX)
		return fail(why, len, "%s must be a list of 1 to 16 URLs",
		            field);
	json_array_foreach(urls, i, u)
	{
		const char *reason = NULL;
		char where[96];
		snprintf(where, sizeof(where), "%s[%zu]", field, i);
		if (!json_is_string(u) ||
		    strlen(json_string_value(u)) != json_string_length(u))
			return fail(why, len, "%s must be a URL string", where);
		if (ch_player_url_check(ch_core_media_dir(core),
		                        json_string_value(u), &reason))
			return fail(why, len, "%s: %s", where,
			            reason ? reason : "not a playable URL");
	}
	return 0;
}

int ch_actions_check_talk(json_t *text, json_t *language, const char *field,
                          char *why, size_t len)
{
	char where[96];
	snprintf(where, sizeof(where), "%s%stext", field, field[0] ? "." : "");
	if (!json_is_string(text) || json_string_length(text) == 0 ||
	    strlen(json_string_value(text)) != json_string_length(text))
		return fail(why, len, "%s must be a non-empty string", where);
	if (json_string_length(text) > CH_TTS_MAX_TEXT)
		return fail(why, len, "%s is longer than 4096 bytes", where);
	snprintf(where, sizeof(where), "%s%slanguage", field,
	         field[0] ? "." : "");
	if (!language)
		return 0;
	if (!json_is_string(language) ||
	    !ch_tts_voice(json_string_value(language))) {
		const char *l = json_string_value(language);
		return fail(why, len,
		            "%s: unsupported language \"%.32s\"; supported: %s",
		            where, l ? l : "(not a string)",
		            ch_tts_languages());
	}
	return 0;
}

int ch_actions_check_one(const struct ch_core *core, json_t *a,
                         const char *where, char *why, size_t len)
{
	static const char *const types[] = {"talk", "play", "sleep", "beep",
	                                    "hangup"};
	json_t *type = json_object_get(a, "type");
	json_t *opt = json_object_get(a, "option");
	char field[96];
	bool known = false;

	if (!json_is_object(a) || !json_is_string(type))
		return fail(why, len,
		            "%s must be an object with a string \"type\"",
		            where);
	const char *t = json_string_value(type);
	for (size_t k = 0; k < sizeof(types) / sizeof(*types); k++)
		known |= !strcmp(t, types[k]);
	if (!known)
		return fail(why, len,
		            "%s.type must be one of talk, play, sleep, beep, "
		            "hangup (not \"%s\")",
		            where, strlen(t) > 32 ? "..." : t);
	if (opt && !json_is_object(opt))
		return fail(why, len, "%s.option must be an object", where);
	snprintf(field, sizeof(field), "%s.option", where);
	if (!strcmp(t, "talk"))
		return ch_actions_check_talk(json_object_get(opt, "text"),
		                             json_object_get(opt, "language"),
		                             field, why, len);
	if (!strcmp(t, "play")) {
		snprintf(field, sizeof(field), "%s.option.urls", where);
		return ch_actions_check_urls(core, json_object_get(opt, "urls"),
		                             field, why, len);
	}
	if (!strcmp(t, "sleep")) {
		json_t *d = json_object_get(opt, "duration");
		if (!json_is_integer(d) || json_integer_value(d) < 0 ||
		    json_integer_value(d) > CH_ACTION_SLEEP_MAX)
			return fail(why, len,
			            "%s.option.duration must be an integer of "
			            "ms, 0..600000",
			            where);
	}
	return 0;
}

int ch_actions_check(const struct ch_core *core, json_t *actions,
                     const char *field, char *why, size_t len)
{
	size_t i;
	json_t *a;

	if (!json_is_array(actions))
		return fail(why, len, "%s must be a list of actions", field);
	if (json_array_size(actions) > CH_ACTIONS_MAX)
		return fail(why, len, "%s has more than 64 actions", field);
	json_array_foreach(actions, i, a)
	{
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]", field, i);
		int err = ch_actions_check_one(core, a, where, why, len);
		if (err)
			return err;
	}
	return 0;
}
