/* tests/unit/test_report.c — availability report figures, table-driven. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>

#include "orchestrator/report.h"

#define U REP_UP
#define D REP_DOWN
#define X REP_UNMONITORED

typedef struct {
    const char *name;
    rep_point pts[8];
    size_t n;
    int64_t since, now;
    double sla;
    int rc;
    int64_t up, down;
    int failures, periods;
    double avail, mtbf, mttr, model, budget, left;
} row;

static const row rows[] = {
    {"always up", {{0, U}}, 1, 0, 100000, 99.9, 0, 100000, 0, 0, 0, 100.0, -1, -1, -1, 0.1, 0.1},
    {"one outage of 10 s in 1000 s", {{0, U}, {500000, D}, {510000, U}}, 3, 0, 1000000, 99.95, 0,
     990000, 10000, 1, 1, 99.0, 990.0, 10.0, 99.0, 0.5, -9.5},
    {"two outages", {{0, U}, {100000, D}, {102000, U}, {300000, D}, {306000, U}}, 5, 0, 400000, 99.0, 0,
     392000, 8000, 2, 2, 98.0, 196.0, 4.0, 98.0, 4.0, -4.0},
    {"unmonitored gap excluded", {{0, U}, {100000, X}, {200000, U}}, 3, 0, 300000, 99.9, 0, 200000, 0, 0, 0,
     100.0, -1, -1, -1, 0.2, 0.2},
    {"window starts inside an outage", {{0, U}, {50000, D}, {70000, U}}, 3, 60000, 160000, 99.0, 0, 90000,
     10000, 0, 1, 90.0, -1, 10.0, -1, 1.0, -9.0},
    {"outage still open", {{0, U}, {90000, D}}, 2, 0, 100000, 99.0, 0, 90000, 10000, 1, 1, 90.0, 90.0, 10.0,
     90.0, 1.0, -9.0},
    {"since after now", {{0, U}}, 1, 10, 5, 99.0, -EINVAL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"target 100 refused", {{0, U}}, 1, 0, 5, 100.0, -EINVAL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"unsorted refused", {{10, U}, {5, D}}, 2, 0, 20, 99.0, -EINVAL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"nothing monitored", {{0, X}}, 1, 0, 1000, 99.0, 0, 0, 0, 0, 0, -1, -1, -1, -1, 0, 0},
};

static void close_to(double got, double want, const char *what, const char *name)
{
    if (fabs(got - want) > 1e-6) {
        print_error("[%s] %s: got %f, want %f\n", name, what, got, want);
        fail();
    }
}

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *t = &rows[i];
        rep_report r;
        int rc = rep_compute(t->pts, t->n, t->since, t->now, t->sla, &r);
        assert_int_equal(rc, t->rc);
        if (rc)
            continue;
        assert_int_equal(r.up_ms, t->up);
        assert_int_equal(r.down_ms, t->down);
        assert_int_equal(r.failures, t->failures);
        assert_int_equal(r.down_periods, t->periods);
        close_to(r.availability_pct, t->avail, "availability", t->name);
        close_to(r.mtbf_s, t->mtbf, "mtbf", t->name);
        close_to(r.mttr_s, t->mttr, "mttr", t->name);
        close_to(r.model_pct, t->model, "model", t->name);
        close_to(r.budget_s, t->budget, "budget", t->name);
        close_to(r.budget_left_s, t->left, "budget left", t->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
