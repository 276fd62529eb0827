/*
 * tests/unit/test_report.c — availability report figures on recorded timelines, table-driven.
 * Every expected number below is worked out by hand in the row's comment.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "orchestrator/decide/report.h"

#define U REP_UP
#define D REP_DOWN
#define P REP_PLANNED
#define X REP_UNMONITORED

typedef struct {
    const char *name;
    rep_point pts[10];
    size_t n;
    int64_t since, now;
    double sla;
    bool counts_planned;
    int rc;
    int64_t up, down, planned, sla_down;
    int failures, periods, blocks;
    double avail, mtbf, mttr, model, budget, left;
} row;

#define YES .counts_planned = true
#define NO .counts_planned = false

static const row rows[] = {
    {"always up", {{0, U}}, 1, 0, 100000, 99.9, YES, 0, .up = 100000, .avail = 100.0, .mtbf = -1, .mttr = -1,
     .model = -1, .budget = 0.1, .left = 0.1},
    /* 10 s down in 1000 s: A 99 %, MTBF 990 s, MTTR 10 s, budget 0.05 % of 1000 s = 0.5 s */
    {"one outage of 10 s in 1000 s", {{0, U}, {500000, D}, {510000, U}}, 3, 0, 1000000, 99.95, YES, 0,
     .up = 990000, .down = 10000, .sla_down = 10000, .failures = 1, .periods = 1, .avail = 99.0, .mtbf = 990.0,
     .mttr = 10.0, .model = 99.0, .budget = 0.5, .left = -9.5},
    {"two outages", {{0, U}, {100000, D}, {102000, U}, {300000, D}, {306000, U}}, 5, 0, 400000, 99.0, YES, 0,
     .up = 392000, .down = 8000, .sla_down = 8000, .failures = 2, .periods = 2, .avail = 98.0, .mtbf = 196.0,
     .mttr = 4.0, .model = 98.0, .budget = 4.0, .left = -4.0},
    {"unmonitored gap excluded", {{0, U}, {100000, X}, {200000, U}}, 3, 0, 300000, 99.9, YES, 0, .up = 200000,
     .avail = 100.0, .mtbf = -1, .mttr = -1, .model = -1, .budget = 0.2, .left = 0.2},
    {"window starts inside an outage", {{0, U}, {50000, D}, {70000, U}}, 3, 60000, 160000, 99.0, YES, 0,
     .up = 90000, .down = 10000, .sla_down = 10000, .periods = 1, .avail = 90.0, .mtbf = -1, .mttr = 10.0,
     .model = -1, .budget = 1.0, .left = -9.0},
    {"outage still open", {{0, U}, {90000, D}}, 2, 0, 100000, 99.0, YES, 0, .up = 90000, .down = 10000,
     .sla_down = 10000, .failures = 1, .periods = 1, .avail = 90.0, .mtbf = 90.0, .mttr = 10.0, .model = 90.0,
     .budget = 1.0, .left = -9.0},
    {"since after now", {{0, U}}, 1, 10, 5, 99.0, YES, -EINVAL},
    {"target 100 refused", {{0, U}}, 1, 0, 5, 100.0, YES, -EINVAL},
    {"unsorted refused", {{10, U}, {5, D}}, 2, 0, 20, 99.0, YES, -EINVAL},
    {"unknown state refused", {{0, U}, {5, 7}}, 2, 0, 20, 99.0, YES, -EINVAL},
    {"nothing monitored", {{0, X}}, 1, 0, 1000, 99.0, YES, 0, .avail = -1, .mtbf = -1, .mttr = -1, .model = -1},

    /* The demo: one automatic failover (412 ms without a writable primary) and one planned
     * switchover (42 ms of refused writes) in 1000 s, SLA 99.9 % (budget 1 s).
     *   counted: SLA down 454 ms → A = 999546/1000000 = 99.9546 %, budget left 1 − 0.454 = 0.546 s
     *   MTBF = up 999.546 s / 1 failure, MTTR = 0.412 s / 1 outage,
     *   model = 999.546 / (999.546 + 0.412) = 99.958781... % */
    {"demo: failover and switchover, planned counted",
     {{0, U}, {300000, D}, {300412, U}, {600000, P}, {600042, U}}, 5, 0, 1000000, 99.9, YES, 0, .up = 999546,
     .down = 412, .planned = 42, .sla_down = 454, .failures = 1, .periods = 1, .blocks = 1, .avail = 99.9546,
     .mtbf = 999.546, .mttr = 0.412, .model = 100.0 * 999.546 / (999.546 + 0.412), .budget = 1.0, .left = 0.546},
    /*   not counted: SLA down 412 ms → A = 99.9588 %, budget left 0.588 s; λ, MTBF, MTTR unchanged */
    {"demo: failover and switchover, planned not counted",
     {{0, U}, {300000, D}, {300412, U}, {600000, P}, {600042, U}}, 5, 0, 1000000, 99.9, NO, 0, .up = 999546,
     .down = 412, .planned = 42, .sla_down = 412, .failures = 1, .periods = 1, .blocks = 1, .avail = 99.9588,
     .mtbf = 999.546, .mttr = 0.412, .model = 100.0 * 999.546 / (999.546 + 0.412), .budget = 1.0, .left = 0.588},
    /* Switchovers only: no failure, no MTBF/MTTR, but the SLA sees 3 × 50 ms of 100 s = 0.15 %. */
    {"three switchovers, no failure", {{0, U}, {10000, P}, {10050, U}, {20000, P}, {20050, U}, {30000, P},
     {30050, U}}, 7, 0, 100000, 99.9, YES, 0, .up = 99850, .planned = 150, .sla_down = 150, .blocks = 3,
     .avail = 99.85, .mtbf = -1, .mttr = -1, .model = -1, .budget = 0.1, .left = -0.05},
    /* A switchover that ends with no writable primary: 50 ms planned, then 5 s unplanned from its end
     * (planned → down is a failure); MTBF = 194.95 s up / 1, MTTR 5 s. */
    {"switchover ending in an outage", {{0, U}, {100000, P}, {100050, D}, {105050, U}}, 4, 0, 200000, 99.0, YES, 0,
     .up = 194950, .down = 5000, .planned = 50, .sla_down = 5050, .failures = 1, .periods = 1, .blocks = 1,
     .avail = 100.0 * (200000 - 5050) / 200000, .mtbf = 194.95, .mttr = 5.0, .model = 100.0 * 194.95 / 199.95,
     .budget = 2.0, .left = 2.0 - 5.05},
    /* The window starts 50 ms into a 100 ms planned block: 50 ms of it and one block are in. */
    {"window starts inside a planned block", {{0, U}, {50000, P}, {50100, U}}, 3, 50050, 60050, 99.0, NO, 0,
     .up = 9950, .planned = 50, .blocks = 1, .avail = 100.0, .mtbf = -1, .mttr = -1, .model = -1, .budget = 0.1,
     .left = 0.1},
    /* The controller stopped during a planned block and found no primary when it came back: the
     * outage after the gap is a failure (planned → unmonitored → down). */
    {"planned, unmonitored, then down", {{0, U}, {1000, P}, {1200, X}, {5000, D}, {6000, U}}, 5, 0, 10000, 99.0, YES,
     0, .up = 5000, .down = 1000, .planned = 200, .sla_down = 1200, .failures = 1, .periods = 1, .blocks = 1,
     .avail = 100.0 * (6200 - 1200) / 6200, .mtbf = 5.0, .mttr = 1.0, .model = 100.0 * 5.0 / 6.0, .budget = 0.062,
     .left = 0.062 - 1.2},
};

