/* orchestrator/decide/readiness.c — failover readiness, RPO and RTO estimates (pure). See readiness.h. */
#include "orchestrator/decide/readiness.h"

#include "orchestrator/decide/quorum.h"
#include "topology/gtid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ready_code_name(ready_code c)
{
    static const char *const n[] = {
        [READY_OK] = "ok",
        [READY_NOT_PROBED] = "not-probed",
        [READY_NO_PRIMARY] = "no-primary",
        [READY_PRIMARY_UNHEALTHY] = "primary-unhealthy",
        [READY_RECOVERY_RUNNING] = "recovery-running",
        [READY_AUTO_FAILOVER_OFF] = "auto-failover-off",
        [READY_MAINTENANCE] = "maintenance",
        [READY_ANTI_FLAP] = "anti-flap",
        [READY_NO_REPLICAS] = "no-replicas",
        [READY_QUORUM_MINORITY] = "quorum-minority",
        [READY_DIVERGED] = "diverged",
        [READY_ERRANT] = "errant-gtids",
        [READY_NO_CANDIDATE] = "no-candidate",
        [READY_LAGGING] = "candidate-lagging",
        [READY_SEMI_SYNC_OFF] = "semi-sync-off",
        [READY_HOOKS_MISSING] = "hooks-missing",
    };
    return (size_t)c < sizeof(n) / sizeof(n[0]) && n[c] ? n[c] : "unknown";
}

