/*
 * orchestrator/config.c — configuration loading and validation.
 *
 * How parsing works: libinih does the key = value splitting (and its inline
 * comment rules), but the Debian build gives the handler no line numbers,
 * splits long lines, truncates section names and turns indented lines into
 * continuation values. So the file is fed to ini_parse_stream() through our
 * own reader, which sees every raw line first: it counts lines, refuses
 * over-long lines, continuation lines and malformed lines, and parses the
 * section headers itself (the handler ignores inih's section argument).
 * Lines are handed to inih left-trimmed, so inih never sees an indented line
 * and never produces a continuation value of its own.
 *
 * Keys are table-driven (keys[] below): one row per key with its section
 * kind, parser and target field. The first problem found, in file order,
 * stops the parse and becomes the one error message.
 */
#include "orchestrator/config.h"
#include "topology/strbuf.h"

#include "hooks/runner.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

enum sec_kind { SEC_NONE = 0, SEC_GLOBAL, SEC_CLUSTER };

#define KF_REQUIRED 1u        /* must be set (or another key of its group) */
#define KF_INLINE_SECRET 2u   /* a secret written in the config file itself */
#define KF_LIST 4u            /* may be repeated: each line appends to a list */
#define KF_PRIVATE 8u         /* a file holding a private key: no access for group or others */

struct parse;
struct key_def;
typedef int (*key_fn)(struct parse *p, const struct key_def *k, void *field, const char *value);

struct key_def {
    enum sec_kind sec;
    const char *name;
    key_fn parse;
    size_t offset;       /* of the field in cfg_config (SEC_GLOBAL) or cfg_cluster */
    size_t size;         /* size of a fixed char array field */
    long min, max;       /* integer range */
    int group;           /* keys sharing a nonzero group are mutually exclusive */
    unsigned flags;
    const char *example; /* a sample value, for "missing required key" hints */
};

static int parse_int(struct parse *, const struct key_def *, void *, const char *);
static int parse_dir(struct parse *, const struct key_def *, void *, const char *);
static int parse_log_level(struct parse *, const struct key_def *, void *, const char *);
static int parse_log_format(struct parse *, const struct key_def *, void *, const char *);
static int parse_abs_path(struct parse *, const struct key_def *, void *, const char *);
static int parse_endpoint(struct parse *, const struct key_def *, void *, const char *);
static int parse_seeds(struct parse *, const struct key_def *, void *, const char *);
static int parse_name(struct parse *, const struct key_def *, void *, const char *);
static int parse_heap_text(struct parse *, const struct key_def *, void *, const char *);
static int parse_secret_file(struct parse *, const struct key_def *, void *, const char *);
static int parse_bool(struct parse *, const struct key_def *, void *, const char *);
static int parse_addr_list(struct parse *, const struct key_def *, void *, const char *);
static int parse_double(struct parse *, const struct key_def *, void *, const char *);
static int parse_hook(struct parse *, const struct key_def *, void *, const char *);
static int parse_quorum(struct parse *, const struct key_def *, void *, const char *);
static int parse_key_file(struct parse *, const struct key_def *, void *, const char *);
static int parse_key_list(struct parse *, const struct key_def *, void *, const char *);
static int parse_ssl_mode(struct parse *, const struct key_def *, void *, const char *);
static int parse_file(struct parse *, const struct key_def *, void *, const char *);
static int parse_remote_path(struct parse *, const struct key_def *, void *, const char *);
static int parse_trust_list(struct parse *, const struct key_def *, void *, const char *);
static int parse_http_listen(struct parse *, const struct key_def *, void *, const char *);
static int parse_token_file(struct parse *, const struct key_def *, void *, const char *);
static int parse_coordination(struct parse *, const struct key_def *, void *, const char *);
static int parse_etcd_endpoints(struct parse *, const struct key_def *, void *, const char *);
static int parse_etcd_prefix(struct parse *, const struct key_def *, void *, const char *);
static int parse_controller_name(struct parse *, const struct key_def *, void *, const char *);
static int parse_detection_quorum(struct parse *, const struct key_def *, void *, const char *);

#define G(field) offsetof(cfg_config, field), sizeof(((cfg_config *)0)->field)
#define C(field) offsetof(cfg_cluster, field), sizeof(((cfg_cluster *)0)->field)

