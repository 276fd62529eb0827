/* orchestrator/serve/service.c — sd_notify READY/WATCHDOG/STOPPING (see service.h). */
#include "orchestrator/serve/service.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "orchestrator/log.h"

bool svc_watchdog_due(int64_t watchdog_ms, int64_t last_ping_ms, int64_t now_ms)
{
    if (watchdog_ms <= 0)
        return false;
    return now_ms < last_ping_ms || now_ms - last_ping_ms >= watchdog_ms / 2;
}

void svc_init(svc_state *s)
{
    uint64_t usec = 0;
    int r = sd_watchdog_enabled(0, &usec);
    s->watchdog_ms = 0;
    s->last_ping_ms = 0;
    if (r > 0) {
        s->watchdog_ms = (int64_t)(usec / 1000);
        if (s->watchdog_ms < 2) /* below the loop's resolution: ping every turn */
            s->watchdog_ms = 2;
    } else if (r < 0) {
        log_warn("service manager watchdog: ignoring $WATCHDOG_USEC: %s", strerror(-r));
    }
}

void svc_ready(svc_state *s, int64_t now_ms, size_t n_clusters)
{
    if (sd_notifyf(0, "READY=1\nSTATUS=monitoring %zu cluster(s)", n_clusters) > 0)
        log_info("service manager notified: ready%s", s->watchdog_ms ? ", watchdog on" : "");
    s->last_ping_ms = now_ms;
}

void svc_tick(svc_state *s, int64_t now_ms)
{
    if (!svc_watchdog_due(s->watchdog_ms, s->last_ping_ms, now_ms))
        return;
    sd_notify(0, "WATCHDOG=1");
    s->last_ping_ms = now_ms;
}

void svc_stopping(const char *status)
{
    if (status)
        sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
    else
        sd_notify(0, "STOPPING=1");
}

void svc_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* MONOTONIC_USEC: what systemd's Type=notify-reload expects with RELOADING=1. */
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}
