/*
 * tests/unit/test_etcd.c — the pure helpers of the etcd client (orchestrator/ha/etcd.c):
 * base64 both ways (etcd's JSON gateway carries keys and values in base64), the
 * gateway's int64-as-string numbers, and prefix range ends. The client itself is
 * covered against a real etcd by tests/integration/test_etcd.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "orchestrator/ha/etcd.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_b64(void **state)
{
    /* RFC 4648 test vectors, and an etcd key. */
    static const struct {
        const char *plain, *enc;
    } v[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"}, {"/x/lock/c1", "L3gvbG9jay9jMQ=="},
    };
    char out[64], back[64];
    size_t n;
    (void)state;
    for (size_t k = 0; k < NELEM(v); k++) {
        assert_int_equal(etcd_b64_encode(v[k].plain, strlen(v[k].plain), out, sizeof(out)), 0);
        assert_string_equal(out, v[k].enc);
        assert_int_equal(etcd_b64_decode(v[k].enc, back, sizeof(back), &n), 0);
        assert_int_equal(n, strlen(v[k].plain));
        assert_string_equal(back, v[k].plain);
    }
    /* binary with a NUL inside survives, n tells the length */
    assert_int_equal(etcd_b64_encode("a\0b", 3, out, sizeof(out)), 0);
    assert_int_equal(etcd_b64_decode(out, back, sizeof(back), &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(back, "a\0b", 3);
}

static void test_b64_bounds_and_garbage(void **state)
{
    char out[8];
    size_t n;
    (void)state;
    /* "foobar" needs 9 bytes encoded: refused, never truncated */
    assert_int_equal(etcd_b64_encode("foobar", 6, out, 8), -ENOSPC);
    assert_int_equal(etcd_b64_encode("fooba", 5, out, 9 - 1), -ENOSPC);
    assert_int_equal(etcd_b64_decode("Zm9vYmFy", out, 6, &n), -ENOSPC); /* 6 bytes + NUL */
    assert_int_equal(etcd_b64_decode("Zm9vYmFy", out, 7, &n), 0);
    static const char *bad[] = {"Zg=", "Zg===", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg==", "Zm9v\n"};
    for (size_t k = 0; k < NELEM(bad); k++)
        if (etcd_b64_decode(bad[k], out, sizeof(out), &n) != -EINVAL)
            fail_msg("accepted bad base64 '%s'", bad[k]);
    assert_int_equal(etcd_b64_decode(NULL, out, sizeof(out), &n), -EINVAL);
}

static void test_json_int(void **state)
{
    int64_t v;
    json_t *j;
    (void)state;
    j = json_string("7587864051282339335");
    assert_int_equal(etcd_json_int(j, &v), 0);
    assert_true(v == INT64_C(7587864051282339335));
    json_decref(j);
    j = json_integer(42);
    assert_int_equal(etcd_json_int(j, &v), 0);
    assert_int_equal(v, 42);
    json_decref(j);
    static const char *bad[] = {"", "12x", "x", "99999999999999999999", " 1"};
    for (size_t k = 0; k < NELEM(bad); k++) {
        j = json_string(bad[k]);
        if (etcd_json_int(j, &v) != -EINVAL)
            fail_msg("accepted '%s'", bad[k]);
        json_decref(j);
    }
    j = json_true();
    assert_int_equal(etcd_json_int(j, &v), -EINVAL);
    json_decref(j);
}

static void test_prefix_end(void **state)
{
    char out[16];
    (void)state;
    assert_int_equal(etcd_prefix_end("/m/views/", out, sizeof(out)), 0);
    assert_string_equal(out, "/m/views0");
    assert_int_equal(etcd_prefix_end("a", out, sizeof(out)), 0);
    assert_string_equal(out, "b");
    assert_int_equal(etcd_prefix_end("a\xff", out, sizeof(out)), 0);
    assert_string_equal(out, "b");
    assert_int_equal(etcd_prefix_end("\xff\xff", out, sizeof(out)), -EINVAL);
    assert_int_equal(etcd_prefix_end("0123456789abcdef", out, sizeof(out)), -ENOSPC);
    assert_int_equal(etcd_prefix_end("", out, sizeof(out)), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64),
        cmocka_unit_test(test_b64_bounds_and_garbage),
        cmocka_unit_test(test_json_int),
        cmocka_unit_test(test_prefix_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
