/*
 * tests/unit/test_dialect.c — unit tests for topology/dialect.c.
 *
 * Table-driven: flavor/version detection, probe batch statements per
 * version, parsing of real server output (fixtures/dialect/, read by the
 * small fixture reader below) into topo_snapshot for MariaDB 10.11, MySQL 8.0
 * and MySQL 8.4, error cases, and the exact text of the recovery statements.
 * Run from tests/ (ctest's WORKING_DIRECTORY).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/cluster.h"
#include "topology/dialect.h"

#define FXDIR "fixtures/dialect/"

/* ======================================================================== */
/* Fixture reader                                                            */
/* ======================================================================== */

typedef enum {
    FX_G,       /* mysql client \G: "*** 1. row ***", "   Column: value" */
    FX_TSV_V,   /* mysqltest vertical: "Column<TAB>value" */
    FX_TSV,     /* tab-separated table: header line + rows */
    FX_BOX,     /* mysql client box table: +---+ / | a | b | */
} fx_fmt;

typedef struct {
    const char *from, *to;   /* whole-cell replacement (mysqltest masks) */
} fx_sub;

typedef struct {
    dialect_result res;
    char **names, **cells;
    size_t n_names, n_cells, cap_names, cap_cells;
} fx;

static void fx_free(fx *f)
{
    for (size_t i = 0; i < f->n_names; i++)
        free(f->names[i]);
    for (size_t i = 0; i < f->n_cells; i++)
        free(f->cells[i]);
    free(f->names);
    free(f->cells);
    memset(f, 0, sizeof(*f));
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

static void push(char ***arr, size_t *n, size_t *cap, char *v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *arr = realloc(*arr, *cap * sizeof(char *));
        assert_non_null(*arr);
    }
    (*arr)[(*n)++] = v;
}

/* Cell value after substitutions; "NULL" → NULL. Returns heap copy or NULL. */
static char *cell_value(const char *v, const fx_sub *subs)
{
    for (const fx_sub *s = subs; s && s->from; s++)
        if (strcmp(v, s->from) == 0) {
            v = s->to;
            break;
        }
    if (strcmp(v, "NULL") == 0)
        return NULL;
    return xstrdup(v);
}

static void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* Split the file into lines (heap array of heap strings, '\r' removed). */
static char **read_lines(const char *path, size_t *n_out)
{
    FILE *fp = fopen(path, "r");
    char **lines = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;

    if (!fp)
        fail_msg("cannot open fixture %s (run from tests/)", path);
    while ((len = getline(&line, &lcap, fp)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        push(&lines, &n, &cap, xstrdup(line));
    }
    free(line);
    fclose(fp);
    *n_out = n;
    return lines;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

/* "   Name: value" → name/value (pointers into a modified copy). */
static bool g_name_line(char *line, char **name, char **value)
{
    char *p = line, *start;

    while (*p == ' ')
        p++;
    start = p;
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
        return false;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
           *p == '_')
        p++;
    if (*p != ':' || (p[1] != '\0' && p[1] != ' '))
        return false;
    *p = '\0';
    *name = start;
    *value = p[1] ? p + 2 : p + 1;
    rtrim(*value);
    return true;
}

/* Add one (name, value) of a vertical row; first row defines the names. */
static void vertical_add(fx *f, size_t row, size_t *col, const char *name, const char *value,
                         const fx_sub *subs)
{
    if (row == 0) {
        push(&f->names, &f->n_names, &f->cap_names, xstrdup(name));
    } else {
        if (*col >= f->n_names || strcmp(f->names[*col], name) != 0)
            fail_msg("fixture row %zu: column %zu is '%s', expected '%s'", row + 1, *col, name,
                     *col < f->n_names ? f->names[*col] : "(none)");
    }
    push(&f->cells, &f->n_cells, &f->cap_cells, cell_value(value, subs));
    (*col)++;
}

static void split_push_names(fx *f, char *line, char sep)
{
    char *p = line;
    for (;;) {
        char *q = strchr(p, sep);
        if (q)
            *q = '\0';
        push(&f->names, &f->n_names, &f->cap_names, xstrdup(p));
        if (!q)
            break;
        p = q + 1;
    }
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static char *trim_both(char *s)
{
    while (*s == ' ')
        s++;
    rtrim(s);
    return s;
}

/*
 * Load the block after the occurrence-th line equal to marker (trailing
 * blanks ignored) in fixtures/dialect/<file>, in the given layout.
 */
static void fx_load(fx *f, const char *file, const char *marker, int occurrence, fx_fmt fmt,
                    const fx_sub *subs)
{
    char path[256];
    size_t n, i, start = 0;
    char **lines;
    int seen = 0;

    memset(f, 0, sizeof(*f));
    snprintf(path, sizeof(path), FXDIR "%s", file);
    lines = read_lines(path, &n);
    for (i = 0; i < n; i++) {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s", lines[i]);
        rtrim(tmp);
        if (strcmp(tmp, marker) == 0 && ++seen == occurrence) {
            start = i + 1;
            break;
        }
    }
    if (i == n)
        fail_msg("marker '%s' #%d not found in %s", marker, occurrence, path);

    if (fmt == FX_G) {
        size_t row = 0, col = 0;
        bool in_row = false;
        for (i = start; i < n; i++) {
            char *line = lines[i], *name, *value;
            char probe[512];
            snprintf(probe, sizeof(probe), "%s", line);
            rtrim(probe);
            if (strncmp(probe, "****", 4) == 0) {
                if (in_row) {
                    if (col != f->n_names)
                        fail_msg("fixture row %zu has %zu columns, expected %zu", row + 1, col,
                                 f->n_names);
                    row++;
                }
                in_row = true;
                col = 0;
                continue;
            }
            if (!in_row || probe[0] == '\0' || probe[0] == '#' || strstr(probe, " in set (") ||
                strncmp(probe, "Empty set", 9) == 0 || strncmp(probe, "mysql>", 6) == 0 ||
                strncmp(probe, "mariadb>", 8) == 0)
                break;
            if (g_name_line(line, &name, &value)) {
                vertical_add(f, row, &col, name, value, subs);
            } else {
                /* Continuation of the previous value (e.g. ",\n" in a GTID set). */
                char **last;
                size_t len;
                if (f->n_cells == 0 || col == 0)
                    fail_msg("continuation line without a value: '%s'", line);
                last = &f->cells[f->n_cells - 1];
                assert_non_null(*last);
                rtrim(line);
                len = strlen(*last) + 1 + strlen(line) + 1;
                *last = realloc(*last, len);
                assert_non_null(*last);
                strcat(*last, "\n");
                strcat(*last, line);
            }
        }
        if (in_row && col != f->n_names)
            fail_msg("last fixture row has %zu columns, expected %zu", col, f->n_names);
    } else if (fmt == FX_TSV_V) {
        size_t row = 0, col = 0;
        for (i = start; i < n; i++) {
            char *line = lines[i], *tab = strchr(line, '\t');
            if (!tab || line[0] == '#')
                break;
            *tab = '\0';
            if (f->n_names > 0 && col > 0 && strcmp(line, f->names[0]) == 0) {
                if (col != f->n_names)
                    fail_msg("fixture row %zu has %zu columns, expected %zu", row + 1, col,
                             f->n_names);
                row++;
                col = 0;
            }
            vertical_add(f, row, &col, line, tab + 1, subs);
        }
        if (col != f->n_names)
            fail_msg("last fixture row has %zu columns, expected %zu", col, f->n_names);
    } else if (fmt == FX_TSV) {
        size_t tabs;
        if (start >= n)
            fail_msg("no header after marker '%s'", marker);
        tabs = count_char(lines[start], '\t');
        split_push_names(f, lines[start], '\t');
        for (i = start + 1; i < n; i++) {
            char *p = lines[i];
            if (p[0] == '#' || count_char(p, '\t') != tabs)
                break;
            for (;;) {
                char *q = strchr(p, '\t');
                if (q)
                    *q = '\0';
                push(&f->cells, &f->n_cells, &f->cap_cells, cell_value(p, subs));
                if (!q)
                    break;
                p = q + 1;
            }
        }
    } else { /* FX_BOX */
        int borders = 0;
        for (i = start; i < n && borders < 3; i++) {
            char *p = lines[i];
            if (p[0] == '+') {
                borders++;
                continue;
            }
            if (p[0] != '|')
                break;
            rtrim(p);
            p++;
            if (p[strlen(p) - 1] == '|')
                p[strlen(p) - 1] = '\0';
            for (;;) {
                char *q = strchr(p, '|');
                if (q)
                    *q = '\0';
                if (borders == 1)
                    push(&f->names, &f->n_names, &f->cap_names, xstrdup(trim_both(p)));
                else
                    push(&f->cells, &f->n_cells, &f->cap_cells, cell_value(trim_both(p), subs));
                if (!q)
                    break;
                p = q + 1;
            }
        }
    }
    free_lines(lines, n);

    assert_true(f->n_names > 0);
    if (f->n_cells % f->n_names != 0)
        fail_msg("fixture %s '%s': %zu cells for %zu columns", file, marker, f->n_cells,
                 f->n_names);
    f->res.n_cols = f->n_names;
    f->res.n_rows = f->n_cells / f->n_names;
    f->res.names = (const char *const *)f->names;
    f->res.cells = (const char *const *)f->cells;
}

/* Rename a column (to make a required one "missing"). */
static void fx_rename(fx *f, const char *from, const char *to)
{
    for (size_t i = 0; i < f->n_names; i++)
        if (strcmp(f->names[i], from) == 0) {
            free(f->names[i]);
            f->names[i] = xstrdup(to);
            return;
        }
    fail_msg("fixture has no column %s", from);
}

/* Replace a cell (value NULL = SQL NULL). */
static void fx_set(fx *f, size_t row, const char *col, const char *value)
{
    for (size_t i = 0; i < f->n_names; i++)
        if (strcmp(f->names[i], col) == 0) {
            char **c = &f->cells[row * f->n_names + i];
            free(*c);
            *c = value ? xstrdup(value) : NULL;
            return;
        }
    fail_msg("fixture has no column %s", col);
}

/* ======================================================================== */
/* Helpers                                                                   */
/* ======================================================================== */

static void assert_str_or_null(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay, needle);
}

static dialect_result mkres(size_t n_cols, size_t n_rows, const char *const *names,
                            const char *const *cells)
{
    dialect_result r = {.n_cols = n_cols, .n_rows = n_rows, .names = names, .cells = cells};
    return r;
}

/* Apply a fixture block to a fresh snapshot; expect rc. */
static int apply_fixture(topo_flavor f, dialect_query_kind kind, const char *file,
                         const char *marker, int occ, fx_fmt fmt, const fx_sub *subs,
                         topo_snapshot *snap, char *err, size_t errlen)
{
    fx x;
    int rc;

    fx_load(&x, file, marker, occ, fmt, subs);
    rc = dialect_apply(f, kind, &x.res, snap, err, errlen);
    fx_free(&x);
    return rc;
}

/* ======================================================================== */
/* dialect_detect                                                            */
/* ======================================================================== */

typedef struct {
    const char *version, *comment;
    int rc;
    topo_flavor flavor;
    int major, minor, patch;
    const char *err_part;
} detect_case;

static const detect_case detect_cases[] = {
    {"10.11.6-MariaDB-0+deb12u1-log", "Debian 12", 0, TOPO_FLAVOR_MARIADB, 10, 11, 6, NULL},
    {"10.11.19-MariaDB-0+deb12u1-log", "Debian 12", 0, TOPO_FLAVOR_MARIADB, 10, 11, 19, NULL},
    {"5.5.5-10.11.6-MariaDB", NULL, 0, TOPO_FLAVOR_MARIADB, 10, 11, 6, NULL},
    {"5.5.5-10.6.16-MariaDB-log", "", 0, TOPO_FLAVOR_MARIADB, 10, 6, 16, NULL},
    {"11.4.2-MariaDB", "mariadb.org binary distribution", 0, TOPO_FLAVOR_MARIADB, 11, 4, 2, NULL},
    {"10.6.16", "mariadb.org binary distribution", 0, TOPO_FLAVOR_MARIADB, 10, 6, 16, NULL},
    {"10.4.32-MariaDB", NULL, 0, TOPO_FLAVOR_MARIADB, 10, 4, 32, NULL},
    {"10.3.39-MariaDB", NULL, -ENOTSUP, TOPO_FLAVOR_MARIADB, 10, 3, 39, "MariaDB 10.3.39 is not supported"},
    {"8.4.3", "MySQL Community Server - GPL", 0, TOPO_FLAVOR_MYSQL, 8, 4, 3, NULL},
    {"8.0.36-0ubuntu0.22.04.1", "(Ubuntu)", 0, TOPO_FLAVOR_MYSQL, 8, 0, 36, NULL},
    {"8.0.35-27", "Percona Server (GPL), Release 27, Revision 2f8eeab2", 0, TOPO_FLAVOR_MYSQL, 8, 0, 35, NULL},
    {"8.0.20-log", NULL, 0, TOPO_FLAVOR_MYSQL, 8, 0, 20, NULL},
    {"9.1.0", "MySQL Community Server - GPL", 0, TOPO_FLAVOR_MYSQL, 9, 1, 0, NULL},
    {"8.0", NULL, 0, TOPO_FLAVOR_MYSQL, 8, 0, 0, NULL},
    {"5.7.44-log", "MySQL Community Server (GPL)", -ENOTSUP, TOPO_FLAVOR_MYSQL, 5, 7, 44, "MySQL 5.7.44 is not supported"},
    {"5.5.5-10.1.48-MariaDB", NULL, -ENOTSUP, TOPO_FLAVOR_MARIADB, 10, 1, 48, "need MariaDB 10.4"},
    {"", NULL, -EINVAL, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, "cannot parse"},
    {"MariaDB", NULL, -EINVAL, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, "cannot parse"},
    {"8", NULL, -EINVAL, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, "cannot parse"},
    {"8.x.1", NULL, -EINVAL, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, "cannot parse"},
    {"99999.0.0", NULL, -EINVAL, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, "cannot parse"},
};

static void test_detect(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(detect_cases) / sizeof(detect_cases[0]); i++) {
        const detect_case *c = &detect_cases[i];
        topo_flavor f = TOPO_FLAVOR_UNKNOWN;
        int ma = 0, mi = 0, pa = 0, rc;
        char err[256] = "";

        rc = dialect_detect(c->version, c->comment, &f, &ma, &mi, &pa, err, sizeof(err));
        if (rc != c->rc)
            fail_msg("detect('%s'): rc %d, want %d (%s)", c->version, rc, c->rc, err);
        if (rc != -EINVAL) {
            assert_int_equal(f, c->flavor);
            assert_int_equal(ma, c->major);
            assert_int_equal(mi, c->minor);
            assert_int_equal(pa, c->patch);
        }
        if (c->err_part)
            assert_contains(err, c->err_part);
    }
    /* NULL version */
    {
        topo_flavor f;
        int a, b, c;
        char err[64];
        assert_int_equal(dialect_detect(NULL, NULL, &f, &a, &b, &c, err, sizeof(err)), -EINVAL);
    }
}

/* ======================================================================== */
/* dialect_probe_batch                                                       */
/* ======================================================================== */

typedef struct {
    topo_flavor f;
    int major, minor, patch;
    const char *replica_status, *binlog_status, *replicas, *lru;
} batch_case;

static const batch_case batch_cases[] = {
    {TOPO_FLAVOR_MARIADB, 10, 4, 32, "SHOW ALL SLAVES STATUS", "SHOW MASTER STATUS", "SHOW SLAVE HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MARIADB, 10, 5, 0, "SHOW ALL SLAVES STATUS", "SHOW MASTER STATUS", "SHOW SLAVE HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MARIADB, 10, 5, 1, "SHOW ALL SLAVES STATUS", "SHOW MASTER STATUS", "SHOW REPLICA HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MARIADB, 10, 5, 2, "SHOW ALL SLAVES STATUS", "SHOW BINLOG STATUS", "SHOW REPLICA HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MARIADB, 10, 6, 16, "SHOW ALL SLAVES STATUS", "SHOW BINLOG STATUS", "SHOW REPLICA HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MARIADB, 10, 11, 6, "SHOW ALL SLAVES STATUS", "SHOW BINLOG STATUS", "SHOW REPLICA HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MARIADB, 11, 4, 2, "SHOW ALL SLAVES STATUS", "SHOW BINLOG STATUS", "SHOW REPLICA HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 0, 20, "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "SHOW SLAVE HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 0, 21, "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "SHOW SLAVE HOSTS", "log_slave_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 0, 22, "SHOW REPLICA STATUS", "SHOW MASTER STATUS", "SHOW REPLICAS", "log_slave_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 0, 25, "SHOW REPLICA STATUS", "SHOW MASTER STATUS", "SHOW REPLICAS", "log_slave_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 0, 26, "SHOW REPLICA STATUS", "SHOW MASTER STATUS", "SHOW REPLICAS", "log_replica_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 0, 30, "SHOW REPLICA STATUS", "SHOW MASTER STATUS", "SHOW REPLICAS", "log_replica_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 1, 0, "SHOW REPLICA STATUS", "SHOW MASTER STATUS", "SHOW REPLICAS", "log_replica_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 2, 0, "SHOW REPLICA STATUS", "SHOW BINARY LOG STATUS", "SHOW REPLICAS", "log_replica_updates"},
    {TOPO_FLAVOR_MYSQL, 8, 4, 3, "SHOW REPLICA STATUS", "SHOW BINARY LOG STATUS", "SHOW REPLICAS", "log_replica_updates"},
    {TOPO_FLAVOR_MYSQL, 9, 1, 0, "SHOW REPLICA STATUS", "SHOW BINARY LOG STATUS", "SHOW REPLICAS", "log_replica_updates"},
};

/* Split a batch on ';' into at most max statements (copy in buf). */
static size_t split_batch(const char *sql, char *buf, size_t buflen, char **stmts, size_t max)
{
    size_t n = 0;
    char *p;

    snprintf(buf, buflen, "%s", sql);
    p = buf;
    while (n < max) {
        char *q = strchr(p, ';');
        stmts[n++] = p;
        if (!q)
            break;
        *q = '\0';
        p = q + 1;
    }
    return n;
}

