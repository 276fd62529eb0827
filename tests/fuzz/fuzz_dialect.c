/*
 * tests/fuzz/fuzz_dialect.c — fuzz target for dialect_apply() (topology/dialect.c):
 * every result set a server (or something pretending to be one) can send.
 *
 * Input: the first byte picks the query kind (byte % 8: VARS, REPLICA_STATUS,
 * BINLOG_STATUS, REPLICAS, SEMISYNC_VARS, SEMISYNC_STATUS, LAG, DUMP_HOSTS) and the
 * flavor (bit 0x40: MySQL, else MariaDB); then lines: the first holds the column
 * names separated by '|', each further line one row ('|'-separated cells, "~" = NULL).
 * Invariants (abort() on failure): the result is 0 or one of the documented errors;
 * on error the snapshot is unchanged; on success the bounds hold (replicas ≤
 * TOPO_MAX_REPLICAS, dump hosts ≤ TOPO_MAX_DUMP_HOSTS), the snapshot renders to JSON,
 * round-trips through topo_snapshot_copy, and its texts escape to control-free text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/cluster.h"
#include "topology/dialect.h"
#include "topology/escape.h"

#define FZ_CHECK(cond)                                                                            \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_dialect: invariant failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define MAX_COLS 64
#define MAX_ROWS 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_driver_seeds(size_t *n);

static const char *const seeds[] = {
    "0server_id|version|read_only|log_bin|log_slave_updates|binlog_format|gtid_binlog_pos|gtid_current_pos|"
    "gtid_slave_pos\n1|10.11.6-MariaDB-log|0|1|1|ROW|0-1-10|0-1-10|~",
    "pserver_id|version|read_only|super_read_only|log_bin|log_replica_updates|gtid_executed|server_uuid|gtid_mode\n"
    "7|8.4.3|1|1|1|1|3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5|3E11FA47-71CA-11E1-9E33-C80AA9429562|ON",
    "1Master_Host|Master_Port|Slave_IO_Running|Slave_SQL_Running|Master_Log_File|Read_Master_Log_Pos|"
    "Relay_Master_Log_File|Exec_Master_Log_Pos|Seconds_Behind_Master|Using_Gtid|Gtid_IO_Pos|SQL_Delay\n"
    "10.0.0.1|3306|Yes|Yes|b.000001|400|b.000001|400|0|Slave_Pos|0-1-10|0",
    "qSource_Host|Source_Port|Replica_IO_Running|Replica_SQL_Running|Source_Log_File|Read_Source_Log_Pos|"
    "Relay_Source_Log_File|Exec_Source_Log_Pos|Seconds_Behind_Source|Auto_Position|Channel_Name\n"
    "db1|3306|Connecting|Yes|b.2|4|b.2|4|~|1|\ndb2|3307|Yes|No|c.1|9|c.1|9|9223372036854775808|0|x",
    "2File|Position|Binlog_Do_DB\nmysql-bin.000012|4567|",
    "3Server_id|Host|Port|Master_id\n2|127.0.0.1|3307|1\n3|db3\n|3308|1\n4||0|1",
    "4Variable_name|Value\nrpl_semi_sync_master_enabled|ON\nrpl_semi_sync_master_timeout|10000",
    "5Variable_name|Value\nRpl_semi_sync_master_clients|2\nRpl_semi_sync_master_status|ON",
    "6lag\n0.250",
    "7Host\n127.0.0.1:51234\n[fd00::7]:3307\nlocalhost\n::1:40000",
};

const char *const *fuzz_driver_seeds(size_t *n)
{
    *n = sizeof seeds / sizeof seeds[0];
    return seeds;
}

/* Split s at sep into at most max pieces (in place). */
static size_t split(char *s, char sep, char **out, size_t max)
{
    size_t n = 0;
    while (n < max) {
        char *e = strchr(s, sep);
        out[n++] = s;
        if (!e)
            break;
        *e = '\0';
        s = e + 1;
    }
    return n;
}

