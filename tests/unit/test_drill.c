/* tests/unit/test_drill.c — drill schedules (parse, next start) and drill records, table-driven. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "orchestrator/drill.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-12-03 14:00:00 UTC is a Thursday. */
#define THU_1400 1796306400LL
#define DAY 86400LL

typedef struct {
    const char *spec;
    const char *err;        /* substring of the refusal, NULL: accepted */
    int64_t now, last;
    int64_t next;           /* expected next start */
} sched_case;

static const sched_case cases[] = {
    {"every 7d", NULL, THU_1400, 0, THU_1400},
    {"every 7d", NULL, THU_1400, THU_1400 - DAY, THU_1400 + 6 * DAY},
    {"every 6h", NULL, THU_1400, THU_1400 - 7 * 3600, THU_1400},   /* overdue: at once */
    {"every 10m", NULL, THU_1400, THU_1400, THU_1400 + 600},
    {"daily 03:00", NULL, THU_1400, 0, THU_1400 + 13 * 3600},
    {"daily 14:00", NULL, THU_1400, 0, THU_1400},
    {"daily 14:00", NULL, THU_1400, THU_1400, THU_1400 + DAY},      /* never the same slot twice */
    {"sun 03:00", NULL, THU_1400, 0, THU_1400 + 2 * DAY + 13 * 3600},
    {"THU 14:00", NULL, THU_1400, 0, THU_1400},
    {"thu 13:59", NULL, THU_1400, 0, THU_1400 + 7 * DAY - 60},
    {"every 5m", "from 10m", 0, 0, 0},
    {"every 7", "every DURATION", 0, 0, 0},
    {"every 7w", "every DURATION", 0, 0, 0},
    {"every -1d", "every DURATION", 0, 0, 0},
    {"daily 24:00", "HH:MM", 0, 0, 0},
    {"daily 3:00", "HH:MM", 0, 0, 0},
    {"sunday 03:00", "every DURATION", 0, 0, 0},
    {"sun 03:00 extra", "every DURATION", 0, 0, 0},
    {"", "every DURATION", 0, 0, 0},
    {"every 99999999999999999999d", "every DURATION", 0, 0, 0},
};

static void test_schedules(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(cases); i++) {
        const sched_case *k = &cases[i];
        drill_sched s;
        char err[256] = "";
        int rc = drill_sched_parse(k->spec, &s, err, sizeof(err));
        if (k->err) {
            if (rc != -EINVAL || !strstr(err, k->err))
                fail_msg("'%s': rc %d err '%s', want a refusal with '%s'", k->spec, rc, err, k->err);
            continue;
        }
        if (rc != 0)
            fail_msg("'%s' refused: %s", k->spec, err);
        int64_t next = drill_sched_next(&s, k->now, k->last);
        if (next != k->next)
            fail_msg("'%s' now %lld last %lld: next %lld, want %lld", k->spec, (long long)k->now, (long long)k->last,
                     (long long)next, (long long)k->next);
    }
}

static void test_records(void **state)
{
    static const struct {
        const char *json;
        const char *err; /* NULL: accepted */
    } rc_cases[] = {
        {"{\"drill_ok\": true, \"started_ms\": 1000, \"ended_ms\": 2000, \"there_write_block_ms\": 55, "
         "\"back_write_block_ms\": 33, \"from_primary\": \"a:1\", \"via\": \"b:2\"}", NULL},
        {"{\"drill_ok\": false, \"started_ms\": 1000, \"ended_ms\": 2000, \"error\": \"refused\"}", NULL},
        {"{\"started_ms\": 1000, \"ended_ms\": 2000}", "drill_ok"},
        {"{\"drill_ok\": true, \"started_ms\": 1000, \"ended_ms\": 2000}", "both write blocks"},
        {"{\"drill_ok\": false, \"started_ms\": 3000, \"ended_ms\": 2000}", "before"},
        {"{\"drill_ok\": false, \"ended_ms\": 2000}", "started_ms"},
        {"{\"drill_ok\": false, \"started_ms\": 1, \"ended_ms\": 2, \"there_write_block_ms\": -5}", "there_write_block_ms"},
        {"{\"drill_ok\": false, \"started_ms\": 1, \"ended_ms\": 2, \"via\": 7}", "via"},
    };
    (void)state;
    for (size_t i = 0; i < NELEM(rc_cases); i++) {
        json_error_t je;
        json_t *j = json_loads(rc_cases[i].json, 0, &je);
        store_drill d;
        char err[256] = "";
        int rc;
        assert_non_null(j);
        rc = drill_record_parse(j, &d, err, sizeof(err));
        if (rc_cases[i].err ? (rc != -EINVAL || !strstr(err, rc_cases[i].err)) : rc != 0)
            fail_msg("%s: rc %d err '%s'", rc_cases[i].json, rc, err);
        if (!rc_cases[i].err && i == 0)
            assert_true(d.ok && d.there_write_block_ms == 55 && d.back_write_block_ms == 33 && !strcmp(d.via, "b:2"));
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