static const struct key_def keys[] = {
    { SEC_GLOBAL, "state_dir", parse_dir, G(state_dir), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "poll_interval_ms", parse_int, G(poll_interval_ms), 50, 600000, 0, 0, NULL },
    { SEC_GLOBAL, "probe_detail_every", parse_int, G(probe_detail_every), 1, 1000, 0, 0, NULL },
    { SEC_GLOBAL, "log_level", parse_log_level, G(log_level), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "log_format", parse_log_format, G(log_format), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "log_file", parse_abs_path, G(log_file), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "connect_timeout_ms", parse_int, G(connect_timeout_ms), 10, 60000, 0, 0, NULL },
    { SEC_GLOBAL, "read_timeout_ms", parse_int, G(read_timeout_ms), 10, 600000, 0, 0, NULL },
    { SEC_GLOBAL, "forget_after_s", parse_int, G(forget_after_s), 1, 31536000, 0, 0, NULL },
    { SEC_GLOBAL, "control_socket", parse_endpoint, G(control_socket), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "event_socket", parse_endpoint, G(event_socket), 0, 0, 0, 0, NULL },
    /* min = 1: a secret key (0600), its public key goes to the field after it. */
    { SEC_GLOBAL, "control_secret_key_file", parse_key_file, G(control_secret_key), 1, 0, 0, 0, NULL },
    { SEC_GLOBAL, "control_client_key_file", parse_key_file, G(control_client_secret_key), 1, 0, 0, 0, NULL },
    /* min = the role of the listed keys. */
    { SEC_GLOBAL, "control_operator_keys", parse_key_list, G(control_keys), CFG_ROLE_OPERATOR, 0, 0, 0, NULL },
    { SEC_GLOBAL, "control_readonly_keys", parse_key_list, G(control_keys), CFG_ROLE_READONLY, 0, 0, 0, NULL },
    { SEC_GLOBAL, "max_instances_per_cluster", parse_int, G(max_instances_per_cluster), 1, 100000, 0, 0, NULL },
    { SEC_GLOBAL, "events_keep_days", parse_int, G(events_keep_days), 1, 36500, 0, 0, NULL },
    { SEC_GLOBAL, "events_keep_max", parse_int, G(events_keep_max), 1000, 100000000, 0, 0, NULL },
    { SEC_GLOBAL, "shutdown_timeout_ms", parse_int, G(shutdown_timeout_ms), 100, 3600000, 0, 0, NULL },
    { SEC_GLOBAL, "allow_core_dumps", parse_bool, G(allow_core_dumps), 0, 0, 0, 0, NULL },
    /* HTTP API and metrics (orchestrator/serve/http.h): off unless http_listen is set. */
    { SEC_GLOBAL, "http_listen", parse_http_listen, G(http_listen), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "http_tls_cert", parse_file, G(http_tls_cert), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "http_tls_key", parse_file, G(http_tls_key), 0, 0, 0, KF_PRIVATE, NULL },
    { SEC_GLOBAL, "http_token_file", parse_token_file, G(http_token), 0, 0, 0, 0, NULL },
    /* Controller high availability on etcd (issue 14): checked together in check_etcd(). */
    { SEC_GLOBAL, "coordination", parse_coordination, G(coordination), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_endpoints", parse_etcd_endpoints, G(etcd_endpoints), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_prefix", parse_etcd_prefix, G(etcd_prefix), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "controller_name", parse_controller_name, G(controller_name), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_lease_ttl_ms", parse_int, G(etcd_lease_ttl_ms), 2000, 600000, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_cacert", parse_file, G(etcd_cacert), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_cert", parse_file, G(etcd_cert), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_key", parse_file, G(etcd_key), 0, 0, 0, KF_PRIVATE, NULL },
    { SEC_GLOBAL, "etcd_user", parse_name, G(etcd_user), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_password_file", parse_secret_file, G(etcd_password), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "detection_quorum", parse_detection_quorum, G(detection_quorum), 0, 0, 0, 0, NULL },
    { SEC_GLOBAL, "etcd_voter_forget_s", parse_int, G(etcd_voter_forget_s), 60, 31536000, 0, 0, NULL },

    { SEC_CLUSTER, "seeds", parse_seeds, C(seeds), 0, 0, 0, KF_REQUIRED, "db1:3306, db2:3306" },
    { SEC_CLUSTER, "user", parse_name, C(user), 0, 0, 0, KF_REQUIRED, "myorch" },
    { SEC_CLUSTER, "password", parse_heap_text, C(password), 0, 0, 1,
      KF_REQUIRED | KF_INLINE_SECRET, NULL },
    { SEC_CLUSTER, "password_file", parse_secret_file, C(password), 0, 0, 1, KF_REQUIRED,
      "/etc/myorch/NAME.pass" },
    { SEC_CLUSTER, "replication_user", parse_name, C(replication_user), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "replication_password", parse_heap_text, C(replication_password), 0, 0, 2,
      KF_INLINE_SECRET, NULL },
    { SEC_CLUSTER, "replication_password_file", parse_secret_file, C(replication_password), 0, 0,
      2, 0, NULL },
    { SEC_CLUSTER, "poll_interval_ms", parse_int, C(poll_interval_ms), 50, 600000, 0, 0, NULL },
    { SEC_CLUSTER, "probe_detail_every", parse_int, C(probe_detail_every), 1, 1000, 0, 0, NULL },
    { SEC_CLUSTER, "lag_query", parse_heap_text, C(lag_query), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "auto_failover", parse_bool, C(auto_failover), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "failover_block_s", parse_int, C(failover_block_s), 0, 86400, 0, 0, NULL },
    { SEC_CLUSTER, "failover_quorum", parse_quorum, C(failover_quorum), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "apply_timeout_ms", parse_int, C(apply_timeout_ms), 100, 3600000, 0, 0, NULL },
    { SEC_CLUSTER, "heartbeat_period_ms", parse_int, C(heartbeat_period_ms), 50, 60000, 0, 0, NULL },
    { SEC_CLUSTER, "stall_periods", parse_int, C(stall_periods), 0, 100, 0, 0, NULL },
    { SEC_CLUSTER, "never_promote", parse_addr_list, C(never_promote), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "prefer", parse_addr_list, C(prefer), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "switchover_max_lag_s", parse_int, C(switchover_max_lag_s), 0, 86400, 0, 0, NULL },
    { SEC_CLUSTER, "switchover_max_trx_s", parse_int, C(switchover_max_trx_s), 0, 86400, 0, 0, NULL },
    { SEC_CLUSTER, "sla_target", parse_double, C(sla_target), 0, 100, 0, 0, NULL },
    { SEC_CLUSTER, "sla_counts_planned", parse_bool, C(sla_counts_planned), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "hook_timeout_ms", parse_int, C(hook_timeout_ms), 100, 3600000, 0, 0, NULL },
    { SEC_CLUSTER, "read_pool_max_lag_s", parse_double, C(read_pool_max_lag_s), 0, 86400, 0, 0, NULL },
    { SEC_CLUSTER, "ready_max_lag_s", parse_double, C(ready_max_lag_s), 0, 86400, 0, 0, NULL },
    { SEC_CLUSTER, "ready_require_semi_sync", parse_bool, C(ready_require_semi_sync), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "discover_allow", parse_trust_list, C(discover_allow), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "discover_confirm", parse_bool, C(discover_confirm), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "on_failure_detected", parse_hook, C(hooks[CFG_HOOK_ON_FAILURE_DETECTED]), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "pre_failover", parse_hook, C(hooks[CFG_HOOK_PRE_FAILOVER]), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "post_failover", parse_hook, C(hooks[CFG_HOOK_POST_FAILOVER]), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "post_failover_failed", parse_hook, C(hooks[CFG_HOOK_POST_FAILOVER_FAILED]), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "pre_switchover", parse_hook, C(hooks[CFG_HOOK_PRE_SWITCHOVER]), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "post_switchover", parse_hook, C(hooks[CFG_HOOK_POST_SWITCHOVER]), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "on_topology_change", parse_hook, C(hooks[CFG_HOOK_ON_TOPOLOGY_CHANGE]), 0, 0, 0, KF_LIST, NULL },
    { SEC_CLUSTER, "ssl_mode", parse_ssl_mode, C(ssl_mode), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "ssl_ca", parse_file, C(ssl_ca), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "ssl_cert", parse_file, C(ssl_cert), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "ssl_key", parse_file, C(ssl_key), 0, 0, 0, KF_PRIVATE, NULL },
    { SEC_CLUSTER, "server_public_key_file", parse_file, C(server_public_key_file), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "replication_ssl", parse_bool, C(replication_ssl), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "replication_ssl_ca", parse_remote_path, C(replication_ssl_ca), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "replication_ssl_cert", parse_remote_path, C(replication_ssl_cert), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "replication_ssl_key", parse_remote_path, C(replication_ssl_key), 0, 0, 0, 0, NULL },
    { SEC_CLUSTER, "replication_ssl_verify_server_cert", parse_bool, C(replication_ssl_verify_server_cert), 0, 0,
      0, 0, NULL },
};

const char *const cfg_hook_names[CFG_N_HOOKS] = {
    "on_failure_detected", "pre_failover", "post_failover", "post_failover_failed",
    "pre_switchover", "post_switchover", "on_topology_change",
};

#undef G
#undef C

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Parse state of one cluster section that the public struct does not keep. */
struct cl_state {
    int seen[N_KEYS];    /* line each key was set on, 0 = not set */
};

struct parse {
    const char *file;          /* the path as given, for messages */
    char dir[4096];            /* absolute directory of the config file */
    mode_t mode;               /* the config file's mode */
    FILE *fp;
    char iobuf[4096];          /* stdio buffer, wiped after use */
    char *line;                /* raw line buffer (getline), wiped after use */
    size_t line_cap;
    int lineno;
    bool prev_key;             /* a key line since the last section header */

    enum sec_kind sec;         /* the current section */
    char sec_text[64];         /* its name for messages, e.g. "cluster.east" */
    size_t cl_idx;             /* current cluster (SEC_CLUSTER) */
    int global_line;           /* line of [myorch], 0 if none yet */
    int global_seen[N_KEYS];
    struct cl_state *cls;      /* parallel to out->clusters */
    size_t cap;                /* capacity of out->clusters and cls */

    cfg_config *out;
    char *err;
    size_t errlen;
    int rc;                    /* first error, 0 if none */
};

/* ---------------------------------------------------------------- helpers */

#define seterr strbuf_err /* topology/strbuf.h */

/* Record the first error as "FILE:LINE: message" (or "FILE: message" when
 * line is 0). Later errors are ignored. Returns rc. */
static int fail(struct parse *p, int line, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct parse *p, int line, int rc, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (p->rc)
        return rc;
    p->rc = rc;
    if (!p->err || !p->errlen)
        return rc;
    if (line > 0)
        n = snprintf(p->err, p->errlen, "%s:%d: ", p->file, line);
    else
        n = snprintf(p->err, p->errlen, "%s: ", p->file);
    if (n < 0 || (size_t)n >= p->errlen)
        return rc;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static int key_index(const struct key_def *k)
{
    return (int)(k - keys);
}

static const struct key_def *find_key(enum sec_kind sec, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].sec == sec && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Edit distance, for "did you mean" hints (short strings only). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[65];

    if (la > 64 || lb > 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int *seen_of(struct parse *p)
{
    return p->sec == SEC_GLOBAL ? p->global_seen : p->cls[p->cl_idx].seen;
}

static char *field_base(struct parse *p)
{
    return p->sec == SEC_GLOBAL ? (char *)p->out : (char *)&p->out->clusters[p->cl_idx];
}

/* Why an endpoint is unusable, or NULL if it is fine (why is scratch space). */
static const char *endpoint_problem(const char *ep, char *why, size_t whylen)
{
    if (strncmp(ep, "ipc://", 6) == 0) {
        const char *path = ep + 6;
        size_t n = strlen(path);
        if (path[0] != '/')
            return "an ipc:// endpoint needs an absolute path: ipc:///dir/name.sock";
        if (n > CFG_IPC_PATH_MAX) {
            snprintf(why, whylen, "the ipc path is %zu bytes long; Unix socket paths are limited to %d",
                     n, CFG_IPC_PATH_MAX);
            return why;
        }
        return NULL;
    }
    if (strncmp(ep, "tcp://", 6) == 0) {
        const char *host = ep + 6, *colon = strrchr(host, ':');
        char *end;
        long port;
        if (!colon || colon == host)
            return "expected tcp://host:port";
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 1 || port > 65535)
            return "expected tcp://host:port with a port from 1 to 65535";
        return NULL;
    }
    return "expected ipc:///path/name.sock or tcp://host:port";
}

/* ---------------------------------------------------------------- key parsers */

static int bad_value(struct parse *p, const struct key_def *k, const char *value, const char *expected)
{
    return fail(p, p->lineno, -EINVAL, "bad value '%s' for %s: expected %s", value, k->name, expected);
}

/* A keyword from two: a value that is neither is refused with what was expected. */
static int parse_one_of(struct parse *p, const struct key_def *k, void *field, const char *value, const char *name_a,
                        int val_a, const char *name_b, int val_b, const char *expected)
{
    if (strcmp(value, name_a) == 0)
        *(int *)field = val_a;
    else if (strcmp(value, name_b) == 0)
        *(int *)field = val_b;
    else
        return bad_value(p, k, value, expected);
    return 0;
}

static int parse_int(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char *end;
    long v;
    char expected[96];

    snprintf(expected, sizeof(expected), "an integer from %ld to %ld", k->min, k->max);
    errno = 0;
    v = strtol(value, &end, 10);
    if (!(isdigit((unsigned char)value[0]) || (value[0] == '-' && isdigit((unsigned char)value[1]))) ||
        *end || errno || v < k->min || v > k->max)
        return bad_value(p, k, value, expected);
    *(int *)field = (int)v;
    return 0;
}

static int parse_dir(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    size_t n = strlen(value);

    if (value[0] != '/')
        return bad_value(p, k, value, "an absolute directory path, e.g. " CFG_DEFAULT_STATE_DIR);
    while (n > 1 && value[n - 1] == '/')
        n--;
    if (n >= k->size)
        return fail(p, p->lineno, -EINVAL, "%s is %zu bytes long; the limit is %zu", k->name, n,
                    k->size - 1);
    memcpy(field, value, n);
    ((char *)field)[n] = '\0';
    return 0;
}

static int parse_log_level(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    if (cfg_log_level_parse(value, (int *)field) != 0)
        return bad_value(p, k, value, "one of error, warn, info, debug");
    return 0;
}

static int parse_log_format(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    return parse_one_of(p, k, field, value, "text", CFG_LOG_FORMAT_TEXT, "json", CFG_LOG_FORMAT_JSON,
                        "text (the default) or json (one JSON object per line)");
}

/* An absolute path to a file (not checked here: log_file is opened by `myorch run`). */
static int parse_abs_path(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    size_t n = strlen(value);
    if (value[0] != '/' || value[n - 1] == '/')
        return bad_value(p, k, value, "an absolute file path, e.g. /var/log/myorch/myorch.log");
    if (n >= k->size)
        return fail(p, p->lineno, -EINVAL, "%s is %zu bytes long; the limit is %zu", k->name, n, k->size - 1);
    memcpy(field, value, n + 1);
    return 0;
}

static int parse_endpoint(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char why[128];
    const char *problem;

    if (!str_copy_fits(field, k->size, value))
        return fail(p, p->lineno, -EINVAL, "%s is %zu bytes long; the limit is %zu", k->name,
                    strlen(value), k->size - 1);
    problem = endpoint_problem(value, why, sizeof(why));
    if (problem)
        return fail(p, p->lineno, -EINVAL, "bad value '%s' for %s: %s", value, k->name, problem);
    return 0;
}

/* Longest replication password CHANGE MASTER accepts, in characters (see finish()). */
#define CFG_REPL_PASSWORD_MAX 96

/*
 * lag_query must be one SELECT (it is sent on the probe's session every round): NULL
 * when it is, else why not. Quotes and backticks are skipped; a ';' outside them
 * (a second statement) is refused, a single trailing one too (the probe adds its own).
 */
static const char *lag_query_problem(const char *q)
{
    char quote = 0;
    while (isspace((unsigned char)*q))
        q++;
    if (strncasecmp(q, "SELECT", 6) != 0 || !(isspace((unsigned char)q[6]) || q[6] == '('))
        return "it must be a single SELECT statement (e.g. SELECT TIMESTAMPDIFF(SECOND, ts, NOW()) FROM "
               "heartbeat.heartbeat)";
    for (; *q; q++) {
        if (quote) {
            if (*q == '\\' && quote != '`' && q[1])
                q++;
            else if (*q == quote)
                quote = 0;
        } else if (*q == '\'' || *q == '"' || *q == '`') {
            quote = *q;
        } else if (*q == ';') {
            return "it holds a ';': give one SELECT statement, without a terminating ';'";
        }
    }
    if (quote)
        return "it has an unterminated quote";
    return NULL;
}

/* Longest user name CHANGE MASTER accepts (MariaDB 10.11, measured: 128 ok, 129 refused). */
#define CFG_USER_MAX 128

static int parse_name(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    /* The statement builder refuses these (topology/dialect.c plain_ident): refuse them
     * now rather than in the middle of a failover. */
    for (const char *c = value; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            return bad_value(p, k, value, "a user name without control characters or backslashes");
    if (strlen(value) > CFG_USER_MAX)
        return fail(p, p->lineno, -EINVAL, "bad value for %s: %zu characters long; a replication user name may "
                    "have at most %d", k->name, strlen(value), CFG_USER_MAX);
    if (!str_copy_fits(field, k->size, value))
        return fail(p, p->lineno, -EINVAL, "bad value for %s: %zu characters long; the limit is %zu",
                    k->name, strlen(value), k->size - 1);
    return 0;
}

static int parse_heap_text(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char **slot = field;
    (void)k;
    *slot = strdup(value);
    if (!*slot)
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    return 0;
}

static int parse_secret_file(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char path[4096], why[4096 + 256];
    char **slot = field;
    int n, rc;

    if (value[0] == '/')
        n = snprintf(path, sizeof(path), "%s", value);
    else
        n = snprintf(path, sizeof(path), "%s%s%s", p->dir,
                     p->dir[strlen(p->dir) - 1] == '/' ? "" : "/", value);
    if (n < 0 || (size_t)n >= sizeof(path))
        return fail(p, p->lineno, -EINVAL, "%s '%s': path too long", k->name, value);
    rc = cfg_read_secret_file(path, slot, why, sizeof(why));
    if (rc == -ENOMEM)
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    if (rc)
        return fail(p, p->lineno, -EINVAL, "%s %s", k->name, why);
    return 0;
}

/* A path from the config: absolute, or relative to the config file's directory. */
static int resolve_path(struct parse *p, const struct key_def *k, const char *value, char *path, size_t size)
{
    int n;
    if (value[0] == '/')
        n = snprintf(path, size, "%s", value);
    else
        n = snprintf(path, size, "%s%s%s", p->dir, p->dir[strlen(p->dir) - 1] == '/' ? "" : "/", value);
    if (n < 0 || (size_t)n >= size)
        return fail(p, p->lineno, -EINVAL, "%s '%s': path too long", k->name, value);
    return 0;
}

/* control_secret_key_file, control_client_key_file: a secret key, its public key derived. */
static int parse_key_file(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char path[4096], why[4096 + 256];
    char *pub = (char *)field == p->out->control_secret_key ? p->out->control_public_key
                                                            : p->out->control_client_public_key;
    if (resolve_path(p, k, value, path, sizeof(path)))
        return p->rc;
    if (cfg_read_key_file(path, 1, field, pub, why, sizeof(why)) < 0)
        return fail(p, p->lineno, -EINVAL, "%s %s", k->name, why);
    return 0;
}

/* Add one public key file to the allow-list with the key's role. */
static int add_client_key(struct parse *p, const struct key_def *k, const char *path)
{
    cfg_config *c = p->out;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = strlen(base);
    char key[CFG_KEY_TEXT_LEN + 1], why[4096 + 256];
    cfg_control_key *nk;

    if (n < 5 || strcmp(base + n - 4, ".pub") != 0)
        return fail(p, p->lineno, -EINVAL,
                    "%s: '%s' is not a .pub file: list the public key files that 'myorch keygen --out PREFIX' "
                    "writes (PREFIX.pub), never a secret .key file", k->name, path);
    n -= 4;
    if (n > CFG_KEY_NAME_MAX)
        return fail(p, p->lineno, -EINVAL, "%s: the name of '%s' is %zu characters long; the limit is %d "
                    "(rename the file)", k->name, path, n, CFG_KEY_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)base[i]) && !strchr("._@+-", base[i]))
            return fail(p, p->lineno, -EINVAL, "%s: bad key file name '%s': use letters, digits and . _ @ + - "
                        "(the name identifies the client in the log)", k->name, path);
    if (cfg_read_key_file(path, 0, key, NULL, why, sizeof(why)) < 0)
        return fail(p, p->lineno, -EINVAL, "%s %s", k->name, why);
    for (size_t i = 0; i < c->n_control_keys; i++)
        if (strcmp(c->control_keys[i].public_key, key) == 0)
            return fail(p, p->lineno, -EINVAL, "%s: the key in '%s' is already listed (as '%s', %s): "
                        "list each client key once, in control_operator_keys or control_readonly_keys",
                        k->name, path, c->control_keys[i].name,
                        c->control_keys[i].role == CFG_ROLE_OPERATOR ? "operator" : "read-only");
    if (c->n_control_keys >= CFG_MAX_CONTROL_KEYS)
        return fail(p, p->lineno, -EINVAL, "%s: more than %d client keys", k->name, CFG_MAX_CONTROL_KEYS);
    nk = realloc(c->control_keys, (c->n_control_keys + 1) * sizeof(*nk));
    if (!nk)
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    c->control_keys = nk;
    nk = &nk[c->n_control_keys++];
    memset(nk, 0, sizeof(*nk));
    memcpy(nk->public_key, key, sizeof(nk->public_key));
    nk->role = (int)k->min;
    memcpy(nk->name, base, n);
    nk->name[n] = '\0';
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory of public keys: every *.pub file in it, in name order. */
static int add_key_dir(struct parse *p, const struct key_def *k, const char *dir, const struct stat *st)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL, path[4096];
    size_t n = 0;
    int rc = 0;

    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return fail(p, p->lineno, -EINVAL, "%s: directory '%s' is writable by %s (mode %04o): anyone who can "
                    "write there can grant himself access: run chmod 755 %s", k->name, dir,
                    (st->st_mode & S_IWOTH) ? "other users" : "its group", (unsigned)(st->st_mode & 07777), dir);
    if (!(d = opendir(dir)))
        return fail(p, p->lineno, -EINVAL, "%s: cannot read directory '%s': %s", k->name, dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char **nn;
        if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".pub") != 0)
            continue;
        if (n >= CFG_MAX_CONTROL_KEYS) {
            rc = fail(p, p->lineno, -EINVAL, "%s: more than %d key files in '%s'", k->name, CFG_MAX_CONTROL_KEYS, dir);
            goto out;
        }
        if (!(nn = realloc(names, (n + 1) * sizeof(*nn))) || !(nn[n] = strdup(e->d_name))) {
            if (nn)
                names = nn;
            rc = fail(p, p->lineno, -ENOMEM, "out of memory");
            goto out;
        }
        names = nn;
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n && !rc; i++) {
        int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (len < 0 || (size_t)len >= sizeof(path))
            rc = fail(p, p->lineno, -EINVAL, "%s: path too long in '%s'", k->name, dir);
        else
            rc = add_client_key(p, k, path);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* control_operator_keys, control_readonly_keys: comma-separated files or directories. */
static int parse_key_list(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    const char *s = value;
    (void)field;
    while (*s) {
        const char *e = strchr(s, ','), *end;
        char item[4096], path[4096];
        struct stat st;
        size_t n;
        if (!e)
            e = s + strlen(s);
        while (s < e && isspace((unsigned char)*s))
            s++;
        for (end = e; end > s && isspace((unsigned char)end[-1]); end--)
            ;
        n = (size_t)(end - s);
        if (n == 0)
            return bad_value(p, k, value, "a comma-separated list of .pub files or directories of them");
        if (n >= sizeof(item))
            return fail(p, p->lineno, -EINVAL, "%s: path too long", k->name);
        memcpy(item, s, n);
        item[n] = '\0';
        if (resolve_path(p, k, item, path, sizeof(path)))
            return p->rc;
        if (stat(path, &st) != 0)
            return fail(p, p->lineno, -EINVAL, "%s: '%s': %s (make client keys with 'myorch keygen --out PREFIX')",
                        k->name, path, strerror(errno));
        if (S_ISDIR(st.st_mode) ? add_key_dir(p, k, path, &st) : add_client_key(p, k, path))
            return p->rc;
        s = *e ? e + 1 : e;
    }
    return 0;
}

static int parse_ssl_mode(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    conn_ssl_mode m;
    if (conn_ssl_mode_parse(value, &m) < 0)
        return bad_value(p, k, value, "one of disabled, preferred, required, verify_ca, verify_identity");
    *(int *)field = (int)m;
    return 0;
}

/*
 * A file the controller reads when connecting (CA, certificate, key, RSA public key):
 * checked now so that a connection never fails for it during a failover. It must be a
 * readable regular file; a private key must not be accessible to group or others.
 */
static int parse_file(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char path[4096];
    char **slot = field;
    struct stat st;
    int n, fd;

    if (value[0] == '/')
        n = snprintf(path, sizeof(path), "%s", value);
    else
        n = snprintf(path, sizeof(path), "%s%s%s", p->dir, p->dir[strlen(p->dir) - 1] == '/' ? "" : "/", value);
    if (n < 0 || (size_t)n >= sizeof(path))
        return fail(p, p->lineno, -EINVAL, "%s '%s': path too long", k->name, value);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail(p, p->lineno, -EINVAL, "%s '%s': cannot read: %s", k->name, path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(p, p->lineno, -EINVAL, "%s '%s': not a regular file", k->name, path);
    }
    close(fd);
    if (st.st_size == 0)
        return fail(p, p->lineno, -EINVAL, "%s '%s' is empty: give the PEM file", k->name, path);
    if ((k->flags & KF_PRIVATE) && (st.st_mode & 077))
        return fail(p, p->lineno, -EINVAL, "%s '%s' is accessible to other users (mode %04o): run chmod 600 %s",
                    k->name, path, (unsigned)(st.st_mode & 07777), path);
    if (!(*slot = strdup(path)))
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    return 0;
}

/*
 * http_listen = ADDRESS:PORT with a numeric IPv4 address or a bracketed IPv6
 * one: the daemon binds exactly this (no name lookup at start, nothing that
 * resolves differently later). Port 1..65535.
 */
static int parse_http_listen(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon, *h = value;
    size_t hl;
    char *end;
    long port;
    unsigned char buf[sizeof(struct in6_addr)];
    int v6 = value[0] == '[';
    (void)field;
    if (v6) {
        const char *rb = strchr(value, ']');
        if (!rb || rb[1] != ':')
            return bad_value(p, k, value, "ADDRESS:PORT, e.g. 127.0.0.1:9180 or [::1]:9180");
        h = value + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(value, ':');
        if (!colon)
            return bad_value(p, k, value, "ADDRESS:PORT, e.g. 127.0.0.1:9180 or [::1]:9180");
        hl = (size_t)(colon - value);
    }
    if (hl == 0 || hl >= sizeof(host))
        return bad_value(p, k, value, "a numeric IP address and a port, e.g. 127.0.0.1:9180");
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) != 1)
        return bad_value(p, k, value, "a numeric IP address (not a host name) and a port, e.g. 127.0.0.1:9180 or "
                         "[::1]:9180");
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 || *end ||
        errno || port < 1 || port > 65535)
        return bad_value(p, k, value, "a port from 1 to 65535 after the address, e.g. 127.0.0.1:9180");
    snprintf(p->out->http_host, sizeof(p->out->http_host), "%s", host);
    p->out->http_port = (int)port;
    p->out->http_ipv6 = v6;
    p->out->http_loopback = v6 ? memcmp(buf, &in6addr_loopback, sizeof(in6addr_loopback)) == 0 : buf[0] == 127;
    snprintf(p->out->http_listen, sizeof(p->out->http_listen), "%s", value);
    return 0;
}

