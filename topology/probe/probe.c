/*
 * topology/probe/probe.c — non-blocking probe engine over MariaDB Connector/C.
 *
 * Each target is a small state machine:
 *
 *   DOWN --connect_start--> CONNECTING --ok--> IDLE --due--> QUERY --> STORE <-> NEXT --> IDLE
 *     ^                         |                |                 (any error/timeout)      |
 *     +------- failure ---------+---- EOF -------+--------------------------------------------+
 *
 * While IDLE the held connection's socket stays in the epoll set for
 * readability: a server that dies (RST/EOF) or kills us (error packet) makes
 * it readable at once, which is reported as a failed probe immediately.
 * Timeouts are deadlines kept in a binary heap; when one passes during an
 * operation the library is resumed with MYSQL_WAIT_TIMEOUT so it unwinds
 * cleanly, and the connection is then closed without waiting on the peer.
 *
 * Two lanes (topology/probe_sched.h): an urgent target (probe_set_urgent(), a
 * probe_now() request, the reconnect after a held connection dropped) starts the
 * moment it is due and its answers are handled first; a routine target that falls
 * due joins a FIFO that is drained at a paced rate, with a bound on routine
 * operations in flight.
 */
#include "topology/probe/probe.h"
#include "topology/grow.h"
#include "topology/probe/clock.h"
#include "topology/probe_sched.h"
#include "topology/strbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "topology/probe/conn.h"
#include "topology/dialect.h"

enum target_state {
    TS_DOWN,        /* no connection; next_at = next connect attempt */
    TS_CONNECTING,
    TS_IDLE,        /* connected; next_at = next probe */
    TS_QUERY,       /* mysql_real_query_start/cont */
    TS_STORE,       /* mysql_store_result_start/cont */
    TS_NEXT,        /* mysql_next_result_start/cont */
};

struct probe_target {
    probe_engine *eng;
    topo_addr addr;
    char ip[64];           /* resolved numeric address; empty = unresolved */
    char user[128];
    char *password;
    char *lag_query;
    conn_params_owned conn; /* TLS, auth plugins: see topology/probe/conn.h */
    int interval_ms;
    void *tag;

    MYSQL *m;
    enum target_state state;
    int reg_fd;            /* fd registered in epoll, -1 none */
    uint32_t reg_events;
    int ureg_fd;           /* the same fd in the fast set (sync_fast), -1 none */
    uint32_t ureg_events;
    bool sentinel;         /* probe_set_sentinel(): in the fast set */
    uint64_t fast_gen;     /* the run whose fast poll handled its event (not handled again from the batch) */
    int64_t next_at_ms;    /* when DOWN/IDLE: next action */
    int64_t deadline_ms;   /* when in an operation */
    int64_t op_started_ms;
    uint64_t timer_gen;    /* heap entries with another gen are stale */

    topo_flavor flavor;
    int ver_major, ver_minor, ver_patch;
    char version[64];
    dialect_batch batch;   /* the full batch */
    int have_batch;
    dialect_batch lean;    /* without the detail kinds (detail_every > 1) */
    int have_lean;
    const dialect_batch *cur; /* the batch of the probe in flight: its result kinds */
    char *first_sql;       /* the session's sql_mode statement + the batch: the first probe of a connection */
    /* Detail (dialect_kind_is_detail: SHOW REPLICAS, SHOW PROCESSLIST): read by the full batch on a
     * connection's first probe, every detail_every-th probe after it, and the probe after one that
     * saw the server's role change; a lean probe's snapshot carries the last detail read. */
    int detail_every;      /* 1: every probe is full */
    unsigned lean_since;   /* lean probes since the last full one */
    bool detail_due;       /* the next probe is full */
    bool d_saved;          /* the fields below hold the connection's last detail */
    size_t d_n_replicas;
    topo_replica_ref *d_replicas;
    bool d_have_dump_hosts;
    size_t d_n_dump_hosts;
    char *d_dump_hosts;
    bool d_read_only, d_replica_present; /* what role the server had when they were read */
    topo_addr d_source;
    size_t result_idx;
    bool watch;            /* retry failures at the interval, without backoff */
    int64_t ok_connect_ms; /* how long the last successful connect took, 0 unknown */
    int64_t ok_probe_ms;   /* how long the last successful probe took, 0 unknown */
    int budget_ms;         /* the current operation's time bound (for messages) */
    MYSQL_RES *res;
    topo_snapshot snap;    /* being filled */

    bool urgent;           /* probe_set_urgent(): the urgent lane until turned off */
    bool urgent_once;      /* the urgent lane until the next delivered result */
    bool again;            /* probe_now() while a probe was in flight: the next one starts when it ends */
    int64_t sent_ms;       /* when the batch in flight was sent (snapshot's sent_at_ms) */
    bool busy;             /* a connect or probe is in flight (counted in the engine's in_flight) */
    bool busy_urgent;      /* ... counted as urgent (not in routine_in_flight) */
    probe_target *fprev, *fnext; /* while busy: the engine's in-flight list (probe_engine_each_waiting) */
    bool queued;           /* due, waiting in the routine FIFO */
    probe_target *qprev, *qnext;
    bool deferred;         /* its fd was ready but the run's routine budget was spent: not a timeout */
    int removed;
    int timed_out;         /* the current operation passed its deadline */
    unsigned failures;     /* consecutive failed attempts, for backoff */
    probe_target *prev, *next; /* every live target, for teardown */
    probe_target *next_dead;
};

typedef struct {
    int64_t when_ms;
    probe_target *t;
    uint64_t gen;
} heap_entry;

#define KICK_MAX 64

struct probe_engine {
    probe_options opt;
    int epfd;
    int uepfd;             /* the fast set: the fds of sentinel and urgent targets, also in epfd */
    uint64_t run_gen;      /* probe_engine_run() calls */
    int64_t run_late_ms;   /* the last run's largest timer lateness, -1: it fired none */
    int64_t fast_at_us;    /* the last fast poll inside a run */
    heap_entry *heap;
    size_t heap_n, heap_cap;
    probe_stats stats;
    int in_run;
    probe_target *dead;    /* removed while running; freed at the end of run */
    probe_target *live;    /* list of targets not removed */
    size_t n_targets;
    /* The routine lane (topology/probe_sched.h). */
    psched_pace pace;
    int64_t routine_mhz;   /* sum of the routine targets' probe rates, millihertz */
    int64_t routine_in_flight;
    probe_target *q_head, *q_tail; /* due routine targets, oldest first */
    struct epoll_event *evs;
    size_t evs_cap;
    /* probe_now() on an idle or down target since the last run: started by the next
     * probe_engine_run_urgent() instead of waiting for the next run's timers (KICK_MAX: the rest
     * wait for the run, as before). */
    probe_target *kick[KICK_MAX];
    size_t n_kick;
    probe_target *flight;  /* the busy targets (set_busy), newest first */
};

