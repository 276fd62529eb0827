/* orchestrator/daemon.c — the controller's loop, control commands and persistence. */
#include "orchestrator/daemon.h"
#include "topology/probe/clock.h"

#include "topology/escape.h"

#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#include "hooks/runner.h"
#include "orchestrator/serve/control.h"
#include "orchestrator/drill.h"
#include "orchestrator/ha/ha.h"
#include "orchestrator/serve/http.h"
#include "orchestrator/log.h"
#include "orchestrator/decide/metrics.h"
#include "orchestrator/act/executor.h"
#include "orchestrator/act/monitor.h"
#include "orchestrator/act/ready_track.h"
#include "orchestrator/act/recovery.h"
#include "orchestrator/reload.h"
#include "orchestrator/decide/report.h"
#include "orchestrator/serve/service.h"
#include "orchestrator/store.h"
#include "topology/strbuf.h"

#define MYORCH_VERSION "0.1.0"

#define WATCH_EVENTS 8
/* Recoveries counted for /metrics, per cluster: by kind and result. */
#define DAEMON_REC_COUNTERS 12
typedef struct {
    char kind[16];
    bool ok;
    uint64_t n;
} rec_counter;

typedef struct {
    char kind[16];
    int64_t ended_ms;                 /* wall */
    double duration_s;
} rec_last;

typedef struct {
    rec_counter rec[DAEMON_REC_COUNTERS];
    rec_last last[3];                 /* the last finished operation of each kind */
    int64_t started_ms;               /* wall: the running operation's recovery-started */
    metrics_histogram probe_latency;  /* seconds, successful probes */
} cluster_metrics;

typedef struct {
    const cfg_config *cfg;
    daemon_options opt;
    http_server *http;       /* NULL unless http_listen is set */
    cluster_metrics *cm;     /* per cluster, same order as the monitor's */
    uint64_t hook_runs_ok, hook_runs_failed;
    metrics_histogram loop_busy;      /* seconds of work per loop iteration (poll wait excluded) */
    metrics_histogram loop_lag;       /* seconds: how late a turn fired the probe timers that were due */
    int64_t refresh_s;       /* unchanged instances are persisted every refresh_s (flush() sets it) */
    monitor *mon;
    rec_env renv;
    rec_cluster **recs;      /* one per monitored cluster, same order */
    size_t n_recs;
    int *avail;              /* per cluster: last recorded REP_* state, -2 none yet */
    int64_t *avail_ts;       /* per cluster: when it was recorded (wall ms) */
    rtk_state *ready;        /* per cluster: failover readiness (orchestrator/act/ready_track.h) */
    bool *touched;           /* per cluster: a probe result arrived since its last tick */
    int64_t last_sweep_ms;   /* when every cluster was last ticked (see the loop) */
    int64_t running_since_ms; /* when recoveries or jobs last began to run (none ran before): 0 none runs */
    int64_t sweep_ms;        /* the time between two sweeps: 5x a sweep's cost, 10..50 ms */
    size_t quiet_cursor;     /* the next quiet cluster a sweep ticks (each sweep takes a slice) */
    uint32_t sweep_gen;      /* counts sweeps */
    uint32_t *waiting_gen;   /* per cluster: the sweep that found one of its probes owing an answer */
    bool *check;             /* per cluster: read its quiet state (rec_cluster_quiet_if) again before a sweep
                              * skips it; false: quiet at its last tick, nothing since changed that */
    hook_runner *hooks;      /* asynchronous hooks: on_failure_detected, post_failover_failed, on_topology_change */
    struct hook_slot *hook_slots; /* [cluster][hook point] */
    size_t hooks_pending;    /* slots with a coalesced event waiting: flush_pending_hooks scans only when > 0 */
    bool stopping;           /* tearing down: start no more hooks */
    store *st;
    bool in_txn;
    void *zctx;
    ctl_server *ctl;
    int sigfd;
    int lock_fd;
    int64_t started_s;
    int64_t last_flush_ms;
    int64_t last_prune_ms;   /* events pruned (events_keep_days / events_keep_max), 0: at start */
    int64_t last_print_ms;
    uint64_t printed_version;
    char *recent[WATCH_EVENTS];    /* --watch on a terminal: the latest events, a ring (heap lines) */
    size_t recent_next;
    bool recent_changed;
    svc_state svc;           /* sd_notify: ready, watchdog */
    ha *ha;                  /* controller coordination (coordination = etcd), NULL: none */
    bool stop;
    /* Configuration reload (reload_request): the running configuration when a reload
     * made it (else the caller's), and a validated one waiting for the recoveries to end. */
    cfg_config *owned_cfg;
    cfg_config *reload_next;
    bool reload_signal;      /* SIGHUP seen: reload at the end of this loop turn */
    char reload_waiting[160]; /* what the waiting reload waits for (reported once) */
} daemon_t;

static const char *level_name(int l)
{
    static const char *n[] = {"error", "warn", "info", "debug"};
    return n[l < 0 ? 0 : l > 3 ? 3 : l];
}

static int cluster_index(daemon_t *d, const mon_cluster *c);

/* Quiet clusters (rec_cluster_quiet) are ticked by their probe results (a quiet cluster has a
 * reachable primary: results come every poll interval), and about this often. What only time
 * changes in a quiet cluster (a maintenance window's end, readiness, availability) needs no
 * finer step. At 250 ms the slice was 500 of 2,500 clusters per 50 ms sweep at 10,000 servers,
 * and those sweeps made the loop's slowest turns (bench/README.md). */
#define FULL_SWEEP_MS 1000

/* The configuration of a monitored cluster: the monitor's clusters are the configuration's,
 * in its order (setup_clusters), so by position, checked by name. track_lag asks for every
 * cluster on every turn of the loop: a search by name there was O(clusters²) a turn. */
static const cfg_cluster *cfg_of(daemon_t *d, const mon_cluster *c)
{
    int ci;
    if (!c)
        return NULL;
    ci = cluster_index(d, c);
    if (ci >= 0 && (size_t)ci < d->cfg->n_clusters && !strcmp(d->cfg->clusters[ci].name, c->model.name))
        return &d->cfg->clusters[ci];
    return cfg_find_cluster(d->cfg, c->model.name);
}

/* ---- what recovery asks of the monitoring loop (recovery.h rec_loop_ops) ---------- */

static void loop_derive(void *user)
{
    mon_derive(((daemon_t *)user)->mon);
}

static void loop_probe_now(void *user, mon_cluster *c, topo_instance *in)
{
    if (in)
        mon_probe_instance_now(in);
    else
        mon_probe_cluster_now(((daemon_t *)user)->mon, c);
}

static void loop_set_fast(void *user, mon_cluster *c, bool on, int fast_ms)
{
    (void)user;
    mon_set_fast(c, on, fast_ms);
}

static void loop_set_watch(void *user, topo_instance *in, bool on)
{
    (void)user;
    mon_set_watch(in, on);
}

static int64_t loop_waiting_since(void *user, const topo_instance *in)
{
    (void)user;
    return mon_waiting_since_ms(in);
}

static bool loop_answer_arrived(void *user, const topo_instance *in)
{
    (void)user;
    return mon_answer_arrived(in);
}

static rec_loop_ops rec_loop_of_monitor(void)
{
    return (rec_loop_ops){.derive = loop_derive, .probe_now = loop_probe_now, .set_fast = loop_set_fast,
                          .set_watch = loop_set_watch, .waiting_since = loop_waiting_since,
                          .answer_arrived = loop_answer_arrived};
}

/* Which hook point (if any) an event triggers: its row in orchestrator/decide/events.h. */
static int hook_point_of(const char *name, int level, const json_t *detail)
{
    return ev_hook_point(ev_lookup(name), level, json_string_value(json_object_get(detail, "kind")));
}

/*
 * Asynchronous hooks run one at a time per cluster and hook point, in the
 * configured order; events arriving meanwhile are coalesced into one more
 * run with the state of that moment (so a hook never applies an older view
 * after a newer one).
 */
typedef struct hook_slot {
    bool busy;
    size_t next_cmd;
    hook_payload pl;
    bool have_pl;
    bool pending;
    char pending_event[64];
    json_t *pending_detail;
    char pending_instance[TOPO_ADDR_MAX];
} hook_slot;

static hook_slot *slot_of(daemon_t *d, size_t cluster, int point)
{
    return &d->hook_slots[cluster * CFG_N_HOOKS + (size_t)point];
}

static int cluster_index(daemon_t *d, const mon_cluster *c)
{
    /* Called on every probe result: a scan over the clusters cost 5% of the CPU at 2,500
     * clusters (bench/fleet_bench.py); the cluster knows its position. */
    if (c && c->index < mon_cluster_count(d->mon) && mon_cluster_at(d->mon, c->index) == c)
        return (int)c->index;
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++)
        if (mon_cluster_at(d->mon, i) == c)
            return (int)i;
    return -1;
}

static int start_hook_cmd(daemon_t *d, size_t ci, int point)
{
    hook_slot *sl = slot_of(d, ci, point);
    const cfg_cluster *cc = &d->cfg->clusters[ci];
    char e[256];
    uint64_t tag = ((uint64_t)ci << 40) | ((uint64_t)point << 32) | (uint64_t)sl->next_cmd;
    if (hook_runner_start(d->hooks, cc->hooks[point][sl->next_cmd], sl->pl.env, sl->pl.n_env, sl->pl.json,
                          cc->hook_timeout_ms, tag, e, sizeof(e)) < 0) {
        log_error("hook %s: cannot start '%s': %s", cfg_hook_names[point], cc->hooks[point][sl->next_cmd], e);
        return -1;
    }
    return 0;
}

/* Start the commands of a hook point for an event (or queue one more run). */
static void fire_hooks(daemon_t *d, int point, const char *name, mon_cluster *c, const topo_instance *in,
                       const json_t *detail)
{
    const cfg_cluster *cc = cfg_of(d, c);
    char old[TOPO_ADDR_MAX] = "", neu[TOPO_ADDR_MAX] = "", e[256];
    char (*addrs)[TOPO_ADDR_MAX] = NULL;
    hook_replica *reps = NULL;
    size_t n = 0;
    hook_event ev;
    hook_slot *sl;
    int ci;
    if (!d->hooks || d->stopping || !cc || point < 0 || !cc->n_hooks[point] || (ci = cluster_index(d, c)) < 0)
        return;
    /* Coordination (orchestrator/ha/ha.h): on_topology_change changes routing (a proxy, a pool)
     * and runs on the cluster's lock holder only. The holder defers it while its recovery runs
     * (below); the other controllers cannot see that recovery and, firing on its transitional
     * topology, overwrote HAProxy between the holder's post_failover change and that hook's
     * own check (docker lab e2e --ha: the failover recorded done-hooks-failed). */
    if (point == CFG_HOOK_ON_TOPOLOGY_CHANGE && d->ha &&
        !ha_may_operate(d->ha, c->model.name, clk_mono_ms(), e, sizeof(e)))
        return;
    sl = slot_of(d, (size_t)ci, point);
    /* Busy, or the cluster's recovery is running (its own hooks come first, and
     * its topology changes are transitional): run once more afterwards. */
    if (sl->busy || ((size_t)ci < d->n_recs && rec_cluster_running(d->recs[ci]))) {
        if (!sl->pending)
            d->hooks_pending++;
        sl->pending = true;
        snprintf(sl->pending_event, sizeof(sl->pending_event), "%s", name);
        json_decref(sl->pending_detail);
        sl->pending_detail = detail ? json_deep_copy(detail) : NULL;
        sl->pending_instance[0] = '\0';
        if (in)
            topo_addr_str(&in->addr, sl->pending_instance, sizeof(sl->pending_instance));
        return;
    }
    if (c->model.primary >= 0) {
        topo_instance *p = c->model.v[c->model.primary];
        topo_addr_str(&p->addr, p->reachable && !p->snap.read_only ? neu : old, TOPO_ADDR_MAX);
    }
    /* A topology change with nobody to route writes to: the failover's hooks come next. */
    if (point == CFG_HOOK_ON_TOPOLOGY_CHANGE && !neu[0])
        return;
    if (point == CFG_HOOK_ON_FAILURE_DETECTED && in)
        topo_addr_str(&in->addr, old, sizeof(old));
    if (json_string_value(json_object_get(detail, "old_primary")))
        snprintf(old, sizeof(old), "%s", json_string_value(json_object_get(detail, "old_primary")));
    addrs = calloc(c->model.n ? c->model.n : 1, sizeof(*addrs));
    reps = calloc(c->model.n ? c->model.n : 1, sizeof(*reps));
    if (!addrs || !reps)
        goto out;
    {
        const topo_addr *skip[1] = {c->model.primary >= 0 ? &c->model.v[c->model.primary]->addr : NULL};
        n = rec_hook_replicas(&c->model, skip, 1, addrs, reps);
    }
    ev = (hook_event){.event = name, .cluster = c->model.name, .old_primary = old, .new_primary = neu,
                      .replicas = reps, .n_replicas = n,
                      .lost_gtids = json_string_value(json_object_get(detail, "lost_gtids")),
                      .recovery_id = (uint64_t)json_integer_value(json_object_get(detail, "recovery_id")),
                      .ts_ms = clk_wall_ms()};
    if (hook_payload_build(&ev, &sl->pl, e, sizeof(e)) < 0) {
        log_error("hook %s: cannot build the payload: %s", cfg_hook_names[point], e);
        goto out;
    }
    sl->have_pl = true;
    sl->next_cmd = 0;
    sl->busy = true;
    if ((size_t)ci < d->n_recs) {
        rec_cluster_hook_started(d->recs[ci]);
        d->check[ci] = true;
    }
    log_debug("hook %s started for %s", cfg_hook_names[point], name);
    if (start_hook_cmd(d, (size_t)ci, point) < 0) {
        hook_payload_free(&sl->pl);
        sl->have_pl = false;
        sl->busy = false;
        if ((size_t)ci < d->n_recs) {
            rec_cluster_hook_ended(d->recs[ci]);
            d->check[ci] = true;
        }
    }
out:
    free(addrs);
    free(reps);
}

