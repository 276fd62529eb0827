/*
 * tests/unit/test_exec_journal.c — the executor's journal and fencing hook (exec_hooks.journal,
 * controller coordination on etcd, issue 14), on plans of hook steps only (no server): the
 * hook is called before every step and at the end with the right point-of-no-return flag
 * and results; a refusal before the point of no return stops the plan there (the step is
 * reported failed, never run; DONE aborted, "refused by the fencing check"); past it, the
 * refusal is noted in the step's message and the plan goes on; refused because the lock is
 * another's (-ESTALE), nothing is rolled back (DONE aborted = 2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "orchestrator/act/executor.h"

#define NSTEPS 3

typedef struct {
    int refuse_at;              /* intent of this step is refused; -1 never */
    int refuse_rc;              /* what the refusal returns (0: -1) */
    int ran[NSTEPS];            /* hook steps run */
    char calls[16][64];         /* "intent 0 ponr=0" / "end aborted ponr=1 r=120" */
    int n_calls;
    char end_msg[256];
    int done_ok, done_aborted;
    char step_msg[NSTEPS][256];
    int step_ok[NSTEPS];
} rec;

static int run_hook(void *user, const plan_spec *plan, const plan_step *step, const char *gtid, strbuf *msg)
{
    rec *r = user;
    (void)gtid;
    r->ran[step - plan->v]++;
    strbuf_setf(msg, "ran");
    return 0;
}

static int journal(void *user, const plan_spec *plan, const exec_journal *j, strbuf *msg)
{
    rec *r = user;
    char res[NSTEPS + 1];
    for (size_t i = 0; i < plan->n; i++)
        res[i] = (char)('0' + j->results[i]);
    res[plan->n] = '\0';
    if (r->n_calls < 16)
        snprintf(r->calls[r->n_calls++], 64, "%s %s ponr=%d r=%s", j->phase,
                 j->state ? j->state : (char[2]){(char)('0' + (int)j->step), 0}, j->ponr, res);
    if (j->state == NULL && (int)j->step == r->refuse_at) {
        strbuf_setf(msg, "fencing token 3 is stale");
        return r->refuse_rc ? r->refuse_rc : -1;
    }
    return 0;
}

static void on_msg(void *user, const exec_msg *m)
{
    rec *r = user;
    if (m->kind == EXEC_STEP_END && m->step >= 0 && m->step < NSTEPS) {
        snprintf(r->step_msg[m->step], sizeof(r->step_msg[0]), "%s", m->message);
        r->step_ok[m->step] = m->ok;
    } else if (m->kind == EXEC_DONE) {
        snprintf(r->end_msg, sizeof(r->end_msg), "%s", m->message);
        r->done_ok = m->ok;
        r->done_aborted = m->aborted;
    }
}

static void run(rec *r)
{
    plan_step steps[NSTEPS];
    plan_spec p;
    exec_creds creds;
    exec_hooks h = {.run = run_hook, .user = r, .journal = journal, .journal_user = r};
    memset(steps, 0, sizeof(steps));
    memset(&p, 0, sizeof(p));
    memset(&creds, 0, sizeof(creds));
    for (int i = 0; i < NSTEPS; i++) {
        steps[i].kind = PLAN_STEP_HOOK;
        snprintf(steps[i].hook, sizeof(steps[i].hook), "h%d", i);
    }
    steps[1].no_return = true;
    p.op = REC_OP_FAILOVER;
    snprintf(p.kind, sizeof(p.kind), "failover");
    p.v = steps;
    p.n = NSTEPS;
    assert_int_equal(exec_run_sync(&p, &creds, &h, on_msg, r), 0);
}

static void test_no_refusal(void **state)
{
    rec r = {.refuse_at = -1};
    (void)state;
    run(&r);
    assert_int_equal(r.n_calls, 4);
    assert_string_equal(r.calls[0], "intent 0 ponr=0 r=000");
    assert_string_equal(r.calls[1], "intent 1 ponr=1 r=100");
    assert_string_equal(r.calls[2], "intent 2 ponr=1 r=110");
    assert_string_equal(r.calls[3], "end done ponr=1 r=111");
    assert_int_equal(r.done_ok, 1);
}

static void test_refused_at_the_point_of_no_return(void **state)
{
    rec r = {.refuse_at = 1};
    (void)state;
    run(&r);
    assert_int_equal(r.ran[0], 1);
    assert_int_equal(r.ran[1], 0); /* never run */
    assert_int_equal(r.ran[2], 0);
    assert_int_equal(r.step_ok[1], 0);
    assert_non_null(strstr(r.step_msg[1], "not run: fencing token 3 is stale"));
    assert_int_equal(r.done_ok, 0);
    assert_int_equal(r.done_aborted, 1);
    assert_non_null(strstr(r.end_msg, "refused by the fencing check"));
    assert_int_equal(r.n_calls, 3);
    assert_string_equal(r.calls[2], "end aborted ponr=0 r=120");
}

static void test_refused_the_lock_is_another(void **state)
{
    rec r = {.refuse_at = 1, .refuse_rc = -ESTALE};
    (void)state;
    run(&r);
    assert_int_equal(r.ran[1], 0);
    assert_int_equal(r.done_ok, 0);
    assert_int_equal(r.done_aborted, 2); /* nothing rolled back here: the new holder settles it */
    assert_non_null(strstr(r.end_msg, "nothing rolled back here"));
}

static void test_refused_past_it(void **state)
{
    rec r = {.refuse_at = 2};
    (void)state;
    run(&r);
    for (int i = 0; i < NSTEPS; i++)
        assert_int_equal(r.ran[i], 1);
    assert_int_equal(r.step_ok[2], 1);
    assert_non_null(strstr(r.step_msg[2], "the fencing check refused, past the point of no return: fencing token 3"));
    assert_int_equal(r.done_ok, 1);
    assert_string_equal(r.calls[3], "end done ponr=1 r=111");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_refusal),
        cmocka_unit_test(test_refused_at_the_point_of_no_return),
        cmocka_unit_test(test_refused_the_lock_is_another),
        cmocka_unit_test(test_refused_past_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
