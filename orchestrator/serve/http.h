/*
 * orchestrator/serve/http.h — the daemon's HTTP server: JSON API, /metrics,
 * /health and /ready (README "HTTP API and metrics").
 *
 * Owns: the libmicrohttpd daemon (MHD_USE_EPOLL without an internal thread:
 * the controller's loop polls http_server_fd() and calls http_server_run()),
 * its bounds against hostile clients (connections, per-connection memory,
 * idle timeout, request body size), route matching, the bearer-token check
 * of mutating calls, the translation of a route into the control request the
 * CLI would send, and the mapping of a reply to an HTTP status.
 *
 * It does no orchestration: every API document comes from the daemon through
 * http_handlers.control(), the same function that answers the control
 * socket, so the HTTP JSON and the CLI's --json output are one serializer.
 *
 * GET /api/v1/events is a Server-Sent Events stream of the daemon's events
 * (http_server_publish()): each client has a bounded buffer; its connection
 * is suspended while the buffer is empty, so idle streams cost no polling.
 *
 * GET / and GET /ui/NAME serve the web page's files, compiled into the binary
 * (orchestrator/serve/webui.h) with a strict Content-Security-Policy.
 *
 * Pure parts (table-tested in tests/unit/test_http.c): http_route_match(),
 * http_token_ok(), http_control_request(), http_status_of().
 */
#ifndef MYORCH_ORCHESTRATOR_HTTP_H
#define MYORCH_ORCHESTRATOR_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "orchestrator/config.h"
#include "orchestrator/decide/metrics.h"

#define HTTP_MAX_BODY (64 * 1024)          /* request body bound: more is 413 */
#define HTTP_MAX_CONNECTIONS 1280          /* concurrent connections; more are refused at accept */
#define HTTP_CONN_MEMORY (32 * 1024)       /* per connection: request line + headers must fit */
#define HTTP_IDLE_TIMEOUT_S 10             /* a connection silent this long is closed */
#define HTTP_MAX_SSE 1024                  /* event-stream clients (within HTTP_MAX_CONNECTIONS): more get 503 */
#define HTTP_FD_RESERVE 256                /* open files kept for everything but HTTP (servers, hooks, state) */
#define HTTP_SSE_WAKE_BATCH 128           /* streams given new data per loop turn (the rest on the next turns) */
#define HTTP_SSE_BUFFER (256 * 1024)       /* unsent events per client; a client further behind is dropped */
#define HTTP_SSE_KEEPALIVE_MS 5000         /* a comment line this often keeps idle streams open */

/* Routes. */
typedef enum {
    HTTP_R_NONE = 0,
    HTTP_R_HEALTH,       /* GET /health */
    HTTP_R_READY,        /* GET /ready */
    HTTP_R_METRICS,      /* GET /metrics */
    HTTP_R_CLUSTERS,     /* GET /api/v1/clusters                     = status */
    HTTP_R_CLUSTER,      /* GET /api/v1/clusters/{c}                 = status of one cluster */
    HTTP_R_TOPOLOGY,     /* GET /api/v1/clusters/{c}/topology        = topology */
    HTTP_R_RECOVERIES,   /* GET /api/v1/clusters/{c}/recoveries[?id=] = recoveries */
    HTTP_R_REPORT,       /* GET /api/v1/clusters/{c}/report[?since_ms=] = report */
    HTTP_R_SWITCHOVER,   /* POST /api/v1/clusters/{c}/switchover */
    HTTP_R_FAILOVER,     /* POST /api/v1/clusters/{c}/failover */
    HTTP_R_MAINTENANCE,  /* POST /api/v1/clusters/{c}/maintenance */
    HTTP_R_ACK,          /* POST /api/v1/clusters/{c}/ack */
    HTTP_R_RELOCATE,     /* POST /api/v1/clusters/{c}/relocate */
    HTTP_R_EVENTS,       /* GET /api/v1/events[?cluster=] : Server-Sent Events */
    HTTP_R_STATIC,       /* GET / and /ui/...: the web page (orchestrator/serve/webui.h), exact paths only */
} http_route_id;

typedef struct {
    http_route_id id;
    int status;          /* 0 matched; else 400 (bad path), 404 (no such route) or 405 (method) */
    bool mutating;       /* needs the bearer token */
    const char *allow;   /* the route's methods, for the Allow header of a 405 */
    char cluster[CFG_CLUSTER_NAME_MAX + 1];
    char error[160];     /* why, when status != 0 */
} http_route;