static void test_probe_batch(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(batch_cases) / sizeof(batch_cases[0]); i++) {
        const batch_case *c = &batch_cases[i];
        for (int with_lag = 0; with_lag < 2; with_lag++) {
            dialect_batch b;
            char err[256] = "", buf[4096], *st[10], want[64];
            const char *lag = "SELECT TIMESTAMPDIFF(MICROSECOND, ts, NOW(6)) / 1e6 FROM meta.heartbeat";
            size_t n;
            int rc;

            rc = dialect_probe_batch(c->f, c->major, c->minor, c->patch, with_lag ? lag : NULL,
                                     &b, err, sizeof(err));
            if (rc != 0)
                fail_msg("batch %d.%d.%d: %d %s", c->major, c->minor, c->patch, rc, err);
            /* MariaDB reads the semi-sync variables in the first SELECT. */
            bool mdb = c->f == TOPO_FLAVOR_MARIADB;
            /* MySQL adds SEMISYNC_VARS and RECEIVE (performance_schema receive progress). */
            size_t want_n = (mdb ? 6 : 8) + (with_lag ? 1 : 0);
            size_t dump_at = mdb ? 5 : 6;
            static const dialect_query_kind kmdb[] = {DIALECT_Q_VARS, DIALECT_Q_REPLICA_STATUS,
                                                      DIALECT_Q_BINLOG_STATUS, DIALECT_Q_REPLICAS,
                                                      DIALECT_Q_SEMISYNC_STATUS, DIALECT_Q_DUMP_HOSTS, DIALECT_Q_LAG};
            static const dialect_query_kind kmy[] = {DIALECT_Q_VARS, DIALECT_Q_REPLICA_STATUS,
                                                     DIALECT_Q_BINLOG_STATUS, DIALECT_Q_REPLICAS,
                                                     DIALECT_Q_SEMISYNC_VARS, DIALECT_Q_SEMISYNC_STATUS,
                                                     DIALECT_Q_DUMP_HOSTS, DIALECT_Q_RECEIVE, DIALECT_Q_LAG};
            assert_int_equal(b.n, want_n);
            for (size_t k = 0; k < b.n; k++)
                assert_int_equal(b.kinds[k], mdb ? kmdb[k] : kmy[k]);
            n = split_batch(b.sql, buf, sizeof(buf), st, 10);
            assert_int_equal(n, b.n);
            assert_true(strncmp(st[0], "SELECT @@global.server_id AS server_id, ", 40) == 0);
            snprintf(want, sizeof(want), "@@global.%s AS %s", c->lru, c->lru);
            assert_contains(st[0], want);
            if (c->f == TOPO_FLAVOR_MARIADB) {
                assert_contains(st[0], "@@global.gtid_slave_pos AS gtid_slave_pos");
                assert_null(strstr(st[0], "gtid_executed"));
            } else {
                assert_contains(st[0], "@@global.gtid_executed AS gtid_executed");
                assert_contains(st[0], "@@global.super_read_only AS super_read_only");
                assert_contains(st[0], "@@global.gtid_mode AS gtid_mode");
                assert_null(strstr(st[0], "gtid_slave_pos"));
            }
            assert_string_equal(st[1], c->replica_status);
            assert_string_equal(st[2], c->binlog_status);
            assert_string_equal(st[3], c->replicas);
            if (mdb) {
                assert_contains(st[0], "@@global.rpl_semi_sync_master_enabled AS rpl_semi_sync_master_enabled");
                assert_string_equal(st[4], "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'");
            } else {
                assert_string_equal(st[4], "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'");
                assert_string_equal(st[5], "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'");
                assert_true(strncmp(st[7], "SELECT s.CHANNEL_NAME AS CHANNEL_NAME", 37) == 0);
                assert_contains(st[7], "FROM performance_schema.replication_connection_status s");
            }
            assert_string_equal(st[dump_at], "SHOW PROCESSLIST");
            if (with_lag)
                assert_string_equal(st[b.n - 1], lag);
            dialect_batch_free(&b);
            assert_null(b.sql);
            assert_int_equal(b.n, 0);
        }
    }
}

/*
 * The lean batch is the full one without the detail kinds (SHOW REPLICAS / SLAVE HOSTS and
 * SHOW PROCESSLIST), statement for statement, in the same order.
 */
static void test_probe_batch_lean(void **state)
{
    (void)state;
    assert_true(dialect_kind_is_detail(DIALECT_Q_REPLICAS));
    assert_true(dialect_kind_is_detail(DIALECT_Q_DUMP_HOSTS));
    assert_false(dialect_kind_is_detail(DIALECT_Q_REPLICA_STATUS));
    assert_false(dialect_kind_is_detail(DIALECT_Q_SEMISYNC_STATUS));
    for (size_t i = 0; i < sizeof(batch_cases) / sizeof(batch_cases[0]); i++) {
        const batch_case *c = &batch_cases[i];
        for (int with_lag = 0; with_lag < 2; with_lag++) {
            dialect_batch full, lean;
            char err[256] = "", fbuf[4096], lbuf[4096], *fst[10], *lst[10];
            const char *lag = with_lag ? "SELECT 1.5" : NULL;
            size_t fn, ln, k = 0;

            assert_int_equal(dialect_probe_batch(c->f, c->major, c->minor, c->patch, lag, &full, err, sizeof(err)), 0);
            assert_int_equal(dialect_probe_batch_lean(c->f, c->major, c->minor, c->patch, lag, &lean, err, sizeof(err)),
                             0);
            assert_int_equal(lean.n, full.n - 2);
            fn = split_batch(full.sql, fbuf, sizeof(fbuf), fst, 10);
            ln = split_batch(lean.sql, lbuf, sizeof(lbuf), lst, 10);
            assert_int_equal(fn, full.n);
            assert_int_equal(ln, lean.n);
            for (size_t j = 0; j < full.n; j++) {
                if (dialect_kind_is_detail(full.kinds[j]))
                    continue;
                assert_true(k < lean.n);
                assert_int_equal(lean.kinds[k], full.kinds[j]);
                assert_string_equal(lst[k], fst[j]);
                k++;
            }
            assert_int_equal(k, lean.n);
            assert_null(strstr(lean.sql, "PROCESSLIST"));
            assert_null(strstr(lean.sql, "HOSTS"));
            assert_null(strstr(lean.sql, "SHOW REPLICAS"));
            dialect_batch_free(&full);
            dialect_batch_free(&lean);
        }
    }
    /* Its errors are the full batch's. */
    {
        dialect_batch b;
        char err[256] = "";
        assert_int_equal(dialect_probe_batch_lean(TOPO_FLAVOR_MYSQL, 8, 4, 3, "SELECT 1; SELECT 2", &b, err, sizeof(err)),
                         -EINVAL);
        assert_contains(err, "single statement");
        assert_null(b.sql);
    }
}

static void test_probe_batch_exact_vars(void **state)
{
    dialect_batch b;
    char err[128];

    (void)state;
    assert_int_equal(dialect_probe_batch(TOPO_FLAVOR_MARIADB, 10, 11, 6, NULL, &b, err, sizeof(err)), 0);
    assert_string_equal(
        b.sql,
        "SELECT @@global.server_id AS server_id, @@global.version AS version, "
        "@@global.read_only AS read_only, @@global.log_bin AS log_bin, "
        "@@global.log_slave_updates AS log_slave_updates, @@global.binlog_format AS binlog_format, "
        "@@global.gtid_binlog_pos AS gtid_binlog_pos, @@global.gtid_current_pos AS gtid_current_pos, "
        "@@global.gtid_slave_pos AS gtid_slave_pos, "
        "@@global.rpl_semi_sync_master_enabled AS rpl_semi_sync_master_enabled, "
        "@@global.rpl_semi_sync_slave_enabled AS rpl_semi_sync_slave_enabled, "
        "@@global.rpl_semi_sync_master_timeout AS rpl_semi_sync_master_timeout;"
        "SHOW ALL SLAVES STATUS;SHOW BINLOG STATUS;SHOW REPLICA HOSTS;"
        "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%';"
        "SHOW PROCESSLIST");
    dialect_batch_free(&b);
    assert_int_equal(dialect_probe_batch(TOPO_FLAVOR_MYSQL, 8, 4, 3, "SELECT 1", &b, err, sizeof(err)), 0);
    assert_string_equal(
        b.sql,
        "SELECT @@global.server_id AS server_id, @@global.version AS version, "
        "@@global.read_only AS read_only, @@global.super_read_only AS super_read_only, "
        "@@global.log_bin AS log_bin, @@global.log_replica_updates AS log_replica_updates, "
        "@@global.binlog_format AS binlog_format, @@global.gtid_executed AS gtid_executed, "
        "@@global.gtid_purged AS gtid_purged, @@global.server_uuid AS server_uuid, "
        "@@global.gtid_mode AS gtid_mode;"
        "SHOW REPLICA STATUS;SHOW BINARY LOG STATUS;SHOW REPLICAS;"
        "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%';SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%';"
        "SHOW PROCESSLIST;"
        "SELECT s.CHANNEL_NAME AS CHANNEL_NAME, s.SERVICE_STATE AS SERVICE_STATE, "
        "s.COUNT_RECEIVED_HEARTBEATS AS COUNT_RECEIVED_HEARTBEATS, "
        "s.LAST_HEARTBEAT_TIMESTAMP AS LAST_HEARTBEAT_TIMESTAMP, "
        "s.LAST_QUEUED_TRANSACTION AS LAST_QUEUED_TRANSACTION, "
        "s.LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP AS LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP, "
        "c.HEARTBEAT_INTERVAL AS HEARTBEAT_INTERVAL "
        "FROM performance_schema.replication_connection_status s "
        "JOIN performance_schema.replication_connection_configuration c ON c.CHANNEL_NAME = s.CHANNEL_NAME;"
        "SELECT 1");
    dialect_batch_free(&b);
    dialect_batch_free(&b); /* idempotent */
    dialect_batch_free(NULL);
}

/* Binlog Dump connections: ports removed, junk skipped, bounded. */
static void test_dump_hosts(void **state)
{
    /* SHOW PROCESSLIST rows (Host, Command): only the Binlog Dump connections count. */
    const char *names[] = {"Host", "Command"};
    const char *cells[] = {"127.0.0.1:51234", "Binlog Dump", "[fd00::7]:3307", "Binlog Dump GTID",
                           "::1:40000", "Binlog Dump", "db3.example.com:5555", "Binlog Dump",
                           "localhost", "Binlog Dump", NULL, "Binlog Dump", "", "Binlog Dump",
                           "evil\n:1", "Binlog Dump", "[unclosed:1", "Binlog Dump",
                           "10.9.9.9:4444", "Query", "10.9.9.8:4444", NULL};
    dialect_result r = {.n_cols = 2, .n_rows = 11, .names = names, .cells = cells};
    topo_snapshot snap = {0};
    char err[256];
    (void)state;
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_DUMP_HOSTS, &r, &snap, err, sizeof(err)), 0);
    assert_true(snap.have_dump_hosts);
    assert_int_equal(snap.n_dump_hosts, 5);
    assert_string_equal(snap.dump_hosts, "127.0.0.1\nfd00::7\n::1\ndb3.example.com\nlocalhost");
    r.n_rows = 0;
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_DUMP_HOSTS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.n_dump_hosts, 0);
    assert_null(snap.dump_hosts);
    assert_true(snap.have_dump_hosts);
    {
        const char *bad[] = {"User"};
        dialect_result r2 = {.n_cols = 1, .n_rows = 0, .names = bad, .cells = cells};
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_DUMP_HOSTS, &r2, &snap, err, sizeof(err)),
                         -EPROTO);
    }
    topo_snapshot_clear(&snap);
}

