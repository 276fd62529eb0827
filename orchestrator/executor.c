/* orchestrator/executor.c — the recovery worker: plan steps as SQL, with ms deadlines. */
#include "orchestrator/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "topology/dialect.h"
#include "topology/gtid.h"

#define MAX_CONNS 64

typedef struct {
    topo_addr addr;
    MYSQL *m;
} conn;

typedef struct {
    rec_plan plan;
    rec_exec_creds creds;
    conn conns[MAX_CONNS];
    size_t n_conns;
    void (*emit)(void *user, const rec_exec_msg *m);
    void *user;
    char frozen_gtid[4096];     /* demote: the old primary's final position */
    char promoted_gtid[1536];   /* set-writable: the new primary's position */
    const rec_exec_hooks *hooks;
    /* Test failpoint (MYORCH_TEST_CRASH_AFTER_STEP=<step name>): the process kills
     * itself with SIGKILL right after that step ran on the server (whatever its
     * result) and before the controller recorded it, the worst moment for a crash. Read once per plan;
     * only the fault matrix sets it (tests/faults, scenario 10). */
    const char *crash_after;
} worker;

struct rec_exec {
    worker w;
    pthread_t thread;
    int started;
    int pipe_rd, pipe_wr;
    int done;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- non-blocking SQL with millisecond deadlines ------------------------------- */

static int wait_io(MYSQL *m, int status, int64_t deadline)
{
    struct pollfd p = {.fd = (int)mysql_get_socket(m), .events = 0};
    int64_t left = deadline - mono_ms();
    int r, ev = 0;
    if (status & MYSQL_WAIT_READ)
        p.events |= POLLIN;
    if (status & MYSQL_WAIT_WRITE)
        p.events |= POLLOUT;
    if (status & MYSQL_WAIT_EXCEPT)
        p.events |= POLLPRI;
    if (left <= 0)
        return MYSQL_WAIT_TIMEOUT;
    do
        r = poll(&p, 1, (int)left);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return MYSQL_WAIT_TIMEOUT;
    if (p.revents & (POLLIN | POLLHUP | POLLERR))
        ev |= MYSQL_WAIT_READ;
    if (p.revents & (POLLOUT | POLLHUP | POLLERR))
        ev |= MYSQL_WAIT_WRITE;
    if (p.revents & POLLPRI)
        ev |= MYSQL_WAIT_EXCEPT;
    return ev;
}

static void close_mysql(MYSQL *m)
{
    int fd;
    if (!m)
        return;
    fd = (int)mysql_get_socket(m);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    mysql_close(m);
}

static void drop_conn(worker *w, const topo_addr *a)
{
    for (size_t i = 0; i < w->n_conns; i++)
        if (topo_addr_eq(&w->conns[i].addr, a)) {
            close_mysql(w->conns[i].m);
            w->conns[i] = w->conns[--w->n_conns];
            return;
        }
}

/* The worker's connection to a, connecting within timeout_ms if needed. */
static MYSQL *get_conn(worker *w, const topo_addr *a, int timeout_ms, char *err, size_t errlen)
{
    MYSQL *m, *ret = NULL;
    int status;
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 2000);
    unsigned int zero = 0;
    char as[TOPO_ADDR_MAX];

    for (size_t i = 0; i < w->n_conns; i++)
        if (topo_addr_eq(&w->conns[i].addr, a))
            return w->conns[i].m;
    if (w->n_conns == MAX_CONNS) {
        snprintf(err, errlen, "too many servers in one plan");
        return NULL;
    }
    m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mysql_optionsv(m, MYSQL_OPT_NONBLOCK, 0);
    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &zero);
    status = mysql_real_connect_start(&ret, m, a->host, w->creds.user, w->creds.password, NULL,
                                      (unsigned)a->port, NULL, 0);
    while (status)
        status = mysql_real_connect_cont(&ret, m, wait_io(m, status, deadline));
    if (!ret) {
        if (mono_ms() >= deadline)
            snprintf(err, errlen, "%s: no connection within %d ms", topo_addr_str(a, as, sizeof(as)), timeout_ms);
        else
            snprintf(err, errlen, "%s: %s (error %u)", topo_addr_str(a, as, sizeof(as)), mysql_error(m), mysql_errno(m));
        close_mysql(m);
        return NULL;
    }
    w->conns[w->n_conns].addr = *a;
    w->conns[w->n_conns].m = m;
    w->n_conns++;
    return m;
}

/*
 * Run one statement on a within the deadline. With res != NULL the result is
 * stored there (caller frees). On failure the connection is dropped if it
 * timed out or broke, and err names the server and the server's message.
 */
