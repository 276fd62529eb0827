/*
 * topology/cluster.h — the cluster model: the set of servers of one
 * replication cluster, the last thing each one told us, and the tree they
 * form (who replicates from whom, who is the primary).
 *
 * Owns: topo_instance, topo_cluster, discovery decisions (which addresses a
 * snapshot points at that we do not know yet), alias detection (one server
 * reached under two names), down/forget bookkeeping, role derivation, and the
 * text and JSON renderings of the topology. No I/O: the daemon feeds it
 * snapshots and acts on what it returns.
 */
#ifndef MYORCH_TOPOLOGY_CLUSTER_H
#define MYORCH_TOPOLOGY_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "topology/instance.h"

typedef enum {
    TOPO_ROLE_UNKNOWN = 0, /* never probed successfully */
    TOPO_ROLE_PRIMARY,     /* root of the cluster's main tree */
    TOPO_ROLE_REPLICA,     /* replicates from a member of the cluster */
    TOPO_ROLE_DETACHED,    /* reachable, but neither the primary nor replicating from a member */
} topo_role;

typedef struct topo_instance {
    topo_addr addr;
    bool seed;               /* configured seed: never forgotten */
    bool have_snap;          /* snap holds a successful probe (possibly restored) */
    bool stale;              /* snap was restored from the state file, not probed by this run */
    topo_snapshot snap;      /* last successful probe */
    bool reachable;          /* the last probe succeeded */
    bool probed;             /* at least one probe finished (ok or not) in this run */
    bool hung;               /* unreachable, but the last probe was answered in part: the server
                              * is up and a statement hangs (see topo_snapshot.answered) */
    unsigned err_code;       /* last failure */
    char err[512];
    int64_t first_seen_s;    /* wall clock, seconds */
    int64_t last_ok_s;       /* wall clock of the last successful probe, 0 never */
    int64_t down_since_s;    /* wall clock when it became unreachable, 0 when up */
    int64_t down_since_ms;   /* monotonic ms (probe clock) of the failure that made it unreachable, 0 when up */
    bool fenced;             /* a demoted old primary: never elected primary, kept read-only */
    bool lag_high;           /* owner's bookkeeping: lag above the read-pool bound when last checked */
    char *fence_gtid;        /* heap: the new primary's position when this (old) primary was demoted;
                              * it may rejoin only if its own position is a subset of it */
    char trusted_by[16];     /* why it may receive credentials: seed, source, allowed, confirmed */
    int64_t rx_since_ms;     /* receive progress (issue 18): probe clock (snap.taken_at_ms) of the probe that
                              * first saw the replica's current topo_replica_rx_mark(); nothing was received
                              * from then until the last probe was sent. 0 unknown (no counter, not a replica,
                              * restored snapshot). Kept by topo_cluster_update(). */
    bool hb_reported;        /* owner's bookkeeping: heartbeat period too long, reported */
    void *probe;             /* owner's handle (probe_target) */
    int64_t persisted_s;     /* owner's bookkeeping: when last written to the state file */

    /* Derived by topo_cluster_derive(). */
    int parent;              /* index of the server it replicates from, -1 none/unknown */
    topo_role role;
    int depth;
    /* Lag measured against the primary's GTID timeline (works when
     * Seconds_Behind is NULL, e.g. SQL thread stopped): seconds since the
     * primary was first seen with a transaction this replica has not applied. */
    double timeline_lag_s;   /* -1 unknown */
    bool timeline_lag_lower_bound; /* the gap is older than the timeline kept */
    int64_t behind_trx;      /* transactions the primary has that it has not applied, -1 unknown */
} topo_instance;

/* Samples of the primary's GTID position, for timeline lag. */
#define TOPO_TIMELINE_MAX 256
typedef struct {
    int64_t at_ms;           /* monotonic ms of the primary's probe */
    struct gtid_set *pos;
} topo_pos_sample;

typedef struct {
    topo_addr alias;
    topo_addr canonical;
} topo_alias;

/* A server only another server's replica list names, not trusted with
 * credentials (see topology/trust.h): shown, never probed, never stored. */
typedef struct {
    topo_addr addr;
    topo_addr via;           /* the server whose replica list names it */
    char reason[480];
    int64_t since_s;         /* wall clock: first refused */
    int64_t checked_ms;      /* owner's bookkeeping: monotonic ms of the last verdict */
} topo_untrusted;

typedef struct topo_cluster {
    char name[48];
    topo_instance **v;
    size_t n, cap;
    int primary;             /* index of the primary, -1 when none is known */
    topo_alias *aliases;
    size_t n_aliases, cap_aliases;
    topo_pos_sample timeline[TOPO_TIMELINE_MAX]; /* ring, oldest at tl_head */
    size_t tl_head, tl_n;
    topo_addr tl_primary;    /* whose positions the timeline holds */
    char *tl_last_text;      /* last recorded position text (skip duplicates) */
    topo_untrusted *untrusted; /* refused replica-list entries (bounded by the owner) */
    size_t n_untrusted, cap_untrusted;
} topo_cluster;

