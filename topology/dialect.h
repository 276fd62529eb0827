/*
 * topology/dialect.h — every MariaDB / MySQL difference in one module.
 *
 * Owns:
 *   - flavor and version detection from @@version / @@version_comment
 *     (MariaDB >= 10.4 and MySQL >= 8.0 are supported, others refused);
 *   - the probe batch: which statement text to send for each kind of state,
 *     per flavor and version (SHOW SLAVE vs SHOW REPLICA, SHOW MASTER STATUS
 *     vs SHOW BINLOG STATUS vs SHOW BINARY LOG STATUS, ...);
 *   - folding each result set of that batch into a topo_snapshot, matching
 *     column names case-insensitively and accepting either naming
 *     (Master_* / Source_*, Slave_* / Replica_*);
 *   - the capabilities of each server (dialect_caps: every flavor and version
 *     decision) and the text of every statement recovery sends
 *     (stop/start/reset replica with FOR CHANNEL '' on MySQL, CHANGE MASTER TO /
 *     CHANGE REPLICATION SOURCE TO, read_only / super_read_only, semi-sync in
 *     the spelling the server's plugin has, waiting for a GTID position,
 *     ending sessions).
 *
 * Pure string work: no I/O, no server connection, no global state. The probe
 * engine turns a MYSQL_RES into a dialect_result; the tests build the same
 * from fixture text.
 *
 * Conventions: functions return 0 or a negative errno and, where they take
 * err/errlen, leave a one-line message there. Error codes used:
 *   -EINVAL   bad argument or a value the server sent that does not parse
 *             (the message names the column and the value);
 *   -EPROTO   a result set has the wrong shape (a required column missing);
 *   -ENOTSUP  flavor or version not supported;
 *   -ENOSPC   the caller's buffer is too small for the statement;
 *   -ENOMEM   allocation failed.
 * On any error dialect_apply() leaves the snapshot unchanged.
 *
 * Privileges the probe batch needs on the server (not checked here): MariaDB
 * 10.11 SLAVE MONITOR + BINLOG MONITOR + REPLICATION MASTER ADMIN (checked on a
 * live 10.11.19: each one missing fails the batch); older MariaDB and MySQL
 * REPLICATION CLIENT + REPLICATION SLAVE. PROCESS lets DUMP_HOSTS see the
 * replication users' Binlog Dump sessions; without it the statement still
 * succeeds (own sessions only) and replica-list entries are never confirmed.
 * A statement failing in a multi-statement batch stops the server from
 * running the rest, so a missing privilege fails the whole probe.
 */
#ifndef MYORCH_TOPOLOGY_DIALECT_H
#define MYORCH_TOPOLOGY_DIALECT_H

#include <stdbool.h>
#include <stddef.h>

#include "topology/gtid.h"
#include "topology/instance.h"

/* Oldest supported releases. */
#define DIALECT_MIN_MARIADB_MAJOR 10
#define DIALECT_MIN_MARIADB_MINOR 4
#define DIALECT_MIN_MYSQL_MAJOR 8
#define DIALECT_MIN_MYSQL_MINOR 0

/*
 * One result set, flavor-neutral. Column names are matched
 * case-insensitively; missing optional columns and extra columns are fine.
 */
typedef struct {
    size_t n_cols, n_rows;
    const char *const *names;   /* n_cols column names */
    const char *const *cells;   /* n_rows*n_cols values, row-major; NULL = SQL NULL */
} dialect_result;

/* The kinds of result set in a probe batch, in the order they are sent. */
typedef enum {
    DIALECT_Q_VARS,            /* SELECT @@global.server_id AS server_id, ... (one row) */
    DIALECT_Q_REPLICA_STATUS,  /* SHOW SLAVE STATUS / SHOW REPLICA STATUS */
    DIALECT_Q_BINLOG_STATUS,   /* SHOW MASTER / BINLOG / BINARY LOG STATUS */
    DIALECT_Q_REPLICAS,        /* SHOW SLAVE HOSTS / SHOW REPLICA HOSTS / SHOW REPLICAS */
    DIALECT_Q_SEMISYNC_VARS,   /* SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%' */
    DIALECT_Q_SEMISYNC_STATUS, /* SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%' */
    DIALECT_Q_RECEIVE,         /* MySQL: performance_schema receive progress of the default channel */
    DIALECT_Q_LAG,             /* the user's lag query (first column of first row, seconds) */
    DIALECT_Q_DUMP_HOSTS,      /* client hosts of the processlist's Binlog Dump connections */
} dialect_query_kind;

