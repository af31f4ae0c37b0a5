/*
 * cmd_transcribe.c: `chorus transcribe start|stop`, `chorus transcripts`
 * (every page, in time order) and `chorus summary`. Main thread only.
 */
#include "cli.h"

#include <stdlib.h>

static int start(struct ch_cli_args *a)
{
	const char *engine = ch_cli_opt(a, "engine", NULL);
	json_t *body =
	    json_pack("{s:s}", "language", ch_cli_opt(a, "language", "en-US"));

	if (engine)
		json_object_set_new(body, "engine", json_string(engine));
	return ch_cli_act(a, "POST", "/conferences", a->pos[0],
	                  "/transcribe_start", body);
}

static int stop(struct ch_cli_args *a)
{
	return ch_cli_act(a, "POST", "/conferences", a->pos[0],
	                  "/transcribe_stop", NULL);
}

static const struct ch_cli_col cols[] = {
    {"START_MS", "tm_start_ms", false},
    {"END_MS", "tm_end_ms", false},
    {"CALLER", "caller_id", false},
    {"PARTICIPANT", "conferencecall_id", false},
    {"TEXT", "text", false},
};

static int transcripts(struct ch_cli_args *a)
{
	return ch_cli_list_cmd(a, "/transcripts", "transcribe_id", a->pos[0], 0,
	                       cols, sizeof(cols) / sizeof(cols[0]));
}

static int summary(struct ch_cli_args *a)
{
	return ch_cli_act(a, "GET", "/conferences", a->pos[0], "/summary",
	                  NULL);
}

static const char *const start_opts[] = {"language", "engine", NULL};
static const char *const no_opts[] = {NULL};

const struct ch_cli_cmd ch_cmd_transcribe[] = {
    {"transcribe", "start",
     "transcribe start CONFERENCE [--language en-US] [--engine sphinx|http]",
     "Starts transcribing each participant of a conference (language en-US "
     "unless told;\n"
     "engine: the server's default unless told). Prints the conference (its "
     "transcribe_id).",
     start_opts, 1, 1, start},
    {"transcribe", "stop", "transcribe stop CONFERENCE",
     "Stops the conference's transcription (the last segments follow).",
     no_opts, 1, 1, stop},
    {"transcripts", NULL, "transcripts TRANSCRIBE_ID",
     "Prints every segment of a transcription, in time order (ms from its "
     "start).",
     no_opts, 1, 1, transcripts},
    {"summary", NULL, "summary CONFERENCE",
     "Prints a conference's summary: duration, participants, end reason, "
     "quality tags.",
     no_opts, 1, 1, summary},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
