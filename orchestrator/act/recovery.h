/*
 * orchestrator/act/recovery.h — one recovery state machine per cluster.
 *
 * Owns: the decision to recover (analysis + auto_failover + block period +
 * the SQLite lock of one running recovery per cluster), the fast re-probe of
 * replicas while the primary looks dead, starting the executor on a plan,
 * recording each step in the audit and turning it into events, the
 * data-loss accounting, and the after-care of demoted primaries: kept
 * read-only (fenced) whenever they are reachable, rejoined as replicas of the
 * new primary only when their GTIDs are a subset of its, else reported as
 * diverged. Replicas left behind on the old primary are repointed the same way.
 *
 * States: see rec_state.h (idle → suspect → confirmed → executing → handled,
 * blocked while something holds a confirmed failure back). Each state's work is
 * one function in recovery.c; after-care decisions are aftercare.h's.
 */
#ifndef MYORCH_ORCHESTRATOR_RECOVERY_H
#define MYORCH_ORCHESTRATOR_RECOVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "orchestrator/decide/analysis.h"
#include "orchestrator/config.h"
#include "orchestrator/act/executor.h"
#include "orchestrator/act/monitor.h"
#include "orchestrator/decide/plan.h"
#include "orchestrator/decide/rec_state.h"
#include "orchestrator/store.h"
#include "hooks/runner.h"

typedef void (*rec_emit_fn)(void *user, int level, const char *name, mon_cluster *c, const topo_instance *in,
                            const char *message, json_t *detail);

/*
 * What recovery asks of the monitoring loop. Recovery never calls monitor.c: the
 * loop hands these in (the daemon wires them to mon_*), so the arrows run one way,
 * loop -> recovery -> decisions.
 */
typedef struct {
    void (*derive)(void *user);                                        /* re-derive the dirty models now */
    void (*probe_now)(void *user, mon_cluster *c, topo_instance *in);  /* in NULL: every server of c */
    void (*set_fast)(void *user, mon_cluster *c, bool on, int fast_ms); /* fast probing of c on / off */
    void (*set_watch)(void *user, topo_instance *in, bool on);         /* no probe backoff while it is down */
    int64_t (*waiting_since)(void *user, const topo_instance *in);     /* monotonic ms an answer is owed, 0 none */
    bool (*answer_arrived)(void *user, const topo_instance *in);       /* ... but it is on the socket, unread */
} rec_loop_ops;

typedef struct {
    store *st;
    rec_loop_ops loop;
    rec_emit_fn emit;
    void *user;
    int connect_timeout_ms;
    const exec_hooks *hooks;  /* unused: hook steps are wired per recovery (see recovery.c) */
    /* A manual operation finished: the answer for the operator who asked (tag). */
    void (*manual_done)(void *user, void *tag, json_t *result);
    /* Controller coordination (issue 14, orchestrator/ha/ha.h): may this controller start an
     * automatic recovery of the cluster now (it holds the cluster's lock, the detection
     * quorum agrees)? NULL: yes (coordination = none). false: why says what is missing. */
    bool (*may_act)(void *user, mon_cluster *c, const ana_result *a, char *why, size_t whylen);
    /* The shared journal and fencing (issue 14, orchestrator/ha/ha.h); all NULL with
     * coordination = none. fence_take (loop thread, at the start of an operation): this
     * controller's fencing token of the cluster's lock, NULL with err when it does not hold
     * it (the operation is refused). fence_check (worker thread, every step boundary): write
     * the journal record under the token; non-zero: not the holder (err). fence_renew: every
     * turn while it runs. journal_take: the journal found when the lock was taken (1 once
     * per taking, *json heap or NULL). journal_put: write it from the loop (handoff results). */
    void *(*fence_take)(void *user, mon_cluster *c, char *err, size_t errlen);
    int (*fence_check)(void *fence, const char *journal_json, char *err, size_t errlen);
    void (*fence_renew)(void *user, void *fence);
    void (*fence_free)(void *fence);
    int (*journal_take)(void *user, mon_cluster *c, char **json);
    void (*journal_put)(void *user, mon_cluster *c, const char *json);
    /* The cluster's shared state (demoted primaries, anti-flap block, maintenance windows):
     * found when the lock was taken (as journal_take), written by the holder when it changes. */
    int (*state_take)(void *user, mon_cluster *c, char **json);
    void (*state_put)(void *user, mon_cluster *c, const char *json);
    /* Does this controller hold the cluster's lock now (and has it read what the previous
     * holder left)? NULL: yes. Gates what runs without the detection quorum: a dead
     * intermediate primary's move and after-care jobs. */
    bool (*holds_lock)(void *user, mon_cluster *c);
    const char *controller;   /* this controller's name in journal records ("" none) */
    /* Written by recovery.c: clusters whose executor or after-care job runs now. The
     * daemon asks clusters for their fds (rec_cluster_fds) only while it is not 0. */
    size_t n_running;
} rec_env;

