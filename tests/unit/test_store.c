/*
 * tests/unit/test_store.c — state database schema versions (orchestrator/store.h):
 * databases written by earlier releases (tests/fixtures/state/, built from the schema
 * files next to them) are migrated in place and keep their rows; a fresh database gets
 * the current version; one from a newer myorch is refused, untouched, with a message
 * naming the file and both versions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "orchestrator/store.h"
#include "topology/cluster.h"

typedef struct {
    char dir[64];
    char db[128];
} tmp_state;

static void make_state(tmp_state *t, const char *fixture)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/myorch-store-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->db, sizeof(t->db), "%s/state.db", t->dir);
    if (fixture) {
        FILE *in = fopen(fixture, "rb"), *out = fopen(t->db, "wb");
        char buf[8192];
        size_t n;
        assert_non_null(in);
        assert_non_null(out);
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
        assert_int_equal(fclose(out), 0);
    }
}

static void drop_state(tmp_state *t)
{
    char p[160];
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", t->db, sfx[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(t->dir), 0);
}

static long long scalar(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void set_version(const char *db_path, int v)
{
    sqlite3 *db = NULL;
    char sql[64];
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_fresh(void **state)
{
    tmp_state t;
    store *s = NULL;
    char err[512] = "";
    int v = -1;
    (void)state;
    make_state(&t, NULL);
    assert_int_equal(store_open(t.dir, &s, err, sizeof(err)), 0);
    assert_int_equal(store_migrated_from(s), -1);
    store_close(s);
    assert_int_equal(store_schema_version(t.db, &v, err, sizeof(err)), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    /* Opening it again changes nothing. */
    assert_int_equal(store_open(t.dir, &s, err, sizeof(err)), 0);
    assert_int_equal(store_migrated_from(s), -1);
    store_close(s);
    drop_state(&t);
}

/* The release of 52c2c8f (fence marks, no discovery trust, no schema version). */
static void test_migrate_52c2c8f(void **state)
{
    tmp_state t;
    store *s = NULL;
    char err[512] = "";
    int v = -1;
    (void)state;
    make_state(&t, "fixtures/state/state-52c2c8f.db");
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM pragma_table_info('instances') WHERE name='trusted_by'"), 0);
    assert_int_equal(store_open(t.dir, &s, err, sizeof(err)), 0);
    assert_int_equal(store_migrated_from(s), 0);
    /* The migrated database takes the current writes. */
    assert_int_equal(store_add_event(s, 1700000002000, "state-test", "info", "main", NULL, "after", NULL), 0);
    {
        int64_t id = 0;
        store_recovery r = {.cluster = "main", .kind = "failover", .trigger = "auto", .started_ms = 1700000003000};
        assert_int_equal(store_recovery_begin(s, &r, &id, err, sizeof(err)), 0);
        assert_true(id > 1);
    }
    store_close(s);
    assert_int_equal(store_schema_version(t.db, &v, err, sizeof(err)), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM pragma_table_info('instances') WHERE name='trusted_by'"), 1);
    /* Rows of the old release are kept. */
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM instances WHERE cluster='main'"), 2);
    assert_int_equal(scalar(t.db, "SELECT fenced FROM instances WHERE port=3307"), 1);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM events"), 2);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM recoveries WHERE state='done'"), 1);
    drop_state(&t);
}

/* The first schema (no fence marks, no recovery tables). */
static void test_migrate_first(void **state)
{
    tmp_state t;
    store *s = NULL;
    char err[512] = "";
    (void)state;
    make_state(&t, "fixtures/state/state-403eae3.db");
    assert_int_equal(store_open(t.dir, &s, err, sizeof(err)), 0);
    assert_int_equal(store_migrated_from(s), 0);
    store_close(s);
    assert_int_equal(scalar(t.db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM pragma_table_info('instances') WHERE name IN "
                                  "('fenced','fence_gtid','trusted_by')"), 3);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM sqlite_master WHERE name IN ('recoveries','maintenance',"
                                  "'availability')"), 3);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM instances"), 1);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM events"), 1);
    drop_state(&t);
}

/* Version 1 stamped: only the later migrations run. */
static void test_migrate_from_1(void **state)
{
    tmp_state t;
    store *s = NULL;
    char err[512] = "";
    (void)state;
    make_state(&t, "fixtures/state/state-52c2c8f.db");
    set_version(t.db, 1);
    assert_int_equal(store_open(t.dir, &s, err, sizeof(err)), 0);
    assert_int_equal(store_migrated_from(s), 1);
    store_close(s);
    assert_int_equal(scalar(t.db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(t.db, "SELECT count(*) FROM pragma_table_info('instances') WHERE name='trusted_by'"), 1);
    drop_state(&t);
}

static void test_newer_refused(void **state)
{
    tmp_state t;
    store *s = NULL;
    char err[512] = "", want[64];
    (void)state;
    make_state(&t, NULL);
    assert_int_equal(store_open(t.dir, &s, err, sizeof(err)), 0);
    store_close(s);
    s = NULL;
    set_version(t.db, STORE_SCHEMA_VERSION + 7);
    assert_int_equal(store_open(t.dir, &s, err, sizeof(err)), -EPROTO);
    assert_null(s);
    assert_non_null(strstr(err, t.db));
    snprintf(want, sizeof(want), "schema version %d", STORE_SCHEMA_VERSION + 7);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof(want), "the %d this myorch knows", STORE_SCHEMA_VERSION);
    assert_non_null(strstr(err, want));
    /* Untouched. */
    assert_int_equal(scalar(t.db, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 7);
    drop_state(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh),           cmocka_unit_test(test_migrate_52c2c8f),
        cmocka_unit_test(test_migrate_first),   cmocka_unit_test(test_migrate_from_1),
        cmocka_unit_test(test_newer_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
