/*
 * topology/gtid.h — GTID and binlog-coordinate arithmetic (pure code, no I/O).
 *
 * Owns: parsing and printing of MariaDB GTID positions ("domain-server-seq"
 * lists) and MySQL GTID sets ("uuid[:tag]:1-5:7" lists), set algebra on them
 * (union, subtract, intersect, subset, compare), ranking of servers by what
 * they have received (gtid_most_advanced), errant-transaction detection, and
 * parsing / ordering of binary log coordinates ("mysql-bin.000012:4567").
 *
 * Error convention: functions return 0 or a negative errno code (-EINVAL for
 * bad input or mismatched kinds, -ENOMEM, -ENOENT where stated). Functions that
 * take `char *err, size_t errlen` write a one-line message there on failure,
 * e.g. "bad GTID '0-1-x' at offset 4: sequence number is not a number"
 * (offsets are byte offsets into the whole input). err may be NULL.
 *
 * ---- MariaDB model --------------------------------------------------------
 * A GTID is domain-server-seq (domain, server: uint32; seq: uint64). A position
 * (@@gtid_binlog_pos, @@gtid_slave_pos, Gtid_IO_Pos, ...) holds at most one
 * GTID per domain. The GTID D-S-N stands for the transactions 1..N of domain D:
 * sequence numbers only grow inside a domain, so a server at D-S-N has applied
 * everything of D up to N. The server id S is remembered for the *top*
 * transaction N only; lower transactions are assumed to be the same on every
 * server (we cannot know better from a position).
 *   - a ⊆ b  iff for every domain of a, b covers a's sequence numbers, and when
 *     both stop at the same top N, with the same server id.
 *   - SAME DOMAIN, SAME TOP SEQ, DIFFERENT SERVER ID ("0-1-10" vs "0-2-10"):
 *     two different transactions carry the number 10. This is treated as
 *     divergence: neither is a subset of the other, gtid_set_compare() says
 *     GTID_CMP_DIVERGED, and a − b keeps a's top transaction (it is errant).
 *     gtid_set_union() keeps a's GTID in that case (the union of conflicting
 *     positions is not representable), so b ⊄ a ∪ b there.
 *   - union = max per domain; subtract / intersect work on sequence ranges.
 *   - seq 0 ("0-1-0") is accepted and means "no transaction in that domain":
 *     the domain is dropped from the set.
 * Text accepted: items separated by ',', whitespace (spaces, tabs, newlines)
 * allowed around items, none inside an item; "" or only whitespace = empty set.
 * Duplicate domains among plain GTIDs are rejected (as the server does:
 * "0-1-10,0-2-20" is invalid). Domain order in the input does not matter.
 * Extension (never printed by a server): "D-S-A..B" = sequence numbers A..B
 * (1 <= A <= B) of domain D, top server S. gtid_set_format() writes it for
 * ranges that do not start at 1 (e.g. results of subtract: "0-1-11..15" is
 * transactions 11 to 15; "0-1-11..11" is transaction 11 alone; "0-1-11" is
 * always 1..11). Range items may repeat a domain; the server id of the item
 * holding the domain's highest seq is the domain's server id (two items ending
 * at that seq with different server ids are rejected).
 * Canonical text: domains ascending, ranges ascending and merged, ","-joined:
 * "0-1-10,1-2-20", "0-1-5,0-1-11..15". Empty set = "".
 *
 * ---- MySQL model ----------------------------------------------------------
 * A set of (uuid, tag) -> transaction-number intervals. Numbers are
 * 1..9223372036854775806 (2^63-2: the largest the server accepts; it rejects
 * 2^63-1, see tests/fixtures/gtid/mysql-gtid-sets.txt). Text accepted:
 * "uuid:1-5:7,uuid2:3" with uuids in 8-4-4-4-12 hex form (any case), tags
 * (MySQL 8.4) "uuid:tag:1-3:7" or "uuid:1-5:tag:1-3", tags [A-Za-z_][A-Za-z0-9_]*
 * up to 32 chars (case-insensitive, stored lowercase), whitespace around ','
 * and ':' (so the server's ",\n" between uuids parses), empty items between
 * commas (the server accepts "a:1,,b:2,"), intervals in any order and
 * overlapping. Rejected: an interval "m-n" with m > n (stricter than the
 * server, which silently drops it), a leading '+' (the server's gtid_purged
 * "+set" form is not a set), a tag with no interval.
 * Canonical text: uuids lowercase and sorted, within a uuid untagged intervals
 * first then tags sorted, intervals merged, ":"-joined, "N" for a single
 * number, uuid blocks joined with "," (no newline):
 * "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,9f50ba55-...:1:tag_a:1-3".
 */
#ifndef MYORCH_TOPOLOGY_GTID_H
#define MYORCH_TOPOLOGY_GTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/instance.h"

typedef enum { GTID_KIND_MARIADB = 1, GTID_KIND_MYSQL = 2 } gtid_kind;

/* Opaque GTID set. Immutable once built: every operation returns a new set. */
typedef struct gtid_set gtid_set;

/* Largest MySQL transaction number the server accepts (2^63-2). */
#define GTID_MYSQL_NUMBER_MAX 9223372036854775806ULL
/* Longest MySQL GTID tag. */
#define GTID_TAG_MAX 32

typedef enum {
    GTID_CMP_EQUAL,    /* same transactions */
    GTID_CMP_BEHIND,   /* a ⊂ b: a lacks some of b's transactions, has nothing b lacks */
    GTID_CMP_AHEAD,    /* a ⊃ b */
    GTID_CMP_DIVERGED, /* each has something the other lacks (or not comparable) */
} gtid_cmp;

