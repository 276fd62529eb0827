/*
 * orchestrator/decide/events.h — every event the controller emits, in one table.
 *
 * Owns: the event names (MYORCH_EVENT for hooks, the log, the ZeroMQ PUB
 * topic, the SSE `event:` line, the state database's events table), the most
 * severe level each is logged at, the hook point each triggers, a one-line
 * description; and the hook points themselves (indexes into cfg_cluster.hooks).
 * Pure: no I/O. The README's event list, the EVENTS section of
 * myorch-hooks(7) and every name emitted in the sources are checked against
 * this table (tests/docs/check-events, ctest docs.events).
 *
 * To add an event: add a row here (EV_ID, "name", most severe level, hook
 * point or EV_NO_HOOK, description), emit it, and add it to the README list
 * and to myorch-hooks(7) (`tests/docs/check-events --man` prints that section).
 */
#ifndef MYORCH_ORCHESTRATOR_EVENTS_H
#define MYORCH_ORCHESTRATOR_EVENTS_H

#include <stddef.h>

#include "orchestrator/log.h" /* LOGL_* levels only */

/* Hook points, indexes into cfg_cluster.hooks (names: cfg_hook_names, config.c). */
enum {
    CFG_HOOK_ON_FAILURE_DETECTED = 0,
    CFG_HOOK_PRE_FAILOVER,
    CFG_HOOK_POST_FAILOVER,
    CFG_HOOK_POST_FAILOVER_FAILED,
    CFG_HOOK_PRE_SWITCHOVER,
    CFG_HOOK_POST_SWITCHOVER,
    CFG_HOOK_ON_TOPOLOGY_CHANGE,
    CFG_N_HOOKS
};
#define EV_NO_HOOK (-1)

