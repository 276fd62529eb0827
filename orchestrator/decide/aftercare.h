/*
 * orchestrator/decide/aftercare.h — what after-care does next with one server (pure).
 *
 * Owns the decision, never the doing: given the cluster model (with the durable
 * marks of demoted primaries: fenced, fence_gtid) and what the loop knows (the
 * primary to follow, which snapshots are fresh, an interrupted failover's
 * candidate), aftercare_decide() says what to do with server i and why:
 *   - a demoted primary that is writable again, or up with a hanging probe: fence it;
 *   - a demoted primary replicating from the new primary: lift its mark (rejoined);
 *   - a demoted primary holding nothing the new primary lacks: rejoin it below it,
 *     else report it diverged (it stays fenced and out);
 *   - a replica still on a demoted primary: repoint it, or report it lost when it
 *     has transactions the new primary lacks;
 *   - an interrupted failover's candidate: settle the interruption (rolled back when
 *     it replicates, finished when it is writable, else repoint it to the old primary).
 * recovery.c runs the jobs, writes the marks and emits the events.
 */
#ifndef MYORCH_ORCHESTRATOR_AFTERCARE_H
#define MYORCH_ORCHESTRATOR_AFTERCARE_H

#include <stdbool.h>
#include <stdint.h>

#include "topology/cluster.h"

typedef enum {
    AFTERCARE_NONE = 0,          /* nothing to do now */
    AFTERCARE_FENCE,             /* run a fence job on it */
    AFTERCARE_REJOIN,            /* run a rejoin job: below source */
    AFTERCARE_REPOINT,           /* run a repoint job: below source */
    AFTERCARE_REJOINED,          /* a demoted primary replicates from the new primary: lift its mark */
    AFTERCARE_DIVERGED,          /* a demoted primary has extra transactions: report (extra) */
    AFTERCARE_REPLICA_LOST,      /* a replica of a demoted primary has extra transactions: report (extra) */
    AFTERCARE_ROLLED_BACK,       /* the interrupted failover's candidate replicates: rolled back */
    AFTERCARE_ROLLBACK_FINISH,   /* the interrupted failover's candidate is writable: finish that failover */
} aftercare_action;

typedef struct {
    const topo_cluster *model;
    int primary;                 /* the writable primary to follow (index), -1: none */
    int64_t fresh_after_ms;      /* only snapshots taken after this count (monotonic) */
    bool hung_fence_due;         /* a demoted primary whose probe hangs may be fenced now */
    const topo_addr *rollback_cand;   /* an interrupted failover's candidate, NULL: none */
    const topo_addr *rollback_source; /* ... and the old primary it came from */
} aftercare_input;

typedef struct {
    aftercare_action action;
    int source;                  /* REJOIN / REPOINT: the server to replicate from (index), else -1 */
    bool hung;                   /* FENCE: of a demoted primary whose probe hangs */
    const char *why;             /* static text */
    char *extra;                 /* DIVERGED / REPLICA_LOST: the extra GTIDs (heap; aftercare_decision_free) */
} aftercare_decision;

/* Decide for server i of in->model. Returns 0 with *out filled (action may be NONE). */
int aftercare_decide(const aftercare_input *in, size_t i, aftercare_decision *out);
void aftercare_decision_free(aftercare_decision *d);
const char *aftercare_action_name(aftercare_action a);

#endif
