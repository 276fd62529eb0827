/* orchestrator/act/recovery.c — per-cluster recovery state machine, audit and after-care. */
#include "orchestrator/act/recovery.h"
#include "topology/probe/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <time.h>

#include "orchestrator/decide/aftercare.h"
#include "orchestrator/decide/candidate.h"
#include "orchestrator/decide/intermediate.h"
#include "hooks/runner.h"
#include "orchestrator/log.h"
#include "topology/gtid.h"
#include "topology/strbuf.h"

/* A maintenance window (cluster-wide when instance is empty). */
typedef struct {
    char instance[TOPO_ADDR_MAX];
    char reason[256];
    int64_t started_ms, until_ms; /* wall; until 0 = open-ended */
} rec_maintenance;


struct rec_cluster {
    rec_env *env;
    mon_cluster *mc;
    const cfg_cluster *cfg;

    rec_state state;              /* where the machine is (rec_state.h); every change is logged and emitted */
    ana_result last;            /* latest analysis */
    int64_t primary_lost_ms;      /* wall ms when the current primary became unreachable, 0 when up */
    int64_t detected_ms;          /* wall ms when the failure was confirmed */
    bool incident_handled;        /* a failover was launched (or refused and recorded) for this failure */
    rec_hold hold;                /* what holds this failure back now (reported once) */
    unsigned launch_failures;     /* failed attempts to launch the failover for this failure */
    int64_t retry_at_ms;          /* wall: next attempt after a launch failure */
    char launch_error[640];
    unsigned audit_failures;      /* state-database writes of the recovery record that failed */
    char audit_error[512];        /* the last one: what, and SQLite's message */
    /* A dead intermediate primary (intermediate.h): reported once per incident, moved once. */
    char imd_reported[TOPO_ADDR_MAX];
    bool imd_handled;
    const char *launch_analysis, *launch_evidence; /* audit text for the next launch(), NULL: rc->last */
    bool fast;                    /* replicas probed at the fast interval */
    int64_t fast_until_ms;        /* monotonic */
    int64_t blocked_until_ms;     /* wall: no automatic recovery before */

    /* The running recovery. */
    exec_job *exec;
    plan_spec plan;
    int64_t recovery_id;
    int64_t step_started_ms;
    bool promoted;
    char *promoted_gtid;
    char *last_error;             /* the running operation's error (heap, NULL none) */

    /* A one-step job on a demoted primary or a stray replica (fence, rejoin, repoint). */
    exec_job *job;
    plan_spec job_plan;
    int64_t job_next_ms;          /* monotonic: earliest next job */
    int64_t hung_fence_next_ms;   /* monotonic: earliest next fence of a demoted primary whose probe hangs */
    rec_op op;                    /* the running operation */
    bool manual;                  /* the running operation was asked for by an operator */
    void *pending_tag;            /* who waits for its answer */
    int64_t demote_started_ms;    /* switchover: when the old primary stopped taking writes */
    int64_t writes_refused_ms;    /* switchover: demote start → new primary writable */
    /* A planned write block (switchover, rec_planned_block): 0 = none / not ended yet. Wall ms. */
    int64_t planned_from_ms, planned_to_ms;
    topo_addr planned_primary;
    bool hooks_failed;            /* a post hook failed: "done-hooks-failed" */
    bool vetoed;                  /* a pre hook vetoed */
    struct rec_hook_ctx *hook_ctx; /* what the recovery's hook steps tell the hooks */
    /* Asynchronous hooks of this cluster running now: the daemon counts them
     * (rec_cluster_hook_started/ended); the recovery's own hooks, in the worker thread,
     * wait on the condition until none runs: one hook at a time per cluster. */
    pthread_mutex_t hooks_mu;
    pthread_cond_t hooks_idle;
    int async_hooks_running;
    int64_t loop_ms;              /* the loop's time (monotonic) of the current turn (rec_cluster_io/tick) */
    exec_hooks hook_iface;
    rec_maintenance maint[32];
    size_t n_maint;
    bool maint_reported;
    int64_t aftercare_from_ms;    /* monotonic: only snapshots taken after this count */
    /* A failover interrupted (controller stopped) before its point of no return: its
     * candidate may have been detached. Until it replicates from the old primary again
     * (after-care gives it back its replication), no new failover starts, so that the
     * next one ranks it with the others instead of leaving it orphaned. */
    bool rollback_pending;
    topo_addr rollback_cand, rollback_source;
    int64_t rollback_id;          /* the interrupted recovery */
    int64_t rollback_until_ms;    /* monotonic: give up waiting for an unreachable candidate, 0 = not armed */
    char diverged_reported[TOPO_ADDR_MAX];
};

#define FAST_INTERVAL_MS 50
#define FAST_WINDOW_MS 10000

/* One loop turn's clocks, taken once (rec_cluster_tick): monotonic for deadlines,
 * wall only for what is stored or shown. */
typedef struct {
    int64_t mono_ms;
    int64_t wall_ms;
} rec_turn;

