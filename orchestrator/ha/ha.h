/*
 * orchestrator/ha/ha.h — the daemon's side of controller coordination (issue 14,
 * coordination = etcd): owns the etcd client (orchestrator/ha/etcd.h) for
 * `myorch run`, wants every cluster's lock, publishes this controller's view of
 * each cluster's primary from its analysis, answers the recovery code's one
 * question (may this controller start an automatic recovery of this cluster
 * now?) and the coordination part of `myorch status`.
 *
 * With coordination = none there is no ha object (NULL) and every function
 * here is a no-op that allows acting: the single controller decides alone.
 */
#ifndef MYORCH_ORCHESTRATOR_HA_H
#define MYORCH_ORCHESTRATOR_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "orchestrator/decide/analysis.h"
#include "orchestrator/config.h"

typedef struct ha ha;

/* Events for the daemon's emit: level LOGL_*, name, cluster ("" for none), message. */
typedef void (*ha_emit_fn)(void *user, int level, const char *name, const char *cluster, const char *msg);

/* *out = NULL with coordination = none. */
int ha_new(const cfg_config *cfg, ha_emit_fn emit, void *user, ha **out, char *err, size_t errlen);
void ha_free(ha *h);

/* Event loop hooks (see etcd.h): -1 / no limit without etcd. */
int ha_fd(const ha *h);
int ha_timeout_ms(ha *h, int64_t now_ms);
void ha_run(ha *h, int64_t now_ms);

/* This controller's view of a cluster's primary, from its latest analysis: published on change. */
void ha_publish(ha *h, const char *cluster, const ana_result *a);

/*
 * THE coordination gate of automatic recovery (called from one place in
 * recovery.c through rec_env.may_act): true when this controller holds the
 * cluster's lock (lease trusted), the detection quorum of live controllers
 * agrees the primary is dead, and the majority rule holds with the controllers
 * as voters (orchestrator/decide/quorum.h: the cluster's servers and every
 * controller seen live since this one started and within etcd_voter_forget_s; the acting side is the
 * controllers whose fresh view holds the primary dead and the replicas this one
 * reaches). false: why says what is missing (reported as a
 * recovery-held-coordination event once it has held HA_HELD_REPORT_MS, or at
 * once when this controller has no trusted lease).
 */
bool ha_may_act(ha *h, const char *cluster, const ana_result *a, int64_t now_ms, char *why, size_t whylen);

/*
 * May an operator's switchover / failover / relocate run on this controller now?
 * Only on the cluster's lock holder (lease trusted): two operators on two
 * controllers never run two operations on one cluster. false: err names the holder.
 */
bool ha_may_operate(ha *h, const char *cluster, int64_t now_ms, char *err, size_t errlen);

/*
 * Any controller answers (issue 14): a mutating command on a controller that does not
 * hold the cluster's lock is forwarded to the holder through etcd (orchestrator/ha/etcd.h,
 * "Forwarding"), which runs it through its own control path; its answer comes back here.
 *
 * on_request: a request another controller forwarded to this one (the lock holder): run
 * it (body is borrowed) and answer with ha_forward_reply(from, id). on_done: the answer to
 * a request this controller forwarded (tag as given to ha_forward; result is the callee's).
 */
typedef void (*ha_fwd_request_fn)(void *user, const char *cluster, const char *from, const char *id, json_t *body);
typedef void (*ha_fwd_done_fn)(void *user, void *tag, json_t *result);
void ha_set_forwarding(ha *h, ha_fwd_request_fn on_request, ha_fwd_done_fn on_done);
/* Forward body (a control request naming its cluster) to the holder of cluster's lock.
 * 0: sent, the answer comes through on_done(tag) within timeout_ms (or an error answer
 * then); negative: not sent (no trusted lease, no holder known, ...): err says why. */
int ha_forward(ha *h, const char *cluster, const json_t *body, void *tag, int64_t timeout_ms, int64_t now_ms,
               char *err, size_t errlen);
/* Answer a forwarded request (takes result). */
void ha_forward_reply(ha *h, const char *from, const char *id, json_t *result);

/*
 * The shared recovery journal and the executor's fencing (issue 14). A recovery takes
 * a fence when it starts (loop thread; NULL with err when this controller does not hold
 * the lock), checks it in its worker thread at every step boundary, writing the
 * journal record in the same etcd transaction (ha_fence_check: 0 still the holder;
 * -ESTALE etcd's compare refused: the lock is another controller's or nobody's now;
 * -EPERM the local lease deadline passed; other negative: etcd not asked), has it
 * renewed by the loop every turn
 * and frees it once the worker is gone.
 */
typedef struct ha_fence ha_fence;
ha_fence *ha_fence_take(ha *h, const char *cluster, int64_t now_ms, char *err, size_t errlen);
int ha_fence_check(ha_fence *f, const char *journal_json, char *err, size_t errlen);
void ha_fence_renew(ha *h, ha_fence *f, int64_t now_ms);
int64_t ha_fence_token(const ha_fence *f);
void ha_fence_free(ha_fence *f);
/* The journal found when this controller took the cluster's lock: 1 once per taking
 * (*json heap, NULL: none), 0 nothing new. */
int ha_journal_take(ha *h, const char *cluster, char **json);
/* Write the journal from the loop (non-blocking, only while holding the lock). */
int ha_journal_put(ha *h, const char *cluster, const char *json, int64_t now_ms);
/* The same for the cluster's shared state (demoted primaries, anti-flap block,
 * maintenance windows): taken once per lock taking; written only while holding the lock
 * (a no-op otherwise). */
int ha_state_take(ha *h, const char *cluster, char **json);
int ha_state_put(ha *h, const char *cluster, const char *json, int64_t now_ms);
/* This controller holds the cluster's lock (lease trusted) and has read what the previous
 * holder left (true without coordination). */
bool ha_holds_lock(ha *h, const char *cluster, int64_t now_ms);
/* This controller's name ("" without coordination). */
const char *ha_name(const ha *h);

/* {"mode":..., "controller":..., "lease_ok", "lease_age_ms", "etcd_health", "controllers":[...],
 *  "locks":{cluster: holder}} ; {"mode":"none"} without etcd. */
json_t *ha_status(ha *h, int64_t now_ms);

#endif
