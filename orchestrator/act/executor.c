/* orchestrator/act/executor.c — the recovery worker: plan steps as SQL, with ms deadlines. */
#include "orchestrator/act/executor.h"
#include "topology/probe/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "topology/probe/conn.h"
#include "topology/dialect.h"
#include "topology/gtid.h"
#include "topology/strbuf.h"

#define MAX_CONNS 64

typedef struct {
    topo_addr addr;
    MYSQL *m;
} conn;

/* Capabilities learned from a server whose plan entry had no flavor (appended, never moved). */
typedef struct {
    topo_addr addr;
    dialect_caps caps;
} learned_caps;

/* A message waiting for the loop: the pipe carries only its id. */
typedef struct queued {
    uint64_t id;
    struct queued *next;
    exec_msg m;             /* its texts follow the node in the same block */
} queued;

typedef struct {
    plan_spec plan;
    exec_creds creds;
    conn conns[MAX_CONNS];
    size_t n_conns;
    learned_caps learned[MAX_CONNS];
    size_t n_learned;
    void (*emit)(void *user, queued *q); /* takes the node */
    void *user;
    char *frozen_gtid;          /* demote: the old primary's final position (heap, NULL before) */
    char *promoted_gtid;        /* set-writable: the new primary's position (heap, NULL before) */
    const exec_hooks *hooks;
    /* Test failpoint (MYORCH_TEST_CRASH_AFTER_STEP=<step name>): the process kills
     * itself with SIGKILL right after that step ran on the server (whatever its
     * result) and before the controller recorded it, the worst moment for a crash. Read once per plan;
     * only the fault matrix sets it (tests/faults, scenario 10). */
    const char *crash_after;
    /* Failover: the candidate's STOP ... IO_THREAD, sent on a second connection while the
     * other replicas' IO threads stop (prestop_io()); NULL when none is pending. */
    MYSQL *prestop;
    MYSQL *spare;               /* a second connection to the candidate opened by connect_all() for prestop_io() */
    topo_addr prestop_addr;
    int prestop_status, prestop_qerr;
    bool prestop_decided; /* once per plan, at its first stop-io step; prestop_addr.port != 0: it was
                           * sent, and a rollback starts the candidate's IO thread again */
    bool io_kills_done;   /* a failover's IO threads ended by KILL, once, at its first stop-io step */
    bool source_refused;  /* failover: the old primary refused this worker's connection at its first
                           * stop-io step (connect_all): no KILL of any IO thread is needed */
    int64_t io_killed_at; /* clock of the last such KILL (0 none): STOPs wait IO_KILL_SETTLE_MS after it */
    topo_addr io_done[MAX_CONNS]; /* failover: replicas whose IO thread was killed, or whose source refuses
                                   * connections, since their IO thread last started (no second look) */
    size_t n_io_done;
    int stop_requested;         /* rec_exec_stop(): atomic */
} worker;

struct exec_job {
    worker w;
    int started;                /* handed to the pool: exec_free() waits for finished */
    int finished;               /* the pool's thread is done with it (pool.mu) */
    exec_job *next_queued;      /* pool.queue (pool.mu) */
    int pipe_rd, pipe_wr;
    int done;
    pthread_mutex_t lock;       /* guards the queue */
    queued *head, *tail;
    uint64_t next_id;
};

/*
 * The recovery threads. A plan runs on a thread that waits here between plans, woken
 * by exec_start(), instead of on one created for it: at 10,000 servers, with the
 * loop's thread busy, a new thread first ran 0-4 ms after pthread_create() (1 ms or
 * more in half the failovers, measured with the fleet bench; never more than 1 ms at
 * 200 servers), a delay on every failover's path. Threads beyond POOL_IDLE_MAX idle
 * ones end after their plan (a zone loss runs hundreds at once); exec_pool_shutdown()
 * ends the rest.
 */
#define POOL_IDLE_MAX 4

typedef struct pool_thread {
    pthread_t t;
    struct pool_thread *next;
} pool_thread;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;        /* a job queued, or shutdown */
    pthread_cond_t finished;    /* a job finished */
    exec_job *queue, *queue_tail;
    pool_thread *threads;       /* joinable, alive */
    size_t idle;                /* threads running no job (waiting, or not yet waiting) */
    size_t queued;              /* jobs waiting for a thread */
    bool shutdown;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
          .finished = PTHREAD_COND_INITIALIZER};

/* ---- non-blocking SQL with millisecond deadlines ------------------------------- */

/* What poll() watches for a library status (MYSQL_WAIT_*), and the events it saw as one. */
static short poll_events(int status)
{
    return (short)(((status & MYSQL_WAIT_READ) ? POLLIN : 0) | ((status & MYSQL_WAIT_WRITE) ? POLLOUT : 0) |
                   ((status & MYSQL_WAIT_EXCEPT) ? POLLPRI : 0));
}

static int wait_events(short revents)
{
    return ((revents & (POLLIN | POLLHUP | POLLERR)) ? MYSQL_WAIT_READ : 0) |
           ((revents & (POLLOUT | POLLHUP | POLLERR)) ? MYSQL_WAIT_WRITE : 0) |
           ((revents & POLLPRI) ? MYSQL_WAIT_EXCEPT : 0);
}

static int wait_io(MYSQL *m, int status, int64_t deadline)
{
    struct pollfd p = {.fd = (int)mysql_get_socket(m), .events = poll_events(status)};
    int64_t left = deadline - clk_mono_ms();
    int r;
    if (left <= 0)
        return MYSQL_WAIT_TIMEOUT;
    do
        r = poll(&p, 1, (int)left);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return MYSQL_WAIT_TIMEOUT;
    return wait_events(p.revents);
}

static void close_mysql(MYSQL *m)
{
    int fd;
    if (!m)
        return;
    fd = (int)mysql_get_socket(m);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    conn_close(m);
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

/* Drive one statement on m to its end (result discarded) before deadline. 0, or -1 (mysql_errno says why). */
static int exec_discard(MYSQL *m, const char *sql, int64_t deadline)
{
    int status, qerr = 0;
    MYSQL_RES *r = NULL;
    status = mysql_real_query_start(&qerr, m, sql, (unsigned long)strlen(sql));
    while (status)
        status = mysql_real_query_cont(&qerr, m, wait_io(m, status, deadline));
    if (qerr)
        return -1;
    status = mysql_store_result_start(&r, m);
    while (status)
        status = mysql_store_result_cont(&r, m, wait_io(m, status, deadline));
    if (r)
        mysql_free_result(r);
    return mysql_errno(m) ? -1 : 0;
}

/*
 * A connection being opened: the connect, then the session's own sql_mode (dialect.h
 * DIALECT_SQL_SESSION_MODE: a server running with NO_BACKSLASH_ESCAPES must not change what an
 * escaped password in CHANGE MASTER TO means; kept apart from the connection setup on
 * purpose), driven by events so that several open at once (connect_all). open_conn() opens one.
 */
typedef enum { PC_CONNECT, PC_QUERY, PC_STORE, PC_READY, PC_FAILED } pc_phase;

typedef struct {
    topo_addr addr;
    MYSQL *m, *ret;
    MYSQL_RES *res;             /* the sql_mode statement's (none expected) */
    int status;                 /* what the library waits for in this phase */
    int qerr;
    int timeout_ms;
    pc_phase phase;
    bool optional;              /* pc_run() does not wait for it once the others are done */
    bool refused;               /* the connect failed with ECONNREFUSED (error 2002/2003, errno 111) */
    char err[1400];
} pconn;

static void pc_fail(pconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pc_fail(pconn *c, const char *fmt, ...)
{
    char as[TOPO_ADDR_MAX];
    va_list ap;
    int k = snprintf(c->err, sizeof(c->err), "%s: ", topo_addr_str(&c->addr, as, sizeof(as)));
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < sizeof(c->err))
        vsnprintf(c->err + k, sizeof(c->err) - (size_t)k, fmt, ap);
    va_end(ap);
    close_mysql(c->m);
    c->m = NULL;
    c->phase = PC_FAILED;
}

/* Begin opening c->addr, connected within timeout_ms. */
static void pc_start(worker *w, pconn *c, int timeout_ms)
{
    conn_params cp = w->creds.conn.p;
    char why[1024];
    c->timeout_ms = timeout_ms;
    cp.connect_timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    cp.read_timeout_ms = 0; /* every statement has its own deadline (wait_io) */
    c->phase = PC_CONNECT;
    if (conn_open_start(&c->m, &c->ret, &c->status, &cp, c->addr.host, NULL, (unsigned)c->addr.port,
                        w->creds.user, w->creds.password, 0, why, sizeof(why)) < 0) {
        c->m = NULL;
        pc_fail(c, "%s", why);
    }
}

/* The library call that goes on with c's phase after the events ev. */
static int pc_cont(pconn *c, int ev)
{
    switch (c->phase) {
    case PC_CONNECT: return mysql_real_connect_cont(&c->ret, c->m, ev);
    case PC_QUERY: return mysql_real_query_cont(&c->qerr, c->m, ev);
    case PC_STORE: return mysql_store_result_cont(&c->res, c->m, ev);
    default: return 0;
    }
}

/*
 * Go on with c after the events ev (MYSQL_WAIT_*; MYSQL_WAIT_TIMEOUT once the deadline passed)
 * until it waits for the server again (c->status), is ready or failed.
 */
static void pc_step(worker *w, pconn *c, int ev, int64_t deadline)
{
    for (;;) {
        if (c->phase == PC_READY || c->phase == PC_FAILED)
            return;
        if (c->status) { /* the phase's call waits for the server: go on with it once ev came */
            if (!ev)
                return;
            c->status = pc_cont(c, ev);
            ev = 0;
            if (c->status)
                return;
        }
        switch (c->phase) {
        case PC_CONNECT:
            if (!c->ret && clk_mono_ms() >= deadline) {
                pc_fail(c, "no connection within %d ms", c->timeout_ms);
                return;
            }
            if (!c->ret) {
                unsigned code = mysql_errno(c->m);
                c->refused = (code == 2002 || code == 2003) && strstr(mysql_error(c->m), "(111") != NULL;
            }
            {
                char why[1024];
                if (conn_open_finish(c->m, c->ret, &w->creds.conn.p, c->addr.host, NULL, why, sizeof(why)) < 0) {
                    pc_fail(c, "%s", why);
                    return;
                }
            }
            c->phase = PC_QUERY;
            c->status = mysql_real_query_start(&c->qerr, c->m, DIALECT_SQL_SESSION_MODE,
                                               (unsigned long)strlen(DIALECT_SQL_SESSION_MODE));
            break;
        case PC_QUERY:
            if (c->qerr)
                goto sql_mode_failed;
            c->phase = PC_STORE;
            c->status = mysql_store_result_start(&c->res, c->m);
            break;
        case PC_STORE:
            if (c->res)
                mysql_free_result(c->res);
            c->res = NULL;
            if (mysql_errno(c->m))
                goto sql_mode_failed;
            c->phase = PC_READY;
            return;
        default:
            return;
        }
    }
sql_mode_failed:
    {
        char text[600];
        unsigned code = mysql_errno(c->m);
        snprintf(text, sizeof(text), "%s", mysql_error(c->m));
        pc_fail(c, "cannot set the session's sql_mode: %s (error %u)", text, code);
    }
}

/* Drive the n connections until each is ready or failed (the deadline fails what is left), or until
 * only optional ones are left (failed, "not waited for"). */
static void pc_run(worker *w, pconn *v, size_t n, int64_t deadline)
{
    struct pollfd pf[MAX_CONNS];
    size_t idx[MAX_CONNS];
    for (size_t i = 0; i < n; i++)
        pc_step(w, &v[i], 0, deadline);
    for (;;) {
        size_t k = 0, needed = 0;
        int64_t left = deadline - clk_mono_ms();
        int r;
        for (size_t i = 0; i < n; i++) {
            pconn *c = &v[i];
            if (c->phase == PC_READY || c->phase == PC_FAILED)
                continue;
            needed += !c->optional;
            pf[k].fd = (int)mysql_get_socket(c->m);
            pf[k].events = poll_events(c->status);
            pf[k].revents = 0;
            idx[k++] = i;
        }
        if (!k)
            return;
        if (!needed) {
            for (size_t j = 0; j < k; j++)
                pc_fail(&v[idx[j]], "not waited for");
            return;
        }
        if (left <= 0) {
            for (size_t j = 0; j < k; j++) {
                pconn *c = &v[idx[j]];
                pc_step(w, c, MYSQL_WAIT_TIMEOUT, deadline); /* the library fails it */
                if (c->phase != PC_READY && c->phase != PC_FAILED)
                    pc_fail(c, "no connection within %d ms", c->timeout_ms);
            }
            return;
        }
        do
            r = poll(pf, k, (int)left);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            int e = errno;
            for (size_t j = 0; j < k; j++)
                pc_fail(&v[idx[j]], "poll: %s", strerror(e));
            return;
        }
        for (size_t j = 0; r > 0 && j < k; j++) {
            int ev = wait_events(pf[j].revents);
            if (ev)
                pc_step(w, &v[idx[j]], ev, deadline);
        }
    }
}

