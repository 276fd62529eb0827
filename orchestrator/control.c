/* orchestrator/control.c — ZeroMQ control (ROUTER/DEALER) and event (PUB/SUB) sockets. */
#include "orchestrator/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

struct ctl_server {
    void *router;
    void *pub;
};

/* For ipc:// endpoints: the socket file path, else NULL. */
static const char *ipc_path(const char *endpoint)
{
    return strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : NULL;
}

static int bind_one(void *sock, const char *endpoint, const char *what, char *err, size_t errlen)
{
    const char *path = ipc_path(endpoint);
    mode_t old;
    int rc;
    if (path) {
        /* The daemon holds the state_dir lock, so a leftover socket file is stale. */
        unlink(path);
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
                    ctl_server **out, char *err, size_t errlen)
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
    if ((rc = bind_one(s->router, control_endpoint, "control", err, errlen)) < 0 ||
        (rc = bind_one(s->pub, event_endpoint, "event", err, errlen)) < 0)
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
    free(s);
}

void *ctl_server_socket(ctl_server *s) { return s->router; }

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

int ctl_call(const char *endpoint, const json_t *req, int timeout_ms, json_t **reply, char *err,
             size_t errlen)
{
    void *ctx = NULL, *sock = NULL;
    char *txt = NULL;
    int zero = 0, rc = 0;
    zmq_msg_t parts[2];
    int n;

    *reply = NULL;
    if ((rc = check_ipc(endpoint, err, errlen)) < 0)
        return rc;
    ctx = zmq_ctx_new();
    sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (!sock) {
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        rc = -EIO;
        goto out;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
    if (zmq_connect(sock, endpoint) != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        rc = -ECONNREFUSED;
        goto out;
    }
    txt = json_dumps(req, JSON_COMPACT);
    if (!txt || zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, txt, strlen(txt), 0) < 0) {
        snprintf(err, errlen, "cannot send the request to %s", endpoint);
        rc = -EIO;
        goto out;
    }
    {
        zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
        int p = zmq_poll(&it, 1, timeout_ms);
        if (p <= 0) {
            snprintf(err, errlen, "no answer from the myorch daemon on %s within %d ms (is it running? "
                     "raise --timeout-ms for long operations)", endpoint, timeout_ms);
            rc = -ETIMEDOUT;
            goto out;
        }
    }
    n = recv_multipart(sock, parts, 2, 0);
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
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

int ctl_subscribe(const char *endpoint, const char *prefix, int timeout_ms,
                  int (*fn)(void *user, const char *topic, json_t *payload), void *user,
                  char *err, size_t errlen)
{
    void *ctx = NULL, *sock = NULL;
    int zero = 0, rc = 0;

    if ((rc = check_ipc(endpoint, err, errlen)) < 0)
        return rc;
    ctx = zmq_ctx_new();
    sock = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
    if (!sock) {
        snprintf(err, errlen, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        rc = -EIO;
        goto out;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(sock, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
    if (zmq_connect(sock, endpoint) != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        rc = -ECONNREFUSED;
        goto out;
    }
    for (;;) {
        zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
        zmq_msg_t parts[2];
        char topic[128];
        json_t *payload;
        int p = zmq_poll(&it, 1, timeout_ms);
        if (p < 0) {
            if (zmq_errno() == EINTR)
                break;
            rc = -EIO;
            break;
        }
        if (p == 0)
            break;
        int n = recv_multipart(sock, parts, 2, 0);
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
out:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}
