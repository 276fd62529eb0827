/*
 * tests/unit/fixture.h — shared by the unit tests of the decision code: a cluster model built
 * from a table of servers (fx_srv rows: the old primary, then its replicas), the addresses and
 * server UUIDs the tables use; CHECK and NELEM from check.h.
 * Header-only (static functions): include it after <cmocka.h>.
 */
#ifndef MYORCH_TESTS_UNIT_FIXTURE_H
#define MYORCH_TESTS_UNIT_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>

#include "topology/cluster.h"
#include "topology/gtid.h"

#include "check.h"

#define P "127.0.0.1:1"
#define R2 "127.0.0.1:2"
#define R3 "127.0.0.1:3"
#define R4 "127.0.0.1:4"
#define R5 "127.0.0.1:5"
#define R6 "127.0.0.1:6"
#define R7 "127.0.0.1:7"
#define R8 "127.0.0.1:8"
#define R9 "127.0.0.1:9"

#define UA "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
#define UB "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
#define UC "cccccccc-cccc-cccc-cccc-cccccccccccc"
#define UD "dddddddd-dddd-dddd-dddd-dddddddddddd"

#define MSG_1062 "Duplicate entry '5' for key 'PRIMARY'"

/* One server of a failover scenario: the old primary (src NULL) or a replica of it. */
typedef struct {
    const char *addr;
    const char *src;          /* replication source; NULL for the old primary */
    bool down;                /* unreachable (probed, failed) */
    /* MariaDB: io = Gtid_IO_Pos, exec = @@gtid_slave_pos (old primary: @@gtid_binlog_pos).
     * MySQL: io = Retrieved_Gtid_Set, exec = @@gtid_executed (= Executed_Gtid_Set). */
    const char *io, *exec;
    const char *uuid;         /* MySQL server_uuid */
    unsigned long sid;        /* server_id; 0 = index + 1 */
    bool nobin, nolsu, nogtid, gtid_off, fenced, nosnap;
    bool sqlstop;             /* SQL thread stopped cleanly (no error) */
    bool iostop;              /* IO thread stopped (default: Connecting, the primary is dead) */
    bool semisync;            /* old primary: semi-sync source enabled */
    const char *binlog;       /* MariaDB replica's own @@gtid_binlog_pos (local writes show here) */
    long long delay;
    unsigned sql_errno;
    const char *read;         /* read_coord "file:pos" */
} fx_srv;

/* The replicas' IO threads: still connecting to the dead primary (unless iostop), or frozen
 * (stopped by the failover, connecting only on an unreachable replica). */
typedef enum { FX_IO_CONNECTING, FX_IO_FROZEN } fx_io;

/* A release of each flavor (MySQL 8.0.36, MariaDB 10.11.6). */
static inline void fx_version(topo_flavor fl, topo_snapshot *s)
{
    if (fl == TOPO_FLAVOR_MYSQL) {
        snprintf(s->version, sizeof(s->version), "8.0.36");
        s->version_major = 8, s->version_minor = 0, s->version_patch = 36;
    } else {
        snprintf(s->version, sizeof(s->version), "10.11.6-MariaDB-log");
        s->version_major = 10, s->version_minor = 11, s->version_patch = 6;
    }
}

static inline topo_instance *fx_add(topo_cluster *c, topo_flavor fl, fx_io io, size_t idx, const fx_srv *s)
{
    topo_addr a;
    char err[128];
    topo_instance *in;
    topo_replica_status *r;

    assert_int_equal(topo_addr_parse(s->addr, 3306, &a, err, sizeof(err)), 0);
    in = topo_cluster_add(c, &a, false, 0);
    assert_non_null(in);
    r = &in->snap.replica;
    in->have_snap = !s->nosnap; /* nosnap: never reached, nothing known */
    in->probed = true;
    in->reachable = !s->down;
    if (s->down) {
        in->err_code = 2003;
        snprintf(in->err, sizeof(in->err), "Connection refused");
        in->down_since_ms = 100;
    }
    in->fenced = s->fenced;
    in->snap.ok = true;
    in->snap.taken_at_ms = 50;
    in->snap.flavor = fl;
    fx_version(fl, &in->snap);
    in->snap.server_id = s->sid ? s->sid : idx + 1;
    in->snap.log_bin = !s->nobin;
    in->snap.log_replica_updates = !s->nolsu;
    in->snap.gtid_mode_on = !s->gtid_off;
    in->snap.semisync.source_enabled = s->semisync;
    in->snap.semisync.source_clients = -1;
    in->snap.semisync.source_timeout_ms = -1;
    if (s->uuid)
        snprintf(in->snap.server_uuid, sizeof(in->snap.server_uuid), "%s", s->uuid);
    if (!s->src) { /* the old primary */
        assert_int_equal(topo_strset(fl == TOPO_FLAVOR_MYSQL ? &in->snap.gtid_executed : &in->snap.gtid_binlog_pos,
                                     s->exec),
                         0);
        return in;
    }
    r->present = true;
    assert_int_equal(topo_addr_parse(s->src, 3306, &r->source, err, sizeof(err)), 0);
    if (io == FX_IO_FROZEN)
        r->io_state = s->down ? TOPO_THREAD_CONNECTING : TOPO_THREAD_NO;
    else
        r->io_state = s->iostop ? TOPO_THREAD_NO : TOPO_THREAD_CONNECTING;
    r->sql_state = s->sql_errno || s->sqlstop ? TOPO_THREAD_NO : TOPO_THREAD_YES;
    if (s->binlog)
        assert_int_equal(topo_strset(&in->snap.gtid_binlog_pos, s->binlog), 0);
    r->last_sql_errno = s->sql_errno;
    assert_int_equal(topo_strset(&r->last_sql_error, s->sql_errno ? MSG_1062 : NULL), 0);
    r->using_gtid = !s->nogtid;
    r->sql_delay_s = s->delay;
    r->seconds_behind = -1;
    if (s->read)
        assert_int_equal(gtid_coord_parse(s->read, &r->read_coord, err, sizeof(err)), 0);
    assert_int_equal(topo_strset(&r->received_gtid, s->io), 0);
    if (fl == TOPO_FLAVOR_MYSQL) {
        assert_int_equal(topo_strset(&in->snap.gtid_executed, s->exec), 0);
        assert_int_equal(topo_strset(&r->executed_gtid, s->exec), 0);
    } else {
        assert_int_equal(topo_strset(&in->snap.gtid_slave_pos, s->exec), 0);
        assert_int_equal(topo_strset(&in->snap.gtid_current_pos, s->exec), 0);
    }
    return in;
}

/* The cluster "t" of the rows of v up to the first without an address (at most max), derived. */
static inline void fx_build(topo_cluster *c, topo_flavor fl, fx_io io, const fx_srv *v, size_t max)
{
    topo_cluster_init(c, "t");
    for (size_t i = 0; i < max && v[i].addr; i++)
        fx_add(c, fl, io, i, &v[i]);
    topo_cluster_derive(c);
}

#endif
