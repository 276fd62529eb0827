/* orchestrator/serve/http.c — the HTTP server on the controller's loop (see http.h). */
#include "orchestrator/serve/http.h"
#include "topology/grow.h"
#include "topology/probe/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "orchestrator/log.h"
#include "orchestrator/serve/webui.h"

#define HTTP_PATH_MAX 512
#define HTTP_TLS_FILE_MAX (1024 * 1024)

/* ---- pure parts -------------------------------------------------------------- */

static void route_fail(http_route *out, int status, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void route_fail(http_route *out, int status, const char *allow, const char *fmt, ...)
{
    va_list ap;
    out->status = status;
    out->allow = allow;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
}

static bool is_get(const char *m) { return !strcmp(m, "GET") || !strcmp(m, "HEAD"); }

int http_route_match(const char *method, const char *path, http_route *out)
{
    static const struct {
        const char *sub; /* after /api/v1/clusters/{c}/ */
        http_route_id id;
        bool post;
    } sub[] = {
        {"topology", HTTP_R_TOPOLOGY, false},     {"recoveries", HTTP_R_RECOVERIES, false},
        {"report", HTTP_R_REPORT, false},         {"switchover", HTTP_R_SWITCHOVER, true},
        {"failover", HTTP_R_FAILOVER, true},      {"maintenance", HTTP_R_MAINTENANCE, true},
        {"ack", HTTP_R_ACK, true},                {"relocate", HTTP_R_RELOCATE, true},
    };
    size_t len = path ? strlen(path) : 0;
    const char *p, *slash;
    memset(out, 0, sizeof(*out));
    if (!path || path[0] != '/' || len > HTTP_PATH_MAX) {
        route_fail(out, 400, NULL, "bad request path: it must start with '/' and have at most %d bytes",
                   HTTP_PATH_MAX);
        return out->status;
    }
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\') {
            route_fail(out, 400, NULL, "bad request path: control characters and backslashes are refused");
            return out->status;
        }
    /* Segment checks: no "", ".", ".." (a trailing slash is tolerated on its own). */
    for (p = path + 1; *p;) {
        size_t n;
        slash = strchr(p, '/');
        n = slash ? (size_t)(slash - p) : strlen(p);
        if ((n == 0 && slash) || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            route_fail(out, 400, NULL, "bad request path: empty, '.' and '..' segments are refused");
            return out->status;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    if (len > 1 && path[len - 1] == '/')
        len--;
#define IS(lit) (len == sizeof(lit) - 1 && !strncmp(path, lit, len))
    if (IS("/health") || IS("/ready") || IS("/metrics") || IS("/api/v1/clusters") || IS("/api/v1/events")) {
        if (!is_get(method)) {
            route_fail(out, 405, "GET, HEAD", "method %s is not allowed here: use GET", method);
            return out->status;
        }
        out->id = IS("/health")    ? HTTP_R_HEALTH
                  : IS("/ready")   ? HTTP_R_READY
                  : IS("/metrics") ? HTTP_R_METRICS
                  : IS("/api/v1/events") ? HTTP_R_EVENTS
                                   : HTTP_R_CLUSTERS;
        return 0;
    }
    /* The web page: "/" and anything under /ui/ (an unknown file there is the handler's 404). */
    if (IS("/") || IS("/ui") || (len > 4 && !strncmp(path, "/ui/", 4))) {
        if (!is_get(method)) {
            route_fail(out, 405, "GET, HEAD", "method %s is not allowed here: use GET", method);
            return out->status;
        }
        out->id = HTTP_R_STATIC;
        return 0;
    }
#undef IS
    if (len > 17 && !strncmp(path, "/api/v1/clusters/", 17)) {
        const char *name = path + 17, *end = memchr(name, '/', len - 17);
        size_t nl = end ? (size_t)(end - name) : len - 17;
        size_t rest = end ? len - (size_t)(end + 1 - path) : 0;
        if (nl > CFG_CLUSTER_NAME_MAX) {
            route_fail(out, 404, NULL, "no such cluster: names have at most %d characters", CFG_CLUSTER_NAME_MAX);
            return out->status;
        }
        for (size_t i = 0; i < nl; i++)
            if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
                  (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-')) {
                route_fail(out, 404, NULL, "no such cluster: names are made of A-Z a-z 0-9 _ -");
                return out->status;
            }
        memcpy(out->cluster, name, nl);
        out->cluster[nl] = '\0';
        if (!end || rest == 0) {
            if (!is_get(method)) {
                route_fail(out, 405, "GET, HEAD", "method %s is not allowed here: use GET", method);
                return out->status;
            }
            out->id = HTTP_R_CLUSTER;
            return 0;
        }
        for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
            if (strlen(sub[i].sub) != rest || strncmp(end + 1, sub[i].sub, rest))
                continue;
            if (sub[i].post ? strcmp(method, "POST") != 0 : !is_get(method)) {
                route_fail(out, 405, sub[i].post ? "POST" : "GET, HEAD", "method %s is not allowed here: use %s",
                           method, sub[i].post ? "POST" : "GET");
                return out->status;
            }
            out->id = sub[i].id;
            out->mutating = sub[i].post;
            return 0;
        }
    }
    route_fail(out, 404, NULL, "no such route (see README \"HTTP API and metrics\" for the routes)");
    return out->status;
}

bool http_token_ok(const char *expected, const char *authorization)
{
    /* Compare a fixed number of bytes whatever the inputs: no early exit. */
    enum { SPAN = 512 };
    const char *got;
    size_t el, gl;
    unsigned diff = 0;
    if (!expected || !*expected || !authorization || strncmp(authorization, "Bearer ", 7) != 0)
        return false;
    got = authorization + 7;
    el = strnlen(expected, SPAN + 1);
    gl = strnlen(got, SPAN + 1);
    if (el > SPAN)
        return false; /* config refuses such tokens; never compare a prefix */
    for (size_t i = 0; i < SPAN; i++) {
        unsigned char a = i < el ? (unsigned char)expected[i] : 0;
        unsigned char b = i < gl ? (unsigned char)got[i] : 0;
        diff |= (unsigned)(a ^ b);
    }
    diff |= (unsigned)(el ^ gl);
    return diff == 0;
}

/* A body field: its name, JSON type and the control request's name for it. */
typedef struct {
    const char *name;
    json_type type;
} body_field;

static int parse_decimal(const char *what, const char *text, bool positive, json_int_t *out, char *err,
                         size_t errlen)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < 0 || (positive && v == 0)) {
        snprintf(err, errlen, "bad %s '%.40s%s': expected a %s integer", what, text, strlen(text) > 40 ? "..." : "",
                 positive ? "positive" : "non-negative");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* A numeric query parameter, only for the route that takes it (where: the path's last part),
 * into out under its own name. */
static int query_number(json_t *out, const char *name, const char *text, bool route_takes_it, const char *where,
                        bool positive, char *err, size_t errlen)
{
    json_int_t v;
    if (!route_takes_it) {
        snprintf(err, errlen, "the query parameter %s is only for .../%s", name, where);
        return -EINVAL;
    }
    if (parse_decimal(name, text, positive, &v, err, errlen) < 0)
        return -EINVAL;
    json_object_set_new(out, name, json_integer(v));
    return 0;
}

int http_control_request(const http_route *r, const char *q_id, const char *q_since, const char *body,
                         size_t body_len, json_t **req, char *err, size_t errlen)
{
    static const body_field sw[] = {{"to", JSON_STRING}, {"dry_run", JSON_TRUE}, {"timeout_ms", JSON_INTEGER},
                                    {NULL, 0}};
    static const body_field fo[] = {{"to", JSON_STRING}, {"dry_run", JSON_TRUE}, {"force", JSON_TRUE},
                                    {"timeout_ms", JSON_INTEGER}, {NULL, 0}};
    static const body_field mt[] = {{"action", JSON_STRING}, {"instance", JSON_STRING}, {"reason", JSON_STRING},
                                    {"duration_s", JSON_INTEGER}, {NULL, 0}};
    static const body_field rl[] = {{"replica", JSON_STRING}, {"below", JSON_STRING}, {"dry_run", JSON_TRUE},
                                    {NULL, 0}};
    static const body_field none[] = {{NULL, 0}};
    const body_field *allowed = none;
    const char *cmd = NULL;
    json_t *b = NULL, *out = NULL;
    json_error_t je;
    const char *key;
    json_t *val;
    int rc = -EINVAL;

    *req = NULL;
    switch (r->id) {
    case HTTP_R_CLUSTERS:
    case HTTP_R_CLUSTER: cmd = "status"; break;
    case HTTP_R_TOPOLOGY: cmd = "topology"; break;
    case HTTP_R_RECOVERIES: cmd = "recoveries"; break;
    case HTTP_R_REPORT: cmd = "report"; break;
    case HTTP_R_SWITCHOVER: cmd = "switchover"; allowed = sw; break;
    case HTTP_R_FAILOVER: cmd = "failover"; allowed = fo; break;
    case HTTP_R_MAINTENANCE: cmd = "maintenance"; allowed = mt; break;
    case HTTP_R_ACK: cmd = "ack"; break;
    case HTTP_R_RELOCATE: cmd = "relocate"; allowed = rl; break;
    default:
        snprintf(err, errlen, "this route takes no control request");
        return -EINVAL;
    }
    out = json_pack("{s:s}", "cmd", cmd);
    if (!out)
        goto oom;
    if (r->id != HTTP_R_CLUSTERS && json_object_set_new(out, "cluster", json_string(r->cluster)) < 0)
        goto oom;
    if (q_id && query_number(out, "id", q_id, r->id == HTTP_R_RECOVERIES, "recoveries", true, err, errlen) < 0)
        goto out;
    if (q_since &&
        query_number(out, "since_ms", q_since, r->id == HTTP_R_REPORT, "report", false, err, errlen) < 0)
        goto out;
    if (body && body_len) {
        if (!r->mutating) {
            snprintf(err, errlen, "a GET request takes no body");
            goto out;
        }
        b = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &je);
        if (!b) {
            snprintf(err, errlen, "malformed JSON body at line %d column %d: %.120s", je.line, je.column, je.text);
            goto out;
        }
        if (!json_is_object(b)) {
            snprintf(err, errlen, "the body must be a JSON object, e.g. {\"dry_run\": true}");
            goto out;
        }
        json_object_foreach(b, key, val) {
            const body_field *f = allowed;
            while (f->name && strcmp(f->name, key))
                f++;
            if (!f->name) {
                snprintf(err, errlen, "unknown field '%.40s%s' for %s", key, strlen(key) > 40 ? "..." : "", cmd);
                goto out;
            }
            if (f->type == JSON_TRUE ? !json_is_boolean(val) : json_typeof(val) != f->type) {
                snprintf(err, errlen, "field '%s' for %s must be %s", f->name, cmd,
                         f->type == JSON_TRUE ? "true or false" : f->type == JSON_STRING ? "a string" : "an integer");
                goto out;
            }
            if (f->type == JSON_INTEGER && (json_integer_value(val) < 0 || json_integer_value(val) > INT32_MAX)) {
                snprintf(err, errlen, "field '%s' for %s is out of range (0 to %d)", f->name, cmd, INT32_MAX);
                goto out;
            }
            if (json_object_set(out, key, val) < 0)
                goto oom;
        }
    }
    if (r->id == HTTP_R_RELOCATE && (!json_object_get(out, "replica") || !json_object_get(out, "below"))) {
        snprintf(err, errlen, "relocate needs {\"replica\": \"HOST:PORT\", \"below\": \"HOST:PORT\"}");
        goto out;
    }
    if (r->id == HTTP_R_MAINTENANCE && !json_object_get(out, "action")) {
        snprintf(err, errlen, "maintenance needs {\"action\": \"begin\"} or {\"action\": \"end\"}");
        goto out;
    }
    *req = out;
    out = NULL;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    rc = -ENOMEM;
out:
    json_decref(b);
    json_decref(out);
    return rc;
}

int http_status_of(const http_route *r, const json_t *reply)
{
    const char *e;
    if (json_is_true(json_object_get(reply, "ok")))
        return 200;
    e = json_string_value(json_object_get(reply, "error"));
    if (e && (!strncmp(e, "unknown cluster", 15) || !strncmp(e, "no recovery #", 13)))
        return 404;
    if (e && strstr(e, "is refused: this client"))
        return 403;
    return r->mutating ? 409 : 400;
}

void http_limits(unsigned long long nofile, unsigned *connections, unsigned *sse)
{
    unsigned long long room = nofile > HTTP_FD_RESERVE + 16 ? nofile - HTTP_FD_RESERVE : 16;
    *connections = room < HTTP_MAX_CONNECTIONS ? (unsigned)room : HTTP_MAX_CONNECTIONS;
    /* Streams leave room for requests: a full set of streams never locks the API out. */
    *sse = *connections > HTTP_MAX_CONNECTIONS - HTTP_MAX_SSE ? *connections - (HTTP_MAX_CONNECTIONS - HTTP_MAX_SSE)
                                                                : *connections / 2;
    if (*sse > HTTP_MAX_SSE)
        *sse = HTTP_MAX_SSE;
}

/* ---- the server ---------------------------------------------------------------- */

typedef struct http_conn {
    http_route route;
    char *body;
    size_t body_len;
    bool started;              /* the first call (headers) is done */
    bool raw_percent;          /* the raw path (before decoding) had a '%' */
    bool too_large;
    bool answered_early;
    bool suspended;
    json_t *reply;             /* deferred reply, delivered by http_server_complete() */
    struct MHD_Connection *mc;
    struct http_conn *next;    /* in the server's list of suspended requests */
    struct http_server *srv;
    /* Event stream (HTTP_R_EVENTS). */
    bool sse, sse_suspended, sse_dead;
    bool sse_wake;             /* in the server's wake queue */
    struct http_conn *wake_next;
    char sse_cluster[CFG_CLUSTER_NAME_MAX + 1]; /* "" = every cluster */
    char *sse_buf;
    size_t sse_len, sse_cap;
    struct http_conn *sse_next;
} http_conn;

struct http_server {
    struct MHD_Daemon *mhd;
    const cfg_config *cfg;
    http_handlers h;
    char *cert, *key;
    http_conn *waiting;
    int port;
    bool resumed;              /* a connection was resumed: run at once (its wake-up is not on the fd) */
    http_conn *wake, **wake_tail;  /* suspended streams with something to send, oldest first */
    http_conn *sse;            /* event-stream clients */
    size_t n_sse;
    unsigned max_conn, max_sse;  /* http_limits() of the open-file limit at start */
    int64_t keepalive_at_ms;   /* monotonic: next keep-alive comment */
    int64_t refused_log_ms;    /* monotonic: last "refused" log line (at most one per 10 s) */
    unsigned refused_quiet;    /* refusals not logged since */
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
            msg[i] = '?';
    log_debug("http: %s", msg);
}

static enum MHD_Result send_text(struct MHD_Connection *c, int status, const char *ctype, char *text, size_t len,
                                 const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ok;
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(r, "Allow", allow);
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"myorch\"");
    ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Send a JSON document (reference stolen), formatted as the CLI prints it. */
static enum MHD_Result send_json(struct MHD_Connection *c, int status, json_t *doc, const char *allow)
{
    char *txt = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    size_t n;
    char *buf;
    json_decref(doc);
    if (!txt)
        return MHD_NO;
    n = strlen(txt);
    buf = realloc(txt, n + 2);
    if (!buf) {
        free(txt);
        return MHD_NO;
    }
    buf[n] = '\n';
    buf[n + 1] = '\0';
    return send_text(c, status, "application/json", buf, n + 1, allow);
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *allow, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return send_json(c, status, json_pack("{s:b, s:s}", "ok", 0, "error", msg), allow);
}

static void unlink_waiting(http_server *s, http_conn *hc)
{
    for (http_conn **pp = &s->waiting; *pp; pp = &(*pp)->next)
        if (*pp == hc) {
            *pp = hc->next;
            hc->next = NULL;
            return;
        }
}

static void unlink_sse(http_server *s, http_conn *hc)
{
    for (http_conn **pp = &s->sse; *pp; pp = &(*pp)->sse_next)
        if (*pp == hc) {
            *pp = hc->sse_next;
            hc->sse_next = NULL;
            s->n_sse--;
            return;
        }
}

static void conn_free(http_conn *hc)
{
    if (!hc)
        return;
    free(hc->sse_buf);
    free(hc->body);
    json_decref(hc->reply);
    free(hc);
}

static void unlink_wake(http_server *s, http_conn *hc);

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_conn *hc = *con_cls;
    (void)c;
    (void)toe;
    if (!hc)
        return;
    /* Unlinked first: a late http_server_complete() for it finds nothing. */
    unlink_waiting(s, hc);
    if (hc->sse) {
        unlink_sse(s, hc);
        unlink_wake(s, hc);
    }
    conn_free(hc);
    *con_cls = NULL;
}

