/* Unit tests for topology/trust.c (discovery trust) and topology/escape.c (terminal-safe text). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/escape.h"
#include "topology/trust.h"

static trust_endpoint ep(const char *host, const char *ip1, const char *ip2)
{
    trust_endpoint e;
    memset(&e, 0, sizeof(e));
    snprintf(e.host, sizeof(e.host), "%s", host);
    if (ip1)
        snprintf(e.ips[e.n_ips++], TRUST_IP_MAX, "%s", ip1);
    if (ip2)
        snprintf(e.ips[e.n_ips++], TRUST_IP_MAX, "%s", ip2);
    return e;
}

static void test_rules(void **state)
{
    trust_list l = {0};
    char err[256];
    trust_endpoint a;
    (void)state;
    assert_int_equal(trust_list_add(&l, " 10.0.0.0/8, db*.example.com ,fd00::/8", err, sizeof(err)), 0);
    assert_int_equal(trust_list_add(&l, "192.0.2.7", err, sizeof(err)), 0);
    assert_int_equal(l.n, 4);
    a = ep("10.1.2.3", "10.1.2.3", NULL);
    assert_true(trust_list_match(&l, &a));
    a = ep("11.1.2.3", "11.1.2.3", NULL);
    assert_false(trust_list_match(&l, &a));
    a = ep("DB7.Example.com", "203.0.113.9", NULL); /* pattern on the name, case-insensitive */
    assert_true(trust_list_match(&l, &a));
    a = ep("db7.example.com.evil.org", "203.0.113.9", NULL);
    assert_false(trust_list_match(&l, &a));
    a = ep("cache1", "198.51.100.1", "10.9.9.9"); /* a name resolving into an allowed net */
    assert_true(trust_list_match(&l, &a));
    a = ep("fd12::5", "fd12::5", NULL);
    assert_true(trust_list_match(&l, &a));
    a = ep("192.0.2.7", "192.0.2.7", NULL);
    assert_true(trust_list_match(&l, &a));
    a = ep("192.0.2.8", "192.0.2.8", NULL);
    assert_false(trust_list_match(&l, &a));
    trust_list_free(&l);
    assert_int_equal(l.n, 0);

    /* Refused items name the problem. */
    assert_int_equal(trust_list_add(&l, "10.1.2.3/8", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "beyond the /8 prefix"));
    assert_int_equal(trust_list_add(&l, "10.0.0.0/33", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "0 to 32"));
    assert_int_equal(trust_list_add(&l, "db*/8", err, sizeof(err)), -EINVAL);
    assert_int_equal(trust_list_add(&l, "a b", err, sizeof(err)), -EINVAL);
    assert_int_equal(trust_list_add(&l, "10.0.0.0/8,,x", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "empty item"));
    trust_list_free(&l);
    /* "*" trusts every name (the old behaviour, on the operator's request). */
    assert_int_equal(trust_list_add(&l, "*", err, sizeof(err)), 0);
    a = ep("anything", NULL, NULL);
    assert_true(trust_list_match(&l, &a));
    trust_list_free(&l);
}

static void test_decide(void **state)
{
    trust_policy p = {.confirm = true};
    char why[512];
    trust_endpoint seeds[] = {ep("127.0.0.1", "127.0.0.1", NULL)};
    trust_endpoint listed[] = {ep("127.0.0.1", "127.0.0.1", NULL), ep("127.0.0.1", "127.0.0.1", NULL),
                               ep("127.0.0.1", "127.0.0.1", NULL), ep("127.0.0.2", "127.0.0.2", NULL)};
    trust_endpoint dumps2[] = {ep("127.0.0.1", "127.0.0.1", NULL), ep("127.0.0.1", "127.0.0.1", NULL)};
    trust_endpoint dumps3[] = {ep("127.0.0.1", "127.0.0.1", NULL), ep("127.0.0.1", "127.0.0.1", NULL),
                               ep("localhost", "127.0.0.1", "::1")};
    trust_endpoint c1 = ep("127.0.0.1", "127.0.0.1", NULL), c2 = ep("127.0.0.2", "127.0.0.2", NULL);
    (void)state;

    /* A seed's host, 3 registrations there, 2 dumps: one registration has no stream. */
    assert_false(trust_decide(&p, &c1, seeds, 1, listed, 4, true, dumps2, 2, "p:1", why, sizeof(why)));
    assert_non_null(strstr(why, "lists 3 replica registration(s) at 127.0.0.1 but shows 2 Binlog Dump"));
    /* 3 dumps (one shown under a name resolving to the address): confirmed. */
    assert_true(trust_decide(&p, &c1, seeds, 1, listed, 4, true, dumps3, 3, "p:1", why, sizeof(why)));
    /* Processlist not read: never confirmed. */
    assert_false(trust_decide(&p, &c1, seeds, 1, listed, 4, false, NULL, 0, "p:1", why, sizeof(why)));
    assert_non_null(strstr(why, "processlist"));
    /* Not a seed's host, no allow list: refused whatever the dumps say. */
    {
        trust_endpoint d[] = {ep("127.0.0.2", "127.0.0.2", NULL)};
        assert_false(trust_decide(&p, &c2, seeds, 1, listed, 4, true, d, 1, "p:1", why, sizeof(why)));
        assert_non_null(strstr(why, "discover_allow"));
        /* Allowed, confirmed. */
        assert_int_equal(trust_list_add(&p.allow, "127.0.0.0/24", why, sizeof(why)), 0);
        assert_true(trust_decide(&p, &c2, seeds, 1, listed, 4, true, d, 1, "p:1", why, sizeof(why)));
        /* Allowed, no dump: refused while confirmation is on, trusted when it is off. */
        assert_false(trust_decide(&p, &c2, seeds, 1, listed, 4, true, NULL, 0, "p:1", why, sizeof(why)));
        p.confirm = false;
        assert_true(trust_decide(&p, &c2, seeds, 1, listed, 4, false, NULL, 0, "p:1", why, sizeof(why)));
        trust_list_free(&p.allow);
    }
}

static void test_escape(void **state)
{
    char buf[64];
    char *d;
    (void)state;
    assert_true(esc_is_safe("db1.example.com:3306 10.11.6-MariaDB \xc3\xa9t\xc3\xa9"));
    assert_false(esc_is_safe("evil\nmyorch: forged line"));
    assert_false(esc_is_safe("x\033[2J"));
    assert_false(esc_is_safe("c1 \xc2\x9b"));   /* U+009B CSI in UTF-8 */
    assert_false(esc_is_safe("bad \xff utf8"));
    assert_int_equal(esc_text("a\nb\033[31mc\td\r\x7f\x01", buf, sizeof(buf)), 24);
    assert_string_equal(buf, "a\\nb\\e[31mc\\td\\r\\x7f\\x01");
    assert_string_equal((esc_text("caf\xc3\xa9 \xc2\x9b \xe2\x82", buf, sizeof(buf)), buf), "caf\xc3\xa9 \\xc2\\x9b \\xe2\\x82");
    /* A cut is visible and never splits a character. */
    assert_true(esc_text("0123456789\n", buf, 8) > 8);
    assert_string_equal(buf, "0123...");
    assert_true(esc_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", buf, 8) >= 8);
    assert_string_equal(buf, "\xc3\xa9\xc3\xa9...");
    d = esc_dup("x\ny");
    assert_string_equal(d, "x\\ny");
    free(d);
    d = esc_dup(NULL);
    assert_string_equal(d, "");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