static char *dump(const topo_snapshot *s)
{
    json_t *j = topo_snapshot_to_json(s);
    char *t;
    FZ_CHECK(j != NULL);
    t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return t;
}

static void check_escaped(const char *s)
{
    char *e;
    if (!s)
        return;
    e = esc_dup(s);
    FZ_CHECK(e != NULL);
    for (const char *p = e; *p; p++)
        FZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const base_names[] = {"server_id", "version", "read_only"};
    static const char *const base_cells[] = {"1", "10.11.6-MariaDB", "0"};
    char *buf, *lines[MAX_ROWS + 1], *names[MAX_COLS];
    const char **cells = NULL;
    size_t n_lines, n_cols, n_rows;
    topo_snapshot snap = {0}, copy = {0};
    dialect_query_kind kind;
    topo_flavor f;
    dialect_result r, base = {.n_cols = 3, .n_rows = 1, .names = base_names, .cells = base_cells};
    char err[512], *before, *after;
    int rc;

    if (size == 0)
        return -1;
    kind = (dialect_query_kind)(data[0] % 8);
    f = (data[0] & 0x40) ? TOPO_FLAVOR_MYSQL : TOPO_FLAVOR_MARIADB;
    buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    n_lines = split(buf, '\n', lines, MAX_ROWS + 1);
    n_cols = split(lines[0], '|', names, MAX_COLS);
    n_rows = n_lines - 1;
    cells = calloc(n_rows * n_cols + 1, sizeof(*cells));
    FZ_CHECK(cells != NULL);
    for (size_t i = 0; i < n_rows; i++) {
        char *row[MAX_COLS];
        size_t k = split(lines[i + 1], '|', row, n_cols);
        for (size_t c = 0; c < k; c++)
            cells[i * n_cols + c] = strcmp(row[c], "~") == 0 ? NULL : row[c];
        for (size_t c = k; c < n_cols; c++)
            cells[i * n_cols + c] = NULL;
    }
    r = (dialect_result){.n_cols = n_cols, .n_rows = n_rows, .names = (const char *const *)names, .cells = cells};

    /* A known state first, so "unchanged on error" means something. */
    FZ_CHECK(dialect_apply(TOPO_FLAVOR_MARIADB, DIALECT_Q_VARS, &base, &snap, err, sizeof(err)) == 0);
    before = dump(&snap);
    err[0] = '\0';
    rc = dialect_apply(f, kind, &r, &snap, err, sizeof(err));
    FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EPROTO || rc == -ENOMEM);
    after = dump(&snap);
    if (rc < 0) {
        FZ_CHECK(err[0] != '\0');
        FZ_CHECK(strcmp(before, after) == 0);
    } else {
        char *again;
        FZ_CHECK(snap.n_replicas <= TOPO_MAX_REPLICAS);
        FZ_CHECK(snap.n_dump_hosts <= TOPO_MAX_DUMP_HOSTS);
        FZ_CHECK((snap.n_dump_hosts == 0) == (snap.dump_hosts == NULL));
        if (snap.dump_hosts) {
            size_t nl = 0;
            for (const char *p = snap.dump_hosts; *p; p++) {
                nl += *p == '\n';
                FZ_CHECK(*p == '\n' || ((unsigned char)*p >= 0x20 && *p != 0x7f));
            }
            FZ_CHECK(nl + 1 == snap.n_dump_hosts);
        }
        FZ_CHECK(topo_snapshot_copy(&copy, &snap) == 0);
        again = dump(&copy);
        FZ_CHECK(strcmp(again, after) == 0);
        free(again);
        check_escaped(snap.version);
        check_escaped(snap.replica.source.host);
        check_escaped(snap.replica.last_io_error);
        check_escaped(snap.replica.io_state_text);
        for (size_t i = 0; i < snap.n_replicas; i++)
            check_escaped(snap.replicas[i].addr.host);
    }
    free(before);
    free(after);
    topo_snapshot_clear(&copy);
    topo_snapshot_clear(&snap);
    free(cells);
    free(buf);
    return rc == 0 ? 0 : -1;
}
