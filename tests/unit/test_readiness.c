/*
 * tests/unit/test_readiness.c — table-driven tests of orchestrator/decide/readiness.{h,c}:
 * the readiness verdict (code, every reason, candidate) on model clusters run
 * through the real analysis and ranking, the RPO arithmetic on a timeline of
 * primary positions, and the RTO estimate from recorded recoveries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/decide/readiness.h"
#include "topology/gtid.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define P "127.0.0.1:1"
#define R2 "127.0.0.1:2"
#define R3 "127.0.0.1:3"
#define R4 "127.0.0.1:4"
#define R5 "127.0.0.1:5"

typedef struct {
    const char *addr;
    const char *src;           /* NULL: the primary */
    bool down;                 /* unreachable */
    const char *io, *exec;     /* MariaDB Gtid_IO_Pos, @@gtid_slave_pos (primary: @@gtid_binlog_pos) */
    bool io_stopped;           /* IO thread No (replication stopped) */
    long long behind;          /* Seconds_Behind_Master; 0 default */
    bool semi;                 /* semi-sync on (source side on the primary, replica side on a replica) */
    bool read_only;
    bool fenced;               /* a demoted old primary: never the primary */
} srv;

static void add(topo_cluster *c, size_t idx, const srv *s)
{
    topo_addr a;
    char err[128];
    topo_instance *in;
    topo_replica_status *r;

    assert_int_equal(topo_addr_parse(s->addr, 3306, &a, err, sizeof(err)), 0);
    in = topo_cluster_add(c, &a, false, 0);
    assert_non_null(in);
    r = &in->snap.replica;
    in->have_snap = true;
    in->probed = true;
    in->reachable = !s->down;
    in->fenced = s->fenced;
    if (s->down) {
        in->err_code = 2003;
        snprintf(in->err, sizeof(in->err), "Connection refused");
        in->down_since_ms = 100;
    }
    in->snap.ok = true;
    in->snap.taken_at_ms = 1000;
    in->snap.flavor = TOPO_FLAVOR_MARIADB;
    in->snap.version_major = 10;
    in->snap.version_minor = 11;
    in->snap.server_id = idx + 1;
    in->snap.log_bin = true;
    in->snap.log_replica_updates = true;
    in->snap.gtid_mode_on = true;
    in->snap.read_only = s->read_only || s->src;
    in->snap.semisync.source_enabled = in->snap.semisync.source_status_on = !s->src && s->semi;
    in->snap.semisync.replica_enabled = in->snap.semisync.replica_status_on = s->src && s->semi;
    in->snap.semisync.source_clients = -1;
    in->snap.semisync.source_timeout_ms = -1;
    if (!s->src) {
        assert_int_equal(topo_strset(&in->snap.gtid_binlog_pos, s->exec), 0);
        return;
    }
    r->present = true;
    assert_int_equal(topo_addr_parse(s->src, 3306, &r->source, err, sizeof(err)), 0);
    r->io_state = s->io_stopped ? TOPO_THREAD_NO : TOPO_THREAD_YES;
    r->sql_state = TOPO_THREAD_YES;
    r->using_gtid = true;
    r->sql_delay_s = 0;
    r->seconds_behind = s->behind;
    r->received_heartbeats = -1;
    assert_int_equal(topo_strset(&r->received_gtid, s->io ? s->io : s->exec), 0);
    assert_int_equal(topo_strset(&in->snap.gtid_slave_pos, s->exec), 0);
    assert_int_equal(topo_strset(&in->snap.gtid_current_pos, s->exec), 0);
}

typedef struct {
    const char *name;
    srv s[6];
    /* policy */
    bool auto_off, maint, running, quorum_off, require_semi;
    int64_t blocked_ms;
    double max_lag;            /* 0 in the table: 10 (the default); < 0: no bound */
    const char *hooks_missing;
    const char *never;         /* one never_promote address */
    /* expected */
    bool ready;
    ready_code code;
    const char *candidate;     /* "" none */
    const char *reason_has[3]; /* substrings of the reason */
    int64_t rpo_trx;           /* -2: don't check */
} rcase;

#define PRI(pos) {P, NULL, .exec = pos}

