/*
 * orchestrator/decide/analysis.h — failure analysis: one cluster model in, one code
 * from a closed vocabulary plus the evidence out. Pure: no I/O, no clock
 * (times come in the input), table-driven unit tests (tests/unit/test_analysis.c).
 *
 * The central rule: the primary is dead only when the controller cannot reach
 * it AND every reachable replica of it has, in a probe taken after the
 * controller lost the primary, its own connection to it down or reconnecting
 * (IO thread Connecting, or No with an IO error) — and at least one replica
 * gives that evidence. One replica still replicating (IO thread Yes) means the
 * primary is alive and only the controller lost it: warn, never fail over.
 *
 * A hung primary (SIGSTOP, stuck disk: its sockets stay open) is caught the
 * same way (issue 18), with two more pieces of evidence:
 *   - the controller "cannot reach" it also when its current probe has been
 *     waiting for an answer longer than the caller's bound
 *     (ana_input.primary_waiting_since_ms), not only after the read
 *     timeout failed the probe;
 *   - a replica whose IO thread still says Yes confirms too when it is
 *     STALLED: it has received nothing (no event, no heartbeat: same
 *     topo_replica_rx_mark) for more than stall_periods × its own heartbeat
 *     period, measured on the controller's clock between its own probes
 *     (topo_instance.rx_since_ms to the send time of the last probe: a lower
 *     bound of the real silence, never the server's timestamps).
 * A primary paused for less than that, or one busy with a long statement
 * (it still sends heartbeats), keeps its replicas' marks moving: no failover.
 *
 * On top of it, the majority rule (quorum.h): a confirmed dead primary is failed
 * over only when the controller's side holds a strict majority of the voters
 * (the primary, its direct replicas and the controllers). Otherwise the code is
 * DEAD_PRIMARY_MINORITY: the primary may be alive on the other side of a
 * partition with the rest of the cluster, and a promotion here would be a
 * second writer.
 */
#ifndef MYORCH_ORCHESTRATOR_ANALYSIS_H
#define MYORCH_ORCHESTRATOR_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "orchestrator/decide/quorum.h"
#include "topology/cluster.h"

typedef enum {
    ANA_NOT_READY = 0,        /* first complete probe round not done: no judgement yet */
    ANA_OK,                   /* primary reachable and writable, every replica replicating */
    ANA_NO_PRIMARY,           /* no server is known as the primary (empty cluster, only detached servers) */
    ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, /* controller lost the primary, some replica still replicates */
    ANA_PRIMARY_SUSPECT,      /* primary unreachable, no replica has confirmed yet (no fresh probe / no evidence) */
    ANA_DEAD_PRIMARY,         /* confirmed dead, every replica reachable */
    ANA_DEAD_PRIMARY_AND_SOME_REPLICAS, /* confirmed dead, some replicas unreachable too (the rest confirm) */
    ANA_ALL_DOWN,             /* primary and every replica unreachable */
    ANA_DEAD_PRIMARY_NO_REPLICAS, /* primary unreachable and it has no replica at all: nothing to promote */
    ANA_REPLICAS_BROKEN,      /* primary fine; some replica's IO/SQL thread stopped or erroring, or replica down */
    ANA_LOCKED_SEMI_SYNC,     /* primary has semi-sync on (source side) but no semi-sync replica acknowledges */
    ANA_PRIMARY_READ_ONLY,    /* primary reachable but read-only: nobody can write */
    ANA_DEAD_PRIMARY_MINORITY, /* confirmed dead on this side, but this side is a minority of the voters */
    ANA_MULTIPLE_WRITABLE,    /* primary reachable and writable, and a detached (not demoted) server is writable too */
} ana_code;

typedef struct {
    bool first_round_done;      /* the cluster has had one complete probe round */
    /* The majority rule (quorum.h). controllers == 0 means one controller that
     * sees what this model shows (coordination = none). */
    size_t controllers, controllers_agreeing;
    bool quorum_off;            /* failover_quorum = none */
    /* Hung primary (issue 18). stall_periods == 0: replicas are never judged
     * stalled (only IO thread states count). */
    int stall_periods;
    /* Probe clock (ms) when the controller sent the question the primary has not
     * answered yet, already longer than the caller's answer bound; 0: none. The
     * primary is then treated as unreachable since that time. */
    int64_t primary_waiting_since_ms;
    /* While the primary only owes an answer (above): a replica whose receiving stopped more
     * than this (plus stall_periods + 1 of its own heartbeat periods) before that question lost
     * the primary to something else and confirms no hang (0: no bound). The caller sets it to
     * what a real hang can put between the two: a poll interval and a margin. */
    int64_t stall_lead_ms;
} ana_input;