/* The event stream's body: what is buffered; an empty buffer suspends the connection until an event. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    http_conn *hc = cls;
    size_t n;
    (void)pos;
    if (hc->sse_dead)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (!hc->sse_len) {
        hc->sse_suspended = true;
        MHD_suspend_connection(hc->mc);
        return 0;
    }
    n = hc->sse_len < max ? hc->sse_len : max;
    memcpy(buf, hc->sse_buf, n);
    memmove(hc->sse_buf, hc->sse_buf + n, hc->sse_len - n);
    hc->sse_len -= n;
    return (ssize_t)n;
}

/* Append to one client's buffer and wake it; a client too far behind is dropped. */
static void sse_push(http_server *s, http_conn *hc, const char *text, size_t len)
{
    if (hc->sse_dead)
        return;
    if (hc->sse_len + len > HTTP_SSE_BUFFER) {
        log_warn("http: an event-stream client fell %zu bytes behind: disconnected", hc->sse_len);
        hc->sse_dead = true;
    } else {
        /* Grown on demand: an idle or keeping-up client holds a few KiB, not the bound. */
        if (hc->sse_len + len > hc->sse_cap) {
            char *nb = grow_bytes(hc->sse_buf, &hc->sse_cap, hc->sse_len + len, HTTP_SSE_BUFFER);
            if (!nb) {
                hc->sse_dead = true;
                goto wake;
            }
            hc->sse_buf = nb;
        }
        memcpy(hc->sse_buf + hc->sse_len, text, len);
        hc->sse_len += len;
    }
wake:
    /*
     * Queued, not resumed here: http_server_run() resumes at most HTTP_SSE_WAKE_BATCH per turn,
     * so an event sent to a thousand streams costs the loop a bounded slice at a time (probes
     * and recovery steps run between the slices), and later events join the queued buffers.
     */
    if (hc->sse_suspended && !hc->sse_wake) {
        hc->sse_wake = true;
        hc->wake_next = NULL;
        *s->wake_tail = hc;
        s->wake_tail = &hc->wake_next;
    }
}