static const rcase cases[] = {
    {.name = "healthy: two caught-up replicas, the first in order is chosen",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}, {R3, P, .exec = "0-1-100"}},
     .ready = true, .code = READY_OK, .candidate = R2, .rpo_trx = 0},
    {.name = "healthy: the replica that received more is chosen even if it applied less",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-90"}, {R3, P, .io = "0-1-100", .exec = "0-1-95", .behind = 1}},
     .ready = true, .code = READY_OK, .candidate = R3, .rpo_trx = 0},
    {.name = "not probed yet",
     .s = {{NULL}}, .ready = false, .code = READY_NOT_PROBED, .candidate = "",
     .reason_has = {"first probe round"}, .rpo_trx = -1},
    {.name = "no replica at all",
     .s = {PRI("0-1-100")}, .ready = false, .code = READY_NO_REPLICAS, .candidate = "",
     .reason_has = {"no replica to promote"}, .rpo_trx = -1},
    {.name = "primary down: not a hypothetical any more",
     .s = {{P, NULL, .down = true, .exec = "0-1-100"}, {R2, P, .exec = "0-1-100"}, {R3, P, .exec = "0-1-100"}},
     .ready = false, .code = READY_PRIMARY_UNHEALTHY, .reason_has = {"not healthy"}, .rpo_trx = -2},
    {.name = "primary read-only",
     .s = {{P, NULL, .read_only = true, .exec = "0-1-100"}, {R2, P, .exec = "0-1-100"}},
     .ready = false, .code = READY_PRIMARY_UNHEALTHY, .reason_has = {"primary-read-only"}, .rpo_trx = -2},
    {.name = "the only replica lags past the bound",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100", .behind = 30}},
     .ready = false, .code = READY_LAGGING, .candidate = R2, .reason_has = {"lags 30.0 s", "ready_max_lag_s = 10"},
     .rpo_trx = 0},
    {.name = "lag bound off",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100", .behind = 30}}, .max_lag = -1,
     .ready = true, .code = READY_OK, .candidate = R2, .rpo_trx = 0},
    {.name = "the only replica has errant GTIDs",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100,1-2-3"}},
     .ready = false, .code = READY_ERRANT, .candidate = "", .reason_has = {"errant GTIDs 1-2-3"}, .rpo_trx = 0},
    {.name = "an errant replica beside a clean one: their histories diverged, nobody is chosen",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-99,1-2-3"}, {R3, P, .exec = "0-1-100"}},
     .ready = false, .code = READY_DIVERGED, .candidate = "", .reason_has = {"diverged"}, .rpo_trx = -2},
    {.name = "replicas stopped (IO No): still promotable, RPO counts what they lack",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-97", .io_stopped = true}, {R3, P, .exec = "0-1-95", .io_stopped = true}},
     .ready = true, .code = READY_OK, .candidate = R2, .rpo_trx = -2},
    {.name = "one of two replicas down: 2 of 4 voters, minority",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}, {R3, P, .down = true, .exec = "0-1-100"}},
     .ready = false, .code = READY_QUORUM_MINORITY, .candidate = R2, .reason_has = {"minority", "1 of 2 replicas"},
     .rpo_trx = 0},
    {.name = "one of two replicas down, quorum off: ready",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}, {R3, P, .down = true, .exec = "0-1-100"}}, .quorum_off = true,
     .ready = true, .code = READY_OK, .candidate = R2, .rpo_trx = 0},
    {.name = "one of four replicas down: 4 of 6, majority",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}, {R3, P, .exec = "0-1-100"}, {R4, P, .exec = "0-1-100"},
           {R5, P, .down = true, .exec = "0-1-100"}},
     .ready = true, .code = READY_OK, .candidate = R2, .rpo_trx = 0},
    {.name = "never_promote on the only replica",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}}, .never = R2,
     .ready = false, .code = READY_NO_CANDIDATE, .candidate = "", .reason_has = {"never_promote"}, .rpo_trx = 0},
    {.name = "policy: auto_failover off, maintenance, anti-flap, running: every reason, the first as code",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}}, .auto_off = true, .maint = true, .blocked_ms = 1500,
     .running = true,
     .ready = false, .code = READY_RECOVERY_RUNNING, .candidate = R2,
     .reason_has = {"auto_failover = no", "maintenance", "anti-flap block for 2 s"}, .rpo_trx = 0},
    {.name = "auto_failover off alone",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}}, .auto_off = true,
     .ready = false, .code = READY_AUTO_FAILOVER_OFF, .candidate = R2, .reason_has = {"only be reported"}, .rpo_trx = 0},
    {.name = "maintenance alone",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}}, .maint = true,
     .ready = false, .code = READY_MAINTENANCE, .candidate = R2, .reason_has = {"under maintenance"}, .rpo_trx = 0},
    {.name = "anti-flap alone",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}}, .blocked_ms = 600000,
     .ready = false, .code = READY_ANTI_FLAP, .candidate = R2, .reason_has = {"600 s more"}, .rpo_trx = 0},
    {.name = "no primary: only a fenced (demoted) server",
     .s = {{P, NULL, .exec = "0-1-100", .read_only = true, .fenced = true}},
     .ready = false, .code = READY_NO_PRIMARY, .candidate = "", .reason_has = {"no primary"}, .rpo_trx = -1},
    {.name = "semi-sync required and off on the primary",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100", .semi = true}}, .require_semi = true,
     .ready = false, .code = READY_SEMI_SYNC_OFF, .candidate = R2, .reason_has = {"off on the primary"}, .rpo_trx = 0},
    {.name = "semi-sync required and on both sides",
     .s = {{P, NULL, .exec = "0-1-100", .semi = true}, {R2, P, .exec = "0-1-100", .semi = true}}, .require_semi = true,
     .ready = true, .code = READY_OK, .candidate = R2, .rpo_trx = 0},
    {.name = "semi-sync required, off on the candidate",
     .s = {{P, NULL, .exec = "0-1-100", .semi = true}, {R2, P, .exec = "0-1-100"}}, .require_semi = true,
     .ready = false, .code = READY_SEMI_SYNC_OFF, .candidate = R2, .reason_has = {"off on the candidate " R2},
     .rpo_trx = 0},
    {.name = "a hook's program is missing",
     .s = {PRI("0-1-100"), {R2, P, .exec = "0-1-100"}}, .hooks_missing = "pre_failover: /x/y not found",
     .ready = false, .code = READY_HOOKS_MISSING, .candidate = R2, .reason_has = {"/x/y not found"}, .rpo_trx = 0},
};

