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
#include "orchestrator/decide/handoff.h"
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
    bool counted;                 /* counted in env->n_running (running_update) */
    mon_cluster *mc;
    const cfg_cluster *cfg;

    rec_state state;              /* where the machine is (rec_state.h); every change is logged and emitted */
    /* What rec_cluster_quiet_if() reads, together with last.code just below: the loop asks it of
     * every cluster on every sweep, and spread over the struct these fields cost a cache miss
     * each (3.8 % of the controller's CPU at 10,000 servers). */
    int64_t primary_lost_ms;      /* wall ms when the current primary became unreachable, 0 when up */
    int64_t detected_ms;          /* wall ms when the failure was confirmed */
    rec_hold hold;                /* what holds this failure back now (reported once) */
    bool fast;                    /* replicas probed at the fast interval */
    /* A failover interrupted (controller stopped) before its point of no return: its
     * candidate may have been detached. Until it replicates from the old primary again
     * (after-care gives it back its replication), no new failover starts, so that the
     * next one ranks it with the others instead of leaving it orphaned. */
    bool rollback_pending;
    exec_job *exec;               /* the running recovery (below) */
    exec_job *job;                /* a one-step job on a demoted primary or a stray replica (fence, rejoin, repoint) */
    void *pending_tag;            /* who waits for its answer */
    ana_result last;            /* latest analysis */
    bool incident_handled;        /* a failover was launched (or refused and recorded) for this failure */
    unsigned launch_failures;     /* failed attempts to launch the failover for this failure */
    int64_t retry_at_ms;          /* wall: next attempt after a launch failure */
    char launch_error[640];
    unsigned audit_failures;      /* state-database writes of the recovery record that failed */
    char audit_error[512];        /* the last one: what, and SQLite's message */
    /* A dead intermediate primary (intermediate.h): reported once per incident, moved once. */
    char imd_reported[TOPO_ADDR_MAX];
    bool imd_handled;
    const char *launch_analysis, *launch_evidence; /* audit text for the next launch(), NULL: rcl->last */
    int64_t fast_until_ms;        /* monotonic */
    int64_t blocked_until_ms;     /* wall: no automatic recovery before */

    /* The running recovery (exec, above). */
    plan_spec plan;
    int64_t recovery_id;
    int64_t step_started_ms;
    bool promoted;
    char *promoted_gtid;
    char *last_error;             /* the running operation's error (heap, NULL none) */

    plan_spec job_plan;           /* the job's (job, above) */
    int64_t job_next_ms;          /* monotonic: earliest next job */
    int64_t hung_fence_next_ms;   /* monotonic: earliest next fence of a demoted primary whose probe hangs */
    rec_op op;                    /* the running operation */
    bool manual;                  /* the running operation was asked for by an operator */
    int64_t demote_started_ms;    /* switchover: when the old primary stopped taking writes */
    int64_t writes_refused_ms;    /* switchover: demote start → new primary writable */
    /* A planned write block (switchover, rec_planned_block): 0 = none / not ended yet. Wall ms. */
    int64_t planned_from_ms, planned_to_ms;
    topo_addr planned_primary;
    bool hooks_failed;            /* a post hook failed: "done-hooks-failed" */
    bool vetoed;                  /* a pre hook vetoed */
    bool old_rejoined;            /* the plan's rejoin step verified the old primary replicating from the new */
    struct rec_hook_ctx *hook_ctx; /* what the recovery's hook steps tell the hooks */
    /* Asynchronous hooks of this cluster running now: the daemon counts them
     * (rec_cluster_hook_started/ended); the recovery's own hooks, in the worker thread,
     * wait on the condition until none runs: one hook at a time per cluster. */
    pthread_mutex_t hooks_mu;
    pthread_cond_t hooks_idle;
    int async_hooks_running;
    int64_t loop_ms;              /* the loop's time (monotonic) of the current turn (rec_cluster_io/tick) */
    exec_hooks hook_iface;
    rec_maintenance *maint;       /* heap, grown on demand (maint_room): most clusters have none */
    size_t n_maint, cap_maint;
    bool maint_reported;
    int64_t aftercare_from_ms;    /* monotonic: only snapshots taken after this count */
    topo_addr rollback_cand, rollback_source;
    int64_t rollback_id;          /* the interrupted recovery */
    int64_t rollback_until_ms;    /* monotonic: give up waiting for an unreachable candidate, 0 = not armed */
    char diverged_reported[TOPO_ADDR_MAX];
    /* Controller coordination (etcd, issue 14): the running operation's fencing token and
     * what its worker writes into the shared journal; the journal record of a recovery
     * taken over from another lock holder, until it is settled (handoff). */
    void *fence;
    struct rec_journal_ctx *jctx;
    json_t *handoff;
    /* A journal found at a lock taking while an operation of this controller ran (its own
     * recovery, the lock taken back: handoff_judge): judged again once that one ended, if
     * this controller still holds the lock. And what the last operation that ended here
     * left, to know its own record then (its id, whether it settled itself: not refused by
     * the fencing check, its outcome). */
    char *handoff_wait;
    int64_t ended_id;
    bool ended_settled, ended_promoted;
    char ended_state[16];
    /* The cluster's shared state in etcd (shared_put / shared_apply): what was last written
     * (without its time), when the one found at the last lock taking was written, when it
     * was last offered, and whether it is being applied (no writes meanwhile). */
    char *shared_last;
    int64_t shared_found_ms, shared_next_ms, shared_put_ms;
    bool shared_applying;
    /* A switchover taken over before its promotion (handoff): once its target replicates
     * again (rolled back), the old primary gets its writes back (an undemote job). */
    bool rollback_undemote, undemote_due;
    /* Demoted primaries named by the shared state or a journal that this controller's model
     * does not hold (yet): fenced as soon as they are discovered, kept in the shared state. */
    struct pending_fence {
        char addr[TOPO_ADDR_MAX];
        char *gtid;
    } *pending_fence;             /* heap, grown on demand: most clusters have none */
    size_t n_pending_fence, cap_pending_fence;
};

/* At most this many maintenance windows and undiscovered demoted primaries per cluster. The
 * arrays are allocated when the first one comes: inline, they were 22 KiB of every cluster
 * (5.5 KiB per server at 4 per cluster; bench/README.md, "Memory"). */
#define REC_MAINT_MAX 32
#define REC_PENDING_FENCE_MAX 16

/* Room for one more element in a heap array of at most max (grown to max at once: small). */
static bool grow_room(void **v, size_t *cap, size_t n, size_t max, size_t size)
{
    void *nv;
    if (n < *cap)
        return true;
    if (n >= max || !(nv = realloc(*v, max * size)))
        return false;
    *v = nv;
    *cap = max;
    return true;
}

static bool maint_room(rec_cluster *rcl)
{
    return grow_room((void **)&rcl->maint, &rcl->cap_maint, rcl->n_maint, REC_MAINT_MAX, sizeof(*rcl->maint));
}

#define FAST_INTERVAL_MS 50
#define FAST_WINDOW_MS 10000

/* One loop turn's clocks, taken once (rec_cluster_tick): monotonic for deadlines,
 * wall only for what is stored or shown. */
typedef struct {
    int64_t mono_ms;
    int64_t wall_ms;
} rec_turn;

