/* topology/cluster.c — cluster model, discovery decisions, roles, renderings. */
#include "topology/cluster.h"
#include "topology/grow.h"

#include "topology/escape.h"
#include "topology/gtid.h"
#include "topology/strbuf.h"
#include "topology/dialect.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void topo_cluster_init(topo_cluster *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    fmt_checked(c->name, sizeof(c->name), NULL, 0, "cluster name", "%s", name); /* config: <= 40 chars */
    c->primary = -1;
}

static void instance_free(topo_instance *in)
{
    if (!in)
        return;
    free(in->fence_gtid);
    topo_snapshot_clear(&in->snap);
    free(in);
}

static void timeline_reset(topo_cluster *c)
{
    for (size_t k = 0; k < c->tl_n; k++)
        gtid_set_free(c->timeline[(c->tl_head + k) % TOPO_TIMELINE_MAX].pos);
    c->tl_head = c->tl_n = 0;
    free(c->tl_last_text);
    c->tl_last_text = NULL;
}

void topo_cluster_free(topo_cluster *c)
{
    timeline_reset(c);
    for (size_t i = 0; i < c->n; i++)
        instance_free(c->v[i]);
    free(c->v);
    free(c->aliases);
    free(c->untrusted);
    memset(c, 0, sizeof(*c));
    c->primary = -1;
}

int topo_cluster_find(const topo_cluster *c, const topo_addr *a)
{
    for (size_t i = 0; i < c->n; i++)
        if (topo_addr_eq(&c->v[i]->addr, a))
            return (int)i;
    for (size_t k = 0; k < c->n_aliases; k++)
        if (topo_addr_eq(&c->aliases[k].alias, a)) {
            for (size_t i = 0; i < c->n; i++)
                if (topo_addr_eq(&c->v[i]->addr, &c->aliases[k].canonical))
                    return (int)i;
        }
    return -1;
}

topo_instance *topo_cluster_add(topo_cluster *c, const topo_addr *a, bool seed, int64_t now_s)
{
    int idx = topo_cluster_find(c, a);
    topo_instance *in;
    if (idx >= 0) {
        if (seed)
            c->v[idx]->seed = true;
        return c->v[idx];
    }
    if (c->n == c->cap) {
        topo_instance **v = grow_array(c->v, &c->cap, sizeof(*v), 8);
        if (!v)
            return NULL;
        c->v = v;
    }
    in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->addr = *a;
    in->seed = seed;
    in->first_seen_s = now_s;
    in->parent = -1;
    in->timeline_lag_s = -1;
    in->behind_trx = -1;
    c->v[c->n++] = in;
    return in;
}

void topo_cluster_remove(topo_cluster *c, size_t i)
{
    if (i >= c->n)
        return;
    instance_free(c->v[i]);
    memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(c->v[0]));
    c->n--;
    topo_cluster_derive(c);
}

unsigned topo_cluster_update(topo_cluster *c, size_t i, topo_snapshot *snap, int64_t now_s)
{
    topo_instance *in = c->v[i];
    unsigned changes = 0;

    if (snap->ok) {
        if (!in->reachable)
            changes |= TOPO_CHANGE_UP;
        if (in->have_snap) {
            const topo_replica_status *o = &in->snap.replica, *n = &snap->replica;
            if (o->present != n->present ||
                (n->present && !topo_addr_eq(&o->source, &n->source)))
                changes |= TOPO_CHANGE_SOURCE;
            if (o->io_state != n->io_state || o->sql_state != n->sql_state)
                changes |= TOPO_CHANGE_THREADS;
            if (in->snap.read_only != snap->read_only)
                changes |= TOPO_CHANGE_READ_ONLY;
        } else if (snap->replica.present) {
            changes |= TOPO_CHANGE_SOURCE;
        }
        {
            /* Receive progress: keep the time the current mark was first seen. */
            const topo_replica_status *o = &in->snap.replica, *n = &snap->replica;
            bool known = n->present && n->received_heartbeats >= 0;
            bool same = known && in->have_snap && !in->stale && in->rx_since_ms > 0 && o->present &&
                        o->received_heartbeats >= 0 && topo_addr_eq(&o->source, &n->source) &&
                        o->io_state == n->io_state && topo_replica_rx_mark(o) == topo_replica_rx_mark(n);
            if (!known)
                in->rx_since_ms = 0;
            else if (!same)
                in->rx_since_ms = snap->taken_at_ms;
        }
        topo_snapshot_clear(&in->snap);
        memcpy(&in->snap, snap, sizeof(*snap));
        memset(snap, 0, sizeof(*snap));
        in->have_snap = true;
        in->stale = false;
        in->reachable = true;
        in->hung = false;
        in->err_code = 0;
        in->err[0] = '\0';
        in->last_ok_s = now_s;
        in->down_since_s = 0;
        in->down_since_ms = 0;
    } else {
        if (in->reachable || !in->probed)
            changes |= TOPO_CHANGE_DOWN;
        else if (strcmp(in->err, snap->error) != 0)
            changes |= TOPO_CHANGE_ERROR;
        in->reachable = false;
        in->hung = snap->answered;
        in->err_code = snap->error_code;
        snprintf(in->err, sizeof(in->err), "%s", snap->error);
        if (!in->down_since_s)
            in->down_since_s = now_s;
        if (!in->down_since_ms)
            in->down_since_ms = snap->taken_at_ms;
    }
    in->probed = true;
    return changes; /* roles are re-derived by the caller, once per loop turn */
}

