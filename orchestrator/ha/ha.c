/* orchestrator/ha/ha.c — controller coordination for the daemon. See ha.h. */
#include "orchestrator/ha/ha.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/decide/coord.h"
#include "orchestrator/decide/quorum.h"
#include "orchestrator/ha/etcd.h"
#include "orchestrator/log.h"
#include "topology/probe/probe.h"
#include "topology/probe/clock.h"

#define HA_MAX_CONTROLLERS 64
/* While a dead primary waits for the other controllers' agreement: their views are read this often. */
#define HA_QUORUM_REREAD_MS 50
/* A hold is reported as an event once it lasted this long: the other controllers' views
 * arrive within tens of ms of a crash, and every crash would report a hold otherwise. */
#define HA_HELD_REPORT_MS 300

typedef struct {
    char name[ETCD_CLUSTER_MAX];
    char held_why[300];          /* why a recovery is held now (status), "" none */
    char reported_why[300];      /* the last refusal reported as an event */
    int64_t held_since_ms;       /* held since (monotonic), 0: not held */
    bool quorum_off;             /* failover_quorum = none */
    /* The last view published (ha_publish builds a view only when one of these changes). */
    bool published;
    ana_code pub_code;
    size_t pub_replicas, pub_seen, pub_confirming;
} ha_cluster;

/* A forwarded request waiting for the holder's answer. */
typedef struct {
    bool used;
    char id[ETCD_FWD_ID_MAX];
    char holder[ETCD_NAME_MAX];
    void *tag;
    int64_t sent_ms, deadline_ms;
} ha_pending;

/* A forwarded request not taken by the holder within this is given up (holder gone or stuck). */
#define HA_FWD_TAKE_MS 5000

struct ha {
    etcd_client *etcd;
    ha_emit_fn emit;
    void *user;
    char name[CFG_CONTROLLER_NAME_MAX];
    int detection_quorum;
    int64_t fresh_ms;
    ha_cluster *cl;
    size_t n_cl;
    /* Controllers seen live since this one started, and when each was last seen live
     * (monotonic): the voters of the majority rule until forgotten (voter_forget_ms,
     * quorum_controllers_voting). */
    char seen[HA_MAX_CONTROLLERS][ETCD_NAME_MAX];
    int64_t seen_ms[HA_MAX_CONTROLLERS];
    size_t n_seen;
    int64_t voter_forget_ms;
    /* Forwarding: the requests this controller sent and waits for. */
    ha_fwd_request_fn on_fwd_request;
    ha_fwd_done_fn on_fwd_done;
    ha_pending pending[ETCD_FWD_MAX];
};

static void on_etcd_event(void *user, const char *name, const char *cluster, const char *msg)
{
    ha *h = user;
    int level = (!strcmp(name, "etcd-lease-lost") || !strcmp(name, "etcd-lock-lost") ||
                 !strcmp(name, "etcd-unreachable"))
                    ? LOGL_WARN
                    : !strcmp(name, "etcd-name-conflict") ? LOGL_ERROR : LOGL_INFO;
    if (h->emit)
        h->emit(h->user, level, name, cluster, msg);
}