static int run_sql(worker *w, const topo_addr *a, const char *sql, int64_t deadline, MYSQL_RES **res,
                   char *err, size_t errlen)
{
    char as[TOPO_ADDR_MAX];
    int left = (int)(deadline - mono_ms());
    MYSQL *m;
    int status, qerr = 0;
    MYSQL_RES *r = NULL;

    if (res)
        *res = NULL;
    if (left <= 0) {
        snprintf(err, errlen, "%s: out of time before '%s'", topo_addr_str(a, as, sizeof(as)), sql);
        return -ETIMEDOUT;
    }
    m = get_conn(w, a, left, err, errlen);
    if (!m)
        return -ECONNREFUSED;
    status = mysql_real_query_start(&qerr, m, sql, (unsigned long)strlen(sql));
    while (status)
        status = mysql_real_query_cont(&qerr, m, wait_io(m, status, deadline));
    if (!qerr) {
        status = mysql_store_result_start(&r, m);
        while (status)
            status = mysql_store_result_cont(&r, m, wait_io(m, status, deadline));
        if (!r && mysql_field_count(m) > 0)
            qerr = 1;
    }
    if (qerr) {
        unsigned code = mysql_errno(m);
        if (mono_ms() >= deadline)
            snprintf(err, errlen, "%s: '%s' did not finish in time", topo_addr_str(a, as, sizeof(as)), sql);
        else
            snprintf(err, errlen, "%s: '%s' failed: %s (error %u)", topo_addr_str(a, as, sizeof(as)), sql,
                     mysql_error(m), code);
        if (code >= 2000 || mono_ms() >= deadline) /* client-side: the connection is unusable */
            drop_conn(w, a);
        return -EIO;
    }
    if (res)
        *res = r;
    else if (r)
        mysql_free_result(r);
    return 0;
}

/* First column of the first row as text (copied), or "" for no row / NULL. */
static int query_value(worker *w, const topo_addr *a, const char *sql, int64_t deadline, char *out, size_t len,
                       char *err, size_t errlen)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    int rc = run_sql(w, a, sql, deadline, &r, err, errlen);
    if (rc < 0)
        return rc;
    out[0] = '\0';
    if (r && (row = mysql_fetch_row(r)) && row[0])
        snprintf(out, len, "%s", row[0]);
    if (r)
        mysql_free_result(r);
    return 0;
}

