/*
 * orchestrator/decide/plan.h — recovery plans: the ordered list of steps a failover
 * (or, later, a switchover) will run, with their targets and expected GTID
 * positions. Pure: built from the cluster model and a candidate ranking; a
 * dry run prints it, the executor runs it step by step, the audit stores it.
 *
 * A failover plan:
 *   stop-io       every reachable direct replica: freeze what each received
 *   wait-apply    (catch-up case) the most advanced replica applies its relay log
 *   catch-up      (catch-up case) the candidate replicates from the most advanced until it has everything
 *   wait-apply    the candidate applies its relay log up to what it received (bounded)
 *   detach        the candidate: STOP + RESET replication
 *   set-writable  the candidate: read_only off             <- point of no return
 *   semi-sync     the candidate: semi-sync source on, when the old primary had it
 *   repoint       every other reachable direct replica → the candidate, by GTID
 *   verify        each repointed replica: IO and SQL threads running
 *   fence         the old primary: read_only on, client sessions killed (best effort)
 * Before the point of no return a failed step aborts the recovery (replicas
 * get their IO threads back); after it, failures are recorded and the plan
 * goes on (a replica that cannot follow is reported lost).
 */
#ifndef MYORCH_ORCHESTRATOR_PLAN_H
#define MYORCH_ORCHESTRATOR_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "orchestrator/decide/analysis.h"
#include "orchestrator/decide/candidate.h"
#include "topology/cluster.h"
#include "topology/dialect.h"

typedef enum {
    PLAN_STEP_STOP_IO = 0,
    PLAN_STEP_WAIT_APPLY,
    PLAN_STEP_CATCH_UP,
    PLAN_STEP_DETACH,
    PLAN_STEP_SET_WRITABLE,
    PLAN_STEP_SEMI_SYNC_SOURCE,
    PLAN_STEP_REPOINT,
    PLAN_STEP_VERIFY,
    PLAN_STEP_FENCE,
    PLAN_STEP_START_IO,          /* rollback: give a replica its IO thread back */
    PLAN_STEP_REJOIN,            /* an old primary becomes a replica of the new one */
    PLAN_STEP_CHECK_TRX,         /* switchover: refuse when a write transaction runs longer than timeout_ms/1000 s... see below */
    PLAN_STEP_DEMOTE,            /* switchover: old primary read-only, client sessions ended, final position captured */
    PLAN_STEP_WAIT_CAUGHT_UP,    /* switchover: target applies the old primary's final position (bounded) */
    PLAN_STEP_UNDEMOTE,          /* rollback: the old primary writable again */
    PLAN_STEP_HOOK,              /* run a hook point's commands (hook = its name); pre hooks can veto */
    PLAN_STEP_CHECK_SOURCE,      /* relocate: the new source has (or soon has) everything the replica applied */
} plan_step_kind;

/*
 * What an operation is: a recovery (failover, or a dead intermediate primary's
 * replicas moved), an operator's request (switchover, relocate) or an after-care
 * job. The names are stored (state database), shown and sent in events: never
 * change them. Code decides on the enum, never on the name.
 */
typedef enum {
    REC_OP_NONE = 0,
    REC_OP_FAILOVER,
    REC_OP_SWITCHOVER,
    REC_OP_RELOCATE,
    REC_OP_INTERMEDIATE,
    REC_OP_AFTERCARE,
    REC_OP__COUNT
} rec_op;

/* "failover", "switchover", "relocate", "intermediate", "after-care"; "" for REC_OP_NONE. */
const char *rec_op_name(rec_op op);
/* The operation named name (exact), REC_OP_NONE when it names none. */
rec_op rec_op_parse(const char *name);
/* A promotion ends it (failover, switchover); relocate and intermediate only move replicas. */
bool rec_op_promotes(rec_op op);

/*
 * A failover's stop-io steps: does this replica's own status say that its source refuses
 * connections? Error 2003 with errno 111 (ECONNREFUSED on Linux: MariaDB writes
 * `(111 "Connection refused")`, MySQL `(111)`) and its IO thread not connected: the source's process
 * is gone and its port closed. The executor then stops the IO thread without the KILL and pause
 * it uses against a source that may hang (orchestrator/act/executor.c, kill_io_of_lost_source).
 */
bool plan_source_refuses(const topo_replica_status *r);

/* What the executor needs to talk to a server without the cluster model. */
typedef struct {
    topo_addr addr;
    topo_flavor flavor;
    int major, minor, patch;
    dialect_caps caps;          /* from its snapshot (known = false: never probed; the executor learns it) */
} plan_server;