int ha_new(const cfg_config *cfg, ha_emit_fn emit, void *user, ha **out, char *err, size_t errlen)
{
    ha *h;
    int rc;
    *out = NULL;
    if (cfg->coordination != CFG_COORD_ETCD)
        return 0;
    h = calloc(1, sizeof(*h));
    if (!h || !(h->cl = calloc(cfg->n_clusters ? cfg->n_clusters : 1, sizeof(*h->cl)))) {
        free(h);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    h->emit = emit;
    h->user = user;
    h->detection_quorum = cfg->detection_quorum;
    /* Views are re-put every TTL / 4 and read every TTL / 4: one TTL bounds a live view's age. */
    h->fresh_ms = cfg->etcd_lease_ttl_ms;
    h->voter_forget_ms = (int64_t)cfg->etcd_voter_forget_s * 1000;
    snprintf(h->name, sizeof(h->name), "%s", cfg->controller_name);
    {
        etcd_options o = {.endpoints = cfg->etcd_endpoints, .prefix = cfg->etcd_prefix,
                          .name = cfg->controller_name, .lease_ttl_ms = cfg->etcd_lease_ttl_ms,
                          .cacert = cfg->etcd_cacert, .cert = cfg->etcd_cert, .key = cfg->etcd_key,
                          .user = cfg->etcd_user[0] ? cfg->etcd_user : NULL, .password = cfg->etcd_password,
                          .on_event = on_etcd_event, .user_data = h};
        if ((rc = etcd_new(&o, &h->etcd, err, errlen)) < 0)
            goto fail;
    }
    for (size_t i = 0; i < cfg->n_clusters; i++) {
        snprintf(h->cl[i].name, sizeof(h->cl[i].name), "%s", cfg->clusters[i].name);
        h->cl[i].quorum_off = cfg->clusters[i].failover_quorum == CFG_QUORUM_NONE;
        h->n_cl++;
        /* Every controller competes for every cluster's lock: the holder is the one that acts. */
        if ((rc = etcd_lock_want(h->etcd, cfg->clusters[i].name, err, errlen)) < 0)
            goto fail;
    }
    *out = h;
    return 0;
fail:
    ha_free(h);
    return rc;
}

static void fwd_error(ha *h, ha_pending *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void ha_free(ha *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < ETCD_FWD_MAX; i++)
        if (h->pending[i].used)
            fwd_error(h, &h->pending[i], "controller %s is stopping: no answer from %s", h->name, h->pending[i].holder);
    etcd_free(h->etcd);
    free(h->cl);
    free(h);
}

int ha_fd(const ha *h)
{
    return h ? etcd_fd(h->etcd) : -1;
}

int ha_timeout_ms(ha *h, int64_t now_ms)
{
    return h ? etcd_timeout_ms(h->etcd, now_ms) : -1;
}

/* Remember every controller seen live and when (the voters, known_controllers); forget one
 * not seen live for etcd_voter_forget_s (a controller decommissioned for good). */
static void note_controllers(ha *h, int64_t now_ms)
{
    const etcd_controller *ctl;
    size_t n = etcd_controllers(h->etcd, &ctl), k = 0;
    for (size_t i = 0; i < n; i++) {
        for (k = 0; k < h->n_seen; k++)
            if (!strcmp(h->seen[k], ctl[i].name))
                break;
        if (k == h->n_seen && h->n_seen < HA_MAX_CONTROLLERS) {
            memcpy(h->seen[h->n_seen], ctl[i].name, sizeof(h->seen[0]));
            h->n_seen++;
        }
        if (k < h->n_seen)
            h->seen_ms[k] = now_ms;
    }
    for (k = 0; k < h->n_seen;) {
        if (!quorum_voter_forgotten(h->seen_ms[k], now_ms, h->voter_forget_ms)) {
            k++;
            continue;
        }
        log_info("coordination: controller %s not seen live for %lld s (etcd_voter_forget_s): no longer a voter of "
                 "the majority rule", h->seen[k], (long long)((now_ms - h->seen_ms[k]) / 1000));
        h->n_seen--;
        memmove(h->seen[k], h->seen[k + 1], (h->n_seen - k) * sizeof(h->seen[0]));
        memmove(&h->seen_ms[k], &h->seen_ms[k + 1], (h->n_seen - k) * sizeof(h->seen_ms[0]));
    }
}

static void fwd_answer(ha *h, ha_pending *p, json_t *result)
{
    void *tag = p->tag;
    p->used = false;
    if (h->on_fwd_done)
        h->on_fwd_done(h->user, tag, result);
    else
        json_decref(result);
}

static void fwd_error(ha *h, ha_pending *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fwd_answer(h, p, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg, "forwarded_to", p->holder));
}

