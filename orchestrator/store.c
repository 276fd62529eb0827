/* orchestrator/store.c — SQLite state database and the state_dir lock. */
#include "orchestrator/store.h"
#include "topology/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_schema.h"

struct store {
    sqlite3 *db;
    sqlite3_stmt *save;
    sqlite3_stmt *del;
    sqlite3_stmt *event;
    int migrated_from;       /* schema version found at open when it was migrated, -1 not migrated */
    uint64_t recoveries_version; /* bumped by every write to the recoveries table */
};

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int store_lock(const char *state_dir, int *lock_fd, char *err, size_t errlen)
{
    char path[4200], buf[32];
    struct stat st;
    int fd = -1, rc;

    *lock_fd = -1;
    rc = mkdir_p(state_dir, 0700);
    if (rc < 0) {
        snprintf(err, errlen, "state_dir '%s': cannot create: %s", state_dir, strerror(-rc));
        return rc;
    }
    if (stat(state_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "state_dir '%s' is not a directory", state_dir);
        return -ENOTDIR;
    }
    /* It holds the topology, the audit and the control socket: the controller's alone. */
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "state_dir '%s' is accessible by other users (mode %04o, must be 0700): "
                 "run chmod 700 %s", state_dir, (unsigned)(st.st_mode & 07777), state_dir);
        return -EPERM;
    }
    if ((rc = fmt_checked(path, sizeof(path), err, errlen, "lock file path", "%s/myorch.pid", state_dir)) < 0)
        return rc;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open lock file %s: %s", path, strerror(errno));
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(err, errlen, "another myorch (pid %s) is already running with state_dir %s; stop it first "
                 "or give this one another state_dir", buf[0] ? buf : "?", state_dir);
        close(fd);
        return -EBUSY;
    }
    if (ftruncate(fd, 0) == 0) {
        int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
        if (pwrite(fd, buf, (size_t)n, 0) != n) {
            /* The lock is what matters; the pid is informative. */
        }
    }
    *lock_fd = fd;
    return 0;
}

void store_unlock(int lock_fd, const char *state_dir)
{
    char path[4200];
    if (lock_fd < 0)
        return;
    if (fmt_checked(path, sizeof(path), NULL, 0, "lock file path", "%s/myorch.pid", state_dir) == 0)
        unlink(path); /* it was created under this very name (store_lock checked it fits) */
    close(lock_fd);
}

int store_migrated_from(const store *s) { return s ? s->migrated_from : -1; }

const char *store_errmsg(store *s) { return s && s->db ? sqlite3_errmsg(s->db) : "no database"; }

/* ---- schema versions ----------------------------------------------------------
 * PRAGMA user_version holds the schema version. Each migration brings version
 * i-1 to i; a database without a version (0) was written before versioning and
 * may stand at any earlier schema, so every migration checks what is there
 * instead of assuming. A database from a newer myorch is refused, untouched. */

static int column_exists(sqlite3 *db, const char *table, const char *column, bool *yes)
{
    char sql[128];
    sqlite3_stmt *st = NULL;
    int rc = 0, step;
    *yes = false;
    snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table); /* fixed names only */
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        if (name && strcmp((const char *)name, column) == 0)
            *yes = true;
    }
    if (step != SQLITE_DONE)
        rc = -EIO;
    sqlite3_finalize(st);
    return rc;
}

/* ALTER TABLE table ADD COLUMN column decl, unless the table is absent (the schema
 * then creates it whole) or already has the column. */
static int add_column(sqlite3 *db, const char *table, const char *column, const char *decl)
{
    char sql[256];
    bool have = false;
    sqlite3_stmt *st = NULL;
    int found;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1, &st, NULL) !=
        SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!found)
        return 0;
    if (column_exists(db, table, column, &have) < 0)
        return -EIO;
    if (have)
        return 0;
    snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", table, column, decl);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* Version 1: the fence marks of demoted primaries (release of 52c2c8f and before). */
static int migrate_1(sqlite3 *db)
{
    if (add_column(db, "instances", "fenced", "INTEGER NOT NULL DEFAULT 0") < 0)
        return -EIO;
    return add_column(db, "instances", "fence_gtid", "TEXT");
}

/* Version 2: discovery trust (why a server may receive the credentials). */
static int migrate_2(sqlite3 *db) { return add_column(db, "instances", "trusted_by", "TEXT"); }

