/*
 * cmd_conferences.c: `chorus conferences list|create|show|update|delete`
 * on /conferences. Main thread only.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const struct ch_cli_col cols[] = {
    {"ID", "id", false},
    {"NAME", "name", false},
    {"TYPE", "type", false},
    {"STATUS", "status", false},
    {"PARTICIPANTS", "conferencecall_ids", false},
    {"RECORDING", "recording_id", false},
    {"CREATED", "tm_create", true},
};

static int list(struct ch_cli_args *a)
{
	return ch_cli_list_cmd(a, "/conferences", NULL, NULL, a->limit, cols,
	                       sizeof(cols) / sizeof(cols[0]));
}

/* The body of create/update from --name, --type, --timeout, --max-participants.
 */
static int fields(struct ch_cli_args *a, json_t *body)
{
	const char *name = ch_cli_opt(a, "name", NULL),
	           *type = ch_cli_opt(a, "type", NULL);
	long v;
	int err;

	if (name)
		json_object_set_new(body, "name", json_string(name));
	if (type) {
		if (strcmp(type, "conference") && strcmp(type, "connect"))
			return ch_cli_fail(CH_CLI_USAGE,
			                   "--type is conference or connect");
		json_object_set_new(body, "type", json_string(type));
	}
	if ((err = ch_cli_int_opt(a, "timeout", -1, &v)))
		return err;
	if (v >= 0)
		json_object_set_new(body, "timeout", json_integer(v));
	if ((err = ch_cli_int_opt(a, "max-participants", -1, &v)))
		return err;
	if (v >= 0)
		json_object_set_new(body, "max_participants", json_integer(v));
	return CH_CLI_OK;
}

static int create(struct ch_cli_args *a)
{
	json_t *body = json_object();
	int err = fields(a, body);

	if (err) {
		json_decref(body);
		return err;
	}
	if (!json_object_get(body, "type"))
		json_object_set_new(body, "type", json_string("conference"));
	return ch_cli_act(a, "POST", "/conferences", NULL, NULL, body);
}

static int update(struct ch_cli_args *a)
{
	json_t *body = json_object();
	int err = fields(a, body);

	if (!err && json_object_get(body, "type"))
		err = ch_cli_fail(CH_CLI_USAGE,
		                  "a conference's type cannot change");
	if (!err && !json_object_size(body))
		err = ch_cli_fail(CH_CLI_USAGE,
		                  "nothing to change: give --name, --timeout "
		                  "or --max-participants");
	if (err) {
		json_decref(body);
		return err;
	}
	return ch_cli_act(a, "PUT", "/conferences", a->pos[0], NULL, body);
}

static int show(struct ch_cli_args *a)
{
	return ch_cli_act(a, "GET", "/conferences", a->pos[0], NULL, NULL);
}

static int delete (struct ch_cli_args *a)
{
	return ch_cli_act(a, "DELETE", "/conferences", a->pos[0], NULL, NULL);
}

static const char *const create_opts[] = {"name", "type", "timeout",
                                          "max-participants", NULL};
static const char *const no_opts[] = {NULL};

const struct ch_cli_cmd ch_cmd_conferences[] = {
    {"conferences", "list", "conferences list [--limit N]",
     "Lists your conferences, newest first.", no_opts, 0, 0, list},
    {"conferences", "create",
     "conferences create [--name NAME] [--type conference|connect] [--timeout "
     "S] "
     "[--max-participants N]",
     "Creates a conference (type conference unless told) and prints it.",
     create_opts, 0, 0, create},
    {"conferences", "show", "conferences show ID", "Prints one conference.",
     no_opts, 1, 1, show},
    {"conferences", "update",
     "conferences update ID [--name NAME] [--timeout S] [--max-participants N]",
     "Changes a conference's fields and prints it.", create_opts, 1, 1, update},
    {"conferences", "delete", "conferences delete ID",
     "Ends a conference: every participant is removed, then it is terminated.",
     no_opts, 1, 1, delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
