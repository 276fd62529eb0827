/*
 * tests/unit/test_candidate.c — table-driven tests of orchestrator/decide/candidate.{h,c}.
 *
 * Each case: an old primary (first server, unreachable) and its replicas with
 * their GTID state and settings; the expected ranking (order and exclusion of
 * every entry), most advanced, chosen, needs_catchup, the exact ranking reason,
 * and exact per-candidate fields (reason, HAS, executed, errant).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/decide/candidate.h"
#include "topology/gtid.h"

#include "fixture.h"

/* "127.0.0.1:3 127.0.0.1:2(delayed)": the ranking's order and exclusions. */
static void render_order(const topo_cluster *c, const cand_ranking *r, char *buf, size_t len)
{
    size_t n = 0;
    char a[TOPO_ADDR_MAX];
    buf[0] = '\0';
    for (size_t k = 0; k < r->n && n < len; k++) {
        topo_addr_str(&c->v[r->v[k].index]->addr, a, sizeof(a));
        n += (size_t)snprintf(buf + n, len - n, "%s%s%s%s%s%s", k ? " " : "", a, r->v[k].preferred ? "*" : "",
                              r->v[k].exclusion ? "(" : "",
                              r->v[k].exclusion ? cand_exclusion_name(r->v[k].exclusion) : "",
                              r->v[k].exclusion ? ")" : "");
    }
}

typedef struct {
    const char *addr;
    char field;               /* 'r' reason, 'h' has_gtid, 'x' executed_gtid, 'e' errant_gtid ("" = NULL or "") */
    const char *value;
} field_check;

typedef struct {
    const char *name;
    topo_flavor flavor;       /* 0 = MariaDB */
    fx_srv s[10];
    const char *never[3], *prefer[3], *target;
    const char *order;
    const char *most;         /* NULL: -1 */
    const char *chosen;       /* NULL: -1 */
    bool catchup;
    const char *reason;
    field_check f[9];
} cand_case;

#define MY TOPO_FLAVOR_MYSQL
#define OLD_MDB {P, .exec = "0-1-10"}
#define UNREACH "unreachable (error 2003: Connection refused)"

