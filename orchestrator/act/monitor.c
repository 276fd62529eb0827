/* orchestrator/act/monitor.c — probe results → cluster models → events. */
#include "orchestrator/act/monitor.h"
#include "topology/probe/clock.h"
#include "topology/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator/log.h"
#include "topology/escape.h"

/* Names resolved for trust decisions, kept a minute (a lookup blocks the loop). */
#define DNS_CACHE_MAX 256
#define DNS_CACHE_TTL_MS 60000
typedef struct {
    trust_endpoint e;
    int64_t at_ms;
} dns_entry;

struct monitor {
    mon_options opt;
    dns_entry *dns;          /* DNS_CACHE_MAX entries, allocated on first use */
    size_t n_dns;
    probe_engine *probe;
    mon_cluster **clusters;
    size_t n_clusters;
    int64_t last_tick_ms;
    /* Clusters marked dirty since the last mon_derive (indexes; room for every cluster).
     * dirty_all: the list could not grow: the next mon_derive scans them all. */
    size_t *dirty_list;
    size_t n_dirty;
    bool dirty_all;
};

/* The probe tag: which cluster an instance belongs to. */
typedef struct {
    mon_cluster *c;
    topo_instance *in;
} mon_tag;

int64_t mon_wall_s(void) { return clk_wall_ms() / 1000; }

static void emit(monitor *m, int level, const char *name, mon_cluster *c, const topo_instance *in,
                 json_t *detail, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void emit(monitor *m, int level, const char *name, mon_cluster *c, const topo_instance *in,
                 json_t *detail, const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    msg = strbuf_vasprintf(fmt, ap);
    va_end(ap);
    if (m->opt.on_event)
        m->opt.on_event(m->opt.user, level, name, c, in, msg ? msg : "(event text lost: out of memory)", detail);
    free(msg);
    json_decref(detail);
}

static int index_of(const mon_cluster *c, const topo_instance *in)
{
    for (size_t i = 0; i < c->model.n; i++)
        if (c->model.v[i] == in)
            return (int)i;
    return -1;
}

/* A hint for the errors a user can fix. */
static const char *error_hint(unsigned code)
{
    switch (code) {
    case 1045: return " (wrong user or password: check user/password_file of this cluster)";
    case 1044: case 1142: case 1227: case 1370: return " (missing privilege: apply sql/grants-*.sql for this user)";
    case 1129: return " (host blocked: run FLUSH HOSTS on the server)";
    case 1040: return " (too many connections on the server)";
    case 2003: return " (nothing listens there, or a firewall drops it)";
    case 2005: return " (unknown host name)";
    default: return "";
    }
}

/* ---- discovery trust (topology/trust.h) ---------------------------------------- */

static int max_instances(const monitor *m)
{
    return m->opt.max_instances_per_cluster > 0 ? m->opt.max_instances_per_cluster : 500;
}

/*
 * host → endpoint with its numeric addresses. Numeric hosts need no lookup;
 * names are resolved here (like probe_add() does), only while an unknown
 * replica-list entry is being judged, and cached for a minute (at most
 * DNS_CACHE_MAX names) so a list full of names cannot stall the loop on DNS.
 */
static void endpoint_of(monitor *m, const char *host, trust_endpoint *e)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL, *p;
    unsigned char buf[16];
    int64_t now = probe_now_ms();
    size_t slot = 0;
    memset(e, 0, sizeof(*e));
    snprintf(e->host, sizeof(e->host), "%s", host);
    if (inet_pton(AF_INET, host, buf) == 1) {
        inet_ntop(AF_INET, buf, e->ips[0], sizeof(e->ips[0]));
        e->n_ips = 1;
        return;
    }
    if (inet_pton(AF_INET6, host, buf) == 1) {
        inet_ntop(AF_INET6, buf, e->ips[0], sizeof(e->ips[0]));
        e->n_ips = 1;
        return;
    }
    if (!m->dns && !(m->dns = calloc(DNS_CACHE_MAX, sizeof(*m->dns))))
        return;
    for (size_t k = 0; k < m->n_dns; k++) {
        if (strcmp(m->dns[k].e.host, e->host) == 0 && now - m->dns[k].at_ms < DNS_CACHE_TTL_MS) {
            *e = m->dns[k].e;
            return;
        }
        if (m->dns[k].at_ms < m->dns[slot].at_ms)
            slot = k;
    }
    if (getaddrinfo(host, NULL, &hints, &ai) == 0) {
        for (p = ai; p && e->n_ips < TRUST_MAX_IPS; p = p->ai_next) {
            char ip[TRUST_IP_MAX] = "";
            bool dup = false;
            if (p->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)p->ai_addr)->sin6_addr, ip, sizeof(ip));
            else if (p->ai_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)p->ai_addr)->sin_addr, ip, sizeof(ip));
            for (size_t k = 0; k < e->n_ips; k++)
                dup |= strcmp(e->ips[k], ip) == 0;
            if (ip[0] && !dup)
                memcpy(e->ips[e->n_ips++], ip, sizeof(ip));
        }
        freeaddrinfo(ai);
    }
    /* Failures are cached too: the next minute does not ask again. */
    if (m->n_dns < DNS_CACHE_MAX)
        slot = m->n_dns++;
    m->dns[slot].e = *e;
    m->dns[slot].at_ms = now;
}

