/* orchestrator/decide/report.c — availability figures from a state history (see report.h). */
#include "orchestrator/decide/report.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "topology/strbuf.h"

int rep_state_of(const char *name)
{
    if (!name)
        return REP_UNMONITORED;
    if (!strcmp(name, "up"))
        return REP_UP;
    if (!strcmp(name, "down"))
        return REP_DOWN;
    if (!strcmp(name, "planned"))
        return REP_PLANNED;
    return REP_UNMONITORED;
}

const char *rep_state_name(int state)
{
    switch (state) {
    case REP_UP: return "up";
    case REP_DOWN: return "down";
    case REP_PLANNED: return "planned";
    default: return "unmonitored";
    }
}

int rep_compute(const rep_point *p, size_t n, int64_t since_ms, int64_t now_ms, double sla_target_pct,
                bool sla_counts_planned, rep_report *out)
{
    int prev = REP_UNMONITORED;
    memset(out, 0, sizeof(*out));
    if (now_ms < since_ms || !(sla_target_pct > 0) || !(sla_target_pct < 100))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (i && p[i].ts_ms < p[i - 1].ts_ms)
            return -EINVAL;
        if (p[i].state != REP_UP && p[i].state != REP_DOWN && p[i].state != REP_PLANNED &&
            p[i].state != REP_UNMONITORED)
            return -EINVAL;
    }
    out->since_ms = since_ms;
    out->until_ms = now_ms;
    out->sla_target_pct = sla_target_pct;
    out->sla_counts_planned = sla_counts_planned;
    for (size_t i = 0; i < n; i++) {
        int64_t start = p[i].ts_ms < since_ms ? since_ms : p[i].ts_ms;
        int64_t end = i + 1 < n ? p[i + 1].ts_ms : now_ms;
        int st = p[i].state;
        bool inside = p[i].ts_ms >= since_ms && p[i].ts_ms < now_ms;
        bool open_at_start = p[i].ts_ms < since_ms && end > since_ms;
        if (end > now_ms)
            end = now_ms;
        if (end > start) {
            if (st == REP_UP)
                out->up_ms += end - start;
            else if (st == REP_DOWN)
                out->down_ms += end - start;
            else if (st == REP_PLANNED)
                out->planned_ms += end - start;
        }
        /* Transitions inside the window. A gap of unmonitored time between two
         * equal states is one period; up (or a planned block) → (unmonitored) →
         * down counts as a failure: a switchover that ends without a writable
         * primary is an unplanned outage from then on. */
        if (st == REP_DOWN && inside && prev != REP_DOWN) {
            out->down_periods++;
            if (prev == REP_UP || prev == REP_PLANNED)
                out->failures++;
        } else if (st == REP_DOWN && open_at_start && out->down_periods == 0) {
            out->down_periods++; /* an outage already open when the window starts */
        } else if (st == REP_PLANNED && (inside ? prev != REP_PLANNED : open_at_start && out->planned_blocks == 0)) {
            out->planned_blocks++;
        }
        if (st != REP_UNMONITORED)
            prev = st;
    }
    out->monitored_ms = out->up_ms + out->down_ms + out->planned_ms;
    out->sla_down_ms = out->down_ms + (sla_counts_planned ? out->planned_ms : 0);
    out->availability_pct =
        out->monitored_ms ? 100.0 * (double)(out->monitored_ms - out->sla_down_ms) / (double)out->monitored_ms : -1;
    out->mtbf_s = out->failures ? (double)out->up_ms / 1000.0 / out->failures : -1;
    out->mttr_s = out->down_periods ? (double)out->down_ms / 1000.0 / out->down_periods : -1;
    out->model_pct = out->mtbf_s > 0 && out->mttr_s >= 0 ? 100.0 * out->mtbf_s / (out->mtbf_s + out->mttr_s) : -1;
    out->budget_s = (1.0 - sla_target_pct / 100.0) * (double)out->monitored_ms / 1000.0;
    out->budget_left_s = out->budget_s - (double)out->sla_down_ms / 1000.0;
    return 0;
}

const char *rep_fmt_ms(double ms, char *buf, size_t len)
{
    int rc;
    if (!buf || !len)
        return "";
    if (isnan(ms) || ms < 0)
        rc = fmt_checked(buf, len, NULL, 0, "duration", "-");
    else if (ms < 1000)
        rc = fmt_checked(buf, len, NULL, 0, "duration", "%.0f ms", floor(ms));
    else if (ms < 120000)
        rc = fmt_checked(buf, len, NULL, 0, "duration", "%.3f s", floor(ms) / 1000.0);
    else if (ms < 7200000)
        rc = fmt_checked(buf, len, NULL, 0, "duration", "%.1f min", ms / 60000.0);
    else if (ms < 172800000)
        rc = fmt_checked(buf, len, NULL, 0, "duration", "%.1f h", ms / 3600000.0);
    else
        rc = fmt_checked(buf, len, NULL, 0, "duration", "%.1f d", ms / 86400000.0);
    return rc == 0 ? buf : "";
}