static const cand_case cases[] = {
    /* ---- ranking by what was received, then executed, then prefer, then index ---- */
    {.name = "most advanced by received (IO pos ahead of slave pos counts)",
     .s = {OLD_MDB, {R2, P, .io = "0-1-12", .exec = "0-1-9"}, {R3, P, .io = "0-1-11", .exec = "0-1-11"}},
     .order = R2 " " R3, .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-1-12)",
     .f = {{R2, 'h', "0-1-12"}, {R2, 'x', "0-1-9"}, {R3, 'h', "0-1-11"}, {R3, 'x', "0-1-11"},
           {R3, 'e', ""}, {R2, 'r', ""}}},
    {.name = "equal received: more executed first",
     .s = {OLD_MDB, {R2, P, .io = "0-1-12", .exec = "0-1-10"}, {R3, P, .io = "0-1-12", .exec = "0-1-12"}},
     .order = R3 " " R2, .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-12)"},
    {.name = "equal: preferred first",
     .s = {OLD_MDB, {R2, P, .io = "0-1-12", .exec = "0-1-12"}, {R3, P, .io = "0-1-12", .exec = "0-1-12"}},
     .prefer = {R3},
     .order = R3 "* " R2, .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-12), preferred"},
    {.name = "prefer does not beat more transactions",
     .s = {OLD_MDB, {R2, P, .io = "0-1-13", .exec = "0-1-12"}, {R3, P, .io = "0-1-12", .exec = "0-1-12"}},
     .prefer = {R3},
     .order = R2 " " R3 "*", .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-1-13)"},
    {.name = "equal: lowest index",
     .s = {OLD_MDB, {R2, P, .io = "0-1-12", .exec = "0-1-12"}, {R3, P, .io = "0-1-12", .exec = "0-1-12"}},
     .order = R2 " " R3, .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-1-12)"},
    {.name = "multi-domain MariaDB, NULL positions are empty",
     .s = {{P, .exec = "0-1-10,1-1-5"}, {R2, P, .io = NULL, .exec = "0-1-10,1-1-5"},
           {R3, P, .io = "1-1-7", .exec = "0-1-10,1-1-6"}, {R4, P}},
     .order = R3 " " R2 " " R4, .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-10,1-1-7)",
     .f = {{R4, 'h', ""}, {R4, 'x', ""}, {R3, 'h', "0-1-10,1-1-7"}}},

    /* ---- every exclusion, with its reason; excluded ones sorted by HAS too ---- */
    {.name = "each exclusion",
     .s = {OLD_MDB,
           {R2, P, .io = "0-1-12", .exec = "0-1-12"},
           {R3, P, .down = true, .exec = "0-1-11"},
           {R4, P, .exec = "0-1-11", .nobin = true},
           {R5, P, .exec = "0-1-11", .nolsu = true},
           {R6, P, .exec = "0-1-11", .sql_errno = 1062},
           {R7, P, .exec = "0-1-11", .delay = 3600},
           {R8, P, .exec = "0-1-11"},
           {R9, P, .exec = "0-1-11", .nogtid = true},
           {"127.0.0.1:10", R2, .exec = "0-1-13"}},
     .never = {R8},
     .order = R2 " " R3 "(unreachable) " R4 "(no-binlog) " R5 "(no-log-replica-updates) " R6 "(sql-error) " R7
              "(delayed) " R8 "(never-promote) " R9 "(no-gtid)",
     .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-1-12)",
     .f = {{R3, 'r', UNREACH},
           {R4, 'r', "no binary log (log_bin=OFF)"},
           {R5, 'r', "log_slave_updates=OFF: its binary log lacks replicated transactions"},
           {R6, 'r', "SQL thread stopped with error 1062: " MSG_1062},
           {R7, 'r', "delayed by 3600 s (SQL_Delay)"},
           {R8, 'r', "listed in never_promote"},
           {R9, 'r', "GTID replication not in use (Using_Gtid=No)"},
           {R3, 'h', "0-1-11"}}},
    {.name = "several problems: first code, every reason",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-12", .nobin = true, .delay = 60}, {R3, P, .exec = "0-1-12"}},
     .never = {R2},
     .order = R3 " " R2 "(no-binlog)", .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-12)",
     .f = {{R2, 'r', "no binary log (log_bin=OFF); delayed by 60 s (SQL_Delay); listed in never_promote"}}},
    {.name = "delay unknown (SQL_Delay out of range) counts as delayed",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-12", .delay = -1}, {R3, P, .exec = "0-1-12"}},
     .order = R3 " " R2 "(delayed)", .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-12)",
     .f = {{R2, 'r', "delay unknown (SQL_Delay out of range)"}}},
    {.name = "fenced replica is not a candidate and holds nothing we must keep",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-12"}, {R3, P, .exec = "0-1-20", .fenced = true}},
     .order = R2, .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-1-12)"},
    {.name = "unreachable replica's old position does not count",
     .s = {OLD_MDB, {R2, P, .down = true, .exec = "0-1-20"}, {R3, P, .exec = "0-1-12"}},
     .order = R3 " " R2 "(unreachable)", .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-12)"},
    {.name = "nobody eligible",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-12", .delay = 60}, {R3, P, .exec = "0-1-12", .nobin = true}},
     .order = R2 "(delayed) " R3 "(no-binlog)", .most = R2,
     .reason = "no eligible replica: 127.0.0.1:2: delayed by 60 s (SQL_Delay); "
               "127.0.0.1:3: no binary log (log_bin=OFF)"},
    {.name = "no replicas",
     .s = {OLD_MDB, {R2, R3, .exec = "0-1-12"}, {R3}},
     .order = "",
     .reason = "127.0.0.1:1 has no replicas"},

    /* ---- errant transactions ---- */
    {.name = "MariaDB errant: own domain of a replica; old primary's newer writes are not errant",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-12,1-2-3"}, {R3, P, .io = "0-1-11", .exec = "0-1-11"}},
     .order = R3 " " R2 "(errant)", .most = R2, .chosen = R3, .catchup = true,
     .reason = "127.0.0.1:3 is the best eligible replica; it must first catch up from 127.0.0.1:2, "
               "which also has 0-1-12..12,1-2-3 (errant GTIDs 1-2-3 not on the old primary)",
     .f = {{R2, 'e', "1-2-3"}, {R2, 'r', "errant GTIDs 1-2-3 not on the old primary"}, {R3, 'e', ""},
           {R2, 'h', "0-1-12,1-2-3"}}},
    {.name = "MariaDB errant: another server's transaction in the primary's domain (diverged)",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-11"}, {R3, P, .exec = "0-3-11"}},
     .order = R2 " " R3 "(errant)",
     .reason = "replicas diverged, none has every transaction: 127.0.0.1:2 has 0-1-11..11 that 127.0.0.1:3 "
               "lacks; 127.0.0.1:3 has 0-3-11..11 that 127.0.0.1:2 lacks",
     .f = {{R3, 'e', "0-3-11..11"}, {R2, 'e', ""}}},
    {.name = "MariaDB: a stale old-primary position with a non-default server id",
     .s = {{P, .exec = "0-7-10", .sid = 7}, {R2, P, .exec = "0-7-25"}, {R3, P, .exec = "0-7-20"}},
     .order = R2 " " R3, .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-7-25)",
     .f = {{R2, 'e', ""}, {R3, 'e', ""}}},
    {.name = "MariaDB: no errant check without any snapshot of the old primary",
     .s = {{P, .down = true, .nosnap = true}, {R2, P, .exec = "0-2-12"}},
     .order = R2, .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-2-12)",
     .f = {{R2, 'e', ""}}},
    {.name = "MariaDB: old primary with an empty position: other servers' transactions are errant",
     .s = {{P, .exec = NULL}, {R2, P, .exec = "0-2-12"}},
     .order = R2 "(errant)", .most = R2,
     .reason = "no eligible replica: 127.0.0.1:2: errant GTIDs 0-2-12 not on the old primary"},
    {.name = "MySQL errant by uuid (errant sets make the replicas diverge); multiple uuids; own primary's newer GTIDs not errant",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-100," UB ":1-50", .uuid = UA},
           {R2, P, .io = UA ":90-110", .exec = UA ":1-105," UB ":1-50", .uuid = UC},
           {R3, P, .io = UA ":90-108", .exec = UA ":1-108," UB ":1-50", .uuid = UD},
           {R4, P, .io = UA ":90-100", .exec = UA ":1-100," UB ":1-50," UD ":1-2", .uuid = UB}},
     .order = R2 " " R3 " " R4 "(errant)", .most = NULL,
     .reason = "replicas diverged, none has every transaction: 127.0.0.1:2 has " UA ":101-110 that 127.0.0.1:4 "
               "lacks; 127.0.0.1:4 has " UD ":1-2 that 127.0.0.1:2 lacks",
     .f = {{R2, 'h', UA ":1-110," UB ":1-50"}, {R2, 'x', UA ":1-105," UB ":1-50"}, {R2, 'e', ""},
           {R3, 'e', ""}, {R4, 'e', UD ":1-2"},
           {R4, 'r', "errant GTIDs " UD ":1-2 not on the old primary"}}},
    {.name = "MySQL most advanced by Retrieved_Gtid_Set across uuids",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-100," UB ":1-50", .uuid = UA},
           {R2, P, .io = UA ":90-110", .exec = UA ":1-105," UB ":1-50", .uuid = UC},
           {R3, P, .io = UA ":90-108", .exec = UA ":1-108," UB ":1-50", .uuid = UD}},
     .order = R2 " " R3, .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has " UA ":1-110," UB ":1-50)"},
    {.name = "MySQL: uppercase uuid of the old primary still matches",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-100", .uuid = "AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA"},
           {R2, P, .exec = UA ":1-103"}},
     .order = R2, .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has " UA ":1-103)"},
    {.name = "MySQL: replica's errant transactions, and old primary's uuid blocks dropped with tags",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-100", .uuid = UA},
           {R2, P, .exec = UA ":1-101:tag_x:1-3," UC ":5"}},
     .order = R2 "(errant)", .most = R2,
     .reason = "no eligible replica: 127.0.0.1:2: errant GTIDs " UC ":5 not on the old primary",
     .f = {{R2, 'e', UC ":5"}}},

    /* ---- catch-up from the most advanced, or refusal ---- */
    {.name = "catch-up: most advanced is delayed and has applied what others lack",
     .s = {OLD_MDB, {R2, P, .io = "0-1-15", .exec = "0-1-15", .delay = 3600}, {R3, P, .exec = "0-1-12"}},
     .order = R3 " " R2 "(delayed)", .most = R2, .chosen = R3, .catchup = true,
     .reason = "127.0.0.1:3 is the best eligible replica; it must first catch up from 127.0.0.1:2, "
               "which also has 0-1-13..15 (delayed by 3600 s (SQL_Delay))"},
    {.name = "refused: most advanced is delayed and has not applied what others lack",
     .s = {OLD_MDB, {R2, P, .io = "0-1-15", .exec = "0-1-11", .delay = 3600}, {R3, P, .exec = "0-1-12"}},
     .order = R3 " " R2 "(delayed)", .most = R2,
     .reason = "would lose transactions only 127.0.0.1:2 holds (0-1-13..15): it is delayed (SQL_Delay): it "
               "applies what it received only after the delay"},
    {.name = "catch-up: most advanced is never_promote",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-12"}, {R4, P, .exec = "0-1-11"}},
     .never = {R2},
     .order = R3 " " R4 " " R2 "(never-promote)", .most = R2, .chosen = R3, .catchup = true,
     .reason = "127.0.0.1:3 is the best eligible replica; it must first catch up from 127.0.0.1:2, "
               "which also has 0-1-13..15 (listed in never_promote)"},
    {.name = "no catch-up when an eligible replica holds as much as the excluded most advanced",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15", .delay = 60}, {R3, P, .exec = "0-1-15"}},
     .order = R3 " " R2 "(delayed)", .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-15)"},
    {.name = "refused: the most advanced has no binary log",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15", .nobin = true}, {R3, P, .exec = "0-1-12"}},
     .order = R3 " " R2 "(no-binlog)", .most = R2,
     .reason = "would lose transactions only 127.0.0.1:2 holds (0-1-13..15): it has no binary log (log_bin=OFF)"},
    {.name = "refused: the most advanced lacks log_replica_updates",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-10", .uuid = UA}, {R2, P, .exec = UA ":1-15", .nolsu = true},
           {R3, P, .exec = UA ":1-12"}},
     .order = R3 " " R2 "(no-log-replica-updates)", .most = R2,
     .reason = "would lose transactions only 127.0.0.1:2 holds (" UA ":13-15): its binary log lacks "
               "replicated transactions (log_replica_updates=OFF)",
     .f = {{R2, 'r', "log_replica_updates=OFF: its binary log lacks replicated transactions"}}},
    {.name = "among equal most advanced ones, the one that can serve a catch-up",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15", .nobin = true}, {R3, P, .exec = "0-1-15", .delay = 60},
           {R4, P, .exec = "0-1-12"}},
     .order = R4 " " R2 "(no-binlog) " R3 "(delayed)", .most = R3, .chosen = R4, .catchup = true,
     .reason = "127.0.0.1:4 is the best eligible replica; it must first catch up from 127.0.0.1:3, "
               "which also has 0-1-13..15 (delayed by 60 s (SQL_Delay))"},
    {.name = "refused: most advanced SQL thread broken with received-only transactions",
     .s = {OLD_MDB, {R2, P, .io = "0-1-15", .exec = "0-1-13", .sql_errno = 1062}, {R3, P, .exec = "0-1-12"}},
     .order = R3 " " R2 "(sql-error)", .most = R2,
     .reason = "would lose transactions only 127.0.0.1:2 holds (0-1-13..15): its SQL thread stopped with an "
               "error, it cannot apply what it received"},
    {.name = "MariaDB: both threads cleanly stopped, the relay log does not count (it would be purged)",
     .s = {OLD_MDB, {R2, P, .io = "0-1-15", .exec = "0-1-13", .sqlstop = true}, {R3, P, .exec = "0-1-14"}},
     .order = R3 " " R2, .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-14)"},
    {.name = "MariaDB: a local write shows in the binlog position only, still errant",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15", .binlog = "0-1-15,7-2-1"}, {R3, P, .exec = "0-1-15"}},
     .order = R3 " " R2 "(errant)", .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has 0-1-15)",
     .f = {{R2, 'r', "errant GTIDs 7-2-1 not on the old primary"}}},
    {.name = "catch-up from a broken SQL thread when it applied everything it has",
     .s = {OLD_MDB, {R2, P, .io = "0-1-15", .exec = "0-1-15", .sql_errno = 1062}, {R3, P, .exec = "0-1-12"}},
     .order = R3 " " R2 "(sql-error)", .most = R2, .chosen = R3, .catchup = true,
     .reason = "127.0.0.1:3 is the best eligible replica; it must first catch up from 127.0.0.1:2, "
               "which also has 0-1-13..15 (SQL thread stopped with error 1062: " MSG_1062 ")"},
    {.name = "diverged: nothing chosen even with eligible replicas",
     .s = {{P, .exec = "0-1-10"}, {R2, P, .exec = "0-1-12,1-1-3"}, {R3, P, .exec = "0-1-13,1-1-2"}},
     .order = R2 " " R3,
     .reason = "replicas diverged, none has every transaction: 127.0.0.1:2 has 1-1-3..3 that 127.0.0.1:3 "
               "lacks; 127.0.0.1:3 has 0-1-13..13 that 127.0.0.1:2 lacks"},

    /* ---- forced target ---- */
    {.name = "target: less advanced target catches up from the most advanced",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-12"}},
     .target = R3,
     .order = R3 " " R2 "(not-target)", .most = R2, .chosen = R3, .catchup = true,
     .reason = "127.0.0.1:3 is the best eligible replica (the requested target); it must first catch up from "
               "127.0.0.1:2, which also has 0-1-13..15 (not the requested target 127.0.0.1:3)",
     .f = {{R2, 'r', "not the requested target 127.0.0.1:3"}}},
    {.name = "target: the most advanced itself",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-12"}},
     .target = R2,
     .order = R2 " " R3 "(not-target)", .most = R2, .chosen = R2,
     .reason = "127.0.0.1:2 is the most advanced replica (has 0-1-15), the requested target"},
    {.name = "target excluded: nobody chosen, its reason given; excluded others keep their own reason",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-12", .delay = 60},
           {R4, P, .exec = "0-1-12", .nobin = true}},
     .target = R3,
     .order = R2 "(not-target) " R3 "(delayed) " R4 "(no-binlog)", .most = R2,
     .reason = "target 127.0.0.1:3 cannot be promoted: delayed by 60 s (SQL_Delay)",
     .f = {{R4, 'r', "no binary log (log_bin=OFF)"}}},
    {.name = "target not a direct replica",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}, {R3, R2, .exec = "0-1-15"}},
     .target = R3,
     .order = R2 "(not-target) " R3 "(not-replica)", .most = R2,
     .reason = "target 127.0.0.1:3 cannot be promoted: not a direct replica of 127.0.0.1:1 (replicates from "
               "127.0.0.1:2)"},
    {.name = "target fenced",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}, {R3, P, .exec = "0-1-15", .fenced = true}},
     .target = R3,
     .order = R2 "(not-target) " R3 "(never-promote)", .most = R2,
     .reason = "target 127.0.0.1:3 cannot be promoted: fenced (a demoted old primary is never promoted)"},
    {.name = "target unknown",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}},
     .target = "10.0.0.9:3306",
     .order = R2 "(not-target)", .most = R2,
     .reason = "target 10.0.0.9:3306 is not a server of cluster t"},
    {.name = "target is the old primary",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-15"}},
     .target = P,
     .order = R2 "(not-target)", .most = R2,
     .reason = "target 127.0.0.1:1 is the old primary"},

    /* ---- without GTID: coordinates ---- */
    {.name = "MariaDB without GTID replication still ranked by its gtid_slave_pos; catch-up from it",
     .s = {OLD_MDB, {R2, P, .exec = "0-1-12", .nogtid = true}, {R3, P, .exec = "0-1-11"}},
     .order = R3 " " R2 "(no-gtid)", .most = R2, .chosen = R3, .catchup = true,
     .reason = "127.0.0.1:3 is the best eligible replica; it must first catch up from 127.0.0.1:2, "
               "which also has 0-1-12..12 (GTID replication not in use (Using_Gtid=No))"},
    {.name = "MySQL gtid_mode OFF replica received more of the old binlog: refused",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-100", .uuid = UA},
           {R2, P, .gtid_off = true, .nogtid = true, .read = "mysql-bin.000003:500"},
           {R3, P, .exec = UA ":1-100", .read = "mysql-bin.000003:400"}},
     .order = R3 " " R2 "(no-gtid)", .most = R2,
     .reason = "would lose transactions only 127.0.0.1:2 holds: without GTID it received up to "
               "mysql-bin.000003:500 of 127.0.0.1:1, 127.0.0.1:3 only mysql-bin.000003:400",
     .f = {{R2, 'h', ""}, {R2, 'x', ""}, {R2, 'r', "GTID replication not in use (Auto_Position=0)"}}},
    {.name = "MySQL gtid_mode OFF replica behind by coordinates: no harm",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-100", .uuid = UA},
           {R2, P, .gtid_off = true, .nogtid = true, .read = "mysql-bin.000003:300"},
           {R3, P, .exec = UA ":1-100", .read = "mysql-bin.000003:400"}},
     .order = R3 " " R2 "(no-gtid)", .most = R3, .chosen = R3,
     .reason = "127.0.0.1:3 is the most advanced replica (has " UA ":1-100)"},
    {.name = "MySQL without GTID anywhere: ranked by read then exec coordinates, nobody chosen",
     .flavor = MY,
     .s = {{P, .uuid = UA, .gtid_off = true},
           {R2, P, .gtid_off = true, .nogtid = true, .read = "mysql-bin.000003:500"},
           {R3, P, .gtid_off = true, .nogtid = true, .read = "mysql-bin.000004:4"},
           {R4, P, .gtid_off = true, .nogtid = true, .read = "mysql-bin.000003:500"}},
     .order = R3 "(no-gtid) " R2 "(no-gtid) " R4 "(no-gtid)", .most = R3,
     .reason = "no eligible replica: 127.0.0.1:3: GTID replication not in use (Auto_Position=0); "
               "127.0.0.1:2: GTID replication not in use (Auto_Position=0); "
               "127.0.0.1:4: GTID replication not in use (Auto_Position=0)"},
    {.name = "MySQL Auto_Position=1 but unreadable GTID state",
     .flavor = MY,
     .s = {{P, .exec = UA ":1-10", .uuid = UA}, {R2, P, .exec = "garbage"}},
     .order = R2 "(no-gtid)", .most = R2,
     .reason = "no eligible replica: 127.0.0.1:2: GTID state unreadable: Executed_Gtid_Set: bad GTID "
               "'garbage' at offset 0: bad uuid (expected 8-4-4-4-12 hex digits, found 'g')"},
};

