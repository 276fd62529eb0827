/*
 * orchestrator/store.h — the state directory: the SQLite state database
 * (<state_dir>/state.db) and the single-instance lock (<state_dir>/myorch.pid).
 *
 * Owns: the schema (sql/state-schema.sql, compiled in), saving and reloading
 * instances with their last snapshot, and the event log table. Callers
 * batch writes with store_begin()/store_commit(); the recovery audit and
 * maintenance writes commit themselves at once (store_sync()).
 */
#ifndef MYORCH_ORCHESTRATOR_STORE_H
#define MYORCH_ORCHESTRATOR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/cluster.h"

typedef struct store store;

/*
 * Create state_dir if missing (mode 0700), refuse one with any group or
 * other permission bit (it must be 0700), and take the single-instance lock: a second daemon on the same
 * state_dir gets -EBUSY with a message naming the running pid. The lock is
 * held until store_unlock().
 */
int store_lock(const char *state_dir, int *lock_fd, char *err, size_t errlen);
void store_unlock(int lock_fd, const char *state_dir);

/*
 * The state database's schema version (PRAGMA user_version). 1: the schema of
 * the release before versioning (52c2c8f: no instances.trusted_by); 2: with
 * discovery trust. Raise it with every schema change and add a migration in
 * store.c (tests/unit/test_store.c opens the previous releases' databases).
 */
#define STORE_SCHEMA_VERSION 2

/*
 * Open (creating and migrating) <state_dir>/state.db. An older schema (or none:
 * written before versioning) is migrated in place in one transaction; a newer
 * one is refused (-EPROTO) with a message naming the file and both versions.
 */
int store_open(const char *state_dir, store **out, char *err, size_t errlen);
/* The schema version store_open() migrated from (0: unversioned), -1 when it did not migrate. */
int store_migrated_from(const store *s);
/* The schema version of the database file db_path, opened read-only. */
int store_schema_version(const char *db_path, int *out, char *err, size_t errlen);
void store_close(store *s);

int store_begin(store *s);
int store_commit(store *s);
/* Commit what is pending now; a batch that was open stays open. */
int store_sync(store *s);

/* Insert or update one instance row (snapshot as JSON when have_snap). */
int store_save_instance(store *s, const char *cluster, const topo_instance *in, int64_t now_s);
int store_delete_instance(store *s, const char *cluster, const topo_addr *addr);

/*
 * Add every stored instance of `cluster` to c (stale snapshots, not
 * reachable until probed), with the reason it was trusted (trusted_by).
 * Rows without one (written before discovery trust existed, when any
 * replica-list entry was probed) are deleted instead, unless fenced. Calls added(user, in) for each so the caller can
 * start probing it. Returns the number loaded or -errno.
 */
int store_load_instances(store *s, const char *cluster, topo_cluster *c,
                         void (*added)(void *user, topo_instance *in), void *user,
                         char *err, size_t errlen);

/* Append one event row. detail_json may be NULL. */
int store_add_event(store *s, int64_t ts_ms, const char *name, const char *level,
                    const char *cluster, const char *instance, const char *message,
                    const char *detail_json);

/* Delete events older than older_than_ms (unix ms), then all but the newest keep_max. */
int store_prune_events(store *s, int64_t older_than_ms, int keep_max);

/* ---- recovery audit ---- */

typedef struct {
    const char *cluster, *kind, *trigger, *analysis, *evidence, *old_primary, *new_primary;
    int64_t primary_lost_ms, detected_ms, started_ms;
    const char *plan_json, *old_primary_gtid;
} store_recovery;

/*
 * Insert a running recovery; *id receives its id. -EBUSY when the cluster
 * already has a running one (the lock), with a message naming it.
 */
int store_recovery_begin(store *s, const store_recovery *r, int64_t *id, char *err, size_t errlen);
int store_recovery_step(store *s, int64_t id, int idx, const char *kind, const char *target,
                        const char *description, int64_t started_ms, int64_t ended_ms,
                        const char *result, const char *message);
