/* orchestrator/recovery.c — per-cluster recovery state machine, audit and after-care. */
#include "orchestrator/recovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "orchestrator/candidate.h"
#include "orchestrator/log.h"
#include "topology/gtid.h"

#define FAST_INTERVAL_MS 50
#define FAST_WINDOW_MS 10000

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void emit(rec_cluster *rc, int level, const char *name, const topo_instance *in, json_t *detail,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void emit(rec_cluster *rc, int level, const char *name, const topo_instance *in, json_t *detail,
                 const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rc->env->emit(rc->env->user, level, name, rc->mc, in, msg, detail);
    json_decref(detail);
}

static gtid_kind kind_of(topo_flavor f) { return f == TOPO_FLAVOR_MYSQL ? GTID_KIND_MYSQL : GTID_KIND_MARIADB; }

static const char *own_pos(const topo_snapshot *s)
{
    return s->flavor == TOPO_FLAVOR_MYSQL ? s->gtid_executed : s->gtid_binlog_pos;
}

static topo_instance *find(rec_cluster *rc, const topo_addr *a)
{
    int i = topo_cluster_find(&rc->mc->model, a);
    return i >= 0 ? rc->mc->model.v[i] : NULL;
}

static void persist(rec_cluster *rc, topo_instance *in)
{
    if (rc->env->st)
        store_save_instance(rc->env->st, rc->mc->model.name, in, wall_ms() / 1000);
}

static void set_fast(rec_cluster *rc, bool on, int64_t now_ms)
{
    mon_cluster *mc = rc->mc;
    if (on) {
        rc->fast_until_ms = now_ms + FAST_WINDOW_MS;
        if (rc->fast)
            return;
        rc->fast = true;
        for (size_t i = 0; i < mc->model.n; i++)
            if (mc->model.v[i]->probe) {
                probe_set_interval(mc->model.v[i]->probe, FAST_INTERVAL_MS < mc->interval_ms ? FAST_INTERVAL_MS
                                                                                             : mc->interval_ms);
                probe_now(mc->model.v[i]->probe);
            }
    } else if (rc->fast) {
        rc->fast = false;
        for (size_t i = 0; i < mc->model.n; i++)
            if (mc->model.v[i]->probe)
                probe_set_interval(mc->model.v[i]->probe, mc->interval_ms);
    }
}

int rec_cluster_init(rec_cluster *rc, rec_env *env, mon_cluster *mc, const cfg_cluster *cfg, char *err,
                     size_t errlen)
{
    int64_t now = wall_ms();
    int n;
    (void)err;
    (void)errlen;
    memset(rc, 0, sizeof(*rc));
    rc->env = env;
    rc->mc = mc;
    rc->cfg = cfg;
    if (!env->st)
        return 0;
    n = store_recovery_interrupt(env->st, mc->model.name, now);
    if (n > 0) {
        rc->blocked_until_ms = now + (int64_t)cfg->failover_block_s * 1000;
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL,
             "a recovery of cluster %s was interrupted by a controller stop; check the topology ('myorch topology'); "
             "automatic recovery is blocked for %d s unless acknowledged ('myorch ack --cluster %s')",
             mc->model.name, cfg->failover_block_s, mc->model.name);
    } else {
        int64_t last = store_recovery_last_end_ms(env->st, mc->model.name);
        if (last)
            rc->blocked_until_ms = last + (int64_t)cfg->failover_block_s * 1000;
    }
    return 0;
}

void rec_cluster_free(rec_cluster *rc)
{
    /* Let a running recovery finish: past the point of no return it must not be abandoned. */
    while (rc->exec) {
        rec_exec_msg m;
        int r = rec_exec_read(rc->exec, &m);
        if (r == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        rec_cluster_io(rc);
        if (r < 0)
            break;
    }
    if (rc->exec) {
        rec_exec_free(rc->exec);
        rc->exec = NULL;
    }
    if (rc->job) {
        rec_exec_free(rc->job);
        rc->job = NULL;
    }
    rec_plan_free(&rc->plan);
    rec_plan_free(&rc->job_plan);
    free(rc->promoted_gtid);
    rc->promoted_gtid = NULL;
}

static void creds_of(rec_cluster *rc, rec_exec_creds *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->user, sizeof(c->user), "%s", rc->cfg->user);
    c->password = rc->cfg->password;
    snprintf(c->repl_user, sizeof(c->repl_user), "%s", rc->cfg->replication_user);
    c->repl_password = rc->cfg->replication_password;
    c->connect_timeout_ms = rc->env->connect_timeout_ms;
}

