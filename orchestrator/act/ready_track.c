/* orchestrator/act/ready_track.c — the daemon's side of failover readiness. See ready_track.h. */
#include "orchestrator/act/ready_track.h"
#include "topology/probe/clock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "hooks/runner.h"
#include "orchestrator/log.h"
#include "topology/escape.h"


/* The hooks a failover runs: is every command's program there (and executable)? */
static void check_hooks(rtk_state *s, const cfg_cluster *cfg)
{
    static const int points[] = {CFG_HOOK_ON_FAILURE_DETECTED, CFG_HOOK_PRE_FAILOVER, CFG_HOOK_POST_FAILOVER,
                                 CFG_HOOK_POST_FAILOVER_FAILED};
    size_t off = 0;
    s->hooks_missing[0] = '\0';
    for (size_t k = 0; k < sizeof(points) / sizeof(points[0]); k++) {
        for (size_t i = 0; i < cfg->n_hooks[points[k]]; i++) {
            char **argv = NULL, path[PATH_MAX], e[256] = "";
            size_t argc = 0;
            int r = hook_split_command(cfg->hooks[points[k]][i], &argv, &argc, e, sizeof(e));
            if (r == 0 && argc > 0)
                r = hook_find_program(argv[0], path, sizeof(path), e, sizeof(e));
            hook_free_argv(argv);
            if (r == 0 || off >= sizeof(s->hooks_missing) - 4)
                continue;
            int n = snprintf(s->hooks_missing + off, sizeof(s->hooks_missing) - off, "%shook %s: %s",
                             off ? "; " : "", cfg_hook_names[points[k]], e);
            if (n < 0 || (size_t)n >= sizeof(s->hooks_missing) - off) {
                memcpy(s->hooks_missing + sizeof(s->hooks_missing) - 4, "...", 4);
                off = sizeof(s->hooks_missing);
            } else {
                off += (size_t)n;
            }
        }
    }
}

static void load_rto(rtk_state *s, rec_cluster *rcl, int read_timeout_ms)
{
    store_timing st[10];
    ready_timing t[10];
    int n = rec_cluster_env(rcl)->st ? store_recovery_timings(rec_cluster_env(rcl)->st, rec_cluster_mon(rcl)->model.name, st, 10) : 0;
    if (n < 0) {
        log_warn("readiness of %s: cannot read recovery timings: %s", rec_cluster_mon(rcl)->model.name, store_errmsg(rec_cluster_env(rcl)->st));
        n = 0;
    }
    for (int i = 0; i < n; i++)
        t[i] = (ready_timing){.failover = !strcmp(st[i].kind, "failover"), .primary_lost_ms = st[i].primary_lost_ms,
                              .detected_ms = st[i].detected_ms, .started_ms = st[i].started_ms,
                              .promoted_ms = st[i].promoted_ms};
    ready_rto_estimate(t, (size_t)n, rec_cluster_cfg(rcl)->poll_interval_ms, read_timeout_ms, &s->rto);
}

static void report_change(rtk_state *s, rec_cluster *rcl)
{
    const ready_result *r = &s->r;
    bool had = s->rep.reported, was_ready = s->rep.rep_ready;
    ready_code was = s->rep.rep_code;
    json_t *detail;
    if (!ready_report_step(&s->rep, r))
        return;
    detail = json_pack("{s:b, s:s, s:s, s:s?, s:o?, s:s?}", "failover_ready", r->ready, "reason_code",
                       ready_code_name(r->code), "reason", r->reason, "candidate", r->candidate[0] ? r->candidate : NULL,
                       "was_ready", had ? json_boolean(was_ready) : NULL, "was_reason_code",
                       had ? ready_code_name(was) : NULL);
    if (rec_cluster_env(rcl)->emit)
        rec_cluster_env(rcl)->emit(rec_cluster_env(rcl)->user, r->ready ? LOGL_INFO : LOGL_WARN, "failover-readiness-changed", rec_cluster_mon(rcl), NULL,
                      r->ready ? "failover ready" : "failover NOT ready", detail);
    json_decref(detail);
}