static void emit(rec_cluster *rcl, int level, const char *name, const topo_instance *in, json_t *detail,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void emit(rec_cluster *rcl, int level, const char *name, const topo_instance *in, json_t *detail,
                 const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    msg = strbuf_vasprintf(fmt, ap); /* whole: event texts quote GTID positions of any length */
    va_end(ap);
    rcl->env->emit(rcl->env->user, level, name, rcl->mc, in, msg ? msg : "(event text lost: out of memory)", detail);
    free(msg);
    json_decref(detail);
}

/* The running operation's error, whole (heap). */
static void set_last_error(rec_cluster *rcl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_last_error(rec_cluster *rcl, const char *fmt, ...)
{
    va_list ap;
    free(rcl->last_error);
    va_start(ap, fmt);
    rcl->last_error = strbuf_vasprintf(fmt, ap);
    va_end(ap);
}

static gtid_kind kind_of(topo_flavor f) { return dialect_gtid_kind(f); }

static const char *own_pos(const topo_snapshot *s)
{
    return dialect_snap_own_gtid(s);
}

static topo_instance *find(rec_cluster *rcl, const topo_addr *a)
{
    int i = topo_cluster_find(&rcl->mc->model, a);
    return i >= 0 ? rcl->mc->model.v[i] : NULL;
}

/*
 * A state-database write of the recovery record failed: log it with SQLite's message
 * and keep it for 'myorch status' (the recovery goes on: the servers come first).
 */
static void audit_check(rec_cluster *rcl, int r, const char *what)
{
    if (r >= 0)
        return;
    rcl->audit_failures++;
    snprintf(rcl->audit_error, sizeof(rcl->audit_error), "%s: %.400s", what,
             rcl->env->st ? store_errmsg(rcl->env->st) : "no state database");
    log_error("cluster %s: the state database did not record %s: %s", rcl->mc->model.name, what, rcl->audit_error);
}

static void persist(rec_cluster *rcl, topo_instance *in)
{
    /* The fence mark of a demoted primary must survive a controller crash. */
    int r = rcl->env->st ? store_save_instance(rcl->env->st, rcl->mc->model.name, in, clk_wall_ms() / 1000) : 0;
    if (r == 0 && rcl->env->st)
        r = store_sync(rcl->env->st);
    audit_check(rcl, r, "a demoted primary's fence mark");
}

/* A demoted old primary: never a primary again, fenced whenever it answers, judged
 * (rejoin or diverged) against gtid, what the new primary had when promoted. Durable. */
static void shared_put(rec_cluster *rcl);

static void mark_demoted(rec_cluster *rcl, topo_instance *in, const char *gtid)
{
    in->fenced = true;
    topo_strset(&in->fence_gtid, gtid);
    persist(rcl, in);
    mon_mark_dirty(rcl->mc);
    rcl->mc->version++;
    shared_put(rcl);
}

/* A demoted primary by address: marked now if the model holds it, else remembered and
 * marked once it is discovered (pending_fence_tick). */
static void demote_addr(rec_cluster *rcl, const char *addr, const char *gtid)
{
    topo_addr a;
    char e[64], canon[TOPO_ADDR_MAX];
    topo_instance *in;
    if (topo_addr_parse(addr, 3306, &a, e, sizeof(e)) < 0)
        return;
    if ((in = find(rcl, &a))) {
        if (!in->fenced)
            mark_demoted(rcl, in, gtid ? gtid : "");
        return;
    }
    topo_addr_str(&a, canon, sizeof(canon));
    for (size_t i = 0; i < rcl->n_pending_fence; i++)
        if (!strcmp(rcl->pending_fence[i].addr, canon))
            return;
    if (!grow_room((void **)&rcl->pending_fence, &rcl->cap_pending_fence, rcl->n_pending_fence,
                   REC_PENDING_FENCE_MAX, sizeof(*rcl->pending_fence))) {
        log_error("cluster %s: too many demoted primaries not discovered yet; %s is not remembered", rcl->mc->model.name,
                  canon);
        return;
    }
    snprintf(rcl->pending_fence[rcl->n_pending_fence].addr, TOPO_ADDR_MAX, "%s", canon);
    rcl->pending_fence[rcl->n_pending_fence].gtid = strdup(gtid ? gtid : "");
    rcl->n_pending_fence++;
    log_warn("cluster %s: %s is a demoted primary this controller has not discovered: fenced once it is",
             rcl->mc->model.name, canon);
}

static void pending_fence_tick(rec_cluster *rcl)
{
    for (size_t i = 0; i < rcl->n_pending_fence;) {
        topo_addr a;
        char e[64];
        topo_instance *in = topo_addr_parse(rcl->pending_fence[i].addr, 3306, &a, e, sizeof(e)) == 0 ? find(rcl, &a)
                                                                                                    : NULL;
        if (!in) {
            i++;
            continue;
        }
        if (!in->fenced)
            mark_demoted(rcl, in, rcl->pending_fence[i].gtid ? rcl->pending_fence[i].gtid : "");
        free(rcl->pending_fence[i].gtid);
        rcl->pending_fence[i] = rcl->pending_fence[--rcl->n_pending_fence];
    }
}

struct rec_hook_ctx;
static void hook_ctx_free(struct rec_hook_ctx *h);
static void hooks_gate_init(rec_cluster *rcl);

static void set_fast(rec_cluster *rcl, bool on, int64_t now_ms)
{
    const rec_loop_ops *l = &rcl->env->loop;
    if (on) {
        rcl->fast_until_ms = now_ms + FAST_WINDOW_MS;
        if (rcl->fast)
            return;
        rcl->fast = true;
        if (l->set_fast)
            l->set_fast(rcl->env->user, rcl->mc, true, FAST_INTERVAL_MS);
    } else if (rcl->fast) {
        rcl->fast = false;
        if (l->set_fast)
            l->set_fast(rcl->env->user, rcl->mc, false, FAST_INTERVAL_MS);
    }
}

static void maint_loaded(void *user, const char *instance, const char *reason, int64_t started_ms, int64_t until_ms)
{
    rec_cluster *rcl = user;
    rec_maintenance *w;
    if (!maint_room(rcl))
        return;
    w = &rcl->maint[rcl->n_maint];
    /* A stored window whose instance does not fit was never written by this program: skip it
     * rather than keep a shorter (other) address. */
    if (fmt_checked(w->instance, sizeof(w->instance), NULL, 0, "instance", "%s", instance ? instance : "") < 0)
        return;
    if (fmt_checked(w->reason, sizeof(w->reason), NULL, 0, "reason", "%s", reason ? reason : "") < 0)
        snprintf(w->reason, sizeof(w->reason), "(stored reason too long to show)");
    rcl->n_maint++;
    w->started_ms = started_ms;
    w->until_ms = until_ms;
}

static void journal_settled(rec_cluster *rcl, const char *state, const char *why);

static void rollback_end(rec_cluster *rcl, const char *state, const char *error)
{
    rcl->rollback_pending = false;
    journal_settled(rcl, state, error);
    if (rcl->env->st && store_recovery_end(rcl->env->st, rcl->rollback_id, state, clk_wall_ms(), NULL, error) < 0)
        emit(rcl, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot record the end of interrupted failover #%lld: %s",
             (long long)rcl->rollback_id, store_errmsg(rcl->env->st));
}

/*
 * A failover the previous controller left running before its recorded point of no
 * return (no promotion in the audit). Its candidate may have been detached
 * (replication stopped and reset), or even made writable just before the crash.
 * The audit row stays 'running' (the per-cluster lock) until the servers say which:
 * after-care (aftercare_decide) ends it once the candidate has been probed. Until then no new
 * failover starts. Returns true when it took the interrupted recovery over.
 */
static bool resume_run(rec_cluster *rcl, store_running *run_, int64_t now, const char *by);

static bool resume_interrupted(rec_cluster *rcl, int64_t now)
{
    store_running run;
    if (store_recovery_running(rcl->env->st, rcl->mc->model.name, &run) != 1)
        return false;
    return resume_run(rcl, &run, now, "a controller stop");
}

/* The body of resume_interrupted, for a running recovery left by a controller stop (the
 * state database) or by another lock holder (the shared journal, handoff); by says which.
 * Frees *run_. */
static bool resume_run(rec_cluster *rcl, store_running *run_, int64_t now, const char *by)
{
    store_running run = *run_;
    const char *name = rcl->mc->model.name;
    char why[128];
    /* A switchover is taken over too, from the shared journal only (handoff): its target is
     * judged like a failover's candidate, and a rolled back one gives the old primary back
     * its writes. A stop in single mode rolls a switchover back itself (rec_exec_stop). */
    bool switchover = rcl->handoff && rec_op_parse(run.kind) == REC_OP_SWITCHOVER;

    rcl->rollback_undemote = switchover;
    if ((rec_op_parse(run.kind) != REC_OP_FAILOVER && !switchover) ||
        topo_addr_parse(run.new_primary, 3306, &rcl->rollback_cand, why, sizeof(why)) < 0 ||
        topo_addr_parse(run.old_primary, 3306, &rcl->rollback_source, why, sizeof(why)) < 0) {
        store_running_free(&run);
        return false;
    }
    if (run.promoted) {
        /* Past the point of no return: the new primary is writable. What is left is
         * after-care's: the old primary is demoted (fenced whenever it answers), the
         * replicas still on it are repointed; the anti-flap block applies as after any
         * failover. Finished, not blocked. */
        demote_addr(rcl, run.old_primary, run.new_primary_gtid);
        if (!switchover)
            rcl->blocked_until_ms = now + (int64_t)rcl->cfg->failover_block_s * 1000;
        rcl->rollback_undemote = false;
        rcl->rollback_id = run.id;
        rollback_end(rcl, "done", "interrupted after the promotion; finished by the next controller to act "
                                 "(the old primary demoted, the other replicas repointed by after-care)");
        emit(rcl, LOGL_WARN, "recovery-resumed", NULL, json_pack("{s:I}", "recovery_id", (json_int_t)run.id),
             "%s #%lld of cluster %s was interrupted by %s after %s was made writable: finishing it (%s "
             "demoted and fenced when it answers, the other replicas follow %s)",
             run.kind, (long long)run.id, name, by, run.new_primary, run.old_primary, run.new_primary);
        store_running_free(&run);
        return true;
    }
    store_running_free(&run);
    rcl->rollback_pending = true;
    rcl->rollback_id = run.id;
    emit(rcl, LOGL_ERROR, "recovery-interrupted", NULL,
         json_pack("{s:I, s:s, s:s}", "recovery_id", (json_int_t)run.id, "candidate", run.new_primary,
                   "old_primary", run.old_primary),
         "%s #%lld of cluster %s was interrupted by %s before its recorded promotion: once %s is "
         "probed, it is either given its replication from %s back (then %s) or, if it was already made "
         "writable, the %s is finished",
         run.kind, (long long)run.id, name, by, run.new_primary, run.old_primary,
         switchover ? "the old primary gets its writes back" : "the failure is judged afresh", run.kind);
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
static void rollback_rolled_back(rec_cluster *rcl, topo_instance *in)
{
    char a[TOPO_ADDR_MAX];
    topo_addr_str(&in->addr, a, sizeof(a));
    emit(rcl, LOGL_WARN, "recovery-rollback", in, json_pack("{s:I}", "recovery_id", (json_int_t)rcl->rollback_id),
         "%s replicates: interrupted %s #%lld rolled back%s", a, rcl->rollback_undemote ? "switchover" : "failover",
         (long long)rcl->rollback_id, rcl->rollback_undemote ? "; the old primary gets its writes back" : "");
    rcl->undemote_due = rcl->rollback_undemote;
    rcl->rollback_undemote = false;
    rollback_end(rcl, "rolled-back", "the controller stopped before the point of no return; the candidate "
                                    "replicates again and the failure is judged afresh");
}

static void rollback_finish(rec_cluster *rcl, topo_instance *in)
{
    bool switchover = rcl->rollback_undemote;
    rcl->rollback_undemote = false;
    char a[TOPO_ADDR_MAX];
    topo_instance *old = find(rcl, &rcl->rollback_source);
    const char *pos = own_pos(&in->snap);
    topo_addr_str(&in->addr, a, sizeof(a));
    if (old && !old->fenced) {
        mark_demoted(rcl, old, pos);
    } else {
        mon_mark_dirty(rcl->mc);
        rcl->mc->version++;
    }
    if (rcl->env->st)
        audit_check(rcl, store_recovery_promoted(rcl->env->st, rcl->rollback_id, clk_wall_ms(), pos), "the promotion of a recovery");
    if (!switchover)
        rcl->blocked_until_ms = clk_wall_ms() + (int64_t)rcl->cfg->failover_block_s * 1000;
    shared_put(rcl);
    emit(rcl, LOGL_WARN, "recovery-resumed", in, json_pack("{s:I}", "recovery_id", (json_int_t)rcl->rollback_id),
         "%s was made writable before the controller stopped: finishing interrupted failover #%lld (the old "
         "primary is demoted, the other replicas follow %s)", a, (long long)rcl->rollback_id, a);
    rollback_end(rcl, "done", "finished by the restarted controller after an interruption");
}

/* ---- the shared journal (controller coordination on etcd, issue 14) --------------------- */

/*
 * One JSON object per cluster in etcd (PREFIX/journal/CLUSTER), the cluster's current or
 * last recovery, written by the lock holder only (under its fencing token):
 *   v 1, cluster, controller (who ran it), recovery_id (its id in that controller's state
 *   database), token (the lock's create revision), kind, trigger, old_primary,
 *   new_primary, old_primary_gtid, plan (plan_to_json), started_ms, updated_ms (wall),
 *   phase ("intent": before step `step` runs | "end" | "settled": taken over and settled by
 *   handled_by), step (1-based), step_name, ponr (the point of no return is being or was
 *   crossed), promoted (the candidate was made writable, recorded), promoted_gtid, steps
 *   [{step, target, result: "ok" | "failed" | "pending"}], state ("running" | "stopped" |
 *   "done" | "failed" | "aborted" | "rolled-back" ...), ended_ms, omitted (fields left out
 *   to stay within REC_JOURNAL_MAX bytes: "plan", then the GTID positions, then "steps";
 *   the local audit keeps them).
 */
#define REC_JOURNAL_MAX (64 * 1024)

typedef struct rec_journal_ctx {
    json_t *base;                 /* the fields fixed at launch; read by the worker only after */
    int (*check)(void *fence, const char *journal_json, char *err, size_t errlen);
    void *fence;
} rec_journal_ctx;

/* Dump a record within REC_JOURNAL_MAX: drop the plan, then the GTID positions, then the steps,
 * saying so (what a handoff needs, the addresses, flags and state, is never dropped). */
static char *journal_dump(json_t *r)
{
    static const char *const drop[] = {"plan", "old_primary_gtid", "promoted_gtid", "steps"};
    char *txt = json_dumps(r, JSON_COMPACT);
    for (size_t k = 0; txt && strlen(txt) > REC_JOURNAL_MAX && k < sizeof(drop) / sizeof(drop[0]); k++) {
        json_t *om = json_object_get(r, "omitted");
        if (!om) {
            om = json_array();
            json_object_set_new(r, "omitted", om);
        }
        json_object_del(r, drop[k]);
        json_array_append_new(om, json_string(drop[k]));
        free(txt);
        txt = json_dumps(r, JSON_COMPACT);
    }
    if (txt && strlen(txt) > REC_JOURNAL_MAX) {
        free(txt);
        txt = NULL;
    }
    return txt;
}

/* Worker thread (exec_hooks.journal): the record of this step boundary, fenced. */
static int journal_note(void *user, const plan_spec *plan, const exec_journal *j, strbuf *msg)
{
    rec_journal_ctx *x = user;
    json_t *r = json_deep_copy(x->base), *steps = json_array();
    bool promoted = false;
    char err[400] = "", *txt;
    int rc;
    for (size_t i = 0; i < plan->n && steps; i++) {
        char a[TOPO_ADDR_MAX];
        const char *res = j->results[i] == 1 ? "ok" : j->results[i] == 2 ? "failed" : "pending";
        promoted |= plan->v[i].kind == PLAN_STEP_SET_WRITABLE && j->results[i] == 1;
        json_array_append_new(steps, json_pack("{s:s, s:s, s:s}", "step", plan_step_name(plan->v[i].kind), "target",
                                               topo_addr_str(&plan->v[i].target.addr, a, sizeof(a)), "result", res));
    }
    if (!r || !steps) {
        json_decref(r);
        json_decref(steps);
        strbuf_setf(msg, "the journal record could not be built: out of memory");
        return -ENOMEM;
    }
    json_object_set_new(r, "phase", json_string(j->phase));
    json_object_set_new(r, "step", json_integer((json_int_t)j->step + 1));
    json_object_set_new(r, "step_name", json_string(j->step < plan->n ? plan_step_name(plan->v[j->step].kind) : ""));
    json_object_set_new(r, "ponr", json_boolean(j->ponr));
    json_object_set_new(r, "promoted", json_boolean(promoted));
    if (promoted)
        json_object_set_new(r, "promoted_gtid", json_string(j->promoted_gtid));
    json_object_set_new(r, "steps", steps);
    json_object_set_new(r, "state", json_string(j->state ? j->state : "running"));
    json_object_set_new(r, "updated_ms", json_integer(clk_wall_ms()));
    if (j->state)
        json_object_set_new(r, "ended_ms", json_integer(clk_wall_ms()));
    txt = journal_dump(r);
    json_decref(r);
    if (!txt) {
        strbuf_setf(msg, "the journal record could not be built within %d bytes", REC_JOURNAL_MAX);
        return -E2BIG;
    }
    rc = x->check(x->fence, txt, err, sizeof(err));
    free(txt);
    if (rc != 0)
        strbuf_setf(msg, "fencing check: %s", err[0] ? err : "refused");
    return rc;
}

static void journal_ctx_free(rec_journal_ctx *x)
{
    if (x) {
        json_decref(x->base);
        free(x);
    }
}

/* Launch, etcd mode: take the fencing token and prepare what the worker writes. 0 without
 * coordination; -EPERM (err) when this controller does not hold the lock. */
static int journal_start(rec_cluster *rcl, const char *trigger, const char *plan_txt, int64_t now, char *err,
                         size_t errlen)
{
    const rec_env *e = rcl->env;
    char old[TOPO_ADDR_MAX], neu[TOPO_ADDR_MAX];
    json_t *plan;
    if (!e->fence_take || !e->fence_check)
        return 0;
    plan = plan_txt ? json_loads(plan_txt, 0, NULL) : NULL;
    rcl->fence = e->fence_take(e->user, rcl->mc, err, errlen);
    if (!rcl->fence) {
        json_decref(plan);
        return -EPERM;
    }
    rcl->jctx = calloc(1, sizeof(*rcl->jctx));
    if (rcl->jctx)
        rcl->jctx->base = json_pack(
            "{s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s?, s:o?, s:I}", "v", 1, "cluster", rcl->mc->model.name,
            "controller", e->controller ? e->controller : "", "recovery_id", (json_int_t)rcl->recovery_id, "kind",
            rcl->plan.kind, "trigger", trigger, "old_primary",
            topo_addr_str(&rcl->plan.old_primary.addr, old, sizeof(old)), "new_primary",
            topo_addr_str(&rcl->plan.new_primary.addr, neu, sizeof(neu)), "old_primary_gtid",
            rcl->plan.old_primary_gtid, "plan", plan, "started_ms", (json_int_t)now);
    else
        json_decref(plan);
    if (!rcl->jctx || !rcl->jctx->base) {
        journal_ctx_free(rcl->jctx);
        rcl->jctx = NULL;
        e->fence_free(rcl->fence);
        rcl->fence = NULL;
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rcl->jctx->check = e->fence_check;
    rcl->jctx->fence = rcl->fence;
    return 0;
}

static void journal_release(rec_cluster *rcl)
{
    journal_ctx_free(rcl->jctx);
    rcl->jctx = NULL;
    if (rcl->fence && rcl->env->fence_free)
        rcl->env->fence_free(rcl->fence);
    rcl->fence = NULL;
}

/* Record r (taken) settled in the journal with state and why. */
static void journal_settle_record(rec_cluster *rcl, json_t *r, const char *state, const char *why)
{
    char *txt;
    if (!r || !rcl->env->journal_put) {
        json_decref(r);
        return;
    }
    json_object_set_new(r, "phase", json_string("settled"));
    json_object_set_new(r, "state", json_string(state));
    json_object_set_new(r, "handled_by", json_string(rcl->env->controller ? rcl->env->controller : ""));
    json_object_set_new(r, "settled_why", json_string(why ? why : ""));
    json_object_set_new(r, "ended_ms", json_integer(clk_wall_ms()));
    json_object_set_new(r, "updated_ms", json_integer(clk_wall_ms()));
    if (!strncmp(state, "done", 4))
        json_object_set_new(r, "promoted", json_true());
    txt = journal_dump(r);
    json_decref(r);
    if (txt)
        rcl->env->journal_put(rcl->env->user, rcl->mc, txt);
    free(txt);
}

/* A recovery taken over from the journal is settled (finished or rolled back): say so in
 * the journal, so that the next lock holder does not take it over again. */
static void journal_settled(rec_cluster *rcl, const char *state, const char *why)
{
    json_t *r = rcl->handoff;
    if (!r || !rcl->env->journal_put)
        return;
    rcl->handoff = NULL;
    journal_settle_record(rcl, r, state, why);
}

/* A string field of an untrusted journal record, at most max bytes; NULL when absent or longer. */
static const char *jstr(const json_t *r, const char *field, size_t max)
{
    const char *v = json_string_value(json_object_get(r, field));
    return v && strlen(v) <= max ? v : NULL;
}

static void state_await_rollback_arm(rec_cluster *rcl);

/*
 * The cluster's shared state in etcd (PREFIX/state/CLUSTER), what a new lock holder must
 * respect beyond the journal of one recovery:
 *   v 1, cluster, controller (the writer), updated_ms, blocked_until_ms (the anti-flap
 *   block's end, wall ms, 0 none: an acknowledgement writes 0), fenced [{addr,
 *   fence_gtid}] (demoted primaries), maintenance [{instance ("" the cluster), reason,
 *   started_ms, until_ms (0 open-ended)}], omitted (fields left out to stay within
 *   REC_JOURNAL_MAX: "fence_gtid").
 * Applied on taking: the block replaces this controller's; demoted primaries and
 * maintenance windows are added to its own (never removed: the safe side).
 * Written by the lock holder whenever it changes (and offered every second: a no-op
 * unless changed); applied when this controller takes the lock.
 */
#define REC_SHARED_REPUT_MS 30000

static void shared_put(rec_cluster *rcl)
{
    const topo_cluster *m = &rcl->mc->model;
    json_t *r, *fenced, *maint;
    char *txt;
    int64_t now = clk_wall_ms();
    if (!rcl->env->state_put || rcl->shared_applying)
        return;
    fenced = json_array();
    maint = json_array();
    for (size_t i = 0; i < m->n; i++) {
        char a[TOPO_ADDR_MAX];
        if (m->v[i]->fenced)
            json_array_append_new(fenced, json_pack("{s:s, s:s}", "addr", topo_addr_str(&m->v[i]->addr, a, sizeof(a)),
                                                    "fence_gtid", m->v[i]->fence_gtid ? m->v[i]->fence_gtid : ""));
    }
    for (size_t i = 0; i < rcl->n_pending_fence; i++)
        json_array_append_new(fenced, json_pack("{s:s, s:s}", "addr", rcl->pending_fence[i].addr, "fence_gtid",
                                                rcl->pending_fence[i].gtid ? rcl->pending_fence[i].gtid : ""));
    for (size_t i = 0; i < rcl->n_maint; i++) {
        const rec_maintenance *w = &rcl->maint[i];
        if (!w->until_ms || w->until_ms > now)
            json_array_append_new(maint, json_pack("{s:s, s:s, s:I, s:I}", "instance", w->instance, "reason",
                                                   w->reason, "started_ms", (json_int_t)w->started_ms, "until_ms",
                                                   (json_int_t)w->until_ms));
    }
    r = json_pack("{s:i, s:s, s:s, s:I, s:o, s:o}", "v", 1, "cluster", m->name, "controller",
                  rcl->env->controller ? rcl->env->controller : "", "blocked_until_ms",
                  (json_int_t)rcl->blocked_until_ms, "fenced", fenced, "maintenance", maint);
    if (!r)
        return;
    txt = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    if (txt && strlen(txt) > REC_JOURNAL_MAX - 100) {
        /* Too long with every fence position: keep the addresses, say what was left out. */
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(r, "fenced"), k, f)
            json_object_del(f, "fence_gtid");
        json_object_set_new(r, "omitted", json_pack("[s]", "fence_gtid"));
        free(txt);
        txt = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    }
    /* Unchanged: not written again, but for once every REC_SHARED_REPUT_MS: a put that failed
     * (etcd away for a moment) is not reported back here, and the next holder must still learn
     * of a demoted primary, a block or a window. */
    if (!txt || strlen(txt) > REC_JOURNAL_MAX - 100 ||
        (rcl->shared_last && !strcmp(txt, rcl->shared_last) && clk_mono_ms() - rcl->shared_put_ms < REC_SHARED_REPUT_MS)) {
        free(txt);
        json_decref(r);
        return;
    }
    free(rcl->shared_last);
    rcl->shared_last = txt;
    rcl->shared_put_ms = clk_mono_ms();
    json_object_set_new(r, "updated_ms", json_integer(now));
    txt = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    if (txt)
        rcl->env->state_put(rcl->env->user, rcl->mc, txt);
    free(txt);
}

/* This controller took the lock: respect the shared state the previous holders left. */
static void shared_apply(rec_cluster *rcl, const char *txt)
{
    json_t *r, *v;
    size_t k;
    int64_t now = clk_wall_ms();
    const char *name = rcl->mc->model.name;
    if (!txt)
        return;
    r = strlen(txt) > REC_JOURNAL_MAX ? NULL : json_loads(txt, 0, NULL);
    if (!json_is_object(r)) {
        json_decref(r);
        log_error("cluster %s: the shared state in etcd is not a state record (%zu bytes): ignored", name, strlen(txt));
        return;
    }
    rcl->shared_applying = true;
    if (json_is_integer(json_object_get(r, "updated_ms")))
        rcl->shared_found_ms = (int64_t)json_integer_value(json_object_get(r, "updated_ms"));
    if (json_is_integer(json_object_get(r, "blocked_until_ms"))) {
        /* The holder's block, its acknowledgement (0) included, replaces this controller's own. */
        rcl->blocked_until_ms = (int64_t)json_integer_value(json_object_get(r, "blocked_until_ms"));
        if (rcl->blocked_until_ms <= now)
            rcl->incident_handled = false;
    }
    json_array_foreach(json_object_get(r, "fenced"), k, v) {
        topo_addr a;
        char e[64];
        const char *addr = jstr(v, "addr", TOPO_ADDR_MAX - 1), *g = json_string_value(json_object_get(v, "fence_gtid"));
        topo_instance *in;
        if (!addr || topo_addr_parse(addr, 3306, &a, e, sizeof(e)) < 0)
            continue;
        if (!(in = find(rcl, &a))) {
            demote_addr(rcl, addr, g);
            continue;
        }
        if (in->fenced)
            continue;
        log_warn("cluster %s: %s is a demoted primary (shared state): fenced here too", name, addr);
        mark_demoted(rcl, in, g ? g : "");
    }
    v = json_object_get(r, "maintenance");
    if (json_is_array(v)) {
        /* Windows are merged (the holder's and this controller's own): a window set on a
         * controller that did not hold the lock is not lost when it takes it; an ended one may
         * come back from a stale copy, which holds recovery back rather than letting it act. */
        json_t *w;
        json_array_foreach(v, k, w) {
            const char *inst = jstr(w, "instance", TOPO_ADDR_MAX - 1), *reason = jstr(w, "reason", 255);
            json_t *st = json_object_get(w, "started_ms"), *un = json_object_get(w, "until_ms");
            bool have = false;
            if (!inst || !reason || !json_is_integer(st) || !json_is_integer(un))
                continue;
            for (size_t i = 0; i < rcl->n_maint; i++)
                have = have || !strcmp(rcl->maint[i].instance, inst);
            if (have || !maint_room(rcl))
                continue;
            maint_loaded(rcl, inst, reason, (int64_t)json_integer_value(st), (int64_t)json_integer_value(un));
            if (rcl->env->st)
                audit_check(rcl, store_maintenance_begin(rcl->env->st, name, inst, reason,
                                                         (int64_t)json_integer_value(st),
                                                         (int64_t)json_integer_value(un)),
                            "a maintenance window");
            log_warn("cluster %s: maintenance of %s (shared state): %s", name, inst[0] ? inst : "the cluster", reason);
        }
    }
    rcl->shared_applying = false;
    json_decref(r);
}

/*
 * This controller just took the cluster's lock: the journal the previous holder left
 * (read in the same transaction). An unfinished failover is finished (promoted: the old
 * primary demoted, the replicas repointed by after-care) or rolled back (not promoted:
 * once the candidate is probed, as after a restart, resume_run), never just blocked (no
 * anti-flap from it: orchestrator issue #1296). A finished one hands over its anti-flap
 * block and its demoted primary.
 */
static void handoff(rec_cluster *rcl, const char *txt, int64_t now)
{
    json_t *r;
    const char *state, *kind, *who, *oldp, *newp, *gtid;
    int64_t rid = 0, ended = 0;
    bool promoted, unfinished;
    char who_s[80];

    if (!txt)
        return;
    r = strlen(txt) > REC_JOURNAL_MAX ? NULL : json_loads(txt, 0, NULL);
    if (!json_is_object(r)) {
        json_decref(r);
        log_error("cluster %s: the shared journal in etcd is not a recovery record (%zu bytes): ignored",
                  rcl->mc->model.name, strlen(txt));
        return;
    }
    state = jstr(r, "state", 32);
    kind = jstr(r, "kind", 16);
    who = jstr(r, "controller", 64);
    oldp = jstr(r, "old_primary", TOPO_ADDR_MAX - 1);
    newp = jstr(r, "new_primary", TOPO_ADDR_MAX - 1);
    gtid = json_string_value(json_object_get(r, "promoted_gtid"));
    if (json_is_integer(json_object_get(r, "recovery_id")))
        rid = (int64_t)json_integer_value(json_object_get(r, "recovery_id"));
    if (json_is_integer(json_object_get(r, "ended_ms")))
        ended = (int64_t)json_integer_value(json_object_get(r, "ended_ms"));
    promoted = json_is_true(json_object_get(r, "promoted"));
    if (!state || !kind || !who || !oldp || !newp || rec_op_parse(kind) == REC_OP_NONE ||
        rec_op_parse(kind) == REC_OP_AFTERCARE) {
        log_error("cluster %s: the shared journal in etcd lacks a field (state, kind, controller, old_primary, "
                  "new_primary) or names no operation: ignored", rcl->mc->model.name);
        json_decref(r);
        return;
    }
    snprintf(who_s, sizeof(who_s), "controller %s", who);
    unfinished = !strcmp(state, "running") || !strcmp(state, "stopped");
    log_info("cluster %s: lock taken; the journal holds %s #%lld of %s, %s%s", rcl->mc->model.name, kind,
             (long long)rid, who_s, state, promoted ? " (promoted)" : "");
    {
        /* The lock taken back while this controller's own recovery runs: that recovery is
         * its own (name AND id), not a previous holder's to take over or drop. */
        char why[400];
        handoff_input hi = {.state = state, .controller = who, .recovery_id = rid,
                            .self = rcl->env->controller ? rcl->env->controller : "",
                            .running_here = rcl->exec != NULL, .running_id = rcl->exec ? rcl->recovery_id : 0,
                            .ended_id = rcl->ended_id, .ended_settled = rcl->ended_settled};
        handoff_action act = handoff_judge(&hi, why, sizeof(why));
        if (act == HANDOFF_OWN_RUNNING || act == HANDOFF_WAIT) {
            log_info("cluster %s: %s", rcl->mc->model.name, why);
            free(rcl->handoff_wait);
            rcl->handoff_wait = strdup(txt);
            if (!rcl->handoff_wait)
                log_error("cluster %s: out of memory keeping the journal to judge later: the next holder of the "
                          "lock judges it", rcl->mc->model.name);
            json_decref(r);
            return;
        }
        if (act == HANDOFF_OWN_ENDED) {
            log_info("cluster %s: %s", rcl->mc->model.name, why);
            json_object_set_new(r, "promoted", json_boolean(rcl->ended_promoted));
            journal_settle_record(rcl, r, rcl->ended_state,
                                  "ended on this controller while its lock passed and came back: the outcome "
                                  "recorded here");
            return;
        }
        unfinished = act == HANDOFF_TAKE_OVER;
    }
    if (!unfinished) {
        topo_addr oa, na;
        char e[64];
        int p = rcl->mc->model.primary;
        /* Its anti-flap block, unless the shared state (acknowledgements included) was written
         * after it ended. */
        if (rec_op_parse(kind) == REC_OP_FAILOVER && strcmp(state, "rolled-back") && ended &&
            ended > rcl->shared_found_ms &&
            ended + (int64_t)rcl->cfg->failover_block_s * 1000 > rcl->blocked_until_ms)
            rcl->blocked_until_ms = ended + (int64_t)rcl->cfg->failover_block_s * 1000;
        /* Its demoted primary stays demoted here too, while its new primary is the primary. */
        if (promoted && topo_addr_parse(oldp, 3306, &oa, e, sizeof(e)) == 0 &&
            topo_addr_parse(newp, 3306, &na, e, sizeof(e)) == 0 && p >= 0 &&
            topo_addr_eq(&rcl->mc->model.v[p]->addr, &na)) {
            topo_instance *old = find(rcl, &oa);
            if (!old)
                demote_addr(rcl, oldp, gtid);
            else if (!old->fenced && !(old->have_snap && old->snap.replica.present))
                mark_demoted(rcl, old, gtid ? gtid : "");
        }
        json_decref(r);
        return;
    }
    {
        char err[256], evidence[200];
        int64_t id = 0;
        store_running run;
        store_recovery sr;
        snprintf(evidence, sizeof(evidence), "%s #%lld of %s, %s, taken over with the cluster's lock", kind,
                 (long long)rid, who_s, promoted ? "promoted" : "not promoted");
        sr = (store_recovery){.cluster = rcl->mc->model.name, .kind = kind, .trigger = "handoff",
                              .analysis = "handoff", .evidence = evidence, .old_primary = oldp,
                              .new_primary = newp, .started_ms = now};
        if (rcl->env->st && store_recovery_begin(rcl->env->st, &sr, &id, err, sizeof(err)) < 0)
            log_error("cluster %s: the state database did not record the handoff: %s", rcl->mc->model.name, err);
        if (promoted && rcl->env->st && id)
            audit_check(rcl, store_recovery_promoted(rcl->env->st, id, now, gtid ? gtid : ""),
                        "the promotion of a recovery");
        memset(&run, 0, sizeof(run));
        run.id = id;
        snprintf(run.kind, sizeof(run.kind), "%s", kind);
        snprintf(run.old_primary, sizeof(run.old_primary), "%s", oldp);
        snprintf(run.new_primary, sizeof(run.new_primary), "%s", newp);
        run.promoted = promoted;
        run.new_primary_gtid = gtid ? strdup(gtid) : NULL;
        json_decref(rcl->handoff); /* an earlier handoff not settled yet: this one is newer */
        rcl->handoff = r;          /* settled by rollback_end (journal_settled) */
        if (!resume_run(rcl, &run, now, who_s)) {
            /* Not a failover (or unreadable addresses): nothing this controller can finish. */
            emit(rcl, LOGL_ERROR, "recovery-interrupted", NULL,
                 json_pack("{s:I, s:s, s:s}", "recovery_id", (json_int_t)id, "kind", kind, "controller", who),
                 "%s #%lld of %s was interrupted (%s): it is not resumed; check the topology ('myorch topology')",
                 kind, (long long)rid, who_s, state);
            if (rcl->env->st && id)
                audit_check(rcl, store_recovery_end(rcl->env->st, id, "interrupted", clk_wall_ms(), NULL,
                                                   "interrupted on another controller; not resumed"),
                            "the end of a recovery");
            journal_settled(rcl, "interrupted", "not resumed: only a failover is");
        } else if (rcl->rollback_pending) {
            state_await_rollback_arm(rcl);
        }
    }
}

int rec_cluster_new(rec_env *env, mon_cluster *mc, const cfg_cluster *cfg, rec_cluster **out, char *err,
                    size_t errlen)
{
    int64_t now = clk_wall_ms();
    int n;
    rec_cluster *rcl = calloc(1, sizeof(*rcl));
    *out = rcl;
    if (!rcl) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rcl->env = env;
    rcl->mc = mc;
    rcl->cfg = cfg;
    hooks_gate_init(rcl);
    if (!env->st)
        return 0;
    store_maintenance_load(env->st, mc->model.name, now, maint_loaded, rcl);
    if (env->journal_take) {
        /* Coordinated: what this controller left running is in the shared journal, and
         * whoever takes the lock next (this one again, or another) settles it from there. */
        n = store_recovery_interrupt(env->st, mc->model.name, now);
        if (n > 0)
            log_warn("cluster %s: %d recovery(ies) of this controller left running: the next holder of the "
                     "cluster's lock settles it from the shared journal", mc->model.name, n);
        n = 0;
    } else
        n = resume_interrupted(rcl, now) ? 0 : store_recovery_interrupt(env->st, mc->model.name, now);
    if (n > 0) {
        rcl->blocked_until_ms = now + (int64_t)cfg->failover_block_s * 1000;
        emit(rcl, LOGL_ERROR, "recovery-failed", NULL, NULL,
             "a recovery of cluster %s was interrupted by a controller stop; check the topology ('myorch topology'); "
             "automatic recovery is blocked for %d s unless acknowledged ('myorch ack --cluster %s')",
             mc->model.name, cfg->failover_block_s, mc->model.name);
    } else {
        int64_t last = store_recovery_last_end_ms(env->st, mc->model.name);
        if (last)
            rcl->blocked_until_ms = last + (int64_t)cfg->failover_block_s * 1000;
    }
    return 0;
}

static void handle_msg(rec_cluster *rcl, const exec_msg *m);

/* env->n_running follows rcl->exec / rcl->job: called wherever either changes. */
static void running_update(rec_cluster *rcl)
{
    bool running = rcl->exec || rcl->job;
    if (running != rcl->counted) {
        rcl->counted = running;
        if (running)
            rcl->env->n_running++;
        else
            rcl->env->n_running--;
    }
}

/* An operation's executor (joined), its hook context and its plan, once it has ended. */
static void release_operation(rec_cluster *rcl)
{
    exec_free(rcl->exec);
    rcl->exec = NULL;
    running_update(rcl);
    journal_release(rcl);
    hook_ctx_free(rcl->hook_ctx);
    rcl->hook_ctx = NULL;
    plan_free(&rcl->plan);
}

void rec_cluster_free(rec_cluster *rcl)
{
    if (!rcl)
        return;
    /* Let a running recovery finish: past the point of no return it must not be abandoned. */
    while (rcl->exec) {
        exec_msg m;
        int r = exec_read(rcl->exec, &m);
        if (r == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (r < 0)
            break;
        handle_msg(rcl, &m); /* every message counts (the audit, the DONE); may free rcl->exec */
        exec_msg_clear(&m);
    }
    if (rcl->job) {
        exec_free(rcl->job);
        rcl->job = NULL;
    }
    plan_free(&rcl->job_plan);
    release_operation(rcl); /* running_update: uncounted */
    free(rcl->promoted_gtid);
    rcl->promoted_gtid = NULL;
    free(rcl->last_error);
    rcl->last_error = NULL;
    json_decref(rcl->handoff);
    free(rcl->handoff_wait);
    free(rcl->shared_last);
    for (size_t i = 0; i < rcl->n_pending_fence; i++)
        free(rcl->pending_fence[i].gtid);
    free(rcl->pending_fence);
    free(rcl->maint);
    pthread_cond_destroy(&rcl->hooks_idle);
    pthread_mutex_destroy(&rcl->hooks_mu);
    free(rcl);
}

mon_cluster *rec_cluster_mon(const rec_cluster *rcl)
{
    return rcl->mc;
}

const cfg_cluster *rec_cluster_cfg(const rec_cluster *rcl)
{
    return rcl->cfg;
}

ana_code rec_cluster_analysis(const rec_cluster *rcl)
{
    return rcl->last.code;
}

bool rec_cluster_planned(const rec_cluster *rcl, rec_planned_block *out)
{
    if (!rcl->planned_from_ms)
        return false;
    *out = (rec_planned_block){.from_ms = rcl->planned_from_ms, .to_ms = rcl->planned_to_ms,
                               .primary = rcl->planned_primary};
    return true;
}

void rec_cluster_planned_clear(rec_cluster *rcl)
{
    rcl->planned_from_ms = rcl->planned_to_ms = 0;
}

static void creds_of(rec_cluster *rcl, exec_creds *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->user, sizeof(c->user), "%s", rcl->cfg->user);
    c->password = rcl->cfg->password;
    snprintf(c->repl_user, sizeof(c->repl_user), "%s", rcl->cfg->replication_user);
    c->repl_password = rcl->cfg->replication_password;
    c->connect_timeout_ms = rcl->env->connect_timeout_ms;
    cfg_cluster_conn(rcl->cfg, &c->conn.p);
    cfg_cluster_repl_ssl(rcl->cfg, &c->repl_ssl);
    c->heartbeat_period_ms = rcl->cfg->heartbeat_period_ms;
}

/*
 * Issue 18: since when the primary owes the controller an answer, once that is
 * longer than a LAN probe ever takes: one heartbeat period, or 4 x its last
 * round trip on a slow link. 0: it answers. This alone decides nothing (the
 * replicas' stall must confirm, analysis.h); it starts fast probing.
 */
static int64_t primary_waiting_since(const rec_cluster *rcl, const topo_instance *p, int64_t now_mono)
{
    int64_t since, bound;

    if (!p || !p->reachable || !p->probe || p->fenced || !rcl->env->loop.waiting_since)
        return 0;
    since = rcl->env->loop.waiting_since(rcl->env->user, p);
    bound = rcl->cfg->heartbeat_period_ms;
    if (p->have_snap && 4 * p->snap.probe_latency_ms > bound)
        bound = 4 * p->snap.probe_latency_ms;
    if (since <= 0 || now_mono - since <= bound)
        return 0;
    /* Its answer is on the socket, only not read yet (a busy controller: at 10,000 servers
     * about 7 primaries a second were suspected so, each cluster probed fast for nothing). */
    if (rcl->env->loop.answer_arrived && rcl->env->loop.answer_arrived(rcl->env->user, p))
        return 0;
    return since;
}

/* Replicas whose heartbeat period is too long for the detection budget: reported once each. */
static void report_heartbeats(rec_cluster *rcl, int primary)
{
    const topo_cluster *m = &rcl->mc->model;
    long long want = rcl->cfg->heartbeat_period_ms;

    if (primary < 0 || rcl->cfg->stall_periods <= 0)
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
                emit(rcl, LOGL_WARN, "heartbeat-period-too-long", r,
                     json_pack("{s:I, s:I}", "heartbeat_period_ms", (json_int_t)hb, "wanted_ms", (json_int_t)want),
                     "replica %s has heartbeats off (MASTER_HEARTBEAT_PERIOD=0): a hung primary is seen on it only "
                     "at its net timeout; repoint it with MASTER_HEARTBEAT_PERIOD=%.3f (myorch does at the next "
                     "failover or switchover)",
                     a, want / 1000.0);
            else
                emit(rcl, LOGL_WARN, "heartbeat-period-too-long", r,
                     json_pack("{s:I, s:I}", "heartbeat_period_ms", (json_int_t)hb, "wanted_ms", (json_int_t)want),
                     "replica %s has a heartbeat period of %lld ms, longer than heartbeat_period_ms = %lld: it shows a "
                     "hung primary after %lld ms instead of %lld (stall_periods = %d); repoint it with "
                     "MASTER_HEARTBEAT_PERIOD=%.3f (myorch does at the next failover or switchover)",
                     a, hb, want, hb * rcl->cfg->stall_periods, want * rcl->cfg->stall_periods,
                     rcl->cfg->stall_periods, want / 1000.0);
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
static void record_refusal(rec_cluster *rcl, const char *why, int64_t now)
{
    char old[TOPO_ADDR_MAX] = "";
    int64_t id = 0;
    char err[256];
    topo_instance *p = rcl->last.primary >= 0 ? rcl->mc->model.v[rcl->last.primary] : NULL;
    store_recovery r = {.cluster = rcl->mc->model.name, .kind = rec_op_name(REC_OP_FAILOVER), .trigger = "auto",
                        .analysis = ana_code_name(rcl->last.code), .evidence = rcl->last.evidence,
                        .primary_lost_ms = rcl->primary_lost_ms, .detected_ms = rcl->detected_ms,
                        .started_ms = now};
    if (p)
        r.old_primary = topo_addr_str(&p->addr, old, sizeof(old));
    if (rcl->env->st && store_recovery_begin(rcl->env->st, &r, &id, err, sizeof(err)) == 0)
        audit_check(rcl, store_recovery_end(rcl->env->st, id, "failed", now, NULL, why), "the end of a recovery");
    rcl->blocked_until_ms = now + (int64_t)rcl->cfg->failover_block_s * 1000;
    shared_put(rcl);
}

/* ---- the asynchronous hooks' gate ------------------------------------------------- */

static void hooks_gate_init(rec_cluster *rcl)
{
    pthread_condattr_t a;
    pthread_mutex_init(&rcl->hooks_mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&rcl->hooks_idle, &a);
    pthread_condattr_destroy(&a);
}

void rec_cluster_hook_started(rec_cluster *rcl)
{
    pthread_mutex_lock(&rcl->hooks_mu);
    rcl->async_hooks_running++;
    pthread_mutex_unlock(&rcl->hooks_mu);
}

void rec_cluster_hook_ended(rec_cluster *rcl)
{
    pthread_mutex_lock(&rcl->hooks_mu);
    if (rcl->async_hooks_running > 0 && --rcl->async_hooks_running == 0)
        pthread_cond_broadcast(&rcl->hooks_idle);
    pthread_mutex_unlock(&rcl->hooks_mu);
}

void rec_cluster_hooks_reset(rec_cluster *rcl)
{
    pthread_mutex_lock(&rcl->hooks_mu);
    rcl->async_hooks_running = 0;
    pthread_cond_broadcast(&rcl->hooks_idle);
    pthread_mutex_unlock(&rcl->hooks_mu);
}

/* Worker thread: wait until no asynchronous hook of the cluster runs, at most timeout_ms. */
static void hooks_wait_idle(rec_cluster *rcl, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rcl->hooks_mu);
    while (rcl->async_hooks_running > 0)
        if (pthread_cond_timedwait(&rcl->hooks_idle, &rcl->hooks_mu, &dl) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&rcl->hooks_mu);
}

bool rec_cluster_running(const rec_cluster *rcl)
{
    return rcl->exec != NULL;
}

/* What a configuration reload must wait for (NULL: nothing): the running operation, an
 * after-care job, an interrupted failover's rollback, a switchover's write block not yet
 * recorded, or a hook of this cluster. *recovery_id: the running operation's id, or 0. */
const char *rec_cluster_busy(const rec_cluster *rcl, int64_t *recovery_id)
{
    *recovery_id = rcl->exec ? rcl->recovery_id : 0;
    return rcl->exec ? rec_op_name(rcl->op)
           : rcl->job ? "after-care job"
           : rcl->rollback_pending ? "interrupted failover's rollback"
           : rcl->planned_from_ms ? "switchover's write block"
           : rcl->async_hooks_running ? "hook" : NULL;
}

const rec_env *rec_cluster_env(const rec_cluster *rcl)
{
    return rcl->env;
}

const ana_result *rec_cluster_last(const rec_cluster *rcl)
{
    return &rcl->last;
}

int64_t rec_cluster_blocked_until_ms(const rec_cluster *rcl)
{
    return rcl->blocked_until_ms;
}

int64_t rec_cluster_running_id(const rec_cluster *rcl, const char **kind)
{
    if (kind)
        *kind = rcl->exec ? rec_op_name(rcl->op) : NULL;
    return rcl->exec ? rcl->recovery_id : 0;
}

bool rec_cluster_blocked(const rec_cluster *rcl, int64_t now_wall_ms)
{
    return rcl->blocked_until_ms > now_wall_ms;
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
    rec_cluster *rcl;              /* only for its hooks gate (hooks_mu / hooks_idle): outlives the worker */
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

static rec_hook_ctx *hook_ctx_new(rec_cluster *rcl, const plan_spec *p)
{
    rec_hook_ctx *h = calloc(1, sizeof(*h));
    topo_cluster *c = &rcl->mc->model;
    if (!h)
        return NULL;
    snprintf(h->cluster, sizeof(h->cluster), "%s", c->name);
    topo_addr_str(&p->old_primary.addr, h->old_primary, sizeof(h->old_primary));
    topo_addr_str(&p->new_primary.addr, h->new_primary, sizeof(h->new_primary));
    h->kind = kind_of(p->old_primary.flavor);
    h->recovery_id = (uint64_t)rcl->recovery_id;
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
        h->cmds[k] = rcl->cfg->hooks[k];
        h->n_cmds[k] = rcl->cfg->n_hooks[k];
    }
    h->timeout_ms = rcl->cfg->hook_timeout_ms;
    h->rcl = rcl;
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
    hooks_wait_idle(h->rcl, h->timeout_ms);
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
 * Start the plan in rcl->plan: audit row (the per-cluster lock), events, the
 * worker. On failure the plan is freed and err says why.
 */
static int launch(rec_cluster *rcl, const char *trigger, int64_t now, char *err, size_t errlen)
{
    mon_cluster *mc = rcl->mc;
    exec_creds creds;
    char old[TOPO_ADDR_MAX], neu[TOPO_ADDR_MAX];
    char *plan_txt;
    json_t *plan_json;
    store_recovery r;
    bool failover = rcl->plan.op == REC_OP_FAILOVER;

    topo_addr_str(&rcl->plan.old_primary.addr, old, sizeof(old));
    topo_addr_str(&rcl->plan.new_primary.addr, neu, sizeof(neu));
    plan_json = plan_to_json(&rcl->plan);
    plan_txt = json_dumps(plan_json, JSON_COMPACT);
    r = (store_recovery){.cluster = mc->model.name, .kind = rcl->plan.kind, .trigger = trigger,
                         .analysis = rcl->launch_analysis ? rcl->launch_analysis : ana_code_name(rcl->last.code),
                         .evidence = rcl->launch_evidence ? rcl->launch_evidence : rcl->last.evidence,
                         .old_primary = old, .new_primary = neu,
                         .primary_lost_ms = failover ? rcl->primary_lost_ms : 0,
                         .detected_ms = failover ? rcl->detected_ms : 0, .started_ms = now, .plan_json = plan_txt,
                         .old_primary_gtid = rcl->plan.old_primary_gtid};
    if (rcl->env->st && store_recovery_begin(rcl->env->st, &r, &rcl->recovery_id, err, errlen) < 0) {
        free(plan_txt);
        json_decref(plan_json);
        plan_free(&rcl->plan);
        return -EBUSY;
    }
    if (journal_start(rcl, trigger, plan_txt, now, err, errlen) < 0) {
        free(plan_txt);
        json_decref(plan_json);
        if (rcl->env->st)
            audit_check(rcl, store_recovery_end(rcl->env->st, rcl->recovery_id, "failed", clk_wall_ms(), NULL, err),
                        "the end of a recovery");
        plan_free(&rcl->plan);
        return -EPERM;
    }
    free(plan_txt);
    rcl->op = rcl->plan.op;
    rcl->manual = strcmp(trigger, "manual") == 0;
    emit(rcl, LOGL_WARN, "recovery-started", NULL,
         json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "recovery_id", (json_int_t)rcl->recovery_id, "kind",
                   rcl->plan.kind, "trigger", trigger, "old_primary", old, "new_primary", neu, "plan", plan_json),
         "%s #%lld (%s): %s → %s%s%s", rcl->plan.kind, (long long)rcl->recovery_id, trigger, old, neu,
         failover ? "; " : "", failover ? ana_code_name(rcl->last.code) : "");
    log_plan(&rcl->plan);
    if (rcl->plan.op != REC_OP_RELOCATE && rcl->plan.op != REC_OP_INTERMEDIATE)
        emit(rcl, LOGL_INFO, "candidate-selected", find(rcl, &rcl->plan.new_primary.addr),
             json_pack("{s:I, s:s?}", "recovery_id", (json_int_t)rcl->recovery_id, "excluded", rcl->plan.excluded),
             "%s chosen: %s", neu, rcl->plan.reason);
    rcl->promoted = false;
    free(rcl->promoted_gtid);
    rcl->promoted_gtid = NULL;
    free(rcl->last_error);
    rcl->last_error = NULL;
    rcl->demote_started_ms = rcl->writes_refused_ms = 0;
    rcl->hooks_failed = rcl->vetoed = rcl->old_rejoined = false;
    hook_ctx_free(rcl->hook_ctx);
    rcl->hook_ctx = hook_ctx_new(rcl, &rcl->plan);
    rcl->hook_iface = (exec_hooks){.run = rcl->hook_ctx ? run_hook_step : NULL, .user = rcl->hook_ctx,
                                   .journal = rcl->jctx ? journal_note : NULL, .journal_user = rcl->jctx};
    creds_of(rcl, &creds);
    if (exec_start(&rcl->plan, &creds, rcl->hook_ctx || rcl->jctx ? &rcl->hook_iface : NULL, &rcl->exec, err,
                   errlen) < 0) {
        journal_release(rcl);
        if (rcl->env->st)
            audit_check(rcl, store_recovery_end(rcl->env->st, rcl->recovery_id, "failed", clk_wall_ms(), NULL, err), "the end of a recovery");
        plan_free(&rcl->plan);
        return -EAGAIN;
    }
    running_update(rcl);
    return 0;
}

/* The servers in a maintenance window now (an expired window no longer counts), at most max into out. */
static size_t maint_servers(const rec_cluster *rcl, int64_t now_wall_ms, topo_addr *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < rcl->n_maint && n < max; i++) {
        char e[64];
        const rec_maintenance *w = &rcl->maint[i];
        if (w->instance[0] && (!w->until_ms || w->until_ms > now_wall_ms) &&
            topo_addr_parse(w->instance, 3306, &out[n], e, sizeof(e)) == 0)
            n++;
    }
    return n;
}

cand_opts rec_cluster_candidate_opts(const rec_cluster *rcl, topo_addr *never, size_t cap, const topo_addr *target)
{
    /* never_promote from the config plus replicas in a maintenance window now. */
    size_t n = 0;
    for (size_t i = 0; i < rcl->cfg->n_never_promote && n < cap; i++)
        never[n++] = rcl->cfg->never_promote[i];
    n += maint_servers(rcl, clk_wall_ms(), never + n, cap - n);
    return (cand_opts){.never_promote = never, .n_never_promote = n, .prefer = rcl->cfg->prefer,
                                .n_prefer = rcl->cfg->n_prefer, .target = target};
}

static plan_options plan_opts(const rec_cluster *rcl, int apply_timeout_ms)
{
    return (plan_options){.apply_timeout_ms = apply_timeout_ms > 0 ? apply_timeout_ms : rcl->cfg->apply_timeout_ms,
                           .max_trx_s = rcl->cfg->switchover_max_trx_s, .verify_timeout_ms = 5000,
                           .fence_timeout_ms = 1000};
}

/* Put the configured hook points into a plan. */
static int add_hooks(rec_cluster *rcl, plan_spec *p)
{
    const cfg_cluster *cfg = rcl->cfg;
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
 * launch (rcl->launch_error says why): the caller retries. */
static int start_recovery(rec_cluster *rcl, int64_t now)
{
    mon_cluster *mc = rcl->mc;
    cand_ranking rank;
    topo_addr never[64];
    cand_opts co = rec_cluster_candidate_opts(rcl, never, 64, NULL);
    plan_options po = plan_opts(rcl, 0);
    char err[512];
    int rc_;

    memset(&rank, 0, sizeof(rank));
    if (cand_rank(&mc->model, rcl->last.primary, &co, &rank, err, sizeof(err)) < 0) {
        emit(rcl, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot rank candidates: %s", err);
        snprintf(rcl->launch_error, sizeof(rcl->launch_error), "cannot rank candidates: %s", err);
        return -EINVAL;
    }
    if (rank.chosen < 0) {
        emit(rcl, LOGL_ERROR, "recovery-failed", NULL, json_pack("{s:s}", "analysis", ana_code_name(rcl->last.code)),
             "primary dead but no replica can be promoted: %s", rank.reason);
        record_refusal(rcl, rank.reason, now);
        cand_ranking_free(&rank);
        return 0;
    }
    rc_ = plan_failover(&mc->model, rcl->last.primary, &rank, &po, &rcl->plan, err, sizeof(err));
    cand_ranking_free(&rank);
    if (rc_ < 0 || add_hooks(rcl, &rcl->plan) < 0) {
        emit(rcl, LOGL_ERROR, "recovery-failed", NULL, NULL, "cannot plan the failover: %s", rc_ < 0 ? err : "out of memory");
        record_refusal(rcl, err, now);
        plan_free(&rcl->plan);
        return 0;
    }
    if ((rc_ = launch(rcl, "auto", now, err, sizeof(err))) < 0) {
        snprintf(rcl->launch_error, sizeof(rcl->launch_error), "%s", err);
        return rc_;
    }
    return 0;
}

static bool rc_maint_blocks(const rec_cluster *rcl)
{
    const topo_instance *p = rcl->last.primary >= 0 ? rcl->mc->model.v[rcl->last.primary] : NULL;
    return rec_cluster_in_maintenance(rcl, NULL) || (p && rec_cluster_in_maintenance(rcl, &p->addr));
}

/* Report what holds a confirmed failure back, once per reason (see state_blocked). */
static void report_hold(rec_cluster *rcl, rec_hold why, int64_t now)
{
    if (rcl->hold == why)
        return;
    rcl->hold = why;
    switch (why) {
    case REC_HOLD_NONE:
        break;
    case REC_HOLD_AUTO_OFF:
        emit(rcl, LOGL_ERROR, "recovery-skipped", NULL, NULL,
             "%s, but auto_failover = no: not acting (run 'myorch failover --cluster %s' to recover by hand)",
             ana_code_name(rcl->last.code), rcl->mc->model.name);
        break;
    case REC_HOLD_MAINTENANCE:
        emit(rcl, LOGL_ERROR, "recovery-skipped", NULL, NULL,
             "%s, but the cluster (or its primary) is under maintenance: not acting until the window ends "
             "('myorch maintenance end' ends it now)", ana_code_name(rcl->last.code));
        rcl->maint_reported = true;
        break;
    case REC_HOLD_BLOCKED:
        emit(rcl, LOGL_ERROR, "recovery-blocked", NULL,
             json_pack("{s:I}", "blocked_for_ms", (json_int_t)(rcl->blocked_until_ms - now)),
             "%s, but a recovery ran less than failover_block_s=%d s ago: not acting for another %lld s "
             "(acknowledge with 'myorch ack --cluster %s' to allow it now)",
             ana_code_name(rcl->last.code), rcl->cfg->failover_block_s,
             (long long)((rcl->blocked_until_ms - now + 999) / 1000), rcl->mc->model.name);
        break;
    }
}

/* ---- the recovery state machine (rec_state.h) ------------------------------------ */

/* The interrupted failover's candidate did not answer in time: judge the failure without it. */
static void rollback_give_up(rec_cluster *rcl)
{
    if (!rcl->rollback_pending)
        return;
    emit(rcl, LOGL_WARN, "recovery-rollback", NULL, NULL,
         "the candidate of interrupted %s #%lld did not answer within 15 s: judging the failure "
         "without it%s", rcl->rollback_undemote ? "switchover" : "failover", (long long)rcl->rollback_id,
         rcl->rollback_undemote ? " (the old primary stays read-only: whether the target took writes is unknown; "
                                  "check the topology)" : "");
    rcl->rollback_undemote = false;
    rollback_end(rcl, "rolled-back", "the controller stopped before the point of no return; the candidate "
                                    "did not answer after the restart");
}

/* What rec_state_decide() needs, gathered from the cluster, the clocks and the windows. */
static rec_state_input state_input(rec_cluster *rcl, const rec_turn *t)
{
    return (rec_state_input){
        .executing = rcl->exec != NULL,
        .code = rcl->last.code,
        .incident_handled = rcl->incident_handled,
        .rollback_pending = rcl->rollback_pending,
        .rollback_expired = rcl->rollback_until_ms && t->mono_ms >= rcl->rollback_until_ms,
        .auto_failover = rcl->cfg->auto_failover,
        .in_maintenance = rc_maint_blocks(rcl),
        .anti_flap = t->wall_ms < rcl->blocked_until_ms,
        .retry_wait = t->wall_ms < rcl->retry_at_ms,
    };
}

/* Decide the state for this turn; log and emit a transition. Returns the verdict. */
static rec_state_verdict settle_state(rec_cluster *rcl, const rec_turn *t)
{
    rec_state_input in = state_input(rcl, t);
    rec_state_verdict v = rec_state_decide(&in);
    if (v.state != rcl->state) {
        const char *from = rec_state_name(rcl->state), *to = rec_state_name(v.state);
        log_info("cluster %s: recovery state %s -> %s: %s", rcl->mc->model.name, from, to, v.why);
        emit(rcl, LOGL_DEBUG, "recovery-state", NULL, json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "why", v.why),
             "%s -> %s: %s", from, to, v.why);
        rcl->state = v.state;
    }
    return v;
}

/* await-rollback: wait (bounded) for the interrupted failover's candidate to replicate again. */
static void state_await_rollback(rec_cluster *rcl, const rec_turn *t)
{
    if (!rcl->rollback_until_ms)
        rcl->rollback_until_ms = t->mono_ms + 15000;
}

/* A handoff's rollback: the candidate gets its 15 s from now (the next turn arms it). */
static void state_await_rollback_arm(rec_cluster *rcl)
{
    rcl->rollback_until_ms = 0;
}

/* blocked: report what holds the confirmed failure back, once per reason; re-evaluated every
 * turn, so the failover starts the moment it goes away (window over, block expired or
 * acknowledged). A launch retry waits silently (its failure was reported). */
static void state_blocked(rec_cluster *rcl, const rec_turn *t, rec_hold hold)
{
    rollback_give_up(rcl);
    if (hold != REC_HOLD_NONE)
        report_hold(rcl, hold, t->wall_ms);
}

/* confirmed: start the failover. One that could not be launched (e.g. the state database
 * cannot commit) is retried with backoff. */
static void state_confirmed(rec_cluster *rcl, const rec_turn *t)
{
    int64_t now = t->wall_ms;
    rollback_give_up(rcl);
    /* COORDINATION GATE (issue 14): the single place where controller coordination decides
     * whether this controller starts an automatic recovery (cluster lock + detection
     * quorum, orchestrator/ha/ha.c). Re-asked every turn until it allows. */
    if (rcl->env->may_act) {
        char why[300];
        if (!rcl->env->may_act(rcl->env->user, rcl->mc, &rcl->last, why, sizeof(why)))
            return;
    }
    rcl->hold = REC_HOLD_NONE;
    switch (start_recovery(rcl, now)) {
    case 0: /* launched, or refused and recorded (the refusal's block holds it from now on) */
        rcl->incident_handled = true;
        rcl->launch_failures = 0;
        rcl->retry_at_ms = 0;
        break;
    default: { /* could not launch: try again, 1 s, 2 s, 4 s ... 30 s later */
        int64_t delay = 1000;
        for (unsigned k = 0; k < rcl->launch_failures && delay < 30000; k++)
            delay *= 2;
        if (delay > 30000)
            delay = 30000;
        rcl->launch_failures++;
        rcl->retry_at_ms = now + delay;
        emit(rcl, LOGL_ERROR, "recovery-failed", NULL, json_pack("{s:I}", "retry_in_ms", (json_int_t)delay),
             "the failover could not be started (attempt %u): %s; trying again in %lld ms", rcl->launch_failures,
             rcl->launch_error, (long long)delay);
        break;
    }
    }
}

/* One turn of the machine: the state's own work, then the state it leads to. idle,
 * suspect, executing and handled have none (observe() keeps their bookkeeping). */
static void run_state(rec_cluster *rcl, const rec_turn *t)
{
    rec_state_verdict v = settle_state(rcl, t);
    switch (v.state) {
    case REC_STATE_AWAIT_ROLLBACK:
        state_await_rollback(rcl, t);
        break;
    case REC_STATE_BLOCKED:
        state_blocked(rcl, t, v.hold);
        break;
    case REC_STATE_CONFIRMED:
        state_confirmed(rcl, t);
        break;
    case REC_STATE_IDLE:
    case REC_STATE_SUSPECT:
    case REC_STATE_EXECUTING:
    case REC_STATE_HANDLED:
    case REC_STATE__COUNT:
        return;
    }
    settle_state(rcl, t);
}

/*
 * A dead intermediate primary (intermediate.h): report it once per incident
 * ("intermediate-dead", and "replica-lost" for replicas with no safe place) and,
 * unless auto_failover = no or a maintenance window holds it, move its replicas
 * below its source as an audited recovery of kind "intermediate" (no hooks of a
 * primary failover: the primary does not change; on_topology_change follows).
 */
static void intermediate_tick(rec_cluster *rcl, int64_t now)
{
    imd_analysis ia;
    plan_options po = plan_opts(rcl, 0);
    char err[512], da[TOPO_ADDR_MAX];
    const topo_instance *dead;

    if (imd_analyze(&rcl->mc->model, &ia, err, sizeof(err)) < 0)
        return;
    if (ia.code != IMD_DEAD) {
        if (ia.code == IMD_NONE) {
            rcl->imd_reported[0] = '\0';
            rcl->imd_handled = false;
        }
        goto out;
    }
    dead = rcl->mc->model.v[ia.dead];
    topo_addr_str(&dead->addr, da, sizeof(da));
    if (strcmp(rcl->imd_reported, da) != 0) {
        snprintf(rcl->imd_reported, sizeof(rcl->imd_reported), "%s", da);
        rcl->imd_handled = false;
        emit(rcl, LOGL_ERROR, "intermediate-dead", dead,
             json_pack("{s:I, s:s?}", "movable", (json_int_t)ia.n_movable, "lost", ia.lost), "%s", ia.evidence);
        if (ia.lost)
            emit(rcl, LOGL_ERROR, "replica-lost", NULL, json_pack("{s:s, s:s}", "intermediate", da, "why", ia.lost),
                 "replicas of the dead intermediate primary %s left where they are: %s", da, ia.lost);
    }
    if (rcl->imd_handled || !ia.n_movable || ia.new_source < 0 || rcl->exec || !rcl->cfg->auto_failover ||
        rec_cluster_in_maintenance(rcl, NULL) || rec_cluster_in_maintenance(rcl, &dead->addr))
        goto out;
    if (rcl->env->holds_lock && !rcl->env->holds_lock(rcl->env->user, rcl->mc))
        goto out; /* coordinated: the lock holder moves them */
    rcl->imd_handled = true;
    if (plan_intermediate(&rcl->mc->model, ia.dead, ia.new_source, ia.movable, ia.n_movable, &po, &rcl->plan, err,
                              sizeof(err)) < 0) {
        emit(rcl, LOGL_ERROR, "recovery-failed", dead, NULL, "cannot plan moving the replicas of %s: %s", da, err);
        goto out;
    }
    rcl->launch_analysis = "dead-intermediate-primary";
    rcl->launch_evidence = ia.evidence;
    if (launch(rcl, "auto", now, err, sizeof(err)) < 0) {
        emit(rcl, LOGL_ERROR, "recovery-failed", dead, NULL, "cannot start moving the replicas of %s: %s", da, err);
        rcl->imd_handled = false; /* tried again next turn */
    }
    rcl->launch_analysis = rcl->launch_evidence = NULL;
out:
    imd_analysis_free(&ia);
}

/* ---- after-care: one job at a time on a demoted primary or a stray replica ---------- */

/* Start the one-step job d decided for in (aftercare.h). */
static void aftercare_start_step(rec_cluster *rcl, const rec_turn *t, topo_instance *in, const aftercare_decision *d,
                                plan_step_kind kind);

static void aftercare_start(rec_cluster *rcl, const rec_turn *t, topo_instance *in, const aftercare_decision *d)
{
    aftercare_start_step(rcl, t, in, d,
                         d->action == AFTERCARE_FENCE    ? PLAN_STEP_FENCE
                         : d->action == AFTERCARE_REJOIN ? PLAN_STEP_REJOIN
                                                         : PLAN_STEP_REPOINT);
}

/* Start a one-step job of kind on in (after-care, or a rolled back switchover's undemote). */
static void aftercare_start_step(rec_cluster *rcl, const rec_turn *t, topo_instance *in, const aftercare_decision *d,
                                plan_step_kind kind)
{
    mon_cluster *mc = rcl->mc;
    topo_instance *source = d->source >= 0 ? mc->model.v[d->source] : NULL;
    exec_creds creds;
    char a1[TOPO_ADDR_MAX], err[256];

    if (d->hung)
        rcl->hung_fence_next_ms = t->mono_ms + 5000;
    if (plan_single(mc->model.name, rec_op_name(REC_OP_AFTERCARE), kind, in, kind == PLAN_STEP_FENCE ? NULL : source,
                        5000, &rcl->job_plan, err, sizeof(err)) < 0)
        return;
    creds_of(rcl, &creds);
    emit(rcl, LOGL_WARN, "after-care", in, json_pack("{s:s}", "step", plan_step_name(kind)), "%s: %s",
         topo_addr_str(&in->addr, a1, sizeof(a1)), d->why);
    if (exec_start(&rcl->job_plan, &creds, NULL, &rcl->job, err, sizeof(err)) < 0) {
        emit(rcl, LOGL_ERROR, "after-care", in, NULL, "cannot start: %s", err);
        plan_free(&rcl->job_plan);
        rcl->job_next_ms = t->mono_ms + 5000;
    }
    running_update(rcl);
}

/* Report a server that cannot follow the new primary, once per server in a row. */
static void aftercare_report(rec_cluster *rcl, topo_instance *in, const topo_instance *np, const aftercare_decision *d)
{
    char a1[TOPO_ADDR_MAX], a2[TOPO_ADDR_MAX];
    if (!strcmp(rcl->diverged_reported, topo_addr_str(&in->addr, a1, sizeof(a1))))
        return;
    snprintf(rcl->diverged_reported, sizeof(rcl->diverged_reported), "%s", a1);
    if (d->action == AFTERCARE_DIVERGED)
        emit(rcl, LOGL_ERROR, "primary-diverged", in, json_pack("{s:s}", "extra_gtids", d->extra),
             "%s, the demoted primary, has transactions the new primary %s lacks: %s; it stays "
             "read-only and out of the cluster until an operator reconciles it",
             a1, topo_addr_str(&np->addr, a2, sizeof(a2)), d->extra);
    else
        emit(rcl, LOGL_ERROR, "replica-lost", in, json_pack("{s:s}", "extra_gtids", d->extra),
             "%s cannot follow the new primary: it has transactions %s lacks: %s", a1,
             topo_addr_str(&np->addr, a2, sizeof(a2)), d->extra);
}

/* A demoted primary replicates from the new one: it is a plain replica again. */
static void aftercare_rejoined(rec_cluster *rcl, topo_instance *in, const topo_instance *np)
{
    char a1[TOPO_ADDR_MAX], a2[TOPO_ADDR_MAX];
    in->fenced = false;
    free(in->fence_gtid);
    in->fence_gtid = NULL;
    persist(rcl, in);
    mon_mark_dirty(rcl->mc);
    rcl->mc->version++;
    shared_put(rcl);
    emit(rcl, LOGL_INFO, "primary-rejoined", in, NULL, "%s, the demoted primary, now replicates from %s",
         topo_addr_str(&in->addr, a1, sizeof(a1)), topo_addr_str(&np->addr, a2, sizeof(a2)));
}

/* After-care of demoted primaries and replicas left behind: decide per server (pure,
 * aftercare_decide), act on the first that needs a job. */
static void aftercare_tick(rec_cluster *rcl, const rec_turn *t)
{
    topo_cluster *m = &rcl->mc->model;
    int np = m->primary;
    aftercare_input ai;

    if (np >= 0 && (!m->v[np]->reachable || m->v[np]->snap.read_only || m->v[np]->fenced))
        np = -1;
    if (rcl->undemote_due) {
        /* A switchover taken over and rolled back: its old primary, demoted, gets its writes back. */
        topo_instance *old = find(rcl, &rcl->rollback_source);
        rcl->undemote_due = false;
        if (old && old->reachable && old->have_snap && old->snap.read_only && !old->fenced) {
            aftercare_decision d = {.action = AFTERCARE_FENCE, .source = -1,
                                    .why = "the switchover taken over was rolled back: writable again"};
            aftercare_start_step(rcl, t, old, &d, PLAN_STEP_UNDEMOTE);
            return;
        }
    }
    ai = (aftercare_input){.model = m, .primary = np, .fresh_after_ms = rcl->aftercare_from_ms,
                           .hung_fence_due = t->mono_ms >= rcl->hung_fence_next_ms,
                           .rollback_cand = rcl->rollback_pending ? &rcl->rollback_cand : NULL,
                           .rollback_source = &rcl->rollback_source};
    for (size_t i = 0; i < m->n && !rcl->job; i++) {
        topo_instance *in = m->v[i];
        aftercare_decision d;
        aftercare_decide(&ai, i, &d);
        if (d.action == AFTERCARE_ROLLED_BACK || d.action == AFTERCARE_ROLLBACK_FINISH) {
            /* The interruption is settled: then judged as any other server. */
            if (d.action == AFTERCARE_ROLLED_BACK)
                rollback_rolled_back(rcl, in);
            else
                rollback_finish(rcl, in);
            ai.rollback_cand = NULL;
            aftercare_decide(&ai, i, &d);
        }
        switch (d.action) {
        case AFTERCARE_FENCE:
        case AFTERCARE_REJOIN:
        case AFTERCARE_REPOINT:
            aftercare_start(rcl, t, in, &d);
            break;
        case AFTERCARE_REJOINED:
            aftercare_rejoined(rcl, in, m->v[np]);
            break;
        case AFTERCARE_DIVERGED:
        case AFTERCARE_REPLICA_LOST:
            aftercare_report(rcl, in, m->v[np], &d);
            break;
        default:
            break;
        }
        aftercare_decision_free(&d);
    }
}

/* ---- one loop turn --------------------------------------------------------------- */

/* The analysis-changed family of events: name and level for a new analysis. */
static void report_analysis(rec_cluster *rcl, const ana_result *a, const topo_instance *p)
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
    emit(rcl, level, name, p, json_pack("{s:s, s:s}", "analysis", ana_code_name(a->code), "previous",
                                       ana_code_name(rcl->last.code)),
         "%s: %s", ana_code_name(a->code), a->evidence);
}

/* Track when the primary was lost, and probe the replicas fast meanwhile. */
static void track_primary(rec_cluster *rcl, const rec_turn *t, const topo_instance *p, int64_t waiting_since)
{
    if (p && ((!p->reachable && p->probed) || waiting_since) && !p->fenced) {
        if (!rcl->primary_lost_ms) {
            /* Just lost: ask every replica now, then keep asking fast for a while. */
            int64_t since = p->reachable ? waiting_since : p->down_since_ms;
            rcl->primary_lost_ms = t->wall_ms - (since ? t->mono_ms - since : 0);
            if (!rcl->exec)
                set_fast(rcl, true, t->mono_ms);
        }
    } else {
        rcl->primary_lost_ms = 0;
    }
    if (rcl->fast && (t->mono_ms > rcl->fast_until_ms || !p || (p->reachable && !waiting_since)))
        set_fast(rcl, false, t->mono_ms);
}

/* What the analysis is given, for the loop's turn and for an operator's request alike. */
static ana_input analysis_input(const rec_cluster *rcl, int64_t now_mono)
{
    const topo_cluster *m = &rcl->mc->model;
    return (ana_input){.first_round_done = rcl->mc->first_round_done,
                       .quorum_off = rcl->cfg->failover_quorum == CFG_QUORUM_NONE,
                       .stall_periods = rcl->cfg->stall_periods,
                       .primary_waiting_since_ms =
                           primary_waiting_since(rcl, m->primary >= 0 ? m->v[m->primary] : NULL, now_mono),
                       .stall_lead_ms = (int64_t)rcl->cfg->poll_interval_ms + 1000};
}

/* Observe: analyse the model, report what changed, keep the incident's bookkeeping
 * (when it was detected; a failure that cleared resets what was done for it). */
static void observe(rec_cluster *rcl, const rec_turn *t)
{
    mon_cluster *mc = rcl->mc;
    ana_input ai = analysis_input(rcl, t->mono_ms);
    ana_result a;
    topo_instance *p;

    ana_analyze(&mc->model, &ai, &a);
    if (mc->first_round_done)
        report_heartbeats(rcl, a.primary);
    p = a.primary >= 0 ? mc->model.v[a.primary] : NULL;

    /* A demoted primary that is down is watched: no probe backoff, so that it is fenced
     * as soon as it is back (reconnected, restarted, continued). */
    for (size_t i = 0; i < mc->model.n && rcl->env->loop.set_watch; i++)
        rcl->env->loop.set_watch(rcl->env->user, mc->model.v[i], mc->model.v[i]->fenced);

    track_primary(rcl, t, p, ai.primary_waiting_since_ms);
    if (a.code != rcl->last.code)
        report_analysis(rcl, &a, p);
    rcl->last = a;
    if (ana_is_failover(a.code)) {
        if (!rcl->detected_ms)
            rcl->detected_ms = t->wall_ms;
    } else {
        rcl->detected_ms = 0;
        if (a.code != ANA_PRIMARY_SUSPECT && a.code != ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING) {
            rcl->incident_handled = false;
            rcl->hold = REC_HOLD_NONE;
            rcl->launch_failures = 0;
            rcl->retry_at_ms = 0;
        }
    }
}

void rec_cluster_tick(rec_cluster *rcl, int64_t now_mono)
{
    mon_cluster *mc = rcl->mc;
    rec_turn t = {.mono_ms = now_mono, .wall_ms = clk_wall_ms()};

    rcl->loop_ms = now_mono;

    if (rcl->fence && rcl->env->fence_renew)
        rcl->env->fence_renew(rcl->env->user, rcl->fence);
    /* What the previous lock holder left is read once this controller knows the servers
     * (its first probe round): its fences and its candidate must be found in the model.
     * Until then the coordination gate holds recovery back (ha_may_act). */
    if (rcl->env->state_take && mc->first_round_done) {
        char *j = NULL;
        if (rcl->env->state_take(rcl->env->user, mc, &j) == 1) {
            shared_apply(rcl, j);
            free(rcl->shared_last); /* offer the merged state as the new holder's */
            rcl->shared_last = NULL;
            rcl->shared_next_ms = 0;
        }
        free(j);
    }
    if (rcl->env->journal_take && mc->first_round_done) {
        char *j = NULL;
        if (rcl->env->journal_take(rcl->env->user, mc, &j) == 1) {
            free(rcl->handoff_wait); /* this taking's journal is newer */
            rcl->handoff_wait = NULL;
            handoff(rcl, j, t.wall_ms);
        }
        free(j);
    }
    if (rcl->handoff_wait && !rcl->exec) {
        /* The operation that ran when the lock was taken back has ended: judge the journal
         * found then, unless the lock has passed on again (the next holder reads it itself). */
        char *j = rcl->handoff_wait;
        rcl->handoff_wait = NULL;
        if (!rcl->env->holds_lock || rcl->env->holds_lock(rcl->env->user, mc))
            handoff(rcl, j, t.wall_ms);
        else
            log_info("cluster %s: the lock passed on before the journal found at its last taking was judged: its "
                     "next holder judges it", mc->model.name);
        free(j);
    }
    if (rcl->n_pending_fence)
        pending_fence_tick(rcl);
    if (rcl->env->state_put && t.mono_ms >= rcl->shared_next_ms) {
        rcl->shared_next_ms = t.mono_ms + 1000; /* what changed unnoticed (expired windows, ...) */
        shared_put(rcl);
    }
    observe(rcl, &t);
    run_state(rcl, &t);
    if (!rcl->exec && mc->first_round_done && rcl->last.primary >= 0 && mc->model.v[rcl->last.primary]->reachable)
        intermediate_tick(rcl, t.wall_ms);
    if (!rcl->exec && !rcl->job && t.mono_ms >= rcl->job_next_ms && mc->first_round_done &&
        (!rcl->env->holds_lock || rcl->env->holds_lock(rcl->env->user, mc)))
        aftercare_tick(rcl, &t); /* coordinated: only the lock holder changes servers */
}

size_t rec_cluster_fds(const rec_cluster *rcl, int *fds, size_t max)
{
    size_t n = 0;
    if (rcl->exec && n < max)
        fds[n++] = exec_fd(rcl->exec);
    if (rcl->job && n < max)
        fds[n++] = exec_fd(rcl->job);
    return n;
}

bool rec_cluster_quiet_if(const rec_cluster *rcl, int64_t now_ms, bool may_wait)
{
    const mon_cluster *mc = rcl->mc;
    if (rcl->exec || rcl->job || rcl->fast || rcl->pending_tag || rcl->rollback_pending)
        return false;
    if (rcl->last.code != ANA_OK || rcl->primary_lost_ms || rcl->detected_ms || rcl->hold != REC_HOLD_NONE)
        return false;
    if (!mc->first_round_done) /* another struct, another cache line: last */
        return false;
    /* Owing an answer for longer than the tick itself waits before it acts (primary_waiting_since):
     * a probe merely in flight (1-5 % of primaries at any instant) made its cluster tick on every
     * sweep for nothing. The first sweep after the bound ticks it, as before. */
    if (may_wait && rcl->last.primary >= 0 && (size_t)rcl->last.primary < mc->model.n &&
        primary_waiting_since(rcl, mc->model.v[rcl->last.primary], now_ms))
        return false;
    return true;
}

bool rec_cluster_quiet(const rec_cluster *rcl, int64_t now_ms) { return rec_cluster_quiet_if(rcl, now_ms, true); }

static void finish_recovery(rec_cluster *rcl, const exec_msg *m)
{
    char *lost = NULL, err[256], old[TOPO_ADDR_MAX], neu[TOPO_ADDR_MAX];
    const char *state = m->ok ? (rcl->hooks_failed ? "done-hooks-failed" : "done") : "failed";
    topo_instance *oldp = find(rcl, &rcl->plan.old_primary.addr);
    /* relocate and intermediate move replicas below new_primary: nothing is promoted. */
    bool failover = rcl->op == REC_OP_FAILOVER,
         relocate = rcl->op == REC_OP_RELOCATE || rcl->op == REC_OP_INTERMEDIATE;
    int64_t dur;
    json_t *detail;

    topo_addr_str(&rcl->plan.old_primary.addr, old, sizeof(old));
    topo_addr_str(&rcl->plan.new_primary.addr, neu, sizeof(neu));
    if (rcl->planned_from_ms && !rcl->planned_to_ms) {
        rcl->planned_to_ms = m->at_ms; /* rolled back (or failed): the planned block ends here */
        rcl->planned_primary = rcl->promoted ? rcl->plan.new_primary.addr : rcl->plan.old_primary.addr;
    }
    if (rcl->promoted && rcl->plan.old_primary_gtid)
        gtid_text_errant(kind_of(rcl->plan.old_primary.flavor), rcl->plan.old_primary_gtid,
                         rcl->promoted_gtid ? rcl->promoted_gtid : "", &lost, err, sizeof(err));
    if (rcl->env->st)
        audit_check(rcl, store_recovery_end(rcl->env->st, rcl->recovery_id, state, m->at_ms, lost,
                                           m->ok ? NULL : (rcl->last_error ? rcl->last_error : m->message)),
                    "the end of a recovery");
    if (rcl->promoted && oldp && !relocate && rcl->old_rejoined && !oldp->fenced) {
        /* The plan's own rejoin step verified it replicating from the new primary (a
         * switchover): what after-care would conclude from the next probe (REJOINED). Not
         * fenced, so that a switchover back right after this one is not refused. */
        emit(rcl, LOGL_INFO, "primary-rejoined", oldp, NULL, "%s, the demoted primary, now replicates from %s",
             old, neu);
    } else if (rcl->promoted && oldp && !relocate) {
        /* Never a primary again; after-care unfences it once it replicates from the new one.
         * What the new primary had at promotion is what the old one is judged against. */
        mark_demoted(rcl, oldp, rcl->promoted_gtid);
    }
    dur = failover && rcl->primary_lost_ms ? m->at_ms - rcl->primary_lost_ms : 0;
    detail = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s?, s:I, s:I, s:s?}", "recovery_id",
                       (json_int_t)rcl->recovery_id, "kind", rec_op_name(rcl->op), "state", state, "old_primary", old,
                       "new_primary", neu, "ok", m->ok, "aborted", m->aborted, "promoted", rcl->promoted,
                       "lost_gtids", lost, "since_primary_lost_ms", (json_int_t)dur, "writes_refused_ms",
                       (json_int_t)rcl->writes_refused_ms,
                       "error", m->ok ? NULL : (rcl->last_error ? rcl->last_error : m->message));
    if (m->ok)
        emit(rcl, LOGL_WARN, "recovery-done", NULL, json_incref(detail),
             "%s #%lld done%s: %s%s%s%s; lost transactions: %s", rec_op_name(rcl->op), (long long)rcl->recovery_id,
             rcl->hooks_failed ? " (hooks failed)" : "",
             relocate ? old : neu, relocate ? " now replicates from " : " is the primary (was ", relocate ? neu : old,
             relocate ? "" : ")", lost ? (*lost ? lost : "none") : relocate ? "none" : "unknown");
    else
        emit(rcl, LOGL_ERROR, "recovery-failed", NULL, json_incref(detail), "%s #%lld %s: %s%s", rec_op_name(rcl->op),
             (long long)rcl->recovery_id,
             m->aborted == 2 ? "refused by the fencing check (nothing was promoted; the cluster's new lock holder "
                               "settles what it changed)"
             : m->aborted    ? "aborted (nothing was promoted; what it changed was rolled back)"
                             : "finished with failures",
             rcl->last_error ? rcl->last_error : m->message, rcl->promoted ? "; the new primary is writable" : "");
    if (rcl->manual && rcl->env->manual_done)
        rcl->env->manual_done(rcl->env->user, rcl->pending_tag, json_incref(detail));
    json_decref(detail);
    rcl->pending_tag = NULL;
    free(lost);
    if (failover)
        rcl->blocked_until_ms = m->at_ms + (int64_t)rcl->cfg->failover_block_s * 1000;
    /* What ended here, should the journal show it unfinished at a lock taking (handoff_judge). */
    rcl->ended_id = rcl->recovery_id;
    rcl->ended_settled = m->aborted != 2; /* refused by the fencing check: nothing rolled back here */
    rcl->ended_promoted = rcl->promoted;
    snprintf(rcl->ended_state, sizeof(rcl->ended_state), "%s", m->ok ? "done" : m->aborted ? "aborted" : "failed");
    shared_put(rcl);
    release_operation(rcl);
    set_fast(rcl, false, 0);
    /* The clock now, not the turn's time: snapshots folded in earlier in this turn were
     * taken before the end of the recovery was known and must not count for after-care. */
    rcl->aftercare_from_ms = clk_mono_ms();
    if (rcl->env->loop.probe_now)
        rcl->env->loop.probe_now(rcl->env->user, rcl->mc, NULL);
}