static void test_probe_batch_errors(void **state)
{
    static const struct {
        topo_flavor f;
        int ma, mi, pa;
        const char *lag;
        int rc;
        const char *err_part;
    } cases[] = {
        {TOPO_FLAVOR_MARIADB, 10, 11, 6, "SELECT 1; DROP TABLE t", -EINVAL, "';'"},
        {TOPO_FLAVOR_MYSQL, 8, 4, 3, "SELECT 1;", -EINVAL, "';'"},
        {TOPO_FLAVOR_MYSQL, 8, 4, 3, "SELECT ';'", -EINVAL, "';'"},
        {TOPO_FLAVOR_MYSQL, 8, 4, 3, "", -EINVAL, "empty"},
        {TOPO_FLAVOR_MYSQL, 8, 4, 3, " \n\t", -EINVAL, "empty"},
        {TOPO_FLAVOR_UNKNOWN, 8, 4, 3, NULL, -EINVAL, "unknown flavor"},
        {TOPO_FLAVOR_MYSQL, 5, 7, 44, NULL, -ENOTSUP, "not supported"},
        {TOPO_FLAVOR_MARIADB, 10, 3, 39, NULL, -ENOTSUP, "not supported"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dialect_batch b;
        char err[256] = "";
        memset(&b, 0x5a, sizeof(b));
        assert_int_equal(dialect_probe_batch(cases[i].f, cases[i].ma, cases[i].mi, cases[i].pa,
                                             cases[i].lag, &b, err, sizeof(err)),
                         cases[i].rc);
        assert_contains(err, cases[i].err_part);
        assert_null(b.sql);
        assert_int_equal(b.n, 0);
    }
}

/* ======================================================================== */
/* REPLICA_STATUS from fixtures                                              */
/* ======================================================================== */

static const fx_sub mysqltest_subs[] = {
    {"MYPORT_1", "16001"},
    {"MYPORT_2", "16002"},
    {"<read_master_log_pos>", "1234"},
    {"<relay_log_pos>", "555"},
    {"<relay_log_space1>", "999"},
    {NULL, NULL},
};

typedef struct {
    const char *name;
    topo_flavor flavor;
    const char *file, *marker;
    int occ;
    fx_fmt fmt;
    const fx_sub *subs;
    /* expected */
    bool present;
    const char *host;
    int port;
    topo_thread_state io, sql;
    const char *io_text;
    const char *read_file;
    uint64_t read_pos;
    const char *exec_file;
    uint64_t exec_pos;
    const char *relay_file;
    uint64_t relay_pos;
    long long behind, delay;
    unsigned long source_id;
    const char *source_uuid;
    bool using_gtid;
    const char *gtid_mode;
    const char *received, *executed;
    unsigned int io_errno;
    const char *io_error_part;
    unsigned int sql_errno;
    const char *sql_error_part;
    long long heartbeat_ms;
} rs_case;

#define YES TOPO_THREAD_YES
#define NO TOPO_THREAD_NO
#define CONN TOPO_THREAD_CONNECTING

static const rs_case rs_cases[] = {
    {.name = "rs/mariadb-docs SHOW SLAVE STATUS (11.6 column order)",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11-show-slave-status.txt",
     .marker = "SHOW SLAVE STATUS\\G", .occ = 1, .fmt = FX_G,
     .present = true, .host = "db01.example.com", .port = 3306, .io = YES, .sql = YES,
     .io_text = "Waiting for master to send event",
     .read_file = "mariadb-bin.000021", .read_pos = 17315,
     .exec_file = "mariadb-bin.000021", .exec_pos = 17146,
     .relay_file = "relay-bin.000042", .relay_pos = 17446,
     .behind = 6, .delay = 0, .source_id = 1, .source_uuid = "",
     .using_gtid = true, .gtid_mode = "Slave_Pos", .received = "0-1-2042", .executed = NULL,
     .heartbeat_ms = -1},
    {.name = "rs/mariadb-docs SHOW ALL SLAVES STATUS (default connection, heartbeat)",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11-show-slave-status.txt",
     .marker = "SHOW ALL SLAVES STATUS\\G", .occ = 1, .fmt = FX_G,
     .present = true, .host = "db01.example.com", .port = 3306, .io = YES, .sql = YES,
     .io_text = "Waiting for master to send event",
     .read_file = "mariadb-bin.000021", .read_pos = 17315,
     .exec_file = "mariadb-bin.000021", .exec_pos = 17146,
     .relay_file = "relay-bin.000042", .relay_pos = 17446,
     .behind = 6, .delay = 0, .source_id = 1, .source_uuid = "",
     .using_gtid = true, .gtid_mode = "Slave_Pos", .received = "0-1-2042", .executed = NULL,
     .heartbeat_ms = 60000},
    {.name = "rs/mariadb-10.11 SHOW ALL REPLICAS STATUS, named connections only",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11-show-slave-status.txt",
     .marker = "SHOW ALL REPLICAS STATUS;", .occ = 1, .fmt = FX_TSV_V, .subs = mysqltest_subs,
     .present = false},
    {.name = "rs/mariadb-old stopped connection (mysqltest, masked values)",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11-show-slave-status.txt",
     .marker = "show slave 'slave1' status;", .occ = 1, .fmt = FX_TSV_V, .subs = mysqltest_subs,
     .present = true, .host = "127.0.0.1", .port = 16001, .io = NO, .sql = NO, .io_text = "",
     .read_file = "master-bin.000001", .read_pos = 1234,
     .exec_file = "master-bin.000001", .exec_pos = 1234,
     .relay_file = "mysqld-relay-bin-slave1.000002", .relay_pos = 555,
     .behind = -1, .delay = 0, .source_id = 1, .source_uuid = "",
     .using_gtid = false, .gtid_mode = "No", .received = NULL, .executed = NULL,
     .heartbeat_ms = -1},
    {.name = "rs/mariadb-10.11.19 captured: I/O thread connecting, errno 1045",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11.19-captured.txt",
     .marker = "mariadb> SHOW SLAVE STATUS\\G -- connecting", .occ = 1, .fmt = FX_G,
     .present = true, .host = "127.0.0.1", .port = 23416, .io = CONN, .sql = YES,
     .io_text = "Connecting to master",
     .read_file = "", .read_pos = 4, .exec_file = "", .exec_pos = 4,
     .relay_file = "vm-relay-bin.000001", .relay_pos = 4,
     .behind = -1, .delay = 0, .source_id = 0, .source_uuid = "",
     .using_gtid = true, .gtid_mode = "Slave_Pos", .received = NULL, .executed = NULL,
     .io_errno = 1045,
     .io_error_part = "error connecting to master 'repl@127.0.0.1:23416' - retry-time: 1  "
                      "maximum-retries: 100000  message: Access denied for user 'repl'@'localhost'",
     .heartbeat_ms = -1},
    {.name = "rs/mariadb-10.11.19 captured: running",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11.19-captured.txt",
     .marker = "mariadb> SHOW SLAVE STATUS\\G -- running", .occ = 1, .fmt = FX_G,
     .present = true, .host = "127.0.0.1", .port = 23416, .io = YES, .sql = YES,
     .io_text = "Waiting for master to send event",
     .read_file = "mariadb-bin.000001", .read_pos = 1884,
     .exec_file = "mariadb-bin.000001", .exec_pos = 1884,
     .relay_file = "vm-relay-bin.000002", .relay_pos = 836,
     .behind = 0, .delay = 0, .source_id = 1, .source_uuid = "",
     .using_gtid = true, .gtid_mode = "Slave_Pos", .received = "0-1-10", .executed = NULL,
     .heartbeat_ms = -1},
    {.name = "rs/mariadb-10.11.19 captured: SHOW ALL SLAVES STATUS heartbeat 0.500",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11.19-captured.txt",
     .marker = "mariadb> SHOW ALL SLAVES STATUS\\G", .occ = 1, .fmt = FX_G,
     .present = true, .host = "127.0.0.1", .port = 23416, .io = YES, .sql = YES,
     .io_text = "Waiting for master to send event",
     .read_file = "mariadb-bin.000001", .read_pos = 1884,
     .exec_file = "mariadb-bin.000001", .exec_pos = 1884,
     .relay_file = "vm-relay-bin.000002", .relay_pos = 836,
     .behind = 0, .delay = 0, .source_id = 1, .source_uuid = "",
     .using_gtid = true, .gtid_mode = "Slave_Pos", .received = "0-1-10", .executed = NULL,
     .heartbeat_ms = 500},
    {.name = "rs/mariadb-10.11.19 captured: SQL thread stopped, errno 1062",
     .flavor = TOPO_FLAVOR_MARIADB, .file = "mariadb-10.11.19-captured.txt",
     .marker = "mariadb> SHOW SLAVE STATUS\\G -- sql error", .occ = 1, .fmt = FX_G,
     .present = true, .host = "127.0.0.1", .port = 23416, .io = YES, .sql = NO,
     .io_text = "Waiting for master to send event",
     .read_file = "mariadb-bin.000001", .read_pos = 2046,
     .exec_file = "mariadb-bin.000001", .exec_pos = 1884,
     .relay_file = "vm-relay-bin.000002", .relay_pos = 836,
     .behind = -1, .delay = 0, .source_id = 1, .source_uuid = "",
     .using_gtid = true, .gtid_mode = "Slave_Pos", .received = "0-1-11", .executed = NULL,
     .sql_errno = 1062,
     .sql_error_part = "Error 'Duplicate entry '6' for key 'PRIMARY'' on query.",
     .heartbeat_ms = -1},
    {.name = "rs/mysql-8.4 SHOW REPLICA STATUS (manual)",
     .flavor = TOPO_FLAVOR_MYSQL, .file = "mysql-8.4-show-replica-status.txt",
     .marker = "mysql> SHOW REPLICA STATUS\\G", .occ = 1, .fmt = FX_G,
     .present = true, .host = "127.0.0.1", .port = 13000, .io = YES, .sql = YES,
     .io_text = "Waiting for source to send event",
     .read_file = "master-bin.000001", .read_pos = 927,
     .exec_file = "master-bin.000001", .exec_pos = 927,
     .relay_file = "slave-relay-bin.000002", .relay_pos = 1145,
     .behind = 0, .delay = 0, .source_id = 1,
     .source_uuid = "73f86016-978b-11ee-ade5-8d2a2a562feb",
     .using_gtid = true, .gtid_mode = "1",
     .received = "73f86016-978b-11ee-ade5-8d2a2a562feb:1-3",
     .executed = "73f86016-978b-11ee-ade5-8d2a2a562feb:1-3",
     .heartbeat_ms = -1},
    {.name = "rs/mysql-8.0 SHOW SLAVE STATUS capture 1 (two-UUID executed set)",
     .flavor = TOPO_FLAVOR_MYSQL, .file = "mysql-8.0-show-slave-status.txt",
     .marker = "mysql> show slave status\\G;", .occ = 1, .fmt = FX_G,
     .present = true, .host = "192.168.0.201", .port = 3306, .io = YES, .sql = YES,
     .io_text = "Waiting for master to send event",
     .read_file = "mysql-bin.000014", .read_pos = 2057,
     .exec_file = "mysql-bin.000014", .exec_pos = 2057,
     .relay_file = "localhost-relay-bin.000036", .relay_pos = 2176,
     .behind = 0, .delay = 0, .source_id = 330607,
     .source_uuid = "9e520b78-013c-11eb-a84c-0800271bf591",
     .using_gtid = true, .gtid_mode = "1",
     .received = "9e520b78-013c-11eb-a84c-0800271bf591:79-109",
     .executed = "9e520b78-013c-11eb-a84c-0800271bf591:1-109,\n9f50ba55-0141-11eb-98ab-0800270c8f40:1",
     .heartbeat_ms = -1},
    {.name = "rs/mysql-8.0 SHOW SLAVE STATUS capture 2 (lagging 15 s)",
     .flavor = TOPO_FLAVOR_MYSQL, .file = "mysql-8.0-show-slave-status.txt",
     .marker = "mysql> show slave status\\G;", .occ = 2, .fmt = FX_G,
     .present = true, .host = "192.168.0.201", .port = 3306, .io = YES, .sql = YES,
     .io_text = "Queueing master event to the relay log",
     .read_file = "mysql-bin.000014", .read_pos = 3973004,
     .exec_file = "mysql-bin.000014", .exec_pos = 2057,
     .relay_file = "localhost-relay-bin.000036", .relay_pos = 2176,
     .behind = 15, .delay = 0, .source_id = 330607,
     .source_uuid = "9e520b78-013c-11eb-a84c-0800271bf591",
     .using_gtid = true, .gtid_mode = "1",
     .received = "9e520b78-013c-11eb-a84c-0800271bf591:79-109",
     .executed = "9e520b78-013c-11eb-a84c-0800271bf591:1-109,\n9f50ba55-0141-11eb-98ab-0800270c8f40:1",
     .heartbeat_ms = -1},
};

static void check_replica(const rs_case *c, const topo_replica_status *r)
{
    assert_int_equal(r->present, c->present);
    if (!c->present) {
        assert_string_equal(r->source.host, "");
        assert_int_equal(r->seconds_behind, -1);
        assert_int_equal(r->heartbeat_period_ms, -1);
        assert_null(r->received_gtid);
        assert_null(r->executed_gtid);
        assert_null(r->last_io_error);
        assert_null(r->last_sql_error);
        return;
    }
    assert_string_equal(r->source.host, c->host);
    assert_int_equal(r->source.port, c->port);
    assert_int_equal(r->io_state, c->io);
    assert_int_equal(r->sql_state, c->sql);
    assert_string_equal(r->io_state_text, c->io_text);
    assert_string_equal(r->read_coord.file, c->read_file);
    assert_int_equal(r->read_coord.pos, c->read_pos);
    assert_string_equal(r->exec_coord.file, c->exec_file);
    assert_int_equal(r->exec_coord.pos, c->exec_pos);
    assert_string_equal(r->relay_coord.file, c->relay_file);
    assert_int_equal(r->relay_coord.pos, c->relay_pos);
    assert_int_equal(r->seconds_behind, c->behind);
    assert_int_equal(r->sql_delay_s, c->delay);
    assert_int_equal(r->source_server_id, c->source_id);
    assert_string_equal(r->source_uuid, c->source_uuid);
    assert_int_equal(r->using_gtid, c->using_gtid);
    assert_string_equal(r->using_gtid_mode, c->gtid_mode);
    assert_str_or_null(r->received_gtid, c->received);
    assert_str_or_null(r->executed_gtid, c->executed);
    assert_int_equal(r->last_io_errno, c->io_errno);
    assert_int_equal(r->last_sql_errno, c->sql_errno);
    if (c->io_error_part) {
        assert_non_null(r->last_io_error);
        assert_true(strncmp(r->last_io_error, c->io_error_part, strlen(c->io_error_part)) == 0);
    } else {
        assert_null(r->last_io_error);
    }
    if (c->sql_error_part) {
        assert_non_null(r->last_sql_error);
        assert_true(strncmp(r->last_sql_error, c->sql_error_part, strlen(c->sql_error_part)) == 0);
    } else {
        assert_null(r->last_sql_error);
    }
    assert_int_equal(r->heartbeat_period_ms, c->heartbeat_ms);
}

static void test_rs_case(void **state)
{
    const rs_case *c = *state;
    topo_snapshot snap;
    char err[256] = "";
    int rc;

    memset(&snap, 0, sizeof(snap));
    /* Start from stale state to prove the fields are all replaced. */
    snap.replica.present = true;
    assert_int_equal(topo_strset(&snap.replica.last_io_error, "stale"), 0);
    assert_int_equal(topo_strset(&snap.replica.received_gtid, "0-9-9"), 0);
    snprintf(snap.replica.source.host, sizeof(snap.replica.source.host), "stale-host");
    rc = apply_fixture(c->flavor, DIALECT_Q_REPLICA_STATUS, c->file, c->marker, c->occ, c->fmt,
                       c->subs, &snap, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: rc %d: %s", c->name, rc, err);
    check_replica(c, &snap.replica);
    topo_snapshot_clear(&snap);
}

/* ---- receive progress (issue 18) ---------------------------------------- */

static const char *const HB_FILE = "mariadb-10.11.19-heartbeats.txt";

/* Real 10.11.19 output: the heartbeat counter and the received position, and
 * their marks: idle heartbeats move the mark, a write moves it, a SIGSTOPped
 * primary freezes it while the IO thread still says Yes. */
static void test_receive_mariadb(void **state)
{
    static const struct {
        const char *marker;
        long long hb;
        uint64_t pos;
    } blocks[] = {
        {"mariadb> SHOW ALL SLAVES STATUS\\G -- idle, first", 4, 3256},
        {"mariadb> SHOW ALL SLAVES STATUS\\G -- idle, 600 ms later", 6, 3256},
        {"mariadb> SHOW ALL SLAVES STATUS\\G -- after one write on the primary", 6, 3486},
        {"mariadb> SHOW ALL SLAVES STATUS\\G -- primary SIGSTOPped 0.3 s ago", 27, 3486},
        {"mariadb> SHOW ALL SLAVES STATUS\\G -- primary SIGSTOPped 1.3 s ago", 27, 3486},
    };
    uint64_t mark[5];
    char err[256] = "";

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        topo_snapshot snap;
        memset(&snap, 0, sizeof(snap));
        snap.replica.received_heartbeats = 99; /* stale: must be replaced */
        if (apply_fixture(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS, HB_FILE, blocks[i].marker, 1, FX_G, NULL,
                          &snap, err, sizeof(err)) != 0)
            fail_msg("%s: %s", blocks[i].marker, err);
        assert_true(snap.replica.present);
        assert_int_equal(snap.replica.io_state, TOPO_THREAD_YES);
        assert_int_equal(snap.replica.received_heartbeats, blocks[i].hb);
        assert_int_equal(snap.replica.heartbeat_period_ms, 250);
        assert_int_equal(snap.replica.read_coord.pos, blocks[i].pos);
        assert_int_equal(snap.replica.rx_extra, 0);
        mark[i] = topo_replica_rx_mark(&snap.replica);
        topo_snapshot_clear(&snap);
    }
    assert_true(mark[0] != mark[1]); /* heartbeats only */
    assert_true(mark[1] != mark[2]); /* an event only */
    assert_true(mark[2] != mark[3]);
    assert_true(mark[3] == mark[4]); /* hung primary: frozen */

    /* Plain SHOW SLAVE STATUS has no counter: unknown, never a stall. */
    {
        topo_snapshot snap;
        memset(&snap, 0, sizeof(snap));
        assert_int_equal(apply_fixture(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS, "mariadb-10.11.19-captured.txt",
                                       "mariadb> SHOW SLAVE STATUS\\G -- running", 1, FX_G, NULL, &snap, err,
                                       sizeof(err)),
                         0);
        assert_int_equal(snap.replica.received_heartbeats, -1);
        topo_snapshot_clear(&snap);
        memset(&snap, 0, sizeof(snap));
        assert_int_equal(apply_fixture(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS, "mariadb-10.11.19-captured.txt",
                                       "mariadb> SHOW ALL SLAVES STATUS\\G", 1, FX_G, NULL, &snap, err, sizeof(err)),
                         0);
        assert_int_equal(snap.replica.received_heartbeats, 14);
        topo_snapshot_clear(&snap);
    }
}

static const char *const RX_FILE = "mysql-8.0-replication-connection-status.txt";
static const char *const RX_TWO = "mysql> SELECT ... receive\\G -- two channels";

/* MySQL: the default channel's row of the RECEIVE statement (fixture shaped
 * as the 8.0/8.4 manual documents the tables). */
static void test_receive_mysql(void **state)
{
    topo_snapshot snap;
    fx f;
    char err[256] = "";
    uint64_t m0, m1, m2, m3;

    (void)state;
    memset(&snap, 0, sizeof(snap));
    /* REPLICA_STATUS first (it resets the receive fields), as in the batch. */
    assert_int_equal(apply_fixture(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS, "mysql-8.4-show-replica-status.txt",
                                   "mysql> SHOW REPLICA STATUS\\G", 1, FX_G, NULL, &snap, err, sizeof(err)),
                     0);
    assert_int_equal(snap.replica.received_heartbeats, -1);
    assert_int_equal(snap.replica.heartbeat_period_ms, -1);
    if (apply_fixture(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, RX_FILE, RX_TWO, 1, FX_G, NULL, &snap, err,
                      sizeof(err)) != 0)
        fail_msg("receive: %s", err);
    assert_int_equal(snap.replica.received_heartbeats, 1372); /* the default channel, not ch2's 9 */
    assert_int_equal(snap.replica.heartbeat_period_ms, 250);
    assert_true(snap.replica.rx_extra != 0);
    m0 = topo_replica_rx_mark(&snap.replica);

    /* Each received thing moves the mark: a heartbeat (count and time), a queued transaction. */
    memset(&f, 0, sizeof(f));
    fx_load(&f, RX_FILE, RX_TWO, 1, FX_G, NULL);
    fx_set(&f, 1, "LAST_QUEUED_TRANSACTION", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1044");
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, &f.res, &snap, err, sizeof(err)), 0);
    m1 = topo_replica_rx_mark(&snap.replica);
    fx_set(&f, 1, "LAST_HEARTBEAT_TIMESTAMP", "2024-03-11 10:15:04.500399");
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, &f.res, &snap, err, sizeof(err)), 0);
    m2 = topo_replica_rx_mark(&snap.replica);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, &f.res, &snap, err, sizeof(err)), 0);
    m3 = topo_replica_rx_mark(&snap.replica);
    assert_true(m0 != m1 && m1 != m2);
    assert_true(m2 == m3); /* nothing new: same mark */

    /* Bad values are errors naming the column; the snapshot is untouched. */
    fx_set(&f, 1, "COUNT_RECEIVED_HEARTBEATS", "-1");
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, &f.res, &snap, err, sizeof(err)), -EINVAL);
    assert_contains(err, "COUNT_RECEIVED_HEARTBEATS");
    assert_int_equal(snap.replica.received_heartbeats, 1372);
    fx_set(&f, 1, "COUNT_RECEIVED_HEARTBEATS", "5");
    fx_set(&f, 1, "HEARTBEAT_INTERVAL", "fast");
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, &f.res, &snap, err, sizeof(err)), -EINVAL);
    assert_contains(err, "HEARTBEAT_INTERVAL");
    fx_set(&f, 1, "HEARTBEAT_INTERVAL", "30.000");
    fx_rename(&f, "COUNT_RECEIVED_HEARTBEATS", "X");
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, &f.res, &snap, err, sizeof(err)), -EPROTO);
    assert_int_equal(snap.replica.received_heartbeats, 1372);
    assert_int_equal(snap.replica.heartbeat_period_ms, 250);
    fx_free(&f);

    /* Not a replica (empty set): unknown again. */
    {
        static const char *const names[] = {"CHANNEL_NAME", "COUNT_RECEIVED_HEARTBEATS"};
        dialect_result r = mkres(2, 0, names, NULL);
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_RECEIVE, &r, &snap, err, sizeof(err)), 0);
    }
    assert_int_equal(snap.replica.received_heartbeats, -1);
    assert_int_equal(snap.replica.rx_extra, 0);
    topo_snapshot_clear(&snap);
}

/* Zero rows → not a replica; prior heap strings released. */
static void test_rs_zero_rows(void **state)
{
    static const char *const names[] = {"Replica_IO_State", "Source_Host", "Source_Port"};
    dialect_result r = mkres(3, 0, names, NULL);
    topo_snapshot snap;
    char err[128];

    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(apply_fixture(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS,
                                   "mysql-8.4-show-replica-status.txt",
                                   "mysql> SHOW REPLICA STATUS\\G", 1, FX_G, NULL, &snap, err,
                                   sizeof(err)),
                     0);
    assert_true(snap.replica.present);
    assert_non_null(snap.replica.executed_gtid);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS, &r, &snap, err,
                                   sizeof(err)),
                     0);
    assert_false(snap.replica.present);
    assert_null(snap.replica.executed_gtid);
    assert_null(snap.replica.received_gtid);
    assert_int_equal(snap.replica.seconds_behind, -1);
    assert_int_equal(snap.replica.heartbeat_period_ms, -1);
    /* A result with no columns at all (server sent nothing) is also "no row". */
    r = mkres(0, 0, NULL, NULL);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS, &r, &snap, err,
                                   sizeof(err)),
                     0);
    assert_false(snap.replica.present);
    topo_snapshot_clear(&snap);
}

/* MySQL multi-channel: the default channel ('' Channel_Name) is picked. */
static void test_rs_channels(void **state)
{
    static const char *const names[] = {
        "Replica_IO_State", "Source_Host", "Source_Port", "Source_Log_File", "Read_Source_Log_Pos",
        "Relay_Source_Log_File", "Replica_IO_Running", "Replica_SQL_Running",
        "Exec_Source_Log_Pos", "Seconds_Behind_Source", "Auto_Position", "Channel_Name"};
    static const char *const cells[] = {
        "Waiting for source to send event", "10.0.0.9", "3307", "b.000002", "100", "b.000002",
        "Yes", "Yes", "90", "3", "1", "analytics",
        "", "10.0.0.1", "3306", "a.000007", "500", "a.000007", "Connecting", "Yes", "480", NULL,
        "0", ""};
    dialect_result r = mkres(12, 2, names, cells);
    topo_snapshot snap;
    char err[128];

    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS, &r, &snap, err,
                                   sizeof(err)),
                     0);
    assert_true(snap.replica.present);
    assert_string_equal(snap.replica.source.host, "10.0.0.1");
    assert_int_equal(snap.replica.source.port, 3306);
    assert_int_equal(snap.replica.io_state, TOPO_THREAD_CONNECTING);
    assert_int_equal(snap.replica.seconds_behind, -1);
    assert_false(snap.replica.using_gtid);
    assert_string_equal(snap.replica.using_gtid_mode, "0");
    /* Optional columns missing: defaults. */
    assert_int_equal(snap.replica.sql_delay_s, 0);
    assert_int_equal(snap.replica.last_io_errno, 0);
    assert_string_equal(snap.replica.relay_coord.file, "");
    /* Only a named channel: not a replica on the default channel. */
    r.n_rows = 1;
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS, &r, &snap, err,
                                   sizeof(err)),
                     0);
    assert_false(snap.replica.present);
    topo_snapshot_clear(&snap);
}

/*
 * More columns than the index holds (COL_MAX_INDEXED): looked up by scan, with the same answer.
 * A server's answer sets the count: 250 columns once recursed in col_at until the stack ran out.
 */
