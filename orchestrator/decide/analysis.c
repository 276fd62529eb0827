/* orchestrator/decide/analysis.c — failure analysis (pure: no I/O, no clock). See analysis.h. */
#include "orchestrator/decide/analysis.h"

#include "topology/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- evidence line: a strbuf_line (bounded, a cut shows as "...") ------- */

/* Error texts can be long (MariaDB IO errors are ~200 bytes): keep the line readable. */
#define EV_ERR_MAX 120

static void ev_err(strbuf_line *e, unsigned code, const char *msg)
{
    const char *m = msg ? msg : "";
    int len = (int)strlen(m);
    const char *ell = "";

    if (len > EV_ERR_MAX) {
        len = EV_ERR_MAX;
        ell = "...";
    }
    if (code)
        strbuf_line_add(e, "error %u: %.*s%s", code, len, m, ell);
    else
        strbuf_line_add(e, "%.*s%s", len, m, ell);
}

/* ---- who is a replica of whom ------------------------------------------- */

bool ana_is_direct_replica(const topo_cluster *c, size_t i, int primary)
{
    const topo_instance *in, *p;

    if (!c || primary < 0 || (size_t)primary >= c->n || i >= c->n || (int)i == primary)
        return false;
    in = c->v[i];
    p = c->v[primary];
    if (in->fenced)
        return false;
    if (in->parent == primary)
        return true;
    /* Parent unknown (e.g. a cycle was broken there): trust a reachable
     * server's own word that it replicates from the primary's address. */
    return in->reachable && in->have_snap && in->snap.replica.present &&
           topo_addr_eq(&in->snap.replica.source, &p->addr);
}

/* ---- classification of one replica -------------------------------------- */

typedef enum {
    RS_UNREACHABLE,   /* probed, failed (or never probed) */
    RS_STALE,         /* primary down; reachable but last probe predates the failure */
    RS_REPLICATING,   /* IO thread Yes (primary down: in a fresh probe) */
    RS_CONFIRMING,    /* primary down; fresh probe, IO Connecting or No with an IO error */
    RS_STALLED,       /* primary down; fresh probe, IO Yes but nothing received for > stall_periods periods */
    RS_NEUTRAL,       /* primary down; fresh probe, IO No without error / unknown */
    RS_EARLIER,       /* primary only slow to answer; this replica lost it long before (no hang evidence) */
    RS_OTHER,         /* primary up, IO not Yes */
} rs_class;

int64_t ana_replica_quiet_ms(const topo_instance *r)
{
    if (!r || !r->have_snap || r->stale || !r->snap.replica.present || r->snap.replica.received_heartbeats < 0 ||
        r->rx_since_ms <= 0)
        return -1;
    /* The values were read after the probe was sent: measure to the send time. */
    int64_t q = r->snap.taken_at_ms - r->snap.probe_latency_ms - r->rx_since_ms;
    return q > 0 ? q : 0;
}

/* Stalled: a heartbeat period is known and on, and the silence is longer than stall_periods of it. */
static bool is_stalled(const topo_instance *r, int stall_periods)
{
    long long hb = r->snap.replica.heartbeat_period_ms;
    int64_t q = ana_replica_quiet_ms(r);

    return stall_periods > 0 && hb > 0 && q >= 0 && q > (int64_t)stall_periods * hb;
}

/*
 * A primary the controller still reaches but that owes it an answer (a hang?) is confirmed by
 * replicas that lost it at about the same time. A replica whose silence began long before the
 * controller's unanswered question (more than in->stall_lead_ms plus stall_periods + 1 of its
 * heartbeat periods) lost the primary to something
 * else (fault scenario 5: replicas cut from the primary for 12 s, then one slow probe answer):
 * it is no evidence of a hang.
 */
static bool lost_earlier(const topo_instance *r, const ana_input *in, bool waiting)
{
    long long hb = r->snap.replica.heartbeat_period_ms > 0 ? r->snap.replica.heartbeat_period_ms : 0;
    return waiting && in->stall_lead_ms > 0 && r->rx_since_ms > 0 &&
           in->primary_waiting_since_ms - r->rx_since_ms > in->stall_lead_ms + (in->stall_periods + 1) * hb;
}

