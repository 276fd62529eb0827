/*
 * topology/instance.h — the instance model: what one probe of one database
 * server tells us (a snapshot), and the identity of a server (host:port).
 *
 * Owns: topo_flavor, topo_thread_state, topo_replica_status, topo_snapshot,
 * topo_addr and their small helpers. A snapshot is plain data: the probe
 * engine fills it, the dialect layer parses server output into it, analysis
 * reads it. Strings that can grow without bound (GTID sets, error texts) are
 * heap-allocated and released by topo_snapshot_clear().
 */
#ifndef MYORCH_TOPOLOGY_INSTANCE_H
#define MYORCH_TOPOLOGY_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOPO_HOST_MAX 256   /* host name or address, NUL included */
#define TOPO_ADDR_MAX 272   /* "host:port" rendering, NUL included */
#define TOPO_FILE_MAX 256   /* binlog / relay log file name */
#define TOPO_MAX_REPLICAS 64 /* replicas listed per server (SHOW SLAVE HOSTS) */
#define TOPO_MAX_DUMP_HOSTS 256 /* Binlog Dump connections kept per server */

typedef enum {
    TOPO_FLAVOR_UNKNOWN = 0,
    TOPO_FLAVOR_MARIADB,
    TOPO_FLAVOR_MYSQL,
} topo_flavor;

/* Replication thread state as the server reports it (Yes / No / Connecting). */
typedef enum {
    TOPO_THREAD_UNKNOWN = 0,
    TOPO_THREAD_NO,
    TOPO_THREAD_YES,
    TOPO_THREAD_CONNECTING,
} topo_thread_state;

/* A server's identity: host (as configured or reported) and TCP port. */
typedef struct {
    char host[TOPO_HOST_MAX];
    int port;
} topo_addr;

/* Binary log coordinates: file name + byte position. file[0]==0 means none. */
typedef struct {
    char file[TOPO_FILE_MAX];
    uint64_t pos;
} topo_coord;

/*
 * One row of SHOW SLAVE STATUS / SHOW REPLICA STATUS, flavor-neutral.
 * MariaDB multi-source: only the default (unnamed) connection is used.
 */
typedef struct {
    bool present;                 /* false: the server is not a replica */
    topo_addr source;             /* Master_Host/Source_Host, Master_Port/Source_Port */
    unsigned long source_server_id; /* Master_Server_Id / Source_Server_Id, 0 if unknown */
    char source_uuid[64];         /* MySQL Source_UUID; empty on MariaDB */
    topo_thread_state io_state;   /* Slave_IO_Running / Replica_IO_Running */
    topo_thread_state sql_state;  /* Slave_SQL_Running / Replica_SQL_Running */
    char io_state_text[128];      /* Slave_IO_State / Replica_IO_State (free text) */
    topo_coord read_coord;        /* Master_Log_File + Read_Master_Log_Pos (received) */
    topo_coord exec_coord;        /* Relay_Master_Log_File + Exec_Master_Log_Pos (applied) */
    topo_coord relay_coord;       /* Relay_Log_File + Relay_Log_Pos */
    char *received_gtid;          /* MariaDB Gtid_IO_Pos, MySQL Retrieved_Gtid_Set (heap, may be NULL) */
    char *executed_gtid;          /* MariaDB: @@gtid_slave_pos is in the snapshot; MySQL Executed_Gtid_Set (heap, may be NULL) */
    bool using_gtid;              /* MariaDB Using_Gtid != No, MySQL Auto_Position = 1 */
    char using_gtid_mode[16];     /* MariaDB: "Slave_Pos" | "Current_Pos" | "No"; MySQL: "1"/"0" */
    long long seconds_behind;     /* Seconds_Behind_Master/Source; -1 when NULL or out of range */
    long long sql_delay_s;        /* SQL_Delay; -1 unknown (out of range): treated as delayed */
    unsigned int last_io_errno;
    char *last_io_error;          /* heap, may be NULL */
    unsigned int last_sql_errno;
    char *last_sql_error;         /* heap, may be NULL */
    long long heartbeat_period_ms;/* MariaDB Slave_heartbeat_period (SHOW ALL SLAVES STATUS), MySQL
                                   * replication_connection_configuration.HEARTBEAT_INTERVAL; -1 unknown,
                                   * 0 heartbeats off */
    /* Receive progress (issue 18): what the IO thread has received, compared
     * between two probes by topo_replica_rx_mark(). */
    long long received_heartbeats;/* MariaDB Slave_received_heartbeats (SHOW ALL SLAVES STATUS), MySQL
                                   * COUNT_RECEIVED_HEARTBEATS; -1 unknown (then no stall can be shown) */
    uint64_t rx_extra;            /* MySQL: hash of LAST_QUEUED_TRANSACTION, its END_QUEUE timestamp and
                                   * LAST_HEARTBEAT_TIMESTAMP; 0 on MariaDB */
} topo_replica_status;

