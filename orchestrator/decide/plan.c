/* orchestrator/decide/plan.c — building, describing and printing recovery plans. */
#include "orchestrator/decide/plan.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/gtid.h"

static const char *const step_names[] = {
    [PLAN_STEP_STOP_IO] = "stop-io",       [PLAN_STEP_WAIT_APPLY] = "wait-apply",
    [PLAN_STEP_CATCH_UP] = "catch-up",     [PLAN_STEP_DETACH] = "detach",
    [PLAN_STEP_SET_WRITABLE] = "set-writable", [PLAN_STEP_SEMI_SYNC_SOURCE] = "semi-sync-source",
    [PLAN_STEP_REPOINT] = "repoint",       [PLAN_STEP_VERIFY] = "verify",
    [PLAN_STEP_FENCE] = "fence",           [PLAN_STEP_START_IO] = "start-io",
    [PLAN_STEP_REJOIN] = "rejoin",         [PLAN_STEP_CHECK_TRX] = "check-trx",
    [PLAN_STEP_DEMOTE] = "demote",         [PLAN_STEP_WAIT_CAUGHT_UP] = "wait-caught-up",
    [PLAN_STEP_UNDEMOTE] = "undemote",     [PLAN_STEP_HOOK] = "hook",
    [PLAN_STEP_CHECK_SOURCE] = "check-source",
};

static const char *const op_names[REC_OP__COUNT] = {
    [REC_OP_NONE] = "",
    [REC_OP_FAILOVER] = "failover",
    [REC_OP_SWITCHOVER] = "switchover",
    [REC_OP_RELOCATE] = "relocate",
    [REC_OP_INTERMEDIATE] = "intermediate",
    [REC_OP_AFTERCARE] = "after-care",
};

bool plan_source_refuses(const topo_replica_status *r)
{
    return r->present && r->io_state != TOPO_THREAD_YES && r->last_io_errno == 2003 && r->last_io_error &&
           strstr(r->last_io_error, "(111") != NULL;
}

const char *rec_op_name(rec_op op)
{
    return (size_t)op < REC_OP__COUNT && op_names[op] ? op_names[op] : "";
}

rec_op rec_op_parse(const char *name)
{
    for (int i = 1; name && i < REC_OP__COUNT; i++)
        if (!strcmp(name, op_names[i]))
            return (rec_op)i;
    return REC_OP_NONE;
}

bool rec_op_promotes(rec_op op)
{
    return op == REC_OP_FAILOVER || op == REC_OP_SWITCHOVER;
}

/* A plan's operation: the enum and its stored name. */
static void set_op(plan_spec *p, rec_op op)
{
    p->op = op;
    snprintf(p->kind, sizeof(p->kind), "%s", rec_op_name(op));
}

const char *plan_step_name(plan_step_kind k)
{
    return (size_t)k < sizeof(step_names) / sizeof(step_names[0]) && step_names[k] ? step_names[k] : "?";
}

