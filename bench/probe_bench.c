/*
 * bench/probe_bench.c — throughput, CPU and memory of the probe engine.
 *
 *   probe_bench --target HOST:PORT [--target ...] --user U --password-file F
 *               --instances N --interval-ms I --seconds S [--warmup-s W]
 *               [--connect-timeout-ms C] [--read-timeout-ms R] [--connect-wait-s X]
 *
 * One probe engine, N probe targets spread round-robin over the targets given
 * (several per server: each is one monitored "instance" to the engine, with
 * its own held connection and the full probe batch). The program
 *
 *   1. reads VmRSS (after touching its own buffers), adds the N targets and
 *      runs the engine until every target has completed one successful probe
 *      (or --connect-wait-s passes: then it reports how many did not and why,
 *      and exits 1);
 *   2. reads VmRSS again: (after - before) / N is the memory per instance
 *      (engine target + client library connection, all in this process);
 *   3. runs --warmup-s seconds unmeasured, then --seconds measured: probes ok
 *      and failed (counted in the result callback), wall time, and this
 *      process's CPU time (getrusage RUSAGE_SELF, user + sys) over the window.
 *
 * Output on stdout: one human line starting with "#", then one JSON object on
 * the last line (machine-readable). Exit status: 0 when every target
 * connected and no probe failed during the measured window, 1 otherwise,
 * 2 for a bad command line.
 *
 * The loop is the daemon's: poll() on probe_engine_fd() with
 * probe_engine_timeout_ms(), then probe_engine_run().
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <mysql.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "topology/instance.h"
#include "topology/probe/probe.h"

#define MAX_TARGETS 64
#define MAX_ERRKINDS 16
#define LAT_BUCKETS 60001 /* probe latency histogram, 1 ms buckets, last = overflow */

typedef struct {
    char msg[sizeof(((topo_snapshot *)0)->error)];
    uint64_t count;
} errkind;

typedef struct {
    int idx;
    uint64_t ok, failed;
    int64_t last_error_ms;
} inst;

typedef struct {
    inst *insts;
    size_t n;
    size_t n_probed_ok;   /* instances with at least one successful probe */
    int measuring;        /* 1 inside the measured window */
    uint64_t ok, failed;  /* in the current phase */
    uint64_t empty;       /* ok but server_id 0: the probe did not parse */
    uint64_t lat[LAT_BUCKETS];
    errkind errs[MAX_ERRKINDS];
    size_t n_errs;
    uint64_t errs_other;
} bench;

static void note_error(bench *b, const char *msg)
{
    for (size_t i = 0; i < b->n_errs; i++) {
        if (strcmp(b->errs[i].msg, msg) == 0) {
            b->errs[i].count++;
            return;
        }
    }
    if (b->n_errs < MAX_ERRKINDS) {
        size_t l = strnlen(msg, sizeof(b->errs[0].msg) - 1);
        memcpy(b->errs[b->n_errs].msg, msg, l);
        b->errs[b->n_errs].msg[l] = 0;
        b->errs[b->n_errs++].count = 1;
    } else {
        b->errs_other++;
    }
}

static void on_result(void *user, probe_target *t, topo_snapshot *snap)
{
    bench *b = user;
    inst *in = probe_tag(t);
    if (snap->ok) {
        if (in->ok++ == 0)
            b->n_probed_ok++;
        b->ok++;
        if (snap->server_id == 0)
            b->empty++;
        int64_t l = snap->probe_latency_ms;
        if (l < 0)
            l = 0;
        if (l >= LAT_BUCKETS - 1)
            l = LAT_BUCKETS - 1;
        b->lat[l]++;
    } else {
        /* Grouped by message across servers (the address is left out). */
        in->failed++;
        b->failed++;
        note_error(b, snap->error[0] ? snap->error : "(no message)");
    }
}

static void reset_phase(bench *b)
{
    b->ok = b->failed = b->empty = 0;
    memset(b->lat, 0, sizeof(b->lat));
    b->n_errs = 0;
    b->errs_other = 0;
}

