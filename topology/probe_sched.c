/* topology/probe_sched.c — the probe engine's pacing rules; see probe_sched.h. */
#include "topology/probe_sched.h"

int64_t psched_burst(int64_t mhz_sum)
{
    /* 5 ms of the lane's paced rate, at least PSCHED_MIN_BURST. */
    int64_t b = mhz_sum * PSCHED_SPREAD * 5 / 1000000;
    return b > PSCHED_MIN_BURST ? b : PSCHED_MIN_BURST;
}

int64_t psched_max_in_flight(int64_t mhz_sum)
{
    int64_t m = mhz_sum * PSCHED_INFLIGHT_MS / 1000000;
    return m > PSCHED_MIN_INFLIGHT ? m : PSCHED_MIN_INFLIGHT;
}

/* Credit (microstarts: the top-up mHz × ms is exact, no fraction lost between calls) at now_ms. */
static int64_t credit_at(const psched_pace *p, int64_t now_ms, int64_t mhz_sum)
{
    int64_t cap = psched_burst(mhz_sum) * 1000000, c;
    if (p->last_ms == 0)
        return cap;
    if (now_ms <= p->last_ms)
        return p->credit < cap ? p->credit : cap;
    /* mHz × PSCHED_SPREAD × ms = microstarts; elapsed is clamped so nothing overflows. */
    {
        int64_t dt = now_ms - p->last_ms;
        if (dt > 3600 * 1000)
            dt = 3600 * 1000;
        c = p->credit + mhz_sum * PSCHED_SPREAD * dt;
    }
    return c < cap ? c : cap;
}

int64_t psched_take(psched_pace *p, int64_t now_ms, int64_t mhz_sum, int64_t in_flight, int64_t want)
{
    int64_t c = credit_at(p, now_ms, mhz_sum), room = psched_max_in_flight(mhz_sum) - in_flight, n;
    n = c / 1000000;
    if (n > want)
        n = want;
    if (n > room)
        n = room;
    if (n < 0)
        n = 0;
    p->credit = c - n * 1000000;
    if (now_ms > p->last_ms || p->last_ms == 0)
        p->last_ms = now_ms;
    return n;
}

int64_t psched_wait_ms(const psched_pace *p, int64_t now_ms, int64_t mhz_sum, int64_t in_flight)
{
    int64_t c = credit_at(p, now_ms, mhz_sum), per_ms = mhz_sum * PSCHED_SPREAD;
    if (in_flight >= psched_max_in_flight(mhz_sum))
        return -1;
    if (c >= 1000000)
        return 0;
    if (per_ms <= 0)
        return 1000; /* an empty lane: nothing will be due */
    return (1000000 - c + per_ms - 1) / per_ms;
}
