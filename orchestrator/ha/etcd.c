/* orchestrator/ha/etcd.c — etcd v3 JSON-gateway client on libcurl's multi interface. See etcd.h. */
#include "orchestrator/ha/etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "topology/probe/probe.h"
#include "topology/strbuf.h"

#define MAX_ENDPOINTS 16
#define KEY_MAX 512

/* ---- pure helpers ------------------------------------------------------------------ */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int etcd_b64_encode(const char *in, size_t n, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t need = (n + 2) / 3 * 4 + 1, o = 0;
    if (!out || outlen < need)
        return -ENOSPC;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out[o++] = b64chars[v >> 18 & 63];
        out[o++] = b64chars[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
    return 0;
}

static int b64val(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decodes into out (NUL-terminated, *n bytes without the NUL). */
int etcd_b64_decode(const char *in, char *out, size_t outlen, size_t *n)
{
    size_t len = in ? strlen(in) : 0, o = 0;
    if (!in || !out || outlen == 0 || len % 4)
        return -EINVAL;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64val(in[i + k])) < 0) {
                return -EINVAL;
            }
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        if (o + (size_t)(3 - pad) + 1 > outlen)
            return -ENOSPC;
        out[o++] = (char)(w >> 16);
        if (pad < 2)
            out[o++] = (char)(w >> 8 & 255);
        if (pad < 1)
            out[o++] = (char)(w & 255);
    }
    out[o] = '\0';
    if (n)
        *n = o;
    return 0;
}

int etcd_json_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        long long x;
        if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
            return -EINVAL;
        errno = 0;
        x = strtoll(s, &end, 10);
        if (errno || *end)
            return -EINVAL;
        *out = (int64_t)x;
        return 0;
    }
    return -EINVAL;
}

/* A missing int64 field is 0 in the gateway's JSON (proto3 omits zero values). */
static int64_t jint(const json_t *obj, const char *field)
{
    int64_t v = 0;
    const json_t *j = json_object_get(obj, field);
    if (j && etcd_json_int(j, &v) < 0)
        return 0;
    return v;
}

int etcd_prefix_end(const char *prefix, char *out, size_t outlen)
{
    size_t n = strlen(prefix);
    if (n == 0 || n + 1 > outlen)
        return -ENOSPC;
    memcpy(out, prefix, n + 1);
    while (n > 0) {
        if ((unsigned char)out[n - 1] < 0xff) {
            out[n - 1]++;
            out[n] = '\0';
            return 0;
        }
        n--;
    }
    return -EINVAL;
}

/* ---- the client ------------------------------------------------------------------- */

enum req_kind {
    RK_AUTH, RK_GRANT, RK_KEEPALIVE, RK_PUT_CONTROLLER, RK_PUT_VIEW, RK_LOCK_TAKE, RK_LOCK_RELEASE,
    RK_RANGE_CONTROLLERS, RK_RANGE_VIEWS, RK_RANGE_LOCKS, RK_REVOKE, RK_JOURNAL_PUT, RK_STATE_PUT,
    /* issue 14, later parts: the watch, forwarded requests (see etcd.h "Forwarding") */
    RK_WATCH, RK_FWD_PUT, RK_FWD_RANGE_REQUESTS, RK_FWD_RANGE_RESULTS, RK_FWD_TAKE, RK_FWD_REPLY, RK_FWD_DELETE
};

typedef struct req {
    struct req *next;
    etcd_client *c;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    bool secret_body;
    strbuf resp;
    bool too_big;
    enum req_kind kind;
    int slot;
    int64_t sent_ms;
    int64_t lease;
    char errbuf[CURL_ERROR_SIZE];
} req;

enum { L_FREE = 0, L_WANT, L_HELD };

enum { FO_FREE = 0, FO_SENDING, FO_SENT, FO_FAILED, FO_DONE };

typedef struct {
    int state;
    bool accepted;               /* the holder took it (an "accepted" result was seen) */
    char id[ETCD_FWD_ID_MAX];
    char cluster[ETCD_CLUSTER_MAX];
    char *result;                /* FO_DONE: the holder's answer (JSON text) */
    char err[160];               /* FO_FAILED */
} fwd_out;

typedef struct {
    char cluster[ETCD_CLUSTER_MAX];
    int state;
    bool busy;
    int64_t token, lease, next_try_ms;
    char holder[ETCD_NAME_MAX];
    /* The cluster's shared journal as read in the transaction that took the lock (heap,
     * NULL: no key); journal_ready until etcd_lock_journal() hands it over. */
    char *journal;
    bool journal_ready;
    /* The same for the cluster's shared state (PREFIX/state/CLUSTER). */
    char *shared;
    bool shared_ready;
    /* Writes of the journal [0] and the state [1] from the loop: one in flight per key, the
     * newest waiting one (a whole record) sent when it ends, so that they land in order. */
    char *outbox[2];
    bool out_busy[2];
} lock_slot;

typedef struct {
    char cluster[ETCD_CLUSTER_MAX];
    char *value;
    bool dirty, busy;
    int64_t last_put_ms;
} view_slot;

struct etcd_client {
    char *endpoints[MAX_ENDPOINTS];
    size_t n_endpoints, cur_ep;
    char prefix[256], name[ETCD_NAME_MAX];
    int64_t ttl_ms, timeout_ms, refresh_ms;
    char *cacert, *cert, *key, *user, *password;
    etcd_event_fn on_event;
    void *user_data;

    CURLM *multi;
    int epfd;
    int64_t timer_due_ms;          /* libcurl's timer, -1 none */
    req *reqs;

    char *token;                   /* auth token, heap, wiped */
    bool auth_busy;
    int64_t next_auth_ms;

    int64_t lease_id, lease_ok_sent_ms, next_grant_ms, next_ka_ms;
    bool grant_busy, ka_busy, fenced_reported, ctl_put, ctl_busy, name_conflict;

    lock_slot locks[ETCD_MAX_LOCKS];
    size_t n_locks;
    view_slot *views;
    size_t n_views;

    int64_t next_range_ms;
    bool range_busy[3];
    etcd_controller *ctls;
    size_t n_ctls;
    etcd_peer_view *pviews;
    size_t n_pviews;

    int64_t started_ms, last_ok_ms, last_fail_ms;
    char last_err[256];
    etcd_health reported;

    /* The watch on PREFIX/: changes others make are read at once, not at the next period. */
    bool watch_busy, watch_created;
    int64_t next_watch_ms;
    bool range_due[3], fwd_requests_due, fwd_results_due;

    /* Forwarding: requests this controller sent (out) and took as the lock holder (in). */
    fwd_out outs[ETCD_FWD_MAX];
    etcd_fwd_in ins[ETCD_FWD_MAX]; /* state: 0 free, 1 being taken, 2 taken */
    bool fwd_req_busy, fwd_res_busy;
    int64_t next_fwd_requests_ms, next_fwd_results_ms, fwd_seq;
};

static void emit(etcd_client *c, const char *name, const char *cluster, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fwd_schedule(etcd_client *c, int64_t now);
static int64_t fwd_due(const etcd_client *c, int64_t now, int64_t due);
static void fwd_apply(etcd_client *c, req *r, json_t *resp, bool failed);
static void watch_done(etcd_client *c, req *r, CURLcode cc, int64_t now);
static bool cluster_ok(const char *cluster);
static void emit(etcd_client *c, const char *name, const char *cluster, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!c->on_event)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->on_event(c->user_data, name, cluster ? cluster : "", msg);
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* ---- libcurl plumbing -------------------------------------------------------------- */

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    etcd_client *c = userp;
    struct epoll_event ev = {0};
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(c->multi, s, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.fd = s;
    if (socketp) {
        if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT)
            epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev);
    } else {
        if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST)
            epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(c->multi, s, c);
    }
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    etcd_client *c = userp;
    (void)multi;
    c->timer_due_ms = timeout_ms < 0 ? -1 : probe_now_ms() + timeout_ms;
    return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    req *r = userdata;
    size_t n = size * nmemb;
    if (r->resp.len + n > ETCD_MAX_RESPONSE) {
        r->too_big = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (strbuf_putn(&r->resp, ptr, n) < 0)
        return 0;
    return n;
}

static void tls_setup(CURL *e, const char *cacert, const char *cert, const char *key)
{
    if (cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, cacert);
    if (cert)
        curl_easy_setopt(e, CURLOPT_SSLCERT, cert);
    if (key)
        curl_easy_setopt(e, CURLOPT_SSLKEY, key);
}

static void req_free(req *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    if (r->secret_body)
        wipe_free(r->body);
    else
        free(r->body);
    if (r->resp.s)
        explicit_bzero(r->resp.s, r->resp.len);
    strbuf_free(&r->resp);
    free(r);
}

static const char *cur_endpoint(const etcd_client *c)
{
    return c->endpoints[c->cur_ep % c->n_endpoints];
}

/* Build an easy handle POSTing body to endpoint + path; the header carries the token. */
static CURL *easy_new(const char *endpoint, const char *path, const char *body, const char *token, int64_t timeout_ms,
                      const char *cacert, const char *cert, const char *key, struct curl_slist **hdrs, char *errbuf)
{
    char url[600];
    CURL *e;
    if (snprintf(url, sizeof(url), "%s%s", endpoint, path) >= (int)sizeof(url))
        return NULL;
    e = curl_easy_init();
    if (!e)
        return NULL;
    *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (token && *hdrs) {
        char *h = strbuf_asprintf("Authorization: %s", token);
        struct curl_slist *nh = h ? curl_slist_append(*hdrs, h) : NULL;
        wipe_free(h);
        if (!nh) {
            curl_slist_free_all(*hdrs);
            *hdrs = NULL;
        } else {
            *hdrs = nh;
        }
    }
    if (!*hdrs) {
        curl_easy_cleanup(e);
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    tls_setup(e, cacert, cert, key);
    return e;
}

/* Start an asynchronous request; takes body (heap). A stream (the watch) has its own
 * write callback and overall timeout. */
static int start_ex(etcd_client *c, enum req_kind kind, int slot, const char *path, char *body, bool secret,
                    curl_write_callback wcb, int64_t stream_timeout_ms);
/* etcd checks a password with bcrypt, slow on a loaded host (a token is asked for once): an
 * authentication gets 5 requests' time, at least 5 s. */
static int64_t auth_timeout_of(int64_t timeout_ms)
{
    return timeout_ms * 5 > 5000 ? timeout_ms * 5 : 5000;
}

static int start(etcd_client *c, enum req_kind kind, int slot, const char *path, char *body, bool secret)
{
    return start_ex(c, kind, slot, path, body, secret, NULL, 0);
}

static int start_ex(etcd_client *c, enum req_kind kind, int slot, const char *path, char *body, bool secret,
                    curl_write_callback wcb, int64_t stream_timeout_ms)
{
    req *r = calloc(1, sizeof(*r));
    if (!r || !body) {
        if (secret)
            wipe_free(body);
        else
            free(body);
        free(r);
        return -ENOMEM;
    }
    r->c = c;
    r->kind = kind;
    r->slot = slot;
    r->body = body;
    r->secret_body = secret;
    r->sent_ms = probe_now_ms();
    r->lease = c->lease_id;
    strbuf_init(&r->resp);
    r->easy = easy_new(cur_endpoint(c), path, body, kind == RK_AUTH ? NULL : c->token,
                       kind == RK_AUTH ? auth_timeout_of(c->timeout_ms) : c->timeout_ms,
                       c->cacert, c->cert, c->key, &r->hdrs, r->errbuf);
    if (!r->easy) {
        req_free(r);
        return -ENOMEM;
    }
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, wcb ? wcb : write_cb);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    if (stream_timeout_ms > 0)
        curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)stream_timeout_ms);
    if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
        req_free(r);
        return -EIO;
    }
    r->next = c->reqs;
    c->reqs = r;
    return 0;
}