static void server_of(const topo_instance *in, plan_server *s)
{
    memset(s, 0, sizeof(*s));
    s->addr = in->addr;
    if (in->have_snap) {
        s->flavor = in->snap.flavor;
        s->major = in->snap.version_major;
        s->minor = in->snap.version_minor;
        s->patch = in->snap.version_patch;
        dialect_caps_of(&in->snap, &s->caps);
    } else {
        dialect_caps_init(&s->caps, TOPO_FLAVOR_UNKNOWN, 0, 0, 0, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    }
}

static plan_step *add_step(plan_spec *p, plan_step_kind kind, const topo_instance *target)
{
    plan_step *v = realloc(p->v, (p->n + 1) * sizeof(*v)), *s;
    if (!v)
        return NULL;
    p->v = v;
    s = &p->v[p->n++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    if (target)
        server_of(target, &s->target);
    return s;
}

/* Append a step of kind on target, sourced from src (may be NULL). NULL on OOM. */
static plan_step *add_step_from(plan_spec *p, plan_step_kind kind, const topo_instance *target, const topo_instance *src,
                               int timeout_ms, bool best_effort)
{
    plan_step *s = add_step(p, kind, target);
    if (!s)
        return NULL;
    if (src)
        server_of(src, &s->source);
    s->timeout_ms = timeout_ms;
    s->best_effort = best_effort;
    return s;
}

/* A step that waits for a GTID position (none: gtid NULL). NULL on OOM. */
static plan_step *add_step_to_gtid(plan_spec *p, plan_step_kind kind, const topo_instance *target,
                                   const topo_instance *src, int timeout_ms, const char *gtid)
{
    plan_step *s = add_step_from(p, kind, target, src, timeout_ms, false);
    if (s && gtid && !(s->gtid = strdup(gtid)))
        return NULL;
    return s;
}

/* The start of every plan: its cluster, operation, the server it replaces and the one it goes to. */
static void plan_begin(plan_spec *out, const topo_cluster *c, rec_op op, const topo_instance *old,
                       const topo_instance *neu)
{
    snprintf(out->cluster, sizeof(out->cluster), "%s", c->name);
    set_op(out, op);
    server_of(old, &out->old_primary);
    server_of(neu, &out->new_primary);
}

/* A plan that could not be built: freed, and rc returned with the message. */
static int plan_oom(plan_spec *out, char *err, size_t errlen, int rc)
{
    snprintf(err, errlen, "out of memory building the plan");
    plan_free(out);
    return rc;
}

/* Repoint + verify one replica below the new primary (best effort: a replica that
 * cannot follow is reported lost, the operation goes on). */
static int add_repoint(plan_spec *p, const topo_instance *in, const topo_instance *cand, int timeout_ms)
{
    if (!add_step_from(p, PLAN_STEP_REPOINT, in, cand, timeout_ms, true) ||
        !add_step_from(p, PLAN_STEP_VERIFY, in, cand, timeout_ms, true))
        return -ENOMEM;
    return 0;
}

static int append_line(char **dst, const char *line);

/* Every reachable server of the ranking but the chosen one is repointed below cand; an
 * unreachable one is listed (list_unreachable) or left alone. 0 or -ENOMEM. */
static int add_followers(plan_spec *out, const topo_cluster *c, const cand_ranking *r, const topo_instance *cand,
                         int timeout_ms, bool list_unreachable)
{
    char a[TOPO_ADDR_MAX];
    for (size_t i = 0; i < r->n; i++) {
        const topo_instance *in = c->v[r->v[i].index];
        if ((int)i == r->chosen)
            continue;
        if (!in->reachable) {
            char *line;
            int arc;
            if (!list_unreachable)
                continue;
            line = strbuf_asprintf("%s: unreachable, repointed when it comes back",
                                   topo_addr_str(&in->addr, a, sizeof(a)));
            arc = line ? append_line(&out->unreachable, line) : -ENOMEM;
            free(line);
            if (arc < 0)
                return arc;
            continue;
        }
        if (add_repoint(out, in, cand, timeout_ms) < 0)
            return -ENOMEM;
    }
    return 0;
}

void plan_free(plan_spec *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].gtid);
    free(p->v);
    free(p->old_primary_gtid);
    free(p->new_primary_gtid);
    free(p->expected_lost_gtids);
    free(p->excluded);
    free(p->unreachable);
    memset(p, 0, sizeof(*p));
}

/* Append "line\n" to a heap string. */
static int append_line(char **dst, const char *line)
{
    size_t old = *dst ? strlen(*dst) : 0, add = strlen(line);
    char *n = realloc(*dst, old + add + 2);
    if (!n)
        return -ENOMEM;
    memcpy(n + old, line, add);
    n[old + add] = '\n';
    n[old + add + 1] = '\0';
    *dst = n;
    return 0;
}

/* detach, set-writable (the point of no return), semi-sync source when the old primary had it. */
static int add_promotion(plan_spec *p, const topo_instance *cand, const topo_instance *old, int timeout_ms)
{
    plan_step *s;
    if (!add_step_from(p, PLAN_STEP_DETACH, cand, NULL, timeout_ms, false) ||
        !(s = add_step_from(p, PLAN_STEP_SET_WRITABLE, cand, NULL, timeout_ms, false)))
        return -ENOMEM;
    s->no_return = true;
    if (old->have_snap && old->snap.semisync.source_enabled &&
        !add_step_from(p, PLAN_STEP_SEMI_SYNC_SOURCE, cand, NULL, timeout_ms, true))
        return -ENOMEM;
    return 0;
}

/* "addr: exclusion (reason)", whole, appended to *dst. */
static int excluded_line(char **dst, const topo_cluster *c, const cand_entry *v)
{
    char a[TOPO_ADDR_MAX];
    char *line = strbuf_asprintf("%s: %s (%s)", topo_addr_str(&c->v[v->index]->addr, a, sizeof(a)),
                                 cand_exclusion_name(v->exclusion), v->reason);
    int rc = line ? append_line(dst, line) : -ENOMEM;
    free(line);
    return rc;
}

