/* topology/instance.c — snapshot lifetime and host:port helpers. */
#include "topology/instance.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void replica_status_free(topo_replica_status *r)
{
    free(r->received_gtid);
    free(r->executed_gtid);
    free(r->last_io_error);
    free(r->last_sql_error);
}

uint64_t topo_hash_str(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    /* Terminator, so that "ab"+"c" and "a"+"bc" differ. */
    h ^= 0xff;
    h *= 1099511628211ULL;
    return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t topo_replica_rx_mark(const topo_replica_status *rs)
{
    uint64_t h = 1469598103934665603ULL;

    h = hash_u64(h, (uint64_t)rs->received_heartbeats);
    h = topo_hash_str(h, rs->read_coord.file);
    h = hash_u64(h, rs->read_coord.pos);
    h = topo_hash_str(h, rs->received_gtid);
    h = hash_u64(h, rs->rx_extra);
    return h;
}

void topo_snapshot_clear(topo_snapshot *s)
{
    if (!s)
        return;
    free(s->gtid_binlog_pos);
    free(s->gtid_current_pos);
    free(s->gtid_slave_pos);
    free(s->gtid_executed);
    free(s->gtid_purged);
    free(s->replicas);
    free(s->dump_hosts);
    replica_status_free(&s->replica);
    memset(s, 0, sizeof(*s));
}

static int dupstr(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

int topo_snapshot_copy(topo_snapshot *dst, const topo_snapshot *src)
{
    topo_snapshot_clear(dst);
    memcpy(dst, src, sizeof(*dst));
    /* Null every heap pointer first so a failure half-way can be cleared safely. */
    dst->gtid_binlog_pos = dst->gtid_current_pos = dst->gtid_slave_pos = NULL;
    dst->gtid_executed = dst->gtid_purged = NULL;
    dst->replica.received_gtid = dst->replica.executed_gtid = NULL;
    dst->replica.last_io_error = dst->replica.last_sql_error = NULL;
    dst->replicas = NULL;
    dst->dump_hosts = NULL;
    if (src->n_replicas) {
        dst->replicas = malloc(src->n_replicas * sizeof(*dst->replicas));
        if (!dst->replicas) {
            dst->n_replicas = 0;
            topo_snapshot_clear(dst);
            return -ENOMEM;
        }
        memcpy(dst->replicas, src->replicas, src->n_replicas * sizeof(*dst->replicas));
    }
    if (dupstr(&dst->gtid_binlog_pos, src->gtid_binlog_pos) ||
        dupstr(&dst->gtid_current_pos, src->gtid_current_pos) ||
        dupstr(&dst->gtid_slave_pos, src->gtid_slave_pos) ||
        dupstr(&dst->gtid_executed, src->gtid_executed) ||
        dupstr(&dst->gtid_purged, src->gtid_purged) ||
        dupstr(&dst->dump_hosts, src->dump_hosts) ||
        dupstr(&dst->replica.received_gtid, src->replica.received_gtid) ||
        dupstr(&dst->replica.executed_gtid, src->replica.executed_gtid) ||
        dupstr(&dst->replica.last_io_error, src->replica.last_io_error) ||
        dupstr(&dst->replica.last_sql_error, src->replica.last_sql_error)) {
        topo_snapshot_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

int topo_strset(char **slot, const char *value)
{
    char *copy = NULL;
    if (value && *value) {
        copy = strdup(value);
        if (!copy)
            return -ENOMEM;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

int topo_addr_parse(const char *text, int default_port, topo_addr *out, char *err, size_t errlen)
{
    const char *host = text, *host_end, *port_text = NULL;
    size_t host_len;

    memset(out, 0, sizeof(*out));
    if (!text || !*text) {
        snprintf(err, errlen, "empty address: expected host:port");
        return -EINVAL;
    }
    if (text[0] == '[') {
        host = text + 1;
        host_end = strchr(host, ']');
        if (!host_end) {
            snprintf(err, errlen, "bad address '%s': missing ']' after IPv6 host", text);
            return -EINVAL;
        }
        if (host_end[1] == ':')
            port_text = host_end + 2;
        else if (host_end[1] != '\0') {
            snprintf(err, errlen, "bad address '%s': expected ':port' after ']'", text);
            return -EINVAL;
        }
    } else {
        host_end = strrchr(text, ':');
        if (host_end && strchr(text, ':') != host_end) {
            snprintf(err, errlen, "bad address '%s': write IPv6 hosts as [addr]:port", text);
            return -EINVAL;
        }
        if (host_end)
            port_text = host_end + 1;
        else
            host_end = text + strlen(text);
    }
    host_len = (size_t)(host_end - host);
    if (host_len == 0) {
        snprintf(err, errlen, "bad address '%s': empty host", text);
        return -EINVAL;
    }
    if (host_len >= sizeof(out->host)) {
        snprintf(err, errlen, "bad address '%.40s...': host longer than %zu characters", text,
                 sizeof(out->host) - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == ',' || c == '/' || c == '\'' || c == '"' || c == '\\' || c >= 0x7f) {
            snprintf(err, errlen, "bad address '%s': invalid character in host", text);
            return -EINVAL;
        }
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    if (port_text) {
        char *end;
        long port;
        errno = 0;
        port = strtol(port_text, &end, 10);
        if (!*port_text || *end || errno || port < 1 || port > 65535 || *port_text == '+' ||
            *port_text == '-' || *port_text == ' ') {
            snprintf(err, errlen, "bad address '%s': port must be a number from 1 to 65535", text);
            return -EINVAL;
        }
        out->port = (int)port;
    } else {
        if (default_port < 1 || default_port > 65535) {
            snprintf(err, errlen, "bad address '%s': missing ':port'", text);
            return -EINVAL;
        }
        out->port = default_port;
    }
    return 0;
}

const char *topo_addr_str(const topo_addr *a, char *buf, size_t len)
{
    /* TOPO_ADDR_MAX always fits (hosts are shorter than TOPO_HOST_MAX); a smaller buffer gets
     * "" rather than a shorter address, which would name another server. */
    if (strchr(a->host, ':'))
        fmt_checked(buf, len, NULL, 0, "address", "[%s]:%d", a->host, a->port);
    else
        fmt_checked(buf, len, NULL, 0, "address", "%s:%d", a->host, a->port);
    return buf;
}

bool topo_addr_eq(const topo_addr *a, const topo_addr *b)
{
    return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

const char *topo_flavor_name(topo_flavor f)
{
    switch (f) {
    case TOPO_FLAVOR_MARIADB: return "mariadb";
    case TOPO_FLAVOR_MYSQL: return "mysql";
    default: return "unknown";
    }
}

const char *topo_thread_state_name(topo_thread_state t)
{
    switch (t) {
    case TOPO_THREAD_NO: return "No";
    case TOPO_THREAD_YES: return "Yes";
    case TOPO_THREAD_CONNECTING: return "Connecting";
    default: return "?";
    }
}

topo_thread_state topo_thread_state_parse(const char *text)
{
    if (!text)
        return TOPO_THREAD_UNKNOWN;
    if (strcasecmp(text, "Yes") == 0)
        return TOPO_THREAD_YES;
    if (strcasecmp(text, "No") == 0)
        return TOPO_THREAD_NO;
    if (strcasecmp(text, "Connecting") == 0)
        return TOPO_THREAD_CONNECTING;
    return TOPO_THREAD_UNKNOWN;
}