static void unlink_wake(http_server *s, http_conn *hc)
{
    if (!hc->sse_wake)
        return;
    for (http_conn **pp = &s->wake; *pp; pp = &(*pp)->wake_next)
        if (*pp == hc) {
            *pp = hc->wake_next;
            if (s->wake_tail == &hc->wake_next)
                s->wake_tail = pp;
            break;
        }
    hc->sse_wake = false;
    hc->wake_next = NULL;
}

/* A 200 answer whose body read(cls) writes as the client takes it (an event stream, /metrics):
 * queued with the headers of every answer. Without a response, fr(cls) is called here (MHD calls it
 * once it is done with one). */
static enum MHD_Result queue_stream(struct MHD_Connection *c, const char *ctype, size_t block,
                                   MHD_ContentReaderCallback rd, void *cls, MHD_ContentReaderFreeCallback fr)
{
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, block, rd, cls, fr);
    enum MHD_Result ok;
    if (!r) {
        if (fr)
            fr(cls);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result start_sse(http_server *s, struct MHD_Connection *c, http_conn *hc)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cluster");
    enum MHD_Result ok;
    static const char hello[] = ": myorch event stream\n\n";
    if (cl && !s->h.has_cluster(s->h.user, cl))
        return send_error(c, 404, NULL, "unknown cluster '%.40s'", cl);
    if (s->n_sse >= s->max_sse)
        return send_error(c, 503, NULL, "too many event-stream clients (%u): try again later", s->max_sse);
    if (cl)
        snprintf(hc->sse_cluster, sizeof(hc->sse_cluster), "%s", cl);
    ok = queue_stream(c, "text/event-stream", 4096, sse_read, hc, NULL);
    if (ok != MHD_YES)
        return ok;
    hc->sse = true;
    hc->sse_next = s->sse;
    s->sse = hc;
    s->n_sse++;
    if (!s->keepalive_at_ms)
        s->keepalive_at_ms = clk_mono_ms() + HTTP_SSE_KEEPALIVE_MS;
    sse_push(s, hc, hello, sizeof(hello) - 1);
    return MHD_YES;
}