static int add_alias(topo_cluster *c, const topo_addr *alias, const topo_addr *canonical)
{
    if (c->n_aliases == c->cap_aliases) {
        topo_alias *v = grow_array(c->aliases, &c->cap_aliases, sizeof(*v), 4);
        if (!v)
            return -ENOMEM;
        c->aliases = v;
    }
    c->aliases[c->n_aliases].alias = *alias;
    c->aliases[c->n_aliases].canonical = *canonical;
    c->n_aliases++;
    return 0;
}

int topo_cluster_check_alias(topo_cluster *c, size_t i)
{
    topo_instance *in = c->v[i];
    if (!in->reachable || !in->have_snap || in->snap.server_id == 0)
        return -1;
    for (size_t k = 0; k < c->n; k++) {
        topo_instance *o = c->v[k];
        if (k == i || !o->reachable || !o->have_snap || o->stale)
            continue;
        if (o->snap.server_id != in->snap.server_id)
            continue;
        /* MySQL: server_uuid is the stronger identity when present. */
        if (in->snap.server_uuid[0] && o->snap.server_uuid[0] &&
            strcmp(in->snap.server_uuid, o->snap.server_uuid) != 0)
            continue;
        /* Keep the seed / earlier one as canonical. */
        if (in->seed && !o->seed)
            continue;
        if (add_alias(c, &in->addr, &o->addr) < 0)
            return -1;
        return (int)k;
    }
    return -1;
}

static bool listed(const topo_addr *out, size_t n, const topo_addr *a)
{
    for (size_t k = 0; k < n; k++)
        if (topo_addr_eq(&out[k], a))
            return true;
    return false;
}

size_t topo_cluster_unknown_neighbours(const topo_cluster *c, size_t i, topo_addr *out, size_t max)
{
    const topo_instance *in = c->v[i];
    size_t n = 0;
    if (!in->have_snap || !in->reachable)
        return 0;
    if (in->snap.replica.present && in->snap.replica.source.host[0] && in->snap.replica.source.port > 0 &&
        topo_cluster_find(c, &in->snap.replica.source) < 0 && n < max &&
        !listed(out, n, &in->snap.replica.source))
        out[n++] = in->snap.replica.source;
    for (size_t r = 0; r < in->snap.n_replicas && n < max; r++) {
        const topo_addr *a = &in->snap.replicas[r].addr;
        if (!a->host[0] || a->port <= 0)
            continue;
        if (topo_cluster_find(c, a) < 0 && !listed(out, n, a))
            out[n++] = *a;
    }
    return n;
}

topo_untrusted *topo_cluster_untrusted_find(topo_cluster *c, const topo_addr *a)
{
    for (size_t k = 0; k < c->n_untrusted; k++)
        if (topo_addr_eq(&c->untrusted[k].addr, a))
            return &c->untrusted[k];
    return NULL;
}

topo_untrusted *topo_cluster_untrusted_set(topo_cluster *c, const topo_addr *a, const topo_addr *via,
                                           const char *reason, int64_t now_s)
{
    topo_untrusted *u = topo_cluster_untrusted_find(c, a);
    if (!u) {
        if (c->n_untrusted == c->cap_untrusted) {
            topo_untrusted *v = grow_array(c->untrusted, &c->cap_untrusted, sizeof(*v), 4);
            if (!v)
                return NULL;
            c->untrusted = v;
        }
        u = &c->untrusted[c->n_untrusted++];
        memset(u, 0, sizeof(*u));
        u->addr = *a;
        u->since_s = now_s;
    }
    u->via = *via;
    snprintf(u->reason, sizeof(u->reason), "%s", reason);
    return u;
}

void topo_cluster_untrusted_remove(topo_cluster *c, size_t i)
{
    if (i >= c->n_untrusted)
        return;
    memmove(&c->untrusted[i], &c->untrusted[i + 1], (c->n_untrusted - i - 1) * sizeof(c->untrusted[0]));
    c->n_untrusted--;
}

size_t topo_cluster_forgettable(const topo_cluster *c, int64_t now_s, int forget_after_s,
                                size_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n && n < max; i++) {
        const topo_instance *in = c->v[i];
        if (in->seed || in->reachable || !in->down_since_s)
            continue;
        if (now_s - in->down_since_s >= forget_after_s)
            out[n++] = i;
    }
    return n;
}

static const char *primary_pos_text(const topo_snapshot *s)
{
    return dialect_snap_own_gtid(s);
}

static const char *applied_pos_text(const topo_snapshot *s)
{
    return dialect_snap_applied_gtid(s);
}

static gtid_kind kind_of(const topo_snapshot *s)
{
    return dialect_gtid_kind(s->flavor);
}

void topo_cluster_note_primary_pos(topo_cluster *c, const topo_instance *p, int64_t at_ms)
{
    const char *text = p->have_snap ? primary_pos_text(&p->snap) : NULL;
    gtid_set *set = NULL;
    topo_pos_sample *slot;

    if (!text)
        return;
    if (!topo_addr_eq(&c->tl_primary, &p->addr)) {
        timeline_reset(c);
        c->tl_primary = p->addr;
    }
    if (c->tl_last_text && strcmp(c->tl_last_text, text) == 0)
        return;
    if (gtid_set_parse(kind_of(&p->snap), text, &set, NULL, 0) < 0)
        return;
    if (topo_strset(&c->tl_last_text, text) < 0) {
        gtid_set_free(set);
        return;
    }
    if (c->tl_n == TOPO_TIMELINE_MAX) {
        gtid_set_free(c->timeline[c->tl_head].pos);
        c->tl_head = (c->tl_head + 1) % TOPO_TIMELINE_MAX;
        c->tl_n--;
    }
    slot = &c->timeline[(c->tl_head + c->tl_n) % TOPO_TIMELINE_MAX];
    slot->at_ms = at_ms;
    slot->pos = set;
    c->tl_n++;
}

