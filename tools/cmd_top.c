/*
 * cmd_top.c: `chorus top`: a live view of the progressing conferences and
 * their participants (caller, status, muted, talking, level, codec, loss,
 * jitter, MOS), redrawn in place on a terminal.
 *
 * Each refresh is one list of conferences plus one GET per present
 * participant (its live `stats`: level, talking, codec, packets, lost,
 * jitter). Between refreshes the WebSocket event stream (ws_client.c)
 * keeps the talking column live (conference.member.talking) and asks for
 * an early refresh when someone joins, leaves or is muted (at most one a
 * second). On a terminal the view uses the alternate screen, hides the
 * cursor, reads keys without echo ('q' quits) and puts all of that back on
 * exit, Ctrl-C, SIGTERM or SIGHUP; error messages are caught and shown on
 * the status line instead of scribbling over the screen. Elsewhere (a pipe,
 * a file) each frame is printed as plain text, a blank line between
 * frames; --once prints one frame and exits (--json: the snapshot's JSON,
 * each conference with a "participants" array). Main thread only; the signal
 * handlers only set flags.
 */
#include "cli.h"
#include "format.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
	TOP_MAX_MEMBERS = 200, /* GETs per refresh, at most */
	TOP_LINE = 512,
	TOP_LEVEL_WIDTH = 10,
};

#define NIL_UUID "00000000-0000-0000-0000-000000000000"

static volatile sig_atomic_t top_stop, top_resized;

/*
 * The terminal as found, to put back (main thread; the handlers never
 * touch it). Set by screen_enter, cleared by screen_leave.
 */
static struct {
	bool active; /* alternate screen entered */
	bool raw;    /* stdin's flags changed */
	struct termios saved;
	int saved_err; /* the real stderr while errors are caught, or -1 */
	FILE *errs;    /* where stderr goes meanwhile */
} term = {.saved_err = -1};

/* What one refresh saw. Owned by the loop; snap_clear frees. */
struct snap {
	json_t *confs;   /* array of conferences, each with "participants" added
	                    (their conferencecalls) */
	json_t *talking; /* object: participant id -> true/false, live */
	char status[160]; /* the last error, shown on the status line */
	int members, shown;
};

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		top_resized = 1;
	else
		top_stop = 1;
}

static void screen_leave(void)
{
	if (term.raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &term.saved);
	term.raw = false;
	if (term.active) {
		/* cursor back, main screen back */
		fputs("\033[0m\033[?25h\033[?1049l", stdout);
		fflush(stdout);
	}
	term.active = false;
	if (term.saved_err >= 0) {
		dup2(term.saved_err, STDERR_FILENO);
		close(term.saved_err);
	}
	term.saved_err = -1;
	if (term.errs)
		fclose(term.errs);
	term.errs = NULL;
}

/* The alternate screen, no cursor, keys without echo, stderr caught. */
static void screen_enter(void)
{
	struct termios t;

	atexit(screen_leave);
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &term.saved)) {
		t = term.saved;
		t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		term.raw = !tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	term.errs = tmpfile();
	if (term.errs) {
		term.saved_err = dup(STDERR_FILENO);
		if (term.saved_err < 0 ||
		    dup2(fileno(term.errs), STDERR_FILENO) < 0) {
			fclose(term.errs);
			term.errs = NULL;
		}
	}
	fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
	fflush(stdout);
	term.active = true;
}

/* The last line stderr got while caught (into out; "" none); then empties
 * the catch. */
static void take_errors(char *out, size_t size)
{
	char buf[1024];
	long end;
	size_t n;
	char *line, *nl;

	if (!term.errs || size == 0)
		return;
	end = lseek(STDERR_FILENO, 0, SEEK_END);
	if (end <= 0)
		return;
	if (lseek(STDERR_FILENO,
	          end > (long)sizeof(buf) - 1 ? end - (long)sizeof(buf) + 1 : 0,
	          SEEK_SET) < 0)
		return;
	n = (size_t)read(STDERR_FILENO, buf, sizeof(buf) - 1);
	if (n > sizeof(buf) - 1)
		n = 0;
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	line = buf;
	while ((nl = strchr(line, '\n')))
		line = nl + 1;
	if (*line)
		snprintf(out, size, "%s",
		         !strncmp(line, "chorus: ", 8) ? line + 8 : line);
	if (ftruncate(STDERR_FILENO, 0) == 0)
		lseek(STDERR_FILENO, 0, SEEK_SET);
}

