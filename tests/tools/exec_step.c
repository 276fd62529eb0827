/*
 * tests/tools/exec_step.c — run one recovery step of the executor against a
 * real server whose flavor the plan does not know (a server the controller
 * never probed: it started while that server was down), the way the daemon
 * runs it. Used by tests/integration/test_exec_unknown_flavor.py.
 *
 *   exec_step fence|demote HOST PORT USER PASSWORD_FILE
 *
 * The password comes from a file (never argv). Prints one line per executor
 * message ("end ok|failed: <message>"); exits 0 when the plan succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/act/executor.h"

static int ok_all = 1;

static void on_msg(void *user, const exec_msg *m)
{
    (void)user;
    if (m->kind == EXEC_STEP_END) {
        printf("end %s: %s\n", m->ok ? "ok" : "failed", m->message);
        if (!m->ok)
            ok_all = 0;
    } else if (m->kind == EXEC_DONE) {
        printf("done %s\n", m->ok ? "ok" : "failed");
        if (!m->ok)
            ok_all = 0;
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    plan_spec plan;
    plan_step step;
    exec_creds creds;
    char pw[256];
    FILE *f;
    size_t n;

    if (argc != 6 || (strcmp(argv[1], "fence") && strcmp(argv[1], "demote"))) {
        fprintf(stderr, "usage: exec_step fence|demote HOST PORT USER PASSWORD_FILE\n");
        return 2;
    }
    if (!(f = fopen(argv[5], "r"))) {
        perror(argv[5]);
        return 2;
    }
    n = fread(pw, 1, sizeof(pw) - 1, f);
    fclose(f);
    pw[n] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';

    memset(&step, 0, sizeof(step));
    step.kind = strcmp(argv[1], "fence") == 0 ? PLAN_STEP_FENCE : PLAN_STEP_DEMOTE;
    snprintf(step.target.addr.host, sizeof(step.target.addr.host), "%s", argv[2]);
    step.target.addr.port = atoi(argv[3]);
    step.target.flavor = TOPO_FLAVOR_UNKNOWN; /* never probed */
    dialect_caps_init(&step.target.caps, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, TOPO_SEMISYNC_NAMES_NONE,
                      TOPO_SEMISYNC_NAMES_NONE);
    step.timeout_ms = 5000;
    memset(&plan, 0, sizeof(plan));
    snprintf(plan.cluster, sizeof(plan.cluster), "test");
    snprintf(plan.kind, sizeof(plan.kind), "failover");
    plan.v = &step;
    plan.n = 1;

    memset(&creds, 0, sizeof(creds));
    snprintf(creds.user, sizeof(creds.user), "%s", argv[4]);
    creds.password = pw;
    creds.connect_timeout_ms = 2000;
    creds.conn.p.ssl_mode = CONN_SSL_PREFERRED;
    creds.repl_ssl.ssl = -1;
    creds.repl_ssl.verify_server_cert = -1;
    exec_run_sync(&plan, &creds, NULL, on_msg, NULL);
    return ok_all ? 0 : 1;
}
