/* topology/trust.c — discover_allow rules and the replica-list trust verdict. */
#include "topology/trust.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool trust_is_numeric(const char *text)
{
    unsigned char buf[16];
    return text && (inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1);
}

static int parse_rule(const char *item, trust_rule *r, char *err, size_t errlen)
{
    char addr[TOPO_HOST_MAX];
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    int max_bits;

    memset(r, 0, sizeof(*r));
    if (!*item) {
        snprintf(err, errlen, "empty item");
        return -EINVAL;
    }
    if (alen >= sizeof(addr)) {
        snprintf(err, errlen, "'%.60s...' is too long (at most %d bytes)", item, TOPO_HOST_MAX - 1);
        return -EINVAL;
    }
    memcpy(addr, item, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, r->net) == 1) {
        r->kind = TRUST_RULE_CIDR4;
        max_bits = 32;
    } else if (inet_pton(AF_INET6, addr, r->net) == 1) {
        r->kind = TRUST_RULE_CIDR6;
        max_bits = 128;
    } else {
        if (slash) {
            snprintf(err, errlen, "'%s': a /prefix needs a numeric address, e.g. 10.0.0.0/8 or fd00::/8", item);
            return -EINVAL;
        }
        for (const char *c = item; *c; c++)
            if (!(isalnum((unsigned char)*c) || strchr(".-_*?[]!", *c))) {
                snprintf(err, errlen, "'%s': expected a CIDR (10.0.0.0/8), an address or a host name pattern "
                         "(db*.example.com)", item);
                return -EINVAL;
            }
        r->kind = TRUST_RULE_PATTERN;
        memcpy(r->pattern, item, strlen(item) + 1);
        return 0;
    }
    r->bits = max_bits;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!isdigit((unsigned char)slash[1]) || *end || b < 0 || b > max_bits) {
            snprintf(err, errlen, "'%s': the prefix length must be 0 to %d", item, max_bits);
            return -EINVAL;
        }
        r->bits = (int)b;
    }
    /* Host bits set below the prefix are almost always a typo (10.1.2.3/8). */
    for (int bit = r->bits; bit < max_bits; bit++)
        if (r->net[bit / 8] & (0x80 >> (bit % 8))) {
            snprintf(err, errlen, "'%s': address bits set beyond the /%d prefix", item, r->bits);
            return -EINVAL;
        }
    snprintf(r->pattern, sizeof(r->pattern), "%s", item);
    return 0;
}

int trust_list_add(trust_list *l, const char *text, char *err, size_t errlen)
{
    const char *p = text;
    while (p && *p) {
        char item[TOPO_HOST_MAX + 8];
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        trust_rule r, *v;
        int rc;
        while (n && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n >= sizeof(item)) {
            snprintf(err, errlen, "'%.60s...' is too long (at most %d bytes)", p, TOPO_HOST_MAX - 1);
            return -EINVAL;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if ((rc = parse_rule(item, &r, err, errlen)) < 0)
            return rc;
        v = realloc(l->v, (l->n + 1) * sizeof(*v));
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        l->v = v;
        l->v[l->n++] = r;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

void trust_list_free(trust_list *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int trust_list_copy(trust_list *dst, const trust_list *src)
{
    dst->v = NULL;
    dst->n = 0;
    if (!src->n)
        return 0;
    dst->v = malloc(src->n * sizeof(*dst->v));
    if (!dst->v)
        return -ENOMEM;
    memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
    dst->n = src->n;
    return 0;
}

static bool cidr_match(const trust_rule *r, const char *ip)
{
    unsigned char a[16];
    int fam = r->kind == TRUST_RULE_CIDR4 ? AF_INET : AF_INET6;
    if (inet_pton(fam, ip, a) != 1)
        return false;
    for (int bit = 0; bit < r->bits; bit++) {
        unsigned char m = (unsigned char)(0x80 >> (bit % 8));
        if ((a[bit / 8] & m) != (r->net[bit / 8] & m))
            return false;
    }
    return true;
}

bool trust_list_match(const trust_list *l, const trust_endpoint *e)
{
    for (size_t k = 0; k < l->n; k++) {
        const trust_rule *r = &l->v[k];
        if (r->kind == TRUST_RULE_PATTERN) {
            if (fnmatch(r->pattern, e->host, FNM_CASEFOLD) == 0)
                return true;
            continue;
        }
        if (cidr_match(r, e->host))
            return true;
        for (size_t i = 0; i < e->n_ips; i++)
            if (cidr_match(r, e->ips[i]))
                return true;
    }
    return false;
}

bool trust_same_host(const trust_endpoint *a, const trust_endpoint *b)
{
    if (a->host[0] && strcasecmp(a->host, b->host) == 0)
        return true;
    for (size_t i = 0; i < a->n_ips; i++)
        for (size_t k = 0; k < b->n_ips; k++)
            if (strcmp(a->ips[i], b->ips[k]) == 0)
                return true;
    return false;
}

bool trust_decide(const trust_policy *p, const trust_endpoint *cand, const trust_endpoint *seeds,
                  size_t n_seeds, const trust_endpoint *listed, size_t n_listed, bool have_dumps,
                  const trust_endpoint *dumps, size_t n_dumps, const char *via, char *reason,
                  size_t reason_len)
{
    bool allowed = false;
    size_t k = 0, d = 0;

    for (size_t i = 0; i < n_seeds && !allowed; i++)
        allowed = trust_same_host(cand, &seeds[i]);
    if (!allowed)
        allowed = trust_list_match(&p->allow, cand);
    if (!allowed) {
        snprintf(reason, reason_len,
                 "only listed as a replica by %s, and %s is neither a seed's host nor in discover_allow: "
                 "add it to discover_allow (or to seeds) if it is yours", via, cand->host);
        return false;
    }
    if (!p->confirm)
        return true;
    if (!have_dumps) {
        snprintf(reason, reason_len,
                 "cannot confirm it replicates: the processlist of %s was not read", via);
        return false;
    }
    for (size_t i = 0; i < n_listed; i++)
        k += trust_same_host(cand, &listed[i]);
    for (size_t i = 0; i < n_dumps; i++)
        d += trust_same_host(cand, &dumps[i]);
    if (k == 0)
        k = 1; /* cand itself, when the caller did not include it */
    if (d >= k)
        return true;
    snprintf(reason, reason_len,
             "not confirmed: %s lists %zu replica registration(s) at %s but shows %zu Binlog Dump "
             "connection(s) from there (a registration without replication; the monitoring user needs "
             "PROCESS to see them; discover_confirm = no skips this check)",
             via, k, cand->host, d);
    return false;
}