/*
 * A failover stopped by a controller shutdown (rec_cluster_stop): where it stopped goes
 * into the audit (a 'shutdown' row); the recovery stays 'running' there, the per-cluster
 * lock, so that the next start takes it over (resume_interrupted: rolled back or finished).
 */
static void stopped_recovery(rec_cluster *rcl, const exec_msg *m)
{
    if (rcl->env->st)
        audit_check(rcl, store_recovery_step(rcl->env->st, rcl->recovery_id, 0, "shutdown", NULL, NULL, m->at_ms,
                                            m->at_ms, "interrupted", m->message), "where a recovery stopped");
    emit(rcl, LOGL_WARN, "recovery-stopped", NULL,
         json_pack("{s:I, s:s, s:i, s:b}", "recovery_id", (json_int_t)rcl->recovery_id, "kind", rec_op_name(rcl->op),
                   "next_step", m->step + 1, "promoted", rcl->promoted),
         "%s #%lld %s%s; the next start resumes it", rec_op_name(rcl->op), (long long)rcl->recovery_id, m->message,
         rcl->promoted ? " (the new primary is writable)" : " (nothing promoted)");
    if (rcl->manual && rcl->env->manual_done)
        rcl->env->manual_done(rcl->env->user, rcl->pending_tag,
                             json_pack("{s:b, s:s, s:I}", "ok", 0, "error", m->message, "recovery_id",
                                       (json_int_t)rcl->recovery_id));
    rcl->pending_tag = NULL;
    release_operation(rcl);
}

