/*
 * tests/unit/test_recovery.c — table-driven tests of the pure parts of recovery:
 * the state rule (orchestrator/decide/rec_state.h), the after-care decisions
 * (orchestrator/decide/aftercare.h) and the operation kinds (rec_op, plan.h).
 *
 * After-care cases describe a small MariaDB cluster after a failover: P is the
 * old primary (demoted: fenced, judged against fence_gtid), R2 the new primary,
 * R3/R4 replicas; snapshots are taken at t=200 unless a case says otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/decide/aftercare.h"
#include "orchestrator/decide/plan.h"
#include "orchestrator/decide/rec_state.h"
#include "orchestrator/act/recovery.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            print_error(__VA_ARGS__);                                                             \
            print_error("\n");                                                                    \
            fail_msg("check failed: %s", #cond);                                                  \
        }                                                                                         \
    } while (0)

/* ---- the state rule --------------------------------------------------------------- */

/* Input shorthands. */
#define OK_ ANA_OK
#define SUS ANA_PRIMARY_SUSPECT
#define REP ANA_PRIMARY_UNREACHABLE_REPLICAS_REPLICATING
#define DEAD ANA_DEAD_PRIMARY
#define DEADSOME ANA_DEAD_PRIMARY_AND_SOME_REPLICAS
#define MINOR ANA_DEAD_PRIMARY_MINORITY

static void test_state_decide(void **state)
{
    static const struct {
        const char *name;
        rec_state_input in;
        rec_state want;
        rec_hold hold;
    } cases[] = {
        {"healthy", {.code = OK_, .auto_failover = true}, REC_STATE_IDLE, REC_HOLD_NONE},
        {"not ready", {.code = ANA_NOT_READY, .auto_failover = true}, REC_STATE_IDLE, REC_HOLD_NONE},
        {"minority side is no failover", {.code = MINOR, .auto_failover = true}, REC_STATE_IDLE, REC_HOLD_NONE},
        {"suspect", {.code = SUS, .auto_failover = true}, REC_STATE_SUSPECT, REC_HOLD_NONE},
        {"replicas still replicate", {.code = REP, .auto_failover = true}, REC_STATE_SUSPECT, REC_HOLD_NONE},
        {"suspect after a handled failure", {.code = SUS, .incident_handled = true, .auto_failover = true},
         REC_STATE_SUSPECT, REC_HOLD_NONE},
        {"confirmed", {.code = DEAD, .auto_failover = true}, REC_STATE_CONFIRMED, REC_HOLD_NONE},
        {"confirmed, some replicas down", {.code = DEADSOME, .auto_failover = true}, REC_STATE_CONFIRMED,
         REC_HOLD_NONE},
        {"executing wins over everything", {.executing = true, .code = DEAD, .anti_flap = true}, REC_STATE_EXECUTING,
         REC_HOLD_NONE},
        {"executing while healthy (switchover)", {.executing = true, .code = OK_, .auto_failover = true},
         REC_STATE_EXECUTING, REC_HOLD_NONE},
        {"handled", {.code = DEAD, .incident_handled = true, .auto_failover = true}, REC_STATE_HANDLED,
         REC_HOLD_NONE},
        {"handled beats every hold", {.code = DEAD, .incident_handled = true, .in_maintenance = true},
         REC_STATE_HANDLED, REC_HOLD_NONE},
        {"interrupted failover awaited", {.code = DEAD, .rollback_pending = true, .auto_failover = true},
         REC_STATE_AWAIT_ROLLBACK, REC_HOLD_NONE},
        {"awaited before the holds", {.code = DEAD, .rollback_pending = true, .anti_flap = true},
         REC_STATE_AWAIT_ROLLBACK, REC_HOLD_NONE},
        {"interrupted failover given up",
         {.code = DEAD, .rollback_pending = true, .rollback_expired = true, .auto_failover = true},
         REC_STATE_CONFIRMED, REC_HOLD_NONE},
        {"given up, then held",
         {.code = DEAD, .rollback_pending = true, .rollback_expired = true, .anti_flap = true, .auto_failover = true},
         REC_STATE_BLOCKED, REC_HOLD_BLOCKED},
        {"auto_failover off", {.code = DEAD}, REC_STATE_BLOCKED, REC_HOLD_AUTO_OFF},
        {"auto_failover off first", {.code = DEAD, .in_maintenance = true, .anti_flap = true}, REC_STATE_BLOCKED,
         REC_HOLD_AUTO_OFF},
        {"maintenance", {.code = DEAD, .auto_failover = true, .in_maintenance = true, .anti_flap = true},
         REC_STATE_BLOCKED, REC_HOLD_MAINTENANCE},
        {"anti-flap", {.code = DEAD, .auto_failover = true, .anti_flap = true, .retry_wait = true}, REC_STATE_BLOCKED,
         REC_HOLD_BLOCKED},
        {"launch retry backoff", {.code = DEAD, .auto_failover = true, .retry_wait = true}, REC_STATE_BLOCKED,
         REC_HOLD_NONE},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        rec_state_verdict v = rec_state_decide(&cases[i].in);
        CHECK(v.state == cases[i].want && v.hold == cases[i].hold, "[%s] got %s/%s, want %s/%s", cases[i].name,
              rec_state_name(v.state), rec_hold_name(v.hold) ? rec_hold_name(v.hold) : "-",
              rec_state_name(cases[i].want), rec_hold_name(cases[i].hold) ? rec_hold_name(cases[i].hold) : "-");
        CHECK(v.why && *v.why, "[%s] no reason", cases[i].name);
    }
}

