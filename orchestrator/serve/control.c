/* orchestrator/serve/control.c — ZeroMQ control (ROUTER/DEALER) and event (PUB/SUB) sockets. */
#include "orchestrator/serve/control.h"
#include "topology/probe/clock.h"

#include "orchestrator/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

struct ctl_server {
    void *router;
    void *pub;
    void *zap;                 /* REP on inproc://zeromq.zap.01, NULL without CURVE */
    bool curve_router;         /* the control socket is a CURVE server */
    cfg_control_key *keys;     /* own copy of the allowed client keys */
    size_t n_keys;
    int64_t refusal_logged_ms; /* refused clients are logged at most every 10 s ... */
    unsigned refusals_unlogged; /* ... with a count of the others */
};

/* For ipc:// endpoints: the socket file path, else NULL. */
static const char *ipc_path(const char *endpoint)
{
    return strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : NULL;
}

static bool is_tcp(const char *endpoint)
{
    return strncmp(endpoint, "tcp://", 6) == 0;
}

static const char *file_kind(mode_t m)
{
    return S_ISREG(m) ? "a regular file" : S_ISDIR(m) ? "a directory" : S_ISLNK(m) ? "a symbolic link"
                                                                          : "not a socket";
}

static int bind_one(void *sock, const char *endpoint, const char *what, const ctl_curve_server *curve, char *err,
                    size_t errlen)
{
    const char *path = ipc_path(endpoint);
    int64_t maxmsg = CTL_MAX_REQUEST_BYTES;
    int hwm = 64, one = 1;
    struct stat st;
    mode_t old;
    int rc;

    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (path) {
        /*
         * libzmq unlinks whatever the path names before it binds. The daemon
         * holds the state_dir lock, so a leftover *socket* file is stale; any
         * other file is somebody's data (e.g. the state database): refuse.
         */
        if (lstat(path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                snprintf(err, errlen, "refusing to bind the %s socket on %s: %s exists and is %s, which binding "
                         "would delete: choose another path", what, endpoint, path, file_kind(st.st_mode));
                return -EEXIST;
            }
            unlink(path);
        }
    } else if (is_tcp(endpoint)) {
        if (!curve || !curve->secret_key || !curve->secret_key[0]) {
            snprintf(err, errlen, "refusing to bind the %s socket on %s without CURVE keys "
                     "(control_secret_key_file, control_operator_keys)", what, endpoint);
            return -EPERM;
        }
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, curve->secret_key, CFG_KEY_TEXT_LEN + 1) != 0 ||
            zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "myorch", 6) != 0) {
            snprintf(err, errlen, "cannot enable CURVE on the %s socket: %s", what, zmq_strerror(zmq_errno()));
            return -EINVAL;
        }
    }
    old = umask(077);
    rc = zmq_bind(sock, endpoint);
    umask(old);
    if (rc != 0) {
        snprintf(err, errlen, "cannot bind the %s socket on %s: %s", what, endpoint, zmq_strerror(zmq_errno()));
        return -EADDRINUSE;
    }
    if (path)
        chmod(path, 0600);
    return 0;
}