#define DIALECT_BATCH_MAX 9

/* One multi-statement probe query and the kind of each of its result sets. */
typedef struct {
    dialect_query_kind kinds[DIALECT_BATCH_MAX];
    size_t n;
    char *sql;                 /* heap: the statements joined by ";" (no trailing ";") */
} dialect_batch;

/*
 * Tell the flavor and version of a server from SELECT @@version and
 * @@version_comment (comment may be NULL).
 *
 * MariaDB is recognised by "MariaDB" (any case) in the version or the
 * comment, e.g. "10.11.6-MariaDB-0+deb12u1-log" or the handshake form
 * "5.5.5-10.11.6-MariaDB" (the "5.5.5-" prefix is skipped); anything else is
 * MySQL (Percona Server, distribution builds: "8.0.36-0ubuntu0.22.04.1").
 * A missing patch number ("8.0") reads as 0.
 *
 * Accepts MariaDB >= 10.4 and MySQL >= 8.0. Returns 0; -EINVAL if the version
 * does not parse; -ENOTSUP (flavor and numbers still filled) if the release
 * is too old.
 */
int dialect_detect(const char *version, const char *version_comment, topo_flavor *flavor,
                   int *major, int *minor, int *patch, char *err, size_t errlen);

/*
 * Build the probe batch for a server of this flavor and version, in the
 * order VARS, REPLICA_STATUS, BINLOG_STATUS, REPLICAS, SEMISYNC_VARS (MySQL),
 * SEMISYNC_STATUS, DUMP_HOSTS, RECEIVE (MySQL), then LAG when lag_query is not
 * NULL. DUMP_HOSTS reads SHOW PROCESSLIST (needs PROCESS to see the
 * replication users' sessions).
 *
 * REPLICA_STATUS is SHOW ALL SLAVES STATUS on every MariaDB (it alone reports
 * Slave_received_heartbeats and Slave_heartbeat_period; the default
 * connection's row is used). RECEIVE on MySQL joins
 * performance_schema.replication_connection_status and
 * replication_connection_configuration (COUNT_RECEIVED_HEARTBEATS,
 * LAST_HEARTBEAT_TIMESTAMP, LAST_QUEUED_TRANSACTION and its end-of-queue
 * timestamp, HEARTBEAT_INTERVAL).
 *
 * Statement choice for the other kinds:
 *   MariaDB < 10.5.1: SHOW SLAVE STATUS, SHOW MASTER STATUS, SHOW SLAVE HOSTS
 *   MariaDB 10.5.1:   SHOW REPLICA STATUS, SHOW MASTER STATUS, SHOW REPLICA HOSTS
 *   MariaDB >= 10.5.2: SHOW REPLICA STATUS, SHOW BINLOG STATUS, SHOW REPLICA HOSTS
 *   MySQL < 8.0.22:   SHOW SLAVE STATUS, SHOW MASTER STATUS, SHOW SLAVE HOSTS
 *   MySQL 8.0.22+:    SHOW REPLICA STATUS, SHOW MASTER STATUS, SHOW REPLICAS
 *   MySQL >= 8.2.0:   SHOW REPLICA STATUS, SHOW BINARY LOG STATUS, SHOW REPLICAS
 *   VARS reads @@global.log_slave_updates on MariaDB and MySQL < 8.0.26,
 *   @@global.log_replica_updates on MySQL 8.0.26+.
 *
 * lag_query must be a single statement: one containing ';' is refused
 * (-EINVAL), as is an empty one. On success *out owns a heap string; release
 * it with dialect_batch_free(). On error *out is zeroed.
 */
int dialect_probe_batch(topo_flavor f, int major, int minor, int patch, const char *lag_query,
                        dialect_batch *out, char *err, size_t errlen);

