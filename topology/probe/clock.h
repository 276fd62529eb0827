/*
 * topology/probe/clock.h — the process's two clocks, in one place.
 *
 * Owns: monotonic milliseconds (deadlines, intervals, probe times, the loop's
 * time) and microseconds (slices of a turn), and wall milliseconds (only for what is stored or shown: the state
 * database, events, hook payloads, reports). The daemon's loop reads the
 * monotonic clock once per turn and passes it down (as libuv's uv_now);
 * worker threads and one-shot tools read it directly.
 */
#ifndef MYORCH_TOPOLOGY_CLOCK_H
#define MYORCH_TOPOLOGY_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, ms. */
int64_t clk_mono_ms(void);
/* CLOCK_MONOTONIC, us: for slices of a turn (the loop's pass, a probe run's polls). */
int64_t clk_mono_us(void);
/* Wall clock (Unix epoch), ms. */
int64_t clk_wall_ms(void);

#endif
