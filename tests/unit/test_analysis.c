/*
 * tests/unit/test_analysis.c — table-driven tests of orchestrator/decide/analysis.{h,c}.
 *
 * Each case describes a small cluster (servers, who replicates from whom,
 * reachability, thread states, probe times), builds a topo_cluster from it,
 * derives roles and checks the code, every counter and the exact evidence line.
 * Times: the primary fails at t=100 ms; replica probes at t>100 are fresh,
 * at t<=100 stale; with a send time, sent at t>=100 fresh, before stale.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/decide/analysis.h"
#include "orchestrator/decide/intermediate.h"
#include "orchestrator/decide/plan.h"

#include "fixture.h"

/* Thread states, short. */
#define Y TOPO_THREAD_YES
#define N TOPO_THREAD_NO
#define C TOPO_THREAD_CONNECTING


#define MSG_2003 "Can't connect to server on '127.0.0.1' (111)"
#define MSG_2013 "Lost connection to server at 'reading initial communication packet'"
#define MSG_1045 "Access denied for user 'repl'@'localhost'"
#define MSG_LONG                                                                                  \
    "error reconnecting to master 'repl@127.0.0.1:1' - retry-time: 1  maximum-retries: 86400  "  \
    "message: Can't connect to server on '127.0.0.1' (111 \"Connection refused\")"

typedef enum { UP = 0, DOWN, NEVER } srv_state;

typedef struct {
    const char *addr;
    const char *src;          /* replication source, NULL: not a replica */
    srv_state st;             /* DOWN: probed and failed at down_ms; NEVER: restored, not probed */
    topo_thread_state io, sql;
    unsigned io_errno, sql_errno;
    int64_t t;                /* snapshot taken_at_ms */
    int64_t sent;             /* snapshot sent_at_ms (0: unknown, as before the probe engine set it) */
    int64_t down_ms;          /* DOWN: down_since_ms */
    bool ro, sro, fenced, noparent;
    bool ss_on, ss_status;    /* semi-sync source enabled / status ON */
    long long ss_clients;
    const char *gtid;         /* MariaDB: gtid_binlog_pos and gtid_slave_pos (NULL: unset) */
    /* Receive progress (issue 18). hb == 0: no heartbeat counter (unknown, older
     * probes); > 0: heartbeat period ms, counter known, nothing received since rx
     * (ms); HB_OFF: counter known, heartbeats disabled (period 0). lat: probe latency. */
    long long hb;
    int64_t rx, lat;
} srv;

#define HB_OFF (-2)

static const char *msg_of(unsigned code)
{
    switch (code) {
    case 2003: return MSG_2003;
    case 2013: return MSG_2013;
    case 1045: return MSG_1045;
    case 1062: return MSG_1062;
    case 9999: return MSG_LONG;
    default: return "";
    }
}

static void must_set(char **slot, const char *v)
{
    assert_int_equal(topo_strset(slot, v), 0);
}

static topo_instance *add(topo_cluster *c, topo_flavor fl, size_t idx, const srv *s)
{
    topo_addr a;
    char err[128];
    topo_instance *in;

    assert_int_equal(topo_addr_parse(s->addr, 3306, &a, err, sizeof(err)), 0);
    in = topo_cluster_add(c, &a, false, 0);
    assert_non_null(in);
    in->have_snap = true;
    in->snap.ok = true;
    in->snap.flavor = fl;
    in->snap.server_id = idx + 1;
    in->snap.taken_at_ms = s->t;
    in->snap.sent_at_ms = s->sent;
    in->snap.read_only = s->ro;
    in->snap.super_read_only = s->sro;
    in->snap.log_bin = in->snap.log_replica_updates = true;
    in->snap.semisync.source_enabled = s->ss_on;
    in->snap.semisync.source_status_on = s->ss_status;
    in->snap.semisync.source_clients = s->ss_on ? s->ss_clients : -1;
    in->snap.semisync.source_timeout_ms = s->ss_on ? 10000 : -1;
    in->fenced = s->fenced;
    must_set(&in->snap.gtid_binlog_pos, s->gtid);
    must_set(&in->snap.gtid_slave_pos, s->src ? s->gtid : NULL);
    if (s->src) {
        topo_replica_status *r = &in->snap.replica;
        r->present = true;
        assert_int_equal(topo_addr_parse(s->src, 3306, &r->source, err, sizeof(err)), 0);
        r->io_state = s->io;
        r->sql_state = s->sql;
        r->using_gtid = true;
        r->seconds_behind = -1;
        r->last_io_errno = s->io_errno;
        must_set(&r->last_io_error, s->io_errno ? msg_of(s->io_errno) : NULL);
        r->last_sql_errno = s->sql_errno;
        must_set(&r->last_sql_error, s->sql_errno ? msg_of(s->sql_errno) : NULL);
        r->heartbeat_period_ms = s->hb == HB_OFF ? 0 : s->hb > 0 ? s->hb : -1;
        r->received_heartbeats = s->hb ? 7 : -1;
        in->rx_since_ms = s->hb ? s->rx : 0;
    }
    in->snap.probe_latency_ms = s->lat;
    switch (s->st) {
    case UP:
        in->reachable = in->probed = true;
        break;
    case DOWN:
        in->reachable = false;
        in->probed = true;
        in->err_code = 2003;
        snprintf(in->err, sizeof(in->err), "%s", "Connection refused");
        in->down_since_ms = s->down_ms;
        break;
    case NEVER:
        in->reachable = in->probed = false;
        in->stale = true;
        break;
    }
    return in;
}

static void build(topo_cluster *c, topo_flavor fl, const srv *v, size_t max)
{
    topo_cluster_init(c, "t");
    for (size_t i = 0; i < max && v[i].addr; i++)
        add(c, fl, i, &v[i]);
    topo_cluster_derive(c);
    for (size_t i = 0; i < max && v[i].addr; i++)
        if (v[i].noparent)
            c->v[i]->parent = -1; /* as if the source were known only by its address */
}

/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    topo_flavor flavor;       /* 0 = MariaDB */
    bool not_ready;
    bool quorum_off;          /* failover_quorum = none */
    int nosnap;               /* 1 + index of a server never probed successfully (no snapshot), 0 none */
    size_t controllers, agreeing; /* 0: one controller (coordination = none) */
    int stall_periods;        /* issue 18 */
    int64_t waiting;          /* primary_waiting_since_ms */
    int64_t lead;             /* stall_lead_ms */
    srv s[8];
    ana_code code;
    int primary;
    size_t replicas, reachable, replicating, confirming, stale, broken, stalled;
    const char *evidence;
} ana_case;

#define DOWN100 .st = DOWN, .down_ms = 100
#define ERR_P "127.0.0.1:1 unreachable since t=100 ms (error 2003: Connection refused); "

