/*
 * tests/tools/etcd_driver.c — drives orchestrator/ha/etcd.c against a real etcd for
 * tests/integration/test_etcd.py: the same loop shape as the daemon (poll on
 * etcd_fd() with etcd_timeout_ms()), commands on stdin, JSON lines on stdout.
 *
 *   etcd_driver --endpoints URLS --name NAME [--prefix P] [--ttl-ms N]
 *               [--user U --password-file F] [--cacert F] [--cert F --key F]
 *
 * Commands (one per line):
 *   lock CLUSTER            want the cluster's lock
 *   release CLUSTER         give it up
 *   publish CLUSTER JSON    publish a view
 *   fence CLUSTER [remote]  the fencing check with the last token this driver held
 *                           (remote: skip the local lease deadline, ask etcd only)
 *   keep CLUSTER            take a snapshot now and keep it as it is (a recovery's fence:
 *                           its auth token is the one of this moment)
 *   fence-kept CLUSTER [remote]  the fencing check with the kept snapshot
 *   status                  lease, health, locks, controllers, views
 *   quit
 * Output: {"event":...} for client events, {"reply":CMD,...} for commands.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "orchestrator/config.h"
#include "orchestrator/ha/etcd.h"
#include "topology/probe/probe.h"

#define MAXC 16

static struct {
    char cluster[ETCD_CLUSTER_MAX];
    etcd_fence *fence;   /* the last token held */
    etcd_fence *kept;    /* taken by 'keep', never refreshed */
    int64_t token;
} wanted[MAXC];
static size_t n_wanted;

static void out(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s) {
        printf("%s\n", s);
        fflush(stdout);
    }
    free(s);
    json_decref(j);
}

static void on_event(void *user, const char *name, const char *cluster, const char *msg)
{
    (void)user;
    out(json_pack("{s:s, s:s, s:s, s:I}", "event", name, "cluster", cluster, "msg", msg, "t_ms",
                  (json_int_t)probe_now_ms()));
}

static json_t *status(etcd_client *c, int64_t now)
{
    char why[300];
    const etcd_controller *ctl;
    const etcd_peer_view *pv;
    size_t n;
    etcd_health h = etcd_get_health(c, now, why, sizeof(why));
    json_t *j = json_pack("{s:s, s:b, s:I, s:I, s:s, s:s}", "reply", "status", "lease_ok", etcd_lease_ok(c, now),
                          "lease_id", (json_int_t)etcd_lease_id(c), "lease_age_ms",
                          (json_int_t)etcd_lease_age_ms(c, now), "health", etcd_health_name(h), "health_why", why);
    json_t *locks = json_object(), *ctls = json_array(), *views = json_array();
    for (size_t i = 0; i < n_wanted; i++) {
        int64_t tok = 0;
        bool held = etcd_lock_held(c, wanted[i].cluster, now, &tok);
        json_object_set_new(locks, wanted[i].cluster,
                            json_pack("{s:b, s:I, s:s}", "held", held, "token", (json_int_t)tok, "holder",
                                      etcd_lock_holder(c, wanted[i].cluster)));
    }
    n = etcd_controllers(c, &ctl);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ctls, json_string(ctl[i].name));
    n = etcd_views(c, &pv);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(views, json_pack("{s:s, s:s, s:O, s:I}", "controller", pv[i].controller, "cluster",
                                               pv[i].cluster, "view", pv[i].view, "age_ms",
                                               (json_int_t)(now - pv[i].seen_ms)));
    json_object_set_new(j, "locks", locks);
    json_object_set_new(j, "controllers", ctls);
    json_object_set_new(j, "views", views);
    return j;
}

static int find_or_add(const char *cluster)
{
    for (size_t i = 0; i < n_wanted; i++)
        if (!strcmp(wanted[i].cluster, cluster))
            return (int)i;
    if (n_wanted >= MAXC || strlen(cluster) >= ETCD_CLUSTER_MAX)
        return -1;
    snprintf(wanted[n_wanted].cluster, ETCD_CLUSTER_MAX, "%s", cluster);
    return (int)n_wanted++;
}

