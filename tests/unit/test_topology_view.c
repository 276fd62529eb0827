/* tests/unit/test_topology_view.c — the text topology view (topology/cluster.c, topo_render_text). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/cluster.h"

static topo_instance *add(topo_cluster *c, const char *addr)
{
    topo_addr a;
    char err[128];
    topo_instance *in;
    assert_int_equal(topo_addr_parse(addr, 3306, &a, err, sizeof(err)), 0);
    in = topo_cluster_add(c, &a, false, 0);
    assert_non_null(in);
    in->have_snap = true;
    in->probed = true;
    in->reachable = true;
    in->snap.ok = true;
    in->snap.flavor = TOPO_FLAVOR_MARIADB;
    snprintf(in->snap.version, sizeof(in->snap.version), "10.11.6-MariaDB");
    in->snap.server_id = 1;
    in->snap.log_bin = true;
    assert_int_equal(topo_strset(&in->snap.gtid_binlog_pos, "0-1-13"), 0);
    return in;
}

static char *render(const topo_cluster *c, int64_t now_s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_t *j = topo_cluster_to_json(c, now_s);
    assert_non_null(f);
    topo_render_text(j, f, false);
    assert_int_equal(fclose(f), 0);
    json_decref(j);
    return buf;
}

/* A down server shows when its last snapshot was taken, never an empty "[last seen:]". */
static void test_down_server_last_seen(void **state)
{
    topo_cluster c;
    topo_instance *in;
    char *out;
    (void)state;
    topo_cluster_init(&c, "t");
    in = add(&c, "127.0.0.1:1");
    in->reachable = false;
    in->err_code = 2003;
    snprintf(in->err, sizeof(in->err), "Connection refused");
    in->last_ok_s = 1000;
    in->down_since_s = 1002;
    topo_cluster_derive(&c);
    out = render(&c, 1007);
    assert_null(strstr(out, "[last seen:]"));
    assert_non_null(strstr(out, "127.0.0.1:1  primary  DOWN 5s  Connection refused  last seen 7s ago as:  rw  mariadb "
                                "10.11.6-MariaDB  id=1  gtid=0-1-13\n"));
    free(out);
    /* Known only from the state database (never reached since the controller started). */
    in->last_ok_s = 0;
    out = render(&c, 1007);
    assert_non_null(strstr(out, "  last seen (before the controller started) as:  rw"));
    free(out);
    /* A reachable server has no "last seen" at all. */
    in->reachable = true;
    in->down_since_s = 0;
    out = render(&c, 1007);
    assert_null(strstr(out, "last seen"));
    free(out);
    topo_cluster_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_server_last_seen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
