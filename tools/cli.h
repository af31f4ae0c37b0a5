/*
 * cli.h: what the `chorus` command-line client's files share: the parsed
 * command line, the connection to chorusd's REST API, output helpers and
 * each command group's entry point (cmd_*.c).
 *
 * The client is single-threaded; every struct here belongs to the main
 * thread. Exit codes: CH_CLI_OK 0, CH_CLI_ERROR 1 (API error other than
 * 404, connection failure), CH_CLI_USAGE 2, CH_CLI_NOT_FOUND 3.
 */
#ifndef CH_CLI_H
#define CH_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum {
	CH_CLI_OK = 0,
	CH_CLI_ERROR = 1,
	CH_CLI_USAGE = 2,
	CH_CLI_NOT_FOUND = 3
};

enum { CH_CLI_MAX_POS = 8, CH_CLI_MAX_OPTS = 16 };

/* The command line after the global options: positionals and --name value
 * pairs. */
struct ch_cli_args {
	const char *pos[CH_CLI_MAX_POS];
	int npos;
	struct {
		const char
		    *name; /* without the leading dashes, e.g. "name", "o" */
		const char *value;
	} opt[CH_CLI_MAX_OPTS];
	int nopt;
	bool help;
	bool json;
	long limit;        /* --limit, default 50 */
	const char *url;   /* base URL, e.g. http://127.0.0.1:8080/v1.0 */
	const char *token; /* never printed */
};

/* A command: its words (e.g. "conferences", "list"), handler and usage text. */
struct ch_cli_cmd {
	const char *group;
	const char *verb;        /* NULL: the group is the whole command */
	const char *usage;       /* synopsis after "chorus " */
	const char *help;        /* one line or more of explanation */
	const char *const *opts; /* allowed options, NULL-terminated */
	int min_pos, max_pos;    /* positionals after the command words */
	int (*run)(struct ch_cli_args *a);
};

/* The value of option `name` (last one wins), or `def`. */
const char *ch_cli_opt(const struct ch_cli_args *a, const char *name,
                       const char *def);

/* Prints "chorus: " + message to stderr; returns `code`. */
int ch_cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * One API request: `method` on `path` (after the base URL, e.g.
 * "/conferences"), `body` a JSON body or NULL (not stolen). On 2xx *out
 * gets the decoded answer (new reference; may be NULL when out is NULL) and
 * CH_CLI_OK is returned; else the API's error message goes to stderr and
 * CH_CLI_NOT_FOUND (404) or CH_CLI_ERROR is returned.
 */
int ch_cli_request(const struct ch_cli_args *a, const char *method,
                   const char *path, json_t *body, json_t **out);

/*
 * GET of a list (`path` may carry a query) following next_page_token until
 * `limit` items (0: all); *out gets the array of items.
 */
int ch_cli_list(const struct ch_cli_args *a, const char *path, long limit,
                json_t **out);

/*
 * Streams GET `path` into `file` (created, or replaced), with a progress bar
 * on stderr when it is a terminal; `size` the expected size (0 unknown).
 */
int ch_cli_download(const struct ch_cli_args *a, const char *path,
                    const char *file, long long size);

/* A column of a table: header and the JSON field shown (a dotted path). */
struct ch_cli_col {
	const char *header;
	const char *field;
	bool reltime; /* an API timestamp shown as "3m ago" */
};

/* Prints `items` (array) as a table of `cols`, or the JSON array with --json.
 */
int ch_cli_print_list(const struct ch_cli_args *a, json_t *items,
                      const struct ch_cli_col *cols, size_t ncols);

/*
 * A list command: GET `path` (plus `?key=value` when value is set, escaped)
 * up to `limit` items (0: all), printed as a table of `cols` or JSON.
 */
int ch_cli_list_cmd(const struct ch_cli_args *a, const char *path,
                    const char *key, const char *value, long limit,
                    const struct ch_cli_col *cols, size_t ncols);

/* Prints one resource: "field  value" lines (scalars; objects as JSON), or the
 * JSON. */
int ch_cli_print_object(const struct ch_cli_args *a, json_t *o);

/* A cell's text: the field as a string (numbers, booleans, "-" when absent). */
char *ch_cli_cell(json_t *o, const char *field, bool reltime);

/* Percent-encodes a path segment or query value into a malloc'ed string. */
char *ch_cli_escape(const char *s);

/*
 * The usual command: `method` on prefix/ID/suffix (ID escaped; NULL: no
 * ID part), `body` stolen (may be NULL), the answer printed as one
 * resource. Returns the exit code.
 */
int ch_cli_act(const struct ch_cli_args *a, const char *method,
               const char *prefix, const char *id, const char *suffix,
               json_t *body);

/* prefix/ID/suffix with ID escaped, malloc'ed (NULL: out of memory). */
char *ch_cli_path(const char *prefix, const char *id, const char *suffix);

/* Parses an integer option (`name`, default `def`) into *out; CH_CLI_USAGE if
 * it is not one. */
int ch_cli_int_opt(const struct ch_cli_args *a, const char *name, long def,
                   long *out);

/* The command groups (cmd_*.c): tables of commands, NULL-terminated by group.
 */
extern const struct ch_cli_cmd ch_cmd_conferences[];
extern const struct ch_cli_cmd ch_cmd_participants[];
extern const struct ch_cli_cmd ch_cmd_calls[];
extern const struct ch_cli_cmd ch_cmd_recordings[];
extern const struct ch_cli_cmd ch_cmd_media[];
extern const struct ch_cli_cmd ch_cmd_transcribe[];
extern const struct ch_cli_cmd ch_cmd_events[];
extern const struct ch_cli_cmd ch_cmd_top[];

/* The live event stream (ws_client.c): connects, subscribes, prints until
 * closed. */
int ch_ws_client_tail(const struct ch_cli_args *a, const char *conference);

/*
 * Connects to the event stream, subscribed to `conference` when not NULL
 * (else every event of the token's customer). *fd gets the socket (the
 * caller closes it) on CH_CLI_OK, -1 otherwise. Returns the exit code.
 */
int ch_ws_client_open(const struct ch_cli_args *a, const char *conference,
                      int *fd);

/*
 * Reads the next text message of the stream on `fd` (blocking; pings are
 * answered on the way). CH_CLI_OK with *msg a malloc'ed NUL-terminated
 * text the caller frees, or *msg NULL when the server closed the stream;
 * CH_CLI_ERROR when the connection broke.
 */
int ch_ws_client_next(int fd, char **msg);

#endif