/* A new connection of the worker's to a (not cached), connected within timeout_ms. */
static MYSQL *open_conn(worker *w, const topo_addr *a, int timeout_ms, char *err, size_t errlen)
{
    pconn c = {.addr = *a};
    pc_start(w, &c, timeout_ms);
    pc_run(w, &c, 1, clk_mono_ms() + (timeout_ms > 0 ? timeout_ms : 2000));
    if (c.phase != PC_READY) {
        snprintf(err, errlen, "%s", c.err);
        return NULL;
    }
    return c.m;
}

/* The worker's connection to a, connecting within timeout_ms if needed. */
static MYSQL *get_conn(worker *w, const topo_addr *a, int timeout_ms, char *err, size_t errlen)
{
    MYSQL *m;
    for (size_t i = 0; i < w->n_conns; i++)
        if (topo_addr_eq(&w->conns[i].addr, a))
            return w->conns[i].m;
    if (w->n_conns == MAX_CONNS) {
        snprintf(err, errlen, "too many servers in one plan");
        return NULL;
    }
    if (!(m = open_conn(w, a, timeout_ms, err, errlen)))
        return NULL;
    w->conns[w->n_conns].addr = *a;
    w->conns[w->n_conns].m = m;
    w->n_conns++;
    return m;
}

/* The plan's first stop-io steps: [*from, *to), the stop-io steps after its leading hook steps
 * (a pre-failover hook is step 0). */
static void first_stops(const plan_spec *p, size_t *from, size_t *to)
{
    size_t i = 0;
    while (i < p->n && p->v[i].kind == PLAN_STEP_HOOK)
        i++;
    *from = i;
    while (i < p->n && p->v[i].kind == PLAN_STEP_STOP_IO)
        i++;
    *to = i;
}

/*
 * A failover's first stop-io step talks to every replica its first stop-io steps stop and to the
 * candidate (kill_lost_io_threads, prestop_io, the stops): their connections open together, the
 * connect and the sql_mode of each overlapping the others', not one after another. One that does
 * not open by dl is left to the statement that needs it, which connects again (with the time
 * left) and says why.
 */
static void connect_all(worker *w, int64_t dl)
{
    const plan_spec *p = &w->plan;
    pconn *v = calloc(MAX_CONNS, sizeof(*v));
    size_t n = 0, spare = SIZE_MAX, probe = SIZE_MAX;
    int left = (int)(dl - clk_mono_ms());
    size_t from, to;
    if (!v || left <= 0)
        goto out;
    first_stops(p, &from, &to);
    for (size_t i = 0; i < p->n; i++) {
        const plan_step *s = &p->v[i];
        bool have = false;
        if (!(i >= from && i < to) && s->kind != PLAN_STEP_DETACH)
            continue;
        if (s->kind == PLAN_STEP_DETACH && !w->spare && spare == SIZE_MAX && n < MAX_CONNS) {
            spare = n; /* prestop_io()'s, one more */
            v[n].addr = s->target.addr;
            pc_start(w, &v[n++], left);
        }
        for (size_t k = 0; k < w->n_conns && !have; k++)
            have = topo_addr_eq(&w->conns[k].addr, &s->target.addr);
        for (size_t k = 0; k < n && !have; k++)
            have = topo_addr_eq(&v[k].addr, &s->target.addr);
        if (have || w->n_conns + n == MAX_CONNS)
            continue;
        v[n].addr = s->target.addr;
        pc_start(w, &v[n++], left);
    }
    if (n && n < MAX_CONNS && p->op == REC_OP_FAILOVER && p->old_primary.addr.port) {
        probe = n; /* the lost primary: a refusal says its process is gone (see kill_io_of_lost_source) */
        v[n].addr = p->old_primary.addr;
        v[n].optional = true;
        pc_start(w, &v[n++], left);
    }
    pc_run(w, v, n, dl);
    for (size_t k = 0; k < n; k++)
        if (k == probe) {
            w->source_refused = v[k].refused;
            close_mysql(v[k].m); /* answered: alive, its fence step connects on its own */
        } else if (k == spare) {
            if (v[k].phase == PC_READY)
                w->spare = v[k].m;
        } else if (v[k].phase == PC_READY) {
            w->conns[w->n_conns].addr = v[k].addr;
            w->conns[w->n_conns++].m = v[k].m;
        }
out:
    free(v);
}

/*
 * Does a server message about a statement holding secret quote it? Syntax
 * errors (1064, 1149) and "String '...' is too long" (1470) quote the
 * statement or the value, cut to a prefix; any text holding the secret's
 * first characters is treated the same.
 */
static bool quotes_secret(unsigned code, const char *text, const char *secret)
{
    size_t n = strlen(secret);
    if (code == 1064 || code == 1149 || code == 1470)
        return true;
    if (n > 16)
        n = 16;
    for (const char *p = text; n >= 4 && *p; p++)
        if (strncmp(p, secret, n) == 0)
            return true;
    return false;
}

/*
 * Every statement on the candidate runs after its pending early IO stop has finished
 * (statements on one server keep the plan's order). -1 with err set when it has not
 * finished by the deadline; its failure itself is not an error here: the IO thread state
 * is what later statements (STOP, RESET) act on.
 */
static int prestop_settle(worker *w, int64_t deadline, strbuf *err)
{
    char as[TOPO_ADDR_MAX];
    while (w->prestop_status && clk_mono_ms() < deadline)
        w->prestop_status = mysql_real_query_cont(&w->prestop_qerr, w->prestop,
                                                  wait_io(w->prestop, w->prestop_status, deadline));
    if (w->prestop_status) {
        strbuf_setf(err, "%s: its IO thread is still stopping (STOP of the IO thread sent early did not finish in "
                         "time)", topo_addr_str(&w->prestop_addr, as, sizeof(as)));
        return -1;
    }
    close_mysql(w->prestop);
    w->prestop = NULL;
    return 0;
}

/*
 * Run one statement on a within the deadline. With res != NULL the result is
 * stored there (caller frees). On failure the connection is dropped if it
 * timed out or broke, and err names the server, `label` (what the statement
 * does) and the server's error number and text. A statement holding a secret
 * (secret != NULL) is never shown: label describes it, and a server text that
 * quotes the statement (a syntax error, or one containing the secret) is
 * replaced by a note saying so.
 */
static int run_sql_as(worker *w, const topo_addr *a, const char *sql, const char *label, const char *secret,
                      int64_t deadline, MYSQL_RES **res, strbuf *err)
{
    char as[TOPO_ADDR_MAX], cerr[1400];
    int left = (int)(deadline - clk_mono_ms());
    MYSQL *m;
    int status, qerr = 0;
    MYSQL_RES *r = NULL;

    if (res)
        *res = NULL;
    if (left <= 0) {
        strbuf_setf(err, "%s: out of time before '%s'", topo_addr_str(a, as, sizeof(as)), label);
        return -ETIMEDOUT;
    }
    if (w->prestop && topo_addr_eq(&w->prestop_addr, a) && prestop_settle(w, deadline, err) < 0)
        return -ETIMEDOUT;
    m = get_conn(w, a, left, cerr, sizeof(cerr));
    if (!m) {
        strbuf_setf(err, "%s", cerr);
        return -ECONNREFUSED;
    }
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
        const char *text = mysql_error(m);
        if (secret && quotes_secret(code, text, secret))
            text = "(the server's message is not shown: it quotes the statement, which holds a password)";
        if (clk_mono_ms() >= deadline)
            strbuf_setf(err, "%s: '%s' did not finish in time", topo_addr_str(a, as, sizeof(as)), label);
        else
            strbuf_setf(err, "%s: '%s' failed: error %u: %s", topo_addr_str(a, as, sizeof(as)), label, code,
                        text);
        if (code >= 2000 || clk_mono_ms() >= deadline) /* client-side: the connection is unusable */
            drop_conn(w, a);
        return -EIO;
    }
    if (res)
        *res = r;
    else if (r)
        mysql_free_result(r);
    return 0;
}

/* A statement without secrets: it names itself in error messages. */
static int run_sql(worker *w, const topo_addr *a, const char *sql, int64_t deadline, MYSQL_RES **res, strbuf *err)
{
    return run_sql_as(w, a, sql, sql, NULL, deadline, res, err);
}

/*
 * First column of the first row as a heap string sized from the data (*out,
 * caller frees), "" for no row / NULL. A GTID position is as long as the
 * server's: never cut.
 */
static int query_value(worker *w, const topo_addr *a, const char *sql, int64_t deadline, char **out, strbuf *err)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    int rc = run_sql(w, a, sql, deadline, &r, err);
    *out = NULL;
    if (rc < 0)
        return rc;
    if (r && (row = mysql_fetch_row(r)) && row[0]) {
        unsigned long *lens = mysql_fetch_lengths(r);
        *out = strndup(row[0], lens ? lens[0] : strlen(row[0]));
    } else {
        *out = strdup("");
    }
    if (r)
        mysql_free_result(r);
    if (!*out) {
        strbuf_setf(err, "out of memory reading the answer to '%s'", sql);
        return -ENOMEM;
    }
    return 0;
}

/* Fold a result set into snap through the dialect layer (the result stays the caller's). */
static int apply_result(topo_flavor f, dialect_query_kind kind, MYSQL_RES *r, topo_snapshot *snap, strbuf *err)
{
    unsigned nc = mysql_num_fields(r);
    MYSQL_FIELD *fl = mysql_fetch_fields(r);
    size_t nr = (size_t)mysql_num_rows(r);
    const char **names = calloc(nc ? nc : 1, sizeof(*names));
    const char **cells = calloc(nr > 0 && nc > 0 ? nr * nc : 1, sizeof(*cells));
    char e2[512];
    int rc;
    if (!names || !cells) {
        free(names);
        free(cells);
        strbuf_setf(err, "out of memory");
        return -ENOMEM;
    }
    for (unsigned c = 0; c < nc; c++)
        names[c] = fl[c].name;
    mysql_data_seek(r, 0);
    for (size_t i = 0; i < nr; i++) {
        MYSQL_ROW row = mysql_fetch_row(r);
        for (unsigned c = 0; c < nc && row; c++)
            cells[i * nc + c] = row[c];
    }
    {
        dialect_result dr = {.n_cols = nc, .n_rows = nr, .names = names, .cells = cells};
        rc = dialect_apply(f, kind, &dr, snap, e2, sizeof(e2));
    }
    if (rc < 0)
        strbuf_setf(err, "%s", e2);
    free(names);
    free(cells);
    return rc;
}

/* A statement builder's result: its failure is the step's failure, with a message. */
static int built(int rc, const char *what, strbuf *msg)
{
    if (rc < 0)
        strbuf_setf(msg, "cannot build the %s statement: %s", what,
                    rc == -ENOSPC || rc == -EOVERFLOW ? "longer than its buffer"
                    : rc == -EINVAL                   ? "unknown server flavor"
                                                      : strerror(-rc));
    return rc;
}

/*
 * The capabilities of t: from its probe, or, when the plan did not know its
 * flavor (a server never probed: the controller started while it was down),
 * learned from the server once per plan: its version (the handshake's,
 * else SELECT @@version) and the semi-sync spelling its plugins have. NULL
 * with msg set when neither works: no statement is ever built blind.
 */