/* One entry of SHOW SLAVE HOSTS / SHOW REPLICAS on a source. */
typedef struct {
    unsigned long server_id;
    topo_addr addr;               /* Host (report_host) + Port (report_port) */
} topo_replica_ref;

/*
 * Which spelling of the semi-sync variables a server's plugin has, per side.
 * MySQL 8.0.26+ ships rpl_semi_sync_source / _replica (rpl_semi_sync_source_*,
 * rpl_semi_sync_replica_*) beside the old rpl_semi_sync_master / _slave
 * (rpl_semi_sync_master_*, _slave_*), and a server has only the names of the
 * plugin it loaded (MySQL 8.0/8.4 Reference Manual 19.4.10.2, "Configuring
 * Semisynchronous Replication"); the two sides may differ. MariaDB has only
 * the master/slave names.
 */
typedef enum {
    TOPO_SEMISYNC_NAMES_NONE = 0,        /* no such variable seen (no plugin, or not probed) */
    TOPO_SEMISYNC_NAMES_MASTER_SLAVE,    /* rpl_semi_sync_master_* / rpl_semi_sync_slave_* */
    TOPO_SEMISYNC_NAMES_SOURCE_REPLICA,  /* rpl_semi_sync_source_* / rpl_semi_sync_replica_* */
} topo_semisync_names;

/* Semi-synchronous replication state (both flavors, normalised). */
typedef struct {
    topo_semisync_names source_names;  /* spelling of the source side's variables */
    topo_semisync_names replica_names; /* spelling of the replica side's variables */
    bool source_enabled;          /* rpl_semi_sync_master_enabled / _source_enabled */
    bool replica_enabled;         /* rpl_semi_sync_slave_enabled / _replica_enabled */
    bool source_status_on;        /* Rpl_semi_sync_master_status / _source_status */
    bool replica_status_on;       /* Rpl_semi_sync_slave_status / _replica_status */
    long long source_clients;     /* Rpl_semi_sync_master_clients, -1 unknown */
    long long source_timeout_ms;  /* rpl_semi_sync_master_timeout, -1 unknown */
} topo_semisync;

