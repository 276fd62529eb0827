/*
 * orchestrator/decide/coord.h — the pure decisions of controller coordination
 * (issue 14, coordination = etcd). No I/O: orchestrator/ha/etcd.c gathers the
 * facts (published views, lease times), this module decides.
 *
 * Owns:
 *  - detection quorum: given every known controller's published view of one
 *    cluster's primary, whether enough live controllers with fresh views agree
 *    the primary is dead (detection_quorum = majority | N);
 *  - self-fencing: whether this controller may still consider its lease (and
 *    so its locks) valid, from the send time of its last successful
 *    keep-alive, the TTL and a safety margin.
 *
 * A controller is live while its lease is (its keys bound to the lease exist
 * in etcd). A view votes only when it is fresh: refreshed within fresh_ms
 * (controllers republish on change and at least every fresh_ms / 2; the age
 * is measured on the observer's own clock, from when it saw the view's
 * revision change, so clock skew between controllers does not matter).
 */
#ifndef MYORCH_ORCHESTRATOR_COORD_H
#define MYORCH_ORCHESTRATOR_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One controller's view of one cluster's primary. */
typedef struct {
    const char *name;            /* the controller */
    bool lease_alive;            /* its controller key (bound to its lease) exists */
    bool has_view;               /* it published a view of this cluster */
    int64_t age_ms;              /* since the view was last refreshed, on the observer's clock */
    bool primary_reachable;      /* false: it holds the primary dead (confirmed on its side) */
    size_t replicas_seen;        /* replicas it reaches */
    size_t replicas_confirming;  /* of those, replicas that lost the primary too */
} coord_view;

typedef struct {
    const coord_view *views;     /* every controller known, this one included */
    size_t n_views;
    const char *self;            /* this controller's name (must be among the views) */
    int64_t fresh_ms;            /* a view older than this does not vote (> 0) */
    int detection_quorum;        /* 0: majority of the live controllers; N >= 1: N of them */
} coord_input;

typedef struct {
    bool agree;                  /* the detection quorum holds: a dead-primary failover may be considered */
    size_t live;                 /* live controllers (this one included) */
    size_t fresh;                /* live controllers with a fresh view of the cluster */
    size_t dead_votes;           /* of those, controllers that see the primary dead */
    size_t needed;               /* votes needed (0 when the input is inconsistent) */
    char why[256];               /* one line, e.g. "2 of 3 live controllers see the primary dead, 2 needed" */
} coord_verdict;

/* Decide; never fails (inconsistent input, e.g. no view for self or a name
 * twice, gives agree = false with the reason). */
void coord_detect(const coord_input *in, coord_verdict *out);

/* The margin kept before a lease's expiry: a quarter of the TTL, at least 500 ms
 * (bounded by half the TTL). */
int64_t coord_lease_margin_ms(int64_t ttl_ms);

/*
 * Self-fencing: true while the lease may be trusted. last_ok_sent_ms is the
 * monotonic time at which the last keep-alive (or the grant) that succeeded
 * was SENT (etcd restarted the TTL at some point after that), 0 when none
 * succeeded. Trusted until last_ok_sent_ms + ttl_ms - margin.
 */
bool coord_lease_safe(int64_t last_ok_sent_ms, int64_t now_ms, int64_t ttl_ms);

/* Milliseconds the lease stays trusted from now_ms (<= 0: not trusted). */
int64_t coord_lease_left_ms(int64_t last_ok_sent_ms, int64_t now_ms, int64_t ttl_ms);

#endif