/* Replica status of a server, through the dialect layer. */
static int replica_status(worker *w, const rec_server *s, int64_t deadline, topo_snapshot *snap, char *err,
                          size_t errlen)
{
    char sql[64];
    MYSQL_RES *r;
    int rc;
    if (dialect_sql_replica_status(s->flavor, s->major, s->minor, s->patch, sql, sizeof(sql)) < 0)
        snprintf(sql, sizeof(sql), "SHOW SLAVE STATUS");
    rc = run_sql(w, &s->addr, sql, deadline, &r, err, errlen);
    if (rc < 0)
        return rc;
    if (r) {
        unsigned nc = mysql_num_fields(r);
        MYSQL_FIELD *f = mysql_fetch_fields(r);
        size_t nr = (size_t)mysql_num_rows(r);
        const char **names = calloc(nc ? nc : 1, sizeof(*names));
        const char **cells = calloc(nr > 0 && nc > 0 ? nr * nc : 1, sizeof(*cells));
        if (!names || !cells) {
            free(names);
            free(cells);
            mysql_free_result(r);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        for (unsigned c = 0; c < nc; c++)
            names[c] = f[c].name;
        for (size_t i = 0; i < nr; i++) {
            MYSQL_ROW row = mysql_fetch_row(r);
            for (unsigned c = 0; c < nc && row; c++)
                cells[i * nc + c] = row[c];
        }
        dialect_result dr = {.n_cols = nc, .n_rows = nr, .names = names, .cells = cells};
        rc = dialect_apply(s->flavor, DIALECT_Q_REPLICA_STATUS, &dr, snap, err, errlen);
        free(names);
        free(cells);
        mysql_free_result(r);
    }
    return rc;
}

/* ---- steps ----------------------------------------------------------------------- */

static int step_stop_io(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char sql[128];
    dialect_sql_stop_replica(s->target.flavor, s->target.major, s->target.minor, s->target.patch, true, sql,
                             sizeof(sql));
    if (run_sql(w, &s->target.addr, sql, dl, NULL, msg, len) < 0)
        return -1;
    snprintf(msg, len, "IO thread stopped");
    return 0;
}

static int step_start_io(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    const char *sql = s->target.flavor == TOPO_FLAVOR_MYSQL ? "START REPLICA IO_THREAD" : "START SLAVE IO_THREAD";
    if (s->target.flavor == TOPO_FLAVOR_MYSQL && (s->target.major < 8 || (s->target.major == 8 && s->target.minor == 0 && s->target.patch < 22)))
        sql = "START SLAVE IO_THREAD";
    if (run_sql(w, &s->target.addr, sql, dl, NULL, msg, len) < 0)
        return -1;
    snprintf(msg, len, "IO thread started again");
    return 0;
}

/* Wait until the target has applied gtid (or, without one, its relay log is drained). */
static int wait_applied(worker *w, const rec_server *t, const char *gtid, int64_t dl, char *msg, size_t len)
{
    char sql[2048], val[64];
    const char *start = t->flavor == TOPO_FLAVOR_MYSQL ? "START REPLICA SQL_THREAD" : "START SLAVE SQL_THREAD";
    double secs;
    if (t->flavor == TOPO_FLAVOR_MYSQL && (t->major == 8 && t->minor == 0 && t->patch < 22))
        start = "START SLAVE SQL_THREAD";
    /* A stopped (not broken) SQL thread must run to apply the relay log. */
    if (run_sql(w, &t->addr, start, dl, NULL, msg, len) < 0)
        return -1;
    if (!gtid || !*gtid) {
        snprintf(msg, len, "nothing received to apply");
        return 0;
    }
    secs = (double)(dl - mono_ms()) / 1000.0;
    if (secs < 0.001)
        secs = 0.001;
    if (dialect_sql_wait_gtid(t->flavor, gtid, secs, sql, sizeof(sql), msg, len) < 0)
        return -1;
    if (query_value(w, &t->addr, sql, dl + 1000, val, sizeof(val), msg, len) < 0)
        return -1;
    if (strcmp(val, "0") != 0) {
        char as[TOPO_ADDR_MAX];
        snprintf(msg, len, "%s did not apply %s within the time allowed (wait returned %s)",
                 topo_addr_str(&t->addr, as, sizeof(as)), gtid, val[0] ? val : "NULL");
        return -1;
    }
    snprintf(msg, len, "applied up to %s", gtid);
    return 0;
}

static int change_source(worker *w, const rec_server *t, const rec_server *src, int64_t dl, char *msg, size_t len)
{
    char sql[2048];
    dialect_sql_stop_replica(t->flavor, t->major, t->minor, t->patch, false, sql, sizeof(sql));
    if (run_sql(w, &t->addr, sql, dl, NULL, msg, len) < 0)
        return -1;
    if (dialect_sql_change_source(t->flavor, t->major, t->minor, t->patch, src->addr.host, src->addr.port,
                                  w->creds.repl_user, w->creds.repl_password, 1,
                                  w->creds.heartbeat_period_ms > 0 ? w->creds.heartbeat_period_ms / 1000.0 : -1.0,
                                  sql, sizeof(sql), msg, len) < 0)
        return -1;
    if (run_sql(w, &t->addr, sql, dl, NULL, msg, len) < 0) {
        /* Never echo the statement: it holds the replication password. */
        char *p = strstr(msg, "': ");
        char as[TOPO_ADDR_MAX];
        snprintf(sql, sizeof(sql), "%s: CHANGE MASTER failed%.1200s", topo_addr_str(&t->addr, as, sizeof(as)),
                 p ? p + 1 : "");
        snprintf(msg, len, "%.1500s", sql);
        return -1;
    }
    dialect_sql_start_replica(t->flavor, t->major, t->minor, t->patch, sql, sizeof(sql));
    if (run_sql(w, &t->addr, sql, dl, NULL, msg, len) < 0)
        return -1;
    return 0;
}

static int step_catch_up(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char sql[128], as[TOPO_ADDR_MAX];
    if (change_source(w, &s->target, &s->source, dl, msg, len) < 0)
        return -1;
    if (wait_applied(w, &s->target, s->gtid, dl, msg, len) < 0)
        return -1;
    dialect_sql_stop_replica(s->target.flavor, s->target.major, s->target.minor, s->target.patch, false, sql,
                             sizeof(sql));
    if (run_sql(w, &s->target.addr, sql, dl + 1000, NULL, msg, len) < 0)
        return -1;
    snprintf(msg, len, "caught up from %s to %s", topo_addr_str(&s->source.addr, as, sizeof(as)),
             s->gtid ? s->gtid : "(nothing)");
    return 0;
}

/* The semi-sync switch of one side (source: the primary's, else the replica's) of a server. */
static const char *semisync_var(topo_flavor f, bool source)
{
    if (f == TOPO_FLAVOR_MYSQL)
        return source ? "rpl_semi_sync_source_enabled" : "rpl_semi_sync_replica_enabled";
    return source ? "rpl_semi_sync_master_enabled" : "rpl_semi_sync_slave_enabled";
}

static int set_semisync(worker *w, const rec_server *t, bool source, bool on, int64_t dl, char *msg, size_t len)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SET GLOBAL %s=%s", semisync_var(t->flavor, source), on ? "ON" : "OFF");
    return run_sql(w, &t->addr, sql, dl, NULL, msg, len);
}