static const ana_case cases[] = {
    {.name = "first round not done",
     .not_ready = true,
     .s = {{P, .t = 50}, {R2, P, .io = Y, .sql = Y, .t = 50}},
     .code = ANA_NOT_READY, .primary = -1,
     .evidence = "first probe round not finished"},
    {.name = "empty cluster",
     .code = ANA_NO_PRIMARY, .primary = -1,
     .evidence = "no primary among 0 servers (0 reachable)"},
    {.name = "only a fenced server: never the primary",
     .s = {{P, .t = 50, .fenced = true}},
     .code = ANA_NO_PRIMARY, .primary = -1,
     .evidence = "no primary among 1 servers (1 reachable)"},
    {.name = "started while the primary was down: say what cannot be known",
     .nosnap = 1,
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150, .ro = true},
           {R3, P, .io = C, .sql = Y, .t = 150, .ro = true}},
     .code = ANA_NO_PRIMARY, .primary = -1,
     .evidence = "no primary among 3 servers (2 reachable); replicas replicate from 127.0.0.1:1, which does not "
                 "answer: it may be a dead primary, and replicas of it that are not in seeds cannot be discovered "
                 "until it answers (add them to seeds; 'myorch failover --cluster t --dry-run' shows what a failover "
                 "would do)"},
    {.name = "primary known from the state file only, not probed yet",
     .s = {{P, .st = NEVER, .t = 10}, {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_NOT_READY, .primary = 0,
     .evidence = "primary 127.0.0.1:1 not probed yet"},

    /* ---- primary reachable ---- */
    {.name = "ok",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_OK, .primary = 0, .replicas = 2, .reachable = 2, .replicating = 2,
     .evidence = "primary 127.0.0.1:1 ok; 2/2 replicas replicating"},
    {.name = "ok without replicas",
     .s = {{P, .t = 150}},
     .code = ANA_OK, .primary = 0,
     .evidence = "primary 127.0.0.1:1 ok; no replicas"},
    {.name = "ok: a replica of a replica is not a direct replica",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, R2, .io = C, .sql = Y, .io_errno = 2003, .t = 150}},
     .code = ANA_OK, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas replicating"},
    {.name = "a detached writable server beside the primary: multiple-writable",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, .t = 150}},
     .code = ANA_MULTIPLE_WRITABLE, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 and 1 detached server are writable: 127.0.0.1:3; clients may write to "
                 "either: make the extra ones read-only or move them out of the cluster"},
    {.name = "a detached read-only server, a fenced writable one: ok",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, .t = 150, .ro = true},
           {R4, .t = 150, .fenced = true}},
     .code = ANA_OK, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas replicating"},
    {.name = "a detached server with super_read_only only: not writable",
     .s = {{P, .t = 150}, {R2, .t = 150, .sro = true}},
     .code = ANA_OK, .primary = 0,
     .evidence = "primary 127.0.0.1:1 ok; no replicas"},
    {.name = "primary read-only",
     .s = {{P, .t = 150, .ro = true}, {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_PRIMARY_READ_ONLY, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 is read-only (read_only=ON): nobody can write"},
    {.name = "MySQL primary super_read_only only",
     .flavor = TOPO_FLAVOR_MYSQL,
     .s = {{P, .t = 150, .sro = true}, {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_PRIMARY_READ_ONLY, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 is read-only (super_read_only=ON): nobody can write"},
    {.name = "read-only wins over broken replicas",
     .s = {{P, .t = 150, .ro = true}, {R2, P, .io = Y, .sql = N, .sql_errno = 1062, .t = 150}},
     .code = ANA_PRIMARY_READ_ONLY, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1, .broken = 1,
     .evidence = "primary 127.0.0.1:1 is read-only (read_only=ON): nobody can write"},
    {.name = "locked semi-sync: enabled, status ON, no semi-sync client",
     .s = {{P, .t = 150, .ss_on = true, .ss_status = true, .ss_clients = 0},
           {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_LOCKED_SEMI_SYNC, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 has semi-sync on (source side) and 0 semi-sync replicas connected: "
                 "commits wait for an acknowledgement up to 10000 ms (semi-sync timeout)"},
    {.name = "semi-sync fell back to async (status OFF): not locked",
     .s = {{P, .t = 150, .ss_on = true, .ss_status = false, .ss_clients = 0},
           {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_OK, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas replicating"},
    {.name = "semi-sync with a client: not locked",
     .s = {{P, .t = 150, .ss_on = true, .ss_status = true, .ss_clients = 1},
           {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_OK, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas replicating"},
    {.name = "semi-sync clients unknown: not locked",
     .s = {{P, .t = 150, .ss_on = true, .ss_status = true, .ss_clients = -1},
           {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_OK, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas replicating"},
    {.name = "replicas broken: SQL error",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, P, .io = Y, .sql = N, .sql_errno = 1062, .t = 150}},
     .code = ANA_REPLICAS_BROKEN, .primary = 0, .replicas = 2, .reachable = 2, .replicating = 2, .broken = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/2 replicas not replicating: 127.0.0.1:3 io=Yes sql=No "
                 "(sql error 1062: Duplicate entry '5' for key 'PRIMARY')"},
    {.name = "replicas broken: IO stopped without error (operator) while the primary is up",
     .s = {{P, .t = 150}, {R2, P, .io = N, .sql = Y, .t = 150}},
     .code = ANA_REPLICAS_BROKEN, .primary = 0, .replicas = 1, .reachable = 1, .broken = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas not replicating: 127.0.0.1:2 io=No sql=Yes"},
    {.name = "replicas broken: IO Connecting to a reachable primary (bad credentials)",
     .s = {{P, .t = 150}, {R2, P, .io = C, .sql = Y, .io_errno = 1045, .t = 150}},
     .code = ANA_REPLICAS_BROKEN, .primary = 0, .replicas = 1, .reachable = 1, .broken = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas not replicating: 127.0.0.1:2 io=Connecting sql=Yes "
                 "(io error 1045: Access denied for user 'repl'@'localhost')"},
    {.name = "replicas broken: a replica unreachable",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, P, .io = Y, .sql = Y, .t = 50, DOWN100}},
     .code = ANA_REPLICAS_BROKEN, .primary = 0, .replicas = 2, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/2 replicas not replicating: "
                 "127.0.0.1:3 unreachable (error 2003: Connection refused)"},
    {.name = "replicas broken: a replica never probed",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 10, .st = NEVER}},
     .code = ANA_REPLICAS_BROKEN, .primary = 0, .replicas = 1, .reachable = 0,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas not replicating: 127.0.0.1:2 not probed yet"},
    {.name = "fenced replica ignored (primary up)",
     .s = {{P, .t = 150}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, P, .io = N, .sql = N, .t = 150, .fenced = true}},
     .code = ANA_OK, .primary = 0, .replicas = 1, .reachable = 1, .replicating = 1,
     .evidence = "primary 127.0.0.1:1 ok; 1/1 replicas replicating"},

    /* ---- primary unreachable ---- */
    {.name = "dead primary: every replica confirms (Connecting, No with IO error)",
     .s = {{P, .t = 50, DOWN100},
           {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = N, .sql = Y, .io_errno = 2013, .t = 160}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2, .broken = 1,
     .evidence = ERR_P "2/2 replicas confirm: 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 "), "
                 "127.0.0.1:3 io=No (io error 2013: " MSG_2013 ")"},
    {.name = "dead primary: Connecting without an error number yet still confirms",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .t = 101}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 1, .reachable = 1, .confirming = 1,
     .evidence = ERR_P "1/1 replicas confirm: 127.0.0.1:2 io=Connecting"},
    {.name = "partition: controller lost the primary, replicas replicate",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = Y, .sql = Y, .t = 150}, {R3, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 2, .reachable = 2,
     .replicating = 2,
     .evidence = ERR_P "2/2 replicas still replicate from it (the controller alone lost it): "
                 "127.0.0.1:2 io=Yes, 127.0.0.1:3 io=Yes"},
    {.name = "mixed Yes / Connecting: not dead",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = Y, .sql = Y, .t = 150},
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150}},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 2, .reachable = 2,
     .replicating = 1, .confirming = 1,
     .evidence = ERR_P "1/2 replicas still replicate from it (the controller alone lost it): "
                 "127.0.0.1:2 io=Yes, 127.0.0.1:3 io=Connecting (io error 2003: " MSG_2003 ")"},
    {.name = "stale replicas (probed before the failure, even at its instant): suspect",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = Y, .sql = Y, .t = 90}, {R3, P, .io = Y, .sql = Y, .t = 100}},
     .code = ANA_PRIMARY_SUSPECT, .primary = 0, .replicas = 2, .reachable = 2, .stale = 2,
     .evidence = ERR_P "not confirmed: 0/2 replicas confirm, 2 probed before the failure, 0 without evidence, "
                 "0 unreachable: 127.0.0.1:2 io=Yes [probed at t=90 ms, before the failure], "
                 "127.0.0.1:3 io=Yes [probed at t=100 ms, before the failure]"},
    {.name = "sent at the failure's instant, answered in it or after: fresh, dead (issue 17)",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .sent = 100, .t = 100},
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .sent = 100, .t = 101}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2,
     .evidence = ERR_P "2/2 replicas confirm: 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 "), "
                 "127.0.0.1:3 io=Connecting (io error 2003: " MSG_2003 ")"},
    {.name = "sent before the failure, answered after it: stale (the server answered what it saw then)",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .sent = 99, .t = 150},
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .sent = 120, .t = 150}},
     .code = ANA_PRIMARY_SUSPECT, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 1, .stale = 1,
     .evidence = ERR_P "not confirmed: 1/2 replicas confirm, 1 probed before the failure, 0 without evidence, "
                 "0 unreachable: 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 ") [probed at t=99 ms, "
                 "before the failure], 127.0.0.1:3 io=Connecting (io error 2003: " MSG_2003 ")"},
    {.name = "one confirms, one stale: suspect until every replica is fresh",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = Y, .sql = Y, .t = 90}},
     .code = ANA_PRIMARY_SUSPECT, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 1, .stale = 1,
     .evidence = ERR_P "not confirmed: 1/2 replicas confirm, 1 probed before the failure, 0 without evidence, "
                 "0 unreachable: 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 "), "
                 "127.0.0.1:3 io=Yes [probed at t=90 ms, before the failure]"},
    {.name = "IO stopped without error is neutral: no evidence",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = N, .sql = Y, .t = 150}},
     .code = ANA_PRIMARY_SUSPECT, .primary = 0, .replicas = 1, .reachable = 1, .broken = 1,
     .evidence = ERR_P "not confirmed: 0/1 replicas confirm, 0 probed before the failure, 1 without evidence, "
                 "0 unreachable: 127.0.0.1:2 io=No (stopped, no error)"},
    {.name = "neutral replica does not block a confirmation by another",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = N, .sql = Y, .t = 150},
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 1, .broken = 1,
     .evidence = ERR_P "1/2 replicas confirm: 127.0.0.1:2 io=No (stopped, no error), "
                 "127.0.0.1:3 io=Connecting (io error 2003: " MSG_2003 ")"},
    /* The zone split of issue 14: {P, R3} | {controller, R2}. This side holds 2 of the
     * 4 voters: the primary may be committing with R3's acknowledgements. */
    {.name = "dead primary and some replicas: minority side, no failover",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = Y, .sql = Y, .t = 50, .st = DOWN, .down_ms = 120}},
     .code = ANA_DEAD_PRIMARY_MINORITY, .primary = 0, .replicas = 2, .reachable = 1, .confirming = 1,
     .evidence = ERR_P "1/2 replicas confirm, 1 unreachable; minority side (2 of 4 voters on this side "
                 "(1 controller, 1 replica), 3 needed): not failing over, the primary may be alive with the rest "
                 "of the cluster ('myorch failover --force' to act anyway): 127.0.0.1:2 io=Connecting (io error "
                 "2003: " MSG_2003 "), 127.0.0.1:3 unreachable (error 2003: Connection refused)"},
    {.name = "the same with failover_quorum = none: fails over",
     .quorum_off = true,
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = Y, .sql = Y, .t = 50, .st = DOWN, .down_ms = 120}},
     .code = ANA_DEAD_PRIMARY_AND_SOME_REPLICAS, .primary = 0, .replicas = 2, .reachable = 1, .confirming = 1,
     .evidence = ERR_P "1/2 replicas confirm, 1 unreachable; majority (2 of 4 voters on this side; "
                 "failover_quorum = none: acting anyway): 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003
                 "), 127.0.0.1:3 unreachable (error 2003: Connection refused)"},
    {.name = "dead primary and some replicas: 3 of 4 replicas on this side, majority",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R4, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R5, P, .io = Y, .sql = Y, .t = 50, .st = DOWN, .down_ms = 120}},
     .code = ANA_DEAD_PRIMARY_AND_SOME_REPLICAS, .primary = 0, .replicas = 4, .reachable = 3, .confirming = 3,
     .evidence = ERR_P "3/4 replicas confirm, 1 unreachable; majority (4 of 6 voters on this side "
                 "(1 controller, 3 replicas), 4 needed): 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003
                 "), 127.0.0.1:3 io=Connecting (io error 2003: " MSG_2003 "), 127.0.0.1:4 io=Connecting (io error "
                 "2003: " MSG_2003 "), 127.0.0.1:5 unreachable (error 2003: Connection refused)"},
    {.name = "three controllers, only this one sees the primary dead: no failover",
     .controllers = 3, .agreeing = 1,
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150}},
     .code = ANA_DEAD_PRIMARY_MINORITY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2,
     .evidence = ERR_P "2/2 replicas confirm, 0 unreachable; minority side (1 of 3 controllers see the primary "
                 "dead, 2 needed): not failing over, the primary may be alive with the rest of the cluster "
                 "('myorch failover --force' to act anyway): 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003
                 "), 127.0.0.1:3 io=Connecting (io error 2003: " MSG_2003 ")"},
    {.name = "all down",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = Y, .sql = Y, .t = 50, DOWN100},
           {R3, P, .io = Y, .sql = Y, .t = 50, DOWN100}},
     .code = ANA_ALL_DOWN, .primary = 0, .replicas = 2,
     .evidence = ERR_P "all 2 replicas unreachable: 127.0.0.1:2 unreachable (error 2003: Connection refused), "
                 "127.0.0.1:3 unreachable (error 2003: Connection refused)"},
    {.name = "dead primary without replicas",
     .s = {{P, .t = 50, DOWN100}},
     .code = ANA_DEAD_PRIMARY_NO_REPLICAS, .primary = 0,
     .evidence = ERR_P "it has no replicas"},
    {.name = "fenced instance ignored: its IO Yes does not count",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = Y, .sql = Y, .t = 150, .fenced = true}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 1, .reachable = 1, .confirming = 1,
     .evidence = ERR_P "1/1 replicas confirm: 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 ")"},
    {.name = "a replica of a replica replicating is no evidence about the primary",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, R2, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 1, .reachable = 1, .confirming = 1,
     .evidence = ERR_P "1/1 replicas confirm: 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 ")"},
    {.name = "replica counted by its source address when its parent is unknown",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = Y, .sql = Y, .t = 150, .noparent = true}},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 2, .reachable = 2,
     .replicating = 1, .confirming = 1,
     .evidence = ERR_P "1/2 replicas still replicate from it (the controller alone lost it): "
                 "127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 "), 127.0.0.1:3 io=Yes"},
    {.name = "SQL state shown when it matters (primary down)",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = N, .io_errno = 2003, .sql_errno = 1062, .t = 150}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 1, .reachable = 1, .confirming = 1, .broken = 1,
     .evidence = ERR_P "1/1 replicas confirm: 127.0.0.1:2 io=Connecting sql=No (io error 2003: " MSG_2003
                 ") (sql error 1062: " MSG_1062 ")"},
    {.name = "long IO error text cut at 120 bytes",
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 9999, .t = 150}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 1, .reachable = 1, .confirming = 1,
     .evidence = ERR_P "1/1 replicas confirm: 127.0.0.1:2 io=Connecting (io error 9999: "
                 "error reconnecting to master 'repl@127.0.0.1:1' - retry-time: 1  maximum-retries: 86400  "
                 "message: Can't connect to serve...)"},

    /* ---- MySQL flavor ---- */
    {.name = "MySQL dead primary",
     .flavor = TOPO_FLAVOR_MYSQL,
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150},
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .t = 150}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2,
     .evidence = ERR_P "2/2 replicas confirm: 127.0.0.1:2 io=Connecting (io error 2003: " MSG_2003 "), "
                 "127.0.0.1:3 io=Connecting (io error 2003: " MSG_2003 ")"},
    {.name = "MySQL partition",
     .flavor = TOPO_FLAVOR_MYSQL,
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = Y, .sql = Y, .t = 150}},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 1, .reachable = 1,
     .replicating = 1,
     .evidence = ERR_P "1/1 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes"},
    {.name = "MySQL dead primary and some replicas, one stale-but-down",
     .flavor = TOPO_FLAVOR_MYSQL,
     .s = {{P, .t = 50, DOWN100}, {R2, P, .io = N, .sql = Y, .io_errno = 2013, .t = 200},
           {R3, P, .io = Y, .sql = Y, .t = 90, .st = DOWN, .down_ms = 150},
           {R4, P, .io = C, .sql = Y, .t = 110}},
     .code = ANA_DEAD_PRIMARY_AND_SOME_REPLICAS, .primary = 0, .replicas = 3, .reachable = 2, .confirming = 2,
     .broken = 1,
     .evidence = ERR_P "2/3 replicas confirm, 1 unreachable; majority (3 of 5 voters on this side "
                 "(1 controller, 2 replicas), 3 needed): 127.0.0.1:2 io=No (io error 2013: " MSG_2013 "), "
                 "127.0.0.1:3 unreachable (error 2003: Connection refused), 127.0.0.1:4 io=Connecting"},

    /* ---- hung primary (issue 18): 250 ms heartbeats, stall_periods 3 = 750 ms ---- */
