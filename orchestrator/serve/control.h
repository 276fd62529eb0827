/*
 * orchestrator/serve/control.h — the control socket (ZeroMQ ROUTER in the daemon,
 * DEALER in the CLI) and the event PUB socket.
 *
 * Owns: endpoint handling (ipc:// paths inside a private directory), the
 * request/reply framing ([identity][empty][JSON]), client-side timeouts and
 * the messages a CLI user sees when no daemon answers. Requests and replies
 * are JSON objects: {"cmd": "...", ...} → {"ok": true, ...} or
 * {"ok": false, "error": "..."}. What the commands do is the daemon's business.
 *
 * Authentication: an ipc:// endpoint is guarded by its file mode (0600 in a
 * private directory) and every peer is an operator. A tcp:// endpoint is
 * always a CURVE server: the daemon's secret key, and a ZAP handler
 * (inproc://zeromq.zap.01, served from the daemon's loop by ctl_server_zap())
 * that admits only the configured client public keys and names the client's
 * role in the connection's User-Id ("operator:NAME" / "readonly:NAME").
 * Each request carries that role; ctl_cmd_allowed() says what a role may do.
 * Messages are bounded (ZMQ_MAXMSGSIZE): an oversized request drops the
 * connection before its body is read into memory.
 */
#ifndef MYORCH_ORCHESTRATOR_CONTROL_H
#define MYORCH_ORCHESTRATOR_CONTROL_H

#include <jansson.h>
#include <stddef.h>

#include "orchestrator/config.h"

#define CTL_MAX_REQUEST_BYTES (64 * 1024)         /* a control request (they are tiny) */
#define CTL_MAX_REPLY_BYTES (64 * 1024 * 1024)    /* what the CLI accepts from the daemon */

typedef struct ctl_server ctl_server;

/* A received request; reply to it exactly once with ctl_server_reply(). */
typedef struct ctl_request {
    void *identity;       /* ROUTER identity frame */
    size_t identity_len;
    json_t *body;         /* the parsed request object */
    int role;             /* CFG_ROLE_OPERATOR or CFG_ROLE_READONLY */
    char client[CFG_KEY_NAME_MAX + 16]; /* "ipc" or the CURVE key's name, for logs */
} ctl_request;

/*
 * Parse one request body as received (untrusted bytes, any length): a JSON
 * object whose "cmd" is a string of 1..CTL_CMD_MAX printable ASCII
 * characters. Returns 0 with *out (a new reference), or -EINVAL with a
 * one-line message in err. Pure: no socket, no daemon state.
 */
#define CTL_CMD_MAX 64
int ctl_parse_request(const void *data, size_t len, json_t **out, char *err, size_t errlen);

/* The daemon's CURVE identity and allowed clients (used for tcp:// endpoints). */
typedef struct {
    const char *secret_key;            /* Z85 */
    const cfg_control_key *keys;
    size_t n_keys;
} ctl_curve_server;

/*
 * Bind the ROUTER control socket and the PUB event socket. tcp:// endpoints
 * need curve (refused without it); then the ZAP handler is bound first. An
 * ipc:// path is only ever replaced when it is a socket file.
 */
int ctl_server_open(void *zctx, const char *control_endpoint, const char *event_endpoint,
                    const ctl_curve_server *curve, ctl_server **out, char *err, size_t errlen);
void ctl_server_close(ctl_server *s);
void *ctl_server_socket(ctl_server *s);
/* The ZAP handler's socket to poll (NULL without CURVE), and its handler (never blocks). */
void *ctl_server_zap_socket(ctl_server *s);
void ctl_server_zap(ctl_server *s);

/*
 * The ZAP decision (pure): a CURVE client whose 32-byte public key is in
 * keys is admitted with user id "operator:NAME" or "readonly:NAME" written
 * to user_id; anything else (other mechanisms, unknown keys) is refused.
 * Returns 1 admitted, 0 refused.
 */
int ctl_zap_decide(const cfg_control_key *keys, size_t n_keys, const char *mechanism, const void *credential,
                   size_t credential_len, char *user_id, size_t user_id_len);

/* May a client of this role run cmd? Read-only clients run only commands that change nothing. */
int ctl_cmd_allowed(int role, const char *cmd);

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

/* The CLI's CURVE keys for a tcp:// endpoint (Z85 text). */
typedef struct {
    char server_public[CFG_KEY_TEXT_LEN + 1];
    char client_public[CFG_KEY_TEXT_LEN + 1];
    char client_secret[CFG_KEY_TEXT_LEN + 1];
} ctl_curve_client;

/*
 * CLI side: send req to the daemon at endpoint and wait up to timeout_ms for
 * the reply. curve is required for tcp:// endpoints (NULL for ipc://).
 * Errors say what is wrong ("no myorch daemon is listening on ...", "the
 * controller refused this client's key ..."). Returns 0 with *reply,
 * -EACCES when the controller refused the key, or another -errno.
 */
int ctl_call(const char *endpoint, const ctl_curve_client *curve, const json_t *req, int timeout_ms,
             json_t **reply, char *err, size_t errlen);

/*
 * CLI side: subscribe to events (topic prefix, "" = all) and call fn for each
 * until fn returns nonzero or timeout_ms of silence passes (-1 = forever).
 */
int ctl_subscribe(const char *endpoint, const ctl_curve_client *curve, const char *prefix, int timeout_ms,
                  int (*fn)(void *user, const char *topic, json_t *payload), void *user,
                  char *err, size_t errlen);

#endif