static void count_recovery(daemon_t *d, mon_cluster *c, const char *kind, bool ok, int64_t ts)
{
    int ci = cluster_index(d, c);
    rec_counter *rc;
    if (ci < 0)
        return;
    /* A failure without a kind is an automatic failover that could not start. */
    if (!kind || strlen(kind) >= sizeof(rc->kind))
        kind = "failover";
    if (d->cm[ci].started_ms) {
        for (size_t i = 0; i < 3; i++) {
            rec_last *l = &d->cm[ci].last[i];
            if (l->kind[0] && strcmp(l->kind, kind))
                continue;
            snprintf(l->kind, sizeof(l->kind), "%s", kind);
            l->ended_ms = ts;
            l->duration_s = (double)(ts - d->cm[ci].started_ms) / 1000.0;
            break;
        }
        d->cm[ci].started_ms = 0;
    }
    for (size_t i = 0; i < DAEMON_REC_COUNTERS; i++) {
        rc = &d->cm[ci].rec[i];
        if (!rc->kind[0]) {
            snprintf(rc->kind, sizeof(rc->kind), "%s", kind);
            rc->ok = ok;
        }
        if (!strcmp(rc->kind, kind) && rc->ok == ok) {
            rc->n++;
            return;
        }
    }
}

/* The single fan-out point for events: log, PUB socket, state database, hooks. */
static void on_event(void *user, int level, const char *name, mon_cluster *c, const topo_instance *in,
                     const char *message, json_t *detail)
{
    daemon_t *d = user;
    char addr[TOPO_ADDR_MAX] = "";
    int64_t ts = clk_wall_ms();
    json_t *ev;
    char *detail_txt = NULL, *safe = NULL;

    if (in)
        topo_addr_str(&in->addr, addr, sizeof(addr));
    /* Messages quote servers (error texts, report_host): escaped once for every sink, which also
     * keeps them valid UTF-8 for the JSON of the event stream. */
    if (message && !esc_is_safe(message) && (safe = esc_dup(message)))
        message = safe;
    if (c && d->cm && (!strcmp(name, "recovery-done") || !strcmp(name, "recovery-failed")))
        count_recovery(d, c, json_string_value(json_object_get(detail, "kind")), !strcmp(name, "recovery-done"), ts);
    if (c && d->cm && !strcmp(name, "recovery-started") && cluster_index(d, c) >= 0)
        d->cm[cluster_index(d, c)].started_ms = ts;
    log_msg(level, "%s cluster=%s%s%s: %s", name, c ? c->model.name : "-", in ? " instance=" : "", addr, message);
    if (d->opt.watch && level <= LOGL_INFO) {
        char tbuf[16], *line = NULL;
        time_t t = (time_t)(ts / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
        if (asprintf(&line, "%s %-5s %s %s%s%s: %s", tbuf, level_name(level), name, c ? c->model.name : "-",
                     in ? " " : "", addr, message) >= 0) {
            free(d->recent[d->recent_next]);
            d->recent[d->recent_next] = line;
            d->recent_next = (d->recent_next + 1) % WATCH_EVENTS;
            d->recent_changed = true;
        }
    }
    ev = json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s}", "ts_ms", (json_int_t)ts, "name", name, "level",
                   level_name(level), "cluster", c ? c->model.name : NULL, "instance", in ? addr : NULL,
                   "message", message);
    if (detail) {
        json_object_set(ev, "detail", detail);
        detail_txt = json_dumps(detail, JSON_COMPACT);
    }
    if (d->ctl)
        ctl_publish(d->ctl, name, ev);
    if (d->http)
        http_server_publish(d->http, name, c ? c->model.name : NULL, ev);
    if (d->st && level <= LOGL_INFO)
        store_add_event(d->st, ts, name, level_name(level), c ? c->model.name : NULL, in ? addr : NULL, message,
                        detail_txt);
    free(detail_txt);
    json_decref(ev);
    fire_hooks(d, hook_point_of(name, level, detail), name, c, in, detail);
    free(safe);
}

static void flush_pending_hooks(daemon_t *d);

/* Finished asynchronous hooks: log them, report failures, run the next command or the coalesced event. */
static void poll_hooks(daemon_t *d)
{
    uint64_t tag;
    hook_result r;
    while (d->hooks && hook_runner_poll(d->hooks, &tag, &r) == 1) {
        size_t ci = (size_t)(tag >> 40);
        int point = (int)((tag >> 32) & 0xff);
        const char *hp = point >= 0 && point < CFG_N_HOOKS ? cfg_hook_names[point] : "?";
        mon_cluster *c = ci < mon_cluster_count(d->mon) ? mon_cluster_at(d->mon, ci) : NULL;
        hook_slot *sl;
        if (hook_result_ok(&r))
            d->hook_runs_ok++;
        else
            d->hook_runs_failed++;
        if (hook_result_ok(&r)) {
            log_info("hook %s ok (%lld ms)%s%.300s", hp, (long long)r.duration_ms, r.output_len ? ": " : "",
                     r.output ? r.output : "");
        } else {
            char msg[700];
            json_t *detail = json_pack("{s:s, s:b, s:i, s:s}", "hook", hp, "timed_out", r.timed_out, "exit_code",
                                       r.exit_code, "output", r.output ? r.output : "");
            snprintf(msg, sizeof(msg), "%s hook: %s%s%.400s", hp, r.error, r.output_len ? "; output: " : "",
                     r.output ? r.output : "");
            on_event(d, LOGL_WARN, "hook-failed", c, NULL, msg, detail);
            json_decref(detail);
        }
        hook_result_free(&r);
        if (!c || point < 0 || point >= CFG_N_HOOKS)
            continue;
        sl = slot_of(d, ci, point);
        if (++sl->next_cmd < d->cfg->clusters[ci].n_hooks[point] && start_hook_cmd(d, ci, point) == 0)
            continue;
        if (sl->have_pl)
            hook_payload_free(&sl->pl);
        sl->have_pl = false;
        sl->busy = false;
        if (ci < d->n_recs) {
            rec_cluster_hook_ended(d->recs[ci]);
            d->check[ci] = true;
        }
    }
    flush_pending_hooks(d);
}

/* Coalesced events whose hook point is free again (and no recovery runs): fire them. Called on
 * every turn of the loop: without a pending slot it returns at once (the scan of every cluster's
 * slots, 9 MB at 10,000 servers, was most of the loop's own CPU and evicted the cache each turn). */
static void flush_pending_hooks(daemon_t *d)
{
    if (d->stopping || !d->mon || !d->hooks_pending)
        return;
    for (size_t ci = 0; d->hook_slots && ci < d->cfg->n_clusters && ci < mon_cluster_count(d->mon); ci++) {
        mon_cluster *c = mon_cluster_at(d->mon, ci);
        if (ci < d->n_recs && rec_cluster_running(d->recs[ci]))
            continue;
        for (int point = 0; point < CFG_N_HOOKS; point++) {
            hook_slot *sl = slot_of(d, ci, point);
            json_t *det;
            char ev[64], e[64];
            topo_addr a;
            int idx = -1;
            if (!sl->pending || sl->busy)
                continue;
            det = sl->pending_detail;
            snprintf(ev, sizeof(ev), "%s", sl->pending_event);
            if (sl->pending_instance[0] && topo_addr_parse(sl->pending_instance, 3306, &a, e, sizeof(e)) == 0)
                idx = topo_cluster_find(&c->model, &a);
            sl->pending = false;
            d->hooks_pending--;
            sl->pending_detail = NULL;
            fire_hooks(d, point, ev, c, idx >= 0 ? c->model.v[idx] : NULL, det);
            json_decref(det);
        }
    }
}

/* Lag crossing read_pool_max_lag_s in either direction is a topology change (read pools). */
static void track_lag(daemon_t *d, size_t i)
{
    if (i < mon_cluster_count(d->mon)) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        const cfg_cluster *cc = cfg_of(d, c);
        if (!cc || !c->first_round_done)
            return;
        for (size_t k = 0; k < c->model.n; k++) {
            topo_instance *in = c->model.v[k];
            double lag = topo_instance_lag_s(in);
            bool high;
            char a[TOPO_ADDR_MAX];
            if (!in->reachable || !in->have_snap || !in->snap.replica.present)
                continue;
            high = lag < 0 || lag > cc->read_pool_max_lag_s;
            if (high == in->lag_high)
                continue;
            in->lag_high = high;
            topo_addr_str(&in->addr, a, sizeof(a));
            if (high)
                on_event(d, LOGL_INFO, "replica-lag-high", c, in, lag < 0 ? "lag unknown" : "lag above bound",
                         NULL);
            else
                on_event(d, LOGL_INFO, "replica-lag-ok", c, in, "lag back under read_pool_max_lag_s", NULL);
        }
    }
}

static void persist(daemon_t *d, mon_cluster *c, topo_instance *in, int64_t now_s)
{
    if (!d->st)
        return;
    if (!d->in_txn) {
        if (store_begin(d->st) < 0) {
            log_error("state database: cannot begin a transaction: %s", store_errmsg(d->st));
            return;
        }
        d->in_txn = true;
    }
    if (store_save_instance(d->st, c->model.name, in, now_s) < 0)
        log_error("state database: cannot save an instance: %s", store_errmsg(d->st));
    in->persisted_s = now_s;
}

static void on_probe(void *user, mon_cluster *c, topo_instance *in, unsigned changes)
{
    daemon_t *d = user;
    int64_t now_s = mon_wall_s();
    int ci = cluster_index(d, c);
    if (d->touched && ci >= 0 && (size_t)ci < d->n_recs)
        d->touched[ci] = true;
    if (d->cm && in->reachable && in->have_snap && !in->stale && ci >= 0)
        metrics_observe(&d->cm[ci].probe_latency, (double)in->snap.probe_latency_ms / 1000.0);
    /* Write on change at once (next flush), otherwise refresh every 10 s, or less often on a
     * large fleet (refresh_s): serialising and upserting a snapshot costs several times the
     * probe itself, and at 10,000 servers the 10 s refresh took half of the controller's CPU
     * (bench/fleet_bench.py). A restarted controller re-probes everything at once anyway. */
    if (changes || in->persisted_s == 0 || now_s - in->persisted_s >= d->refresh_s)
        persist(d, c, in, now_s);
}

/* Unchanged instances are rewritten at most PERSIST_REFRESH_PER_S a second in all (at least every 10 s each). */
#define PERSIST_REFRESH_PER_S 200

static void flush(daemon_t *d)
{
    size_t n = 0;
    for (size_t i = 0; d->mon && i < mon_cluster_count(d->mon); i++)
        n += mon_cluster_at(d->mon, i)->model.n;
    d->refresh_s = n / PERSIST_REFRESH_PER_S > 10 ? (int64_t)(n / PERSIST_REFRESH_PER_S) : 10;
    if (d->in_txn) {
        if (store_commit(d->st) < 0)
            log_error("state database: commit failed: %s", store_errmsg(d->st));
        d->in_txn = false;
    }
}

/* events_keep_days / events_keep_max: the event table does not grow without bound. */
static void prune_events(daemon_t *d)
{
    if (!d->st)
        return;
    flush(d);
    if (store_prune_events(d->st, clk_wall_ms() - (int64_t)d->cfg->events_keep_days * 86400000,
                           d->cfg->events_keep_max) < 0)
        log_error("state database: cannot prune events: %s", store_errmsg(d->st));
}

static void restored(void *user, topo_instance *in)
{
    void **ctx = user;
    daemon_t *d = ctx[0];
    mon_cluster *c = ctx[1];
    char err[256], addr[TOPO_ADDR_MAX];
    if (mon_attach_instance(d->mon, c, in, err, sizeof(err)) < 0)
        log_error("cannot monitor %s: %s", topo_addr_str(&in->addr, addr, sizeof(addr)), err);
}

/* ---- control commands ------------------------------------------------------ */

static json_t *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_error(const char *fmt, ...)
{
    char *msg;
    json_t *r;
    va_list ap;
    va_start(ap, fmt);
    msg = strbuf_vasprintf(fmt, ap); /* whole: refusals quote evidence and positions */
    va_end(ap);
    r = json_pack("{s:b, s:s}", "ok", 0, "error", msg ? msg : "out of memory building the error message");
    free(msg);
    return r;
}

static json_t *cluster_names(daemon_t *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++)
        json_array_append_new(a, json_string(mon_cluster_at(d->mon, i)->model.name));
    return a;
}

static json_t *unknown_cluster(daemon_t *d, const char *name);

/* status: the controller and its clusters (all, or the one named by "cluster"). */
/* ---- controller coordination (orchestrator/ha/ha.h): the daemon's hook-in ---------- */

static void on_ha_event(void *user, int level, const char *name, const char *cluster, const char *msg)
{
    daemon_t *d = user;
    mon_cluster *c = NULL;
    for (size_t i = 0; cluster && cluster[0] && d->mon && i < mon_cluster_count(d->mon); i++)
        if (!strcmp(mon_cluster_at(d->mon, i)->model.name, cluster))
            c = mon_cluster_at(d->mon, i);
    on_event(d, level, name, c, NULL, msg, NULL);
}

static bool ha_gate(void *user, mon_cluster *c, const ana_result *a, char *why, size_t whylen)
{
    daemon_t *d = user;
    return ha_may_act(d->ha, c->model.name, a, clk_mono_ms(), why, whylen);
}

/* The shared journal and the executor's fencing (ha.h): recovery.c's rec_env hooks. */
static void *ha_fence_take_cb(void *user, mon_cluster *c, char *err, size_t errlen)
{
    daemon_t *d = user;
    return ha_fence_take(d->ha, c->model.name, clk_mono_ms(), err, errlen);
}

static int ha_fence_check_cb(void *fence, const char *journal_json, char *err, size_t errlen)
{
    return ha_fence_check(fence, journal_json, err, errlen);
}

static void ha_fence_renew_cb(void *user, void *fence)
{
    daemon_t *d = user;
    ha_fence_renew(d->ha, fence, clk_mono_ms());
}

static void ha_fence_free_cb(void *fence)
{
    ha_fence_free(fence);
}

static int ha_journal_take_cb(void *user, mon_cluster *c, char **json)
{
    daemon_t *d = user;
    return ha_journal_take(d->ha, c->model.name, json);
}

static void ha_journal_put_cb(void *user, mon_cluster *c, const char *json)
{
    daemon_t *d = user;
    ha_journal_put(d->ha, c->model.name, json, clk_mono_ms());
}

static int ha_state_take_cb(void *user, mon_cluster *c, char **json)
{
    daemon_t *d = user;
    return ha_state_take(d->ha, c->model.name, json);
}

