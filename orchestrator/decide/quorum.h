/*
 * orchestrator/decide/quorum.h — the majority rule for an automatic dead-primary
 * failover (issue 14). Pure: counts in, a verdict and a one-line reason out.
 *
 * Voters: the cluster's servers (the primary and its direct replicas) and the
 * controllers. The acting side: the controllers that see the primary dead
 * (this one included) and the replicas they reach, each of which has lost the
 * primary too (analysis.c guarantees that before asking). A failover may start
 * only when the acting side is a strict majority of the voters, and, with
 * several controllers, a strict majority of the controllers agree as well.
 *
 *   servers   controllers  acting side                       votes/voters  verdict
 *   2 (P+R)   1            controller + R                    2/3           act
 *   3 (P+2R)  1            controller + 2R (P alone died)    3/4           act
 *   3         1            controller + 1R (zone split)      2/4           wait
 *   5 (P+4R)  1            controller + 3R                   4/6           act
 *   5         1            controller + 2R                   3/6           wait
 *   3         3            3 controllers + 2R                5/6           act
 *   3         3            2 controllers + 1R (zone split)   3/6           wait
 *
 * The trade-off: a primary that crashes together with half of its replicas
 * (or more) is not failed over automatically; an operator runs
 * 'myorch failover --force'. failover_quorum = none turns the rule off for a
 * cluster (the controller then fails over whatever side it is on).
 */
#ifndef MYORCH_ORCHESTRATOR_QUORUM_H
#define MYORCH_ORCHESTRATOR_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t servers;              /* voting servers: the primary + its direct replicas */
    size_t replicas_on_side;     /* replicas the acting controller reaches (all lost the primary) */
    size_t controllers;          /* controllers in the deployment (1 with coordination = none) */
    size_t controllers_agreeing; /* controllers that see the primary dead, this one included */
    bool off;                    /* failover_quorum = none: always act */
} quorum_input;

typedef struct {
    bool majority;               /* a failover may start */
    size_t votes, voters, needed;
    char why[256];               /* one line, e.g. "2 of 4 voters on this side, 3 needed" */
} quorum_verdict;

/* Decide; never fails (bad input, e.g. more agreeing controllers than
 * controllers or zero controllers, yields majority = false with the reason). */
void quorum_decide(const quorum_input *in, quorum_verdict *out);

/*
 * Which controllers are voters (quorum_input.controllers with coordination = etcd).
 * Every controller seen live stays a voter while it is away (a crashed controller, or
 * one cut off on the other side of a split, is a voter that does not agree), but not
 * forever: one not seen live for forget_ms ([myorch] etcd_voter_forget_s, default one
 * day) is forgotten, so that a decommissioned controller stops counting against the
 * majority. Times are the observer's monotonic clock.
 *
 * quorum_voter_forgotten: the controller last seen live at last_seen_ms no longer votes
 * at now_ms (forget_ms <= 0: never forgotten; a last_seen_ms in the future: not forgotten).
 * quorum_controllers_voting: the voters among n remembered controllers (last_seen_ms[i]),
 * never fewer than the live ones (live, this controller included) nor fewer than 1.
 */
bool quorum_voter_forgotten(int64_t last_seen_ms, int64_t now_ms, int64_t forget_ms);
size_t quorum_controllers_voting(const int64_t *last_seen_ms, size_t n, size_t live, int64_t now_ms,
                                 int64_t forget_ms);

#endif
