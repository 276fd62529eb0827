/*
 * orchestrator/decide/report.h — the availability report: from the history of a
 * cluster's write availability as the controller saw it (up: a reachable,
 * writable primary; down: none, unplanned; planned: writes blocked by a
 * planned operation, a switchover, from its demote to the new primary
 * becoming writable; unmonitored: the controller was not running).
 *
 * Planned write blocks are not failures: λ (1/MTBF), MTBF, MTTR and the model
 * availability A = μ/(λ+μ) = MTBF/(MTBF+MTTR) come from unplanned outages
 * only. The measured availability and the SLA's downtime budget count both
 * by default (the user sees every write refused), or only unplanned outages
 * when the cluster says sla_counts_planned = no. Pure: no I/O, unit-tested on
 * recorded timelines. Every duration is kept in milliseconds.
 */
#ifndef MYORCH_ORCHESTRATOR_REPORT_H
#define MYORCH_ORCHESTRATOR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { REP_UNMONITORED = -1, REP_DOWN = 0, REP_UP = 1, REP_PLANNED = 2 };

typedef struct {
    int64_t ts_ms;   /* the state holds from here until the next point */
    int state;       /* REP_UP, REP_DOWN, REP_PLANNED, REP_UNMONITORED */
} rep_point;

typedef struct {
    int64_t since_ms, until_ms;
    int64_t monitored_ms;    /* up + down + planned */
    int64_t up_ms;
    int64_t down_ms;         /* unplanned outages */
    int64_t planned_ms;      /* planned write blocks */
    int failures;            /* unplanned outages that began inside the window (from up or planned) */
    int down_periods;        /* unplanned outage periods inside the window (one may still be open) */
    int planned_blocks;      /* planned write blocks inside the window */
    bool sla_counts_planned;
    int64_t sla_down_ms;     /* what the SLA counts: down, plus planned when sla_counts_planned */
    double availability_pct; /* (monitored − sla_down) / monitored; -1 when nothing was monitored */
    double mtbf_s;           /* up time / failures; -1 without failures */
    double mttr_s;           /* unplanned down time / down periods; -1 without down time */
    double model_pct;        /* μ/(λ+μ) = MTBF/(MTBF+MTTR); -1 when undefined */
    double sla_target_pct;
    double budget_s;         /* downtime the SLA allows over the monitored time */
    double budget_left_s;    /* budget − sla_down (negative: SLA missed) */
} rep_report;

/*
 * Compute the report over [since_ms, now_ms) from points sorted by time
 * (the first point may start before since_ms: its state is clipped in).
 * Returns 0, or -EINVAL (unsorted points, unknown state, now before since,
 * bad target).
 */
int rep_compute(const rep_point *p, size_t n, int64_t since_ms, int64_t now_ms, double sla_target_pct,
                bool sla_counts_planned, rep_report *out);

/* "REP_*" state of a stored name ("up", "down", "planned", anything else: unmonitored), and back. */
int rep_state_of(const char *name);
const char *rep_state_name(int state);

/*
 * A duration in milliseconds as text with the precision it has: "0 ms",
 * "412 ms" below a second, "12.345 s" below two minutes, then "5.2 min",
 * "3.1 h", "2.0 d"; negative: "-". Writes into buf (24 bytes suffice);
 * returns buf, or "" when buf is too small (never a cut number).
 */
const char *rep_fmt_ms(double ms, char *buf, size_t len);

#endif
