/* tests/unit/test_probe_sched.c — topology/probe_sched.{h,c}: the routine lane's pacing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "check.h"
#include "topology/probe_sched.h"

#define HZ(n) ((int64_t)(n) * 1000) /* n targets probed once a second, in mHz */

/* One take: a pace in a given state, asked for `want` starts. */
static void test_take_table(void **state)
{
    static const struct {
        const char *name;
        int64_t credit, last_ms; /* the pace before (last_ms 0: fresh) */
        int64_t now_ms, mhz, in_flight, want;
        int64_t got, wait_after; /* starts granted; psched_wait_ms right after */
    } rows[] = {
        {"a fresh small lane is never paced", 0, 0, 5000, HZ(12), 0, 12, 12, 0},
        {"a fresh lane grants at most the minimum burst", 0, 0, 5000, HZ(400), 0, 400, 32, 2},
        {"10,000 targets: the burst is 5 ms of the doubled rate", 0, 0, 5000, HZ(10000), 0, 10000, 100, 1},
        {"credit grows at twice the lane's rate: 1 ms at 10,000/s = 20", 0, 1000, 1001, HZ(10000), 0, 10000, 20, 1},
        {"credit never exceeds the burst after a long idle", 0, 1000, 900000, HZ(10000), 0, 10000, 100, 1},
        {"the in-flight bound (50 ms of the rate: 500) caps a take", 0, 0, 5000, HZ(10000), 490, 100, 10, -1},
        {"at the in-flight bound nothing starts; wait for an answer", 0, 0, 5000, HZ(10000), 500, 100, 0, -1},
        {"the small lane's in-flight floor is 64", 0, 0, 5000, HZ(12), 64, 12, 0, -1},
        {"fewer wanted than credit: the rest is kept", 0, 0, 5000, HZ(10000), 0, 30, 30, 0},
        {"one target a second: the next start is 500 ms away", 0, 1000, 1000, HZ(1), 0, 1, 0, 500},
        {"a clock that went back grants nothing new", 500000, 2000, 1000, HZ(10000), 0, 10, 0, 1},
        {"partial credit is kept, not rounded away", 999999, 2000, 2000, HZ(1), 0, 1, 0, 1},
        {"an empty lane (all urgent) still drains its queue at the burst", 0, 0, 5000, 0, 0, 40, 32, 1000},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(rows); i++) {
        psched_pace p = {.credit = rows[i].credit, .last_ms = rows[i].last_ms};
        int64_t got = psched_take(&p, rows[i].now_ms, rows[i].mhz, rows[i].in_flight, rows[i].want);
        int64_t w = psched_wait_ms(&p, rows[i].now_ms, rows[i].mhz, rows[i].in_flight + got);
        CHECK(got == rows[i].got, "%s: granted %lld, want %lld", rows[i].name, (long long)got, (long long)rows[i].got);
        CHECK(w == rows[i].wait_after, "%s: wait %lld ms, want %lld", rows[i].name, (long long)w,
              (long long)rows[i].wait_after);
        CHECK(p.credit >= 0, "%s: negative credit", rows[i].name);
    }
}

/*
 * A round that fell due at once, drained every millisecond (answers in 2 ms): every target
 * starts, within interval / PSCHED_SPREAD, never more than the burst in one millisecond; then
 * a lane whose probes are spread is never held back.
 */
static void test_spread_round(void **state)
{
    static const int64_t sizes[] = {100, 1000, 10000, 50000};
    (void)state;
    for (size_t k = 0; k < NELEM(sizes); k++) {
        int64_t n = sizes[k], left = n, t, max_step = 0, last = 0;
        int64_t started[3] = {0}; /* ring of the last 3 ms of starts: answered 2 ms later */
        int64_t in_flight = 0;
        psched_pace p = {0};
        for (t = 1000; left > 0 && t < 3000; t++) {
            int64_t g;
            in_flight -= started[t % 3];
            g = psched_take(&p, t, HZ(n), in_flight, left);
            started[t % 3] = g;
            in_flight += g;
            left -= g;
            if (g > max_step)
                max_step = g;
            if (g)
                last = t;
        }
        CHECK(left == 0, "%lld targets: %lld never started", (long long)n, (long long)left);
        CHECK(last - 1000 <= 1000 / PSCHED_SPREAD, "%lld targets: the round took %lld ms", (long long)n,
              (long long)(last - 1000));
        CHECK(max_step <= psched_burst(HZ(n)), "%lld targets: %lld started in one ms", (long long)n,
              (long long)max_step);
        /* Spread: one start due each 1000/n ms is granted at once. */
        for (int64_t s = 0, due = 0; s < n && t < 100000; t++) {
            int64_t want = (t - last) * n / 1000 - due;
            int64_t g = want > 0 ? psched_take(&p, t, HZ(n), 0, want) : 0;
            CHECK(g == (want > 0 ? want : 0), "%lld targets at %lld ms: %lld of %lld due granted", (long long)n,
                  (long long)t, (long long)g, (long long)want);
            due += g;
            s += g;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_table),
        cmocka_unit_test(test_spread_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
