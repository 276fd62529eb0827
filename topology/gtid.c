/*
 * topology/gtid.c — GTID set and binlog coordinate arithmetic.
 *
 * Representation: a set is a sorted array of entries, one per key (MariaDB:
 * domain id; MySQL: uuid + tag). Each entry owns a slice of the set's single
 * interval array: a sorted list of disjoint, non-adjacent, inclusive intervals
 * of sequence / transaction numbers, never empty (one interval array per set
 * keeps a set at three allocations). MariaDB entries also carry the server id
 * of their top transaction. Both kinds share the interval algebra; the MariaDB
 * server-id rules are applied on top of it (see gtid.h).
 */
#include "topology/gtid.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint64_t lo, hi; /* inclusive, lo <= hi */
} ival;

typedef struct {
    ival *v;
    size_t n, cap;
} ivec;

typedef struct {
    uint32_t domain;            /* MariaDB key */
    uint32_t server;            /* MariaDB: server id of the top transaction */
    uint8_t uuid[16];           /* MySQL key, part 1 */
    char tag[GTID_TAG_MAX + 1]; /* MySQL key, part 2 ("" = untagged) */
    size_t ord;                 /* parse order, for stable sorting */
    size_t off, cnt;            /* intervals: set->iv.v[off .. off+cnt) */
} gentry;

