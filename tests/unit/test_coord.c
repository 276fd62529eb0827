/*
 * tests/unit/test_coord.c — controller coordination decisions (orchestrator/decide/coord.{h,c}):
 * the detection quorum over published views, one row per situation, and self-fencing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "orchestrator/decide/coord.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FRESH 3000

/* A compact view: L = lease alive, V = has a view, age, R = primary reachable. */
typedef struct {
    bool lease, view;
    int64_t age;
    bool reachable;
} v4;

typedef struct {
    const char *situation;
    int quorum;              /* 0 majority, N */
    size_t n;
    v4 v[5];                 /* v[0] is this controller */
    bool agree;
    size_t live, fresh, votes, needed;
} row;

#define DEAD(age) {true, true, age, false}
#define UP(age) {true, true, age, true}
#define GONE {false, false, 0, false}
#define STALE_DEAD {true, true, FRESH + 1, false}
#define NOVIEW {true, false, 0, false}

static const row rows[] = {
    {"1 controller sees the primary dead", 0, 1, {DEAD(0)}, true, 1, 1, 1, 1},
    {"1 controller sees the primary up", 0, 1, {UP(0)}, false, 1, 1, 0, 1},
    {"3 controllers all see it dead", 0, 3, {DEAD(10), DEAD(200), DEAD(2999)}, true, 3, 3, 3, 2},
    {"3 controllers, 2 see it dead", 0, 3, {DEAD(10), DEAD(200), UP(100)}, true, 3, 3, 2, 2},
    {"3 controllers, only this one sees it dead (cut from the primary)", 0, 3, {DEAD(0), UP(0), UP(0)}, false, 3, 3,
     1, 2},
    {"3 controllers, this one sees it up", 0, 3, {UP(0), DEAD(0), DEAD(0)}, false, 3, 3, 2, 2},
    {"3 controllers, one down (lease expired), 2 see it dead", 0, 3, {DEAD(0), DEAD(0), GONE}, true, 2, 2, 2, 2},
    {"3 controllers, one down, the other sees it up", 0, 3, {DEAD(0), UP(0), GONE}, false, 2, 2, 1, 2},
    {"3 controllers, two down: this one alone is a majority of the live", 0, 3, {DEAD(0), GONE, GONE}, true, 1, 1, 1,
     1},
    {"3 controllers, the other dead vote is stale", 0, 3, {DEAD(0), STALE_DEAD, UP(0)}, false, 3, 2, 1, 2},
    {"3 controllers, one live without a view of the cluster", 0, 3, {DEAD(0), NOVIEW, DEAD(0)}, true, 3, 2, 2, 2},
    {"3 controllers, this one's own view is stale", 0, 3, {STALE_DEAD, DEAD(0), DEAD(0)}, false, 3, 2, 2, 2},
    {"this controller's lease is gone", 0, 3, {{false, true, 0, false}, DEAD(0), DEAD(0)}, false, 2, 2, 2, 2},
    {"5 controllers, 3 see it dead", 0, 5, {DEAD(0), DEAD(0), DEAD(0), UP(0), UP(0)}, true, 5, 5, 3, 3},
    {"5 controllers, 2 see it dead", 0, 5, {DEAD(0), DEAD(0), UP(0), UP(0), UP(0)}, false, 5, 5, 2, 3},
    {"4 controllers, 2 see it dead (half is not a majority)", 0, 4, {DEAD(0), DEAD(0), UP(0), UP(0)}, false, 4, 4, 2,
     3},
    {"detection_quorum = 2, 3 controllers, 2 see it dead", 2, 3, {DEAD(0), DEAD(0), UP(0)}, true, 3, 3, 2, 2},
    {"detection_quorum = 3, 3 controllers, 2 see it dead", 3, 3, {DEAD(0), DEAD(0), UP(0)}, false, 3, 3, 2, 3},
    {"detection_quorum = 1: this controller alone", 1, 3, {DEAD(0), UP(0), UP(0)}, true, 3, 3, 1, 1},
    {"detection_quorum = 3 but only 2 controllers live", 3, 3, {DEAD(0), DEAD(0), GONE}, false, 2, 2, 2, 3},
};

static const char *names[] = {"c1", "c2", "c3", "c4", "c5"};