typedef struct {
    plan_step_kind kind;
    plan_server target;
    plan_server source;          /* repoint / catch-up / rejoin: the server to replicate from */
    plan_server prev_source;     /* relocate's repoint: the source it had, given back if the move fails */
    bool has_prev;
    char *gtid;                 /* wait-apply / catch-up: the position to reach (heap, may be NULL) */
    int timeout_ms;
    bool best_effort;           /* a failure is recorded but does not fail the recovery */
    bool no_return;             /* the point of no return: from here on, no abort */
    int limit_s;                /* check-trx: the longest write transaction allowed, seconds */
    char hook[32];              /* hook: the hook point, e.g. "pre_failover" */
} plan_step;

typedef struct {
    char cluster[48];
    rec_op op;                  /* what it is: decisions use this */
    char kind[16];              /* its name as stored and printed (rec_op_name(op); an after-care job's given name) */
    plan_step *v;
    size_t n;
    plan_server old_primary;
    plan_server new_primary;
    char *old_primary_gtid;     /* last position seen on the old primary (heap, may be NULL) */
    char *new_primary_gtid;     /* what the candidate has (received ∪ executed) (heap, may be NULL) */
    char *expected_lost_gtids;  /* old_primary_gtid − new_primary_gtid, "" none, NULL unknown (heap) */
    char reason[512];           /* why this candidate */
    char *excluded;             /* one line per excluded replica with the reason (heap, may be NULL) */
    char *unreachable;          /* replicas that cannot be repointed now (heap, may be NULL) */
} plan_spec;

typedef struct {
    int apply_timeout_ms;       /* wait-apply / catch-up / wait-caught-up bound */
    int max_trx_s;              /* switchover: longest running write transaction tolerated */
    int verify_timeout_ms;      /* verify bound */
    int fence_timeout_ms;       /* fence bound */
} plan_options;

/*
 * Build the failover plan for the cluster's dead primary (old_primary index)
 * from a ranking with a chosen candidate. -EINVAL when r has no candidate,
 * -ENOMEM. err says why.
 */
int plan_failover(const topo_cluster *c, int old_primary, const cand_ranking *r, const plan_options *o,
                      plan_spec *out, char *err, size_t errlen);
/*
 * Build a graceful switchover plan: old_primary (alive) hands over to the
 * ranking's chosen replica. check-trx, demote, wait-caught-up, detach,
 * set-writable (point of no return), repoint + verify the others, rejoin the
 * old primary below the new one. A failure before the point of no return
 * rolls back (the old primary becomes writable again).
 */
int plan_switchover(const topo_cluster *c, int old_primary, const cand_ranking *r, const plan_options *o,
                        plan_spec *out, char *err, size_t errlen);
/* Relocate: replica → below new_source (repoint + verify). */
int plan_relocate(const topo_cluster *c, int replica, int new_source, const plan_options *o, plan_spec *out,
                      char *err, size_t errlen);
/*
 * A dead intermediate primary (orchestrator/decide/intermediate.h): each of the replicas
 * movable[0..n) goes below new_source (repoint), then each is verified. Kind
 * "intermediate"; old_primary = the dead server, new_primary = new_source; nothing
 * is promoted and the primary is not touched.
 */
int plan_intermediate(const topo_cluster *c, int dead, int new_source, const int *movable, size_t n,
                          const plan_options *o, plan_spec *out, char *err, size_t errlen);
/* Insert a hook step at position pos (0 = first, n = last). */
int plan_add_hook(plan_spec *p, size_t pos, const char *hook, bool veto, int timeout_ms);

/* A one-step plan (fence or rejoin) for an old primary that came back. kind names it ("after-care";
 * op is rec_op_parse(kind)). */
int plan_single(const char *cluster, const char *kind, plan_step_kind step, const topo_instance *target,
                    const topo_instance *source, int timeout_ms, plan_spec *out, char *err, size_t errlen);
void plan_free(plan_spec *p);

const char *plan_step_name(plan_step_kind k);
/* "127.0.0.1:23307 → 127.0.0.1:23306  until 0-1-5  (≤10000 ms)" style line for a step, whole, on the
 * heap (the caller frees; NULL: out of memory). */
char *plan_step_describe(const plan_step *s);
json_t *plan_to_json(const plan_spec *p);
void plan_print(const plan_spec *p, FILE *out);

/* Deep copy of a plan (heap strings duplicated); dst is freed on failure. */
int plan_copy(plan_spec *dst, const plan_spec *src);

#endif