struct gtid_set {
    gtid_kind kind;
    gentry *e; /* sorted by key, each with cnt >= 1 */
    size_t n, cap;
    ivec iv;   /* intervals of all entries, entry after entry */
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

#define set_err strbuf_err /* topology/strbuf.h */

/*
 * "bad GTID '<item>' at offset <bad>: <reason>". The item is quoted from
 * item_start to the next ',' (at most 64 bytes, non-printable bytes as '?').
 */
static void item_err(char *err, size_t errlen, const char *text, size_t item_start, size_t bad,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void item_err(char *err, size_t errlen, const char *text, size_t item_start, size_t bad,
                     const char *fmt, ...)
{
    char item[72];
    char reason[192];
    size_t i = 0;
    const char *p = text + item_start;
    va_list ap;

    if (!err || errlen == 0)
        return;
    while (p[i] && p[i] != ',' && i < 64) {
        unsigned char c = (unsigned char)p[i];
        item[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        i++;
    }
    item[i] = '\0';
    if (p[i] && p[i] != ',')
        memcpy(item + i, "...", 4);
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "bad GTID '%s' at offset %zu: %s", item, bad, reason);
}

/* Printable rendering of one input byte for messages. */
static const char *char_desc(char c, char buf[16])
{
    unsigned char u = (unsigned char)c;

    if (c == '\0')
        snprintf(buf, 16, "end of text");
    else if (c == '\n')
        snprintf(buf, 16, "newline");
    else if (u >= 0x20 && u < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", u);
    return buf;
}

enum { SCAN_OK = 0, SCAN_NONE = 1, SCAN_RANGE = 2 };

/*
 * Unsigned decimal at s[*pos]: SCAN_OK (value in *val, *pos past the digits),
 * SCAN_NONE (no digit there) or SCAN_RANGE (value > max; *pos past the digits).
 */
static int scan_u64(const char *s, size_t *pos, uint64_t max, uint64_t *val)
{
    size_t p = *pos;
    uint64_t v = 0;
    bool over = false;

    if (!is_digit(s[p]))
        return SCAN_NONE;
    while (is_digit(s[p])) {
        uint64_t d = (uint64_t)(s[p] - '0');
        if (!over && v > (max - d) / 10)
            over = true;
        if (!over)
            v = v * 10 + d;
        p++;
    }
    *pos = p;
    if (over)
        return SCAN_RANGE;
    *val = v;
    return SCAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Interval lists                                                           */
/* ------------------------------------------------------------------------ */

/* Read-only view of one entry's intervals. */
typedef struct {
    const ival *v;
    size_t n;
} islice;

static void ivec_free(ivec *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static int ivec_reserve(ivec *a, size_t want)
{
    size_t cap;
    ival *nv;

    if (want <= a->cap)
        return 0;
    cap = a->cap ? a->cap : 1; /* most sets hold one interval per entry (the timeline keeps hundreds) */
    while (cap < want) {
        if (cap > SIZE_MAX / 2 / sizeof(ival))
            return -ENOMEM;
        cap *= 2;
    }
    nv = realloc(a->v, cap * sizeof(ival));
    if (!nv)
        return -ENOMEM;
    a->v = nv;
    a->cap = cap;
    return 0;
}

static int ivec_push(ivec *a, uint64_t lo, uint64_t hi)
{
    int rc = ivec_reserve(a, a->n + 1);

    if (rc)
        return rc;
    a->v[a->n].lo = lo;
    a->v[a->n].hi = hi;
    a->n++;
    return 0;
}

/*
 * Append [lo, hi] (lo >= the last lo) to the tail a->v[base..], merging with
 * the last interval of that tail when they overlap or touch.
 */
static int ivec_push_merge(ivec *a, size_t base, uint64_t lo, uint64_t hi)
{
    if (a->n > base) {
        ival *last = &a->v[a->n - 1];
        if (last->hi == UINT64_MAX || lo <= last->hi + 1) {
            if (hi > last->hi)
                last->hi = hi;
            return 0;
        }
    }
    return ivec_push(a, lo, hi);
}

static int ival_cmp(const void *x, const void *y)
{
    const ival *a = x, *b = y;

    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    return 0;
}

/* Sort and merge the tail a->v[base..] in place. */
static void ivec_normalize_tail(ivec *a, size_t base)
{
    size_t w = base;

    if (a->n - base < 2)
        return;
    qsort(a->v + base, a->n - base, sizeof(ival), ival_cmp);
    for (size_t r = base + 1; r < a->n; r++) {
        ival *cur = &a->v[w];
        if (cur->hi == UINT64_MAX || a->v[r].lo <= cur->hi + 1) {
            if (a->v[r].hi > cur->hi)
                cur->hi = a->v[r].hi;
        } else {
            a->v[++w] = a->v[r];
        }
    }
    a->n = w + 1;
}

static int ivec_append(ivec *out, islice a)
{
    int rc;

    if (a.n == 0)
        return 0;
    rc = ivec_reserve(out, out->n + a.n);
    if (rc)
        return rc;
    memcpy(out->v + out->n, a.v, a.n * sizeof(ival));
    out->n += a.n;
    return 0;
}

/* a ∪ b appended to out (a new tail starting at base = out->n). */
static int ivec_union(islice a, islice b, ivec *out)
{
    size_t i = 0, j = 0, base = out->n;
    int rc;

    while (i < a.n || j < b.n) {
        const ival *x;
        if (j >= b.n || (i < a.n && a.v[i].lo <= b.v[j].lo))
            x = &a.v[i++];
        else
            x = &b.v[j++];
        rc = ivec_push_merge(out, base, x->lo, x->hi);
        if (rc)
            return rc;
    }
    return 0;
}

/* a − b appended to out. */
static int ivec_subtract(islice a, islice b, ivec *out)
{
    size_t j = 0;
    int rc;

    for (size_t i = 0; i < a.n; i++) {
        uint64_t lo = a.v[i].lo, hi = a.v[i].hi;
        bool done = false;

        while (j < b.n && b.v[j].hi < lo)
            j++;
        for (size_t k = j; k < b.n && b.v[k].lo <= hi; k++) {
            if (b.v[k].lo > lo) {
                rc = ivec_push(out, lo, b.v[k].lo - 1);
                if (rc)
                    return rc;
            }
            if (b.v[k].hi >= hi) {
                done = true;
                break;
            }
            lo = b.v[k].hi + 1; /* b.v[k].hi < hi, no overflow */
        }
        if (!done) {
            rc = ivec_push(out, lo, hi);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* a ∩ b appended to out. */
static int ivec_intersect(islice a, islice b, ivec *out)
{
    size_t i = 0, j = 0;
    int rc;

    while (i < a.n && j < b.n) {
        uint64_t lo = a.v[i].lo > b.v[j].lo ? a.v[i].lo : b.v[j].lo;
        uint64_t hi = a.v[i].hi < b.v[j].hi ? a.v[i].hi : b.v[j].hi;
        if (lo <= hi) {
            rc = ivec_push(out, lo, hi);
            if (rc)
                return rc;
        }
        if (a.v[i].hi < b.v[j].hi)
            i++;
        else
            j++;
    }
    return 0;
}

static bool ivec_subset(islice a, islice b)
{
    size_t j = 0;

    for (size_t i = 0; i < a.n; i++) {
        while (j < b.n && b.v[j].hi < a.v[i].lo)
            j++;
        if (j >= b.n || b.v[j].lo > a.v[i].lo || b.v[j].hi < a.v[i].hi)
            return false;
    }
    return true;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static uint64_t ivec_count(islice a)
{
    uint64_t total = 0;

    for (size_t i = 0; i < a.n; i++) {
        uint64_t len = a.v[i].hi - a.v[i].lo; /* + 1 below, saturating */
        total = sat_add(total, sat_add(len, 1));
    }
    return total;
}

static uint64_t ivec_top(islice a) { return a.n ? a.v[a.n - 1].hi : 0; }

/* ------------------------------------------------------------------------ */
/* Sets                                                                     */
/* ------------------------------------------------------------------------ */

static islice slice(const gtid_set *s, const gentry *e)
{
    islice r = {s->iv.v + e->off, e->cnt};
    return r;
}

static gtid_set *set_new(gtid_kind kind)
{
    gtid_set *s = calloc(1, sizeof *s);

    if (s)
        s->kind = kind;
    return s;
}

/* Append a zeroed entry whose intervals start at the end of s->iv; NULL on out of memory. */
static gentry *set_add(gtid_set *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1; /* most sets have one domain or one UUID */
        gentry *ne;
        if (s->cap > SIZE_MAX / 2 / sizeof(gentry))
            return NULL;
        ne = realloc(s->e, cap * sizeof(gentry));
        if (!ne)
            return NULL;
        s->e = ne;
        s->cap = cap;
    }
    memset(&s->e[s->n], 0, sizeof(gentry));
    s->e[s->n].off = s->iv.n;
    return &s->e[s->n++];
}

void gtid_set_free(gtid_set *s)
{
    if (!s)
        return;
    ivec_free(&s->iv);
    free(s->e);
    free(s);
}

gtid_kind gtid_set_kind(const gtid_set *s) { return s ? s->kind : (gtid_kind)0; }

static int key_cmp(gtid_kind kind, const gentry *a, const gentry *b)
{
    if (kind == GTID_KIND_MARIADB) {
        if (a->domain != b->domain)
            return a->domain < b->domain ? -1 : 1;
        return 0;
    }
    int c = memcmp(a->uuid, b->uuid, sizeof a->uuid);
    if (c)
        return c < 0 ? -1 : 1;
    c = strcmp(a->tag, b->tag);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

/* Copy an entry's key fields (not its intervals) into dst. */
static void copy_key(gentry *dst, const gentry *src)
{
    dst->domain = src->domain;
    dst->server = src->server;
    memcpy(dst->uuid, src->uuid, sizeof dst->uuid);
    memcpy(dst->tag, src->tag, sizeof dst->tag);
}

int gtid_set_dup(const gtid_set *s, gtid_set **out)
{
    gtid_set *d = NULL;
    int rc = 0;

    if (!s || !out)
        return -EINVAL;
    *out = NULL;
    d = set_new(s->kind);
    if (!d) {
        rc = -ENOMEM;
        goto out;
    }
    if (s->n) {
        d->e = malloc(s->n * sizeof(gentry));
        if (!d->e) {
            rc = -ENOMEM;
            goto out;
        }
        memcpy(d->e, s->e, s->n * sizeof(gentry));
        d->n = d->cap = s->n;
    }
    rc = ivec_append(&d->iv, (islice){s->iv.v, s->iv.n});
    if (rc)
        goto out;
    *out = d;
    d = NULL;
out:
    gtid_set_free(d);
    return rc;
}

bool gtid_set_is_empty(const gtid_set *s) { return !s || s->n == 0; }

uint64_t gtid_set_count(const gtid_set *s)
{
    uint64_t total = 0;

    if (!s)
        return 0;
    for (size_t i = 0; i < s->n; i++)
        total = sat_add(total, ivec_count(slice(s, &s->e[i])));
    return total;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

/* Append len bytes (kept NUL-terminated). */
static int sb_put(sbuf *b, const char *str, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *np;
        while (cap < b->n + len + 1) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        np = realloc(b->p, cap);
        if (!np)
            return -ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, str, len);
    b->n += len;
    b->p[b->n] = '\0';
    return 0;
}

static int sb_str(sbuf *b, const char *str) { return sb_put(b, str, strlen(str)); }

/* Append optional prefix sep, then v in decimal. */
static int sb_u64(sbuf *b, const char *sep, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    int rc = sep ? sb_str(b, sep) : 0;

    if (rc)
        return rc;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return sb_put(b, tmp + i, sizeof tmp - i);
}

static void uuid_str(const uint8_t u[16], char out[37])
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hx[u[i] >> 4];
        out[o++] = hx[u[i] & 15];
    }
    out[o] = '\0';
}

int gtid_set_format(const gtid_set *s, char **out)
{
    sbuf b = {0};
    int rc = 0;

    if (!s || !out)
        return -EINVAL;
    *out = NULL;
    rc = sb_put(&b, "", 0); /* "" for the empty set */
    if (rc)
        goto out;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        const gentry *e = &s->e[i];
        islice sl = slice(s, e);
        if (s->kind == GTID_KIND_MARIADB) {
            /* "D-S-N" for 1..N, "D-S-A..B" otherwise */
            for (size_t k = 0; k < sl.n && rc == 0; k++) {
                const ival *x = &sl.v[k];
                rc = sb_u64(&b, (i == 0 && k == 0) ? NULL : ",", e->domain);
                if (!rc)
                    rc = sb_u64(&b, "-", e->server);
                if (!rc && x->lo != 1)
                    rc = sb_u64(&b, "-", x->lo);
                if (!rc)
                    rc = sb_u64(&b, x->lo != 1 ? ".." : "-", x->hi);
            }
        } else {
            /* uuid once per block, then [":" tag] and ":N" / ":A-B" */
            if (i == 0 || memcmp(e->uuid, s->e[i - 1].uuid, sizeof e->uuid) != 0) {
                char u[37];
                uuid_str(e->uuid, u);
                rc = sb_str(&b, i == 0 ? "" : ",");
                if (!rc)
                    rc = sb_put(&b, u, 36);
            }
            if (!rc && e->tag[0]) {
                rc = sb_str(&b, ":");
                if (!rc)
                    rc = sb_str(&b, e->tag);
            }
            for (size_t k = 0; k < sl.n && rc == 0; k++) {
                const ival *x = &sl.v[k];
                rc = sb_u64(&b, ":", x->lo);
                if (!rc && x->hi != x->lo)
                    rc = sb_u64(&b, "-", x->hi);
            }
        }
    }
    if (rc)
        goto out;
    *out = b.p;
    b.p = NULL;
out:
    free(b.p);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Parsing: MariaDB                                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
    uint32_t domain, server;
    uint64_t lo, hi; /* hi == 0: "D-S-0", no transaction */
    bool plain;      /* "D-S-N" (not "D-S-A..B") */
    size_t off;      /* offset of the item in the text */
    size_t ord;
} mitem;

typedef struct {
    mitem *v;
    size_t n, cap;
} mvec;

static int mitem_cmp(const void *x, const void *y)
{
    const mitem *a = x, *b = y;

    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    return a->ord < b->ord ? -1 : (a->ord > b->ord ? 1 : 0);
}

static int mvec_push(mvec *m, const mitem *it)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        mitem *nv;
        if (m->cap > SIZE_MAX / 2 / sizeof(mitem))
            return -ENOMEM;
        nv = realloc(m->v, cap * sizeof(mitem));
        if (!nv)
            return -ENOMEM;
        m->v = nv;
        m->cap = cap;
    }
    m->v[m->n++] = *it;
    return 0;
}

/* One "D-S-N" or "D-S-A..B" item at text[*pos] (no leading whitespace). */
static int parse_mariadb_item(const char *text, size_t *pos, mitem *it, char *err, size_t errlen)
{
    size_t p = *pos, start = *pos, numpos, seqpos;
    uint64_t v;
    char cb[16];
    int r;

    numpos = p;
    r = scan_u64(text, &p, UINT32_MAX, &v);
    if (r == SCAN_NONE) {
        item_err(err, errlen, text, start, numpos, "domain id is not a number (found %s)",
                 char_desc(text[numpos], cb));
        return -EINVAL;
    }
    if (r == SCAN_RANGE) {
        item_err(err, errlen, text, start, numpos, "domain id is out of range (max %" PRIu32 ")",
                 UINT32_MAX);
        return -EINVAL;
    }
    it->domain = (uint32_t)v;
    if (text[p] != '-') {
        item_err(err, errlen, text, start, p, "expected '-' after domain id, found %s",
                 char_desc(text[p], cb));
        return -EINVAL;
    }
    p++;
    numpos = p;
    r = scan_u64(text, &p, UINT32_MAX, &v);
    if (r == SCAN_NONE) {
        item_err(err, errlen, text, start, numpos, "server id is not a number (found %s)",
                 char_desc(text[numpos], cb));
        return -EINVAL;
    }
    if (r == SCAN_RANGE) {
        item_err(err, errlen, text, start, numpos, "server id is out of range (max %" PRIu32 ")",
                 UINT32_MAX);
        return -EINVAL;
    }
    it->server = (uint32_t)v;
    if (text[p] != '-') {
        item_err(err, errlen, text, start, p, "expected '-' after server id, found %s",
                 char_desc(text[p], cb));
        return -EINVAL;
    }
    p++;
    numpos = seqpos = p;
    r = scan_u64(text, &p, UINT64_MAX, &v);
    if (r == SCAN_NONE) {
        item_err(err, errlen, text, start, numpos, "sequence number is not a number (found %s)",
                 char_desc(text[numpos], cb));
        return -EINVAL;
    }
    if (r == SCAN_RANGE) {
        item_err(err, errlen, text, start, numpos,
                 "sequence number is out of range (max %" PRIu64 ")", UINT64_MAX);
        return -EINVAL;
    }
    if (text[p] == '.') {
        uint64_t hi;
        if (text[p + 1] != '.') {
            item_err(err, errlen, text, start, p + 1, "expected '..' in a range, found %s",
                     char_desc(text[p + 1], cb));
            return -EINVAL;
        }
        p += 2;
        numpos = p;
        r = scan_u64(text, &p, UINT64_MAX, &hi);
        if (r == SCAN_NONE) {
            item_err(err, errlen, text, start, numpos, "range end is not a number (found %s)",
                     char_desc(text[numpos], cb));
            return -EINVAL;
        }
        if (r == SCAN_RANGE) {
            item_err(err, errlen, text, start, numpos,
                     "range end is out of range (max %" PRIu64 ")", UINT64_MAX);
            return -EINVAL;
        }
        if (v == 0) {
            item_err(err, errlen, text, start, seqpos,
                     "range start is 0 (sequence numbers start at 1)");
            return -EINVAL;
        }
        if (v > hi) {
            item_err(err, errlen, text, start, numpos,
                     "range start %" PRIu64 " is greater than range end %" PRIu64, v, hi);
            return -EINVAL;
        }
        it->lo = v;
        it->hi = hi;
        it->plain = false;
    } else {
        it->lo = 1;
        it->hi = v;
        it->plain = true;
    }
    if (text[p] != '\0' && text[p] != ',' && !is_ws(text[p])) {
        item_err(err, errlen, text, start, p, "unexpected %s after the sequence number",
                 char_desc(text[p], cb));
        return -EINVAL;
    }
    it->off = start;
    *pos = p;
    return 0;
}

static int parse_mariadb(const char *text, gtid_set *s, char *err, size_t errlen)
{
    mvec items = {0};
    size_t p = 0;
    int rc = 0;

    while (is_ws(text[p]))
        p++;
    while (text[p] != '\0') {
        mitem it = {0};
        char cb[16];

        if (text[p] == ',') {
            item_err(err, errlen, text, p, p, "empty item (found %s where a GTID should start)",
                     char_desc(text[p], cb));
            rc = -EINVAL;
            goto out;
        }
        rc = parse_mariadb_item(text, &p, &it, err, errlen);
        if (rc)
            goto out;
        it.ord = items.n;
        rc = mvec_push(&items, &it);
        if (rc)
            goto out;
        while (is_ws(text[p]))
            p++;
        if (text[p] == ',') {
            size_t comma = p;
            p++;
            while (is_ws(text[p]))
                p++;
            if (text[p] == '\0') {
                set_err(err, errlen, "bad GTID list: trailing ',' at offset %zu", comma);
                rc = -EINVAL;
                goto out;
            }
        } else if (text[p] != '\0') {
            /* whitespace then something else: the item had a space inside */
            item_err(err, errlen, text, it.off, p,
                     "unexpected %s after whitespace (expected ',' or end)",
                     char_desc(text[p], cb));
            rc = -EINVAL;
            goto out;
        }
    }

    if (items.n > 1)
        qsort(items.v, items.n, sizeof(mitem), mitem_cmp);
    for (size_t i = 0; i < items.n;) {
        size_t j = i;
        const mitem *plain = NULL, *topit = NULL;
        gentry *e = NULL;

        while (j < items.n && items.v[j].domain == items.v[i].domain)
            j++;
        for (size_t k = i; k < j; k++) {
            const mitem *it = &items.v[k];
            if (it->plain) {
                if (plain) {
                    item_err(err, errlen, text, it->off, it->off,
                             "duplicate domain %" PRIu32 " (conflicts with the GTID at offset %zu;"
                             " a position has one GTID per domain)",
                             it->domain, plain->off);
                    rc = -EINVAL;
                    goto out;
                }
                plain = it;
            }
            if (it->hi == 0)
                continue; /* "D-S-0": nothing in this domain */
            if (!topit || it->hi > topit->hi) {
                topit = it;
            } else if (it->hi == topit->hi && it->server != topit->server) {
                const mitem *later = it->off > topit->off ? it : topit;
                item_err(err, errlen, text, later->off, later->off,
                         "domain %" PRIu32 " top sequence number %" PRIu64
                         " has two server ids (%" PRIu32 " and %" PRIu32 ")",
                         it->domain, it->hi, topit->server, it->server);
                rc = -EINVAL;
                goto out;
            }
        }
        if (topit) {
            e = set_add(s);
            if (!e) {
                rc = -ENOMEM;
                goto out;
            }
            e->domain = items.v[i].domain;
            e->server = topit->server;
            for (size_t k = i; k < j; k++) {
                if (items.v[k].hi == 0)
                    continue;
                rc = ivec_push(&s->iv, items.v[k].lo, items.v[k].hi);
                if (rc)
                    goto out;
            }
            ivec_normalize_tail(&s->iv, e->off);
            e->cnt = s->iv.n - e->off;
        }
        i = j;
    }
out:
    free(items.v);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Parsing: MySQL                                                           */
/* ------------------------------------------------------------------------ */

/* 8-4-4-4-12 hex uuid at text[*pos]. Returns 0 or the offset+1 of the bad byte. */
static size_t scan_uuid(const char *text, size_t *pos, uint8_t out[16])
{
    size_t p = *pos, nb = 0;

    for (size_t i = 0; i < 36; i++, p++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[p] != '-')
                return p + 1;
            continue;
        }
        int h = hex_val(text[p]);
        if (h < 0)
            return p + 1;
        if (nb % 2 == 0)
            out[nb / 2] = (uint8_t)(h << 4);
        else
            out[nb / 2] |= (uint8_t)h;
        nb++;
    }
    /* a uuid must not run on into more hex digits */
    if (hex_val(text[p]) >= 0 || text[p] == '-')
        return p + 1;
    *pos = p;
    return 0;
}

static int gentry_cmp_ord(const void *x, const void *y)
{
    const gentry *a = x, *b = y;
    int c = memcmp(a->uuid, b->uuid, sizeof a->uuid);

    if (c)
        return c;
    c = strcmp(a->tag, b->tag);
    if (c)
        return c;
    return a->ord < b->ord ? -1 : (a->ord > b->ord ? 1 : 0);
}

/*
 * Sort entries by key, merge entries with the same key, normalize their
 * intervals and drop entries without any, rebuilding the interval array.
 */
static int mysql_normalize(gtid_set *s)
{
    ivec niv = {0};
    size_t w = 0;
    int rc = 0;

    if (s->n > 1)
        qsort(s->e, s->n, sizeof(gentry), gentry_cmp_ord);
    for (size_t r = 0; r < s->n;) {
        size_t g = r, base = niv.n;

        while (g < s->n && key_cmp(GTID_KIND_MYSQL, &s->e[r], &s->e[g]) == 0) {
            rc = ivec_append(&niv, slice(s, &s->e[g]));
            if (rc)
                goto out;
            g++;
        }
        ivec_normalize_tail(&niv, base);
        if (niv.n > base) {
            s->e[w] = s->e[r];
            s->e[w].off = base;
            s->e[w].cnt = niv.n - base;
            w++;
        }
        r = g;
    }
    s->n = w;
    ivec_free(&s->iv);
    s->iv = niv;
    niv.v = NULL;
out:
    ivec_free(&niv);
    return rc;
}

/* MySQL item, one ':tag' part: text[*pp] starts the tag; adds the tagged entry as *curp. */
static int mysql_tag(const char *text, size_t *pp, size_t start, gtid_set *s,
                     const uint8_t uuid[16], gentry **curp, char *err, size_t errlen)
{
    size_t p = *pp;
    size_t tstart = p, len = 0;
    char tag[GTID_TAG_MAX + 1];
    gentry *cur;

    while (is_alpha(text[p]) || is_digit(text[p]) || text[p] == '_') {
        if (len == GTID_TAG_MAX) {
            item_err(err, errlen, text, start, tstart,
                     "tag is longer than %d characters", GTID_TAG_MAX);
            return -EINVAL;
        }
        tag[len++] = to_lower(text[p]);
        p++;
    }
    *pp = p;
    tag[len] = '\0';
    cur = set_add(s);
    if (!cur)
        return -ENOMEM;
    memcpy(cur->uuid, uuid, 16);
    memcpy(cur->tag, tag, len + 1);
    cur->ord = s->n;
    *curp = cur;
    return 0;
}

/* MySQL item, one ':N' or ':N-M' part: text[*pp] is a digit; appends the interval to cur. */
static int mysql_interval(const char *text, size_t *pp, size_t start, gtid_set *s,
                          gentry *cur, char *err, size_t errlen)
{
    char cb[16];
    size_t p = *pp;
    size_t npos = p;
    uint64_t lo, hi;
    int rc;
    int r = scan_u64(text, &p, GTID_MYSQL_NUMBER_MAX, &lo);

    *pp = p;
    if (r == SCAN_RANGE) {
        item_err(err, errlen, text, start, npos,
                 "transaction number is out of range (1..%llu)",
                 GTID_MYSQL_NUMBER_MAX);
        return -EINVAL;
    }
    if (lo == 0) {
        item_err(err, errlen, text, start, npos,
                 "transaction number 0 is not allowed (numbers start at 1)");
        return -EINVAL;
    }
    hi = lo;
    if (text[p] == '-') {
        p++;
        npos = p;
        r = scan_u64(text, &p, GTID_MYSQL_NUMBER_MAX, &hi);
        *pp = p;
        if (r == SCAN_NONE) {
            item_err(err, errlen, text, start, npos,
                     "interval end is not a number (found %s)",
                     char_desc(text[npos], cb));
            return -EINVAL;
        }
        if (r == SCAN_RANGE) {
            item_err(err, errlen, text, start, npos,
                     "interval end is out of range (1..%llu)",
                     GTID_MYSQL_NUMBER_MAX);
            return -EINVAL;
        }
        if (hi < lo) {
            item_err(err, errlen, text, start, npos,
                     "interval start %" PRIu64 " is greater than its end %" PRIu64,
                     lo, hi);
            return -EINVAL;
        }
    }
    rc = ivec_push(&s->iv, lo, hi);
    if (rc)
        return rc;
    cur->cnt++; /* cur is the last entry: its intervals are the tail */
    return 0;
}

/* One MySQL item 'uuid(:tag|:interval)*' starting at text[*pp] (not blank, not ','). */
static int mysql_item(const char *text, size_t *pp, gtid_set *s, char *err, size_t errlen)
{
    char cb[16];
    size_t p = *pp;
    size_t start, bad;
    uint8_t uuid[16];
    gentry *cur;
    bool cur_has_ival, cur_tagged;
    int rc;

    start = p;
    bad = scan_uuid(text, &p, uuid);
    if (bad) {
        item_err(err, errlen, text, start, bad - 1,
                 "bad uuid (expected 8-4-4-4-12 hex digits, found %s)",
                 char_desc(text[bad - 1], cb));
        return -EINVAL;
    }
    while (is_ws(text[p]))
        p++;
    if (text[p] != ':') {
        item_err(err, errlen, text, start, p, "expected ':' after the uuid, found %s",
                 char_desc(text[p], cb));
        return -EINVAL;
    }
    cur = set_add(s);
    if (!cur)
        return -ENOMEM;
    memcpy(cur->uuid, uuid, sizeof uuid);
    cur->ord = s->n;
    cur_has_ival = false;
    cur_tagged = false;
    while (text[p] == ':') {
        p++;
        while (is_ws(text[p]))
            p++;
        if (is_alpha(text[p]) || text[p] == '_') {
            if (cur_tagged && !cur_has_ival) {
                item_err(err, errlen, text, start, p,
                         "tag '%s' has no interval before the next tag", cur->tag);
                return -EINVAL;
            }
            rc = mysql_tag(text, &p, start, s, uuid, &cur, err, errlen);
            if (rc)
                return rc;
            cur_has_ival = false;
            cur_tagged = true;
        } else if (is_digit(text[p])) {
            rc = mysql_interval(text, &p, start, s, cur, err, errlen);
            if (rc)
                return rc;
            cur_has_ival = true;
        } else {
            item_err(err, errlen, text, start, p,
                     "expected a tag or an interval after ':', found %s",
                     char_desc(text[p], cb));
            return -EINVAL;
        }
        while (is_ws(text[p]))
            p++;
    }
    if (text[p] != '\0' && text[p] != ',') {
        item_err(err, errlen, text, start, p,
                 "unexpected %s (expected ':', ',' or end)", char_desc(text[p], cb));
        return -EINVAL;
    }
    if (!cur_has_ival) { /* only a tag can be left without interval */
        item_err(err, errlen, text, start, p, "tag '%s' has no interval", cur->tag);
        return -EINVAL;
    }
    *pp = p;
    return 0;
}

static int parse_mysql(const char *text, gtid_set *s, char *err, size_t errlen)
{
    size_t p = 0;
    int rc;

    for (;;) {
        while (is_ws(text[p]))
            p++;
        if (text[p] == '\0')
            break;
        if (text[p] == ',') { /* empty item: accepted, as the server does */
            p++;
            continue;
        }
        rc = mysql_item(text, &p, s, err, errlen);
        if (rc)
            return rc;
    }
    return mysql_normalize(s);
}

int gtid_set_parse(gtid_kind kind, const char *text, gtid_set **out, char *err, size_t errlen)
{
    gtid_set *s = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (kind != GTID_KIND_MARIADB && kind != GTID_KIND_MYSQL) {
        set_err(err, errlen, "unknown GTID kind %d", (int)kind);
        return -EINVAL;
    }
    if (!text || !out) {
        set_err(err, errlen, "no GTID text or no output given");
        return -EINVAL;
    }
    s = set_new(kind);
    if (!s) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (kind == GTID_KIND_MARIADB)
        rc = parse_mariadb(text, s, err, errlen);
    else
        rc = parse_mysql(text, s, err, errlen);
    if (rc == -ENOMEM)
        set_err(err, errlen, "out of memory");
    if (rc)
        goto out;
    *out = s;
    s = NULL;
out:
    gtid_set_free(s);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Algebra                                                                  */
/* ------------------------------------------------------------------------ */

enum setop { OP_UNION, OP_SUBTRACT, OP_INTERSECT };

/* MariaDB: same top seq, different server ids = two different transactions. */
static bool top_conflict(const gentry *a, islice as, const gentry *b, islice bs)
{
    return ivec_top(as) == ivec_top(bs) && a->server != b->server;
}

/*
 * Combine entries ea (of a) and eb (of b), which have the same key, into e,
 * the last entry of r (key already copied from ea), appending to r->iv.
 */
static int combine(enum setop op, const gtid_set *a, const gentry *ea, const gtid_set *b,
                   const gentry *eb, gtid_set *r, gentry *e)
{
    int rc = 0;
    bool mariadb = a->kind == GTID_KIND_MARIADB;
    islice as = slice(a, ea), bs = slice(b, eb);
    uint64_t ta = ivec_top(as), tb = ivec_top(bs);
    bool conflict = mariadb && top_conflict(ea, as, eb, bs);

    switch (op) {
    case OP_UNION:
        rc = ivec_union(as, bs, &r->iv);
        if (mariadb)
            e->server = ta >= tb ? ea->server : eb->server;
        break;
    case OP_SUBTRACT:
        rc = ivec_subtract(as, bs, &r->iv);
        if (!rc && conflict) /* a's top is not b's top: keep it */
            rc = ivec_push_merge(&r->iv, e->off, ta, ta);
        break;
    case OP_INTERSECT:
        rc = ivec_intersect(as, bs, &r->iv);
        if (!rc && conflict && r->iv.n > e->off) {
            ival *last = &r->iv.v[r->iv.n - 1]; /* its hi is ta == tb */
            if (last->lo == last->hi)
                r->iv.n--;
            else
                last->hi--;
        }
        if (mariadb && r->iv.n > e->off) {
            uint64_t t = r->iv.v[r->iv.n - 1].hi;
            e->server = (t != ta && t == tb) ? eb->server : ea->server;
        }
        break;
    }
    e->cnt = r->iv.n - e->off;
    return rc;
}

static int set_binop(const gtid_set *a, const gtid_set *b, enum setop op, gtid_set **out)
{
    gtid_set *r = NULL;
    size_t i = 0, j = 0;
    int rc = 0;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!a || !b || a->kind != b->kind)
        return -EINVAL;
    r = set_new(a->kind);
    if (!r)
        return -ENOMEM;
    while (i < a->n || j < b->n) {
        const gtid_set *from = NULL;
        const gentry *src = NULL;
        int c;
        gentry *e;

        if (i >= a->n)
            c = 1;
        else if (j >= b->n)
            c = -1;
        else
            c = key_cmp(a->kind, &a->e[i], &b->e[j]);

        if (c < 0) {
            from = a;
            src = &a->e[i++];
            if (op == OP_INTERSECT)
                continue;
        } else if (c > 0) {
            from = b;
            src = &b->e[j++];
            if (op != OP_UNION)
                continue;
        }
        e = set_add(r);
        if (!e) {
            rc = -ENOMEM;
            goto out;
        }
        if (src) {
            copy_key(e, src);
            rc = ivec_append(&r->iv, slice(from, src));
            e->cnt = src->cnt;
        } else {
            copy_key(e, &a->e[i]);
            rc = combine(op, a, &a->e[i], b, &b->e[j], r, e);
            i++;
            j++;
        }
        if (rc)
            goto out;
        if (e->cnt == 0)
            r->n--; /* nothing left under this key */
    }
    *out = r;
    r = NULL;
out:
    gtid_set_free(r);
    return rc;
}

int gtid_set_union(const gtid_set *a, const gtid_set *b, gtid_set **out)
{
    return set_binop(a, b, OP_UNION, out);
}

int gtid_set_subtract(const gtid_set *a, const gtid_set *b, gtid_set **out)
{
    return set_binop(a, b, OP_SUBTRACT, out);
}

int gtid_set_intersect(const gtid_set *a, const gtid_set *b, gtid_set **out)
{
    return set_binop(a, b, OP_INTERSECT, out);
}

bool gtid_set_is_subset(const gtid_set *a, const gtid_set *b)
{
    size_t j = 0;

    if (!a || !b || a->kind != b->kind)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const gentry *ea = &a->e[i];
        while (j < b->n && key_cmp(a->kind, &b->e[j], ea) < 0)
            j++;
        if (j >= b->n || key_cmp(a->kind, &b->e[j], ea) != 0)
            return false;
        if (!ivec_subset(slice(a, ea), slice(b, &b->e[j])))
            return false;
        if (a->kind == GTID_KIND_MARIADB &&
            top_conflict(ea, slice(a, ea), &b->e[j], slice(b, &b->e[j])))
            return false;
    }
    return true;
}

bool gtid_set_equal(const gtid_set *a, const gtid_set *b)
{
    return gtid_set_is_subset(a, b) && gtid_set_is_subset(b, a);
}

gtid_cmp gtid_set_compare(const gtid_set *a, const gtid_set *b)
{
    bool sub, sup;

    if (!a || !b || a->kind != b->kind)
        return GTID_CMP_DIVERGED;
    sub = gtid_set_is_subset(a, b);
    sup = gtid_set_is_subset(b, a);
    if (sub && sup)
        return GTID_CMP_EQUAL;
    if (sub)
        return GTID_CMP_BEHIND;
    if (sup)
        return GTID_CMP_AHEAD;
    return GTID_CMP_DIVERGED;
}

const char *gtid_cmp_name(gtid_cmp c)
{
    switch (c) {
    case GTID_CMP_EQUAL:
        return "equal";
    case GTID_CMP_BEHIND:
        return "behind";
    case GTID_CMP_AHEAD:
        return "ahead";
    case GTID_CMP_DIVERGED:
        return "diverged";
    }
    return "unknown";
}

int gtid_most_advanced(const gtid_set *const *sets, size_t n, size_t *best)
{
    gtid_kind kind = 0;
    bool any = false;

    if (!sets || !best || n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!sets[i])
            continue;
        if (any && sets[i]->kind != kind)
            return -EINVAL;
        kind = sets[i]->kind;
        any = true;
    }
    if (!any)
        return -ENOENT;
    for (size_t i = 0; i < n; i++) {
        bool all = true;
        if (!sets[i])
            continue;
        for (size_t k = 0; k < n && all; k++) {
            if (k != i && sets[k] && !gtid_set_is_subset(sets[k], sets[i]))
                all = false;
        }
        if (all) {
            *best = i;
            return 0;
        }
    }
    return -ENOENT;
}

int gtid_errant(const gtid_set *replica, const gtid_set *primary, gtid_set **out)
{
    return gtid_set_subtract(replica, primary, out);
}

int gtid_text_errant(gtid_kind kind, const char *replica, const char *primary, char **out,
                     char *err, size_t errlen)
{
    gtid_set *r = NULL, *p = NULL, *e = NULL;
    char msg[256];
    int rc;

    if (!out) {
        set_err(err, errlen, "no output given");
        return -EINVAL;
    }
    *out = NULL;
    msg[0] = '\0';
    rc = gtid_set_parse(kind, replica, &r, msg, sizeof msg);
    if (rc) {
        set_err(err, errlen, "replica GTID set: %s", msg);
        goto out;
    }
    rc = gtid_set_parse(kind, primary, &p, msg, sizeof msg);
    if (rc) {
        set_err(err, errlen, "primary GTID set: %s", msg);
        goto out;
    }
    rc = gtid_errant(r, p, &e);
    if (rc) {
        set_err(err, errlen, "computing errant transactions failed (%s)", strerror(-rc));
        goto out;
    }
    rc = gtid_set_format(e, out);
    if (rc)
        set_err(err, errlen, "formatting errant transactions failed (%s)", strerror(-rc));
out:
    gtid_set_free(r);
    gtid_set_free(p);
    gtid_set_free(e);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Binlog coordinates                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Split a binlog file name into base length and numeric suffix ("mysql-bin"
 * + "000012"). Returns false when there is no non-empty base or the part after
 * the last '.' is not all digits.
 */
static bool split_file(const char *file, size_t len, size_t *baselen, const char **suffix,
                       size_t *suflen)
{
    const char *dot = NULL;

    for (size_t i = 0; i < len; i++)
        if (file[i] == '.')
            dot = file + i;
    if (!dot || dot == file || (size_t)(dot - file) + 1 >= len)
        return false;
    for (const char *q = dot + 1; q < file + len; q++)
        if (!is_digit(*q))
            return false;
    *baselen = (size_t)(dot - file);
    *suffix = dot + 1;
    *suflen = len - *baselen - 1;
    return true;
}

#define BADC "bad binlog coordinate"

int gtid_coord_parse(const char *text, topo_coord *out, char *err, size_t errlen)
{
    const char *colon;
    size_t flen, baselen, suflen, p;
    const char *suffix;
    uint64_t pos;
    int r;

    if (!text || !out) {
        set_err(err, errlen, "no binlog coordinate text or no output given");
        return -EINVAL;
    }
    colon = strrchr(text, ':');
    if (!colon) {
        set_err(err, errlen, "%s: no ':' (expected FILE:POSITION, e.g. mysql-bin.000012:4567)",
                BADC);
        return -EINVAL;
    }
    flen = (size_t)(colon - text);
    if (flen == 0) {
        set_err(err, errlen, "%s: file name is empty", BADC);
        return -EINVAL;
    }
    if (flen >= TOPO_FILE_MAX) {
        set_err(err, errlen, "%s: file name is %zu bytes long (max %d)", BADC, flen,
                TOPO_FILE_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < flen; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c == 0x7f) {
            set_err(err, errlen,
                    "%s: whitespace or control character in the file name at offset %zu", BADC, i);
            return -EINVAL;
        }
    }
    if (!split_file(text, flen, &baselen, &suffix, &suflen)) {
        set_err(err, errlen,
                "%s: file name '%.*s' does not end in .<number> after a base name"
                " (e.g. mysql-bin.000012)",
                BADC, (int)flen, text);
        return -EINVAL;
    }
    p = flen + 1;
    r = scan_u64(text, &p, UINT64_MAX, &pos);
    if (r == SCAN_NONE) {
        set_err(err, errlen, "%s: position at offset %zu is not a number", BADC, flen + 1);
        return -EINVAL;
    }
    if (r == SCAN_RANGE) {
        set_err(err, errlen, "%s: position at offset %zu is out of range (max %" PRIu64 ")", BADC,
                flen + 1, UINT64_MAX);
        return -EINVAL;
    }
    if (text[p] != '\0') {
        set_err(err, errlen, "%s: unexpected characters after the position at offset %zu", BADC, p);
        return -EINVAL;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->file, text, flen);
    out->file[flen] = '\0';
    out->pos = pos;
    return 0;
}

/* Compare two digit strings numerically (any length, leading zeros ignored). */
static int digits_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c;

    while (alen > 1 && *a == '0') {
        a++;
        alen--;
    }
    while (blen > 1 && *b == '0') {
        b++;
        blen--;
    }
    if (alen != blen)
        return alen < blen ? -1 : 1;
    c = memcmp(a, b, alen);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int gtid_coord_cmp(const topo_coord *a, const topo_coord *b, int *result)
{
    size_t alen, blen, abase, bbase, asuf, bsuf;
    const char *as, *bs;
    int c;

    if (!a || !b || !result)
        return -EINVAL;
    alen = strnlen(a->file, TOPO_FILE_MAX);
    blen = strnlen(b->file, TOPO_FILE_MAX);
    if (alen == 0 || blen == 0 || alen == TOPO_FILE_MAX || blen == TOPO_FILE_MAX)
        return -EINVAL;
    if (!split_file(a->file, alen, &abase, &as, &asuf) ||
        !split_file(b->file, blen, &bbase, &bs, &bsuf))
        return -EINVAL;
    if (abase != bbase || memcmp(a->file, b->file, abase) != 0)
        return -EINVAL;
    c = digits_cmp(as, asuf, bs, bsuf);
    if (c == 0 && a->pos != b->pos)
        c = a->pos < b->pos ? -1 : 1;
    *result = c;
    return 0;
}