static void log_plan(const rec_plan *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    rec_plan_print(p, f);
    fclose(f);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        log_info("  %s", line);
    free(buf);
}

/* Record a recovery that could not even start (no candidate). */
static void record_refusal(rec_cluster *rc, const char *why, int64_t now)
{
    char old[TOPO_ADDR_MAX] = "";
    int64_t id = 0;
    char err[256];
    topo_instance *p = rc->last.primary >= 0 ? rc->mc->model.v[rc->last.primary] : NULL;
    store_recovery r = {.cluster = rc->mc->model.name, .kind = "failover", .trigger = "auto",
                        .analysis = rec_analysis_name(rc->last.code), .evidence = rc->last.evidence,
                        .primary_lost_ms = rc->primary_lost_ms, .detected_ms = rc->detected_ms,
                        .started_ms = now};
    if (p)
        r.old_primary = topo_addr_str(&p->addr, old, sizeof(old));
    if (rc->env->st && store_recovery_begin(rc->env->st, &r, &id, err, sizeof(err)) == 0)
        store_recovery_end(rc->env->st, id, "failed", now, NULL, why);
    rc->blocked_until_ms = now + (int64_t)rc->cfg->failover_block_s * 1000;
}

static void start_recovery(rec_cluster *rc, int64_t now)
{
    mon_cluster *mc = rc->mc;
    rec_ranking rank;
    rec_candidate_opts co = {.never_promote = rc->cfg->never_promote, .n_never_promote = rc->cfg->n_never_promote,
                             .prefer = rc->cfg->prefer, .n_prefer = rc->cfg->n_prefer, .target = NULL};
    rec_plan_opts po = {.apply_timeout_ms = rc->cfg->apply_timeout_ms, .verify_timeout_ms = 5000,
                        .fence_timeout_ms = 1000};
    rec_exec_creds creds;
    char err[512], old[TOPO_ADDR_MAX], neu[TOPO_ADDR_MAX];
    char *plan_txt = NULL;
    json_t *plan_json;
    store_recovery r;
    int rc_;

    memset(&rank, 0, sizeof(rank));
    if (rec_rank_candidates(&mc->model, rc->last.primary, &co, &rank, err, sizeof(err)) < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot rank candidates: %s", err);
        return;
    }
    if (rank.chosen < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, json_pack("{s:s}", "analysis", rec_analysis_name(rc->last.code)),
             "primary dead but no replica can be promoted: %s", rank.reason);
        record_refusal(rc, rank.reason, now);
        rec_ranking_free(&rank);
        return;
    }
    rc_ = rec_plan_failover(&mc->model, rc->last.primary, &rank, &po, &rc->plan, err, sizeof(err));
    rec_ranking_free(&rank);
    if (rc_ < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot plan the failover: %s", err);
        record_refusal(rc, err, now);
        return;
    }
    topo_addr_str(&rc->plan.old_primary.addr, old, sizeof(old));
    topo_addr_str(&rc->plan.new_primary.addr, neu, sizeof(neu));
    plan_json = rec_plan_to_json(&rc->plan);
    plan_txt = json_dumps(plan_json, JSON_COMPACT);
    r = (store_recovery){.cluster = mc->model.name, .kind = "failover", .trigger = "auto",
                         .analysis = rec_analysis_name(rc->last.code), .evidence = rc->last.evidence,
                         .old_primary = old, .new_primary = neu, .primary_lost_ms = rc->primary_lost_ms,
                         .detected_ms = rc->detected_ms, .started_ms = now, .plan_json = plan_txt,
                         .old_primary_gtid = rc->plan.old_primary_gtid};
    if (rc->env->st && store_recovery_begin(rc->env->st, &r, &rc->recovery_id, err, sizeof(err)) < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL, "%s", err);
        free(plan_txt);
        json_decref(plan_json);
        rec_plan_free(&rc->plan);
        return;
    }
    free(plan_txt);
    emit(rc, LOGL_WARN, "recovery-started", NULL,
         json_pack("{s:I, s:s, s:s, s:o}", "recovery_id", (json_int_t)rc->recovery_id, "old_primary", old,
                   "new_primary", neu, "plan", plan_json),
         "failover #%lld: %s is %s; promoting %s", (long long)rc->recovery_id, old, rec_analysis_name(rc->last.code),
         neu);
    log_plan(&rc->plan);
    emit(rc, LOGL_INFO, "candidate-selected", find(rc, &rc->plan.new_primary.addr),
         json_pack("{s:I, s:s?}", "recovery_id", (json_int_t)rc->recovery_id, "excluded", rc->plan.excluded),
         "%s chosen: %s", neu, rc->plan.reason);
    rc->promoted = false;
    free(rc->promoted_gtid);
    rc->promoted_gtid = NULL;
    rc->last_error[0] = '\0';
    creds_of(rc, &creds);
    if (rec_exec_start(&rc->plan, &creds, &rc->exec, err, sizeof(err)) < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot start the recovery: %s", err);
        if (rc->env->st)
            store_recovery_end(rc->env->st, rc->recovery_id, "failed", wall_ms(), NULL, err);
        rec_plan_free(&rc->plan);
    }
}

