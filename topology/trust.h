/*
 * topology/trust.h — which discovered servers may receive the cluster's
 * credentials.
 *
 * A server that only appears in another server's replica list (SHOW SLAVE
 * HOSTS / SHOW REPLICAS) proved nothing: any account with REPLICATION SLAVE
 * can register a "replica" with any report_host/report_port
 * (COM_REGISTER_SLAVE). Connecting there with the monitoring account would
 * hand its password (or a challenge response) to whoever listens.
 *
 * Owns: the discover_allow rules (CIDRs and host patterns), the confirmation
 * rule for replica-list entries, and the verdict with its reason. Pure: no
 * I/O, no name resolution; the caller passes the addresses it resolved.
 *
 * The rule (trust_decide):
 *   - seeds and the sources a trusted replica reports (Master_Host, set by an
 *     administrator with REPLICATION SLAVE ADMIN / SUPER) are trusted by the
 *     caller without asking here;
 *   - a replica-list entry must be allowed: its host is one of the seeds'
 *     hosts (same name or a shared address) or matches a discover_allow rule;
 *   - and, unless confirmation is off, confirmed: the listing server shows at
 *     least as many Binlog Dump connections from that address as it lists
 *     registrations there (a registration without a replication stream, e.g.
 *     a forged one next to real replicas on the same host, fails this).
 */
#ifndef MYORCH_TOPOLOGY_TRUST_H
#define MYORCH_TOPOLOGY_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "topology/instance.h"

#define TRUST_MAX_IPS 4       /* addresses kept per resolved host */
#define TRUST_IP_MAX 46       /* INET6_ADDRSTRLEN */

typedef enum {
    TRUST_RULE_PATTERN = 0,   /* host name glob (fnmatch, case-insensitive): db*.example.com, * */
    TRUST_RULE_CIDR4,         /* 10.0.0.0/8, 192.0.2.7 */
    TRUST_RULE_CIDR6,         /* fd00::/8, ::1 */
} trust_rule_kind;

typedef struct {
    trust_rule_kind kind;
    char pattern[TOPO_HOST_MAX];
    unsigned char net[16];
    int bits;
} trust_rule;

typedef struct {
    trust_rule *v;
    size_t n;
} trust_list;

/* A host as named, with the numeric addresses it resolved to (may be none). */
typedef struct {
    char host[TOPO_HOST_MAX];
    char ips[TRUST_MAX_IPS][TRUST_IP_MAX];
    size_t n_ips;
} trust_endpoint;

typedef struct {
    trust_list allow;         /* discover_allow (the seeds' hosts are allowed besides) */
    bool confirm;             /* discover_confirm: require a Binlog Dump connection (default on) */
} trust_policy;

/*
 * Add the comma-separated items of text to l: "10.0.0.0/8", "192.0.2.7",
 * "fd00::/8", "db*.example.com", "*". Returns 0, -EINVAL with a message naming
 * the bad item, or -ENOMEM. On error l keeps the items added before.
 */
int trust_list_add(trust_list *l, const char *text, char *err, size_t errlen);
void trust_list_free(trust_list *l);
/* Deep copy; 0 or -ENOMEM. */
int trust_list_copy(trust_list *dst, const trust_list *src);

/* True when a rule matches the host name or one of its addresses. */
bool trust_list_match(const trust_list *l, const trust_endpoint *e);

/* Same server host: equal names (case-insensitive) or a shared address. */
bool trust_same_host(const trust_endpoint *a, const trust_endpoint *b);

/* True when text is a numeric IPv4 or IPv6 address. */
bool trust_is_numeric(const char *text);

/*
 * Verdict for a replica-list entry cand, listed by a server that lists the
 * entries listed[0..n_listed) (cand among them) and shows Binlog Dump
 * connections from dumps[0..n_dumps) (have_dumps false: the listing server's
 * processlist was not read). seeds: the seeds' hosts. Returns true when cand
 * may be probed; otherwise reason says why not and what to do.
 */
bool trust_decide(const trust_policy *p, const trust_endpoint *cand, const trust_endpoint *seeds,
                  size_t n_seeds, const trust_endpoint *listed, size_t n_listed, bool have_dumps,
                  const trust_endpoint *dumps, size_t n_dumps, const char *via, char *reason,
                  size_t reason_len);

#endif