static void snap_clear(struct snap *s)
{
	json_decref(s->confs);
	s->confs = NULL;
}

static bool is_flag(const struct ch_cli_args *a, const char *name)
{
	int i;

	for (i = 0; i < a->nopt; i++)
		if (!strcmp(a->opt[i].name, name))
			return true;
	return false;
}

/*
 * One refresh: the conferences (progressing, or the one of --conference)
 * and each present participant with its stats. Returns the exit code of
 * the conference part (a participant that left meanwhile is skipped).
 */
static int fetch(const struct ch_cli_args *a, const char *only, struct snap *s)
{
	json_t *list = NULL, *confs = json_array(), *c;
	size_t i, j;
	int err;

	if (!confs)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	if (only) {
		char *p = ch_cli_path("/conferences", only, NULL);
		json_t *one = NULL;
		err = p ? ch_cli_request(a, "GET", p, NULL, &one)
		        : ch_cli_fail(CH_CLI_ERROR, "out of memory");
		free(p);
		list = json_array();
		if (!err)
			json_array_append_new(list, one);
	} else {
		err = ch_cli_list(a, "/conferences", a->limit, &list);
	}
	if (err) {
		json_decref(list);
		json_decref(confs);
		return err;
	}
	s->members = s->shown = 0;
	json_array_foreach(list, i, c)
	{
		const char *st =
		    json_string_value(json_object_get(c, "status"));
		json_t *ids = json_object_get(c, "conferencecall_ids"), *id;
		json_t *members = json_array();
		if (!only && (!st || strcmp(st, "progressing"))) {
			json_decref(members);
			continue;
		}
		json_array_foreach(ids, j, id)
		{
			char *p;
			json_t *cc = NULL, *talk;
			s->members++;
			if (!json_is_string(id) || s->shown >= TOP_MAX_MEMBERS)
				continue;
			p = ch_cli_path("/conferencecalls",
			                json_string_value(id), NULL);
			if (p && !ch_cli_request(a, "GET", p, NULL, &cc)) {
				talk = json_object_get(
				    json_object_get(cc, "stats"), "talking");
				/* the media's own state is the freshest */
				if (json_is_boolean(talk))
					json_object_set(s->talking,
					                json_string_value(id),
					                talk);
				json_array_append_new(members, cc);
				s->shown++;
			}
			free(p);
		}
		json_object_set_new(c, "participants", members);
		json_array_append(confs, c);
	}
	json_decref(list);
	snap_clear(s);
	s->confs = confs;
	return CH_CLI_OK;
}

/* A growing list of frame lines (malloc'ed each). */
struct lines {
	char **v;
	size_t n, cap;
	bool *hot; /* per line: a talking participant's (highlighted) */
};

static void add_line(struct lines *l, bool hot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_line(struct lines *l, bool hot, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));
		bool *h = v ? realloc(l->hot, cap * sizeof(*h)) : NULL;
		if (v)
			l->v = v;
		if (!v || !h)
			return;
		l->hot = h;
		l->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	l->hot[l->n] = hot;
	l->v[l->n++] = s;
}

static void free_lines(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->hot);
}

static const char *str(json_t *o, const char *key, const char *def)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v && *v ? v : def;
}

/* One participant's cells (each malloc'ed) into row[]; whether it talks. */
enum { NCOLS = 10 };

