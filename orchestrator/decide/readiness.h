/*
 * orchestrator/decide/readiness.h — failover readiness (issue 16, "know before it
 * breaks"): would an automatic failover succeed right now, and to which
 * replica; what it would lose (RPO) and how long it would take (RTO).
 * Pure: the cluster model, the current analysis and the cluster's policy in,
 * a verdict with every reason out. No I/O, no clock (times come in); the
 * daemon's glue (orchestrator/act/ready_track.h) gathers the input.
 *
 * The question asked is "if the primary died now": the failover would rank
 * the primary's direct replicas exactly as recovery does (cand_rank
 * with the same never_promote + maintenance and prefer lists) and needs a
 * majority of the voters on the controller's side (quorum_decide with the
 * replicas the controller reaches now). Not ready, with the first reason as
 * the code and every reason found in the text ("; "-joined), when:
 *   not-probed          the first probe round is not done
 *   no-primary          no primary is known
 *   primary-unhealthy   the primary is already unreachable / read-only (the
 *                       analysis is not ok, replicas-broken or locked-semi-sync)
 *   recovery-running    a recovery or switchover runs now
 *   auto-failover-off   auto_failover = no: nothing would happen by itself
 *   maintenance         the cluster is under maintenance
 *   anti-flap           the block after a recovery holds failovers back
 *   no-replicas         the primary has no direct replica
 *   quorum-minority     with the replicas the controller reaches now, its side
 *                       would not be a majority (quorum.h)
 *   diverged            the replicas diverged: nobody has everything
 *   errant-gtids        every replica that could be chosen has errant GTIDs
 *   no-candidate        nobody eligible (candidate.h says why)
 *   candidate-lagging   the chosen replica has applied less than
 *                       ready_max_lag_s allows (it must apply that first)
 *   semi-sync-off       ready_require_semi_sync = yes and the primary's source
 *                       side or the candidate's replica side is not on
 *   hooks-missing       a configured failover hook's program is not there
 *                       (the caller looks; the text names it)
 *
 * RPO (ready_rpo): what the candidate has not received (HAS = received ∪
 * executed, as candidate.h ranks) of the primary's position as the controller
 * last saw it before the candidate's probe (the cluster's timeline of primary
 * positions, topology/cluster.h): transactions = |primary − HAS|; seconds =
 * the candidate probe's time minus the time the primary was first seen with a
 * transaction the candidate lacks (0 when it lacks nothing). Both are
 * estimates between two probes: they do not see what the primary committed
 * since its last probe. Unknown (-1) without GTID state or timeline.
 *
 * RTO (ready_rto_estimate): detection + promotion, each the median of the
 * last recoveries measured in the state database: detection = detected −
 * primary lost (failovers); promotion = promoted − detected (failovers) or
 * promoted − started (switchovers and drills). Without a measured sample a
 * documented default is used instead and the basis says so:
 * detection = 2 × poll_interval_ms + read_timeout_ms, promotion = 5000 ms.
 */
#ifndef MYORCH_ORCHESTRATOR_READINESS_H
#define MYORCH_ORCHESTRATOR_READINESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/decide/analysis.h"
#include "orchestrator/decide/candidate.h"
#include "topology/cluster.h"

typedef enum {
    READY_OK = 0,
    READY_NOT_PROBED,
    READY_NO_PRIMARY,
    READY_PRIMARY_UNHEALTHY,
    READY_RECOVERY_RUNNING,
    READY_AUTO_FAILOVER_OFF,
    READY_MAINTENANCE,
    READY_ANTI_FLAP,
    READY_NO_REPLICAS,
    READY_QUORUM_MINORITY,
    READY_DIVERGED,
    READY_ERRANT,
    READY_NO_CANDIDATE,
    READY_LAGGING,
    READY_SEMI_SYNC_OFF,
    READY_HOOKS_MISSING,
} ready_code;

#define READY_DEFAULT_PROMOTE_MS 5000