static void test_rs_many_columns(void **state)
{
    enum { N = 250 };
    static const char *const base[] = {"Replica_IO_State", "Source_Host", "Source_Port", "Source_Log_File",
                                       "Read_Source_Log_Pos", "Relay_Source_Log_File", "Replica_IO_Running",
                                       "Replica_SQL_Running", "Exec_Source_Log_Pos", "Seconds_Behind_Source",
                                       "Auto_Position", "Channel_Name"};
    static const char *const vals[] = {"Waiting for source to send event", "10.0.0.9", "3307", "b.000002", "100",
                                       "b.000002", "Yes", "Yes", "90", "3", "1", ""};
    const char *names[N], *cells[N];
    char extra[N][16];
    topo_snapshot snap;
    char err[128];

    (void)state;
    for (size_t i = 0; i < N; i++) {
        snprintf(extra[i], sizeof(extra[i]), "Extra_%zu", i);
        names[i] = extra[i]; /* the known columns last: found only by reading past the first 200 */
        cells[i] = "x";
    }
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        names[N - 12 + i] = base[i];
        cells[N - 12 + i] = vals[i];
    }
    dialect_result r = mkres(N, 1, names, cells);
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS, &r, &snap, err, sizeof(err)), 0);
    assert_true(snap.replica.present);
    assert_string_equal(snap.replica.source.host, "10.0.0.9");
    assert_int_equal(snap.replica.source.port, 3307);
    assert_int_equal(snap.replica.seconds_behind, 3);
    topo_snapshot_clear(&snap);
}

/*
 * A number too large in a server's answer marks that field unknown; the probe
 * (and so the server) stays fine. Garbage is still an error (test_rs_errors).
 */
static void test_out_of_range_unknown(void **state)
{
    static const char *const names[] = {
        "Replica_IO_State", "Source_Host", "Source_Port", "Source_Log_File", "Read_Source_Log_Pos",
        "Relay_Source_Log_File", "Replica_IO_Running", "Replica_SQL_Running", "Exec_Source_Log_Pos",
        "Seconds_Behind_Source", "SQL_Delay", "Replica_heartbeat_period", "Channel_Name"};
    static const char *const cells[] = {
        "", "10.0.0.1", "3306", "a.000007", "500", "a.000007", "Yes", "Yes", "480",
        "9223372036854775808" /* 2^63 */, "18446744073709551616" /* 2^64 */, "1e999", ""};
    static const char *const sv_names[] = {"Variable_name", "Value"};
    static const char *const sv_cells[] = {"Rpl_semi_sync_source_clients", "1180591620717411303424",
                                           "Rpl_semi_sync_source_status", "ON"};
    static const char *const tv_cells[] = {"rpl_semi_sync_source_timeout", "99999999999999999999"};
    static const char *const lag_names[] = {"lag"};
    static const char *const lag_cells[] = {"1e999"};
    dialect_result r = mkres(13, 1, names, cells);
    dialect_result sv = mkres(2, 2, sv_names, sv_cells), tv = mkres(2, 1, sv_names, tv_cells);
    dialect_result lag = mkres(1, 1, lag_names, lag_cells);
    topo_snapshot snap;
    char err[256] = "";
    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS, &r, &snap, err, sizeof(err)), 0);
    assert_true(snap.replica.present);
    assert_int_equal(snap.replica.seconds_behind, -1);
    assert_int_equal(snap.replica.sql_delay_s, -1);
    assert_int_equal(snap.replica.heartbeat_period_ms, -1);
    assert_int_equal(snap.replica.read_coord.pos, 500);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_STATUS, &sv, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.semisync.source_clients, -1);
    assert_true(snap.semisync.source_status_on);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS, &tv, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.semisync.source_timeout_ms, -1);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_LAG, &lag, &snap, err, sizeof(err)), 0);
    assert_true(snap.has_lag_query);
    assert_true(snap.lag_query_s < 0);
    /* LLONG_MAX itself still fits. */
    {
        static const char *const c2[] = {"", "10.0.0.1", "3306", "a.000007", "500", "a.000007", "Yes", "Yes", "480",
                                         "9223372036854775807", "0", "1.5", ""};
        dialect_result r2 = mkres(13, 1, names, c2);
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICA_STATUS, &r2, &snap, err, sizeof(err)), 0);
        assert_true(snap.replica.seconds_behind == 9223372036854775807LL);
        assert_int_equal(snap.replica.sql_delay_s, 0);
        assert_int_equal(snap.replica.heartbeat_period_ms, 1500);
    }
    topo_snapshot_clear(&snap);
}

/* MariaDB "Preparing" I/O state reads as CONNECTING; unknown words UNKNOWN. */
static void test_rs_thread_words(void **state)
{
    static const struct {
        const char *word;
        topo_thread_state want;
    } cases[] = {
        {"Preparing", TOPO_THREAD_CONNECTING}, {"Connecting", TOPO_THREAD_CONNECTING},
        {"yes", TOPO_THREAD_YES}, {"No", TOPO_THREAD_NO}, {"Maybe", TOPO_THREAD_UNKNOWN},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx x;
        topo_snapshot snap;
        char err[128];

        memset(&snap, 0, sizeof(snap));
        fx_load(&x, "mariadb-10.11.19-captured.txt", "mariadb> SHOW SLAVE STATUS\\G -- running", 1,
                FX_G, NULL);
        fx_set(&x, 0, "Slave_IO_Running", cases[i].word);
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS, &x.res,
                                       &snap, err, sizeof(err)),
                         0);
        assert_int_equal(snap.replica.io_state, cases[i].want);
        fx_free(&x);
        topo_snapshot_clear(&snap);
    }
}

/* Error cases: the snapshot must stay exactly as it was. */
typedef struct {
    const char *what;
    const char *rename_from, *rename_to; /* make a column missing */
    const char *set_col, *set_val;       /* or corrupt a value (set_null: NULL) */
    bool set_null;
    int rc;
    const char *err_parts[3];
} rs_err_case;

static const rs_err_case rs_err_cases[] = {
    {"missing Master_Host", "Master_Host", "Gone_Host", NULL, NULL, false, -EPROTO,
     {"Master_Host", "missing", NULL}},
    {"missing Slave_SQL_Running", "Slave_SQL_Running", "X", NULL, NULL, false, -EPROTO,
     {"Slave_SQL_Running", "missing", NULL}},
    {"missing Seconds_Behind_Master", "Seconds_Behind_Master", "X", NULL, NULL, false, -EPROTO,
     {"Seconds_Behind_Master", NULL, NULL}},
    {"missing Exec_Master_Log_Pos", "Exec_Master_Log_Pos", "X", NULL, NULL, false, -EPROTO,
     {"Exec_Master_Log_Pos", NULL, NULL}},
    {"bad Read_Master_Log_Pos", NULL, NULL, "Read_Master_Log_Pos", "12x", false, -EINVAL,
     {"Read_Master_Log_Pos", "'12x'", "bad number"}},
    {"negative position", NULL, NULL, "Exec_Master_Log_Pos", "-5", false, -EINVAL,
     {"Exec_Master_Log_Pos", "'-5'", NULL}},
    {"position overflow", NULL, NULL, "Read_Master_Log_Pos", "18446744073709551616", false,
     -EINVAL, {"Read_Master_Log_Pos", "18446744073709551616", NULL}},
    {"position with space", NULL, NULL, "Read_Master_Log_Pos", " 12", false, -EINVAL,
     {"Read_Master_Log_Pos", NULL, NULL}},
    {"empty position", NULL, NULL, "Read_Master_Log_Pos", "", false, -EINVAL,
     {"Read_Master_Log_Pos", NULL, NULL}},
    {"port out of range", NULL, NULL, "Master_Port", "65536", false, -EINVAL,
     {"Master_Port", "65536", NULL}},
    {"port NULL", NULL, NULL, "Master_Port", NULL, true, -EINVAL, {"Master_Port", "NULL", NULL}},
    {"bad lag", NULL, NULL, "Seconds_Behind_Master", "soon", false, -EINVAL,
     {"Seconds_Behind_Master", "'soon'", NULL}},
    {"bad errno", NULL, NULL, "Last_IO_Errno", "4294967296", false, -EINVAL,
     {"Last_IO_Errno", NULL, NULL}},
    {"bad server id", NULL, NULL, "Master_Server_Id", "4294967296", false, -EINVAL,
     {"Master_Server_Id", NULL, NULL}},
    {"bad heartbeat", NULL, NULL, "Slave_heartbeat_period", "fast", false, -EINVAL,
     {"Slave_heartbeat_period", "'fast'", NULL}},
    {"heartbeat nan", NULL, NULL, "Slave_heartbeat_period", "nan", false, -EINVAL,
     {"Slave_heartbeat_period", NULL, NULL}},
    {"host too long", NULL, NULL, "Master_Host",
     "h123456789h123456789h123456789h123456789h123456789h123456789h123456789h123456789"
     "h123456789h123456789h123456789h123456789h123456789h123456789h123456789h123456789"
     "h123456789h123456789h123456789h123456789h123456789h123456789h123456789h123456789"
     "h123456789h123456789h123456789h123456789h123456789h123456789h123456789h123456789",
     false, -EINVAL, {"Master_Host", "longer than 255", NULL}},
};

static void test_rs_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rs_err_cases) / sizeof(rs_err_cases[0]); i++) {
        const rs_err_case *c = &rs_err_cases[i];
        fx x;
        topo_snapshot snap, before;
        char err[512] = "";
        int rc;

        memset(&snap, 0, sizeof(snap));
        memset(&before, 0, sizeof(before));
        /* A valid previous state. */
        assert_int_equal(apply_fixture(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS,
                                       "mariadb-10.11.19-captured.txt",
                                       "mariadb> SHOW SLAVE STATUS\\G -- sql error", 1, FX_G, NULL,
                                       &snap, err, sizeof(err)),
                         0);
        assert_int_equal(topo_snapshot_copy(&before, &snap), 0);

        fx_load(&x, "mariadb-10.11.19-captured.txt", "mariadb> SHOW ALL SLAVES STATUS\\G", 1, FX_G,
                NULL);
        if (c->rename_from)
            fx_rename(&x, c->rename_from, c->rename_to);
        if (c->set_col)
            fx_set(&x, 0, c->set_col, c->set_null ? NULL : c->set_val);
        rc = dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS, &x.res, &snap, err,
                           sizeof(err));
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->what, rc, c->rc, err);
        for (size_t k = 0; k < 3 && c->err_parts[k]; k++)
            assert_contains(err, c->err_parts[k]);
        /* Unchanged. */
        assert_string_equal(snap.replica.source.host, before.replica.source.host);
        assert_int_equal(snap.replica.read_coord.pos, before.replica.read_coord.pos);
        assert_int_equal(snap.replica.sql_state, before.replica.sql_state);
        assert_int_equal(snap.replica.last_sql_errno, 1062);
        assert_string_equal(snap.replica.last_sql_error, before.replica.last_sql_error);
        assert_string_equal(snap.replica.received_gtid, before.replica.received_gtid);
        assert_int_equal(snap.replica.heartbeat_period_ms, -1);
        fx_free(&x);
        topo_snapshot_clear(&snap);
        topo_snapshot_clear(&before);
    }
}

/* An unsubstituted mysqltest mask is a bad number naming the column. */
static void test_rs_masked_value(void **state)
{
    topo_snapshot snap;
    char err[256] = "";

    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(apply_fixture(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICA_STATUS,
                                   "mariadb-10.11-show-slave-status.txt",
                                   "show slave 'slave1' status;", 1, FX_TSV_V, NULL, &snap, err,
                                   sizeof(err)),
                     -EINVAL);
    assert_contains(err, "Master_Port");
    assert_contains(err, "MYPORT_1");
    assert_false(snap.replica.present);
    topo_snapshot_clear(&snap);
}

/* ======================================================================== */
/* VARS                                                                      */
/* ======================================================================== */

static void test_vars_mariadb_captured(void **state)
{
    topo_snapshot snap;
    char err[256] = "";

    (void)state;
    memset(&snap, 0, sizeof(snap));
    snap.super_read_only = true; /* stale, must be reset for MariaDB */
    assert_int_equal(apply_fixture(TOPO_FLAVOR_MARIADB, DIALECT_Q_VARS,
                                   "mariadb-10.11.19-captured.txt",
                                   "mariadb> SELECT ... vars (replica)\\G", 1, FX_G, NULL, &snap,
                                   err, sizeof(err)),
                     0);
    assert_int_equal(snap.flavor, TOPO_FLAVOR_MARIADB);
    assert_int_equal(snap.server_id, 2);
    assert_string_equal(snap.version, "10.11.19-MariaDB-0+deb12u1-log");
    assert_int_equal(snap.version_major, 10);
    assert_int_equal(snap.version_minor, 11);
    assert_int_equal(snap.version_patch, 19);
    assert_true(snap.read_only);
    assert_false(snap.super_read_only);
    assert_true(snap.log_bin);
    assert_true(snap.log_replica_updates);
    assert_string_equal(snap.binlog_format, "MIXED");
    assert_string_equal(snap.gtid_binlog_pos, "0-1-10,5-2-3");
    assert_string_equal(snap.gtid_current_pos, "0-1-10,5-2-3");
    assert_string_equal(snap.gtid_slave_pos, "0-1-10");
    assert_null(snap.gtid_executed);
    assert_null(snap.gtid_purged);
    assert_true(snap.gtid_mode_on);
    assert_string_equal(snap.server_uuid, "");

    assert_int_equal(apply_fixture(TOPO_FLAVOR_MARIADB, DIALECT_Q_VARS,
                                   "mariadb-10.11.19-captured.txt",
                                   "mariadb> SELECT ... vars (primary)\\G", 1, FX_G, NULL, &snap,
                                   err, sizeof(err)),
                     0);
    assert_int_equal(snap.server_id, 1);
    assert_false(snap.read_only);
    assert_false(snap.log_replica_updates);
    assert_string_equal(snap.gtid_binlog_pos, "0-1-10");
    assert_null(snap.gtid_slave_pos); /* "" → NULL */
    topo_snapshot_clear(&snap);
}

/* MariaDB: semi-sync variables come with VARS; SHOW GLOBAL STATUS still fills the status. */
static void test_vars_mariadb_semisync(void **state)
{
    static const char *const names[] = {"server_id", "version", "read_only", "log_bin", "log_slave_updates",
                                        "binlog_format", "gtid_binlog_pos", "gtid_current_pos", "gtid_slave_pos",
                                        "rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled",
                                        "rpl_semi_sync_master_timeout"};
    const char *cells[] = {"7", "10.11.6-MariaDB-log", "0", "1", "1", "ROW", "0-7-5", "0-7-5", "", "ON", "OFF",
                           "10000"};
    static const char *const snames[] = {"Variable_name", "Value"};
    const char *scells[] = {"Rpl_semi_sync_master_status", "ON", "Rpl_semi_sync_master_clients", "2"};
    dialect_result r = mkres(12, 1, names, cells), sr = mkres(2, 2, snames, scells);
    topo_snapshot snap;
    char err[256] = "";
    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_VARS, &r, &snap, err, sizeof(err)), 0);
    assert_true(snap.semisync.source_enabled);
    assert_false(snap.semisync.replica_enabled);
    assert_int_equal(snap.semisync.source_timeout_ms, 10000);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_SEMISYNC_STATUS, &sr, &snap, err, sizeof(err)), 0);
    assert_true(snap.semisync.source_status_on);
    assert_int_equal(snap.semisync.source_clients, 2);
    assert_true(snap.semisync.source_enabled); /* the status does not reset the variables */
    /* A bad timeout is an error naming the column; the snapshot keeps what it had. */
    cells[11] = "soon";
    r = mkres(12, 1, names, cells);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_VARS, &r, &snap, err, sizeof(err)), -EINVAL);
    assert_contains(err, "rpl_semi_sync_master_timeout");
    assert_int_equal(snap.semisync.source_timeout_ms, 10000);
    topo_snapshot_clear(&snap);
}

static void test_vars_mysql(void **state)
{
    static const char *const names[] = {
        "server_id", "version", "read_only", "super_read_only", "log_bin", "log_replica_updates",
        "binlog_format", "gtid_executed", "gtid_purged", "server_uuid", "gtid_mode"};
    static const char *const cells[] = {
        "330607", "8.4.3", "1", "1", "1", "1", "ROW",
        "9e520b78-013c-11eb-a84c-0800271bf591:1-109,\n9f50ba55-0141-11eb-98ab-0800270c8f40:1",
        "9e520b78-013c-11eb-a84c-0800271bf591:1-50", "9e520b78-013c-11eb-a84c-0800271bf591", "ON"};
    static const char *const cells_old[] = {
        "7", "8.0.20-log", "0", "0", "0", "0", "ROW", "", "", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa",
        "OFF_PERMISSIVE"};
    static const char *const names_old[] = {
        "server_id", "version", "read_only", "super_read_only", "log_bin", "log_slave_updates",
        "binlog_format", "gtid_executed", "gtid_purged", "server_uuid", "gtid_mode"};
    dialect_result r = mkres(11, 1, names, cells);
    topo_snapshot snap;
    char err[256] = "";

    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(topo_strset(&snap.gtid_slave_pos, "0-1-1"), 0); /* stale */
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_VARS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.flavor, TOPO_FLAVOR_MYSQL);
    assert_int_equal(snap.server_id, 330607);
    assert_string_equal(snap.version, "8.4.3");
    assert_int_equal(snap.version_major, 8);
    assert_int_equal(snap.version_minor, 4);
    assert_int_equal(snap.version_patch, 3);
    assert_true(snap.read_only);
    assert_true(snap.super_read_only);
    assert_true(snap.log_bin);
    assert_true(snap.log_replica_updates);
    assert_string_equal(snap.binlog_format, "ROW");
    assert_string_equal(snap.gtid_executed, cells[7]);
    assert_string_equal(snap.gtid_purged, cells[8]);
    assert_string_equal(snap.server_uuid, "9e520b78-013c-11eb-a84c-0800271bf591");
    assert_true(snap.gtid_mode_on);
    assert_null(snap.gtid_slave_pos);
    assert_null(snap.gtid_binlog_pos);

    r = mkres(11, 1, names_old, cells_old);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_VARS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.server_id, 7);
    assert_int_equal(snap.version_patch, 20);
    assert_false(snap.read_only);
    assert_false(snap.super_read_only);
    assert_false(snap.log_bin);
    assert_false(snap.log_replica_updates);
    assert_null(snap.gtid_executed);
    assert_false(snap.gtid_mode_on);
    topo_snapshot_clear(&snap);
}