/* VmRSS / VmHWM in KiB, or -1. */
static long proc_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Make every page of a (zeroed) allocation resident: calloc'd memory can be
 * untouched fresh pages, which would otherwise count in a later RSS delta. */
static void touch(void *p, size_t len)
{
    volatile char *c = p;
    for (size_t i = 0; i < len; i += 4096)
        c[i] = 0;
    if (len)
        c[len - 1] = 0;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void rusage_ctx(long *vol, long *invol)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *vol = ru.ru_nvcsw;
    *invol = ru.ru_nivcsw;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Drive the engine until `until_s` (monotonic) or, when stop_when_all is set,
 * until every instance has one successful probe. Returns loop iterations. */
static uint64_t run_loop(probe_engine *e, bench *b, double until_s, int stop_when_all)
{
    uint64_t iters = 0;
    for (;;) {
        double now_s = mono_s();
        if (now_s >= until_s)
            break;
        if (stop_when_all && b->n_probed_ok == b->n)
            break;
        int64_t now = probe_now_ms();
        int timeout = probe_engine_timeout_ms(e, now);
        int left_ms = (int)((until_s - now_s) * 1000.0) + 1;
        if (timeout < 0 || timeout > left_ms)
            timeout = left_ms;
        struct pollfd pfd = {.fd = probe_engine_fd(e), .events = POLLIN};
        if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
            perror("probe_bench: poll");
            exit(1);
        }
        probe_engine_run(e, probe_now_ms());
        iters++;
    }
    return iters;
}

static uint64_t lat_pct(const bench *b, double p)
{
    uint64_t total = 0, acc = 0;
    for (size_t i = 0; i < LAT_BUCKETS; i++)
        total += b->lat[i];
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(p * (double)total);
    if (want >= total)
        want = total - 1;
    for (size_t i = 0; i < LAT_BUCKETS; i++) {
        acc += b->lat[i];
        if (acc > want)
            return i;
    }
    return LAT_BUCKETS - 1;
}

static json_t *errs_json(const bench *b)
{
    json_t *a = json_array();
    for (size_t i = 0; i < b->n_errs; i++)
        json_array_append_new(a, json_pack("{s:s, s:I}", "error", b->errs[i].msg, "count",
                                           (json_int_t)b->errs[i].count));
    if (b->errs_other)
        json_array_append_new(a, json_pack("{s:s, s:I}", "error", "(other messages)", "count",
                                           (json_int_t)b->errs_other));
    return a;
}

static void print_errs(const bench *b, const char *phase)
{
    for (size_t i = 0; i < b->n_errs; i++)
        fprintf(stderr, "probe_bench: %s: %llu x %s\n", phase, (unsigned long long)b->errs[i].count,
                b->errs[i].msg);
    if (b->errs_other)
        fprintf(stderr, "probe_bench: %s: %llu x other messages\n", phase,
                (unsigned long long)b->errs_other);
}

static int read_password(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f) {
        fprintf(stderr, "probe_bench: cannot open password file %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: probe_bench --target HOST:PORT [--target ...] --user U --password-file F\n"
            "                   --instances N --interval-ms I --seconds S [--warmup-s W]\n"
            "                   [--connect-timeout-ms C] [--read-timeout-ms R] [--connect-wait-s X]\n"
            "\n"
            "N probe targets (each its own held connection, the full probe batch every I ms)\n"
            "are spread round-robin over the targets. Prints a '#' human line and a JSON line.\n"
            "Defaults: --warmup-s 2, --connect-timeout-ms 1000 and --read-timeout-ms 2000\n"
            "(the daemon's defaults), --connect-wait-s 60.\n"
            "Exit: 0 ok, 1 targets did not connect or a probe failed in the window, 2 usage.\n");
}