static rs_class classify(const topo_instance *r, bool primary_down, int64_t down_since_ms, const ana_input *in,
                         bool waiting)
{
    const topo_replica_status *rs = &r->snap.replica;
    int stall_periods = in ? in->stall_periods : 0;

    if (!r->reachable || !r->have_snap)
        return RS_UNREACHABLE;
    if (!primary_down)
        return rs->io_state == TOPO_THREAD_YES ? RS_REPLICATING : RS_OTHER;
    if (topo_snap_predates(&r->snap, down_since_ms))
        return RS_STALE;
    if (rs->io_state == TOPO_THREAD_YES)
        return !is_stalled(r, stall_periods) ? RS_REPLICATING : lost_earlier(r, in, waiting) ? RS_EARLIER : RS_STALLED;
    if (rs->io_state == TOPO_THREAD_CONNECTING || (rs->io_state == TOPO_THREAD_NO && rs->last_io_errno != 0))
        return lost_earlier(r, in, waiting) ? RS_EARLIER : RS_CONFIRMING;
    return RS_NEUTRAL; /* IO stopped by someone, no error: says nothing about the primary */
}

static bool is_broken(const topo_instance *r, bool primary_down)
{
    const topo_replica_status *rs = &r->snap.replica;

    if (!r->reachable || !r->have_snap)
        return false;
    if (rs->io_state == TOPO_THREAD_NO || rs->sql_state == TOPO_THREAD_NO || rs->last_sql_errno != 0)
        return true;
    /* With the primary up, an IO thread that is not running (Connecting:
     * cannot connect, wrong credentials...) is broken too. */
    return !primary_down && (rs->io_state != TOPO_THREAD_YES || rs->sql_state != TOPO_THREAD_YES);
}

/* "127.0.0.1:2 io=Connecting (error 2003: ...)" and friends. */
static void describe_replica(strbuf_line *e, const topo_instance *r, rs_class cls, bool primary_down)
{
    const topo_replica_status *rs = &r->snap.replica;
    char a[TOPO_ADDR_MAX];

    topo_addr_str(&r->addr, a, sizeof(a));
    if (cls == RS_UNREACHABLE) {
        if (!r->probed) {
            strbuf_line_add(e, "%s not probed yet", a);
        } else {
            strbuf_line_add(e, "%s unreachable (", a);
            ev_err(e, r->err_code, r->err);
            strbuf_line_add(e, ")");
        }
        return;
    }
    strbuf_line_add(e, "%s io=%s", a, topo_thread_state_name(rs->io_state));
    if (!primary_down || rs->sql_state != TOPO_THREAD_YES || rs->last_sql_errno)
        strbuf_line_add(e, " sql=%s", topo_thread_state_name(rs->sql_state));
    if (rs->last_io_errno && rs->io_state != TOPO_THREAD_YES) {
        strbuf_line_add(e, " (io ");
        ev_err(e, rs->last_io_errno, rs->last_io_error);
        strbuf_line_add(e, ")");
    } else if (primary_down && rs->io_state == TOPO_THREAD_NO && cls == RS_NEUTRAL) {
        strbuf_line_add(e, " (stopped, no error)");
    }
    if (rs->last_sql_errno) {
        strbuf_line_add(e, " (sql ");
        ev_err(e, rs->last_sql_errno, rs->last_sql_error);
        strbuf_line_add(e, ")");
    }
    if (cls == RS_STALE)
        strbuf_line_add(e, " [probed at t=%lld ms, before the failure]",
                        (long long)(r->snap.sent_at_ms ? r->snap.sent_at_ms : r->snap.taken_at_ms));
    if (cls == RS_EARLIER)
        strbuf_line_add(e, " [lost the primary at t=%lld ms, long before the controller's unanswered probe: no "
                        "evidence of a hang]", (long long)r->rx_since_ms);
    if (primary_down && (cls == RS_STALLED || cls == RS_REPLICATING) && ana_replica_quiet_ms(r) >= 0) {
        if (rs->heartbeat_period_ms > 0)
            strbuf_line_add(e, " nothing received for %lld ms (heartbeat %lld ms)%s",
                            (long long)ana_replica_quiet_ms(r),
                   rs->heartbeat_period_ms, cls == RS_STALLED ? " [stalled]" : "");
        else
            strbuf_line_add(e, " (heartbeats off: no stall evidence)");
    }
}

/* ---- the analysis ------------------------------------------------------- */