static const dialect_caps *caps_of(worker *w, const plan_server *t, int64_t dl, strbuf *msg)
{
    char e2[256], as[TOPO_ADDR_MAX], sql[128];
    topo_flavor f = TOPO_FLAVOR_UNKNOWN;
    int ma = 0, mi = 0, pa = 0, rc;
    learned_caps *lc;
    MYSQL *m;

    if (t->caps.known)
        return &t->caps;
    for (size_t i = 0; i < w->n_learned; i++)
        if (topo_addr_eq(&w->learned[i].addr, &t->addr))
            return &w->learned[i].caps;
    {
        int left = (int)(dl - clk_mono_ms());
        char cerr[1400];
        if (left <= 0 || !(m = get_conn(w, &t->addr, left, cerr, sizeof(cerr)))) {
            strbuf_setf(msg, "%s: flavor unknown and no connection to learn it: %s",
                        topo_addr_str(&t->addr, as, sizeof(as)), left <= 0 ? "out of time" : cerr);
            return NULL;
        }
    }
    rc = dialect_detect(mysql_get_server_info(m), NULL, &f, &ma, &mi, &pa, e2, sizeof(e2));
    if (rc < 0 && rc != -ENOTSUP) {
        char *v = NULL;
        if (built(dialect_stmt_text(NULL, DIALECT_STMT_VERSION, sql, sizeof(sql)), "version query", msg) < 0 ||
            query_value(w, &t->addr, sql, dl, &v, msg) < 0) {
            free(v);
            return NULL;
        }
        rc = dialect_detect(v, NULL, &f, &ma, &mi, &pa, e2, sizeof(e2));
        free(v);
        if (rc < 0 && rc != -ENOTSUP) {
            strbuf_setf(msg, "%s: flavor unknown and its version does not parse: %s",
                        topo_addr_str(&t->addr, as, sizeof(as)), e2);
            return NULL;
        }
    }
    if (w->n_learned == MAX_CONNS) {
        strbuf_setf(msg, "too many servers in one plan");
        return NULL;
    }
    lc = &w->learned[w->n_learned];
    lc->addr = t->addr;
    dialect_caps_init(&lc->caps, f, ma, mi, pa, TOPO_SEMISYNC_NAMES_NONE, TOPO_SEMISYNC_NAMES_NONE);
    if (lc->caps.semisync_spelling_varies) {
        /* Which semi-sync plugin it loaded decides the variable names (best effort: none loaded is fine). */
        MYSQL_RES *r = NULL;
        strbuf e3 = STRBUF_INIT;
        topo_snapshot snap;
        memset(&snap, 0, sizeof(snap));
        if (dialect_stmt_text(NULL, DIALECT_STMT_SEMISYNC_VARIABLES, sql, sizeof(sql)) == 0 &&
            run_sql(w, &t->addr, sql, dl, &r, &e3) == 0 && r &&
            apply_result(f, DIALECT_Q_SEMISYNC_VARS, r, &snap, &e3) == 0)
            dialect_caps_init(&lc->caps, f, ma, mi, pa, snap.semisync.source_names, snap.semisync.replica_names);
        if (r)
            mysql_free_result(r);
        strbuf_free(&e3);
        topo_snapshot_clear(&snap);
    }
    w->n_learned++;
    return &lc->caps;
}

/* Text of statement k for t (learning t's flavor if needed); -1 with msg set when it cannot be built. */
static int stmt_for(worker *w, const plan_server *t, dialect_stmt k, const char *what, int64_t dl, char *buf,
                    size_t len, strbuf *msg)
{
    const dialect_caps *c = caps_of(w, t, dl, msg);
    if (!c || built(dialect_stmt_text(c, k, buf, len), what, msg) < 0)
        return -1;
    return 0;
}

/* Run statement k on t. */
static int run_stmt(worker *w, const plan_server *t, dialect_stmt k, const char *what, int64_t dl, strbuf *msg)
{
    char sql[160];
    if (stmt_for(w, t, k, what, dl, sql, sizeof(sql), msg) < 0 || run_sql(w, &t->addr, sql, dl, NULL, msg) < 0)
        return -1;
    return 0;
}

/* Replica status of a server, through the dialect layer. */
static int replica_status(worker *w, const plan_server *s, int64_t deadline, topo_snapshot *snap, strbuf *err)
{
    char sql[64];
    MYSQL_RES *r;
    int rc;
    const dialect_caps *c = caps_of(w, s, deadline, err);
    if (!c || built(dialect_stmt_text(c, DIALECT_STMT_REPLICA_STATUS, sql, sizeof(sql)), "replica status", err) < 0)
        return -EINVAL;
    rc = run_sql(w, &s->addr, sql, deadline, &r, err);
    if (rc < 0)
        return rc;
    if (r) {
        rc = apply_result(c->flavor, DIALECT_Q_REPLICA_STATUS, r, snap, err);
        mysql_free_result(r);
    }
    return rc;
}

/* ---- steps ----------------------------------------------------------------------- */

/*
 * A failover (its old primary is dead, hung or cut off): end t's replication IO thread with KILL
 * before the plan's STOP of it (issue 18). On MariaDB, STOP of a semi-sync replica's IO thread
 * first opens a new connection to its source to kill the dump thread there; on a hung source that
 * connect waits for its greeting until rpl_semi_sync_slave_kill_conn_timeout, or until STOP signals
 * the thread again, every 2 s (0: without end). Measured on 10.11.19 with a SIGSTOPped primary:
 * STOP 1.02 s (timeout 1), 2.0 s (the default 5). KILL marks the thread killed and shuts its
 * socket to the source: it leaves its loop, and an event read after that is never queued nor
 * acknowledged. KILL alone does not end the greeting wait; the signal STOP sends does, once the
 * thread is killed and already waiting there: STOP then returns in ms (KILL, 10-100 ms, STOP:
 * 60 of 60 runs under 250 ms; STOP at once after KILL: 2 of 24 still took 2 s, the signal coming
 * before the thread was waiting). Hence the pause, IO_KILL_SETTLE_MS, between the KILLs and the
 * first STOP; a STOP that still comes too early costs what it cost before. The STOP still waits
 * for the thread to be gone, so what the replica received is final before anything is applied or
 * promoted, as before; only the source's dump thread is not killed, and that source is the lost
 * primary, fenced by the plan. Only when the server has exactly one IO thread (another would be a
 * different replication connection). Best effort: 1 when a KILL was sent, else 0.
 */
#define IO_KILL_SETTLE_MS 30

/*
 * The replica's own last IO error says its source refuses connections (plan_source_refuses: error
 * 2003, errno 111): the source's process is gone and its port closed. The connection STOP opens to
 * kill the dump thread is refused at once too, so there is no greeting to wait for, and neither a
 * KILL nor its pause is needed (measured on 10.11.19, semi-sync replica, source SIGKILLed: STOP
 * alone 7 ms). A crash failover no longer pays IO_KILL_SETTLE_MS (real MariaDB lab: 30 of 44 ms
 * to writable). Anything else (no error yet, a timeout, another errno, a hung source) keeps the KILL.
 *
 * Before any replica is asked, the worker tries the lost primary itself (connect_all, alongside
 * the replicas' connections, not waited for): refused (ECONNREFUSED) means the same, for every
 * replica (w->source_refused), and no replica's status is read for it. A replica often does not
 * say it yet when the failover starts: on 10.11 after a SIGKILL of its source, for a few ms its
 * IO thread still said Yes, or Connecting without an error, or error 2013 (connection reset) for
 * the whole 100 ms watched; each of those cost a KILL and IO_KILL_SETTLE_MS (4 of 20 crash
 * failovers in the lab bench). A hung source accepts the connection (its kernel does) and is
 * not refused; one that refuses the controller behind a firewall while it hangs for its replicas
 * would make their STOP wait, bounded by the step's deadline as before.
 */
static bool replica_source_refuses(worker *w, const plan_server *t, int64_t dl)
{
    topo_snapshot snap;
    strbuf e = STRBUF_INIT;
    bool yes;
    memset(&snap, 0, sizeof(snap));
    yes = replica_status(w, t, dl, &snap, &e) == 0 && plan_source_refuses(&snap.replica);
    topo_snapshot_clear(&snap);
    strbuf_free(&e);
    return yes;
}

static size_t io_done_at(const worker *w, const topo_addr *a)
{
    size_t i = 0;
    while (i < w->n_io_done && !topo_addr_eq(&w->io_done[i], a))
        i++;
    return i;
}

static void io_done_mark(worker *w, const topo_addr *a)
{
    if (io_done_at(w, a) == w->n_io_done && w->n_io_done < MAX_CONNS)
        w->io_done[w->n_io_done++] = *a;
}

static void io_done_clear(worker *w, const topo_addr *a)
{
    size_t i = io_done_at(w, a);
    if (i < w->n_io_done)
        w->io_done[i] = w->io_done[--w->n_io_done];
}

static int kill_io_of_lost_source(worker *w, const plan_server *t, int64_t dl)
{
    const dialect_caps *c;
    strbuf e = STRBUF_INIT;
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    char sql[160], kill[64], *end = NULL;
    unsigned long long id;
    int rc = 0;

    if (w->plan.op != REC_OP_FAILOVER || io_done_at(w, &t->addr) < w->n_io_done)
        goto out; /* looked at already: nothing to do */
    if (w->source_refused || replica_source_refuses(w, t, dl)) {
        io_done_mark(w, &t->addr);
        goto out;
    }
    if (!(c = caps_of(w, t, dl, &e)) ||
        dialect_stmt_text(c, DIALECT_STMT_IO_THREAD_IDS, sql, sizeof(sql)) < 0 ||
        run_sql(w, &t->addr, sql, dl, &r, &e) < 0 || !r)
        goto out;
    if (mysql_num_rows(r) != 1 || !(row = mysql_fetch_row(r)) || !row[0] || !*row[0] ||
        strspn(row[0], "0123456789") != strlen(row[0]))
        goto out;
    errno = 0;
    id = strtoull(row[0], &end, 10);
    if (errno || (end && *end) || dialect_stmt_kill(c, id, kill, sizeof(kill)) < 0)
        goto out;
    if (run_sql(w, &t->addr, kill, dl, NULL, &e) == 0) { /* gone already (error 1094): nothing to wait for */
        w->io_killed_at = clk_mono_ms();
        io_done_mark(w, &t->addr);
        rc = 1;
    }
out:
    if (r)
        mysql_free_result(r);
    strbuf_free(&e);
    return rc;
}

