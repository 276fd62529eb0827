/*
 * orchestrator/config.h — the daemon's configuration: loading, validation,
 * and the resolved, in-memory form.
 *
 * Owns: cfg_config (global [myorch] settings) and cfg_cluster (one
 * [cluster.NAME] section each), the INI file format, every default, every
 * range check, and the reading of secret (password) files. The rest of the
 * daemon only sees a fully validated, fully resolved configuration: defaults
 * are filled in, per-cluster overrides are resolved, secrets are in memory.
 *
 * File format (INI, parsed with libinih; keys are case-sensitive):
 *
 *   [myorch]
 *   state_dir = /var/lib/myorch       ; absolute path (default /var/lib/myorch)
 *   poll_interval_ms = 500            ; 50..600000
 *   log_level = info                  ; error|warn|info|debug
 *   connect_timeout_ms = 1000         ; 10..60000
 *   read_timeout_ms = 2000            ; 10..600000
 *   forget_after_s = 3600             ; 1..31536000
 *   control_socket = ipc://...        ; default ipc://<state_dir>/control.sock
 *   event_socket = ipc://...          ; default ipc://<state_dir>/events.sock
 *
 *   [cluster.NAME]                    ; NAME = [A-Za-z0-9_-]{1,40}
 *   seeds = host:port, [::1]:3306     ; required; default port 3306
 *   user = myorch                     ; required
 *   password_file = NAME.pass         ; or password = ...; exactly one required
 *   replication_user = repl           ; default: user
 *   replication_password_file = ...   ; or replication_password = ...;
 *                                     ; default: the user's password
 *   poll_interval_ms = 1000           ; default: the [myorch] value
 *   lag_query = SELECT ...            ; optional; seconds in the first column
 *   auto_failover = yes               ; yes|no (no: detect and report, never act)
 *   failover_block_s = 600            ; 0..86400: no automatic recovery this long after one
 *   failover_quorum = majority        ; majority|none: fail over only from a side that holds a
 *                                     ; majority of the servers and controllers (quorum.h)
 *   apply_timeout_ms = 10000          ; 100..3600000: relay-log apply bound during failover
 *   heartbeat_period_ms = 250         ; 50..60000: MASTER_/SOURCE_HEARTBEAT_PERIOD set when repointing
 *   stall_periods = 3                 ; 0..100: a replica that received nothing for more than this many
 *                                     ; heartbeat periods has lost its primary (0: rule off; issue 18)
 *   never_promote = host:port, ...    ; replicas never promoted
 *   prefer = host:port, ...           ; preferred among equally advanced replicas
 *   switchover_max_lag_s = 10         ; 0..86400: a switchover target may lag at most this
 *   switchover_max_trx_s = 10         ; 0..86400: longest write transaction a switchover waits out
 *   sla_target = 99.95                ; availability target in percent, 0 < x < 100
 *   hook_timeout_ms = 10000           ; 100..3600000: each hook command's bound
 *   read_pool_max_lag_s = 10          ; replicas lagging more leave read pools
 *   on_failure_detected = CMD         ; hook points: one command per line; the key may be
 *   pre_failover = CMD                ; repeated to run several commands, in file order
 *   post_failover, post_failover_failed, pre_switchover, post_switchover,
 *   on_topology_change = CMD          ; (see hooks/README.md for the command syntax)
 *
 * Rules and limits (each violation refuses the whole file with one message
 * "FILE:LINE: what is wrong ...: how to fix it"):
 *   - A line may hold at most CFG_MAX_LINE_LEN bytes (excluding the line
 *     terminator; libinih would otherwise split it silently). Long lag_query
 *     statements must be shortened (e.g. wrap them in a view or a function).
 *   - Continuation lines (an indented line after a key) are refused; so are
 *     duplicate keys, duplicate sections, unknown keys and sections, keys
 *     outside any section and empty values.
 *   - Values are taken literally (quotes are kept). " ;" starts an inline
 *     comment, so a secret containing " ;" must go into a password file.
 *   - Relative password files resolve against the config file's directory.
 *     Secret files must be regular, non-empty and not accessible to other
 *     users (no S_IROTH/S_IWOTH); trailing newlines (\n, \r\n) are stripped.
 *   - Inline secrets (password =, replication_password =) are refused when
 *     the config file itself is accessible to other users.
 *   - The same seed may not appear twice, in one cluster or across clusters.
 *   - The config file must be a regular file of at most CFG_FILE_MAX bytes.
 *   - ipc:// endpoints need an absolute path of at most 107 bytes; the
 *     control and event endpoints must differ. tcp://host:port is accepted
 *     as is (securing it is the control module's business).
 */
#ifndef MYORCH_ORCHESTRATOR_CONFIG_H
#define MYORCH_ORCHESTRATOR_CONFIG_H

#include <stddef.h>

#include "topology/instance.h"

#define CFG_LOG_ERROR 0
#define CFG_LOG_WARN 1
#define CFG_LOG_INFO 2
#define CFG_LOG_DEBUG 3

#define CFG_CLUSTER_NAME_MAX 40     /* characters in NAME of [cluster.NAME] */
#define CFG_MAX_LINE_LEN 198        /* bytes per config line, terminator excluded */
#define CFG_SECRET_MAX 65536        /* bytes in a secret file */
#define CFG_FILE_MAX (4 * 1024 * 1024) /* bytes in the config file */
#define CFG_IPC_PATH_MAX 107        /* bytes in an ipc:// endpoint's path */
#define CFG_DEFAULT_PORT 3306
#define CFG_DEFAULT_STATE_DIR "/var/lib/myorch"