/* read_only: 0/1 (10.11), ON/OFF, and the 11.x+ enum. */
static void test_vars_read_only_words(void **state)
{
    static const struct {
        const char *v;
        bool ro;
    } cases[] = {
        {"0", false}, {"1", true}, {"OFF", false}, {"ON", true}, {"off", false},
        {"NO_LOCK", true}, {"NO_LOCK_NO_ADMIN", true}, {"", false}, {"NO", false}, {"YES", true},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *names[] = {"Server_ID", "VERSION", "Read_Only"};
        const char *cells[] = {"1", "11.8.1-MariaDB", cases[i].v};
        dialect_result r = mkres(3, 1, names, cells);
        topo_snapshot snap;
        char err[128];

        memset(&snap, 0, sizeof(snap));
        snap.read_only = !cases[i].ro;
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_VARS, &r, &snap, err, sizeof(err)), 0);
        if (snap.read_only != cases[i].ro)
            fail_msg("read_only '%s' → %d", cases[i].v, snap.read_only);
        /* Optional columns missing: defaults. */
        assert_false(snap.log_bin);
        assert_string_equal(snap.binlog_format, "");
        assert_true(snap.gtid_mode_on);
        topo_snapshot_clear(&snap);
    }
}

static void test_vars_errors(void **state)
{
    static const struct {
        size_t n_cols, n_rows;
        const char *names[4];
        const char *cells[8];
        int rc;
        const char *err_part;
    } cases[] = {
        {3, 1, {"version", "read_only", "log_bin"}, {"10.11.6-MariaDB", "0", "1"}, -EPROTO, "server_id"},
        {3, 1, {"server_id", "version", "read_only"}, {"12a", "10.11.6-MariaDB", "0"}, -EINVAL, "'12a'"},
        {3, 1, {"server_id", "version", "read_only"}, {"4294967296", "10.11.6-MariaDB", "0"}, -EINVAL, "server_id"},
        {3, 1, {"server_id", "version", "read_only"}, {"1", "10.11.6-MariaDB", NULL}, -EINVAL, "read_only"},
        {3, 1, {"server_id", "version", "read_only"}, {"1", "", "0"}, -EINVAL, "version"},
        {2, 1, {"server_id", "version"}, {"1", "10.11.6-MariaDB"}, -EPROTO, "read_only"},
        {4, 1, {"server_id", "version", "read_only", "log_bin"}, {"1", "10.11.6-MariaDB", "0", "maybe"}, -EINVAL, "bad boolean 'maybe'"},
        {3, 2, {"server_id", "version", "read_only"}, {"1", "10.11.6-MariaDB", "0", "2", "10.11.6-MariaDB", "0"}, -EPROTO, "one row"},
        {3, 0, {"server_id", "version", "read_only"}, {NULL}, -EPROTO, "one row"},
        {4, 1, {"server_id", "version", "read_only", "binlog_format"}, {"1", "10.11.6-MariaDB", "0", "STATEMENT_BASED_LONG"}, -EINVAL, "binlog_format"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dialect_result r = mkres(cases[i].n_cols, cases[i].n_rows, cases[i].names, cases[i].cells);
        topo_snapshot snap;
        char err[256] = "";
        int rc;

        memset(&snap, 0, sizeof(snap));
        snap.server_id = 99;
        assert_int_equal(topo_strset(&snap.gtid_binlog_pos, "0-99-1"), 0);
        rc = dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_VARS, &r, &snap, err, sizeof(err));
        if (rc != cases[i].rc)
            fail_msg("vars case %zu: rc %d want %d (%s)", i, rc, cases[i].rc, err);
        assert_contains(err, cases[i].err_part);
        assert_int_equal(snap.server_id, 99);
        assert_string_equal(snap.gtid_binlog_pos, "0-99-1");
        topo_snapshot_clear(&snap);
    }
}

/* ======================================================================== */
/* BINLOG_STATUS                                                             */
/* ======================================================================== */

typedef struct {
    const char *name;
    topo_flavor flavor;
    const char *file, *marker;
    fx_fmt fmt;
    const char *want_file;
    uint64_t want_pos;
} bl_case;

static const bl_case bl_cases[] = {
    {"binlog/mysql-8.4 SHOW BINARY LOG STATUS", TOPO_FLAVOR_MYSQL,
     "mysql-8.4-show-binary-log-status.txt", "mysql> SHOW BINARY LOG STATUS\\G", FX_G,
     "source-bin.000002", 1307},
    {"binlog/mysql-8.0 SHOW MASTER STATUS", TOPO_FLAVOR_MYSQL, "mysql-8.0-show-master-status.txt",
     "mysql> SHOW MASTER STATUS\\G", FX_G, "source-bin.000002", 1307},
    {"binlog/mariadb-docs SHOW MASTER STATUS (box)", TOPO_FLAVOR_MARIADB,
     "mariadb-10.11-show-master-status.txt", "SHOW MASTER STATUS;", FX_BOX, "mariadb-bin.000016",
     475},
    {"binlog/mariadb-10.11.19 captured SHOW BINLOG STATUS", TOPO_FLAVOR_MARIADB,
     "mariadb-10.11.19-captured.txt", "mariadb> SHOW BINLOG STATUS\\G", FX_G,
     "mariadb-bin.000001", 1884},
};

static void test_bl_case(void **state)
{
    const bl_case *c = *state;
    topo_snapshot snap;
    char err[256] = "";
    int rc;

    memset(&snap, 0, sizeof(snap));
    rc = apply_fixture(c->flavor, DIALECT_Q_BINLOG_STATUS, c->file, c->marker, 1, c->fmt, NULL,
                       &snap, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: rc %d: %s", c->name, rc, err);
    assert_string_equal(snap.binlog_coord.file, c->want_file);
    assert_int_equal(snap.binlog_coord.pos, c->want_pos);
    topo_snapshot_clear(&snap);
}

static void test_binlog_off_and_errors(void **state)
{
    static const char *const names[] = {"File", "Position", "Binlog_Do_DB", "Binlog_Ignore_DB"};
    static const char *const bad[] = {"mariadb-bin.000001", "x", "", ""};
    static const char *const names_nofile[] = {"Log", "Position"};
    static const char *const nofile[] = {"a", "1"};
    dialect_result r = mkres(4, 0, names, NULL);
    topo_snapshot snap;
    char err[256] = "";

    (void)state;
    memset(&snap, 0, sizeof(snap));
    snprintf(snap.binlog_coord.file, sizeof(snap.binlog_coord.file), "old.000001");
    snap.binlog_coord.pos = 77;
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_BINLOG_STATUS, &r, &snap, err, sizeof(err)), 0);
    assert_string_equal(snap.binlog_coord.file, "");
    assert_int_equal(snap.binlog_coord.pos, 0);

    snap.binlog_coord.pos = 77;
    r = mkres(4, 1, names, bad);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_BINLOG_STATUS, &r, &snap, err, sizeof(err)), -EINVAL);
    assert_contains(err, "Position");
    assert_int_equal(snap.binlog_coord.pos, 77);
    r = mkres(2, 1, names_nofile, nofile);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_BINLOG_STATUS, &r, &snap, err, sizeof(err)), -EPROTO);
    assert_contains(err, "File");
    topo_snapshot_clear(&snap);
}

/* ======================================================================== */
/* REPLICAS                                                                  */
/* ======================================================================== */

static const fx_sub slave_port_sub[] = {{"SLAVE_PORT", "13001"}, {NULL, NULL}};

typedef struct {
    unsigned long id;
    const char *host;
    int port;
} ref;

typedef struct {
    const char *name;
    topo_flavor flavor;
    const char *file, *marker;
    int occ;
    fx_fmt fmt;
    const fx_sub *subs;
    size_t n;
    ref want[3];
} rp_case;

static const rp_case rp_cases[] = {
    {"replicas/mysql-8.4 SHOW REPLICAS (manual)", TOPO_FLAVOR_MYSQL, "mysql-8.4-show-replicas.txt",
     "mysql> SHOW REPLICAS;", 1, FX_BOX, NULL, 2,
     {{10, "iconnect2", 3306}, {21, "athena", 3306}}},
    {"replicas/mysql-8.0 SHOW SLAVE HOSTS (empty Host skipped)", TOPO_FLAVOR_MYSQL,
     "mysql-8.4-show-replicas.txt", "SHOW SLAVE HOSTS;", 1, FX_TSV, slave_port_sub, 1,
     {{3, "slave2", 13001}}},
    {"replicas/mariadb-docs SHOW SLAVE HOSTS", TOPO_FLAVOR_MARIADB,
     "mariadb-10.11-show-slave-hosts.txt", "SHOW SLAVE HOSTS;", 1, FX_BOX, NULL, 2,
     {{192168010, "iconnect2", 3306}, {1921680101, "athena", 3306}}},
    {"replicas/mariadb-newer SHOW SLAVE HOSTS (Gtid_State_* columns)", TOPO_FLAVOR_MARIADB,
     "mariadb-10.11-show-slave-hosts.txt", "SHOW SLAVE HOSTS;", 2, FX_TSV, slave_port_sub, 2,
     {{3, "slave2", 13001}, {2, "localhost", 13001}}},
    {"replicas/mariadb-newer SHOW REPLICA HOSTS", TOPO_FLAVOR_MARIADB,
     "mariadb-10.11-show-slave-hosts.txt", "SHOW REPLICA HOSTS;", 1, FX_TSV, slave_port_sub, 2,
     {{3, "slave2", 13001}, {2, "localhost", 13001}}},
    {"replicas/mariadb-10.11.19 captured SHOW REPLICA HOSTS", TOPO_FLAVOR_MARIADB,
     "mariadb-10.11.19-captured.txt", "mariadb> SHOW REPLICA HOSTS;", 1, FX_TSV, NULL, 1,
     {{2, "replica-a", 23417}}},
};

static void test_rp_case(void **state)
{
    const rp_case *c = *state;
    topo_snapshot snap;
    char err[256] = "";
    int rc;

    memset(&snap, 0, sizeof(snap));
    snap.n_replicas = 5; /* stale */
    rc = apply_fixture(c->flavor, DIALECT_Q_REPLICAS, c->file, c->marker, c->occ, c->fmt, c->subs,
                       &snap, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s: rc %d: %s", c->name, rc, err);
    assert_int_equal(snap.n_replicas, c->n);
    for (size_t i = 0; i < c->n; i++) {
        assert_int_equal(snap.replicas[i].server_id, c->want[i].id);
        assert_string_equal(snap.replicas[i].addr.host, c->want[i].host);
        assert_int_equal(snap.replicas[i].addr.port, c->want[i].port);
    }
    topo_snapshot_clear(&snap);
}

static void test_replicas_cap_and_errors(void **state)
{
    enum { N = TOPO_MAX_REPLICAS + 6 };
    static const char *const names[] = {"Server_Id", "Host", "Port", "Source_Id", "Replica_UUID"};
    const char **cells = calloc(N * 5, sizeof(char *));
    char (*ids)[16] = calloc(N, 16);
    char (*hosts)[32] = calloc(N, 32);
    dialect_result r;
    topo_snapshot snap;
    char err[256] = "";

    (void)state;
    assert_non_null(cells);
    assert_non_null(ids);
    assert_non_null(hosts);
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], 16, "%zu", 100 + i);
        snprintf(hosts[i], 32, "db%zu.example", i);
        cells[i * 5 + 0] = ids[i];
        cells[i * 5 + 1] = (i == 3) ? NULL : hosts[i]; /* one without report_host */
        cells[i * 5 + 2] = "3306";
        cells[i * 5 + 3] = "1";
        cells[i * 5 + 4] = "";
    }
    r = mkres(5, N, names, cells);
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICAS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.n_replicas, TOPO_MAX_REPLICAS);
    assert_int_equal(snap.replicas[2].server_id, 102);
    assert_int_equal(snap.replicas[3].server_id, 104); /* row 3 skipped */
    assert_string_equal(snap.replicas[TOPO_MAX_REPLICAS - 1].addr.host, "db64.example");

    /* Zero rows empties the list. */
    r.n_rows = 0;
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICAS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.n_replicas, 0);

    /* Bad port: error, list unchanged. */
    r.n_rows = 2;
    snap.n_replicas = 1;
    snap.replicas = calloc(1, sizeof(*snap.replicas));
    assert_non_null(snap.replicas);
    snprintf(snap.replicas[0].addr.host, sizeof(snap.replicas[0].addr.host), "keep");
    cells[1 * 5 + 2] = "SLAVE_PORT";
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_REPLICAS, &r, &snap, err, sizeof(err)), -EINVAL);
    assert_contains(err, "Port");
    assert_contains(err, "SLAVE_PORT");
    assert_int_equal(snap.n_replicas, 1);
    assert_string_equal(snap.replicas[0].addr.host, "keep");

    /* Missing Host column. */
    {
        static const char *const n2[] = {"Server_id", "Port"};
        static const char *const c2[] = {"1", "3306"};
        dialect_result r2 = mkres(2, 1, n2, c2);
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICAS, &r2, &snap, err, sizeof(err)), -EPROTO);
        assert_contains(err, "Host");
    }
    free(cells);
    free(ids);
    free(hosts);
    topo_snapshot_clear(&snap);
}

/* ======================================================================== */
/* SEMISYNC                                                                  */
/* ======================================================================== */

typedef struct {
    const char *name;
    topo_flavor flavor;
    dialect_query_kind kind;
    const char *file, *marker;
    bool src_en, rep_en, src_on, rep_on;
    long long clients, timeout_ms;
} ss_case;

static const ss_case ss_cases[] = {
    {"semisync/mariadb-10.11.19 primary vars", TOPO_FLAVOR_MARIADB, DIALECT_Q_SEMISYNC_VARS,
     "mariadb-10.11.19-captured.txt", "mariadb> SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'; -- primary",
     true, false, false, false, -1, 10000},
    {"semisync/mariadb-10.11.19 primary status", TOPO_FLAVOR_MARIADB, DIALECT_Q_SEMISYNC_STATUS,
     "mariadb-10.11.19-captured.txt", "mariadb> SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'; -- primary",
     false, false, true, false, 1, -1},
    {"semisync/mariadb-10.11.19 replica vars", TOPO_FLAVOR_MARIADB, DIALECT_Q_SEMISYNC_VARS,
     "mariadb-10.11.19-captured.txt", "mariadb> SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'; -- replica",
     false, true, false, false, -1, 10000},
    {"semisync/mariadb-10.11.19 replica status", TOPO_FLAVOR_MARIADB, DIALECT_Q_SEMISYNC_STATUS,
     "mariadb-10.11.19-captured.txt", "mariadb> SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'; -- replica",
     false, false, false, true, 0, -1},
    {"semisync/mariadb-newer master status", TOPO_FLAVOR_MARIADB, DIALECT_Q_SEMISYNC_STATUS,
     "semi-sync.txt", "show status like 'rpl_semi_sync_master%';",
     false, false, true, false, 1, -1},
    {"semisync/mariadb-newer slave status", TOPO_FLAVOR_MARIADB, DIALECT_Q_SEMISYNC_STATUS,
     "semi-sync.txt", "show status like 'rpl_semi_sync_slave%';",
     false, false, false, true, -1, -1},
    {"semisync/mysql old names: master enabled", TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS,
     "semi-sync.txt", "show variables like 'rpl_semi_sync_master_enabled';",
     true, false, false, false, -1, -1},
    {"semisync/mysql old names: master status OFF", TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_STATUS,
     "semi-sync.txt", "show status like 'Rpl_semi_sync_master_status';",
     false, false, false, false, -1, -1},
    {"semisync/mysql old names: clients", TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_STATUS,
     "semi-sync.txt", "show status like 'Rpl_semi_sync_master_clients';",
     false, false, false, false, 1, -1},
    {"semisync/mysql old names: slave status ON", TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_STATUS,
     "semi-sync.txt", "show status like 'Rpl_semi_sync_slave_status';",
     false, false, false, true, -1, -1},
};

static void test_ss_case(void **state)
{
    const ss_case *c = *state;
    topo_snapshot snap;
    char err[256] = "";
    int rc;

    memset(&snap, 0, sizeof(snap));
    snap.semisync.source_clients = -1;
    snap.semisync.source_timeout_ms = -1;
    rc = apply_fixture(c->flavor, c->kind, c->file, c->marker, 1, FX_TSV, NULL, &snap, err,
                       sizeof(err));
    if (rc != 0)
        fail_msg("%s: rc %d: %s", c->name, rc, err);
    assert_int_equal(snap.semisync.source_enabled, c->src_en);
    assert_int_equal(snap.semisync.replica_enabled, c->rep_en);
    assert_int_equal(snap.semisync.source_status_on, c->src_on);
    assert_int_equal(snap.semisync.replica_status_on, c->rep_on);
    assert_int_equal(snap.semisync.source_clients, c->clients);
    assert_int_equal(snap.semisync.source_timeout_ms, c->timeout_ms);
    topo_snapshot_clear(&snap);
}

/* MySQL 8.4 new names (no capture exists: built from the names in semi-sync.txt). */
static void test_semisync_mysql_new_names(void **state)
{
    static const char *const names[] = {"Variable_name", "Value"};
    static const char *const vars[] = {
        "rpl_semi_sync_replica_enabled", "OFF", "rpl_semi_sync_replica_trace_level", "32",
        "rpl_semi_sync_source_enabled", "ON", "rpl_semi_sync_source_timeout", "5000",
        "rpl_semi_sync_source_wait_for_replica_count", "1",
        "rpl_semi_sync_source_wait_point", "AFTER_SYNC"};
    static const char *const status[] = {
        "Rpl_semi_sync_replica_status", "OFF", "Rpl_semi_sync_source_clients", "2",
        "Rpl_semi_sync_source_status", "ON", "Rpl_semi_sync_source_yes_tx", "304"};
    static const char *const bad[] = {"Rpl_semi_sync_source_status", "MAYBE"};
    dialect_result r = mkres(2, 6, names, vars);
    topo_snapshot snap;
    char err[256] = "";

    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS, &r, &snap, err, sizeof(err)), 0);
    r = mkres(2, 4, names, status);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_STATUS, &r, &snap, err, sizeof(err)), 0);
    assert_true(snap.semisync.source_enabled);
    assert_false(snap.semisync.replica_enabled);
    assert_int_equal(snap.semisync.source_timeout_ms, 5000);
    assert_true(snap.semisync.source_status_on);
    assert_false(snap.semisync.replica_status_on);
    assert_int_equal(snap.semisync.source_clients, 2);

    /* Bad boolean: error, state kept. */
    r = mkres(2, 1, names, bad);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_STATUS, &r, &snap, err, sizeof(err)), -EINVAL);
    assert_contains(err, "MAYBE");
    assert_true(snap.semisync.source_status_on);

    /* Plugin not installed: zero rows → false / -1 (vars untouched by status). */
    r = mkres(2, 0, names, NULL);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_STATUS, &r, &snap, err, sizeof(err)), 0);
    assert_false(snap.semisync.source_status_on);
    assert_int_equal(snap.semisync.source_clients, -1);
    assert_true(snap.semisync.source_enabled);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS, &r, &snap, err, sizeof(err)), 0);
    assert_false(snap.semisync.source_enabled);
    assert_int_equal(snap.semisync.source_timeout_ms, -1);
    topo_snapshot_clear(&snap);
}

