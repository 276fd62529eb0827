/*
 * orchestrator/drill.h — switchover drills (issue 16): the schedule syntax of
 * `myorch drill --schedule` and the record of a finished drill that the CLI
 * hands to the controller (control command drill-record).
 *
 * A drill is a switchover to a replica and a switchover back, each through the
 * controller's control socket, so with the switchover's own safety checks and
 * bounds; the write block of each direction is the switchover's measured
 * writes_refused_ms (demote start to the new primary writable).
 *
 * Schedule (UTC, so that daylight saving never skips or doubles a drill):
 *   "every DURATION"   DURATION = N followed by m, h or d (at least 10m); the
 *                      first drill runs at once
 *   "daily HH:MM"      every day at HH:MM UTC
 *   "DAY HH:MM"        DAY = mon tue wed thu fri sat sun: weekly
 * Pure: no I/O, no clock (times come in).
 */
#ifndef MYORCH_ORCHESTRATOR_DRILL_H
#define MYORCH_ORCHESTRATOR_DRILL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrator/store.h"

enum { DRILL_EVERY = 1, DRILL_DAILY, DRILL_WEEKLY };

#define DRILL_MIN_EVERY_S 600

typedef struct {
    int kind;
    int64_t every_s;   /* DRILL_EVERY */
    int wday;          /* DRILL_WEEKLY: 0 = Sunday .. 6 = Saturday */
    int minute;        /* DRILL_DAILY / WEEKLY: minutes after 00:00 UTC */
} drill_sched;

/* Parse a schedule. 0, or -EINVAL with a message naming the accepted forms. */
int drill_sched_parse(const char *spec, drill_sched *out, char *err, size_t errlen);

/*
 * The next start (unix s) strictly after last_start_s (0: never ran) and not
 * before now_s: "every" gives now_s for the first run, then last + interval;
 * daily/weekly give the next matching minute at or after now_s.
 */
int64_t drill_sched_next(const drill_sched *s, int64_t now_s, int64_t last_start_s);

/*
 * A drill-record request into *out (strings borrowed from b; cluster left
 * NULL for the caller). Checks types and ranges: times positive and ordered,
 * write blocks -1 (not measured) or 0..1 day. 0 or -EINVAL with err.
 */
int drill_record_parse(const json_t *b, store_drill *out, char *err, size_t errlen);

#endif
