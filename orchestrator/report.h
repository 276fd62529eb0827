/*
 * orchestrator/report.h — the availability report: from the history of a
 * cluster's write availability as the controller saw it (up: a reachable,
 * writable primary; down: none; unmonitored: the controller was not
 * running), measured availability, failures, MTBF, MTTR, the model
 * availability A = μ/(λ+μ) with λ = 1/MTBF and μ = 1/MTTR, and the downtime
 * budget an SLA target leaves. Pure: no I/O, unit-tested on tables.
 */
#ifndef MYORCH_ORCHESTRATOR_REPORT_H
#define MYORCH_ORCHESTRATOR_REPORT_H

#include <stddef.h>
#include <stdint.h>

enum { REP_UNMONITORED = -1, REP_DOWN = 0, REP_UP = 1 };

typedef struct {
    int64_t ts_ms;   /* the state holds from here until the next point */
    int state;       /* REP_UP, REP_DOWN, REP_UNMONITORED */
} rep_point;

typedef struct {
    int64_t since_ms, until_ms;
    int64_t monitored_ms, up_ms, down_ms;
    int failures;            /* up → down transitions inside the window */
    int down_periods;        /* periods of down time inside the window (one may still be open) */
    double availability_pct; /* up / monitored; -1 when nothing was monitored */
    double mtbf_s;           /* up time / failures; -1 without failures */
    double mttr_s;           /* down time / down periods; -1 without down time */
    double model_pct;        /* μ/(λ+μ) = MTBF/(MTBF+MTTR); -1 when undefined */
    double sla_target_pct;
    double budget_s;         /* downtime the SLA allows over the monitored time */
    double budget_left_s;    /* budget − down time (negative: SLA missed) */
} rep_report;

/*
 * Compute the report over [since_ms, now_ms) from points sorted by time
 * (the first point may start before since_ms: its state is clipped in).
 * Returns 0, or -EINVAL (unsorted points, now before since, bad target).
 */
int rep_compute(const rep_point *p, size_t n, int64_t since_ms, int64_t now_ms, double sla_target_pct,
                rep_report *out);

#endif