/* /metrics as the daemon produces it, step by step (http_handlers.metrics_step): a step is asked
 * for when MHD has sent what the last one wrote, so the loop runs between steps. */
typedef struct {
    http_server *s;
    void *cursor;
    metrics_text t;
    size_t off;  /* sent of t */
    bool last;   /* t holds the last step */
} metrics_stream;

static ssize_t metrics_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    metrics_stream *m = cls;
    size_t n;
    (void)pos;
    while (m->off == m->t.len) {
        int rc;
        if (m->last)
            return MHD_CONTENT_READER_END_OF_STREAM;
        m->t.len = m->off = 0;
        rc = m->s->h.metrics_step(m->s->h.user, m->cursor, &m->t);
        if (rc < 0 || m->t.err) {
            log_warn("http: /metrics cut short: %s", m->t.err ? "out of memory" : "the exposition failed");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        m->last = rc == 0;
    }
    n = m->t.len - m->off < max ? m->t.len - m->off : max;
    memcpy(buf, m->t.buf + m->off, n);
    m->off += n;
    return (ssize_t)n;
}

static void metrics_stream_free(void *cls)
{
    metrics_stream *m = cls;
    m->s->h.metrics_close(m->s->h.user, m->cursor);
    free(m->t.buf);
    free(m);
}

