/*
 * tests/unit/test_quorum.c — the majority rule (orchestrator/decide/quorum.{h,c}), one row per
 * situation of README "Quorum": 2-, 3- and 5-server clusters, one and three controllers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "orchestrator/decide/quorum.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *situation;
    size_t servers, on_side, controllers, agreeing;
    bool off;
    bool act;
    size_t votes, voters, needed;
} row;

static const row rows[] = {
    /* one controller (coordination = none) */
    {"2 servers: primary dies alone", 2, 1, 1, 1, false, true, 2, 3, 2},
    {"2 servers: primary and replica cut from the controller", 2, 0, 1, 1, false, false, 1, 3, 2},
    {"3 servers: primary dies alone", 3, 2, 1, 1, false, true, 3, 4, 3},
    {"3 servers: zone split {P,R} | {controller,R}", 3, 1, 1, 1, false, false, 2, 4, 3},
    {"3 servers: primary and one replica crash together", 3, 1, 1, 1, false, false, 2, 4, 3},
    {"3 servers: zone split, failover_quorum = none", 3, 1, 1, 1, true, true, 2, 4, 3},
    {"5 servers: primary dies alone", 5, 4, 1, 1, false, true, 5, 6, 4},
    {"5 servers: primary + 1 replica lost", 5, 3, 1, 1, false, true, 4, 6, 4},
    {"5 servers: zone split {P,R,R} | {controller,R,R}", 5, 2, 1, 1, false, false, 3, 6, 4},
    {"5 servers: primary + 3 replicas lost", 5, 1, 1, 1, false, false, 2, 6, 4},
    /* three controllers (coordination = etcd): the controllers' quorum comes on top */
    {"2 servers, 3 controllers: primary dies alone", 2, 1, 3, 3, false, true, 4, 5, 3},
    {"2 servers, 3 controllers: one controller down, primary dies", 2, 1, 3, 2, false, true, 3, 5, 3},
    {"2 servers, 3 controllers: only this controller lost the primary", 2, 1, 3, 1, false, false, 2, 5, 3},
    {"3 servers, 3 controllers: primary dies alone", 3, 2, 3, 3, false, true, 5, 6, 4},
    {"3 servers, 3 controllers: zone split {P,R,C} | {C,C,R}", 3, 1, 3, 2, false, false, 3, 6, 4},
    {"3 servers, 3 controllers: one controller down, primary dies", 3, 2, 3, 2, false, true, 4, 6, 4},
    {"5 servers, 3 controllers: primary dies alone", 5, 4, 3, 3, false, true, 7, 8, 5},
    {"5 servers, 3 controllers: zone split {P,R,R,C} | {C,C,R,R}", 5, 2, 3, 2, false, false, 4, 8, 5},
    {"5 servers, 3 controllers: primary + 1 replica lost, all controllers agree", 5, 3, 3, 3, false, true, 6, 8, 5},
    /* the controllers' own majority is required even with every replica on side */
    {"3 servers, 3 controllers: 1 controller agrees, every replica on side", 3, 2, 3, 1, false, false, 0, 0, 0},
};

static void test_rows(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(rows); k++) {
        const row *r = &rows[k];
        quorum_input in = {.servers = r->servers, .replicas_on_side = r->on_side, .controllers = r->controllers,
                           .controllers_agreeing = r->agreeing, .off = r->off};
        quorum_verdict v;
        memset(&v, 0x5a, sizeof(v));
        quorum_decide(&in, &v);
        if (v.majority != r->act) {
            print_error("[%s] majority=%d, expected %d (%s)\n", r->situation, v.majority, r->act, v.why);
            fail();
        }
        if (r->voters && (v.votes != r->votes || v.voters != r->voters || v.needed != r->needed)) {
            print_error("[%s] %zu/%zu votes, %zu needed; expected %zu/%zu, %zu (%s)\n", r->situation, v.votes,
                        v.voters, v.needed, r->votes, r->voters, r->needed, v.why);
            fail();
        }
        assert_true(strlen(v.why) > 0);
    }
}

static void test_reason_texts(void **state)
{
    quorum_verdict v;
    quorum_input zone = {.servers = 3, .replicas_on_side = 1, .controllers = 1, .controllers_agreeing = 1};
    quorum_input ctl = {.servers = 3, .replicas_on_side = 2, .controllers = 3, .controllers_agreeing = 1};
    (void)state;
    quorum_decide(&zone, &v);
    assert_string_equal(v.why, "2 of 4 voters on this side (1 controller, 1 replica), 3 needed");
    quorum_decide(&ctl, &v);
    assert_string_equal(v.why, "1 of 3 controllers see the primary dead, 2 needed");
}

static void test_inconsistent_input(void **state)
{
    quorum_verdict v;
    quorum_input bad[] = {
        {.servers = 3, .replicas_on_side = 1, .controllers = 0, .controllers_agreeing = 0},
        {.servers = 3, .replicas_on_side = 1, .controllers = 1, .controllers_agreeing = 2},
        {.servers = 3, .replicas_on_side = 3, .controllers = 1, .controllers_agreeing = 1},
        {.servers = 0, .replicas_on_side = 0, .controllers = 1, .controllers_agreeing = 1, .off = true},
    };
    (void)state;
    for (size_t k = 0; k < NELEM(bad); k++) {
        quorum_decide(&bad[k], &v);
        assert_false(v.majority);
        assert_non_null(strstr(v.why, "inconsistent"));
    }
    quorum_decide(NULL, &v);
    assert_false(v.majority);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_reason_texts),
        cmocka_unit_test(test_inconsistent_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