#define HUNG .stall_periods = 3, .waiting = 100, .lead = 1500
#define WAIT_P "127.0.0.1:1 has not answered the probe sent at t=100 ms; "
#define RY(a, rx_, t_) {a, P, .io = Y, .sql = Y, .hb = 250, .rx = rx_, .t = t_}
    {.name = "hung primary: probe unanswered, every replica received nothing for > 3 periods",
     HUNG, .s = {{P, .t = 50}, RY(R2, 60, 1000), RY(R3, 80, 900)},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2, .stalled = 2,
     .evidence = WAIT_P "2/2 replicas confirm: 127.0.0.1:2 io=Yes nothing received for 940 ms (heartbeat 250 ms) [stalled], "
                 "127.0.0.1:3 io=Yes nothing received for 820 ms (heartbeat 250 ms) [stalled]"},
    {.name = "paused 300 ms: replicas still within the budget, no failover",
     HUNG, .s = {{P, .t = 50}, RY(R2, 400, 1000), RY(R3, 600, 1000)},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 2, .reachable = 2,
     .replicating = 2,
     .evidence = WAIT_P "2/2 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes nothing "
                 "received for 600 ms (heartbeat 250 ms), 127.0.0.1:3 io=Yes nothing received for 400 ms (heartbeat 250 ms)"},
    {.name = "one replica stalled, one still receiving: the primary is alive",
     HUNG, .s = {{P, .t = 50}, RY(R2, 60, 1000), RY(R3, 900, 1000)},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 2, .reachable = 2,
     .replicating = 1, .confirming = 1, .stalled = 1,
     .evidence = WAIT_P "1/2 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes nothing "
                 "received for 940 ms (heartbeat 250 ms) [stalled], 127.0.0.1:3 io=Yes nothing received for 100 ms "
                 "(heartbeat 250 ms)"},
    {.name = "silence of exactly the budget is not a stall",
     HUNG, .s = {{P, .t = 50}, RY(R2, 250, 1000)},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 1, .reachable = 1,
     .replicating = 1,
     .evidence = WAIT_P "1/1 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes nothing "
                 "received for 750 ms (heartbeat 250 ms)"},
    {.name = "silence measured to the probe's send time: a slow probe proves less",
     HUNG, .s = {{P, .t = 50}, {R2, P, .io = Y, .sql = Y, .hb = 250, .rx = 200, .t = 1000, .lat = 300}},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 1, .reachable = 1,
     .replicating = 1,
     .evidence = WAIT_P "1/1 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes nothing "
                 "received for 500 ms (heartbeat 250 ms)"},
    {.name = "heartbeats off on the replica: no stall evidence",
     HUNG, .s = {{P, .t = 50}, {R2, P, .io = Y, .sql = Y, .hb = HB_OFF, .rx = 60, .t = 1000}},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 1, .reachable = 1,
     .replicating = 1,
     .evidence = WAIT_P "1/1 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes "
                 "(heartbeats off: no stall evidence)"},
    {.name = "no heartbeat counter (unknown progress): no stall evidence",
     HUNG, .s = {{P, .t = 50}, {R2, P, .io = Y, .sql = Y, .t = 1000}},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 1, .reachable = 1,
     .replicating = 1,
     .evidence = WAIT_P "1/1 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes"},
    {.name = "stall_periods = 0: the rule is off",
     .waiting = 100, .s = {{P, .t = 50}, RY(R2, 60, 1000)},
     .code = ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, .primary = 0, .replicas = 1, .reachable = 1,
     .replicating = 1,
     .evidence = WAIT_P "1/1 replicas still replicate from it (the controller alone lost it): 127.0.0.1:2 io=Yes nothing "
                 "received for 940 ms (heartbeat 250 ms)"},
    {.name = "replicas stalled but the primary answers: ok (never a failover)",
     .stall_periods = 3, .s = {{P, .t = 1000}, RY(R2, 60, 1000), RY(R3, 60, 1000)},
     .code = ANA_OK, .primary = 0, .replicas = 2, .reachable = 2, .replicating = 2,
     .evidence = "primary 127.0.0.1:1 ok; 2/2 replicas replicating"},
    {.name = "stall seen only before the primary stopped answering: stale, suspect",
     .stall_periods = 3, .waiting = 950, .s = {{P, .t = 50}, RY(R2, 60, 900)},
     .code = ANA_PRIMARY_SUSPECT, .primary = 0, .replicas = 1, .reachable = 1, .stale = 1,
     .evidence = "127.0.0.1:1 has not answered the probe sent at t=950 ms; not confirmed: 0/1 replicas confirm, 1 probed "
                 "before the failure, 0 without evidence, 0 unreachable: 127.0.0.1:2 io=Yes [probed at t=900 ms, before "
                 "the failure]"},
    {.name = "read timeout passed (primary unreachable) and replicas stalled: dead primary",
     .stall_periods = 3, .s = {{P, .t = 50, DOWN100}, RY(R2, 60, 1000), RY(R3, 60, 1000)},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2, .stalled = 2,
     .evidence = ERR_P "2/2 replicas confirm: 127.0.0.1:2 io=Yes nothing received for 940 ms (heartbeat 250 ms) [stalled], "
                 "127.0.0.1:3 io=Yes nothing received for 940 ms (heartbeat 250 ms) [stalled]"},
    {.name = "replicas cut from the primary 20 s before one slow answer (fault scenario 5): no hang evidence",
     .stall_periods = 3, .waiting = 20000, .lead = 1500,
     .s = {{P, .t = 19900}, RY(R2, 60, 21000), {R3, P, .io = C, .sql = Y, .io_errno = 2003, .hb = 250, .rx = 60, .t = 21000}},
     .code = ANA_PRIMARY_SUSPECT, .primary = 0, .replicas = 2, .reachable = 2,
     .evidence = "127.0.0.1:1 has not answered the probe sent at t=20000 ms; not confirmed: 0/2 replicas confirm, 0 pr"
                 "obed before the failure, 2 without evidence, 0 unreachable: 127.0.0.1:2 io=Yes [lost the primary at "
                 "t=60 ms, long before the controller's unanswered probe: no evidence of a hang], 127.0.0.1:3 io=Conne"
                 "cting (io error 2003: Can't connect to server on '127.0.0.1' (111)) [lost the primary at t=60 ms, lo"
                 "ng before the controller's unanswered probe: no evidence of a hang]"},
    {.name = "scenario 5 at the heal: one replica just reconnected and silent past the budget, the other lost the "
             "primary 20 s before the slow answer: not confirmed (the stall has another cause)",
     .stall_periods = 3, .waiting = 20000, .lead = 1500,
     .s = {{P, .t = 19900}, RY(R2, 19200, 21000), {R3, P, .io = C, .sql = Y, .io_errno = 2003, .hb = 250, .rx = 60, .t = 21000}},
     .code = ANA_PRIMARY_SUSPECT, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 1, .stalled = 1,
     .evidence = "127.0.0.1:1 has not answered the probe sent at t=20000 ms; not confirmed: 1/2 replicas confirm, but 1"
                 " lost it long before this unanswered probe (another fault; a hang is confirmed when the probe times o"
                 "ut): 127.0.0.1:2 io=Yes nothing received for 1800 ms (heartbeat 250 ms) [stalled], 127.0.0.1:3 io=C"
                 "onnecting (io error 2003: Can't connect to server on '127.0.0.1' (111)) [lost the primary at t=60 m"
                 "s, long before the controller's unanswered probe: no evidence of a hang]"},
    {.name = "the same once the probe timed out (primary unreachable): both confirm, dead primary",
     .stall_periods = 3, .lead = 1500,
     .s = {{P, .t = 19900, .st = DOWN, .down_ms = 20000}, RY(R2, 19200, 21000),
           {R3, P, .io = C, .sql = Y, .io_errno = 2003, .hb = 250, .rx = 60, .t = 21000}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2, .stalled = 1,
     .evidence = "127.0.0.1:1 unreachable since t=20000 ms (error 2003: Connection refused); 2/2 replicas confirm: 1"
                 "27.0.0.1:2 io=Yes nothing received for 1800 ms (heartbeat 250 ms) [stalled], 127.0.0.1:3 io=Conne"
                 "cting (io error 2003: Can't connect to server on '127.0.0.1' (111))"},
    {.name = "the same without the bound (stall_lead_ms 0): the old evidence would confirm",
     .stall_periods = 3, .waiting = 20000,
     .s = {{P, .t = 19900}, RY(R2, 60, 21000), {R3, P, .io = C, .sql = Y, .io_errno = 2003, .hb = 250, .rx = 60, .t = 21000}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2, .stalled = 1,
     .evidence = "127.0.0.1:1 has not answered the probe sent at t=20000 ms; 2/2 replicas confirm: 127.0.0.1:2 io=Yes "
                 "nothing received for 20940 ms (heartbeat 250 ms) [stalled], 127.0.0.1:3 io=Connecting (io error 2003"
                 ": Can't connect to server on '127.0.0.1' (111))"},
    {.name = "a hang: replicas went silent just before the unanswered probe (within the bound): dead primary",
     .stall_periods = 3, .waiting = 20000, .lead = 1500,
     .s = {{P, .t = 19900}, RY(R2, 19000, 21000), RY(R3, 18700, 21000)},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2, .stalled = 2,
     .evidence = "127.0.0.1:1 has not answered the probe sent at t=20000 ms; 2/2 replicas confirm: 127.0.0.1:2 io=Yes "
                 "nothing received for 2000 ms (heartbeat 250 ms) [stalled], 127.0.0.1:3 io=Yes nothing received for 2"
                 "300 ms (heartbeat 250 ms) [stalled]"},
    {.name = "hung primary: a stalled replica and an IO error confirm together",
     HUNG, .s = {{P, .t = 50}, RY(R2, 60, 1000), {R3, P, .io = C, .sql = Y, .io_errno = 2013, .t = 1000}},
     .code = ANA_DEAD_PRIMARY, .primary = 0, .replicas = 2, .reachable = 2, .confirming = 2, .stalled = 1,
     .evidence = WAIT_P "2/2 replicas confirm: 127.0.0.1:2 io=Yes nothing received for 940 ms (heartbeat 250 ms) [stalled], "
                 "127.0.0.1:3 io=Connecting (io error 2013: " MSG_2013 ")"},
    {.name = "hung primary on the minority side: no failover (same majority rule)",
     HUNG, .s = {{P, .t = 50}, RY(R2, 60, 1000), {R3, P, .io = Y, .sql = Y, .t = 50, .st = DOWN, .down_ms = 120}},
     .code = ANA_DEAD_PRIMARY_MINORITY, .primary = 0, .replicas = 2, .reachable = 1, .confirming = 1,
     .stalled = 1,
     .evidence = WAIT_P "1/2 replicas confirm, 1 unreachable; minority side (2 of 4 voters on this side (1 controller, 1 "
                 "replica), 3 needed): not failing over, the primary may be alive with the rest of the cluster ('myorch "
                 "failover --force' to act anyway): 127.0.0.1:2 io=Yes nothing received for 940 ms (heartbeat 250 ms) "
                 "[stalled], 127.0.0.1:3 unreachable (error 2003: Connection refused)"},
    {.name = "hung primary, 3 of 4 replicas stalled, 1 unreachable: majority, failover",
     HUNG, .s = {{P, .t = 50}, RY(R2, 60, 1000), RY(R3, 60, 1000), RY(R4, 60, 1000),
                 {R5, P, .io = Y, .sql = Y, .t = 50, .st = DOWN, .down_ms = 120}},
     .code = ANA_DEAD_PRIMARY_AND_SOME_REPLICAS, .primary = 0, .replicas = 4, .reachable = 3, .confirming = 3,
     .stalled = 3,
     .evidence = WAIT_P "3/4 replicas confirm, 1 unreachable; majority (4 of 6 voters on this side (1 controller, 3 replicas), "
                 "4 needed): 127.0.0.1:2 io=Yes nothing received for 940 ms (heartbeat 250 ms) [stalled], 127.0.0.1:3 "
                 "io=Yes nothing received for 940 ms (heartbeat 250 ms) [stalled], 127.0.0.1:4 io=Yes nothing received "
                 "for 940 ms (heartbeat 250 ms) [stalled], 127.0.0.1:5 unreachable (error 2003: Connection refused)"},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(cases); k++) {
        const ana_case *t = &cases[k];
        topo_cluster c;
        ana_result a;
        ana_input in = {.first_round_done = !t->not_ready, .quorum_off = t->quorum_off,
                                 .controllers = t->controllers, .controllers_agreeing = t->agreeing,
                                 .stall_periods = t->stall_periods, .primary_waiting_since_ms = t->waiting,
                                 .stall_lead_ms = t->lead};

        build(&c, t->flavor ? t->flavor : TOPO_FLAVOR_MARIADB, t->s, NELEM(t->s));
        if (t->nosnap) {
            /* Known only as its replicas' source: never probed successfully. */
            c.v[t->nosnap - 1]->have_snap = false;
            topo_cluster_derive(&c);
        }
        memset(&a, 0x5a, sizeof(a)); /* ana_analyze must fill everything */
        ana_analyze(&c, &in, &a);
        CHECK(a.code == t->code, "[%s] code %s, expected %s (evidence: %s)", t->name, ana_code_name(a.code),
              ana_code_name(t->code), a.evidence);
        CHECK(a.primary == t->primary, "[%s] primary %d, expected %d", t->name, a.primary, t->primary);
        CHECK(a.replicas == t->replicas && a.replicas_reachable == t->reachable &&
                  a.replicas_replicating == t->replicating && a.replicas_confirming == t->confirming &&
                  a.replicas_stale == t->stale && a.replicas_broken == t->broken,
              "[%s] counts replicas=%zu reachable=%zu replicating=%zu confirming=%zu stale=%zu broken=%zu, "
              "expected %zu %zu %zu %zu %zu %zu",
              t->name, a.replicas, a.replicas_reachable, a.replicas_replicating, a.replicas_confirming,
              a.replicas_stale, a.replicas_broken, t->replicas, t->reachable, t->replicating, t->confirming,
              t->stale, t->broken);
        CHECK(a.replicas_stalled == t->stalled, "[%s] stalled %zu, expected %zu", t->name, a.replicas_stalled,
              t->stalled);
        CHECK(strcmp(a.evidence, t->evidence) == 0, "[%s] evidence\n  got:      %s\n  expected: %s", t->name,
              a.evidence, t->evidence);
        CHECK(strlen(a.evidence) < sizeof(a.evidence), "[%s]", t->name);
        topo_cluster_free(&c);
    }
}

