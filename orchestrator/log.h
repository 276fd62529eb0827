/*
 * orchestrator/log.h — the process log: one line per message, on stderr or in
 * log_file, as text or JSON (log_format). Secrets never reach it (callers pass
 * none). Levels match cfg's: 0 error, 1 warn, 2 info, 3 debug.
 *
 * Text:    2026-12-03T11:21:53.197Z info  message
 * JSON:    {"ts":"2026-12-03T11:21:53.197Z","level":"info","msg":"message"}
 * Under systemd, when stderr is the journal ($JOURNAL_STREAM names stderr's
 * device:inode), text lines carry no timestamp (the journal has one) and every
 * line starts with the syslog priority "<N>" so that journald records the
 * level (journalctl -p warning). log_file is opened O_APPEND, mode 0600, and
 * reopened by log_reopen() (SIGUSR1, for logrotate).
 *
 * log_format_line() and log_journal_stream_is() are pure (table-tested).
 */
#ifndef MYORCH_ORCHESTRATOR_LOG_H
#define MYORCH_ORCHESTRATOR_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { LOGL_ERROR = 0, LOGL_WARN = 1, LOGL_INFO = 2, LOGL_DEBUG = 3 };
enum { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Output format and destination: file NULL or "" = stderr (journal detected from
 * $JOURNAL_STREAM). Returns 0, or -errno with the message in err (file not openable). */
int log_configure(int format, const char *file, char *err, size_t errlen);

/* Reopen log_file (after logrotate moved it). 0 without a log file. */
int log_reopen(char *err, size_t errlen);

/* Back to stderr, text (closes log_file). */
void log_reset(void);

/* Does $JOURNAL_STREAM ("DEV:INODE", decimal) name this device and inode? */
bool log_journal_stream_is(const char *journal_stream, dev_t dev, ino_t ino);

/* One log line with its '\n' into out (cut at outlen with "..." for an over-long
 * message, never a partial JSON document). time_ms: milliseconds since the epoch. */
size_t log_format_line(char *out, size_t outlen, int format, bool journal, int level, int64_t time_ms,
                       const char *msg);

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