static void maybe_recover(rec_cluster *rc, int64_t now)
{
    if (rc->exec || rc->incident_handled)
        return;
    rc->incident_handled = true;
    if (!rc->cfg->auto_failover) {
        emit(rc, LOGL_ERROR, "recovery-skipped", NULL, NULL,
             "%s, but auto_failover = no: not acting (run 'myorch failover --cluster %s' to recover by hand)",
             rec_analysis_name(rc->last.code), rc->mc->model.name);
        return;
    }
    if (now < rc->blocked_until_ms) {
        emit(rc, LOGL_ERROR, "recovery-blocked", NULL,
             json_pack("{s:I}", "blocked_for_ms", (json_int_t)(rc->blocked_until_ms - now)),
             "%s, but a recovery ran less than failover_block_s=%d s ago: not acting for another %lld s "
             "(acknowledge with 'myorch ack --cluster %s' to allow it)",
             rec_analysis_name(rc->last.code), rc->cfg->failover_block_s,
             (long long)((rc->blocked_until_ms - now + 999) / 1000), rc->mc->model.name);
        return;
    }
    start_recovery(rc, now);
}

void rec_cluster_tick(rec_cluster *rc, int64_t now_mono)
{
    mon_cluster *mc = rc->mc;
    rec_analysis_input ai = {.first_round_done = mc->first_round_done};
    rec_analysis a;
    int64_t now = wall_ms();
    topo_instance *p;

    rec_analyze(&mc->model, &ai, &a);
    p = a.primary >= 0 ? mc->model.v[a.primary] : NULL;

    /* Track when the primary was lost, and probe the replicas fast meanwhile. */
    if (p && !p->reachable && p->probed && !p->fenced) {
        if (!rc->primary_lost_ms) {
            /* Just lost: ask every replica now, then keep asking fast for a while. */
            rc->primary_lost_ms = now - (p->down_since_ms ? probe_now_ms() - p->down_since_ms : 0);
            if (!rc->exec)
                set_fast(rc, true, now_mono);
        }
    } else {
        rc->primary_lost_ms = 0;
    }
    if (rc->fast && (now_mono > rc->fast_until_ms || !p || p->reachable))
        set_fast(rc, false, now_mono);

    if (a.code != rc->last.code) {
        int level = a.code == REC_A_OK || a.code == REC_A_NOT_READY ? LOGL_INFO
                    : rec_analysis_is_failover(a.code) || a.code == REC_A_ALL_DOWN ? LOGL_ERROR : LOGL_WARN;
        const char *name = rec_analysis_is_failover(a.code) ? "primary-dead"
                           : a.code == REC_A_PRIMARY_SUSPECT || a.code == REC_A_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING
                               ? "primary-suspect"
                               : "analysis-changed";
        emit(rc, level, name, p, json_pack("{s:s, s:s}", "analysis", rec_analysis_name(a.code), "previous",
                                           rec_analysis_name(rc->last.code)),
             "%s: %s", rec_analysis_name(a.code), a.evidence);
    }
    rc->last = a;
    if (rec_analysis_is_failover(a.code)) {
        if (!rc->detected_ms)
            rc->detected_ms = now;
        maybe_recover(rc, now);
    } else {
        rc->detected_ms = 0;
        if (a.code != REC_A_PRIMARY_SUSPECT && a.code != REC_A_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING)
            rc->incident_handled = false;
    }
    if (!rc->exec && !rc->job && now_mono >= rc->job_next_ms && mc->first_round_done) {
        /* After-care of demoted primaries and replicas left behind. */
        topo_instance *np = mc->model.primary >= 0 ? mc->model.v[mc->model.primary] : NULL;
        if (np && (!np->reachable || np->snap.read_only || np->fenced))
            np = NULL;
        for (size_t i = 0; i < mc->model.n && !rc->job; i++) {
            topo_instance *in = mc->model.v[i];
            char a1[TOPO_ADDR_MAX], a2[TOPO_ADDR_MAX], err[256];
            rec_step_kind kind;
            const char *why;
            if (!in->reachable || !in->have_snap || in->stale || in == np)
                continue;
            /* Only act on what a server said after the last recovery changed things. */
            if (in->snap.taken_at_ms <= rc->aftercare_from_ms)
                continue;
            if (in->fenced) {
                const topo_replica_status *r = &in->snap.replica;
                if (!in->snap.read_only) {
                    kind = REC_STEP_FENCE;
                    why = "a demoted primary is writable again: fencing it";
                } else if (np && r->present && topo_addr_eq(&r->source, &np->addr) && r->io_state == TOPO_THREAD_YES &&
                           r->sql_state == TOPO_THREAD_YES) {
                    in->fenced = false;
                    persist(rc, in);
                    mc->dirty = true;
                    mc->version++;
                    emit(rc, LOGL_INFO, "primary-rejoined", in, NULL, "%s, the demoted primary, now replicates from %s",
                         topo_addr_str(&in->addr, a1, sizeof(a1)), topo_addr_str(&np->addr, a2, sizeof(a2)));
                    continue;
                } else if (np && !r->present) {
                    char *extra = NULL;
                    const char *mine = own_pos(&in->snap), *theirs = own_pos(&np->snap);
                    if (gtid_text_errant(kind_of(in->snap.flavor), mine ? mine : "", theirs ? theirs : "", &extra,
                                         err, sizeof(err)) < 0) {
                        free(extra);
                        continue;
                    }
                    if (extra && *extra) {
                        if (strcmp(rc->diverged_reported, topo_addr_str(&in->addr, a1, sizeof(a1))) != 0) {
                            snprintf(rc->diverged_reported, sizeof(rc->diverged_reported), "%s", a1);
                            emit(rc, LOGL_ERROR, "primary-diverged", in, json_pack("{s:s}", "extra_gtids", extra),
                                 "%s, the demoted primary, has transactions the new primary %s lacks: %s; it stays "
                                 "read-only and out of the cluster until an operator reconciles it",
                                 a1, topo_addr_str(&np->addr, a2, sizeof(a2)), extra);
                        }
                        free(extra);
                        continue;
                    }
                    free(extra);
                    kind = REC_STEP_REJOIN;
                    why = "the demoted primary holds nothing the new primary lacks: rejoining it as a replica";
                } else {
                    continue;
                }
            } else if (np && in->snap.replica.present) {
                /* A replica still pointing at a demoted primary (it was down during the failover). */
                topo_instance *src = find(rc, &in->snap.replica.source);
                const char *mine, *theirs;
                char *extra = NULL;
                if (!src || !src->fenced)
                    continue;
                mine = in->snap.flavor == TOPO_FLAVOR_MYSQL ? in->snap.gtid_executed
                       : in->snap.gtid_slave_pos                 ? in->snap.gtid_slave_pos
                                                                 : in->snap.gtid_current_pos;
                theirs = own_pos(&np->snap);
                if (gtid_text_errant(kind_of(in->snap.flavor), mine ? mine : "", theirs ? theirs : "", &extra, err,
                                     sizeof(err)) < 0 || (extra && *extra)) {
                    if (extra && *extra && strcmp(rc->diverged_reported, topo_addr_str(&in->addr, a1, sizeof(a1)))) {
                        snprintf(rc->diverged_reported, sizeof(rc->diverged_reported), "%s", a1);
                        emit(rc, LOGL_ERROR, "replica-lost", in, json_pack("{s:s}", "extra_gtids", extra),
                             "%s cannot follow the new primary: it has transactions %s lacks: %s", a1,
                             topo_addr_str(&np->addr, a2, sizeof(a2)), extra);
                    }
                    free(extra);
                    continue;
                }
                free(extra);
                kind = REC_STEP_REPOINT;
                why = "a replica of the demoted primary: repointing it to the new primary";
            } else {
                continue;
            }
            if (rec_plan_single(mc->model.name, "after-care", kind, in, kind == REC_STEP_FENCE ? NULL : np, 5000,
                                &rc->job_plan, err, sizeof(err)) < 0)
                continue;
            {
                rec_exec_creds creds;
                creds_of(rc, &creds);
                emit(rc, LOGL_WARN, "after-care", in, json_pack("{s:s}", "step", rec_step_name(kind)), "%s: %s",
                     topo_addr_str(&in->addr, a1, sizeof(a1)), why);
                if (rec_exec_start(&rc->job_plan, &creds, &rc->job, err, sizeof(err)) < 0) {
                    emit(rc, LOGL_ERROR, "after-care", in, NULL, "cannot start: %s", err);
                    rec_plan_free(&rc->job_plan);
                    rc->job_next_ms = now_mono + 5000;
                }
            }
        }
    }
}