static void ha_state_put_cb(void *user, mon_cluster *c, const char *json)
{
    daemon_t *d = user;
    ha_state_put(d->ha, c->model.name, json, clk_mono_ms());
}

static bool ha_holds_lock_cb(void *user, mon_cluster *c)
{
    daemon_t *d = user;
    return ha_holds_lock(d->ha, c->model.name, clk_mono_ms());
}

static json_t *cmd_status(daemon_t *d, const json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "cluster"));
    json_t *r;
    if (name) {
        bool known = false;
        for (size_t i = 0; i < mon_cluster_count(d->mon); i++)
            known |= !strcmp(mon_cluster_at(d->mon, i)->model.name, name);
        if (!known)
            return unknown_cluster(d, name);
    }
    r = json_pack("{s:b, s:s, s:I, s:s, s:s, s:I}", "ok", 1, "version", MYORCH_VERSION, "pid",
                          (json_int_t)getpid(), "config", d->cfg->path, "state_dir", d->cfg->state_dir,
                          "uptime_s", (json_int_t)(mon_wall_s() - d->started_s));
    json_t *cl = json_array();
    const probe_stats *ps = probe_engine_stats(mon_probe_engine(d->mon));
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        char p[TOPO_ADDR_MAX];
        size_t up = 0, broken = 0;
        if (name && strcmp(name, c->model.name))
            continue;
        for (size_t k = 0; k < c->model.n; k++) {
            topo_instance *in = c->model.v[k];
            up += in->reachable;
            if (in->reachable && in->snap.replica.present &&
                (in->snap.replica.io_state != TOPO_THREAD_YES || in->snap.replica.sql_state != TOPO_THREAD_YES))
                broken++;
        }
        json_t *cj;
        cj = json_pack("{s:s, s:s?, s:I, s:I, s:I, s:b, s:i}", "name", c->model.name, "primary",
                          c->model.primary >= 0 ? topo_addr_str(&c->model.v[c->model.primary]->addr, p, sizeof(p))
                                                : NULL,
                          "servers", (json_int_t)c->model.n, "reachable", (json_int_t)up, "replication_broken",
                          (json_int_t)broken, "first_round_done", c->first_round_done, "poll_interval_ms",
                          c->interval_ms);
        if (i < d->n_recs)
            json_object_set_new(cj, "recovery", rec_cluster_status(d->recs[i]));
        if (i < d->n_recs && d->ready)
            json_object_set_new(cj, "readiness", rtk_json(&d->ready[i]));
        json_array_append_new(cl, cj);
    }
    json_object_set_new(r, "clusters", cl);
    json_object_set_new(r, "coordination", ha_status(d->ha, clk_mono_ms()));
    json_object_set_new(r, "probes", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", (json_int_t)ps->probes_ok,
                                               "detail", (json_int_t)ps->probes_detail,
                                               "failed", (json_int_t)ps->probes_failed, "connects_ok",
                                               (json_int_t)ps->connects_ok, "connects_failed",
                                               (json_int_t)ps->connects_failed, "drops", (json_int_t)ps->drops,
                                               "timeouts", (json_int_t)ps->timeouts));
    return r;
}

static json_t *cmd_topology(daemon_t *d, const json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "cluster"));
    json_t *r, *arr = json_array();
    mon_derive(d->mon);
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        if (name && strcmp(name, c->model.name) != 0)
            continue;
        json_t *cj = topo_cluster_to_json(&c->model, mon_wall_s());
        json_object_set_new(cj, "first_round_done", json_boolean(c->first_round_done));
        if (i < d->n_recs && d->ready)
            json_object_set_new(cj, "readiness", rtk_json(&d->ready[i]));
        json_array_append_new(arr, cj);
    }
    if (name && json_array_size(arr) == 0) {
        json_t *names = cluster_names(d);
        char *txt = json_dumps(names, JSON_COMPACT);
        r = reply_error("unknown cluster '%s' (this controller manages: %s)", name, txt ? txt : "?");
        free(txt);
        json_decref(names);
        json_decref(arr);
        return r;
    }
    r = json_pack("{s:b}", "ok", 1);
    json_object_set_new(r, "clusters", arr);
    return r;
}

static rec_cluster *rec_of(daemon_t *d, const char *name)
{
    for (size_t i = 0; i < d->n_recs; i++)
        if (!strcmp(rec_cluster_mon(d->recs[i])->model.name, name))
            return d->recs[i];
    return NULL;
}

static json_t *unknown_cluster(daemon_t *d, const char *name)
{
    json_t *names = cluster_names(d), *r;
    char *txt = json_dumps(names, JSON_COMPACT);
    r = reply_error("unknown cluster '%s' (this controller manages: %s)", name, txt ? txt : "?");
    free(txt);
    json_decref(names);
    return r;
}

typedef struct held_reply held_reply;
static int ha_route_cmd(daemon_t *d, const char *cluster, const json_t *b, held_reply *from, json_t **reply);

/* ack. Returns 1 when forwarded to the lock holder (*from taken), else 0 with *reply. */
static int cmd_ack(daemon_t *d, const json_t *req, held_reply *from, json_t **reply)
{
    const char *name = json_string_value(json_object_get(req, "cluster"));
    rec_cluster *rcl;
    int fr;
    if (!name) {
        *reply = reply_error("ack needs a cluster");
        return 0;
    }
    if (!(rcl = rec_of(d, name))) {
        *reply = unknown_cluster(d, name);
        return 0;
    }
    if ((fr = ha_route_cmd(d, name, req, from, reply)))
        return fr > 0 ? 1 : 0;
    *reply = json_pack("{s:b, s:i}", "ok", 1, "acknowledged", rec_cluster_ack(rcl));
    return 0;
}

static json_t *cmd_recoveries(daemon_t *d, const json_t *req)
{
    const char *name = json_string_value(json_object_get(req, "cluster"));
    json_int_t id = json_integer_value(json_object_get(req, "id"));
    json_t *r;
    if (name && !rec_of(d, name))
        return unknown_cluster(d, name);
    flush(d); /* the audit is read from the database: make it current */
    r = json_pack("{s:b}", "ok", 1);
    json_object_set_new(r, "recoveries", store_recoveries_json(d->st, name, id, id ? 1 : 50));
    if (id && json_array_size(json_object_get(r, "recoveries")) == 0) {
        json_decref(r);
        return reply_error("no recovery #%lld%s%s", (long long)id, name ? " in cluster " : "", name ? name : "");
    }
    return r;
}

/*
 * Who waits for the answer of a manual operation: a control-socket client or
 * an HTTP request. Either way the same rec_cluster_manual() runs it, so the
 * "already running" rule holds across both doors.
 */
typedef struct held_reply {
    bool http;
    ctl_request ctl;    /* control socket: the request, replied to once */
    void *http_tag;     /* HTTP: http_server_complete()'s tag */
    json_t *body;       /* HTTP: the request, kept alive while the operation runs */
    /* A request another controller forwarded (coordination = etcd): answered through etcd. */
    bool forwarded;
    char fwd_from[64], fwd_id[48];
} held_reply;

/* A request answered later (a manual operation runs for a while). */
static void manual_done(void *user, void *tag, json_t *result)
{
    daemon_t *d = user;
    held_reply *h = tag;
    json_object_set_new(result, "ok", json_boolean(json_is_true(json_object_get(result, "ok"))));
    if (!h) {
        json_decref(result);
        return;
    }
    if (h->forwarded) {
        ha_forward_reply(d->ha, h->fwd_from, h->fwd_id, result);
    } else if (h->http) {
        if (d->http)
            http_server_complete(d->http, h->http_tag, result);
        else
            json_decref(result);
        json_decref(h->body);
    } else if (d->ctl) {
        ctl_server_reply(d->ctl, &h->ctl, result);
    } else {
        json_decref(result);
    }
    free(h);
}

static rec_cluster *rec_for_request(daemon_t *d, const json_t *req, json_t **reply)
{
    const char *name = json_string_value(json_object_get(req, "cluster"));
    rec_cluster *rcl;
    if (!name && d->n_recs == 1)
        return d->recs[0];
    if (!name) {
        *reply = reply_error("this controller manages several clusters: say which one with --cluster");
        return NULL;
    }
    if (!(rcl = rec_of(d, name)))
        *reply = unknown_cluster(d, name);
    return rcl;
}

/*
 * Coordination (orchestrator/ha/ha.h): a mutating command runs on the cluster's lock holder.
 * On another controller it is forwarded to the holder, whose answer is returned (any
 * controller answers); a request that was itself forwarded is never forwarded again.
 * Returns 0: run it here; 1: forwarded (*from taken, the answer comes later); -1: refused (*reply).
 */
static int ha_route_cmd(daemon_t *d, const char *cluster, const json_t *b, held_reply *from, json_t **reply)
{
    char err[1024], ferr[512];
    const char *cmd = json_string_value(json_object_get(b, "cmd"));
    held_reply *held;
    json_t *fb;
    int64_t timeout;
    if (!d->ha || ha_may_operate(d->ha, cluster, clk_mono_ms(), err, sizeof(err)))
        return 0;
    if (json_object_get(b, "forwarded_from") || from->forwarded) {
        *reply = reply_error("%s", err);
        return -1;
    }
    held = malloc(sizeof(*held));
    fb = json_deep_copy(b);
    if (!held || !fb) {
        free(held);
        json_decref(fb);
        *reply = reply_error("out of memory");
        return -1;
    }
    json_object_set_new(fb, "cluster", json_string(cluster));
    json_object_set_new(fb, "forwarded_from", json_string(ha_name(d->ha)));
    /* Bounded wait: an operation's own bounds, plus a margin; ack and maintenance are quick. */
    timeout = (!strcmp(cmd, "ack") || !strcmp(cmd, "maintenance")) ? 4000
              : 120000 + (int64_t)json_integer_value(json_object_get(b, "timeout_ms"));
    *held = *from;
    if (ha_forward(d->ha, cluster, fb, held, timeout, clk_mono_ms(), ferr, sizeof(ferr)) < 0) {
        free(held);
        json_decref(fb);
        *reply = reply_error("%s; forwarding: %s", err, ferr);
        return -1;
    }
    json_decref(fb);
    return 1;
}

/* The answer to a request this controller forwarded: to whoever asked (manual_done frees tag). */
static void on_fwd_done(void *user, void *tag, json_t *result)
{
    manual_done(user, tag, result);
}

static int dispatch(daemon_t *d, const json_t *body, int role, const char *client, held_reply *held, json_t **reply);

/* A request another controller forwarded to this one (the lock holder). */
static void on_fwd_request(void *user, const char *cluster, const char *from, const char *id, json_t *body)
{
    daemon_t *d = user;
    const char *cmd = json_string_value(json_object_get(body, "cmd"));
    held_reply h = {.forwarded = true};
    char client[96];
    json_t *reply = NULL;
    const char *name = json_string_value(json_object_get(body, "cluster"));
    snprintf(h.fwd_from, sizeof(h.fwd_from), "%s", from);
    snprintf(h.fwd_id, sizeof(h.fwd_id), "%s", id);
    snprintf(client, sizeof(client), "controller %s (forwarded)", from);
    if (!cmd || (strcmp(cmd, "switchover") && strcmp(cmd, "failover") && strcmp(cmd, "relocate") &&
                 strcmp(cmd, "maintenance") && strcmp(cmd, "ack"))) {
        reply = reply_error("only switchover, failover, relocate, maintenance and ack are forwarded");
    } else if (!name || strcmp(name, cluster)) {
        reply = reply_error("a forwarded request must name the cluster of its key");
    } else if (dispatch(d, body, CFG_ROLE_OPERATOR, client, &h, &reply) == 1) {
        return; /* answered when the operation ends (manual_done) */
    }
    ha_forward_reply(d->ha, from, id, reply);
}

/* switchover / failover / relocate. Returns 1 when the reply will come later (*from is then taken). */
static int cmd_manual(daemon_t *d, const json_t *b, held_reply *from, json_t **reply)
{
    rec_manual m = {.kind = json_string_value(json_object_get(b, "cmd")),
                    .to = json_string_value(json_object_get(b, "to")),
                    .replica = json_string_value(json_object_get(b, "replica")),
                    .below = json_string_value(json_object_get(b, "below")),
                    .dry_run = json_is_true(json_object_get(b, "dry_run")),
                    .force = json_is_true(json_object_get(b, "force")),
                    .timeout_ms = (int)json_integer_value(json_object_get(b, "timeout_ms"))};
    rec_cluster *rcl = NULL;
    char err[1024];
    held_reply *held;
    int r;

    if (rec_op_parse(m.kind) == REC_OP_RELOCATE && !json_object_get(b, "cluster") && m.replica) {
        /* Find the cluster that knows the replica. */
        topo_addr a;
        if (topo_addr_parse(m.replica, 3306, &a, err, sizeof(err)) == 0)
            for (size_t i = 0; i < d->n_recs && !rcl; i++)
                if (topo_cluster_find(&rec_cluster_mon(d->recs[i])->model, &a) >= 0)
                    rcl = d->recs[i];
        if (!rcl) {
            *reply = reply_error("no cluster of this controller knows %s (see 'myorch topology')", m.replica);
            return 0;
        }
    } else if (!(rcl = rec_for_request(d, b, reply))) {
        return 0;
    }
    /* Coordination (orchestrator/ha/ha.h): an operation runs on the cluster's lock holder only. */
    if (d->ha && !m.dry_run) {
        int fr = ha_route_cmd(d, rec_cluster_mon(rcl)->model.name, b, from, reply);
        if (fr)
            return fr > 0 ? 1 : 0;
    }
    held = malloc(sizeof(*held));
    if (!held) {
        *reply = reply_error("out of memory");
        return 0;
    }
    r = rec_cluster_manual(rcl, &m, held, reply, err, sizeof(err));
    if (r == 1) {
        *held = *from; /* the reply goes out when the operation ends */
        return 1;
    }
    free(held);
    if (r < 0)
        *reply = reply_error("%s", err);
    return 0;
}

