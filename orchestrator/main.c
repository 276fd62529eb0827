/*
 * orchestrator/main.c — the `myorch` command line: one binary, subcommands.
 *
 * Exit codes (documented in README.md and `myorch help`):
 *   0 success
 *   1 the operation failed (daemon answered an error, servers unreachable)
 *   2 bad command line
 *   3 no daemon answered on the control socket
 *   4 the configuration is invalid
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <math.h>
#include <getopt.h>
#include <jansson.h>
#include <mysql.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "orchestrator/config.h"
#include "orchestrator/serve/control.h"
#include "orchestrator/daemon.h"
#include "orchestrator/drill.h"
#include "orchestrator/act/ready_track.h"
#include "orchestrator/log.h"
#include "orchestrator/act/monitor.h"
#include "orchestrator/decide/report.h"
#include "topology/strbuf.h"
#include "topology/escape.h"

#define EXIT_OP_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NO_DAEMON 3
#define EXIT_BAD_CONFIG 4

#define DEFAULT_CONFIG "/etc/myorch/myorch.ini"

static const char *default_config(void)
{
    const char *e = getenv("MYORCH_CONFIG");
    return e && *e ? e : DEFAULT_CONFIG;
}

static void usage_main(FILE *out)
{
    fprintf(out,
            "usage: myorch COMMAND [OPTIONS]\n"
            "\n"
            "MySQL/MariaDB replication topology monitor and failover controller.\n"
            "\n"
            "Commands:\n"
            "  run            run the controller in the foreground (-c FILE [--watch])\n"
            "  check-config   validate a configuration file (-c FILE)\n"
            "  status         ask the running controller for its state\n"
            "  topology       show the replication tree of each cluster\n"
            "  events         follow the controller's event stream\n"
            "  discover       one-shot discovery from a seed, without a controller\n"
            "  switchover     graceful switchover to a replica (primary alive)\n"
            "  failover       forced failover (primary gone)\n"
            "  relocate       move a replica below another server\n"
            "  maintenance    begin/end a maintenance window (suppresses automatic recovery)\n"
            "  report         availability report: downtime, MTBF, MTTR, SLA budget, last drill\n"
            "  drill          switchover drill there and back, once or on a schedule\n"
            "  recoveries     the recovery audit (failovers, their steps and timings)\n"
            "  ack            lift a cluster's anti-flap block after a recovery\n"
            "  reload         make the running controller load its configuration file again\n"
            "  keygen         make a CURVE key pair for a tcp:// control socket (--out PREFIX)\n"
            "  version        print the version\n"
            "  help           this text; 'myorch COMMAND --help' for a command\n"
            "\n"
            "The configuration file defaults to $MYORCH_CONFIG, else " DEFAULT_CONFIG ".\n"
            "\n"
            "Exit codes: 0 ok, 1 operation failed, 2 bad command line, 3 no controller\n"
            "answered, 4 invalid configuration.\n");
}

static int bad_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "myorch %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'myorch %s --help')\n", cmd);
    return EXIT_USAGE;
}

static int parse_int_arg(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x;
    errno = 0;
    x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        bad_usage(cmd, "%s expects a whole number from %d to %d, not '%s'", opt, lo, hi, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int load_config(const char *path, cfg_config *cfg)
{
    char err[1024];
    if (cfg_load(path, cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "myorch: %s\n", err);
        return -1;
    }
    return 0;
}

static void print_json(json_t *j)
{
    char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (txt) {
        puts(txt);
        free(txt);
    }
}

/* ---- process hardening ------------------------------------------------------------ */

static struct rlimit g_core_limit; /* RLIMIT_CORE as the process started */
static bool g_core_limit_saved;

/*
 * Before any secret is read: no core dump (it would hold the passwords) and no
 * ptrace attach by other processes of the same user (PR_SET_DUMPABLE 0 also
 * makes /proc/<pid>/mem and environ root-only). allow_core_dumps = yes undoes it.
 */
static void secrets_harden(void)
{
    struct rlimit none;
    if (getrlimit(RLIMIT_CORE, &g_core_limit) == 0) {
        g_core_limit_saved = true;
        none = g_core_limit;
        none.rlim_cur = 0;
        setrlimit(RLIMIT_CORE, &none);
    }
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static void secrets_allow_core_dumps(void)
{
    if (g_core_limit_saved)
        setrlimit(RLIMIT_CORE, &g_core_limit);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* ---- run -------------------------------------------------------------------- */

/*
 * One held probe connection per server, plus the executor's, the HTTP and control
 * clients and the state database: a fleet of a few thousand servers needs more
 * descriptors than the usual soft limit (1024 under systemd). The probe engine
 * uses epoll and Connector/C poll(), so no descriptor number is too high: raise
 * the soft limit to the hard one, and warn when even that is short for the seeds
 * (discovered servers add more). Measured with bench/fleet_bench.py at 10,000 servers.
 */
static void raise_nofile(const cfg_config *cfg)
{
    struct rlimit rl;
    size_t seeds = 0;
    for (size_t i = 0; i < cfg->n_clusters; i++)
        seeds += cfg->clusters[i].n_seeds;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)seeds + 256)
        log_warn("only %llu file descriptors for %zu seed servers (one connection each, plus about 256): raise "
                 "the hard limit (systemd: LimitNOFILE=, shell: ulimit -Hn) or some servers cannot be probed",
                 (unsigned long long)rl.rlim_cur, seeds);
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"watch", no_argument, 0, 'w'},
                                         {"no-color", no_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = default_config();
    daemon_options o = {.watch = false, .color = isatty(1)};
    cfg_config cfg = {0};
    char err[1024];
    int c, rc;
    while ((c = getopt_long(argc, argv, "c:wh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'w': o.watch = true; break;
        case 'C': o.color = false; break;
        case 'h':
            printf("usage: myorch run [-c FILE] [--watch] [--no-color]\n\n"
                   "Run the controller in the foreground until SIGINT/SIGTERM. Logs go to stderr, or to\n"
                   "log_file (reopened on SIGUSR1), as text or JSON (log_format).\n"
                   "  -c, --config FILE  configuration (default $MYORCH_CONFIG or " DEFAULT_CONFIG ")\n"
                   "  -w, --watch        print the live topology on stdout whenever it changes\n"
                   "      --no-color     no ANSI colors in the --watch output\n"
                   "Exit codes: 0 clean stop, 1 could not start, 2 bad command line, 4 invalid configuration.\n");
            return 0;
        default: return bad_usage("run", "unknown option");
        }
    }
    if (optind < argc)
        return bad_usage("run", "unexpected argument '%s'", argv[optind]);
    if (load_config(path, &cfg) < 0)
        return EXIT_BAD_CONFIG;
    log_set_level(cfg.log_level);
    if (log_configure(cfg.log_format, cfg.log_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "myorch: %s\n", err);
        cfg_free(&cfg);
        return EXIT_OP_FAILED;
    }
    if (cfg.allow_core_dumps) {
        secrets_allow_core_dumps();
        log_warn("allow_core_dumps = yes: a core dump of this process holds the database passwords");
    }
    raise_nofile(&cfg);
    /* Files the controller creates (state.db and its -wal/-shm, sockets) are its own. */
    umask(077);
    rc = daemon_run(&cfg, &o, err, sizeof(err));
    cfg_free(&cfg);
    log_reset();
    if (rc < 0) {
        fprintf(stderr, "myorch: %s\n", err);
        return EXIT_OP_FAILED;
    }
    return 0;
}

/* ---- check-config -------------------------------------------------------------- */

static int cmd_check_config(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = default_config();
    bool json = false;
    cfg_config cfg = {0};
    char err[1024];
    int c;
    while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'j': json = true; break;
        case 'h':
            printf("usage: myorch check-config [-c FILE] [--json]\n\n"
                   "Validate a configuration file, including its password files, without starting anything.\n"
                   "Exit codes: 0 valid, 2 bad command line, 4 invalid (the message names file, line and key).\n");
            return 0;
        default: return bad_usage("check-config", "unknown option");
        }
    }
    if (optind < argc)
        return bad_usage("check-config", "unexpected argument '%s'", argv[optind]);
    if (cfg_load(path, &cfg, err, sizeof(err)) < 0) {
        if (json) {
            json_t *j = json_pack("{s:b, s:s, s:s}", "ok", 0, "config", path, "error", err);
            print_json(j);
            json_decref(j);
        } else {
            fprintf(stderr, "myorch: %s\n", err);
        }
        return EXIT_BAD_CONFIG;
    }
    if (json) {
        json_t *j = json_pack("{s:b, s:s, s:s, s:i, s:s}", "ok", 1, "config", cfg.path, "state_dir", cfg.state_dir,
                              "poll_interval_ms", cfg.poll_interval_ms, "control_socket", cfg.control_socket);
        json_t *cl = json_array();
        for (size_t i = 0; i < cfg.n_clusters; i++) {
            json_t *seeds = json_array();
            char a[TOPO_ADDR_MAX];
            for (size_t s = 0; s < cfg.clusters[i].n_seeds; s++)
                json_array_append_new(seeds, json_string(topo_addr_str(&cfg.clusters[i].seeds[s], a, sizeof(a))));
            json_array_append_new(cl, json_pack("{s:s, s:o, s:s, s:s, s:i}", "name", cfg.clusters[i].name, "seeds",
                                                seeds, "user", cfg.clusters[i].user, "replication_user",
                                                cfg.clusters[i].replication_user, "poll_interval_ms",
                                                cfg.clusters[i].poll_interval_ms));
        }
        json_object_set_new(j, "clusters", cl);
        print_json(j);
        json_decref(j);
    } else {
        printf("%s: OK, %zu cluster(s)", cfg.path, cfg.n_clusters);
        for (size_t i = 0; i < cfg.n_clusters; i++)
            printf("%s %s (%zu seed%s)", i ? "," : ":", cfg.clusters[i].name, cfg.clusters[i].n_seeds,
                   cfg.clusters[i].n_seeds == 1 ? "" : "s");
        printf("\n");
    }
    cfg_free(&cfg);
    return 0;
}