static int step_detach(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char sql[128];
    if (s->target.flavor == TOPO_FLAVOR_MARIADB) {
        /* MariaDB's semi-sync replica side makes STOP SLAVE try to reach the (dead)
         * primary for seconds; a primary does not need it anyway. Best effort. */
        char e2[256];
        set_semisync(w, &s->target, false, false, dl, e2, sizeof(e2));
    }
    dialect_sql_stop_replica(s->target.flavor, s->target.major, s->target.minor, s->target.patch, false, sql,
                             sizeof(sql));
    if (run_sql(w, &s->target.addr, sql, dl, NULL, msg, len) < 0)
        return -1;
    dialect_sql_reset_replica_all(s->target.flavor, s->target.major, s->target.minor, s->target.patch, sql,
                                  sizeof(sql));
    if (run_sql(w, &s->target.addr, sql, dl, NULL, msg, len) < 0)
        return -1;
    snprintf(msg, len, "replication stopped and reset");
    return 0;
}

static int step_set_writable(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len, char *gtid,
                             size_t glen)
{
    char sql[128];
    dialect_sql_set_read_only(s->target.flavor, s->target.major, s->target.minor, s->target.patch, false, sql,
                              sizeof(sql));
    if (run_sql(w, &s->target.addr, sql, dl, NULL, msg, len) < 0)
        return -1;
    if (query_value(w, &s->target.addr,
                    s->target.flavor == TOPO_FLAVOR_MYSQL ? "SELECT @@GLOBAL.gtid_executed"
                                                          : "SELECT @@GLOBAL.gtid_binlog_pos",
                    dl + 1000, gtid, glen, msg, len) < 0)
        gtid[0] = '\0';
    snprintf(msg, len, "writable (read_only off) at %s", gtid[0] ? gtid : "(empty position)");
    return 0;
}

static int step_semi_sync(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    if (set_semisync(w, &s->target, true, true, dl, msg, len) < 0)
        return -1;
    snprintf(msg, len, "semi-sync source side enabled");
    return 0;
}

static int step_repoint(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char as[TOPO_ADDR_MAX];
    if (change_source(w, &s->target, &s->source, dl, msg, len) < 0)
        return -1;
    snprintf(msg, len, "replicates from %s by GTID", topo_addr_str(&s->source.addr, as, sizeof(as)));
    return 0;
}

static int step_verify(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char as[TOPO_ADDR_MAX];
    for (;;) {
        topo_snapshot snap;
        int rc;
        memset(&snap, 0, sizeof(snap));
        rc = replica_status(w, &s->target, dl, &snap, msg, len);
        if (rc == 0 && snap.replica.present && snap.replica.io_state == TOPO_THREAD_YES &&
            snap.replica.sql_state == TOPO_THREAD_YES && topo_addr_eq(&snap.replica.source, &s->source.addr)) {
            snprintf(msg, len, "replicating from %s (io=Yes sql=Yes)", topo_addr_str(&s->source.addr, as, sizeof(as)));
            topo_snapshot_clear(&snap);
            return 0;
        }
        if (mono_ms() + 20 >= dl) {
            if (rc == 0)
                snprintf(msg, len, "%s does not replicate: io=%s sql=%s%s%s%s%s",
                         topo_addr_str(&s->target.addr, as, sizeof(as)), topo_thread_state_name(snap.replica.io_state),
                         topo_thread_state_name(snap.replica.sql_state),
                         snap.replica.last_io_error ? ", IO error: " : "",
                         snap.replica.last_io_error ? snap.replica.last_io_error : "",
                         snap.replica.last_sql_error ? ", SQL error: " : "",
                         snap.replica.last_sql_error ? snap.replica.last_sql_error : "");
            topo_snapshot_clear(&snap);
            return -1;
        }
        topo_snapshot_clear(&snap);
        usleep(20 * 1000);
    }
}