static json_t *cmd_maintenance(daemon_t *d, const json_t *b, held_reply *from, int *forwarded)
{
    const char *action = json_string_value(json_object_get(b, "action"));
    const char *instance = json_string_value(json_object_get(b, "instance"));
    const char *reason = json_string_value(json_object_get(b, "reason"));
    json_int_t duration = json_integer_value(json_object_get(b, "duration_s"));
    rec_cluster *rcl = NULL;
    json_t *reply = NULL;
    char err[512];
    if (!action || (strcmp(action, "begin") && strcmp(action, "end")))
        return reply_error("maintenance needs begin or end");
    if (instance && !json_object_get(b, "cluster")) {
        topo_addr a;
        if (topo_addr_parse(instance, 3306, &a, err, sizeof(err)) < 0)
            return reply_error("--instance: %s", err);
        for (size_t i = 0; i < d->n_recs && !rcl; i++)
            if (topo_cluster_find(&rec_cluster_mon(d->recs[i])->model, &a) >= 0)
                rcl = d->recs[i];
        if (!rcl)
            return reply_error("no cluster of this controller knows %s (see 'myorch topology')", instance);
    } else if (!(rcl = rec_for_request(d, b, &reply))) {
        return reply;
    }
    {
        int fr = ha_route_cmd(d, rec_cluster_mon(rcl)->model.name, b, from, &reply);
        if (fr) {
            *forwarded = fr > 0;
            return reply; /* NULL when forwarded */
        }
    }
    if (rec_cluster_maintenance(rcl, !strcmp(action, "begin"), instance, reason, duration, err, sizeof(err)) < 0)
        return reply_error("%s", err);
    return json_pack("{s:b, s:s, s:o}", "ok", 1, "cluster", rec_cluster_mon(rcl)->model.name, "recovery", rec_cluster_status(rcl));
}

static json_t *cmd_report(daemon_t *d, const json_t *b)
{
    const char *name = json_string_value(json_object_get(b, "cluster"));
    json_int_t since = json_integer_value(json_object_get(b, "since_ms"));
    int64_t now = clk_wall_ms();
    json_t *arr = json_array(), *r;
    if (name && !rec_of(d, name)) {
        json_decref(arr);
        return unknown_cluster(d, name);
    }
    flush(d);
    for (size_t i = 0; i < d->n_recs; i++) {
        rec_cluster *rcl = d->recs[i];
        json_t *hist, *v;
        rep_point *pts;
        size_t n, k;
        rep_report rep;
        if (name && strcmp(name, rec_cluster_mon(rcl)->model.name))
            continue;
        hist = store_availability_json(d->st, rec_cluster_mon(rcl)->model.name, since);
        n = json_array_size(hist);
        pts = calloc(n ? n : 1, sizeof(*pts));
        json_array_foreach(hist, k, v) {
            const char *st = json_string_value(json_array_get(v, 1));
            pts[k].ts_ms = json_integer_value(json_array_get(v, 0));
            pts[k].state = rep_state_of(st);
        }
        if (rep_compute(pts, n, since ? since : (n ? pts[0].ts_ms : now), now, rec_cluster_cfg(rcl)->sla_target,
                        rec_cluster_cfg(rcl)->sla_counts_planned, &rep) == 0) {
            json_t *o = json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f}", "cluster",
                                  rec_cluster_mon(rcl)->model.name, "since_ms", (json_int_t)rep.since_ms, "until_ms",
                                  (json_int_t)rep.until_ms, "monitored_s", rep.monitored_ms / 1000.0, "up_s",
                                  rep.up_ms / 1000.0, "down_s", rep.down_ms / 1000.0, "failures", rep.failures,
                                  "down_periods", rep.down_periods, "availability_pct", rep.availability_pct,
                                  "mtbf_s", rep.mtbf_s, "mttr_s", rep.mttr_s, "model_availability_pct",
                                  rep.model_pct, "sla_target_pct", rep.sla_target_pct, "budget_left_s",
                                  rep.budget_left_s);
            /* Milliseconds as measured, planned write blocks apart from unplanned outages. */
            json_object_set_new(o, "monitored_ms", json_integer(rep.monitored_ms));
            json_object_set_new(o, "up_ms", json_integer(rep.up_ms));
            json_object_set_new(o, "down_ms", json_integer(rep.down_ms));
            json_object_set_new(o, "planned_ms", json_integer(rep.planned_ms));
            json_object_set_new(o, "planned_s", json_real(rep.planned_ms / 1000.0));
            json_object_set_new(o, "planned_blocks", json_integer(rep.planned_blocks));
            json_object_set_new(o, "sla_counts_planned", json_boolean(rep.sla_counts_planned));
            json_object_set_new(o, "sla_down_ms", json_integer(rep.sla_down_ms));
            json_object_set_new(o, "budget_s", json_real(rep.budget_s));
            if (d->ready)
                json_object_set_new(o, "readiness", rtk_json(&d->ready[i]));
            v = store_drill_last_json(d->st, rec_cluster_mon(rcl)->model.name, true);
            json_object_set_new(o, "last_drill", v ? v : json_null());
            v = store_drill_last_json(d->st, rec_cluster_mon(rcl)->model.name, false);
            if (v && json_is_true(json_object_get(v, "ok")))
                json_decref(v), v = NULL; /* the last one succeeded: shown above */
            json_object_set_new(o, "last_drill_failed", v ? v : json_null());
            json_array_append_new(arr, o);
        }
        free(pts);
        json_decref(hist);
    }
    r = json_pack("{s:b}", "ok", 1);
    json_object_set_new(r, "clusters", arr);
    return r;
}

/* drill-record: `myorch drill` reports a finished drill (it ran both switchovers through
 * this socket); the state database keeps it for the report (orchestrator/drill.h). */
static json_t *cmd_drill_record(daemon_t *d, const json_t *b)
{
    json_t *reply = NULL;
    rec_cluster *rcl = rec_for_request(d, b, &reply);
    store_drill dr;
    char err[256];
    if (!rcl)
        return reply;
    if (drill_record_parse(b, &dr, err, sizeof(err)) < 0)
        return reply_error("drill-record: %s", err);
    dr.cluster = rec_cluster_mon(rcl)->model.name;
    if (!d->st || store_drill_add(d->st, &dr) < 0)
        return reply_error("drill-record: cannot store the drill: %s", store_errmsg(d->st));
    for (size_t i = 0; d->ready && i < d->n_recs; i++)
        if (d->recs[i] == rcl)
            d->ready[i].rto_loaded = false; /* the drill's switchovers are new RTO samples */
    {
        json_t *detail = json_pack("{s:b, s:s?, s:s?, s:I, s:I, s:s?}", "ok", dr.ok, "from_primary", dr.from_primary,
                                   "via", dr.via, "there_write_block_ms", (json_int_t)dr.there_write_block_ms,
                                   "back_write_block_ms", (json_int_t)dr.back_write_block_ms, "error", dr.error);
        if (dr.ok)
            on_event(d, LOGL_INFO, "drill-done", rec_cluster_mon(rcl), NULL, "switchover drill there and back done",
                     detail);
        else
            on_event(d, LOGL_WARN, "drill-failed", rec_cluster_mon(rcl), NULL, "switchover drill failed", detail);
        json_decref(detail);
    }
    return json_pack("{s:b}", "ok", 1);
}

static void avail_add(daemon_t *d, size_t i, int64_t ts_ms, int st)
{
    if (ts_ms < d->avail_ts[i])
        ts_ms = d->avail_ts[i]; /* the history stays sorted */
    d->avail[i] = st;
    d->avail_ts[i] = ts_ms;
    store_availability_add(d->st, rec_cluster_mon(d->recs[i])->model.name, ts_ms, rep_state_name(st));
}

/*
 * Record the clusters' write availability when it changes. A switchover's
 * write block is recorded as planned, with the executor's own timestamps
 * (demote start → promotion), not as an outage. Once it has ended, the model
 * has PLANNED_CATCH_UP_MS to see the expected primary (the new one, or the
 * old one after a rollback) writable: until then what the probes show is the
 * model catching up (a stale snapshot of the old primary, then a moment with
 * none writable), not the cluster; after it, a missing writable primary is an
 * unplanned outage from the block's end.
 */
#define PLANNED_CATCH_UP_MS 10000
/* Cluster i's availability (one cluster: the loop calls it for the clusters it ticks). */
static void track_availability_one(daemon_t *d, size_t i, bool stopping)
{
    if (i < d->n_recs && d->st) {
        rec_cluster *rcl = d->recs[i];
        mon_cluster *c = rec_cluster_mon(rcl);
        rec_planned_block pb;
        int st;
        if (stopping) {
            st = REP_UNMONITORED;
        } else {
            topo_instance *p = c->model.primary >= 0 ? c->model.v[c->model.primary] : NULL;
            if (!c->first_round_done)
                return;
            st = p && p->reachable && !p->snap.read_only && !p->fenced ? REP_UP : REP_DOWN;
        }
        if (!stopping && rec_cluster_planned(rcl, &pb)) {
            if (d->avail[i] != REP_PLANNED)
                avail_add(d, i, pb.from_ms, REP_PLANNED);
            if (!pb.to_ms)
                return; /* writes blocked on purpose: whatever the probes see now is planned */
            if (!(st == REP_UP && topo_addr_eq(&c->model.v[c->model.primary]->addr, &pb.primary)) &&
                clk_wall_ms() - pb.to_ms < PLANNED_CATCH_UP_MS)
                return; /* the model has not seen the expected primary writable yet */
            avail_add(d, i, pb.to_ms, st);
            rec_cluster_planned_clear(rcl);
            return;
        }
        if (d->avail[i] == st || (stopping && d->avail[i] == -2))
            return;
        avail_add(d, i, clk_wall_ms(), st);
    }
}

static void track_availability(daemon_t *d, bool stopping)
{
    for (size_t i = 0; i < d->n_recs; i++)
        track_availability_one(d, i, stopping);
}

/* ---- configuration reload (SIGHUP, `myorch reload`; orchestrator/reload.h) ------------
 * A new file is loaded and validated in full first: a bad one is refused with the loader's
 * FILE:LINE message and an event, and nothing changes. A valid one replaces the per-cluster
 * part of the controller (monitor, recoveries, metrics, hook slots: setup_clusters) only
 * between operations: while a recovery, switchover, after-care job or hook runs it waits,
 * so a running recovery always finishes with the configuration it started with. The state
 * database carries what must survive (fence marks, anti-flap blocks, maintenance, audit). */

static int setup_clusters(daemon_t *d, char *err, size_t errlen);

/* The recoveries (a running one is finished, never abandoned half-way) and the per-cluster
 * tables that go with them. */
static void free_recoveries(daemon_t *d)
{
    for (size_t i = 0; i < d->n_recs; i++)
        rec_cluster_free(d->recs[i]);
    free(d->recs);
    d->recs = NULL;
    d->n_recs = 0;
    free(d->avail);
    d->avail = NULL;
    free(d->avail_ts);
    d->avail_ts = NULL;
    free(d->ready);
    d->ready = NULL;
    free(d->touched);
    d->touched = NULL;
    free(d->waiting_gen);
    d->waiting_gen = NULL;
    free(d->check);
    d->check = NULL;
}

/* The monitor, the cluster metrics and the hook slots: after the recoveries. */
static void free_monitor(daemon_t *d)
{
    mon_free(d->mon);
    d->mon = NULL;
    free(d->cm);
    d->cm = NULL;
    for (size_t i = 0; d->hook_slots && i < d->cfg->n_clusters * CFG_N_HOOKS; i++) {
        if (d->hook_slots[i].have_pl)
            hook_payload_free(&d->hook_slots[i].pl);
        json_decref(d->hook_slots[i].pending_detail);
    }
    free(d->hook_slots);
    d->hook_slots = NULL;
    d->hooks_pending = 0;
}

static void teardown_clusters(daemon_t *d)
{
    free_recoveries(d);
    free_monitor(d);
}

/* true (why filled) while an operation runs that a reload must not change. */
static bool reload_busy(daemon_t *d, char *why, size_t whylen)
{
    for (size_t i = 0; i < d->n_recs; i++) {
        const rec_cluster *rcl = d->recs[i];
        int64_t id;
        const char *what = rec_cluster_busy(rcl, &id);
        for (size_t h = 0; !what && d->hook_slots && h < CFG_N_HOOKS; h++)
            if (d->hook_slots[i * CFG_N_HOOKS + h].busy || d->hook_slots[i * CFG_N_HOOKS + h].pending)
                what = "hook";
        if (what) {
            if (id)
                snprintf(why, whylen, "%s #%lld of cluster %s", what, (long long)id, rec_cluster_mon(rcl)->model.name);
            else
                snprintf(why, whylen, "%s of cluster %s", what, rec_cluster_mon(rcl)->model.name);
            return true;
        }
    }
    return false;
}