int64_t probe_now_ms(void)
{
    return clk_mono_ms();
}

/* ---- lanes ----------------------------------------------------------------- */

static bool is_urgent(const probe_target *t) { return t->urgent || t->urgent_once; }

/*
 * The fast set. A run hands out the routine answers of the fleet for up to
 * PSCHED_ROUTINE_BUDGET_MS (and longer when the loop's CPU is taken by others), and news
 * that arrives meanwhile waited for the run to end: at 10,000 servers, a crashed primary's
 * close 1-2 ms, and again each of the answers of its replicas that confirm the failure.
 * The fds of the targets that carry such news (the primaries: probe_set_sentinel; the
 * urgent lane: probe_set_urgent, probe_now) are registered in a second epoll set as well,
 * with the same events, and a run polls that set every PSCHED_FAST_CHECK_US of its routine
 * part (looked at every 4 answers). The registration follows the main one (register_fd,
 * unregister_fd), which a held connection's probe cycle does not change: no epoll_ctl per
 * probe.
 */
#define PSCHED_FAST_CHECK_US 250

static bool in_fast_set(const probe_target *t) { return !t->removed && (t->sentinel || is_urgent(t)); }

static void sync_fast(probe_target *t)
{
    probe_engine *e = t->eng;
    int fd = in_fast_set(t) ? t->reg_fd : -1;
    uint32_t ev = fd >= 0 ? t->reg_events : 0;
    struct epoll_event x = {.events = ev, .data.ptr = t};
    if (t->ureg_fd == fd && t->ureg_events == ev)
        return;
    if (t->ureg_fd >= 0 && t->ureg_fd != fd) {
        epoll_ctl(e->uepfd, EPOLL_CTL_DEL, t->ureg_fd, NULL);
        t->ureg_fd = -1;
    }
    if (fd >= 0) {
        if (t->ureg_fd == fd)
            epoll_ctl(e->uepfd, EPOLL_CTL_MOD, fd, &x);
        else if (epoll_ctl(e->uepfd, EPOLL_CTL_ADD, fd, &x) < 0 && errno == EEXIST)
            epoll_ctl(e->uepfd, EPOLL_CTL_MOD, fd, &x);
        t->ureg_fd = fd;
    }
    t->ureg_events = ev;
}

/* What a target adds to the routine lane's rate (0 while urgent or removed). */
static int64_t routine_mhz_of(const probe_target *t)
{
    return t->urgent || t->removed ? 0 : 1000000 / t->interval_ms;
}

static void dequeue(probe_target *t)
{
    probe_engine *e = t->eng;
    if (!t->queued)
        return;
    if (t->qprev)
        t->qprev->qnext = t->qnext;
    else
        e->q_head = t->qnext;
    if (t->qnext)
        t->qnext->qprev = t->qprev;
    else
        e->q_tail = t->qprev;
    t->qprev = t->qnext = NULL;
    t->queued = false;
}

static void enqueue(probe_target *t)
{
    probe_engine *e = t->eng;
    if (t->queued)
        return;
    t->qprev = e->q_tail;
    t->qnext = NULL;
    if (e->q_tail)
        e->q_tail->qnext = t;
    else
        e->q_head = t;
    e->q_tail = t;
    t->queued = true;
}

/* Into or out of the engine's list of busy targets. */
static void flight_link(probe_target *t, bool on)
{
    probe_engine *e = t->eng;
    if (on) {
        t->fprev = NULL;
        t->fnext = e->flight;
        if (e->flight)
            e->flight->fprev = t;
        e->flight = t;
        return;
    }
    if (t->fprev)
        t->fprev->fnext = t->fnext;
    else if (e->flight == t)
        e->flight = t->fnext;
    if (t->fnext)
        t->fnext->fprev = t->fprev;
    t->fprev = t->fnext = NULL;
}

/* An operation (connect or probe) starts or ends: keep the in-flight counts. */
static void set_busy(probe_target *t, bool on)
{
    t->deferred = false; /* a new operation, or none: no answer is left waiting */
    if (on == t->busy)
        return;
    t->busy = on;
    flight_link(t, on);
    if (on) {
        t->busy_urgent = is_urgent(t);
        if (!t->busy_urgent)
            t->eng->routine_in_flight++;
    } else if (!t->busy_urgent) {
        t->eng->routine_in_flight--;
    }
}

/* ---- timer heap ---------------------------------------------------------- */

static int heap_push(probe_engine *e, int64_t when, probe_target *t, uint64_t gen)
{
    if (e->heap_n == e->heap_cap) {
        heap_entry *h = grow_array(e->heap, &e->heap_cap, sizeof(*h), 64);
        if (!h)
            return -ENOMEM;
        e->heap = h;
    }
    size_t i = e->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (e->heap[p].when_ms <= when)
            break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = (heap_entry){when, t, gen};
    return 0;
}


static void sift_down(probe_engine *e, size_t i)
{
    size_t n = e->heap_n;
    heap_entry x = e->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && e->heap[c + 1].when_ms < e->heap[c].when_ms)
            c++;
        if (x.when_ms <= e->heap[c].when_ms)
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    e->heap[i] = x;
}

static void heap_pop(probe_engine *e)
{
    e->heap[0] = e->heap[--e->heap_n];
    if (e->heap_n)
        sift_down(e, 0);
}

/* Drop every heap entry of t (before t is freed), then restore the heap order. */
static void heap_purge(probe_engine *e, const probe_target *t)
{
    size_t k = 0;
    for (size_t i = 0; i < e->heap_n; i++)
        if (e->heap[i].t != t)
            e->heap[k++] = e->heap[i];
    e->heap_n = k;
    for (size_t i = e->heap_n / 2; i-- > 0;)
        sift_down(e, i);
}

/* (Re)arm the target's single timer. Older heap entries become stale. */
static void arm(probe_target *t, int64_t when)
{
    t->timer_gen++;
    if (heap_push(t->eng, when, t, t->timer_gen) < 0) {
        /* Out of memory: nothing sensible to do but try again on next run. */
        fprintf(stderr, "myorch: probe timer heap: out of memory\n");
    }
}

/* ---- epoll registration ---------------------------------------------------- */