/* What topo_cluster_update() saw change; the daemon turns these into events. */
enum {
    TOPO_CHANGE_UP = 1 << 0,          /* was unreachable or never probed, now reachable */
    TOPO_CHANGE_DOWN = 1 << 1,        /* was reachable (or never probed), now unreachable */
    TOPO_CHANGE_SOURCE = 1 << 2,      /* replicates from another source than before */
    TOPO_CHANGE_THREADS = 1 << 3,     /* IO or SQL thread state changed */
    TOPO_CHANGE_READ_ONLY = 1 << 4,   /* read_only flipped */
    TOPO_CHANGE_ERROR = 1 << 5,       /* failure text changed while down */
};

void topo_cluster_init(topo_cluster *c, const char *name);
void topo_cluster_free(topo_cluster *c);

/* Index of the instance with this address (or alias of it), -1 if unknown. */
int topo_cluster_find(const topo_cluster *c, const topo_addr *a);

/* Add an instance (no-op returning the existing one if known). NULL on OOM. */
topo_instance *topo_cluster_add(topo_cluster *c, const topo_addr *a, bool seed, int64_t now_s);

/* Remove instance i (caller releases inst->probe first). */
void topo_cluster_remove(topo_cluster *c, size_t i);

/*
 * Fold a finished probe into instance i. On success the snapshot is moved
 * into the instance (snap is left cleared). Returns TOPO_CHANGE_* flags.
 * Does not re-derive roles: call topo_cluster_derive() after a batch.
 */
unsigned topo_cluster_update(topo_cluster *c, size_t i, topo_snapshot *snap, int64_t now_s);

/*
 * After a successful probe of instance i: if another reachable instance has
 * the same server_id (same server, other name), record i's address as an
 * alias of it and return that instance's index; else -1.
 */
int topo_cluster_check_alias(topo_cluster *c, size_t i);

/*
 * Addresses instance i's snapshot refers to (its source, its replicas) that
 * the cluster does not know. Returns how many were written to out (≤ max).
 */
size_t topo_cluster_unknown_neighbours(const topo_cluster *c, size_t i, topo_addr *out, size_t max);

/* The refused entry for a, or NULL. */
topo_untrusted *topo_cluster_untrusted_find(topo_cluster *c, const topo_addr *a);
/* Record (or update) a refused entry. NULL on OOM. */
topo_untrusted *topo_cluster_untrusted_set(topo_cluster *c, const topo_addr *a, const topo_addr *via,
                                           const char *reason, int64_t now_s);
void topo_cluster_untrusted_remove(topo_cluster *c, size_t i);

/* Indexes of non-seed instances unreachable for at least forget_after_s. */
size_t topo_cluster_forgettable(const topo_cluster *c, int64_t now_s, int forget_after_s,
                                size_t *out, size_t max);

/*
 * Record the primary's GTID position (MariaDB gtid_binlog_pos, MySQL
 * gtid_executed) seen at at_ms. Unchanged positions are skipped; a new
 * primary restarts the timeline. Unparseable text is ignored.
 */
void topo_cluster_note_primary_pos(topo_cluster *c, const topo_instance *primary, int64_t at_ms);

/* How many timeline samples (oldest first) were taken at or before taken_at_ms: the ones a
 * replica probed then could have had. */
size_t topo_timeline_seen(const topo_cluster *c, int64_t taken_at_ms);
/* Of the first n_seen samples, the index of the first whose position is not within has
 * (n_seen when it has them all). Positions only grow, so this is a binary search. */
size_t topo_timeline_first_missing(const topo_cluster *c, size_t n_seen, const struct gtid_set *has);

/* Recompute parent, role, depth, the primary and replica lag figures. */
void topo_cluster_derive(topo_cluster *c);

/* The GTID position worth showing for an instance ("" when unknown). */
const char *topo_instance_gtid(const topo_instance *in);
/* Replication lag in seconds, or -1 when not a replica / unknown: the
 * heartbeat lag query if configured, else Seconds_Behind, else timeline lag. */
double topo_instance_lag_s(const topo_instance *in);
const char *topo_role_name(topo_role r);

/* JSON renderings (new references). */
json_t *topo_snapshot_to_json(const topo_snapshot *s);
/* Inverse of topo_snapshot_to_json for restoring state. Returns 0 or -EINVAL. */
int topo_snapshot_from_json(const json_t *j, topo_snapshot *s);
json_t *topo_instance_to_json(const topo_instance *in, int64_t now_s);
json_t *topo_cluster_to_json(const topo_cluster *c, int64_t now_s);

/* Tree view, like orchestrator-client -c topology but with thread states,
 * lag and errors inline. Works on the JSON form so the CLI can render what
 * the daemon sent. color: use ANSI colors. */
void topo_render_text(const json_t *cluster_json, FILE *out, bool color);

#endif