static char *json_body(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static int key_b64(const char *key, char *out, size_t outlen)
{
    return etcd_b64_encode(key, strlen(key), out, outlen);
}

/* ---- requests ---------------------------------------------------------------------- */

/* The body of /v3/auth/authenticate (heap, holds the password: the caller wipes it), NULL out of
 * memory. The password copy inside the json_t is freed with it (jansson cannot wipe it). */
static char *auth_body(const char *user, const char *password)
{
    json_t *j = json_pack("{s:s, s:s}", "name", user, "password", password);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return body;
}

static void send_auth(etcd_client *c)
{
    char *body = auth_body(c->user, c->password);
    if (start(c, RK_AUTH, -1, "/v3/auth/authenticate", body, true) == 0)
        c->auth_busy = true;
}

static void send_grant(etcd_client *c)
{
    int64_t ttl_s = (c->ttl_ms + 999) / 1000;
    if (start(c, RK_GRANT, -1, "/v3/lease/grant", json_body(json_pack("{s:I}", "TTL", (json_int_t)ttl_s)), false) ==
        0)
        c->grant_busy = true;
}

static void send_keepalive(etcd_client *c)
{
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, c->lease_id);
    if (start(c, RK_KEEPALIVE, -1, "/v3/lease/keepalive", json_body(json_pack("{s:s}", "ID", id)), false) == 0)
        c->ka_busy = true;
}

static json_t *put_op(const char *key, const char *value, int64_t lease)
{
    char kb[KEY_MAX * 2], id[32];
    char *vb;
    size_t vlen = strlen(value);
    json_t *j;
    if (key_b64(key, kb, sizeof(kb)) < 0)
        return NULL;
    vb = malloc((vlen + 2) / 3 * 4 + 1);
    if (!vb || etcd_b64_encode(value, vlen, vb, (vlen + 2) / 3 * 4 + 1) < 0) {
        free(vb);
        return NULL;
    }
    snprintf(id, sizeof(id), "%" PRId64, lease);
    j = lease ? json_pack("{s:s, s:s, s:s}", "key", kb, "value", vb, "lease", id)
              : json_pack("{s:s, s:s}", "key", kb, "value", vb);
    free(vb);
    return j;
}

static void send_put(etcd_client *c, enum req_kind kind, int slot, const char *key, const char *value)
{
    if (start(c, kind, slot, "/v3/kv/put", json_body(put_op(key, value, c->lease_id)), false) == 0) {
        if (kind == RK_PUT_CONTROLLER)
            c->ctl_busy = true;
        else
            c->views[slot].busy = true;
    }
}

static void lock_key(const etcd_client *c, const char *cluster, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/lock/%s", c->prefix, cluster);
}

static void journal_key(const etcd_client *c, const char *cluster, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/journal/%s", c->prefix, cluster);
}

static void state_key(const etcd_client *c, const char *cluster, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/state/%s", c->prefix, cluster);
}

static void send_lock_take(etcd_client *c, int slot)
{
    char key[KEY_MAX], kb[KEY_MAX * 2], jkey[KEY_MAX], jb[KEY_MAX * 2], skey[KEY_MAX], sb[KEY_MAX * 2];
    json_t *put, *j;
    lock_key(c, c->locks[slot].cluster, key, sizeof(key));
    journal_key(c, c->locks[slot].cluster, jkey, sizeof(jkey));
    state_key(c, c->locks[slot].cluster, skey, sizeof(skey));
    if (key_b64(key, kb, sizeof(kb)) < 0 || key_b64(jkey, jb, sizeof(jb)) < 0 || key_b64(skey, sb, sizeof(sb)) < 0 ||
        !(put = put_op(key, c->name, c->lease_id)))
        return;
    /* The journal is read in the transaction that takes the lock: what the new holder
     * finds there is what the previous one left, nothing written in between. */
    j = json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:o}, {s:{s:s}}, {s:{s:s}}], s:[{s:{s:s}}]}", "compare", "target",
                  "CREATE", "key", kb, "result", "EQUAL", "create_revision", "0", "success", "request_put", put,
                  "request_range", "key", jb, "request_range", "key", sb, "failure", "request_range", "key", kb);
    if (start(c, RK_LOCK_TAKE, slot, "/v3/kv/txn", json_body(j), false) == 0)
        c->locks[slot].busy = true;
}

static void send_lock_release(etcd_client *c, int slot)
{
    char key[KEY_MAX], kb[KEY_MAX * 2], rev[32];
    json_t *j;
    lock_key(c, c->locks[slot].cluster, key, sizeof(key));
    if (key_b64(key, kb, sizeof(kb)) < 0)
        return;
    snprintf(rev, sizeof(rev), "%" PRId64, c->locks[slot].token);
    /* Delete only our own lock: never one another controller took since. */
    j = json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:{s:s}}]}", "compare", "target", "CREATE", "key", kb, "result",
                  "EQUAL", "create_revision", rev, "success", "request_delete_range", "key", kb);
    start(c, RK_LOCK_RELEASE, slot, "/v3/kv/txn", json_body(j), false);
}

static void send_range(etcd_client *c, enum req_kind kind, const char *sub)
{
    char key[KEY_MAX], end[KEY_MAX], kb[KEY_MAX * 2], eb[KEY_MAX * 2];
    snprintf(key, sizeof(key), "%s/%s/", c->prefix, sub);
    if (etcd_prefix_end(key, end, sizeof(end)) < 0 || key_b64(key, kb, sizeof(kb)) < 0 ||
        key_b64(end, eb, sizeof(eb)) < 0)
        return;
    if (start(c, kind, -1, "/v3/kv/range",
              json_body(json_pack("{s:s, s:s, s:I}", "key", kb, "range_end", eb, "limit", (json_int_t)ETCD_MAX_PEERS)),
              false) == 0)
        c->range_busy[kind - RK_RANGE_CONTROLLERS] = true;
}

/* ---- responses --------------------------------------------------------------------- */

static void lease_lost(etcd_client *c, const char *why)
{
    bool had = c->lease_id != 0;
    c->lease_id = 0;
    c->lease_ok_sent_ms = 0;
    c->ctl_put = false;
    c->next_grant_ms = probe_now_ms();
    for (size_t i = 0; i < c->n_locks; i++) {
        if (c->locks[i].state == L_HELD) {
            c->locks[i].state = L_WANT;
            emit(c, "etcd-lock-lost", c->locks[i].cluster, "lock of cluster %s lost: %s", c->locks[i].cluster, why);
        }
        c->locks[i].token = 0;
    }
    if (had && !c->fenced_reported)
        emit(c, "etcd-lease-lost", NULL, "lease lost: %s", why);
    c->fenced_reported = false;
}

/* Decode a kv's key into out; the caller's prefix is stripped. false: not under it. */
static bool kv_key(const json_t *kv, const char *prefix, char *out, size_t outlen)
{
    char key[KEY_MAX];
    size_t n, pl = strlen(prefix);
    if (etcd_b64_decode(json_string_value(json_object_get(kv, "key")), key, sizeof(key), &n) < 0 ||
        strlen(key) != n || strncmp(key, prefix, pl) != 0 || n - pl >= outlen)
        return false;
    memcpy(out, key + pl, n - pl + 1);
    return true;
}

static char *kv_value(const json_t *kv)
{
    const char *v = json_string_value(json_object_get(kv, "value"));
    size_t cap, n;
    char *out;
    if (!v)
        return strdup("");
    cap = strlen(v) / 4 * 3 + 4;
    out = malloc(cap);
    if (out && (etcd_b64_decode(v, out, cap, &n) < 0 || strlen(out) != n)) {
        free(out);
        return NULL;
    }
    return out;
}

static void on_range_controllers(etcd_client *c, const json_t *resp)
{
    const json_t *kvs = json_object_get(resp, "kvs");
    char prefix[KEY_MAX];
    size_t n = json_array_size(kvs), k = 0;
    etcd_controller *a = calloc(n ? n : 1, sizeof(*a));
    if (!a)
        return;
    snprintf(prefix, sizeof(prefix), "%s/controllers/", c->prefix);
    for (size_t i = 0; i < n; i++) {
        const json_t *kv = json_array_get(kvs, i);
        if (!kv_key(kv, prefix, a[k].name, sizeof(a[k].name)) || strchr(a[k].name, '/'))
            continue;
        a[k].lease = jint(kv, "lease");
        /* Our name under another lease: a second controller configured with this name. */
        if (!strcmp(a[k].name, c->name) && c->ctl_put && c->lease_id && a[k].lease != c->lease_id) {
            if (!c->name_conflict)
                emit(c, "etcd-name-conflict", NULL, "another controller uses the name %s (its key has another "
                     "lease): give each controller its own controller_name", c->name);
            c->name_conflict = true;
            c->ctl_put = false; /* put ours back */
        }
        k++;
    }
    free(c->ctls);
    c->ctls = a;
    c->n_ctls = k;
}

static void free_pviews(etcd_peer_view *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(v[i].view);
    free(v);
}

static void on_range_views(etcd_client *c, const json_t *resp)
{
    const json_t *kvs = json_object_get(resp, "kvs");
    char prefix[KEY_MAX];
    size_t n = json_array_size(kvs), k = 0;
    int64_t now = probe_now_ms();
    etcd_peer_view *a = calloc(n ? n : 1, sizeof(*a));
    if (!a)
        return;
    snprintf(prefix, sizeof(prefix), "%s/views/", c->prefix);
    for (size_t i = 0; i < n; i++) {
        const json_t *kv = json_array_get(kvs, i);
        char rest[ETCD_NAME_MAX + ETCD_CLUSTER_MAX + 2], *slash, *val;
        json_t *view;
        if (!kv_key(kv, prefix, rest, sizeof(rest)) || !(slash = strchr(rest, '/')))
            continue;
        *slash = '\0';
        if (strlen(rest) >= ETCD_NAME_MAX || strlen(slash + 1) >= ETCD_CLUSTER_MAX || !slash[1])
            continue;
        if (!(val = kv_value(kv)))
            continue;
        view = strlen(val) <= ETCD_MAX_VIEW ? json_loads(val, 0, NULL) : NULL;
        free(val);
        if (!json_is_object(view)) {
            json_decref(view);
            continue;
        }
        /* Both lengths were checked above against the fields' sizes. */
        memcpy(a[k].controller, rest, strlen(rest) + 1);
        memcpy(a[k].cluster, slash + 1, strlen(slash + 1) + 1);
        a[k].view = view;
        a[k].mod_revision = jint(kv, "mod_revision");
        a[k].seen_ms = now;
        /* Freshness on our own clock: a revision seen before keeps its first sighting; one the
         * watch brought in after this range was read is newer: kept. */
        for (size_t p = 0; p < c->n_pviews; p++)
            if (!strcmp(c->pviews[p].controller, a[k].controller) && !strcmp(c->pviews[p].cluster, a[k].cluster) &&
                c->pviews[p].mod_revision >= a[k].mod_revision) {
                a[k].seen_ms = c->pviews[p].seen_ms;
                if (c->pviews[p].mod_revision > a[k].mod_revision) {
                    json_decref(a[k].view);
                    a[k].view = json_incref(c->pviews[p].view);
                    a[k].mod_revision = c->pviews[p].mod_revision;
                }
            }
        k++;
    }
    free_pviews(c->pviews, c->n_pviews);
    c->pviews = a;
    c->n_pviews = k;
}

