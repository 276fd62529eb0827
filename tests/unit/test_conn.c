/*
 * tests/unit/test_conn.c — the pure rules of topology/probe/conn.c: which client
 * authentication plugins a connection may use for each TLS setting, which
 * settings are refused, and the ssl_mode names. (The library side, that a
 * refused plugin gets no password and that localhost means TCP, is tested
 * against real and fake servers in tests/integration.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "topology/probe/conn.h"

#define SCRAMBLE "mysql_native_password,client_ed25519"
#define ALL SCRAMBLE ",caching_sha2_password,sha256_password"

static void test_allowed_plugins(void **state)
{
    (void)state;
    static const struct {
        conn_ssl_mode mode;
        const char *key;
        const char *want;
    } rows[] = {
        {CONN_SSL_DISABLED, NULL, SCRAMBLE},
        {CONN_SSL_PREFERRED, NULL, SCRAMBLE},
        {CONN_SSL_REQUIRED, NULL, SCRAMBLE},
        {CONN_SSL_VERIFY_CA, NULL, SCRAMBLE},          /* may fall back to plain TCP before we check */
        {CONN_SSL_VERIFY_IDENTITY, NULL, ALL},         /* TLS verified before the password goes out */
        {CONN_SSL_DISABLED, "/k.pub", ALL},            /* RSA with the pinned key */
        {CONN_SSL_VERIFY_CA, "/k.pub", ALL},           /* verified TLS, or plain with the pinned key */
        {CONN_SSL_VERIFY_IDENTITY, "/k.pub", ALL},
        {CONN_SSL_PREFERRED, "/k.pub", SCRAMBLE},      /* unverified TLS: the key would not be used */
        {CONN_SSL_REQUIRED, "/k.pub", SCRAMBLE},
        {CONN_SSL_DISABLED, "", SCRAMBLE},             /* an empty path is no key */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        conn_params p = {.ssl_mode = rows[i].mode, .server_public_key_file = rows[i].key};
        const char *got = conn_allowed_plugins(&p);
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("row %zu (%s, key %s): got %s", i, conn_ssl_mode_name(rows[i].mode),
                     rows[i].key ? rows[i].key : "none", got);
        /* Never the plugins that send the password as typed. */
        assert_null(strstr(got, "clear"));
        assert_null(strstr(got, "dialog"));
    }
    assert_string_equal(conn_allowed_plugins(NULL), SCRAMBLE);
}

static void test_params_problem(void **state)
{
    (void)state;
    static const struct {
        conn_params p;
        const char *want; /* substring, NULL = fine */
    } rows[] = {
        {{.ssl_mode = CONN_SSL_PREFERRED}, NULL},
        {{.ssl_mode = CONN_SSL_DISABLED}, NULL},
        {{.ssl_mode = CONN_SSL_VERIFY_IDENTITY, .ssl_ca = "/ca"}, NULL},
        {{.ssl_mode = CONN_SSL_VERIFY_CA, .ssl_ca = "/ca", .ssl_cert = "/c", .ssl_key = "/k"}, NULL},
        {{.ssl_mode = CONN_SSL_REQUIRED, .ssl_cert = "/c", .ssl_key = "/k"}, NULL},
        {{.ssl_mode = CONN_SSL_DISABLED, .server_public_key_file = "/p"}, NULL},
        {{.ssl_mode = CONN_SSL_VERIFY_CA}, "need ssl_ca"},
        {{.ssl_mode = CONN_SSL_VERIFY_IDENTITY}, "need ssl_ca"},
        {{.ssl_mode = CONN_SSL_REQUIRED, .ssl_ca = "/ca"}, "ssl_ca is only used to verify"},
        {{.ssl_mode = CONN_SSL_REQUIRED, .ssl_cert = "/c"}, "go together"},
        {{.ssl_mode = CONN_SSL_DISABLED, .ssl_cert = "/c", .ssl_key = "/k"}, "need ssl_mode other than disabled"},
        {{.ssl_mode = CONN_SSL_PREFERRED, .server_public_key_file = "/p"}, "not used over TLS"},
        {{.ssl_mode = CONN_SSL_REQUIRED, .server_public_key_file = "/p"}, "not used over TLS"},
        {{.ssl_mode = (conn_ssl_mode)9}, "unknown ssl_mode"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = conn_params_problem(&rows[i].p);
        if (!rows[i].want && got)
            fail_msg("row %zu: refused: %s", i, got);
        if (rows[i].want && (!got || !strstr(got, rows[i].want)))
            fail_msg("row %zu: want '%s', got %s", i, rows[i].want, got ? got : "(fine)");
    }
}

static void test_mode_names(void **state)
{
    (void)state;
    const char *names[] = {"disabled", "preferred", "required", "verify_ca", "verify_identity"};
    conn_ssl_mode m;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(conn_ssl_mode_parse(names[i], &m), 0);
        assert_int_equal(m, i);
        assert_string_equal(conn_ssl_mode_name(m), names[i]);
    }
    assert_int_equal(conn_ssl_mode_parse("VERIFY_IDENTITY", &m), 0);
    assert_int_equal(m, CONN_SSL_VERIFY_IDENTITY);
    assert_int_equal(conn_ssl_mode_parse("verify", &m), -EINVAL);
    assert_int_equal(conn_ssl_mode_parse("", &m), -EINVAL);
    assert_string_equal(conn_ssl_mode_name((conn_ssl_mode)7), "?");
}

static void test_copy(void **state)
{
    (void)state;
    conn_params p = {.ssl_mode = CONN_SSL_VERIFY_CA, .ssl_ca = "/ca", .server_public_key_file = "/k"};
    conn_params_owned o;
    assert_int_equal(conn_params_copy(&o, &p), 0);
    assert_int_equal(o.p.ssl_mode, CONN_SSL_VERIFY_CA);
    assert_string_equal(o.p.ssl_ca, "/ca");
    assert_ptr_not_equal(o.p.ssl_ca, p.ssl_ca);
    assert_null(o.p.ssl_cert);
    assert_string_equal(conn_allowed_plugins(&o.p), ALL);
    conn_params_free(&o);
    assert_null(o.p.ssl_ca);
    assert_int_equal(conn_params_copy(&o, NULL), 0);
    assert_int_equal(o.p.ssl_mode, CONN_SSL_DISABLED);
    conn_params_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_plugins),
        cmocka_unit_test(test_params_problem),
        cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