static void emit(rec_cluster *rc, int level, const char *name, const topo_instance *in, json_t *detail,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void emit(rec_cluster *rc, int level, const char *name, const topo_instance *in, json_t *detail,
                 const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    msg = strbuf_vasprintf(fmt, ap); /* whole: event texts quote GTID positions of any length */
    va_end(ap);
    rc->env->emit(rc->env->user, level, name, rc->mc, in, msg ? msg : "(event text lost: out of memory)", detail);
    free(msg);
    json_decref(detail);
}

/* The running operation's error, whole (heap). */
static void set_last_error(rec_cluster *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_last_error(rec_cluster *rc, const char *fmt, ...)
{
    va_list ap;
    free(rc->last_error);
    va_start(ap, fmt);
    rc->last_error = strbuf_vasprintf(fmt, ap);
    va_end(ap);
}

static gtid_kind kind_of(topo_flavor f) { return dialect_gtid_kind(f); }

static const char *own_pos(const topo_snapshot *s)
{
    return dialect_snap_own_gtid(s);
}

static topo_instance *find(rec_cluster *rc, const topo_addr *a)
{
    int i = topo_cluster_find(&rc->mc->model, a);
    return i >= 0 ? rc->mc->model.v[i] : NULL;
}

/*
 * A state-database write of the recovery record failed: log it with SQLite's message
 * and keep it for 'myorch status' (the recovery goes on: the servers come first).
 */
static void audit_check(rec_cluster *rc, int r, const char *what)
{
    if (r >= 0)
        return;
    rc->audit_failures++;
    snprintf(rc->audit_error, sizeof(rc->audit_error), "%s: %.400s", what,
             rc->env->st ? store_errmsg(rc->env->st) : "no state database");
    log_error("cluster %s: the state database did not record %s: %s", rc->mc->model.name, what, rc->audit_error);
}

static void persist(rec_cluster *rc, topo_instance *in)
{
    /* The fence mark of a demoted primary must survive a controller crash. */
    int r = rc->env->st ? store_save_instance(rc->env->st, rc->mc->model.name, in, clk_wall_ms() / 1000) : 0;
    if (r == 0 && rc->env->st)
        r = store_sync(rc->env->st);
    audit_check(rc, r, "a demoted primary's fence mark");
}

/* A demoted old primary: never a primary again, fenced whenever it answers, judged
 * (rejoin or diverged) against gtid, what the new primary had when promoted. Durable. */
static void mark_demoted(rec_cluster *rc, topo_instance *in, const char *gtid)
{
    in->fenced = true;
    topo_strset(&in->fence_gtid, gtid);
    persist(rc, in);
    rc->mc->dirty = true;
    rc->mc->version++;
}

struct rec_hook_ctx;
static void hook_ctx_free(struct rec_hook_ctx *h);
static void hooks_gate_init(rec_cluster *rc);

static void set_fast(rec_cluster *rc, bool on, int64_t now_ms)
{
    const rec_loop_ops *l = &rc->env->loop;
    if (on) {
        rc->fast_until_ms = now_ms + FAST_WINDOW_MS;
        if (rc->fast)
            return;
        rc->fast = true;
        if (l->set_fast)
            l->set_fast(rc->env->user, rc->mc, true, FAST_INTERVAL_MS);
    } else if (rc->fast) {
        rc->fast = false;
        if (l->set_fast)
            l->set_fast(rc->env->user, rc->mc, false, FAST_INTERVAL_MS);
    }
}

static void maint_loaded(void *user, const char *instance, const char *reason, int64_t started_ms, int64_t until_ms)
{
    rec_cluster *rc = user;
    rec_maintenance *w;
    if (rc->n_maint >= sizeof(rc->maint) / sizeof(rc->maint[0]))
        return;
    w = &rc->maint[rc->n_maint];
    /* A stored window whose instance does not fit was never written by this program: skip it
     * rather than keep a shorter (other) address. */
    if (fmt_checked(w->instance, sizeof(w->instance), NULL, 0, "instance", "%s", instance ? instance : "") < 0)
        return;
    if (fmt_checked(w->reason, sizeof(w->reason), NULL, 0, "reason", "%s", reason ? reason : "") < 0)
        snprintf(w->reason, sizeof(w->reason), "(stored reason too long to show)");
    rc->n_maint++;
    w->started_ms = started_ms;
    w->until_ms = until_ms;
}

static void rollback_end(rec_cluster *rc, const char *state, const char *error)
{
    rc->rollback_pending = false;
    if (rc->env->st && store_recovery_end(rc->env->st, rc->rollback_id, state, clk_wall_ms(), NULL, error) < 0)
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot record the end of interrupted failover #%lld: %s",
             (long long)rc->rollback_id, store_errmsg(rc->env->st));
}

/*
 * A failover the previous controller left running before its recorded point of no
 * return (no promotion in the audit). Its candidate may have been detached
 * (replication stopped and reset), or even made writable just before the crash.
 * The audit row stays 'running' (the per-cluster lock) until the servers say which:
 * after-care (aftercare_decide) ends it once the candidate has been probed. Until then no new
 * failover starts. Returns true when it took the interrupted recovery over.
 */
static bool resume_interrupted(rec_cluster *rc, int64_t now)
{
    store_running run;
    const char *name = rc->mc->model.name;
    char why[128];

    if (store_recovery_running(rc->env->st, name, &run) != 1)
        return false;
    if (rec_op_parse(run.kind) != REC_OP_FAILOVER ||
        topo_addr_parse(run.new_primary, 3306, &rc->rollback_cand, why, sizeof(why)) < 0 ||
        topo_addr_parse(run.old_primary, 3306, &rc->rollback_source, why, sizeof(why)) < 0) {
        store_running_free(&run);
        return false;
    }
    if (run.promoted) {
        /* Past the point of no return: the new primary is writable. What is left is
         * after-care's: the old primary is demoted (fenced whenever it answers), the
         * replicas still on it are repointed; the anti-flap block applies as after any
         * failover. Finished, not blocked. */
        topo_instance *old = find(rc, &rc->rollback_source);
        if (old && !old->fenced)
            mark_demoted(rc, old, run.new_primary_gtid);
        rc->blocked_until_ms = now + (int64_t)rc->cfg->failover_block_s * 1000;
        rc->rollback_id = run.id;
        rollback_end(rc, "done", "interrupted by a controller stop after the promotion; finished on restart "
                                 "(the old primary demoted, the other replicas repointed by after-care)");
        emit(rc, LOGL_WARN, "recovery-resumed", NULL, json_pack("{s:I}", "recovery_id", (json_int_t)run.id),
             "failover #%lld of cluster %s was interrupted after %s was made writable: finishing it (%s demoted "
             "and fenced when it answers, the other replicas follow %s)",
             (long long)run.id, name, run.new_primary, run.old_primary, run.new_primary);
        store_running_free(&run);
        return true;
    }
    store_running_free(&run);
    rc->rollback_pending = true;
    rc->rollback_id = run.id;
    emit(rc, LOGL_ERROR, "recovery-interrupted", NULL,
         json_pack("{s:I, s:s, s:s}", "recovery_id", (json_int_t)run.id, "candidate", run.new_primary,
                   "old_primary", run.old_primary),
         "failover #%lld of cluster %s was interrupted by a controller stop before its recorded point of no "
         "return: once %s is probed, it is either given its replication from %s back (then the failure is judged "
         "afresh) or, if it was already made writable, the failover is finished",
         (long long)run.id, name, run.new_primary, run.old_primary);
    (void)now;
    return true;
}


/*
 * The end of an interrupted failover (see resume_interrupted), judged on the
 * candidate's first probe after the restart (aftercare_decide):
 *   - it replicates: its replication was never taken: rolled back, nothing to do;
 *   - read-only without replication (detached): a repoint job gives it its
 *     source back (the next probe sees it replicating: rolled back);
 *   - writable (promoted before the crash, unrecorded): the failover is finished
 *     as if recorded: the old primary is marked demoted (fenced whenever it is
 *     reachable), after-care repoints the replicas left behind, anti-flap applies.
 */
static void rollback_rolled_back(rec_cluster *rc, topo_instance *in)
{
    char a[TOPO_ADDR_MAX];
    topo_addr_str(&in->addr, a, sizeof(a));
    emit(rc, LOGL_WARN, "recovery-rollback", in, json_pack("{s:I}", "recovery_id", (json_int_t)rc->rollback_id),
         "%s replicates: interrupted failover #%lld rolled back", a, (long long)rc->rollback_id);
    rollback_end(rc, "rolled-back", "the controller stopped before the point of no return; the candidate "
                                    "replicates again and the failure is judged afresh");
}

static void rollback_finish(rec_cluster *rc, topo_instance *in)
{
    char a[TOPO_ADDR_MAX];
    topo_instance *old = find(rc, &rc->rollback_source);
    const char *pos = own_pos(&in->snap);
    topo_addr_str(&in->addr, a, sizeof(a));
    if (old && !old->fenced) {
        mark_demoted(rc, old, pos);
    } else {
        rc->mc->dirty = true;
        rc->mc->version++;
    }
    if (rc->env->st)
        audit_check(rc, store_recovery_promoted(rc->env->st, rc->rollback_id, clk_wall_ms(), pos), "the promotion of a recovery");
    rc->blocked_until_ms = clk_wall_ms() + (int64_t)rc->cfg->failover_block_s * 1000;
    emit(rc, LOGL_WARN, "recovery-resumed", in, json_pack("{s:I}", "recovery_id", (json_int_t)rc->rollback_id),
         "%s was made writable before the controller stopped: finishing interrupted failover #%lld (the old "
         "primary is demoted, the other replicas follow %s)", a, (long long)rc->rollback_id, a);
    rollback_end(rc, "done", "finished by the restarted controller after an interruption");
}

int rec_cluster_new(rec_env *env, mon_cluster *mc, const cfg_cluster *cfg, rec_cluster **out, char *err,
                    size_t errlen)
{
    int64_t now = clk_wall_ms();
    int n;
    rec_cluster *rc = calloc(1, sizeof(*rc));
    *out = rc;
    if (!rc) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc->env = env;
    rc->mc = mc;
    rc->cfg = cfg;
    hooks_gate_init(rc);
    if (!env->st)
        return 0;
    store_maintenance_load(env->st, mc->model.name, now, maint_loaded, rc);
    n = resume_interrupted(rc, now) ? 0 : store_recovery_interrupt(env->st, mc->model.name, now);
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

static void handle_msg(rec_cluster *rc, const exec_msg *m);

void rec_cluster_free(rec_cluster *rc)
{
    if (!rc)
        return;
    /* Let a running recovery finish: past the point of no return it must not be abandoned. */
    while (rc->exec) {
        exec_msg m;
        int r = exec_read(rc->exec, &m);
        if (r == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (r < 0)
            break;
        handle_msg(rc, &m); /* every message counts (the audit, the DONE); may free rc->exec */
        exec_msg_clear(&m);
    }
    if (rc->exec) {
        exec_free(rc->exec);
        rc->exec = NULL;
    }
    if (rc->job) {
        exec_free(rc->job);
        rc->job = NULL;
    }
    plan_free(&rc->plan);
    plan_free(&rc->job_plan);
    hook_ctx_free(rc->hook_ctx);
    rc->hook_ctx = NULL;
    free(rc->promoted_gtid);
    rc->promoted_gtid = NULL;
    free(rc->last_error);
    rc->last_error = NULL;
    pthread_cond_destroy(&rc->hooks_idle);
    pthread_mutex_destroy(&rc->hooks_mu);
    free(rc);
}

mon_cluster *rec_cluster_mon(const rec_cluster *rc)
{
    return rc->mc;
}

const cfg_cluster *rec_cluster_cfg(const rec_cluster *rc)
{
    return rc->cfg;
}

ana_code rec_cluster_analysis(const rec_cluster *rc)
{
    return rc->last.code;
}

bool rec_cluster_planned(const rec_cluster *rc, rec_planned_block *out)
{
    if (!rc->planned_from_ms)
        return false;
    *out = (rec_planned_block){.from_ms = rc->planned_from_ms, .to_ms = rc->planned_to_ms,
                               .primary = rc->planned_primary};
    return true;
}

void rec_cluster_planned_clear(rec_cluster *rc)
{
    rc->planned_from_ms = rc->planned_to_ms = 0;
}

static void creds_of(rec_cluster *rc, exec_creds *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->user, sizeof(c->user), "%s", rc->cfg->user);
    c->password = rc->cfg->password;
    snprintf(c->repl_user, sizeof(c->repl_user), "%s", rc->cfg->replication_user);
    c->repl_password = rc->cfg->replication_password;
    c->connect_timeout_ms = rc->env->connect_timeout_ms;
    cfg_cluster_conn(rc->cfg, &c->conn.p);
    cfg_cluster_repl_ssl(rc->cfg, &c->repl_ssl);
    c->heartbeat_period_ms = rc->cfg->heartbeat_period_ms;
}

/*
 * Issue 18: since when the primary owes the controller an answer, once that is
 * longer than a LAN probe ever takes: one heartbeat period, or 4 x its last
 * round trip on a slow link. 0: it answers. This alone decides nothing (the
 * replicas' stall must confirm, analysis.h); it starts fast probing.
 */
static int64_t primary_waiting_since(const rec_cluster *rc, const topo_instance *p, int64_t now_mono)
{
    int64_t since, bound;

    if (!p || !p->reachable || !p->probe || p->fenced || !rc->env->loop.waiting_since)
        return 0;
    since = rc->env->loop.waiting_since(rc->env->user, p);
    bound = rc->cfg->heartbeat_period_ms;
    if (p->have_snap && 4 * p->snap.probe_latency_ms > bound)
        bound = 4 * p->snap.probe_latency_ms;
    return since > 0 && now_mono - since > bound ? since : 0;
}

/* Replicas whose heartbeat period is too long for the detection budget: reported once each. */
static void report_heartbeats(rec_cluster *rc, int primary)
{
    const topo_cluster *m = &rc->mc->model;
    long long want = rc->cfg->heartbeat_period_ms;

    if (primary < 0 || rc->cfg->stall_periods <= 0)
        return;
    for (size_t i = 0; i < m->n; i++) {
        topo_instance *r = m->v[i];
        long long hb;
        bool bad;
        char a[TOPO_ADDR_MAX];
        if (!r->reachable || !r->have_snap || r->stale || !ana_is_direct_replica(m, i, primary))
            continue;
        hb = r->snap.replica.heartbeat_period_ms;
        if (hb < 0)
            continue; /* unknown */
        bad = hb == 0 || hb > want;
        if (bad && !r->hb_reported) {
            topo_addr_str(&r->addr, a, sizeof(a));
            if (hb == 0)
                emit(rc, LOGL_WARN, "heartbeat-period-too-long", r,
                     json_pack("{s:I, s:I}", "heartbeat_period_ms", (json_int_t)hb, "wanted_ms", (json_int_t)want),
                     "replica %s has heartbeats off (MASTER_HEARTBEAT_PERIOD=0): a hung primary is seen on it only "
                     "at its net timeout; repoint it with MASTER_HEARTBEAT_PERIOD=%.3f (myorch does at the next "
                     "failover or switchover)",
                     a, want / 1000.0);
            else
                emit(rc, LOGL_WARN, "heartbeat-period-too-long", r,
                     json_pack("{s:I, s:I}", "heartbeat_period_ms", (json_int_t)hb, "wanted_ms", (json_int_t)want),
                     "replica %s has a heartbeat period of %lld ms, longer than heartbeat_period_ms = %lld: it shows a "
                     "hung primary after %lld ms instead of %lld (stall_periods = %d); repoint it with "
                     "MASTER_HEARTBEAT_PERIOD=%.3f (myorch does at the next failover or switchover)",
                     a, hb, want, hb * rc->cfg->stall_periods, want * rc->cfg->stall_periods,
                     rc->cfg->stall_periods, want / 1000.0);
        }
        r->hb_reported = bad;
    }
}

static void log_plan(const plan_spec *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    plan_print(p, f);
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
    store_recovery r = {.cluster = rc->mc->model.name, .kind = rec_op_name(REC_OP_FAILOVER), .trigger = "auto",
                        .analysis = ana_code_name(rc->last.code), .evidence = rc->last.evidence,
                        .primary_lost_ms = rc->primary_lost_ms, .detected_ms = rc->detected_ms,
                        .started_ms = now};
    if (p)
        r.old_primary = topo_addr_str(&p->addr, old, sizeof(old));
    if (rc->env->st && store_recovery_begin(rc->env->st, &r, &id, err, sizeof(err)) == 0)
        audit_check(rc, store_recovery_end(rc->env->st, id, "failed", now, NULL, why), "the end of a recovery");
    rc->blocked_until_ms = now + (int64_t)rc->cfg->failover_block_s * 1000;
}

/* ---- the asynchronous hooks' gate ------------------------------------------------- */

static void hooks_gate_init(rec_cluster *rc)
{
    pthread_condattr_t a;
    pthread_mutex_init(&rc->hooks_mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&rc->hooks_idle, &a);
    pthread_condattr_destroy(&a);
}

void rec_cluster_hook_started(rec_cluster *rc)
{
    pthread_mutex_lock(&rc->hooks_mu);
    rc->async_hooks_running++;
    pthread_mutex_unlock(&rc->hooks_mu);
}

void rec_cluster_hook_ended(rec_cluster *rc)
{
    pthread_mutex_lock(&rc->hooks_mu);
    if (rc->async_hooks_running > 0 && --rc->async_hooks_running == 0)
        pthread_cond_broadcast(&rc->hooks_idle);
    pthread_mutex_unlock(&rc->hooks_mu);
}

void rec_cluster_hooks_reset(rec_cluster *rc)
{
    pthread_mutex_lock(&rc->hooks_mu);
    rc->async_hooks_running = 0;
    pthread_cond_broadcast(&rc->hooks_idle);
    pthread_mutex_unlock(&rc->hooks_mu);
}

/* Worker thread: wait until no asynchronous hook of the cluster runs, at most timeout_ms. */
static void hooks_wait_idle(rec_cluster *rc, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rc->hooks_mu);
    while (rc->async_hooks_running > 0)
        if (pthread_cond_timedwait(&rc->hooks_idle, &rc->hooks_mu, &dl) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&rc->hooks_mu);
}

bool rec_cluster_running(const rec_cluster *rc)
{
    return rc->exec != NULL;
}

/* What a configuration reload must wait for (NULL: nothing): the running operation, an
 * after-care job, an interrupted failover's rollback, a switchover's write block not yet
 * recorded, or a hook of this cluster. *recovery_id: the running operation's id, or 0. */
const char *rec_cluster_busy(const rec_cluster *rc, int64_t *recovery_id)
{
    *recovery_id = rc->exec ? rc->recovery_id : 0;
    return rc->exec ? rec_op_name(rc->op)
           : rc->job ? "after-care job"
           : rc->rollback_pending ? "interrupted failover's rollback"
           : rc->planned_from_ms ? "switchover's write block"
           : rc->async_hooks_running ? "hook" : NULL;
}

const rec_env *rec_cluster_env(const rec_cluster *rc)
{
    return rc->env;
}

const ana_result *rec_cluster_last(const rec_cluster *rc)
{
    return &rc->last;
}

int64_t rec_cluster_blocked_until_ms(const rec_cluster *rc)
{
    return rc->blocked_until_ms;
}

size_t rec_cluster_maint_servers(const rec_cluster *rc, int64_t now_wall_ms, topo_addr *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < rc->n_maint && n < max; i++) {
        char e[64];
        const rec_maintenance *w = &rc->maint[i];
        if (w->instance[0] && (!w->until_ms || w->until_ms > now_wall_ms) &&
            topo_addr_parse(w->instance, 3306, &out[n], e, sizeof(e)) == 0)
            n++;
    }
    return n;
}