size_t rec_cluster_fds(const rec_cluster *rc, int *fds, size_t max)
{
    size_t n = 0;
    if (rc->exec && n < max)
        fds[n++] = rec_exec_fd(rc->exec);
    if (rc->job && n < max)
        fds[n++] = rec_exec_fd(rc->job);
    return n;
}

static void finish_recovery(rec_cluster *rc, const rec_exec_msg *m)
{
    char *lost = NULL, err[256], old[TOPO_ADDR_MAX], neu[TOPO_ADDR_MAX];
    const char *state = m->ok ? "done" : "failed";
    topo_instance *oldp = find(rc, &rc->plan.old_primary.addr);
    int64_t dur;

    topo_addr_str(&rc->plan.old_primary.addr, old, sizeof(old));
    topo_addr_str(&rc->plan.new_primary.addr, neu, sizeof(neu));
    if (rc->promoted && rc->plan.old_primary_gtid)
        gtid_text_errant(kind_of(rc->plan.old_primary.flavor), rc->plan.old_primary_gtid,
                         rc->promoted_gtid ? rc->promoted_gtid : "", &lost, err, sizeof(err));
    if (rc->env->st)
        store_recovery_end(rc->env->st, rc->recovery_id, state, m->at_ms, lost,
                           m->ok ? NULL : (rc->last_error[0] ? rc->last_error : m->message));
    if (rc->promoted && oldp) {
        oldp->fenced = true;
        persist(rc, oldp);
        rc->mc->dirty = true;
        rc->mc->version++;
    }
    dur = m->at_ms - (rc->primary_lost_ms ? rc->primary_lost_ms : m->at_ms);
    if (m->ok)
        emit(rc, LOGL_WARN, "recovery-done", NULL,
             json_pack("{s:I, s:s, s:s, s:s?, s:I}", "recovery_id", (json_int_t)rc->recovery_id, "old_primary", old,
                       "new_primary", neu, "lost_gtids", lost, "since_primary_lost_ms", (json_int_t)dur),
             "failover #%lld done: %s is the primary (was %s), %lld ms after the primary was lost; lost transactions: %s",
             (long long)rc->recovery_id, neu, old, (long long)dur, lost ? (*lost ? lost : "none") : "unknown");
    else
        emit(rc, LOGL_ERROR, "recovery-failed", NULL,
             json_pack("{s:I, s:b, s:b, s:s?}", "recovery_id", (json_int_t)rc->recovery_id, "aborted", m->aborted,
                       "promoted", rc->promoted, "lost_gtids", lost),
             "failover #%lld %s: %s%s", (long long)rc->recovery_id,
             m->aborted ? "aborted (nothing was promoted; replicas resumed)" : "finished with failures",
             rc->last_error[0] ? rc->last_error : m->message,
             rc->promoted ? "; the new primary is writable" : "");
    free(lost);
    rc->blocked_until_ms = m->at_ms + (int64_t)rc->cfg->failover_block_s * 1000;
    rec_exec_free(rc->exec);
    rc->exec = NULL;
    rec_plan_free(&rc->plan);
    set_fast(rc, false, 0);
    rc->aftercare_from_ms = probe_now_ms();
    mon_probe_cluster_now(rc->env->mon, rc->mc);
}

