/* orchestrator/reload.c — comparing the running configuration with a reloaded one. */
#include "orchestrator/reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool addrs_eq(const topo_addr *a, size_t na, const topo_addr *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!topo_addr_eq(&a[i], &b[i]))
            return false;
    return true;
}

static bool trust_eq(const trust_list *a, const trust_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].kind != b->v[i].kind || a->v[i].bits != b->v[i].bits ||
            strcmp(a->v[i].pattern, b->v[i].pattern) != 0 || memcmp(a->v[i].net, b->v[i].net, 16) != 0)
            return false;
    return true;
}

bool rld_cluster_equal(const cfg_cluster *a, const cfg_cluster *b)
{
    if (strcmp(a->name, b->name) || !addrs_eq(a->seeds, a->n_seeds, b->seeds, b->n_seeds) ||
        strcmp(a->user, b->user) || !str_eq(a->password, b->password) ||
        strcmp(a->replication_user, b->replication_user) ||
        !str_eq(a->replication_password, b->replication_password) || a->poll_interval_ms != b->poll_interval_ms ||
        a->probe_detail_every != b->probe_detail_every || !str_eq(a->lag_query, b->lag_query) || a->auto_failover != b->auto_failover ||
        a->failover_block_s != b->failover_block_s || a->failover_quorum != b->failover_quorum ||
        a->apply_timeout_ms != b->apply_timeout_ms || a->heartbeat_period_ms != b->heartbeat_period_ms ||
        a->stall_periods != b->stall_periods ||
        !addrs_eq(a->never_promote, a->n_never_promote, b->never_promote, b->n_never_promote) ||
        !addrs_eq(a->prefer, a->n_prefer, b->prefer, b->n_prefer) ||
        a->switchover_max_lag_s != b->switchover_max_lag_s || a->switchover_max_trx_s != b->switchover_max_trx_s ||
        a->sla_target != b->sla_target || a->sla_counts_planned != b->sla_counts_planned ||
        a->hook_timeout_ms != b->hook_timeout_ms || a->read_pool_max_lag_s != b->read_pool_max_lag_s ||
        a->ssl_mode != b->ssl_mode || !str_eq(a->ssl_ca, b->ssl_ca) || !str_eq(a->ssl_cert, b->ssl_cert) ||
        !str_eq(a->ssl_key, b->ssl_key) || !str_eq(a->server_public_key_file, b->server_public_key_file) ||
        a->replication_ssl != b->replication_ssl || !str_eq(a->replication_ssl_ca, b->replication_ssl_ca) ||
        !str_eq(a->replication_ssl_cert, b->replication_ssl_cert) ||
        !str_eq(a->replication_ssl_key, b->replication_ssl_key) ||
        a->replication_ssl_verify_server_cert != b->replication_ssl_verify_server_cert ||
        !trust_eq(&a->discover_allow, &b->discover_allow) || a->discover_confirm != b->discover_confirm ||
        a->ready_max_lag_s != b->ready_max_lag_s || a->ready_require_semi_sync != b->ready_require_semi_sync)
        return false;
    for (int h = 0; h < CFG_N_HOOKS; h++) {
        if (a->n_hooks[h] != b->n_hooks[h])
            return false;
        for (size_t k = 0; k < a->n_hooks[h]; k++)
            if (!str_eq(a->hooks[h][k], b->hooks[h][k]))
                return false;
    }
    return true;
}