static json_t *names_json(const char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void names_text(strbuf *b, const char *label, const char **v, size_t n)
{
    if (!n)
        return;
    strbuf_printf(b, "; %s ", label);
    for (size_t i = 0; i < n; i++)
        strbuf_printf(b, "%s%s", i ? ", " : "", v[i]);
}

/* Per-cluster metrics and availability of clusters kept by the reload (matched by name). */
static void reload_carry(daemon_t *d, const cfg_config *from, const cluster_metrics *cm, const int *av,
                         const int64_t *avts, size_t n)
{
    for (size_t i = 0; i < d->cfg->n_clusters && i < d->n_recs; i++)
        for (size_t j = 0; j < n && j < from->n_clusters; j++) {
            if (strcmp(d->cfg->clusters[i].name, from->clusters[j].name))
                continue;
            if (cm && d->cm)
                d->cm[i] = cm[j];
            if (av && avts && d->avail) {
                d->avail[i] = av[j];
                d->avail_ts[i] = avts[j];
            }
        }
}

/* Apply d->reload_next (validated) now. Returns 0, or -errno with err: then the previous
 * configuration runs again (or, if even that cannot be rebuilt, the controller stops). */
static int reload_apply(daemon_t *d, json_t **info, char *err, size_t errlen)
{
    cfg_config *nc = d->reload_next;
    const cfg_config *prev = d->cfg;
    cluster_metrics *old_cm;
    int *old_av;
    int64_t *old_avts;
    size_t n_old = d->n_recs;
    rld_diff df;
    strbuf msg = STRBUF_INIT;
    json_t *det;
    int rc;

    d->reload_next = NULL;
    d->reload_waiting[0] = '\0';
    if ((rc = rld_compare(prev, nc, &df, err, errlen)) < 0) {
        cfg_free(nc);
        free(nc);
        return rc;
    }
    {
        int64_t now_s = mon_wall_s();
        for (size_t i = 0; i < d->n_recs; i++) {
            mon_cluster *c = rec_cluster_mon(d->recs[i]);
            for (size_t k = 0; k < c->model.n; k++)
                persist(d, c, c->model.v[k], now_s);
            if (!cfg_find_cluster(nc, c->model.name) && d->avail[i] != -2)
                avail_add(d, i, clk_wall_ms(), REP_UNMONITORED);
        }
        flush(d);
    }
    old_cm = d->cm;
    old_av = d->avail;
    old_avts = d->avail_ts;
    d->cm = NULL;
    d->avail = NULL;
    d->avail_ts = NULL;
    teardown_clusters(d);
    d->cfg = nc;
    if ((rc = setup_clusters(d, err, errlen)) < 0) {
        char e2[512];
        teardown_clusters(d);
        d->cfg = prev;
        if (setup_clusters(d, e2, sizeof(e2)) < 0) {
            log_error("reload: cannot rebuild the previous configuration either (%s): stopping", e2);
            d->stop = true;
        }
        reload_carry(d, prev, old_cm, old_av, old_avts, n_old);
        cfg_free(nc);
        free(nc);
        goto out;
    }
    reload_carry(d, prev, old_cm, old_av, old_avts, n_old);
    log_set_level(nc->log_level);
    strbuf_printf(&msg, "configuration reloaded from %s: %zu cluster(s)", nc->path, nc->n_clusters);
    names_text(&msg, "added", df.added, df.n_added);
    names_text(&msg, "removed", df.removed, df.n_removed);
    names_text(&msg, "changed", df.changed, df.n_changed);
    if (!df.n_added && !df.n_removed && !df.n_changed)
        strbuf_printf(&msg, "; no cluster changed%s", df.globals_changed ? " ([myorch] settings did)" : "");
    det = json_pack("{s:s, s:o, s:o, s:o, s:b}", "config", nc->path, "added", names_json(df.added, df.n_added),
                    "removed", names_json(df.removed, df.n_removed), "changed",
                    names_json(df.changed, df.n_changed), "globals_changed", df.globals_changed);
    on_event(d, LOGL_INFO, "config-reloaded", NULL, NULL, strbuf_str(&msg), det);
    if (info) {
        json_object_set_new(det, "ok", json_true());
        json_object_set_new(det, "applied", json_true());
        *info = json_incref(det);
    }
    json_decref(det);
    strbuf_free(&msg);
    if (d->owned_cfg) {
        cfg_free(d->owned_cfg); /* prev: nothing points into it any more */
        free(d->owned_cfg);
    }
    d->owned_cfg = nc;
out:
    rld_diff_free(&df);
    free(old_cm);
    free(old_av);
    free(old_avts);
    svc_ready(&d->svc, clk_mono_ms(), d->cfg->n_clusters);
    return rc;
}

static void reload_refused(daemon_t *d, const char *via, const char *why)
{
    json_t *det = json_pack("{s:s, s:s}", "config", d->cfg->path, "error", why);
    char *msg = strbuf_asprintf("%s: configuration reload refused: %s; the running configuration stays", via, why);
    on_event(d, LOGL_ERROR, "config-reload-failed", NULL, NULL, msg ? msg : why, det);
    free(msg);
    json_decref(det);
}

/*
 * Load the configuration file again (via: "SIGHUP" or who asked). Returns 0 when it was
 * applied (*info: what changed), 1 when it waits for a running operation (*info says
 * which), or -errno with err when it was refused (the running configuration stays).
 */
static int reload_request(daemon_t *d, const char *via, json_t **info, char *err, size_t errlen)
{
    cfg_config *nc = calloc(1, sizeof(*nc));
    rld_diff df;
    char why[160];
    int rc;

    if (!nc) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    log_info("%s: reloading the configuration from %s", via, d->cfg->path);
    svc_reloading();
    if ((rc = cfg_load(d->cfg->path, nc, err, errlen)) < 0 || (rc = rld_compare(d->cfg, nc, &df, err, errlen)) < 0) {
        cfg_free(nc);
        free(nc);
        reload_refused(d, via, err);
        svc_ready(&d->svc, clk_mono_ms(), d->cfg->n_clusters);
        return rc;
    }
    rld_diff_free(&df);
    if (d->reload_next) { /* a newer file supersedes the one still waiting */
        cfg_free(d->reload_next);
        free(d->reload_next);
    }
    d->reload_next = nc;
    if (reload_busy(d, why, sizeof(why))) {
        json_t *det = json_pack("{s:s, s:s}", "config", d->cfg->path, "waits_for", why);
        char *msg = strbuf_asprintf("%s: configuration reload waits until the running %s ends (a reload never "
                                    "changes a running operation)", via, why);
        snprintf(d->reload_waiting, sizeof(d->reload_waiting), "%s", why);
        on_event(d, LOGL_INFO, "config-reload-deferred", NULL, NULL, msg ? msg : why, det);
        free(msg);
        if (info) {
            json_object_set_new(det, "ok", json_true());
            json_object_set_new(det, "applied", json_false());
            *info = json_incref(det);
        }
        json_decref(det);
        svc_ready(&d->svc, clk_mono_ms(), d->cfg->n_clusters);
        return 1;
    }
    if ((rc = reload_apply(d, info, err, errlen)) < 0)
        reload_refused(d, via, err);
    return rc;
}

/* Every loop turn: SIGHUP's reload, and a waiting reload once nothing runs. */
static void reload_tick(daemon_t *d)
{
    char err[1024], why[160];
    if (d->stop)
        return;
    if (d->reload_signal) {
        d->reload_signal = false;
        reload_request(d, "SIGHUP", NULL, err, sizeof(err));
    } else if (d->reload_next && !reload_busy(d, why, sizeof(why))) {
        svc_reloading();
        if (reload_apply(d, NULL, err, sizeof(err)) < 0)
            reload_refused(d, "reload", err);
    }
}

static json_t *cmd_reload(daemon_t *d, const char *client)
{
    char err[1024], via[160];
    json_t *info = NULL;
    int rc;
    snprintf(via, sizeof(via), "reload asked by %s", client);
    rc = reload_request(d, via, &info, err, sizeof(err));
    if (rc < 0)
        return reply_error("%s", err);
    return info ? info : json_pack("{s:b}", "ok", 1);
}

/*
 * Answer one control request for a client of role: the control socket and
 * the HTTP API both come here, so both get the same documents. Returns 1
 * when the reply comes later (then *held has been taken), else 0 with *reply.
 */
static int dispatch(daemon_t *d, const json_t *body, int role, const char *client, held_reply *held, json_t **reply)
{
    const char *cmd = json_string_value(json_object_get(body, "cmd"));
    char shown[41]; /* the command as a log may show it: printable, bounded */
    size_t k;
    *reply = NULL;
    /* A request may change what makes a cluster quiet (an operation, maintenance, an ack),
     * whichever way it came (control socket, HTTP, forwarded by a peer through etcd): every
     * cluster's state is read again at the next sweep. */
    if (d->check)
        memset(d->check, 1, d->n_recs);
    if (!cmd) {
        *reply = reply_error("a request needs \"cmd\"");
        return 0;
    }
    for (k = 0; k < sizeof(shown) - 1 && cmd[k]; k++)
        shown[k] = (unsigned char)cmd[k] < 0x20 || (unsigned char)cmd[k] >= 0x7f ? '?' : cmd[k];
    shown[k] = '\0';
    log_debug("control: %s%s from %s", shown, cmd[k] ? "..." : "", client);
    if (!ctl_cmd_allowed(role, cmd)) {
        log_warn("control: refused '%s%s' from %s: a read-only key", shown, cmd[k] ? "..." : "", client);
        *reply = reply_error("'%s%s' is refused: this client's key (%s) is read-only (control_readonly_keys); "
                             "read-only clients may run status, topology, events, recoveries and report",
                             shown, cmd[k] ? "..." : "", client);
    } else if (!strcmp(cmd, "ping"))
        *reply = json_pack("{s:b, s:s}", "ok", 1, "version", MYORCH_VERSION);
    else if (!strcmp(cmd, "status"))
        *reply = cmd_status(d, body);
    else if (!strcmp(cmd, "topology"))
        *reply = cmd_topology(d, body);
    else if (!strcmp(cmd, "ack")) {
        if (cmd_ack(d, body, held, reply) == 1)
            return 1; /* forwarded: answered by the lock holder */
    }
    else if (!strcmp(cmd, "recoveries"))
        *reply = cmd_recoveries(d, body);
    else if (!strcmp(cmd, "switchover") || !strcmp(cmd, "failover") || !strcmp(cmd, "relocate")) {
        if (cmd_manual(d, body, held, reply) == 1)
            return 1; /* answered when it finishes */
    } else if (!strcmp(cmd, "maintenance")) {
        int fwd = 0;
        *reply = cmd_maintenance(d, body, held, &fwd);
        if (fwd)
            return 1; /* forwarded: answered by the lock holder */
    }
    else if (!strcmp(cmd, "report"))
        *reply = cmd_report(d, body);
    else if (!strcmp(cmd, "reload"))
        *reply = cmd_reload(d, client);
    else if (!strcmp(cmd, "drill-record"))
        *reply = cmd_drill_record(d, body);
    else
        *reply = reply_error("unknown command '%s' (this daemon knows: ping, status, topology, ack, recoveries, "
                             "switchover, failover, relocate, maintenance, report, reload, drill-record)", shown);
    return 0;
}

static void handle_control(daemon_t *d)
{
    ctl_request req;
    while (ctl_server_recv(d->ctl, &req) == 1) {
        held_reply h = {.http = false, .ctl = req};
        json_t *reply;
        if (dispatch(d, req.body, req.role, req.client, &h, &reply) == 1)
            continue; /* the request now belongs to the running operation */
        ctl_server_reply(d->ctl, &req, reply);
    }
}

/* ---- HTTP API (orchestrator/serve/http.h) ----------------------------------------------- */

static int http_control(void *user, json_t *req, int role, void *tag, json_t **reply)
{
    daemon_t *d = user;
    held_reply h = {.http = true, .http_tag = tag, .body = req};
    json_incref(req);
    if (dispatch(d, req, role, role == CFG_ROLE_OPERATOR ? "http:token" : "http", &h, reply) == 1)
        return 1;
    json_decref(req);
    return 0;
}

static bool http_has_cluster(void *user, const char *name)
{
    daemon_t *d = user;
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++)
        if (!strcmp(mon_cluster_at(d->mon, i)->model.name, name))
            return true;
    return false;
}

static bool http_ready(void *user, char *why, size_t whylen)
{
    daemon_t *d = user;
    size_t off = 0;
    bool ready = true;
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        if (c->first_round_done)
            continue;
        if (ready)
            off = (size_t)snprintf(why, whylen, "first probe round not done for cluster(s):");
        ready = false;
        if (off < whylen)
            off += (size_t)snprintf(why + off, whylen - off, " %s", c->model.name);
    }
    return ready;
}

static void lbl_bool(metrics_text *t, const char *name, const char *cl, const char *inst, double v)
{
    const char *l[] = {"cluster", cl, inst ? "instance" : NULL, inst, NULL};
    metrics_sample(t, name, l, v);
}

/*
 * /metrics is produced in steps (issue 17): one family over a slice of the clusters per step, the
 * HTTP server asking for the next step as the client takes the text. Built in one piece, a scrape
 * of 10,000 servers (9.8 MB) held the loop 100-250 ms: probes and a failover waited behind it.
 * A step works on the state as it is then; a reload between two steps changes what the next ones
 * see, as a scrape taken a moment later would.
 */
#define METRICS_SLICE 64 /* clusters per step: well under 1 ms of work for the widest family */

typedef void (*metrics_fam_fn)(daemon_t *d, metrics_text *t, size_t lo, size_t hi);

/* Metrics, controller families: build, start, readiness, probe and hook counters. */
static void fam_controller(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    const probe_stats *ps = probe_engine_stats(mon_probe_engine(d->mon));
    (void)lo;
    (void)hi;
    metrics_family(t, "myorch_build_info", "gauge", "myorch build: version label, value 1");
    {
        const char *l[] = {"version", MYORCH_VERSION, NULL};
        metrics_sample(t, "myorch_build_info", l, 1);
    }
    metrics_family(t, "myorch_start_time_seconds", "gauge", "Unix time the controller started");
    metrics_sample(t, "myorch_start_time_seconds", NULL, (double)d->started_s);
    metrics_family(t, "myorch_ready", "gauge", "1 once the first probe round of every cluster is done");
    {
        char why[8];
        metrics_sample(t, "myorch_ready", NULL, http_ready(d, why, sizeof(why)));
    }
    metrics_family(t, "myorch_probes_total", "counter", "Probes finished, by result");
    {
        const char *ok[] = {"result", "ok", NULL}, *bad[] = {"result", "failed", NULL};
        metrics_sample(t, "myorch_probes_total", ok, (double)ps->probes_ok);
        metrics_sample(t, "myorch_probes_total", bad, (double)ps->probes_failed);
    }
    metrics_family(t, "myorch_probe_timeouts_total", "counter", "Probes that hit connect_timeout_ms or read_timeout_ms");
    metrics_sample(t, "myorch_probe_timeouts_total", NULL, (double)ps->timeouts);
    metrics_family(t, "myorch_hook_runs_total", "counter", "Asynchronous hook commands finished, by result");
    {
        const char *ok[] = {"result", "ok", NULL}, *bad[] = {"result", "failed", NULL};
        metrics_sample(t, "myorch_hook_runs_total", ok, (double)d->hook_runs_ok);
        metrics_sample(t, "myorch_hook_runs_total", bad, (double)d->hook_runs_failed);
    }
}

/* The monitored clusters of a slice: [lo, min(hi, count)). */
static size_t slice_end(size_t hi, size_t count)
{
    return hi < count ? hi : count;
}

/* Metrics, instance families: up, role, read_only. */
static void fam_instance_up(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    char a[TOPO_ADDR_MAX];
    if (!lo)
        metrics_family(t, "myorch_instance_up", "gauge", "1 when the last probe of the server succeeded");
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n; i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        for (size_t k = 0; k < c->model.n; k++)
            lbl_bool(t, "myorch_instance_up", c->model.name, topo_addr_str(&c->model.v[k]->addr, a, sizeof(a)),
                     c->model.v[k]->reachable);
    }
}