/* ---- client commands (status, topology, events) ------------------------------------ */

typedef struct {
    const char *config;
    const char *socket;
    const char *cluster;
    const char *key_file;        /* --key-file: the CLI's CURVE secret key */
    const char *server_key_file; /* --server-key-file: the controller's CURVE public key */
    bool json;
    int timeout_ms;
} client_args;

/*
 * Resolve the control (events=false) or event endpoint from --socket or the
 * config, and for a tcp:// endpoint the CURVE keys: the client's from
 * --key-file or control_client_key_file, the server's from --server-key-file
 * or the config's control_secret_key_file. Returns 0 (*use_curve says whether
 * curve was filled) or an exit code.
 */
static int client_target(const char *cmd, const client_args *a, bool events, char *out, size_t len,
                         ctl_curve_client *curve, bool *use_curve)
{
    cfg_config cfg = {0};
    bool have_cfg = false;
    char err[4400];
    int rc = 0;

    *use_curve = false;
    memset(curve, 0, sizeof(*curve));
    if (a->socket) {
        if (fmt_checked(out, len, err, sizeof(err), "--socket", "%s", a->socket) < 0) {
            fprintf(stderr, "myorch %s: %s: give a shorter control endpoint\n", cmd, err);
            return EXIT_USAGE;
        }
    } else {
        if (load_config(a->config, &cfg) < 0) {
            fprintf(stderr, "myorch %s: give -c FILE (the controller's configuration) or --socket ENDPOINT\n", cmd);
            return EXIT_BAD_CONFIG;
        }
        have_cfg = true;
        if (fmt_checked(out, len, err, sizeof(err), events ? "event_socket" : "control_socket", "%s",
                        events ? cfg.event_socket : cfg.control_socket) < 0) {
            fprintf(stderr, "myorch %s: %s\n", cmd, err);
            cfg_free(&cfg);
            return EXIT_BAD_CONFIG;
        }
    }
    if (strncmp(out, "tcp://", 6) != 0)
        goto out;
    if (a->key_file) {
        if (cfg_read_key_file(a->key_file, 1, curve->client_secret, curve->client_public, err, sizeof(err)) < 0) {
            fprintf(stderr, "myorch %s: --key-file %s\n", cmd, err);
            rc = EXIT_USAGE;
            goto out;
        }
    } else if (have_cfg && cfg.control_client_secret_key[0]) {
        memcpy(curve->client_secret, cfg.control_client_secret_key, sizeof(curve->client_secret));
        memcpy(curve->client_public, cfg.control_client_public_key, sizeof(curve->client_public));
    }
    if (a->server_key_file) {
        if (cfg_read_key_file(a->server_key_file, 0, curve->server_public, NULL, err, sizeof(err)) < 0) {
            fprintf(stderr, "myorch %s: --server-key-file %s\n", cmd, err);
            rc = EXIT_USAGE;
            goto out;
        }
    } else if (have_cfg && cfg.control_public_key[0]) {
        memcpy(curve->server_public, cfg.control_public_key, sizeof(curve->server_public));
    }
    *use_curve = true;
out:
    if (have_cfg)
        cfg_free(&cfg);
    if (rc)
        explicit_bzero(curve, sizeof(*curve));
    return rc;
}

static int call_daemon(const char *cmd, const client_args *a, json_t *req, json_t **reply)
{
    char ep[4200], err[1024];
    ctl_curve_client curve;
    bool use_curve;
    int rc;
    if ((rc = client_target(cmd, a, false, ep, sizeof(ep), &curve, &use_curve))) {
        json_decref(req);
        return rc;
    }
    rc = ctl_call(ep, use_curve ? &curve : NULL, req, a->timeout_ms, reply, err, sizeof(err));
    explicit_bzero(&curve, sizeof(curve));
    json_decref(req);
    if (rc < 0) {
        fprintf(stderr, "myorch %s: %s\n", cmd, err);
        return rc == -EACCES ? EXIT_OP_FAILED : rc == -EINVAL ? EXIT_USAGE : EXIT_NO_DAEMON;
    }
    if (!json_is_true(json_object_get(*reply, "ok"))) {
        const char *e = json_string_value(json_object_get(*reply, "error"));
        if (a->json)
            print_json(*reply);
        fprintf(stderr, "myorch %s: ", cmd);
        esc_fputs(e ? e : "the controller reported an error", stderr);
        fputc('\n', stderr);
        json_decref(*reply);
        *reply = NULL;
        return EXIT_OP_FAILED;
    }
    /* Text output shows server-reported strings: escape them once, here (JSON output is encoded). */
    if (!a->json)
        esc_json_strings(*reply);
    return 0;
}

