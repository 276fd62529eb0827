/*
 * tests/unit/test_config.c — configuration loading and validation.
 *
 * Table-driven: every row of cases[] is a config text written (with its
 * password files) into a fresh mkdtemp directory, then loaded. A row either
 * expects success and runs a check function, or expects an error code and
 * substrings of the one error message (including "myorch.ini:LINE:").
 * In texts and expected messages "@DIR@" becomes the temporary directory
 * and "@X<n>@" becomes n 'x' characters (for length limits).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "orchestrator/config.h"

/* ------------------------------------------------------------------ wipe spy */

/*
 * This definition takes the place of libc's explicit_bzero() for the code
 * linked into this test, so cfg_free() can be checked to wipe each secret
 * (the memory itself cannot be inspected after it is freed).
 */
#define MAX_WIPES 64
static struct {
    const void *ptr;
    size_t len;
    char before[64];
} wipes[MAX_WIPES];
static size_t n_wipes;
static bool wipe_recording;

void explicit_bzero(void *s, size_t n)
{
    if (wipe_recording && n_wipes < MAX_WIPES) {
        size_t keep = n < sizeof(wipes[0].before) - 1 ? n : sizeof(wipes[0].before) - 1;
        wipes[n_wipes].ptr = s;
        wipes[n_wipes].len = n;
        memcpy(wipes[n_wipes].before, s, keep);
        wipes[n_wipes].before[keep] = '\0';
        n_wipes++;
    }
    memset(s, 0, n);
    __asm__ __volatile__("" : : "r"(s) : "memory");
}

/* With -D_FORTIFY_SOURCE, glibc's headers route explicit_bzero() here. */
void __explicit_bzero_chk(void *s, size_t n, size_t dest_len);
void __explicit_bzero_chk(void *s, size_t n, size_t dest_len)
{
    (void)dest_len;
    explicit_bzero(s, n);
}

/* ------------------------------------------------------------------ helpers */