int ctl_server_open(void *zctx, const char *control_endpoint, const char *event_endpoint,
                    const ctl_curve_server *curve, ctl_server **out, char *err, size_t errlen)
{
    ctl_server *s = calloc(1, sizeof(*s));
    int zero = 0, one = 1, rc;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->router = zmq_socket(zctx, ZMQ_ROUTER);
    s->pub = zmq_socket(zctx, ZMQ_PUB);
    if (!s->router || !s->pub) {
        snprintf(err, errlen, "cannot create ZeroMQ sockets: %s", zmq_strerror(zmq_errno()));
        rc = -EIO;
        goto fail;
    }
    zmq_setsockopt(s->router, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(s->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    zmq_setsockopt(s->pub, ZMQ_LINGER, &zero, sizeof(zero));
    if ((is_tcp(control_endpoint) || is_tcp(event_endpoint)) && curve && curve->n_keys) {
        /* The ZAP handler must exist before a CURVE socket binds, or libzmq admits every client. */
        s->keys = calloc(curve->n_keys, sizeof(*s->keys));
        s->zap = zmq_socket(zctx, ZMQ_REP);
        if (!s->keys || !s->zap) {
            snprintf(err, errlen, "cannot create the ZAP handler: %s", s->keys ? zmq_strerror(zmq_errno()) : "out of memory");
            rc = -ENOMEM;
            goto fail;
        }
        memcpy(s->keys, curve->keys, curve->n_keys * sizeof(*s->keys));
        s->n_keys = curve->n_keys;
        zmq_setsockopt(s->zap, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_bind(s->zap, "inproc://zeromq.zap.01") != 0) {
            snprintf(err, errlen, "cannot bind the ZAP handler: %s", zmq_strerror(zmq_errno()));
            rc = -EADDRINUSE;
            goto fail;
        }
    }
    s->curve_router = is_tcp(control_endpoint);
    if ((rc = bind_one(s->router, control_endpoint, "control", s->zap ? curve : NULL, err, errlen)) < 0 ||
        (rc = bind_one(s->pub, event_endpoint, "event", s->zap ? curve : NULL, err, errlen)) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    ctl_server_close(s);
    return rc;
}

void ctl_server_close(ctl_server *s)
{
    if (!s)
        return;
    if (s->router)
        zmq_close(s->router);
    if (s->pub)
        zmq_close(s->pub);
    if (s->zap)
        zmq_close(s->zap);
    free(s->keys);
    free(s);
}

void *ctl_server_socket(ctl_server *s) { return s->router; }

void *ctl_server_zap_socket(ctl_server *s) { return s->zap; }

int ctl_zap_decide(const cfg_control_key *keys, size_t n_keys, const char *mechanism, const void *credential,
                   size_t credential_len, char *user_id, size_t user_id_len)
{
    char z85[CFG_KEY_TEXT_LEN + 1];
    user_id[0] = '\0';
    if (!mechanism || strcmp(mechanism, "CURVE") != 0 || credential_len != 32)
        return 0;
    if (!zmq_z85_encode(z85, credential, 32))
        return 0;
    for (size_t i = 0; i < n_keys; i++) {
        if (strcmp(keys[i].public_key, z85) != 0)
            continue;
        if (keys[i].role != CFG_ROLE_OPERATOR && keys[i].role != CFG_ROLE_READONLY)
            return 0;
        snprintf(user_id, user_id_len, "%s:%s", keys[i].role == CFG_ROLE_OPERATOR ? "operator" : "readonly",
                 keys[i].name);
        return 1;
    }
    return 0;
}

/* Frame i of a ZAP request as a NUL-terminated string in buf (cut to fit: only for logs and matching). */
static const char *frame_str(zmq_msg_t *parts, int n, int i, char *buf, size_t len)
{
    size_t k;
    if (i >= n) {
        buf[0] = '\0';
        return buf;
    }
    k = zmq_msg_size(&parts[i]) < len - 1 ? zmq_msg_size(&parts[i]) : len - 1;
    memcpy(buf, zmq_msg_data(&parts[i]), k);
    buf[k] = '\0';
    for (size_t j = 0; j < k; j++)
        if ((unsigned char)buf[j] < 0x20 || (unsigned char)buf[j] >= 0x7f)
            buf[j] = '?';
    return buf;
}

static int recv_multipart(void *sock, zmq_msg_t *parts, int max, int flags);

void ctl_server_zap(ctl_server *s)
{
    for (;;) {
        zmq_msg_t parts[8];
        char version[8], mech[16], addr[64], user[CFG_KEY_NAME_MAX + 16];
        int n = recv_multipart(s->zap, parts, 8, ZMQ_DONTWAIT), ok;
        if (n < 0)
            return;
        frame_str(parts, n, 0, version, sizeof(version));
        frame_str(parts, n, 5, mech, sizeof(mech));
        frame_str(parts, n, 3, addr, sizeof(addr));
        ok = n >= 7 && strcmp(version, "1.0") == 0 &&
             ctl_zap_decide(s->keys, s->n_keys, mech, zmq_msg_data(&parts[6]), zmq_msg_size(&parts[6]), user,
                            sizeof(user));
        if (!ok) {
            char z85[CFG_KEY_TEXT_LEN + 1] = "?";
            if (n >= 7 && zmq_msg_size(&parts[6]) == 32)
                zmq_z85_encode(z85, zmq_msg_data(&parts[6]), 32);
            /* A refused client reconnects every 100 ms or so: do not let it flood the log. */
            if (s->refusal_logged_ms == 0 || clk_mono_ms() - s->refusal_logged_ms >= 10000) {
                log_warn("control: refused a %s client from %s (public key %s is not in control_operator_keys or "
                         "control_readonly_keys; %u other refusals in the last 10 s)", mech[0] ? mech : "?",
                         addr[0] ? addr : "?", z85, s->refusals_unlogged);
                s->refusal_logged_ms = clk_mono_ms();
                s->refusals_unlogged = 0;
            } else {
                s->refusals_unlogged++;
            }
            user[0] = '\0';
        } else {
            log_debug("control: admitted %s from %s", user, addr);
        }
        /* Reply: version, request id, status code, status text, user id, metadata. */
        zmq_send(s->zap, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        if (n >= 2)
            zmq_send(s->zap, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        else
            zmq_send(s->zap, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(s->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(s->zap, ok ? "OK" : "unknown key", ok ? 2 : 11, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(s->zap, user, strlen(user), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(s->zap, "", 0, ZMQ_DONTWAIT);
        for (int i = 0; i < n && i < 8; i++)
            zmq_msg_close(&parts[i]);
    }
}

int ctl_cmd_allowed(int role, const char *cmd)
{
    static const char *const readonly_cmds[] = {"ping", "status", "topology", "recoveries", "report"};
    if (role == CFG_ROLE_OPERATOR)
        return 1;
    if (role != CFG_ROLE_READONLY || !cmd)
        return 0;
    for (size_t i = 0; i < sizeof(readonly_cmds) / sizeof(readonly_cmds[0]); i++)
        if (strcmp(cmd, readonly_cmds[i]) == 0)
            return 1;
    return 0;
}

/* Read the remaining frames of a multipart message into parts (max n). */
static int recv_multipart(void *sock, zmq_msg_t *parts, int max, int flags)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_t *m = n < max ? &parts[n] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, n == 0 ? flags : 0) < 0) {
            zmq_msg_close(m);
            for (int i = 0; i < n && i < max; i++)
                zmq_msg_close(&parts[i]);
            return -1;
        }
        more = zmq_msg_more(m);
        if (n >= max)
            zmq_msg_close(m);
        n++;
    }
    return n;
}

static void send_reply_raw(void *sock, const void *id, size_t id_len, const char *body)
{
    zmq_send(sock, id, id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sock, body, strlen(body), ZMQ_DONTWAIT);
}

int ctl_parse_request(const void *data, size_t len, json_t **out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *cmd;
    size_t n;
    *out = NULL;
    if (!body || !json_is_object(body) || !json_is_string(json_object_get(body, "cmd"))) {
        snprintf(err, errlen, "malformed request: expected a JSON object with \"cmd\"");
        json_decref(body);
        return -EINVAL;
    }
    cmd = json_string_value(json_object_get(body, "cmd"));
    n = json_string_length(json_object_get(body, "cmd"));
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)cmd[i] < 0x21 || (unsigned char)cmd[i] > 0x7e)
            n = 0;
    if (n == 0 || n > CTL_CMD_MAX) {
        snprintf(err, errlen, "malformed request: \"cmd\" must be 1 to %d printable characters", CTL_CMD_MAX);
        json_decref(body);
        return -EINVAL;
    }
    *out = body;
    return 0;
}

int ctl_server_recv(ctl_server *s, ctl_request *out)
{
    for (;;) {
        zmq_msg_t parts[3];
        int n = recv_multipart(s->router, parts, 3, ZMQ_DONTWAIT);
        char perr[200];
        json_t *body;
        if (n < 0)
            return 0;
        if (n != 3 || zmq_msg_size(&parts[1]) != 0) {
            for (int i = 0; i < n && i < 3; i++)
                zmq_msg_close(&parts[i]);
            continue; /* not our framing: drop */
        }
        if (ctl_parse_request(zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2]), &body, perr, sizeof(perr)) < 0) {
            json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", perr);
            char *txt = json_dumps(r, JSON_COMPACT);
            send_reply_raw(s->router, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), txt);
            free(txt);
            json_decref(r);
            for (int i = 0; i < 3; i++)
                zmq_msg_close(&parts[i]);
            continue;
        }
        if (s->curve_router) {
            /* Set by the ZAP handler for this connection: "operator:NAME" or "readonly:NAME". */
            const char *uid = zmq_msg_gets(&parts[2], "User-Id");
            if (uid && strncmp(uid, "operator:", 9) == 0) {
                out->role = CFG_ROLE_OPERATOR;
            } else if (uid && strncmp(uid, "readonly:", 9) == 0) {
                out->role = CFG_ROLE_READONLY;
            } else {
                json_decref(body);
                for (int i = 0; i < 3; i++)
                    zmq_msg_close(&parts[i]);
                continue; /* cannot happen with the ZAP handler in place: drop */
            }
            snprintf(out->client, sizeof(out->client), "%s", uid);
        } else {
            out->role = CFG_ROLE_OPERATOR; /* ipc: the socket file is the daemon user's only */
            snprintf(out->client, sizeof(out->client), "ipc");
        }
        out->identity_len = zmq_msg_size(&parts[0]);
        out->identity = malloc(out->identity_len ? out->identity_len : 1);
        if (!out->identity) {
            json_decref(body);
            for (int i = 0; i < 3; i++)
                zmq_msg_close(&parts[i]);
            return 0;
        }
        memcpy(out->identity, zmq_msg_data(&parts[0]), out->identity_len);
        out->body = body;
        for (int i = 0; i < 3; i++)
            zmq_msg_close(&parts[i]);
        return 1;
    }
}