static void test_state_names(void **state)
{
    (void)state;
    /* Every state has a distinct name (they are the events' from/to). */
    for (int a = 0; a < REC_STATE__COUNT; a++) {
        CHECK(strcmp(rec_state_name((rec_state)a), "?") != 0, "state %d has no name", a);
        for (int b = 0; b < a; b++)
            CHECK(strcmp(rec_state_name((rec_state)a), rec_state_name((rec_state)b)) != 0, "states %d and %d: %s", a,
                  b, rec_state_name((rec_state)a));
    }
    assert_string_equal(rec_state_name(REC_STATE_IDLE), "idle");
    assert_string_equal(rec_state_name(REC_STATE_AWAIT_ROLLBACK), "await-rollback");
    assert_string_equal(rec_state_name(REC_STATE__COUNT), "?");
    /* The hold names are what 'myorch status' shows as held_by. */
    assert_null(rec_hold_name(REC_HOLD_NONE));
    assert_string_equal(rec_hold_name(REC_HOLD_AUTO_OFF), "auto_failover-off");
    assert_string_equal(rec_hold_name(REC_HOLD_MAINTENANCE), "maintenance");
    assert_string_equal(rec_hold_name(REC_HOLD_BLOCKED), "anti-flap");
}

/* ---- operation kinds ---------------------------------------------------------------- */

static void test_op_names(void **state)
{
    /* The names are stored in the state database and sent in events: fixed. */
    static const struct {
        rec_op op;
        const char *name;
        bool promotes;
    } cases[] = {
        {REC_OP_FAILOVER, "failover", true},         {REC_OP_SWITCHOVER, "switchover", true},
        {REC_OP_RELOCATE, "relocate", false},        {REC_OP_INTERMEDIATE, "intermediate", false},
        {REC_OP_AFTERCARE, "after-care", false},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        assert_string_equal(rec_op_name(cases[i].op), cases[i].name);
        assert_int_equal(rec_op_parse(cases[i].name), cases[i].op);
        assert_int_equal(rec_op_promotes(cases[i].op), cases[i].promotes);
    }
    assert_string_equal(rec_op_name(REC_OP_NONE), "");
    assert_string_equal(rec_op_name(REC_OP__COUNT), "");
    assert_int_equal(rec_op_parse("Failover"), REC_OP_NONE);
    assert_int_equal(rec_op_parse("failover "), REC_OP_NONE);
    assert_int_equal(rec_op_parse(""), REC_OP_NONE);
    assert_int_equal(rec_op_parse(NULL), REC_OP_NONE);
}

/* ---- after-care ----------------------------------------------------------------------- */

#define Y TOPO_THREAD_YES
#define N TOPO_THREAD_NO
#define P "127.0.0.1:1"
#define R2 "127.0.0.1:2"
#define R3 "127.0.0.1:3"
#define R4 "127.0.0.1:4"

typedef struct {
    const char *addr;
    const char *src;          /* replication source, NULL: not a replica */
    topo_thread_state io, sql;
    bool down, hung, nosnap, stale, rw, fenced;
    const char *gtid;         /* gtid_binlog_pos (and gtid_slave_pos of a replica) */
    const char *fence_gtid;   /* the mark of a demoted primary */
    int64_t t;                /* snapshot time; 0: 200 */
} srv;

