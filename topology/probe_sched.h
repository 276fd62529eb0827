/*
 * topology/probe_sched.h — the probe engine's scheduling rules (pure: no clock, no I/O;
 * topology/probe/probe.c calls them with its own clock).
 *
 * Owns: how fast the routine lane may start probes and connects. The engine has two lanes:
 * urgent targets (a cluster under suspicion or recovery, a probe asked for with probe_now(),
 * the reconnect after a held connection dropped) start the moment they are due; routine
 * targets that are due wait in a FIFO and start at a paced rate, with a bound on the
 * operations in flight. So a fleet whose probes fell due at once (startup, a shared
 * interval) is spread over the poll interval instead of answering in one burst, and a
 * controller short of CPU falls behind on its routine probes, never on its urgent ones:
 * an urgent probe's answer never waits behind thousands of routine answers.
 *
 * Rates are in millihertz (1000 = one probe a second) to keep the arithmetic exact.
 */
#ifndef MYORCH_TOPOLOGY_PROBE_SCHED_H
#define MYORCH_TOPOLOGY_PROBE_SCHED_H

#include <stdint.h>

/* The routine lane starts probes PSCHED_SPREAD times as fast as its targets' intervals
 * need: a round that fell due at once is spread over 1/PSCHED_SPREAD of the interval,
 * and a lane that fell behind catches up. */
#define PSCHED_SPREAD 2
/* Starts that may go at once whatever the rate (a small fleet is never paced). */
#define PSCHED_MIN_BURST 32
/* Routine operations in flight: what PSCHED_INFLIGHT_MS of the lane's rate needs, at least
 * PSCHED_MIN_INFLIGHT. Bounds the answers that can queue in front of an urgent one. */
#define PSCHED_INFLIGHT_MS 50
#define PSCHED_MIN_INFLIGHT 64
/* Milliseconds of routine answers one run of the engine handles (urgent ones are not
 * counted); the rest wait for the next run, after the owner's loop has turned. Each step
 * of a failover waits for up to one run: at 10,000 servers (bench/fleet_bench.py, quiet
 * machine, 2-3 runs each) 5 ms gave failover p50 52 ms and loop work p99 16 ms, 2 ms
 * 27-53 / 7-10 ms, 1 ms 29-41 / 5 ms, with the same CPU per probe. */
#define PSCHED_ROUTINE_BUDGET_MS 1

typedef struct {
    int64_t credit;   /* start credit in microstarts (1000000 = one start) */
    int64_t last_ms;  /* when the credit was last topped up; 0 = never */
} psched_pace;

/* The burst size (starts) for a lane of mhz_sum (the sum of its targets' rates in mHz). */
int64_t psched_burst(int64_t mhz_sum);
/* How many routine operations may be in flight for a lane of mhz_sum. */
int64_t psched_max_in_flight(int64_t mhz_sum);
/*
 * How many of `want` due routine starts may begin at now_ms, with in_flight routine
 * operations running, and take that credit. The credit grows at PSCHED_SPREAD × mhz_sum
 * (per second) up to the burst; a fresh pace starts full.
 */
int64_t psched_take(psched_pace *p, int64_t now_ms, int64_t mhz_sum, int64_t in_flight, int64_t want);
/* Milliseconds until the next start may begin (0 = now; -1 = only when an operation in flight
 * ends, the lane being at its in-flight bound). */
int64_t psched_wait_ms(const psched_pace *p, int64_t now_ms, int64_t mhz_sum, int64_t in_flight);

#endif
