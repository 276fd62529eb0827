/*
 * tests/fuzz/fuzz_gtid.c — fuzz target for topology/gtid.{h,c}.
 *
 * The input is parsed whole as both GTID kinds (and as a binlog coordinate);
 * a valid input is paired with a fixed reference set; then the input is split
 * in two (at the first '|', else in the middle) and the halves are
 * combined with the set algebra. Invariants are checked with abort():
 *   format(parse(x)) re-parses to an equal set and prints the same text;
 *   a−b ⊆ a; (a−b) ∩ b = ∅; a ⊆ a∪b; a∩b ⊆ a and ⊆ b; (a−b) ∪ (a∩b) = a;
 *   |a−b| + |a∩b| = |a|; a−b = ∅ iff a ⊆ b; compare() agrees with subset
 *   and is antisymmetric; most_advanced() agrees with compare(); the text
 *   errant helper agrees with subtract.
 * Returns -1 (libFuzzer: "do not add to the corpus") when the whole input is
 * valid as neither kind. Build with -fsanitize=fuzzer (clang) or link with
 * tests/fuzz/driver.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/gtid.h"

#define FZ_CHECK(cond)                                                                            \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_gtid: invariant failed: %s (line %d)\n", #cond, __LINE__);     \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_driver_seeds(size_t *n);

/* Seeds for the standalone driver (real server strings and edge cases). */
static const char *const seeds[] = {
    "",
    "0-1-10",
    "1-2-3, 2-4-6",
    "2-1-5,1-1-4,0-1-110",
    "0-1-100,1-2-5,4294967295-4294967295-18446744073709551615",
    "0-1-10,0-2-20",
    "0-1-5,0-1-11..15",
    "0-1-10|0-2-10",
    "0-1-15,1-1-3|0-1-10,2-2-2",
    "0-1-11..15|0-1-12..20",
    "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-3:11:47-49",
    "9e520b78-013c-11eb-a84c-0800271bf591:1-109,\n9f50ba55-0141-11eb-98ab-0800270c8f40:1",
    ("9e520b78-013c-11eb-a84c-0800271bf591:79-109|9e520b78-013c-11eb-a84c-0800271bf591:1-109,\n"
     "9f50ba55-0141-11eb-98ab-0800270c8f40:1"),
    "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:1-9223372036854775806",
    "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:1-3:5-7|aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:3-5",
    "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:1,bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb:3:2:1",
    ("11111111-1111-1111-1111-111111111111:1-5:tag_1:1-3|"
     "11111111-1111-1111-1111-111111111111:Tag_1:2-9"),
    "ed102faf-eb00-11eb-8f20-0c5415bfaa1d:Domain_1:117",
    "mysql-bin.000012:4567",
};

const char *const *fuzz_driver_seeds(size_t *n)
{
    *n = sizeof seeds / sizeof seeds[0];
    return seeds;
}

static char *must_format(const gtid_set *s)
{
    char *t = NULL;

    FZ_CHECK(gtid_set_format(s, &t) == 0 && t != NULL);
    return t;
}

static gtid_set *op(int (*fn)(const gtid_set *, const gtid_set *, gtid_set **), const gtid_set *a,
                    const gtid_set *b)
{
    gtid_set *r = NULL;

    FZ_CHECK(fn(a, b, &r) == 0 && r != NULL);
    return r;
}