int64_t rec_cluster_running_id(const rec_cluster *rc, const char **kind)
{
    if (kind)
        *kind = rc->exec ? rec_op_name(rc->op) : NULL;
    return rc->exec ? rc->recovery_id : 0;
}

bool rec_cluster_blocked(const rec_cluster *rc, int64_t now_wall_ms)
{
    return rc->blocked_until_ms > now_wall_ms;
}

/* ---- hook steps (run in the recovery worker thread) ------------------------------ */

/* A copy of what the hooks of one recovery need: the worker never touches the model. */
typedef struct rec_hook_ctx {
    char cluster[48];
    char old_primary[TOPO_ADDR_MAX], new_primary[TOPO_ADDR_MAX];
    char (*rep_addr)[TOPO_ADDR_MAX];
    hook_replica *reps;
    size_t n_reps;
    uint64_t recovery_id;
    char *old_primary_gtid;
    gtid_kind kind;
    char **cmds[CFG_N_HOOKS];     /* borrowed from the configuration (lives as long as the daemon) */
    rec_cluster *rc;              /* only for its hooks gate (hooks_mu / hooks_idle): outlives the worker */
    size_t n_cmds[CFG_N_HOOKS];
    int timeout_ms;
} rec_hook_ctx;

static void hook_ctx_free(rec_hook_ctx *h)
{
    if (!h)
        return;
    free(h->rep_addr);
    free(h->reps);
    free(h->old_primary_gtid);
    free(h);
}

size_t rec_hook_replicas(const topo_cluster *c, const topo_addr *const *skip, size_t n_skip,
                         char (*addrs)[TOPO_ADDR_MAX], hook_replica *reps)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const topo_instance *in = c->v[i];
        bool skipped = false;
        for (size_t k = 0; k < n_skip && !skipped; k++)
            skipped = skip[k] && topo_addr_eq(&in->addr, skip[k]);
        if (skipped || in->fenced || !in->have_snap || !in->snap.replica.present)
            continue;
        topo_addr_str(&in->addr, addrs[n], TOPO_ADDR_MAX);
        reps[n] = (hook_replica){.addr = addrs[n], .lag_s = topo_instance_lag_s(in), .reachable = in->reachable};
        n++;
    }
    return n;
}

static rec_hook_ctx *hook_ctx_new(rec_cluster *rc, const plan_spec *p)
{
    rec_hook_ctx *h = calloc(1, sizeof(*h));
    topo_cluster *c = &rc->mc->model;
    if (!h)
        return NULL;
    snprintf(h->cluster, sizeof(h->cluster), "%s", c->name);
    topo_addr_str(&p->old_primary.addr, h->old_primary, sizeof(h->old_primary));
    topo_addr_str(&p->new_primary.addr, h->new_primary, sizeof(h->new_primary));
    h->kind = kind_of(p->old_primary.flavor);
    h->recovery_id = (uint64_t)rc->recovery_id;
    if (p->old_primary_gtid && !(h->old_primary_gtid = strdup(p->old_primary_gtid)))
        goto oom;
    /* The replicas after the operation: everyone but the old and the new primary. */
    h->rep_addr = calloc(c->n ? c->n : 1, sizeof(*h->rep_addr));
    h->reps = calloc(c->n ? c->n : 1, sizeof(*h->reps));
    if (!h->rep_addr || !h->reps)
        goto oom;
    {
        const topo_addr *skip[2] = {&p->old_primary.addr, &p->new_primary.addr};
        h->n_reps = rec_hook_replicas(c, skip, 2, h->rep_addr, h->reps);
    }
    for (int k = 0; k < CFG_N_HOOKS; k++) {
        h->cmds[k] = rc->cfg->hooks[k];
        h->n_cmds[k] = rc->cfg->n_hooks[k];
    }
    h->timeout_ms = rc->cfg->hook_timeout_ms;
    h->rc = rc;
    return h;
oom:
    hook_ctx_free(h);
    return NULL;
}

/* Append "text" to msg, separated by "; ". */
static void msg_add(strbuf *msg, const char *text)
{
    strbuf_printf(msg, "%s%s", msg->len ? "; " : "", text);
}

/* Run every command of a hook point; 0 when all exited 0. Output goes to the log and the step message. */
static int run_hook_step(void *user, const plan_spec *plan, const plan_step *step, const char *promoted_gtid,
                         strbuf *msg)
{
    rec_hook_ctx *h = user;
    int point = -1, failed = 0, veto = 0;
    char *lost = NULL, e[256];
    hook_payload pl;
    hook_event ev;
    (void)plan;
    for (int k = 0; k < CFG_N_HOOKS; k++)
        if (!strcmp(step->hook, cfg_hook_names[k]))
            point = k;
    strbuf_reset(msg);
    if (point < 0 || !h->n_cmds[point]) {
        strbuf_setf(msg, "no commands for %s", step->hook);
        return 0;
    }
    /* One hook at a time per cluster: let asynchronous ones (e.g. on_topology_change
     * driving the same proxy) finish first, within the hook timeout. */
    hooks_wait_idle(h->rc, h->timeout_ms);
    if (promoted_gtid && *promoted_gtid && h->old_primary_gtid &&
        gtid_text_errant(h->kind, h->old_primary_gtid, promoted_gtid, &lost, e, sizeof(e)) < 0) {
        free(lost);
        lost = NULL;
    }
    ev = (hook_event){.event = step->hook, .cluster = h->cluster, .old_primary = h->old_primary,
                      .new_primary = h->new_primary, .replicas = h->reps, .n_replicas = h->n_reps,
                      .lost_gtids = lost, .recovery_id = h->recovery_id, .ts_ms = clk_wall_ms()};
    if (hook_payload_build(&ev, &pl, e, sizeof(e)) < 0) {
        strbuf_setf(msg, "cannot build the hook payload: %s", e);
        free(lost);
        return -1;
    }
    for (size_t i = 0; i < h->n_cmds[point]; i++) {
        hook_result r;
        char line[1024];
        hook_run_sync(h->cmds[point][i], pl.env, pl.n_env, pl.json, step->timeout_ms > 0 ? step->timeout_ms : h->timeout_ms,
                      &r);
        if (hook_result_ok(&r))
            snprintf(line, sizeof(line), "'%.200s' ok (%lld ms)%s%.300s", h->cmds[point][i], (long long)r.duration_ms,
                     r.output_len ? ": " : "", r.output ? r.output : "");
        else {
            failed = 1;
            /* Only a hook that exits non-zero by itself vetoes; one killed at its
             * timeout or that cannot start is a failure, never a veto. */
            if (!r.timed_out && !r.start_failed && !r.cancelled && r.term_signal == 0 && r.exit_code != 0)
                veto = 1;
            snprintf(line, sizeof(line), "'%.200s' failed (%lld ms): %.200s%s%.300s", h->cmds[point][i],
                     (long long)r.duration_ms, r.error, r.output_len ? "; output: " : "", r.output ? r.output : "");
        }
        for (char *c = line; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        log_msg(failed ? LOGL_WARN : LOGL_INFO, "hook %s: %s", step->hook, line);
        msg_add(msg, line);
        hook_result_free(&r);
    }
    hook_payload_free(&pl);
    free(lost);
    if (!step->best_effort) /* a pre hook: only a veto stops the operation */
        return veto ? -1 : 0;
    return failed ? -1 : 0;
}

/*
 * Start the plan in rc->plan: audit row (the per-cluster lock), events, the
 * worker. On failure the plan is freed and err says why.
 */
static int launch(rec_cluster *rc, const char *trigger, int64_t now, char *err, size_t errlen)
{
    mon_cluster *mc = rc->mc;
    exec_creds creds;
    char old[TOPO_ADDR_MAX], neu[TOPO_ADDR_MAX];
    char *plan_txt;
    json_t *plan_json;
    store_recovery r;
    bool failover = rc->plan.op == REC_OP_FAILOVER;

    topo_addr_str(&rc->plan.old_primary.addr, old, sizeof(old));
    topo_addr_str(&rc->plan.new_primary.addr, neu, sizeof(neu));
    plan_json = plan_to_json(&rc->plan);
    plan_txt = json_dumps(plan_json, JSON_COMPACT);
    r = (store_recovery){.cluster = mc->model.name, .kind = rc->plan.kind, .trigger = trigger,
                         .analysis = rc->launch_analysis ? rc->launch_analysis : ana_code_name(rc->last.code),
                         .evidence = rc->launch_evidence ? rc->launch_evidence : rc->last.evidence,
                         .old_primary = old, .new_primary = neu,
                         .primary_lost_ms = failover ? rc->primary_lost_ms : 0,
                         .detected_ms = failover ? rc->detected_ms : 0, .started_ms = now, .plan_json = plan_txt,
                         .old_primary_gtid = rc->plan.old_primary_gtid};
    if (rc->env->st && store_recovery_begin(rc->env->st, &r, &rc->recovery_id, err, errlen) < 0) {
        free(plan_txt);
        json_decref(plan_json);
        plan_free(&rc->plan);
        return -EBUSY;
    }
    free(plan_txt);
    rc->op = rc->plan.op;
    rc->manual = strcmp(trigger, "manual") == 0;
    emit(rc, LOGL_WARN, "recovery-started", NULL,
         json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "recovery_id", (json_int_t)rc->recovery_id, "kind",
                   rc->plan.kind, "trigger", trigger, "old_primary", old, "new_primary", neu, "plan", plan_json),
         "%s #%lld (%s): %s → %s%s%s", rc->plan.kind, (long long)rc->recovery_id, trigger, old, neu,
         failover ? "; " : "", failover ? ana_code_name(rc->last.code) : "");
    log_plan(&rc->plan);
    if (rc->plan.op != REC_OP_RELOCATE && rc->plan.op != REC_OP_INTERMEDIATE)
        emit(rc, LOGL_INFO, "candidate-selected", find(rc, &rc->plan.new_primary.addr),
             json_pack("{s:I, s:s?}", "recovery_id", (json_int_t)rc->recovery_id, "excluded", rc->plan.excluded),
             "%s chosen: %s", neu, rc->plan.reason);
    rc->promoted = false;
    free(rc->promoted_gtid);
    rc->promoted_gtid = NULL;
    free(rc->last_error);
    rc->last_error = NULL;
    rc->demote_started_ms = rc->writes_refused_ms = 0;
    rc->hooks_failed = rc->vetoed = false;
    hook_ctx_free(rc->hook_ctx);
    rc->hook_ctx = hook_ctx_new(rc, &rc->plan);
    rc->hook_iface = (exec_hooks){.run = run_hook_step, .user = rc->hook_ctx};
    creds_of(rc, &creds);
    if (exec_start(&rc->plan, &creds, rc->hook_ctx ? &rc->hook_iface : NULL, &rc->exec, err, errlen) < 0) {
        if (rc->env->st)
            audit_check(rc, store_recovery_end(rc->env->st, rc->recovery_id, "failed", clk_wall_ms(), NULL, err), "the end of a recovery");
        plan_free(&rc->plan);
        return -EAGAIN;
    }
    return 0;
}