static void handle_msg(rec_cluster *rc, const rec_exec_msg *m)
{
    const rec_step *s = m->step >= 0 && (size_t)m->step < rc->plan.n ? &rc->plan.v[m->step] : NULL;
    char target[TOPO_ADDR_MAX] = "", desc[1024] = "";
    topo_instance *in = NULL;
    if (s) {
        topo_addr_str(&s->target.addr, target, sizeof(target));
        rec_step_describe(s, desc, sizeof(desc));
        in = find(rc, &s->target.addr);
    }
    switch (m->kind) {
    case REC_EXEC_STEP_START:
        if (rc->env->st && s)
            store_recovery_step(rc->env->st, rc->recovery_id, m->step + 1, rec_step_name(s->kind), target, desc,
                                m->at_ms, 0, NULL, NULL);
        log_debug("recovery #%lld step %d %s %s started", (long long)rc->recovery_id, m->step + 1,
                  s ? rec_step_name(s->kind) : "?", desc);
        break;
    case REC_EXEC_STEP_END:
        if (!s)
            break;
        if (rc->env->st)
            store_recovery_step(rc->env->st, rc->recovery_id, m->step + 1, rec_step_name(s->kind), target, desc, 0,
                                m->at_ms, m->ok ? "ok" : "failed", m->message);
        if (m->ok) {
            switch (s->kind) {
            case REC_STEP_SET_WRITABLE:
                rc->promoted = true;
                free(rc->promoted_gtid);
                rc->promoted_gtid = strdup(m->gtid);
                if (rc->env->st)
                    store_recovery_promoted(rc->env->st, rc->recovery_id, m->at_ms, m->gtid);
                emit(rc, LOGL_WARN, "replica-promoted", in,
                     json_pack("{s:I, s:s, s:I}", "recovery_id", (json_int_t)rc->recovery_id, "gtid", m->gtid,
                               "since_primary_lost_ms",
                               (json_int_t)(rc->primary_lost_ms ? m->at_ms - rc->primary_lost_ms : 0)),
                     "%s promoted: %s", target, m->message);
                break;
            case REC_STEP_VERIFY:
                emit(rc, LOGL_INFO, "replica-repointed", in,
                     json_pack("{s:I}", "recovery_id", (json_int_t)rc->recovery_id), "%s %s", target, m->message);
                break;
            case REC_STEP_FENCE:
                emit(rc, LOGL_WARN, "primary-fenced", in, NULL, "%s", m->message);
                break;
            case REC_STEP_CATCH_UP:
                emit(rc, LOGL_INFO, "replica-caught-up", in, NULL, "%s %s", target, m->message);
                break;
            default:
                log_info("recovery #%lld step %d %s %s: %s", (long long)rc->recovery_id, m->step + 1,
                         rec_step_name(s->kind), target, m->message);
                break;
            }
        } else {
            if (s->kind == REC_STEP_REPOINT || s->kind == REC_STEP_VERIFY)
                emit(rc, LOGL_ERROR, "replica-lost", in, json_pack("{s:I}", "recovery_id", (json_int_t)rc->recovery_id),
                     "%s cannot follow the new primary: %s", target, m->message);
            else if (s->kind == REC_STEP_FENCE)
                emit(rc, LOGL_WARN, "fence-deferred", in, NULL,
                     "%s not fenced now (%s): it is kept read-only whenever it is reachable again", target, m->message);
            else {
                snprintf(rc->last_error, sizeof(rc->last_error), "step %d %s on %s: %.1000s", m->step + 1,
                         rec_step_name(s->kind), target, m->message);
                emit(rc, LOGL_ERROR, "recovery-step-failed", in, NULL, "%s", rc->last_error);
            }
        }
        break;
    case REC_EXEC_ROLLBACK:
        if (rc->env->st)
            store_recovery_step(rc->env->st, rc->recovery_id, 0, "rollback", NULL, NULL, m->at_ms, m->at_ms,
                                m->ok ? "ok" : "failed", m->message);
        emit(rc, LOGL_WARN, "recovery-rollback", NULL, NULL, "%s", m->message);
        break;
    case REC_EXEC_DONE:
        finish_recovery(rc, m);
        break;
    }
}

