/*
 * tests/unit/test_reload.c — what a configuration reload changes (orchestrator/reload.h):
 * keys that take a restart refuse the reload by name; clusters added, removed and changed
 * (hooks, timeouts, promotion rules) are told apart from unchanged ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "orchestrator/reload.h"

static char *hook_a[] = {"/usr/lib/myorch/hooks/vip up"};
static char *hook_b[] = {"/usr/lib/myorch/hooks/vip up", "logger failover"};

static void base(cfg_config *c, cfg_cluster *cl, size_t n)
{
    static const char *const names[] = {"east", "west", "north"};
    memset(c, 0, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "/etc/myorch/myorch.ini");
    snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/myorch");
    snprintf(c->control_socket, sizeof(c->control_socket), "ipc:///var/lib/myorch/control.sock");
    snprintf(c->event_socket, sizeof(c->event_socket), "ipc:///var/lib/myorch/events.sock");
    c->poll_interval_ms = 500;
    c->connect_timeout_ms = 1000;
    for (size_t i = 0; i < n; i++) {
        memset(&cl[i], 0, sizeof(cl[i]));
        snprintf(cl[i].name, sizeof(cl[i].name), "%s", names[i]);
        snprintf(cl[i].user, sizeof(cl[i].user), "myorch");
        cl[i].auto_failover = 1;
        cl[i].hook_timeout_ms = 10000;
        cl[i].hooks[CFG_HOOK_PRE_FAILOVER] = hook_a;
        cl[i].n_hooks[CFG_HOOK_PRE_FAILOVER] = 1;
    }
    c->clusters = cl;
    c->n_clusters = n;
}

/* Change the i-th key that takes a restart in c; returns its name, NULL past the last. */
static const char *change_restart_key(cfg_config *c, size_t i)
{
    switch (i) {
    case 0: snprintf(c->state_dir, sizeof(c->state_dir), "/srv/myorch"); return "state_dir";
    case 1: snprintf(c->control_socket, sizeof(c->control_socket), "ipc:///run/x.sock"); return "control_socket";
    case 2: snprintf(c->event_socket, sizeof(c->event_socket), "ipc:///run/e.sock"); return "event_socket";
    case 3: snprintf(c->http_listen, sizeof(c->http_listen), "127.0.0.1:9180"); return "http_listen";
    case 4: snprintf(c->log_file, sizeof(c->log_file), "/var/log/myorch/myorch.log"); return "log_file";
    case 5: c->log_format = CFG_LOG_FORMAT_JSON; return "log_format";
    case 6: c->allow_core_dumps = 1; return "allow_core_dumps";
    case 7: c->control_secret_key[0] = 'x'; return "control_secret_key_file";
    default: return NULL;
    }
}

static void test_restart_keys(void **state)
{
    (void)state;
    for (size_t i = 0;; i++) {
        cfg_config a, b;
        cfg_cluster ca[1], cb[1];
        rld_diff d;
        char err[512] = "";
        const char *key;
        base(&a, ca, 1);
        base(&b, cb, 1);
        if (!(key = change_restart_key(&b, i))) {
            assert_int_equal(i, 8);
            break;
        }
        assert_int_equal(rld_compare(&a, &b, &d, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, key));
        assert_non_null(strstr(err, "takes a restart"));
        assert_non_null(strstr(err, "/etc/myorch/myorch.ini"));
        assert_int_equal(d.n_added + d.n_removed + d.n_changed, 0);
    }
}

static void test_clusters(void **state)
{
    cfg_config a, b;
    cfg_cluster ca[2], cb[3];
    rld_diff d;
    char err[512] = "";
    (void)state;
    /* old: east, west; new: east (unchanged), west (pre_failover hooks changed), north (added). */
    base(&a, ca, 2);
    base(&b, cb, 3);
    cb[1].hooks[CFG_HOOK_PRE_FAILOVER] = hook_b;
    cb[1].n_hooks[CFG_HOOK_PRE_FAILOVER] = 2;
    assert_int_equal(rld_compare(&a, &b, &d, err, sizeof(err)), 0);
    assert_int_equal(d.n_added, 1);
    assert_string_equal(d.added[0], "north");
    assert_int_equal(d.n_changed, 1);
    assert_string_equal(d.changed[0], "west");
    assert_int_equal(d.n_removed, 0);
    assert_false(d.globals_changed);
    rld_diff_free(&d);
    /* the other way round: north removed, west changed back. */
    assert_int_equal(rld_compare(&b, &a, &d, err, sizeof(err)), 0);
    assert_int_equal(d.n_removed, 1);
    assert_string_equal(d.removed[0], "north");
    assert_int_equal(d.n_changed, 1);
    assert_int_equal(d.n_added, 0);
    rld_diff_free(&d);
    /* a global timeout only */
    base(&b, cb, 2);
    b.connect_timeout_ms = 2000;
    assert_int_equal(rld_compare(&a, &b, &d, err, sizeof(err)), 0);
    assert_true(d.globals_changed);
    assert_int_equal(d.n_added + d.n_removed + d.n_changed, 0);
    rld_diff_free(&d);
}

/* Change the i-th cluster setting; false past the last. */
static bool change_cluster(cfg_cluster *c, size_t i)
{
    switch (i) {
    case 0: c->auto_failover = 0; return true;
    case 1: c->failover_block_s = 60; return true;
    case 2: c->apply_timeout_ms = 5000; return true;
    case 3: c->hook_timeout_ms = 2000; return true;
    case 4: c->switchover_max_lag_s = 3; return true;
    case 5: c->poll_interval_ms = 250; return true;
    case 6: c->n_hooks[CFG_HOOK_PRE_FAILOVER] = 0; return true;
    case 7: snprintf(c->user, sizeof(c->user), "other"); return true;
    case 8: c->password = "secret"; return true;
    case 9: c->discover_confirm = !c->discover_confirm; return true;
    case 10: c->failover_quorum = CFG_QUORUM_NONE; return true;
    case 11: c->ready_max_lag_s = 30; return true;
    case 12: c->ready_require_semi_sync = !c->ready_require_semi_sync; return true;
    default: return false;
    }
}

static void test_cluster_fields(void **state)
{
    (void)state;
    for (size_t i = 0;; i++) {
        cfg_config a, b;
        cfg_cluster ca[1], cb[1];
        base(&a, ca, 1);
        base(&b, cb, 1);
        assert_true(rld_cluster_equal(&ca[0], &cb[0]));
        if (!change_cluster(&cb[0], i))
            break;
        if (rld_cluster_equal(&ca[0], &cb[0]))
            fail_msg("change %zu not seen", i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keys),
        cmocka_unit_test(test_clusters),
        cmocka_unit_test(test_cluster_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
