/*
 * orchestrator/act/ready_track.h — the daemon's side of failover readiness
 * (orchestrator/decide/readiness.h holds the pure verdict).
 *
 * Owns, per cluster: gathering the verdict's input from the recovery state
 * (analysis, maintenance, anti-flap block, running recovery, policy), the I/O
 * around it (are the failover hooks' programs there; recovery timings for the
 * RTO from the state database, re-read when a recovery was written there since:
 * store_recoveries_version), at most one
 * computation a second, the `failover-readiness-changed` event when the
 * verdict (ready, reason code, candidate) changes and holds for two
 * computations in a row (a running recovery is transitional and never
 * reported), and the verdict's JSON and Prometheus text.
 */
#ifndef MYORCH_ORCHESTRATOR_READY_TRACK_H
#define MYORCH_ORCHESTRATOR_READY_TRACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "orchestrator/decide/metrics.h"
#include "orchestrator/decide/readiness.h"
#include "orchestrator/act/recovery.h"

#define RTK_HOOK_CHECK_MS 10000

typedef struct {
    bool have;                    /* a verdict was computed */
    ready_result r;
    ready_rto rto;
    int64_t checked_ms;           /* wall ms of the verdict */
    int64_t next_ms;              /* monotonic: next computation */
    bool rto_loaded;              /* timings read, at rto_version */
    uint64_t rto_version;         /* store_recoveries_version() when they were read */
    int64_t hooks_checked_ms;     /* monotonic */
    char hooks_missing[512];
    ready_report rep;             /* change reporting (ready_report_step) */
} rtk_state;

/*
 * Recompute rcl's readiness when due (now_mono: monotonic ms). read_timeout_ms
 * is the controller's (default detection time). Emits through rcl->env->emit.
 */
void rtk_update(rtk_state *s, rec_cluster *rcl, int read_timeout_ms, int64_t now_mono);

/* The "readiness" object of status, topology and the report (a new reference; never NULL). */
json_t *rtk_json(const rtk_state *s);

/* One line for the text of `myorch status` / `topology` from a readiness object. */
void rtk_print(const json_t *readiness, FILE *out);

/*
 * Prometheus families for every cluster: names[i] and states[i], n clusters.
 * drills[i]: the last successful drill's JSON (store_drill_last_json) or NULL.
 */
void rtk_metrics(metrics_text *t, const char *const *names, const rtk_state *states, json_t *const *drills, size_t n);

#endif
