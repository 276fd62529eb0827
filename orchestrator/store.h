/*
 * orchestrator/store.h — the state directory: the SQLite state database
 * (<state_dir>/state.db) and the single-instance lock (<state_dir>/myorch.pid).
 *
 * Owns: the schema (sql/state-schema.sql, compiled in), saving and reloading
 * instances with their last snapshot, and the event log table. Callers
 * batch writes with store_begin()/store_commit().
 */
#ifndef MYORCH_ORCHESTRATOR_STORE_H
#define MYORCH_ORCHESTRATOR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "topology/cluster.h"

typedef struct store store;

/*
 * Create state_dir if missing (mode 0700), refuse one that other users can
 * write, and take the single-instance lock: a second daemon on the same
 * state_dir gets -EBUSY with a message naming the running pid. The lock is
 * held until store_unlock().
 */
int store_lock(const char *state_dir, int *lock_fd, char *err, size_t errlen);
void store_unlock(int lock_fd, const char *state_dir);

/* Open (creating and migrating) <state_dir>/state.db. */
int store_open(const char *state_dir, store **out, char *err, size_t errlen);
void store_close(store *s);

int store_begin(store *s);
int store_commit(store *s);

/* Insert or update one instance row (snapshot as JSON when have_snap). */
int store_save_instance(store *s, const char *cluster, const topo_instance *in, int64_t now_s);
int store_delete_instance(store *s, const char *cluster, const topo_addr *addr);

/*
 * Add every stored instance of `cluster` to c (stale snapshots, not
 * reachable until probed). Calls added(user, in) for each so the caller can
 * start probing it. Returns the number loaded or -errno.
 */
int store_load_instances(store *s, const char *cluster, topo_cluster *c,
                         void (*added)(void *user, topo_instance *in), void *user,
                         char *err, size_t errlen);

/* Append one event row. detail_json may be NULL. */
int store_add_event(store *s, int64_t ts_ms, const char *name, const char *level,
                    const char *cluster, const char *instance, const char *message,
                    const char *detail_json);

/* Last error text of the database handle. */
const char *store_errmsg(store *s);

#endif