/* Answers to the requests this controller forwarded; requests forwarded to it. */
static void fwd_run(ha *h, int64_t now_ms)
{
    etcd_fwd_in in;
    for (size_t i = 0; i < ETCD_FWD_MAX; i++) {
        ha_pending *p = &h->pending[i];
        char *text = NULL, err[256];
        bool accepted = false;
        int rc;
        if (!p->used)
            continue;
        rc = etcd_fwd_poll(h->etcd, p->id, &accepted, &text, err, sizeof(err));
        if (rc == 1) {
            json_t *r = json_loads(text, 0, NULL);
            free(text);
            if (!json_is_object(r)) {
                json_decref(r);
                fwd_error(h, p, "controller %s answered with no JSON object", p->holder);
            } else {
                json_object_set_new(r, "forwarded_to", json_string(p->holder));
                fwd_answer(h, p, r);
            }
        } else if (rc < 0) {
            fwd_error(h, p, "forwarding to controller %s failed: %s", p->holder, err);
        } else if (!accepted && (now_ms - p->sent_ms > HA_FWD_TAKE_MS || now_ms > p->deadline_ms)) {
            etcd_fwd_cancel(h->etcd, p->id);
            fwd_error(h, p, "controller %s (the holder of the lock) did not take the forwarded request within %lld ms: "
                      "withdrawn (is it stopped or cut off from etcd?); it had not taken it when last read, but one taken "
                      "at the last moment may still run: check 'myorch recoveries' before retrying", p->holder,
                      (long long)(now_ms - p->sent_ms));
        } else if (now_ms > p->deadline_ms) {
            etcd_fwd_cancel(h->etcd, p->id);
            fwd_error(h, p, "no answer from controller %s within %lld ms; the operation may still run there (see "
                      "'myorch recoveries' on it)", p->holder, (long long)(p->deadline_ms - p->sent_ms));
        }
    }
    while (etcd_fwd_next(h->etcd, &in) == 1) {
        json_t *body = json_loads(in.body, 0, NULL);
        free(in.body);
        if (!json_is_object(body) || !h->on_fwd_request) {
            ha_forward_reply(h, in.from, in.id,
                             json_pack("{s:b, s:s}", "ok", 0, "error", "the forwarded request is not a JSON object"));
        } else {
            log_info("coordination: running a request forwarded by controller %s for cluster %s", in.from, in.cluster);
            h->on_fwd_request(h->user, in.cluster, in.from, in.id, body);
        }
        json_decref(body);
    }
}

void ha_run(ha *h, int64_t now_ms)
{
    if (h) {
        etcd_run(h->etcd, now_ms);
        note_controllers(h, now_ms);
        fwd_run(h, now_ms);
    }
}

void ha_set_forwarding(ha *h, ha_fwd_request_fn on_request, ha_fwd_done_fn on_done)
{
    if (h) {
        h->on_fwd_request = on_request;
        h->on_fwd_done = on_done;
    }
}

const char *ha_name(const ha *h)
{
    return h ? h->name : "";
}

int ha_forward(ha *h, const char *cluster, const json_t *body, void *tag, int64_t timeout_ms, int64_t now_ms,
               char *err, size_t errlen)
{
    ha_pending *p = NULL;
    const char *holder;
    char *text;
    int rc;
    if (!h) {
        snprintf(err, errlen, "no coordination: nothing to forward to");
        return -EINVAL;
    }
    holder = etcd_lock_holder(h->etcd, cluster);
    if (!etcd_lease_ok(h->etcd, now_ms)) {
        snprintf(err, errlen, "controller %s has no trusted etcd lease (etcd %s): it can neither run nor forward "
                 "an operation until etcd answers again", h->name,
                 etcd_health_name(etcd_get_health(h->etcd, now_ms, NULL, 0)));
        return -EAGAIN;
    }
    if (!holder[0] || !strcmp(holder, h->name)) {
        snprintf(err, errlen, "no controller holds the lock of cluster %s now (it is being taken): try again in a "
                 "moment", cluster);
        return -EAGAIN;
    }
    for (size_t i = 0; i < ETCD_FWD_MAX && !p; i++)
        if (!h->pending[i].used)
            p = &h->pending[i];
    if (!p) {
        snprintf(err, errlen, "%d forwarded requests wait already: try again later", ETCD_FWD_MAX);
        return -EBUSY;
    }
    text = json_dumps(body, JSON_COMPACT);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = etcd_fwd_send(h->etcd, cluster, text, p->id, sizeof(p->id), err, errlen);
    free(text);
    if (rc < 0)
        return rc;
    p->used = true;
    p->tag = tag;
    p->sent_ms = now_ms;
    p->deadline_ms = now_ms + timeout_ms;
    snprintf(p->holder, sizeof(p->holder), "%s", holder);
    log_info("coordination: request for cluster %s forwarded to controller %s (lock holder)", cluster, holder);
    return 0;
}

