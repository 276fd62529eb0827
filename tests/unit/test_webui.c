/* tests/unit/test_webui.c — the web page's compiled-in files: exact paths only, types, no inline code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "orchestrator/serve/webui.h"

static void test_lookup_is_exact(void **state)
{
    static const struct {
        const char *path, *ctype; /* ctype NULL: not found */
    } rows[] = {
        {"/", "text/html; charset=utf-8"},
        {"/ui", "text/html; charset=utf-8"},
        {"/ui/", "text/html; charset=utf-8"},
        {"/ui/app.js", "text/javascript; charset=utf-8"},
        {"/ui/app.css", "text/css; charset=utf-8"},
        {"/ui/icon.svg", "image/svg+xml"},
        {"/ui/app.js/", NULL},
        {"/ui/APP.JS", NULL},
        {"/ui/app.js.map", NULL},
        {"/ui/../ui/app.js", NULL},
        {"/ui/./app.js", NULL},
        {"/ui//app.js", NULL},
        {"/ui/%2e%2e/etc/passwd", NULL},
        {"/etc/passwd", NULL},
        {"/ui/etc/passwd", NULL},
        {"/index.html", NULL},
        {"", NULL},
        {"ui/app.js", NULL},
    };
    (void)state;
    assert_null(webui_find(NULL));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const webui_asset *a = webui_find(rows[i].path);
        if (!rows[i].ctype) {
            if (a)
                fail_msg("'%s' found, expected none", rows[i].path);
            continue;
        }
        if (!a)
            fail_msg("'%s' not found", rows[i].path);
        assert_string_equal(a->ctype, rows[i].ctype);
        assert_true(a->len > 100);
        assert_int_equal(strlen(a->body), a->len); /* no NUL inside, nothing cut */
    }
}

/* The CSP forbids inline code: the page must not need any. */
static void test_page_has_no_inline_code(void **state)
{
    const webui_asset *html = webui_find("/");
    (void)state;
    assert_non_null(html);
    assert_non_null(strstr(html->body, "<script src=\"/ui/app.js\" defer></script>"));
    assert_non_null(strstr(html->body, "href=\"/ui/app.css\""));
    for (const char *p = html->body; (p = strstr(p, "<script")); p++)
        if (strncmp(p, "<script src=", 12))
            fail_msg("inline <script> at offset %td", p - html->body);
    assert_null(strstr(html->body, "<style"));
    assert_null(strstr(html->body, " style="));
    assert_null(strstr(html->body, " onclick="));
    assert_null(strstr(html->body, " onload="));
    assert_null(strstr(html->body, "http://"));
    assert_null(strstr(html->body, "https://"));
    /* Nothing from another origin, no storage of the token. */
    for (size_t i = 0; i < webui_count(); i++) {
        const webui_asset *a = webui_at(i);
        assert_null(strstr(a->body, "localStorage"));
        assert_null(strstr(a->body, "sessionStorage"));
        assert_null(strstr(a->body, "document.cookie"));
        assert_null(strstr(a->body, ".innerHTML"));
        assert_null(strstr(a->body, "eval("));
    }
    assert_null(webui_at(webui_count()));
}

static void test_csp_is_strict(void **state)
{
    (void)state;
    assert_null(strstr(WEBUI_CSP, "unsafe"));
    assert_null(strstr(WEBUI_CSP, "*"));
    assert_non_null(strstr(WEBUI_CSP, "default-src 'none'"));
    assert_non_null(strstr(WEBUI_CSP, "frame-ancestors 'none'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_is_exact),
        cmocka_unit_test(test_page_has_no_inline_code),
        cmocka_unit_test(test_csp_is_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