/* End client sessions: everything but replication threads, system threads and ourselves. */
static int kill_clients(worker *w, const rec_server *t, int64_t dl, char *msg, size_t len)
{
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    int killed = 0;
    if (run_sql(w, &t->addr,
                "SELECT ID, USER, COMMAND FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()", dl, &r,
                msg, len) == 0 && r) {
        while ((row = mysql_fetch_row(r))) {
            char kill[64];
            const char *user = row[1] ? row[1] : "", *cmd = row[2] ? row[2] : "";
            char err2[256];
            if (!strcmp(user, "system user") || !strcmp(user, "event_scheduler") ||
                !strcmp(user, w->creds.user) || !strncmp(cmd, "Binlog Dump", 11) || !strcmp(cmd, "Daemon") ||
                !strncmp(cmd, "Slave", 5) || !strcmp(cmd, "Killed"))
                continue;
            snprintf(kill, sizeof(kill), "KILL CONNECTION %s", row[0]);
            if (run_sql(w, &t->addr, kill, dl, NULL, err2, sizeof(err2)) == 0)
                killed++;
        }
        mysql_free_result(r);
    }
    return killed;
}

static int set_read_only(worker *w, const rec_server *t, bool on, int64_t dl, char *msg, size_t len)
{
    char sql[128];
    dialect_sql_set_read_only(t->flavor, t->major, t->minor, t->patch, on, sql, sizeof(sql));
    return run_sql(w, &t->addr, sql, dl, NULL, msg, len) < 0 ? -1 : 0;
}

static int step_fence(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char as[TOPO_ADDR_MAX], e2[256];
    int killed;
    /*
     * Order matters on a semi-sync primary that came back (or was cut off):
     * its writers' commits may be waiting for acknowledgements that will never
     * come, holding what SET GLOBAL read_only waits for. End the client
     * sessions first (so no such commit is ever acknowledged to a client), then
     * stop waiting for acknowledgements, then set read-only, then end whatever
     * connected meanwhile.
     */
    killed = kill_clients(w, &s->target, dl, msg, len);
    set_semisync(w, &s->target, true, false, dl, e2, sizeof(e2)); /* best effort: absent without the plugin */
    if (set_read_only(w, &s->target, true, dl, msg, len) < 0)
        return -1;
    killed += kill_clients(w, &s->target, dl, msg, len);
    snprintf(msg, len, "%s read-only, %d client session%s killed", topo_addr_str(&s->target.addr, as, sizeof(as)),
             killed, killed == 1 ? "" : "s");
    return 0;
}

/*
 * Relocate: what the replica applied from upstream must be (or, within the
 * step's time, become) part of the new source's binary log; otherwise the new
 * source could not serve it. Read fresh from both servers, not from snapshots.
 */
static int step_check_source(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    bool mysql = s->target.flavor == TOPO_FLAVOR_MYSQL;
    char mine[4096], theirs[4096], as[TOPO_ADDR_MAX];
    gtid_kind kind = mysql ? GTID_KIND_MYSQL : GTID_KIND_MARIADB;
    if (query_value(w, &s->target.addr, mysql ? "SELECT @@GLOBAL.gtid_executed" : "SELECT @@GLOBAL.gtid_slave_pos", dl,
                    mine, sizeof(mine), msg, len) < 0)
        return -1;
    for (;;) {
        char *extra = NULL, e2[256];
        if (query_value(w, &s->source.addr,
                        s->source.flavor == TOPO_FLAVOR_MYSQL ? "SELECT @@GLOBAL.gtid_executed"
                                                              : "SELECT @@GLOBAL.gtid_binlog_pos",
                        dl, theirs, sizeof(theirs), msg, len) < 0)
            return -1;
        if (gtid_text_errant(kind, mine, theirs, &extra, e2, sizeof(e2)) < 0) {
            snprintf(msg, len, "cannot compare positions: %s", e2);
            free(extra);
            return -1;
        }
        if (!*extra) {
            free(extra);
            snprintf(msg, len, "%s has everything %s applied", topo_addr_str(&s->source.addr, as, sizeof(as)),
                     topo_addr_str(&s->target.addr, theirs, sizeof(theirs)));
            return 0;
        }
        if (mono_ms() + 100 >= dl) {
            snprintf(msg, len, "%s lacks transactions %s has: %.1000s (it could not serve them; relocate refused)",
                     topo_addr_str(&s->source.addr, as, sizeof(as)),
                     topo_addr_str(&s->target.addr, theirs, sizeof(theirs)), extra);
            free(extra);
            return -1;
        }
        free(extra);
        usleep(100 * 1000); /* a source replicating from upstream may still be catching up */
    }
}