static void fam_instance_role(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    char a[TOPO_ADDR_MAX];
    if (!lo)
        metrics_family(t, "myorch_instance_role", "gauge", "The server's role in the topology (label role), value 1");
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n; i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        for (size_t k = 0; k < c->model.n; k++) {
            const char *l[] = {"cluster", c->model.name, "instance",
                               topo_addr_str(&c->model.v[k]->addr, a, sizeof(a)), "role",
                               topo_role_name(c->model.v[k]->role), NULL};
            metrics_sample(t, "myorch_instance_role", l, 1);
        }
    }
}

static void fam_instance_read_only(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    char a[TOPO_ADDR_MAX];
    if (!lo)
        metrics_family(t, "myorch_instance_read_only", "gauge", "1 when the server is read_only (last good probe)");
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n; i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        for (size_t k = 0; k < c->model.n; k++)
            if (c->model.v[k]->have_snap)
                lbl_bool(t, "myorch_instance_read_only", c->model.name,
                         topo_addr_str(&c->model.v[k]->addr, a, sizeof(a)), c->model.v[k]->snap.read_only);
    }
}

/* A replica's value for one metrics family; negative: absent (unknown). */
typedef double (*replica_value_fn)(const topo_instance *in);

static double replica_io_running(const topo_instance *in) { return in->snap.replica.io_state == TOPO_THREAD_YES; }
static double replica_sql_running(const topo_instance *in) { return in->snap.replica.sql_state == TOPO_THREAD_YES; }
static double replica_behind(const topo_instance *in) { return in->behind_trx >= 0 ? (double)in->behind_trx : -1; }

/* One gauge family with a sample for every reachable replica whose value is known. */
static void replica_family(daemon_t *d, metrics_text *t, size_t lo, size_t hi, const char *name, const char *help,
                           replica_value_fn value_of)
{
    char a[TOPO_ADDR_MAX];

    if (!lo)
        metrics_family(t, name, "gauge", help);
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n; i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        for (size_t k = 0; k < c->model.n; k++) {
            topo_instance *in = c->model.v[k];
            double v;
            if (in->reachable && in->have_snap && in->snap.replica.present && (v = value_of(in)) >= 0)
                lbl_bool(t, name, c->model.name, topo_addr_str(&in->addr, a, sizeof(a)), v);
        }
    }
}

/* Metrics, instance families of replicas: threads, lag, transactions behind, lag source. */
static void fam_replica_io(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    replica_family(d, t, lo, hi, "myorch_replica_io_thread_running", "1 when the replica's IO thread runs (Yes)",
                   replica_io_running);
}

static void fam_replica_sql(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    replica_family(d, t, lo, hi, "myorch_replica_sql_thread_running", "1 when the replica's SQL thread runs (Yes)",
                   replica_sql_running);
}

static void fam_replica_lag(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    replica_family(d, t, lo, hi, "myorch_replica_lag_seconds",
                   "Replication lag (lag_query when configured, else Seconds_Behind_Master); absent when unknown",
                   topo_instance_lag_s);
}

static void fam_replica_behind(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    replica_family(d, t, lo, hi, "myorch_replica_transactions_behind",
                   "GTID transactions the primary has that the replica has not applied; absent when unknown",
                   replica_behind);
}

static void fam_replica_lag_source(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    char a[TOPO_ADDR_MAX];
    if (!lo)
        metrics_family(t, "myorch_replica_lag_source_info", "gauge",
                       "Where myorch_replica_lag_seconds comes from (label source: lag_query, seconds_behind, "
                       "gtid_timeline), value 1");
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n; i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        for (size_t k = 0; k < c->model.n; k++) {
            topo_instance *in = c->model.v[k];
            if (in->reachable && in->have_snap && in->snap.replica.present && topo_instance_lag_s(in) >= 0) {
                const char *l[] = {"cluster", c->model.name, "instance", topo_addr_str(&in->addr, a, sizeof(a)),
                                   "source", (in->snap.has_lag_query && in->snap.lag_query_s >= 0) ? "lag_query"
                                             : in->snap.replica.seconds_behind >= 0 ? "seconds_behind"
                                                                                     : "gtid_timeline", NULL};
                metrics_sample(t, "myorch_replica_lag_source_info", l, 1);
            }
        }
    }
}

/* Metrics, controller histograms: loop work, loop lag and probe round trips. */
static void controller_histogram(metrics_text *t, const char *name, const char *help, const metrics_histogram *h)
{
    metrics_family(t, name, "histogram", help);
    metrics_histogram_write(t, name, NULL, h);
}

static void fam_loop_busy(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    (void)lo;
    (void)hi;
    controller_histogram(t, "myorch_loop_busy_seconds",
                         "Work per iteration of the controller's loop (waiting excluded): a stall shows here",
                         &d->loop_busy);
}

static void fam_loop_lag(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    (void)lo;
    (void)hi;
    controller_histogram(t, "myorch_loop_lag_seconds",
                         "Event-loop lag: per turn that fired probe timers, how late the latest of them was "
                         "(1 ms resolution)",
                         &d->loop_lag);
}

static void fam_probe_duration(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    if (!lo)
        metrics_family(t, "myorch_probe_duration_seconds", "histogram", "Round trip of a successful probe's queries");
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n && d->cm; i++) {
        const char *l[] = {"cluster", mon_cluster_at(d->mon, i)->model.name, NULL};
        metrics_histogram_write(t, "myorch_probe_duration_seconds", l, &d->cm[i].probe_latency);
    }
}

/* One gauge family over the last operation of each kind, per cluster: when it ended, or how long it took. */
static void last_op_family(daemon_t *d, metrics_text *t, size_t lo, size_t hi, const char *name, const char *help,
                           bool duration)
{
    if (!lo)
        metrics_family(t, name, "gauge", help);
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n && d->cm; i++)
        for (size_t k = 0; k < 3 && d->cm[i].last[k].kind[0]; k++) {
            const char *l[] = {"cluster", mon_cluster_at(d->mon, i)->model.name, "kind", d->cm[i].last[k].kind,
                               NULL};
            metrics_sample(t, name, l,
                           duration ? d->cm[i].last[k].duration_s : (double)d->cm[i].last[k].ended_ms / 1000.0);
        }
}

/* Metrics, cluster families: analysis, primary, maintenance, blocking, recoveries. */
static void fam_cluster_analysis(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    if (!lo)
        metrics_family(t, "myorch_cluster_analysis", "gauge", "The cluster's current analysis (label code), value 1");
    for (size_t i = lo, n = slice_end(hi, d->n_recs); i < n; i++) {
        const char *l[] = {"cluster", rec_cluster_mon(d->recs[i])->model.name, "code",
                           ana_code_name(rec_cluster_analysis(d->recs[i])), NULL};
        metrics_sample(t, "myorch_cluster_analysis", l, 1);
    }
}

static void fam_cluster_writable_primary(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    if (!lo)
        metrics_family(t, "myorch_cluster_writable_primary", "gauge",
                       "1 when the cluster has a reachable, writable, unfenced primary");
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n; i++) {
        mon_cluster *c = mon_cluster_at(d->mon, i);
        topo_instance *p = c->model.primary >= 0 ? c->model.v[c->model.primary] : NULL;
        lbl_bool(t, "myorch_cluster_writable_primary", c->model.name, NULL,
                 p && p->reachable && p->have_snap && !p->snap.read_only && !p->fenced);
    }
}

static void fam_cluster_maintenance(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    if (!lo)
        metrics_family(t, "myorch_cluster_maintenance", "gauge", "1 while a cluster-wide maintenance window is open");
    for (size_t i = lo, n = slice_end(hi, d->n_recs); i < n; i++)
        lbl_bool(t, "myorch_cluster_maintenance", rec_cluster_mon(d->recs[i])->model.name, NULL,
                 rec_cluster_in_maintenance(d->recs[i], NULL));
}

static void fam_cluster_failover_blocked(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    int64_t now = clk_wall_ms();
    if (!lo)
        metrics_family(t, "myorch_cluster_failover_blocked", "gauge",
                       "1 while automatic recovery is blocked by the anti-flap period (failover_block_s)");
    for (size_t i = lo, n = slice_end(hi, d->n_recs); i < n; i++)
        lbl_bool(t, "myorch_cluster_failover_blocked", rec_cluster_mon(d->recs[i])->model.name, NULL,
                 rec_cluster_blocked(d->recs[i], now));
}

static void fam_cluster_recovery_running(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    if (!lo)
        metrics_family(t, "myorch_cluster_recovery_running", "gauge", "1 while a recovery or manual operation runs");
    for (size_t i = lo, n = slice_end(hi, d->n_recs); i < n; i++)
        lbl_bool(t, "myorch_cluster_recovery_running", rec_cluster_mon(d->recs[i])->model.name, NULL,
                 rec_cluster_running(d->recs[i]));
}

static void fam_recoveries_total(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    if (!lo)
        metrics_family(t, "myorch_recoveries_total", "counter",
                       "Recoveries and manual operations finished since the controller started, by kind and result");
    for (size_t i = lo, n = slice_end(hi, mon_cluster_count(d->mon)); i < n && d->cm; i++)
        for (size_t k = 0; k < DAEMON_REC_COUNTERS && d->cm[i].rec[k].kind[0]; k++) {
            const char *l[] = {"cluster", mon_cluster_at(d->mon, i)->model.name, "kind", d->cm[i].rec[k].kind,
                               "result", d->cm[i].rec[k].ok ? "done" : "failed", NULL};
            metrics_sample(t, "myorch_recoveries_total", l, (double)d->cm[i].rec[k].n);
        }
}

static void fam_last_recovery_end(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    last_op_family(d, t, lo, hi, "myorch_last_recovery_end_timestamp_seconds",
                   "Unix time the last operation of this kind ended (since the controller started)", false);
}

static void fam_last_recovery_duration(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    last_op_family(d, t, lo, hi, "myorch_last_recovery_duration_seconds",
                   "Duration of the last operation of this kind, from its start to its end", true);
}

/* Metrics, cluster readiness families (rtk_metrics), once every cluster has its state: one step. */
static void fam_readiness(daemon_t *d, metrics_text *t, size_t lo, size_t hi)
{
    size_t nc = mon_cluster_count(d->mon);
    (void)lo;
    (void)hi;
    if (d->ready && d->n_recs == nc) {
        const char **names = calloc(nc ? nc : 1, sizeof(*names));
        json_t **drills = calloc(nc ? nc : 1, sizeof(*drills));
        json_t *all = d->st ? store_drill_last_all_json(d->st, true) : NULL; /* one query, not one per cluster */
        for (size_t i = 0; names && drills && i < nc; i++) {
            names[i] = rec_cluster_mon(d->recs[i])->model.name;
            drills[i] = json_incref(json_object_get(all, names[i]));
        }
        json_decref(all);
        if (names && drills)
            rtk_metrics(t, names, d->ready, drills, nc);
        for (size_t i = 0; drills && i < nc; i++)
            json_decref(drills[i]);
        free(names);
        free(drills);
    }
}

/* The exposition, in order (README "Metrics"); per_cluster: one step per METRICS_SLICE clusters. */
static const struct {
    metrics_fam_fn fn;
    bool per_cluster;
} metrics_steps[] = {
    {fam_controller, false},       {fam_instance_up, true},           {fam_instance_role, true},
    {fam_instance_read_only, true}, {fam_replica_io, true},           {fam_replica_sql, true},
    {fam_replica_lag, true},        {fam_replica_behind, true},       {fam_replica_lag_source, true},
    {fam_loop_busy, false},         {fam_loop_lag, false},            {fam_probe_duration, true},
    {fam_cluster_analysis, true},
    {fam_cluster_writable_primary, true}, {fam_cluster_maintenance, true}, {fam_cluster_failover_blocked, true},
    {fam_cluster_recovery_running, true}, {fam_recoveries_total, true}, {fam_last_recovery_end, true},
    {fam_last_recovery_duration, true}, {fam_readiness, false},
};

typedef struct {
    size_t step, lo; /* the next family, and the first cluster of its next slice */
} metrics_cursor;

static void *http_metrics_open(void *user)
{
    daemon_t *d = user;
    mon_derive(d->mon);
    return calloc(1, sizeof(metrics_cursor));
}

/* Append the next step's text; 1: more follows, 0: that was the last. */
static int http_metrics_step(void *user, void *cursor, metrics_text *t)
{
    daemon_t *d = user;
    metrics_cursor *m = cursor;
    size_t count = mon_cluster_count(d->mon) > d->n_recs ? mon_cluster_count(d->mon) : d->n_recs;
    if (m->step >= sizeof(metrics_steps) / sizeof(metrics_steps[0]))
        return 0;
    metrics_steps[m->step].fn(d, t, m->lo, m->lo + METRICS_SLICE);
    if (metrics_steps[m->step].per_cluster && m->lo + METRICS_SLICE < count) {
        m->lo += METRICS_SLICE;
    } else {
        m->step++;
        m->lo = 0;
    }
    return m->step < sizeof(metrics_steps) / sizeof(metrics_steps[0]);
}

static void http_metrics_close(void *user, void *cursor)
{
    (void)user;
    free(cursor);
}

/* ---- watch output ---------------------------------------------------------- */

/* A line from a server or an event, on the operator's terminal: control bytes as \xNN. */
static void put_terminal_safe(const char *s, FILE *f)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
}

/*
 * --watch: on a terminal, redraw in place (as top does) with the latest events under
 * the tree; otherwise (a pipe, a file) append a new tree each time, as a log.
 */
static void print_topology(daemon_t *d)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    bool tty = isatty(STDOUT_FILENO);
    localtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
    mon_derive(d->mon);
    if (tty)
        fputs("\033[H\033[2J", stdout);
    printf("%s=== %s topology ===\n", tty ? "" : "\n", ts);
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++) {
        json_t *cj = topo_cluster_to_json(&mon_cluster_at(d->mon, i)->model, mon_wall_s());
        topo_render_text(cj, stdout, d->opt.color);
        json_decref(cj);
    }
    if (tty) {
        printf("\n--- recent events (details in the log) ---\n");
        for (size_t k = 0; k < WATCH_EVENTS; k++) {
            const char *line = d->recent[(d->recent_next + k) % WATCH_EVENTS];
            if (!line)
                continue;
            put_terminal_safe(line, stdout);
            fputc('\n', stdout);
        }
    }
    d->recent_changed = false;
    fflush(stdout);
}

