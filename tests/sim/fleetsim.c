/*
 * tests/sim/fleetsim.c — fleet simulator: one epoll process serving N virtual
 * MySQL 8.0 / 8.4 and MariaDB 10.11 servers, each on its own loopback address
 * (127.NET.x.y:PORT), speaking enough of the client/server protocol for
 * Connector/C (handshake v10, mysql_native_password, the fast path of
 * caching_sha2_password on MySQL 8.x servers with --mysql-auth caching_sha2_password,
 * COM_QUERY with multi-statements and multiple result sets, COM_PING, COM_QUIT).
 *
 * Owns the model of each virtual server (flavor, version, server id / UUID,
 * GTID position advancing at a write rate, read_only, replication source,
 * threads and lag) and the answers to the statements myorch sends. A statement
 * the modelled version would reject gets that version's error. See
 * tests/sim/README.md for what is modelled and what is not.
 *
 * Usage: fleetsim --fleet mysql84:2,mysql80:2 [--size 4] [--net 1] [--port 3306]
 *                 --user U --password-file F --fleet-out FILE --control SOCK
 *                 [--rate W] [--net-timeout S] [--log-unknown]
 *                 [--mysql-auth mysql_native_password|caching_sha2_password]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The session id of a virtual server's replication IO thread (its processlist row, KILL). */
#define SIM_IO_THREAD_ID 5

#include "sha1.h"
#include "sha256.h"

#define MAX_PACKET (1u << 20)    /* a client packet above this closes the connection */
#define MAX_CTL_LINE 65536
#define GMAX 32                  /* GTID set entries (UUIDs / MariaDB: one domain) per server */

typedef enum { FL_MARIADB, FL_MYSQL80, FL_MYSQL84 } flavor;

typedef struct {
    int n;
    struct { int who; long long hi; } e[GMAX];
} gpos;

typedef struct {
    int idx, cluster;
    flavor fl;
    char ip[24];
    int port;
    int lfd;
    bool up, hung, partitioned;
    double hung_since;
    int slow_ms;
    int kill_delay_ms;           /* KILL answers this much later (control `killdelay`) */
    bool read_only, super_ro;
    int server_id;
    char uuid[40];
    gpos exec, recv, slave_pos;  /* slave_pos: MariaDB gtid_slave_pos */
    double rate, acc;
    long long writes;
    bool ss_master, ss_slave;    /* MariaDB built-in semi-sync switches */
    /* replication */
    bool configured;
    char src_host[64];
    int src_port, connect_retry, auto_pos;
    char src_user[64];
    double hb;
    bool io_run, sql_run, io_conn;
    int src;
    int io_errno;
    double lag_s;
    struct conn *conns;          /* client sessions (list through next_on_srv) */
} vserver;

typedef struct conn {
    int fd, srv;
    unsigned id;
    int state;                   /* 0 auth, 1 auth-switch, 2 command */
    bool sha2;                   /* the account's plugin is caching_sha2_password (MySQL 8.x, --mysql-auth) */
    uint8_t seq;
    uint32_t caps;
    uint8_t scramble[20];
    char user[64];
    uint8_t *in, *out;
    size_t inlen, incap, outlen, outoff, outcap;
    bool armed_out, paused;
    /* deferred query: slow server or GTID wait */
    char *q;
    size_t qlen;
    double ready_at;
    bool waiting;
    gpos wait_pos;
    double wait_deadline;
    bool wait_mariadb;
    bool closing;
    bool kill_pending;          /* a KILL of it is on its way (killdelay): Killed in the processlist, */
    double kill_at;             /* ended then, whether or not its killer is still connected */
    struct conn *next_on_srv;    /* the server's sessions */
} conn;

typedef struct {
    int fd;
    char buf[MAX_CTL_LINE];
    size_t len;
} ctlconn;

/* epoll tags: type in the high bits of u64 */
enum { T_LISTEN = 1, T_CONN = 2, T_CTL_LISTEN = 3, T_CTL = 4 };
#define TAG(t, i) (((uint64_t)(t) << 32) | (uint32_t)(i))

static vserver *S;
static int NS;
static int CLUSTER_SIZE = 4;
static char **CNAMES;
static int NC;
/* Per cluster, simulator clock (now_s): when one of its servers was last killed, and when it was
 * healthy again after that (0: not yet): the `healed` command. A failover measured here is not
 * delayed by the client polling `healthy` through this loop's queue. */
static double *KILL_AT, *HEALED_AT;
static int N_AWAITING; /* clusters killed and not healthy since */
static void healed_check(int ci, double now);
static conn **C;
static size_t NCONN, CAPCONN;
static int EP;
static char USER[64], PASS[256];
/* An application's account (same password as USER): its sessions are the client sessions a fence
 * ends; USER's are the controller's own, which it leaves alone. */
#define CLIENT_USER "app"
static uint8_t PASS_SHA1[20], PASS_SHA1_2[20];
/* --mysql-auth caching_sha2_password: the MySQL 8.x accounts use it (MariaDB's keep native).
 * The server's cache always holds the account (SHA256(SHA256(password))): the fast path. */
static bool MYSQL_SHA2;
static uint8_t PASS_SHA256_2[32];
static unsigned long long N_AUTH_NATIVE, N_AUTH_SHA2_FAST;
static double NET_TIMEOUT = 4.0;
static double DEFAULT_RATE = 2.0;
static bool LOG_UNKNOWN;
static unsigned NEXT_ID = 100;
static unsigned long long N_QUERIES, N_UNKNOWN, N_CONNECTS, N_COM_QUERY;
static char LAST_UNKNOWN[512];
static ctlconn *CTL[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fleetsim: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *r = realloc(p, n);
    if (!r)
        die("out of memory");
    return r;
}

static bool is_mysql(const vserver *s) { return s->fl != FL_MARIADB; }

static const char *version_of(const vserver *s)
{
    switch (s->fl) {
    case FL_MARIADB: return "10.11.6-MariaDB-log";
    case FL_MYSQL80: return "8.0.36";
    case FL_MYSQL84: return "8.4.3";
    }
    return "?";
}

/* ------------------------------------------------------------------------ */
/* GTID positions                                                            */
/* ------------------------------------------------------------------------ */

static long long gpos_get(const gpos *g, int who)
{
    for (int i = 0; i < g->n; i++)
        if (g->e[i].who == who)
            return g->e[i].hi;
    return 0;
}

static void gpos_set(gpos *g, int who, long long hi)
{
    for (int i = 0; i < g->n; i++)
        if (g->e[i].who == who) {
            g->e[i].hi = hi;
            return;
        }
    if (g->n < GMAX) {
        g->e[g->n].who = who;
        g->e[g->n].hi = hi;
        g->n++;
    }
}

/* MySQL: per-UUID maximum. MariaDB (one domain): the higher sequence wins. */
static void gpos_merge(bool mdb, gpos *dst, const gpos *src)
{
    if (mdb) {
        if (src->n && (!dst->n || src->e[0].hi > dst->e[0].hi))
            *dst = *src;
        return;
    }
    for (int i = 0; i < src->n; i++)
        if (src->e[i].hi > gpos_get(dst, src->e[i].who))
            gpos_set(dst, src->e[i].who, src->e[i].hi);
}

static bool gpos_contains(bool mdb, const gpos *big, const gpos *small)
{
    if (mdb)
        return !small->n || (big->n && big->e[0].hi >= small->e[0].hi);
    for (int i = 0; i < small->n; i++)
        if (small->e[i].hi > gpos_get(big, small->e[i].who))
            return false;
    return true;
}

static int cmp_who(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return strcmp(S[x].uuid, S[y].uuid);
}