/* The failover decision over the whole table: only confirmed deaths fail over. */
static void test_failover_codes_in_table(void **state)
{
    size_t failovers = 0;
    (void)state;
    for (size_t k = 0; k < NELEM(cases); k++)
        failovers += ana_is_failover(cases[k].code);
    assert_int_equal(failovers, 19);
}

static void test_names(void **state)
{
    static const struct {
        ana_code code;
        const char *name;
        bool failover;
    } t[] = {
        {ANA_NOT_READY, "not-ready", false},
        {ANA_OK, "ok", false},
        {ANA_NO_PRIMARY, "no-primary", false},
        {ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING, "primary-unreachable-but-replicas-replicating", false},
        {ANA_PRIMARY_SUSPECT, "primary-suspect", false},
        {ANA_DEAD_PRIMARY, "dead-primary", true},
        {ANA_DEAD_PRIMARY_AND_SOME_REPLICAS, "dead-primary-and-some-replicas", true},
        {ANA_ALL_DOWN, "all-down", false},
        {ANA_DEAD_PRIMARY_NO_REPLICAS, "dead-primary-no-replicas", false},
        {ANA_REPLICAS_BROKEN, "replicas-broken", false},
        {ANA_LOCKED_SEMI_SYNC, "locked-semi-sync", false},
        {ANA_PRIMARY_READ_ONLY, "primary-read-only", false},
        {ANA_DEAD_PRIMARY_MINORITY, "dead-primary-minority", false},
        {ANA_MULTIPLE_WRITABLE, "multiple-writable", false},
    };
    (void)state;
    for (size_t k = 0; k < NELEM(t); k++) {
        CHECK(strcmp(ana_code_name(t[k].code), t[k].name) == 0, "code %d: %s", (int)t[k].code,
              ana_code_name(t[k].code));
        CHECK(ana_is_failover(t[k].code) == t[k].failover, "code %s", t[k].name);
    }
    assert_string_equal(ana_code_name((ana_code)99), "unknown");
    assert_false(ana_is_failover((ana_code)99));
}