void ha_forward_reply(ha *h, const char *from, const char *id, json_t *result)
{
    char *text, err[256];
    if (!h) {
        json_decref(result);
        return;
    }
    json_object_set_new(result, "answered_by", json_string(h->name));
    text = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    if (text && strlen(text) > ETCD_FWD_MAX_BODY) {
        /* the answer is bounded: a plan's full text may not fit; say so rather than cut it */
        free(text);
        text = strdup("{\"ok\":false,\"error\":\"the holder's answer is larger than the forwarding bound; see its "
                      "'myorch recoveries'\"}");
    }
    if (!text || etcd_fwd_reply(h->etcd, from, id, text, err, sizeof(err)) < 0)
        log_warn("coordination: cannot answer the request forwarded by %s: %s", from, text ? err : "out of memory");
    free(text);
}

/* Whether this analysis holds the primary dead (confirmed on this controller's side). */
static bool holds_dead(ana_code code)
{
    return code == ANA_DEAD_PRIMARY || code == ANA_DEAD_PRIMARY_AND_SOME_REPLICAS ||
           code == ANA_DEAD_PRIMARY_MINORITY || code == ANA_ALL_DOWN || code == ANA_DEAD_PRIMARY_NO_REPLICAS;
}

static ha_cluster *find(ha *h, const char *cluster);

void ha_publish(ha *h, const char *cluster, const ana_result *a)
{
    char err[256];
    json_t *v;
    ha_cluster *hc;
    if (!h || !a || a->code == ANA_NOT_READY)
        return;
    /* Called every loop turn: build the view only when what it says changed. */
    hc = find(h, cluster);
    if (hc && hc->published && hc->pub_code == a->code && hc->pub_replicas == a->replicas &&
        hc->pub_seen == a->replicas_reachable && hc->pub_confirming == a->replicas_confirming)
        return;
    if (hc) {
        hc->published = true;
        hc->pub_code = a->code;
        hc->pub_replicas = a->replicas;
        hc->pub_seen = a->replicas_reachable;
        hc->pub_confirming = a->replicas_confirming;
        /* Suspecting: the others' views matter now; without the watch, read them at once. */
        if ((holds_dead(a->code) || a->code == ANA_PRIMARY_SUSPECT) && !etcd_watching(h->etcd))
            etcd_refresh_soon(h->etcd, probe_now_ms(), 0);
        if (!holds_dead(a->code)) { /* nothing to recover: nothing held */
            hc->held_why[0] = hc->reported_why[0] = '\0';
            hc->held_since_ms = 0;
        }
    }
    v = json_pack("{s:b, s:s, s:I, s:I, s:I}", "primary_reachable", !holds_dead(a->code), "analysis",
                  ana_code_name(a->code), "replicas", (json_int_t)a->replicas, "replicas_seen",
                  (json_int_t)a->replicas_reachable, "replicas_confirming", (json_int_t)a->replicas_confirming);
    if (v && etcd_publish(h->etcd, cluster, v, err, sizeof(err)) < 0)
        log_warn("coordination: %s", err);
    json_decref(v);
}

static ha_cluster *find(ha *h, const char *cluster)
{
    for (size_t i = 0; i < h->n_cl; i++)
        if (!strcmp(h->cl[i].name, cluster))
            return &h->cl[i];
    return NULL;
}

/* Every controller seen live within etcd_voter_forget_s: a crashed controller, or one cut
 * off on the other side of a split, stays a voter (one that does not agree), so a split
 * cannot shrink the voters to the side that kept etcd; one gone longer (decommissioned)
 * no longer counts against the majority. */