static void close_to(double got, double want, const char *what, const char *name)
{
    if (fabs(got - want) > 1e-6) {
        print_error("[%s] %s: got %.9f, want %.9f\n", name, what, got, want);
        fail();
    }
}

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *t = &rows[i];
        rep_report r;
        int rc = rep_compute(t->pts, t->n, t->since, t->now, t->sla, t->counts_planned, &r);
        if (rc != t->rc)
            fail_msg("[%s] rc %d, want %d", t->name, rc, t->rc);
        if (rc)
            continue;
        if (r.up_ms != t->up || r.down_ms != t->down || r.planned_ms != t->planned || r.sla_down_ms != t->sla_down ||
            r.failures != t->failures || r.down_periods != t->periods || r.planned_blocks != t->blocks)
            fail_msg("[%s] up %lld down %lld planned %lld sla_down %lld failures %d periods %d blocks %d; want "
                     "%lld %lld %lld %lld %d %d %d",
                     t->name, (long long)r.up_ms, (long long)r.down_ms, (long long)r.planned_ms,
                     (long long)r.sla_down_ms, r.failures, r.down_periods, r.planned_blocks, (long long)t->up,
                     (long long)t->down, (long long)t->planned, (long long)t->sla_down, t->failures, t->periods,
                     t->blocks);
        assert_int_equal(r.monitored_ms, t->up + t->down + t->planned);
        close_to(r.availability_pct, t->avail, "availability", t->name);
        close_to(r.mtbf_s, t->mtbf, "mtbf", t->name);
        close_to(r.mttr_s, t->mttr, "mttr", t->name);
        close_to(r.model_pct, t->model, "model", t->name);
        close_to(r.budget_s, t->budget, "budget", t->name);
        close_to(r.budget_left_s, t->left, "budget left", t->name);
    }
}

static void test_durations(void **state)
{
    static const struct {
        double ms;
        const char *want;
    } t[] = {
        {0, "0 ms"},           {0.9, "0 ms"},         {42, "42 ms"},          {412, "412 ms"},
        {999.9, "999 ms"},     {1000, "1.000 s"},     {1042, "1.042 s"},      {12345, "12.345 s"},
        {119999, "119.999 s"}, {120000, "2.0 min"},   {7199999, "120.0 min"}, {7200000, "2.0 h"},
        {172800000, "2.0 d"},  {-1, "-"},             {NAN, "-"},
    };
    char buf[24], small[4];
    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_string_equal(rep_fmt_ms(t[i].ms, buf, sizeof(buf)), t[i].want);
    /* Too small a buffer: nothing, never a cut number. */
    assert_string_equal(rep_fmt_ms(412, small, sizeof(small)), "");
    assert_string_equal(rep_fmt_ms(42, small, sizeof(small)), "");
    assert_string_equal(rep_fmt_ms(1, small, sizeof(small)), "");
    assert_string_equal(rep_fmt_ms(1, buf, 0), "");
}

static void test_state_names(void **state)
{
    (void)state;
    for (int s = REP_UNMONITORED; s <= REP_PLANNED; s++)
        assert_int_equal(rep_state_of(rep_state_name(s)), s);
    assert_string_equal(rep_state_name(REP_PLANNED), "planned");
    assert_int_equal(rep_state_of("bogus"), REP_UNMONITORED);
    assert_int_equal(rep_state_of(NULL), REP_UNMONITORED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows), cmocka_unit_test(test_durations),
                                       cmocka_unit_test(test_state_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
