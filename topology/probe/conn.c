/* topology/probe/conn.c — the one connection opener: protocol, timeouts, TLS, auth plugins. */
#include "topology/probe/conn.h"

#include <errno.h>
#include <errmsg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Plugins that never send the password: a scramble (native) or a signature (ed25519). */
#define PLUGINS_SCRAMBLE "mysql_native_password,client_ed25519"
/* Plugins that send the password itself: in clear over TLS, else RSA-encrypted with the
 * server's public key (which Connector/C fetches from the server when none is pinned). */
#define PLUGINS_SECRET "caching_sha2_password,sha256_password"

static const char *const mode_names[] = {"disabled", "preferred", "required", "verify_ca", "verify_identity"};

const char *conn_ssl_mode_name(conn_ssl_mode m)
{
    if ((unsigned)m >= sizeof(mode_names) / sizeof(mode_names[0]))
        return "?";
    return mode_names[m];
}

int conn_ssl_mode_parse(const char *text, conn_ssl_mode *out)
{
    if (!text || !out)
        return -EINVAL;
    for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (strcasecmp(text, mode_names[i]) == 0) {
            *out = (conn_ssl_mode)i;
            return 0;
        }
    return -EINVAL;
}

static bool set(const char *s)
{
    return s && *s;
}

/*
 * The secret-sending plugins are allowed when nothing but a proven server can read
 * the password:
 *   - verify_identity: the library refuses a server without TLS or with a certificate
 *     that is not signed by ssl_ca for this host name, before authenticating;
 *   - a pinned RSA key, and TLS either off or chain-verified: without TLS the plugins
 *     encrypt with the pinned key. Over unverified TLS (preferred, required) they would
 *     send the password in clear to whoever terminated the TLS session, so a pinned key
 *     does not help there. verify_ca without a pinned key is not enough either: the
 *     library falls back to plain TCP when the server offers no TLS (refused by
 *     conn_open_finish, but only after authentication) and would then fetch the key
 *     from the server.
 */
const char *conn_allowed_plugins(const conn_params *p)
{
    if (!p)
        return PLUGINS_SCRAMBLE;
    if (p->ssl_mode == CONN_SSL_VERIFY_IDENTITY)
        return PLUGINS_SCRAMBLE "," PLUGINS_SECRET;
    if (set(p->server_public_key_file) &&
        (p->ssl_mode == CONN_SSL_DISABLED || p->ssl_mode == CONN_SSL_VERIFY_CA))
        return PLUGINS_SCRAMBLE "," PLUGINS_SECRET;
    return PLUGINS_SCRAMBLE;
}

const char *conn_params_problem(const conn_params *p)
{
    bool verify = p->ssl_mode == CONN_SSL_VERIFY_CA || p->ssl_mode == CONN_SSL_VERIFY_IDENTITY;
    if ((unsigned)p->ssl_mode > CONN_SSL_VERIFY_IDENTITY)
        return "unknown ssl_mode";
    if (verify && !set(p->ssl_ca))
        return "ssl_mode verify_ca and verify_identity need ssl_ca (the CA file that signed the servers' certificates)";
    if (!verify && set(p->ssl_ca))
        return "ssl_ca is only used to verify servers: set ssl_mode = verify_ca or verify_identity "
               "(preferred and required do not verify the certificate)";
    if (set(p->ssl_cert) != set(p->ssl_key))
        return "ssl_cert and ssl_key go together: give both or neither";
    if (p->ssl_mode == CONN_SSL_DISABLED && set(p->ssl_cert))
        return "ssl_cert and ssl_key are TLS client credentials: they need ssl_mode other than disabled";
    if (set(p->server_public_key_file) &&
        (p->ssl_mode == CONN_SSL_PREFERRED || p->ssl_mode == CONN_SSL_REQUIRED))
        return "server_public_key_file is not used over TLS, and over unverified TLS (ssl_mode preferred "
               "or required) caching_sha2_password would send the password to an unproven server: set "
               "ssl_mode = disabled (the key protects the password), verify_ca or verify_identity";
    return NULL;
}

static int dup_opt(const char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    if (!(*dst = strdup(src)))
        return -ENOMEM;
    return 0;
}

int conn_params_copy(conn_params_owned *dst, const conn_params *src)
{
    memset(dst, 0, sizeof(*dst));
    if (!src)
        return 0;
    dst->p = *src;
    if (dup_opt(&dst->p.ssl_ca, src->ssl_ca) || dup_opt(&dst->p.ssl_cert, src->ssl_cert) ||
        dup_opt(&dst->p.ssl_key, src->ssl_key) ||
        dup_opt(&dst->p.server_public_key_file, src->server_public_key_file)) {
        conn_params_free(dst);
        return -ENOMEM;
    }
    return 0;
}