static enum MHD_Result start_metrics(http_server *s, struct MHD_Connection *c)
{
    metrics_stream *m = calloc(1, sizeof(*m));
    if (!m || !(m->cursor = s->h.metrics_open(s->h.user))) {
        free(m);
        return send_error(c, 500, NULL, "cannot build the metrics (out of memory)");
    }
    m->s = s;
    return queue_stream(c, "text/plain; version=0.0.4; charset=utf-8", 64 * 1024, metrics_read, m,
                        metrics_stream_free);
}

/* A file of the web page, or a 404; the body is static (never copied, never freed). */
static enum MHD_Result send_static(struct MHD_Connection *c, const char *url)
{
    const webui_asset *a = webui_find(url);
    struct MHD_Response *r;
    enum MHD_Result ok;
    if (!a)
        return send_error(c, 404, NULL, "no such file of the web page (it has /, /ui/app.js, /ui/app.css, "
                          "/ui/icon.svg)");
    r = MHD_create_response_from_buffer(a->len, (void *)a->body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", a->ctype);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", WEBUI_CSP);
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result handle(http_server *s, struct MHD_Connection *c, http_conn *hc, const char *method,
                              const char *url)
{
    const http_route *r = &hc->route;
    json_t *req = NULL, *reply = NULL;
    char err[512];
    int rc;
    (void)method;

    switch (r->id) {
    case HTTP_R_HEALTH:
        return send_json(c, 200, json_pack("{s:b, s:s}", "ok", 1, "status", "alive"), NULL);
    case HTTP_R_READY: {
        char why[256] = "";
        bool ready = s->h.ready(s->h.user, why, sizeof(why));
        return send_json(c, ready ? 200 : 503,
                         ready ? json_pack("{s:b, s:b}", "ok", 1, "ready", 1)
                               : json_pack("{s:b, s:b, s:s}", "ok", 0, "ready", 0, "error", why),
                         NULL);
    }
    case HTTP_R_METRICS:
        return start_metrics(s, c);
    case HTTP_R_EVENTS:
        return start_sse(s, c, hc);
    case HTTP_R_STATIC:
        return send_static(c, url);
    default: break;
    }
    if (r->id != HTTP_R_CLUSTERS && !s->h.has_cluster(s->h.user, r->cluster)) {
        /* The daemon's own message names the clusters it manages. */
        req = json_pack("{s:s, s:s}", "cmd", "topology", "cluster", r->cluster);
        if (!req || s->h.control(s->h.user, req, CFG_ROLE_READONLY, NULL, &reply) != 0 || !reply) {
            json_decref(req);
            return send_error(c, 404, NULL, "unknown cluster '%s'", r->cluster);
        }
        json_decref(req);
        return send_json(c, 404, reply, NULL);
    }
    if (r->mutating) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!s->cfg->http_token)
            return send_error(c, 403, NULL, "mutating calls are disabled: set http_token_file in [myorch] (a 0600 "
                              "file with a random token) and restart myorch");
        if (!http_token_ok(s->cfg->http_token, auth)) {
            int64_t now = clk_mono_ms();
            if (!s->refused_log_ms || now - s->refused_log_ms >= 10000) {
                log_warn("http: refused %s %s: %s bearer token%s", method, r->id == HTTP_R_SWITCHOVER ? "switchover"
                         : r->id == HTTP_R_FAILOVER ? "failover" : r->id == HTTP_R_MAINTENANCE ? "maintenance"
                         : r->id == HTTP_R_RELOCATE ? "relocate" : "ack",
                         auth ? "wrong" : "no", s->refused_quiet ? " (and earlier refusals not logged)" : "");
                s->refused_log_ms = now;
                s->refused_quiet = 0;
            } else {
                s->refused_quiet++;
            }
            return send_error(c, 401, NULL, "this call needs 'Authorization: Bearer TOKEN' with the token of "
                              "http_token_file");
        }
    }
    rc = http_control_request(r, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id"),
                              MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since_ms"), hc->body,
                              hc->body_len, &req, err, sizeof(err));
    if (rc < 0)
        return send_error(c, rc == -ENOMEM ? 500 : 400, NULL, "%s", err);
    rc = s->h.control(s->h.user, req, r->mutating ? CFG_ROLE_OPERATOR : CFG_ROLE_READONLY, hc, &reply);
    json_decref(req);
    if (rc == 1) {
        /* Answered when the operation ends (http_server_complete). */
        hc->suspended = true;
        hc->next = s->waiting;
        s->waiting = hc;
        MHD_suspend_connection(c);
        return MHD_YES;
    }
    if (!reply)
        return send_error(c, 500, NULL, "no reply");
    return send_json(c, http_status_of(r, reply), reply, NULL);
}

