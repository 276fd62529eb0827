/*
 * orchestrator/decide/handoff.h — what a controller does with the shared journal record it
 * found when it took a cluster's lock (coordination = etcd, issue 14). Pure: the record's
 * identity and state and what runs here in, one action and a one-line reason out;
 * orchestrator/act/recovery.c (handoff) reads the record and applies the action.
 *
 * A lock can be taken again by the controller that lost it (its lease expired during an
 * etcd stall, a new lease took the lock back) while its own recovery still runs here. The
 * record is then its own: same controller name AND same recovery id (ids are per controller:
 * each has its own state database, so a name alone or an id alone names nobody). Such a
 * recovery is neither an interrupted one of a previous holder to take over nor one to drop:
 *
 *   record state          record is                   here                   action
 *   finished              anyone's                    anything               FINISHED (anti-flap, demoted primary)
 *   running / stopped     this controller's, this id  that recovery runs     OWN_RUNNING (left alone; judged again
 *                                                                            once it ended)
 *   running / stopped     anyone else's (or another   an operation runs      WAIT (judged once it ended: nothing is
 *                         id of this controller)                             taken over beside a running operation)
 *   running / stopped     this controller's, this id  it ended here, its     OWN_ENDED (the outcome known here goes
 *                                                     outcome settled here   into the journal; nothing is resumed)
 *   running / stopped     anything else               nothing runs           TAKE_OVER (resume_run: finished or
 *                                                                            rolled back, judged from the servers)
 *
 * "Settled here": the recovery finished, failed or rolled itself back; one refused by the
 * fencing check rolled nothing back (its lock had passed on) and is taken over instead.
 */
#ifndef MYORCH_ORCHESTRATOR_HANDOFF_H
#define MYORCH_ORCHESTRATOR_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HANDOFF_FINISHED = 0,
    HANDOFF_OWN_RUNNING,
    HANDOFF_WAIT,
    HANDOFF_OWN_ENDED,
    HANDOFF_TAKE_OVER,
} handoff_action;

typedef struct {
    const char *state;           /* the record's "state" */
    const char *controller;      /* the record's "controller" */
    int64_t recovery_id;         /* the record's "recovery_id" (0: absent) */
    const char *self;            /* this controller's name */
    bool running_here;           /* an operation of this controller runs now */
    int64_t running_id;          /* its recovery id */
    int64_t ended_id;            /* the last recovery that ended here (0: none) */
    bool ended_settled;          /* it ended settled here (not refused by the fencing check) */
} handoff_input;

/* Decide; never fails (a record without state or controller counts as unfinished and not
 * this controller's). why: one line. */
handoff_action handoff_judge(const handoff_input *in, char *why, size_t whylen);
const char *handoff_action_name(handoff_action a);

#endif
