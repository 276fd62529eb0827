/*
 * tests/unit/test_plan.c — table-driven tests of orchestrator/decide/plan.{h,c}.
 *
 * Each case: a cluster whose old primary (first server) is dead, its replicas
 * with their GTID / thread states and flags, the ranking options, and the
 * expected failover plan as a compact string, plus the plan's new/old
 * primary, GTID fields, excluded and unreachable texts. The ranking is built
 * with the real cand_rank(), then plan_failover() runs.
 *
 * Compact step rendering (see render_plan), steps joined by "; ":
 *     KIND[!][~] TARGET[>SOURCE][ until GTID]
 *   !  no_return (point of no return)      ~  best_effort
 *   >SOURCE      only when the step has a source
 *   until GTID   only when the step has a gtid ("until ''" for an empty one)
 * Timeouts are checked separately for every step (a fixed rule per kind), and
 * every plan_server (target, source, old/new primary) is checked against the
 * cluster instance of that address (flavor and version).
 *
 * Rows with .known_bug document a plan.c bug: their .plan holds the CORRECT
 * plan; while the bug is there the mismatch is printed and tolerated, when it
 * is fixed the row fails until .known_bug is removed. PLAN_STRICT=1 in the
 * environment makes the mismatch fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/decide/candidate.h"
#include "orchestrator/decide/plan.h"
#include "topology/dialect.h"
#include "topology/gtid.h"
#include "topology/strbuf.h"

#include "fixture.h"

/* Plan options: distinct values so every step's timeout says which bound it got. */
#define T_APPLY 1111
#define T_VERIFY 2222
#define T_FENCE 3333

/* ------------------------------------------------------------------------ */
/* Rendering and checks                                                     */
/* ------------------------------------------------------------------------ */

/* Append to buf (bounded); a too small buffer fails the test rather than truncating silently. */
static void cat(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    int w;
    va_start(ap, fmt);
    w = vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
    assert_true(w >= 0 && (size_t)w < len - n);
}

static void render_step(const plan_step *s, char *buf, size_t len)
{
    char a[TOPO_ADDR_MAX];
    cat(buf, len, "%s%s%s %s", plan_step_name(s->kind), s->no_return ? "!" : "", s->best_effort ? "~" : "",
        topo_addr_str(&s->target.addr, a, sizeof(a)));
    if (s->source.addr.host[0])
        cat(buf, len, ">%s", topo_addr_str(&s->source.addr, a, sizeof(a)));
    if (s->gtid)
        cat(buf, len, " until %s", *s->gtid ? s->gtid : "''");
}

static void render_plan(const plan_spec *p, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            cat(buf, len, "; ");
        render_step(&p->v[i], buf, len);
    }
}

static int timeout_for(plan_step_kind k)
{
    switch (k) {
    case PLAN_STEP_WAIT_APPLY:
    case PLAN_STEP_CATCH_UP: return T_APPLY;
    case PLAN_STEP_FENCE: return T_FENCE;
    default: return T_VERIFY;
    }
}

/* A plan_server must describe the cluster instance with its address. */
static void check_server(const char *name, const char *what, const topo_cluster *c, const plan_server *s)
{
    char a[TOPO_ADDR_MAX];
    int i = topo_cluster_find(c, &s->addr);
    const topo_instance *in;
    CHECK(i >= 0, "[%s] %s %s is not a server of the cluster", name, what, topo_addr_str(&s->addr, a, sizeof(a)));
    in = c->v[i];
    if (in->have_snap) {
        CHECK(s->flavor == in->snap.flavor && s->major == in->snap.version_major &&
                  s->minor == in->snap.version_minor && s->patch == in->snap.version_patch,
              "[%s] %s %s: flavor %d %d.%d.%d, expected %d %d.%d.%d", name, what, a, s->flavor, s->major, s->minor,
              s->patch, in->snap.flavor, in->snap.version_major, in->snap.version_minor, in->snap.version_patch);
    } else {
        CHECK(s->flavor == TOPO_FLAVOR_UNKNOWN && s->major == 0 && s->minor == 0 && s->patch == 0,
              "[%s] %s %s without a snapshot: flavor %d %d.%d.%d", name, what, a, s->flavor, s->major, s->minor,
              s->patch);
    }
}

static const char *nn(const char *s)
{
    return s ? s : "(null)";
}

/* Both NULL, or equal strings. */
static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* ------------------------------------------------------------------------ */
/* The table                                                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    topo_flavor flavor;       /* 0 = MariaDB */
    fx_srv s[10];
    const char *never[3], *prefer[3], *target;
    int rc;                   /* 0, or -EINVAL (no candidate) */
    const char *err;          /* rc != 0: a fragment of err */
    const char *plan;         /* rc == 0: the exact compact plan */
    const char *new_primary;
    /* Exact, NULL = the plan's field must be NULL. */
    const char *old_gtid, *new_gtid, *lost, *unreachable;
    size_t n_excluded;        /* lines of `excluded` (0: NULL) */
    const char *excluded[4];  /* fragments `excluded` must contain */
    const char *known_bug;    /* see the file comment */
} plan_case;

#define MY TOPO_FLAVOR_MYSQL
#define OLDP(pos) {P, .down = true, .exec = pos}
#define UNREACH_LINE(a) a ": unreachable, repointed when it comes back\n"