static const char *addr_of(const topo_cluster *c, const cand_ranking *r, int k, char *buf)
{
    if (k < 0)
        return "(none)";
    return topo_addr_str(&c->v[r->v[k].index]->addr, buf, TOPO_ADDR_MAX);
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t k = 0; k < NELEM(cases); k++) {
        const cand_case *t = &cases[k];
        topo_cluster c;
        cand_ranking r;
        topo_addr never[3], prefer[3], target;
        cand_opts o = {0};
        char err[256] = "", order[1024], a1[TOPO_ADDR_MAX];

        fx_build(&c, t->flavor ? t->flavor : TOPO_FLAVOR_MARIADB, FX_IO_FROZEN, t->s, NELEM(t->s));
        for (size_t i = 0; i < 3 && t->never[i]; i++)
            assert_int_equal(topo_addr_parse(t->never[i], 3306, &never[o.n_never_promote++], err, sizeof(err)), 0);
        for (size_t i = 0; i < 3 && t->prefer[i]; i++)
            assert_int_equal(topo_addr_parse(t->prefer[i], 3306, &prefer[o.n_prefer++], err, sizeof(err)), 0);
        o.never_promote = never;
        o.prefer = prefer;
        if (t->target) {
            assert_int_equal(topo_addr_parse(t->target, 3306, &target, err, sizeof(err)), 0);
            o.target = &target;
        }
        memset(&r, 0x5a, sizeof(r));
        int rc = cand_rank(&c, 0, &o, &r, err, sizeof(err));
        CHECK(rc == 0, "[%s] rc %d: %s", t->name, rc, err);
        render_order(&c, &r, order, sizeof(order));
        CHECK(strcmp(order, t->order) == 0, "[%s] order\n  got:      %s\n  expected: %s", t->name, order,
              t->order);
        CHECK(strcmp(addr_of(&c, &r, r.most_advanced, a1), t->most ? t->most : "(none)") == 0,
              "[%s] most advanced %s, expected %s", t->name, addr_of(&c, &r, r.most_advanced, a1),
              t->most ? t->most : "(none)");
        CHECK(strcmp(addr_of(&c, &r, r.chosen, a1), t->chosen ? t->chosen : "(none)") == 0,
              "[%s] chosen %s, expected %s (reason: %s)", t->name, addr_of(&c, &r, r.chosen, a1),
              t->chosen ? t->chosen : "(none)", r.reason);
        CHECK(r.needs_catchup == t->catchup, "[%s] needs_catchup %d", t->name, r.needs_catchup);
        CHECK(strcmp(r.reason, t->reason) == 0, "[%s] reason\n  got:      %s\n  expected: %s", t->name, r.reason,
              t->reason);
        for (size_t f = 0; f < NELEM(t->f) && t->f[f].addr; f++) {
            const field_check *fc = &t->f[f];
            const cand_entry *cd = NULL;
            const char *got;
            for (size_t i = 0; i < r.n; i++)
                if (strcmp(topo_addr_str(&c.v[r.v[i].index]->addr, a1, sizeof(a1)), fc->addr) == 0)
                    cd = &r.v[i];
            CHECK(cd != NULL, "[%s] %s not in the ranking", t->name, fc->addr);
            got = fc->field == 'r' ? cd->reason
                  : fc->field == 'h' ? cd->has_gtid
                  : fc->field == 'x' ? cd->executed_gtid
                                     : cd->errant_gtid;
            CHECK(strcmp(got ? got : "", fc->value) == 0, "[%s] %s field %c\n  got:      %s\n  expected: %s",
                  t->name, fc->addr, fc->field, got ? got : "(null)", fc->value);
        }
        /* Invariants: eligible ones first; chosen is eligible; reasons iff excluded. */
        for (size_t i = 0; i < r.n; i++) {
            CHECK(i == 0 || r.v[i - 1].exclusion == CAND_EXCL_NONE || r.v[i].exclusion != CAND_EXCL_NONE,
                  "[%s] eligible after excluded at %zu", t->name, i);
            CHECK((r.v[i].exclusion == CAND_EXCL_NONE) == (r.v[i].reason[0] == '\0'), "[%s] reason at %zu: %s",
                  t->name, i, r.v[i].reason);
        }
        if (r.chosen >= 0)
            CHECK(r.chosen == 0 && r.v[0].exclusion == CAND_EXCL_NONE, "[%s] chosen %d", t->name, r.chosen);
        cand_ranking_free(&r);
        topo_cluster_free(&c);
    }
}

