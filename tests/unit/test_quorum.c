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

/* Who votes (quorum_controllers_voting), then whether the lock holder may act with them. */
#define DAY_MS (86400 * 1000LL)
#define NOW_MS (10 * DAY_MS)

typedef struct {
    const char *situation;
    int64_t ago_ms[4];           /* since each remembered controller was last seen live (-1: none) */
    size_t live;                 /* live controllers now, this one included */
    int64_t forget_ms;
    size_t voting;               /* expected voters */
    size_t servers, on_side, agreeing;
    bool act;                    /* expected verdict of quorum_decide with those voters */
} voter_row;

static const voter_row voter_rows[] = {
    {"3 controllers, all live", {0, 0, 0, -1}, 3, DAY_MS, 3, 3, 2, 3, true},
    {"one crashed a minute ago: still a voter (does not agree)", {0, 0, 60000, -1}, 2, DAY_MS, 3, 3, 2, 2, true},
    {"zone split an hour ago: the far two still vote", {0, 3600000, 3600000, -1}, 1, DAY_MS, 3, 3, 2, 1, false},
    {"2 controllers, one decommissioned an hour ago: still a voter, no failover", {0, 3600000, -1, -1}, 1, DAY_MS,
     2, 3, 2, 1, false},
    {"2 controllers, one decommissioned two days ago: forgotten, the other acts", {0, 2 * DAY_MS, -1, -1}, 1, DAY_MS,
     1, 3, 2, 1, true},
    {"3 controllers, one decommissioned two days ago: 2 voters", {0, 0, 2 * DAY_MS, -1}, 2, DAY_MS, 2, 3, 2, 2, true},
    {"exactly forget_ms ago: forgotten", {0, DAY_MS, -1, -1}, 1, DAY_MS, 1, 3, 2, 1, true},
    {"1 ms short of forget_ms: still a voter", {0, DAY_MS - 1, -1, -1}, 1, DAY_MS, 2, 3, 2, 1, false},
    {"forget_ms 0: never forgotten", {0, 9 * DAY_MS, -1, -1}, 1, 0, 2, 3, 2, 1, false},
    {"a time in the future (clock reading order): not forgotten", {0, -5000, -1, -1}, 1, DAY_MS, 2, 3, 2, 1, false},
    {"fewer remembered than live (not read yet): the live ones vote", {0, -1, -1, -1}, 3, DAY_MS, 3, 3, 2, 2, true},
    {"nothing remembered, nothing live: one voter (this one)", {-1, -1, -1, -1}, 0, DAY_MS, 1, 3, 2, 1, true},
};

static void test_voters(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(voter_rows); k++) {
        const voter_row *r = &voter_rows[k];
        int64_t seen[4];
        size_t n = 0, voting;
        quorum_verdict v;
        for (size_t i = 0; i < 4; i++)
            if (r->ago_ms[i] != -1)
                seen[n++] = r->ago_ms[i] == -5000 ? NOW_MS + 5000 : NOW_MS - r->ago_ms[i];
        voting = quorum_controllers_voting(seen, n, r->live, NOW_MS, r->forget_ms);
        if (voting != r->voting) {
            print_error("[%s] %zu voting, expected %zu\n", r->situation, voting, r->voting);
            fail();
        }
        quorum_decide(&(quorum_input){.servers = r->servers, .replicas_on_side = r->on_side, .controllers = voting,
                                      .controllers_agreeing = r->agreeing},
                      &v);
        if (v.majority != r->act) {
            print_error("[%s] majority=%d, expected %d (%s)\n", r->situation, v.majority, r->act, v.why);
            fail();
        }
    }
    assert_false(quorum_voter_forgotten(NOW_MS - DAY_MS + 1, NOW_MS, DAY_MS));
    assert_true(quorum_voter_forgotten(NOW_MS - DAY_MS, NOW_MS, DAY_MS));
    assert_false(quorum_voter_forgotten(NOW_MS - 9 * DAY_MS, NOW_MS, 0));
    assert_int_equal(quorum_controllers_voting(NULL, 3, 2, NOW_MS, DAY_MS), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_reason_texts),
        cmocka_unit_test(test_inconsistent_input),
        cmocka_unit_test(test_voters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