static void maybe_print(daemon_t *d, int64_t now_ms)
{
    uint64_t v = 0;
    if (!d->opt.watch)
        return;
    for (size_t i = 0; i < mon_cluster_count(d->mon); i++)
        v += mon_cluster_at(d->mon, i)->version;
    /* On change (at most twice a second), and every 10 s for lag and GTID. */
    if (((v != d->printed_version || (d->recent_changed && isatty(STDOUT_FILENO))) &&
         now_ms - d->last_print_ms >= 500) ||
        now_ms - d->last_print_ms >= 10000) {
        d->printed_version = v;
        d->last_print_ms = now_ms;
        print_topology(d);
    }
}

/* One cluster's turn: its executor's messages, its tick, readiness, coordination, availability
 * and (with lag) read-pool lag. */
static void tick_cluster(daemon_t *d, size_t i, int64_t now, bool lag)
{
    d->touched[i] = false;
    rec_cluster_io(d->recs[i], now);
    rec_cluster_tick(d->recs[i], now);
    rtk_update(&d->ready[i], d->recs[i], d->cfg->read_timeout_ms, now);
    /* Coordination: this controller's view, published on change. */
    if (d->ha)
        ha_publish(d->ha, rec_cluster_mon(d->recs[i])->model.name, rec_cluster_last(d->recs[i]));
    track_availability_one(d, i, false);
    if (lag)
        track_lag(d, i);
    d->check[i] = !rec_cluster_quiet_if(d->recs[i], now, false);
}

/* A sweep's list of the clusters with a probe owing an answer (mon_each_waiting). */
static void mark_waiting(void *user, mon_cluster *c, topo_instance *in)
{
    daemon_t *d = user;
    int ci = cluster_index(d, c);
    (void)in;
    if (ci >= 0 && (size_t)ci < d->n_recs)
        d->waiting_gen[ci] = d->sweep_gen;
}

/* The pass over the clusters serves the urgent lane this often (see the loop). */
#define SWEEP_URGENT_US 250

static bool sweep_urgent_due(int64_t *at_us)
{
    int64_t now_us = clk_mono_us();
    if (now_us - *at_us < SWEEP_URGENT_US)
        return false;
    *at_us = now_us;
    return true;
}

/*
 * While a recovery or a job runs, the loop gives up its CPU at the start of each turn and
 * every SWEEP_URGENT_US of its pass over the clusters: the recovery's thread (and whatever
 * else waits for that CPU) runs then, not after the loop's turn. On the bench machine's
 * kernel (no preemption, a 4 ms tick: HZ=250, Debian's default tick), a thread woken on the
 * CPU of a busy loop waited for it 4-8 ms at worst (perf sched, 10,000 servers), and every
 * statement of a recovery is such a wake-up. A no-op when no other thread waits for
 * the loop's CPU. Measured at 10,000 servers, 4 pairs of 40 crash failovers: start ->
 * writable p90 5-6 ms and at most 6-8 ms with it, 6-7 and 8-16 ms without.
 */
static void yield_to_recoveries(const daemon_t *d)
{
    if (d->renv.n_running)
        sched_yield();
}

/*
 * The first RECOVERY_FIRST_MS of recoveries: the loop's turns do only what detection and the
 * recoveries need (the probe engine's urgent lane, the recoveries' own events, the control
 * socket), every RECOVERY_FIRST_POLL_MS; routine probe answers wait in their sockets and the
 * sweep of the quiet clusters waits. A failover's steps take a few ms, and each of them
 * waits for a CPU on the 2-core bench machine that the loop shares with it (10,000 servers:
 * 57 % of a core for the loop). Bounded: a zone loss runs recoveries for seconds, and routine
 * answers left unread past their read timeout would fail their probes.
 */
#define RECOVERY_FIRST_MS 15
#define RECOVERY_FIRST_POLL_MS 1

static bool recovery_first(daemon_t *d, int64_t now)
{
    if (!d->renv.n_running) {
        d->running_since_ms = 0;
        return false;
    }
    if (!d->running_since_ms)
        d->running_since_ms = now;
    return now - d->running_since_ms < RECOVERY_FIRST_MS;
}

/* The probe engine's urgent part (probe_engine_run_urgent) and, when it handed something out,
 * the models derived again: true then. */
static bool run_urgent(daemon_t *d, probe_engine *e)
{
    if (probe_engine_run_urgent(e) <= 0)
        return false;
    mon_derive(d->mon);
    return true;
}

/* ---- start, loop, stop -------------------------------------------------------- */

/* The per-cluster part of the controller (monitor, recoveries, metrics, availability, hook
 * slots), built from d->cfg: at start, and again by a configuration reload (reload_apply). */
static int setup_clusters(daemon_t *d, char *err, size_t errlen)
{
    mon_options mo = {0};
    int rc;

    d->hook_slots = calloc((d->cfg->n_clusters ? d->cfg->n_clusters : 1) * CFG_N_HOOKS, sizeof(*d->hook_slots));
    if (!d->hook_slots) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    mo.connect_timeout_ms = d->cfg->connect_timeout_ms;
    mo.read_timeout_ms = d->cfg->read_timeout_ms;
    mo.forget_after_s = d->cfg->forget_after_s;
    mo.max_instances_per_cluster = d->cfg->max_instances_per_cluster;
    mo.on_event = on_event;
    mo.on_probe = on_probe;
    mo.user = d;
    if ((rc = mon_new(&mo, &d->mon, err, errlen)) < 0)
        return rc;
    for (size_t i = 0; i < d->cfg->n_clusters; i++) {
        const cfg_cluster *cc = &d->cfg->clusters[i];
        mon_cluster *c;
        void *ctx[2];
        if ((rc = mon_add_cluster(d->mon, cc->name, cc->user, cc->password, cc->lag_query, cc->poll_interval_ms,
                                  &c, err, errlen)) < 0)
            return rc;
        {
            conn_params cp;
            cfg_cluster_conn(cc, &cp);
            if ((rc = mon_set_conn(c, &cp, err, errlen)) < 0)
                return rc;
        }
        mon_cluster_set_detail_every(c, cc->probe_detail_every);
        if (mon_cluster_set_trust(c, &cc->discover_allow, cc->discover_confirm != 0) < 0) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        ctx[0] = d;
        ctx[1] = c;
        rc = store_load_instances(d->st, cc->name, &c->model, restored, ctx, err, errlen);
        if (rc < 0)
            return rc;
        if (rc > 0)
            log_info("cluster %s: %d servers known from the state database", cc->name, rc);
        for (size_t s = 0; s < cc->n_seeds; s++) {
            if ((rc = mon_add_instance(d->mon, c, &cc->seeds[s], true, NULL, err, errlen)) < 0)
                return rc;
        }
    }
    d->renv = (rec_env){.st = d->st, .loop = rec_loop_of_monitor(), .emit = on_event, .user = d,
                        .connect_timeout_ms = d->cfg->connect_timeout_ms, .manual_done = manual_done,
                        .may_act = d->cfg->coordination == CFG_COORD_ETCD ? ha_gate : NULL,
                        .controller = ha_name(d->ha)}; /* "" on the first call: setup() sets it after ha_new */
    if (d->cfg->coordination == CFG_COORD_ETCD) {
        d->renv.fence_take = ha_fence_take_cb;
        d->renv.fence_check = ha_fence_check_cb;
        d->renv.fence_renew = ha_fence_renew_cb;
        d->renv.fence_free = ha_fence_free_cb;
        d->renv.journal_take = ha_journal_take_cb;
        d->renv.journal_put = ha_journal_put_cb;
        d->renv.state_take = ha_state_take_cb;
        d->renv.state_put = ha_state_put_cb;
        d->renv.holds_lock = ha_holds_lock_cb;
    }
    d->recs = calloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1, sizeof(*d->recs));
    d->cm = calloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1, sizeof(*d->cm));
    for (size_t i = 0; d->cm && i < d->cfg->n_clusters; i++) {
        static const double b[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
        d->cm[i].probe_latency.n = sizeof(b) / sizeof(b[0]);
        memcpy(d->cm[i].probe_latency.bounds, b, sizeof(b));
    }
    d->avail = calloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1, sizeof(*d->avail));
    d->avail_ts = calloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1, sizeof(*d->avail_ts));
    d->ready = calloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1, sizeof(*d->ready));
    d->touched = calloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1, sizeof(*d->touched));
    /* A stale or wrapped generation only costs the full check (rec_cluster_quiet_if), never a skip. */
    d->waiting_gen = calloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1, sizeof(*d->waiting_gen));
    d->check = malloc(d->cfg->n_clusters ? d->cfg->n_clusters : 1);
    if (d->check)
        memset(d->check, 1, d->cfg->n_clusters ? d->cfg->n_clusters : 1);
    d->last_sweep_ms = 0; /* the first turn ticks every cluster */
    for (size_t i = 0; d->avail && i < d->cfg->n_clusters; i++)
        d->avail[i] = -2;
    if (!d->recs || !d->avail || !d->avail_ts || !d->cm || !d->ready || !d->touched || !d->waiting_gen || !d->check) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < d->cfg->n_clusters; i++) {
        if ((rc = rec_cluster_new(&d->renv, mon_cluster_at(d->mon, i), &d->cfg->clusters[i], &d->recs[i], err,
                                   errlen)) < 0)
            return rc;
        d->n_recs++;
    }
    return 0;
}