static void test_invalid(void **state)
{
    const fx_srv v[] = {OLD_MDB, {R2, P, .exec = "0-1-1"}};
    topo_cluster c;
    cand_ranking r;
    char err[128] = "";
    (void)state;
    fx_build(&c, TOPO_FLAVOR_MARIADB, FX_IO_FROZEN, v, NELEM(v));
    assert_int_equal(cand_rank(&c, -1, NULL, &r, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "no such old primary (index -1 of 2 servers)");
    assert_int_equal(r.chosen, -1);
    assert_null(r.v);
    assert_int_equal(cand_rank(&c, 2, NULL, &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(cand_rank(NULL, 0, NULL, &r, err, sizeof(err)), -EINVAL);
    assert_int_equal(cand_rank(&c, 0, NULL, NULL, NULL, 0), -EINVAL);
    /* NULL options = no never_promote, no prefer, no target. */
    assert_int_equal(cand_rank(&c, 0, NULL, &r, err, sizeof(err)), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.chosen, 0);
    cand_ranking_free(&r);
    assert_null(r.v);
    cand_ranking_free(&r); /* twice is harmless */
    cand_ranking_free(NULL);
    topo_cluster_free(&c);
}

static void test_exclusion_names(void **state)
{
    static const struct {
        cand_exclusion e;
        const char *name;
    } t[] = {
        {CAND_EXCL_NONE, "none"},
        {CAND_EXCL_UNREACHABLE, "unreachable"},
        {CAND_EXCL_NOT_REPLICA, "not-replica"},
        {CAND_EXCL_NO_BINLOG, "no-binlog"},
        {CAND_EXCL_NO_LOG_REPLICA_UPDATES, "no-log-replica-updates"},
        {CAND_EXCL_SQL_ERROR, "sql-error"},
        {CAND_EXCL_DELAYED, "delayed"},
        {CAND_EXCL_ERRANT, "errant"},
        {CAND_EXCL_NEVER_PROMOTE, "never-promote"},
        {CAND_EXCL_NO_GTID, "no-gtid"},
        {CAND_EXCL_NOT_TARGET, "not-target"},
    };
    (void)state;
    for (size_t k = 0; k < NELEM(t); k++)
        assert_string_equal(cand_exclusion_name(t[k].e), t[k].name);
    assert_string_equal(cand_exclusion_name((cand_exclusion)99), "unknown");
}

/* Every exclusion code appears in the table. */
static void test_table_covers_every_exclusion(void **state)
{
    (void)state;
    for (int e = CAND_EXCL_UNREACHABLE; e <= CAND_EXCL_NOT_TARGET; e++) {
        char needle[64];
        bool seen = false;
        snprintf(needle, sizeof(needle), "(%s)", cand_exclusion_name((cand_exclusion)e));
        for (size_t k = 0; k < NELEM(cases); k++)
            seen |= strstr(cases[k].order, needle) != NULL;
        CHECK(seen, "no case for %s", needle);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_exclusion_names),
        cmocka_unit_test(test_table_covers_every_exclusion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
