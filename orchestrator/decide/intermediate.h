/*
 * orchestrator/decide/intermediate.h — a dead intermediate primary (orchestrator's
 * DeadIntermediateMaster): a replica A that has replicas of its own is gone, and
 * its replicas replicate from nothing. Pure: the cluster model in, the verdict,
 * where A's replicas can go and why some cannot, out. No I/O, no clock.
 *
 * The same holistic rule as for a primary: A is dead only when the controller
 * cannot reach it AND every reachable replica of A, in a probe taken after the
 * controller lost A, has its own connection to A down or reconnecting (with at
 * least one such replica). One replica still replicating from A means only the
 * controller lost it. Only judged while the cluster's primary is reachable (a
 * dead primary is the failover's business).
 *
 * A's replicas go below A's own source (its parent in the model), by GTID, and
 * only when that source has every transaction the replica applied (else the
 * replica is reported lost with the transactions it would lack).
 */
#ifndef MYORCH_ORCHESTRATOR_INTERMEDIATE_H
#define MYORCH_ORCHESTRATOR_INTERMEDIATE_H

#include <stddef.h>

#include "topology/cluster.h"

typedef enum {
    IMD_NONE = 0,               /* no intermediate primary is lost */
    IMD_SUSPECT,                /* one is unreachable; its replicas have not all confirmed yet */
    IMD_DEAD,                   /* confirmed dead: move its replicas (movable) */
} imd_code;

typedef struct {
    imd_code code;
    int dead;                   /* index of the intermediate primary, -1 none */
    int new_source;             /* its own source, where its replicas go; -1 unknown or unreachable */
    int *movable;               /* heap: replicas of it that can go below new_source */
    size_t n_movable;
    char *lost;                 /* heap or NULL: "addr: why" lines of replicas that cannot */
    char evidence[1024];        /* one line: why this verdict; ends in "..." if cut */
} imd_analysis;

/* Judge c. 0 with *out filled (free with imd_analysis_free), -ENOMEM with err. */
int imd_analyze(const topo_cluster *c, imd_analysis *out, char *err, size_t errlen);
void imd_analysis_free(imd_analysis *a);

#endif