static long parse_long(const char *opt, const char *v, long min, long max)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < min || x > max) {
        fprintf(stderr, "probe_bench: %s: expected an integer in [%ld, %ld], got '%s'\n", opt, min,
                max, v);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    topo_addr targets[MAX_TARGETS];
    size_t n_targets = 0;
    const char *user = NULL, *password_file = NULL;
    long instances = 0, interval_ms = 0, seconds = 0, warmup_s = 2;
    long connect_timeout_ms = 1000, read_timeout_ms = 2000, connect_wait_s = 60;
    char password[512] = "";
    char err[256];
    static const struct option opts[] = {
        {"target", required_argument, NULL, 't'},
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, 'p'},
        {"instances", required_argument, NULL, 'n'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"seconds", required_argument, NULL, 's'},
        {"warmup-s", required_argument, NULL, 'w'},
        {"connect-timeout-ms", required_argument, NULL, 'C'},
        {"read-timeout-ms", required_argument, NULL, 'R'},
        {"connect-wait-s", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (n_targets == MAX_TARGETS) {
                fprintf(stderr, "probe_bench: at most %d --target\n", MAX_TARGETS);
                return 2;
            }
            if (topo_addr_parse(optarg, 3306, &targets[n_targets], err, sizeof(err)) < 0) {
                fprintf(stderr, "probe_bench: --target %s: %s\n", optarg, err);
                return 2;
            }
            n_targets++;
            break;
        case 'u': user = optarg; break;
        case 'p': password_file = optarg; break;
        case 'n': instances = parse_long("--instances", optarg, 1, 1000000); break;
        case 'i': interval_ms = parse_long("--interval-ms", optarg, 1, 3600000); break;
        case 's': seconds = parse_long("--seconds", optarg, 1, 86400); break;
        case 'w': warmup_s = parse_long("--warmup-s", optarg, 0, 3600); break;
        case 'C': connect_timeout_ms = parse_long("--connect-timeout-ms", optarg, 1, 600000); break;
        case 'R': read_timeout_ms = parse_long("--read-timeout-ms", optarg, 1, 600000); break;
        case 'W': connect_wait_s = parse_long("--connect-wait-s", optarg, 1, 3600); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !n_targets || !user || !instances || !interval_ms || !seconds) {
        fprintf(stderr, "probe_bench: --target, --user, --instances, --interval-ms and --seconds "
                        "are required\n");
        usage(stderr);
        return 2;
    }
    if (password_file && read_password(password_file, password, sizeof(password)) < 0)
        return 2;

    signal(SIGPIPE, SIG_IGN);
    if (mysql_library_init(0, NULL, NULL)) {
        fprintf(stderr, "probe_bench: mysql_library_init failed\n");
        return 1;
    }

    bench *b = calloc(1, sizeof(*b));
    inst *insts = calloc((size_t)instances, sizeof(*insts));
    probe_target **pts = calloc((size_t)instances, sizeof(*pts));
    if (!b || !insts || !pts) {
        fprintf(stderr, "probe_bench: out of memory\n");
        return 1;
    }
    /* Touch the benchmark's own memory now, so that the RSS delta below is
     * the engine's (and the client library's) alone. */
    touch(b, sizeof(*b));
    touch(insts, (size_t)instances * sizeof(*insts));
    touch(pts, (size_t)instances * sizeof(*pts));
    b->insts = insts;
    b->n = (size_t)instances;

    probe_engine *e = NULL;
    probe_options po = {
        .connect_timeout_ms = (int)connect_timeout_ms,
        .read_timeout_ms = (int)read_timeout_ms,
        .on_result = on_result,
        .user = b,
    };
    if (probe_engine_new(&po, &e, err, sizeof(err)) < 0) {
        fprintf(stderr, "probe_bench: %s\n", err);
        return 1;
    }

    /* ---- 1. connect every instance and complete one probe ---- */
    long rss_before = proc_status_kib("VmRSS");
    for (long i = 0; i < instances; i++) {
        insts[i].idx = (int)i;
        if (probe_add(e, &targets[(size_t)i % n_targets], user, password, NULL, NULL, (int)interval_ms,
                      &insts[i], &pts[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "probe_bench: probe_add #%ld: %s\n", i, err);
            return 1;
        }
    }
    long rss_added = proc_status_kib("VmRSS");
    double t_conn0 = mono_s();
    run_loop(e, b, t_conn0 + (double)connect_wait_s, 1);
    double connect_s = mono_s() - t_conn0;
    long rss_connected = proc_status_kib("VmRSS");
    const probe_stats *st = probe_engine_stats(e);
    probe_stats st_conn = *st;
    uint64_t setup_failed = b->failed;
    int rc = 0;

    if (b->n_probed_ok < b->n) {
        size_t never = b->n - b->n_probed_ok;
        fprintf(stderr,
                "probe_bench: %zu of %ld instances never completed a probe within %ld s "
                "(connects ok %llu, connects failed %llu, probes failed %llu, timeouts %llu)\n",
                never, instances, connect_wait_s, (unsigned long long)st->connects_ok,
                (unsigned long long)st->connects_failed, (unsigned long long)st->probes_failed,
                (unsigned long long)st->timeouts);
        print_errs(b, "setup");
        json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "result", "connect_failed",
                              "instances", (json_int_t)instances, "never_probed", (json_int_t)never,
                              "connects_failed", (json_int_t)st->connects_failed, "probes_failed",
                              (json_int_t)st->probes_failed, "errors", errs_json(b));
        char *s = json_dumps(j, JSON_COMPACT);
        printf("# %zu/%ld instances never connected and probed\n%s\n", never, instances, s);
        free(s);
        json_decref(j);
        probe_engine_free(e);
        mysql_library_end();
        return 1;
    }
    if (setup_failed)
        print_errs(b, "setup (retried, all instances connected in the end)");

    /* ---- 2. warm-up, unmeasured ---- */
    reset_phase(b);
    if (warmup_s > 0)
        run_loop(e, b, mono_s() + (double)warmup_s, 0);
    uint64_t warm_failed = b->failed;
    if (warm_failed)
        print_errs(b, "warm-up");
    long rss_warm = proc_status_kib("VmRSS");

    /* ---- 3. the measured window ---- */
    reset_phase(b);
    b->measuring = 1;
    probe_stats st0 = *st;
    long vcsw0, ivcsw0, vcsw1, ivcsw1;
    rusage_ctx(&vcsw0, &ivcsw0);
    double cpu0 = cpu_s();
    double w0 = mono_s();
    uint64_t iters = run_loop(e, b, w0 + (double)seconds, 0);
    double wall = mono_s() - w0;
    double cpu = cpu_s() - cpu0;
    rusage_ctx(&vcsw1, &ivcsw1);
    b->measuring = 0;
    probe_stats st1 = *st;
    long rss_end = proc_status_kib("VmRSS");
    long hwm = proc_status_kib("VmHWM");

    uint64_t ok = b->ok, failed = b->failed;
    double probes_s = wall > 0 ? (double)ok / wall : 0;
    double per_cpu_s = cpu > 0 ? (double)ok / cpu : 0;
    double cpu_us = ok ? cpu * 1e6 / (double)ok : 0;
    double rss_kib_inst = (double)(rss_connected - rss_before) / (double)instances;
    double demand = (double)instances * 1000.0 / (double)interval_ms;
    uint64_t p50 = lat_pct(b, 0.50), p99 = lat_pct(b, 0.99), pmax = lat_pct(b, 1.0);

    if (failed || b->empty)
        rc = 1;
    if (failed)
        print_errs(b, "measured window");

    printf("# instances=%ld interval=%ldms: %.0f probes/s (demand %.0f/s), %.0f probes per CPU-s, "
           "%.1f CPU us/probe (cpu %.2fs over %.2fs wall), RSS %.1f KiB/instance "
           "(%ld -> %ld KiB; end %ld, peak %ld), latency p50 %llums p99 %llums max %llums, "
           "failures %llu%s\n",
           instances, interval_ms, probes_s, demand, per_cpu_s, cpu_us, cpu, wall, rss_kib_inst,
           rss_before, rss_connected, rss_end, hwm, (unsigned long long)p50,
           (unsigned long long)p99, (unsigned long long)pmax, (unsigned long long)failed,
           b->empty ? " (some ok probes had server_id 0!)" : "");

    json_t *j = json_object();
    json_object_set_new(j, "result", json_string(rc ? "failed" : "ok"));
    json_object_set_new(j, "instances", json_integer(instances));
    json_object_set_new(j, "servers", json_integer((json_int_t)n_targets));
    json_object_set_new(j, "interval_ms", json_integer(interval_ms));
    json_object_set_new(j, "seconds", json_real(wall));
    json_object_set_new(j, "demand_probes_per_s", json_real(demand));
    json_object_set_new(j, "probes_ok", json_integer((json_int_t)ok));
    json_object_set_new(j, "probes_failed", json_integer((json_int_t)failed));
    json_object_set_new(j, "probes_ok_empty", json_integer((json_int_t)b->empty));
    json_object_set_new(j, "probes_per_s", json_real(probes_s));
    json_object_set_new(j, "cpu_s", json_real(cpu));
    json_object_set_new(j, "cpu_util", json_real(wall > 0 ? cpu / wall : 0));
    json_object_set_new(j, "probes_per_cpu_s", json_real(per_cpu_s));
    json_object_set_new(j, "cpu_us_per_probe", json_real(cpu_us));
    json_object_set_new(j, "rss_before_kib", json_integer(rss_before));
    json_object_set_new(j, "rss_added_kib", json_integer(rss_added));
    json_object_set_new(j, "rss_connected_kib", json_integer(rss_connected));
    json_object_set_new(j, "rss_after_warmup_kib", json_integer(rss_warm));
    json_object_set_new(j, "rss_end_kib", json_integer(rss_end));
    json_object_set_new(j, "rss_peak_kib", json_integer(hwm));
    json_object_set_new(j, "rss_kib_per_instance", json_real(rss_kib_inst));
    json_object_set_new(j, "latency_ms_p50", json_integer((json_int_t)p50));
    json_object_set_new(j, "latency_ms_p99", json_integer((json_int_t)p99));
    json_object_set_new(j, "latency_ms_max", json_integer((json_int_t)pmax));
    json_object_set_new(j, "loop_iterations", json_integer((json_int_t)iters));
    json_object_set_new(j, "ctx_switches_voluntary", json_integer(vcsw1 - vcsw0));
    json_object_set_new(j, "ctx_switches_involuntary", json_integer(ivcsw1 - ivcsw0));
    json_object_set_new(j, "connect_s", json_real(connect_s));
    json_object_set_new(j, "setup_failures", json_integer((json_int_t)setup_failed));
    json_object_set_new(j, "warmup_failures", json_integer((json_int_t)warm_failed));
    json_object_set_new(j, "engine_window",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "probes_ok",
                                  (json_int_t)(st1.probes_ok - st0.probes_ok), "probes_failed",
                                  (json_int_t)(st1.probes_failed - st0.probes_failed), "connects_ok",
                                  (json_int_t)(st1.connects_ok - st0.connects_ok), "connects_failed",
                                  (json_int_t)(st1.connects_failed - st0.connects_failed), "drops",
                                  (json_int_t)(st1.drops - st0.drops), "timeouts",
                                  (json_int_t)(st1.timeouts - st0.timeouts)));
    json_object_set_new(j, "engine_setup",
                        json_pack("{s:I, s:I, s:I}", "connects_ok", (json_int_t)st_conn.connects_ok,
                                  "connects_failed", (json_int_t)st_conn.connects_failed, "timeouts",
                                  (json_int_t)st_conn.timeouts));
    json_object_set_new(j, "engine_total",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "probes_ok",
                                  (json_int_t)st1.probes_ok, "probes_failed",
                                  (json_int_t)st1.probes_failed, "connects_ok",
                                  (json_int_t)st1.connects_ok, "connects_failed",
                                  (json_int_t)st1.connects_failed, "drops", (json_int_t)st1.drops,
                                  "timeouts", (json_int_t)st1.timeouts));
    json_object_set_new(j, "errors", errs_json(b));
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("%s\n", s);
    free(s);
    json_decref(j);

    probe_engine_free(e);
    mysql_library_end();
    free(pts);
    free(insts);
    free(b);
    return rc;
}