/*
 * Parse text of the given kind into a new set (*out, free with gtid_set_free).
 * The accepted syntax is described at the top of this file.
 * Fails with -EINVAL (bad kind, NULL text/out, malformed text: bad or
 * out-of-range number, missing part, trailing garbage, bad uuid or tag, interval
 * start > end, 0 as a MySQL number, duplicate MariaDB domain) and a message
 * naming the item, its offset and what is wrong; -ENOMEM. *out is NULL on error.
 */
int gtid_set_parse(gtid_kind kind, const char *text, gtid_set **out, char *err, size_t errlen);

/* Free a set. NULL is ignored. */
void gtid_set_free(gtid_set *s);

/* The set's kind; 0 for NULL. */
gtid_kind gtid_set_kind(const gtid_set *s);

/* Deep copy. Fails with -EINVAL (NULL argument) or -ENOMEM. */
int gtid_set_dup(const gtid_set *s, gtid_set **out);

/*
 * Canonical text of the set (see top of file), malloc'd into *out ("" for the
 * empty set); the caller frees it. gtid_set_parse() of the text gives back an
 * equal set. Fails with -EINVAL (NULL argument) or -ENOMEM.
 */
int gtid_set_format(const gtid_set *s, char **out);

/* True when the set holds no transaction (also for NULL). */
bool gtid_set_is_empty(const gtid_set *s);

/*
 * a ∪ b into a new set. MariaDB: highest seq per domain (on a same-seq
 * server-id conflict a's GTID is kept). Fails with -EINVAL (NULL argument,
 * different kinds) or -ENOMEM.
 */
int gtid_set_union(const gtid_set *a, const gtid_set *b, gtid_set **out);

/*
 * a − b (what a has and b lacks) into a new set. MariaDB results may hold
 * ranges not starting at 1 (printed "D-S-A..B"); on a same-seq server-id
 * conflict a's top transaction stays in the result. Fails with -EINVAL (NULL
 * argument, different kinds) or -ENOMEM.
 */
int gtid_set_subtract(const gtid_set *a, const gtid_set *b, gtid_set **out);

/*
 * a ∩ b into a new set. MariaDB: a same-seq server-id conflict removes that
 * top transaction from the result. Fails with -EINVAL (NULL argument,
 * different kinds) or -ENOMEM.
 */
int gtid_set_intersect(const gtid_set *a, const gtid_set *b, gtid_set **out);

/* a ⊆ b. False when either is NULL or the kinds differ. */
bool gtid_set_is_subset(const gtid_set *a, const gtid_set *b);

/* a = b (same transactions; MariaDB: same top server ids). False on NULL or different kinds. */
bool gtid_set_equal(const gtid_set *a, const gtid_set *b);

/*
 * Relation of a to b: EQUAL, BEHIND (a ⊂ b), AHEAD (a ⊃ b) or DIVERGED.
 * NULL operands or different kinds give GTID_CMP_DIVERGED (not comparable).
 */
gtid_cmp gtid_set_compare(const gtid_set *a, const gtid_set *b);

/* "equal", "behind", "ahead", "diverged" (for logs). */
const char *gtid_cmp_name(gtid_cmp c);

/* Number of transactions in the set, saturating at UINT64_MAX; 0 for NULL. */
uint64_t gtid_set_count(const gtid_set *s);

/*
 * "Which of these servers has received the most": *best = index of the set
 * that contains every other (non-NULL) set; on ties (equal sets) the lowest
 * index. NULL entries (unknown servers) are skipped.
 * Fails with -EINVAL (n == 0, sets or best NULL, mixed kinds) or -ENOENT (no
 * set contains all the others, i.e. they diverged, or every entry is NULL);
 * *best is then untouched. O(n²) subset checks: meant for a cluster's servers.
 */
int gtid_most_advanced(const gtid_set *const *sets, size_t n, size_t *best);

/*
 * Errant transactions: what a replica has that its primary lacks
 * (= replica − primary) into a new set. Fails like gtid_set_subtract().
 */
int gtid_errant(const gtid_set *replica, const gtid_set *primary, gtid_set **out);

/*
 * Text convenience: parse replica and primary (same kind), and put the
 * canonical text of replica − primary into *out (malloc'd, "" when nothing is
 * errant). Fails with -EINVAL (a text does not parse: the message says which
 * one, "replica GTID set: ..." / "primary GTID set: ...") or -ENOMEM.
 */
int gtid_text_errant(gtid_kind kind, const char *replica, const char *primary, char **out,
                     char *err, size_t errlen);

/*
 * Parse binary log coordinates "FILE:POS", e.g. "mysql-bin.000012:4567",
 * split at the last ':'. FILE must be non-empty, shorter than TOPO_FILE_MAX,
 * free of whitespace/control characters, and end in ".<digits>" after a
 * non-empty base name; POS is an unsigned decimal uint64. No whitespace is
 * allowed anywhere. Fails with -EINVAL and a message; *out is written only on
 * success.
 */
int gtid_coord_parse(const char *text, topo_coord *out, char *err, size_t errlen);

/*
 * Order two coordinates: *result < 0, 0 or > 0 as a is before, at or after b.
 * Files compare by the number after their last '.', then positions compare.
 * Fails with -EINVAL (NULL argument, a file without a ".<digits>" suffix or
 * empty, or different base names such as "mysql-bin" vs "mariadb-bin", which
 * are not comparable); *result is then untouched.
 */
int gtid_coord_cmp(const topo_coord *a, const topo_coord *b, int *result);

#endif