static bool member_cells(json_t *cc, json_t *talking, char *row[NCOLS])
{
	json_t *st = json_object_get(cc, "stats");
	json_t *q = json_object_get(cc, "quality");
	json_t *t = json_object_get(talking, str(cc, "id", ""));
	bool talks = json_is_true(t);
	char buf[64];

	row[0] = strdup(str(cc, "id", "-"));
	row[1] = strdup(str(cc, "caller_id", "-"));
	row[2] = strdup(str(cc, "status", "-"));
	row[3] =
	    strdup(json_is_true(json_object_get(cc, "muted")) ? "yes" : "no");
	row[4] = strdup(talks ? "yes" : "no");
	if (st) {
		long long lost =
		    json_integer_value(json_object_get(st, "lost"));
		long long in =
		    json_integer_value(json_object_get(st, "packets_in"));
		row[5] = strdup(ch_format_level_bar(
		    (int)json_integer_value(json_object_get(st, "level")),
		    TOP_LEVEL_WIDTH, buf, sizeof(buf)));
		row[6] = strdup(str(st, "codec", "-"));
		snprintf(buf, sizeof(buf), "%.1f%%",
		         ch_format_loss_pct(lost, in));
		row[7] = strdup(buf);
		snprintf(buf, sizeof(buf), "%.1fms",
		         json_number_value(json_object_get(st, "jitter_ms")));
		row[8] = strdup(buf);
	} else {
		/* no live media leg (joining, or a call that is gone) */
		row[5] = strdup("-");
		row[6] = strdup(str(q, "codec", "-"));
		row[7] = strdup("-");
		row[8] = strdup("-");
	}
	if (json_is_number(json_object_get(q, "mos")) &&
	    json_number_value(json_object_get(q, "mos")) > 0) {
		snprintf(buf, sizeof(buf), "%.1f",
		         json_number_value(json_object_get(q, "mos")));
		row[9] = strdup(buf);
	} else {
		row[9] = strdup("-");
	}
	return talks;
}

/* The participants' table of one conference, indented, into l. */
static void add_members(struct lines *l, json_t *members, json_t *talking)
{
	static const char *const head[NCOLS] = {
	    "PARTICIPANT", "CALLER", "STATUS", "MUTED",  "TALKING",
	    "LEVEL",       "CODEC",  "LOSS",   "JITTER", "MOS"};
	size_t n = json_array_size(members), r, c;
	const char **cells = calloc((n + 1) * NCOLS, sizeof(*cells));
	bool *hot = calloc(n + 1, sizeof(*hot));
	char *table = NULL, *line, *nl;

	if (cells && hot) {
		for (c = 0; c < NCOLS; c++)
			cells[c] = head[c];
		for (r = 0; r < n; r++)
			hot[r + 1] =
			    member_cells(json_array_get(members, r), talking,
			                 (char **)cells + (r + 1) * NCOLS);
		table = ch_format_table(cells, n + 1, NCOLS);
	}
	for (line = table, r = 0; line && *line; line = nl + 1, r++) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		add_line(l, r <= n && hot[r], "  %s", line);
	}
	free(table);
	for (r = NCOLS; cells && r < (n + 1) * NCOLS; r++)
		free((char *)cells[r]);
	free(cells);
	free(hot);
}