static cand_opts candidate_opts(const rec_cluster *rc, topo_addr *never, size_t cap, const topo_addr *target)
{
    /* never_promote from the config plus replicas under maintenance. */
    size_t n = 0;
    for (size_t i = 0; i < rc->cfg->n_never_promote && n < cap; i++)
        never[n++] = rc->cfg->never_promote[i];
    for (size_t i = 0; i < rc->n_maint && n < cap; i++) {
        char e[64];
        if (rc->maint[i].instance[0] && topo_addr_parse(rc->maint[i].instance, 3306, &never[n], e, sizeof(e)) == 0)
            n++;
    }
    return (cand_opts){.never_promote = never, .n_never_promote = n, .prefer = rc->cfg->prefer,
                                .n_prefer = rc->cfg->n_prefer, .target = target};
}

static plan_options plan_opts(const rec_cluster *rc, int apply_timeout_ms)
{
    return (plan_options){.apply_timeout_ms = apply_timeout_ms > 0 ? apply_timeout_ms : rc->cfg->apply_timeout_ms,
                           .max_trx_s = rc->cfg->switchover_max_trx_s, .verify_timeout_ms = 5000,
                           .fence_timeout_ms = 1000};
}

/* Put the configured hook points into a plan. */
static int add_hooks(rec_cluster *rc, plan_spec *p)
{
    const cfg_cluster *cfg = rc->cfg;
    bool sw = p->op == REC_OP_SWITCHOVER;
    int pre = sw ? CFG_HOOK_PRE_SWITCHOVER : CFG_HOOK_PRE_FAILOVER;
    int post = sw ? CFG_HOOK_POST_SWITCHOVER : CFG_HOOK_POST_FAILOVER;
    if (p->op == REC_OP_RELOCATE)
        return 0;
    if (cfg->n_hooks[pre] && plan_add_hook(p, 0, cfg_hook_names[pre], true, cfg->hook_timeout_ms) < 0)
        return -ENOMEM;
    /* Before the trailing fence of a failover: fencing a dead primary waits for its
     * timeout, and clients should be repointed without waiting for that. */
    if (cfg->n_hooks[post] &&
        plan_add_hook(p, p->n && p->v[p->n - 1].kind == PLAN_STEP_FENCE ? p->n - 1 : p->n, cfg_hook_names[post],
                          false, cfg->hook_timeout_ms) < 0)
        return -ENOMEM;
    return 0;
}

/* 0: launched, or refused (no candidate, no plan) and recorded; -errno: could not
 * launch (rc->launch_error says why): the caller retries. */
static int start_recovery(rec_cluster *rc, int64_t now)
{
    mon_cluster *mc = rc->mc;
    cand_ranking rank;
    topo_addr never[64];
    cand_opts co = candidate_opts(rc, never, 64, NULL);
    plan_options po = plan_opts(rc, 0);
    char err[512];
    int rc_;

    memset(&rank, 0, sizeof(rank));
    if (cand_rank(&mc->model, rc->last.primary, &co, &rank, err, sizeof(err)) < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot rank candidates: %s", err);
        snprintf(rc->launch_error, sizeof(rc->launch_error), "cannot rank candidates: %s", err);
        return -EINVAL;
    }
    if (rank.chosen < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, json_pack("{s:s}", "analysis", ana_code_name(rc->last.code)),
             "primary dead but no replica can be promoted: %s", rank.reason);
        record_refusal(rc, rank.reason, now);
        cand_ranking_free(&rank);
        return 0;
    }
    rc_ = plan_failover(&mc->model, rc->last.primary, &rank, &po, &rc->plan, err, sizeof(err));
    cand_ranking_free(&rank);
    if (rc_ < 0 || add_hooks(rc, &rc->plan) < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot plan the failover: %s", rc_ < 0 ? err : "out of memory");
        record_refusal(rc, err, now);
        plan_free(&rc->plan);
        return 0;
    }
    if ((rc_ = launch(rc, "auto", now, err, sizeof(err))) < 0) {
        snprintf(rc->launch_error, sizeof(rc->launch_error), "%s", err);
        return rc_;
    }
    return 0;
}

static bool rc_maint_blocks(const rec_cluster *rc)
{
    const topo_instance *p = rc->last.primary >= 0 ? rc->mc->model.v[rc->last.primary] : NULL;
    return rec_cluster_in_maintenance(rc, NULL) || (p && rec_cluster_in_maintenance(rc, &p->addr));
}

/* Report what holds a confirmed failure back, once per reason (see state_blocked). */
static void report_hold(rec_cluster *rc, rec_hold why, int64_t now)
{
    if (rc->hold == why)
        return;
    rc->hold = why;
    switch (why) {
    case REC_HOLD_NONE:
        break;
    case REC_HOLD_AUTO_OFF:
        emit(rc, LOGL_ERROR, "recovery-skipped", NULL, NULL,
             "%s, but auto_failover = no: not acting (run 'myorch failover --cluster %s' to recover by hand)",
             ana_code_name(rc->last.code), rc->mc->model.name);
        break;
    case REC_HOLD_MAINTENANCE:
        emit(rc, LOGL_ERROR, "recovery-skipped", NULL, NULL,
             "%s, but the cluster (or its primary) is under maintenance: not acting until the window ends "
             "('myorch maintenance end' ends it now)", ana_code_name(rc->last.code));
        rc->maint_reported = true;
        break;
    case REC_HOLD_BLOCKED:
        emit(rc, LOGL_ERROR, "recovery-blocked", NULL,
             json_pack("{s:I}", "blocked_for_ms", (json_int_t)(rc->blocked_until_ms - now)),
             "%s, but a recovery ran less than failover_block_s=%d s ago: not acting for another %lld s "
             "(acknowledge with 'myorch ack --cluster %s' to allow it now)",
             ana_code_name(rc->last.code), rc->cfg->failover_block_s,
             (long long)((rc->blocked_until_ms - now + 999) / 1000), rc->mc->model.name);
        break;
    }
}

/* ---- the recovery state machine (rec_state.h) ------------------------------------ */

/* The interrupted failover's candidate did not answer in time: judge the failure without it. */
static void rollback_give_up(rec_cluster *rc)
{
    if (!rc->rollback_pending)
        return;
    emit(rc, LOGL_WARN, "recovery-rollback", NULL, NULL,
         "the candidate of interrupted failover #%lld did not answer within 15 s: judging the failure "
         "without it", (long long)rc->rollback_id);
    rollback_end(rc, "rolled-back", "the controller stopped before the point of no return; the candidate "
                                    "did not answer after the restart");
}

/* What rec_state_decide() needs, gathered from the cluster, the clocks and the windows. */
static rec_state_input state_input(rec_cluster *rc, const rec_turn *t)
{
    return (rec_state_input){
        .executing = rc->exec != NULL,
        .code = rc->last.code,
        .incident_handled = rc->incident_handled,
        .rollback_pending = rc->rollback_pending,
        .rollback_expired = rc->rollback_until_ms && t->mono_ms >= rc->rollback_until_ms,
        .auto_failover = rc->cfg->auto_failover,
        .in_maintenance = rc_maint_blocks(rc),
        .anti_flap = t->wall_ms < rc->blocked_until_ms,
        .retry_wait = t->wall_ms < rc->retry_at_ms,
    };
}

/* Decide the state for this turn; log and emit a transition. Returns the verdict. */
static rec_state_verdict settle_state(rec_cluster *rc, const rec_turn *t)
{
    rec_state_input in = state_input(rc, t);
    rec_state_verdict v = rec_state_decide(&in);
    if (v.state != rc->state) {
        const char *from = rec_state_name(rc->state), *to = rec_state_name(v.state);
        log_info("cluster %s: recovery state %s -> %s: %s", rc->mc->model.name, from, to, v.why);
        emit(rc, LOGL_DEBUG, "recovery-state", NULL, json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "why", v.why),
             "%s -> %s: %s", from, to, v.why);
        rc->state = v.state;
    }
    return v;
}

/* await-rollback: wait (bounded) for the interrupted failover's candidate to replicate again. */
static void state_await_rollback(rec_cluster *rc, const rec_turn *t)
{
    if (!rc->rollback_until_ms)
        rc->rollback_until_ms = t->mono_ms + 15000;
}

/* blocked: report what holds the confirmed failure back, once per reason; re-evaluated every
 * turn, so the failover starts the moment it goes away (window over, block expired or
 * acknowledged). A launch retry waits silently (its failure was reported). */
static void state_blocked(rec_cluster *rc, const rec_turn *t, rec_hold hold)
{
    rollback_give_up(rc);
    if (hold != REC_HOLD_NONE)
        report_hold(rc, hold, t->wall_ms);
}

/* confirmed: start the failover. One that could not be launched (e.g. the state database
 * cannot commit) is retried with backoff. */
static void state_confirmed(rec_cluster *rc, const rec_turn *t)
{
    int64_t now = t->wall_ms;
    rollback_give_up(rc);
    /* COORDINATION GATE (issue 14): the single place where controller coordination decides
     * whether this controller starts an automatic recovery (cluster lock + detection
     * quorum, orchestrator/ha/ha.c). Re-asked every turn until it allows. */
    if (rc->env->may_act) {
        char why[300];
        if (!rc->env->may_act(rc->env->user, rc->mc, &rc->last, why, sizeof(why)))
            return;
    }
    rc->hold = REC_HOLD_NONE;
    switch (start_recovery(rc, now)) {
    case 0: /* launched, or refused and recorded (the refusal's block holds it from now on) */
        rc->incident_handled = true;
        rc->launch_failures = 0;
        rc->retry_at_ms = 0;
        break;
    default: { /* could not launch: try again, 1 s, 2 s, 4 s ... 30 s later */
        int64_t delay = 1000;
        for (unsigned k = 0; k < rc->launch_failures && delay < 30000; k++)
            delay *= 2;
        if (delay > 30000)
            delay = 30000;
        rc->launch_failures++;
        rc->retry_at_ms = now + delay;
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, json_pack("{s:I}", "retry_in_ms", (json_int_t)delay),
             "the failover could not be started (attempt %u): %s; trying again in %lld ms", rc->launch_failures,
             rc->launch_error, (long long)delay);
        break;
    }
    }
}

/* One turn of the machine: the state's own work, then the state it leads to. idle,
 * suspect, executing and handled have none (observe() keeps their bookkeeping). */
static void run_state(rec_cluster *rc, const rec_turn *t)
{
    rec_state_verdict v = settle_state(rc, t);
    switch (v.state) {
    case REC_STATE_AWAIT_ROLLBACK:
        state_await_rollback(rc, t);
        break;
    case REC_STATE_BLOCKED:
        state_blocked(rc, t, v.hold);
        break;
    case REC_STATE_CONFIRMED:
        state_confirmed(rc, t);
        break;
    case REC_STATE_IDLE:
    case REC_STATE_SUSPECT:
    case REC_STATE_EXECUTING:
    case REC_STATE_HANDLED:
    case REC_STATE__COUNT:
        return;
    }
    settle_state(rc, t);
}