int rec_cluster_stop(rec_cluster *rcl, int64_t deadline_ms)
{
    if (!rcl->exec)
        return 0;
    rec_exec_stop(rcl->exec);
    while (rcl->exec) {
        exec_msg m;
        int r = exec_read(rcl->exec, &m);
        if (r == 0) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            if (probe_now_ms() >= deadline_ms)
                return -ETIMEDOUT;
            nanosleep(&ts, NULL);
            continue;
        }
        if (r < 0)
            break;
        handle_msg(rcl, &m); /* the audit of the running step, then DONE (stopped or finished): frees rcl->exec */
        exec_msg_clear(&m);
    }
    return 0;
}

static void handle_msg(rec_cluster *rcl, const exec_msg *m)
{
    const plan_step *s = m->step >= 0 && (size_t)m->step < rcl->plan.n ? &rcl->plan.v[m->step] : NULL;
    char target[TOPO_ADDR_MAX] = "", *desc = NULL;
    topo_instance *in = NULL;
    if (s) {
        topo_addr_str(&s->target.addr, target, sizeof(target));
        desc = plan_step_describe(s);
        in = find(rcl, &s->target.addr);
    }
    switch (m->kind) {
    case EXEC_STEP_START:
        if (s && s->kind == PLAN_STEP_DEMOTE)
        {
            rcl->demote_started_ms = m->at_ms;
            rcl->planned_from_ms = m->at_ms;
            rcl->planned_to_ms = 0;
        }
        if (rcl->env->st && s)
            audit_check(rcl, store_recovery_step(rcl->env->st, rcl->recovery_id, m->step + 1, plan_step_name(s->kind), target, desc,
                                m->at_ms, 0, NULL, NULL), "a recovery step");
        log_debug("recovery #%lld step %d %s %s started", (long long)rcl->recovery_id, m->step + 1,
                  s ? plan_step_name(s->kind) : "?", desc ? desc : "");
        break;
    case EXEC_STEP_END:
        if (!s)
            break;
        if (rcl->env->st)
            audit_check(rcl, store_recovery_step(rcl->env->st, rcl->recovery_id, m->step + 1, plan_step_name(s->kind), target, desc, 0,
                                m->at_ms, m->ok ? "ok" : "failed", m->message), "a recovery step");
        if (m->ok) {
            /* step_rejoin verified it: read-only, both threads running from the new primary. */
            if (s->kind == PLAN_STEP_REJOIN)
                rcl->old_rejoined = topo_addr_eq(&s->target.addr, &rcl->plan.old_primary.addr) &&
                                    topo_addr_eq(&s->source.addr, &rcl->plan.new_primary.addr);
            switch (s->kind) {
            case PLAN_STEP_SET_WRITABLE:
                rcl->promoted = true;
                if (rcl->demote_started_ms)
                    rcl->writes_refused_ms = m->at_ms - rcl->demote_started_ms;
                if (rcl->planned_from_ms && !rcl->planned_to_ms) {
                    rcl->planned_to_ms = m->at_ms;
                    rcl->planned_primary = rcl->plan.new_primary.addr;
                }
                free(rcl->promoted_gtid);
                rcl->promoted_gtid = strdup(m->gtid);
                if (rcl->env->st)
                    audit_check(rcl, store_recovery_promoted(rcl->env->st, rcl->recovery_id, m->at_ms, m->gtid), "the promotion of a recovery");
                emit(rcl, LOGL_WARN, "replica-promoted", in,
                     json_pack("{s:I, s:s, s:I, s:I}", "recovery_id", (json_int_t)rcl->recovery_id, "gtid", m->gtid,
                               "since_primary_lost_ms",
                               (json_int_t)(rcl->primary_lost_ms && rcl->op == REC_OP_FAILOVER
                                                ? m->at_ms - rcl->primary_lost_ms : 0),
                               "writes_refused_ms", (json_int_t)rcl->writes_refused_ms),
                     "%s promoted: %s", target, m->message);
                break;
            case PLAN_STEP_VERIFY:
                emit(rcl, LOGL_INFO, "replica-repointed", in,
                     json_pack("{s:I}", "recovery_id", (json_int_t)rcl->recovery_id), "%s %s", target, m->message);
                break;
            case PLAN_STEP_FENCE:
                emit(rcl, LOGL_WARN, "primary-fenced", in, NULL, "%s", m->message);
                break;
            case PLAN_STEP_CATCH_UP:
                emit(rcl, LOGL_INFO, "replica-caught-up", in, NULL, "%s %s", target, m->message);
                break;
            default:
                log_info("recovery #%lld step %d %s %s: %s", (long long)rcl->recovery_id, m->step + 1,
                         plan_step_name(s->kind), target, m->message);
                break;
            }
        } else {
            if (s->kind == PLAN_STEP_REPOINT || s->kind == PLAN_STEP_VERIFY)
                emit(rcl, LOGL_ERROR, "replica-lost", in, json_pack("{s:I}", "recovery_id", (json_int_t)rcl->recovery_id),
                     "%s cannot follow the new primary: %s", target, m->message);
            else if (s->kind == PLAN_STEP_HOOK && s->best_effort) {
                rcl->hooks_failed = true;
                emit(rcl, LOGL_ERROR, "hook-failed", NULL, json_pack("{s:s, s:I}", "hook", s->hook, "recovery_id",
                                                                   (json_int_t)rcl->recovery_id),
                     "%s hook failed (the %s itself goes on): %s", s->hook, rec_op_name(rcl->op), m->message);
            } else if (s->kind == PLAN_STEP_HOOK) {
                rcl->vetoed = true;
                set_last_error(rcl, "vetoed by the %s hook: %s", s->hook, m->message);
                emit(rcl, LOGL_ERROR, "hook-vetoed", NULL, json_pack("{s:s, s:I}", "hook", s->hook, "recovery_id",
                                                                   (json_int_t)rcl->recovery_id),
                     "%s", rcl->last_error ? rcl->last_error : m->message);
            } else if (s->kind == PLAN_STEP_FENCE)
                emit(rcl, LOGL_WARN, "fence-deferred", in, NULL,
                     "%s not fenced now (%s): it is kept read-only whenever it is reachable again", target, m->message);
            else {
                set_last_error(rcl, "step %d %s on %s: %s", m->step + 1,
                         plan_step_name(s->kind), target, m->message);
                emit(rcl, LOGL_ERROR, "recovery-step-failed", in, NULL, "%s",
                     rcl->last_error ? rcl->last_error : m->message);
            }
        }
        break;
    case EXEC_ROLLBACK:
        if (rcl->env->st)
            audit_check(rcl, store_recovery_step(rcl->env->st, rcl->recovery_id, 0, "rollback", NULL, NULL, m->at_ms, m->at_ms,
                                m->ok ? "ok" : "failed", m->message), "a recovery step");
        emit(rcl, LOGL_WARN, "recovery-rollback", NULL, NULL, "%s", m->message);
        break;
    case EXEC_DONE:
        if (m->stopped)
            stopped_recovery(rcl, m);
        else
            finish_recovery(rcl, m);
        break;
    }
    free(desc);
}