/*
 * The same batch without the detail kinds (dialect_kind_is_detail: SHOW REPLICAS / SLAVE
 * HOSTS and SHOW PROCESSLIST, who replicates from the server), the same order otherwise.
 * The probe engine sends it between full batches (probe_set_detail_every): SHOW PROCESSLIST
 * walks every session of the server, thousands on a busy primary.
 */
int dialect_probe_batch_lean(topo_flavor f, int major, int minor, int patch, const char *lag_query,
                             dialect_batch *out, char *err, size_t errlen);

/* True for the kinds only the full batch reads (REPLICAS, DUMP_HOSTS). */
bool dialect_kind_is_detail(dialect_query_kind kind);

/* Free a batch's SQL text and zero it. Safe on a zeroed batch and on NULL. */
void dialect_batch_free(dialect_batch *b);

/* "vars", "replica_status", ... for log lines. */
const char *dialect_query_kind_name(dialect_query_kind kind);

/*
 * Fold one result set of the batch into the snapshot. Heap strings are set
 * with topo_strset(); fields the result set owns are fully replaced (a
 * column that is missing resets its field to the default), other fields are
 * untouched. On error the snapshot is not modified at all.
 *
 * VARS (exactly one row; server_id, version, read_only required):
 *   server_id, version (also version_major/minor/patch when it parses),
 *   read_only (anything but 0/OFF/NO/"" is read-only: MariaDB 11.x+ reports
 *   an enum OFF/ON/NO_LOCK/NO_LOCK_NO_ADMIN), super_read_only (MySQL; false
 *   on MariaDB), log_bin, log_replica_updates or log_slave_updates,
 *   binlog_format, MariaDB gtid_binlog_pos / gtid_current_pos /
 *   gtid_slave_pos, MySQL gtid_executed / gtid_purged / server_uuid /
 *   gtid_mode ("ON" → gtid_mode_on; always true on MariaDB). GTID text is
 *   kept verbatim (MySQL sets may contain ",\n"). snap->flavor is set to f.
 *
 * REPLICA_STATUS: zero rows → replica.present = false (all fields reset).
 *   With several rows the default connection is used: the row whose
 *   Connection_name (MariaDB SHOW ALL SLAVES STATUS) or Channel_Name (MySQL)
 *   is empty; no such row → present = false; neither column → first row.
 *   Required: Master_Host, Master_Port, Slave_IO_Running, Slave_SQL_Running,
 *   Master_Log_File, Read_Master_Log_Pos, Relay_Master_Log_File,
 *   Exec_Master_Log_Pos, Seconds_Behind_Master (or their Source_ / Replica_
 *   names). Seconds_Behind NULL → -1. MariaDB's Slave_IO_Running
 *   "Preparing" is reported as CONNECTING. Using_Gtid (MariaDB) or
 *   Auto_Position (MySQL) → using_gtid; Gtid_IO_Pos (MariaDB) or
 *   Retrieved_Gtid_Set (MySQL) → received_gtid; Executed_Gtid_Set (MySQL) →
 *   executed_gtid (NULL on MariaDB: see snap->gtid_slave_pos);
 *   Slave_heartbeat_period (only in MariaDB's SHOW ALL SLAVES STATUS)
 *   → heartbeat_period_ms, else -1; Slave_received_heartbeats (idem) →
 *   received_heartbeats, else -1. io_state_text is truncated to fit;
 *   a host, log file name or UUID too long for its field is an error.
 *
 * BINLOG_STATUS: File + Position of the first row; zero rows (binary log
 *   off) → binlog_coord.file empty, pos 0.
 *
 * REPLICAS: Server_id, Host, Port per row (Master_id / Source_Id and extra
 *   columns ignored). Rows with an empty or NULL Host (a replica without
 *   report_host on MySQL) are left out of the list: nothing can connect to
 *   them. Port 0 (report_port not set) is kept as 0. At most
 *   TOPO_MAX_REPLICAS rows are kept, the rest are dropped.
 *
 * SEMISYNC_VARS / SEMISYNC_STATUS: Variable_name / Value rows. Old
 *   (master/slave) and new (source/replica) names are both recognised;
 *   missing variables leave false / -1.
 *
 * DUMP_HOSTS: Host and Command columns (SHOW PROCESSLIST; only Command "Binlog Dump*" rows count);
 *   the port is removed, rows with an empty/NULL host or a control character
 *   are skipped, at most TOPO_MAX_DUMP_HOSTS are kept; sets have_dump_hosts.
 * RECEIVE (MySQL): the row whose CHANNEL_NAME is empty; none → replica
 *   received_heartbeats -1, rx_extra 0. Required COUNT_RECEIVED_HEARTBEATS
 *   → received_heartbeats; LAST_HEARTBEAT_TIMESTAMP, LAST_QUEUED_TRANSACTION
 *   and LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP hashed into rx_extra;
 *   HEARTBEAT_INTERVAL (seconds) → heartbeat_period_ms. Must come after
 *   REPLICA_STATUS (which resets these fields).
 *
 * LAG: sets has_lag_query; lag_query_s = first column of first row as a
 *   number of seconds; no row, no column or NULL → -1.
 */