/*
 * A dead intermediate primary (intermediate.h): report it once per incident
 * ("intermediate-dead", and "replica-lost" for replicas with no safe place) and,
 * unless auto_failover = no or a maintenance window holds it, move its replicas
 * below its source as an audited recovery of kind "intermediate" (no hooks of a
 * primary failover: the primary does not change; on_topology_change follows).
 */
static void intermediate_tick(rec_cluster *rc, int64_t now)
{
    imd_analysis ia;
    plan_options po = plan_opts(rc, 0);
    char err[512], da[TOPO_ADDR_MAX];
    const topo_instance *dead;

    if (imd_analyze(&rc->mc->model, &ia, err, sizeof(err)) < 0)
        return;
    if (ia.code != IMD_DEAD) {
        if (ia.code == IMD_NONE) {
            rc->imd_reported[0] = '\0';
            rc->imd_handled = false;
        }
        goto out;
    }
    dead = rc->mc->model.v[ia.dead];
    topo_addr_str(&dead->addr, da, sizeof(da));
    if (strcmp(rc->imd_reported, da) != 0) {
        snprintf(rc->imd_reported, sizeof(rc->imd_reported), "%s", da);
        rc->imd_handled = false;
        emit(rc, LOGL_ERROR, "intermediate-dead", dead,
             json_pack("{s:I, s:s?}", "movable", (json_int_t)ia.n_movable, "lost", ia.lost), "%s", ia.evidence);
        if (ia.lost)
            emit(rc, LOGL_ERROR, "replica-lost", NULL, json_pack("{s:s, s:s}", "intermediate", da, "why", ia.lost),
                 "replicas of the dead intermediate primary %s left where they are: %s", da, ia.lost);
    }
    if (rc->imd_handled || !ia.n_movable || ia.new_source < 0 || rc->exec || !rc->cfg->auto_failover ||
        rec_cluster_in_maintenance(rc, NULL) || rec_cluster_in_maintenance(rc, &dead->addr))
        goto out;
    rc->imd_handled = true;
    if (plan_intermediate(&rc->mc->model, ia.dead, ia.new_source, ia.movable, ia.n_movable, &po, &rc->plan, err,
                              sizeof(err)) < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", dead, NULL, "cannot plan moving the replicas of %s: %s", da, err);
        goto out;
    }
    rc->launch_analysis = "dead-intermediate-primary";
    rc->launch_evidence = ia.evidence;
    if (launch(rc, "auto", now, err, sizeof(err)) < 0) {
        emit(rc, LOGL_ERROR, "recovery-failed", dead, NULL, "cannot start moving the replicas of %s: %s", da, err);
        rc->imd_handled = false; /* tried again next turn */
    }
    rc->launch_analysis = rc->launch_evidence = NULL;
out:
    imd_analysis_free(&ia);
}

/* ---- after-care: one job at a time on a demoted primary or a stray replica ---------- */

/* Start the one-step job d decided for in (aftercare.h). */
static void aftercare_start(rec_cluster *rc, const rec_turn *t, topo_instance *in, const aftercare_decision *d)
{
    mon_cluster *mc = rc->mc;
    plan_step_kind kind = d->action == AFTERCARE_FENCE    ? PLAN_STEP_FENCE
                         : d->action == AFTERCARE_REJOIN ? PLAN_STEP_REJOIN
                                                         : PLAN_STEP_REPOINT;
    topo_instance *source = d->source >= 0 ? mc->model.v[d->source] : NULL;
    exec_creds creds;
    char a1[TOPO_ADDR_MAX], err[256];

    if (d->hung)
        rc->hung_fence_next_ms = t->mono_ms + 5000;
    if (plan_single(mc->model.name, rec_op_name(REC_OP_AFTERCARE), kind, in, kind == PLAN_STEP_FENCE ? NULL : source,
                        5000, &rc->job_plan, err, sizeof(err)) < 0)
        return;
    creds_of(rc, &creds);
    emit(rc, LOGL_WARN, "after-care", in, json_pack("{s:s}", "step", plan_step_name(kind)), "%s: %s",
         topo_addr_str(&in->addr, a1, sizeof(a1)), d->why);
    if (exec_start(&rc->job_plan, &creds, NULL, &rc->job, err, sizeof(err)) < 0) {
        emit(rc, LOGL_ERROR, "after-care", in, NULL, "cannot start: %s", err);
        plan_free(&rc->job_plan);
        rc->job_next_ms = t->mono_ms + 5000;
    }
}

/* Report a server that cannot follow the new primary, once per server in a row. */
static void aftercare_report(rec_cluster *rc, topo_instance *in, const topo_instance *np, const aftercare_decision *d)
{
    char a1[TOPO_ADDR_MAX], a2[TOPO_ADDR_MAX];
    if (!strcmp(rc->diverged_reported, topo_addr_str(&in->addr, a1, sizeof(a1))))
        return;
    snprintf(rc->diverged_reported, sizeof(rc->diverged_reported), "%s", a1);
    if (d->action == AFTERCARE_DIVERGED)
        emit(rc, LOGL_ERROR, "primary-diverged", in, json_pack("{s:s}", "extra_gtids", d->extra),
             "%s, the demoted primary, has transactions the new primary %s lacks: %s; it stays "
             "read-only and out of the cluster until an operator reconciles it",
             a1, topo_addr_str(&np->addr, a2, sizeof(a2)), d->extra);
    else
        emit(rc, LOGL_ERROR, "replica-lost", in, json_pack("{s:s}", "extra_gtids", d->extra),
             "%s cannot follow the new primary: it has transactions %s lacks: %s", a1,
             topo_addr_str(&np->addr, a2, sizeof(a2)), d->extra);
}

/* A demoted primary replicates from the new one: it is a plain replica again. */
static void aftercare_rejoined(rec_cluster *rc, topo_instance *in, const topo_instance *np)
{
    char a1[TOPO_ADDR_MAX], a2[TOPO_ADDR_MAX];
    in->fenced = false;
    free(in->fence_gtid);
    in->fence_gtid = NULL;
    persist(rc, in);
    rc->mc->dirty = true;
    rc->mc->version++;
    emit(rc, LOGL_INFO, "primary-rejoined", in, NULL, "%s, the demoted primary, now replicates from %s",
         topo_addr_str(&in->addr, a1, sizeof(a1)), topo_addr_str(&np->addr, a2, sizeof(a2)));
}

/* After-care of demoted primaries and replicas left behind: decide per server (pure,
 * aftercare_decide), act on the first that needs a job. */
static void aftercare_tick(rec_cluster *rc, const rec_turn *t)
{
    topo_cluster *m = &rc->mc->model;
    int np = m->primary;
    aftercare_input ai;

    if (np >= 0 && (!m->v[np]->reachable || m->v[np]->snap.read_only || m->v[np]->fenced))
        np = -1;
    ai = (aftercare_input){.model = m, .primary = np, .fresh_after_ms = rc->aftercare_from_ms,
                           .hung_fence_due = t->mono_ms >= rc->hung_fence_next_ms,
                           .rollback_cand = rc->rollback_pending ? &rc->rollback_cand : NULL,
                           .rollback_source = &rc->rollback_source};
    for (size_t i = 0; i < m->n && !rc->job; i++) {
        topo_instance *in = m->v[i];
        aftercare_decision d;
        aftercare_decide(&ai, i, &d);
        if (d.action == AFTERCARE_ROLLED_BACK || d.action == AFTERCARE_ROLLBACK_FINISH) {
            /* The interruption is settled: then judged as any other server. */
            if (d.action == AFTERCARE_ROLLED_BACK)
                rollback_rolled_back(rc, in);
            else
                rollback_finish(rc, in);
            ai.rollback_cand = NULL;
            aftercare_decide(&ai, i, &d);
        }
        switch (d.action) {
        case AFTERCARE_FENCE:
        case AFTERCARE_REJOIN:
        case AFTERCARE_REPOINT:
            aftercare_start(rc, t, in, &d);
            break;
        case AFTERCARE_REJOINED:
            aftercare_rejoined(rc, in, m->v[np]);
            break;
        case AFTERCARE_DIVERGED:
        case AFTERCARE_REPLICA_LOST:
            aftercare_report(rc, in, m->v[np], &d);
            break;
        default:
            break;
        }
        aftercare_decision_free(&d);
    }
}

/* ---- one loop turn --------------------------------------------------------------- */

/* The analysis-changed family of events: name and level for a new analysis. */
static void report_analysis(rec_cluster *rc, const ana_result *a, const topo_instance *p)
{
    int level = a->code == ANA_OK || a->code == ANA_NOT_READY ? LOGL_INFO
                : ana_is_failover(a->code) || a->code == ANA_ALL_DOWN ||
                          a->code == ANA_DEAD_PRIMARY_MINORITY || a->code == ANA_MULTIPLE_WRITABLE
                    ? LOGL_ERROR
                    : LOGL_WARN;
    const char *name = ana_is_failover(a->code)          ? "primary-dead"
                       : a->code == ANA_DEAD_PRIMARY_MINORITY ? "primary-dead-minority"
                       : a->code == ANA_MULTIPLE_WRITABLE     ? "multiple-writable"
                       : a->code == ANA_PRIMARY_SUSPECT || a->code == ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING
                           ? "primary-suspect"
                           : "analysis-changed";
    emit(rc, level, name, p, json_pack("{s:s, s:s}", "analysis", ana_code_name(a->code), "previous",
                                       ana_code_name(rc->last.code)),
         "%s: %s", ana_code_name(a->code), a->evidence);
}

/* Track when the primary was lost, and probe the replicas fast meanwhile. */
static void track_primary(rec_cluster *rc, const rec_turn *t, const topo_instance *p, int64_t waiting_since)
{
    if (p && ((!p->reachable && p->probed) || waiting_since) && !p->fenced) {
        if (!rc->primary_lost_ms) {
            /* Just lost: ask every replica now, then keep asking fast for a while. */
            int64_t since = p->reachable ? waiting_since : p->down_since_ms;
            rc->primary_lost_ms = t->wall_ms - (since ? t->mono_ms - since : 0);
            if (!rc->exec)
                set_fast(rc, true, t->mono_ms);
        }
    } else {
        rc->primary_lost_ms = 0;
    }
    if (rc->fast && (t->mono_ms > rc->fast_until_ms || !p || (p->reachable && !waiting_since)))
        set_fast(rc, false, t->mono_ms);
}

/* Observe: analyse the model, report what changed, keep the incident's bookkeeping
 * (when it was detected; a failure that cleared resets what was done for it). */
