/*
 * log: the one logger of every program.
 *
 * In the foreground it writes to stderr with a millisecond timestamp, the
 * program's identity and the level; daemonised it writes to syslog. Library
 * code logs little: it returns an error and lets the caller decide.
 */
#ifndef ITL_LOG_H
#define ITL_LOG_H

#include "err.h"

enum log_level {
    LOG_LEVEL_ERR = 3,
    LOG_LEVEL_WARNING = 4,
    LOG_LEVEL_NOTICE = 5,
    LOG_LEVEL_INFO = 6,
    LOG_LEVEL_DEBUG = 7
};

/*
 * Sets the identity (program name, and node name when known), where logs go
 * (syslog when use_syslog is non-zero, else stderr) and the most verbose
 * level that is written. May be called again to change any of them.
 */
void log_init(const char *ident, int use_syslog, int level);

/* Parses "err", "warning", "notice", "info" or "debug"; -1 if none. */
int log_level_parse(const char *name);

void log_msg(int level, const char *fmt, ...) PRINTF_LIKE(2, 3);

#define log_err(...)     log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
