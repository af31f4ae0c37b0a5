/*
 * cmd_media.c: a conference's recording and playback: `chorus record
 * start|stop`, `chorus play|pause|stop|volume`. Main thread only.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int record_start(struct ch_cli_args *a)
{
	const char *fmt = ch_cli_opt(a, "format", NULL);
	json_t *body = NULL;

	if (fmt) {
		if (strcmp(fmt, "wav") && strcmp(fmt, "flac") &&
		    strcmp(fmt, "ogg"))
			return ch_cli_fail(CH_CLI_USAGE,
			                   "--format is wav, flac or ogg");
		body = json_pack("{s:s}", "format", fmt);
	}
	return ch_cli_act(a, "POST", "/conferences", a->pos[0],
	                  "/recording_start", body);
}

static int record_stop(struct ch_cli_args *a)
{
	return ch_cli_act(a, "POST", "/conferences", a->pos[0],
	                  "/recording_stop", NULL);
}

static int play(struct ch_cli_args *a)
{
	const char *url = ch_cli_opt(a, "url", NULL);

	if (!url)
		return ch_cli_fail(CH_CLI_USAGE, "--url URL is required");
	return ch_cli_act(a, "POST", "/conferences", a->pos[0], "/play",
	                  json_pack("{s:[s]}", "urls", url));
}

static int pause_(struct ch_cli_args *a)
{
	return ch_cli_act(a, "POST", "/conferences", a->pos[0], "/pause", NULL);
}

static int stop(struct ch_cli_args *a)
{
	return ch_cli_act(a, "POST", "/conferences", a->pos[0], "/stop", NULL);
}

static int volume(struct ch_cli_args *a)
{
	char *end;
	long db = strtol(a->pos[1], &end, 10);

	if (!*a->pos[1] || *end)
		return ch_cli_fail(CH_CLI_USAGE,
		                   "DB must be an integer (-50..7)");
	return ch_cli_act(a, "POST", "/conferences", a->pos[0], "/volume",
	                  json_pack("{s:I}", "volume", (json_int_t)db));
}

static const char *const fmt_opts[] = {"format", NULL};
static const char *const url_opts[] = {"url", NULL};
static const char *const no_opts[] = {NULL};

const struct ch_cli_cmd ch_cmd_media[] = {
    {"record", "start", "record start CONFERENCE [--format wav|flac|ogg]",
     "Starts recording a conference (wav unless told); prints the conference.",
     fmt_opts, 1, 1, record_start},
    {"record", "stop", "record stop CONFERENCE",
     "Stops the conference's recording; the file is ready when the recording "
     "is stopped.",
     no_opts, 1, 1, record_stop},
    {"play", NULL, "play CONFERENCE --url URL",
     "Plays an audio file (http, https) into the room: everyone hears it.",
     url_opts, 1, 1, play},
    {"pause", NULL, "pause CONFERENCE",
     "Pauses the room's playback, or resumes it when paused.", no_opts, 1, 1,
     pause_},
    {"stop", NULL, "stop CONFERENCE", "Stops the room's playback.", no_opts, 1,
     1, stop},
    {"volume", NULL, "volume CONFERENCE DB",
     "Sets the room's playback volume in dB (-50..7), now and for later plays.",
     no_opts, 2, 2, volume},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