static void observe(rec_cluster *rc, const rec_turn *t)
{
    mon_cluster *mc = rc->mc;
    ana_input ai = {.first_round_done = mc->first_round_done,
                             .quorum_off = rc->cfg->failover_quorum == CFG_QUORUM_NONE,
                             .stall_periods = rc->cfg->stall_periods};
    ana_result a;
    topo_instance *p;

    ai.primary_waiting_since_ms =
        primary_waiting_since(rc, mc->model.primary >= 0 ? mc->model.v[mc->model.primary] : NULL, t->mono_ms);
    ana_analyze(&mc->model, &ai, &a);
    if (mc->first_round_done)
        report_heartbeats(rc, a.primary);
    p = a.primary >= 0 ? mc->model.v[a.primary] : NULL;

    /* A demoted primary that is down is watched: no probe backoff, so that it is fenced
     * as soon as it is back (reconnected, restarted, continued). */
    for (size_t i = 0; i < mc->model.n && rc->env->loop.set_watch; i++)
        rc->env->loop.set_watch(rc->env->user, mc->model.v[i], mc->model.v[i]->fenced);

    track_primary(rc, t, p, ai.primary_waiting_since_ms);
    if (a.code != rc->last.code)
        report_analysis(rc, &a, p);
    rc->last = a;
    if (ana_is_failover(a.code)) {
        if (!rc->detected_ms)
            rc->detected_ms = t->wall_ms;
    } else {
        rc->detected_ms = 0;
        if (a.code != ANA_PRIMARY_SUSPECT && a.code != ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING) {
            rc->incident_handled = false;
            rc->hold = REC_HOLD_NONE;
            rc->launch_failures = 0;
            rc->retry_at_ms = 0;
        }
    }
}

void rec_cluster_tick(rec_cluster *rc, int64_t now_mono)
{
    mon_cluster *mc = rc->mc;
    rec_turn t = {.mono_ms = now_mono, .wall_ms = clk_wall_ms()};

    rc->loop_ms = now_mono;

    observe(rc, &t);
    run_state(rc, &t);
    if (!rc->exec && mc->first_round_done && rc->last.primary >= 0 && mc->model.v[rc->last.primary]->reachable)
        intermediate_tick(rc, t.wall_ms);
    if (!rc->exec && !rc->job && t.mono_ms >= rc->job_next_ms && mc->first_round_done)
        aftercare_tick(rc, &t);
}

size_t rec_cluster_fds(const rec_cluster *rc, int *fds, size_t max)
{
    size_t n = 0;
    if (rc->exec && n < max)
        fds[n++] = exec_fd(rc->exec);
    if (rc->job && n < max)
        fds[n++] = exec_fd(rc->job);
    return n;
}

static void finish_recovery(rec_cluster *rc, const exec_msg *m)
{
    char *lost = NULL, err[256], old[TOPO_ADDR_MAX], neu[TOPO_ADDR_MAX];
    const char *state = m->ok ? (rc->hooks_failed ? "done-hooks-failed" : "done") : "failed";
    topo_instance *oldp = find(rc, &rc->plan.old_primary.addr);
    /* relocate and intermediate move replicas below new_primary: nothing is promoted. */
    bool failover = rc->op == REC_OP_FAILOVER,
         relocate = rc->op == REC_OP_RELOCATE || rc->op == REC_OP_INTERMEDIATE;
    int64_t dur;
    json_t *detail;

    topo_addr_str(&rc->plan.old_primary.addr, old, sizeof(old));
    topo_addr_str(&rc->plan.new_primary.addr, neu, sizeof(neu));
    if (rc->planned_from_ms && !rc->planned_to_ms) {
        rc->planned_to_ms = m->at_ms; /* rolled back (or failed): the planned block ends here */
        rc->planned_primary = rc->promoted ? rc->plan.new_primary.addr : rc->plan.old_primary.addr;
    }
    if (rc->promoted && rc->plan.old_primary_gtid)
        gtid_text_errant(kind_of(rc->plan.old_primary.flavor), rc->plan.old_primary_gtid,
                         rc->promoted_gtid ? rc->promoted_gtid : "", &lost, err, sizeof(err));
    if (rc->env->st)
        audit_check(rc, store_recovery_end(rc->env->st, rc->recovery_id, state, m->at_ms, lost,
                                           m->ok ? NULL : (rc->last_error ? rc->last_error : m->message)),
                    "the end of a recovery");
    if (rc->promoted && oldp && !relocate) {
        /* Never a primary again; after-care unfences it once it replicates from the new one.
         * What the new primary had at promotion is what the old one is judged against. */
        mark_demoted(rc, oldp, rc->promoted_gtid);
    }
    dur = failover && rc->primary_lost_ms ? m->at_ms - rc->primary_lost_ms : 0;
    detail = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s?, s:I, s:I, s:s?}", "recovery_id",
                       (json_int_t)rc->recovery_id, "kind", rec_op_name(rc->op), "state", state, "old_primary", old,
                       "new_primary", neu, "ok", m->ok, "aborted", m->aborted, "promoted", rc->promoted,
                       "lost_gtids", lost, "since_primary_lost_ms", (json_int_t)dur, "writes_refused_ms",
                       (json_int_t)rc->writes_refused_ms,
                       "error", m->ok ? NULL : (rc->last_error ? rc->last_error : m->message));
    if (m->ok)
        emit(rc, LOGL_WARN, "recovery-done", NULL, json_incref(detail),
             "%s #%lld done%s: %s%s%s%s; lost transactions: %s", rec_op_name(rc->op), (long long)rc->recovery_id,
             rc->hooks_failed ? " (hooks failed)" : "",
             relocate ? old : neu, relocate ? " now replicates from " : " is the primary (was ", relocate ? neu : old,
             relocate ? "" : ")", lost ? (*lost ? lost : "none") : relocate ? "none" : "unknown");
    else
        emit(rc, LOGL_ERROR, "recovery-failed", NULL, json_incref(detail), "%s #%lld %s: %s%s", rec_op_name(rc->op),
             (long long)rc->recovery_id,
             m->aborted ? "aborted (nothing was promoted; what it changed was rolled back)" : "finished with failures",
             rc->last_error ? rc->last_error : m->message, rc->promoted ? "; the new primary is writable" : "");
    if (rc->manual && rc->env->manual_done)
        rc->env->manual_done(rc->env->user, rc->pending_tag, json_incref(detail));
    json_decref(detail);
    rc->pending_tag = NULL;
    free(lost);
    if (failover)
        rc->blocked_until_ms = m->at_ms + (int64_t)rc->cfg->failover_block_s * 1000;
    exec_free(rc->exec);
    rc->exec = NULL;
    hook_ctx_free(rc->hook_ctx);
    rc->hook_ctx = NULL;
    plan_free(&rc->plan);
    set_fast(rc, false, 0);
    /* The clock now, not the turn's time: snapshots folded in earlier in this turn were
     * taken before the end of the recovery was known and must not count for after-care. */
    rc->aftercare_from_ms = clk_mono_ms();
    if (rc->env->loop.probe_now)
        rc->env->loop.probe_now(rc->env->user, rc->mc, NULL);
}

/*
 * A failover stopped by a controller shutdown (rec_cluster_stop): where it stopped goes
 * into the audit (a 'shutdown' row); the recovery stays 'running' there, the per-cluster
 * lock, so that the next start takes it over (resume_interrupted: rolled back or finished).
 */
static void stopped_recovery(rec_cluster *rc, const exec_msg *m)
{
    if (rc->env->st)
        audit_check(rc, store_recovery_step(rc->env->st, rc->recovery_id, 0, "shutdown", NULL, NULL, m->at_ms,
                                            m->at_ms, "interrupted", m->message), "where a recovery stopped");
    emit(rc, LOGL_WARN, "recovery-stopped", NULL,
         json_pack("{s:I, s:s, s:i, s:b}", "recovery_id", (json_int_t)rc->recovery_id, "kind", rec_op_name(rc->op),
                   "next_step", m->step + 1, "promoted", rc->promoted),
         "%s #%lld %s%s; the next start resumes it", rec_op_name(rc->op), (long long)rc->recovery_id, m->message,
         rc->promoted ? " (the new primary is writable)" : " (nothing promoted)");
    if (rc->manual && rc->env->manual_done)
        rc->env->manual_done(rc->env->user, rc->pending_tag,
                             json_pack("{s:b, s:s, s:I}", "ok", 0, "error", m->message, "recovery_id",
                                       (json_int_t)rc->recovery_id));
    rc->pending_tag = NULL;
    exec_free(rc->exec);
    rc->exec = NULL;
    hook_ctx_free(rc->hook_ctx);
    rc->hook_ctx = NULL;
    plan_free(&rc->plan);
}

int rec_cluster_stop(rec_cluster *rc, int64_t deadline_ms)
{
    if (!rc->exec)
        return 0;
    rec_exec_stop(rc->exec);
    while (rc->exec) {
        exec_msg m;
        int r = exec_read(rc->exec, &m);
        if (r == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            if (probe_now_ms() >= deadline_ms)
                return -ETIMEDOUT;
            nanosleep(&ts, NULL);
            continue;
        }
        if (r < 0)
            break;
        handle_msg(rc, &m); /* the audit of the running step, then DONE (stopped or finished): frees rc->exec */
        exec_msg_clear(&m);
    }
    return 0;
}

static void handle_msg(rec_cluster *rc, const exec_msg *m)
{
    const plan_step *s = m->step >= 0 && (size_t)m->step < rc->plan.n ? &rc->plan.v[m->step] : NULL;
    char target[TOPO_ADDR_MAX] = "", *desc = NULL;
    topo_instance *in = NULL;
    if (s) {
        topo_addr_str(&s->target.addr, target, sizeof(target));
        desc = plan_step_describe(s);
        in = find(rc, &s->target.addr);
    }
    switch (m->kind) {
    case EXEC_STEP_START:
        if (s && s->kind == PLAN_STEP_DEMOTE)
        {
            rc->demote_started_ms = m->at_ms;
            rc->planned_from_ms = m->at_ms;
            rc->planned_to_ms = 0;
        }
        if (rc->env->st && s)
            audit_check(rc, store_recovery_step(rc->env->st, rc->recovery_id, m->step + 1, plan_step_name(s->kind), target, desc,
                                m->at_ms, 0, NULL, NULL), "a recovery step");
        log_debug("recovery #%lld step %d %s %s started", (long long)rc->recovery_id, m->step + 1,
                  s ? plan_step_name(s->kind) : "?", desc ? desc : "");
        break;
    case EXEC_STEP_END:
        if (!s)
            break;
        if (rc->env->st)
            audit_check(rc, store_recovery_step(rc->env->st, rc->recovery_id, m->step + 1, plan_step_name(s->kind), target, desc, 0,
                                m->at_ms, m->ok ? "ok" : "failed", m->message), "a recovery step");
        if (m->ok) {
            switch (s->kind) {
            case PLAN_STEP_SET_WRITABLE:
                rc->promoted = true;
                if (rc->demote_started_ms)
                    rc->writes_refused_ms = m->at_ms - rc->demote_started_ms;
                if (rc->planned_from_ms && !rc->planned_to_ms) {
                    rc->planned_to_ms = m->at_ms;
                    rc->planned_primary = rc->plan.new_primary.addr;
                }
                free(rc->promoted_gtid);
                rc->promoted_gtid = strdup(m->gtid);
                if (rc->env->st)
                    audit_check(rc, store_recovery_promoted(rc->env->st, rc->recovery_id, m->at_ms, m->gtid), "the promotion of a recovery");
                emit(rc, LOGL_WARN, "replica-promoted", in,
                     json_pack("{s:I, s:s, s:I, s:I}", "recovery_id", (json_int_t)rc->recovery_id, "gtid", m->gtid,
                               "since_primary_lost_ms",
                               (json_int_t)(rc->primary_lost_ms && rc->op == REC_OP_FAILOVER
                                                ? m->at_ms - rc->primary_lost_ms : 0),
                               "writes_refused_ms", (json_int_t)rc->writes_refused_ms),
                     "%s promoted: %s", target, m->message);
                break;
            case PLAN_STEP_VERIFY:
                emit(rc, LOGL_INFO, "replica-repointed", in,
                     json_pack("{s:I}", "recovery_id", (json_int_t)rc->recovery_id), "%s %s", target, m->message);
                break;
            case PLAN_STEP_FENCE:
                emit(rc, LOGL_WARN, "primary-fenced", in, NULL, "%s", m->message);
                break;
            case PLAN_STEP_CATCH_UP:
                emit(rc, LOGL_INFO, "replica-caught-up", in, NULL, "%s %s", target, m->message);
                break;
            default:
                log_info("recovery #%lld step %d %s %s: %s", (long long)rc->recovery_id, m->step + 1,
                         plan_step_name(s->kind), target, m->message);
                break;
            }
        } else {
            if (s->kind == PLAN_STEP_REPOINT || s->kind == PLAN_STEP_VERIFY)
                emit(rc, LOGL_ERROR, "replica-lost", in, json_pack("{s:I}", "recovery_id", (json_int_t)rc->recovery_id),
                     "%s cannot follow the new primary: %s", target, m->message);
            else if (s->kind == PLAN_STEP_HOOK && s->best_effort) {
                rc->hooks_failed = true;
                emit(rc, LOGL_ERROR, "hook-failed", NULL, json_pack("{s:s, s:I}", "hook", s->hook, "recovery_id",
                                                                   (json_int_t)rc->recovery_id),
                     "%s hook failed (the %s itself goes on): %s", s->hook, rec_op_name(rc->op), m->message);
            } else if (s->kind == PLAN_STEP_HOOK) {
                rc->vetoed = true;
                set_last_error(rc, "vetoed by the %s hook: %s", s->hook, m->message);
                emit(rc, LOGL_ERROR, "hook-vetoed", NULL, json_pack("{s:s, s:I}", "hook", s->hook, "recovery_id",
                                                                   (json_int_t)rc->recovery_id),
                     "%s", rc->last_error ? rc->last_error : m->message);
            } else if (s->kind == PLAN_STEP_FENCE)
                emit(rc, LOGL_WARN, "fence-deferred", in, NULL,
                     "%s not fenced now (%s): it is kept read-only whenever it is reachable again", target, m->message);
            else {
                set_last_error(rc, "step %d %s on %s: %s", m->step + 1,
                         plan_step_name(s->kind), target, m->message);
                emit(rc, LOGL_ERROR, "recovery-step-failed", in, NULL, "%s",
                     rc->last_error ? rc->last_error : m->message);
            }
        }
        break;
    case EXEC_ROLLBACK:
        if (rc->env->st)
            audit_check(rc, store_recovery_step(rc->env->st, rc->recovery_id, 0, "rollback", NULL, NULL, m->at_ms, m->at_ms,
                                m->ok ? "ok" : "failed", m->message), "a recovery step");
        emit(rc, LOGL_WARN, "recovery-rollback", NULL, NULL, "%s", m->message);
        break;
    case EXEC_DONE:
        if (m->stopped)
            stopped_recovery(rc, m);
        else
            finish_recovery(rc, m);
        break;
    }
    free(desc);
}