static void on_range_locks(etcd_client *c, const json_t *resp)
{
    const json_t *kvs = json_object_get(resp, "kvs");
    char prefix[KEY_MAX];
    snprintf(prefix, sizeof(prefix), "%s/lock/", c->prefix);
    for (size_t l = 0; l < c->n_locks; l++) {
        lock_slot *ls = &c->locks[l];
        bool found = false;
        for (size_t i = 0; i < json_array_size(kvs); i++) {
            const json_t *kv = json_array_get(kvs, i);
            char cl[ETCD_CLUSTER_MAX], *val;
            if (!kv_key(kv, prefix, cl, sizeof(cl)) || strcmp(cl, ls->cluster))
                continue;
            found = true;
            val = kv_value(kv);
            snprintf(ls->holder, sizeof(ls->holder), "%s", val ? val : "?");
            free(val);
            if (ls->state == L_HELD && !ls->busy && jint(kv, "create_revision") != ls->token) {
                ls->state = L_WANT;
                emit(c, "etcd-lock-lost", ls->cluster, "lock of cluster %s lost: its key was replaced (now held by %s)",
                     ls->cluster, ls->holder);
            }
        }
        if (!found) {
            ls->holder[0] = '\0';
            if (ls->state == L_HELD && !ls->busy) {
                ls->state = L_WANT;
                emit(c, "etcd-lock-lost", ls->cluster, "lock of cluster %s lost: its key was deleted", ls->cluster);
            }
        }
    }
}

static void on_lock_take(etcd_client *c, req *r, const json_t *resp)
{
    lock_slot *ls = &c->locks[r->slot];
    const json_t *kv;
    ls->busy = false;
    if (ls->state == L_FREE && json_is_true(json_object_get(resp, "succeeded"))) {
        /* Released while the take was in flight: give back what we just took. */
        ls->token = jint(json_object_get(resp, "header"), "revision");
        send_lock_release(c, r->slot);
        ls->token = 0;
        return;
    }
    if (ls->state != L_WANT || r->lease != c->lease_id)
        return; /* released or lease changed meanwhile: the next round decides */
    if (json_is_true(json_object_get(resp, "succeeded"))) {
        const json_t *jkv = json_array_get(
            json_object_get(json_object_get(json_array_get(json_object_get(resp, "responses"), 1), "response_range"),
                            "kvs"),
            0);
        const json_t *skv = json_array_get(
            json_object_get(json_object_get(json_array_get(json_object_get(resp, "responses"), 2), "response_range"),
                            "kvs"),
            0);
        ls->state = L_HELD;
        ls->token = jint(json_object_get(resp, "header"), "revision");
        ls->lease = r->lease;
        snprintf(ls->holder, sizeof(ls->holder), "%s", c->name);
        free(ls->journal);
        ls->journal = jkv ? kv_value(jkv) : NULL;
        if (jkv && !ls->journal)
            ls->journal = strdup(""); /* undecodable: the reader reports it */
        ls->journal_ready = true;
        free(ls->shared);
        ls->shared = skv ? kv_value(skv) : NULL;
        if (skv && !ls->shared)
            ls->shared = strdup("");
        ls->shared_ready = true;
        emit(c, "etcd-lock-acquired", ls->cluster, "lock of cluster %s acquired (fencing token %" PRId64 ")",
             ls->cluster, ls->token);
        return;
    }
    kv = json_array_get(json_object_get(json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
                                                        "response_range"), "kvs"), 0);
    if (kv) {
        char *val = kv_value(kv);
        snprintf(ls->holder, sizeof(ls->holder), "%s", val ? val : "?");
        if (jint(kv, "lease") == c->lease_id && val && !strcmp(val, c->name)) {
            /* Ours already (taken before a self-fencing pause the lease survived). */
            ls->state = L_HELD;
            ls->token = jint(kv, "create_revision");
            ls->lease = c->lease_id;
            emit(c, "etcd-lock-acquired", ls->cluster, "lock of cluster %s held again (fencing token %" PRId64 ")",
                 ls->cluster, ls->token);
        }
        free(val);
    }
    ls->next_try_ms = probe_now_ms() + c->refresh_ms;
}

static bool auth_error(const json_t *resp)
{
    const char *e = json_string_value(json_object_get(resp, "error"));
    return jint(resp, "code") == 16 || (e && (strstr(e, "invalid auth token") || strstr(e, "user name is empty")));
}

static void note_failure(etcd_client *c, req *r, const char *what)
{
    c->last_fail_ms = probe_now_ms();
    snprintf(c->last_err, sizeof(c->last_err), "%s", what);
    (void)r;
    /* Another member next time. */
    c->cur_ep = (c->cur_ep + 1) % c->n_endpoints;
}

/* Finished request, phase 1: parse the response; on failure, a description in what
 * (empty on success). A token etcd refused is dropped. Returns the parsed body (or NULL). */
static json_t *response_check(etcd_client *c, req *r, CURLcode cc, char *what, size_t whatlen)
{
    long status = 0;
    json_t *resp = NULL;

    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    what[0] = '\0';
    if (cc != CURLE_OK) {
        if (r->too_big)
            snprintf(what, whatlen, "response larger than %d bytes", ETCD_MAX_RESPONSE);
        else
            snprintf(what, whatlen, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
    } else {
        json_error_t je;
        resp = json_loadb(strbuf_str(&r->resp), r->resp.len, 0, &je);
        if (!json_is_object(resp))
            snprintf(what, whatlen, "HTTP %ld, not a JSON object", status);
        else if (status != 200 || json_object_get(resp, "error")) {
            const char *e = json_string_value(json_object_get(resp, "error"));
            snprintf(what, whatlen, "HTTP %ld: %.200s", status, e ? e : "error");
            if (auth_error(resp) && c->token) {
                wipe_free(c->token);
                c->token = NULL;
            }
        }
    }
    return resp;
}

/* Lease grant answered (failed: the request or etcd failed). */
static void grant_done(etcd_client *c, req *r, const json_t *resp, bool failed, int64_t now)
{
    c->grant_busy = false;
    if (!failed && jint(resp, "ID") != 0) {
        c->lease_id = jint(resp, "ID");
        c->lease_ok_sent_ms = r->sent_ms;
        c->next_ka_ms = now + c->ttl_ms / 3;
        c->ctl_put = false;
        c->fenced_reported = false;
        for (size_t i = 0; i < c->n_views; i++)
            c->views[i].dirty = true;
        emit(c, "etcd-lease-granted", NULL, "lease %" PRIx64 " granted (TTL %" PRId64 " ms)", (uint64_t)c->lease_id,
             c->ttl_ms);
    } else {
        c->next_grant_ms = now + 200;
    }
}

/* Keep-alive answered with a TTL, or failed. */
static void keepalive_done(etcd_client *c, req *r, bool failed, int64_t now)
{
    c->ka_busy = false;
    if (!failed && r->lease == c->lease_id) {
        if (r->sent_ms > c->lease_ok_sent_ms)
            c->lease_ok_sent_ms = r->sent_ms;
        c->next_ka_ms = now + c->ttl_ms / 3;
        if (c->fenced_reported) {
            c->fenced_reported = false;
            emit(c, "etcd-lease-granted", NULL, "lease %" PRIx64 " trusted again: keep-alive succeeded",
                 (uint64_t)c->lease_id);
        }
    } else {
        c->next_ka_ms = now + 100; /* retry at once, on the next member */
    }
}

static int outbox_send(etcd_client *c, size_t slot, int which);

/* A journal / state write ended: a refused compare means the lock is no longer ours; the
 * next waiting record of that key goes out now. */
static void outbox_done(etcd_client *c, req *r, const json_t *resp, bool failed)
{
    lock_slot *ls = &c->locks[r->slot];
    int which = r->kind == RK_STATE_PUT;
    ls->out_busy[which] = false;
    if (failed)
        emit(c, "etcd-unreachable", ls->cluster, "the %s of cluster %s was not written to etcd",
             which ? "shared state" : "journal", ls->cluster);
    else if (!json_is_true(json_object_get(resp, "succeeded")))
        emit(c, "etcd-lock-lost", ls->cluster, "the %s of cluster %s was not written: the lock is no longer ours",
             which ? "shared state" : "journal", ls->cluster);
    if (ls->outbox[which])
        outbox_send(c, (size_t)r->slot, which);
}

/* Finished request, last phase: the per-kind bookkeeping and result handling. */
static void request_apply(etcd_client *c, req *r, json_t *resp, bool failed, int64_t now)
{
    switch (r->kind) {
    case RK_AUTH:
        c->auth_busy = false;
        if (!failed) {
            const char *t = json_string_value(json_object_get(resp, "token"));
            if (t && strlen(t) < 4096) {
                wipe_free(c->token);
                c->token = strdup(t);
            }
        } else {
            c->next_auth_ms = now + 500;
        }
        break;
    case RK_GRANT:
        grant_done(c, r, resp, failed, now);
        break;
    case RK_KEEPALIVE:
        keepalive_done(c, r, failed, now);
        break;
    case RK_PUT_CONTROLLER:
        c->ctl_busy = false;
        if (!failed && r->lease == c->lease_id)
            c->ctl_put = true;
        break;
    case RK_PUT_VIEW:
        c->views[r->slot].busy = false;
        if (!failed && r->lease == c->lease_id)
            c->views[r->slot].last_put_ms = r->sent_ms;
        else
            c->views[r->slot].dirty = true;
        break;
    case RK_LOCK_TAKE:
        if (failed) {
            c->locks[r->slot].busy = false;
            c->locks[r->slot].next_try_ms = now + 200;
        } else {
            on_lock_take(c, r, resp);
        }
        break;
    case RK_LOCK_RELEASE:
    case RK_REVOKE:
    case RK_WATCH:
        break;
    case RK_FWD_PUT:
    case RK_FWD_RANGE_REQUESTS:
    case RK_FWD_RANGE_RESULTS:
    case RK_FWD_TAKE:
    case RK_FWD_REPLY:
    case RK_FWD_DELETE:
        fwd_apply(c, r, resp, failed);
        break;
    case RK_JOURNAL_PUT:
    case RK_STATE_PUT:
        outbox_done(c, r, resp, failed);
        break;
    case RK_RANGE_CONTROLLERS:
    case RK_RANGE_VIEWS:
    case RK_RANGE_LOCKS:
        c->range_busy[r->kind - RK_RANGE_CONTROLLERS] = false;
        if (!failed) {
            if (r->kind == RK_RANGE_CONTROLLERS)
                on_range_controllers(c, resp);
            else if (r->kind == RK_RANGE_VIEWS)
                on_range_views(c, resp);
            else
                on_range_locks(c, resp);
        }
        break;
    }
}

static void request_done(etcd_client *c, req *r, CURLcode cc)
{
    json_t *resp;
    char what[300];
    int64_t now = probe_now_ms();

    if (r->kind == RK_WATCH) { /* a stream that ended: not a failed request */
        watch_done(c, r, cc, now);
        return;
    }
    resp = response_check(c, r, cc, what, sizeof(what));
    /* Keep-alive: a response without a TTL means etcd no longer knows the lease. */
    if (!what[0] && r->kind == RK_KEEPALIVE) {
        const json_t *res = json_object_get(resp, "result");
        if (r->lease == c->lease_id && c->lease_id && jint(res, "TTL") <= 0) {
            c->ka_busy = false;
            c->last_ok_ms = now;
            lease_lost(c, "expired in etcd (keep-alive found no lease)");
            json_decref(resp);
            return;
        }
    }
    if (what[0]) {
        note_failure(c, r, what);
    } else {
        c->last_ok_ms = now;
    }
    request_apply(c, r, resp, what[0] != '\0', now);
    json_decref(resp);
}

static void reap(etcd_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        req *r = NULL, **pp;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode cc = m->data.result;
        curl_multi_remove_handle(c->multi, m->easy_handle);
        for (pp = &c->reqs; *pp; pp = &(*pp)->next)
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        request_done(c, r, cc);
        req_free(r);
    }
}

