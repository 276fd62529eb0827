/*
 * orchestrator/ha/etcd.h — the etcd v3 client of controller coordination
 * (issue 14, coordination = etcd), over etcd's JSON gateway (POST /v3/...,
 * keys and values base64) with libcurl's multi interface.
 *
 * Owns: this controller's lease (grant, keep-alive every TTL / 3, self-fencing),
 * its controller key and its published views (bound to the lease), the cluster
 * locks (one key per cluster, taken by transaction), the fencing check, the
 * periodic read of the other controllers' views, and etcd's health as seen
 * from here. It never blocks the caller's loop: all requests run through
 * etcd_fd() / etcd_timeout_ms() / etcd_run(); only etcd_fence_check() blocks
 * (bounded), and it is meant for a recovery's own thread right before its
 * point of no return.
 *
 * Keys (PREFIX = etcd_prefix):
 *   PREFIX/controllers/NAME     {"name":..,"ttl_ms":..}            under the lease
 *   PREFIX/views/NAME/CLUSTER   the view JSON given to etcd_publish  under the lease
 *   PREFIX/lock/CLUSTER         NAME                               under the lease
 *   PREFIX/journal/CLUSTER      the recovery journal JSON          no lease; lock holder only
 *   PREFIX/state/CLUSTER        the cluster's shared state JSON    no lease; lock holder only
 * The lock's create revision is its fencing token: a key deleted (released,
 * lease expired) and taken again has a new one.
 *
 * Secrets: the password goes only into the /v3/auth/authenticate body (wiped
 * after use); the token only into the Authorization header. Neither is logged
 * nor put into an error text.
 */
#ifndef MYORCH_ORCHESTRATOR_ETCD_H
#define MYORCH_ORCHESTRATOR_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "orchestrator/decide/coord.h"

typedef struct etcd_client etcd_client;

/* Largest response body accepted from etcd: a full range of views (ETCD_MAX_PEERS of at most
 * ETCD_MAX_VIEW bytes, base64 in JSON) fits. */
#define ETCD_MAX_RESPONSE (8 * 1024 * 1024)
/* Largest view a controller publishes (etcd_publish). */
#define ETCD_MAX_VIEW 4096
/* Most views / controllers read back from etcd (range limit). */
#define ETCD_MAX_PEERS 1024
#define ETCD_NAME_MAX 64
#define ETCD_CLUSTER_MAX 48
#define ETCD_MAX_LOCKS 256

/* What happened, for the caller's log / events. name is one of:
 * etcd-lease-granted, etcd-lease-lost, etcd-lock-acquired, etcd-lock-lost, etcd-lock-released,
 * etcd-unreachable, etcd-reachable, etcd-name-conflict. cluster is "" unless it concerns a lock. */
typedef void (*etcd_event_fn)(void *user, const char *name, const char *cluster, const char *msg);

typedef struct {
    const char *endpoints;       /* comma-separated http(s)://host:port (config-validated) */
    const char *prefix;          /* e.g. "/myorch" */
    const char *name;            /* this controller */
    int lease_ttl_ms;            /* >= 2000; rounded up to whole seconds for etcd */
    const char *cacert, *cert, *key; /* TLS files or NULL */
    const char *user, *password; /* authentication or NULL */
    int request_timeout_ms;      /* each request's bound; 0: lease_ttl_ms / 5, within 200..2000 */
    int refresh_ms;              /* views re-put and peers' views read this often; 0: lease_ttl_ms / 4 */
    etcd_event_fn on_event;
    void *user_data;
} etcd_options;

int etcd_new(const etcd_options *opt, etcd_client **out, char *err, size_t errlen);
void etcd_free(etcd_client *c);   /* releases held locks and revokes the lease (bounded, best effort) */

/* Event loop hooks: a file descriptor readable when etcd_run() has socket work,
 * the longest the loop may wait (ms, >= 0), and the work itself (non-blocking). */
int etcd_fd(const etcd_client *c);
int etcd_timeout_ms(etcd_client *c, int64_t now_ms);
void etcd_run(etcd_client *c, int64_t now_ms);

/* The lease: whether it is trusted now (self-fencing), its ID and ms since the last
 * keep-alive that succeeded was sent (-1 when none). */
bool etcd_lease_ok(const etcd_client *c, int64_t now_ms);
int64_t etcd_lease_id(const etcd_client *c);
int64_t etcd_lease_age_ms(const etcd_client *c, int64_t now_ms);