typedef struct {
    const topo_cluster *c;
    const ana_result *analysis;     /* ana_analyze() of c, now */
    const cand_opts *cand;   /* never_promote (+ replicas in maintenance), prefer; NULL: none */
    bool auto_failover;
    bool maintenance;                 /* cluster-wide maintenance now */
    bool recovery_running;
    int64_t blocked_ms;               /* anti-flap block left (ms), 0 none */
    bool quorum_off;                  /* failover_quorum = none */
    double max_lag_s;                 /* ready_max_lag_s; < 0: no bound */
    bool require_semi_sync;           /* ready_require_semi_sync */
    const char *hooks_missing;        /* NULL/"": none; else what is missing (the caller checked) */
} ready_input;

typedef struct {
    bool ready;
    ready_code code;                  /* the first reason (READY_OK when ready) */
    char reason[1024];                /* every reason, "; "-joined, "" when ready; ends in "..." if cut */
    char candidate[TOPO_ADDR_MAX];    /* who would be promoted, "" nobody */
    bool needs_catchup;               /* it would first catch up from the most advanced replica */
    double candidate_lag_s;           /* its apply lag (Seconds_Behind, else timeline lag), -1 unknown */
    int64_t rpo_trx;                  /* transactions it has not received, -1 unknown */
    double rpo_s;                     /* seconds of the primary's history it lacks, -1 unknown */
} ready_result;

/*
 * When a verdict is reported (the failover-readiness-changed event). A changed verdict
 * (ready, code, candidate) is reported once two checks in a row agree; a change of the
 * candidate alone once READY_CANDIDATE_HOLD checks agree (among replicas about as
 * advanced, the most advanced one changes with every commit of the primary: at 10,000
 * servers that was about 100 events a second). A running recovery or a cluster not probed
 * yet is transitional: never reported, and it resets a pending change.
 */
#define READY_CANDIDATE_HOLD 10

typedef struct {
    bool reported;                /* a verdict was reported */
    bool rep_ready;
    ready_code rep_code;
    char rep_candidate[TOPO_ADDR_MAX];
    bool pend;                    /* a changed verdict seen, waiting for more looks */
    int pend_looks;               /* how many checks in a row have seen it */
    bool pend_ready;
    ready_code pend_code;
    char pend_candidate[TOPO_ADDR_MAX];
} ready_report;

/* One check's verdict r: true when it is to be reported now (then rep records it as the
 * reported one; the caller reads the previous one before the call). */
bool ready_report_step(ready_report *rep, const ready_result *r);

/*
 * Compute readiness. Fails only with -EINVAL (in, in->c, in->analysis or out
 * NULL) or -ENOMEM (with a message in err); "not ready" is a success.
 */
int ready_compute(const ready_input *in, ready_result *out, char *err, size_t errlen);

/*
 * RPO of a replica whose HAS set is has_text (canonical GTID text of the
 * cluster's flavor) as probed at taken_at_ms (probe clock), against c's
 * timeline of primary positions. Sets *trx and *secs (-1 unknown). Returns 0,
 * -ENOMEM, or -EINVAL (NULL argument).
 */
int ready_rpo(const topo_cluster *c, const char *has_text, int64_t taken_at_ms, int64_t *trx, double *secs);

/* One recovery as measured (wall ms, 0 = not recorded). */
typedef struct {
    bool failover;                    /* failover (detection measured); else switchover / drill */
    int64_t primary_lost_ms, detected_ms, started_ms, promoted_ms;
} ready_timing;

typedef struct {
    double rto_s, detect_s, promote_s;
    size_t detect_samples, promote_samples; /* 0: that part is the default */
    char basis[160];                  /* "measured: 3 detections, 5 promotions" / "default: ..." */
} ready_rto;

/*
 * Estimate the RTO from the recoveries t[0..n) (any order; at most the 10
 * newest by started_ms count) and the cluster's probe settings (for the
 * default detection). Never fails; t may be NULL when n is 0.
 */
void ready_rto_estimate(const ready_timing *t, size_t n, int poll_interval_ms, int read_timeout_ms, ready_rto *out);

/* "ok", "not-probed", "no-primary", ... (stable names, see above). */
const char *ready_code_name(ready_code c);

#endif
