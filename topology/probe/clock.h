/*
 * topology/probe/clock.h — the process's two clocks, in one place.
 *
 * Owns: monotonic milliseconds (deadlines, intervals, probe times, the loop's
 * time) and wall milliseconds (only for what is stored or shown: the state
 * database, events, hook payloads, reports). The daemon's loop reads the
 * monotonic clock once per turn and passes it down (as libuv's uv_now);
 * worker threads and one-shot tools read it directly.
 */
#ifndef MYORCH_TOPOLOGY_CLOCK_H
#define MYORCH_TOPOLOGY_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, ms. */
int64_t clk_mono_ms(void);
/* Wall clock (Unix epoch), ms. */
int64_t clk_wall_ms(void);

#endif