static void handle_job_msg(rec_cluster *rc, const rec_exec_msg *m)
{
    const rec_step *s = rc->job_plan.n ? &rc->job_plan.v[0] : NULL;
    topo_instance *in = s ? find(rc, &s->target.addr) : NULL;
    char a[TOPO_ADDR_MAX];
    if (m->kind == REC_EXEC_STEP_END && s) {
        topo_addr_str(&s->target.addr, a, sizeof(a));
        if (m->ok && s->kind == REC_STEP_FENCE)
            emit(rc, LOGL_WARN, "primary-fenced", in, NULL, "%s", m->message);
        else if (m->ok)
            emit(rc, LOGL_INFO, s->kind == REC_STEP_REJOIN ? "primary-rejoining" : "replica-repointed", in, NULL,
                 "%s", m->message);
        else
            emit(rc, LOGL_ERROR, "after-care-failed", in, NULL, "%s %s: %s", rec_step_name(s->kind), a, m->message);
        rc->job_next_ms = probe_now_ms() + (m->ok ? 500 : 5000);
    } else if (m->kind == REC_EXEC_DONE) {
        rec_exec_free(rc->job);
        rc->job = NULL;
        rec_plan_free(&rc->job_plan);
        if (in && in->probe)
            probe_now(in->probe);
    }
}

