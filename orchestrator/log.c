/* orchestrator/log.c — log lines on stderr or in log_file, text or JSON (see log.h). */
#include "orchestrator/log.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_MSG_MAX 2048

#include "topology/escape.h"

static int g_level = LOGL_INFO;
static int g_format = LOG_FORMAT_TEXT;
static bool g_journal;          /* stderr is the journal: no timestamps, <N> priorities */
static int g_fd = -1;           /* log_file, -1 = stderr */
static char g_path[4096];
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* fd swaps vs. writers (recovery threads log too) */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int syslog_prio[] = {3, 4, 6, 7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

void log_set_level(int level) { g_level = level; }
int log_get_level(void) { return g_level; }

bool log_journal_stream_is(const char *js, dev_t dev, ino_t ino)
{
    unsigned long long d, i;
    int n = 0;
    if (!js || sscanf(js, "%llu:%llu%n", &d, &i, &n) != 2 || js[n] != '\0')
        return false;
    return d == (unsigned long long)dev && i == (unsigned long long)ino;
}

/* Appends to out[*len..], keeping room for `reserve` bytes; false when it did not fit. */
static bool put(char *out, size_t outlen, size_t *len, size_t reserve, const char *s, size_t n)
{
    if (*len + n + reserve >= outlen)
        return false;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return true;
}

/* Length of a valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))
            return 0; /* overlong, surrogates */
        return 3;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

/* msg as the inside of a JSON string: ", \ and control characters escaped,
 * invalid UTF-8 as U+FFFD; "..." when the rest does not fit before `reserve`. */
static void put_json_string(char *out, size_t outlen, size_t *len, size_t reserve, const char *msg)
{
    const unsigned char *s = (const unsigned char *)msg;
    char esc[8];
    while (*s) {
        size_t n = utf8_len(s);
        bool ok;
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*s;
            ok = put(out, outlen, len, reserve + 3, esc, 2);
            n = 1;
        } else if (*s < 0x20 || *s == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", *s);
            ok = put(out, outlen, len, reserve + 3, esc, 6);
            n = 1;
        } else if (n == 0) {
            ok = put(out, outlen, len, reserve + 3, "\\ufffd", 6);
            n = 1;
        } else {
            ok = put(out, outlen, len, reserve + 3, (const char *)s, n);
        }
        if (!ok) {
            put(out, outlen, len, reserve, "...", 3);
            return;
        }
        s += n;
    }
}

size_t log_format_line(char *out, size_t outlen, int format, bool journal, int level, int64_t time_ms,
                       const char *msg)
{
    char ts[40], prio[8] = "";
    struct tm tm;
    time_t sec = (time_t)(time_ms / 1000);
    size_t len = 0;
    const char *name;

    if (outlen < 128)
        return 0;
    if (level < LOGL_ERROR)
        level = LOGL_ERROR;
    if (level > LOGL_DEBUG)
        level = LOGL_DEBUG;
    name = level_names[level];
    out[0] = '\0';
    gmtime_r(&sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03dZ", (int)(time_ms % 1000));
    if (journal)
        snprintf(prio, sizeof(prio), "<%d>", syslog_prio[level]);
    if (format == LOG_FORMAT_JSON) {
        char head[128];
        int n = snprintf(head, sizeof(head), "%s{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", prio, ts, name);
        put(out, outlen, &len, 0, head, (size_t)n);
        put_json_string(out, outlen, &len, 4, msg);
        put(out, outlen, &len, 0, "\"}\n", 3);
    } else {
        char head[128];
        int n = journal ? snprintf(head, sizeof(head), "%s%-5s ", prio, name)
                        : snprintf(head, sizeof(head), "%s %-5s ", ts, name);
        size_t m = strlen(msg);
        put(out, outlen, &len, 0, head, (size_t)n);
        if (!put(out, outlen, &len, 1, msg, m)) {
            size_t room = outlen - len - 5; /* "...\n" + NUL */
            put(out, outlen, &len, 0, msg, room);
            put(out, outlen, &len, 0, "...", 3);
        }
        put(out, outlen, &len, 0, "\n", 1);
    }
    return len;
}

static bool stderr_is_journal(void)
{
    struct stat st;
    const char *js = getenv("JOURNAL_STREAM");
    return js && fstat(STDERR_FILENO, &st) == 0 && log_journal_stream_is(js, st.st_dev, st.st_ino);
}

static int open_log(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "log_file '%s': cannot open: %s", path, strerror(e));
        return -e;
    }
    return fd;
}

int log_configure(int format, const char *file, char *err, size_t errlen)
{
    int fd = -1;
    if (file && *file) {
        if (strlen(file) >= sizeof(g_path)) {
            snprintf(err, errlen, "log_file: path too long");
            return -ENAMETOOLONG;
        }
        if ((fd = open_log(file, err, errlen)) < 0)
            return fd;
    }
    pthread_mutex_lock(&g_mu);
    if (g_fd >= 0)
        close(g_fd);
    g_fd = fd;
    snprintf(g_path, sizeof(g_path), "%s", fd >= 0 ? file : "");
    g_format = format;
    g_journal = fd < 0 && stderr_is_journal();
    pthread_mutex_unlock(&g_mu);
    return 0;
}

int log_reopen(char *err, size_t errlen)
{
    int fd, old;
    pthread_mutex_lock(&g_mu);
    if (g_fd < 0) {
        pthread_mutex_unlock(&g_mu);
        return 0;
    }
    fd = open_log(g_path, err, errlen);
    if (fd >= 0) { /* else: keep writing to the old file */
        old = g_fd;
        g_fd = fd;
        close(old);
    }
    pthread_mutex_unlock(&g_mu);
    return fd < 0 ? fd : 0;
}

void log_reset(void)
{
    pthread_mutex_lock(&g_mu);
    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
    g_path[0] = '\0';
    g_format = LOG_FORMAT_TEXT;
    g_journal = false;
    pthread_mutex_unlock(&g_mu);
}

void log_msg(int level, const char *fmt, ...)
{
    char msg[LOG_MSG_MAX], line[LOG_MSG_MAX * 6 + 128];
    struct timeval tv;
    va_list ap;
    int n;
    size_t len;

    if (level > g_level)
        return;
    gettimeofday(&tv, NULL);
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(msg)) /* say so rather than cut silently */
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    pthread_mutex_lock(&g_mu);
    len = log_format_line(line, sizeof(line), g_format, g_journal, level,
                          (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, msg);
    if (write(g_fd >= 0 ? g_fd : STDERR_FILENO, line, len) < 0) {
        /* nowhere else to report it */
    }
    pthread_mutex_unlock(&g_mu);
}
