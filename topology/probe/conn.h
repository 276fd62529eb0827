/*
 * topology/probe/conn.h — the one place that opens a MySQL/MariaDB connection.
 *
 * Owns: every client option the controller sets on a server connection (the
 * probe engine's held connections, the recovery executor's, the one-shot
 * discover and relocate paths all go through conn_open_start()):
 *   - protocol TCP always (Connector/C reads the host "localhost" as "use the
 *     default Unix socket" otherwise), non-blocking API, LOCAL INFILE off,
 *     automatic reconnect off, whole-second library timeouts as a backstop
 *     (the callers enforce millisecond deadlines);
 *   - TLS per cluster (ssl_mode with the MySQL client's meaning, CA, client
 *     certificate and key) and the checks the library leaves out: with
 *     required/verify_ca a server that did not start TLS is refused;
 *   - the client authentication plugins a connection may use
 *     (MARIADB_OPT_RESTRICTED_AUTH): never mysql_clear_password or dialog
 *     (they send the password as typed); caching_sha2_password and
 *     sha256_password (which send the password itself, over TLS or encrypted
 *     with the server's RSA key) only when TLS is verified before the password
 *     goes out or an RSA key is pinned (server_public_key_file); the library
 *     never fetches an unpinned key from the server;
 *   - clear messages for connection failures caused by these settings.
 * The rule for the plugin list is pure (conn_allowed_plugins) and table-tested.
 */
#ifndef MYORCH_TOPOLOGY_CONN_H
#define MYORCH_TOPOLOGY_CONN_H

#include <stddef.h>

#include <mysql.h>

typedef enum {
    CONN_SSL_DISABLED = 0,   /* plain TCP */
    CONN_SSL_PREFERRED,      /* TLS if the server offers it, unverified; else plain */
    CONN_SSL_REQUIRED,       /* TLS, unverified; a server without TLS is refused */
    CONN_SSL_VERIFY_CA,      /* TLS, certificate chain verified against ssl_ca */
    CONN_SSL_VERIFY_IDENTITY /* as verify_ca, and the certificate must name the host */
} conn_ssl_mode;

/* Connection settings of one cluster. Strings are borrowed (NULL = unset). */
typedef struct {
    conn_ssl_mode ssl_mode;
    const char *ssl_ca;                 /* PEM CA file (verify_ca, verify_identity) */
    const char *ssl_cert;               /* PEM client certificate (optional, any TLS mode) */
    const char *ssl_key;                /* its private key */
    const char *server_public_key_file; /* pinned RSA key for caching_sha2/sha256 without TLS */
    int connect_timeout_ms;             /* library backstop, rounded up to seconds; 0 = none */
    int read_timeout_ms;                /* same, for reads and writes */
} conn_params;

/* The same settings with owned copies of the strings (for threads and targets). */
typedef struct {
    conn_params p;                      /* strings point into heap copies owned here */
} conn_params_owned;

/* "disabled", "preferred", ... ; "?" for anything else. */
const char *conn_ssl_mode_name(conn_ssl_mode m);
/* Parse a mode name (case-insensitive). 0 or -EINVAL. */
int conn_ssl_mode_parse(const char *text, conn_ssl_mode *out);

/*
 * The comma list of client authentication plugins allowed with these
 * settings (a static string). Pure.
 */
const char *conn_allowed_plugins(const conn_params *p);

/*
 * Why these settings are inconsistent (a user-facing sentence naming the
 * config keys), or NULL when they are fine. Pure; the config loader calls it.
 */
const char *conn_params_problem(const conn_params *p);

/* Deep copy (src may be NULL: defaults). 0 or -ENOMEM. */
int conn_params_copy(conn_params_owned *dst, const conn_params *src);
void conn_params_free(conn_params_owned *o);

/*
 * Create a non-blocking handle with every option set and start connecting to
 * host:port. ip is the caller's resolved numeric address of host, or NULL/""
 * to let the library resolve host; with verify_identity the library is given
 * host itself (its certificate check compares the name it connected to).
 * flags are mysql_real_connect client flags.
 *
 * Returns 0 with *out set and *status the library's wait mask (0 = finished:
 * then *ret is the result of the connect, as from mysql_real_connect_cont);
 * or -errno when the handle cannot be set up (message in err, *out NULL).
 * Continue with mysql_real_connect_cont(ret, *out, events) until the status
 * is 0, then call conn_open_finish().
 */
int conn_open_start(MYSQL **out, MYSQL **ret, int *status, const conn_params *p, const char *host,
                    const char *ip, unsigned port, const char *user, const char *password,
                    unsigned long flags, char *err, size_t errlen);

/*
 * After the connect finished (ret = what the library returned): 0 when the
 * connection is usable, else -ECONNREFUSED / -EPROTO with err holding one
 * sentence (without the server's name: callers prefix "host:port: ") that
 * says what failed and, for TLS and plugin refusals, which setting to change.
 * *code gets the library's error number (2026 for TLS, 5010 for a refused
 * plugin) when not NULL.
 */
int conn_open_finish(MYSQL *m, MYSQL *ret, const conn_params *p, const char *host, unsigned *code,
                     char *err, size_t errlen);

/* Close a connection opened by conn_open_start(). Connector/C's mysql_close() does not free the
 * MYSQL_SERVER_PUBLIC_KEY option's copy (a leak per connection with server_public_key_file,
 * found by ASan in sim.auth); this clears it first. Does not shut the socket down. */
void conn_close(MYSQL *m);

#endif