int ctl_server_reply(ctl_server *s, ctl_request *req, json_t *reply)
{
    char *txt = json_dumps(reply, JSON_COMPACT);
    int rc = 0;
    if (txt) {
        send_reply_raw(s->router, req->identity, req->identity_len, txt);
        free(txt);
    } else {
        rc = -ENOMEM;
    }
    json_decref(reply);
    json_decref(req->body);
    free(req->identity);
    memset(req, 0, sizeof(*req));
    return rc;
}

int ctl_publish(ctl_server *s, const char *topic, const json_t *payload)
{
    char *txt = json_dumps(payload, JSON_COMPACT);
    if (!txt)
        return -ENOMEM;
    zmq_send(s->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s->pub, txt, strlen(txt), ZMQ_DONTWAIT);
    free(txt);
    return 0;
}

static int check_ipc(const char *endpoint, char *err, size_t errlen)
{
    const char *path = ipc_path(endpoint);
    struct stat st;
    if (!path)
        return 0;
    if (stat(path, &st) < 0) {
        if (errno == EACCES)
            snprintf(err, errlen, "cannot reach %s: permission denied (run as the daemon's user)", endpoint);
        else
            snprintf(err, errlen, "no myorch daemon is listening on %s (start one with 'myorch run -c FILE', "
                     "or point -c/--socket at the right one)", endpoint);
        return -ECONNREFUSED;
    }
    return 0;
}