static void handle_job_msg(rec_cluster *rcl, const exec_msg *m)
{
    const plan_step *s = rcl->job_plan.n ? &rcl->job_plan.v[0] : NULL;
    topo_instance *in = s ? find(rcl, &s->target.addr) : NULL;
    char a[TOPO_ADDR_MAX];
    if (m->kind == EXEC_STEP_END && s) {
        topo_addr_str(&s->target.addr, a, sizeof(a));
        if (m->ok && s->kind == PLAN_STEP_FENCE)
            emit(rcl, LOGL_WARN, "primary-fenced", in, NULL, "%s", m->message);
        else if (m->ok && s->kind == PLAN_STEP_UNDEMOTE)
            emit(rcl, LOGL_WARN, "after-care", in, NULL, "%s %s", a, m->message);
        else if (m->ok)
            emit(rcl, LOGL_INFO, s->kind == PLAN_STEP_REJOIN ? "primary-rejoining" : "replica-repointed", in, NULL,
                 "%s", m->message);
        else
            emit(rcl, LOGL_ERROR, "after-care-failed", in, NULL, "%s %s: %s", plan_step_name(s->kind), a, m->message);
        rcl->job_next_ms = rcl->loop_ms + (m->ok ? 500 : 5000);
    } else if (m->kind == EXEC_DONE) {
        exec_free(rcl->job);
        rcl->job = NULL;
        running_update(rcl);
        plan_free(&rcl->job_plan);
        if (in && rcl->env->loop.probe_now)
            rcl->env->loop.probe_now(rcl->env->user, rcl->mc, in);
    }
}

