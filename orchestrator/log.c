/* orchestrator/log.c — timestamped log lines on stderr, control characters escaped (topology/escape.h). */
#include "orchestrator/log.h"
#include "topology/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "topology/escape.h"

static int g_level = LOGL_INFO;

void log_set_level(int level) { g_level = level; }
int log_get_level(void) { return g_level; }

void log_msg(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    char *line, *safe, ts[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (level > g_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    line = strbuf_vasprintf(fmt, ap); /* whole: log lines quote GTID positions of any length */
    va_end(ap);
    /* One line per entry: server-reported text cannot forge lines or reach a terminal raw. */
    safe = line ? esc_dup(line) : NULL;
    fprintf(stderr, "%s.%03ldZ %-5s %s\n", ts, (long)(tv.tv_usec / 1000),
            names[level < 0 ? 0 : level > 3 ? 3 : level], safe ? safe : "(log line lost: out of memory)");
    free(line);
    free(safe);
}
