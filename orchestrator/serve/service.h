/*
 * orchestrator/serve/service.h — the controller's side of the service manager
 * protocol (systemd's sd_notify, through libsystemd): READY=1 once the
 * configuration is loaded, the state database open and the sockets bound;
 * WATCHDOG=1 from the event loop when the unit sets WatchdogSec; STOPPING=1
 * on the way out; RELOADING=1 ... READY=1 around a configuration reload. Without a service manager (no $NOTIFY_SOCKET) every call
 * is a no-op.
 *
 * svc_watchdog_due() is the pure pacing rule (table-tested): a keep-alive
 * every half of the watchdog interval, as sd_watchdog_enabled(3) advises.
 */
#ifndef MYORCH_ORCHESTRATOR_SERVICE_H
#define MYORCH_ORCHESTRATOR_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t watchdog_ms;  /* the unit's WatchdogSec in ms, 0 = no watchdog */
    int64_t last_ping_ms; /* when WATCHDOG=1 was last sent */
} svc_state;

/* Read the watchdog setting ($WATCHDOG_USEC, $WATCHDOG_PID). */
void svc_init(svc_state *s);

/* READY=1 with STATUS=monitoring N cluster(s). */
void svc_ready(svc_state *s, int64_t now_ms, size_t n_clusters);

/* Called every loop turn: sends WATCHDOG=1 when svc_watchdog_due(). */
void svc_tick(svc_state *s, int64_t now_ms);

/* STOPPING=1, with STATUS=status when not NULL (e.g. "finishing recovery #12"). */
void svc_stopping(const char *status);

/* RELOADING=1 (with MONOTONIC_USEC) before a configuration reload; svc_ready() after it. */
void svc_reloading(void);

/* true when a keep-alive is due: a watchdog is set and half its interval has
 * passed since the last one (or the clock went backwards). */
bool svc_watchdog_due(int64_t watchdog_ms, int64_t last_ping_ms, int64_t now_ms);

#endif