/* etcd's health as seen from here: ok while a request succeeded within the lease TTL. */
typedef enum { ETCD_HEALTH_UNKNOWN = 0, ETCD_HEALTH_OK, ETCD_HEALTH_LOST } etcd_health;
etcd_health etcd_get_health(const etcd_client *c, int64_t now_ms, char *why, size_t whylen);
const char *etcd_health_name(etcd_health h);

/* Publish this controller's view of a cluster (a JSON object, at most ETCD_MAX_VIEW
 * bytes compact): put under the lease when it changes and every refresh_ms. */
int etcd_publish(etcd_client *c, const char *cluster, const json_t *view, char *err, size_t errlen);

/* Ask for a cluster's lock (taken by transaction once the lease is granted; kept
 * until etcd_lock_release or lease loss) or give it up (the key is deleted). */
int etcd_lock_want(etcd_client *c, const char *cluster, char *err, size_t errlen);
int etcd_lock_release(etcd_client *c, const char *cluster);
/* Held now: taken, and the lease trusted (self-fencing). *token: its create revision. */
bool etcd_lock_held(const etcd_client *c, const char *cluster, int64_t now_ms, int64_t *token);
/* The current holder as last read ("" when free or unknown). */
const char *etcd_lock_holder(const etcd_client *c, const char *cluster);

/*
 * The fencing check: a self-contained snapshot of a held lock (endpoints, TLS,
 * auth token and credentials, key, token, lease, the local trust deadline), then a
 * blocking transaction that succeeds only if the lock key still has this create
 * revision and this lease. Thread-safe apart from the client (the snapshot owns copies).
 * An auth token etcd refuses (expired: etcd --auth-token-ttl; unknown to the member)
 * makes the check authenticate once by itself and ask again, within the local lease
 * deadline (remote_only: within the authentication's bound); neither the token nor the
 * password is ever put into err.
 */
typedef struct etcd_fence etcd_fence;
int etcd_fence_take(const etcd_client *c, const char *cluster, int64_t now_ms, etcd_fence **out, char *err,
                    size_t errlen);
void etcd_fence_free(etcd_fence *f);
/* 0: still the holder (and, when put_key is set, put_key = put_value written in the
 * same transaction, e.g. a journal record); -EPERM: not the holder (err says who is);
 * other negative: etcd could not be asked (do not cross). remote_only skips the local
 * lease deadline (tests: the compare in etcd must refuse on its own). */
int etcd_fence_check(etcd_fence *f, int64_t now_ms, bool remote_only, const char *put_key, const char *put_value,
                     char *err, size_t errlen);
int64_t etcd_fence_token(const etcd_fence *f);

/*
 * The shared recovery journal (issue 14): PREFIX/journal/CLUSTER holds the cluster's
 * current or last recovery as one JSON object of at most ETCD_MAX_JOURNAL bytes,
 * written only by the lock holder (transaction compare on the lock's create revision
 * and lease: the fencing check's put, or etcd_journal_put). Its format is recovery.c's
 * (see the README, "High availability").
 */
#define ETCD_MAX_JOURNAL (64 * 1024)
int etcd_journal_key(const etcd_client *c, const char *cluster, char *out, size_t outlen);
/* The journal as read in the transaction that took the cluster's lock, once per taking:
 * 1 with *json (heap; NULL when there was no journal; "" when it could not be decoded),
 * 0 when there is nothing new. */
int etcd_lock_journal(etcd_client *c, const char *cluster, char **json);
/*
 * The cluster's shared state, PREFIX/state/CLUSTER (one JSON object, at most
 * ETCD_MAX_JOURNAL bytes, lock holder only): what a new lock holder must respect that
 * the journal of one recovery does not hold (demoted primaries, the anti-flap block and its
 * acknowledgement, maintenance windows; recovery.c's format). Read in the lock-taking
 * transaction like the journal (etcd_lock_state: same contract as etcd_lock_journal) and
 * written from the loop (etcd_state_put: same as etcd_journal_put).
 */
int etcd_lock_state(etcd_client *c, const char *cluster, char **json);
int etcd_state_put(etcd_client *c, const char *cluster, const char *json, int64_t now_ms, char *err, size_t errlen);
/* A journal or state read at a taking waits for etcd_lock_journal() / etcd_lock_state(). */
bool etcd_lock_journal_waiting(const etcd_client *c, const char *cluster);
/* Write the journal from the loop (non-blocking), if this controller holds the lock;
 * etcd refuses it (compare) once another one does. Writes of one key land in order
 * (one in flight, the newest waiting one sent next). */
int etcd_journal_put(etcd_client *c, const char *cluster, const char *json, int64_t now_ms, char *err, size_t errlen);
/* Loop thread, every turn while a recovery runs: the fence's local deadline follows the
 * lease's keep-alives while the lock is held with the same token, and drops to 0 (refuse
 * at once) when it is not. */