/* Everything trust_decide() needs about the listing server and the seeds. */
typedef struct {
    trust_endpoint *seeds, *listed, *dumps;
    size_t n_seeds, n_listed, n_dumps;
} trust_ctx;

static void trust_ctx_free(trust_ctx *t)
{
    free(t->seeds);
    free(t->listed);
    free(t->dumps);
    memset(t, 0, sizeof(*t));
}

static int trust_ctx_build(monitor *m, const mon_cluster *c, const topo_instance *via, trust_ctx *t)
{
    const char *p = via->snap.dump_hosts;
    memset(t, 0, sizeof(*t));
    t->seeds = calloc(c->model.n ? c->model.n : 1, sizeof(*t->seeds));
    t->listed = calloc(via->snap.n_replicas ? via->snap.n_replicas : 1, sizeof(*t->listed));
    t->dumps = calloc(via->snap.n_dump_hosts ? via->snap.n_dump_hosts : 1, sizeof(*t->dumps));
    if (!t->seeds || !t->listed || !t->dumps) {
        trust_ctx_free(t);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->model.n; i++)
        if (c->model.v[i]->seed)
            endpoint_of(m, c->model.v[i]->addr.host, &t->seeds[t->n_seeds++]);
    for (size_t i = 0; i < via->snap.n_replicas; i++)
        endpoint_of(m, via->snap.replicas[i].addr.host, &t->listed[t->n_listed++]);
    while (p && *p && t->n_dumps < via->snap.n_dump_hosts) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char host[TOPO_HOST_MAX];
        if (n < sizeof(host)) {
            memcpy(host, p, n);
            host[n] = '\0';
            endpoint_of(m, host, &t->dumps[t->n_dumps++]);
        }
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Report the limit once until the cluster is below it again. */
static void at_limit(monitor *m, mon_cluster *c, const char *naddr, const char *via)
{
    if (c->at_limit)
        return;
    c->at_limit = true;
    emit(m, LOGL_ERROR, "discovery-limit", c, NULL,
         json_pack("{s:s, s:s, s:i}", "addr", naddr, "via", via, "max_instances_per_cluster", max_instances(m)),
         "not adding %s (listed by %s): the cluster already holds %d servers and refused entries "
         "(max_instances_per_cluster); raise it if the cluster really is that large", naddr, via, max_instances(m));
}

static void refuse(monitor *m, mon_cluster *c, const topo_addr *a, const topo_instance *via, const char *via_text,
                   const char *reason, int64_t now_ms)
{
    char naddr[TOPO_ADDR_MAX];
    json_t *detail;
    topo_untrusted *u = topo_cluster_untrusted_find(&c->model, a);
    bool changed = !u || strcmp(u->reason, reason) != 0;
    topo_addr_str(a, naddr, sizeof(naddr));
    if (!u && c->model.n + c->model.n_untrusted >= (size_t)max_instances(m)) {
        at_limit(m, c, naddr, via_text);
        return;
    }
    u = topo_cluster_untrusted_set(&c->model, a, &via->addr, reason, mon_wall_s());
    if (!u)
        return;
    u->checked_ms = now_ms;
    if (!changed)
        return;
    c->version++;
    /* A flood of forged registrations must not flood the log and the event table. */
    if (now_ms - c->untrusted_window_ms >= 60000) {
        c->untrusted_window_ms = now_ms;
        c->untrusted_events = 0;
    }
    if (c->untrusted_events >= 20) {
        c->untrusted_suppressed++;
        return;
    }
    c->untrusted_events++;
    {
        char *ea = esc_dup(naddr), *er = esc_dup(reason);
        detail = ea && er ? json_pack("{s:s, s:s, s:s, s:i}", "addr", ea, "via", via_text, "reason", er,
                                      "suppressed", c->untrusted_suppressed)
                          : NULL;
        free(ea);
        free(er);
    }
    emit(m, LOGL_WARN, "instance-untrusted", c, NULL, detail,
         "%s not trusted with credentials, never probed: %s%s", naddr, reason,
         c->untrusted_suppressed ? " (more refused entries were not reported: see myorch topology)" : "");
    c->untrusted_suppressed = 0;
}

/* Refused entries the listing server no longer lists are dropped (the registration ended). */
static void sweep_untrusted(mon_cluster *c, const topo_instance *via)
{
    for (size_t k = c->model.n_untrusted; k-- > 0;) {
        const topo_untrusted *u = &c->model.untrusted[k];
        bool still = false;
        if (!topo_addr_eq(&u->via, &via->addr))
            continue;
        for (size_t r = 0; r < via->snap.n_replicas && !still; r++)
            still = topo_addr_eq(&via->snap.replicas[r].addr, &u->addr);
        if (!still) {
            topo_cluster_untrusted_remove(&c->model, k);
            c->version++;
        }
    }
}

/* The source and the replicas instance `in` knows about that the cluster does not. */
static void discover(monitor *m, mon_cluster *c, topo_instance *in, const char *addr)
{
    topo_addr found[TOPO_MAX_REPLICAS + 1];
    trust_ctx tc = {0};
    bool have_ctx = false;
    int64_t now_ms = probe_now_ms();
    size_t n;

    sweep_untrusted(c, in);
    n = topo_cluster_unknown_neighbours(&c->model, (size_t)index_of(c, in), found, TOPO_MAX_REPLICAS + 1);
    if (c->model.n + c->model.n_untrusted < (size_t)max_instances(m))
        c->at_limit = false;
    for (size_t k = 0; k < n; k++) {
        char err[256], naddr[TOPO_ADDR_MAX], reason[480];
        topo_instance *added = NULL;
        bool is_source = in->snap.replica.present && topo_addr_eq(&found[k], &in->snap.replica.source);
        const char *trusted_by = "source";
        topo_untrusted *u = NULL;
        topo_addr_str(&found[k], naddr, sizeof(naddr));
        if (!is_source) {
            trust_endpoint cand;
            u = topo_cluster_untrusted_find(&c->model, &found[k]);
            if (u && now_ms - u->checked_ms < 2000)
                continue; /* judged moments ago */
            if (!have_ctx) {
                if (trust_ctx_build(m, c, in, &tc) < 0)
                    break;
                have_ctx = true;
            }
            endpoint_of(m, found[k].host, &cand);
            if (!trust_decide(&c->trust, &cand, tc.seeds, tc.n_seeds, tc.listed, tc.n_listed,
                              in->snap.have_dump_hosts, tc.dumps, tc.n_dumps, addr, reason, sizeof(reason))) {
                refuse(m, c, &found[k], in, addr, reason, now_ms);
                continue;
            }
            trusted_by = c->trust.confirm ? "confirmed" : "allowed";
        }
        if (c->model.n + c->model.n_untrusted - (u ? 1 : 0) >= (size_t)max_instances(m)) {
            at_limit(m, c, naddr, addr);
            continue;
        }
        if (u) {
            topo_cluster_untrusted_remove(&c->model, (size_t)(u - c->model.untrusted));
            c->version++;
        }
        if (mon_add_instance(m, c, &found[k], false, &added, err, sizeof(err)) < 0) {
            emit(m, LOGL_ERROR, "instance-discovered", c, NULL, NULL, "cannot monitor %s: %s", naddr, err);
            continue;
        }
        snprintf(added->trusted_by, sizeof(added->trusted_by), "%s", trusted_by);
        emit(m, LOGL_INFO, "instance-discovered", c, added, json_pack("{s:s, s:s}", "via", addr, "trusted_by", trusted_by),
             "%s discovered as %s of %s (%s)", naddr, is_source ? "source" : "replica", addr,
             is_source ? "its source setting: trusted" : trusted_by);
    }
    if (have_ctx)
        trust_ctx_free(&tc);
}

/* Derive the cluster's model; its primary is then the probe engine's sentinel (probe_set_sentinel). */
static void derive_cluster(mon_cluster *c)
{
    topo_cluster_derive(&c->model);
    for (size_t i = 0; i < c->model.n; i++)
        if (c->model.v[i]->probe)
            probe_set_sentinel(c->model.v[i]->probe, (long)i == (long)c->model.primary);
    c->dirty = false;
}

static void on_result(void *user, probe_target *t, topo_snapshot *snap)
{
    monitor *m = user;
    mon_tag *tag = probe_tag(t);
    mon_cluster *c = tag->c;
    topo_instance *in = tag->in;
    int idx = index_of(c, in);
    int64_t now_s = mon_wall_s();
    unsigned changes;
    char addr[TOPO_ADDR_MAX];
    bool first_probe = !in->probed;
    bool ok = snap->ok;

    if (idx < 0)
        return;
    topo_addr_str(&in->addr, addr, sizeof(addr));
    changes = topo_cluster_update(&c->model, (size_t)idx, snap, now_s);
    mon_mark_dirty(c);
    if (ok && c->model.primary == idx)
        topo_cluster_note_primary_pos(&c->model, in, in->snap.taken_at_ms);
    if (changes)
        c->version++;

    if (ok) {
        int canon = topo_cluster_check_alias(&c->model, (size_t)idx);
        if (canon >= 0) {
            char caddr[TOPO_ADDR_MAX];
            topo_addr_str(&c->model.v[canon]->addr, caddr, sizeof(caddr));
            emit(m, LOGL_INFO, "instance-alias", c, in, json_pack("{s:s}", "canonical", caddr),
                 "%s is server %lu, already monitored as %s: dropping the alias", addr,
                 in->snap.server_id, caddr);
            mon_remove_instance(m, c, (size_t)idx);
            c->version++;
            return;
        }
    }
    if (changes & TOPO_CHANGE_UP) {
        if (first_probe)
            emit(m, LOGL_INFO, "instance-up", c, in, NULL, "%s reachable: %s %s, server_id %lu, %s", addr,
                 topo_flavor_name(in->snap.flavor), in->snap.version, in->snap.server_id,
                 in->snap.read_only ? "read-only" : "writable");
        else
            emit(m, LOGL_WARN, "instance-up", c, in, NULL, "%s is reachable again", addr);
    }
    if (changes & TOPO_CHANGE_DOWN)
        emit(m, first_probe ? LOGL_ERROR : LOGL_WARN, "instance-down", c, in,
             json_pack("{s:i}", "error_code", (int)in->err_code), "%s unreachable: %s%s", addr, in->err,
             error_hint(in->err_code));
    else if (changes & TOPO_CHANGE_ERROR)
        emit(m, LOGL_DEBUG, "instance-down", c, in, json_pack("{s:i}", "error_code", (int)in->err_code),
             "%s still unreachable: %s%s", addr, in->err, error_hint(in->err_code));
    if (ok && (changes & (TOPO_CHANGE_SOURCE | TOPO_CHANGE_THREADS)) && !first_probe) {
        const topo_replica_status *r = &in->snap.replica;
        char src[TOPO_ADDR_MAX];
        if (r->present)
            emit(m, (r->io_state == TOPO_THREAD_YES && r->sql_state == TOPO_THREAD_YES) ? LOGL_INFO : LOGL_WARN,
                 "replication-changed", c, in, NULL, "%s replicates from %s: io=%s sql=%s%s%s", addr,
                 topo_addr_str(&r->source, src, sizeof(src)), topo_thread_state_name(r->io_state),
                 topo_thread_state_name(r->sql_state), r->last_sql_error ? ", SQL error: " : "",
                 r->last_sql_error ? r->last_sql_error : "");
        else
            emit(m, LOGL_WARN, "replication-changed", c, in, NULL, "%s is no longer a replica", addr);
    }
    if (ok && (changes & TOPO_CHANGE_READ_ONLY) && !first_probe)
        emit(m, LOGL_INFO, "read-only-changed", c, in, NULL, "%s is now %s", addr,
             in->snap.read_only ? "read-only" : "writable");

    if (m->opt.on_probe)
        m->opt.on_probe(m->opt.user, c, in, changes);

    /* Discovery: the source and the replicas this server knows about. */
    if (ok)
        discover(m, c, in, addr);
    /* The first complete round: every known instance has answered or failed once. */
    if (!c->first_round_done) {
        bool all = true;
        for (size_t i = 0; i < c->model.n; i++)
            if (!c->model.v[i]->probed)
                all = false;
        if (all) {
            char p[TOPO_ADDR_MAX] = "(none)";
            size_t up = 0;
            c->first_round_done = true;
            derive_cluster(c);
            for (size_t i = 0; i < c->model.n; i++)
                up += c->model.v[i]->reachable;
            if (c->model.primary >= 0)
                topo_addr_str(&c->model.v[c->model.primary]->addr, p, sizeof(p));
            emit(m, LOGL_INFO, "cluster-probed", c, NULL, NULL,
                 "first probe round complete: %zu servers (%zu reachable), primary %s", c->model.n, up, p);
        }
    }
}

int mon_new(const mon_options *opt, monitor **out, char *err, size_t errlen)
{
    monitor *m = calloc(1, sizeof(*m));
    probe_options po;
    int rc;
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    m->opt = *opt;
    if (m->opt.forget_after_s <= 0)
        m->opt.forget_after_s = 3600;
    po.connect_timeout_ms = opt->connect_timeout_ms;
    po.read_timeout_ms = opt->read_timeout_ms;
    po.on_result = on_result;
    po.user = m;
    if ((rc = probe_engine_new(&po, &m->probe, err, errlen)) < 0) {
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void mon_free(monitor *m)
{
    if (!m)
        return;
    for (size_t k = 0; k < m->n_clusters; k++) {
        mon_cluster *c = m->clusters[k];
        for (size_t i = 0; i < c->model.n; i++) {
            probe_target *t = c->model.v[i]->probe;
            if (t) {
                free(probe_tag(t));
                probe_remove(t);
            }
        }
        topo_cluster_free(&c->model);
        if (c->password) {
            explicit_bzero(c->password, strlen(c->password));
            free(c->password);
        }
        free(c->lag_query);
        conn_params_free(&c->conn);
        trust_list_free(&c->trust.allow);
        free(c);
    }
    free(m->clusters);
    free(m->dirty_list);
    free(m->dns);
    probe_engine_free(m->probe);
    free(m);
}

int mon_add_cluster(monitor *m, const char *name, const char *user, const char *password,
                    const char *lag_query, int interval_ms, mon_cluster **out, char *err, size_t errlen)
{
    mon_cluster *c = calloc(1, sizeof(*c)), **v;
    if (!c)
        goto oom;
    topo_cluster_init(&c->model, name);
    if (fmt_checked(c->user, sizeof(c->user), err, errlen, "user", "%s", user ? user : "") < 0) {
        topo_cluster_free(&c->model);
        free(c);
        return -ENAMETOOLONG;
    }
    if (password && !(c->password = strdup(password)))
        goto oom;
    if (lag_query && *lag_query && !(c->lag_query = strdup(lag_query)))
        goto oom;
    c->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    c->trust.confirm = true; /* the safe default; mon_cluster_set_trust() changes it */
    c->detail_every = 1;
    v = realloc(m->clusters, (m->n_clusters + 1) * sizeof(*v));
    if (!v)
        goto oom;
    m->clusters = v;
    {
        size_t *dl = realloc(m->dirty_list, (m->n_clusters + 1) * sizeof(*dl));
        if (!dl)
            goto oom;
        m->dirty_list = dl;
    }
    c->mon = m;
    c->index = m->n_clusters;
    m->clusters[m->n_clusters++] = c;
    *out = c;
    return 0;
oom:
    if (c) {
        free(c->password);
        free(c->lag_query);
        free(c);
    }
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

int mon_set_conn(mon_cluster *c, const conn_params *p, char *err, size_t errlen)
{
    conn_params_owned o;
    if (conn_params_copy(&o, p) < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    conn_params_free(&c->conn);
    c->conn = o;
    return 0;
}

void mon_cluster_set_detail_every(mon_cluster *c, int every)
{
    c->detail_every = every > 1 ? every : 1;
}

int mon_cluster_set_trust(mon_cluster *c, const trust_list *allow, bool confirm)
{
    trust_list copy;
    if (trust_list_copy(&copy, allow) < 0)
        return -ENOMEM;
    trust_list_free(&c->trust.allow);
    c->trust.allow = copy;
    c->trust.confirm = confirm;
    return 0;
}

int mon_attach_instance(monitor *m, mon_cluster *c, topo_instance *in, char *err, size_t errlen)
{
    mon_tag *tag;
    probe_target *t;
    int rc;
    if (in->probe)
        return 0;
    tag = calloc(1, sizeof(*tag));
    if (!tag) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    tag->c = c;
    tag->in = in;
    rc = probe_add(m->probe, &in->addr, c->user, c->password, &c->conn.p, c->lag_query, c->interval_ms, tag, &t, err,
                   errlen);
    if (rc < 0) {
        free(tag);
        return rc;
    }
    in->probe = t;
    probe_set_detail_every(t, c->detail_every);
    mon_mark_dirty(c);
    return 0;
}

int mon_add_instance(monitor *m, mon_cluster *c, const topo_addr *addr, bool seed, topo_instance **out,
                     char *err, size_t errlen)
{
    topo_instance *in = topo_cluster_add(&c->model, addr, seed, mon_wall_s());
    int rc;
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if ((rc = mon_attach_instance(m, c, in, err, errlen)) < 0) {
        int idx = index_of(c, in);
        if (idx >= 0 && !in->probe)
            topo_cluster_remove(&c->model, (size_t)idx);
        return rc;
    }
    if (seed)
        snprintf(in->trusted_by, sizeof(in->trusted_by), "seed");
    c->version++;
    if (out)
        *out = in;
    return 0;
}

void mon_remove_instance(monitor *m, mon_cluster *c, size_t i)
{
    topo_instance *in;
    (void)m;
    if (i >= c->model.n)
        return;
    in = c->model.v[i];
    if (in->probe) {
        free(probe_tag(in->probe));
        probe_remove(in->probe);
        in->probe = NULL;
    }
    topo_cluster_remove(&c->model, i);
    mon_mark_dirty(c);
    c->version++;
}

size_t mon_cluster_count(const monitor *m) { return m->n_clusters; }
mon_cluster *mon_cluster_at(monitor *m, size_t i) { return i < m->n_clusters ? m->clusters[i] : NULL; }
probe_engine *mon_probe_engine(monitor *m) { return m->probe; }

mon_cluster *mon_find_cluster(monitor *m, const char *name)
{
    for (size_t i = 0; i < m->n_clusters; i++)
        if (strcmp(m->clusters[i]->model.name, name) == 0)
            return m->clusters[i];
    return NULL;
}

void mon_mark_dirty(mon_cluster *c)
{
    monitor *m = c->mon;
    if (c->dirty)
        return;
    c->dirty = true;
    if (!m)
        return; /* not in a monitor: whoever holds it derives it */
    if (m->n_dirty < m->n_clusters)
        m->dirty_list[m->n_dirty++] = c->index;
    else
        m->dirty_all = true; /* listed twice (derived in between): scan them all once */
}

void mon_derive(monitor *m)
{
    if (m->dirty_all) {
        for (size_t k = 0; k < m->n_clusters; k++)
            if (m->clusters[k]->dirty) {
                derive_cluster(m->clusters[k]);
            }
        m->dirty_all = false;
    } else {
        for (size_t k = 0; k < m->n_dirty; k++) {
            mon_cluster *c = m->clusters[m->dirty_list[k]];
            if (c->dirty) { /* not derived meanwhile (the first round derives at once) */
                derive_cluster(c);
            }
        }
    }
    m->n_dirty = 0;
}

void mon_tick(monitor *m, int64_t now_ms)
{
    int64_t now_s = mon_wall_s();
    if (now_ms - m->last_tick_ms >= 1000) {
        m->last_tick_ms = now_ms;
        for (size_t k = 0; k < m->n_clusters; k++) {
            mon_cluster *c = m->clusters[k];
            size_t idx[64];
            size_t n = topo_cluster_forgettable(&c->model, now_s, m->opt.forget_after_s, idx, 64);
            /* Remove from the highest index down so the others stay valid. */
            while (n-- > 0) {
                char addr[TOPO_ADDR_MAX];
                topo_instance *in = c->model.v[idx[n]];
                topo_addr_str(&in->addr, addr, sizeof(addr));
                emit(m, LOGL_WARN, "instance-forgotten", c, in, NULL,
                     "%s forgotten: unreachable for %llds (forget_after_s=%d)", addr,
                     (long long)(now_s - in->down_since_s), m->opt.forget_after_s);
                mon_remove_instance(m, c, idx[n]);
            }
            /* Refused entries whose listing server left the cluster. */
            for (size_t k = c->model.n_untrusted; k-- > 0;)
                if (topo_cluster_find(&c->model, &c->model.untrusted[k].via) < 0) {
                    topo_cluster_untrusted_remove(&c->model, k);
                    c->version++;
                }
        }
    }
    mon_derive(m);
}

void mon_set_fast(mon_cluster *c, bool on, int fast_ms)
{
    int ms = on && fast_ms < c->interval_ms ? fast_ms : c->interval_ms;
    for (size_t i = 0; i < c->model.n; i++)
        if (c->model.v[i]->probe) {
            probe_set_interval(c->model.v[i]->probe, ms);
            probe_set_urgent(c->model.v[i]->probe, on);
            if (on)
                probe_now(c->model.v[i]->probe);
        }
}

void mon_set_watch(topo_instance *in, bool on)
{
    if (in->probe)
        probe_set_watch(in->probe, on);
}

void mon_probe_instance_now(topo_instance *in)
{
    if (in->probe)
        probe_now(in->probe);
}

int64_t mon_waiting_since_ms(const topo_instance *in)
{
    return in->probe ? probe_waiting_since_ms(in->probe) : 0;
}

typedef struct {
    void (*fn)(void *user, mon_cluster *c, topo_instance *in);
    void *user;
} each_waiting;

static void each_waiting_target(void *user, probe_target *t)
{
    each_waiting *w = user;
    mon_tag *tag = probe_tag(t);
    if (tag)
        w->fn(w->user, tag->c, tag->in);
}

void mon_each_waiting(monitor *m, int64_t sent_before_ms, void (*fn)(void *user, mon_cluster *c, topo_instance *in),
                      void *user)
{
    each_waiting w = {.fn = fn, .user = user};
    probe_engine_each_waiting(m->probe, sent_before_ms, each_waiting_target, &w);
}

bool mon_answer_arrived(const topo_instance *in)
{
    return in->probe && probe_answer_arrived(in->probe);
}

void mon_probe_cluster_now(monitor *m, mon_cluster *c)
{
    (void)m;
    for (size_t i = 0; i < c->model.n; i++)
        if (c->model.v[i]->probe)
            probe_now(c->model.v[i]->probe);
}