static int parse_client_args(const char *cmd, int argc, char **argv, client_args *a, bool want_cluster,
                             const char *help)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"socket", required_argument, 0, 's'},
                                         {"cluster", required_argument, 0, 'C'},
                                         {"json", no_argument, 0, 'j'},
                                         {"timeout-ms", required_argument, 0, 't'},
                                         {"key-file", required_argument, 0, 'k'},
                                         {"server-key-file", required_argument, 0, 'K'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    a->config = default_config();
    a->timeout_ms = 5000;
    while ((c = getopt_long(argc, argv, "c:s:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 's': a->socket = optarg; break;
        case 'C':
            if (!want_cluster)
                return bad_usage(cmd, "--cluster is not an option of this command");
            if (!*optarg)
                return bad_usage(cmd, "--cluster needs a cluster name");
            a->cluster = optarg;
            break;
        case 'j': a->json = true; break;
        case 't':
            if (parse_int_arg(cmd, "--timeout-ms", optarg, 1, 3600000, &a->timeout_ms) < 0)
                return EXIT_USAGE;
            break;
        case 'k': a->key_file = optarg; break;
        case 'K': a->server_key_file = optarg; break;
        case 'h': printf("%s", help); return -1;
        default: return bad_usage(cmd, "unknown option");
        }
    }
    if (optind < argc)
        return bad_usage(cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

#define CLIENT_OPTS_HEAD                                                                          \
    "  -c, --config FILE   the controller's configuration, to find its socket\n"                 \
    "                      (default $MYORCH_CONFIG or " DEFAULT_CONFIG ")\n"                     \
    "  -s, --socket EP     the control endpoint instead (e.g. ipc:///var/lib/myorch/control.sock)\n" \
    "      --key-file FILE this client's CURVE secret key for a tcp:// endpoint\n"              \
    "                      (default: control_client_key_file of the configuration)\n"            \
    "      --server-key-file FILE  the controller's CURVE public key (its .pub), with --socket\n"
#define CLIENT_OPTS_TAIL                                                                          \
    "      --json          machine-readable output\n"                                             \
    "Exit codes: 0 ok, 1 the controller reported an error, 2 bad command line,\n"                 \
    "3 no controller answered, 4 invalid configuration.\n"
#define CLIENT_OPTS_HELP                                                                          \
    CLIENT_OPTS_HEAD                                                                              \
    "      --timeout-ms N  how long to wait for the controller (default 5000)\n" CLIENT_OPTS_TAIL
/* Operations answer when they have finished: the default wait covers them. */
#define OP_OPTS_HELP                                                                              \
    CLIENT_OPTS_HEAD                                                                              \
    "      --timeout-ms N  how long to wait for the controller's answer (default 120000 plus the\n" \
    "                      catch-up bound; the operation goes on if this command stops waiting)\n" \
    CLIENT_OPTS_TAIL

/* The coordination part of `myorch status` (coordination = etcd; nothing with none). */
static void print_coordination(json_t *co)
{
    json_t *ctls, *c, *lk;
    const char *mode = json_string_value(json_object_get(co, "mode")), *cl;
    size_t i;
    if (!mode || strcmp(mode, "etcd"))
        return;
    esc_json_strings(co);
    printf("coordination etcd: controller %s, lease %s (last keep-alive %lld ms ago), etcd %s (%s)\n",
           json_string_value(json_object_get(co, "controller")),
           json_is_true(json_object_get(co, "lease_ok")) ? "ok" : "NOT TRUSTED: no recovery starts here",
           (long long)json_integer_value(json_object_get(co, "lease_age_ms")),
           json_string_value(json_object_get(co, "etcd_health")),
           json_string_value(json_object_get(co, "etcd_health_why")));
    ctls = json_object_get(co, "controllers");
    printf("  %lld controller(s) vote in the majority rule (every one seen live since this one started, "
           "within the last %lld s)\n",
           (long long)json_integer_value(json_object_get(co, "controllers_voting")),
           (long long)json_integer_value(json_object_get(co, "voter_forget_s")));
    json_array_foreach(ctls, i, c) {
        long long age = (long long)json_integer_value(json_object_get(c, "last_view_age_ms"));
        char agebuf[32];
        if (age >= 0)
            snprintf(agebuf, sizeof(agebuf), "%lld ms ago", age);
        else
            snprintf(agebuf, sizeof(agebuf), "none");
        printf("  controller %-24s last view %s%s\n", json_string_value(json_object_get(c, "name")), agebuf,
               json_is_true(json_object_get(c, "self")) ? "  (this one)" : "");
    }
    json_object_foreach(json_object_get(co, "locks"), cl, lk) {
        const char *holder = json_string_value(json_object_get(lk, "holder"));
        const char *held = json_string_value(json_object_get(lk, "recovery_held"));
        printf("  lock of cluster %-16s %s%s\n", cl, holder ? "held by " : "free", holder ? holder : "");
        if (held)
            printf("    recovery held: %s\n", held);
    }
}

static int cmd_status(int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL;
    json_t *req;
    int rc = parse_client_args("status", argc, argv, &a, true,
                               "usage: myorch status [-c FILE | --socket EP] [--cluster NAME] [--json]\n\n"
                               "The running controller's state: uptime, clusters, probe counters.\n"
                               "      --cluster NAME  only this cluster\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    req = json_pack("{s:s}", "cmd", "status");
    if (a.cluster)
        json_object_set_new(req, "cluster", json_string(a.cluster));
    if ((rc = call_daemon("status", &a, req, &reply)))
        return rc;
    if (a.json) {
        print_json(reply);
    } else {
        json_t *cl = json_object_get(reply, "clusters"), *p = json_object_get(reply, "probes"), *c;
        size_t i;
        printf("myorch %s, pid %lld, up %llds\nconfig %s\nstate  %s\n", json_string_value(json_object_get(reply, "version")),
               (long long)json_integer_value(json_object_get(reply, "pid")),
               (long long)json_integer_value(json_object_get(reply, "uptime_s")),
               json_string_value(json_object_get(reply, "config")),
               json_string_value(json_object_get(reply, "state_dir")));
        printf("probes: %lld ok, %lld failed, %lld connects, %lld drops, %lld timeouts\n",
               (long long)json_integer_value(json_object_get(p, "ok")),
               (long long)json_integer_value(json_object_get(p, "failed")),
               (long long)json_integer_value(json_object_get(p, "connects_ok")),
               (long long)json_integer_value(json_object_get(p, "drops")),
               (long long)json_integer_value(json_object_get(p, "timeouts")));
        json_array_foreach(cl, i, c) {
            const char *pr = json_string_value(json_object_get(c, "primary"));
            printf("cluster %-16s primary %-22s servers %lld (reachable %lld, replication broken %lld)%s\n",
                   json_string_value(json_object_get(c, "name")), pr ? pr : "(none)",
                   (long long)json_integer_value(json_object_get(c, "servers")),
                   (long long)json_integer_value(json_object_get(c, "reachable")),
                   (long long)json_integer_value(json_object_get(c, "replication_broken")),
                   json_is_true(json_object_get(c, "first_round_done")) ? "" : "  [first probe round running]");
            rtk_print(json_object_get(c, "readiness"), stdout);
        }
        print_coordination(json_object_get(reply, "coordination"));
    }
    json_decref(reply);
    return 0;
}

static int cmd_topology(int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL, *req;
    int rc = parse_client_args("topology", argc, argv, &a, true,
                               "usage: myorch topology [-c FILE | --socket EP] [--cluster NAME] [--json]\n\n"
                               "The replication tree of each cluster as the running controller sees it:\n"
                               "host:port, role, read-only, version, server id, replication threads, lag,\n"
                               "GTID position and replication errors.\n"
                               "      --cluster NAME  only this cluster\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    req = json_pack("{s:s}", "cmd", "topology");
    if (a.cluster)
        json_object_set_new(req, "cluster", json_string(a.cluster));
    if ((rc = call_daemon("topology", &a, req, &reply)))
        return rc;
    if (a.json) {
        print_json(reply);
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(reply, "clusters"), i, c) {
            if (i)
                printf("\n");
            topo_render_text(c, stdout, isatty(1));
            rtk_print(json_object_get(c, "readiness"), stdout);
        }
    }
    json_decref(reply);
    return 0;
}

static int print_event(void *user, const char *topic, json_t *ev)
{
    const client_args *a = user;
    const char *cl = json_string_value(json_object_get(ev, "cluster"));
    (void)topic;
    if (a->cluster && (!cl || strcmp(cl, a->cluster)))
        return 0;
    if (a->json) {
        char *t = json_dumps(ev, JSON_COMPACT);
        if (t) {
            puts(t);
            free(t);
        }
    } else {
        char ts[32];
        time_t s;
        esc_json_strings(ev);
        s = (time_t)(json_integer_value(json_object_get(ev, "ts_ms")) / 1000);
        struct tm tm;
        const char *inst = json_string_value(json_object_get(ev, "instance"));
        localtime_r(&s, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s %-5s %-20s %-10s %s%s%s\n", ts, json_string_value(json_object_get(ev, "level")),
               json_string_value(json_object_get(ev, "name")), cl ? cl : "-", inst ? inst : "",
               inst ? "  " : "", json_string_value(json_object_get(ev, "message")));
    }
    fflush(stdout);
    return 0;
}

static int cmd_events(int argc, char **argv)
{
    client_args a = {0};
    char ep[4200], err[1024];
    int rc = parse_client_args("events", argc, argv, &a, true,
                               "usage: myorch events [-c FILE | --socket EP] [--cluster NAME] [--json]\n\n"
                               "Follow the controller's event stream (one line per event) until interrupted.\n"
                               "With --socket, give the event endpoint (e.g. ipc:///var/lib/myorch/events.sock).\n"
                               "      --timeout-ms N  stop after N ms without an event (default: never)\n" CLIENT_OPTS_HELP);
    bool timeout_given = false;
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--timeout-ms", 12))
            timeout_given = true;
    if (rc)
        return rc < 0 ? 0 : rc;
    {
        ctl_curve_client curve;
        bool use_curve;
        if ((rc = client_target("events", &a, true, ep, sizeof(ep), &curve, &use_curve)))
            return rc;
        rc = ctl_subscribe(ep, use_curve ? &curve : NULL, "", timeout_given ? a.timeout_ms : -1, print_event, &a,
                           err, sizeof(err));
        explicit_bzero(&curve, sizeof(curve));
    }
    if (rc < 0) {
        fprintf(stderr, "myorch events: %s\n", err);
        return rc == -EACCES ? EXIT_OP_FAILED : rc == -EINVAL ? EXIT_USAGE : EXIT_NO_DAEMON;
    }
    return 0;
}

static int cmd_ack(int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL, *req;
    int rc = parse_client_args("ack", argc, argv, &a, true,
                               "usage: myorch ack --cluster NAME [-c FILE | --socket EP] [--json]\n\n"
                               "Acknowledge the cluster's recoveries: lifts the anti-flap block\n"
                               "(failover_block_s) so that automatic recovery may act again.\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!a.cluster)
        return bad_usage("ack", "--cluster NAME is required");
    req = json_pack("{s:s, s:s}", "cmd", "ack", "cluster", a.cluster);
    if ((rc = call_daemon("ack", &a, req, &reply)))
        return rc;
    if (a.json)
        print_json(reply);
    else
        printf("cluster %s: anti-flap block lifted (%lld recoveries acknowledged)\n", a.cluster,
               (long long)json_integer_value(json_object_get(reply, "acknowledged")));
    json_decref(reply);
    return 0;
}

static int cmd_reload(int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL, *req;
    int rc = parse_client_args("reload", argc, argv, &a, false,
                               "usage: myorch reload [-c FILE | --socket EP] [--json]\n\n"
                               "Make the running controller load its configuration file again (as SIGHUP\n"
                               "does): clusters added and removed, hooks, timeouts and promotion rules\n"
                               "changed. A file with an error is refused (exit 1) and the running\n"
                               "configuration stays. A reload waits for a running recovery or switchover\n"
                               "to end: it never changes an operation under way. Keys that take a restart:\n"
                               "state_dir, control_*, event_socket, http_*, log_file, log_format.\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    req = json_pack("{s:s}", "cmd", "reload");
    if ((rc = call_daemon("reload", &a, req, &reply)))
        return rc;
    if (a.json) {
        print_json(reply);
    } else if (json_is_true(json_object_get(reply, "applied"))) {
        const char *lbl[] = {"added", "removed", "changed"};
        printf("configuration reloaded from %s", json_string_value(json_object_get(reply, "config")));
        for (size_t k = 0; k < 3; k++) {
            json_t *v = json_object_get(reply, lbl[k]), *e;
            size_t i;
            if (!json_array_size(v))
                continue;
            printf("; %s", lbl[k]);
            json_array_foreach(v, i, e) printf("%s%s", i ? ", " : " ", json_string_value(e));
        }
        printf("\n");
    } else {
        printf("configuration validated; it is applied when the running %s ends\n",
               json_string_value(json_object_get(reply, "waits_for")));
    }
    json_decref(reply);
    return 0;
}

static void print_ms(const char *label, json_t *v, json_t *base)
{
    if (json_is_integer(v) && json_is_integer(base))
        printf("  %-14s +%lld ms\n", label, (long long)(json_integer_value(v) - json_integer_value(base)));
}

static int cmd_recoveries(int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL, *req, *r;
    size_t i;
    long long id = 0;
    /* --id is parsed here; the rest by the common client parser. */
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--id") && k + 1 < argc) {
            char *end;
            id = strtoll(argv[k + 1], &end, 10);
            if (!*argv[k + 1] || *end || id <= 0)
                return bad_usage("recoveries", "--id expects a recovery number, not '%s'", argv[k + 1]);
            for (int j = k; j + 2 <= argc; j++)
                argv[j] = argv[j + 2];
            argc -= 2;
            k--;
        }
    }
    int rc = parse_client_args("recoveries", argc, argv, &a, true,
                               "usage: myorch recoveries [--cluster NAME] [--id N] [-c FILE | --socket EP] [--json]\n\n"
                               "The recovery audit: each failover with its trigger, analysis, old and new\n"
                               "primary, state, lost GTIDs; with --id, its plan and per-step timings.\n"
                               "      --id N          one recovery in detail\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    req = json_pack("{s:s, s:I}", "cmd", "recoveries", "id", (json_int_t)id);
    if (a.cluster)
        json_object_set_new(req, "cluster", json_string(a.cluster));
    if ((rc = call_daemon("recoveries", &a, req, &reply)))
        return rc;
    if (a.json) {
        print_json(reply);
        json_decref(reply);
        return 0;
    }
    json_array_foreach(json_object_get(reply, "recoveries"), i, r) {
        const char *lost = json_string_value(json_object_get(r, "lost_gtids"));
        printf("#%lld %s %s %s (%s) %s → %s  state=%s  lost=%s\n", (long long)json_integer_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "cluster")), json_string_value(json_object_get(r, "trigger")),
               json_string_value(json_object_get(r, "kind")),
               json_string_value(json_object_get(r, "analysis")) ? json_string_value(json_object_get(r, "analysis")) : "-",
               json_string_value(json_object_get(r, "old_primary")) ? json_string_value(json_object_get(r, "old_primary")) : "?",
               json_string_value(json_object_get(r, "new_primary")) ? json_string_value(json_object_get(r, "new_primary")) : "?",
               json_string_value(json_object_get(r, "state")), lost ? (*lost ? lost : "none") : "unknown");
        if (json_string_value(json_object_get(r, "error")))
            printf("  error: %s\n", json_string_value(json_object_get(r, "error")));
        if (id) {
            json_t *st, *base = json_object_get(r, "primary_lost_ms");
            size_t k;
            if (!json_is_integer(base))
                base = json_object_get(r, "started_ms");
            printf("  evidence: %s\n", json_string_value(json_object_get(r, "evidence")));
            print_ms("detected", json_object_get(r, "detected_ms"), base);
            print_ms("started", json_object_get(r, "started_ms"), base);
            print_ms("promoted", json_object_get(r, "promoted_ms"), base);
            print_ms("ended", json_object_get(r, "ended_ms"), base);
            json_array_foreach(json_object_get(r, "steps"), k, st) {
                json_t *s0 = json_object_get(st, "started_ms"), *s1 = json_object_get(st, "ended_ms");
                printf("  %2lld. %-16s %-6s %4lld ms  %s\n", (long long)json_integer_value(json_object_get(st, "idx")),
                       json_string_value(json_object_get(st, "kind")),
                       json_string_value(json_object_get(st, "result")) ? json_string_value(json_object_get(st, "result")) : "…",
                       (long long)(json_is_integer(s1) && json_is_integer(s0) ? json_integer_value(s1) - json_integer_value(s0) : 0),
                       json_string_value(json_object_get(st, "message")) ? json_string_value(json_object_get(st, "message")) : "");
            }
        }
    }
    json_decref(reply);
    return 0;
}

/* ---- operator commands: switchover, failover, relocate, maintenance, report ---------- */

/* Pull "--name VALUE" (or --flag) options the common parser does not know out of argv. */
static const char *take_opt(int *argc, char **argv, const char *name, bool has_value, bool *present)
{
    for (int k = 1; k < *argc; k++) {
        if (strcmp(argv[k], name) != 0)
            continue;
        const char *v = NULL;
        int drop = 1;
        if (has_value) {
            if (k + 1 >= *argc)
                return (const char *)-1;
            v = argv[k + 1];
            drop = 2;
        }
        for (int j = k; j + drop <= *argc; j++)
            argv[j] = argv[j + drop];
        *argc -= drop;
        if (present)
            *present = true;
        return v ? v : "";
    }
    return NULL;
}

static void print_manual_result(const char *cmd, json_t *r)
{
    const char *lost = json_string_value(json_object_get(r, "lost_gtids"));
    printf("%s #%lld %s: %s → %s", cmd, (long long)json_integer_value(json_object_get(r, "recovery_id")),
           json_string_value(json_object_get(r, "state")), json_string_value(json_object_get(r, "old_primary")),
           json_string_value(json_object_get(r, "new_primary")));
    if (json_integer_value(json_object_get(r, "writes_refused_ms")) > 0)
        printf("; writes refused for %lld ms", (long long)json_integer_value(json_object_get(r, "writes_refused_ms")));
    if (lost)
        printf("; lost transactions: %s", *lost ? lost : "none");
    printf("\n");
}

static int cmd_operation(const char *cmd, int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL, *req;
    bool dry = false, force = false;
    const char *to = NULL, *replica = NULL, *below = NULL, *tmo = NULL;
    int timeout_ms = 0, rc;
    char help[4096];
    bool sw = !strcmp(cmd, "switchover"), rl = !strcmp(cmd, "relocate");

    if (!rl) {
        to = take_opt(&argc, argv, "--to", true, NULL);
        take_opt(&argc, argv, "--dry-run", false, &dry);
    }
    if (!strcmp(cmd, "failover"))
        take_opt(&argc, argv, "--force", false, &force);
    if (rl) {
        replica = take_opt(&argc, argv, "--replica", true, NULL);
        below = take_opt(&argc, argv, "--below", true, NULL);
        take_opt(&argc, argv, "--dry-run", false, &dry);
    }
    /* --catch-up-ms bounds the target's catch-up; --timeout-ms (every client command) is how long
     * this command waits for the controller's answer. */
    if (sw && (tmo = take_opt(&argc, argv, "--catch-up-ms", true, NULL)) != NULL && tmo != (const char *)-1 &&
        parse_int_arg(cmd, "--catch-up-ms", tmo, 1, 3600000, &timeout_ms) < 0)
        return EXIT_USAGE;
    if (to == (const char *)-1 || replica == (const char *)-1 || below == (const char *)-1 || tmo == (const char *)-1)
        return bad_usage(cmd, "an option is missing its value");
    if (sw)
        fmt_checked(help, sizeof(help), NULL, 0, "help text",
                 "usage: myorch switchover --cluster NAME [--to HOST:PORT] [--dry-run] [--catch-up-ms N] [--json]\n\n"
                 "Graceful switchover, primary alive. Refused with the reason unless every replica is\n"
                 "reachable and replicating, the target is not errant or delayed and lags less than\n"
                 "switchover_max_lag_s, and no write transaction runs longer than switchover_max_trx_s.\n"
                 "Then: pre_switchover hooks, old primary read-only with client sessions ended, the target\n"
                 "applies its final position (within --catch-up-ms), is promoted, the other replicas and the\n"
                 "old primary replicate from it, post_switchover hooks. A failure before the promotion rolls\n"
                 "back (the old primary is writable again). Without --to, the best candidate.\n"
                 "      --dry-run       print the plan, change nothing\n"
                 "      --catch-up-ms N bound for the target to apply the old primary's final position\n"
                 "                      (default: apply_timeout_ms)\n%s",
                 OP_OPTS_HELP);
    else if (rl)
        fmt_checked(help, sizeof(help), NULL, 0, "help text",
                 "usage: myorch relocate --replica HOST:PORT --below HOST:PORT [--dry-run] [--json]\n\n"
                 "Move a replica under another server by GTID. Refused when the new source lacks\n"
                 "transactions the replica has, has no binary log, or would make a cycle.\n%s",
                 OP_OPTS_HELP);
    else
        fmt_checked(help, sizeof(help), NULL, 0, "help text",
                 "usage: myorch failover --cluster NAME [--to HOST:PORT] [--dry-run] [--force] [--json]\n\n"
                 "Forced failover when the primary is gone, with the same safety rules as automatic\n"
                 "failover (candidate ranking, no dropped transactions, fencing). Refused while the\n"
                 "primary is reachable; refused while replicas still replicate from it unless --force.\n"
                 "With a live primary and a dead intermediate primary, moves that server's replicas\n"
                 "below its source instead. Ignores the anti-flap block and auto_failover = no.\n"
                 "      --dry-run       print the plan, change nothing\n%s",
                 OP_OPTS_HELP);
    rc = parse_client_args(cmd, argc, argv, &a, true, help);
    if (rc)
        return rc < 0 ? 0 : rc;
    /* Without --cluster the daemon picks its only cluster, or says which are known. */
    if (rl && (!replica || !below))
        return bad_usage(cmd, "--replica HOST:PORT and --below HOST:PORT are required");
    req = json_pack("{s:s, s:b, s:b, s:i}", "cmd", cmd, "dry_run", dry, "force", force, "timeout_ms", timeout_ms);
    if (a.cluster)
        json_object_set_new(req, "cluster", json_string(a.cluster));
    if (to)
        json_object_set_new(req, "to", json_string(to));
    if (replica)
        json_object_set_new(req, "replica", json_string(replica));
    if (below)
        json_object_set_new(req, "below", json_string(below));
    /* The answer comes when the operation has finished: wait long enough. */
    if (a.timeout_ms == 5000)
        a.timeout_ms = 120000 + timeout_ms;
    if ((rc = call_daemon(cmd, &a, req, &reply)))
        return rc;
    if (a.json) {
        print_json(reply);
    } else if (json_is_true(json_object_get(reply, "dry_run"))) {
        const char *w = json_string_value(json_object_get(reply, "would_refuse"));
        printf("%s", json_string_value(json_object_get(reply, "text")));
        printf("(dry run: nothing was changed)\n");
        if (w)
            printf("note: it would be refused now: %s\n", w);
    } else {
        print_manual_result(cmd, reply);
    }
    rc = json_is_true(json_object_get(reply, "ok")) ? 0 : EXIT_OP_FAILED;
    if (rc && !a.json)
        fprintf(stderr, "myorch %s: %s\n", cmd,
                json_string_value(json_object_get(reply, "error")) ? json_string_value(json_object_get(reply, "error"))
                                                                   : "failed");
    json_decref(reply);
    return rc;
}

/* The longest maintenance window: a year and a day (an open-ended one needs no --duration). */
#define MAINT_MAX_S (366LL * 86400)

/* "30m", "2h", "45s", "90" (seconds) → seconds, 1 s .. MAINT_MAX_S; never overflows. */
static int parse_duration(const char *v, int64_t *out)
{
    char *end;
    long long n, unit = 1;
    errno = 0;
    if (!*v || !isdigit((unsigned char)*v))
        return -1;
    n = strtoll(v, &end, 10);
    if (errno || n <= 0 || end == v)
        return -1;
    switch (*end) {
    case '\0': case 's': break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return -1;
    }
    if (*end && end[1])
        return -1;
    if (n > MAINT_MAX_S / unit)
        return -1;
    *out = n * unit;
    return 0;
}

static int cmd_maintenance(int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL, *req;
    const char *instance = NULL, *reason = NULL, *dur = NULL, *action;
    int64_t duration = 0;
    int rc;
    if (argc < 2 || (strcmp(argv[1], "begin") && strcmp(argv[1], "end") && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")))
        return bad_usage("maintenance", "expected 'begin' or 'end'");
    action = argv[1];
    if (action[0] != '-') {
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    instance = take_opt(&argc, argv, "--instance", true, NULL);
    reason = take_opt(&argc, argv, "--reason", true, NULL);
    dur = take_opt(&argc, argv, "--duration", true, NULL);
    if (instance == (const char *)-1 || reason == (const char *)-1 || dur == (const char *)-1)
        return bad_usage("maintenance", "an option is missing its value");
    if (dur && parse_duration(dur, &duration) < 0)
        return bad_usage("maintenance", "--duration expects a time like 90s, 30m, 2h or 1d, at most 366d, not '%s'",
                         dur);
    rc = parse_client_args("maintenance", argc, argv, &a, true,
                           "usage: myorch maintenance begin|end --cluster NAME|--instance HOST:PORT [--reason TEXT] "
                           "[--duration 30m]\n\n"
                           "A maintenance window suppresses automatic recovery of the cluster (or, for one instance:\n"
                           "never promotes it, and no automatic recovery while it is the primary). Windows are listed\n"
                           "in 'myorch status'; they end with 'maintenance end' or after --duration.\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (action[0] == '-')
        return 0;
    if (!a.cluster && !instance)
        return bad_usage("maintenance", "--cluster NAME or --instance HOST:PORT is required");
    req = json_pack("{s:s, s:s, s:I}", "cmd", "maintenance", "action", action, "duration_s", (json_int_t)duration);
    if (a.cluster)
        json_object_set_new(req, "cluster", json_string(a.cluster));
    if (instance)
        json_object_set_new(req, "instance", json_string(instance));
    if (reason)
        json_object_set_new(req, "reason", json_string(reason));
    if ((rc = call_daemon("maintenance", &a, req, &reply)))
        return rc;
    if (a.json)
        print_json(reply);
    else
        printf("maintenance %s: %s%s%s\n", !strcmp(action, "begin") ? "begun" : "ended",
               instance ? instance : "cluster ", instance ? "" : json_string_value(json_object_get(reply, "cluster")),
               reason && !strcmp(action, "begin") ? "" : "");
    json_decref(reply);
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    client_args a = {0};
    json_t *reply = NULL, *req, *c;
    const char *since = take_opt(&argc, argv, "--since", true, NULL);
    int64_t since_ms = 0;
    size_t i;
    int rc;
    if (since == (const char *)-1)
        return bad_usage("report", "--since needs a date");
    if (since) {
        struct tm tm;
        char *end;
        memset(&tm, 0, sizeof(tm));
        end = strptime(since, "%Y-%m-%d %H:%M:%S", &tm);
        if (!end || *end) {
            memset(&tm, 0, sizeof(tm));
            end = strptime(since, "%Y-%m-%d", &tm);
        }
        if (!end || *end)
            return bad_usage("report", "--since expects YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS' (UTC), not '%s'", since);
        since_ms = (int64_t)timegm(&tm) * 1000;
    }
    rc = parse_client_args("report", argc, argv, &a, true,
                           "usage: myorch report [--cluster NAME] [--since DATE] [--json]\n\n"
                           "Write availability of each cluster as the controller measured it since monitoring began\n"
                           "(or since DATE, UTC): monitored time, unplanned outages (failures) and planned write\n"
                           "blocks (switchovers) apart, MTBF and MTTR from the unplanned outages, the model\n"
                           "availability A = mu/(lambda+mu) from them, the SLA target (sla_target) and the\n"
                           "downtime budget left (planned blocks count against it unless sla_counts_planned = no).\n"
                           "Durations below a second are in milliseconds. Time the controller was not running\n"
                           "is not counted.\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    req = json_pack("{s:s, s:I}", "cmd", "report", "since_ms", (json_int_t)since_ms);
    if (a.cluster)
        json_object_set_new(req, "cluster", json_string(a.cluster));
    if ((rc = call_daemon("report", &a, req, &reply)))
        return rc;
    if (a.json) {
        print_json(reply);
    } else {
        json_array_foreach(json_object_get(reply, "clusters"), i, c) {
            char mon[32], down[32], planned[32], mtbf[32], mttr[32], left[32];
            double av = json_number_value(json_object_get(c, "availability_pct"));
            double model = json_number_value(json_object_get(c, "model_availability_pct"));
            double left_s = json_number_value(json_object_get(c, "budget_left_s"));
            long long failures = (long long)json_integer_value(json_object_get(c, "failures"));
            long long blocks = (long long)json_integer_value(json_object_get(c, "planned_blocks"));
            bool counts = json_is_true(json_object_get(c, "sla_counts_planned"));
            rep_fmt_ms((double)json_integer_value(json_object_get(c, "monitored_ms")), mon, sizeof(mon));
            rep_fmt_ms((double)json_integer_value(json_object_get(c, "down_ms")), down, sizeof(down));
            rep_fmt_ms((double)json_integer_value(json_object_get(c, "planned_ms")), planned, sizeof(planned));
            rep_fmt_ms(json_number_value(json_object_get(c, "mtbf_s")) * 1000.0, mtbf, sizeof(mtbf));
            rep_fmt_ms(json_number_value(json_object_get(c, "mttr_s")) * 1000.0, mttr, sizeof(mttr));
            rep_fmt_ms(fabs(left_s) * 1000.0, left, sizeof(left));
            if (json_number_value(json_object_get(c, "mtbf_s")) < 0)
                snprintf(mtbf, sizeof(mtbf), "-");
            if (json_number_value(json_object_get(c, "mttr_s")) < 0)
                snprintf(mttr, sizeof(mttr), "-");
            printf("cluster %s\n", json_string_value(json_object_get(c, "name") ? json_object_get(c, "name")
                                                                                 : json_object_get(c, "cluster")));
            printf("  monitored             %s\n", mon);
            if (av >= 0)
                printf("  write availability    %.4f %% (%s)\n", av,
                       counts ? "planned write blocks counted" : "unplanned outages only");
            else
                printf("  write availability    -\n");
            printf("  unplanned outages     %lld, %s in total\n", failures, down);
            printf("  planned write blocks  %lld (switchovers), %s in total\n", blocks, planned);
            printf("  MTBF / MTTR           %s / %s (unplanned outages only)\n", mtbf, mttr);
            if (model >= 0)
                printf("  model A = mu/(lambda+mu)  %.4f %%\n", model);
            printf("  SLA target            %.3f %%, downtime budget %s %s (%s)\n",
                   json_number_value(json_object_get(c, "sla_target_pct")), left, left_s >= 0 ? "left" : "OVER",
                   counts ? "planned write blocks counted: sla_counts_planned = yes"
                          : "planned write blocks not counted: sla_counts_planned = no");
            rtk_print(json_object_get(c, "readiness"), stdout);
            {
                json_t *dr = json_object_get(c, "last_drill"), *df = json_object_get(c, "last_drill_failed");
                if (json_is_object(dr)) {
                    time_t t = (time_t)(json_integer_value(json_object_get(dr, "ended_ms")) / 1000);
                    struct tm tm;
                    char when[32];
                    gmtime_r(&t, &tm);
                    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                    printf("  last successful drill %s UTC: %s -> %s (writes blocked %lld ms) -> back (%lld ms)\n",
                           when, json_string_value(json_object_get(dr, "from_primary")),
                           json_string_value(json_object_get(dr, "via")),
                           (long long)json_integer_value(json_object_get(dr, "there_write_block_ms")),
                           (long long)json_integer_value(json_object_get(dr, "back_write_block_ms")));
                } else {
                    printf("  last successful drill  none ('myorch drill --cluster NAME')\n");
                }
                if (json_is_object(df))
                    printf("  a later drill FAILED: %s\n", json_string_value(json_object_get(df, "error"))
                                                              ? json_string_value(json_object_get(df, "error"))
                                                              : "?");
            }
        }
    }
    json_decref(reply);
    return 0;
}

/* ---- drill ----------------------------------------------------------------------- */

static const char *str_or(const char *s, const char *dflt) { return s ? s : dflt; }

/* The cluster's instance addr in a topology reply: a replica again, not fenced, both threads running? */
static bool back_as_replica(const json_t *topo, const char *addr)
{
    size_t i, k;
    json_t *c, *in;
    json_array_foreach(json_object_get(topo, "clusters"), i, c)
        json_array_foreach(json_object_get(c, "instances"), k, in) {
            const json_t *rep = json_object_get(json_object_get(in, "snapshot"), "replication");
            const char *a = json_string_value(json_object_get(in, "addr"));
            if (!a || strcmp(a, addr))
                continue;
            return json_is_true(json_object_get(in, "reachable")) && !json_is_true(json_object_get(in, "fenced")) &&
                   !strcmp(str_or(json_string_value(json_object_get(in, "role")), ""), "replica") &&
                   !strcmp(str_or(json_string_value(json_object_get(rep, "io_running")), ""), "Yes") &&
                   !strcmp(str_or(json_string_value(json_object_get(rep, "sql_running")), ""), "Yes");
        }
    return false;
}

static int64_t now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One switchover through the control socket: its reply (NULL when refused or failed: call_daemon said why). */
static json_t *drill_switchover(const client_args *a, const char *cluster, const char *to, int catchup_ms)
{
    client_args op = *a;
    json_t *req = json_pack("{s:s, s:b, s:b, s:i}", "cmd", "switchover", "dry_run", 0, "force", 0, "timeout_ms",
                            catchup_ms), *reply = NULL;
    if (cluster)
        json_object_set_new(req, "cluster", json_string(cluster));
    if (to)
        json_object_set_new(req, "to", json_string(to));
    op.json = false;
    op.timeout_ms = 120000 + catchup_ms;
    if (call_daemon("drill", &op, req, &reply))
        return NULL;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        fprintf(stderr, "myorch drill: switchover failed: %s\n",
                str_or(json_string_value(json_object_get(reply, "error")), "?"));
        json_decref(reply);
        return NULL;
    }
    return reply;
}

/*
 * One drill: switchover to a replica (--to, else the best), wait until the old primary
 * replicates from it again (after-care unfences it), switchover back. Recorded in the
 * controller's state database either way. 0 or an exit code.
 */
static int drill_once(const client_args *a, const char *to, int catchup_ms, int back_wait_ms)
{
    client_args q = *a;
    json_t *reply = NULL, *there = NULL, *back = NULL, *rec;
    char from[TOPO_ADDR_MAX + 8] = "", via[TOPO_ADDR_MAX + 8] = "", error[2048] = ""; /* 4 addresses fit */
    int64_t started = now_wall_ms(), deadline;
    int rc;

    q.json = false;
    rec = json_pack("{s:s}", "cmd", "status");
    if (a->cluster)
        json_object_set_new(rec, "cluster", json_string(a->cluster));
    if ((rc = call_daemon("drill", &q, rec, &reply)))
        return rc;
    if (json_array_size(json_object_get(reply, "clusters")) != 1) {
        fprintf(stderr, "myorch drill: this controller manages several clusters: say which one with --cluster\n");
        json_decref(reply);
        return EXIT_USAGE;
    }
    {
        json_t *c = json_array_get(json_object_get(reply, "clusters"), 0);
        const char *p = json_string_value(json_object_get(c, "primary"));
        json_t *rd = json_object_get(c, "readiness");
        if (!p) {
            fprintf(stderr, "myorch drill: cluster %s has no primary now: no drill\n",
                    json_string_value(json_object_get(c, "name")));
            json_decref(reply);
            return EXIT_OP_FAILED;
        }
        snprintf(from, sizeof(from), "%s", p);
        if (!a->cluster)
            q.cluster = NULL;
        if (!json_is_true(json_object_get(rd, "failover_ready")))
            printf("note: failover readiness is NO now (%s): the drill tests the switchover path anyway\n",
                   str_or(json_string_value(json_object_get(rd, "reason_code")), "?"));
    }
    json_decref(reply);
    reply = NULL;
    printf("drill: switchover %s -> %s\n", from, to ? to : "(best replica)");
    fflush(stdout);
    if (!(there = drill_switchover(a, a->cluster, to, catchup_ms))) {
        snprintf(error, sizeof(error), "the switchover away from %s failed or was refused", from);
        goto record;
    }
    snprintf(via, sizeof(via), "%s", str_or(json_string_value(json_object_get(there, "new_primary")), ""));
    printf("drill: %s is the primary; writes were blocked %lld ms\n", via,
           (long long)json_integer_value(json_object_get(there, "writes_refused_ms")));
    /* The way back needs the old primary replicating again (a switchover refuses otherwise). */
    deadline = now_wall_ms() + back_wait_ms;
    for (;;) {
        json_t *t = NULL, *req = json_pack("{s:s}", "cmd", "topology");
        bool ok;
        if (a->cluster)
            json_object_set_new(req, "cluster", json_string(a->cluster));
        if (call_daemon("drill", &q, req, &t) == 0) {
            ok = back_as_replica(t, from);
            json_decref(t);
            if (ok)
                break;
        }
        if (now_wall_ms() > deadline) {
            snprintf(error, sizeof(error),
                     "%s did not replicate from %s within %d ms: the cluster stays on %s "
                     "('myorch switchover --to %s' when it does)", from, via, back_wait_ms, via, from);
            goto record;
        }
        usleep(200 * 1000);
    }
    printf("drill: switchover back %s -> %s\n", via, from);
    fflush(stdout);
    if (!(back = drill_switchover(a, a->cluster, from, catchup_ms))) {
        snprintf(error, sizeof(error), "the switchover back from %s to %s failed or was refused: the cluster stays "
                 "on %s", via, from, via);
        goto record;
    }
    printf("drill: %s is the primary again; writes were blocked %lld ms\n", from,
           (long long)json_integer_value(json_object_get(back, "writes_refused_ms")));
record:
    rec = json_pack("{s:s, s:b, s:I, s:I, s:s, s:s?, s:s?}", "cmd", "drill-record", "drill_ok", !error[0],
                    "started_ms", (json_int_t)started, "ended_ms", (json_int_t)now_wall_ms(), "from_primary", from,
                    "via", via[0] ? via : NULL, "error", error[0] ? error : NULL);
    if (a->cluster)
        json_object_set_new(rec, "cluster", json_string(a->cluster));
    if (there) {
        json_object_set(rec, "there_recovery_id", json_object_get(there, "recovery_id"));
        json_object_set(rec, "there_write_block_ms", json_object_get(there, "writes_refused_ms"));
    }
    if (back) {
        json_object_set(rec, "back_recovery_id", json_object_get(back, "recovery_id"));
        json_object_set(rec, "back_write_block_ms", json_object_get(back, "writes_refused_ms"));
    }
    json_decref(there);
    json_decref(back);
    if (a->json)
        print_json(rec);
    if ((rc = call_daemon("drill", &q, rec, &reply)))
        return rc;
    json_decref(reply);
    if (error[0]) {
        fprintf(stderr, "myorch drill: ");
        esc_fputs(error, stderr);
        fputc('\n', stderr);
        return EXIT_OP_FAILED;
    }
    printf("drill: done, recorded (see 'myorch report')\n");
    return 0;
}

static int cmd_drill(int argc, char **argv)
{
    client_args a = {0};
    const char *to = take_opt(&argc, argv, "--to", true, NULL);
    const char *spec = take_opt(&argc, argv, "--schedule", true, NULL);
    const char *tmo = take_opt(&argc, argv, "--catch-up-ms", true, NULL);
    const char *bw = take_opt(&argc, argv, "--back-wait-ms", true, NULL);
    int catchup_ms = 0, back_wait_ms = 60000, rc;
    drill_sched sched;
    char err[256];

    if (to == (const char *)-1 || spec == (const char *)-1 || tmo == (const char *)-1 || bw == (const char *)-1)
        return bad_usage("drill", "an option is missing its value");
    if (tmo && parse_int_arg("drill", "--catch-up-ms", tmo, 1, 3600000, &catchup_ms) < 0)
        return EXIT_USAGE;
    if (bw && parse_int_arg("drill", "--back-wait-ms", bw, 1000, 3600000, &back_wait_ms) < 0)
        return EXIT_USAGE;
    if (spec && drill_sched_parse(spec, &sched, err, sizeof(err)) < 0)
        return bad_usage("drill", "--schedule: %s", err);
    rc = parse_client_args("drill", argc, argv, &a, true,
                           "usage: myorch drill --cluster NAME [--to HOST:PORT] [--schedule SPEC] [--json]\n\n"
                           "Switchover drill: a switchover to a replica (--to, else the best candidate) and, once\n"
                           "the old primary replicates again, a switchover back, both through the controller with\n"
                           "every safety check and bound of 'myorch switchover'. The write block of each direction\n"
                           "is measured and recorded; 'myorch report' shows the last successful drill.\n"
                           "      --schedule SPEC  keep running and drill on a schedule (UTC): 'every 7d',\n"
                           "                       'daily 03:00' or 'sun 03:00' (DAY: mon..sun); a failed drill\n"
                           "                       is recorded and the schedule goes on\n"
                           "      --catch-up-ms N  bound for each target to apply its source's final position\n"
                           "      --back-wait-ms N how long to wait for the old primary to replicate again\n"
                           "                       before the way back (default 60000)\n" CLIENT_OPTS_HELP);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!spec)
        return drill_once(&a, to, catchup_ms, back_wait_ms);
    for (int64_t last = 0;;) {
        int64_t now = now_wall_ms() / 1000, next = drill_sched_next(&sched, now, last);
        time_t t = (time_t)next;
        struct tm tm;
        char when[32];
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("drill: next drill %s UTC\n", when);
        fflush(stdout);
        while ((now = now_wall_ms() / 1000) < next)
            sleep((unsigned)(next - now > 60 ? 60 : next - now));
        last = next;
        rc = drill_once(&a, to, catchup_ms, back_wait_ms);
        if (rc == EXIT_USAGE || rc == EXIT_BAD_CONFIG)
            return rc;
    }
}

/* ---- discover ------------------------------------------------------------------- */

typedef struct {
    bool verbose;
} discover_ctx;

static void discover_event(void *user, int level, const char *name, mon_cluster *c, const topo_instance *in,
                           const char *message, json_t *detail)
{
    discover_ctx *d = user;
    (void)c;
    (void)in;
    (void)detail;
    if (d->verbose || level <= LOGL_WARN) {
        fprintf(stderr, "%s: ", name);
        esc_fputs(message, stderr);
        fputc('\n', stderr);
    }
}

static int read_password_tty(char *buf, size_t len)
{
    struct termios old, noecho;
    FILE *tty = fopen("/dev/tty", "r+");
    int rc = -1;
    if (!tty)
        return -1;
    fprintf(tty, "Password: ");
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &noecho);
        if (fgets(buf, (int)len, tty)) {
            buf[strcspn(buf, "\r\n")] = '\0';
            rc = 0;
        }
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fprintf(tty, "\n");
    }
    fclose(tty);
    return rc;
}

/* The command line of 'discover'. */
typedef struct {
    conn_params conn;
    trust_list allow;
    bool confirm;
    topo_addr seeds[16];
    size_t n_seeds;
    const char *user, *pwfile;
    bool json;
    int timeout_ms, connect_timeout_ms;
} discover_args;

static void discover_usage(void)
{
    printf("usage: myorch discover --seed HOST:PORT [--seed ...] --user USER [--password-file FILE] [--json]\n\n"
           "One-shot discovery without a controller: connect to the seeds, walk up to the\n"
           "primary and down to every replica, print the tree. For first connection checks.\n"
           "The password comes from --password-file (must not be readable by other users),\n"
           "else it is asked on the terminal. It is never accepted on the command line.\n"
           "  -s, --seed HOST:PORT        a member of the cluster (repeatable)\n"
           "  -u, --user USER             the monitoring user (see sql/grants-*.sql)\n"
           "  -p, --password-file FILE    file holding the password\n"
           "      --timeout-ms N          give up discovering after N ms (default 10000)\n"
           "      --connect-timeout-ms N  per-server connect timeout (default 2000)\n"
           "  -v, --verbose               print every discovery event on stderr\n"
           "      --ssl-mode MODE         disabled, preferred (default), required, verify_ca,\n"
           "                              verify_identity: as the cluster key ssl_mode\n"
           "      --ssl-ca FILE           CA of the servers' certificates (verify_* modes)\n"
           "      --allow LIST            CIDRs / host patterns a replica list may name (besides\n"
           "                              the seeds' hosts), like discover_allow; repeatable\n"
           "      --no-confirm            do not require a Binlog Dump connection (discover_confirm = no)\n"
           "      --json                  machine-readable output\n"
           "Exit codes: 0 every discovered server answered, 1 some server is unreachable or\n"
           "refused us (the message names it), 2 bad command line.\n");
}

/* Parse the options into a (and dctx->verbose). Returns -1 to go on, else the exit code. */
static int discover_parse_args(int argc, char **argv, discover_args *a, discover_ctx *dctx)
{
    static const struct option opts[] = {{"seed", required_argument, 0, 's'},
                                         {"user", required_argument, 0, 'u'},
                                         {"password-file", required_argument, 0, 'p'},
                                         {"json", no_argument, 0, 'j'},
                                         {"timeout-ms", required_argument, 0, 't'},
                                         {"connect-timeout-ms", required_argument, 0, 'T'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"ssl-mode", required_argument, 0, 'M'},
                                         {"ssl-ca", required_argument, 0, 'A'},
                                         {"allow", required_argument, 0, 'a'},
                                         {"no-confirm", no_argument, 0, 'N'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char err[1024];
    int c;

    while ((c = getopt_long(argc, argv, "s:u:p:jvh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (a->n_seeds == 16)
                return bad_usage("discover", "at most 16 --seed options");
            if (topo_addr_parse(optarg, 3306, &a->seeds[a->n_seeds], err, sizeof(err)) < 0)
                return bad_usage("discover", "--seed: %s", err);
            a->n_seeds++;
            break;
        case 'u': a->user = optarg; break;
        case 'p': a->pwfile = optarg; break;
        case 'j': a->json = true; break;
        case 'v': dctx->verbose = true; break;
        case 'a':
            if (trust_list_add(&a->allow, optarg, err, sizeof(err)) < 0) {
                trust_list_free(&a->allow);
                return bad_usage("discover", "--allow: %s", err);
            }
            break;
        case 'N': a->confirm = false; break;
        case 't':
            if (parse_int_arg("discover", "--timeout-ms", optarg, 100, 600000, &a->timeout_ms) < 0)
                return EXIT_USAGE;
            break;
        case 'T':
            if (parse_int_arg("discover", "--connect-timeout-ms", optarg, 10, 60000, &a->connect_timeout_ms) < 0)
                return EXIT_USAGE;
            break;
        case 'M':
            if (conn_ssl_mode_parse(optarg, &a->conn.ssl_mode) < 0)
                return bad_usage("discover", "--ssl-mode: expected disabled, preferred, required, verify_ca or "
                                 "verify_identity");
            break;
        case 'A': a->conn.ssl_ca = optarg; break;
        case 'h':
            discover_usage();
            return 0;
        default: return bad_usage("discover", "unknown option");
        }
    }
    if (optind < argc)
        return bad_usage("discover", "unexpected argument '%s'", argv[optind]);
    if (!a->n_seeds)
        return bad_usage("discover", "--seed HOST:PORT is required");
    if (!a->user)
        return bad_usage("discover", "--user is required");
    if (conn_params_problem(&a->conn))
        return bad_usage("discover", "%s (here: --ssl-mode, --ssl-ca)", conn_params_problem(&a->conn));
    return -1;
}

/* The password from --password-file, else from the terminal. Returns -1 to go on, else the
 * exit code. */
static int discover_password(const discover_args *a, char **password)
{
    char pwbuf[512], err[1024];

    if (a->pwfile) {
        if (cfg_read_secret_file(a->pwfile, password, err, sizeof(err)) < 0) {
            fprintf(stderr, "myorch discover: --password-file %s\n", err);
            return EXIT_USAGE;
        }
    } else if (read_password_tty(pwbuf, sizeof(pwbuf)) == 0) {
        *password = strdup(pwbuf);
        explicit_bzero(pwbuf, sizeof(pwbuf));
    } else {
        return bad_usage("discover", "no terminal to ask the password on: give --password-file FILE");
    }
    return -1;
}

/* A monitor with one cluster, "discovered", holding the seeds. Returns 0 or an exit code
 * (the message printed); *mon is set as soon as it exists. */
static int discover_setup(const discover_args *a, const char *password, discover_ctx *dctx,
                          monitor **mon, mon_cluster **cl)
{
    char err[1024];
    mon_options mo = {.connect_timeout_ms = a->connect_timeout_ms,
                      .read_timeout_ms = a->connect_timeout_ms * 2,
                      .forget_after_s = 3600,
                      .on_event = discover_event,
                      .user = dctx};

    if (mon_new(&mo, mon, err, sizeof(err)) < 0 ||
        mon_add_cluster(*mon, "discovered", a->user, password, NULL, 60000, cl, err, sizeof(err)) < 0 ||
        mon_set_conn(*cl, &a->conn, err, sizeof(err)) < 0 ||
        (mon_cluster_set_trust(*cl, &a->allow, a->confirm) < 0 && snprintf(err, sizeof(err), "out of memory"))) {
        fprintf(stderr, "myorch discover: %s\n", err);
        return EXIT_OP_FAILED;
    }
    for (size_t i = 0; i < a->n_seeds; i++)
        if (mon_add_instance(*mon, *cl, &a->seeds[i], true, NULL, err, sizeof(err)) < 0) {
            fprintf(stderr, "myorch discover: %s\n", err);
            return EXIT_OP_FAILED;
        }
    return 0;
}

/* Loop until every known server has been probed once and no new one appeared. */
static void discover_wait(monitor *mon, mon_cluster *cl, int timeout_ms)
{
    probe_engine *pe = mon_probe_engine(mon);
    int64_t deadline = probe_now_ms() + timeout_ms;
    for (;;) {
        int64_t now = probe_now_ms();
        bool done = true;
        for (size_t i = 0; i < cl->model.n; i++)
            if (!cl->model.v[i]->probed)
                done = false;
        if (done || now >= deadline)
            break;
        int t = probe_engine_timeout_ms(pe, now);
        zmq_pollitem_t it = {.socket = NULL, .fd = probe_engine_fd(pe), .events = ZMQ_POLLIN};
        if (t < 0 || t > 100)
            t = 100;
        zmq_poll(&it, 1, t);
        probe_engine_run(pe, probe_now_ms());
    }
}

/* Print the tree, then the servers that did not answer. Returns the exit code. */
static int discover_print(mon_cluster *cl, bool json)
{
    json_t *cj = topo_cluster_to_json(&cl->model, mon_wall_s());
    size_t bad = 0;
    for (size_t i = 0; i < cl->model.n; i++)
        if (!cl->model.v[i]->reachable)
            bad++;
    if (json)
        print_json(cj);
    else
        topo_render_text(cj, stdout, isatty(1));
    json_decref(cj);
    if (!bad)
        return 0;
    for (size_t i = 0; i < cl->model.n; i++) {
        topo_instance *in = cl->model.v[i];
        char a[TOPO_ADDR_MAX];
        if (!in->reachable) {
            fprintf(stderr, "myorch discover: ");
            esc_fputs(topo_addr_str(&in->addr, a, sizeof(a)), stderr);
            fputs(": ", stderr);
            esc_fputs(in->probed ? in->err : "no answer before --timeout-ms", stderr);
            fputc('\n', stderr);
        }
    }
    return EXIT_OP_FAILED;
}

static int cmd_discover(int argc, char **argv)
{
    discover_args a = {.conn = {.ssl_mode = CONN_SSL_PREFERRED},
                       .allow = {0},
                       .confirm = true,
                       .timeout_ms = 10000,
                       .connect_timeout_ms = 2000};
    char *password = NULL;
    discover_ctx dctx = {0};
    monitor *mon = NULL;
    mon_cluster *cl = NULL;
    int rc;

    if ((rc = discover_parse_args(argc, argv, &a, &dctx)) >= 0)
        return rc;
    if ((rc = discover_password(&a, &password)) >= 0)
        return rc;

    signal(SIGPIPE, SIG_IGN);
    if ((rc = discover_setup(&a, password, &dctx, &mon, &cl)) != 0)
        goto out;
    discover_wait(mon, cl, a.timeout_ms);
    mon_derive(mon);
    rc = discover_print(cl, a.json);
out:
    mon_free(mon);
    trust_list_free(&a.allow);
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    return rc;
}

/* ---- keygen ---------------------------------------------------------------- */

/* Write text to path, which must not exist yet, with exactly this mode. */
static int write_new_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    size_t len = strlen(text);
    if (fd < 0) {
        fprintf(stderr, "myorch keygen: cannot create %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (a key is never overwritten: remove it first or choose another --out)" : "");
        return -1;
    }
    if (write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "myorch keygen: cannot write %s: %s\n", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    if (close(fd) != 0) {
        fprintf(stderr, "myorch keygen: cannot write %s: %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

static int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *prefix = NULL;
    char pub[CFG_KEY_TEXT_LEN + 1], sec[CFG_KEY_TEXT_LEN + 1], line[CFG_KEY_TEXT_LEN + 2];
    char key_path[4096], pub_path[4096];
    int c, rc = EXIT_OP_FAILED;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': prefix = optarg; break;
        case 'h':
            printf("usage: myorch keygen --out PREFIX\n\n"
                   "Make a CURVE key pair for a tcp:// control socket: PREFIX.key (the secret key, mode 0600)\n"
                   "and PREFIX.pub (the public key, mode 0644), one line of Z85 text each. Existing files are\n"
                   "never overwritten. The controller's pair: control_secret_key_file = PREFIX.key, and give\n"
                   "PREFIX.pub to the clients (--server-key-file). A client's pair: put its PREFIX.pub into\n"
                   "control_operator_keys or control_readonly_keys, keep PREFIX.key with the client\n"
                   "(--key-file or control_client_key_file).\n"
                   "Exit codes: 0 written, 1 cannot write, 2 bad command line.\n");
            return 0;
        default: return bad_usage("keygen", "unknown option");
        }
    }
    if (optind < argc)
        return bad_usage("keygen", "unexpected argument '%s'", argv[optind]);
    if (!prefix || !*prefix)
        return bad_usage("keygen", "--out PREFIX is required (writes PREFIX.key and PREFIX.pub)");
    if (snprintf(key_path, sizeof(key_path), "%s.key", prefix) >= (int)sizeof(key_path) ||
        snprintf(pub_path, sizeof(pub_path), "%s.pub", prefix) >= (int)sizeof(pub_path))
        return bad_usage("keygen", "--out: path too long");
    if (!zmq_has("curve")) {
        fprintf(stderr, "myorch keygen: this libzmq was built without CURVE\n");
        return EXIT_OP_FAILED;
    }
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "myorch keygen: cannot make a key pair: %s\n", zmq_strerror(zmq_errno()));
        return EXIT_OP_FAILED;
    }
    snprintf(line, sizeof(line), "%s\n", sec);
    if (write_new_file(key_path, line, 0600) < 0)
        goto out;
    snprintf(line, sizeof(line), "%s\n", pub);
    if (write_new_file(pub_path, line, 0644) < 0) {
        unlink(key_path);
        goto out;
    }
    printf("wrote %s (secret key, keep it private) and %s (public key %s)\n", key_path, pub_path, pub);
    rc = 0;
out:
    explicit_bzero(sec, sizeof(sec));
    explicit_bzero(line, sizeof(line));
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd;
    int rc;
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage_main(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("myorch 0.1.0\n");
        return 0;
    }
    secrets_harden();
    mysql_library_init(0, NULL, NULL);
    argv[1] = argv[0];
    argc--;
    argv++;
    if (!strcmp(cmd, "run"))
        rc = cmd_run(argc, argv);
    else if (!strcmp(cmd, "check-config"))
        rc = cmd_check_config(argc, argv);
    else if (!strcmp(cmd, "status"))
        rc = cmd_status(argc, argv);
    else if (!strcmp(cmd, "topology"))
        rc = cmd_topology(argc, argv);
    else if (!strcmp(cmd, "events"))
        rc = cmd_events(argc, argv);
    else if (!strcmp(cmd, "discover"))
        rc = cmd_discover(argc, argv);
    else if (!strcmp(cmd, "ack"))
        rc = cmd_ack(argc, argv);
    else if (!strcmp(cmd, "reload"))
        rc = cmd_reload(argc, argv);
    else if (!strcmp(cmd, "recoveries"))
        rc = cmd_recoveries(argc, argv);
    else if (!strcmp(cmd, "switchover") || !strcmp(cmd, "failover") || !strcmp(cmd, "relocate"))
        rc = cmd_operation(cmd, argc, argv);
    else if (!strcmp(cmd, "maintenance"))
        rc = cmd_maintenance(argc, argv);
    else if (!strcmp(cmd, "report"))
        rc = cmd_report(argc, argv);
    else if (!strcmp(cmd, "drill"))
        rc = cmd_drill(argc, argv);
    else if (!strcmp(cmd, "keygen"))
        rc = cmd_keygen(argc, argv);
    else {
        fprintf(stderr, "myorch: unknown command '%s'\n\n", cmd);
        usage_main(stderr);
        rc = EXIT_USAGE;
    }
    mysql_library_end();
    return rc;
}
