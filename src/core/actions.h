/*
 * actions.h: the check of a conference's pre_actions / post_actions and
 * of playback URLs, shared by the API (400 at POST/PUT, naming the index
 * and field) and the runner.
 *
 * Action types: talk {text, language}, play {urls}, beep, sleep
 * {duration ms}, hangup. Pure functions of the JSON and the server's
 * media folder; control thread (they read the core's settings).
 */
#ifndef CH_CORE_ACTIONS_H
#define CH_CORE_ACTIONS_H

#include <jansson.h>
#include <stddef.h>

struct ch_core;

/* Most actions in one list; longest sleep. */
#define CH_ACTIONS_MAX             64
#define CH_ACTION_SLEEP_MAX        600000
#define CH_ACTION_DEFAULT_LANGUAGE "en-US"

/* Checks one action; where names it ("pre_actions[2]"). 0, or EINVAL
 * with why (size len) naming where and the field. */
int ch_actions_check_one(const struct ch_core *core, json_t *a,
                         const char *where, char *why, size_t len);
/* Checks a list of actions named field. 0 or EINVAL with why. */
int ch_actions_check(const struct ch_core *core, json_t *actions,
                     const char *field, char *why, size_t len);
/* Checks a non-empty list of playable URLs named field (at most 16). */
int ch_actions_check_urls(const struct ch_core *core, json_t *urls,
                          const char *field, char *why, size_t len);
/* Checks a talk text and language (NULL: the default); field names the
 * object they are in ("" for a request body). */
int ch_actions_check_talk(json_t *text, json_t *language, const char *field,
                          char *why, size_t len);

#endif
