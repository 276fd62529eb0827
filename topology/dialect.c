/*
 * topology/dialect.c — MariaDB / MySQL dialect layer: version detection,
 * probe batch text, result-set parsing into topo_snapshot, and recovery
 * statement text. Pure string work, no I/O. See dialect.h for the contract.
 */
#include "topology/dialect.h"
#include "topology/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

#define set_err strbuf_err /* topology/strbuf.h */

/* Version a.b.c >= x.y.z */
static bool ver_ge(int a, int b, int c, int x, int y, int z)
{
    if (a != x)
        return a > x;
    if (b != y)
        return b > y;
    return c >= z;
}

static bool flavor_known(topo_flavor f)
{
    return f == TOPO_FLAVOR_MARIADB || f == TOPO_FLAVOR_MYSQL;
}

/* Copy src into dst[size], truncating. */
static void copy_trunc(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (size == 0)
        return;
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Version detection                                                         */
/* ------------------------------------------------------------------------ */

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (!hay)
        return false;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* Parse a decimal number of at most 4 digits at *p; advances *p. */
static bool parse_ver_part(const char **p, int *out)
{
    const char *s = *p;
    int v = 0, digits = 0;

    while (isdigit((unsigned char)*s)) {
        if (++digits > 4)
            return false;
        v = v * 10 + (*s - '0');
        s++;
    }
    if (digits == 0)
        return false;
    *out = v;
    *p = s;
    return true;
}

/* "X.Y[.Z]..." → numbers; Z missing reads as 0. */
static bool parse_version_numbers(const char *v, int *maj, int *min, int *pat)
{
    const char *p = v;

    *pat = 0;
    if (!parse_ver_part(&p, maj) || *p != '.')
        return false;
    p++;
    if (!parse_ver_part(&p, min))
        return false;
    if (*p == '.' && isdigit((unsigned char)p[1])) {
        p++;
        if (!parse_ver_part(&p, pat))
            return false;
    }
    /* After the numbers: end, or a suffix that does not continue a number. */
    return *p == '\0' || !isdigit((unsigned char)*p);
}

/*
 * dialect_detect — see dialect.h.
 */
int dialect_detect(const char *version, const char *version_comment, topo_flavor *flavor,
                   int *major, int *minor, int *patch, char *err, size_t errlen)
{
    const char *v = version;
    topo_flavor f;
    int maj = 0, min = 0, pat = 0;
    int rc = 0;

    if (!version || !flavor || !major || !minor || !patch) {
        set_err(err, errlen, "dialect_detect: missing argument");
        rc = -EINVAL;
        goto out;
    }
    f = (contains_ci(version, "mariadb") || contains_ci(version_comment, "mariadb"))
            ? TOPO_FLAVOR_MARIADB
            : TOPO_FLAVOR_MYSQL;
    /* MariaDB 10+ announces itself as "5.5.5-10.x.y-MariaDB" in the
     * handshake so that old clients do not mistake 10 for a MySQL version. */
    if (f == TOPO_FLAVOR_MARIADB && strncmp(v, "5.5.5-", 6) == 0 &&
        isdigit((unsigned char)v[6]))
        v += 6;
    if (!parse_version_numbers(v, &maj, &min, &pat)) {
        set_err(err, errlen, "cannot parse server version '%.80s'", version);
        rc = -EINVAL;
        goto out;
    }
    *flavor = f;
    *major = maj;
    *minor = min;
    *patch = pat;
    if (f == TOPO_FLAVOR_MARIADB &&
        !ver_ge(maj, min, pat, DIALECT_MIN_MARIADB_MAJOR, DIALECT_MIN_MARIADB_MINOR, 0)) {
        set_err(err, errlen, "MariaDB %d.%d.%d is not supported (need MariaDB %d.%d or later)",
                maj, min, pat, DIALECT_MIN_MARIADB_MAJOR, DIALECT_MIN_MARIADB_MINOR);
        rc = -ENOTSUP;
        goto out;
    }
    if (f == TOPO_FLAVOR_MYSQL &&
        !ver_ge(maj, min, pat, DIALECT_MIN_MYSQL_MAJOR, DIALECT_MIN_MYSQL_MINOR, 0)) {
        set_err(err, errlen,
                "MySQL %d.%d.%d is not supported (need MySQL %d.%d or later; "
                "version '%.60s')",
                maj, min, pat, DIALECT_MIN_MYSQL_MAJOR, DIALECT_MIN_MYSQL_MINOR, version);
        rc = -ENOTSUP;
        goto out;
    }
out:
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Statement choice per version                                              */
/* ------------------------------------------------------------------------ */

/* REPLICA spelling of SHOW ... STATUS / HOSTS (MariaDB 10.5.1, MySQL 8.0.22). */
static bool has_show_replica(topo_flavor f, int maj, int min, int pat)
{
    if (f == TOPO_FLAVOR_MARIADB)
        return ver_ge(maj, min, pat, 10, 5, 1);
    return ver_ge(maj, min, pat, 8, 0, 22);
}

/* STOP/START/RESET REPLICA. MariaDB: from 10.5 (see dialect.h). */
static bool has_replica_verbs(topo_flavor f, int maj, int min, int pat)
{
    if (f == TOPO_FLAVOR_MARIADB)
        return ver_ge(maj, min, pat, 10, 5, 0);
    return ver_ge(maj, min, pat, 8, 0, 22);
}

static const char *binlog_status_sql(topo_flavor f, int maj, int min, int pat)
{
    if (f == TOPO_FLAVOR_MARIADB)
        return ver_ge(maj, min, pat, 10, 5, 2) ? "SHOW BINLOG STATUS" : "SHOW MASTER STATUS";
    return ver_ge(maj, min, pat, 8, 2, 0) ? "SHOW BINARY LOG STATUS" : "SHOW MASTER STATUS";
}

static const char *replicas_sql(topo_flavor f, int maj, int min, int pat)
{
    if (f == TOPO_FLAVOR_MARIADB)
        return has_show_replica(f, maj, min, pat) ? "SHOW REPLICA HOSTS" : "SHOW SLAVE HOSTS";
    return has_show_replica(f, maj, min, pat) ? "SHOW REPLICAS" : "SHOW SLAVE HOSTS";
}

static const char *const VARS_MARIADB =
    "SELECT @@global.server_id AS server_id, @@global.version AS version, "
    "@@global.read_only AS read_only, @@global.log_bin AS log_bin, "
    "@@global.log_slave_updates AS log_slave_updates, "
    "@@global.binlog_format AS binlog_format, "
    "@@global.gtid_binlog_pos AS gtid_binlog_pos, "
    "@@global.gtid_current_pos AS gtid_current_pos, "
    "@@global.gtid_slave_pos AS gtid_slave_pos, "
    /* Semi-sync is built in (10.3.3+): its variables come with the others,
     * which saves a SHOW GLOBAL VARIABLES (costly on the server) per probe. */
    "@@global.rpl_semi_sync_master_enabled AS rpl_semi_sync_master_enabled, "
    "@@global.rpl_semi_sync_slave_enabled AS rpl_semi_sync_slave_enabled, "
    "@@global.rpl_semi_sync_master_timeout AS rpl_semi_sync_master_timeout";

#define VARS_MYSQL_FMT \
    "SELECT @@global.server_id AS server_id, @@global.version AS version, " \
    "@@global.read_only AS read_only, @@global.super_read_only AS super_read_only, " \
    "@@global.log_bin AS log_bin, @@global.%s AS %s, " \
    "@@global.binlog_format AS binlog_format, " \
    "@@global.gtid_executed AS gtid_executed, @@global.gtid_purged AS gtid_purged, " \
    "@@global.server_uuid AS server_uuid, @@global.gtid_mode AS gtid_mode"

/*
 * MySQL receive progress of the default channel (issue 18). Columns as the
 * MySQL 8.0 / 8.4 Reference Manual documents them, "Performance Schema
 * Replication Tables": "The replication_connection_status Table" (8.0:
 * 29.12.11.11, 8.4: 29.12.11.13) and "The replication_connection_configuration
 * Table" (HEARTBEAT_INTERVAL, seconds). Needs SELECT on both tables
 * (sql/grants-mysql.sql).
 */
static const char *const RECEIVE_MYSQL_SQL =
    "SELECT s.CHANNEL_NAME AS CHANNEL_NAME, s.SERVICE_STATE AS SERVICE_STATE, "
    "s.COUNT_RECEIVED_HEARTBEATS AS COUNT_RECEIVED_HEARTBEATS, "
    "s.LAST_HEARTBEAT_TIMESTAMP AS LAST_HEARTBEAT_TIMESTAMP, "
    "s.LAST_QUEUED_TRANSACTION AS LAST_QUEUED_TRANSACTION, "
    "s.LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP AS LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP, "
    "c.HEARTBEAT_INTERVAL AS HEARTBEAT_INTERVAL "
    "FROM performance_schema.replication_connection_status s "
    "JOIN performance_schema.replication_connection_configuration c ON c.CHANNEL_NAME = s.CHANNEL_NAME";

static const char *const SEMISYNC_VARS_SQL = "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'";
static const char *const SEMISYNC_STATUS_SQL = "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'";
/*
 * Who really replicates from this server (MariaDB 'Binlog Dump', MySQL also 'Binlog
 * Dump GTID'), filtered here from SHOW PROCESSLIST: a query on
 * information_schema.PROCESSLIST materialises an Aria temporary table on disk every
 * round (its INFO column is a LONGTEXT), and a MariaDB 10.11 server crashed (signal 11 in
 * ha_maria::drop_table) on it under the fault matrix.
 */
static const char *const DUMP_HOSTS_SQL = "SHOW PROCESSLIST";

/* Append text to a heap buffer (grown as needed). */
static int sb_add(strbuf *b, const char *text) { return strbuf_puts(b, text); }

static int batch_add(dialect_batch *b, strbuf *sb, dialect_query_kind kind, const char *sql)
{
    int rc;

    if (b->n >= DIALECT_BATCH_MAX)
        return -E2BIG;
    if (b->n > 0 && (rc = sb_add(sb, ";")) < 0)
        return rc;
    if ((rc = sb_add(sb, sql)) < 0)
        return rc;
    b->kinds[b->n++] = kind;
    return 0;
}

bool dialect_kind_is_detail(dialect_query_kind kind)
{
    return kind == DIALECT_Q_REPLICAS || kind == DIALECT_Q_DUMP_HOSTS;
}

/* The probe batch, with (detail) or without the kinds dialect_kind_is_detail() names. */
static int build_batch(topo_flavor f, int major, int minor, int patch, const char *lag_query, bool detail,
                       dialect_batch *out, char *err, size_t errlen)
{
    strbuf sb = STRBUF_INIT;
    char vars[1024];
    const char *p;
    int rc = 0;

    if (!out) {
        set_err(err, errlen, "dialect_probe_batch: missing output");
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (!flavor_known(f)) {
        set_err(err, errlen, "cannot build a probe batch for an unknown flavor");
        rc = -EINVAL;
        goto out;
    }
    if ((f == TOPO_FLAVOR_MARIADB && !ver_ge(major, minor, patch, DIALECT_MIN_MARIADB_MAJOR,
                                             DIALECT_MIN_MARIADB_MINOR, 0)) ||
        (f == TOPO_FLAVOR_MYSQL &&
         !ver_ge(major, minor, patch, DIALECT_MIN_MYSQL_MAJOR, DIALECT_MIN_MYSQL_MINOR, 0))) {
        set_err(err, errlen, "%s %d.%d.%d is not supported", topo_flavor_name(f), major, minor,
                patch);
        rc = -ENOTSUP;
        goto out;
    }
    if (lag_query) {
        if (strchr(lag_query, ';')) {
            set_err(err, errlen, "lag query must be a single statement without ';'");
            rc = -EINVAL;
            goto out;
        }
        for (p = lag_query; *p && isspace((unsigned char)*p); p++)
            ;
        if (!*p) {
            set_err(err, errlen, "lag query is empty");
            rc = -EINVAL;
            goto out;
        }
    }

    if (f == TOPO_FLAVOR_MARIADB) {
        copy_trunc(vars, sizeof(vars), VARS_MARIADB);
    } else {
        const char *lru =
            ver_ge(major, minor, patch, 8, 0, 26) ? "log_replica_updates" : "log_slave_updates";
        snprintf(vars, sizeof(vars), VARS_MYSQL_FMT, lru, lru);
    }

    if ((rc = batch_add(out, &sb, DIALECT_Q_VARS, vars)) < 0 ||
        /* MariaDB: the ALL form adds Slave_received_heartbeats and
         * Slave_heartbeat_period (receive progress, issue 18). */
        (rc = batch_add(out, &sb, DIALECT_Q_REPLICA_STATUS,
                        f == TOPO_FLAVOR_MARIADB ? "SHOW ALL SLAVES STATUS"
                        : has_show_replica(f, major, minor, patch) ? "SHOW REPLICA STATUS"
                                                                   : "SHOW SLAVE STATUS")) < 0 ||
        (rc = batch_add(out, &sb, DIALECT_Q_BINLOG_STATUS,
                        binlog_status_sql(f, major, minor, patch))) < 0 ||
        (detail && (rc = batch_add(out, &sb, DIALECT_Q_REPLICAS, replicas_sql(f, major, minor, patch))) < 0) ||
        (f == TOPO_FLAVOR_MYSQL && (rc = batch_add(out, &sb, DIALECT_Q_SEMISYNC_VARS, SEMISYNC_VARS_SQL)) < 0) ||
        (rc = batch_add(out, &sb, DIALECT_Q_SEMISYNC_STATUS, SEMISYNC_STATUS_SQL)) < 0 ||
        (detail && (rc = batch_add(out, &sb, DIALECT_Q_DUMP_HOSTS, DUMP_HOSTS_SQL)) < 0) ||
        (f == TOPO_FLAVOR_MYSQL && (rc = batch_add(out, &sb, DIALECT_Q_RECEIVE, RECEIVE_MYSQL_SQL)) < 0))
        goto fail_alloc;
    if (lag_query && (rc = batch_add(out, &sb, DIALECT_Q_LAG, lag_query)) < 0)
        goto fail_alloc;
    out->sql = sb.s;
    sb.s = NULL;
    goto out;

fail_alloc:
    set_err(err, errlen, "cannot build probe batch: %s", strerror(-rc));
out:
    free(sb.s);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

/*
 * dialect_probe_batch, dialect_probe_batch_lean — see dialect.h.
 */
int dialect_probe_batch(topo_flavor f, int major, int minor, int patch, const char *lag_query,
                        dialect_batch *out, char *err, size_t errlen)
{
    return build_batch(f, major, minor, patch, lag_query, true, out, err, errlen);
}

int dialect_probe_batch_lean(topo_flavor f, int major, int minor, int patch, const char *lag_query,
                             dialect_batch *out, char *err, size_t errlen)
{
    return build_batch(f, major, minor, patch, lag_query, false, out, err, errlen);
}

/*
 * dialect_batch_free — see dialect.h.
 */
void dialect_batch_free(dialect_batch *b)
{
    if (!b)
        return;
    free(b->sql);
    memset(b, 0, sizeof(*b));
}

/*
 * dialect_query_kind_name — see dialect.h.
 */
const char *dialect_query_kind_name(dialect_query_kind kind)
{
    switch (kind) {
    case DIALECT_Q_VARS: return "vars";
    case DIALECT_Q_REPLICA_STATUS: return "replica_status";
    case DIALECT_Q_BINLOG_STATUS: return "binlog_status";
    case DIALECT_Q_REPLICAS: return "replicas";
    case DIALECT_Q_SEMISYNC_VARS: return "semisync_vars";
    case DIALECT_Q_SEMISYNC_STATUS: return "semisync_status";
    case DIALECT_Q_RECEIVE: return "receive";
    case DIALECT_Q_LAG: return "lag";
    case DIALECT_Q_DUMP_HOSTS: return "dump_hosts";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Result-set access and value parsing                                       */
/* ------------------------------------------------------------------------ */

/* Parsing context: the result set and where errors go. */
/* Column names hashed once per result set (col_index): a probe looks up about 25 of the
 * 60-odd columns of SHOW REPLICA STATUS, and comparing each with every name was 8 % of
 * the controller's CPU at 10,000 servers (bench/README.md). */
#define COL_SLOTS 256
#define COL_MAX_INDEXED 200 /* more columns than this: looked up by scan */

typedef struct {
    const dialect_result *r;
    const char *what;          /* statement name for messages */
    char *err;
    size_t errlen;
    bool indexed;              /* slot[] holds the columns */
    uint8_t slot[COL_SLOTS];   /* column index + 1 by case-insensitive name hash, 0 empty */
} pctx;

/* ASCII case folding, as strcasecmp does in the C locale (column names are ASCII; another byte
 * is hashed as it is, which only sends it to another slot): no call into the locale per byte. */
static unsigned col_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        h = (h ^ (ch >= 'A' && ch <= 'Z' ? ch + 32u : ch)) * 16777619u;
    }
    return h;
}

/* Column index of the first matching alias (case-insensitive), or -1. */
static long col_find(const dialect_result *r, const char *const *aliases)
{
    for (const char *const *a = aliases; *a; a++)
        for (size_t i = 0; i < r->n_cols; i++)
            if (r->names[i] && strcasecmp(r->names[i], *a) == 0)
                return (long)i;
    return -1;
}

/* Index the columns of c->r: the first of equal names wins, as in col_find's scan. */
static void col_index(pctx *c)
{
    const dialect_result *r = c->r;
    memset(c->slot, 0, sizeof(c->slot));
    c->indexed = false;
    if (!r || r->n_cols > COL_MAX_INDEXED)
        return;
    for (size_t i = 0; i < r->n_cols; i++) {
        unsigned k;
        if (!r->names[i])
            continue;
        for (k = col_hash(r->names[i]) % COL_SLOTS; c->slot[k]; k = (k + 1) % COL_SLOTS)
            if (strcasecmp(r->names[c->slot[k] - 1], r->names[i]) == 0)
                break;
        if (!c->slot[k])
            c->slot[k] = (uint8_t)(i + 1);
    }
    c->indexed = true;
}

/* col_find through the index: the same answer. */
static long col_at(const pctx *c, const char *const *aliases)
{
    if (!c->indexed)
        return col_find(c->r, aliases);
    for (const char *const *a = aliases; *a; a++)
        for (unsigned k = col_hash(*a) % COL_SLOTS; c->slot[k]; k = (k + 1) % COL_SLOTS)
            if (strcasecmp(c->r->names[c->slot[k] - 1], *a) == 0)
                return (long)c->slot[k] - 1;
    return -1;
}

static const char *cell(const dialect_result *r, size_t row, long col)
{
    if (col < 0 || row >= r->n_rows)
        return NULL;
    return r->cells[row * r->n_cols + (size_t)col];
}

static const char *col_name(const pctx *c, long col)
{
    return col >= 0 && c->r->names[col] ? c->r->names[col] : "?";
}

/* A required column: index, or -EPROTO naming the first alias. */
static long col_need(const pctx *c, const char *const *aliases)
{
    long i = col_at(c, aliases);

    if (i < 0) {
        if (aliases[1])
            set_err(c->err, c->errlen, "%s: required column %s (or %s) is missing", c->what,
                    aliases[0], aliases[1]);
        else
            set_err(c->err, c->errlen, "%s: required column %s is missing", c->what,
                    aliases[0]);
        return -EPROTO;
    }
    return i;
}

/* Strict unsigned decimal: digits only, no sign, no spaces, no overflow. */
static int parse_u64(const pctx *c, long col, const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long x;

    if (!v) {
        set_err(c->err, c->errlen, "%s: column %s: unexpected NULL", c->what, col_name(c, col));
        return -EINVAL;
    }
    if (!isdigit((unsigned char)v[0]))
        goto bad;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno == ERANGE || *end != '\0' || x > max)
        goto bad;
    *out = x;
    return 0;
bad:
    set_err(c->err, c->errlen, "%s: column %s: bad number '%.64s'", c->what, col_name(c, col), v);
    return -EINVAL;
}

/*
 * A measurement (seconds, milliseconds, a count) in an unsigned column: a
 * well-formed number too large for a long long marks the field unknown (-1)
 * instead of failing the whole probe, so one odd value never makes the
 * server look unreachable. Anything not a number stays an error.
 */
static int parse_measure(const pctx *c, long col, const char *v, long long *out)
{
    const char *p = v;
    uint64_t u;
    if (v && isdigit((unsigned char)*v)) {
        while (isdigit((unsigned char)*p))
            p++;
        if (!*p) {
            errno = 0;
            u = strtoull(v, NULL, 10);
            if (errno == ERANGE || u > (uint64_t)LLONG_MAX) {
                *out = -1;
                return 0;
            }
        }
    }
    if (parse_u64(c, col, v, LLONG_MAX, &u) < 0)
        return -EINVAL;
    *out = (long long)u;
    return 0;
}

/* Strict finite decimal number (optional sign, fraction, exponent). */
static int parse_double(const pctx *c, long col, const char *v, double *out)
{
    char *end;
    double x;
    const char *p = v;

    if (!v) {
        set_err(c->err, c->errlen, "%s: column %s: unexpected NULL", c->what, col_name(c, col));
        return -EINVAL;
    }
    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        goto bad;
    errno = 0;
    x = strtod(v, &end);
    if (errno == ERANGE || *end != '\0' || !isfinite(x))
        goto bad;
    *out = x;
    return 0;
bad:
    set_err(c->err, c->errlen, "%s: column %s: bad number '%.64s'", c->what, col_name(c, col), v);
    return -EINVAL;
}

/* A well-formed decimal number whose value does not fit a double (1e999). */
static bool out_of_range(const char *v)
{
    char *end;
    const char *p = v;
    if (!v)
        return false;
    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    errno = 0;
    (void)strtod(v, &end);
    return *end == '\0' && errno == ERANGE;
}

/* ON/1/YES → true, OFF/0/NO/"" → false (case-insensitive); else -EINVAL. */
static int bool_word(const char *v, bool *out)
{
    static const char *const yes[] = {"ON", "1", "YES", NULL};
    static const char *const no[] = {"OFF", "0", "NO", "", NULL};

    for (const char *const *w = yes; *w; w++)
        if (strcasecmp(v, *w) == 0) {
            *out = true;
            return 0;
        }
    for (const char *const *w = no; *w; w++)
        if (strcasecmp(v, *w) == 0) {
            *out = false;
            return 0;
        }
    return -EINVAL;
}

static int parse_bool(const pctx *c, long col, const char *v, bool *out)
{
    if (!v) {
        set_err(c->err, c->errlen, "%s: column %s: unexpected NULL", c->what, col_name(c, col));
        return -EINVAL;
    }
    if (bool_word(v, out) < 0) {
        set_err(c->err, c->errlen, "%s: column %s: bad boolean '%.64s'", c->what,
                col_name(c, col), v);
        return -EINVAL;
    }
    return 0;
}

/* Optional boolean column: absent or NULL leaves *out. */
static int opt_bool(const pctx *c, size_t row, const char *const *aliases, bool *out)
{
    long col = col_at(c, aliases);
    const char *v = cell(c->r, row, col);

    if (col < 0 || !v)
        return 0;
    return parse_bool(c, col, v, out);
}

/* Optional heap string column: absent/NULL/"" → NULL. */
static int opt_heap(const pctx *c, size_t row, const char *const *aliases, char **slot)
{
    long col = col_at(c, aliases);
    int rc = topo_strset(slot, cell(c->r, row, col));

    if (rc < 0)
        set_err(c->err, c->errlen, "%s: out of memory", c->what);
    return rc;
}

/* Copy a cell into a fixed field; too long is an error. NULL → "". */
static int fit_field(const pctx *c, long col, const char *v, char *dst, size_t size)
{
    if (!v) {
        dst[0] = '\0';
        return 0;
    }
    if (!str_copy_fits(dst, size, v)) {
        set_err(c->err, c->errlen, "%s: column %s: value longer than %zu characters: '%.40s...'",
                c->what, col_name(c, col), size - 1, v);
        return -EINVAL;
    }
    return 0;
}

static bool shape_ok(const pctx *c)
{
    const dialect_result *r = c->r;

    if ((r->n_cols > 0 && !r->names) || (r->n_rows > 0 && r->n_cols > 0 && !r->cells)) {
        set_err(c->err, c->errlen, "%s: malformed result (missing names or cells)", c->what);
        return false;
    }
    return true;
}

/* Column alias lists (first one is used in messages). */
#define A(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ------------------------------------------------------------------------ */
/* VARS                                                                      */
/* ------------------------------------------------------------------------ */

/* VARS, phase 1: server_id, version text and the version numbers into t. */
static int vars_identity(const pctx *c, const topo_snapshot *snap, topo_snapshot *t)
{
    const dialect_result *r = c->r;
    long col;
    uint64_t u;
    const char *v;
    int rc;

    if ((rc = (int)(col = col_need(c, A("server_id")))) < 0 ||
        (rc = parse_u64(c, col, cell(r, 0, col), UINT32_MAX, &u)) < 0)
        return rc;
    t->server_id = (unsigned long)u;

    if ((rc = (int)(col = col_need(c, A("version")))) < 0)
        return rc;
    v = cell(r, 0, col);
    if (!v || !*v) {
        set_err(c->err, c->errlen, "%s: column version is empty", c->what);
        return -EINVAL;
    }
    copy_trunc(t->version, sizeof(t->version), v);
    {
        topo_flavor df;
        int ma, mi, pa;
        char ignore[8];

        /* Keep the caller's numbers if this text does not parse. */
        t->version_major = snap->version_major;
        t->version_minor = snap->version_minor;
        t->version_patch = snap->version_patch;
        if (dialect_detect(v, NULL, &df, &ma, &mi, &pa, ignore, sizeof(ignore)) != -EINVAL) {
            t->version_major = ma;
            t->version_minor = mi;
            t->version_patch = pa;
        }
    }
    return 0;
}

/* VARS, phase 2: read_only and the other flags, binlog_format, server_uuid into t. */
static int vars_flags(topo_flavor f, const pctx *c, topo_snapshot *t)
{
    const dialect_result *r = c->r;
    long col;
    const char *v;
    int rc;

    if ((rc = (int)(col = col_need(c, A("read_only")))) < 0)
        return rc;
    v = cell(r, 0, col);
    if (!v) {
        set_err(c->err, c->errlen, "%s: column read_only: unexpected NULL", c->what);
        return -EINVAL;
    }
    /* MariaDB 11.x+ made read_only an enum (OFF/ON/NO_LOCK/NO_LOCK_NO_ADMIN):
     * any value but a false word means writes are (at least partly) blocked. */
    if (bool_word(v, &t->read_only) < 0)
        t->read_only = true;

    if ((rc = opt_bool(c, 0, A("super_read_only"), &t->super_read_only)) < 0 ||
        (rc = opt_bool(c, 0, A("log_bin"), &t->log_bin)) < 0 ||
        (rc = opt_bool(c, 0, A("log_replica_updates", "log_slave_updates"),
                       &t->log_replica_updates)) < 0)
        return rc;
    if (f == TOPO_FLAVOR_MARIADB)
        t->super_read_only = false;

    col = col_at(c, A("binlog_format"));
    if ((rc = fit_field(c, col, cell(r, 0, col), t->binlog_format, sizeof(t->binlog_format))) < 0)
        return rc;
    col = col_at(c, A("server_uuid"));
    if ((rc = fit_field(c, col, cell(r, 0, col), t->server_uuid, sizeof(t->server_uuid))) < 0)
        return rc;
    return 0;
}

/* VARS, phase 4: GTID mode and (MariaDB) the semi-sync variables into t. */
static int vars_gtid_mode(topo_flavor f, const pctx *c, const topo_snapshot *snap,
                          topo_snapshot *t)
{
    const dialect_result *r = c->r;
    long col;
    const char *v;
    int rc;

    if (f == TOPO_FLAVOR_MARIADB) {
        long tc;
        t->gtid_mode_on = true;
        t->semisync = snap->semisync;
        if (col_at(c, A("rpl_semi_sync_master_enabled")) >= 0) {
            t->semisync.source_timeout_ms = -1;
            t->semisync.source_names = TOPO_SEMISYNC_NAMES_MASTER_SLAVE;
            t->semisync.replica_names = TOPO_SEMISYNC_NAMES_MASTER_SLAVE;
            if ((rc = opt_bool(c, 0, A("rpl_semi_sync_master_enabled"), &t->semisync.source_enabled)) < 0 ||
                (rc = opt_bool(c, 0, A("rpl_semi_sync_slave_enabled"), &t->semisync.replica_enabled)) < 0)
                return rc;
            if ((tc = col_at(c, A("rpl_semi_sync_master_timeout"))) >= 0 && cell(r, 0, tc)) {
                if ((rc = parse_measure(c, tc, cell(r, 0, tc), &t->semisync.source_timeout_ms)) < 0)
                    return rc;
            }
        }
    } else {
        col = col_at(c, A("gtid_mode"));
        v = cell(r, 0, col);
        t->gtid_mode_on = v && strcasecmp(v, "ON") == 0;
    }
    return 0;
}

/* VARS, commit: the staged fields and the five GTID strings (taken over) into snap. */
static void vars_commit(topo_flavor f, const topo_snapshot *t, char *gtid[5], topo_snapshot *snap)
{
    snap->flavor = f;
    snap->server_id = t->server_id;
    memcpy(snap->version, t->version, sizeof(snap->version));
    snap->version_major = t->version_major;
    snap->version_minor = t->version_minor;
    snap->version_patch = t->version_patch;
    memcpy(snap->server_uuid, t->server_uuid, sizeof(snap->server_uuid));
    snap->read_only = t->read_only;
    snap->super_read_only = t->super_read_only;
    snap->log_bin = t->log_bin;
    snap->log_replica_updates = t->log_replica_updates;
    memcpy(snap->binlog_format, t->binlog_format, sizeof(snap->binlog_format));
    snap->gtid_mode_on = t->gtid_mode_on;
    if (f == TOPO_FLAVOR_MARIADB)
        snap->semisync = t->semisync;
    free(snap->gtid_binlog_pos);
    free(snap->gtid_current_pos);
    free(snap->gtid_slave_pos);
    free(snap->gtid_executed);
    free(snap->gtid_purged);
    snap->gtid_binlog_pos = gtid[0];
    snap->gtid_current_pos = gtid[1];
    snap->gtid_slave_pos = gtid[2];
    snap->gtid_executed = gtid[3];
    snap->gtid_purged = gtid[4];
    memset(gtid, 0, 5 * sizeof(gtid[0]));
}

static int apply_vars(topo_flavor f, const pctx *c, topo_snapshot *snap)
{
    const dialect_result *r = c->r;
    topo_snapshot t;           /* staging: only the fields VARS owns are used */
    char *gtid[5] = {NULL, NULL, NULL, NULL, NULL};
    int rc;

    memset(&t, 0, sizeof(t));
    if (r->n_rows != 1) {
        set_err(c->err, c->errlen, "%s: expected one row, got %zu", c->what, r->n_rows);
        rc = -EPROTO;
        goto out;
    }
    if ((rc = vars_identity(c, snap, &t)) < 0 ||
        (rc = vars_flags(f, c, &t)) < 0)
        goto out;

    /* VARS, phase 3: the GTID position strings (heap copies, NULL if absent). */
    if ((rc = opt_heap(c, 0, A("gtid_binlog_pos"), &gtid[0])) < 0 ||
        (rc = opt_heap(c, 0, A("gtid_current_pos"), &gtid[1])) < 0 ||
        (rc = opt_heap(c, 0, A("gtid_slave_pos"), &gtid[2])) < 0 ||
        (rc = opt_heap(c, 0, A("gtid_executed"), &gtid[3])) < 0 ||
        (rc = opt_heap(c, 0, A("gtid_purged"), &gtid[4])) < 0)
        goto out;

    if ((rc = vars_gtid_mode(f, c, snap, &t)) < 0)
        goto out;

    rc = 0;
    vars_commit(f, &t, gtid, snap);
out:
    for (size_t i = 0; i < 5; i++)
        free(gtid[i]);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* REPLICA_STATUS                                                            */
/* ------------------------------------------------------------------------ */

static void replica_free(topo_replica_status *s)
{
    free(s->received_gtid);
    free(s->executed_gtid);
    free(s->last_io_error);
    free(s->last_sql_error);
    s->received_gtid = s->executed_gtid = s->last_io_error = s->last_sql_error = NULL;
}

static void replica_defaults(topo_replica_status *s)
{
    memset(s, 0, sizeof(*s));
    s->seconds_behind = -1;
    s->heartbeat_period_ms = -1;
    s->received_heartbeats = -1;
}

/* Required "file" column into a coord. */
static int need_file(const pctx *c, size_t row, const char *const *aliases, topo_coord *co)
{
    long col = col_need(c, aliases);

    if (col < 0)
        return (int)col;
    return fit_field(c, col, cell(c->r, row, col), co->file, sizeof(co->file));
}

/* Required position column into a coord. */
static int need_pos(const pctx *c, size_t row, const char *const *aliases, topo_coord *co)
{
    long col = col_need(c, aliases);

    if (col < 0)
        return (int)col;
    return parse_u64(c, col, cell(c->r, row, col), UINT64_MAX, &co->pos);
}

static int need_thread(const pctx *c, size_t row, const char *const *aliases,
                       topo_thread_state *out)
{
    long col = col_need(c, aliases);
    const char *v;

    if (col < 0)
        return (int)col;
    v = cell(c->r, row, col);
    if (!v) {
        set_err(c->err, c->errlen, "%s: column %s: unexpected NULL", c->what, col_name(c, col));
        return -EINVAL;
    }
    /* MariaDB's I/O thread says "Preparing" while it starts, before it
     * connects: for us that is the same as Connecting. */
    if (strcasecmp(v, "Preparing") == 0)
        *out = TOPO_THREAD_CONNECTING;
    else
        *out = topo_thread_state_parse(v);
    return 0;
}

/* Optional unsigned column with a maximum; absent/NULL leaves *out. */
static int opt_u64(const pctx *c, size_t row, const char *const *aliases, uint64_t max,
                   uint64_t *out, bool *found)
{
    long col = col_at(c, aliases);
    const char *v = cell(c->r, row, col);

    if (found)
        *found = false;
    if (col < 0 || !v)
        return 0;
    if (found)
        *found = true;
    return parse_u64(c, col, v, max, out);
}

/* Pick the row of the default connection / channel; -1: none. */
static long default_row(const dialect_result *r)
{
    long col = col_find(r, A("Connection_name", "Channel_Name"));

    if (r->n_rows == 0)
        return -1;
    if (col < 0)
        return 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const char *v = cell(r, i, col);
        if (!v || !*v)
            return (long)i;
    }
    return -1;
}

/* REPLICA_STATUS, row rw: source address and the two threads into t. */
static int rs_source_threads(const pctx *c, size_t rw, topo_replica_status *t)
{
    const dialect_result *r = c->r;
    long col;
    uint64_t u;
    const char *v;
    int rc;

    /* Source address. */
    if ((rc = (int)(col = col_need(c, A("Master_Host", "Source_Host")))) < 0 ||
        (rc = fit_field(c, col, cell(r, rw, col), t->source.host, sizeof(t->source.host))) < 0)
        return rc;
    if ((rc = (int)(col = col_need(c, A("Master_Port", "Source_Port")))) < 0 ||
        (rc = parse_u64(c, col, cell(r, rw, col), 65535, &u)) < 0)
        return rc;
    t->source.port = (int)u;

    /* Threads. */
    if ((rc = need_thread(c, rw, A("Slave_IO_Running", "Replica_IO_Running"), &t->io_state)) < 0 ||
        (rc = need_thread(c, rw, A("Slave_SQL_Running", "Replica_SQL_Running"), &t->sql_state)) <
            0)
        return rc;
    col = col_at(c, A("Slave_IO_State", "Replica_IO_State"));
    v = cell(r, rw, col);
    copy_trunc(t->io_state_text, sizeof(t->io_state_text), v ? v : "");
    return 0;
}

/* REPLICA_STATUS, row rw: coordinates (received, applied, relay), lag and delay into t. */
static int rs_coords_lag(const pctx *c, size_t rw, topo_replica_status *t)
{
    const dialect_result *r = c->r;
    long col;
    const char *v;
    int rc;

    /* Coordinates: received, applied, relay. */
    if ((rc = need_file(c, rw, A("Master_Log_File", "Source_Log_File"), &t->read_coord)) < 0 ||
        (rc = need_pos(c, rw, A("Read_Master_Log_Pos", "Read_Source_Log_Pos"), &t->read_coord)) <
            0 ||
        (rc = need_file(c, rw, A("Relay_Master_Log_File", "Relay_Source_Log_File"),
                        &t->exec_coord)) < 0 ||
        (rc = need_pos(c, rw, A("Exec_Master_Log_Pos", "Exec_Source_Log_Pos"), &t->exec_coord)) <
            0)
        return rc;
    col = col_at(c, A("Relay_Log_File"));
    if ((rc = fit_field(c, col, cell(r, rw, col), t->relay_coord.file,
                        sizeof(t->relay_coord.file))) < 0 ||
        (rc = opt_u64(c, rw, A("Relay_Log_Pos"), UINT64_MAX, &t->relay_coord.pos, NULL)) < 0)
        return rc;

    /* Lag and delay. */
    if ((rc = (int)(col = col_need(c, A("Seconds_Behind_Master", "Seconds_Behind_Source")))) < 0)
        return rc;
    v = cell(r, rw, col);
    if (v && (rc = parse_measure(c, col, v, &t->seconds_behind)) < 0)
        return rc;
    col = col_at(c, A("SQL_Delay"));
    v = cell(r, rw, col);
    t->sql_delay_s = 0;
    if (v && (rc = parse_measure(c, col, v, &t->sql_delay_s)) < 0)
        return rc;
    return 0;
}

/* REPLICA_STATUS, row rw: last errors and the source's identity into t. */
static int rs_errors_source_id(const pctx *c, size_t rw, topo_replica_status *t)
{
    const dialect_result *r = c->r;
    long col;
    uint64_t u;
    bool found;
    int rc;

    /* Errors. */
    if ((rc = opt_u64(c, rw, A("Last_IO_Errno"), UINT_MAX, &u, &found)) < 0)
        return rc;
    t->last_io_errno = found ? (unsigned int)u : 0;
    if ((rc = opt_u64(c, rw, A("Last_SQL_Errno"), UINT_MAX, &u, &found)) < 0)
        return rc;
    t->last_sql_errno = found ? (unsigned int)u : 0;
    if ((rc = opt_heap(c, rw, A("Last_IO_Error"), &t->last_io_error)) < 0 ||
        (rc = opt_heap(c, rw, A("Last_SQL_Error"), &t->last_sql_error)) < 0)
        return rc;

    /* Source identity. */
    if ((rc = opt_u64(c, rw, A("Master_Server_Id", "Source_Server_Id"), UINT32_MAX, &u, &found)) <
        0)
        return rc;
    t->source_server_id = found ? (unsigned long)u : 0;
    col = col_at(c, A("Master_UUID", "Source_UUID"));
    if ((rc = fit_field(c, col, cell(r, rw, col), t->source_uuid, sizeof(t->source_uuid))) < 0)
        return rc;
    return 0;
}

/* REPLICA_STATUS, row rw: GTID mode and positions into t. */
static int rs_gtid(const pctx *c, size_t rw, topo_replica_status *t)
{
    const dialect_result *r = c->r;
    long col;
    uint64_t u;
    const char *v;
    bool found;
    int rc;

    col = col_at(c, A("Using_Gtid"));
    if (col >= 0 && (v = cell(r, rw, col)) != NULL) {
        if ((rc = fit_field(c, col, v, t->using_gtid_mode, sizeof(t->using_gtid_mode))) < 0)
            return rc;
        t->using_gtid = *v && strcasecmp(v, "No") != 0;
    } else {
        if ((rc = opt_u64(c, rw, A("Auto_Position"), 1, &u, &found)) < 0)
            return rc;
        if (found) {
            t->using_gtid = u == 1;
            copy_trunc(t->using_gtid_mode, sizeof(t->using_gtid_mode), u == 1 ? "1" : "0");
        }
    }
    if ((rc = opt_heap(c, rw, A("Gtid_IO_Pos", "Retrieved_Gtid_Set"), &t->received_gtid)) < 0 ||
        (rc = opt_heap(c, rw, A("Executed_Gtid_Set"), &t->executed_gtid)) < 0)
        return rc;
    return 0;
}

/* REPLICA_STATUS, row rw: heartbeat period and count (MariaDB SHOW ALL SLAVES STATUS only). */
static int rs_heartbeat(const pctx *c, size_t rw, topo_replica_status *t)
{
    const dialect_result *r = c->r;
    long col;
    uint64_t u;
    const char *v;
    bool found;
    int rc;

    /* Heartbeat (MariaDB SHOW ALL SLAVES STATUS only): seconds, 3 decimals. */
    col = col_at(c, A("Slave_heartbeat_period", "Replica_heartbeat_period"));
    v = cell(r, rw, col);
    if (col >= 0 && v) {
        double s;

        if ((rc = parse_double(c, col, v, &s)) < 0 && !out_of_range(v))
            return rc;
        if (rc < 0 || s < 0 || s > 1e12) /* unknown, not a failed probe */
            t->heartbeat_period_ms = -1;
        else
            t->heartbeat_period_ms = (long long)(s * 1000.0 + 0.5);
    }
    /* Receive progress (MariaDB SHOW ALL SLAVES STATUS only). */
    if ((rc = opt_u64(c, rw, A("Slave_received_heartbeats", "Replica_received_heartbeats"), LLONG_MAX, &u,
                      &found)) < 0)
        return rc;
    if (found)
        t->received_heartbeats = (long long)u;
    return 0;
}

static int apply_replica_status(const pctx *c, topo_snapshot *snap)
{
    const dialect_result *r = c->r;
    topo_replica_status t;
    long row;
    size_t rw;
    int rc = 0;

    replica_defaults(&t);
    row = default_row(r);
    if (row < 0)
        goto commit;
    rw = (size_t)row;
    t.present = true;

    if ((rc = rs_source_threads(c, rw, &t)) < 0 ||
        (rc = rs_coords_lag(c, rw, &t)) < 0 ||
        (rc = rs_errors_source_id(c, rw, &t)) < 0 ||
        (rc = rs_gtid(c, rw, &t)) < 0 ||
        (rc = rs_heartbeat(c, rw, &t)) < 0)
        goto out;

commit:
    replica_free(&snap->replica);
    snap->replica = t;
    return 0;
out:
    replica_free(&t);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* RECEIVE (MySQL performance_schema)                                        */
/* ------------------------------------------------------------------------ */

static int apply_receive(const pctx *c, topo_snapshot *snap)
{
    const dialect_result *r = c->r;
    long row = default_row(r), col;
    size_t rw;
    uint64_t u, extra = 1469598103934665603ULL;
    long long hb = -1, period = snap->replica.heartbeat_period_ms;
    const char *v;
    int rc;

    if (row < 0)
        goto commit; /* no default channel: not a replica */
    rw = (size_t)row;
    if ((rc = (int)(col = col_need(c, A("COUNT_RECEIVED_HEARTBEATS")))) < 0 ||
        (rc = parse_u64(c, col, cell(r, rw, col), LLONG_MAX, &u)) < 0)
        return rc;
    hb = (long long)u;
    extra = topo_hash_str(extra, cell(r, rw, col_at(c, A("LAST_HEARTBEAT_TIMESTAMP"))));
    extra = topo_hash_str(extra, cell(r, rw, col_at(c, A("LAST_QUEUED_TRANSACTION"))));
    extra = topo_hash_str(extra, cell(r, rw, col_at(c, A("LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP"))));
    col = col_at(c, A("HEARTBEAT_INTERVAL"));
    v = cell(r, rw, col);
    if (col >= 0 && v) {
        double s;

        if ((rc = parse_double(c, col, v, &s)) < 0)
            return rc;
        if (s < 0 || s > 1e12) {
            set_err(c->err, c->errlen, "%s: column %s: out of range '%.64s'", c->what, col_name(c, col), v);
            return -EINVAL;
        }
        period = (long long)(s * 1000.0 + 0.5);
    }
commit:
    snap->replica.received_heartbeats = hb;
    snap->replica.rx_extra = row < 0 ? 0 : extra;
    snap->replica.heartbeat_period_ms = period;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* BINLOG_STATUS, REPLICAS                                                   */
/* ------------------------------------------------------------------------ */

static int apply_binlog_status(const pctx *c, topo_snapshot *snap)
{
    topo_coord t;
    int rc;

    memset(&t, 0, sizeof(t));
    if (c->r->n_rows > 0) {
        if ((rc = need_file(c, 0, A("File"), &t)) < 0 ||
            (rc = need_pos(c, 0, A("Position"), &t)) < 0)
            return rc;
    }
    snap->binlog_coord = t;
    return 0;
}

static int apply_replicas(const pctx *c, topo_snapshot *snap)
{
    const dialect_result *r = c->r;
    topo_replica_ref *list = NULL;
    size_t n = 0;
    long c_id, c_host, c_port;
    uint64_t u;
    int rc = 0;

    if (r->n_rows == 0)
        goto commit;
    if ((rc = (int)(c_id = col_need(c, A("Server_id")))) < 0 ||
        (rc = (int)(c_host = col_need(c, A("Host")))) < 0 ||
        (rc = (int)(c_port = col_need(c, A("Port")))) < 0)
        return rc;
    /* Heap, sized to the rows: most servers list a handful of replicas. */
    list = calloc(r->n_rows < TOPO_MAX_REPLICAS ? r->n_rows : TOPO_MAX_REPLICAS, sizeof(*list));
    if (!list)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_rows && n < TOPO_MAX_REPLICAS; i++) {
        const char *host = cell(r, i, c_host);
        topo_replica_ref *e = &list[n];

        /* No report_host: the row names nothing we can connect to. */
        if (!host || !*host)
            continue;
        if ((rc = parse_u64(c, c_id, cell(r, i, c_id), UINT32_MAX, &u)) < 0)
            goto fail;
        e->server_id = (unsigned long)u;
        if ((rc = fit_field(c, c_host, host, e->addr.host, sizeof(e->addr.host))) < 0)
            goto fail;
        if ((rc = parse_u64(c, c_port, cell(r, i, c_port), 65535, &u)) < 0)
            goto fail;
        e->addr.port = (int)u;
        n++;
    }
commit:
    free(snap->replicas);
    if (n == 0) {
        free(list);
        list = NULL;
    }
    snap->replicas = list;
    snap->n_replicas = n;
    return 0;
fail:
    free(list);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* DUMP_HOSTS                                                                */
/* ------------------------------------------------------------------------ */

/* "10.0.0.5:41234" → "10.0.0.5", "[fd00::1]:41234" → "fd00::1", "::1:41234" → "::1";
 * a host without a port (unix socket: "localhost") is kept. 0, or -EINVAL. */
static int strip_client_port(const char *v, char *out, size_t size)
{
    size_t n = strlen(v);
    const char *colon;
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close)
            return -EINVAL;
        n = (size_t)(close - v - 1);
        v++;
    } else if ((colon = strrchr(v, ':')) && colon != v && colon[1]) {
        const char *d = colon + 1;
        while (isdigit((unsigned char)*d))
            d++;
        if (!*d)
            n = (size_t)(colon - v);
    }
    if (n == 0 || n >= size)
        return -EINVAL;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

static int apply_dump_hosts(pctx *c, topo_snapshot *snap)
{
    const dialect_result *r = c->r;
    strbuf sb = {0};
    size_t n = 0;
    long col;
    int rc;

    long cmd;
    if ((rc = (int)(col = col_need(c, A("Host")))) < 0 || (rc = (int)(cmd = col_need(c, A("Command")))) < 0)
        return rc;
    for (size_t i = 0; i < r->n_rows && n < TOPO_MAX_DUMP_HOSTS; i++) {
        const char *v = cell(r, i, col), *what = cell(r, i, cmd);
        char host[TOPO_HOST_MAX];
        bool ok = v && *v && what && strncmp(what, "Binlog Dump", 11) == 0;
        for (const char *p = v; ok && *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                ok = false;
        if (!ok || strip_client_port(v, host, sizeof(host)) < 0)
            continue;
        if ((n && (rc = sb_add(&sb, "\n")) < 0) || (rc = sb_add(&sb, host)) < 0) {
            free(sb.s);
            set_err(c->err, c->errlen, "%s: out of memory", c->what);
            return rc;
        }
        n++;
    }
    free(snap->dump_hosts);
    snap->dump_hosts = sb.s;
    snap->n_dump_hosts = n;
    snap->have_dump_hosts = true;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* SEMISYNC, LAG                                                             */
/* ------------------------------------------------------------------------ */

/* Find the value of a variable in Variable_name / Value rows. */
static const char *nv_lookup(const dialect_result *r, long c_name, long c_val,
                             const char *const *names, size_t *row_out)
{
    for (const char *const *n = names; *n; n++)
        for (size_t i = 0; i < r->n_rows; i++) {
            const char *name = cell(r, i, c_name);
            if (name && strcasecmp(name, *n) == 0) {
                *row_out = i;
                return cell(r, i, c_val);
            }
        }
    return NULL;
}

static int apply_semisync(const pctx *c, bool status, topo_snapshot *snap)
{
    const dialect_result *r = c->r;
    topo_semisync t = snap->semisync;
    long c_name, c_val;
    const char *v;
    size_t row;
    int rc;

    if (status) {
        t.source_status_on = false;
        t.replica_status_on = false;
        t.source_clients = -1;
    } else {
        t.source_enabled = false;
        t.replica_enabled = false;
        t.source_timeout_ms = -1;
        t.source_names = TOPO_SEMISYNC_NAMES_NONE;
        t.replica_names = TOPO_SEMISYNC_NAMES_NONE;
    }
    if (r->n_rows == 0)
        goto commit;
    if ((rc = (int)(c_name = col_need(c, A("Variable_name")))) < 0 ||
        (rc = (int)(c_val = col_need(c, A("Value")))) < 0)
        return rc;

    if (status) {
        if ((v = nv_lookup(r, c_name, c_val,
                           A("Rpl_semi_sync_source_status", "Rpl_semi_sync_master_status"),
                           &row)) &&
            (rc = parse_bool(c, c_val, v, &t.source_status_on)) < 0)
            return rc;
        if ((v = nv_lookup(r, c_name, c_val,
                           A("Rpl_semi_sync_replica_status", "Rpl_semi_sync_slave_status"),
                           &row)) &&
            (rc = parse_bool(c, c_val, v, &t.replica_status_on)) < 0)
            return rc;
        if ((v = nv_lookup(r, c_name, c_val,
                           A("Rpl_semi_sync_source_clients", "Rpl_semi_sync_master_clients"),
                           &row))) {
            if ((rc = parse_measure(c, c_val, v, &t.source_clients)) < 0)
                return rc;
        }
    } else {
        /* Record which spelling exists: every SET must use the one the plugin has. */
        if (nv_lookup(r, c_name, c_val, A("rpl_semi_sync_source_enabled"), &row))
            t.source_names = TOPO_SEMISYNC_NAMES_SOURCE_REPLICA;
        else if (nv_lookup(r, c_name, c_val, A("rpl_semi_sync_master_enabled"), &row))
            t.source_names = TOPO_SEMISYNC_NAMES_MASTER_SLAVE;
        if (nv_lookup(r, c_name, c_val, A("rpl_semi_sync_replica_enabled"), &row))
            t.replica_names = TOPO_SEMISYNC_NAMES_SOURCE_REPLICA;
        else if (nv_lookup(r, c_name, c_val, A("rpl_semi_sync_slave_enabled"), &row))
            t.replica_names = TOPO_SEMISYNC_NAMES_MASTER_SLAVE;
        if ((v = nv_lookup(r, c_name, c_val,
                           A("rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled"),
                           &row)) &&
            (rc = parse_bool(c, c_val, v, &t.source_enabled)) < 0)
            return rc;
        if ((v = nv_lookup(r, c_name, c_val,
                           A("rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled"),
                           &row)) &&
            (rc = parse_bool(c, c_val, v, &t.replica_enabled)) < 0)
            return rc;
        if ((v = nv_lookup(r, c_name, c_val,
                           A("rpl_semi_sync_source_timeout", "rpl_semi_sync_master_timeout"),
                           &row))) {
            if ((rc = parse_measure(c, c_val, v, &t.source_timeout_ms)) < 0)
                return rc;
        }
    }
commit:
    snap->semisync = t;
    return 0;
}

static int apply_lag(const pctx *c, topo_snapshot *snap)
{
    const dialect_result *r = c->r;
    const char *v = r->n_cols > 0 ? cell(r, 0, 0) : NULL;
    double s = -1;
    int rc;

    if (v && (rc = parse_double(c, 0, v, &s)) < 0) {
        if (!out_of_range(v))
            return rc;
        s = -1; /* a number too large for a double: unknown lag, not a failed probe */
    }
    snap->has_lag_query = true;
    snap->lag_query_s = s;
    return 0;
}

/*
 * dialect_apply — see dialect.h.
 */
int dialect_apply(topo_flavor f, dialect_query_kind kind, const dialect_result *res,
                  topo_snapshot *snap, char *err, size_t errlen)
{
    pctx c = {.r = res, .what = dialect_query_kind_name(kind), .err = err, .errlen = errlen};
    int rc;

    if (!res || !snap) {
        set_err(err, errlen, "dialect_apply: missing argument");
        rc = -EINVAL;
        goto out;
    }
    if (!flavor_known(f)) {
        set_err(err, errlen, "dialect_apply: unknown flavor");
        rc = -EINVAL;
        goto out;
    }
    if (!shape_ok(&c)) {
        rc = -EINVAL;
        goto out;
    }
    col_index(&c);
    switch (kind) {
    case DIALECT_Q_VARS: rc = apply_vars(f, &c, snap); break;
    case DIALECT_Q_REPLICA_STATUS: rc = apply_replica_status(&c, snap); break;
    case DIALECT_Q_BINLOG_STATUS: rc = apply_binlog_status(&c, snap); break;
    case DIALECT_Q_REPLICAS: rc = apply_replicas(&c, snap); break;
    case DIALECT_Q_SEMISYNC_VARS: rc = apply_semisync(&c, false, snap); break;
    case DIALECT_Q_SEMISYNC_STATUS: rc = apply_semisync(&c, true, snap); break;
    case DIALECT_Q_RECEIVE: rc = apply_receive(&c, snap); break;
    case DIALECT_Q_LAG: rc = apply_lag(&c, snap); break;
    case DIALECT_Q_DUMP_HOSTS: rc = apply_dump_hosts(&c, snap); break;
    default:
        set_err(err, errlen, "dialect_apply: unknown query kind %d", (int)kind);
        rc = -EINVAL;
        break;
    }
out:
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Recovery statements                                                       */
/* ------------------------------------------------------------------------ */

/* snprintf into buf: 0, or -ENOSPC when truncated. */
static int emit(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int emit(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!buf || len == 0)
        return -ENOSPC;
    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= len) {
        buf[0] = '\0';
        return -ENOSPC;
    }
    return 0;
}




/* Output cursor for building a statement in the caller's buffer. */
typedef struct {
    char *buf;
    size_t len, pos;
    bool overflow;
} outbuf;

static void ob_putc(outbuf *o, char ch)
{
    if (o->pos + 1 >= o->len) {
        o->overflow = true;
        return;
    }
    o->buf[o->pos++] = ch;
    o->buf[o->pos] = '\0';
}

static void ob_puts(outbuf *o, const char *s)
{
    for (; *s; s++)
        ob_putc(o, *s);
}

static void ob_printf(outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ob_printf(outbuf *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        o->overflow = true;
        return;
    }
    ob_puts(o, tmp);
}

/* '...' literal: ' doubled; \ and control characters backslash-escaped. */
static void ob_quoted(outbuf *o, const char *s)
{
    ob_putc(o, '\'');
    for (; *s; s++) {
        switch (*s) {
        case '\'': ob_puts(o, "''"); break;
        case '\\': ob_puts(o, "\\\\"); break;
        case '\n': ob_puts(o, "\\n"); break;
        case '\r': ob_puts(o, "\\r"); break;
        case '\032': ob_puts(o, "\\Z"); break;
        default: ob_putc(o, *s); break;
        }
    }
    ob_putc(o, '\'');
}

/* Host / user: no control characters, no backslash. */
static bool plain_ident(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            return false;
    }
    return true;
}

/*
 * dialect_sql_change_source — see dialect.h.
 */
int dialect_sql_change_source(topo_flavor f, int major, int minor, int patch, const char *host,
                              int port, const char *user, const char *password,
                              int connect_retry_s, double heartbeat_s, char *buf, size_t len,
                              char *err, size_t errlen)
{
    outbuf o = {.buf = buf, .len = len};
    const char *pfx;            /* MASTER / SOURCE */
    bool new_syntax;
    dialect_caps caps;
    int rc = 0;

    if (!buf || len == 0) {
        set_err(err, errlen, "change source: no output buffer");
        rc = -ENOSPC;
        goto out;
    }
    buf[0] = '\0';
    if (!flavor_known(f)) {
        set_err(err, errlen, "change source: unknown flavor");
        rc = -EINVAL;
        goto out;
    }
    if (!host || !*host || strlen(host) >= TOPO_HOST_MAX || !plain_ident(host)) {
        set_err(err, errlen, "change source: bad host (empty, too long, or contains a "
                             "control character or backslash)");
        rc = -EINVAL;
        goto out;
    }
    if (user && !plain_ident(user)) {
        set_err(err, errlen, "change source: bad user (contains a control character or "
                             "backslash)");
        rc = -EINVAL;
        goto out;
    }
    if (port < 1 || port > 65535) {
        set_err(err, errlen, "change source: port %d out of range 1..65535", port);
        rc = -EINVAL;
        goto out;
    }
    if (isnan(heartbeat_s) || heartbeat_s > 4294967.0) {
        set_err(err, errlen, "change source: heartbeat period out of range (0..4294967 s)");
        rc = -EINVAL;
        goto out;
    }

    dialect_caps_init(&caps, f, major, minor, patch, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    new_syntax = caps.source_syntax;
    pfx = new_syntax ? "SOURCE" : "MASTER";
    ob_puts(&o, new_syntax ? "CHANGE REPLICATION SOURCE TO " : "CHANGE MASTER TO ");
    ob_printf(&o, "%s_HOST=", pfx);
    ob_quoted(&o, host);
    ob_printf(&o, ", %s_PORT=%d", pfx, port);
    if (user) {
        ob_printf(&o, ", %s_USER=", pfx);
        ob_quoted(&o, user);
    }
    if (password) {
        ob_printf(&o, ", %s_PASSWORD=", pfx);
        ob_quoted(&o, password);
    }
    if (caps.mariadb_gtid)
        ob_puts(&o, ", MASTER_USE_GTID=slave_pos");
    else
        ob_printf(&o, ", %s_AUTO_POSITION=1", pfx);
    if (connect_retry_s > 0)
        ob_printf(&o, ", %s_CONNECT_RETRY=%d", pfx, connect_retry_s);
    if (heartbeat_s >= 0)
        ob_printf(&o, ", %s_HEARTBEAT_PERIOD=%.3f", pfx, heartbeat_s);
    if (caps.public_key_option)
        ob_puts(&o, new_syntax ? ", GET_SOURCE_PUBLIC_KEY=1" : ", GET_MASTER_PUBLIC_KEY=1");
    if (o.overflow) {
        buf[0] = '\0';
        set_err(err, errlen, "change source: statement longer than the %zu-byte buffer", len);
        rc = -ENOSPC;
    }
out:
    return rc;
}

/*
 * dialect_sql_source_ssl — see dialect.h.
 */
static bool no_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

int dialect_sql_source_ssl(topo_flavor f, int major, int minor, int patch, const dialect_repl_ssl *ssl,
                           char *buf, size_t len, char *err, size_t errlen)
{
    outbuf o = {.buf = buf, .len = len};
    const char *pfx;
    const char *paths[3][2] = {{"CA", NULL}, {"CERT", NULL}, {"KEY", NULL}};

    if (!buf || len == 0) {
        set_err(err, errlen, "replication TLS: no output buffer");
        return -ENOSPC;
    }
    buf[0] = '\0';
    if (!flavor_known(f)) {
        set_err(err, errlen, "replication TLS: unknown flavor");
        return -EINVAL;
    }
    if (!ssl)
        return 0;
    paths[0][1] = ssl->ca;
    paths[1][1] = ssl->cert;
    paths[2][1] = ssl->key;
    {
        dialect_caps caps;
        dialect_caps_init(&caps, f, major, minor, patch, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
        pfx = caps.source_syntax ? "SOURCE" : "MASTER";
    }
    if (ssl->ssl >= 0)
        ob_printf(&o, ", %s_SSL=%d", pfx, ssl->ssl ? 1 : 0);
    for (int i = 0; i < 3; i++) {
        if (!paths[i][1])
            continue;
        if (!*paths[i][1] || !no_control(paths[i][1])) {
            buf[0] = '\0';
            set_err(err, errlen, "replication TLS: the %s path is empty or contains a control character",
                    paths[i][0]);
            return -EINVAL;
        }
        ob_printf(&o, ", %s_SSL_%s=", pfx, paths[i][0]);
        ob_quoted(&o, paths[i][1]);
    }
    if (ssl->verify_server_cert >= 0)
        ob_printf(&o, ", %s_SSL_VERIFY_SERVER_CERT=%d", pfx, ssl->verify_server_cert ? 1 : 0);
    if (o.overflow) {
        buf[0] = '\0';
        set_err(err, errlen, "replication TLS: clauses longer than the %zu-byte buffer", len);
        return -ENOSPC;
    }
    return 0;
}


/*
 * dialect_sql_wait_gtid — see dialect.h.
 */
int dialect_sql_wait_gtid(topo_flavor f, const char *gtid, double timeout_s, char **out, char *err,
                          size_t errlen)
{
    strbuf o = STRBUF_INIT;
    int rc = 0;

    if (!out) {
        set_err(err, errlen, "wait gtid: no output");
        return -EINVAL;
    }
    *out = NULL;
    if (!flavor_known(f)) {
        set_err(err, errlen, "wait gtid: unknown flavor");
        rc = -EINVAL;
        goto out;
    }
    if (!gtid) {
        set_err(err, errlen, "wait gtid: no GTID position");
        rc = -EINVAL;
        goto out;
    }
    if (isnan(timeout_s) || timeout_s < 0.001 || timeout_s > 31536000.0) {
        set_err(err, errlen, "wait gtid: timeout must be between 0.001 and 31536000 seconds");
        rc = -EINVAL;
        goto out;
    }
    for (const char *p = gtid; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!isalnum(ch) && ch != '_' && ch != ':' && ch != ',' && ch != '-' && !isspace(ch)) {
            set_err(err, errlen, "wait gtid: invalid character 0x%02x in GTID text", ch);
            rc = -EINVAL;
            goto out;
        }
    }
    strbuf_puts(&o, f == TOPO_FLAVOR_MARIADB ? "SELECT MASTER_GTID_WAIT('" : "SELECT WAIT_FOR_EXECUTED_GTID_SET('");
    for (const char *p = gtid; *p; p++)
        strbuf_putc(&o, isspace((unsigned char)*p) ? ' ' : *p);
    strbuf_printf(&o, "', %.3f)", timeout_s);
    if (strbuf_error(&o)) {
        rc = strbuf_error(&o);
        set_err(err, errlen, "wait gtid: cannot build the statement for a %zu-byte position: %s", strlen(gtid),
                rc == -ENOMEM ? "out of memory" : "too long");
        goto out;
    }
    *out = strbuf_steal(&o);
    if (!*out) {
        set_err(err, errlen, "wait gtid: out of memory");
        rc = -ENOMEM;
    }
out:
    strbuf_free(&o);
    return rc;
}


/* ------------------------------------------------------------------------ */
/* Capabilities and the statements recovery sends                            */
/* ------------------------------------------------------------------------ */

gtid_kind dialect_gtid_kind(topo_flavor f)
{
    return f == TOPO_FLAVOR_MYSQL ? GTID_KIND_MYSQL : GTID_KIND_MARIADB;
}

void dialect_caps_init(dialect_caps *c, topo_flavor f, int major, int minor, int patch,
                       topo_semisync_names source_names, topo_semisync_names replica_names)
{
    bool mysql = f == TOPO_FLAVOR_MYSQL;
    bool new_semisync_default;

    memset(c, 0, sizeof(*c));
    c->flavor = f;
    c->major = major;
    c->minor = minor;
    c->patch = patch;
    c->known = flavor_known(f);
    c->gtid = dialect_gtid_kind(f);
    if (!c->known)
        return;
    c->replica_verbs = has_replica_verbs(f, major, minor, patch);
    c->show_replica = has_show_replica(f, major, minor, patch);
    c->source_syntax = mysql && ver_ge(major, minor, patch, 8, 0, 23);
    c->channel_clause = mysql;
    c->super_read_only = mysql;
    c->public_key_option = mysql;
    c->mariadb_gtid = !mysql;
    c->semisync_off_before_stop = !mysql;
    c->io_stop_reaches_source = !mysql;
    c->semisync_spelling_varies = mysql;
    c->log_replica_updates_name = mysql && ver_ge(major, minor, patch, 8, 0, 26);
    /* The spelling the probe saw wins; without one, the plugin the release
     * ships as its default (MySQL 8.0.26 added rpl_semi_sync_source/_replica). */
    new_semisync_default = mysql && ver_ge(major, minor, patch, 8, 0, 26);
    c->semisync_source_new = mysql && (source_names == TOPO_SEMISYNC_NAMES_SOURCE_REPLICA ||
                                       (source_names == TOPO_SEMISYNC_NAMES_NONE && new_semisync_default));
    c->semisync_replica_new = mysql && (replica_names == TOPO_SEMISYNC_NAMES_SOURCE_REPLICA ||
                                        (replica_names == TOPO_SEMISYNC_NAMES_NONE && new_semisync_default));
}

void dialect_caps_of(const topo_snapshot *s, dialect_caps *c)
{
    dialect_caps_init(c, s->flavor, s->version_major, s->version_minor, s->version_patch,
                      s->semisync.source_names, s->semisync.replica_names);
}

const char *dialect_snap_own_gtid(const topo_snapshot *s)
{
    return s->flavor == TOPO_FLAVOR_MYSQL ? s->gtid_executed : s->gtid_binlog_pos;
}

const char *dialect_snap_applied_gtid(const topo_snapshot *s)
{
    if (s->flavor == TOPO_FLAVOR_MYSQL)
        return s->gtid_executed;
    return s->gtid_slave_pos ? s->gtid_slave_pos : s->gtid_current_pos;
}

/* buf "" on any failure, so a caller that ignores the result sends nothing. */
static int stmt_emit(char *buf, size_t len, int rc)
{
    if (rc < 0 && buf && len > 0)
        buf[0] = '\0';
    return rc;
}

int dialect_stmt_text(const dialect_caps *c, dialect_stmt k, char *buf, size_t len)
{
    const char *verb, *chan, *ss_src, *ss_rep;

    if (!buf || len == 0)
        return -ENOSPC;
    buf[0] = '\0';
    /* Flavor-neutral: these learn an unknown server's flavor and semi-sync spelling. */
    if (k == DIALECT_STMT_VERSION)
        return stmt_emit(buf, len, emit(buf, len, "SELECT @@version"));
    if (k == DIALECT_STMT_SEMISYNC_VARIABLES)
        return stmt_emit(buf, len, emit(buf, len, "%s", SEMISYNC_VARS_SQL));
    if (!c || !c->known)
        return -EINVAL;
    verb = c->replica_verbs ? "REPLICA" : "SLAVE";
    chan = c->channel_clause ? " FOR CHANNEL ''" : "";
    ss_src = c->semisync_source_new ? "rpl_semi_sync_source_enabled" : "rpl_semi_sync_master_enabled";
    ss_rep = c->semisync_replica_new ? "rpl_semi_sync_replica_enabled" : "rpl_semi_sync_slave_enabled";
    switch (k) {
    case DIALECT_STMT_STOP_REPLICA: return stmt_emit(buf, len, emit(buf, len, "STOP %s%s", verb, chan));
    case DIALECT_STMT_STOP_IO: return stmt_emit(buf, len, emit(buf, len, "STOP %s IO_THREAD%s", verb, chan));
    case DIALECT_STMT_START_REPLICA: return stmt_emit(buf, len, emit(buf, len, "START %s%s", verb, chan));
    case DIALECT_STMT_START_IO: return stmt_emit(buf, len, emit(buf, len, "START %s IO_THREAD%s", verb, chan));
    case DIALECT_STMT_START_SQL: return stmt_emit(buf, len, emit(buf, len, "START %s SQL_THREAD%s", verb, chan));
    case DIALECT_STMT_RESET_REPLICA_ALL:
        return stmt_emit(buf, len, emit(buf, len, "RESET %s ALL%s", verb, chan));
    case DIALECT_STMT_REPLICA_STATUS:
        return stmt_emit(buf, len, emit(buf, len, "%s", c->show_replica ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS"));
    case DIALECT_STMT_READ_ONLY_ON:
        return stmt_emit(buf, len, emit(buf, len, "SET GLOBAL %s=1", c->super_read_only ? "super_read_only" : "read_only"));
    case DIALECT_STMT_READ_ONLY_OFF: return stmt_emit(buf, len, emit(buf, len, "SET GLOBAL read_only=0"));
    case DIALECT_STMT_SEMISYNC_SOURCE_ON: return stmt_emit(buf, len, emit(buf, len, "SET GLOBAL %s=ON", ss_src));
    case DIALECT_STMT_SEMISYNC_SOURCE_OFF: return stmt_emit(buf, len, emit(buf, len, "SET GLOBAL %s=OFF", ss_src));
    case DIALECT_STMT_SEMISYNC_REPLICA_ON: return stmt_emit(buf, len, emit(buf, len, "SET GLOBAL %s=ON", ss_rep));
    case DIALECT_STMT_SEMISYNC_REPLICA_OFF: return stmt_emit(buf, len, emit(buf, len, "SET GLOBAL %s=OFF", ss_rep));
    case DIALECT_STMT_SEMISYNC_SOURCE_ENABLED:
        return stmt_emit(buf, len, emit(buf, len, "SELECT @@GLOBAL.%s", ss_src));
    case DIALECT_STMT_OWN_GTID:
        return stmt_emit(buf, len, emit(buf, len, "SELECT @@GLOBAL.%s", c->mariadb_gtid ? "gtid_binlog_pos" : "gtid_executed"));
    case DIALECT_STMT_APPLIED_GTID:
        return stmt_emit(buf, len, emit(buf, len, "SELECT @@GLOBAL.%s", c->mariadb_gtid ? "gtid_slave_pos" : "gtid_executed"));
    case DIALECT_STMT_SLAVE_POS_FROM_BINLOG:
        if (!c->mariadb_gtid)
            return -ENOTSUP;
        return stmt_emit(buf, len, emit(buf, len, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos"));
    case DIALECT_STMT_IO_THREAD_IDS:
        if (!c->io_stop_reaches_source)
            return -ENOTSUP;
        return stmt_emit(buf, len, emit(buf, len, "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = "
                                                  "'Slave_IO'"));
    case DIALECT_STMT_SESSIONS:
        return stmt_emit(buf, len, emit(buf, len, "SELECT ID, USER, COMMAND, STATE FROM information_schema.PROCESSLIST "
                                                  "WHERE ID <> CONNECTION_ID()"));
    case DIALECT_STMT_VERSION:
    case DIALECT_STMT_SEMISYNC_VARIABLES: break; /* above */
    }
    return -EINVAL;
}

int dialect_stmt_kill(const dialect_caps *c, unsigned long long id, char *buf, size_t len)
{
    if (!buf || len == 0)
        return -ENOSPC;
    buf[0] = '\0';
    if (!c || !c->known)
        return -EINVAL;
    return stmt_emit(buf, len, emit(buf, len, "KILL CONNECTION %llu", id));
}

int dialect_stmt_lock_wait_timeout(const dialect_caps *c, long long ms, char *buf, size_t len)
{
    long long s = ms <= 0 ? 1 : (ms + 999) / 1000;
    if (!buf || len == 0)
        return -ENOSPC;
    buf[0] = '\0';
    if (!c || !c->known)
        return -EINVAL;
    return stmt_emit(buf, len, emit(buf, len, "SET SESSION lock_wait_timeout=%lld", s));
}

int dialect_stmt_change_source(const dialect_caps *c, const char *host, int port, const char *user,
                               const char *password, int connect_retry_s, double heartbeat_s,
                               const dialect_repl_ssl *ssl, char **out, char *err, size_t errlen)
{
    /* Every quoted byte takes at most two; the fixed text is well under 512. */
    size_t need = 512 + 2 * ((host ? strlen(host) : 0) + (user ? strlen(user) : 0) +
                             (password ? strlen(password) : 0));
    size_t tneed = 256;
    char *opts = NULL, *tls = NULL, *all = NULL;
    size_t total;
    int rc;

    if (!out) {
        set_err(err, errlen, "change source: no output");
        return -EINVAL;
    }
    *out = NULL;
    if (!c || !c->known) {
        set_err(err, errlen, "change source: unknown flavor");
        return -EINVAL;
    }
    if (ssl) {
        const char *p[3] = {ssl->ca, ssl->cert, ssl->key};
        for (int i = 0; i < 3; i++)
            tneed += p[i] ? 2 * strlen(p[i]) + 32 : 0;
    }
    opts = malloc(need);
    tls = malloc(tneed);
    if (!opts || !tls) {
        set_err(err, errlen, "change source: out of memory");
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = dialect_sql_change_source(c->flavor, c->major, c->minor, c->patch, host, port, user, password,
                                        connect_retry_s, heartbeat_s, opts, need, err, errlen)) < 0 ||
        (rc = dialect_sql_source_ssl(c->flavor, c->major, c->minor, c->patch, ssl, tls, tneed, err, errlen)) < 0)
        goto out;
    /* One allocation of the exact size: the password is never left behind in a grown buffer. */
    total = strlen(opts) + strlen(tls) + sizeof(" FOR CHANNEL ''");
    if (!(all = malloc(total))) {
        set_err(err, errlen, "change source: out of memory");
        rc = -ENOMEM;
        goto out;
    }
    snprintf(all, total, "%s%s%s", opts, tls, c->channel_clause ? " FOR CHANNEL ''" : "");
    *out = all;
out:
    if (opts) {
        explicit_bzero(opts, need);
        free(opts);
    }
    free(tls);
    return rc;
}

bool dialect_session_awaits_ack(const char *state)
{
    /* MariaDB "... from slave", MySQL 8.0.26+ "... from replica", earlier MySQL "... from slave". */
    static const char prefix[] = "Waiting for semi-sync ACK";
    return state && !strncmp(state, prefix, sizeof(prefix) - 1);
}

bool dialect_session_is_client(const dialect_caps *c, const char *user, const char *command,
                               const char *own_user)
{
    (void)c; /* the same filter reads both flavors' PROCESSLIST */
    user = user ? user : "";
    command = command ? command : "";
    if (!strcmp(user, "system user") || !strcmp(user, "event_scheduler") || (own_user && !strcmp(user, own_user)))
        return false;
    if (!strncmp(command, "Binlog Dump", 11) || !strcmp(command, "Daemon") || !strncmp(command, "Slave", 5) ||
        !strcmp(command, "Killed"))
        return false;
    return true;
}
