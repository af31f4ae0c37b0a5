/*
 * main.c: the `chorus` command: global options (--url, --token, --json,
 * --limit, --help), the connection settings (flags, then CHORUS_URL /
 * CHORUS_TOKEN, then ~/.config/chorus/config) and the dispatch to the
 * command tables of cmd_*.c. Single-threaded.
 */
#include "cli.h"
#include "format.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ch_cli_cmd *const groups[] = {
    ch_cmd_conferences, ch_cmd_participants, ch_cmd_calls,  ch_cmd_recordings,
    ch_cmd_media,       ch_cmd_transcribe,   ch_cmd_events, ch_cmd_top,
};

int ch_cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("chorus: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

const char *ch_cli_opt(const struct ch_cli_args *a, const char *name,
                       const char *def)
{
	const char *v = def;
	int i;

	for (i = 0; i < a->nopt; i++)
		if (!strcmp(a->opt[i].name, name))
			v = a->opt[i].value;
	return v;
}

static void usage_all(FILE *f)
{
	size_t g;
	const struct ch_cli_cmd *c;

	fputs(
	    "usage: chorus [--url URL] [--token TOKEN] [--json] COMMAND ...\n\n"
	    "Commands:\n",
	    f);
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (c = groups[g]; c->group; c++)
			fprintf(f, "  chorus %s\n", c->usage);
	fputs("\nConnection: --url/--token, else CHORUS_URL/CHORUS_TOKEN, else "
	      "~/.config/chorus/config (url = ..., token = ...).\n"
	      "Exit codes: 0 ok, 1 error, 2 usage, 3 not found. "
	      "`chorus COMMAND --help` for one command.\n",
	      f);
}

static void usage_cmd(FILE *f, const struct ch_cli_cmd *c)
{
	fprintf(f, "usage: chorus %s\n\n%s\n", c->usage, c->help);
	fputs("\nGlobal options: --url URL, --token TOKEN, --json (the API's "
	      "JSON), "
	      "--limit N (lists, default 50)\n",
	      f);
}

/* Reads ~/.config/chorus/config into url/token where they are still unset. */
static int read_config(char **url, char **token)
{
	const char *home = getenv("HOME");
	char path[4096], *text = NULL, *u = NULL, *t = NULL;
	size_t len = 0;
	FILE *f;
	int line = 0, err;

	if (!home)
		return 0;
	snprintf(path, sizeof(path), "%s/.config/chorus/config", home);
	f = fopen(path, "r");
	if (!f)
		return 0;
	text = calloc(1, 65537);
	if (text)
		len = fread(text, 1, 65536, f);
	fclose(f);
	if (!text)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	text[len] = '\0';
	err = ch_format_config_parse(text, &u, &t, &line);
	free(text);
	if (err) {
		free(u);
		free(t);
		return ch_cli_fail(
		    CH_CLI_USAGE,
		    "%s:%d: expected `url = ...` or `token = ...`", path, line);
	}
	if (!*url)
		*url = u;
	else
		free(u);
	if (!*token)
		*token = t;
	else
		free(t);
	return 0;
}

static bool takes_value(const char *name)
{
	return strcmp(name, "json") && strcmp(name, "help") &&
	       strcmp(name, "once") && strcmp(name, "h");
}

/* Splits argv into words, global options and command options. */
static int parse(int argc, char **argv, struct ch_cli_args *a,
                 const char **words, int *nwords)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char name[64];
		const char *value = NULL, *eq;
		if (arg[0] != '-' || !strcmp(arg, "-") ||
		    (arg[1] >= '0' && arg[1] <= '9')) {
			if (*nwords < CH_CLI_MAX_POS + 2)
				words[(*nwords)++] = arg;
			else
				return ch_cli_fail(CH_CLI_USAGE,
				                   "too many arguments");
			continue;
		}
		if (!strcmp(arg, "--")) {
			for (i++; i < argc && *nwords < CH_CLI_MAX_POS + 2; i++)
				words[(*nwords)++] = argv[i];
			break;
		}
		arg += arg[1] == '-' ? 2 : 1;
		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s",
		         eq ? (int)(eq - arg) : (int)strlen(arg), arg);
		if (eq)
			value = eq + 1;
		if (takes_value(name) && !value) {
			if (i + 1 >= argc)
				return ch_cli_fail(CH_CLI_USAGE,
				                   "--%s needs a value", name);
			value = argv[++i];
		}
		if (!strcmp(name, "help") || !strcmp(name, "h"))
			a->help = true;
		else if (!strcmp(name, "json"))
			a->json = true;
		else if (!strcmp(name, "url") && *nwords == 0)
			a->url = value; /* after the command, play's --url */
		else if (!strcmp(name, "token"))
			a->token = value;
		else if (!strcmp(name, "limit")) {
			char *end;
			a->limit = strtol(value, &end, 10);
			if (*end || a->limit < 1)
				return ch_cli_fail(
				    CH_CLI_USAGE,
				    "--limit must be a number above 0");
		} else {
			if (a->nopt >= CH_CLI_MAX_OPTS)
				return ch_cli_fail(CH_CLI_USAGE,
				                   "too many options");
			a->opt[a->nopt].name = strndup(name, sizeof(name));
			a->opt[a->nopt].value = value;
			a->nopt++;
		}
	}
	return 0;
}