/* ======================================================================== */
/* LAG                                                                       */
/* ======================================================================== */

static void test_lag(void **state)
{
    static const struct {
        size_t n_cols, n_rows;
        const char *cell;
        int rc;
        double want;
    } cases[] = {
        {1, 1, "1.5", 0, 1.5},       {1, 1, "0", 0, 0.0},       {1, 1, "12", 0, 12.0},
        {1, 1, "0.000250", 0, 0.00025}, {1, 1, NULL, 0, -1.0}, {1, 0, NULL, 0, -1.0},
        {0, 0, NULL, 0, -1.0},       {1, 1, "abc", -EINVAL, 0}, {1, 1, "nan", -EINVAL, 0},
        {1, 1, "inf", -EINVAL, 0},   {1, 1, "1.5s", -EINVAL, 0}, {1, 1, "", -EINVAL, 0},
    };
    static const char *const names[] = {"lag"};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *cells[1] = {cases[i].cell};
        dialect_result r = mkres(cases[i].n_cols, cases[i].n_rows, names, cells);
        topo_snapshot snap;
        char err[128] = "";
        int rc;

        memset(&snap, 0, sizeof(snap));
        snap.lag_query_s = 42;
        rc = dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_LAG, &r, &snap, err, sizeof(err));
        if (rc != cases[i].rc)
            fail_msg("lag case %zu: rc %d want %d (%s)", i, rc, cases[i].rc, err);
        if (rc == 0) {
            assert_true(snap.has_lag_query);
            assert_true(fabs(snap.lag_query_s - cases[i].want) < 1e-9);
        } else {
            assert_contains(err, "lag");
            assert_false(snap.has_lag_query);
            assert_true(snap.lag_query_s == 42);
        }
    }
}

static void test_apply_bad_args(void **state)
{
    static const char *const names[] = {"a"};
    dialect_result r = mkres(1, 1, names, NULL);
    topo_snapshot snap;
    char err[128] = "";

    (void)state;
    memset(&snap, 0, sizeof(snap));
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_LAG, NULL, &snap, err, sizeof(err)), -EINVAL);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_LAG, &r, NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_UNKNOWN, DIALECT_Q_LAG, &r, &snap, err, sizeof(err)), -EINVAL);
    /* rows but no cells */
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_LAG, &r, &snap, err, sizeof(err)), -EINVAL);
    assert_contains(err, "malformed");
    {
        static const char *const one[] = {"1"};
        dialect_result ok = mkres(1, 1, names, one);
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, (dialect_query_kind)99, &ok, &snap, NULL, 0), -EINVAL);
        assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_LAG, &ok, &snap, NULL, 0), 0);
        assert_true(snap.lag_query_s == 1.0);
    }
    assert_string_equal(dialect_query_kind_name(DIALECT_Q_REPLICA_STATUS), "replica_status");
    assert_string_equal(dialect_query_kind_name((dialect_query_kind)99), "unknown");
}

/* ======================================================================== */
/* Statement builders                                                        */
/* ======================================================================== */

typedef struct {
    topo_flavor f;
    int ma, mi, pa;
    const char *change;
} sql_case;

#define MDB_CHANGE                                                                                 \
    "CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306, MASTER_USER='repl', "             \
    "MASTER_PASSWORD='s3cr''et\\\\x', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, "        \
    "MASTER_HEARTBEAT_PERIOD=1.000"
#define MY_OLD_CHANGE                                                                              \
    "CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306, MASTER_USER='repl', "             \
    "MASTER_PASSWORD='s3cr''et\\\\x', MASTER_AUTO_POSITION=1, MASTER_CONNECT_RETRY=1, "           \
    "MASTER_HEARTBEAT_PERIOD=1.000, GET_MASTER_PUBLIC_KEY=1"
#define MY_NEW_CHANGE                                                                              \
    "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.5', SOURCE_PORT=3306, SOURCE_USER='repl', " \
    "SOURCE_PASSWORD='s3cr''et\\\\x', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, "           \
    "SOURCE_HEARTBEAT_PERIOD=1.000, GET_SOURCE_PUBLIC_KEY=1"

static const sql_case sql_cases[] = {
    {TOPO_FLAVOR_MARIADB, 10, 4, 32, MDB_CHANGE},
    {TOPO_FLAVOR_MARIADB, 10, 6, 16, MDB_CHANGE},
    {TOPO_FLAVOR_MARIADB, 10, 11, 6, MDB_CHANGE},
    {TOPO_FLAVOR_MARIADB, 11, 4, 2, MDB_CHANGE},
    {TOPO_FLAVOR_MYSQL, 8, 0, 20, MY_OLD_CHANGE},
    {TOPO_FLAVOR_MYSQL, 8, 0, 22, MY_OLD_CHANGE},
    {TOPO_FLAVOR_MYSQL, 8, 0, 23, MY_NEW_CHANGE},
    {TOPO_FLAVOR_MYSQL, 8, 0, 30, MY_NEW_CHANGE},
    {TOPO_FLAVOR_MYSQL, 8, 4, 3, MY_NEW_CHANGE},
};

static void test_sql_builders(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(sql_cases) / sizeof(sql_cases[0]); i++) {
        const sql_case *c = &sql_cases[i];
        char buf[1024], err[256] = "";

        /* Every other statement: test_stmt_every_step_per_release (dialect_stmt_text). */
        if (dialect_sql_change_source(c->f, c->ma, c->mi, c->pa, "10.0.0.5", 3306, "repl",
                                      "s3cr'et\\x", 1, 1.0, buf, sizeof(buf), err, sizeof(err)) != 0)
            fail_msg("change source %d.%d.%d: %s", c->ma, c->mi, c->pa, err);
        assert_string_equal(buf, c->change);
    }
}

static void test_sql_change_source_variants(void **state)
{
    char buf[512], err[256] = "";

    (void)state;
    /* No user/password, no retry, heartbeat off (0), IPv6 host. */
    assert_int_equal(dialect_sql_change_source(TOPO_FLAVOR_MARIADB, 10, 11, 6, "fd00::5", 3307, NULL,
                                               NULL, 0, 0.0, buf, sizeof(buf), err, sizeof(err)), 0);
    assert_string_equal(buf, "CHANGE MASTER TO MASTER_HOST='fd00::5', MASTER_PORT=3307, "
                             "MASTER_USE_GTID=slave_pos, MASTER_HEARTBEAT_PERIOD=0.000");
    /* Heartbeat left out, sub-second heartbeat, password with newline / ^Z. */
    assert_int_equal(dialect_sql_change_source(TOPO_FLAVOR_MYSQL, 8, 4, 0, "db-1", 3306, "r",
                                               "a\nb\r\032", 5, -1, buf, sizeof(buf), err, sizeof(err)), 0);
    assert_string_equal(buf, "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db-1', SOURCE_PORT=3306, "
                             "SOURCE_USER='r', SOURCE_PASSWORD='a\\nb\\r\\Z', SOURCE_AUTO_POSITION=1, "
                             "SOURCE_CONNECT_RETRY=5, GET_SOURCE_PUBLIC_KEY=1");
    assert_int_equal(dialect_sql_change_source(TOPO_FLAVOR_MARIADB, 10, 11, 6, "h", 1, "u", "p", 1,
                                               0.25, buf, sizeof(buf), err, sizeof(err)), 0);
    assert_contains(buf, "MASTER_HEARTBEAT_PERIOD=0.250");
    /* Quote in user is doubled. */
    assert_int_equal(dialect_sql_change_source(TOPO_FLAVOR_MARIADB, 10, 11, 6, "h", 1, "o'neil", "p",
                                               1, 1, buf, sizeof(buf), err, sizeof(err)), 0);
    assert_contains(buf, "MASTER_USER='o''neil'");
}