static int setup(daemon_t *d, char *err, size_t errlen)
{
    sigset_t mask;
    int rc;

    /* Block the signals before ZeroMQ starts its threads so they inherit the mask. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sigfd < 0) {
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
        return -errno;
    }
    if ((rc = store_lock(d->cfg->state_dir, &d->lock_fd, err, errlen)) < 0)
        return rc;
    if ((rc = store_open(d->cfg->state_dir, &d->st, err, errlen)) < 0)
        return rc;
    if ((rc = hook_runner_new(&d->hooks, err, errlen)) < 0)
        return rc;
    d->zctx = zmq_ctx_new();
    if (!d->zctx) {
        snprintf(err, errlen, "cannot create a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        return -EIO;
    }
    {
        ctl_curve_server curve = {.secret_key = d->cfg->control_secret_key, .keys = d->cfg->control_keys,
                                  .n_keys = d->cfg->n_control_keys};
        if ((rc = ctl_server_open(d->zctx, d->cfg->control_socket, d->cfg->event_socket, &curve, &d->ctl, err,
                                  errlen)) < 0)
            return rc;
    }

    {
        static const double b[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
        d->loop_busy.n = sizeof(b) / sizeof(b[0]);
        memcpy(d->loop_busy.bounds, b, sizeof(b));
    }
    {
        /* Whole milliseconds (the probe timers'); 0.02: the lag issue 17 allows at 10,000 servers. */
        static const double b[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5};
        d->loop_lag.n = sizeof(b) / sizeof(b[0]);
        memcpy(d->loop_lag.bounds, b, sizeof(b));
    }
    if ((rc = setup_clusters(d, err, errlen)) < 0)
        return rc;
    /* Coordination (orchestrator/ha/ha.h): once per process, never rebuilt by a reload (its keys take a restart). */
    if ((rc = ha_new(d->cfg, on_ha_event, d, &d->ha, err, errlen)) < 0)
        return rc;
    ha_set_forwarding(d->ha, on_fwd_request, on_fwd_done);
    d->renv.controller = ha_name(d->ha); /* the ha object's copy: outlives a reload */
    if (d->cfg->http_listen[0]) {
        http_handlers h = {.control = http_control, .has_cluster = http_has_cluster, .ready = http_ready,
                           .metrics_open = http_metrics_open, .metrics_step = http_metrics_step,
                           .metrics_close = http_metrics_close, .user = d};
        if ((rc = http_server_open(d->cfg, &h, &d->http, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

static void teardown(daemon_t *d)
{
    for (size_t k = 0; k < WATCH_EVENTS; k++) {
        free(d->recent[k]);
        d->recent[k] = NULL;
    }
    if (d->st && d->mon) {
        /* Persist the final view. */
        int64_t now_s = mon_wall_s();
        for (size_t i = 0; i < mon_cluster_count(d->mon); i++) {
            mon_cluster *c = mon_cluster_at(d->mon, i);
            for (size_t k = 0; k < c->model.n; k++)
                persist(d, c, c->model.v[k], now_s);
        }
    }
    if (d->avail)
        track_availability(d, true);
    /* Asynchronous hooks end first (killed if still running: results dropped),
     * so that a recovery's own hooks do not wait for them. */
    d->stopping = true;
    hook_runner_free(d->hooks);
    d->hooks = NULL;
    for (size_t i = 0; i < d->n_recs; i++)
        rec_cluster_hooks_reset(d->recs[i]);
    /* A running recovery is finished, never abandoned half-way. */
    free_recoveries(d);
    /* After the recoveries: releases this controller's locks and revokes its lease. */
    ha_free(d->ha);
    d->ha = NULL;
    /* After the recoveries: a finished operation's HTTP caller got its answer. */
    http_server_close(d->http);
    d->http = NULL;
    if (d->st)
        flush(d);
    free_monitor(d);
    ctl_server_close(d->ctl);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    store_close(d->st);
    store_unlock(d->lock_fd, d->cfg->state_dir);
    if (d->sigfd >= 0)
        close(d->sigfd);
}

/*
 * SIGTERM/SIGINT with operations running: each stops at its next step boundary
 * (rec_cluster_stop: a failover is recorded where it stopped, for the next start to
 * resume; a switchover before its point of no return rolls back), all within
 * shutdown_timeout_ms. A step still running past the bound is left to the next start
 * (an event says so): the audit is committed and the process exits at once, since the
 * worker thread still uses the recovery's memory.
 */
static void stop_recoveries(daemon_t *d)
{
    int64_t deadline = clk_mono_ms() + d->cfg->shutdown_timeout_ms;
    char status[256] = "";
    bool abandoned = false;

    for (size_t i = 0; i < d->n_recs && !status[0]; i++) {
        const char *kind;
        int64_t id = rec_cluster_running_id(d->recs[i], &kind);
        if (id)
            snprintf(status, sizeof(status), "stopping: %s #%lld of cluster %s stops after its current step (at most "
                     "%d ms)", kind, (long long)id, rec_cluster_mon(d->recs[i])->model.name,
                     d->cfg->shutdown_timeout_ms);
    }
    svc_stopping(status[0] ? status : NULL);
    if (status[0])
        log_info("%s", status);
    for (size_t i = 0; i < d->n_recs; i++) {
        rec_cluster *rcl = d->recs[i];
        const char *kind;
        int64_t id = rec_cluster_running_id(rcl, &kind);
        json_t *det;
        char *msg;
        if (rec_cluster_stop(rcl, deadline) == 0)
            continue;
        abandoned = true;
        det = json_pack("{s:I, s:s, s:i}", "recovery_id", (json_int_t)id, "kind", kind,
                        "shutdown_timeout_ms", d->cfg->shutdown_timeout_ms);
        msg = strbuf_asprintf("%s #%lld: its current step did not end within shutdown_timeout_ms (%d ms): the "
                              "controller exits without it; the next start resumes the recovery",
                              kind, (long long)id, d->cfg->shutdown_timeout_ms);
        on_event(d, LOGL_ERROR, "shutdown-timeout", rec_cluster_mon(rcl), NULL, msg ? msg : "shutdown_timeout_ms passed", det);
        free(msg);
        json_decref(det);
    }
    if (!abandoned)
        return;
    flush(d);
    store_close(d->st);
    d->st = NULL;
    store_unlock(d->lock_fd, d->cfg->state_dir);
    log_error("stopped with a recovery step still running (shutdown_timeout_ms); exiting now");
    fflush(NULL);
    _exit(0);
}

/* The daemon: setup, then the one loop (poll, read the clock once, probes, control, HTTP,
 * monitor, recovery io + tick, availability, hooks, flush). Long because the loop's order
 * is the design and reads best in one place; each step is a call. */
int daemon_run(const cfg_config *cfg, const daemon_options *opt, char *err, size_t errlen)
{
    daemon_t d = {.cfg = cfg, .opt = *opt, .sigfd = -1, .lock_fd = -1, .refresh_s = 10};
    int rc;

    d.started_s = mon_wall_s();
    if ((rc = setup(&d, err, errlen)) < 0)
        goto out;
    /* A recovery thread waits before the first failover: none is created on its path. */
    if ((rc = exec_pool_warm(1, err, errlen)) < 0)
        goto out;
    log_info("myorch %s running: %zu cluster(s), control %s, events %s, state %s", MYORCH_VERSION,
             cfg->n_clusters, cfg->control_socket, cfg->event_socket, cfg->state_dir);
    if (d.http)
        log_info("http: listening on %s%s (mutating calls %s)", cfg->http_tls_cert ? "https://" : "http://",
                 cfg->http_listen, cfg->http_token ? "need the bearer token of http_token_file" : "disabled: no http_token_file");
    if (ctl_server_zap_socket(d.ctl)) {
        size_t ops = 0;
        for (size_t i = 0; i < cfg->n_control_keys; i++)
            ops += cfg->control_keys[i].role == CFG_ROLE_OPERATOR;
        log_info("control: CURVE on tcp endpoints, server public key %s, %zu operator and %zu read-only client "
                 "key(s)", cfg->control_public_key, ops, cfg->n_control_keys - ops);
    }
    if (store_migrated_from(d.st) >= 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "state database migrated in place from schema version %d to %d",
                 store_migrated_from(d.st), STORE_SCHEMA_VERSION);
        json_t *det = json_pack("{s:i, s:i}", "from", store_migrated_from(d.st), "to", STORE_SCHEMA_VERSION);
        on_event(&d, LOGL_INFO, "state-migrated", NULL, NULL, msg, det);
        json_decref(det);
    }
    /* Configuration loaded, state database open, sockets bound: ready. */
    svc_init(&d.svc);
    svc_ready(&d.svc, clk_mono_ms(), cfg->n_clusters);

    while (!d.stop) {
        probe_engine *pe = mon_probe_engine(d.mon);
        int64_t now = clk_mono_ms();
        int timeout = probe_engine_timeout_ms(pe, now);
        bool first = recovery_first(&d, now);
        zmq_pollitem_t items[4 + 64] = {
            {.socket = ctl_server_socket(d.ctl), .events = ZMQ_POLLIN},
            {.socket = NULL, .fd = probe_engine_fd(pe), .events = first ? 0 : ZMQ_POLLIN},
            {.socket = NULL, .fd = d.sigfd, .events = ZMQ_POLLIN},
        };
        int n_items = 3, zap_item = -1, http_item = -1;
        struct timespec busy_from;
        if (ctl_server_zap_socket(d.ctl)) {
            zap_item = n_items;
            items[n_items++] = (zmq_pollitem_t){.socket = ctl_server_zap_socket(d.ctl), .events = ZMQ_POLLIN};
        }
        if (d.http) {
            int ht = http_server_timeout_ms(d.http);
            http_item = n_items;
            items[n_items++] = (zmq_pollitem_t){.socket = NULL, .fd = http_server_fd(d.http), .events = ZMQ_POLLIN};
            if (ht >= 0 && (timeout < 0 || ht < timeout))
                timeout = ht;
        }
        if (d.hooks)
            items[n_items++] = (zmq_pollitem_t){.socket = NULL, .fd = hook_runner_fd(d.hooks), .events = ZMQ_POLLIN};
        if (d.ha) {
            int ht = ha_timeout_ms(d.ha, now);
            items[n_items++] = (zmq_pollitem_t){.socket = NULL, .fd = ha_fd(d.ha), .events = ZMQ_POLLIN};
            if (ht >= 0 && (timeout < 0 || ht < timeout))
                timeout = ht;
        }
        /* Only while an executor or a job runs somewhere: a scan of every cluster on every
         * turn was 2 % of the controller's CPU at 10,000 servers. */
        for (size_t i = 0; d.renv.n_running && i < d.n_recs && n_items < 4 + 62; i++) {
            int fds[2];
            size_t n = rec_cluster_fds(d.recs[i], fds, 2);
            for (size_t k = 0; k < n; k++)
                items[n_items++] = (zmq_pollitem_t){.socket = NULL, .fd = fds[k], .events = ZMQ_POLLIN};
        }
        /* 50 ms: recovery ticks must see a primary that stops answering (its probe
         * waiting, issue 18) within a heartbeat period, not at the next probe result.
         * And the next sweep of every cluster (below) is never late. */
        if (timeout < 0 || timeout > 50)
            timeout = 50;
        if (first && timeout > RECOVERY_FIRST_POLL_MS)
            timeout = RECOVERY_FIRST_POLL_MS;
        if (d.last_sweep_ms && d.last_sweep_ms + d.sweep_ms - now < timeout)
            timeout = d.last_sweep_ms + d.sweep_ms - now > 0 ? (int)(d.last_sweep_ms + d.sweep_ms - now) : 0;
        if (zmq_poll(items, n_items, timeout) < 0 && zmq_errno() != EINTR) {
            snprintf(err, errlen, "poll failed: %s", zmq_strerror(zmq_errno()));
            rc = -EIO;
            break;
        }
        if (items[2].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo si;
            while (read(d.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGUSR1) {
                    char lerr[512];
                    if (log_reopen(lerr, sizeof(lerr)) < 0)
                        log_error("SIGUSR1: %s; still writing to the previous file", lerr);
                    else
                        log_info("SIGUSR1: log file reopened");
                } else if (si.ssi_signo == SIGHUP) {
                    d.reload_signal = true; /* at the end of this turn: nothing holds the old pointers then */
                } else {
                    log_info("signal %d: stopping", (int)si.ssi_signo);
                    d.stop = true;
                }
            }
        }
        yield_to_recoveries(&d);
        clock_gettime(CLOCK_MONOTONIC, &busy_from);
        now = clk_mono_ms();
        if (!first) {
            int64_t late_ms;
            probe_engine_run(pe, now);
            if ((late_ms = probe_engine_run_lateness_ms(pe)) >= 0)
                metrics_observe(&d.loop_lag, (double)late_ms / 1000.0);
        } else
            run_urgent(&d, pe);
        if (zap_item >= 0 && (items[zap_item].revents & ZMQ_POLLIN))
            ctl_server_zap(d.ctl);
        if (items[0].revents & ZMQ_POLLIN) {
            handle_control(&d);
            d.last_sweep_ms = 0; /* an operator's request: every cluster this turn */
        }
        /* HTTP requests are served between probe rounds, never inside one: libmicrohttpd
         * only does non-blocking I/O here, and each request is answered from memory. */
        if (d.http && ((items[http_item].revents & ZMQ_POLLIN) || http_server_timeout_ms(d.http) == 0)) {
            http_server_run(d.http); /* an operation it starts runs an executor: ticked below */
        }
        mon_tick(d.mon, now);
        /* etcd's answers first (non-blocking): a peer's view that just arrived counts in this
         * turn's decisions, not in the next one (up to 50 ms later). */
        ha_run(d.ha, now);
        /* The clusters' turn. A probe result (touched) or a running executor (its fds) ticks
         * its cluster at once; a sweep every sweep_ms ticks every cluster that is not quiet
         * (rec_cluster_quiet: a suspect primary, a primary owing an answer, an operation...),
         * which sees what time alone changes, and a slice of the quiet ones, so that each is
         * ticked about every FULL_SWEEP_MS (their timers) without one long turn. Ticking all
         * 2,500 clusters of a 10,000-server fleet on every turn cost ~40% of the controller's
         * CPU once routine probes were spread over the interval (perf, bench/fleet_bench.py).
         * A sweep's cost sets the gap to the next (5x), from 10 to 50 ms (the poll's bound,
         * as before). The first turn ticks every cluster. */
        {
            bool sweep = !first && (!d.last_sweep_ms || now - d.last_sweep_ms >= d.sweep_ms);
            size_t slice = !d.last_sweep_ms || !d.sweep_ms ? d.n_recs
                           : (size_t)((int64_t)d.n_recs * d.sweep_ms / FULL_SWEEP_MS) + 1;
            size_t from = d.n_recs ? d.quiet_cursor % d.n_recs : 0;
            struct timespec s0, s1;
            int64_t urgent_at_us;
            bool urgent_hit = false, ticked = false;
            /* Not pe: a reload (handle_control, above) may have replaced the monitor and its engine. */
            probe_engine *ue = mon_probe_engine(d.mon);
            clock_gettime(CLOCK_MONOTONIC, &s0);
            urgent_at_us = (int64_t)s0.tv_sec * 1000000 + s0.tv_nsec / 1000;
            /* The clusters whose primary may owe an answer (rec_cluster_quiet): those with a probe in
             * flight, from the probe engine's list, rather than every primary's probe asked. */
            if (sweep) {
                d.sweep_gen++;
                mon_each_waiting(d.mon, now + 1, mark_waiting, &d);
            }
            for (size_t i = 0; i < d.n_recs; i++) {
                int fds[2];
                bool touched = d.touched[i];
                bool in_slice = sweep && (i >= from ? i - from : i + d.n_recs - from) < slice;
                /* A long pass (a sweep, many results) does not hold back news for failure
                 * detection: every SWEEP_URGENT_US (the clock read after each cluster ticked
                 * and every 64 skipped) the probe engine's urgent lane is served
                 * (a crashed primary's close, a suspect cluster's answers). At 10,000 servers a
                 * crash waited for the rest of the turn in progress, 2.9 ms at the median. */
                if ((ticked || (i & 63) == 63) && sweep_urgent_due(&urgent_at_us)) {
                    ticked = false;
                    yield_to_recoveries(&d);
                    urgent_hit |= run_urgent(&d, ue);
                }
                /* A sweep skips a quiet cluster. Quiet at its last tick (check[i] false) and no probe of
                 * its owing an answer: nothing to read. Reading each of 2,500 clusters' state on
                 * every sweep (10-50 ms) was 3.6 % of the controller's CPU at 10,000 servers, nearly
                 * all cache misses. */
                if (!touched && !in_slice && !(d.renv.n_running && rec_cluster_fds(d.recs[i], fds, 2)) &&
                    (!sweep || (!d.check[i] && d.waiting_gen[i] != d.sweep_gen) ||
                     rec_cluster_quiet_if(d.recs[i], now, d.waiting_gen[i] == d.sweep_gen)))
                    continue;
                tick_cluster(&d, i, now, touched || sweep);
                ticked = true; /* a tick may take a while: the clock is looked at after each */
                /* Its tick asked for probes (a primary just lost: its replicas, at once): sent now,
                 * not after the rest of the pass. */
                if (probe_engine_kicked(ue))
                    urgent_hit |= run_urgent(&d, ue);
            }
            /* What the urgent lane brought for clusters the pass had already gone by: now, with
             * the time it is now (not at the next turn, up to 50 ms later). */
            for (size_t i = 0; urgent_hit && i < d.n_recs; i++)
                if (d.touched[i])
                    tick_cluster(&d, i, clk_mono_ms(), true);
            if (sweep) {
                int64_t cost;
                clock_gettime(CLOCK_MONOTONIC, &s1);
                cost = (int64_t)(s1.tv_sec - s0.tv_sec) * 1000 + (s1.tv_nsec - s0.tv_nsec) / 1000000;
                d.sweep_ms = cost * 5 < 10 ? 10 : cost * 5 > 50 ? 50 : cost * 5;
                d.last_sweep_ms = now;
                d.quiet_cursor = d.n_recs ? (from + slice) % d.n_recs : 0;
            }
        }
        if (d.ha)
            ha_run(d.ha, clk_mono_ms()); /* etcd's I/O (non-blocking) */
        poll_hooks(&d);
        if (now - d.last_flush_ms >= 1000) {
            flush(&d);
            d.last_flush_ms = now;
        }
        if (now - d.last_prune_ms >= 60000) {
            prune_events(&d);
            d.last_prune_ms = now;
        }
        maybe_print(&d, now);
        reload_tick(&d);
        {
            struct timespec busy_to;
            clock_gettime(CLOCK_MONOTONIC, &busy_to);
            metrics_observe(&d.loop_busy, (double)(busy_to.tv_sec - busy_from.tv_sec) +
                                              (double)(busy_to.tv_nsec - busy_from.tv_nsec) / 1e9);
        }
        svc_tick(&d.svc, clk_mono_ms());
    }
    stop_recoveries(&d);
out:
    teardown(&d);
    exec_pool_shutdown();
    if (d.reload_next) {
        cfg_free(d.reload_next);
        free(d.reload_next);
    }
    if (d.owned_cfg) {
        cfg_free(d.owned_cfg);
        free(d.owned_cfg);
    }
    return rc;
}