/* A client socket connected to endpoint, with CURVE and a handshake monitor for tcp://. */
struct client {
    void *ctx, *sock, *mon;
    bool curve, handshake_ok;
};

static void client_close(struct client *c)
{
    if (c->mon)
        zmq_close(c->mon);
    if (c->sock)
        zmq_close(c->sock);
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    memset(c, 0, sizeof(*c));
}

static int client_open(struct client *c, int type, const char *endpoint, const ctl_curve_client *curve,
                       const char *prefix, char *err, size_t errlen)
{
    int zero = 0, rc;
    int64_t maxmsg = CTL_MAX_REPLY_BYTES;

    memset(c, 0, sizeof(*c));
    if ((rc = check_ipc(endpoint, err, errlen)) < 0)
        return rc;
    if (is_tcp(endpoint) && (!curve || !curve->client_secret[0] || !curve->server_public[0])) {
        snprintf(err, errlen, "%s is a tcp:// endpoint and needs CURVE keys: give --key-file FILE (your secret "
                 "key from 'myorch keygen') or set control_client_key_file, and -c FILE (the controller's "
                 "configuration) or --server-key-file FILE (the controller's .pub)", endpoint);
        return -EINVAL;
    }
    c->ctx = zmq_ctx_new();
    c->sock = c->ctx ? zmq_socket(c->ctx, type) : NULL;
    if (!c->sock) {
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        client_close(c);
        return -EIO;
    }
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
    if (prefix)
        zmq_setsockopt(c->sock, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
    if (is_tcp(endpoint)) {
        c->curve = true;
        if (zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, curve->server_public, CFG_KEY_TEXT_LEN + 1) != 0 ||
            zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, curve->client_public, CFG_KEY_TEXT_LEN + 1) != 0 ||
            zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, curve->client_secret, CFG_KEY_TEXT_LEN + 1) != 0 ||
            zmq_socket_monitor(c->sock, "inproc://myorch-client-monitor",
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
            !(c->mon = zmq_socket(c->ctx, ZMQ_PAIR)) ||
            zmq_connect(c->mon, "inproc://myorch-client-monitor") != 0) {
            snprintf(err, errlen, "cannot set up CURVE for %s: %s", endpoint, zmq_strerror(zmq_errno()));
            client_close(c);
            return -EINVAL;
        }
        zmq_setsockopt(c->mon, ZMQ_LINGER, &zero, sizeof(zero));
    }
    if (zmq_connect(c->sock, endpoint) != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        client_close(c);
        return -ECONNREFUSED;
    }
    return 0;
}

