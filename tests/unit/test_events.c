/*
 * tests/unit/test_events.c — the event table (orchestrator/decide/events.{h,c}): names unique and
 * well-formed, look-ups both ways, and the hook point of each emitted (event, level, kind),
 * one row per case the daemon's dispatcher distinguished by strcmp before the table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "orchestrator/decide/events.h"

#include "check.h"

static void test_table_well_formed(void **state)
{
    (void)state;
    assert_true(EV_N_EVENTS >= 40);
    for (int i = 0; i < EV_N_EVENTS; i++) {
        const ev_info *e = ev_get((ev_id)i);
        assert_non_null(e);
        assert_non_null(e->name);
        assert_true(strlen(e->name) > 2);
        for (const char *p = e->name; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '-');
        assert_true(e->level >= LOGL_ERROR && e->level <= LOGL_DEBUG);
        assert_true(e->hook == EV_NO_HOOK || (e->hook >= 0 && e->hook < CFG_N_HOOKS));
        assert_non_null(e->description);
        assert_true(strlen(e->description) > 10);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(e->name, ev_name((ev_id)j));
        assert_int_equal(ev_lookup(e->name), i);
    }
}

static void test_lookup_edges(void **state)
{
    (void)state;
    assert_int_equal(ev_lookup(NULL), EV_UNKNOWN);
    assert_int_equal(ev_lookup(""), EV_UNKNOWN);
    assert_int_equal(ev_lookup("primary-dea"), EV_UNKNOWN);
    assert_int_equal(ev_lookup("primary-dead "), EV_UNKNOWN);
    assert_int_equal(ev_lookup("primary-dead"), EV_PRIMARY_DEAD);
    assert_string_equal(ev_name(EV_RECOVERY_FAILED), "recovery-failed");
    assert_string_equal(ev_name(EV_N_EVENTS), "?");
    assert_string_equal(ev_name(EV_UNKNOWN), "?");
    assert_null(ev_get(EV_N_EVENTS));
    assert_null(ev_get(EV_UNKNOWN));
}

typedef struct {
    const char *name;
    int level;
    const char *kind;
    int want;
} hook_row;

static void test_hook_points(void **state)
{
    (void)state;
    static const hook_row rows[] = {
        {"primary-dead", LOGL_ERROR, NULL, CFG_HOOK_ON_FAILURE_DETECTED},
        {"primary-dead-minority", LOGL_ERROR, NULL, CFG_HOOK_ON_FAILURE_DETECTED},
        {"multiple-writable", LOGL_ERROR, NULL, CFG_HOOK_ON_FAILURE_DETECTED},
        {"primary-suspect", LOGL_WARN, NULL, EV_NO_HOOK},
        {"analysis-changed", LOGL_ERROR, NULL, EV_NO_HOOK},
        {"recovery-failed", LOGL_ERROR, NULL, CFG_HOOK_POST_FAILOVER_FAILED},
        {"recovery-failed", LOGL_ERROR, "failover", CFG_HOOK_POST_FAILOVER_FAILED},
        {"recovery-failed", LOGL_ERROR, "switchover", EV_NO_HOOK},
        {"recovery-failed", LOGL_ERROR, "relocate", EV_NO_HOOK},
        {"recovery-done", LOGL_WARN, "failover", EV_NO_HOOK},
        {"instance-discovered", LOGL_INFO, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"instance-discovered", LOGL_ERROR, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"instance-up", LOGL_WARN, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"instance-down", LOGL_ERROR, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"instance-down", LOGL_DEBUG, NULL, EV_NO_HOOK}, /* "still unreachable": a repeat */
        {"instance-forgotten", LOGL_WARN, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"replication-changed", LOGL_INFO, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"replica-lag-high", LOGL_INFO, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"replica-lag-ok", LOGL_INFO, NULL, CFG_HOOK_ON_TOPOLOGY_CHANGE},
        {"replica-lag-ok", LOGL_DEBUG, NULL, EV_NO_HOOK},
        {"instance-alias", LOGL_INFO, NULL, EV_NO_HOOK},
        {"read-only-changed", LOGL_INFO, NULL, EV_NO_HOOK},
        {"hook-failed", LOGL_WARN, NULL, EV_NO_HOOK},
        {"no-such-event", LOGL_ERROR, NULL, EV_NO_HOOK},
    };
    for (size_t i = 0; i < NELEM(rows); i++) {
        int got = ev_hook_point(ev_lookup(rows[i].name), rows[i].level, rows[i].kind);
        if (got != rows[i].want)
            fail_msg("row %zu: %s (level %d, kind %s): hook %d, want %d", i, rows[i].name, rows[i].level,
                     rows[i].kind ? rows[i].kind : "-", got, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_well_formed),
        cmocka_unit_test(test_lookup_edges),
        cmocka_unit_test(test_hook_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
