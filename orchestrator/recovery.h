/*
 * orchestrator/recovery.h — one recovery state machine per cluster.
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
 * States: idle → (suspect) → confirmed → executing → done | failed, then the
 * cluster is blocked for failover_block_s unless acknowledged.
 */
#ifndef MYORCH_ORCHESTRATOR_RECOVERY_H
#define MYORCH_ORCHESTRATOR_RECOVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "orchestrator/analysis.h"
#include "orchestrator/config.h"
#include "orchestrator/executor.h"
#include "orchestrator/monitor.h"
#include "orchestrator/plan.h"
#include "orchestrator/store.h"

typedef void (*rec_emit_fn)(void *user, int level, const char *name, mon_cluster *c, const topo_instance *in,
                            const char *message, json_t *detail);

typedef struct {
    store *st;
    monitor *mon;
    rec_emit_fn emit;
    void *user;
    int connect_timeout_ms;
    const rec_exec_hooks *hooks;  /* unused: hook steps are wired per recovery (see recovery.c) */
    /* A manual operation finished: the answer for the operator who asked (tag). */
    void (*manual_done)(void *user, void *tag, json_t *result);
    /* Controller coordination (issue 14, orchestrator/ha.h): may this controller start an
     * automatic recovery of the cluster now (it holds the cluster's lock, the detection
     * quorum agrees)? NULL: yes (coordination = none). false: why says what is missing. */
    bool (*may_act)(void *user, mon_cluster *c, const rec_analysis *a, char *why, size_t whylen);
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

/* A maintenance window (cluster-wide when instance is empty). */
typedef struct {
    char instance[TOPO_ADDR_MAX];
    char reason[256];
    int64_t started_ms, until_ms; /* wall; until 0 = open-ended */
} rec_maintenance;

/* What holds a confirmed failure back (reported once, re-evaluated every turn). */
typedef enum { REC_HOLD_NONE = 0, REC_HOLD_AUTO_OFF, REC_HOLD_MAINTENANCE, REC_HOLD_BLOCKED } rec_hold;

typedef struct rec_cluster {
    rec_env *env;
    mon_cluster *mc;
    const cfg_cluster *cfg;

    rec_analysis last;            /* latest analysis */
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
    rec_exec *exec;
    rec_plan plan;
    int64_t recovery_id;
    int64_t step_started_ms;
    bool promoted;
    char *promoted_gtid;
    char *last_error;             /* the running operation's error (heap, NULL none) */

    /* A one-step job on a demoted primary or a stray replica (fence, rejoin, repoint). */
    rec_exec *job;
    rec_plan job_plan;
    int64_t job_next_ms;          /* monotonic: earliest next job */
    int64_t hung_fence_next_ms;   /* monotonic: earliest next fence of a demoted primary whose probe hangs */
    char kind[16];                /* kind of the running operation */
    bool manual;                  /* the running operation was asked for by an operator */
    void *pending_tag;            /* who waits for its answer */
    int64_t demote_started_ms;    /* switchover: when the old primary stopped taking writes */
    int64_t writes_refused_ms;    /* switchover: demote start → new primary writable */
    /* A planned write block (switchover) for the availability record: from the demote's start to
     * the promotion (or the end of the operation when nothing was promoted). The daemon records
     * and clears them; 0 = none / not ended yet. Wall ms. */
    int64_t planned_from_ms, planned_to_ms;
    topo_addr planned_primary;    /* the primary once the block is over (new, or old when rolled back) */
    bool hooks_failed;            /* a post hook failed: "done-hooks-failed" */
    bool vetoed;                  /* a pre hook vetoed */
    struct rec_hook_ctx *hook_ctx; /* what the recovery's hook steps tell the hooks */
    int async_hooks_running;      /* asynchronous hooks of this cluster running now (the daemon counts;
                                   * the recovery's own hooks wait for them: one hook at a time per cluster) */
    rec_exec_hooks hook_iface;
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
} rec_cluster;

int rec_cluster_init(rec_cluster *rc, rec_env *env, mon_cluster *mc, const cfg_cluster *cfg, char *err,
                     size_t errlen);
/* Wait for running work to finish (never abandon a promotion half-way), then free. */
void rec_cluster_free(rec_cluster *rc);

/* Analyse and act. Call every loop turn, after the monitor derived the model. */
void rec_cluster_tick(rec_cluster *rc, int64_t now_ms);
/* File descriptors to poll for executor messages (0..2). */
size_t rec_cluster_fds(const rec_cluster *rc, int *fds, size_t max);
/* Read and handle executor messages. */
void rec_cluster_io(rec_cluster *rc);

/*
 * An operator's request. Returns 0 with *reply for an immediate answer (a
 * dry-run plan), 1 when the operation started (env->manual_done(tag) gets the
 * answer when it ends), or -errno with err for a refusal.
 */
int rec_cluster_manual(rec_cluster *rc, const rec_manual *m, void *tag, json_t **reply, char *err, size_t errlen);

/* Begin (duration_s 0: until ended) or end maintenance of the cluster or one instance ("" / NULL). */
int rec_cluster_maintenance(rec_cluster *rc, bool begin, const char *instance, const char *reason, int64_t duration_s,
                            char *err, size_t errlen);
/* Is the cluster (instance NULL) or that instance under maintenance now? */
bool rec_cluster_in_maintenance(const rec_cluster *rc, const topo_addr *instance);

/* Lift the anti-flap block. */
int rec_cluster_ack(rec_cluster *rc);
/* Status for `myorch status`. */
json_t *rec_cluster_status(const rec_cluster *rc);

#endif
