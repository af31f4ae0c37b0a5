/*
 * cmd_events.c: `chorus events [--conference ID]`: the live tail of the
 * WebSocket event stream, one line per event (ws_client.c does the
 * connection). Main thread only.
 */
#include "cli.h"

static int events(struct ch_cli_args *a)
{
	return ch_ws_client_tail(a, ch_cli_opt(a, "conference", NULL));
}

static const char *const opts[] = {"conference", NULL};

const struct ch_cli_cmd ch_cmd_events[] = {
    {"events", NULL, "events [--conference ID] [--json]",
     "Prints your events as they happen, one line each: time, type, "
     "conference,\n"
     "participant, detail; --json prints each event's JSON on one line. Runs "
     "until\n"
     "interrupted or the server closes the stream.",
     opts, 0, 0, events},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