size_t topo_timeline_seen(const topo_cluster *c, int64_t taken_at_ms)
{
    size_t n_seen = 0;
    while (n_seen < c->tl_n && c->timeline[(c->tl_head + n_seen) % TOPO_TIMELINE_MAX].at_ms <= taken_at_ms)
        n_seen++;
    return n_seen;
}

size_t topo_timeline_first_missing(const topo_cluster *c, size_t n_seen, const gtid_set *has)
{
    size_t lo = 0, hi = n_seen;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (gtid_set_is_subset(c->timeline[(c->tl_head + mid) % TOPO_TIMELINE_MAX].pos, has))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Timeline lag and transactions behind for one replica. */
static void timeline_lag(topo_cluster *c, topo_instance *in)
{
    const char *text;
    gtid_set *applied = NULL, *missing = NULL;
    size_t lo, n_seen;

    in->timeline_lag_s = -1;
    in->timeline_lag_lower_bound = false;
    in->behind_trx = -1;
    if (!in->have_snap || !in->reachable || !in->snap.replica.present || c->tl_n == 0)
        return;
    text = applied_pos_text(&in->snap);
    if (gtid_set_parse(kind_of(&in->snap), text ? text : "", &applied, NULL, 0) < 0)
        return;
    /* Only samples the replica could have seen: taken before its probe. */
    n_seen = topo_timeline_seen(c, in->snap.taken_at_ms);
    if (n_seen == 0)
        goto out;
    if (gtid_set_kind(c->timeline[c->tl_head].pos) != gtid_set_kind(applied))
        goto out;
    lo = topo_timeline_first_missing(c, n_seen, applied);
    if (lo == n_seen) {
        in->timeline_lag_s = 0;
    } else {
        int64_t since = c->timeline[(c->tl_head + lo) % TOPO_TIMELINE_MAX].at_ms;
        in->timeline_lag_s = (double)(in->snap.taken_at_ms - since) / 1000.0;
        in->timeline_lag_lower_bound = lo == 0 && c->tl_n == TOPO_TIMELINE_MAX;
    }
    if (gtid_set_subtract(c->timeline[(c->tl_head + n_seen - 1) % TOPO_TIMELINE_MAX].pos, applied, &missing) == 0)
        in->behind_trx = (int64_t)(gtid_set_count(missing) > INT64_MAX ? INT64_MAX : gtid_set_count(missing));
out:
    gtid_set_free(missing);
    gtid_set_free(applied);
}

/* Index of the member instance `in` replicates from, or -1. */
static int find_parent(const topo_cluster *c, size_t i)
{
    const topo_instance *in = c->v[i];
    const topo_replica_status *r = &in->snap.replica;
    if (!in->have_snap || !r->present)
        return -1;
    int p = topo_cluster_find(c, &r->source);
    if (p >= 0 && (size_t)p != i)
        return p;
    /* Fall back to the source's server id (the source may be known under another name). */
    if (r->source_server_id) {
        for (size_t k = 0; k < c->n; k++)
            if (k != i && c->v[k]->have_snap && c->v[k]->snap.server_id == r->source_server_id)
                return (int)k;
    }
    return -1;
}

void topo_cluster_derive(topo_cluster *c)
{
    size_t best_root = (size_t)-1;
    int best_size = -1;
    bool best_writable = false, best_reachable = false;

    for (size_t i = 0; i < c->n; i++) {
        c->v[i]->parent = find_parent(c, i);
        c->v[i]->depth = 0;
    }
    /* Depth (and cycle guard): walk up at most n steps. */
    for (size_t i = 0; i < c->n; i++) {
        int d = 0, p = c->v[i]->parent;
        while (p >= 0 && d <= (int)c->n) {
            d++;
            p = c->v[p]->parent;
        }
        if (d > (int)c->n) { /* replication cycle (e.g. co-primaries): break it here */
            c->v[i]->parent = -1;
            d = 0;
        }
        c->v[i]->depth = d;
    }
    /* The primary: the root whose tree is largest; ties → reachable, writable, then first. */
    for (size_t i = 0; i < c->n; i++) {
        topo_instance *in = c->v[i];
        int size = 0;
        if (in->parent >= 0 || !in->have_snap || in->fenced)
            continue;
        for (size_t k = 0; k < c->n; k++) {
            int p = (int)k;
            while (p >= 0 && (size_t)p != i)
                p = c->v[p]->parent;
            if (p == (int)i)
                size++;
        }
        bool writable = !in->snap.read_only;
        if (size > best_size ||
            (size == best_size && in->reachable && !best_reachable) ||
            (size == best_size && in->reachable == best_reachable && writable && !best_writable)) {
            best_root = i;
            best_size = size;
            best_writable = writable;
            best_reachable = in->reachable;
        }
    }
    c->primary = best_root == (size_t)-1 ? -1 : (int)best_root;
    for (size_t i = 0; i < c->n; i++) {
        topo_instance *in = c->v[i];
        if (!in->have_snap)
            in->role = TOPO_ROLE_UNKNOWN;
        else if ((int)i == c->primary)
            in->role = TOPO_ROLE_PRIMARY;
        else if (in->parent >= 0)
            in->role = TOPO_ROLE_REPLICA;
        else if (in->snap.replica.present)
            in->role = TOPO_ROLE_REPLICA; /* replicating from a server we do not reach */
        else
            in->role = TOPO_ROLE_DETACHED;
    }
    for (size_t i = 0; i < c->n; i++)
        timeline_lag(c, c->v[i]);
}

const char *topo_role_name(topo_role r)
{
    switch (r) {
    case TOPO_ROLE_PRIMARY: return "primary";
    case TOPO_ROLE_REPLICA: return "replica";
    case TOPO_ROLE_DETACHED: return "detached";
    default: return "unknown";
    }
}

const char *topo_instance_gtid(const topo_instance *in)
{
    const topo_snapshot *s = &in->snap;
    const char *g = NULL;
    if (!in->have_snap)
        return "";
    g = s->replica.present ? dialect_snap_applied_gtid(s) : dialect_snap_own_gtid(s);
    if (!g)
        g = s->gtid_current_pos; /* MariaDB without a binary log position; NULL on MySQL */
    return g ? g : "";
}

double topo_instance_lag_s(const topo_instance *in)
{
    if (!in->have_snap || !in->snap.replica.present)
        return -1;
    if (in->snap.has_lag_query && in->snap.lag_query_s >= 0)
        return in->snap.lag_query_s;
    if (in->snap.replica.seconds_behind >= 0)
        return (double)in->snap.replica.seconds_behind;
    return in->timeline_lag_s;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *coord_json(const topo_coord *c)
{
    if (!c->file[0])
        return json_null();
    return json_pack("{s:s, s:I}", "file", c->file, "pos", (json_int_t)c->pos);
}

static void coord_from_json(const json_t *j, topo_coord *c)
{
    const char *f = json_string_value(json_object_get(j, "file"));
    memset(c, 0, sizeof(*c));
    if (f) {
        /* A stored name that does not fit stays unknown: never a shorter, other file. */
        if (fmt_checked(c->file, sizeof(c->file), NULL, 0, "binlog file", "%s", f) == 0)
            c->pos = (uint64_t)json_integer_value(json_object_get(j, "pos"));
    }
}

json_t *topo_snapshot_to_json(const topo_snapshot *s)
{
    char addr[TOPO_ADDR_MAX];
    const topo_replica_status *r = &s->replica;
    json_t *j = json_object(), *rep, *reps, *semi;
    json_object_set_new(j, "ok", json_boolean(s->ok));
    json_object_set_new(j, "server_id", json_integer((json_int_t)s->server_id));
    json_object_set_new(j, "version", json_string(s->version));
    json_object_set_new(j, "flavor", json_string(topo_flavor_name(s->flavor)));
    json_object_set_new(j, "server_uuid", s->server_uuid[0] ? json_string(s->server_uuid) : json_null());
    json_object_set_new(j, "read_only", json_boolean(s->read_only));
    json_object_set_new(j, "super_read_only", json_boolean(s->super_read_only));
    json_object_set_new(j, "log_bin", json_boolean(s->log_bin));
    json_object_set_new(j, "log_replica_updates", json_boolean(s->log_replica_updates));
    json_object_set_new(j, "binlog_format", json_string(s->binlog_format));
    json_object_set_new(j, "gtid_binlog_pos", jstr(s->gtid_binlog_pos));
    json_object_set_new(j, "gtid_current_pos", jstr(s->gtid_current_pos));
    json_object_set_new(j, "gtid_slave_pos", jstr(s->gtid_slave_pos));
    json_object_set_new(j, "gtid_executed", jstr(s->gtid_executed));
    json_object_set_new(j, "gtid_purged", jstr(s->gtid_purged));
    json_object_set_new(j, "gtid_mode_on", json_boolean(s->gtid_mode_on));
    json_object_set_new(j, "binlog_coord", coord_json(&s->binlog_coord));
    json_object_set_new(j, "probe_latency_ms", json_integer(s->probe_latency_ms));
    if (r->present) {
        rep = json_object();
        json_object_set_new(rep, "source", json_string(topo_addr_str(&r->source, addr, sizeof(addr))));
        json_object_set_new(rep, "source_host", json_string(r->source.host));
        json_object_set_new(rep, "source_port", json_integer(r->source.port));
        json_object_set_new(rep, "source_server_id", json_integer((json_int_t)r->source_server_id));
        json_object_set_new(rep, "source_uuid", r->source_uuid[0] ? json_string(r->source_uuid) : json_null());
        json_object_set_new(rep, "io_running", json_string(topo_thread_state_name(r->io_state)));
        json_object_set_new(rep, "sql_running", json_string(topo_thread_state_name(r->sql_state)));
        json_object_set_new(rep, "io_state", json_string(r->io_state_text));
        json_object_set_new(rep, "read_coord", coord_json(&r->read_coord));
        json_object_set_new(rep, "exec_coord", coord_json(&r->exec_coord));
        json_object_set_new(rep, "relay_coord", coord_json(&r->relay_coord));
        json_object_set_new(rep, "received_gtid", jstr(r->received_gtid));
        json_object_set_new(rep, "executed_gtid", jstr(r->executed_gtid));
        json_object_set_new(rep, "using_gtid", json_boolean(r->using_gtid));
        json_object_set_new(rep, "using_gtid_mode", json_string(r->using_gtid_mode));
        json_object_set_new(rep, "seconds_behind",
                            r->seconds_behind >= 0 ? json_integer(r->seconds_behind) : json_null());
        json_object_set_new(rep, "sql_delay_s", json_integer(r->sql_delay_s));
        json_object_set_new(rep, "last_io_errno", json_integer(r->last_io_errno));
        json_object_set_new(rep, "last_io_error", jstr(r->last_io_error));
        json_object_set_new(rep, "last_sql_errno", json_integer(r->last_sql_errno));
        json_object_set_new(rep, "last_sql_error", jstr(r->last_sql_error));
        json_object_set_new(rep, "heartbeat_period_ms", json_integer(r->heartbeat_period_ms));
        json_object_set_new(rep, "received_heartbeats", json_integer(r->received_heartbeats));
    } else {
        rep = json_null();
    }
    json_object_set_new(j, "replication", rep);
    semi = json_pack("{s:b, s:b, s:b, s:b, s:I, s:I}", "source_enabled", s->semisync.source_enabled,
                     "replica_enabled", s->semisync.replica_enabled, "source_status_on",
                     s->semisync.source_status_on, "replica_status_on", s->semisync.replica_status_on,
                     "source_clients", (json_int_t)s->semisync.source_clients, "source_timeout_ms",
                     (json_int_t)s->semisync.source_timeout_ms);
    if (semi) {
        /* The spelling its plugins have: a restarted controller sends the right SET names. */
        static const char *const nm[] = {"", "master_slave", "source_replica"};
        json_object_set_new(semi, "source_names", json_string(nm[s->semisync.source_names % 3]));
        json_object_set_new(semi, "replica_names", json_string(nm[s->semisync.replica_names % 3]));
    }
    json_object_set_new(j, "semi_sync", semi);
    reps = json_array();
    for (size_t k = 0; k < s->n_replicas; k++)
        json_array_append_new(reps, json_pack("{s:I, s:s}", "server_id",
                                              (json_int_t)s->replicas[k].server_id, "addr",
                                              topo_addr_str(&s->replicas[k].addr, addr, sizeof(addr))));
    json_object_set_new(j, "replicas", reps);
    json_object_set_new(j, "lag_query_s", s->has_lag_query && s->lag_query_s >= 0
                                              ? json_real(s->lag_query_s) : json_null());
    return j;
}

static void jcopy(char *dst, size_t len, const json_t *v)
{
    const char *s = json_string_value(v);
    fmt_checked(dst, len, NULL, 0, "value", "%s", s ? s : ""); /* too long: "" (unknown), never cut */
}

static int jdup(char **dst, const json_t *v)
{
    return topo_strset(dst, json_string_value(v));
}

int topo_snapshot_from_json(const json_t *j, topo_snapshot *s)
{
    const json_t *rep, *semi, *reps;
    char err[128];
    topo_snapshot_clear(s);
    if (!json_is_object(j))
        return -EINVAL;
    s->ok = json_is_true(json_object_get(j, "ok"));
    s->server_id = (unsigned long)json_integer_value(json_object_get(j, "server_id"));
    jcopy(s->version, sizeof(s->version), json_object_get(j, "version"));
    {
        const char *f = json_string_value(json_object_get(j, "flavor"));
        s->flavor = f && !strcmp(f, "mariadb") ? TOPO_FLAVOR_MARIADB
                    : f && !strcmp(f, "mysql") ? TOPO_FLAVOR_MYSQL : TOPO_FLAVOR_UNKNOWN;
    }
    jcopy(s->server_uuid, sizeof(s->server_uuid), json_object_get(j, "server_uuid"));
    s->read_only = json_is_true(json_object_get(j, "read_only"));
    s->super_read_only = json_is_true(json_object_get(j, "super_read_only"));
    s->log_bin = json_is_true(json_object_get(j, "log_bin"));
    s->log_replica_updates = json_is_true(json_object_get(j, "log_replica_updates"));
    jcopy(s->binlog_format, sizeof(s->binlog_format), json_object_get(j, "binlog_format"));
    s->gtid_mode_on = json_is_true(json_object_get(j, "gtid_mode_on"));
    if (jdup(&s->gtid_binlog_pos, json_object_get(j, "gtid_binlog_pos")) ||
        jdup(&s->gtid_current_pos, json_object_get(j, "gtid_current_pos")) ||
        jdup(&s->gtid_slave_pos, json_object_get(j, "gtid_slave_pos")) ||
        jdup(&s->gtid_executed, json_object_get(j, "gtid_executed")) ||
        jdup(&s->gtid_purged, json_object_get(j, "gtid_purged")))
        goto oom;
    coord_from_json(json_object_get(j, "binlog_coord"), &s->binlog_coord);
    rep = json_object_get(j, "replication");
    if (json_is_object(rep)) {
        topo_replica_status *r = &s->replica;
        r->present = true;
        r->source.port = (int)json_integer_value(json_object_get(rep, "source_port"));
        jcopy(r->source.host, sizeof(r->source.host), json_object_get(rep, "source_host"));
        r->source_server_id = (unsigned long)json_integer_value(json_object_get(rep, "source_server_id"));
        jcopy(r->source_uuid, sizeof(r->source_uuid), json_object_get(rep, "source_uuid"));
        r->io_state = topo_thread_state_parse(json_string_value(json_object_get(rep, "io_running")));
        r->sql_state = topo_thread_state_parse(json_string_value(json_object_get(rep, "sql_running")));
        jcopy(r->io_state_text, sizeof(r->io_state_text), json_object_get(rep, "io_state"));
        coord_from_json(json_object_get(rep, "read_coord"), &r->read_coord);
        coord_from_json(json_object_get(rep, "exec_coord"), &r->exec_coord);
        coord_from_json(json_object_get(rep, "relay_coord"), &r->relay_coord);
        if (jdup(&r->received_gtid, json_object_get(rep, "received_gtid")) ||
            jdup(&r->executed_gtid, json_object_get(rep, "executed_gtid")) ||
            jdup(&r->last_io_error, json_object_get(rep, "last_io_error")) ||
            jdup(&r->last_sql_error, json_object_get(rep, "last_sql_error")))
            goto oom;
        r->using_gtid = json_is_true(json_object_get(rep, "using_gtid"));
        jcopy(r->using_gtid_mode, sizeof(r->using_gtid_mode), json_object_get(rep, "using_gtid_mode"));
        {
            json_t *sb = json_object_get(rep, "seconds_behind");
            r->seconds_behind = json_is_integer(sb) ? json_integer_value(sb) : -1;
        }
        r->sql_delay_s = json_integer_value(json_object_get(rep, "sql_delay_s"));
        r->last_io_errno = (unsigned)json_integer_value(json_object_get(rep, "last_io_errno"));
        r->last_sql_errno = (unsigned)json_integer_value(json_object_get(rep, "last_sql_errno"));
        r->heartbeat_period_ms = json_integer_value(json_object_get(rep, "heartbeat_period_ms"));
        r->received_heartbeats = json_is_integer(json_object_get(rep, "received_heartbeats"))
                                     ? json_integer_value(json_object_get(rep, "received_heartbeats"))
                                     : -1;
    }
    semi = json_object_get(j, "semi_sync");
    if (json_is_object(semi)) {
        s->semisync.source_enabled = json_is_true(json_object_get(semi, "source_enabled"));
        s->semisync.replica_enabled = json_is_true(json_object_get(semi, "replica_enabled"));
        s->semisync.source_status_on = json_is_true(json_object_get(semi, "source_status_on"));
        s->semisync.replica_status_on = json_is_true(json_object_get(semi, "replica_status_on"));
        s->semisync.source_clients = json_integer_value(json_object_get(semi, "source_clients"));
        s->semisync.source_timeout_ms = json_integer_value(json_object_get(semi, "source_timeout_ms"));
        for (int side = 0; side < 2; side++) {
            const char *v = json_string_value(json_object_get(semi, side ? "replica_names" : "source_names"));
            topo_semisync_names n = v && !strcmp(v, "master_slave")     ? TOPO_SEMISYNC_NAMES_MASTER_SLAVE
                                    : v && !strcmp(v, "source_replica") ? TOPO_SEMISYNC_NAMES_SOURCE_REPLICA
                                                                        : TOPO_SEMISYNC_NAMES_NONE;
            if (side)
                s->semisync.replica_names = n;
            else
                s->semisync.source_names = n;
        }
    }
    reps = json_object_get(j, "replicas");
    if (json_is_array(reps) && json_array_size(reps)) {
        size_t k, cap = json_array_size(reps) < TOPO_MAX_REPLICAS ? json_array_size(reps) : TOPO_MAX_REPLICAS;
        json_t *v;
        if (!(s->replicas = calloc(cap, sizeof(*s->replicas))))
            goto oom;
        json_array_foreach(reps, k, v) {
            if (s->n_replicas >= TOPO_MAX_REPLICAS)
                break;
            const char *a = json_string_value(json_object_get(v, "addr"));
            if (!a || topo_addr_parse(a, 0, &s->replicas[s->n_replicas].addr, err, sizeof(err)) < 0)
                continue;
            s->replicas[s->n_replicas].server_id = (unsigned long)json_integer_value(json_object_get(v, "server_id"));
            s->n_replicas++;
        }
    }
    {
        json_t *lq = json_object_get(j, "lag_query_s");
        s->has_lag_query = json_is_number(lq);
        s->lag_query_s = json_is_number(lq) ? json_number_value(lq) : -1;
    }
    return 0;
oom:
    topo_snapshot_clear(s);
    return -ENOMEM;
}

json_t *topo_instance_to_json(const topo_instance *in, int64_t now_s)
{
    char addr[TOPO_ADDR_MAX];
    json_t *j = json_object();
    double lag = topo_instance_lag_s(in);
    json_object_set_new(j, "addr", json_string(topo_addr_str(&in->addr, addr, sizeof(addr))));
    json_object_set_new(j, "role", json_string(topo_role_name(in->role)));
    json_object_set_new(j, "reachable", json_boolean(in->reachable));
    json_object_set_new(j, "probed", json_boolean(in->probed));
    json_object_set_new(j, "stale", json_boolean(in->stale));
    json_object_set_new(j, "seed", json_boolean(in->seed));
    json_object_set_new(j, "fenced", json_boolean(in->fenced));
    json_object_set_new(j, "trusted_by", in->trusted_by[0] ? json_string(in->trusted_by) : json_null());
    json_object_set_new(j, "depth", json_integer(in->depth));
    json_object_set_new(j, "error", in->reachable || !in->probed ? json_null() : json_string(in->err));
    json_object_set_new(j, "error_code", json_integer(in->err_code));
    json_object_set_new(j, "first_seen", json_integer(in->first_seen_s));
    json_object_set_new(j, "last_ok", in->last_ok_s ? json_integer(in->last_ok_s) : json_null());
    json_object_set_new(j, "last_ok_ago_s",
                        in->last_ok_s && now_s >= in->last_ok_s ? json_integer(now_s - in->last_ok_s) : json_null());
    json_object_set_new(j, "down_for_s", in->down_since_s ? json_integer(now_s - in->down_since_s) : json_null());
    json_object_set_new(j, "gtid", json_string(topo_instance_gtid(in)));
    json_object_set_new(j, "lag_s", lag >= 0 ? json_real(lag) : json_null());
    json_object_set_new(j, "lag_source",
                        lag < 0 ? json_null()
                        : (in->snap.has_lag_query && in->snap.lag_query_s >= 0) ? json_string("lag_query")
                        : in->snap.replica.seconds_behind >= 0 ? json_string("seconds_behind")
                                                               : json_string("gtid_timeline"));
    json_object_set_new(j, "timeline_lag_s", in->timeline_lag_s >= 0 ? json_real(in->timeline_lag_s) : json_null());
    json_object_set_new(j, "timeline_lag_lower_bound", json_boolean(in->timeline_lag_lower_bound));
    json_object_set_new(j, "behind_trx", in->behind_trx >= 0 ? json_integer(in->behind_trx) : json_null());
    json_object_set_new(j, "snapshot", in->have_snap ? topo_snapshot_to_json(&in->snap) : json_null());
    return j;
}

json_t *topo_cluster_to_json(const topo_cluster *c, int64_t now_s)
{
    char addr[TOPO_ADDR_MAX];
    json_t *j = json_object(), *arr = json_array();
    size_t up = 0;
    for (size_t i = 0; i < c->n; i++) {
        json_t *ij = topo_instance_to_json(c->v[i], now_s);
        int p = c->v[i]->parent;
        json_object_set_new(ij, "parent", p >= 0 ? json_string(topo_addr_str(&c->v[p]->addr, addr, sizeof(addr)))
                                                 : json_null());
        json_array_append_new(arr, ij);
        if (c->v[i]->reachable)
            up++;
    }
    json_object_set_new(j, "name", json_string(c->name));
    json_object_set_new(j, "primary", c->primary >= 0
                                          ? json_string(topo_addr_str(&c->v[c->primary]->addr, addr, sizeof(addr)))
                                          : json_null());
    json_object_set_new(j, "servers", json_integer((json_int_t)c->n));
    json_object_set_new(j, "reachable", json_integer((json_int_t)up));
    json_object_set_new(j, "instances", arr);
    arr = json_array();
    for (size_t k = 0; k < c->n_untrusted; k++) {
        const topo_untrusted *u = &c->untrusted[k];
        char via[TOPO_ADDR_MAX];
        /* Whatever a registration claims (not even valid UTF-8): escaped, so it is always shown. */
        char *ea = esc_dup(topo_addr_str(&u->addr, addr, sizeof(addr)));
        char *er = esc_dup(u->reason);
        if (ea && er)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "addr", ea, "via",
                                                 topo_addr_str(&u->via, via, sizeof(via)), "reason", er,
                                                 "since", (json_int_t)u->since_s));
        free(ea);
        free(er);
    }
    json_object_set_new(j, "untrusted", arr);
    return j;
}

