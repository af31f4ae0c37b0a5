/*
 * format.h: the pure parts of the `chorus` command-line client: relative
 * times ("3m ago"), aligned text tables, the config file's parsing and
 * the cells of `chorus top` (level bars, loss, fitting lines to a width).
 * No I/O, no global state: callable from any thread, unit-tested in
 * tests/unit/test_cli_format.c.
 */
#ifndef CH_CLI_FORMAT_H
#define CH_CLI_FORMAT_H

#include <stddef.h>
#include <time.h>

/*
 * Writes how long before `now` the API timestamp `ts` ("YYYY-MM-DD
 * HH:MM:SS.ffffff", UTC) was: "12s ago", "3m ago", "5h ago", "2d ago",
 * "in 4m" for a future one, "never" for the 9999 year, `ts` itself when it
 * does not parse. Returns `out`.
 */
char *ch_format_reltime(const char *ts, time_t now, char *out, size_t size);

/* Parses an API timestamp to seconds since the epoch (UTC); 0 on success,
 * EINVAL. */
int ch_format_parse_ts(const char *ts, time_t *out);

/*
 * A table: `ncols` columns, `nrows` rows (row 0 is the header), cells
 * row-major in `cells` (NULL cells print as ""). Writes the aligned table
 * (each column as wide as its widest cell, two spaces between columns, no
 * trailing spaces, one line per row) into a malloc'ed string the caller
 * frees; NULL when out of memory. Widths count UTF-8 characters.
 */
char *ch_format_table(const char *const *cells, size_t nrows, size_t ncols);

/*
 * Parses the config file's text: lines `key = value` (spaces around `=`
 * and at the ends ignored, `#` starts a comment line, blank lines skipped).
 * Known keys `url` and `token`: their values are strdup'ed into *url and
 * *token (replacing what is there; the caller frees). Returns 0, or EINVAL
 * with *line set to the 1-based line that is not `key = value` or names
 * an unknown key, ENOMEM.
 */
int ch_format_config_parse(const char *text, char **url, char **token,
                           int *line);

/*
 * Writes a level bar for an audio level 0..100 (clamped): `width` cells
 * of '#' (filled) and '.' (empty), then the number, e.g. "#####.....  52".
 * `size` must hold width + 5 bytes, else out gets "". Returns `out`.
 */
char *ch_format_level_bar(int level, int width, char *out, size_t size);

/* Percent of packets lost: lost / (lost + received) * 100; 0 when none. */
double ch_format_loss_pct(long long lost, long long received);

/*
 * Cuts `line` in place after `cols` characters (UTF-8 aware; a cut line
 * ends in "~" so the reader sees it goes on). Returns its new length in
 * bytes.
 */
size_t ch_format_fit(char *line, size_t cols);

#endif