void rec_cluster_io(rec_cluster *rcl, int64_t now_ms)
{
    exec_msg m;
    rcl->loop_ms = now_ms;
    while (rcl->exec) {
        int r = exec_read(rcl->exec, &m);
        if (r <= 0)
            break;
        handle_msg(rcl, &m); /* may free rcl->exec on DONE */
        exec_msg_clear(&m);
    }
    while (rcl->job) {
        int r = exec_read(rcl->job, &m);
        if (r <= 0)
            break;
        handle_job_msg(rcl, &m);
        exec_msg_clear(&m);
    }
}

int rec_cluster_ack(rec_cluster *rcl)
{
    int n = rcl->env->st ? store_recovery_ack(rcl->env->st, rcl->mc->model.name) : 0;
    rcl->blocked_until_ms = 0;
    rcl->incident_handled = false;
    shared_put(rcl);
    emit(rcl, LOGL_INFO, "recovery-acknowledged", NULL, NULL, "anti-flap block lifted (%d recoveries acknowledged)",
         n < 0 ? 0 : n);
    return n;
}

json_t *rec_cluster_status(const rec_cluster *rcl)
{
    int64_t now = clk_wall_ms();
    json_t *m = json_array();
    for (size_t i = 0; i < rcl->n_maint; i++) {
        const rec_maintenance *w = &rcl->maint[i];
        if (w->until_ms && w->until_ms <= now)
            continue;
        json_array_append_new(m, json_pack("{s:s?, s:s, s:I, s:o}", "instance", w->instance[0] ? w->instance : NULL,
                                           "reason", w->reason, "started_ms", (json_int_t)w->started_ms, "until_ms",
                                           w->until_ms ? json_integer(w->until_ms) : json_null()));
    }
    json_t *launch = NULL;
    if (rcl->launch_failures)
        launch = json_pack("{s:I, s:s, s:I}", "attempts", (json_int_t)rcl->launch_failures, "error", rcl->launch_error,
                           "retry_in_ms", (json_int_t)(rcl->retry_at_ms > now ? rcl->retry_at_ms - now : 0));
    /* A failover the previous controller left unfinished (stopped or crashed), taken over at this start. */
    json_t *interrupted = NULL;
    if (rcl->rollback_id)
        interrupted = json_pack("{s:I, s:s}", "recovery_id", (json_int_t)rcl->rollback_id, "resolution",
                                rcl->rollback_pending ? "waiting for its candidate to answer (rolled back or finished then)"
                                                     : "resolved at this start ('myorch recoveries --id')");
    return json_pack("{s:s, s:s, s:b, s:I, s:o?, s:s?, s:b, s:o, s:s?, s:o?, s:s?, s:o?}", "analysis",
                     ana_code_name(rcl->last.code), "evidence", rcl->last.evidence, "auto_failover",
                     rcl->cfg->auto_failover != 0, "blocked_for_s",
                     (json_int_t)(rcl->blocked_until_ms > now ? (rcl->blocked_until_ms - now + 999) / 1000 : 0),
                     "running_recovery", rcl->exec ? json_integer(rcl->recovery_id) : NULL, "running_kind",
                     rcl->exec ? rec_op_name(rcl->op) : NULL, "fast_probing", rcl->fast, "maintenance", m, "held_by",
                     rec_hold_name(rcl->hold), "launch_failed", launch, "audit_error",
                     rcl->audit_failures ? rcl->audit_error : NULL, "interrupted_recovery", interrupted);
}