static int (*const migrations[STORE_SCHEMA_VERSION])(sqlite3 *db) = {migrate_1, migrate_2};

static int user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

int store_schema_version(const char *db_path, int *out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = 0;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK || user_version(db, out) < 0) {
        snprintf(err, errlen, "cannot read the schema version of state database %s: %s", db_path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        rc = -EIO;
    }
    sqlite3_close(db);
    return rc;
}

/* Bring the database to STORE_SCHEMA_VERSION in one transaction: migrations, then the
 * (idempotent) schema for new tables and indexes, then the version. */
static int migrate(sqlite3 *db, const char *path, int *from, char *err, size_t errlen)
{
    int v = 0;
    char *emsg = NULL;
    if (user_version(db, &v) < 0) {
        snprintf(err, errlen, "state database %s: cannot read its schema version: %s", path, sqlite3_errmsg(db));
        return -EIO;
    }
    if (v > STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "state database %s has schema version %d, newer than the %d this myorch knows: it was written by "
                 "a newer myorch; run that version again (downgrades are not supported), or move the file "
                 "away to start with an empty state",
                 path, v, STORE_SCHEMA_VERSION);
        return -EPROTO;
    }
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &emsg) != SQLITE_OK)
        goto fail;
    for (int i = v; i < STORE_SCHEMA_VERSION; i++) {
        if (migrations[i](db) < 0) {
            snprintf(err, errlen, "state database %s: migration from schema version %d to %d failed: %s", path, i,
                     i + 1, sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -EIO;
        }
    }
    {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        if (sqlite3_exec(db, STATE_SCHEMA_SQL, NULL, NULL, &emsg) != SQLITE_OK ||
            sqlite3_exec(db, sql, NULL, NULL, &emsg) != SQLITE_OK || sqlite3_exec(db, "COMMIT", NULL, NULL, &emsg) != SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
    }
    *from = v;
    return 0;
fail:
    snprintf(err, errlen, "state database %s: cannot apply the schema: %s", path, emsg ? emsg : sqlite3_errmsg(db));
    sqlite3_free(emsg);
    return -EIO;
}

int store_open(const char *state_dir, store **out, char *err, size_t errlen)
{
    char path[4200];
    char *emsg = NULL;
    store *s = calloc(1, sizeof(*s));
    int rc = 0;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if ((rc = fmt_checked(path, sizeof(path), err, errlen, "state database path", "%s/state.db", state_dir)) < 0)
        goto out;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open state database %s: %s", path, store_errmsg(s));
        rc = -EIO;
        goto out;
    }
    sqlite3_busy_timeout(s->db, 2000);
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &emsg) != SQLITE_OK) {
        snprintf(err, errlen, "state database %s: %s", path, emsg ? emsg : "?");
        sqlite3_free(emsg);
        rc = -EIO;
        goto out;
    }
    {
        bool fresh = false;
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            fresh = sqlite3_column_int(st, 0) == 0;
        sqlite3_finalize(st);
        if ((rc = migrate(s->db, path, &s->migrated_from, err, errlen)) < 0)
            goto out;
        if (fresh || s->migrated_from == STORE_SCHEMA_VERSION)
            s->migrated_from = -1;
    }
    chmod(path, 0600);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO instances (cluster, host, port, seed, server_id, role, reachable, "
                           "first_seen, last_ok, down_since, last_error, snapshot, updated_at, fenced, fence_gtid, "
                           "trusted_by) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
                           "ON CONFLICT (cluster, host, port) DO UPDATE SET seed=?4, server_id=?5, role=?6, "
                           "reachable=?7, last_ok=?9, down_since=?10, last_error=?11, "
                           "snapshot=COALESCE(?12, snapshot), updated_at=?13, fenced=?14, fence_gtid=?15, "
                           "trusted_by=COALESCE(?16, trusted_by)",
                           -1, &s->save, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM instances WHERE cluster=?1 AND host=?2 AND port=?3", -1,
                           &s->del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT INTO events (ts_ms, name, level, cluster, instance, message, detail) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &s->event, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "state database %s: %s", path, store_errmsg(s));
        rc = -EIO;
        goto out;
    }
out:
    if (rc < 0) {
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->save);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->event);
    sqlite3_close(s->db);
    free(s);
}

/*
 * The daemon batches instance rows in a transaction it commits every second; the
 * recovery audit, the fence marks and maintenance windows must not wait for that: a
 * controller killed right after a failover would forget it (and its anti-flap block).
 * Commit what is pending now and reopen the batch if there was one.
 */
