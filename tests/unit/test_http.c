/* tests/unit/test_http.c — HTTP route matching, token check, control requests, statuses, metrics text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/serve/http.h"
#include "orchestrator/decide/metrics.h"

typedef struct {
    const char *method, *path;
    int status;
    http_route_id id;
    const char *cluster;
    bool mutating;
    const char *allow;
} route_row;

static const route_row routes[] = {
    {"GET", "/health", 0, HTTP_R_HEALTH, "", false, NULL},
    {"HEAD", "/health", 0, HTTP_R_HEALTH, "", false, NULL},
    {"GET", "/ready", 0, HTTP_R_READY, "", false, NULL},
    {"GET", "/metrics", 0, HTTP_R_METRICS, "", false, NULL},
    {"GET", "/metrics/", 0, HTTP_R_METRICS, "", false, NULL},
    {"GET", "/api/v1/clusters", 0, HTTP_R_CLUSTERS, "", false, NULL},
    {"GET", "/api/v1/clusters/", 0, HTTP_R_CLUSTERS, "", false, NULL},
    {"GET", "/api/v1/clusters/east", 0, HTTP_R_CLUSTER, "east", false, NULL},
    {"GET", "/api/v1/clusters/east/", 0, HTTP_R_CLUSTER, "east", false, NULL},
    {"GET", "/api/v1/clusters/a-b_C9/topology", 0, HTTP_R_TOPOLOGY, "a-b_C9", false, NULL},
    {"GET", "/api/v1/clusters/east/recoveries", 0, HTTP_R_RECOVERIES, "east", false, NULL},
    {"GET", "/api/v1/clusters/east/report", 0, HTTP_R_REPORT, "east", false, NULL},
    {"POST", "/api/v1/clusters/east/switchover", 0, HTTP_R_SWITCHOVER, "east", true, NULL},
    {"POST", "/api/v1/clusters/east/failover", 0, HTTP_R_FAILOVER, "east", true, NULL},
    {"POST", "/api/v1/clusters/east/maintenance", 0, HTTP_R_MAINTENANCE, "east", true, NULL},
    {"POST", "/api/v1/clusters/east/ack", 0, HTTP_R_ACK, "east", true, NULL},
    {"POST", "/api/v1/clusters/east/relocate", 0, HTTP_R_RELOCATE, "east", true, NULL},
    {"GET", "/api/v1/events", 0, HTTP_R_EVENTS, "", false, NULL},
    {"POST", "/api/v1/events", 405, HTTP_R_NONE, "", false, "GET, HEAD"},
    {"GET", "/api/v1/events/x", 404, HTTP_R_NONE, "", false, NULL},
    /* 40 characters is the longest name; 41 is no cluster. */
    {"GET", "/api/v1/clusters/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, HTTP_R_CLUSTER,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, NULL},
    {"GET", "/api/v1/clusters/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 404, HTTP_R_NONE, "", false, NULL},
    /* Wrong methods: 405 with the methods that work. */
    {"POST", "/health", 405, HTTP_R_NONE, "", false, "GET, HEAD"},
    {"DELETE", "/api/v1/clusters/east", 405, HTTP_R_NONE, "", false, "GET, HEAD"},
    {"GET", "/api/v1/clusters/east/switchover", 405, HTTP_R_NONE, "", false, "POST"},
    {"HEAD", "/api/v1/clusters/east/ack", 405, HTTP_R_NONE, "", false, "POST"},
    {"POST", "/api/v1/clusters/east/topology", 405, HTTP_R_NONE, "", false, "GET, HEAD"},
    {"PUT", "/metrics", 405, HTTP_R_NONE, "", false, "GET, HEAD"},
    /* Unknown routes. */
    /* The web page: "/" and /ui/...; which files exist is webui_find()'s business (tests/unit/test_webui.c). */
    {"GET", "/", 0, HTTP_R_STATIC, "", false, NULL},
    {"HEAD", "/", 0, HTTP_R_STATIC, "", false, NULL},
    {"GET", "/ui", 0, HTTP_R_STATIC, "", false, NULL},
    {"GET", "/ui/app.js", 0, HTTP_R_STATIC, "", false, NULL},
    {"GET", "/ui/etc/passwd", 0, HTTP_R_STATIC, "", false, NULL},
    {"POST", "/", 405, HTTP_R_NONE, "", false, "GET, HEAD"},
    {"PUT", "/ui/app.js", 405, HTTP_R_NONE, "", false, "GET, HEAD"},
    {"GET", "/uix", 404, HTTP_R_NONE, "", false, NULL},
    {"GET", "/ui/../etc/passwd", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/ui/./app.js", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/ui//etc/passwd", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/ui/..\\app.js", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api", 404, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/east/topology/x", 404, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/east/TOPOLOGY", 404, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/ea:st", 404, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/east/topologyx", 404, HTTP_R_NONE, "", false, NULL},
    {"GET", "/healthz", 404, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clustersx", 404, HTTP_R_NONE, "", false, NULL},
    /* Traversal and malformed paths: 400 before any route. */
    {"GET", "/api/v1/clusters/../../etc/passwd", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/east/..", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/./east", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/..", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "//api/v1/clusters", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1//clusters", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/east\\..", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "/api/v1/clusters/east\n", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "api/v1/clusters", 400, HTTP_R_NONE, "", false, NULL},
    {"GET", "", 400, HTTP_R_NONE, "", false, NULL},
};

/* Connection and stream bounds for an open-file limit: HTTP_FD_RESERVE files stay for the daemon. */
static void test_limits(void **state)
{
    static const struct {
        unsigned long long nofile;
        unsigned conn, sse;
    } rows[] = {
        {1000000, HTTP_MAX_CONNECTIONS, HTTP_MAX_SSE},
        {HTTP_MAX_CONNECTIONS + HTTP_FD_RESERVE, HTTP_MAX_CONNECTIONS, HTTP_MAX_SSE},
        {HTTP_MAX_CONNECTIONS + HTTP_FD_RESERVE - 1, HTTP_MAX_CONNECTIONS - 1, HTTP_MAX_SSE - 1},
        {1024, 1024 - HTTP_FD_RESERVE, 1024 - HTTP_FD_RESERVE - (HTTP_MAX_CONNECTIONS - HTTP_MAX_SSE)},
        {512, 256, 128},
        {64, 16, 8},
        {0, 16, 8},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        unsigned c = 0, s = 0;
        http_limits(rows[i].nofile, &c, &s);
        if (c != rows[i].conn || s != rows[i].sse)
            fail_msg("row %zu: nofile %llu: %u connections, %u streams; expected %u, %u", i, rows[i].nofile, c, s,
                     rows[i].conn, rows[i].sse);
        assert_true(s < c);
    }
}

static void test_routes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const route_row *r = &routes[i];
        http_route out;
        int st = http_route_match(r->method, r->path, &out);
        if (st != r->status || out.status != r->status || (st == 0 && out.id != r->id) ||
            (st == 0 && strcmp(out.cluster, r->cluster)) || out.mutating != r->mutating ||
            (r->allow && (!out.allow || strcmp(out.allow, r->allow))) || (st && !out.error[0])) {
            print_error("row %zu: %s %s: status %d id %d cluster '%s' allow %s error '%s'\n", i, r->method, r->path,
                        st, (int)out.id, out.cluster, out.allow ? out.allow : "-", out.error);
            fail();
        }
    }
}

static void test_long_path(void **state)
{
    char path[700];
    http_route out;
    (void)state;
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    assert_int_equal(http_route_match("GET", path, &out), 400);
    assert_int_equal(http_route_match("GET", NULL, &out), 400);
}

static void test_token(void **state)
{
    const char *tok = "x7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kYe";
    (void)state;
    assert_true(http_token_ok(tok, "Bearer x7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kYe"));
    assert_false(http_token_ok(tok, "Bearer x7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kY"));   /* a prefix */
    assert_false(http_token_ok(tok, "Bearer x7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kYee")); /* longer */
    assert_false(http_token_ok(tok, "Bearer X7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kYe"));  /* first byte */
    assert_false(http_token_ok(tok, "Bearer x7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kYf"));  /* last byte */
    assert_false(http_token_ok(tok, "bearer x7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kYe"));
    assert_false(http_token_ok(tok, "Basic eDp5"));
    assert_false(http_token_ok(tok, "Bearer "));
    assert_false(http_token_ok(tok, ""));
    assert_false(http_token_ok(tok, NULL));
    assert_false(http_token_ok(NULL, "Bearer x"));
    assert_false(http_token_ok("", "Bearer "));
    /* A token matched up to an embedded NUL does not pass as the whole. */
    assert_false(http_token_ok("abcdefghijklmnopq", "Bearer abcdefghijklmnop"));
}

static json_t *req_for(const char *method, const char *path, const char *id, const char *since, const char *body,
                       char *err, size_t errlen, int *rc)
{
    http_route r;
    json_t *req = NULL;
    assert_int_equal(http_route_match(method, path, &r), 0);
    *rc = http_control_request(&r, id, since, body, body ? strlen(body) : 0, &req, err, errlen);
    return req;
}

static void expect_req(const char *method, const char *path, const char *id, const char *since, const char *body,
                       const char *want)
{
    char err[256] = "";
    int rc;
    json_t *req = req_for(method, path, id, since, body, err, sizeof(err), &rc);
    json_t *w = json_loads(want, 0, NULL);
    if (rc != 0 || !json_equal(req, w)) {
        char *got = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        print_error("%s %s: rc %d err '%s' got %s want %s\n", method, path, rc, err, got ? got : "-", want);
        free(got);
        fail();
    }
    json_decref(req);
    json_decref(w);
}

static void expect_bad(const char *method, const char *path, const char *id, const char *since, const char *body,
                       const char *text)
{
    char err[256] = "";
    int rc;
    json_t *req = req_for(method, path, id, since, body, err, sizeof(err), &rc);
    if (rc != -EINVAL || req || !strstr(err, text)) {
        print_error("%s %s body %s: rc %d err '%s', want '%s'\n", method, path, body ? body : "-", rc, err, text);
        fail();
    }
}

static void test_control_requests(void **state)
{
    (void)state;
    expect_req("GET", "/api/v1/clusters", NULL, NULL, NULL, "{\"cmd\":\"status\"}");
    expect_req("GET", "/api/v1/clusters/e", NULL, NULL, NULL, "{\"cmd\":\"status\",\"cluster\":\"e\"}");
    expect_req("GET", "/api/v1/clusters/e/topology", NULL, NULL, NULL, "{\"cmd\":\"topology\",\"cluster\":\"e\"}");
    expect_req("GET", "/api/v1/clusters/e/recoveries", "12", NULL, NULL,
               "{\"cmd\":\"recoveries\",\"cluster\":\"e\",\"id\":12}");
    expect_req("GET", "/api/v1/clusters/e/report", NULL, "0", NULL,
               "{\"cmd\":\"report\",\"cluster\":\"e\",\"since_ms\":0}");
    expect_req("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "", "{\"cmd\":\"switchover\",\"cluster\":\"e\"}");
    expect_req("POST", "/api/v1/clusters/e/switchover", NULL, NULL,
               "{\"to\": \"db2:3306\", \"dry_run\": true, \"timeout_ms\": 5000}",
               "{\"cmd\":\"switchover\",\"cluster\":\"e\",\"to\":\"db2:3306\",\"dry_run\":true,\"timeout_ms\":5000}");
    expect_req("POST", "/api/v1/clusters/e/failover", NULL, NULL, "{\"force\": false}",
               "{\"cmd\":\"failover\",\"cluster\":\"e\",\"force\":false}");
    expect_req("POST", "/api/v1/clusters/e/maintenance", NULL, NULL,
               "{\"action\": \"begin\", \"instance\": \"db3:3306\", \"reason\": \"disk\", \"duration_s\": 3600}",
               "{\"cmd\":\"maintenance\",\"cluster\":\"e\",\"action\":\"begin\",\"instance\":\"db3:3306\","
               "\"reason\":\"disk\",\"duration_s\":3600}");
    expect_req("POST", "/api/v1/clusters/e/ack", NULL, NULL, "{}", "{\"cmd\":\"ack\",\"cluster\":\"e\"}");
    expect_req("POST", "/api/v1/clusters/e/relocate", NULL, NULL, "{\"replica\": \"db3:3306\", \"below\": \"db2:3306\"}",
               "{\"cmd\":\"relocate\",\"cluster\":\"e\",\"replica\":\"db3:3306\",\"below\":\"db2:3306\"}");
    expect_bad("POST", "/api/v1/clusters/e/relocate", NULL, NULL, "{\"replica\": \"db3:3306\"}", "relocate needs");
    /* The body cannot smuggle another command or cluster in. */
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{\"cmd\": \"failover\"}", "unknown field 'cmd'");
    expect_bad("POST", "/api/v1/clusters/e/ack", NULL, NULL, "{\"cluster\": \"w\"}", "unknown field 'cluster'");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{\"force\": true}", "unknown field 'force'");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{\"dry_run\": \"yes\"}", "true or false");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{\"to\": 5}", "a string");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{\"timeout_ms\": -1}", "out of range");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{\"timeout_ms\": 1.5}", "an integer");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{\"a\":1,\"a\":2}", "malformed JSON");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{", "malformed JSON");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "{} {}", "malformed JSON");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "\"x\"", "malformed JSON");
    expect_bad("POST", "/api/v1/clusters/e/switchover", NULL, NULL, "[]", "a JSON object");
    expect_bad("POST", "/api/v1/clusters/e/maintenance", NULL, NULL, "{}", "action");
    expect_bad("GET", "/api/v1/clusters/e/recoveries", "0", NULL, NULL, "positive integer");
    expect_bad("GET", "/api/v1/clusters/e/recoveries", "1x", NULL, NULL, "bad id");
    expect_bad("GET", "/api/v1/clusters/e/recoveries", "", NULL, NULL, "bad id");
    expect_bad("GET", "/api/v1/clusters/e/recoveries", "99999999999999999999", NULL, NULL, "bad id");
    expect_bad("GET", "/api/v1/clusters/e/report", NULL, "-5", NULL, "non-negative");
    expect_bad("GET", "/api/v1/clusters/e/topology", "1", NULL, NULL, "only for .../recoveries");
    expect_bad("GET", "/api/v1/clusters/e/recoveries", NULL, "1", NULL, "only for .../report");
    expect_bad("GET", "/api/v1/clusters/e/topology", NULL, NULL, "{}", "takes no body");
}

static void test_status_of(void **state)
{
    http_route get, post;
    json_t *ok = json_pack("{s:b}", "ok", 1);
    json_t *unknown = json_pack("{s:b, s:s}", "ok", 0, "error", "unknown cluster 'x' (this controller manages: [])");
    json_t *norec = json_pack("{s:b, s:s}", "ok", 0, "error", "no recovery #5 in cluster e");
    json_t *busy = json_pack("{s:b, s:s}", "ok", 0, "error", "a switchover is already running");
    (void)state;
    http_route_match("GET", "/api/v1/clusters/e/recoveries", &get);
    http_route_match("POST", "/api/v1/clusters/e/switchover", &post);
    assert_int_equal(http_status_of(&get, ok), 200);
    assert_int_equal(http_status_of(&post, ok), 200);
    assert_int_equal(http_status_of(&get, unknown), 404);
    assert_int_equal(http_status_of(&get, norec), 404);
    assert_int_equal(http_status_of(&get, busy), 400);
    assert_int_equal(http_status_of(&post, busy), 409);
    json_decref(ok);
    json_decref(unknown);
    json_decref(norec);
    json_decref(busy);
}

static void test_metrics_text(void **state)
{
    metrics_text t = {0};
    metrics_histogram h = {.n = 3, .bounds = {0.01, 0.1, 1}};
    const char *l[] = {"cluster", "e\"a\\st\n", "instance", "db1:3306", NULL};
    size_t len = 0;
    char *txt;
    (void)state;
    metrics_family(&t, "x_up", "gauge", "help with \\ and\nnewline");
    metrics_sample(&t, "x_up", l, 1);
    metrics_sample(&t, "x_up", NULL, 0.25);
    metrics_sample(&t, "x_up", NULL, NAN);
    metrics_sample(&t, "x_up", NULL, -INFINITY);
    metrics_observe(&h, 0.005);
    metrics_observe(&h, 0.01); /* on a bound: counted in it (le) */
    metrics_observe(&h, 0.5);
    metrics_observe(&h, 7);
    metrics_family(&t, "x_seconds", "histogram", "h");
    metrics_histogram_write(&t, "x_seconds", NULL, &h);
    txt = metrics_finish(&t, &len);
    assert_non_null(txt);
    assert_int_equal(len, strlen(txt));
    assert_string_equal(txt,
                        "# HELP x_up help with \\\\ and\\nnewline\n"
                        "# TYPE x_up gauge\n"
                        "x_up{cluster=\"e\\\"a\\\\st\\n\",instance=\"db1:3306\"} 1\n"
                        "x_up 0.25\n"
                        "x_up NaN\n"
                        "x_up -Inf\n"
                        "# HELP x_seconds h\n"
                        "# TYPE x_seconds histogram\n"
                        "x_seconds_bucket{le=\"0.01\"} 2\n"
                        "x_seconds_bucket{le=\"0.1\"} 2\n"
                        "x_seconds_bucket{le=\"1\"} 3\n"
                        "x_seconds_bucket{le=\"+Inf\"} 4\n"
                        "x_seconds_sum 7.5149999999999997\n"
                        "x_seconds_count 4\n");
    free(txt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_long_path),
        cmocka_unit_test(test_token),           cmocka_unit_test(test_control_requests),
        cmocka_unit_test(test_status_of),       cmocka_unit_test(test_metrics_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