struct buf {
    char *s;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *ns = realloc(b->s, cap);
        assert_non_null(ns);
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Expand @DIR@ and @X<n>@ in t. Returns a heap string. */
static char *expand(const char *t, const char *dir)
{
    struct buf b = { 0 };
    buf_add(&b, "", 0);
    while (*t) {
        if (strncmp(t, "@DIR@", 5) == 0) {
            buf_add(&b, dir, strlen(dir));
            t += 5;
            continue;
        }
        if (t[0] == '@' && t[1] == 'X' && isdigit((unsigned char)t[2])) {
            char *end;
            unsigned long n = strtoul(t + 2, &end, 10);
            if (*end == '@') {
                for (unsigned long i = 0; i < n; i++)
                    buf_add(&b, "x", 1);
                t = end + 1;
                continue;
            }
        }
        buf_add(&b, t, 1);
        t++;
    }
    return b.s;
}

static void write_file(const char *path, const char *content, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0); /* exact mode, whatever the umask */
    assert_int_equal(close(fd), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Fixture for the hand-written tests: *state is a fresh temporary directory,
 * removed afterwards even when the test fails. */
static int tmpdir_setup(void **state)
{
    char *dir = strdup("/tmp/test_config.XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int tmpdir_teardown(void **state)
{
    rm_tree(*state);
    free(*state);
    return 0;
}

/* ------------------------------------------------------------------ the table */

struct file_spec {
    const char *name;      /* relative to the temporary directory */
    const char *content;   /* NULL with is_dir */
    mode_t mode;
    bool is_dir;
};

struct cfg_case {
    const char *title;
    const char *ini;
    mode_t ini_mode;       /* 0: 0600 */
    struct file_spec files[6];
    int rc;                /* expected result; 0 = loads */
    const char *err[3];    /* substrings of the error message */
    void (*check)(const cfg_config *c, const char *dir);
};

#define PASS_EAST { "east.pass", "s3cret\n", 0600, false }
/* A complete cluster section: 4 lines. */
#define EAST "[cluster.east]\nseeds = db1:3306\nuser = myorch\npassword_file = east.pass\n"
#define WEST "[cluster.west]\nseeds = db2:3306\nuser = myorch\npassword_file = east.pass\n"

/* --- checks for the rows that must load --- */

static void check_defaults(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e;
    char want[4200];

    snprintf(want, sizeof(want), "%s/myorch.ini", dir);
    assert_string_equal(c->path, want);
    assert_string_equal(c->state_dir, "/var/lib/myorch");
    assert_int_equal(c->poll_interval_ms, 500);
    assert_int_equal(c->probe_detail_every, 5);
    assert_int_equal(c->log_level, CFG_LOG_INFO);
    assert_int_equal(c->log_format, CFG_LOG_FORMAT_TEXT);
    assert_string_equal(c->log_file, "");
    assert_int_equal(c->connect_timeout_ms, 1000);
    assert_int_equal(c->read_timeout_ms, 2000);
    assert_int_equal(c->forget_after_s, 3600);
    assert_string_equal(c->control_socket, "ipc:///var/lib/myorch/control.sock");
    assert_string_equal(c->event_socket, "ipc:///var/lib/myorch/events.sock");
    assert_int_equal(c->n_clusters, 1);
    e = &c->clusters[0];
    assert_string_equal(e->name, "east");
    assert_int_equal(e->line, 1);
    assert_int_equal(e->n_seeds, 1);
    assert_string_equal(e->seeds[0].host, "db1");
    assert_int_equal(e->seeds[0].port, 3306);
    assert_string_equal(e->user, "myorch");
    assert_string_equal(e->password, "s3cret");
    assert_string_equal(e->replication_user, "myorch");
    assert_string_equal(e->replication_password, "s3cret");
    assert_ptr_not_equal(e->replication_password, e->password); /* own copy */
    assert_int_equal(e->poll_interval_ms, 500);
    assert_int_equal(e->probe_detail_every, 5);
    assert_null(e->lag_query);
    assert_int_equal(e->auto_failover, 1);
    assert_int_equal(e->failover_block_s, 600);
    assert_int_equal(e->failover_quorum, CFG_QUORUM_MAJORITY);
    assert_int_equal(e->apply_timeout_ms, 10000);
    assert_int_equal(e->heartbeat_period_ms, 100);
    assert_int_equal(e->stall_periods, 5);
    assert_int_equal(e->n_never_promote, 0);
    assert_int_equal(e->n_prefer, 0);
    assert_int_equal(e->switchover_max_lag_s, 10);
    assert_int_equal(e->switchover_max_trx_s, 10);
    assert_int_equal(e->sla_counts_planned, 1);
    assert_int_equal(e->hook_timeout_ms, 10000);
    for (int h = 0; h < CFG_N_HOOKS; h++)
        assert_int_equal(e->n_hooks[h], 0);
    assert_int_equal(e->ssl_mode, CONN_SSL_PREFERRED);
    assert_null(e->ssl_ca);
    assert_null(e->server_public_key_file);
    assert_int_equal(e->replication_ssl, -1);
    assert_int_equal(e->replication_ssl_verify_server_cert, -1);
}

static void check_etcd_defaults(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_int_equal(c->coordination, CFG_COORD_ETCD);
    assert_string_equal(c->etcd_endpoints, "http://127.0.0.1:2379,http://[::1]:2380,http://localhost:2381");
    assert_string_equal(c->etcd_prefix, "/myorch");
    assert_true(c->controller_name[0] != '\0'); /* the host name */
    assert_int_equal(c->etcd_lease_ttl_ms, 5000);
    assert_int_equal(c->detection_quorum, 0);
    assert_int_equal(c->etcd_voter_forget_s, 86400);
    assert_null(c->etcd_password);
}

static void check_etcd_full(const cfg_config *c, const char *dir)
{
    char want[4200];
    assert_string_equal(c->etcd_endpoints, "https://e1:2379,https://e2:2379");
    assert_string_equal(c->etcd_prefix, "/myorch/prod");
    assert_string_equal(c->controller_name, "ctl-1.dc2");
    assert_int_equal(c->etcd_lease_ttl_ms, 3000);
    assert_int_equal(c->detection_quorum, 2);
    assert_int_equal(c->etcd_voter_forget_s, 3600);
    assert_string_equal(c->etcd_user, "myorch");
    assert_string_equal(c->etcd_password, "etcdpw");
    snprintf(want, sizeof(want), "%s/ca.pem", dir);
    assert_string_equal(c->etcd_cacert, want);
    snprintf(want, sizeof(want), "%s/client.key", dir);
    assert_string_equal(c->etcd_key, want);
}

static void check_coord_none(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_int_equal(c->coordination, CFG_COORD_NONE);
    assert_string_equal(c->etcd_endpoints, "");
    assert_string_equal(c->controller_name, "");
}

static void check_tls(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e = &c->clusters[0];
    char want[4200];
    assert_int_equal(e->ssl_mode, CONN_SSL_VERIFY_IDENTITY);
    snprintf(want, sizeof(want), "%s/ca.pem", dir);
    assert_string_equal(e->ssl_ca, want);
    snprintf(want, sizeof(want), "%s/client.key", dir);
    assert_string_equal(e->ssl_key, want);
    assert_int_equal(e->replication_ssl, 1); /* implied by the other replication_ssl_* keys */
    assert_string_equal(e->replication_ssl_ca, "/etc/mysql/ca.pem");
    assert_int_equal(e->replication_ssl_verify_server_cert, 1);
}

static void check_pinned_key(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e = &c->clusters[0];
    char want[4200];
    assert_int_equal(e->ssl_mode, CONN_SSL_DISABLED);
    snprintf(want, sizeof(want), "%s/server.pub", dir);
    assert_string_equal(e->server_public_key_file, want);
    assert_int_equal(e->replication_ssl, 0);
}

static void check_failover_keys(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e = &c->clusters[0];
    (void)dir;
    assert_int_equal(e->auto_failover, 0);
    assert_int_equal(e->failover_block_s, 0);
    assert_int_equal(e->failover_quorum, CFG_QUORUM_NONE);
    assert_int_equal(e->apply_timeout_ms, 500);
    assert_int_equal(e->heartbeat_period_ms, 250);
    assert_int_equal(e->stall_periods, 3);
    assert_int_equal(e->n_never_promote, 2);
    assert_string_equal(e->never_promote[0].host, "db3");
    assert_int_equal(e->never_promote[0].port, 3306);
    assert_string_equal(e->never_promote[1].host, "::1");
    assert_int_equal(e->never_promote[1].port, 3307);
    assert_int_equal(e->n_prefer, 1);
    assert_string_equal(e->prefer[0].host, "db2");
    assert_int_equal(e->prefer[0].port, 3310);
    assert_int_equal(e->switchover_max_lag_s, 3);
    assert_true(e->sla_target > 99.899 && e->sla_target < 99.901);
    assert_int_equal(e->sla_counts_planned, 0);
    assert_int_equal(e->n_hooks[CFG_HOOK_POST_FAILOVER], 2);
    assert_string_equal(e->hooks[CFG_HOOK_POST_FAILOVER][0], "/bin/true one");
    assert_string_equal(e->hooks[CFG_HOOK_POST_FAILOVER][1], "/bin/echo 'two words'");
    assert_int_equal(e->n_hooks[CFG_HOOK_PRE_FAILOVER], 0);
}

static void check_globals(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_string_equal(c->state_dir, "/srv/orch");
    assert_int_equal(c->poll_interval_ms, 50);
    assert_int_equal(c->log_level, CFG_LOG_DEBUG);
    assert_int_equal(c->log_format, CFG_LOG_FORMAT_JSON);
    assert_string_equal(c->log_file, "/var/log/myorch/myorch.log");
    assert_int_equal(c->connect_timeout_ms, 60000);
    assert_int_equal(c->read_timeout_ms, 10);
    assert_int_equal(c->forget_after_s, 31536000);
    assert_string_equal(c->control_socket, "ipc:///srv/orch/control.sock");
    assert_string_equal(c->event_socket, "ipc:///srv/orch/events.sock");
    assert_int_equal(c->clusters[0].poll_interval_ms, 50);
}

static void check_globals_high(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_int_equal(c->poll_interval_ms, 600000);
    assert_int_equal(c->log_level, CFG_LOG_ERROR);
    assert_int_equal(c->connect_timeout_ms, 10);
    assert_int_equal(c->read_timeout_ms, 600000);
    assert_int_equal(c->forget_after_s, 1);
}

/* CURVE key pairs made with zmq_curve_keypair() for these tests (Z85). */
#define SERVER_PUB "!e<0XS9g!XRi-e8R2!vEJOTG>hRtOKq)Pg(U^)z9"
#define SERVER_SEC "K@^7>-0)/&dOEyh-]+r/.GM@#k.es@t@BoBVV>d6"
#define ALICE_PUB "IbTKvVI[#.@yNf[&m0I@(@s[)[>hD2N+uVGD5}}F"
#define ALICE_SEC "KTM>+*M.Cq7@%8s.^GM?P}m<lBZ9u[Fy1K0LWWaq"
#define BOB_PUB "D{1v!pFdo]uZG*MQ3p!ESm)NLooAKcp&7&Cp=HJv"
#define SERVER_KEY_FILE { "server.key", SERVER_SEC "\n", 0600, false }
#define OPS_DIR { "ops", NULL, 0755, true }
#define ALICE_PUB_FILE { "ops/alice.pub", ALICE_PUB "\n", 0644, false }
#define BOB_PUB_FILE { "bob.pub", BOB_PUB "\n", 0644, false }
#define TCP_CTL "[myorch]\ncontrol_socket = tcp://127.0.0.1:5555\n"

static void check_sockets(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_string_equal(c->control_socket, "tcp://127.0.0.1:5555");
    assert_string_equal(c->event_socket, "ipc:///run/myorch/ev.sock");
    assert_string_equal(c->control_secret_key, SERVER_SEC);
    assert_string_equal(c->control_public_key, SERVER_PUB); /* derived */
    assert_string_equal(c->control_client_secret_key, ALICE_SEC);
    assert_string_equal(c->control_client_public_key, ALICE_PUB);
    assert_int_equal(c->n_control_keys, 2);
    assert_string_equal(c->control_keys[0].public_key, ALICE_PUB);
    assert_string_equal(c->control_keys[0].name, "alice");
    assert_int_equal(c->control_keys[0].role, CFG_ROLE_OPERATOR);
    assert_string_equal(c->control_keys[1].public_key, BOB_PUB);
    assert_string_equal(c->control_keys[1].name, "bob");
    assert_int_equal(c->control_keys[1].role, CFG_ROLE_READONLY);
}

static void check_no_keys(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_string_equal(c->control_secret_key, "");
    assert_string_equal(c->control_public_key, "");
    assert_int_equal(c->n_control_keys, 0);
}

static void check_root_state_dir(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_string_equal(c->state_dir, "/");
    assert_string_equal(c->control_socket, "ipc:///control.sock");
    assert_string_equal(c->event_socket, "ipc:///events.sock");
}

static void check_ipv6(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e = &c->clusters[0];
    (void)dir;
    assert_int_equal(e->n_seeds, 5);
    assert_string_equal(e->seeds[0].host, "::1");
    assert_int_equal(e->seeds[0].port, 3307);
    assert_string_equal(e->seeds[1].host, "fe80::1%eth0");
    assert_int_equal(e->seeds[1].port, 3306);
    assert_string_equal(e->seeds[2].host, "db1.example.com");
    assert_int_equal(e->seeds[2].port, 3306);
    assert_string_equal(e->seeds[3].host, "10.0.0.1");
    assert_int_equal(e->seeds[3].port, 3308);
    assert_string_equal(e->seeds[4].host, "2001:db8::1");
    assert_int_equal(e->seeds[4].port, 65535);
}

static void check_several(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e, *w, *s;
    (void)dir;
    assert_int_equal(c->n_clusters, 3);
    assert_int_equal(c->poll_interval_ms, 1000);
    e = cfg_find_cluster(c, "east");
    w = cfg_find_cluster(c, "west");
    s = cfg_find_cluster(c, "south-2_b");
    assert_non_null(e);
    assert_non_null(w);
    assert_non_null(s);
    assert_null(cfg_find_cluster(c, "north"));
    assert_null(cfg_find_cluster(c, "EAST"));
    assert_ptr_equal(e, &c->clusters[0]);
    assert_ptr_equal(w, &c->clusters[1]);
    assert_ptr_equal(s, &c->clusters[2]);

    assert_int_equal(e->line, 1);
    assert_int_equal(e->poll_interval_ms, 250);
    assert_int_equal(e->probe_detail_every, 1); /* its own */
    assert_string_equal(e->password, "s3cret");
    assert_string_equal(e->lag_query, "SELECT TIMESTAMPDIFF(SECOND, MAX(ts), NOW()) FROM hb.hb");
    assert_int_equal(e->n_seeds, 2);

    assert_int_equal(w->line, 9);
    assert_int_equal(w->poll_interval_ms, 1000); /* [myorch] comes later in the file */
    assert_int_equal(w->probe_detail_every, 10); /* the [myorch] value */
    assert_string_equal(w->user, "orch_w");
    assert_string_equal(w->password, "inl;ine");
    assert_string_equal(w->replication_user, "repl");
    assert_string_equal(w->replication_password, "r3pl!");
    assert_null(w->lag_query);

    assert_int_equal(s->line, 16);
    assert_string_equal(s->replication_user, "repl_s");
    assert_string_equal(s->password, "s3cret");
    assert_string_equal(s->replication_password, "s3cret"); /* defaults to the user's */
    assert_ptr_not_equal(s->replication_password, s->password);
}

static void check_stripped(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e = &c->clusters[0];
    (void)dir;
    assert_string_equal(e->password, "pass word ");
    assert_string_equal(e->replication_password, "  x");
}

static void check_syntax(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e = &c->clusters[0];
    (void)dir;
    assert_int_equal(c->log_level, CFG_LOG_WARN);
    assert_int_equal(c->poll_interval_ms, 700);
    assert_string_equal(e->name, "east");
    assert_int_equal(e->line, 8);
    assert_int_equal(e->n_seeds, 2);
    assert_string_equal(e->seeds[1].host, "db2");
    assert_string_equal(e->user, "my#orch");
    assert_string_equal(e->password, "pa;ss \"quoted\"");
    assert_string_equal(e->lag_query, "SELECT 1");
}

static void check_limits(const cfg_config *c, const char *dir)
{
    const cfg_cluster *e = &c->clusters[0], *f = &c->clusters[1];
    (void)dir;
    assert_int_equal(strlen(e->name), 40);
    assert_int_equal(strlen(e->lag_query), 198 - strlen("lag_query = "));
    assert_int_equal(strlen(f->lag_query), 198 - strlen("lag_query = "));
    assert_int_equal(strlen(e->user), 127);
}

static void check_inline_ok(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_string_equal(c->clusters[0].password, "hunter2");
    assert_string_equal(c->clusters[0].replication_password, "hunter3");
}

static void check_repl_default_pw(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_string_equal(c->clusters[0].replication_user, "repl");
    assert_string_equal(c->clusters[0].replication_password, "s3cret");
}

static void check_lag_query_quoted(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_string_equal(c->clusters[0].lag_query, "SELECT 'a;b' FROM `x;y`");
}

static void check_long_utf8_password(const cfg_config *c, const char *dir)
{
    (void)dir;
    assert_int_equal(strlen(c->clusters[0].replication_password), 192);
}

static const struct cfg_case cases[] = {
    /* ---------------------------------------------------------- loads */
    { .title = "defaults", .ini = EAST, .files = { PASS_EAST }, .check = check_defaults },
    { .title = "failover keys", .ini = EAST "auto_failover = no\nfailover_block_s = 0\nfailover_quorum = none\napply_timeout_ms = 500\n"
      "heartbeat_period_ms = 250\nstall_periods = 3\n"
      "never_promote = db3, [::1]:3307\nprefer = db2:3310\nswitchover_max_lag_s = 3\nsla_target = 99.9\nsla_counts_planned = no\n"
      "post_failover = /bin/true one\npost_failover = /bin/echo 'two words'\n", .files = { PASS_EAST },
      .check = check_failover_keys },
    { .title = "heartbeat period too short", .ini = EAST "heartbeat_period_ms = 10\n", .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:5: bad value '10' for heartbeat_period_ms: expected an integer from 50 to 60000" } },
    { .title = "stall_periods out of range", .ini = EAST "stall_periods = 101\n", .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:5: bad value '101' for stall_periods: expected an integer from 0 to 100" } },
    { .title = "hook command with a shell operator", .ini = EAST "post_failover = /bin/echo a | wc\n",
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "myorch.ini:5: bad command for post_failover:", "sh -c" } },
    { .title = "bad sla_target", .ini = EAST "sla_target = 100\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "sla_target" } },
    { .title = "bad auto_failover", .ini = EAST "auto_failover = maybe\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: bad value 'maybe' for auto_failover: expected yes or no" } },
    { .title = "lag_query must be one SELECT", .ini = EAST "lag_query = UPDATE t SET a = 1\n", .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:5: bad lag_query in [cluster.east]: it must be a single SELECT statement" } },
    { .title = "lag_query with a second statement", .ini = EAST "lag_query = SELECT 1; DROP TABLE t\n",
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "myorch.ini:5: bad lag_query in [cluster.east]: it holds a ';'" } },
    { .title = "lag_query: a ';' inside quotes is fine", .ini = EAST "lag_query = SELECT 'a;b' FROM `x;y`\n",
      .files = { PASS_EAST }, .check = check_lag_query_quoted },
    { .title = "a hook program that does not exist", .ini = EAST "post_failover = /nonexistent/hook --x\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: bad command for post_failover: /nonexistent/hook: not found", "install it" } },
    { .title = "a hook program that is not executable", .ini = EAST "post_failover = /etc/hostname\n",
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "myorch.ini:5: bad command for post_failover: /etc/hostname" } },
    { .title = "a hook program not in PATH", .ini = EAST "post_failover = no-such-hook-program-xyz\n",
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "no-such-hook-program-xyz: not found in PATH" } },
    { .title = "a backslash in a user name", .ini = "[cluster.east]\nseeds = db1\nuser = my\\orch\npassword_file = east.pass\n",
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "myorch.ini:3: bad value 'my\\orch' for user: expected a user "
                                                   "name without control characters or backslashes" } },
    { .title = "replication password longer than CHANGE MASTER accepts",
      .ini = EAST "replication_password_file = long.pass\n",
      .files = { PASS_EAST, { "long.pass", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", 0600, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:5: [cluster.east]: the replication password is 97 characters long; CHANGE MASTER accepts "
               "at most 96" } },
    { .title = "96 two-byte characters are 96 characters", .ini = EAST "replication_password_file = long.pass\n",
      .files = { PASS_EAST, { "long.pass", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n", 0600, false } }, .check = check_long_utf8_password },
    { .title = "bad failover_quorum", .ini = EAST "failover_quorum = 2\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: bad value '2' for failover_quorum: expected majority (the default: fail over only "
               "from the majority side) or none" } },
    { .title = "bad never_promote entry", .ini = EAST "never_promote = db3:0\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: bad value for never_promote:" } },
    { .title = "bad log_format", .ini = "[myorch]\nlog_format = JSON\n" EAST, .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:2: bad value 'JSON' for log_format: expected text (the default) or json" } },
    { .title = "relative log_file", .ini = "[myorch]\nlog_file = myorch.log\n" EAST, .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:2: bad value 'myorch.log' for log_file: expected an absolute file path" } },
    { .title = "log_file in state_dir",
      .ini = "[myorch]\nstate_dir = /srv/orch\nlog_file = /srv/orch/state.db\n" EAST, .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:3: log_file '/srv/orch/state.db' is inside state_dir '/srv/orch'" } },
    { .title = "failover_block_s out of range", .ini = EAST "failover_block_s = 100000\n", .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "bad value '100000' for failover_block_s: expected an integer from 0 to 86400" } },
    { .title = "global overrides, low bounds",
      .ini = "[myorch]\n"
             "state_dir = /srv/orch//\n"
             "poll_interval_ms = 50\n"
             "log_level = DEBUG\n"
             "log_format = json\n"
             "log_file = /var/log/myorch/myorch.log\n"
             "connect_timeout_ms = 60000\n"
             "read_timeout_ms = 10\n"
             "forget_after_s = 31536000\n" EAST,
      .files = { PASS_EAST }, .check = check_globals },
    { .title = "global overrides, high bounds",
      .ini = "[myorch]\npoll_interval_ms = 600000\nlog_level = error\nconnect_timeout_ms = 10\n"
             "read_timeout_ms = 600000\nforget_after_s = 1\n" EAST,
      .files = { PASS_EAST }, .check = check_globals_high },
    { .title = "explicit sockets, tcp with CURVE keys and roles",
      .ini = TCP_CTL "event_socket = ipc:///run/myorch/ev.sock\ncontrol_secret_key_file = server.key\n"
             "control_operator_keys = ops\ncontrol_readonly_keys = @DIR@/bob.pub\n"
             "control_client_key_file = alice.key\n" EAST,
      .files = { PASS_EAST, SERVER_KEY_FILE, OPS_DIR, ALICE_PUB_FILE, BOB_PUB_FILE,
                 { "alice.key", ALICE_SEC "\n", 0600, false } },
      .check = check_sockets },
    { .title = "ipc endpoints in state_dir under the default names",
      .ini = "[myorch]\nstate_dir = @DIR@/st\ncontrol_socket = ipc://@DIR@/st/events.sock\n"
             "event_socket = ipc://@DIR@/st/control.sock\n" EAST,
      .files = { PASS_EAST }, .check = check_no_keys },
    { .title = "tcp control endpoint without keys",
      .ini = TCP_CTL EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: control_socket = tcp://127.0.0.1:5555 accepts anyone who can reach it unless CURVE "
               "keys are set (control_secret_key_file is not set)", "myorch keygen --out",
               "control_operator_keys = " } },
    { .title = "tcp event endpoint without keys",
      .ini = "[myorch]\nevent_socket = tcp://0.0.0.0:5556\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: event_socket = tcp://0.0.0.0:5556 accepts anyone", "myorch keygen" } },
    { .title = "tcp endpoint with a server key but no client key",
      .ini = TCP_CTL "control_secret_key_file = server.key\ncontrol_operator_keys = ops\n" EAST,
      .files = { PASS_EAST, SERVER_KEY_FILE, OPS_DIR }, .rc = -EINVAL,
      .err = { "myorch.ini:2: control_socket = tcp://127.0.0.1:5555 accepts anyone",
               "(no client key in control_operator_keys or control_readonly_keys)" } },
    { .title = "tcp endpoint with client keys but no server key",
      .ini = TCP_CTL "control_readonly_keys = bob.pub\n" EAST,
      .files = { PASS_EAST, BOB_PUB_FILE }, .rc = -EINVAL,
      .err = { "myorch.ini:2:", "(control_secret_key_file is not set)" } },
    { .title = "secret key readable by the group",
      .ini = TCP_CTL "control_secret_key_file = server.key\n" EAST,
      .files = { PASS_EAST, { "server.key", SERVER_SEC "\n", 0640, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_secret_key_file '@DIR@/server.key' is a secret key accessible to its group "
               "(mode 0640): run chmod 600 @DIR@/server.key" } },
    { .title = "missing secret key file",
      .ini = TCP_CTL "control_secret_key_file = nope.key\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_secret_key_file '@DIR@/nope.key': cannot read: No such file or directory",
               "myorch keygen --out PREFIX" } },
    { .title = "secret key file without a key",
      .ini = TCP_CTL "control_secret_key_file = east.pass\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_secret_key_file '@DIR@/east.pass' does not hold a CURVE secret key (one "
               "line of 40 Z85 characters)" } },
    { .title = "public key writable by others",
      .ini = TCP_CTL "control_readonly_keys = bob.pub\n" EAST,
      .files = { PASS_EAST, { "bob.pub", BOB_PUB "\n", 0666, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_readonly_keys '@DIR@/bob.pub' is writable by other users (mode 0666)",
               "chmod 644" } },
    { .title = "key directory writable by others",
      .ini = TCP_CTL "control_operator_keys = ops\n" EAST,
      .files = { PASS_EAST, { "ops", NULL, 0777, true } }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_operator_keys: directory '@DIR@/ops' is writable by other users (mode 0777)" } },
    { .title = "a secret key listed as a client key",
      .ini = TCP_CTL "control_operator_keys = server.key\n" EAST,
      .files = { PASS_EAST, SERVER_KEY_FILE }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_operator_keys: '@DIR@/server.key' is not a .pub file" } },
    { .title = "a public key file with a bad key",
      .ini = TCP_CTL "control_operator_keys = x.pub\n" EAST,
      .files = { PASS_EAST, { "x.pub", "not a key\n", 0644, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_operator_keys '@DIR@/x.pub' does not hold a CURVE public key" } },
    { .title = "the same client key in both roles",
      .ini = TCP_CTL "control_operator_keys = ops\ncontrol_readonly_keys = ops/alice.pub, bob.pub\n" EAST,
      .files = { PASS_EAST, OPS_DIR, ALICE_PUB_FILE, BOB_PUB_FILE }, .rc = -EINVAL,
      .err = { "myorch.ini:4: control_readonly_keys: the key in '@DIR@/ops/alice.pub' is already listed (as "
               "'alice', operator)" } },
    { .title = "an empty item in a key list",
      .ini = TCP_CTL "control_readonly_keys = bob.pub,,\n" EAST,
      .files = { PASS_EAST, BOB_PUB_FILE }, .rc = -EINVAL,
      .err = { "myorch.ini:3: bad value 'bob.pub,,' for control_readonly_keys" } },
    { .title = "event socket on the state database",
      .ini = "[myorch]\nstate_dir = @DIR@/st\nevent_socket = ipc://@DIR@/st/state.db\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: event_socket 'ipc://@DIR@/st/state.db' is inside state_dir @DIR@/st, where the "
               "state database lives", "choose a path in another directory" } },
    { .title = "control socket in a subdirectory of state_dir",
      .ini = "[myorch]\ncontrol_socket = ipc://@DIR@/st/sub/control.sock\nstate_dir = @DIR@/st\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: control_socket 'ipc://@DIR@/st/sub/control.sock' is inside state_dir" } },
    { .title = "ipc path with '..'",
      .ini = "[myorch]\ncontrol_socket = ipc:///tmp/../var/lib/myorch/state.db\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value 'ipc:///tmp/../var/lib/myorch/state.db' for control_socket: write the "
               "path without '.', '..' or '//' components" } },
    { .title = "ipc path naming a regular file",
      .ini = "[myorch]\ncontrol_socket = ipc://@DIR@/east.pass\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: control_socket 'ipc://@DIR@/east.pass': @DIR@/east.pass exists and is not a socket "
               "(a regular file): binding would delete it" } },
    { .title = "state_dir = /",
      .ini = "[myorch]\nstate_dir = /\n" EAST, .files = { PASS_EAST }, .check = check_root_state_dir },
    { .title = "IPv6 seeds and default ports",
      .ini = "[cluster.east]\n"
             "seeds = [::1]:3307,[fe80::1%eth0] ,  db1.example.com,10.0.0.1:3308, [2001:db8::1]:65535\n"
             "user = myorch\npassword_file = east.pass\n",
      .files = { PASS_EAST }, .check = check_ipv6 },
    { .title = "several clusters, overrides, [myorch] last",
      .ini = "[cluster.east]\n"                                      /* 1 */
             "seeds = db1, db2:3307\n"
             "user = myorch\n"
             "password_file = @DIR@/east.pass\n"
             "poll_interval_ms = 250\n"
             "probe_detail_every = 1\n"
             "lag_query = SELECT TIMESTAMPDIFF(SECOND, MAX(ts), NOW()) FROM hb.hb\n"
             "\n"
             "[cluster.west]\n"                                      /* 9 */
             "seeds = db3\n"
             "user = orch_w\n"
             "password = inl;ine\n"
             "replication_user = repl\n"
             "replication_password_file = sub/repl.pass\n"
             "\n"
             "[cluster.south-2_b]\n"                                 /* 16 */
             "seeds = db4\n"
             "user = myorch\n"
             "password_file = east.pass\n"
             "replication_user = repl_s\n"
             "[myorch]\n"
             "poll_interval_ms = 1000\n"
             "probe_detail_every = 10\n",
      .files = { PASS_EAST, { "sub", NULL, 0700, true }, { "sub/repl.pass", "r3pl!", 0640, false } },
      .check = check_several },
    { .title = "secrets: trailing newlines stripped, other whitespace kept",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = east.pass\n"
             "replication_password_file = repl.pass\n",
      .files = { { "east.pass", "pass word \r\n\r\n\n", 0600, false },
                 { "repl.pass", "  x\n", 0400, false } },
      .check = check_stripped },
    { .title = "syntax: BOM, CRLF, comments, inline comments, name:value, indentation",
      .ini = "\xEF\xBB\xBF; leading comment after a BOM\r\n"            /* 1 */
             "# hash comment\r\n"
             "  [ myorch ]   ; spaces inside the brackets\r\n"
             "    log_level = warn ; indented first key is not a continuation\r\n"
             "poll_interval_ms: 700\r\n"
             "   \t \r\n"
             "   ; indented comment\r\n"
             "[cluster.east] ; the east coast\r\n"                   /* 8 */
             "seeds = db1 , db2\r\n"
             "user = my#orch\r\n"
             "password = pa;ss \"quoted\"   ; a comment\r\n"
             "lag_query = SELECT 1\r\n",
      .check = check_syntax },
    { .title = "limits: 40-char cluster name, 198-byte lines, 127-char user",
      .ini = "[cluster.@X40@]\n"
             "seeds = db1\n"
             "user = @X127@\n"
             "password_file = east.pass\n"
             "lag_query = SELECT @X179@\n"
             "[cluster.b]\n"
             "seeds = db2\n"
             "user = myorch\n"
             "password_file = east.pass\n"
             "lag_query = SELECT @X179@\r\n",
      .files = { PASS_EAST }, .check = check_limits },
    { .title = "inline secrets in a 0600 config",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword = hunter2\n"
             "replication_password = hunter3\n",
      .ini_mode = 0600, .check = check_inline_ok },
    { .title = "inline password in a group-readable config (0640)",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword = hunter2\n", .ini_mode = 0640,
      .rc = -EINVAL,
      .err = { "myorch.ini:4: inline password in a config file readable by its group (mode 0640): "
               "run chmod 600 @DIR@/myorch.ini, or use password_file" } },
    { .title = "discover_allow: a bad item is refused at load",
      .ini = EAST "discover_allow = 10.0.0.0/8\ndiscover_allow = db*.example.com, 10.1.2.3/8\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:6: bad value for discover_allow: '10.1.2.3/8': address bits set beyond the /8 prefix" } },
    { .title = "max_instances_per_cluster out of range",
      .ini = "[myorch]\nmax_instances_per_cluster = 0\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '0' for max_instances_per_cluster: expected an integer from 1 to 100000" } },
    { .title = "inline password in a group-writable config (0620)",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword = hunter2\n", .ini_mode = 0620,
      .rc = -EINVAL, .err = { "myorch.ini:4: inline password in a config file writable by its group (mode 0620)" } },
    { .title = "replication_user alone: replication password defaults to the user's",
      .ini = EAST "replication_user = repl\n", .files = { PASS_EAST }, .check = check_repl_default_pw },

    /* ---------------------------------------------------------- coordination (etcd) */
    { .title = "coordination = etcd with defaults",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379, http://[::1]:2380 ,"
             "http://localhost:2381\n" EAST,
      .files = { PASS_EAST }, .check = check_etcd_defaults },
    { .title = "coordination = etcd, every key",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = https://e1:2379,https://e2:2379\n"
             "etcd_prefix = /myorch/prod\ncontroller_name = ctl-1.dc2\netcd_lease_ttl_ms = 3000\n"
             "etcd_cacert = ca.pem\netcd_cert = client.pem\netcd_key = client.key\netcd_user = myorch\n"
             "etcd_password_file = etcd.pass\ndetection_quorum = 2\netcd_voter_forget_s = 3600\n" EAST,
      .files = { PASS_EAST, { "ca.pem", "PEM\n", 0644, false }, { "client.pem", "PEM\n", 0644, false },
                 { "client.key", "KEY\n", 0600, false }, { "etcd.pass", "etcdpw\n", 0600, false } },
      .check = check_etcd_full },
    { .title = "coordination defaults to none", .ini = EAST, .files = { PASS_EAST }, .check = check_coord_none },
    { .title = "coordination: bad value",
      .ini = "[myorch]\ncoordination = raft\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value 'raft' for coordination: expected none (the default" } },
    { .title = "coordination = etcd without endpoints",
      .ini = "[myorch]\ncoordination = etcd\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: coordination = etcd needs etcd_endpoints" } },
    { .title = "an etcd key without coordination = etcd",
      .ini = "[myorch]\netcd_endpoints = http://127.0.0.1:2379\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: etcd_endpoints is set but coordination is not etcd" } },
    { .title = "etcd endpoint without a scheme",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = 10.0.0.1:2379\n" EAST, .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:3: bad value '10.0.0.1:2379' in etcd_endpoints: an endpoint starts with "
                              "http:// or https://" } },
    { .title = "etcd endpoint with a path",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://e1:2379/v3\n" EAST, .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "only a host and a port may follow the scheme" } },
    { .title = "etcd endpoint without a port",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://e1\n" EAST, .files = { PASS_EAST },
      .rc = -EINVAL, .err = { "myorch.ini:3: bad value 'http://e1' in etcd_endpoints: give the port" } },
    { .title = "etcd endpoints: empty entry",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://e1:1,,http://e2:2\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "an entry is empty" } },
    { .title = "etcd endpoints mixing schemes",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:1,https://e2:2\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "myorch.ini:3: etcd_endpoints mixes http:// and https://" } },
    { .title = "etcd password over http:// to a remote host",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://10.0.0.1:2379\netcd_user = u\n"
             "etcd_password_file = etcd.pass\n" EAST,
      .files = { PASS_EAST, { "etcd.pass", "pw\n", 0600, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: etcd_user is set but etcd_endpoints use http:// to a remote host" } },
    { .title = "etcd_user without etcd_password_file",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = https://e1:2379\netcd_user = u\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "myorch.ini:4: etcd_user and etcd_password_file go together" } },
    { .title = "etcd_password_file readable by others",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = https://e1:2379\netcd_user = u\n"
             "etcd_password_file = etcd.pass\n" EAST,
      .files = { PASS_EAST, { "etcd.pass", "pw\n", 0644, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:5: etcd_password_file '@DIR@/etcd.pass'" } },
    { .title = "etcd_key readable by its group",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = https://e1:2379\netcd_cert = c.pem\n"
             "etcd_key = c.key\n" EAST,
      .files = { PASS_EAST, { "c.pem", "PEM\n", 0644, false }, { "c.key", "KEY\n", 0640, false } },
      .rc = -EINVAL, .err = { "myorch.ini:5: etcd_key '@DIR@/c.key' is accessible to other users (mode 0640)" } },
    { .title = "etcd_cert without etcd_key",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = https://e1:2379\netcd_cert = c.pem\n" EAST,
      .files = { PASS_EAST, { "c.pem", "PEM\n", 0644, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: etcd_cert and etcd_key go together" } },
    { .title = "etcd TLS files with http:// endpoints",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379\netcd_cacert = ca.pem\n" EAST,
      .files = { PASS_EAST, { "ca.pem", "PEM\n", 0644, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: etcd_cacert is set but etcd_endpoints use http://" } },
    { .title = "etcd_prefix with a trailing slash",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379\netcd_prefix = /a/\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "myorch.ini:4: bad value '/a/' for etcd_prefix" } },
    { .title = "controller_name with a slash",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379\ncontroller_name = a/b\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:4: bad value 'a/b' for controller_name: expected 1 to 63 letters" } },
    { .title = "etcd_lease_ttl_ms too short",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379\netcd_lease_ttl_ms = 500\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:4: bad value '500' for etcd_lease_ttl_ms: expected an integer from 2000 to 600000" } },
    { .title = "detection_quorum: bad value",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379\ndetection_quorum = most\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:4: bad value 'most' for detection_quorum: expected majority" } },
    { .title = "detection_quorum = 0",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379\ndetection_quorum = 0\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL, .err = { "for detection_quorum" } },
    { .title = "etcd_voter_forget_s: below the range",
      .ini = "[myorch]\ncoordination = etcd\netcd_endpoints = http://127.0.0.1:2379\netcd_voter_forget_s = 59\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:4: bad value '59' for etcd_voter_forget_s: expected an integer from 60 to 31536000" } },
    { .title = "etcd_voter_forget_s without coordination = etcd",
      .ini = "[myorch]\netcd_voter_forget_s = 3600\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:2: etcd_voter_forget_s is set but coordination is not etcd" } },

    /* ---------------------------------------------------------- unknown / duplicate */
    { .title = "unknown key in [myorch]",
      .ini = "[myorch]\nstate_dir = /var/lib/myorch\npoll_intervall_ms = 500\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: unknown key 'poll_intervall_ms' in [myorch] (known keys: state_dir, "
               "poll_interval_ms, probe_detail_every, log_level, log_format, log_file, connect_timeout_ms, read_timeout_ms, "
               "forget_after_s, control_socket, event_socket, control_secret_key_file, control_client_key_file, "
               "control_operator_keys, control_readonly_keys, max_instances_per_cluster, events_keep_days, "
               "events_keep_max, shutdown_timeout_ms, allow_core_dumps, http_listen, http_tls_cert, http_tls_key, http_token_file, "
               "coordination, etcd_endpoints, etcd_prefix, controller_name, etcd_lease_ttl_ms, etcd_cacert, "
               "etcd_cert, etcd_key, etcd_user, etcd_password_file, detection_quorum, etcd_voter_forget_s)",
               "did you mean 'poll_interval_ms'?" } },
    { .title = "unknown key in a cluster",
      .ini = "[cluster.east]\nseeds = db1\nusr = myorch\n", .rc = -EINVAL,
      .err = { "myorch.ini:3: unknown key 'usr' in [cluster.east] (known keys: seeds, user, password, "
               "password_file, replication_user, replication_password, replication_password_file, "
                           "poll_interval_ms, probe_detail_every, lag_query, auto_failover, failover_block_s, failover_quorum, "
               "apply_timeout_ms, heartbeat_period_ms, stall_periods, "
               "never_promote, prefer, switchover_max_lag_s, switchover_max_trx_s, sla_target, sla_counts_planned, "
               "hook_timeout_ms, read_pool_max_lag_s, ready_max_lag_s, ready_require_semi_sync, discover_allow, discover_confirm, on_failure_detected, "
               "pre_failover, post_failover, "
               "post_failover_failed, pre_switchover, post_switchover, on_topology_change, ssl_mode, "
               "ssl_ca, ssl_cert, ssl_key, server_public_key_file, replication_ssl, replication_ssl_ca, "
               "replication_ssl_cert, replication_ssl_key, replication_ssl_verify_server_cert)",
               "did you mean 'user'?" } },
    { .title = "key names are case-sensitive",
      .ini = "[cluster.east]\nSeeds = db1\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: unknown key 'Seeds' in [cluster.east]", "did you mean 'seeds'?" } },
    { .title = "cluster key in [myorch]",
      .ini = "[myorch]\nseeds = db1\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: unknown key 'seeds' in [myorch]",
               "seeds belongs in a [cluster.NAME] section" } },
    { .title = "global key in a cluster",
      .ini = EAST "state_dir = /x\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: unknown key 'state_dir' in [cluster.east]", "state_dir belongs in [myorch]" } },
    { .title = "duplicate key",
      .ini = "; comment\n\n[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = east.pass\n"
             "user = other\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:7: duplicate key 'user' in [cluster.east] (first set on line 5)" } },
    { .title = "duplicate key in [myorch]",
      .ini = "[myorch]\nlog_level = info\nlog_level = debug\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: duplicate key 'log_level' in [myorch] (first set on line 2)" } },
    { .title = "duplicate cluster section",
      .ini = "[myorch]\n; x\n" EAST WEST "[cluster.east]\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:11: duplicate section [cluster.east] (first on line 3)" } },
    { .title = "duplicate [myorch]",
      .ini = "[myorch]\nlog_level = info\n" EAST "[myorch]\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:7: duplicate section [myorch] (first on line 1)" } },
    { .title = "unknown section",
      .ini = EAST "[foo]\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: unknown section [foo]: expected [myorch] or [cluster.NAME]" } },
    { .title = "section names are case-sensitive",
      .ini = "[Cluster.east]\n", .rc = -EINVAL,
      .err = { "myorch.ini:1: unknown section [Cluster.east]" } },
    { .title = "empty section name",
      .ini = "[ ]\n", .rc = -EINVAL, .err = { "myorch.ini:1: unknown section []" } },
    { .title = "over-long unknown section name (inih would truncate it at 49)",
      .ini = "[@X70@]\n", .rc = -EINVAL, .err = { "myorch.ini:1: unknown section [@X70@]" } },

    /* ---------------------------------------------------------- section headers */
    { .title = "[cluster \"x\"] header",
      .ini = "[cluster \"east\"]\n", .rc = -EINVAL,
      .err = { "myorch.ini:1: section [cluster \"east\"] is not supported: write [cluster.east]" } },
    { .title = "[cluster x] header",
      .ini = EAST "[cluster  west]\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: section [cluster  west] is not supported: write [cluster.west]" } },
    { .title = "cluster name with a space",
      .ini = "[cluster.a b]\n", .rc = -EINVAL,
      .err = { "myorch.ini:1: bad cluster name 'a b' in [cluster.a b]: use only letters, digits" } },
    { .title = "cluster name with a dot",
      .ini = "[cluster.a.b]\n", .rc = -EINVAL, .err = { "myorch.ini:1: bad cluster name 'a.b'" } },
    { .title = "empty cluster name",
      .ini = "[cluster.]\n", .rc = -EINVAL, .err = { "myorch.ini:1: empty cluster name in [cluster.]" } },
    { .title = "41-character cluster name",
      .ini = "[cluster.@X41@]\n", .rc = -EINVAL,
      .err = { "myorch.ini:1: cluster name '@X40@...' is 41 characters long; the limit is 40" } },
    { .title = "over-long cluster names that inih would merge at 49 chars",
      .ini = EAST "[cluster.@X60@a]\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: cluster name '@X40@...' is 61 characters long; the limit is 40" } },
    { .title = "header without ']'",
      .ini = "[cluster.east\n", .rc = -EINVAL,
      .err = { "myorch.ini:1: section header without a closing ']'" } },
    { .title = "text after a header",
      .ini = "[myorch] extra\n", .rc = -EINVAL,
      .err = { "myorch.ini:1: unexpected text 'extra' after the section header" } },

    /* ---------------------------------------------------------- values */
    { .title = "non-integer",
      .ini = "[myorch]\nlog_level = info\nconnect_timeout_ms = 1000\npoll_interval_ms = abc\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:4: bad value 'abc' for poll_interval_ms: expected an integer from 50 to 600000" } },
    { .title = "probe_detail_every below range",
      .ini = "[myorch]\nprobe_detail_every = 0\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '0' for probe_detail_every: expected an integer from 1 to 1000" } },
    { .title = "probe_detail_every above range in a cluster",
      .ini = "[cluster.east]\nseeds = db1\nprobe_detail_every = 1001\n", .rc = -EINVAL,
      .err = { "myorch.ini:3: bad value '1001' for probe_detail_every: expected an integer from 1 to 1000" } },
    { .title = "poll_interval_ms below range",
      .ini = "[myorch]\npoll_interval_ms = 49\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '49' for poll_interval_ms: expected an integer from 50 to 600000" } },
    { .title = "poll_interval_ms above range",
      .ini = "[myorch]\npoll_interval_ms = 600001\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '600001' for poll_interval_ms" } },
    { .title = "integer overflow",
      .ini = "[myorch]\npoll_interval_ms = 99999999999999999999\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '99999999999999999999' for poll_interval_ms" } },
    { .title = "integer with a unit",
      .ini = "[myorch]\npoll_interval_ms = 500ms\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '500ms' for poll_interval_ms" } },
    { .title = "negative integer",
      .ini = "[myorch]\nforget_after_s = -5\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '-5' for forget_after_s: expected an integer from 1 to 31536000" } },
    { .title = "connect_timeout_ms below range",
      .ini = "[myorch]\nconnect_timeout_ms = 9\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '9' for connect_timeout_ms: expected an integer from 10 to 60000" } },
    { .title = "connect_timeout_ms above range",
      .ini = "[myorch]\nconnect_timeout_ms = 60001\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '60001' for connect_timeout_ms" } },
    { .title = "read_timeout_ms above range",
      .ini = "[myorch]\nread_timeout_ms = 600001\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '600001' for read_timeout_ms: expected an integer from 10 to 600000" } },
    { .title = "forget_after_s zero",
      .ini = "[myorch]\nforget_after_s = 0\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '0' for forget_after_s" } },
    { .title = "forget_after_s above range",
      .ini = "[myorch]\nforget_after_s = 31536001\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '31536001' for forget_after_s" } },
    { .title = "per-cluster poll_interval_ms out of range",
      .ini = EAST "poll_interval_ms = 10\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: bad value '10' for poll_interval_ms: expected an integer from 50 to 600000" } },
    { .title = "bad log_level",
      .ini = "[myorch]\nlog_level = verbose\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value 'verbose' for log_level: expected one of error, warn, info, debug" } },
    { .title = "relative state_dir",
      .ini = "[myorch]\nstate_dir = var/lib/myorch\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value 'var/lib/myorch' for state_dir: expected an absolute directory path" } },
    { .title = "control_socket without a scheme",
      .ini = "[myorch]\ncontrol_socket = /run/ctl.sock\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value '/run/ctl.sock' for control_socket: expected ipc:///path/name.sock "
               "or tcp://host:port" } },
    { .title = "relative ipc path",
      .ini = "[myorch]\nevent_socket = ipc://ev.sock\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value 'ipc://ev.sock' for event_socket: an ipc:// endpoint needs an "
               "absolute path" } },
    { .title = "ipc path over 107 bytes",
      .ini = "[myorch]\ncontrol_socket = ipc:///@X107@\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value 'ipc:///@X107@' for control_socket: the ipc path is 108 bytes long" } },
    { .title = "tcp endpoint without a port",
      .ini = "[myorch]\ncontrol_socket = tcp://localhost\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value 'tcp://localhost' for control_socket: expected tcp://host:port" } },
    { .title = "same control and event socket",
      .ini = "[myorch]\ncontrol_socket = ipc:///tmp/x.sock\nevent_socket = ipc:///tmp/x.sock\n" EAST,
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: control_socket and event_socket are both 'ipc:///tmp/x.sock'" } },
    { .title = "default sockets too long for a long state_dir",
      .ini = "[myorch]\nlog_level = info\nstate_dir = /@X100@\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: default control_socket 'ipc:///@X100@/control.sock' is unusable: the ipc "
               "path is 114 bytes long", "set control_socket explicitly or use a shorter state_dir" } },
    { .title = "user name too long",
      .ini = "[cluster.east]\nseeds = db1\nuser = @X128@\n", .rc = -EINVAL,
      .err = { "myorch.ini:3: bad value for user: 128 characters long; the limit is 127" } },
    { .title = "empty value",
      .ini = "[cluster.east]\nseeds = db1\nuser =\n", .rc = -EINVAL,
      .err = { "myorch.ini:3: empty value for user in [cluster.east]" } },
    { .title = "empty value made of a comment",
      .ini = "[cluster.east]\nseeds = ; db1\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: empty value for seeds in [cluster.east]" } },

    /* ---------------------------------------------------------- seeds */
    { .title = "seed port 0",
      .ini = "[cluster.east]\nseeds = db1:0\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value for seeds: ", "db1:0", "port" } },
    { .title = "seed port 65536",
      .ini = "[cluster.east]\nseeds = db1:3306, db2:65536\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value for seeds: ", "db2:65536" } },
    { .title = "seed with an empty port",
      .ini = "[cluster.east]\nseeds = db1:\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value for seeds: ", "db1:" } },
    { .title = "empty seed entry",
      .ini = "[cluster.east]\nseeds = db1, , db2\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: empty entry in seeds 'db1, , db2': remove the doubled or trailing comma" } },
    { .title = "trailing comma in seeds",
      .ini = "[cluster.east]\nseeds = db1,\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: empty entry in seeds 'db1,'" } },
    { .title = "leading comma in seeds",
      .ini = "[cluster.east]\nseeds = ,db1\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: empty entry in seeds ',db1'" } },
    { .title = "IPv6 seed without brackets",
      .ini = "[cluster.east]\nseeds = ::1\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value for seeds: ", "::1" } },
    { .title = "invalid IPv6 seed",
      .ini = "[cluster.east]\nseeds = [zz::1]:3306\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: bad value for seeds: '[zz::1]:3306' is not a valid IPv6 address" } },
    { .title = "seed listed twice",
      .ini = "[cluster.east]\nseeds = db1, DB1:3306\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: seed 'DB1:3306' is listed twice in seeds" } },
    { .title = "seed in two clusters",
      .ini = "[cluster.east]\nseeds = db1:3306, db2\nuser = myorch\npassword_file = east.pass\n"
             "[cluster.west]\nseeds = db3, DB2:3306\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:6: seed 'DB2:3306' is already in [cluster.east] (line 2)" } },

    /* ---------------------------------------------------------- required keys */
    { .title = "missing seeds",
      .ini = "[myorch]\n\n[cluster.east]\nuser = myorch\npassword_file = east.pass\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:3: [cluster.east]: missing required key 'seeds'" } },
    { .title = "missing user",
      .ini = "[cluster.east]\nseeds = db1\npassword_file = east.pass\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:1: [cluster.east]: missing required key 'user'" } },
    { .title = "missing password",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\n", .rc = -EINVAL,
      .err = { "myorch.ini:1: [cluster.east]: missing required key 'password' or 'password_file'" } },
    { .title = "missing key reported when its section ends, before later problems",
      .ini = "[cluster.a]\nuser = u\npassword_file = east.pass\n[cluster.b]\nbogus = 1\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:1: [cluster.a]: missing required key 'seeds'" } },
    { .title = "no cluster",
      .ini = "[myorch]\nlog_level = info\n", .rc = -EINVAL,
      .err = { "myorch.ini: no [cluster.NAME] section: configure at least one cluster" } },
    { .title = "empty file",
      .ini = "", .rc = -EINVAL, .err = { "myorch.ini: no [cluster.NAME] section" } },

    /* ---------------------------------------------------------- secrets */
    { .title = "password_file missing (relative path)",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = nope.pass\n", .rc = -EINVAL,
      .err = { "myorch.ini:4: password_file '@DIR@/nope.pass': cannot read: No such file or directory" } },
    { .title = "password_file missing (absolute path)",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = /nonexistent/x.pass\n",
      .rc = -EINVAL,
      .err = { "myorch.ini:4: password_file '/nonexistent/x.pass': cannot read: No such file or directory" } },
    { .title = "TLS keys",
      .ini = EAST "ssl_mode = verify_identity\nssl_ca = ca.pem\nssl_cert = client.pem\nssl_key = client.key\n"
             "replication_ssl_ca = /etc/mysql/ca.pem\nreplication_ssl_verify_server_cert = yes\n",
      .files = { PASS_EAST, { "ca.pem", "PEM\n", 0644, false }, { "client.pem", "PEM\n", 0644, false },
                 { "client.key", "KEY\n", 0600, false } },
      .check = check_tls },
    { .title = "pinned server key without TLS",
      .ini = EAST "ssl_mode = disabled\nserver_public_key_file = server.pub\nreplication_ssl = no\n",
      .files = { PASS_EAST, { "server.pub", "PEM\n", 0644, false } }, .check = check_pinned_key },
    { .title = "ssl_mode unknown",
      .ini = EAST "ssl_mode = verify\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: bad value 'verify' for ssl_mode: expected one of disabled, preferred, required, "
               "verify_ca, verify_identity" } },
    { .title = "ssl_ca missing",
      .ini = EAST "ssl_mode = verify_ca\nssl_ca = nope.pem\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:6: ssl_ca '@DIR@/nope.pem': cannot read: No such file or directory" } },
    { .title = "ssl_key readable by the group",
      .ini = EAST "ssl_mode = required\nssl_cert = c.pem\nssl_key = c.key\n",
      .files = { PASS_EAST, { "c.pem", "PEM\n", 0644, false }, { "c.key", "KEY\n", 0640, false } },
      .rc = -EINVAL,
      .err = { "myorch.ini:7: ssl_key '@DIR@/c.key' is accessible to other users (mode 0640): run chmod 600 "
               "@DIR@/c.key" } },
    { .title = "verify_identity without ssl_ca",
      .ini = EAST "ssl_mode = verify_identity\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: [cluster.east]: ssl_mode verify_ca and verify_identity need ssl_ca" } },
    { .title = "ssl_ca without a verifying mode",
      .ini = EAST "ssl_ca = ca.pem\n", .files = { PASS_EAST, { "ca.pem", "PEM\n", 0644, false } },
      .rc = -EINVAL,
      .err = { "myorch.ini:1: [cluster.east]: ssl_ca is only used to verify servers: set ssl_mode = verify_ca "
               "or verify_identity" } },
    { .title = "pinned key with unverified TLS",
      .ini = EAST "ssl_mode = required\nserver_public_key_file = k.pub\n",
      .files = { PASS_EAST, { "k.pub", "PEM\n", 0644, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:5: [cluster.east]: server_public_key_file is not used over TLS" } },
    { .title = "replication_ssl = no with replication_ssl_ca",
      .ini = EAST "replication_ssl = no\nreplication_ssl_ca = /etc/ca.pem\n", .files = { PASS_EAST },
      .rc = -EINVAL,
      .err = { "myorch.ini:5: [cluster.east]: replication_ssl = no, but replication_ssl_* options are set" } },
    { .title = "replication_ssl_ca relative",
      .ini = EAST "replication_ssl_ca = ca.pem\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: bad value 'ca.pem' for replication_ssl_ca: expected an absolute path on the "
               "database servers" } },
    { .title = "password_file is a directory",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = secrets\n",
      .files = { { "secrets", NULL, 0700, true } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: password_file '@DIR@/secrets': cannot read: Is a directory" } },
    { .title = "password_file world-readable",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = east.pass\n",
      .files = { { "east.pass", "s3cret\n", 0644, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: password_file '@DIR@/east.pass' is readable by other users (mode 0644): "
               "run chmod 600 @DIR@/east.pass" } },
    { .title = "password_file world-writable",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = east.pass\n",
      .files = { { "east.pass", "s3cret\n", 0602, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: password_file '@DIR@/east.pass' is writable by other users (mode 0602)" } },
    { .title = "password_file empty",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = east.pass\n",
      .files = { { "east.pass", "", 0600, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: password_file '@DIR@/east.pass' is empty" } },
    { .title = "password_file with only newlines",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = east.pass\n",
      .files = { { "east.pass", "\n\r\n", 0600, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:4: password_file '@DIR@/east.pass' is empty" } },
    { .title = "replication_password_file world-readable",
      .ini = EAST "replication_password_file = repl.pass\n",
      .files = { PASS_EAST, { "repl.pass", "r\n", 0604, false } }, .rc = -EINVAL,
      .err = { "myorch.ini:5: replication_password_file '@DIR@/repl.pass' is readable by other users "
               "(mode 0604)" } },
    { .title = "both password and password_file",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword = x\npassword_file = east.pass\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: both password and password_file set in [cluster.east] (password on line 4, "
               "password_file on line 5): keep only one" } },
    { .title = "both password_file and password",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword_file = east.pass\npassword = x\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: both password and password_file set in [cluster.east] (password on line 5, "
               "password_file on line 4)" } },
    { .title = "both replication_password and its file",
      .ini = EAST "replication_password = x\nreplication_password_file = east.pass\n",
      .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:6: both replication_password and replication_password_file set in "
               "[cluster.east]" } },
    { .title = "inline password in a world-readable config",
      .ini = "[cluster.east]\nseeds = db1\nuser = myorch\npassword = hunter2\n", .ini_mode = 0644,
      .rc = -EINVAL,
      .err = { "myorch.ini:4: inline password in a config file readable by other users (mode 0644): "
               "run chmod 600 @DIR@/myorch.ini, or use password_file" } },
    { .title = "inline replication_password in a world-accessible config",
      .ini = EAST "replication_password = hunter3\n", .ini_mode = 0606, .files = { PASS_EAST },
      .rc = -EINVAL,
      .err = { "myorch.ini:5: inline replication_password in a config file readable and writable by "
               "other users (mode 0606)", "or use replication_password_file" } },

    /* ---------------------------------------------------------- lines */
    { .title = "199-byte line (inih would split it)",
      .ini = EAST "lag_query = @X187@\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: line is 199 bytes long; the limit is 198 bytes per line" } },
    { .title = "very long line",
      .ini = "[myorch]\n; @X5000@\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: line is 5002 bytes long; the limit is 198" } },
    { .title = "very long line without a final newline",
      .ini = EAST "lag_query = @X400@", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: line is 412 bytes long" } },
    { .title = "continuation line",
      .ini = EAST "lag_query = SELECT 1\n    + 1\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:6: indented line after a key: continuation lines are not supported" } },
    { .title = "indented key after a key",
      .ini = "[cluster.east]\n  seeds = db1\n  user = myorch\n", .rc = -EINVAL,
      .err = { "myorch.ini:3: indented line after a key: continuation lines are not supported" } },
    { .title = "indented header after a key (inih: a continuation value)",
      .ini = EAST "  [cluster.west]\n", .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:5: indented line after a key: continuation" } },
    { .title = "key outside any section",
      .ini = "user = x\n" EAST, .files = { PASS_EAST }, .rc = -EINVAL,
      .err = { "myorch.ini:1: key 'user' outside of any section: put it under [myorch] or a [cluster.NAME]" } },
    { .title = "line without '='",
      .ini = "[myorch]\njust some words\n", .rc = -EINVAL,
      .err = { "myorch.ini:2: syntax error: expected 'key = value'" } },
    { .title = "'=' only after an inline comment",
      .ini = "[myorch]\nlog_level ; = info\n", .rc = -EINVAL, .err = { "myorch.ini:2: syntax error" } },
    { .title = "missing key name",
      .ini = "[myorch]\n= 5\n", .rc = -EINVAL, .err = { "myorch.ini:2: missing key name before '='" } },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

struct case_state {
    const struct cfg_case *row;
    char dir[64];
};

static int case_setup(void **state)
{
    struct case_state *cs = calloc(1, sizeof(*cs));
    if (!cs)
        return -1;
    cs->row = *state;
    snprintf(cs->dir, sizeof(cs->dir), "/tmp/test_config.XXXXXX");
    if (!mkdtemp(cs->dir)) {
        free(cs);
        return -1;
    }
    *state = cs;
    return 0;
}

static int case_teardown(void **state)
{
    struct case_state *cs = *state;
    rm_tree(cs->dir);
    free(cs);
    return 0;
}

static void run_case(void **state)
{
    struct case_state *cs = *state;
    const struct cfg_case *row = cs->row;
    char path[256], fpath[256], err[2048];
    char *ini;
    cfg_config c;
    int rc;

    for (size_t i = 0; i < 6 && row->files[i].name; i++) {
        snprintf(fpath, sizeof(fpath), "%s/%s", cs->dir, row->files[i].name);
        if (row->files[i].is_dir) {
            assert_int_equal(mkdir(fpath, row->files[i].mode), 0);
            assert_int_equal(chmod(fpath, row->files[i].mode), 0); /* exact mode, whatever the umask */
        } else {
            char *content = expand(row->files[i].content, cs->dir);
            write_file(fpath, content, strlen(content), row->files[i].mode);
            free(content);
        }
    }
    snprintf(path, sizeof(path), "%s/myorch.ini", cs->dir);
    ini = expand(row->ini, cs->dir);
    write_file(path, ini, strlen(ini), row->ini_mode ? row->ini_mode : 0600);
    free(ini);

    memset(&c, 0xA5, sizeof(c)); /* cfg_load must not rely on a zeroed struct */
    memset(err, 'Z', sizeof(err));
    rc = cfg_load(path, &c, err, sizeof(err));
    if (row->rc == 0) {
        if (rc != 0)
            fail_msg("[%s] expected success, got %d: %s", row->title, rc, err);
        row->check(&c, cs->dir);
        cfg_free(&c);
        assert_null(c.clusters);
        assert_int_equal(c.n_clusters, 0);
        return;
    }
    if (rc != row->rc)
        fail_msg("[%s] expected rc %d, got %d (%s)", row->title, row->rc, rc, rc ? err : "loaded");
    /* One message, starting with the file name, on one line. */
    if (strncmp(err, path, strlen(path)) != 0)
        fail_msg("[%s] message does not start with the file name: %s", row->title, err);
    if (strchr(err, '\n'))
        fail_msg("[%s] message spans several lines: %s", row->title, err);
    for (size_t i = 0; i < 3 && row->err[i]; i++) {
        char *want = expand(row->err[i], cs->dir);
        bool found = strstr(err, want) != NULL;
        if (!found)
            fprintf(stderr, "[%s]\n  expected: %s\n  got:      %s\n", row->title, want, err);
        free(want);
        if (!found)
            fail_msg("[%s] message mismatch", row->title);
    }
    /* A failed load leaves an empty config. */
    assert_null(c.clusters);
    assert_int_equal(c.n_clusters, 0);
    cfg_free(&c);
}

/* ------------------------------------------------------------------ special cases */

static void test_missing_file(void **state)
{
    cfg_config c;
    char err[512];
    (void)state;
    assert_int_equal(cfg_load("/nonexistent/myorch.ini", &c, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/myorch.ini: cannot open: No such file or directory");
    assert_int_equal(c.n_clusters, 0);
    assert_null(c.clusters);
    cfg_free(&c);
}

static void test_config_is_directory(void **state)
{
    cfg_config c;
    char err[512];
    (void)state;
    assert_int_equal(cfg_load("/tmp", &c, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "/tmp: cannot open: not a regular file");
    assert_int_equal(cfg_load("", &c, err, sizeof(err)), -EINVAL);
    assert_int_equal(cfg_load(NULL, &c, err, sizeof(err)), -EINVAL);
    assert_int_equal(cfg_load("/tmp", NULL, err, sizeof(err)), -EINVAL);
}

static void test_nul_byte(void **state)
{
    const char *dir = *state;
    char path[128], err[512];
    static const char text[] = "[myorch]\nlog_level = info\nlog\0_x = 1\n";
    cfg_config c;
    snprintf(path, sizeof(path), "%s/myorch.ini", dir);
    write_file(path, text, sizeof(text) - 1, 0600);
    assert_int_equal(cfg_load(path, &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "myorch.ini:3: line contains a NUL byte"));
}

/* Relative config path: messages use it as given; password files resolve
 * against the config file's directory, not the working directory. */
static void test_relative_paths(void **state)
{
    const char *dir = *state;
    char p[256], err[512], bad_err[512], cwd[4096], want[4200], got_path[4200], got_pw[64];
    cfg_config c;
    int rc, bad_rc;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(p, sizeof(p), "%s/sub", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/sub/east.pass", dir);
    write_file(p, "from-sub\n", 9, 0600);
    snprintf(p, sizeof(p), "%s/east.pass", dir);
    write_file(p, "from-cwd\n", 9, 0600);
    snprintf(p, sizeof(p), "%s/sub/myorch.ini", dir);
    write_file(p, EAST, strlen(EAST), 0600);
    snprintf(p, sizeof(p), "%s/sub/bad.ini", dir);
    write_file(p, "[bogus]\n", 8, 0600);

    /* Only plain calls while in dir: the checks run after going back. */
    assert_int_equal(chdir(dir), 0);
    rc = cfg_load("sub/myorch.ini", &c, err, sizeof(err));
    if (rc == 0) {
        snprintf(got_path, sizeof(got_path), "%s", c.path);
        snprintf(got_pw, sizeof(got_pw), "%s", c.clusters[0].password);
        cfg_free(&c);
    }
    bad_rc = cfg_load("sub/bad.ini", &c, bad_err, sizeof(bad_err));
    assert_int_equal(chdir(cwd), 0);

    if (rc != 0)
        fail_msg("load failed: %s", err);
    snprintf(want, sizeof(want), "%s/sub/myorch.ini", dir);
    assert_string_equal(got_path, want);
    assert_string_equal(got_pw, "from-sub");
    assert_int_equal(bad_rc, -EINVAL);
    assert_string_equal(bad_err,
                        "sub/bad.ini:1: unknown section [bogus]: expected [myorch] or [cluster.NAME]");
}

/* The shipped example (tests run from tests/, see CMakeLists.txt). */
static void test_example_fixture(void **state)
{
    const char *dir = *state;
    char p[256], err[1024];
    FILE *in;
    struct buf b = { 0 };
    char chunk[4096];
    size_t n;
    cfg_config c;
    const cfg_cluster *e, *w;
    int rc;

    in = fopen("fixtures/config/example.ini", "r");
    if (!in)
        in = fopen("tests/fixtures/config/example.ini", "r");
    if (!in)
        fail_msg("cannot find fixtures/config/example.ini (run from tests/)");
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
        buf_add(&b, chunk, n);
    fclose(in);
    snprintf(p, sizeof(p), "%s/myorch.ini", dir);
    write_file(p, b.s, b.len, 0644); /* no inline secrets: may be world-readable */
    free(b.s);
    snprintf(p, sizeof(p), "%s/east.pass", dir);
    write_file(p, "east-pw\n", 8, 0600);
    snprintf(p, sizeof(p), "%s/east-repl.pass", dir);
    write_file(p, "east-repl-pw\n", 13, 0640);
    snprintf(p, sizeof(p), "%s/west.pass", dir);
    write_file(p, "west-pw", 7, 0400);
    snprintf(p, sizeof(p), "%s/myorch.ini", dir);
    rc = cfg_load(p, &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("example.ini does not load: %s", err);
    assert_int_equal(c.n_clusters, 2);
    assert_string_equal(c.control_socket, "ipc:///var/lib/myorch/control.sock");
    e = cfg_find_cluster(&c, "east");
    w = cfg_find_cluster(&c, "west");
    assert_non_null(e);
    assert_non_null(w);
    assert_int_equal(e->n_seeds, 3);
    assert_string_equal(e->seeds[2].host, "2001:db8::10");
    assert_int_equal(e->seeds[2].port, 3307);
    assert_string_equal(e->password, "east-pw");
    assert_string_equal(e->replication_user, "repl");
    assert_string_equal(e->replication_password, "east-repl-pw");
    assert_non_null(e->lag_query);
    assert_int_equal(e->poll_interval_ms, 500);
    assert_string_equal(w->password, "west-pw");
    assert_int_equal(w->poll_interval_ms, 250);
    cfg_free(&c);
}

/* cfg_free() wipes each secret in place before freeing it. */
/* An existing socket file may be replaced; the state directory reached through a symbolic link may not. */
static void test_ipc_socket_file_and_symlink(void **state)
{
    const char *dir = *state;
    char p[256], ini[1024], err[2048], sock_path[200];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cfg_config c;
    int fd, rc;

    snprintf(p, sizeof(p), "%s/east.pass", dir);
    write_file(p, "s3cret\n", 7, 0600);
    snprintf(sock_path, sizeof(sock_path), "%s/old.sock", dir);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_true(strlen(sock_path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/st", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/link", dir);
    assert_int_equal(symlink("st", p), 0);

    snprintf(ini, sizeof(ini), "[myorch]\nstate_dir = %s/st\ncontrol_socket = ipc://%s\n" EAST, dir, sock_path);
    snprintf(p, sizeof(p), "%s/myorch.ini", dir);
    write_file(p, ini, strlen(ini), 0600);
    rc = cfg_load(p, &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("a stale socket file must be accepted: %s", err);
    cfg_free(&c);

    snprintf(ini, sizeof(ini), "[myorch]\nstate_dir = %s/st\nevent_socket = ipc://%s/link/state.db\n" EAST, dir, dir);
    write_file(p, ini, strlen(ini), 0600);
    rc = cfg_load(p, &c, err, sizeof(err));
    assert_int_equal(rc, -EINVAL);
    if (!strstr(err, "myorch.ini:3: event_socket") || !strstr(err, "/link/state.db' is inside state_dir"))
        fail_msg("unexpected message: %s", err);
    cfg_free(&c);
}

/* cfg_free() wipes the CURVE secret keys (the daemon's and the CLI's). */
static void test_free_wipes_keys(void **state)
{
    const char *dir = *state;
    char p[256], err[2048];
    static const char ini[] = TCP_CTL "control_secret_key_file = server.key\ncontrol_readonly_keys = bob.pub\n"
                              "control_client_key_file = alice.key\n" EAST;
    bool seen_server = false, seen_client = false;
    cfg_config c;

    snprintf(p, sizeof(p), "%s/east.pass", dir);
    write_file(p, "s3cret\n", 7, 0600);
    snprintf(p, sizeof(p), "%s/server.key", dir);
    write_file(p, SERVER_SEC "\n", 41, 0600);
    snprintf(p, sizeof(p), "%s/alice.key", dir);
    write_file(p, ALICE_SEC "\n", 41, 0600);
    snprintf(p, sizeof(p), "%s/bob.pub", dir);
    write_file(p, BOB_PUB "\n", 41, 0644);
    snprintf(p, sizeof(p), "%s/myorch.ini", dir);
    write_file(p, ini, sizeof(ini) - 1, 0600);
    if (cfg_load(p, &c, err, sizeof(err)) != 0)
        fail_msg("load failed: %s", err);
    n_wipes = 0;
    wipe_recording = true;
    cfg_free(&c);
    wipe_recording = false;
    for (size_t i = 0; i < n_wipes; i++) {
        if (wipes[i].len >= 40 && strcmp(wipes[i].before, SERVER_SEC) == 0)
            seen_server = true;
        if (wipes[i].len >= 40 && strcmp(wipes[i].before, ALICE_SEC) == 0)
            seen_client = true;
    }
    assert_true(seen_server);
    assert_true(seen_client);
}

static void test_free_wipes_secrets(void **state)
{
    const char *dir = *state;
    char p[256], err[512];
    static const char ini[] = EAST "replication_password_file = repl.pass\n"
                              "[cluster.west]\nseeds = db9\nuser = u\npassword = inline-pw\n";
    cfg_config c;
    const void *pw, *rpw, *wpw, *wrpw;
    bool seen_pw = false, seen_rpw = false, seen_wpw = false, seen_wrpw = false;
    int rc;

    snprintf(p, sizeof(p), "%s/east.pass", dir);
    write_file(p, "s3cret\n", 7, 0600);
    snprintf(p, sizeof(p), "%s/repl.pass", dir);
    write_file(p, "r3pl!\n", 6, 0600);
    snprintf(p, sizeof(p), "%s/myorch.ini", dir);
    write_file(p, ini, sizeof(ini) - 1, 0600);
    rc = cfg_load(p, &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("load failed: %s", err);
    pw = c.clusters[0].password;
    rpw = c.clusters[0].replication_password;
    wpw = c.clusters[1].password;
    wrpw = c.clusters[1].replication_password;

    n_wipes = 0;
    wipe_recording = true;
    cfg_free(&c);
    wipe_recording = false;
    for (size_t i = 0; i < n_wipes; i++) {
        if (wipes[i].ptr == pw && wipes[i].len >= 6 && strcmp(wipes[i].before, "s3cret") == 0)
            seen_pw = true;
        if (wipes[i].ptr == rpw && wipes[i].len >= 5 && strcmp(wipes[i].before, "r3pl!") == 0)
            seen_rpw = true;
        if (wipes[i].ptr == wpw && wipes[i].len >= 9 && strcmp(wipes[i].before, "inline-pw") == 0)
            seen_wpw = true;
        if (wipes[i].ptr == wrpw && wipes[i].len >= 9 && strcmp(wipes[i].before, "inline-pw") == 0)
            seen_wrpw = true;
    }
    assert_true(seen_pw);
    assert_true(seen_rpw);
    assert_true(seen_wpw);
    assert_true(seen_wrpw);
    /* The struct is emptied; freeing again (or a zeroed one, or NULL) is harmless. */
    assert_null(c.clusters);
    assert_int_equal(c.n_clusters, 0);
    assert_int_equal(c.path[0], '\0');
    cfg_free(&c);
    cfg_free(NULL);
}

/* Secrets read by cfg_load() are wiped from its scratch buffers too. */
static void test_load_wipes_scratch(void **state)
{
    const char *dir = *state;
    char p[256], err[512];
    static const char ini[] = "[cluster.east]\nseeds = db1\nuser = u\npassword = inline-pw\n";
    cfg_config c;
    bool line_wiped = false, file_wiped = false;
    int rc;

    snprintf(p, sizeof(p), "%s/myorch.ini", dir);
    write_file(p, ini, sizeof(ini) - 1, 0600);
    n_wipes = 0;
    wipe_recording = true;
    rc = cfg_load(p, &c, err, sizeof(err));
    wipe_recording = false;
    if (rc != 0)
        fail_msg("load failed: %s", err);
    for (size_t i = 0; i < n_wipes; i++) {
        if (strstr(wipes[i].before, "inline-pw") && strstr(wipes[i].before, "password"))
            line_wiped = true; /* the last line read or the stdio buffer */
        if (strncmp(wipes[i].before, "[cluster.east]", 14) == 0)
            file_wiped = true; /* the stdio buffer holds the whole file */
    }
    assert_true(line_wiped);
    assert_true(file_wiped);
    cfg_free(&c);
}

struct secret_case {
    const char *content;   /* NULL: no file */
    size_t len;
    mode_t mode;
    bool is_dir;
    int rc;
    const char *want;      /* the secret, or a substring of the error */
};

static void test_read_secret_file(void **state)
{
    static const struct secret_case rows[] = {
        { "pw\n", 3, 0600, false, 0, "pw" },
        { "pw", 2, 0400, false, 0, "pw" },
        { "p w\r\n\n", 6, 0640, false, 0, "p w" },
        { "line1\nline2\n", 12, 0600, false, 0, "line1\nline2" },
        { NULL, 0, 0, false, -ENOENT, "cannot read: No such file or directory" },
        { NULL, 0, 0700, true, -EISDIR, "cannot read: Is a directory" },
        { "pw\n", 3, 0644, false, -EPERM, "is readable by other users (mode 0644): run chmod 600 " },
        { "pw\n", 3, 0604, false, -EPERM, "is readable by other users (mode 0604)" },
        { "pw\n", 3, 0602, false, -EPERM, "is writable by other users (mode 0602)" },
        { "pw\n", 3, 0606, false, -EPERM, "is readable and writable by other users (mode 0606)" },
        { "", 0, 0600, false, -EINVAL, "is empty" },
        { "\r\n\n", 3, 0600, false, -EINVAL, "is empty" },
        { "p\0w", 3, 0600, false, -EINVAL, "contains a NUL byte" },
    };
    const char *dir = *state;
    char path[256], err[512];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct secret_case *r = &rows[i];
        char *out = (char *)"untouched";
        int rc;
        snprintf(path, sizeof(path), "%s/s%zu", dir, i);
        if (r->is_dir)
            assert_int_equal(mkdir(path, r->mode), 0);
        else if (r->content)
            write_file(path, r->content, r->len, r->mode);
        rc = cfg_read_secret_file(path, &out, err, sizeof(err));
        if (rc != r->rc)
            fail_msg("row %zu: expected %d, got %d (%s)", i, r->rc, rc, rc ? err : out);
        if (r->rc == 0) {
            assert_string_equal(out, r->want);
            free(out);
            continue;
        }
        assert_null(out);
        if (!strstr(err, r->want))
            fail_msg("row %zu: expected '%s' in '%s'", i, r->want, err);
        if (strncmp(err, "'", 1) != 0 || !strstr(err, path))
            fail_msg("row %zu: message does not name the file: %s", i, err);
    }
    /* Too large. */
    {
        char *big = malloc(CFG_SECRET_MAX + 2), *out = NULL;
        assert_non_null(big);
        memset(big, 'a', CFG_SECRET_MAX + 1);
        snprintf(path, sizeof(path), "%s/big", dir);
        write_file(path, big, CFG_SECRET_MAX + 1, 0600);
        assert_int_equal(cfg_read_secret_file(path, &out, err, sizeof(err)), -EFBIG);
        assert_null(out);
        write_file(path, big, CFG_SECRET_MAX, 0600); /* exactly the limit is fine */
        assert_int_equal(cfg_read_secret_file(path, &out, err, sizeof(err)), 0);
        assert_int_equal(strlen(out), CFG_SECRET_MAX);
        free(out);
        free(big);
    }
}

static void test_log_levels(void **state)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    int v;
    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_string_equal(cfg_log_level_name(i), names[i]);
        v = -1;
        assert_int_equal(cfg_log_level_parse(names[i], &v), 0);
        assert_int_equal(v, i);
    }
    assert_int_equal(CFG_LOG_ERROR, 0);
    assert_int_equal(CFG_LOG_DEBUG, 3);
    assert_int_equal(cfg_log_level_parse("Debug", &v), 0);
    assert_int_equal(v, CFG_LOG_DEBUG);
    v = 42;
    assert_int_equal(cfg_log_level_parse("warning", &v), -EINVAL);
    assert_int_equal(cfg_log_level_parse("", &v), -EINVAL);
    assert_int_equal(cfg_log_level_parse(NULL, &v), -EINVAL);
    assert_int_equal(v, 42);
    assert_string_equal(cfg_log_level_name(-1), "?");
    assert_string_equal(cfg_log_level_name(4), "?");
}

static void test_find_cluster_edges(void **state)
{
    cfg_config c;
    (void)state;
    memset(&c, 0, sizeof(c));
    assert_null(cfg_find_cluster(NULL, "east"));
    assert_null(cfg_find_cluster(&c, "east"));
    assert_null(cfg_find_cluster(&c, NULL));
}

/* Tiny or absent error buffers are handled. */
static void test_small_err_buffer(void **state)
{
    cfg_config c;
    char err[8];
    (void)state;
    memset(err, 'Z', sizeof(err));
    assert_int_equal(cfg_load("/nonexistent/myorch.ini", &c, err, sizeof(err)), -ENOENT);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(cfg_load("/nonexistent/myorch.ini", &c, NULL, 0), -ENOENT);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_config_is_directory),
        cmocka_unit_test_setup_teardown(test_nul_byte, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_example_fixture, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_free_wipes_secrets, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_free_wipes_keys, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_ipc_socket_file_and_symlink, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_load_wipes_scratch, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_read_secret_file, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_find_cluster_edges),
        cmocka_unit_test(test_small_err_buffer),
    };
    const size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
    struct CMUnitTest *tests = calloc(N_CASES + n_fixed, sizeof(*tests));
    int failed;

    if (!tests)
        return 1;
    /* One named cmocka test per table row. */
    for (size_t i = 0; i < N_CASES; i++) {
        tests[i].name = cases[i].title;
        tests[i].test_func = run_case;
        tests[i].setup_func = case_setup;
        tests[i].teardown_func = case_teardown;
        tests[i].initial_state = (void *)&cases[i];
    }
    memcpy(tests + N_CASES, fixed, sizeof(fixed));
    failed = _cmocka_run_group_tests("config", tests, N_CASES + n_fixed, NULL, NULL);
    free(tests);
    return failed;
}
