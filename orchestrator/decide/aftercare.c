/* orchestrator/decide/aftercare.c — after-care decisions (pure). */
#include "orchestrator/decide/aftercare.h"

#include <stdlib.h>
#include <string.h>

#include "topology/dialect.h"
#include "topology/gtid.h"

static const char *const action_names[] = {
    [AFTERCARE_NONE] = "none",
    [AFTERCARE_FENCE] = "fence",
    [AFTERCARE_REJOIN] = "rejoin",
    [AFTERCARE_REPOINT] = "repoint",
    [AFTERCARE_REJOINED] = "rejoined",
    [AFTERCARE_DIVERGED] = "diverged",
    [AFTERCARE_REPLICA_LOST] = "replica-lost",
    [AFTERCARE_ROLLED_BACK] = "rolled-back",
    [AFTERCARE_ROLLBACK_FINISH] = "rollback-finish",
};

const char *aftercare_action_name(aftercare_action a)
{
    return (size_t)a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a] : "?";
}

void aftercare_decision_free(aftercare_decision *d)
{
    if (!d)
        return;
    free(d->extra);
    d->extra = NULL;
}

static int decided(aftercare_decision *out, aftercare_action a, int source, const char *why)
{
    out->action = a;
    out->source = source;
    out->why = why;
    return 0;
}

/* What mine has that theirs lacks: 0 with *extra (heap, "" none), -1 when the positions cannot be compared. */
static int extra_of(topo_flavor f, const char *mine, const char *theirs, char **extra)
{
    char err[256];
    *extra = NULL;
    if (gtid_text_errant(dialect_gtid_kind(f), mine ? mine : "", theirs ? theirs : "", extra, err, sizeof(err)) < 0) {
        free(*extra);
        *extra = NULL;
        return -1;
    }
    return 0;
}

/* The interrupted failover's candidate (see recovery.c resume_interrupted). */
static int decide_rollback(const aftercare_input *in, const topo_instance *x, aftercare_decision *out)
{
    int old;
    if (x->snap.replica.present)
        return decided(out, AFTERCARE_ROLLED_BACK, -1, "the candidate replicates: the interrupted failover is rolled back");
    if (!x->snap.read_only)
        return decided(out, AFTERCARE_ROLLBACK_FINISH, -1,
                       "the candidate was made writable before the controller stopped: the failover is finished");
    old = in->rollback_source ? topo_cluster_find(in->model, in->rollback_source) : -1;
    if (old < 0)
        return decided(out, AFTERCARE_NONE, -1, NULL);
    return decided(out, AFTERCARE_REPOINT, old,
                   "the candidate of a failover interrupted before its point of no return: giving it its replication "
                   "from the old primary back");
}

/* x (its position: mine) against what the new primary had when fenced (the fence mark), else now:
 * transactions the new primary lacks give lost, none give ok (on the new primary). */
static int decide_by_extra(const aftercare_input *in, const topo_instance *x, const topo_instance *fenced,
                           const char *mine, aftercare_decision *out, aftercare_action lost, const char *lost_why,
                           aftercare_action ok, const char *ok_why)
{
    const topo_instance *np = in->model->v[in->primary];
    const char *theirs = fenced->fence_gtid ? fenced->fence_gtid : dialect_snap_own_gtid(&np->snap);
    if (extra_of(x->snap.flavor, mine, theirs, &out->extra) < 0)
        return decided(out, AFTERCARE_NONE, -1, NULL);
    if (out->extra && *out->extra)
        return decided(out, lost, -1, lost_why);
    aftercare_decision_free(out);
    return decided(out, ok, in->primary, ok_why);
}

/* A demoted primary that answers. */
static int decide_demoted(const aftercare_input *in, const topo_instance *x, aftercare_decision *out)
{
    const topo_cluster *m = in->model;
    const topo_instance *np = in->primary >= 0 ? m->v[in->primary] : NULL;
    const topo_replica_status *r = &x->snap.replica;

    if (!x->snap.read_only)
        return decided(out, AFTERCARE_FENCE, -1, "a demoted primary is writable again: fencing it");
    if (np && r->present && topo_addr_eq(&r->source, &np->addr) && r->io_state == TOPO_THREAD_YES &&
        r->sql_state == TOPO_THREAD_YES)
        return decided(out, AFTERCARE_REJOINED, in->primary, "the demoted primary replicates from the new primary");
    if (!np || r->present)
        return decided(out, AFTERCARE_NONE, -1, NULL);
    /* MariaDB positions compare sequence numbers per domain only: against the new primary's
     * current position, an old primary's own extra transaction 0-1-N would pass once the new
     * one has written 0-2-N. Judge it against what the new primary had when it was promoted. */
    return decide_by_extra(in, x, x, dialect_snap_own_gtid(&x->snap), out, AFTERCARE_DIVERGED,
                           "the demoted primary has transactions the new primary lacks", AFTERCARE_REJOIN,
                           "the demoted primary holds nothing the new primary lacks: rejoining it as a replica");
}

/* A replica still pointing at a demoted primary (it was down during the failover). */
static int decide_stray(const aftercare_input *in, const topo_instance *x, aftercare_decision *out)
{
    const topo_cluster *m = in->model;
    int si = topo_cluster_find(m, &x->snap.replica.source);
    const topo_instance *src = si >= 0 ? m->v[si] : NULL;

    if (!src || !src->fenced)
        return decided(out, AFTERCARE_NONE, -1, NULL);
    return decide_by_extra(in, x, src, dialect_snap_applied_gtid(&x->snap), out, AFTERCARE_REPLICA_LOST,
                           "it has transactions the new primary lacks", AFTERCARE_REPOINT,
                           "a replica of the demoted primary: repointing it to the new primary");
}

int aftercare_decide(const aftercare_input *in, size_t i, aftercare_decision *out)
{
    const topo_instance *x = in->model->v[i];
    const topo_instance *np = in->primary >= 0 ? in->model->v[in->primary] : NULL;

    memset(out, 0, sizeof(*out));
    out->source = -1;
    if (x->fenced && !x->reachable && x->hung && x->have_snap && in->hung_fence_due) {
        /* It logs in and answers, then a statement hangs: typically a semi-sync primary
         * that was cut off, whose commits wait for acknowledgements that will never come
         * and hold the binary log. The probe cannot see whether it is writable; the fence
         * (which stops those waits) is safe either way. */
        out->hung = true;
        return decided(out, AFTERCARE_FENCE, -1,
                       "a demoted primary is up but a probe statement hangs (commits waiting for semi-sync "
                       "acknowledgements?): fencing it");
    }
    if (!x->reachable || !x->have_snap || x->stale || x == np)
        return decided(out, AFTERCARE_NONE, -1, NULL);
    /* Only act on what a server said after the last recovery changed things. */
    if (x->snap.taken_at_ms <= in->fresh_after_ms)
        return decided(out, AFTERCARE_NONE, -1, NULL);
    if (in->rollback_cand && topo_addr_eq(&x->addr, in->rollback_cand)) {
        decide_rollback(in, x, out);
        if (out->action != AFTERCARE_NONE)
            return 0;
    }
    if (x->fenced)
        return decide_demoted(in, x, out);
    if (np && x->snap.replica.present)
        return decide_stray(in, x, out);
    return decided(out, AFTERCARE_NONE, -1, NULL);
}
