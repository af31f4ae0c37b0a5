/*
 * log.h: leveled, module-tagged logging, one line per event.
 *
 * Lines go to stderr as "2026-11-21 23:40:01.123456 INFO  [api] message".
 * Thread-safe: each line is formatted into a local buffer and written with
 * one write(2). The level is process-wide, set once at start.
 */
#ifndef CH_LOG_H
#define CH_LOG_H

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
void ch_log(enum ch_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ch_log_debug(mod, ...) ch_log(CH_LOG_DEBUG, mod, __VA_ARGS__)
#define ch_log_info(mod, ...)  ch_log(CH_LOG_INFO, mod, __VA_ARGS__)
#define ch_log_warn(mod, ...)  ch_log(CH_LOG_WARN, mod, __VA_ARGS__)
#define ch_log_error(mod, ...) ch_log(CH_LOG_ERROR, mod, __VA_ARGS__)

#endif