/* Every code of the vocabulary appears in the table at least once. */
static void test_table_covers_every_code(void **state)
{
    (void)state;
    for (int code = ANA_NOT_READY; code <= ANA_MULTIPLE_WRITABLE; code++) {
        bool seen = false;
        for (size_t k = 0; k < NELEM(cases); k++)
            seen |= (int)cases[k].code == code;
        CHECK(seen, "no case for %s", ana_code_name((ana_code)code));
    }
}

static void test_null_inputs(void **state)
{
    ana_result a;
    topo_cluster c;
    ana_input in = {.first_round_done = true};
    (void)state;
    ana_analyze(NULL, &in, &a);
    assert_int_equal(a.code, ANA_NOT_READY);
    assert_int_equal(a.primary, -1);
    topo_cluster_init(&c, "t");
    ana_analyze(&c, NULL, &a);
    assert_int_equal(a.code, ANA_NOT_READY);
    topo_cluster_free(&c);
}

/* Many replicas with long errors: the evidence line is cut, ends in "...", code unaffected. */
static void test_evidence_truncated(void **state)
{
    srv v[16] = {{P, .t = 50, DOWN100}};
    char addrs[15][32];
    topo_cluster c;
    ana_result a;
    ana_input in = {.first_round_done = true};
    (void)state;
    for (size_t i = 1; i < NELEM(v); i++) {
        snprintf(addrs[i - 1], sizeof(addrs[0]), "127.0.0.1:%zu", 100 + i);
        v[i] = (srv){addrs[i - 1], P, .io = C, .sql = Y, .io_errno = 9999, .t = 150};
    }
    build(&c, TOPO_FLAVOR_MARIADB, v, NELEM(v));
    ana_analyze(&c, &in, &a);
    assert_int_equal(a.code, ANA_DEAD_PRIMARY);
    assert_int_equal(a.replicas_confirming, 15);
    assert_int_equal(strlen(a.evidence), sizeof(a.evidence) - 1);
    assert_string_equal(a.evidence + sizeof(a.evidence) - 4, "...");
    assert_memory_equal(a.evidence, ERR_P "15/15 replicas confirm: 127.0.0.1:101 io=Connecting",
                        strlen(ERR_P "15/15 replicas confirm: 127.0.0.1:101 io=Connecting"));
    topo_cluster_free(&c);
}