static size_t known_controllers(const ha *h, size_t live, int64_t now_ms)
{
    return quorum_controllers_voting(h->seen_ms, h->n_seen, live, now_ms, h->voter_forget_ms);
}

bool ha_may_act(ha *h, const char *cluster, const ana_result *a, int64_t now_ms, char *why, size_t whylen)
{
    ha_cluster *hc;
    coord_view views[HA_MAX_CONTROLLERS];
    coord_verdict v;
    size_t n;
    bool ok = false;

    if (why && whylen)
        why[0] = '\0';
    if (!h)
        return true;
    hc = find(h, cluster);
    if (!hc) {
        snprintf(why, whylen, "cluster %s is not coordinated", cluster);
        return false;
    }
    ha_publish(h, cluster, a); /* our own vote is this analysis, not the last one published */
    if (!etcd_lock_held(h->etcd, cluster, now_ms, NULL)) {
        const char *holder = etcd_lock_holder(h->etcd, cluster);
        if (!etcd_lease_ok(h->etcd, now_ms))
            snprintf(why, whylen, "this controller has no trusted etcd lease (etcd %s): no recovery starts",
                     etcd_health_name(etcd_get_health(h->etcd, now_ms, NULL, 0)));
        else
            snprintf(why, whylen, "controller %s holds the lock of cluster %s: it recovers, this one waits",
                     holder[0] ? holder : "(unknown)", cluster);
        goto out;
    }
    if (etcd_lock_journal_waiting(h->etcd, cluster)) {
        /* Taken just now: the previous holder's journal is judged first (handoff). */
        snprintf(why, whylen, "the lock of cluster %s was just taken: the previous holder's journal is read first",
                 cluster);
        goto out;
    }
    n = etcd_coord_views(h->etcd, cluster, now_ms, views, HA_MAX_CONTROLLERS);
    coord_detect(&(coord_input){.views = views, .n_views = n, .self = h->name, .fresh_ms = h->fresh_ms,
                                .detection_quorum = h->detection_quorum},
                 &v);
    if (!v.agree) {
        snprintf(why, whylen, "detection quorum not reached: %s", v.why);
        /* The others publish on change: read their views again soon, not at the next period. */
        etcd_refresh_soon(h->etcd, now_ms, HA_QUORUM_REREAD_MS);
        goto out;
    }
    {
        /* The majority rule with the controllers as voters (quorum.h): the acting side is the
         * controllers that hold the primary dead and the replicas this one reaches. */
        quorum_input qi = {.servers = 1 + a->replicas, .replicas_on_side = a->replicas_reachable,
                           .controllers = known_controllers(h, v.live, now_ms), .controllers_agreeing = v.dead_votes,
                           .off = hc->quorum_off};
        quorum_verdict qv;
        quorum_decide(&qi, &qv);
        if (!qv.majority) {
            snprintf(why, whylen, "minority side with the controllers as voters: %s", qv.why);
            etcd_refresh_soon(h->etcd, now_ms, HA_QUORUM_REREAD_MS);
            goto out;
        }
    }
    ok = true;
out:
    if (ok) {
        hc->held_why[0] = hc->reported_why[0] = '\0';
        hc->held_since_ms = 0;
    } else {
        /* Waiting for the other controllers' votes is reported once it lasts; anything else at once. */
        bool urgent = strncmp(why, "detection quorum not reached", 28) && strncmp(why, "minority side with", 18);
        if (!hc->held_since_ms)
            hc->held_since_ms = now_ms;
        snprintf(hc->held_why, sizeof(hc->held_why), "%s", why);
        if (strcmp(hc->reported_why, why) && (urgent || now_ms - hc->held_since_ms >= HA_HELD_REPORT_MS)) {
            snprintf(hc->reported_why, sizeof(hc->reported_why), "%s", why);
            if (h->emit)
                h->emit(h->user, LOGL_WARN, "recovery-held-coordination", cluster, why);
        }
    }
    return ok;
}