static void unregister_fd(probe_target *t)
{
    if (t->reg_fd >= 0) {
        epoll_ctl(t->eng->epfd, EPOLL_CTL_DEL, t->reg_fd, NULL);
        t->reg_fd = -1;
        t->reg_events = 0;
    }
    sync_fast(t); /* before the socket closes: its number may be reused */
}

static void register_fd(probe_target *t, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = t};
    if (t->reg_fd == fd && t->reg_events == events)
        return;
    if (t->reg_fd >= 0 && t->reg_fd != fd)
        unregister_fd(t);
    if (t->reg_fd == fd) {
        epoll_ctl(t->eng->epfd, EPOLL_CTL_MOD, fd, &ev);
    } else if (epoll_ctl(t->eng->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST) {
        epoll_ctl(t->eng->epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    t->reg_fd = fd;
    t->reg_events = events;
    sync_fast(t);
}

/* Register for what the library waits on; arm its timeout. */
static void wait_on(probe_target *t, int status)
{
    uint32_t ev = 0;
    /* Reads are registered exactly like the idle watch (IN|RDHUP), so the
     * common probe cycle needs no epoll_ctl(MOD) at all. */
    if (status & MYSQL_WAIT_READ)
        ev |= EPOLLIN | EPOLLRDHUP;
    if (status & MYSQL_WAIT_WRITE)
        ev |= EPOLLOUT;
    if (status & MYSQL_WAIT_EXCEPT)
        ev |= EPOLLPRI;
    register_fd(t, mysql_get_socket(t->m), ev);
}

/* ---- connection teardown ------------------------------------------------ */

/* Drop the saved detail (a new connection reads it again on its first probe). */
static void detail_forget(probe_target *t)
{
    free(t->d_replicas);
    free(t->d_dump_hosts);
    t->d_replicas = NULL;
    t->d_dump_hosts = NULL;
    t->d_n_replicas = t->d_n_dump_hosts = 0;
    t->d_have_dump_hosts = false;
    t->d_saved = false;
    t->lean_since = 0;
}

/* Heap copies of n replica entries and of the dump hosts' text (NULL: none); on -ENOMEM, neither. */
static int detail_dup(const topo_replica_ref *replicas, size_t n, const char *dump_hosts, topo_replica_ref **r_out,
                      char **d_out)
{
    topo_replica_ref *r = NULL;
    char *d = NULL;
    if (n && !(r = malloc(n * sizeof(*r))))
        return -ENOMEM;
    if (dump_hosts && !(d = strdup(dump_hosts))) {
        free(r);
        return -ENOMEM;
    }
    if (r)
        memcpy(r, replicas, n * sizeof(*r));
    *r_out = r;
    *d_out = d;
    return 0;
}

/* After a full probe: keep its detail for the lean ones. Returns 0 or -ENOMEM. */
static int detail_save(probe_target *t)
{
    const topo_snapshot *s = &t->snap;
    topo_replica_ref *r;
    char *d;
    if (detail_dup(s->replicas, s->n_replicas, s->dump_hosts, &r, &d) < 0)
        return -ENOMEM;
    detail_forget(t);
    t->d_replicas = r;
    t->d_n_replicas = s->n_replicas;
    t->d_dump_hosts = d;
    t->d_n_dump_hosts = s->n_dump_hosts;
    t->d_have_dump_hosts = s->have_dump_hosts;
    t->d_read_only = s->read_only;
    t->d_replica_present = s->replica.present;
    t->d_source = s->replica.source;
    t->d_saved = true;
    return 0;
}

/* After a lean probe: the last detail into its snapshot. Returns 0 or -ENOMEM. */
static int detail_restore(probe_target *t)
{
    topo_snapshot *s = &t->snap;
    if (detail_dup(t->d_replicas, t->d_n_replicas, t->d_dump_hosts, &s->replicas, &s->dump_hosts) < 0)
        return -ENOMEM;
    s->n_replicas = t->d_n_replicas;
    s->n_dump_hosts = t->d_n_dump_hosts;
    s->have_dump_hosts = t->d_have_dump_hosts;
    /* A server that changed role (read_only, its source) may have new replicas: read them next. */
    if (s->read_only != t->d_read_only || s->replica.present != t->d_replica_present ||
        (s->replica.present && !topo_addr_eq(&s->replica.source, &t->d_source)))
        t->detail_due = true;
    return 0;
}

/* Close without ever blocking on the peer: shut the socket first so COM_QUIT
 * fails at once instead of waiting on a hung server. */
static void close_conn(probe_target *t)
{
    set_busy(t, false);
    if (t->res) {
        mysql_free_result(t->res);
        t->res = NULL;
    }
    unregister_fd(t);
    if (t->m) {
        int fd = (int)mysql_get_socket(t->m);
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
        conn_close(t->m);
        t->m = NULL;
    }
    if (t->have_batch) {
        dialect_batch_free(&t->batch);
        t->have_batch = 0;
    }
    if (t->have_lean) {
        dialect_batch_free(&t->lean);
        t->have_lean = 0;
    }
    t->cur = NULL;
    free(t->first_sql);
    t->first_sql = NULL;
    detail_forget(t);
}

static void deliver(probe_target *t)
{
    probe_engine *e = t->eng;
    t->snap.taken_at_ms = probe_now_ms();
    t->urgent_once = false; /* the urgent request is answered (the callback may ask again) */
    sync_fast(t);
    if (e->opt.on_result)
        e->opt.on_result(e->opt.user, t, &t->snap);
    topo_snapshot_clear(&t->snap);
}

/* Fail the current operation or connection: report, close, schedule a retry. */
static void fail(probe_target *t, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(probe_target *t, unsigned code, const char *fmt, ...)
{
    va_list ap;
    int was_connected = t->state != TS_CONNECTING && t->state != TS_DOWN;
    int64_t now = probe_now_ms();
    bool answered = (t->state == TS_QUERY || t->state == TS_STORE || t->state == TS_NEXT) && t->result_idx > 0;
    bool drop_retry = was_connected && !t->timed_out;

    dequeue(t);
    t->again = false; /* a failure is news at once; the retry keeps its schedule */
    topo_snapshot_clear(&t->snap);
    t->snap.ok = false;
    t->snap.answered = answered;
    t->snap.error_code = code;
    va_start(ap, fmt);
    vsnprintf(t->snap.error, sizeof(t->snap.error), fmt, ap);
    va_end(ap);
    if (t->state == TS_CONNECTING)
        t->eng->stats.connects_failed++;
    else
        t->eng->stats.probes_failed++;
    close_conn(t);
    t->state = TS_DOWN;
    /* A held connection that dropped is retried at once: the retry tells a
     * dead server (refused) from a killed session quickly. After a timeout or
     * a failed connect, back off (interval × 2^failures, capped, with jitter)
     * so that a slow or dead server is not hammered with handshakes. */
    if (drop_retry) {
        t->next_at_ms = now;
        t->failures = 0;
    } else if (t->watch) {
        t->next_at_ms = now + t->interval_ms; /* watched: its return must be seen at once */
    } else {
        int64_t delay = t->interval_ms, cap = t->interval_ms * 8 < 5000 ? t->interval_ms * 8 : 5000;
        if (cap < t->interval_ms)
            cap = t->interval_ms;
        for (unsigned k = 0; k < t->failures && delay < cap; k++)
            delay *= 2;
        if (delay > cap)
            delay = cap;
        delay += (int64_t)(((uintptr_t)t >> 4) ^ (uintptr_t)now) % (delay / 10 + 1);
        t->next_at_ms = now + delay;
        if (t->failures < 16)
            t->failures++;
    }
    t->timed_out = 0;
    arm(t, t->next_at_ms);
    deliver(t);
    /* The reconnect after a drop is how a dead primary is told from a killed session:
     * the failure detection path, never paced behind routine probes. */
    if (drop_retry && !t->removed) {
        t->urgent_once = true;
        sync_fast(t);
    }
}

/*
 * The time bound of an operation. A watched target (a demoted primary that is
 * down) gets a bound scaled from what the same operation took when it last
 * worked (4x, at least WATCH_FLOOR_MS, at most the configured timeout): behind
 * a silent partition a connect's SYN is dropped and retried by the kernel only
 * after 1 s, 3 s..., and a cut-off semi-sync primary's statements hang; with
 * the full timeouts its return after a heal was seen 3-3.5 s late, while it
 * could still be writable. Unknown history (or not watched): the configured bound.
 */
#define WATCH_FLOOR_MS 250
static int op_budget(const probe_target *t, int configured, int64_t last_ok_ms)
{
    int64_t b;
    if (!t->watch || last_ok_ms <= 0)
        return configured;
    b = last_ok_ms * 4;
    if (b < WATCH_FLOOR_MS)
        b = WATCH_FLOOR_MS;
    return b < configured ? (int)b : configured;
}

static void fail_mysql(probe_target *t, const char *what)
{
    unsigned code = mysql_errno(t->m);
    if (t->timed_out) {
        /* The library's text names whatever system call it was in; say what happened. */
        fail(t, 2013, "%s: no answer within %d ms", what, t->budget_ms);
        return;
    }
    fail(t, code, "%s: %s (error %u)", what, mysql_error(t->m), code);
}

/* ---- the state machine ---------------------------------------------------- */

static void step(probe_target *t, int events);

static void connected(probe_target *t, int64_t now);

/* The connect finished (ret = the library's result): check it and go on, or fail. */
static void connect_done(probe_target *t, MYSQL *ret, int64_t now)
{
    char why[1024];
    unsigned code = 0;
    if (!ret && t->timed_out) {
        fail_mysql(t, "connect");
        return;
    }
    if (!ret && mysql_errno(t->m) == 0) {
        fail(t, 2013, "connect: timed out after %d ms", t->budget_ms);
        return;
    }
    if (conn_open_finish(t->m, ret, &t->conn.p, t->addr.host, &code, why, sizeof(why)) < 0) {
        fail(t, code, "connect: %s", why);
        return;
    }
    connected(t, now);
}

static void start_connect(probe_target *t, int64_t now)
{
    MYSQL *ret = NULL;
    int status;

    dequeue(t);
    if (!t->ip[0]) {
        /* Resolve lazily if the first lookup failed. */
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
        int rc = getaddrinfo(t->addr.host, NULL, &hints, &ai);
        if (rc != 0 || !ai) {
            t->state = TS_CONNECTING;
            fail(t, 2005, "cannot resolve host '%s': %s", t->addr.host, gai_strerror(rc));
            return;
        }
        if (ai->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, t->ip, sizeof(t->ip));
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, t->ip, sizeof(t->ip));
        freeaddrinfo(ai);
    }
    {
        char why[256];
        conn_params cp = t->conn.p;
        int rc;
        cp.connect_timeout_ms = t->eng->opt.connect_timeout_ms;
        cp.read_timeout_ms = t->eng->opt.read_timeout_ms;
        set_busy(t, true);
        t->state = TS_CONNECTING;
        rc = conn_open_start(&t->m, &ret, &status, &cp, t->addr.host, t->ip, (unsigned)t->addr.port, t->user,
                             t->password ? t->password : "", CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS,
                             why, sizeof(why));
        if (rc < 0) {
            fail(t, 2008, "connect: %s", why);
            return;
        }
    }
    t->op_started_ms = now;
    t->budget_ms = op_budget(t, t->eng->opt.connect_timeout_ms, t->ok_connect_ms);
    t->deadline_ms = now + t->budget_ms;
    arm(t, t->deadline_ms);
    if (status)
        wait_on(t, status);
    else
        connect_done(t, ret, now);
}

static void start_probe(probe_target *t, int64_t now)
{
    int err = 0, status;
    const char *sql;
    topo_snapshot_clear(&t->snap);
    dequeue(t);
    set_busy(t, true);
    t->result_idx = 0;
    t->op_started_ms = now;
    t->budget_ms = op_budget(t, t->eng->opt.read_timeout_ms, t->ok_probe_ms);
    t->deadline_ms = now + t->budget_ms;
    arm(t, t->deadline_ms);
    t->state = TS_QUERY;
    if (t->first_sql || !t->have_lean || !t->d_saved || t->detail_due ||
        t->lean_since + 1 >= (unsigned)t->detail_every) {
        t->cur = &t->batch;
        sql = t->first_sql ? t->first_sql : t->batch.sql;
    } else {
        t->cur = &t->lean;
        sql = t->lean.sql;
    }
    /* The clock now, not the run's: a probe asked for while this run handled a lost primary
     * must not look sent before that loss (topo_snap_predates). */
    t->sent_ms = probe_now_ms();
    status = mysql_real_query_start(&err, t->m, sql, (unsigned long)strlen(sql));
    if (status)
        wait_on(t, status);
    else
        step(t, -1);
    (void)err;
}

/* Turn a stored result into the dialect's neutral form and fold it in. */
static int apply_result(probe_target *t, MYSQL_RES *res)
{
    char err[256];
    unsigned n_cols = mysql_num_fields(res);
    my_ulonglong n_rows = mysql_num_rows(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    /* The usual answer fits on the stack (a probe's largest: 60-odd columns, one row); a bigger
     * one goes to the heap. Two callocs per result set: 1.4 % of the CPU at 10,000 servers (perf). */
    const char *names_s[128], *cells_s[512];
    const char **names = names_s, **cells = cells_s;
    int rc = 0;

    if (t->result_idx >= t->cur->n) {
        fail(t, 0, "probe: server returned more result sets than statements sent");
        return -EPROTO;
    }
    if (n_cols > sizeof(names_s) / sizeof(names_s[0]))
        names = calloc(n_cols, sizeof(*names));
    if (n_rows > 0 && n_cols > 0 && n_rows * n_cols > sizeof(cells_s) / sizeof(cells_s[0]))
        cells = calloc((size_t)n_rows * n_cols, sizeof(*cells));
    if (!names || !cells) {
        fail(t, 2008, "probe: out of memory");
        rc = -ENOMEM;
        goto out;
    }
    for (unsigned c = 0; c < n_cols; c++)
        names[c] = fields[c].name;
    for (my_ulonglong r = 0; r < n_rows; r++) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (!row) {
            n_rows = r; /* the cells past it were never written */
            break;
        }
        for (unsigned c = 0; c < n_cols; c++)
            cells[r * n_cols + c] = row[c];
    }
    {
        dialect_result dr = {.n_cols = n_cols, .n_rows = (size_t)n_rows, .names = names, .cells = cells};
        dialect_query_kind kind = t->cur->kinds[t->result_idx];
        rc = dialect_apply(t->flavor, kind, &dr, &t->snap, err, sizeof(err));
        if (rc < 0) {
            fail(t, 0, "probe: cannot read the server's answer: %s", err);
            goto out;
        }
    }
    t->result_idx++;
out:
    if (names != names_s)
        free(names);
    if (cells != cells_s)
        free(cells);
    return rc;
}

static void finish_probe(probe_target *t, int64_t now)
{
    bool again;
    if (t->cur == &t->lean) {
        t->lean_since++;
        if (detail_restore(t) < 0) {
            fail(t, 2008, "probe: out of memory");
            return;
        }
    } else {
        t->eng->stats.probes_detail++;
        t->lean_since = 0;
        t->detail_due = false;
        if (t->have_lean && detail_save(t) < 0) {
            fail(t, 2008, "probe: out of memory");
            return;
        }
    }
    again = t->again;
    t->again = false;
    t->eng->stats.probes_ok++;
    set_busy(t, false);
    free(t->first_sql); /* the session's mode is set: later probes send the batch alone */
    t->first_sql = NULL;
    t->failures = 0;
    t->snap.ok = true;
    t->snap.probe_latency_ms = now - t->op_started_ms;
    t->snap.sent_at_ms = t->sent_ms;
    t->ok_probe_ms = t->snap.probe_latency_ms > 0 ? t->snap.probe_latency_ms : 1;
    t->snap.flavor = t->flavor;
    t->snap.version_major = t->ver_major;
    t->snap.version_minor = t->ver_minor;
    t->snap.version_patch = t->ver_patch;
    if (!t->snap.version[0])
        snprintf(t->snap.version, sizeof(t->snap.version), "%s", t->version);
    t->state = TS_IDLE;
    t->next_at_ms = t->op_started_ms + t->interval_ms;
    if (t->next_at_ms < now || again)
        t->next_at_ms = now;
    /* Watch the idle connection: readable means the server went away. */
    register_fd(t, mysql_get_socket(t->m), EPOLLIN | EPOLLRDHUP);
    arm(t, t->next_at_ms);
    deliver(t);
    /* Asked for while this probe was in flight: this answer may predate what the request is
     * about (a replica asked after its primary was lost), so a new probe starts at once, in the
     * urgent lane, instead of at the interval (the fast interval's 50 ms). */
    if (again && !t->removed && t->state == TS_IDLE) {
        t->urgent_once = true;
        sync_fast(t);
    }
}

/*
 * The first probe of each connection also sets the session's own sql_mode
 * (dialect.h DIALECT_SQL_SESSION_MODE: no NO_BACKSLASH_ESCAPES, whatever the
 * server's global mode), sent in front of the batch. It returns no result set,
 * so the batch's result kinds stay aligned.
 */
static int session_mode_sql(probe_target *t)
{
    size_t n = strlen(DIALECT_SQL_SESSION_MODE) + 1 + strlen(t->batch.sql) + 1;
    free(t->first_sql);
    t->first_sql = malloc(n);
    if (!t->first_sql)
        return -ENOMEM;
    snprintf(t->first_sql, n, "%s;%s", DIALECT_SQL_SESSION_MODE, t->batch.sql);
    return 0;
}

static void connected(probe_target *t, int64_t now)
{
    char err[256];
    const char *info = mysql_get_server_info(t->m);
    t->eng->stats.connects_ok++;
    t->ok_connect_ms = now - t->op_started_ms > 0 ? now - t->op_started_ms : 1;
    if (fmt_checked(t->version, sizeof(t->version), err, sizeof(err), "server version", "%s", info ? info : "") < 0) {
        fail(t, 0, "unsupported server: %s", err);
        return;
    }
    if (dialect_detect(t->version, NULL, &t->flavor, &t->ver_major, &t->ver_minor, &t->ver_patch,
                       err, sizeof(err)) < 0) {
        fail(t, 0, "unsupported server: %s", err);
        return;
    }
    if (dialect_probe_batch(t->flavor, t->ver_major, t->ver_minor, t->ver_patch, t->lag_query,
                            &t->batch, err, sizeof(err)) < 0) {
        fail(t, 0, "cannot build the probe for this server: %s", err);
        return;
    }
    t->have_batch = 1;
    if (dialect_probe_batch_lean(t->flavor, t->ver_major, t->ver_minor, t->ver_patch, t->lag_query,
                                 &t->lean, err, sizeof(err)) < 0) {
        fail(t, 0, "cannot build the probe for this server: %s", err);
        return;
    }
    t->have_lean = 1;
    if (session_mode_sql(t) < 0) {
        fail(t, 2008, "probe: out of memory");
        return;
    }
    start_probe(t, now);
}

/*
 * mysql_next_result said nr: fail (> 0), finish (< 0), or start storing the
 * next result set. True when step() must return (waiting, finished, failed).
 */
static bool next_result(probe_target *t, int nr, int64_t now)
{
    int status;
    if (nr > 0) {
        fail_mysql(t, "probe");
        return true;
    }
    if (nr < 0) {
        finish_probe(t, now);
        return true;
    }
    t->state = TS_STORE;
    status = mysql_store_result_start(&t->res, t->m);
    if (status) {
        wait_on(t, status);
        return true;
    }
    return false;
}

/*
 * Advance the target's operation. events = the epoll readiness translated to
 * MYSQL_WAIT_* (or MYSQL_WAIT_TIMEOUT), or -1 when called right after an
 * operation that completed synchronously.
 */
static void step(probe_target *t, int events)
{
    int64_t now = probe_now_ms();
    for (;;) {
        int status;
        switch (t->state) {
        case TS_CONNECTING: {
            MYSQL *ret = NULL;
            if (events >= 0) {
                status = mysql_real_connect_cont(&ret, t->m, events);
                if (status) {
                    wait_on(t, status);
                    return;
                }
            } else {
                ret = t->m; /* completed synchronously and succeeded */
            }
            events = -1;
            connect_done(t, ret, now);
            return;
        }
        case TS_QUERY: {
            int err = 0;
            if (events >= 0) {
                status = mysql_real_query_cont(&err, t->m, events);
                if (status) {
                    wait_on(t, status);
                    return;
                }
            } else {
                err = mysql_errno(t->m) ? 1 : 0;
            }
            events = -1;
            if (err) {
                fail_mysql(t, "probe");
                return;
            }
            t->state = TS_STORE;
            status = mysql_store_result_start(&t->res, t->m);
            if (status) {
                wait_on(t, status);
                return;
            }
            continue;
        }
        case TS_STORE: {
            if (events >= 0) {
                status = mysql_store_result_cont(&t->res, t->m, events);
                if (status) {
                    wait_on(t, status);
                    return;
                }
            }
            events = -1;
            if (!t->res) {
                if (mysql_errno(t->m)) {
                    fail_mysql(t, "probe");
                    return;
                }
            } else {
                int rc = apply_result(t, t->res);
                mysql_free_result(t->res);
                t->res = NULL;
                if (rc < 0)
                    return; /* already failed */
            }
            if (!mysql_more_results(t->m)) {
                finish_probe(t, now);
                return;
            }
            t->state = TS_NEXT;
            {
                int nr = 0;
                status = mysql_next_result_start(&nr, t->m);
                if (status) {
                    wait_on(t, status);
                    return;
                }
                if (next_result(t, nr, now))
                    return;
            }
            continue;
        }
        case TS_NEXT: {
            int nr = 0;
            status = mysql_next_result_cont(&nr, t->m, events);
            if (status) {
                wait_on(t, status);
                return;
            }
            events = -1;
            if (next_result(t, nr, now))
                return;
            continue;
        }
        default:
            return;
        }
    }
}

bool probe_answer_arrived(const probe_target *t)
{
    char b;
    if (!t || t->removed || !t->m || !(t->state == TS_QUERY || t->state == TS_STORE || t->state == TS_NEXT))
        return false;
    /* Bytes waiting: the server answered. 0 (EOF) or an error: it did not (the engine fails the probe). */
    return recv(mysql_get_socket(t->m), &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* Idle connection became readable: EOF, reset or an unsolicited error
 * packet (killed, server shutdown). Any of these means the session is gone. */
static void idle_readable(probe_target *t)
{
    char b;
    ssize_t n = recv(mysql_get_socket(t->m), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return; /* spurious */
    t->eng->stats.drops++;
    if (n == 0)
        fail(t, 2013, "connection closed by the server (server down or restarting)");
    else if (n < 0)
        fail(t, 2013, "connection lost: %s", strerror(errno));
    else
        fail(t, 2013, "connection ended by the server (session killed or server shutting down)");
}

static void on_timer(probe_target *t, int64_t now)
{
    switch (t->state) {
    case TS_DOWN:
    case TS_IDLE:
        if (now < t->next_at_ms)
            arm(t, t->next_at_ms);
        else if (!is_urgent(t))
            enqueue(t); /* started by drain_routine(), paced */
        else if (t->state == TS_DOWN)
            start_connect(t, now);
        else
            start_probe(t, now);
        break;
    default:
        if (now >= t->deadline_ms && t->deferred) {
            arm(t, now + 1); /* its answer is here, left for the next run: handled then */
        } else if (now >= t->deadline_ms) {
            int connecting = t->state == TS_CONNECTING;
            t->eng->stats.timeouts++;
            t->timed_out = 1; /* fail_mysql() reports the timeout, not the library's text */
            /* Let the library unwind its coroutine, then drop the connection. */
            step(t, MYSQL_WAIT_TIMEOUT);
            if (t->state != TS_DOWN) {
                /* It still wants more: give up on it regardless. */
                fail(t, 2013, "%s: no answer within %d ms", connecting ? "connect" : "probe", t->budget_ms);
            }
        } else {
            arm(t, t->deadline_ms);
        }
        break;
    }
}

/* ---- public API -------------------------------------------------------- */

int probe_engine_new(const probe_options *opt, probe_engine **out, char *err, size_t errlen)
{
    probe_engine *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    e->opt = *opt;
    e->run_late_ms = -1;
    if (e->opt.connect_timeout_ms <= 0)
        e->opt.connect_timeout_ms = 1000;
    if (e->opt.read_timeout_ms <= 0)
        e->opt.read_timeout_ms = 2000;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->uepfd = e->epfd < 0 ? -1 : epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0 || e->uepfd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        if (e->epfd >= 0)
            close(e->epfd);
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

static void target_free(probe_target *t)
{
    heap_purge(t->eng, t);
    close_conn(t);
    topo_snapshot_clear(&t->snap);
    if (t->password) {
        explicit_bzero(t->password, strlen(t->password));
        free(t->password);
    }
    free(t->lag_query);
    conn_params_free(&t->conn);
    detail_forget(t);
    free(t);
}

static void free_dead(probe_engine *e)
{
    while (e->dead) {
        probe_target *t = e->dead;
        e->dead = t->next_dead;
        target_free(t);
    }
}

void probe_engine_free(probe_engine *e)
{
    if (!e)
        return;
    while (e->live)
        probe_remove(e->live);
    free_dead(e);
    free(e->heap);
    free(e->evs);
    close(e->epfd);
    close(e->uepfd);
    free(e);
}

int probe_engine_fd(const probe_engine *e) { return e->epfd; }
const probe_stats *probe_engine_stats(const probe_engine *e) { return &e->stats; }

int probe_engine_timeout_ms(probe_engine *e, int64_t now_ms)
{
    int64_t d = -1;
    while (e->heap_n) {
        heap_entry *h = &e->heap[0];
        if (h->t->removed || h->gen != h->t->timer_gen) {
            heap_pop(e);
            continue;
        }
        d = h->when_ms - now_ms;
        if (d < 0)
            d = 0;
        break;
    }
    if (e->q_head) {
        /* Due routine targets wait for pacing credit (or for an operation to end: fd activity). */
        int64_t w = psched_wait_ms(&e->pace, now_ms, e->routine_mhz, e->routine_in_flight);
        if (w >= 0 && (d < 0 || w < d))
            d = w;
    }
    return d < 0 ? -1 : (d > 60000 ? 60000 : (int)d);
}

/* Start as many queued routine targets as the pace allows, oldest first. */
static void drain_routine(probe_engine *e, int64_t now_ms)
{
    while (e->q_head) {
        probe_target *t = e->q_head;
        if (t->removed || t->busy || now_ms < t->next_at_ms || (t->state != TS_DOWN && t->state != TS_IDLE)) {
            dequeue(t); /* not due any more; its own timer stands */
            continue;
        }
        if (psched_take(&e->pace, now_ms, e->routine_mhz, e->routine_in_flight, 1) < 1)
            break;
        if (t->state == TS_DOWN)
            start_connect(t, now_ms); /* both dequeue */
        else
            start_probe(t, now_ms);
    }
}

/* Hand one epoll event to its target. */
static void dispatch(struct epoll_event *ev)
{
    probe_target *t = ev->data.ptr;
    int w = 0;
    t->deferred = false;
    if (t->removed || t->state == TS_DOWN)
        return;
    if (t->state == TS_IDLE) {
        idle_readable(t);
        return;
    }
    if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
        w |= MYSQL_WAIT_READ;
    if (ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        w |= MYSQL_WAIT_WRITE;
    if (ev->events & EPOLLPRI)
        w |= MYSQL_WAIT_EXCEPT;
    step(t, w);
}

/* What the fast set's polls hand out: the urgent lane's events, and an idle connection's close
 * (a sentinel's: its primary went away), as probe_engine_run_urgent() handed out from the main
 * set before. A sentinel's routine answer is left to the run, as any other's: handed out early,
 * each would make the owner derive the models again (probe_engine_run_urgent() counts what it
 * handed out). */
static bool fast_news(const probe_target *t)
{
    return !t->removed && (is_urgent(t) || t->state == TS_IDLE);
}

/* Inside a run: hand out what the fast set has ready (see sync_fast); marks what it handled. */
static void fast_poll(probe_engine *e)
{
    struct epoll_event evs[64];
    int n = epoll_wait(e->uepfd, evs, 64, 0);
    for (int i = 0; i < n; i++) {
        probe_target *t = evs[i].data.ptr;
        if (!fast_news(t) || t->fast_gen == e->run_gen)
            continue;
        t->fast_gen = e->run_gen;
        dispatch(&evs[i]);
    }
}

void probe_engine_run(probe_engine *e, int64_t now_ms)
{
    int n;
    int64_t started_ms = probe_now_ms();
    bool over_budget = false;

    e->in_run = 1;
    e->run_gen++;
    e->fast_at_us = clk_mono_us();
    /* One epoll_wait takes every ready fd (level-triggered: asking again before handling
     * them would return the same ones), so the urgent lane's can go first. */
    {
        size_t want = e->n_targets + 1 < 256 ? 256 : e->n_targets + 1;
        if (want > 16384)
            want = 16384;
        if (e->evs_cap < want) {
            struct epoll_event *v = realloc(e->evs, want * sizeof(*v));
            if (v) {
                e->evs = v;
                e->evs_cap = want;
            }
        }
    }
    do {
        struct epoll_event fallback[64], *evs = e->evs ? e->evs : fallback;
        int cap = e->evs ? (int)e->evs_cap : 64;
        n = epoll_wait(e->epfd, evs, cap, 0);
        for (int i = 0; i < n; i++) {
            probe_target *t = evs[i].data.ptr;
            /* An idle connection that turns readable was closed by its server (it sends nothing
             * unasked): a crashed primary, news for failure detection, never left behind the
             * routine answers of the fleet (at 10,000 servers it waited a run or two, 1-2 ms). */
            if (!t->removed && (is_urgent(t) || t->state == TS_IDLE)) {
                dispatch(&evs[i]);
                evs[i].data.ptr = NULL; /* handled (its lane may change meanwhile) */
            }
        }
        /* Routine answers within the run's budget; the rest stay ready (level-triggered) for the
         * next run, so the owner's loop turns and urgent work waits at most about the budget. */
        for (int i = 0; i < n; i++) {
            probe_target *t = evs[i].data.ptr;
            if ((i & 3) == 3 && !over_budget) {
                int64_t now_us = clk_mono_us();
                if (now_us - e->fast_at_us >= PSCHED_FAST_CHECK_US) {
                    e->fast_at_us = now_us;
                    fast_poll(e);
                }
            }
            if (!t || t->removed || t->fast_gen == e->run_gen)
                continue;
            if (over_budget || ((i & 15) == 15 && probe_now_ms() - started_ms >= PSCHED_ROUTINE_BUDGET_MS)) {
                over_budget = true;
                t->deferred = true;
                continue;
            }
            dispatch(&evs[i]);
        }
        if (n < cap || over_budget)
            break;
    } while (n > 0);

    now_ms = probe_now_ms();
    e->run_late_ms = -1;
    while (e->heap_n) {
        heap_entry h = e->heap[0];
        if (h.t->removed || h.gen != h.t->timer_gen) {
            heap_pop(e);
            continue;
        }
        if (h.when_ms > now_ms)
            break;
        heap_pop(e);
        if (now_ms - h.when_ms > e->run_late_ms)
            e->run_late_ms = now_ms - h.when_ms;
        h.t->timer_gen++; /* consumed */
        on_timer(h.t, now_ms);
    }
    if (!over_budget)
        drain_routine(e, now_ms); /* behind on answers: start no more routine work this run */
    e->n_kick = 0;             /* their timers were due: started above */
    e->in_run = 0;
    free_dead(e);
}

bool probe_engine_kicked(const probe_engine *e) { return e->n_kick > 0; }

int64_t probe_engine_run_lateness_ms(const probe_engine *e) { return e->run_late_ms; }

void probe_engine_each_waiting(probe_engine *e, int64_t sent_before_ms, void (*fn)(void *user, probe_target *t),
                               void *user)
{
    for (probe_target *t = e->flight; t; t = t->fnext) {
        int64_t since = probe_waiting_since_ms(t);
        if (since > 0 && since < sent_before_ms)
            fn(user, t);
    }
}

int probe_engine_run_urgent(probe_engine *e)
{
    struct epoll_event fallback[64], *evs = e->evs ? e->evs : fallback;
    int cap = e->evs ? (int)e->evs_cap : 64, n, done = 0;

    if (e->in_run)
        return 0;
    e->in_run = 1;
    /* Probes asked for since the last run (probe_now), started now rather than by that run's timers;
     * their heap entries go stale (timer_gen). */
    if (e->n_kick) {
        int64_t now = probe_now_ms();
        for (size_t i = 0; i < e->n_kick; i++) {
            probe_target *t = e->kick[i];
            if (!t || t->removed || (t->state != TS_IDLE && t->state != TS_DOWN) || t->next_at_ms > now)
                continue;
            t->timer_gen++;
            on_timer(t, now);
            done++;
        }
        e->n_kick = 0;
    }
    /* What the fast set has ready (sync_fast, fast_news), not every ready fd of the fleet: the
     * owner calls this every 250 us of a long pass, and reading the main set returned each time
     * the routine answers that arrived meanwhile. The close of a server that is neither a
     * sentinel nor in the urgent lane (a replica's) waits for the next run. */
    n = epoll_wait(e->uepfd, evs, cap, 0);
    for (int i = 0; i < n; i++) {
        probe_target *t = evs[i].data.ptr;
        if (fast_news(t)) {
            dispatch(&evs[i]);
            done++;
        }
    }
    e->in_run = 0;
    free_dead(e);
    return done;
}

int probe_add(probe_engine *e, const topo_addr *addr, const char *user, const char *password,
              const conn_params *conn, const char *lag_query, int interval_ms, void *tag, probe_target **out,
              char *err, size_t errlen)
{
    probe_target *t = calloc(1, sizeof(*t));
    unsigned char buf[sizeof(struct in6_addr)];
    if (!t)
        goto oom;
    t->eng = e;
    t->addr = *addr;
    t->reg_fd = -1;
    t->ureg_fd = -1;
    t->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    t->detail_every = 1;
    t->tag = tag;
    if (fmt_checked(t->user, sizeof(t->user), err, errlen, "user", "%s", user ? user : "") < 0) {
        target_free(t);
        return -ENAMETOOLONG;
    }
    if (password && !(t->password = strdup(password)))
        goto oom;
    if (lag_query && *lag_query && !(t->lag_query = strdup(lag_query)))
        goto oom;
    if (conn_params_copy(&t->conn, conn) < 0)
        goto oom;
    if (inet_pton(AF_INET, addr->host, buf) == 1 || inet_pton(AF_INET6, addr->host, buf) == 1) {
        memcpy(t->ip, addr->host, strnlen(addr->host, sizeof(t->ip) - 1));
    } else {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
        if (getaddrinfo(addr->host, NULL, &hints, &ai) == 0 && ai) {
            if (ai->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, t->ip, sizeof(t->ip));
            else
                inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, t->ip, sizeof(t->ip));
            freeaddrinfo(ai);
        } /* else resolved again at each connect attempt, and reported then */
    }
    t->state = TS_DOWN;
    t->next_at_ms = probe_now_ms();
    arm(t, t->next_at_ms);
    t->next = e->live;
    if (e->live)
        e->live->prev = t;
    e->live = t;
    e->n_targets++;
    e->routine_mhz += routine_mhz_of(t);
    *out = t;
    return 0;
oom:
    if (t)
        target_free(t);
    snprintf(err, errlen, "out of memory adding a probe target");
    return -ENOMEM;
}

void probe_remove(probe_target *t)
{
    probe_engine *e;
    if (!t || t->removed)
        return;
    e = t->eng;
    dequeue(t);
    for (size_t i = 0; i < e->n_kick; i++)
        if (e->kick[i] == t)
            e->kick[i] = NULL; /* freed before the next run may be */
    e->routine_mhz -= routine_mhz_of(t);
    t->removed = 1;
    e->n_targets--;
    if (t->prev)
        t->prev->next = t->next;
    else
        e->live = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    close_conn(t);
    t->next_dead = e->dead;
    e->dead = t;
    if (!e->in_run)
        free_dead(e);
}

void probe_now(probe_target *t)
{
    int64_t now = probe_now_ms();
    if (t->removed)
        return;
    if (t->state == TS_DOWN || t->state == TS_IDLE) {
        /* Asked for: the urgent lane, ahead of any routine probe that is waiting. */
        dequeue(t);
        t->urgent_once = true;
        sync_fast(t);
        t->next_at_ms = now;
        arm(t, now);
        if (t->eng->n_kick < KICK_MAX)
            t->eng->kick[t->eng->n_kick++] = t;
    } else if (t->state != TS_CONNECTING) {
        t->again = true; /* a probe is in flight: another one when it ends (finish_probe) */
    }
}

void probe_set_urgent(probe_target *t, bool on)
{
    probe_engine *e = t->eng;
    if (t->removed || t->urgent == on)
        return;
    e->routine_mhz -= routine_mhz_of(t);
    t->urgent = on;
    e->routine_mhz += routine_mhz_of(t);
    sync_fast(t);
    if (on && t->queued) {
        /* Due and waiting for the pace: start at the next run. */
        dequeue(t);
        arm(t, t->next_at_ms);
    }
}

void probe_set_sentinel(probe_target *t, bool on)
{
    if (t->removed || t->sentinel == on)
        return;
    t->sentinel = on;
    sync_fast(t);
}

void probe_set_watch(probe_target *t, bool on)
{
    if (on && !t->watch && t->state == TS_DOWN && t->next_at_ms > probe_now_ms() + t->interval_ms) {
        t->next_at_ms = probe_now_ms() + t->interval_ms;
        arm(t, t->next_at_ms);
    }
    t->watch = on;
}

void probe_set_detail_every(probe_target *t, int every)
{
    t->detail_every = every > 1 ? every : 1;
}

void probe_set_interval(probe_target *t, int interval_ms)
{
    if (interval_ms > 0 && !t->removed) {
        t->eng->routine_mhz -= routine_mhz_of(t);
        t->interval_ms = interval_ms;
        t->eng->routine_mhz += routine_mhz_of(t);
    }
}

void *probe_tag(const probe_target *t) { return t->tag; }
const topo_addr *probe_addr(const probe_target *t) { return &t->addr; }
int probe_connected(const probe_target *t) { return t->state >= TS_IDLE; }

int64_t probe_waiting_since_ms(const probe_target *t)
{
    if (!t || t->removed)
        return 0;
    return t->state == TS_QUERY || t->state == TS_STORE || t->state == TS_NEXT ? t->op_started_ms : 0;
}
