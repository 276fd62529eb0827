/*
 * orchestrator/log.h — the process log: one line per message on stderr,
 * with a UTC timestamp and a level. Secrets never reach it (callers pass
 * none). Levels match cfg's: 0 error, 1 warn, 2 info, 3 debug.
 */
#ifndef MYORCH_ORCHESTRATOR_LOG_H
#define MYORCH_ORCHESTRATOR_LOG_H

enum { LOGL_ERROR = 0, LOGL_WARN = 1, LOGL_INFO = 2, LOGL_DEBUG = 3 };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

#endif