static void handle_job_msg(rec_cluster *rc, const exec_msg *m)
{
    const plan_step *s = rc->job_plan.n ? &rc->job_plan.v[0] : NULL;
    topo_instance *in = s ? find(rc, &s->target.addr) : NULL;
    char a[TOPO_ADDR_MAX];
    if (m->kind == EXEC_STEP_END && s) {
        topo_addr_str(&s->target.addr, a, sizeof(a));
        if (m->ok && s->kind == PLAN_STEP_FENCE)
            emit(rc, LOGL_WARN, "primary-fenced", in, NULL, "%s", m->message);
        else if (m->ok)
            emit(rc, LOGL_INFO, s->kind == PLAN_STEP_REJOIN ? "primary-rejoining" : "replica-repointed", in, NULL,
                 "%s", m->message);
        else
            emit(rc, LOGL_ERROR, "after-care-failed", in, NULL, "%s %s: %s", plan_step_name(s->kind), a, m->message);
        rc->job_next_ms = rc->loop_ms + (m->ok ? 500 : 5000);
    } else if (m->kind == EXEC_DONE) {
        exec_free(rc->job);
        rc->job = NULL;
        plan_free(&rc->job_plan);
        if (in && rc->env->loop.probe_now)
            rc->env->loop.probe_now(rc->env->user, rc->mc, in);
    }
}