/*
 * http_token_file: the bearer token of mutating HTTP calls. A secret file
 * like password files, and stricter: no access at all for group or others
 * (0600), one line of at least CFG_HTTP_TOKEN_MIN printable characters
 * without spaces (it travels in an Authorization header).
 */
static int parse_token_file(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char path[4096], why[4096 + 256];
    char **slot = field;
    struct stat st;
    size_t n;
    int rc;
    if (resolve_path(p, k, value, path, sizeof(path)))
        return p->rc;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
        return fail(p, p->lineno, -EINVAL, "%s '%s' is accessible to %s (mode %04o): a bearer token must be "
                    "readable by the daemon's user only: run chmod 600 %s", k->name, path,
                    (st.st_mode & 07) ? "other users" : "its group", (unsigned)(st.st_mode & 07777), path);
    rc = cfg_read_secret_file(path, slot, why, sizeof(why));
    if (rc == -ENOMEM)
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    if (rc)
        return fail(p, p->lineno, -EINVAL, "%s %s", k->name, why);
    n = strlen(*slot);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)(*slot)[i] <= 0x20 || (unsigned char)(*slot)[i] >= 0x7f) {
            explicit_bzero(*slot, n);
            free(*slot);
            *slot = NULL;
            return fail(p, p->lineno, -EINVAL, "%s '%s': the token must be one line of printable characters "
                        "without spaces: generate one with 'head -c 32 /dev/urandom | base64 > %s'", k->name, path,
                        path);
        }
    if (n < CFG_HTTP_TOKEN_MIN) {
        explicit_bzero(*slot, n);
        free(*slot);
        *slot = NULL;
        return fail(p, p->lineno, -EINVAL, "%s '%s': the token has %zu characters, fewer than %d: generate one "
                    "with 'head -c 32 /dev/urandom | base64 > %s'", k->name, path, n, CFG_HTTP_TOKEN_MIN, path);
    }
    return 0;
}