int store_recovery_promoted(store *s, int64_t id, int64_t promoted_ms, const char *new_primary_gtid);
int store_recovery_end(store *s, int64_t id, const char *state, int64_t ended_ms, const char *lost_gtids,
                       const char *error);
/* The cluster's running recovery (left by a controller that stopped mid-way): its id,
 * kind, old and planned new primary, and whether it recorded the promotion. */
typedef struct {
    int64_t id;
    char kind[16];
    char old_primary[TOPO_ADDR_MAX], new_primary[TOPO_ADDR_MAX];
    bool promoted;
    char *new_primary_gtid;     /* heap or NULL: its position when it was made writable */
} store_running;
/* 1 with *out filled when the cluster has a running recovery, 0 none, -errno.
 * Release with store_running_free(). */
int store_recovery_running(store *s, const char *cluster, store_running *out);
void store_running_free(store_running *r);
/* Mark the cluster's running recoveries interrupted (after a crash). Returns how many. */
int store_recovery_interrupt(store *s, const char *cluster, int64_t now_ms);
/* End time (unix ms) of the cluster's last unacknowledged finished recovery, 0 none. */
int64_t store_recovery_last_end_ms(store *s, const char *cluster);
int store_recovery_ack(store *s, const char *cluster);
/* Recoveries of a cluster (NULL: all), newest first, with steps when id > 0. */
json_t *store_recoveries_json(store *s, const char *cluster, int64_t id, int limit);

/* Timings of a cluster's finished recoveries that promoted (newest first, at most cap), for the
 * RTO estimate (orchestrator/decide/readiness.h). Returns how many were written, or -EIO. */
typedef struct {
    char kind[16];
    int64_t primary_lost_ms, detected_ms, started_ms, promoted_ms; /* unix ms, 0 = not recorded */
} store_timing;
int store_recovery_timings(store *s, const char *cluster, store_timing *out, size_t cap);
/* Changes with every write to the recoveries table (begin, promoted, end, interrupt): an answer of
 * store_recovery_timings() read at one value stays true while the value does. */
uint64_t store_recoveries_version(const store *s);

/* ---- switchover drills (myorch drill) ---- */
typedef struct {
    const char *cluster, *from_primary, *via, *error;
    int64_t started_ms, ended_ms;
    bool ok;
    int64_t there_recovery_id, back_recovery_id;
    int64_t there_write_block_ms, back_write_block_ms; /* -1: not measured */
} store_drill;
int store_drill_add(store *s, const store_drill *d);
/* The cluster's last drill (ok_only: the last successful one) as an object, or NULL when none. */
json_t *store_drill_last_json(store *s, const char *cluster, bool ok_only);
/* The same for every cluster at once, in one query: an object keyed by cluster name (clusters
 * without one are absent), or NULL on a database error. For /metrics: one query per cluster
 * per scrape was half of a scrape's time at 2,500 clusters (bench/README.md). */
json_t *store_drill_last_all_json(store *s, bool ok_only);

/* ---- maintenance windows ---- */
int store_maintenance_begin(store *s, const char *cluster, const char *instance, const char *reason,
                            int64_t started_ms, int64_t until_ms);
int store_maintenance_end(store *s, const char *cluster, const char *instance, int64_t ended_ms);
/* Open windows of a cluster: fn(user, instance, reason, started_ms, until_ms) for each. */
int store_maintenance_load(store *s, const char *cluster, int64_t now_ms,
                           void (*fn)(void *user, const char *instance, const char *reason, int64_t started_ms,
                                      int64_t until_ms),
                           void *user);

/* ---- availability history ---- */
int store_availability_add(store *s, const char *cluster, int64_t ts_ms, const char *state);
/* Rows of a cluster from since_ms on (plus the last one before it), oldest first: [[ts_ms, state], ...]. */
json_t *store_availability_json(store *s, const char *cluster, int64_t since_ms);

/* Last error text of the database handle. */
const char *store_errmsg(store *s);

#endif