static void command(etcd_client *c, char *line, bool *quit)
{
    char err[512] = "";
    char *cmd = strtok(line, " \n"), *arg = strtok(NULL, " \n"), *rest = strtok(NULL, "\n");
    int64_t now = probe_now_ms();
    int k, rc;
    if (!cmd)
        return;
    if (!strcmp(cmd, "quit")) {
        *quit = true;
        return;
    }
    if (!strcmp(cmd, "status")) {
        out(status(c, now));
        return;
    }
    if (!arg || (k = find_or_add(arg)) < 0) {
        out(json_pack("{s:s, s:s}", "reply", cmd, "error", "missing or bad cluster"));
        return;
    }
    if (!strcmp(cmd, "lock")) {
        rc = etcd_lock_want(c, arg, err, sizeof(err));
        out(json_pack("{s:s, s:i, s:s}", "reply", cmd, "rc", rc, "error", err));
    } else if (!strcmp(cmd, "release")) {
        rc = etcd_lock_release(c, arg);
        out(json_pack("{s:s, s:i}", "reply", cmd, "rc", rc));
    } else if (!strcmp(cmd, "publish")) {
        json_t *v = rest ? json_loads(rest, 0, NULL) : NULL;
        rc = v ? etcd_publish(c, arg, v, err, sizeof(err)) : -EINVAL;
        json_decref(v);
        out(json_pack("{s:s, s:i, s:s}", "reply", cmd, "rc", rc, "error", v ? err : "bad JSON"));
    } else if (!strcmp(cmd, "keep")) {
        etcd_fence_free(wanted[k].kept);
        wanted[k].kept = NULL;
        rc = etcd_fence_take(c, arg, now, &wanted[k].kept, err, sizeof(err));
        out(json_pack("{s:s, s:i, s:s}", "reply", cmd, "rc", rc, "error", err));
    } else if (!strcmp(cmd, "fence") || !strcmp(cmd, "fence-kept")) {
        etcd_fence *f = !strcmp(cmd, "fence") ? wanted[k].fence : wanted[k].kept;
        if (!f) {
            out(json_pack("{s:s, s:i, s:s}", "reply", cmd, "rc", -ENOENT, "error", "never held"));
            return;
        }
        rc = etcd_fence_check(f, now, rest && !strcmp(rest, "remote"), NULL, NULL, err, sizeof(err));
        out(json_pack("{s:s, s:i, s:s, s:I}", "reply", cmd, "rc", rc, "error", err, "token",
                      (json_int_t)etcd_fence_token(f)));
    } else {
        out(json_pack("{s:s, s:s}", "reply", cmd, "error", "unknown command"));
    }
}

int main(int argc, char **argv)
{
    etcd_options o = {.prefix = "/myorch", .lease_ttl_ms = 3000, .on_event = on_event};
    etcd_client *c = NULL;
    char err[512], line[8192];
    char *password = NULL;
    size_t have = 0;
    bool quit = false;
    int rc = 1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--endpoints"))
            o.endpoints = argv[i + 1];
        else if (!strcmp(argv[i], "--name"))
            o.name = argv[i + 1];
        else if (!strcmp(argv[i], "--prefix"))
            o.prefix = argv[i + 1];
        else if (!strcmp(argv[i], "--ttl-ms"))
            o.lease_ttl_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--user"))
            o.user = argv[i + 1];
        else if (!strcmp(argv[i], "--password-file")) {
            if (cfg_read_secret_file(argv[i + 1], &password, err, sizeof(err)) < 0) {
                fprintf(stderr, "etcd_driver: %s\n", err);
                return 2;
            }
            o.password = password;
        } else if (!strcmp(argv[i], "--cacert"))
            o.cacert = argv[i + 1];
        else if (!strcmp(argv[i], "--cert"))
            o.cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            o.key = argv[i + 1];
        else {
            fprintf(stderr, "etcd_driver: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (etcd_new(&o, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "etcd_driver: %s\n", err);
        goto out;
    }
    while (!quit) {
        int64_t now = probe_now_ms();
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = etcd_fd(c), .events = POLLIN}};
        int t = etcd_timeout_ms(c, now);
        if (poll(p, 2, t > 100 ? 100 : t) < 0 && errno != EINTR)
            break;
        etcd_run(c, probe_now_ms());
        now = probe_now_ms();
        for (size_t i = 0; i < n_wanted; i++) {
            int64_t tok;
            /* A fresh snapshot while held (its local deadline moves with the keep-alives). */
            if (etcd_lock_held(c, wanted[i].cluster, now, &tok)) {
                etcd_fence_free(wanted[i].fence);
                wanted[i].fence = NULL;
                if (etcd_fence_take(c, wanted[i].cluster, now, &wanted[i].fence, err, sizeof(err)) == 0)
                    wanted[i].token = tok;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(0, line + have, sizeof(line) - 1 - have);
            if (n <= 0)
                break;
            have += (size_t)n;
            line[have] = '\0';
            char *nl;
            while ((nl = strchr(line, '\n'))) {
                size_t used = (size_t)(nl - line) + 1;
                char one[8192];
                memcpy(one, line, used);
                one[used] = '\0';
                memmove(line, line + used, have - used + 1);
                have -= used;
                command(c, one, &quit);
            }
            if (have >= sizeof(line) - 1)
                have = 0;
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < n_wanted; i++) {
        etcd_fence_free(wanted[i].fence);
        etcd_fence_free(wanted[i].kept);
    }
    etcd_free(c);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    return rc;
}