/* Parse one text; on success check the round trip and self-algebra. */
static gtid_set *check_one(gtid_kind kind, const char *text)
{
    gtid_set *s = NULL, *s2 = NULL, *d = NULL, *t;
    char err[256];
    char *f1, *f2;
    int rc;

    err[0] = '\0';
    rc = gtid_set_parse(kind, text, &s, err, sizeof err);
    if (rc != 0) {
        FZ_CHECK(rc == -EINVAL);
        FZ_CHECK(s == NULL);
        FZ_CHECK(err[0] != '\0');
        return NULL;
    }
    FZ_CHECK(s != NULL && gtid_set_kind(s) == kind);
    f1 = must_format(s);
    rc = gtid_set_parse(kind, f1, &s2, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "fuzz_gtid: canonical text '%s' does not re-parse: %s\n", f1, err);
        abort();
    }
    FZ_CHECK(gtid_set_equal(s, s2));
    FZ_CHECK(gtid_set_compare(s, s2) == GTID_CMP_EQUAL);
    FZ_CHECK(gtid_set_count(s) == gtid_set_count(s2));
    f2 = must_format(s2);
    FZ_CHECK(strcmp(f1, f2) == 0);
    FZ_CHECK(gtid_set_is_empty(s) == (f1[0] == '\0'));
    FZ_CHECK(gtid_set_is_empty(s) == (gtid_set_count(s) == 0));
    FZ_CHECK(gtid_set_dup(s, &d) == 0 && gtid_set_equal(s, d));
    t = op(gtid_set_union, s, s);
    FZ_CHECK(gtid_set_equal(t, s));
    gtid_set_free(t);
    t = op(gtid_set_intersect, s, s);
    FZ_CHECK(gtid_set_equal(t, s));
    gtid_set_free(t);
    t = op(gtid_set_subtract, s, s);
    FZ_CHECK(gtid_set_is_empty(t));
    gtid_set_free(t);
    free(f1);
    free(f2);
    gtid_set_free(s2);
    gtid_set_free(d);
    return s;
}

/* Plain parse, NULL when invalid. */
static gtid_set *parse_only(gtid_kind kind, const char *text)
{
    gtid_set *s = NULL;

    return gtid_set_parse(kind, text, &s, NULL, 0) == 0 ? s : NULL;
}

/* Pair invariants (the single-set checks run on whole inputs only). */
static void check_pair(gtid_kind kind, const char *ta, const char *tb)
{
    gtid_set *a = parse_only(kind, ta);
    gtid_set *b = parse_only(kind, tb);
    gtid_set *u, *d, *d2, *x, *t, *e;
    const gtid_set *pair[3];
    gtid_cmp c, c2;
    bool sub, sup;
    size_t best = 99;
    int rc;
    char *fd, *txt = NULL;

    if (!a || !b)
        goto out;
    u = op(gtid_set_union, a, b);
    d = op(gtid_set_subtract, a, b);
    d2 = op(gtid_set_subtract, b, a);
    x = op(gtid_set_intersect, a, b);
    c = gtid_set_compare(a, b);
    c2 = gtid_set_compare(b, a);
    sub = gtid_set_is_subset(a, b);
    sup = gtid_set_is_subset(b, a);

    /* compare agrees with subset and is antisymmetric */
    FZ_CHECK(c == (sub && sup ? GTID_CMP_EQUAL
                   : sub      ? GTID_CMP_BEHIND
                   : sup      ? GTID_CMP_AHEAD
                              : GTID_CMP_DIVERGED));
    FZ_CHECK(c2 == (c == GTID_CMP_BEHIND  ? GTID_CMP_AHEAD
                    : c == GTID_CMP_AHEAD ? GTID_CMP_BEHIND
                                          : c));
    FZ_CHECK(gtid_set_is_empty(d) == sub);
    FZ_CHECK(gtid_set_is_empty(d2) == sup);

    /* a−b ⊆ a, (a−b) ∩ b = ∅ */
    FZ_CHECK(gtid_set_is_subset(d, a));
    t = op(gtid_set_intersect, d, b);
    FZ_CHECK(gtid_set_is_empty(t));
    gtid_set_free(t);
    /* a ⊆ a∪b; b ⊆ a∪b unless a MariaDB same-seq server-id conflict */
    FZ_CHECK(gtid_set_is_subset(a, u));
    FZ_CHECK(gtid_set_is_subset(b, u) || (kind == GTID_KIND_MARIADB && c == GTID_CMP_DIVERGED));
    if (kind == GTID_KIND_MYSQL) {
        t = op(gtid_set_union, b, a);
        FZ_CHECK(gtid_set_equal(t, u));
        gtid_set_free(t);
    }
    /* a∩b ⊆ a, ⊆ b; (a−b) ∪ (a∩b) = a; counts add up */
    FZ_CHECK(gtid_set_is_subset(x, a) && gtid_set_is_subset(x, b));
    t = op(gtid_set_union, d, x);
    FZ_CHECK(gtid_set_equal(t, a));
    gtid_set_free(t);
    if (gtid_set_count(a) < UINT64_MAX)
        FZ_CHECK(gtid_set_count(d) + gtid_set_count(x) == gtid_set_count(a));
    /* subtract results (MariaDB range notation) round-trip */
    fd = must_format(d);
    t = parse_only(kind, fd);
    FZ_CHECK(t != NULL && gtid_set_equal(t, d));
    gtid_set_free(t);
    /* errant = subtract, on sets and on text */
    e = op(gtid_errant, a, b);
    FZ_CHECK(gtid_set_equal(e, d));
    gtid_set_free(e);
    rc = gtid_text_errant(kind, ta, tb, &txt, NULL, 0);
    FZ_CHECK(rc == 0 && txt != NULL && strcmp(txt, fd) == 0);
    free(txt);
    free(fd);
    /* most_advanced agrees with compare */
    pair[0] = a;
    pair[1] = b;
    rc = gtid_most_advanced(pair, 2, &best);
    if (c == GTID_CMP_EQUAL || c == GTID_CMP_AHEAD)
        FZ_CHECK(rc == 0 && best == 0);
    else if (c == GTID_CMP_BEHIND)
        FZ_CHECK(rc == 0 && best == 1);
    else
        FZ_CHECK(rc == -ENOENT);
    pair[0] = NULL;
    pair[1] = b;
    pair[2] = a;
    FZ_CHECK(gtid_most_advanced(pair, 3, &best) == rc);
    if (rc == 0)
        FZ_CHECK(best == (c == GTID_CMP_BEHIND ? 1u : c == GTID_CMP_AHEAD ? 2u : 1u));

    gtid_set_free(u);
    gtid_set_free(d);
    gtid_set_free(d2);
    gtid_set_free(x);
out:
    gtid_set_free(a);
    gtid_set_free(b);
}