int store_sync(store *s)
{
    if (sqlite3_get_autocommit(s->db))
        return 0;
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int durable(store *s, int rc)
{
    int r2;
    if (rc < 0)
        return rc;
    r2 = store_sync(s);
    return r2 < 0 ? r2 : rc;
}

int store_begin(store *s) { return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO; }
int store_commit(store *s) { return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO; }

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* 0 stands for "not known": it is stored as NULL. */
static void bind_int64_or_null(sqlite3_stmt *st, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

int store_save_instance(store *s, const char *cluster, const topo_instance *in, int64_t now_s)
{
    sqlite3_stmt *st = s->save;
    char *snap = NULL;
    int rc;

    if (in->have_snap && !in->stale) {
        json_t *j = topo_snapshot_to_json(&in->snap);
        snap = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    }
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->addr.host, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, in->addr.port);
    sqlite3_bind_int(st, 4, in->seed);
    if (in->have_snap)
        sqlite3_bind_int64(st, 5, (sqlite3_int64)in->snap.server_id);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_text(st, 6, topo_role_name(in->role), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, in->reachable);
    sqlite3_bind_int64(st, 8, in->first_seen_s);
    bind_int64_or_null(st, 9, in->last_ok_s);
    bind_int64_or_null(st, 10, in->down_since_s);
    bind_text_or_null(st, 11, in->reachable || !in->probed ? NULL : in->err);
    bind_text_or_null(st, 12, snap);
    sqlite3_bind_int64(st, 13, now_s);
    sqlite3_bind_int(st, 14, in->fenced);
    bind_text_or_null(st, 15, in->fenced ? in->fence_gtid : NULL);
    bind_text_or_null(st, 16, in->trusted_by[0] ? in->trusted_by : NULL);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_reset(st);
    free(snap);
    return rc;
}

int store_delete_instance(store *s, const char *cluster, const topo_addr *addr)
{
    sqlite3_stmt *st = s->del;
    int rc;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, addr->host, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, addr->port);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_reset(st);
    return rc;
}

int store_load_instances(store *s, const char *cluster, topo_cluster *c,
                         void (*added)(void *user, topo_instance *in), void *user,
                         char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int n = 0, rc;

    /* Rows an older version wrote without a reason to trust them (it trusted any replica-list
     * entry) are dropped: discovery finds the real servers again. Fenced rows stay: they hold a
     * demoted primary's mark. */
    if (sqlite3_prepare_v2(s->db, "DELETE FROM instances WHERE cluster=?1 AND trusted_by IS NULL AND fenced=0",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "state database: %s", store_errmsg(s));
        return -EIO;
    }
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "state database: %s", store_errmsg(s));
        return -EIO;
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT host, port, seed, first_seen, last_ok, down_since, last_error, snapshot, fenced, fence_gtid, "
                           "trusted_by FROM instances WHERE cluster=?1 ORDER BY first_seen, host, port",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "state database: %s", store_errmsg(s));
        return -EIO;
    }
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        topo_addr a = {{0}, 0};
        topo_instance *in;
        const char *host = (const char *)sqlite3_column_text(st, 0);
        const char *snap = (const char *)sqlite3_column_text(st, 7);
        if (fmt_checked(a.host, sizeof(a.host), NULL, 0, "host", "%s", host ? host : "") < 0)
            continue; /* not a host this program could have stored: never a shorter one */
        a.port = sqlite3_column_int(st, 1);
        if (!a.host[0] || a.port <= 0 || topo_cluster_find(c, &a) >= 0)
            continue;
        in = topo_cluster_add(c, &a, false, sqlite3_column_int64(st, 3));
        if (!in) {
            snprintf(err, errlen, "out of memory");
            sqlite3_finalize(st);
            return -ENOMEM;
        }
        in->last_ok_s = sqlite3_column_int64(st, 4);
        in->fenced = sqlite3_column_int(st, 8) != 0;
        if (in->fenced && sqlite3_column_text(st, 9))
            topo_strset(&in->fence_gtid, (const char *)sqlite3_column_text(st, 9));
        in->down_since_s = sqlite3_column_int64(st, 5);
        snprintf(in->trusted_by, sizeof(in->trusted_by), "%s",
                 sqlite3_column_text(st, 10) ? (const char *)sqlite3_column_text(st, 10) : "restored");
        if (snap) {
            json_t *j = json_loads(snap, 0, NULL);
            if (j && topo_snapshot_from_json(j, &in->snap) == 0) {
                in->have_snap = true;
                in->stale = true;
            }
            json_decref(j);
        }
        if (added)
            added(user, in);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "state database: %s", store_errmsg(s));
        return -EIO;
    }
    topo_cluster_derive(c);
    return n;
}