/* No primary: say so, and what cannot be known while a primary the replicas name is away. */
static void judge_no_primary(const topo_cluster *c, ana_result *out, strbuf_line *e)
{
    size_t reach = 0;
    for (size_t i = 0; i < c->n; i++)
        reach += c->v[i]->reachable;
    out->code = ANA_NO_PRIMARY;
    strbuf_line_add(e, "no primary among %zu servers (%zu reachable)", c->n, reach);
    /* Started while the primary was down? Its replicas name it, but its other
     * replicas cannot be discovered through it: say what is not known. */
    for (size_t i = 0; i < c->n; i++) {
        const topo_instance *r = c->v[i], *src;
        char sa[TOPO_ADDR_MAX];
        int k;
        if (!r->reachable || !r->have_snap || !r->snap.replica.present)
            continue;
        k = topo_cluster_find(c, &r->snap.replica.source);
        src = k >= 0 ? c->v[k] : NULL;
        if (src && src->reachable)
            continue;
        strbuf_line_add(e,
                        "; replicas replicate from %s, which %s: it may be a dead primary, and replicas of it that "
                        "are not in seeds cannot be discovered until it answers (add them to seeds; 'myorch failover "
                        "--cluster %s --dry-run' shows what a failover would do)",
                        topo_addr_str(&r->snap.replica.source, sa, sizeof(sa)),
                        src ? "does not answer" : "is not known", c->name);
        break;
    }
}

/* The primary's direct replicas, counted by class into out; returns how many show no evidence
 * (*earlier: how many of those lost the primary long before its unanswered probe). */
static size_t count_replicas(const topo_cluster *c, const ana_input *in, bool down, int64_t down_since,
                             ana_result *out, size_t *earlier)
{
    *earlier = 0;
    size_t neutral = 0;
    bool waiting = c->v[c->primary]->reachable && in->primary_waiting_since_ms > 0;
    for (size_t i = 0; i < c->n; i++) {
        if (!ana_is_direct_replica(c, i, c->primary))
            continue;
        const topo_instance *r = c->v[i];
        rs_class cls = classify(r, down, down_since, in, waiting);
        out->replicas++;
        if (cls != RS_UNREACHABLE)
            out->replicas_reachable++;
        if (cls == RS_REPLICATING)
            out->replicas_replicating++;
        if (cls == RS_CONFIRMING || cls == RS_STALLED)
            out->replicas_confirming++;
        if (cls == RS_STALLED)
            out->replicas_stalled++;
        if (cls == RS_STALE)
            out->replicas_stale++;
        if (cls == RS_NEUTRAL || cls == RS_EARLIER)
            neutral++;
        if (cls == RS_EARLIER)
            (*earlier)++;
        if (is_broken(r, down))
            out->replicas_broken++;
    }
    return neutral;
}

/* The primary answers: read-only, other writable servers, semi-sync locked, replicas broken, or ok. */
static void judge_primary_up(const topo_cluster *c, const char *pa, size_t unreachable, ana_result *out,
                             strbuf_line *e)
{
    const topo_instance *p = c->v[c->primary];
    const topo_semisync *ss = &p->snap.semisync;
    if (p->snap.read_only || p->snap.super_read_only) {
        out->code = ANA_PRIMARY_READ_ONLY;
        strbuf_line_add(e, "primary %s is read-only (%s=ON): nobody can write", pa,
                        p->snap.super_read_only && !p->snap.read_only ? "super_read_only" : "read_only");
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        const topo_instance *o = c->v[i];
        if ((int)i != c->primary && o->reachable && o->have_snap && !o->fenced && !o->snap.replica.present &&
            !o->snap.read_only && !o->snap.super_read_only)
            out->writable_others++;
    }
    if (out->writable_others) {
        bool first = true;
        out->code = ANA_MULTIPLE_WRITABLE;
        strbuf_line_add(e, "primary %s and %zu detached server%s writable: ", pa, out->writable_others,
                        out->writable_others == 1 ? " are" : "s are");
        for (size_t i = 0; i < c->n; i++) {
            const topo_instance *o = c->v[i];
            char oa[TOPO_ADDR_MAX];
            if ((int)i == c->primary || !o->reachable || !o->have_snap || o->fenced || o->snap.replica.present ||
                o->snap.read_only || o->snap.super_read_only)
                continue;
            strbuf_line_add(e, "%s%s", first ? "" : ", ", topo_addr_str(&o->addr, oa, sizeof(oa)));
            first = false;
        }
        strbuf_line_add(e, "; clients may write to either: make the extra ones read-only or move them out of the "
                            "cluster");
        return;
    }
    if (ss->source_enabled && ss->source_status_on && ss->source_clients == 0) {
        out->code = ANA_LOCKED_SEMI_SYNC;
        strbuf_line_add(e, "primary %s has semi-sync on (source side) and 0 semi-sync replicas connected: "
                            "commits wait for an acknowledgement",
                        pa);
        if (ss->source_timeout_ms >= 0)
            strbuf_line_add(e, " up to %lld ms (semi-sync timeout)", ss->source_timeout_ms);
        return;
    }
    if (out->replicas_broken || unreachable) {
        bool first = true;
        out->code = ANA_REPLICAS_BROKEN;
        strbuf_line_add(e, "primary %s ok; %zu/%zu replicas not replicating: ", pa,
                        out->replicas_broken + unreachable, out->replicas);
        for (size_t i = 0; i < c->n; i++) {
            if (!ana_is_direct_replica(c, i, c->primary))
                continue;
            const topo_instance *r = c->v[i];
            rs_class cls = classify(r, false, 0, NULL, false);
            if (cls != RS_UNREACHABLE && !is_broken(r, false))
                continue;
            strbuf_line_add(e, "%s", first ? "" : ", ");
            describe_replica(e, r, cls, false);
            first = false;
        }
        return;
    }
    out->code = ANA_OK;
    if (out->replicas)
        strbuf_line_add(e, "primary %s ok; %zu/%zu replicas replicating", pa, out->replicas_replicating,
                        out->replicas);
    else
        strbuf_line_add(e, "primary %s ok; no replicas", pa);
}