int dialect_apply(topo_flavor f, dialect_query_kind kind, const dialect_result *res,
                  topo_snapshot *snap, char *err, size_t errlen);

/*
 * Option text of CHANGE MASTER TO / CHANGE REPLICATION SOURCE TO, without the
 * channel clause: recovery sends dialect_stmt_change_source(), which adds the
 * TLS clauses and FOR CHANNEL '' on MySQL. Every other statement recovery
 * sends comes from dialect_stmt_text() below.
 */

/*
 * Sent once on every new executor and probe session: removes
 * NO_BACKSLASH_ESCAPES from the session's sql_mode (whatever the server's
 * global sql_mode says) and keeps the rest, so that the string literals the
 * builders below escape (a password containing a backslash) read back as written.
 * Same text on MariaDB and MySQL.
 */
#define DIALECT_SQL_SESSION_MODE                                                                      \
    "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), "        \
    "',NO_BACKSLASH_ESCAPES,', ','))"

/*
 * Point a replica at a new source, using GTID auto-positioning:
 *   MariaDB:  CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=p, MASTER_USER='u',
 *             MASTER_PASSWORD='pw', MASTER_USE_GTID=slave_pos,
 *             MASTER_CONNECT_RETRY=n, MASTER_HEARTBEAT_PERIOD=s.sss
 *   MySQL 8.0.23+: CHANGE REPLICATION SOURCE TO SOURCE_HOST=..., SOURCE_PORT=...,
 *             SOURCE_USER=..., SOURCE_PASSWORD=..., SOURCE_AUTO_POSITION=1,
 *             SOURCE_CONNECT_RETRY=n, SOURCE_HEARTBEAT_PERIOD=s.sss,
 *             GET_SOURCE_PUBLIC_KEY=1
 *   MySQL < 8.0.23: CHANGE MASTER TO MASTER_HOST=..., ..., MASTER_AUTO_POSITION=1,
 *             MASTER_CONNECT_RETRY=n, MASTER_HEARTBEAT_PERIOD=s.sss,
 *             GET_MASTER_PUBLIC_KEY=1
 * user / password NULL: the clause is left out (the server keeps its value).
 * connect_retry_s <= 0 or heartbeat_s < 0: that clause is left out;
 * heartbeat_s == 0 disables heartbeats. Heartbeat is printed with
 * millisecond precision and must be <= 4294967 s.
 *
 * String literals: ' is doubled, \ is written \\ and newline / CR / ^Z as
 * \n / \r / \Z, which is right for the default sql_mode. A session with
 * NO_BACKSLASH_ESCAPES would read a password containing \ wrongly: run these
 * statements with that mode off. Host and user must not contain a newline,
 * CR, backslash or control character; the host must not be empty and must be
 * shorter than TOPO_HOST_MAX; port 1..65535.
 */
int dialect_sql_change_source(topo_flavor f, int major, int minor, int patch, const char *host,
                              int port, const char *user, const char *password,
                              int connect_retry_s, double heartbeat_s, char *buf, size_t len,
                              char *err, size_t errlen);