bool rec_cluster_in_maintenance(const rec_cluster *rcl, const topo_addr *instance)
{
    int64_t now = clk_wall_ms();
    for (size_t i = 0; i < rcl->n_maint; i++) {
        const rec_maintenance *w = &rcl->maint[i];
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

int rec_cluster_maintenance(rec_cluster *rcl, bool begin, const char *instance, const char *reason, int64_t duration_s,
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
        if (!(in = find(rcl, &a))) {
            snprintf(err, errlen, "unknown server %s in cluster %s (see 'myorch topology')", instance, rcl->mc->model.name);
            return -ENOENT;
        }
        topo_addr_str(&in->addr, canon, sizeof(canon));
    }
    /* Drop expired windows first. */
    for (size_t i = 0; i < rcl->n_maint;) {
        if (rcl->maint[i].until_ms && rcl->maint[i].until_ms <= now)
            rcl->maint[i] = rcl->maint[--rcl->n_maint];
        else
            i++;
    }
    if (begin) {
        rec_maintenance *w;
        for (size_t i = 0; i < rcl->n_maint; i++)
            if (!strcmp(rcl->maint[i].instance, canon)) {
                snprintf(err, errlen, "%s%s is already under maintenance (%s): end it first", canon[0] ? canon : "cluster ",
                         canon[0] ? "" : rcl->mc->model.name, rcl->maint[i].reason);
                return -EEXIST;
            }
        if (rcl->n_maint >= REC_MAINT_MAX) {
            snprintf(err, errlen, "too many maintenance windows open (at most %d per cluster): end one first",
                     REC_MAINT_MAX);
            return -ENOSPC;
        }
        if (!maint_room(rcl)) {
            snprintf(err, errlen, "out of memory opening a maintenance window");
            return -ENOMEM;
        }
        if (reason && strlen(reason) >= sizeof(rcl->maint[0].reason)) {
            snprintf(err, errlen, "--reason is %zu bytes long: give at most %zu", strlen(reason),
                     sizeof(rcl->maint[0].reason) - 1);
            return -ENAMETOOLONG;
        }
        w = &rcl->maint[rcl->n_maint++];
        snprintf(w->instance, sizeof(w->instance), "%s", canon);
        snprintf(w->reason, sizeof(w->reason), "%s", reason && *reason ? reason : "(no reason given)");
        w->started_ms = now;
        w->until_ms = duration_s > 0 ? now + duration_s * 1000 : 0;
        if (rcl->env->st)
            audit_check(rcl, store_maintenance_begin(rcl->env->st, rcl->mc->model.name, canon, w->reason, now, w->until_ms), "a maintenance window");
        shared_put(rcl);
        emit(rcl, LOGL_WARN, "maintenance-started", in, json_pack("{s:s, s:I}", "reason", w->reason, "duration_s",
                                                                 (json_int_t)duration_s),
             "maintenance of %s%s begins: %s%s; automatic recovery %s", canon[0] ? canon : "cluster ",
             canon[0] ? "" : rcl->mc->model.name, w->reason, duration_s > 0 ? "" : " (until ended)",
             canon[0] ? "will not promote it" : "is suppressed");
        return 0;
    }
    for (size_t i = 0; i < rcl->n_maint; i++) {
        if (strcmp(rcl->maint[i].instance, canon) != 0)
            continue;
        rcl->maint[i] = rcl->maint[--rcl->n_maint];
        if (rcl->env->st)
            audit_check(rcl, store_maintenance_end(rcl->env->st, rcl->mc->model.name, canon, now), "the end of a maintenance window");
        shared_put(rcl);
        if (rcl->maint_reported)
            rcl->incident_handled = false; /* re-evaluate a failure seen during the window */
        rcl->maint_reported = false;
        emit(rcl, LOGL_WARN, "maintenance-ended", in, NULL, "maintenance of %s%s ended; automatic recovery re-enabled",
             canon[0] ? canon : "cluster ", canon[0] ? "" : rcl->mc->model.name);
        return 0;
    }
    snprintf(err, errlen, "%s%s is not under maintenance", canon[0] ? canon : "cluster ", canon[0] ? "" : rcl->mc->model.name);
    return -ENOENT;
}

/* The instance index of "host:port" in the cluster, or -1 with err. */
static int lookup(rec_cluster *rcl, const char *text, const char *what, char *err, size_t errlen)
{
    topo_addr a;
    int i;
    if (topo_addr_parse(text, 3306, &a, err, errlen) < 0)
        return -1;
    i = topo_cluster_find(&rcl->mc->model, &a);
    if (i < 0) {
        strbuf known = STRBUF_INIT;
        for (size_t k = 0; k < rcl->mc->model.n; k++) {
            char x[TOPO_ADDR_MAX];
            strbuf_printf(&known, "%s%s", k ? ", " : "", topo_addr_str(&rcl->mc->model.v[k]->addr, x, sizeof(x)));
        }
        snprintf(err, errlen, "unknown %s %s in cluster %s (known servers: %s)", what, text, rcl->mc->model.name,
                 strbuf_str(&known));
        strbuf_free(&known);
    }
    return i;
}

static int build_relocate(rec_cluster *rcl, const rec_manual *m, plan_spec *plan, char *err, size_t errlen)
{
    topo_cluster *c = &rcl->mc->model;
    int ri, si;
    topo_instance *r, *src;
    plan_options po = plan_opts(rcl, 0);

    if (!m->replica || !m->below) {
        snprintf(err, errlen, "relocate needs --replica and --below");
        return -EINVAL;
    }
    if ((ri = lookup(rcl, m->replica, "replica", err, errlen)) < 0 || (si = lookup(rcl, m->below, "server", err, errlen)) < 0)
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
static int build_manual_intermediate(rec_cluster *rcl, plan_spec *plan, char *err, size_t errlen)
{
    topo_cluster *c = &rcl->mc->model;
    imd_analysis ia;
    plan_options po = plan_opts(rcl, 0);
    int rc_ = 0;
    if (imd_analyze(c, &ia, err, errlen) < 0)
        return -ENOMEM;
    if (ia.code == IMD_DEAD && ia.n_movable && ia.new_source >= 0) {
        rc_ = plan_intermediate(c, ia.dead, ia.new_source, ia.movable, ia.n_movable, &po, plan, err, errlen);
        if (rc_ == 0 && ia.lost)
            rc_ = topo_strset(&plan->unreachable, ia.lost) < 0 ? -ENOMEM : 0;
        if (rc_ == 0) {
            rcl->launch_analysis = "dead-intermediate-primary";
            rc_ = 1;
        }
    }
    imd_analysis_free(&ia);
    return rc_;
}

/* The safety rules of a switchover (sw) or a forced failover, as a refusal in refuse
 * ("" none): a dry run shows the plan and the refusal. */
static void manual_refusal(const rec_cluster *rcl, const rec_manual *m, bool sw, char *refuse, size_t len)
{
    const topo_instance *p = rcl->mc->model.v[rcl->last.primary];
    if (sw) {
        if (!p->reachable || p->snap.read_only)
            snprintf(refuse, len, "the primary %s is %s: a switchover needs a live, writable primary "
                     "(use 'myorch failover')", p->addr.host, !p->reachable ? "unreachable" : "read-only");
        else if (rcl->last.code != ANA_OK && rcl->last.code != ANA_LOCKED_SEMI_SYNC)
            snprintf(refuse, len, "every replica must be reachable and replicating: %.900s", rcl->last.evidence);
    } else {
        if (p->reachable)
            snprintf(refuse, len, "the primary is reachable: a forced failover is for a primary that is "
                     "gone (use 'myorch switchover')");
        else if (rcl->last.code == ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING && !m->force)
            snprintf(refuse, len, "replicas still replicate from the primary (%.900s): only the controller "
                     "lost it; --force to fail over anyway", rcl->last.evidence);
        else if (rcl->last.code == ANA_DEAD_PRIMARY_MINORITY && !m->force)
            snprintf(refuse, len, "this controller sees a minority of the cluster (%s): the primary may "
                     "still be alive and writable with the servers it cannot reach; make sure it is down or fenced, "
                     "then --force to fail over anyway", rcl->last.quorum.why);
    }
}

/* A switchover (sw) or failover asked for by an operator: refusal (refuse) and plan. */
static int build_promotion(rec_cluster *rcl, const rec_manual *m, bool sw, plan_spec *plan, char *refuse,
                           size_t refuselen, char *err, size_t errlen)
{
    topo_cluster *c = &rcl->mc->model;
    cand_ranking rank;
    topo_addr never[64], target;
    cand_opts co;
    int rc_, ti = -1;

    if (m->to) {
        if ((ti = lookup(rcl, m->to, "target", err, errlen)) < 0)
            return -ENOENT;
        target = c->v[ti]->addr;
    }
    if (rcl->last.primary < 0) {
        snprintf(err, errlen, "cluster %s has no known primary (%s)", c->name, rcl->last.evidence);
        return -EINVAL;
    }
    if (ti == rcl->last.primary) {
        snprintf(err, errlen, "%s is already the primary of cluster %s", m->to, c->name);
        return -EINVAL;
    }
    manual_refusal(rcl, m, sw, refuse, refuselen);
    co = rec_cluster_candidate_opts(rcl, never, 64, m->to ? &target : NULL);
    memset(&rank, 0, sizeof(rank));
    if ((rc_ = cand_rank(c, rcl->last.primary, &co, &rank, err, errlen)) < 0)
        return rc_;
    if (rank.chosen < 0) {
        snprintf(err, errlen, "no replica can be promoted: %s", rank.reason);
        cand_ranking_free(&rank);
        return -EINVAL;
    }
    if (sw) {
        const topo_instance *t = c->v[rank.v[rank.chosen].index];
        double lag = topo_instance_lag_s(t);
        if (!refuse[0] && (lag < 0 || lag > rcl->cfg->switchover_max_lag_s)) {
            char a[TOPO_ADDR_MAX];
            if (lag < 0)
                snprintf(refuse, refuselen, "the lag of %s is unknown", topo_addr_str(&t->addr, a, sizeof(a)));
            else
                snprintf(refuse, refuselen, "%s lags %.1f s, more than switchover_max_lag_s=%d",
                         topo_addr_str(&t->addr, a, sizeof(a)), lag, rcl->cfg->switchover_max_lag_s);
        }
        rank.needs_catchup = false; /* it catches up from the live primary itself */
        plan_options po = plan_opts(rcl, m->timeout_ms);
        rc_ = plan_switchover(c, rcl->last.primary, &rank, &po, plan, err, errlen);
    } else {
        plan_options po = plan_opts(rcl, 0);
        rc_ = plan_failover(c, rcl->last.primary, &rank, &po, plan, err, errlen);
    }
    cand_ranking_free(&rank);
    if (rc_ < 0)
        return rc_;
    if (add_hooks(rcl, plan) < 0) {
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

int rec_cluster_manual(rec_cluster *rcl, const rec_manual *m, void *tag, json_t **reply, char *err, size_t errlen)
{
    topo_cluster *c = &rcl->mc->model;
    int rc_;
    const char *would_refuse = NULL;
    char refuse[1024] = "";
    rec_op op = rec_op_parse(m->kind);
    bool sw = op == REC_OP_SWITCHOVER, fo = op == REC_OP_FAILOVER, rl = op == REC_OP_RELOCATE;
    plan_spec plan; /* built here; moved into rcl->plan only when it is launched */

    memset(&plan, 0, sizeof(plan));

    *reply = NULL;
    if (!sw && !fo && !rl) {
        snprintf(err, errlen, "unknown operation '%s'", m->kind);
        return -EINVAL;
    }
    if (rcl->exec && !m->dry_run) {
        snprintf(err, errlen, "a %s (#%lld) is already running on cluster %s: wait for it (see 'myorch recoveries')",
                 rec_op_name(rcl->op), (long long)rcl->recovery_id, c->name);
        return -EBUSY;
    }
    if (!rcl->mc->first_round_done) {
        snprintf(err, errlen, "cluster %s has not been fully probed yet: try again in a moment", c->name);
        return -EAGAIN;
    }
    if (rcl->env->loop.derive)
        rcl->env->loop.derive(rcl->env->user);
    ana_input ai = analysis_input(rcl, clk_mono_ms());
    ana_analyze(c, &ai, &rcl->last);
    if (rl)
        rc_ = build_relocate(rcl, m, &plan, err, errlen);
    else if (fo && !m->to && rcl->last.primary >= 0 && c->v[rcl->last.primary]->reachable &&
             (rc_ = build_manual_intermediate(rcl, &plan, err, errlen)) != 0)
        rc_ = rc_ < 0 ? rc_ : 0;
    else
        rc_ = build_promotion(rcl, m, sw, &plan, refuse, sizeof(refuse), err, errlen);
    if (rc_ < 0)
        return rc_;
    would_refuse = refuse[0] ? refuse : NULL;
    if (m->dry_run || would_refuse)
        rcl->launch_analysis = NULL;
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
    rcl->pending_tag = tag;
    rcl->plan = plan;
    rc_ = launch(rcl, "manual", clk_wall_ms(), err, errlen);
    rcl->launch_analysis = NULL;
    if (rc_ < 0) {
        rcl->pending_tag = NULL;
        return rc_;
    }
    if (rcl->op == REC_OP_INTERMEDIATE)
        rcl->imd_handled = true;
    return 1;
}
