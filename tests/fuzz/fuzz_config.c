/*
 * tests/fuzz/fuzz_config.c — fuzz target for the configuration loader
 * (orchestrator/config.c: cfg_load on a file holding the input).
 *
 * The input is written to a private temporary file (mode 0600, with a 0600
 * password file "pw" beside it) and loaded. Invariants (abort() on failure):
 * the result is 0 or a negative errno; a failure leaves one message naming the
 * file and an empty configuration; a success has at least one cluster, each
 * with seeds, a user, both passwords and sane ranges; cfg_free() leaves it
 * zeroed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/config.h"

#define FZ_CHECK(cond)                                                                            \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_config: invariant failed: %s (line %d)\n", #cond, __LINE__);   \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *const *fuzz_driver_seeds(size_t *n);

static const char *const seeds[] = {
    "[myorch]\nstate_dir = /var/lib/myorch\n\n[cluster.main]\nseeds = db1:3306, db2\nuser = myorch\n"
    "password_file = pw\n",
    "[cluster.a]\nseeds = [::1]:3306\nuser = u\npassword_file = pw\ndiscover_allow = 10.0.0.0/8, db*.x\n"
    "discover_confirm = no\nnever_promote = db1\nprefer = db2:3307\n",
    "[myorch]\npoll_interval_ms = 500\nmax_instances_per_cluster = 10\nevents_keep_days = 1\n"
    "allow_core_dumps = no\n[cluster.b]\nseeds = h\nuser = u\npassword = inline secret\n"
    "replication_user = r\nreplication_password_file = pw\n",
    "[cluster.c]\nseeds = h:1\nuser = u\npassword_file = pw\npost_failover = /bin/true 'a b' \"c\\\"d\"\n"
    "lag_query = SELECT 1\nsla_target = 99.9\n",
    "; comment\n# comment\n[cluster \"x\"]\nseeds=h\n  user = u\n",
};

const char *const *fuzz_driver_seeds(size_t *n)
{
    *n = sizeof seeds / sizeof seeds[0];
    return seeds;
}

static char dir[64], ini[96];

static void setup(void)
{
    char pw[96];
    FILE *f;
    snprintf(dir, sizeof(dir), "/tmp/fuzz_config.XXXXXX");
    FZ_CHECK(mkdtemp(dir) != NULL);
    snprintf(ini, sizeof(ini), "%s/myorch.ini", dir);
    snprintf(pw, sizeof(pw), "%s/pw", dir);
    f = fopen(pw, "w");
    FZ_CHECK(f != NULL);
    fputs("s3cret\n", f);
    fclose(f);
    chmod(pw, 0600);
}

static void cleanup(void)
{
    char p[96];
    snprintf(p, sizeof(p), "%s/pw", dir);
    unlink(p);
    unlink(ini);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    cfg_config c;
    char err[8192];
    FILE *f;
    int rc;

    if (!ready) {
        setup();
        atexit(cleanup);
        ready = true;
    }
    f = fopen(ini, "w");
    FZ_CHECK(f != NULL);
    FZ_CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
    chmod(ini, 0600);

    err[0] = '\0';
    rc = cfg_load(ini, &c, err, sizeof(err));
    FZ_CHECK(rc <= 0);
    if (rc < 0) {
        FZ_CHECK(err[0] != '\0');
        FZ_CHECK(strstr(err, "myorch.ini") != NULL);
        FZ_CHECK(c.n_clusters == 0 && c.clusters == NULL);
        FZ_CHECK(strstr(err, "s3cret") == NULL);
    } else {
        FZ_CHECK(c.n_clusters >= 1);
        FZ_CHECK(c.poll_interval_ms >= 50 && c.max_instances_per_cluster >= 1);
        for (size_t i = 0; i < c.n_clusters; i++) {
            const cfg_cluster *cl = &c.clusters[i];
            FZ_CHECK(cl->n_seeds >= 1 && cl->user[0] && cl->password && cl->replication_password);
            FZ_CHECK(cl->poll_interval_ms >= 50);
            for (size_t s = 0; s < cl->n_seeds; s++)
                FZ_CHECK(cl->seeds[s].host[0] && cl->seeds[s].port > 0 && cl->seeds[s].port <= 65535);
        }
    }
    cfg_free(&c);
    FZ_CHECK(c.n_clusters == 0 && c.clusters == NULL);
    return rc == 0 ? 0 : -1;
}
