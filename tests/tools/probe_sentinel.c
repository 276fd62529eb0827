/*
 * tests/tools/probe_sentinel.c — the probe engine's fast set (probe_set_sentinel(), issue 17):
 * a sentinel's server that closes its connection while a run hands out routine answers is seen
 * within that run, not at the start of the next one. Used by tests/sim/test_sim_probe_again.py
 * (test_sentinel) against two fleetsim servers.
 *
 *   probe_sentinel HOST_A PORT USER PASSWORD_FILE HOST_B CONTROL_SOCKET on|off
 *
 * One target on A (the sentinel with "on", a plain routine target with "off") and ROUTINE
 * targets on B probed every 100 ms. The engine is run every 50 ms only, so that each run finds
 * a few dozen routine answers ready. In the first routine answer of a run (once all answered
 * once), A is killed through the simulator's control socket (`kill A`: its sessions reset at
 * once), then the answer's handling takes 1 ms more, as a busy controller's would. Prints
 * "same_run S" with S 1 when A's failure was delivered inside the run in which A was killed,
 * 0 when at a later run; exits 0 when it ran, 3 ("inconclusive") when the kill's run had fewer
 * than 4 routine answers left after it (the fast set is looked at every 4 answers).
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "topology/probe/probe.h"
#include "tool_password.h"

#define ROUTINE 48

static probe_target *sent, *routine[ROUTINE];
static int answered[ROUTINE];
static bool armed, killed;
static long run_no, killed_run, failed_run;
static int after_kill; /* routine answers handed out in the kill's run after the kill */
static const char *ctl_path, *kill_addr;

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

/* "kill ADDR" on the simulator's control socket; its reply comes once the sessions are reset. */
static int sim_kill(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char line[512], reply[4096];
    size_t got = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), n;
    if (fd < 0)
        return -1;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl_path);
    n = snprintf(line, sizeof(line), "kill %s\n", kill_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || write(fd, line, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    while (got < sizeof(reply) - 1 && (n = (int)read(fd, reply + got, sizeof(reply) - 1 - got)) > 0) {
        got += (size_t)n;
        if (memchr(reply, '\n', got))
            break;
    }
    close(fd);
    reply[got] = '\0';
    return strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

static void on_result(void *user, probe_target *t, topo_snapshot *snap)
{
    (void)user;
    if (t == sent) {
        if (killed && !snap->ok && !failed_run)
            failed_run = run_no;
        return;
    }
    for (int i = 0; i < ROUTINE; i++)
        if (routine[i] == t)
            answered[i] += snap->ok;
    if (killed && run_no == killed_run)
        after_kill++;
    if (armed && !killed) {
        if (sim_kill() < 0) {
            fprintf(stderr, "probe_sentinel: kill %s failed\n", kill_addr);
            exit(1);
        }
        killed = true;
        killed_run = run_no;
        sleep_ms(1);
    }
}

static bool all_answered(void)
{
    for (int i = 0; i < ROUTINE; i++)
        if (!answered[i])
            return false;
    return true;
}

int main(int argc, char **argv)
{
    probe_options po = {.connect_timeout_ms = 2000, .read_timeout_ms = 4000, .on_result = on_result};
    probe_engine *e = NULL;
    topo_addr a, b;
    char pw[256] = "", err[256];
    int rc = 1;

    if (argc != 8 || (strcmp(argv[7], "on") && strcmp(argv[7], "off"))) {
        fprintf(stderr, "usage: probe_sentinel HOST_A PORT USER PASSWORD_FILE HOST_B CONTROL_SOCKET on|off\n");
        return 2;
    }
    if (tool_read_password("probe_sentinel", argv[4], pw, sizeof(pw)) < 0)
        return 2;
    ctl_path = argv[6];
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), "%s", argv[1]);
    a.port = atoi(argv[2]);
    b = a;
    snprintf(b.host, sizeof(b.host), "%s", argv[5]);
    kill_addr = argv[1];
    if (probe_engine_new(&po, &e, err, sizeof(err)) < 0 ||
        probe_add(e, &a, argv[3], pw, NULL, NULL, 60000, NULL, &sent, err, sizeof(err)) < 0) {
        fprintf(stderr, "probe_sentinel: %s\n", err);
        goto out;
    }
    for (int i = 0; i < ROUTINE; i++)
        if (probe_add(e, &b, argv[3], pw, NULL, NULL, 100, NULL, &routine[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "probe_sentinel: %s\n", err);
            goto out;
        }
    probe_set_sentinel(sent, !strcmp(argv[7], "on"));
    for (int64_t until = probe_now_ms() + 10000; probe_now_ms() < until && !failed_run;) {
        sleep_ms(50);
        run_no++;
        armed = !killed && probe_connected(sent) && all_answered();
        probe_engine_run(e, probe_now_ms());
        if (killed && run_no > killed_run + 20)
            break;
    }
    if (!killed) {
        fprintf(stderr, "probe_sentinel: never armed (routine targets answered: %d)\n", all_answered());
        goto out;
    }
    if (!failed_run) {
        fprintf(stderr, "probe_sentinel: %s's failure never delivered\n", kill_addr);
        goto out;
    }
    printf("killed_run %ld failed_run %ld after_kill %d\n", killed_run, failed_run, after_kill);
    if (failed_run != killed_run && after_kill < 4) {
        printf("inconclusive\n"); /* the run had no routine answer left to hand out after the kill */
        rc = 3;
        goto out;
    }
    printf("same_run %d\n", failed_run == killed_run);
    rc = 0;
out:
    memset(pw, 0, sizeof(pw));
    if (e)
        probe_engine_free(e);
    return rc;
}