static void must_set(char **slot, const char *v)
{
    assert_int_equal(topo_strset(slot, v), 0);
}

static void build(topo_cluster *c, const srv *v, size_t n)
{
    char err[128];
    topo_cluster_init(c, "t");
    for (size_t i = 0; i < n; i++) {
        topo_addr a;
        topo_instance *in;
        assert_int_equal(topo_addr_parse(v[i].addr, 3306, &a, err, sizeof(err)), 0);
        assert_non_null(in = topo_cluster_add(c, &a, false, 0));
        in->have_snap = !v[i].nosnap;
        in->snap.ok = true;
        in->snap.flavor = TOPO_FLAVOR_MARIADB;
        in->snap.server_id = i + 1;
        in->snap.taken_at_ms = v[i].t ? v[i].t : 200;
        in->snap.read_only = !v[i].rw;
        in->snap.log_bin = in->snap.log_replica_updates = true;
        in->reachable = !v[i].down;
        in->probed = true;
        in->hung = v[i].hung;
        in->stale = v[i].stale;
        in->fenced = v[i].fenced;
        must_set(&in->fence_gtid, v[i].fence_gtid);
        must_set(&in->snap.gtid_binlog_pos, v[i].gtid);
        must_set(&in->snap.gtid_current_pos, v[i].gtid);
        if (v[i].src) {
            topo_replica_status *r = &in->snap.replica;
            must_set(&in->snap.gtid_slave_pos, v[i].gtid);
            r->present = true;
            assert_int_equal(topo_addr_parse(v[i].src, 3306, &r->source, err, sizeof(err)), 0);
            r->io_state = v[i].io;
            r->sql_state = v[i].sql;
            r->using_gtid = true;
            r->seconds_behind = -1;
        }
    }
    topo_cluster_derive(c);
}

/* A new primary R2 (writable) and its replica R3, then the server(s) of the case. */
#define NEWP {R2, .rw = true, .gtid = "0-2-12"}
#define R3OK {R3, R2, Y, Y, .gtid = "0-2-12"}

typedef struct {
    const char *name;
    srv v[4];
    size_t n;
    int primary;              /* index of the primary to follow, -1 none */
    size_t at;                /* the server decided for */
    int64_t fresh_after;      /* aftercare_from_ms */
    bool hung_due;
    const char *rb_cand, *rb_source; /* an interrupted failover */
    aftercare_action want;
    int source;               /* wanted source index (-1 none) */
    const char *extra;        /* wanted extra GTIDs (DIVERGED / REPLICA_LOST) */
} ac_case;

