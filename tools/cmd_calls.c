/*
 * cmd_calls.c: `chorus calls list|dial|hangup` on /calls. Main thread only.
 */
#include "cli.h"

#include <string.h>

static const struct ch_cli_col cols[] = {
    {"ID", "id", false},
    {"DIRECTION", "direction", false},
    {"FROM", "source.target", false},
    {"TO", "destination.target", false},
    {"STATUS", "status", false},
    {"CODEC", "codec", false},
    {"CONFERENCE", "conference_id", false},
    {"CREATED", "tm_create", true},
};

static int list(struct ch_cli_args *a)
{
	return ch_cli_list_cmd(a, "/calls", NULL, NULL, a->limit, cols,
	                       sizeof(cols) / sizeof(cols[0]));
}

static int dial(struct ch_cli_args *a)
{
	const char *conf = ch_cli_opt(a, "conference", NULL),
	           *to = ch_cli_opt(a, "to", NULL);
	const char *from = ch_cli_opt(a, "from", "sip:chorus@localhost");
	json_t *body, *out = NULL;
	int err;

	if (!conf || !to)
		return ch_cli_fail(
		    CH_CLI_USAGE,
		    "--conference ID and --to sip:... are required");
	body =
	    json_pack("{s:{s:s,s:s},s:[{s:s,s:s}],s:[{s:s,s:{s:s}}]}", "source",
	              "type", "sip", "target", from, "destinations", "type",
	              "sip", "target", to, "actions", "type", "conference_join",
	              "option", "conference_id", conf);
	err = ch_cli_request(a, "POST", "/calls", body, &out);
	json_decref(body);
	if (!err)
		err = ch_cli_print_list(a, json_object_get(out, "calls"), cols,
		                        sizeof(cols) / sizeof(cols[0]));
	json_decref(out);
	return err;
}

static int hangup(struct ch_cli_args *a)
{
	return ch_cli_act(a, "DELETE", "/calls", a->pos[0], NULL, NULL);
}

static const char *const dial_opts[] = {"conference", "to", "from", NULL};
static const char *const no_opts[] = {NULL};

const struct ch_cli_cmd ch_cmd_calls[] = {
    {"calls", "list", "calls list [--limit N]",
     "Lists calls (media legs), newest first.", no_opts, 0, 0, list},
    {"calls", "dial",
     "calls dial --conference ID --to sip:URI [--from sip:URI]",
     "Dials out; when the call is answered it joins the conference.\n"
     "--from is the caller shown (default sip:chorus@localhost). With --json "
     "the answer's\n"
     "array of calls is printed.",
     dial_opts, 0, 0, dial},
    {"calls", "hangup", "calls hangup ID", "Hangs a call up.", no_opts, 1, 1,
     hangup},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