static void test_sql_change_source_errors(void **state)
{
    static const struct {
        topo_flavor f;
        const char *host;
        int port;
        const char *user;
        double hb;
        size_t buflen;
        int rc;
        const char *err_part;
    } cases[] = {
        {TOPO_FLAVOR_MARIADB, "db\n1", 3306, "u", 1, 512, -EINVAL, "bad host"},
        {TOPO_FLAVOR_MARIADB, "db1", 3306, "u\nDROP", 1, 512, -EINVAL, "bad user"},
        {TOPO_FLAVOR_MYSQL, "db\r1", 3306, "u", 1, 512, -EINVAL, "bad host"},
        {TOPO_FLAVOR_MYSQL, "db\\1", 3306, "u", 1, 512, -EINVAL, "bad host"},
        {TOPO_FLAVOR_MYSQL, "db1", 3306, "u\\x", 1, 512, -EINVAL, "bad user"},
        {TOPO_FLAVOR_MYSQL, "", 3306, "u", 1, 512, -EINVAL, "bad host"},
        {TOPO_FLAVOR_MYSQL, NULL, 3306, "u", 1, 512, -EINVAL, "bad host"},
        {TOPO_FLAVOR_MYSQL, "db1", 0, "u", 1, 512, -EINVAL, "port 0"},
        {TOPO_FLAVOR_MYSQL, "db1", 65536, "u", 1, 512, -EINVAL, "port 65536"},
        {TOPO_FLAVOR_MYSQL, "db1", 3306, "u", NAN, 512, -EINVAL, "heartbeat"},
        {TOPO_FLAVOR_MYSQL, "db1", 3306, "u", 5e6, 512, -EINVAL, "heartbeat"},
        {TOPO_FLAVOR_UNKNOWN, "db1", 3306, "u", 1, 512, -EINVAL, "unknown flavor"},
        {TOPO_FLAVOR_MARIADB, "db1", 3306, "u", 1, 40, -ENOSPC, "buffer"},
        {TOPO_FLAVOR_MARIADB, "db1", 3306, "u", 1, 0, -ENOSPC, "buffer"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[512] = "x", err[256] = "";
        int rc = dialect_sql_change_source(cases[i].f, 10, 11, 6, cases[i].host, cases[i].port,
                                           cases[i].user, "pw", 1, cases[i].hb, buf,
                                           cases[i].buflen, err, sizeof(err));
        if (rc != cases[i].rc)
            fail_msg("change source case %zu: rc %d want %d (%s)", i, rc, cases[i].rc, err);
        assert_contains(err, cases[i].err_part);
        if (cases[i].buflen > 0)
            assert_string_equal(buf, "");
    }
    /* Host of 256 characters is too long. */
    {
        char host[300], buf[1024], err[128];
        memset(host, 'a', 256);
        host[256] = '\0';
        assert_int_equal(dialect_sql_change_source(TOPO_FLAVOR_MARIADB, 10, 11, 6, host, 3306, "u",
                                                   "p", 1, 1, buf, sizeof(buf), err, sizeof(err)),
                         -EINVAL);
    }
}

static void test_sql_small_buffers(void **state)
{
    char buf[8];
    dialect_caps my84, my80, unk;

    (void)state;
    dialect_caps_init(&my84, TOPO_FLAVOR_MYSQL, 8, 4, 0, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    dialect_caps_init(&my80, TOPO_FLAVOR_MYSQL, 8, 0, 20, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    dialect_caps_init(&unk, TOPO_FLAVOR_UNKNOWN, 8, 4, 0, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    /* Too small: -ENOSPC and buf "", never a shorter statement. */
    assert_int_equal(dialect_stmt_text(&my84, DIALECT_STMT_STOP_IO, buf, sizeof(buf)), -ENOSPC);
    assert_string_equal(buf, "");
    assert_int_equal(dialect_stmt_text(&my84, DIALECT_STMT_START_REPLICA, buf, sizeof(buf)), -ENOSPC);
    assert_int_equal(dialect_stmt_text(&my84, DIALECT_STMT_RESET_REPLICA_ALL, buf, sizeof(buf)), -ENOSPC);
    assert_int_equal(dialect_stmt_text(&my84, DIALECT_STMT_READ_ONLY_ON, buf, sizeof(buf)), -ENOSPC);
    assert_int_equal(dialect_stmt_text(&my84, DIALECT_STMT_START_REPLICA, NULL, 0), -ENOSPC);
    assert_int_equal(dialect_stmt_text(&unk, DIALECT_STMT_STOP_IO, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(dialect_stmt_text(&unk, DIALECT_STMT_READ_ONLY_ON, buf, sizeof(buf)), -EINVAL);
    /* Exactly fitting: "START SLAVE FOR CHANNEL ''" is 26 chars + NUL. */
    {
        char b27[27], b26[26];
        assert_int_equal(dialect_stmt_text(&my80, DIALECT_STMT_START_REPLICA, b27, sizeof(b27)), 0);
        assert_string_equal(b27, "START SLAVE FOR CHANNEL ''");
        assert_int_equal(dialect_stmt_text(&my80, DIALECT_STMT_START_REPLICA, b26, sizeof(b26)), -ENOSPC);
        assert_string_equal(b26, "");
    }
}


/* ======================================================================== */
/* Capabilities and every statement recovery sends (issue 12 items 3, 10)    */
/* ======================================================================== */

/*
 * The exact text of every step's statement per release. Sources:
 *   MariaDB KB: "STOP REPLICA", "START REPLICA", "RESET REPLICA" (REPLICA
 *     aliases from 10.5.1), "CHANGE MASTER TO", "read_only" (Server System
 *     Variables), "Semisynchronous Replication" (rpl_semi_sync_master_enabled /
 *     _slave_enabled, built in since 10.3.3), "gtid_slave_pos" (Global
 *     Transaction ID), "MASTER_GTID_WAIT", "KILL", "lock_wait_timeout".
 *   MySQL 8.0 Reference Manual: 15.4.2.8 "STOP REPLICA Statement", 15.4.2.9
 *     "STOP SLAVE Statement", 15.4.2.6 "START REPLICA Statement", 15.4.2.7
 *     "START SLAVE Statement", 15.4.2.4 "RESET REPLICA Statement", 15.4.2.5
 *     "RESET SLAVE Statement" (REPLICA forms from 8.0.22; every one takes
 *     [FOR CHANNEL channel], and without it acts on every channel), 15.4.2.3
 *     "CHANGE REPLICATION SOURCE TO Statement" (8.0.23) / 15.4.2.1 "CHANGE MASTER
 *     TO Statement" (channel_option last; error 1964 without it when several
 *     channels exist), 7.1.8 "Server System Variables" (super_read_only,
 *     read_only, lock_wait_timeout), 19.4.10.2 "Configuring Semisynchronous
 *     Replication" (source/replica names from 8.0.26, only the loaded plugin's
 *     names exist), 14.18.2 "Functions Used with Global Transaction Identifiers"
 *     (WAIT_FOR_EXECUTED_GTID_SET), 15.7.8.4 "KILL Statement".
 *   MySQL 8.4 Reference Manual: 15.4.2.5 "STOP REPLICA Statement", 15.4.2.4
 *     "START REPLICA Statement", 15.4.2.3 "RESET REPLICA Statement", 15.4.2.2
 *     "CHANGE REPLICATION SOURCE TO Statement" (the SLAVE / MASTER forms are
 *     removed), 7.1.8, 19.4.10.2, 14.18.2, 15.7.8.4 as in 8.0.
 */
typedef struct {
    const char *name;
    topo_flavor f;
    int ma, mi, pa;
    topo_semisync_names ss_src, ss_rep;
    const char *stop, *stop_io, *start, *start_io, *start_sql, *reset, *status, *ro_on, *ro_off;
    const char *ss_src_on, *ss_rep_on, *ss_src_q, *own_gtid, *applied_gtid, *change_tail, *wait;
} stmt_case;

#define MDB_SS "rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled"
static const stmt_case stmt_cases[] = {
    {"MariaDB 10.6", TOPO_FLAVOR_MARIADB, 10, 6, 16, TOPO_SEMISYNC_NAMES_MASTER_SLAVE, TOPO_SEMISYNC_NAMES_MASTER_SLAVE,
     "STOP REPLICA", "STOP REPLICA IO_THREAD", "START REPLICA", "START REPLICA IO_THREAD", "START REPLICA SQL_THREAD",
     "RESET REPLICA ALL", "SHOW REPLICA STATUS", "SET GLOBAL read_only=1", "SET GLOBAL read_only=0",
     "SET GLOBAL rpl_semi_sync_master_enabled=ON", "SET GLOBAL rpl_semi_sync_slave_enabled=ON",
     "SELECT @@GLOBAL.rpl_semi_sync_master_enabled", "SELECT @@GLOBAL.gtid_binlog_pos",
     "SELECT @@GLOBAL.gtid_slave_pos", "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1.000",
     "SELECT MASTER_GTID_WAIT('0-1-5', 2.500)"},
    {"MariaDB 10.11", TOPO_FLAVOR_MARIADB, 10, 11, 6, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE,
     "STOP REPLICA", "STOP REPLICA IO_THREAD", "START REPLICA", "START REPLICA IO_THREAD", "START REPLICA SQL_THREAD",
     "RESET REPLICA ALL", "SHOW REPLICA STATUS", "SET GLOBAL read_only=1", "SET GLOBAL read_only=0",
     "SET GLOBAL rpl_semi_sync_master_enabled=ON", "SET GLOBAL rpl_semi_sync_slave_enabled=ON",
     "SELECT @@GLOBAL.rpl_semi_sync_master_enabled", "SELECT @@GLOBAL.gtid_binlog_pos",
     "SELECT @@GLOBAL.gtid_slave_pos", "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1.000",
     "SELECT MASTER_GTID_WAIT('0-1-5', 2.500)"},
    {"MariaDB 11.4", TOPO_FLAVOR_MARIADB, 11, 4, 2, TOPO_SEMISYNC_NAMES_MASTER_SLAVE, TOPO_SEMISYNC_NAMES_MASTER_SLAVE,
     "STOP REPLICA", "STOP REPLICA IO_THREAD", "START REPLICA", "START REPLICA IO_THREAD", "START REPLICA SQL_THREAD",
     "RESET REPLICA ALL", "SHOW REPLICA STATUS", "SET GLOBAL read_only=1", "SET GLOBAL read_only=0",
     "SET GLOBAL rpl_semi_sync_master_enabled=ON", "SET GLOBAL rpl_semi_sync_slave_enabled=ON",
     "SELECT @@GLOBAL.rpl_semi_sync_master_enabled", "SELECT @@GLOBAL.gtid_binlog_pos",
     "SELECT @@GLOBAL.gtid_slave_pos", "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1.000",
     "SELECT MASTER_GTID_WAIT('0-1-5', 2.500)"},
    /* 8.0.21: before the REPLICA aliases and the source plugins. */
    {"MySQL 8.0.21", TOPO_FLAVOR_MYSQL, 8, 0, 21, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE,
     "STOP SLAVE FOR CHANNEL ''", "STOP SLAVE IO_THREAD FOR CHANNEL ''", "START SLAVE FOR CHANNEL ''",
     "START SLAVE IO_THREAD FOR CHANNEL ''", "START SLAVE SQL_THREAD FOR CHANNEL ''", "RESET SLAVE ALL FOR CHANNEL ''",
     "SHOW SLAVE STATUS", "SET GLOBAL super_read_only=1", "SET GLOBAL read_only=0",
     "SET GLOBAL rpl_semi_sync_master_enabled=ON", "SET GLOBAL rpl_semi_sync_slave_enabled=ON",
     "SELECT @@GLOBAL.rpl_semi_sync_master_enabled", "SELECT @@GLOBAL.gtid_executed", "SELECT @@GLOBAL.gtid_executed",
     "MASTER_AUTO_POSITION=1, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1.000, GET_MASTER_PUBLIC_KEY=1 "
     "FOR CHANNEL ''",
     "SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 2.500)"},
    /* 8.0.22: REPLICA verbs; CHANGE REPLICATION SOURCE TO only from 8.0.23. */
    {"MySQL 8.0.22", TOPO_FLAVOR_MYSQL, 8, 0, 22, TOPO_SEMISYNC_NAMES_MASTER_SLAVE, TOPO_SEMISYNC_NAMES_MASTER_SLAVE,
     "STOP REPLICA FOR CHANNEL ''", "STOP REPLICA IO_THREAD FOR CHANNEL ''", "START REPLICA FOR CHANNEL ''",
     "START REPLICA IO_THREAD FOR CHANNEL ''", "START REPLICA SQL_THREAD FOR CHANNEL ''",
     "RESET REPLICA ALL FOR CHANNEL ''", "SHOW REPLICA STATUS", "SET GLOBAL super_read_only=1",
     "SET GLOBAL read_only=0", "SET GLOBAL rpl_semi_sync_master_enabled=ON",
     "SET GLOBAL rpl_semi_sync_slave_enabled=ON", "SELECT @@GLOBAL.rpl_semi_sync_master_enabled",
     "SELECT @@GLOBAL.gtid_executed", "SELECT @@GLOBAL.gtid_executed",
     "MASTER_AUTO_POSITION=1, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1.000, GET_MASTER_PUBLIC_KEY=1 "
     "FOR CHANNEL ''",
     "SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 2.500)"},
    /* 8.0.36 still running the old plugins (allowed up to 8.4): the old names, never the new. */
    {"MySQL 8.0.36 old plugins", TOPO_FLAVOR_MYSQL, 8, 0, 36, TOPO_SEMISYNC_NAMES_MASTER_SLAVE,
     TOPO_SEMISYNC_NAMES_MASTER_SLAVE, "STOP REPLICA FOR CHANNEL ''", "STOP REPLICA IO_THREAD FOR CHANNEL ''",
     "START REPLICA FOR CHANNEL ''", "START REPLICA IO_THREAD FOR CHANNEL ''",
     "START REPLICA SQL_THREAD FOR CHANNEL ''", "RESET REPLICA ALL FOR CHANNEL ''", "SHOW REPLICA STATUS",
     "SET GLOBAL super_read_only=1", "SET GLOBAL read_only=0", "SET GLOBAL rpl_semi_sync_master_enabled=ON",
     "SET GLOBAL rpl_semi_sync_slave_enabled=ON", "SELECT @@GLOBAL.rpl_semi_sync_master_enabled",
     "SELECT @@GLOBAL.gtid_executed", "SELECT @@GLOBAL.gtid_executed",
     "SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=1.000, GET_SOURCE_PUBLIC_KEY=1 "
     "FOR CHANNEL ''",
     "SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 2.500)"},
    {"MySQL 8.0.36 new plugins", TOPO_FLAVOR_MYSQL, 8, 0, 36, TOPO_SEMISYNC_NAMES_SOURCE_REPLICA,
     TOPO_SEMISYNC_NAMES_SOURCE_REPLICA, "STOP REPLICA FOR CHANNEL ''", "STOP REPLICA IO_THREAD FOR CHANNEL ''",
     "START REPLICA FOR CHANNEL ''", "START REPLICA IO_THREAD FOR CHANNEL ''",
     "START REPLICA SQL_THREAD FOR CHANNEL ''", "RESET REPLICA ALL FOR CHANNEL ''", "SHOW REPLICA STATUS",
     "SET GLOBAL super_read_only=1", "SET GLOBAL read_only=0", "SET GLOBAL rpl_semi_sync_source_enabled=ON",
     "SET GLOBAL rpl_semi_sync_replica_enabled=ON", "SELECT @@GLOBAL.rpl_semi_sync_source_enabled",
     "SELECT @@GLOBAL.gtid_executed", "SELECT @@GLOBAL.gtid_executed",
     "SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=1.000, GET_SOURCE_PUBLIC_KEY=1 "
     "FOR CHANNEL ''",
     "SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 2.500)"},
    /* 8.4 with the old source plugin and the new replica plugin: each side its own spelling. */
    {"MySQL 8.4 mixed plugins", TOPO_FLAVOR_MYSQL, 8, 4, 3, TOPO_SEMISYNC_NAMES_MASTER_SLAVE,
     TOPO_SEMISYNC_NAMES_SOURCE_REPLICA, "STOP REPLICA FOR CHANNEL ''", "STOP REPLICA IO_THREAD FOR CHANNEL ''",
     "START REPLICA FOR CHANNEL ''", "START REPLICA IO_THREAD FOR CHANNEL ''",
     "START REPLICA SQL_THREAD FOR CHANNEL ''", "RESET REPLICA ALL FOR CHANNEL ''", "SHOW REPLICA STATUS",
     "SET GLOBAL super_read_only=1", "SET GLOBAL read_only=0", "SET GLOBAL rpl_semi_sync_master_enabled=ON",
     "SET GLOBAL rpl_semi_sync_replica_enabled=ON", "SELECT @@GLOBAL.rpl_semi_sync_master_enabled",
     "SELECT @@GLOBAL.gtid_executed", "SELECT @@GLOBAL.gtid_executed",
     "SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=1.000, GET_SOURCE_PUBLIC_KEY=1 "
     "FOR CHANNEL ''",
     "SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 2.500)"},
    /* 8.4 with no plugin seen: the names of the plugin it ships. */
    {"MySQL 8.4", TOPO_FLAVOR_MYSQL, 8, 4, 3, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE,
     "STOP REPLICA FOR CHANNEL ''", "STOP REPLICA IO_THREAD FOR CHANNEL ''", "START REPLICA FOR CHANNEL ''",
     "START REPLICA IO_THREAD FOR CHANNEL ''", "START REPLICA SQL_THREAD FOR CHANNEL ''",
     "RESET REPLICA ALL FOR CHANNEL ''", "SHOW REPLICA STATUS", "SET GLOBAL super_read_only=1",
     "SET GLOBAL read_only=0", "SET GLOBAL rpl_semi_sync_source_enabled=ON",
     "SET GLOBAL rpl_semi_sync_replica_enabled=ON", "SELECT @@GLOBAL.rpl_semi_sync_source_enabled",
     "SELECT @@GLOBAL.gtid_executed", "SELECT @@GLOBAL.gtid_executed",
     "SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_HEARTBEAT_PERIOD=1.000, GET_SOURCE_PUBLIC_KEY=1 "
     "FOR CHANNEL ''",
     "SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 2.500)"},
};

static void check_stmt(const dialect_caps *c, dialect_stmt k, const char *want, const char *name)
{
    char buf[256];
    int rc = dialect_stmt_text(c, k, buf, sizeof(buf));
    if (rc != 0 || strcmp(buf, want) != 0)
        fail_msg("%s, statement %d: rc %d, got \"%s\", want \"%s\"", name, (int)k, rc, buf, want);
}

static void test_stmt_every_step_per_release(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(stmt_cases) / sizeof(stmt_cases[0]); i++) {
        const stmt_case *t = &stmt_cases[i];
        dialect_caps c;
        char buf[256], err[256] = "", *sql = NULL, want[512];
        bool mysql = t->f == TOPO_FLAVOR_MYSQL;

        dialect_caps_init(&c, t->f, t->ma, t->mi, t->pa, t->ss_src, t->ss_rep);
        assert_true(c.known);
        check_stmt(&c, DIALECT_STMT_STOP_REPLICA, t->stop, t->name);
        check_stmt(&c, DIALECT_STMT_STOP_IO, t->stop_io, t->name);
        check_stmt(&c, DIALECT_STMT_START_REPLICA, t->start, t->name);
        check_stmt(&c, DIALECT_STMT_START_IO, t->start_io, t->name);
        check_stmt(&c, DIALECT_STMT_START_SQL, t->start_sql, t->name);
        check_stmt(&c, DIALECT_STMT_RESET_REPLICA_ALL, t->reset, t->name);
        check_stmt(&c, DIALECT_STMT_REPLICA_STATUS, t->status, t->name);
        check_stmt(&c, DIALECT_STMT_READ_ONLY_ON, t->ro_on, t->name);
        check_stmt(&c, DIALECT_STMT_READ_ONLY_OFF, t->ro_off, t->name);
        check_stmt(&c, DIALECT_STMT_SEMISYNC_SOURCE_ON, t->ss_src_on, t->name);
        check_stmt(&c, DIALECT_STMT_SEMISYNC_REPLICA_ON, t->ss_rep_on, t->name);
        snprintf(want, sizeof(want), "%.*s=OFF", (int)(strlen(t->ss_src_on) - 3), t->ss_src_on);
        check_stmt(&c, DIALECT_STMT_SEMISYNC_SOURCE_OFF, want, t->name);
        snprintf(want, sizeof(want), "%.*s=OFF", (int)(strlen(t->ss_rep_on) - 3), t->ss_rep_on);
        check_stmt(&c, DIALECT_STMT_SEMISYNC_REPLICA_OFF, want, t->name);
        check_stmt(&c, DIALECT_STMT_SEMISYNC_SOURCE_ENABLED, t->ss_src_q, t->name);
        check_stmt(&c, DIALECT_STMT_OWN_GTID, t->own_gtid, t->name);
        check_stmt(&c, DIALECT_STMT_APPLIED_GTID, t->applied_gtid, t->name);
        check_stmt(&c, DIALECT_STMT_SESSIONS,
                   "SELECT ID, USER, COMMAND, STATE FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()", t->name);
        /* MariaDB 10.11.19, measured (issue 18): STOP SLAVE IO_THREAD of a semi-sync replica of a SIGSTOPped
         * primary takes rpl_semi_sync_slave_kill_conn_timeout (1.02 s with 1; > 15 s with 0); KILL of the
         * IO thread, then STOP, 15 ms. The IO thread shows as COMMAND 'Slave_IO' in the process list. */
        assert_int_equal(c.io_stop_reaches_source, !mysql);
        if (mysql) {
            memset(buf, 'X', sizeof(buf));
            assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_IO_THREAD_IDS, buf, sizeof(buf)), -ENOTSUP);
            assert_string_equal(buf, "");
        } else {
            check_stmt(&c, DIALECT_STMT_IO_THREAD_IDS,
                       "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'", t->name);
        }
        assert_int_equal(dialect_stmt_kill(&c, 42, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "KILL CONNECTION 42");
        assert_int_equal(dialect_stmt_lock_wait_timeout(&c, 4200, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "SET SESSION lock_wait_timeout=5");
        if (mysql) {
            assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SLAVE_POS_FROM_BINLOG, buf, sizeof(buf)), -ENOTSUP);
        } else {
            check_stmt(&c, DIALECT_STMT_SLAVE_POS_FROM_BINLOG, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos",
                       t->name);
        }
        assert_int_equal(c.gtid, mysql ? GTID_KIND_MYSQL : GTID_KIND_MARIADB);
        assert_int_equal(c.super_read_only, mysql);
        assert_int_equal(c.channel_clause, mysql);
        /* MySQL 8.0/8.4 7.1.8 / 19.1.6.3: log_replica_updates from 8.0.26, log_slave_updates before. */
        assert_int_equal(c.log_replica_updates_name, mysql && (t->mi > 0 || t->pa >= 26));

        /* CHANGE ... TO: options, TLS clauses, then the channel (MySQL's channel_option comes last). */
        if (dialect_stmt_change_source(&c, "10.0.0.5", 3306, "repl", "pw", 1, 1.0, NULL, &sql, err, sizeof(err)) != 0)
            fail_msg("%s change source: %s", t->name, err);
        snprintf(want, sizeof(want), "%s", t->change_tail);
        if (!strstr(sql, want) || strcmp(sql + strlen(sql) - strlen(want), want) != 0)
            fail_msg("%s change source: \"%s\" does not end with \"%s\"", t->name, sql, want);
        if (strncmp(sql, c.source_syntax ? "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.5', SOURCE_PORT=3306"
                                         : "CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306",
                    40) != 0)
            fail_msg("%s change source: \"%s\"", t->name, sql);
        free(sql);
        {
            dialect_repl_ssl ssl = {.ssl = 1, .ca = "/etc/ca.pem", .cert = NULL, .key = NULL, .verify_server_cert = 1};
            assert_int_equal(dialect_stmt_change_source(&c, "h", 1, NULL, NULL, 0, -1, &ssl, &sql, err, sizeof(err)), 0);
            snprintf(want, sizeof(want), "%s_SSL_VERIFY_SERVER_CERT=1%s", c.source_syntax ? "SOURCE" : "MASTER",
                     mysql ? " FOR CHANNEL ''" : "");
            if (strcmp(sql + strlen(sql) - strlen(want), want) != 0)
                fail_msg("%s change source with TLS: \"%s\"", t->name, sql);
            free(sql);
        }
        /* GTID wait. */
        assert_int_equal(dialect_sql_wait_gtid(c.flavor, mysql ? "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5" : "0-1-5",
                                               2.5, &sql, err, sizeof(err)), 0);
        assert_string_equal(sql, t->wait);
        free(sql);
    }
}

/* The probe records which semi-sync spelling a server has, per side (MySQL 8.0/8.4 19.4.10.2). */
static void test_semisync_spelling_recorded(void **state)
{
    static const char *const names[] = {"Variable_name", "Value"};
    static const char *const old_vars[] = {"rpl_semi_sync_master_enabled", "ON", "rpl_semi_sync_master_timeout",
                                           "10000", "rpl_semi_sync_slave_enabled", "OFF"};
    static const char *const new_vars[] = {"rpl_semi_sync_replica_enabled", "ON", "rpl_semi_sync_source_enabled",
                                           "OFF"};
    static const char *const mixed[] = {"rpl_semi_sync_master_enabled", "ON", "rpl_semi_sync_replica_enabled", "ON"};
    dialect_result r = mkres(2, 3, names, old_vars);
    topo_snapshot snap;
    dialect_caps c;
    char err[256] = "", buf[128];

    (void)state;
    memset(&snap, 0, sizeof(snap));
    snap.flavor = TOPO_FLAVOR_MYSQL;
    snap.version_major = 8;
    snap.version_minor = 0;
    snap.version_patch = 36;
    /* 8.0.36 running the old plugins: every SET uses the old names. */
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.semisync.source_names, TOPO_SEMISYNC_NAMES_MASTER_SLAVE);
    assert_int_equal(snap.semisync.replica_names, TOPO_SEMISYNC_NAMES_MASTER_SLAVE);
    dialect_caps_of(&snap, &c);
    assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SEMISYNC_SOURCE_OFF, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SET GLOBAL rpl_semi_sync_master_enabled=OFF");
    assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SEMISYNC_REPLICA_ON, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SET GLOBAL rpl_semi_sync_slave_enabled=ON");
    /* The new plugins: the new names. */
    r = mkres(2, 2, names, new_vars);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.semisync.source_names, TOPO_SEMISYNC_NAMES_SOURCE_REPLICA);
    assert_int_equal(snap.semisync.replica_names, TOPO_SEMISYNC_NAMES_SOURCE_REPLICA);
    dialect_caps_of(&snap, &c);
    assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SEMISYNC_SOURCE_ON, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SET GLOBAL rpl_semi_sync_source_enabled=ON");
    assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SEMISYNC_REPLICA_ON, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SET GLOBAL rpl_semi_sync_replica_enabled=ON");
    /* Old source plugin beside the new replica plugin. */
    r = mkres(2, 2, names, mixed);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS, &r, &snap, err, sizeof(err)), 0);
    dialect_caps_of(&snap, &c);
    assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SEMISYNC_SOURCE_ON, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SET GLOBAL rpl_semi_sync_master_enabled=ON");
    assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SEMISYNC_REPLICA_ON, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SET GLOBAL rpl_semi_sync_replica_enabled=ON");
    /* No plugin: nothing seen, the release's default (8.0.26+: new). */
    r = mkres(2, 0, names, NULL);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MYSQL, DIALECT_Q_SEMISYNC_VARS, &r, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.semisync.source_names, TOPO_SEMISYNC_NAMES_NONE);
    topo_snapshot_clear(&snap);
}

/* The spelling survives the state file (a restarted controller keeps sending the right names). */
static void test_semisync_spelling_persisted(void **state)
{
    topo_snapshot a, b;
    json_t *j;
    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.flavor = TOPO_FLAVOR_MYSQL;
    a.semisync.source_names = TOPO_SEMISYNC_NAMES_MASTER_SLAVE;
    a.semisync.replica_names = TOPO_SEMISYNC_NAMES_SOURCE_REPLICA;
    j = topo_snapshot_to_json(&a);
    assert_non_null(j);
    assert_int_equal(topo_snapshot_from_json(j, &b), 0);
    assert_int_equal(b.semisync.source_names, TOPO_SEMISYNC_NAMES_MASTER_SLAVE);
    assert_int_equal(b.semisync.replica_names, TOPO_SEMISYNC_NAMES_SOURCE_REPLICA);
    json_decref(j);
    topo_snapshot_clear(&a);
    topo_snapshot_clear(&b);
}

/*
 * A server the plan does not know (never probed): no statement is built from
 * it (buf left "", -EINVAL), so nothing uninitialised can be sent; the
 * flavor-neutral version query is, and the version the server answers (or its
 * handshake) gives the capabilities the fence needs.
 */
