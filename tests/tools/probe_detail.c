/*
 * tests/tools/probe_detail.c — probe_set_detail_every() (issue 17): who replicates from a server
 * (SHOW REPLICAS / SLAVE HOSTS, SHOW PROCESSLIST's Binlog Dump sessions) is read by one probe in
 * EVERY, by a connection's first, and by the probe after one that saw the server's role change; the
 * probes between carry the last detail read. Used by tests/sim/test_sim_probe_detail.py against
 * fleetsim, which counts the statements it ran.
 *
 *   probe_detail HOST PORT USER PASSWORD_FILE EVERY N [PAUSE_AT]
 *
 * Probes the server every 50 ms until N answers. For each prints
 * "answer K ok replicas R have_dumps H dumps D detail T": the snapshot's SHOW REPLICAS rows, whether
 * it has the processlist's dump hosts and how many, and the engine's count of full probes so far
 * (probe_stats.probes_detail). With PAUSE_AT: after that answer prints "paused" and waits for a line
 * on stdin before probing on (the test changes the server's role meanwhile). Exits 0 when all N
 * answers came (the test judges the lines), 1 otherwise.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/probe/probe.h"
#include "tool_password.h"

static int answers;
static probe_engine *engine;

static void on_result(void *user, probe_target *t, topo_snapshot *snap)
{
    (void)user;
    (void)t;
    answers++;
    if (!snap->ok) {
        printf("answer %d failed: %s\n", answers, snap->error);
    } else {
        printf("answer %d ok replicas %zu have_dumps %d dumps %zu detail %llu\n", answers, snap->n_replicas,
               snap->have_dump_hosts ? 1 : 0, snap->n_dump_hosts,
               (unsigned long long)probe_engine_stats(engine)->probes_detail);
    }
    fflush(stdout);
}

/* Run the engine until `want` answers came or the time is up; 0 when they came. */
static int run_until(int want, int64_t until_ms)
{
    struct pollfd pfd = {.fd = probe_engine_fd(engine), .events = POLLIN};
    while (answers < want && probe_now_ms() < until_ms) {
        int timeout = probe_engine_timeout_ms(engine, probe_now_ms());
        if (timeout < 0 || timeout > 10)
            timeout = 10;
        poll(&pfd, 1, timeout);
        probe_engine_run(engine, probe_now_ms());
    }
    return answers >= want ? 0 : -1;
}

int main(int argc, char **argv)
{
    probe_options po = {.connect_timeout_ms = 2000, .read_timeout_ms = 4000, .on_result = on_result};
    probe_target *target = NULL;
    topo_addr a;
    char pw[256] = "", err[256], line[16];
    int every, n, pause_at = 0, rc = 1;

    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: probe_detail HOST PORT USER PASSWORD_FILE EVERY N [PAUSE_AT]\n");
        return 2;
    }
    every = atoi(argv[5]);
    n = atoi(argv[6]);
    if (argc == 8)
        pause_at = atoi(argv[7]);
    if (every < 1 || n < 1 || pause_at < 0 || pause_at >= n) {
        fprintf(stderr, "probe_detail: EVERY and N must be at least 1, PAUSE_AT below N\n");
        return 2;
    }
    if (tool_read_password("probe_detail", argv[4], pw, sizeof(pw)) < 0)
        return 2;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), "%s", argv[1]);
    a.port = atoi(argv[2]);
    if (probe_engine_new(&po, &engine, err, sizeof(err)) < 0 ||
        probe_add(engine, &a, argv[3], pw, NULL, NULL, 50, NULL, &target, err, sizeof(err)) < 0) {
        fprintf(stderr, "probe_detail: %s\n", err);
        goto out;
    }
    probe_set_detail_every(target, every);
    if (pause_at) {
        if (run_until(pause_at, probe_now_ms() + 20000) < 0)
            goto late;
        printf("paused\n");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin)) {
            fprintf(stderr, "probe_detail: no line on stdin after \"paused\"\n");
            goto out;
        }
    }
    if (run_until(n, probe_now_ms() + 20000) < 0)
        goto late;
    rc = 0;
    goto out;
late:
    fprintf(stderr, "probe_detail: %d answers of %d within 20 s\n", answers, n);
out:
    probe_engine_free(engine);
    return rc;
}