/* A path on the database servers (replication TLS files): absolute, printable. */
static int parse_remote_path(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char **slot = field;
    if (value[0] != '/')
        return bad_value(p, k, value, "an absolute path on the database servers");
    for (const char *c = value; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return bad_value(p, k, value, "a path without control characters");
    if (!(*slot = strdup(value)))
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    return 0;
}

static int parse_double(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char *end;
    double v;
    char expected[96];
    snprintf(expected, sizeof(expected), "a number from %ld to %ld", k->min, k->max);
    errno = 0;
    v = strtod(value, &end);
    if (!*value || *end || errno || v != v || v < (double)k->min || v > (double)k->max)
        return bad_value(p, k, value, expected);
    *(double *)field = v;
    return 0;
}

/* Hook keys: every line appends one command to the hook point's list. */
static int parse_hook(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char ***list = field;
    cfg_cluster *cl = &p->out->clusters[p->cl_idx];
    size_t hook = (size_t)((char ***)field - cl->hooks);
    size_t *n = &cl->n_hooks[hook];
    char **nl;
    char **argv = NULL, why[256];
    size_t argc = 0;
    if (!*value)
        return bad_value(p, k, value, "a command");
    /* Hooks run without a shell: refuse now what would fail at the worst moment. */
    if (hook_split_command(value, &argv, &argc, why, sizeof(why)) < 0)
        return fail(p, p->lineno, -EINVAL, "bad command for %s: %s", k->name, why);
    {
        char prog[4096];
        int rc = argc ? hook_find_program(argv[0], prog, sizeof(prog), why, sizeof(why)) : 0;
        hook_free_argv(argv);
        if (rc < 0)
            return fail(p, p->lineno, -EINVAL, "bad command for %s: %s (install it, or give the full path of an "
                        "executable)", k->name, why);
    }
    nl = realloc(*list, (*n + 1) * sizeof(*nl));
    if (!nl)
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    *list = nl;
    if (!(nl[*n] = strdup(value)))
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    (*n)++;
    return 0;
}

static int parse_quorum(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    return parse_one_of(p, k, field, value, "majority", CFG_QUORUM_MAJORITY, "none", CFG_QUORUM_NONE,
                        "majority (the default: fail over only from the majority side) or none");
}

static int parse_coordination(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    return parse_one_of(p, k, field, value, "none", CFG_COORD_NONE, "etcd", CFG_COORD_ETCD,
                        "none (the default: one controller) or etcd (several controllers "
                        "coordinated through etcd_endpoints)");
}

/* At most this many etcd endpoints (a cluster has 3 or 5 members). */
#define CFG_ETCD_ENDPOINTS_N 16

/*
 * etcd_endpoints = http://10.0.0.1:2379, https://etcd2:2379: a scheme, a host
 * (name, IPv4 or bracketed IPv6) and a port, nothing else (no path, no
 * credentials in the URL). Stored normalised: comma-separated, no spaces.
 */
static int parse_etcd_endpoints(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char *out = field;
    size_t used = 0, n = 0;
    const char *s = value;

    out[0] = '\0';
    while (*s) {
        const char *e, *host, *colon;
        size_t len;
        char one[300];
        long port;
        char *end;
        while (*s == ' ' || *s == '\t')
            s++;
        e = strchr(s, ',');
        len = e ? (size_t)(e - s) : strlen(s);
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len == 0)
            return bad_value(p, k, value, "a comma-separated list of http://host:port or https://host:port "
                             "(an entry is empty)");
        if (len >= sizeof(one))
            return fail(p, p->lineno, -EINVAL, "bad value for %s: an endpoint is %zu bytes long; the limit is %zu",
                        k->name, len, sizeof(one) - 1);
        memcpy(one, s, len);
        one[len] = '\0';
        if (strncmp(one, "http://", 7) == 0)
            host = one + 7;
        else if (strncmp(one, "https://", 8) == 0)
            host = one + 8;
        else
            return fail(p, p->lineno, -EINVAL, "bad value '%s' in %s: an endpoint starts with http:// or https:// "
                        "(e.g. http://10.0.0.1:2379)", one, k->name);
        for (const char *c = host; *c; c++)
            if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == ':' || *c == '[' || *c == ']' ||
                  *c == '_'))
                return fail(p, p->lineno, -EINVAL, "bad value '%s' in %s: only a host and a port may follow the "
                            "scheme (no path, user or query)", one, k->name);
        colon = strrchr(host, ':');
        if (!colon || colon == host || (host[0] == '[' && colon[-1] != ']'))
            return fail(p, p->lineno, -EINVAL, "bad value '%s' in %s: give the port, e.g. %.*s:2379", one, k->name,
                        (int)(strlen(one) < 200 ? strlen(one) : 200), one);
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 1 || port > 65535)
            return fail(p, p->lineno, -EINVAL, "bad value '%s' in %s: the port must be 1..65535", one, k->name);
        if (++n > CFG_ETCD_ENDPOINTS_N)
            return fail(p, p->lineno, -EINVAL, "%s lists more than %d endpoints", k->name, CFG_ETCD_ENDPOINTS_N);
        if (used + (used ? 1 : 0) + len + 1 > k->size)
            return fail(p, p->lineno, -EINVAL, "%s is too long: at most %zu bytes of endpoints", k->name,
                        k->size - 1);
        if (used)
            out[used++] = ',';
        memcpy(out + used, one, len + 1);
        used += len;
        s = e ? e + 1 : s + strlen(s);
        if (e && !*s)
            return bad_value(p, k, value, "a comma-separated list without a trailing comma");
    }
    if (n == 0)
        return bad_value(p, k, value, "at least one http://host:port or https://host:port");
    return 0;
}

static int parse_etcd_prefix(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    size_t n = strlen(value);
    if (value[0] != '/' || (n > 1 && value[n - 1] == '/') || strstr(value, "//"))
        return bad_value(p, k, value, "a key prefix starting with '/', without a trailing '/', e.g. /myorch");
    for (const char *c = value; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '/' || *c == '_' || *c == '.' || *c == '-'))
            return bad_value(p, k, value, "letters, digits and / _ . - only, e.g. /myorch/prod");
    if (!str_copy_fits(field, k->size, value))
        return fail(p, p->lineno, -EINVAL, "%s is %zu bytes long; the limit is %zu", k->name, n, k->size - 1);
    return 0;
}

/* A controller name: what other controllers and status show; a key component in etcd. */
static bool controller_name_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= CFG_CONTROLLER_NAME_MAX)
        return false;
    for (const char *c = v; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-'))
            return false;
    return true;
}

static int parse_controller_name(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    if (!controller_name_ok(value))
        return bad_value(p, k, value, "1 to 63 letters, digits, '_', '.' or '-'");
    memcpy(field, value, strlen(value) + 1);
    return 0;
}

static int parse_detection_quorum(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char *end;
    long v;
    if (strcmp(value, "majority") == 0) {
        *(int *)field = 0;
        return 0;
    }
    errno = 0;
    v = strtol(value, &end, 10);
    if (!isdigit((unsigned char)value[0]) || *end || errno || v < 1 || v > 99)
        return bad_value(p, k, value, "majority (the default: more than half of the live controllers) or a "
                         "number of controllers from 1 to 99");
    *(int *)field = (int)v;
    return 0;
}

/* discover_allow: every line adds its comma-separated CIDRs / host patterns. */
static int parse_trust_list(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    char why[400];
    int rc = trust_list_add(field, value, why, sizeof(why));
    if (rc == -ENOMEM)
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    if (rc < 0)
        return fail(p, p->lineno, -EINVAL, "bad value for %s: %s", k->name, why);
    return 0;
}

static int parse_bool(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    static const char *yes[] = {"yes", "on", "true", "1"}, *no[] = {"no", "off", "false", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(value, yes[i]) == 0) {
            *(int *)field = 1;
            return 0;
        }
        if (strcasecmp(value, no[i]) == 0) {
            *(int *)field = 0;
            return 0;
        }
    }
    return bad_value(p, k, value, "yes or no");
}

/* Parse one seed into *a with topo_addr_parse(); bracketed hosts must be IPv6. */
static int parse_one_seed(const char *text, topo_addr *a, char *why, size_t whylen)
{
    if (topo_addr_parse(text, CFG_DEFAULT_PORT, a, why, whylen) != 0)
        return -EINVAL;
    if (strchr(a->host, ':')) {
        char host[TOPO_HOST_MAX];
        struct in6_addr in6;
        char *zone;
        snprintf(host, sizeof(host), "%s", a->host);
        zone = strchr(host, '%');
        if (zone)
            *zone = '\0';
        if (inet_pton(AF_INET6, host, &in6) != 1) {
            snprintf(why, whylen, "'%s' is not a valid IPv6 address", text);
            return -EINVAL;
        }
    }
    return 0;
}

/*
 * Split "host:port, host:port" into a topo_addr array (heap, *out) for key k:
 * empty entries, bad addresses and an address listed twice are refused.
 */