/* ---- scheduling -------------------------------------------------------------------- */

static void schedule(etcd_client *c, int64_t now)
{
    /* Self-fencing: no keep-alive succeeded for TTL - margin. */
    if (c->lease_id && !coord_lease_safe(c->lease_ok_sent_ms, now, c->ttl_ms) && !c->fenced_reported) {
        c->fenced_reported = true;
        for (size_t i = 0; i < c->n_locks; i++)
            if (c->locks[i].state == L_HELD) {
                c->locks[i].state = L_WANT;
                emit(c, "etcd-lock-lost", c->locks[i].cluster,
                     "lock of cluster %s given up: no keep-alive succeeded for %" PRId64 " ms (self-fencing)",
                     c->locks[i].cluster, now - c->lease_ok_sent_ms);
            }
        emit(c, "etcd-lease-lost", NULL, "lease not trusted: no keep-alive succeeded for %" PRId64 " ms (self-fencing)",
             now - c->lease_ok_sent_ms);
    }
    if (c->user && !c->token) {
        if (!c->auth_busy && now >= c->next_auth_ms)
            send_auth(c);
        return;
    }
    if (!c->lease_id) {
        if (!c->grant_busy && now >= c->next_grant_ms)
            send_grant(c);
    } else if (!c->ka_busy && now >= c->next_ka_ms) {
        send_keepalive(c);
    }
    if (!etcd_lease_ok(c, now))
        return;
    if (!c->ctl_put && !c->ctl_busy) {
        char key[KEY_MAX];
        json_t *v = json_pack("{s:s, s:I}", "name", c->name, "ttl_ms", (json_int_t)c->ttl_ms);
        char *val = v ? json_dumps(v, JSON_COMPACT) : NULL;
        json_decref(v);
        snprintf(key, sizeof(key), "%s/controllers/%s", c->prefix, c->name);
        if (val)
            send_put(c, RK_PUT_CONTROLLER, -1, key, val);
        free(val);
    }
    for (size_t i = 0; i < c->n_views; i++) {
        view_slot *v = &c->views[i];
        if (!v->busy && v->value && (v->dirty || now - v->last_put_ms >= c->refresh_ms)) {
            char key[KEY_MAX];
            snprintf(key, sizeof(key), "%s/views/%s/%s", c->prefix, c->name, v->cluster);
            v->dirty = false;
            send_put(c, RK_PUT_VIEW, (int)i, key, v->value);
        }
    }
    for (size_t i = 0; i < c->n_locks; i++) {
        lock_slot *ls = &c->locks[i];
        if (ls->state == L_WANT && !ls->busy && now >= ls->next_try_ms)
            send_lock_take(c, (int)i);
    }
    if (now >= c->next_range_ms) {
        c->next_range_ms = now + c->refresh_ms;
        c->range_due[0] = c->range_due[1] = true;
        c->range_due[2] = c->n_locks > 0;
    }
    /* Due by the period, a decision waiting (etcd_refresh_soon) or a watch event. */
    if (c->range_due[0] && !c->range_busy[0]) {
        c->range_due[0] = false;
        send_range(c, RK_RANGE_CONTROLLERS, "controllers");
    }
    if (c->range_due[1] && !c->range_busy[1]) {
        c->range_due[1] = false;
        send_range(c, RK_RANGE_VIEWS, "views");
    }
    if (c->range_due[2] && !c->range_busy[2]) {
        c->range_due[2] = false;
        if (c->n_locks)
            send_range(c, RK_RANGE_LOCKS, "lock");
    }
    fwd_schedule(c, now);
}

static void drive(etcd_client *c)
{
    struct epoll_event ev[16];
    int n, running;
    while ((n = epoll_wait(c->epfd, ev, 16, 0)) > 0) {
        for (int i = 0; i < n; i++) {
            int flags = (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR) ? CURL_CSELECT_IN : 0) |
                        (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) | (ev[i].events & EPOLLERR ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(c->multi, ev[i].data.fd, flags, &running);
        }
        if (n < 16)
            break;
    }
    if (c->timer_due_ms >= 0 && probe_now_ms() >= c->timer_due_ms) {
        c->timer_due_ms = -1;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    reap(c);
}

void etcd_run(etcd_client *c, int64_t now_ms)
{
    etcd_health h;
    char why[300];
    if (!c)
        return;
    drive(c);
    schedule(c, now_ms);
    drive(c);
    h = etcd_get_health(c, probe_now_ms(), why, sizeof(why));
    if (h != c->reported && h != ETCD_HEALTH_UNKNOWN) {
        if (h == ETCD_HEALTH_LOST)
            emit(c, "etcd-unreachable", NULL, "%s", why);
        else if (c->reported == ETCD_HEALTH_LOST)
            emit(c, "etcd-reachable", NULL, "etcd answers again");
        c->reported = h;
    }
}

int etcd_fd(const etcd_client *c)
{
    return c ? c->epfd : -1;
}

int etcd_timeout_ms(etcd_client *c, int64_t now_ms)
{
    int64_t due = now_ms + 1000;
    if (!c)
        return -1;
    if (c->timer_due_ms >= 0 && c->timer_due_ms < due)
        due = c->timer_due_ms;
    if (c->lease_id && !c->ka_busy && c->next_ka_ms < due)
        due = c->next_ka_ms;
    if (!c->lease_id && !c->grant_busy && c->next_grant_ms < due)
        due = c->next_grant_ms;
    if (c->next_range_ms < due)
        due = c->next_range_ms;
    if (etcd_lease_ok(c, now_ms))
        due = fwd_due(c, now_ms, due);
    for (size_t i = 0; c->lease_id && i < c->n_locks; i++)
        if (c->locks[i].state == L_WANT && !c->locks[i].busy && c->locks[i].next_try_ms < due)
            due = c->locks[i].next_try_ms;
    if (c->lease_id && !c->fenced_reported) {
        int64_t left = coord_lease_left_ms(c->lease_ok_sent_ms, now_ms, c->ttl_ms);
        if (now_ms + left < due)
            due = now_ms + left;
    }
    return due <= now_ms ? 0 : (int)(due - now_ms);
}

/* ---- state queries ----------------------------------------------------------------- */

bool etcd_lease_ok(const etcd_client *c, int64_t now_ms)
{
    return c && c->lease_id && coord_lease_safe(c->lease_ok_sent_ms, now_ms, c->ttl_ms);
}

int64_t etcd_lease_id(const etcd_client *c)
{
    return c ? c->lease_id : 0;
}

int64_t etcd_lease_age_ms(const etcd_client *c, int64_t now_ms)
{
    return c && c->lease_id && c->lease_ok_sent_ms ? now_ms - c->lease_ok_sent_ms : -1;
}

const char *etcd_health_name(etcd_health h)
{
    return h == ETCD_HEALTH_OK ? "ok" : h == ETCD_HEALTH_LOST ? "lost" : "unknown";
}

etcd_health etcd_get_health(const etcd_client *c, int64_t now_ms, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!c)
        return ETCD_HEALTH_UNKNOWN;
    if (c->last_ok_ms && now_ms - c->last_ok_ms <= c->ttl_ms) {
        if (why)
            snprintf(why, whylen, "last answer %" PRId64 " ms ago", now_ms - c->last_ok_ms);
        return ETCD_HEALTH_OK;
    }
    if (now_ms - c->started_ms <= c->ttl_ms && !c->last_ok_ms) {
        if (why)
            snprintf(why, whylen, "%s", c->last_err[0] ? c->last_err : "no answer yet");
        return ETCD_HEALTH_UNKNOWN;
    }
    if (why)
        snprintf(why, whylen, "no etcd member answered for %" PRId64 " ms (last error: %s)",
                 c->last_ok_ms ? now_ms - c->last_ok_ms : now_ms - c->started_ms,
                 c->last_err[0] ? c->last_err : "none");
    return ETCD_HEALTH_LOST;
}