void rtk_update(rtk_state *s, rec_cluster *rcl, int read_timeout_ms, int64_t now_mono)
{
    topo_addr never[64];
    cand_opts co;
    ready_input in;
    ready_result r;
    char err[256];
    int64_t now = clk_wall_ms();

    if (s->have && now_mono < s->next_ms)
        return;
    s->next_ms = now_mono + 1000;
    if (!s->hooks_checked_ms || now_mono - s->hooks_checked_ms >= RTK_HOOK_CHECK_MS) {
        check_hooks(s, rec_cluster_cfg(rcl));
        s->hooks_checked_ms = now_mono;
    }
    /* Read again only when a recovery was written since: at 10,000 servers a re-read every
     * 30 s per cluster (83 queries a second) was 2 % of the controller's CPU. */
    {
        store *st = rec_cluster_env(rcl)->st;
        uint64_t v = st ? store_recoveries_version(st) : 0;
        if (!s->rto_loaded || v != s->rto_version) {
            load_rto(s, rcl, read_timeout_ms);
            s->rto_loaded = true;
            s->rto_version = v;
        }
    }
    /* The same candidate options a failover would use. */
    co = rec_cluster_candidate_opts(rcl, never, sizeof(never) / sizeof(never[0]), NULL);
    in = (ready_input){.c = &rec_cluster_mon(rcl)->model, .analysis = rec_cluster_last(rcl), .cand = &co,
                       .auto_failover = rec_cluster_cfg(rcl)->auto_failover != 0,
                       .maintenance = rec_cluster_in_maintenance(rcl, NULL),
                       .recovery_running = rec_cluster_running(rcl),
                       .blocked_ms = rec_cluster_blocked_until_ms(rcl) > now ? rec_cluster_blocked_until_ms(rcl) - now : 0,
                       .quorum_off = rec_cluster_cfg(rcl)->failover_quorum == CFG_QUORUM_NONE,
                       .max_lag_s = rec_cluster_cfg(rcl)->ready_max_lag_s,
                       .require_semi_sync = rec_cluster_cfg(rcl)->ready_require_semi_sync != 0,
                       .hooks_missing = s->hooks_missing};
    if (!rec_cluster_mon(rcl)->first_round_done) {
        /* rcl->last may be from before the first round: say so plainly. */
        static const ana_result not_yet = {.code = ANA_NOT_READY, .primary = -1};
        in.analysis = &not_yet;
    }
    if (ready_compute(&in, &r, err, sizeof(err)) < 0) {
        log_warn("readiness of %s: %s", rec_cluster_mon(rcl)->model.name, err);
        return;
    }
    s->r = r;
    s->have = true;
    s->checked_ms = now;
    report_change(s, rcl);
}

static json_t *num_or_null(bool known, double v)
{
    return known ? json_real(v) : json_null();
}

json_t *rtk_json(const rtk_state *s)
{
    const ready_result *r = &s->r;
    if (!s->have)
        return json_pack("{s:b, s:s, s:s, s:n, s:b, s:n, s:{s:n, s:n}, s:n, s:n}", "failover_ready", 0, "reason_code",
                         "not-probed", "reason", "not computed yet", "candidate", "needs_catchup", 0, "candidate_lag_s",
                         "rpo_estimate", "transactions", "seconds", "rto_estimate", "checked_ms");
    return json_pack("{s:b, s:s, s:s, s:s?, s:b, s:o, s:{s:o, s:o}, s:{s:f, s:f, s:f, s:s}, s:I}", "failover_ready",
                     r->ready, "reason_code", ready_code_name(r->code), "reason", r->reason, "candidate",
                     r->candidate[0] ? r->candidate : NULL, "needs_catchup", r->needs_catchup, "candidate_lag_s",
                     num_or_null(r->candidate_lag_s >= 0, r->candidate_lag_s), "rpo_estimate", "transactions",
                     r->rpo_trx >= 0 ? json_integer(r->rpo_trx) : json_null(), "seconds",
                     num_or_null(r->rpo_s >= 0, r->rpo_s), "rto_estimate", "seconds", s->rto.rto_s, "detect_s",
                     s->rto.detect_s, "promote_s", s->rto.promote_s, "basis", s->rto.basis, "checked_ms",
                     (json_int_t)s->checked_ms);
}