/* An operator's request (myorch switchover / failover / relocate). */
typedef struct {
    const char *kind;             /* "switchover" | "failover" | "relocate" */
    const char *to;               /* switchover / failover target "host:port", NULL: the best */
    const char *replica;          /* relocate: the replica to move */
    const char *below;            /* relocate: its new source */
    bool dry_run;                 /* only build and return the plan */
    bool force;                   /* failover although replicas still replicate from the primary */
    int timeout_ms;               /* switchover: bound for the target to catch up (0: apply_timeout_ms) */
} rec_manual;

/* One cluster's recovery state machine (opaque; the daemon uses the functions below). */
typedef struct rec_cluster rec_cluster;

/* A planned write block (switchover) for the availability record: from the demote's
 * start to the promotion (or the end of the operation when nothing was promoted).
 * Wall ms; to_ms 0 = not ended yet. */
typedef struct {
    int64_t from_ms, to_ms;
    topo_addr primary;            /* the primary once the block is over (new, or old when rolled back) */
} rec_planned_block;

int rec_cluster_new(rec_env *env, mon_cluster *mc, const cfg_cluster *cfg, rec_cluster **out, char *err,
                    size_t errlen);
/*
 * A controller shutdown: ask the running operation to stop at its next step boundary
 * (rec_exec_stop: a failover stops where it is, recorded in the audit for the next start
 * to resume; a switchover before its point of no return rolls back) and handle its
 * messages until it ended or deadline_ms (monotonic) passed. Returns 0 (nothing runs
 * any more), or -ETIMEDOUT: its current step is still running.
 */
int rec_cluster_stop(rec_cluster *rcl, int64_t deadline_ms);
/* Wait for running work to finish (never abandon a promotion half-way), then free (NULL: no-op). */
void rec_cluster_free(rec_cluster *rcl);

/* The monitored cluster, its configuration, its latest analysis. */
mon_cluster *rec_cluster_mon(const rec_cluster *rcl);
const cfg_cluster *rec_cluster_cfg(const rec_cluster *rcl);
ana_code rec_cluster_analysis(const rec_cluster *rcl);
/* The planned write block of the last switchover, if any (true: *out filled); the
 * daemon records it, then clears it. */
bool rec_cluster_planned(const rec_cluster *rcl, rec_planned_block *out);
void rec_cluster_planned_clear(rec_cluster *rcl);

/* Analyse and act. Call every loop turn, after the monitor derived the model. */
void rec_cluster_tick(rec_cluster *rcl, int64_t now_ms);
/* File descriptors to poll for executor messages (0..2). */
size_t rec_cluster_fds(const rec_cluster *rcl, int *fds, size_t max);
/* True while nothing but a probe result can change this cluster's analysis soon: healthy (ANA_OK),
 * no operation, job, fast probing, pending request or rollback, and its primary owes no probe
 * answer for longer than a probe normally takes (a hang starts so). The loop ticks a quiet cluster
 * on its probe results and in a slow sweep only (orchestrator/daemon.c). now_ms: monotonic. */