static void run_case(const rcase *k)
{
    topo_cluster c;
    ana_result a;
    ana_input ai = {.first_round_done = k->s[0].addr != NULL, .quorum_off = k->quorum_off};
    topo_addr never;
    char err[128];
    cand_opts co = {0};
    ready_input in;
    ready_result r;

    topo_cluster_init(&c, "t");
    for (size_t i = 0; i < NELEM(k->s) && k->s[i].addr; i++)
        add(&c, i, &k->s[i]);
    topo_cluster_derive(&c);
    if (c.primary >= 0)
        topo_cluster_note_primary_pos(&c, c.v[c.primary], 900);
    topo_cluster_derive(&c);
    ana_analyze(&c, &ai, &a);
    if (k->never) {
        assert_int_equal(topo_addr_parse(k->never, 3306, &never, err, sizeof(err)), 0);
        co.never_promote = &never;
        co.n_never_promote = 1;
    }
    in = (ready_input){.c = &c, .analysis = &a, .cand = &co, .auto_failover = !k->auto_off, .maintenance = k->maint,
                       .recovery_running = k->running, .blocked_ms = k->blocked_ms, .quorum_off = k->quorum_off,
                       .max_lag_s = k->max_lag ? k->max_lag : 10, .require_semi_sync = k->require_semi,
                       .hooks_missing = k->hooks_missing};
    assert_int_equal(ready_compute(&in, &r, err, sizeof(err)), 0);
    if (r.ready != k->ready || r.code != k->code)
        fail_msg("%s: ready %d code %s (want %d %s); reason: %s", k->name, r.ready, ready_code_name(r.code), k->ready,
                 ready_code_name(k->code), r.reason);
    if (k->ready && r.reason[0])
        fail_msg("%s: ready with a reason: %s", k->name, r.reason);
    if (k->candidate && strcmp(r.candidate, k->candidate))
        fail_msg("%s: candidate '%s', want '%s' (%s)", k->name, r.candidate, k->candidate, r.reason);
    for (size_t i = 0; i < NELEM(k->reason_has) && k->reason_has[i]; i++)
        if (!strstr(r.reason, k->reason_has[i]))
            fail_msg("%s: reason lacks '%s': %s", k->name, k->reason_has[i], r.reason);
    if (k->rpo_trx != -2 && r.rpo_trx != k->rpo_trx)
        fail_msg("%s: rpo_trx %lld, want %lld", k->name, (long long)r.rpo_trx, (long long)k->rpo_trx);
    topo_cluster_free(&c);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++)
        run_case(&cases[i]);
}

