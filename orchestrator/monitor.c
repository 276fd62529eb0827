/* orchestrator/monitor.c — probe results → cluster models → events. */
#include "orchestrator/monitor.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orchestrator/log.h"

struct monitor {
    mon_options opt;
    probe_engine *probe;
    mon_cluster **clusters;
    size_t n_clusters;
    int64_t last_tick_ms;
};

/* The probe tag: which cluster an instance belongs to. */
typedef struct {
    mon_cluster *c;
    topo_instance *in;
} mon_tag;

int64_t mon_wall_s(void) { return (int64_t)time(NULL); }

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
    c->dirty = true;
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
    if (ok) {
        topo_addr found[TOPO_MAX_REPLICAS + 1];
        size_t n = topo_cluster_unknown_neighbours(&c->model, (size_t)index_of(c, in), found,
                                                   TOPO_MAX_REPLICAS + 1);
        for (size_t k = 0; k < n; k++) {
            char err[256], naddr[TOPO_ADDR_MAX];
            topo_instance *added = NULL;
            bool is_source = in->snap.replica.present && topo_addr_eq(&found[k], &in->snap.replica.source);
            topo_addr_str(&found[k], naddr, sizeof(naddr));
            if (mon_add_instance(m, c, &found[k], false, &added, err, sizeof(err)) < 0) {
                emit(m, LOGL_ERROR, "instance-discovered", c, NULL, NULL, "cannot monitor %s: %s", naddr, err);
                continue;
            }
            emit(m, LOGL_INFO, "instance-discovered", c, added, json_pack("{s:s}", "via", addr),
                 "%s discovered as %s of %s", naddr, is_source ? "source" : "replica", addr);
        }
    }
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
            topo_cluster_derive(&c->model);
            c->dirty = false;
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
        free(c);
    }
    free(m->clusters);
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
    v = realloc(m->clusters, (m->n_clusters + 1) * sizeof(*v));
    if (!v)
        goto oom;
    m->clusters = v;
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
    c->dirty = true;
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
    c->dirty = true;
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

void mon_derive(monitor *m)
{
    for (size_t k = 0; k < m->n_clusters; k++) {
        mon_cluster *c = m->clusters[k];
        if (c->dirty) {
            topo_cluster_derive(&c->model);
            c->dirty = false;
        }
    }
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
        }
    }
    mon_derive(m);
}

void mon_probe_cluster_now(monitor *m, mon_cluster *c)
{
    (void)m;
    for (size_t i = 0; i < c->model.n; i++)
        if (c->model.v[i]->probe)
            probe_now(c->model.v[i]->probe);
}
