/* orchestrator/store.c — SQLite state database and the state_dir lock. */
#include "orchestrator/store.h"

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
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen, "state_dir '%s' is writable by other users (mode %04o): run chmod 700 %s",
                 state_dir, (unsigned)(st.st_mode & 07777), state_dir);
        return -EPERM;
    }
    snprintf(path, sizeof(path), "%s/myorch.pid", state_dir);
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
    snprintf(path, sizeof(path), "%s/myorch.pid", state_dir);
    unlink(path);
    close(lock_fd);
}

const char *store_errmsg(store *s) { return s && s->db ? sqlite3_errmsg(s->db) : "no database"; }

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
    snprintf(path, sizeof(path), "%s/state.db", state_dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open state database %s: %s", path, store_errmsg(s));
        rc = -EIO;
        goto out;
    }
    sqlite3_busy_timeout(s->db, 2000);
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &emsg) !=
            SQLITE_OK ||
        sqlite3_exec(s->db, STATE_SCHEMA_SQL, NULL, NULL, &emsg) != SQLITE_OK) {
        snprintf(err, errlen, "state database %s: cannot apply the schema: %s", path, emsg ? emsg : "?");
        sqlite3_free(emsg);
        rc = -EIO;
        goto out;
    }
    chmod(path, 0600);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO instances (cluster, host, port, seed, server_id, role, reachable, "
                           "first_seen, last_ok, down_since, last_error, snapshot, updated_at) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                           "ON CONFLICT (cluster, host, port) DO UPDATE SET seed=?4, server_id=?5, role=?6, "
                           "reachable=?7, last_ok=?9, down_since=?10, last_error=?11, "
                           "snapshot=COALESCE(?12, snapshot), updated_at=?13",
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

int store_begin(store *s) { return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO; }
int store_commit(store *s) { return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO; }

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
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
    if (in->last_ok_s)
        sqlite3_bind_int64(st, 9, in->last_ok_s);
    else
        sqlite3_bind_null(st, 9);
    if (in->down_since_s)
        sqlite3_bind_int64(st, 10, in->down_since_s);
    else
        sqlite3_bind_null(st, 10);
    bind_text_or_null(st, 11, in->reachable || !in->probed ? NULL : in->err);
    bind_text_or_null(st, 12, snap);
    sqlite3_bind_int64(st, 13, now_s);
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

    if (sqlite3_prepare_v2(s->db,
                           "SELECT host, port, seed, first_seen, last_ok, down_since, last_error, snapshot "
                           "FROM instances WHERE cluster=?1 ORDER BY first_seen, host, port",
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
        snprintf(a.host, sizeof(a.host), "%s", host ? host : "");
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
        in->down_since_s = sqlite3_column_int64(st, 5);
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
