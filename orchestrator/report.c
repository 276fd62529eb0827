/* orchestrator/report.c — availability figures from a state history. */
#include "orchestrator/report.h"

#include <errno.h>
#include <string.h>

int rep_compute(const rep_point *p, size_t n, int64_t since_ms, int64_t now_ms, double sla_target_pct,
                rep_report *out)
{
    int prev = REP_UNMONITORED;
    memset(out, 0, sizeof(*out));
    if (now_ms < since_ms || sla_target_pct <= 0 || sla_target_pct >= 100)
        return -EINVAL;
    for (size_t i = 1; i < n; i++)
        if (p[i].ts_ms < p[i - 1].ts_ms)
            return -EINVAL;
    out->since_ms = since_ms;
    out->until_ms = now_ms;
    out->sla_target_pct = sla_target_pct;
    for (size_t i = 0; i < n; i++) {
        int64_t start = p[i].ts_ms < since_ms ? since_ms : p[i].ts_ms;
        int64_t end = i + 1 < n ? p[i + 1].ts_ms : now_ms;
        int st = p[i].state;
        if (end > now_ms)
            end = now_ms;
        if (end > start) {
            if (st == REP_UP)
                out->up_ms += end - start;
            else if (st == REP_DOWN)
                out->down_ms += end - start;
        }
        /* Transitions inside the window. A gap of unmonitored time between two
         * downs is one period; up → (unmonitored) → down counts as a failure. */
        if (st == REP_DOWN && p[i].ts_ms >= since_ms && p[i].ts_ms < now_ms && prev != REP_DOWN) {
            out->down_periods++;
            if (prev == REP_UP)
                out->failures++;
        } else if (st == REP_DOWN && p[i].ts_ms < since_ms && end > since_ms && out->down_periods == 0) {
            out->down_periods++; /* a period already open when the window starts */
        }
        if (st != REP_UNMONITORED)
            prev = st;
    }
    out->monitored_ms = out->up_ms + out->down_ms;
    out->availability_pct = out->monitored_ms ? 100.0 * (double)out->up_ms / (double)out->monitored_ms : -1;
    out->mtbf_s = out->failures ? (double)out->up_ms / 1000.0 / out->failures : -1;
    out->mttr_s = out->down_periods ? (double)out->down_ms / 1000.0 / out->down_periods : -1;
    out->model_pct = out->mtbf_s > 0 && out->mttr_s >= 0 ? 100.0 * out->mtbf_s / (out->mtbf_s + out->mttr_s) : -1;
    out->budget_s = (1.0 - sla_target_pct / 100.0) * (double)out->monitored_ms / 1000.0;
    out->budget_left_s = out->budget_s - (double)out->down_ms / 1000.0;
    return 0;
}