/* Switchover: refuse while a write transaction has been running longer than the bound. */
static int step_check_trx(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char sql[512];
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    int rc = 0;
    snprintf(sql, sizeof(sql),
             "SELECT trx_mysql_thread_id, TIMESTAMPDIFF(SECOND, trx_started, NOW()), trx_rows_modified "
             "FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0 AND "
             "trx_started < NOW() - INTERVAL %d SECOND ORDER BY trx_started LIMIT 1",
             s->limit_s > 0 ? s->limit_s : 0);
    if (run_sql(w, &s->target.addr, sql, dl, &r, msg, len) < 0)
        return -1;
    if (r && (row = mysql_fetch_row(r))) {
        snprintf(msg, len, "a write transaction (connection %s) has run for %s s and modified %s rows, over the "
                 "%d s bound: refusing to switch over now (wait for it or end it)", row[0] ? row[0] : "?",
                 row[1] ? row[1] : "?", row[2] ? row[2] : "?", s->limit_s);
        rc = -1;
    } else {
        snprintf(msg, len, "no write transaction older than %d s", s->limit_s);
    }
    if (r)
        mysql_free_result(r);
    return rc;
}

/* Switchover: stop writes on the old primary and capture its final position. */
static int step_demote(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char as[TOPO_ADDR_MAX];
    int killed;
    if (set_read_only(w, &s->target, true, dl, msg, len) < 0)
        return -1;
    killed = kill_clients(w, &s->target, dl, msg, len);
    if (query_value(w, &s->target.addr,
                    s->target.flavor == TOPO_FLAVOR_MYSQL ? "SELECT @@GLOBAL.gtid_executed"
                                                          : "SELECT @@GLOBAL.gtid_binlog_pos",
                    dl, w->frozen_gtid, sizeof(w->frozen_gtid), msg, len) < 0)
        return -1;
    snprintf(msg, len, "%s read-only, %d client session%s ended, final position %.1200s",
             topo_addr_str(&s->target.addr, as, sizeof(as)), killed, killed == 1 ? "" : "s",
             w->frozen_gtid[0] ? w->frozen_gtid : "(empty)");
    return 0;
}