/*
 * TLS options of a replication channel (issue 11 item 2). Paths are files on
 * the replica server, not on the controller. ssl / verify_server_cert: -1 =
 * leave the server's value, 0 / 1 = set it. NULL strings are left out.
 */
typedef struct {
    int ssl;
    const char *ca, *cert, *key;
    int verify_server_cert;
} dialect_repl_ssl;

/*
 * The TLS clauses to append to dialect_sql_change_source()'s statement (each
 * starts with ", "; "" when nothing is set), in the same syntax:
 *   MariaDB (KB "CHANGE MASTER TO", TLS options):
 *     , MASTER_SSL=1, MASTER_SSL_CA='f', MASTER_SSL_CERT='f', MASTER_SSL_KEY='f',
 *       MASTER_SSL_VERIFY_SERVER_CERT=1
 *   MySQL 8.0.23+ and 8.4 (Reference Manual, "CHANGE REPLICATION SOURCE TO Statement"):
 *     , SOURCE_SSL=1, SOURCE_SSL_CA='f', SOURCE_SSL_CERT='f', SOURCE_SSL_KEY='f',
 *       SOURCE_SSL_VERIFY_SERVER_CERT=1
 *   MySQL < 8.0.23 (8.0 Reference Manual, "CHANGE MASTER TO Statement"): the MASTER_ form.
 * Paths are quoted like passwords and must not contain control characters.
 * Returns 0, -EINVAL (bad flavor or path) or -ENOSPC, with err set.
 */
int dialect_sql_source_ssl(topo_flavor f, int major, int minor, int patch, const dialect_repl_ssl *ssl,
                           char *buf, size_t len, char *err, size_t errlen);

/*
 * Wait until a GTID position is applied, bounded:
 *   MariaDB: SELECT MASTER_GTID_WAIT('pos', t)   → 0 reached, -1 timeout
 *   MySQL:   SELECT WAIT_FOR_EXECUTED_GTID_SET('set', t) → 0 reached, 1 timeout
 * timeout_s is printed with millisecond precision and must be >= 0.001 and
 * <= 31536000: MySQL reads a timeout of 0 as "wait forever", so none is ever
 * sent. The GTID text may hold only letters, digits, '_', ':', ',', '-' and
 * white space (each white space character is written as a space); anything
 * else is refused, so it needs no escaping.
 * The statement is built on the heap, as long as the position needs (*out,
 * the caller frees): a position is never cut. -EINVAL (bad input), -ENOMEM.
 */
int dialect_sql_wait_gtid(topo_flavor f, const char *gtid, double timeout_s, char **out, char *err,
                          size_t errlen);

/*
 * Capabilities of one server, computed once from its flavor, version and the
 * semi-sync spelling its probe saw (modelled on MaxScale mariadbmon's
 * Capabilities). Every flavor or version decision is made here; callers test
 * these booleans and ask the builders below for the statement text.
 *
 *                       MariaDB 10.4   10.5+    MySQL 8.0.0-21  8.0.22  8.0.23+ / 8.4
 *   replica_verbs       no             yes      no              yes     yes
 *   show_replica        no             10.5.1+  no              yes     yes
 *   source_syntax       no             no       no              no      yes
 *   channel_clause      no             no       yes             yes     yes
 *   super_read_only     no             no       yes             yes     yes
 *   gtid                MARIADB        MARIADB  MYSQL           MYSQL   MYSQL
 *   semisync_*_new      no             no       spelling seen, else 8.0.26+ (MySQL)
 */