/* The controller lost the primary (or it does not answer a probe): its replicas decide, then the
 * quorum rule. */
static void judge_primary_down(const topo_cluster *c, const ana_input *in, const char *pa,
                               int64_t down_since, size_t neutral, size_t earlier, size_t unreachable,
                               ana_result *out, strbuf_line *e)
{
    const topo_instance *p = c->v[c->primary];
    if (p->reachable) {
        strbuf_line_add(e, "%s has not answered the probe sent at t=%lld ms; ", pa, (long long)down_since);
    } else {
        strbuf_line_add(e, "%s unreachable since t=%lld ms (", pa, (long long)p->down_since_ms);
        ev_err(e, p->err_code, p->err);
        strbuf_line_add(e, "); ");
    }
    if (out->replicas == 0) {
        out->code = ANA_DEAD_PRIMARY_NO_REPLICAS;
        strbuf_line_add(e, "it has no replicas");
        return;
    }
    if (out->replicas_reachable == 0) {
        out->code = ANA_ALL_DOWN;
        strbuf_line_add(e, "all %zu replicas unreachable: ", out->replicas);
    } else if (out->replicas_replicating) {
        out->code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING;
        strbuf_line_add(e, "%zu/%zu replicas still replicate from it (the controller alone lost it): ",
                        out->replicas_replicating, out->replicas);
    } else if (out->replicas_confirming == 0 || out->replicas_stale) {
        out->code = ANA_PRIMARY_SUSPECT;
        strbuf_line_add(e, "not confirmed: %zu/%zu replicas confirm, %zu probed before the failure, "
                            "%zu without evidence, %zu unreachable: ",
                        out->replicas_confirming, out->replicas, out->replicas_stale, neutral, unreachable);
    } else if (earlier) {
        /* The primary still holds its connection to the controller (an answer is owed, the read
         * timeout has not passed) and a replica lost it long before that: the replicas' silence
         * has another cause (fault scenario 5: replicas cut from the primary, then one slow answer
         * at the heal while one replica has just reconnected). No hang is confirmed on the rest;
         * a real hang is confirmed once the probe times out (the primary unreachable). */
        out->code = ANA_PRIMARY_SUSPECT;
        strbuf_line_add(e, "not confirmed: %zu/%zu replicas confirm, but %zu lost it long before this unanswered probe "
                           "(another fault; a hang is confirmed when the probe times out): ",
                        out->replicas_confirming, out->replicas, earlier);
    } else {
        quorum_input qi = {
            .servers = 1 + out->replicas,
            .replicas_on_side = out->replicas_reachable,
            .controllers = in->controllers ? in->controllers : 1,
            .controllers_agreeing = in->controllers ? in->controllers_agreeing : 1,
            .off = in->quorum_off,
        };
        quorum_decide(&qi, &out->quorum);
        if (!out->quorum.majority) {
            out->code = ANA_DEAD_PRIMARY_MINORITY;
            strbuf_line_add(e, "%zu/%zu replicas confirm, %zu unreachable; minority side (%s): not failing over, the "
                                "primary may be alive with the rest of the cluster ('myorch failover --force' to act "
                                "anyway): ",
                            out->replicas_confirming, out->replicas, unreachable, out->quorum.why);
        } else if (unreachable) {
            out->code = ANA_DEAD_PRIMARY_AND_SOME_REPLICAS;
            strbuf_line_add(e, "%zu/%zu replicas confirm, %zu unreachable; majority (%s): ", out->replicas_confirming,
                            out->replicas, unreachable, out->quorum.why);
        } else {
            out->code = ANA_DEAD_PRIMARY;
            strbuf_line_add(e, "%zu/%zu replicas confirm: ", out->replicas_confirming, out->replicas);
        }
    }
    bool first = true;
    for (size_t i = 0; i < c->n; i++) {
        if (!ana_is_direct_replica(c, i, c->primary))
            continue;
        const topo_instance *r = c->v[i];
        strbuf_line_add(e, "%s", first ? "" : ", ");
        describe_replica(e, r, classify(r, true, down_since, in, in->primary_waiting_since_ms > 0 && c->v[c->primary]->reachable), true);
        first = false;
    }
}