int store_add_event(store *s, int64_t ts_ms, const char *name, const char *level,
                    const char *cluster, const char *instance, const char *message,
                    const char *detail_json)
{
    sqlite3_stmt *st = s->event;
    int rc;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, ts_ms);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, level, -1, SQLITE_STATIC);
    bind_text_or_null(st, 4, cluster);
    bind_text_or_null(st, 5, instance);
    sqlite3_bind_text(st, 6, message ? message : "", -1, SQLITE_STATIC);
    bind_text_or_null(st, 7, detail_json);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_reset(st);
    return rc;
}

int store_prune_events(store *s, int64_t older_than_ms, int keep_max)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM events WHERE ts_ms < ?1", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(st, 1, older_than_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = -EIO;
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    if (sqlite3_prepare_v2(s->db,
                           "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int(st, 1, keep_max);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = -EIO;
    sqlite3_finalize(st);
    return rc;
}

/* ---- recovery audit ----------------------------------------------------------- */

static int exec_stmt(store *s, const char *sql, sqlite3_stmt **out)
{
    return sqlite3_prepare_v2(s->db, sql, -1, out, NULL) == SQLITE_OK ? 0 : -EIO;
}

int store_recovery_begin(store *s, const store_recovery *r, int64_t *id, char *err, size_t errlen)
{
    s->recoveries_version++;
    sqlite3_stmt *st = NULL;
    int rc;
    if (exec_stmt(s, "INSERT INTO recoveries (cluster, kind, trigger, analysis, evidence, old_primary, new_primary, "
                     "state, primary_lost_ms, detected_ms, started_ms, plan, old_primary_gtid) VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', ?8, ?9, ?10, ?11, ?12)", &st) < 0) {
        snprintf(err, errlen, "state database: %s", store_errmsg(s));
        return -EIO;
    }
    sqlite3_bind_text(st, 1, r->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->trigger, -1, SQLITE_STATIC);
    bind_text_or_null(st, 4, r->analysis);
    bind_text_or_null(st, 5, r->evidence);
    bind_text_or_null(st, 6, r->old_primary);
    bind_text_or_null(st, 7, r->new_primary);
    bind_int64_or_null(st, 8, r->primary_lost_ms);
    bind_int64_or_null(st, 9, r->detected_ms);
    sqlite3_bind_int64(st, 10, r->started_ms);
    bind_text_or_null(st, 11, r->plan_json);
    bind_text_or_null(st, 12, r->old_primary_gtid);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(err, errlen, "cluster %s already has a recovery running (see 'myorch recoveries')", r->cluster);
        sqlite3_finalize(st);
        return -EBUSY;
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "state database: %s", store_errmsg(s));
        sqlite3_finalize(st);
        return -EIO;
    }
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(s->db);
    if (store_sync(s) < 0) {
        snprintf(err, errlen, "state database: cannot commit the recovery audit: %s", store_errmsg(s));
        return -EIO;
    }
    return 0;
}

int store_recovery_step(store *s, int64_t id, int idx, const char *kind, const char *target,
                        const char *description, int64_t started_ms, int64_t ended_ms,
                        const char *result, const char *message)
{
    sqlite3_stmt *st = NULL;
    int rc;
    /* A step is written at its start and completed at its end. */
    if (ended_ms == 0 || idx == 0) {
        if (exec_stmt(s, "INSERT INTO recovery_steps (recovery_id, idx, kind, target, description, started_ms, "
                         "ended_ms, result, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &st) < 0)
            return -EIO;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, idx);
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
        bind_text_or_null(st, 4, target);
        bind_text_or_null(st, 5, description);
        sqlite3_bind_int64(st, 6, started_ms);
        bind_int64_or_null(st, 7, ended_ms);
        bind_text_or_null(st, 8, result);
        bind_text_or_null(st, 9, message);
    } else {
        if (exec_stmt(s, "UPDATE recovery_steps SET ended_ms=?3, result=?4, message=?5 "
                         "WHERE recovery_id=?1 AND idx=?2", &st) < 0)
            return -EIO;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, idx);
        sqlite3_bind_int64(st, 3, ended_ms);
        bind_text_or_null(st, 4, result);
        bind_text_or_null(st, 5, message);
    }
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return durable(s, rc);
}