/* The whole frame as lines. */
static void render(const struct ch_cli_args *a, const struct snap *s,
                   double interval, bool live, struct lines *l)
{
	char clock[16], rel[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	json_t *c;
	int talkers = 0;
	const char *k;
	json_t *v;

	json_object_foreach(s->talking, k, v) talkers += json_is_true(v);
	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	add_line(l, false,
	         "chorus top  %s  %s  %zu conference%s, %d participant%s, "
	         "%d talking",
	         a->url, clock, json_array_size(s->confs),
	         json_array_size(s->confs) == 1 ? "" : "s", s->members,
	         s->members == 1 ? "" : "s", talkers);
	add_line(l, false, "every %gs%s%s", interval,
	         live ? ", talking live from the event stream" : "",
	         term.active ? "; q quits" : "");
	if (s->status[0])
		add_line(l, false, "! %s", s->status);
	if (s->shown < s->members)
		add_line(l, false, "! showing %d of %d participants", s->shown,
		         s->members);
	add_line(l, false, "%s", "");
	if (!json_array_size(s->confs))
		add_line(l, false, "No progressing conference.");
	json_array_foreach(s->confs, i, c)
	{
		json_t *m = json_object_get(c, "participants");
		const char *rec = str(c, "recording_id", NIL_UUID);
		const char *play = str(c, "playback_status", "stopped");
		const char *tr = str(c, "transcribe_id", NIL_UUID);
		ch_format_reltime(str(c, "tm_create", ""), now, rel,
		                  sizeof(rel));
		add_line(
		    l, false,
		    "%s  %s  %s  %zu participant%s%s%s%s%s  created %s",
		    str(c, "name", "(no name)"), str(c, "id", "-"),
		    str(c, "status", "-"),
		    json_array_size(json_object_get(c, "conferencecall_ids")),
		    json_array_size(json_object_get(c, "conferencecall_ids")) ==
		            1
		        ? ""
		        : "s",
		    strcmp(rec, NIL_UUID) ? "  recording" : "",
		    strcmp(tr, NIL_UUID) ? "  transcribing" : "",
		    strcmp(play, "stopped") ? "  playback " : "",
		    strcmp(play, "stopped") ? play : "", rel);
		if (json_array_size(m))
			add_members(l, m, s->talking);
		else
			add_line(l, false, "  (nobody)");
		add_line(l, false, "%s", "");
	}
}

/* Writes the frame: in place on the terminal (cut to its size), else as
 * plain lines and a blank one. */
static void draw(struct lines *l, bool tty)
{
	struct winsize ws = {0};
	size_t rows = 50, cols = 200, i, n;

	if (!tty) {
		for (i = 0; i < l->n; i++)
			puts(l->v[i]);
		putchar('\n');
		fflush(stdout);
		return;
	}
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		rows = ws.ws_row;
		cols = ws.ws_col;
	}
	n = l->n < rows ? l->n : rows;
	fputs("\033[H", stdout);
	for (i = 0; i < n; i++) {
		bool more = i == n - 1 && l->n > rows;
		char extra[64];
		if (more) {
			snprintf(
			    extra, sizeof(extra),
			    "... %zu more lines (a taller window shows them)",
			    l->n - rows + 1);
			fputs(extra, stdout);
		} else {
			ch_format_fit(l->v[i], cols);
			if (l->hot[i])
				printf("\033[1;32m%s\033[0m", l->v[i]);
			else
				fputs(l->v[i], stdout);
		}
		fputs("\033[K", stdout);
		if (i + 1 < n)
			fputs("\r\n", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

/* Folds one stream message into the snapshot; whether to refresh soon. */
static bool on_event(struct snap *s, const char *text, bool *redraw)
{
	json_t *e = json_loads(text, 0, NULL);
	const char *type = json_string_value(json_object_get(e, "event"));
	const char *who = json_string_value(json_object_get(e, "session_uuid"));
	bool refresh = false;

	if (type && who && !strcmp(type, "conference.member.talking")) {
		json_object_set_new(
		    s->talking, who,
		    json_boolean(json_is_true(json_object_get(e, "talking"))));
		*redraw = true;
	} else if (type && (!strncmp(type, "conference.member.", 18) ||
	                    !strcmp(type, "conference.created") ||
	                    !strcmp(type, "conference.updated") ||
	                    !strcmp(type, "conference.destroyed"))) {
		refresh = strcmp(type, "conference.member.quality") != 0;
		if (who && !strcmp(type, "conference.member.left"))
			json_object_del(s->talking, who);
	}
	json_decref(e);
	return refresh;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The live loop: refresh, draw, wait for keys, events or the next tick. */
static int loop(const struct ch_cli_args *a, const char *only, double interval,
                struct snap *s, bool tty)
{
	int ws = -1, err;
	double next = now_s() + interval, last = now_s(), ws_retry = 0;
	bool redraw = true, soon = false;

	while (!top_stop) {
		double t = now_s();
		struct pollfd p[2];
		int np = 0, timeout;
		if (ws < 0 && t >= ws_retry) {
			/* the stream for talking; without it, stats only */
			if (ch_ws_client_open(a, only, &ws))
				ws_retry = t + 10 * interval;
		}
		if (t >= next || (soon && t - last >= 1.0)) {
			s->status[0] = '\0';
			err = fetch(a, only, s);
			if (err == CH_CLI_NOT_FOUND && only) {
				snap_clear(s);
				s->confs = json_array();
			}
			last = t;
			next = t + interval;
			soon = false;
			redraw = true;
		}
		take_errors(s->status, sizeof(s->status));
		if (redraw || top_resized) {
			struct lines l = {0};
			render(a, s, interval, ws >= 0, &l);
			draw(&l, tty);
			free_lines(&l);
			redraw = false;
			top_resized = 0;
		}
		if (ws >= 0)
			p[np++] = (struct pollfd){.fd = ws, .events = POLLIN};
		if (term.raw)
			p[np++] = (struct pollfd){.fd = STDIN_FILENO,
			                          .events = POLLIN};
		/* the next tick, or the early refresh an event asked for */
		t = soon && last + 1.0 < next ? last + 1.0 : next;
		timeout = (int)ceil((t - now_s()) * 1000);
		if (timeout < 0)
			timeout = 0;
		if (poll(p, (nfds_t)np, timeout) <= 0)
			continue; /* a tick, or a signal */
		for (int i = 0; i < np; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (p[i].fd == STDIN_FILENO) {
				char ch[16];
				ssize_t n = read(STDIN_FILENO, ch, sizeof(ch));
				for (ssize_t j = 0; j < n; j++)
					if (ch[j] == 'q' || ch[j] == 'Q')
						top_stop = 1;
				continue;
			}
			char *msg = NULL;
			if (ch_ws_client_next(ws, &msg) || !msg) {
				close(ws);
				ws = -1;
				ws_retry = now_s() + interval;
				soon = true;
			} else {
				soon |= on_event(s, msg, &redraw);
				if (!tty)
					redraw =
					    false; /* frames at ticks only */
			}
			free(msg);
		}
	}
	if (ws >= 0)
		close(ws);
	return CH_CLI_OK;
}

static int top(struct ch_cli_args *a)
{
	const char *only = ch_cli_opt(a, "conference", NULL);
	const char *iv = ch_cli_opt(a, "interval", "2");
	struct snap s = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	bool tty = isatty(STDOUT_FILENO);
	double interval;
	char *end;
	int err;

	interval = strtod(iv, &end);
	if (!*iv || *end || !(interval >= 0.2 && interval <= 3600))
		return ch_cli_fail(CH_CLI_USAGE,
		                   "--interval must be seconds, 0.2 to 3600");
	s.talking = json_object();
	if (!s.talking)
		return ch_cli_fail(CH_CLI_ERROR, "out of memory");
	/* the first look: a wrong URL, token or id ends it at once */
	err = fetch(a, only, &s);
	if (err || is_flag(a, "once")) {
		if (!err && a->json) {
			/* the conferences, each with its participants */
			char *d = json_dumps(s.confs, JSON_INDENT(2));
			if (d)
				puts(d);
			else
				err =
				    ch_cli_fail(CH_CLI_ERROR, "out of memory");
			free(d);
		} else if (!err) {
			struct lines l = {0};
			render(a, &s, interval, false, &l);
			draw(&l, false);
			free_lines(&l);
		}
		snap_clear(&s);
		json_decref(s.talking);
		return err;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	if (tty)
		screen_enter();
	err = loop(a, only, interval, &s, tty);
	screen_leave();
	snap_clear(&s);
	json_decref(s.talking);
	return err;
}

static const char *const opts[] = {"conference", "interval", "once", NULL};

const struct ch_cli_cmd ch_cmd_top[] = {
    {"top", NULL, "top [--conference ID] [--interval S] [--once]",
     "A live view of the progressing conferences and their participants:\n"
     "caller, status, muted, who is talking, input level, codec, packet loss,\n"
     "jitter and MOS, redrawn in place every --interval seconds (default 2;\n"
     "the talking column follows the event stream between refreshes).\n"
     "--conference ID shows that conference only; --once prints one frame\n"
     "and exits (with --json: the conferences, each with a \"participants\"\n"
     "array of its conferencecalls and their live stats). On a terminal 'q' or "
     "Ctrl-C quits; elsewhere each frame is\n"
     "printed as plain text, a blank line between frames.",
     opts, 0, 0, top},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
