/* orchestrator/decide/rec_state.c — the recovery state rule (pure). */
#include "orchestrator/decide/rec_state.h"

#include <stddef.h>

static const char *const state_names[REC_STATE__COUNT] = {
    [REC_STATE_IDLE] = "idle",
    [REC_STATE_SUSPECT] = "suspect",
    [REC_STATE_CONFIRMED] = "confirmed",
    [REC_STATE_AWAIT_ROLLBACK] = "await-rollback",
    [REC_STATE_BLOCKED] = "blocked",
    [REC_STATE_EXECUTING] = "executing",
    [REC_STATE_HANDLED] = "handled",
};

static const char *const hold_names[] = {
    [REC_HOLD_NONE] = NULL,
    [REC_HOLD_AUTO_OFF] = "auto_failover-off",
    [REC_HOLD_MAINTENANCE] = "maintenance",
    [REC_HOLD_BLOCKED] = "anti-flap",
};

const char *rec_state_name(rec_state s)
{
    return (size_t)s < REC_STATE__COUNT && state_names[s] ? state_names[s] : "?";
}

const char *rec_hold_name(rec_hold h)
{
    return (size_t)h < sizeof(hold_names) / sizeof(hold_names[0]) ? hold_names[h] : NULL;
}

/* The order of the tests is the order of precedence: a running operation first, then the
 * analysis, then what was already done for this failure, then what holds it back. */
rec_state_verdict rec_state_decide(const rec_state_input *in)
{
    if (in->executing)
        return (rec_state_verdict){REC_STATE_EXECUTING, REC_HOLD_NONE, "an operation runs"};
    if (!ana_is_failover(in->code)) {
        if (in->code == ANA_PRIMARY_SUSPECT || in->code == ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING)
            return (rec_state_verdict){REC_STATE_SUSPECT, REC_HOLD_NONE,
                                       "the primary looks lost; the replicas have not confirmed it"};
        return (rec_state_verdict){REC_STATE_IDLE, REC_HOLD_NONE, "no failure of the primary"};
    }
    if (in->incident_handled)
        return (rec_state_verdict){REC_STATE_HANDLED, REC_HOLD_NONE,
                                   "the failover of this failure was launched, or refused and recorded"};
    if (in->rollback_pending && !in->rollback_expired)
        return (rec_state_verdict){REC_STATE_AWAIT_ROLLBACK, REC_HOLD_NONE,
                                   "an interrupted failover's candidate is awaited first"};
    if (!in->auto_failover)
        return (rec_state_verdict){REC_STATE_BLOCKED, REC_HOLD_AUTO_OFF, "auto_failover = no"};
    if (in->in_maintenance)
        return (rec_state_verdict){REC_STATE_BLOCKED, REC_HOLD_MAINTENANCE,
                                   "the cluster or its primary is under maintenance"};
    if (in->anti_flap)
        return (rec_state_verdict){REC_STATE_BLOCKED, REC_HOLD_BLOCKED,
                                   "a recovery ran less than failover_block_s ago"};
    if (in->retry_wait)
        return (rec_state_verdict){REC_STATE_BLOCKED, REC_HOLD_NONE, "the failover could not be started: retrying later"};
    return (rec_state_verdict){REC_STATE_CONFIRMED, REC_HOLD_NONE, "the primary's failure is confirmed"};
}