/* X(id, name, most severe level, hook point, description) */
#define EV_TABLE(X)                                                                                                   \
    /* monitor: what the probes show */                                                                              \
    X(EV_INSTANCE_DISCOVERED, "instance-discovered", LOGL_ERROR, CFG_HOOK_ON_TOPOLOGY_CHANGE,                          \
      "a server was found (a seed, or a replica a probe listed) and is now monitored; error: it cannot be")     \
    X(EV_INSTANCE_UP, "instance-up", LOGL_WARN, CFG_HOOK_ON_TOPOLOGY_CHANGE,                                          \
      "a server answers (first probe, or reachable again)")                                                          \
    X(EV_INSTANCE_DOWN, "instance-down", LOGL_ERROR, CFG_HOOK_ON_TOPOLOGY_CHANGE,                                      \
      "a server stopped answering (debug level: still unreachable, no hook)")                                        \
    X(EV_INSTANCE_ALIAS, "instance-alias", LOGL_INFO, EV_NO_HOOK,                                                     \
      "a second address of an already monitored server (same server_id): the alias is dropped")                      \
    X(EV_INSTANCE_FORGOTTEN, "instance-forgotten", LOGL_WARN, CFG_HOOK_ON_TOPOLOGY_CHANGE,                             \
      "a discovered server unreachable longer than forget_after_s is no longer monitored")                           \
    X(EV_INSTANCE_UNTRUSTED, "instance-untrusted", LOGL_WARN, EV_NO_HOOK,                                             \
      "a discovered address is outside discovery_allow (or not confirmed): never sent credentials")                  \
    X(EV_DISCOVERY_LIMIT, "discovery-limit", LOGL_ERROR, EV_NO_HOOK,                                                  \
      "max_instances_per_cluster reached: a discovered server is not monitored")                                     \
    X(EV_REPLICATION_CHANGED, "replication-changed", LOGL_WARN, CFG_HOOK_ON_TOPOLOGY_CHANGE,                           \
      "a server's source or replication threads changed, or it stopped being a replica")                             \
    X(EV_READ_ONLY_CHANGED, "read-only-changed", LOGL_INFO, EV_NO_HOOK, "a server became read-only or writable")      \
    X(EV_CLUSTER_PROBED, "cluster-probed", LOGL_INFO, EV_NO_HOOK,                                                     \
      "the first probe round of a cluster is complete")                                                              \
    X(EV_REPLICA_LAG_HIGH, "replica-lag-high", LOGL_INFO, CFG_HOOK_ON_TOPOLOGY_CHANGE,                                 \
      "a replica's lag went above read_pool_max_lag_s (or became unknown): out of the read pool")                    \
    X(EV_REPLICA_LAG_OK, "replica-lag-ok", LOGL_INFO, CFG_HOOK_ON_TOPOLOGY_CHANGE,                                     \
      "a replica's lag is back under read_pool_max_lag_s: back in the read pool")                                    \
    X(EV_HEARTBEAT_PERIOD_TOO_LONG, "heartbeat-period-too-long", LOGL_WARN, EV_NO_HOOK,                               \
      "a replica's heartbeat period is off or too long to see a hung primary within the detection budget")           \
    /* analysis: what the cluster's state means */                                                                   \
    X(EV_ANALYSIS_CHANGED, "analysis-changed", LOGL_ERROR, EV_NO_HOOK,                                                \
      "the cluster's analysis changed to one without an event of its own (ok, all-down, ...)")                       \
    X(EV_PRIMARY_SUSPECT, "primary-suspect", LOGL_WARN, EV_NO_HOOK,                                                   \
      "the controller lost the primary but not every replica has: not confirmed dead yet")                           \
    X(EV_PRIMARY_DEAD, "primary-dead", LOGL_ERROR, CFG_HOOK_ON_FAILURE_DETECTED,                                      \
      "the primary is confirmed dead (the controller and its replicas lost it): a failover follows")                 \
    X(EV_PRIMARY_DEAD_MINORITY, "primary-dead-minority", LOGL_ERROR, CFG_HOOK_ON_FAILURE_DETECTED,                    \
      "the primary is dead as seen from a minority side (failover_quorum): no failover")                             \
    X(EV_MULTIPLE_WRITABLE, "multiple-writable", LOGL_ERROR, CFG_HOOK_ON_FAILURE_DETECTED,                            \
      "more than one writable server in the cluster: never acted on")                                                \
    X(EV_INTERMEDIATE_DEAD, "intermediate-dead", LOGL_ERROR, EV_NO_HOOK,                                              \
      "a replica with replicas of its own is dead: its replicas are moved below its source")                         \
    /* recovery: failover, switchover, relocate */                                                                   \
    X(EV_RECOVERY_STARTED, "recovery-started", LOGL_WARN, EV_NO_HOOK, "a recovery (failover, switchover, relocate) starts, with its plan") \
    X(EV_CANDIDATE_SELECTED, "candidate-selected", LOGL_INFO, EV_NO_HOOK,                                             \
      "the replica to promote is chosen, with the reason and the excluded ones")                                     \
    X(EV_REPLICA_PROMOTED, "replica-promoted", LOGL_WARN, EV_NO_HOOK, "the candidate is the new, writable primary")   \
    X(EV_REPLICA_REPOINTED, "replica-repointed", LOGL_INFO, EV_NO_HOOK, "a replica now replicates from the new primary") \
    X(EV_REPLICA_CAUGHT_UP, "replica-caught-up", LOGL_INFO, EV_NO_HOOK,                                               \
      "the candidate applied every transaction it had received (or caught up from a better replica)")               \
    X(EV_REPLICA_LOST, "replica-lost", LOGL_ERROR, EV_NO_HOOK,                                                        \
      "a replica cannot follow the new primary (extra transactions, or repointing failed)")                         \
    X(EV_PRIMARY_FENCED, "primary-fenced", LOGL_WARN, EV_NO_HOOK, "the old primary is read-only and its sessions killed") \
    X(EV_FENCE_DEFERRED, "fence-deferred", LOGL_WARN, EV_NO_HOOK,                                                     \
      "the old primary could not be fenced now: it is made read-only whenever it is reachable again")               \
    X(EV_HOOK_FAILED, "hook-failed", LOGL_ERROR, EV_NO_HOOK,                                                          \
      "a hook failed: a best-effort hook of a recovery, or an asynchronous hook")                                   \
    X(EV_HOOK_VETOED, "hook-vetoed", LOGL_ERROR, EV_NO_HOOK, "a pre_failover or pre_switchover hook failed: the recovery does not start") \
    X(EV_RECOVERY_STEP_FAILED, "recovery-step-failed", LOGL_ERROR, EV_NO_HOOK, "a step of the running recovery failed") \
    X(EV_RECOVERY_ROLLBACK, "recovery-rollback", LOGL_WARN, EV_NO_HOOK,                                               \
      "a recovery that failed before its point of no return is rolled back")                                         \
    X(EV_RECOVERY_DONE, "recovery-done", LOGL_WARN, EV_NO_HOOK, "a recovery finished (post hooks ran)")               \
    X(EV_RECOVERY_FAILED, "recovery-failed", LOGL_ERROR, CFG_HOOK_POST_FAILOVER_FAILED,                                \
      "a recovery failed or could not start (the hook runs for failovers only)")                                     \
    X(EV_RECOVERY_BLOCKED, "recovery-blocked", LOGL_ERROR, EV_NO_HOOK,                                                \
      "a failover is needed but one ran less than failover_block_s ago (anti-flap): not acting")                     \
    X(EV_RECOVERY_SKIPPED, "recovery-skipped", LOGL_ERROR, EV_NO_HOOK,                                                \
      "a failover is needed but auto_failover = no or a maintenance window is open: not acting")                     \
    X(EV_RECOVERY_ACKNOWLEDGED, "recovery-acknowledged", LOGL_INFO, EV_NO_HOOK,                                       \
      "an operator acknowledged the recoveries (myorch ack): the anti-flap block is lifted")                         \
    X(EV_RECOVERY_INTERRUPTED, "recovery-interrupted", LOGL_ERROR, EV_NO_HOOK,                                        \
      "at start, the state database shows a failover the controller did not finish")                                \
    X(EV_RECOVERY_RESUMED, "recovery-resumed", LOGL_WARN, EV_NO_HOOK,                                                 \
      "an interrupted failover past its point of no return is finished")                                            \
    X(EV_RECOVERY_STATE, "recovery-state", LOGL_DEBUG, EV_NO_HOOK,                                                    \
      "a transition of the cluster's recovery state machine (detail from, to, why; orchestrator/decide/rec_state.h)")      \
    /* after-care: the demoted primary and the replicas left behind */                                              \
    X(EV_AFTER_CARE, "after-care", LOGL_ERROR, EV_NO_HOOK,                                                            \
      "after a recovery, a step starts for a server that is not yet where it belongs (error: it cannot start)")      \
    X(EV_AFTER_CARE_FAILED, "after-care-failed", LOGL_ERROR, EV_NO_HOOK, "an after-care step failed (it is retried)") \
    X(EV_PRIMARY_REJOINING, "primary-rejoining", LOGL_INFO, EV_NO_HOOK,                                               \
      "the demoted primary is being made a replica of the new primary")                                             \
    X(EV_PRIMARY_REJOINED, "primary-rejoined", LOGL_INFO, EV_NO_HOOK, "the demoted primary replicates from the new primary") \
    X(EV_PRIMARY_DIVERGED, "primary-diverged", LOGL_ERROR, EV_NO_HOOK,                                                \
      "the demoted primary has transactions the new primary lacks: it stays read-only, out of the cluster")          \
    /* operator */                                                                                                   \
    X(EV_MAINTENANCE_STARTED, "maintenance-started", LOGL_WARN, EV_NO_HOOK,                                           \
      "a maintenance window of a server or the cluster begins: automatic recovery is off for it")                    \
    X(EV_MAINTENANCE_ENDED, "maintenance-ended", LOGL_WARN, EV_NO_HOOK,                                               \
      "a maintenance window ended: automatic recovery is back on")                                                    \
    /* the controller itself: reload, shutdown, state database */                                                     \
    X(EV_CONFIG_RELOADED, "config-reloaded", LOGL_INFO, EV_NO_HOOK,                                                   \
      "a new configuration file is applied (SIGHUP or myorch reload): clusters added, removed, changed")              \
    X(EV_CONFIG_RELOAD_FAILED, "config-reload-failed", LOGL_ERROR, EV_NO_HOOK,                                        \
      "a reload was refused (the loader's FILE:LINE message, or a key that needs a restart): the running configuration stays") \
    X(EV_CONFIG_RELOAD_DEFERRED, "config-reload-deferred", LOGL_INFO, EV_NO_HOOK,                                     \
      "a reload waits until the running operation, after-care job or hook ends")                                      \
    X(EV_RECOVERY_STOPPED, "recovery-stopped", LOGL_WARN, EV_NO_HOOK,                                                 \
      "a controller shutdown stopped a failover at a step boundary: the next start resumes it")                       \
    X(EV_SHUTDOWN_TIMEOUT, "shutdown-timeout", LOGL_ERROR, EV_NO_HOOK,                                                \
      "a recovery step still ran after shutdown_timeout_ms: the controller exits, the next start resumes it")         \
    X(EV_STATE_MIGRATED, "state-migrated", LOGL_INFO, EV_NO_HOOK,                                                     \
      "the state database was migrated in place to the current schema version")                                       \
    /* readiness and drills (orchestrator/decide/readiness.h, drill.h) */                                                    \
    X(EV_FAILOVER_READINESS_CHANGED, "failover-readiness-changed", LOGL_WARN, CFG_HOOK_ON_TOPOLOGY_CHANGE,            \
      "would an automatic failover succeed now changed (ready or not, the reason, the candidate); warning: not ready") \
    X(EV_DRILL_DONE, "drill-done", LOGL_INFO, EV_NO_HOOK,                                                             \
      "a switchover drill went there and back; detail: the measured write blocks")                                    \
    X(EV_DRILL_FAILED, "drill-failed", LOGL_WARN, EV_NO_HOOK,                                                         \
      "a switchover drill failed (the error says at which switchover)")                                               \
    /* coordination = etcd (orchestrator/ha/etcd.h, ha.h; levels set in ha.c) */                                         \
    X(EV_ETCD_LEASE_GRANTED, "etcd-lease-granted", LOGL_INFO, EV_NO_HOOK,                                             \
      "this controller's etcd lease is granted (or trusted again after a keep-alive succeeded)")                      \
    X(EV_ETCD_LEASE_LOST, "etcd-lease-lost", LOGL_WARN, EV_NO_HOOK,                                                   \
      "the lease is lost or not trusted (no keep-alive within TTL minus margin): self-fenced, no recovery")           \
    X(EV_ETCD_LOCK_ACQUIRED, "etcd-lock-acquired", LOGL_INFO, EV_NO_HOOK,                                             \
      "this controller holds a cluster's lock (detail: the fencing token)")                                           \
    X(EV_ETCD_LOCK_LOST, "etcd-lock-lost", LOGL_WARN, EV_NO_HOOK,                                                     \
      "a cluster's lock was lost (lease, key replaced or deleted): no recovery of it from here")                      \
    X(EV_ETCD_LOCK_RELEASED, "etcd-lock-released", LOGL_INFO, EV_NO_HOOK,                                             \
      "a cluster's lock was given back (shutdown)")                                                                   \
    X(EV_ETCD_UNREACHABLE, "etcd-unreachable", LOGL_WARN, EV_NO_HOOK,                                                 \
      "no etcd endpoint answers: monitoring goes on, no recovery starts")                                             \
    X(EV_ETCD_REACHABLE, "etcd-reachable", LOGL_INFO, EV_NO_HOOK,                                                     \
      "etcd answers again")                                                                                           \
    X(EV_ETCD_NAME_CONFLICT, "etcd-name-conflict", LOGL_ERROR, EV_NO_HOOK,                                            \
      "another controller uses this controller_name: never shares a lock; rename one")                                \
    X(EV_RECOVERY_HELD_COORDINATION, "recovery-held-coordination", LOGL_WARN, EV_NO_HOOK,                             \
      "a confirmed failure waits for the cluster's lock or the controllers' detection quorum")

typedef enum {
#define EV_ENUM_(id, name, level, hook, desc) id,
    EV_TABLE(EV_ENUM_)
#undef EV_ENUM_
    EV_N_EVENTS,
    EV_UNKNOWN = -1
} ev_id;

typedef struct {
    const char *name;
    int level; /* the most severe level it is logged at (LOGL_*) */
    int hook;  /* CFG_HOOK_* it triggers, or EV_NO_HOOK */
    const char *description;
} ev_info;

/* The row of an event (NULL for an id out of range). */
const ev_info *ev_get(ev_id id);
/* The name of an event ("?" for an id out of range). */
const char *ev_name(ev_id id);
/* The id of an event name, EV_UNKNOWN when it is not in the table. */
ev_id ev_lookup(const char *name);
/*
 * The hook point an emitted event triggers, or EV_NO_HOOK: its table hook,
 * except that on_topology_change is not run for debug-level repeats ("still
 * unreachable": not a change), and post_failover_failed only for a failover's
 * failure (op_kind "failover", or NULL when the failure is not a running
 * operation's). An unknown event triggers nothing.
 */
int ev_hook_point(ev_id id, int level, const char *op_kind);

#endif