static int addr_items(struct parse *p, const struct key_def *k, const char *value, topo_addr **out, size_t *n_out)
{
    topo_addr *list = NULL;
    size_t n = 0, cap = 0;
    char *copy = strdup(value), *cur, *next, why[512], a1[TOPO_ADDR_MAX];
    int rc = 0;

    *out = NULL;
    *n_out = 0;
    if (!copy)
        return fail(p, p->lineno, -ENOMEM, "out of memory");
    for (cur = copy; cur; cur = next) {
        char *end;
        next = strchr(cur, ',');
        if (next)
            *next++ = '\0';
        while (isspace((unsigned char)*cur))
            cur++;
        end = cur + strlen(cur);
        while (end > cur && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*cur) {
            rc = fail(p, p->lineno, -EINVAL, "empty entry in %s '%s': remove the doubled or trailing comma", k->name,
                      value);
            goto out;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            topo_addr *nl = realloc(list, ncap * sizeof(*nl));
            if (!nl) {
                rc = fail(p, p->lineno, -ENOMEM, "out of memory");
                goto out;
            }
            list = nl;
            cap = ncap;
        }
        if (parse_one_seed(cur, &list[n], why, sizeof(why)) != 0) {
            rc = fail(p, p->lineno, -EINVAL,
                      "bad value for %s: %s (expected host:port, [IPv6]:port or host, default port %d)", k->name,
                      why, CFG_DEFAULT_PORT);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            if (topo_addr_eq(&list[i], &list[n])) {
                rc = fail(p, p->lineno, -EINVAL, "%s '%s' is listed twice in %s",
                          strcmp(k->name, "seeds") ? "address" : "seed", topo_addr_str(&list[n], a1, sizeof(a1)),
                          k->name);
                goto out;
            }
        n++;
    }
    *out = list;
    *n_out = n;
    list = NULL;
out:
    free(list);
    free(copy);
    return rc;
}

/* never_promote / prefer: the count lives right after the pointer. */
static int parse_addr_list(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    return addr_items(p, k, value, (topo_addr **)field, (size_t *)((char *)field + sizeof(topo_addr *)));
}

static int parse_seeds(struct parse *p, const struct key_def *k, void *field, const char *value)
{
    const int seeds_idx = key_index(k);
    cfg_cluster *cl = &p->out->clusters[p->cl_idx];
    topo_addr *list = NULL;
    size_t n = 0;
    char a1[TOPO_ADDR_MAX];
    int rc;

    (void)field;
    if ((rc = addr_items(p, k, value, &list, &n)) != 0)
        return rc;
    /* A server belongs to one cluster only. */
    for (size_t j = 0; j < n; j++)
        for (size_t c = 0; c < p->out->n_clusters; c++) {
            const cfg_cluster *o = &p->out->clusters[c];
            if (c == p->cl_idx)
                continue;
            for (size_t i = 0; i < o->n_seeds; i++)
                if (topo_addr_eq(&o->seeds[i], &list[j])) {
                    rc = fail(p, p->lineno, -EINVAL,
                              "seed '%s' is already in [cluster.%s] (line %d): a server belongs to one cluster only",
                              topo_addr_str(&list[j], a1, sizeof(a1)), o->name, p->cls[c].seen[seeds_idx]);
                    free(list);
                    return rc;
                }
        }
    cl->seeds = list;
    cl->n_seeds = n;
    return 0;
}

/* ---------------------------------------------------------------- sections */

/* Check the section that just ended: required keys. */
static int finish_section(struct parse *p)
{
    const int *seen;
    int line;

    if (p->sec == SEC_NONE)
        return 0;
    seen = seen_of(p);
    line = p->sec == SEC_GLOBAL ? p->global_line : p->out->clusters[p->cl_idx].line;
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key_def *k = &keys[i];
        bool ok = seen[i] != 0;
        char names[128] = "", sample[128] = "";
        if (k->sec != p->sec || !(k->flags & KF_REQUIRED))
            continue;
        for (size_t j = 0; j < N_KEYS && !ok; j++)
            if (k->group && keys[j].group == k->group && seen[j])
                ok = true;
        if (ok)
            continue;
        /* Name the key, or all keys of its group, in table order. */
        for (size_t j = 0; j < N_KEYS; j++) {
            if (j != i && !(k->group && keys[j].group == k->group && keys[j].sec == k->sec))
                continue;
            size_t used = strlen(names);
            snprintf(names + used, sizeof(names) - used, "%s'%s'", used ? " or " : "", keys[j].name);
            if (keys[j].example && !sample[0]) {
                /* Put the cluster's name in place of NAME in the sample. */
                const char *name_at = strstr(keys[j].example, "NAME");
                if (name_at && p->sec == SEC_CLUSTER)
                    snprintf(sample, sizeof(sample), "%s = %.*s%s%s", keys[j].name,
                             (int)(name_at - keys[j].example), keys[j].example,
                             p->out->clusters[p->cl_idx].name, name_at + 4);
                else
                    snprintf(sample, sizeof(sample), "%s = %s", keys[j].name, keys[j].example);
            }
        }
        return fail(p, line, -EINVAL, "[%s]: missing required key %s%s%s%s", p->sec_text, names,
                    sample[0] ? " (add e.g. '" : "", sample, sample[0] ? "')" : "");
    }
    return 0;
}

static int add_cluster(struct parse *p, const char *name)
{
    _Static_assert(CFG_CLUSTER_NAME_MAX < sizeof(((cfg_cluster *)0)->name), "cluster name size");
    if (p->out->n_clusters == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 4;
        cfg_cluster *nc = realloc(p->out->clusters, ncap * sizeof(*nc));
        if (!nc)
            return fail(p, p->lineno, -ENOMEM, "out of memory");
        p->out->clusters = nc;
        struct cl_state *ns = realloc(p->cls, ncap * sizeof(*ns));
        if (!ns)
            return fail(p, p->lineno, -ENOMEM, "out of memory");
        p->cls = ns;
        p->cap = ncap;
    }
    p->cl_idx = p->out->n_clusters++;
    memset(&p->out->clusters[p->cl_idx], 0, sizeof(cfg_cluster));
    memset(&p->cls[p->cl_idx], 0, sizeof(struct cl_state));
    memcpy(p->out->clusters[p->cl_idx].name, name, strlen(name) + 1); /* <= 40 chars, checked */
    p->out->clusters[p->cl_idx].line = p->lineno;
    return 0;
}

/* A section header line; t points at '['. */
static int section_header(struct parse *p, const char *t)
{
    const char *close = strchr(t, ']'), *rest, *in, *in_end;
    char inner[256];
    size_t n;
    bool cut;

    if (!close)
        return fail(p, p->lineno, -EINVAL,
                    "section header without a closing ']': write [myorch] or [cluster.NAME]");
    for (rest = close + 1; isspace((unsigned char)*rest); rest++)
        ;
    if (*rest && *rest != ';' && *rest != '#')
        return fail(p, p->lineno, -EINVAL,
                    "unexpected text '%s' after the section header: put a comment after ' ;'", rest);
    for (in = t + 1; in < close && isspace((unsigned char)*in); in++)
        ;
    for (in_end = close; in_end > in && isspace((unsigned char)in_end[-1]); in_end--)
        ;
    n = (size_t)(in_end - in);
    cut = n >= sizeof(inner);
    if (cut)
        n = sizeof(inner) - 1;
    memcpy(inner, in, n);
    inner[n] = '\0';

    if (finish_section(p))
        return p->rc;
    p->prev_key = false;

    if (strcmp(inner, "myorch") == 0) {
        if (p->global_line)
            return fail(p, p->lineno, -EINVAL, "duplicate section [myorch] (first on line %d)",
                        p->global_line);
        p->global_line = p->lineno;
        p->sec = SEC_GLOBAL;
        snprintf(p->sec_text, sizeof(p->sec_text), "myorch");
        return 0;
    }
    if (strncmp(inner, "cluster.", 8) == 0) {
        const char *name = inner + 8;
        size_t len = strlen(name);
        if (len == 0)
            return fail(p, p->lineno, -EINVAL,
                        "empty cluster name in [%s]: write [cluster.NAME], NAME made of "
                        "letters, digits, '_' and '-'", inner);
        if (len > CFG_CLUSTER_NAME_MAX)
            return fail(p, p->lineno, -EINVAL,
                        "cluster name '%.*s...' is %zu characters long; the limit is %d",
                        CFG_CLUSTER_NAME_MAX, name, len, CFG_CLUSTER_NAME_MAX);
        for (const char *c = name; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
                return fail(p, p->lineno, -EINVAL,
                            "bad cluster name '%s' in [%s]: use only letters, digits, '_' and '-' "
                            "(1 to %d characters)", name, inner, CFG_CLUSTER_NAME_MAX);
        for (size_t i = 0; i < p->out->n_clusters; i++)
            if (strcmp(p->out->clusters[i].name, name) == 0)
                return fail(p, p->lineno, -EINVAL, "duplicate section [cluster.%s] (first on line %d)",
                            name, p->out->clusters[i].line);
        if (add_cluster(p, name))
            return p->rc;
        p->sec = SEC_CLUSTER;
        memcpy(p->sec_text, "cluster.", 8);
        memcpy(p->sec_text + 8, name, len + 1); /* 8 + 40 + 1 <= sizeof(sec_text) */
        return 0;
    }
    if (strncmp(inner, "cluster", 7) == 0 &&
        (isspace((unsigned char)inner[7]) || inner[7] == '"' || inner[7] == '\'')) {
        /* git-style [cluster "east"]: suggest [cluster.east]. */
        char name[256];
        const char *s = inner + 7;
        size_t len;
        while (isspace((unsigned char)*s))
            s++;
        snprintf(name, sizeof(name), "%s", s);
        len = strlen(name);
        if (len >= 2 && (name[0] == '"' || name[0] == '\'') && name[len - 1] == name[0]) {
            memmove(name, name + 1, len - 2);
            name[len - 2] = '\0';
        }
        return fail(p, p->lineno, -EINVAL, "section [%s] is not supported: write [cluster.%s]",
                    inner, name);
    }
    return fail(p, p->lineno, -EINVAL, "unknown section [%s%s]: expected [myorch] or [cluster.NAME]",
                inner, cut ? "..." : "");
}

/* ---------------------------------------------------------------- inih glue */

/* The ini_reader: one raw line per call, checked, then handed to inih. */
static char *read_line(char *str, int num, void *stream)
{
    struct parse *p = stream;
    ssize_t got;
    size_t len, limit;
    char *s, *t;

    if (p->rc)
        return NULL;
    errno = 0;
    got = getline(&p->line, &p->line_cap, p->fp);
    if (got < 0) {
        if (ferror(p->fp))
            fail(p, 0, errno ? -errno : -EIO, "read error: %s", strerror(errno ? errno : EIO));
        return NULL;
    }
    p->lineno++;
    s = p->line;
    len = (size_t)got;
    if (memchr(s, '\0', len)) {
        fail(p, p->lineno, -EINVAL, "line contains a NUL byte: is this a text file?");
        return NULL;
    }
    if (len && s[len - 1] == '\n')
        s[--len] = '\0';
    if (len && s[len - 1] == '\r')
        s[--len] = '\0';
    if (p->lineno == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        len -= 3;
    }
    limit = num > 2 ? (size_t)num - 2 : 0;
    if (limit > CFG_MAX_LINE_LEN)
        limit = CFG_MAX_LINE_LEN;
    if (len > limit) {
        fail(p, p->lineno, -EINVAL,
             "line is %zu bytes long; the limit is %zu bytes per line: shorten it "
             "(a long lag_query can select from a view or call a stored function)", len, limit);
        return NULL;
    }

    for (t = s; isspace((unsigned char)*t); t++)
        ;
    if (*t == '\0' || *t == ';' || *t == '#') {
        /* blank line or comment */
    } else if (p->prev_key && t > s) {
        fail(p, p->lineno, -EINVAL,
             "indented line after a key: continuation lines are not supported "
             "(remove the leading whitespace, or put the whole value on one line)");
        return NULL;
    } else if (*t == '[') {
        if (section_header(p, t))
            return NULL;
    } else {
        /* Like inih: the first '=' or ':' before an inline comment (" ;"). */
        bool was_space = false, sep = false;
        for (const char *c = t; *c; c++) {
            if (*c == '=' || *c == ':') {
                sep = true;
                break;
            }
            if (was_space && *c == ';')
                break;
            was_space = isspace((unsigned char)*c) != 0;
        }
        if (!sep) {
            fail(p, p->lineno, -EINVAL,
                 "syntax error: expected 'key = value', '[section]' or a comment ('; ...')");
            return NULL;
        }
        p->prev_key = true;
    }
    len -= (size_t)(t - s);
    memcpy(str, t, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
}

static void unknown_key(struct parse *p, const char *name)
{
    char known[1024] = "", hint[160] = "";
    const struct key_def *best = NULL, *other;
    size_t best_d = 3;

    for (size_t i = 0; i < N_KEYS; i++) {
        size_t used = strlen(known), d;
        if (keys[i].sec != p->sec)
            continue;
        snprintf(known + used, sizeof(known) - used, "%s%s", used ? ", " : "", keys[i].name);
        d = edit_distance(name, keys[i].name);
        if (d < best_d && d < strlen(keys[i].name)) {
            best_d = d;
            best = &keys[i];
        }
    }
    other = find_key(p->sec == SEC_GLOBAL ? SEC_CLUSTER : SEC_GLOBAL, name);
    if (other)
        snprintf(hint, sizeof(hint), "; %s belongs in %s", name,
                 other->sec == SEC_GLOBAL ? "[myorch]" : "a [cluster.NAME] section");
    else if (best)
        snprintf(hint, sizeof(hint), "; did you mean '%s'?", best->name);
    fail(p, p->lineno, -EINVAL, "unknown key '%s' in [%s] (known keys: %s)%s", name, p->sec_text,
         known, hint);
}

/* The ini_handler: one key = value pair of the line read_line() just read. */
static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    struct parse *p = user;
    const struct key_def *k;
    int *seen, idx;

    (void)section; /* inih's copy may be truncated: p->sec is authoritative */
    if (p->rc)
        return 0;
    if (p->sec == SEC_NONE) {
        fail(p, p->lineno, -EINVAL,
             "key '%s' outside of any section: put it under [myorch] or a [cluster.NAME] section",
             name);
        return 0;
    }
    if (!*name) {
        fail(p, p->lineno, -EINVAL, "missing key name before '='");
        return 0;
    }
    k = find_key(p->sec, name);
    if (!k) {
        unknown_key(p, name);
        return 0;
    }
    seen = seen_of(p);
    idx = key_index(k);
    if (seen[idx] && !(k->flags & KF_LIST)) {
        fail(p, p->lineno, -EINVAL, "duplicate key '%s' in [%s] (first set on line %d)", name,
             p->sec_text, seen[idx]);
        return 0;
    }
    for (size_t j = 0; k->group && j < N_KEYS; j++) {
        if ((int)j == idx || keys[j].group != k->group || keys[j].sec != k->sec || !seen[j])
            continue;
        /* Name them in table order so the message reads the same either way. */
        const struct key_def *a = (int)j < idx ? &keys[j] : k, *b = (int)j < idx ? k : &keys[j];
        int la = (int)j < idx ? seen[j] : p->lineno, lb = (int)j < idx ? p->lineno : seen[j];
        fail(p, p->lineno, -EINVAL,
             "both %s and %s set in [%s] (%s on line %d, %s on line %d): keep only one",
             a->name, b->name, p->sec_text, a->name, la, b->name, lb);
        return 0;
    }
    seen[idx] = p->lineno;
    if (!*value) {
        fail(p, p->lineno, -EINVAL, "empty value for %s in [%s]: set a value or remove the line",
             name, p->sec_text);
        return 0;
    }
    /* A config holding a secret itself must be 0600: not even its group may read it. */
    if ((k->flags & KF_INLINE_SECRET) && (p->mode & (S_IRWXG | S_IRWXO))) {
        unsigned o = (p->mode & S_IRWXO) ? (unsigned)(p->mode & S_IRWXO) : (unsigned)(p->mode & S_IRWXG) >> 3;
        fail(p, p->lineno, -EINVAL,
             "inline %s in a config file %s by %s (mode %04o): run chmod 600 %s, "
             "or use %s_file", name,
             (o & 4) ? ((o & 2) ? "readable and writable" : "readable") : (o & 2) ? "writable" : "accessible",
             (p->mode & S_IRWXO) ? "other users" : "its group", (unsigned)(p->mode & 07777), p->out->path, name);
        return 0;
    }
    return k->parse(p, k, field_base(p) + k->offset, value) == 0;
}

/* ---------------------------------------------------------------- finishing */

static int default_endpoint(struct parse *p, char *field, size_t size, const char *key,
                            const char *file_name)
{
    const struct key_def *k = find_key(SEC_GLOBAL, key), *sd = find_key(SEC_GLOBAL, "state_dir");
    const char *dir = p->out->state_dir;
    char why[128];
    const char *problem;
    int n;

    if (p->global_seen[key_index(k)])
        return 0; /* set explicitly, checked when parsed */
    n = snprintf(field, size, "ipc://%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", file_name);
    problem = (n < 0 || (size_t)n >= size) ? "too long" : endpoint_problem(field, why, sizeof(why));
    if (problem)
        return fail(p, p->global_seen[key_index(sd)], -EINVAL,
                    "default %s '%.200s' is unusable: %s: set %s explicitly or use a shorter "
                    "state_dir", key, field, problem, key);
    return 0;
}

/* Is path (normalised, absolute) the directory dir or inside it? */
static bool path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strcmp(dir, "/") == 0)
        return strchr(path + 1, '/') == NULL; /* state_dir "/": its direct entries only */
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/*
 * An ipc endpoint must not make the bind destroy a file: libzmq unlinks
 * whatever the path names before binding. Refuse "." and ".." components
 * (they would defeat the state_dir check), anything in state_dir but the two
 * default socket names, and an existing file that is not a socket.
 */