int store_recovery_promoted(store *s, int64_t id, int64_t promoted_ms, const char *new_primary_gtid)
{
    s->recoveries_version++;
    sqlite3_stmt *st = NULL;
    int rc;
    if (exec_stmt(s, "UPDATE recoveries SET promoted_ms=?2, new_primary_gtid=?3 WHERE id=?1", &st) < 0)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, promoted_ms);
    bind_text_or_null(st, 3, new_primary_gtid);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return durable(s, rc);
}

int store_recovery_end(store *s, int64_t id, const char *state, int64_t ended_ms, const char *lost_gtids,
                       const char *error)
{
    s->recoveries_version++;
    sqlite3_stmt *st = NULL;
    int rc;
    if (exec_stmt(s, "UPDATE recoveries SET state=?2, ended_ms=?3, lost_gtids=?4, error=?5 WHERE id=?1", &st) < 0)
        return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ended_ms);
    bind_text_or_null(st, 4, lost_gtids);
    bind_text_or_null(st, 5, error);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return durable(s, rc);
}

static int copy_col(char *dst, size_t cap, const unsigned char *v)
{
    size_t n = v ? strlen((const char *)v) : 0;
    if (n >= cap)
        return -ENAMETOOLONG;
    memcpy(dst, v ? (const char *)v : "", n + 1);
    return 0;
}

int store_recovery_running(store *s, const char *cluster, store_running *out)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (exec_stmt(s, "SELECT id, kind, old_primary, new_primary, promoted_ms IS NOT NULL, new_primary_gtid "
                     "FROM recoveries WHERE cluster=?1 AND state='running'", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        out->promoted = sqlite3_column_int(st, 4) != 0;
        if (copy_col(out->kind, sizeof(out->kind), sqlite3_column_text(st, 1)) < 0 ||
            copy_col(out->old_primary, sizeof(out->old_primary), sqlite3_column_text(st, 2)) < 0 ||
            copy_col(out->new_primary, sizeof(out->new_primary), sqlite3_column_text(st, 3)) < 0)
            rc = -ENAMETOOLONG;
        else
            rc = 1;
        if (rc == 1 && sqlite3_column_text(st, 5) &&
            !(out->new_primary_gtid = strdup((const char *)sqlite3_column_text(st, 5))))
            rc = -ENOMEM;
    }
    sqlite3_finalize(st);
    return rc;
}

void store_running_free(store_running *r)
{
    free(r->new_primary_gtid);
    r->new_primary_gtid = NULL;
}

int store_recovery_interrupt(store *s, const char *cluster, int64_t now_ms)
{
    s->recoveries_version++;
    sqlite3_stmt *st = NULL;
    int n;
    if (exec_stmt(s, "UPDATE recoveries SET state='interrupted', ended_ms=?2, "
                     "error='the controller stopped while this recovery was running' "
                     "WHERE cluster=?1 AND state='running'", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(s->db) : -EIO;
    sqlite3_finalize(st);
    return durable(s, n);
}

int64_t store_recovery_last_end_ms(store *s, const char *cluster)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (exec_stmt(s, "SELECT MAX(ended_ms) FROM recoveries WHERE cluster=?1 AND acked=0 AND trigger='auto' "
                     "AND state NOT IN ('running', 'rolled-back')", &st) < 0)
        return 0;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int store_recovery_ack(store *s, const char *cluster)
{
    sqlite3_stmt *st = NULL;
    int n;
    if (exec_stmt(s, "UPDATE recoveries SET acked=1 WHERE cluster=?1 AND acked=0 AND state <> 'running'", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(s->db) : -EIO;
    sqlite3_finalize(st);
    return durable(s, n);
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_NULL: return json_null();
    default: return json_string((const char *)sqlite3_column_text(st, i));
    }
}

json_t *store_recoveries_json(store *s, const char *cluster, int64_t id, int limit)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    if (exec_stmt(s, "SELECT id, cluster, kind, trigger, analysis, evidence, old_primary, new_primary, state, "
                     "primary_lost_ms, detected_ms, started_ms, promoted_ms, ended_ms, plan, old_primary_gtid, "
                     "new_primary_gtid, lost_gtids, error, acked FROM recoveries "
                     "WHERE (?1 IS NULL OR cluster=?1) AND (?2 = 0 OR id=?2) ORDER BY id DESC LIMIT ?3", &st) < 0)
        return arr;
    bind_text_or_null(st, 1, cluster);
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int(st, 3, limit);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *r = json_object();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            if (!strcmp(name, "plan") && sqlite3_column_type(st, i) == SQLITE_TEXT) {
                json_t *p = json_loads((const char *)sqlite3_column_text(st, i), 0, NULL);
                json_object_set_new(r, name, p ? p : json_null());
            } else {
                json_object_set_new(r, name, col_json(st, i));
            }
        }
        json_array_append_new(arr, r);
    }
    sqlite3_finalize(st);
    if (id > 0 && json_array_size(arr) == 1) {
        json_t *steps = json_array();
        if (exec_stmt(s, "SELECT idx, kind, target, description, started_ms, ended_ms, result, message "
                         "FROM recovery_steps WHERE recovery_id=?1 ORDER BY idx, started_ms", &st) == 0) {
            sqlite3_bind_int64(st, 1, id);
            while (sqlite3_step(st) == SQLITE_ROW) {
                json_t *r = json_object();
                for (int i = 0; i < sqlite3_column_count(st); i++)
                    json_object_set_new(r, sqlite3_column_name(st, i), col_json(st, i));
                json_array_append_new(steps, r);
            }
            sqlite3_finalize(st);
        }
        json_object_set_new(json_array_get(arr, 0), "steps", steps);
    }
    return arr;
}