static int step_rejoin(worker *w, const rec_step *s, int64_t dl, char *msg, size_t len)
{
    char as[TOPO_ADDR_MAX];
    rec_step v = *s;
    if (s->target.flavor != TOPO_FLAVOR_MYSQL) {
        /* Its own transactions are in its binlog, not in gtid_slave_pos: start from there. */
        char sql[64];
        dialect_sql_stop_replica(s->target.flavor, s->target.major, s->target.minor, s->target.patch, false, sql,
                                 sizeof(sql));
        if (run_sql(w, &s->target.addr, sql, dl, NULL, msg, len) < 0 ||
            run_sql(w, &s->target.addr, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos", dl, NULL, msg, len) < 0)
            return -1;
    }
    {
        /* A replica's own commits (its applier's, with log_slave_updates) must not wait
         * for acknowledgements: a demoted semi-sync primary left as a source would stall
         * its applier for rpl_semi_sync_master_timeout (no replica of its own acks). */
        char val[16] = "", q[96], e2[256];
        set_semisync(w, &s->target, true, false, dl, e2, sizeof(e2)); /* best effort: absent without the plugin */
        /* Semi-sync: a server rejoining below a semi-sync primary acknowledges too. */
        snprintf(q, sizeof(q), "SELECT @@GLOBAL.%s", semisync_var(s->source.flavor, true));
        if (query_value(w, &s->source.addr, q, dl, val, sizeof(val), e2, sizeof(e2)) == 0 && !strcmp(val, "1"))
            set_semisync(w, &s->target, false, true, dl, e2, sizeof(e2));
    }
    if (change_source(w, &s->target, &s->source, dl, msg, len) < 0)
        return -1;
    v.kind = REC_STEP_VERIFY;
    if (step_verify(w, &v, dl, msg, len) < 0)
        return -1;
    {
        char src[TOPO_ADDR_MAX];
        snprintf(msg, len, "%s rejoined as a replica of %s", topo_addr_str(&s->target.addr, as, sizeof(as)),
                 topo_addr_str(&s->source.addr, src, sizeof(src)));
    }
    return 0;
}

static int step_hook(worker *w, const rec_step *s, char *msg, size_t len);

static void emit(worker *w, rec_exec_msg_kind kind, int step, int ok, const char *msg, const char *gtid)
{
    rec_exec_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.step = step;
    m.ok = ok;
    m.at_ms = wall_ms();
    snprintf(m.message, sizeof(m.message), "%.1535s", msg ? msg : "");
    snprintf(m.gtid, sizeof(m.gtid), "%.1535s", gtid ? gtid : "");
    w->emit(w->user, &m);
}

static void run_plan(worker *w)
{
    bool past_no_return = false, failed = false, aborted = false;
    char msg[1536], gtid[1536];
    const rec_plan *p = &w->plan;

    size_t done_steps = 0;
    for (size_t i = 0; i < p->n; i++) {
        const rec_step *s = &p->v[i];
        int64_t dl = mono_ms() + (s->timeout_ms > 0 ? s->timeout_ms : 5000);
        done_steps = i + 1;
        int rc = -1;
        msg[0] = gtid[0] = '\0';
        emit(w, REC_EXEC_STEP_START, (int)i, 1, NULL, NULL);
        switch (s->kind) {
        case REC_STEP_STOP_IO: rc = step_stop_io(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_START_IO: rc = step_start_io(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_WAIT_APPLY: rc = wait_applied(w, &s->target, s->gtid, dl, msg, sizeof(msg)); break;
        case REC_STEP_CATCH_UP: rc = step_catch_up(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_DETACH: rc = step_detach(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_SET_WRITABLE:
            rc = step_set_writable(w, s, dl, msg, sizeof(msg), gtid, sizeof(gtid));
            if (rc == 0)
                snprintf(w->promoted_gtid, sizeof(w->promoted_gtid), "%s", gtid);
            break;
        case REC_STEP_SEMI_SYNC_SOURCE: rc = step_semi_sync(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_REPOINT: rc = step_repoint(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_VERIFY: rc = step_verify(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_FENCE: rc = step_fence(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_REJOIN: rc = step_rejoin(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_CHECK_TRX: rc = step_check_trx(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_DEMOTE: rc = step_demote(w, s, dl, msg, sizeof(msg)); break;
        case REC_STEP_WAIT_CAUGHT_UP:
            rc = wait_applied(w, &s->target, w->frozen_gtid, dl, msg, sizeof(msg));
            break;
        case REC_STEP_UNDEMOTE:
            rc = set_read_only(w, &s->target, false, dl, msg, sizeof(msg));
            if (rc == 0)
                snprintf(msg, sizeof(msg), "writable again");
            break;
        case REC_STEP_HOOK:
            rc = step_hook(w, s, msg, sizeof(msg));
            break;
        case REC_STEP_CHECK_SOURCE:
            rc = step_check_source(w, s, dl, msg, sizeof(msg));
            break;
        }
        if (rc != 0)
            done_steps = i; /* a failed step took nothing to give back */
        if (w->crash_after && strcmp(w->crash_after, rec_step_name(s->kind)) == 0)
            raise(SIGKILL);
        emit(w, REC_EXEC_STEP_END, (int)i, rc == 0, msg, gtid);
        if (rc == 0 && s->no_return)
            past_no_return = true;
        if (rc != 0 && !s->best_effort) {
            failed = true;
            if (!past_no_return) {
                aborted = true;
                break;
            }
        }
    }
    if (aborted) {
        /* Give back what the plan took, newest first: a detached switchover target
         * replicates from the old primary again, the old primary becomes writable
         * again, stopped IO threads start again. */
        for (size_t i = done_steps; i-- > 0;) {
            const rec_step *st = &p->v[i];
            int64_t dl = mono_ms() + 5000;
            int rc;
            char line[1700], as[TOPO_ADDR_MAX];
            msg[0] = '\0';
            if (st->kind == REC_STEP_STOP_IO) {
                rc = step_start_io(w, st, dl, msg, sizeof(msg));
            } else if (st->kind == REC_STEP_DEMOTE) {
                rc = set_read_only(w, &st->target, false, dl, msg, sizeof(msg));
                if (rc == 0)
                    snprintf(msg, sizeof(msg), "writable again (switchover rolled back)");
            } else if (st->kind == REC_STEP_DETACH && !strcmp(p->kind, "switchover")) {
                rc = change_source(w, &st->target, &p->old_primary, dl, msg, sizeof(msg));
                if (rc == 0)
                    snprintf(msg, sizeof(msg), "replicates from %s again",
                             topo_addr_str(&p->old_primary.addr, as, sizeof(as)));
            } else {
                continue;
            }
            snprintf(line, sizeof(line), "%s: %s", topo_addr_str(&st->target.addr, as, sizeof(as)), msg);
            emit(w, REC_EXEC_ROLLBACK, -1, rc == 0, line, NULL);
        }
    }
    {
        rec_exec_msg m;
        memset(&m, 0, sizeof(m));
        m.kind = REC_EXEC_DONE;
        m.step = -1;
        m.ok = !failed;
        m.aborted = aborted;
        m.at_ms = wall_ms();
        snprintf(m.message, sizeof(m.message), "%s",
                 aborted ? "aborted before the point of no return" : failed ? "finished with failures" : "finished");
        w->emit(w->user, &m);
    }
    for (size_t i = 0; i < w->n_conns; i++)
        close_mysql(w->conns[i].m);
    w->n_conns = 0;
}

/* ---- plumbing -------------------------------------------------------------------- */

int rec_plan_copy(rec_plan *dst, const rec_plan *src)
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
    rec_plan_free(dst);
    return -ENOMEM;
}

static void creds_free(rec_exec_creds *c)
{
    if (c->password) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
    if (c->repl_password) {
        explicit_bzero(c->repl_password, strlen(c->repl_password));
        free(c->repl_password);
    }
    memset(c, 0, sizeof(*c));
}

static int creds_copy(rec_exec_creds *dst, const rec_exec_creds *src)
{
    *dst = *src;
    dst->password = src->password ? strdup(src->password) : NULL;
    dst->repl_password = src->repl_password ? strdup(src->repl_password) : NULL;
    if ((src->password && !dst->password) || (src->repl_password && !dst->repl_password)) {
        creds_free(dst);
        return -ENOMEM;
    }
    return 0;
}

static void pipe_emit(void *user, const rec_exec_msg *m)
{
    rec_exec *x = user;
    ssize_t n;
    do
        n = write(x->pipe_wr, m, sizeof(*m));
    while (n < 0 && errno == EINTR);
}

static void *thread_main(void *arg)
{
    rec_exec *x = arg;
    mysql_thread_init();
    run_plan(&x->w);
    mysql_thread_end();
    close(x->pipe_wr);
    x->pipe_wr = -1;
    return NULL;
}

int rec_exec_start(const rec_plan *plan, const rec_exec_creds *creds, const rec_exec_hooks *hooks, rec_exec **out,
                   char *err, size_t errlen)
{
    rec_exec *x = calloc(1, sizeof(*x));
    int fds[2];
    _Static_assert(sizeof(rec_exec_msg) <= 4096, "executor messages must fit in PIPE_BUF");
    if (!x)
        goto oom;
    x->pipe_rd = x->pipe_wr = -1;
    if (rec_plan_copy(&x->w.plan, plan) < 0 || creds_copy(&x->w.creds, creds) < 0)
        goto oom;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        rec_exec_free(x);
        return -EIO;
    }
    x->pipe_rd = fds[0];
    x->pipe_wr = fds[1];
    fcntl(x->pipe_rd, F_SETFL, O_NONBLOCK);
    x->w.emit = pipe_emit;
    x->w.user = x;
    x->w.hooks = hooks;
    x->w.crash_after = getenv("MYORCH_TEST_CRASH_AFTER_STEP");
    if (x->w.crash_after && !*x->w.crash_after)
        x->w.crash_after = NULL;
    if (pthread_create(&x->thread, NULL, thread_main, x) != 0) {
        snprintf(err, errlen, "cannot start the recovery thread");
        rec_exec_free(x);
        return -EAGAIN;
    }
    x->started = 1;
    *out = x;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    rec_exec_free(x);
    return -ENOMEM;
}

int rec_exec_fd(const rec_exec *x) { return x->pipe_rd; }

int rec_exec_read(rec_exec *x, rec_exec_msg *m)
{
    ssize_t n;
    if (x->done)
        return -1;
    do
        n = read(x->pipe_rd, m, sizeof(*m));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(*m))
        return 1;
    if (n == 0) {
        x->done = 1;
        return -1;
    }
    return 0;
}

void rec_exec_free(rec_exec *x)
{
    if (!x)
        return;
    if (x->started)
        pthread_join(x->thread, NULL);
    if (x->pipe_rd >= 0)
        close(x->pipe_rd);
    if (x->pipe_wr >= 0)
        close(x->pipe_wr);
    rec_plan_free(&x->w.plan);
    creds_free(&x->w.creds);
    free(x);
}

int rec_exec_run_sync(const rec_plan *plan, const rec_exec_creds *creds, const rec_exec_hooks *hooks,
                      void (*fn)(void *user, const rec_exec_msg *m), void *user)
{
    worker w;
    memset(&w, 0, sizeof(w));
    if (rec_plan_copy(&w.plan, plan) < 0 || creds_copy(&w.creds, creds) < 0) {
        rec_plan_free(&w.plan);
        return -ENOMEM;
    }
    w.emit = fn;
    w.user = user;
    w.hooks = hooks;
    run_plan(&w);
    rec_plan_free(&w.plan);
    creds_free(&w.creds);
    return 0;
}

/* Hook steps: run every command configured for the hook point, in order. */
static int step_hook(worker *w, const rec_step *s, char *msg, size_t len)
{
    if (!w->hooks || !w->hooks->run) {
        snprintf(msg, len, "no hook commands for %s", s->hook);
        return 0;
    }
    return w->hooks->run(w->hooks->user, &w->plan, s, w->promoted_gtid, msg, len);
}
