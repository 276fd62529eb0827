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
 *   probe_detail_every = 5            ; 1..1000: who replicates from a server (SHOW PROCESSLIST's
 *                                     ; Binlog Dump sessions, SHOW REPLICAS) is read on every Nth
 *                                     ; probe of it, and on a connection's first; 1: every probe
 *   log_level = info                  ; error|warn|info|debug
 *   log_format = text                 ; text|json
 *   log_file = /var/log/myorch/myorch.log  ; absolute; default: stderr (the journal
 *                                     ; under systemd); reopened on SIGUSR1
 *   connect_timeout_ms = 1000         ; 10..60000
 *   read_timeout_ms = 2000            ; 10..600000
 *   forget_after_s = 3600             ; 1..31536000
 *   control_socket = ipc://...        ; default ipc://<state_dir>/control.sock
 *   event_socket = ipc://...          ; default ipc://<state_dir>/events.sock
 *   control_secret_key_file = FILE    ; the daemon's CURVE secret key (myorch keygen), 0600;
 *                                     ; required when an endpoint is tcp://
 *   control_operator_keys = F|DIR,... ; client public keys (*.pub) allowed every command
 *   control_readonly_keys = F|DIR,... ; client public keys allowed read-only commands
 *   control_client_key_file = FILE    ; the CLI's own secret key for a tcp:// endpoint
 *   max_instances_per_cluster = 500   ; 1..100000: discovery adds nothing past it
 *   events_keep_days = 30             ; 1..36500: older events are pruned from state.db
 *   events_keep_max = 100000          ; 1000..100000000: at most this many events kept
 *   shutdown_timeout_ms = 30000       ; 100..3600000: on SIGTERM a running recovery stops after its
 *                                     ; current step; past this bound the controller exits anyway
 *   allow_core_dumps = no             ; yes: let the daemon dump core (holds secrets)
 *   http_listen = 127.0.0.1:9180      ; HTTP API and /metrics (off by default); numeric address
 *   http_tls_cert = FILE              ; PEM certificate: HTTPS (required unless loopback)
 *   http_tls_key = FILE               ; its private key (no group/other access)
 *   http_token_file = FILE            ; bearer token for mutating calls (0600, >= 16 chars);
 *                                     ; without it the mutating routes answer 403
 *   coordination = none               ; none|etcd: several controllers coordinated through etcd
 *   etcd_endpoints = http://h:2379,.. ; required with coordination = etcd (http:// or https://)
 *   etcd_prefix = /myorch             ; key prefix: [A-Za-z0-9_./-], starts with '/'
 *   controller_name = NAME            ; default: the host name; [A-Za-z0-9_.-]{1,63}
 *   etcd_lease_ttl_ms = 5000          ; 2000..600000: the controller's lease
 *   etcd_cacert, etcd_cert, etcd_key  ; TLS to etcd (cert and key together; key not group/other-readable)
 *   etcd_user, etcd_password_file     ; etcd authentication (together; the file 0600)
 *   detection_quorum = majority       ; majority|N: live controllers that must see a primary dead
 *   etcd_voter_forget_s = 86400       ; 60..31536000: a controller not seen live this long no
 *                                     ; longer votes in the majority rule
 *
 *   [cluster.NAME]                    ; NAME = [A-Za-z0-9_-]{1,40}
 *   seeds = host:port, [::1]:3306     ; required; default port 3306
 *   user = myorch                     ; required
 *   password_file = NAME.pass         ; or password = ...; exactly one required
 *   replication_user = repl           ; default: user
 *   replication_password_file = ...   ; or replication_password = ...;
 *                                     ; default: the user's password
 *   poll_interval_ms = 1000           ; default: the [myorch] value
 *   probe_detail_every = 5            ; default: the [myorch] value
 *   lag_query = SELECT ...            ; optional; seconds in the first column
 *   auto_failover = yes               ; yes|no (no: detect and report, never act)
 *   failover_block_s = 600            ; 0..86400: no automatic recovery this long after one
 *   failover_quorum = majority        ; majority|none: fail over only from a side that holds a
 *                                     ; majority of the servers and controllers (quorum.h)
 *   apply_timeout_ms = 10000          ; 100..3600000: relay-log apply bound during failover
 *   heartbeat_period_ms = 100         ; 50..60000: MASTER_/SOURCE_HEARTBEAT_PERIOD set when repointing
 *   stall_periods = 5                 ; 0..100: a replica that received nothing for more than this many
 *                                     ; heartbeat periods has lost its primary (0: rule off; issue 18)
 *   never_promote = host:port, ...    ; replicas never promoted
 *   prefer = host:port, ...           ; preferred among equally advanced replicas
 *   switchover_max_lag_s = 10         ; 0..86400: a switchover target may lag at most this
 *   switchover_max_trx_s = 10         ; 0..86400: longest write transaction a switchover waits out
 *   sla_target = 99.95                ; availability target in percent, 0 < x < 100
 *   sla_counts_planned = yes          ; yes|no: planned write blocks (switchovers) count against
 *                                     ; the SLA (never as failures: MTBF/MTTR are unplanned only)
 *   hook_timeout_ms = 10000           ; 100..3600000: each hook command's bound
 *   read_pool_max_lag_s = 10          ; replicas lagging more leave read pools
 *   ready_max_lag_s = 10              ; 0..86400: failover readiness needs the candidate's
 *                                     ; apply lag at most this (orchestrator/decide/readiness.h)
 *   ready_require_semi_sync = no      ; yes: not ready unless semi-sync is on (primary and candidate)
 *   on_failure_detected = CMD         ; hook points: one command per line; the key may be
 *   pre_failover = CMD                ; repeated to run several commands, in file order
 *   post_failover, post_failover_failed, pre_switchover, post_switchover,
 *   on_topology_change = CMD          ; (see hooks/README.md for the command syntax)
 *   ssl_mode = preferred              ; disabled|preferred|required|verify_ca|verify_identity
 *   ssl_ca = /etc/myorch/ca.pem       ; CA of the servers' certificates (verify_* modes)
 *   ssl_cert = FILE, ssl_key = FILE   ; client certificate and key (key not accessible to others)
 *   server_public_key_file = FILE     ; pinned RSA key for caching_sha2_password without TLS
 *   replication_ssl = yes             ; MASTER_SSL / SOURCE_SSL of repointed replicas
 *   replication_ssl_ca = PATH, replication_ssl_cert = PATH, replication_ssl_key = PATH
 *                                     ; files on the database servers (not checked here)
 *   replication_ssl_verify_server_cert = yes
 *   discover_allow = 10.0.0.0/8, db*.example.com
 *                                     ; hosts a replica list may name that get the
 *                                     ; credentials (besides the seeds' hosts); repeatable
 *   discover_confirm = yes            ; yes: such a host also needs a Binlog Dump
 *                                     ; connection from its address on the listing server
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
 *   - Inline secrets (password =, replication_password =) are refused unless
 *     the config file is 0600 (no group or other permission bits).
 *   - ssl_ca, ssl_cert, ssl_key and server_public_key_file must be readable,
 *     non-empty regular files; ssl_key must not be accessible to group or
 *     others. The combination must pass conn_params_problem() (topology/probe/conn.h):
 *     verify_* needs ssl_ca, ssl_ca needs verify_*, cert and key go together,
 *     a pinned key is refused with ssl_mode preferred/required.
 *   - The same seed may not appear twice, in one cluster or across clusters.
 *   - The config file must be a regular file of at most CFG_FILE_MAX bytes.
 *   - ipc:// endpoints need an absolute, normalised path of at most 107
 *     bytes; the control and event endpoints must differ. An ipc path may
 *     not name an existing file that is not a socket (binding replaces it),
 *     nor anything inside state_dir but the defaults control.sock and
 *     events.sock (the state database lives there).
 *   - A tcp://host:port endpoint needs CURVE: control_secret_key_file and at
 *     least one client key in control_operator_keys/control_readonly_keys.
 *     Key files are read at load (secret ones must be 0600, public ones and
 *     their directories not writable by group/others); a key may appear
 *     only once.
 *   - http_listen must be a numeric address; a non-loopback one needs
 *     http_tls_cert and http_tls_key (which go together); http_tls_* and
 *     http_token_file need http_listen. The token file must be 0600 and hold
 *     one line of at least CFG_HTTP_TOKEN_MIN printable characters, no spaces.
 */
#ifndef MYORCH_ORCHESTRATOR_CONFIG_H
#define MYORCH_ORCHESTRATOR_CONFIG_H

#include <stddef.h>

#include "orchestrator/decide/events.h"
#include "topology/probe/conn.h"
#include "topology/dialect.h"
#include "topology/instance.h"
#include "topology/trust.h"

#define CFG_LOG_ERROR 0
#define CFG_LOG_WARN 1
#define CFG_LOG_INFO 2
#define CFG_LOG_DEBUG 3

#define CFG_LOG_FORMAT_TEXT 0       /* = LOG_FORMAT_TEXT of orchestrator/log.h */
#define CFG_LOG_FORMAT_JSON 1

#define CFG_CLUSTER_NAME_MAX 40     /* characters in NAME of [cluster.NAME] */
#define CFG_MAX_LINE_LEN 198        /* bytes per config line, terminator excluded */
#define CFG_SECRET_MAX 65536        /* bytes in a secret file */
#define CFG_FILE_MAX (4 * 1024 * 1024) /* bytes in the config file */
#define CFG_IPC_PATH_MAX 107        /* bytes in an ipc:// endpoint's path */
#define CFG_DEFAULT_PORT 3306
#define CFG_DEFAULT_STATE_DIR "/var/lib/myorch"
#define CFG_KEY_TEXT_LEN 40         /* a CURVE key as Z85 text */
#define CFG_MAX_CONTROL_KEYS 1024   /* client public keys in the allow-lists */
#define CFG_KEY_NAME_MAX 63         /* characters in a client key's name */
#define CFG_HTTP_TOKEN_MIN 16       /* characters in an HTTP bearer token */

/* Roles of control-socket clients (see README "Control socket: CURVE keys and roles"). */
#define CFG_ROLE_READONLY 1         /* status, topology, events, report, recoveries */
#define CFG_ROLE_OPERATOR 2         /* everything */

/* One allowed client key of the control socket. */
typedef struct {
    char public_key[CFG_KEY_TEXT_LEN + 1]; /* Z85 */
    int role;                              /* CFG_ROLE_* */
    char name[CFG_KEY_NAME_MAX + 1];       /* its file name without ".pub", for logs */
} cfg_control_key;

/* One [cluster.NAME] section, fully resolved. */
typedef struct {
    char name[48];
    topo_addr *seeds; size_t n_seeds;
    char user[128];
    char *password;                /* heap, the secret itself (file content with trailing newline(s) stripped) */
    char replication_user[128];
    char *replication_password;    /* heap */
    int poll_interval_ms;          /* resolved: the cluster's or the global value */
    int probe_detail_every;        /* resolved: the cluster's or the global value */
    char *lag_query;               /* heap or NULL */
    int line;                      /* line of the section header, for messages */
    /* Failover (see README "Automatic failover"). */
    int auto_failover;             /* 1 (default): recover automatically; 0: detect and report only */
    int failover_block_s;          /* no automatic recovery this long after one (default 600) */
    int failover_quorum;           /* CFG_QUORUM_MAJORITY (default) or CFG_QUORUM_NONE (orchestrator/decide/quorum.h) */
    int apply_timeout_ms;          /* bound for the candidate to apply its relay log (default 10000) */
    int heartbeat_period_ms;       /* heartbeat period set on repointed replicas (default 100) */
    int stall_periods;             /* hung-primary rule: silence > stall_periods x period (default 5; 0 off) */
    topo_addr *never_promote; size_t n_never_promote;
    topo_addr *prefer; size_t n_prefer;
    /* Switchover and reporting. */
    int switchover_max_lag_s;      /* refuse a target lagging more (default 10) */
    int switchover_max_trx_s;      /* refuse while a write transaction runs longer (default 10) */
    double sla_target;             /* availability target in percent (default 99.95) */
    int sla_counts_planned;        /* 1 (default): planned write blocks count against the SLA */
    /* Hook points: each a list of commands (see hooks/README.md). */
    char **hooks[7]; size_t n_hooks[7];
    int hook_timeout_ms;           /* default 10000 */
    double read_pool_max_lag_s;    /* lag bound for on_topology_change / read pools (default 10) */
    double ready_max_lag_s;        /* failover readiness: the candidate's apply lag bound (default 10) */
    int ready_require_semi_sync;   /* failover readiness: semi-sync must be on (default 0) */
    /* Connections to the servers (topology/probe/conn.h). Paths are absolute, heap or NULL. */
    int ssl_mode;                  /* conn_ssl_mode, default CONN_SSL_PREFERRED */
    char *ssl_ca, *ssl_cert, *ssl_key, *server_public_key_file;
    /* TLS of repointed replication channels (paths on the database servers). */
    int replication_ssl;           /* -1 unset (the server keeps its value), 0, 1 */
    char *replication_ssl_ca, *replication_ssl_cert, *replication_ssl_key;
    int replication_ssl_verify_server_cert; /* -1 unset, 0, 1 */
    /* Discovery trust (topology/trust.h). */
    trust_list discover_allow;     /* CIDRs / host patterns; the seeds' hosts are always allowed */
    int discover_confirm;          /* 1 (default): a replica-list entry needs a Binlog Dump connection */
} cfg_cluster;

/* cfg_cluster.failover_quorum. */
enum { CFG_QUORUM_MAJORITY = 0, CFG_QUORUM_NONE = 1 };

/* The cluster's connection settings, borrowing its strings (timeouts 0). */
void cfg_cluster_conn(const cfg_cluster *cl, conn_params *out);
/* The cluster's replication TLS clauses, borrowing its strings. */
void cfg_cluster_repl_ssl(const cfg_cluster *cl, dialect_repl_ssl *out);

/* Hook points (CFG_HOOK_*, CFG_N_HOOKS): orchestrator/decide/events.h. */
extern const char *const cfg_hook_names[CFG_N_HOOKS];

enum { CFG_COORD_NONE = 0, CFG_COORD_ETCD = 1 };
#define CFG_ETCD_ENDPOINTS_MAX 1024
#define CFG_ETCD_PREFIX_MAX 128
#define CFG_CONTROLLER_NAME_MAX 64

/* The whole configuration. Zero-initialise before cfg_load(); release with cfg_free(). */
typedef struct {
    char path[4096];               /* the config file (made absolute at load time) */
    char state_dir[4096];
    int poll_interval_ms, connect_timeout_ms, read_timeout_ms, forget_after_s;
    int probe_detail_every;
    int log_level;                 /* CFG_LOG_ERROR=0, CFG_LOG_WARN=1, CFG_LOG_INFO=2, CFG_LOG_DEBUG=3 */
    int log_format;                /* CFG_LOG_FORMAT_TEXT (default) or CFG_LOG_FORMAT_JSON */
    char log_file[4096];           /* absolute path, "" = stderr (the journal under systemd) */
    char control_socket[4200], event_socket[4200];
    /* CURVE for tcp:// endpoints; "" when not configured. Secrets are wiped by cfg_free(). */
    char control_secret_key[CFG_KEY_TEXT_LEN + 1];        /* the daemon's, Z85 */
    char control_public_key[CFG_KEY_TEXT_LEN + 1];        /* derived from it */
    char control_client_secret_key[CFG_KEY_TEXT_LEN + 1]; /* the CLI's (control_client_key_file) */
    char control_client_public_key[CFG_KEY_TEXT_LEN + 1]; /* derived from it */
    cfg_control_key *control_keys; size_t n_control_keys; /* allowed clients, both roles */
    int max_instances_per_cluster; /* default 500 */
    int events_keep_days;          /* events older than this are pruned (default 30) */
    int events_keep_max;           /* at most this many events are kept (default 100000) */
    int shutdown_timeout_ms;       /* SIGTERM: bound for a running recovery's current step (default 30000) */
    int allow_core_dumps;          /* 0 (default): the daemon cannot dump core (secrets in memory) */
    /* HTTP API (orchestrator/serve/http.h): http_listen[0] == 0 means off. */
    char http_listen[64];          /* as written, for messages */
    char http_host[48];            /* numeric address */
    int http_port;
    int http_ipv6, http_loopback;
    char *http_tls_cert, *http_tls_key; /* absolute paths (heap) or NULL */
    char *http_token;              /* bearer token of mutating calls (heap, wiped) or NULL: mutations off */
    /* Controller high availability (issue 14, orchestrator/ha/etcd.h, orchestrator/decide/coord.h). */
    int coordination;              /* CFG_COORD_NONE (default) or CFG_COORD_ETCD */
    char etcd_endpoints[CFG_ETCD_ENDPOINTS_MAX]; /* comma-separated http(s)://host:port, as validated */
    char etcd_prefix[CFG_ETCD_PREFIX_MAX];       /* key prefix, default "/myorch", no trailing '/' */
    char controller_name[CFG_CONTROLLER_NAME_MAX]; /* default: the host name */
    int etcd_lease_ttl_ms;         /* default 5000 */
    char *etcd_cacert, *etcd_cert, *etcd_key; /* absolute paths (heap) or NULL */
    char etcd_user[128];           /* "" = no etcd authentication */
    char *etcd_password;           /* heap, wiped; from etcd_password_file (0600) */
    int detection_quorum;          /* 0 = majority (default), N >= 1: N live controllers must agree */
    int etcd_voter_forget_s;       /* default 86400: a controller not seen live this long stops voting */
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

/*
 * Read a CURVE key file written by `myorch keygen`: one line of 40 Z85
 * characters (trailing whitespace ignored). A secret key file (secret = 1)
 * must be a regular file without any group or other permission (0600); its
 * public key is derived into public_out (may be NULL). A public key file
 * (secret = 0) must not be writable by group or others. key_out receives the
 * key text (41 bytes). Returns 0, or -errno/-EPERM/-EINVAL with err starting
 * with the quoted path and saying how to fix it.
 */
int cfg_read_key_file(const char *path, int secret, char key_out[CFG_KEY_TEXT_LEN + 1],
                      char public_out[CFG_KEY_TEXT_LEN + 1], char *err, size_t errlen);

#endif