static bool cluster_ok(const char *cluster)
{
    size_t n = cluster ? strlen(cluster) : 0;
    if (n == 0 || n >= ETCD_CLUSTER_MAX)
        return false;
    for (const char *p = cluster; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

int etcd_publish(etcd_client *c, const char *cluster, const json_t *view, char *err, size_t errlen)
{
    char *text;
    view_slot *v = NULL;
    if (!cluster_ok(cluster) || !json_is_object(view)) {
        snprintf(err, errlen, "etcd_publish: bad cluster name or view");
        return -EINVAL;
    }
    text = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (strlen(text) > ETCD_MAX_VIEW) {
        snprintf(err, errlen, "view of cluster %s is %zu bytes; at most %d are published", cluster, strlen(text),
                 ETCD_MAX_VIEW);
        free(text);
        return -E2BIG;
    }
    for (size_t i = 0; i < c->n_views; i++)
        if (!strcmp(c->views[i].cluster, cluster))
            v = &c->views[i];
    if (!v) {
        view_slot *nv = realloc(c->views, (c->n_views + 1) * sizeof(*nv));
        if (!nv) {
            free(text);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        c->views = nv;
        v = &c->views[c->n_views++];
        memset(v, 0, sizeof(*v));
        snprintf(v->cluster, sizeof(v->cluster), "%s", cluster);
    }
    if (v->value && !strcmp(v->value, text)) {
        free(text);
        return 0;
    }
    free(v->value);
    v->value = text;
    v->dirty = true;
    return 0;
}

static lock_slot *find_lock(const etcd_client *c, const char *cluster)
{
    for (size_t i = 0; i < c->n_locks; i++)
        if (!strcmp(c->locks[i].cluster, cluster))
            return (lock_slot *)&c->locks[i];
    return NULL;
}

int etcd_lock_want(etcd_client *c, const char *cluster, char *err, size_t errlen)
{
    lock_slot *ls;
    if (!cluster_ok(cluster)) {
        snprintf(err, errlen, "bad cluster name for a lock");
        return -EINVAL;
    }
    ls = find_lock(c, cluster);
    if (!ls) {
        if (c->n_locks >= ETCD_MAX_LOCKS) {
            snprintf(err, errlen, "at most %d cluster locks", ETCD_MAX_LOCKS);
            return -ENOSPC;
        }
        ls = &c->locks[c->n_locks++];
        memset(ls, 0, sizeof(*ls));
        snprintf(ls->cluster, sizeof(ls->cluster), "%s", cluster);
    }
    if (ls->state == L_FREE) {
        ls->state = L_WANT;
        ls->next_try_ms = 0;
    }
    return 0;
}

int etcd_lock_release(etcd_client *c, const char *cluster)
{
    lock_slot *ls = find_lock(c, cluster);
    if (!ls || ls->state == L_FREE)
        return 0;
    if (ls->state == L_HELD) {
        send_lock_release(c, (int)(ls - c->locks));
        emit(c, "etcd-lock-released", ls->cluster, "lock of cluster %s released", ls->cluster);
    }
    ls->state = L_FREE;
    ls->token = 0;
    return 0;
}

bool etcd_lock_held(const etcd_client *c, const char *cluster, int64_t now_ms, int64_t *token)
{
    const lock_slot *ls = c ? find_lock(c, cluster) : NULL;
    bool held = ls && ls->state == L_HELD && ls->lease == c->lease_id && etcd_lease_ok(c, now_ms);
    if (token)
        *token = held ? ls->token : 0;
    return held;
}

const char *etcd_lock_holder(const etcd_client *c, const char *cluster)
{
    const lock_slot *ls = c ? find_lock(c, cluster) : NULL;
    return ls ? ls->holder : "";
}

void etcd_refresh_soon(etcd_client *c, int64_t now_ms, int64_t ms)
{
    if (c && now_ms + ms < c->next_range_ms)
        c->next_range_ms = now_ms + ms;
}

size_t etcd_controllers(const etcd_client *c, const etcd_controller **out)
{
    *out = c->ctls;
    return c->n_ctls;
}

size_t etcd_views(const etcd_client *c, const etcd_peer_view **out)
{
    *out = c->pviews;
    return c->n_pviews;
}

size_t etcd_coord_views(const etcd_client *c, const char *cluster, int64_t now_ms, coord_view *out, size_t max)
{
    size_t n = 0;
    bool self_listed = false;
    for (size_t i = 0; i < c->n_ctls && n < max; i++) {
        coord_view *v = &out[n++];
        memset(v, 0, sizeof(*v));
        v->name = c->ctls[i].name;
        v->lease_alive = true;
        self_listed = self_listed || !strcmp(c->ctls[i].name, c->name);
        for (size_t k = 0; k < c->n_pviews; k++) {
            const etcd_peer_view *p = &c->pviews[k];
            if (strcmp(p->controller, v->name) || strcmp(p->cluster, cluster))
                continue;
            v->has_view = true;
            v->age_ms = now_ms - p->seen_ms;
            v->primary_reachable = json_is_true(json_object_get(p->view, "primary_reachable"));
            v->replicas_seen = (size_t)json_integer_value(json_object_get(p->view, "replicas_seen"));
            v->replicas_confirming = (size_t)json_integer_value(json_object_get(p->view, "replicas_confirming"));
        }
    }
    /* This controller's own view is its current one, not what etcd last showed. */
    for (size_t i = 0; i < n; i++)
        if (!strcmp(out[i].name, c->name)) {
            out[i].lease_alive = etcd_lease_ok(c, now_ms);
            for (size_t k = 0; k < c->n_views; k++)
                if (!strcmp(c->views[k].cluster, cluster) && c->views[k].value) {
                    json_t *j = json_loads(c->views[k].value, 0, NULL);
                    out[i].has_view = true;
                    out[i].age_ms = 0;
                    out[i].primary_reachable = json_is_true(json_object_get(j, "primary_reachable"));
                    out[i].replicas_seen = (size_t)json_integer_value(json_object_get(j, "replicas_seen"));
                    out[i].replicas_confirming = (size_t)json_integer_value(json_object_get(j, "replicas_confirming"));
                    json_decref(j);
                }
        }
    if (!self_listed && n < max) {
        coord_view *v = &out[n++];
        memset(v, 0, sizeof(*v));
        v->name = c->name;
        v->lease_alive = false; /* not yet seen in etcd: it does not act */
    }
    return n;
}

/* ---- the watch and forwarding (issue 14: views seen at once, any controller answers) ---- */

/* A watch event's key: which range to read again (the watch only says "something changed"). */
static void watch_key(etcd_client *c, const char *key)
{
    char p[KEY_MAX];
    size_t pl;
    snprintf(p, sizeof(p), "%s/", c->prefix);
    pl = strlen(p);
    if (strncmp(key, p, pl))
        return;
    key += pl;
    if (!strncmp(key, "controllers/", 12))
        c->range_due[0] = true;
    else if (!strncmp(key, "views/", 6)) {
        size_t nl = strlen(c->name);
        /* our own re-puts need no read */
        if (strncmp(key + 6, c->name, nl) || key[6 + nl] != '/')
            c->range_due[1] = true;
    } else if (!strncmp(key, "lock/", 5))
        c->range_due[2] = true;
    else if (!strncmp(key, "requests/", 9))
        c->fwd_requests_due = true;
    else if (!strncmp(key, "results/", 8))
        c->fwd_results_due = true;
}

/* A watch event on a peer's view: applied at once (no range read in between). true: done. */
static bool watch_view(etcd_client *c, const json_t *ev)
{
    const json_t *kv = json_object_get(ev, "kv");
    const char *type = json_string_value(json_object_get(ev, "type"));
    char prefix[KEY_MAX], rest[ETCD_NAME_MAX + ETCD_CLUSTER_MAX + 2], *slash, *val;
    int64_t rev = jint(kv, "mod_revision");
    json_t *view = NULL;
    etcd_peer_view *p = NULL;
    snprintf(prefix, sizeof(prefix), "%s/views/", c->prefix);
    if (!kv_key(kv, prefix, rest, sizeof(rest)) || !(slash = strchr(rest, '/')))
        return false;
    *slash = '\0';
    if (strlen(rest) >= ETCD_NAME_MAX || strlen(slash + 1) >= ETCD_CLUSTER_MAX || !slash[1])
        return false;
    for (size_t i = 0; i < c->n_pviews && !p; i++)
        if (!strcmp(c->pviews[i].controller, rest) && !strcmp(c->pviews[i].cluster, slash + 1))
            p = &c->pviews[i];
    if (type && !strcmp(type, "DELETE")) {
        if (p && p->mod_revision < rev) { /* the event's kv carries the deletion's revision */
            json_decref(p->view);
            memmove(p, p + 1, (size_t)(c->pviews + c->n_pviews - p - 1) * sizeof(*p));
            c->n_pviews--;
        }
        return true;
    }
    if (p && p->mod_revision >= rev)
        return true; /* not newer than what we have */
    if (!(val = kv_value(kv)))
        return false;
    view = strlen(val) <= ETCD_MAX_VIEW ? json_loads(val, 0, NULL) : NULL;
    free(val);
    if (!json_is_object(view)) {
        json_decref(view);
        return false;
    }
    if (!p) {
        etcd_peer_view *a = realloc(c->pviews, (c->n_pviews + 1) * sizeof(*a));
        if (!a) {
            json_decref(view);
            return false;
        }
        c->pviews = a;
        p = &c->pviews[c->n_pviews++];
        memset(p, 0, sizeof(*p));
        memcpy(p->controller, rest, strlen(rest) + 1);
        memcpy(p->cluster, slash + 1, strlen(slash + 1) + 1);
    }
    json_decref(p->view);
    p->view = view;
    p->mod_revision = rev;
    p->seen_ms = probe_now_ms();
    return true;
}

static void watch_line(etcd_client *c, const char *line, size_t n)
{
    json_t *j = json_loadb(line, n, 0, NULL), *res = json_object_get(j, "result"), *evs;
    size_t i;
    json_t *ev;
    if (json_is_true(json_object_get(res, "created")))
        c->watch_created = true;
    evs = json_object_get(res, "events");
    json_array_foreach(evs, i, ev) {
        char key[KEY_MAX];
        size_t kn;
        if (etcd_b64_decode(json_string_value(json_object_get(json_object_get(ev, "kv"), "key")), key, sizeof(key),
                            &kn) == 0 &&
            strlen(key) == kn && !watch_view(c, ev))
            watch_key(c, key);
    }
    json_decref(j);
}

/* The watch's stream: one JSON message a line, handled as it comes. */
static size_t watch_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    req *r = userdata;
    size_t n = size * nmemb;
    char *nl;
    if (r->resp.len + n > ETCD_MAX_RESPONSE || strbuf_putn(&r->resp, ptr, n) < 0) {
        r->too_big = true;
        return 0;
    }
    while (r->resp.len && (nl = memchr(r->resp.s, '\n', r->resp.len))) {
        size_t ln = (size_t)(nl - r->resp.s);
        watch_line(r->c, r->resp.s, ln);
        memmove(r->resp.s, nl + 1, r->resp.len - ln - 1);
        r->resp.len -= ln + 1;
        r->resp.s[r->resp.len] = '\0';
    }
    return n;
}

#define WATCH_RESTART_MS 60000

static void send_watch(etcd_client *c)
{
    char key[KEY_MAX], end[KEY_MAX], kb[KEY_MAX * 2], eb[KEY_MAX * 2];
    snprintf(key, sizeof(key), "%s/", c->prefix);
    if (etcd_prefix_end(key, end, sizeof(end)) < 0 || key_b64(key, kb, sizeof(kb)) < 0 ||
        key_b64(end, eb, sizeof(eb)) < 0)
        return;
    /* A stream: restarted now and then (a member that stopped answering is left that way). */
    if (start_ex(c, RK_WATCH, -1, "/v3/watch",
                 json_body(json_pack("{s:{s:s, s:s}}", "create_request", "key", kb, "range_end", eb)), false,
                 watch_write_cb, WATCH_RESTART_MS) < 0)
        return;
    c->watch_busy = true;
    c->watch_created = false;
}

static void watch_done(etcd_client *c, req *r, CURLcode cc, int64_t now)
{
    bool clean = cc == CURLE_OPERATION_TIMEDOUT && now - r->sent_ms >= WATCH_RESTART_MS - 1000;
    c->watch_busy = false;
    c->watch_created = false;
    /* Read everything once: events between the streams are not lost. */
    c->range_due[0] = c->range_due[1] = c->range_due[2] = true;
    c->fwd_requests_due = c->fwd_results_due = true;
    c->next_watch_ms = now + (clean ? 0 : 500);
    if (!clean)
        c->cur_ep = (c->cur_ep + 1) % c->n_endpoints;
}

bool etcd_watching(const etcd_client *c)
{
    return c && c->watch_created;
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == '/' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static fwd_out *find_out(etcd_client *c, const char *id)
{
    for (size_t i = 0; i < ETCD_FWD_MAX; i++)
        if (c->outs[i].state != FO_FREE && !strcmp(c->outs[i].id, id))
            return &c->outs[i];
    return NULL;
}

int etcd_fwd_send(etcd_client *c, const char *cluster, const char *body, char *id_out, size_t idlen, char *err,
                  size_t errlen)
{
    char key[KEY_MAX];
    fwd_out *o = NULL;
    if (!cluster_ok(cluster) || !body || strlen(body) > ETCD_FWD_MAX_BODY) {
        snprintf(err, errlen, "request too large or bad cluster name: not forwarded");
        return -EINVAL;
    }
    if (!etcd_lease_ok(c, probe_now_ms())) {
        snprintf(err, errlen, "no trusted etcd lease: cannot forward");
        return -EAGAIN;
    }
    for (size_t i = 0; i < ETCD_FWD_MAX && !o; i++)
        if (c->outs[i].state == FO_FREE)
            o = &c->outs[i];
    if (!o) {
        snprintf(err, errlen, "%d forwarded requests wait already: try again later", ETCD_FWD_MAX);
        return -EBUSY;
    }
    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%" PRIx64 "-%" PRId64, (uint64_t)c->lease_id, ++c->fwd_seq);
    snprintf(o->cluster, sizeof(o->cluster), "%s", cluster);
    if (snprintf(key, sizeof(key), "%s/requests/%s/%s/%s", c->prefix, cluster, c->name, o->id) >= (int)sizeof(key)) {
        snprintf(err, errlen, "request key too long");
        return -ENAMETOOLONG;
    }
    if (start(c, RK_FWD_PUT, (int)(o - c->outs), "/v3/kv/put", json_body(put_op(key, body, c->lease_id)), false) <
        0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    o->state = FO_SENDING;
    snprintf(id_out, idlen, "%s", o->id);
    return 0;
}

static void send_delete(etcd_client *c, const char *key)
{
    char kb[KEY_MAX * 2];
    if (key_b64(key, kb, sizeof(kb)) == 0)
        start(c, RK_FWD_DELETE, -1, "/v3/kv/deleterange", json_body(json_pack("{s:s}", "key", kb)), false);
}

int etcd_fwd_poll(etcd_client *c, const char *id, bool *accepted, char **result, char *err, size_t errlen)
{
    fwd_out *o = find_out(c, id);
    *result = NULL;
    *accepted = false;
    if (!o) {
        snprintf(err, errlen, "no such forwarded request");
        return -ENOENT;
    }
    *accepted = o->accepted;
    if (o->state == FO_FAILED) {
        snprintf(err, errlen, "%s", o->err);
        o->state = FO_FREE;
        return -EIO;
    }
    if (o->state != FO_DONE)
        return 0;
    *result = o->result;
    o->result = NULL;
    o->state = FO_FREE;
    return 1;
}

void etcd_fwd_cancel(etcd_client *c, const char *id)
{
    fwd_out *o = find_out(c, id);
    char key[KEY_MAX];
    if (!o)
        return;
    if (o->state == FO_SENT || o->state == FO_SENDING) {
        /* Withdrawn unless already taken (the holder's take compares the key's revision). */
        snprintf(key, sizeof(key), "%s/requests/%s/%s/%s", c->prefix, o->cluster, c->name, o->id);
        send_delete(c, key);
        snprintf(key, sizeof(key), "%s/results/%s/%s", c->prefix, c->name, o->id);
        send_delete(c, key);
    }
    free(o->result);
    memset(o, 0, sizeof(*o));
}

int etcd_fwd_next(etcd_client *c, etcd_fwd_in *in)
{
    etcd_fwd_in *first = NULL;
    /* in the order they were written */
    for (size_t i = 0; i < ETCD_FWD_MAX; i++)
        if (c->ins[i].state == 2 && (!first || c->ins[i].mod_revision < first->mod_revision))
            first = &c->ins[i];
    if (!first)
        return 0;
    *in = *first;
    memset(first, 0, sizeof(*first));
    return 1;
}

int etcd_fwd_reply(etcd_client *c, const char *from, const char *id, const char *result, char *err, size_t errlen)
{
    char key[KEY_MAX];
    if (!name_ok(from, ETCD_NAME_MAX) || !name_ok(id, ETCD_FWD_ID_MAX) || strlen(result) > ETCD_FWD_MAX_BODY ||
        snprintf(key, sizeof(key), "%s/results/%s/%s", c->prefix, from, id) >= (int)sizeof(key)) {
        snprintf(err, errlen, "answer too large or bad names: not sent");
        return -EINVAL;
    }
    if (start(c, RK_FWD_REPLY, -1, "/v3/kv/put", json_body(put_op(key, result, c->lease_id)), false) < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* The holder read the requests: take those of the clusters it holds (once each). */
static void on_fwd_requests(etcd_client *c, const json_t *resp)
{
    const json_t *kvs = json_object_get(resp, "kvs");
    char prefix[KEY_MAX];
    int64_t now = probe_now_ms();
    snprintf(prefix, sizeof(prefix), "%s/requests/", c->prefix);
    for (size_t i = 0; i < json_array_size(kvs); i++) {
        const json_t *kv = json_array_get(kvs, i);
        char rest[KEY_MAX], *from, *id, kb[KEY_MAX * 2], key[KEY_MAX], rkey[KEY_MAX], rev[32];
        json_t *acc;
        etcd_fwd_in *in = NULL;
        bool dup = false;
        json_t *j;
        if (!kv_key(kv, prefix, rest, sizeof(rest)) || !(from = strchr(rest, '/')))
            continue;
        *from++ = '\0';
        if (!(id = strchr(from, '/')))
            continue;
        *id++ = '\0';
        if (!cluster_ok(rest) || !name_ok(from, ETCD_NAME_MAX) || !name_ok(id, ETCD_FWD_ID_MAX) ||
            !etcd_lock_held(c, rest, now, NULL))
            continue;
        for (size_t k = 0; k < ETCD_FWD_MAX; k++) {
            dup |= c->ins[k].state && !strcmp(c->ins[k].from, from) && !strcmp(c->ins[k].id, id);
            if (!c->ins[k].state && !in)
                in = &c->ins[k];
        }
        if (dup || !in)
            continue;
        memset(in, 0, sizeof(*in));
        memcpy(in->cluster, rest, strlen(rest) + 1);
        memcpy(in->from, from, strlen(from) + 1);
        memcpy(in->id, id, strlen(id) + 1);
        in->mod_revision = jint(kv, "mod_revision");
        in->body = kv_value(kv);
        if (!in->body || strlen(in->body) > ETCD_FWD_MAX_BODY) {
            free(in->body);
            continue;
        }
        snprintf(key, sizeof(key), "%s/requests/%s/%s/%s", c->prefix, in->cluster, in->from, in->id);
        snprintf(rev, sizeof(rev), "%" PRId64, in->mod_revision);
        snprintf(rkey, sizeof(rkey), "%s/results/%s/%s", c->prefix, in->from, in->id);
        if (key_b64(key, kb, sizeof(kb)) < 0 || !(acc = put_op(rkey, "{\"accepted\":true}", c->lease_id))) {
            free(in->body);
            continue;
        }
        /* Taken by deleting it unchanged: one controller runs it, once. "accepted" is written in
         * the same transaction, so it can never land after (and hide) the answer. */
        j = json_pack("{s:[{s:s, s:s, s:s, s:s}], s:[{s:{s:s}}, {s:o}]}", "compare", "target", "MOD", "key", kb,
                      "result", "EQUAL", "mod_revision", rev, "success", "request_delete_range", "key", kb,
                      "request_put", acc);
        if (start(c, RK_FWD_TAKE, (int)(in - c->ins), "/v3/kv/txn", json_body(j), false) < 0) {
            free(in->body);
            memset(in, 0, sizeof(*in));
            continue;
        }
        in->state = 1; /* taking */
    }
}

static void on_fwd_take(etcd_client *c, req *r, const json_t *resp, bool failed)
{
    etcd_fwd_in *in;
    if (r->slot < 0 || r->slot >= ETCD_FWD_MAX || c->ins[r->slot].state != 1)
        return;
    in = &c->ins[r->slot];
    if (!failed && json_is_true(json_object_get(resp, "succeeded"))) {
        in->state = 2; /* for etcd_fwd_next */
        return;
    }
    free(in->body);
    memset(in, 0, sizeof(*in)); /* withdrawn, or taken by another holder */
}

/* The requester read its answers. */
static void on_fwd_results(etcd_client *c, const json_t *resp)
{
    const json_t *kvs = json_object_get(resp, "kvs");
    char prefix[KEY_MAX];
    snprintf(prefix, sizeof(prefix), "%s/results/%s/", c->prefix, c->name);
    for (size_t i = 0; i < json_array_size(kvs); i++) {
        const json_t *kv = json_array_get(kvs, i);
        char id[ETCD_FWD_ID_MAX], key[KEY_MAX], *val;
        fwd_out *o;
        json_t *j;
        if (!kv_key(kv, prefix, id, sizeof(id)) || !(o = find_out(c, id)) ||
            (o->state != FO_SENT && o->state != FO_SENDING))
            continue;
        val = kv_value(kv);
        j = val && strlen(val) <= ETCD_FWD_MAX_BODY ? json_loads(val, 0, NULL) : NULL;
        if (json_is_object(j) && json_is_true(json_object_get(j, "accepted")) && !json_object_get(j, "ok")) {
            o->accepted = true;
        } else if (json_is_object(j)) {
            o->state = FO_DONE;
            o->result = val;
            val = NULL;
            snprintf(key, sizeof(key), "%s/results/%s/%s", c->prefix, c->name, id);
            send_delete(c, key);
        }
        json_decref(j);
        free(val);
    }
}

static bool fwd_pending(const etcd_client *c)
{
    for (size_t i = 0; i < ETCD_FWD_MAX; i++)
        if (c->outs[i].state == FO_SENT || c->outs[i].state == FO_SENDING)
            return true;
    return false;
}

static bool holds_any(const etcd_client *c, int64_t now)
{
    for (size_t i = 0; i < c->n_locks; i++)
        if (etcd_lock_held(c, c->locks[i].cluster, now, NULL))
            return true;
    return false;
}

static void send_fwd_range(etcd_client *c, enum req_kind kind, const char *sub)
{
    char key[KEY_MAX], end[KEY_MAX], kb[KEY_MAX * 2], eb[KEY_MAX * 2];
    snprintf(key, sizeof(key), "%s/%s", c->prefix, sub);
    if (etcd_prefix_end(key, end, sizeof(end)) < 0 || key_b64(key, kb, sizeof(kb)) < 0 ||
        key_b64(end, eb, sizeof(eb)) < 0)
        return;
    if (start(c, kind, -1, "/v3/kv/range",
              json_body(json_pack("{s:s, s:s, s:I}", "key", kb, "range_end", eb, "limit", (json_int_t)ETCD_FWD_MAX * 4)),
              false) == 0) {
        if (kind == RK_FWD_RANGE_REQUESTS)
            c->fwd_req_busy = true;
        else
            c->fwd_res_busy = true;
    }
}

#define FWD_RESULTS_POLL_MS 250

static void fwd_schedule(etcd_client *c, int64_t now)
{
    if (!c->watch_busy && now >= c->next_watch_ms)
        send_watch(c);
    if (!c->fwd_req_busy && holds_any(c, now) && (c->fwd_requests_due || now >= c->next_fwd_requests_ms)) {
        c->fwd_requests_due = false;
        c->next_fwd_requests_ms = now + c->refresh_ms;
        send_fwd_range(c, RK_FWD_RANGE_REQUESTS, "requests/");
    }
    if (!c->fwd_res_busy && fwd_pending(c) && (c->fwd_results_due || now >= c->next_fwd_results_ms)) {
        char sub[KEY_MAX];
        c->fwd_results_due = false;
        c->next_fwd_results_ms = now + FWD_RESULTS_POLL_MS;
        snprintf(sub, sizeof(sub), "results/%s/", c->name);
        send_fwd_range(c, RK_FWD_RANGE_RESULTS, sub);
    }
}

static int64_t fwd_due(const etcd_client *c, int64_t now, int64_t due)
{
    if (!c->watch_busy && c->next_watch_ms < due)
        due = c->next_watch_ms;
    if (!c->fwd_req_busy && holds_any(c, now) && (c->fwd_requests_due || c->next_fwd_requests_ms < due))
        due = c->fwd_requests_due ? now : c->next_fwd_requests_ms;
    if (!c->fwd_res_busy && fwd_pending(c) && (c->fwd_results_due || c->next_fwd_results_ms < due))
        due = c->fwd_results_due ? now : c->next_fwd_results_ms;
    for (int k = 0; k < 3; k++)
        if (c->range_due[k] && !c->range_busy[k])
            due = now;
    return due;
}

static void fwd_apply(etcd_client *c, req *r, json_t *resp, bool failed)
{
    switch (r->kind) {
    case RK_FWD_PUT:
        if (r->slot >= 0 && r->slot < ETCD_FWD_MAX && c->outs[r->slot].state == FO_SENDING) {
            fwd_out *o = &c->outs[r->slot];
            if (failed) {
                o->state = FO_FAILED;
                snprintf(o->err, sizeof(o->err), "the request could not be written to etcd: %.100s", c->last_err);
            } else {
                o->state = FO_SENT;
                c->fwd_results_due = true;
            }
        }
        break;
    case RK_FWD_RANGE_REQUESTS:
        c->fwd_req_busy = false;
        if (!failed)
            on_fwd_requests(c, resp);
        break;
    case RK_FWD_RANGE_RESULTS:
        c->fwd_res_busy = false;
        if (!failed)
            on_fwd_results(c, resp);
        break;
    case RK_FWD_TAKE:
        on_fwd_take(c, r, resp, failed);
        break;
    default:
        break;
    }
}

/* ---- fencing ----------------------------------------------------------------------- */

struct etcd_fence {
    char *endpoints[MAX_ENDPOINTS];
    size_t n_endpoints, first;
    char *cacert, *cert, *key, *token;
    /* etcd authentication: a simple token expires (etcd --auth-token-ttl, 300 s by default,
     * counted on each member from the token's last use there) while the client's own
     * requests get a new one; the fence then authenticates once by itself (fence_auth).
     * Both wiped on free; neither ever goes into an error text. */
    char *user, *password;
    char lock_key[KEY_MAX];
    int64_t rev, lease, trusted_until_ms, timeout_ms, auth_timeout_ms;
};

static char *dup_or_null(const char *s, bool *oom)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

int etcd_fence_take(const etcd_client *c, const char *cluster, int64_t now_ms, etcd_fence **out, char *err,
                    size_t errlen)
{
    etcd_fence *f;
    int64_t token;
    bool oom = false;
    *out = NULL;
    if (!etcd_lock_held(c, cluster, now_ms, &token)) {
        snprintf(err, errlen, "this controller does not hold the lock of cluster %s", cluster);
        return -EPERM;
    }
    f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->n_endpoints; i++)
        f->endpoints[f->n_endpoints++] = dup_or_null(c->endpoints[i], &oom);
    f->first = c->cur_ep;
    f->cacert = dup_or_null(c->cacert, &oom);
    f->cert = dup_or_null(c->cert, &oom);
    f->key = dup_or_null(c->key, &oom);
    f->token = dup_or_null(c->token, &oom);
    f->user = dup_or_null(c->user, &oom);
    f->password = dup_or_null(c->password, &oom);
    lock_key(c, cluster, f->lock_key, sizeof(f->lock_key));
    f->rev = token;
    f->lease = c->lease_id;
    f->trusted_until_ms = now_ms + coord_lease_left_ms(c->lease_ok_sent_ms, now_ms, c->ttl_ms);
    f->timeout_ms = c->timeout_ms;
    /* as the client's own authentication (start_ex): bcrypt is slow on a loaded host */
    f->auth_timeout_ms = auth_timeout_of(c->timeout_ms);
    if (oom) {
        etcd_fence_free(f);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *out = f;
    return 0;
}

void etcd_fence_free(etcd_fence *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_endpoints; i++)
        free(f->endpoints[i]);
    free(f->cacert);
    free(f->cert);
    free(f->key);
    wipe_free(f->token);
    free(f->user);
    wipe_free(f->password);
    free(f);
}

int64_t etcd_fence_token(const etcd_fence *f)
{
    return f ? f->rev : 0;
}

/* One blocking POST of the fence (no token for the authentication itself): 0 with *resp
 * (etcd's JSON object, possibly an error answer) and *status, or -EIO with err. */
static int fence_post(const etcd_fence *f, const char *ep, const char *path, const char *body, bool secret_body,
                      int64_t timeout_ms, json_t **resp, long *status, char *err, size_t errlen)
{
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    req r;
    CURL *e;
    CURLcode cc;
    *resp = NULL;
    *status = 0;
    memset(&r, 0, sizeof(r));
    strbuf_init(&r.resp);
    e = easy_new(ep, path, body, secret_body ? NULL : f->token, timeout_ms, f->cacert, f->cert, f->key, &hdrs,
                 errbuf);
    if (!e) {
        strbuf_free(&r.resp);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
    cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(e);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", ep, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        if (r.resp.s)
            explicit_bzero(r.resp.s, r.resp.len);
        strbuf_free(&r.resp);
        return -EIO;
    }
    *resp = json_loadb(strbuf_str(&r.resp), r.resp.len, 0, NULL);
    if (r.resp.s)
        explicit_bzero(r.resp.s, r.resp.len); /* an authentication answer holds the token */
    strbuf_free(&r.resp);
    return 0;
}

/* The fence's token was refused (expired or unknown on that member): authenticate once
 * against ep within timeout_ms and keep the new token. 0, or negative with err (which
 * names neither the password nor a token). */
static int fence_auth(etcd_fence *f, const char *ep, int64_t timeout_ms, char *err, size_t errlen)
{
    json_t *resp = NULL;
    char *body = auth_body(f->user, f->password);
    const char *t;
    long status = 0;
    int rc;
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = fence_post(f, ep, "/v3/auth/authenticate", body, true, timeout_ms, &resp, &status, err, errlen);
    wipe_free(body);
    if (rc < 0)
        return rc;
    t = json_string_value(json_object_get(resp, "token"));
    if (status != 200 || !t || !*t || strlen(t) >= 4096) {
        const char *e2 = json_string_value(json_object_get(resp, "error"));
        snprintf(err, errlen, "%s: the fencing check's token was refused and authenticating again failed: HTTP %ld: "
                 "%.200s", ep, status, e2 ? e2 : "no token in the answer");
        json_decref(resp);
        return -EACCES;
    }
    wipe_free(f->token);
    f->token = strdup(t);
    json_decref(resp);
    if (!f->token) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

int etcd_fence_check(etcd_fence *f, int64_t now_ms, bool remote_only, const char *put_key, const char *put_value,
                     char *err, size_t errlen)
{
    bool reauthed = false;
    char kb[KEY_MAX * 2], rev[32], lease[32];
    json_t *j, *success;
    char *body = NULL;
    int rc = -EIO;

    if (!remote_only && now_ms >= __atomic_load_n(&f->trusted_until_ms, __ATOMIC_ACQUIRE)) {
        snprintf(err, errlen, "the lease is no longer trusted (no keep-alive in time): not crossing");
        return -EPERM;
    }
    if (key_b64(f->lock_key, kb, sizeof(kb)) < 0) {
        snprintf(err, errlen, "lock key too long");
        return -EINVAL;
    }
    snprintf(rev, sizeof(rev), "%" PRId64, f->rev);
    snprintf(lease, sizeof(lease), "%" PRId64, f->lease);
    success = json_array();
    if (put_key) {
        json_t *op = put_op(put_key, put_value ? put_value : "", 0);
        if (!op || json_array_append_new(success, json_pack("{s:o}", "request_put", op)) < 0) {
            json_decref(success);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    j = json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}], s:o, s:[{s:{s:s}}]}", "compare", "target",
                  "CREATE", "key", kb, "result", "EQUAL", "create_revision", rev, "target", "LEASE", "key", kb,
                  "result", "EQUAL", "lease", lease, "success", success, "failure", "request_range", "key", kb);
    body = json_body(j);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(err, errlen, "no etcd member answered");
    for (size_t k = 0; k < f->n_endpoints; k++) {
        const char *ep = f->endpoints[(f->first + k) % f->n_endpoints];
        long status = 0;
        json_t *resp;
        int pr = fence_post(f, ep, "/v3/kv/txn", body, false, f->timeout_ms, &resp, &status, err, errlen);
        if (pr == -ENOMEM) {
            rc = pr;
            break;
        }
        if (pr < 0)
            continue;
        if (status != 200 || !json_is_object(resp) || json_object_get(resp, "error")) {
            const char *e2 = json_string_value(json_object_get(resp, "error"));
            bool refused_token = json_is_object(resp) && auth_error(resp) && f->user && f->password;
            snprintf(err, errlen, "%s: HTTP %ld: %.200s", ep, status, e2 ? e2 : "no JSON answer");
            json_decref(resp);
            if (refused_token && !reauthed) {
                /* The token expired (or this member does not know it): authenticate once and ask
                 * the same member again, within the local lease deadline (remote_only: past it,
                 * the authentication's own bound; etcd's compare decides). */
                int64_t left = __atomic_load_n(&f->trusted_until_ms, __ATOMIC_ACQUIRE) - probe_now_ms();
                int ar;
                reauthed = true;
                if (left <= 0 && !remote_only) {
                    snprintf(err, errlen, "the lease is no longer trusted (no keep-alive in time): not crossing");
                    rc = -EPERM;
                    break;
                }
                if (left <= 0 || left > f->auth_timeout_ms)
                    left = f->auth_timeout_ms;
                ar = fence_auth(f, ep, left, err, errlen);
                if (ar == -ENOMEM) {
                    rc = ar;
                    break;
                }
                if (ar == 0) {
                    if (!remote_only && probe_now_ms() >= __atomic_load_n(&f->trusted_until_ms, __ATOMIC_ACQUIRE)) {
                        snprintf(err, errlen, "the lease is no longer trusted (no keep-alive in time): not crossing");
                        rc = -EPERM;
                        break;
                    }
                    k--; /* the same member, with the new token */
                }
            }
            continue;
        }
        if (json_is_true(json_object_get(resp, "succeeded"))) {
            rc = 0;
            err[0] = '\0';
        } else {
            const json_t *kv = json_array_get(
                json_object_get(json_object_get(json_array_get(json_object_get(resp, "responses"), 0), "response_range"),
                                "kvs"),
                0);
            char *holder = kv ? kv_value(kv) : NULL;
            rc = -EPERM;
            if (kv)
                snprintf(err, errlen, "fencing token %" PRId64 " is stale: the lock is now held by %.64s (token %" PRId64
                         ")", f->rev, holder ? holder : "?", jint(kv, "create_revision"));
            else
                snprintf(err, errlen, "fencing token %" PRId64 " is stale: nobody holds the lock", f->rev);
            free(holder);
        }
        json_decref(resp);
        break;
    }
    free(body);
    return rc;
}

/* ---- life cycle -------------------------------------------------------------------- */

static int copy_opt(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

int etcd_new(const etcd_options *opt, etcd_client **out, char *err, size_t errlen)
{
    etcd_client *c;
    char *eps = NULL, *save = NULL;
    int rc = -ENOMEM;
    static bool curl_ready;

    *out = NULL;
    if (!opt || !opt->endpoints || !opt->prefix || !opt->name || opt->lease_ttl_ms < 1000 ||
        strlen(opt->name) >= ETCD_NAME_MAX || !opt->name[0] || strlen(opt->prefix) >= 200 || !opt->user != !opt->password) {
        snprintf(err, errlen, "etcd: incomplete options (endpoints, prefix, name, lease TTL >= 1000 ms)");
        return -EINVAL;
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
            snprintf(err, errlen, "etcd: libcurl initialisation failed");
            return -EIO;
        }
        curl_ready = true;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->epfd = -1;
    snprintf(c->prefix, sizeof(c->prefix), "%s", opt->prefix);
    snprintf(c->name, sizeof(c->name), "%s", opt->name);
    c->ttl_ms = opt->lease_ttl_ms;
    c->timeout_ms = opt->request_timeout_ms > 0 ? opt->request_timeout_ms : c->ttl_ms / 5;
    if (opt->request_timeout_ms <= 0)
        c->timeout_ms = c->timeout_ms < 200 ? 200 : c->timeout_ms > 2000 ? 2000 : c->timeout_ms;
    c->refresh_ms = opt->refresh_ms > 0 ? opt->refresh_ms : c->ttl_ms / 4;
    c->on_event = opt->on_event;
    c->user_data = opt->user_data;
    c->timer_due_ms = -1;
    c->started_ms = probe_now_ms();
    if (copy_opt(&c->cacert, opt->cacert) || copy_opt(&c->cert, opt->cert) || copy_opt(&c->key, opt->key) ||
        copy_opt(&c->user, opt->user) || copy_opt(&c->password, opt->password) || !(eps = strdup(opt->endpoints))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (char *t = strtok_r(eps, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (c->n_endpoints >= MAX_ENDPOINTS) {
            snprintf(err, errlen, "etcd: more than %d endpoints", MAX_ENDPOINTS);
            rc = -EINVAL;
            goto fail;
        }
        if (strlen(t) > 300 || !(c->endpoints[c->n_endpoints++] = strdup(t))) {
            snprintf(err, errlen, "etcd: bad endpoint");
            rc = -EINVAL;
            goto fail;
        }
    }
    if (!c->n_endpoints) {
        snprintf(err, errlen, "etcd: no endpoint");
        rc = -EINVAL;
        goto fail;
    }
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->multi = curl_multi_init();
    if (c->epfd < 0 || !c->multi) {
        snprintf(err, errlen, "etcd: cannot create the event set: %s", strerror(errno));
        rc = -EIO;
        goto fail;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    free(eps);
    *out = c;
    return 0;
fail:
    free(eps);
    etcd_free(c);
    return rc;
}

void etcd_free(etcd_client *c)
{
    if (!c)
        return;
    /* Best effort, bounded: release our locks and revoke the lease so that another
     * controller need not wait for the TTL. */
    /* The watch is a stream: it never ends by itself. */
    for (req **pp = &c->reqs; *pp;) {
        req *r = *pp;
        if (r->kind == RK_WATCH) {
            *pp = r->next;
            curl_multi_remove_handle(c->multi, r->easy);
            req_free(r);
        } else {
            pp = &r->next;
        }
    }
    if (c->multi && c->lease_id && (!c->user || c->token)) {
        char id[32];
        int64_t until = probe_now_ms() + c->timeout_ms;
        for (size_t i = 0; i < c->n_locks; i++)
            if (c->locks[i].state == L_HELD)
                etcd_lock_release(c, c->locks[i].cluster);
        snprintf(id, sizeof(id), "%" PRId64, c->lease_id);
        start(c, RK_REVOKE, -1, "/v3/lease/revoke", json_body(json_pack("{s:s}", "ID", id)), false);
        drive(c);
        while (c->reqs && probe_now_ms() < until) {
            struct epoll_event ev;
            int64_t wait = c->timer_due_ms >= 0 ? c->timer_due_ms - probe_now_ms() : 50;
            epoll_wait(c->epfd, &ev, 1, wait < 0 ? 0 : wait > 50 ? 50 : (int)wait);
            drive(c);
        }
    }
    while (c->reqs) {
        req *r = c->reqs;
        c->reqs = r->next;
        curl_multi_remove_handle(c->multi, r->easy);
        req_free(r);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->epfd >= 0)
        close(c->epfd);
    for (size_t i = 0; i < c->n_endpoints; i++)
        free(c->endpoints[i]);
    for (size_t i = 0; i < c->n_views; i++)
        free(c->views[i].value);
    for (size_t i = 0; i < c->n_locks; i++) {
        free(c->locks[i].journal);
        free(c->locks[i].shared);
        free(c->locks[i].outbox[0]);
        free(c->locks[i].outbox[1]);
    }
    free(c->views);
    for (size_t i = 0; i < ETCD_FWD_MAX; i++) {
        free(c->outs[i].result);
        free(c->ins[i].body);
    }
    free(c->ctls);
    free_pviews(c->pviews, c->n_pviews);
    free(c->cacert);
    free(c->cert);
    free(c->key);
    free(c->user);
    wipe_free(c->password);
    wipe_free(c->token);
    free(c);
}

/* ---- the shared recovery journal (issue 14) -------------------------------------------- */

int etcd_journal_key(const etcd_client *c, const char *cluster, char *out, size_t outlen)
{
    if (!cluster_ok(cluster) || snprintf(out, outlen, "%s/journal/%s", c->prefix, cluster) >= (int)outlen)
        return -ENAMETOOLONG;
    return 0;
}

int etcd_lock_journal(etcd_client *c, const char *cluster, char **json)
{
    lock_slot *ls = find_lock(c, cluster);
    *json = NULL;
    if (!ls || !ls->journal_ready)
        return 0;
    ls->journal_ready = false;
    *json = ls->journal;
    ls->journal = NULL;
    return 1;
}

bool etcd_lock_journal_waiting(const etcd_client *c, const char *cluster)
{
    const lock_slot *ls = find_lock(c, cluster);
    return ls && (ls->journal_ready || ls->shared_ready);
}

/* Send the waiting record of key `which` (0 journal, 1 state) under the lock's compare. */
static int outbox_send(etcd_client *c, size_t slot, int which)
{
    lock_slot *ls = &c->locks[slot];
    char key[KEY_MAX], rkey[KEY_MAX], kb[KEY_MAX * 2], rev[32], lease[32];
    char *json = ls->outbox[which];
    json_t *put, *j;
    int rc;
    ls->outbox[which] = NULL;
    if (!json)
        return 0;
    if (ls->state != L_HELD || ls->lease != c->lease_id) {
        free(json); /* no longer ours: the next holder writes its own */
        return -EPERM;
    }
    lock_key(c, ls->cluster, key, sizeof(key));
    if (which)
        state_key(c, ls->cluster, rkey, sizeof(rkey));
    else
        journal_key(c, ls->cluster, rkey, sizeof(rkey));
    put = key_b64(key, kb, sizeof(kb)) < 0 ? NULL : put_op(rkey, json, 0);
    free(json);
    if (!put)
        return -ENOMEM;
    snprintf(rev, sizeof(rev), "%" PRId64, ls->token);
    snprintf(lease, sizeof(lease), "%" PRId64, ls->lease);
    /* Written under the same compare as the fencing check: by the lock holder only. */
    j = json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}], s:[{s:o}]}", "compare", "target", "CREATE", "key",
                  kb, "result", "EQUAL", "create_revision", rev, "target", "LEASE", "key", kb, "result", "EQUAL",
                  "lease", lease, "success", "request_put", put);
    rc = start(c, which ? RK_STATE_PUT : RK_JOURNAL_PUT, (int)slot, "/v3/kv/txn", json_body(j), false);
    if (rc == 0)
        ls->out_busy[which] = true;
    return rc;
}

static int cluster_put(etcd_client *c, const char *cluster, int which, const char *json, int64_t now_ms, char *err,
                       size_t errlen)
{
    lock_slot *ls = find_lock(c, cluster);
    char *copy;
    if (strlen(json) > ETCD_MAX_JOURNAL) {
        snprintf(err, errlen, "record of %zu bytes, more than %d", strlen(json), ETCD_MAX_JOURNAL);
        return -E2BIG;
    }
    if (!ls || !etcd_lock_held(c, cluster, now_ms, NULL)) {
        snprintf(err, errlen, "this controller does not hold the lock of cluster %s", cluster);
        return -EPERM;
    }
    if (!(copy = strdup(json))) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    free(ls->outbox[which]);
    ls->outbox[which] = copy;
    if (!ls->out_busy[which] && outbox_send(c, (size_t)(ls - c->locks), which) < 0) {
        snprintf(err, errlen, "the write to etcd could not be started");
        return -EIO;
    }
    return 0;
}

int etcd_journal_put(etcd_client *c, const char *cluster, const char *json, int64_t now_ms, char *err, size_t errlen)
{
    return cluster_put(c, cluster, 0, json, now_ms, err, errlen);
}

int etcd_state_put(etcd_client *c, const char *cluster, const char *json, int64_t now_ms, char *err, size_t errlen)
{
    return cluster_put(c, cluster, 1, json, now_ms, err, errlen);
}

int etcd_lock_state(etcd_client *c, const char *cluster, char **json)
{
    lock_slot *ls = find_lock(c, cluster);
    *json = NULL;
    if (!ls || !ls->shared_ready)
        return 0;
    ls->shared_ready = false;
    *json = ls->shared;
    ls->shared = NULL;
    return 1;
}

void etcd_fence_renew(etcd_fence *f, const etcd_client *c, const char *cluster, int64_t now_ms)
{
    int64_t token, until = 0;
    if (!f)
        return;
    if (etcd_lock_held(c, cluster, now_ms, &token) && token == f->rev && c->lease_id == f->lease)
        until = now_ms + coord_lease_left_ms(c->lease_ok_sent_ms, now_ms, c->ttl_ms);
    __atomic_store_n(&f->trusted_until_ms, until, __ATOMIC_RELEASE);
}

bool etcd_fence_trusted(const etcd_fence *f, int64_t now_ms)
{
    return f && now_ms < __atomic_load_n(&f->trusted_until_ms, __ATOMIC_ACQUIRE);
}