int plan_failover(const topo_cluster *c, int old_primary, const cand_ranking *r, const plan_options *o,
                      plan_spec *out, char *err, size_t errlen)
{
    const topo_instance *old, *cand, *most = NULL;
    const cand_entry *chosen;
    int rc = -ENOMEM;

    memset(out, 0, sizeof(*out));
    if (old_primary < 0 || (size_t)old_primary >= c->n || !r || r->chosen < 0 || (size_t)r->chosen >= r->n) {
        snprintf(err, errlen, "no promotion candidate: %s", r && r->reason[0] ? r->reason : "none eligible");
        return -EINVAL;
    }
    old = c->v[old_primary];
    chosen = &r->v[r->chosen];
    cand = c->v[chosen->index];
    if (r->needs_catchup && r->most_advanced >= 0)
        most = c->v[r->v[r->most_advanced].index];

    plan_begin(out, c, REC_OP_FAILOVER, old, cand);
    snprintf(out->reason, sizeof(out->reason), "%s", r->reason);
    if (old->have_snap) {
        const char *g = dialect_snap_own_gtid(&old->snap);
        if (g && !(out->old_primary_gtid = strdup(g)))
            goto fail;
    }
    if (most && r->v[r->most_advanced].has_gtid) {
        if (!(out->new_primary_gtid = strdup(r->v[r->most_advanced].has_gtid)))
            goto fail;
    } else if (chosen->has_gtid && !(out->new_primary_gtid = strdup(chosen->has_gtid))) {
        goto fail;
    }
    if (out->old_primary_gtid && out->new_primary_gtid) {
        gtid_kind kind = dialect_gtid_kind(old->snap.flavor);
        char e2[256];
        if (gtid_text_errant(kind, out->old_primary_gtid, out->new_primary_gtid, &out->expected_lost_gtids, e2,
                             sizeof(e2)) == -ENOMEM)
            goto fail;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].exclusion == CAND_EXCL_NONE)
            continue;
        if (excluded_line(&out->excluded, c, &r->v[i]) < 0)
            goto fail;
    }

    /* 1. Freeze: stop the IO threads of every reachable direct replica but the
     *    candidate (and the replica it catches up from): MariaDB purges the relay
     *    log when an SQL thread starts with both threads stopped, so those two
     *    apply their relay logs first, with their IO threads as they are. */
    for (size_t i = 0; i < r->n; i++) {
        const topo_instance *in = c->v[r->v[i].index];
        if (!in->reachable || in == cand || in == most)
            continue;
        if (!add_step_from(out, PLAN_STEP_STOP_IO, in, NULL, o->verify_timeout_ms, false))
            goto fail;
    }
    /* 2. Catch-up from the most advanced replica when it cannot be promoted itself. */
    if (most) {
        const char *g = r->v[r->most_advanced].has_gtid;
        if (!add_step_to_gtid(out, PLAN_STEP_WAIT_APPLY, most, NULL, o->apply_timeout_ms, g) ||
            !add_step_from(out, PLAN_STEP_STOP_IO, most, NULL, o->verify_timeout_ms, false) ||
            !add_step_to_gtid(out, PLAN_STEP_CATCH_UP, cand, most, o->apply_timeout_ms, g))
            goto fail;
    }
    /* 3. The candidate applies what it received, then leaves replication. */
    if (!add_step_to_gtid(out, PLAN_STEP_WAIT_APPLY, cand, NULL, o->apply_timeout_ms, most ? NULL : chosen->has_gtid))
        goto fail;
    if (add_promotion(out, cand, old, o->verify_timeout_ms) < 0)
        goto fail;
    /* 4. Everyone else follows the new primary. */
    if (add_followers(out, c, r, cand, o->verify_timeout_ms, true) < 0)
        goto fail;
    /* 5. Fence the old primary in case it is still alive somewhere. */
    if (!add_step_from(out, PLAN_STEP_FENCE, old, NULL, o->fence_timeout_ms, true))
        goto fail;
    return 0;
fail:
    return plan_oom(out, err, errlen, rc);
}