/* ---- maintenance ------------------------------------------------------------------ */

int store_maintenance_begin(store *s, const char *cluster, const char *instance, const char *reason,
                            int64_t started_ms, int64_t until_ms)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (exec_stmt(s, "INSERT INTO maintenance (cluster, instance, reason, started_ms, until_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, instance ? instance : "", -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, reason);
    sqlite3_bind_int64(st, 4, started_ms);
    bind_int64_or_null(st, 5, until_ms);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return durable(s, rc);
}

int store_maintenance_end(store *s, const char *cluster, const char *instance, int64_t ended_ms)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (exec_stmt(s, "UPDATE maintenance SET ended_ms=?3 WHERE cluster=?1 AND instance=?2 AND ended_ms IS NULL",
                  &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, instance ? instance : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, ended_ms);
    rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(s->db) : -EIO;
    sqlite3_finalize(st);
    return durable(s, rc);
}

int store_maintenance_load(store *s, const char *cluster, int64_t now_ms,
                           void (*fn)(void *user, const char *instance, const char *reason, int64_t started_ms,
                                      int64_t until_ms),
                           void *user)
{
    sqlite3_stmt *st = NULL;
    int n = 0;
    if (exec_stmt(s, "SELECT instance, reason, started_ms, until_ms FROM maintenance WHERE cluster=?1 "
                     "AND ended_ms IS NULL AND (until_ms IS NULL OR until_ms > ?2) ORDER BY id", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        fn(user, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
        n++;
    }
    sqlite3_finalize(st);
    return n;
}

/* ---- availability ------------------------------------------------------------------ */

int store_availability_add(store *s, const char *cluster, int64_t ts_ms, const char *state)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (exec_stmt(s, "INSERT INTO availability (cluster, ts_ms, state) VALUES (?1, ?2, ?3)", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ts_ms);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return rc;
}

json_t *store_availability_json(store *s, const char *cluster, int64_t since_ms)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    if (exec_stmt(s, "SELECT ts_ms, state FROM availability WHERE cluster=?1 AND ts_ms >= "
                     "COALESCE((SELECT MAX(ts_ms) FROM availability WHERE cluster=?1 AND ts_ms <= ?2), ?2) "
                     "ORDER BY ts_ms, rowid", &st) < 0)
        return arr;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_ms);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("[I, s]", (json_int_t)sqlite3_column_int64(st, 0),
                                             (const char *)sqlite3_column_text(st, 1)));
    sqlite3_finalize(st);
    return arr;
}

/* ---- RTO timings and drills (issue 16) ---------------------------------------------- */

uint64_t store_recoveries_version(const store *s) { return s->recoveries_version; }

