/*
 * orchestrator/decide/rec_state.h — the states of one cluster's recovery and the pure
 * rule that decides the state from what the loop observed this turn.
 *
 * Owns: enum rec_state and its names, rec_hold (what holds a confirmed failure
 * back) and its names, rec_state_decide(). No I/O: recovery.c gathers the
 * inputs (analysis, clocks, maintenance windows), applies the verdict (one
 * function per state) and logs and emits every transition ("recovery-state").
 *
 *   idle ──primary looks lost──▶ suspect ──replicas confirm──▶ confirmed ──launch──▶ executing
 *     ▲                            │                             │   ▲                  │
 *     └────────failure clears──────┴─────────────────────────────│───│──────────────────┤
 *                                         held back ◀────────────┘   │ hold lifted       ▼
 *                                    (blocked: auto_failover off,  ──┘              handled (until
 *                                     maintenance, anti-flap, retry)                the failure clears)
 *   await-rollback: confirmed, but a failover interrupted by a controller stop is
 *   settled first (its candidate replicates again, bounded wait).
 */
#ifndef MYORCH_ORCHESTRATOR_REC_STATE_H
#define MYORCH_ORCHESTRATOR_REC_STATE_H

#include <stdbool.h>

#include "orchestrator/decide/analysis.h"

typedef enum {
    REC_STATE_IDLE = 0,       /* no failure of the primary */
    REC_STATE_SUSPECT,        /* the primary looks lost; the replicas have not confirmed it */
    REC_STATE_CONFIRMED,      /* a failure confirmed and nothing holds it back: the failover starts */
    REC_STATE_AWAIT_ROLLBACK, /* confirmed, but an interrupted failover's candidate is awaited first */
    REC_STATE_BLOCKED,        /* confirmed, held back (auto_failover off, maintenance, anti-flap, launch retry) */
    REC_STATE_EXECUTING,      /* an operation's executor runs (failover, switchover, relocate, intermediate) */
    REC_STATE_HANDLED,        /* this failure's failover was launched, or refused and recorded */
    REC_STATE__COUNT
} rec_state;

/* What holds a confirmed failure back (reported once, re-evaluated every turn). */
typedef enum { REC_HOLD_NONE = 0, REC_HOLD_AUTO_OFF, REC_HOLD_MAINTENANCE, REC_HOLD_BLOCKED } rec_hold;

/* What the loop observed this turn. */
typedef struct {
    bool executing;           /* an operation's executor runs */
    ana_code code;   /* this turn's analysis */
    bool incident_handled;    /* the failover of this failure was launched (or refused and recorded) */
    bool rollback_pending;    /* an interrupted failover awaits its candidate */
    bool rollback_expired;    /* ... and the bounded wait for it is over */
    bool auto_failover;       /* configuration */
    bool in_maintenance;      /* the cluster or its primary */
    bool anti_flap;           /* a recovery ended less than failover_block_s ago (not acknowledged) */
    bool retry_wait;          /* a failed launch is retried later (backoff) */
} rec_state_input;

typedef struct {
    rec_state state;
    rec_hold hold;            /* REC_STATE_BLOCKED: what holds it (REC_HOLD_NONE: the launch retry backoff) */
    const char *why;          /* static text: the reason, for the log and the event */
} rec_state_verdict;

rec_state_verdict rec_state_decide(const rec_state_input *in);

/* "idle", "suspect", "confirmed", "await-rollback", "blocked", "executing", "handled". */
const char *rec_state_name(rec_state s);
/* NULL (none), "auto_failover-off", "maintenance", "anti-flap". */
const char *rec_hold_name(rec_hold h);

#endif