/* Derivation keeps the unreachable primary as the primary: analysis sees it. */
static void test_rec_is_direct_replica(void **state)
{
    const srv v[] = {{P, .t = 50, DOWN100},
                     {R2, P, .io = C, .sql = Y, .t = 150},
                     {R3, R2, .io = Y, .sql = Y, .t = 150},
                     {R4, P, .io = Y, .sql = Y, .t = 150, .fenced = true},
                     {R5, P, .io = Y, .sql = Y, .t = 150, .noparent = true}};
    topo_cluster c;
    (void)state;
    build(&c, TOPO_FLAVOR_MARIADB, v, NELEM(v));
    assert_int_equal(c.primary, 0);
    assert_false(ana_is_direct_replica(&c, 0, 0)); /* itself */
    assert_true(ana_is_direct_replica(&c, 1, 0));
    assert_false(ana_is_direct_replica(&c, 2, 0)); /* replica of a replica */
    assert_true(ana_is_direct_replica(&c, 2, 1));
    assert_false(ana_is_direct_replica(&c, 3, 0)); /* fenced */
    assert_true(ana_is_direct_replica(&c, 4, 0));  /* by its source address */
    assert_false(ana_is_direct_replica(&c, 1, -1));
    assert_false(ana_is_direct_replica(&c, 9, 0));
    assert_false(ana_is_direct_replica(NULL, 1, 0));
    c.v[4]->reachable = false; /* the address fallback needs a reachable server's word */
    assert_false(ana_is_direct_replica(&c, 4, 0));
    topo_cluster_free(&c);
}

