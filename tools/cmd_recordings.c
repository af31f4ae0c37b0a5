/*
 * cmd_recordings.c: `chorus recordings list|download|delete` on /recordings.
 * Main thread only.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

static const struct ch_cli_col cols[] = {
    {"ID", "id", false},
    {"CONFERENCE", "reference_id", false},
    {"STATUS", "status", false},
    {"FORMAT", "format", false},
    {"DURATION_MS", "duration_ms", false},
    {"SIZE", "size", false},
    {"STARTED", "tm_start", true},
};

static int list(struct ch_cli_args *a)
{
	return ch_cli_list_cmd(a, "/recordings", "reference_id",
	                       ch_cli_opt(a, "conference", NULL), a->limit,
	                       cols, sizeof(cols) / sizeof(cols[0]));
}

static int download(struct ch_cli_args *a)
{
	char *path = ch_cli_path("/recordings", a->pos[0], NULL), *file = NULL,
	     *fpath;
	const char *out = ch_cli_opt(a, "o", ch_cli_opt(a, "output", NULL));
	json_t *rec = NULL;
	int err;

	if (!path)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	err = ch_cli_request(a, "GET", path, NULL, &rec);
	free(path);
	if (err)
		return err;
	if (!out &&
	    asprintf(&file, "%s.%s", a->pos[0],
	             json_string_value(json_object_get(rec, "format"))) >= 0)
		out = file;
	fpath = ch_cli_path("/recordings", a->pos[0], "/file");
	err = fpath && out ? ch_cli_download(a, fpath, out,
	                                     json_integer_value(
	                                         json_object_get(rec, "size")))
	                   : ch_cli_fail(CH_CLI_ERROR, "out of memory");
	if (!err && a->json)
		err = ch_cli_print_object(a, rec);
	else if (!err)
		printf("%s\n", out);
	free(fpath);
	free(file);
	json_decref(rec);
	return err;
}

static int delete (struct ch_cli_args *a)
{
	return ch_cli_act(a, "DELETE", "/recordings", a->pos[0], NULL, NULL);
}

static const char *const list_opts[] = {"conference", NULL};
static const char *const dl_opts[] = {"o", "output", NULL};
static const char *const no_opts[] = {NULL};

const struct ch_cli_cmd ch_cmd_recordings[] = {
    {"recordings", "list", "recordings list [--conference ID] [--limit N]",
     "Lists recordings, newest first (of one conference with --conference).",
     list_opts, 0, 0, list},
    {"recordings", "download", "recordings download ID [-o FILE]",
     "Downloads a stopped recording's audio to FILE (default ID.FORMAT) and "
     "prints the\n"
     "file's name (--json: the recording). A progress bar goes to stderr on a "
     "terminal.",
     dl_opts, 1, 1, download},
    {"recordings", "delete", "recordings delete ID",
     "Deletes a recording and its file.", no_opts, 1, 1, delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
