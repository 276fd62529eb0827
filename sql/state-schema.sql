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
    fenced      INTEGER NOT NULL DEFAULT 0, -- a demoted old primary: kept read-only, never primary again
    fence_gtid  TEXT,                      -- the new primary's position when it was demoted
    trusted_by  TEXT,                      -- why it may receive credentials: seed|source|allowed|confirmed
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

-- The recovery audit: one row per failover or switchover, automatic or manual.
CREATE TABLE IF NOT EXISTS recoveries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster           TEXT    NOT NULL,
    kind              TEXT    NOT NULL,    -- failover | switchover
    trigger           TEXT    NOT NULL,    -- auto | manual
    analysis          TEXT,                -- e.g. dead-primary
    evidence          TEXT,
    old_primary       TEXT,
    new_primary       TEXT,
    state             TEXT    NOT NULL,    -- running | done | failed | interrupted
    primary_lost_ms   INTEGER,             -- unix ms: the controller lost the primary
    detected_ms       INTEGER,             -- unix ms: failure confirmed
    started_ms        INTEGER NOT NULL,    -- unix ms
    promoted_ms       INTEGER,             -- unix ms: the new primary became writable
    ended_ms          INTEGER,
    plan              TEXT,                -- JSON
    old_primary_gtid  TEXT,                -- last position seen on the old primary
    new_primary_gtid  TEXT,                -- the new primary's position when it became writable
    lost_gtids        TEXT,                -- old_primary_gtid minus new_primary_gtid ('' = nothing lost)
    error             TEXT,
    acked             INTEGER NOT NULL DEFAULT 0
);
-- At most one running recovery per cluster, enforced by the database (survives restarts).
CREATE UNIQUE INDEX IF NOT EXISTS recoveries_one_running ON recoveries (cluster) WHERE state = 'running';

CREATE TABLE IF NOT EXISTS recovery_steps (
    recovery_id  INTEGER NOT NULL REFERENCES recoveries (id),
    idx          INTEGER NOT NULL,         -- 1-based position in the plan; 0 = rollback actions
    kind         TEXT    NOT NULL,
    target       TEXT,
    description  TEXT,
    started_ms   INTEGER,
    ended_ms     INTEGER,
    result       TEXT,                     -- ok | failed | skipped
    message      TEXT
);
CREATE INDEX IF NOT EXISTS recovery_steps_by_recovery ON recovery_steps (recovery_id, idx);

-- Maintenance windows: automatic recovery is suppressed for the cluster (instance = '')
-- or the instance is never promoted while one is open.
CREATE TABLE IF NOT EXISTS maintenance (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster     TEXT    NOT NULL,
    instance    TEXT    NOT NULL DEFAULT '',
    reason      TEXT,
    started_ms  INTEGER NOT NULL,
    until_ms    INTEGER,                  -- NULL: until ended
    ended_ms    INTEGER
);

-- Write availability as the controller saw it: one row per change of state.
-- state: up (a reachable writable primary), down (none), unmonitored (controller stopped).
CREATE TABLE IF NOT EXISTS availability (
    cluster  TEXT    NOT NULL,
    ts_ms    INTEGER NOT NULL,
    state    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS availability_by_cluster ON availability (cluster, ts_ms);

-- Switchover drills (myorch drill, issue 16): a switchover there and back, with the write
-- block each direction measured (demote start -> new primary writable).
CREATE TABLE IF NOT EXISTS drills (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster              TEXT    NOT NULL,
    started_ms           INTEGER NOT NULL,  -- unix ms
    ended_ms             INTEGER NOT NULL,
    ok                   INTEGER NOT NULL,  -- 1: there and back, the original primary is the primary again
    from_primary         TEXT,
    via                  TEXT,              -- the replica promoted for the drill
    there_recovery_id    INTEGER,
    back_recovery_id     INTEGER,
    there_write_block_ms INTEGER,
    back_write_block_ms  INTEGER,
    error                TEXT
);
CREATE INDEX IF NOT EXISTS drills_by_cluster ON drills (cluster, ended_ms);