static void check_coord(const char *text)
{
    topo_coord c, c2;
    char err[256];
    int r = 42;

    if (gtid_coord_parse(text, &c, err, sizeof err) != 0) {
        FZ_CHECK(err[0] != '\0');
        return;
    }
    FZ_CHECK(gtid_coord_cmp(&c, &c, &r) == 0 && r == 0);
    c2 = c;
    if (c2.pos < UINT64_MAX) {
        c2.pos++;
        FZ_CHECK(gtid_coord_cmp(&c, &c2, &r) == 0 && r < 0);
        FZ_CHECK(gtid_coord_cmp(&c2, &c, &r) == 0 && r > 0);
    }
}

/* Fixed partners for the whole input, so that every valid input also gets
 * the pair checks (two valid halves of a mutated input are rarer). */
static const char *const refs_mariadb[] = {
    "0-1-10,1-2-5",
    "0-2-10,2-1-3..7,4294967295-1-18446744073709551615",
};
static const char *const refs_mysql[] = {
    "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:1-5:7,9e520b78-013c-11eb-a84c-0800271bf591:50-100",
    ("11111111-1111-1111-1111-111111111111:1-3:tag_1:2,"
     "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:3-9223372036854775806"),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *a, *b;
    const char *bar;
    size_t split;
    bool valid = false;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0'; /* the text ends at the first NUL */

    for (int k = GTID_KIND_MARIADB; k <= GTID_KIND_MYSQL; k++) {
        gtid_set *s = check_one((gtid_kind)k, buf);
        const char *const *refs = k == GTID_KIND_MARIADB ? refs_mariadb : refs_mysql;
        if (!s)
            continue;
        valid = true;
        gtid_set_free(s);
        /* one reference and one direction per input, picked by its length */
        if (size % 4 < 2)
            check_pair((gtid_kind)k, buf, refs[size % 2]);
        else
            check_pair((gtid_kind)k, refs[size % 2], buf);
    }
    check_coord(buf);

    size = strlen(buf);
    bar = memchr(buf, '|', size);
    split = bar ? (size_t)(bar - buf) : size / 2;
    a = strndup(buf, split);
    b = strdup(buf + split + (bar ? 1 : 0));
    if (a && b) {
        for (int k = GTID_KIND_MARIADB; k <= GTID_KIND_MYSQL; k++)
            check_pair((gtid_kind)k, a, b);
    }
    free(a);
    free(b);
    free(buf);
    /* libFuzzer protocol: -1 = do not keep this input in the corpus */
    return valid ? 0 : -1;
}