static const plan_case cases[] = {
    /* ---- the basic shape ---- */
    {.name = "simple 1+2 (MariaDB)",
     .s = {OLDP("0-1-15"), {R2, P, .io = "0-1-15", .exec = "0-1-15"}, {R3, P, .io = "0-1-14", .exec = "0-1-14"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-15; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = ""},
    {.name = "MySQL flavor 1+2",
     .flavor = MY,
     .s = {{P, .down = true, .exec = UA ":1-50", .uuid = UA},
           {R2, P, .io = UA ":40-50", .exec = UA ":1-48", .uuid = UB},
           {R3, P, .io = UA ":40-49", .exec = UA ":1-49", .uuid = UC}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until " UA ":1-50; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = UA ":1-50", .new_gtid = UA ":1-50", .lost = ""},

    /* ---- the candidate is chosen by what it received ---- */
    {.name = "MariaDB: chosen by received (Gtid_IO_Pos) with a cleanly stopped SQL thread",
     .s = {OLDP("0-1-15"), {R2, P, .exec = "0-1-14"}, {R3, P, .io = "0-1-15", .exec = "0-1-12", .sqlstop = true}},
     .plan = "stop-io " R2 "; wait-apply " R3 " until 0-1-15; detach " R3 "; set-writable! " R3 "; repoint~ " R2
             ">" R3 "; verify~ " R2 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = ""},
    {.name = "MySQL: chosen by Retrieved_Gtid_Set with both threads stopped",
     .flavor = MY,
     .s = {{P, .down = true, .exec = UA ":1-15", .uuid = UA},
           {R2, P, .exec = UA ":1-14"},
           {R3, P, .io = UA ":10-15", .exec = UA ":1-12", .sqlstop = true, .iostop = true}},
     .plan = "stop-io " R2 "; wait-apply " R3 " until " UA ":1-15; detach " R3 "; set-writable! " R3 "; repoint~ " R2
             ">" R3 "; verify~ " R2 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = UA ":1-15", .new_gtid = UA ":1-15", .lost = ""},
    {.name = "MariaDB: both threads cleanly stopped, the relay log does not count: the other one wins",
     .s = {OLDP("0-1-15"), {R2, P, .exec = "0-1-14"},
           {R3, P, .io = "0-1-15", .exec = "0-1-12", .sqlstop = true, .iostop = true}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-14; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-15", .new_gtid = "0-1-14", .lost = "0-1-15..15"},

    /* ---- catch-up from the most advanced when it cannot be promoted ---- */
    {.name = "catch-up: the most advanced is delayed",
     .s = {OLDP("0-1-15"), {R2, P, .io = "0-1-15", .exec = "0-1-15", .delay = 3600}, {R3, P, .exec = "0-1-12"},
           {R4, P, .exec = "0-1-11"}},
     .plan = "stop-io " R4 "; wait-apply " R2 " until 0-1-15; stop-io " R2 "; catch-up " R3 ">" R2
             " until 0-1-15; wait-apply " R3 "; detach " R3 "; set-writable! " R3 "; repoint~ " R4 ">" R3
             "; verify~ " R4 ">" R3 "; repoint~ " R2 ">" R3 "; verify~ " R2 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = "",
     .n_excluded = 1, .excluded = {R2 ": delayed (delayed by 3600 s (SQL_Delay))"}},
    {.name = "catch-up: the most advanced is never_promote",
     .s = {OLDP("0-1-15"), {R2, P, .io = "0-1-15", .exec = "0-1-14"}, {R3, P, .exec = "0-1-12"},
           {R4, P, .exec = "0-1-11"}},
     .never = {R2},
     .plan = "stop-io " R4 "; wait-apply " R2 " until 0-1-15; stop-io " R2 "; catch-up " R3 ">" R2
             " until 0-1-15; wait-apply " R3 "; detach " R3 "; set-writable! " R3 "; repoint~ " R4 ">" R3
             "; verify~ " R4 ">" R3 "; repoint~ " R2 ">" R3 "; verify~ " R2 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = "",
     .n_excluded = 1, .excluded = {R2 ": never-promote (listed in never_promote)"}},
    {.name = "catch-up: never_promote most advanced without a received position waits for nothing",
     .s = {OLDP("0-1-15"), {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-12"}},
     .never = {R2},
     .plan = "wait-apply " R2 " until 0-1-15; stop-io " R2 "; catch-up " R3 ">" R2 " until 0-1-15; wait-apply " R3 "; detach " R3
             "; set-writable! " R3 "; repoint~ " R2 ">" R3 "; verify~ " R2 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = "", .n_excluded = 1},
    {.name = "catch-up: forced target less advanced (MySQL), lost GTIDs still computed from the source",
     .flavor = MY,
     .s = {{P, .down = true, .exec = UA ":1-22", .uuid = UA},
           {R2, P, .io = UA ":5-20", .exec = UA ":1-20"},
           {R3, P, .exec = UA ":1-12"}},
     .target = R3,
     .plan = "wait-apply " R2 " until " UA ":1-20; stop-io " R2 "; catch-up " R3 ">" R2 " until " UA
             ":1-20; wait-apply " R3 "; detach " R3 "; set-writable! " R3 "; repoint~ " R2 ">" R3 "; verify~ " R2
             ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = UA ":1-22", .new_gtid = UA ":1-20", .lost = UA ":21-22",
     .n_excluded = 1, .excluded = {R2 ": not-target (not the requested target " R3 ")"}},
    {.name = "catch-up + unreachable + semi-sync (MySQL)",
     .flavor = MY,
     .s = {{P, .down = true, .exec = UA ":1-30", .uuid = UA, .semisync = true},
           {R2, P, .io = UA ":25-30", .exec = UA ":1-30"},
           {R3, P, .exec = UA ":1-25"},
           {R4, P, .down = true, .exec = UA ":1-29"},
           {R5, P, .exec = UA ":1-20"}},
     .never = {R2},
     .plan = "stop-io " R5 "; wait-apply " R2 " until " UA ":1-30; stop-io " R2 "; catch-up " R3 ">" R2 " until " UA
             ":1-30; wait-apply " R3 "; detach " R3 "; set-writable! " R3 "; semi-sync-source~ " R3 "; repoint~ " R5
             ">" R3 "; verify~ " R5 ">" R3 "; repoint~ " R2 ">" R3 "; verify~ " R2 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = UA ":1-30", .new_gtid = UA ":1-30", .lost = "",
     .unreachable = UNREACH_LINE(R4),
     .n_excluded = 2, .excluded = {R2 ": never-promote (listed in never_promote)", R4 ": unreachable ("}},
    {.name = "catch-up from a cleanly stopped MariaDB replica: wait for what the ranking counted",
     /* R2's received 0-1-16 does not count (relay log purged when its SQL thread starts
      * with both threads stopped), so waiting for it can only time out. */
     .s = {OLDP("0-1-16"), {R2, P, .io = "0-1-16", .exec = "0-1-15", .sqlstop = true, .iostop = true},
           {R3, P, .exec = "0-1-12"}},
     .never = {R2},
     .plan = "wait-apply " R2 " until 0-1-15; stop-io " R2 "; catch-up " R3 ">" R2 " until 0-1-15; wait-apply " R3
             "; detach " R3 "; set-writable! " R3 "; repoint~ " R2 ">" R3 "; verify~ " R2 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = "0-1-16", .new_gtid = "0-1-15", .lost = "0-1-16..16", .n_excluded = 1},

    /* ---- unreachable replicas ---- */
    {.name = "unreachable replicas are listed, not frozen, not repointed",
     .s = {OLDP("0-1-15"), {R2, P, .exec = "0-1-15"}, {R3, P, .down = true, .exec = "0-1-14"},
           {R4, P, .exec = "0-1-13"}, {R5, P, .down = true}},
     .plan = "stop-io " R4 "; wait-apply " R2 " until 0-1-15; detach " R2 "; set-writable! " R2 "; repoint~ " R4
             ">" R2 "; verify~ " R4 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = "",
     .unreachable = UNREACH_LINE(R3) UNREACH_LINE(R5),
     .n_excluded = 2,
     .excluded = {R3 ": unreachable (unreachable (error 2003: Connection refused))\n",
                  R5 ": unreachable (unreachable (error 2003: Connection refused))\n"}},

    /* ---- semi-sync ---- */
    {.name = "semi-sync source step when the old primary had it enabled",
     .s = {{P, .down = true, .exec = "0-1-15", .semisync = true}, {R2, P, .exec = "0-1-15"},
           {R3, P, .exec = "0-1-14"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-15; detach " R2 "; set-writable! " R2
             "; semi-sync-source~ " R2 "; repoint~ " R3 ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = ""},
    {.name = "no semi-sync step when the old primary had no snapshot (and nothing known lost)",
     .s = {{P, .down = true, .nosnap = true, .exec = "0-1-15", .semisync = true}, {R2, P, .exec = "0-1-15"},
           {R3, P, .exec = "0-1-14"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-15; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = NULL, .new_gtid = "0-1-15", .lost = NULL},
    {.name = "no semi-sync step when only a replica had semi-sync source on",
     .s = {OLDP("0-1-15"), {R2, P, .exec = "0-1-15", .semisync = true}, {R3, P, .exec = "0-1-14"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-15; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-15", .new_gtid = "0-1-15", .lost = ""},

    /* ---- expected lost GTIDs ---- */
    {.name = "lost GTIDs: old primary ahead of every replica (MariaDB)",
     .s = {OLDP("0-1-20"), {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-14"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-15; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-20", .new_gtid = "0-1-15", .lost = "0-1-16..20"},
    {.name = "lost GTIDs: multi-domain MariaDB, only the domain behind",
     .s = {OLDP("0-1-20,1-1-7"), {R2, P, .exec = "0-1-20,1-1-5"}, {R3, P, .exec = "0-1-18,1-1-5"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-20,1-1-5; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-20,1-1-7", .new_gtid = "0-1-20,1-1-5", .lost = "1-1-6..7"},
    {.name = "lost GTIDs: old primary ahead of every replica (MySQL, two uuids)",
     .flavor = MY,
     .s = {{P, .down = true, .exec = UA ":1-120," UB ":1-5", .uuid = UA},
           {R2, P, .io = UA ":100-110", .exec = UA ":1-105," UB ":1-5"},
           {R3, P, .exec = UA ":1-108," UB ":1-5"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until " UA ":1-110," UB ":1-5; detach " R2 "; set-writable! " R2
             "; repoint~ " R3 ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = UA ":1-120," UB ":1-5", .new_gtid = UA ":1-110," UB ":1-5",
     .lost = UA ":111-120"},
    {.name = "lost GTIDs: replicas ahead of a stale old-primary position lose nothing",
     .s = {OLDP("0-1-10"), {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-14"}},
     .plan = "stop-io " R3 "; wait-apply " R2 " until 0-1-15; detach " R2 "; set-writable! " R2 "; repoint~ " R3
             ">" R2 "; verify~ " R3 ">" R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-10", .new_gtid = "0-1-15", .lost = ""},

    /* ---- ordering with 5 replicas ---- */
    {.name = "5 replicas: ranking order for freeze and repoint, excluded last, sub-replica untouched",
     .s = {OLDP("0-1-20"), {R2, P, .exec = "0-1-16"}, {R3, P, .io = "0-1-20", .exec = "0-1-19"},
           {R4, P, .exec = "0-1-18"}, {R5, P, .exec = "0-1-17", .sql_errno = 1062}, {R6, P, .exec = "0-1-19"},
           {R7, R4, .exec = "0-1-18"}},
     .plan = "stop-io " R6 "; stop-io " R4 "; stop-io " R2 "; stop-io " R5 "; wait-apply " R3
             " until 0-1-20; detach " R3 "; set-writable! " R3 "; repoint~ " R6 ">" R3 "; verify~ " R6 ">" R3
             "; repoint~ " R4 ">" R3 "; verify~ " R4 ">" R3 "; repoint~ " R2 ">" R3 "; verify~ " R2 ">" R3
             "; repoint~ " R5 ">" R3 "; verify~ " R5 ">" R3 "; fence~ " P,
     .new_primary = R3, .old_gtid = "0-1-20", .new_gtid = "0-1-20", .lost = "",
     .n_excluded = 1, .excluded = {R5 ": sql-error (SQL thread stopped with error 1062: " MSG_1062 ")\n"}},
    {.name = "5 replicas: equal received, then executed, then prefer, then index",
     .s = {OLDP("0-1-20"), {R2, P, .io = "0-1-20", .exec = "0-1-18"}, {R3, P, .io = "0-1-20", .exec = "0-1-20"},
           {R4, P, .io = "0-1-20", .exec = "0-1-19"}, {R5, P, .io = "0-1-20", .exec = "0-1-20"},
           {R6, P, .io = "0-1-20", .exec = "0-1-19"}},
     .prefer = {R5},
     .plan = "stop-io " R3 "; stop-io " R4 "; stop-io " R6 "; stop-io " R2 "; wait-apply " R5
             " until 0-1-20; detach " R5 "; set-writable! " R5 "; repoint~ " R3 ">" R5 "; verify~ " R3 ">" R5
             "; repoint~ " R4 ">" R5 "; verify~ " R4 ">" R5 "; repoint~ " R6 ">" R5 "; verify~ " R6 ">" R5
             "; repoint~ " R2 ">" R5 "; verify~ " R2 ">" R5 "; fence~ " P,
     .new_primary = R5, .old_gtid = "0-1-20", .new_gtid = "0-1-20", .lost = ""},
    {.name = "single replica",
     .s = {OLDP("0-1-3"), {R2, P, .exec = "0-1-3"}},
     .plan = "wait-apply " R2 " until 0-1-3; detach " R2 "; set-writable! " R2 "; fence~ " P,
     .new_primary = R2, .old_gtid = "0-1-3", .new_gtid = "0-1-3", .lost = ""},

    /* ---- no candidate ---- */
    {.name = "no candidate: nobody eligible",
     .s = {OLDP("0-1-10"), {R2, P, .exec = "0-1-12", .delay = 60}, {R3, P, .exec = "0-1-12", .nobin = true}},
     .rc = -EINVAL,
     .err = "no promotion candidate: no eligible replica: " R2 ": delayed by 60 s (SQL_Delay); " R3
            ": no binary log (log_bin=OFF)"},
    {.name = "no candidate: replicas diverged",
     .s = {OLDP("0-1-10"), {R2, P, .exec = "0-1-12,1-1-3"}, {R3, P, .exec = "0-1-13,1-1-2"}},
     .rc = -EINVAL, .err = "no promotion candidate: replicas diverged, none has every transaction"},
    {.name = "no candidate: catch-up refused (most advanced has no binary log)",
     .s = {OLDP("0-1-10"), {R2, P, .exec = "0-1-15", .nobin = true}, {R3, P, .exec = "0-1-12"}},
     .rc = -EINVAL, .err = "no promotion candidate: would lose transactions only " R2 " holds (0-1-13..15)"},
    {.name = "no candidate: no replicas",
     .s = {OLDP("0-1-10")},
     .rc = -EINVAL, .err = "no promotion candidate: " P " has no replicas"},
    {.name = "no candidate: the only replica unreachable",
     .s = {OLDP("0-1-10"), {R2, P, .down = true, .exec = "0-1-10"}},
     .rc = -EINVAL, .err = "no promotion candidate: "},
};

/* ------------------------------------------------------------------------ */
/* Running a row                                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    topo_cluster c;
    cand_ranking r;
    plan_spec p;
    int rc;
    char err[512];
} run;

static const plan_options OPTS = {.apply_timeout_ms = T_APPLY, .verify_timeout_ms = T_VERIFY,
                                   .fence_timeout_ms = T_FENCE};

static void run_case(const plan_case *t, run *x)
{
    topo_addr never[3], prefer[3], target;
    cand_opts o = {0};
    char err[256] = "";

    fx_build(&x->c, t->flavor ? t->flavor : TOPO_FLAVOR_MARIADB, FX_IO_CONNECTING, t->s, NELEM(t->s));
    for (size_t i = 0; i < 3 && t->never[i]; i++)
        assert_int_equal(topo_addr_parse(t->never[i], 3306, &never[o.n_never_promote++], err, sizeof(err)), 0);
    for (size_t i = 0; i < 3 && t->prefer[i]; i++)
        assert_int_equal(topo_addr_parse(t->prefer[i], 3306, &prefer[o.n_prefer++], err, sizeof(err)), 0);
    o.never_promote = never;
    o.prefer = prefer;
    if (t->target) {
        assert_int_equal(topo_addr_parse(t->target, 3306, &target, err, sizeof(err)), 0);
        o.target = &target;
    }
    int rc = cand_rank(&x->c, 0, &o, &x->r, err, sizeof(err));
    CHECK(rc == 0, "[%s] ranking rc %d: %s", t->name, rc, err);
    memset(&x->p, 0x5a, sizeof(x->p)); /* the plan must be fully initialised by plan_failover */
    snprintf(x->err, sizeof(x->err), "untouched");
    x->rc = plan_failover(&x->c, 0, &x->r, &OPTS, &x->p, x->err, sizeof(x->err));
}

static void free_run(run *x)
{
    plan_free(&x->p);
    cand_ranking_free(&x->r);
    topo_cluster_free(&x->c);
}

/* Structural invariants every failover plan must satisfy. */
static void check_invariants(const plan_case *t, const run *x)
{
    const plan_spec *p = &x->p;
    const topo_instance *cand = x->c.v[x->r.v[x->r.chosen].index];
    const topo_instance *most =
        x->r.needs_catchup ? x->c.v[x->r.v[x->r.most_advanced].index] : NULL;
    size_t writable = 0, k = 0;
    char a[TOPO_ADDR_MAX];

    CHECK(p->n >= 4, "[%s] only %zu steps", t->name, p->n);
    /* The initial freeze never touches the candidate, nor the replica it catches up from. */
    for (k = 0; k < p->n && p->v[k].kind == PLAN_STEP_STOP_IO; k++) {
        CHECK(!topo_addr_eq(&p->v[k].target.addr, &cand->addr), "[%s] candidate frozen at step %zu", t->name,
              k + 1);
        CHECK(!most || !topo_addr_eq(&p->v[k].target.addr, &most->addr),
              "[%s] catch-up source frozen before it applied, step %zu", t->name, k + 1);
    }
    for (size_t i = 0; i < p->n; i++) {
        const plan_step *s = &p->v[i];
        int idx = topo_cluster_find(&x->c, &s->target.addr);
        CHECK(s->timeout_ms == timeout_for(s->kind), "[%s] step %zu (%s) timeout %d, expected %d", t->name, i + 1,
              plan_step_name(s->kind), s->timeout_ms, timeout_for(s->kind));
        check_server(t->name, "step target", &x->c, &s->target);
        if (s->source.addr.host[0])
            check_server(t->name, "step source", &x->c, &s->source);
        CHECK(idx >= 0 && (s->kind == PLAN_STEP_FENCE || x->c.v[idx]->reachable),
              "[%s] step %zu (%s) targets unreachable %s", t->name, i + 1, plan_step_name(s->kind),
              topo_addr_str(&s->target.addr, a, sizeof(a)));
        CHECK(s->no_return == (s->kind == PLAN_STEP_SET_WRITABLE), "[%s] step %zu no_return %d", t->name, i + 1,
              s->no_return);
        writable += s->kind == PLAN_STEP_SET_WRITABLE;
        if (s->kind == PLAN_STEP_REPOINT || s->kind == PLAN_STEP_VERIFY || s->kind == PLAN_STEP_STOP_IO)
            CHECK(!topo_addr_eq(&s->target.addr, &cand->addr), "[%s] step %zu (%s) targets the candidate", t->name,
                  i + 1, plan_step_name(s->kind));
        if (s->kind == PLAN_STEP_REPOINT)
            CHECK(i + 1 < p->n && p->v[i + 1].kind == PLAN_STEP_VERIFY &&
                      topo_addr_eq(&p->v[i + 1].target.addr, &s->target.addr),
                  "[%s] repoint at %zu not followed by its verify", t->name, i + 1);
    }
    CHECK(writable == 1, "[%s] %zu set-writable steps", t->name, writable);
    CHECK(p->v[p->n - 1].kind == PLAN_STEP_FENCE && topo_addr_eq(&p->v[p->n - 1].target.addr, &x->c.v[0]->addr),
          "[%s] last step is not the fence of the old primary", t->name);
    check_server(t->name, "old primary", &x->c, &p->old_primary);
    check_server(t->name, "new primary", &x->c, &p->new_primary);
}

static void check_json(const plan_case *t, const run *x)
{
    const plan_spec *p = &x->p;
    json_t *j = plan_to_json(p), *steps;
    char a[TOPO_ADDR_MAX];
    CHECK(j != NULL, "[%s] no JSON", t->name);
    steps = json_object_get(j, "steps");
    CHECK(json_is_array(steps) && json_array_size(steps) == p->n, "[%s] JSON steps: %zu, plan %zu", t->name,
          json_array_size(steps), p->n);
    CHECK(same(json_string_value(json_object_get(j, "cluster")), "t"), "[%s] JSON cluster", t->name);
    CHECK(same(json_string_value(json_object_get(j, "kind")), "failover"), "[%s] JSON kind", t->name);
    CHECK(same(json_string_value(json_object_get(json_object_get(j, "old_primary"), "addr")), P),
          "[%s] JSON old_primary", t->name);
    CHECK(same(json_string_value(json_object_get(json_object_get(j, "new_primary"), "addr")), t->new_primary),
          "[%s] JSON new_primary", t->name);
    CHECK(same(json_string_value(json_object_get(json_object_get(j, "new_primary"), "flavor")),
               topo_flavor_name(t->flavor ? t->flavor : TOPO_FLAVOR_MARIADB)),
          "[%s] JSON new_primary flavor", t->name);
    CHECK(same(json_string_value(json_object_get(j, "expected_lost_gtids")), t->lost) &&
              (t->lost != NULL) == json_is_string(json_object_get(j, "expected_lost_gtids")),
          "[%s] JSON expected_lost_gtids", t->name);
    CHECK(same(json_string_value(json_object_get(j, "old_primary_gtid")), t->old_gtid), "[%s] JSON old gtid",
          t->name);
    CHECK(same(json_string_value(json_object_get(j, "new_primary_gtid")), t->new_gtid), "[%s] JSON new gtid",
          t->name);
    CHECK(same(json_string_value(json_object_get(j, "unreachable")), p->unreachable), "[%s] JSON unreachable",
          t->name);
    CHECK(same(json_string_value(json_object_get(j, "excluded")), p->excluded), "[%s] JSON excluded", t->name);
    CHECK(same(json_string_value(json_object_get(j, "reason")), x->r.reason), "[%s] JSON reason", t->name);
    for (size_t i = 0; i < p->n && i < json_array_size(steps); i++) {
        const plan_step *s = &p->v[i];
        json_t *sj = json_array_get(steps, i), *src = json_object_get(sj, "source");
        CHECK(json_integer_value(json_object_get(sj, "index")) == (json_int_t)i + 1, "[%s] JSON step %zu index",
              t->name, i);
        CHECK(same(json_string_value(json_object_get(sj, "kind")), plan_step_name(s->kind)), "[%s] JSON step %zu kind",
              t->name, i);
        CHECK(same(json_string_value(json_object_get(sj, "target")), topo_addr_str(&s->target.addr, a, sizeof(a))),
              "[%s] JSON step %zu target", t->name, i);
        CHECK(s->source.addr.host[0] ? same(json_string_value(src), topo_addr_str(&s->source.addr, a, sizeof(a)))
                                     : src == NULL,
              "[%s] JSON step %zu source", t->name, i);
        CHECK(same(json_string_value(json_object_get(sj, "gtid")), s->gtid) &&
                  (s->gtid ? json_is_string(json_object_get(sj, "gtid")) : json_is_null(json_object_get(sj, "gtid"))),
              "[%s] JSON step %zu gtid", t->name, i);
        CHECK(json_integer_value(json_object_get(sj, "timeout_ms")) == s->timeout_ms, "[%s] JSON step %zu timeout",
              t->name, i);
        CHECK(json_is_boolean(json_object_get(sj, "best_effort")) &&
                  json_boolean_value(json_object_get(sj, "best_effort")) == s->best_effort,
              "[%s] JSON step %zu best_effort", t->name, i);
        CHECK(json_is_boolean(json_object_get(sj, "point_of_no_return")) &&
                  json_boolean_value(json_object_get(sj, "point_of_no_return")) == (s->kind == PLAN_STEP_SET_WRITABLE),
              "[%s] JSON step %zu point_of_no_return", t->name, i);
        CHECK(json_is_string(json_object_get(sj, "description")), "[%s] JSON step %zu description", t->name, i);
    }
    json_decref(j);
}

/* The printed plan holds one numbered line per step, in order. */
static void check_print(const plan_case *t, const run *x)
{
    char *buf = NULL, *d, line[1200];
    size_t len = 0;
    const char *at;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    plan_print(&x->p, f);
    assert_int_equal(fclose(f), 0);
    at = buf;
    for (size_t i = 0; i < x->p.n; i++) {
        const char *hit;
        d = plan_step_describe(&x->p.v[i]);
        assert_non_null(d);
        snprintf(line, sizeof(line), "\n  %2zu. %-17s %s\n", i + 1, plan_step_name(x->p.v[i].kind), d);
        free(d);
        hit = strstr(at, line);
        CHECK(hit != NULL, "[%s] printed plan lacks (in order) step line%s\n--- output:\n%s", t->name, line, buf);
        at = hit + 1;
    }
    CHECK(strstr(buf, "failover plan for cluster t\n") == buf, "[%s] print header:\n%s", t->name, buf);
    if (x->p.unreachable)
        CHECK(strstr(buf, "\n  not repointed now:\n    ") != NULL, "[%s] print unreachable:\n%s", t->name, buf);
    if (x->p.excluded)
        CHECK(strstr(buf, "\n  excluded:\n    ") != NULL, "[%s] print excluded:\n%s", t->name, buf);
    CHECK((strstr(buf, "transactions the old primary had that the new one lacks: ") != NULL) ==
              (x->p.expected_lost_gtids != NULL),
          "[%s] print lost line:\n%s", t->name, buf);
    free(buf);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(cases); k++) {
        const plan_case *t = &cases[k];
        run x;
        char got[4096], a[TOPO_ADDR_MAX];

        run_case(t, &x);
        if (t->rc) {
            CHECK(x.rc == t->rc, "[%s] rc %d, expected %d (err: %s)", t->name, x.rc, t->rc, x.err);
            CHECK(strstr(x.err, t->err) != NULL, "[%s] err\n  got:      %s\n  expected: …%s…", t->name, x.err,
                  t->err);
            /* The message is the ranking's reason, verbatim. */
            snprintf(got, sizeof(got), "no promotion candidate: %s", x.r.reason);
            CHECK(strcmp(x.err, got) == 0, "[%s] err %s, expected %s", t->name, x.err, got);
            CHECK(x.p.n == 0 && x.p.v == NULL && !x.p.old_primary_gtid && !x.p.new_primary_gtid &&
                      !x.p.expected_lost_gtids && !x.p.excluded && !x.p.unreachable,
                  "[%s] plan not empty after a failure", t->name);
            free_run(&x);
            continue;
        }
        CHECK(x.rc == 0, "[%s] rc %d: %s", t->name, x.rc, x.err);
        CHECK(strcmp(x.err, "untouched") == 0, "[%s] err written on success: %s", t->name, x.err);
        render_plan(&x.p, got, sizeof(got));
        if (strcmp(got, t->plan) != 0) {
            if (t->known_bug && !getenv("PLAN_STRICT"))
                print_message("[   INFO   ] KNOWN plan.c BUG [%s]: %s\n  got:      %s\n  expected: %s\n", t->name,
                              t->known_bug, got, t->plan);
            else
                CHECK(0, "[%s] plan\n  got:      %s\n  expected: %s", t->name, got, t->plan);
        } else {
            CHECK(!t->known_bug, "[%s] known bug fixed (%s): remove .known_bug", t->name, t->known_bug);
        }
        CHECK(strcmp(x.p.cluster, "t") == 0 && strcmp(x.p.kind, "failover") == 0, "[%s] cluster %s kind %s",
              t->name, x.p.cluster, x.p.kind);
        CHECK(strcmp(topo_addr_str(&x.p.old_primary.addr, a, sizeof(a)), P) == 0, "[%s] old primary %s", t->name, a);
        CHECK(strcmp(topo_addr_str(&x.p.new_primary.addr, a, sizeof(a)), t->new_primary) == 0,
              "[%s] new primary %s, expected %s", t->name, a, t->new_primary);
        CHECK(same(x.p.old_primary_gtid, t->old_gtid), "[%s] old_primary_gtid %s, expected %s", t->name,
              nn(x.p.old_primary_gtid), nn(t->old_gtid));
        CHECK(same(x.p.new_primary_gtid, t->new_gtid), "[%s] new_primary_gtid %s, expected %s", t->name,
              nn(x.p.new_primary_gtid), nn(t->new_gtid));
        CHECK(same(x.p.expected_lost_gtids, t->lost), "[%s] expected_lost_gtids '%s', expected '%s'", t->name,
              nn(x.p.expected_lost_gtids), nn(t->lost));
        CHECK(same(x.p.unreachable, t->unreachable), "[%s] unreachable\n  got:      %s\n  expected: %s", t->name,
              nn(x.p.unreachable), nn(t->unreachable));
        CHECK(strcmp(x.p.reason, x.r.reason) == 0, "[%s] reason %s", t->name, x.p.reason);
        CHECK(count_lines(x.p.excluded) == t->n_excluded && (t->n_excluded == 0) == (x.p.excluded == NULL),
              "[%s] excluded has %zu lines, expected %zu:\n%s", t->name, count_lines(x.p.excluded), t->n_excluded,
              nn(x.p.excluded));
        for (size_t i = 0; i < NELEM(t->excluded) && t->excluded[i]; i++)
            CHECK(x.p.excluded && strstr(x.p.excluded, t->excluded[i]),
                  "[%s] excluded lacks '%s':\n%s", t->name, t->excluded[i], nn(x.p.excluded));
        check_invariants(t, &x);
        check_json(t, &x);
        check_print(t, &x);
        free_run(&x);
    }
}

/* Every feature the brief lists has a row (guards against the table shrinking). */
static void test_table_coverage(void **state)
{
    bool catchup = false, semisync = false, unreach = false, lost_mdb = false, lost_my = false, noc = false,
         five = false;
    (void)state;
    for (size_t k = 0; k < NELEM(cases); k++) {
        const plan_case *t = &cases[k];
        size_t n = 0;
        for (size_t i = 0; i < NELEM(t->s) && t->s[i].addr; i++)
            n += t->s[i].src && strcmp(t->s[i].src, P) == 0;
        if (t->rc) {
            noc = true;
            continue;
        }
        catchup |= strstr(t->plan, "catch-up ") != NULL;
        semisync |= strstr(t->plan, "semi-sync-source~ ") != NULL;
        unreach |= t->unreachable != NULL;
        lost_mdb |= t->flavor != MY && t->lost && *t->lost;
        lost_my |= t->flavor == MY && t->lost && *t->lost;
        five |= n >= 5;
    }
    CHECK(catchup && semisync && unreach && lost_mdb && lost_my && noc && five,
          "coverage: catchup %d semisync %d unreachable %d lost mdb %d lost mysql %d no-candidate %d five %d", catchup,
          semisync, unreach, lost_mdb, lost_my, noc, five);
}

/* ------------------------------------------------------------------------ */
/* Exact outputs of one plan: JSON fields, printed text, descriptions        */
/* ------------------------------------------------------------------------ */

static const plan_case *find_case(const char *name)
{
    for (size_t k = 0; k < NELEM(cases); k++)
        if (strcmp(cases[k].name, name) == 0)
            return &cases[k];
    fail_msg("no case %s", name);
    return NULL;
}

static void test_json_exact(void **state)
{
    run x;
    json_t *j, *steps, *s4;
    static const char *const kinds[] = {"stop-io", "wait-apply", "detach", "set-writable", "semi-sync-source",
                                        "repoint", "verify", "fence"};
    (void)state;
    run_case(find_case("semi-sync source step when the old primary had it enabled"), &x);
    assert_int_equal(x.rc, 0);
    j = plan_to_json(&x.p);
    assert_non_null(j);
    steps = json_object_get(j, "steps");
    assert_int_equal(json_array_size(steps), 8);
    for (size_t i = 0; i < 8; i++) {
        json_t *sj = json_array_get(steps, i);
        assert_string_equal(json_string_value(json_object_get(sj, "kind")), kinds[i]);
        assert_int_equal(json_integer_value(json_object_get(sj, "index")), (json_int_t)i + 1);
        /* point_of_no_return only on set-writable (index 4) */
        assert_int_equal(json_is_true(json_object_get(sj, "point_of_no_return")), i == 3);
        /* best effort: semi-sync, repoint, verify, fence */
        assert_int_equal(json_is_true(json_object_get(sj, "best_effort")), i >= 4);
    }
    s4 = json_array_get(steps, 1);
    assert_string_equal(json_string_value(json_object_get(s4, "target")), R2);
    assert_string_equal(json_string_value(json_object_get(s4, "gtid")), "0-1-15");
    assert_int_equal(json_integer_value(json_object_get(s4, "timeout_ms")), T_APPLY);
    assert_null(json_object_get(s4, "source"));
    assert_string_equal(json_string_value(json_object_get(s4, "description")), R2 "  until 0-1-15  (≤1111 ms)");
    s4 = json_array_get(steps, 5);
    assert_string_equal(json_string_value(json_object_get(s4, "target")), R3);
    assert_string_equal(json_string_value(json_object_get(s4, "source")), R2);
    assert_true(json_is_null(json_object_get(s4, "gtid")));
    assert_string_equal(json_string_value(json_object_get(s4, "description")),
                        R3 " → " R2 "  (≤2222 ms)  [best effort]");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "old_primary"), "flavor")), "mariadb");
    assert_string_equal(json_string_value(json_object_get(j, "expected_lost_gtids")), "");
    assert_true(json_is_null(json_object_get(j, "excluded")));
    assert_true(json_is_null(json_object_get(j, "unreachable")));
    assert_string_equal(json_string_value(json_object_get(j, "reason")), R2 " is the most advanced replica (has 0-1-15)");
    json_decref(j);
    free_run(&x);
}

static char *print_to_string(const plan_spec *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    plan_print(p, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_print_exact(void **state)
{
    run x;
    char *out;
    (void)state;
    run_case(find_case("simple 1+2 (MariaDB)"), &x);
    assert_int_equal(x.rc, 0);
    out = print_to_string(&x.p);
    assert_string_equal(out, "failover plan for cluster t\n"
                             "  old primary: 127.0.0.1:1  last seen at 0-1-15\n"
                             "  new primary: 127.0.0.1:2  has 0-1-15\n"
                             "  why: 127.0.0.1:2 is the most advanced replica (has 0-1-15)\n"
                             "   1. stop-io           127.0.0.1:3  (≤2222 ms)\n"
                             "   2. wait-apply        127.0.0.1:2  until 0-1-15  (≤1111 ms)\n"
                             "   3. detach            127.0.0.1:2  (≤2222 ms)\n"
                             "   4. set-writable      127.0.0.1:2  (≤2222 ms)  [point of no return]\n"
                             "   5. repoint           127.0.0.1:3 → 127.0.0.1:2  (≤2222 ms)  [best effort]\n"
                             "   6. verify            127.0.0.1:3  (≤2222 ms)  [best effort]\n"
                             "   7. fence             127.0.0.1:1  (≤3333 ms)  [best effort]\n"
                             "  transactions the old primary had that the new one lacks: none\n");
    free(out);
    free_run(&x);

    /* Catch-up line, excluded / unreachable sections, lost transactions. */
    run_case(find_case("catch-up + unreachable + semi-sync (MySQL)"), &x);
    assert_int_equal(x.rc, 0);
    out = print_to_string(&x.p);
    assert_non_null(strstr(out, "\n   4. catch-up          127.0.0.1:3 → 127.0.0.1:2  until " UA
                                ":1-30  (≤1111 ms)\n   5. wait-apply        127.0.0.1:3  (≤1111 ms)\n"));
    assert_non_null(strstr(out, "\n   8. semi-sync-source  127.0.0.1:3  (≤2222 ms)  [best effort]\n"));
    assert_non_null(strstr(out, "\n  excluded:\n    127.0.0.1:2: never-promote (listed in never_promote)\n"
                                "    127.0.0.1:4: unreachable (unreachable (error 2003: Connection refused))\n"
                                "  not repointed now:\n    127.0.0.1:4: unreachable, repointed when it comes back\n"));
    free(out);
    free_run(&x);

    run_case(find_case("lost GTIDs: old primary ahead of every replica (MariaDB)"), &x);
    out = print_to_string(&x.p);
    assert_non_null(strstr(out, "\n  transactions the old primary had that the new one lacks: 0-1-16..20\n"));
    free(out);
    free_run(&x);

    /* Unknown old position: no "last seen", no lost line. */
    run_case(find_case("no semi-sync step when the old primary had no snapshot (and nothing known lost)"), &x);
    out = print_to_string(&x.p);
    assert_non_null(strstr(out, "\n  old primary: 127.0.0.1:1\n"));
    assert_null(strstr(out, "transactions the old primary had"));
    free(out);
    free_run(&x);
}

/* Step descriptions, exact. */
static void check_describe(const plan_step *s, const char *want)
{
    char *d = plan_step_describe(s);
    assert_non_null(d);
    assert_string_equal(d, want);
    free(d);
}

static void test_describe(void **state)
{
    run x;
    (void)state;
    run_case(find_case("catch-up: the most advanced is delayed"), &x);
    assert_int_equal(x.rc, 0);
    check_describe(&x.p.v[3], R3 " → " R2 "  until 0-1-15  (≤1111 ms)");     /* catch-up */
    check_describe(&x.p.v[4], R3 "  (≤1111 ms)");                             /* wait-apply: no gtid */
    check_describe(&x.p.v[7], R4 " → " R3 "  (≤2222 ms)  [best effort]");     /* repoint */
    check_describe(&x.p.v[8], R4 "  (≤2222 ms)  [best effort]");              /* verify: no source shown */
    free_run(&x);
}

/* ------------------------------------------------------------------------ */
/* plan_single, invalid calls, names                                     */
/* ------------------------------------------------------------------------ */

static void test_single(void **state)
{
    const fx_srv v[] = {{P, .exec = "0-1-10"}, {R2, .exec = "0-1-12"}}; /* old primary back; R2 the new one */
    topo_cluster c;
    plan_spec p;
    char err[128] = "untouched", got[512], *out;
    json_t *j;
    (void)state;
    fx_build(&c, TOPO_FLAVOR_MARIADB, FX_IO_CONNECTING, v, NELEM(v));

    /* fence: no source */
    memset(&p, 0x5a, sizeof(p));
    assert_int_equal(plan_single("t", "after-care", PLAN_STEP_FENCE, c.v[0], NULL, 5000, &p, err, sizeof(err)), 0);
    render_plan(&p, got, sizeof(got));
    assert_string_equal(got, "fence " P);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].timeout_ms, 5000);
    assert_null(p.v[0].gtid);
    assert_string_equal(p.cluster, "t");
    assert_string_equal(p.kind, "after-care");
    assert_string_equal(topo_addr_str(&p.old_primary.addr, got, sizeof(got)), P);
    assert_int_equal(p.old_primary.flavor, TOPO_FLAVOR_MARIADB);
    assert_int_equal(p.old_primary.major, 10);
    assert_int_equal(p.new_primary.addr.host[0], '\0');
    assert_null(p.old_primary_gtid);
    assert_null(p.new_primary_gtid);
    assert_null(p.expected_lost_gtids);
    assert_null(p.excluded);
    assert_null(p.unreachable);
    assert_string_equal(p.reason, "");
    j = plan_to_json(&p);
    assert_int_equal(json_array_size(json_object_get(j, "steps")), 1);
    assert_true(json_is_null(json_object_get(j, "new_primary")));
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "after-care");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "steps"), 0), "kind")),
                        "fence");
    assert_true(json_is_false(json_object_get(json_array_get(json_object_get(j, "steps"), 0), "point_of_no_return")));
    json_decref(j);
    out = print_to_string(&p);
    assert_string_equal(out, "after-care plan for cluster t\n"
                             "  old primary: 127.0.0.1:1\n"
                             "   1. fence             127.0.0.1:1  (≤5000 ms)\n");
    free(out);
    plan_free(&p);

    /* rejoin: the old primary replicates from the new one */
    assert_int_equal(plan_single("t", "after-care", PLAN_STEP_REJOIN, c.v[0], c.v[1], 5000, &p, err, sizeof(err)),
                     0);
    render_plan(&p, got, sizeof(got));
    assert_string_equal(got, "rejoin " P ">" R2);
    assert_string_equal(topo_addr_str(&p.new_primary.addr, got, sizeof(got)), R2);
    assert_int_equal(p.v[0].source.flavor, TOPO_FLAVOR_MARIADB);
    check_describe(&p.v[0], P " → " R2 "  (≤5000 ms)");
    out = print_to_string(&p);
    assert_string_equal(out, "after-care plan for cluster t\n"
                             "  old primary: 127.0.0.1:1\n"
                             "  new primary: 127.0.0.1:2\n"
                             "   1. rejoin            127.0.0.1:1 → 127.0.0.1:2  (≤5000 ms)\n");
    free(out);
    j = plan_to_json(&p);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "steps"), 0), "source")),
                        R2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "new_primary"), "addr")), R2);
    json_decref(j);
    plan_free(&p);
    assert_string_equal(err, "untouched");

    /* Over-long cluster / kind names are cut, not overrun. */
    assert_int_equal(plan_single("a-cluster-name-that-is-much-longer-than-forty-seven-characters", "a-kind-longer-than-15",
                                      PLAN_STEP_FENCE, c.v[0], NULL, 1, &p, err, sizeof(err)),
                     0);
    assert_int_equal(strlen(p.cluster), sizeof(p.cluster) - 1);
    assert_string_equal(p.kind, "a-kind-longer-t");
    plan_free(&p);
    plan_free(&p); /* idempotent */
    plan_free(NULL);
    topo_cluster_free(&c);
}

static void test_invalid(void **state)
{
    const fx_srv v[] = {OLDP("0-1-10"), {R2, P, .exec = "0-1-10"}};
    topo_cluster c;
    cand_ranking r;
    plan_spec p;
    char err[256] = "";
    (void)state;
    fx_build(&c, TOPO_FLAVOR_MARIADB, FX_IO_CONNECTING, v, NELEM(v));
    assert_int_equal(cand_rank(&c, 0, NULL, &r, err, sizeof(err)), 0);
    assert_int_equal(r.chosen, 0);

    /* Bad old primary index. */
    assert_int_equal(plan_failover(&c, -1, &r, &OPTS, &p, err, sizeof(err)), -EINVAL);
    assert_int_equal(p.n, 0);
    assert_null(p.v);
    assert_int_equal(plan_failover(&c, 2, &r, &OPTS, &p, err, sizeof(err)), -EINVAL);
    /* No ranking. */
    assert_int_equal(plan_failover(&c, 0, NULL, &OPTS, &p, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "no promotion candidate: none eligible");
    /* err may be NULL with errlen 0. */
    assert_int_equal(plan_failover(&c, 0, NULL, &OPTS, &p, NULL, 0), -EINVAL);
    /* A chosen index out of the ranking. */
    r.chosen = (int)r.n;
    assert_int_equal(plan_failover(&c, 0, &r, &OPTS, &p, err, sizeof(err)), -EINVAL);
    r.chosen = 0;
    /* The same ranking plans fine; freeing twice is harmless. */
    assert_int_equal(plan_failover(&c, 0, &r, &OPTS, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 4);
    plan_free(&p);
    plan_free(&p);
    cand_ranking_free(&r);
    topo_cluster_free(&c);
}

/* ------------------------------------------------------------------------ */
/* A long-lived MySQL fleet: gtid_executed with 500 server UUIDs (~27 KB)   */
/* ------------------------------------------------------------------------ */

#define BIG_UUIDS 500

/* "uuid:1-N:N+2-M" for BIG_UUIDS UUIDs (each interval pair distinct), then extra; heap. */
static char *big_set(const char *extra)
{
    strbuf b = STRBUF_INIT;
    for (unsigned k = 0; k < BIG_UUIDS; k++)
        strbuf_printf(&b, "%s%08x-1111-4222-8333-%012x:1-%u:%u-%u", k ? "," : "", 0x10000000u + k, k * 7919u + 1,
                      100000u + k, 100002u + k, 9000000u + k * 13u);
    if (extra)
        strbuf_printf(&b, ",%s", extra);
    assert_int_equal(strbuf_error(&b), 0);
    return strbuf_steal(&b);
}

static void assert_same_set(const char *got, const char *want)
{
    gtid_set *a = NULL, *b = NULL;
    char err[256];
    assert_non_null(got);
    assert_int_equal(gtid_set_parse(GTID_KIND_MYSQL, got, &a, err, sizeof(err)), 0);
    assert_int_equal(gtid_set_parse(GTID_KIND_MYSQL, want, &b, err, sizeof(err)), 0);
    CHECK(gtid_set_equal(a, b), "sets differ: got %zu bytes, want %zu bytes", strlen(got), strlen(want));
    gtid_set_free(a);
    gtid_set_free(b);
}

static void test_large_mysql_set(void **state)
{
    char *old_set = big_set(UA ":1-51"), *r2_set = big_set(UA ":1-50"), *r3_set = big_set(UA ":1-49");
    fx_srv srv[4] = {{P, .down = true, .uuid = UA},
                   {R2, P, .io = UA ":40-50", .uuid = UB},
                   {R3, P, .io = UA ":40-49", .uuid = UC}};
    plan_case t = {.name = "500 UUIDs", .flavor = MY};
    run x;
    const plan_step *wait = NULL;
    char *d, *sql = NULL, err[256] = "", *json;
    json_t *j;
    (void)state;
    assert_true(strlen(old_set) > 25000);
    srv[0].exec = old_set;
    srv[1].exec = r2_set;
    srv[2].exec = r3_set;
    memcpy(t.s, srv, sizeof(srv));
    run_case(&t, &x);
    CHECK(x.rc == 0, "plan: %s", x.err);
    assert_string_equal(topo_addr_str(&x.p.new_primary.addr, err, sizeof(err)), R2);
    /* The plan keeps every position whole. */
    assert_string_equal(x.p.old_primary_gtid, old_set);
    assert_same_set(x.p.new_primary_gtid, r2_set);
    assert_string_equal(x.p.expected_lost_gtids, UA ":51");
    for (size_t i = 0; i < x.p.n; i++)
        if (x.p.v[i].kind == PLAN_STEP_WAIT_APPLY)
            wait = &x.p.v[i];
    assert_non_null(wait);
    assert_same_set(wait->gtid, r2_set);
    /* Description, JSON and printed plan carry it whole. */
    d = plan_step_describe(wait);
    assert_non_null(d);
    assert_non_null(strstr(d, wait->gtid));
    free(d);
    j = plan_to_json(&x.p);
    json = json_dumps(j, JSON_COMPACT);
    assert_non_null(json);
    assert_non_null(strstr(json, old_set));
    free(json);
    json_decref(j);
    json = print_to_string(&x.p);
    assert_non_null(strstr(json, old_set));
    assert_non_null(strstr(json, wait->gtid));
    free(json);
    /* The wait statement holds the whole set (MySQL: WAIT_FOR_EXECUTED_GTID_SET). */
    assert_int_equal(dialect_sql_wait_gtid(TOPO_FLAVOR_MYSQL, wait->gtid, 12.5, &sql, err, sizeof(err)), 0);
    assert_int_equal(strncmp(sql, "SELECT WAIT_FOR_EXECUTED_GTID_SET('", 35), 0);
    assert_int_equal(strncmp(sql + 35, wait->gtid, strlen(wait->gtid)), 0);
    assert_string_equal(sql + 35 + strlen(wait->gtid), "', 12.500)");
    free(sql);
    /* A deep copy (what the worker runs) is whole too. */
    {
        plan_spec cp;
        assert_int_equal(plan_copy(&cp, &x.p), 0);
        assert_string_equal(cp.old_primary_gtid, old_set);
        for (size_t i = 0; i < cp.n; i++)
            if (x.p.v[i].gtid)
                assert_string_equal(cp.v[i].gtid, x.p.v[i].gtid);
        plan_free(&cp);
    }
    free_run(&x);
    free(old_set);
    free(r2_set);
    free(r3_set);
}

static void test_step_names(void **state)
{
    static const struct {
        plan_step_kind k;
        const char *name;
    } t[] = {
        {PLAN_STEP_STOP_IO, "stop-io"},       {PLAN_STEP_WAIT_APPLY, "wait-apply"},
        {PLAN_STEP_CATCH_UP, "catch-up"},     {PLAN_STEP_DETACH, "detach"},
        {PLAN_STEP_SET_WRITABLE, "set-writable"}, {PLAN_STEP_SEMI_SYNC_SOURCE, "semi-sync-source"},
        {PLAN_STEP_REPOINT, "repoint"},       {PLAN_STEP_VERIFY, "verify"},
        {PLAN_STEP_FENCE, "fence"},           {PLAN_STEP_START_IO, "start-io"},
        {PLAN_STEP_REJOIN, "rejoin"},         {PLAN_STEP_CHECK_TRX, "check-trx"},
        {PLAN_STEP_DEMOTE, "demote"},         {PLAN_STEP_WAIT_CAUGHT_UP, "wait-caught-up"},
        {PLAN_STEP_UNDEMOTE, "undemote"},     {PLAN_STEP_HOOK, "hook"},
        {PLAN_STEP_CHECK_SOURCE, "check-source"},
    };
    (void)state;
    for (size_t k = 0; k < NELEM(t); k++)
        assert_string_equal(plan_step_name(t[k].k), t[k].name);
    /* Every kind up to the last one is in the table above. */
    assert_int_equal(NELEM(t), PLAN_STEP_CHECK_SOURCE + 1);
    for (size_t k = 0; k < NELEM(t); k++)
        assert_int_equal(t[k].k, (plan_step_kind)k);
    assert_string_equal(plan_step_name((plan_step_kind)(PLAN_STEP_CHECK_SOURCE + 1)), "?");
    assert_string_equal(plan_step_name((plan_step_kind)99), "?");
    assert_string_equal(plan_step_name((plan_step_kind)-1), "?");
}

/* plan_source_refuses: the replica's own error texts (MariaDB 10.11.19 from the lab, MySQL 8.x's form). */
static void test_source_refuses(void **state)
{
    static const struct {
        const char *name;
        bool present;
        topo_thread_state io;
        unsigned errno_;
        const char *text;
        bool want;
    } rows[] = {
        {"MariaDB, source killed", true, TOPO_THREAD_CONNECTING, 2003,
         "error reconnecting to master 'repl@127.0.0.1:24306' - retry-time: 1  maximum-retries: 100000  message: "
         "Can't connect to server on '127.0.0.1' (111 \"Connection refused\")", true},
        {"MySQL, source killed", true, TOPO_THREAD_CONNECTING, 2003,
         "error reconnecting to source 'repl@db1:3306' - retry-time: 60 retries: 1 message: Can't connect to MySQL "
         "server on 'db1:3306' (111)", true},
        {"IO thread stopped with the error", true, TOPO_THREAD_NO, 2003,
         "error connecting to master 'repl@db1:3306' - retry-time: 60  maximum-retries: 86400  message: Can't "
         "connect to server on 'db1' (111 \"Connection refused\")", true},
        {"connected again: the error is old", true, TOPO_THREAD_YES, 2003, "Can't connect to server on 'db1' (111)", false},
        {"no error yet (reconnecting after a failed read)", true, TOPO_THREAD_CONNECTING, 0, NULL, false},
        {"timed out: the source may hang", true, TOPO_THREAD_CONNECTING, 2003,
         "Can't connect to server on 'db1' (110 \"Connection timed out\")", false},
        {"no route: the host may be down", true, TOPO_THREAD_CONNECTING, 2003,
         "Can't connect to MySQL server on 'db1:3306' (113)", false},
        {"lost mid-read", true, TOPO_THREAD_CONNECTING, 2013, "Lost connection to server during query (111)", false},
        {"not a replica", false, TOPO_THREAD_NO, 2003, "(111)", false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        topo_replica_status r;
        memset(&r, 0, sizeof(r));
        r.present = rows[i].present;
        r.io_state = rows[i].io;
        r.last_io_errno = rows[i].errno_;
        r.last_io_error = (char *)rows[i].text;
        if (plan_source_refuses(&r) != rows[i].want)
            fail_msg("[%s] expected %d", rows[i].name, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_refuses),
        cmocka_unit_test(test_cases),       cmocka_unit_test(test_table_coverage), cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_print_exact), cmocka_unit_test(test_describe),       cmocka_unit_test(test_single),
        cmocka_unit_test(test_invalid),     cmocka_unit_test(test_step_names),     cmocka_unit_test(test_large_mysql_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