/* Before a STOP of an IO thread: IO_KILL_SETTLE_MS after the last KILL (see above). */
static void io_kill_settle(const worker *w)
{
    int64_t left = w->io_killed_at ? w->io_killed_at + IO_KILL_SETTLE_MS - clk_mono_ms() : 0;
    if (left > 0) {
        struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (long)(left % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}

/* A failover's first stop-io step: the IO threads of the replicas its first stop-io steps freeze,
 * killed together (the candidate's too, in prestop_io(), when it is stopped early), so that one
 * pause serves them all. A catch-up source keeps its IO thread until its own stop-io step. Never
 * the IO thread of a candidate whose SQL thread is stopped: with both threads stopped, the
 * START SQL_THREAD of its wait-apply would purge its relay log (MariaDB), losing what it
 * received (integration.test_failover FailoverLagging). */
static void kill_lost_io_threads(worker *w, int64_t dl)
{
    const plan_spec *p = &w->plan;
    size_t from, to;
    if (w->io_kills_done || p->op != REC_OP_FAILOVER)
        return;
    w->io_kills_done = true;
    first_stops(p, &from, &to);
    for (size_t i = from; i < to; i++)
        kill_io_of_lost_source(w, &p->v[i].target, dl);
}

static int step_stop_io(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    kill_io_of_lost_source(w, &s->target, dl); /* not looked at with the others (nothing to do when it was) */
    io_kill_settle(w);
    if (run_stmt(w, &s->target, DIALECT_STMT_STOP_IO, "STOP REPLICA IO_THREAD", dl, msg) < 0)
        return -1;
    strbuf_setf(msg, "IO thread stopped");
    return 0;
}

static int step_start_io(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    io_done_clear(w, &s->target.addr);
    if (run_stmt(w, &s->target, DIALECT_STMT_START_IO, "START REPLICA IO_THREAD", dl, msg) < 0)
        return -1;
    strbuf_setf(msg, "IO thread started again");
    return 0;
}

/*
 * Failover: send the candidate's STOP ... IO_THREAD on a second connection now, while the
 * other replicas' IO threads stop, instead of in its detach step after them. Stopping a
 * semi-sync replica's IO thread waits for a connection to its primary (MariaDB kills the
 * dump thread there: rpl_semi_sync_slave_kill_conn_timeout, >= 1 s, when the primary is
 * hung); sequential, these waits added up (issue 18: stop-io 1.05 s then detach 1.05 s
 * after detection). Only when the plan has no catch-up and the candidate's SQL thread
 * runs (it applies its relay log as before; MariaDB purges the relay log when an SQL
 * thread starts with both threads stopped). Best effort: without it the detach stops the
 * thread as before. Every later statement on the candidate waits for it (prestop_settle).
 */
static void prestop_io(worker *w)
{
    const plan_spec *p = &w->plan;
    const plan_server *cand = NULL;
    const dialect_caps *c;
    topo_snapshot snap;
    strbuf e = STRBUF_INIT;
    char sql[128], err[512];
    int64_t dl = clk_mono_ms() + 1000;
    int rc;
    bool refused;

    if (w->prestop_decided || strcmp(p->kind, "failover") != 0)
        return;
    w->prestop_decided = true;
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].kind == PLAN_STEP_CATCH_UP)
            return;
        if (p->v[i].kind == PLAN_STEP_DETACH)
            cand = &p->v[i].target;
    }
    if (!cand)
        return;
    memset(&snap, 0, sizeof(snap));
    rc = replica_status(w, cand, dl, &snap, &e);
    if (rc < 0 || !snap.replica.present || snap.replica.sql_state != TOPO_THREAD_YES ||
        snap.replica.io_state == TOPO_THREAD_NO || !(c = caps_of(w, cand, dl, &e)) ||
        dialect_stmt_text(c, DIALECT_STMT_STOP_IO, sql, sizeof(sql)) < 0 ||
        !(w->prestop = w->spare ? w->spare : open_conn(w, &cand->addr, (int)(dl - clk_mono_ms()), err, sizeof(err)))) {
        topo_snapshot_clear(&snap);
        strbuf_free(&e);
        return;
    }
    if (w->prestop == w->spare)
        w->spare = NULL; /* prestop's now */
    refused = plan_source_refuses(&snap.replica);
    topo_snapshot_clear(&snap);
    strbuf_free(&e);
    if (!refused)
        kill_io_of_lost_source(w, cand, dl); /* its SQL thread runs: it applies its relay log as before */
    io_kill_settle(w);
    w->prestop_addr = cand->addr;
    w->prestop_status = mysql_real_query_start(&w->prestop_qerr, w->prestop, sql, (unsigned long)strlen(sql));
}

/* Wait until the target has applied gtid (or, without one, its relay log is drained). */
static int wait_applied(worker *w, const plan_server *t, const char *gtid, int64_t dl, strbuf *msg)
{
    char *sql = NULL, *val = NULL, e2[256];
    int rc = -1;
    double secs;
    const dialect_caps *c;
    /* A stopped (not broken) SQL thread must run to apply the relay log. */
    if (run_stmt(w, t, DIALECT_STMT_START_SQL, "START REPLICA SQL_THREAD", dl, msg) < 0 || !(c = caps_of(w, t, dl, msg)))
        return -1;
    if (!gtid || !*gtid) {
        strbuf_setf(msg, "nothing received to apply");
        return 0;
    }
    secs = (double)(dl - clk_mono_ms()) / 1000.0;
    if (secs < 0.001)
        secs = 0.001;
    if (dialect_sql_wait_gtid(c->flavor, gtid, secs, &sql, e2, sizeof(e2)) < 0) {
        strbuf_setf(msg, "%s", e2);
        goto out;
    }
    if (query_value(w, &t->addr, sql, dl + 1000, &val, msg) < 0)
        goto out;
    if (strcmp(val, "0") != 0) {
        char as[TOPO_ADDR_MAX];
        strbuf_setf(msg, "%s did not apply %s within the time allowed (wait returned %s)",
                    topo_addr_str(&t->addr, as, sizeof(as)), gtid, val[0] ? val : "NULL");
        goto out;
    }
    strbuf_setf(msg, "applied up to %s", gtid);
    rc = 0;
out:
    free(sql);
    free(val);
    return rc;
}

static int change_source(worker *w, const plan_server *t, const plan_server *src, int64_t dl, strbuf *msg)
{
    char *sql = NULL, e2[256];
    const dialect_caps *c;
    int rc = -1;
    if (kill_io_of_lost_source(w, t, dl)) /* a failover: its IO thread may still wait on the lost primary */
        io_kill_settle(w);
    if (run_stmt(w, t, DIALECT_STMT_STOP_REPLICA, "STOP REPLICA", dl, msg) < 0 || !(c = caps_of(w, t, dl, msg)))
        return -1;
    if (dialect_stmt_change_source(c, src->addr.host, src->addr.port, w->creds.repl_user, w->creds.repl_password, 1,
                                   w->creds.heartbeat_period_ms > 0 ? w->creds.heartbeat_period_ms / 1000.0 : -1.0,
                                   &w->creds.repl_ssl, &sql, e2, sizeof(e2)) < 0) {
        strbuf_setf(msg, "%s", e2);
        goto out;
    }
    /* Never echo the statement: it holds the replication password. */
    if (run_sql_as(w, &t->addr, sql,
                   c->source_syntax ? "CHANGE REPLICATION SOURCE TO ..." : "CHANGE MASTER TO ...",
                   w->creds.repl_password, dl, NULL, msg) < 0)
        goto out;
    io_done_clear(w, &t->addr); /* its IO thread starts, towards src */
    if (run_stmt(w, t, DIALECT_STMT_START_REPLICA, "START REPLICA", dl, msg) < 0)
        goto out;
    rc = 0;
out:
    if (sql) {
        explicit_bzero(sql, strlen(sql)); /* held the replication password */
        free(sql);
    }
    return rc;
}

static int step_catch_up(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char as[TOPO_ADDR_MAX];
    if (change_source(w, &s->target, &s->source, dl, msg) < 0)
        return -1;
    if (wait_applied(w, &s->target, s->gtid, dl, msg) < 0)
        return -1;
    if (run_stmt(w, &s->target, DIALECT_STMT_STOP_REPLICA, "STOP REPLICA", dl + 1000, msg) < 0)
        return -1;
    strbuf_setf(msg, "caught up from %s to %s", topo_addr_str(&s->source.addr, as, sizeof(as)),
             s->gtid ? s->gtid : "(nothing)");
    return 0;
}

/* Semi-sync switch of one side (source: the primary's, else the replica's), in the spelling t's plugin has. */
static int set_semisync(worker *w, const plan_server *t, bool source, bool on, int64_t dl, strbuf *msg)
{
    dialect_stmt k = source ? (on ? DIALECT_STMT_SEMISYNC_SOURCE_ON : DIALECT_STMT_SEMISYNC_SOURCE_OFF)
                            : (on ? DIALECT_STMT_SEMISYNC_REPLICA_ON : DIALECT_STMT_SEMISYNC_REPLICA_OFF);
    return run_stmt(w, t, k, "semi-sync", dl, msg);
}

static int step_detach(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    const dialect_caps *c = caps_of(w, &s->target, dl, msg);
    if (!c)
        return -1;
    if (c->semisync_off_before_stop) {
        /* A primary does not need its semi-sync replica side. (Turning it off does not
         * shorten the stop of an IO thread already running: measured on 10.11.19, the
         * thread still connects to its source; kill_io_of_lost_source() does.) Best effort. */
        strbuf e2 = STRBUF_INIT;
        set_semisync(w, &s->target, false, false, dl, &e2);
        strbuf_free(&e2);
    }
    if (kill_io_of_lost_source(w, &s->target, dl)) /* still running (a catch-up plan) */
        io_kill_settle(w);
    if (run_stmt(w, &s->target, DIALECT_STMT_STOP_REPLICA, "STOP REPLICA", dl, msg) < 0 ||
        run_stmt(w, &s->target, DIALECT_STMT_RESET_REPLICA_ALL, "RESET REPLICA ALL", dl, msg) < 0)
        return -1;
    strbuf_setf(msg, "replication stopped and reset");
    return 0;
}

/* *gtid: the new primary's position once writable (heap; NULL when it could not be read). */
static int step_set_writable(worker *w, const plan_step *s, int64_t dl, strbuf *msg, char **gtid)
{
    char sql[128];
    strbuf why = STRBUF_INIT;
    *gtid = NULL;
    if (run_stmt(w, &s->target, DIALECT_STMT_READ_ONLY_OFF, "read-only", dl, msg) < 0)
        return -1;
    if (stmt_for(w, &s->target, DIALECT_STMT_OWN_GTID, "GTID position", dl, sql, sizeof(sql), &why) < 0 ||
        query_value(w, &s->target.addr, sql, dl + 1000, gtid, &why) < 0) {
        /* Writable all the same: the position is unknown, never a guess. */
        strbuf_setf(msg, "writable (read_only off); its position could not be read: %s", strbuf_str(&why));
        strbuf_free(&why);
        return 0;
    }
    strbuf_free(&why);
    strbuf_setf(msg, "writable (read_only off) at %s", **gtid ? *gtid : "(empty position)");
    return 0;
}

static int step_semi_sync(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    if (set_semisync(w, &s->target, true, true, dl, msg) < 0)
        return -1;
    strbuf_setf(msg, "semi-sync source side enabled");
    return 0;
}

/*
 * Best effort: when src has semi-sync on (source side), turn t's replica side on, so
 * t acknowledges once it replicates from src (it takes effect when change_source
 * restarts the IO thread). src is asked until qdl, t is changed until dl.
 */
static void ack_like_source(worker *w, const plan_server *t, const plan_server *src, int64_t qdl, int64_t dl)
{
    char *val = NULL, q[96];
    strbuf e2 = STRBUF_INIT;
    if (stmt_for(w, src, DIALECT_STMT_SEMISYNC_SOURCE_ENABLED, "semi-sync query", qdl, q, sizeof(q), &e2) == 0 &&
        query_value(w, &src->addr, q, qdl, &val, &e2) == 0 && val && !strcmp(val, "1"))
        set_semisync(w, t, false, true, dl, &e2);
    free(val);
    strbuf_free(&e2);
}

static int step_repoint(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char as[TOPO_ADDR_MAX];
    {
        /* A replica whose semi-sync side was turned off (a failover candidate that was
         * detached, then rolled back) would otherwise leave the new primary's commits
         * waiting for acknowledgements nobody sends (fault scenario 10). A dead or hung
         * source is asked for at most 1 s. */
        int64_t qdl = clk_mono_ms() + 1000 < dl ? clk_mono_ms() + 1000 : dl;
        ack_like_source(w, &s->target, &s->source, qdl, dl);
    }
    if (change_source(w, &s->target, &s->source, dl, msg) < 0)
        return -1;
    strbuf_setf(msg, "replicates from %s by GTID", topo_addr_str(&s->source.addr, as, sizeof(as)));
    return 0;
}

/*
 * After a rollback: wait (until dl) for t to replicate from src with both threads
 * running; msg says the state it was left in either way. 0 replicating, -1 not.
 */
static int replication_state(worker *w, const plan_server *t, const plan_server *src, int64_t dl, strbuf *msg)
{
    char as[TOPO_ADDR_MAX];
    for (;;) {
        topo_snapshot snap;
        int rc;
        memset(&snap, 0, sizeof(snap));
        rc = replica_status(w, t, dl, &snap, msg);
        if (rc == 0 && snap.replica.present && topo_addr_eq(&snap.replica.source, &src->addr) &&
            snap.replica.io_state == TOPO_THREAD_YES && snap.replica.sql_state == TOPO_THREAD_YES) {
            strbuf_setf(msg, "replicates from %s again (io=Yes sql=Yes)", topo_addr_str(&src->addr, as, sizeof(as)));
            topo_snapshot_clear(&snap);
            return 0;
        }
        if (clk_mono_ms() + 50 >= dl) {
            if (rc == 0)
                strbuf_setf(msg, "left pointing at %s with io=%s sql=%s",
                            snap.replica.present ? topo_addr_str(&snap.replica.source, as, sizeof(as)) : "nothing",
                            topo_thread_state_name(snap.replica.io_state),
                            topo_thread_state_name(snap.replica.sql_state));
            topo_snapshot_clear(&snap);
            return -1;
        }
        topo_snapshot_clear(&snap);
        usleep(50 * 1000);
    }
}

