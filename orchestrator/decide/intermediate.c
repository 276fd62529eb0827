/* orchestrator/decide/intermediate.c — a dead intermediate primary (pure). See intermediate.h. */
#include "orchestrator/decide/intermediate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/gtid.h"
#include "topology/dialect.h"

static void ev(imd_analysis *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ev(imd_analysis *a, const char *fmt, ...)
{
    size_t len = strlen(a->evidence), cap = sizeof(a->evidence);
    va_list ap;
    int n;
    if (len + 4 >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(a->evidence + len, cap - len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= cap - len)
        memcpy(a->evidence + cap - 4, "...", 4);
}

/* Append "line\n" to the heap text *t. */
static int add_line(char **t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_line(char **t, const char *fmt, ...)
{
    va_list ap;
    char *line = NULL, *nt;
    size_t old = *t ? strlen(*t) : 0;
    int n;
    va_start(ap, fmt);
    n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    if (!(nt = realloc(*t, old + (size_t)n + 2))) {
        free(line);
        return -ENOMEM;
    }
    memcpy(nt + old, line, (size_t)n);
    nt[old + (size_t)n] = '\n';
    nt[old + (size_t)n + 1] = '\0';
    *t = nt;
    free(line);
    return 0;
}

/* What a replica applied. */
static const char *applied_pos(const topo_snapshot *s)
{
    const char *p = dialect_snap_applied_gtid(s);
    dialect_caps c;
    dialect_caps_of(s, &c);
    /* MariaDB: an empty gtid_slave_pos (nothing replicated yet) reads as its current position. */
    return c.mariadb_gtid && p == s->gtid_slave_pos && p && !*p ? s->gtid_current_pos : p;
}

typedef enum { CH_UNREACHABLE, CH_STALE, CH_REPLICATING, CH_CONFIRMING, CH_NEUTRAL } ch_class;

static ch_class classify(const topo_instance *r, int64_t down_since_ms)
{
    const topo_replica_status *rs = &r->snap.replica;
    if (!r->reachable || !r->have_snap)
        return CH_UNREACHABLE;
    if (topo_snap_predates(&r->snap, down_since_ms))
        return CH_STALE;
    if (rs->io_state == TOPO_THREAD_YES)
        return CH_REPLICATING;
    if (rs->io_state == TOPO_THREAD_CONNECTING || (rs->io_state == TOPO_THREAD_NO && rs->last_io_errno))
        return CH_CONFIRMING;
    return CH_NEUTRAL;
}

/* Judge one unreachable server with replicas. */
static int judge(const topo_cluster *c, size_t d, imd_analysis *a, char *err, size_t errlen)
{
    const topo_instance *dead = c->v[d];
    size_t kids = 0, confirming = 0, replicating = 0, stale = 0;
    char da[TOPO_ADDR_MAX], ta[TOPO_ADDR_MAX];
    const topo_instance *target;

    for (size_t j = 0; j < c->n; j++) {
        if (c->v[j]->parent != (int)d || c->v[j]->fenced)
            continue;
        kids++;
        switch (classify(c->v[j], dead->down_since_ms)) {
        case CH_CONFIRMING: confirming++; break;
        case CH_REPLICATING: replicating++; break;
        case CH_STALE: stale++; break;
        default: break;
        }
    }
    if (!kids)
        return 0;
    topo_addr_str(&dead->addr, da, sizeof(da));
    a->dead = (int)d;
    if (replicating || stale || !confirming) {
        a->code = IMD_SUSPECT;
        ev(a, "intermediate primary %s unreachable; not confirmed: %zu/%zu of its replicas confirm, %zu still "
              "replicate from it, %zu probed before the failure", da, confirming, kids, replicating, stale);
        return 0;
    }
    a->code = IMD_DEAD;
    target = dead->parent >= 0 && (size_t)dead->parent < c->n ? c->v[dead->parent] : NULL;
    if (target && (!target->reachable || !target->have_snap || target->fenced))
        target = NULL;
    a->new_source = target ? dead->parent : -1;
    if (!(a->movable = calloc(kids, sizeof(*a->movable))))
        goto oom;
    ev(a, "intermediate primary %s dead: %zu/%zu of its replicas confirm", da, confirming, kids);
    if (target)
        ev(a, "; they go below its source %s", topo_addr_str(&target->addr, ta, sizeof(ta)));
    for (size_t j = 0; j < c->n; j++) {
        const topo_instance *r = c->v[j];
        char ra[TOPO_ADDR_MAX], gerr[256];
        char *extra = NULL;
        const char *mine, *theirs;
        if (r->parent != (int)d || r->fenced)
            continue;
        topo_addr_str(&r->addr, ra, sizeof(ra));
        if (classify(r, dead->down_since_ms) != CH_CONFIRMING) {
            if (add_line(&a->lost, "%s: not moved: %s", ra,
                         r->reachable ? "its replication was stopped without an error (left as it is)"
                                      : "unreachable") < 0)
                goto oom;
            continue;
        }
        if (!target) {
            if (add_line(&a->lost, "%s: the source of %s is unknown or unreachable: no safe place", ra, da) < 0)
                goto oom;
            continue;
        }
        mine = applied_pos(&r->snap);
        theirs = dialect_snap_own_gtid(&target->snap);
        if (!mine || !theirs ||
            gtid_text_errant(dialect_gtid_kind(r->snap.flavor), mine, theirs,
                             &extra, gerr, sizeof(gerr)) < 0) {
            if (add_line(&a->lost, "%s: cannot compare its position with %s's (%s)", ra, ta,
                         !mine || !theirs ? "position unknown" : gerr) < 0)
                goto oom;
            free(extra);
            continue;
        }
        if (extra && *extra) {
            int r_ = add_line(&a->lost, "%s: has transactions %s lacks: %s", ra, ta, extra);
            free(extra);
            if (r_ < 0)
                goto oom;
            continue;
        }
        free(extra);
        a->movable[a->n_movable++] = (int)j;
    }
    ev(a, "; %zu movable, %s", a->n_movable, a->lost ? "some cannot move (see lost)" : "none left behind");
    return 0;
oom:
    snprintf(err, errlen, "out of memory judging %s", da);
    return -ENOMEM;
}

int imd_analyze(const topo_cluster *c, imd_analysis *out, char *err, size_t errlen)
{
    const topo_instance *p;
    memset(out, 0, sizeof(*out));
    out->dead = out->new_source = -1;
    if (!c || c->primary < 0 || (size_t)c->primary >= c->n)
        return 0;
    p = c->v[c->primary];
    if (!p->reachable || p->fenced)
        return 0;
    for (size_t d = 0; d < c->n; d++) {
        const topo_instance *in = c->v[d];
        int rc;
        if ((int)d == c->primary || in->reachable || !in->probed || in->fenced)
            continue;
        if ((rc = judge(c, d, out, err, errlen)) < 0) {
            imd_analysis_free(out);
            return rc;
        }
        if (out->code != IMD_NONE)
            return 0; /* one at a time: the first dead intermediate primary */
    }
    return 0;
}

void imd_analysis_free(imd_analysis *a)
{
    if (!a)
        return;
    free(a->movable);
    free(a->lost);
    a->movable = NULL;
    a->lost = NULL;
    a->n_movable = 0;
}