bool ha_may_operate(ha *h, const char *cluster, int64_t now_ms, char *err, size_t errlen)
{
    const char *holder;
    if (h && etcd_lock_held(h->etcd, cluster, now_ms, NULL) && etcd_lock_journal_waiting(h->etcd, cluster)) {
        snprintf(err, errlen, "controller %s just took the lock of cluster %s and reads the previous holder's "
                 "journal first: try again in a moment", h->name, cluster);
        return false;
    }
    if (!h || etcd_lock_held(h->etcd, cluster, now_ms, NULL))
        return true;
    holder = etcd_lock_holder(h->etcd, cluster);
    if (!etcd_lease_ok(h->etcd, now_ms))
        snprintf(err, errlen, "controller %s has no trusted etcd lease (etcd %s): no operation starts here until "
                 "etcd answers again", h->name, etcd_health_name(etcd_get_health(h->etcd, now_ms, NULL, 0)));
    else
        snprintf(err, errlen, "controller %s does not hold the lock of cluster %s%s%s: run the command on that "
                 "controller", h->name, cluster, holder[0] ? "; controller " : "", holder[0] ? holder : "");
    return false;
}

json_t *ha_status(ha *h, int64_t now_ms)
{
    char why[300];
    const etcd_controller *ctl;
    const etcd_peer_view *pv;
    size_t n, nv;
    json_t *r, *ctls, *locks;
    etcd_health hl;

    if (!h)
        return json_pack("{s:s}", "mode", "none");
    hl = etcd_get_health(h->etcd, now_ms, why, sizeof(why));
    r = json_pack("{s:s, s:s, s:b, s:I, s:s, s:s}", "mode", "etcd", "controller", h->name, "lease_ok",
                  etcd_lease_ok(h->etcd, now_ms), "lease_age_ms", (json_int_t)etcd_lease_age_ms(h->etcd, now_ms),
                  "etcd_health", etcd_health_name(hl), "etcd_health_why", why);
    ctls = json_array();
    locks = json_object();
    n = etcd_controllers(h->etcd, &ctl);
    nv = etcd_views(h->etcd, &pv);
    for (size_t i = 0; i < n; i++) {
        int64_t newest = -1;
        for (size_t k = 0; k < nv; k++)
            if (!strcmp(pv[k].controller, ctl[i].name) && (newest < 0 || now_ms - pv[k].seen_ms < newest))
                newest = now_ms - pv[k].seen_ms;
        json_array_append_new(ctls, json_pack("{s:s, s:b, s:I}", "name", ctl[i].name, "self",
                                              !strcmp(ctl[i].name, h->name), "last_view_age_ms",
                                              (json_int_t)newest));
    }
    for (size_t i = 0; i < h->n_cl; i++) {
        const char *holder = etcd_lock_holder(h->etcd, h->cl[i].name);
        json_object_set_new(locks, h->cl[i].name,
                            json_pack("{s:s?, s:b, s:s?}", "holder", holder[0] ? holder : NULL, "held_here",
                                      etcd_lock_held(h->etcd, h->cl[i].name, now_ms, NULL), "recovery_held",
                                      h->cl[i].held_why[0] ? h->cl[i].held_why : NULL));
    }
    /* The controllers counted as voters of the majority rule (known_controllers). */
    json_object_set_new(r, "controllers_voting", json_integer((json_int_t)known_controllers(h, n, now_ms)));
    json_object_set_new(r, "voter_forget_s", json_integer((json_int_t)(h->voter_forget_ms / 1000)));
    json_object_set_new(r, "controllers", ctls);
    json_object_set_new(r, "locks", locks);
    return r;
}

/* ---- the shared journal and the executor's fencing (issue 14) ------------------------ */

struct ha_fence {
    etcd_fence *f;
    char key[512];
    char cluster[ETCD_CLUSTER_MAX];
    bool remote_only;
};

