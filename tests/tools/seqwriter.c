/*
 * tests/tools/seqwriter.c — a client that writes sequence numbers, for tests
 * and benchmarks of failover and switchover (what the application sees).
 *
 * It inserts 1, 2, 3, ... one row per autocommit transaction into a table
 * (n BIGINT PRIMARY KEY). A number counts as acknowledged when the server
 * answered OK. On any error it reconnects (with --follow: to whichever target
 * is writable) and retries the same number; a duplicate-key answer on retry
 * means the earlier attempt committed without its OK reaching us.
 *
 *   seqwriter --target H:P[,H:P...] --user U --password-file F [--follow]
 *             [--table lab.seq] [--duration-s S] [--rate N] [--out FILE]
 *
 * Stops after --duration-s or on SIGTERM/SIGINT and prints one JSON line:
 * acked count, the acknowledged numbers as ranges, errors, the longest time
 * without a successful write (max_gap_ms) and when it happened, and every
 * gap of at least --gap-threshold-ms (default 50) as [start_ms, length_ms].
 */
#include <errno.h>
#include <mysql.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_password.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int s) { (void)s; g_stop = 1; }

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    char host[256];
    int port;
} target;

static MYSQL *connect_to(const target *t, const char *user, const char *pw)
{
    MYSQL *m = mysql_init(NULL);
    unsigned int ct = 1, rt = 2;
    my_bool off = 0;
    if (!m)
        return NULL;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
    if (!mysql_real_connect(m, t->host, user, pw, NULL, (unsigned)t->port, NULL, 0)) {
        mysql_close(m);
        return NULL;
    }
    return m;
}

static bool writable(MYSQL *m)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    bool ok = false;
    if (mysql_query(m, "SELECT @@read_only") != 0 || !(r = mysql_store_result(m)))
        return false;
    if ((row = mysql_fetch_row(r)) && row[0])
        ok = strcmp(row[0], "0") == 0;
    mysql_free_result(r);
    return ok;
}

/* Acknowledged numbers as compact ranges. */
typedef struct {
    int64_t *lo, *hi;
    size_t n, cap;
} ranges;

static void ranges_add(ranges *r, int64_t v)
{
    if (r->n && r->hi[r->n - 1] + 1 == v) {
        r->hi[r->n - 1] = v;
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->lo = realloc(r->lo, r->cap * sizeof(*r->lo));
        r->hi = realloc(r->hi, r->cap * sizeof(*r->hi));
        if (!r->lo || !r->hi) {
            fprintf(stderr, "seqwriter: out of memory\n");
            exit(2);
        }
    }
    r->lo[r->n] = r->hi[r->n] = v;
    r->n++;
}