/* ---- text tree ------------------------------------------------------------- */

#define C(color, s) (color ? s : "")

/* Server-reported text, escaped (topology/escape.h). */
static void put(FILE *out, const char *s) { esc_fputs(s ? s : "?", out); }

static void render_one(const json_t *in, FILE *out, bool color)
{
    const char *addr = json_string_value(json_object_get(in, "addr"));
    const char *role = json_string_value(json_object_get(in, "role"));
    const json_t *snap = json_object_get(in, "snapshot");
    const json_t *rep = json_object_get(snap, "replication");
    bool reachable = json_is_true(json_object_get(in, "reachable"));
    bool probed = json_is_true(json_object_get(in, "probed"));

    fprintf(out, "%s", C(color, "\033[1m"));
    put(out, addr);
    fprintf(out, "%s  ", C(color, "\033[0m"));
    put(out, role);
    if (json_is_true(json_object_get(in, "fenced")))
        fprintf(out, "  %sFENCED%s", C(color, "\033[35;1m"), C(color, "\033[0m"));
    if (!reachable) {
        const char *e = json_string_value(json_object_get(in, "error"));
        if (probed)
            fprintf(out, "  %sDOWN%s", C(color, "\033[31;1m"), C(color, "\033[0m"));
        else
            fprintf(out, "  (not probed yet)");
        if (json_is_integer(json_object_get(in, "down_for_s")))
            fprintf(out, " %llds", (long long)json_integer_value(json_object_get(in, "down_for_s")));
        if (e) {
            fputs("  ", out);
            put(out, e);
        }
        if (!json_is_object(snap)) {
            fputc('\n', out);
            return;
        }
        /* What follows is the last snapshot, not the present: say when it was taken. */
        if (json_is_integer(json_object_get(in, "last_ok_ago_s")))
            fprintf(out, "  last seen %llds ago as:",
                    (long long)json_integer_value(json_object_get(in, "last_ok_ago_s")));
        else
            fprintf(out, "  last seen (before the controller started) as:");
    }
    if (json_is_object(snap)) {
        bool ro = json_is_true(json_object_get(snap, "read_only"));
        bool sro = json_is_true(json_object_get(snap, "super_read_only"));
        const char *gtid = json_string_value(json_object_get(in, "gtid"));
        fprintf(out, "  %s  ", sro ? "super-ro" : ro ? "ro" : "rw");
        put(out, json_string_value(json_object_get(snap, "flavor")));
        fputc(' ', out);
        put(out, json_string_value(json_object_get(snap, "version")));
        fprintf(out, "  id=%lld", (long long)json_integer_value(json_object_get(snap, "server_id")));
        if (json_is_object(rep)) {
            const char *io = json_string_value(json_object_get(rep, "io_running"));
            const char *sql = json_string_value(json_object_get(rep, "sql_running"));
            bool bad = !io || !sql || strcmp(io, "Yes") || strcmp(sql, "Yes");
            json_t *lag = json_object_get(in, "lag_s");
            fprintf(out, "  %sio=", C(color && bad, "\033[33;1m"));
            put(out, io);
            fputs(" sql=", out);
            put(out, sql);
            fprintf(out, "%s", C(color && bad, "\033[0m"));
            if (json_is_number(lag))
                fprintf(out, " lag=%s%.1fs", json_is_true(json_object_get(in, "timeline_lag_lower_bound")) ? ">=" : "",
                        json_number_value(lag));
            else
                fprintf(out, " lag=?");
            if (json_integer_value(json_object_get(in, "behind_trx")) > 0)
                fprintf(out, " behind=%lldtrx", (long long)json_integer_value(json_object_get(in, "behind_trx")));
            if (json_integer_value(json_object_get(rep, "sql_delay_s")) > 0)
                fprintf(out, " delay=%llds", (long long)json_integer_value(json_object_get(rep, "sql_delay_s")));
        }
        fputs("  gtid=", out);
        put(out, gtid && *gtid ? gtid : "-");
        if (json_is_object(rep)) {
            const char *ioe = json_string_value(json_object_get(rep, "last_io_error"));
            const char *sqle = json_string_value(json_object_get(rep, "last_sql_error"));
            if (ioe) {
                fprintf(out, "\n      %sIO error %lld: ", C(color, "\033[31m"),
                        (long long)json_integer_value(json_object_get(rep, "last_io_errno")));
                put(out, ioe);
                fprintf(out, "%s", C(color, "\033[0m"));
            }
            if (sqle) {
                fprintf(out, "\n      %sSQL error %lld: ", C(color, "\033[31m"),
                        (long long)json_integer_value(json_object_get(rep, "last_sql_errno")));
                put(out, sqle);
                fprintf(out, "%s", C(color, "\033[0m"));
            }
        }
    }
    fputc('\n', out);
}