/* The first key that takes a restart and differs, or NULL. */
static const char *restart_key(const cfg_config *a, const cfg_config *b)
{
    if (strcmp(a->state_dir, b->state_dir))
        return "state_dir";
    if (strcmp(a->control_socket, b->control_socket))
        return "control_socket";
    if (strcmp(a->event_socket, b->event_socket))
        return "event_socket";
    if (strcmp(a->control_secret_key, b->control_secret_key))
        return "control_secret_key_file";
    if (strcmp(a->control_client_secret_key, b->control_client_secret_key))
        return "control_client_key_file";
    if (a->n_control_keys != b->n_control_keys ||
        (a->n_control_keys && memcmp(a->control_keys, b->control_keys, a->n_control_keys * sizeof(*a->control_keys))))
        return "control_operator_keys/control_readonly_keys";
    if (strcmp(a->http_listen, b->http_listen))
        return "http_listen";
    if (!str_eq(a->http_tls_cert, b->http_tls_cert) || !str_eq(a->http_tls_key, b->http_tls_key))
        return "http_tls_cert/http_tls_key";
    if (!str_eq(a->http_token, b->http_token))
        return "http_token_file";
    if (strcmp(a->log_file, b->log_file))
        return "log_file";
    if (a->log_format != b->log_format)
        return "log_format";
    if (a->allow_core_dumps != b->allow_core_dumps)
        return "allow_core_dumps";
    /* Coordination: the lease, the locks and the views are this controller's identity in etcd. */
    if (a->coordination != b->coordination)
        return "coordination";
    if (strcmp(a->etcd_endpoints, b->etcd_endpoints) || strcmp(a->etcd_prefix, b->etcd_prefix))
        return "etcd_endpoints/etcd_prefix";
    if (strcmp(a->controller_name, b->controller_name))
        return "controller_name";
    if (a->etcd_lease_ttl_ms != b->etcd_lease_ttl_ms)
        return "etcd_lease_ttl_ms";
    if (!str_eq(a->etcd_cacert, b->etcd_cacert) || !str_eq(a->etcd_cert, b->etcd_cert) ||
        !str_eq(a->etcd_key, b->etcd_key))
        return "etcd_cacert/etcd_cert/etcd_key";
    if (strcmp(a->etcd_user, b->etcd_user) || !str_eq(a->etcd_password, b->etcd_password))
        return "etcd_user/etcd_password_file";
    if (a->detection_quorum != b->detection_quorum)
        return "detection_quorum";
    if (a->etcd_voter_forget_s != b->etcd_voter_forget_s)
        return "etcd_voter_forget_s";
    return NULL;
}

static int push(const char ***v, size_t *n, const char *name)
{
    const char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    nv[(*n)++] = name;
    *v = nv;
    return 0;
}

int rld_compare(const cfg_config *old, const cfg_config *nw, rld_diff *out, char *err, size_t errlen)
{
    const char *key = restart_key(old, nw);
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (key) {
        snprintf(err, errlen, "%s: %s changed: it takes a restart (systemctl restart myorch); reload refused, the "
                 "running configuration stays", nw->path, key);
        return -EINVAL;
    }
    out->globals_changed = old->poll_interval_ms != nw->poll_interval_ms ||
                           old->connect_timeout_ms != nw->connect_timeout_ms ||
                           old->read_timeout_ms != nw->read_timeout_ms || old->forget_after_s != nw->forget_after_s ||
                           old->log_level != nw->log_level ||
                           old->max_instances_per_cluster != nw->max_instances_per_cluster ||
                           old->events_keep_days != nw->events_keep_days ||
                           old->events_keep_max != nw->events_keep_max ||
                           old->shutdown_timeout_ms != nw->shutdown_timeout_ms;
    for (size_t i = 0; i < nw->n_clusters && rc == 0; i++) {
        const cfg_cluster *o = cfg_find_cluster(old, nw->clusters[i].name);
        if (!o)
            rc = push(&out->added, &out->n_added, nw->clusters[i].name);
        else if (!rld_cluster_equal(o, &nw->clusters[i]))
            rc = push(&out->changed, &out->n_changed, nw->clusters[i].name);
    }
    for (size_t i = 0; i < old->n_clusters && rc == 0; i++)
        if (!cfg_find_cluster(nw, old->clusters[i].name))
            rc = push(&out->removed, &out->n_removed, old->clusters[i].name);
    if (rc < 0) {
        rld_diff_free(out);
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    /* With etcd each cluster's lock is wanted from the start (orchestrator/ha/ha.c): the set of
     * clusters is fixed for the process. */
    if (old->coordination == CFG_COORD_ETCD && (out->n_added || out->n_removed)) {
        snprintf(err, errlen, "%s: cluster %s %s: with coordination = etcd adding or removing a cluster takes a "
                 "restart (systemctl restart myorch); reload refused, the running configuration stays", nw->path,
                 out->n_added ? out->added[0] : out->removed[0], out->n_added ? "added" : "removed");
        rld_diff_free(out);
        return -EINVAL;
    }
    return rc;
}

void rld_diff_free(rld_diff *d)
{
    free(d->added);
    free(d->removed);
    free(d->changed);
    memset(d, 0, sizeof(*d));
}
