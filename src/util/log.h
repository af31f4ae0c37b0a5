/*
 * log.h: leveled, module-tagged logging, one line per event.
 *
 * Lines go to stderr as "2026-11-21 23:40:01.123456 INFO  [api] message".
 * When stderr is the systemd journal (ch_log_open finds $JOURNAL_STREAM
 * naming stderr's device and inode, see systemd.exec(5)), a line is
 * "<4>WARN  [sip] message" instead: no time (journald stamps every line)
 * and the sd-daemon(3) priority prefix, which journald takes as the
 * line's priority (journalctl -p warning).
 * Thread-safe: each line is formatted into a local buffer and written with
 * one write(2). The level and the output style are process-wide, set once
 * at start, before other threads run.
 */
#ifndef CH_LOG_H
#define CH_LOG_H

#include <stdbool.h>

enum ch_log_level {
	CH_LOG_DEBUG = 0,
	CH_LOG_INFO,
	CH_LOG_WARN,
	CH_LOG_ERROR,
};

/* Parses "debug|info|warn|error" into *level. Returns 0, or -1 if unknown. */
int ch_log_level_parse(const char *s, enum ch_log_level *level);
void ch_log_set_level(enum ch_log_level level);
enum ch_log_level ch_log_get_level(void);
/* Chooses the output style: the journal's when $JOURNAL_STREAM names
 * stderr (ch_log_journal_stream_is on fstat(2) of fd 2), the plain one
 * otherwise. Call at start, before other threads log; may be called again
 * (tests) after stderr changed. Returns true if the journal's was chosen. */
bool ch_log_open(void);
/* Whether env, a $JOURNAL_STREAM value ("DEVICE:INODE" in decimal), names
 * the file with that device and inode. NULL or malformed: false. */
bool ch_log_journal_stream_is(const char *env, unsigned long long dev,
                              unsigned long long ino);
void ch_log(enum ch_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A message for the person who started the program about why it stops
 * (a bad option, a port in use): fmt as given, on stderr, whatever the
 * level; in the journal's style with the error priority "<3>" before it.
 * Give one line ending in "\n". */
void ch_log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ch_log_debug(mod, ...) ch_log(CH_LOG_DEBUG, mod, __VA_ARGS__)
#define ch_log_info(mod, ...)  ch_log(CH_LOG_INFO, mod, __VA_ARGS__)
#define ch_log_warn(mod, ...)  ch_log(CH_LOG_WARN, mod, __VA_ARGS__)
#define ch_log_error(mod, ...) ch_log(CH_LOG_ERROR, mod, __VA_ARGS__)

#endif
