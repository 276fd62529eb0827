/*
 * tests/unit/test_control.c — the control socket's pure decisions: which
 * CURVE client the ZAP handler admits (and with which role), and which
 * commands a role may run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <zmq.h>

#include "orchestrator/serve/control.h"

#define ALICE_PUB "IbTKvVI[#.@yNf[&m0I@(@s[)[>hD2N+uVGD5}}F"
#define BOB_PUB "D{1v!pFdo]uZG*MQ3p!ESm)NLooAKcp&7&Cp=HJv"
#define EVE_PUB "!e<0XS9g!XRi-e8R2!vEJOTG>hRtOKq)Pg(U^)z9"

static const cfg_control_key keys[] = {
    {ALICE_PUB, CFG_ROLE_OPERATOR, "alice"},
    {BOB_PUB, CFG_ROLE_READONLY, "bob"},
};

static void test_zap_decide(void **state)
{
    uint8_t alice[32], bob[32], eve[32];
    char uid[128];
    (void)state;
    assert_non_null(zmq_z85_decode(alice, ALICE_PUB));
    assert_non_null(zmq_z85_decode(bob, BOB_PUB));
    assert_non_null(zmq_z85_decode(eve, EVE_PUB));

    assert_int_equal(ctl_zap_decide(keys, 2, "CURVE", alice, 32, uid, sizeof(uid)), 1);
    assert_string_equal(uid, "operator:alice");
    assert_int_equal(ctl_zap_decide(keys, 2, "CURVE", bob, 32, uid, sizeof(uid)), 1);
    assert_string_equal(uid, "readonly:bob");
    /* Unknown key, no keys at all, other mechanisms, malformed credentials: refused. */
    assert_int_equal(ctl_zap_decide(keys, 2, "CURVE", eve, 32, uid, sizeof(uid)), 0);
    assert_string_equal(uid, "");
    assert_int_equal(ctl_zap_decide(keys, 0, "CURVE", alice, 32, uid, sizeof(uid)), 0);
    assert_int_equal(ctl_zap_decide(keys, 2, "NULL", alice, 32, uid, sizeof(uid)), 0);
    assert_int_equal(ctl_zap_decide(keys, 2, "PLAIN", alice, 32, uid, sizeof(uid)), 0);
    assert_int_equal(ctl_zap_decide(keys, 2, NULL, alice, 32, uid, sizeof(uid)), 0);
    assert_int_equal(ctl_zap_decide(keys, 2, "CURVE", alice, 31, uid, sizeof(uid)), 0);
    assert_int_equal(ctl_zap_decide(keys, 2, "CURVE", alice, 0, uid, sizeof(uid)), 0);
}

static void test_cmd_allowed(void **state)
{
    static const char *const readonly_ok[] = {"ping", "status", "topology", "recoveries", "report"};
    static const char *const mutating[] = {"switchover", "failover", "relocate", "maintenance", "ack",
                                           "unknown", "", "STATUS", "status "};
    (void)state;
    for (size_t i = 0; i < sizeof(readonly_ok) / sizeof(readonly_ok[0]); i++) {
        assert_int_equal(ctl_cmd_allowed(CFG_ROLE_READONLY, readonly_ok[i]), 1);
        assert_int_equal(ctl_cmd_allowed(CFG_ROLE_OPERATOR, readonly_ok[i]), 1);
        assert_int_equal(ctl_cmd_allowed(0, readonly_ok[i]), 0); /* no role: nothing */
    }
    for (size_t i = 0; i < sizeof(mutating) / sizeof(mutating[0]); i++) {
        assert_int_equal(ctl_cmd_allowed(CFG_ROLE_READONLY, mutating[i]), 0);
        assert_int_equal(ctl_cmd_allowed(CFG_ROLE_OPERATOR, mutating[i]), 1);
    }
    assert_int_equal(ctl_cmd_allowed(CFG_ROLE_READONLY, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zap_decide),
        cmocka_unit_test(test_cmd_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
