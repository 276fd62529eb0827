/*
 * tests/unit/test_log.c — log line formats (orchestrator/log.h): text, JSON, and the
 * journal's variants (no timestamp, <N> priority), escaping, over-long messages, and
 * the $JOURNAL_STREAM match.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "orchestrator/log.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define T_MS 1764760913197LL /* 2025-12-03T11:21:53.197Z */

static void test_formats(void **state)
{
    static const struct {
        int format;
        bool journal;
        int level;
        const char *msg, *want;
    } rows[] = {
        {LOG_FORMAT_TEXT, false, LOGL_INFO, "myorch running", "2025-12-03T11:21:53.197Z info  myorch running\n"},
        {LOG_FORMAT_TEXT, false, LOGL_ERROR, "x", "2025-12-03T11:21:53.197Z error x\n"},
        /* the journal has its own timestamp; the priority tells journald the level */
        {LOG_FORMAT_TEXT, true, LOGL_INFO, "myorch running", "<6>info  myorch running\n"},
        {LOG_FORMAT_TEXT, true, LOGL_WARN, "w", "<4>warn  w\n"},
        {LOG_FORMAT_TEXT, true, LOGL_ERROR, "e", "<3>error e\n"},
        {LOG_FORMAT_TEXT, true, LOGL_DEBUG, "d", "<7>debug d\n"},
        {LOG_FORMAT_JSON, false, LOGL_WARN, "lag 3.2s",
         "{\"ts\":\"2025-12-03T11:21:53.197Z\",\"level\":\"warn\",\"msg\":\"lag 3.2s\"}\n"},
        {LOG_FORMAT_JSON, true, LOGL_ERROR, "down",
         "<3>{\"ts\":\"2025-12-03T11:21:53.197Z\",\"level\":\"error\",\"msg\":\"down\"}\n"},
        /* quotes, backslashes, control characters, invalid UTF-8; valid UTF-8 kept */
        {LOG_FORMAT_JSON, false, LOGL_INFO, "a\"b\\c\nd\x01\x7f\xff \xc3\xa9",
         "{\"ts\":\"2025-12-03T11:21:53.197Z\",\"level\":\"info\",\"msg\":\"a\\\"b\\\\c\\u000ad\\u0001\\u007f\\ufffd "
         "\xc3\xa9\"}\n"},
        /* out-of-range levels are clamped, never an out-of-bounds name */
        {LOG_FORMAT_TEXT, true, 9, "x", "<7>debug x\n"},
        {LOG_FORMAT_TEXT, true, -3, "x", "<3>error x\n"},
    };
    char out[1024];
    (void)state;
    for (size_t i = 0; i < NELEM(rows); i++) {
        size_t n = log_format_line(out, sizeof(out), rows[i].format, rows[i].journal, rows[i].level, T_MS,
                                   rows[i].msg);
        assert_string_equal(out, rows[i].want);
        assert_int_equal(n, strlen(rows[i].want));
    }
}

/* A message longer than the buffer: marked with "...", and a JSON line stays one
 * parseable document ending in a newline. */
static void test_long_message(void **state)
{
    char msg[3000], out[512];
    json_error_t e;
    json_t *j;
    size_t n;
    (void)state;
    memset(msg, '"', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    n = log_format_line(out, sizeof(out), LOG_FORMAT_JSON, false, LOGL_INFO, T_MS, msg);
    assert_true(n < sizeof(out));
    assert_int_equal(out[n - 1], '\n');
    j = json_loadb(out, n, 0, &e);
    assert_non_null(j);
    assert_non_null(strstr(json_string_value(json_object_get(j, "msg")), "..."));
    json_decref(j);
    memset(msg, 'x', sizeof(msg) - 1);
    n = log_format_line(out, sizeof(out), LOG_FORMAT_TEXT, false, LOGL_INFO, T_MS, msg);
    assert_true(n < sizeof(out));
    assert_memory_equal(out + n - 4, "...\n", 4);
}

static void test_journal_stream(void **state)
{
    (void)state;
    assert_true(log_journal_stream_is("8:1234", 8, 1234));
    assert_false(log_journal_stream_is("8:1234", 8, 1235));
    assert_false(log_journal_stream_is("9:1234", 8, 1234));
    assert_false(log_journal_stream_is("8:1234x", 8, 1234));
    assert_false(log_journal_stream_is("8", 8, 1234));
    assert_false(log_journal_stream_is("", 8, 1234));
    assert_false(log_journal_stream_is(NULL, 8, 1234));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_long_message),
        cmocka_unit_test(test_journal_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
