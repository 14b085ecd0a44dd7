#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char s_ident[64] = "itl";
static int s_syslog;
static int s_level = LOG_LEVEL_INFO;

static const char *const s_names[] = {
    [LOG_LEVEL_ERR] = "err",       [LOG_LEVEL_WARNING] = "warning",
    [LOG_LEVEL_NOTICE] = "notice", [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(const char *ident, int use_syslog, int level)
{
    snprintf(s_ident, sizeof(s_ident), "%s", ident);
    if (s_syslog)
        closelog();
    s_syslog = use_syslog;
    s_level = level;
    if (s_syslog)
        openlog(s_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_level_parse(const char *name)
{
    for (int l = LOG_LEVEL_ERR; l <= LOG_LEVEL_DEBUG; l++) {
        if (strcmp(name, s_names[l]) == 0)
            return l;
    }
    return -1;
}

void
log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    char when[32];

    if (level > s_level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    if (s_syslog) {
        syslog(level, "%s", line);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld %s[%d] %s: %s\n", when, ts.tv_nsec / 1000000,
            s_ident, (int)getpid(), s_names[level], line);
}
