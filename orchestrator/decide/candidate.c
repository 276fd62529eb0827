/* orchestrator/decide/candidate.c — promotion candidate ranking (pure). See candidate.h. */
#include "orchestrator/decide/candidate.h"

#include "orchestrator/decide/analysis.h"
#include "topology/gtid.h"
#include "topology/dialect.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- reasons: strbuf_line (bounded, a cut shows as "...") --------------- */

#define MSG_MAX 100 /* server error texts are cut to this many bytes in reasons */

static void sb_msg(strbuf_line *b, const char *msg)
{
    const char *m = msg ? msg : "";
    int len = (int)strlen(m);
    strbuf_line_add(b, "%.*s%s", len > MSG_MAX ? MSG_MAX : len, m, len > MSG_MAX ? "..." : "");
}

/* ---- working state ------------------------------------------------------ */

typedef struct {
    int index;                  /* instance index in the cluster */
    const topo_instance *in;
    bool direct;                /* a direct replica of the old primary (else: the named target) */
    gtid_set *has, *exec;       /* NULL: unknown */
    char *errant;
    cand_exclusion excl;
    char reason[256];
    strbuf_line rb;
    bool preferred;
} work;

static gtid_kind kind_of(const topo_snapshot *s)
{
    return dialect_gtid_kind(s->flavor);
}

static bool addr_listed(const topo_addr *list, size_t n, const topo_addr *a)
{
    for (size_t k = 0; list && k < n; k++)
        if (topo_addr_eq(&list[k], a))
            return true;
    return false;
}