static void render_children(const json_t *insts, const char *parent, const char *prefix, FILE *out,
                            bool color, int guard)
{
    size_t n = json_array_size(insts), last = (size_t)-1, i;
    if (guard > 64)
        return;
    for (i = 0; i < n; i++) {
        const char *p = json_string_value(json_object_get(json_array_get(insts, i), "parent"));
        if (p && !strcmp(p, parent))
            last = i;
    }
    for (i = 0; i < n; i++) {
        const json_t *in = json_array_get(insts, i);
        const char *p = json_string_value(json_object_get(in, "parent"));
        char sub[600];
        if (!p || strcmp(p, parent))
            continue;
        fprintf(out, "%s%s", prefix, i == last ? "└─ " : "├─ ");
        render_one(in, out, color);
        if (strlen(prefix) + 8 > sizeof(sub))
            continue; /* deeper than any sane chain; the guard stops recursion too */
        snprintf(sub, sizeof(sub), "%.500s%s", prefix, i == last ? "   " : "│  ");
        render_children(insts, json_string_value(json_object_get(in, "addr")), sub, out, color, guard + 1);
    }
}

void topo_render_text(const json_t *cj, FILE *out, bool color)
{
    const json_t *insts = json_object_get(cj, "instances");
    const char *primary = json_string_value(json_object_get(cj, "primary"));
    size_t n = json_array_size(insts), i;

    fprintf(out, "%scluster ", C(color, "\033[1m"));
    put(out, json_string_value(json_object_get(cj, "name")));
    fprintf(out, "%s  primary=", C(color, "\033[0m"));
    put(out, primary ? primary : "(none)");
    fprintf(out, "  servers=%lld reachable=%lld\n", (long long)json_integer_value(json_object_get(cj, "servers")),
            (long long)json_integer_value(json_object_get(cj, "reachable")));
    /* Roots first (the primary first of all), each with its subtree. */
    for (int pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            const json_t *in = json_array_get(insts, i);
            const char *addr = json_string_value(json_object_get(in, "addr"));
            bool is_primary = primary && addr && !strcmp(addr, primary);
            if (!json_is_null(json_object_get(in, "parent")))
                continue;
            if ((pass == 0) != is_primary)
                continue;
            render_one(in, out, color);
            render_children(insts, addr, "", out, color, 0);
        }
    }
    /* Replica-list entries refused credentials (topology/trust.h): never probed. */
    insts = json_object_get(cj, "untrusted");
    for (i = 0; i < json_array_size(insts); i++) {
        const json_t *u = json_array_get(insts, i);
        fprintf(out, "%s", C(color, "\033[1m"));
        put(out, json_string_value(json_object_get(u, "addr")));
        fprintf(out, "%s  %suntrusted%s  listed by ", C(color, "\033[0m"), C(color, "\033[33;1m"),
                C(color, "\033[0m"));
        put(out, json_string_value(json_object_get(u, "via")));
        fputs(": ", out);
        put(out, json_string_value(json_object_get(u, "reason")));
        fputc('\n', out);
    }
}