void rtk_print(const json_t *rd, FILE *out)
{
    const json_t *rpo = json_object_get(rd, "rpo_estimate"), *rto = json_object_get(rd, "rto_estimate");
    const char *cand = json_string_value(json_object_get(rd, "candidate"));
    const char *reason = json_string_value(json_object_get(rd, "reason"));
    char *safe = reason && !esc_is_safe(reason) ? esc_dup(reason) : NULL;
    if (!rd)
        return;
    if (json_is_true(json_object_get(rd, "failover_ready")))
        fprintf(out, "  failover ready: yes, to %s", cand ? cand : "?");
    else
        fprintf(out, "  failover ready: NO (%s): %s", json_string_value(json_object_get(rd, "reason_code")),
                safe ? safe : reason ? reason : "");
    fputc('\n', out);
    fprintf(out, "  rpo estimate: ");
    if (json_is_integer(json_object_get(rpo, "transactions")))
        fprintf(out, "%lld transaction(s), %.1f s", (long long)json_integer_value(json_object_get(rpo, "transactions")),
                json_number_value(json_object_get(rpo, "seconds")));
    else
        fprintf(out, "unknown");
    if (rto && !json_is_null(rto))
        fprintf(out, "; rto estimate: %.1f s (%s)", json_number_value(json_object_get(rto, "seconds")),
                json_string_value(json_object_get(rto, "basis")));
    fputc('\n', out);
    free(safe);
}

void rtk_metrics(metrics_text *t, const char *const *names, const rtk_state *states, json_t *const *drills, size_t n)
{
    metrics_family(t, "myorch_failover_ready", "gauge",
                   "1 when an automatic failover would succeed now (issue 16 readiness), else 0");
    for (size_t i = 0; i < n; i++) {
        const char *l[] = {"cluster", names[i], NULL};
        metrics_sample(t, "myorch_failover_ready", l, states[i].have && states[i].r.ready);
    }
    metrics_family(t, "myorch_failover_ready_info", "gauge",
                   "The readiness verdict: reason code and the replica that would be promoted, value 1");
    for (size_t i = 0; i < n; i++) {
        const ready_result *r = &states[i].r;
        const char *l[] = {"cluster", names[i], "reason", states[i].have ? ready_code_name(r->code) : "not-probed",
                           "candidate", states[i].have ? r->candidate : "", NULL};
        metrics_sample(t, "myorch_failover_ready_info", l, 1);
    }
    metrics_family(t, "myorch_rpo_estimate_transactions", "gauge",
                   "Transactions the best candidate has not received (lost if the primary died now)");
    for (size_t i = 0; i < n; i++) {
        const char *l[] = {"cluster", names[i], NULL};
        if (states[i].have && states[i].r.rpo_trx >= 0)
            metrics_sample(t, "myorch_rpo_estimate_transactions", l, (double)states[i].r.rpo_trx);
    }
    metrics_family(t, "myorch_rpo_estimate_seconds", "gauge",
                   "Seconds of the primary's history the best candidate has not received");
    for (size_t i = 0; i < n; i++) {
        const char *l[] = {"cluster", names[i], NULL};
        if (states[i].have && states[i].r.rpo_s >= 0)
            metrics_sample(t, "myorch_rpo_estimate_seconds", l, states[i].r.rpo_s);
    }
    metrics_family(t, "myorch_rto_estimate_seconds", "gauge",
                   "Estimated failover time: detection plus promotion, medians of measured recoveries (else defaults)");
    for (size_t i = 0; i < n; i++) {
        const char *l[] = {"cluster", names[i], NULL};
        if (states[i].have)
            metrics_sample(t, "myorch_rto_estimate_seconds", l, states[i].rto.rto_s);
    }
    metrics_family(t, "myorch_drill_last_success_timestamp_seconds", "gauge",
                   "Unix time when the last successful switchover drill ended");
    for (size_t i = 0; i < n; i++) {
        const char *l[] = {"cluster", names[i], NULL};
        if (drills && drills[i])
            metrics_sample(t, "myorch_drill_last_success_timestamp_seconds", l,
                           (double)json_integer_value(json_object_get(drills[i], "ended_ms")) / 1000.0);
    }
    metrics_family(t, "myorch_drill_write_block_seconds", "gauge",
                   "Write block measured by the last successful drill, per direction (there, back)");
    for (size_t i = 0; i < n; i++) {
        static const char *const dirs[][2] = {{"there", "there_write_block_ms"}, {"back", "back_write_block_ms"}};
        for (size_t k = 0; drills && drills[i] && k < 2; k++) {
            const json_t *v = json_object_get(drills[i], dirs[k][1]);
            const char *l[] = {"cluster", names[i], "direction", dirs[k][0], NULL};
            if (json_is_integer(v))
                metrics_sample(t, "myorch_drill_write_block_seconds", l, (double)json_integer_value(v) / 1000.0);
        }
    }
}
