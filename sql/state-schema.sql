-- myorch state database (SQLite), in <state_dir>/state.db.
-- Applied by the daemon at every start: every statement is idempotent.
-- Compiled into the binary (CMake turns this file into a C string).

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every server the controller knows, with the last thing it told us.
-- A restart reloads these rows, so the topology is known before the first probe.
CREATE TABLE IF NOT EXISTS instances (
    cluster     TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    port        INTEGER NOT NULL,
    seed        INTEGER NOT NULL DEFAULT 0,
    server_id   INTEGER,
    role        TEXT,
    reachable   INTEGER NOT NULL DEFAULT 0,
    first_seen  INTEGER NOT NULL,          -- unix seconds
    last_ok     INTEGER,                   -- unix seconds of the last successful probe
    down_since  INTEGER,                   -- unix seconds, NULL while reachable
    last_error  TEXT,
    snapshot    TEXT,                      -- JSON of the last successful probe
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (cluster, host, port)
);

-- The event stream, as published on the event socket.
CREATE TABLE IF NOT EXISTS events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ms     INTEGER NOT NULL,            -- unix milliseconds
    name      TEXT    NOT NULL,            -- e.g. instance-down, replica-promoted
    level     TEXT    NOT NULL,
    cluster   TEXT,
    instance  TEXT,
    message   TEXT    NOT NULL,
    detail    TEXT                         -- JSON
);
CREATE INDEX IF NOT EXISTS events_cluster_ts ON events (cluster, ts_ms);