/* Every code has a name and is reached by some case (OK too). */
static void test_every_code_covered(void **state)
{
    (void)state;
    for (int code = READY_OK; code <= READY_HOOKS_MISSING; code++) {
        bool seen = false;
        assert_string_not_equal(ready_code_name((ready_code)code), "unknown");
        for (size_t i = 0; i < NELEM(cases); i++)
            seen |= cases[i].code == (ready_code)code;
        if (!seen)
            fail_msg("no case reaches %s", ready_code_name((ready_code)code));
    }
    assert_string_equal(ready_code_name((ready_code)99), "unknown");
}

static void test_invalid(void **state)
{
    ready_result r;
    char err[64];
    int64_t t;
    double s;
    (void)state;
    assert_int_equal(ready_compute(NULL, &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(ready_rpo(NULL, "0-1-1", 0, &t, &s), -EINVAL);
}

/* ---- RPO arithmetic on a timeline ------------------------------------------------- */

typedef struct {
    const char *name;
    struct { int64_t at; const char *pos; } tl[4];
    const char *has;
    int64_t taken_at;
    int64_t trx;
    double secs;
} rpo_case;

static const rpo_case rpo_cases[] = {
    {"has everything", {{100, "0-1-10"}, {200, "0-1-20"}}, "0-1-20", 250, 0, 0},
    {"lacks the last 5, first seen at 200", {{100, "0-1-10"}, {200, "0-1-15"}, {300, "0-1-20"}}, "0-1-10", 350, 10, 0.15},
    {"positions after its probe do not count", {{100, "0-1-10"}, {200, "0-1-20"}, {900, "0-1-90"}}, "0-1-20", 250, 0, 0},
    {"lacks a second domain", {{100, "0-1-10"}, {200, "0-1-10,1-1-4"}}, "0-1-10", 1200, 4, 1.0},
    {"behind from the first sample", {{100, "0-1-10"}, {200, "0-1-20"}}, "0-1-5", 300, 15, 0.2},
    {"no GTID known", {{100, "0-1-10"}}, NULL, 300, -1, -1},
    {"probe older than the timeline", {{100, "0-1-10"}}, "0-1-5", 50, -1, -1},
};

static void test_rpo(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(rpo_cases); i++) {
        const rpo_case *k = &rpo_cases[i];
        topo_cluster c;
        topo_addr a = {.host = "127.0.0.1", .port = 1};
        topo_instance *p;
        int64_t trx;
        double secs;
        topo_cluster_init(&c, "t");
        p = topo_cluster_add(&c, &a, true, 0);
        p->have_snap = p->reachable = p->probed = true;
        p->snap.ok = true;
        p->snap.flavor = TOPO_FLAVOR_MARIADB;
        for (size_t j = 0; j < NELEM(k->tl) && k->tl[j].pos; j++) {
            assert_int_equal(topo_strset(&p->snap.gtid_binlog_pos, k->tl[j].pos), 0);
            topo_cluster_note_primary_pos(&c, p, k->tl[j].at);
        }
        assert_int_equal(ready_rpo(&c, k->has, k->taken_at, &trx, &secs), 0);
        if (trx != k->trx || fabs(secs - k->secs) > 1e-9)
            fail_msg("%s: rpo %lld trx %.3f s, want %lld trx %.3f s", k->name, (long long)trx, secs, (long long)k->trx,
                     k->secs);
        topo_cluster_free(&c);
    }
}

/* ---- RTO estimate ---------------------------------------------------------------- */

static void test_rto(void **state)
{
    ready_rto o;
    (void)state;
    /* Nothing measured: the documented default. */
    ready_rto_estimate(NULL, 0, 500, 2000, &o);
    assert_true(fabs(o.detect_s - 3.0) < 1e-9);
    assert_true(fabs(o.promote_s - READY_DEFAULT_PROMOTE_MS / 1000.0) < 1e-9);
    assert_true(fabs(o.rto_s - 8.0) < 1e-9);
    assert_int_equal(o.detect_samples, 0);
    assert_non_null(strstr(o.basis, "default"));

    /* Two failovers and a switchover: medians of what was measured. */
    ready_timing t[] = {
        {.failover = true, .primary_lost_ms = 1000, .detected_ms = 2000, .started_ms = 2000, .promoted_ms = 2600},
        {.failover = true, .primary_lost_ms = 5000, .detected_ms = 8000, .started_ms = 8000, .promoted_ms = 8200},
        {.failover = false, .started_ms = 9000, .promoted_ms = 9400},
    };
    ready_rto_estimate(t, NELEM(t), 500, 2000, &o);
    assert_int_equal(o.detect_samples, 2);
    assert_int_equal(o.promote_samples, 3);
    assert_true(fabs(o.detect_s - 2.0) < 1e-9);   /* median of 1000, 3000 */
    assert_true(fabs(o.promote_s - 0.4) < 1e-9);  /* median of 600, 200, 400 */
    assert_true(fabs(o.rto_s - 2.4) < 1e-9);
    assert_non_null(strstr(o.basis, "measured"));

    /* Only switchovers: detection stays the default. */
    ready_rto_estimate(&t[2], 1, 1000, 1000, &o);
    assert_true(fabs(o.detect_s - 3.0) < 1e-9);
    assert_true(fabs(o.promote_s - 0.4) < 1e-9);
    assert_non_null(strstr(o.basis, "detection default"));

    /* Only the 10 newest count: 12 old slow ones pushed out by 10 new fast ones. */
    ready_timing many[22];
    for (size_t i = 0; i < 22; i++)
        many[i] = (ready_timing){.started_ms = i < 12 ? (int64_t)i * 10 : 100000 + (int64_t)i * 10,
                                 .promoted_ms = i < 12 ? (int64_t)i * 10 + 9000 : 100000 + (int64_t)i * 10 + 100};
    ready_rto_estimate(many, 22, 1000, 1000, &o);
    assert_int_equal(o.promote_samples, 10);
    assert_true(fabs(o.promote_s - 0.1) < 1e-9);
    /* A recovery that never promoted adds nothing. */
    ready_timing none = {.failover = true, .primary_lost_ms = 10, .detected_ms = 5};
    ready_rto_estimate(&none, 1, 100, 100, &o);
    assert_int_equal(o.detect_samples, 0);
    assert_int_equal(o.promote_samples, 0);
}

/* ready_report_step: a sequence of verdicts, one per check; 'R' where the check reports. */
typedef struct {
    bool ready;
    ready_code code;
    const char *candidate;
} verdict;

static void run_report(const char *name, const verdict *v, size_t n, const char *want)
{
    ready_report rep = {0};
    char got[64] = "";
    assert_true(n < sizeof(got));
    for (size_t i = 0; i < n; i++) {
        ready_result r = {.ready = v[i].ready, .code = v[i].code};
        snprintf(r.candidate, sizeof(r.candidate), "%s", v[i].candidate);
        got[i] = ready_report_step(&rep, &r) ? 'R' : '.';
    }
    if (strcmp(got, want))
        fail_msg("%s: reports %s, want %s", name, got, want);
}

static void test_report(void **state)
{
    (void)state;
    const verdict ok2 = {true, READY_OK, R2}, ok3 = {true, READY_OK, R3},
                  lag2 = {false, READY_LAGGING, R2}, run = {false, READY_RECOVERY_RUNNING, ""},
                  notp = {false, READY_NOT_PROBED, ""};
    /* The first verdict is reported on its second look; the same again is not. */
    run_report("first", (verdict[]){ok2, ok2, ok2, ok2}, 4, ".R..");
    /* A verdict change holds two looks; a single odd look is not reported. */
    run_report("verdict change", (verdict[]){ok2, ok2, lag2, lag2, ok2, ok2}, 6, ".R.R.R");
    run_report("one odd look", (verdict[]){ok2, ok2, lag2, ok2, ok2}, 5, ".R...");
    /* The candidate alone: only once it holds READY_CANDIDATE_HOLD (10) looks. */
    run_report("candidate flapping", (verdict[]){ok2, ok2, ok3, ok2, ok3, ok3, ok2, ok3, ok3, ok3, ok2}, 11,
               ".R.........");
    run_report("candidate held", (verdict[]){ok2, ok2, ok3, ok3, ok3, ok3, ok3, ok3, ok3, ok3, ok3, ok3, ok3}, 13,
               ".R.........R.");
    /* Not ready to ready with another candidate is a verdict change: two looks. */
    run_report("ready again elsewhere", (verdict[]){lag2, lag2, ok3, ok3}, 4, ".R.R");
    /* A running recovery and a cluster not probed yet are never reported, and reset a pending change. */
    run_report("transitional", (verdict[]){ok2, ok2, lag2, run, lag2, notp, lag2, lag2}, 8, ".R.....R");
    run_report("only transitional", (verdict[]){notp, notp, run, run}, 4, "....");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_every_code_covered),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_rpo),
        cmocka_unit_test(test_rto),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