/* Record an exclusion: the first one sets the code, every one adds to the reason. */
static void exclude(work *w, cand_exclusion e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void exclude(work *w, cand_exclusion e, const char *fmt, ...)
{
    va_list ap;
    char tmp[256];

    if (w->excl == CAND_EXCL_NONE)
        w->excl = e;
    else
        strbuf_line_add(&w->rb, "; ");
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    strbuf_line_add(&w->rb, "%s", tmp);
}

/* a ∪ parse(text) into *acc (text NULL = empty). Returns 0, -EINVAL (message in err), -ENOMEM. */
static int union_text(gtid_kind kind, gtid_set **acc, const char *text, const char *what, char *err,
                      size_t errlen)
{
    gtid_set *s = NULL, *u = NULL;
    char e[200];
    int rc = gtid_set_parse(kind, text ? text : "", &s, e, sizeof(e));

    if (rc < 0) {
        if (rc == -EINVAL)
            snprintf(err, errlen, "%s: %s", what, e);
        return rc;
    }
    if (!*acc) {
        *acc = s;
        return 0;
    }
    rc = gtid_set_union(*acc, s, &u);
    gtid_set_free(s);
    if (rc < 0)
        return rc == -ENOMEM ? rc : (snprintf(err, errlen, "%s: cannot combine", what), rc);
    gtid_set_free(*acc);
    *acc = u;
    return 0;
}

/*
 * HAS (received ∪ executed) and EXECUTED of a replica's snapshot.
 * Leaves both NULL when the server has no GTID state (MySQL gtid_mode OFF) or
 * a text does not parse (-EINVAL, message in err). -ENOMEM on OOM.
 */
static int snapshot_sets(const topo_snapshot *s, gtid_set **has, gtid_set **exec, char *err, size_t errlen)
{
    gtid_kind k = kind_of(s);
    int rc;

    *has = *exec = NULL;
    err[0] = '\0';
    if (k == GTID_KIND_MARIADB) {
        const char *ex = s->gtid_slave_pos ? s->gtid_slave_pos : s->gtid_current_pos;
        /* MariaDB with GTID purges the relay log when the SQL thread starts while
         * both threads are stopped: what a cleanly stopped replica received but did
         * not apply cannot be applied any more (the source is gone), so it does not
         * count. A replica stopped by an SQL error keeps it counted: those
         * transactions exist nowhere else we can reach, so we refuse rather than
         * silently drop them. */
        const char *received = s->replica.io_state == TOPO_THREAD_NO && s->replica.sql_state == TOPO_THREAD_NO &&
                                       s->replica.using_gtid && s->replica.last_sql_errno == 0
                                   ? NULL
                                   : s->replica.received_gtid;
        if ((rc = union_text(k, has, received, "Gtid_IO_Pos", err, errlen)) < 0 ||
            (rc = union_text(k, has, s->gtid_slave_pos, "gtid_slave_pos", err, errlen)) < 0 ||
            (rc = union_text(k, exec, ex, s->gtid_slave_pos ? "gtid_slave_pos" : "gtid_current_pos", err,
                             errlen)) < 0)
            goto fail;
        return 0;
    }
    if (!s->gtid_mode_on && !s->gtid_executed && !s->replica.received_gtid && !s->replica.executed_gtid) {
        snprintf(err, errlen, "gtid_mode is OFF");
        return -EINVAL;
    }
    if ((rc = union_text(k, has, s->replica.received_gtid, "Retrieved_Gtid_Set", err, errlen)) < 0 ||
        (rc = union_text(k, has, s->replica.executed_gtid, "Executed_Gtid_Set", err, errlen)) < 0 ||
        (rc = union_text(k, has, s->gtid_executed, "gtid_executed", err, errlen)) < 0 ||
        (rc = union_text(k, exec, s->gtid_executed, "gtid_executed", err, errlen)) < 0)
        goto fail;
    return 0;
fail:
    gtid_set_free(*has);
    gtid_set_free(*exec);
    *has = *exec = NULL;
    return rc;
}

/*
 * Errant transactions of a replica: EXECUTED − the old primary's last known
 * position, minus what the old primary wrote itself (its server id / uuid):
 * the old primary's snapshot may predate its last writes. *out is NULL when
 * nothing is errant or it cannot be judged. Returns 0 or -ENOMEM.
 */
static int errant_of(const topo_instance *old, const work *w, char **out)
{
    const topo_snapshot *os = &old->snap;
    gtid_kind k = kind_of(os);
    const char *pos = k == GTID_KIND_MYSQL ? os->gtid_executed : os->gtid_binlog_pos;
    gtid_set *ps = NULL, *diff = NULL;
    char *text = NULL, *res = NULL;
    size_t rl = 0;
    int rc;

    gtid_set *mine = NULL;

    *out = NULL;
    if (!old->have_snap || !w->exec || gtid_set_kind(w->exec) != k)
        return 0;
    /* MariaDB: transactions written on the replica itself are in its binlog
     * position, not in gtid_slave_pos: judge both. */
    if (k == GTID_KIND_MARIADB && w->in->snap.gtid_binlog_pos) {
        gtid_set *bl = NULL;
        if (gtid_set_parse(k, w->in->snap.gtid_binlog_pos, &bl, NULL, 0) == 0) {
            rc = gtid_set_union(w->exec, bl, &mine);
            gtid_set_free(bl);
            if (rc == -ENOMEM)
                return rc;
        }
    }
    rc = gtid_set_parse(k, pos ? pos : "", &ps, NULL, 0);
    if (rc < 0) {
        gtid_set_free(mine);
        return rc == -ENOMEM ? rc : 0; /* unreadable old position: cannot judge */
    }
    rc = gtid_set_subtract(mine ? mine : w->exec, ps, &diff);
    gtid_set_free(ps);
    gtid_set_free(mine);
    if (rc < 0)
        return rc == -ENOMEM ? rc : 0;
    rc = gtid_set_format(diff, &text);
    gtid_set_free(diff);
    if (rc < 0)
        return rc == -ENOMEM ? rc : 0;
    if (!(res = malloc(strlen(text) + 1))) {
        free(text);
        return -ENOMEM;
    }
    /* Canonical text: items (MariaDB "D-S-N" / "D-S-A..B") or uuid blocks
     * (MySQL "uuid:1-5:tag:3") joined with ','. Drop the old primary's own. */
    for (char *save = NULL, *item = strtok_r(text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        bool own = false;
        if (k == GTID_KIND_MARIADB) {
            const char *d1 = strchr(item, '-');
            if (d1 && os->server_id) {
                char *end = NULL;
                unsigned long sid = strtoul(d1 + 1, &end, 10);
                own = end && *end == '-' && sid == os->server_id;
            }
        } else {
            const char *colon = strchr(item, ':');
            size_t ul = colon ? (size_t)(colon - item) : strlen(item);
            own = os->server_uuid[0] && ul == strlen(os->server_uuid) &&
                  strncasecmp(item, os->server_uuid, ul) == 0;
        }
        if (own)
            continue;
        if (rl)
            res[rl++] = ',';
        memcpy(res + rl, item, strlen(item));
        rl += strlen(item);
    }
    res[rl] = '\0';
    free(text);
    if (rl == 0) {
        free(res);
        return 0;
    }
    *out = res;
    return 0;
}

/* Ranking order; see candidate.h. Counts are consistent with ⊂ (a strict
 * subset has fewer transactions), so this is a total order extending it. */
static int cmp_work(const work *a, const work *b)
{
    bool ea = a->excl == CAND_EXCL_NONE, eb = b->excl == CAND_EXCL_NONE;
    if (ea != eb)
        return ea ? -1 : 1;
    if (!!a->has != !!b->has)
        return a->has ? -1 : 1;
    if (a->has) {
        uint64_t ca = gtid_set_count(a->has), cb = gtid_set_count(b->has);
        if (ca != cb)
            return ca > cb ? -1 : 1;
        uint64_t xa = gtid_set_count(a->exec), xb = gtid_set_count(b->exec);
        if (xa != xb)
            return xa > xb ? -1 : 1;
    } else if (a->in->have_snap && b->in->have_snap) {
        int r;
        if (gtid_coord_cmp(&a->in->snap.replica.read_coord, &b->in->snap.replica.read_coord, &r) == 0 && r)
            return r > 0 ? -1 : 1;
        if (gtid_coord_cmp(&a->in->snap.replica.exec_coord, &b->in->snap.replica.exec_coord, &r) == 0 && r)
            return r > 0 ? -1 : 1;
    }
    if (a->preferred != b->preferred)
        return a->preferred ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Stable insertion sort (a handful of replicas; no qsort comparator pitfalls). */
static void sort_work(work *w, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        work t = w[i];
        size_t j = i;
        while (j > 0 && cmp_work(&t, &w[j - 1]) < 0) {
            w[j] = w[j - 1];
            j--;
        }
        w[j] = t;
    }
}

static bool considered(const work *w)
{
    return w->direct && w->in->reachable && w->has;
}

static bool sql_broken(const topo_instance *in)
{
    return in->have_snap && in->snap.replica.sql_state != TOPO_THREAD_YES && in->snap.replica.last_sql_errno;
}

/* A server the chosen one can catch up from over GTID. */
static bool can_serve(const topo_instance *in)
{
    return in->have_snap && in->snap.log_bin && in->snap.log_replica_updates;
}

static int set_text(const gtid_set *s, char **out)
{
    *out = NULL;
    return s ? gtid_set_format(s, out) : 0;
}

/* "A has X that B lacks; B has Y that A lacks" for the first diverged pair. */
static int describe_divergence(const topo_cluster *c, work *w, size_t n, strbuf_line *r)
{
    for (size_t i = 0; i < n; i++) {
        if (!considered(&w[i]))
            continue;
        for (size_t j = i + 1; j < n; j++) {
            gtid_set *ab = NULL, *ba = NULL;
            char *tab = NULL, *tba = NULL, a1[TOPO_ADDR_MAX], a2[TOPO_ADDR_MAX];
            int rc = 0;
            if (!considered(&w[j]) || gtid_set_compare(w[i].has, w[j].has) != GTID_CMP_DIVERGED)
                continue;
            if (gtid_set_kind(w[i].has) != gtid_set_kind(w[j].has)) {
                strbuf_line_add(r, "%s and %s use different GTID flavors",
                                topo_addr_str(&c->v[w[i].index]->addr, a1, sizeof(a1)),
                                topo_addr_str(&c->v[w[j].index]->addr, a2, sizeof(a2)));
                return 0;
            }
            if ((rc = gtid_set_subtract(w[i].has, w[j].has, &ab)) == 0 &&
                (rc = gtid_set_subtract(w[j].has, w[i].has, &ba)) == 0 && (rc = gtid_set_format(ab, &tab)) == 0 &&
                (rc = gtid_set_format(ba, &tba)) == 0) {
                topo_addr_str(&c->v[w[i].index]->addr, a1, sizeof(a1));
                topo_addr_str(&c->v[w[j].index]->addr, a2, sizeof(a2));
                strbuf_line_add(r, "%s has %s that %s lacks; %s has %s that %s lacks", a1, tab, a2, a2, tba, a1);
            }
            gtid_set_free(ab);
            gtid_set_free(ba);
            free(tab);
            free(tba);
            return rc == -ENOMEM ? rc : 0;
        }
    }
    strbuf_line_add(r, "no replica has every transaction");
    return 0;
}

static void free_work(work *w, size_t n)
{
    for (size_t i = 0; w && i < n; i++) {
        gtid_set_free(w[i].has);
        gtid_set_free(w[i].exec);
        free(w[i].errant);
    }
    free(w);
}

/* ---- the ranking -------------------------------------------------------- */

/* One ranking in progress, shared by its phases (each returns 0 or -ENOMEM). */
typedef struct {
    const topo_cluster *c;
    int old_primary;
    const topo_instance *old;
    const cand_opts *o;
    work *w;                     /* the candidates: direct replicas, plus a named target */
    size_t n;
    int target;                  /* cluster index of o->target, -1 when none or unknown */
    char oa[TOPO_ADDR_MAX], ta[TOPO_ADDR_MAX];
    strbuf_line rb;                     /* out->reason */
    bool refused;                /* the reason already says why nobody can be chosen */
    cand_ranking *out;
} rank_ctx;

/* Phase 1: the candidates, every direct replica of the old primary, and the named target. */
static int collect_candidates(rank_ctx *x)
{
    const topo_cluster *c = x->c;
    if (!(x->w = calloc(c->n ? c->n : 1, sizeof(*x->w))))
        return -ENOMEM;
    for (size_t i = 0; i < c->n; i++) {
        if (ana_is_direct_replica(c, i, x->old_primary))
            x->w[x->n++] = (work){ .index = (int)i, .in = c->v[i], .direct = true };
    }
    if (x->o->target) {
        topo_addr_str(x->o->target, x->ta, sizeof(x->ta));
        x->target = topo_cluster_find(c, x->o->target);
        if (x->target >= 0 && x->target != x->old_primary) {
            bool in_list = false;
            for (size_t k = 0; k < x->n; k++)
                in_list |= x->w[k].index == x->target;
            if (!in_list)
                x->w[x->n++] = (work){ .index = x->target, .in = c->v[x->target], .direct = false };
        }
    }
    return 0;
}

/* Phase 2, one candidate: its GTID sets, errant transactions and every exclusion that applies. */
static int judge_candidate(rank_ctx *x, work *cw)
{
    const cand_opts *o = x->o;
    const topo_instance *in = cw->in;
    const topo_replica_status *rs = &in->snap.replica;
    dialect_caps caps;
    char serr[256] = "", msg[256];

    dialect_caps_of(&in->snap, &caps);
    cw->rb = (strbuf_line){ .buf = cw->reason, .cap = sizeof(cw->reason) };
    cw->preferred = addr_listed(o->prefer, o->n_prefer, &in->addr);
    if (in->have_snap && snapshot_sets(&in->snap, &cw->has, &cw->exec, serr, sizeof(serr)) == -ENOMEM)
        return -ENOMEM;
    if (!cw->direct) {
        char src[TOPO_ADDR_MAX];
        if (in->fenced)
            exclude(cw, CAND_EXCL_NEVER_PROMOTE, "fenced (a demoted old primary is never promoted)");
        else if (in->have_snap && rs->present)
            exclude(cw, CAND_EXCL_NOT_REPLICA, "not a direct replica of %s (replicates from %s)", x->oa,
                    topo_addr_str(&rs->source, src, sizeof(src)));
        else
            exclude(cw, CAND_EXCL_NOT_REPLICA, "not a direct replica of %s", x->oa);
        return 0;
    }
    if (!in->reachable) {
        if (!in->probed)
            exclude(cw, CAND_EXCL_UNREACHABLE, "not probed yet");
        else {
            strbuf_line t = { .buf = msg, .cap = sizeof(msg) };
            strbuf_line_add(&t, "unreachable (");
            if (in->err_code)
                strbuf_line_add(&t, "error %u: ", in->err_code);
            sb_msg(&t, in->err);
            strbuf_line_add(&t, ")");
            exclude(cw, CAND_EXCL_UNREACHABLE, "%s", msg);
        }
        return 0;
    }
    if (sql_broken(in)) {
        strbuf_line t = { .buf = msg, .cap = sizeof(msg) };
        strbuf_line_add(&t, "SQL thread stopped with error %u: ", rs->last_sql_errno);
        sb_msg(&t, rs->last_sql_error);
        exclude(cw, CAND_EXCL_SQL_ERROR, "%s", msg);
    }
    if (errant_of(x->old, cw, &cw->errant) < 0)
        return -ENOMEM;
    if (cw->errant)
        exclude(cw, CAND_EXCL_ERRANT, "errant GTIDs %.150s%s not on the old primary", cw->errant,
                strlen(cw->errant) > 150 ? "..." : "");
    if (!rs->using_gtid)
        exclude(cw, CAND_EXCL_NO_GTID, "GTID replication not in use (%s)",
                caps.mariadb_gtid ? "Using_Gtid=No" : "Auto_Position=0");
    else if (!cw->has)
        exclude(cw, CAND_EXCL_NO_GTID, "GTID state unreadable: %s", serr);
    if (!in->snap.log_bin)
        exclude(cw, CAND_EXCL_NO_BINLOG, "no binary log (log_bin=OFF)");
    else if (!in->snap.log_replica_updates)
        exclude(cw, CAND_EXCL_NO_LOG_REPLICA_UPDATES, "%s=OFF: its binary log lacks replicated transactions",
                caps.log_replica_updates_name ? "log_replica_updates" : "log_slave_updates");
    if (rs->sql_delay_s > 0)
        exclude(cw, CAND_EXCL_DELAYED, "delayed by %lld s (SQL_Delay)", rs->sql_delay_s);
    else if (rs->sql_delay_s < 0)
        exclude(cw, CAND_EXCL_DELAYED, "delay unknown (SQL_Delay out of range)");
    if (addr_listed(o->never_promote, o->n_never_promote, &in->addr))
        exclude(cw, CAND_EXCL_NEVER_PROMOTE, "listed in never_promote");
    return 0;
}

/* Phase 2: judge every candidate; with a forced target, only it may be chosen. Then rank them. */
static int judge_and_sort(rank_ctx *x)
{
    for (size_t k = 0; k < x->n; k++)
        if (judge_candidate(x, &x->w[k]) < 0)
            return -ENOMEM;
    if (x->o->target) {
        for (size_t k = 0; k < x->n; k++)
            if (x->w[k].index != x->target && x->w[k].excl == CAND_EXCL_NONE)
                exclude(&x->w[k], CAND_EXCL_NOT_TARGET, "not the requested target %s", x->ta);
    }
    sort_work(x->w, x->n);
    for (size_t k = 0; k < x->n; k++) /* sort moved the structs: re-point the reason buffers */
        x->w[k].rb.buf = x->w[k].reason;
    return 0;
}

/* Replicas without GTID state: compare what they received of the old primary's binary log
 * with the most advanced one's; one that received more (or cannot be compared) refuses. */
static void check_coordinate_replicas(rank_ctx *x, size_t most_i)
{
    char a[TOPO_ADDR_MAX];
    for (size_t k = 0; k < x->n && !x->refused; k++) {
        const topo_instance *u = x->w[k].in, *m2 = x->w[most_i].in;
        int r = 0;
        if (!x->w[k].direct || !u->reachable || x->w[k].has || !u->snap.replica.read_coord.file[0])
            continue;
        if (gtid_coord_cmp(&u->snap.replica.read_coord, &m2->snap.replica.read_coord, &r) < 0 || r > 0) {
            char a2[TOPO_ADDR_MAX];
            strbuf_line_add(&x->rb,
                            "would lose transactions only %s holds: without GTID it received up to %s:%llu of %s, "
                           "%s only %s:%llu",
                   topo_addr_str(&u->addr, a, sizeof(a)), u->snap.replica.read_coord.file,
                   (unsigned long long)u->snap.replica.read_coord.pos, x->oa,
                   topo_addr_str(&m2->addr, a2, sizeof(a2)), m2->snap.replica.read_coord.file,
                   (unsigned long long)m2->snap.replica.read_coord.pos);
            x->out->most_advanced = r > 0 ? (int)k : -1;
            x->refused = true;
        }
    }
}

/* Phase 3: the most advanced replica, whose HAS contains every other reachable replica's;
 * without GTID state anywhere, the first by coordinates; diverged replicas refuse. */
static int find_most_advanced(rank_ctx *x)
{
    work *w = x->w;
    size_t n = x->n, n_sets = 0, most_i = (size_t)-1;
    const gtid_set **sets = calloc(n ? n : 1, sizeof(*sets));
    int rc = 0;

    if (!sets)
        return -ENOMEM;
    for (size_t k = 0; k < n; k++)
        if (considered(&w[k])) {
            sets[k] = w[k].has;
            n_sets++;
        }
    int mrc = n ? gtid_most_advanced(sets, n, &most_i) : -ENOENT;
    if (mrc == 0) {
        /* Among replicas holding the same, prefer an eligible one, then one
         * that can serve a catch-up (binary log with replica updates). */
        int best_score = -1;
        size_t m = most_i;
        for (size_t k = 0; k < n; k++) {
            if (!considered(&w[k]) || !gtid_set_equal(w[k].has, w[m].has))
                continue;
            int score = w[k].excl == CAND_EXCL_NONE ? 2 : can_serve(w[k].in) && !sql_broken(w[k].in) ? 1 : 0;
            if (score > best_score) {
                best_score = score;
                most_i = k;
            }
        }
        x->out->most_advanced = (int)most_i;
        check_coordinate_replicas(x, most_i);
    } else if (mrc == -ENOENT && n_sets == 0) {
        /* No GTID state anywhere: the most advanced by coordinates (sorted first). */
        cand_ranking *out = x->out;
        for (size_t k = 0; k < n; k++)
            if (w[k].direct && w[k].in->reachable && w[k].in->have_snap &&
                (out->most_advanced < 0 ||
                 cmp_work(&(work){ .excl = CAND_EXCL_NO_GTID, .in = w[k].in, .index = w[k].index },
                          &(work){ .excl = CAND_EXCL_NO_GTID, .in = w[out->most_advanced].in,
                                   .index = w[out->most_advanced].index }) < 0))
                out->most_advanced = (int)k;
    } else {
        strbuf_line_add(&x->rb, "replicas diverged, none has every transaction: ");
        if (describe_divergence(x->c, w, n, &x->rb) < 0)
            rc = -ENOMEM;
        x->refused = true;
    }
    free(sets);
    return rc;
}

/* Phase 4, when the best eligible replica lacks what the most advanced one has: it may
 * catch up from it, if that one can serve (binary log with replica updates) and has
 * applied, or still can apply, what the chosen one lacks. */
static int choose_with_catchup(rank_ctx *x, const work *ch, const char *a)
{
    const work *m = &x->w[x->out->most_advanced];
    const topo_instance *mi = m->in;
    gtid_set *miss = NULL, *unapplied = NULL;
    char *mt = NULL, ma[TOPO_ADDR_MAX];
    bool ok = can_serve(mi);
    topo_addr_str(&mi->addr, ma, sizeof(ma));
    /* What the chosen one lacks. */
    if (gtid_set_subtract(m->has, ch->has, &miss) < 0 || gtid_set_format(miss, &mt) < 0) {
        gtid_set_free(miss);
        return -ENOMEM;
    }
    /* It arrives through the most advanced one's binary log, so that
     * one must apply what it only received: impossible with a broken SQL thread. */
    bool delayed = mi->snap.replica.present && mi->snap.replica.sql_delay_s != 0;
    if (ok && (sql_broken(mi) || delayed) && m->exec) {
        gtid_set *still = NULL;
        if (gtid_set_subtract(miss, m->exec, &unapplied) < 0 || gtid_set_subtract(unapplied, ch->has, &still) < 0) {
            gtid_set_free(miss);
            gtid_set_free(unapplied);
            free(mt);
            return -ENOMEM;
        }
        ok = gtid_set_is_empty(still);
        gtid_set_free(still);
    }
    gtid_set_free(miss);
    gtid_set_free(unapplied);
    if (ok) {
        x->out->chosen = 0;
        x->out->needs_catchup = true;
        strbuf_line_add(&x->rb,
                        "%s is the best eligible replica%s%s; it must first catch up from %s, which also has %s (%s)",
               a, x->target >= 0 ? " (the requested target)" : "", ch->preferred ? " (preferred)" : "", ma, mt,
               m->reason[0] ? m->reason : "not eligible");
    } else {
        strbuf_line_add(&x->rb, "would lose transactions only %s holds (%s): %s", ma, mt,
                        !mi->snap.log_bin ? "it has no binary log (log_bin=OFF)"
                        : !mi->snap.log_replica_updates
                            ? "its binary log lacks replicated transactions (log_replica_updates=OFF)"
                        : sql_broken(mi) ? "its SQL thread stopped with an error, it cannot apply what it received"
                                         : "it is delayed (SQL_Delay): it applies what it received only after the "
                                           "delay");
    }
    free(mt);
    return 0;
}

/* Phase 4: choose the first ranked one, or say why nobody. */
static int choose(rank_ctx *x)
{
    const work *w = x->w;
    cand_ranking *out = x->out;
    char a[TOPO_ADDR_MAX];

    if (x->refused) {
        /* reason already written */
    } else if (x->o->target && x->target < 0) {
        strbuf_line_add(&x->rb, "target %s is not a server of cluster %s", x->ta, x->c->name);
    } else if (x->o->target && x->target == x->old_primary) {
        strbuf_line_add(&x->rb, "target %s is the old primary", x->ta);
    } else if (x->n == 0) {
        strbuf_line_add(&x->rb, "%s has no replicas", x->oa);
    } else if (w[0].excl != CAND_EXCL_NONE) {
        if (x->target >= 0) {
            for (size_t k = 0; k < x->n; k++)
                if (w[k].index == x->target)
                    strbuf_line_add(&x->rb, "target %s cannot be promoted: %s", x->ta, w[k].reason);
        } else {
            strbuf_line_add(&x->rb, "no eligible replica: ");
            for (size_t k = 0; k < x->n; k++)
                strbuf_line_add(&x->rb, "%s%s: %s", k ? "; " : "",
                                topo_addr_str(&x->c->v[w[k].index]->addr, a, sizeof(a)), w[k].reason);
        }
    } else {
        const work *ch = &w[0];
        topo_addr_str(&ch->in->addr, a, sizeof(a));
        if (out->most_advanced < 0 || (size_t)out->most_advanced == 0 ||
            gtid_set_equal(ch->has, w[out->most_advanced].has)) {
            char *h = NULL;
            out->chosen = 0;
            if (set_text(ch->has, &h) < 0)
                return -ENOMEM;
            strbuf_line_add(&x->rb, "%s is the most advanced replica (has %s)%s%s", a, h && *h ? h : "nothing",
                            x->target >= 0 ? ", the requested target" : "", ch->preferred ? ", preferred" : "");
            free(h);
        } else if (choose_with_catchup(x, ch, a) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Phase 5: the ranking's candidates, best first (the errant texts move over). */
static int fill_output(rank_ctx *x)
{
    cand_ranking *out = x->out;
    if (x->n && !(out->v = calloc(x->n, sizeof(*out->v))))
        return -ENOMEM;
    out->n = x->n;
    for (size_t k = 0; k < x->n; k++) {
        cand_entry *cand = &out->v[k];
        work *cw = &x->w[k];
        cand->index = cw->index;
        cand->exclusion = cw->excl;
        cand->preferred = cw->preferred;
        snprintf(cand->reason, sizeof(cand->reason), "%s", cw->reason);
        if (set_text(cw->has, &cand->has_gtid) < 0 || set_text(cw->exec, &cand->executed_gtid) < 0)
            return -ENOMEM;
        cand->errant_gtid = cw->errant;
        cw->errant = NULL;
    }
    return 0;
}

int cand_rank(const topo_cluster *c, int old_primary, const cand_opts *o,
                        cand_ranking *out, char *err, size_t errlen)
{
    static const cand_opts none = { 0 };
    rank_ctx x = { 0 };

    if (out) {
        memset(out, 0, sizeof(*out));
        out->most_advanced = out->chosen = -1;
    }
    if (!c || !out || old_primary < 0 || (size_t)old_primary >= c->n) {
        if (err && errlen)
            snprintf(err, errlen, "no such old primary (index %d of %zu servers)", old_primary, c ? c->n : 0);
        return -EINVAL;
    }
    x.c = c;
    x.old_primary = old_primary;
    x.old = c->v[old_primary];
    x.o = o ? o : &none;
    x.target = -1;
    x.out = out;
    topo_addr_str(&x.old->addr, x.oa, sizeof(x.oa));
    x.rb = (strbuf_line){ .buf = out->reason, .cap = sizeof(out->reason) };

    if (collect_candidates(&x) < 0 || judge_and_sort(&x) < 0 || find_most_advanced(&x) < 0 || choose(&x) < 0 ||
        fill_output(&x) < 0) {
        free_work(x.w, x.n);
        cand_ranking_free(out);
        out->most_advanced = out->chosen = -1;
        if (err && errlen)
            snprintf(err, errlen, "out of memory ranking the candidates");
        return -ENOMEM;
    }
    free_work(x.w, x.n);
    return 0;
}

void cand_ranking_free(cand_ranking *r)
{
    if (!r)
        return;
    for (size_t k = 0; r->v && k < r->n; k++) {
        free(r->v[k].has_gtid);
        free(r->v[k].executed_gtid);
        free(r->v[k].errant_gtid);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

const char *cand_exclusion_name(cand_exclusion e)
{
    switch (e) {
    case CAND_EXCL_NONE: return "none";
    case CAND_EXCL_UNREACHABLE: return "unreachable";
    case CAND_EXCL_NOT_REPLICA: return "not-replica";
    case CAND_EXCL_NO_BINLOG: return "no-binlog";
    case CAND_EXCL_NO_LOG_REPLICA_UPDATES: return "no-log-replica-updates";
    case CAND_EXCL_SQL_ERROR: return "sql-error";
    case CAND_EXCL_DELAYED: return "delayed";
    case CAND_EXCL_ERRANT: return "errant";
    case CAND_EXCL_NEVER_PROMOTE: return "never-promote";
    case CAND_EXCL_NO_GTID: return "no-gtid";
    case CAND_EXCL_NOT_TARGET: return "not-target";
    }
    return "unknown";
}