void ana_analyze(const topo_cluster *c, const ana_input *in, ana_result *out)
{
    strbuf_line e;
    const topo_instance *p;
    char pa[TOPO_ADDR_MAX];
    bool down;
    int64_t down_since;
    size_t neutral, earlier;

    memset(out, 0, sizeof(*out));
    out->primary = -1;
    e = (strbuf_line){ .buf = out->evidence, .cap = sizeof(out->evidence) };

    if (!c || !in || !in->first_round_done) {
        out->code = ANA_NOT_READY;
        strbuf_line_add(&e, "first probe round not finished");
        return;
    }
    if (c->primary < 0 || (size_t)c->primary >= c->n) {
        judge_no_primary(c, out, &e);
        return;
    }
    out->primary = c->primary;
    p = c->v[c->primary];
    topo_addr_str(&p->addr, pa, sizeof(pa));
    if (!p->reachable && !p->probed) {
        out->code = ANA_NOT_READY;
        strbuf_line_add(&e, "primary %s not probed yet", pa);
        return;
    }
    down = !p->reachable || in->primary_waiting_since_ms > 0;
    down_since = !p->reachable ? p->down_since_ms : in->primary_waiting_since_ms;
    neutral = count_replicas(c, in, down, down_since, out, &earlier);
    if (!down)
        judge_primary_up(c, pa, out->replicas - out->replicas_reachable, out, &e);
    else
        judge_primary_down(c, in, pa, down_since, neutral, earlier, out->replicas - out->replicas_reachable, out, &e);
}

const char *ana_code_name(ana_code code)
{
    switch (code) {
    case ANA_NOT_READY: return "not-ready";
    case ANA_OK: return "ok";
    case ANA_NO_PRIMARY: return "no-primary";
    case ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING: return "primary-unreachable-but-replicas-replicating";
    case ANA_PRIMARY_SUSPECT: return "primary-suspect";
    case ANA_DEAD_PRIMARY: return "dead-primary";
    case ANA_DEAD_PRIMARY_AND_SOME_REPLICAS: return "dead-primary-and-some-replicas";
    case ANA_ALL_DOWN: return "all-down";
    case ANA_DEAD_PRIMARY_NO_REPLICAS: return "dead-primary-no-replicas";
    case ANA_REPLICAS_BROKEN: return "replicas-broken";
    case ANA_LOCKED_SEMI_SYNC: return "locked-semi-sync";
    case ANA_PRIMARY_READ_ONLY: return "primary-read-only";
    case ANA_DEAD_PRIMARY_MINORITY: return "dead-primary-minority";
    case ANA_MULTIPLE_WRITABLE: return "multiple-writable";
    }
    return "unknown";
}

bool ana_is_failover(ana_code code)
{
    return code == ANA_DEAD_PRIMARY || code == ANA_DEAD_PRIMARY_AND_SOME_REPLICAS;
}