/* Sees the raw request target before libmicrohttpd decodes it; its result becomes the connection's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    http_conn *hc = calloc(1, sizeof(*hc));
    (void)cls;
    if (!hc)
        return NULL;
    hc->mc = c;
    /* No route needs percent-encoding; decoded, it could hide "..", NUL or '/' in a segment. */
    for (const char *p = uri; p && *p && *p != '?'; p++)
        if (*p == '%')
            hc->raw_percent = true;
    return hc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_server *s = cls;
    http_conn *hc = *con_cls;
    (void)version;

    if (!hc)
        return MHD_NO; /* out of memory in on_uri() */
    if (!hc->started) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        hc->started = true;
        hc->srv = s;
        hc->mc = c;
        if (hc->raw_percent) {
            hc->answered_early = true;
            return send_error(c, 400, NULL, "bad request path: percent-encoding is refused in paths (no route "
                              "needs it)");
        }
        if (http_route_match(method, url, &hc->route) != 0) {
            hc->answered_early = true;
            return send_error(c, hc->route.status, hc->route.allow, "%s", hc->route.error);
        }
        if (cl && strtoull(cl, NULL, 10) > HTTP_MAX_BODY) {
            hc->answered_early = true;
            return send_error(c, 413, NULL, "request body of %s bytes is over the bound of %d bytes", cl,
                              HTTP_MAX_BODY);
        }
        return MHD_YES;
    }
    if (hc->answered_early) {
        *upload_data_size = 0; /* discard; the response is queued */
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!hc->too_large && hc->body_len + *upload_data_size <= HTTP_MAX_BODY) {
            char *nb = realloc(hc->body, hc->body_len + *upload_data_size + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + hc->body_len, upload_data, *upload_data_size);
            hc->body = nb;
            hc->body_len += *upload_data_size;
            hc->body[hc->body_len] = '\0';
        } else {
            hc->too_large = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (hc->suspended) {
        /* Resumed by http_server_complete(). */
        json_t *reply = hc->reply;
        hc->reply = NULL;
        hc->suspended = false;
        return send_json(c, reply ? http_status_of(&hc->route, reply) : 503,
                         reply ? reply : json_pack("{s:b, s:s}", "ok", 0, "error", "myorch is stopping"), NULL);
    }
    if (hc->too_large)
        return send_error(c, 413, NULL, "request body over the bound of %d bytes", HTTP_MAX_BODY);
    return handle(s, c, hc, method, url);
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int rc = 0;
    *out = NULL;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "'%s': cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (st.st_size <= 0 || st.st_size > HTTP_TLS_FILE_MAX) {
        rc = -EINVAL;
        snprintf(err, errlen, "'%s': expected a PEM file of 1 byte to %d bytes", path, HTTP_TLS_FILE_MAX);
        goto out;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            snprintf(err, errlen, "'%s': cannot read: %s", path, n < 0 ? strerror(errno) : "file shrank");
            goto out;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    buf = NULL;
out:
    if (buf) {
        explicit_bzero(buf, (size_t)st.st_size);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int http_server_open(const cfg_config *cfg, const http_handlers *h, http_server **out, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin = {0};
    struct sockaddr_in6 sin6 = {0};
    struct sockaddr *sa;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    int rc;

    *out = NULL;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->cfg = cfg;
    s->h = *h;
    s->wake_tail = &s->wake;
    {
        /*
         * Every connection is a file: raise the soft open-file limit to what the bounds need when
         * the hard limit allows (systemd's default soft limit is 1024); else serve fewer, said once.
         */
        rlim_t want = (rlim_t)HTTP_MAX_CONNECTIONS + HTTP_FD_RESERVE;
        struct rlimit rl = {want, want};
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
            struct rlimit up = {rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max, rl.rlim_max};
            if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                rl.rlim_cur = up.rlim_cur;
        }
        http_limits(rl.rlim_cur == RLIM_INFINITY ? (unsigned long long)want : (unsigned long long)rl.rlim_cur,
                    &s->max_conn, &s->max_sse);
        if (s->max_sse < HTTP_MAX_SSE)
            log_warn("http: the open-file limit (%llu, hard %llu) allows %u connections and %u event streams, "
                     "not %d and %d: raise LimitNOFILE (ulimit -n) to %llu", (unsigned long long)rl.rlim_cur,
                     (unsigned long long)rl.rlim_max, s->max_conn, s->max_sse, HTTP_MAX_CONNECTIONS, HTTP_MAX_SSE,
                     (unsigned long long)want);
    }
    if (cfg->http_ipv6) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)cfg->http_port);
        inet_pton(AF_INET6, cfg->http_host, &sin6.sin6_addr);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)cfg->http_port);
        inet_pton(AF_INET, cfg->http_host, &sin.sin_addr);
        sa = (struct sockaddr *)&sin;
    }
    if (cfg->http_tls_cert) {
        if ((rc = read_file(cfg->http_tls_cert, &s->cert, err, errlen)) < 0 ||
            (rc = read_file(cfg->http_tls_key, &s->key, err, errlen)) < 0)
            goto fail;
        flags |= MHD_USE_TLS;
        s->mhd = MHD_start_daemon(
            flags, (uint16_t)cfg->http_port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_SOCK_ADDR, sa,
            MHD_OPTION_CONNECTION_LIMIT, s->max_conn, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)HTTP_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_HTTPS_MEM_CERT, s->cert, MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_END);
    } else {
        s->mhd = MHD_start_daemon(
            flags, (uint16_t)cfg->http_port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_SOCK_ADDR, sa,
            MHD_OPTION_CONNECTION_LIMIT, s->max_conn, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)HTTP_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    }
    if (!s->mhd) {
        rc = -EADDRINUSE;
        snprintf(err, errlen, "http_listen = %s: cannot listen (address in use, not local, or a bad TLS "
                 "certificate/key; run with log_level = debug for libmicrohttpd's reason)", cfg->http_listen);
        goto fail;
    }
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->http_port;
    *out = s;
    return 0;