typedef struct {
    ana_code code;
    int primary;                /* index of the primary in the cluster, -1 none */
    size_t replicas;            /* direct replicas of the primary (ana_is_direct_replica) */
    size_t replicas_reachable;
    size_t replicas_replicating;   /* reachable, IO thread Yes (primary unreachable: in a fresh probe only) */
    size_t replicas_confirming;    /* primary unreachable; reachable, fresh probe, IO Connecting / No with IO error,
                                      or stalled */
    size_t replicas_stalled;       /* of those confirming: IO Yes but nothing received for > stall_periods periods */
    size_t replicas_stale;         /* primary unreachable; reachable but not probed since it was lost */
    size_t writable_others;        /* primary reachable: other reachable writable servers replicating from nothing */
    size_t replicas_broken;        /* reachable, IO or SQL thread No, or an SQL error
                                      (primary reachable: also IO/SQL thread not Yes, e.g. Connecting) */
    quorum_verdict quorum;      /* filled when the primary is confirmed dead (DEAD_PRIMARY*, MINORITY) */
    char evidence[1024];        /* one line, human-readable: why this code; ends in "..." if cut */
} ana_result;

/*
 * Analyse c. Never fails; out is always filled. c or in NULL, or
 * !in->first_round_done → NOT_READY; so is a primary not probed yet in this
 * run (known only from the state file). Order of judgement:
 *   no primary → NO_PRIMARY.
 *   primary reachable: read_only/super_read_only → PRIMARY_READ_ONLY; another
 *     reachable server replicating from nothing (not fenced: a demoted primary is
 *     after-care's) with read_only and super_read_only off →
 *     MULTIPLE_WRITABLE (never acted on: reported, for the operator); semi-sync
 *     source enabled, status ON and 0 clients → LOCKED_SEMI_SYNC; a reachable
 *     replica with IO/SQL not Yes or an SQL error, or an unreachable replica →
 *     REPLICAS_BROKEN; else OK.
 *   primary unreachable (probed, failed; or waiting: in->primary_waiting_since_ms,
 *     then down since that time): a replica probe is "fresh" when
 *     snap.taken_at_ms > primary->down_since_ms. A fresh replica with IO Yes
 *     that is stalled confirms (see above) instead of replicating. No replicas → DEAD_PRIMARY_NO_REPLICAS;
 *     none reachable → ALL_DOWN; one fresh IO Yes → PRIMARY_UNREACHABLE_REPLICAS_REPLICATING;
 *     no confirming replica, or some reachable replica not fresh → PRIMARY_SUSPECT
 *     (IO No without an error is neutral: no evidence either way); else
 *     DEAD_PRIMARY_AND_SOME_REPLICAS when some replica is unreachable, DEAD_PRIMARY;
 *     either becomes DEAD_PRIMARY_MINORITY when quorum_decide() finds no majority
 *     (servers = 1 + replicas, replicas on this side = the reachable ones).
 * Fenced instances are never counted as replicas.
 */
void ana_analyze(const topo_cluster *c, const ana_input *in, ana_result *out);

/*
 * Instance i is a direct replica of instance `primary`: not fenced, and
 * parent == primary (topo_cluster_derive), or reachable with a snapshot whose
 * replication source is the primary's address. Shared with candidate.c.
 */
bool ana_is_direct_replica(const topo_cluster *c, size_t i, int primary);

/*
 * How long (ms, controller's clock) replica r has provably received nothing:
 * from the probe that first saw its current receive mark to the send time of
 * its last probe. -1 when unknown (no heartbeat counter, not probed, not a
 * replica). Shared with recovery.c (reporting).
 */
int64_t ana_replica_quiet_ms(const topo_instance *r);

/* Stable names: "ok", "dead-primary", "primary-unreachable-but-replicas-replicating", ... */
const char *ana_code_name(ana_code code);
/* True for the codes that call for an automatic failover. */
bool ana_is_failover(ana_code code);

#endif