static int check_ipc_target(struct parse *p, const char *key, const char *ep)
{
    const cfg_config *c = p->out;
    int line = p->global_seen[key_index(find_key(SEC_GLOBAL, key))];
    const char *path = ep + 6, *base = strrchr(path, '/') + 1;
    char dir[4096], real_dir[PATH_MAX], real_state[PATH_MAX];
    bool in_state, direct;
    struct stat st;

    if (strncmp(ep, "ipc://", 6) != 0)
        return 0;
    for (const char *s = path; *s; s++) {
        if (s[0] != '/')
            continue;
        if (s[1] == '/' || (s[1] == '.' && (s[2] == '/' || !s[2] || (s[2] == '.' && (s[3] == '/' || !s[3])))))
            return fail(p, line, -EINVAL, "bad value '%s' for %s: write the path without '.', '..' or '//' "
                        "components", ep, key);
    }
    /* Directly in state_dir (the same directory, possibly through a symbolic link), or deeper. */
    {
        size_t n = (size_t)(base - path);
        memcpy(dir, path, n);
        dir[n > 1 ? n - 1 : n] = '\0';
        direct = strcmp(dir, c->state_dir) == 0 ||
                 (realpath(dir, real_dir) && realpath(c->state_dir, real_state) && strcmp(real_dir, real_state) == 0);
    }
    in_state = direct || path_under(path, c->state_dir);
    if (in_state && !(direct && (strcmp(base, "control.sock") == 0 || strcmp(base, "events.sock") == 0)))
        return fail(p, line, -EINVAL, "%s '%s' is inside state_dir %s, where the state database lives: only "
                    "the default names control.sock and events.sock may be used there: choose a path in "
                    "another directory, e.g. ipc:///run/myorch/%s", key, ep, c->state_dir,
                    strcmp(key, "control_socket") == 0 ? "control.sock" : "events.sock");
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
        return fail(p, line, -EINVAL, "%s '%s': %s exists and is not a socket (%s): binding would delete it: "
                    "choose another path, or remove the file if it is really not needed", key, ep, path,
                    S_ISREG(st.st_mode) ? "a regular file" : S_ISDIR(st.st_mode) ? "a directory" : "not a socket");
    return 0;
}

/* tcp:// endpoints are reachable by anyone on the network: CURVE is required. */
static int check_tcp_curve(struct parse *p)
{
    const cfg_config *c = p->out;
    const char *key = strncmp(c->control_socket, "tcp://", 6) == 0 ? "control_socket"
                      : strncmp(c->event_socket, "tcp://", 6) == 0 ? "event_socket" : NULL;
    int line;
    if (!key)
        return 0;
    line = p->global_seen[key_index(find_key(SEC_GLOBAL, key))];
    if (!zmq_has("curve"))
        return fail(p, line, -EINVAL, "%s = %s needs CURVE, and this libzmq was built without it: use an "
                    "ipc:// endpoint", key, strcmp(key, "control_socket") == 0 ? c->control_socket : c->event_socket);
    if (!c->control_secret_key[0] || c->n_control_keys == 0)
        return fail(p, line, -EINVAL,
                    "%s = %s accepts anyone who can reach it unless CURVE keys are set (%s): make a server key "
                    "pair with 'myorch keygen --out /etc/myorch/control' and one per client with 'myorch keygen "
                    "--out /etc/myorch/clients/NAME', then set control_secret_key_file = /etc/myorch/control.key "
                    "and control_operator_keys = /etc/myorch/clients (or control_readonly_keys) in [myorch]",
                    key, strcmp(key, "control_socket") == 0 ? c->control_socket : c->event_socket,
                    !c->control_secret_key[0] ? "control_secret_key_file is not set"
                                              : "no client key in control_operator_keys or control_readonly_keys");
    return 0;
}

/*
 * The HTTP server: off without http_listen; TLS certificate and key go
 * together; anything but a loopback address needs TLS (the API carries a
 * bearer token and the topology).
 */
static int check_http(struct parse *p)
{
    const cfg_config *c = p->out;
    int lc = p->global_seen[key_index(find_key(SEC_GLOBAL, "http_tls_cert"))];
    int lk = p->global_seen[key_index(find_key(SEC_GLOBAL, "http_tls_key"))];
    int lt = p->global_seen[key_index(find_key(SEC_GLOBAL, "http_token_file"))];
    int ll = p->global_seen[key_index(find_key(SEC_GLOBAL, "http_listen"))];
    if (!c->http_listen[0] && (lc || lk || lt))
        return fail(p, lc ? lc : lk ? lk : lt, -EINVAL, "%s is set but http_listen is not: set http_listen = "
                    "127.0.0.1:9180 to serve the HTTP API, or remove the http_* keys",
                    lc ? "http_tls_cert" : lk ? "http_tls_key" : "http_token_file");
    if (!c->http_tls_cert != !c->http_tls_key)
        return fail(p, lc ? lc : lk, -EINVAL, "http_tls_cert and http_tls_key go together: set both (PEM "
                    "certificate and its private key) or neither");
    if (c->http_listen[0] && !c->http_loopback && !c->http_tls_cert)
        return fail(p, ll, -EINVAL, "http_listen = %s is not a loopback address: the HTTP API would be "
                    "reachable from the network in clear text: set http_tls_cert and http_tls_key, or listen on "
                    "127.0.0.1 / [::1] behind a TLS proxy", c->http_listen);
    return 0;
}

/*
 * Controller coordination: the etcd_* keys only with coordination = etcd,
 * which needs etcd_endpoints; TLS certificate and key together, user and
 * password file together; credentials never in clear text to a remote host.
 * The controller name defaults to the host name (which must then be a valid
 * name).
 */
