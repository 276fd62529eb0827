/*
 * topology/probe/probe.h — the probe engine: every server connection and every
 * probe timer, driven by one non-blocking loop (MariaDB Connector/C's
 * _start/_cont API over an epoll set).
 *
 * Owns: one held connection per probed server (opened by topology/probe/conn.h), the per-server probe
 * schedule, the millisecond timeouts (the library does not enforce them in
 * non-blocking mode), and the instant "connection dropped" signal of an idle
 * held connection. It does not interpret results: each completed probe (or
 * failure) is handed to the owner's callback as a topo_snapshot.
 *
 * Integration: the engine exposes one file descriptor (its epoll set) and a
 * timeout; the owner's loop polls that fd next to its own (ZeroMQ sockets,
 * signals) and calls probe_run() when it is readable or the timeout expires.
 */
#ifndef MYORCH_TOPOLOGY_PROBE_H
#define MYORCH_TOPOLOGY_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "topology/probe/conn.h"
#include "topology/instance.h"

typedef struct probe_engine probe_engine;
typedef struct probe_target probe_target;

/*
 * Called for every finished probe, successful (snap->ok) or not, and when a
 * held connection drops. The callback may move the snapshot out (memcpy, then
 * memset the source to 0); the engine clears whatever is left. It may call
 * probe_remove() / probe_add() / probe_now().
 */
typedef void (*probe_result_fn)(void *user, probe_target *t, topo_snapshot *snap);

typedef struct {
    int connect_timeout_ms;   /* TCP connect + handshake + auth */
    int read_timeout_ms;      /* one probe batch, all result sets */
    probe_result_fn on_result;
    void *user;
} probe_options;

typedef struct {
    uint64_t probes_ok;
    uint64_t probes_detail;   /* of those, full batches: who replicates from the server read too */
    uint64_t probes_failed;
    uint64_t connects_ok;
    uint64_t connects_failed;
    uint64_t drops;           /* held connections seen closing while idle */
    uint64_t timeouts;
} probe_stats;

/* Create an engine. Returns 0 or -errno (message in err). */
int probe_engine_new(const probe_options *opt, probe_engine **out, char *err, size_t errlen);
/* Close every connection (without waiting on hung peers) and free. */
void probe_engine_free(probe_engine *e);

/* The fd to poll for readability (an epoll set). */
int probe_engine_fd(const probe_engine *e);
/* Milliseconds until the engine next needs probe_run() without fd activity
 * (0 = now, -1 = nothing scheduled). */
int probe_engine_timeout_ms(probe_engine *e, int64_t now_ms);
/* Do all ready I/O and due timers. Never blocks. */
void probe_engine_run(probe_engine *e, int64_t now_ms);
/* Only the urgent part of probe_engine_run(): the probes asked for by probe_now() since the
 * last run are started, and what the sentinels (a primary's close, its answers) and the urgent
 * lane have ready is handled; no other routine answer, no other timer. For an owner
 * whose own work between two runs is long (a pass over every cluster): it calls this now and
 * then, so that failure detection waits for no more than that slice. Never blocks. Returns
 * the number of probes started and events handled. Not from inside a result callback. */
int probe_engine_run_urgent(probe_engine *e);
/* How late the last probe_engine_run() fired the timers that were due: the largest
 * (now - due) of those it fired, in ms; -1 when it fired none. The owner's event-loop lag:
 * a timer is late by however long the loop was away from the engine. */
int64_t probe_engine_run_lateness_ms(const probe_engine *e);
/* Has probe_now() asked for a probe that probe_engine_run_urgent() would start? (No syscall.) */
bool probe_engine_kicked(const probe_engine *e);
/* fn for every target whose probe batch has been waiting for its answer since before
 * sent_before_ms (probe_waiting_since_ms): the engine keeps its targets in flight on a list,
 * a few dozen at 10,000 servers, so the owner need not ask each of its targets. fn must not
 * add, remove or probe targets. */
void probe_engine_each_waiting(probe_engine *e, int64_t sent_before_ms, void (*fn)(void *user, probe_target *t),
                               void *user);
const probe_stats *probe_engine_stats(const probe_engine *e);

/*
 * Start probing addr every interval_ms with these credentials; lag_query may be
 * NULL. The host is resolved here (numeric hosts need no lookup). The password
 * is copied and wiped on removal. conn (TLS and auth-plugin settings, NULL =
 * defaults) is copied; its timeouts are replaced by the engine's. Connections
 * are opened by topology/probe/conn.h. tag is the owner's pointer, see probe_tag().
 */
int probe_add(probe_engine *e, const topo_addr *addr, const char *user, const char *password,
              const conn_params *conn, const char *lag_query, int interval_ms, void *tag, probe_target **out,
              char *err, size_t errlen);
/* Stop probing and release the target (deferred if inside a callback). */
void probe_remove(probe_target *t);
/* Probe as soon as possible (reconnect at once if down), in the urgent lane: this one
 * probe starts ahead of the routine probes that are waiting for their turn: at the next
 * probe_engine_run() or probe_engine_run_urgent(), whichever comes first. With a probe
 * in flight, a new one starts the moment it ends: the answer in flight may have been
 * taken before what the caller asks about. */
void probe_now(probe_target *t);
/*
 * The urgent lane (topology/probe_sched.h): while on, the target's probes start the moment
 * they are due and its answers are handled before routine ones, whatever the fleet's
 * routine load. For the servers of a cluster under suspicion or recovery. Routine
 * targets that fall due are started at a paced rate (spread over the poll interval,
 * with a bound on routine probes in flight).
 */
void probe_set_urgent(probe_target *t, bool on);
/* A sentinel's events (its server's close above all: a primary's) are also looked for inside
 * a run, every 250 us of its routine part, not only at the start of the next run. For the
 * primaries; cheap: a second epoll set holding the same fds (probe.c, sync_fast). */
void probe_set_sentinel(probe_target *t, bool on);
void probe_set_interval(probe_target *t, int interval_ms);
/*
 * Read who replicates from the server (SHOW REPLICAS / SLAVE HOSTS, SHOW PROCESSLIST's Binlog
 * Dump sessions: dialect_kind_is_detail) on every Nth probe only (1, the default: every probe).
 * Also read on a connection's first probe and on the probe after one that saw the server's role
 * change (read_only, its source). Between, a snapshot carries the last ones read.
 */
void probe_set_detail_every(probe_target *t, int every);
/* Watched targets are retried at their interval after a failure, without the
 * exponential backoff (a demoted primary that may come back writable). */
void probe_set_watch(probe_target *t, bool on);

void *probe_tag(const probe_target *t);
const topo_addr *probe_addr(const probe_target *t);
/* True while the target holds an authenticated connection. */
int probe_connected(const probe_target *t);

/* When the probe batch now in flight was sent (probe clock, ms), i.e. since when
 * the server owes an answer; 0 when no batch is waiting (idle, connecting, down).
 * Lets the owner see a server that stopped answering before the read timeout
 * fails the probe (a hung primary, issue 18). */
int64_t probe_waiting_since_ms(const probe_target *t);

/* While a batch is waiting: has (part of) its answer arrived on the socket, not read yet?
 * A busy controller may leave answers unread for a while (the routine lane's budget): the
 * server did answer, whatever probe_waiting_since_ms says. One recv(MSG_PEEK) syscall. */
bool probe_answer_arrived(const probe_target *t);

/* Monotonic clock in milliseconds. */
int64_t probe_now_ms(void);

#endif