void conn_params_free(conn_params_owned *o)
{
    if (!o)
        return;
    free((char *)o->p.ssl_ca);
    free((char *)o->p.ssl_cert);
    free((char *)o->p.ssl_key);
    free((char *)o->p.server_public_key_file);
    memset(o, 0, sizeof(*o));
}

static int opt(MYSQL *m, enum mysql_option o, const void *v, const char *what, char *err, size_t errlen)
{
    if (mysql_optionsv(m, o, v) != 0) {
        snprintf(err, errlen, "cannot set the client option %s", what);
        return -EINVAL;
    }
    return 0;
}

static unsigned secs(int ms)
{
    return (unsigned)(ms + 999) / 1000;
}

int conn_open_start(MYSQL **out, MYSQL **ret, int *status, const conn_params *p, const char *host,
                    const char *ip, unsigned port, const char *user, const char *password,
                    unsigned long flags, char *err, size_t errlen)
{
    static const conn_params defaults = {0};
    MYSQL *m;
    unsigned proto = MYSQL_PROTOCOL_TCP, zero = 0;
    my_bool off = 0, on = 1;
    const char *target;
    int rc;

    *out = NULL;
    *ret = NULL;
    *status = 0;
    if (!p)
        p = &defaults;
    m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "out of memory creating a connection");
        return -ENOMEM;
    }
    /* NONBLOCK first: the _start calls crash without it. */
    if ((rc = opt(m, MYSQL_OPT_NONBLOCK, 0, "MYSQL_OPT_NONBLOCK", err, errlen)) ||
        (rc = opt(m, MYSQL_OPT_PROTOCOL, &proto, "MYSQL_OPT_PROTOCOL", err, errlen)) ||
        (rc = opt(m, MYSQL_OPT_LOCAL_INFILE, &zero, "MYSQL_OPT_LOCAL_INFILE", err, errlen)) ||
        (rc = opt(m, MYSQL_OPT_RECONNECT, &off, "MYSQL_OPT_RECONNECT", err, errlen)) ||
        (rc = opt(m, MARIADB_OPT_RESTRICTED_AUTH, conn_allowed_plugins(p), "MARIADB_OPT_RESTRICTED_AUTH", err,
                  errlen)))
        goto fail;
    if (p->connect_timeout_ms > 0) {
        unsigned ct = secs(p->connect_timeout_ms);
        if ((rc = opt(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct, "MYSQL_OPT_CONNECT_TIMEOUT", err, errlen)))
            goto fail;
    }
    if (p->read_timeout_ms > 0) {
        unsigned rt = secs(p->read_timeout_ms);
        if ((rc = opt(m, MYSQL_OPT_READ_TIMEOUT, &rt, "MYSQL_OPT_READ_TIMEOUT", err, errlen)) ||
            (rc = opt(m, MYSQL_OPT_WRITE_TIMEOUT, &rt, "MYSQL_OPT_WRITE_TIMEOUT", err, errlen)))
            goto fail;
    }
    if (set(p->server_public_key_file) &&
        (rc = opt(m, MYSQL_SERVER_PUBLIC_KEY, p->server_public_key_file, "MYSQL_SERVER_PUBLIC_KEY", err, errlen)))
        goto fail;
    if (p->ssl_mode != CONN_SSL_DISABLED) {
        /* Turns TLS on; the library falls back to plain TCP when the server has none
         * (checked in conn_open_finish for required and verify_ca). */
        if ((rc = opt(m, MYSQL_OPT_SSL_ENFORCE, &on, "MYSQL_OPT_SSL_ENFORCE", err, errlen)))
            goto fail;
        if (set(p->ssl_cert) &&
            ((rc = opt(m, MYSQL_OPT_SSL_CERT, p->ssl_cert, "MYSQL_OPT_SSL_CERT", err, errlen)) ||
             (rc = opt(m, MYSQL_OPT_SSL_KEY, p->ssl_key, "MYSQL_OPT_SSL_KEY", err, errlen))))
            goto fail;
        /* With a CA the library verifies the chain; the host name only with VERIFY_SERVER_CERT,
         * which also refuses a server without TLS before authenticating. */
        if ((p->ssl_mode == CONN_SSL_VERIFY_CA || p->ssl_mode == CONN_SSL_VERIFY_IDENTITY) &&
            (rc = opt(m, MYSQL_OPT_SSL_CA, p->ssl_ca, "MYSQL_OPT_SSL_CA", err, errlen)))
            goto fail;
        if (p->ssl_mode == CONN_SSL_VERIFY_IDENTITY &&
            (rc = opt(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on, "MYSQL_OPT_SSL_VERIFY_SERVER_CERT", err, errlen)))
            goto fail;
    }
    target = (p->ssl_mode == CONN_SSL_VERIFY_IDENTITY || !ip || !*ip) ? host : ip;
    *status = mysql_real_connect_start(ret, m, target, user, password ? password : "", NULL, port, NULL, flags);
    *out = m;
    return 0;