/* Common header of a plan replacing old by the chosen candidate. */
static int plan_header(const topo_cluster *c, const topo_instance *old, const cand_ranking *r, rec_op op,
                       plan_spec *out)
{
    const cand_entry *chosen = &r->v[r->chosen];
    plan_begin(out, c, op, old, c->v[chosen->index]);
    snprintf(out->reason, sizeof(out->reason), "%s", r->reason);
    if (old->have_snap) {
        const char *g = dialect_snap_own_gtid(&old->snap);
        if (g && !(out->old_primary_gtid = strdup(g)))
            return -ENOMEM;
    }
    if (chosen->has_gtid && !(out->new_primary_gtid = strdup(chosen->has_gtid)))
        return -ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].exclusion == CAND_EXCL_NONE)
            continue;
        if (excluded_line(&out->excluded, c, &r->v[i]) < 0)
            return -ENOMEM;
    }
    return 0;
}

int plan_switchover(const topo_cluster *c, int old_primary, const cand_ranking *r, const plan_options *o,
                        plan_spec *out, char *err, size_t errlen)
{
    const topo_instance *old, *cand;
    plan_step *s;

    memset(out, 0, sizeof(*out));
    if (old_primary < 0 || (size_t)old_primary >= c->n || !r || r->chosen < 0 || (size_t)r->chosen >= r->n) {
        snprintf(err, errlen, "no switchover target: %s", r && r->reason[0] ? r->reason : "none eligible");
        return -EINVAL;
    }
    old = c->v[old_primary];
    cand = c->v[r->v[r->chosen].index];
    if (plan_header(c, old, r, REC_OP_SWITCHOVER, out) < 0)
        goto fail;
    if (!(s = add_step_from(out, PLAN_STEP_CHECK_TRX, old, NULL, o->verify_timeout_ms, false)))
        goto fail;
    s->limit_s = o->max_trx_s;
    /* Demote, let the candidate catch up, promote it, repoint the others, rejoin the old primary. */
    if (!add_step_from(out, PLAN_STEP_DEMOTE, old, NULL, o->verify_timeout_ms, false) ||
        !add_step_from(out, PLAN_STEP_WAIT_CAUGHT_UP, cand, old, o->apply_timeout_ms, false) ||
        add_promotion(out, cand, old, o->verify_timeout_ms) < 0 ||
        add_followers(out, c, r, cand, o->verify_timeout_ms, false) < 0 ||
        !add_step_from(out, PLAN_STEP_REJOIN, old, cand, o->verify_timeout_ms, true))
        goto fail;
    return 0;
fail:
    return plan_oom(out, err, errlen, -ENOMEM);
}

int plan_relocate(const topo_cluster *c, int replica, int new_source, const plan_options *o, plan_spec *out,
                      char *err, size_t errlen)
{
    plan_step *s;
    memset(out, 0, sizeof(*out));
    if (replica < 0 || (size_t)replica >= c->n || new_source < 0 || (size_t)new_source >= c->n) {
        snprintf(err, errlen, "unknown server");
        return -EINVAL;
    }
    plan_begin(out, c, REC_OP_RELOCATE, c->v[replica], c->v[new_source]);
    if (!(s = add_step_from(out, PLAN_STEP_CHECK_SOURCE, c->v[replica], c->v[new_source], 3000, false)))
        goto fail;
    if (!(s = add_step_from(out, PLAN_STEP_REPOINT, c->v[replica], c->v[new_source], o->verify_timeout_ms, false)))
        goto fail;
    /* What it replicates from now: given back if the move fails (before it is verified). */
    {
        const topo_instance *r = c->v[replica];
        int prev = r->parent;
        if (prev < 0 && r->have_snap && r->snap.replica.present)
            prev = topo_cluster_find(c, &r->snap.replica.source);
        if (prev >= 0 && (size_t)prev < c->n) {
            server_of(c->v[prev], &s->prev_source);
            s->has_prev = true;
        }
    }
    if (!(s = add_step_from(out, PLAN_STEP_VERIFY, c->v[replica], c->v[new_source], o->verify_timeout_ms, false)))
        goto fail;
    return 0;
fail:
    return plan_oom(out, err, errlen, -ENOMEM);
}

int plan_intermediate(const topo_cluster *c, int dead, int new_source, const int *movable, size_t n,
                          const plan_options *o, plan_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (dead < 0 || (size_t)dead >= c->n || new_source < 0 || (size_t)new_source >= c->n || !n) {
        snprintf(err, errlen, "no replica to move");
        return -EINVAL;
    }
    plan_begin(out, c, REC_OP_INTERMEDIATE, c->v[dead], c->v[new_source]);
    snprintf(out->reason, sizeof(out->reason), "the source of the dead intermediate primary");
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (movable[i] < 0 || (size_t)movable[i] >= c->n) {
                snprintf(err, errlen, "unknown server");
                plan_free(out);
                return -EINVAL;
            }
            if (!add_step_from(out, pass ? PLAN_STEP_VERIFY : PLAN_STEP_REPOINT, c->v[movable[i]], c->v[new_source],
                               o->verify_timeout_ms, false))
                goto fail;
        }
    }
    return 0;