typedef struct {
    topo_flavor flavor;
    int major, minor, patch;
    bool known;                /* flavor known: statements can be built */
    bool replica_verbs;        /* STOP/START REPLICA, RESET REPLICA ALL (MariaDB 10.5, MySQL 8.0.22) */
    bool show_replica;         /* SHOW REPLICA STATUS (MariaDB 10.5.1, MySQL 8.0.22) */
    bool source_syntax;        /* CHANGE REPLICATION SOURCE TO, SOURCE_* options (MySQL 8.0.23) */
    bool channel_clause;       /* MySQL: name the default channel with FOR CHANNEL '' */
    bool super_read_only;      /* MySQL: fence with super_read_only (blocks SUPER users too) */
    bool public_key_option;    /* MySQL: GET_SOURCE_PUBLIC_KEY / GET_MASTER_PUBLIC_KEY=1 */
    bool mariadb_gtid;         /* MariaDB GTID: MASTER_USE_GTID, gtid_binlog_pos / gtid_slave_pos */
    gtid_kind gtid;            /* how its GTID text parses */
    bool semisync_source_new;  /* rpl_semi_sync_source_* rather than rpl_semi_sync_master_* */
    bool semisync_replica_new; /* rpl_semi_sync_replica_* rather than rpl_semi_sync_slave_* */
    bool semisync_spelling_varies; /* MySQL: which plugin is loaded decides the names (ask the server) */
    bool log_replica_updates_name; /* the variable is log_replica_updates (MySQL 8.0.26+), else log_slave_updates */
    bool semisync_off_before_stop; /* MariaDB: turn the replica side off before STOP SLAVE on a
                                    * detached candidate (it would try to reach the dead primary) */
    bool io_stop_reaches_source; /* MariaDB: stopping a semi-sync replica's IO thread first connects to
                                  * its source to kill the dump thread there, which waits
                                  * rpl_semi_sync_slave_kill_conn_timeout on a hung source; an IO thread
                                  * ended by KILL skips it (DIALECT_STMT_IO_THREAD_IDS) */
} dialect_caps;

/*
 * Fill c for a server of flavor f and version major.minor.patch whose probe
 * saw the given semi-sync spellings (TOPO_SEMISYNC_NAMES_NONE: the plugin was
 * not seen; MySQL then uses the names of the plugin its version ships by
 * default, new from 8.0.26). TOPO_FLAVOR_UNKNOWN gives known = false and no
 * statement can be built until the flavor is learned (dialect_detect on the
 * server's version after connecting).
 */
void dialect_caps_init(dialect_caps *c, topo_flavor f, int major, int minor, int patch,
                       topo_semisync_names source_names, topo_semisync_names replica_names);

/* The capabilities of a probed server (its snapshot's flavor, version and semi-sync spelling). */
void dialect_caps_of(const topo_snapshot *s, dialect_caps *c);

/* GTID text kind of a flavor (MySQL → GTID_KIND_MYSQL, else MariaDB). */
gtid_kind dialect_gtid_kind(topo_flavor f);

/*
 * A snapshot's own position: what its binary log holds (MySQL gtid_executed,
 * MariaDB gtid_binlog_pos), and what it applied (MySQL gtid_executed,
 * MariaDB gtid_slave_pos, else gtid_current_pos). May be NULL.
 */
const char *dialect_snap_own_gtid(const topo_snapshot *s);
const char *dialect_snap_applied_gtid(const topo_snapshot *s);