/*
 * Wait up to timeout_ms (-1: forever) for the socket to become readable.
 * Returns 1 readable, 0 timeout, -EACCES/-EPROTO when the CURVE handshake
 * failed (err says why), -EINTR on a signal.
 */
static int client_wait(struct client *c, const char *endpoint, const ctl_curve_client *curve, int timeout_ms,
                       char *err, size_t errlen)
{
    int64_t deadline = timeout_ms >= 0 ? clk_mono_ms() + timeout_ms : -1;
    for (;;) {
        zmq_pollitem_t it[2] = {{.socket = c->sock, .events = ZMQ_POLLIN}, {.socket = c->mon, .events = ZMQ_POLLIN}};
        int left = -1, p;
        if (deadline >= 0) {
            int64_t l = deadline - clk_mono_ms();
            left = l < 0 ? 0 : (int)l;
        }
        p = zmq_poll(it, c->mon ? 2 : 1, left);
        if (p < 0)
            return zmq_errno() == EINTR ? -EINTR : -EIO;
        if (it[0].revents & ZMQ_POLLIN)
            return 1;
        if (c->mon && (it[1].revents & ZMQ_POLLIN)) {
            zmq_msg_t ev[2];
            int n = recv_multipart(c->mon, ev, 2, 0);
            uint16_t event = 0;
            if (n >= 1 && zmq_msg_size(&ev[0]) >= 2)
                memcpy(&event, zmq_msg_data(&ev[0]), 2);
            for (int i = 0; i < n && i < 2; i++)
                zmq_msg_close(&ev[i]);
            if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                c->handshake_ok = true;
            } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                snprintf(err, errlen, "the controller on %s refused this client's key (public key %s): add its "
                         ".pub file to control_operator_keys or control_readonly_keys in the controller's "
                         "configuration and restart it", endpoint, curve->client_public);
                return -EACCES;
            } else if (event) {
                snprintf(err, errlen, "the CURVE handshake with %s failed: is the server key the controller's "
                         "(control_secret_key_file / --server-key-file)?", endpoint);
                return -EPROTO;
            }
            continue;
        }
        if (p == 0 || (deadline >= 0 && left == 0))
            return 0;
    }
}

