/*
 * orchestrator/act/monitor.h — the monitoring core shared by the daemon and the
 * one-shot `myorch discover`: a probe engine plus the cluster models, and the
 * reactions to each probe (discovery of new neighbours, aliases, up/down,
 * forgetting). Every reaction is reported as an event through one callback.
 *
 * Event names (stable, grep-able; also the PUB topics and audit rows):
 *   instance-discovered  a new server entered a cluster (seed, source or replica of a member)
 *   instance-up          a server answered again after being unreachable
 *   instance-down        a server stopped answering (message: the server's/library's error)
 *   instance-alias       a server reached under a second name; the alias is dropped
 *   instance-forgotten   a server unreachable for forget_after_s was removed
 *   replication-changed  a replica's source or thread state changed
 *   read-only-changed    read_only flipped on a server
 *   cluster-probed       the first complete probe round of a cluster finished
 *   instance-untrusted   a replica-list entry was refused credentials (topology/trust.h); the
 *                        message names the address, the listing server and the reason
 *   discovery-limit      max_instances_per_cluster reached: discovery adds nothing more
 */
#ifndef MYORCH_ORCHESTRATOR_MONITOR_H
#define MYORCH_ORCHESTRATOR_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "topology/cluster.h"
#include "topology/probe/probe.h"
#include "topology/trust.h"

typedef struct mon_cluster {
    topo_cluster model;
    char user[128];
    char *password;
    char *lag_query;
    conn_params_owned conn;  /* TLS and auth-plugin settings of every probe connection */
    int interval_ms;
    int detail_every;        /* probe_set_detail_every() of its servers' probes (1: every probe) */
    bool first_round_done;
    bool dirty;              /* needs topo_cluster_derive() */
    trust_policy trust;      /* who may receive the credentials (default: seeds' hosts, confirmed) */
    bool at_limit;           /* discovery-limit reported; cleared when below the limit again */
    int64_t untrusted_window_ms; /* instance-untrusted events: at most 20 a minute per cluster */
    int untrusted_events, untrusted_suppressed;
    uint64_t version;        /* bumped on every material change (for watchers) */
    size_t index;            /* position in the monitor (mon_cluster_at(m, index) == this) */
    struct monitor *mon;     /* its monitor (mon_mark_dirty) */
} mon_cluster;

typedef struct monitor monitor;

/* level: LOGL_*; instance may be NULL; detail may be NULL (borrowed). */
typedef void (*mon_event_fn)(void *user, int level, const char *name, mon_cluster *c,
                             const topo_instance *in, const char *message, json_t *detail);
/* Called after every probe result is folded in (for persistence). */
typedef void (*mon_probe_fn)(void *user, mon_cluster *c, topo_instance *in, unsigned changes);

typedef struct {
    int connect_timeout_ms;
    int read_timeout_ms;
    int forget_after_s;
    int max_instances_per_cluster; /* servers (and refused entries) kept per cluster; <= 0: 500 */
    mon_event_fn on_event;
    mon_probe_fn on_probe;
    void *user;
} mon_options;

int mon_new(const mon_options *opt, monitor **out, char *err, size_t errlen);
void mon_free(monitor *m);

/* Add a cluster to monitor (credentials are copied). */
int mon_add_cluster(monitor *m, const char *name, const char *user, const char *password,
                    const char *lag_query, int interval_ms, mon_cluster **out, char *err, size_t errlen);
/* Set the cluster's connection settings (copied) for instances added from now on;
 * call before adding instances. 0 or -ENOMEM. */
int mon_set_conn(mon_cluster *c, const conn_params *p, char *err, size_t errlen);
/* Set c's discovery trust policy (the allow list is copied). 0 or -ENOMEM. */
int mon_cluster_set_trust(mon_cluster *c, const trust_list *allow, bool confirm);
/* Who replicates from each server is read on every Nth probe (probe_set_detail_every); before
 * the first instance is added (the default is 1: every probe). */
void mon_cluster_set_detail_every(mon_cluster *c, int every);

/* Start monitoring addr in c (no-op if known). */
int mon_add_instance(monitor *m, mon_cluster *c, const topo_addr *addr, bool seed, topo_instance **out,
                     char *err, size_t errlen);
/* Start probing an instance that was put into c->model by someone else (state reload). */
int mon_attach_instance(monitor *m, mon_cluster *c, topo_instance *in, char *err, size_t errlen);
/* Remove instance i of c (stops probing). */
void mon_remove_instance(monitor *m, mon_cluster *c, size_t i);

size_t mon_cluster_count(const monitor *m);
mon_cluster *mon_cluster_at(monitor *m, size_t i);
mon_cluster *mon_find_cluster(monitor *m, const char *name);

probe_engine *mon_probe_engine(monitor *m);
/* Periodic work: forget long-dead servers, derive roles. Call at least once a second. */
void mon_tick(monitor *m, int64_t now_ms);
/* The model changed: re-derived by the next mon_derive (set dirty only through this: the
 * monitor keeps a list of dirty clusters instead of scanning all of them every turn). */
void mon_mark_dirty(mon_cluster *c);

/* Re-derive every dirty cluster model now. */
void mon_derive(monitor *m);
/* Probe every instance of c as soon as possible. */
void mon_probe_cluster_now(monitor *m, mon_cluster *c);

/* Probe c's servers fast (on: every min(fast_ms, interval), and now, in the probe engine's
 * urgent lane: never behind the fleet's routine probes) or at the cluster's interval again (off). */
void mon_set_fast(mon_cluster *c, bool on, int fast_ms);
/* Watch in (no probe backoff while it is down) or not. */
void mon_set_watch(topo_instance *in, bool on);
/* Probe in as soon as possible. */
void mon_probe_instance_now(topo_instance *in);
/* Monotonic ms since which in owes its probe an answer, 0: none owed. */
int64_t mon_waiting_since_ms(const topo_instance *in);
/* probe_answer_arrived for the instance's probe. */
bool mon_answer_arrived(const topo_instance *in);
/* fn for every instance whose probe has owed an answer since before sent_before_ms (monotonic),
 * from the probe engine's in-flight list (probe_engine_each_waiting): without asking every
 * instance. fn must not add, remove or probe instances. */
void mon_each_waiting(monitor *m, int64_t sent_before_ms, void (*fn)(void *user, mon_cluster *c, topo_instance *in),
                      void *user);

/* Wall clock, seconds. */
int64_t mon_wall_s(void);

#endif