/* ---- dead intermediate primary (orchestrator/decide/intermediate.h) ----------------------
 * Chain P -> R2 -> {R3, R4}; R2 fails at t=100. */
typedef struct {
    const char *name;
    srv s[6];
    imd_code code;
    int dead, new_source;
    int movable[4];
    size_t n_movable;
    const char *lost;         /* exact text, NULL none */
    const char *evidence;
} imd_case;

static const imd_case imd_cases[] = {
    {.name = "all up: nothing",
     .s = {{P, .t = 150, .gtid = "0-1-10"}, {R2, P, .io = Y, .sql = Y, .t = 150, .gtid = "0-1-10"},
           {R3, R2, .io = Y, .sql = Y, .t = 150, .gtid = "0-1-10"}},
     .code = IMD_NONE, .dead = -1, .new_source = -1, .evidence = ""},
    {.name = "a dead leaf replica is not an intermediate primary",
     .s = {{P, .t = 150, .gtid = "0-1-10"}, {R2, P, .io = Y, .sql = Y, .t = 50, DOWN100, .gtid = "0-1-10"}},
     .code = IMD_NONE, .dead = -1, .new_source = -1, .evidence = ""},
    {.name = "dead intermediate: its replicas confirm and go below the primary",
     .s = {{P, .t = 150, .gtid = "0-1-12"}, {R2, P, .io = Y, .sql = Y, .t = 50, DOWN100, .gtid = "0-1-10"},
           {R3, R2, .io = C, .sql = Y, .io_errno = 2003, .t = 150, .gtid = "0-1-10"},
           {R4, R2, .io = N, .sql = Y, .io_errno = 2013, .t = 150, .gtid = "0-1-9"}},
     .code = IMD_DEAD, .dead = 1, .new_source = 0, .movable = {2, 3}, .n_movable = 2,
     .evidence = "intermediate primary 127.0.0.1:2 dead: 2/2 of its replicas confirm; they go below its source "
                 "127.0.0.1:1; 2 movable, none left behind"},
    {.name = "one replica still replicates from it: only the controller lost it",
     .s = {{P, .t = 150, .gtid = "0-1-12"}, {R2, P, .io = Y, .sql = Y, .t = 50, DOWN100, .gtid = "0-1-10"},
           {R3, R2, .io = C, .sql = Y, .io_errno = 2003, .t = 150, .gtid = "0-1-10"},
           {R4, R2, .io = Y, .sql = Y, .t = 150, .gtid = "0-1-10"}},
     .code = IMD_SUSPECT, .dead = 1, .new_source = -1,
     .evidence = "intermediate primary 127.0.0.1:2 unreachable; not confirmed: 1/2 of its replicas confirm, 1 still "
                 "replicate from it, 0 probed before the failure"},
    {.name = "a replica probed before the failure is no evidence yet",
     .s = {{P, .t = 150, .gtid = "0-1-12"}, {R2, P, .io = Y, .sql = Y, .t = 50, DOWN100, .gtid = "0-1-10"},
           {R3, R2, .io = Y, .sql = Y, .t = 90, .gtid = "0-1-10"}},
     .code = IMD_SUSPECT, .dead = 1, .new_source = -1,
     .evidence = "intermediate primary 127.0.0.1:2 unreachable; not confirmed: 0/1 of its replicas confirm, 0 still "
                 "replicate from it, 1 probed before the failure"},
    {.name = "a replica with transactions the new source lacks is reported, never moved",
     .s = {{P, .t = 150, .gtid = "0-1-12"}, {R2, P, .io = Y, .sql = Y, .t = 50, DOWN100, .gtid = "0-1-10,5-2-3"},
           {R3, R2, .io = C, .sql = Y, .io_errno = 2003, .t = 150, .gtid = "0-1-10,5-2-3"},
           {R4, R2, .io = C, .sql = Y, .io_errno = 2003, .t = 150, .gtid = "0-1-11"}},
     .code = IMD_DEAD, .dead = 1, .new_source = 0, .movable = {3}, .n_movable = 1,
     .lost = "127.0.0.1:3: has transactions 127.0.0.1:1 lacks: 5-2-3\n",
     .evidence = "intermediate primary 127.0.0.1:2 dead: 2/2 of its replicas confirm; they go below its source "
                 "127.0.0.1:1; 1 movable, some cannot move (see lost)"},
    {.name = "the primary is down: not this module's business",
     .s = {{P, .t = 50, DOWN100, .gtid = "0-1-12"}, {R2, P, .io = C, .sql = Y, .t = 150, .gtid = "0-1-10"},
           {R3, R2, .io = Y, .sql = Y, .t = 150, .gtid = "0-1-10"}},
     .code = IMD_NONE, .dead = -1, .new_source = -1, .evidence = ""},
    {.name = "a stopped replica (no error) is left as it is",
     .s = {{P, .t = 150, .gtid = "0-1-12"}, {R2, P, .io = Y, .sql = Y, .t = 50, DOWN100, .gtid = "0-1-10"},
           {R3, R2, .io = C, .sql = Y, .io_errno = 2003, .t = 150, .gtid = "0-1-10"},
           {R4, R2, .io = N, .sql = Y, .t = 150, .gtid = "0-1-10"}},
     .code = IMD_DEAD, .dead = 1, .new_source = 0, .movable = {2}, .n_movable = 1,
     .lost = "127.0.0.1:4: not moved: its replication was stopped without an error (left as it is)\n",
     .evidence = "intermediate primary 127.0.0.1:2 dead: 1/2 of its replicas confirm; they go below its source "
                 "127.0.0.1:1; 1 movable, some cannot move (see lost)"},
};