/* Statements without arguments, each as the server's capabilities need it. */
typedef enum {
    DIALECT_STMT_STOP_REPLICA,      /* STOP SLAVE / STOP REPLICA [FOR CHANNEL ''] */
    DIALECT_STMT_STOP_IO,           /* STOP ... IO_THREAD [FOR CHANNEL ''] */
    DIALECT_STMT_START_REPLICA,     /* START SLAVE / START REPLICA [FOR CHANNEL ''] */
    DIALECT_STMT_START_IO,          /* START ... IO_THREAD [FOR CHANNEL ''] */
    DIALECT_STMT_START_SQL,         /* START ... SQL_THREAD [FOR CHANNEL ''] */
    DIALECT_STMT_RESET_REPLICA_ALL, /* RESET SLAVE ALL / RESET REPLICA ALL [FOR CHANNEL ''] */
    DIALECT_STMT_REPLICA_STATUS,    /* SHOW SLAVE STATUS / SHOW REPLICA STATUS */
    DIALECT_STMT_READ_ONLY_ON,      /* SET GLOBAL read_only=1 / super_read_only=1 */
    DIALECT_STMT_READ_ONLY_OFF,     /* SET GLOBAL read_only=0 */
    DIALECT_STMT_SEMISYNC_SOURCE_ON,   /* SET GLOBAL rpl_semi_sync_{master,source}_enabled=ON */
    DIALECT_STMT_SEMISYNC_SOURCE_OFF,
    DIALECT_STMT_SEMISYNC_REPLICA_ON,  /* SET GLOBAL rpl_semi_sync_{slave,replica}_enabled=ON */
    DIALECT_STMT_SEMISYNC_REPLICA_OFF,
    DIALECT_STMT_SEMISYNC_SOURCE_ENABLED, /* SELECT @@GLOBAL.rpl_semi_sync_{master,source}_enabled */
    DIALECT_STMT_OWN_GTID,          /* SELECT @@GLOBAL.gtid_executed / gtid_binlog_pos */
    DIALECT_STMT_APPLIED_GTID,      /* SELECT @@GLOBAL.gtid_executed / gtid_slave_pos */
    DIALECT_STMT_SLAVE_POS_FROM_BINLOG, /* MariaDB only: SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos */
    DIALECT_STMT_IO_THREAD_IDS,     /* io_stop_reaches_source only: the replication IO threads' ids
                                     * (SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO') */
    DIALECT_STMT_SESSIONS,          /* SELECT ID, USER, COMMAND, STATE FROM information_schema.PROCESSLIST ... */
    DIALECT_STMT_VERSION,           /* SELECT @@version (learn an unknown server's flavor) */
    DIALECT_STMT_SEMISYNC_VARIABLES, /* SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%' (learn its spelling) */
} dialect_stmt;

/*
 * The text of statement k for a server with capabilities c into buf (no
 * trailing ';'). VERSION and SEMISYNC_VARIABLES need no known flavor (c may
 * be NULL). Returns 0; -EINVAL unknown flavor (buf is then ""), -ENOTSUP
 * the statement does not exist on that server (SLAVE_POS_FROM_BINLOG on
 * MySQL) or is not needed there (IO_THREAD_IDS without io_stop_reaches_source),
 * -ENOSPC buf too small (buf ""). buf is always terminated.
 */
int dialect_stmt_text(const dialect_caps *c, dialect_stmt k, char *buf, size_t len);

/* KILL CONNECTION id (MariaDB KB "KILL"; MySQL 8.0/8.4 15.7.8.4 "KILL Statement"). */
int dialect_stmt_kill(const dialect_caps *c, unsigned long long id, char *buf, size_t len);

/*
 * SET SESSION lock_wait_timeout=N, N = seconds rounded up, at least 1: bounds
 * how long SET GLOBAL read_only waits for sessions holding table locks.
 */
int dialect_stmt_lock_wait_timeout(const dialect_caps *c, long long ms, char *buf, size_t len);

/*
 * Whole CHANGE MASTER TO / CHANGE REPLICATION SOURCE TO statement on the heap
 * (*out, caller frees and should wipe: it holds the password): the options of
 * dialect_sql_change_source(), then dialect_sql_source_ssl()'s TLS clauses,
 * then FOR CHANNEL '' on MySQL. ssl may be NULL. 0, -EINVAL, -ENOMEM.
 */
int dialect_stmt_change_source(const dialect_caps *c, const char *host, int port, const char *user,
                               const char *password, int connect_retry_s, double heartbeat_s,
                               const dialect_repl_ssl *ssl, char **out, char *err, size_t errlen);

/*
 * Is a PROCESSLIST STATE that of a commit waiting for a semi-sync acknowledgement? Such a
 * commit answers its client OK as soon as the wait ends (an acknowledgement, the timeout,
 * the source side turned off, KILL QUERY); only KILL CONNECTION ends it without the OK.
 */
bool dialect_session_awaits_ack(const char *state);

/*
 * Is a PROCESSLIST row (user, command) a client session to end when fencing?
 * Not: replication threads (MariaDB "Slave_*", MySQL "Connect"/"Query" of
 * "system user"), binlog dump threads, the event scheduler, daemons, rows
 * already killed, and the controller's own user.
 */
bool dialect_session_is_client(const dialect_caps *c, const char *user, const char *command,
                               const char *own_user);

#endif