void rec_cluster_io(rec_cluster *rc)
{
    rec_exec_msg m;
    while (rc->exec) {
        int r = rec_exec_read(rc->exec, &m);
        if (r <= 0)
            break;
        handle_msg(rc, &m); /* may free rc->exec on DONE */
    }
    while (rc->job) {
        int r = rec_exec_read(rc->job, &m);
        if (r <= 0)
            break;
        handle_job_msg(rc, &m);
    }
}

int rec_cluster_ack(rec_cluster *rc)
{
    int n = rc->env->st ? store_recovery_ack(rc->env->st, rc->mc->model.name) : 0;
    rc->blocked_until_ms = 0;
    rc->incident_handled = false;
    emit(rc, LOGL_INFO, "recovery-acknowledged", NULL, NULL, "anti-flap block lifted (%d recoveries acknowledged)",
         n < 0 ? 0 : n);
    return n;
}

json_t *rec_cluster_status(const rec_cluster *rc)
{
    int64_t now = wall_ms();
    return json_pack("{s:s, s:s, s:b, s:I, s:o?, s:b}", "analysis", rec_analysis_name(rc->last.code), "evidence",
                     rc->last.evidence, "auto_failover", rc->cfg->auto_failover != 0, "blocked_for_s",
                     (json_int_t)(rc->blocked_until_ms > now ? (rc->blocked_until_ms - now + 999) / 1000 : 0),
                     "running_recovery", rc->exec ? json_integer(rc->recovery_id) : NULL, "fast_probing", rc->fast);
}