static const ac_case ac_cases[] = {
    /* Demoted primaries. */
    {"demoted primary writable again: fence", {NEWP, R3OK, {P, .rw = true, .fenced = true, .gtid = "0-1-10"}}, 3, 0, 2,
     .want = AFTERCARE_FENCE, .source = -1},
    {"demoted primary detached, nothing extra: rejoin",
     {NEWP, R3OK, {P, .fenced = true, .gtid = "0-1-10", .fence_gtid = "0-1-10"}}, 3, 0, 2, .want = AFTERCARE_REJOIN,
     .source = 0},
    {"demoted primary with an extra transaction: diverged",
     {NEWP, R3OK, {P, .fenced = true, .gtid = "0-1-11", .fence_gtid = "0-1-10"}}, 3, 0, 2, .want = AFTERCARE_DIVERGED,
     .source = -1, .extra = "0-1-11..11"},
    {"without the mark the same position would pass (domain 0 is at 12 on the new primary)",
     {NEWP, R3OK, {P, .fenced = true, .gtid = "0-1-11"}}, 3, 0, 2, .want = AFTERCARE_REJOIN, .source = 0},
    {"no mark position: judged against the new primary",
     {NEWP, R3OK, {P, .fenced = true, .gtid = "0-1-10"}}, 3, 0, 2, .want = AFTERCARE_REJOIN, .source = 0},
    {"demoted primary replicating from the new one: rejoined",
     {NEWP, R3OK, {P, R2, Y, Y, .fenced = true, .gtid = "0-2-12"}}, 3, 0, 2, .want = AFTERCARE_REJOINED,
     .source = 0},
    {"demoted primary replicating, IO thread not running: wait",
     {NEWP, R3OK, {P, R2, N, Y, .fenced = true, .gtid = "0-2-12"}}, 3, 0, 2, .want = AFTERCARE_NONE,
     .source = -1},
    {"demoted primary replicating from elsewhere: left alone",
     {NEWP, R3OK, {P, R3, Y, Y, .fenced = true, .gtid = "0-2-12"}}, 3, 0, 2, .want = AFTERCARE_NONE,
     .source = -1},
    {"no primary to follow: writable still fenced",
     {{R2, .gtid = "0-1-10"}, R3OK, {P, .rw = true, .fenced = true, .gtid = "0-1-10"}}, 3, -1, 2,
     .want = AFTERCARE_FENCE, .source = -1},
    {"no primary to follow: no rejoin",
     {{R2, .gtid = "0-1-10"}, R3OK, {P, .fenced = true, .gtid = "0-1-10"}}, 3, -1, 2, .want = AFTERCARE_NONE,
     .source = -1},
    {"demoted primary down: nothing", {NEWP, R3OK, {P, .down = true, .rw = true, .fenced = true}}, 3, 0, 2,
     .want = AFTERCARE_NONE, .source = -1},
    {"demoted primary hung, fence due: fence",
     {NEWP, R3OK, {P, .down = true, .hung = true, .fenced = true}}, 3, 0, 2, .hung_due = true,
     .want = AFTERCARE_FENCE, .source = -1},
    {"demoted primary hung, fence not due yet", {NEWP, R3OK, {P, .down = true, .hung = true, .fenced = true}}, 3, 0,
     2, .want = AFTERCARE_NONE, .source = -1},
    {"hung but never probed: nothing", {NEWP, R3OK, {P, .down = true, .hung = true, .nosnap = true, .fenced = true}},
     3, 0, 2, .hung_due = true, .want = AFTERCARE_NONE, .source = -1},
    {"snapshot older than the last recovery: wait",
     {NEWP, R3OK, {P, .rw = true, .fenced = true, .t = 100}}, 3, 0, 2, .fresh_after = 100, .want = AFTERCARE_NONE,
     .source = -1},
    {"stale snapshot: wait", {NEWP, R3OK, {P, .rw = true, .stale = true, .fenced = true}}, 3, 0, 2,
     .want = AFTERCARE_NONE, .source = -1},
    /* Replicas left behind on the demoted primary. */
    {"replica of the demoted primary: repoint",
     {NEWP, R3OK, {P, .fenced = true, .gtid = "0-1-10", .fence_gtid = "0-1-10"}, {R4, P, Y, Y, .gtid = "0-1-10"}}, 4,
     0, 3, .want = AFTERCARE_REPOINT, .source = 0},
    {"replica of the demoted primary with more: lost",
     {NEWP, R3OK, {P, .fenced = true, .gtid = "0-1-11", .fence_gtid = "0-1-10"}, {R4, P, Y, Y, .gtid = "0-1-11"}}, 4,
     0, 3, .want = AFTERCARE_REPLICA_LOST, .source = -1, .extra = "0-1-11..11"},
    {"replica of a server that is not demoted: left alone",
     {NEWP, R3OK, {P, .gtid = "0-1-10"}, {R4, P, Y, Y, .gtid = "0-1-10"}}, 4, 0, 3, .want = AFTERCARE_NONE,
     .source = -1},
    {"replica of the new primary: nothing", {NEWP, R3OK}, 2, 0, 1, .want = AFTERCARE_NONE, .source = -1},
    {"the new primary itself: nothing", {NEWP, R3OK}, 2, 0, 0, .want = AFTERCARE_NONE, .source = -1},
    /* An interrupted failover's candidate R3 (old primary P). */
    {"candidate replicates: rolled back", {{P, .rw = true, .gtid = "0-1-10"}, {R3, P, Y, Y, .gtid = "0-1-10"}}, 2, 0,
     1, .rb_cand = R3, .rb_source = P, .want = AFTERCARE_ROLLED_BACK, .source = -1},
    {"candidate writable: finish", {{P, .down = true}, {R3, .rw = true, .gtid = "0-1-10"}}, 2, -1, 1, .rb_cand = R3,
     .rb_source = P, .want = AFTERCARE_ROLLBACK_FINISH, .source = -1},
    {"candidate detached and read-only: repoint to the old primary",
     {{P, .rw = true, .gtid = "0-1-10"}, {R3, .gtid = "0-1-10"}}, 2, 0, 1, .rb_cand = R3, .rb_source = P,
     .want = AFTERCARE_REPOINT, .source = 0},
    {"old primary forgotten: judged as any server", {{R2, .rw = true, .gtid = "0-1-10"}, {R3, .gtid = "0-1-10"}}, 2,
     0, 1, .rb_cand = R3, .rb_source = P, .want = AFTERCARE_NONE, .source = -1},
    {"not the candidate: judged as any server", {{P, .rw = true, .gtid = "0-1-10"}, {R3, P, Y, Y, .gtid = "0-1-10"}},
     2, 0, 1, .rb_cand = R4, .rb_source = P, .want = AFTERCARE_NONE, .source = -1},
};

