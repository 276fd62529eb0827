/*
 * tests/unit/test_handoff.c — the journal found at a lock taking (orchestrator/decide/handoff.{h,c}):
 * a controller that takes its own cluster's lock again while its own recovery runs leaves that
 * recovery alone (same name AND same id), and nothing else is mistaken for it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "orchestrator/decide/handoff.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *situation;
    handoff_input in;
    handoff_action want;
} row;

static const row rows[] = {
    {"own recovery still running after the lock was taken again",
     {"running", "ctl1", 7, "ctl1", true, 7, 6, true}, HANDOFF_OWN_RUNNING},
    {"own failover stopped-state record, still running here",
     {"stopped", "ctl1", 7, "ctl1", true, 7, 0, false}, HANDOFF_OWN_RUNNING},
    {"another controller's record with the same id as the one running here (ids are per controller)",
     {"running", "ctl2", 7, "ctl1", true, 7, 0, false}, HANDOFF_WAIT},
    {"an earlier recovery of this controller while a newer one runs",
     {"running", "ctl1", 6, "ctl1", true, 7, 6, true}, HANDOFF_WAIT},
    {"another controller's unfinished recovery while one runs here",
     {"running", "ctl2", 3, "ctl1", true, 7, 0, false}, HANDOFF_WAIT},
    {"another controller's unfinished recovery, nothing runs here",
     {"running", "ctl2", 3, "ctl1", false, 0, 0, false}, HANDOFF_TAKE_OVER},
    {"own recovery ended here, settled (done, failed, rolled back)",
     {"running", "ctl1", 7, "ctl1", false, 0, 7, true}, HANDOFF_OWN_ENDED},
    {"own recovery ended here refused by the fencing check: nothing rolled back, taken over",
     {"running", "ctl1", 7, "ctl1", false, 0, 7, false}, HANDOFF_TAKE_OVER},
    {"own name, another id than the one that ended (a restart since)",
     {"running", "ctl1", 7, "ctl1", false, 0, 2, true}, HANDOFF_TAKE_OVER},
    {"another controller's record with the id that ended here",
     {"running", "ctl2", 7, "ctl1", false, 0, 7, true}, HANDOFF_TAKE_OVER},
    {"no recovery id: never own", {"running", "ctl1", 0, "ctl1", true, 0, 0, true}, HANDOFF_WAIT},
    {"no controller name here: never own", {"running", "", 7, "", true, 7, 7, true}, HANDOFF_WAIT},
    {"a record without a controller", {"running", NULL, 7, "ctl1", false, 0, 7, true}, HANDOFF_TAKE_OVER},
    {"a record without a state counts as unfinished", {NULL, "ctl2", 7, "ctl1", false, 0, 0, false},
     HANDOFF_TAKE_OVER},
    {"finished: done", {"done", "ctl2", 3, "ctl1", false, 0, 0, false}, HANDOFF_FINISHED},
    {"finished: own done while another runs", {"done", "ctl1", 7, "ctl1", true, 8, 7, true}, HANDOFF_FINISHED},
    {"finished: rolled-back", {"rolled-back", "ctl2", 3, "ctl1", true, 7, 0, false}, HANDOFF_FINISHED},
    {"finished: aborted", {"aborted", "ctl1", 7, "ctl1", true, 7, 0, false}, HANDOFF_FINISHED},
};

static void test_rows(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(rows); k++) {
        char why[300];
        memset(why, 0, sizeof(why));
        handoff_action a = handoff_judge(&rows[k].in, why, sizeof(why));
        if (a != rows[k].want) {
            print_error("[%s] %s, expected %s (%s)\n", rows[k].situation, handoff_action_name(a),
                        handoff_action_name(rows[k].want), why);
            fail();
        }
        assert_true(strlen(why) > 0);
    }
}

static void test_reason(void **state)
{
    char why[300];
    handoff_input own = {"running", "ctl1", 7, "ctl1", true, 7, 0, false};
    handoff_input other = {"running", "ctl2", 3, "ctl1", true, 7, 0, false};
    (void)state;
    assert_int_equal(handoff_judge(&own, why, sizeof(why)), HANDOFF_OWN_RUNNING);
    assert_string_equal(why, "recovery #7 is this controller's own and still runs here: left alone");
    assert_int_equal(handoff_judge(&other, why, sizeof(why)), HANDOFF_WAIT);
    assert_string_equal(why, "recovery #3 of controller ctl2 is unfinished, and recovery #7 runs here: judged once "
                             "that one ended");
    assert_string_equal(handoff_action_name(HANDOFF_TAKE_OVER), "take-over");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