static bool endpoint_is_loopback(const char *ep)
{
    const char *h = strstr(ep, "://");
    h = h ? h + 3 : ep;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "[::1]:", 6) == 0 || strncmp(h, "localhost:", 10) == 0;
}

static int check_etcd(struct parse *p)
{
    cfg_config *c = p->out;
    static const char *const etcd_keys[] = {"etcd_endpoints", "etcd_prefix", "controller_name", "etcd_lease_ttl_ms",
                                            "etcd_cacert", "etcd_cert", "etcd_key", "etcd_user",
                                            "etcd_password_file", "detection_quorum", "etcd_voter_forget_s"};
    int lu = p->global_seen[key_index(find_key(SEC_GLOBAL, "etcd_user"))];
    int lpw = p->global_seen[key_index(find_key(SEC_GLOBAL, "etcd_password_file"))];
    int lc = p->global_seen[key_index(find_key(SEC_GLOBAL, "etcd_cert"))];
    int lk = p->global_seen[key_index(find_key(SEC_GLOBAL, "etcd_key"))];
    int lca = p->global_seen[key_index(find_key(SEC_GLOBAL, "etcd_cacert"))];
    int le = p->global_seen[key_index(find_key(SEC_GLOBAL, "etcd_endpoints"))];

    if (c->coordination != CFG_COORD_ETCD) {
        for (size_t i = 0; i < sizeof(etcd_keys) / sizeof(etcd_keys[0]); i++) {
            int line = p->global_seen[key_index(find_key(SEC_GLOBAL, etcd_keys[i]))];
            if (line)
                return fail(p, line, -EINVAL, "%s is set but coordination is not etcd: set coordination = etcd to "
                            "run several controllers, or remove the key", etcd_keys[i]);
        }
        return 0;
    }
    if (!c->etcd_endpoints[0])
        return fail(p, p->global_seen[key_index(find_key(SEC_GLOBAL, "coordination"))], -EINVAL,
                    "coordination = etcd needs etcd_endpoints, e.g. etcd_endpoints = http://10.0.0.1:2379, "
                    "http://10.0.0.2:2379, http://10.0.0.3:2379");
    if (!c->etcd_cert != !c->etcd_key)
        return fail(p, lc ? lc : lk, -EINVAL, "etcd_cert and etcd_key go together: set both (the client "
                    "certificate and its private key) or neither");
    if (!c->etcd_user[0] != !c->etcd_password)
        return fail(p, lu ? lu : lpw, -EINVAL, "etcd_user and etcd_password_file go together: set both or neither");
    {
        bool any_http = false, any_https = false, remote_http = false;
        char eps[CFG_ETCD_ENDPOINTS_MAX];
        char *save = NULL;
        memcpy(eps, c->etcd_endpoints, sizeof(eps));
        for (char *t = strtok_r(eps, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (strncmp(t, "https://", 8) == 0)
                any_https = true;
            else {
                any_http = true;
                remote_http = remote_http || !endpoint_is_loopback(t);
            }
        }
        if (any_http && any_https)
            return fail(p, le, -EINVAL, "etcd_endpoints mixes http:// and https://: use one scheme for every "
                        "member");
        if (any_http && (c->etcd_cacert || c->etcd_cert))
            return fail(p, lca ? lca : lc, -EINVAL, "%s is set but etcd_endpoints use http://: use https:// "
                        "endpoints, or remove the TLS keys", lca ? "etcd_cacert" : "etcd_cert");
        if (remote_http && c->etcd_password)
            return fail(p, lu, -EINVAL, "etcd_user is set but etcd_endpoints use http:// to a remote host: the "
                        "password would cross the network in clear text: use https:// endpoints");
    }
    if (!c->etcd_prefix[0])
        snprintf(c->etcd_prefix, sizeof(c->etcd_prefix), "/myorch");
    if (!c->etcd_lease_ttl_ms)
        c->etcd_lease_ttl_ms = 5000;
    if (!c->etcd_voter_forget_s)
        c->etcd_voter_forget_s = 86400;
    if (!c->controller_name[0]) {
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) != 0 || !controller_name_ok(host))
            return fail(p, 0, -EINVAL, "controller_name is not set and the host name '%.64s' is not a valid one "
                        "(1 to 63 letters, digits, '_', '.' or '-'): set controller_name", host);
        memcpy(c->controller_name, host, strlen(host) + 1);
    }
    return 0;
}

/* finalize, global part: a cluster exists, the two IPC endpoints, the log file, the
 * checks of the [global], [http] and [etcd] settings. */
static int finalize_global(struct parse *p)
{
    cfg_config *c = p->out;

    if (c->n_clusters == 0)
        return fail(p, 0, -EINVAL,
                    "no [cluster.NAME] section: configure at least one cluster "
                    "(seeds, user, password_file)");
    if (default_endpoint(p, c->control_socket, sizeof(c->control_socket), "control_socket",
                         "control.sock") ||
        default_endpoint(p, c->event_socket, sizeof(c->event_socket), "event_socket",
                         "events.sock"))
        return p->rc;
    if (strcmp(c->control_socket, c->event_socket) == 0)
        return fail(p, p->global_seen[key_index(find_key(SEC_GLOBAL, "event_socket"))], -EINVAL,
                    "control_socket and event_socket are both '%s': give them different endpoints",
                    c->control_socket);
    /* The state database, its journal and the lock file live there: appending log lines
     * to one of them would corrupt it. */
    if (c->log_file[0] && path_under(c->log_file, c->state_dir))
        return fail(p, p->global_seen[key_index(find_key(SEC_GLOBAL, "log_file"))], -EINVAL,
                    "log_file '%s' is inside state_dir '%s' (the state database lives there): "
                    "use another directory, e.g. /var/log/myorch", c->log_file, c->state_dir);
    if (check_ipc_target(p, "control_socket", c->control_socket) ||
        check_ipc_target(p, "event_socket", c->event_socket) || check_tcp_curve(p) || check_http(p) ||
        check_etcd(p))
        return p->rc;
    return 0;
}

/* finalize, cluster i: the defaults of the keys the section did not set. */
static void cluster_defaults(struct parse *p, size_t i)
{
    cfg_config *c = p->out;
    cfg_cluster *cl = &c->clusters[i];
    const struct key_def *cluster_poll = find_key(SEC_CLUSTER, "poll_interval_ms");

    if (!p->cls[i].seen[key_index(cluster_poll)])
        cl->poll_interval_ms = c->poll_interval_ms;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "probe_detail_every"))])
        cl->probe_detail_every = c->probe_detail_every;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "auto_failover"))])
        cl->auto_failover = 1;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "failover_block_s"))])
        cl->failover_block_s = 600;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "apply_timeout_ms"))])
        cl->apply_timeout_ms = 10000;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "heartbeat_period_ms"))])
        cl->heartbeat_period_ms = 100;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "stall_periods"))])
        cl->stall_periods = 5;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "switchover_max_lag_s"))])
        cl->switchover_max_lag_s = 10;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "switchover_max_trx_s"))])
        cl->switchover_max_trx_s = 10;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "sla_target"))])
        cl->sla_target = 99.95;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "sla_counts_planned"))])
        cl->sla_counts_planned = 1;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "hook_timeout_ms"))])
        cl->hook_timeout_ms = 10000;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "read_pool_max_lag_s"))])
        cl->read_pool_max_lag_s = 10;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "ready_max_lag_s"))])
        cl->ready_max_lag_s = 10;
    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "discover_confirm"))])
        cl->discover_confirm = 1;
}

/* finalize, cluster i: the client TLS settings and the replication TLS options. */
static int cluster_ssl(struct parse *p, size_t i)
{
    cfg_cluster *cl = &p->out->clusters[i];

    if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "ssl_mode"))])
        cl->ssl_mode = CONN_SSL_PREFERRED;
    {
        conn_params cp;
        const char *problem;
        int at = p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "ssl_mode"))];
        cfg_cluster_conn(cl, &cp);
        if ((problem = conn_params_problem(&cp)))
            return fail(p, at ? at : cl->line, -EINVAL, "[cluster.%s]: %s", cl->name, problem);
    }
    {
        int rs = p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "replication_ssl"))];
        bool opts = cl->replication_ssl_ca || cl->replication_ssl_cert || cl->replication_ssl_key ||
                    p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "replication_ssl_verify_server_cert"))];
        if (!p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "replication_ssl_verify_server_cert"))])
            cl->replication_ssl_verify_server_cert = -1;
        if (!rs)
            cl->replication_ssl = opts ? 1 : -1;
        else if (!cl->replication_ssl && opts)
            return fail(p, rs, -EINVAL,
                        "[cluster.%s]: replication_ssl = no, but replication_ssl_* options are set: "
                        "remove them or set replication_ssl = yes", cl->name);
        if (!cl->replication_ssl_cert != !cl->replication_ssl_key)
            return fail(p, rs ? rs : cl->line, -EINVAL,
                        "[cluster.%s]: replication_ssl_cert and replication_ssl_key go together: give "
                        "both or neither", cl->name);
    }
    return 0;
}

/* finalize, cluster i: the replication user and password (default: the monitoring ones). */
static int cluster_replication_login(struct parse *p, size_t i)
{
    cfg_cluster *cl = &p->out->clusters[i];

    if (!cl->replication_user[0])
        memcpy(cl->replication_user, cl->user, sizeof(cl->user));
    if (!cl->replication_password) {
        cl->replication_password = strdup(cl->password);
        if (!cl->replication_password)
            return fail(p, 0, -ENOMEM, "out of memory");
    }
    {
        /* CHANGE MASTER refuses a longer one (MariaDB 10.11, measured: 96 ok, 97
         * refused): it would fail the failover's repoint steps. Counted in characters. */
        size_t chars = 0;
        int line = p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "replication_password_file"))];
        if (!line)
            line = p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "replication_password"))];
        if (!line)
            line = p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "password_file"))];
        if (!line)
            line = p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "password"))];
        for (const unsigned char *c = (const unsigned char *)cl->replication_password; *c; c++)
            chars += (*c & 0xC0) != 0x80;
        if (chars > CFG_REPL_PASSWORD_MAX)
            return fail(p, line ? line : cl->line, -EINVAL,
                        "[cluster.%s]: the replication password is %zu characters long; CHANGE MASTER accepts "
                        "at most %d: use a shorter one (replication_password_file)", cl->name, chars,
                        CFG_REPL_PASSWORD_MAX);
    }
    return 0;
}