void rec_cluster_io(rec_cluster *rc, int64_t now_ms)
{
    exec_msg m;
    rc->loop_ms = now_ms;
    while (rc->exec) {
        int r = exec_read(rc->exec, &m);
        if (r <= 0)
            break;
        handle_msg(rc, &m); /* may free rc->exec on DONE */
        exec_msg_clear(&m);
    }
    while (rc->job) {
        int r = exec_read(rc->job, &m);
        if (r <= 0)
            break;
        handle_job_msg(rc, &m);
        exec_msg_clear(&m);
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
    int64_t now = clk_wall_ms();
    json_t *m = json_array();
    for (size_t i = 0; i < rc->n_maint; i++) {
        const rec_maintenance *w = &rc->maint[i];
        if (w->until_ms && w->until_ms <= now)
            continue;
        json_array_append_new(m, json_pack("{s:s?, s:s, s:I, s:o}", "instance", w->instance[0] ? w->instance : NULL,
                                           "reason", w->reason, "started_ms", (json_int_t)w->started_ms, "until_ms",
                                           w->until_ms ? json_integer(w->until_ms) : json_null()));
    }
    json_t *launch = NULL;
    if (rc->launch_failures)
        launch = json_pack("{s:I, s:s, s:I}", "attempts", (json_int_t)rc->launch_failures, "error", rc->launch_error,
                           "retry_in_ms", (json_int_t)(rc->retry_at_ms > now ? rc->retry_at_ms - now : 0));
    /* A failover the previous controller left unfinished (stopped or crashed), taken over at this start. */
    json_t *interrupted = NULL;
    if (rc->rollback_id)
        interrupted = json_pack("{s:I, s:s}", "recovery_id", (json_int_t)rc->rollback_id, "resolution",
                                rc->rollback_pending ? "waiting for its candidate to answer (rolled back or finished then)"
                                                     : "resolved at this start ('myorch recoveries --id')");
    return json_pack("{s:s, s:s, s:b, s:I, s:o?, s:s?, s:b, s:o, s:s?, s:o?, s:s?, s:o?}", "analysis",
                     ana_code_name(rc->last.code), "evidence", rc->last.evidence, "auto_failover",
                     rc->cfg->auto_failover != 0, "blocked_for_s",
                     (json_int_t)(rc->blocked_until_ms > now ? (rc->blocked_until_ms - now + 999) / 1000 : 0),
                     "running_recovery", rc->exec ? json_integer(rc->recovery_id) : NULL, "running_kind",
                     rc->exec ? rec_op_name(rc->op) : NULL, "fast_probing", rc->fast, "maintenance", m, "held_by",
                     rec_hold_name(rc->hold), "launch_failed", launch, "audit_error",
                     rc->audit_failures ? rc->audit_error : NULL, "interrupted_recovery", interrupted);
}

bool rec_cluster_in_maintenance(const rec_cluster *rc, const topo_addr *instance)
{
    int64_t now = clk_wall_ms();
    for (size_t i = 0; i < rc->n_maint; i++) {
        const rec_maintenance *w = &rc->maint[i];
        topo_addr a;
        char e[64];
        if (w->until_ms && w->until_ms <= now)
            continue;
        if (!instance && !w->instance[0])
            return true;
        if (instance && w->instance[0] && topo_addr_parse(w->instance, 3306, &a, e, sizeof(e)) == 0 &&
            topo_addr_eq(&a, instance))
            return true;
    }
    return false;
}

int rec_cluster_maintenance(rec_cluster *rc, bool begin, const char *instance, const char *reason, int64_t duration_s,
                            char *err, size_t errlen)
{
    int64_t now = clk_wall_ms();
    char canon[TOPO_ADDR_MAX] = "";
    topo_instance *in = NULL;
    /* The control socket is a trust boundary: bound what a request asks for (a year and a day). */
    if (begin && (duration_s < 0 || duration_s > 366LL * 86400)) {
        snprintf(err, errlen, "maintenance duration %lld s is out of range: 1 s to 366 days, or 0 for open-ended",
                 (long long)duration_s);
        return -EINVAL;
    }
    if (instance && *instance) {
        topo_addr a;
        if (topo_addr_parse(instance, 3306, &a, err, errlen) < 0)
            return -EINVAL;
        if (!(in = find(rc, &a))) {
            snprintf(err, errlen, "unknown server %s in cluster %s (see 'myorch topology')", instance, rc->mc->model.name);
            return -ENOENT;
        }
        topo_addr_str(&in->addr, canon, sizeof(canon));
    }
    /* Drop expired windows first. */
    for (size_t i = 0; i < rc->n_maint;) {
        if (rc->maint[i].until_ms && rc->maint[i].until_ms <= now)
            rc->maint[i] = rc->maint[--rc->n_maint];
        else
            i++;
    }
    if (begin) {
        rec_maintenance *w;
        for (size_t i = 0; i < rc->n_maint; i++)
            if (!strcmp(rc->maint[i].instance, canon)) {
                snprintf(err, errlen, "%s%s is already under maintenance (%s): end it first", canon[0] ? canon : "cluster ",
                         canon[0] ? "" : rc->mc->model.name, rc->maint[i].reason);
                return -EEXIST;
            }
        if (rc->n_maint >= sizeof(rc->maint) / sizeof(rc->maint[0])) {
            snprintf(err, errlen, "too many maintenance windows open");
            return -ENOSPC;
        }
        if (reason && strlen(reason) >= sizeof(rc->maint[0].reason)) {
            snprintf(err, errlen, "--reason is %zu bytes long: give at most %zu", strlen(reason),
                     sizeof(rc->maint[0].reason) - 1);
            return -ENAMETOOLONG;
        }
        w = &rc->maint[rc->n_maint++];
        snprintf(w->instance, sizeof(w->instance), "%s", canon);
        snprintf(w->reason, sizeof(w->reason), "%s", reason && *reason ? reason : "(no reason given)");
        w->started_ms = now;
        w->until_ms = duration_s > 0 ? now + duration_s * 1000 : 0;
        if (rc->env->st)
            audit_check(rc, store_maintenance_begin(rc->env->st, rc->mc->model.name, canon, w->reason, now, w->until_ms), "a maintenance window");
        emit(rc, LOGL_WARN, "maintenance-started", in, json_pack("{s:s, s:I}", "reason", w->reason, "duration_s",
                                                                 (json_int_t)duration_s),
             "maintenance of %s%s begins: %s%s; automatic recovery %s", canon[0] ? canon : "cluster ",
             canon[0] ? "" : rc->mc->model.name, w->reason, duration_s > 0 ? "" : " (until ended)",
             canon[0] ? "will not promote it" : "is suppressed");
        return 0;
    }
    for (size_t i = 0; i < rc->n_maint; i++) {
        if (strcmp(rc->maint[i].instance, canon) != 0)
            continue;
        rc->maint[i] = rc->maint[--rc->n_maint];
        if (rc->env->st)
            audit_check(rc, store_maintenance_end(rc->env->st, rc->mc->model.name, canon, now), "the end of a maintenance window");
        if (rc->maint_reported)
            rc->incident_handled = false; /* re-evaluate a failure seen during the window */
        rc->maint_reported = false;
        emit(rc, LOGL_WARN, "maintenance-ended", in, NULL, "maintenance of %s%s ended; automatic recovery re-enabled",
             canon[0] ? canon : "cluster ", canon[0] ? "" : rc->mc->model.name);
        return 0;
    }
    snprintf(err, errlen, "%s%s is not under maintenance", canon[0] ? canon : "cluster ", canon[0] ? "" : rc->mc->model.name);
    return -ENOENT;
}

/* The instance index of "host:port" in the cluster, or -1 with err. */
static int lookup(rec_cluster *rc, const char *text, const char *what, char *err, size_t errlen)
{
    topo_addr a;
    int i;
    if (topo_addr_parse(text, 3306, &a, err, errlen) < 0)
        return -1;
    i = topo_cluster_find(&rc->mc->model, &a);
    if (i < 0) {
        strbuf known = STRBUF_INIT;
        for (size_t k = 0; k < rc->mc->model.n; k++) {
            char x[TOPO_ADDR_MAX];
            strbuf_printf(&known, "%s%s", k ? ", " : "", topo_addr_str(&rc->mc->model.v[k]->addr, x, sizeof(x)));
        }
        snprintf(err, errlen, "unknown %s %s in cluster %s (known servers: %s)", what, text, rc->mc->model.name,
                 strbuf_str(&known));
        strbuf_free(&known);
    }
    return i;
}

static int build_relocate(rec_cluster *rc, const rec_manual *m, plan_spec *plan, char *err, size_t errlen)
{
    topo_cluster *c = &rc->mc->model;
    int ri, si;
    topo_instance *r, *src;
    plan_options po = plan_opts(rc, 0);

    if (!m->replica || !m->below) {
        snprintf(err, errlen, "relocate needs --replica and --below");
        return -EINVAL;
    }
    if ((ri = lookup(rc, m->replica, "replica", err, errlen)) < 0 || (si = lookup(rc, m->below, "server", err, errlen)) < 0)
        return -ENOENT;
    r = c->v[ri];
    src = c->v[si];
    if (ri == si) {
        snprintf(err, errlen, "a server cannot replicate from itself");
        return -EINVAL;
    }
    if (!r->reachable || !src->reachable) {
        snprintf(err, errlen, "%s is unreachable: relocate needs both servers up", !r->reachable ? m->replica : m->below);
        return -EHOSTUNREACH;
    }
    if (!r->snap.replica.present || ri == c->primary) {
        snprintf(err, errlen, "%s is not a replica (relocate moves replicas; use switchover for the primary)", m->replica);
        return -EINVAL;
    }
    for (int p = src->parent, guard = 0; p >= 0 && guard < (int)c->n; p = c->v[p]->parent, guard++)
        if (p == ri) {
            snprintf(err, errlen, "%s replicates (indirectly) from %s: moving it below would make a cycle", m->below,
                     m->replica);
            return -ELOOP;
        }
    if (!src->snap.log_bin || (src->snap.replica.present && !src->snap.log_replica_updates)) {
        snprintf(err, errlen, "%s cannot serve replicas: %s", m->below,
                 !src->snap.log_bin ? "binary log off" : "log_slave_updates off (it does not log what it replicates)");
        return -EINVAL;
    }
    /* Whether the new source has what the replica applied is checked at run time
     * (check-source step): snapshots of two servers are not taken at the same moment. */
    return plan_relocate(c, ri, si, &po, plan, err, errlen);
}

/*
 * 'myorch failover' with the primary alive: what can be failed over is a dead
 * intermediate primary (its replicas move below its source). 1 with *plan built,
 * 0 when there is none, -errno with err.
 */
static int build_manual_intermediate(rec_cluster *rc, plan_spec *plan, char *err, size_t errlen)
{
    topo_cluster *c = &rc->mc->model;
    imd_analysis ia;
    plan_options po = plan_opts(rc, 0);
    int rc_ = 0;
    if (imd_analyze(c, &ia, err, errlen) < 0)
        return -ENOMEM;
    if (ia.code == IMD_DEAD && ia.n_movable && ia.new_source >= 0) {
        rc_ = plan_intermediate(c, ia.dead, ia.new_source, ia.movable, ia.n_movable, &po, plan, err, errlen);
        if (rc_ == 0 && ia.lost)
            rc_ = topo_strset(&plan->unreachable, ia.lost) < 0 ? -ENOMEM : 0;
        if (rc_ == 0) {
            rc->launch_analysis = "dead-intermediate-primary";
            rc_ = 1;
        }
    }
    imd_analysis_free(&ia);
    return rc_;
}

/* The safety rules of a switchover (sw) or a forced failover, as a refusal in refuse
 * ("" none): a dry run shows the plan and the refusal. */
static void manual_refusal(const rec_cluster *rc, const rec_manual *m, bool sw, char *refuse, size_t len)
{
    const topo_instance *p = rc->mc->model.v[rc->last.primary];
    if (sw) {
        if (!p->reachable || p->snap.read_only)
            snprintf(refuse, len, "the primary %s is %s: a switchover needs a live, writable primary "
                     "(use 'myorch failover')", p->addr.host, !p->reachable ? "unreachable" : "read-only");
        else if (rc->last.code != ANA_OK && rc->last.code != ANA_LOCKED_SEMI_SYNC)
            snprintf(refuse, len, "every replica must be reachable and replicating: %.900s", rc->last.evidence);
    } else {
        if (p->reachable)
            snprintf(refuse, len, "the primary is reachable: a forced failover is for a primary that is "
                     "gone (use 'myorch switchover')");
        else if (rc->last.code == ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING && !m->force)
            snprintf(refuse, len, "replicas still replicate from the primary (%.900s): only the controller "
                     "lost it; --force to fail over anyway", rc->last.evidence);
        else if (rc->last.code == ANA_DEAD_PRIMARY_MINORITY && !m->force)
            snprintf(refuse, len, "this controller sees a minority of the cluster (%s): the primary may "
                     "still be alive and writable with the servers it cannot reach; make sure it is down or fenced, "
                     "then --force to fail over anyway", rc->last.quorum.why);
    }
}

/* A switchover (sw) or failover asked for by an operator: refusal (refuse) and plan. */
static int build_promotion(rec_cluster *rc, const rec_manual *m, bool sw, plan_spec *plan, char *refuse,
                           size_t refuselen, char *err, size_t errlen)
{
    topo_cluster *c = &rc->mc->model;
    cand_ranking rank;
    topo_addr never[64], target;
    cand_opts co;
    int rc_, ti = -1;

    if (m->to) {
        if ((ti = lookup(rc, m->to, "target", err, errlen)) < 0)
            return -ENOENT;
        target = c->v[ti]->addr;
    }
    if (rc->last.primary < 0) {
        snprintf(err, errlen, "cluster %s has no known primary (%s)", c->name, rc->last.evidence);
        return -EINVAL;
    }
    if (ti == rc->last.primary) {
        snprintf(err, errlen, "%s is already the primary of cluster %s", m->to, c->name);
        return -EINVAL;
    }
    manual_refusal(rc, m, sw, refuse, refuselen);
    co = candidate_opts(rc, never, 64, m->to ? &target : NULL);
    memset(&rank, 0, sizeof(rank));
    if ((rc_ = cand_rank(c, rc->last.primary, &co, &rank, err, errlen)) < 0)
        return rc_;
    if (rank.chosen < 0) {
        snprintf(err, errlen, "no replica can be promoted: %s", rank.reason);
        cand_ranking_free(&rank);
        return -EINVAL;
    }
    if (sw) {
        const topo_instance *t = c->v[rank.v[rank.chosen].index];
        double lag = topo_instance_lag_s(t);
        if (!refuse[0] && (lag < 0 || lag > rc->cfg->switchover_max_lag_s)) {
            char a[TOPO_ADDR_MAX];
            if (lag < 0)
                snprintf(refuse, refuselen, "the lag of %s is unknown", topo_addr_str(&t->addr, a, sizeof(a)));
            else
                snprintf(refuse, refuselen, "%s lags %.1f s, more than switchover_max_lag_s=%d",
                         topo_addr_str(&t->addr, a, sizeof(a)), lag, rc->cfg->switchover_max_lag_s);
        }
        rank.needs_catchup = false; /* it catches up from the live primary itself */
        plan_options po = plan_opts(rc, m->timeout_ms);
        rc_ = plan_switchover(c, rc->last.primary, &rank, &po, plan, err, errlen);
    } else {
        plan_options po = plan_opts(rc, 0);
        rc_ = plan_failover(c, rc->last.primary, &rank, &po, plan, err, errlen);
    }
    cand_ranking_free(&rank);
    if (rc_ < 0)
        return rc_;
    if (add_hooks(rc, plan) < 0) {
        plan_free(plan);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* The answer to a dry run: the plan (JSON and text) and what would refuse it. */
static json_t *dry_run_reply(const plan_spec *plan, const char *would_refuse)
{
    char *txt = NULL;
    size_t len = 0;
    json_t *reply;
    FILE *f = open_memstream(&txt, &len);
    if (f) {
        plan_print(plan, f);
        fclose(f);
    }
    reply = json_pack("{s:b, s:b, s:o, s:s, s:s?}", "ok", 1, "dry_run", 1, "plan", plan_to_json(plan), "text",
                      txt ? txt : "", "would_refuse", would_refuse);
    free(txt);
    return reply;
}

int rec_cluster_manual(rec_cluster *rc, const rec_manual *m, void *tag, json_t **reply, char *err, size_t errlen)
{
    topo_cluster *c = &rc->mc->model;
    int rc_;
    const char *would_refuse = NULL;
    char refuse[1024] = "";
    rec_op op = rec_op_parse(m->kind);
    bool sw = op == REC_OP_SWITCHOVER, fo = op == REC_OP_FAILOVER, rl = op == REC_OP_RELOCATE;
    plan_spec plan; /* built here; moved into rc->plan only when it is launched */

    memset(&plan, 0, sizeof(plan));

    *reply = NULL;
    if (!sw && !fo && !rl) {
        snprintf(err, errlen, "unknown operation '%s'", m->kind);
        return -EINVAL;
    }
    if (rc->exec && !m->dry_run) {
        snprintf(err, errlen, "a %s (#%lld) is already running on cluster %s: wait for it (see 'myorch recoveries')",
                 rec_op_name(rc->op), (long long)rc->recovery_id, c->name);
        return -EBUSY;
    }
    if (!rc->mc->first_round_done) {
        snprintf(err, errlen, "cluster %s has not been fully probed yet: try again in a moment", c->name);
        return -EAGAIN;
    }
    if (rc->env->loop.derive)
        rc->env->loop.derive(rc->env->user);
    ana_input ai = {.first_round_done = true, .quorum_off = rc->cfg->failover_quorum == CFG_QUORUM_NONE};
    ana_analyze(c, &ai, &rc->last);
    if (rl)
        rc_ = build_relocate(rc, m, &plan, err, errlen);
    else if (fo && !m->to && rc->last.primary >= 0 && c->v[rc->last.primary]->reachable &&
             (rc_ = build_manual_intermediate(rc, &plan, err, errlen)) != 0)
        rc_ = rc_ < 0 ? rc_ : 0;
    else
        rc_ = build_promotion(rc, m, sw, &plan, refuse, sizeof(refuse), err, errlen);
    if (rc_ < 0)
        return rc_;
    would_refuse = refuse[0] ? refuse : NULL;
    if (m->dry_run || would_refuse)
        rc->launch_analysis = NULL;
    if (m->dry_run) {
        *reply = dry_run_reply(&plan, would_refuse);
        plan_free(&plan);
        return 0;
    }
    if (would_refuse) {
        snprintf(err, errlen, "%s refused: %s", m->kind, would_refuse);
        plan_free(&plan);
        return -EPERM;
    }
    rc->pending_tag = tag;
    rc->plan = plan;
    rc_ = launch(rc, "manual", clk_wall_ms(), err, errlen);
    rc->launch_analysis = NULL;
    if (rc_ < 0) {
        rc->pending_tag = NULL;
        return rc_;
    }
    if (rc->op == REC_OP_INTERMEDIATE)
        rc->imd_handled = true;
    return 1;
}
