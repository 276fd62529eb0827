/*
 * tests/unit/test_exec_pool.c — the threads recovery plans run on (executor.c's pool), on
 * plans of one hook step (no server): plans started together run together, however many
 * (a zone loss starts hundreds; a queued plan never waits for another's end); a plan
 * started after another ended runs on the same waiting thread (none created on a
 * failover's path); at most POOL_IDLE_MAX (4) threads stay once the plans ended;
 * exec_pool_shutdown() ends them and the next plan starts the pool again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "orchestrator/act/executor.h"

#define JOBS 6

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int entered;    /* hook steps running now */
static int wait_for;   /* each hook step waits until this many run at once (0: returns at once) */
static long tids[JOBS];
static int n_tids;

/* The hook step: notes its thread, then waits (5 s at most) until wait_for steps run together. */
static int run_hook(void *user, const plan_spec *plan, const plan_step *step, const char *gtid, strbuf *msg)
{
    struct timespec dl;
    int rc = 0;
    (void)user, (void)plan, (void)step, (void)gtid;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&mu);
    if (n_tids < JOBS)
        tids[n_tids++] = (long)syscall(SYS_gettid);
    entered++;
    pthread_cond_broadcast(&cv);
    while (entered < wait_for && rc == 0)
        rc = pthread_cond_timedwait(&cv, &mu, &dl);
    pthread_mutex_unlock(&mu);
    if (rc) {
        strbuf_setf(msg, "only %d of %d plans ran together", entered, wait_for);
        return -1;
    }
    strbuf_setf(msg, "ran");
    return 0;
}

static const exec_hooks hooks = {.run = run_hook};

static exec_job *start(void)
{
    static plan_step step;
    plan_spec p;
    exec_creds creds;
    exec_job *x = NULL;
    char err[256];
    memset(&step, 0, sizeof(step));
    memset(&p, 0, sizeof(p));
    memset(&creds, 0, sizeof(creds));
    step.kind = PLAN_STEP_HOOK;
    step.best_effort = false;
    snprintf(step.hook, sizeof(step.hook), "h");
    p.op = REC_OP_SWITCHOVER;
    snprintf(p.kind, sizeof(p.kind), "switchover");
    p.v = &step;
    p.n = 1;
    assert_int_equal(exec_start(&p, &creds, &hooks, &x, err, sizeof(err)), 0);
    return x;
}

/* Messages until the worker is gone: 1 when its DONE said ok. */
static int finish(exec_job *x)
{
    int ok = -1;
    for (;;) {
        exec_msg m;
        struct pollfd pfd = {.fd = exec_fd(x), .events = POLLIN};
        int r = exec_read(x, &m);
        if (r < 0)
            break;
        if (r == 0) {
            assert_true(poll(&pfd, 1, 10000) == 1);
            continue;
        }
        if (m.kind == EXEC_DONE)
            ok = m.ok;
        exec_msg_clear(&m);
    }
    exec_free(x);
    return ok;
}

static void reset(int together)
{
    pthread_mutex_lock(&mu);
    entered = 0;
    wait_for = together;
    n_tids = 0;
    pthread_mutex_unlock(&mu);
}

static void test_together(void **state)
{
    exec_job *x[JOBS];
    (void)state;
    reset(JOBS);
    for (int i = 0; i < JOBS; i++)
        x[i] = start(); /* started back to back: a waiting thread is not yet running its plan */
    for (int i = 0; i < JOBS; i++)
        assert_int_equal(finish(x[i]), 1);
    assert_int_equal(exec_pool_threads(), 4); /* the others ended after their plan */
}

static void test_reused(void **state)
{
    char err[256];
    long first;
    (void)state;
    exec_pool_shutdown();
    assert_int_equal(exec_pool_threads(), 0);
    assert_int_equal(exec_pool_warm(1, err, sizeof(err)), 0);
    assert_int_equal(exec_pool_threads(), 1);
    reset(0);
    assert_int_equal(finish(start()), 1);
    first = tids[0];
    assert_int_equal(finish(start()), 1);
    assert_int_equal(n_tids, 2);
    assert_int_equal(tids[1], first); /* the same thread, waiting between the two */
    assert_int_equal(exec_pool_threads(), 1);
    exec_pool_shutdown();
    assert_int_equal(exec_pool_threads(), 0);
    assert_int_equal(finish(start()), 1); /* the pool starts again */
    assert_int_equal(exec_pool_threads(), 1);
    exec_pool_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_together),
        cmocka_unit_test(test_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