/* Finds the command for the words; *nused gets how many words it took. */
static const struct ch_cli_cmd *find(const char **words, int nwords, int *nused,
                                     bool *group_known)
{
	size_t g;
	const struct ch_cli_cmd *c;

	*group_known = false;
	if (nwords < 1)
		return NULL;
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (c = groups[g]; c->group; c++) {
			if (strcmp(c->group, words[0]))
				continue;
			*group_known = true;
			if (!c->verb) {
				*nused = 1;
				return c;
			}
			if (nwords >= 2 && !strcmp(c->verb, words[1])) {
				*nused = 2;
				return c;
			}
		}
	return NULL;
}

static bool allows(const struct ch_cli_cmd *c, const char *name)
{
	const char *const *o;

	for (o = c->opts; o && *o; o++)
		if (!strcmp(*o, name))
			return true;
	return false;
}

static void usage_group(FILE *f, const char *group)
{
	size_t g;
	const struct ch_cli_cmd *c;

	fputs("usage:\n", f);
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (c = groups[g]; c->group; c++)
			if (!strcmp(c->group, group))
				fprintf(f, "  chorus %s\n", c->usage);
}

static int run(int argc, char **argv, struct ch_cli_args *a)
{
	const char *words[CH_CLI_MAX_POS + 2];
	int nwords = 0, nused = 0, i, err;
	bool group_known;
	const struct ch_cli_cmd *c;
	char *url = NULL, *token = NULL;

	err = parse(argc, argv, a, words, &nwords);
	if (err)
		return err;
	c = find(words, nwords, &nused, &group_known);
	if (!c) {
		if (nwords == 0 && a->help) {
			usage_all(stdout);
			return CH_CLI_OK;
		}
		if (group_known) {
			usage_group(a->help ? stdout : stderr, words[0]);
			return a->help ? CH_CLI_OK : CH_CLI_USAGE;
		}
		if (nwords)
			ch_cli_fail(CH_CLI_USAGE, "unknown command `%s`",
			            words[0]);
		usage_all(stderr);
		return CH_CLI_USAGE;
	}
	if (a->help) {
		usage_cmd(stdout, c);
		return CH_CLI_OK;
	}
	for (i = 0; i < a->nopt; i++) {
		if (!strcmp(a->opt[i].name, "url") && !allows(c, "url")) {
			a->url = a->opt[i].value; /* the connection's, given
			                             after the command */
			continue;
		}
		if (!allows(c, a->opt[i].name)) {
			ch_cli_fail(CH_CLI_USAGE, "unknown option --%s",
			            a->opt[i].name);
			usage_cmd(stderr, c);
			return CH_CLI_USAGE;
		}
	}
	for (i = nused; i < nwords; i++)
		a->pos[a->npos++] = words[i];
	if (a->npos < c->min_pos || a->npos > c->max_pos) {
		ch_cli_fail(CH_CLI_USAGE, "%s arguments",
		            a->npos < c->min_pos ? "missing" : "too many");
		usage_cmd(stderr, c);
		return CH_CLI_USAGE;
	}
	if (!a->url)
		a->url = getenv("CHORUS_URL");
	if (!a->token)
		a->token = getenv("CHORUS_TOKEN");
	if (!a->url || !a->token) {
		err = read_config(&url, &token);
		if (err)
			return err;
		if (!a->url)
			a->url = url;
		if (!a->token)
			a->token = token;
	}
	if (!a->url || !*a->url)
		a->url = "http://127.0.0.1:8080/v1.0";
	if (!a->token || !*a->token)
		return ch_cli_fail(
		    CH_CLI_USAGE,
		    "no API token: give --token, set CHORUS_TOKEN, "
		    "or put `token = ...` in ~/.config/chorus/config");
	err = c->run(a);
	free(url);
	free(token);
	return err;
}

int main(int argc, char **argv)
{
	struct ch_cli_args a = {.limit = 50};
	int err, i;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	err = run(argc, argv, &a);
	for (i = 0; i < a.nopt; i++)
		free((char *)a.opt[i].name);
	curl_global_cleanup();
	return err;
}
