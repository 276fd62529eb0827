/* tests/unit/test_strbuf.c — topology/strbuf.{h,c}: growable strings and checked formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topology/strbuf.h"

/* Text far longer than any fixed buffer the program used grows whole, byte for byte. */
static void test_grows_whole(void **state)
{
    strbuf b = STRBUF_INIT;
    char *s;
    (void)state;
    assert_string_equal(strbuf_str(&b), "");
    for (int i = 0; i < 5000; i++)
        assert_int_equal(strbuf_printf(&b, "%s%d-7-%d", i ? "," : "", i, 100000 + i), 0);
    assert_int_equal(strbuf_error(&b), 0);
    assert_true(b.len > 50000);
    assert_int_equal(strlen(strbuf_str(&b)), b.len);
    assert_int_equal(strncmp(strbuf_str(&b), "0-7-100000,1-7-100001,", 22), 0);
    assert_string_equal(strbuf_str(&b) + b.len - 11, "4999-7-104999" + 2);
    assert_int_equal(strbuf_putc(&b, '!'), 0);
    assert_int_equal(strbuf_putn(&b, "abcdef", 3), 0);
    assert_string_equal(strbuf_str(&b) + b.len - 4, "!abc");
    s = strbuf_steal(&b);
    assert_non_null(s);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    free(s);
    /* setf replaces. */
    assert_int_equal(strbuf_setf(&b, "x=%d", 1), 0);
    assert_int_equal(strbuf_setf(&b, "y=%s", "2"), 0);
    assert_string_equal(strbuf_str(&b), "y=2");
    strbuf_reset(&b);
    assert_string_equal(strbuf_str(&b), "");
    strbuf_free(&b);
    /* An empty buffer steals as "" (never NULL). */
    s = strbuf_steal(&b);
    assert_string_equal(s, "");
    free(s);
    s = strbuf_asprintf("%s:%d", "host", 3306);
    assert_string_equal(s, "host:3306");
    free(s);
}

/* Past STRBUF_MAX the buffer fails, keeps failing, and steal gives NULL: never a shorter value. */
static void test_overflow_is_an_error(void **state)
{
    strbuf b = STRBUF_INIT;
    (void)state;
    assert_int_equal(strbuf_puts(&b, "abc"), 0);
    assert_int_equal(strbuf_putn(&b, "x", STRBUF_MAX), -EOVERFLOW);
    assert_int_equal(strbuf_error(&b), -EOVERFLOW);
    assert_int_equal(strbuf_puts(&b, "def"), -EOVERFLOW); /* sticky */
    assert_string_equal(strbuf_str(&b), "abc");
    assert_null(strbuf_steal(&b));
    assert_null(b.s);
    /* reset forgets the failure */
    assert_int_equal(strbuf_puts(&b, "ok"), 0);
    assert_string_equal(strbuf_str(&b), "ok");
    strbuf_free(&b);
}

static void test_fmt_checked(void **state)
{
    char buf[8] = "zzzzzzz", err[128] = "";
    (void)state;
    assert_int_equal(fmt_checked(buf, sizeof(buf), err, sizeof(err), "port", "%d", 3306), 0);
    assert_string_equal(buf, "3306");
    assert_string_equal(err, "");
    /* Exactly fits: 7 bytes + NUL. */
    assert_int_equal(fmt_checked(buf, sizeof(buf), err, sizeof(err), "id", "%s", "1234567"), 0);
    assert_string_equal(buf, "1234567");
    /* One byte too many: an error with a message, and no shorter value left behind. */
    assert_int_equal(fmt_checked(buf, sizeof(buf), err, sizeof(err), "wait statement", "%s", "12345678"),
                     -EOVERFLOW);
    assert_string_equal(buf, "");
    assert_string_equal(err, "wait statement: 8 bytes do not fit in 7");
    /* err may be NULL. */
    assert_int_equal(fmt_checked(buf, sizeof(buf), NULL, 0, "x", "%s", "123456789"), -EOVERFLOW);
    assert_int_equal(fmt_checked(buf, 0, err, sizeof(err), "x", "%s", ""), -EINVAL);
}

/* strbuf_line: appends until one does not fit, which ends the line with "..." and stops it. */
static void test_line_cut_shows(void **state)
{
    (void)state;
    char b[12] = "";
    strbuf_line l = {.buf = b, .cap = sizeof(b)};
    strbuf_line_add(&l, "abc");
    strbuf_line_add(&l, "-%d", 42);
    assert_string_equal(b, "abc-42");
    assert_false(l.full);
    strbuf_line_add(&l, "%s", "defghijk");
    assert_true(l.full);
    assert_string_equal(b, "abc-42de...");
    assert_int_equal(strlen(b), sizeof(b) - 1);
    strbuf_line_add(&l, "more");
    assert_string_equal(b, "abc-42de...");

    char z[1] = "";
    strbuf_line none = {.buf = z, .cap = 0};
    strbuf_line_add(&none, "x");
    assert_string_equal(z, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_whole),
        cmocka_unit_test(test_overflow_is_an_error),
        cmocka_unit_test(test_fmt_checked),
        cmocka_unit_test(test_line_cut_shows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
