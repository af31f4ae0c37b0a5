/*
 * output.c: how the `chorus` client prints: tables of lists and field
 * lines of one resource for people, the API's JSON with --json (an object
 * for one resource, the array for a list). Main thread only.
 */
#include "cli.h"
#include "format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NIL_UUID "00000000-0000-0000-0000-000000000000"

/* The value at a dotted path ("destination.target"), or NULL. */
static json_t *get_path(json_t *o, const char *field)
{
	char key[128];
	const char *dot;

	while (o && (dot = strchr(field, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - field), field);
		o = json_object_get(o, key);
		field = dot + 1;
	}
	return json_object_get(o, field);
}

char *ch_cli_cell(json_t *o, const char *field, bool reltime)
{
	json_t *v = get_path(o, field);
	char buf[64];

	if (!v || json_is_null(v))
		return strdup("-");
	if (json_is_string(v)) {
		if (reltime)
			return strdup(ch_format_reltime(json_string_value(v),
			                                time(NULL), buf,
			                                sizeof(buf)));
		/* "" and the nil UUID (no recording, nobody) read as "-" */
		if (!*json_string_value(v) ||
		    !strcmp(json_string_value(v), NIL_UUID))
			return strdup("-");
		return strdup(json_string_value(v));
	}
	if (json_is_array(v) && !reltime) {
		/* a list of ids: their count reads better in a table */
		snprintf(buf, sizeof(buf), "%zu", json_array_size(v));
		return strdup(buf);
	}
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (!s)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	puts(s);
	free(s);
	return CH_CLI_OK;
}

int ch_cli_print_list(const struct ch_cli_args *a, json_t *items,
                      const struct ch_cli_col *cols, size_t ncols)
{
	size_t n = json_array_size(items), r, c;
	const char **cells;
	char *table;

	if (a->json)
		return print_json(items);
	cells = calloc((n + 1) * ncols, sizeof(*cells));
	if (!cells)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	for (c = 0; c < ncols; c++)
		cells[c] = cols[c].header;
	for (r = 0; r < n; r++)
		for (c = 0; c < ncols; c++)
			cells[(r + 1) * ncols + c] =
			    ch_cli_cell(json_array_get(items, r), cols[c].field,
			                cols[c].reltime);
	table = ch_format_table(cells, n + 1, ncols);
	if (table)
		fputs(table, stdout);
	free(table);
	for (r = ncols; r < (n + 1) * ncols; r++)
		free((char *)cells[r]);
	free(cells);
	return table ? CH_CLI_OK : ch_cli_fail(CH_CLI_ERROR, "out of memory");
}

int ch_cli_print_object(const struct ch_cli_args *a, json_t *o)
{
	const char *key;
	json_t *v;
	size_t n = json_object_size(o), i = 0;
	const char **cells;
	char *table;

	if (a->json || !json_is_object(o))
		return print_json(o);
	cells = calloc(n * 2, sizeof(*cells));
	if (!cells)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	json_object_foreach(o, key, v)
	{
		bool ts = json_is_string(v) && !strncmp(key, "tm_", 3);
		char *cell = ch_cli_cell(o, key, false);
		cells[i * 2] = key;
		if (ts && cell) {
			char rel[64], *both = NULL;
			ch_format_reltime(json_string_value(v), time(NULL), rel,
			                  sizeof(rel));
			if (strcmp(rel, "never") &&
			    asprintf(&both, "%s (%s)", cell, rel) >= 0) {
				free(cell);
				cell = both;
			}
		}
		if (json_is_array(v)) {
			free(cell);
			cell = json_dumps(v, JSON_COMPACT);
		}
		cells[i * 2 + 1] = cell;
		i++;
	}
	table = ch_format_table(cells, n, 2);
	if (table)
		fputs(table, stdout);
	free(table);
	for (i = 0; i < n; i++)
		free((char *)cells[i * 2 + 1]);
	free(cells);
	return table ? CH_CLI_OK : ch_cli_fail(CH_CLI_ERROR, "out of memory");
}

char *ch_cli_path(const char *prefix, const char *id, const char *suffix)
{
	char *e = id ? ch_cli_escape(id) : NULL, *p = NULL;

	if (id && !e)
		return NULL;
	if (asprintf(&p, "%s%s%s%s", prefix, id ? "/" : "", e ? e : "",
	             suffix ? suffix : "") < 0)
		p = NULL;
	free(e);
	return p;
}

int ch_cli_act(const struct ch_cli_args *a, const char *method,
               const char *prefix, const char *id, const char *suffix,
               json_t *body)
{
	char *p = ch_cli_path(prefix, id, suffix);
	json_t *out = NULL;
	int err;

	if (!p) {
		json_decref(body);
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	}
	err = ch_cli_request(a, method, p, body, &out);
	free(p);
	json_decref(body);
	if (!err)
		err = ch_cli_print_object(a, out);
	json_decref(out);
	return err;
}

int ch_cli_int_opt(const struct ch_cli_args *a, const char *name, long def,
                   long *out)
{
	const char *v = ch_cli_opt(a, name, NULL);
	char *end;

	*out = def;
	if (!v)
		return CH_CLI_OK;
	*out = strtol(v, &end, 10);
	if (!*v || *end)
		return ch_cli_fail(CH_CLI_USAGE, "--%s must be an integer",
		                   name);
	return CH_CLI_OK;
}

int ch_cli_list_cmd(const struct ch_cli_args *a, const char *path,
                    const char *key, const char *value, long limit,
                    const struct ch_cli_col *cols, size_t ncols)
{
	char *v = value ? ch_cli_escape(value) : NULL, *full = NULL;
	json_t *items = NULL;
	int err;

	if (asprintf(&full, "%s%s%s%s%s", path, v ? "?" : "", v ? key : "",
	             v ? "=" : "", v ? v : "") < 0)
		full = NULL;
	free(v);
	if (!full)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	err = ch_cli_list(a, full, limit, &items);
	free(full);
	if (!err)
		err = ch_cli_print_list(a, items, cols, ncols);
	json_decref(items);
	return err;
}