fail:
    return plan_oom(out, err, errlen, -ENOMEM);
}

int plan_add_hook(plan_spec *p, size_t pos, const char *hook, bool veto, int timeout_ms)
{
    plan_step *v = realloc(p->v, (p->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    p->v = v;
    if (pos > p->n)
        pos = p->n;
    memmove(&p->v[pos + 1], &p->v[pos], (p->n - pos) * sizeof(*v));
    memset(&p->v[pos], 0, sizeof(*v));
    p->v[pos].kind = PLAN_STEP_HOOK;
    snprintf(p->v[pos].hook, sizeof(p->v[pos].hook), "%s", hook);
    p->v[pos].best_effort = !veto;
    p->v[pos].timeout_ms = timeout_ms;
    p->v[pos].target = p->new_primary;
    p->n++;
    return 0;
}

int plan_single(const char *cluster, const char *kind, plan_step_kind step, const topo_instance *target,
                    const topo_instance *source, int timeout_ms, plan_spec *out, char *err, size_t errlen)
{
    plan_step *s;
    memset(out, 0, sizeof(*out));
    snprintf(out->cluster, sizeof(out->cluster), "%s", cluster);
    out->op = rec_op_parse(kind);
    snprintf(out->kind, sizeof(out->kind), "%s", kind);
    server_of(target, &out->old_primary);
    if (source)
        server_of(source, &out->new_primary);
    if (!(s = add_step(out, step, target))) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (source)
        server_of(source, &s->source);
    s->timeout_ms = timeout_ms;
    return 0;
}

char *plan_step_describe(const plan_step *s)
{
    char t[TOPO_ADDR_MAX], src[TOPO_ADDR_MAX];
    strbuf b = STRBUF_INIT;
    topo_addr_str(&s->target.addr, t, sizeof(t));
    switch (s->kind) {
    case PLAN_STEP_HOOK:
        strbuf_printf(&b, "%s%s", s->hook, s->best_effort ? "" : " (can veto)");
        break;
    case PLAN_STEP_CHECK_TRX:
        strbuf_printf(&b, "%s  no write transaction older than %d s", t, s->limit_s);
        break;
    case PLAN_STEP_REPOINT:
    case PLAN_STEP_CATCH_UP:
    case PLAN_STEP_REJOIN:
    case PLAN_STEP_WAIT_CAUGHT_UP:
    case PLAN_STEP_CHECK_SOURCE:
        strbuf_printf(&b, "%s → %s", t, topo_addr_str(&s->source.addr, src, sizeof(src)));
        break;
    default:
        strbuf_puts(&b, t);
        break;
    }
    if (s->gtid && *s->gtid)
        strbuf_printf(&b, "  until %s", s->gtid);
    if (s->timeout_ms)
        strbuf_printf(&b, "  (≤%d ms)", s->timeout_ms);
    if (s->no_return)
        strbuf_puts(&b, "  [point of no return]");
    if (s->best_effort)
        strbuf_puts(&b, "  [best effort]");
    return strbuf_steal(&b);
}

static json_t *server_json(const plan_server *s)
{
    char a[TOPO_ADDR_MAX];
    if (!s->addr.host[0])
        return json_null();
    return json_pack("{s:s, s:s}", "addr", topo_addr_str(&s->addr, a, sizeof(a)), "flavor",
                     topo_flavor_name(s->flavor));
}

json_t *plan_to_json(const plan_spec *p)
{
    json_t *j = json_object(), *steps = json_array();
    for (size_t i = 0; i < p->n; i++) {
        const plan_step *s = &p->v[i];
        char a[TOPO_ADDR_MAX], *d = plan_step_describe(s);
        json_t *sj = json_pack("{s:i, s:s, s:s, s:s?}", "index", (int)i + 1, "kind", plan_step_name(s->kind),
                               "target", topo_addr_str(&s->target.addr, a, sizeof(a)), "description", d);
        free(d);
        if (s->source.addr.host[0])
            json_object_set_new(sj, "source", json_string(topo_addr_str(&s->source.addr, a, sizeof(a))));
        json_object_set_new(sj, "gtid", s->gtid ? json_string(s->gtid) : json_null());
        json_object_set_new(sj, "timeout_ms", json_integer(s->timeout_ms));
        json_object_set_new(sj, "best_effort", json_boolean(s->best_effort));
        json_object_set_new(sj, "point_of_no_return", json_boolean(s->no_return));
        json_array_append_new(steps, sj);
    }
    json_object_set_new(j, "cluster", json_string(p->cluster));
    json_object_set_new(j, "kind", json_string(p->kind));
    json_object_set_new(j, "old_primary", server_json(&p->old_primary));
    json_object_set_new(j, "new_primary", server_json(&p->new_primary));
    json_object_set_new(j, "old_primary_gtid", p->old_primary_gtid ? json_string(p->old_primary_gtid) : json_null());
    json_object_set_new(j, "new_primary_gtid", p->new_primary_gtid ? json_string(p->new_primary_gtid) : json_null());
    json_object_set_new(j, "expected_lost_gtids",
                        p->expected_lost_gtids ? json_string(p->expected_lost_gtids) : json_null());
    json_object_set_new(j, "reason", json_string(p->reason));
    json_object_set_new(j, "excluded", p->excluded ? json_string(p->excluded) : json_null());
    json_object_set_new(j, "unreachable", p->unreachable ? json_string(p->unreachable) : json_null());
    json_object_set_new(j, "steps", steps);
    return j;
}

static void print_lines(FILE *out, const char *title, const char *lines)
{
    fprintf(out, "%s\n", title);
    while (*lines) {
        size_t n = strcspn(lines, "\n");
        fprintf(out, "    %.*s\n", (int)n, lines);
        lines += n;
        if (*lines == '\n')
            lines++;
    }
}

void plan_print(const plan_spec *p, FILE *out)
{
    char a[TOPO_ADDR_MAX];
    fprintf(out, "%s plan for cluster %s\n", p->kind, p->cluster);
    if (p->old_primary.addr.host[0])
        fprintf(out, "  old primary: %s%s%s\n", topo_addr_str(&p->old_primary.addr, a, sizeof(a)),
                p->old_primary_gtid ? "  last seen at " : "", p->old_primary_gtid ? p->old_primary_gtid : "");
    if (p->new_primary.addr.host[0])
        fprintf(out, "  new primary: %s%s%s\n", topo_addr_str(&p->new_primary.addr, a, sizeof(a)),
                p->new_primary_gtid ? "  has " : "", p->new_primary_gtid ? p->new_primary_gtid : "");
    if (p->reason[0])
        fprintf(out, "  why: %s\n", p->reason);
    for (size_t i = 0; i < p->n; i++) {
        char *d = plan_step_describe(&p->v[i]);
        fprintf(out, "  %2zu. %-17s %s\n", i + 1, plan_step_name(p->v[i].kind), d ? d : "(out of memory)");
        free(d);
    }
    if (p->excluded)
        print_lines(out, "  excluded:", p->excluded);
    if (p->unreachable)
        print_lines(out, "  not repointed now:", p->unreachable);
    if (p->expected_lost_gtids)
        fprintf(out, "  transactions the old primary had that the new one lacks: %s\n",
                *p->expected_lost_gtids ? p->expected_lost_gtids : "none");
}

int plan_copy(plan_spec *dst, const plan_spec *src)
{
    *dst = *src;
    dst->v = NULL;
    dst->n = 0;
    dst->old_primary_gtid = dst->new_primary_gtid = dst->expected_lost_gtids = NULL;
    dst->excluded = dst->unreachable = NULL;
    if (src->n) {
        dst->v = calloc(src->n, sizeof(*dst->v));
        if (!dst->v)
            goto oom;
        for (size_t i = 0; i < src->n; i++) {
            dst->v[i] = src->v[i];
            dst->v[i].gtid = NULL;
            dst->n = i + 1;
            if (src->v[i].gtid && !(dst->v[i].gtid = strdup(src->v[i].gtid)))
                goto oom;
        }
    }
#define DUP(f) if (src->f && !(dst->f = strdup(src->f))) goto oom
    DUP(old_primary_gtid);
    DUP(new_primary_gtid);
    DUP(expected_lost_gtids);
    DUP(excluded);
    DUP(unreachable);
#undef DUP
    return 0;
oom:
    plan_free(dst);
    return -ENOMEM;
}