fail:
    conn_close(m);
    return rc;
}

void conn_close(MYSQL *m)
{
    if (!m)
        return;
    mysql_optionsv(m, MYSQL_SERVER_PUBLIC_KEY, NULL); /* frees the library's copy */
    mysql_close(m);
}

/* The library's message with control characters replaced (it may quote the server). */
static void clean(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    if (!len)
        return;
    for (; src && *src && i + 1 < len; src++)
        dst[i++] = ((unsigned char)*src < 0x20 || *src == 0x7f) ? '?' : *src;
    dst[i] = '\0';
}

int conn_open_finish(MYSQL *m, MYSQL *ret, const conn_params *p, const char *host, unsigned *code,
                     char *err, size_t errlen)
{
    static const conn_params defaults = {0};
    char msg[512];
    unsigned c;

    if (!p)
        p = &defaults;
    if (code)
        *code = 0;
    if (ret) {
        bool need_tls = p->ssl_mode == CONN_SSL_REQUIRED || p->ssl_mode == CONN_SSL_VERIFY_CA ||
                        p->ssl_mode == CONN_SSL_VERIFY_IDENTITY;
        if (need_tls && !mysql_get_ssl_cipher(m)) {
            if (code)
                *code = CR_SSL_CONNECTION_ERROR;
            snprintf(err, errlen,
                     "TLS: the server did not start TLS but ssl_mode=%s requires it: enable TLS on the "
                     "server or lower ssl_mode",
                     conn_ssl_mode_name(p->ssl_mode));
            return -EPROTO;
        }
        /* The connection attributes (_client_name, _pid, ...) went out in the handshake and are
         * not needed again: the library keeps them in a hash table of 8 KB per connection
         * (massif), 80 MB at 10,000 servers. MYSQL_OPT_CONNECT_ATTR_RESET frees it. */
        (void)mysql_optionsv(m, MYSQL_OPT_CONNECT_ATTR_RESET, NULL);
        return 0;
    }
    c = mysql_errno(m);
    if (code)
        *code = c;
    clean(msg, sizeof(msg), mysql_error(m));
    if (c == CR_PLUGIN_NOT_ALLOWED) {
        /* The library's text misnames the plugin (Connector/C 3.3 prints a cut name): say it ourselves. */
        snprintf(err, errlen,
                 "refused the authentication plugin the server asked for (allowed here: %s): "
                 "mysql_clear_password and dialog are never used; caching_sha2_password and sha256_password "
                 "need ssl_mode=verify_identity or server_public_key_file",
                 conn_allowed_plugins(p));
        return -ECONNREFUSED;
    }
    if (c == CR_SSL_CONNECTION_ERROR) {
        char h[256];
        clean(h, sizeof(h), host);
        if (strstr(msg, "does not support"))
            snprintf(err, errlen, "TLS: the server does not offer TLS but ssl_mode=%s requires it: %s",
                     conn_ssl_mode_name(p->ssl_mode), msg);
        else if (p->ssl_mode == CONN_SSL_VERIFY_IDENTITY)
            snprintf(err, errlen,
                     "TLS: certificate refused (ssl_mode=verify_identity): %s: it must be signed by ssl_ca and "
                     "name '%s'", msg, h);
        else if (p->ssl_mode == CONN_SSL_VERIFY_CA)
            snprintf(err, errlen, "TLS: certificate refused (ssl_mode=verify_ca): %s: it must be signed by ssl_ca",
                     msg);
        else
            snprintf(err, errlen, "TLS (ssl_mode=%s): %s", conn_ssl_mode_name(p->ssl_mode), msg);
        return -ECONNREFUSED;
    }
    snprintf(err, errlen, "%s (error %u)", msg, c);
    return -ECONNREFUSED;
}