/* Record a reason: the first one sets the code; every one is appended ("; "). */
static void not_ready(ready_result *out, ready_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void not_ready(ready_result *out, ready_code code, const char *fmt, ...)
{
    size_t len = strlen(out->reason), cap = sizeof(out->reason);
    va_list ap;
    int n;
    if (out->ready) {
        out->ready = false;
        out->code = code;
    }
    if (len + 4 >= cap)
        return; /* already cut */
    if (len)
        len += (size_t)snprintf(out->reason + len, cap - len, "; ");
    va_start(ap, fmt);
    n = vsnprintf(out->reason + len, cap - len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= cap - len)
        memcpy(out->reason + cap - 4, "...", 4); /* never a silently cut reason */
}

static int64_t sat_count(const gtid_set *s)
{
    uint64_t n = gtid_set_count(s);
    return n > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n;
}

int ready_rpo(const topo_cluster *c, const char *has_text, int64_t taken_at_ms, int64_t *trx, double *secs)
{
    gtid_set *has = NULL, *missing = NULL;
    size_t n_seen, lo;
    int rc = 0;

    if (!c || !trx || !secs)
        return -EINVAL;
    *trx = -1;
    *secs = -1;
    if (!has_text || c->tl_n == 0)
        return 0;
    rc = gtid_set_parse(gtid_set_kind(c->timeline[c->tl_head].pos), has_text, &has, NULL, 0);
    if (rc == -EINVAL)
        return 0; /* not comparable: unknown */
    if (rc < 0)
        return rc;
    /* Only positions the replica could have had when it was probed. */
    n_seen = topo_timeline_seen(c, taken_at_ms);
    if (n_seen == 0)
        goto out;
    lo = topo_timeline_first_missing(c, n_seen, has);
    if ((rc = gtid_set_subtract(c->timeline[(c->tl_head + n_seen - 1) % TOPO_TIMELINE_MAX].pos, has, &missing)) < 0) {
        if (rc == -EINVAL)
            rc = 0; /* different kinds: unknown */
        goto out;
    }
    *trx = sat_count(missing);
    if (lo == n_seen || *trx == 0)
        *secs = 0;
    else
        *secs = (double)(taken_at_ms - c->timeline[(c->tl_head + lo) % TOPO_TIMELINE_MAX].at_ms) / 1000.0;
out:
    gtid_set_free(missing);
    gtid_set_free(has);
    return rc;
}

/* Is the analysis one where the primary itself is fine (a failover would be hypothetical)? */
static bool primary_healthy(ana_code a)
{
    return a == ANA_OK || a == ANA_REPLICAS_BROKEN || a == ANA_LOCKED_SEMI_SYNC || a == ANA_MULTIPLE_WRITABLE;
}

static double apply_lag_s(const topo_instance *in)
{
    if (in->have_snap && in->snap.replica.present && in->snap.replica.seconds_behind >= 0)
        return (double)in->snap.replica.seconds_behind;
    return in->timeline_lag_s;
}

/* Why nobody can be chosen, as a code. */
static ready_code why_nobody(const cand_ranking *rk)
{
    bool errant = false, other = false;
    if (rk->most_advanced < 0 && rk->n > 0 && strstr(rk->reason, "diverged"))
        return READY_DIVERGED;
    for (size_t i = 0; i < rk->n; i++) {
        if (rk->v[i].exclusion == CAND_EXCL_ERRANT)
            errant = true;
        else if (rk->v[i].exclusion != CAND_EXCL_NONE)
            other = true;
    }
    return errant && !other ? READY_ERRANT : READY_NO_CANDIDATE;
}

int ready_compute(const ready_input *in, ready_result *out, char *err, size_t errlen)
{
    const topo_cluster *c;
    const ana_result *a;
    const topo_instance *p, *cand = NULL;
    cand_ranking rk = {.chosen = -1, .most_advanced = -1};
    char e[256] = "", addr[TOPO_ADDR_MAX];
    int rc = 0;

    if (!in || !in->c || !in->analysis || !out) {
        if (err && errlen)
            snprintf(err, errlen, "readiness: missing input");
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->ready = true;
    out->rpo_trx = -1;
    out->rpo_s = -1;
    out->candidate_lag_s = -1;
    c = in->c;
    a = in->analysis;

    if (a->code == ANA_NOT_READY) {
        not_ready(out, READY_NOT_PROBED, "the first probe round is not done");
        return 0;
    }
    if (a->code == ANA_NO_PRIMARY || a->primary < 0 || (size_t)a->primary >= c->n) {
        not_ready(out, READY_NO_PRIMARY, "no primary is known");
        return 0;
    }
    p = c->v[a->primary];
    if (!primary_healthy(a->code))
        not_ready(out, READY_PRIMARY_UNHEALTHY, "the primary is not healthy now (%s)", ana_code_name(a->code));
    if (in->recovery_running)
        not_ready(out, READY_RECOVERY_RUNNING, "a recovery is running");
    if (!in->auto_failover)
        not_ready(out, READY_AUTO_FAILOVER_OFF, "auto_failover = no: a failure would only be reported");
    if (in->maintenance)
        not_ready(out, READY_MAINTENANCE, "the cluster is under maintenance");
    if (in->blocked_ms > 0)
        not_ready(out, READY_ANTI_FLAP, "anti-flap block for %lld s more after the last recovery ('myorch ack' lifts it)",
                  (long long)((in->blocked_ms + 999) / 1000));
    if (a->replicas == 0) {
        not_ready(out, READY_NO_REPLICAS, "the primary has no replica to promote");
        goto hooks;
    }
    {
        quorum_input qi = {.servers = 1 + a->replicas, .replicas_on_side = a->replicas_reachable,
                           .controllers = 1, .controllers_agreeing = 1, .off = in->quorum_off};
        quorum_verdict qv;
        quorum_decide(&qi, &qv);
        if (!qv.majority)
            not_ready(out, READY_QUORUM_MINORITY, "if the primary died now this side would be a minority: %s "
                      "(%zu of %zu replicas reachable)", qv.why, a->replicas_reachable, a->replicas);
    }
    if ((rc = cand_rank(c, a->primary, in->cand, &rk, e, sizeof(e))) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "readiness: ranking the candidates: %s", e);
        goto out;
    }
    if (rk.chosen < 0) {
        not_ready(out, why_nobody(&rk), "no replica could be promoted: %s", rk.reason);
        if (rk.most_advanced >= 0)
            cand = c->v[rk.v[rk.most_advanced].index]; /* RPO of the best one there is */
    } else {
        cand = c->v[rk.v[rk.chosen].index];
        topo_addr_str(&cand->addr, out->candidate, sizeof(out->candidate));
        out->needs_catchup = rk.needs_catchup;
        out->candidate_lag_s = apply_lag_s(cand);
        if (in->max_lag_s >= 0 && out->candidate_lag_s > in->max_lag_s)
            not_ready(out, READY_LAGGING, "the candidate %s lags %.1f s behind the primary (ready_max_lag_s = %g): "
                      "a failover would wait for it to apply that", out->candidate, out->candidate_lag_s,
                      in->max_lag_s);
        if (in->require_semi_sync) {
            const topo_semisync *ps = &p->snap.semisync, *cs = &cand->snap.semisync;
            if (!ps->source_enabled || !ps->source_status_on)
                not_ready(out, READY_SEMI_SYNC_OFF, "semi-sync is %s on the primary %s (ready_require_semi_sync = yes)",
                          ps->source_enabled ? "enabled but not active" : "off",
                          topo_addr_str(&p->addr, addr, sizeof(addr)));
            if (!cs->replica_enabled || !cs->replica_status_on)
                not_ready(out, READY_SEMI_SYNC_OFF, "semi-sync is %s on the candidate %s (ready_require_semi_sync = yes)",
                          cs->replica_enabled ? "enabled but not active" : "off", out->candidate);
        }
    }
    if (cand) {
        const cand_entry *rcand = NULL;
        for (size_t i = 0; i < rk.n; i++)
            if (c->v[rk.v[i].index] == cand)
                rcand = &rk.v[i];
        if (rcand && (rc = ready_rpo(c, rcand->has_gtid, cand->snap.taken_at_ms, &out->rpo_trx, &out->rpo_s)) < 0) {
            if (err && errlen)
                snprintf(err, errlen, "readiness: out of memory estimating the RPO");
            goto out;
        }
    }
hooks:
    if (in->hooks_missing && in->hooks_missing[0])
        not_ready(out, READY_HOOKS_MISSING, "%s", in->hooks_missing);
out:
    cand_ranking_free(&rk);
    return rc;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_timing_newest(const void *x, const void *y)
{
    const ready_timing *a = x, *b = y;
    return a->started_ms > b->started_ms ? -1 : a->started_ms < b->started_ms;
}

static double median_ms(int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_i64);
    return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
}

#define RTO_SAMPLES 10

void ready_rto_estimate(const ready_timing *t, size_t n, int poll_interval_ms, int read_timeout_ms, ready_rto *out)
{
    ready_timing newest[RTO_SAMPLES];
    int64_t det[RTO_SAMPLES], pro[RTO_SAMPLES];
    size_t nd = 0, np = 0, k = 0;
    double det_ms, pro_ms;

    memset(out, 0, sizeof(*out));
    /* The newest RTO_SAMPLES recoveries (a partial selection keeps this bounded and allocation-free). */
    for (size_t i = 0; t && i < n; i++) {
        if (k < RTO_SAMPLES) {
            newest[k++] = t[i];
        } else {
            size_t oldest = 0;
            for (size_t j = 1; j < k; j++)
                if (newest[j].started_ms < newest[oldest].started_ms)
                    oldest = j;
            if (t[i].started_ms > newest[oldest].started_ms)
                newest[oldest] = t[i];
        }
    }
    qsort(newest, k, sizeof(newest[0]), cmp_timing_newest);
    for (size_t i = 0; i < k; i++) {
        const ready_timing *r = &newest[i];
        if (r->failover && r->primary_lost_ms > 0 && r->detected_ms >= r->primary_lost_ms)
            det[nd++] = r->detected_ms - r->primary_lost_ms;
        if (r->promoted_ms > 0) {
            int64_t from = r->failover && r->detected_ms > 0 ? r->detected_ms : r->started_ms;
            if (from > 0 && r->promoted_ms >= from)
                pro[np++] = r->promoted_ms - from;
        }
    }
    det_ms = nd ? median_ms(det, nd) : 2.0 * (poll_interval_ms > 0 ? poll_interval_ms : 0) +
                                            (read_timeout_ms > 0 ? read_timeout_ms : 0);
    pro_ms = np ? median_ms(pro, np) : READY_DEFAULT_PROMOTE_MS;
    out->detect_s = det_ms / 1000.0;
    out->promote_s = pro_ms / 1000.0;
    out->rto_s = out->detect_s + out->promote_s;
    out->detect_samples = nd;
    out->promote_samples = np;
    if (nd && np)
        snprintf(out->basis, sizeof(out->basis), "measured: median of %zu detection(s) and %zu promotion(s)", nd, np);
    else if (np)
        snprintf(out->basis, sizeof(out->basis),
                 "detection default (2 x poll interval + read timeout); median of %zu promotion(s)", np);
    else if (nd)
        snprintf(out->basis, sizeof(out->basis), "median of %zu detection(s); promotion default (%d ms)", nd,
                 READY_DEFAULT_PROMOTE_MS);
    else
        snprintf(out->basis, sizeof(out->basis),
                 "default: detection 2 x poll interval + read timeout, promotion %d ms (nothing measured yet)",
                 READY_DEFAULT_PROMOTE_MS);
}

bool ready_report_step(ready_report *rep, const ready_result *r)
{
    if (r->code == READY_RECOVERY_RUNNING || r->code == READY_NOT_PROBED) {
        rep->pend = false;
        return false;
    }
    if (rep->reported && rep->rep_ready == r->ready && rep->rep_code == r->code &&
        !strcmp(rep->rep_candidate, r->candidate)) {
        rep->pend = false;
        return false;
    }
    if (!rep->pend || rep->pend_ready != r->ready || rep->pend_code != r->code ||
        strcmp(rep->pend_candidate, r->candidate)) {
        rep->pend = true;
        rep->pend_looks = 1;
        rep->pend_ready = r->ready;
        rep->pend_code = r->code;
        snprintf(rep->pend_candidate, sizeof(rep->pend_candidate), "%s", r->candidate);
        return false;
    }
    /* The same verdict but another candidate: it must hold longer. */
    if (rep->reported && rep->rep_ready == r->ready && rep->rep_code == r->code &&
        ++rep->pend_looks < READY_CANDIDATE_HOLD)
        return false;
    rep->pend = false;
    rep->reported = true;
    rep->rep_ready = r->ready;
    rep->rep_code = r->code;
    snprintf(rep->rep_candidate, sizeof(rep->rep_candidate), "%s", r->candidate);
    return true;
}