/* One [cluster.NAME] section, fully resolved. */
typedef struct {
    char name[48];
    topo_addr *seeds; size_t n_seeds;
    char user[128];
    char *password;                /* heap, the secret itself (file content with trailing newline(s) stripped) */
    char replication_user[128];
    char *replication_password;    /* heap */
    int poll_interval_ms;          /* resolved: the cluster's or the global value */
    char *lag_query;               /* heap or NULL */
    int line;                      /* line of the section header, for messages */
    /* Failover (see README "Automatic failover"). */
    int auto_failover;             /* 1 (default): recover automatically; 0: detect and report only */
    int failover_block_s;          /* no automatic recovery this long after one (default 600) */
    int failover_quorum;           /* CFG_QUORUM_MAJORITY (default) or CFG_QUORUM_NONE (orchestrator/quorum.h) */
    int apply_timeout_ms;          /* bound for the candidate to apply its relay log (default 10000) */
    int heartbeat_period_ms;       /* heartbeat period set on repointed replicas (default 250) */
    int stall_periods;             /* hung-primary rule: silence > stall_periods x period (default 3; 0 off) */
    topo_addr *never_promote; size_t n_never_promote;
    topo_addr *prefer; size_t n_prefer;
    /* Switchover and reporting. */
    int switchover_max_lag_s;      /* refuse a target lagging more (default 10) */
    int switchover_max_trx_s;      /* refuse while a write transaction runs longer (default 10) */
    double sla_target;             /* availability target in percent (default 99.95) */
    /* Hook points: each a list of commands (see hooks/README.md). */
    char **hooks[7]; size_t n_hooks[7];
    int hook_timeout_ms;           /* default 10000 */
    double read_pool_max_lag_s;    /* lag bound for on_topology_change / read pools (default 10) */
} cfg_cluster;

/* cfg_cluster.failover_quorum. */
enum { CFG_QUORUM_MAJORITY = 0, CFG_QUORUM_NONE = 1 };

/* Hook points, indexes into cfg_cluster.hooks. */
enum {
    CFG_HOOK_ON_FAILURE_DETECTED = 0,
    CFG_HOOK_PRE_FAILOVER,
    CFG_HOOK_POST_FAILOVER,
    CFG_HOOK_POST_FAILOVER_FAILED,
    CFG_HOOK_PRE_SWITCHOVER,
    CFG_HOOK_POST_SWITCHOVER,
    CFG_HOOK_ON_TOPOLOGY_CHANGE,
    CFG_N_HOOKS
};
extern const char *const cfg_hook_names[CFG_N_HOOKS];

/* The whole configuration. Zero-initialise before cfg_load(); release with cfg_free(). */
typedef struct {
    char path[4096];               /* the config file (made absolute at load time) */
    char state_dir[4096];
    int poll_interval_ms, connect_timeout_ms, read_timeout_ms, forget_after_s;
    int log_level;                 /* CFG_LOG_ERROR=0, CFG_LOG_WARN=1, CFG_LOG_INFO=2, CFG_LOG_DEBUG=3 */
    char control_socket[4200], event_socket[4200];
    cfg_cluster *clusters; size_t n_clusters;
} cfg_config;

/*
 * Load and validate the configuration file at path into *out (which is
 * overwritten; it need not be initialised). Reads every secret file.
 *
 * Returns 0 on success. On failure *out is left empty (safe to cfg_free()),
 * one message "FILE:LINE: problem: fix" is written to err, and the result is
 * -EINVAL for any problem in the configuration or its secret files,
 * -errno when the config file cannot be opened or read, or -ENOMEM.
 */
int cfg_load(const char *path, cfg_config *out, char *err, size_t errlen);

/*
 * Release everything cfg_load() allocated. Secrets are wiped with
 * explicit_bzero() before their memory is freed. Leaves *c zeroed.
 * Safe on a zeroed or already freed config and on NULL.
 */
void cfg_free(cfg_config *c);

/*
 * The cluster called name (exact match), or NULL if there is none.
 */
const cfg_cluster *cfg_find_cluster(const cfg_config *c, const char *name);

/*
 * "error", "warn", "info" or "debug" for CFG_LOG_*; "?" for anything else.
 */
const char *cfg_log_level_name(int level);

/*
 * Parse a log level name (case-insensitive: error, warn, info, debug) into
 * *out. Returns 0, or -EINVAL (leaving *out untouched).
 */
int cfg_log_level_parse(const char *text, int *out);

/*
 * Read a password file: refuses unreadable, empty, and world-readable (mode & S_IROTH/S_IWOTH) files.
 * Also refuses anything but a regular file, files over CFG_SECRET_MAX bytes
 * and files containing a NUL byte. Trailing "\n" / "\r\n" sequences are
 * stripped. On success *out is a heap string the caller wipes and frees;
 * returns 0. On failure *out is NULL, err starts with the quoted path (e.g.
 * "'/x': cannot read: No such file or directory", "'/x' is readable by other
 * users (mode 0644): run chmod 600 /x") and the result is -errno for open or
 * read failures, -EPERM for an insecure mode, -EINVAL for an empty file, a
 * non-regular file or a NUL byte, -EFBIG when too large, or -ENOMEM.
 */
int cfg_read_secret_file(const char *path, char **out, char *err, size_t errlen);

#endif