static void test_intermediate(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(imd_cases); k++) {
        const imd_case *t = &imd_cases[k];
        topo_cluster c;
        imd_analysis a;
        char err[128];
        build(&c, TOPO_FLAVOR_MARIADB, t->s, NELEM(t->s));
        assert_int_equal(imd_analyze(&c, &a, err, sizeof(err)), 0);
        CHECK(a.code == t->code, "[%s] code %d, expected %d (%s)", t->name, a.code, t->code, a.evidence);
        CHECK(a.dead == t->dead && a.new_source == t->new_source, "[%s] dead %d source %d", t->name, a.dead,
              a.new_source);
        CHECK(a.n_movable == t->n_movable, "[%s] %zu movable, expected %zu", t->name, a.n_movable, t->n_movable);
        for (size_t i = 0; i < t->n_movable; i++)
            CHECK(a.movable[i] == t->movable[i], "[%s] movable[%zu] = %d", t->name, i, a.movable[i]);
        CHECK((!a.lost && !t->lost) || (a.lost && t->lost && !strcmp(a.lost, t->lost)), "[%s] lost '%s'", t->name,
              a.lost ? a.lost : "(none)");
        CHECK(!strcmp(a.evidence, t->evidence), "[%s] evidence\n  got:      %s\n  expected: %s", t->name,
              a.evidence, t->evidence);
        if (a.code == IMD_DEAD && a.n_movable) {
            plan_spec p;
            plan_options o = {.verify_timeout_ms = 5000};
            assert_int_equal(plan_intermediate(&c, a.dead, a.new_source, a.movable, a.n_movable, &o, &p, err,
                                                   sizeof(err)), 0);
            assert_string_equal(p.kind, "intermediate");
            assert_int_equal(p.n, 2 * a.n_movable);
            for (size_t i = 0; i < p.n; i++) {
                assert_int_equal(p.v[i].kind, i < a.n_movable ? PLAN_STEP_REPOINT : PLAN_STEP_VERIFY);
                assert_true(topo_addr_eq(&p.v[i].source.addr, &c.v[a.new_source]->addr));
                assert_true(topo_addr_eq(&p.v[i].target.addr, &c.v[a.movable[i % a.n_movable]]->addr));
            }
            plan_free(&p);
        }
        imd_analysis_free(&a);
        topo_cluster_free(&c);
    }
}

/* topo_cluster_update keeps rx_since_ms: the probe that first saw the current receive mark. */
static void upd(topo_cluster *c, int64_t t, bool ok, long long hb, uint64_t pos, const char *src,
                topo_thread_state io)
{
    topo_snapshot s;
    char err[64];
    memset(&s, 0, sizeof(s));
    s.ok = ok;
    s.taken_at_ms = t;
    if (ok) {
        s.replica.present = true;
        assert_int_equal(topo_addr_parse(src, 3306, &s.replica.source, err, sizeof(err)), 0);
        s.replica.io_state = io;
        s.replica.sql_state = Y;
        s.replica.received_heartbeats = hb;
        s.replica.heartbeat_period_ms = 250;
        snprintf(s.replica.read_coord.file, sizeof(s.replica.read_coord.file), "bin.000001");
        s.replica.read_coord.pos = pos;
    } else {
        snprintf(s.error, sizeof(s.error), "timeout");
    }
    topo_cluster_update(c, 0, &s, t / 1000);
    topo_snapshot_clear(&s);
}

static void test_rx_since_tracking(void **state)
{
    static const struct {
        int64_t t;
        bool ok;
        long long hb;
        uint64_t pos;
        const char *src;
        topo_thread_state io;
        int64_t want;
    } steps[] = {
        {1000, true, 5, 100, P, Y, 1000},  /* first sight */
        {1500, true, 5, 100, P, Y, 1000},  /* nothing new */
        {2000, true, 6, 100, P, Y, 2000},  /* a heartbeat */
        {2500, true, 6, 180, P, Y, 2500},  /* an event */
        {3000, false, 0, 0, P, Y, 2500},   /* a failed probe changes nothing */
        {3500, true, 6, 180, P, Y, 2500},  /* still nothing new */
        {4000, true, 6, 180, P, C, 4000},  /* IO thread state changed: start again */
        {4500, true, 6, 180, R3, C, 4500}, /* another source: start again */
        {5000, true, -1, 180, R3, C, 0},   /* no counter: unknown */
        {5500, true, 6, 180, R3, C, 5500}, /* known again: from here */
    };
    topo_cluster c;
    topo_addr a;
    char err[64];
    (void)state;
    topo_cluster_init(&c, "t");
    assert_int_equal(topo_addr_parse(R2, 3306, &a, err, sizeof(err)), 0);
    assert_non_null(topo_cluster_add(&c, &a, false, 0));
    for (size_t i = 0; i < NELEM(steps); i++) {
        upd(&c, steps[i].t, steps[i].ok, steps[i].hb, steps[i].pos, steps[i].src, steps[i].io);
        CHECK(c.v[0]->rx_since_ms == steps[i].want, "step %zu: rx_since_ms %lld, expected %lld", i,
              (long long)c.v[0]->rx_since_ms, (long long)steps[i].want);
    }
    /* The quiet time is measured to the send time of the last probe. */
    c.v[0]->snap.taken_at_ms = 6400;
    c.v[0]->snap.probe_latency_ms = 100;
    assert_int_equal(ana_replica_quiet_ms(c.v[0]), 800);
    c.v[0]->stale = true; /* restored from the state file: unknown */
    assert_int_equal(ana_replica_quiet_ms(c.v[0]), -1);
    topo_cluster_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_failover_codes_in_table),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_table_covers_every_code),
        cmocka_unit_test(test_null_inputs),
        cmocka_unit_test(test_evidence_truncated),
        cmocka_unit_test(test_rec_is_direct_replica),
        cmocka_unit_test(test_intermediate),
        cmocka_unit_test(test_rx_since_tracking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