static int step_verify(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char as[TOPO_ADDR_MAX];
    for (;;) {
        topo_snapshot snap;
        int rc;
        memset(&snap, 0, sizeof(snap));
        rc = replica_status(w, &s->target, dl, &snap, msg);
        if (rc == 0 && snap.replica.present && snap.replica.io_state == TOPO_THREAD_YES &&
            snap.replica.sql_state == TOPO_THREAD_YES && topo_addr_eq(&snap.replica.source, &s->source.addr)) {
            strbuf_setf(msg, "replicating from %s (io=Yes sql=Yes)", topo_addr_str(&s->source.addr, as, sizeof(as)));
            topo_snapshot_clear(&snap);
            return 0;
        }
        if (clk_mono_ms() + 20 >= dl) {
            if (rc == 0)
                strbuf_setf(msg, "%s does not replicate: io=%s sql=%s%s%s%s%s",
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

/*
 * A slow KILL is left running, not waited for. KILL CONNECTION returns once the server has
 * woken the session; for a session in SELECT SLEEP() MariaDB 10.11 sometimes takes exactly
 * 2 s (the wake-up retries the wait's mutex and gives up), and while such a KILL runs, the
 * KILLs of the other sleeping sessions take up to 2 s as well, ending about when it does.
 * Waited for one after another, 1-2 of them per fence were usual in
 * integration.test_fence_semisync (the fence step took 2-4 s), and three used up the 5 s
 * step (1 run in 10). So the KILLs of a round go out one at a time on the worker's
 * connection, and one that has not returned after KILL_SLOW_MS stays running on that
 * connection, which leaves the worker's cache (the next KILL gets a new one). The server
 * carries it out whether or not anyone waits, and the session already shows as Killed to
 * the next round's listing. Up to KILL_PARKED run this way (each holds a connection to the
 * server; beyond that the next KILL waits for one of them to return), and
 * kill_conns_close() counts those that returned and closes the rest. The fence in that test
 * now takes 0.07-0.7 s, 2.2 s once in 20 runs (32 parked).
 */
#define KILL_PARKED 32
#define KILL_SLOW_MS 20

typedef struct {
    MYSQL *m;
    int status, qerr;
    unsigned long long id;      /* the session its KILL ends */
} kill_parked;

typedef struct {
    kill_parked v[KILL_PARKED];
    size_t n;
    int late;                   /* parked KILLs that finished (the session ended) */
} kill_conns;

/* Finish the parked KILLs that are done, waiting up to wait_ms for one to be (0: not at all). */
static void kill_reap(kill_conns *k, int64_t wait_ms)
{
    struct pollfd p[KILL_PARKED];
    size_t n = k->n;
    int r;
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = (int)mysql_get_socket(k->v[i].m), .events = poll_events(k->v[i].status)};
    do
        r = poll(p, n, (int)(wait_ms > 0 ? wait_ms : 0));
    while (r < 0 && errno == EINTR);
    for (size_t i = n; r > 0 && i-- > 0;) { /* from the end: a finished one takes the last one's place */
        kill_parked *x = &k->v[i];
        if (wait_events(p[i].revents))
            x->status = mysql_real_query_cont(&x->qerr, x->m, wait_events(p[i].revents));
        if (x->status)
            continue;
        k->late += !x->qerr;
        close_mysql(x->m);
        k->v[i] = k->v[--k->n];
    }
}

/* All KILL_PARKED are parked: wait until one finishes (reaped), or dl. */
static void kill_wait_slot(kill_conns *k, int64_t dl)
{
    while (k->n == KILL_PARKED && clk_mono_ms() < dl)
        kill_reap(k, dl - clk_mono_ms());
}

/*
 * The end of the step: *killed grows by the parked KILLs that finished; `more` gets
 * ", N more KILLs sent that had not returned" for those still running (else ""), which are
 * closed (the server carries the KILL out all the same).
 */
static void kill_conns_close(kill_conns *k, int *killed, char *more, size_t len)
{
    kill_reap(k, 0);
    *killed += k->late;
    k->late = 0;
    if (more && len)
        more[0] = '\0';
    if (more && k->n)
        snprintf(more, len, ", %zu more KILL%s sent that had not returned", k->n, k->n == 1 ? "" : "s");
    for (size_t i = 0; i < k->n; i++)
        close_mysql(k->v[i].m);
    k->n = 0;
}

/* Take the worker's connection to a out of its cache, open (it carries a statement in flight). */
static MYSQL *detach_conn(worker *w, const topo_addr *a)
{
    for (size_t i = 0; i < w->n_conns; i++)
        if (topo_addr_eq(&w->conns[i].addr, a)) {
            MYSQL *m = w->conns[i].m;
            w->conns[i] = w->conns[--w->n_conns];
            return m;
        }
    return NULL;
}

/*
 * KILL CONNECTION of one session on the worker's connection to a: 1 ended, 0 not (an error,
 * e.g. 1094 Unknown thread id: it ended on its own; or out of time), 2 still running and
 * parked in k (see above).
 */
static int kill_one(worker *w, kill_conns *k, const topo_addr *a, const char *sql, unsigned long long id, int64_t dl)
{
    char cerr[1400];
    int qerr = 0, status;
    int64_t slow_at = clk_mono_ms() + KILL_SLOW_MS;
    MYSQL *m;
    kill_wait_slot(k, dl);
    if (!(m = get_conn(w, a, (int)(dl - clk_mono_ms()), cerr, sizeof(cerr))))
        return 0;
    status = mysql_real_query_start(&qerr, m, sql, (unsigned long)strlen(sql));
    while (status) {
        bool park = k->n < KILL_PARKED;
        int64_t until = park && slow_at < dl ? slow_at : dl, left = until - clk_mono_ms();
        struct pollfd p = {.fd = (int)mysql_get_socket(m), .events = poll_events(status)};
        int r = 0;
        if (left > 0)
            do
                r = poll(&p, 1, (int)left);
            while (r < 0 && errno == EINTR);
        if (r > 0) {
            status = mysql_real_query_cont(&qerr, m, wait_events(p.revents));
            continue;
        }
        if (r < 0 || clk_mono_ms() >= dl) { /* out of time: the connection is left mid-statement */
            drop_conn(w, a);
            return 0;
        }
        if (park && clk_mono_ms() >= slow_at) {
            k->v[k->n++] = (kill_parked){.m = detach_conn(w, a), .status = status, .qerr = qerr, .id = id};
            return 2;
        }
    }
    if (qerr) {
        if (mysql_errno(m) >= 2000) /* client-side: the connection is unusable */
            drop_conn(w, a);
        return 0;
    }
    return 1;
}

/*
 * KILL CONNECTION of the n sessions ids[] until dl, one after another (a slow one parked in
 * k). Returns how many ended; *left grows by how many of those not ended wait for a semi-sync
 * acknowledgement (waits[]): a parked KILL's session counts as not ended yet.
 */
static int kill_ids(worker *w, kill_conns *k, const plan_server *t, const dialect_caps *c,
                    const unsigned long long *ids, const bool *waits, size_t n, int64_t dl, int *left)
{
    int killed = 0;
    kill_reap(k, 0);
    for (size_t j = 0; j < n; j++) {
        char sql[64];
        bool parked = false;
        for (size_t i = 0; i < k->n && !parked; i++)
            parked = k->v[i].id == ids[j]; /* its KILL still runs: not sent twice */
        if (parked || clk_mono_ms() >= dl || dialect_stmt_kill(c, ids[j], sql, sizeof(sql)) < 0) {
            *left += waits[j];
            continue;
        }
        if (kill_one(w, k, &t->addr, sql, ids[j], dl) == 1)
            killed++;
        else
            *left += waits[j];
    }
    return killed;
}

/*
 * End client sessions: everything but replication threads, system threads and ourselves
 * (KILL CONNECTION: the server shuts the session's socket down at once, so a commit of it
 * that was waiting for a semi-sync acknowledgement ends without its client ever getting
 * the OK). With awaiting != NULL it gets how many sessions of the listing still wait for an
 * acknowledgement (not a client session, or the KILL failed), -1 when the listing failed.
 */
static int kill_clients(worker *w, kill_conns *k, const plan_server *t, int64_t dl, strbuf *msg, int *awaiting)
{
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    int killed = 0, left = 0;
    char sql[160];
    unsigned long long *ids = NULL;
    bool *waits = NULL;
    size_t n = 0;
    const dialect_caps *c = caps_of(w, t, dl, msg);
    if (awaiting)
        *awaiting = -1;
    if (!c || built(dialect_stmt_text(c, DIALECT_STMT_SESSIONS, sql, sizeof(sql)), "session list", msg) < 0)
        return 0;
    if (run_sql(w, &t->addr, sql, dl, &r, msg) < 0 || !r)
        return 0;
    if (mysql_num_rows(r) && (!(ids = calloc((size_t)mysql_num_rows(r), sizeof(*ids))) ||
                              !(waits = calloc((size_t)mysql_num_rows(r), sizeof(*waits))))) {
        strbuf_setf(msg, "out of memory listing %llu sessions", (unsigned long long)mysql_num_rows(r));
        goto out;
    }
    while ((row = mysql_fetch_row(r))) {
        char *end = NULL;
        unsigned long long id;
        bool w8 = mysql_num_fields(r) > 3 && dialect_session_awaits_ack(row[3]) &&
                  !(row[2] && !strcmp(row[2], "Killed"));
        if (!dialect_session_is_client(c, row[1], row[2], w->creds.user) || !row[0] || !*row[0] ||
            strspn(row[0], "0123456789") != strlen(row[0])) {
            left += w8;
            continue; /* not a client session, or not a connection id */
        }
        errno = 0;
        id = strtoull(row[0], &end, 10);
        if (errno || (end && *end)) {
            left += w8;
            continue;
        }
        ids[n] = id;
        waits[n++] = w8;
    }
    killed = kill_ids(w, k, t, c, ids, waits, n, dl, &left);
    if (awaiting)
        *awaiting = left;
out:
    free(ids);
    free(waits);
    mysql_free_result(r);
    return killed;
}

/* How many sessions of t (any user) wait for a semi-sync acknowledgement: >= 0, or -1 with msg set. */
static int awaiting_acks(worker *w, const plan_server *t, int64_t dl, strbuf *msg)
{
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    char sql[160];
    int n = 0;
    const dialect_caps *c = caps_of(w, t, dl, msg);
    if (!c || built(dialect_stmt_text(c, DIALECT_STMT_SESSIONS, sql, sizeof(sql)), "session list", msg) < 0 ||
        run_sql(w, &t->addr, sql, dl, &r, msg) < 0)
        return -1;
    while (r && mysql_num_fields(r) > 3 && (row = mysql_fetch_row(r)))
        n += dialect_session_awaits_ack(row[3]) && !(row[2] && !strcmp(row[2], "Killed"));
    if (r)
        mysql_free_result(r);
    return n;
}

/*
 * Read-only on or off. On: SET GLOBAL read_only waits for sessions holding
 * table locks or open transactions (MariaDB KB "read_only"; MySQL 8.0/8.4
 * 7.1.8 "Server System Variables", read_only), for lock_wait_timeout (a year
 * by default): the wait is bounded by the step's deadline first.
 */
static int set_read_only(worker *w, const plan_server *t, bool on, int64_t dl, strbuf *msg)
{
    char sql[128];
    const dialect_caps *c = caps_of(w, t, dl, msg);
    if (!c)
        return -1;
    if (on && (built(dialect_stmt_lock_wait_timeout(c, dl - clk_mono_ms(), sql, sizeof(sql)), "lock wait", msg) < 0 ||
               run_sql(w, &t->addr, sql, dl, NULL, msg) < 0))
        return -1;
    if (built(dialect_stmt_text(c, on ? DIALECT_STMT_READ_ONLY_ON : DIALECT_STMT_READ_ONLY_OFF, sql, sizeof(sql)),
              "read-only", msg) < 0)
        return -1;
    return run_sql(w, &t->addr, sql, dl, NULL, msg) < 0 ? -1 : 0;
}

/*
 * The fence's read-only request, left pending on a second connection while the first one
 * ends client sessions. SET GLOBAL read_only waits for the statements and commits in
 * flight (a commit waiting for a semi-sync acknowledgement among them), and while it
 * waits, every new write waits behind it ("Waiting for backup lock"): a client that
 * reconnects after its session was ended cannot start a commit that the fence would then
 * have to end again, and the request completes as soon as the last session holding it
 * back is ended.
 */
typedef struct {
    MYSQL *m;
    int status; /* the pending operation's wait mask, 0 when the statement finished */
    int qerr;
} ro_barrier;

/* Start it: 0, or -1 (b->m NULL: the fence goes on without it, only slower to converge). */
static int barrier_start(worker *w, const plan_server *t, int64_t dl, ro_barrier *b)
{
    char sql[128], lw[128], err[512];
    const dialect_caps *c;
    strbuf e = STRBUF_INIT;

    memset(b, 0, sizeof(*b));
    c = caps_of(w, t, dl, &e);
    strbuf_free(&e);
    if (!c || dialect_stmt_text(c, DIALECT_STMT_READ_ONLY_ON, sql, sizeof(sql)) < 0 ||
        dialect_stmt_lock_wait_timeout(c, dl - clk_mono_ms(), lw, sizeof(lw)) < 0 ||
        !(b->m = open_conn(w, &t->addr, (int)(dl - clk_mono_ms()), err, sizeof(err))))
        return -1;
    /* Bounded by the step: a request left queued after the fence gave up would hold every write back. */
    if (exec_discard(b->m, lw, dl) < 0) {
        close_mysql(b->m);
        b->m = NULL;
        return -1;
    }
    b->status = mysql_real_query_start(&b->qerr, b->m, sql, (unsigned long)strlen(sql));
    return 0;
}

/* Drive it until `until`: 1 read-only is set, 0 still waiting, -1 it failed. */
static int barrier_poll(ro_barrier *b, int64_t until)
{
    if (!b->m)
        return -1;
    while (b->status && clk_mono_ms() < until)
        b->status = mysql_real_query_cont(&b->qerr, b->m, wait_io(b->m, b->status, until));
    if (b->status)
        return 0;
    return b->qerr ? -1 : 1;
}

static void barrier_end(ro_barrier *b)
{
    close_mysql(b->m); /* a request still pending is ended by its lock_wait_timeout at the latest */
    b->m = NULL;
}

/*
 * Fence: read-only, client sessions ended, and no commit left waiting for a semi-sync
 * acknowledgement. The invariant that keeps acknowledged rows on the new primary: a commit
 * waiting on the old primary ends only by KILL CONNECTION of its session, which never
 * reaches the client as an OK. The fence never turns the source side off nor shortens its
 * timeout: either ends every waiting commit with an OK to clients still connected (fault
 * scenario 19: the local writers of a cut-off old primary reconnected after the first round
 * of kills, committed again, and got OKs when the fence turned semi-sync off: 3 rows the
 * new primary never had). Order: queue the read-only request (no new write starts), end
 * the client sessions (which also ends the waits holding the request back) until it is
 * set, then end whatever got in before it and check that nothing still waits.
 */
static int step_fence(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char as[TOPO_ADDR_MAX], more[96];
    ro_barrier b;
    kill_conns k = {0};
    int killed = 0, awaiting = -1, rc = -1;

    topo_addr_str(&s->target.addr, as, sizeof(as));
    if (barrier_start(w, &s->target, dl, &b) == 0)
        barrier_poll(&b, clk_mono_ms() + 50); /* let it reach the server and queue (it may just finish) */
    for (;;) {
        killed += kill_clients(w, &k, &s->target, dl, msg, NULL);
        if (barrier_poll(&b, dl < clk_mono_ms() + 100 ? dl : clk_mono_ms() + 100) != 0 || clk_mono_ms() >= dl)
            break;
    }
    barrier_end(&b);
    if (set_read_only(w, &s->target, true, dl, msg) < 0)
        goto out;
    for (;;) {
        killed += kill_clients(w, &k, &s->target, dl, msg, &awaiting);
        if (awaiting == 0)
            break;
        if (clk_mono_ms() + 50 >= dl) {
            if (awaiting < 0) {
                char *why = strdup(strbuf_str(msg));
                strbuf_setf(msg, "%s is read-only but its sessions could not be listed: %s", as,
                            why ? why : "(out of memory)");
                free(why);
            } else
                strbuf_setf(msg, "%s is read-only but %d session%s still wait%s for a semi-sync acknowledgement "
                                 "(not client sessions the fence ends; left waiting: ending the wait would "
                                 "answer OK to a commit the new primary lacks)",
                            as, awaiting, awaiting == 1 ? "" : "s", awaiting == 1 ? "s" : "");
            goto out;
        }
        usleep(50 * 1000);
    }
    kill_conns_close(&k, &killed, more, sizeof(more));
    strbuf_setf(msg, "%s read-only, %d client session%s killed%s, none waiting for a semi-sync acknowledgement", as,
                killed, killed == 1 ? "" : "s", more);
    rc = 0;
out:
    kill_conns_close(&k, &killed, NULL, 0);
    return rc;
}

/*
 * Relocate: what the replica applied from upstream must be (or, within the
 * step's time, become) part of the new source's binary log; otherwise the new
 * source could not serve it. Read fresh from both servers, not from snapshots.
 */
static int step_check_source(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char *mine = NULL, *theirs = NULL, as[TOPO_ADDR_MAX], ts[TOPO_ADDR_MAX], q_mine[128], q_theirs[128];
    const dialect_caps *c = caps_of(w, &s->target, dl, msg);
    gtid_kind kind;
    int rc = -1;
    if (!c)
        return -1;
    kind = c->gtid;
    if (stmt_for(w, &s->target, DIALECT_STMT_APPLIED_GTID, "GTID position", dl, q_mine, sizeof(q_mine), msg) < 0 ||
        stmt_for(w, &s->source, DIALECT_STMT_OWN_GTID, "GTID position", dl, q_theirs, sizeof(q_theirs), msg) < 0 ||
        query_value(w, &s->target.addr, q_mine, dl, &mine, msg) < 0)
        return -1;
    for (;;) {
        char *extra = NULL, e2[256];
        free(theirs);
        if (query_value(w, &s->source.addr, q_theirs, dl, &theirs, msg) < 0)
            goto out;
        if (gtid_text_errant(kind, mine, theirs, &extra, e2, sizeof(e2)) < 0) {
            strbuf_setf(msg, "cannot compare positions: %s", e2);
            free(extra);
            goto out;
        }
        if (!*extra) {
            free(extra);
            strbuf_setf(msg, "%s has everything %s applied", topo_addr_str(&s->source.addr, as, sizeof(as)),
                        topo_addr_str(&s->target.addr, ts, sizeof(ts)));
            rc = 0;
            goto out;
        }
        if (clk_mono_ms() + 100 >= dl) {
            strbuf_setf(msg, "%s lacks transactions %s has: %s (it could not serve them; relocate refused)",
                        topo_addr_str(&s->source.addr, as, sizeof(as)), topo_addr_str(&s->target.addr, ts, sizeof(ts)),
                        extra);
            free(extra);
            goto out;
        }
        free(extra);
        usleep(100 * 1000); /* a source replicating from upstream may still be catching up */
    }
out:
    free(mine);
    free(theirs);
    return rc;
}

/* Switchover: refuse while a write transaction has been running longer than the bound. */
static int step_check_trx(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char sql[512];
    MYSQL_RES *r = NULL;
    MYSQL_ROW row;
    int rc = 0;
    if (fmt_checked(sql, sizeof(sql), NULL, 0, "transaction check", 
             "SELECT trx_mysql_thread_id, TIMESTAMPDIFF(SECOND, trx_started, NOW()), trx_rows_modified "
             "FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0 AND "
             "trx_started < NOW() - INTERVAL %d SECOND ORDER BY trx_started LIMIT 1",
             s->limit_s > 0 ? s->limit_s : 0) < 0)
        return built(-EOVERFLOW, "transaction check", msg);
    if (run_sql(w, &s->target.addr, sql, dl, &r, msg) < 0)
        return -1;
    if (r && (row = mysql_fetch_row(r))) {
        strbuf_setf(msg, "a write transaction (connection %s) has run for %s s and modified %s rows, over the "
                 "%d s bound: refusing to switch over now (wait for it or end it)", row[0] ? row[0] : "?",
                 row[1] ? row[1] : "?", row[2] ? row[2] : "?", s->limit_s);
        rc = -1;
    } else {
        strbuf_setf(msg, "no write transaction older than %d s", s->limit_s);
    }
    if (r)
        mysql_free_result(r);
    return rc;
}

/* Switchover: stop writes on the old primary and capture its final position. */
static int step_demote(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char as[TOPO_ADDR_MAX], *pos = NULL, sql[128], more[96];
    kill_conns k = {0};
    int killed, rc = -1;
    /*
     * The fence's order: end the client sessions first, so none holds a table lock or an open
     * transaction that SET GLOBAL read_only would wait for (set_read_only bounds that wait by
     * the step's deadline all the same), then read-only, then end whatever connected meanwhile.
     * The final position is read after read-only: it holds every write that was accepted.
     */
    killed = kill_clients(w, &k, &s->target, dl, msg, NULL);
    if (set_read_only(w, &s->target, true, dl, msg) < 0)
        goto out;
    killed += kill_clients(w, &k, &s->target, dl, msg, NULL);
    if (stmt_for(w, &s->target, DIALECT_STMT_OWN_GTID, "GTID position", dl, sql, sizeof(sql), msg) < 0 ||
        query_value(w, &s->target.addr, sql, dl, &pos, msg) < 0)
        goto out;
    free(w->frozen_gtid);
    w->frozen_gtid = pos;
    kill_conns_close(&k, &killed, more, sizeof(more));
    strbuf_setf(msg, "%s read-only, %d client session%s ended%s, final position %s",
                topo_addr_str(&s->target.addr, as, sizeof(as)), killed, killed == 1 ? "" : "s", more,
                *pos ? pos : "(empty)");
    rc = 0;
out:
    kill_conns_close(&k, &killed, NULL, 0);
    return rc;
}

static int step_rejoin(worker *w, const plan_step *s, int64_t dl, strbuf *msg)
{
    char as[TOPO_ADDR_MAX];
    plan_step v = *s;
    const dialect_caps *c = caps_of(w, &s->target, dl, msg);
    if (!c)
        return -1;
    if (c->mariadb_gtid) {
        /* Its own transactions are in its binlog, not in gtid_slave_pos: start from there. */
        if (run_stmt(w, &s->target, DIALECT_STMT_STOP_REPLICA, "STOP REPLICA", dl, msg) < 0 ||
            run_stmt(w, &s->target, DIALECT_STMT_SLAVE_POS_FROM_BINLOG, "gtid_slave_pos", dl, msg) < 0)
            return -1;
    }
    {
        /* A replica's own commits (its applier's, with log_slave_updates) must not wait
         * for acknowledgements: a demoted semi-sync primary left as a source would stall
         * its applier for rpl_semi_sync_master_timeout (no replica of its own acks). */
        strbuf e2 = STRBUF_INIT;
        int waiting = awaiting_acks(w, &s->target, dl, &e2);
        if (waiting != 0) {
            /* Turning the source side off would answer those commits OK: a row the new primary lacks. */
            if (waiting < 0)
                strbuf_setf(msg, "cannot tell whether commits on %s wait for a semi-sync acknowledgement: %s",
                            topo_addr_str(&s->target.addr, as, sizeof(as)), strbuf_str(&e2));
            else
                strbuf_setf(msg, "%d commit%s on %s still wait%s for a semi-sync acknowledgement: not turning its "
                                 "source side off (that would answer them OK); fence it first",
                            waiting, waiting == 1 ? "" : "s", topo_addr_str(&s->target.addr, as, sizeof(as)),
                            waiting == 1 ? "s" : "");
            strbuf_free(&e2);
            return -1;
        }
        set_semisync(w, &s->target, true, false, dl, &e2); /* best effort: absent without the plugin */
        strbuf_free(&e2);
        /* Semi-sync: a server rejoining below a semi-sync primary acknowledges too. */
        ack_like_source(w, &s->target, &s->source, dl, dl);
    }
    if (change_source(w, &s->target, &s->source, dl, msg) < 0)
        return -1;
    v.kind = PLAN_STEP_VERIFY;
    if (step_verify(w, &v, dl, msg) < 0)
        return -1;
    {
        char src[TOPO_ADDR_MAX];
        strbuf_setf(msg, "%s rejoined as a replica of %s", topo_addr_str(&s->target.addr, as, sizeof(as)),
                 topo_addr_str(&s->source.addr, src, sizeof(src)));
    }
    return 0;
}

static int step_hook(worker *w, const plan_step *s, strbuf *msg);

/*
 * One message, its texts copied whole into one heap block (the block is the
 * queue node; m->storage_ owns it). Out of memory: wait and try again, since
 * a lost step end would leave the loop waiting for a step that finished.
 */
static void emit_full(worker *w, exec_msg_kind kind, int step, int ok, int aborted, const char *msg,
                      const char *gtid)
{
    size_t ml = msg ? strlen(msg) : 0, gl = gtid ? strlen(gtid) : 0;
    queued *q;
    char *t;
    while (!(q = malloc(sizeof(*q) + ml + 1 + gl + 1)))
        usleep(10 * 1000);
    memset(q, 0, sizeof(*q));
    t = (char *)(q + 1);
    memcpy(t, msg ? msg : "", ml + 1);
    memcpy(t + ml + 1, gtid ? gtid : "", gl + 1);
    q->m.kind = kind;
    q->m.step = step;
    q->m.ok = ok;
    q->m.aborted = aborted;
    q->m.at_ms = clk_wall_ms();
    q->m.message = t;
    q->m.gtid = t + ml + 1;
    q->m.storage_ = q;
    w->emit(w->user, q);
}

static void emit(worker *w, exec_msg_kind kind, int step, int ok, const char *msg, const char *gtid)
{
    emit_full(w, kind, step, ok, 0, msg, gtid);
}

/* DONE of a failover stopped by rec_exec_stop() before step `before`. */
static void emit_stopped(worker *w, int before, const char *message)
{
    size_t ml = strlen(message);
    queued *q;
    char *t;
    while (!(q = malloc(sizeof(*q) + ml + 2)))
        usleep(10 * 1000);
    memset(q, 0, sizeof(*q));
    t = (char *)(q + 1);
    memcpy(t, message, ml + 1);
    t[ml + 1] = '\0';
    q->m.kind = EXEC_DONE;
    q->m.step = before;
    q->m.stopped = 1;
    q->m.at_ms = clk_wall_ms();
    q->m.message = t;
    q->m.gtid = t + ml + 1;
    q->m.storage_ = q;
    w->emit(w->user, q);
}

/* One step of a plan, by its kind: 0 done, < 0 failed (msg says why; *gtid: the position
 * a promotion left, heap). */
static int run_step(worker *w, const plan_step *s, int64_t dl, strbuf *msg, char **gtid)
{
    int rc = -1;
    switch (s->kind) {
    case PLAN_STEP_STOP_IO:
        if (w->plan.op == REC_OP_FAILOVER && !w->io_kills_done)
            connect_all(w, dl);
        kill_lost_io_threads(w, dl);
        prestop_io(w);
        rc = step_stop_io(w, s, dl, msg);
        break;
    case PLAN_STEP_START_IO: rc = step_start_io(w, s, dl, msg); break;
    case PLAN_STEP_WAIT_APPLY: rc = wait_applied(w, &s->target, s->gtid, dl, msg); break;
    case PLAN_STEP_CATCH_UP: rc = step_catch_up(w, s, dl, msg); break;
    case PLAN_STEP_DETACH: rc = step_detach(w, s, dl, msg); break;
    case PLAN_STEP_SET_WRITABLE:
        rc = step_set_writable(w, s, dl, msg, gtid);
        if (rc == 0 && *gtid) {
            free(w->promoted_gtid);
            w->promoted_gtid = strdup(*gtid);
            if (!w->promoted_gtid) {
                strbuf_setf(msg, "writable, but out of memory keeping its position");
                free(*gtid);
                *gtid = NULL;
            }
        }
        break;
    case PLAN_STEP_SEMI_SYNC_SOURCE: rc = step_semi_sync(w, s, dl, msg); break;
    case PLAN_STEP_REPOINT: rc = step_repoint(w, s, dl, msg); break;
    case PLAN_STEP_VERIFY: rc = step_verify(w, s, dl, msg); break;
    case PLAN_STEP_FENCE: rc = step_fence(w, s, dl, msg); break;
    case PLAN_STEP_REJOIN: rc = step_rejoin(w, s, dl, msg); break;
    case PLAN_STEP_CHECK_TRX: rc = step_check_trx(w, s, dl, msg); break;
    case PLAN_STEP_DEMOTE: rc = step_demote(w, s, dl, msg); break;
    case PLAN_STEP_WAIT_CAUGHT_UP:
        rc = wait_applied(w, &s->target, w->frozen_gtid, dl, msg);
        break;
    case PLAN_STEP_UNDEMOTE:
        rc = set_read_only(w, &s->target, false, dl, msg);
        if (rc == 0)
            strbuf_setf(msg, "writable again");
        break;
    case PLAN_STEP_HOOK:
        rc = step_hook(w, s, msg);
        break;
    case PLAN_STEP_CHECK_SOURCE:
        rc = step_check_source(w, s, dl, msg);
        break;
    }
    return rc;
}

/* An aborted plan (before its point of no return): give back what its first done_steps
 * steps took, newest first, each rollback reported as EXEC_ROLLBACK. */
static void rollback_plan(worker *w, size_t done_steps, strbuf *msg)
{
    const plan_spec *p = &w->plan;
    /* Give back what the plan took, newest first: a detached switchover target
     * replicates from the old primary again, the old primary becomes writable
     * again, stopped IO threads start again (the candidate's too, when it was stopped
     * early and the plan did not get to detach it). */
    bool cand_detached = false;
    for (size_t i = 0; i < done_steps; i++)
        cand_detached |= p->v[i].kind == PLAN_STEP_DETACH;
    if (w->prestop_addr.port && !cand_detached) {
        plan_step st = {.kind = PLAN_STEP_START_IO};
        char as[TOPO_ADDR_MAX];
        strbuf line = STRBUF_INIT;
        int rc;
        st.target.addr = w->prestop_addr;
        for (size_t i = 0; i < p->n; i++)
            if (p->v[i].kind == PLAN_STEP_DETACH)
                st.target = p->v[i].target;
        strbuf_reset(msg);
        rc = step_start_io(w, &st, clk_mono_ms() + 5000, msg);
        strbuf_printf(&line, "%s: %s", topo_addr_str(&st.target.addr, as, sizeof(as)), strbuf_str(msg));
        emit(w, EXEC_ROLLBACK, -1, rc == 0,
             strbuf_error(&line) ? "(rollback message lost: out of memory)" : strbuf_str(&line), NULL);
        strbuf_free(&line);
    }
    for (size_t i = done_steps; i-- > 0;) {
        const plan_step *st = &p->v[i];
        int64_t dl = clk_mono_ms() + 5000;
        int rc;
        char as[TOPO_ADDR_MAX];
        strbuf line = STRBUF_INIT;
        strbuf_reset(msg);
        if (st->kind == PLAN_STEP_STOP_IO) {
            rc = step_start_io(w, st, dl, msg);
        } else if (st->kind == PLAN_STEP_DEMOTE) {
            rc = set_read_only(w, &st->target, false, dl, msg);
            if (rc == 0)
                strbuf_setf(msg, "writable again (switchover rolled back)");
        } else if (st->kind == PLAN_STEP_REPOINT && st->has_prev) {
            /* A relocate that failed: the replica replicates from its previous source
             * again; say in what state the server was left (checked, bounded). */
            rc = change_source(w, &st->target, &st->prev_source, dl, msg);
            if (rc == 0)
                rc = replication_state(w, &st->target, &st->prev_source, dl, msg);
        } else if (st->kind == PLAN_STEP_DETACH && p->op == REC_OP_SWITCHOVER) {
            rc = change_source(w, &st->target, &p->old_primary, dl, msg);
            if (rc == 0)
                strbuf_setf(msg, "replicates from %s again", topo_addr_str(&p->old_primary.addr, as, sizeof(as)));
        } else {
            continue;
        }
        strbuf_printf(&line, "%s: %s", topo_addr_str(&st->target.addr, as, sizeof(as)), strbuf_str(msg));
        emit(w, EXEC_ROLLBACK, -1, rc == 0,
             strbuf_error(&line) ? "(rollback message lost: out of memory)" : strbuf_str(&line), NULL);
        strbuf_free(&line);
    }
}

/* The shared journal's record of this boundary (exec_hooks.journal); 0 when there is none. */
static int journal_note(worker *w, const exec_journal *j, strbuf *msg)
{
    if (!w->hooks || !w->hooks->journal)
        return 0;
    strbuf_reset(msg);
    return w->hooks->journal(w->hooks->journal_user, &w->plan, j, msg);
}

/* The worker: run the plan's steps in order. Before the point of no return a failed
 * step aborts and the steps done are rolled back in reverse; after it, failures are
 * recorded and the plan goes on (run_step runs one, rollback_plan gives back what an
 * aborted plan took). In coordinated mode every step's intent is first written to the
 * shared journal under the fencing token (journal_note): refused before the point of no
 * return, the plan stops there and rolls back. */
static void run_plan(worker *w)
{
    bool past_no_return = false, failed = false, aborted = false, stopped = false, shutdown = false, fenced = false,
         fenced_out = false;
    size_t stopped_before = 0;
    strbuf msg = STRBUF_INIT;
    char *gtid = NULL;
    const plan_spec *p = &w->plan;
    unsigned char *results = calloc(p->n ? p->n : 1, 1);
    char *fence_note = NULL;

    size_t done_steps = 0;
    if (!results) {
        emit_full(w, EXEC_DONE, -1, 0, 1, "aborted before the point of no return: out of memory", NULL);
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        const plan_step *s = &p->v[i];
        int64_t dl;
        if (__atomic_load_n(&w->stop_requested, __ATOMIC_ACQUIRE)) {
            if (p->op == REC_OP_FAILOVER) {
                stopped = true;
                stopped_before = i;
                break;
            }
            if (!past_no_return) {
                failed = aborted = shutdown = true;
                break;
            }
        }
        {
            /* The step's intent goes to the shared journal, fenced: without the cluster's lock
             * nothing more is done before the point of no return, and it is never crossed. */
            exec_journal j = {.phase = "intent", .step = i, .ponr = past_no_return || s->no_return,
                              .results = results, .promoted_gtid = w->promoted_gtid ? w->promoted_gtid : ""};
            int jr = journal_note(w, &j, &msg);
            if (jr != 0) {
                if (!past_no_return) {
                    fenced_out = jr == -ESTALE;
                    char *why = strbuf_asprintf("not run: %s", strbuf_str(&msg));
                    emit(w, EXEC_STEP_START, (int)i, 1, NULL, NULL);
                    emit(w, EXEC_STEP_END, (int)i, 0, why ? why : "not run: the fencing check refused", NULL);
                    free(why);
                    results[i] = 2;
                    failed = aborted = fenced = true;
                    break;
                }
                free(fence_note);
                fence_note = strbuf_asprintf("%s", strbuf_str(&msg));
            }
        }
        dl = clk_mono_ms() + (s->timeout_ms > 0 ? s->timeout_ms : 5000);
        done_steps = i + 1;
        int rc = -1;
        strbuf_reset(&msg);
        free(gtid);
        gtid = NULL;
        emit(w, EXEC_STEP_START, (int)i, 1, NULL, NULL);
        rc = run_step(w, s, dl, &msg, &gtid);
        if (fence_note) { /* past the point of no return: noted, not obeyed */
            strbuf_printf(&msg, " (the fencing check refused, past the point of no return: %s)", fence_note);
            free(fence_note);
            fence_note = NULL;
        }
        if (rc != 0 && !(s->kind == PLAN_STEP_REPOINT && s->has_prev))
            done_steps = i; /* a failed step took nothing to give back (a repoint may have stopped the threads) */
        if (w->crash_after && strcmp(w->crash_after, plan_step_name(s->kind)) == 0)
            raise(SIGKILL);
        if (strbuf_error(&msg)) {
            /* The step's text could not be kept whole: say so rather than a shorter text. */
            int e = strbuf_error(&msg);
            strbuf_free(&msg);
            strbuf_setf(&msg, "(the step's message was lost: %s)", strerror(-e));
        }
        emit(w, EXEC_STEP_END, (int)i, rc == 0, strbuf_str(&msg), gtid);
        results[i] = rc == 0 ? 1 : 2;
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
    if (aborted && !fenced_out)
        rollback_plan(w, done_steps, &msg);
    {
        exec_journal j = {.phase = "end", .step = stopped ? stopped_before : p->n, .ponr = past_no_return,
                          .state = stopped ? "stopped" : aborted ? "aborted" : failed ? "failed" : "done",
                          .results = results, .promoted_gtid = w->promoted_gtid ? w->promoted_gtid : ""};
        (void)journal_note(w, &j, &msg); /* refused: the next lock holder judges from the servers */
    }
    free(results);
    free(fence_note);
    strbuf_free(&msg);
    free(gtid);
    if (stopped) {
        char why[160];
        snprintf(why, sizeof(why), "stopped by a controller shutdown before step %zu of %zu (%s)", stopped_before + 1,
                 p->n, plan_step_name(p->v[stopped_before].kind));
        emit_stopped(w, (int)stopped_before, why);
    } else
        emit_full(w, EXEC_DONE, -1, !failed, fenced_out ? 2 : aborted,
                  shutdown  ? "aborted by a controller shutdown before the point of no return"
                  : fenced_out ? "refused by the fencing check before the point of no return: another controller "
                                 "holds the cluster's lock (or nobody does) and settles what was done from the "
                                 "journal; nothing rolled back here"
                  : fenced  ? "refused by the fencing check before the point of no return: this controller may no "
                              "longer hold the cluster's lock"
                  : aborted ? "aborted before the point of no return"
                  : failed  ? "finished with failures"
                            : "finished",
                  NULL);
    for (size_t i = 0; i < w->n_conns; i++)
        close_mysql(w->conns[i].m);
    w->n_conns = 0;
    w->n_learned = 0;
    close_mysql(w->prestop); /* still pending only when nothing ran on the candidate after it */
    w->prestop = NULL;
    close_mysql(w->spare);
    w->spare = NULL;
}

/* ---- plumbing -------------------------------------------------------------------- */

void rec_exec_stop(exec_job *x)
{
    if (x)
        __atomic_store_n(&x->w.stop_requested, 1, __ATOMIC_RELEASE);
}

static void creds_free(exec_creds *c)
{
    if (c->password) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
    if (c->repl_password) {
        explicit_bzero(c->repl_password, strlen(c->repl_password));
        free(c->repl_password);
    }
    conn_params_free(&c->conn);
    free((char *)c->repl_ssl.ca);
    free((char *)c->repl_ssl.cert);
    free((char *)c->repl_ssl.key);
    memset(c, 0, sizeof(*c));
}

static int creds_copy(exec_creds *dst, const exec_creds *src)
{
    *dst = *src;
    memset(&dst->conn, 0, sizeof(dst->conn));
    dst->password = src->password ? strdup(src->password) : NULL;
    dst->repl_password = src->repl_password ? strdup(src->repl_password) : NULL;
    dst->repl_ssl.ca = src->repl_ssl.ca ? strdup(src->repl_ssl.ca) : NULL;
    dst->repl_ssl.cert = src->repl_ssl.cert ? strdup(src->repl_ssl.cert) : NULL;
    dst->repl_ssl.key = src->repl_ssl.key ? strdup(src->repl_ssl.key) : NULL;
    if ((src->password && !dst->password) || (src->repl_password && !dst->repl_password) ||
        (src->repl_ssl.ca && !dst->repl_ssl.ca) || (src->repl_ssl.cert && !dst->repl_ssl.cert) ||
        (src->repl_ssl.key && !dst->repl_ssl.key) || conn_params_copy(&dst->conn, &src->conn.p) < 0) {
        creds_free(dst);
        return -ENOMEM;
    }
    return 0;
}

/* Queue the message, then wake the loop with its id (8 bytes: pipe writes stay atomic). */
static void pipe_emit(void *user, queued *q)
{
    exec_job *x = user;
    ssize_t n;
    uint64_t id;
    pthread_mutex_lock(&x->lock);
    id = q->id = ++x->next_id;
    q->next = NULL;
    if (x->tail)
        x->tail->next = q;
    else
        x->head = q;
    x->tail = q;
    pthread_mutex_unlock(&x->lock);
    do
        n = write(x->pipe_wr, &id, sizeof(id));
    while (n < 0 && errno == EINTR);
}

void exec_msg_clear(exec_msg *m)
{
    if (m) {
        free(m->storage_);
        memset(m, 0, sizeof(*m));
    }
}

static void run_job(exec_job *x)
{
    run_plan(&x->w);
    free(x->w.frozen_gtid);
    free(x->w.promoted_gtid);
    x->w.frozen_gtid = x->w.promoted_gtid = NULL;
    close(x->pipe_wr);
    x->pipe_wr = -1;
}

/* A pool thread: plans from the queue until shutdown, or until POOL_IDLE_MAX others wait.
 * pool.idle counts it from its creation (pool_grow) whenever it runs no plan. */
static void *thread_main(void *arg)
{
    pool_thread *self = arg;
    mysql_thread_init();
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        exec_job *x;
        while (!pool.queue && !pool.shutdown)
            pthread_cond_wait(&pool.work, &pool.mu);
        if (!pool.queue)
            break; /* shutdown */
        x = pool.queue;
        pool.queue = x->next_queued;
        if (!pool.queue)
            pool.queue_tail = NULL;
        pool.queued--;
        pool.idle--;
        pthread_mutex_unlock(&pool.mu);
        run_job(x);
        pthread_mutex_lock(&pool.mu);
        x->finished = 1; /* x is exec_free()'s from here on */
        pthread_cond_broadcast(&pool.finished);
        if (!pool.queue && pool.idle >= POOL_IDLE_MAX && !pool.shutdown) {
            pool_thread **pp = &pool.threads;
            while (*pp != self)
                pp = &(*pp)->next;
            *pp = self->next;
            pthread_detach(self->t);
            pthread_mutex_unlock(&pool.mu);
            free(self);
            mysql_thread_end();
            return NULL;
        }
        pool.idle++;
    }
    pool.idle--;
    pthread_mutex_unlock(&pool.mu);
    mysql_thread_end();
    return NULL;
}

/* With pool.mu held: one more pool thread, idle until it takes a plan. */
static int pool_grow(void)
{
    pool_thread *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    if (pthread_create(&t->t, NULL, thread_main, t) != 0) {
        free(t);
        return -EAGAIN;
    }
    t->next = pool.threads;
    pool.threads = t;
    pool.idle++;
    return 0;
}

/* With pool.mu held. */
static size_t pool_count(void)
{
    size_t n = 0;
    for (const pool_thread *t = pool.threads; t; t = t->next)
        n++;
    return n;
}

int exec_pool_warm(size_t n, char *err, size_t errlen)
{
    int rc = 0;
    size_t have;
    pthread_mutex_lock(&pool.mu);
    pool.shutdown = false;
    for (have = pool_count(); have < n && rc == 0; have++)
        rc = pool_grow();
    pthread_mutex_unlock(&pool.mu);
    if (rc < 0)
        snprintf(err, errlen, "cannot start the recovery threads: %s", strerror(-rc));
    return rc;
}

size_t exec_pool_threads(void)
{
    size_t n;
    pthread_mutex_lock(&pool.mu);
    n = pool_count();
    pthread_mutex_unlock(&pool.mu);
    return n;
}

void exec_pool_shutdown(void)
{
    pool_thread *list;
    pthread_mutex_lock(&pool.mu);
    pool.shutdown = true;
    pthread_cond_broadcast(&pool.work);
    list = pool.threads;
    pool.threads = NULL;
    pthread_mutex_unlock(&pool.mu);
    while (list) {
        pool_thread *next = list->next;
        pthread_join(list->t, NULL);
        free(list);
        list = next;
    }
}

int exec_start(const plan_spec *plan, const exec_creds *creds, const exec_hooks *hooks, exec_job **out,
                   char *err, size_t errlen)
{
    exec_job *x = calloc(1, sizeof(*x));
    int fds[2];
    if (!x)
        goto oom;
    x->pipe_rd = x->pipe_wr = -1;
    pthread_mutex_init(&x->lock, NULL);
    if (plan_copy(&x->w.plan, plan) < 0 || creds_copy(&x->w.creds, creds) < 0)
        goto oom;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        exec_free(x);
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
    pthread_mutex_lock(&pool.mu);
    if (pool.idle <= pool.queued && pool_grow() < 0) { /* each queued job has a thread of its own */
        pthread_mutex_unlock(&pool.mu);
        snprintf(err, errlen, "cannot start the recovery thread");
        exec_free(x);
        return -EAGAIN;
    }
    pool.shutdown = false;
    if (pool.queue_tail)
        pool.queue_tail->next_queued = x;
    else
        pool.queue = x;
    pool.queue_tail = x;
    pool.queued++;
    x->started = 1;
    pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    *out = x;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    exec_free(x);
    return -ENOMEM;
}

int exec_fd(const exec_job *x) { return x->pipe_rd; }

int exec_read(exec_job *x, exec_msg *m)
{
    ssize_t n;
    uint64_t id;
    queued *q;
    memset(m, 0, sizeof(*m));
    if (x->done)
        return -1;
    do
        n = read(x->pipe_rd, &id, sizeof(id));
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        x->done = 1;
        return -1;
    }
    if (n != (ssize_t)sizeof(id))
        return 0;
    pthread_mutex_lock(&x->lock);
    q = x->head;
    if (q && q->id == id) {
        x->head = q->next;
        if (!x->head)
            x->tail = NULL;
    } else {
        q = NULL; /* cannot happen: ids are written after their message is queued, in order */
    }
    pthread_mutex_unlock(&x->lock);
    if (!q)
        return 0;
    *m = q->m;
    return 1;
}

void exec_free(exec_job *x)
{
    if (!x)
        return;
    if (x->started) {
        pthread_mutex_lock(&pool.mu);
        while (!x->finished)
            pthread_cond_wait(&pool.finished, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
    if (x->pipe_rd >= 0)
        close(x->pipe_rd);
    if (x->pipe_wr >= 0)
        close(x->pipe_wr);
    while (x->head) {
        queued *q = x->head;
        x->head = q->next;
        free(q);
    }
    pthread_mutex_destroy(&x->lock);
    plan_free(&x->w.plan);
    creds_free(&x->w.creds);
    free(x);
}

typedef struct {
    void (*fn)(void *user, const exec_msg *m);
    void *user;
} sync_target;

static void sync_emit(void *user, queued *q)
{
    sync_target *t = user;
    t->fn(t->user, &q->m);
    free(q);
}

int exec_run_sync(const plan_spec *plan, const exec_creds *creds, const exec_hooks *hooks,
                      void (*fn)(void *user, const exec_msg *m), void *user)
{
    worker w;
    sync_target t = {.fn = fn, .user = user};
    memset(&w, 0, sizeof(w));
    if (plan_copy(&w.plan, plan) < 0 || creds_copy(&w.creds, creds) < 0) {
        plan_free(&w.plan);
        return -ENOMEM;
    }
    w.emit = sync_emit;
    w.user = &t;
    w.hooks = hooks;
    run_plan(&w);
    free(w.frozen_gtid);
    free(w.promoted_gtid);
    plan_free(&w.plan);
    creds_free(&w.creds);
    return 0;
}

/* Hook steps: run every command configured for the hook point, in order. */
static int step_hook(worker *w, const plan_step *s, strbuf *msg)
{
    if (!w->hooks || !w->hooks->run) {
        strbuf_setf(msg, "no hook commands for %s", s->hook);
        return 0;
    }
    return w->hooks->run(w->hooks->user, &w->plan, s, w->promoted_gtid ? w->promoted_gtid : "", msg);
}
