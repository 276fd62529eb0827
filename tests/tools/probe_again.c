/*
 * tests/tools/probe_again.c — probe_now() on a target whose probe is in flight (issue 17): the
 * engine starts another probe the moment that one ends, instead of at the interval. Used by
 * tests/sim/test_sim_probe_again.py against a fleetsim server that answers slowly (`slow`).
 *
 *   probe_again HOST PORT USER PASSWORD_FILE [arrived|urgent]
 *
 * With "arrived" (probe_answer_arrived(), issue 17): after the first answer, probe_now() starts a
 * probe and the engine is left alone for 300 ms, as a busy loop leaves answers unread; then prints
 * "waiting W arrived A": W 1 when the engine still counts the batch as owed, A 1 when its answer is
 * on the socket (the test's server answers 50 ms after the batch), 0 when not (one slowed to 2 s).
 *
 * With "urgent" (probe_engine_run_urgent(), probe_engine_each_waiting(), issue 17): after the first
 * answer, probe_now() and then only probe_engine_run_urgent(), never probe_engine_run(), as the
 * controller does in the middle of a long pass over its clusters. Prints "kicked K started S listed L
 * answered A listed_after M": K 1 when probe_now() left a probe for the urgent run to start, S 1 when
 * that run started it (the batch is owed), L the targets probe_engine_each_waiting() lists while
 * it is in flight (1), A 1 when its answer (the server answers after 50 ms) was handed over by the
 * urgent runs alone within 2 s, M the targets listed once it was (0).
 *
 * Probes the server every 60 s. After the first answer: probe_now() (the target is idle: a probe
 * starts), then probe_now() again while that probe is in flight. Prints "answers N" for the
 * answers delivered in the 5 s after the first probe_now(), then "ok" lines per answer. Exits 0
 * when it ran (the test judges N: 2 with the request remembered, 1 without it).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topology/probe/probe.h"
#include "tool_password.h"

static int answers;
static probe_target *target;

static void on_result(void *user, probe_target *t, topo_snapshot *snap)
{
    (void)user;
    (void)t;
    answers++;
    printf("answer %d: %s%s\n", answers, snap->ok ? "ok" : "failed: ", snap->ok ? "" : snap->error);
    fflush(stdout);
}

static int listed;
static void count_listed(void *user, probe_target *t)
{
    (void)user;
    listed += t == target;
}

/* The "urgent" mode (see the top). */
static int urgent_mode(probe_engine *e)
{
    int kicked, started, listed_in_flight;
    probe_now(target);
    kicked = probe_engine_kicked(e);
    probe_engine_run_urgent(e);
    started = probe_waiting_since_ms(target) > 0;
    listed = 0;
    probe_engine_each_waiting(e, probe_now_ms() + 1, count_listed, NULL);
    listed_in_flight = listed;
    for (int64_t until = probe_now_ms() + 2000; !answers && probe_now_ms() < until;) {
        struct pollfd pfd = {.fd = probe_engine_fd(e), .events = POLLIN};
        poll(&pfd, 1, 10);
        probe_engine_run_urgent(e);
    }
    listed = 0;
    probe_engine_each_waiting(e, probe_now_ms() + 1, count_listed, NULL);
    printf("kicked %d started %d listed %d answered %d listed_after %d\n", kicked, started, listed_in_flight,
           answers, listed);
    return 0;
}

static void run_until(probe_engine *e, int64_t until_ms, int want)
{
    for (int64_t now = probe_now_ms(); now < until_ms && answers < want; now = probe_now_ms()) {
        int timeout = probe_engine_timeout_ms(e, now);
        int64_t left = until_ms - now;
        struct pollfd pfd = {.fd = probe_engine_fd(e), .events = POLLIN};
        if (timeout < 0 || timeout > left)
            timeout = (int)left;
        poll(&pfd, 1, timeout);
        probe_engine_run(e, probe_now_ms());
    }
}

int main(int argc, char **argv)
{
    probe_options po = {.connect_timeout_ms = 2000, .read_timeout_ms = 4000, .on_result = on_result};
    probe_engine *e = NULL;
    topo_addr a;
    char pw[256] = "", err[256];
    int rc = 1;

    if (argc != 5 && !(argc == 6 && (!strcmp(argv[5], "arrived") || !strcmp(argv[5], "urgent")))) {
        fprintf(stderr, "usage: probe_again HOST PORT USER PASSWORD_FILE [arrived|urgent]\n");
        return 2;
    }
    if (tool_read_password("probe_again", argv[4], pw, sizeof(pw)) < 0)
        return 2;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), "%s", argv[1]);
    a.port = atoi(argv[2]);
    if (probe_engine_new(&po, &e, err, sizeof(err)) < 0 ||
        probe_add(e, &a, argv[3], pw, NULL, NULL, 60000, NULL, &target, err, sizeof(err)) < 0) {
        fprintf(stderr, "probe_again: %s\n", err);
        goto out;
    }
    run_until(e, probe_now_ms() + 10000, 1);
    if (answers != 1) {
        fprintf(stderr, "probe_again: no first answer within 10 s\n");
        goto out;
    }
    answers = 0;
    if (argc == 6 && !strcmp(argv[5], "urgent")) {
        rc = urgent_mode(e);
        goto out;
    }
    if (argc == 6) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 300 * 1000000L};
        probe_now(target);                      /* idle: starts a probe; the engine is not run */
        probe_engine_run(e, probe_now_ms());    /* one run: its timer starts the probe, the batch goes out */
        while (nanosleep(&ts, &ts) < 0)
            ;
        printf("waiting %d arrived %d\n", probe_waiting_since_ms(target) > 0, probe_answer_arrived(target));
        rc = 0;
        goto out;
    }
    probe_now(target);                          /* idle: starts a probe */
    run_until(e, probe_now_ms() + 50, 1);       /* it is in flight (the server is slow) */
    if (answers) {
        fprintf(stderr, "probe_again: the probe was answered at once: make the server slow\n");
        goto out;
    }
    probe_now(target);                          /* in flight: remembered */
    run_until(e, probe_now_ms() + 5000, 3);
    printf("answers %d\n", answers);
    rc = 0;
out:
    memset(pw, 0, sizeof(pw));
    if (e)
        probe_engine_free(e);
    return rc;
}