static void timeout_message(struct client *c, const char *endpoint, int timeout_ms, char *err, size_t errlen)
{
    if (c->curve && !c->handshake_ok)
        snprintf(err, errlen, "no CURVE handshake with %s within %d ms: no controller listens there, or the "
                 "server key this CLI uses is not the controller's (the controller's control_secret_key_file, "
                 "or --server-key-file)", endpoint, timeout_ms);
    else
        snprintf(err, errlen, "no answer from the myorch daemon on %s within %d ms (is it running? "
                 "raise --timeout-ms for long operations)", endpoint, timeout_ms);
}

int ctl_call(const char *endpoint, const ctl_curve_client *curve, const json_t *req, int timeout_ms,
             json_t **reply, char *err, size_t errlen)
{
    struct client c;
    char *txt = NULL;
    int rc = 0, n;
    zmq_msg_t parts[2];

    *reply = NULL;
    if ((rc = client_open(&c, ZMQ_DEALER, endpoint, curve, NULL, err, errlen)) < 0)
        return rc;
    txt = json_dumps(req, JSON_COMPACT);
    if (!txt || zmq_send(c.sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(c.sock, txt, strlen(txt), 0) < 0) {
        snprintf(err, errlen, "cannot send the request to %s", endpoint);
        rc = -EIO;
        goto out;
    }
    rc = client_wait(&c, endpoint, curve, timeout_ms, err, errlen);
    if (rc <= 0) {
        if (rc == 0 || rc == -EINTR || rc == -EIO) {
            timeout_message(&c, endpoint, timeout_ms, err, errlen);
            rc = -ETIMEDOUT;
        }
        goto out;
    }
    rc = 0;
    n = recv_multipart(c.sock, parts, 2, 0);
    if (n != 2) {
        if (n > 0)
            for (int i = 0; i < n && i < 2; i++)
                zmq_msg_close(&parts[i]);
        snprintf(err, errlen, "malformed reply from %s", endpoint);
        rc = -EPROTO;
        goto out;
    }
    {
        json_error_t jerr;
        *reply = json_loadb(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), 0, &jerr);
        zmq_msg_close(&parts[0]);
        zmq_msg_close(&parts[1]);
        if (!*reply) {
            snprintf(err, errlen, "malformed reply from %s: %s", endpoint, jerr.text);
            rc = -EPROTO;
        }
    }
out:
    free(txt);
    client_close(&c);
    return rc;
}

int ctl_subscribe(const char *endpoint, const ctl_curve_client *curve, const char *prefix, int timeout_ms,
                  int (*fn)(void *user, const char *topic, json_t *payload), void *user,
                  char *err, size_t errlen)
{
    struct client c;
    int rc = 0;

    if ((rc = client_open(&c, ZMQ_SUB, endpoint, curve, prefix, err, errlen)) < 0)
        return rc;
    for (;;) {
        zmq_msg_t parts[2];
        char topic[128];
        json_t *payload;
        int p = client_wait(&c, endpoint, curve, timeout_ms, err, errlen);
        if (p == -EINTR || p == 0)
            break;
        if (p < 0) {
            rc = p;
            if (p == -EIO)
                snprintf(err, errlen, "poll failed on %s", endpoint);
            break;
        }
        int n = recv_multipart(c.sock, parts, 2, 0);
        if (n != 2) {
            for (int i = 0; i < n && i < 2; i++)
                zmq_msg_close(&parts[i]);
            continue;
        }
        size_t tl = zmq_msg_size(&parts[0]) < sizeof(topic) - 1 ? zmq_msg_size(&parts[0]) : sizeof(topic) - 1;
        memcpy(topic, zmq_msg_data(&parts[0]), tl);
        topic[tl] = '\0';
        payload = json_loadb(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), 0, NULL);
        zmq_msg_close(&parts[0]);
        zmq_msg_close(&parts[1]);
        if (!payload)
            continue;
        int stop = fn(user, topic, payload);
        json_decref(payload);
        if (stop)
            break;
    }
    client_close(&c);
    return rc;
}