fail:
    http_server_close(s);
    return rc;
}

int http_server_fd(http_server *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

int http_server_timeout_ms(http_server *s)
{
    MHD_UNSIGNED_LONG_LONG t;
    int ka = -1;
    if (s->resumed || s->wake)
        return 0;
    if (s->n_sse) {
        int64_t left = s->keepalive_at_ms - clk_mono_ms();
        ka = left < 0 ? 0 : left > 1000000 ? 1000000 : (int)left;
    }
    if (MHD_get_timeout(s->mhd, &t) != MHD_YES)
        return ka;
    if (t > 1000000)
        t = 1000000;
    return ka >= 0 && ka < (int)t ? ka : (int)t;
}

/* A stream connection off the wake queue, resumed if it was suspended. */
static void sse_unqueue(http_conn *hc)
{
    hc->sse_wake = false;
    hc->wake_next = NULL;
    if (hc->sse_suspended) {
        hc->sse_suspended = false;
        MHD_resume_connection(hc->mc);
    }
}

void http_server_run(http_server *s)
{
    if (s->n_sse && clk_mono_ms() >= s->keepalive_at_ms) {
        static const char ka[] = ": keep-alive\n\n";
        for (http_conn *hc = s->sse; hc; hc = hc->sse_next)
            sse_push(s, hc, ka, sizeof(ka) - 1);
        s->keepalive_at_ms = clk_mono_ms() + HTTP_SSE_KEEPALIVE_MS;
    }
    s->resumed = false;
    for (int n = 0; s->wake && n < HTTP_SSE_WAKE_BATCH; n++) {
        http_conn *hc = s->wake;
        s->wake = hc->wake_next;
        if (!s->wake)
            s->wake_tail = &s->wake;
        sse_unqueue(hc);
    }
    MHD_run(s->mhd);
}

void http_server_publish(http_server *s, const char *name, const char *cluster, const json_t *event)
{
    char *txt;
    size_t n;
    if (!s || !s->n_sse)
        return;
    txt = json_dumps(event, JSON_COMPACT);
    if (!txt)
        return;
    {
        /* "event: NAME\ndata: JSON\n\n"; compact JSON has no raw newline. */
        size_t nl = strlen(name), jl = strlen(txt);
        char *msg = malloc(nl + jl + 20);
        if (!msg) {
            free(txt);
            return;
        }
        n = (size_t)sprintf(msg, "event: %s\ndata: %s\n\n", name, txt);
        for (http_conn *hc = s->sse; hc; hc = hc->sse_next)
            if (!hc->sse_cluster[0] || (cluster && !strcmp(cluster, hc->sse_cluster)))
                sse_push(s, hc, msg, n);
        free(msg);
    }
    free(txt);
}

size_t http_server_sse_clients(http_server *s) { return s ? s->n_sse : 0; }

size_t http_server_sse_limit(http_server *s) { return s ? s->max_sse : 0; }

int http_server_port(http_server *s) { return s->port; }

void http_server_complete(http_server *s, void *tag, json_t *reply)
{
    http_conn *hc = tag;
    bool found = false;
    for (http_conn *w = s ? s->waiting : NULL; w; w = w->next)
        found |= w == hc;
    if (!found) {
        json_decref(reply);
        return;
    }
    unlink_waiting(s, hc);
    json_decref(hc->reply);
    hc->reply = reply;
    MHD_resume_connection(hc->mc);
    s->resumed = true;
}

void http_server_close(http_server *s)
{
    if (!s)
        return;
    if (s->mhd) {
        /* Every suspended request is resumed (answered 503) before the daemon stops. */
        while (s->waiting) {
            http_conn *hc = s->waiting;
            s->waiting = hc->next;
            hc->next = NULL;
            MHD_resume_connection(hc->mc);
        }
        s->wake = NULL;
        s->wake_tail = &s->wake;
        for (http_conn *hc = s->sse; hc; hc = hc->sse_next) {
            hc->sse_dead = true;
            sse_unqueue(hc);
        }
        MHD_run(s->mhd);
        MHD_stop_daemon(s->mhd);
    }
    if (s->key) {
        explicit_bzero(s->key, strlen(s->key));
        free(s->key);
    }
    free(s->cert);
    free(s);
}