static void test_aftercare_decide(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(ac_cases); k++) {
        const ac_case *t = &ac_cases[k];
        topo_cluster c;
        topo_addr cand, src;
        char err[128];
        aftercare_decision d;
        aftercare_input in;
        build(&c, t->v, t->n);
        in = (aftercare_input){.model = &c, .primary = t->primary, .fresh_after_ms = t->fresh_after,
                               .hung_fence_due = t->hung_due};
        if (t->rb_cand) {
            assert_int_equal(topo_addr_parse(t->rb_cand, 3306, &cand, err, sizeof(err)), 0);
            assert_int_equal(topo_addr_parse(t->rb_source, 3306, &src, err, sizeof(err)), 0);
            in.rollback_cand = &cand;
            in.rollback_source = &src;
        }
        assert_int_equal(aftercare_decide(&in, t->at, &d), 0);
        CHECK(d.action == t->want, "[%s] action %s, want %s", t->name, aftercare_action_name(d.action),
              aftercare_action_name(t->want));
        CHECK(d.source == t->source, "[%s] source %d, want %d", t->name, d.source, t->source);
        CHECK(d.action == AFTERCARE_NONE || (d.why && *d.why), "[%s] no reason", t->name);
        CHECK(!t->extra || (d.extra && !strcmp(d.extra, t->extra)), "[%s] extra %s, want %s", t->name,
              d.extra ? d.extra : "(null)", t->extra);
        CHECK(t->extra || !d.extra, "[%s] unexpected extra %s", t->name, d.extra);
        CHECK(d.hung == (t->hung_due && t->want == AFTERCARE_FENCE), "[%s] hung %d", t->name, d.hung);
        aftercare_decision_free(&d);
        aftercare_decision_free(&d); /* idempotent */
        topo_cluster_free(&c);
    }
    aftercare_decision_free(NULL);
    assert_string_equal(aftercare_action_name(AFTERCARE_REPLICA_LOST), "replica-lost");
}

/* ---- the replicas a hook sees ---------------------------------------------------------- */

static void test_hook_replicas(void **state)
{
    /* After a failover P -> R2: R3 replicates (listed), R4 is detached (not a replica),
     * P is the old primary (skipped; also fenced). */
    const srv v[] = {{P, .fenced = true, .gtid = "0-1-10"}, NEWP, R3OK, {R4, .gtid = "0-2-12"},
                     {"127.0.0.1:5", R2, Y, Y, .down = true, .gtid = "0-2-12"}};
    topo_cluster c;
    char addrs[NELEM(v)][TOPO_ADDR_MAX];
    hook_replica reps[NELEM(v)];
    size_t n;
    (void)state;
    build(&c, v, NELEM(v));
    {
        const topo_addr *skip[2] = {&c.v[0]->addr, &c.v[1]->addr};
        n = rec_hook_replicas(&c, skip, 2, addrs, reps);
    }
    assert_int_equal(n, 2);
    assert_string_equal(reps[0].addr, R3);
    assert_true(reps[0].reachable);
    assert_string_equal(reps[1].addr, "127.0.0.1:5");
    assert_false(reps[1].reachable);
    /* The daemon's asynchronous hooks skip the current primary only (NULL: none known). */
    {
        const topo_addr *skip[1] = {NULL};
        c.v[0]->fenced = false;
        n = rec_hook_replicas(&c, skip, 1, addrs, reps);
    }
    assert_int_equal(n, 2); /* P and R2 do not replicate */
    topo_cluster_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_decide),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_op_names),
        cmocka_unit_test(test_aftercare_decide),
        cmocka_unit_test(test_hook_replicas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