/* Everything one probe of one server learned. */
typedef struct {
    bool ok;                      /* the probe completed; false: see error fields */
    int64_t taken_at_ms;          /* monotonic ms when the probe completed */
    int64_t sent_at_ms;           /* monotonic ms when its query batch was sent (0: unknown) */
    int64_t probe_latency_ms;     /* round trip of the probe's query batch */

    unsigned long server_id;
    char version[64];             /* @@version */
    topo_flavor flavor;
    int version_major, version_minor, version_patch;
    char server_uuid[64];         /* MySQL @@server_uuid; empty on MariaDB */

    bool read_only;
    bool super_read_only;         /* MySQL only; false on MariaDB */
    bool log_bin;
    bool log_replica_updates;     /* log_slave_updates / log_replica_updates */
    char binlog_format[16];

    /* GTID state (heap strings, may be NULL). MariaDB: domain-server-seq lists.
     * MySQL: gtid_binlog_pos/current_pos stay NULL, gtid_executed/purged set. */
    char *gtid_binlog_pos;        /* MariaDB @@gtid_binlog_pos */
    char *gtid_current_pos;       /* MariaDB @@gtid_current_pos */
    char *gtid_slave_pos;         /* MariaDB @@gtid_slave_pos */
    char *gtid_executed;          /* MySQL @@gtid_executed */
    char *gtid_purged;            /* MySQL @@gtid_purged */
    bool gtid_mode_on;            /* MySQL @@gtid_mode = ON; MariaDB: always true */

    topo_coord binlog_coord;      /* SHOW MASTER STATUS / SHOW BINARY LOG STATUS */

    topo_replica_status replica;  /* default replication connection */

    topo_semisync semisync;

    size_t n_replicas;            /* SHOW SLAVE HOSTS / SHOW REPLICAS rows (≤ TOPO_MAX_REPLICAS) */
    topo_replica_ref *replicas;   /* heap, n_replicas entries; NULL when none */

    /* Binlog Dump connections in the processlist (who really replicates from
     * this server; confirms SHOW SLAVE HOSTS entries, see topology/trust.h). */
    bool have_dump_hosts;         /* the probe read them */
    size_t n_dump_hosts;          /* ≤ TOPO_MAX_DUMP_HOSTS */
    char *dump_hosts;             /* heap: client hosts without port, one per line; NULL when none */

    bool has_lag_query;           /* a heartbeat-table lag query is configured */
    double lag_query_s;           /* its result (seconds); -1 when NULL/failed */

    /* Failure details when !ok. */
    bool answered;                /* the server logged us in and answered at least one statement
                                   * before a later one failed or hung: it is up (e.g. SHOW BINLOG
                                   * STATUS queued behind commits waiting for semi-sync acks) */
    unsigned int error_code;      /* server/client error number (e.g. 1045, 2003) */
    char error[512];              /* the server's or client library's message */
} topo_snapshot;

/*
 * A fingerprint of everything the replica's IO thread has received: heartbeat
 * count, received coordinates, received GTID position, rx_extra. Two probes
 * with the same mark: nothing (no event, no heartbeat) arrived between them.
 * Only meaningful when rs->present and rs->received_heartbeats >= 0.
 */
uint64_t topo_replica_rx_mark(const topo_replica_status *rs);

/* FNV-1a of a string (NULL hashes like ""), continuing from h. */
uint64_t topo_hash_str(uint64_t h, const char *s);

/* Release heap strings and zero the snapshot. Safe on a zeroed snapshot. */
void topo_snapshot_clear(topo_snapshot *s);

/* Deep copy src into dst (dst is cleared first). Returns 0 or -ENOMEM. */
int topo_snapshot_copy(topo_snapshot *dst, const topo_snapshot *src);

/* Replace *slot with a heap copy of value (NULL or "" → NULL). Returns 0 or -ENOMEM. */
int topo_strset(char **slot, const char *value);

/* "host:port" → addr. Accepts "host" (then default_port), "[v6]:port".
 * Returns 0, or -EINVAL with a message in err. */
int topo_addr_parse(const char *text, int default_port, topo_addr *out, char *err, size_t errlen);

/* Render "host:port" (IPv6 hosts in brackets) into buf. Returns buf. */
const char *topo_addr_str(const topo_addr *a, char *buf, size_t len);

/* Same host (case-insensitive) and port. */
bool topo_addr_eq(const topo_addr *a, const topo_addr *b);

const char *topo_flavor_name(topo_flavor f);
const char *topo_thread_state_name(topo_thread_state t);
/* "Yes" / "No" / "Connecting" (case-insensitive) → state; anything else UNKNOWN. */
topo_thread_state topo_thread_state_parse(const char *text);

/*
 * May this answer describe the server as it was before t_ms (monotonic)? Yes when its batch was
 * sent before t_ms: the server builds the answer after it receives the batch. Without a send time
 * (sent_at_ms 0: a snapshot not from the probe engine), when it completed at or before t_ms. A
 * batch sent in the same millisecond as t_ms does not predate it: the replicas' probes that a lost
 * primary starts go out in the millisecond the loss was seen, and counting them as older held about
 * 1 crash failover in 10 for another probe round (50 ms; issue 17).
 */
static inline bool topo_snap_predates(const topo_snapshot *s, int64_t t_ms)
{
    return s->sent_at_ms ? s->sent_at_ms < t_ms : s->taken_at_ms <= t_ms;
}

#endif