/* Text form: MySQL "uuid:1-N,\nuuid:1-M" (sorted by UUID), MariaDB "0-sid-seq". */
static void gpos_text(bool mdb, const gpos *g, char *buf, size_t len)
{
    buf[0] = '\0';
    if (mdb) {
        if (g->n && g->e[0].hi > 0)
            snprintf(buf, len, "0-%d-%lld", S[g->e[0].who].server_id, g->e[0].hi);
        return;
    }
    int order[GMAX], n = 0;
    for (int i = 0; i < g->n; i++)
        if (g->e[i].hi > 0)
            order[n++] = i;
    int whos[GMAX];
    for (int i = 0; i < n; i++)
        whos[i] = g->e[order[i]].who;
    qsort(whos, n, sizeof(int), cmp_who);
    size_t o = 0;
    for (int i = 0; i < n && o < len; i++) {
        long long hi = gpos_get(g, whos[i]);
        int w = hi == 1 ? snprintf(buf + o, len - o, "%s%s:1", i ? ",\n" : "", S[whos[i]].uuid)
                        : snprintf(buf + o, len - o, "%s%s:1-%lld", i ? ",\n" : "", S[whos[i]].uuid, hi);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

static int find_by_uuid(const char *u, size_t n)
{
    for (int i = 0; i < NS; i++)
        if (strlen(S[i].uuid) == n && strncasecmp(S[i].uuid, u, n) == 0)
            return i;
    return -1;
}

static int find_by_server_id(int sid)
{
    for (int i = 0; i < NS; i++)
        if (S[i].server_id == sid)
            return i;
    return -1;
}

/* Parse GTID text; 0 ok, -1 malformed. */
static int gpos_parse(bool mdb, const char *t, gpos *g)
{
    memset(g, 0, sizeof(*g));
    while (*t) {
        while (*t == ' ' || *t == ',' || *t == '\n' || *t == '\t')
            t++;
        if (!*t)
            break;
        if (mdb) {
            long d, sid;
            long long seq;
            char *e;
            d = strtol(t, &e, 10);
            if (e == t || *e != '-')
                return -1;
            t = e + 1;
            sid = strtol(t, &e, 10);
            if (e == t || *e != '-')
                return -1;
            t = e + 1;
            seq = strtoll(t, &e, 10);
            if (e == t)
                return -1;
            t = e;
            (void)d;
            int who = find_by_server_id((int)sid);
            if (who < 0)
                who = 0;
            if (!g->n || seq > g->e[0].hi) {
                g->n = 1;
                g->e[0].who = who;
                g->e[0].hi = seq;
            }
        } else {
            const char *colon = strchr(t, ':');
            if (!colon)
                return -1;
            int who = find_by_uuid(t, (size_t)(colon - t));
            t = colon + 1;
            long long hi = 0;
            for (;;) {
                char *e;
                long long a = strtoll(t, &e, 10), b = a;
                if (e == t)
                    return -1;
                t = e;
                if (*t == '-') {
                    t++;
                    b = strtoll(t, &e, 10);
                    if (e == t)
                        return -1;
                    t = e;
                }
                if (b > hi)
                    hi = b;
                if (*t == ':') {
                    t++;
                    continue;
                }
                break;
            }
            if (who < 0)
                who = -2; /* unknown UUID: never contained */
            if (who >= 0)
                gpos_set(g, who, hi);
            else if (g->n < GMAX) {
                g->e[g->n].who = -1;
                g->e[g->n].hi = hi;
                g->n++;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Packets                                                                   */
/* ------------------------------------------------------------------------ */

static void out_need(conn *c, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + n)
            cap *= 2;
        c->out = xrealloc(c->out, cap);
        c->outcap = cap;
    }
}

static size_t pk_start(conn *c)
{
    out_need(c, 4);
    size_t at = c->outlen;
    c->outlen += 4;
    return at;
}

static void pk_end(conn *c, size_t at)
{
    size_t n = c->outlen - at - 4;
    c->out[at] = (uint8_t)n;
    c->out[at + 1] = (uint8_t)(n >> 8);
    c->out[at + 2] = (uint8_t)(n >> 16);
    c->out[at + 3] = c->seq++;
}

static void put(conn *c, const void *p, size_t n)
{
    out_need(c, n);
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
}

static void put1(conn *c, unsigned v) { uint8_t b = (uint8_t)v; put(c, &b, 1); }
static void put2(conn *c, unsigned v) { put1(c, v & 0xff); put1(c, (v >> 8) & 0xff); }
static void put4(conn *c, uint32_t v) { put2(c, v & 0xffff); put2(c, v >> 16); }

static void put_lenenc(conn *c, unsigned long long v)
{
    if (v < 251)
        put1(c, (unsigned)v);
    else if (v < 65536) {
        put1(c, 0xfc);
        put2(c, (unsigned)v);
    } else if (v < 16777216) {
        put1(c, 0xfd);
        put2(c, (unsigned)(v & 0xffff));
        put1(c, (unsigned)(v >> 16));
    } else {
        put1(c, 0xfe);
        put4(c, (uint32_t)v);
        put4(c, (uint32_t)(v >> 32));
    }
}

static void put_lenstr(conn *c, const char *s)
{
    size_t n = strlen(s);
    put_lenenc(c, n);
    put(c, s, n);
}

#define ST_AUTOCOMMIT 0x0002
#define ST_MORE 0x0008
#define CAP_PROTOCOL_41 0x200
#define CAP_SECURE 0x8000
#define CAP_MULTI_STMTS 0x10000
#define CAP_MULTI_RESULTS 0x20000
#define CAP_PLUGIN_AUTH 0x80000
#define CAP_CONNECT_ATTRS 0x100000
#define CAP_LENENC_AUTH 0x200000
#define CAP_DEPRECATE_EOF 0x1000000
#define CAP_CONNECT_WITH_DB 0x8
#define SERVER_CAPS (0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | \
                     0x80000 | 0x100000 | 0x200000 | 0x1000000)

static void send_ok(conn *c, bool more)
{
    size_t at = pk_start(c);
    put1(c, 0);
    put_lenenc(c, 0);
    put_lenenc(c, 0);
    put2(c, ST_AUTOCOMMIT | (more ? ST_MORE : 0));
    put2(c, 0);
    pk_end(c, at);
}

static void send_err(conn *c, unsigned code, const char *state, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t at = pk_start(c);
    put1(c, 0xff);
    put2(c, code);
    put1(c, '#');
    put(c, state, 5);
    put(c, msg, strlen(msg));
    pk_end(c, at);
}

static void send_eof(conn *c, bool more)
{
    size_t at = pk_start(c);
    if (c->caps & CAP_DEPRECATE_EOF) {
        put1(c, 0xfe);
        put_lenenc(c, 0);
        put_lenenc(c, 0);
        put2(c, ST_AUTOCOMMIT | (more ? ST_MORE : 0));
        put2(c, 0);
    } else {
        put1(c, 0xfe);
        put2(c, 0);
        put2(c, ST_AUTOCOMMIT | (more ? ST_MORE : 0));
    }
    pk_end(c, at);
}

/* Column types */
#define TY_LONG 3
#define TY_LONGLONG 8
#define TY_VARSTR 253
#define TY_DECIMAL 246

/* A result set: column names with a type letter prefix ("i:Name" integer, "d:" decimal, else string). */
static void rs_header(conn *c, int n, const char *const *cols)
{
    size_t at = pk_start(c);
    put_lenenc(c, (unsigned long long)n);
    pk_end(c, at);
    for (int i = 0; i < n; i++) {
        const char *name = cols[i];
        unsigned type = TY_VARSTR, len = 1024, flags = 0, charset = 33, dec = 39;
        if (name[0] && name[1] == ':') {
            if (name[0] == 'i')
                type = TY_LONGLONG, len = 21, flags = 0x20 | 0x80, charset = 63, dec = 0;
            else if (name[0] == 'd')
                type = TY_DECIMAL, len = 12, flags = 0x80, charset = 63, dec = 3;
            name += 2;
        }
        at = pk_start(c);
        put_lenstr(c, "def");
        put_lenstr(c, "");
        put_lenstr(c, "");
        put_lenstr(c, "");
        put_lenstr(c, name);
        put_lenstr(c, "");
        put1(c, 0x0c);
        put2(c, charset);
        put4(c, len);
        put1(c, type);
        put2(c, flags);
        put1(c, dec);
        put2(c, 0);
        pk_end(c, at);
    }
    if (!(c->caps & CAP_DEPRECATE_EOF))
        send_eof(c, false);
}

static void rs_row(conn *c, int n, const char *const *vals)
{
    size_t at = pk_start(c);
    for (int i = 0; i < n; i++) {
        if (!vals[i])
            put1(c, 0xfb);
        else
            put_lenstr(c, vals[i]);
    }
    pk_end(c, at);
}

/* ------------------------------------------------------------------------ */
/* Model                                                                     */
/* ------------------------------------------------------------------------ */

static int SIM_NET;

/* Server k listens on 127.NET.(k / 250).(k % 250 + 1): the address gives the index. */
static int find_server(const char *host, int port)
{
    int a, b, c, d;
    char tail;
    if (sscanf(host, "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) != 4 || a != 127 || b != SIM_NET || c < 0 ||
        d < 1 || d > 250)
        return -1;
    int i = c * 250 + d - 1;
    if (i >= NS || (port > 0 && S[i].port != port))
        return -1;
    return i;
}

static bool reachable_for_replication(const vserver *src, double now)
{
    if (!src->up)
        return false;
    if (src->hung && now - src->hung_since >= NET_TIMEOUT)
        return false;
    return true;
}

static void do_write(vserver *s, long long n)
{
    bool mdb = !is_mysql(s);
    if (mdb) {
        long long seq = s->exec.n ? s->exec.e[0].hi : 0;
        s->exec.n = 1;
        s->exec.e[0].who = s->idx;
        s->exec.e[0].hi = seq + n;
    } else {
        gpos_set(&s->exec, s->idx, gpos_get(&s->exec, s->idx) + n);
    }
    s->writes += n;
}

static void model_tick(double now, double dt)
{
    for (int i = 0; i < NS; i++) {
        vserver *s = &S[i];
        if (!s->up || s->hung)
            continue;
        if (!s->read_only && s->rate > 0) {
            s->acc += s->rate * dt;
            long long n = (long long)s->acc;
            if (n > 0) {
                s->acc -= (double)n;
                do_write(s, n);
            }
        }
    }
    for (int i = 0; i < NS; i++) {
        vserver *s = &S[i];
        bool mdb = !is_mysql(s);
        if (!s->up || s->hung)
            continue;
        /* s->src is resolved when the source changes (CHANGE ... TO, RESET ... ALL) */
        if (s->io_run) {
            vserver *src = s->src >= 0 ? &S[s->src] : NULL;
            if (src && src != s && reachable_for_replication(src, now)) {
                s->io_conn = true;
                s->io_errno = 0;
                gpos_merge(mdb, &s->recv, &src->exec);
            } else {
                s->io_conn = false;
                s->io_errno = 2003;
            }
        }
        if (s->sql_run && s->recv.n) {
            gpos target = s->recv;
            if (s->lag_s > 0 && s->src >= 0) {
                long long behind = (long long)(S[s->src].rate * s->lag_s);
                for (int k = 0; k < target.n; k++)
                    target.e[k].hi = target.e[k].hi - behind > gpos_get(&s->exec, target.e[k].who)
                                         ? target.e[k].hi - behind : gpos_get(&s->exec, target.e[k].who);
                if (mdb)
                    target.e[0].hi = s->recv.e[0].hi - behind > (s->exec.n ? s->exec.e[0].hi : 0)
                                         ? s->recv.e[0].hi - behind : (s->exec.n ? s->exec.e[0].hi : 0);
            }
            if (!gpos_contains(mdb, &s->exec, &target)) {
                gpos_merge(mdb, &s->exec, &target);
                if (mdb)
                    s->slave_pos = s->exec;
            }
        }
    }
    for (int c = 0; N_AWAITING && c < NC; c++)
        healed_check(c, now); /* IO threads (re)connect in the tick */
}

static bool is_behind(const vserver *s)
{
    return !gpos_contains(!is_mysql(s), &s->exec, &s->recv);
}

/* ------------------------------------------------------------------------ */
/* Statements                                                                */
/* ------------------------------------------------------------------------ */

static void err_syntax(conn *c, const vserver *s, const char *near)
{
    char n[81];
    snprintf(n, sizeof(n), "%s", near);
    send_err(c, 1064, "42000",
             "You have an error in your SQL syntax; check the manual that corresponds to your %s server "
             "version for the right syntax to use near '%s' at line 1",
             is_mysql(s) ? "MySQL" : "MariaDB", n);
}

static void unknown_stmt(conn *c, const vserver *s, const char *stmt)
{
    N_UNKNOWN++;
    snprintf(LAST_UNKNOWN, sizeof(LAST_UNKNOWN), "%s: %s", version_of(s), stmt);
    if (LOG_UNKNOWN)
        fprintf(stderr, "fleetsim: unhandled on %s (%s): %s\n", s->ip, version_of(s), stmt);
    err_syntax(c, s, stmt);
}

/* Uppercase copy with runs of white space folded to one space, trimmed. */
static void norm(const char *in, char *out, size_t len)
{
    size_t o = 0;
    bool sp = false;
    while (*in && isspace((unsigned char)*in))
        in++;
    for (; *in && o + 1 < len; in++) {
        if (isspace((unsigned char)*in)) {
            sp = true;
            continue;
        }
        if (sp && o + 2 < len)
            out[o++] = ' ';
        sp = false;
        out[o++] = (char)toupper((unsigned char)*in);
    }
    out[o] = '\0';
}

static bool starts(const char *u, const char *p) { return strncmp(u, p, strlen(p)) == 0; }

/* A system variable's value: 1 found (*val may be NULL for SQL NULL), 0 unknown. */
static int var_get(const vserver *s, const char *name, char *buf, size_t len, const char **val)
{
    bool my = is_mysql(s);
    *val = buf;
    if (!strcasecmp(name, "server_id"))
        snprintf(buf, len, "%d", s->server_id);
    else if (!strcasecmp(name, "version"))
        snprintf(buf, len, "%s", version_of(s));
    else if (!strcasecmp(name, "version_comment"))
        snprintf(buf, len, "%s", my ? "MySQL Community Server - GPL" : "Debian 12");
    else if (!strcasecmp(name, "read_only"))
        snprintf(buf, len, "%d", s->read_only ? 1 : 0);
    else if (my && !strcasecmp(name, "super_read_only"))
        snprintf(buf, len, "%d", s->super_ro ? 1 : 0);
    else if (!strcasecmp(name, "log_bin") || !strcasecmp(name, "log_slave_updates") ||
             (my && !strcasecmp(name, "log_replica_updates")))
        snprintf(buf, len, "1");
    else if (!strcasecmp(name, "binlog_format"))
        snprintf(buf, len, "ROW");
    else if (my && !strcasecmp(name, "gtid_executed"))
        gpos_text(false, &s->exec, buf, len);
    else if (my && !strcasecmp(name, "gtid_purged"))
        buf[0] = '\0';
    else if (my && !strcasecmp(name, "server_uuid"))
        snprintf(buf, len, "%s", s->uuid);
    else if (my && !strcasecmp(name, "gtid_mode"))
        snprintf(buf, len, "ON");
    else if (!my && (!strcasecmp(name, "gtid_binlog_pos") || !strcasecmp(name, "gtid_current_pos")))
        gpos_text(true, &s->exec, buf, len);
    else if (!my && !strcasecmp(name, "gtid_slave_pos"))
        gpos_text(true, &s->slave_pos, buf, len);
    else if (!my && !strcasecmp(name, "rpl_semi_sync_master_enabled"))
        snprintf(buf, len, "%d", s->ss_master);
    else if (!my && !strcasecmp(name, "rpl_semi_sync_slave_enabled"))
        snprintf(buf, len, "%d", s->ss_slave);
    else if (!my && !strcasecmp(name, "rpl_semi_sync_master_timeout"))
        snprintf(buf, len, "10000");
    else if (!strcasecmp(name, "port"))
        snprintf(buf, len, "%d", s->port);
    else if (!strcasecmp(name, "hostname") || !strcasecmp(name, "report_host"))
        snprintf(buf, len, "%s", s->ip);
    else if (!strcasecmp(name, "sql_mode"))
        snprintf(buf, len, "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION");
    else if (!strcasecmp(name, "slave_net_timeout") || (my && !strcasecmp(name, "replica_net_timeout")))
        snprintf(buf, len, "%d", (int)NET_TIMEOUT);
    else if (!strcasecmp(name, "lock_wait_timeout"))
        snprintf(buf, len, "31536000");
    else
        return 0;
    return 1;
}

/* SELECT @@[global.|session.]name [AS alias], ... */
static void q_select_vars(conn *c, const vserver *s, const char *stmt)
{
    const char *p = stmt + 6;
    char cols[16][96], vals[16][4096];
    const char *colp[16], *valp[16];
    int n = 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (n >= 16 || p[0] != '@' || p[1] != '@') {
            unknown_stmt(c, s, stmt);
            return;
        }
        const char *item = p, *name = p + 2;
        if (!strncasecmp(name, "global.", 7))
            name += 7;
        else if (!strncasecmp(name, "session.", 8))
            name += 8;
        const char *ne = name;
        while (isalnum((unsigned char)*ne) || *ne == '_')
            ne++;
        char vname[96];
        snprintf(vname, sizeof(vname), "%.*s", (int)(ne - name), name);
        snprintf(cols[n], sizeof(cols[n]), "%.*s", (int)(ne - item), item);
        p = ne;
        while (*p == ' ')
            p++;
        if (!strncasecmp(p, "AS ", 3)) {
            p += 3;
            while (*p == ' ')
                p++;
            const char *ae = p;
            while (isalnum((unsigned char)*ae) || *ae == '_')
                ae++;
            snprintf(cols[n], sizeof(cols[n]), "%.*s", (int)(ae - p), p);
            p = ae;
        }
        if (!var_get(s, vname, vals[n], sizeof(vals[n]), &valp[n])) {
            send_err(c, 1193, "HY000", "Unknown system variable '%s'", vname);
            return;
        }
        colp[n] = cols[n];
        n++;
        while (*p == ' ')
            p++;
        if (*p && *p != ',') {
            unknown_stmt(c, s, stmt);
            return;
        }
    }
    rs_header(c, n, colp);
    rs_row(c, n, valp);
}

static const char *const REPL_COLS_MYSQL[60] = {
    "Replica_IO_State", "Source_Host", "Source_User", "i:Source_Port", "i:Connect_Retry", "Source_Log_File",
    "i:Read_Source_Log_Pos", "Relay_Log_File", "i:Relay_Log_Pos", "Relay_Source_Log_File", "Replica_IO_Running",
    "Replica_SQL_Running", "Replicate_Do_DB", "Replicate_Ignore_DB", "Replicate_Do_Table",
    "Replicate_Ignore_Table", "Replicate_Wild_Do_Table", "Replicate_Wild_Ignore_Table", "i:Last_Errno",
    "Last_Error", "i:Skip_Counter", "i:Exec_Source_Log_Pos", "i:Relay_Log_Space", "Until_Condition",
    "Until_Log_File", "i:Until_Log_Pos", "Source_SSL_Allowed", "Source_SSL_CA_File", "Source_SSL_CA_Path",
    "Source_SSL_Cert", "Source_SSL_Cipher", "Source_SSL_Key", "i:Seconds_Behind_Source",
    "Source_SSL_Verify_Server_Cert", "i:Last_IO_Errno", "Last_IO_Error", "i:Last_SQL_Errno", "Last_SQL_Error",
    "Replicate_Ignore_Server_Ids", "i:Source_Server_Id", "Source_UUID", "Source_Info_File", "i:SQL_Delay",
    "i:SQL_Remaining_Delay", "Replica_SQL_Running_State", "i:Source_Retry_Count", "Source_Bind",
    "Last_IO_Error_Timestamp", "Last_SQL_Error_Timestamp", "Source_SSL_Crl", "Source_SSL_Crlpath",
    "Retrieved_Gtid_Set", "Executed_Gtid_Set", "i:Auto_Position", "Replicate_Rewrite_DB", "Channel_Name",
    "Source_TLS_Version", "Source_public_key_path", "i:Get_Source_public_key", "Network_Namespace",
};

static const char *const REPL_COLS_MARIADB[62] = {
    "Connection_name", "Slave_SQL_State", "Slave_IO_State", "Master_Host", "Master_User", "i:Master_Port",
    "i:Connect_Retry", "Master_Log_File", "i:Read_Master_Log_Pos", "Relay_Log_File", "i:Relay_Log_Pos",
    "Relay_Master_Log_File", "Slave_IO_Running", "Slave_SQL_Running", "Replicate_Rewrite_DB", "Replicate_Do_DB",
    "Replicate_Ignore_DB", "Replicate_Do_Table", "Replicate_Ignore_Table", "Replicate_Wild_Do_Table",
    "Replicate_Wild_Ignore_Table", "i:Last_Errno", "Last_Error", "i:Skip_Counter", "i:Exec_Master_Log_Pos",
    "i:Relay_Log_Space", "Until_Condition", "Until_Log_File", "i:Until_Log_Pos", "Master_SSL_Allowed",
    "Master_SSL_CA_File", "Master_SSL_CA_Path", "Master_SSL_Cert", "Master_SSL_Cipher", "Master_SSL_Key",
    "i:Seconds_Behind_Master", "Master_SSL_Verify_Server_Cert", "i:Last_IO_Errno", "Last_IO_Error",
    "i:Last_SQL_Errno", "Last_SQL_Error", "Replicate_Ignore_Server_Ids", "i:Master_Server_Id", "Master_SSL_Crl",
    "Master_SSL_Crlpath", "Using_Gtid", "Gtid_IO_Pos", "Replicate_Do_Domain_Ids", "Replicate_Ignore_Domain_Ids",
    "Parallel_Mode", "i:SQL_Delay", "i:SQL_Remaining_Delay", "Slave_SQL_Running_State", "i:Slave_DDL_Groups",
    "i:Slave_Non_Transactional_Groups", "i:Slave_Transactional_Groups", "i:Retried_transactions",
    "i:Max_relay_log_size", "i:Executed_log_entries", "i:Slave_received_heartbeats", "d:Slave_heartbeat_period",
    "Gtid_Slave_Pos",
};

/* The 8.0 deprecated-syntax name of a SHOW REPLICA STATUS column (Source→Master, Replica→Slave). */
static void old_name(const char *in, char *out, size_t len)
{
    size_t o = 0;
    while (*in && o + 8 < len) {
        if (!strncmp(in, "Source", 6)) {
            memcpy(out + o, "Master", 6), o += 6, in += 6;
        } else if (!strncmp(in, "source", 6)) {
            memcpy(out + o, "master", 6), o += 6, in += 6;
        } else if (!strncmp(in, "Replica", 7)) {
            memcpy(out + o, "Slave", 5), o += 5, in += 7;
        } else
            out[o++] = *in++;
    }
    out[o] = '\0';
}

static long long binlog_pos(const vserver *s) { return 157 + s->writes * 312; }

static void q_replica_status(conn *c, const vserver *s, bool old_names, bool all)
{
    char names[62][96];
    const char *cols[62];
    const char *vals[62];
    char b[62][4096];
    int n;
    double now = now_s();
    (void)now;
    if (is_mysql(s)) {
        n = 60;
        for (int i = 0; i < n; i++) {
            if (old_names) {
                const char *src = REPL_COLS_MYSQL[i];
                char tmp[80];
                bool typed = src[0] && src[1] == ':';
                old_name(typed ? src + 2 : src, tmp, sizeof(tmp));
                if (!strcmp(tmp, "Get_Master_public_key"))
                    snprintf(tmp, sizeof(tmp), "Get_master_public_key");
                snprintf(names[i], sizeof(names[i]), "%s%s", typed ? "i:" : "", tmp);
            } else
                snprintf(names[i], sizeof(names[i]), "%s", REPL_COLS_MYSQL[i]);
            cols[i] = names[i];
        }
    } else {
        int skip = all ? 0 : 2;
        n = all ? 62 : 54;
        for (int i = 0; i < n; i++)
            cols[i] = REPL_COLS_MARIADB[i + skip];
    }
    rs_header(c, n, cols);
    if (!s->configured)
        return;
    const vserver *src = s->src >= 0 ? &S[s->src] : NULL;
    const char *io = !s->io_run ? "No" : s->io_conn ? "Yes" : "Connecting";
    const char *sql = s->sql_run ? "Yes" : "No";
    char sbm[32];
    const char *sbmp;
    if (!s->sql_run)
        sbmp = NULL;
    else if (is_behind(s)) {
        snprintf(sbm, sizeof(sbm), "%lld", (long long)(s->lag_s > 0 ? s->lag_s : 1));
        sbmp = sbm;
    } else if (s->io_run && s->io_conn)
        sbmp = "0";
    else
        sbmp = NULL;
    char port[16], retry[16], pos[32], sid[16], ioerr[16], hb[16];
    snprintf(port, sizeof(port), "%d", s->src_port);
    snprintf(retry, sizeof(retry), "%d", s->connect_retry);
    snprintf(pos, sizeof(pos), "%lld", src ? binlog_pos(src) : 4LL);
    snprintf(sid, sizeof(sid), "%d", src ? src->server_id : 0);
    snprintf(ioerr, sizeof(ioerr), "%d", s->io_errno);
    snprintf(hb, sizeof(hb), "%.3f", s->hb);
    char ioerrtext[400] = "";
    if (s->io_errno)
        snprintf(ioerrtext, sizeof(ioerrtext),
                 "error reconnecting to %s '%s@%s:%d' - retry-time: %d retries: 1 message: Can't connect to "
                 "MySQL server on '%s:%d' (111)",
                 is_mysql(s) ? "source" : "master", s->src_user, s->src_host, s->src_port, s->connect_retry,
                 s->src_host, s->src_port);
    const char *iostate = !s->io_run ? "" : s->io_conn ? (is_mysql(s) ? "Waiting for source to send event"
                                                                       : "Waiting for master to send event")
                                                       : "Reconnecting after a failed source event read";
    for (int i = 0; i < n; i++) {
        const char *name = cols[i][1] == ':' ? cols[i] + 2 : cols[i];
        const char *v = "";
        if (is_mysql(s)) {
            switch (i) {
            case 0: v = iostate; break;
            case 1: v = s->src_host; break;
            case 2: v = s->src_user; break;
            case 3: v = port; break;
            case 4: v = retry; break;
            case 5: case 9: v = "binlog.000001"; break;
            case 6: case 21: v = pos; break;
            case 7: v = "relay.000002"; break;
            case 8: v = "421"; break;
            case 10: v = io; break;
            case 11: v = sql; break;
            case 18: case 20: case 25: case 36: case 42: case 58: v = "0"; break;
            case 22: v = "1024"; break;
            case 23: v = old_names ? "None" : "None"; break;
            case 26: case 33: v = "No"; break;
            case 32: v = sbmp; break;
            case 34: v = ioerr; break;
            case 35: v = ioerrtext; break;
            case 39: v = sid; break;
            case 40: v = src ? src->uuid : ""; break;
            case 41: v = "mysql.slave_master_info"; break;
            case 43: v = NULL; break;
            case 44: v = s->sql_run ? "Replica has read all relay log; waiting for more updates" : ""; break;
            case 45: v = "10"; break;
            case 51: gpos_text(false, &s->recv, b[i], sizeof(b[i])); v = b[i]; break;
            case 52: gpos_text(false, &s->exec, b[i], sizeof(b[i])); v = b[i]; break;
            case 53: v = s->auto_pos ? "1" : "0"; break;
            default: v = ""; break;
            }
        } else {
            if (!strcmp(name, "Slave_IO_State")) v = iostate;
            else if (!strcmp(name, "Slave_SQL_State") || !strcmp(name, "Slave_SQL_Running_State"))
                v = s->sql_run ? "Slave has read all relay log; waiting for more updates" : "";
            else if (!strcmp(name, "Master_Host")) v = s->src_host;
            else if (!strcmp(name, "Master_User")) v = s->src_user;
            else if (!strcmp(name, "Master_Port")) v = port;
            else if (!strcmp(name, "Connect_Retry")) v = retry;
            else if (!strcmp(name, "Master_Log_File") || !strcmp(name, "Relay_Master_Log_File")) v = "mysql-bin.000001";
            else if (!strcmp(name, "Read_Master_Log_Pos") || !strcmp(name, "Exec_Master_Log_Pos")) v = pos;
            else if (!strcmp(name, "Relay_Log_File")) v = "relay.000002";
            else if (!strcmp(name, "Relay_Log_Pos")) v = "421";
            else if (!strcmp(name, "Slave_IO_Running")) v = io;
            else if (!strcmp(name, "Slave_SQL_Running")) v = sql;
            else if (!strcmp(name, "Until_Condition")) v = "None";
            else if (!strcmp(name, "Master_SSL_Allowed") || !strcmp(name, "Master_SSL_Verify_Server_Cert")) v = "No";
            else if (!strcmp(name, "Seconds_Behind_Master")) v = sbmp;
            else if (!strcmp(name, "Last_IO_Errno")) v = ioerr;
            else if (!strcmp(name, "Last_IO_Error")) v = ioerrtext;
            else if (!strcmp(name, "Master_Server_Id")) v = sid;
            else if (!strcmp(name, "Using_Gtid")) v = s->auto_pos ? "Slave_Pos" : "No";
            else if (!strcmp(name, "Gtid_IO_Pos")) { gpos_text(true, &s->recv, b[i], sizeof(b[i])); v = b[i]; }
            else if (!strcmp(name, "Gtid_Slave_Pos")) { gpos_text(true, &s->slave_pos, b[i], sizeof(b[i])); v = b[i]; }
            else if (!strcmp(name, "Parallel_Mode")) v = "optimistic";
            else if (!strcmp(name, "SQL_Remaining_Delay")) v = NULL;
            else if (!strcmp(name, "Slave_heartbeat_period")) v = hb;
            else if (!strcmp(name, "Max_relay_log_size")) v = "1073741824";
            else if (cols[i][1] == ':' && cols[i][0] == 'i') {
                if (!strcmp(name, "Slave_received_heartbeats") || !strcmp(name, "Executed_log_entries")) {
                    snprintf(b[i], sizeof(b[i]), "%lld", s->recv.n ? s->recv.e[0].hi : 0);
                    v = b[i];
                } else
                    v = "0";
            } else v = "";
        }
        vals[i] = v;
    }
    rs_row(c, n, vals);
}

static void q_binlog_status(conn *c, const vserver *s)
{
    char file[32], pos[32], g[4096];
    if (is_mysql(s)) {
        const char *cols[] = { "File", "i:Position", "Binlog_Do_DB", "Binlog_Ignore_DB", "Executed_Gtid_Set" };
        rs_header(c, 5, cols);
        snprintf(file, sizeof(file), "binlog.000001");
        snprintf(pos, sizeof(pos), "%lld", binlog_pos(s));
        gpos_text(false, &s->exec, g, sizeof(g));
        const char *v[] = { file, pos, "", "", g };
        rs_row(c, 5, v);
    } else {
        const char *cols[] = { "File", "i:Position", "Binlog_Do_DB", "Binlog_Ignore_DB" };
        rs_header(c, 4, cols);
        snprintf(file, sizeof(file), "mysql-bin.000001");
        snprintf(pos, sizeof(pos), "%lld", binlog_pos(s));
        const char *v[] = { file, pos, "", "" };
        rs_row(c, 4, v);
    }
}

static bool replicates_from(const vserver *r, const vserver *s)
{
    return r->up && !r->hung && r->configured && r->io_run && r->io_conn && r->src == s->idx;
}

static void q_replicas(conn *c, const vserver *s, bool new_form)
{
    char sid[16], port[16], msid[16];
    if (is_mysql(s)) {
        const char *cn[] = { "i:Server_Id", "Host", "i:Port", "i:Source_Id", "Replica_UUID" };
        const char *co[] = { "i:Server_id", "Host", "i:Port", "i:Master_id", "Slave_UUID" };
        rs_header(c, 5, new_form ? cn : co);
    } else {
        const char *cm[] = { "i:Server_id", "Host", "i:Port", "i:Master_id" };
        rs_header(c, 4, cm);
    }
    for (int i = s->cluster * CLUSTER_SIZE; i < (s->cluster + 1) * CLUSTER_SIZE; i++) {
        const vserver *r = &S[i];
        if (!replicates_from(r, s))
            continue;
        snprintf(sid, sizeof(sid), "%d", r->server_id);
        snprintf(port, sizeof(port), "%d", r->port);
        snprintf(msid, sizeof(msid), "%d", s->server_id);
        const char *v[] = { sid, r->ip, port, msid, r->uuid };
        rs_row(c, is_mysql(s) ? 5 : 4, v);
    }
}

static void q_processlist(conn *c, const vserver *s, bool info_schema)
{
    char id[16], host[40];
    if (info_schema) {
        /* what the fence reads (topology/dialect.c DIALECT_STMT_SESSIONS): STATE shows a commit
         * waiting for a semi-sync acknowledgement; this model has none */
        const char *cols[] = { "i:ID", "USER", "COMMAND", "STATE" };
        rs_header(c, 4, cols);
    } else if (is_mysql(s)) {
        const char *cols[] = { "i:Id", "User", "Host", "db", "Command", "i:Time", "State", "Info" };
        rs_header(c, 8, cols);
    } else {
        const char *cols[] = { "i:Id", "User", "Host", "db", "Command", "i:Time", "State", "Info", "d:Progress" };
        rs_header(c, 9, cols);
    }
    int ncol = info_schema ? 4 : is_mysql(s) ? 8 : 9;
    /* binlog dump threads of live replicas */
    for (int i = s->cluster * CLUSTER_SIZE; i < (s->cluster + 1) * CLUSTER_SIZE; i++) {
        const vserver *r = &S[i];
        if (!replicates_from(r, s))
            continue;
        snprintf(id, sizeof(id), "%d", 10 + i % 1000000);
        snprintf(host, sizeof(host), "%s:%d", r->ip, 40000 + i % 20000);
        const char *cmd = is_mysql(s) ? "Binlog Dump GTID" : "Binlog Dump";
        if (info_schema) {
            const char *v[] = { id, "repl", cmd, "Source has sent all binlog to replica; waiting for more updates" };
            rs_row(c, 4, v);
        } else {
            const char *v[] = { id, "repl", host, NULL, cmd, "100",
                                "Source has sent all binlog to replica; waiting for more updates", NULL, "0.000" };
            rs_row(c, ncol, v);
        }
    }
    /* replication threads of this server */
    if (s->configured && (s->io_run || s->sql_run)) {
        const char *user = is_mysql(s) ? "system user" : "system user";
        const char *cmd = is_mysql(s) ? "Connect" : "Slave_IO";
        snprintf(id, sizeof(id), "%d", SIM_IO_THREAD_ID);
        if (info_schema) {
            const char *v[] = { id, user, cmd, "Waiting for source to send event" };
            rs_row(c, 4, v);
        } else {
            const char *v[] = { id, user, "", NULL, cmd, "100", "Waiting for source to send event", NULL, "0.000" };
            rs_row(c, ncol, v);
        }
    }
    /* client sessions */
    for (conn *o = s->conns; o; o = o->next_on_srv) {
        if (o->state != 2)
            continue;
        if (info_schema && o == c)
            continue;
        snprintf(id, sizeof(id), "%u", o->id);
        snprintf(host, sizeof(host), "127.0.0.1:%u", 30000 + o->id % 30000);
        /* a session a KILL ended shows as Killed until it is gone, as on the real servers */
        const char *cmd = o == c ? "Query" : o->closing || o->kill_pending ? "Killed" : "Sleep";
        if (info_schema) {
            const char *v[] = { id, o->user, cmd, "" };
            rs_row(c, 4, v);
        } else {
            const char *v[] = { id, o->user, host, NULL, cmd, "0",
                                o == c ? "starting" : "", o == c ? "SHOW PROCESSLIST" : NULL, "0.000" };
            rs_row(c, ncol, v);
        }
    }
}

static void q_receive(conn *c, const vserver *s)
{
    const char *cols[] = { "CHANNEL_NAME", "SERVICE_STATE", "i:COUNT_RECEIVED_HEARTBEATS", "LAST_HEARTBEAT_TIMESTAMP",
                           "LAST_QUEUED_TRANSACTION", "LAST_QUEUED_TRANSACTION_END_QUEUE_TIMESTAMP",
                           "d:HEARTBEAT_INTERVAL" };
    rs_header(c, 7, cols);
    if (!s->configured)
        return;
    char hbc[32], hbts[64], lq[96], lqts[64], hb[16];
    long long recv_self = 0;
    for (int i = 0; i < s->recv.n; i++)
        recv_self += s->recv.e[i].hi;
    snprintf(hbc, sizeof(hbc), "%lld", (long long)(now_s() * (s->hb > 0 ? 1.0 / s->hb : 0)));
    snprintf(hbts, sizeof(hbts), "2026-01-01 00:00:00.%06lld", (long long)(now_s() * 1000) % 1000000);
    snprintf(lq, sizeof(lq), "%s:%lld", s->src >= 0 ? S[s->src].uuid : "", recv_self);
    snprintf(lqts, sizeof(lqts), "2026-01-01 00:00:00.%06lld", recv_self % 1000000);
    snprintf(hb, sizeof(hb), "%.3f", s->hb);
    const char *v[] = { "", s->io_run ? (s->io_conn ? "ON" : "CONNECTING") : "OFF", hbc,
                        s->io_conn ? hbts : "0000-00-00 00:00:00.000000", lq, lqts, hb };
    rs_row(c, 7, v);
}

static void q_semisync_vars(conn *c, const vserver *s)
{
    const char *cols[] = { "Variable_name", "Value" };
    rs_header(c, 2, cols);
    if (is_mysql(s))
        return; /* plugins not loaded */
    const char *rows[][2] = {
        { "rpl_semi_sync_master_enabled", s->ss_master ? "ON" : "OFF" },
        { "rpl_semi_sync_master_timeout", "10000" },
        { "rpl_semi_sync_master_trace_level", "32" },
        { "rpl_semi_sync_master_wait_no_slave", "ON" },
        { "rpl_semi_sync_master_wait_point", "AFTER_SYNC" },
        { "rpl_semi_sync_slave_delay_master", "OFF" },
        { "rpl_semi_sync_slave_enabled", s->ss_slave ? "ON" : "OFF" },
        { "rpl_semi_sync_slave_kill_conn_timeout", "5" },
        { "rpl_semi_sync_slave_trace_level", "32" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        rs_row(c, 2, rows[i]);
}

static void q_semisync_status(conn *c, const vserver *s)
{
    const char *cols[] = { "Variable_name", "Value" };
    rs_header(c, 2, cols);
    if (is_mysql(s))
        return;
    const char *rows[][2] = {
        { "Rpl_semi_sync_master_clients", "0" },
        { "Rpl_semi_sync_master_status", s->ss_master ? "ON" : "OFF" },
        { "Rpl_semi_sync_slave_status", s->ss_slave && s->io_conn ? "ON" : "OFF" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        rs_row(c, 2, rows[i]);
}

/* Read a quoted literal at p ('...' with '' and \ escapes) into out; returns the end or NULL. */
static const char *read_literal(const char *p, char *out, size_t len)
{
    size_t o = 0;
    if (*p != '\'')
        return NULL;
    p++;
    while (*p) {
        if (*p == '\\' && p[1]) {
            char ch = p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' : p[1];
            if (o + 1 < len)
                out[o++] = ch;
            p += 2;
            continue;
        }
        if (*p == '\'') {
            if (p[1] == '\'') {
                if (o + 1 < len)
                    out[o++] = '\'';
                p += 2;
                continue;
            }
            out[o] = '\0';
            return p + 1;
        }
        if (o + 1 < len)
            out[o++] = *p;
        p++;
    }
    return NULL;
}

/* CHANGE MASTER TO / CHANGE REPLICATION SOURCE TO options. */
static void q_change(conn *c, vserver *s, const char *stmt, const char *u, bool source_form)
{
    const char *p = stmt + (source_form ? strlen("CHANGE REPLICATION SOURCE TO") : strlen("CHANGE MASTER TO"));
    const char *pfx = source_form ? "SOURCE_" : "MASTER_";
    char host[64], user[64];
    int port = s->src_port, retry = s->connect_retry, autopos = s->auto_pos;
    double hb = s->hb;
    bool have_host = false, have_user = false;
    snprintf(host, sizeof(host), "%s", s->src_host);
    snprintf(user, sizeof(user), "%s", s->src_user);
    (void)u;
    if (s->io_run) {
        send_err(c, 1198, "HY000",
                 is_mysql(s) ? "This operation cannot be performed with a running replica io thread; run STOP "
                               "REPLICA IO_THREAD FOR CHANNEL '' first."
                             : "This operation cannot be performed as you have a running slave ''; run STOP SLAVE '' first");
        return;
    }
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (!strncasecmp(p, "FOR CHANNEL", 11)) {
            if (!is_mysql(s)) {
                err_syntax(c, s, p);
                return;
            }
            break;
        }
        const char *k = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(p - k), k);
        for (char *q = key; *q; q++)
            *q = (char)toupper((unsigned char)*q);
        while (*p == ' ')
            p++;
        if (*p != '=') {
            err_syntax(c, s, k);
            return;
        }
        p++;
        while (*p == ' ')
            p++;
        char val[512];
        if (*p == '\'') {
            p = read_literal(p, val, sizeof(val));
            if (!p) {
                err_syntax(c, s, k);
                return;
            }
        } else {
            const char *v = p;
            while (*p && *p != ',' && *p != ' ')
                p++;
            snprintf(val, sizeof(val), "%.*s", (int)(p - v), v);
        }
        /* option names: the form's prefix, or the GET_*_PUBLIC_KEY option */
        const char *opt = key;
        if (!strcmp(key, source_form ? "GET_SOURCE_PUBLIC_KEY" : "GET_MASTER_PUBLIC_KEY")) {
            if (!is_mysql(s)) {
                err_syntax(c, s, k);
                return;
            }
            continue;
        }
        if (strncmp(key, pfx, 7) != 0) {
            err_syntax(c, s, k);
            return;
        }
        opt = key + 7;
        if (!strcmp(opt, "HOST"))
            snprintf(host, sizeof(host), "%.63s", val), have_host = true;
        else if (!strcmp(opt, "PORT"))
            port = atoi(val);
        else if (!strcmp(opt, "USER"))
            snprintf(user, sizeof(user), "%.63s", val), have_user = true;
        else if (!strcmp(opt, "PASSWORD"))
            ;
        else if (!strcmp(opt, "CONNECT_RETRY"))
            retry = atoi(val);
        else if (!strcmp(opt, "HEARTBEAT_PERIOD"))
            hb = atof(val);
        else if (is_mysql(s) && !strcmp(opt, "AUTO_POSITION"))
            autopos = atoi(val);
        else if (!is_mysql(s) && !strcmp(opt, "USE_GTID")) {
            if (strcasecmp(val, "slave_pos") && strcasecmp(val, "current_pos") && strcasecmp(val, "no")) {
                err_syntax(c, s, val);
                return;
            }
            autopos = strcasecmp(val, "no") != 0;
        } else if (!strncmp(opt, "SSL", 3))
            ;
        else {
            err_syntax(c, s, k);
            return;
        }
    }
    (void)have_user;
    if (have_host && strcmp(host, s->src_host) != 0) {
        memset(&s->recv, 0, sizeof(s->recv)); /* a new source: the relay log is reset */
        gpos_merge(!is_mysql(s), &s->recv, &s->exec);
    }
    snprintf(s->src_host, sizeof(s->src_host), "%s", host);
    snprintf(s->src_user, sizeof(s->src_user), "%s", user);
    s->src_port = port;
    s->connect_retry = retry;
    s->hb = hb;
    s->auto_pos = autopos;
    s->configured = s->src_host[0] != '\0';
    s->src = s->configured ? find_server(s->src_host, s->src_port) : -1;
    send_ok(c, false);
}

/* Parse the thread-option tail of START/STOP: "", " IO_THREAD", " SQL_THREAD" [+ FOR CHANNEL ''] */
static int thread_opts(conn *c, const vserver *s, const char *tail, bool *io, bool *sqlt)
{
    *io = *sqlt = true;
    while (*tail == ' ')
        tail++;
    if (starts(tail, "IO_THREAD")) {
        *sqlt = false;
        tail += 9;
    } else if (starts(tail, "SQL_THREAD")) {
        *io = false;
        tail += 10;
    }
    while (*tail == ' ')
        tail++;
    if (starts(tail, "FOR CHANNEL")) {
        if (!is_mysql(s)) {
            err_syntax(c, s, tail);
            return -1;
        }
        tail += 11;
        while (*tail == ' ')
            tail++;
        if (strcmp(tail, "''") != 0) {
            send_err(c, 3074, "HY000", "Replication channel '%s' does not exist.", tail);
            return -1;
        }
        return 0;
    }
    if (*tail) {
        err_syntax(c, s, tail);
        return -1;
    }
    return 0;
}

static void q_start_stop(conn *c, vserver *s, const char *u, bool start, bool slave_word)
{
    const char *tail = u + (start ? 6 : 5) + (slave_word ? 5 : 7);
    bool io, sqlt;
    if (thread_opts(c, s, tail, &io, &sqlt) < 0)
        return;
    if (start && !s->configured) {
        if (is_mysql(s))
            send_err(c, 1200, "HY000", "The server is not configured as replica; fix in config file or with "
                                       "CHANGE REPLICATION SOURCE TO");
        else
            send_err(c, 1200, "HY000", "Misconfigured slave: MASTER_HOST was not set; Fix in config file or with "
                                       "CHANGE MASTER TO");
        return;
    }
    if (io)
        s->io_run = start, s->io_conn = false;
    if (sqlt)
        s->sql_run = start;
    if (start)
        model_tick(now_s(), 0);
    send_ok(c, false);
}

static void q_reset_all(conn *c, vserver *s, const char *tail)
{
    while (*tail == ' ')
        tail++;
    if (starts(tail, "FOR CHANNEL")) {
        if (!is_mysql(s)) {
            err_syntax(c, s, tail);
            return;
        }
    } else if (*tail) {
        err_syntax(c, s, tail);
        return;
    }
    if (s->io_run || s->sql_run) {
        send_err(c, 1198, "HY000", is_mysql(s) ? "This operation cannot be performed with a running replica; run "
                                                 "STOP REPLICA FOR CHANNEL '' first"
                                               : "This operation cannot be performed as you have a running slave ''; "
                                                 "run STOP SLAVE '' first");
        return;
    }
    s->configured = false;
    s->src_host[0] = '\0';
    s->src_user[0] = '\0';
    s->src_port = 3306;
    s->src = -1;
    memset(&s->recv, 0, sizeof(s->recv));
    send_ok(c, false);
}

static void q_set_global(conn *c, vserver *s, const char *stmt, const char *u)
{
    /* SET GLOBAL name = value (one assignment) */
    const char *p = u + 11;
    char name[64];
    size_t n = 0;
    while (*p == ' ')
        p++;
    while ((isalnum((unsigned char)*p) || *p == '_') && n + 1 < sizeof(name))
        name[n++] = (char)tolower((unsigned char)*p++);
    name[n] = '\0';
    while (*p == ' ')
        p++;
    if (*p != '=') {
        err_syntax(c, s, stmt);
        return;
    }
    p++;
    while (*p == ' ')
        p++;
    bool on = !strcmp(p, "1") || !strcmp(p, "ON") || !strcmp(p, "TRUE");
    bool off = !strcmp(p, "0") || !strcmp(p, "OFF") || !strcmp(p, "FALSE");
    if (!strcmp(name, "read_only") && (on || off)) {
        s->read_only = on;
        if (off)
            s->super_ro = false;
    } else if (is_mysql(s) && !strcmp(name, "super_read_only") && (on || off)) {
        s->super_ro = on;
        if (on)
            s->read_only = true;
    } else if (!is_mysql(s) && !strcmp(name, "gtid_slave_pos")) {
        if (!strcmp(p, "@@GLOBAL.GTID_BINLOG_POS"))
            s->slave_pos = s->exec;
        else {
            const char *lit = stmt + (p - u);
            char val[256];
            gpos g;
            if (!read_literal(lit, val, sizeof(val)) || gpos_parse(true, val, &g) < 0) {
                err_syntax(c, s, lit);
                return;
            }
            if (s->io_run || s->sql_run) {
                send_err(c, 1198, "HY000", "This operation cannot be performed as you have a running slave ''; "
                                           "run STOP SLAVE '' first");
                return;
            }
            s->slave_pos = g;
        }
    } else if (!is_mysql(s) && !strcmp(name, "rpl_semi_sync_master_enabled") && (on || off)) {
        s->ss_master = on;
    } else if (!is_mysql(s) && !strcmp(name, "rpl_semi_sync_slave_enabled") && (on || off)) {
        s->ss_slave = on;
    } else if (!strcmp(name, "slave_net_timeout") || (is_mysql(s) && !strcmp(name, "replica_net_timeout"))) {
        ;
    } else {
        send_err(c, 1193, "HY000", "Unknown system variable '%s'", name);
        return;
    }
    send_ok(c, false);
}

/* GTID waits: 1 = answered, 0 = deferred (c->waiting). */
static void wait_answer(conn *c, int v, bool more)
{
    char b[8];
    const char *col[] = { c->q ? c->q : "x" };
    snprintf(b, sizeof(b), "%d", v);
    const char *vals[] = { b };
    const char *cols[] = { col[0] };
    rs_header(c, 1, cols);
    rs_row(c, 1, vals);
    send_eof(c, more);
}

static int q_wait(conn *c, vserver *s, const char *stmt, bool mdb_form, bool last)
{
    const char *p = strchr(stmt, '(');
    char lit[8192];
    gpos g;
    if (mdb_form == is_mysql(s)) {
        send_err(c, 1305, "42000", "FUNCTION %s does not exist",
                 mdb_form ? "MASTER_GTID_WAIT" : "WAIT_FOR_EXECUTED_GTID_SET");
        return 1;
    }
    if (!p || !(p = read_literal(p + 1, lit, sizeof(lit))) || gpos_parse(mdb_form, lit, &g) < 0) {
        send_err(c, 1772, "HY000", "Malformed GTID set specification '%s'.", lit);
        return 1;
    }
    while (*p == ' ' || *p == ',')
        p++;
    double t = atof(p);
    bool have = gpos_contains(mdb_form, mdb_form ? &s->slave_pos : &s->exec, &g);
    if (mdb_form && !have)
        have = gpos_contains(true, &s->exec, &g);
    if (have || !last) {
        free(c->q);
        c->q = strdup(stmt);
        wait_answer(c, have ? 0 : (mdb_form ? -1 : 1), !last);
        free(c->q);
        c->q = NULL;
        return 1;
    }
    c->waiting = true;
    c->wait_pos = g;
    c->wait_mariadb = mdb_form;
    c->wait_deadline = now_s() + t;
    free(c->q);
    c->q = strdup(stmt);
    return 0;
}

/* One statement. more = another statement follows. Returns 1 answered, 0 deferred, -1 stop (error). */
static int run_stmt(conn *c, vserver *s, const char *stmt, bool more)
{
    char u[8192];
    bool my = is_mysql(s), m84 = s->fl == FL_MYSQL84;
    size_t before = c->outlen;
    norm(stmt, u, sizeof(u));
    N_QUERIES++;

    if (starts(u, "SET SESSION ") || starts(u, "SET NAMES") || starts(u, "SET @@SESSION") ||
        starts(u, "SET AUTOCOMMIT") || starts(u, "SET SQL_LOG_BIN")) {
        send_ok(c, more);
    } else if (starts(u, "SET GLOBAL ")) {
        q_set_global(c, s, stmt, u);
    } else if (starts(u, "SELECT WAIT_FOR_EXECUTED_GTID_SET(") || starts(u, "SELECT MASTER_GTID_WAIT(")) {
        const char *orig = stmt;
        while (isspace((unsigned char)*orig))
            orig++;
        return q_wait(c, s, orig, starts(u, "SELECT MASTER_GTID_WAIT("), !more) ? 1 : 0;
    } else if (starts(u, "SELECT @@")) {
        char o[8192];
        const char *orig = stmt;
        while (isspace((unsigned char)*orig))
            orig++;
        snprintf(o, sizeof(o), "%s", orig);
        q_select_vars(c, s, o);
    } else if (starts(u, "SELECT ID, USER, COMMAND, STATE FROM INFORMATION_SCHEMA.PROCESSLIST")) {
        q_processlist(c, s, true);
    } else if (starts(u, "SELECT TRX_MYSQL_THREAD_ID")) {
        const char *cols[] = { "i:trx_mysql_thread_id", "i:TIMESTAMPDIFF(SECOND, trx_started, NOW())",
                               "i:trx_rows_modified" };
        rs_header(c, 3, cols);
    } else if (starts(u, "SELECT S.CHANNEL_NAME AS CHANNEL_NAME")) {
        if (!my)
            send_err(c, 1146, "42S02", "Table 'performance_schema.replication_connection_status' doesn't exist");
        else
            q_receive(c, s);
    } else if (!strcmp(u, "SELECT ID FROM INFORMATION_SCHEMA.PROCESSLIST WHERE COMMAND = 'SLAVE_IO'")) {
        /* the failover's IO-thread KILL (topology/dialect.c DIALECT_STMT_IO_THREAD_IDS, MariaDB):
         * the replication IO thread is session SIM_IO_THREAD_ID here, as in q_processlist */
        const char *cols[] = { "i:ID" };
        rs_header(c, 1, cols);
        if (s->configured && s->io_run) {
            char id[16];
            snprintf(id, sizeof(id), "%d", SIM_IO_THREAD_ID);
            const char *v[] = { id };
            rs_row(c, 1, v);
        }
    } else if (!strcmp(u, "SHOW PROCESSLIST")) {
        q_processlist(c, s, false);
    } else if (!strcmp(u, "SHOW REPLICA STATUS") || !strcmp(u, "SHOW REPLICA STATUS FOR CHANNEL ''")) {
        if (!my && strstr(u, "CHANNEL"))
            err_syntax(c, s, "FOR CHANNEL ''");
        else
            q_replica_status(c, s, false, false);
    } else if (!strcmp(u, "SHOW SLAVE STATUS") || !strcmp(u, "SHOW SLAVE STATUS FOR CHANNEL ''")) {
        if (m84)
            err_syntax(c, s, "SLAVE STATUS");
        else if (!my && strstr(u, "CHANNEL"))
            err_syntax(c, s, "FOR CHANNEL ''");
        else
            q_replica_status(c, s, my, false);
    } else if (!strcmp(u, "SHOW ALL SLAVES STATUS") || !strcmp(u, "SHOW ALL REPLICAS STATUS")) {
        if (my)
            err_syntax(c, s, u + 5);
        else
            q_replica_status(c, s, false, true);
    } else if (!strcmp(u, "SHOW BINARY LOG STATUS")) {
        if (!m84)
            err_syntax(c, s, my ? "BINARY LOG STATUS" : "LOG STATUS");
        else
            q_binlog_status(c, s);
    } else if (!strcmp(u, "SHOW MASTER STATUS")) {
        if (m84)
            err_syntax(c, s, "MASTER STATUS");
        else
            q_binlog_status(c, s);
    } else if (!strcmp(u, "SHOW BINLOG STATUS")) {
        if (my)
            err_syntax(c, s, "BINLOG STATUS");
        else
            q_binlog_status(c, s);
    } else if (!strcmp(u, "SHOW REPLICAS")) {
        if (!my)
            err_syntax(c, s, "REPLICAS");
        else
            q_replicas(c, s, true);
    } else if (!strcmp(u, "SHOW SLAVE HOSTS") || !strcmp(u, "SHOW REPLICA HOSTS")) {
        if (m84 || (my && u[5] == 'R'))
            err_syntax(c, s, u + 5);
        else
            q_replicas(c, s, false);
    } else if (starts(u, "SHOW GLOBAL VARIABLES LIKE 'RPL_SEMI_SYNC%'")) {
        q_semisync_vars(c, s);
    } else if (starts(u, "SHOW GLOBAL STATUS LIKE 'RPL_SEMI_SYNC%'")) {
        q_semisync_status(c, s);
    } else if (starts(u, "STOP SLAVE") || starts(u, "START SLAVE")) {
        if (m84)
            err_syntax(c, s, "SLAVE");
        else
            q_start_stop(c, s, u, u[2] == 'A', true);
    } else if (starts(u, "STOP REPLICA") || starts(u, "START REPLICA")) {
        q_start_stop(c, s, u, u[2] == 'A', false);
    } else if (starts(u, "RESET SLAVE ALL")) {
        if (m84)
            err_syntax(c, s, "SLAVE ALL");
        else
            q_reset_all(c, s, u + 15);
    } else if (starts(u, "RESET REPLICA ALL")) {
        q_reset_all(c, s, u + 17);
    } else if (starts(u, "CHANGE MASTER TO")) {
        if (m84)
            err_syntax(c, s, "MASTER TO");
        else
            q_change(c, s, stmt + (strcasestr(stmt, "CHANGE") - stmt), u, false);
    } else if (starts(u, "CHANGE REPLICATION SOURCE TO")) {
        if (!my)
            err_syntax(c, s, "REPLICATION SOURCE TO");
        else
            q_change(c, s, stmt + (strcasestr(stmt, "CHANGE") - stmt), u, true);
    } else if (starts(u, "KILL CONNECTION ") || starts(u, "KILL ")) {
        unsigned long id = strtoul(u + (starts(u, "KILL CONNECTION ") ? 16 : 5), NULL, 10);
        bool found = false;
        if (id == SIM_IO_THREAD_ID && s->configured && s->io_run) {
            /* killing the replication IO thread stops it (Slave_IO_Running: No, no error) */
            s->io_run = s->io_conn = false;
            found = true;
        }
        for (conn *o = s->conns; o; o = o->next_on_srv)
            if (o->id == id && o != c) {
                o->closing = true;
                found = true;
            }
        if (!found)
            send_err(c, 1094, "HY000", "Unknown thread id: %lu", id);
        else
            send_ok(c, more);
    } else {
        unknown_stmt(c, s, stmt);
    }
    /* An ERR ends the batch; result sets need their closing EOF. */
    if (c->outlen > before && c->out[before + 4] == 0xff)
        return -1;
    if (c->outlen > before && c->out[before + 4] == 0x00 && c->outlen - before < 20) {
        if (more) /* re-flag the OK packet with SERVER_MORE_RESULTS_EXISTS */
            c->out[c->outlen - 4] |= ST_MORE;
        return 1;
    }
    send_eof(c, more);
    return 1;
}

/* Split a COM_QUERY text on ';' outside quotes and run each statement. */
static void run_query(conn *c, const char *q)
{
    vserver *s = &S[c->srv];
    char *copy = strdup(q ? q : "");
    char *stmts[64];
    int n = 0;
    char *p = copy, *st = copy;
    char quote = 0;
    if (!copy)
        die("out of memory");
    for (; *p; p++) {
        if (quote) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"' || *p == '`')
            quote = *p;
        else if (*p == ';') {
            *p = '\0';
            if (n < 64)
                stmts[n++] = st;
            st = p + 1;
        }
    }
    {
        char *t = st;
        while (isspace((unsigned char)*t))
            t++;
        if (*t && n < 64)
            stmts[n++] = st;
    }
    if (n == 0) {
        send_err(c, 1065, "42000", "Query was empty");
        free(copy);
        return;
    }
    if (n > 1 && !(c->caps & CAP_MULTI_STMTS)) {
        err_syntax(c, s, stmts[1]);
        free(copy);
        return;
    }
    for (int i = 0; i < n; i++)
        if (run_stmt(c, s, stmts[i], i + 1 < n) <= 0)
            break;
    free(copy);
    healed_check(s->cluster, now_s());
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

static void conn_arm(conn *c)
{
    struct epoll_event ev = { 0 };
    bool want_out = c->outlen > c->outoff;
    bool paused = S[c->srv].hung || S[c->srv].partitioned;
    ev.events = (paused ? 0 : EPOLLIN) | (want_out && !paused ? EPOLLOUT : 0);
    ev.data.u64 = TAG(T_CONN, c->fd);
    epoll_ctl(EP, EPOLL_CTL_MOD, c->fd, &ev);
    c->armed_out = want_out;
    c->paused = paused;
}

static void conn_close(conn *c)
{
    for (conn **pp = &S[c->srv].conns; *pp; pp = &(*pp)->next_on_srv)
        if (*pp == c) {
            *pp = c->next_on_srv;
            break;
        }
    for (size_t k = 0; k < NCONN; k++)
        if (C[k] == c) {
            C[k] = C[NCONN - 1];
            C[--NCONN] = NULL;
            break;
        }
    epoll_ctl(EP, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c->q);
    free(c);
}

static void conn_flush(conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            c->closing = true;
            return;
        }
        c->outoff += (size_t)w;
    }
    if (c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
}

static void send_handshake(conn *c)
{
    vserver *s = &S[c->srv];
    char ver[64];
    for (int i = 0; i < 20; i++)
        c->scramble[i] = (uint8_t)(33 + rand() % 90);
    snprintf(ver, sizeof(ver), "%s%s", is_mysql(s) ? "" : "5.5.5-", version_of(s));
    c->seq = 0;
    size_t at = pk_start(c);
    put1(c, 10);
    put(c, ver, strlen(ver) + 1);
    put4(c, c->id);
    put(c, c->scramble, 8);
    put1(c, 0);
    put2(c, SERVER_CAPS & 0xffff);
    put1(c, 45);
    put2(c, ST_AUTOCOMMIT);
    put2(c, (SERVER_CAPS >> 16) & 0xffff);
    put1(c, 21);
    for (int i = 0; i < 10; i++)
        put1(c, 0);
    put(c, c->scramble + 8, 12);
    put1(c, 0);
    c->sha2 = MYSQL_SHA2 && is_mysql(s);
    if (c->sha2)
        put(c, "caching_sha2_password", 22);
    else
        put(c, "mysql_native_password", 22);
    pk_end(c, at);
}

/*
 * caching_sha2_password, fast path (MySQL's sha2_password_common.cc): the client sends
 * SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || scramble); the server, holding
 * SHA256(SHA256(pw)) in its cache, recovers SHA256(pw) and checks its hash.
 */
static bool sha2_fast_ok(const conn *c, const uint8_t *resp, size_t n)
{
    uint8_t h[32], stage1[32], check[32];
    if (PASS[0] == '\0')
        return n == 0 || (n == 1 && resp[0] == 0);
    if (n != 32)
        return false;
    sim_sha256_of(PASS_SHA256_2, 32, c->scramble, 20, h);
    for (int i = 0; i < 32; i++)
        stage1[i] = resp[i] ^ h[i];
    sim_sha256_of(stage1, 32, NULL, 0, check);
    return memcmp(check, PASS_SHA256_2, 32) == 0;
}

static bool native_ok(const conn *c, const uint8_t *resp, size_t n)
{
    uint8_t h[20], want[20];
    if (PASS[0] == '\0')
        return n == 0;
    if (n != 20)
        return false;
    /* resp = SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))) */
    sim_sha1_of(c->scramble, 20, PASS_SHA1_2, 20, h);
    for (int i = 0; i < 20; i++)
        want[i] = PASS_SHA1[i] ^ h[i];
    return memcmp(want, resp, 20) == 0;
}

static void auth_done(conn *c, bool ok)
{
    if (ok && c->sha2) {
        /* AuthMoreData: fast_auth_success, then the OK */
        size_t at = pk_start(c);
        put1(c, 0x01);
        put1(c, 0x03);
        pk_end(c, at);
        N_AUTH_SHA2_FAST++;
    } else if (ok) {
        N_AUTH_NATIVE++;
    }
    if (!ok) {
        send_err(c, 1045, "28000", "Access denied for user '%s'@'127.0.0.1' (using password: %s)", c->user,
                 PASS[0] ? "YES" : "NO");
        c->closing = true;
        return;
    }
    c->state = 2;
    send_ok(c, false);
}

static void handle_auth(conn *c, const uint8_t *p, size_t n)
{
    size_t o = 0;
    if (c->state == 1) { /* auth switch response */
        auth_done(c, c->sha2 ? sha2_fast_ok(c, p, n) : native_ok(c, p, n));
        return;
    }
    if (n < 32) {
        c->closing = true;
        return;
    }
    c->caps = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    c->caps &= SERVER_CAPS;
    o = 32;
    size_t ul = strnlen((const char *)p + o, n - o);
    if (o + ul >= n) {
        c->closing = true;
        return;
    }
    snprintf(c->user, sizeof(c->user), "%.*s", (int)ul, p + o);
    o += ul + 1;
    const uint8_t *auth = NULL;
    size_t alen = 0;
    if (c->caps & CAP_LENENC_AUTH) {
        if (o >= n || p[o] >= 251) {
            c->closing = true;
            return;
        }
        alen = p[o++];
    } else if (c->caps & CAP_SECURE) {
        if (o >= n) {
            c->closing = true;
            return;
        }
        alen = p[o++];
    }
    if (o + alen > n) {
        c->closing = true;
        return;
    }
    auth = p + o;
    o += alen;
    if (c->caps & CAP_CONNECT_WITH_DB) {
        size_t dl = strnlen((const char *)p + o, o < n ? n - o : 0);
        o += dl + 1;
    }
    char plugin[64] = "mysql_native_password";
    if ((c->caps & CAP_PLUGIN_AUTH) && o < n)
        snprintf(plugin, sizeof(plugin), "%.*s", (int)strnlen((const char *)p + o, n - o), p + o);
    if (strcmp(c->user, USER) != 0 && strcmp(c->user, CLIENT_USER) != 0) {
        auth_done(c, false);
        return;
    }
    if (strcmp(plugin, c->sha2 ? "caching_sha2_password" : "mysql_native_password") != 0) {
        /* AuthSwitchRequest to the account's plugin with a fresh scramble */
        for (int i = 0; i < 20; i++)
            c->scramble[i] = (uint8_t)(33 + rand() % 90);
        size_t at = pk_start(c);
        put1(c, 0xfe);
        put(c, c->sha2 ? "caching_sha2_password" : "mysql_native_password", 22);
        put(c, c->scramble, 20);
        put1(c, 0);
        pk_end(c, at);
        c->state = 1;
        return;
    }
    auth_done(c, c->sha2 ? sha2_fast_ok(c, auth, alen) : native_ok(c, auth, alen));
}

static void handle_packet(conn *c, const uint8_t *p, size_t n)
{
    vserver *s = &S[c->srv];
    if (c->state < 2) {
        handle_auth(c, p, n);
        return;
    }
    c->seq = 1;
    if (n == 0)
        return;
    switch (p[0]) {
    case 0x01: /* COM_QUIT */
        c->closing = true;
        return;
    case 0x0e: /* COM_PING */
        send_ok(c, false);
        return;
    case 0x02: /* COM_INIT_DB */
        send_ok(c, false);
        return;
    case 0x03: { /* COM_QUERY */
        N_COM_QUERY++;
        char *q = malloc(n);
        if (!q)
            die("out of memory");
        memcpy(q, p + 1, n - 1);
        q[n - 1] = '\0';
        /* killdelay: MariaDB's KILL of a session waiting on a condition can take up to 2 s to
         * return (THD::awake_no_mutex retries the wait's mutex); the answer comes that much later */
        bool kill_late = s->kill_delay_ms > 0 && n > 5 && !strncasecmp(q, "KILL ", 5);
        if (kill_late) { /* the session is marked at once (Killed in the processlist), ended with the answer */
            const char *idp = q + 5 + (!strncasecmp(q + 5, "CONNECTION ", 11) ? 11 : 0);
            unsigned long id = strtoul(idp, NULL, 10);
            for (conn *o = s->conns; o; o = o->next_on_srv)
                if (o->id == id && o != c && !o->kill_pending) {
                    o->kill_pending = true;
                    o->kill_at = now_s() + s->kill_delay_ms / 1000.0;
                }
        }
        if (s->slow_ms > 0 || kill_late) {
            free(c->q);
            c->q = q;
            c->qlen = n - 1;
            c->ready_at = now_s() + (s->slow_ms + (kill_late ? s->kill_delay_ms : 0)) / 1000.0;
            return;
        }
        run_query(c, q);
        free(q);
        return;
    }
    default:
        send_err(c, 1047, "08S01", "Unknown command");
    }
}

static void conn_read(conn *c)
{
    for (;;) {
        if (c->incap - c->inlen < 4096) {
            c->incap = c->incap ? c->incap * 2 : 8192;
            if (c->incap > MAX_PACKET + 8192) {
                c->closing = true;
                return;
            }
            c->in = xrealloc(c->in, c->incap);
        }
        ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
        if (r == 0) {
            c->closing = true;
            return;
        }
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->closing = true;
            break;
        }
        c->inlen += (size_t)r;
    }
    size_t off = 0;
    /* one packet at a time while no query is deferred (the protocol is request/response) */
    while (!c->closing && !c->q && !c->waiting && c->inlen - off >= 4) {
        size_t len = c->in[off] | (size_t)c->in[off + 1] << 8 | (size_t)c->in[off + 2] << 16;
        if (len > MAX_PACKET) {
            c->closing = true;
            break;
        }
        if (c->inlen - off < 4 + len)
            break;
        c->seq = (uint8_t)(c->in[off + 3] + 1);
        handle_packet(c, c->in + off + 4, len);
        if (c->state == 2 && !c->q)
            c->seq = 0;
        off += 4 + len;
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
}

static void srv_listen(vserver *s)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
    int one = 1;
    inet_pton(AF_INET, s->ip, &a.sin_addr);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0)
        die("socket: %s (raise ulimit -n: %d servers need about 2 descriptors each)", strerror(errno), NS);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("bind %s:%d: %s", s->ip, s->port, strerror(errno));
    if (listen(s->lfd, 128) < 0)
        die("listen %s:%d: %s", s->ip, s->port, strerror(errno));
    struct epoll_event ev = { .events = s->hung || s->partitioned ? 0 : EPOLLIN, .data.u64 = TAG(T_LISTEN, s->idx) };
    epoll_ctl(EP, EPOLL_CTL_ADD, s->lfd, &ev);
}

static void srv_rearm(vserver *s)
{
    if (s->lfd >= 0) {
        struct epoll_event ev = { .events = s->hung || s->partitioned ? 0 : EPOLLIN,
                                  .data.u64 = TAG(T_LISTEN, s->idx) };
        epoll_ctl(EP, EPOLL_CTL_MOD, s->lfd, &ev);
    }
    for (conn *o = s->conns; o; o = o->next_on_srv)
        conn_arm(o);
}

/* fd → conn map (fds are small integers) */
static conn **FDMAP;
static size_t FDMAPN;

static void fdmap_set(int fd, conn *c)
{
    if ((size_t)fd >= FDMAPN) {
        size_t n = FDMAPN ? FDMAPN : 1024;
        while (n <= (size_t)fd)
            n *= 2;
        FDMAP = xrealloc(FDMAP, n * sizeof(*FDMAP));
        memset(FDMAP + FDMAPN, 0, (n - FDMAPN) * sizeof(*FDMAP));
        FDMAPN = n;
    }
    FDMAP[fd] = c;
}

static void conn_close_mapped(conn *c)
{
    fdmap_set(c->fd, NULL);
    conn_close(c);
}

static void srv_accept(vserver *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            static bool said;
            if ((errno == EMFILE || errno == ENFILE) && !said) {
                said = true;
                fprintf(stderr, "fleetsim: out of file descriptors (%s): raise ulimit -n\n", strerror(errno));
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn *c = calloc(1, sizeof(*c));
        if (!c)
            die("out of memory");
        c->fd = fd;
        c->srv = s->idx;
        c->id = NEXT_ID++;
        if (NCONN == CAPCONN) {
            CAPCONN = CAPCONN ? CAPCONN * 2 : 1024;
            C = xrealloc(C, CAPCONN * sizeof(*C));
        }
        C[NCONN++] = c;
        c->next_on_srv = s->conns;
        s->conns = c;
        fdmap_set(fd, c);
        N_CONNECTS++;
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(T_CONN, fd) };
        epoll_ctl(EP, EPOLL_CTL_ADD, fd, &ev);
        send_handshake(c);
        conn_flush(c);
        conn_arm(c);
    }
}

/* The cluster's one writable live server if every other live server is a read-only replica of it
 * with both threads running, else -1. */
static int cluster_healthy(int ci)
{
    int p = -1, nw = 0;
    for (int i = ci * CLUSTER_SIZE; i < (ci + 1) * CLUSTER_SIZE; i++)
        if (S[i].up && !S[i].read_only)
            p = i, nw++;
    if (nw != 1)
        return -1;
    for (int i = ci * CLUSTER_SIZE; i < (ci + 1) * CLUSTER_SIZE; i++) {
        const vserver *r = &S[i];
        if (i == p || !r->up)
            continue;
        if (!r->configured || r->src != p || !r->io_run || !r->io_conn || !r->sql_run || !r->read_only)
            return -1;
    }
    return p;
}

/* After anything that may have changed cluster ci: healthy again since its last kill? */
static void healed_check(int ci, double now)
{
    if (N_AWAITING && KILL_AT[ci] > 0 && HEALED_AT[ci] == 0 && cluster_healthy(ci) >= 0) {
        HEALED_AT[ci] = now;
        N_AWAITING--;
    }
}

static void srv_kill(vserver *s)
{
    if (!s->up)
        return;
    s->up = false;
    if (KILL_AT[s->cluster] == 0 || HEALED_AT[s->cluster] > 0)
        N_AWAITING++;
    KILL_AT[s->cluster] = now_s();
    HEALED_AT[s->cluster] = 0;
    if (s->lfd >= 0) {
        epoll_ctl(EP, EPOLL_CTL_DEL, s->lfd, NULL);
        close(s->lfd);
        s->lfd = -1;
    }
    while (s->conns) {
        conn *c = s->conns;
        struct linger l = { 1, 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        conn_close_mapped(c);
    }
    s->io_conn = false;
    /* Its replicas' IO threads see the connection reset at once, as a real replica's does when
     * its source's process dies (not at the next model tick, up to 50 ms later: that delayed
     * every crash detection by a random 0-50 ms, the fleet bench's failover outliers). */
    for (int i = 0; i < NS; i++) {
        vserver *r = &S[i];
        if (r->up && r->io_run && r->src == s->idx && r != s) {
            r->io_conn = false;
            r->io_errno = 2003;
        }
    }
}

static void srv_start(vserver *s, bool ro)
{
    if (s->up)
        return;
    s->up = true;
    s->hung = s->partitioned = false;
    s->read_only = ro;
    s->super_ro = false;
    if (s->configured) /* replica threads start at boot (no skip_replica_start) */
        s->io_run = s->sql_run = true;
    srv_listen(s);
}

/* ------------------------------------------------------------------------ */
/* Control interface                                                         */
/* ------------------------------------------------------------------------ */

static int ctl_find(const char *a)
{
    char ip[64];
    int port = -1;
    snprintf(ip, sizeof(ip), "%s", a);
    char *colon = strchr(ip, ':');
    if (colon) {
        *colon = '\0';
        port = atoi(colon + 1);
    }
    if (ip[0] == '#')
        return atoi(ip + 1) >= 0 && atoi(ip + 1) < NS ? atoi(ip + 1) : -1;
    return find_server(ip, port);
}

static void ctl_reply(ctlconn *k, const char *fmt, ...)
{
    char buf[65536];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2;
    buf[n++] = '\n';
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = send(k->fd, buf + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                usleep(1000);
                continue;
            }
            return;
        }
        off += (size_t)w;
    }
}

static void srv_state(const vserver *s, char *buf, size_t len)
{
    char g[2048];
    gpos_text(!is_mysql(s), &s->exec, g, sizeof(g));
    for (char *p = g; *p; p++)
        if (*p == '\n')
            *p = ' ';
    snprintf(buf, len,
             "addr=%s:%d flavor=%s up=%d hung=%d partitioned=%d slow_ms=%d read_only=%d super_read_only=%d "
             "source=%s:%d io=%s sql=%s lag=%.1f writes=%lld gtid=%s",
             s->ip, s->port, version_of(s), s->up, s->hung, s->partitioned, s->slow_ms, s->read_only, s->super_ro,
             s->configured ? s->src_host : "-", s->configured ? s->src_port : 0,
             !s->io_run ? "No" : s->io_conn ? "Yes" : "Connecting", s->sql_run ? "Yes" : "No", s->lag_s, s->writes,
             g[0] ? g : "-");
}

/* One cluster's word(s) of a reply, appended at out (room for len); snprintf's count. */
typedef int (*cluster_put_fn)(char *out, size_t len, int ci);

/* "healthy": its one writable live server if every other live server is a read-only replica of it
 * with both threads running, else "-". */
static int put_healthy(char *out, size_t len, int ci)
{
    int p = ci >= 0 && ci < NC ? cluster_healthy(ci) : -1;
    return p >= 0 ? snprintf(out, len, "%s:%d", S[p].ip, S[p].port) : snprintf(out, len, "-:0");
}

/* "healed": "KILL_AT HEALED_AT" (simulator clock, s; 0 none). */
static int put_healed(char *out, size_t len, int ci)
{
    bool ok = ci >= 0 && ci < NC;
    return snprintf(out, len, "%.6f %.6f", ok ? KILL_AT[ci] : 0.0, ok ? HEALED_AT[ci] : 0.0);
}

/* "ok" and each cluster index's word(s), space-separated; an error, never a shorter list, when
 * they do not fit in one reply (ask for fewer clusters at a time). */
static void ctl_reply_clusters(ctlconn *k, int argc, char **argv, cluster_put_fn put)
{
    char out[60000];
    size_t o = 0;
    for (int a = 1; a < argc; a++) {
        int w;
        if (o) {
            if (o + 1 >= sizeof(out))
                goto too_long;
            out[o++] = ' ';
        }
        w = put(out + o, sizeof(out) - o, atoi(argv[a]));
        if (w < 0 || (size_t)w >= sizeof(out) - o)
            goto too_long;
        o += (size_t)w;
    }
    out[o] = '\0';
    ctl_reply(k, "ok %s", out);
    return;
too_long:
    ctl_reply(k, "err %s: the answer for %d clusters does not fit in one reply: ask for fewer", argv[0], argc - 1);
}

static void ctl_line(ctlconn *k, char *line)
{
    char *argv[1024];
    int argc = 0;
    for (char *t = strtok(line, " \t\r"); t && argc < 1024; t = strtok(NULL, " \t\r"))
        argv[argc++] = t;
    if (argc == 0)
        return;
    const char *cmd = argv[0];
    if (!strcmp(cmd, "stats")) {
        size_t up = 0;
        for (int i = 0; i < NS; i++)
            up += S[i].up;
        ctl_reply(k, "ok servers=%d up=%zu conns=%zu connects=%llu com_query=%llu statements=%llu unknown=%llu "
                  "auth_native=%llu auth_sha2_fast=%llu last_unknown=%s", NS, up, NCONN, N_CONNECTS, N_COM_QUERY,
                  N_QUERIES, N_UNKNOWN, N_AUTH_NATIVE, N_AUTH_SHA2_FAST, LAST_UNKNOWN[0] ? LAST_UNKNOWN : "-");
        return;
    }
    if (!strcmp(cmd, "primaries")) {
        /* the writable live servers of each cluster: "cluster addr [addr...]" joined by ';' */
        char out[8000];
        size_t o = 0;
        int ci = argc > 1 ? atoi(argv[1]) : -1;
        for (int c = 0; c < NC; c++) {
            if (ci >= 0 && c != ci)
                continue;
            int w = snprintf(out + o, sizeof(out) - o, "%s%s", o ? ";" : "", CNAMES[c]);
            if (w < 0 || (size_t)w >= sizeof(out) - o)
                break;
            o += (size_t)w;
            for (int i = c * CLUSTER_SIZE; i < (c + 1) * CLUSTER_SIZE; i++)
                if (S[i].up && !S[i].read_only) {
                    w = snprintf(out + o, sizeof(out) - o, " %s", S[i].ip);
                    if (w < 0 || (size_t)w >= sizeof(out) - o)
                        break;
                    o += (size_t)w;
                }
        }
        ctl_reply(k, "ok %s", out);
        return;
    }
    if (!strcmp(cmd, "healed") || !strcmp(cmd, "healthy")) {
        ctl_reply_clusters(k, argc, argv, !strcmp(cmd, "healed") ? put_healed : put_healthy);
        return;
    }
    if (argc < 2) {
        ctl_reply(k, "err usage: %s ADDR|#INDEX ...", cmd);
        return;
    }
    int ids[1024], n = 0;
    int nargs = (!strcmp(cmd, "kill") || !strcmp(cmd, "hang") || !strcmp(cmd, "resume") ||
                 !strcmp(cmd, "partition") || !strcmp(cmd, "heal")) ? argc - 1 : 1;
    for (int i = 1; i <= nargs; i++) {
        int id = ctl_find(argv[i]);
        if (id < 0) {
            ctl_reply(k, "err no virtual server %s", argv[i]);
            return;
        }
        ids[n++] = id;
    }
    vserver *s = &S[ids[0]];
    double now = now_s();
    if (!strcmp(cmd, "kill")) {
        for (int i = 0; i < n; i++)
            srv_kill(&S[ids[i]]);
        /* replicas see the closed stream at once */
        model_tick(now, 0);
    } else if (!strcmp(cmd, "start")) {
        srv_start(s, !(argc > 2 && !strcmp(argv[2], "ro=0")));
    } else if (!strcmp(cmd, "hang")) {
        for (int i = 0; i < n; i++)
            if (!S[ids[i]].hung) {
                S[ids[i]].hung = true;
                S[ids[i]].hung_since = now;
                srv_rearm(&S[ids[i]]);
            }
    } else if (!strcmp(cmd, "resume")) {
        for (int i = 0; i < n; i++) {
            S[ids[i]].hung = false;
            srv_rearm(&S[ids[i]]);
        }
    } else if (!strcmp(cmd, "partition")) {
        for (int i = 0; i < n; i++) {
            S[ids[i]].partitioned = true;
            srv_rearm(&S[ids[i]]);
        }
    } else if (!strcmp(cmd, "heal")) {
        for (int i = 0; i < n; i++) {
            S[ids[i]].partitioned = false;
            srv_rearm(&S[ids[i]]);
        }
    } else if (!strcmp(cmd, "slow") && argc > 2) {
        s->slow_ms = atoi(argv[2]);
    } else if (!strcmp(cmd, "killdelay") && argc > 2) {
        s->kill_delay_ms = atoi(argv[2]);
    } else if (!strcmp(cmd, "write") && argc > 2) {
        if (!s->up || s->hung) {
            ctl_reply(k, "err %s is not answering", s->ip);
            return;
        }
        if (s->read_only && !(argc > 3 && !strcmp(argv[3], "force"))) {
            ctl_reply(k, "err 1290 The MySQL server is running with the --read-only option so it cannot "
                         "execute this statement");
            return;
        }
        do_write(s, atoll(argv[2]));
    } else if (!strcmp(cmd, "rate") && argc > 2) {
        s->rate = atof(argv[2]);
    } else if (!strcmp(cmd, "lag") && argc > 2) {
        s->lag_s = atof(argv[2]);
    } else if (!strcmp(cmd, "status")) {
        ;
    } else {
        ctl_reply(k, "err unknown command %s (kill start hang resume partition heal slow killdelay write rate lag "
                     "status "
                     "stats primaries)", cmd);
        return;
    }
    char st[4096];
    srv_state(s, st, sizeof(st));
    ctl_reply(k, "ok %s", st);
}

static void ctl_read(int slot)
{
    ctlconn *k = CTL[slot];
    ssize_t r = recv(k->fd, k->buf + k->len, sizeof(k->buf) - 1 - k->len, 0);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        epoll_ctl(EP, EPOLL_CTL_DEL, k->fd, NULL);
        close(k->fd);
        free(k);
        CTL[slot] = NULL;
        return;
    }
    k->len += (size_t)r;
    k->buf[k->len] = '\0';
    char *nl;
    while ((nl = memchr(k->buf, '\n', k->len))) {
        *nl = '\0';
        ctl_line(k, k->buf);
        size_t used = (size_t)(nl - k->buf) + 1;
        memmove(k->buf, k->buf + used, k->len - used);
        k->len -= used;
    }
    if (k->len == sizeof(k->buf) - 1) {
        ctl_reply(k, "err line too long");
        k->len = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
            "usage: fleetsim --fleet FLAVOR:N[,FLAVOR:N...] --user U --password-file F --fleet-out FILE\n"
            "                --control SOCKET [--size 4] [--net 1] [--port 3306] [--rate W]\n"
            "                [--net-timeout S] [--prefix CLUSTER_NAME_PREFIX] [--log-unknown]\n"
            "                [--mysql-auth mysql_native_password|caching_sha2_password]\n"
            "  FLAVOR: mysql80 | mysql84 | mariadb (10.11); N clusters of --size servers each\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *fleet = NULL, *pwfile = NULL, *fleet_out = NULL, *ctl_path = NULL, *prefix = "c";
    int net = 1, port = 3306;
    SIM_NET = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--log-unknown")) {
            LOG_UNKNOWN = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--fleet")) fleet = v;
        else if (!strcmp(a, "--user")) snprintf(USER, sizeof(USER), "%s", v);
        else if (!strcmp(a, "--password-file")) pwfile = v;
        else if (!strcmp(a, "--fleet-out")) fleet_out = v;
        else if (!strcmp(a, "--control")) ctl_path = v;
        else if (!strcmp(a, "--size")) CLUSTER_SIZE = atoi(v);
        else if (!strcmp(a, "--net")) net = SIM_NET = atoi(v);
        else if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--rate")) DEFAULT_RATE = atof(v);
        else if (!strcmp(a, "--net-timeout")) NET_TIMEOUT = atof(v);
        else if (!strcmp(a, "--prefix")) prefix = v;
        else if (!strcmp(a, "--mysql-auth")) {
            if (!v || (strcmp(v, "caching_sha2_password") && strcmp(v, "mysql_native_password")))
                die("--mysql-auth: mysql_native_password or caching_sha2_password");
            MYSQL_SHA2 = !strcmp(v, "caching_sha2_password");
        }
        else usage();
    }
    if (!fleet || !USER[0] || !pwfile || !fleet_out || !ctl_path || CLUSTER_SIZE < 1 || CLUSTER_SIZE > 64 ||
        net < 1 || net > 254 || port < 1 || port > 65535)
        usage();
    {
        FILE *f = fopen(pwfile, "r");
        if (!f)
            die("cannot read %s: %s", pwfile, strerror(errno));
        if (!fgets(PASS, sizeof(PASS), f))
            PASS[0] = '\0';
        fclose(f);
        PASS[strcspn(PASS, "\r\n")] = '\0';
        sim_sha1_of(PASS, strlen(PASS), NULL, 0, PASS_SHA1);
        sim_sha1_of(PASS_SHA1, 20, NULL, 0, PASS_SHA1_2);
        {
            uint8_t st1[32];
            sim_sha256_of(PASS, strlen(PASS), NULL, 0, st1);
            sim_sha256_of(st1, 32, NULL, 0, PASS_SHA256_2);
        }
    }
    /* fleet spec */
    {
        char spec[4096];
        snprintf(spec, sizeof(spec), "%s", fleet);
        for (char *t = strtok(spec, ","); t; t = strtok(NULL, ",")) {
            char *colon = strchr(t, ':');
            if (!colon)
                usage();
            *colon = '\0';
            int cnt = atoi(colon + 1);
            flavor fl;
            if (!strcmp(t, "mysql80")) fl = FL_MYSQL80;
            else if (!strcmp(t, "mysql84")) fl = FL_MYSQL84;
            else if (!strcmp(t, "mariadb")) fl = FL_MARIADB;
            else usage();
            if (cnt < 1 || cnt > 100000)
                usage();
            for (int c = 0; c < cnt; c++) {
                CNAMES = xrealloc(CNAMES, (size_t)(NC + 1) * sizeof(*CNAMES));
                KILL_AT = xrealloc(KILL_AT, (size_t)(NC + 1) * sizeof(*KILL_AT));
                HEALED_AT = xrealloc(HEALED_AT, (size_t)(NC + 1) * sizeof(*HEALED_AT));
                KILL_AT[NC] = HEALED_AT[NC] = 0;
                CNAMES[NC] = malloc(32);
                if (!CNAMES[NC])
                    die("out of memory");
                snprintf(CNAMES[NC], 32, "%.20s%05d", prefix, NC);
                S = xrealloc(S, (size_t)(NS + CLUSTER_SIZE) * sizeof(*S));
                for (int k = 0; k < CLUSTER_SIZE; k++) {
                    vserver *s = &S[NS];
                    memset(s, 0, sizeof(*s));
                    s->idx = NS;
                    s->cluster = NC;
                    s->fl = fl;
                    if (NS / 250 > 255)
                        die("too many servers for one /16 (%d)", NS);
                    snprintf(s->ip, sizeof(s->ip), "127.%d.%d.%d", net & 255, (NS / 250) & 255, NS % 250 + 1);
                    s->port = port;
                    s->lfd = -1;
                    s->server_id = NS + 1;
                    snprintf(s->uuid, sizeof(s->uuid), "3e11fa47-71ca-11e1-9e33-%012x", NS + 1);
                    s->rate = DEFAULT_RATE;
                    s->up = true;
                    s->hb = 1.0;
                    s->connect_retry = 1;
                    s->src = -1;
                    if (k == 0) {
                        s->read_only = false;
                        do_write(s, 10);
                    } else {
                        vserver *p = &S[NS - k];
                        s->read_only = true;
                        s->super_ro = fl != FL_MARIADB;
                        s->configured = true;
                        snprintf(s->src_host, sizeof(s->src_host), "%s", p->ip);
                        s->src_port = port;
                        snprintf(s->src_user, sizeof(s->src_user), "repl");
                        s->auto_pos = 1;
                        s->io_run = s->sql_run = true;
                        s->src = p->idx;
                    }
                    NS++;
                }
                NC++;
            }
        }
    }
    {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rlim_t need = (rlim_t)NS * 4 + 1024; /* listener + sessions (probe, executor, reconnects) */
        if (rl.rlim_cur < need) {
            struct rlimit want = { need, need > rl.rlim_max ? need : rl.rlim_max };
            if (setrlimit(RLIMIT_NOFILE, &want) != 0) { /* not root: as far as the hard limit goes */
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
            }
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur < need)
            fprintf(stderr, "fleetsim: warning: RLIMIT_NOFILE %llu < %llu (a listener and up to three sessions "
                            "per server): run as root or raise ulimit -n\n",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
    }
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    EP = epoll_create1(EPOLL_CLOEXEC);
    if (EP < 0)
        die("epoll_create1: %s", strerror(errno));
    for (int i = 0; i < NS; i++)
        srv_listen(&S[i]);
    model_tick(now_s(), 0);
    /* control socket */
    int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_un su = { .sun_family = AF_UNIX };
    if (strlen(ctl_path) >= sizeof(su.sun_path))
        die("control socket path too long (max %zu): %s", sizeof(su.sun_path) - 1, ctl_path);
    strcpy(su.sun_path, ctl_path);
    unlink(ctl_path);
    if (cfd < 0 || bind(cfd, (struct sockaddr *)&su, sizeof(su)) < 0 || listen(cfd, 16) < 0)
        die("control socket %s: %s", ctl_path, strerror(errno));
    struct epoll_event cev = { .events = EPOLLIN, .data.u64 = TAG(T_CTL_LISTEN, 0) };
    epoll_ctl(EP, EPOLL_CTL_ADD, cfd, &cev);
    /* fleet file, written last: its presence means ready */
    {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", fleet_out);
        FILE *f = fopen(tmp, "w");
        if (!f)
            die("cannot write %s: %s", tmp, strerror(errno));
        for (int c = 0; c < NC; c++) {
            fprintf(f, "%s %s", CNAMES[c], S[c * CLUSTER_SIZE].fl == FL_MARIADB   ? "mariadb"
                                           : S[c * CLUSTER_SIZE].fl == FL_MYSQL80 ? "mysql80"
                                                                                  : "mysql84");
            for (int i = c * CLUSTER_SIZE; i < (c + 1) * CLUSTER_SIZE; i++)
                fprintf(f, " %s:%d", S[i].ip, S[i].port);
            fprintf(f, "\n");
        }
        if (fclose(f) != 0 || rename(tmp, fleet_out) != 0)
            die("cannot write %s: %s", fleet_out, strerror(errno));
    }
    double last = now_s();
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(EP, evs, 512, 20);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            int type = (int)(tag >> 32), id = (int)(uint32_t)tag;
            if (type == T_LISTEN) {
                if (S[id].up && S[id].lfd >= 0 && !S[id].hung && !S[id].partitioned)
                    srv_accept(&S[id]);
            } else if (type == T_CTL_LISTEN) {
                int fd = accept4(cfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd >= 0) {
                    int slot = -1;
                    for (int k = 0; k < 64; k++)
                        if (!CTL[k]) {
                            slot = k;
                            break;
                        }
                    if (slot < 0) {
                        close(fd);
                        continue;
                    }
                    CTL[slot] = calloc(1, sizeof(ctlconn));
                    if (!CTL[slot])
                        die("out of memory");
                    CTL[slot]->fd = fd;
                    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(T_CTL, slot) };
                    epoll_ctl(EP, EPOLL_CTL_ADD, fd, &ev);
                }
            } else if (type == T_CTL) {
                if (CTL[id])
                    ctl_read(id);
            } else if (type == T_CONN) {
                conn *c = (size_t)id < FDMAPN ? FDMAP[id] : NULL;
                if (!c)
                    continue;
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    conn_read(c);
                if (!c->closing)
                    conn_flush(c);
                if (c->closing) {
                    conn_flush(c);
                    conn_close_mapped(c);
                } else if ((c->outlen > c->outoff) != c->armed_out)
                    conn_arm(c);
            }
        }
        double now = now_s();
        if (now - last >= 0.05) {
            model_tick(now, now - last);
            last = now;
        }
        /* deferred queries and GTID waits; connections a KILL marked: every 5 ms, not on every
         * wakeup (a scan of 10,000 sessions per event made the simulator its own bottleneck) */
        static double last_scan;
        if (now - last_scan < 0.005)
            continue;
        last_scan = now;
        for (size_t k = 0; k < NCONN;) {
            conn *c = C[k];
            vserver *s = &S[c->srv];
            if (c->closing || (c->kill_pending && now >= c->kill_at)) {
                conn_close_mapped(c);
                continue;
            }
            if (!s->hung && !s->partitioned) {
                if (c->waiting) {
                    bool have = gpos_contains(c->wait_mariadb, c->wait_mariadb ? &s->slave_pos : &s->exec,
                                              &c->wait_pos) ||
                                (c->wait_mariadb && gpos_contains(true, &s->exec, &c->wait_pos));
                    if (have || now >= c->wait_deadline) {
                        c->waiting = false;
                        wait_answer(c, have ? 0 : (c->wait_mariadb ? -1 : 1), false);
                        free(c->q);
                        c->q = NULL;
                        c->seq = 0;
                        conn_flush(c);
                        conn_arm(c);
                        conn_read(c);
                    }
                } else if (c->q && now >= c->ready_at) {
                    char *q = c->q;
                    c->q = NULL;
                    run_query(c, q);
                    free(q);
                    if (!c->waiting) {
                        free(c->q);
                        c->q = NULL;
                    }
                    conn_flush(c);
                    conn_arm(c);
                }
            }
            k++;
        }
    }
    return 0;
}