int main(int argc, char **argv)
{
    target targets[16];
    size_t n_targets = 0;
    const char *user = "app", *pwfile = NULL, *table = "lab.seq", *out = NULL;
    char pw[256] = "", sql[256], err_sample[512] = "";
    bool follow = false;
    double duration_s = 0, rate = 0;
    int64_t seq = 1, acked = 0, errors = 0, dups = 0, last_ok = 0, max_gap = 0, gap_at = 0, start;
    ranges acked_r = {0};
    int64_t gap_threshold = 50, gaps_start[1024], gaps_len[1024];
    size_t n_gaps = 0;
    MYSQL *m = NULL;
    size_t cur = 0;
    FILE *o = stdout;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--target") && v) {
            char *copy = strdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && n_targets < 16; t = strtok_r(NULL, ",", &save)) {
                char *colon = strrchr(t, ':');
                if (!colon) {
                    fprintf(stderr, "seqwriter: --target expects host:port\n");
                    return 2;
                }
                *colon = '\0';
                snprintf(targets[n_targets].host, sizeof(targets[n_targets].host), "%s", t);
                targets[n_targets].port = atoi(colon + 1);
                n_targets++;
            }
            free(copy);
            i++;
        } else if (!strcmp(a, "--user") && v) {
            user = v;
            i++;
        } else if (!strcmp(a, "--password-file") && v) {
            pwfile = v;
            i++;
        } else if (!strcmp(a, "--table") && v) {
            table = v;
            i++;
        } else if (!strcmp(a, "--duration-s") && v) {
            duration_s = atof(v);
            i++;
        } else if (!strcmp(a, "--rate") && v) {
            rate = atof(v);
            i++;
        } else if (!strcmp(a, "--start") && v) {
            seq = atoll(v);
            i++;
        } else if (!strcmp(a, "--out") && v) {
            out = v;
            i++;
        } else if (!strcmp(a, "--gap-threshold-ms") && v) {
            gap_threshold = atoll(v);
            i++;
        } else if (!strcmp(a, "--follow")) {
            follow = true;
        } else {
            fprintf(stderr, "usage: seqwriter --target H:P[,H:P] --user U --password-file F [--follow] [--table T] "
                            "[--duration-s S] [--rate N] [--start N] [--out FILE]\n");
            return 2;
        }
    }
    if (!n_targets || !pwfile) {
        fprintf(stderr, "seqwriter: --target and --password-file are required\n");
        return 2;
    }
    if (tool_read_password("seqwriter", pwfile, pw, sizeof(pw)) < 0)
        return 2;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    mysql_library_init(0, NULL, NULL);
    start = last_ok = now_ms();
    while (!g_stop && (duration_s <= 0 || now_ms() - start < (int64_t)(duration_s * 1000))) {
        if (!m) {
            /* Find a server to write to: with --follow the writable one. */
            for (size_t k = 0; k < n_targets && !m && !g_stop; k++) {
                size_t t = (cur + k) % n_targets;
                MYSQL *c = connect_to(&targets[t], user, pw);
                if (c && (!follow || writable(c))) {
                    m = c;
                    cur = t;
                } else if (c) {
                    mysql_close(c);
                }
            }
            if (!m) {
                errors++;
                usleep(20 * 1000);
                continue;
            }
        }
        snprintf(sql, sizeof(sql), "INSERT INTO %s (n) VALUES (%lld)", table, (long long)seq);
        if (mysql_query(m, sql) == 0) {
            int64_t t = now_ms();
            if (t - last_ok > max_gap) {
                max_gap = t - last_ok;
                gap_at = last_ok;
            }
            if (t - last_ok >= gap_threshold && n_gaps < 1024) {
                gaps_start[n_gaps] = last_ok;
                gaps_len[n_gaps] = t - last_ok;
                n_gaps++;
            }
            last_ok = t;
            ranges_add(&acked_r, seq);
            acked++;
            seq++;
            if (rate > 0)
                usleep((useconds_t)(1e6 / rate));
            continue;
        }
        if (mysql_errno(m) == 1062) {
            /* Committed earlier, its OK lost with the connection: present, not acknowledged. */
            dups++;
            seq++;
            continue;
        }
        errors++;
        if (!err_sample[0])
            snprintf(err_sample, sizeof(err_sample), "%u: %s", mysql_errno(m), mysql_error(m));
        mysql_close(m);
        m = NULL;
        usleep(10 * 1000);
    }
    {
        int64_t t = now_ms();
        if (t - last_ok > max_gap && acked == 0) {
            max_gap = t - last_ok;
            gap_at = last_ok;
        }
    }
    if (m)
        mysql_close(m);
    if (out && !(o = fopen(out, "w"))) {
        fprintf(stderr, "seqwriter: cannot write %s: %s\n", out, strerror(errno));
        return 2;
    }
    fprintf(o, "{\"acked\": %lld, \"errors\": %lld, \"dup_on_retry\": %lld, \"next\": %lld, \"max_gap_ms\": %lld, "
               "\"max_gap_started_ms\": %lld, \"started_ms\": %lld, \"first_error\": \"",
            (long long)acked, (long long)errors, (long long)dups, (long long)seq, (long long)max_gap,
            (long long)gap_at, (long long)start);
    for (const char *c = err_sample; *c; c++)
        if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
            fputc(*c, o);
    fprintf(o, "\", \"acked_ranges\": [");
    for (size_t i = 0; i < acked_r.n; i++)
        fprintf(o, "%s[%lld, %lld]", i ? ", " : "", (long long)acked_r.lo[i], (long long)acked_r.hi[i]);
    fprintf(o, "], \"gaps\": [");
    for (size_t i = 0; i < n_gaps; i++)
        fprintf(o, "%s[%lld, %lld]", i ? ", " : "", (long long)gaps_start[i], (long long)gaps_len[i]);
    fprintf(o, "]}\n");
    if (o != stdout)
        fclose(o);
    free(acked_r.lo);
    free(acked_r.hi);
    mysql_library_end();
    return 0;
}