void etcd_fence_renew(etcd_fence *f, const etcd_client *c, const char *cluster, int64_t now_ms);
/* The fence's local lease deadline has not passed (what etcd_fence_check checks first
 * unless remote_only). */
bool etcd_fence_trusted(const etcd_fence *f, int64_t now_ms);

/* Read the controllers, views and locks again within ms (a decision waits on them). */
void etcd_refresh_soon(etcd_client *c, int64_t now_ms, int64_t ms);

/* Other controllers, as last read: live ones (their controller key exists). */
typedef struct {
    char name[ETCD_NAME_MAX];
    int64_t lease;
} etcd_controller;
size_t etcd_controllers(const etcd_client *c, const etcd_controller **out);

/* Published views, as last read (this controller's own included). */
typedef struct {
    char controller[ETCD_NAME_MAX];
    char cluster[ETCD_CLUSTER_MAX];
    json_t *view;
    int64_t mod_revision;
    int64_t seen_ms;             /* when this revision was first seen here (monotonic) */
} etcd_peer_view;
size_t etcd_views(const etcd_client *c, const etcd_peer_view **out);

/* The coord_view list of one cluster for coord_detect() (names point into the
 * client; valid until the next etcd_run). Views carry "primary_reachable",
 * "replicas_seen", "replicas_confirming". Returns the count (<= max). */
size_t etcd_coord_views(const etcd_client *c, const char *cluster, int64_t now_ms, coord_view *out, size_t max);

/*
 * Forwarding (issue 14, "any controller answers"): a mutating command sent to a
 * controller that does not hold the cluster's lock is handed to the holder through
 * etcd, so no new network path or key is needed between controllers:
 *   PREFIX/requests/CLUSTER/FROM/ID  the request (a control request's JSON), under FROM's lease
 *   PREFIX/results/FROM/ID           {"accepted":true} once the holder took it, then its answer,
 *                                    under the holder's lease
 * The holder reads the requests of the clusters it holds (on a watch event, and every
 * refresh_ms), takes each by transaction (deleted if unchanged: it runs once, on one
 * controller) and runs it through its own control path; the requester reads its results
 * (watch, and every 250 ms while one is pending) and deletes each answer it read.
 * Requests and answers are untrusted input: bounded (ETCD_FWD_MAX_BODY), JSON objects only.
 */
#define ETCD_FWD_MAX 32
#define ETCD_FWD_ID_MAX 40
#define ETCD_FWD_MAX_BODY 16384

typedef struct {
    int state;                   /* internal */
    char cluster[ETCD_CLUSTER_MAX];
    char from[ETCD_NAME_MAX];
    char id[ETCD_FWD_ID_MAX];
    char *body;
    int64_t mod_revision;
} etcd_fwd_in;

/* Send body (a JSON object's text) to the holder of cluster's lock; *id_out names it. */
int etcd_fwd_send(etcd_client *c, const char *cluster, const char *body, char *id_out, size_t idlen, char *err,
                  size_t errlen);
/* 0: no answer yet (*accepted: the holder took it); 1: *result is the answer (heap, the
 * caller frees; the slot is freed); negative: the request could not be posted (err). */
int etcd_fwd_poll(etcd_client *c, const char *id, bool *accepted, char **result, char *err, size_t errlen);
/* Give up waiting: the request is withdrawn unless the holder took it already. */
void etcd_fwd_cancel(etcd_client *c, const char *id);
/* The next request this controller took as a lock holder: 1 with *in filled (in->body is
 * the caller's to free), 0 none. */
int etcd_fwd_next(etcd_client *c, etcd_fwd_in *in);
/* Answer a request taken with etcd_fwd_next (result: a JSON object's text). */
int etcd_fwd_reply(etcd_client *c, const char *from, const char *id, const char *result, char *err, size_t errlen);
/* Whether the watch on PREFIX/ is established (changes are then seen within a round trip). */
bool etcd_watching(const etcd_client *c);

/* Pure helpers, exposed for tests. */
int etcd_b64_encode(const char *in, size_t n, char *out, size_t outlen);
int etcd_b64_decode(const char *in, char *out, size_t outlen, size_t *n);
/* A JSON-gateway int64 ("123" or 123) -> value; -EINVAL when neither. */
int etcd_json_int(const json_t *v, int64_t *out);
/* The end of a prefix range: the prefix with its last byte incremented. */
int etcd_prefix_end(const char *prefix, char *out, size_t outlen);

#endif