static int finalize(struct parse *p)
{
    cfg_config *c = p->out;
    int rc;

    if ((rc = finalize_global(p)))
        return rc;
    for (size_t i = 0; i < c->n_clusters; i++) {
        cfg_cluster *cl = &c->clusters[i];
        cluster_defaults(p, i);
        if (cl->sla_target <= 0 || cl->sla_target >= 100)
            return fail(p, p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "sla_target"))], -EINVAL,
                        "bad value for sla_target: expected a percentage above 0 and below 100, e.g. 99.95");
        if ((rc = cluster_ssl(p, i)) || (rc = cluster_replication_login(p, i)))
            return rc;
        if (cl->lag_query) {
            const char *why = lag_query_problem(cl->lag_query);
            if (why)
                return fail(p, p->cls[i].seen[key_index(find_key(SEC_CLUSTER, "lag_query"))], -EINVAL,
                            "bad lag_query in [cluster.%s]: %s", cl->name, why);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- public API */

int cfg_load(const char *path, cfg_config *out, char *err, size_t errlen)
{
    struct parse *p = NULL;
    struct stat st;
    int fd = -1, r, rc;
    char *slash;

    if (err && errlen)
        err[0] = '\0';
    if (!out) {
        seterr(err, errlen, "no place to put the configuration");
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (!path || !*path) {
        seterr(err, errlen, "no configuration file given");
        return -EINVAL;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        seterr(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    p->file = path;
    p->out = out;
    p->err = err;
    p->errlen = errlen;

    snprintf(out->state_dir, sizeof(out->state_dir), "%s", CFG_DEFAULT_STATE_DIR);
    out->poll_interval_ms = 500;
    out->probe_detail_every = 5;
    out->log_level = CFG_LOG_INFO;
    out->connect_timeout_ms = 1000;
    out->read_timeout_ms = 2000;
    out->forget_after_s = 3600;
    out->max_instances_per_cluster = 500;
    out->events_keep_days = 30;
    out->shutdown_timeout_ms = 30000;
    out->events_keep_max = 100000;

    if (path[0] == '/') {
        if (!str_copy_fits(out->path, sizeof(out->path), path)) {
            rc = fail(p, 0, -ENAMETOOLONG, "path too long");
            goto out;
        }
    } else {
        char cwd[4096];
        int n;
        if (!getcwd(cwd, sizeof(cwd))) {
            rc = fail(p, 0, -errno, "cannot resolve the path: getcwd: %s", strerror(errno));
            goto out;
        }
        n = snprintf(out->path, sizeof(out->path), "%s%s%s", cwd,
                     strcmp(cwd, "/") == 0 ? "" : "/", path);
        if (n < 0 || (size_t)n >= sizeof(out->path)) {
            rc = fail(p, 0, -ENAMETOOLONG, "path too long");
            goto out;
        }
    }
    memcpy(p->dir, out->path, sizeof(p->dir));
    slash = strrchr(p->dir, '/');
    if (slash == p->dir)
        slash[1] = '\0';
    else
        *slash = '\0';

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = fail(p, 0, -errno, "cannot open: %s", strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = fail(p, 0, -errno, "cannot open: fstat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fail(p, 0, -EINVAL, "cannot open: not a regular file");
        goto out;
    }
    if (st.st_size > CFG_FILE_MAX) {
        rc = fail(p, 0, -EFBIG, "file is %lld bytes; a config file may hold at most %d",
                  (long long)st.st_size, CFG_FILE_MAX);
        goto out;
    }
    p->mode = st.st_mode;
    p->fp = fdopen(fd, "r");
    if (!p->fp) {
        rc = fail(p, 0, -errno, "cannot open: %s", strerror(errno));
        goto out;
    }
    fd = -1; /* owned by p->fp now */
    setvbuf(p->fp, p->iobuf, _IOFBF, sizeof(p->iobuf));

    r = ini_parse_stream(read_line, p, on_pair, p);
    if (!p->rc && r == -2)
        fail(p, 0, -ENOMEM, "out of memory");
    else if (!p->rc && r != 0)
        fail(p, r, -EINVAL, "syntax error: expected 'key = value', '[section]' or a comment");
    if (!p->rc)
        finish_section(p);
    if (!p->rc)
        finalize(p);
    rc = p->rc;
out:
    if (p->fp)
        fclose(p->fp);
    if (fd >= 0)
        close(fd);
    explicit_bzero(p->iobuf, sizeof(p->iobuf));
    if (p->line) {
        explicit_bzero(p->line, p->line_cap);
        free(p->line);
    }
    free(p->cls);
    free(p);
    if (rc)
        cfg_free(out);
    return rc;
}

void cfg_free(cfg_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_clusters; i++) {
        cfg_cluster *cl = &c->clusters[i];
        wipe_free(cl->password);
        wipe_free(cl->replication_password);
        free(cl->seeds);
        free(cl->lag_query);
        free(cl->never_promote);
        free(cl->prefer);
        free(cl->ssl_ca);
        free(cl->ssl_cert);
        free(cl->ssl_key);
        free(cl->server_public_key_file);
        free(cl->replication_ssl_ca);
        free(cl->replication_ssl_cert);
        free(cl->replication_ssl_key);
        trust_list_free(&cl->discover_allow);
        for (size_t h = 0; h < CFG_N_HOOKS; h++) {
            for (size_t k = 0; k < cl->n_hooks[h]; k++)
                free(cl->hooks[h][k]);
            free(cl->hooks[h]);
        }
    }
    free(c->clusters);
    free(c->control_keys);
    free(c->http_tls_cert);
    free(c->http_tls_key);
    wipe_free(c->http_token);
    free(c->etcd_cacert);
    free(c->etcd_cert);
    free(c->etcd_key);
    wipe_free(c->etcd_password);
    explicit_bzero(c->control_secret_key, sizeof(c->control_secret_key));
    explicit_bzero(c->control_client_secret_key, sizeof(c->control_client_secret_key));
    memset(c, 0, sizeof(*c));
}

void cfg_cluster_conn(const cfg_cluster *cl, conn_params *out)
{
    memset(out, 0, sizeof(*out));
    out->ssl_mode = (conn_ssl_mode)cl->ssl_mode;
    out->ssl_ca = cl->ssl_ca;
    out->ssl_cert = cl->ssl_cert;
    out->ssl_key = cl->ssl_key;
    out->server_public_key_file = cl->server_public_key_file;
}

void cfg_cluster_repl_ssl(const cfg_cluster *cl, dialect_repl_ssl *out)
{
    memset(out, 0, sizeof(*out));
    out->ssl = cl->replication_ssl;
    out->ca = cl->replication_ssl_ca;
    out->cert = cl->replication_ssl_cert;
    out->key = cl->replication_ssl_key;
    out->verify_server_cert = cl->replication_ssl_verify_server_cert;
}

const cfg_cluster *cfg_find_cluster(const cfg_config *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < c->n_clusters; i++)
        if (strcmp(c->clusters[i].name, name) == 0)
            return &c->clusters[i];
    return NULL;
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

const char *cfg_log_level_name(int level)
{
    if (level < CFG_LOG_ERROR || level > CFG_LOG_DEBUG)
        return "?";
    return level_names[level];
}

int cfg_log_level_parse(const char *text, int *out)
{
    if (!text || !out)
        return -EINVAL;
    for (int i = CFG_LOG_ERROR; i <= CFG_LOG_DEBUG; i++)
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -EINVAL;
}

int cfg_read_secret_file(const char *path, char **out, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd = -1, rc = 0;

    if (err && errlen)
        err[0] = '\0';
    if (!out || !path) {
        seterr(err, errlen, "no secret file given");
        return -EINVAL;
    }
    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = -errno;
        seterr(err, errlen, "'%s': cannot read: %s", path, strerror(-rc));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        seterr(err, errlen, "'%s': cannot read: %s", path, strerror(-rc));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        seterr(err, errlen, "'%s': cannot read: %s", path, strerror(EISDIR));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        seterr(err, errlen, "'%s': cannot read: not a regular file", path);
        goto out;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        rc = -EPERM;
        seterr(err, errlen, "'%s' is %s by other users (mode %04o): run chmod 600 %s", path,
               (st.st_mode & S_IROTH) ? ((st.st_mode & S_IWOTH) ? "readable and writable" : "readable")
                                      : "writable",
               (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    buf = malloc(CFG_SECRET_MAX + 1);
    if (!buf) {
        rc = -ENOMEM;
        seterr(err, errlen, "'%s': out of memory", path);
        goto out;
    }
    while (len <= CFG_SECRET_MAX) {
        ssize_t n = read(fd, buf + len, CFG_SECRET_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            seterr(err, errlen, "'%s': cannot read: %s", path, strerror(-rc));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > CFG_SECRET_MAX) {
        rc = -EFBIG;
        seterr(err, errlen, "'%s' is larger than %d bytes: is this really a password file?", path,
               CFG_SECRET_MAX);
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        rc = -EINVAL;
        seterr(err, errlen, "'%s' contains a NUL byte: is this really a password file?", path);
        goto out;
    }
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len == 0) {
        rc = -EINVAL;
        seterr(err, errlen, "'%s' is empty: put the password in it", path);
        goto out;
    }
    *out = malloc(len + 1);
    if (!*out) {
        rc = -ENOMEM;
        seterr(err, errlen, "'%s': out of memory", path);
        goto out;
    }
    memcpy(*out, buf, len);
    (*out)[len] = '\0';
out:
    if (buf) {
        explicit_bzero(buf, CFG_SECRET_MAX + 1);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int cfg_read_key_file(const char *path, int secret, char key_out[CFG_KEY_TEXT_LEN + 1],
                      char public_out[CFG_KEY_TEXT_LEN + 1], char *err, size_t errlen)
{
    struct stat st;
    char buf[256];
    uint8_t bin[32];
    ssize_t got;
    size_t len = 0;
    int fd, rc = 0;

    if (err && errlen)
        err[0] = '\0';
    key_out[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = -errno;
        seterr(err, errlen, "'%s': cannot read: %s%s", path, strerror(-rc),
               rc == -ENOENT ? " (make a key pair with 'myorch keygen --out PREFIX')" : "");
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        seterr(err, errlen, "'%s': cannot read: not a regular file", path);
        goto out;
    }
    if (secret && (st.st_mode & 077)) {
        rc = -EPERM;
        seterr(err, errlen, "'%s' is a secret key accessible to %s (mode %04o): run chmod 600 %s", path,
               (st.st_mode & 07) ? "other users" : "its group", (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if (!secret && (st.st_mode & (S_IWGRP | S_IWOTH))) {
        rc = -EPERM;
        seterr(err, errlen, "'%s' is writable by %s (mode %04o): anyone who can write it can grant himself "
               "access: run chmod 644 %s", path, (st.st_mode & S_IWOTH) ? "other users" : "its group",
               (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    while (len < sizeof(buf)) {
        got = read(fd, buf + len, sizeof(buf) - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            seterr(err, errlen, "'%s': cannot read: %s", path, strerror(-rc));
            goto out;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    while (len && isspace((unsigned char)buf[len - 1]))
        len--;
    if (len != CFG_KEY_TEXT_LEN || memchr(buf, '\0', len) || (buf[len] = '\0', !zmq_z85_decode(bin, buf))) {
        rc = -EINVAL;
        seterr(err, errlen, "'%s' does not hold a CURVE %s key (one line of %d Z85 characters): make key pairs "
               "with 'myorch keygen --out PREFIX'", path, secret ? "secret" : "public", CFG_KEY_TEXT_LEN);
        goto out;
    }
    if (secret && public_out && zmq_curve_public(public_out, buf) != 0) {
        rc = -EINVAL;
        seterr(err, errlen, "'%s': cannot derive the public key: %s", path, zmq_strerror(zmq_errno()));
        goto out;
    }
    memcpy(key_out, buf, CFG_KEY_TEXT_LEN + 1);
out:
    explicit_bzero(buf, sizeof(buf));
    explicit_bzero(bin, sizeof(bin));
    if (fd >= 0)
        close(fd);
    return rc;
}
