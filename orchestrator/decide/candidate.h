/*
 * orchestrator/decide/candidate.h — promotion candidate ranking. Pure: the cluster
 * model and options in, an ordered list with a reason for every exclusion out.
 *
 * Ranking: by what a replica HAS = received ∪ executed (MariaDB Gtid_IO_Pos ∪
 * gtid_slave_pos; MySQL Retrieved_Gtid_Set ∪ Executed_Gtid_Set; without GTID,
 * relay coordinates — read_coord — then exec_coord), most first; then by
 * executed; then `prefer`red ones first among equals; then lowest index.
 * Exclusions (the replica stays in the list, marked, with the reason):
 * unreachable, not a direct replica of the old primary, no binary log,
 * log_replica_updates off, SQL thread stopped with an error, delayed
 * (SQL_Delay > 0), errant GTIDs (transactions it has that the old primary's
 * last known position lacks and that do not come from the old primary
 * itself), listed in never_promote, GTID replication not in use.
 *
 * If the most advanced replica is excluded, the best eligible one is chosen
 * with needs_catchup set: it must first catch up from the most advanced one
 * (which must then have a binary log with log_replica_updates); if that is
 * impossible no candidate is chosen and reason says why. Transactions another
 * replica holds are never dropped.
 *
 * Details (as implemented):
 *  - Direct replicas: ana_is_direct_replica() (analysis.h); fenced ones never
 *    appear, except as a named target (then CAND_EXCL_NEVER_PROMOTE).
 *  - GTID kind from each snapshot's flavor. HAS: MariaDB Gtid_IO_Pos ∪
 *    gtid_slave_pos; MySQL Retrieved_Gtid_Set ∪ Executed_Gtid_Set ∪ gtid_executed
 *    (NULL texts = empty). EXECUTED: MariaDB gtid_slave_pos (else
 *    gtid_current_pos), MySQL gtid_executed. MySQL with gtid_mode OFF and no
 *    GTID text, or a text that does not parse: HAS/EXECUTED unknown (NULL).
 *  - Order: eligible first, then excluded; within each: HAS transaction count
 *    (a total order consistent with ⊂), unknown HAS after known ones and ranked
 *    by read_coord then exec_coord; then EXECUTED count; then preferred; then
 *    cluster index.
 *  - Exclusion checks, first one found gives the code, every one found is
 *    appended to the reason ("; "-joined): not a direct replica (only a named
 *    target) | unreachable (no further checks) | SQL thread stopped with an
 *    error | errant | GTID replication not in use / GTID state unreadable |
 *    no binary log / log_replica_updates off | SQL_Delay > 0 | never_promote.
 *    Then, with a target, every other eligible one gets CAND_EXCL_NOT_TARGET.
 *    Candidate reasons do not repeat the server's address (the caller knows
 *    it); the ranking's reason always names servers.
 *  - Errant: EXECUTED − the old primary's last known position (MariaDB
 *    gtid_binlog_pos, MySQL gtid_executed; NULL = empty), minus items whose
 *    server id (MariaDB) / uuid block (MySQL) is the old primary's. Not
 *    judged when the old primary has no snapshot.
 *  - Most advanced: gtid_most_advanced() over the HAS of reachable direct
 *    replicas (excluded ones too). Among replicas holding exactly as much, an
 *    eligible one is preferred, then one that can serve a catch-up. Reachable
 *    replicas with unknown HAS are compared by read_coord (the old primary's
 *    binlog): one that received more, or cannot be compared, refuses the
 *    failover. With no GTID state anywhere, the most advanced is the one with
 *    the furthest coordinates (and nobody is eligible).
 *  - Diverged (no HAS contains every other, or mixed flavors): chosen = -1,
 *    most_advanced = -1, reason names the first diverging pair and what each
 *    has that the other lacks — even when eligible replicas exist.
 *  - Catch-up refused (chosen = -1, reason "would lose transactions only X
 *    holds (…): …") when the most advanced has no binary log, lacks
 *    log_replica_updates, or has a broken SQL thread and the chosen one lacks
 *    transactions it only received (not applied, so not in its binary log).
 */
#ifndef MYORCH_ORCHESTRATOR_CANDIDATE_H
#define MYORCH_ORCHESTRATOR_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "topology/cluster.h"

typedef enum {
    CAND_EXCL_NONE = 0,
    CAND_EXCL_UNREACHABLE,
    CAND_EXCL_NOT_REPLICA,        /* not a direct replica of the old primary */
    CAND_EXCL_NO_BINLOG,
    CAND_EXCL_NO_LOG_REPLICA_UPDATES,
    CAND_EXCL_SQL_ERROR,
    CAND_EXCL_DELAYED,
    CAND_EXCL_ERRANT,
    CAND_EXCL_NEVER_PROMOTE,
    CAND_EXCL_NO_GTID,
    CAND_EXCL_NOT_TARGET,         /* a forced target was named and this is not it */
} cand_exclusion;

typedef struct {
    const topo_addr *never_promote;
    size_t n_never_promote;
    const topo_addr *prefer;
    size_t n_prefer;
    const topo_addr *target;     /* operator's --to: only this one may be chosen (NULL: any) */
} cand_opts;

typedef struct {
    int index;                   /* instance index in the cluster */
    char *has_gtid;              /* received ∪ executed, canonical text (heap, may be NULL without GTID) */
    char *executed_gtid;         /* canonical text (heap, may be NULL) */
    char *errant_gtid;           /* errant transactions, canonical text, NULL/"" when none */
    cand_exclusion exclusion;
    char reason[256];            /* for an exclusion: "SQL thread stopped with error 1062: ...", "" when eligible */
    bool preferred;
} cand_entry;

typedef struct {
    cand_entry *v;            /* every direct replica of the old primary, best first, excluded ones last;
                                    plus the named target when it is not one (then chosen == -1) */
    size_t n;
    int most_advanced;           /* index into v of the replica that has everything every other has,
                                    -1 if they diverged (or no reachable replica) */
    int chosen;                  /* index into v, -1 when none can be promoted */
    bool needs_catchup;          /* chosen must first catch up from v[most_advanced] */
    char reason[512];            /* why chosen, or why nobody */
} cand_ranking;

/*
 * Rank the direct replicas of instance old_primary of c. o may be NULL (no
 * options). Fails only with -ENOMEM or -EINVAL (c/out NULL, bad old_primary),
 * with a message in err (may be NULL); out is then empty (v NULL, chosen -1).
 * "Nobody eligible" is a success with chosen == -1 and the reason filled.
 * On success free out with cand_ranking_free().
 */
int cand_rank(const topo_cluster *c, int old_primary, const cand_opts *o,
                        cand_ranking *out, char *err, size_t errlen);
void cand_ranking_free(cand_ranking *r);   /* NULL ok; idempotent */
const char *cand_exclusion_name(cand_exclusion e);

#endif