static void test_rows(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(rows); k++) {
        const row *r = &rows[k];
        coord_view views[5];
        coord_input in = {.views = views, .n_views = r->n, .self = "c1", .fresh_ms = FRESH,
                          .detection_quorum = r->quorum};
        coord_verdict out;
        for (size_t i = 0; i < r->n; i++)
            views[i] = (coord_view){.name = names[i], .lease_alive = r->v[i].lease, .has_view = r->v[i].view,
                                    .age_ms = r->v[i].age, .primary_reachable = r->v[i].reachable,
                                    .replicas_seen = 2, .replicas_confirming = r->v[i].reachable ? 0 : 2};
        memset(&out, 0x5a, sizeof(out));
        coord_detect(&in, &out);
        if (out.agree != r->agree || out.live != r->live || out.fresh != r->fresh || out.dead_votes != r->votes ||
            out.needed != r->needed)
            fail_msg("row %zu '%s': agree %d live %zu fresh %zu votes %zu needed %zu (%s)", k, r->situation,
                     out.agree, out.live, out.fresh, out.dead_votes, out.needed, out.why);
        assert_true(out.why[0] != '\0');
    }
}

static void test_reason_texts(void **state)
{
    coord_view v[3] = {
        {.name = "a", .lease_alive = true, .has_view = true, .primary_reachable = false},
        {.name = "b", .lease_alive = true, .has_view = true, .primary_reachable = true},
        {.name = "c", .lease_alive = true, .has_view = true, .primary_reachable = false},
    };
    coord_input in = {.views = v, .n_views = 3, .self = "a", .fresh_ms = 1000};
    coord_verdict out;
    (void)state;
    coord_detect(&in, &out);
    assert_true(out.agree);
    assert_string_equal(out.why, "2 of 3 live controllers see the primary dead (3 fresh views), 2 needed");
    in.self = "b";
    coord_detect(&in, &out);
    assert_false(out.agree);
    assert_string_equal(out.why, "this controller does not see the primary dead");
    in.self = "a";
    in.detection_quorum = 4;
    coord_detect(&in, &out);
    assert_false(out.agree);
    assert_string_equal(out.why, "detection_quorum = 4 but only 3 controllers are live");
}

static void test_inconsistent(void **state)
{
    coord_view twice[2] = {{.name = "a", .lease_alive = true, .has_view = true},
                           {.name = "a", .lease_alive = true, .has_view = true}};
    coord_view one = {.name = "a", .lease_alive = true, .has_view = true, .replicas_seen = 1,
                      .replicas_confirming = 2};
    coord_view other = {.name = "b", .lease_alive = true, .has_view = true};
    coord_input bad[] = {
        {.views = twice, .n_views = 2, .self = "a", .fresh_ms = 1000},
        {.views = &one, .n_views = 1, .self = "a", .fresh_ms = 1000},
        {.views = &other, .n_views = 1, .self = "a", .fresh_ms = 1000},
        {.views = &other, .n_views = 1, .self = "b", .fresh_ms = 0},
        {.views = NULL, .n_views = 0, .self = "b", .fresh_ms = 1000},
    };
    coord_verdict out;
    (void)state;
    for (size_t k = 0; k < NELEM(bad); k++) {
        coord_detect(&bad[k], &out);
        assert_false(out.agree);
        if (!strstr(out.why, "inconsistent"))
            fail_msg("input %zu: %s", k, out.why);
    }
    coord_detect(NULL, &out);
    assert_false(out.agree);
}

static void test_self_fencing(void **state)
{
    static const struct {
        int64_t sent, now, ttl;
        bool safe;
        int64_t left;
    } t[] = {
        {0, 100, 5000, false, 0},            /* never succeeded */
        {1000, 1000, 5000, true, 3750},      /* margin 1250 = ttl / 4 */
        {1000, 4749, 5000, true, 1},
        {1000, 4750, 5000, false, 0},        /* stops acting 1250 ms before etcd could expire the lease */
        {1000, 9000, 5000, false, -4250},
        {1000, 1000, 2000, true, 1500},      /* margin at least 500 ms */
        {1000, 1000, 600, true, 300},        /* ... but at most half the TTL */
        {1000, 900, 5000, false, 0},         /* clock before the send: not trusted */
    };
    (void)state;
    for (size_t k = 0; k < NELEM(t); k++) {
        if (coord_lease_safe(t[k].sent, t[k].now, t[k].ttl) != t[k].safe ||
            coord_lease_left_ms(t[k].sent, t[k].now, t[k].ttl) != t[k].left)
            fail_msg("row %zu: safe %d left %lld", k, coord_lease_safe(t[k].sent, t[k].now, t[k].ttl),
                     (long long)coord_lease_left_ms(t[k].sent, t[k].now, t[k].ttl));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_reason_texts),
        cmocka_unit_test(test_inconsistent),
        cmocka_unit_test(test_self_fencing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