ha_fence *ha_fence_take(ha *h, const char *cluster, int64_t now_ms, char *err, size_t errlen)
{
    ha_fence *f;
    const char *ro;
    if (!h)
        return NULL;
    f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(f->cluster, sizeof(f->cluster), "%s", cluster);
    if (etcd_journal_key(h->etcd, cluster, f->key, sizeof(f->key)) < 0 ||
        etcd_fence_take(h->etcd, cluster, now_ms, &f->f, err, errlen) < 0) {
        if (!f->f && !err[0])
            snprintf(err, errlen, "bad cluster name for the journal");
        free(f);
        return NULL;
    }
    /* TEST ONLY (tests/integration/test_ha_journal.py): MYORCH_TEST_FENCE_REMOTE_ONLY=1 skips the
     * local lease deadline, so that the refusal a test sees comes from etcd's compare alone. */
    ro = getenv("MYORCH_TEST_FENCE_REMOTE_ONLY");
    f->remote_only = ro && !strcmp(ro, "1");
    return f;
}

int ha_fence_check(ha_fence *f, const char *journal_json, char *err, size_t errlen)
{
    int rc;
    if (!f)
        return 0;
    if (journal_json && strlen(journal_json) > ETCD_MAX_JOURNAL) {
        snprintf(err, errlen, "journal record larger than %d bytes", ETCD_MAX_JOURNAL);
        return -E2BIG;
    }
    if (!f->remote_only && !etcd_fence_trusted(f->f, clk_mono_ms())) {
        /* Not going on either way; etcd tells whether the lock is still ours (then what the plan
         * did is given back here) or not (then the next holder settles it: -ESTALE). */
        rc = etcd_fence_check(f->f, clk_mono_ms(), true, NULL, NULL, err, errlen);
        if (rc == 0) {
            snprintf(err, errlen, "the lease is no longer trusted here (no keep-alive in time, or the lock was "
                     "given up): not going on");
            return -EPERM;
        }
        /* Refused, or etcd could not be asked (-EIO...): with the local deadline passed another
         * controller may hold the lock now, so nothing may be given back here either (-ESTALE:
         * the next holder settles it from the journal). */
        return -ESTALE;
    }
    rc = etcd_fence_check(f->f, clk_mono_ms(), true, journal_json ? f->key : NULL, journal_json, err, errlen);
    return rc == -EPERM ? -ESTALE : rc; /* etcd's compare refused: the lock is another's (or nobody's) now */
}

void ha_fence_renew(ha *h, ha_fence *f, int64_t now_ms)
{
    if (h && f)
        etcd_fence_renew(f->f, h->etcd, f->cluster, now_ms);
}

int64_t ha_fence_token(const ha_fence *f)
{
    return f ? etcd_fence_token(f->f) : 0;
}

void ha_fence_free(ha_fence *f)
{
    if (!f)
        return;
    etcd_fence_free(f->f);
    free(f);
}

int ha_journal_take(ha *h, const char *cluster, char **json)
{
    *json = NULL;
    return h ? etcd_lock_journal(h->etcd, cluster, json) : 0;
}

int ha_journal_put(ha *h, const char *cluster, const char *json, int64_t now_ms)
{
    char err[256];
    int rc;
    if (!h)
        return 0;
    if ((rc = etcd_journal_put(h->etcd, cluster, json, now_ms, err, sizeof(err))) < 0)
        log_warn("coordination: the journal of cluster %s was not written: %s", cluster, err);
    return rc;
}

int ha_state_take(ha *h, const char *cluster, char **json)
{
    *json = NULL;
    return h ? etcd_lock_state(h->etcd, cluster, json) : 0;
}

int ha_state_put(ha *h, const char *cluster, const char *json, int64_t now_ms)
{
    char err[256];
    int rc;
    if (!h || !etcd_lock_held(h->etcd, cluster, now_ms, NULL))
        return 0; /* only the lock holder writes it; the others' copies are local */
    if ((rc = etcd_state_put(h->etcd, cluster, json, now_ms, err, sizeof(err))) < 0)
        log_warn("coordination: the shared state of cluster %s was not written: %s", cluster, err);
    return rc;
}

bool ha_holds_lock(ha *h, const char *cluster, int64_t now_ms)
{
    return !h || (etcd_lock_held(h->etcd, cluster, now_ms, NULL) && !etcd_lock_journal_waiting(h->etcd, cluster));
}