int store_recovery_timings(store *s, const char *cluster, store_timing *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    if (exec_stmt(s, "SELECT kind, COALESCE(primary_lost_ms, 0), COALESCE(detected_ms, 0), started_ms, promoted_ms "
                     "FROM recoveries WHERE cluster=?1 AND promoted_ms IS NOT NULL AND state <> 'running' "
                     "AND kind IN ('failover', 'switchover') ORDER BY started_ms DESC LIMIT ?2", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
    while (n < cap && sqlite3_step(st) == SQLITE_ROW) {
        store_timing *t = &out[n++];
        const unsigned char *k = sqlite3_column_text(st, 0);
        snprintf(t->kind, sizeof(t->kind), "%s", k ? (const char *)k : "");
        t->primary_lost_ms = sqlite3_column_int64(st, 1);
        t->detected_ms = sqlite3_column_int64(st, 2);
        t->started_ms = sqlite3_column_int64(st, 3);
        t->promoted_ms = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    return (int)n;
}

int store_drill_add(store *s, const store_drill *d)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (exec_stmt(s, "INSERT INTO drills (cluster, started_ms, ended_ms, ok, from_primary, via, there_recovery_id, "
                     "back_recovery_id, there_write_block_ms, back_write_block_ms, error) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, d->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, d->started_ms);
    sqlite3_bind_int64(st, 3, d->ended_ms);
    sqlite3_bind_int(st, 4, d->ok);
    bind_text_or_null(st, 5, d->from_primary);
    bind_text_or_null(st, 6, d->via);
    if (d->there_recovery_id > 0)
        sqlite3_bind_int64(st, 7, d->there_recovery_id);
    if (d->back_recovery_id > 0)
        sqlite3_bind_int64(st, 8, d->back_recovery_id);
    if (d->there_write_block_ms >= 0)
        sqlite3_bind_int64(st, 9, d->there_write_block_ms);
    if (d->back_write_block_ms >= 0)
        sqlite3_bind_int64(st, 10, d->back_write_block_ms);
    bind_text_or_null(st, 11, d->error);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    sqlite3_finalize(st);
    return durable(s, rc);
}

#define DRILL_COLS "id, started_ms, ended_ms, ok, from_primary, via, there_recovery_id, back_recovery_id, " \
                   "there_write_block_ms, back_write_block_ms, error"
static const char *const drill_cols[] = {"id", "started_ms", "ended_ms", "ok", "from_primary", "via",
                                         "there_recovery_id", "back_recovery_id", "there_write_block_ms",
                                         "back_write_block_ms", "error"};

/* The drill in the row's columns first..first+10 as an object. */
static json_t *drill_row_json(sqlite3_stmt *st, int first)
{
    json_t *o = json_object();
    for (int i = 0; o && i < (int)(sizeof(drill_cols) / sizeof(drill_cols[0])); i++)
        json_object_set_new(o, drill_cols[i],
                            i == 3 ? json_boolean(sqlite3_column_int(st, first + i)) : col_json(st, first + i));
    return o;
}

json_t *store_drill_last_all_json(store *s, bool ok_only)
{
    sqlite3_stmt *st = NULL;
    json_t *all;
    int rc;
    /* Newest first within each cluster: the first row of a cluster is its last drill. */
    if (exec_stmt(s, ok_only ? "SELECT cluster, " DRILL_COLS " FROM drills WHERE ok=1 "
                               "ORDER BY cluster, ended_ms DESC, id DESC"
                             : "SELECT cluster, " DRILL_COLS " FROM drills ORDER BY cluster, ended_ms DESC, id DESC",
                  &st) < 0)
        return NULL;
    all = json_object();
    while (all && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cluster = (const char *)sqlite3_column_text(st, 0);
        if (cluster && !json_object_get(all, cluster))
            json_object_set_new(all, cluster, drill_row_json(st, 1));
    }
    if (all && rc != SQLITE_DONE) {
        json_decref(all);
        all = NULL;
    }
    sqlite3_finalize(st);
    return all;
}

json_t *store_drill_last_json(store *s, const char *cluster, bool ok_only)
{
    sqlite3_stmt *st = NULL;
    json_t *o = NULL;
    if (exec_stmt(s, ok_only ? "SELECT " DRILL_COLS " FROM drills WHERE cluster=?1 AND ok=1 "
                               "ORDER BY ended_ms DESC, id DESC LIMIT 1"
                             : "SELECT " DRILL_COLS " FROM drills WHERE cluster=?1 ORDER BY ended_ms DESC, id DESC LIMIT 1",
                   &st) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, cluster, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        o = drill_row_json(st, 0);
    sqlite3_finalize(st);
    return o;
}