/*
 * Match method and path (without the query string; libmicrohttpd has already
 * percent-decoded it). Paths with "." or ".." segments, empty segments,
 * control characters or over 512 bytes are 400; a cluster name must be
 * [A-Za-z0-9_-]{1,40}. HEAD is accepted wherever GET is. Always fills *out;
 * returns out->status.
 */
int http_route_match(const char *method, const char *path, http_route *out);

/*
 * Is the Authorization header "Bearer <expected>"? Compares in time that does
 * not depend on where the token differs (nor on its length beyond a bound).
 * NULL or empty expected: never.
 */
bool http_token_ok(const char *expected, const char *authorization);

/*
 * The control request for a matched API route: {"cmd": ..., "cluster": ...}
 * plus what the query (id, since_ms: decimal text or NULL) and the body of a
 * mutating call (a JSON object; NULL or "" = {}) add. Body fields are checked
 * by name and type; unknown fields are an error. Returns 0 with *req, or
 * -EINVAL with a message in err (a 400).
 */
int http_control_request(const http_route *r, const char *q_id, const char *q_since, const char *body,
                         size_t body_len, json_t **req, char *err, size_t errlen);

/* HTTP status for a control reply to route r: 200 when "ok" is true; else 404 / 409 / 400. */
int http_status_of(const http_route *r, const json_t *reply);

/* What the server asks of the daemon. */
typedef struct {
    /*
     * Answer a control request (reference borrowed) as the control socket
     * would, for a client of role (CFG_ROLE_*). Returns 0 with *reply, or 1
     * when the reply comes later through http_server_complete(tag).
     */
    int (*control)(void *user, json_t *req, int role, void *tag, json_t **reply);
    bool (*has_cluster)(void *user, const char *name);
    /* First probe round done everywhere? If not, say what waits in why. */
    bool (*ready)(void *user, char *why, size_t whylen);
    /*
     * The Prometheus exposition, in steps, so that a scrape of a large fleet never holds the loop
     * long (issue 17): metrics_open() starts one (NULL: out of memory); metrics_step() appends the
     * next part to t and returns 1 while more follows, 0 after the last part; metrics_close() ends
     * it, also when the client went away first. The server asks for a step when the client has
     * taken what the last one wrote.
     */
    void *(*metrics_open)(void *user);
    int (*metrics_step)(void *user, void *cursor, metrics_text *t);
    void (*metrics_close)(void *user, void *cursor);
    void *user;
} http_handlers;

typedef struct http_server http_server;

/*
 * Listen on cfg's http_listen (with TLS when http_tls_cert/key are set);
 * cfg->http_token enables the mutating routes. cfg and handlers must outlive
 * the server. Returns 0, or -errno with a message.
 */
int http_server_open(const cfg_config *cfg, const http_handlers *h, http_server **out, char *err, size_t errlen);
/* The fd to poll for input, and the longest the loop may wait before http_server_run() (-1: no bound). */
int http_server_fd(http_server *s);
int http_server_timeout_ms(http_server *s);
/* Serve whatever is ready; never blocks. */
void http_server_run(http_server *s);
/* Deliver the reply (reference stolen) of a deferred control request. */
void http_server_complete(http_server *s, void *tag, json_t *reply);
/*
 * Send one event to every event-stream client (whose cluster filter matches):
 * "event: NAME" and "data: " the event as compact JSON, the same object
 * `myorch events --json` prints. Never blocks: a client more than
 * HTTP_SSE_BUFFER behind is disconnected.
 */
void http_server_publish(http_server *s, const char *name, const char *cluster, const json_t *event);
/* Event-stream clients connected now, and the most the server takes (HTTP_MAX_SSE, or fewer when the
 * open-file limit is low: see http_limits()). */
size_t http_server_sse_clients(http_server *s);
size_t http_server_sse_limit(http_server *s);

/*
 * The connection and event-stream bounds that fit an open-file limit of nofile
 * (RLIMIT_NOFILE's soft value): HTTP_MAX_CONNECTIONS and HTTP_MAX_SSE, each
 * lowered so HTTP_FD_RESERVE files stay for the rest of the daemon. Pure.
 */
void http_limits(unsigned long long nofile, unsigned *connections, unsigned *sse);
/* The bound port (useful with port 0 in tests). */
int http_server_port(http_server *s);
/* Close: requests still waiting are answered 503 first. NULL is fine. */
void http_server_close(http_server *s);

#endif
