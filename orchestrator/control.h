/*
 * orchestrator/control.h — the control socket (ZeroMQ ROUTER in the daemon,
 * DEALER in the CLI) and the event PUB socket.
 *
 * Owns: endpoint handling (ipc:// paths inside a private directory), the
 * request/reply framing ([identity][empty][JSON]), client-side timeouts and
 * the messages a CLI user sees when no daemon answers. Requests and replies
 * are JSON objects: {"cmd": "...", ...} → {"ok": true, ...} or
 * {"ok": false, "error": "..."}. What the commands do is the daemon's business.
 */
#ifndef MYORCH_ORCHESTRATOR_CONTROL_H
#define MYORCH_ORCHESTRATOR_CONTROL_H

#include <jansson.h>
#include <stddef.h>

typedef struct ctl_server ctl_server;

/* A received request; reply to it exactly once with ctl_server_reply(). */
typedef struct ctl_request {
    void *identity;       /* ROUTER identity frame */
    size_t identity_len;
    json_t *body;         /* the parsed request object */
} ctl_request;

/*
 * Parse one request body as received (untrusted bytes, any length): a JSON
 * object whose "cmd" is a string of 1..CTL_CMD_MAX printable ASCII
 * characters. Returns 0 with *out (a new reference), or -EINVAL with a
 * one-line message in err. Pure: no socket, no daemon state.
 */
#define CTL_CMD_MAX 64
int ctl_parse_request(const void *data, size_t len, json_t **out, char *err, size_t errlen);

/* Bind the ROUTER control socket and the PUB event socket. */
int ctl_server_open(void *zctx, const char *control_endpoint, const char *event_endpoint,
                    ctl_server **out, char *err, size_t errlen);
void ctl_server_close(ctl_server *s);
void *ctl_server_socket(ctl_server *s);

/*
 * Take the next request, if any (never blocks). Returns 1 with *out filled,
 * 0 when nothing is waiting. Malformed requests are answered with an error
 * here and not returned.
 */
int ctl_server_recv(ctl_server *s, ctl_request *out);
/* Send reply (reference stolen) and release the request. */
int ctl_server_reply(ctl_server *s, ctl_request *req, json_t *reply);

/* Publish one event: frames [topic][JSON payload]. Never blocks. */
int ctl_publish(ctl_server *s, const char *topic, const json_t *payload);

/*
 * CLI side: send req to the daemon at endpoint and wait up to timeout_ms for
 * the reply. Errors say what is wrong ("no myorch daemon is listening on
 * ..."). Returns 0 with *reply, or -errno.
 */
int ctl_call(const char *endpoint, const json_t *req, int timeout_ms, json_t **reply, char *err,
             size_t errlen);

/*
 * CLI side: subscribe to events (topic prefix, "" = all) and call fn for each
 * until fn returns nonzero or timeout_ms of silence passes (-1 = forever).
 */
int ctl_subscribe(const char *endpoint, const char *prefix, int timeout_ms,
                  int (*fn)(void *user, const char *topic, json_t *payload), void *user,
                  char *err, size_t errlen);

#endif