static void test_unknown_flavor_fence(void **state)
{
    static const struct {
        const char *version;
        const char *ro_on;
        const char *ss_off;
    } learned[] = {
        {"5.5.5-10.11.6-MariaDB-0+deb12u1", "SET GLOBAL read_only=1", "SET GLOBAL rpl_semi_sync_master_enabled=OFF"},
        {"11.4.2-MariaDB-log", "SET GLOBAL read_only=1", "SET GLOBAL rpl_semi_sync_master_enabled=OFF"},
        {"8.0.25", "SET GLOBAL super_read_only=1", "SET GLOBAL rpl_semi_sync_master_enabled=OFF"},
        {"8.0.36-0ubuntu0.22.04.1", "SET GLOBAL super_read_only=1", "SET GLOBAL rpl_semi_sync_source_enabled=OFF"},
        {"8.4.3", "SET GLOBAL super_read_only=1", "SET GLOBAL rpl_semi_sync_source_enabled=OFF"},
    };
    dialect_caps c;
    char buf[128], err[256] = "";
    topo_flavor f;
    int ma, mi, pa;
    char *sql = (char *)"x";

    (void)state;
    dialect_caps_init(&c, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    assert_false(c.known);
    for (int k = DIALECT_STMT_STOP_REPLICA; k <= DIALECT_STMT_SESSIONS; k++) {
        memset(buf, 'X', sizeof(buf));
        assert_int_equal(dialect_stmt_text(&c, (dialect_stmt)k, buf, sizeof(buf)), -EINVAL);
        assert_string_equal(buf, "");
    }
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(dialect_stmt_kill(&c, 7, buf, sizeof(buf)), -EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(dialect_stmt_lock_wait_timeout(&c, 1000, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(dialect_stmt_change_source(&c, "h", 1, "u", "p", 1, 1, NULL, &sql, err, sizeof(err)), -EINVAL);
    assert_null(sql);
    assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_VERSION, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SELECT @@version");
    assert_int_equal(dialect_stmt_text(NULL, DIALECT_STMT_SEMISYNC_VARIABLES, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'");
    for (size_t i = 0; i < sizeof(learned) / sizeof(learned[0]); i++) {
        assert_int_equal(dialect_detect(learned[i].version, NULL, &f, &ma, &mi, &pa, err, sizeof(err)), 0);
        dialect_caps_init(&c, f, ma, mi, pa, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
        assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_READ_ONLY_ON, buf, sizeof(buf)), 0);
        assert_string_equal(buf, learned[i].ro_on);
        assert_int_equal(dialect_stmt_text(&c, DIALECT_STMT_SEMISYNC_SOURCE_OFF, buf, sizeof(buf)), 0);
        assert_string_equal(buf, learned[i].ss_off);
    }
}

/* Which PROCESSLIST rows the fence ends (MariaDB and MySQL replication / system threads stay). */
static void test_session_filter(void **state)
{
    dialect_caps c;
    (void)state;
    dialect_caps_init(&c, TOPO_FLAVOR_MYSQL, 8, 4, 3, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    assert_true(dialect_session_is_client(&c, "app", "Query", "myorch"));
    assert_true(dialect_session_is_client(&c, "app", "Sleep", "myorch"));
    assert_false(dialect_session_is_client(&c, "myorch", "Query", "myorch"));
    assert_false(dialect_session_is_client(&c, "system user", "Connect", "myorch"));
    assert_false(dialect_session_is_client(&c, "event_scheduler", "Daemon", "myorch"));
    assert_false(dialect_session_is_client(&c, "repl", "Binlog Dump GTID", "myorch"));
    assert_false(dialect_session_is_client(&c, "repl", "Binlog Dump", "myorch"));
    assert_false(dialect_session_is_client(&c, "system user", "Slave_IO", "myorch"));
    assert_false(dialect_session_is_client(&c, "app", "Killed", "myorch"));
    assert_true(dialect_session_is_client(&c, NULL, NULL, "myorch"));
}

/* The fence verifies by this state that no commit is left waiting to be acknowledged. */
static void test_session_awaits_ack(void **state)
{
    (void)state;
    assert_true(dialect_session_awaits_ack("Waiting for semi-sync ACK from slave"));   /* MariaDB, MySQL < 8.0.26 */
    assert_true(dialect_session_awaits_ack("Waiting for semi-sync ACK from replica")); /* MySQL 8.0.26+ */
    assert_false(dialect_session_awaits_ack("aiting for semi-sync ACK from slave"));
    assert_false(dialect_session_awaits_ack("Waiting for backup lock"));
    assert_false(dialect_session_awaits_ack("Commit"));
    assert_false(dialect_session_awaits_ack(""));
    assert_false(dialect_session_awaits_ack(NULL));
}

static void test_sql_wait_gtid(void **state)
{
    static const struct {
        topo_flavor f;
        const char *gtid;
        double t;
        int rc;
        const char *want;
    } cases[] = {
        {TOPO_FLAVOR_MARIADB, "0-1-100,1-2-5", 5, 0, "SELECT MASTER_GTID_WAIT('0-1-100,1-2-5', 5.000)"},
        {TOPO_FLAVOR_MARIADB, "0-1-9", 0.25, 0, "SELECT MASTER_GTID_WAIT('0-1-9', 0.250)"},
        {TOPO_FLAVOR_MARIADB, "", 1, 0, "SELECT MASTER_GTID_WAIT('', 1.000)"},
        {TOPO_FLAVOR_MYSQL, "9e520b78-013c-11eb-a84c-0800271bf591:1-109,\n9f50ba55-0141-11eb-98ab-0800270c8f40:1",
         2.5, 0,
         "SELECT WAIT_FOR_EXECUTED_GTID_SET('9e520b78-013c-11eb-a84c-0800271bf591:1-109, "
         "9f50ba55-0141-11eb-98ab-0800270c8f40:1', 2.500)"},
        {TOPO_FLAVOR_MYSQL, "11111111-1111-1111-1111-111111111111:1-5:tag_1:1-3", 0.001, 0,
         "SELECT WAIT_FOR_EXECUTED_GTID_SET('11111111-1111-1111-1111-111111111111:1-5:tag_1:1-3', 0.001)"},
        {TOPO_FLAVOR_MYSQL, "uuid:1-5", 0, -EINVAL, "timeout"},
        {TOPO_FLAVOR_MYSQL, "uuid:1-5", 0.0004, -EINVAL, "timeout"},
        {TOPO_FLAVOR_MARIADB, "0-1-1", -1, -EINVAL, "timeout"},
        {TOPO_FLAVOR_MARIADB, "0-1-1", NAN, -EINVAL, "timeout"},
        {TOPO_FLAVOR_MARIADB, "0-1-1", 4e7, -EINVAL, "timeout"},
        {TOPO_FLAVOR_MARIADB, "0-1-1'); DROP TABLE t; --", 1, -EINVAL, "invalid character 0x27"},
        {TOPO_FLAVOR_MYSQL, "a\\b", 1, -EINVAL, "invalid character 0x5c"},
        {TOPO_FLAVOR_MYSQL, NULL, 1, -EINVAL, "no GTID"},
        {TOPO_FLAVOR_UNKNOWN, "0-1-1", 1, -EINVAL, "unknown flavor"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *buf = NULL, err[256] = "";
        int rc = dialect_sql_wait_gtid(cases[i].f, cases[i].gtid, cases[i].t, &buf, err, sizeof(err));
        if (rc != cases[i].rc)
            fail_msg("wait gtid case %zu: rc %d want %d (%s)", i, rc, cases[i].rc, err);
        if (rc == 0)
            assert_string_equal(buf, cases[i].want);
        else {
            assert_null(buf);
            assert_contains(err, cases[i].want);
        }
        free(buf);
    }
}

/* ======================================================================== */
/* A whole probe batch folded into one snapshot (MariaDB 10.11.19 capture)   */
/* ======================================================================== */

static void test_full_batch_mariadb(void **state)
{
    static const struct {
        dialect_query_kind kind;
        const char *marker;
        fx_fmt fmt;
    } steps[] = {
        {DIALECT_Q_VARS, "mariadb> SELECT ... vars (replica)\\G", FX_G},
        {DIALECT_Q_REPLICA_STATUS, "mariadb> SHOW SLAVE STATUS\\G -- running", FX_G},
        {DIALECT_Q_BINLOG_STATUS, "mariadb> SHOW BINLOG STATUS\\G", FX_G},
        {DIALECT_Q_SEMISYNC_VARS, "mariadb> SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'; -- replica", FX_TSV},
        {DIALECT_Q_SEMISYNC_STATUS, "mariadb> SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'; -- replica", FX_TSV},
    };
    static const char *const no_names[] = {"Server_id", "Host", "Port", "Master_id"};
    dialect_result none = mkres(4, 0, no_names, NULL);
    topo_snapshot snap, copy;
    char err[256] = "";

    (void)state;
    memset(&snap, 0, sizeof(snap));
    memset(&copy, 0, sizeof(copy));
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (apply_fixture(TOPO_FLAVOR_MARIADB, steps[i].kind, "mariadb-10.11.19-captured.txt",
                          steps[i].marker, 1, steps[i].fmt, NULL, &snap, err, sizeof(err)) != 0)
            fail_msg("step %zu: %s", i, err);
    assert_int_equal(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_REPLICAS, &none, &snap, err, sizeof(err)), 0);
    assert_int_equal(snap.server_id, 2);
    assert_true(snap.read_only);
    assert_true(snap.replica.present);
    assert_string_equal(snap.replica.received_gtid, "0-1-10");
    assert_string_equal(snap.gtid_slave_pos, "0-1-10");
    assert_string_equal(snap.binlog_coord.file, "mariadb-bin.000001");
    assert_true(snap.semisync.replica_enabled);
    assert_true(snap.semisync.replica_status_on);
    assert_false(snap.semisync.source_enabled);
    assert_int_equal(snap.semisync.source_timeout_ms, 10000);
    assert_int_equal(snap.n_replicas, 0);
    /* The snapshot's heap strings deep-copy and free cleanly. */
    assert_int_equal(topo_snapshot_copy(&copy, &snap), 0);
    assert_string_equal(copy.gtid_binlog_pos, "0-1-10,5-2-3");
    topo_snapshot_clear(&copy);
    topo_snapshot_clear(&snap);
}

/* ======================================================================== */

/*
 * TLS clauses of a repointed channel (issue 11 item 2), appended to the change-source
 * statement. MariaDB: KB "CHANGE MASTER TO", options MASTER_SSL, MASTER_SSL_CA,
 * MASTER_SSL_CERT, MASTER_SSL_KEY, MASTER_SSL_VERIFY_SERVER_CERT. MySQL 8.0.23+ and 8.4:
 * Reference Manual "CHANGE REPLICATION SOURCE TO Statement", SOURCE_SSL, SOURCE_SSL_CA,
 * SOURCE_SSL_CERT, SOURCE_SSL_KEY, SOURCE_SSL_VERIFY_SERVER_CERT. MySQL 8.0 before 8.0.23:
 * "CHANGE MASTER TO Statement", the MASTER_SSL* names.
 */
static void test_sql_source_ssl(void **state)
{
    (void)state;
    char buf[1024], err[256], full[3072];
    dialect_repl_ssl all = {.ssl = 1, .ca = "/etc/mysql/ca.pem", .cert = "/etc/mysql/r.pem",
                            .key = "/etc/mysql/r'k.pem", .verify_server_cert = 1};
    dialect_repl_ssl none = {.ssl = -1, .verify_server_cert = -1};
    dialect_repl_ssl off = {.ssl = 0, .verify_server_cert = -1};
    static const struct {
        topo_flavor f;
        int ma, mi, pa;
        const char *want;
    } cases[] = {
        {TOPO_FLAVOR_MARIADB, 10, 6, 16, ", MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/ca.pem', "
         "MASTER_SSL_CERT='/etc/mysql/r.pem', MASTER_SSL_KEY='/etc/mysql/r''k.pem', MASTER_SSL_VERIFY_SERVER_CERT=1"},
        {TOPO_FLAVOR_MARIADB, 11, 4, 2, ", MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/ca.pem', "
         "MASTER_SSL_CERT='/etc/mysql/r.pem', MASTER_SSL_KEY='/etc/mysql/r''k.pem', MASTER_SSL_VERIFY_SERVER_CERT=1"},
        {TOPO_FLAVOR_MYSQL, 8, 0, 22, ", MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/ca.pem', "
         "MASTER_SSL_CERT='/etc/mysql/r.pem', MASTER_SSL_KEY='/etc/mysql/r''k.pem', MASTER_SSL_VERIFY_SERVER_CERT=1"},
        {TOPO_FLAVOR_MYSQL, 8, 0, 36, ", SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/ca.pem', "
         "SOURCE_SSL_CERT='/etc/mysql/r.pem', SOURCE_SSL_KEY='/etc/mysql/r''k.pem', SOURCE_SSL_VERIFY_SERVER_CERT=1"},
        {TOPO_FLAVOR_MYSQL, 8, 4, 3, ", SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/ca.pem', "
         "SOURCE_SSL_CERT='/etc/mysql/r.pem', SOURCE_SSL_KEY='/etc/mysql/r''k.pem', SOURCE_SSL_VERIFY_SERVER_CERT=1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(dialect_sql_source_ssl(cases[i].f, cases[i].ma, cases[i].mi, cases[i].pa, &all, buf,
                                                sizeof(buf), err, sizeof(err)), 0);
        assert_string_equal(buf, cases[i].want);
    }
    /* Appended to the statement it belongs to (MySQL 8.4 form). */
    assert_int_equal(dialect_sql_change_source(TOPO_FLAVOR_MYSQL, 8, 4, 0, "db-1", 3306, "r", "p", 1, 1.0, full,
                                               sizeof(full), err, sizeof(err)), 0);
    assert_int_equal(dialect_sql_source_ssl(TOPO_FLAVOR_MYSQL, 8, 4, 0, &(dialect_repl_ssl){.ssl = 1,
                     .ca = "/ca.pem", .verify_server_cert = -1}, buf, sizeof(buf), err, sizeof(err)), 0);
    strcat(full, buf);
    assert_string_equal(full, "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db-1', SOURCE_PORT=3306, SOURCE_USER='r', "
                        "SOURCE_PASSWORD='p', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, "
                        "SOURCE_HEARTBEAT_PERIOD=1.000, GET_SOURCE_PUBLIC_KEY=1, SOURCE_SSL=1, SOURCE_SSL_CA='/ca.pem'");
    /* Nothing set: nothing appended (the server keeps its values); explicit off. */
    assert_int_equal(dialect_sql_source_ssl(TOPO_FLAVOR_MARIADB, 10, 11, 6, &none, buf, sizeof(buf), err,
                                            sizeof(err)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(dialect_sql_source_ssl(TOPO_FLAVOR_MARIADB, 10, 11, 6, NULL, buf, sizeof(buf), err,
                                            sizeof(err)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(dialect_sql_source_ssl(TOPO_FLAVOR_MARIADB, 10, 11, 6, &off, buf, sizeof(buf), err,
                                            sizeof(err)), 0);
    assert_string_equal(buf, ", MASTER_SSL=0");
    /* Errors: unknown flavor, control character in a path, too small a buffer. */
    assert_int_equal(dialect_sql_source_ssl(TOPO_FLAVOR_UNKNOWN, 10, 11, 6, &all, buf, sizeof(buf), err,
                                            sizeof(err)), -EINVAL);
    assert_int_equal(dialect_sql_source_ssl(TOPO_FLAVOR_MARIADB, 10, 11, 6, &(dialect_repl_ssl){.ssl = 1,
                     .ca = "/a\nb", .verify_server_cert = -1}, buf, sizeof(buf), err, sizeof(err)), -EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(dialect_sql_source_ssl(TOPO_FLAVOR_MARIADB, 10, 11, 6, &all, buf, 20, err, sizeof(err)),
                     -ENOSPC);
    assert_string_equal(buf, "");
}

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_detect),
    cmocka_unit_test(test_probe_batch),
        cmocka_unit_test(test_probe_batch_lean),
    cmocka_unit_test(test_probe_batch_exact_vars),
    cmocka_unit_test(test_receive_mariadb),
    cmocka_unit_test(test_receive_mysql),
    cmocka_unit_test(test_vars_mariadb_semisync),
    cmocka_unit_test(test_probe_batch_errors),
    cmocka_unit_test(test_dump_hosts),
    cmocka_unit_test(test_out_of_range_unknown),
    cmocka_unit_test(test_rs_zero_rows),
    cmocka_unit_test(test_rs_channels),
        cmocka_unit_test(test_rs_many_columns),
    cmocka_unit_test(test_rs_thread_words),
    cmocka_unit_test(test_rs_errors),
    cmocka_unit_test(test_rs_masked_value),
    cmocka_unit_test(test_vars_mariadb_captured),
    cmocka_unit_test(test_vars_mysql),
    cmocka_unit_test(test_vars_read_only_words),
    cmocka_unit_test(test_vars_errors),
    cmocka_unit_test(test_binlog_off_and_errors),
    cmocka_unit_test(test_replicas_cap_and_errors),
    cmocka_unit_test(test_semisync_mysql_new_names),
    cmocka_unit_test(test_lag),
    cmocka_unit_test(test_apply_bad_args),
    cmocka_unit_test(test_sql_builders),
    cmocka_unit_test(test_stmt_every_step_per_release),
    cmocka_unit_test(test_semisync_spelling_recorded),
    cmocka_unit_test(test_semisync_spelling_persisted),
    cmocka_unit_test(test_unknown_flavor_fence),
    cmocka_unit_test(test_session_filter),
    cmocka_unit_test(test_session_awaits_ack),
    cmocka_unit_test(test_sql_change_source_variants),
    cmocka_unit_test(test_sql_change_source_errors),
    cmocka_unit_test(test_sql_small_buffers),
    cmocka_unit_test(test_sql_wait_gtid),
    cmocka_unit_test(test_sql_source_ssl),
    cmocka_unit_test(test_full_batch_mariadb),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
    /* Fixed tests plus one named test per fixture table row. */
    size_t n_fixed = COUNT(fixed_tests);
    size_t total = n_fixed + COUNT(rs_cases) + COUNT(bl_cases) + COUNT(rp_cases) + COUNT(ss_cases);
    struct CMUnitTest *tests = calloc(total, sizeof(*tests));
    size_t n = 0;
    int failures;

    if (!tests)
        return 1;
    for (size_t i = 0; i < n_fixed; i++)
        tests[n++] = fixed_tests[i];
    for (size_t i = 0; i < COUNT(rs_cases); i++)
        tests[n++] = (struct CMUnitTest){rs_cases[i].name, test_rs_case, NULL, NULL, (void *)&rs_cases[i]};
    for (size_t i = 0; i < COUNT(bl_cases); i++)
        tests[n++] = (struct CMUnitTest){bl_cases[i].name, test_bl_case, NULL, NULL, (void *)&bl_cases[i]};
    for (size_t i = 0; i < COUNT(rp_cases); i++)
        tests[n++] = (struct CMUnitTest){rp_cases[i].name, test_rp_case, NULL, NULL, (void *)&rp_cases[i]};
    for (size_t i = 0; i < COUNT(ss_cases); i++)
        tests[n++] = (struct CMUnitTest){ss_cases[i].name, test_ss_case, NULL, NULL, (void *)&ss_cases[i]};
    failures = _cmocka_run_group_tests("dialect", tests, n, NULL, NULL);
    free(tests);
    return failures;
}
