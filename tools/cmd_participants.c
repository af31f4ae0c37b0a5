/*
 * cmd_participants.c: `chorus participants list|kick|mute|unmute|play|talk`
 * on /conferencecalls. Main thread only.
 */
#include "cli.h"

#include <stdlib.h>

static const struct ch_cli_col cols[] = {
    {"ID", "id", false},
    {"CONFERENCE", "conference_id", false},
    {"CALLER", "caller_id", false},
    {"STATUS", "status", false},
    {"MUTED", "muted", false},
    {"MOS", "quality.mos", false},
    {"CREATED", "tm_create", true},
};

static int list(struct ch_cli_args *a)
{
	return ch_cli_list_cmd(a, "/conferencecalls", "conference_id",
	                       ch_cli_opt(a, "conference", NULL), a->limit,
	                       cols, sizeof(cols) / sizeof(cols[0]));
}

static int kick(struct ch_cli_args *a)
{
	return ch_cli_act(a, "DELETE", "/conferencecalls", a->pos[0], NULL,
	                  NULL);
}

static int mute(struct ch_cli_args *a)
{
	return ch_cli_act(a, "POST", "/conferencecalls", a->pos[0], "/mute",
	                  NULL);
}

static int unmute(struct ch_cli_args *a)
{
	return ch_cli_act(a, "POST", "/conferencecalls", a->pos[0], "/unmute",
	                  NULL);
}

static int play(struct ch_cli_args *a)
{
	const char *url = ch_cli_opt(a, "url", NULL);

	if (!url)
		return ch_cli_fail(CH_CLI_USAGE, "--url URL is required");
	return ch_cli_act(a, "POST", "/conferencecalls", a->pos[0], "/play",
	                  json_pack("{s:[s]}", "urls", url));
}

static int talk(struct ch_cli_args *a)
{
	const char *text = ch_cli_opt(a, "text", NULL);
	const char *lang = ch_cli_opt(a, "language", NULL);
	json_t *body;

	if (!text)
		return ch_cli_fail(CH_CLI_USAGE, "--text TEXT is required");
	body = json_pack("{s:s}", "text", text);
	if (lang)
		json_object_set_new(body, "language", json_string(lang));
	return ch_cli_act(a, "POST", "/conferencecalls", a->pos[0], "/talk",
	                  body);
}

static const char *const list_opts[] = {"conference", NULL};
static const char *const play_opts[] = {"url", NULL};
static const char *const talk_opts[] = {"text", "language", NULL};
static const char *const no_opts[] = {NULL};

const struct ch_cli_cmd ch_cmd_participants[] = {
    {"participants", "list", "participants list [--conference ID] [--limit N]",
     "Lists participants (conferencecalls), of one conference with "
     "--conference.",
     list_opts, 0, 0, list},
    {"participants", "kick", "participants kick ID",
     "Removes a participant from its conference (its call is hung up).",
     no_opts, 1, 1, kick},
    {"participants", "mute", "participants mute ID",
     "Mutes a participant: the room stops hearing it.", no_opts, 1, 1, mute},
    {"participants", "unmute", "participants unmute ID",
     "Unmutes a participant.", no_opts, 1, 1, unmute},
    {"participants", "play", "participants play ID --url URL",
     "Plays an audio file (http, https) to one participant only.", play_opts, 1,
     1, play},
    {"participants", "talk", "participants talk ID --text TEXT [--language L]",
     "Speaks a text (text-to-speech, default en-US) to one participant only.",
     talk_opts, 1, 1, talk},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
