/*
 * tests/unit/test_service.c — the watchdog pacing rule (orchestrator/serve/service.h):
 * a keep-alive every half WatchdogSec, none without a watchdog.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "orchestrator/serve/service.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_watchdog_due(void **state)
{
    static const struct {
        int64_t watchdog_ms, last_ms, now_ms;
        bool due;
    } rows[] = {
        {0, 0, 1000000, false},        /* no WatchdogSec: never */
        {-1, 0, 1000000, false},
        {30000, 1000, 1000, false},    /* just sent */
        {30000, 1000, 15999, false},   /* before half the interval */
        {30000, 1000, 16000, true},    /* at half */
        {30000, 1000, 40000, true},    /* late (a slow turn): at once */
        {30000, 1000, 999, true},      /* clock went backwards: send, restart pacing */
        {2, 10, 11, true},             /* tiny interval: every turn */
        {3, 10, 11, true},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(rows); i++)
        assert_int_equal(svc_watchdog_due(rows[i].watchdog_ms, rows[i].last_ms, rows[i].now_ms), rows[i].due);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_watchdog_due)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