bool rec_cluster_quiet(const rec_cluster *rcl, int64_t now_ms);
/* The same, for a caller that knows whether the cluster's primary may owe an answer at all
 * (may_wait false: none of its servers has a probe in flight, mon_each_waiting); false skips
 * that part. At 10,000 servers asking every primary's probe on every sweep was 7 % of the
 * controller's CPU. */
bool rec_cluster_quiet_if(const rec_cluster *rcl, int64_t now_ms, bool may_wait);
/* Read and handle executor messages; now_ms: the loop's time (monotonic). */
void rec_cluster_io(rec_cluster *rcl, int64_t now_ms);

/* An operation (recovery or manual) of this cluster is running. */
bool rec_cluster_running(const rec_cluster *rcl);
/* The running operation's recovery id (0: none) and, when kind is not NULL, its kind's name. */
int64_t rec_cluster_running_id(const rec_cluster *rcl, const char **kind);
/* What the readiness tracker (ready_track.c) reads: the environment (store, emit), the latest
 * analysis, the anti-flap block's end (wall ms, 0 none), and the candidate options a failover
 * would use now (never_promote plus servers in a maintenance window, into never[cap]). */
const rec_env *rec_cluster_env(const rec_cluster *rcl);
const ana_result *rec_cluster_last(const rec_cluster *rcl);
int64_t rec_cluster_blocked_until_ms(const rec_cluster *rcl);
cand_opts rec_cluster_candidate_opts(const rec_cluster *rcl, topo_addr *never, size_t cap, const topo_addr *target);
/* What a configuration reload must wait for in this cluster (NULL: nothing); *recovery_id: the running
 * operation's id or 0. */
const char *rec_cluster_busy(const rec_cluster *rcl, int64_t *recovery_id);
/* The anti-flap block holds automatic recovery at wall time now_wall_ms. */
bool rec_cluster_blocked(const rec_cluster *rcl, int64_t now_wall_ms);
/* An asynchronous hook of this cluster started / ended; reset: none runs any more (shutdown). */
void rec_cluster_hook_started(rec_cluster *rcl);
void rec_cluster_hook_ended(rec_cluster *rcl);
void rec_cluster_hooks_reset(rec_cluster *rcl);

/*
 * An operator's request. Returns 0 with *reply for an immediate answer (a
 * dry-run plan), 1 when the operation started (env->manual_done(tag) gets the
 * answer when it ends), or -errno with err for a refusal.
 */
int rec_cluster_manual(rec_cluster *rcl, const rec_manual *m, void *tag, json_t **reply, char *err, size_t errlen);

/* Begin (duration_s 0: until ended) or end maintenance of the cluster or one instance ("" / NULL). */
int rec_cluster_maintenance(rec_cluster *rcl, bool begin, const char *instance, const char *reason, int64_t duration_s,
                            char *err, size_t errlen);
/* Is the cluster (instance NULL) or that instance under maintenance now? */
bool rec_cluster_in_maintenance(const rec_cluster *rcl, const topo_addr *instance);

/* Lift the anti-flap block. */
int rec_cluster_ack(rec_cluster *rcl);
/*
 * The replicas a hook sees, one rule for the recovery's hook steps and the daemon's
 * asynchronous hooks: every server of c but those in skip (the old and the new
 * primary; NULL entries ignored) that is not fenced, has a snapshot and replicates.
 * addrs and reps hold c->n entries (the caller's); returns how many were filled.
 */
size_t rec_hook_replicas(const topo_cluster *c, const topo_addr *const *skip, size_t n_skip,
                         char (*addrs)[TOPO_ADDR_MAX], hook_replica *reps);

/* Status for `myorch status`. */
json_t *rec_cluster_status(const rec_cluster *rcl);

#endif
