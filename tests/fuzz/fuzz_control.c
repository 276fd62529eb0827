/*
 * tests/fuzz/fuzz_control.c — fuzz target for control-request parsing
 * (orchestrator/serve/control.c ctl_parse_request, the first thing the daemon does
 * with bytes from its control socket), and for the address arguments the
 * commands take (topo_addr_parse on "to", "replica", "below", "instance").
 *
 * Invariants (abort() on failure): the result is 0 or -EINVAL with a message;
 * on success the body is an object whose "cmd" is 1..CTL_CMD_MAX printable
 * characters, and it survives json_dumps → ctl_parse_request unchanged;
 * addresses parse or fail with a message, and a parsed one prints and parses
 * back to the same address.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/serve/control.h"
#include "topology/instance.h"

#define FZ_CHECK(cond)                                                                            \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_control: invariant failed: %s (line %d)\n", #cond, __LINE__);  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_driver_seeds(size_t *n);

static const char *const seeds[] = {
    "{\"cmd\":\"status\"}",
    "{\"cmd\":\"topology\",\"cluster\":\"main\"}",
    "{\"cmd\":\"switchover\",\"cluster\":\"main\",\"to\":\"db2:3306\",\"dry_run\":true,\"timeout_ms\":5000}",
    "{\"cmd\":\"relocate\",\"replica\":\"[::1]:3307\",\"below\":\"db1\"}",
    "{\"cmd\":\"recoveries\",\"id\":18446744073709551616,\"cluster\":null}",
    "{\"cmd\":\"maintenance\",\"action\":\"begin\",\"instance\":\"h:1\",\"reason\":\"x\\u0000y\",\"duration_s\":-1}",
    "[\"cmd\"]",
    "{\"cmd\":\"a\",\"cmd\":\"b\"}",
};

const char *const *fuzz_driver_seeds(size_t *n)
{
    *n = sizeof seeds / sizeof seeds[0];
    return seeds;
}

static void check_addr(const json_t *v)
{
    topo_addr a, b;
    char err[256] = "", txt[TOPO_ADDR_MAX];
    if (!json_is_string(v))
        return;
    if (topo_addr_parse(json_string_value(v), 3306, &a, err, sizeof(err)) < 0) {
        FZ_CHECK(err[0] != '\0');
        return;
    }
    FZ_CHECK(a.host[0] && a.port > 0 && a.port <= 65535);
    topo_addr_str(&a, txt, sizeof(txt));
    FZ_CHECK(topo_addr_parse(txt, 3306, &b, err, sizeof(err)) == 0);
    FZ_CHECK(topo_addr_eq(&a, &b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = NULL, *again = NULL;
    char err[256] = "", *txt;
    int rc = ctl_parse_request(data, size, &body, err, sizeof(err));
    FZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc < 0) {
        FZ_CHECK(body == NULL && err[0] != '\0');
        return -1;
    }
    {
        const char *cmd = json_string_value(json_object_get(body, "cmd"));
        size_t n = json_string_length(json_object_get(body, "cmd"));
        FZ_CHECK(cmd && n >= 1 && n <= CTL_CMD_MAX && strlen(cmd) == n);
    }
    check_addr(json_object_get(body, "to"));
    check_addr(json_object_get(body, "replica"));
    check_addr(json_object_get(body, "below"));
    check_addr(json_object_get(body, "instance"));
    txt = json_dumps(body, JSON_COMPACT);
    FZ_CHECK(txt != NULL);
    FZ_CHECK(ctl_parse_request(txt, strlen(txt), &again, err, sizeof(err)) == 0);
    FZ_CHECK(json_equal(body, again));
    free(txt);
    json_decref(again);
    json_decref(body);
    return 0;
}
