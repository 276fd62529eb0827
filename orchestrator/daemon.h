/*
 * orchestrator/daemon.h — `myorch run`: the controller process. One thread,
 * one loop: the probe engine's fd, the control socket (and, for tcp://
 * endpoints, its CURVE ZAP handler) and a signalfd are polled together;
 * each control request is checked against its client's role; the monitor
 * reacts to probes; the store persists what changed; events fan out to the
 * log, the PUB socket and the state database. Signals: INT/TERM stop (a running
 * recovery is finished first), USR1 reopens log_file, HUP is logged. The service
 * manager gets READY=1 once setup is done and WATCHDOG=1 from the loop (service.h).
 */
#ifndef MYORCH_ORCHESTRATOR_DAEMON_H
#define MYORCH_ORCHESTRATOR_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "orchestrator/config.h"

typedef struct {
    bool watch;   /* print the live topology on stdout whenever it changes */
    bool color;   /* ANSI colors in the watch output */
} daemon_options;

/* Run until SIGINT/SIGTERM. Returns 0 on a clean stop, -errno (message in err) if it cannot start. */
int daemon_run(const cfg_config *cfg, const daemon_options *opt, char *err, size_t errlen);

#endif
